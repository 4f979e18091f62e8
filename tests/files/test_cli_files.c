/*  =========================================================================
    test_cli_files - `zmx files serve`, `sync` and `ls` as real processes

    Each case makes a private directory with a small tree (text files, an
    empty file, a 3 MB binary file in a subdirectory), starts `zmx files
    serve` on a port that was free a moment ago, waits for its "serving"
    line, and runs `zmx files` commands against it with their stdout
    captured (a pipe, so never a terminal). Waits are polls with
    deadlines.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_START_MSEC    10000   //  Longest the server may take to be ready
#define S_RUN_MSEC      20000   //  Longest one `zmx files` run may take
#define S_MAX_ARGS      16
#define S_BIG_SIZE      (3 * 1000 * 1000 + 17)

typedef struct {
    char *dir;                  //  Private directory
    char *source;               //  dir/src: what the server publishes
    char *target;               //  dir/dst: where sync writes
    char *endpoint;             //  The server's endpoint
    pid_t server;               //  `zmx files serve`, or 0
} s_env_t;

//  The files of the source tree, relative to it
static const char *s_tree [] = { "a.txt", "empty.txt", "sub/big.bin", "sub/deeper/c.txt" };
#define S_TREE_COUNT (sizeof (s_tree) / sizeof (s_tree [0]))

//  Write `size` bytes of a pattern that differs at every offset.
static void
s_write_pattern (const char *path, size_t size)
{
    FILE *file = fopen (path, "wb");
    ZMX_CHECK (file);
    uint32_t state = 2463534242u;
    for (size_t index = 0; index < size; index++) {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        fputc ((int) (state & 0xff), file);
    }
    ZMX_CHECK (fclose (file) == 0);
}

//  True if the two files have the same bytes.
static bool
s_same_file (const char *path_a, const char *path_b)
{
    FILE *file_a = fopen (path_a, "rb"), *file_b = fopen (path_b, "rb");
    bool same = file_a && file_b;
    while (same) {
        int byte_a = fgetc (file_a), byte_b = fgetc (file_b);
        same = byte_a == byte_b;
        if (byte_a == EOF)
            break;
    }
    if (file_a)
        fclose (file_a);
    if (file_b)
        fclose (file_b);
    return same;
}

static void
s_env_init (s_env_t *env)
{
    memset (env, 0, sizeof *env);
    env->dir = zmx_test_tmpdir ();
    env->source = zsys_sprintf ("%s/src", env->dir);
    env->target = zsys_sprintf ("%s/dst", env->dir);
    env->endpoint = zmx_test_free_endpoint ();
    char *sub = zsys_sprintf ("%s/sub/deeper", env->source);
    ZMX_CHECK (zsys_dir_create ("%s", sub) == 0);
    free (sub);
    char *path = zsys_sprintf ("%s/a.txt", env->source);
    ZMX_CHECK (zmx_test_write_file (path, "hello\n") == 0);
    free (path);
    path = zsys_sprintf ("%s/empty.txt", env->source);
    ZMX_CHECK (zmx_test_write_file (path, "") == 0);
    free (path);
    path = zsys_sprintf ("%s/sub/deeper/c.txt", env->source);
    ZMX_CHECK (zmx_test_write_file (path, "deep\n") == 0);
    free (path);
    path = zsys_sprintf ("%s/sub/big.bin", env->source);
    s_write_pattern (path, S_BIG_SIZE);
    free (path);
}

//  Start `zmx files serve SRC -e EP [ARGS... NULL]` and wait for its
//  "serving" line.
static void
s_env_serve (s_env_t *env, ...)
{
    char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx"), "files", "serve", "-e", env->endpoint };
    int count = 5;
    va_list args;
    va_start (args, env);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 2)
        argv [count++] = (char *) arg;
    va_end (args);
    argv [count++] = env->source;
    argv [count] = NULL;
    char *log = zsys_sprintf ("%s/serve.log", env->dir);
    env->server = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_for_text (log, "zmx files: serving", S_START_MSEC));
    free (log);
    free (argv [0]);
}

static void
s_env_stop (s_env_t *env)
{
    if (env->server)
        zmx_test_stop (env->server, 5000);
    zmx_test_rmdir (env->dir);
    free (env->dir);
    free (env->source);
    free (env->target);
    free (env->endpoint);
}

//  Stop the server with SIGTERM and check that it exits 0.
static void
s_env_stop_server (s_env_t *env)
{
    kill (env->server, SIGTERM);
    ZMX_CHECK (zmx_test_exit_code (env->server, 5000, 1000) == 0);
    env->server = 0;
}

//  Run `zmx files ARGS... NULL`; stdout in *output_p (caller frees, may
//  be NULL). Returns the exit code, -1 if it had to be killed.
static int
s_zmx (char **output_p, ...)
{
    char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx"), "files" };
    int count = 2;
    va_list args;
    va_start (args, output_p);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 1)
        argv [count++] = (char *) arg;
    va_end (args);
    argv [count] = NULL;
    int rc = zmx_test_run (argv, NULL, S_RUN_MSEC, output_p);
    free (argv [0]);
    return rc;
}

//  Every file of the tree is in `target` with the same bytes.
static void
s_check_mirror (s_env_t *env, const char *target)
{
    for (size_t index = 0; index < S_TREE_COUNT; index++) {
        char *source = zsys_sprintf ("%s/%s", env->source, s_tree [index]);
        char *copy = zsys_sprintf ("%s/%s", target, s_tree [index]);
        if (!s_same_file (source, copy))
            fprintf (stderr, "    %s differs from %s\n", copy, source);
        ZMX_CHECK (s_same_file (source, copy));
        free (source);
        free (copy);
    }
}

static void
s_sync_mirrors_tree (void)
{
    s_env_t env;
    s_env_init (&env);
    s_env_serve (&env, NULL);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "sync", "-e", env.endpoint, "/", env.target, NULL) == 0);
    s_check_mirror (&env, env.target);
    //  Not a terminal: plain lines only, no bar redrawn with \r or escapes
    ZMX_CHECK (output && *output);
    ZMX_CHECK (!strchr (output, '\r') && !strchr (output, '\033'));
    for (char *line = output; line && *line; line = strchr (line, '\n') + 1) {
        ZMX_CHECK (strchr (line, '\n'));
        ZMX_CHECK (strncmp (line, "sync: ", 6) == 0 || strncmp (line, "synced / ", 9) == 0);
    }
    ZMX_CHECK (strstr (output, "synced / from "));
    ZMX_CHECK (strstr (output, "4 files received"));
    //  The server said how much it queued: plain lines carry the total
    //  (6 + 0 + 5 + S_BIG_SIZE bytes) and the share done
    ZMX_CHECK (strstr (output, "sync: 4/4 files, 3.0 MB of 3.0 MB (100%), "));
    ZMX_CHECK (strstr (output, "ETA 0s\n"));
    free (output);
    //  A second sync finds everything in place and fetches nothing
    ZMX_CHECK (s_zmx (&output, "sync", "-e", env.endpoint, "/", env.target, NULL) == 0);
    ZMX_CHECK (strstr (output, "0 files received"));
    free (output);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

static void
s_sync_subpath_and_env (void)
{
    s_env_t env;
    s_env_init (&env);
    s_env_serve (&env, "--path", "/data", NULL);
    setenv ("ZMX_FILES", env.endpoint, 1);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "sync", "/data/sub", env.target, NULL) == 0);
    free (output);
    char *source = zsys_sprintf ("%s/sub/big.bin", env.source);
    char *copy = zsys_sprintf ("%s/big.bin", env.target);
    ZMX_CHECK (s_same_file (source, copy));
    free (copy);
    copy = zsys_sprintf ("%s/a.txt", env.target);
    ZMX_CHECK (access (copy, F_OK) != 0);       //  outside /data/sub
    free (copy);
    free (source);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

static void
s_ls_lists_files (void)
{
    s_env_t env;
    s_env_init (&env);
    s_env_serve (&env, NULL);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "ls", "-e", env.endpoint, NULL) == 0);
    char *expected = zsys_sprintf ("%12s  /a.txt\n%12s  /empty.txt\n%12d  /sub/big.bin\n"
                                   "%12s  /sub/deeper/c.txt\n", "6", "0", S_BIG_SIZE, "5");
    ZMX_CHECK_STR (output, expected);
    free (expected);
    free (output);
    ZMX_CHECK (s_zmx (&output, "ls", "-e", env.endpoint, "/sub/deeper", NULL) == 0);
    ZMX_CHECK_STR (output, "           5  /sub/deeper/c.txt\n");
    free (output);
    //  ls wrote nothing anywhere: the target does not exist
    ZMX_CHECK (access (env.target, F_OK) != 0);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

static void
s_follow_gets_new_files (void)
{
    s_env_t env;
    s_env_init (&env);
    s_env_serve (&env, NULL);
    char *bin = zmx_test_bin ("zmx");
    char *argv [] = { bin, "files", "sync", "--follow", "-e", env.endpoint, "/",
                      env.target, NULL };
    char *log = zsys_sprintf ("%s/follow.log", env.dir);
    pid_t sync = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_for_text (log, "sync: following /", S_RUN_MSEC));
    s_check_mirror (&env, env.target);
    char *path = zsys_sprintf ("%s/late.txt", env.source);
    ZMX_CHECK (zmx_test_write_file (path, "late\n") == 0);
    free (path);
    //  The server rescans once a second; the client then fetches
    path = zsys_sprintf ("%s/late.txt", env.target);
    int64_t deadline = zclock_mono () + S_RUN_MSEC;
    while (access (path, F_OK) != 0 && zclock_mono () < deadline)
        usleep (20000);
    ZMX_CHECK (access (path, F_OK) == 0);
    free (path);
    kill (sync, SIGTERM);
    ZMX_CHECK (zmx_test_exit_code (sync, 5000, 1000) == 0);
    free (log);
    free (bin);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

static void
s_bad_arguments_exit_2 (void)
{
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "fetch", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "serve", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "serve", "a", "b", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "serve", "--follow", "/tmp", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "sync", "/", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "sync", "nopath", "/tmp/x", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "sync", "-t", "soon", "/", "/tmp/x", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "sync", "--bogus", "/", "/tmp/x", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "ls", "/a", "/b", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "sync", "--verify", "md5", "/", "/tmp/x", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "ls", "--verify", "sha1", NULL) == 2);
    free (output);
    ZMX_CHECK (s_zmx (&output, "ls", "-e", "", NULL) == 2);
    free (output);
    //  --help is not an error
    ZMX_CHECK (s_zmx (&output, "sync", "--help", NULL) == 0);
    ZMX_CHECK (output && strstr (output, "usage: zmx files sync"));
    free (output);
}

//  --verify sha1 checks every file with SHA-1 instead of the XXH3-128 the
//  server announces; the mirror is the same, and a second sync finds it
//  complete (the cache holds SHA-1 either way).
static void
s_sync_verify_sha1 (void)
{
    s_env_t env;
    s_env_init (&env);
    s_env_serve (&env, NULL);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "sync", "--verify", "sha1", "-e", env.endpoint, "/", env.target,
                      NULL) == 0);
    ZMX_CHECK (output && strstr (output, "4 files received"));
    free (output);
    s_check_mirror (&env, env.target);
    ZMX_CHECK (s_zmx (&output, "sync", "--verify", "auto", "-e", env.endpoint, "/", env.target,
                      NULL) == 0);
    ZMX_CHECK (output && strstr (output, "0 files received"));
    free (output);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

//  Run `zmx files VERB -e EP -t 300 ARGS` against a port nobody listens
//  on; it must fail with exit 3 and say what to check, within the limit.
static void
s_check_unreachable (const char *dir, const char *verb, const char *target)
{
    char *endpoint = zmx_test_free_endpoint ();
    char *bin = zmx_test_bin ("zmx");
    char *log = zsys_sprintf ("%s/%s.log", dir, verb);
    char *argv [] = { bin, "files", (char *) verb, "-e", endpoint, "-t", "300", "/",
                      (char *) target, NULL };
    int64_t started = zclock_mono ();
    pid_t pid = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_exit_code (pid, 5000, 500) == 3);
    ZMX_CHECK (zclock_mono () - started < 3000);
    char *text = zmx_test_read_file (log);
    ZMX_CHECK (strstr (text, "no FILEMQ server answered at"));
    ZMX_CHECK (strstr (text, endpoint));
    free (text);
    free (log);
    free (bin);
    free (endpoint);
}

static void
s_unreachable_server (void)
{
    char *dir = zmx_test_tmpdir ();
    char *target = zsys_sprintf ("%s/dst", dir);
    s_check_unreachable (dir, "sync", target);
    s_check_unreachable (dir, "ls", NULL);
    ZMX_CHECK (access (target, F_OK) != 0);     //  nothing created
    free (target);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_serve_errors (void)
{
    s_env_t env;
    s_env_init (&env);
    char *missing = zsys_sprintf ("%s/missing", env.dir);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "serve", "-e", env.endpoint, missing, NULL) == 1);
    free (output);
    free (missing);
    //  A second server on the same endpoint cannot bind
    s_env_serve (&env, NULL);
    ZMX_CHECK (s_zmx (&output, "serve", "-e", env.endpoint, env.source, NULL) == 1);
    free (output);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

//  `serve --curve` admits a client whose certificate is in --clients; a
//  sync without keys gets no answer and gives up within -t; bad keys are
//  exit 5 on every verb.
static void
s_curve_sync (void)
{
    s_env_t env;
    s_env_init (&env);
    char *server_cert = zsys_sprintf ("%s/server.cert", env.dir);
    char *client_cert = zsys_sprintf ("%s/client.cert", env.dir);
    char *clients = zsys_sprintf ("%s/clients", env.dir);
    ZMX_CHECK (zmx_security_keygen (server_cert, "server") == ZMX_OK);
    ZMX_CHECK (zmx_security_keygen (client_cert, "client") == ZMX_OK);
    ZMX_CHECK (zsys_dir_create ("%s", clients) == 0);
    zcert_t *cert = zcert_load (client_cert);
    char *allowed = zsys_sprintf ("%s/client.cert", clients);
    ZMX_CHECK (cert && zcert_save_public (cert, allowed) == 0);
    zcert_destroy (&cert);
    s_env_serve (&env, "--curve", server_cert, "--clients", clients, NULL);

    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "sync", "-e", env.endpoint, "--curve-cert", client_cert,
                      "--server-key", server_cert, "/", env.target, NULL) == 0);
    s_check_mirror (&env, env.target);
    free (output);
    ZMX_CHECK (s_zmx (&output, "ls", "-e", env.endpoint, "--curve-cert", client_cert,
                      "--server-key", server_cert, "/sub/deeper", NULL) == 0);
    ZMX_CHECK_STR (output, "           5  /sub/deeper/c.txt\n");
    free (output);
    //  No keys: the CURVE handshake never completes, so no answer
    char *other = zsys_sprintf ("%s/other", env.dir);
    int64_t started = zclock_mono ();
    ZMX_CHECK (s_zmx (NULL, "sync", "-e", env.endpoint, "-t", "500", "/", other, NULL) == 3);
    ZMX_CHECK (zclock_mono () - started < S_RUN_MSEC / 2);
    ZMX_CHECK (access (other, F_OK) != 0);
    //  Bad certificate or key: 5 before any network traffic
    ZMX_CHECK (s_zmx (NULL, "sync", "-e", env.endpoint, "--curve-cert", "/nonexistent.cert",
                      "--server-key", server_cert, "/", other, NULL) == 5);
    ZMX_CHECK (s_zmx (NULL, "ls", "-e", env.endpoint, "--curve-cert", client_cert,
                      "--server-key", "not-a-key", NULL) == 5);
    ZMX_CHECK (s_zmx (NULL, "sync", "-e", env.endpoint, "--curve-cert", client_cert, "/",
                      other, NULL) == 2);
    char *endpoint = zmx_test_free_endpoint ();
    ZMX_CHECK (s_zmx (NULL, "serve", "-e", endpoint, "--curve", "/nonexistent.cert",
                      "--clients", "*", env.source, NULL) == 5);
    ZMX_CHECK (s_zmx (NULL, "serve", "-e", endpoint, "--curve", server_cert, env.source,
                      NULL) == 2);
    free (endpoint);
    free (other);
    free (allowed);
    free (clients);
    free (client_cert);
    free (server_cert);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "sync_mirrors_tree", s_sync_mirrors_tree, 40 },
        { "sync_subpath_and_env", s_sync_subpath_and_env, 40 },
        { "ls_lists_files", s_ls_lists_files, 40 },
        { "follow_gets_new_files", s_follow_gets_new_files, 40 },
        { "bad_arguments_exit_2", s_bad_arguments_exit_2, 30 },
        { "unreachable_server", s_unreachable_server, 20 },
        { "serve_errors", s_serve_errors, 30 },
        { "curve_sync", s_curve_sync, 40 },
        { "sync_verify_sha1", s_sync_verify_sha1, 40 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
