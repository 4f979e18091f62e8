/*  =========================================================================
    zmx services - list the services a broker knows, as a table

    Asks the broker's mmi.services extension for its one-frame list: one
    newline-ended "<workers> <queued> <name>" line per service (an empty
    frame when it knows no service, as an MDP reply needs a body). A
    broker that answers one frame per service (older zmx) is read too.
    Rows are printed sorted by name; a line that cannot be read is
    reported and makes the exit code 1.
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

//  One service of the reply
typedef struct {
    const char *name;           //  Points into the reply's text
    unsigned long workers;
    unsigned long queued;
} s_row_t;

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

//  The reply as one text of newline-ended lines, whether it came as one
//  frame of lines (the list form) or one frame per service. Caller frees.
static char *
s_reply_text (zmsg_t *reply)
{
    zchunk_t *text = zchunk_new (NULL, 0);
    for (zframe_t *frame = zmsg_first (reply); frame; frame = zmsg_next (reply)) {
        size_t size = zframe_size (frame);
        zchunk_extend (text, zframe_data (frame), size);
        if (size > 0 && zframe_data (frame) [size - 1] != '\n')
            zchunk_extend (text, "\n", 1);
    }
    char *string = strndup ((char *) zchunk_data (text), zchunk_size (text));
    zchunk_destroy (&text);
    return string;
}

static int
s_row_compare (const void *one, const void *other)
{
    return strcmp (((const s_row_t *) one)->name, ((const s_row_t *) other)->name);
}

//  Parse the lines of `text` (cut in place) into rows. Returns the row
//  count; lines of another shape are reported and counted in *bad_p.
static size_t
s_parse_rows (char *text, s_row_t **rows_p, size_t *bad_p)
{
    size_t lines = 0;
    for (char *at = text; *at; at++)
        lines += *at == '\n';
    s_row_t *rows = (s_row_t *) calloc (lines + 1, sizeof (s_row_t));
    size_t count = 0;
    char *line;
    while ((line = strsep (&text, "\n"))) {
        if (!*line)
            continue;           //  The end, or the one empty frame of an empty list
        int name = s_split (line, &rows [count].workers, &rows [count].queued);
        if (name >= 0)
            rows [count++].name = line + name;
        else {
            fprintf (stderr, "zmx: unexpected mmi.services line '%s'\n", line);
            (*bad_p)++;
        }
    }
    *rows_p = rows;
    return count;
}

//  Print the table, sorted by name; the name column is as wide as the
//  longest name. Returns the exit code: an error if any line could not
//  be read.
static int
s_print_table (zmsg_t *reply)
{
    char *text = s_reply_text (reply);
    s_row_t *rows;
    size_t bad = 0;
    size_t count = s_parse_rows (text, &rows, &bad);
    qsort (rows, count, sizeof (s_row_t), s_row_compare);
    int width = (int) strlen ("SERVICE");
    for (size_t index = 0; index < count; index++)
        if ((int) strlen (rows [index].name) > width)
            width = (int) strlen (rows [index].name);
    printf ("%-*s %7s %7s\n", width, "SERVICE", "WORKERS", "QUEUED");
    for (size_t index = 0; index < count; index++)
        printf ("%-*s %7lu %7lu\n", width, rows [index].name, rows [index].workers,
                rows [index].queued);
    int rc = fflush (stdout) == 0 && !ferror (stdout)? ZMX_EXIT_OK: ZMX_EXIT_ERROR;
    if (bad) {
        fprintf (stderr, "zmx: %zu line%s of the broker's mmi.services reply could not be "
                         "read (above)\n", bad, bad == 1? "": "s");
        rc = ZMX_EXIT_ERROR;
    }
    free (rows);
    free (text);
    return rc;
}

//  The same as one JSON array of {"service", "workers", "queued"}, sorted
//  by name. Returns the exit code as s_print_table does.
static int
s_print_json (zmsg_t *reply)
{
    char *text = s_reply_text (reply);
    s_row_t *rows;
    size_t bad = 0;
    size_t count = s_parse_rows (text, &rows, &bad);
    qsort (rows, count, sizeof (s_row_t), s_row_compare);
    zmx_cli_json_t *writer = zmx_cli_json_new (stdout);
    zmx_cli_json_open (writer, '[');
    for (size_t index = 0; index < count; index++) {
        zmx_cli_json_open (writer, '{');
        zmx_cli_json_pair (writer, "service", rows [index].name);
        zmx_cli_json_pair_number (writer, "workers", (int64_t) rows [index].workers);
        zmx_cli_json_pair_number (writer, "queued", (int64_t) rows [index].queued);
        zmx_cli_json_close (writer, '}');
    }
    zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
    int rc = !ferror (stdout) && !bad? ZMX_EXIT_OK: ZMX_EXIT_ERROR;
    free (rows);
    free (text);
    return rc;
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
    //  Ask for the one-frame list: any number of services fits in it
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, ZMX_MMI_SERVICES_LIST);
    zmsg_t *reply = zmx_client_request (client, "mmi.services", &request);
    if (reply && json)
        rc = s_print_json (reply);
    else
    if (reply)
        rc = s_print_table (reply);
    else
        rc = zmx_cli_request_failed (client, &conn);
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    return rc;
}
