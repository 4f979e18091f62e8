/*  =========================================================================
    test_chaos - durable and plain requests while processes die

    One zmxd (broker + titanic) and two worker processes serve service
    "chaos". Two clients run for S_CHAOS_MS: one submits durable requests
    through titanic.request, one sends plain requests with a bounded
    timeout. Meanwhile the test kills (SIGKILL) and restarts a worker or
    zmxd itself at random moments. Afterwards:

    - every durable request that was acknowledged has its reply, equal to
      what was sent, stored once (lost = 0, wrong = 0); requests the
      workers ran more than once (at-least-once dispatch) are counted;
    - every plain request either got its own reply or failed with an error
      within its timeout (none hung).

    "test_chaos --worker ENDPOINT SERVICE LOG" is the worker process: it
    echoes each request and appends the body to LOG before replying.
    =========================================================================
*/
#include "testing.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_CHAOS_MS      30000   //  How long the killing goes on
#define S_VERIFY_MS     20000   //  Longest wait for all replies after it
#define S_HEARTBEAT     200     //  msec, zmxd and workers alike
#define S_WORKERS       2
#define S_PLAIN_TIMEOUT 500     //  Plain client: msec per attempt
#define S_PLAIN_RETRIES 0       //  Plain client: no retry, so kills show as errors
#define S_HANG_SLACK    1500    //  Beyond its timeout, a call has hung

typedef struct {
    char *dir;                  //  private temp directory
    char *data;                 //  titanic's directory
    char *config;               //  zmxd config
    char *endpoint;             //  broker endpoint
    int port;
    pid_t zmxd;
    pid_t workers [S_WORKERS];
    char *worker_logs [S_WORKERS];
    int zmxd_kills, worker_kills;
} s_world_t;

//  -------------------------------------------------------------------------
//  The worker process

static int
s_worker_main (const char *endpoint, const char *service, const char *log_path)
{
    int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    zmx_worker_t *worker = zmx_worker_new (endpoint, service);
    if (fd < 0 || !worker)
        return 1;
    zmx_worker_set_heartbeat (worker, S_HEARTBEAT, 3);
    zmx_worker_set_reconnect (worker, 50, 500);
    while (!zsys_interrupted) {
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (worker, 100, &reply_to);
        if (!request)
            continue;
        //  A little work, so that kills land inside requests too. Record
        //  the execution before answering: a kill in between shows up as
        //  a request run and never answered
        zclock_sleep (2);
        zframe_t *body = zmsg_first (request);
        char line [300];
        size_t size = body && zframe_size (body) < 256? zframe_size (body): 0;
        memcpy (line, body? zframe_data (body): (byte *) "", size);
        line [size] = '\n';
        if (write (fd, line, size + 1) < 0)
            break;
        zmx_worker_send (worker, &request, &reply_to);
    }
    zmx_worker_destroy (&worker);
    close (fd);
    return 0;
}

//  -------------------------------------------------------------------------
//  Processes

static s_world_t
s_world_new (void)
{
    s_world_t world;
    memset (&world, 0, sizeof world);
    world.dir = zmx_test_tmpdir ();
    world.data = zsys_sprintf ("%s/titanic", world.dir);
    world.port = zmx_test_free_port ();
    world.endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", world.port);
    world.config = zsys_sprintf ("%s/zmxd.cfg", world.dir);
    char *text = zsys_sprintf (
        "broker\n    endpoint = \"%s\"\n    heartbeat-interval = %d\n"
        "titanic\n    endpoint = \"%s\"\n    directory = \"%s\"\n"
        "    heartbeat-interval = %d\n    retry-interval = 200\n"
        "    dispatch-timeout = 1000\n",
        world.endpoint, S_HEARTBEAT, world.endpoint, world.data, S_HEARTBEAT);
    ZMX_CHECK (zmx_test_write_file (world.config, text) == 0);
    free (text);
    for (int index = 0; index < S_WORKERS; index++)
        world.worker_logs [index] = zsys_sprintf ("%s/worker%d.log", world.dir, index);
    return world;
}

static void
s_zmxd_start (s_world_t *world)
{
    char *zmxd = zmx_test_bin ("zmxd");
    char *log = zsys_sprintf ("%s/zmxd.log", world->dir);
    char *argv [] = { zmxd, "-c", world->config, NULL };
    world->zmxd = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_port (world->port, 10000));
    free (log);
    free (zmxd);
}

