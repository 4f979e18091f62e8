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
#include <ctype.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_START_MSEC    10000   //  Longest the server may take to be ready
#define S_RUN_MSEC      20000   //  Longest one `zmx files` run may take
#define S_MAX_ARGS      16
#define S_BIG_SIZE      (3 * 1000 * 1000 + 17)
#define S_STALL_CHUNK   (256 * 1024)    //  Bytes the stalling server sends
#define S_SIGINT_ROUNDS 5
#define S_SIGINT_MSEC   2000    //  Longest sync may take to stop on SIGINT

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

//  -------------------------------------------------------------------------
//  A FILEMQ server that stalls: it answers the handshake, announces
//  `files` files of `size` bytes in all, sends one chunk of S_STALL_CHUNK
//  bytes of the first (from where the client's resume offer says it has
//  the file, as a zmx server does) and then only answers heartbeats. A
//  transfer is thereby in flight for as long as the test likes.

typedef struct {
    char *endpoint;             //  Set before the actor signals
    const byte *data;           //  The whole file
    size_t size;
    char sha1 [41];             //  Its SHA-1, lowercase hex
    int files;                  //  Files announced in ICANHAZ-OK
    int chunks;                 //  Chunks sent (__atomic)
} s_stall_t;

static void
s_stall_reply (zsock_t *router, zframe_t *identity, zmx_fmq_msg_t *reply, const char *extra)
{
    zmsg_t *msg = zmsg_new ();
    zframe_t *copy = zframe_dup (identity);
    zmsg_append (msg, &copy);
    zframe_t *frame = zmx_fmq_encode (reply);
    zmsg_append (msg, &frame);
    if (extra)
        zmsg_addstr (msg, extra);
    zmsg_send (&msg, router);
}

//  The one chunk, from the offset the client offers to resume from.
static void
s_stall_chunk (s_stall_t *self, zsock_t *router, zframe_t *identity, size_t offset)
{
    zmx_fmq_msg_t reply;
    zmx_fmq_init (&reply, ZMX_FMQ_CHEEZBURGER);
    reply.operation = ZMX_FMQ_CREATE;
    strcpy (reply.filename, "big.bin");
    reply.offset = offset;
    reply.chunk = self->data + offset;
    reply.chunk_size = self->size - offset < S_STALL_CHUNK? self->size - offset: S_STALL_CHUNK;
    reply.headers = zhash_new ();
    zhash_autofree (reply.headers);
    zhash_insert (reply.headers, "SHA1", self->sha1);
    char number [24];
    snprintf (number, sizeof number, "%zu", self->size);
    zhash_insert (reply.headers, "SIZE", number);
    zhash_insert (reply.headers, "QUEUED", "0");
    s_stall_reply (router, identity, &reply, NULL);
    zmx_fmq_clear (&reply);
    __atomic_add_fetch (&self->chunks, 1, __ATOMIC_SEQ_CST);
}

static void
s_stall_handle (s_stall_t *self, zsock_t *router, zhash_t *offsets)
{
    zmsg_t *msg = zmsg_recv (router);
    zframe_t *identity = msg? zmsg_pop (msg): NULL;
    zframe_t *frame = msg? zmsg_pop (msg): NULL;
    zmx_fmq_msg_t request;
    if (frame && zmx_fmq_decode (zframe_data (frame), zframe_size (frame), &request, NULL) == 0) {
        char *key = zframe_strhex (identity);
        zmx_fmq_msg_t reply;
        char totals [48];
        snprintf (totals, sizeof totals, "%d %zu", self->files, self->size);
        if (request.id == ZMX_FMQ_OHAI || request.id == ZMX_FMQ_HUGZ) {
            zmx_fmq_init (&reply, request.id == ZMX_FMQ_OHAI? ZMX_FMQ_OHAI_OK: ZMX_FMQ_HUGZ_OK);
            s_stall_reply (router, identity, &reply, NULL);
        }
        else
        if (request.id == ZMX_FMQ_ICANHAZ) {
            //  Resume from a "<sha1>@<offset>" offer, as a zmx server does
            size_t offset = 0;
            for (const char *value = request.cache? (const char *) zhash_first (request.cache):
                 NULL; value; value = (const char *) zhash_next (request.cache))
                if (strncmp (value, self->sha1, 40) == 0 && value [40] == '@')
                    offset = (size_t) strtoull (value + 41, NULL, 10);
            zhash_update (offsets, key, (void *) (uintptr_t) (offset + 1));
            zmx_fmq_init (&reply, ZMX_FMQ_ICANHAZ_OK);
            s_stall_reply (router, identity, &reply, totals);
        }
        else
        if (request.id == ZMX_FMQ_NOM && zhash_lookup (offsets, key)) {
            size_t offset = (uintptr_t) zhash_lookup (offsets, key) - 1;
            zhash_delete (offsets, key);
            s_stall_chunk (self, router, identity, offset);
        }
        free (key);
        zmx_fmq_clear (&request);
    }
    zframe_destroy (&identity);
    zframe_destroy (&frame);
    zmsg_destroy (&msg);
}

