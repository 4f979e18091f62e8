/*  =========================================================================
    test_clone_kvsimple - the clone service's optional kvsimple front end,
    for the Guide's Clone Model Four client (clonecli4), which speaks three-
    frame kvsimple messages, not 12/CHP. The client here is written as
    clonecli4 is, with plain sockets and frames built by hand: DEALER for
    the snapshot, SUB for updates, PUSH for its own updates. It must see
    CHP clients' updates and they its; garbage on each kvsimple socket is
    dropped and counted; without the keys nothing is bound; with CURVE on
    only a CURVE client is served; and zmxd accepts the keys and serves
    such a client.
    =========================================================================
*/
#include "testing.h"

#define S_WAIT_FOR(condition, msec) \
    do { int64_t until_ = zclock_mono () + (msec); \
         while (!(condition) && zclock_mono () < until_) zclock_sleep (5); \
         ZMX_CHECK (condition); } while (0)

#define S_SUBTREE "/client/"

typedef struct {
    zmx_service_t *service;
    char *endpoints [6];        //  CHP snapshot, publisher, collector; kvsimple the same
} s_server_t;

static s_server_t
s_server_start (const char *extra)
{
    s_server_t server;
    char *text = zsys_sprintf ("clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    kvsimple-snapshot-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    kvsimple-publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    kvsimple-collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    heartbeat-interval = 100\n%s", extra? extra: "");
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    server.service = zmx_service_new ("clone", zmx_clone_server_actor,
                                      zconfig_locate (root, "clone"), NULL);
    ZMX_CHECK (server.service);
    zlist_t *endpoints = zmx_service_endpoints (server.service);
    ZMX_CHECK (zlist_size (endpoints) == 6);
    const char *endpoint = (const char *) zlist_first (endpoints);
    for (int index = 0; index < 6; index++, endpoint = (const char *) zlist_next (endpoints))
        server.endpoints [index] = strdup (endpoint);
    zlist_destroy (&endpoints);
    zconfig_destroy (&root);
    zstr_free (&text);
    return server;
}

static void
s_server_stop (s_server_t *server)
{
    zmx_service_destroy (&server->service);
    for (int index = 0; index < 6; index++)
        zstr_free (&server->endpoints [index]);
}

static zmx_clone_t *
s_chp_client (s_server_t *server, const char *subtree)
{
    zmx_clone_t *clone = zmx_clone_new (subtree);
    ZMX_CHECK (clone);
    ZMX_CHECK (zmx_clone_add_server_endpoints (clone, server->endpoints [0],
                                               server->endpoints [1],
                                               server->endpoints [2]) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    return clone;
}

//  -------------------------------------------------------------------------
//  clonecli4, by hand

typedef struct {
    zsock_t *snapshot;          //  DEALER to P
    zsock_t *subscriber;        //  SUB to P + 1, subscribed to the subtree
    zsock_t *publisher;         //  PUSH to P + 2
} s_cli4_t;

//  One kvsimple message as received: key and body terminated
typedef struct {
    char *key;
    uint64_t sequence;
    char *body;
} s_kv_t;

static s_cli4_t
s_cli4_new (s_server_t *server)
{
    s_cli4_t cli;
    cli.snapshot = zsock_new_dealer (server->endpoints [3]);
    cli.subscriber = zsock_new_sub (server->endpoints [4], S_SUBTREE);
    cli.publisher = zsock_new_push (server->endpoints [5]);
    ZMX_CHECK (cli.snapshot && cli.subscriber && cli.publisher);
    return cli;
}

static void
s_cli4_destroy (s_cli4_t *cli)
{
    zsock_destroy (&cli->snapshot);
    zsock_destroy (&cli->subscriber);
    zsock_destroy (&cli->publisher);
}

//  [key][sequence, 8 bytes big-endian][body], as kvsimple's kvmsg_send
static void
s_kv_send (zsock_t *socket, const char *key, uint64_t sequence, const char *body)
{
    byte number [8];
    for (int index = 7; index >= 0; index--, sequence >>= 8)
        number [index] = (byte) sequence;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, key);
    zmsg_addmem (msg, number, 8);
    zmsg_addstr (msg, body);
    ZMX_CHECK (zmsg_send (&msg, socket) == 0);
}

