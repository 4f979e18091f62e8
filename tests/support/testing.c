/*  =========================================================================
    testing - the harness every test program (tests/CAPABILITY/test_NAME.c) uses
    =========================================================================
*/
#include "testing.h"
#include "ports.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <execinfo.h>
#include <unistd.h>

//  Under AddressSanitizer, each case checks for leaks itself before it
//  leaves with _exit (which skips the sanitizer's own exit-time check).
#if defined (__SANITIZE_ADDRESS__)
#   define ZMX_TEST_LEAK_CHECK 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer)
#       define ZMX_TEST_LEAK_CHECK 1
#   endif
#endif
#ifdef ZMX_TEST_LEAK_CHECK
#   include <sanitizer/lsan_interface.h>
#endif

void
zmx_test_fail (const char *file, int line, const char *what)
{
    fprintf (stderr, "    FAILED %s:%d: %s\n", file, line, what);
    fflush (stderr);
    _exit (1);
}

void
zmx_test_skip (const char *why)
{
    fprintf (stderr, "    skipped: %s\n", why);
    fflush (stderr);
    fflush (stdout);
    _exit (ZMX_TEST_SKIP_CODE);
}

void
zmx_test_fail_str (const char *file, int line, const char *actual, const char *expected)
{
    fprintf (stderr, "    FAILED %s:%d: got \"%s\", expected \"%s\"\n", file, line,
             actual? actual: "(null)", expected);
    fflush (stderr);
    _exit (1);
}

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

//  Where a case stands, so that a time limit says which part hung
static const char *s_phase = "run";

//  On the time limit, name the phase and show the main thread's stack,
//  then die of SIGALRM as before so the parent reports it.
static void
s_on_time_limit (int signum)
{
    const char *intro = "    time limit reached in phase: ";
    write (2, intro, strlen (intro));
    write (2, s_phase, strlen (s_phase));
    write (2, "\n", 1);
    void *frames [64];
    int depth = backtrace (frames, 64);
    backtrace_symbols_fd (frames, depth, 2);
    signal (signum, SIG_DFL);
    raise (signum);
}

typedef enum { S_PASSED, S_FAILED, S_SKIPPED } s_outcome_t;

//  Run one case in a child process so that a crash, an assert or a hang
//  fails that case alone. The parent never touches ZeroMQ, so forking is
//  safe.
static s_outcome_t
s_run_case (const zmx_test_t *test)
{
    fprintf (stderr, "case %s ...\n", test->name);
    int64_t started = s_now_ms ();
    pid_t pid = fork ();
    if (pid == 0) {
        setpgid (0, 0);         //  own group: a timeout kills helpers too
        void *preload [1];      //  backtrace loads libgcc on first use:
        backtrace (preload, 1); //  do it now, not in the signal handler
        signal (SIGALRM, s_on_time_limit);
        alarm (test->limit_s > 0? test->limit_s: 60);
        test->run ();
#ifdef ZMX_TEST_LEAK_CHECK
        //  Free CZMQ's globals first so that only our leaks are reported;
        //  a leak ends the process with a non-zero status.
        s_phase = "zsys_shutdown after the case";
        zsys_shutdown ();
        s_phase = "leak check";
        __lsan_do_leak_check ();
#endif
        _exit (0);
    }
    int status = 0;
    waitpid (pid, &status, 0);
    kill (-pid, SIGKILL);       //  reap anything the case left behind
    int64_t elapsed = s_now_ms () - started;
    bool passed = WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (WIFEXITED (status) && WEXITSTATUS (status) == ZMX_TEST_SKIP_CODE) {
        fprintf (stderr, "case %s SKIPPED (%" PRId64 " ms)\n", test->name, elapsed);
        return S_SKIPPED;
    }
    if (passed)
        fprintf (stderr, "case %s ok (%" PRId64 " ms)\n", test->name, elapsed);
    else
    if (WIFSIGNALED (status))
        fprintf (stderr, "case %s FAILED: signal %d%s (%" PRId64 " ms)\n", test->name,
                 WTERMSIG (status), WTERMSIG (status) == SIGALRM? " (time limit)": "",
                 elapsed);
    else
        fprintf (stderr, "case %s FAILED: exit %d (%" PRId64 " ms)\n", test->name,
                 WEXITSTATUS (status), elapsed);
    return passed? S_PASSED: S_FAILED;
}

