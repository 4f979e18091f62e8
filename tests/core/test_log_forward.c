/*  =========================================================================
    test_log_forward - zmx_log's forwarder (docs/STREAMS.md, "The logging
    subsystem")

    The in-process cases bind a plain SUB on a free port, point the
    forwarder at it and read what arrives. A PUB-style sender drops what
    it sends before the subscription reaches it, so each case first logs
    probes until one arrives, then a marker, and reads up to the marker:
    the connection is then up and nothing of the setup is left to read.
    stderr goes to a file in each case, to keep the output readable and to
    check what was printed.

    The exit case runs this program again as a child ("--child MODE
    ENDPOINT"), which forwards and returns from main with the forwarder
    on, and checks that it exits at once, cleanly, with no complaint from
    CZMQ.

    The end-to-end case runs zmxd with its log service and the built-in
    "auto" forward, provokes a real warning (garbage to the service's
    ZMXS1 socket), stops zmxd and reads the record from its store.
    =========================================================================
*/
#define _GNU_SOURCE             //  memmem
#include "testing.h"
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#define S_WAIT_MS       5000        //  Deadline for a line to arrive
#define S_THREADS       4
#define S_THREAD_LINES  100

//  -------------------------------------------------------------------------
//  Helpers

//  The subject prefix the forwarder uses in this process:
//  "log.HOST.test_log_forward." (the host name made a token, as
//  zmx_log.h says).
static char *
s_prefix (void)
{
    char name [256] = "";
    gethostname (name, sizeof name - 1);
    name [strcspn (name, ".")] = 0;
    for (char *scan = name; *scan; scan++)
        if (*scan < 0x21 || *scan > 0x7e || *scan == '*' || *scan == '>')
            *scan = '_';
    if (strlen (name) > 64)
        name [64] = 0;
    return zsys_sprintf ("log.%s.test_log_forward.", *name? name: "unknown");
}

//  A SUB bound on a free loopback port, subscribed to everything;
//  *endpoint_p gets the endpoint (caller frees).
static zsock_t *
s_collector_new (char **endpoint_p, int rcvhwm)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    ZMX_CHECK (sub);
    zsock_set_linger (sub, 0);
    if (rcvhwm)
        zsock_set_rcvhwm (sub, rcvhwm);
    int port = zsock_bind (sub, "tcp://127.0.0.1:*");
    ZMX_CHECK (port > 0);
    zsock_set_subscribe (sub, "");
    *endpoint_p = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    return sub;
}

//  The next message's two frames, or false if none came in timeout_ms.
static bool
s_recv_line (zsock_t *sub, int timeout_ms, char **subject_p, char **body_p)
{
    zmsg_t *msg = zmx_test_recv (sub, timeout_ms);
    if (!msg)
        return false;
    ZMX_CHECK (zmsg_size (msg) == 2);
    *subject_p = zmsg_popstr (msg);
    *body_p = zmsg_popstr (msg);
    zmsg_destroy (&msg);
    return true;
}

//  Log error-level probes until one reaches `sub`, then a marker, and
//  read everything up to the marker.
static void
s_wait_connected (zsock_t *sub)
{
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    zmsg_t *msg = NULL;
    while (!msg && zclock_mono () < deadline) {
        zmx_log_error ("probe", "probe");
        msg = zmx_test_recv (sub, 50);
    }
    ZMX_CHECK (msg);
    zmsg_destroy (&msg);
    zmx_log_error ("probe", "marker");
    char *subject, *body;
    bool marker = false;
    while (!marker) {
        ZMX_CHECK (s_recv_line (sub, S_WAIT_MS, &subject, &body));
        marker = streq (body, "probe: marker");
        free (subject);
        free (body);
    }
}

//  stderr to a file in a fresh directory; returns the saved descriptor.
static int
s_capture (char **dir_p, char **path_p)
{
    *dir_p = zmx_test_tmpdir ();
    *path_p = zsys_sprintf ("%s/stderr", *dir_p);
    return zmx_test_capture_begin (*path_p);
}

//  -------------------------------------------------------------------------
//  Lines from several threads arrive whole, with their subject and body

