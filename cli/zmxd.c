/*  =========================================================================
    zmxd - the zmx node daemon

    Reads a ZPL config (the built-in one below unless -c FILE is given),
    creates the security policy, starts one service actor per top-level
    section that names a service type, prints the endpoints each service
    bound, and waits for SIGINT or SIGTERM. Everything a service does lives
    in the library (zmx_service, zmx_broker, ...); this file only wires the
    config to those classes.

    Exit codes: 0 stopped cleanly, 1 bad config or a service failed to
    start, 2 usage error, 3 a service failed while running. See
    docs/CLI.md.
    =========================================================================
*/
#include <zmx.h>
#include "zmx_layout.h"
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#define ZMXD_EXIT_OK        0
#define ZMXD_EXIT_CONFIG    1
#define ZMXD_EXIT_USAGE     2
#define ZMXD_EXIT_SERVICE   3    //  A service stopped or its pipe broke
#define ZMXD_CONTINUE       -1   //  s_parse_args: no exit, go on running

//  How often the main loop wakes up without traffic; a signal wakes it at
//  once, this only bounds how long a missed wake-up could delay the stop.
#define ZMXD_POLL_MSEC      1000

//  Socket budget: libzmq refuses sockets past its context limit (1,023 by
//  default) and CZMQ's constructors assert when it does, so zmxd raises
//  the descriptor limit and sizes the socket limit from it. Each socket
//  holds a descriptor (its mailbox) and most hold connections too, so
//  half the descriptors go to sockets. Every service keeps
//  ZMXD_FIXED_SOCKETS for its own sockets (plus its configured links);
//  the node, the one service that opens a socket per peer it hears of,
//  gets the rest as its peer cap, less a margin for what zmxd itself and
//  libzmq's internals open.
#define ZMXD_FIXED_SOCKETS  32
#define ZMXD_SOCKET_MARGIN  64
#define ZMXD_MAX_FDS        (1024 * 1024)   //  Cap when the limit is "unlimited"