//  Receive one kvsimple message within timeout_ms; false if none came.
//  It must have exactly three frames and an 8-byte sequence.
static bool
s_kv_recv (zsock_t *socket, int timeout_ms, s_kv_t *kv)
{
    zmsg_t *msg = zmx_test_recv (socket, timeout_ms);
    if (!msg)
        return false;
    ZMX_CHECK (zmsg_size (msg) == 3);
    kv->key = zmsg_popstr (msg);
    zframe_t *number = zmsg_pop (msg);
    ZMX_CHECK (zframe_size (number) == 8);
    kv->sequence = 0;
    for (int index = 0; index < 8; index++)
        kv->sequence = (kv->sequence << 8) | zframe_data (number) [index];
    kv->body = zmsg_popstr (msg);
    zframe_destroy (&number);
    zmsg_destroy (&msg);
    return true;
}

static void
s_kv_free (s_kv_t *kv)
{
    zstr_free (&kv->key);
    zstr_free (&kv->body);
}

//  clonecli4's snapshot: ICANHAZ? and the subtree, then kvsimple messages
//  until KTHXBAI, whose sequence goes to *sequence_p. Returns key ->
//  body; every key must be in the subtree, every sequence at most the
//  snapshot's.
static zhash_t *
s_cli4_snapshot (s_cli4_t *cli, const char *subtree, uint64_t *sequence_p)
{
    ZMX_CHECK (zstr_sendx (cli->snapshot, "ICANHAZ?", subtree, NULL) == 0);
    zhash_t *map = zhash_new ();
    zhash_autofree (map);
    uint64_t highest = 0;
    while (true) {
        s_kv_t kv;
        ZMX_CHECK (s_kv_recv (cli->snapshot, 5000, &kv));
        if (streq (kv.key, "KTHXBAI")) {
            ZMX_CHECK_STR (kv.body, subtree);
            *sequence_p = kv.sequence;
            s_kv_free (&kv);
            break;
        }
        ZMX_CHECK (strncmp (kv.key, subtree, strlen (subtree)) == 0);
        highest = kv.sequence > highest? kv.sequence: highest;
        zhash_update (map, kv.key, kv.body);
        s_kv_free (&kv);
    }
    ZMX_CHECK (highest <= *sequence_p);
    return map;
}

//  Wait for the next update above `sequence` on the subscriber (older
//  ones are skipped, as clonecli4 does); fails the case if none comes.
static s_kv_t
s_cli4_next (s_cli4_t *cli, uint64_t sequence)
{
    s_kv_t kv;
    while (true) {
        ZMX_CHECK (s_kv_recv (cli->subscriber, 5000, &kv));
        if (kv.sequence > sequence)
            return kv;
        s_kv_free (&kv);
    }
}

//  PUSH an update until the subscriber shows one: from then on its
//  subscription is live (the Guide's client pushes one a second and
//  simply misses the early ones). Returns the sequence seen.
static uint64_t
s_cli4_wait_live (s_cli4_t *cli, uint64_t sequence)
{
    for (int attempt = 0; attempt < 100; attempt++) {
        s_kv_send (cli->publisher, S_SUBTREE "probe", 0, "probe");
        s_kv_t kv;
        if (s_kv_recv (cli->subscriber, 100, &kv)) {
            ZMX_CHECK (kv.sequence > sequence);
            sequence = kv.sequence;
            s_kv_free (&kv);
            //  Probes still on their way: read them off
            while (s_kv_recv (cli->subscriber, 200, &kv)) {
                ZMX_CHECK (kv.sequence == sequence + 1);
                sequence = kv.sequence;
                s_kv_free (&kv);
            }
            return sequence;
        }
    }
    ZMX_CHECK (false);
    return 0;
}

static bool
s_value_is (zmx_clone_t *clone, const char *key, const char *expected)
{
    char *value = zmx_clone_get (clone, key, NULL, NULL);
    bool same = expected? value && streq (value, expected): value == NULL;
    free (value);
    return same;
}

//  -------------------------------------------------------------------------

