/*  =========================================================================
    test_cli_common - what every `zmx` command shares

    One setting names a zmxd (--zmxd HOST:BASE or $ZMX_ZMXD, zmxd
    --base-port), -V prints the version, --json listings parse, an
    unresolvable host is named as such, and every command's usage errors
    exit 2 naming the option. Each case that needs a daemon starts its own
    zmxd on ports free a moment ago, in its own directory; waits are polls
    with deadlines, never fixed sleeps.
    =========================================================================
*/
#include "testing.h"
#include "../../cli/zmx_layout.h"
#include <unistd.h>

#define S_START_MSEC    10000   //  Longest zmxd may take to be ready
#define S_RUN_MSEC      8000    //  Longest one `zmx` run may take
#define S_MAX_ARGS      32
#define S_BASE_TRIES    20      //  Bases to try before giving up

typedef struct {
    char *dir;                  //  Private directory: zmxd's working dir
    int base;                   //  zmxd --base-port
    char zmxd [64];             //  "127.0.0.1:BASE"
    pid_t pid;                  //  The daemon
} s_daemon_t;

//  Collect `zmx`, the first `lead` arguments, "--zmxd ZMXD" unless zmxd
//  is NULL, then the rest of args, up to a NULL, into argv.
static void
s_build_argv (char *argv [], const char *zmxd, int lead, va_list args)
{
    argv [0] = zmx_test_bin ("zmx");
    int count = 1;
    const char *arg;
    while ((arg = va_arg (args, const char *)) && count < S_MAX_ARGS - 3) {
        argv [count++] = (char *) arg;
        if (count == lead + 1 && zmxd) {
            argv [count++] = "--zmxd";
            argv [count++] = (char *) zmxd;
        }
    }
    argv [count] = NULL;
}

//  Run `zmx` with the arguments of s_build_argv; stdout and stderr go to
//  *output_p (caller frees, may be NULL). Returns the exit code.
static int
s_zmx_at (const char *zmxd, char **output_p, int lead, ...)
{
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, lead);
    s_build_argv (argv, zmxd, lead, args);
    va_end (args);
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmx.log", dir);
    pid_t pid = zmx_test_spawn (argv, log);
    int rc = zmx_test_exit_code (pid, S_RUN_MSEC, 100);
    if (output_p)
        *output_p = zmx_test_read_file (log);
    zmx_test_rmdir (dir);
    free (dir);
    free (log);
    free (argv [0]);
    return rc;
}

//  The same with only stdout in *output_p: what --json prints
static int
s_zmx_json (const char *zmxd, char **output_p, int lead, ...)
{
    char *argv [S_MAX_ARGS];
    va_list args;
    va_start (args, lead);
    s_build_argv (argv, zmxd, lead, args);
    va_end (args);
    int rc = zmx_test_run (argv, NULL, S_RUN_MSEC, output_p);
    free (argv [0]);
    return rc;
}

//  True if every tcp port of the layout at `base` can be bound now.
static bool
s_base_free (int base)
{
    if (base < 1 || base > ZMX_LAYOUT_BASE_MAX)
        return false;
    for (int which = 0; which < ZMX_LAYOUT_BEACON; which++)
        if (!zmx_test_port_free (zmx_layout_port ((zmx_layout_port_t) which, base)))
            return false;
    return true;
}