//  The built-in configuration: every service zmx has, each bound on the
//  loopback interface only, with the library defaults written out so that
//  --print-config documents them. config/zmxd.cfg explains every key.
static const char *s_default_config =
    "#   zmxd built-in configuration: all services, loopback only\n"
    "zmxd\n"
    "    log-level = notice\n"
    "    log-forward = \"auto\"\n"
    "security\n"
    "    curve = 0\n"
    "broker\n"
    "    endpoint = \"tcp://127.0.0.1:5555\"\n"
    "    heartbeat-interval = 2500\n"
    "    heartbeat-liveness = 3\n"
    "    queue-limit = 100000\n"
    "    queue-bytes = 268435456\n"
    "    request-timeout = 30000\n"
    "    max-frame-size = 16777216\n"
    "    max-services = 10000\n"
    "    max-workers = 100000\n"
    "    peers = \"\"\n"
    "    federation-interval = 1000\n"
    "    federation-liveness = 3\n"
    "    hop-limit = 8\n"
    "    max-peers = 32\n"
    "    forward-limit = 10000\n"
    "files\n"
    "    endpoint = \"tcp://127.0.0.1:5670\"\n"
    "    poll-interval = 1000\n"
    "    heartbeat-interval = 2500\n"
    "    heartbeat-liveness = 3\n"
    "    chunk-size = 524288\n"
    "    max-credit = 4194304\n"
    "    max-clients = 1000\n"
    "    max-files = 100000\n"
    "    max-subscriptions = 16\n"
    "    max-message-size = 16777216\n"
    "clone\n"
    "    endpoint = \"tcp://127.0.0.1:5556\"\n"
    "    publisher-endpoint = \"tcp://127.0.0.1:5557\"\n"
    "    collector-endpoint = \"tcp://127.0.0.1:5558\"\n"
    "    collector-pull-endpoint = \"\"\n"
    "    kvsimple-snapshot-endpoint = \"\"\n"
    "    kvsimple-publisher-endpoint = \"\"\n"
    "    kvsimple-collector-endpoint = \"\"\n"
    "    heartbeat-interval = 1000\n"
    "    max-keys = 1000000\n"
    "    max-value-size = 65536\n"
    "    max-bytes = 1073741824\n"
    "    data-directory = \"zmxd-data/clone\"\n"
    "    fsync = \"always\"\n"
    "    compact-bytes = 67108864\n"
    "    publish-hwm = 100000\n"
    "    max-snapshots = 64\n"
    "resolver\n"
    "    endpoint = \"ipc:///tmp/zmx-resolver,tcp://127.0.0.1:5559\"\n"
    "    servers = \"tcp://127.0.0.1:5556\"\n"
    "    file = \"\"\n"
    "    stale-timeout = 3000\n"
    "titanic\n"
    "    endpoint = \"tcp://127.0.0.1:5555\"\n"
    "    directory = \"zmxd-data/titanic\"\n"
    "    fsync = 1\n"
    "    max-pending = 100000\n"
    "    max-stored = 200000\n"
    "    max-in-flight = 32\n"
    "    dispatch-timeout = 10000\n"
    "    retry-interval = 1000\n"
    "    reply-retention = 604800\n"
    "    heartbeat-interval = 2500\n"
    "    heartbeat-liveness = 3\n"
    "    max-message-size = 16777216\n"
    "log\n"
    "    endpoint = \"tcp://127.0.0.1:5561\"\n"
    "    ingest-endpoint = \"tcp://127.0.0.1:5560\"\n"
    "    syslog-endpoint = \"udp://127.0.0.1:5514\"\n"
    "    default-stream = \"log\"\n"
    "    default-subject = \"log.ingest\"\n"
    "    data-directory = \"zmxd-data/streams\"\n"
    "    fsync = \"interval\"\n"
    "    fsync-interval = 5\n"
    "    segment-size = 67108864\n"
    "    max-bytes = 0\n"
    "    max-age = 0\n"
    "    max-records = 0\n"
    "    max-streams = 1024\n"
    "    max-record = 1048576\n"
    "    max-batch = 1024\n"
    "    max-message-size = 16781312\n"
    "    heartbeat-interval = 1000\n"
    "    heartbeat-liveness = 3\n"
    "    max-clients = 1000\n"
    "    max-subscriptions = 64\n"
    "    max-consumers = 1024\n"
    "    max-pending-appends = 64\n"
    "    max-ack-pending = 1000\n"
    "    ack-wait = 30000\n"
    "    max-credit = 10000\n"
    "    records-bytes = 262144\n"
    "    dedup-window = 120000\n"
    "    dedup-max = 100000\n"
    "    send-hwm = 1000\n"
    "node\n"
    "    name = \"\"\n"
    "    groups = \"zmxd\"\n"
    "    interface = \"lo\"\n"
    "    endpoint = \"tcp://127.0.0.1:*\"\n"
    "    port = 5670\n"
    "    beacon-interval = 1000\n"
    "    evasive = 5000\n"
    "    expired = 30000\n";

typedef struct {
    const char *config_path;    //  -c FILE, or NULL for the built-in config
    bool print_config;          //  --print-config: print and exit
    int log_level;              //  -v / -q, or -1 to take it from the config
    const char *base_port;      //  --base-port N, or NULL for zmxd/base-port
} s_options_t;

typedef struct {
    zconfig_t *config;          //  The effective configuration
    zmx_security_t *security;   //  Socket policy shared by all services
    zlist_t *services;          //  zmx_service_t * in start order
    size_t max_sockets;         //  libzmq's socket limit, set at start
} s_node_t;

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmxd [-c FILE] [--base-port N] [--print-config] [-v|--verbose]\n"
        "            [-q|--quiet] [-h|--help] [-V|--version]\n"
        "\n"
        "Run the zmx services named in the config (default: every service,\n"
        "bound on 127.0.0.1 only) until SIGINT or SIGTERM.\n"
        "\n"
        "  -c, --config FILE  read this ZPL config instead of the built-in one\n"
        "  --base-port N      move every port of the default layout (5555 up)\n"
        "                     to N plus its offset (also zmxd/base-port)\n"
        "  --print-config     print the effective config and exit\n"
        "  -v, --verbose      log at level debug\n"
        "  -q, --quiet        log errors only\n"
        "  -h, --help         show this help\n"
        "  -V, --version      show the version\n"
        "\n"
        "Exit codes: 0 stopped cleanly, 1 bad config or a service failed to\n"
        "start, 2 usage error, 3 a service failed while running. See docs/CLI.md.\n");
}

