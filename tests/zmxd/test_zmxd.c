/*  =========================================================================
    test_zmxd - the node daemon as a real process

    Each case starts build/bin/zmxd with a config in a private directory,
    on a port that was free a moment ago, and waits for what it prints or
    for its exit; nothing here sleeps for a fixed time.
    =========================================================================
*/
#include "testing.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_START_MSEC 5000       //  Longest a healthy zmxd may take to start

//  Write `text` as the config file in dir; caller frees the path.
static char *
s_write_config (const char *dir, const char *text)
{
    char *path = zsys_sprintf ("%s/zmxd.cfg", dir);
    ZMX_CHECK (zmx_test_write_file (path, text) == 0);
    return path;
}

//  A broker config on `port` with one more line of broker settings.
static char *
s_broker_config (const char *dir, int port, const char *extra)
{
    char *text = zsys_sprintf ("broker\n    endpoint = \"tcp://127.0.0.1:%d\"\n%s", port,
                               extra? extra: "");
    char *path = s_write_config (dir, text);
    free (text);
    return path;
}

//  Run zmxd with up to two more arguments, output to log_path, until it
//  exits. Returns the exit code, or -1 if it did not exit in time.
static int
s_zmxd_exit_code (const char *log_path, const char *arg1, const char *arg2,
                  const char *arg3)
{
    char *bin = zmx_test_bin ("zmxd");
    char *argv [] = { bin, (char *) arg1, (char *) arg2, (char *) arg3, NULL };
    pid_t pid = zmx_test_spawn (argv, log_path);
    free (bin);
    return zmx_test_exit_code (pid, S_START_MSEC, 1000);
}

//  Start zmxd on a config and wait for its "broker on" line.
static pid_t
s_zmxd_start (const char *config_path, const char *log_path, int port, const char *flag)
{
    char *bin = zmx_test_bin ("zmxd");
    char *argv [] = { bin, "-c", (char *) config_path, (char *) flag, NULL };
    pid_t pid = zmx_test_spawn (argv, log_path);
    char *line = zsys_sprintf ("zmxd: broker on tcp://127.0.0.1:%d\n", port);
    ZMX_CHECK (zmx_test_wait_for_text (log_path, line, S_START_MSEC));
    free (line);
    free (bin);
    return pid;
}

//  What `zmxd --print-config` prints; it must exit 0. Caller frees.
static char *
s_default_config_text (void)
{
    char *bin = zmx_test_bin ("zmxd");
    char *argv [] = { bin, "--print-config", NULL };
    char *output = NULL;
    ZMX_CHECK (zmx_test_run (argv, NULL, 5000, &output) == 0);
    free (bin);
    return output;
}

static void
s_print_config_default (void)
{
    char *output = s_default_config_text ();
    //  The output must be ZPL that reads back to the library defaults
    zconfig_t *config = zconfig_str_load (output);
    ZMX_CHECK (config);
    ZMX_CHECK_STR (zconfig_get (config, "broker/endpoint", NULL), ZMX_BROKER_DEFAULT_ENDPOINT);
    ZMX_CHECK (atoi (zconfig_get (config, "broker/heartbeat-interval", "0"))
               == ZMX_HEARTBEAT_INTERVAL);
    ZMX_CHECK (atoi (zconfig_get (config, "broker/heartbeat-liveness", "0"))
               == ZMX_HEARTBEAT_LIVENESS);
    ZMX_CHECK (atoll (zconfig_get (config, "broker/queue-bytes", "0"))
               == ZMX_BROKER_QUEUE_BYTES);
    ZMX_CHECK (atoll (zconfig_get (config, "broker/max-frame-size", "0"))
               == ZMX_BROKER_MAX_FRAME_SIZE);
    ZMX_CHECK_STR (zconfig_get (config, "zmxd/log-level", NULL), "notice");
    ZMX_CHECK_STR (zconfig_get (config, "security/curve", NULL), "0");
    //  Every service type has a section, bound on loopback only
    for (const char **type = zmx_service_types (); *type; type++) {
        zconfig_t *section = zconfig_locate (config, *type);
        ZMX_CHECK (section);
        ZMX_CHECK (strstr (zconfig_get (section, "endpoint", ""), "127.0.0.1"));
    }
    zconfig_destroy (&config);
    free (output);
}

