/*  =========================================================================
    bench_clone - the clone service (12/CHP): update rate through the
    server against raw PUB/SUB in the same run, snapshot time and server
    memory for 1 M keys

    Points, each run --runs times (median shown):
      raw pub/sub   one PUB sends N five-frame CHP-sized messages over
                    loopback TCP straight to one SUB. The floor: one hop,
                    no server.
      clone mem     zmx_clone writer -> zmxd clone service (in memory) ->
                    zmx_clone subscriber: time from the first send until
                    the subscriber has applied all N updates. Two hops.
      clone fsync   the same with data-directory and fsync = always (group
                    commit: one fsync per batch of updates).
    Then, with the in-memory server: load 1 M distinct keys (32-byte
    values), read the server's RSS (VmRSS of zmxd), and time a full
    snapshot taken by a new zmx_clone (new -> synced).

    zmxd runs in its own process (PR_SET_PDEATHSIG), started from the
    directory of this program, on free loopback ports; its data directory
    lives under /tmp and is removed at the end.

        bench_clone [--quick] [--runs N] [--updates N] [--keys N]
    =========================================================================
*/
#include "zmx_classes.h"
#include "bench_util.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_RUNS 9

typedef struct {
    int runs;
    int updates;                //  Per rate point
    int keys;                   //  For the snapshot point
    char *dir;                  //  Private directory
    char *zmxd;                 //  Path of zmxd
    int failures;
} s_bench_t;

typedef struct {
    pid_t pid;
    char endpoints [3][64];
} s_server_t;

//  Start zmxd with one clone section; data "" for memory only.
static int
s_server_start (s_bench_t *bench, s_server_t *server, bool persistent)
{
    int ports [3] = { bench_free_port (), bench_free_port (), bench_free_port () };
    for (int index = 0; index < 3; index++)
        snprintf (server->endpoints [index], sizeof server->endpoints [index],
                  "tcp://127.0.0.1:%d", ports [index]);
    char *data = zsys_sprintf ("%s/data-%d", bench->dir, ports [0]);
    char *path = zsys_sprintf ("%s/zmxd-%d.cfg", bench->dir, ports [0]);
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    fprintf (file, "clone\n    endpoint = \"%s\"\n    publisher-endpoint = \"%s\"\n"
             "    collector-endpoint = \"%s\"\n    data-directory = \"%s\"\n"
             "    fsync = \"always\"\n    max-keys = 2000000\n    publish-hwm = 2000000\n",
             server->endpoints [0], server->endpoints [1], server->endpoints [2],
             persistent? data: "");
    fclose (file);
    pid_t parent = getpid ();
    fflush (stdout);
    server->pid = fork ();
    if (server->pid == 0) {
        if (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent)
            _exit (1);
        if (!freopen ("/dev/null", "w", stdout))
            _exit (1);
        execl (bench->zmxd, bench->zmxd, "-c", path, "-q", (char *) NULL);
        _exit (127);
    }
    zstr_free (&data);
    zstr_free (&path);
    //  Ready once a client gets a snapshot
    int64_t until = zclock_mono () + 10000;
    bool up = false;
    while (!up && zclock_mono () < until) {
        zmx_clone_t *clone = zmx_clone_new ("");
        zmx_clone_add_server_endpoints (clone, server->endpoints [0], server->endpoints [1],
                                        server->endpoints [2]);
        up = zmx_clone_wait_synced (clone, 1000) == ZMX_OK;
        zmx_clone_destroy (&clone);
    }
    return up? 0: -1;
}

static void
s_server_stop (s_server_t *server)
{
    bench_stop (&server->pid);
}

static double
s_rss_mib (pid_t pid)
{
    long kib = bench_rss_kib (pid);
    return kib < 0? -1: kib / 1024.0;
}

static zmx_clone_t *
s_client (s_server_t *server)
{
    zmx_clone_t *clone = zmx_clone_new ("");
    zmx_clone_set_timeouts (clone, 30000, 60000);
    zmx_clone_add_server_endpoints (clone, server->endpoints [0], server->endpoints [1],
                                    server->endpoints [2]);
    return clone;
}

static uint64_t
s_sequence (zmx_clone_t *clone)
{
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    return stats.sequence;
}

