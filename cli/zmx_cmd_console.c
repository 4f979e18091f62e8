/*  =========================================================================
    zmx console - a live error console over zmxd's log stream

        zmx console [--stream S] [--level L] [--subject PATTERN]
                    [--grep TEXT] [--since 1h]

    Subscribes from --since ago (default an hour) so that an operator who
    opens it sees the last errors first, then follows. Shows the records
    at or above --level (default warning) whose subject matches PATTERN
    (filtered by the service) and whose subject or body holds TEXT
    (filtered here), coloured by severity when stdout is a terminal and
    NO_COLOR is not set. A header line with the counts per level and the
    rate comes once the history is shown, then every few seconds when
    something new was shown.
    =========================================================================
*/
#include "zmx_cli.h"
#include <unistd.h>

#define S_CONTINUE      -1              //  s_parse: arguments fine, go on
#define S_LEVEL         4               //  Default: warning and above
#define S_SINCE_NS      (3600LL * 1000000000LL)     //  Default --since: 1h
#define S_HEADER_MSEC   5000            //  Header at most this often once live
#define S_WAIT_MSEC     1000            //  Longest wait between signal checks
#define S_SUBSCRIPTION  1
#define S_UNKNOWN_LEVEL 6               //  A record without a severity counts as info

//  Terminal colours by severity (SGR), and the header's
static const char *s_colors [8] = {
    "\033[1;31m", "\033[1;31m", "\033[1;31m", "\033[31m",
    "\033[33m", "\033[36m", "", "\033[2m"
};
#define S_COLOR_HEADER  "\033[1;7m"
#define S_COLOR_RESET   "\033[0m"

typedef struct {
    zmx_cli_streams_t conn;     //  -e, --zmxd, -t, CURVE, --stream
    int level;                  //  --level: this severity and lower numbers
    const char *pattern;        //  --subject, or NULL
    const char *grep;           //  --grep, or NULL
    int64_t since_ns;           //  --since
    bool color;                 //  A terminal, and no NO_COLOR
    uint64_t counts [8];        //  Records shown, per severity
    uint64_t shown;             //  Records shown in all
    uint64_t shown_before;      //  ... when the last header was printed
    int64_t header_at;          //  zclock_mono of the last header
    bool changed;               //  Something was shown since the last header
} s_console_t;

void
zmx_cli_console_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx console [--stream S] [--level L] [--subject PATTERN] [--grep TEXT]\n"
        "                   [--since DURATION] [-e ENDPOINT] [-t MS]\n"
        "                   [--curve-cert FILE --server-key KEY|FILE]\n"
        "\n"
        "Show the errors of a whole deployment as they reach zmxd's log: first\n"
        "those of the last hour, then new ones, until interrupted. Coloured by\n"
        "severity on a terminal (not when piped, nor with NO_COLOR set); a header\n"
        "line gives the count per level and the rate.\n"
        "\n"
        "  --stream S               the stream (default %s)\n"
        "  --level L                show L and more severe: emerg, alert, crit,\n"
        "                           error, warning, notice, info, debug, or 0-7\n"
        "                           (default warning)\n"
        "  --subject PATTERN        only subjects matching PATTERN (log.web1.>)\n"
        "  --grep TEXT              only records whose subject or body holds TEXT\n"
        "  --since DURATION         start with the records of the last DURATION\n"
        "                           (default 1h; 30s, 10m, 2h, 1d)\n"
        "  -e, --endpoint ENDPOINT  streams service (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -t, --timeout MS         longest wait for the service (default %d)\n"
        "  --curve-cert FILE        use CURVE with this client certificate\n"
        "  --server-key KEY|FILE    the service's public key or certificate file\n"
        "\n"
        "Exit codes: 0 interrupted (SIGINT, SIGTERM), 1 error, 2 usage, 3 no answer\n"
        "within -t, 5 bad key or certificate, 6 the host name does not resolve.\n",
        ZMX_CLI_STREAM_DEFAULT, ZMX_CLI_ENV_STREAMS, ZMX_CLI_STREAMS_DEFAULT,
        ZMX_CLI_TIMEOUT);
}

