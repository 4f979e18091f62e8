/*  =========================================================================
    zmx streams - list the streams of zmxd's log service, delete or purge one

        zmx streams [--json]            zmx streams ls [--json]
        zmx streams rm NAME --yes       zmx streams purge NAME --yes

    rm deletes a stream with its files and durable consumers; purge drops
    every record and keeps the stream, its sequence and its consumers.
    Neither can be undone, so both want --yes.
    =========================================================================
*/
#include "zmx_cli.h"

#define S_CONTINUE -1           //  s_parse: arguments fine, go on

typedef enum { S_LIST, S_REMOVE, S_PURGE } s_verb_t;

typedef struct {
    zmx_cli_streams_t conn;
    s_verb_t verb;
    const char *name;           //  rm, purge: the stream
    bool yes;                   //  --yes
} s_streams_t;

void
zmx_cli_streams_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx streams [ls] [--json] [-e ENDPOINT] [-t MS]\n"
        "                   [--curve-cert FILE --server-key KEY|FILE]\n"
        "       zmx streams rm NAME --yes      delete a stream, its files and consumers\n"
        "       zmx streams purge NAME --yes   drop every record of a stream, keeping\n"
        "                                      its sequence and consumers\n"
        "\n"
        "List the streams of zmxd's log service: records, bytes, first and last\n"
        "sequence and time, durable consumers.\n"
        "\n"
        "  --json                   print one JSON array of {\"name\", \"records\",\n"
        "                           \"bytes\", \"first_sequence\", \"last_sequence\",\n"
        "                           \"first_time\", \"last_time\", \"consumers\"}\n"
        "  --yes                    confirm rm or purge: neither can be undone\n"
        "  -e, --endpoint ENDPOINT  streams service (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -t, --timeout MS         wait for the answer (default %d)\n"
        "  --curve-cert FILE        use CURVE with this client certificate\n"
        "  --server-key KEY|FILE    the service's public key or certificate file\n"
        "\n"
        "Exit codes: 0 ok, 1 error (no such stream, refused), 2 usage (also rm or\n"
        "purge without --yes), 3 no answer within -t, 5 bad key or certificate,\n"
        "6 the host name does not resolve.\n",
        ZMX_CLI_ENV_STREAMS, ZMX_CLI_STREAMS_DEFAULT, ZMX_CLI_TIMEOUT);
}

//  The verb and its NAME from the arguments left after the options.
static int
s_parse_verb (s_streams_t *self, int count, char *args [])
{
    const char *verb = count > 0? args [0]: "ls";
    if (streq (verb, "ls"))
        self->verb = S_LIST;
    else
    if (streq (verb, "rm"))
        self->verb = S_REMOVE;
    else
    if (streq (verb, "purge"))
        self->verb = S_PURGE;
    else
        return zmx_cli_usage_error (zmx_cli_streams_usage, "unknown verb '%s': use ls, rm "
                                    "or purge", verb);
    if (self->conn.json && self->verb != S_LIST)
        return zmx_cli_usage_error (zmx_cli_streams_usage, "--json goes with ls only");
    if (self->verb == S_LIST) {
        if (count > 1)
            return zmx_cli_usage_error (zmx_cli_streams_usage, "unexpected argument '%s'",
                                        args [1]);
        return S_CONTINUE;
    }
    if (count != 2)
        return zmx_cli_usage_error (zmx_cli_streams_usage, "%s needs one stream NAME "
                                    "(zmx streams lists them)", verb);
    self->name = args [1];
    if (!zmx_cli_stream_name_ok (self->name, verb))
        return ZMX_EXIT_USAGE;
    if (!self->yes)
        return zmx_cli_usage_error (zmx_cli_streams_usage, "%s %s %s, and cannot be undone: "
                                    "add --yes to confirm", verb, self->name,
                                    self->verb == S_REMOVE? "deletes the stream with its "
                                    "records and durable consumers":
                                    "drops every record of the stream");
    return S_CONTINUE;
}

static int
s_parse (int argc, char *argv [], s_streams_t *self)
{
    static const struct option longopts [] = {
        { "json", no_argument, NULL, ZMX_CLI_OPT_JSON },
        { "yes", no_argument, NULL, ZMX_CLI_OPT_YES },
        { "endpoint", required_argument, NULL, 'e' },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "timeout", required_argument, NULL, 't' },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "e:t:h", longopts, NULL)) != -1) {
        int shared = zmx_cli_streams_option (&self->conn, option, optarg);
        if (shared < 0)
            return ZMX_EXIT_USAGE;
        if (shared > 0)
            continue;
        if (option == ZMX_CLI_OPT_YES)
            self->yes = true;
        else
        if (option == ZMX_CLI_OPT_HELP) {
            zmx_cli_streams_usage (stdout);
            return ZMX_EXIT_OK;
        }
        else {
            zmx_cli_streams_usage (stderr);
            return ZMX_EXIT_USAGE;
        }
    }
    int rc = s_parse_verb (self, argc - optind, argv + optind);
    if (rc != S_CONTINUE)
        return rc;
    return zmx_cli_streams_check (&self->conn)? ZMX_EXIT_USAGE: S_CONTINUE;
}

