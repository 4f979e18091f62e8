/*  =========================================================================
    zmx services - list the services a broker knows, as a table

    Asks the broker's mmi.services extension, which answers one frame per
    service: "<workers> <queued> <name>" (or a single empty frame when it
    knows no service, as an MDP reply needs a body).
    =========================================================================
*/
#include "zmx_cli.h"

#define S_CONTINUE -1           //  s_parse: arguments fine, go on

void
zmx_cli_services_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx services [-b ENDPOINT] [-t TIMEOUT_MS] [-r RETRIES] [--json]\n"
        "                    [--packed] [--curve-cert FILE --server-key KEY|FILE]\n"
        "\n"
        "Print the broker's services with their worker count and the number of\n"
        "requests queued for them.\n"
        "\n"
        "  -b, --broker ENDPOINT  broker (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]     the zmxd to use, its ports at BASE + their\n"
        "                         offsets (default $ZMX_ZMXD); -b wins\n"
        "  -t, --timeout MS       wait per attempt (default %d)\n"
        "  -r, --retries N        attempts after the first (default %d)\n"
        "  --packed               speak zmx packed MDP: fewer frames per request;\n"
        "                         zmx brokers only (docs/PROTOCOLS.md)\n"
        "  --curve-cert FILE      use CURVE with this client certificate\n"
        "  --server-key KEY|FILE  the broker's public key or certificate file\n"
        "  --json                 print one JSON array of {\"service\", \"workers\",\n"
        "                         \"queued\"} instead of the table\n",
        ZMX_CLI_ENV_BROKER, ZMX_BROKER_DEFAULT_ENDPOINT, ZMX_CLI_TIMEOUT, ZMX_CLI_RETRIES);
}

static int
s_parse (int argc, char *argv [], zmx_cli_conn_t *conn, bool *json_p)
{
    static const struct option longopts [] = {
        { "broker", required_argument, NULL, 'b' },
        { "timeout", required_argument, NULL, 't' },
        { "retries", required_argument, NULL, 'r' },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "packed", no_argument, NULL, ZMX_CLI_OPT_PACKED },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "json", no_argument, NULL, ZMX_CLI_OPT_JSON },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "b:t:r:h", longopts, NULL)) != -1) {
        int shared = zmx_cli_conn_option (conn, option, optarg);
        if (shared < 0)
            return ZMX_EXIT_USAGE;
        if (shared > 0)
            continue;
        if (option == ZMX_CLI_OPT_JSON) {
            *json_p = true;
            continue;
        }
        if (option == ZMX_CLI_OPT_HELP) {
            zmx_cli_services_usage (stdout);
            return ZMX_EXIT_OK;
        }
        zmx_cli_services_usage (stderr);
        return ZMX_EXIT_USAGE;
    }
    if (optind < argc)
        return zmx_cli_usage_error (zmx_cli_services_usage, "unexpected argument '%s'",
                                    argv [optind]);
    return zmx_cli_conn_check (conn)? ZMX_EXIT_USAGE: S_CONTINUE;
}

//  Split a "<workers> <queued> <name>" line. Returns the offset of the
//  name in `line`, or -1 if the line has another shape.
static int
s_split (const char *line, unsigned long *workers, unsigned long *queued)
{
    int name = 0;
    if (sscanf (line, "%lu %lu %n", workers, queued, &name) == 2 && name > 0 && line [name])
        return name;
    return -1;
}

//  Print the table; the name column is as wide as the longest name.
static void
s_print_table (zmsg_t *reply)
{
    int width = (int) strlen ("SERVICE");
    unsigned long workers, queued;
    for (zframe_t *frame = zmsg_first (reply); frame; frame = zmsg_next (reply)) {
        char *line = zframe_strdup (frame);
        int name = s_split (line, &workers, &queued);
        if (name >= 0 && (int) strlen (line + name) > width)
            width = (int) strlen (line + name);
        free (line);
    }
    printf ("%-*s %7s %7s\n", width, "SERVICE", "WORKERS", "QUEUED");
    for (zframe_t *frame = zmsg_first (reply); frame; frame = zmsg_next (reply)) {
        if (zframe_size (frame) == 0)
            continue;           //  The one empty frame of an empty list
        char *line = zframe_strdup (frame);
        int name = s_split (line, &workers, &queued);
        if (name >= 0)
            printf ("%-*s %7lu %7lu\n", width, line + name, workers, queued);
        else
            fprintf (stderr, "zmx: unexpected mmi.services line '%s'\n", line);
        free (line);
    }
    fflush (stdout);
}

//  The same as one JSON array of {"service", "workers", "queued"}
static void
s_print_json (zmsg_t *reply)
{
    zmx_cli_json_t *writer = zmx_cli_json_new (stdout);
    zmx_cli_json_open (writer, '[');
    unsigned long workers, queued;
    for (zframe_t *frame = zmsg_first (reply); frame; frame = zmsg_next (reply)) {
        if (zframe_size (frame) == 0)
            continue;
        char *line = zframe_strdup (frame);
        int name = s_split (line, &workers, &queued);
        if (name >= 0) {
            zmx_cli_json_open (writer, '{');
            zmx_cli_json_pair (writer, "service", line + name);
            zmx_cli_json_pair_number (writer, "workers", (int64_t) workers);
            zmx_cli_json_pair_number (writer, "queued", (int64_t) queued);
            zmx_cli_json_close (writer, '}');
        }
        else
            fprintf (stderr, "zmx: unexpected mmi.services line '%s'\n", line);
        free (line);
    }
    zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
}

int
zmx_cli_services (int argc, char *argv [])
{
    zmx_cli_conn_t conn;
    zmx_cli_conn_init (&conn);
    bool json = false;
    int rc = s_parse (argc, argv, &conn, &json);
    if (rc != S_CONTINUE)
        return rc;
    zmx_client_t *client = zmx_cli_client_new (&conn, &rc);
    if (!client)
        return rc;
    zmsg_t *request = zmsg_new ();
    zmsg_t *reply = zmx_client_request (client, "mmi.services", &request);
    if (reply && json)
        s_print_json (reply);
    else
    if (reply)
        s_print_table (reply);
    else
        rc = zmx_cli_request_failed (client, &conn);
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    return rc;
}
