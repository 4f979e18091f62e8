/*  =========================================================================
    bench_broker - request-reply through the zmx broker, against direct
    libzmq and against NATS, on this machine, in one run

    Six systems answer the same echo requests (reply = request body):

      raw       libzmq DEALER -> ROUTER echo thread, no broker: the floor
      zmx(1w)   zmx_client -> zmxd (separate process) -> 1 zmx_worker,
                client and worker speaking zmx packed MDP
      zmx(4w)   the same with 4 workers (credit workers, one thread each)
      mdp(1w)   as zmx(1w) in RFC framing: a 7/MDP client, an 18/MDP
                worker (what any Majordomo peer would speak)
      nats(1w)  cnats client -> nats-server -> 1 responder connection
      nats(4w)  the same with 4 responders in one queue group

    For bodies of 16 and 4096 bytes each system is measured in four
    shapes: a synchronous round trip (median and p99 latency), and
    pipelined throughput with a window of 1, 100 and 1000 requests in
    flight (a new request goes out for each reply that comes back). Every
    point is bounded by a request count and by time. The whole set is run
    --runs times (systems interleaved, so that drift on a shared machine
    hits all of them alike) and the table shows the median of the runs.

    NATS runs twice per run, with cnats' buffered defaults and with
    SendAsap, and keeps the better figure per point (see the nats section).

    Finally a fresh zmxd is filled with 100,000 16-byte requests for a
    service that has no worker, and its peak RSS (VmHWM) is reported.

    Child processes (zmxd, nats-server) die with this process on every
    path: they are stopped on the normal and error paths, and they get
    PR_SET_PDEATHSIG so a crash or SIGKILL of the bench takes them along.
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <zmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>               //  NAN and isnan only: no libm
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
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#ifdef ZMX_HAVE_NATS
#include <nats/nats.h>
#endif

#define S_MAX_RUNS          99
#define S_MAX_WORKERS       4
#define S_MAX_WINDOW        1000
#define S_MAX_BODY          4096
#define S_REPLY_TIMEOUT_MS  2000    //  a reply later than this fails the point
#define S_START_TIMEOUT_MS  10000   //  for a server process or workers to come up
#define S_STOP_GRACE_MS     3000    //  SIGTERM, then SIGKILL after this
#define S_MEMORY_REQUESTS   100000
#define S_MEMORY_BODY       16
#define S_MEMORY_TIMEOUT_MS 30000

//  Columns of the table
typedef enum {
    S_RAW, S_ZMX1, S_ZMX4, S_MDP1, S_NATS1, S_NATS4, S_SYSTEMS
} s_system_t;

static const char *s_system_names [S_SYSTEMS] = {
    "raw", "zmx(1w)", "zmx(4w)", "mdp(1w)", "nats(1w)", "nats(4w)"
};

//  Rows of the table, per body size
typedef enum {
    S_ROW_P50, S_ROW_P99, S_ROW_W1, S_ROW_W100, S_ROW_W1000, S_ROWS
} s_row_t;

static const char *s_row_names [S_ROWS] = {
    "rtt p50 (us)", "rtt p99 (us)", "w=1 (req/s)", "w=100 (req/s)", "w=1000 (req/s)"
};

static const int s_windows [] = { 1, 100, 1000 };    //  rows S_ROW_W1..W1000
#define S_WINDOWS (sizeof (s_windows) / sizeof (s_windows [0]))

static const size_t s_sizes [] = { 16, 4096 };
#define S_SIZES (sizeof (s_sizes) / sizeof (s_sizes [0]))

typedef struct {
    int runs;                   //  repetitions; the table shows medians
    bool quick;                 //  smoke run: 1 run, short points
    int64_t point_us;           //  time bound of one measured point
    int64_t warm_us;            //  time bound of the warm-up before it
    int rtt_count;              //  round trips per latency point, at most
    int64_t window_count;       //  requests per throughput point, at most
    bool want_raw, want_zmx, want_mdp, want_nats;
    bool want_memory;
} s_options_t;

//  One run of one system: [size][row]
typedef double s_sample_t [S_SIZES][S_ROWS];

typedef struct {
    s_options_t opt;
    //  results [system][size][row][run]; NAN = not measured or failed
    double results [S_SYSTEMS][S_SIZES][S_ROWS][S_MAX_RUNS];
    char *tmpdir_path;          //  config and log files of the children
    char *zmxd_path;            //  <directory of this program>/zmxd
    pid_t zmxd_pid;             //  the broker under test, or 0
    char zmxd_endpoint [64];
    pid_t nats_pid;             //  nats-server, or 0
    char nats_url [64];
    int failures;               //  points that did not complete
} s_bench_t;

//  The operations every system offers the measuring loops. `send` queues
//  one request, `request` does a synchronous round trip: 0 or -1. `recv`
//  waits for one reply: 0, 1 if it came but is not the expected size, -1
//  if none came.
typedef struct {
    int (*send) (void *handle, const byte *body, size_t size);
    int (*recv) (void *handle, size_t size, int timeout_ms);
    int (*request) (void *handle, const byte *body, size_t size, int timeout_ms);
    void (*destroy) (void **handle_p);
} s_driver_t;

//  Median of the values that are not NAN; NAN if there are none. Sorts
//  a copy.
static double
s_median (const double *values, int count)
{
    double kept [S_MAX_RUNS];
    int used = 0;
    for (int index = 0; index < count; index++)
        if (!isnan (values [index]))
            kept [used++] = values [index];
    return used? bench_median (kept, used): NAN;
}

//  -------------------------------------------------------------------------
//  Child processes and ports

static bool
s_port_accepts (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool accepted = connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
    close (fd);
    return accepted;
}

//  SIGTERM, wait up to S_STOP_GRACE_MS, then SIGKILL; reaps the child and
//  zeroes *pid_p. Returns the child's exit status as waitpid gave it.
static int
s_stop (pid_t *pid_p)
{
    int status = 0;
    if (*pid_p <= 0)
        return status;
    kill (*pid_p, SIGTERM);
    int64_t deadline = bench_now_us () + S_STOP_GRACE_MS * 1000;
    pid_t reaped = 0;
    while ((reaped = waitpid (*pid_p, &status, WNOHANG)) == 0 && bench_now_us () < deadline)
        zclock_sleep (10);
    if (reaped == 0) {
        kill (*pid_p, SIGKILL);
        waitpid (*pid_p, &status, 0);
    }
    *pid_p = 0;
    return status;
}

//  Wait until pid accepts connections on port. False if it exited or the
//  timeout passed first.
static bool
s_wait_ready (pid_t pid, int port, int timeout_ms)
{
    int64_t deadline = bench_now_us () + (int64_t) timeout_ms * 1000;
    while (bench_now_us () < deadline && !zsys_interrupted) {
        if (s_port_accepts (port))
            return true;
        if (waitpid (pid, NULL, WNOHANG) == pid)
            return false;
        zclock_sleep (10);
    }
    return false;
}

//  Start a zmxd that runs only a broker on a free loopback port; fills
//  endpoint. `name` names its config and log files. Returns the pid or -1.
static pid_t
s_zmxd_start (s_bench_t *self, const char *name, char *endpoint, size_t endpoint_size)
{
    int port = bench_free_port ();
    if (port < 0)
        return -1;
    char *config_path = zsys_sprintf ("%s/%s.cfg", self->tmpdir_path, name);
    char *log_path = zsys_sprintf ("%s/%s.log", self->tmpdir_path, name);
    FILE *file = fopen (config_path, "w");
    pid_t pid = -1;
    if (file) {
        fprintf (file, "zmxd\n    log-level = warning\n"
                       "broker\n    endpoint = \"tcp://127.0.0.1:%d\"\n", port);
        fclose (file);
        char *argv [] = { self->zmxd_path, "-c", config_path, NULL };
        pid = bench_spawn (argv, log_path);
    }
    if (pid > 0 && !s_wait_ready (pid, port, S_START_TIMEOUT_MS)) {
        fprintf (stderr, "bench: %s did not start listening on port %d\n",
                 self->zmxd_path, port);
        s_stop (&pid);
        bench_print_log (log_path, 0);
        pid = -1;
    }
    snprintf (endpoint, endpoint_size, "tcp://127.0.0.1:%d", port);
    zstr_free (&config_path);
    zstr_free (&log_path);
    return pid;
}

//  -------------------------------------------------------------------------
//  Measuring loops, common to all systems

//  Synchronous round trips until rtt_count or point_us, after a warm-up.
//  Sets the median and the 99th percentile in microseconds.
static int
s_measure_rtt (const s_options_t *opt, const s_driver_t *driver, void *handle,
               const byte *body, size_t size, double *p50_p, double *p99_p)
{
    int64_t deadline = bench_now_us () + opt->warm_us;
    while (bench_now_us () < deadline && !zsys_interrupted)
        if (driver->request (handle, body, size, S_REPLY_TIMEOUT_MS))
            return -1;
    double *samples = (double *) malloc (opt->rtt_count * sizeof (double));
    assert (samples);
    int count = 0;
    int rc = 0;
    deadline = bench_now_us () + opt->point_us;
    while (count < opt->rtt_count && !zsys_interrupted) {
        int64_t start = bench_now_ns ();
        if (driver->request (handle, body, size, S_REPLY_TIMEOUT_MS)) {
            rc = -1;
            break;
        }
        int64_t end = bench_now_ns ();
        samples [count++] = (end - start) / 1000.0;
        if (end / 1000 >= deadline)
            break;
    }
    if (rc == 0 && count > 0) {
        qsort (samples, count, sizeof (double), bench_compare_doubles);
        *p50_p = samples [count / 2];
        *p99_p = samples [(count * 99 + 99) / 100 - 1];     //  ceil (0.99 n) - 1
    }
    else
        rc = -1;
    free (samples);
    return zsys_interrupted? -1: rc;
}

//  Keep `window` requests in flight until max_count were sent or
//  duration_us passed, then collect the rest. Returns replies per second,
//  or -1 if a reply did not come.
static double
s_window_pass (const s_driver_t *driver, void *handle, const byte *body, size_t size,
               int window, int64_t max_count, int64_t duration_us)
{
    int64_t start = bench_now_us ();
    int64_t deadline = start + duration_us;
    int64_t sent = 0, done = 0;
    while (sent < window && sent < max_count) {
        if (driver->send (handle, body, size))
            return -1;
        sent++;
    }
    bool sending = true;
    while (done < sent) {
        if (driver->recv (handle, size, S_REPLY_TIMEOUT_MS))
            return -1;
        done++;
        if (sending && (sent >= max_count || bench_now_us () >= deadline || zsys_interrupted))
            sending = false;
        if (sending) {
            if (driver->send (handle, body, size))
                return -1;
            sent++;
        }
    }
    int64_t elapsed = bench_now_us () - start;
    return zsys_interrupted? -1: done * 1e6 / (elapsed > 0? elapsed: 1);
}

//  After a failed point, swallow late replies until 300 msec of silence,
//  so that they cannot be counted by the next point.
static void
s_drain (const s_driver_t *driver, void *handle)
{
    for (int count = 0; count <= S_MAX_WINDOW; count++)
        if (driver->recv (handle, 0, 300) < 0)
            break;
}

static double
s_measure_window (const s_options_t *opt, const s_driver_t *driver, void *handle,
                  const byte *body, size_t size, int window)
{
    double rate = s_window_pass (driver, handle, body, size, window,
                                 opt->window_count / 10, opt->warm_us);
    if (rate >= 0)
        rate = s_window_pass (driver, handle, body, size, window, opt->window_count,
                              opt->point_us);
    if (rate < 0)
        s_drain (driver, handle);
    return rate;
}

//  Every shape and size for one system in one run, into `sample`; NAN
//  where a point failed. `label` names the system in error messages.
static void
s_measure_system (s_bench_t *self, const char *label, const s_driver_t *driver,
                  void *handle, s_sample_t sample)
{
    byte body [S_MAX_BODY];
    for (size_t index = 0; index < sizeof body; index++)
        body [index] = (byte) ('a' + index % 26);

    for (size_t size_index = 0; size_index < S_SIZES; size_index++) {
        size_t size = s_sizes [size_index];
        double *cell = sample [size_index];
        if (s_measure_rtt (&self->opt, driver, handle, body, size,
                           &cell [S_ROW_P50], &cell [S_ROW_P99])) {
            fprintf (stderr, "bench: %s, %zu B: round trip failed\n", label, size);
            s_drain (driver, handle);
            self->failures++;
        }
        for (size_t shape = 0; shape < S_WINDOWS && !zsys_interrupted; shape++) {
            double rate = s_measure_window (&self->opt, driver, handle, body, size,
                                            s_windows [shape]);
            if (rate >= 0)
                cell [S_ROW_W1 + shape] = rate;
            else {
                fprintf (stderr, "bench: %s, %zu B, window %d: a reply did not come\n",
                         label, size, s_windows [shape]);
                self->failures++;
            }
        }
    }
}

static void
s_sample_clear (s_sample_t sample)
{
    for (size_t size_index = 0; size_index < S_SIZES; size_index++)
        for (int row = 0; row < S_ROWS; row++)
            sample [size_index][row] = NAN;
}

//  Keep the better of two profiles per point: the lower median round trip
//  (with its own p99), the higher throughput.
static void
s_sample_merge (s_sample_t best, s_sample_t sample)
{
    for (size_t size_index = 0; size_index < S_SIZES; size_index++) {
        double *into = best [size_index], *from = sample [size_index];
        if (!isnan (from [S_ROW_P50])
        &&  (isnan (into [S_ROW_P50]) || from [S_ROW_P50] < into [S_ROW_P50])) {
            into [S_ROW_P50] = from [S_ROW_P50];
            into [S_ROW_P99] = from [S_ROW_P99];
        }
        for (int row = S_ROW_W1; row < S_ROWS; row++)
            if (!isnan (from [row]) && (isnan (into [row]) || from [row] > into [row]))
                into [row] = from [row];
    }
}

//  -------------------------------------------------------------------------
//  raw: libzmq DEALER to a ROUTER echo thread, each with its own context
//  (as two processes would have), plain zmq_msg_t, no broker

typedef struct {
    void *server_context;       //  The echo thread's context and socket
    void *server;
    void *client_context;
    void *client;               //  DEALER, used by the measuring thread
    pthread_t thread;
} s_raw_t;

//  Echo [identity][body] back until the context is shut down.
static void *
s_raw_echo (void *arg)
{
    s_raw_t *self = (s_raw_t *) arg;
    zmq_msg_t identity, body;
    zmq_msg_init (&identity);
    zmq_msg_init (&body);
    while (true) {
        if (zmq_msg_recv (&identity, self->server, 0) < 0) {
            if (errno == EINTR)
                continue;
            break;                      //  ETERM: the bench is done with us
        }
        if (!zmq_msg_more (&identity)
        ||  zmq_msg_recv (&body, self->server, 0) < 0)
            continue;
        zmq_msg_send (&identity, self->server, ZMQ_SNDMORE);
        zmq_msg_send (&body, self->server, 0);
    }
    zmq_msg_close (&identity);
    zmq_msg_close (&body);
    int linger = 0;
    zmq_setsockopt (self->server, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close (self->server);
    return NULL;
}

static void
s_raw_destroy (void **handle_p)
{
    s_raw_t *self = (s_raw_t *) *handle_p;
    if (!self)
        return;
    if (self->client)
        zmq_close (self->client);
    if (self->client_context)
        zmq_ctx_term (self->client_context);
    if (self->thread) {
        zmq_ctx_shutdown (self->server_context);
        pthread_join (self->thread, NULL);
    }
    else
    if (self->server)
        zmq_close (self->server);
    if (self->server_context)
        zmq_ctx_term (self->server_context);
    free (self);
    *handle_p = NULL;
}

static void *
s_raw_new (void)
{
    s_raw_t *self = (s_raw_t *) calloc (1, sizeof (s_raw_t));
    assert (self);
    char endpoint [256];
    size_t endpoint_size = sizeof endpoint;
    int linger = 0;
    //  No high-water mark: the window bounds what is in flight, and a
    //  ROUTER at its mark drops replies. Its view of the peer's reads lags,
    //  so a mark equal to the window is not enough.
    int unlimited = 0;
    self->server_context = zmq_ctx_new ();
    self->client_context = zmq_ctx_new ();
    self->server = zmq_socket (self->server_context, ZMQ_ROUTER);
    self->client = zmq_socket (self->client_context, ZMQ_DEALER);
    if (!self->server || !self->client
    ||  zmq_setsockopt (self->server, ZMQ_SNDHWM, &unlimited, sizeof unlimited)
    ||  zmq_setsockopt (self->server, ZMQ_RCVHWM, &unlimited, sizeof unlimited)
    ||  zmq_setsockopt (self->client, ZMQ_SNDHWM, &unlimited, sizeof unlimited)
    ||  zmq_setsockopt (self->client, ZMQ_RCVHWM, &unlimited, sizeof unlimited)
    ||  zmq_bind (self->server, "tcp://127.0.0.1:*")
    ||  zmq_getsockopt (self->server, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_size)
    ||  zmq_setsockopt (self->client, ZMQ_LINGER, &linger, sizeof linger)
    ||  zmq_connect (self->client, endpoint)
    ||  pthread_create (&self->thread, NULL, s_raw_echo, self)) {
        fprintf (stderr, "bench: raw echo setup failed: %s\n", zmq_strerror (errno));
        void *handle = self;
        s_raw_destroy (&handle);
        return NULL;
    }
    return self;
}

static int
s_raw_send (void *handle, const byte *body, size_t size)
{
    s_raw_t *self = (s_raw_t *) handle;
    return zmq_send (self->client, body, size, 0) == (int) size? 0: -1;
}

static int
s_raw_recv (void *handle, size_t size, int timeout_ms)
{
    s_raw_t *self = (s_raw_t *) handle;
    zmq_pollitem_t item = { self->client, 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0)
        return -1;
    zmq_msg_t reply;
    zmq_msg_init (&reply);
    int received = zmq_msg_recv (&reply, self->client, 0);
    zmq_msg_close (&reply);
    return received < 0? -1: received == (int) size? 0: 1;
}

static int
s_raw_request (void *handle, const byte *body, size_t size, int timeout_ms)
{
    if (s_raw_send (handle, body, size))
        return -1;
    return s_raw_recv (handle, size, timeout_ms) == 0? 0: -1;
}

static const s_driver_t s_raw_driver = {
    s_raw_send, s_raw_recv, s_raw_request, s_raw_destroy
};

//  -------------------------------------------------------------------------
//  zmx: zmx_client -> zmxd -> zmx_worker threads (credit workers)

typedef struct {
    zmx_worker_t *worker;
    atomic_bool *stop;
    pthread_t thread;
    bool started;
} s_zmx_slot_t;

typedef struct {
    zmx_client_t *sync_client;  //  zmx_client_request only
    zmx_client_t *async_client; //  zmx_client_send/recv only
    char service [64];
    atomic_bool stop;           //  Tells the worker threads to finish
    int workers;
    s_zmx_slot_t slots [S_MAX_WORKERS];
} s_zmx_t;

static void *
s_zmx_echo (void *arg)
{
    s_zmx_slot_t *slot = (s_zmx_slot_t *) arg;
    //  The timeout only bounds how late the worker sees the stop flag
    while (!atomic_load (slot->stop)) {
        zframe_t *reply_to = NULL;
        zmsg_t *request = zmx_worker_recv (slot->worker, 100, &reply_to);
        if (request)
            zmx_worker_send (slot->worker, &request, &reply_to);
        else
        if (zmx_worker_error (slot->worker) == ZMX_ETERM)
            break;
    }
    return NULL;
}

//  Ask the broker's mmi.services for one service. Returns 0 and sets the
//  counts, or -1 if no answer or the service is not listed.
static int
s_mmi_service (zmx_client_t *client, const char *service, size_t *workers_p,
               size_t *queued_p)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "");
    zmsg_t *reply = zmx_client_request (client, "mmi.services", &request);
    if (!reply)
        return -1;
    int rc = -1;
    for (zframe_t *frame = zmsg_first (reply); frame; frame = zmsg_next (reply)) {
        char *line = zframe_strdup (frame);
        size_t workers, queued;
        int name_at = 0;
        if (sscanf (line, "%zu %zu %n", &workers, &queued, &name_at) == 2
        &&  name_at > 0 && streq (line + name_at, service)) {
            *workers_p = workers;
            *queued_p = queued;
            rc = 0;
        }
        free (line);
    }
    zmsg_destroy (&reply);
    return rc;
}

//  Poll mmi.services until `workers` workers serve `service`.
static int
s_zmx_wait_workers (s_zmx_t *self, size_t workers)
{
    int64_t deadline = bench_now_us () + (int64_t) S_START_TIMEOUT_MS * 1000;
    while (bench_now_us () < deadline && !zsys_interrupted) {
        size_t registered = 0, queued = 0;
        if (s_mmi_service (self->sync_client, self->service, &registered, &queued) == 0
        &&  registered >= workers)
            return 0;
        zclock_sleep (10);
    }
    fprintf (stderr, "bench: the broker did not report %zu workers for %s\n",
             workers, self->service);
    return -1;
}

static void
s_zmx_destroy (void **handle_p)
{
    s_zmx_t *self = (s_zmx_t *) *handle_p;
    if (!self)
        return;
    atomic_store (&self->stop, true);
    for (int index = 0; index < self->workers; index++) {
        if (self->slots [index].started)
            pthread_join (self->slots [index].thread, NULL);
        zmx_worker_destroy (&self->slots [index].worker);
    }
    zmx_client_destroy (&self->sync_client);
    zmx_client_destroy (&self->async_client);
    free (self);
    *handle_p = NULL;
}

//  Start `workers` echo workers for a service unique to this run, and two
//  clients; returns when the broker lists all the workers. `packed`: zmx
//  packed MDP on both sides, else RFC framing (7/MDP client, 18/MDP
//  workers).
static void *
s_zmx_new (const char *endpoint, int workers, int run, bool packed)
{
    s_zmx_t *self = (s_zmx_t *) calloc (1, sizeof (s_zmx_t));
    assert (self);
    atomic_init (&self->stop, false);
    self->workers = workers;
    snprintf (self->service, sizeof self->service, "bench.echo.%d.%d.%s", run, workers,
              packed? "packed": "mdp");
    //  Enough credit between them for the largest window
    uint32_t credit = (S_MAX_WINDOW + workers - 1) / workers;
    int rc = 0;
    for (int index = 0; index < workers && rc == 0; index++) {
        s_zmx_slot_t *slot = &self->slots [index];
        slot->worker = zmx_worker_new (endpoint, self->service);
        slot->stop = &self->stop;
        if (!slot->worker)
            rc = -1;
        else {
            zmx_worker_set_credit (slot->worker, credit);
            //  The broker is a zmx broker: packed MDP carries a request in
            //  one frame; 18/MDP saves a frame each way over 7/MDP
            zmx_worker_set_version (slot->worker, packed? ZMX_MDP_PACKED: 2);
            rc = pthread_create (&slot->thread, NULL, s_zmx_echo, slot);
            slot->started = rc == 0;
        }
    }
    self->sync_client = zmx_client_new (endpoint);
    self->async_client = zmx_client_new (endpoint);
    if (packed && self->sync_client && self->async_client) {
        zmx_client_set_version (self->sync_client, ZMX_MDP_PACKED);
        zmx_client_set_version (self->async_client, ZMX_MDP_PACKED);
    }
    if (rc || !self->sync_client || !self->async_client
    ||  s_zmx_wait_workers (self, workers)) {
        void *handle = self;
        s_zmx_destroy (&handle);
        return NULL;
    }
    return self;
}

static int
s_zmx_send (void *handle, const byte *body, size_t size)
{
    s_zmx_t *self = (s_zmx_t *) handle;
    zmsg_t *request = zmsg_new ();
    zmsg_addmem (request, body, size);
    return zmx_client_send (self->async_client, self->service, &request) == ZMX_OK? 0: -1;
}

static int
s_zmx_recv (void *handle, size_t size, int timeout_ms)
{
    s_zmx_t *self = (s_zmx_t *) handle;
    zmsg_t *reply = zmx_client_recv (self->async_client, timeout_ms, NULL);
    int rc = !reply? -1: zmsg_content_size (reply) == size? 0: 1;
    zmsg_destroy (&reply);
    return rc;
}

static int
s_zmx_request (void *handle, const byte *body, size_t size, int timeout_ms)
{
    s_zmx_t *self = (s_zmx_t *) handle;
    zmsg_t *request = zmsg_new ();
    zmsg_addmem (request, body, size);
    zmsg_t *reply = zmx_client_request (self->sync_client, self->service, &request);
    int rc = reply && zmsg_content_size (reply) == size? 0: -1;
    zmsg_destroy (&reply);
    return rc;
}

static const s_driver_t s_zmx_driver = {
    s_zmx_send, s_zmx_recv, s_zmx_request, s_zmx_destroy
};

//  -------------------------------------------------------------------------
//  nats: cnats client -> nats-server -> responder connections
//
//  cnats trades latency for throughput by default: a publish is buffered
//  and written by a flusher thread that pauses about a millisecond to
//  batch. natsOptions_SetSendAsap writes each publish at once instead
//  (what the cnats docs advise for a connection that sends replies). No
//  one setting is best for every shape, so every point is measured with
//  both profiles and the better result is kept: NATS at its best.

#ifdef ZMX_HAVE_NATS
typedef struct {
    natsConnection *client;
    natsSubscription *inbox_sub;    //  Replies to pipelined requests
    natsInbox *inbox;
    char subject [64];
    int workers;
    natsConnection *responders [S_MAX_WORKERS];
    natsSubscription *responder_subs [S_MAX_WORKERS];
} s_nats_t;

static void
s_nats_echo (natsConnection *connection, natsSubscription *sub, natsMsg *msg,
             void *closure)
{
    const char *reply = natsMsg_GetReply (msg);
    if (reply)
        natsConnection_Publish (connection, reply, natsMsg_GetData (msg),
                                natsMsg_GetDataLength (msg));
    natsMsg_Destroy (msg);
}

static void
s_nats_destroy (void **handle_p)
{
    s_nats_t *self = (s_nats_t *) *handle_p;
    if (!self)
        return;
    for (int index = 0; index < self->workers; index++) {
        natsSubscription_Destroy (self->responder_subs [index]);
        natsConnection_Destroy (self->responders [index]);
    }
    natsSubscription_Destroy (self->inbox_sub);
    natsInbox_Destroy (self->inbox);
    natsConnection_Destroy (self->client);
    free (self);
    *handle_p = NULL;
}

//  Start the responders (a queue group when there are several) and the
//  client. Flushing each responder makes sure the server has its
//  subscription before the first request.
static void *
s_nats_new (const char *url, int workers, int run, bool send_asap)
{
    s_nats_t *self = (s_nats_t *) calloc (1, sizeof (s_nats_t));
    assert (self);
    self->workers = workers;
    snprintf (self->subject, sizeof self->subject, "bench.echo.%d.%d.%d", run, workers,
              send_asap);
    natsOptions *responder_options = NULL, *client_options = NULL;
    natsStatus status = natsOptions_Create (&responder_options);
    if (status == NATS_OK)
        status = natsOptions_SetURL (responder_options, url);
    if (status == NATS_OK)
        status = natsOptions_SetSendAsap (responder_options, send_asap);
    if (status == NATS_OK)
        status = natsOptions_Create (&client_options);
    if (status == NATS_OK)
        status = natsOptions_SetURL (client_options, url);
    if (status == NATS_OK)
        status = natsOptions_SetSendAsap (client_options, send_asap);
    for (int index = 0; index < workers && status == NATS_OK; index++) {
        status = natsConnection_Connect (&self->responders [index], responder_options);
        if (status == NATS_OK)
            status = workers == 1
                ? natsConnection_Subscribe (&self->responder_subs [index],
                      self->responders [index], self->subject, s_nats_echo, NULL)
                : natsConnection_QueueSubscribe (&self->responder_subs [index],
                      self->responders [index], self->subject, "workers", s_nats_echo, NULL);
        if (status == NATS_OK)
            status = natsConnection_Flush (self->responders [index]);
    }
    if (status == NATS_OK)
        status = natsConnection_Connect (&self->client, client_options);
    natsOptions_Destroy (responder_options);
    natsOptions_Destroy (client_options);
    if (status == NATS_OK)
        status = natsInbox_Create (&self->inbox);
    if (status == NATS_OK)
        status = natsConnection_SubscribeSync (&self->inbox_sub, self->client, self->inbox);
    if (status == NATS_OK)
        status = natsConnection_Flush (self->client);
    if (status != NATS_OK) {
        fprintf (stderr, "bench: NATS setup failed: %s\n", natsStatus_GetText (status));
        void *handle = self;
        s_nats_destroy (&handle);
        return NULL;
    }
    return self;
}

static int
s_nats_send (void *handle, const byte *body, size_t size)
{
    s_nats_t *self = (s_nats_t *) handle;
    return natsConnection_PublishRequest (self->client, self->subject, self->inbox,
                                          body, (int) size) == NATS_OK? 0: -1;
}

static int
s_nats_recv (void *handle, size_t size, int timeout_ms)
{
    s_nats_t *self = (s_nats_t *) handle;
    natsMsg *reply = NULL;
    if (natsSubscription_NextMsg (&reply, self->inbox_sub, timeout_ms) != NATS_OK)
        return -1;
    int rc = natsMsg_GetDataLength (reply) == (int) size? 0: 1;
    natsMsg_Destroy (reply);
    return rc;
}

static int
s_nats_request (void *handle, const byte *body, size_t size, int timeout_ms)
{
    s_nats_t *self = (s_nats_t *) handle;
    natsMsg *reply = NULL;
    if (natsConnection_Request (&reply, self->client, self->subject, body, (int) size,
                                timeout_ms) != NATS_OK)
        return -1;
    int rc = natsMsg_GetDataLength (reply) == (int) size? 0: -1;
    natsMsg_Destroy (reply);
    return rc;
}

static const s_driver_t s_nats_driver = {
    s_nats_send, s_nats_recv, s_nats_request, s_nats_destroy
};

//  Path of nats-server: $PATH first, then /usr/sbin (Debian puts it
//  there, outside a normal user's PATH). Caller frees; NULL if absent.
static char *
s_find_nats_server (void)
{
    char *path = strdup (getenv ("PATH")? getenv ("PATH"): "");
    char *found = NULL;
    char *saveptr = NULL;
    for (char *dir = strtok_r (path, ":", &saveptr); dir && !found;
         dir = strtok_r (NULL, ":", &saveptr)) {
        char *candidate = zsys_sprintf ("%s/nats-server", dir);
        if (access (candidate, X_OK) == 0)
            found = candidate;
        else
            zstr_free (&candidate);
    }
    free (path);
    if (!found && access ("/usr/sbin/nats-server", X_OK) == 0)
        found = strdup ("/usr/sbin/nats-server");
    return found;
}

static int
s_nats_server_start (s_bench_t *self)
{
    char *server = s_find_nats_server ();
    int port = bench_free_port ();
    if (!server || port < 0) {
        fprintf (stderr, "bench: nats-server not found: NATS columns skipped\n");
        free (server);
        return -1;
    }
    char port_text [16];
    snprintf (port_text, sizeof port_text, "%d", port);
    char *log_path = zsys_sprintf ("%s/nats-server.log", self->tmpdir_path);
    char *argv [] = { server, "-a", "127.0.0.1", "-p", port_text, NULL };
    self->nats_pid = bench_spawn (argv, log_path);
    int rc = 0;
    if (self->nats_pid < 0 || !s_wait_ready (self->nats_pid, port, S_START_TIMEOUT_MS)) {
        fprintf (stderr, "bench: nats-server did not start: NATS columns skipped\n");
        s_stop (&self->nats_pid);
        bench_print_log (log_path, 0);
        rc = -1;
    }
    snprintf (self->nats_url, sizeof self->nats_url, "nats://127.0.0.1:%d", port);
    free (server);
    zstr_free (&log_path);
    return rc;
}
#endif

//  -------------------------------------------------------------------------
//  Broker memory with a deep queue

//  Send S_MEMORY_REQUESTS requests for a service nobody serves. Returns
//  how many were handed to the client.
static int
s_memory_fill (zmx_client_t *client, const char *service)
{
    byte body [S_MEMORY_BODY] = { 0 };
    int sent = 0;
    for (; sent < S_MEMORY_REQUESTS && !zsys_interrupted; sent++) {
        zmsg_t *request = zmsg_new ();
        zmsg_addmem (request, body, sizeof body);
        if (zmx_client_send (client, service, &request) != ZMX_OK)
            break;
        //  A dead broker must not block the bench forever once the
        //  socket's queue is full
        if (sent == 0 && zmx_client_socket (client))
            zsock_set_sndtimeo (zmx_client_socket (client), S_REPLY_TIMEOUT_MS);
    }
    return sent;
}

//  Poll mmi.services until the broker holds every request, or until the
//  queue stops growing for half a second (it dropped some), or timeout.
static size_t
s_memory_wait_queued (zmx_client_t *mmi, const char *service)
{
    int64_t deadline = bench_now_us () + (int64_t) S_MEMORY_TIMEOUT_MS * 1000;
    size_t queued = 0;
    int unchanged = 0;
    while (bench_now_us () < deadline && !zsys_interrupted && unchanged < 25) {
        size_t workers, now_queued = 0;
        if (s_mmi_service (mmi, service, &workers, &now_queued) == 0) {
            if (now_queued >= S_MEMORY_REQUESTS)
                return now_queued;
            unchanged = now_queued == queued? unchanged + 1: 0;
            queued = now_queued;
        }
        zclock_sleep (20);
    }
    return queued;
}

static int
s_measure_memory (s_bench_t *self)
{
    char endpoint [64];
    pid_t pid = s_zmxd_start (self, "zmxd-memory", endpoint, sizeof endpoint);
    if (pid < 0)
        return -1;
    long idle_kb = bench_proc_kib (pid, "VmHWM:");
    const char *service = "bench.nobody";
    zmx_client_t *sender = zmx_client_new (endpoint);
    zmx_client_t *mmi = zmx_client_new (endpoint);
    zmx_client_set_timeout (mmi, 1000);
    int64_t start = bench_now_us ();
    int sent = s_memory_fill (sender, service);
    size_t queued = s_memory_wait_queued (mmi, service);
    int64_t elapsed = bench_now_us () - start;
    long peak_kb = bench_proc_kib (pid, "VmHWM:");
    long rss_kb = bench_proc_kib (pid, "VmRSS:");
    printf ("\nBroker memory: %d requests of %d B sent to a service with no worker,\n"
            "%zu reported queued by mmi.services after %.1f s (fresh zmxd, pid %d)\n",
            sent, S_MEMORY_BODY, queued, elapsed / 1e6, (int) pid);
    printf ("  VmHWM idle         %8.1f MiB\n", idle_kb / 1024.0);
    printf ("  VmHWM queued       %8.1f MiB\n", peak_kb / 1024.0);
    printf ("  VmRSS queued       %8.1f MiB\n", rss_kb / 1024.0);
    if (queued > 0)
        printf ("  per queued request %8.0f bytes ((VmHWM queued - idle) / queued)\n",
                (peak_kb - idle_kb) * 1024.0 / queued);
    zmx_client_destroy (&sender);
    zmx_client_destroy (&mmi);
    int status = s_stop (&pid);
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        fprintf (stderr, "bench: the memory zmxd did not stop cleanly (status %d)\n", status);
    return queued == S_MEMORY_REQUESTS? 0: -1;
}

//  -------------------------------------------------------------------------
//  Table and targets

//  A cell, marked with '*' when some of its runs failed.
static void
s_print_value (double value, s_row_t row, bool partial)
{
    if (isnan (value))
        printf (" %10s", "-");
    else
    if (row == S_ROW_P50 || row == S_ROW_P99)
        printf (" %9.1f%c", value, partial? '*': ' ');
    else
        printf (" %9.0f%c", value, partial? '*': ' ');
}

//  True if some runs of a measured cell have no value.
static bool
s_partial (s_bench_t *self, s_system_t system, size_t size_index, s_row_t row)
{
    int valid = 0;
    for (int run = 0; run < self->opt.runs; run++)
        valid += !isnan (self->results [system][size_index][row][run]);
    return valid > 0 && valid < self->opt.runs;
}

static void
s_print_ratio (double numerator, double denominator)
{
    if (isnan (numerator) || isnan (denominator) || denominator == 0)
        printf (" %9s", "-");
    else
        printf (" %9.2f", numerator / denominator);
}

static double
s_cell (s_bench_t *self, s_system_t system, size_t size_index, s_row_t row)
{
    return s_median (self->results [system][size_index][row], self->opt.runs);
}

static void
s_print_table (s_bench_t *self)
{
    printf ("\n%-15s %5s", "shape", "size");
    for (int system = 0; system < S_SYSTEMS; system++)
        printf (" %10s", s_system_names [system]);
    printf (" %9s %9s %9s %9s %9s\n", "zmx1/raw", "zmx4/raw", "zmx1/nats", "zmx4/nats",
            "mdp1/nats");
    for (size_t size_index = 0; size_index < S_SIZES; size_index++) {
        for (int row = 0; row < S_ROWS; row++) {
            printf ("%-15s %5zu", s_row_names [row], s_sizes [size_index]);
            double cells [S_SYSTEMS];
            for (int system = 0; system < S_SYSTEMS; system++) {
                cells [system] = s_cell (self, (s_system_t) system, size_index, (s_row_t) row);
                s_print_value (cells [system], (s_row_t) row,
                               s_partial (self, (s_system_t) system, size_index, (s_row_t) row));
            }
            s_print_ratio (cells [S_ZMX1], cells [S_RAW]);
            s_print_ratio (cells [S_ZMX4], cells [S_RAW]);
            s_print_ratio (cells [S_ZMX1], cells [S_NATS1]);
            s_print_ratio (cells [S_ZMX4], cells [S_NATS4]);
            s_print_ratio (cells [S_MDP1], cells [S_NATS1]);
            printf ("\n");
        }
    }
    printf ("(* = median of the runs that completed; the others failed)\n"
            "(zmx: client and workers speak zmx packed MDP; mdp: 7/MDP client, 18/MDP\n"
            " worker, the RFC framing; both through the same zmxd, workers with credit)\n");
}

//  One target line: "met", "MISSED", "FAILED" (zmx lost a reply in some
//  run) or "n/a" (not measured).
static void
s_print_target (const char *what, size_t size, double value, double limit, bool met,
                bool failed)
{
    const char *verdict = failed? "FAILED": isnan (value) || isnan (limit)? "n/a"
                        : met? "met": "MISSED";
    printf ("  %-6s %-44s %5zu B: %12.1f vs %12.1f\n", verdict, what, size, value, limit);
}

static void
s_print_targets (s_bench_t *self)
{
    printf ("\nTargets (medians; w=1000 in req/s, rtt p50 in us):\n");
    for (size_t size_index = 0; size_index < S_SIZES; size_index++) {
        size_t size = s_sizes [size_index];
        for (int workers = 0; workers < 2; workers++) {
            s_system_t zmx = workers? S_ZMX4: S_ZMX1;
            s_system_t nats = workers? S_NATS4: S_NATS1;
            double zmx_rate = s_cell (self, zmx, size_index, S_ROW_W1000);
            double nats_rate = s_cell (self, nats, size_index, S_ROW_W1000);
            double raw_rate = s_cell (self, S_RAW, size_index, S_ROW_W1000);
            double zmx_rtt = s_cell (self, zmx, size_index, S_ROW_P50);
            double nats_rtt = s_cell (self, nats, size_index, S_ROW_P50);
            double raw_rtt = s_cell (self, S_RAW, size_index, S_ROW_P50);
            bool rate_failed = self->opt.want_zmx
                && (isnan (zmx_rate) || s_partial (self, zmx, size_index, S_ROW_W1000));
            bool rtt_failed = self->opt.want_zmx
                && (isnan (zmx_rtt) || s_partial (self, zmx, size_index, S_ROW_P50));
            char what [64];
            snprintf (what, sizeof what, "w=1000 %s > %s", s_system_names [zmx],
                      s_system_names [nats]);
            s_print_target (what, size, zmx_rate, nats_rate, zmx_rate > nats_rate, rate_failed);
            snprintf (what, sizeof what, "w=1000 %s >= 25%% of raw", s_system_names [zmx]);
            s_print_target (what, size, zmx_rate, raw_rate * 0.25, zmx_rate >= raw_rate * 0.25,
                            rate_failed);
            snprintf (what, sizeof what, "rtt p50 %s <= %s", s_system_names [zmx],
                      s_system_names [nats]);
            s_print_target (what, size, zmx_rtt, nats_rtt, zmx_rtt <= nats_rtt, rtt_failed);
            snprintf (what, sizeof what, "rtt p50 %s <= 2.5 x raw", s_system_names [zmx]);
            s_print_target (what, size, zmx_rtt, raw_rtt * 2.5, zmx_rtt <= raw_rtt * 2.5,
                            rtt_failed);
        }
    }
}

//  -------------------------------------------------------------------------
//  Main

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: bench_broker [--runs N] [--quick] [--only raw,zmx,mdp,nats,memory]\n"
        "\n"
        "Request-reply echo, 16 B and 4 KiB: direct libzmq, the zmx broker (zmxd\n"
        "next to this program) with 1 and 4 workers in zmx packed MDP (zmx) and\n"
        "with 1 worker in RFC framing (mdp), and nats-server with 1 and 4\n"
        "responders. Prints the median of N runs (default 3), then the broker's\n"
        "peak RSS with 100000 requests queued.\n"
        "\n"
        "  --runs N   repetitions, 1..%d (default 3)\n"
        "  --quick    smoke run: 1 run, short points\n"
        "  --only L   measure only these parts (comma-separated)\n",
        S_MAX_RUNS);
}

static int
s_parse_only (s_options_t *opt, const char *list)
{
    opt->want_raw = strstr (list, "raw") != NULL;
    opt->want_zmx = strstr (list, "zmx") != NULL;
    opt->want_mdp = strstr (list, "mdp") != NULL;
    opt->want_nats = strstr (list, "nats") != NULL;
    opt->want_memory = strstr (list, "memory") != NULL;
    return opt->want_raw || opt->want_zmx || opt->want_mdp || opt->want_nats
        || opt->want_memory? 0: -1;
}

//  Returns 0, or -1 after printing what is wrong.
static int
s_parse_args (int argc, char *argv [], s_options_t *opt)
{
    *opt = (s_options_t) { 3, false, 800000, 100000, 20000, 2000000,
                           true, true, true, true, true };
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        if (streq (arg, "--quick"))
            opt->quick = true;
        else
        if (streq (arg, "--runs") && index + 1 < argc)
            opt->runs = atoi (argv [++index]);
        else
        if (streq (arg, "--only") && index + 1 < argc) {
            if (s_parse_only (opt, argv [++index]))
                return -1;
        }
        else
            return -1;
    }
    if (opt->quick) {
        opt->runs = 1;
        opt->point_us = 250000;
        opt->warm_us = 50000;
        opt->rtt_count = 5000;
    }
    return opt->runs >= 1 && opt->runs <= S_MAX_RUNS? 0: -1;
}

//  Temp dir, zmxd path, the broker under test, nats-server. Returns 0, or
//  -1 if the bench cannot run at all.
static int
s_bench_setup (s_bench_t *self)
{
    char template [] = "/tmp/zmx-bench-XXXXXX";
    if (!mkdtemp (template)) {
        fprintf (stderr, "bench: mkdtemp: %s\n", strerror (errno));
        return -1;
    }
    self->tmpdir_path = strdup (template);
    char exe [4096];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0)
        return -1;
    exe [length] = 0;
    *strrchr (exe, '/') = 0;
    self->zmxd_path = zsys_sprintf ("%s/zmxd", exe);
    if (self->opt.want_zmx || self->opt.want_mdp) {
        self->zmxd_pid = s_zmxd_start (self, "zmxd", self->zmxd_endpoint,
                                       sizeof self->zmxd_endpoint);
        if (self->zmxd_pid < 0)
            return -1;
    }
#ifdef ZMX_HAVE_NATS
    if (self->opt.want_nats && s_nats_server_start (self))
        self->opt.want_nats = false;
#else
    if (self->opt.want_nats)
        fprintf (stderr, "bench: built without libnats: NATS columns skipped\n");
    self->opt.want_nats = false;
#endif
    return 0;
}

static void
s_bench_teardown (s_bench_t *self)
{
    if (self->zmxd_pid > 0) {
        int status = s_stop (&self->zmxd_pid);
        if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
            fprintf (stderr, "bench: zmxd did not stop cleanly (status %d)\n", status);
    }
    s_stop (&self->nats_pid);
    //  The children's logs explain failures: keep them then
    if (self->failures && self->tmpdir_path)
        fprintf (stderr, "bench: logs kept in %s\n", self->tmpdir_path);
    else
    if (self->tmpdir_path) {
        zdir_t *tmpdir = zdir_new (self->tmpdir_path, NULL);
        if (tmpdir)
            zdir_remove (tmpdir, true);
        zdir_destroy (&tmpdir);
    }
    zstr_free (&self->tmpdir_path);
    zstr_free (&self->zmxd_path);
}

//  Start one system in one profile (only NATS has two). Returns its
//  handle and driver, or NULL if the system is skipped or failed to start.
static void *
s_system_open (s_bench_t *self, s_system_t system, int run, int profile,
               const s_driver_t **driver_p)
{
    int workers = system == S_ZMX4 || system == S_NATS4? 4: 1;
    if (system == S_RAW && self->opt.want_raw) {
        *driver_p = &s_raw_driver;
        return s_raw_new ();
    }
    if ((system == S_ZMX1 || system == S_ZMX4) && self->opt.want_zmx) {
        *driver_p = &s_zmx_driver;
        return s_zmx_new (self->zmxd_endpoint, workers, run, true);
    }
    if (system == S_MDP1 && self->opt.want_mdp) {
        *driver_p = &s_zmx_driver;
        return s_zmx_new (self->zmxd_endpoint, workers, run, false);
    }
#ifdef ZMX_HAVE_NATS
    if ((system == S_NATS1 || system == S_NATS4) && self->opt.want_nats) {
        *driver_p = &s_nats_driver;
        return s_nats_new (self->nats_url, workers, run, profile == 1);
    }
#endif
    return NULL;
}

static bool
s_system_wanted (s_bench_t *self, s_system_t system)
{
    if (system == S_RAW)
        return self->opt.want_raw;
    if (system == S_ZMX1 || system == S_ZMX4)
        return self->opt.want_zmx;
    if (system == S_MDP1)
        return self->opt.want_mdp;
    return self->opt.want_nats;
}

//  Measure one system in one run (each of its profiles), and keep the best
//  of the profiles in self->results.
static void
s_run_system (s_bench_t *self, s_system_t system, int run)
{
    if (!s_system_wanted (self, system))
        return;
    static const char *nats_profiles [] = { "buffered", "send-asap" };
    bool is_nats = system == S_NATS1 || system == S_NATS4;
    s_sample_t best, sample;
    s_sample_clear (best);
    for (int profile = 0; profile < (is_nats? 2: 1) && !zsys_interrupted; profile++) {
        char label [64];
        snprintf (label, sizeof label, "%s%s%s", s_system_names [system],
                  is_nats? " ": "", is_nats? nats_profiles [profile]: "");
        int64_t start = bench_now_us ();
        const s_driver_t *driver = NULL;
        void *handle = s_system_open (self, system, run, profile, &driver);
        s_sample_clear (sample);
        if (handle) {
            s_measure_system (self, label, driver, handle, sample);
            driver->destroy (&handle);
            s_sample_merge (best, sample);
        }
        else
            self->failures++;
        //  Per-run figures on stderr show the spread behind the medians
        fprintf (stderr, "bench: run %d/%d %-18s %s in %.1f s: 16 B rtt p50 %.1f us, "
                 "w=1000 %.0f req/s\n", run + 1, self->opt.runs, label,
                 driver? "measured": "set up failed", (bench_now_us () - start) / 1e6,
                 sample [0][S_ROW_P50], sample [0][S_ROW_W1000]);
    }
    for (size_t size_index = 0; size_index < S_SIZES; size_index++)
        for (int row = 0; row < S_ROWS; row++)
            self->results [system][size_index][row][run] = best [size_index][row];
}

int
main (int argc, char *argv [])
{
    s_bench_t *self = (s_bench_t *) calloc (1, sizeof (s_bench_t));
    assert (self);
    if (argc > 1 && (streq (argv [1], "--help") || streq (argv [1], "-h"))) {
        s_usage (stdout);
        free (self);
        return 0;
    }
    if (s_parse_args (argc, argv, &self->opt)) {
        s_usage (stderr);
        free (self);
        return 2;
    }
    for (size_t index = 0; index < sizeof self->results / sizeof (double); index++)
        ((double *) self->results) [index] = NAN;
    //  Ctrl-C sets zsys_interrupted; every loop checks it and unwinds here
    zsys_init ();
    int64_t start = bench_now_us ();
    int rc = s_bench_setup (self);
    bool table = self->opt.want_raw || self->opt.want_zmx || self->opt.want_mdp
                 || self->opt.want_nats;
    if (rc == 0 && table) {
        printf ("bench_broker: %d run(s), median shown; %.2f s per point%s%s%s%s\n",
                self->opt.runs, self->opt.point_us / 1e6,
                self->opt.want_zmx || self->opt.want_mdp? "; zmxd ": "", self->zmxd_endpoint,
                self->opt.want_nats? "; nats-server ": "", self->nats_url);
        for (int run = 0; run < self->opt.runs && !zsys_interrupted; run++)
            for (int system = 0; system < S_SYSTEMS && !zsys_interrupted; system++)
                s_run_system (self, (s_system_t) system, run);
        s_print_table (self);
        s_print_targets (self);
    }
    if (rc == 0 && self->opt.want_memory && !zsys_interrupted && s_measure_memory (self))
        self->failures++;
    s_bench_teardown (self);
    printf ("\nbench_broker: %.0f s, %d failure(s)\n", (bench_now_us () - start) / 1e6,
            self->failures);
    rc = rc || self->failures || zsys_interrupted? 1: 0;
    free (self);
    return rc;
}