//  The table: one row per stream, the name column as wide as the longest
static void
s_print_table (const zmx_stream_info_t *infos, size_t count)
{
    int width = (int) strlen ("STREAM");
    for (size_t index = 0; index < count; index++)
        if ((int) strlen (infos [index].name) > width)
            width = (int) strlen (infos [index].name);
    printf ("%-*s %10s %12s %10s %10s %-23s %-23s %9s\n", width, "STREAM", "RECORDS", "BYTES",
            "FIRST", "LAST", "FIRST-TIME", "LAST-TIME", "CONSUMERS");
    for (size_t index = 0; index < count; index++) {
        const zmx_stream_info_t *info = &infos [index];
        char first [64], last [64];
        zmx_cli_format_time (info->first_time_ns, 'T', first, sizeof first);
        zmx_cli_format_time (info->last_time_ns, 'T', last, sizeof last);
        printf ("%-*s %10" PRIu64 " %12" PRIu64 " %10" PRIu64 " %10" PRIu64 " %-23s %-23s "
                "%9" PRIu32 "\n", width, info->name, info->records, info->bytes,
                info->first_sequence, info->last_sequence, first, last, info->consumers);
    }
}

static void
s_print_json (const zmx_stream_info_t *infos, size_t count)
{
    zmx_cli_json_t *writer = zmx_cli_json_new (stdout);
    zmx_cli_json_open (writer, '[');
    for (size_t index = 0; index < count; index++) {
        const zmx_stream_info_t *info = &infos [index];
        char first [64], last [64];
        zmx_cli_format_time (info->first_time_ns, 'T', first, sizeof first);
        zmx_cli_format_time (info->last_time_ns, 'T', last, sizeof last);
        zmx_cli_json_open (writer, '{');
        zmx_cli_json_pair (writer, "name", info->name);
        zmx_cli_json_pair_number (writer, "records", (int64_t) info->records);
        zmx_cli_json_pair_number (writer, "bytes", (int64_t) info->bytes);
        zmx_cli_json_pair_number (writer, "first_sequence", (int64_t) info->first_sequence);
        zmx_cli_json_pair_number (writer, "last_sequence", (int64_t) info->last_sequence);
        zmx_cli_json_pair (writer, "first_time", first);
        zmx_cli_json_pair (writer, "last_time", last);
        zmx_cli_json_pair_number (writer, "first_time_ns", info->first_time_ns);
        zmx_cli_json_pair_number (writer, "last_time_ns", info->last_time_ns);
        zmx_cli_json_pair_number (writer, "consumers", info->consumers);
        zmx_cli_json_close (writer, '}');
    }
    zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
}

static int
s_list (s_streams_t *self, zmx_stream_t *client)
{
    zmx_stream_info_t *infos = NULL;
    size_t count = 0;
    int rc = zmx_stream_list (client, &infos, &count, self->conn.timeout);
    if (rc != ZMX_OK)
        return zmx_cli_streams_failed (client, &self->conn, rc, "cannot list the streams");
    if (self->conn.json)
        s_print_json (infos, count);
    else
        s_print_table (infos, count);
    free (infos);
    if (fflush (stdout) != 0 || ferror (stdout)) {
        fprintf (stderr, "zmx: cannot write the list: %s\n", strerror (errno));
        return ZMX_EXIT_ERROR;
    }
    return ZMX_EXIT_OK;
}

//  rm and purge
static int
s_change (s_streams_t *self, zmx_stream_t *client)
{
    int rc = self->verb == S_REMOVE? zmx_stream_delete (client, self->name, self->conn.timeout)
                                   : zmx_stream_purge (client, self->name, self->conn.timeout);
    const char *verb = self->verb == S_REMOVE? "delete": "purge";
    if (rc == ZMX_EINVAL) {
        fprintf (stderr, "zmx: cannot %s %s: no such stream at %s (zmx streams lists "
                 "them)\n", verb, self->name, self->conn.endpoint);
        return ZMX_EXIT_ERROR;
    }
    if (rc != ZMX_OK) {
        char *what = zsys_sprintf ("cannot %s %s", verb, self->name);
        rc = zmx_cli_streams_failed (client, &self->conn, rc, what);
        free (what);
        return rc;
    }
    printf ("%s %s\n", self->verb == S_REMOVE? "deleted": "purged", self->name);
    return ZMX_EXIT_OK;
}

int
zmx_cli_streams (int argc, char *argv [])
{
    s_streams_t self = { .verb = S_LIST };
    zmx_cli_streams_init (&self.conn);
    int rc = s_parse (argc, argv, &self);
    if (rc != S_CONTINUE)
        return rc;
    zsys_init ();
    zmx_stream_t *client = zmx_cli_streams_open (&self.conn, &rc);
    if (!client)
        return rc;
    rc = self.verb == S_LIST? s_list (&self, client): s_change (&self, client);
    zmx_stream_destroy (&client);
    return rc;
}
