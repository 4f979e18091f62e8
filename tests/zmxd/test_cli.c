/*  =========================================================================
    test_cli - the `zmx` command against a real zmxd

    Each case starts its own zmxd (heartbeat 200 ms, port free a moment
    ago) and `zmx worker` processes, waits until the broker lists the
    workers, then runs `zmx` commands and checks their output and exit
    codes. Waits are polls with deadlines, never fixed sleeps.
    =========================================================================
*/
#include "testing.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_START_MSEC    5000    //  Longest a process may take to be ready
#define S_CALL_MSEC     5000    //  Longest one `zmx` run may take
#define S_BIG_CALL_MSEC 30000   //  The same moving tens of MB on a loaded machine
#define S_MAX_ARGS      32
#define S_MAX_WORKERS   8

typedef struct {
    char *dir;                  //  Private directory: config, logs, keys
    char *endpoint;             //  The broker's endpoint
    pid_t zmxd;                 //  The daemon
    pid_t workers [S_MAX_WORKERS];
    int worker_count;
} s_env_t;

//  Collect `zmx` plus the NULL-terminated arguments into argv.
static void
s_build_argv (char *argv [], va_list args)
{
    argv [0] = zmx_test_bin ("zmx");
    int count = 1;
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 1)
        argv [count++] = (char *) arg;
    argv [count] = NULL;
}

//  Run `zmx ARGS... NULL`; stdout in *output_p (caller frees, may be
//  NULL). Returns the exit code, -1 if it had to be killed.
static int
s_zmx (char **output_p, ...)
{
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, output_p);
    s_build_argv (argv, args);
    va_end (args);
    int rc = zmx_test_run (argv, NULL, S_CALL_MSEC, output_p);
    free (argv [0]);
    return rc;
}

//  Run `zmx ARGS... NULL` with stdout and stderr to log_path; returns the
//  exit code (-1 if killed) and the run time in *elapsed_p.
static int
s_zmx_logged (const char *log_path, int64_t *elapsed_p, ...)
{
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, elapsed_p);
    s_build_argv (argv, args);
    va_end (args);
    int64_t started = zclock_mono ();
    pid_t pid = zmx_test_spawn (argv, log_path);
    int rc = zmx_test_exit_code (pid, S_CALL_MSEC, 100);
    *elapsed_p = zclock_mono () - started;
    free (argv [0]);
    return rc;
}

//  Run `zmx ARGS... NULL` with stdin from in_path (NULL: /dev/null),
//  stdout to out_path and stderr to err_path; returns the exit code (-1
//  if it had to be killed after S_BIG_CALL_MSEC).
static int
s_zmx_files (const char *in_path, const char *out_path, const char *err_path, ...)
{
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, err_path);
    s_build_argv (argv, args);
    va_end (args);
    pid_t pid = fork ();
    ZMX_CHECK (pid >= 0);
    if (pid == 0) {
        int in = open (in_path? in_path: "/dev/null", O_RDONLY);
        int out = open (out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int err = open (err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || err < 0)
            _exit (127);
        dup2 (in, 0);
        dup2 (out, 1);
        dup2 (err, 2);
        execv (argv [0], argv);
        _exit (127);
    }
    free (argv [0]);
    return zmx_test_exit_code (pid, S_BIG_CALL_MSEC, 100);
}

//  Make the private directory and pick the broker's endpoint.
static void
s_env_init (s_env_t *env)
{
    memset (env, 0, sizeof *env);
    env->dir = zmx_test_tmpdir ();
    env->endpoint = zmx_test_free_endpoint ();
}

//  Start zmxd with a broker section (heartbeat interval_ms x 3) after
//  `sections` (more config, may be NULL), and wait until it says it is
//  ready.
static void
s_env_launch_heartbeat (s_env_t *env, const char *sections, int interval_ms)
{
    char *config = zsys_sprintf ("%s/zmxd.cfg", env->dir);
    char *text = zsys_sprintf ("%sbroker\n    endpoint = \"%s\"\n"
                               "    heartbeat-interval = %d\n    heartbeat-liveness = 3\n",
                               sections? sections: "", env->endpoint, interval_ms);
    ZMX_CHECK (zmx_test_write_file (config, text) == 0);
    char *log = zsys_sprintf ("%s/zmxd.log", env->dir);
    char *bin = zmx_test_bin ("zmxd");
    char *argv [] = { bin, "-c", config, NULL };
    env->zmxd = zmx_test_spawn (argv, log);
    char *line = zsys_sprintf ("zmxd: broker on %s\n", env->endpoint);
    ZMX_CHECK (zmx_test_wait_for_text (log, line, S_START_MSEC));
    free (line);
    free (bin);
    free (log);
    free (text);
    free (config);
}

//  The same with heartbeat 200 ms.
static void
s_env_launch (s_env_t *env, const char *sections)
{
    s_env_launch_heartbeat (env, sections, 200);
}

