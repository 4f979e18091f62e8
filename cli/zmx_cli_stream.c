/*  =========================================================================
    zmx_cli_stream - what `zmx log`, `zmx streams` and `zmx console` share

    The connection options (-e, --zmxd, -t, CURVE, --stream, --json), one
    mapping of zmx_stream errors to messages and exit codes, severities
    (RFC 5424 numbers, as the log service's `severity` header holds them:
    src/streams/zmx_log_ingest.h), durations, and how a record is printed:
    its body escaped so that no byte of it can drive the terminal.
    =========================================================================
*/
#include "zmx_cli.h"
#include "zmx_layout.h"
#include <errno.h>
#include <time.h>

//  Severity names as printed, RFC 5424 order, and the other names read
static const char *s_severity_names [8] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"
};
static const struct {
    const char *name;
    int severity;
} s_severity_aliases [] = {
    { "emergency", 0 }, { "panic", 0 }, { "critical", 2 }, { "err", 3 },
    { "warn", 4 }, { "informational", 6 },
};

void
zmx_cli_streams_init (zmx_cli_streams_t *self)
{
    const char *endpoint = getenv (ZMX_CLI_ENV_STREAMS);
    self->endpoint = endpoint && *endpoint? endpoint: ZMX_CLI_STREAMS_DEFAULT;
    self->timeout = ZMX_CLI_TIMEOUT;
    self->curve_cert = NULL;
    self->server_key = NULL;
    self->stream = ZMX_CLI_STREAM_DEFAULT;
    self->endpoint_given = false;
    self->json = false;
}

int
zmx_cli_streams_option (zmx_cli_streams_t *self, int option, const char *value)
{
    switch (option) {
        case 'e':
            self->endpoint = value;
            self->endpoint_given = true;
            return 1;
        case ZMX_CLI_OPT_ZMXD:
            return zmx_cli_zmxd_option (value, ZMX_LAYOUT_LOG_STREAMS, &self->endpoint,
                                        self->endpoint_given);
        case 't':
            return zmx_cli_parse_int (value, "-t", 1, 3600000, &self->timeout)? -1: 1;
        case ZMX_CLI_OPT_CURVE_CERT:
            self->curve_cert = value;
            return 1;
        case ZMX_CLI_OPT_SERVER_KEY:
            self->server_key = value;
            return 1;
        case ZMX_CLI_OPT_STREAM:
            self->stream = value;
            return zmx_cli_stream_name_ok (value, "--stream")? 1: -1;
        case ZMX_CLI_OPT_JSON:
            self->json = true;
            return 1;
        default:
            return 0;
    }
}

int
zmx_cli_streams_check (const zmx_cli_streams_t *self)
{
    if (!self->curve_cert != !self->server_key) {
        fprintf (stderr, "zmx: --curve-cert and --server-key go together: give both "
                         "to use CURVE, or neither\n");
        return -1;
    }
    if (!*self->endpoint) {
        fprintf (stderr, "zmx: the streams endpoint is empty: pass -e or set $%s\n",
                 ZMX_CLI_ENV_STREAMS);
        return -1;
    }
    return 0;
}

bool
zmx_cli_stream_name_ok (const char *name, const char *option)
{
    size_t size = strlen (name);
    bool valid = size >= 1 && size <= ZMX_STREAM_NAME_MAX && name [0] != '.'
              && !streq (name, "lock")
              && strspn (name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                               "0123456789_.-") == size;
    if (!valid)
        fprintf (stderr, "zmx: %s '%s' is not a stream name: use 1 to %d of A-Z a-z 0-9 "
                 "_ . - (not starting with '.', not \"lock\"), e.g. log\n", option, name,
                 ZMX_STREAM_NAME_MAX);
    return valid;
}

zmx_stream_t *
zmx_cli_streams_open (const zmx_cli_streams_t *self, int *exit_p)
{
    char *endpoints = zmx_cli_resolve (self->endpoint, self->timeout, exit_p);
    if (!endpoints)
        return NULL;
    zmx_stream_t *client = zmx_stream_new (endpoints);
    zstr_free (&endpoints);
    if (!client) {
        fprintf (stderr, "zmx: bad streams endpoint '%s': use e.g. %s\n", self->endpoint,
                 ZMX_CLI_STREAMS_DEFAULT);
        *exit_p = ZMX_EXIT_USAGE;
        return NULL;
    }
    //  -t bounds the wait for a subscription and for room in the window
    zmx_stream_set_timeout (client, self->timeout);
    if (self->curve_cert
    &&  zmx_stream_set_curve (client, self->curve_cert, self->server_key) != ZMX_OK) {
        fprintf (stderr, "zmx: cannot use CURVE with certificate '%s' and server key '%s' "
                         "(reason above): check both, or create a certificate with "
                         "zmx keygen\n", self->curve_cert, self->server_key);
        zmx_stream_destroy (&client);
        *exit_p = ZMX_EXIT_SECURITY;
        return NULL;
    }
    *exit_p = ZMX_EXIT_OK;
    return client;
}

