/*  =========================================================================
    zmx_cli - option handling and error reporting shared by the subcommands
    =========================================================================
*/
#include "zmx_cli.h"
#include <errno.h>
#include <stdarg.h>

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
}

int
zmx_cli_conn_option (zmx_cli_conn_t *conn, int option, const char *value)
{
    switch (option) {
        case 'b':
            conn->endpoint = value;
            return 1;
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