static void
s_env_start (s_env_t *env)
{
    s_env_init (env);
    s_env_launch (env, NULL);
}

static void
s_env_stop (s_env_t *env)
{
    for (int index = 0; index < env->worker_count; index++)
        zmx_test_stop (env->workers [index], 2000);
    zmx_test_stop (env->zmxd, 2000);
    zmx_test_rmdir (env->dir);
    free (env->dir);
    free (env->endpoint);
}

//  Start `zmx worker -b EP --heartbeat 200 SERVICE ARGS... NULL`, logging
//  to DIR/worker-N.log. Returns its pid.
static pid_t
s_env_worker (s_env_t *env, const char *service, ...)
{
    ZMX_CHECK (env->worker_count < S_MAX_WORKERS);
    char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx"), "worker", "-b", env->endpoint,
                                "--heartbeat", "200", (char *) service };
    int count = 7;
    va_list args;
    va_start (args, service);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 1)
        argv [count++] = (char *) arg;
    va_end (args);
    argv [count] = NULL;
    char *log = zsys_sprintf ("%s/worker-%d.log", env->dir, env->worker_count);
    pid_t pid = zmx_test_spawn (argv, log);
    env->workers [env->worker_count++] = pid;
    free (log);
    free (argv [0]);
    return pid;
}

//  The WORKERS and QUEUED columns of `zmx services` for one service;
//  false if the service is not listed.
static bool
s_service_row (s_env_t *env, const char *service, int *workers, int *queued)
{
    char *output = NULL;
    int rc = s_zmx (&output, "services", "-b", env->endpoint, NULL);
    bool found = false;
    char *line = output;
    while (rc == 0 && line && *line && !found) {
        char name [256];
        found = sscanf (line, "%255s %d %d", name, workers, queued) == 3
             && streq (name, service);
        line = strchr (line, '\n');
        line = line? line + 1: NULL;
    }
    free (output);
    return found;
}

//  Wait until the broker lists `service` with `workers` workers.
static void
s_env_wait_workers (s_env_t *env, const char *service, int workers)
{
    int64_t deadline = zclock_mono () + S_START_MSEC;
    int listed = -1, queued = 0;
    while (!(s_service_row (env, service, &listed, &queued) && listed == workers)) {
        if (zclock_mono () >= deadline) {
            fprintf (stderr, "    service %s has %d workers, expected %d\n", service,
                     listed, workers);
            ZMX_CHECK (false);
        }
        usleep (10000);
    }
}

static void
s_call_echo_prints_frames (void)
{
    s_env_t env;
    s_env_start (&env);
    s_env_worker (&env, "echo", "--echo", NULL);
    s_env_wait_workers (&env, "echo", 1);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "echo", "hello", "world", NULL)
               == 0);
    ZMX_CHECK_STR (output, "hello\nworld\n");
    free (output);
    //  $ZMX_BROKER is the default endpoint
    setenv ("ZMX_BROKER", env.endpoint, 1);
    ZMX_CHECK (s_zmx (&output, "call", "--hex", "echo", "hi", NULL) == 0);
    ZMX_CHECK_STR (output, "6869\n");
    free (output);
    s_env_stop (&env);
}

//  True if the file at `path` holds exactly `size` bytes of `data`.
static bool
s_file_is (const char *path, const void *data, size_t size)
{
    zchunk_t *chunk = zchunk_slurp (path, 0);
    bool same = chunk && zchunk_size (chunk) == size && memcmp (zchunk_data (chunk), data,
                                                                size) == 0;
    zchunk_destroy (&chunk);
    return same;
}

//  A FRAME of - is stdin and @FILE a file's contents, for bodies larger
//  than a command line can hold (10 MB here); @@ escapes a leading @, and
//  a missing FILE is a usage error.
static void
s_call_body_sources (void)
{
    s_env_t env;
    s_env_start (&env);
    s_env_worker (&env, "echo", "--echo", NULL);
    s_env_wait_workers (&env, "echo", 1);
    size_t size = 10 * 1000 * 1000;
    char *body = (char *) malloc (size + 1);
    for (size_t index = 0; index < size; index++)
        body [index] = (char) ('a' + index % 26);
    body [size] = '\n';         //  What zmx call prints after the frame
    char *in = zsys_sprintf ("%s/body", env.dir);
    FILE *file = fopen (in, "wb");
    ZMX_CHECK (file && fwrite (body, 1, size, file) == size && fclose (file) == 0);
    char *out = zsys_sprintf ("%s/out", env.dir), *err = zsys_sprintf ("%s/err", env.dir);
    ZMX_CHECK (s_zmx_files (in, out, err, "call", "-b", env.endpoint, "-t", "8000", "-r", "1",
                            "echo", "-", NULL) == 0);
    ZMX_CHECK (s_file_is (out, body, size + 1));
    char *at_file = zsys_sprintf ("@%s", in);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "-b", env.endpoint, "-t", "8000", "-r", "1",
                            "echo", at_file, NULL) == 0);
    ZMX_CHECK (s_file_is (out, body, size + 1));
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "echo", "@@home", "x@y", NULL) == 0);
    ZMX_CHECK_STR (output, "@home\nx@y\n");
    zstr_free (&output);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "-b", env.endpoint, "echo",
                            "@/nonexistent/body", NULL) == 2);
    output = zmx_test_read_file (err);
    ZMX_CHECK (strstr (output, "cannot read /nonexistent/body"));
    zstr_free (&output);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "-b", env.endpoint, "echo", "-", "-", NULL)
               == 2);
    //  A frame over a default broker's limit is said to be so, not just
    //  timed out as if no broker were there
    ZMX_CHECK (truncate (in, ZMX_BROKER_MAX_FRAME_SIZE + 1) == 0);
    ZMX_CHECK (s_zmx_files (in, out, err, "call", "-b", env.endpoint, "-t", "1000", "-r", "0",
                            "echo", "-", NULL) == 3);
    output = zmx_test_read_file (err);
    ZMX_CHECK (strstr (output, "a frame of 16777217 bytes is over"));
    zstr_free (&output);
    free (at_file);
    free (out);
    free (err);
    free (in);
    free (body);
    s_env_stop (&env);
}