static void
s_guide_client (void)
{
    s_server_t server = s_server_start (NULL);
    zmx_clone_t *writer = s_chp_client (&server, "");
    ZMX_CHECK (zmx_clone_set (writer, S_SUBTREE "a", "one", 3, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, S_SUBTREE "b", "two", 3, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, "/other/x", "out", 3, 0, 5000) == ZMX_OK);
    //  The snapshot: the subtree only, ending at the current sequence
    s_cli4_t cli = s_cli4_new (&server);
    uint64_t sequence;
    zhash_t *map = s_cli4_snapshot (&cli, S_SUBTREE, &sequence);
    ZMX_CHECK (sequence == 3 && zhash_size (map) == 2);
    ZMX_CHECK_STR ((char *) zhash_lookup (map, S_SUBTREE "a"), "one");
    ZMX_CHECK_STR ((char *) zhash_lookup (map, S_SUBTREE "b"), "two");
    zhash_destroy (&map);
    //  Its own updates come back on its SUB, numbered one after another
    sequence = s_cli4_wait_live (&cli, sequence);
    for (int index = 0; index < 5; index++) {
        char key [32], body [32];
        snprintf (key, sizeof key, S_SUBTREE "k%d", index);
        snprintf (body, sizeof body, "v%d", index);
        s_kv_send (cli.publisher, key, 0, body);
        s_kv_t kv = s_cli4_next (&cli, sequence);
        ZMX_CHECK (kv.sequence == sequence + 1);
        ZMX_CHECK_STR (kv.key, key);
        ZMX_CHECK_STR (kv.body, body);
        sequence = kv.sequence;
        s_kv_free (&kv);
    }
    //  A CHP client's update and delete reach it (a delete: empty body);
    //  an update outside its subtree does not
    ZMX_CHECK (zmx_clone_set (writer, "/other/y", "no", 2, 0, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_clone_set (writer, S_SUBTREE "chp", "from chp", 8, 0, 5000) == ZMX_OK);
    s_kv_t kv = s_cli4_next (&cli, sequence);
    ZMX_CHECK_STR (kv.key, S_SUBTREE "chp");
    ZMX_CHECK_STR (kv.body, "from chp");
    ZMX_CHECK (kv.sequence == sequence + 2);
    sequence = kv.sequence;
    s_kv_free (&kv);
    ZMX_CHECK (zmx_clone_delete (writer, S_SUBTREE "a", 5000) == ZMX_OK);
    kv = s_cli4_next (&cli, sequence);
    ZMX_CHECK_STR (kv.key, S_SUBTREE "a");
    ZMX_CHECK_STR (kv.body, "");
    sequence = kv.sequence;
    s_kv_free (&kv);
    //  A CHP client sees what the kvsimple client wrote, deletes included
    zmx_clone_t *reader = s_chp_client (&server, S_SUBTREE);
    ZMX_CHECK (s_value_is (reader, S_SUBTREE "k4", "v4"));
    s_kv_send (cli.publisher, S_SUBTREE "late", 0, "pushed");
    s_kv_send (cli.publisher, S_SUBTREE "k0", 0, "");
    S_WAIT_FOR (s_value_is (reader, S_SUBTREE "late", "pushed")
                && s_value_is (reader, S_SUBTREE "k0", NULL), 5000);
    kv = s_cli4_next (&cli, sequence);
    ZMX_CHECK_STR (kv.key, S_SUBTREE "late");
    s_kv_free (&kv);
    //  A second snapshot holds it all
    map = s_cli4_snapshot (&cli, S_SUBTREE, &sequence);
    ZMX_CHECK (sequence == zmx_service_counter (server.service, "sequence"));
    ZMX_CHECK_STR ((char *) zhash_lookup (map, S_SUBTREE "late"), "pushed");
    ZMX_CHECK_STR ((char *) zhash_lookup (map, S_SUBTREE "chp"), "from chp");
    ZMX_CHECK (!zhash_lookup (map, S_SUBTREE "a") && !zhash_lookup (map, S_SUBTREE "k0"));
    ZMX_CHECK (!zhash_lookup (map, "/other/x"));
    zhash_destroy (&map);
    ZMX_CHECK (zmx_service_counter (server.service, "kvsimple_malformed") == 0);
    ZMX_CHECK (zmx_service_counter (server.service, "malformed") == 0);
    s_cli4_destroy (&cli);
    zmx_clone_destroy (&reader);
    zmx_clone_destroy (&writer);
    s_server_stop (&server);
}

//  -------------------------------------------------------------------------
//  Garbage on each kvsimple socket: dropped and counted, the service
//  serving on

static void
s_garbage (void)
{
    s_server_t server = s_server_start ("    max-value-size = 16\n");
    zmx_service_t *service = server.service;
    s_cli4_t cli = s_cli4_new (&server);
    byte number [8] = { 0 };
    //  The collector (PULL)
    zstr_sendx (cli.publisher, S_SUBTREE "k", "v", NULL);                  //  2 frames
    zstr_sendx (cli.publisher, S_SUBTREE "k", "1234567", "v", NULL);       //  7-byte sequence
    zstr_sendx (cli.publisher, S_SUBTREE "k", "12345678", "v", "x", NULL); //  4 frames
    zstr_sendx (cli.publisher, "", "12345678", "v", NULL);                 //  empty key
    zstr_sendx (cli.publisher, "/client/\x01", "12345678", "v", NULL);     //  control byte
    zstr_sendx (cli.publisher, "KTHXBAI", "12345678", "v", NULL);          //  a command word
    zmsg_t *msg = zmsg_new ();                                             //  body too large
    zmsg_addstr (msg, S_SUBTREE "big");
    zmsg_addmem (msg, number, 8);
    zmsg_addstr (msg, "seventeen bytes!!");
    zmsg_send (&msg, cli.publisher);
    S_WAIT_FOR (zmx_service_counter (service, "kvsimple_malformed") == 7, 5000);
    //  The snapshot router (DEALER)
    char *long_subtree = (char *) zmalloc (ZMX_CHP_KEY_MAX + 2);
    memset (long_subtree, 'a', ZMX_CHP_KEY_MAX + 1);
    zstr_sendx (cli.snapshot, "ICANHAZ?", NULL);                           //  1 frame
    zstr_sendx (cli.snapshot, "GIMME", S_SUBTREE, NULL);                   //  not ICANHAZ?
    zstr_sendx (cli.snapshot, "ICANHAZ?", "/client/\x7f", NULL);           //  control byte
    zstr_sendx (cli.snapshot, "ICANHAZ?", long_subtree, NULL);             //  too long
    zstr_sendx (cli.snapshot, "ICANHAZ?", S_SUBTREE, "more", NULL);        //  3 frames
    free (long_subtree);
    S_WAIT_FOR (zmx_service_counter (service, "kvsimple_malformed") == 12, 5000);
    //  The publisher: an XSUB can send it messages that are not
    //  subscriptions
    zsock_t *xsub = zsock_new_xsub (server.endpoints [4]);
    ZMX_CHECK (xsub);
    zstr_send (xsub, "garbage");
    zstr_sendx (xsub, "two", "frames", NULL);
    S_WAIT_FOR (zmx_service_counter (service, "kvsimple_malformed") == 14, 5000);
    zsock_destroy (&xsub);
    //  None of it applied, nor counted as CHP garbage; the service still
    //  serves kvsimple and CHP clients
    ZMX_CHECK (zmx_service_counter (service, "sequence") == 0);
    ZMX_CHECK (zmx_service_counter (service, "malformed") == 0);
    uint64_t sequence = s_cli4_wait_live (&cli, 0);
    zhash_t *map = s_cli4_snapshot (&cli, S_SUBTREE, &sequence);
    ZMX_CHECK_STR ((char *) zhash_lookup (map, S_SUBTREE "probe"), "probe");
    zhash_destroy (&map);
    zmx_clone_t *clone = s_chp_client (&server, S_SUBTREE);
    ZMX_CHECK (s_value_is (clone, S_SUBTREE "probe", "probe"));
    zmx_clone_destroy (&clone);
    ZMX_CHECK (zmx_service_counter (service, "kvsimple_malformed") == 14);
    s_cli4_destroy (&cli);
    s_server_stop (&server);
}

//  -------------------------------------------------------------------------
//  Off by default; all three endpoints or none

static zmx_service_t *
s_service_from (const char *text)
{
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    zmx_service_t *service = zmx_service_new ("clone", zmx_clone_server_actor,
                                              zconfig_locate (root, "clone"), NULL);
    zconfig_destroy (&root);
    return service;
}

static void
s_off_by_default (void)
{
    const char *base = "clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                       "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                       "    collector-endpoint = \"tcp://127.0.0.1:*\"\n";
    zmx_service_t *service = s_service_from (base);
    ZMX_CHECK (service);
    zlist_t *endpoints = zmx_service_endpoints (service);
    ZMX_CHECK (zlist_size (endpoints) == 3);        //  CHP's three only
    zlist_destroy (&endpoints);
    ZMX_CHECK (zmx_service_counter (service, "kvsimple_malformed") == 0);
    zmx_service_destroy (&service);
    //  Empty values are "none" too
    char *text = zsys_sprintf ("%s    kvsimple-snapshot-endpoint = \"\"\n"
                               "    kvsimple-publisher-endpoint = \"\"\n"
                               "    kvsimple-collector-endpoint = \"\"\n", base);
    service = s_service_from (text);
    ZMX_CHECK (service);
    endpoints = zmx_service_endpoints (service);
    ZMX_CHECK (zlist_size (endpoints) == 3);
    zlist_destroy (&endpoints);
    zmx_service_destroy (&service);
    zstr_free (&text);
    //  Two of three, or one that cannot be bound: the service does not start
    text = zsys_sprintf ("%s    kvsimple-snapshot-endpoint = \"tcp://127.0.0.1:*\"\n"
                         "    kvsimple-publisher-endpoint = \"tcp://127.0.0.1:*\"\n", base);
    ZMX_CHECK (s_service_from (text) == NULL);
    zstr_free (&text);
    text = zsys_sprintf ("%s    kvsimple-snapshot-endpoint = \"tcp://127.0.0.1:*\"\n"
                         "    kvsimple-publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                         "    kvsimple-collector-endpoint = \"nonsense\"\n", base);
    ZMX_CHECK (s_service_from (text) == NULL);
    zstr_free (&text);
}

//  -------------------------------------------------------------------------
//  With CURVE on, the kvsimple sockets are CURVE servers like the others

//  A socket of `type`, a CURVE client with these keys, connected
static zsock_t *
s_curve_socket (int type, const char *endpoint, const char *client_cert,
                const char *server_cert)
{
    zsock_t *sock = zsock_new (type);
    ZMX_CHECK (sock);
    zsock_set_linger (sock, 0);
    ZMX_CHECK (zmx_security_client_curve (sock, client_cert, server_cert) == ZMX_OK);
    ZMX_CHECK (zsock_connect (sock, "%s", endpoint) == 0);
    return sock;
}

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
                                        "    kvsimple-snapshot-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    kvsimple-publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    kvsimple-collector-endpoint = \"tcp://127.0.0.1:*\"\n");
    zmx_service_t *service = zmx_service_new ("clone", zmx_clone_server_actor,
                                              zconfig_locate (root, "clone"), security);
    ZMX_CHECK (service);
    zlist_t *endpoints = zmx_service_endpoints (service);
    ZMX_CHECK (zlist_size (endpoints) == 6);
    const char *at [6];
    at [0] = (const char *) zlist_first (endpoints);
    for (int index = 1; index < 6; index++)
        at [index] = (const char *) zlist_next (endpoints);
    //  A plain client gets no snapshot
    zsock_t *plain = zsock_new_dealer (at [3]);
    ZMX_CHECK (plain);
    zstr_sendx (plain, "ICANHAZ?", S_SUBTREE, NULL);
    zmsg_t *msg = zmx_test_recv (plain, 500);
    ZMX_CHECK (msg == NULL);
    zsock_destroy (&plain);
    //  A CURVE client is served on all three sockets
    s_cli4_t cli;
    cli.snapshot = s_curve_socket (ZMQ_DEALER, at [3], client_cert, server_cert);
    cli.subscriber = s_curve_socket (ZMQ_SUB, at [4], client_cert, server_cert);
    zsock_set_subscribe (cli.subscriber, S_SUBTREE);
    cli.publisher = s_curve_socket (ZMQ_PUSH, at [5], client_cert, server_cert);
    uint64_t sequence;
    zhash_t *map = s_cli4_snapshot (&cli, S_SUBTREE, &sequence);
    ZMX_CHECK (sequence == 0 && zhash_size (map) == 0);
    zhash_destroy (&map);
    ZMX_CHECK (s_cli4_wait_live (&cli, sequence) > 0);
    ZMX_CHECK (zmx_service_counter (service, "kvsimple_malformed") == 0);
    s_cli4_destroy (&cli);
    zlist_destroy (&endpoints);
    zmx_service_destroy (&service);
    zmx_security_destroy (&security);
    zconfig_destroy (&root);
    zmx_test_rmdir (keys);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
    zstr_free (&keys);
}

