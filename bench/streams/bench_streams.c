/*  =========================================================================
    bench_streams - zmx streams against the disk's own limit and against
    NATS JetStream, on this machine, in one run (issue 11, section 5)

    In a scratch directory (under --dir, else $TMPDIR, else /var/tmp):

      raw        sequential write() of the bytes the store writes for the
                 same records, to one file on the same disk, in batches
                 the size of the client's APPEND batches: without fsync,
                 with one fdatasync every 5 ms on a thread of its own (the
                 store's `interval`), and with one fdatasync per batch
                 (the store's `always`): the physical limit
      zmx        zmxd (a child process running only the log service, on
                 a free port, its store in the scratch directory) and
                 zmx_stream: appends pipelined with the client's window,
                 the clock stopping when the last one is acknowledged,
                 for 100 B and 1 KiB bodies under fsync never, interval
                 and always; then a replay of a 100 B stream from its
                 first record through one subscription with large credit
      jetstream  nats-server -js (Debian's 2.9), file storage, one replica,
                 through libnats: js_PublishAsync with acks, the clock
                 stopping when js_PublishAsyncComplete returns; replay
                 from the first record through an ordered consumer (push,
                 flow control, no acks) and through a pull consumer
                 (batches of 1024, one AckAll per batch); the faster of
                 the two is compared

    Sync, "equivalent": nats-server 2.9 has no sync setting. A stream's
    file store writes each message to the OS before the publish is
    acknowledged and fsyncs its blocks every 2 minutes (hard-coded in
    server/stream.go; `sync_interval` and `sync_always` appeared in
    2.10). A JetStream ack therefore promises what zmx's fsync `never`
    promises (written to the OS: survives kill -9, not a power cut), and
    the JetStream run is labelled so. zmx's `interval` and `always` are
    stronger promises, and the 2 x JetStream target compares zmx with
    fsync `interval` against it anyway.

    Cold replay: both servers are stopped, the page cache is dropped
    (sync; echo 3 > /proc/sys/vm/drop_caches: root only) and the servers
    started again on the same data, so neither has the stream in memory.

    Every point runs --runs times (3) inside this one invocation and the
    median is printed: records/s, MB/s (of body bytes; raw rows: of the
    bytes written, as records/s x on-disk record size) and ratios, then
    each target as met or MISSED.

    With --rss, a stream of --rss-gib GiB of 1 KiB records is written and
    10 subscribers replay it at once while zmxd's RSS is sampled.

    Child processes die with this process on every path (PR_SET_PDEATHSIG
    through bench_spawn; stopped on the normal and error paths).

    usage: bench_streams [--records N] [--replay N] [--runs R] [--seconds S]
                         [--full] [--rss] [--rss-gib G] [--dir DIR]
                         [--no-zmx] [--no-nats]
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#ifdef ZMX_HAVE_NATS
#include <nats/nats.h>
#endif

#define S_SUBJECT           "app.db.info"
#define S_MAX_RUNS          9
#define S_SYNC_INTERVAL_MS  5           //  The store's default fsync interval
#define S_BATCH_RECORDS     1024        //  Records per APPEND: the client's default
#define S_BATCH_BYTES       (256 << 10) //  Bytes per APPEND: the client's default
#define S_START_TIMEOUT_MS  20000
#define S_NATS_PENDING      8192        //  js_PublishAsync in flight (libnats: 4000)
#define S_NATS_FETCH        1024        //  Pull consumer batch
#define S_RSS_SUBSCRIBERS   10
#define S_ZMX_CREDIT        100000      //  Credit of a replaying subscription

typedef enum { S_NEVER, S_INTERVAL, S_ALWAYS, S_POLICIES } s_policy_t;
static const char *s_policy_names [] = { "never", "interval", "always" };

typedef struct {
    int64_t records;            //  Records per append point, at most
    int64_t replay;             //  Records in the replayed stream
    int runs;                   //  Runs per point; the median is printed
    int seconds;                //  Seconds per run of a point, at most
    bool rss;                   //  Measure zmxd's RSS under 10 subscribers
    double rss_gib;             //  Size of that stream, GiB
    bool want_zmx, want_nats;
    const char *base;           //  Parent of the scratch directory
} s_options_t;

//  One measured point: the median of its runs
typedef struct {
    double rate;                //  Records per second
    double mbps;                //  MB/s (10^6) of body bytes
    int64_t records;            //  Records in the median run
    bool measured;
} s_point_t;

typedef struct {
    s_options_t opt;
    char *dir;                  //  Scratch directory
    char *exe_dir;              //  Where this program (and zmxd) lives
    pid_t zmxd_pid;
    char zmxd_endpoint [64];
    pid_t nats_pid;
    char nats_url [64];
    int nats_port;
#ifdef ZMX_HAVE_NATS
    natsConnection *nats;
    jsCtx *js;
    atomic_int_fast64_t nats_publish_errors;    //  Counted by libnats' thread
#endif
} s_bench_t;

//  Bytes one record takes in a segment (docs/STREAMS.md)
static size_t
s_disk_bytes (size_t body)
{
    return 40 + strlen (S_SUBJECT) + body;
}

//  Records per APPEND batch the client sends with its default window
static size_t
s_batch_records (size_t body)
{
    size_t wire = 2 + strlen (S_SUBJECT) + 1 + 2 + 4 + body;
    size_t records = S_BATCH_BYTES / wire;
    return records < S_BATCH_RECORDS? records: S_BATCH_RECORDS;
}

static int64_t
s_deadline (s_bench_t *self)
{
    return bench_now_ns () + (int64_t) self->opt.seconds * 1000000000;
}

static double
s_distance (double a, double b)
{
    return a > b? a - b: b - a;
}

//  The median of `count` runs, each `records` records in `elapsed` ns
static s_point_t
s_median (const int64_t *records, const int64_t *elapsed, int count, size_t body)
{
    s_point_t point = { 0 };
    if (count == 0)
        return point;
    double rates [S_MAX_RUNS], sorted [S_MAX_RUNS];
    for (int run = 0; run < count; run++)
        sorted [run] = rates [run] = records [run] / ((double) elapsed [run] / 1e9);
    point.rate = bench_median (sorted, count);
    point.mbps = point.rate * (double) body / 1e6;
    point.measured = true;
    //  The run nearest the median, for its record count
    int nearest = 0;
    for (int run = 1; run < count; run++)
        if (s_distance (rates [run], point.rate) < s_distance (rates [nearest], point.rate))
            nearest = run;
    point.records = records [nearest];
    return point;
}

static void
s_print (const char *what, s_point_t point, const char *note)
{
    if (point.measured)
        printf ("  %-44s %11.0f rec/s %8.1f MB/s  %s\n", what, point.rate, point.mbps,
                note? note: "");
    else
        printf ("  %-44s %11s       %8s       %s\n", what, "-", "-", note? note: "not measured");
}

static double
s_ratio (s_point_t a, s_point_t b)
{
    return a.measured && b.measured && b.rate > 0? a.rate / b.rate: 0;
}

//  "1.23 x" into `text`, or "-" when either side was not measured
static const char *
s_ratio_text (s_point_t a, s_point_t b, char *text, size_t size)
{
    if (a.measured && b.measured && b.rate > 0)
        snprintf (text, size, "%6.2f x", a.rate / b.rate);
    else
        snprintf (text, size, "%6s  ", "-");
    return text;
}

static void
s_target (const char *what, bool measured, bool met, const char *figure)
{
    printf ("  target %-64s %s (%s)\n", what, !measured? "not measured": met? "met": "MISSED",
            figure);
}

//  -------------------------------------------------------------------------
//  raw: sequential write() of the same bytes

typedef struct {
    int fd;
    atomic_bool stop;
    atomic_int_fast64_t syncs;
} s_syncer_t;

//  fdatasync every S_SYNC_INTERVAL_MS while the writer goes on, as the
//  store's `interval` policy does on its fsync thread
static void *
s_syncer (void *arg)
{
    s_syncer_t *syncer = (s_syncer_t *) arg;
    while (!atomic_load (&syncer->stop)) {
        int64_t started = bench_now_us ();
        fdatasync (syncer->fd);
        atomic_fetch_add (&syncer->syncs, 1);
        int64_t wait_us = S_SYNC_INTERVAL_MS * 1000 - (bench_now_us () - started);
        if (wait_us > 0)
            usleep ((useconds_t) wait_us);
    }
    return NULL;
}

//  One run: batches of the bytes one APPEND batch of `body` records takes
//  on disk; returns records written, sets *elapsed_p
static int64_t
s_raw_run (s_bench_t *self, size_t body, s_policy_t policy, int64_t *elapsed_p)
{
    char *path = zsys_sprintf ("%s/raw.bin", self->dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror (path);
        exit (1);
    }
    size_t batch_records = s_batch_records (body);
    size_t batch_bytes = batch_records * s_disk_bytes (body);
    byte *batch = (byte *) malloc (batch_bytes);
    memset (batch, 'x', batch_bytes);
    s_syncer_t syncer = { .fd = fd };
    pthread_t thread;
    if (policy == S_INTERVAL)
        pthread_create (&thread, NULL, s_syncer, &syncer);
    int64_t start = bench_now_ns (), deadline = s_deadline (self), records = 0;
    while (records < self->opt.records && bench_now_ns () < deadline) {
        if (write (fd, batch, batch_bytes) != (ssize_t) batch_bytes) {
            perror ("raw write");
            exit (1);
        }
        if (policy == S_ALWAYS)
            fdatasync (fd);
        records += (int64_t) batch_records;
    }
    //  Done when everything is on disk under the policy
    if (policy != S_NEVER)
        fdatasync (fd);
    *elapsed_p = bench_now_ns () - start;
    if (policy == S_INTERVAL) {
        atomic_store (&syncer.stop, true);
        pthread_join (thread, NULL);
    }
    close (fd);
    unlink (path);
    free (batch);
    zstr_free (&path);
    return records;
}

static s_point_t
s_raw (s_bench_t *self, size_t body, s_policy_t policy)
{
    int64_t records [S_MAX_RUNS], elapsed [S_MAX_RUNS];
    for (int run = 0; run < self->opt.runs; run++)
        records [run] = s_raw_run (self, body, policy, &elapsed [run]);
    return s_median (records, elapsed, self->opt.runs, body);
}

//  -------------------------------------------------------------------------
//  Page cache

//  Drop the page cache (root only). Returns 0, or -1 with a reason printed
//  into `why`.
static int
s_drop_caches (char *why, size_t why_size)
{
    sync ();
    int fd = open ("/proc/sys/vm/drop_caches", O_WRONLY);
    if (fd < 0 || write (fd, "3\n", 2) != 2) {
        snprintf (why, why_size, "%s", geteuid () == 0? strerror (errno): "needs root");
        if (fd >= 0)
            close (fd);
        return -1;
    }
    close (fd);
    return 0;
}

//  -------------------------------------------------------------------------
//  Child processes

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

//  Start (or start again, on the same port and store) nats-server with
//  JetStream, its file store in the scratch directory. Returns 0 or -1.
static int
s_nats_server_start (s_bench_t *self)
{
    char *server = s_find_nats_server ();
    if (!self->nats_port)
        self->nats_port = bench_free_port ();
    if (!server || self->nats_port < 0) {
        fprintf (stderr, "bench_streams: nats-server not found: JetStream skipped\n");
        free (server);
        return -1;
    }
    char port_text [16];
    snprintf (port_text, sizeof port_text, "%d", self->nats_port);
    char *store_dir = zsys_sprintf ("%s/jetstream", self->dir);
    char *log_path = zsys_sprintf ("%s/nats-server.log", self->dir);
    char *argv [] = { server, "-js", "-sd", store_dir, "-a", "127.0.0.1", "-p", port_text,
                      NULL };
    self->nats_pid = bench_spawn (argv, log_path);
    int rc = 0;
    if (self->nats_pid < 0
    || !bench_wait_for_text (log_path, "Server is ready", S_START_TIMEOUT_MS)) {
        fprintf (stderr, "bench_streams: nats-server did not start: JetStream skipped\n");
        bench_stop (&self->nats_pid);
        bench_print_log (log_path, 40);
        rc = -1;
    }
    snprintf (self->nats_url, sizeof self->nats_url, "nats://127.0.0.1:%d", self->nats_port);
    free (server);
    zstr_free (&store_dir);
    zstr_free (&log_path);
    return rc;
}

//  -------------------------------------------------------------------------
//  JetStream through libnats

#ifdef ZMX_HAVE_NATS
static void
s_nats_on_publish_error (jsCtx *js, jsPubAckErr *error, void *closure)
{
    (void) js;
    s_bench_t *self = (s_bench_t *) closure;
    if (atomic_fetch_add (&self->nats_publish_errors, 1) == 0)
        fprintf (stderr, "bench_streams: JetStream publish failed: %s\n",
                 error->ErrText? error->ErrText: natsStatus_GetText (error->Err));
}

static void
s_nats_disconnect (s_bench_t *self)
{
    jsCtx_Destroy (self->js);
    self->js = NULL;
    natsConnection_Destroy (self->nats);
    self->nats = NULL;
}

//  Connection with cnats' buffered defaults (what suits async publish and
//  push delivery) and a JetStream context. Returns 0 or -1.
static int
s_nats_connect (s_bench_t *self)
{
    natsOptions *options = NULL;
    natsStatus status = natsOptions_Create (&options);
    if (status == NATS_OK)
        status = natsOptions_SetURL (options, self->nats_url);
    //  After a restart on a large store nats-server may say it is ready a
    //  moment before it takes connections: try for a few seconds
    for (int attempt = 0; status == NATS_OK || status == NATS_NO_SERVER; attempt++) {
        status = natsConnection_Connect (&self->nats, options);
        if (status != NATS_NO_SERVER || attempt == 50)
            break;
        zclock_sleep (100);
    }
    natsOptions_Destroy (options);
    jsOptions js_options;
    jsOptions_Init (&js_options);
    js_options.Wait = 30000;
    js_options.PublishAsync.MaxPending = S_NATS_PENDING;
    js_options.PublishAsync.ErrHandler = s_nats_on_publish_error;
    js_options.PublishAsync.ErrHandlerClosure = self;
    if (status == NATS_OK)
        status = natsConnection_JetStream (&self->js, self->nats, &js_options);
    if (status != NATS_OK) {
        fprintf (stderr, "bench_streams: JetStream connection failed: %s\n",
                 natsStatus_GetText (status));
        s_nats_disconnect (self);
        return -1;
    }
    return 0;
}

//  A stream `name` holding subjects `name.>`, file storage, one replica
static int
s_nats_add_stream (s_bench_t *self, const char *name)
{
    char subjects_text [80];
    snprintf (subjects_text, sizeof subjects_text, "%s.>", name);
    const char *subjects [] = { subjects_text };
    jsStreamConfig config;
    jsStreamConfig_Init (&config);
    config.Name = name;
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    config.Replicas = 1;
    jsStreamInfo *info = NULL;
    jsErrCode error = 0;
    natsStatus status = js_AddStream (&info, self->js, &config, NULL, &error);
    jsStreamInfo_Destroy (info);
    if (status != NATS_OK) {
        fprintf (stderr, "bench_streams: js_AddStream %s: %s (%d)\n", name,
                 natsStatus_GetText (status), (int) error);
        return -1;
    }
    return 0;
}

static void
s_nats_delete_stream (s_bench_t *self, const char *name)
{
    js_DeleteStream (self->js, name, NULL, NULL);
}

//  Publish `count` records of `body` bytes to stream `name` (which must
//  exist) with js_PublishAsync, bounded by time unless `all`; returns the
//  records acknowledged, sets *elapsed_p, or -1.
static int64_t
s_nats_publish (s_bench_t *self, const char *name, size_t body, int64_t count, bool all,
                int64_t *elapsed_p)
{
    char subject [80];
    snprintf (subject, sizeof subject, "%s.%s", name, S_SUBJECT);
    byte *data = (byte *) malloc (body);
    memset (data, 'b', body);
    atomic_store (&self->nats_publish_errors, 0);
    int64_t start = bench_now_ns (), deadline = s_deadline (self), records = 0;
    natsStatus status = NATS_OK;
    while (records < count && (all || (records & 1023) || bench_now_ns () < deadline)) {
        status = js_PublishAsync (self->js, subject, data, (int) body, NULL);
        if (status == NATS_TIMEOUT)     //  MaxPending in flight for StallWait: go on waiting
            continue;
        if (status != NATS_OK)
            break;
        records++;
    }
    jsPubOptions options;
    jsPubOptions_Init (&options);
    options.MaxWait = 120000;
    if (status == NATS_OK)
        status = js_PublishAsyncComplete (self->js, &options);
    *elapsed_p = bench_now_ns () - start;
    free (data);
    if (status != NATS_OK || atomic_load (&self->nats_publish_errors)) {
        fprintf (stderr, "bench_streams: JetStream publish: %s, %" PRId64 " errors\n",
                 natsStatus_GetText (status), (int64_t) atomic_load (&self->nats_publish_errors));
        return -1;
    }
    return records;
}

static s_point_t
s_nats_append (s_bench_t *self, size_t body)
{
    int64_t records [S_MAX_RUNS], elapsed [S_MAX_RUNS];
    int done = 0;
    for (int run = 0; run < self->opt.runs; run++) {
        char name [32];
        snprintf (name, sizeof name, "A%zu_%d", body, run);
        if (s_nats_add_stream (self, name))
            break;
        records [done] = s_nats_publish (self, name, body, self->opt.records, false,
                                         &elapsed [done]);
        s_nats_delete_stream (self, name);
        if (records [done] < 0)
            break;
        done++;
    }
    return s_median (records, elapsed, done, body);
}

//  Ordered consumer: the callback counts; the main thread waits for all
typedef struct {
    atomic_int_fast64_t received;
    atomic_int_fast64_t bad;        //  Records of the wrong size
    size_t body;
} s_nats_counter_t;

static void
s_nats_on_record (natsConnection *connection, natsSubscription *sub, natsMsg *msg,
                  void *closure)
{
    (void) connection;
    (void) sub;
    s_nats_counter_t *counter = (s_nats_counter_t *) closure;
    if ((size_t) natsMsg_GetDataLength (msg) != counter->body)
        atomic_fetch_add (&counter->bad, 1);
    atomic_fetch_add (&counter->received, 1);
    natsMsg_Destroy (msg);
}

//  Wait until `counter` reached `count`, or no record came for 10 s
static int64_t
s_nats_wait (s_nats_counter_t *counter, int64_t count)
{
    int64_t last = 0, idle_since = bench_now_us ();
    while (true) {
        int64_t received = atomic_load (&counter->received);
        if (received >= count)
            return received;
        if (received != last) {
            last = received;
            idle_since = bench_now_us ();
        }
        else
        if (bench_now_us () - idle_since > 10000000 || zsys_interrupted)
            return received;
        zclock_sleep (1);
    }
}

static int64_t
s_nats_replay_ordered (s_bench_t *self, const char *name, int64_t count, int64_t *elapsed_p)
{
    char subject [80];
    snprintf (subject, sizeof subject, "%s.>", name);
    s_nats_counter_t counter = { .body = 100 };
    jsSubOptions options;
    jsSubOptions_Init (&options);
    options.Stream = name;
    options.Ordered = true;
    natsSubscription *sub = NULL;
    jsErrCode error = 0;
    int64_t start = bench_now_ns ();
    natsStatus status = js_Subscribe (&sub, self->js, subject, s_nats_on_record, &counter,
                                      NULL, &options, &error);
    if (status == NATS_OK)
        //  Flow control keeps the server from overrunning us; no local drops
        status = natsSubscription_SetPendingLimits (sub, -1, -1);
    int64_t received = status == NATS_OK? s_nats_wait (&counter, count): -1;
    *elapsed_p = bench_now_ns () - start;
    if (sub) {
        natsSubscription_Unsubscribe (sub);
        natsSubscription_Destroy (sub);
    }
    if (status != NATS_OK || received != count || atomic_load (&counter.bad)) {
        fprintf (stderr, "bench_streams: JetStream ordered replay: %s (%d), %" PRId64
                 " of %" PRId64 " records\n", natsStatus_GetText (status), (int) error,
                 received, count);
        return -1;
    }
    return received;
}

static int64_t
s_nats_replay_pull (s_bench_t *self, const char *name, int64_t count, int64_t *elapsed_p)
{
    char subject [80];
    snprintf (subject, sizeof subject, "%s.>", name);
    jsSubOptions options;
    jsSubOptions_Init (&options);
    options.Stream = name;
    options.Config.AckPolicy = js_AckAll;
    options.Config.MaxAckPending = S_NATS_FETCH * 64;
    natsSubscription *sub = NULL;
    jsErrCode error = 0;
    int64_t start = bench_now_ns (), received = 0;
    natsStatus status = js_PullSubscribe (&sub, self->js, subject, NULL, NULL, &options,
                                          &error);
    while (status == NATS_OK && received < count) {
        natsMsgList list = { 0 };
        status = natsSubscription_Fetch (&list, sub, S_NATS_FETCH, 10000, &error);
        for (int index = 0; index < list.Count; index++)
            if ((size_t) natsMsg_GetDataLength (list.Msgs [index]) != 100)
                status = NATS_ERR;
        if (status == NATS_OK && list.Count > 0)
            status = natsMsg_Ack (list.Msgs [list.Count - 1], NULL);
        received += list.Count;
        natsMsgList_Destroy (&list);
    }
    *elapsed_p = bench_now_ns () - start;
    if (sub) {
        natsSubscription_Unsubscribe (sub);
        natsSubscription_Destroy (sub);
    }
    if (status != NATS_OK || received != count) {
        fprintf (stderr, "bench_streams: JetStream pull replay: %s (%d), %" PRId64
                 " of %" PRId64 " records\n", natsStatus_GetText (status), (int) error,
                 received, count);
        return -1;
    }
    return received;
}
#endif

//  -------------------------------------------------------------------------
//  JetStream points

#ifdef ZMX_HAVE_NATS
#define S_NATS_REPLAY_STREAM "R100"

static void
s_nats_stop (s_bench_t *self)
{
    s_nats_disconnect (self);
    bench_stop (&self->nats_pid);
}

//  Start nats-server again on the same store, e.g. after dropping caches
static int
s_nats_restart (s_bench_t *self)
{
    s_nats_stop (self);
    if (s_nats_server_start (self) || s_nats_connect (self))
        return -1;
    return 0;
}

//  Fill the replay stream with opt.replay records of 100 B
static int
s_nats_fill (s_bench_t *self)
{
    int64_t elapsed;
    if (s_nats_add_stream (self, S_NATS_REPLAY_STREAM)
    || s_nats_publish (self, S_NATS_REPLAY_STREAM, 100, self->opt.replay, true, &elapsed)
       != self->opt.replay)
        return -1;
    return 0;
}

typedef int64_t (s_nats_replay_fn) (s_bench_t *self, const char *name, int64_t count,
                                    int64_t *elapsed_p);

static s_point_t
s_nats_replay (s_bench_t *self, s_nats_replay_fn *replay)
{
    int64_t records [S_MAX_RUNS], elapsed [S_MAX_RUNS];
    int done = 0;
    for (int run = 0; run < self->opt.runs; run++) {
        records [done] = replay (self, S_NATS_REPLAY_STREAM, self->opt.replay, &elapsed [done]);
        if (records [done] < 0)
            break;
        done++;
    }
    return s_median (records, elapsed, done, 100);
}
#endif

//  -------------------------------------------------------------------------
//  zmx points (zmxd with the log service, through zmx_stream)

#define S_ZMX_REPLAY_STREAM "r100"

static bool
s_port_accepts (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool accepted = fd >= 0 && connect (fd, (struct sockaddr *) &address, sizeof address) == 0;
    if (fd >= 0)
        close (fd);
    return accepted;
}

//  Start zmxd running only the log service with `policy`, its store in
//  the scratch directory (the same one each time). Returns 0 or -1.
static int
s_zmxd_start (s_bench_t *self, s_policy_t policy)
{
    int port = bench_free_port ();
    if (port < 0)
        return -1;
    char *config_path = zsys_sprintf ("%s/zmxd.cfg", self->dir);
    char *log_path = zsys_sprintf ("%s/zmxd.log", self->dir);
    char *zmxd_path = zsys_sprintf ("%s/zmxd", self->exe_dir);
    FILE *file = fopen (config_path, "w");
    if (file) {
        //  max-credit: let one subscription hold the large credit a
        //  replaying client gives it; no ingest (its default ports may be
        //  taken, and nothing here uses it)
        fprintf (file, "zmxd\n    log-level = warning\n"
                       "log\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
                       "    data-directory = \"%s/zmx\"\n"
                       "    fsync = \"%s\"\n    fsync-interval = %d\n"
                       "    max-credit = %d\n"
                       "    ingest-endpoint = \"\"\n    syslog-endpoint = \"\"\n",
                 port, self->dir, s_policy_names [policy], S_SYNC_INTERVAL_MS, S_ZMX_CREDIT);
        fclose (file);
        char *argv [] = { zmxd_path, "-c", config_path, NULL };
        self->zmxd_pid = bench_spawn (argv, log_path);
    }
    int64_t deadline = bench_now_us () + S_START_TIMEOUT_MS * 1000LL;
    bool ready = false;
    while (self->zmxd_pid > 0 && !ready && bench_now_us () < deadline
       && waitpid (self->zmxd_pid, NULL, WNOHANG) == 0) {
        ready = s_port_accepts (port);
        if (!ready)
            zclock_sleep (10);
    }
    if (!ready) {
        fprintf (stderr, "bench_streams: %s did not start listening on port %d\n", zmxd_path,
                 port);
        bench_stop (&self->zmxd_pid);
        bench_print_log (log_path, 40);
    }
    snprintf (self->zmxd_endpoint, sizeof self->zmxd_endpoint, "tcp://127.0.0.1:%d", port);
    zstr_free (&config_path);
    zstr_free (&log_path);
    zstr_free (&zmxd_path);
    return ready? 0: -1;
}

//  Append `count` records of `body` bytes to `stream`, pipelined with the
//  client's window, bounded by time unless `all`; the clock stops when the
//  last is acknowledged. Returns the records acknowledged, or -1.
static int64_t
s_zmx_publish (s_bench_t *self, const char *stream, size_t body, int64_t count, bool all,
               int64_t *elapsed_p)
{
    zmx_stream_t *client = zmx_stream_new (self->zmxd_endpoint);
    if (!client)
        return -1;
    byte *data = (byte *) malloc (body);
    memset (data, 'b', body);
    int64_t start = bench_now_ns (), deadline = s_deadline (self), records = 0;
    int rc = ZMX_OK;
    while (records < count && (all || (records & 1023) || bench_now_ns () < deadline)) {
        rc = zmx_stream_append (client, stream, S_SUBJECT, NULL, 0, data, body, NULL, 0, NULL);
        if (rc != ZMX_OK)
            break;
        records++;
    }
    if (rc == ZMX_OK)
        rc = zmx_stream_sync (client, 120000);
    *elapsed_p = bench_now_ns () - start;
    if (rc != ZMX_OK || zmx_stream_acknowledged (client) != (uint64_t) records) {
        fprintf (stderr, "bench_streams: zmx append: %s (%s), %" PRIu64 " of %" PRId64
                 " acknowledged\n", zmx_strerror (rc), zmx_stream_error (client),
                 zmx_stream_acknowledged (client), records);
        records = -1;
    }
    zmx_stream_destroy (&client);
    free (data);
    return records;
}

static void
s_zmx_delete_stream (s_bench_t *self, const char *stream)
{
    zmx_stream_t *client = zmx_stream_new (self->zmxd_endpoint);
    if (client)
        zmx_stream_delete (client, stream, 30000);
    zmx_stream_destroy (&client);
}


static s_point_t
s_zmx_append (s_bench_t *self, size_t body, s_policy_t policy)
{
    int64_t records [S_MAX_RUNS], elapsed [S_MAX_RUNS];
    int done = 0;
    if (s_zmxd_start (self, policy))
        return (s_point_t) { 0 };
    for (int run = 0; run < self->opt.runs; run++) {
        char name [32];
        snprintf (name, sizeof name, "a%zu-%s-%d", body, s_policy_names [policy], run);
        records [done] = s_zmx_publish (self, name, body, self->opt.records, false,
                                        &elapsed [done]);
        s_zmx_delete_stream (self, name);
        if (records [done] < 0)
            break;
        done++;
    }
    bench_stop (&self->zmxd_pid);
    return s_median (records, elapsed, done, body);
}

//  Read `count` records of `body` bytes from the first through one
//  subscription, checking each sequence. Returns the records read or -1.
static int64_t
s_zmx_read (const char *endpoint, const char *stream, int64_t count, size_t body,
            uint32_t credit, int64_t *elapsed_p)
{
    zmx_stream_t *client = zmx_stream_new (endpoint);
    if (!client)
        return -1;
    if (credit)
        zmx_stream_set_credit (client, credit);
    int64_t start = bench_now_ns (), received = 0;
    int rc = zmx_stream_subscribe (client, 1, stream, NULL, ZMX_STREAM_FROM_FIRST, 0, NULL);
    zmx_stream_event_t event;
    while (rc == ZMX_OK && received < count
       && (rc = zmx_stream_next (client, &event, 10000)) == ZMX_OK) {
        if (event.type != ZMX_STREAM_EVENT_RECORD)
            continue;
        if (event.record.sequence != (uint64_t) received + 1 || event.record.body_size != body) {
            fprintf (stderr, "bench_streams: zmx replay: record %" PRIu64 " where %" PRId64
                     " was due\n", event.record.sequence, received + 1);
            rc = ZMX_EPROTO;
            break;
        }
        received++;
    }
    *elapsed_p = bench_now_ns () - start;
    if (rc != ZMX_OK || received != count) {
        fprintf (stderr, "bench_streams: zmx replay: %s (%s), %" PRId64 " of %" PRId64
                 " records\n", zmx_strerror (rc), zmx_stream_error (client), received, count);
        received = -1;
    }
    zmx_stream_destroy (&client);
    return received;
}


static s_point_t
s_zmx_replay (s_bench_t *self)
{
    int64_t records [S_MAX_RUNS], elapsed [S_MAX_RUNS];
    int done = 0;
    for (int run = 0; run < self->opt.runs; run++) {
        records [done] = s_zmx_read (self->zmxd_endpoint, S_ZMX_REPLAY_STREAM, self->opt.replay,
                                     100, S_ZMX_CREDIT, &elapsed [done]);
        if (records [done] < 0)
            break;
        done++;
    }
    return s_median (records, elapsed, done, 100);
}

//  ---- zmxd's RSS while S_RSS_SUBSCRIBERS replay one large stream

typedef struct {
    const char *endpoint;
    int64_t count;
    int64_t received;           //  -1 on failure
    int64_t elapsed;
    atomic_int *finished;       //  Readers done, shared
} s_reader_t;

static void *
s_reader (void *arg)
{
    s_reader_t *reader = (s_reader_t *) arg;
    //  The client's default credit: what a subscriber that does not ask
    //  for more holds (a credit of N records lets N records queue in zmxd)
    reader->received = s_zmx_read (reader->endpoint, "rss", reader->count, 1024, 0,
                                   &reader->elapsed);
    atomic_fetch_add (reader->finished, 1);
    return NULL;
}

//  Fills stream "rss" with `gib` GiB of 1 KiB records, then replays it with
//  S_RSS_SUBSCRIBERS clients at once (one thread each), sampling zmxd's
//  VmRSS every 20 ms. Prints the figures; returns the peak in KiB or -1.
static long
s_zmx_rss (s_bench_t *self, double gib)
{
    int64_t count = (int64_t) (gib * (1 << 30) / (double) s_disk_bytes (1024));
    int64_t elapsed = 0;
    printf ("\nzmxd's RSS while %d subscribers replay %" PRId64 " records of 1 KiB "
            "(%.1f GiB on disk) from the first:\n", S_RSS_SUBSCRIBERS, count,
            (double) count * s_disk_bytes (1024) / (1 << 30));
    long idle_kib = bench_rss_kib (self->zmxd_pid);
    if (s_zmx_publish (self, "rss", 1024, count, true, &elapsed) != count)
        return -1;
    printf ("  filled in %.1f s (%.0f rec/s); zmxd RSS %ld KiB before, %ld KiB after\n",
            elapsed / 1e9, count / (elapsed / 1e9), idle_kib, bench_rss_kib (self->zmxd_pid));
    //  Reset zmxd's VmHWM (Linux: clear_refs 5), so that it tells the peak
    //  of the replay alone; without that, only the samples count
    char *clear_path = zsys_sprintf ("/proc/%d/clear_refs", (int) self->zmxd_pid);
    int clear_fd = open (clear_path, O_WRONLY);
    bool hwm_reset = clear_fd >= 0 && write (clear_fd, "5", 1) == 1;
    if (clear_fd >= 0)
        close (clear_fd);
    zstr_free (&clear_path);
    s_reader_t readers [S_RSS_SUBSCRIBERS];
    pthread_t threads [S_RSS_SUBSCRIBERS];
    atomic_int finished = 0;
    for (int index = 0; index < S_RSS_SUBSCRIBERS; index++) {
        readers [index] = (s_reader_t) { self->zmxd_endpoint, count, 0, 0, &finished };
        pthread_create (&threads [index], NULL, s_reader, &readers [index]);
    }
    //  Sample until every reader is done (they end on their own: each stops
    //  at count or after 10 s without a record)
    long peak = 0;
    int64_t start = bench_now_ns ();
    while (atomic_load (&finished) < S_RSS_SUBSCRIBERS) {
        long rss = bench_rss_kib (self->zmxd_pid);
        if (rss > peak)
            peak = rss;
        zclock_sleep (20);
    }
    for (int index = 0; index < S_RSS_SUBSCRIBERS; index++)
        pthread_join (threads [index], NULL);
    double seconds = (bench_now_ns () - start) / 1e9;
    int64_t total = 0;
    bool failed = false;
    for (int index = 0; index < S_RSS_SUBSCRIBERS; index++) {
        failed |= readers [index].received != count;
        total += readers [index].received > 0? readers [index].received: 0;
    }
    long hwm = hwm_reset? bench_proc_kib (self->zmxd_pid, "VmHWM:"): -1;
    printf ("  %" PRId64 " records delivered in %.1f s (%.0f rec/s in all)%s; zmxd RSS peak "
            "%.1f MiB sampled every 20 ms, VmHWM of the replay %s%.1f MiB\n", total, seconds,
            total / seconds, failed? ", SOME SUBSCRIBERS FAILED": "", peak / 1024.0,
            hwm_reset? "": "(not reset: no /proc clear_refs) ", hwm / 1024.0);
    if (hwm > peak)
        peak = hwm;
    s_zmx_delete_stream (self, "rss");
    return failed? -1: peak;
}

//  -------------------------------------------------------------------------
//  Setup and report

static void
s_parse (s_options_t *options, int argc, char *argv [])
{
    *options = (s_options_t) { 500000, 1000000, 3, 10, false, 0, true, true, NULL };
    options->base = getenv ("TMPDIR")? getenv ("TMPDIR"): "/var/tmp";
    bool full = false;
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        if (streq (arg, "--full"))
            full = true;
        else
        if (streq (arg, "--rss"))
            options->rss = true;
        else
        if (streq (arg, "--no-zmx"))
            options->want_zmx = false;
        else
        if (streq (arg, "--no-nats"))
            options->want_nats = false;
        else
        if (value && streq (arg, "--records") && ++index)
            options->records = atoll (value);
        else
        if (value && streq (arg, "--replay") && ++index)
            options->replay = atoll (value);
        else
        if (value && streq (arg, "--runs") && ++index)
            options->runs = atoi (value);
        else
        if (value && streq (arg, "--seconds") && ++index)
            options->seconds = atoi (value);
        else
        if (value && streq (arg, "--rss-gib") && ++index)
            options->rss_gib = atof (value);
        else
        if (value && streq (arg, "--dir") && ++index)
            options->base = value;
        else {
            fprintf (stderr,
                "usage: bench_streams [--records N] [--replay N] [--runs R] [--seconds S]\n"
                "                     [--full] [--rss] [--rss-gib G] [--dir DIR]\n"
                "                     [--no-zmx] [--no-nats]\n"
                "  --records N   records per append run (default 500000)\n"
                "  --replay N    records in the replayed stream (default 1000000)\n"
                "  --runs R      runs per point, median printed (default 3, at most 9)\n"
                "  --seconds S   seconds per append run, at most (default 10)\n"
                "  --full        the issue's sizes: --replay 10000000 --rss\n"
                "  --rss         zmxd's RSS while 10 subscribers replay one stream\n"
                "  --rss-gib G   that stream's size (default: 10 GiB, less if the\n"
                "                disk has less than 3 times that free)\n");
            exit (2);
        }
    }
    if (full) {
        options->replay = 10000000;
        options->rss = true;
    }
    if (options->records < 1 || options->replay < 1 || options->runs < 1
    || options->runs > S_MAX_RUNS || options->seconds < 1 || options->rss_gib < 0)
        exit (2);
}

//  The machine, the date and the load, for the record
static void
s_print_machine (s_bench_t *self)
{
    char model [128] = "unknown CPU", line [256];
    FILE *file = fopen ("/proc/cpuinfo", "r");
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, "model name", 10) == 0 && strchr (line, ':')) {
            snprintf (model, sizeof model, "%s", strchr (line, ':') + 2);
            model [strcspn (model, "\n")] = 0;
            break;
        }
    if (file)
        fclose (file);
    double load [3] = { 0 };
    getloadavg (load, 3);
    struct statvfs disk;
    double free_gib = statvfs (self->dir, &disk) == 0
                    ? (double) disk.f_bavail * disk.f_frsize / (1 << 30): 0;
    char date [64];
    time_t now = time (NULL);
    strftime (date, sizeof date, "%Y-%m-%d %H:%M UTC", gmtime (&now));
    printf ("bench_streams: %s, %s, %ld CPUs, %.1f GiB RAM; scratch %s (%.0f GiB free)\n",
            date, model, sysconf (_SC_NPROCESSORS_ONLN),
            (double) sysconf (_SC_PHYS_PAGES) * sysconf (_SC_PAGESIZE) / (1 << 30), self->dir,
            free_gib);
    printf ("load average %.2f %.2f %.2f; %" PRId64 " records per append run (or %d s), "
            "%" PRId64 " replayed; medians of %d runs\n", load [0], load [1], load [2],
            self->opt.records, self->opt.seconds, self->opt.replay, self->opt.runs);
}

//  Cold replay: stop both servers, drop the page cache, start them again
//  on the same data, replay once each; --runs times
static void
s_replay_cold (s_bench_t *self, bool nats_ordered, s_point_t *zmx_p, s_point_t *nats_p)
{
    int64_t zmx_records [S_MAX_RUNS], zmx_elapsed [S_MAX_RUNS];
    int64_t nats_records [S_MAX_RUNS], nats_elapsed [S_MAX_RUNS];
    int zmx_done = 0, nats_done = 0;
    char why [128] = "";
    for (int run = 0; run < self->opt.runs && !why [0]; run++) {
        bool zmx = self->zmxd_pid > 0, nats = self->opt.want_nats;
        if (!zmx && !nats)
            break;
        bench_stop (&self->zmxd_pid);
#ifdef ZMX_HAVE_NATS
        if (nats)
            s_nats_stop (self);
#endif
        if (s_drop_caches (why, sizeof why))
            nats = false;
        if (zmx && s_zmxd_start (self, S_NEVER) == 0 && !why [0]) {
            zmx_records [zmx_done] = s_zmx_read (self->zmxd_endpoint, S_ZMX_REPLAY_STREAM,
                                                 self->opt.replay, 100, S_ZMX_CREDIT,
                                                 &zmx_elapsed [zmx_done]);
            if (zmx_records [zmx_done] >= 0)
                zmx_done++;
        }
#ifdef ZMX_HAVE_NATS
        if (self->opt.want_nats && s_nats_restart (self) == 0 && nats) {
            nats_records [nats_done] = nats_ordered
                ? s_nats_replay_ordered (self, S_NATS_REPLAY_STREAM, self->opt.replay,
                                         &nats_elapsed [nats_done])
                : s_nats_replay_pull (self, S_NATS_REPLAY_STREAM, self->opt.replay,
                                      &nats_elapsed [nats_done]);
            if (nats_records [nats_done] >= 0)
                nats_done++;
        }
#else
        (void) nats_ordered;
#endif
    }
    *zmx_p = s_median (zmx_records, zmx_elapsed, zmx_done, 100);
    *nats_p = s_median (nats_records, nats_elapsed, nats_done, 100);
    if (why [0])
        printf ("  cold: not measured (%s)\n", why);
}

//  Ratios, published figures and the targets
static void
s_report (s_bench_t *self, s_point_t raw [2][S_POLICIES], s_point_t zmx [2][S_POLICIES],
          s_point_t nats [2], s_point_t zmx_replay, s_point_t nats_replay, bool nats_ordered,
          long peak_kib, double gib)
{
    printf ("\nratios (records/s):\n");
    const char *sizes [] = { "100 B", "1 KiB" };
    char one [16], two [16];
    for (int size = 0; size < 2; size++)
        for (int policy = 0; policy < S_POLICIES; policy++)
            printf ("  zmx append %s, fsync %-8s  %s raw (same fsync)   %s JetStream\n",
                    sizes [size], s_policy_names [policy],
                    s_ratio_text (zmx [size][policy], raw [size][policy], one, sizeof one),
                    s_ratio_text (zmx [size][policy], nats [size], two, sizeof two));
    printf ("  zmx replay 100 B, warm            %s JetStream (%s consumer)\n",
            s_ratio_text (zmx_replay, nats_replay, one, sizeof one),
            nats_ordered? "ordered": "pull");
    printf ("published for scale: Kafka 821 k rec/s from one producer (100 B, 2014); "
            "JetStream 272 k msg/s\nasync publish and 777 k msg/s ordered replay (NATS docs, "
            "one laptop)\n\ntargets:\n");
    char figure [128];
    s_point_t append = zmx [0][S_INTERVAL];
    snprintf (figure, sizeof figure, "%.2f M rec/s", append.rate / 1e6);
    s_target ("append, fsync interval, 100 B >= 1 M records/s", append.measured,
              append.rate >= 1e6, figure);
    snprintf (figure, sizeof figure, "%.2f x", s_ratio (append, nats [0]));
    s_target ("append, fsync interval, 100 B >= 2 x JetStream", append.measured
              && nats [0].measured, s_ratio (append, nats [0]) >= 2, figure);
    snprintf (figure, sizeof figure, "%.2f M rec/s", zmx_replay.rate / 1e6);
    s_target ("replay >= 3 M records/s", zmx_replay.measured, zmx_replay.rate >= 3e6, figure);
    snprintf (figure, sizeof figure, "%.2f x", s_ratio (zmx_replay, nats_replay));
    s_target ("replay >= 3 x JetStream", zmx_replay.measured && nats_replay.measured,
              s_ratio (zmx_replay, nats_replay) >= 3, figure);
    //  Bandwidth: the store's bytes on disk against raw write() of the same
    //  bytes with the same fsync policy (the disk's sequential bandwidth at
    //  that durability); raw without fsync only fills the page cache
    double zmx_mbps = zmx [1][S_INTERVAL].rate * s_disk_bytes (1024) / 1e6;
    double raw_mbps = raw [1][S_INTERVAL].rate * s_disk_bytes (1024) / 1e6;
    double cache_mbps = raw [1][S_NEVER].rate * s_disk_bytes (1024) / 1e6;
    snprintf (figure, sizeof figure, "%.0f of %.0f MB/s: %.0f %%; %.0f %% of %.0f without fsync",
              zmx_mbps, raw_mbps, raw_mbps > 0? 100 * zmx_mbps / raw_mbps: 0,
              cache_mbps > 0? 100 * zmx_mbps / cache_mbps: 0, cache_mbps);
    s_target ("append, fsync interval, 1 KiB >= 50 % of raw write(), interval",
              zmx [1][S_INTERVAL].measured, zmx_mbps >= raw_mbps / 2, figure);
    if (peak_kib >= 0 || self->opt.rss) {
        snprintf (figure, sizeof figure, "%.1f MiB, %d subscribers, %.1f GiB stream",
                  peak_kib / 1024.0, S_RSS_SUBSCRIBERS, gib);
        s_target ("zmxd RSS < 64 MiB, 10 subscribers replaying", peak_kib >= 0,
                  peak_kib < 64 * 1024, figure);
    }
    else
        printf ("  target %-64s not measured (--rss or --full)\n",
                "zmxd RSS < 64 MiB, 10 subscribers replaying");
}

static void
s_print_vs (const char *what, s_point_t point, s_point_t base, const char *base_name)
{
    char note [96] = "";
    if (point.measured && base.measured)
        snprintf (note, sizeof note, "%6.2f x %s", s_ratio (point, base), base_name);
    s_print (what, point, note);
}

int
main (int argc, char *argv [])
{
    s_bench_t bench = { 0 }, *self = &bench;
    s_parse (&self->opt, argc, argv);
    self->dir = zsys_sprintf ("%s/bench-streams-XXXXXX", self->opt.base);
    if (!mkdtemp (self->dir)) {
        perror (self->dir);
        return 1;
    }
    char exe [4096];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (length <= 0)
        return 1;
    exe [length] = 0;
    *strrchr (exe, '/') = 0;
    self->exe_dir = strdup (exe);
    s_print_machine (self);

#ifdef ZMX_HAVE_NATS
    if (self->opt.want_nats && (s_nats_server_start (self) || s_nats_connect (self))) {
        s_nats_stop (self);
        self->opt.want_nats = false;
    }
#else
    if (self->opt.want_nats)
        fprintf (stderr, "bench_streams: built without libnats: JetStream skipped\n");
    self->opt.want_nats = false;
#endif

    //  (a), (b), (d): appends
    size_t bodies [] = { 100, 1024 };
    s_point_t raw [2][S_POLICIES], zmx [2][S_POLICIES], nats [2] = { { 0 } };
    for (int size = 0; size < 2; size++) {
        size_t body = bodies [size];
        printf ("\nappends of %zu B records (%zu B each on disk in zmx's store; batches of %zu "
                "records):\n", body, s_disk_bytes (body), s_batch_records (body));
        for (int policy = 0; policy < S_POLICIES; policy++) {
            char label [64];
            snprintf (label, sizeof label, "raw write(), fsync %s", s_policy_names [policy]);
            raw [size][policy] = s_raw (self, body, (s_policy_t) policy);
            char note [64];
            snprintf (note, sizeof note, "%7.1f MB/s written",
                      raw [size][policy].rate * s_disk_bytes (body) / 1e6);
            s_print (label, raw [size][policy], note);
        }
        for (int policy = 0; policy < S_POLICIES; policy++) {
            char label [64];
            snprintf (label, sizeof label, "zmx append, fsync %s", s_policy_names [policy]);
            zmx [size][policy] = self->opt.want_zmx
                               ? s_zmx_append (self, body, (s_policy_t) policy): (s_point_t) { 0 };
            s_print_vs (label, zmx [size][policy], raw [size][policy], "raw");
        }
#ifdef ZMX_HAVE_NATS
        if (self->opt.want_nats)
            nats [size] = s_nats_append (self, body);
#endif
        s_print ("JetStream publish async (2.9: as never)", nats [size], NULL);
    }

    //  (c), (d): replay, warm then cold
    printf ("\nreplay of %" PRId64 " records of 100 B from the first:\n", self->opt.replay);
    s_point_t zmx_warm = { 0 }, zmx_cold = { 0 }, nats_ordered = { 0 }, nats_pull = { 0 };
    int64_t elapsed = 0;
    if (self->opt.want_zmx
    && (s_zmxd_start (self, S_NEVER)
        || s_zmx_publish (self, S_ZMX_REPLAY_STREAM, 100, self->opt.replay, true, &elapsed)
           != self->opt.replay)) {
        bench_stop (&self->zmxd_pid);
        self->opt.want_zmx = false;
    }
    if (self->opt.want_zmx)
        zmx_warm = s_zmx_replay (self);
    s_print ("zmx subscription, warm", zmx_warm, NULL);
#ifdef ZMX_HAVE_NATS
    if (self->opt.want_nats && s_nats_fill (self) == 0) {
        nats_ordered = s_nats_replay (self, s_nats_replay_ordered);
        nats_pull = s_nats_replay (self, s_nats_replay_pull);
    }
#endif
    s_print ("JetStream ordered consumer, warm", nats_ordered, NULL);
    s_print ("JetStream pull consumer, warm", nats_pull, NULL);
    bool nats_ordered_best = nats_ordered.rate >= nats_pull.rate;
    s_point_t nats_warm = nats_ordered_best? nats_ordered: nats_pull, nats_cold = { 0 };
    s_replay_cold (self, nats_ordered_best, &zmx_cold, &nats_cold);
    if (zmx_cold.measured || nats_cold.measured) {
        s_print ("zmx subscription, cold", zmx_cold, NULL);
        s_print (nats_ordered_best? "JetStream ordered consumer, cold"
                                  : "JetStream pull consumer, cold", nats_cold, NULL);
    }
#ifdef ZMX_HAVE_NATS
    if (self->opt.want_nats) {
        s_nats_delete_stream (self, S_NATS_REPLAY_STREAM);
        s_nats_stop (self);
    }
#endif
    if (self->zmxd_pid > 0)
        s_zmx_delete_stream (self, S_ZMX_REPLAY_STREAM);

    //  RSS under 10 subscribers
    long peak_kib = -1;
    double gib = self->opt.rss_gib;
    if (self->opt.rss && self->zmxd_pid > 0) {
        if (gib == 0) {
            struct statvfs disk;
            double free_gib = statvfs (self->dir, &disk) == 0
                            ? (double) disk.f_bavail * disk.f_frsize / (1 << 30): 0;
            gib = free_gib / 3 < 10? free_gib / 3: 10;
        }
        peak_kib = s_zmx_rss (self, gib);
    }
    bench_stop (&self->zmxd_pid);

    s_report (self, raw, zmx, nats, zmx_warm, nats_warm, nats_ordered_best, peak_kib, gib);
    zdir_t *dir = zdir_new (self->dir, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);
    zstr_free (&self->dir);
    free (self->exe_dir);
    return 0;
}