static void
s_command_worker_replies (void)
{
    s_env_t env;
    s_env_start (&env);
    s_env_worker (&env, "up", "--", "tr", "a-z", "A-Z", NULL);
    s_env_wait_workers (&env, "up", 1);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "up", "hello", NULL) == 0);
    ZMX_CHECK_STR (output, "HELLO\n");
    free (output);
    //  Two frames are two lines of input; the reply is one frame
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "up", "a", "b", NULL) == 0);
    ZMX_CHECK_STR (output, "A\nB\n");
    free (output);
    s_env_stop (&env);
}

//  A command's output up to the 16 MiB frame limit is the reply, whole;
//  one byte more is never cut and passed off as the reply: the worker logs
//  an error, and `zmx call` gets an error reply and exits 1, saying why.
static void
s_reply_over_frame_limit (void)
{
    s_env_t env;
    s_env_start (&env);
    char *limit = zsys_sprintf ("%d", ZMX_BROKER_MAX_FRAME_SIZE);
    char *over = zsys_sprintf ("%d", ZMX_BROKER_MAX_FRAME_SIZE + 1);
    s_env_worker (&env, "fits", "--", "head", "-c", limit, "/dev/zero", NULL);
    s_env_worker (&env, "over", "--", "head", "-c", over, "/dev/zero", NULL);
    s_env_wait_workers (&env, "fits", 1);
    s_env_wait_workers (&env, "over", 1);
    char *out = zsys_sprintf ("%s/out", env.dir), *err = zsys_sprintf ("%s/err", env.dir);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "-b", env.endpoint, "-t", "8000", "-r", "1",
                            "fits", "x", NULL) == 0);
    struct stat info;
    ZMX_CHECK (stat (out, &info) == 0 && info.st_size == ZMX_BROKER_MAX_FRAME_SIZE + 1);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "-b", env.endpoint, "-t", "8000", "-r", "1",
                            "over", "x", NULL) == 1);
    ZMX_CHECK (stat (out, &info) == 0 && info.st_size == 0);
    char *output = zmx_test_read_file (err);
    ZMX_CHECK (strstr (output, "could not answer: reply frame of"));
    free (output);
    char *log = zsys_sprintf ("%s/worker-1.log", env.dir);
    ZMX_CHECK (zmx_test_wait_for_text (log, "the client got an error reply", S_START_MSEC));
    free (log);
    free (out);
    free (err);
    free (over);
    free (limit);
    s_env_stop (&env);
}

static void
s_command_failure_still_replies (void)
{
    s_env_t env;
    s_env_start (&env);
    s_env_worker (&env, "fails", "--", "sh", "-c", "read line; echo \"got $line\"; exit 3",
                  NULL);
    s_env_wait_workers (&env, "fails", 1);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "fails", "hi", NULL) == 0);
    ZMX_CHECK_STR (output, "got hi\n");
    free (output);
    char *log = zsys_sprintf ("%s/worker-0.log", env.dir);
    ZMX_CHECK (zmx_test_wait_for_text (log, "exited with 3", S_START_MSEC));
    free (log);
    s_env_stop (&env);
}