static void
s_worker_start (s_world_t *world, int index)
{
    char *self = zmx_test_bin ("test_chaos");
    char *log = zsys_sprintf ("%s/workers.out", world->dir);
    char *argv [] = { self, "--worker", world->endpoint, "chaos",
                      world->worker_logs [index], NULL };
    world->workers [index] = zmx_test_spawn (argv, log);
    free (log);
    free (self);
}

static void
s_kill9 (pid_t pid)
{
    kill (pid, SIGKILL);
    waitpid (pid, NULL, 0);
}

static void
s_world_destroy (s_world_t *world)
{
    for (int index = 0; index < S_WORKERS; index++) {
        zmx_test_stop (world->workers [index], 2000);
        free (world->worker_logs [index]);
    }
    zmx_test_stop (world->zmxd, 3000);
    zmx_test_rmdir (world->dir);
    free (world->dir);
    free (world->data);
    free (world->config);
    free (world->endpoint);
}

//  One random blow: a worker, or (one time in three) zmxd itself.
static void
s_strike (s_world_t *world)
{
    int target = (int) (random () % (S_WORKERS + 1));
    if (target < S_WORKERS) {
        s_kill9 (world->workers [target]);
        world->worker_kills++;
        s_worker_start (world, target);
    }
    else {
        s_kill9 (world->zmxd);
        world->zmxd_kills++;
        zclock_sleep ((int) (random () % 200));
        s_zmxd_start (world);
    }
}

//  -------------------------------------------------------------------------
//  Clients

static zmsg_t *
s_request (zmx_client_t *client, const char *service, const char *frame1, const char *frame2)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, frame1);
    if (frame2)
        zmsg_addstr (request, frame2);
    return zmx_client_request (client, service, &request);
}