int
zmx_test_main (int argc, char *argv [], const zmx_test_t *cases, size_t count)
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    size_t passed = 0, failed = 0, skipped = 0;
    for (size_t index = 0; index < count; index++) {
        if (argc > 1) {
            bool wanted = false;
            for (int arg = 1; arg < argc; arg++)
                wanted |= streq (argv [arg], cases [index].name);
            if (!wanted)
                continue;
        }
        s_outcome_t outcome = s_run_case (&cases [index]);
        passed += outcome == S_PASSED;
        failed += outcome == S_FAILED;
        skipped += outcome == S_SKIPPED;
    }
    printf ("%zu passed, %zu failed, %zu skipped\n", passed, failed, skipped);
    if (failed || passed + skipped == 0)
        return 1;
    return skipped? ZMX_TEST_SKIP_CODE: 0;
}

int
zmx_test_free_port (void)
{
    int port = zmx_ports_free_tcp ();
    if (port < 0)
        zmx_test_fail (__FILE__, __LINE__, "cannot find a free port");
    return port;
}

char *
zmx_test_free_endpoint (void)
{
    return zsys_sprintf ("tcp://127.0.0.1:%d", zmx_test_free_port ());
}

char *
zmx_test_tmpdir (void)
{
    char template [] = "/tmp/zmx-test-XXXXXX";
    char *path = mkdtemp (template);
    if (!path)
        zmx_test_fail (__FILE__, __LINE__, "cannot create a temporary directory");
    return strdup (path);
}

void
zmx_test_rmdir (const char *path)
{
    if (!path || strncmp (path, "/tmp/zmx-test-", 14) != 0)
        return;
    char *command = zsys_sprintf ("rm -rf '%s'", path);
    int rc = system (command);
    (void) rc;
    zstr_free (&command);
}

char *
zmx_test_bin (const char *program)
{
    return zsys_sprintf ("%s/%s", ZMX_BIN_DIR, program);
}

int
zmx_test_write_file (const char *path, const char *text)
{
    FILE *file = fopen (path, "w");
    if (!file)
        return -1;
    size_t length = strlen (text);
    size_t written = fwrite (text, 1, length, file);
    return fclose (file) == 0 && written == length? 0: -1;
}

pid_t
zmx_test_spawn (char *const argv [], const char *log_path)
{
    pid_t pid = fork ();
    if (pid < 0)
        zmx_test_fail (__FILE__, __LINE__, "cannot fork");
    if (pid == 0) {
        if (log_path) {
            int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2 (fd, 1);
                dup2 (fd, 2);
                close (fd);
            }
        }
        execv (argv [0], argv);
        fprintf (stderr, "cannot run %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    return pid;
}

int
zmx_test_wait (pid_t pid, int timeout_ms)
{
    int64_t deadline = s_now_ms () + timeout_ms;
    while (true) {
        int status;
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            return status;
        if (done < 0 || s_now_ms () >= deadline)
            return -1;
        usleep (2000);
    }
}

void
zmx_test_stop (pid_t pid, int grace_ms)
{
    if (pid <= 0)
        return;
    kill (pid, SIGTERM);
    if (zmx_test_wait (pid, grace_ms) == -1) {
        kill (pid, SIGKILL);
        zmx_test_wait (pid, 5000);
    }
}

int
zmx_test_run (char *const argv [], const char *input, int timeout_ms, char **output_p)
{
    int to_child [2], from_child [2];
    if (pipe (to_child) || pipe (from_child))
        return -1;
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (to_child [0], 0);
        dup2 (from_child [1], 1);
        close (to_child [0]);
        close (to_child [1]);
        close (from_child [0]);
        close (from_child [1]);
        execv (argv [0], argv);
        _exit (127);
    }
    close (to_child [0]);
    close (from_child [1]);
    if (input) {
        ssize_t written = write (to_child [1], input, strlen (input));
        (void) written;
    }
    close (to_child [1]);

    //  Read stdout until EOF or the deadline
    size_t size = 0, limit = 65536;
    char *output = (char *) zmalloc (limit + 1);
    fcntl (from_child [0], F_SETFL, O_NONBLOCK);
    int64_t deadline = s_now_ms () + timeout_ms;
    bool killed = false;
    while (true) {
        ssize_t got = read (from_child [0], output + size, limit - size);
        if (got > 0) {
            size += got;
            if (size == limit)
                break;
            continue;
        }
        if (got == 0)
            break;
        if (s_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            killed = true;
            break;
        }
        usleep (2000);
    }
    close (from_child [0]);
    output [size] = 0;
    int status = zmx_test_wait (pid, killed? 5000: timeout_ms);
    if (status == -1) {
        kill (pid, SIGKILL);
        zmx_test_wait (pid, 5000);
    }
    if (output_p)
        *output_p = output;
    else
        free (output);
    if (killed || status == -1 || !WIFEXITED (status))
        return -1;
    return WEXITSTATUS (status);
}