//  A command that runs longer than the broker's heartbeat x liveness (here
//  1 s against 300 ms) gets its reply through: the worker heartbeats while
//  it runs, so the broker keeps it, and nothing reconnects.
static void
s_slow_command_run (const char *script)
{
    s_env_t env;
    s_env_init (&env);
    s_env_launch_heartbeat (&env, NULL, 100);
    s_env_worker (&env, "slow", "--heartbeat", "100", "--", "/bin/sh", "-c", script, NULL);
    s_env_wait_workers (&env, "slow", 1);
    char *output = NULL;
    int64_t started = zclock_mono ();
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "-t", "3000", "-r", "0",
                      "slow", "x", NULL) == 0);
    zsys_info ("'%s' replied in %" PRId64 " ms", script, zclock_mono () - started);
    ZMX_CHECK_STR (output, "done\n");
    free (output);
    int workers = 0, queued = 0;
    ZMX_CHECK (s_service_row (&env, "slow", &workers, &queued));
    ZMX_CHECK (workers == 1 && queued == 0);
    char *log = zsys_sprintf ("%s/zmxd.log", env.dir);
    output = zmx_test_read_file (log);
    ZMX_CHECK (!strstr (output, "silent"));
    free (output);
    free (log);
    s_env_stop (&env);
}

static void
s_slow_command_keeps_worker (void)
{
    s_slow_command_run ("sleep 1; echo done");
}

//  The same for a command that closes its stdout and runs on: the reply
//  waits for its exit, and heartbeats go on meanwhile.
static void
s_command_outliving_stdout (void)
{
    s_slow_command_run ("echo done; exec >&-; sleep 1");
}

//  --packed on both ends: a packed worker serves packed and 7/MDP calls,
//  and a packed call reaches a 7/MDP worker, through the same broker.
static void
s_packed_framing (void)
{
    s_env_t env;
    s_env_start (&env);
    s_env_worker (&env, "up", "--packed", "--", "tr", "a-z", "A-Z", NULL);
    s_env_worker (&env, "echo", "--echo", NULL);
    s_env_wait_workers (&env, "up", 1);
    s_env_wait_workers (&env, "echo", 1);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "call", "--packed", "-b", env.endpoint, "up", "a", "b", NULL)
               == 0);
    ZMX_CHECK_STR (output, "A\nB\n");
    free (output);
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "up", "plain", NULL) == 0);
    ZMX_CHECK_STR (output, "PLAIN\n");
    free (output);
    ZMX_CHECK (s_zmx (&output, "call", "--packed", "-b", env.endpoint, "echo", "x", "", "y",
                      NULL) == 0);
    ZMX_CHECK_STR (output, "x\n\ny\n");
    free (output);
    //  MMI answers in packed framing too: the unknown-service check and the table
    ZMX_CHECK (s_zmx (&output, "call", "--packed", "-b", env.endpoint, "nosuch", NULL) == 4);
    free (output);
    ZMX_CHECK (s_zmx (&output, "services", "--packed", "-b", env.endpoint, NULL) == 0);
    ZMX_CHECK (strstr (output, "up") && strstr (output, "echo"));
    free (output);
    s_env_stop (&env);
}

static void
s_services_lists_workers (void)
{
    s_env_t env;
    s_env_start (&env);
    s_env_worker (&env, "echo", "--echo", NULL);
    s_env_worker (&env, "echo", "--echo", "--credit", "4", NULL);
    s_env_worker (&env, "up", "--", "tr", "a-z", "A-Z", NULL);
    s_env_wait_workers (&env, "echo", 2);
    s_env_wait_workers (&env, "up", 1);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "services", "-b", env.endpoint, NULL) == 0);
    char header [3][16];
    ZMX_CHECK (sscanf (output, "%15s %15s %15s", header [0], header [1], header [2]) == 3);
    ZMX_CHECK_STR (header [0], "SERVICE");
    ZMX_CHECK_STR (header [1], "WORKERS");
    ZMX_CHECK_STR (header [2], "QUEUED");
    free (output);
    int workers, queued;
    ZMX_CHECK (s_service_row (&env, "echo", &workers, &queued));
    ZMX_CHECK (workers == 2 && queued == 0);
    s_env_stop (&env);
}

//  `zmx services` reads a broker with 10,000 services (queued requests:
//  cheaper than workers), far past the 64 frames of an MDP message, and
//  prints them all, sorted by name.
static void
s_services_many (void)
{
    int total = 10000;
    zmx_service_t *broker = zmx_test_broker_new ("    max-services = 20000\n");
    const char *endpoint = zmx_service_endpoint (broker);
    zsock_t *client = zmx_test_dealer_new (endpoint, 2000);
    //  Sent in reverse, so that the table's order is the command's doing
    for (int index = total - 1; index >= 0; index--) {
        char name [16];
        snprintf (name, sizeof name, "s%05d", index);
        zstr_sendx (client, "", ZMX_MDPC01, name, "x", NULL);
    }
    ZMX_CHECK (zmx_test_wait_counter (broker, "services", (uint64_t) total, 10000));
    char *dir = zmx_test_tmpdir ();
    char *out = zsys_sprintf ("%s/out", dir), *err = zsys_sprintf ("%s/err", dir);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "services", "-b", endpoint, NULL) == 0);
    char *output = zmx_test_read_file (out);
    char *line = output;
    int rows = -1;              //  The header first
    while (line && *line) {
        char expected [64];
        if (rows >= 0) {
            snprintf (expected, sizeof expected, "s%05d        0       1\n", rows);
            ZMX_CHECK (strncmp (line, expected, strlen (expected)) == 0);
        }
        rows++;
        line = strchr (line, '\n');
        line = line? line + 1: NULL;
    }
    ZMX_CHECK (rows == total);
    free (output);
    //  The same list in packed framing (the list frame travels as a frame
    //  of its own after the header), and the table is the same
    char *packed = zsys_sprintf ("%s/packed", dir);
    ZMX_CHECK (s_zmx_files (NULL, packed, err, "services", "--packed", "-b", endpoint, NULL)
               == 0);
    output = zmx_test_read_file (out);
    char *packed_output = zmx_test_read_file (packed);
    ZMX_CHECK_STR (packed_output, output);
    free (packed_output);
    free (output);
    free (packed);
    free (out);
    free (err);
    zmx_test_rmdir (dir);
    free (dir);
    zsock_destroy (&client);
    zmx_service_destroy (&broker);
}