static void *
s_logger (void *args)
{
    int thread = (int) (intptr_t) args;
    for (int line = 0; line < S_THREAD_LINES; line++)
        zmx_log_warning (thread % 2? "odd": "even", "thread %d line %d", thread, line);
    return NULL;
}

static void
s_threads (void)
{
    char *dir, *path;
    int saved = s_capture (&dir, &path);
    char *endpoint, *prefix = s_prefix ();
    zsock_t *sub = s_collector_new (&endpoint, 0);
    ZMX_CHECK (!zmx_log_forwarding ());
    ZMX_CHECK (zmx_log_forward (endpoint) == ZMX_OK);
    ZMX_CHECK (zmx_log_forwarding ());
    s_wait_connected (sub);
    uint64_t dropped = zmx_log_forward_dropped ();

    pthread_t threads [S_THREADS];
    for (int thread = 0; thread < S_THREADS; thread++)
        ZMX_CHECK (pthread_create (&threads [thread], NULL, s_logger,
                                   (void *) (intptr_t) thread) == 0);
    for (int thread = 0; thread < S_THREADS; thread++)
        pthread_join (threads [thread], NULL);

    //  Every line once, in its thread's order, with the warning subject
    char *subject_expected = zsys_sprintf ("%swarning", prefix);
    int next [S_THREADS] = { 0 };
    for (int count = 0; count < S_THREADS * S_THREAD_LINES; count++) {
        char *subject, *body;
        ZMX_CHECK (s_recv_line (sub, S_WAIT_MS, &subject, &body));
        ZMX_CHECK_STR (subject, subject_expected);
        int thread, line;
        char component [8];
        ZMX_CHECK (sscanf (body, "%7[a-z]: thread %d line %d", component, &thread, &line) == 3);
        ZMX_CHECK (thread >= 0 && thread < S_THREADS);
        ZMX_CHECK_STR (component, thread % 2? "odd": "even");
        ZMX_CHECK (line == next [thread]);
        next [thread]++;
        free (subject);
        free (body);
    }
    ZMX_CHECK (zmx_log_forward_dropped () == dropped);
    //  The stderr copy is printed as before
    zmx_test_capture_end (saved);
    ZMX_CHECK (zmx_test_count_lines (path, " W odd: thread 1 line ") == S_THREAD_LINES);

    ZMX_CHECK (zmx_log_forward (NULL) == ZMX_OK);
    ZMX_CHECK (!zmx_log_forwarding ());
    zmx_log_warning ("odd", "not forwarded");
    char *subject, *body;
    ZMX_CHECK (!s_recv_line (sub, 200, &subject, &body));

    zsock_destroy (&sub);
    free (subject_expected);
    free (prefix);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
    free (path);
}

//  -------------------------------------------------------------------------
//  Lines logged before the collector's subscription arrived are kept and
//  sent first, in order

static void
s_backlog (void)
{
    char *dir, *path;
    int saved = s_capture (&dir, &path);
    char *endpoint;
    zsock_t *sub = s_collector_new (&endpoint, 0);
    ZMX_CHECK (zmx_log_forward (endpoint) == ZMX_OK);
    for (int line = 0; line < 5; line++)
        zmx_log_notice ("early", "line %d", line);
    //  Probes until the subscription comes; the early lines go first
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    int next = 0, received = 0;
    while (next < 5 && zclock_mono () < deadline) {
        zmx_log_error ("probe", "probe");
        char *subject, *body;
        while (next < 5 && s_recv_line (sub, 50, &subject, &body)) {
            ZMX_CHECK (received++ >= 5 || strncmp (body, "early: ", 7) == 0);
            if (strncmp (body, "early: ", 7) == 0) {
                char *expected = zsys_sprintf ("early: line %d", next);
                ZMX_CHECK_STR (body, expected);
                free (expected);
                next++;
            }
            free (subject);
            free (body);
        }
    }
    ZMX_CHECK (next == 5);
    zmx_test_capture_end (saved);
    //  Stopped before anyone subscribed: kept lines are dropped, counted
    uint64_t dropped = zmx_log_forward_dropped ();
    ZMX_CHECK (zmx_log_forward ("tcp://127.0.0.1:1") == ZMX_OK);
    zmx_log_notice ("early", "never sent");
    ZMX_CHECK (zmx_log_forward (NULL) == ZMX_OK);
    ZMX_CHECK (zmx_log_forward_dropped () == dropped + 1);
    zsock_destroy (&sub);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
    free (path);
}