//  Start the built-in zmxd with --base-port in a private directory (its
//  data directories are relative), retrying with other bases if a port
//  was taken meanwhile.
static void
s_daemon_start (s_daemon_t *daemon)
{
    memset (daemon, 0, sizeof *daemon);
    daemon->dir = zmx_test_tmpdir ();
    ZMX_CHECK (chdir (daemon->dir) == 0);
    char *bin = zmx_test_bin ("zmxd");
    for (int attempt = 0; attempt < S_BASE_TRIES && !daemon->pid; attempt++) {
        int base = zmx_test_free_port ();
        if (!s_base_free (base))
            continue;
        char text [16], ready [64];
        snprintf (text, sizeof text, "%d", base);
        snprintf (ready, sizeof ready, "zmxd: node on ");
        char *log = zsys_sprintf ("%s/zmxd-%d.log", daemon->dir, base);
        char *argv [] = { bin, "--base-port", text, NULL };
        pid_t pid = zmx_test_spawn (argv, log);
        if (zmx_test_wait_for_text (log, ready, S_START_MSEC) && zmx_test_wait (pid, 0) == -1) {
            daemon->pid = pid;
            daemon->base = base;
            snprintf (daemon->zmxd, sizeof daemon->zmxd, "127.0.0.1:%d", base);
            char *broker = zsys_sprintf ("broker on tcp://127.0.0.1:%d\n", base);
            char *output = zmx_test_read_file (log);
            ZMX_CHECK (strstr (output, broker));
            free (output);
            free (broker);
        }
        else
            zmx_test_stop (pid, 2000);
        free (log);
    }
    free (bin);
    ZMX_CHECK (daemon->pid);
}

static void
s_daemon_stop (s_daemon_t *daemon)
{
    zmx_test_stop (daemon->pid, 3000);
    zmx_test_rmdir (daemon->dir);
    free (daemon->dir);
}

//  The ZRE commands find the daemon's node: it beacons on BASE + 115, on lo
static void
s_walk_zre (const s_daemon_t *daemon, const char *zmxd, const char *tag)
{
    char *output = NULL;
    char *broker = zsys_sprintf ("X-ZMX-BROKER=tcp://127.0.0.1:%d", daemon->base);
    ZMX_CHECK (s_zmx_at (zmxd, &output, 1, "peers", "--once", "-w", "2500", NULL) == 0);
    ZMX_CHECK (strstr (output, broker));
    free (output);
    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "shout", "-w", "6000", "zmxd", "hi", NULL) == 0);
    //  The daemon's node is named after the host
    char host [256] = "";
    ZMX_CHECK (gethostname (host, sizeof host) == 0);
    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "whisper", "-w", "6000", host, "hi", NULL) == 0);
    //  A listener and a shouter meet on zmxd's beacon port
    char *group = zsys_sprintf ("group-%s", tag);
    char *heard = zsys_sprintf ("%s/listen-%s.log", daemon->dir, tag);
    char *listen [] = { zmx_test_bin ("zmx"), "listen", "-c", "1", "-w", "7000", group,
                        zmxd? "--zmxd": NULL, (char *) zmxd, NULL };
    pid_t listener = zmx_test_spawn (listen, heard);
    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "shout", "-w", "6000", group, "over", NULL) == 0);
    ZMX_CHECK (zmx_test_exit_code (listener, S_RUN_MSEC, 100) == 0);
    output = zmx_test_read_file (heard);
    ZMX_CHECK (strstr (output, "over"));
    free (output);
    free (listen [0]);
    free (heard);
    free (group);
    free (broker);
}

