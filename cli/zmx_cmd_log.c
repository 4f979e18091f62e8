/*  =========================================================================
    zmx log - write records to a stream and read them back

        zmx log send [-s SUBJECT] [--level L] [--stream S] [--id MSGID] [TEXT...]
        zmx log tail [-f] [--stream S] [--subject PATTERN]
                     [--from-start | --seq N | --since 10m | --last N]
                     [--json] [--durable NAME]

    send appends TEXT as one record, or each line of stdin as one record,
    through zmx_stream (batched, pipelined), and exits 0 only once the
    service acknowledged every record as durable. tail subscribes: history
    from the start asked for, then, with -f, live records as they come.
    =========================================================================
*/
#include "zmx_cli.h"
#include <poll.h>
#include <unistd.h>

#define S_CONTINUE      -1              //  s_parse: arguments fine, go on
#define S_LEVEL         6               //  send's default severity: info
#define S_LAST          10              //  tail's default start: the last 10
#define S_LINE_MAX      (16 << 20)      //  Longest stdin line: the store's hard limit
#define S_READ_SIZE     65536           //  Bytes read from stdin at a time
#define S_IDLE_MSEC     200             //  Longest wait on stdin before a heartbeat turn
#define S_ID_SUFFIX     21              //  "-" and up to 20 digits after a stdin --id
#define S_FOLLOW_MSEC   1000            //  Longest wait between signal checks with -f
#define S_SUBSCRIPTION  1

typedef enum { S_SEND, S_TAIL } s_verb_t;

typedef struct {
    s_verb_t verb;
    zmx_cli_streams_t conn;     //  -e, --zmxd, -t, CURVE, --stream, --json
    //  send
    const char *subject;        //  -s, or NULL: log.<host>.zmx.<level>
    int severity;               //  --level
    const char *msg_id;         //  --id, or NULL
    char **texts;               //  TEXT..., joined by spaces; none: stdin
    int text_count;
    //  tail
    bool follow;                //  -f
    const char *pattern;        //  --subject, or NULL: every subject
    zmx_stream_from_t from;     //  The start option
    uint64_t value;             //  Its value
    int starts;                 //  Start options given (at most one)
    const char *durable;        //  --durable NAME, or NULL
} s_log_t;

static void
s_usage_send (FILE *stream)
{
    fprintf (stream,
        "usage: zmx log send [-s SUBJECT] [--level L] [--stream S] [--id MSGID]\n"
        "                    [-e ENDPOINT] [-t MS] [--curve-cert FILE --server-key KEY|FILE]\n"
        "                    [TEXT...]\n"
        "\n"
        "Append TEXT as one record, or each line of stdin as one record when no\n"
        "TEXT is given (empty lines skipped). Exits 0 once every record is durable.\n"
        "\n"
        "  -s, --subject SUBJECT    the records' subject (default log.HOST.zmx.LEVEL)\n"
        "  --level L                severity header: emerg, alert, crit, error,\n"
        "                           warning, notice, info, debug, or 0-7 (default info)\n"
        "  --stream S               the stream (default %s)\n"
        "  --id MSGID               message id: the service stores a repeat once;\n"
        "                           stdin lines get MSGID-1, MSGID-2, ...\n"
        "  -e, --endpoint ENDPOINT  streams service (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -t, --timeout MS         wait for the acknowledgements (default %d)\n"
        "  --curve-cert FILE        use CURVE with this client certificate\n"
        "  --server-key KEY|FILE    the service's public key or certificate file\n",
        ZMX_CLI_STREAM_DEFAULT, ZMX_CLI_ENV_STREAMS, ZMX_CLI_STREAMS_DEFAULT, ZMX_CLI_TIMEOUT);
}