//  -------------------------------------------------------------------------
//  The forward level, its default and its independence from the printed one

static void
s_levels (void)
{
    char *dir, *path;
    int saved = s_capture (&dir, &path);
    char *endpoint, *prefix = s_prefix ();
    zsock_t *sub = s_collector_new (&endpoint, 0);
    zmx_log_set_level (ZMX_LOG_NOTICE);
    ZMX_CHECK (zmx_log_forward_level () == ZMX_LOG_NOTICE);    //  Follows the printed one
    ZMX_CHECK (zmx_log_forward (endpoint) == ZMX_OK);
    s_wait_connected (sub);

    zmx_log_info ("level", "info, neither printed nor forwarded");
    zmx_log_notice ("level", "notice 1");
    zmx_log_forward_set_level (ZMX_LOG_WARNING);
    ZMX_CHECK (zmx_log_forward_level () == ZMX_LOG_WARNING);
    zmx_log_notice ("level", "notice 2, printed only");
    zmx_log_warning ("level", "warning 1");
    zmx_log_forward_set_level (ZMX_LOG_DEBUG);
    ZMX_CHECK (zmx_log_enabled (ZMX_LOG_DEBUG));
    zmx_log_debug ("level", "debug 1, forwarded only");
    zmx_log_forward_set_level (-1);
    ZMX_CHECK (zmx_log_forward_level () == ZMX_LOG_NOTICE);
    ZMX_CHECK (!zmx_log_enabled (ZMX_LOG_INFO));
    zmx_log_debug ("level", "debug 2, neither");
    zmx_log_error ("level", "error 1");

    const char *expected [][2] = {
        { "notice", "level: notice 1" },
        { "warning", "level: warning 1" },
        { "debug", "level: debug 1, forwarded only" },
        { "error", "level: error 1" }
    };
    for (size_t index = 0; index < 4; index++) {
        char *subject, *body;
        ZMX_CHECK (s_recv_line (sub, S_WAIT_MS, &subject, &body));
        char *subject_expected = zsys_sprintf ("%s%s", prefix, expected [index][0]);
        ZMX_CHECK_STR (subject, subject_expected);
        ZMX_CHECK_STR (body, expected [index][1]);
        free (subject_expected);
        free (subject);
        free (body);
    }
    zmx_test_capture_end (saved);
    ZMX_CHECK (zmx_test_count_lines (path, "notice 2, printed only") == 1);
    ZMX_CHECK (zmx_test_count_lines (path, "debug 1") == 0);
    ZMX_CHECK (zmx_test_count_lines (path, "info, neither") == 0);

    zsock_destroy (&sub);
    free (prefix);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
    free (path);
}

//  -------------------------------------------------------------------------
//  A collector that stops reading: the flood is dropped and counted, and
//  no log call waits

#define S_FLOOD_LINES   100000
#define S_FLOOD_BYTES   900         //  Per line: 90 MB in all, past any buffer