//  Every command reaches the daemon with `zmxd` as its only hint of
//  where it is (NULL: from the environment alone). `tag` keeps the keys
//  and names of two passes apart.
static void
s_walk_commands (const s_daemon_t *daemon, const char *zmxd, const char *tag)
{
    //  Titanic's workers register just after zmxd says it is ready
    char *output = NULL;
    int64_t deadline = zclock_mono () + S_START_MSEC;
    while (true) {
        ZMX_CHECK (s_zmx_at (zmxd, &output, 1, "services", NULL) == 0);
        bool listed = strstr (output, "titanic.request") != NULL;
        free (output);
        if (listed)
            break;
        ZMX_CHECK (zclock_mono () < deadline);
        usleep (50000);
    }

    //  A worker and a call; --queue lets the call wait for the worker
    char *service = zsys_sprintf ("echo-%s", tag);
    char *log = zsys_sprintf ("%s/worker-%s.log", daemon->dir, tag);
    char *argv [] = { zmx_test_bin ("zmx"), "worker", "--heartbeat", "200", service,
                      "--echo", zmxd? "--zmxd": NULL, (char *) zmxd, NULL };
    pid_t worker = zmx_test_spawn (argv, log);
    ZMX_CHECK (s_zmx_at (zmxd, &output, 1, "call", "--queue", "-t", "6000", "-r", "0",
                         service, "hello", NULL) == 0);
    ZMX_CHECK (strstr (output, "hello\n"));
    free (output);
    zmx_test_stop (worker, 2000);
    free (argv [0]);
    free (log);

    char *key = zsys_sprintf ("layout/%s", tag);
    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "config", "set", key, "moved", NULL) == 0);
    ZMX_CHECK (s_zmx_at (zmxd, &output, 1, "config", "get", key, NULL) == 0);
    ZMX_CHECK (strstr (output, "moved"));
    free (output);
    char *name = zsys_sprintf ("n-%s", tag);
    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "names", "set", name, "tcp://192.0.2.1:1", NULL)
               == 0);
    ZMX_CHECK (s_zmx_at (zmxd, &output, 1, "names", "get", name, NULL) == 0);
    ZMX_CHECK (strstr (output, "tcp://192.0.2.1:1"));
    free (output);
    //  name: goes through that zmxd's resolver
    char *named = zsys_sprintf ("name:%s", name);
    ZMX_CHECK (s_zmx_at (zmxd, &output, 1, "call", "-b", named, "-t", "100", "-r", "0",
                         "--queue", "x", NULL) == 3);
    ZMX_CHECK (!strstr (output, "cannot resolve"));
    free (output);
    char *mirror = zsys_sprintf ("%s/mirror-%s", daemon->dir, tag);
    char *files = zsys_sprintf ("from tcp://127.0.0.1:%d ",
                                zmx_layout_port (ZMX_LAYOUT_FILES, daemon->base));
    ZMX_CHECK (s_zmx_at (zmxd, &output, 2, "files", "sync", "-t", "3000", "/", mirror, NULL)
               == 0);
    ZMX_CHECK (strstr (output, files));
    free (output);
    free (files);
    free (mirror);

    s_walk_zre (daemon, zmxd, tag);
    free (named);
    free (name);
    free (key);
    free (service);
}

//  zmxd --base-port moves every service; --zmxd HOST:BASE alone, or
//  $ZMX_ZMXD alone, then finds each of them.
static void
s_zmxd_base_port (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    s_walk_commands (&daemon, daemon.zmxd, "flag");
    setenv ("ZMX_ZMXD", daemon.zmxd, 1);
    s_walk_commands (&daemon, NULL, "env");
    s_daemon_stop (&daemon);
}

//  Precedence: -b > --zmxd > $ZMX_BROKER > $ZMX_ZMXD > the default.
static void
s_zmxd_precedence (void)
{
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    char *dead = zmx_test_free_endpoint ();
    setenv ("ZMX_ZMXD", daemon.zmxd, 1);
    ZMX_CHECK (s_zmx_at (NULL, NULL, 1, "services", "-t", "3000", NULL) == 0);
    setenv ("ZMX_BROKER", dead, 1);
    ZMX_CHECK (s_zmx_at (NULL, NULL, 1, "services", "-t", "200", "-r", "0", NULL) == 3);
    ZMX_CHECK (s_zmx_at (daemon.zmxd, NULL, 1, "services", "-t", "3000", NULL) == 0);
    ZMX_CHECK (s_zmx_at (daemon.zmxd, NULL, 1, "services", "-b", dead, "-t", "200", "-r",
                         "0", NULL) == 3);
    ZMX_CHECK (s_zmx_at (NULL, NULL, 1, "services", "-b", dead, "--zmxd", daemon.zmxd,
                         "-t", "200", "-r", "0", NULL) == 3);
    free (dead);
    //  Bad values are usage errors that name the setting
    char *output = NULL;
    ZMX_CHECK (s_zmx_at ("127.0.0.1:99999", &output, 1, "services", NULL) == 2);
    ZMX_CHECK (strstr (output, "--zmxd"));
    free (output);
    ZMX_CHECK (s_zmx_at ("[::1:7000", &output, 1, "services", NULL) == 2);
    ZMX_CHECK (strstr (output, "--zmxd '[::1:7000' has a bad host"));
    free (output);
    ZMX_CHECK (s_zmx_at ("::1", &output, 1, "services", NULL) == 2);
    ZMX_CHECK (strstr (output, "--zmxd '::1' has a bad host"));
    free (output);
    setenv ("ZMX_ZMXD", "a:b:c", 1);
    ZMX_CHECK (s_zmx_at (NULL, &output, 1, "services", NULL) == 2);
    ZMX_CHECK (strstr (output, "$ZMX_ZMXD"));
    free (output);
    ZMX_CHECK (s_zmx_at (NULL, NULL, 1, "help", NULL) == 0);
    ZMX_CHECK (s_zmx_at (NULL, NULL, 1, "-V", NULL) == 0);
    s_daemon_stop (&daemon);
}