bool
zmx_test_wait_port (int port, int timeout_ms)
{
    int64_t deadline = s_now_ms () + timeout_ms;
    while (s_now_ms () < deadline) {
        int fd = socket (AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in address = { 0 };
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        address.sin_port = htons (port);
        int rc = connect (fd, (struct sockaddr *) &address, sizeof address);
        close (fd);
        if (rc == 0)
            return true;
        usleep (5000);
    }
    return false;
}

int
zmx_test_exit_code (pid_t pid, int timeout_ms, int grace_ms)
{
    int status = zmx_test_wait (pid, timeout_ms);
    if (status == -1)
        zmx_test_stop (pid, grace_ms);
    return status != -1 && WIFEXITED (status)? WEXITSTATUS (status): -1;
}

char *
zmx_test_read_file (const char *path)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return strdup ("");
    zchunk_t *chunk = zchunk_read (file, 1 << 20);
    fclose (file);
    char *text = (char *) zmalloc (zchunk_size (chunk) + 1);
    memcpy (text, zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    return text;
}

bool
zmx_test_wait_for_text (const char *path, const char *text, int timeout_ms)
{
    int64_t deadline = s_now_ms () + timeout_ms;
    while (true) {
        char *content = zmx_test_read_file (path);
        bool found = strstr (content, text) != NULL;
        free (content);
        if (found)
            return true;
        if (s_now_ms () >= deadline)
            return false;
        usleep (5000);
    }
}

zmsg_t *
zmx_test_recv (zsock_t *socket, int timeout_ms)
{
    zsock_set_rcvtimeo (socket, timeout_ms);
    return zmsg_recv (socket);
}

bool
zmx_test_msg_is (zmsg_t *msg, size_t skip, ...)
{
    zframe_t *frame = zmsg_first (msg);
    for (size_t index = 0; index < skip && frame; index++)
        frame = zmsg_next (msg);
    va_list args;
    va_start (args, skip);
    bool same = true;
    const char *text;
    while (same && (text = va_arg (args, const char *))) {
        same = frame && zframe_streq (frame, text);
        frame = frame? zmsg_next (msg): NULL;
    }
    va_end (args);
    return same && !frame;
}

zsock_t *
zmx_test_router_new (zcert_t *curve_server, char **endpoint_p)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    if (!router)
        zmx_test_fail (__FILE__, __LINE__, "cannot create a ROUTER socket");
    zsock_set_linger (router, 0);
    if (curve_server) {
        zcert_apply (curve_server, router);
        zsock_set_curve_server (router, 1);
    }
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    if (port <= 0)
        zmx_test_fail (__FILE__, __LINE__, "cannot bind a ROUTER socket");
    *endpoint_p = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    return router;
}

void
zmx_test_echo_worker (zsock_t *pipe, void *args)
{
    zmx_test_worker_t *settings = (zmx_test_worker_t *) args;
    zmx_worker_t *worker = zmx_worker_new (settings->endpoint, settings->service);
    assert (worker);
    zmx_worker_set_heartbeat (worker, settings->interval, settings->liveness);
    zmx_worker_set_reconnect (worker, settings->backoff_initial, settings->backoff_max);
    zmx_worker_set_credit (worker, settings->credit? settings->credit: 1);
    zsock_signal (pipe, 0);
    zmx_test_echo_serve (pipe, &worker);
}

void
zmx_test_echo_serve (zsock_t *pipe, zmx_worker_t **worker_p)
{
    zmx_worker_t *worker = *worker_p;
    while (!(zsock_events (pipe) & ZMQ_POLLIN)) {
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (worker, 10, &reply_to);
        if (request)
            zmx_worker_send (worker, &request, &reply_to);
        else
        if (zmx_worker_error (worker) == ZMX_ETERM)
            break;
    }
    zmx_worker_destroy (worker_p);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

zsock_t *
zmx_test_dealer_new (const char *endpoint, int timeout_ms)
{
    zsock_t *sock = zsock_new_dealer (endpoint);
    ZMX_CHECK (sock);
    zsock_set_rcvtimeo (sock, timeout_ms);
    zsock_set_linger (sock, 0);
    return sock;
}

bool
zmx_test_wait_counter (zmx_service_t *service, const char *name, uint64_t value,
                       int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        if (zmx_service_counter (service, name) == value)
            return true;
        zclock_sleep (5);
    }
    return false;
}

