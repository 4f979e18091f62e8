/*  =========================================================================
    test_cli_streams - zmx log, zmx streams and zmx console against zmxd

    Each case starts its own zmxd with only the log service, on a port free
    a moment ago and a private data directory, and runs the built `zmx` as
    a user would: send then tail (text and JSON), stdin lines, each start
    option, durable consumers that resume, the streams listing, rm and
    purge, the console's filters and its plain output when piped, and the
    exit codes (no server, bad arguments, bad subject). Waits are polls
    with deadlines, never fixed sleeps.
    =========================================================================
*/
#include "testing.h"
#include "../../cli/zmx_layout.h"
#include <unistd.h>

#define S_START_MSEC    10000   //  Longest zmxd may take to be ready
#define S_RUN_MSEC      10000   //  Longest one `zmx` run may take
#define S_MAX_ARGS      40

typedef struct {
    char *dir;                  //  Private directory: config, log, data
    char *log;                  //  zmxd's output
    char endpoint [64];         //  The streams endpoint
    int port;
    pid_t pid;
} s_daemon_t;

static void
s_daemon_start (s_daemon_t *daemon)
{
    memset (daemon, 0, sizeof *daemon);
    daemon->dir = zmx_test_tmpdir ();
    daemon->log = zsys_sprintf ("%s/zmxd.log", daemon->dir);
    char *config = zsys_sprintf ("%s/zmxd.cfg", daemon->dir);
    for (int attempt = 0; attempt < 20 && !daemon->pid; attempt++) {
        //  Above ZMX_LAYOUT's offset, so that --zmxd can name it by base
        int port = zmx_test_free_port ();
        if (port <= 100)
            continue;
        char *text = zsys_sprintf (
            "log\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    ingest-endpoint = \"\"\n    syslog-endpoint = \"\"\n"
            "    data-directory = \"%s/streams\"\n    heartbeat-interval = 250\n"
            "    max-record = 65536\n",
            port, daemon->dir);
        char *ready = zsys_sprintf ("log on tcp://127.0.0.1:%d", port);
        daemon->pid = zmx_test_zmxd_start (config, text, daemon->log, ready, S_START_MSEC);
        daemon->port = port;
        free (ready);
        free (text);
    }
    ZMX_CHECK (daemon->pid);
    snprintf (daemon->endpoint, sizeof daemon->endpoint, "tcp://127.0.0.1:%d", daemon->port);
    free (config);
}

static void
s_daemon_stop (s_daemon_t *daemon)
{
    zmx_test_stop (daemon->pid, 3000);
    zmx_test_rmdir (daemon->dir);
    free (daemon->dir);
    free (daemon->log);
}

//  argv of `zmx WORDS -e ENDPOINT ARGS`: `words` split at spaces, then
//  the endpoint (unless NULL), then the arguments up to a NULL
static void
s_build_argv (char *argv [], const char *endpoint, char *words, va_list args)
{
    argv [0] = zmx_test_bin ("zmx");
    int count = 1;
    char *word;
    while ((word = strsep (&words, " ")) && count < S_MAX_ARGS - 4)
        argv [count++] = word;
    if (endpoint) {
        argv [count++] = "-e";
        argv [count++] = (char *) endpoint;
    }
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 1)
        argv [count++] = (char *) arg;
    argv [count] = NULL;
}

//  Run zmx with `input` on stdin; its stdout in *output_p (may be NULL).
//  Returns the exit code.
static int
s_zmx (const char *endpoint, const char *input, char **output_p, const char *words, ...)
{
    char *copy = strdup (words);
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, words);
    s_build_argv (argv, endpoint, copy, args);
    va_end (args);
    int rc = zmx_test_run (argv, input, S_RUN_MSEC, output_p);
    free (argv [0]);
    free (copy);
    return rc;
}