//  Updates/s from a writer through the server to a subscriber; -1 on
//  failure. `distinct` keys are written round-robin.
static double
s_clone_rate (s_bench_t *bench, s_server_t *server, int count, int distinct)
{
    zmx_clone_t *writer = s_client (server), *reader = s_client (server);
    if (zmx_clone_wait_synced (writer, 10000) || zmx_clone_wait_synced (reader, 10000))
        return -1;
    uint64_t base = s_sequence (reader);
    char value [32];
    memset (value, 'v', sizeof value);
    int64_t start = zclock_usecs ();
    for (int index = 0; index < count; index++) {
        char key [32];
        snprintf (key, sizeof key, "/bench/%d", index % distinct);
        zmx_clone_send (writer, key, value, sizeof value, 0);
    }
    int64_t until = zclock_mono () + 120000;
    while (s_sequence (reader) < base + (uint64_t) count && zclock_mono () < until)
        zclock_sleep (1);
    int64_t elapsed = zclock_usecs () - start;
    size_t failed = 0;
    bool ok = s_sequence (reader) == base + (uint64_t) count
           && zmx_clone_flush (writer, 10000, &failed) == ZMX_OK;
    zmx_clone_destroy (&reader);
    zmx_clone_destroy (&writer);
    if (!ok)
        bench->failures++;
    return ok? count / (elapsed / 1e6): -1;
}

//  The floor: the same messages, one PUB to one SUB over loopback TCP.
static double
s_raw_rate (int count)
{
    zsock_t *pub = zsock_new (ZMQ_PUB), *sub = zsock_new (ZMQ_SUB);
    zsock_set_sndhwm (pub, 0);
    zsock_set_rcvhwm (sub, 0);
    int port = zsock_bind (pub, "tcp://127.0.0.1:*");
    zsock_set_subscribe (sub, "");
    zsock_connect (sub, "tcp://127.0.0.1:%d", port);
    //  Until the subscription is in, a PUB drops: prime with markers
    zmx_chp_view_t view = { .command = ZMX_CHP_HUGZ };
    while (true) {
        zmx_chp_send (zsock_resolve (pub), NULL, &view, 0);
        zmx_chp_msg_t msg;
        zsock_set_rcvtimeo (sub, 10);
        if (zmx_chp_recv (&msg, zsock_resolve (sub), 0) == 0) {
            zmx_chp_msg_close (&msg);
            break;
        }
    }
    zsock_set_rcvtimeo (sub, 5000);
    while (zsock_events (sub) & ZMQ_POLLIN) {
        zmx_chp_msg_t msg;
        if (zmx_chp_recv (&msg, zsock_resolve (sub), ZMQ_DONTWAIT) == 0)
            zmx_chp_msg_close (&msg);
    }
    char value [32], key [32];
    memset (value, 'v', sizeof value);
    byte uuid [16] = { 0 };
    int64_t start = zclock_usecs ();
    for (int index = 0; index < count; index++) {
        snprintf (key, sizeof key, "/bench/%d", index % 10000);
        zmx_chp_view_t kvpub = { .command = ZMX_CHP_KVPUB, .key = key, .key_size = strlen (key),
                                 .sequence = (uint64_t) index + 1, .uuid = uuid,
                                 .value = (const byte *) value, .value_size = sizeof value };
        zmx_chp_send (zsock_resolve (pub), NULL, &kvpub, 0);
    }
    int received = 0;
    zmx_chp_msg_t msg;
    while (received < count && zmx_chp_recv (&msg, zsock_resolve (sub), 0) == 0) {
        zmx_chp_msg_close (&msg);
        received++;
    }
    int64_t elapsed = zclock_usecs () - start;
    zsock_destroy (&sub);
    zsock_destroy (&pub);
    return received == count? count / (elapsed / 1e6): -1;
}

//  Load `keys` distinct keys, then measure RSS and the snapshot time.
static void
s_snapshot_point (s_bench_t *bench, double *load_rate, double *rss_idle, double *rss,
                  double *snapshot_ms)
{
    s_server_t server;
    if (s_server_start (bench, &server, false)) {
        bench->failures++;
        return;
    }
    zclock_sleep (200);
    *rss_idle = s_rss_mib (server.pid);
    *load_rate = s_clone_rate (bench, &server, bench->keys, bench->keys);
    *rss = s_rss_mib (server.pid);
    int64_t start = zclock_usecs ();
    zmx_clone_t *clone = s_client (&server);
    bool ok = zmx_clone_wait_synced (clone, 120000) == ZMX_OK;
    *snapshot_ms = (zclock_usecs () - start) / 1000.0;
    zmx_clone_stats_t stats;
    zmx_clone_stats (clone, &stats);
    if (!ok || stats.keys != (uint64_t) bench->keys) {
        fprintf (stderr, "snapshot: %s, %" PRIu64 " keys\n", ok? "synced": "timeout", stats.keys);
        bench->failures++;
    }
    zmx_clone_destroy (&clone);
    s_server_stop (&server);
}