bool
zmx_test_bytes_are (zframe_t *frame, const void *data, size_t size)
{
    return frame && zframe_size (frame) == size && memcmp (zframe_data (frame), data, size) == 0;
}

void
zmx_test_send_numbered (zmx_client_t *client, const char *service, int count)
{
    for (int index = 0; index < count; index++) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstrf (request, "%d", index);
        ZMX_CHECK (zmx_client_send (client, service, &request) == ZMX_OK);
    }
}

void
zmx_test_recv_numbered (zmx_client_t *client, int count, int timeout_ms,
                        const char *service)
{
    bool *seen = (bool *) zmalloc (count * sizeof (bool));
    for (int received = 0; received < count; received++) {
        char *replier = NULL;
        zmsg_t *reply = zmx_client_recv (client, timeout_ms, service? &replier: NULL);
        ZMX_CHECK (reply);
        if (service)
            ZMX_CHECK_STR (replier, service);
        char *text = zmsg_popstr (reply);
        int index = text? atoi (text): -1;
        ZMX_CHECK (index >= 0 && index < count && !seen [index]);
        seen [index] = true;
        zstr_free (&text);
        zstr_free (&replier);
        zmsg_destroy (&reply);
    }
    free (seen);
}

void
zmx_test_send_to (zsock_t *router, zframe_t *identity, const void *data, size_t size,
                  zframe_t *second)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
    zmsg_addmem (msg, data, size);
    if (second)
        zmsg_append (msg, &second);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
}

zmx_security_t *
zmx_test_curve_policy (const char *server_cert, const char *client_cert)
{
    if (zmx_security_keygen (server_cert, "server") != ZMX_OK
    ||  zmx_security_keygen (client_cert, "client") != ZMX_OK)
        zmx_test_fail (__FILE__, __LINE__, "cannot write CURVE key pairs");
    zconfig_t *config = zconfig_new ("security", NULL);
    zconfig_put (config, "curve", "1");
    zconfig_put (config, "certificate", server_cert);
    zconfig_put (config, "clients", "*");
    zmx_security_t *security = zmx_security_new (config);
    zconfig_destroy (&config);
    if (!security)
        zmx_test_fail (__FILE__, __LINE__, "cannot create the CURVE policy");
    return security;
}

bool
zmx_test_echo_ok (zmx_client_t *client, const char *service, const char *text)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, text);
    zmsg_t *reply = zmx_client_request (client, service, &request);
    bool ok = reply && zmx_test_msg_is (reply, 0, text, NULL);
    if (!reply)
        fprintf (stderr, "request failed: %s\n", zmx_strerror (zmx_client_error (client)));
    zmsg_destroy (&reply);
    return ok;
}

bool
zmx_test_wait_service (const char *endpoint, const char *service, int timeout_ms)
{
    zmx_client_t *client = zmx_client_new (endpoint);
    zmx_client_set_timeout (client, 500);
    zmx_client_set_retries (client, 0);
    int64_t deadline = zclock_mono () + timeout_ms;
    bool found = false;
    while (!found && zclock_mono () < deadline) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstr (request, service);
        zmsg_t *reply = zmx_client_request (client, "mmi.service", &request);
        char *answer = reply? zmsg_popstr (reply): NULL;
        found = answer && streq (answer, "200");
        zstr_free (&answer);
        zmsg_destroy (&reply);
        if (!found)
            zclock_sleep (10);
    }
    zmx_client_destroy (&client);
    return found;
}

//  -------------------------------------------------------------------------
//  Relay and ports for the failover tests

//  One relay command; returns true on $TERM (or an interrupted receive).
static bool
s_relay_command (zsock_t *pipe, bool *cut)
{
    char *command = zstr_recv (pipe);
    bool term = !command || streq (command, "$TERM");
    if (!term) {
        *cut = streq (command, "CUT");
        zsock_signal (pipe, 0);
    }
    zstr_free (&command);
    return term;
}