//  The same with stdout and stderr together in *output_p (caller frees)
static int
s_zmx_all (const char *endpoint, char **output_p, const char *words, ...)
{
    char *copy = strdup (words);
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, words);
    s_build_argv (argv, endpoint, copy, args);
    va_end (args);
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmx.log", dir);
    int rc = zmx_test_exit_code (zmx_test_spawn (argv, log), S_RUN_MSEC, 100);
    *output_p = zmx_test_read_file (log);
    zmx_test_rmdir (dir);
    free (dir);
    free (log);
    free (argv [0]);
    free (copy);
    return rc;
}

//  Lines of `text`
static int
s_lines (const char *text)
{
    int lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

//  True if jq finds `filter` true of `json` (-s: JSON Lines as one array)
static bool
s_jq (const char *json, const char *filter)
{
    char *argv [] = { "/usr/bin/jq", "-e", "-s", (char *) filter, NULL };
    int rc = zmx_test_run (argv, json, S_RUN_MSEC, NULL);
    if (rc != 0)
        fprintf (stderr, "jq %s: exit %d on:\n%s\n", filter, rc, json);
    return rc == 0;
}

static bool
s_have_jq (void)
{
    if (access ("/usr/bin/jq", X_OK) == 0)
        return true;
    fprintf (stderr, "jq is missing (scripts/deps.sh installs it): JSON checked by text\n");
    return false;
}

//  -------------------------------------------------------------------------

//  send, then tail in text and JSON; bodies escaped; default subject
static void
s_send_tail (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *at = daemon.endpoint;
    ZMX_CHECK (s_zmx (at, NULL, NULL, "log send", "-s", "app.db.error", "--level", "error",
                      "disk", "full", NULL) == 0);
    ZMX_CHECK (s_zmx (at, NULL, NULL, "log send", "--level", "warning", "slow", "disk",
                      NULL) == 0);
    //  A body with a control byte, a tab, a backslash and UTF-8
    ZMX_CHECK (s_zmx (at, "a\001b\tc\\d \xc3\xa9\n", NULL, "log send", "-s", "app.x",
                      NULL) == 0);
    char *output = NULL;
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 3);
    ZMX_CHECK (strstr (output, " 1 app.db.error error disk full\n"));
    ZMX_CHECK (strstr (output, ".zmx.warning warning slow disk\n"));
    ZMX_CHECK (strstr (output, " 2 log."));
    ZMX_CHECK (strstr (output, " 3 app.x info a\\x01b\\tc\\\\d \xc3\xa9\n"));
    free (output);

    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--json", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 3);
    ZMX_CHECK (strstr (output, "\"sequence\":1,"));
    ZMX_CHECK (strstr (output, "\"subject\":\"app.db.error\""));
    ZMX_CHECK (strstr (output, "\"severity\":3,\"level\":\"error\""));
    ZMX_CHECK (strstr (output, "\"body\":\"a\\u0001b\\tc\\\\d \xc3\xa9\""));
    if (s_have_jq ())
        ZMX_CHECK (s_jq (output, "length == 3 and .[0].body == \"disk full\" and "
                         ".[0].headers.severity == \"3\" and .[1].level == \"warning\" and "
                         "(.[1].subject | test(\"^log\\\\.[^.]+\\\\.zmx\\\\.warning$\")) and "
                         ".[2].sequence == 3 and .[2].time_ns > 0"));
    free (output);

    //  A record the service refuses: exit 1 with its reason
    char *big = (char *) zmalloc (70001);
    memset (big, 'x', 70000);
    ZMX_CHECK (s_zmx_all (at, &output, "log send", "-s", "app.big", big, NULL) == 1);
    ZMX_CHECK (strstr (output, "0 of 1 records acknowledged") && strstr (output, "max-record"));
    free (output);
    free (big);
    s_daemon_stop (&daemon);
}