static void
s_print_config_file (void)
{
    char *dir = zmx_test_tmpdir ();
    int port = zmx_test_free_port ();
    char *config = s_broker_config (dir, port, "    heartbeat-interval = 700\n");
    char *bin = zmx_test_bin ("zmxd");
    char *argv [] = { bin, "-c", config, "--print-config", NULL };
    char *output = NULL;
    ZMX_CHECK (zmx_test_run (argv, NULL, 5000, &output) == 0);
    char *endpoint = zsys_sprintf ("\"tcp://127.0.0.1:%d\"", port);
    ZMX_CHECK (strstr (output, endpoint));
    free (endpoint);
    ZMX_CHECK (strstr (output, "heartbeat-interval = \"700\""));
    free (output);
    free (bin);
    free (config);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_starts_and_prints_endpoint (void)
{
    char *dir = zmx_test_tmpdir ();
    int port = zmx_test_free_port ();
    char *config = s_broker_config (dir, port, NULL);
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    pid_t pid = s_zmxd_start (config, log, port, NULL);
    ZMX_CHECK (zmx_test_wait_port (port, 1000));
    zmx_test_stop (pid, 2000);
    free (log);
    free (config);
    zmx_test_rmdir (dir);
    free (dir);
}

//  Start, deliver `signal_number`, expect exit 0 within 2 s.
static void
s_stop_with (int signal_number)
{
    char *dir = zmx_test_tmpdir ();
    int port = zmx_test_free_port ();
    char *config = s_broker_config (dir, port, NULL);
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    pid_t pid = s_zmxd_start (config, log, port, NULL);
    int64_t sent = zclock_mono ();
    kill (pid, signal_number);
    int code = zmx_test_exit_code (pid, 2000, 100);
    zsys_info ("zmxd stopped %" PRId64 " ms after signal %d", zclock_mono () - sent,
               signal_number);
    ZMX_CHECK (code == 0);
    free (log);
    free (config);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_sigterm_exits_zero (void)
{
    s_stop_with (SIGTERM);
}

static void
s_sigint_exits_zero (void)
{
    s_stop_with (SIGINT);
}

//  Run zmxd on a config text; expect exit 1 and every `needle` in its
//  output.
static void
s_expect_config_error (const char *config_text, const char *needle1, const char *needle2)
{
    char *dir = zmx_test_tmpdir ();
    char *config = s_write_config (dir, config_text);
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    ZMX_CHECK (s_zmxd_exit_code (log, "-c", config, NULL) == 1);
    char *output = zmx_test_read_file (log);
    if (!strstr (output, needle1) || (needle2 && !strstr (output, needle2)))
        fprintf (stderr, "    zmxd said: %s", output);
    ZMX_CHECK (strstr (output, needle1));
    ZMX_CHECK (!needle2 || strstr (output, needle2));
    free (output);
    free (log);
    free (config);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_unknown_section_exits_1 (void)
{
    s_expect_config_error ("brokr\n    endpoint = \"tcp://127.0.0.1:*\"\n",
                           "unknown section 'brokr'", "broker");
}

static void
s_bad_number_exits_1 (void)
{
    s_expect_config_error ("broker\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                           "    heartbeat-interval = soon\n",
                           "heartbeat-interval", "failed to start");
}

static void
s_bad_zmxd_section_exits_1 (void)
{
    s_expect_config_error ("zmxd\n    log-level = loud\nbroker\n",
                           "log-level", "debug");
    s_expect_config_error ("zmxd\n    colour = blue\nbroker\n", "zmxd/colour", NULL);
    s_expect_config_error ("broker\n    enabled = maybe\n", "broker/enabled", "0 or 1");
}

//  A misspelt key in any section is refused, naming it and the nearest
//  known key, instead of being ignored for the default.
static void
s_misspelt_key_exits_1 (void)
{
    s_expect_config_error ("broker\n    endpont = \"tcp://127.0.0.1:*\"\n",
                           "unknown key \"broker/endpont\" (did you mean \"endpoint\"?)", NULL);
    s_expect_config_error ("broker\n    heartbeat-intervall = 100\n",
                           "unknown key \"broker/heartbeat-intervall\"",
                           "did you mean \"heartbeat-interval\"?");
    s_expect_config_error ("broker\n    max-frame-sise = 100\n",
                           "unknown key \"broker/max-frame-sise\"",
                           "did you mean \"max-frame-size\"?");
    s_expect_config_error ("broker\n    bstar\n        rol = primary\n",
                           "unknown key \"broker/bstar/rol\"", "did you mean \"bstar/role\"?");
    s_expect_config_error ("files\n    max-clents = 5\n", "unknown key \"files/max-clents\"",
                           "did you mean \"max-clients\"?");
    s_expect_config_error ("clone\n    data-directroy = \"\"\n",
                           "unknown key \"clone/data-directroy\"",
                           "did you mean \"data-directory\"?");
    s_expect_config_error ("resolver\n    server = \"\"\n", "unknown key \"resolver/server\"",
                           "did you mean \"servers\"?");
    s_expect_config_error ("titanic\n    max-pendng = 5\n", "unknown key \"titanic/max-pendng\"",
                           "did you mean \"max-pending\"?");
    s_expect_config_error ("node\n    grups = \"a\"\n", "unknown key \"node/grups\"",
                           "did you mean \"groups\"?");
    s_expect_config_error ("zmxd\n    log-levl = info\nbroker\n", "unknown key \"zmxd/log-levl\"",
                           "did you mean \"log-level\"?");
}

//  Every key the built-in config sets is one its service reads, and so
//  are subsection keys and names of free-form subsections.
static void
s_known_keys_accepted (void)
{
    char *output = s_default_config_text ();
    zconfig_t *config = zconfig_str_load (output);
    ZMX_CHECK (config);
    for (zconfig_t *section = zconfig_child (config); section; section = zconfig_next (section))
        for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
            const char *type = zconfig_name (section);
            if (streq (type, "zmxd") || streq (type, "security"))
                continue;
            if (!zmx_service_key_known (type, zconfig_name (item)))
                fprintf (stderr, "    %s/%s not known\n", type, zconfig_name (item));
            ZMX_CHECK (zmx_service_key_known (type, zconfig_name (item)));
        }
    zconfig_destroy (&config);
    free (output);
    ZMX_CHECK (zmx_service_key_known ("broker", "bstar/role"));
    ZMX_CHECK (zmx_service_key_known ("broker", "enabled"));
    ZMX_CHECK (zmx_service_key_known ("node", "headers/X-SITE"));
    ZMX_CHECK (zmx_service_key_known ("files", "publish/directory"));
    ZMX_CHECK (!zmx_service_key_known ("node", "headers"));
    ZMX_CHECK (!zmx_service_key_known ("node", "headers/a/b"));
    ZMX_CHECK (!zmx_service_key_known ("broker", "role"));
    ZMX_CHECK (!zmx_service_key_known ("nosuch", "endpoint"));
}

static void
s_no_service_exits_1 (void)
{
    s_expect_config_error ("broker\n    enabled = 0\n", "starts no service", NULL);
    s_expect_config_error ("zmxd\n    log-level = info\n", "starts no service", NULL);
}

static void
s_missing_config_exits_1 (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    ZMX_CHECK (s_zmxd_exit_code (log, "-c", "/nonexistent/zmxd.cfg", NULL) == 1);
    char *output = zmx_test_read_file (log);
    ZMX_CHECK (strstr (output, "/nonexistent/zmxd.cfg"));
    free (output);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

//  A listening socket on a free loopback port; returns its fd.
static int
s_listen_on_free_port (int *port_p)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ZMX_CHECK (fd >= 0);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ZMX_CHECK (bind (fd, (struct sockaddr *) &address, sizeof address) == 0);
    ZMX_CHECK (listen (fd, 4) == 0);
    socklen_t length = sizeof address;
    ZMX_CHECK (getsockname (fd, (struct sockaddr *) &address, &length) == 0);
    *port_p = ntohs (address.sin_port);
    return fd;
}

static void
s_port_in_use_exits_1 (void)
{
    int port;
    int fd = s_listen_on_free_port (&port);
    char *config = zsys_sprintf ("broker\n    endpoint = \"tcp://127.0.0.1:%d\"\n", port);
    s_expect_config_error (config, "in use", "broker/endpoint");
    free (config);
    close (fd);
}

static void
s_usage_errors_exit_2 (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    ZMX_CHECK (s_zmxd_exit_code (log, "--bogus", NULL, NULL) == 2);
    ZMX_CHECK (s_zmxd_exit_code (log, "extra", NULL, NULL) == 2);
    ZMX_CHECK (s_zmxd_exit_code (log, "-c", NULL, NULL) == 2);
    ZMX_CHECK (s_zmxd_exit_code (log, "--help", NULL, NULL) == 0);
    ZMX_CHECK (s_zmxd_exit_code (log, "--version", NULL, NULL) == 0);
    char *output = zmx_test_read_file (log);
    ZMX_CHECK (strstr (output, "usage: zmxd"));
    ZMX_CHECK (strstr (output, "zmxd 0."));
    free (output);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

//  -q hides notices, -v shows info and debug; both beat $ZMX_LOG_LEVEL.
static void
s_log_level_flags (void)
{
    setenv ("ZMX_LOG_LEVEL", "notice", 1);
    char *dir = zmx_test_tmpdir ();
    int port = zmx_test_free_port ();
    char *config = s_broker_config (dir, port, NULL);
    char *quiet_log = zsys_sprintf ("%s/quiet.log", dir);
    char *verbose_log = zsys_sprintf ("%s/verbose.log", dir);
    pid_t pid = s_zmxd_start (config, quiet_log, port, "-q");
    zmx_test_stop (pid, 2000);
    pid = s_zmxd_start (config, verbose_log, port, "-v");
    zmx_test_stop (pid, 2000);
    char *quiet = zmx_test_read_file (quiet_log);
    char *verbose = zmx_test_read_file (verbose_log);
    ZMX_CHECK (!strstr (quiet, "zmxd: stopping"));
    ZMX_CHECK (strstr (verbose, "zmxd: stopping broker"));
    free (quiet);
    free (verbose);
    free (quiet_log);
    free (verbose_log);
    free (config);
    zmx_test_rmdir (dir);
    free (dir);
}

//  True if the `size` bytes at word are "name" or "name = value".
static bool
s_key_line (const char *word, size_t size)
{
    size_t name = 0;
    while (name < size && (isalnum ((unsigned char) word [name]) || word [name] == '-'))
        name++;
    return name > 0 && isalpha ((unsigned char) word [0])
        && (name == size || (size - name > 3 && memcmp (word + name, " = ", 3) == 0));
}

//  config/zmxd.cfg with its commented-out keys and subsections made
//  live: a line "#key = value", "#    key = value" or "#section" after
//  the indent (a multiple of four spaces after the "#", unlike comment
//  text, which has three). Caller frees.
static char *
s_example_uncommented (const char *text)
{
    char *result = (char *) zmalloc (strlen (text) + 1);
    char *out = result;
    for (const char *line = text; *line; ) {
        const char *end = strchr (line, '\n');
        size_t size = end? (size_t) (end - line): strlen (line);
        size_t indent = strspn (line, " ");
        size_t spaces = line [indent] == '#'? strspn (line + indent + 1, " "): 1;
        size_t skip = indent + 1 + spaces;
        bool live = line [indent] == '#' && spaces % 4 == 0 && skip < size
                 && s_key_line (line + skip, size - skip);
        memcpy (out, line, indent);
        out += indent;
        if (live)
            indent++;           //  Drop the "#"
        memcpy (out, line + indent, size - indent);
        out += size - indent;
        if (end)
            *out++ = '\n';
        line += size + (end? 1: 0);
    }
    return result;
}

//  Every key of config/zmxd.cfg, the commented-out ones too, is a key
//  zmxd accepts (its check is what --print-config runs), and every value
//  it shows equals the built-in config's.
static void
s_example_config_keys_known (void)
{
    char *dir = zmx_test_tmpdir ();
    char *text = zmx_test_read_file (ZMX_SOURCE_DIR "/config/zmxd.cfg");
    char *live = s_example_uncommented (text);
    ZMX_CHECK (strstr (live, "\n    bstar\n") && strstr (live, "\n        role = primary\n"));
    ZMX_CHECK (strstr (live, "\n    headers\n        X-SITE = \"lab\"\n"));
    ZMX_CHECK (strstr (live, "\n    peer-server-key = \"server.cert\"\n"));
    char *live_path = zsys_sprintf ("%s/live.cfg", dir);
    ZMX_CHECK (zmx_test_write_file (live_path, live) == 0);
    char *bin = zmx_test_bin ("zmxd");
    const char *paths [] = { ZMX_SOURCE_DIR "/config/zmxd.cfg", live_path };
    for (int index = 0; index < 2; index++) {
        char *argv [] = { bin, "-c", (char *) paths [index], "--print-config", NULL };
        char *output = NULL;
        int code = zmx_test_run (argv, NULL, 5000, &output);
        if (code != 0)
            fprintf (stderr, "    %s: %s", paths [index], output);
        ZMX_CHECK (code == 0);
        free (output);
    }
    //  Values shown in the example (not the commented-out ones) are the
    //  built-in config's
    char *output = s_default_config_text ();
    zconfig_t *builtin = zconfig_str_load (output);
    zconfig_t *example = zconfig_str_load (text);
    ZMX_CHECK (builtin && example);
    for (zconfig_t *section = zconfig_child (example); section; section = zconfig_next (section))
        for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
            char *path = zsys_sprintf ("%s/%s", zconfig_name (section), zconfig_name (item));
            const char *value = zconfig_get (builtin, path, NULL);
            if (!streq (zconfig_name (item), "enabled")) {
                if (!value || !streq (value, zconfig_value (item)))
                    fprintf (stderr, "    %s: built-in has %s\n", path, value? value: "nothing");
                ZMX_CHECK (value && streq (value, zconfig_value (item)));
            }
            free (path);
        }
    zconfig_destroy (&example);
    zconfig_destroy (&builtin);
    free (output);
    free (bin);
    free (live_path);
    free (live);
    free (text);
    zmx_test_rmdir (dir);
    free (dir);
}

//  config/zmxd.cfg documents the built-in config: it must set every key
//  the built-in one sets, to the same value, and start as it is (on a
//  free port).
static void
s_example_config_matches_default (void)
{
    char *output = s_default_config_text ();
    zconfig_t *builtin = zconfig_str_load (output);
    zconfig_t *example = zconfig_load (ZMX_SOURCE_DIR "/config/zmxd.cfg");
    ZMX_CHECK (builtin && example);
    for (zconfig_t *section = zconfig_child (builtin); section;
         section = zconfig_next (section))
        for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
            char *path = zsys_sprintf ("%s/%s", zconfig_name (section), zconfig_name (item));
            const char *value = zconfig_get (example, path, NULL);
            if (!value || !streq (value, zconfig_value (item)))
                fprintf (stderr, "    %s: example has %s\n", path, value? value: "nothing");
            ZMX_CHECK (value && streq (value, zconfig_value (item)));
            free (path);
        }
    char *dir = zmx_test_tmpdir ();
    int port = zmx_test_free_port ();
    zconfig_putf (example, "broker/endpoint", "tcp://127.0.0.1:%d", port);
    char *config = zsys_sprintf ("%s/example.cfg", dir);
    ZMX_CHECK (zconfig_save (example, config) == 0);
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    pid_t pid = s_zmxd_start (config, log, port, NULL);
    zmx_test_stop (pid, 2000);
    free (log);
    free (config);
    zmx_test_rmdir (dir);
    free (dir);
    zconfig_destroy (&example);
    zconfig_destroy (&builtin);
    free (output);
}

//  A service that stops while zmxd runs must make zmxd stop with exit 3,
//  not carry on without it nor exit 0. The clone service stops when its
//  log cannot be written; a file size limit (inherited by zmxd, with
//  SIGXFSZ ignored so that write fails with EFBIG) makes that happen on
//  the first large update.
static void
s_service_failure_exits_3 (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmxd.log", dir);
    char *config = zsys_sprintf ("%s/zmxd.cfg", dir);
    signal (SIGXFSZ, SIG_IGN);
    struct rlimit limit = { 256 * 1024, 256 * 1024 };
    ZMX_CHECK (setrlimit (RLIMIT_FSIZE, &limit) == 0);
    pid_t pid = 0;
    int port = 0;
    for (int attempt = 0; attempt < 20 && !pid; attempt++) {
        port = zmx_test_free_port ();
        if (port > 65000 || !zmx_test_port_free (port + 1) || !zmx_test_port_free (port + 2))
            continue;
        char *text = zsys_sprintf (
            "clone\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    collector-endpoint = \"tcp://127.0.0.1:%d\"\n"
            "    data-directory = \"%s/clone\"\n    fsync = \"never\"\n",
            port, port + 1, port + 2, dir);
        char *ready = zsys_sprintf ("clone on tcp://127.0.0.1:%d\n", port + 2);
        pid = zmx_test_zmxd_start (config, text, log, ready, S_START_MSEC);
        free (ready);
        free (text);
    }
    ZMX_CHECK (pid);
    zmx_clone_t *clone = zmx_clone_new ("/big/");
    ZMX_CHECK (clone);
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    ZMX_CHECK (zmx_clone_add_server (clone, endpoint) == ZMX_OK);
    ZMX_CHECK (zmx_clone_wait_synced (clone, 5000) == ZMX_OK);
    //  Values of 60 KB: the fifth passes the 256 KB limit
    size_t size = 60 * 1024;
    char *value = (char *) zmalloc (size);
    memset (value, 'x', size);
    for (int index = 0; index < 8; index++) {
        char key [32];
        snprintf (key, sizeof key, "/big/%d", index);
        if (zmx_clone_send (clone, key, value, size, 0) != ZMX_OK)
            break;
    }
    int code = zmx_test_exit_code (pid, 10000, 1000);
    char *output = zmx_test_read_file (log);
    if (code != 3)
        fprintf (stderr, "    zmxd exited %d and said: %s", code, output);
    ZMX_CHECK (code == 3);
    ZMX_CHECK (strstr (output, "service clone stopped unexpectedly"));
    free (output);
    free (value);
    free (endpoint);
    zmx_clone_destroy (&clone);
    free (config);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

//  A lookup on the resolver at endpoint; true if it answered.
static bool
s_resolver_answers (const char *endpoint)
{
    zsock_t *request = zsock_new (ZMQ_REQ);
    zsock_set_linger (request, 0);
    zsock_set_rcvtimeo (request, 3000);
    bool answered = false;
    if (zsock_connect (request, "%s", endpoint) == 0
    &&  zstr_sendx (request, ZMX_RESOLVER_PROTOCOL, ZMX_RESOLVER_LOOKUP, "nosuch", NULL) == 0) {
        zmsg_t *reply = zmsg_recv (request);
        answered = reply && zmx_test_msg_is (reply, 0, ZMX_RESOLVER_PROTOCOL,
                                             ZMX_RESOLVER_UNKNOWN, "", NULL);
        zmsg_destroy (&reply);
    }
    zsock_destroy (&request);
    return answered;
}

//  Start zmxd with only a resolver on `endpoint`; returns its pid.
static pid_t
s_resolver_zmxd (const char *dir, const char *name, const char *endpoint)
{
    char *config = zsys_sprintf ("%s/%s.cfg", dir, name);
    char *log = zsys_sprintf ("%s/%s.log", dir, name);
    char *text = zsys_sprintf ("resolver\n    endpoint = \"%s\"\n    servers = \"\"\n",
                               endpoint);
    char *ready = zsys_sprintf ("zmxd: resolver on %s\n", endpoint);
    pid_t pid = zmx_test_zmxd_start (config, text, log, ready, S_START_MSEC);
    ZMX_CHECK (pid);
    free (ready);
    free (text);
    free (log);
    free (config);
    return pid;
}

//  A second zmxd on a live ipc endpoint is refused, naming the endpoint
//  and the first one's pid; the first one keeps serving.
static void
s_live_ipc_endpoint_refused (void)
{
    char *dir = zmx_test_tmpdir ();
    char *endpoint = zsys_sprintf ("ipc://%s/resolver", dir);
    pid_t first = s_resolver_zmxd (dir, "first", endpoint);
    ZMX_CHECK (s_resolver_answers (endpoint));
    char *config = zsys_sprintf ("resolver\n    endpoint = \"%s\"\n    servers = \"\"\n",
                                 endpoint);
    char *pid = zsys_sprintf ("process %d is listening", (int) first);
    s_expect_config_error (config, endpoint, pid);
    ZMX_CHECK (zmx_test_wait (first, 0) == -1);
    ZMX_CHECK (s_resolver_answers (endpoint));
    zmx_test_stop (first, 2000);
    free (pid);
    free (config);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
}

//  The socket file of a zmxd killed with SIGKILL stays behind, stale: the
//  next zmxd replaces it and serves.
static void
s_stale_ipc_endpoint_reused (void)
{
    char *dir = zmx_test_tmpdir ();
    char *endpoint = zsys_sprintf ("ipc://%s/resolver", dir);
    pid_t first = s_resolver_zmxd (dir, "first", endpoint);
    kill (first, SIGKILL);
    zmx_test_wait (first, 5000);
    ZMX_CHECK (zsys_file_exists (endpoint + strlen ("ipc://")));
    ZMX_CHECK (!s_resolver_answers (endpoint));
    pid_t second = s_resolver_zmxd (dir, "second", endpoint);
    ZMX_CHECK (s_resolver_answers (endpoint));
    zmx_test_stop (second, 2000);
    free (endpoint);
    zmx_test_rmdir (dir);
    free (dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "print_config_default", s_print_config_default, 10 },
        { "print_config_file", s_print_config_file, 10 },
        { "starts_and_prints_endpoint", s_starts_and_prints_endpoint, 15 },
        { "sigterm_exits_zero", s_sigterm_exits_zero, 15 },
        { "sigint_exits_zero", s_sigint_exits_zero, 15 },
        { "unknown_section_exits_1", s_unknown_section_exits_1, 10 },
        { "bad_number_exits_1", s_bad_number_exits_1, 10 },
        { "bad_zmxd_section_exits_1", s_bad_zmxd_section_exits_1, 20 },
        { "no_service_exits_1", s_no_service_exits_1, 15 },
        { "misspelt_key_exits_1", s_misspelt_key_exits_1, 30 },
        { "known_keys_accepted", s_known_keys_accepted, 10 },
        { "missing_config_exits_1", s_missing_config_exits_1, 10 },
        { "port_in_use_exits_1", s_port_in_use_exits_1, 10 },
        { "usage_errors_exit_2", s_usage_errors_exit_2, 20 },
        { "log_level_flags", s_log_level_flags, 20 },
        { "example_config_matches_default", s_example_config_matches_default, 15 },
        { "example_config_keys_known", s_example_config_keys_known, 15 },
        { "service_failure_exits_3", s_service_failure_exits_3, 30 },
        { "live_ipc_endpoint_refused", s_live_ipc_endpoint_refused, 30 },
        { "stale_ipc_endpoint_reused", s_stale_ipc_endpoint_reused, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