//  -------------------------------------------------------------------------
//  The same against zmxd: it accepts the keys and serves the client

//  zmx_test_config_fn: the kvsimple endpoints on three more consecutive
//  free ports, the first one stored in *(int *) args
static char *
s_zmxd_extra (int port, void *args)
{
    int other = 0;
    for (int attempt = 0; attempt < 20 && !other; attempt++) {
        other = zmx_test_free_port ();
        if (other > 65000 || (other > port - 3 && other < port + 3)
        ||  !zmx_test_port_free (other + 1)
        ||  !zmx_test_port_free (other + 2))
            other = 0;
    }
    ZMX_CHECK (other);
    *(int *) args = other;
    return zsys_sprintf ("    kvsimple-snapshot-endpoint = \"tcp://127.0.0.1:%d\"\n"
                         "    kvsimple-publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
                         "    kvsimple-collector-endpoint = \"tcp://127.0.0.1:%d\"\n",
                         other, other + 1, other + 2);
}

static void
s_zmxd (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    int port, kvsimple_port;
    pid_t pid = zmx_test_clone_zmxd_start (dir, log, s_zmxd_extra, &kvsimple_port, NULL, 10000,
                                           &port);
    s_server_t server = { NULL, { NULL } };
    for (int index = 0; index < 6; index++)
        server.endpoints [index] = zsys_sprintf ("tcp://127.0.0.1:%d", index < 3
                                                 ? port + index: kvsimple_port + index - 3);
    s_cli4_t cli = s_cli4_new (&server);
    uint64_t sequence;
    zhash_t *map = s_cli4_snapshot (&cli, S_SUBTREE, &sequence);
    ZMX_CHECK (sequence == 0 && zhash_size (map) == 0);
    zhash_destroy (&map);
    sequence = s_cli4_wait_live (&cli, sequence);
    //  A CHP client of the same zmxd, by its port P, sees the update
    zmx_clone_t *clone = zmx_clone_new (S_SUBTREE);
    ZMX_CHECK (zmx_clone_add_server (clone, server.endpoints [0]) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 10000) == ZMX_OK);
    ZMX_CHECK (s_value_is (clone, S_SUBTREE "probe", "probe"));
    ZMX_CHECK (zmx_clone_set (clone, S_SUBTREE "chp", "yes", 3, 0, 5000) == ZMX_OK);
    s_kv_t kv = s_cli4_next (&cli, sequence);
    ZMX_CHECK_STR (kv.key, S_SUBTREE "chp");
    ZMX_CHECK_STR (kv.body, "yes");
    s_kv_free (&kv);
    zmx_clone_destroy (&clone);
    s_cli4_destroy (&cli);
    zmx_test_stop (pid, 3000);
    for (int index = 0; index < 6; index++)
        zstr_free (&server.endpoints [index]);
    zmx_test_rmdir (dir);
    zstr_free (&log);
    zstr_free (&dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "guide_client", s_guide_client, 30 },
        { "garbage", s_garbage, 30 },
        { "off_by_default", s_off_by_default, 20 },
        { "curve", s_curve, 30 },
        { "zmxd", s_zmxd, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