int
zmx_cli_streams_failed (zmx_stream_t *client, const zmx_cli_streams_t *self, int rc,
                        const char *what)
{
    const char *reason = client? zmx_stream_error (client): "";
    switch (rc) {
        case ZMX_ETIMEDOUT:
            fprintf (stderr, "zmx: %s: no answer from %s within %d ms: is zmxd running there "
                     "with the log service (make run; -e, --zmxd or $%s name another)? %s\n",
                     what, self->endpoint, self->timeout, ZMX_CLI_ENV_STREAMS,
                     self->curve_cert? "Or the server may be refusing this client's key: "
                                       "check --curve-cert and --server-key (its log says "
                                       "\"refused a client\")":
                                       "If it requires CURVE (security/curve = 1), pass "
                                       "--curve-cert and --server-key");
            return ZMX_EXIT_TIMEOUT;
        case ZMX_ESECURITY:
            fprintf (stderr, "zmx: %s: security error talking to %s: check --curve-cert "
                     "and --server-key\n", what, self->endpoint);
            return ZMX_EXIT_SECURITY;
        case ZMX_ETERM:
            fprintf (stderr, "zmx: %s: interrupted\n", what);
            return ZMX_EXIT_ERROR;
        case ZMX_ENOMEM:
            fprintf (stderr, "zmx: %s: the service at %s refused it: a limit was reached%s%s "
                     "(see its log section's limits in zmxd.cfg(5))\n", what, self->endpoint,
                     *reason? ": ": "", reason);
            return ZMX_EXIT_ERROR;
        case ZMX_EIO:
            fprintf (stderr, "zmx: %s: the service at %s could not read or write its store%s%s "
                     "(its log says why)\n", what, self->endpoint, *reason? ": ": "", reason);
            return ZMX_EXIT_ERROR;
        default:
            if (*reason)
                fprintf (stderr, "zmx: %s: the service at %s refused it: %s\n", what,
                         self->endpoint, reason);
            else
                fprintf (stderr, "zmx: %s: %s\n", what, zmx_strerror (rc));
            return ZMX_EXIT_ERROR;
    }
}

//  -------------------------------------------------------------------------
//  Severities

int
zmx_cli_severity_parse (const char *text)
{
    if (text [0] >= '0' && text [0] <= '7' && text [1] == 0)
        return text [0] - '0';
    for (int severity = 0; severity < 8; severity++)
        if (strcasecmp (text, s_severity_names [severity]) == 0)
            return severity;
    for (size_t index = 0; index < sizeof s_severity_aliases / sizeof s_severity_aliases [0];
         index++)
        if (strcasecmp (text, s_severity_aliases [index].name) == 0)
            return s_severity_aliases [index].severity;
    return -1;
}

const char *
zmx_cli_severity_name (int severity)
{
    return severity >= 0 && severity < 8? s_severity_names [severity]: "-";
}

//  The severity a level name of `size` bytes stands for, or -1.
static int
s_severity_of_token (const char *token, size_t size)
{
    char name [16];
    if (size == 0 || size >= sizeof name || (size == 1 && isdigit ((unsigned char) *token)))
        return -1;              //  A subject ending in ".3" is not a level
    memcpy (name, token, size);
    name [size] = 0;
    return zmx_cli_severity_parse (name);
}

int
zmx_cli_record_severity (const zmx_stream_event_t *event)
{
    zmx_stream_header_t header;
    for (size_t index = 0; zmx_stream_event_header (event, index, &header); index++)
        if (header.name_size == 8 && memcmp (header.name, "severity", 8) == 0) {
            if (header.value_size == 1 && *(const char *) header.value >= '0'
            &&  *(const char *) header.value <= '7')
                return *(const char *) header.value - '0';
            break;
        }
    const char *subject = event->record.subject;
    size_t size = event->record.subject_size;
    const char *token = subject + size;
    while (token > subject && token [-1] != '.')
        token--;
    return s_severity_of_token (token, size - (size_t) (token - subject));
}

//  -------------------------------------------------------------------------
//  Numbers and durations