//  A fake broker for zactor s_fake_broker: it answers every request on
//  `router` with a 0.1 REPLY whose body is `frames`, or, for a service
//  named in `by_service`, that entry's frames; until $TERM.
typedef struct {
    zsock_t *router;
    const char *frames;         //  Reply body, frames separated by '|'
    const char *(*by_service) [2];  //  { service, frames } pairs, or NULL
    size_t services;            //  Pairs in by_service
} s_fake_t;

//  The reply body s_fake_broker gives for `service`.
static const char *
s_fake_frames (s_fake_t *fake, zframe_t *service)
{
    for (size_t index = 0; index < fake->services; index++)
        if (zframe_streq (service, fake->by_service [index][0]))
            return fake->by_service [index][1];
    return fake->frames;
}

static void
s_fake_broker (zsock_t *pipe, void *args)
{
    s_fake_t *fake = (s_fake_t *) args;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, fake->router, NULL);
    while (zpoller_wait (poller, -1) == fake->router) {
        zmsg_t *request = zmsg_recv (fake->router);
        zframe_t *identity = zmsg_pop (request);
        zframe_t *empty = zmsg_pop (request);
        zframe_destroy (&empty);
        zframe_t *protocol = zmsg_pop (request);
        zframe_t *service = zmsg_pop (request);
        zmsg_destroy (&request);
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zmsg_addstr (reply, "");
        zmsg_append (reply, &protocol);
        zmsg_add (reply, zframe_dup (service));
        char *frames = strdup (s_fake_frames (fake, service)), *cursor = frames, *frame;
        while ((frame = strsep (&cursor, "|")))
            zmsg_addstr (reply, frame);
        free (frames);
        zframe_destroy (&service);
        zmsg_send (&reply, fake->router);
    }
    zpoller_destroy (&poller);
}

//  A reply `zmx services` cannot read is an error (exit 1, said on
//  stderr), not an empty table; rows of a broker that answers one frame
//  per service (older zmx) are read and sorted too.
static void
s_services_unreadable_exits_1 (void)
{
    char *endpoint = NULL;
    s_fake_t fake = { zmx_test_router_new (NULL, &endpoint), "2 0 zeta|1 3 alpha beta",
                      NULL, 0 };
    zactor_t *broker = zactor_new (s_fake_broker, &fake);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "services", "-b", endpoint, NULL) == 0);
    ZMX_CHECK_STR (output, "SERVICE    WORKERS  QUEUED\nalpha beta       1       3\n"
                           "zeta             2       0\n");
    zstr_free (&output);
    zactor_destroy (&broker);
    fake.frames = "1 0 echo|garbage";
    broker = zactor_new (s_fake_broker, &fake);
    char *dir = zmx_test_tmpdir ();
    char *out = zsys_sprintf ("%s/out", dir), *err = zsys_sprintf ("%s/err", dir);
    ZMX_CHECK (s_zmx_files (NULL, out, err, "services", "-b", endpoint, NULL) == 1);
    output = zmx_test_read_file (err);
    ZMX_CHECK (strstr (output, "unexpected mmi.services line 'garbage'"));
    zstr_free (&output);
    zactor_destroy (&broker);
    zsock_destroy (&fake.router);
    free (out);
    free (err);
    zmx_test_rmdir (dir);
    free (dir);
    free (endpoint);
}