//  Each line of stdin is one record; --id makes a repeated run store once
static void
s_stdin_lines (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *at = daemon.endpoint;
    ZMX_CHECK (s_zmx (at, "one\ntwo\r\n\nthree", NULL, "log send", "--stream", "lines",
                      NULL) == 0);
    char *output = NULL;
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "lines", "--from-start",
                      NULL) == 0);
    ZMX_CHECK (s_lines (output) == 3);
    char *one = strstr (output, " 1 log.");
    char *two = strstr (output, " 2 log.");
    char *three = strstr (output, " 3 log.");
    ZMX_CHECK (one && two && three && one < two && two < three);
    ZMX_CHECK (strstr (output, "info one\n") && strstr (output, "info two\n")
               && strstr (output, "info three\n"));
    free (output);

    //  Many lines, batched; sent twice with one id: stored once
    zchunk_t *lines = zchunk_new (NULL, 0);
    for (int index = 1; index <= 3000; index++) {
        char line [32];
        snprintf (line, sizeof line, "line %d\n", index);
        zchunk_extend (lines, line, strlen (line));
    }
    zchunk_extend (lines, "", 1);
    const char *text = (const char *) zchunk_data (lines);
    ZMX_CHECK (s_zmx (at, text, NULL, "log send", "--stream", "many", "--id", "run1", NULL)
               == 0);
    ZMX_CHECK (s_zmx (at, text, NULL, "log send", "--stream", "many", "--id", "run1", NULL)
               == 0);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "many", "--last", "1",
                      NULL) == 0);
    ZMX_CHECK (strstr (output, " 3000 log.") && strstr (output, "line 3000\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "streams", "--json", NULL) == 0);
    ZMX_CHECK (strstr (output, "\"name\":\"many\",\"records\":3000,"));
    free (output);
    zchunk_destroy (&lines);
    s_daemon_stop (&daemon);
}

//  --from-start, --seq, --last, --since and the default start
static void
s_start_options (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *at = daemon.endpoint;
    char text [512] = "";
    for (int index = 1; index <= 20; index++)
        snprintf (text + strlen (text), sizeof text - strlen (text), "r%d\n", index);
    ZMX_CHECK (s_zmx (at, text, NULL, "log send", NULL) == 0);
    char *output = NULL;
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--from-start", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 20 && strstr (output, " 1 log.") && strstr (output, " r1\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 10 && strstr (output, " r11\n") && !strstr (output, " r10\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--seq", "15", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 6 && strstr (output, " 15 log.") && !strstr (output, " r14\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--last", "3", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 3 && strstr (output, " r18\n") && strstr (output, " r20\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--since", "1h", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 20);
    free (output);
    //  --since between two batches: the second one only. The cut is the
    //  middle of a 2 s gap, so that it holds however long zmx takes to start
    int64_t middle = zclock_time () + 1000;
    zclock_sleep (2000);
    ZMX_CHECK (s_zmx (at, "late1\nlate2\n", NULL, "log send", NULL) == 0);
    char since [32];
    snprintf (since, sizeof since, "%" PRId64 "ms", zclock_time () - middle);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--since", since, NULL) == 0);
    ZMX_CHECK (s_lines (output) == 2 && strstr (output, " 21 log.") && strstr (output, " late2\n"));
    free (output);
    //  A pattern filters on the service's side
    ZMX_CHECK (s_zmx (at, NULL, NULL, "log send", "-s", "app.web.error", "w", NULL) == 0);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--from-start", "--subject", "app.*.error",
                      NULL) == 0);
    ZMX_CHECK (s_lines (output) == 1 && strstr (output, " 23 app.web.error info w\n"));
    free (output);
    s_daemon_stop (&daemon);
}

//  A durable consumer resumes after its last acknowledged record
static void
s_durable_resumes (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *at = daemon.endpoint;
    ZMX_CHECK (s_zmx (at, "a1\na2\na3\n", NULL, "log send", "--stream", "work", NULL) == 0);
    char *output = NULL;
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "work", "--durable", "c1",
                      "--from-start", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 3 && strstr (output, " a1\n") && strstr (output, " a3\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, "b1\nb2\n", NULL, "log send", "--stream", "work", NULL) == 0);
    //  The start options only create the consumer: it goes on at b1
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "work", "--durable", "c1",
                      "--from-start", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 2 && strstr (output, " 4 log.") && strstr (output, " b2\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "work", "--durable", "c1",
                      NULL) == 0);
    ZMX_CHECK (s_lines (output) == 0);
    free (output);
    //  Another consumer starts where it is told
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "work", "--durable", "c2",
                      "--last", "1", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 1 && strstr (output, " b2\n"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "streams", "--json", NULL) == 0);
    ZMX_CHECK (strstr (output, "\"consumers\":2}"));
    free (output);

    //  -f: history, then live records; after SIGINT (exit 0) what it
    //  printed is acknowledged, so the next run has nothing
    char *path = zsys_sprintf ("%s/follow.log", daemon.dir);
    char *argv [] = { zmx_test_bin ("zmx"), "log", "tail", "-e", (char *) at, "-f",
                      "--stream", "work", "--durable", "c3", "--from-start", NULL };
    pid_t pid = zmx_test_spawn (argv, path);
    ZMX_CHECK (zmx_test_wait_for_text (path, " b2\n", S_RUN_MSEC));
    ZMX_CHECK (s_zmx (at, "c1\n", NULL, "log send", "--stream", "work", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (path, " 6 log.", S_RUN_MSEC));
    ZMX_CHECK (zmx_test_wait_for_text (path, " c1\n", S_RUN_MSEC));
    kill (pid, SIGINT);
    ZMX_CHECK (zmx_test_exit_code (pid, S_RUN_MSEC, 100) == 0);
    output = zmx_test_read_file (path);
    ZMX_CHECK (s_lines (output) == 6);
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "work", "--durable", "c3",
                      NULL) == 0);
    ZMX_CHECK (s_lines (output) == 0);
    free (output);
    free (argv [0]);
    free (path);
    s_daemon_stop (&daemon);
}