//  Fill *options from the command line. Returns ZMXD_CONTINUE to run, or
//  the code to exit with (help, version, usage error).
static int
s_parse_args (int argc, char *argv [], s_options_t *options)
{
    enum { OPT_PRINT_CONFIG = 256, OPT_BASE_PORT };
    static const struct option longopts [] = {
        { "config", required_argument, NULL, 'c' },
        { "print-config", no_argument, NULL, OPT_PRINT_CONFIG },
        { "verbose", no_argument, NULL, 'v' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "base-port", required_argument, NULL, OPT_BASE_PORT },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "c:vqhV", longopts, NULL)) != -1) {
        switch (option) {
            case 'c': options->config_path = optarg; break;
            case OPT_PRINT_CONFIG: options->print_config = true; break;
            case OPT_BASE_PORT: options->base_port = optarg; break;
            case 'v': options->log_level = ZMX_LOG_DEBUG; break;
            case 'q': options->log_level = ZMX_LOG_ERROR; break;
            case 'h':
                s_usage (stdout);
                return ZMXD_EXIT_OK;
            case 'V':
                printf ("zmxd %d.%d.%d\n", ZMX_VERSION_MAJOR, ZMX_VERSION_MINOR,
                        ZMX_VERSION_PATCH);
                return ZMXD_EXIT_OK;
            default:
                s_usage (stderr);
                return ZMXD_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf (stderr, "zmxd: unexpected argument '%s'\n", argv [optind]);
        s_usage (stderr);
        return ZMXD_EXIT_USAGE;
    }
    return ZMXD_CONTINUE;
}

//  Load the config file, or the built-in config when path is NULL. Returns
//  NULL after printing what is wrong.
static zconfig_t *
s_config_load (const char *path)
{
    if (!path)
        return zconfig_str_load (s_default_config);
    if (!zsys_file_exists (path)) {
        fprintf (stderr, "zmxd: config file '%s' not found: check the -c path\n", path);
        return NULL;
    }
    //  zconfig_load reports ZPL syntax errors (line and reason) itself.
    zconfig_t *config = zconfig_load (path);
    if (!config)
        fprintf (stderr, "zmxd: cannot parse config '%s': fix the ZPL syntax "
                         "(4-space indents, name = value)\n", path);
    return config;
}

//  Prepare the config for --print-config: ZPL read from text gives section
//  headers an empty value, which zconfig_str_save would print as
//  'broker = ""', and it gathers the comments of a file in odd places;
//  drop both so that the output is the plain effective settings.
static void
s_config_tidy (zconfig_t *config)
{
    zconfig_set_comment (config, NULL);
    for (zconfig_t *item = zconfig_child (config); item; item = zconfig_next (item)) {
        if (zconfig_child (item) && zconfig_value (item) && !*zconfig_value (item))
            zconfig_set_value (item, NULL);
        s_config_tidy (item);
    }
}

//  True if `name` is a top-level section zmxd understands.
static bool
s_section_known (const char *name)
{
    return streq (name, "zmxd") || streq (name, "security")
        || zmx_service_lookup (name) != NULL;
}

static void
s_print_sections (FILE *stream)
{
    fprintf (stream, "zmxd, security");
    for (const char **type = zmx_service_types (); *type; type++)
        fprintf (stream, ", %s", *type);
}

//  Print that `path` in `section` is unknown, with the nearest known key.
static void
s_unknown_key (const char *source, const char *section, const char *path, const char *nearest)
{
    fprintf (stderr, "zmxd: %s: unknown key \"%s/%s\"", source, section, path);
    if (nearest)
        fprintf (stderr, " (did you mean \"%s\"?)", nearest);
    fprintf (stderr, "\n");
}

//  Check the "zmxd" section: known keys only, valid values.
static int
s_check_zmxd_section (zconfig_t *section, const char *source)
{
    for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
        const char *key = zconfig_name (item);
        if (streq (key, "base-port"))
            continue;           //  Checked where it is applied
        if (streq (key, "log-forward")) {
            const char *value = zconfig_value (item);
            if (*value && !streq (value, "auto") && !strstr (value, "://")) {
                fprintf (stderr, "zmxd: zmxd/log-forward = \"%s\": use \"auto\", \"\" "
                                 "(off) or an endpoint such as tcp://HOST:5560\n", value);
                return -1;
            }
            continue;
        }
        if (!streq (key, "log-level")) {
            s_unknown_key (source, "zmxd", key, strstr (key, "port")? "base-port": "log-level");
            return -1;
        }
        if (zmx_log_level_from_name (zconfig_value (item)) < 0) {
            fprintf (stderr, "zmxd: zmxd/log-level = \"%s\": use error, warning, "
                             "notice, info or debug\n", zconfig_value (item));
            return -1;
        }
    }
    return 0;
}