static void
s_usage_tail (FILE *stream)
{
    fprintf (stream,
        "usage: zmx log tail [-f] [--stream S] [--subject PATTERN]\n"
        "                    [--from-start | --seq N | --since DURATION | --last N]\n"
        "                    [--json] [--durable NAME] [-e ENDPOINT] [-t MS]\n"
        "                    [--curve-cert FILE --server-key KEY|FILE]\n"
        "\n"
        "Print a stream's records (the last %d by default); exit once the history\n"
        "is printed, or with -f go on printing new records until interrupted.\n"
        "Lines: TIME SEQUENCE SUBJECT SEVERITY BODY (body bytes escaped).\n"
        "\n"
        "  -f, --follow             print new records as they come\n"
        "  --stream S               the stream (default %s)\n"
        "  --subject PATTERN        only subjects matching PATTERN (* one token,\n"
        "                           > the rest: log.*.zmx.error, app.>)\n"
        "  --from-start             start at the first record held\n"
        "  --seq N                  start at sequence N\n"
        "  --since DURATION         start at records of the last DURATION (10m, 2h)\n"
        "  --last N                 start with the last N records\n"
        "  --json                   one JSON object per record and line\n"
        "  --durable NAME           read as durable consumer NAME: resume where it\n"
        "                           stopped, acknowledging each record printed\n"
        "  -e, --endpoint ENDPOINT  streams service (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -t, --timeout MS         longest wait for the service (default %d)\n"
        "  --curve-cert FILE        use CURVE with this client certificate\n"
        "  --server-key KEY|FILE    the service's public key or certificate file\n",
        S_LAST, ZMX_CLI_STREAM_DEFAULT, ZMX_CLI_ENV_STREAMS, ZMX_CLI_STREAMS_DEFAULT,
        ZMX_CLI_TIMEOUT);
}

void
zmx_cli_log_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx log send [OPTIONS] [TEXT...]\n"
        "       zmx log tail [OPTIONS]\n"
        "\n"
        "Write records to a stream of zmxd's log service (send), or print them\n"
        "(tail). `zmx log VERB --help` shows one verb's options. The service\n"
        "endpoint defaults to $%s, else %s.\n"
        "Exit codes: 0 ok, 1 error (refused by the service), 2 usage (also a bad\n"
        "subject or pattern), 3 no answer in time, 5 bad key or certificate,\n"
        "6 the host name does not resolve.\n",
        ZMX_CLI_ENV_STREAMS, ZMX_CLI_STREAMS_DEFAULT);
}

//  -------------------------------------------------------------------------
//  Arguments

static void (*s_usage_of (s_verb_t verb)) (FILE *)
{
    return verb == S_SEND? s_usage_send: s_usage_tail;
}

//  A start option of tail. Returns S_CONTINUE or an exit code.
static int
s_start_option (s_log_t *self, int option, const char *value)
{
    self->starts++;
    if (option == ZMX_CLI_OPT_FROM_START) {
        self->from = ZMX_STREAM_FROM_FIRST;
        self->value = 0;
    }
    else
    if (option == ZMX_CLI_OPT_SEQ) {
        self->from = ZMX_STREAM_FROM_SEQUENCE;
        if (zmx_cli_parse_u64 (value, "--seq", &self->value))
            return ZMX_EXIT_USAGE;
    }
    else
    if (option == ZMX_CLI_OPT_LAST) {
        self->from = ZMX_STREAM_FROM_LAST;
        if (zmx_cli_parse_u64 (value, "--last", &self->value))
            return ZMX_EXIT_USAGE;
    }
    else {
        int64_t span;
        if (zmx_cli_parse_duration (value, "--since", &span))
            return ZMX_EXIT_USAGE;
        int64_t now = zclock_time () * 1000000LL;
        self->from = ZMX_STREAM_FROM_TIME;
        self->value = span < now? (uint64_t) (now - span): 0;
    }
    return S_CONTINUE;
}

//  One option of the verb. Returns S_CONTINUE or an exit code.
static int
s_option (s_log_t *self, int option, const char *value)
{
    int shared = zmx_cli_streams_option (&self->conn, option, value);
    if (shared != 0)
        return shared < 0? ZMX_EXIT_USAGE: S_CONTINUE;
    switch (option) {
        case 's':
            self->subject = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_LEVEL:
            self->severity = zmx_cli_severity_parse (value);
            if (self->severity < 0)
                return zmx_cli_usage_error (s_usage_send, "--level %s: use emerg, alert, "
                                            "crit, error, warning, notice, info, debug or "
                                            "0 to 7", value);
            return S_CONTINUE;
        case ZMX_CLI_OPT_ID:
            self->msg_id = value;
            return S_CONTINUE;
        case 'f':
            self->follow = true;
            return S_CONTINUE;
        case ZMX_CLI_OPT_SUBJECT:
            self->pattern = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_DURABLE:
            self->durable = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_FROM_START:
        case ZMX_CLI_OPT_SEQ:
        case ZMX_CLI_OPT_SINCE:
        case ZMX_CLI_OPT_LAST:
            return s_start_option (self, option, value);
        case ZMX_CLI_OPT_HELP:
            s_usage_of (self->verb) (stdout);
            return ZMX_EXIT_OK;
        default:
            s_usage_of (self->verb) (stderr);
            return ZMX_EXIT_USAGE;
    }
}