static void
s_flood (void)
{
    char *dir, *path;
    int saved = s_capture (&dir, &path);
    char *endpoint;
    zsock_t *sub = s_collector_new (&endpoint, 10);
    ZMX_CHECK (zmx_log_forward (endpoint) == ZMX_OK);
    s_wait_connected (sub);
    //  Forward warnings, print only errors: the flood is not on stderr
    zmx_log_set_level (ZMX_LOG_ERROR);
    zmx_log_forward_set_level (ZMX_LOG_WARNING);

    char *filler = (char *) malloc (S_FLOOD_BYTES + 1);
    memset (filler, 'x', S_FLOOD_BYTES);
    filler [S_FLOOD_BYTES] = 0;
    uint64_t sent = zmx_log_forward_sent (), dropped = zmx_log_forward_dropped ();
    int64_t started = zclock_usecs (), slowest = 0;
    for (int line = 0; line < S_FLOOD_LINES; line++) {
        int64_t before = zclock_usecs ();
        zmx_log_warning ("flood", "%d %s", line, filler);
        int64_t took = zclock_usecs () - before;
        slowest = took > slowest? took: slowest;
    }
    int64_t elapsed = zclock_usecs () - started;
    uint64_t flood_sent = zmx_log_forward_sent () - sent;
    uint64_t flood_dropped = zmx_log_forward_dropped () - dropped;
    zmx_test_capture_end (saved);
    printf ("flood: %d lines in %.3f s (slowest call %.3f ms): %" PRIu64 " queued, %" PRIu64
            " dropped\n", S_FLOOD_LINES, elapsed / 1e6, slowest / 1e3, flood_sent, flood_dropped);
    ZMX_CHECK (flood_sent + flood_dropped == S_FLOOD_LINES);
    ZMX_CHECK (flood_dropped > S_FLOOD_LINES / 2);
    ZMX_CHECK (flood_sent >= ZMX_LOG_FORWARD_HWM / 2);
    //  Bounded: no call waits for the collector (generous for ASan and a
    //  loaded machine; a blocked send would never return)
    ZMX_CHECK (elapsed < 20 * 1000000);
    ZMX_CHECK (slowest < 1000000);

    //  The collector reads again: new lines arrive
    zmx_log_set_level (ZMX_LOG_NOTICE);
    zmx_log_forward_set_level (-1);
    zsock_set_rcvtimeo (sub, 0);
    char *text;
    while ((text = zstr_recv (sub)))
        zstr_free (&text);
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    bool after = false;
    while (!after && zclock_mono () < deadline) {
        zmx_log_error ("flood", "after");
        char *subject, *body;
        while (!after && s_recv_line (sub, 50, &subject, &body)) {
            after = streq (body, "flood: after");
            free (subject);
            free (body);
        }
    }
    ZMX_CHECK (after);

    zsock_destroy (&sub);
    free (filler);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
    free (path);
}

//  -------------------------------------------------------------------------
//  Nobody listens: every line is dropped and counted at once; bad
//  endpoints are refused and leave the forwarder as it was

static void
s_nobody (void)
{
    char *dir, *path;
    int saved = s_capture (&dir, &path);
    int port = zmx_test_free_port ();
    int tombstone = zmx_test_tombstone (port);      //  Refuses connections
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    ZMX_CHECK (zmx_log_forward (endpoint) == ZMX_OK);
    uint64_t dropped = zmx_log_forward_dropped ();
    int64_t started = zclock_mono ();
    for (int line = 0; line < 10000; line++)
        zmx_log_error ("nobody", "line %d", line);
    //  The first lines are kept for a collector that may still come
    ZMX_CHECK (zmx_log_forward_dropped () - dropped == 10000 - ZMX_LOG_FORWARD_BACKLOG);
    ZMX_CHECK (zclock_mono () - started < 10000);

    //  An unresolvable host is resolved by libzmq in the background
    ZMX_CHECK (zmx_log_forward (">tcp://nosuch.invalid:5560") == ZMX_OK);
    zmx_log_error ("nobody", "to a host that does not exist");
    ZMX_CHECK (zmx_log_forward ("no endpoint") == ZMX_EADDR);
    ZMX_CHECK (zmx_log_forward ("tcp://127.0.0.1:1,bogus://x") == ZMX_EADDR);
    ZMX_CHECK (zmx_log_forwarding ());
    ZMX_CHECK (zmx_log_forward ("") == ZMX_OK);
    ZMX_CHECK (!zmx_log_forwarding ());
    dropped = zmx_log_forward_dropped ();
    zmx_log_error ("nobody", "off");
    ZMX_CHECK (zmx_log_forward_dropped () == dropped);
    zmx_test_capture_end (saved);
    ZMX_CHECK (zmx_test_count_lines (path, "nobody: line 9999") == 1);

    if (tombstone >= 0)
        close (tombstone);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
    free (path);
}