//  --durable: a titanic.reply of 500 is a failure (exit 1, said on
//  stderr), not "still pending" waited out until exit 3.
static void
s_durable_500_exits_1 (void)
{
    char *endpoint = NULL;
    const char *answers [][2] = {
        { "mmi.service", "200" },
        { ZMX_TITANIC_REQUEST, "200|0123456789ABCDEF0123456789ABCDEF" },
        { ZMX_TITANIC_REPLY, "500" },
    };
    s_fake_t fake = { zmx_test_router_new (NULL, &endpoint), "", answers, 3 };
    zactor_t *broker = zactor_new (s_fake_broker, &fake);
    char *dir = zmx_test_tmpdir ();
    char *out = zsys_sprintf ("%s/out", dir), *err = zsys_sprintf ("%s/err", dir);
    //  Taken as pending, the 500 would be asked again until the whole wait
    //  (4 x 1000 ms) was over, and the call would exit 3
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "--durable", "-b", endpoint, "-t", "1000",
                            "-r", "3", "report", "x", NULL) == 1);
    char *output = zmx_test_read_file (err);
    ZMX_CHECK (strstr (output, "status 500"));
    zstr_free (&output);
    //  A status TSP does not define is no "pending" either
    answers [2][1] = "299";
    ZMX_CHECK (s_zmx_files (NULL, out, err, "call", "--durable", "-b", endpoint, "-t", "1000",
                            "-r", "3", "report", "x", NULL) == 1);
    output = zmx_test_read_file (err);
    ZMX_CHECK (strstr (output, "unexpected titanic.reply status '299'"));
    zstr_free (&output);
    zactor_destroy (&broker);
    zsock_destroy (&fake.router);
    free (out);
    free (err);
    zmx_test_rmdir (dir);
    free (dir);
    free (endpoint);
}

static void
s_unknown_service_exits_4 (void)
{
    s_env_t env;
    s_env_start (&env);
    char *log = zsys_sprintf ("%s/call.log", env.dir);
    int64_t elapsed;
    ZMX_CHECK (s_zmx_logged (log, &elapsed, "call", "-b", env.endpoint, "nosuch", "x", NULL)
               == 4);
    zsys_info ("zmx call nosuch exited in %" PRId64 " ms", elapsed);
    //  At once: before the first attempt's default timeout (2500 ms) would end
    ZMX_CHECK (elapsed < 2500);
    char *output = zmx_test_read_file (log);
    ZMX_CHECK (strstr (output, "no worker serves 'nosuch'"));
    ZMX_CHECK (strstr (output, "--queue"));
    free (output);
    free (log);
    s_env_stop (&env);
}

//  --wait skips the check: the request waits in the broker's queue until
//  a worker comes.
static void
s_call_wait_queues (void)
{
    s_env_t env;
    s_env_start (&env);
    char *bin = zmx_test_bin ("zmx");
    char *log = zsys_sprintf ("%s/call.log", env.dir);
    char *argv [] = { bin, "call", "-b", env.endpoint, "--wait", "-t", "4000", "-r", "0",
                      "late", "early bird", NULL };
    pid_t call = zmx_test_spawn (argv, log);
    int64_t deadline = zclock_mono () + S_START_MSEC;
    int workers = 0, queued = 0;
    while (!(s_service_row (&env, "late", &workers, &queued) && queued == 1)) {
        ZMX_CHECK (zclock_mono () < deadline);
        usleep (10000);
    }
    s_env_worker (&env, "late", "--echo", NULL);
    ZMX_CHECK (zmx_test_exit_code (call, S_CALL_MSEC, 100) == 0);
    char *output = zmx_test_read_file (log);
    ZMX_CHECK (strstr (output, "early bird\n"));
    free (output);
    free (log);
    free (bin);
    s_env_stop (&env);
}

static void
s_no_broker_exits_3 (void)
{
    char *dir = zmx_test_tmpdir ();
    char *endpoint = zmx_test_free_endpoint ();
    char *log = zsys_sprintf ("%s/call.log", dir);
    int64_t elapsed;
    ZMX_CHECK (s_zmx_logged (log, &elapsed, "call", "-b", endpoint, "-t", "200", "-r", "1",
                             "echo", "x", NULL) == 3);
    zsys_info ("zmx call with no broker exited in %" PRId64 " ms", elapsed);
    ZMX_CHECK (elapsed < 2000);
    char *output = zmx_test_read_file (log);
    ZMX_CHECK (strstr (output, "after 2 attempts"));
    ZMX_CHECK (strstr (output, endpoint));
    free (output);
    //  zmx services likewise: no table, exit 3
    ZMX_CHECK (s_zmx (&output, "services", "-b", endpoint, "-t", "200", "-r", "0", NULL) == 3);
    ZMX_CHECK_STR (output, "");
    free (output);
    free (log);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_keygen_writes_files (void)
{
    char *dir = zmx_test_tmpdir ();
    char *name = zsys_sprintf ("%s/alice", dir);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "keygen", name, NULL) == 0);
    char *public_path = zsys_sprintf ("%s.cert", name);
    char *secret_path = zsys_sprintf ("%s.cert_secret", name);
    ZMX_CHECK (strstr (output, public_path));
    ZMX_CHECK (strstr (output, secret_path));
    zcert_t *cert = zcert_load (public_path);
    ZMX_CHECK (cert);
    char *key_line = zsys_sprintf ("public key: %s\n", zcert_public_txt (cert));
    ZMX_CHECK (strstr (output, key_line));
    struct stat info;
    ZMX_CHECK (stat (secret_path, &info) == 0 && (info.st_mode & 0777) == 0600);
    free (output);
    //  An existing pair is never replaced
    ZMX_CHECK (s_zmx (NULL, "keygen", name, NULL) == 1);
    ZMX_CHECK (s_zmx (NULL, "keygen", NULL) == 2);
    free (key_line);
    zcert_destroy (&cert);
    free (secret_path);
    free (public_path);
    free (name);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_bad_certificate_exits_5 (void)
{
    char *dir = zmx_test_tmpdir ();
    char *endpoint = zmx_test_free_endpoint ();
    char *name = zsys_sprintf ("%s/server", dir);
    ZMX_CHECK (s_zmx (NULL, "keygen", name, NULL) == 0);
    char *server_cert = zsys_sprintf ("%s.cert", name);
    ZMX_CHECK (s_zmx (NULL, "call", "-b", endpoint, "--curve-cert", "/nonexistent.cert",
                      "--server-key", server_cert, "echo", NULL) == 5);
    ZMX_CHECK (s_zmx (NULL, "services", "-b", endpoint, "--curve-cert", "/nonexistent.cert",
                      "--server-key", server_cert, NULL) == 5);
    //  Half a CURVE setup is a usage error
    ZMX_CHECK (s_zmx (NULL, "call", "-b", endpoint, "--server-key", server_cert, "echo", NULL)
               == 2);
    free (server_cert);
    free (name);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
}