//  zmx streams: table, JSON, rm and purge with --yes, --zmxd
static void
s_streams_admin (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *at = daemon.endpoint;
    ZMX_CHECK (s_zmx (at, "x\ny\n", NULL, "log send", "--stream", "alpha", NULL) == 0);
    ZMX_CHECK (s_zmx (at, "z\n", NULL, "log send", "--stream", "beta", NULL) == 0);
    char *output = NULL;
    ZMX_CHECK (s_zmx (at, NULL, &output, "streams", NULL) == 0);
    ZMX_CHECK (strncmp (output, "STREAM ", 7) == 0 && strstr (output, "CONSUMERS\n"));
    ZMX_CHECK (s_lines (output) == 3);
    char *alpha = strstr (output, "\nalpha ");
    char *beta = strstr (output, "\nbeta ");
    ZMX_CHECK (alpha && beta && alpha < beta);
    unsigned long records, bytes, first, last;
    ZMX_CHECK (sscanf (alpha, "\nalpha %lu %lu %lu %lu", &records, &bytes, &first, &last) == 4);
    ZMX_CHECK (records == 2 && bytes > 0 && first == 1 && last == 2);
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "streams", "ls", "--json", NULL) == 0);
    if (s_have_jq ())
        ZMX_CHECK (s_jq (output, ".[0] | length == 2 and .[0].name == \"alpha\" and "
                         ".[0].records == 2 and .[0].first_sequence == 1 and "
                         ".[0].last_sequence == 2 and .[0].first_time_ns > 0 and "
                         ".[0].consumers == 0 and .[1].name == \"beta\""));
    free (output);

    //  rm and purge want --yes, and say so
    ZMX_CHECK (s_zmx_all (at, &output, "streams", "rm", "alpha", NULL) == 2);
    ZMX_CHECK (strstr (output, "add --yes"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, &output, "streams", "rm", "alpha", "--yes", NULL) == 0);
    ZMX_CHECK (strstr (output, "deleted alpha"));
    free (output);
    ZMX_CHECK (s_zmx (at, NULL, NULL, "streams", "purge", "beta", "--yes", NULL) == 0);
    ZMX_CHECK (s_zmx (at, NULL, &output, "streams", "--json", NULL) == 0);
    ZMX_CHECK (!strstr (output, "alpha"));
    ZMX_CHECK (strstr (output, "\"name\":\"beta\",\"records\":0,"));
    free (output);
    //  A purged stream keeps its sequence
    ZMX_CHECK (s_zmx (at, "w\n", NULL, "log send", "--stream", "beta", NULL) == 0);
    ZMX_CHECK (s_zmx (at, NULL, &output, "log tail", "--stream", "beta", NULL) == 0);
    ZMX_CHECK (s_lines (output) == 1 && strstr (output, " 2 log."));
    free (output);
    ZMX_CHECK (s_zmx_all (at, &output, "streams", "rm", "nosuch", "--yes", NULL) == 1);
    ZMX_CHECK (strstr (output, "no such stream"));
    free (output);

    //  --zmxd HOST:BASE and $ZMX_ZMXD find the service at BASE + 6
    char zmxd [64];
    snprintf (zmxd, sizeof zmxd, "127.0.0.1:%d",
              daemon.port - zmx_layout_port (ZMX_LAYOUT_LOG_STREAMS, 0));
    ZMX_CHECK (s_zmx (NULL, NULL, &output, "streams", "--zmxd", zmxd, NULL) == 0);
    ZMX_CHECK (strstr (output, "\nbeta "));
    free (output);
    setenv ("ZMX_ZMXD", zmxd, 1);
    ZMX_CHECK (s_zmx (NULL, NULL, &output, "streams", NULL) == 0);
    ZMX_CHECK (strstr (output, "\nbeta "));
    free (output);
    unsetenv ("ZMX_ZMXD");
    setenv ("ZMX_STREAMS", at, 1);
    ZMX_CHECK (s_zmx (NULL, NULL, &output, "streams", NULL) == 0);
    ZMX_CHECK (strstr (output, "\nbeta "));
    free (output);
    unsetenv ("ZMX_STREAMS");
    s_daemon_stop (&daemon);
}