void
zmx_test_relay (zsock_t *pipe, void *args)
{
    char **sources = (char **) args;
    zsock_t *in [2], *out [2];
    for (int side = 0; side < 2; side++) {
        in [side] = zsock_new (ZMQ_SUB);
        zsock_set_linger (in [side], 0);
        zsock_set_subscribe (in [side], "");
        zsock_connect (in [side], "%s", sources [side]);
        out [side] = zsock_new (ZMQ_PUB);
        zsock_set_linger (out [side], 0);
        zsock_bind (out [side], "tcp://127.0.0.1:*");
    }
    zsock_signal (pipe, 0);
    zstr_sendx (pipe, zsock_endpoint (out [0]), zsock_endpoint (out [1]), NULL);
    zpoller_t *poller = zpoller_new (pipe, in [0], in [1], NULL);
    bool cut = false;
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (!which || (which == pipe && s_relay_command (pipe, &cut)))
            break;
        if (which != pipe) {
            int side = which == in [0]? 0: 1;
            zmsg_t *msg = zmsg_recv (in [side]);
            if (msg && !cut)
                zmsg_send (&msg, out [side]);
            zmsg_destroy (&msg);
        }
    }
    zpoller_destroy (&poller);
    for (int side = 0; side < 2; side++) {
        zsock_destroy (&in [side]);
        zsock_destroy (&out [side]);
    }
}

int
zmx_test_tombstone (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    int on = 1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (fd >= 0 && (setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on)
                    || bind (fd, (struct sockaddr *) &address, sizeof address))) {
        close (fd);
        fd = -1;
    }
    return fd;
}

pid_t
zmx_test_zmxd_start (const char *config, const char *text, const char *log,
                     const char *ready, int timeout_ms)
{
    ZMX_CHECK (zmx_test_write_file (config, text) == 0);
    char *bin = zmx_test_bin ("zmxd");
    char *argv [] = { bin, "-c", (char *) config, NULL };
    pid_t pid = zmx_test_spawn (argv, log);
    free (bin);
    if (zmx_test_wait_for_text (log, ready, timeout_ms) && zmx_test_wait (pid, 0) == -1)
        return pid;
    zmx_test_stop (pid, 1000);
    return 0;
}

bool
zmx_test_port_free (int port)
{
    zsock_t *probe = zsock_new (ZMQ_PUB);
    zsock_set_linger (probe, 0);
    bool free_now = zsock_bind (probe, "tcp://127.0.0.1:%d", port) == port;
    zsock_destroy (&probe);
    return free_now;
}

int
zmx_test_run_zmx (const char *const prefix [], int timeout_ms, char **output_p,
                  va_list args)
{
    char *argv [64];
    argv [0] = zmx_test_bin ("zmx");
    int count = 1;
    for (size_t index = 0; prefix && prefix [index] && count < 63; index++)
        argv [count++] = (char *) prefix [index];
    char *arg;
    while (count < 63 && (arg = va_arg (args, char *)))
        argv [count++] = arg;
    argv [count] = NULL;
    int rc = zmx_test_run (argv, NULL, timeout_ms, output_p);
    free (argv [0]);
    return rc;
}

int
zmx_test_free_udp_port (void)
{
    int port = zmx_ports_free_udp ();
    if (port < 0)
        zmx_test_fail (__FILE__, __LINE__, "no free UDP port");
    return port;
}

zhash_t *
zmx_test_clone_snapshot (const char *endpoint, const char *subtree, uint64_t *sequence_p,
                         int timeout_ms)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    ZMX_CHECK (zsock_connect (dealer, "%s", endpoint) == 0);
    ZMX_CHECK (zstr_sendx (dealer, "ICANHAZ?", subtree, NULL) == 0);
    zhash_t *map = zhash_new ();
    zhash_autofree (map);
    while (true) {
        zmsg_t *msg = zmx_test_recv (dealer, timeout_ms);
        ZMX_CHECK (msg && zmsg_size (msg) == 5);
        char *key = zmsg_popstr (msg);
        zframe_t *number = zmsg_pop (msg);
        ZMX_CHECK (zframe_size (number) == 8);
        uint64_t sequence = 0;
        for (int index = 0; index < 8; index++)
            sequence = (sequence << 8) | zframe_data (number) [index];
        zframe_destroy (&number);
        //  Frames 2 and 3 (uuid, properties) empty in KVSYNC and KTHXBAI
        ZMX_CHECK (zframe_size (zmsg_first (msg)) == 0 && zframe_size (zmsg_next (msg)) == 0);
        char *value = zframe_strdup (zmsg_last (msg));
        bool done = streq (key, "KTHXBAI");
        if (done) {
            ZMX_CHECK_STR (value, subtree);
            *sequence_p = sequence;
        }
        else {
            ZMX_CHECK (strncmp (key, subtree, strlen (subtree)) == 0);
            zhash_insert (map, key, value);
        }
        zstr_free (&key);
        zstr_free (&value);
        zmsg_destroy (&msg);
        if (done)
            break;
    }
    zsock_destroy (&dealer);
    return map;
}