//  -------------------------------------------------------------------------
//  Exit with the forwarder on

//  The child: CZMQ in use (a socket and an actor), the forwarder on
//  (through ZMX_LOG_ENDPOINT in mode "env"), lines from the actor's
//  thread, then a return from main with the forwarder still on. Its
//  collector is a SUB of its own ("nobody": none, the endpoint refuses),
//  which it reads until its last line arrives and then closes, as a
//  program must close its CZMQ sockets.
static void
s_child_actor (zsock_t *pipe, void *args)
{
    zsock_signal (pipe, 0);
    zmx_log_warning ("actor", "hello from the actor");
    zsock_wait (pipe);
}

static int
s_child (const char *mode, const char *nowhere)
{
    zsys_init ();
    char *endpoint = NULL;
    zsock_t *sub = streq (mode, "nobody")? NULL: s_collector_new (&endpoint, 0);
    if (streq (mode, "env"))
        setenv ("ZMX_LOG_ENDPOINT", endpoint, 1);
    else
    if (zmx_log_forward (sub? endpoint: nowhere) != ZMX_OK)
        return 2;
    if (!zmx_log_forwarding ())
        return 3;
    zactor_t *actor = zactor_new (s_child_actor, NULL);
    if (sub)
        s_wait_connected (sub);
    for (int line = 0; line < 1000; line++)
        zmx_log_error ("child", "line %d", line);
    zmx_log_error ("child", "last line before exit");
    zsock_signal (actor, 0);
    zactor_destroy (&actor);
    if (sub) {
        char *subject, *body;
        bool last = false;
        while (!last && s_recv_line (sub, S_WAIT_MS, &subject, &body)) {
            last = streq (body, "child: last line before exit");
            free (subject);
            free (body);
        }
        if (!last)
            return 4;
    }
    zsock_destroy (&sub);
    free (endpoint);
    zmx_log_error ("child", "returning from main");
    return 0;
}

//  Run the child in `mode`; returns its stderr, *took_p how long it ran.
static char *
s_run_child (const char *dir, const char *mode, const char *nowhere, int64_t *took_p)
{
    char *bin = zmx_test_bin ("test_log_forward");
    char *log = zsys_sprintf ("%s/child-%s.log", dir, mode);
    char *argv [] = { bin, "--child", (char *) mode, (char *) nowhere, NULL };
    int64_t started = zclock_mono ();
    pid_t pid = zmx_test_spawn (argv, log);
    int code = zmx_test_exit_code (pid, 15000, 1000);
    *took_p = zclock_mono () - started;
    char *output = zmx_test_read_file (log);
    if (code != 0)
        fprintf (stderr, "child %s exited %d:\n%s\n", mode, code, output);
    ZMX_CHECK (code == 0);
    free (log);
    free (bin);
    return output;
}

static void
s_exit_clean (void)
{
    char *dir = zmx_test_tmpdir ();
    int port = zmx_test_free_port ();
    int tombstone = zmx_test_tombstone (port);
    char *nowhere = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    const char *modes [] = { "call", "env", "nobody" };
    for (size_t index = 0; index < 3; index++) {
        int64_t took;
        char *output = s_run_child (dir, modes [index], nowhere, &took);
        //  CZMQ says "dangling ... socket" or "cannot terminate" on stderr
        //  (E: lines) if a socket is left on its context
        ZMX_CHECK (!strstr (output, "dangling"));
        ZMX_CHECK (!strstr (output, "E: "));
        ZMX_CHECK (strstr (output, "child: returning from main"));
        //  A hang at exit would hit the 15 s limit; the linger bounds it
        printf ("exit (%s): %" PRId64 " ms\n", modes [index], took);
        ZMX_CHECK (took < 10000);
        free (output);
    }
    if (tombstone >= 0)
        close (tombstone);
    free (nowhere);
    zmx_test_rmdir (dir);
    free (dir);
}

//  -------------------------------------------------------------------------
//  End to end: zmxd with its log service forwards its own warning (a
//  client sent garbage to the service) into the default stream