//  Durable client: submits until told to stop; "ACK" uuid body up the
//  pipe per acknowledgement, then "DONE" submitted refused.
static void
s_durable_client (zsock_t *pipe, void *args)
{
    const char *endpoint = (const char *) args;
    zmx_client_t *client = zmx_client_new (endpoint);
    zmx_client_set_timeout (client, 1000);
    zmx_client_set_retries (client, 0);     //  A resend would store twice
    zsock_signal (pipe, 0);
    uint64_t submitted = 0, unacknowledged = 0;
    while (!(zsock_events (pipe) & ZMQ_POLLIN)) {
        char *body = zsys_sprintf ("d-%" PRIu64, submitted++);
        zmsg_t *reply = s_request (client, ZMX_TITANIC_REQUEST, "chaos", body);
        char *status = reply? zmsg_popstr (reply): NULL;
        char *uuid = reply? zmsg_popstr (reply): NULL;
        if (status && streq (status, ZMX_TITANIC_OK) && uuid)
            zstr_sendx (pipe, "ACK", uuid, body, NULL);
        else
            unacknowledged++;
        zstr_free (&status);
        zstr_free (&uuid);
        zstr_free (&body);
        zmsg_destroy (&reply);
        zclock_sleep (5);
    }
    zmx_client_destroy (&client);
    zstr_sendm (pipe, "DONE");
    zstr_sendfm (pipe, "%" PRIu64, submitted);
    zstr_sendf (pipe, "%" PRIu64, unacknowledged);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

//  Plain client: requests until told to stop, then "DONE" ok failed wrong
//  hung slowest_ms.
static void
s_plain_client (zsock_t *pipe, void *args)
{
    const char *endpoint = (const char *) args;
    zmx_client_t *client = zmx_client_new (endpoint);
    zmx_client_set_timeout (client, S_PLAIN_TIMEOUT);
    zmx_client_set_retries (client, S_PLAIN_RETRIES);
    zsock_signal (pipe, 0);
    int64_t limit = S_PLAIN_TIMEOUT * (S_PLAIN_RETRIES + 1) + S_HANG_SLACK;
    int64_t slowest = 0;
    uint64_t ok = 0, failed = 0, wrong = 0, hung = 0;
    for (uint64_t index = 0; !(zsock_events (pipe) & ZMQ_POLLIN); index++) {
        char *body = zsys_sprintf ("p-%" PRIu64, index);
        int64_t start = zclock_mono ();
        zmsg_t *reply = s_request (client, "chaos", body, NULL);
        int64_t elapsed = zclock_mono () - start;
        slowest = elapsed > slowest? elapsed: slowest;
        hung += elapsed > limit;
        char *text = reply? zmsg_popstr (reply): NULL;
        if (!reply)
            failed++;           //  Visible: NULL and an error code
        else
        if (text && streq (text, body))
            ok++;
        else
            wrong++;
        zstr_free (&text);
        zstr_free (&body);
        zmsg_destroy (&reply);
        zclock_sleep (5);
    }
    zmx_client_destroy (&client);
    zstr_sendm (pipe, "DONE");
    zstr_sendfm (pipe, "%" PRIu64, ok);
    zstr_sendfm (pipe, "%" PRIu64, failed);
    zstr_sendfm (pipe, "%" PRIu64, wrong);
    zstr_sendfm (pipe, "%" PRIu64, hung);
    zstr_sendf (pipe, "%" PRId64, slowest);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

//  Take every ACK the durable client queued (uuid -> body) without waiting.
static void
s_drain_acks (zactor_t *client, zhashx_t *acked)
{
    while (zsock_events (zactor_sock (client)) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (client);
        char *kind = zmsg_popstr (msg);
        if (streq (kind, "ACK")) {
            char *uuid = zmsg_popstr (msg);
            char *body = zmsg_popstr (msg);
            zhashx_insert (acked, uuid, body);
            free (uuid);
        }
        free (kind);
        zmsg_destroy (&msg);
    }
}

//  Stop a client actor; returns its DONE message without the "DONE" (the
//  caller owns it), having collected ACKs on the way.
static zmsg_t *
s_client_stop (zactor_t *client, zhashx_t *acked)
{
    zstr_send (client, "STOP");
    while (true) {
        zmsg_t *msg = zmsg_recv (client);
        ZMX_CHECK (msg);
        char *kind = zmsg_popstr (msg);
        if (streq (kind, "DONE")) {
            free (kind);
            return msg;
        }
        char *uuid = zmsg_popstr (msg);
        char *body = zmsg_popstr (msg);
        zhashx_insert (acked, uuid, body);
        free (uuid);
        free (kind);
        zmsg_destroy (&msg);
    }
}

static uint64_t
s_pop_number (zmsg_t *msg)
{
    char *text = zmsg_popstr (msg);
    uint64_t value = text? strtoull (text, NULL, 10): 0;
    free (text);
    return value;
}

//  -------------------------------------------------------------------------
//  Verification

//  Times each body was run, from every worker log: body -> count.
static zhashx_t *
s_executions (s_world_t *world)
{
    zhashx_t *runs = zhashx_new ();
    for (int index = 0; index < S_WORKERS; index++) {
        char *text = zmx_test_read_file (world->worker_logs [index]);
        char *cursor = text, *line;
        while ((line = strsep (&cursor, "\n")))
            if (*line) {
                uintptr_t count = (uintptr_t) zhashx_lookup (runs, line);
                zhashx_update (runs, line, (void *) (count + 1));
            }
        free (text);
    }
    return runs;
}

//  The reply stored for uuid, polled until deadline; NULL if none.
static char *
s_fetch (zmx_client_t *client, const char *uuid, int64_t deadline)
{
    while (true) {
        zmsg_t *reply = s_request (client, ZMX_TITANIC_REPLY, uuid, NULL);
        char *status = reply? zmsg_popstr (reply): NULL;
        char *body = status && streq (status, ZMX_TITANIC_OK)? zmsg_popstr (reply): NULL;
        free (status);
        zmsg_destroy (&reply);
        if (body || zclock_mono () >= deadline)
            return body;
        zclock_sleep (50);
    }
}

static bool
s_reply_file (s_world_t *world, const char *uuid)
{
    char *path = zsys_sprintf ("%s/%s.rep", world->data, uuid);
    bool exists = access (path, F_OK) == 0;
    free (path);
    return exists;
}

typedef struct {
    size_t acked, replied, lost, wrong, unstored, executed_more;
} s_durable_result_t;

static s_durable_result_t
s_verify_durable (s_world_t *world, zhashx_t *acked)
{
    s_durable_result_t result = { zhashx_size (acked), 0, 0, 0, 0, 0 };
    zmx_client_t *client = zmx_client_new (world->endpoint);
    zmx_client_set_timeout (client, 1000);
    zmx_client_set_retries (client, 3);
    int64_t deadline = zclock_mono () + S_VERIFY_MS;
    zhashx_t *runs = s_executions (world);
    for (char *body = (char *) zhashx_first (acked); body; body = (char *) zhashx_next (acked)) {
        const char *uuid = (const char *) zhashx_cursor (acked);
        char *reply = s_fetch (client, uuid, deadline);
        if (!reply)
            result.lost++;
        else
        if (!streq (reply, body))
            result.wrong++;
        else {
            result.replied++;
            result.unstored += !s_reply_file (world, uuid);
            zmsg_t *closed = s_request (client, ZMX_TITANIC_CLOSE, uuid, NULL);
            zmsg_destroy (&closed);
        }
        free (reply);
    }
    //  Bodies are read now: runs that finished while we fetched count too
    zhashx_destroy (&runs);
    runs = s_executions (world);
    for (char *body = (char *) zhashx_first (acked); body; body = (char *) zhashx_next (acked)) {
        uintptr_t count = (uintptr_t) zhashx_lookup (runs, body);
        result.executed_more += count > 1? count - 1: 0;
    }
    zhashx_destroy (&runs);
    zmx_client_destroy (&client);
    return result;
}

//  -------------------------------------------------------------------------

static void
s_chaos (void)
{
    srandom ((unsigned) getpid ());
    s_world_t world = s_world_new ();
    s_zmxd_start (&world);
    for (int index = 0; index < S_WORKERS; index++)
        s_worker_start (&world, index);
    zhashx_t *acked = zhashx_new ();
    zhashx_set_destructor (acked, (zhashx_destructor_fn *) zstr_free);
    zactor_t *durable = zactor_new (s_durable_client, world.endpoint);
    zactor_t *plain = zactor_new (s_plain_client, world.endpoint);

    int64_t end = zclock_mono () + S_CHAOS_MS;
    while (zclock_mono () < end) {
        zclock_sleep (300 + (int) (random () % 1200));
        s_drain_acks (durable, acked);
        s_strike (&world);
    }
    zmsg_t *durable_done = s_client_stop (durable, acked);
    zmsg_t *plain_done = s_client_stop (plain, acked);
    zactor_destroy (&durable);
    zactor_destroy (&plain);
    uint64_t submitted = s_pop_number (durable_done);
    uint64_t unacknowledged = s_pop_number (durable_done);
    uint64_t plain_ok = s_pop_number (plain_done), plain_failed = s_pop_number (plain_done);
    uint64_t plain_wrong = s_pop_number (plain_done), plain_hung = s_pop_number (plain_done);
    uint64_t plain_slowest = s_pop_number (plain_done);
    zmsg_destroy (&durable_done);
    zmsg_destroy (&plain_done);

    s_durable_result_t result = s_verify_durable (&world, acked);
    printf ("    kills: zmxd %d, workers %d\n", world.zmxd_kills, world.worker_kills);
    printf ("    durable: submitted %" PRIu64 ", acknowledged %zu, not acknowledged %" PRIu64
            ", replied %zu, lost %zu, wrong %zu, reply file missing %zu, extra runs %zu\n",
            submitted, result.acked, unacknowledged, result.replied, result.lost,
            result.wrong, result.unstored, result.executed_more);
    printf ("    plain: ok %" PRIu64 ", failed with error %" PRIu64 ", wrong %" PRIu64
            ", hung %" PRIu64 ", slowest %" PRIu64 " ms\n", plain_ok, plain_failed,
            plain_wrong, plain_hung, plain_slowest);
    fflush (stdout);
    ZMX_CHECK (world.zmxd_kills + world.worker_kills > 0);
    ZMX_CHECK (result.acked > 0);
    ZMX_CHECK (result.lost == 0);
    ZMX_CHECK (result.wrong == 0);
    ZMX_CHECK (result.unstored == 0);
    ZMX_CHECK (plain_ok > 0);
    ZMX_CHECK (plain_wrong == 0);
    ZMX_CHECK (plain_hung == 0);
    zhashx_destroy (&acked);
    s_world_destroy (&world);
}

int
main (int argc, char *argv [])
{
    if (argc == 5 && streq (argv [1], "--worker"))
        return s_worker_main (argv [2], argv [3], argv [4]);
    zmx_test_t cases [] = {
        { "chaos", s_chaos, 100 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