//  zmxd --base-port rewrites the config it prints; a bad one is exit 1
static void
s_zmxd_print_moved (void)
{
    char *argv [] = { zmx_test_bin ("zmxd"), "--base-port", "20000", "--print-config", NULL };
    char *output = NULL;
    ZMX_CHECK (zmx_test_run (argv, NULL, S_RUN_MSEC, &output) == 0);
    ZMX_CHECK (strstr (output, "endpoint = \"tcp://127.0.0.1:20000\""));
    ZMX_CHECK (strstr (output, "publisher-endpoint = \"tcp://127.0.0.1:20002\""));
    ZMX_CHECK (strstr (output, "tcp://127.0.0.1:20004"));
    ZMX_CHECK (strstr (output, "ipc:///tmp/zmx-resolver-20000"));
    ZMX_CHECK (strstr (output, "endpoint = \"tcp://127.0.0.1:20115\""));
    ZMX_CHECK (strstr (output, "port = \"20115\""));
    ZMX_CHECK (strstr (output, "    endpoint = \"tcp://127.0.0.1:20006\""));
    ZMX_CHECK (strstr (output, "ingest-endpoint = \"tcp://127.0.0.1:20005\""));
    ZMX_CHECK (strstr (output, "syslog-endpoint = \"udp://127.0.0.1:19959\""));
    ZMX_CHECK (!strstr (output, ":555"));
    ZMX_CHECK (!strstr (output, ":5514"));
    free (output);
    argv [2] = "65500";
    ZMX_CHECK (zmx_test_run (argv, NULL, S_RUN_MSEC, NULL) == 1);
    //  The same from the config key
    char *dir = zmx_test_tmpdir ();
    char *config = zsys_sprintf ("%s/zmxd.cfg", dir);
    ZMX_CHECK (zmx_test_write_file (config, "zmxd\n    base-port = 21000\nbroker\n"
                                    "    endpoint = \"tcp://127.0.0.1:5555\"\n") == 0);
    char *keyed [] = { argv [0], "-c", config, "--print-config", NULL };
    ZMX_CHECK (zmx_test_run (keyed, NULL, S_RUN_MSEC, &output) == 0);
    ZMX_CHECK (strstr (output, "endpoint = \"tcp://127.0.0.1:21000\""));
    free (output);
    zmx_test_rmdir (dir);
    free (config);
    free (dir);
    free (argv [0]);
}

//  -V and --version everywhere
static void
s_version_flags (void)
{
    char *expected = zsys_sprintf ("%d.%d.%d", ZMX_VERSION_MAJOR, ZMX_VERSION_MINOR,
                                   ZMX_VERSION_PATCH);
    const char *flags [] = { "-V", "--version", "version" };
    for (size_t index = 0; index < 3; index++) {
        char *output = NULL;
        ZMX_CHECK (s_zmx_at (NULL, &output, 0, flags [index], NULL) == 0);
        ZMX_CHECK (strncmp (output, "zmx ", 4) == 0 && strstr (output, expected));
        free (output);
    }
    char *argv [] = { zmx_test_bin ("zmxd"), "-V", NULL };
    char *output = NULL;
    ZMX_CHECK (zmx_test_run (argv, NULL, S_RUN_MSEC, &output) == 0);
    char *line = zsys_sprintf ("zmxd %s\n", expected);
    ZMX_CHECK_STR (output, line);
    free (line);
    free (output);
    free (argv [0]);
    free (expected);
}