//  Check that every key below `item` (path `prefix`, "" at the top of
//  the section) is one the service reads: a misspelt key would otherwise
//  be ignored and its default used in silence.
static int
s_check_service_keys (const char *type, zconfig_t *item, const char *prefix,
                      const char *source)
{
    int rc = 0;
    for (zconfig_t *child = zconfig_child (item); child && rc == 0;
         child = zconfig_next (child)) {
        char *path = zsys_sprintf ("%s%s%s", prefix, *prefix? "/": "", zconfig_name (child));
        if (zconfig_child (child))
            rc = s_check_service_keys (type, child, path, source);
        else
        if (!zmx_service_key_known (type, path)) {
            s_unknown_key (source, type, path, zmx_service_key_nearest (type, path));
            rc = -1;
        }
        free (path);
    }
    return rc;
}

//  Check the parts of the config zmxd itself interprets: section names,
//  the zmxd section, the services' "enabled" switches, and that every
//  key of a service section is one the service reads (the service checks
//  the values when it starts). Returns 0, or -1 after printing the
//  problem.
static int
s_config_check (zconfig_t *config, const char *source)
{
    for (zconfig_t *section = zconfig_child (config); section;
         section = zconfig_next (section)) {
        const char *name = zconfig_name (section);
        if (!s_section_known (name)) {
            fprintf (stderr, "zmxd: %s: unknown section '%s'; valid sections are: ",
                     source, name);
            s_print_sections (stderr);
            fprintf (stderr, "\n");
            return -1;
        }
        if (streq (name, "zmxd") && s_check_zmxd_section (section, source))
            return -1;
        if (!zmx_service_lookup (name))
            continue;
        const char *enabled = zconfig_get (section, "enabled", "1");
        if (!streq (enabled, "0") && !streq (enabled, "1")) {
            fprintf (stderr, "zmxd: %s: %s/enabled = \"%s\": use 0 or 1\n",
                     source, name, enabled);
            return -1;
        }
        if (s_check_service_keys (name, section, "", source))
            return -1;
    }
    return 0;
}

//  The endpoint `endpoint` with a port of the default layout moved to
//  `base`, and an ipc:// path made unique to it; NULL if it stays as it
//  is. Caller frees.
#define S_SYSLOG_PORT   5514    //  The log service's default syslog (udp) port

static char *
s_endpoint_move (const char *endpoint, int base)
{
    if (strncmp (endpoint, "ipc://", 6) == 0)
        return zsys_sprintf ("%s-%d", endpoint, base);
    const char *colon = strrchr (endpoint, ':');
    bool udp = strncmp (endpoint, "udp://", 6) == 0;
    if ((strncmp (endpoint, "tcp://", 6) != 0 && !udp) || !colon)
        return NULL;
    char *end;
    long port = strtol (colon + 1, &end, 10);
    if (end == colon + 1 || *end)
        return NULL;
    //  The log service's syslog port keeps its offset from the base too
    //  (below the base; it stays where it is if that would leave 1..65535)
    if (udp) {
        long moved = base + S_SYSLOG_PORT - ZMX_LAYOUT_BASE;
        return port == S_SYSLOG_PORT && moved >= 1?
               zsys_sprintf ("%.*s:%ld", (int) (colon - endpoint), endpoint, moved): NULL;
    }
    //  The beacon's udp port is the files' tcp one: the loop finds files
    for (int which = 0; which < ZMX_LAYOUT_BEACON; which++)
        if (zmx_layout_ports [which] == port)
            return zsys_sprintf ("%.*s:%d", (int) (colon - endpoint), endpoint,
                                 zmx_layout_port ((zmx_layout_port_t) which, base));
    return NULL;
}

//  Move every endpoint of a comma-separated list in `item`'s value.
static void
s_item_move (zconfig_t *item, int base)
{
    char *list = strdup (zconfig_value (item));
    char *moved = strdup (""), *cursor = list, *endpoint;
    while ((endpoint = strsep (&cursor, ","))) {
        char *one = s_endpoint_move (endpoint, base);
        char *longer = zsys_sprintf ("%s%s%s", moved, *moved? ",": "", one? one: endpoint);
        free (one);
        free (moved);
        moved = longer;
    }
    zconfig_set_value (item, "%s", moved);
    free (moved);
    free (list);
}