static int
s_option (s_console_t *self, int option, const char *value)
{
    int shared = zmx_cli_streams_option (&self->conn, option, value);
    if (shared != 0)
        return shared < 0? ZMX_EXIT_USAGE: S_CONTINUE;
    switch (option) {
        case ZMX_CLI_OPT_LEVEL:
            self->level = zmx_cli_severity_parse (value);
            if (self->level < 0)
                return zmx_cli_usage_error (zmx_cli_console_usage, "--level %s: use emerg, "
                                            "alert, crit, error, warning, notice, info, "
                                            "debug or 0 to 7", value);
            return S_CONTINUE;
        case ZMX_CLI_OPT_SUBJECT:
            self->pattern = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_GREP:
            self->grep = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_SINCE:
            return zmx_cli_parse_duration (value, "--since", &self->since_ns)?
                   ZMX_EXIT_USAGE: S_CONTINUE;
        case ZMX_CLI_OPT_HELP:
            zmx_cli_console_usage (stdout);
            return ZMX_EXIT_OK;
        default:
            zmx_cli_console_usage (stderr);
            return ZMX_EXIT_USAGE;
    }
}

static int
s_parse (int argc, char *argv [], s_console_t *self)
{
    static const struct option longopts [] = {
        { "stream", required_argument, NULL, ZMX_CLI_OPT_STREAM },
        { "level", required_argument, NULL, ZMX_CLI_OPT_LEVEL },
        { "subject", required_argument, NULL, ZMX_CLI_OPT_SUBJECT },
        { "grep", required_argument, NULL, ZMX_CLI_OPT_GREP },
        { "since", required_argument, NULL, ZMX_CLI_OPT_SINCE },
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
        int rc = s_option (self, option, optarg);
        if (rc != S_CONTINUE)
            return rc;
    }
    if (optind < argc)
        return zmx_cli_usage_error (zmx_cli_console_usage, "unexpected argument '%s'",
                                    argv [optind]);
    if (self->pattern && (strlen (self->pattern) > ZMX_STREAM_MSG_PATTERN_MAX
                          || !zmx_subject_pattern_valid (self->pattern)))
        return zmx_cli_usage_error (zmx_cli_console_usage, "--subject '%s' is not a valid "
                                    "pattern: dotted tokens, '*' for one token, '>' last "
                                    "for the rest, e.g. log.*.zmx.error or app.>",
                                    self->pattern);
    if (self->grep && !*self->grep)
        return zmx_cli_usage_error (zmx_cli_console_usage, "--grep needs a TEXT to look for");
    return zmx_cli_streams_check (&self->conn)? ZMX_EXIT_USAGE: S_CONTINUE;
}

//  True if `size` bytes at `data` hold the string `text`.
static bool
s_holds (const void *data, size_t size, const char *text)
{
    size_t length = strlen (text);
    const char *bytes = (const char *) data;
    for (size_t at = 0; length <= size && at <= size - length; at++)
        if (bytes [at] == text [0] && memcmp (bytes + at, text, length) == 0)
            return true;
    return false;
}

//  The header: counts of each level shown, and the rate since the last
//  header (or over --since for the first)
static void
s_header (s_console_t *self, bool first)
{
    int64_t now = zclock_mono ();
    double seconds = first? (double) self->since_ns / 1e9
                          : (double) (now - self->header_at) / 1e3;
    double rate = seconds > 0? (double) (self->shown - self->shown_before) / seconds: 0;
    if (self->color)
        fputs (S_COLOR_HEADER, stdout);
    printf ("-- %s, %s and above:", self->conn.stream, zmx_cli_severity_name (self->level));
    for (int severity = 0; severity <= self->level; severity++)
        printf (" %s %" PRIu64, zmx_cli_severity_name (severity), self->counts [severity]);
    //  Errors come a few a minute, floods by the thousand a second
    if (rate >= 1)
        printf (" | %.1f/s --", rate);
    else
        printf (" | %.2f/min --", rate * 60);
    if (self->color)
        fputs (S_COLOR_RESET, stdout);
    putchar ('\n');
    fflush (stdout);
    self->header_at = now;
    self->shown_before = self->shown;
    self->changed = false;
}