//  A host name that does not resolve is named as such (exit 6) at once,
//  not blamed on zmxd after the timeouts. .invalid never resolves (RFC
//  6761).
static void
s_unresolvable_host (void)
{
    const char *broker = "tcp://nosuch.invalid:5555";
    const char *clone = "tcp://nosuch.invalid:5556";
    const char *files = "tcp://nosuch.invalid:5670";
    const char *runs [][8] = {
        { "call", "-b", broker, "echo", "x" },
        { "call", "--zmxd", "nosuch.invalid", "echo", "x" },
        { "services", "-b", broker },
        { "worker", "-b", broker, "echo", "--echo" },
        { "config", "-e", clone, "ls" },
        { "names", "-e", clone, "ls" },
        { "files", "ls", "-e", files },
        { "files", "sync", "-e", files, "/", "/tmp/nosuch-mirror" },
    };
    for (size_t index = 0; index < sizeof runs / sizeof runs [0]; index++) {
        const char *const *run = runs [index];
        char *output = NULL;
        int64_t started = zclock_mono ();
        int rc = s_zmx_at (NULL, &output, 0, run [0], run [1], run [2], run [3], run [4],
                           run [5], run [6], run [7]);
        zsys_info ("zmx %s %s %s: exit %d in %" PRId64 " ms", run [0], run [1], run [2], rc,
                   zclock_mono () - started);
        ZMX_CHECK (rc == 6);
        ZMX_CHECK (strstr (output, "cannot resolve host 'nosuch.invalid'"));
        ZMX_CHECK (!strstr (output, "zmxd running"));
        free (output);
    }
}

//  True if jq (scripts/deps.sh installs it) finds `filter` true of
//  `json`; -s reads a stream of documents as one array.
static bool
s_jq (const char *json, const char *filter, bool slurp)
{
    char *argv [] = { "/usr/bin/jq", "-e", slurp? "-s": "-e", (char *) filter, NULL };
    char *output = NULL;
    int rc = zmx_test_run (argv, json, S_RUN_MSEC, &output);
    if (rc != 0)
        fprintf (stderr, "jq %s: exit %d on:\n%s\n", filter, rc, json);
    free (output);
    return rc == 0;
}

//  --json of every listing command parses, strings escaped: quotes,
//  backslashes, control characters, and a byte that is not UTF-8.
static void
s_json_listings (void)
{
    if (access ("/usr/bin/jq", X_OK) != 0) {
        fprintf (stderr, "jq is missing: run scripts/deps.sh\n");
        ZMX_CHECK (false);
    }
    s_daemon_t daemon;
    s_daemon_start (&daemon);
    const char *zmxd = daemon.zmxd;
    char *output = NULL;
    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "config", "set", "j/k",
                         "q\"b\\t\td\001e\xff\xc3\xa9", NULL) == 0);
    ZMX_CHECK (s_zmx_json (zmxd, &output, 1, "config", "ls", "--json", NULL) == 0);
    ZMX_CHECK (s_jq (output, "map(select(.key == \"/config/j/k\"))[0].value"
                     " == \"q\\\"b\\\\t\\td\\u0001e\\ufffd\\u00e9\"", false));
    ZMX_CHECK (strstr (output, "\\u0001") && strstr (output, "\\ufffd"));
    free (output);

    ZMX_CHECK (s_zmx_at (zmxd, NULL, 1, "names", "set", "n-json", "tcp://192.0.2.1:1", NULL)
               == 0);
    ZMX_CHECK (s_zmx_json (zmxd, &output, 1, "names", "ls", "--json", NULL) == 0);
    ZMX_CHECK (s_jq (output, "map(select(.name == \"n-json\"))[0].endpoints"
                     " == [\"tcp://192.0.2.1:1\"]", false));
    free (output);

    int64_t deadline = zclock_mono () + S_START_MSEC;
    bool listed = false;
    while (!listed && zclock_mono () < deadline) {
        ZMX_CHECK (s_zmx_json (zmxd, &output, 1, "services", "--json", NULL) == 0);
        listed = s_jq (output, "map(select(.service == \"titanic.request\"))[0]"
                       ".workers >= 1", false);
        free (output);
    }
    ZMX_CHECK (listed);

    char *filter = zsys_sprintf ("map(select(.headers[\"X-ZMX-BROKER\"] == "
                                 "\"tcp://127.0.0.1:%d\")) | length == 1", daemon.base);
    ZMX_CHECK (s_zmx_json (zmxd, &output, 1, "peers", "--once", "--json", "-w", "2500", NULL)
               == 0);
    ZMX_CHECK (s_jq (output, filter, false));
    free (output);
    //  Streamed: one object per line; -s gathers them into an array
    ZMX_CHECK (s_zmx_json (zmxd, &output, 1, "peers", "--json", "-w", "2500", NULL) == 0);
    ZMX_CHECK (s_jq (output, "map(select(.event == \"ENTER\" and .headers[\"X-ZMX-BROKER\"]"
                     ")) | length >= 1", true));
    free (output);
    free (filter);
    s_daemon_stop (&daemon);
}