//  Apply the base port (--base-port, else zmxd/base-port): every port of
//  the default layout in a service's values moves to base + its offset
//  (zmx_layout.h), the node's beacon port too, and ipc:// paths get
//  "-BASE" so that two zmxds on one host do not share them. Returns 0, or
//  -1 with the problem printed.
static int
s_config_move (zconfig_t *config, const char *option, const char *source)
{
    const char *text = option? option: zconfig_get (config, "zmxd/base-port", NULL);
    if (!text || !*text)
        return 0;
    char *end;
    errno = 0;
    long base = strtol (text, &end, 10);
    if (errno || end == text || *end || base < 1 || base > ZMX_LAYOUT_BASE_MAX) {
        fprintf (stderr, "zmxd: %s%s = \"%s\": use a port from 1 to %d (the broker's; "
                 "the others follow at their default offsets)\n", option? "": source,
                 option? "--base-port": ": zmxd/base-port", text, ZMX_LAYOUT_BASE_MAX);
        return -1;
    }
    for (zconfig_t *section = zconfig_child (config); section;
         section = zconfig_next (section)) {
        if (!zmx_service_lookup (zconfig_name (section)))
            continue;
        for (zconfig_t *item = zconfig_child (section); item; item = zconfig_next (item)) {
            const char *value = zconfig_value (item);
            if (!value || zconfig_child (item))
                continue;
            if (streq (zconfig_name (section), "node") && streq (zconfig_name (item), "port")
            &&  atoi (value) == zmx_layout_ports [ZMX_LAYOUT_BEACON])
                zconfig_set_value (item, "%d",
                                   zmx_layout_port (ZMX_LAYOUT_BEACON, (int) base));
            else
                s_item_move (item, (int) base);
        }
    }
    return 0;
}

//  Precedence: -v/-q, then $ZMX_LOG_LEVEL (read by zmx_log itself), then
//  zmxd/log-level from the config.
static void
s_apply_log_level (zconfig_t *config, const s_options_t *options)
{
    if (options->log_level >= 0)
        zmx_log_set_level ((zmx_log_level_t) options->log_level);
    else
    if (zmx_log_level_from_name (getenv ("ZMX_LOG_LEVEL")) < 0) {
        int level = zmx_log_level_from_name (zconfig_get (config, "zmxd/log-level", "notice"));
        zmx_log_set_level (level < 0? ZMX_LOG_NOTICE: (zmx_log_level_t) level);
    }
}

//  The endpoint to connect to for the first endpoint of a bind list: a
//  wildcard host becomes 127.0.0.1. NULL if there is none or its port is
//  chosen at bind time. Caller frees.
static char *
s_log_ingest_endpoint (const char *list)
{
    char *endpoint = strndup (list, strcspn (list, ","));
    char *host = strstr (endpoint, "://");
    const char *port = strrchr (endpoint, ':');
    if (!*endpoint || !host || !port || streq (port, ":*") || streq (port, ":0")) {
        free (endpoint);
        return NULL;
    }
    host += 3;
    if (strncmp (endpoint, "tcp://", 6) == 0
    &&  (strncmp (host, "*:", 2) == 0 || strncmp (host, "0.0.0.0:", 8) == 0)) {
        char *local = zsys_sprintf ("tcp://127.0.0.1%s", port);
        free (endpoint);
        endpoint = local;
    }
    return endpoint;
}