pid_t
zmx_test_clone_zmxd_start (const char *dir, const char *log, zmx_test_config_fn *extra,
                           void *args, const char *ready, int timeout_ms, int *port_p)
{
    char *config = zsys_sprintf ("%s/zmxd.cfg", dir);
    pid_t pid = 0;
    for (int attempt = 0; attempt < 20 && !pid; attempt++) {
        int port = zmx_test_free_port ();
        if (port > 65000 || !zmx_test_port_free (port + 1) || !zmx_test_port_free (port + 2))
            continue;
        char *more = extra? extra (port, args): strdup ("");
        char *text = zsys_sprintf (
            "clone\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    collector-endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    heartbeat-interval = 200\n    data-directory = \"\"\n%s",
            port, port + 1, port + 2, more);
        char *collector = zsys_sprintf ("clone on tcp://127.0.0.1:%d\n", port + 2);
        pid = zmx_test_zmxd_start (config, text, log, ready? ready: collector, timeout_ms);
        if (pid)
            *port_p = port;
        free (collector);
        free (text);
        free (more);
    }
    ZMX_CHECK (pid);
    free (config);
    return pid;
}

zmx_service_t *
zmx_test_broker_new (const char *settings)
{
    char *text = zsys_sprintf ("broker\n    endpoint = \"tcp://127.0.0.1:*\"\n%s",
                               settings? settings: "");
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    zmx_service_t *broker = zmx_service_new ("broker", zmx_broker_actor,
                                             zconfig_locate (root, "broker"), NULL);
    ZMX_CHECK (broker);
    zconfig_destroy (&root);
    free (text);
    return broker;
}

zconfig_t *
zmx_test_titanic_config (const char *endpoint, const char *dir)
{
    zconfig_t *config = zconfig_new ("titanic", NULL);
    zconfig_put (config, "endpoint", endpoint);
    zconfig_putf (config, "directory", "%s/store", dir);
    zconfig_put (config, "fsync", "0");
    zconfig_put (config, "retry-interval", "50");
    return config;
}

int
zmx_test_capture_begin (const char *path)
{
    fflush (stderr);
    int saved = dup (2);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ZMX_CHECK (saved >= 0 && fd >= 0);
    dup2 (fd, 2);
    close (fd);
    return saved;
}

void
zmx_test_capture_end (int saved)
{
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
}

int
zmx_test_count_lines (const char *path, const char *text)
{
    char *content = zmx_test_read_file (path);
    int count = 0;
    for (char *line = content; line && *line; ) {
        char *end = strchr (line, '\n');
        if (end)
            *end = 0;
        if (strstr (line, text))
            count++;
        line = end? end + 1: NULL;
    }
    free (content);
    return count;
}

zmsg_t *
zmx_test_node_expect (zmx_node_t *node, const char *event, const char *peer, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zmsg_t *msg = zmx_test_recv (zmx_node_socket (node),
                                     (int) (deadline - zclock_mono ()) + 1);
        if (!msg)
            continue;           //  A signal (a child's SIGCHLD) can end the wait early
        char *name = zmsg_popstr (msg);
        zframe_t *from = zmsg_first (msg);
        bool match = name && streq (name, event) && (!peer || zframe_streq (from, peer));
        zstr_free (&name);
        if (match)
            return msg;
        zmsg_destroy (&msg);
    }
    return NULL;
}

bool
zmx_test_node_got (zmx_node_t *node, const char *event, const char *peer, int timeout_ms)
{
    zmsg_t *msg = zmx_test_node_expect (node, event, peer, timeout_ms);
    bool got = msg != NULL;
    zmsg_destroy (&msg);
    return got;
}