//  files ls --json, from a `zmx files serve` of two files
static void
s_json_files (void)
{
    if (access ("/usr/bin/jq", X_OK) != 0) {
        fprintf (stderr, "jq is missing: run scripts/deps.sh\n");
        ZMX_CHECK (false);
    }
    char *dir = zmx_test_tmpdir ();
    char *tree = zsys_sprintf ("%s/tree", dir);
    ZMX_CHECK (zsys_dir_create (tree) == 0);
    char *quoted = zsys_sprintf ("%s/q\"uote.txt", tree);
    char *empty = zsys_sprintf ("%s/empty", tree);
    ZMX_CHECK (zmx_test_write_file (quoted, "12345") == 0);
    ZMX_CHECK (zmx_test_write_file (empty, "") == 0);
    char *endpoint = zmx_test_free_endpoint ();
    char *log = zsys_sprintf ("%s/serve.log", dir);
    char *argv [] = { zmx_test_bin ("zmx"), "files", "serve", "-e", endpoint, tree, NULL };
    pid_t server = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_for_text (log, "zmx files: serving", S_START_MSEC));
    char *output = NULL;
    ZMX_CHECK (s_zmx_json (NULL, &output, 2, "files", "ls", "-e", endpoint, "--json", NULL)
               == 0);
    ZMX_CHECK (s_jq (output, "length == 2 and map(select(.path == \"/q\\\"uote.txt\"))[0]"
                     ".size == 5 and map(select(.path == \"/empty\"))[0].size == 0", false));
    free (output);
    ZMX_CHECK (s_zmx_at (NULL, &output, 2, "files", "sync", "--json", "/", dir, NULL) == 2);
    free (output);
    zmx_test_stop (server, 2000);
    free (argv [0]);
    free (log);
    free (endpoint);
    free (empty);
    free (quoted);
    free (tree);
    zmx_test_rmdir (dir);
    free (dir);
}