//  zmxd/log-forward: "auto" forwards zmxd's own log lines to the ingest
//  of the log service it runs (none if it runs none, or under CURVE: the
//  forwarder connects plain), "" never, anything else is the endpoint.
//  $ZMX_LOG_ENDPOINT, when set, wins: zmx_log has acted on it already.
//  Returns 0, or -1 with the reason logged.
static int
s_apply_log_forward (zconfig_t *config)
{
    if (getenv ("ZMX_LOG_ENDPOINT"))
        return 0;
    const char *value = zconfig_get (config, "zmxd/log-forward", "auto");
    char *endpoint = NULL;
    if (streq (value, "auto")) {
        zconfig_t *log = zconfig_locate (config, "log");
        if (!log || streq (zconfig_get (log, "enabled", "1"), "0"))
            return 0;
        if (streq (zconfig_get (config, "security/curve", "0"), "1")) {
            zmx_log_notice ("zmxd", "log-forward auto: off under CURVE (set zmxd/log-forward "
                            "to a plain ingest endpoint)");
            return 0;
        }
        //  The service's own default when the key is absent
        endpoint = s_log_ingest_endpoint (zconfig_get (log, "ingest-endpoint",
                                                       "tcp://127.0.0.1:5560"));
        //  Debug lines of the service's own (one per message it fails to
        //  store, past the rate limit) would come back to it as new
        //  messages: to its own ingest, forward info and above only
        if (!getenv ("ZMX_LOG_FORWARD_LEVEL") && zmx_log_level () == ZMX_LOG_DEBUG)
            zmx_log_forward_set_level (ZMX_LOG_INFO);
    }
    else
        endpoint = strdup (value);
    int rc = endpoint && *endpoint? zmx_log_forward (endpoint): ZMX_OK;
    if (rc != ZMX_OK)
        zmx_log_error ("zmxd", "zmxd/log-forward: cannot forward to \"%s\": %s", endpoint,
                       zmx_strerror (rc));
    else
    if (endpoint && *endpoint)
        zmx_log_info ("zmxd", "log lines forwarded to %s", endpoint);
    free (endpoint);
    return rc == ZMX_OK? 0: -1;
}

static void
s_node_destroy (s_node_t *node)
{
    //  Stop in reverse start order, so that a service is never left
    //  running without the ones started before it.
    while (node->services && zlist_size (node->services)) {
        zmx_service_t *service = (zmx_service_t *) zlist_pop (node->services);
        zmx_log_info ("zmxd", "stopping %s", zmx_service_name (service));
        zmx_service_destroy (&service);
    }
    zlist_destroy (&node->services);
    zmx_security_destroy (&node->security);
}

//  Raise the soft RLIMIT_NOFILE to the hard one and set libzmq's socket
//  limit from it. Must run before any socket exists. Returns the socket
//  limit set.
static size_t
s_size_sockets (void)
{
    struct rlimit limit;
    size_t fds = 1024;
    if (getrlimit (RLIMIT_NOFILE, &limit) == 0) {
        if (limit.rlim_cur < limit.rlim_max) {
            rlim_t soft = limit.rlim_cur;
            limit.rlim_cur = limit.rlim_max;
            if (setrlimit (RLIMIT_NOFILE, &limit)) {
                zmx_log_warning ("zmxd", "cannot raise the descriptor limit to %llu: %s",
                                 (unsigned long long) limit.rlim_max, strerror (errno));
                limit.rlim_cur = soft;
            }
        }
        fds = limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur > ZMXD_MAX_FDS?
              ZMXD_MAX_FDS: (size_t) limit.rlim_cur;
    }
    size_t sockets = fds / 2;
    size_t most = zsys_socket_limit ();     //  What libzmq's poller can take
    if (most && sockets > most)
        sockets = most;
    zsys_set_max_sockets (sockets);
    zmx_log_info ("zmxd", "%zu descriptors, %zu sockets", fds, sockets);
    return sockets;
}

//  Sockets the service of `section` keeps open apart from the node's
//  per-peer ones: a fixed allowance plus the links its config asks for.
static size_t
s_service_sockets (zconfig_t *section)
{
    const char *name = zconfig_name (section);
    size_t sockets = ZMXD_FIXED_SOCKETS;
    if (streq (name, "titanic"))
        sockets += (size_t) atoll (zconfig_get (section, "max-in-flight", "32"));
    if (streq (name, "broker")) {
        const char *peers = zconfig_get (section, "peers", "");
        for (const char *scan = peers; *scan; scan++)
            sockets += *scan == ',';
        sockets += *peers? 1: 0;
    }
    return sockets;
}

