/*  =========================================================================
    zmx_cli - option handling and error reporting shared by the subcommands
    =========================================================================
*/
#include "zmx_cli.h"
#include "zmx_layout.h"
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <sys/socket.h>

//  Where zmxd is: HOST and BASE of --zmxd or $ZMX_ZMXD, and the endpoint
//  of each service there. Lives as long as the process.
static struct {
    char host [256];            //  As given: name, IPv4 or [IPv6]
    int base;                   //  Broker port; others at their offsets
    char endpoints [ZMX_LAYOUT_COUNT][300];
} s_zmxd;

//  The specific variable of each service that $ZMX_ZMXD fills in
static const struct {
    const char *variable;
    zmx_layout_port_t port;
} s_zmxd_variables [] = {
    { ZMX_CLI_ENV_BROKER, ZMX_LAYOUT_BROKER },
    { ZMX_CLI_ENV_CLONE, ZMX_LAYOUT_CLONE },
    { ZMX_RESOLVER_ENV_SERVICE, ZMX_LAYOUT_RESOLVER },
    { ZMX_CLI_ENV_FILES, ZMX_LAYOUT_FILES },
    { ZMX_CLI_ENV_STREAMS, ZMX_LAYOUT_LOG_STREAMS },
};

//  Split "HOST[:BASE]" (a leading tcp:// is allowed, IPv6 as [ADDR]) into
//  s_zmxd. Returns 0, or -1 with the problem printed naming `source`.
static int
s_zmxd_parse (const char *text, const char *source)
{
    if (strncmp (text, "tcp://", 6) == 0)
        text += 6;
    const char *colon = *text == '['? strchr (text, ']'): text;
    colon = colon? strrchr (colon, ':'): NULL;
    size_t host_size = colon? (size_t) (colon - text): strlen (text);
    int base = ZMX_LAYOUT_BASE;
    const char *problem = NULL;
    if (host_size == 0 || host_size >= sizeof s_zmxd.host)
        problem = "no host";
    else
    if (strcspn (text, ",/ ") < host_size || (*text != '[' && memchr (text, ':', host_size))
    ||  (*text == '[' && text [host_size - 1] != ']'))
        problem = "a bad host (write IPv6 as [ADDR])";
    else
    if (colon) {
        char *end;
        errno = 0;
        long number = strtol (colon + 1, &end, 10);
        if (errno || end == colon + 1 || *end || number < 1 || number > ZMX_LAYOUT_BASE_MAX)
            problem = "a bad BASE port";
        base = (int) number;
    }
    if (problem) {
        fprintf (stderr, "zmx: %s '%s' has %s: use HOST or HOST:BASE, e.g. 127.0.0.1 or "
                 "127.0.0.1:%d (BASE from 1 to %d)\n", source, text, problem,
                 ZMX_LAYOUT_BASE, ZMX_LAYOUT_BASE_MAX);
        return -1;
    }
    memcpy (s_zmxd.host, text, host_size);
    s_zmxd.host [host_size] = 0;
    s_zmxd.base = base;
    for (int which = 0; which < ZMX_LAYOUT_COUNT; which++)
        snprintf (s_zmxd.endpoints [which], sizeof s_zmxd.endpoints [which], "tcp://%s:%d",
                  s_zmxd.host, zmx_layout_port ((zmx_layout_port_t) which, base));
    return 0;
}

//  Point each service's variable at zmxd; `overwrite` 0 keeps those set.
static void
s_zmxd_export (int overwrite)
{
    for (size_t index = 0; index < sizeof s_zmxd_variables / sizeof s_zmxd_variables [0];
         index++)
        setenv (s_zmxd_variables [index].variable,
                s_zmxd.endpoints [s_zmxd_variables [index].port], overwrite);
}

int
zmx_cli_zmxd_setup (void)
{
    const char *zmxd = getenv (ZMX_CLI_ENV_ZMXD);
    if (!zmxd || !*zmxd)
        return 0;
    if (s_zmxd_parse (zmxd, "$" ZMX_CLI_ENV_ZMXD))
        return -1;
    s_zmxd_export (0);
    return 0;
}

int
zmx_cli_zmxd_option (const char *value, int which, const char **endpoint_p, bool given)
{
    if (s_zmxd_parse (value, "--zmxd"))
        return -1;
    s_zmxd_export (1);
    if (endpoint_p && !given)
        *endpoint_p = s_zmxd.endpoints [which];
    return 1;
}