//  A broker that requires CURVE serves clients with a known certificate
//  and ignores everyone else.
static void
s_curve_end_to_end (void)
{
    s_env_t env;
    s_env_init (&env);
    char *server = zsys_sprintf ("%s/server", env.dir);
    char *client = zsys_sprintf ("%s/client", env.dir);
    ZMX_CHECK (s_zmx (NULL, "keygen", server, NULL) == 0);
    ZMX_CHECK (s_zmx (NULL, "keygen", client, NULL) == 0);
    char *clients = zsys_sprintf ("%s/clients", env.dir);
    ZMX_CHECK (zsys_dir_create ("%s", clients) == 0);
    char *client_cert = zsys_sprintf ("%s.cert", client);
    char *server_cert = zsys_sprintf ("%s.cert", server);
    zcert_t *cert = zcert_load (client_cert);
    char *allowed = zsys_sprintf ("%s/client.cert", clients);
    ZMX_CHECK (cert && zcert_save_public (cert, allowed) == 0);
    zcert_destroy (&cert);
    free (allowed);
    char *security = zsys_sprintf ("security\n    curve = 1\n    certificate = \"%s\"\n"
                                   "    clients = \"%s\"\n", server_cert, clients);
    s_env_launch (&env, security);
    s_env_worker (&env, "safe", "--echo", "--curve-cert", client_cert,
                  "--server-key", server_cert, NULL);
    //  `zmx services` has no key here: ask mmi.service with one instead
    char *output = NULL;
    int64_t deadline = zclock_mono () + S_START_MSEC;
    while (true) {
        ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "--curve-cert", client_cert,
                          "--server-key", server_cert, "mmi.service", "safe", NULL) == 0);
        bool ready = streq (output, "200\n");
        zstr_free (&output);
        if (ready)
            break;
        ZMX_CHECK (zclock_mono () < deadline);
        usleep (10000);
    }
    ZMX_CHECK (s_zmx (&output, "call", "-b", env.endpoint, "--curve-cert", client_cert,
                      "--server-key", server_cert, "safe", "psst", NULL) == 0);
    ZMX_CHECK_STR (output, "psst\n");
    zstr_free (&output);
    //  Without CURVE the handshake never completes: it looks like no reply,
    //  but the message says the server may be refusing the client, and the
    //  server logs the refusal
    char *said = zsys_sprintf ("%s/call.log", env.dir);
    int64_t elapsed;
    ZMX_CHECK (s_zmx_logged (said, &elapsed, "call", "-b", env.endpoint, "-t", "300", "-r", "0",
                             "safe", "psst", NULL) == 3);
    output = zmx_test_read_file (said);
    ZMX_CHECK (strstr (output, "it may be refusing this client"));
    zstr_free (&output);
    char *log = zsys_sprintf ("%s/zmxd.log", env.dir);
    ZMX_CHECK (zmx_test_wait_for_text (log, " N security: refused a client", 5000));
    //  A key the server does not list: the same, naming the key
    char *stranger = zsys_sprintf ("%s/stranger", env.dir);
    ZMX_CHECK (s_zmx (NULL, "keygen", stranger, NULL) == 0);
    char *stranger_cert = zsys_sprintf ("%s.cert", stranger);
    unlink (said);
    ZMX_CHECK (s_zmx_logged (said, &elapsed, "call", "-b", env.endpoint, "-t", "300", "-r", "0",
                             "--curve-cert", stranger_cert, "--server-key", server_cert,
                             "safe", "psst", NULL) == 3);
    output = zmx_test_read_file (said);
    ZMX_CHECK (strstr (output, "the server may be refusing this client's key"));
    zstr_free (&output);
    free (said);
    free (stranger_cert);
    free (stranger);
    free (log);
    free (security);
    free (server_cert);
    free (client_cert);
    free (clients);
    free (client);
    free (server);
    s_env_stop (&env);
}

