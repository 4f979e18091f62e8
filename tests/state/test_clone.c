/*  =========================================================================
    test_clone - the clone service and zmx_clone, end to end: set, get,
    delete and notifications; late joiners staying exact under 100 k
    concurrent updates; TTL expiry; subtree filtering; a zmxd killed with
    SIGKILL mid-stream and restarted from its data; a raw CHP client made
    of plain sockets; limits; and gap, regression and stale-server
    handling against a scripted fake server.
    =========================================================================
*/
#include "testing.h"
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>

#define S_WAIT_FOR(condition, msec) \
    do { int64_t until_ = zclock_mono () + (msec); \
         while (!(condition) && zclock_mono () < until_) zclock_sleep (5); \
         ZMX_CHECK (condition); } while (0)

typedef struct {
    zmx_service_t *service;
    char *snapshot, *publisher, *collector;
} s_server_t;

static s_server_t
s_server_start (const char *extra)
{
    s_server_t server;
    char *text = zsys_sprintf ("clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    heartbeat-interval = 100\n%s", extra? extra: "");
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    server.service = zmx_service_new ("clone", zmx_clone_server_actor,
                                      zconfig_locate (root, "clone"), NULL);
    ZMX_CHECK (server.service);
    zlist_t *endpoints = zmx_service_endpoints (server.service);
    ZMX_CHECK (zlist_size (endpoints) == 3);
    server.snapshot = strdup ((char *) zlist_first (endpoints));
    server.publisher = strdup ((char *) zlist_next (endpoints));
    server.collector = strdup ((char *) zlist_next (endpoints));
    zlist_destroy (&endpoints);
    zconfig_destroy (&root);
    zstr_free (&text);
    return server;
}

static void
s_server_stop (s_server_t *server)
{
    zmx_service_destroy (&server->service);
    zstr_free (&server->snapshot);
    zstr_free (&server->publisher);
    zstr_free (&server->collector);
}

static zmx_clone_t *
s_client (s_server_t *server, const char *subtree)
{
    zmx_clone_t *clone = zmx_clone_new (subtree);
    ZMX_CHECK (clone);
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 2000, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_add_server_endpoints (clone, server->snapshot, server->publisher,
                                               server->collector) == ZMX_OK);
    return clone;
}

static uint64_t
s_sequence (zmx_clone_t *clone)
{
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    return stats.sequence;
}

static bool
s_value_is (zmx_clone_t *clone, const char *key, const char *expected)
{
    char *value = zmx_clone_get (clone, key, NULL, NULL);
    bool same = expected? value && streq (value, expected): value == NULL;
    free (value);
    return same;
}

//  True if the client's mirror is exactly `truth`.
static bool
s_mirror_equals (zmx_clone_t *clone, zhash_t *truth)
{
    zlist_t *keys = zmx_clone_keys (clone, NULL);
    bool same = zlist_size (keys) == zhash_size (truth);
    for (const char *key = (const char *) zlist_first (keys); same && key;
         key = (const char *) zlist_next (keys))
        same = s_value_is (clone, key, (const char *) zhash_lookup (truth, key));
    zlist_destroy (&keys);
    return same;
}

//  -------------------------------------------------------------------------