static void
s_stall_server (zsock_t *pipe, void *args)
{
    s_stall_t *self = (s_stall_t *) args;
    zsock_t *router = zmx_test_router_new (NULL, &self->endpoint);
    zhash_t *offsets = zhash_new ();    //  peer -> offset + 1, until its NOM
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    zsock_signal (pipe, 0);
    while (zpoller_wait (poller, -1) == router)
        s_stall_handle (self, router, offsets);
    zpoller_destroy (&poller);
    zhash_destroy (&offsets);
    zsock_destroy (&router);
}

//  Load env's big file and start a stalling server for it.
static zactor_t *
s_stall_start (s_env_t *env, s_stall_t *stall, int files)
{
    memset (stall, 0, sizeof *stall);
    char *path = zsys_sprintf ("%s/sub/big.bin", env->source);
    FILE *file = fopen (path, "rb");
    ZMX_CHECK (file);
    zchunk_t *chunk = zchunk_read (file, S_BIG_SIZE);
    fclose (file);
    free (path);
    ZMX_CHECK (zchunk_size (chunk) == S_BIG_SIZE);
    stall->size = zchunk_size (chunk);
    stall->data = (const byte *) memcpy (malloc (stall->size), zchunk_data (chunk), stall->size);
    zdigest_t *digest = zdigest_new ();
    zdigest_update (digest, (byte *) stall->data, stall->size);
    for (int index = 0; index < 40; index++)
        stall->sha1 [index] = (char) tolower (zdigest_string (digest) [index]);
    zdigest_destroy (&digest);
    zchunk_destroy (&chunk);
    stall->files = files;
    return zactor_new (s_stall_server, stall);
}

static void
s_stall_stop (zactor_t **actor_p, s_stall_t *stall)
{
    zactor_destroy (actor_p);
    free ((void *) stall->data);
    free (stall->endpoint);
}

//  Size of a file, -1 if there is none.
static int64_t
s_file_size (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0? (int64_t) info.st_size: -1;
}

//  Ctrl-C on a sync with a transfer in flight stops it within
//  S_SIGINT_MSEC, says the partial files are kept, exits 1, and keeps
//  them; each round resumes the previous one's partial file, and a final
//  sync from a real server completes it, fetching only the rest. Several
//  rounds, with SIGINT at a different moment of the client's progress
//  ticks, because the failure was intermittent.
static void
s_sync_sigint_keeps_partial (void)
{
    s_env_t env;
    s_env_init (&env);
    s_stall_t stall;
    zactor_t *server = s_stall_start (&env, &stall, 1);
    char *bin = zmx_test_bin ("zmx");
    char *partial = zsys_sprintf ("%s/.zmx-partial/%s", env.target, stall.sha1);
    for (int round = 0; round < S_SIGINT_ROUNDS; round++) {
        char *log = zsys_sprintf ("%s/sigint-%d.log", env.dir, round);
        char *argv [] = { bin, "files", "sync", "-e", stall.endpoint, "/", env.target, NULL };
        pid_t pid = zmx_test_spawn (argv, log);
        //  In flight: this round's chunk is written, the rest never comes
        int64_t expected = (int64_t) (round + 1) * S_STALL_CHUNK;
        int64_t deadline = zclock_mono () + S_RUN_MSEC;
        while ((__atomic_load_n (&stall.chunks, __ATOMIC_SEQ_CST) <= round
                || s_file_size (partial) != expected) && zclock_mono () < deadline)
            usleep (5000);
        ZMX_CHECK (s_file_size (partial) == expected);
        usleep (round * 97 * 1000);     //  Another phase of the 1 s progress tick
        int64_t started = zclock_mono ();
        kill (pid, SIGINT);
        int rc = zmx_test_exit_code (pid, S_SIGINT_MSEC, 1000);
        int64_t took = zclock_mono () - started;
        char *text = zmx_test_read_file (log);
        fprintf (stderr, "    round %d: SIGINT to exit %d in %" PRId64 " ms\n", round, rc, took);
        if (rc != 1 || !strstr (text, "partial files are kept in"))
            fprintf (stderr, "    round %d: exit %d after %" PRId64 " ms:\n%s", round, rc,
                     took, text);
        ZMX_CHECK (rc == 1);
        ZMX_CHECK (took < S_SIGINT_MSEC);
        ZMX_CHECK (strstr (text, "zmx: interrupted; partial files are kept in "));
        ZMX_CHECK (!strstr (text, "invalid argument"));
        ZMX_CHECK (s_file_size (partial) == expected);
        free (text);
        free (log);
    }
    s_stall_stop (&server, &stall);
    //  A real server resumes: only the rest of big.bin travels
    s_env_serve (&env, NULL);
    char *output = NULL;
    ZMX_CHECK (s_zmx (&output, "sync", "-e", env.endpoint, "/", env.target, NULL) == 0);
    char *expected = zsys_sprintf ("4 files received, %d bytes", 6 + 0 + 5 + S_BIG_SIZE
                                   - S_SIGINT_ROUNDS * S_STALL_CHUNK);
    if (!output || !strstr (output, expected))
        fprintf (stderr, "    wanted '%s' in:\n%s", expected, output? output: "");
    ZMX_CHECK (output && strstr (output, expected));
    ZMX_CHECK (s_file_size (partial) == -1);
    s_check_mirror (&env, env.target);
    free (expected);
    free (output);
    free (partial);
    free (bin);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

//  Run `zmx files ARGS... NULL` with stdout and stderr into `log` (under
//  env's directory, emptied first); returns the exit code and sets
//  *took_p to the msec it ran.
static int
s_zmx_logged (s_env_t *env, const char *name, char **text_p, int64_t *took_p, ...)
{
    char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx"), "files" };
    int count = 2;
    va_list args;
    va_start (args, took_p);
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 1)
        argv [count++] = (char *) arg;
    va_end (args);
    argv [count] = NULL;
    char *log = zsys_sprintf ("%s/%s.log", env->dir, name);
    unlink (log);
    int64_t started = zclock_mono ();
    pid_t pid = zmx_test_spawn (argv, log);
    int rc = zmx_test_exit_code (pid, S_RUN_MSEC, 1000);
    *took_p = zclock_mono () - started;
    *text_p = zmx_test_read_file (log);
    free (log);
    free (argv [0]);
    return rc;
}