//  Start zmxd with only the log service on free ports, its store in dir;
//  *endpoint_p gets the ZMXS1 endpoint. Retries with other ports.
static pid_t
s_zmxd_log_start (const char *dir, const char *log, char **endpoint_p)
{
    pid_t pid = 0;
    for (int attempt = 0; attempt < 5 && !pid; attempt++) {
        int port = zmx_test_free_port (), ingest = zmx_test_free_port ();
        char *config = zsys_sprintf ("%s/zmxd.cfg", dir);
        char *text = zsys_sprintf (
            "zmxd\n"
            "    log-forward = \"auto\"\n"
            "log\n"
            "    endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    ingest-endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    syslog-endpoint = \"udp://127.0.0.1:%d\"\n"
            "    data-directory = \"%s/streams\"\n"
            "    fsync = \"never\"\n", port, ingest, zmx_test_free_udp_port (), dir);
        char *ready = zsys_sprintf ("log on tcp://127.0.0.1:%d", port);
        pid = zmx_test_zmxd_start (config, text, log, ready, 10000);
        if (pid)
            *endpoint_p = zsys_sprintf ("tcp://127.0.0.1:%d", port);
        free (ready);
        free (text);
        free (config);
    }
    ZMX_CHECK (pid);
    return pid;
}

static void
s_zmxd_end_to_end (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    char *endpoint;
    pid_t pid = s_zmxd_log_start (dir, log, &endpoint);

    //  Garbage to the ZMXS1 ROUTER: the service warns (at most once a
    //  second). By the third warning printed the first has long been
    //  forwarded, ingested and stored.
    zsock_t *dealer = zmx_test_dealer_new (endpoint, 100);
    int64_t deadline = zclock_mono () + 20000;
    while (zmx_test_count_lines (log, "invalid message") < 3 && zclock_mono () < deadline) {
        zstr_send (dealer, "GARBAGE");
        zclock_sleep (100);
    }
    zsock_destroy (&dealer);
    ZMX_CHECK (zmx_test_count_lines (log, "invalid message") >= 3);
    ZMX_CHECK (zmx_test_exit_code ((kill (pid, SIGTERM), pid), 10000, 1000) == 0);

    //  zmxd has stopped: read its store
    char *streams = zsys_sprintf ("%s/streams", dir);
    zmx_stream_store_t *store = zmx_stream_store_new (streams, NULL);
    ZMX_CHECK (store);
    char name [256] = "";
    gethostname (name, sizeof name - 1);
    name [strcspn (name, ".")] = 0;
    char *pattern = zsys_sprintf ("log.%s.zmxd.warning", name);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, "log", ZMX_STREAM_FROM_FIRST, 0,
                                                         pattern);
    ZMX_CHECK (cursor);
    zmx_stream_record_t record;
    int found = 0;
    while (zmx_stream_cursor_next (cursor, &record) == ZMX_OK) {
        if (!memmem (record.body, record.body_size, "invalid message", 15))
            continue;
        //  The ingest made the level the RFC 5424 severity
        zmx_stream_header_t header;
        bool warning = false;
        for (size_t index = 0; zmx_stream_record_header (&record, index, &header); index++)
            if (header.name_size == 8 && memcmp (header.name, "severity", 8) == 0)
                warning = header.value_size == 1 && *(const char *) header.value == '4';
        ZMX_CHECK (warning);
        found++;
    }
    printf ("%d forwarded warnings under %s\n", found, pattern);
    ZMX_CHECK (found >= 1);
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    free (pattern);
    free (streams);
    free (endpoint);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

int
main (int argc, char *argv [])
{
    if (argc == 4 && streq (argv [1], "--child"))
        return s_child (argv [2], argv [3]);
    zmx_test_t cases [] = {
        { "threads", s_threads, 30 },
        { "levels", s_levels, 30 },
        { "backlog", s_backlog, 30 },
        { "flood", s_flood, 50 },
        { "nobody", s_nobody, 30 },
        { "exit_clean", s_exit_clean, 50 },
        { "zmxd_end_to_end", s_zmxd_end_to_end, 50 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