//  Give the node service its share of the socket budget as its peer cap:
//  node/max-peers, or the library default, clamped to what the other
//  enabled services leave. A flood of beacons from invented peers then
//  stops at the cap instead of at libzmq's limit.
static void
s_node_share_sockets (s_node_t *node, zconfig_t *node_section)
{
    size_t used = ZMXD_SOCKET_MARGIN;
    for (zconfig_t *section = zconfig_child (node->config); section;
         section = zconfig_next (section))
        if (zmx_service_lookup (zconfig_name (section))
        &&  !streq (zconfig_get (section, "enabled", "1"), "0"))
            used += s_service_sockets (section);
    size_t share = node->max_sockets > used + ZMXD_FIXED_SOCKETS?
                   node->max_sockets - used: ZMXD_FIXED_SOCKETS;
    long long wanted = atoll (zconfig_get (node_section, "max-peers", "0"));
    if (wanted <= 0)
        wanted = ZMX_NODE_MAX_PEERS;
    if ((size_t) wanted > share) {
        zmx_log_notice ("zmxd", "node/max-peers %lld lowered to %zu, the node's share of "
                        "%zu sockets (raise the descriptor limit for more)",
                        wanted, share, node->max_sockets);
        wanted = (long long) share;
    }
    zconfig_putf (node_section, "max-peers", "%lld", wanted);
}

//  Tell the node service which services started before it, so that it
//  can advertise them: one "hosted/NAME = endpoints" key per service.
static void
s_node_describe_hosted (s_node_t *node, zconfig_t *section)
{
    for (zmx_service_t *service = (zmx_service_t *) zlist_first (node->services); service;
         service = (zmx_service_t *) zlist_next (node->services)) {
        zlist_t *endpoints = zmx_service_endpoints (service);
        char *list = strdup ("");
        for (const char *endpoint = (const char *) zlist_first (endpoints); endpoint;
             endpoint = (const char *) zlist_next (endpoints)) {
            char *longer = zsys_sprintf ("%s%s%s", list, *list? ",": "", endpoint);
            free (list);
            list = longer;
        }
        char *path = zsys_sprintf ("hosted/%s", zmx_service_name (service));
        zconfig_put (section, path, list);
        free (path);
        free (list);
        zlist_destroy (&endpoints);
    }
}

//  Start one service from its section. Returns 0, or -1 after printing
//  which service failed and how to fix it.
static int
s_node_start_service (s_node_t *node, zconfig_t *section, const char *source)
{
    const char *name = zconfig_name (section);
    if (streq (name, "node")) {
        s_node_describe_hosted (node, section);
        s_node_share_sockets (node, section);
    }
    zmx_service_t *service = zmx_service_new (name, zmx_service_lookup (name), section,
                                              node->security);
    if (!service) {
        //  The service has logged the precise reason (key, endpoint, errno)
        fprintf (stderr, "zmxd: service '%s' failed to start (reason above). If a port "
                         "is in use, stop the other zmxd or set %s/endpoint; otherwise fix "
                         "the %s section of %s\n", name, name, name, source);
        return -1;
    }
    zlist_append (node->services, service);
    return 0;
}

//  Create the security policy, then every enabled service in config
//  order. Returns 0, or -1 with the reason printed (node half-started:
//  the caller destroys it).
static int
s_node_start (s_node_t *node, const char *source)
{
    node->services = zlist_new ();
    zconfig_t *security = zconfig_locate (node->config, "security");
    node->security = zmx_security_new (security);
    if (!node->security) {
        fprintf (stderr, "zmxd: %s: the security section is invalid (reason above): fix its "
                         "certificate, clients or allow/deny keys\n", source);
        return -1;
    }
    for (zconfig_t *section = zconfig_child (node->config); section;
         section = zconfig_next (section)) {
        const char *name = zconfig_name (section);
        if (!zmx_service_lookup (name))
            continue;
        if (streq (zconfig_get (section, "enabled", "1"), "0")) {
            zmx_log_info ("zmxd", "%s disabled in the config", name);
            continue;
        }
        if (s_node_start_service (node, section, source))
            return -1;
    }
    if (zlist_size (node->services) == 0) {
        fprintf (stderr, "zmxd: %s starts no service: add a section such as 'broker' "
                         "(see zmxd --print-config)\n", source);
        return -1;
    }
    return 0;
}

//  One line per bound endpoint; the last one means "ready".
static void
s_node_print_endpoints (s_node_t *node)
{
    for (zmx_service_t *service = (zmx_service_t *) zlist_first (node->services); service;
         service = (zmx_service_t *) zlist_next (node->services)) {
        zlist_t *endpoints = zmx_service_endpoints (service);
        for (const char *endpoint = (const char *) zlist_first (endpoints); endpoint;
             endpoint = (const char *) zlist_next (endpoints))
            printf ("zmxd: %s on %s\n", zmx_service_name (service), endpoint);
        zlist_destroy (&endpoints);
    }
    fflush (stdout);
}