//  ls of a server that publishes nothing answers at once, empty, exit 0,
//  even with a -t longer than the server's heartbeat (whose HUGZ used to
//  keep ls waiting); a path that is not published is exit 1 for ls and
//  sync, with the server's reason, and nothing is created.
static void
s_ls_empty_and_unpublished (void)
{
    s_env_t env;
    s_env_init (&env);
    zmx_test_rmdir (env.source);
    ZMX_CHECK (zsys_dir_create ("%s/only/dir", env.source) == 0);
    s_env_serve (&env, NULL);
    char *text = NULL;
    int64_t took;
    ZMX_CHECK (s_zmx_logged (&env, "ls", &text, &took, "ls", "-e", env.endpoint, "-t", "20000",
                             NULL) == 0);
    ZMX_CHECK_STR (text, "");
    ZMX_CHECK (took < 10000);
    free (text);
    //  An existing directory with no file in it is published, and empty
    ZMX_CHECK (s_zmx_logged (&env, "ls2", &text, &took, "ls", "-e", env.endpoint,
                             "/only/dir", NULL) == 0);
    ZMX_CHECK_STR (text, "");
    free (text);
    ZMX_CHECK (s_zmx_logged (&env, "sync", &text, &took, "sync", "-e", env.endpoint,
                             "/only", env.target, NULL) == 0);
    free (text);
    char *other = zsys_sprintf ("%s/other", env.dir);
    ZMX_CHECK (s_zmx_logged (&env, "nosuch", &text, &took, "sync", "-e", env.endpoint,
                             "/nosuch", other, NULL) == 1);
    ZMX_CHECK (strstr (text, "refused /nosuch: nothing is published at this path"));
    ZMX_CHECK (!strstr (text, "synced"));
    ZMX_CHECK (access (other, F_OK) != 0);
    free (text);
    ZMX_CHECK (s_zmx_logged (&env, "lsnosuch", &text, &took, "ls", "-e", env.endpoint,
                             "/only/nosuch", NULL) == 1);
    ZMX_CHECK (strstr (text, "refused /only/nosuch: nothing is published at this path"));
    free (text);
    free (other);
    s_env_stop_server (&env);
    s_env_stop (&env);
}

//  ls that runs out of -t mid-way (the server stalls inside a file) shows
//  what it saw, says the listing is incomplete, and exits 3, within -t.
static void
s_ls_partial_exits_3 (void)
{
    s_env_t env;
    s_env_init (&env);
    s_stall_t stall;
    zactor_t *server = s_stall_start (&env, &stall, 2);
    char *text = NULL;
    int64_t took;
    ZMX_CHECK (s_zmx_logged (&env, "ls", &text, &took, "ls", "-e", stall.endpoint, "-t", "1500",
                             NULL) == 3);
    ZMX_CHECK (took >= 1500 && took < S_RUN_MSEC / 2);
    ZMX_CHECK (strstr (text, "/big.bin"));
    ZMX_CHECK (strstr (text, "zmx: listing of / from "));
    ZMX_CHECK (strstr (text, "is incomplete: 0 of 2 files"));
    free (text);
    s_stall_stop (&server, &stall);
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
        { "sync_sigint_keeps_partial", s_sync_sigint_keeps_partial, 90 },
        { "ls_empty_and_unpublished", s_ls_empty_and_unpublished, 40 },
        { "ls_partial_exits_3", s_ls_partial_exits_3, 40 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