bool
zmx_cli_zmxd_beacon (int *port_p, bool *loopback_p)
{
    if (!*s_zmxd.host)
        return false;
    *port_p = zmx_layout_port (ZMX_LAYOUT_BEACON, s_zmxd.base);
    *loopback_p = strncmp (s_zmxd.host, "127.", 4) == 0 || streq (s_zmxd.host, "localhost")
               || streq (s_zmxd.host, "[::1]");
    return true;
}

void
zmx_cli_conn_init (zmx_cli_conn_t *conn)
{
    const char *endpoint = getenv (ZMX_CLI_ENV_BROKER);
    conn->endpoint = endpoint && *endpoint? endpoint: ZMX_BROKER_DEFAULT_ENDPOINT;
    conn->timeout = ZMX_CLI_TIMEOUT;
    conn->retries = ZMX_CLI_RETRIES;
    conn->curve_cert = NULL;
    conn->server_key = NULL;
    conn->packed = false;
    conn->endpoint_given = false;
}

int
zmx_cli_conn_option (zmx_cli_conn_t *conn, int option, const char *value)
{
    switch (option) {
        case 'b':
            conn->endpoint = value;
            conn->endpoint_given = true;
            return 1;
        case ZMX_CLI_OPT_ZMXD:
            return zmx_cli_zmxd_option (value, ZMX_LAYOUT_BROKER, &conn->endpoint,
                                        conn->endpoint_given);
        case 't':
            return zmx_cli_parse_int (value, "-t", 1, 3600000, &conn->timeout)? -1: 1;
        case 'r':
            return zmx_cli_parse_int (value, "-r", 0, 1000, &conn->retries)? -1: 1;
        case ZMX_CLI_OPT_CURVE_CERT:
            conn->curve_cert = value;
            return 1;
        case ZMX_CLI_OPT_SERVER_KEY:
            conn->server_key = value;
            return 1;
        case ZMX_CLI_OPT_PACKED:
            conn->packed = true;
            return 1;
        default:
            return 0;
    }
}

int
zmx_cli_conn_check (const zmx_cli_conn_t *conn)
{
    if (!conn->curve_cert != !conn->server_key) {
        fprintf (stderr, "zmx: --curve-cert and --server-key go together: give both "
                         "to use CURVE, or neither\n");
        return -1;
    }
    if (!*conn->endpoint) {
        fprintf (stderr, "zmx: the broker endpoint is empty: pass -b or set $%s\n",
                 ZMX_CLI_ENV_BROKER);
        return -1;
    }
    return 0;
}

//  The host of a tcp:// endpoint ("tcp://[SOURCE;]HOST:PORT") into host,
//  brackets of an IPv6 address removed. False if there is none to look up.
static bool
s_endpoint_host (const char *endpoint, char *host, size_t size)
{
    if (strncmp (endpoint, "tcp://", 6) != 0)
        return false;
    const char *start = strchr (endpoint, ';');
    start = start? start + 1: endpoint + 6;
    const char *colon = strrchr (start, ':');
    if (!colon || colon == start)
        return false;
    if (*start == '[' && colon [-1] == ']') {
        start++;
        colon--;
    }
    size_t length = (size_t) (colon - start);
    if (length >= size || (length == 1 && *start == '*'))
        return false;
    memcpy (host, start, length);
    host [length] = 0;
    return true;
}

int
zmx_cli_check_hosts (const char *endpoints, int *exit_p)
{
    char *copy = strdup (endpoints);
    char *cursor = copy, *endpoint, host [256];
    int rc = 0;
    while (rc == 0 && (endpoint = strsep (&cursor, ","))) {
        if (!s_endpoint_host (endpoint, host, sizeof host))
            continue;
        struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *found = NULL;
        int error = getaddrinfo (host, NULL, &hints, &found);
        if (found)
            freeaddrinfo (found);
        if (error == 0)
            continue;
        fprintf (stderr, "zmx: cannot resolve host '%s' of %s: %s; check the host name "
                 "(or use an IP address)\n", host, endpoint, gai_strerror (error));
        *exit_p = ZMX_EXIT_HOST;
        rc = -1;
    }
    free (copy);
    return rc;
}