static void
s_usage_errors_exit_2 (void)
{
    char *output = NULL;
    ZMX_CHECK (s_zmx (NULL, "bogus", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "call", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "call", "-t", "soon", "echo", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "call", "--bogus", "echo", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "worker", "echo", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "worker", "echo", "--echo", "--", "cat", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "worker", "echo", "tr", "a-z", "A-Z", NULL) == 2);
    ZMX_CHECK (s_zmx (NULL, "services", "extra", NULL) == 2);
    ZMX_CHECK (s_zmx (&output, "help", NULL) == 0);
    ZMX_CHECK (strstr (output, "usage: zmx COMMAND"));
    free (output);
    ZMX_CHECK (s_zmx (&output, "call", "--help", NULL) == 0);
    ZMX_CHECK (strstr (output, "usage: zmx call"));
    free (output);
    ZMX_CHECK (s_zmx (&output, "help", "worker", NULL) == 0);
    ZMX_CHECK (strstr (output, "usage: zmx worker"));
    free (output);
    ZMX_CHECK (s_zmx (&output, "version", NULL) == 0);
    ZMX_CHECK (strncmp (output, "zmx 0.", 6) == 0);
    free (output);
}

//  A worker started before its broker says the broker is not answering
//  within its heartbeat x liveness (200 ms x 3), keeps retrying, and says
//  "serving" once a zmxd starts there: within its longest reconnect delay
//  (5 s) plus heartbeat x liveness, each wait with a start-up margin.
static void
s_worker_before_broker (void)
{
    s_env_t env;
    s_env_init (&env);
    s_env_worker (&env, "echo", "--echo", NULL);
    char *log = zsys_sprintf ("%s/worker-0.log", env.dir);
    ZMX_CHECK (zmx_test_wait_for_text (log, "registering 'echo'", S_START_MSEC));
    ZMX_CHECK (zmx_test_wait_for_text (log, "is not answering", 600 + S_START_MSEC));
    char *output = zmx_test_read_file (log);
    ZMX_CHECK (!strstr (output, "serving"));
    free (output);
    s_env_launch (&env, NULL);
    ZMX_CHECK (zmx_test_wait_for_text (log, "serving 'echo'", 5000 + 600 + S_START_MSEC));
    s_env_wait_workers (&env, "echo", 1);
    free (log);
    s_env_stop (&env);
}

static void
s_worker_stops_on_sigterm (void)
{
    s_env_t env;
    s_env_start (&env);
    pid_t worker = s_env_worker (&env, "echo", "--echo", NULL);
    s_env_wait_workers (&env, "echo", 1);
    kill (worker, SIGTERM);
    ZMX_CHECK (zmx_test_exit_code (worker, 2000, 100) == 0);
    env.worker_count = 0;
    //  A missing command is caught before the worker starts
    ZMX_CHECK (s_zmx (NULL, "worker", "-b", env.endpoint, "x", "--", "/nonexistent/cmd", NULL)
               == 1);
    s_env_stop (&env);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "call_echo_prints_frames", s_call_echo_prints_frames, 20 },
        { "call_body_sources", s_call_body_sources, 120 },
        { "command_worker_replies", s_command_worker_replies, 20 },
        { "reply_over_frame_limit", s_reply_over_frame_limit, 90 },
        { "command_failure_still_replies", s_command_failure_still_replies, 20 },
        { "slow_command_keeps_worker", s_slow_command_keeps_worker, 20 },
        { "command_outliving_stdout", s_command_outliving_stdout, 20 },
        { "services_lists_workers", s_services_lists_workers, 20 },
        { "services_many", s_services_many, 90 },
        { "services_unreadable_exits_1", s_services_unreadable_exits_1, 20 },
        { "packed_framing", s_packed_framing, 20 },
        { "durable_500_exits_1", s_durable_500_exits_1, 20 },
        { "unknown_service_exits_4", s_unknown_service_exits_4, 20 },
        { "call_wait_queues", s_call_wait_queues, 20 },
        { "no_broker_exits_3", s_no_broker_exits_3, 10 },
        { "keygen_writes_files", s_keygen_writes_files, 10 },
        { "bad_certificate_exits_5", s_bad_certificate_exits_5, 10 },
        { "curve_end_to_end", s_curve_end_to_end, 20 },
        { "usage_errors_exit_2", s_usage_errors_exit_2, 30 },
        { "worker_stops_on_sigterm", s_worker_stops_on_sigterm, 20 },
        { "worker_before_broker", s_worker_before_broker, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