static void
s_basic (void)
{
    s_server_t server = s_server_start (NULL);
    zmx_clone_t *writer = s_client (&server, "");
    zmx_clone_t *reader = s_client (&server, "");
    ZMX_CHECK (zmx_clone_wait_synced (writer, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (reader, 10000) == ZMX_OK);
    zmx_clone_watch (reader, true);
    ZMX_CHECK (zmx_clone_set (writer, "/a", "one", 3, 0, 5000) == ZMX_OK);
    ZMX_CHECK (s_value_is (writer, "/a", "one"));   //  Seen published: in the mirror too
    S_WAIT_FOR (s_value_is (reader, "/a", "one"), 5000);
    size_t size;
    uint64_t sequence;
    char *value = zmx_clone_get (reader, "/a", &size, &sequence);
    ZMX_CHECK (value && size == 3 && sequence == 1);
    free (value);
    zmsg_t *note = zmx_test_recv (zmx_clone_socket (reader), 5000);
    ZMX_CHECK (zmx_test_msg_is (note, 0, "UPDATE", "/a", "one", "1", NULL));
    zmsg_destroy (&note);
    ZMX_CHECK (zmx_clone_set (writer, "/b", "two", 3, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_delete (writer, "/a", 5000) == ZMX_OK);
    S_WAIT_FOR (s_value_is (reader, "/a", NULL) && s_value_is (reader, "/b", "two"), 5000);
    zlist_t *keys = zmx_clone_keys (reader, "/");
    ZMX_CHECK (zlist_size (keys) == 1 && streq ((char *) zlist_first (keys), "/b"));
    zlist_destroy (&keys);
    ZMX_CHECK (s_sequence (reader) == 3);
    //  Arguments checked before anything is sent
    ZMX_CHECK (zmx_clone_send (writer, "HUGZ", "x", 1, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_clone_send (writer, "", "x", 1, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_clone_send (writer, "/k", "x", 1, -1) == ZMX_EINVAL);
    ZMX_CHECK (zmx_clone_new ("/bad") == NULL);
    ZMX_CHECK (zmx_clone_add_server (writer, "ipc://x") == ZMX_EINVAL);
    ZMX_CHECK (zmx_service_counter (server.service, "keys") == 1);
    zmx_clone_destroy (&reader);
    zmx_clone_destroy (&writer);
    s_server_stop (&server);
}

//  -------------------------------------------------------------------------
//  Late joiners under 100 k concurrent updates
//
//  The oracle is the writers' own record, not the server: each writer owns
//  its keys (/k/W/N), and one client's updates are applied in the order it
//  sent them, so once all are acknowledged a key holds its writer's last
//  write (or is gone if that was a delete). Join points and key choices
//  come from one seed, printed, and taken from $ZMX_TEST_SEED to replay.

#define S_WRITERS 4
#define S_UPDATES_EACH 25000
#define S_KEYSPACE 1250             //  Keys per writer

typedef struct {
    s_server_t *server;
    int id;
    unsigned seed;
    volatile int progress;      //  Updates sent so far
    size_t failed;
    int rc;
    zhash_t *record;            //  key -> last value written; "" = deleted
} s_writer_t;

static void *
s_writer_run (void *arg)
{
    s_writer_t *writer = (s_writer_t *) arg;
    zmx_clone_t *clone = s_client (writer->server, "");
    zmx_clone_set_timeouts (clone, 5000, 30000);
    if (zmx_clone_wait_synced (clone, 10000) != ZMX_OK) {
        writer->rc = -1;
        zmx_clone_destroy (&clone);
        return NULL;
    }
    for (int index = 0; index < S_UPDATES_EACH; index++) {
        char key [32], value [32];
        snprintf (key, sizeof key, "/k/%d/%d", writer->id,
                  (int) (rand_r (&writer->seed) % S_KEYSPACE));
        snprintf (value, sizeof value, "w%d-%d", writer->id, index);
        //  One update in 50 is a delete, so that deletions race too
        size_t size = index % 50 == 49? 0: strlen (value);
        zmx_clone_send (clone, key, value, size, 0);
        zhash_update (writer->record, key, size? value: "");
        writer->progress = index + 1;
    }
    writer->rc = zmx_clone_flush (clone, 60000, &writer->failed);
    zmx_clone_destroy (&clone);
    return NULL;
}

//  The seed from $ZMX_TEST_SEED, else from the clock; printed either way.
static unsigned
s_test_seed (void)
{
    const char *text = getenv ("ZMX_TEST_SEED");
    unsigned seed = text && *text? (unsigned) strtoul (text, NULL, 10)
                                 : (unsigned) (zclock_time () ^ getpid ());
    printf ("seed %u (replay with ZMX_TEST_SEED=%u)\n", seed, seed);
    return seed;
}

//  What the writers' records say the store holds: the keys whose last
//  write was not a delete.
static zhash_t *
s_writers_truth (s_writer_t *writers)
{
    zhash_t *truth = zhash_new ();
    zhash_autofree (truth);
    for (int index = 0; index < S_WRITERS; index++)
        for (const char *value = (const char *) zhash_first (writers [index].record); value;
             value = (const char *) zhash_next (writers [index].record))
            if (*value)
                zhash_insert (truth, zhash_cursor (writers [index].record), (void *) value);
    return truth;
}

static void
s_late_joiners (void)
{
    unsigned seed = s_test_seed ();
    s_server_t server = s_server_start ("    publish-hwm = 1000000\n");
    s_writer_t writers [S_WRITERS];
    pthread_t threads [S_WRITERS];
    int64_t started = zclock_mono ();
    for (int index = 0; index < S_WRITERS; index++) {
        writers [index] = (s_writer_t) { &server, index, seed * 7919u + (unsigned) index, 0, 0,
                                         0, zhash_new () };
        zhash_autofree (writers [index].record);
        ZMX_CHECK (pthread_create (&threads [index], NULL, s_writer_run, &writers [index]) == 0);
    }
    //  Three subscribers join at seeded moments of the stream
    zmx_clone_t *readers [3];
    for (int index = 0; index < 3; index++) {
        int threshold = (int) (rand_r (&seed) % (S_UPDATES_EACH * S_WRITERS * 9 / 10));
        int total = 0;
        while (total < threshold) {
            total = 0;
            for (int writer = 0; writer < S_WRITERS; writer++)
                total += writers [writer].progress;
            zclock_sleep (1);
        }
        readers [index] = s_client (&server, "");
        printf ("subscriber %d joins after %d updates sent (threshold %d)\n", index, total,
                threshold);
    }
    for (int index = 0; index < S_WRITERS; index++) {
        pthread_join (threads [index], NULL);
        ZMX_CHECK (writers [index].rc == ZMX_OK && writers [index].failed == 0);
    }
    zhash_t *truth = s_writers_truth (writers);
    uint64_t sequence = S_WRITERS * S_UPDATES_EACH;
    printf ("%d updates in %" PRId64 " ms; %zu keys\n", S_WRITERS * S_UPDATES_EACH,
            zclock_mono () - started, zhash_size (truth));
    for (int index = 0; index < 3; index++) {
        S_WAIT_FOR (s_sequence (readers [index]) == sequence, 30000);
        ZMX_CHECK (s_mirror_equals (readers [index], truth));
        zmx_clone_stats_t stats;
        zmx_clone_stats (readers [index], &stats);
        printf ("subscriber %d: %" PRIu64 " snapshots, %" PRIu64 " gaps, %" PRIu64
                " updates applied\n", index, stats.snapshots, stats.gaps, stats.updates_applied);
        zmx_clone_destroy (&readers [index]);
    }
    //  The server's own snapshot agrees with the writers too
    uint64_t at;
    zhash_t *stored = zmx_test_clone_snapshot (server.snapshot, "", &at, 10000);
    ZMX_CHECK (at == sequence && zhash_size (stored) == zhash_size (truth));
    for (const char *value = (const char *) zhash_first (truth); value;
         value = (const char *) zhash_next (truth)) {
        const char *found = (const char *) zhash_lookup (stored, zhash_cursor (truth));
        ZMX_CHECK (found && streq (found, value));
    }
    zhash_destroy (&stored);
    zhash_destroy (&truth);
    for (int index = 0; index < S_WRITERS; index++)
        zhash_destroy (&writers [index].record);
    s_server_stop (&server);
}

//  -------------------------------------------------------------------------

static void
s_ttl_expiry (void)
{
    s_server_t server = s_server_start (NULL);
    zmx_clone_t *clone = s_client (&server, "");
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    zmx_clone_watch (clone, true);
    int64_t set_at = zclock_mono ();
    ZMX_CHECK (zmx_clone_set (clone, "/session/1", "alive", 5, 1, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/config/x", "kept", 4, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_service_counter (server.service, "ephemeral_keys") == 1);
    //  Refreshing an ephemeral key without ttl makes it permanent
    ZMX_CHECK (zmx_clone_set (clone, "/session/2", "a", 1, 1, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/session/2", "b", 1, 0, 5000) == ZMX_OK);
    S_WAIT_FOR (s_value_is (clone, "/session/1", NULL), 5000);
    int64_t gone_after = zclock_mono () - set_at;
    printf ("ttl=1 key gone after %" PRId64 " ms\n", gone_after);
    ZMX_CHECK (gone_after >= 900);
    ZMX_CHECK (s_value_is (clone, "/config/x", "kept"));
    ZMX_CHECK (s_value_is (clone, "/session/2", "b"));
    ZMX_CHECK (zmx_service_counter (server.service, "expired") == 1);
    //  The deletion was published: notified with an empty value
    bool deleted = false;
    zmsg_t *note;
    while (!deleted && (note = zmx_test_recv (zmx_clone_socket (clone), 2000))) {
        deleted = zmx_test_msg_is (note, 0, "UPDATE", "/session/1", "", "5", NULL);
        zmsg_destroy (&note);
    }
    ZMX_CHECK (deleted);
    //  A late joiner's snapshot no longer has it either
    uint64_t sequence;
    zhash_t *truth = zmx_test_clone_snapshot (server.snapshot, "", &sequence, 10000);
    ZMX_CHECK (zhash_size (truth) == 2 && sequence == 5);
    zhash_destroy (&truth);
    zmx_clone_destroy (&clone);
    s_server_stop (&server);
}

static void
s_subtree (void)
{
    s_server_t server = s_server_start (NULL);
    zmx_clone_t *writer = s_client (&server, "");
    zmx_clone_t *config = s_client (&server, "/config/");
    ZMX_CHECK (zmx_clone_wait_synced (writer, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, "/config/a", "1", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, "/names/a", "2", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, "/configx", "3", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (config, 10000) == ZMX_OK);
    //  Later updates, inside and outside the subtree
    ZMX_CHECK (zmx_clone_set (writer, "/config/b/c", "4", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, "/names/b", "5", 1, 0, 5000) == ZMX_OK);
    S_WAIT_FOR (s_sequence (config) == 5, 5000);
    zlist_t *keys = zmx_clone_keys (config, NULL);
    ZMX_CHECK (zlist_size (keys) == 2);
    ZMX_CHECK_STR ((char *) zlist_first (keys), "/config/a");
    ZMX_CHECK_STR ((char *) zlist_next (keys), "/config/b/c");
    zlist_destroy (&keys);
    //  The snapshot itself is filtered by the server
    uint64_t sequence;
    zhash_t *truth = zmx_test_clone_snapshot (server.snapshot, "/names/", &sequence, 10000);
    ZMX_CHECK (zhash_size (truth) == 2 && zhash_lookup (truth, "/names/a")
               && zhash_lookup (truth, "/names/b") && sequence == 5);
    zhash_destroy (&truth);
    //  A client may write outside its subtree: accepted, not mirrored
    ZMX_CHECK (zmx_clone_set (config, "/names/c", "6", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (s_value_is (config, "/names/c", NULL));
    zmx_clone_destroy (&config);
    zmx_clone_destroy (&writer);
    s_server_stop (&server);
}

//  -------------------------------------------------------------------------
//  Restart with persistence: zmxd killed with SIGKILL mid-stream

static pid_t
s_zmxd_start (const char *config_path, int port)
{
    char *zmxd = zmx_test_bin ("zmxd");
    char *argv [] = { zmxd, "-c", (char *) config_path, "-q", NULL };
    //  A port may be briefly taken when a client that keeps reconnecting
    //  to it connects to itself: zmxd then exits at once; try again
    pid_t pid = -1;
    for (int attempt = 0; attempt < 20; attempt++) {
        pid = zmx_test_spawn (argv, NULL);
        if (zmx_test_wait (pid, 300) == -1)
            break;              //  Still running: it bound its ports
        zclock_sleep (100);
    }
    ZMX_CHECK (zmx_test_wait_port (port, 10000));
    zstr_free (&zmxd);
    return pid;
}

static void
s_restart_persistence (void)
{
    char *dir = zmx_test_tmpdir ();
    char *data = zsys_sprintf ("%s/data", dir);
    char *config_path = zsys_sprintf ("%s/zmxd.cfg", dir);
    int ports [3] = { zmx_test_free_port (), zmx_test_free_port (), zmx_test_free_port () };
    char *text = zsys_sprintf ("clone\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
                               "    publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
                               "    collector-endpoint = \"tcp://127.0.0.1:%d\"\n"
                               "    heartbeat-interval = 100\n    data-directory = \"%s\"\n"
                               "    fsync = \"always\"\n    compact-bytes = 200000\n",
                               ports [0], ports [1], ports [2], data);
    ZMX_CHECK (zmx_test_write_file (config_path, text) == 0);
    pid_t pid = s_zmxd_start (config_path, ports [2]);
    char *endpoints [3];
    for (int index = 0; index < 3; index++)
        endpoints [index] = zsys_sprintf ("tcp://127.0.0.1:%d", ports [index]);
    zmx_clone_t *clone = zmx_clone_new ("");
    zmx_clone_set_timeouts (clone, 1000, 3000);
    zmx_clone_add_server_endpoints (clone, endpoints [0], endpoints [1], endpoints [2]);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    //  Stream updates; SIGKILL the server while many are in flight
    int total = 20000;
    for (int index = 0; index < total; index++) {
        char key [32], value [32];
        snprintf (key, sizeof key, "/p/%06d", index);
        snprintf (value, sizeof value, "v%d", index);
        zmx_clone_send (clone, key, value, strlen (value), 0);
        zmx_clone_stats_t stats;
        if (index == total / 2) {
            S_WAIT_FOR ((zmx_clone_stats (clone, &stats), stats.acknowledged >= 1000), 20000);
            kill (pid, SIGKILL);
            ZMX_CHECK (waitpid (pid, NULL, 0) == pid);
        }
    }
    size_t failed = 0;
    zmx_clone_flush (clone, 30000, &failed);
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    uint64_t acknowledged = stats.acknowledged, last_sequence = stats.sequence;
    printf ("killed mid-stream: %" PRIu64 " acknowledged, %zu failed, sequence %" PRIu64 "\n",
            acknowledged, failed, last_sequence);
    ZMX_CHECK (acknowledged >= 1000 && acknowledged < (uint64_t) total);
    ZMX_CHECK (acknowledged + failed == (uint64_t) total);

    //  Restart from the data directory
    pid = s_zmxd_start (config_path, ports [2]);
    uint64_t sequence;
    zhash_t *truth = zmx_test_clone_snapshot (endpoints [0], "", &sequence, 10000);
    //  No refusals here, so the acknowledged updates are the first ones
    for (uint64_t index = 0; index < acknowledged; index++) {
        char key [32], value [32];
        snprintf (key, sizeof key, "/p/%06" PRIu64, index);
        snprintf (value, sizeof value, "v%" PRIu64, index);
        const char *stored = (const char *) zhash_lookup (truth, key);
        if (!stored || !streq (stored, value))
            printf ("acknowledged update %s lost\n", key);
        ZMX_CHECK (stored && streq (stored, value));
    }
    ZMX_CHECK (sequence >= last_sequence && sequence >= acknowledged);
    //  The old client resynchronises; the sequence continues
    S_WAIT_FOR (s_sequence (clone) == sequence, 15000);
    ZMX_CHECK (zmx_clone_set (clone, "/p/after", "x", 1, 0, 10000) == ZMX_OK);
    ZMX_CHECK (s_sequence (clone) == sequence + 1);
    zhash_destroy (&truth);
    zmx_clone_destroy (&clone);
    zmx_test_stop (pid, 5000);
    for (int index = 0; index < 3; index++)
        zstr_free (&endpoints [index]);
    zmx_test_rmdir (dir);
    zstr_free (&text);
    zstr_free (&config_path);
    zstr_free (&data);
    zstr_free (&dir);
}

//  Restart in-process: deletes, ephemeral keys and compaction survive.
static void
s_compaction (void)
{
    char *dir = zmx_test_tmpdir ();
    char *extra = zsys_sprintf ("    data-directory = \"%s\"\n    fsync = \"never\"\n"
                                "    compact-bytes = 4096\n", dir);
    s_server_t server = s_server_start (extra);
    zmx_clone_t *clone = s_client (&server, "");
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    for (int round = 0; round < 20; round++)
        for (int index = 0; index < 50; index++) {
            char key [32], value [32];
            snprintf (key, sizeof key, "/c/%d", index);
            snprintf (value, sizeof value, "r%d", round);
            zmx_clone_send (clone, key, value, strlen (value), 0);
        }
    ZMX_CHECK (zmx_clone_flush (clone, 20000, NULL) == ZMX_OK);
    ZMX_CHECK (zmx_clone_delete (clone, "/c/7", 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/c/eph", "x", 1, 3600, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_service_counter (server.service, "compactions") > 0);
    zmx_clone_destroy (&clone);
    s_server_stop (&server);

    server = s_server_start (extra);
    ZMX_CHECK (zmx_service_counter (server.service, "sequence") == 1002);
    ZMX_CHECK (zmx_service_counter (server.service, "keys") == 50);
    ZMX_CHECK (zmx_service_counter (server.service, "ephemeral_keys") == 1);
    uint64_t sequence;
    zhash_t *truth = zmx_test_clone_snapshot (server.snapshot, "", &sequence, 10000);
    ZMX_CHECK (sequence == 1002 && !zhash_lookup (truth, "/c/7"));
    ZMX_CHECK_STR ((char *) zhash_lookup (truth, "/c/3"), "r19");
    zhash_destroy (&truth);
    s_server_stop (&server);
    //  A torn tail (a crash in the middle of a write) is cut, not fatal
    char *log = zsys_sprintf ("%s/clone.log", dir);
    FILE *file = fopen (log, "ab");
    ZMX_CHECK (file);
    fwrite ("\0\0\0\x40garbage", 1, 11, file);
    fclose (file);
    server = s_server_start (extra);
    ZMX_CHECK (zmx_service_counter (server.service, "sequence") == 1002);
    s_server_stop (&server);
    zstr_free (&log);
    zmx_test_rmdir (dir);
    zstr_free (&extra);
    zstr_free (&dir);
}

//  -------------------------------------------------------------------------
//  A raw CHP client: plain zsock DEALER, SUB and PUB speaking frames

static void
s_raw_client (void)
{
    s_server_t server = s_server_start (NULL);
    zsock_t *sub = zsock_new_sub (server.publisher, "");
    zsock_t *pub = zsock_new_pub (NULL);
    ZMX_CHECK (sub && pub && zsock_connect (pub, "%s", server.collector) == 0);
    //  Wait for HUGZ: the subscription is live. HUGZ has 5 frames.
    zmsg_t *msg = zmx_test_recv (sub, 5000);
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    char *word = zmsg_popstr (msg);
    ZMX_CHECK_STR (word, "HUGZ");
    zstr_free (&word);
    zmsg_destroy (&msg);
    //  KVSET with a uuid and a ttl property; the PUB needs a moment to
    //  learn the server's subscription, so send until the KVPUB comes
    byte uuid [16];
    memset (uuid, 0xAB, sizeof uuid);
    byte sequence [8] = { 0 };
    bool seen = false;
    for (int attempt = 0; attempt < 100 && !seen; attempt++) {
        zmsg_t *kvset = zmsg_new ();
        zmsg_addstr (kvset, "/raw/key");
        zmsg_addmem (kvset, sequence, 8);
        zmsg_addmem (kvset, uuid, 16);
        zmsg_addstr (kvset, "ttl=60\n");
        zmsg_addstr (kvset, "raw value");
        zmsg_send (&kvset, pub);
        while (!seen && (msg = zmx_test_recv (sub, 100))) {
            char *key = zmsg_popstr (msg);
            if (streq (key, "/raw/key")) {
                seen = true;
                zframe_t *number = zmsg_pop (msg), *id = zmsg_pop (msg);
                ZMX_CHECK (zframe_size (number) == 8 && zframe_data (number) [7] == 1);
                ZMX_CHECK (zframe_size (id) == 16 && memcmp (zframe_data (id), uuid, 16) == 0);
                ZMX_CHECK (zmx_test_msg_is (msg, 0, "ttl=60\n", "raw value", NULL));
                zframe_destroy (&number);
                zframe_destroy (&id);
            }
            zstr_free (&key);
            zmsg_destroy (&msg);
        }
    }
    ZMX_CHECK (seen);
    //  A duplicate sent by the retry loop may have been applied too
    uint64_t applied = zmx_service_counter (server.service, "sequence");
    //  Malformed input is dropped and counted; the server keeps going
    zstr_sendx (pub, "/bad", "short", "", "", "v", NULL);           //  sequence not 8
    zstr_sendx (pub, "/bad", NULL);                                 //  one frame
    zmsg_t *bad = zmsg_new ();
    zmsg_addstr (bad, "HUGZ");
    zmsg_addmem (bad, sequence, 8);
    zmsg_addmem (bad, NULL, 0);
    zmsg_addmem (bad, NULL, 0);
    zmsg_addstr (bad, "v");
    zmsg_send (&bad, pub);                                          //  reserved key
    zsock_t *dealer = zsock_new_dealer (server.snapshot);
    zstr_sendx (dealer, "ICANHAZ?", "/no-slash", NULL);             //  invalid subtree
    zstr_sendx (dealer, "GIMME", "", NULL);                         //  unknown command
    S_WAIT_FOR (zmx_service_counter (server.service, "malformed") == 5, 5000);
    ZMX_CHECK (zmx_service_counter (server.service, "sequence") == applied);
    //  The snapshot still works for a well-behaved request
    zsock_destroy (&dealer);
    uint64_t snapshot_sequence;
    zhash_t *map = zmx_test_clone_snapshot (server.snapshot, "/raw/", &snapshot_sequence, 10000);
    ZMX_CHECK_STR ((char *) zhash_lookup (map, "/raw/key"), "raw value");
    ZMX_CHECK (snapshot_sequence == applied);
    zhash_destroy (&map);
    //  And a zmx_clone sees what the raw client wrote
    zmx_clone_t *clone = s_client (&server, "/raw/");
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    ZMX_CHECK (s_value_is (clone, "/raw/key", "raw value"));
    zmx_clone_destroy (&clone);
    zsock_destroy (&pub);
    zsock_destroy (&sub);
    s_server_stop (&server);
}

static void
s_limits (void)
{
    s_server_t server = s_server_start ("    max-keys = 2\n    max-value-size = 8\n");
    zmx_clone_t *clone = s_client (&server, "");
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 2000, 500) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/a", "1", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/b", "2", 1, 0, 5000) == ZMX_OK);
    //  A third key, an oversized value: refused, so never acknowledged
    ZMX_CHECK (zmx_clone_set (clone, "/c", "3", 1, 0, 5000) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zmx_clone_set (clone, "/a", "123456789", 9, 0, 5000) == ZMX_ETIMEDOUT);
    //  Replacing an existing key is fine; so is a refusal followed by an
    //  accepted update (the refusal is then known at once)
    zmx_clone_send (clone, "/d", "4", 1, 0);
    zmx_clone_send (clone, "/a", "ok", 2, 0);
    size_t failed = 0;
    ZMX_CHECK (zmx_clone_flush (clone, 5000, &failed) == ZMX_ENOMEM && failed == 1);
    ZMX_CHECK (s_value_is (clone, "/a", "ok"));
    ZMX_CHECK (zmx_service_counter (server.service, "rejected") == 3);
    //  A value over the client's limit is refused at once, never sent
    ZMX_CHECK (zmx_clone_max_value_size (clone) == ZMX_CLONE_VALUE_MAX);
    ZMX_CHECK (zmx_clone_set_max_value_size (clone, 8) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set_max_value_size (clone, 0) == ZMX_EINVAL);
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_clone_set (clone, "/a", "123456789", 9, 0, 5000) == ZMX_ENOMEM);
    ZMX_CHECK (zclock_mono () - started < 400);     //  Not the 500 ms ack timeout
    ZMX_CHECK (zmx_clone_set (clone, "/a", "12345678", 8, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_service_counter (server.service, "rejected") == 3);
    ZMX_CHECK (zmx_service_counter (server.service, "keys") == 2);
    zmx_clone_destroy (&clone);
    s_server_stop (&server);
}

//  -------------------------------------------------------------------------
//  The optional PULL collector, for clients that send KVSET with PUSH (the
//  Guide's clonecli5): the same validation and publication as the SUB one

static void
s_pull_collector (void)
{
    zconfig_t *root = zconfig_str_load ("clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    collector-pull-endpoint = \"tcp://127.0.0.1:*\"\n");
    zmx_service_t *service = zmx_service_new ("clone", zmx_clone_server_actor,
                                              zconfig_locate (root, "clone"), NULL);
    ZMX_CHECK (service);
    zlist_t *endpoints = zmx_service_endpoints (service);
    ZMX_CHECK (zlist_size (endpoints) == 4);
    const char *snapshot = (const char *) zlist_first (endpoints);
    const char *publisher = (const char *) zlist_next (endpoints);
    zlist_next (endpoints);
    const char *pull = (const char *) zlist_next (endpoints);
    zsock_t *sub = zsock_new_sub (publisher, "");
    zsock_t *push = zsock_new_push (pull);
    ZMX_CHECK (sub && push);
    zmsg_t *msg = zmx_test_recv (sub, 5000);       //  The HUGZ for our subscription
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    zmsg_destroy (&msg);
    byte uuid [16], sequence [8] = { 0 };
    memset (uuid, 0xCD, sizeof uuid);
    zmsg_t *kvset = zmsg_new ();
    zmsg_addstr (kvset, "/pull/key");
    zmsg_addmem (kvset, sequence, 8);
    zmsg_addmem (kvset, uuid, 16);
    zmsg_addstr (kvset, "");
    zmsg_addstr (kvset, "pushed");
    ZMX_CHECK (zmsg_send (&kvset, push) == 0);
    //  PUSH delivers once connected, so no retry: the KVPUB comes
    bool seen = false;
    while (!seen && (msg = zmx_test_recv (sub, 5000))) {
        char *key = zmsg_popstr (msg);
        if (streq (key, "/pull/key")) {
            seen = true;
            zframe_t *number = zmsg_pop (msg), *id = zmsg_pop (msg);
            ZMX_CHECK (zframe_size (number) == 8 && zframe_data (number) [7] == 1);
            ZMX_CHECK (zframe_size (id) == 16 && memcmp (zframe_data (id), uuid, 16) == 0);
            ZMX_CHECK (zmx_test_msg_is (msg, 0, "", "pushed", NULL));
            zframe_destroy (&number);
            zframe_destroy (&id);
        }
        zstr_free (&key);
        zmsg_destroy (&msg);
    }
    ZMX_CHECK (seen);
    //  Garbage on the PULL socket: dropped and counted, nothing applied
    zstr_sendx (push, "/bad", "short", "", "", "v", NULL);          //  sequence not 8
    zstr_sendx (push, "/bad", NULL);                                //  one frame
    zstr_sendx (push, "/k", "12345678", "", "noequals\n", "v", NULL); //  bad properties
    zstr_sendx (push, "/k", "12345678", "", "ttl=x\n", "v", NULL);  //  valid, bad ttl
    S_WAIT_FOR (zmx_service_counter (service, "malformed") == 3
                && zmx_service_counter (service, "rejected") == 1, 5000);
    ZMX_CHECK (zmx_service_counter (service, "sequence") == 1);
    //  And it is in the store, for every kind of client
    uint64_t at;
    zhash_t *map = zmx_test_clone_snapshot (snapshot, "/pull/", &at, 10000);
    ZMX_CHECK_STR ((char *) zhash_lookup (map, "/pull/key"), "pushed");
    ZMX_CHECK (at == 1);
    zhash_destroy (&map);
    zsock_destroy (&push);
    zsock_destroy (&sub);
    zlist_destroy (&endpoints);
    zmx_service_destroy (&service);
    zconfig_destroy (&root);
    //  A PULL endpoint that cannot be bound stops the service
    root = zconfig_str_load ("clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                             "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                             "    collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                             "    collector-pull-endpoint = \"nonsense\"\n");
    service = zmx_service_new ("clone", zmx_clone_server_actor, zconfig_locate (root, "clone"),
                               NULL);
    ZMX_CHECK (service == NULL);
    zconfig_destroy (&root);
}

//  -------------------------------------------------------------------------
//  A scripted fake server: gaps, regressions, a stale server

typedef struct {
    zsock_t *router, *pub, *sub;    //  pub is an XPUB: it sees the subscription
    char *endpoints [3];
    bool subscribed;
} s_fake_t;

static s_fake_t
s_fake_new (void)
{
    s_fake_t fake;
    fake.router = zsock_new_router ("tcp://127.0.0.1:*");
    fake.pub = zsock_new_xpub ("tcp://127.0.0.1:*");
    fake.subscribed = false;
    fake.sub = zsock_new_sub ("@tcp://127.0.0.1:*", "");
    ZMX_CHECK (fake.router && fake.pub && fake.sub);
    fake.endpoints [0] = zsock_last_endpoint (fake.router);
    fake.endpoints [1] = zsock_last_endpoint (fake.pub);
    fake.endpoints [2] = zsock_last_endpoint (fake.sub);
    return fake;
}

static void
s_fake_destroy (s_fake_t *fake)
{
    zsock_destroy (&fake->router);
    zsock_destroy (&fake->pub);
    zsock_destroy (&fake->sub);
    for (int index = 0; index < 3; index++)
        zstr_free (&fake->endpoints [index]);
}

static void
s_fake_publish (s_fake_t *fake, const char *key, uint64_t sequence, const char *value)
{
    zmx_chp_view_t view = { .command = key? ZMX_CHP_KVPUB: ZMX_CHP_HUGZ, .key = key,
                            .key_size = key? strlen (key): 0, .sequence = sequence,
                            .value = (const byte *) value,
                            .value_size = value? strlen (value): 0 };
    ZMX_CHECK (zmx_chp_send (zsock_resolve (fake->pub), NULL, &view, 0) == 0);
}

//  Answer one ICANHAZ with one key and KTHXBAI at `sequence`, once the
//  client's subscription has arrived (the first time), so that what the
//  test publishes next reaches it.
static void
s_fake_wait_subscribed (s_fake_t *fake)
{
    int64_t until = zclock_mono () + 10000;
    while (!fake->subscribed && zclock_mono () < until) {
        zframe_t *subscription = zframe_recv_nowait (fake->pub);
        fake->subscribed = subscription && zframe_size (subscription) >= 1
                        && zframe_data (subscription) [0] == 1;
        zframe_destroy (&subscription);
        if (!fake->subscribed)
            zclock_sleep (5);
    }
    ZMX_CHECK (fake->subscribed);
}

static void
s_fake_snapshot (s_fake_t *fake, uint64_t sequence, const char *value)
{
    zmsg_t *request = NULL;
    int64_t until = zclock_mono () + 10000;
    s_fake_wait_subscribed (fake);
    while (!request && zclock_mono () < until)
        request = zmx_test_recv (fake->router, 50);
    ZMX_CHECK (request && zmsg_size (request) == 3);
    zframe_t *identity = zmsg_pop (request);
    zmx_chp_frame_t routing = { zframe_data (identity), zframe_size (identity) };
    zmx_chp_view_t kvsync = { .command = ZMX_CHP_KVSYNC, .key = "/f", .key_size = 2,
                              .sequence = sequence, .value = (const byte *) value,
                              .value_size = strlen (value) };
    zmx_chp_view_t kthxbai = { .command = ZMX_CHP_KTHXBAI, .sequence = sequence };
    ZMX_CHECK (zmx_chp_send (zsock_resolve (fake->router), &routing, &kvsync, 0) == 0);
    ZMX_CHECK (zmx_chp_send (zsock_resolve (fake->router), &routing, &kthxbai, 0) == 0);
    zframe_destroy (&identity);
    zmsg_destroy (&request);
}

//  An update that never leaves (nothing listens on the collector) fails
//  as not sent, not as a timeout of unknown outcome.
static void
s_unsent (void)
{
    s_fake_t fake = s_fake_new ();
    char *nowhere = zsys_sprintf ("tcp://127.0.0.1:%d", zmx_test_free_port ());
    zmx_clone_t *clone = zmx_clone_new ("");
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 5000, 300) == ZMX_OK);
    zmx_clone_add_server_endpoints (clone, fake.endpoints [0], fake.endpoints [1], nowhere);
    s_fake_snapshot (&fake, 1, "one");
    ZMX_CHECK (zmx_clone_wait_synced (clone, 5000) == ZMX_OK);
    size_t failed = 0;
    zmx_clone_send (clone, "/x", "1", 1, 0);
    ZMX_CHECK (zmx_clone_flush (clone, 5000, &failed) == ZMX_EADDR && failed == 1);
    //  The flush's own deadline with the update still queued: the same
    zmx_clone_send (clone, "/y", "1", 1, 0);
    ZMX_CHECK (zmx_clone_flush (clone, 100, NULL) == ZMX_EADDR);
    zmx_clone_destroy (&clone);
    free (nowhere);
    s_fake_destroy (&fake);
}

//  An update published between the snapshot and the subscription taking
//  effect never reaches the client; the HUGZ that answers the subscription
//  carries the server's sequence and shows it, so a new snapshot follows.
static void
s_missed_before_subscription (void)
{
    s_fake_t fake = s_fake_new ();
    zmx_clone_t *clone = zmx_clone_new ("");
    zmx_clone_add_server_endpoints (clone, fake.endpoints [0], fake.endpoints [1],
                                    fake.endpoints [2]);
    s_fake_wait_subscribed (&fake);
    s_fake_publish (&fake, NULL, 6, NULL);      //  Update 6 went out before
    s_fake_snapshot (&fake, 5, "five");         //  the snapshot it answers, at 5
    s_fake_snapshot (&fake, 6, "six");          //  so the client asks again
    S_WAIT_FOR (s_sequence (clone) == 6 && s_value_is (clone, "/f", "six"), 5000);
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    ZMX_CHECK (stats.gaps == 1 && stats.snapshots == 2);
    zmx_clone_destroy (&clone);
    s_fake_destroy (&fake);
}

//  The mirror holds at most max-keys keys: a snapshot or an update that
//  would add one more leaves it out and counts it; updates and deletions
//  of held keys still apply.
static void
s_mirror_bound (void)
{
    s_fake_t fake = s_fake_new ();
    zmx_clone_t *clone = zmx_clone_new ("");
    ZMX_CHECK (zmx_clone_set_max_keys (clone, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_clone_set_max_keys (clone, 2) == ZMX_OK);
    zmx_clone_add_server_endpoints (clone, fake.endpoints [0], fake.endpoints [1],
                                    fake.endpoints [2]);
    s_fake_snapshot (&fake, 3, "one");          //  /f, in the mirror
    ZMX_CHECK (zmx_clone_wait_synced (clone, 5000) == ZMX_OK);
    s_fake_publish (&fake, "/g", 4, "two");     //  The second key: fits
    s_fake_publish (&fake, "/h", 5, "three");   //  A third: left out
    s_fake_publish (&fake, "/f", 6, "uno");     //  A held key changes
    S_WAIT_FOR (s_sequence (clone) == 6, 5000);
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    ZMX_CHECK (stats.keys == 2 && stats.keys_dropped == 1);
    ZMX_CHECK (s_value_is (clone, "/f", "uno") && s_value_is (clone, "/g", "two"));
    ZMX_CHECK (s_value_is (clone, "/h", NULL));
    s_fake_publish (&fake, "/g", 7, NULL);      //  A deletion makes room
    s_fake_publish (&fake, "/h", 8, "again");
    S_WAIT_FOR (s_value_is (clone, "/h", "again"), 5000);
    zmx_clone_stats (clone, &stats);
    ZMX_CHECK (stats.keys == 2 && stats.keys_dropped == 1 && stats.sequence == 8);
    zmx_clone_destroy (&clone);
    s_fake_destroy (&fake);
}

static void
s_gaps_and_failover (void)
{
    s_fake_t fake = s_fake_new (), backup = s_fake_new ();
    zmx_clone_t *clone = zmx_clone_new ("");
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 500, 1000) == ZMX_OK);
    zmx_clone_add_server_endpoints (clone, fake.endpoints [0], fake.endpoints [1],
                                    fake.endpoints [2]);
    zmx_clone_add_server_endpoints (clone, backup.endpoints [0], backup.endpoints [1],
                                    backup.endpoints [2]);
    s_fake_snapshot (&fake, 5, "five");
    ZMX_CHECK (zmx_clone_wait_synced (clone, 5000) == ZMX_OK);
    ZMX_CHECK (s_sequence (clone) == 5 && s_value_is (clone, "/f", "five"));
    s_fake_publish (&fake, "/f", 6, "six");
    S_WAIT_FOR (s_value_is (clone, "/f", "six"), 5000);
    //  An old sequence is discarded, as CHP says
    s_fake_publish (&fake, "/f", 4, "four");
    //  A jump from 6 to 9: updates were lost, take a new snapshot
    s_fake_publish (&fake, "/f", 9, "nine");
    s_fake_snapshot (&fake, 9, "nine");
    S_WAIT_FOR (s_value_is (clone, "/f", "nine") && s_sequence (clone) == 9, 5000);
    //  A HUGZ ahead of us also proves a loss
    s_fake_publish (&fake, NULL, 12, NULL);
    s_fake_snapshot (&fake, 12, "twelve");
    S_WAIT_FOR (s_sequence (clone) == 12, 5000);
    //  A HUGZ behind us: the server went back
    s_fake_publish (&fake, NULL, 3, NULL);
    s_fake_snapshot (&fake, 3, "three");
    S_WAIT_FOR (s_sequence (clone) == 3 && s_value_is (clone, "/f", "three"), 5000);
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    ZMX_CHECK (stats.gaps == 2 && stats.regressions == 1 && stats.snapshots == 4);
    ZMX_CHECK (stats.server == 0 && stats.failovers == 0);
    //  The first server falls silent: the client moves to the backup
    s_fake_snapshot (&backup, 20, "backup");
    S_WAIT_FOR (s_value_is (clone, "/f", "backup"), 5000);
    zmx_clone_stats (clone, &stats);
    ZMX_CHECK (stats.server == 1 && stats.failovers == 1 && stats.sequence == 20);
    zmx_clone_destroy (&clone);
    s_fake_destroy (&backup);
    s_fake_destroy (&fake);
}

//  -------------------------------------------------------------------------
//  A Binary Star pair: the primary dies mid-stream, the backup takes over

static zmx_service_t *
s_pair_member_secure (int *ports, bool primary, zmx_security_t *security, const char *extra);

static zmx_service_t *
s_pair_member (int *ports, bool primary)
{
    return s_pair_member_secure (ports, primary, NULL, NULL);
}

static zmx_service_t *
s_pair_member_secure (int *ports, bool primary, zmx_security_t *security, const char *extra)
{
    //  ports: primary snapshot, publisher, collector, bstar; then backup's
    int *own = primary? ports: ports + 4, *peer = primary? ports + 4: ports;
    char *text = zsys_sprintf (
        "clone\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
        "    publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
        "    collector-endpoint = \"tcp://127.0.0.1:%d\"\n    heartbeat-interval = 100\n"
        "    bstar\n        primary = %d\n        local = \"tcp://127.0.0.1:%d\"\n"
        "        remote = \"tcp://127.0.0.1:%d\"\n"
        "        peer-endpoint = \"tcp://127.0.0.1:%d\"\n"
        "        peer-publisher = \"tcp://127.0.0.1:%d\"\n        heartbeat = 100\n%s",
        own [0], own [1], own [2], primary? 1: 0, own [3], peer [3], peer [0], peer [1],
        extra? extra: "");
    zconfig_t *root = zconfig_str_load (text);
    zmx_service_t *service = zmx_service_new (primary? "primary": "backup",
                                              zmx_clone_server_actor,
                                              zconfig_locate (root, "clone"), security);
    ZMX_CHECK (service);
    zconfig_destroy (&root);
    zstr_free (&text);
    return service;
}

static void
s_pair_failover (void)
{
    int ports [8];
    for (int index = 0; index < 8; index++)
        ports [index] = zmx_test_free_port ();
    zmx_service_t *primary = s_pair_member (ports, true);
    zmx_service_t *backup = s_pair_member (ports, false);
    zmx_clone_t *clone = zmx_clone_new ("");
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 500, 15000) == ZMX_OK);
    for (int member = 0; member < 2; member++) {
        int *own = ports + 4 * member;
        char *endpoints [3];
        for (int index = 0; index < 3; index++)
            endpoints [index] = zsys_sprintf ("tcp://127.0.0.1:%d", own [index]);
        ZMX_CHECK (zmx_clone_add_server_endpoints (clone, endpoints [0], endpoints [1],
                                                   endpoints [2]) == ZMX_OK);
        for (int index = 0; index < 3; index++)
            zstr_free (&endpoints [index]);
    }
    ZMX_CHECK (zmx_clone_wait_synced (clone, 20000) == ZMX_OK);
    ZMX_CHECK (zmx_service_counter (primary, "active") == 1);
    ZMX_CHECK (zmx_service_counter (backup, "active") == 0);
    //  Stream updates; the primary stops in the middle of them
    int total = 3000;
    uint64_t last_sequence = 0;
    for (int index = 0; index < total; index++) {
        char key [32], value [32];
        snprintf (key, sizeof key, "/pair/%05d", index);
        snprintf (value, sizeof value, "v%d", index);
        ZMX_CHECK (zmx_clone_send (clone, key, value, strlen (value), 0) == ZMX_OK);
        if (index == total / 2) {
            zmx_clone_stats_t stats;
            S_WAIT_FOR ((zmx_clone_stats (clone, &stats), stats.acknowledged >= 500), 20000);
            //  The backup has been mirroring: it knows the primary's updates
            S_WAIT_FOR (zmx_service_counter (backup, "replicated") > 0, 5000);
            last_sequence = stats.sequence;
            zmx_service_destroy (&primary);
        }
    }
    size_t failed = 0;
    int rc = zmx_clone_flush (clone, 60000, &failed);
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    printf ("primary stopped at sequence %" PRIu64 "; %" PRIu64 " acknowledged, %zu failed; "
            "backup applied %" PRIu64 " held updates\n", last_sequence, stats.acknowledged,
            failed, zmx_service_counter (backup, "pending_applied"));
    ZMX_CHECK (rc == ZMX_OK && failed == 0 && stats.acknowledged == (uint64_t) total);
    ZMX_CHECK (stats.server == 1 && stats.failovers >= 1);
    ZMX_CHECK (zmx_service_counter (backup, "active") == 1);
    //  Every update is in the backup's store, and its sequence went on
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", ports [4]);
    uint64_t sequence;
    zhash_t *truth = zmx_test_clone_snapshot (endpoint, "/pair/", &sequence, 10000);
    ZMX_CHECK (zhash_size (truth) == (size_t) total);
    ZMX_CHECK (sequence > last_sequence);
    S_WAIT_FOR (s_sequence (clone) == sequence, 5000);
    ZMX_CHECK (s_mirror_equals (clone, truth));
    zhash_destroy (&truth);
    zstr_free (&endpoint);
    zmx_clone_destroy (&clone);
    zmx_service_destroy (&backup);
}

//  A passive server holds at most its own max-keys of what its peer sends:
//  the rest is left out and counted (replica_dropped).
static void
s_replica_bound (void)
{
    int ports [8];
    for (int index = 0; index < 8; index++)
        ports [index] = zmx_test_free_port ();
    zmx_service_t *primary = s_pair_member (ports, true);
    zmx_clone_t *clone = zmx_clone_new ("");
    char *endpoints [3];
    for (int index = 0; index < 3; index++)
        endpoints [index] = zsys_sprintf ("tcp://127.0.0.1:%d", ports [index]);
    ZMX_CHECK (zmx_clone_add_server_endpoints (clone, endpoints [0], endpoints [1],
                                               endpoints [2]) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 20000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/a", "1", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/b", "2", 1, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/c", "3", 1, 0, 5000) == ZMX_OK);
    //  The backup's snapshot of the primary: three keys, room for two
    zmx_service_t *backup = s_pair_member_secure (ports, false, NULL, "    max-keys = 2\n");
    S_WAIT_FOR (zmx_service_counter (backup, "replica_snapshots") >= 1, 10000);
    ZMX_CHECK (zmx_service_counter (backup, "keys") == 2);
    ZMX_CHECK (zmx_service_counter (backup, "replica_dropped") == 1);
    //  Live updates: a new key is left out, a held one changes
    ZMX_CHECK (zmx_clone_set (clone, "/d", "4", 1, 0, 5000) == ZMX_OK);
    S_WAIT_FOR (zmx_service_counter (backup, "replica_dropped") == 2, 5000);
    ZMX_CHECK (zmx_service_counter (backup, "sequence") == 4);
    ZMX_CHECK (zmx_clone_delete (clone, "/a", 5000) == ZMX_OK);
    S_WAIT_FOR (zmx_service_counter (backup, "sequence") == 5, 5000);
    ZMX_CHECK (zmx_service_counter (backup, "keys") <= 2);
    ZMX_CHECK (zmx_service_counter (primary, "keys") == 3);
    for (int index = 0; index < 3; index++)
        zstr_free (&endpoints [index]);
    zmx_clone_destroy (&clone);
    zmx_service_destroy (&backup);
    zmx_service_destroy (&primary);
}

//  CURVE on all three sockets: a client with the keys works end to end,
//  one without them gets nothing.
static void
s_curve (void)
{
    char *keys = zmx_test_tmpdir ();
    char *server_cert = zsys_sprintf ("%s/server", keys);
    char *client_cert = zsys_sprintf ("%s/client", keys);
    zmx_security_t *security = zmx_test_curve_policy (server_cert, client_cert);
    zconfig_t *root = zconfig_str_load ("clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    heartbeat-interval = 100\n");
    zmx_service_t *service = zmx_service_new ("clone", zmx_clone_server_actor,
                                              zconfig_locate (root, "clone"), security);
    ZMX_CHECK (service);
    zlist_t *endpoints = zmx_service_endpoints (service);
    const char *snapshot = (const char *) zlist_first (endpoints);
    const char *publisher = (const char *) zlist_next (endpoints);
    const char *collector = (const char *) zlist_next (endpoints);
    zmx_clone_t *clone = zmx_clone_new ("");
    ZMX_CHECK (zmx_clone_set_curve (clone, client_cert, server_cert) == ZMX_OK);
    zmx_clone_add_server_endpoints (clone, snapshot, publisher, collector);
    ZMX_CHECK (zmx_clone_set_curve (clone, client_cert, server_cert) == ZMX_ESECURITY);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/secret", "curve", 5, 0, 5000) == ZMX_OK);
    zmx_clone_t *plain = zmx_clone_new ("");
    zmx_clone_add_server_endpoints (plain, snapshot, publisher, collector);
    ZMX_CHECK (zmx_clone_wait_synced (plain, 1000) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zmx_clone_get (plain, "/secret", NULL, NULL) == NULL);
    zmx_clone_destroy (&plain);
    zmx_clone_destroy (&clone);
    zlist_destroy (&endpoints);
    zmx_service_destroy (&service);
    zmx_security_destroy (&security);
    zconfig_destroy (&root);
    zmx_test_rmdir (keys);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
    zstr_free (&keys);
}

//  The pair with CURVE on every socket: the passive server mirrors the
//  active one as a CURVE client, and takes over as before.
static void
s_pair_curve (void)
{
    char *keys = zmx_test_tmpdir ();
    char *server_cert = zsys_sprintf ("%s/server", keys);
    char *client_cert = zsys_sprintf ("%s/client", keys);
    zmx_security_t *security = zmx_test_curve_policy (server_cert, client_cert);
    char *extra = zsys_sprintf ("        client-certificate = \"%s\"\n"
                                "        server-key = \"%s\"\n", client_cert, server_cert);
    int ports [8];
    for (int index = 0; index < 8; index++)
        ports [index] = zmx_test_free_port ();
    zmx_service_t *primary = s_pair_member_secure (ports, true, security, extra);
    zmx_service_t *backup = s_pair_member_secure (ports, false, security, extra);
    zmx_clone_t *clone = zmx_clone_new ("");
    ZMX_CHECK (zmx_clone_set_curve (clone, client_cert, server_cert) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 500, 10000) == ZMX_OK);
    for (int member = 0; member < 2; member++) {
        char *endpoints [3];
        for (int index = 0; index < 3; index++)
            endpoints [index] = zsys_sprintf ("tcp://127.0.0.1:%d", ports [4 * member + index]);
        zmx_clone_add_server_endpoints (clone, endpoints [0], endpoints [1], endpoints [2]);
        for (int index = 0; index < 3; index++)
            zstr_free (&endpoints [index]);
    }
    ZMX_CHECK (zmx_clone_wait_synced (clone, 20000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (clone, "/secure/a", "1", 1, 0, 10000) == ZMX_OK);
    S_WAIT_FOR (zmx_service_counter (backup, "sequence") == 1, 10000);
    zmx_service_destroy (&primary);
    ZMX_CHECK (zmx_clone_set (clone, "/secure/b", "2", 1, 0, 20000) == ZMX_OK);
    ZMX_CHECK (zmx_service_counter (backup, "active") == 1);
    ZMX_CHECK (s_value_is (clone, "/secure/a", "1") && s_value_is (clone, "/secure/b", "2"));
    zmx_clone_destroy (&clone);
    zmx_service_destroy (&backup);
    zmx_security_destroy (&security);
    zmx_test_rmdir (keys);
    zstr_free (&extra);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
    zstr_free (&keys);
}

//  A clone client whose server goes silent while libzmq has no socket
//  left keeps failing over (logged, rate-limited) instead of asserting,
//  and connects again once sockets are free.
static void
s_socket_limit_no_abort (void)
{
    zsys_set_max_sockets (32);
    zmx_clone_t *clone = zmx_clone_new ("/limit/");
    ZMX_CHECK (clone);
    ZMX_CHECK (zmx_clone_set_timeouts (clone, 100, 1000) == ZMX_OK);
    char *endpoint = zmx_test_free_endpoint ();     //  Nobody there: silent
    ZMX_CHECK (zmx_clone_add_server (clone, endpoint) == ZMX_OK);
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);        //  The server is added: connected
    void *held [64];
    size_t count = 0;
    while (count < 64 && (held [count] = zmq_socket (zsys_init (), ZMQ_DEALER)))
        count++;
    ZMX_CHECK (count > 0 && count < 64);
    //  The client may have been between its two sockets when the last slot
    //  went: it closes the one it made, and libzmq frees that slot later.
    //  Take any slot that comes back for three failover periods, so that
    //  the client finds none: with exactly one free, the check in
    //  zmx__sock_new passes and zsock_new then asserts (libzmq frees a
    //  closed socket's slot only when its reaper runs; docs/CLI.md)
    int64_t absorb_until = zclock_mono () + 300;
    while (zclock_mono () < absorb_until) {
        void *late = count < 64? zmq_socket (zsys_init (), ZMQ_DEALER): NULL;
        if (late)
            held [count++] = late;
        else
            zclock_sleep (1);
    }
    ZMX_CHECK (count < 64);
    //  Every failover now finds no socket; the client must live through them
    int64_t deadline = zclock_mono () + 5000;
    do {
        zclock_sleep (50);
        zmx_clone_stats (clone, &stats);
    } while (stats.failovers < 5 && zclock_mono () < deadline);
    if (stats.failovers < 5)
        fprintf (stderr, "    failovers: %" PRIu64 "\n", stats.failovers);
    ZMX_CHECK (stats.failovers >= 5);
    for (size_t index = 0; index < count; index++)
        zmq_close (held [index]);
    uint64_t failovers = stats.failovers;
    deadline = zclock_mono () + 5000;
    do {
        zclock_sleep (50);
        zmx_clone_stats (clone, &stats);
    } while (stats.failovers < failovers + 2 && zclock_mono () < deadline);
    ZMX_CHECK (stats.failovers >= failovers + 2);
    free (endpoint);
    zmx_clone_destroy (&clone);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "basic", s_basic, 30 },
        { "late_joiners", s_late_joiners, 120 },
        { "ttl_expiry", s_ttl_expiry, 30 },
        { "subtree", s_subtree, 30 },
        { "restart_persistence", s_restart_persistence, 90 },
        { "compaction", s_compaction, 30 },
        { "raw_client", s_raw_client, 30 },
        { "pull_collector", s_pull_collector, 30 },
        { "limits", s_limits, 30 },
        { "gaps_and_failover", s_gaps_and_failover, 30 },
        { "unsent", s_unsent, 30 },
        { "mirror_bound", s_mirror_bound, 30 },
        { "missed_before_subscription", s_missed_before_subscription, 30 },
        { "pair_failover", s_pair_failover, 90 },
        { "replica_bound", s_replica_bound, 60 },
        { "curve", s_curve, 30 },
        { "pair_curve", s_pair_curve, 60 },
        { "socket_limit_no_abort", s_socket_limit_no_abort, 20 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