static int
s_parse (s_bench_t *bench, int argc, char *argv [])
{
    bench->runs = 3;
    bench->updates = 200000;
    bench->keys = 1000000;
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--quick")) {
            bench->runs = 1;
            bench->updates = 50000;
            bench->keys = 100000;
        }
        else
        if (streq (argv [index], "--runs") && index + 1 < argc)
            bench->runs = atoi (argv [++index]);
        else
        if (streq (argv [index], "--updates") && index + 1 < argc)
            bench->updates = atoi (argv [++index]);
        else
        if (streq (argv [index], "--keys") && index + 1 < argc)
            bench->keys = atoi (argv [++index]);
        else {
            fprintf (stderr, "usage: bench_clone [--quick] [--runs N] [--updates N] "
                             "[--keys N]\n");
            return -1;
        }
    }
    if (bench->runs < 1 || bench->runs > S_MAX_RUNS || bench->updates < 1 || bench->keys < 1)
        return -1;
    return 0;
}

int
main (int argc, char *argv [])
{
    s_bench_t bench = { 0 };
    if (s_parse (&bench, argc, argv))
        return 2;
    zmx_log_set_level (ZMX_LOG_ERROR);
    char exe [4096];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0)
        return 1;
    exe [length] = 0;
    *strrchr (exe, '/') = 0;
    bench.zmxd = zsys_sprintf ("%s/zmxd", exe);
    char template [] = "/tmp/zmx-bench-clone-XXXXXX";
    bench.dir = strdup (mkdtemp (template));

    double raw [S_MAX_RUNS], memory [S_MAX_RUNS], durable [S_MAX_RUNS];
    for (int run = 0; run < bench.runs; run++) {
        raw [run] = s_raw_rate (bench.updates);
        s_server_t server;
        memory [run] = durable [run] = -1;
        if (s_server_start (&bench, &server, false) == 0) {
            memory [run] = s_clone_rate (&bench, &server, bench.updates, 10000);
            s_server_stop (&server);
        }
        if (s_server_start (&bench, &server, true) == 0) {
            durable [run] = s_clone_rate (&bench, &server, bench.updates, 10000);
            s_server_stop (&server);
        }
    }
    double raw_rate = bench_median (raw, bench.runs), memory_rate = bench_median (memory, bench.runs);
    double durable_rate = bench_median (durable, bench.runs);
    printf ("%d updates of 32 bytes over 10000 keys, median of %d runs\n", bench.updates,
            bench.runs);
    printf ("| path | updates/s | vs raw pub/sub |\n|---|---:|---:|\n");
    printf ("| raw pub/sub (1 hop) | %.0f | 1.00 |\n", raw_rate);
    printf ("| clone, in memory (2 hops) | %.0f | %.2f |\n", memory_rate, memory_rate / raw_rate);
    printf ("| clone, fsync = always | %.0f | %.2f |\n", durable_rate, durable_rate / raw_rate);

    double load = -1, idle = -1, rss = -1, snapshot = -1;
    s_snapshot_point (&bench, &load, &idle, &rss, &snapshot);
    printf ("\n%d keys (32-byte values)\n", bench.keys);
    printf ("| measure | value |\n|---|---:|\n");
    printf ("| load rate (distinct keys) | %.0f updates/s |\n", load);
    printf ("| server RSS, empty | %.1f MiB |\n", idle);
    printf ("| server RSS, loaded | %.1f MiB |\n", rss);
    printf ("| full snapshot to a new client | %.0f ms |\n", snapshot);

    char *command = zsys_sprintf ("rm -rf '%s'", bench.dir);
    if (system (command) != 0)
        fprintf (stderr, "could not remove %s\n", bench.dir);
    zstr_free (&command);
    free (bench.dir);
    zstr_free (&bench.zmxd);
    return bench.failures? 1: 0;
}