//  Run `zmx WORDS... ARG` (words split at spaces); its exit code, and
//  stdout and stderr in *output_p (caller frees).
static int
s_zmx_words (const char *words, const char *arg, char **output_p)
{
    char *copy = strdup (words);
    char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx") };
    int count = 1;
    char *cursor = copy, *word;
    while ((word = strsep (&cursor, " ")) && count < S_MAX_ARGS - 2)
        argv [count++] = word;
    if (arg)
        argv [count++] = (char *) arg;
    argv [count] = NULL;
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

//  Every command: an unknown option and an option without its value exit
//  2 naming the option; --help exits 0 with the usage on stdout.
static void
s_exit_codes (void)
{
    static const struct {
        const char *words;      //  The command
        const char *option;     //  One of its options that takes a value
        const char *named;      //  How the message names that option
    } commands [] = {
        { "call", "-t", "'t'" }, { "worker", "-b", "'b'" }, { "services", "-r", "'r'" },
        { "files serve", "-e", "'e'" }, { "files sync", "-t", "'t'" },
        { "files ls", "--zmxd", "'--zmxd'" }, { "peers", "-w", "'w'" },
        { "shout", "--members", "'--members'" }, { "whisper", "-w", "'w'" },
        { "listen", "-c", "'c'" }, { "config", "-e", "'e'" }, { "names", "--file", "'--file'" },
        { "keygen", NULL, NULL }, { "version", NULL, NULL }, { "help", NULL, NULL },
    };
    for (size_t index = 0; index < sizeof commands / sizeof commands [0]; index++) {
        const char *words = commands [index].words;
        char *output = NULL;
        ZMX_CHECK (s_zmx_words (words, "--bogus", &output) == 2);
        if (!strstr (output, "'--bogus'"))
            fprintf (stderr, "zmx %s --bogus said: %s\n", words, output);
        ZMX_CHECK (strstr (output, "'--bogus'"));
        free (output);
        if (commands [index].option) {
            ZMX_CHECK (s_zmx_words (words, commands [index].option, &output) == 2);
            ZMX_CHECK (strstr (output, commands [index].named));
            ZMX_CHECK (strstr (output, "usage: zmx "));
            free (output);
        }
        //  --help goes to stdout, with nothing on stderr
        char *argv [S_MAX_ARGS] = { zmx_test_bin ("zmx") };
        char *copy = strdup (words);
        char *cursor = copy;
        int count = 1;
        while ((argv [count] = strsep (&cursor, " ")))
            count++;
        argv [count] = "--help";
        argv [count + 1] = NULL;
        ZMX_CHECK (zmx_test_run (argv, NULL, S_RUN_MSEC, &output) == 0);
        ZMX_CHECK (strncmp (output, "usage: zmx ", 11) == 0);
        free (output);
        free (copy);
        free (argv [0]);
    }
    char *output = NULL;
    ZMX_CHECK (s_zmx_words ("--help", NULL, &output) == 0);
    ZMX_CHECK (strncmp (output, "usage: zmx COMMAND", 18) == 0);
    free (output);
    ZMX_CHECK (s_zmx_words ("-h", NULL, &output) == 0);
    free (output);
    ZMX_CHECK (s_zmx_words ("help", "call", &output) == 0);
    ZMX_CHECK (strncmp (output, "usage: zmx call", 15) == 0);
    free (output);
    ZMX_CHECK (s_zmx_words ("nosuch", NULL, &output) == 2);
    ZMX_CHECK (strstr (output, "'nosuch'"));
    free (output);
    ZMX_CHECK (s_zmx_words ("files", "nosuch", &output) == 2);
    ZMX_CHECK (strstr (output, "'nosuch'"));
    free (output);
    //  zmxd alike
    char *zmxd [] = { zmx_test_bin ("zmxd"), "--bogus", NULL };
    ZMX_CHECK (zmx_test_run (zmxd, NULL, S_RUN_MSEC, NULL) == 2);
    zmxd [1] = "--help";
    ZMX_CHECK (zmx_test_run (zmxd, NULL, S_RUN_MSEC, &output) == 0);
    ZMX_CHECK (strncmp (output, "usage: zmxd", 11) == 0);
    free (output);
    zmxd [1] = "-c";
    ZMX_CHECK (zmx_test_run (zmxd, NULL, S_RUN_MSEC, NULL) == 2);
    free (zmxd [0]);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "zmxd_base_port", s_zmxd_base_port, 120 },
        { "zmxd_precedence", s_zmxd_precedence, 60 },
        { "zmxd_print_moved", s_zmxd_print_moved, 20 },
        { "version_flags", s_version_flags, 20 },
        { "unresolvable_host", s_unresolvable_host, 60 },
        { "json_listings", s_json_listings, 90 },
        { "json_files", s_json_files, 30 },
        { "exit_codes", s_exit_codes, 90 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