int
zmx_cli_parse_duration (const char *text, const char *option, int64_t *ns_p)
{
    static const struct {
        const char *unit;
        int64_t ns;
    } units [] = {
        { "", 1000000000LL }, { "s", 1000000000LL }, { "ms", 1000000LL },
        { "m", 60000000000LL }, { "h", 3600000000000LL }, { "d", 86400000000000LL },
    };
    char *end;
    errno = 0;
    long long number = strtoll (text, &end, 10);
    if (!errno && end != text && isdigit ((unsigned char) *text) && number > 0)
        for (size_t index = 0; index < sizeof units / sizeof units [0]; index++)
            if (streq (end, units [index].unit) && number <= INT64_MAX / units [index].ns) {
                *ns_p = number * units [index].ns;
                return 0;
            }
    fprintf (stderr, "zmx: %s %s: expected a duration such as 30s, 10m, 2h or 1d "
             "(ms, s, m, h, d; a bare number is seconds)\n", option, text);
    return -1;
}

int
zmx_cli_parse_u64 (const char *text, const char *option, uint64_t *value_p)
{
    char *end;
    errno = 0;
    unsigned long long number = strtoull (text, &end, 10);
    if (errno || end == text || *end || !isdigit ((unsigned char) *text) || number == 0) {
        fprintf (stderr, "zmx: %s %s: expected a whole number of 1 or more\n", option, text);
        return -1;
    }
    *value_p = number;
    return 0;
}

//  -------------------------------------------------------------------------
//  Printing records

void
zmx_cli_print_escaped (FILE *stream, const void *data, size_t size)
{
    const unsigned char *bytes = (const unsigned char *) data;
    for (size_t index = 0; index < size; index++) {
        unsigned char byte = bytes [index];
        if (byte >= 0x20 && byte < 0x7F && byte != '\\')
            fputc (byte, stream);
        else
        if (byte == '\\')
            fputs ("\\\\", stream);
        else
        if (byte == '\n' || byte == '\r' || byte == '\t')
            fprintf (stream, "\\%c", byte == '\n'? 'n': byte == '\r'? 'r': 't');
        else {
            //  Valid UTF-8 passes, but not the C1 controls (U+0080 to
            //  U+009F): some terminals act on them as on ESC sequences
            size_t length = byte >= 0x80? zmx_cli_utf8_length (bytes + index, size - index): 0;
            if (length && !(byte == 0xC2 && bytes [index + 1] < 0xA0)) {
                fwrite (bytes + index, 1, length, stream);
                index += length - 1;
            }
            else
                fprintf (stream, "\\x%02x", byte);
        }
    }
}

void
zmx_cli_format_time (int64_t time_ns, char separator, char *buffer, size_t size)
{
    time_t seconds = (time_t) (time_ns / 1000000000LL);
    struct tm local;
    if (time_ns <= 0 || !localtime_r (&seconds, &local)) {
        snprintf (buffer, size, "-");
        return;
    }
    char date [16], clock [16];
    strftime (date, sizeof date, "%Y-%m-%d", &local);
    strftime (clock, sizeof clock, "%H:%M:%S", &local);
    snprintf (buffer, size, "%s%c%s.%03d", date, separator, clock,
              (int) (time_ns % 1000000000LL / 1000000));
}

void
zmx_cli_record_json (FILE *stream, const zmx_stream_event_t *event)
{
    const zmx_stream_record_t *record = &event->record;
    char time [64];
    zmx_cli_format_time (record->time_ns, 'T', time, sizeof time);
    zmx_cli_json_t *writer = zmx_cli_json_new (stream);
    zmx_cli_json_open (writer, '{');
    zmx_cli_json_pair_number (writer, "sequence", (int64_t) record->sequence);
    zmx_cli_json_pair (writer, "time", time);
    zmx_cli_json_pair_number (writer, "time_ns", record->time_ns);
    zmx_cli_json_key (writer, "subject");
    zmx_cli_json_bytes (writer, record->subject, record->subject_size);
    int severity = zmx_cli_record_severity (event);
    if (severity >= 0) {
        zmx_cli_json_pair_number (writer, "severity", severity);
        zmx_cli_json_pair (writer, "level", zmx_cli_severity_name (severity));
    }
    zmx_cli_json_key (writer, "headers");
    zmx_cli_json_open (writer, '{');
    zmx_stream_header_t header;
    for (size_t index = 0; zmx_stream_event_header (event, index, &header); index++) {
        char name [ZMX_STREAM_HEADER_NAME_MAX + 1];
        size_t name_size = header.name_size < sizeof name? header.name_size: sizeof name - 1;
        memcpy (name, header.name, name_size);
        name [name_size] = 0;
        zmx_cli_json_key (writer, name);
        zmx_cli_json_bytes (writer, header.value, header.value_size);
    }
    zmx_cli_json_close (writer, '}');
    zmx_cli_json_key (writer, "body");
    zmx_cli_json_bytes (writer, record->body, record->body_size);
    zmx_cli_json_close (writer, '}');
    zmx_cli_json_destroy (&writer);
}