//  The arguments as a whole. Returns S_CONTINUE or 2.
static int
s_check (s_log_t *self)
{
    void (*usage) (FILE *) = s_usage_of (self->verb);
    if (zmx_cli_streams_check (&self->conn))
        return ZMX_EXIT_USAGE;
    if (self->verb == S_SEND) {
        if (self->subject && !zmx_subject_valid (self->subject, strlen (self->subject)))
            return zmx_cli_usage_error (usage, "-s '%s' is not a valid subject: use dotted "
                                        "tokens of printable ASCII without spaces, '*' or "
                                        "'>', e.g. app.db.error (docs/STREAMS.md)",
                                        self->subject);
        size_t id_max = ZMX_STREAM_MSG_ID_MAX - (self->text_count? 0: S_ID_SUFFIX);
        if (self->msg_id && (!*self->msg_id || strlen (self->msg_id) > id_max))
            return zmx_cli_usage_error (usage, "--id '%s' must be 1 to %zu bytes (%s)",
                                        self->msg_id, id_max, self->text_count?
                                        "the service's limit":
                                        "stdin lines add -N to it");
        return S_CONTINUE;
    }
    if (self->text_count)
        return zmx_cli_usage_error (usage, "unexpected argument '%s'", self->texts [0]);
    if (self->starts > 1)
        return zmx_cli_usage_error (usage, "give one start at most: --from-start, --seq, "
                                    "--since or --last");
    if (self->pattern && (strlen (self->pattern) > ZMX_STREAM_MSG_PATTERN_MAX
                          || !zmx_subject_pattern_valid (self->pattern)))
        return zmx_cli_usage_error (usage, "--subject '%s' is not a valid pattern: dotted "
                                    "tokens, '*' for one token, '>' last for the rest, "
                                    "e.g. log.*.zmx.error or app.>", self->pattern);
    if (self->durable && (!*self->durable
                          || strlen (self->durable) > ZMX_STREAM_MSG_DURABLE_MAX
                          || strspn (self->durable, "abcdefghijklmnopqrstuvwxyz"
                                     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
                             != strlen (self->durable)))
        return zmx_cli_usage_error (usage, "--durable '%s': use 1 to %d of A-Z a-z 0-9 "
                                    "_ . -", self->durable, ZMX_STREAM_MSG_DURABLE_MAX);
    return S_CONTINUE;
}

static int
s_parse (int argc, char *argv [], s_log_t *self)
{
    static const struct option send_options [] = {
        { "subject", required_argument, NULL, 's' },
        { "level", required_argument, NULL, ZMX_CLI_OPT_LEVEL },
        { "stream", required_argument, NULL, ZMX_CLI_OPT_STREAM },
        { "id", required_argument, NULL, ZMX_CLI_OPT_ID },
        { "endpoint", required_argument, NULL, 'e' },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "timeout", required_argument, NULL, 't' },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    static const struct option tail_options [] = {
        { "follow", no_argument, NULL, 'f' },
        { "stream", required_argument, NULL, ZMX_CLI_OPT_STREAM },
        { "subject", required_argument, NULL, ZMX_CLI_OPT_SUBJECT },
        { "from-start", no_argument, NULL, ZMX_CLI_OPT_FROM_START },
        { "seq", required_argument, NULL, ZMX_CLI_OPT_SEQ },
        { "since", required_argument, NULL, ZMX_CLI_OPT_SINCE },
        { "last", required_argument, NULL, ZMX_CLI_OPT_LAST },
        { "json", no_argument, NULL, ZMX_CLI_OPT_JSON },
        { "durable", required_argument, NULL, ZMX_CLI_OPT_DURABLE },
        { "endpoint", required_argument, NULL, 'e' },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "timeout", required_argument, NULL, 't' },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    //  send: TEXT may hold words that look like options after "--"; the
    //  leading '+' stops at the first TEXT word, so "zmx log send a -b"
    //  sends "a -b"
    const char *short_options = self->verb == S_SEND? "+s:e:t:h": "fe:t:h";
    const struct option *options = self->verb == S_SEND? send_options: tail_options;
    int option;
    while ((option = getopt_long (argc, argv, short_options, options, NULL)) != -1) {
        int rc = s_option (self, option, optarg);
        if (rc != S_CONTINUE)
            return rc;
    }
    self->texts = argv + optind;
    self->text_count = argc - optind;
    return s_check (self);
}

//  -------------------------------------------------------------------------
//  send

//  "log.HOST.zmx.LEVEL", HOST the short host name made a valid token
static char *
s_default_subject (int severity)
{
    char host [256] = "";
    if (gethostname (host, sizeof host - 1) != 0 || !*host)
        strcpy (host, "localhost");
    host [strcspn (host, ".")] = 0;
    for (char *at = host; *at; at++)
        if (*at < 0x21 || *at > 0x7e || *at == '*' || *at == '>')
            *at = '_';
    if (!*host)
        strcpy (host, "localhost");
    host [64] = 0;              //  Keeps the subject well inside 255 bytes
    return zsys_sprintf ("log.%s.zmx.%s", host, zmx_cli_severity_name (severity));
}

typedef struct {
    s_log_t *options;
    zmx_stream_t *client;
    const char *subject;
    zmx_stream_header_t severity;   //  The one header of every record
    char level [2];                 //  Its value
    uint64_t sent;                  //  Records appended
} s_sender_t;

//  Append one record. Returns ZMX_OK or the error.
static int
s_append (s_sender_t *sender, const char *body, size_t size)
{
    char id [ZMX_STREAM_MSG_ID_MAX + 1] = "";
    const char *msg_id = sender->options->msg_id;
    if (msg_id && sender->options->text_count)
        snprintf (id, sizeof id, "%s", msg_id);
    else
    if (msg_id)
        snprintf (id, sizeof id, "%s-%" PRIu64, msg_id, sender->sent + 1);
    int rc = zmx_stream_append (sender->client, sender->options->conn.stream, sender->subject,
                                &sender->severity, 1, body, size, *id? id: NULL, strlen (id),
                                NULL);
    if (rc == ZMX_OK)
        sender->sent++;
    return rc;
}

//  Append each line of `buffer` (used bytes) that is complete, or all of
//  it at `end`; moves what is left to the front. Returns ZMX_OK or the
//  error.
static int
s_append_lines (s_sender_t *sender, char *buffer, size_t *used_p, bool end)
{
    size_t start = 0;
    int rc = ZMX_OK;
    while (rc == ZMX_OK && start < *used_p) {
        char *newline = (char *) memchr (buffer + start, '\n', *used_p - start);
        if (!newline && !end)
            break;
        size_t size = newline? (size_t) (newline - buffer) - start: *used_p - start;
        size_t text = size > 0 && buffer [start + size - 1] == '\r'? size - 1: size;
        if (text > 0)
            rc = s_append (sender, buffer + start, text);
        start += size + (newline? 1: 0);
    }
    memmove (buffer, buffer + start, *used_p - start);
    *used_p -= start;
    return rc;
}

//  Read stdin to its end, one record per line. While stdin is quiet,
//  sends what is batched and lets the client do its heartbeats, so that
//  a slow pipe (tail -F app.log | zmx log send) logs as it goes.
static int
s_send_stdin (s_sender_t *sender)
{
    size_t size = S_READ_SIZE * 2, used = 0;
    char *buffer = (char *) malloc (size);
    int rc = ZMX_OK;
    while (rc == ZMX_OK && !zsys_interrupted) {
        struct pollfd input = { .fd = STDIN_FILENO, .events = POLLIN };
        int ready = poll (&input, 1, S_IDLE_MSEC);
        if (ready <= 0) {
            zmx_stream_event_t event;
            zmx_stream_flush (sender->client);
            int turn = zmx_stream_next (sender->client, &event, 0);
            if (turn != ZMX_OK && turn != ZMX_ETIMEDOUT)
                rc = turn;
            continue;
        }
        if (size - used < S_READ_SIZE && size < S_LINE_MAX + S_READ_SIZE) {
            size *= 2;
            buffer = (char *) realloc (buffer, size);
        }
        if (size - used == 0) {
            fprintf (stderr, "zmx: line %" PRIu64 " of stdin is over %d bytes, the largest "
                     "record: split it\n", sender->sent + 1, S_LINE_MAX);
            free (buffer);
            return ZMX_EXIT_USAGE;
        }
        ssize_t bytes = read (STDIN_FILENO, buffer + used, size - used);
        if (bytes < 0 && errno == EINTR)
            continue;
        if (bytes <= 0) {
            rc = s_append_lines (sender, buffer, &used, true);
            break;
        }
        used += (size_t) bytes;
        rc = s_append_lines (sender, buffer, &used, false);
    }
    free (buffer);
    if (rc == ZMX_OK && zsys_interrupted)
        rc = ZMX_ETERM;
    return rc == ZMX_OK? ZMX_EXIT_OK:
           zmx_cli_streams_failed (sender->client, &sender->options->conn, rc,
                                   "cannot send the lines of stdin");
}

static int
s_send (s_log_t *self, zmx_stream_t *client)
{
    char *subject = self->subject? strdup (self->subject): s_default_subject (self->severity);
    s_sender_t sender = { .options = self, .client = client, .subject = subject };
    sender.level [0] = (char) ('0' + self->severity);
    sender.severity = (zmx_stream_header_t) { "severity", 8, sender.level, 1 };
    int rc = ZMX_EXIT_OK;
    if (self->text_count) {
        char *text = strdup (self->texts [0]);
        for (int index = 1; index < self->text_count; index++) {
            char *longer = zsys_sprintf ("%s %s", text, self->texts [index]);
            free (text);
            text = longer;
        }
        int appended = s_append (&sender, text, strlen (text));
        free (text);
        if (appended != ZMX_OK)
            rc = zmx_cli_streams_failed (client, &self->conn, appended, "cannot send");
    }
    else
        rc = s_send_stdin (&sender);
    //  Whatever was appended is waited for, also after an error
    if (sender.sent > 0) {
        int synced = zmx_stream_sync (client, self->conn.timeout);
        uint64_t durable = zmx_stream_acknowledged (client);
        if (synced != ZMX_OK && rc == ZMX_EXIT_OK) {
            char *what = zsys_sprintf ("%" PRIu64 " of %" PRIu64 " records acknowledged",
                                       durable, sender.sent);
            rc = zmx_cli_streams_failed (client, &self->conn, synced, what);
            free (what);
        }
    }
    free (subject);
    return rc;
}

//  -------------------------------------------------------------------------
//  tail

static void
s_print_record (const s_log_t *self, const zmx_stream_event_t *event)
{
    if (self->conn.json) {
        zmx_cli_record_json (stdout, event);
        return;
    }
    char time [64];
    zmx_cli_format_time (event->record.time_ns, ' ', time, sizeof time);
    printf ("%s %" PRIu64 " ", time, event->record.sequence);
    zmx_cli_print_escaped (stdout, event->record.subject, event->record.subject_size);
    printf (" %s ", zmx_cli_severity_name (zmx_cli_record_severity (event)));
    zmx_cli_print_escaped (stdout, event->record.body, event->record.body_size);
    putchar ('\n');
}

//  A durable consumer's acknowledgements, and its release, must reach the
//  service before we go (the client's socket does not linger), or it
//  gives the same records again and refuses the consumer to the next run
//  until it forgets this client. Nothing answers an ACK; a STREAMS request
//  sent after them on the same connection is answered after they were
//  handled, so its answer is the proof. After SIGINT or SIGTERM the
//  client would stop at once: the flag is cleared for this last exchange.
static void
s_durable_release (s_log_t *self, zmx_stream_t *client)
{
    zsys_interrupted = 0;
    zmx_stream_unsubscribe (client, S_SUBSCRIPTION);
    zmx_stream_info_t *infos = NULL;
    size_t count = 0;
    if (zmx_stream_list (client, &infos, &count, self->conn.timeout) != ZMX_OK)
        fprintf (stderr, "zmx: the service did not confirm the acknowledgements of durable "
                 "consumer %s within %d ms: the last records may come again\n",
                 self->durable, self->conn.timeout);
    free (infos);
}

static int
s_tail (s_log_t *self, zmx_stream_t *client)
{
    if (self->starts == 0) {
        self->from = ZMX_STREAM_FROM_LAST;
        self->value = S_LAST;
    }
    int rc = zmx_stream_subscribe (client, S_SUBSCRIPTION, self->conn.stream, self->pattern,
                                   self->from, self->value, self->durable);
    if (rc != ZMX_OK)
        return zmx_cli_streams_failed (client, &self->conn, rc, "cannot subscribe");
    bool live = false;
    while (true) {
        zmx_stream_event_t event;
        rc = zmx_stream_next (client, &event, live? S_FOLLOW_MSEC: self->conn.timeout);
        if (rc == ZMX_ETERM || zsys_interrupted) {
            rc = self->follow? ZMX_OK: ZMX_ETERM;
            break;
        }
        if (rc == ZMX_ETIMEDOUT && live)
            continue;           //  Following: the client reconnects by itself
        if (rc != ZMX_OK)
            break;              //  History stalled for -t: the service is gone
        if (event.type == ZMX_STREAM_EVENT_RECORD) {
            s_print_record (self, &event);
            if (self->durable)
                zmx_stream_ack (client, S_SUBSCRIPTION, event.record.sequence);
        }
        else
        if (event.type == ZMX_STREAM_EVENT_LIVE) {
            live = true;
            fflush (stdout);
            if (!self->follow)
                break;
        }
        else
        if (event.type == ZMX_STREAM_EVENT_DROPPED)
            fprintf (stderr, "zmx: records from %" PRIu64 " were dropped (retention or "
                     "purge) before they were read; going on at %" PRIu64 "\n", event.sequence,
                     event.first);
    }
    if (self->durable && (rc == ZMX_OK || rc == ZMX_ETERM))
        s_durable_release (self, client);
    if (fflush (stdout) != 0 || ferror (stdout)) {
        fprintf (stderr, "zmx: cannot write the records: %s\n", strerror (errno));
        return ZMX_EXIT_ERROR;
    }
    return rc == ZMX_OK? ZMX_EXIT_OK:
           zmx_cli_streams_failed (client, &self->conn, rc, live? "the subscription failed":
                                   "no history came");
}

int
zmx_cli_log (int argc, char *argv [])
{
    if (argc < 2)
        return zmx_cli_usage_error (zmx_cli_log_usage, "log needs a verb: send or tail");
    const char *verb = argv [1];
    if (streq (verb, "--help") || streq (verb, "-h")) {
        zmx_cli_log_usage (stdout);
        return ZMX_EXIT_OK;
    }
    s_log_t self = { .severity = S_LEVEL };
    if (streq (verb, "send"))
        self.verb = S_SEND;
    else
    if (streq (verb, "tail"))
        self.verb = S_TAIL;
    else
        return zmx_cli_usage_error (zmx_cli_log_usage, "unknown verb '%s': use send or tail",
                                    verb);
    zmx_cli_streams_init (&self.conn);
    //  getopt prefixes its messages with argv [0]: make it "zmx log VERB"
    char name [64];
    snprintf (name, sizeof name, "zmx log %s", verb);
    argv [1] = name;
    int rc = s_parse (argc - 1, argv + 1, &self);
    if (rc != S_CONTINUE)
        return rc;
    zsys_init ();               //  Installs the SIGINT/SIGTERM handler
    zmx_stream_t *client = zmx_cli_streams_open (&self.conn, &rc);
    if (!client)
        return rc;
    rc = self.verb == S_SEND? s_send (&self, client): s_tail (&self, client);
    zmx_stream_destroy (&client);
    return rc;
}
