/*  =========================================================================
    test_cli - the `zmx` command against a real zmxd

    Each case starts its own zmxd (heartbeat 200 ms, port free a moment
    ago) and `zmx worker` processes, waits until the broker lists the
    workers, then runs `zmx` commands and checks their output and exit
    codes. Waits are polls with deadlines, never fixed sleeps.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_START_MSEC    5000    //  Longest a process may take to be ready
#define S_CALL_MSEC     5000    //  Longest one `zmx` run may take
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
    ZMX_CHECK (elapsed < 1000);
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
    //  Without CURVE the handshake never completes: it looks like no reply
    ZMX_CHECK (s_zmx (NULL, "call", "-b", env.endpoint, "-t", "300", "-r", "0",
                      "safe", "psst", NULL) == 3);
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
        { "command_worker_replies", s_command_worker_replies, 20 },
        { "command_failure_still_replies", s_command_failure_still_replies, 20 },
        { "slow_command_keeps_worker", s_slow_command_keeps_worker, 20 },
        { "command_outliving_stdout", s_command_outliving_stdout, 20 },
        { "services_lists_workers", s_services_lists_workers, 20 },
        { "packed_framing", s_packed_framing, 20 },
        { "unknown_service_exits_4", s_unknown_service_exits_4, 20 },
        { "call_wait_queues", s_call_wait_queues, 20 },
        { "no_broker_exits_3", s_no_broker_exits_3, 10 },
        { "keygen_writes_files", s_keygen_writes_files, 10 },
        { "bad_certificate_exits_5", s_bad_certificate_exits_5, 10 },
        { "curve_end_to_end", s_curve_end_to_end, 20 },
        { "usage_errors_exit_2", s_usage_errors_exit_2, 30 },
        { "worker_stops_on_sigterm", s_worker_stops_on_sigterm, 20 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