char *
zmx_cli_resolve (const char *endpoint, int timeout, int *exit_p)
{
    char *endpoints = NULL;
    int rc = zmx_resolver_resolve_endpoint (endpoint, timeout, &endpoints);
    *exit_p = rc == ZMX_OK? ZMX_EXIT_OK: rc == ZMX_ETIMEDOUT? ZMX_EXIT_TIMEOUT:
              rc == ZMX_EINVAL? ZMX_EXIT_USAGE: ZMX_EXIT_ERROR;
    if (rc != ZMX_OK)
        fprintf (stderr, "zmx: cannot resolve '%s': %s (see zmx names get)\n", endpoint,
                 rc == ZMX_EADDR? "no such name": zmx_strerror (rc));
    else
    if (zmx_cli_check_hosts (endpoints, exit_p))
        zstr_free (&endpoints);
    return endpoints;
}

zmx_client_t *
zmx_cli_client_new (const zmx_cli_conn_t *conn, int *exit_p)
{
    char *endpoints = zmx_cli_resolve (conn->endpoint, conn->timeout, exit_p);
    if (!endpoints)
        return NULL;
    zmx_client_t *client = zmx_client_new (endpoints);
    zstr_free (&endpoints);
    if (!client) {
        fprintf (stderr, "zmx: bad broker endpoint '%s': use e.g. tcp://127.0.0.1:5555\n",
                 conn->endpoint);
        *exit_p = ZMX_EXIT_USAGE;
        return NULL;
    }
    zmx_client_set_timeout (client, conn->timeout);
    zmx_client_set_retries (client, conn->retries);
    if (conn->packed)
        zmx_client_set_version (client, ZMX_MDP_PACKED);
    if (conn->curve_cert
    &&  zmx_client_set_curve (client, conn->curve_cert, conn->server_key) != ZMX_OK) {
        fprintf (stderr, "zmx: cannot use CURVE with certificate '%s' and server key '%s' "
                         "(reason above): check both, or create a certificate with "
                         "zmx keygen\n", conn->curve_cert, conn->server_key);
        zmx_client_destroy (&client);
        *exit_p = ZMX_EXIT_SECURITY;
        return NULL;
    }
    *exit_p = ZMX_EXIT_OK;
    return client;
}

int
zmx_cli_parse_int (const char *text, const char *option, int min, int max, int *value)
{
    char *end;
    errno = 0;
    long number = strtol (text, &end, 10);
    if (errno || end == text || *end || number < min || number > max) {
        fprintf (stderr, "zmx: %s %s: expected a whole number from %d to %d\n",
                 option, text, min, max);
        return -1;
    }
    *value = (int) number;
    return 0;
}

int
zmx_cli_request_failed (zmx_client_t *client, const zmx_cli_conn_t *conn)
{
    int error = zmx_client_error (client);
    switch (error) {
        case ZMX_ETIMEDOUT:
            //  A server that refuses our CURVE key (or our lack of one)
            //  just stays silent: say so, or this looks like no server
            fprintf (stderr, "zmx: no reply from %s after %d attempt%s: is zmxd running "
                             "there (make run)? %s\n", conn->endpoint, conn->retries + 1,
                     conn->retries? "s": "",
                     conn->curve_cert? "Or the server may be refusing this client's key: "
                                       "check --curve-cert and --server-key, and that the "
                                       "server lists this key among its clients (its log "
                                       "says \"refused a client\")":
                                       "If it requires CURVE (security/curve = 1), it may be "
                                       "refusing this client: pass --curve-cert and "
                                       "--server-key (its log says \"refused a client\")");
            return ZMX_EXIT_TIMEOUT;
        case ZMX_ESECURITY:
            fprintf (stderr, "zmx: security error talking to %s: check --curve-cert "
                             "and --server-key\n", conn->endpoint);
            return ZMX_EXIT_SECURITY;
        case ZMX_ETERM:
            fprintf (stderr, "zmx: interrupted\n");
            return ZMX_EXIT_ERROR;
        case ZMX_EPROTO:
            fprintf (stderr, "zmx: the reply from %s could not be read: it has more than "
                             "%d frames, MDP's limit\n", conn->endpoint, ZMX_MDP_MAX_FRAMES);
            return ZMX_EXIT_ERROR;
        default:
            fprintf (stderr, "zmx: request to %s failed: %s\n", conn->endpoint,
                     zmx_strerror (error));
            return ZMX_EXIT_ERROR;
    }
}

int
zmx_cli_usage_error (void (*usage) (FILE *stream), const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "zmx: ");
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    usage (stderr);
    return ZMX_EXIT_USAGE;
}
