/*  =========================================================================
    bench_federation - request-reply over two federation hops against the
    same requests sent straight to the worker's broker, in one run

    Three zmxd processes in a line, A - B - C, each listing its neighbours
    as peers. One echo worker (a zmx_worker with credit, in a thread of
    this process) serves "bench.echo" on C. Two systems answer the same
    16-byte and 4096-byte requests:

      direct    zmx_client -> C -> worker
      2 hops    zmx_client -> A -> B -> C -> worker (and back the same way)

    For each: a synchronous round trip (median latency) and pipelined
    throughput with 1 and 100 requests in flight. Systems are interleaved
    per run (--runs, default 3) and the table shows the medians and the
    ratio 2 hops / direct.

    Child processes get PR_SET_PDEATHSIG, so they die with this process.
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/types.h>

#define S_MAX_RUNS          21
#define S_WORKER_CREDIT     200
#define S_REPLY_TIMEOUT_MS  3000
#define S_START_TIMEOUT_MS  15000
#define S_SERVICE           "bench.echo"
#define S_NODES             3

enum { S_DIRECT, S_HOPS, S_SYSTEMS };
static const char *s_system_names [S_SYSTEMS] = { "direct", "2 hops" };

enum { S_ROW_P50, S_ROW_W1, S_ROW_W100, S_ROWS };
static const char *s_row_names [S_ROWS] = { "rtt p50 (us)", "w=1 (req/s)", "w=100 (req/s)" };
static const int s_windows [S_ROWS] = { 0, 1, 100 };

static const size_t s_sizes [] = { 16, 4096 };
#define S_SIZES (sizeof (s_sizes) / sizeof (s_sizes [0]))

typedef struct {
    int runs;
    int64_t point_us;           //  time bound of one measured point
    int64_t warm_us;            //  warm-up before it
} s_options_t;

typedef struct {
    s_options_t opt;
    char dir [64];              //  configs and logs of the children
    char zmxd [1024];           //  path of zmxd next to this program
    pid_t pids [S_NODES];       //  A, B, C
    int ports [S_NODES];
    zmx_worker_t *worker;
    pthread_t worker_thread;
    bool worker_started;
    atomic_bool stop;
    double results [S_SYSTEMS][S_SIZES][S_ROWS][S_MAX_RUNS];
} s_bench_t;

static void
s_endpoint (s_bench_t *self, int node, char *buffer, size_t size)
{
    snprintf (buffer, size, "tcp://127.0.0.1:%d", self->ports [node]);
}

//  Write node `node`'s config (peers: its neighbours in the line) and
//  start it. Returns 0 or -1.
static int
s_node_start (s_bench_t *self, int node)
{
    char self_endpoint [64], left [64] = "", right [64] = "";
    s_endpoint (self, node, self_endpoint, sizeof self_endpoint);
    if (node > 0)
        s_endpoint (self, node - 1, left, sizeof left);
    if (node < S_NODES - 1)
        s_endpoint (self, node + 1, right, sizeof right);
    char config [128], log [128];
    snprintf (config, sizeof config, "%s/node%d.cfg", self->dir, node);
    snprintf (log, sizeof log, "%s/node%d.log", self->dir, node);
    FILE *file = fopen (config, "w");
    if (!file)
        return -1;
    fprintf (file, "zmxd\n    log-level = warning\nbroker\n    endpoint = \"%s\"\n"
             "    peers = \"%s%s%s\"\n    federation-interval = 200\n",
             self_endpoint, left, *left && *right? ",": "", right);
    fclose (file);
    char *argv [] = { self->zmxd, "-c", config, NULL };
    self->pids [node] = bench_spawn (argv, log);
    return self->pids [node] > 0? 0: -1;
}

static void *
s_echo (void *arg)
{
    s_bench_t *self = (s_bench_t *) arg;
    while (!atomic_load (&self->stop)) {
        zframe_t *reply_to = NULL;
        zmsg_t *request = zmx_worker_recv (self->worker, 100, &reply_to);
        if (request)
            zmx_worker_send (self->worker, &request, &reply_to);
        else
        if (zmx_worker_error (self->worker) == ZMX_ETERM)
            break;
    }
    return NULL;
}

//  Synchronous round trip; 0 or -1.
static int
s_request (zmx_client_t *client, const byte *body, size_t size)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addmem (request, body, size);
    zmsg_t *reply = zmx_client_request (client, S_SERVICE, &request);
    int rc = reply && zmsg_content_size (reply) == size? 0: -1;
    zmsg_destroy (&reply);
    return rc;
}

//  Median round trip in microseconds, or -1.
static double
s_measure_rtt (s_bench_t *self, zmx_client_t *client, const byte *body, size_t size)
{
    int64_t deadline = bench_now_us () + self->opt.warm_us;
    while (bench_now_us () < deadline)
        if (s_request (client, body, size))
            return -1;
    static double samples [200000];
    int count = 0;
    deadline = bench_now_us () + self->opt.point_us;
    while (count < 200000 && bench_now_us () < deadline) {
        int64_t start = bench_now_us ();
        if (s_request (client, body, size))
            return -1;
        samples [count++] = (double) (bench_now_us () - start);
    }
    return count? bench_median (samples, count): -1;
}

static int
s_send (zmx_client_t *client, const byte *body, size_t size)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addmem (request, body, size);
    return zmx_client_send (client, S_SERVICE, &request) == ZMX_OK? 0: -1;
}

static int
s_recv (zmx_client_t *client, size_t size)
{
    zmsg_t *reply = zmx_client_recv (client, S_REPLY_TIMEOUT_MS, NULL);
    int rc = reply && zmsg_content_size (reply) == size? 0: -1;
    zmsg_destroy (&reply);
    return rc;
}

//  Keep `window` requests in flight for `duration_us`; requests/s or -1.
static double
s_window_pass (zmx_client_t *client, const byte *body, size_t size, int window,
               int64_t duration_us)
{
    int64_t start = bench_now_us (), deadline = start + duration_us;
    int64_t sent = 0, done = 0;
    while (sent < window)
        if (s_send (client, body, size) == 0)
            sent++;
        else
            return -1;
    while (done < sent) {
        if (s_recv (client, size))
            return -1;
        done++;
        if (bench_now_us () < deadline) {
            if (s_send (client, body, size))
                return -1;
            sent++;
        }
    }
    int64_t elapsed = bench_now_us () - start;
    return done * 1e6 / (elapsed > 0? elapsed: 1);
}

//  One system (the broker at `node`), all sizes and rows, for run `run`.
static int
s_measure_system (s_bench_t *self, int system, int node, int run)
{
    char endpoint [64];
    s_endpoint (self, node, endpoint, sizeof endpoint);
    zmx_client_t *sync_client = zmx_client_new (endpoint);
    zmx_client_t *async_client = zmx_client_new (endpoint);
    if (!sync_client || !async_client)
        return -1;
    zmx_client_set_timeout (sync_client, S_REPLY_TIMEOUT_MS);
    zmx_client_set_retries (sync_client, 0);
    static byte body [4096];
    int rc = 0;
    for (size_t size = 0; size < S_SIZES && rc == 0; size++) {
        double *row = &self->results [system][size][0][0];
        double value = s_measure_rtt (self, sync_client, body, s_sizes [size]);
        row [S_ROW_P50 * S_MAX_RUNS + run] = value;
        for (int index = S_ROW_W1; index < S_ROWS && value >= 0; index++) {
            s_window_pass (async_client, body, s_sizes [size], s_windows [index],
                           self->opt.warm_us);
            value = s_window_pass (async_client, body, s_sizes [size], s_windows [index],
                                   self->opt.point_us);
            row [index * S_MAX_RUNS + run] = value;
        }
        rc = value < 0? -1: 0;
    }
    zmx_client_destroy (&sync_client);
    zmx_client_destroy (&async_client);
    return rc;
}

static void
s_print_table (s_bench_t *self)
{
    printf ("\nbench_federation: echo through zmxd, worker on C; medians of %d run(s)\n",
            self->opt.runs);
    for (size_t size = 0; size < S_SIZES; size++) {
        printf ("\n%zu-byte body     %12s %12s %8s\n", s_sizes [size],
                s_system_names [S_DIRECT], s_system_names [S_HOPS], "ratio");
        for (int row = 0; row < S_ROWS; row++) {
            double median [S_SYSTEMS];
            for (int system = 0; system < S_SYSTEMS; system++)
                median [system] = bench_median (self->results [system][size][row], self->opt.runs);
            printf ("%-16s %12.0f %12.0f %8.2f\n", s_row_names [row], median [S_DIRECT],
                    median [S_HOPS], median [S_DIRECT] > 0? median [S_HOPS] / median [S_DIRECT]
                                                          : 0.0);
        }
    }
}

//  Start the line and the worker; wait until A can reach it.
static int
s_setup (s_bench_t *self, const char *argv0)
{
    const char *slash = strrchr (argv0, '/');
    snprintf (self->zmxd, sizeof self->zmxd, "%.*szmxd", slash? (int) (slash - argv0 + 1): 0,
              argv0);
    snprintf (self->dir, sizeof self->dir, "/tmp/bench_federation.XXXXXX");
    if (!mkdtemp (self->dir))
        return -1;
    for (int node = 0; node < S_NODES; node++)
        if ((self->ports [node] = bench_free_port ()) < 0)
            return -1;
    for (int node = 0; node < S_NODES; node++)
        if (s_node_start (self, node))
            return -1;
    char endpoint [64];
    s_endpoint (self, S_NODES - 1, endpoint, sizeof endpoint);
    self->worker = zmx_worker_new (endpoint, S_SERVICE);
    if (!self->worker)
        return -1;
    zmx_worker_set_credit (self->worker, S_WORKER_CREDIT);
    atomic_init (&self->stop, false);
    self->worker_started = pthread_create (&self->worker_thread, NULL, s_echo, self) == 0;
    s_endpoint (self, 0, endpoint, sizeof endpoint);
    zmx_client_t *probe = zmx_client_new (endpoint);
    zmx_client_set_timeout (probe, 300);
    zmx_client_set_retries (probe, 0);
    int64_t deadline = bench_now_us () + (int64_t) S_START_TIMEOUT_MS * 1000;
    int rc = -1;
    while (rc && bench_now_us () < deadline)
        rc = s_request (probe, (const byte *) "probe", 5);
    zmx_client_destroy (&probe);
    if (rc)
        fprintf (stderr, "bench_federation: no reply over the federation (logs in %s)\n",
                 self->dir);
    return rc;
}

static void
s_teardown (s_bench_t *self)
{
    atomic_store (&self->stop, true);
    if (self->worker_started)
        pthread_join (self->worker_thread, NULL);
    zmx_worker_destroy (&self->worker);
    for (int node = 0; node < S_NODES; node++)
        bench_stop (&self->pids [node]);
    char command [160];
    snprintf (command, sizeof command, "rm -rf '%s'", self->dir);
    if (*self->dir && system (command) != 0)
        fprintf (stderr, "bench_federation: could not remove %s\n", self->dir);
}

int
main (int argc, char *argv [])
{
    static s_bench_t bench;
    bench.opt.runs = 3;
    bench.opt.point_us = 1000000;
    bench.opt.warm_us = 200000;
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--quick")) {
            bench.opt.runs = 1;
            bench.opt.point_us = 300000;
            bench.opt.warm_us = 50000;
        }
        else
        if (streq (argv [index], "--runs") && index + 1 < argc)
            bench.opt.runs = atoi (argv [++index]);
        else {
            fprintf (stderr, "usage: bench_federation [--quick] [--runs N (1..%d)]\n",
                     S_MAX_RUNS);
            return 2;
        }
    }
    if (bench.opt.runs < 1 || bench.opt.runs > S_MAX_RUNS) {
        fprintf (stderr, "bench_federation: --runs must be 1..%d\n", S_MAX_RUNS);
        return 2;
    }
    zmx_log_set_level (ZMX_LOG_WARNING);
    int rc = s_setup (&bench, argv [0]);
    for (int run = 0; run < bench.opt.runs && rc == 0; run++)
        rc = s_measure_system (&bench, S_DIRECT, S_NODES - 1, run)
          || s_measure_system (&bench, S_HOPS, 0, run);
    if (rc == 0)
        s_print_table (&bench);
    else
        fprintf (stderr, "bench_federation: a point failed (logs in %s)\n", bench.dir);
    s_teardown (&bench);
    return rc? 1: 0;
}