//  Start `zmx console ARGS` with its output to `path`
static pid_t
s_console_start (const char *endpoint, const char *path, const char *const args [])
{
    char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx"), "console", "-e", (char *) endpoint };
    int count = 4;
    for (size_t index = 0; args [index]; index++)
        argv [count++] = (char *) args [index];
    argv [count] = NULL;
    pid_t pid = zmx_test_spawn (argv, path);
    free (argv [0]);
    return pid;
}

//  Run the console until its first header, stop it; its output
static char *
s_console_once (const s_daemon_t *daemon, const char *const args [])
{
    char *path = zsys_sprintf ("%s/console-%d.log", daemon->dir, zmx_test_free_port ());
    pid_t pid = s_console_start (daemon->endpoint, path, args);
    ZMX_CHECK (zmx_test_wait_for_text (path, " and above:", S_RUN_MSEC));
    kill (pid, SIGTERM);
    ZMX_CHECK (zmx_test_exit_code (pid, S_RUN_MSEC, 100) == 0);
    char *output = zmx_test_read_file (path);
    free (path);
    return output;
}

//  The console: filters by level, subject and text; plain when piped; a
//  header after the history and again once something new was shown
static void
s_console (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *at = daemon.endpoint;
    const struct {
        const char *subject, *level, *text;
    } records [] = {
        { "app.db.error", "error", "disk full" }, { "app.web.error", "error", "timeout" },
        { "app.db.warning", "warning", "disk slow" }, { "app.web.info", "info", "started" },
        { "app.web.debug", "debug", "trace" }, { "app.db.crit", "crit", "\033[2Jcorrupt" },
    };
    for (size_t index = 0; index < sizeof records / sizeof records [0]; index++)
        ZMX_CHECK (s_zmx (at, NULL, NULL, "log send", "-s", records [index].subject, "--level",
                          records [index].level, records [index].text, NULL) == 0);

    const char *defaults [] = { NULL };
    char *output = s_console_once (&daemon, defaults);
    ZMX_CHECK (strstr (output, " ERROR   app.db.error disk full\n"));
    ZMX_CHECK (strstr (output, " WARNING app.db.warning disk slow\n"));
    ZMX_CHECK (strstr (output, " CRIT    app.db.crit \\x1b[2Jcorrupt\n"));
    ZMX_CHECK (!strstr (output, "started") && !strstr (output, "trace"));
    ZMX_CHECK (!strchr (output, '\033'));    //  Piped: no colour, and bodies escaped
    ZMX_CHECK (strstr (output, "-- log, warning and above: emerg 0 alert 0 crit 1 error 2 "
                               "warning 1 | "));
    //  The header comes after the history
    ZMX_CHECK (strstr (output, "-- log,") > strstr (output, "disk slow"));
    free (output);

    const char *info [] = { "--level", "info", NULL };
    output = s_console_once (&daemon, info);
    ZMX_CHECK (strstr (output, "started") && !strstr (output, "trace"));
    ZMX_CHECK (strstr (output, "info 1 |"));
    free (output);
    const char *subject [] = { "--subject", "app.db.>", "--level", "debug", NULL };
    output = s_console_once (&daemon, subject);
    ZMX_CHECK (strstr (output, "disk full") && strstr (output, "disk slow")
               && !strstr (output, "timeout") && !strstr (output, "started"));
    free (output);
    const char *grep [] = { "--grep", "disk", NULL };
    output = s_console_once (&daemon, grep);
    ZMX_CHECK (strstr (output, "disk full") && strstr (output, "disk slow")
               && !strstr (output, "timeout") && !strstr (output, "corrupt"));
    free (output);
    const char *since [] = { "--since", "1h", "--grep", "web", NULL };
    output = s_console_once (&daemon, since);
    ZMX_CHECK (strstr (output, "timeout") && !strstr (output, "disk"));
    free (output);

    //  Live: a new error shows, then a header with the new count
    char *path = zsys_sprintf ("%s/console-live.log", daemon.dir);
    pid_t pid = s_console_start (at, path, defaults);
    ZMX_CHECK (zmx_test_wait_for_text (path, "error 2 warning 1 |", S_RUN_MSEC));
    ZMX_CHECK (s_zmx (at, NULL, NULL, "log send", "-s", "app.new.error", "--level", "3",
                      "fresh", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (path, " ERROR   app.new.error fresh\n", S_RUN_MSEC));
    ZMX_CHECK (zmx_test_wait_for_text (path, "error 3 warning 1 |", S_RUN_MSEC));
    kill (pid, SIGINT);
    ZMX_CHECK (zmx_test_exit_code (pid, S_RUN_MSEC, 100) == 0);
    free (path);
    s_daemon_stop (&daemon);
}

//  Exit codes: no server 3, bad arguments and subjects 2, bad CURVE keys 5,
//  unknown host 6
static void
s_exit_codes (void)
{
    int port = zmx_test_free_port ();
    int tombstone = zmx_test_tombstone (port);
    char dead [64];
    snprintf (dead, sizeof dead, "tcp://127.0.0.1:%d", port);
    const char *runs [][4] = {
        { "log send", "hello" }, { "log tail" }, { "log tail", "-f" }, { "streams" },
        { "streams", "purge", "x", "--yes" }, { "console" },
    };
    for (size_t index = 0; index < sizeof runs / sizeof runs [0]; index++) {
        char *output = NULL;
        int rc = s_zmx_all (dead, &output, runs [index][0], "-t", "300", runs [index][1],
                            runs [index][2], runs [index][3], NULL);
        if (rc != 3)
            fprintf (stderr, "zmx %s: exit %d: %s\n", runs [index][0], rc, output);
        ZMX_CHECK (rc == 3);
        ZMX_CHECK (strstr (output, "no answer from tcp://127.0.0.1:"));
        ZMX_CHECK (strstr (output, "is zmxd running there with the log service"));
        free (output);
    }
    if (tombstone >= 0)
        close (tombstone);

    //  Usage errors name what is wrong, without a server
    const char *usage [][5] = {
        { "log send", "-s", "bad subject", "x", "is not a valid subject" },
        { "log send", "-s", "app..x", "x", "is not a valid subject" },
        { "log send", "-s", "app.>", "x", "is not a valid subject" },
        { "log send", "--level", "loud", "x", "--level loud" },
        { "log send", "--stream", ".hidden", "x", "is not a stream name" },
        { "log tail", "--seq", "x", NULL, "--seq x" },
        { "log tail", "--last", "0", NULL, "--last 0" },
        { "log tail", "--since", "soon", NULL, "--since soon" },
        { "log tail", "--subject", "a.>.b", NULL, "is not a valid pattern" },
        { "log tail", "--from-start", "--last", "2", "one start at most" },
        { "log tail", "--durable", "a b", NULL, "--durable 'a b'" },
        { "log tail", "extra", NULL, NULL, "unexpected argument 'extra'" },
        { "log nosuch", NULL, NULL, NULL, "unknown verb 'nosuch'" },
        { "streams", "rm", "x", NULL, "add --yes" },
        { "streams", "purge", NULL, NULL, "needs one stream NAME" },
        { "streams", "--json", "rm", "x", "--json goes with ls only" },
        { "console", "--level", "x", NULL, "--level x" },
        { "console", "--bogus", NULL, NULL, "'--bogus'" },
        { "log tail", "--curve-cert", "x.cert", NULL, "go together" },
    };
    for (size_t index = 0; index < sizeof usage / sizeof usage [0]; index++) {
        char *output = NULL;
        int rc = s_zmx_all (dead, &output, usage [index][0], usage [index][1], usage [index][2],
                            usage [index][3], NULL);
        if (rc != 2 || !strstr (output, usage [index][4]))
            fprintf (stderr, "zmx %s %s: exit %d: %s\n", usage [index][0], usage [index][1],
                     rc, output);
        ZMX_CHECK (rc == 2);
        ZMX_CHECK (strstr (output, usage [index][4]));
        free (output);
    }
    char *output = NULL;
    ZMX_CHECK (s_zmx_all (dead, &output, "log tail", "--curve-cert", "/nosuch.cert",
                          "--server-key", "/nosuch", NULL) == 5);
    ZMX_CHECK (strstr (output, "cannot use CURVE"));
    free (output);
    ZMX_CHECK (s_zmx_all ("tcp://nosuch.invalid:5561", &output, "streams", NULL) == 6);
    ZMX_CHECK (strstr (output, "cannot resolve host 'nosuch.invalid'"));
    free (output);
    //  --help: exit 0, the usage on stdout
    const char *helps [] = { "log", "log send", "log tail", "streams", "console" };
    for (size_t index = 0; index < sizeof helps / sizeof helps [0]; index++) {
        ZMX_CHECK (s_zmx (NULL, NULL, &output, helps [index], "--help", NULL) == 0);
        char *expected = zsys_sprintf ("usage: zmx %s", helps [index]);
        ZMX_CHECK (strncmp (output, expected, strlen (expected)) == 0);
        free (expected);
        free (output);
    }
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "send_tail", s_send_tail, 40 },
        { "stdin_lines", s_stdin_lines, 40 },
        { "start_options", s_start_options, 40 },
        { "durable_resumes", s_durable_resumes, 40 },
        { "streams_admin", s_streams_admin, 40 },
        { "console", s_console, 60 },
        { "exit_codes", s_exit_codes, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