//  The service whose actor is `actor`, for messages.
static const char *
s_node_service_name (s_node_t *node, void *actor)
{
    for (zmx_service_t *service = (zmx_service_t *) zlist_first (node->services); service;
         service = (zmx_service_t *) zlist_next (node->services))
        if (zmx_service_actor (service) == actor)
            return zmx_service_name (service);
    return "?";
}

//  Wait for a signal. Services never write to their pipe unasked; if one
//  does, log it. A service whose actor has ended (its last word is a
//  signal) or whose pipe breaks leaves the node without it: stop, and
//  say so in the exit code, so that a supervisor restarts us. Returns
//  ZMXD_EXIT_OK after a signal, else ZMXD_EXIT_SERVICE.
static int
s_node_run (s_node_t *node)
{
    zpoller_t *poller = zpoller_new (NULL);
    for (zmx_service_t *service = (zmx_service_t *) zlist_first (node->services); service;
         service = (zmx_service_t *) zlist_next (node->services))
        zpoller_add (poller, zmx_service_actor (service));

    int rc = ZMXD_EXIT_OK;
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, ZMXD_POLL_MSEC);
        if (zpoller_terminated (poller))
            break;
        if (!which)
            continue;
        zmsg_t *msg = zmsg_recv (which);
        if (!msg && zsys_interrupted)
            break;              //  A signal cut the read short: a clean stop
        if (!msg || zmsg_signal (msg) >= 0) {
            zmx_log_error ("zmxd", "service %s %s; stopping", s_node_service_name (node, which),
                           msg? "stopped unexpectedly": "pipe failed");
            zmsg_destroy (&msg);
            //  Its actor will never answer $TERM: do not let the stop
            //  wait for that answer
            zsock_set_rcvtimeo (which, 0);
            rc = ZMXD_EXIT_SERVICE;
            break;
        }
        char *text = zmsg_popstr (msg);
        zmx_log_warning ("zmxd", "unexpected message from a service: %s",
                         text? text: "(empty)");
        free (text);
        zmsg_destroy (&msg);
    }
    zmx_log_notice ("zmxd", "stopping");
    zpoller_destroy (&poller);
    return rc;
}

//  Keep message-sized blocks in the heap. glibc maps every block of 128 KiB
//  or more (a batch of appends, a RECORDS message) with mmap and gives it
//  back at free, and trims the heap's top past 128 KiB free, so each such
//  message costs page faults and zeroed pages in libzmq's I/O thread: with
//  1 KiB appends that halved the log service's throughput (about 410 MB/s
//  against 670 MB/s with these settings, peak RSS 21 MiB; docs/PERFORMANCE.md).
//  The MALLOC_*_ environment variables still win when set.
static void
s_malloc_tune (void)
{
    if (!getenv ("MALLOC_MMAP_THRESHOLD_"))
        mallopt (M_MMAP_THRESHOLD, 1 << 20);
    if (!getenv ("MALLOC_TRIM_THRESHOLD_"))
        mallopt (M_TRIM_THRESHOLD, 16 << 20);
}

int
main (int argc, char *argv [])
{
    s_options_t options = { NULL, false, -1, NULL };
    s_malloc_tune ();
    int rc = s_parse_args (argc, argv, &options);
    if (rc != ZMXD_CONTINUE)
        return rc;

    const char *source = options.config_path? options.config_path: "built-in config";
    s_node_t node = { s_config_load (options.config_path), NULL, NULL, 0 };
    if (!node.config || s_config_check (node.config, source)
    ||  s_config_move (node.config, options.base_port, source)) {
        zconfig_destroy (&node.config);
        return ZMXD_EXIT_CONFIG;
    }
    if (options.print_config) {
        s_config_tidy (node.config);
        char *text = zconfig_str_save (node.config);
        fputs (text, stdout);
        free (text);
        zconfig_destroy (&node.config);
        return ZMXD_EXIT_OK;
    }
    s_apply_log_level (node.config, &options);
    //  Install CZMQ's SIGINT/SIGTERM handler before any service starts
    zsys_init ();
    node.max_sockets = s_size_sockets ();
    rc = ZMXD_EXIT_CONFIG;
    if (s_node_start (&node, source) == 0 && s_apply_log_forward (node.config) == 0) {
        s_node_print_endpoints (&node);
        rc = s_node_run (&node);
    }
    s_node_destroy (&node);
    zconfig_destroy (&node.config);
    return rc;
}