//  Show one record if it passes the filters
static void
s_record (s_console_t *self, const zmx_stream_event_t *event)
{
    int severity = zmx_cli_record_severity (event);
    if (severity < 0)
        severity = S_UNKNOWN_LEVEL;
    const zmx_stream_record_t *record = &event->record;
    if (severity > self->level)
        return;
    if (self->grep && !s_holds (record->subject, record->subject_size, self->grep)
    &&  !s_holds (record->body, record->body_size, self->grep))
        return;
    char time [64], level [16];
    zmx_cli_format_time (record->time_ns, ' ', time, sizeof time);
    snprintf (level, sizeof level, "%s", zmx_cli_severity_name (severity));
    for (char *at = level; *at; at++)
        *at = (char) toupper ((unsigned char) *at);
    if (self->color)
        fputs (s_colors [severity], stdout);
    printf ("%s %-7s ", time, level);
    zmx_cli_print_escaped (stdout, record->subject, record->subject_size);
    putchar (' ');
    zmx_cli_print_escaped (stdout, record->body, record->body_size);
    if (self->color && *s_colors [severity])
        fputs (S_COLOR_RESET, stdout);
    putchar ('\n');
    self->counts [severity]++;
    self->shown++;
    self->changed = true;
}

//  Follow the stream until interrupted. Returns ZMX_OK or the error.
static int
s_follow (s_console_t *self, zmx_stream_t *client)
{
    bool live = false;
    while (true) {
        int wait = S_WAIT_MSEC;
        if (!live)
            wait = self->conn.timeout;
        zmx_stream_event_t event;
        int rc = zmx_stream_next (client, &event, wait);
        if (rc == ZMX_ETERM || zsys_interrupted)
            return ZMX_OK;
        if (rc == ZMX_ETIMEDOUT && !live)
            return rc;          //  History stalled for -t: the service is gone
        if (rc == ZMX_OK && event.type == ZMX_STREAM_EVENT_RECORD)
            s_record (self, &event);
        else
        if (rc == ZMX_OK && event.type == ZMX_STREAM_EVENT_LIVE && !live) {
            live = true;
            s_header (self, true);
        }
        else
        if (rc == ZMX_OK && event.type == ZMX_STREAM_EVENT_DROPPED)
            fprintf (stderr, "zmx: records from %" PRIu64 " were dropped (retention or "
                     "purge) before they were shown; going on at %" PRIu64 "\n", event.sequence,
                     event.first);
        if (live && self->changed && zclock_mono () - self->header_at >= S_HEADER_MSEC)
            s_header (self, false);
    }
}

int
zmx_cli_console (int argc, char *argv [])
{
    s_console_t self = { .level = S_LEVEL, .since_ns = S_SINCE_NS };
    zmx_cli_streams_init (&self.conn);
    int rc = s_parse (argc, argv, &self);
    if (rc != S_CONTINUE)
        return rc;
    const char *no_color = getenv ("NO_COLOR");
    self.color = isatty (STDOUT_FILENO) && !(no_color && *no_color);
    zsys_init ();               //  Installs the SIGINT/SIGTERM handler
    zmx_stream_t *client = zmx_cli_streams_open (&self.conn, &rc);
    if (!client)
        return rc;
    int64_t now = zclock_time () * 1000000LL;
    uint64_t start = self.since_ns < now? (uint64_t) (now - self.since_ns): 0;
    rc = zmx_stream_subscribe (client, S_SUBSCRIPTION, self.conn.stream, self.pattern,
                               ZMX_STREAM_FROM_TIME, start, NULL);
    if (rc == ZMX_OK)
        rc = s_follow (&self, client);
    if (rc != ZMX_OK)
        rc = zmx_cli_streams_failed (client, &self.conn, rc, "cannot follow the stream");
    zmx_stream_destroy (&client);
    return rc;
}
