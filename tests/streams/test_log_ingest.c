/*  =========================================================================
    test_log_ingest - the log service's ingest paths: the parsers
    (zmx_log_parse) on the RFCs' own examples and on edge cases, then the
    ingest object (zmx_log_ingest) in this process, appending into a real
    stream store in a temp directory, fed by the real `logger` command
    (RFC 3164 and RFC 5424), by a CZMQ program logging through
    ZSYS_LOGSENDER, by a plain libzmq PUB, and by garbage that must be
    counted and dropped while good traffic goes on.
    =========================================================================
*/
#include "testing.h"
#include "streams/zmx_log_ingest.h"
#include "streams/zmx_log_parse.h"
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>

#define S_STREAM        "log"
#define S_WAIT_MS       5000

//  -------------------------------------------------------------------------
//  Parser helpers

static bool
s_text_is (zmx__log_text_t text, const char *expected)
{
    if (!expected)
        return text.data == NULL;
    return text.data && text.size == strlen (expected)
        && memcmp (text.data, expected, text.size) == 0;
}

static zmx__syslog_t
s_parse (const char *datagram)
{
    zmx__syslog_t message;
    ZMX_CHECK (zmx__syslog_parse (datagram, strlen (datagram), &message) == 0);
    return message;
}

//  -------------------------------------------------------------------------
//  Parsers

//  RFC 5424 section 6.5, examples 1 to 4, and the grammar's corners
static void
s_rfc5424_examples (void)
{
    zmx__syslog_t message = s_parse ("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - "
                                     "ID47 - \xEF\xBB\xBF'su root' failed for lonvick on /dev/pts/8");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC5424);
    ZMX_CHECK (message.facility == 4 && message.severity == 2);
    ZMX_CHECK (s_text_is (message.time, "2003-10-11T22:14:15.003Z"));
    ZMX_CHECK (s_text_is (message.host, "mymachine.example.com"));
    ZMX_CHECK (s_text_is (message.app, "su"));
    ZMX_CHECK (s_text_is (message.pid, NULL));
    ZMX_CHECK (s_text_is (message.msgid, "ID47"));
    ZMX_CHECK (s_text_is (message.msg, "'su root' failed for lonvick on /dev/pts/8"));

    message = s_parse ("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - "
                       "%% It's time to make the do-nuts.");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC5424);
    ZMX_CHECK (message.facility == 20 && message.severity == 5);
    ZMX_CHECK (s_text_is (message.host, "192.0.2.1"));
    ZMX_CHECK (s_text_is (message.app, "myproc"));
    ZMX_CHECK (s_text_is (message.pid, "8710"));
    ZMX_CHECK (s_text_is (message.msgid, NULL));
    ZMX_CHECK (s_text_is (message.msg, "%% It's time to make the do-nuts."));

    message = s_parse ("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                       "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
                       "eventID=\"1011\"] \xEF\xBB\xBF" "An application event log entry...");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC5424);
    ZMX_CHECK (s_text_is (message.app, "evntslog"));
    ZMX_CHECK (s_text_is (message.msg, "An application event log entry..."));

    message = s_parse ("<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 "
                       "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\" "
                       "eventID=\"1011\"][examplePriority@32473 class=\"high\"]");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC5424);
    ZMX_CHECK (message.msg.size == 0);

    //  Escaped '"', '\' and ']' inside values; a value with "] " in it
    message = s_parse ("<14>1 - - app - - [id@1 a=\"x\\\"] y\\\\\" b=\"\\]\" c=\"q\\w\"] the text");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC5424);
    ZMX_CHECK (s_text_is (message.msg, "the text"));
    ZMX_CHECK (s_text_is (message.app, "app"));

    //  Every field NILVALUE, no MSG
    message = s_parse ("<13>1 - - - - - -");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC5424);
    ZMX_CHECK (s_text_is (message.time, NULL) && s_text_is (message.host, NULL)
            && s_text_is (message.app, NULL) && s_text_is (message.pid, NULL)
            && s_text_is (message.msgid, NULL) && message.msg.size == 0);

    //  Broken structured data, unknown version, bad time, field over its
    //  limit: not RFC 5424, so the text after the PRI
    const char *broken [] = {
        "<13>1 - h a p m [id a=\"x] never closed",
        "<13>1 - h a p m [id a=x] m",
        "<13>1 - h a p m [] m",
        "<13>1 - h a p m -x",
        "<13>2 - h a p m - m",
        "<13>1 2003-13-11T22:14:15Z h a p m - m",
        "<13>1 2003-10-11 22:14:15Z h a p m - m",
        "<13>1 - h a p 123456789012345678901234567890123 - m",
        "<13>1 - h a p m"
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (broken); index++) {
        message = s_parse (broken [index]);
        ZMX_CHECK (message.format == ZMX__SYSLOG_TEXT);
        ZMX_CHECK (message.facility == 1 && message.severity == 5);
        ZMX_CHECK (s_text_is (message.msg, broken [index] + 4));
    }
}

//  RFC 3164 section 5.4's examples, what logger and rsyslog send, and
//  messages with a PRI only or none (section 4.3)
static void
s_rfc3164_examples (void)
{
    zmx__syslog_t message = s_parse ("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for "
                                     "lonvick on /dev/pts/8");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC3164);
    ZMX_CHECK (message.facility == 4 && message.severity == 2);
    ZMX_CHECK (s_text_is (message.time, "Oct 11 22:14:15"));
    ZMX_CHECK (s_text_is (message.host, "mymachine"));
    ZMX_CHECK (s_text_is (message.app, "su"));
    ZMX_CHECK (s_text_is (message.pid, NULL));
    ZMX_CHECK (s_text_is (message.msg, "'su root' failed for lonvick on /dev/pts/8"));

    message = s_parse ("Use the BFG!");
    ZMX_CHECK (message.format == ZMX__SYSLOG_TEXT);
    ZMX_CHECK (message.facility == 1 && message.severity == 5);
    ZMX_CHECK (s_text_is (message.msg, "Use the BFG!"));

    message = s_parse ("<13>Feb  5 17:32:18 10.0.0.99 Use the BFG!");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC3164);
    ZMX_CHECK (s_text_is (message.time, "Feb  5 17:32:18"));
    ZMX_CHECK (s_text_is (message.host, "10.0.0.99"));
    ZMX_CHECK (s_text_is (message.app, NULL));
    ZMX_CHECK (s_text_is (message.msg, "Use the BFG!"));

    //  A year before the month: no valid timestamp, the rest is the text
    message = s_parse ("<0>1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org 10.1.2.3 "
                       "sched[0]: That's All Folks!");
    ZMX_CHECK (message.format == ZMX__SYSLOG_TEXT);
    ZMX_CHECK (message.facility == 0 && message.severity == 0);
    ZMX_CHECK (s_text_is (message.msg, "1990 Oct 22 10:52:01 TZ-6 scapegoat.dmz.example.org "
                                       "10.1.2.3 sched[0]: That's All Folks!"));

    //  logger -i; a local sender without hostname; rsyslog's RFC 3339 time
    message = s_parse ("<13>Dec  4 19:09:08 vm app[22382]: withpid\n");
    ZMX_CHECK (s_text_is (message.host, "vm") && s_text_is (message.app, "app")
            && s_text_is (message.pid, "22382") && s_text_is (message.msg, "withpid"));
    message = s_parse ("<86>Dec 14 09:00:00 sshd[5]: Accepted publickey");
    ZMX_CHECK (s_text_is (message.host, NULL) && s_text_is (message.app, "sshd")
            && s_text_is (message.pid, "5") && s_text_is (message.msg, "Accepted publickey"));
    ZMX_CHECK (message.facility == 10 && message.severity == 6);
    message = s_parse ("<30>2026-12-04T19:09:08.123456+01:00 host1 systemd[1]: Started x.");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC3164);
    ZMX_CHECK (s_text_is (message.time, "2026-12-04T19:09:08.123456+01:00"));
    ZMX_CHECK (s_text_is (message.host, "host1") && s_text_is (message.app, "systemd")
            && s_text_is (message.msg, "Started x."));
    message = s_parse ("<13>Dec  4 19:09:08 kernel: no host");
    ZMX_CHECK (s_text_is (message.host, NULL) && s_text_is (message.app, "kernel")
            && s_text_is (message.msg, "no host"));
    message = s_parse ("<13>Dec 04 19:09:08 vm");
    ZMX_CHECK (message.format == ZMX__SYSLOG_RFC3164 && message.msg.size == 2);

    //  PRI only, then bad PRIs (the whole datagram is the text)
    message = s_parse ("<191>hello");
    ZMX_CHECK (message.format == ZMX__SYSLOG_TEXT && message.facility == 23
            && message.severity == 7 && s_text_is (message.msg, "hello"));
    const char *bad_pri [] = { "<192>x", "<01>x", "<>x", "<1234>x", "<1x>y", "<", "<13" };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad_pri); index++) {
        message = s_parse (bad_pri [index]);
        ZMX_CHECK (message.format == ZMX__SYSLOG_TEXT);
        ZMX_CHECK (message.facility == 1 && message.severity == 5);
        ZMX_CHECK (s_text_is (message.msg, bad_pri [index]));
    }
    //  Bad timestamps: text after the PRI
    const char *bad_time [] = { "<13>Dex  4 19:09:08 h t: m", "<13>Dec 32 19:09:08 h t: m",
                                "<13>Dec  4 24:09:08 h t: m", "<13>Dec  4 19:09:08x" };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad_time); index++) {
        message = s_parse (bad_time [index]);
        ZMX_CHECK (message.format == ZMX__SYSLOG_TEXT);
        ZMX_CHECK (s_text_is (message.msg, bad_time [index] + 4));
    }
    //  Empty, a newline only, binary: refused
    ZMX_CHECK (zmx__syslog_parse ("", 0, &message) == -1);
    ZMX_CHECK (zmx__syslog_parse ("\r\n", 2, &message) == -1);
    ZMX_CHECK (zmx__syslog_parse ("<13>a\0b", 7, &message) == -1);
    ZMX_CHECK (zmx__syslog_parse ("\x1b[31mred", 8, &message) == -1);
    //  A trailing NUL is allowed
    ZMX_CHECK (zmx__syslog_parse ("<13>ok\n", 8, &message) == 0 && s_text_is (message.msg, "ok"));
}

static void
s_syslog_subjects (void)
{
    char subject [ZMX__LOG_SUBJECT_SIZE];
    zmx__syslog_t message = s_parse ("<155>Dec  4 19:09:08 vm myapp: hello");
    zmx__syslog_subject (&message, subject);
    ZMX_CHECK_STR (subject, "syslog.local3.myapp.err");
    message = s_parse ("plain");
    zmx__syslog_subject (&message, subject);
    ZMX_CHECK_STR (subject, "syslog.user.-.notice");
    message = s_parse ("<0>1 - - my.app*x>y - - - m");
    zmx__syslog_subject (&message, subject);
    ZMX_CHECK_STR (subject, "syslog.kern.my_app_x_y.emerg");
    //  An app name of 48 bytes, the longest, with the highest facility
    message = s_parse ("<191>1 - - 012345678901234567890123456789012345678901234567 - - - m");
    size_t length = zmx__syslog_subject (&message, subject);
    ZMX_CHECK_STR (subject, "syslog.local7.012345678901234567890123456789012345678901234567.debug");
    ZMX_CHECK (length == strlen (subject) && length < ZMX__LOG_SUBJECT_SIZE);
    ZMX_CHECK (zmx_subject_valid (subject, length));
    //  A 3164 tag longer than the token limit is not a tag
    message = s_parse ("<13>Dec  4 19:09:08 h "
                       "0123456789012345678901234567890123456789012345678: m");
    ZMX_CHECK (s_text_is (message.app, NULL));
    for (int facility = 0; facility < 24; facility++)
        ZMX_CHECK (zmx__log_facility_name (facility));
    ZMX_CHECK (!zmx__log_facility_name (24) && !zmx__log_severity_name (8)
            && !zmx__log_severity_name (-1));
}

static void
s_zsys_lines (void)
{
    zmx__zsys_line_t line;
    const char *text = "E: (myident) 26-12-04 19:05:00 disk full";
    ZMX_CHECK (zmx__zsys_parse (text, strlen (text), &line));
    ZMX_CHECK (line.severity == 3);
    ZMX_CHECK (s_text_is (line.ident, "myident"));
    ZMX_CHECK (s_text_is (line.time, "26-12-04 19:05:00"));
    ZMX_CHECK (s_text_is (line.text, "disk full"));

    text = "I: 26-12-04 19:05:00 started";
    ZMX_CHECK (zmx__zsys_parse (text, strlen (text), &line));
    ZMX_CHECK (line.severity == 6 && s_text_is (line.ident, NULL)
            && s_text_is (line.text, "started"));

    //  An ident with ") " in it (zsys_set_logident takes any text)
    text = "W: (a) b (c) 26-12-04 19:05:00 x";
    ZMX_CHECK (zmx__zsys_parse (text, strlen (text), &line));
    ZMX_CHECK (line.severity == 4 && s_text_is (line.ident, "a) b (c")
            && s_text_is (line.text, "x"));

    const char *letters = "EWNID";
    for (int index = 0; index < 5; index++) {
        char buffer [64];
        snprintf (buffer, sizeof (buffer), "%c: 26-12-04 19:05:00 ", letters [index]);
        ZMX_CHECK (zmx__zsys_parse (buffer, strlen (buffer), &line));
        ZMX_CHECK (line.severity == 3 + index && line.text.size == 0);
    }
    ZMX_CHECK (zmx__zsys_parse ("D: 26-12-04 19:05:00", 20, &line) && line.text.size == 0);

    const char *not_zsys [] = {
        "X: 26-12-04 19:05:00 x", "E 26-12-04 19:05:00 x", "E: 2026-12-04 19:05:00 x",
        "E: (ident 26-12-04 19:05:00 x", "E: 26-12-04 19:05:00x", "E: ", "", "E: 26-12-04",
        "just text"
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (not_zsys); index++)
        ZMX_CHECK (!zmx__zsys_parse (not_zsys [index], strlen (not_zsys [index]), &line));
}

static void
s_level_names (void)
{
    const char *names [] = { "emerg", "alert", "crit", "err", "warning", "notice", "info",
                             "debug" };
    for (int severity = 0; severity < 8; severity++) {
        ZMX_CHECK_STR (zmx__log_severity_name (severity), names [severity]);
        ZMX_CHECK (zmx__log_severity_from_name (names [severity], strlen (names [severity]))
                   == severity);
    }
    ZMX_CHECK (zmx__log_severity_from_name ("error", 5) == 3);
    ZMX_CHECK (zmx__log_severity_from_name ("WARN", 4) == 4);
    ZMX_CHECK (zmx__log_severity_from_name ("informational", 13) == -1);
    ZMX_CHECK (zmx__log_severity_from_name ("inf", 3) == -1);
    ZMX_CHECK (zmx__log_subject_severity ("app.db.error", 12) == 3);
    ZMX_CHECK (zmx__log_subject_severity ("debug", 5) == 7);
    ZMX_CHECK (zmx__log_subject_severity ("app.error.db", 12) == -1);
    ZMX_CHECK (zmx__log_subject_severity ("app.db.errors", 13) == -1);
}

//  -------------------------------------------------------------------------
//  Ingest helpers: entries go into a real store, flushed at once so that
//  a cursor sees them

typedef struct {
    zmx_stream_store_t *store;
    const char *fail_subject;       //  Appends under it fail (ZMX_EIO)
    size_t appended;                //  Entries stored
    size_t probes;                  //  Entries under "probe": counted, not stored
} s_sink_t;

static int
s_sink_append (void *arg, const zmx__log_entry_t *entry)
{
    s_sink_t *sink = (s_sink_t *) arg;
    if (sink->fail_subject && streq (entry->subject, sink->fail_subject))
        return ZMX_EIO;
    if (streq (entry->subject, "probe")) {
        sink->probes++;
        return ZMX_OK;
    }
    int rc = zmx_stream_store_append (sink->store, S_STREAM, entry->subject, entry->headers,
                                      entry->header_count, entry->body, entry->body_size, NULL);
    if (rc == ZMX_OK)
        rc = zmx_stream_store_flush (sink->store, S_STREAM);
    if (rc == ZMX_OK)
        sink->appended++;
    return rc;
}

typedef struct {
    char *dir;
    s_sink_t sink;
    zmx__log_ingest_t *ingest;
    char *zmq_endpoint;             //  Where the SUB is bound
    int udp_port;                   //  Where syslog is bound
    zmx_stream_cursor_t *cursor;    //  Reads what was appended, in order
} s_bench_t;

static void
s_bench_start (s_bench_t *bench, const char *default_subject)
{
    memset (bench, 0, sizeof (s_bench_t));
    bench->dir = zmx_test_tmpdir ();
    zmx_stream_config_t config;
    zmx_stream_config_default (&config);
    config.fsync = ZMX_STREAM_FSYNC_NEVER;
    bench->sink.store = zmx_stream_store_new (bench->dir, &config);
    ZMX_CHECK (bench->sink.store);
    const char *reason = NULL;
    for (int attempt = 0; attempt < 5 && !bench->ingest; attempt++) {
        char *endpoint = zmx_test_free_endpoint ();
        bench->ingest = zmx__log_ingest_new (NULL, endpoint, "udp://127.0.0.1:0", default_subject,
                                             s_sink_append, &bench->sink, &reason);
        free (endpoint);
    }
    ZMX_CHECK (bench->ingest && !reason);
    zlist_t *endpoints = zlist_new ();
    zmx__log_ingest_endpoints (bench->ingest, endpoints);
    ZMX_CHECK (zlist_size (endpoints) == 2);
    bench->zmq_endpoint = strdup ((const char *) zlist_first (endpoints));
    const char *udp = (const char *) zlist_next (endpoints);
    ZMX_CHECK (strncmp (bench->zmq_endpoint, "tcp://127.0.0.1:", 16) == 0);
    ZMX_CHECK (strncmp (udp, "udp://127.0.0.1:", 16) == 0);
    bench->udp_port = atoi (udp + 16);
    ZMX_CHECK (bench->udp_port > 0 && bench->udp_port < 65536);
    zlist_destroy (&endpoints);
    bench->cursor = zmx_stream_cursor_new (bench->sink.store, S_STREAM, ZMX_STREAM_FROM_FIRST,
                                           0, NULL);
    ZMX_CHECK (bench->cursor);
}

static void
s_bench_stop (s_bench_t *bench)
{
    zmx_stream_cursor_destroy (&bench->cursor);
    zmx__log_ingest_destroy (&bench->ingest);
    zmx_stream_store_destroy (&bench->sink.store);
    zmx_test_rmdir (bench->dir);
    free (bench->dir);
    free (bench->zmq_endpoint);
}

//  Poll both ingest paths once (up to timeout_ms) and handle what is ready.
static void
s_pump_once (s_bench_t *bench, int timeout_ms)
{
    zmq_pollitem_t items [] = {
        { zsock_resolve (zmx__log_ingest_socket (bench->ingest)), 0, ZMQ_POLLIN, 0 },
        { NULL, zmx__log_ingest_udp_fd (bench->ingest), ZMQ_POLLIN, 0 }
    };
    if (zmq_poll (items, 2, timeout_ms) > 0) {
        if (items [0].revents & ZMQ_POLLIN)
            zmx__log_ingest_handle_zmq (bench->ingest);
        if (items [1].revents & ZMQ_POLLIN)
            zmx__log_ingest_handle_udp (bench->ingest);
    }
}

//  Pump until `count` entries in all were appended; true if they were
//  within timeout_ms.
static bool
s_pump_until (s_bench_t *bench, size_t count, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (bench->sink.appended < count && zclock_mono () < deadline)
        s_pump_once (bench, 50);
    return bench->sink.appended >= count;
}

static zmx__log_ingest_counters_t
s_counters (s_bench_t *bench)
{
    zmx__log_ingest_counters_t counters;
    zmx__log_ingest_counters (bench->ingest, &counters);
    return counters;
}

//  The next record, which must be there.
static zmx_stream_record_t
s_next (s_bench_t *bench)
{
    zmx_stream_record_t record;
    int rc = zmx_stream_cursor_next (bench->cursor, &record);
    if (rc != ZMX_OK)
        fprintf (stderr, "cursor: %s\n", zmx_strerror (rc));
    ZMX_CHECK (rc == ZMX_OK);
    return record;
}

//  The value of header `name` as a string ("" if absent: checks fail).
static const char *
s_header (const zmx_stream_record_t *record, const char *name)
{
    static char value [512];
    for (size_t index = 0; index < record->header_count; index++) {
        zmx_stream_header_t header;
        ZMX_CHECK (zmx_stream_record_header (record, index, &header));
        if (header.name_size == strlen (name) && memcmp (header.name, name, header.name_size) == 0
        &&  header.value_size < sizeof (value)) {
            memcpy (value, header.value, header.value_size);
            value [header.value_size] = '\0';
            return value;
        }
    }
    return NULL;
}

static bool
s_body_is (const zmx_stream_record_t *record, const char *text)
{
    return record->body_size == strlen (text) && memcmp (record->body, text, record->body_size) == 0;
}

//  Run logger with these arguments (after -n 127.0.0.1 -P PORT).
static void
s_logger (int port, ...)
{
    char port_text [16];
    snprintf (port_text, sizeof (port_text), "%d", port);
    char *argv [32] = { "/usr/bin/logger", "-n", "127.0.0.1", "-P", port_text };
    int argc = 5;
    va_list args;
    va_start (args, port);
    char *arg;
    while ((arg = va_arg (args, char *)) && argc < 31)
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;
    ZMX_CHECK (zmx_test_run (argv, NULL, 10000, NULL) == 0);
}

static void
s_need_logger (void)
{
    if (access ("/usr/bin/logger", X_OK))
        zmx_test_skip ("no /usr/bin/logger (util-linux)");
}

//  -------------------------------------------------------------------------
//  Ingest: syslog from logger

static void
s_logger_rfc3164 (void)
{
    s_need_logger ();
    s_bench_t bench;
    s_bench_start (&bench, NULL);
    s_logger (bench.udp_port, "--rfc3164", "-t", "myapp", "-p", "local3.err", "-d",
              "hello 3164", NULL);
    s_logger (bench.udp_port, "--rfc3164", "-i", "-t", "web", "-p", "daemon.info", "-d",
              "with a pid", NULL);
    ZMX_CHECK (s_pump_until (&bench, 2, S_WAIT_MS));

    zmx_stream_record_t record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "syslog.local3.myapp.err");
    ZMX_CHECK_STR (s_header (&record, "severity"), "3");
    ZMX_CHECK_STR (s_header (&record, "facility"), "19");
    ZMX_CHECK_STR (s_header (&record, "app"), "myapp");
    ZMX_CHECK (s_header (&record, "host") && strlen (s_header (&record, "host")) > 0);
    ZMX_CHECK (s_header (&record, "time") && strlen (s_header (&record, "time")) == 15);
    ZMX_CHECK (!s_header (&record, "pid") && !s_header (&record, "msgid"));
    ZMX_CHECK (s_body_is (&record, "hello 3164"));

    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "syslog.daemon.web.info");
    ZMX_CHECK_STR (s_header (&record, "severity"), "6");
    ZMX_CHECK_STR (s_header (&record, "facility"), "3");
    ZMX_CHECK (s_header (&record, "pid") && atoi (s_header (&record, "pid")) > 0);
    ZMX_CHECK (s_body_is (&record, "with a pid"));

    zmx__log_ingest_counters_t counters = s_counters (&bench);
    ZMX_CHECK (counters.syslog_received == 2 && counters.syslog_appended == 2
            && counters.syslog_invalid == 0 && counters.syslog_failed == 0);
    ZMX_CHECK (counters.zmq_received == 0);
    s_bench_stop (&bench);
}

static void
s_logger_rfc5424 (void)
{
    s_need_logger ();
    s_bench_t bench;
    s_bench_start (&bench, NULL);
    s_logger (bench.udp_port, "--rfc5424", "-t", "app5", "-p", "user.warning", "-d",
              "hello 5424", NULL);
    s_logger (bench.udp_port, "--rfc5424", "--msgid", "ID47", "--sd-id", "zoo@123",
              "--sd-param", "tiger=\"hungry\\]\"", "-t", "zoo", "-p", "local0.debug", "-d",
              "fed", NULL);
    //  No tag, no time, no host: the NILVALUEs
    s_logger (bench.udp_port, "--rfc5424=notq,notime,nohost", "-t", "-", "-d", "bare", NULL);
    ZMX_CHECK (s_pump_until (&bench, 3, S_WAIT_MS));

    zmx_stream_record_t record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "syslog.user.app5.warning");
    ZMX_CHECK_STR (s_header (&record, "severity"), "4");
    ZMX_CHECK_STR (s_header (&record, "facility"), "1");
    ZMX_CHECK_STR (s_header (&record, "app"), "app5");
    ZMX_CHECK (s_header (&record, "time") && strchr (s_header (&record, "time"), 'T'));
    ZMX_CHECK (s_body_is (&record, "hello 5424"));

    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "syslog.local0.zoo.debug");
    ZMX_CHECK_STR (s_header (&record, "msgid"), "ID47");
    ZMX_CHECK (s_body_is (&record, "fed"));

    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "syslog.user.-.notice");
    ZMX_CHECK (!s_header (&record, "time") && !s_header (&record, "host")
            && !s_header (&record, "app"));
    ZMX_CHECK (s_body_is (&record, "bare"));
    ZMX_CHECK (s_counters (&bench).syslog_appended == 3);
    s_bench_stop (&bench);
}

//  -------------------------------------------------------------------------
//  Ingest: a CZMQ program through ZSYS_LOGSENDER

static void
s_zsys_program (void)
{
    s_bench_t bench;
    s_bench_start (&bench, "app.zsys");
    char *program = zmx_test_bin ("support_zsys_logger");
    ZMX_CHECK (access (program, X_OK) == 0);
    char *sender = zsys_sprintf (">%s", bench.zmq_endpoint);
    int input [2];
    ZMX_CHECK (pipe (input) == 0);
    pid_t child = fork ();
    ZMX_CHECK (child >= 0);
    if (child == 0) {
        dup2 (input [0], STDIN_FILENO);
        close (input [0]);
        close (input [1]);
        setenv ("ZSYS_LOGSENDER", sender, 1);
        setenv ("ZSYS_LOGIDENT", "billing", 1);
        //  CZMQ 4.2.1's zsys_init opens the log sender's socket, then sets
        //  the thread name prefix, which asserts that no socket is open:
        //  the program aborts. With ZSYS_THREAD_NAME_PREFIX_STR set, 4.2.1
        //  passes ZSYS_THREAD_NAME_PREFIX (unset: NULL) instead and skips
        //  that step (see docs/STREAMS.md)
        setenv ("ZSYS_THREAD_NAME_PREFIX_STR", "zmx", 1);
        unsetenv ("ZSYS_THREAD_NAME_PREFIX");
        execl (program, program, (char *) NULL);
        _exit (127);
    }
    close (input [0]);
    //  The program logs its two lines each round until we close its
    //  stdin; the first rounds may be lost while its PUB connects
    bool got_error = false, got_info = false;
    int64_t deadline = zclock_mono () + 20000;
    while (!(got_error && got_info) && zclock_mono () < deadline) {
        s_pump_once (&bench, 50);
        zmx_stream_record_t record;
        while (zmx_stream_cursor_next (bench.cursor, &record) == ZMX_OK) {
            ZMX_CHECK_STR (record.subject, "app.zsys");
            ZMX_CHECK_STR (s_header (&record, "app"), "billing");
            const char *time = s_header (&record, "time");
            ZMX_CHECK (time && strlen (time) == 17);
            const char *severity = s_header (&record, "severity");
            ZMX_CHECK (severity);
            if (streq (severity, "3")) {
                ZMX_CHECK (record.body_size >= 17 && memcmp (record.body, "disk full (round ", 17) == 0);
                got_error = true;
            }
            else {
                ZMX_CHECK_STR (severity, "6");
                ZMX_CHECK (record.body_size >= 23
                        && memcmp (record.body, "service started (round ", 23) == 0);
                got_info = true;
            }
        }
    }
    close (input [1]);
    ZMX_CHECK (got_error && got_info);
    ZMX_CHECK (zmx_test_exit_code (child, 5000, 1000) == 0);
    zmx__log_ingest_counters_t counters = s_counters (&bench);
    ZMX_CHECK (counters.zmq_appended >= 2 && counters.zmq_invalid == 0);
    free (sender);
    free (program);
    s_bench_stop (&bench);
}

//  -------------------------------------------------------------------------
//  Ingest: a plain libzmq PUB (no CZMQ)

typedef struct {
    void *context;
    void *pub;
} s_pub_t;

static void
s_pub_send (s_pub_t *pub, const void *first, size_t first_size, const void *second,
            size_t second_size)
{
    ZMX_CHECK (zmq_send (pub->pub, first, first_size, second? ZMQ_SNDMORE: 0)
               == (int) first_size);
    if (second)
        ZMX_CHECK (zmq_send (pub->pub, second, second_size, 0) == (int) second_size);
}

//  Connect a PUB and send a probe until one arrives: a PUB drops what it
//  sends before the SUB's subscription reached it. Probes are counted by
//  the sink, not stored, so later ones still on the way change nothing.
static void
s_pub_connect (s_pub_t *pub, s_bench_t *bench)
{
    pub->context = zmq_ctx_new ();
    pub->pub = zmq_socket (pub->context, ZMQ_PUB);
    int linger = 0;
    zmq_setsockopt (pub->pub, ZMQ_LINGER, &linger, sizeof (linger));
    ZMX_CHECK (zmq_connect (pub->pub, bench->zmq_endpoint) == 0);
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    while (bench->sink.probes == 0 && zclock_mono () < deadline) {
        s_pub_send (pub, "probe", 5, "ready?", 6);
        s_pump_once (bench, 20);
    }
    ZMX_CHECK (bench->sink.probes > 0);
}

static void
s_pub_close (s_pub_t *pub)
{
    zmq_close (pub->pub);
    zmq_ctx_term (pub->context);
}

static void
s_plain_pub (void)
{
    s_bench_t bench;
    s_bench_start (&bench, "scripts");
    s_pub_t pub;
    s_pub_connect (&pub, &bench);
    size_t base = bench.sink.appended;
    s_pub_send (&pub, "app.db.error", 12, "disk full", 9);
    s_pub_send (&pub, "app.web.WARN", 12, "slow", 4);
    s_pub_send (&pub, "app.web", 7, "", 0);
    s_pub_send (&pub, "a plain line from a script", 26, NULL, 0);
    const char *zsys = "D: (cron) 26-12-04 19:05:00 tick";
    s_pub_send (&pub, zsys, strlen (zsys), NULL, 0);
    ZMX_CHECK (s_pump_until (&bench, base + 5, S_WAIT_MS));

    zmx_stream_record_t record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "app.db.error");
    ZMX_CHECK_STR (s_header (&record, "severity"), "3");
    ZMX_CHECK (record.header_count == 1 && s_body_is (&record, "disk full"));
    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "app.web.WARN");
    ZMX_CHECK_STR (s_header (&record, "severity"), "4");
    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "app.web");
    ZMX_CHECK_STR (s_header (&record, "severity"), "5");
    ZMX_CHECK (record.body_size == 0);
    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "scripts");
    ZMX_CHECK_STR (s_header (&record, "severity"), "5");
    ZMX_CHECK (record.header_count == 1 && s_body_is (&record, "a plain line from a script"));
    record = s_next (&bench);
    ZMX_CHECK_STR (record.subject, "scripts");
    ZMX_CHECK_STR (s_header (&record, "severity"), "7");
    ZMX_CHECK_STR (s_header (&record, "app"), "cron");
    ZMX_CHECK (s_body_is (&record, "tick"));

    zmx__log_ingest_counters_t counters = s_counters (&bench);
    ZMX_CHECK (counters.zmq_received == counters.zmq_appended && counters.zmq_invalid == 0);
    ZMX_CHECK (counters.syslog_received == 0);
    s_pub_close (&pub);
    s_bench_stop (&bench);
}

//  -------------------------------------------------------------------------
//  Garbage on both paths is counted and dropped; good traffic between it
//  is stored, in order

static void
s_send_datagram (int port, const void *data, size_t size)
{
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    ZMX_CHECK (fd >= 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ZMX_CHECK (sendto (fd, data, size, 0, (struct sockaddr *) &address, sizeof (address))
               == (ssize_t) size);
    close (fd);
}

static void
s_garbage (void)
{
    s_bench_t bench;
    s_bench_start (&bench, NULL);
    bench.sink.fail_subject = "store.fails";
    s_pub_t pub;
    s_pub_connect (&pub, &bench);
    size_t base = bench.sink.appended;
    size_t big_size = ZMX__LOG_MESSAGE_MAX + 1;
    char *big = (char *) malloc (big_size);
    memset (big, 'x', big_size);
    const char binary [] = { 'a', 0, 1, (char) 0xff };

    //  ZeroMQ: three frames, bad subjects, empty, oversize, binary, and a
    //  good message after each
    int good = 0;
    char text [32];
    #define S_GOOD() do { snprintf (text, sizeof (text), "good %d", good++); \
                          s_pub_send (&pub, "ok.zmq", 6, text, strlen (text)); } while (0)
    ZMX_CHECK (zmq_send (pub.pub, "a", 1, ZMQ_SNDMORE) == 1);
    ZMX_CHECK (zmq_send (pub.pub, "b", 1, ZMQ_SNDMORE) == 1);
    ZMX_CHECK (zmq_send (pub.pub, "c", 1, 0) == 1);
    S_GOOD ();
    s_pub_send (&pub, "bad subject", 11, "x", 1);
    S_GOOD ();
    s_pub_send (&pub, "a..b", 4, "x", 1);
    S_GOOD ();
    s_pub_send (&pub, "a.*", 3, "x", 1);
    S_GOOD ();
    s_pub_send (&pub, "", 0, "x", 1);
    S_GOOD ();
    s_pub_send (&pub, "", 0, NULL, 0);
    S_GOOD ();
    s_pub_send (&pub, big, big_size, NULL, 0);
    S_GOOD ();
    s_pub_send (&pub, "app.big", 7, big, big_size);
    S_GOOD ();
    s_pub_send (&pub, binary, sizeof (binary), NULL, 0);
    S_GOOD ();
    s_pub_send (&pub, "store.fails", 11, "x", 1);
    S_GOOD ();
    //  Syslog: empty, oversize, binary datagrams, each followed by a good one
    s_send_datagram (bench.udp_port, "", 0);
    s_send_datagram (bench.udp_port, "<13>good syslog 0", 17);
    s_send_datagram (bench.udp_port, big, big_size);
    s_send_datagram (bench.udp_port, "<13>good syslog 1", 17);
    s_send_datagram (bench.udp_port, binary, sizeof (binary));
    s_send_datagram (bench.udp_port, "<13>good syslog 2", 17);
    ZMX_CHECK (s_pump_until (&bench, base + (size_t) good + 3, S_WAIT_MS));

    //  Records of each path in the order sent
    int next_zmq = 0, next_syslog = 0;
    for (int index = 0; index < good + 3; index++) {
        zmx_stream_record_t record = s_next (&bench);
        if (streq (record.subject, "ok.zmq")) {
            snprintf (text, sizeof (text), "good %d", next_zmq++);
            ZMX_CHECK (s_body_is (&record, text));
        }
        else {
            ZMX_CHECK_STR (record.subject, "syslog.user.-.notice");
            snprintf (text, sizeof (text), "good syslog %d", next_syslog++);
            ZMX_CHECK (s_body_is (&record, text));
        }
    }
    ZMX_CHECK (next_zmq == good && next_syslog == 3);
    zmx__log_ingest_counters_t counters = s_counters (&bench);
    ZMX_CHECK (counters.zmq_invalid == 9);
    ZMX_CHECK (counters.zmq_failed == 1);
    ZMX_CHECK (counters.zmq_received == counters.zmq_appended + 10);
    ZMX_CHECK (counters.syslog_received == 6 && counters.syslog_invalid == 3
            && counters.syslog_appended == 3 && counters.syslog_failed == 0);
    free (big);
    s_pub_close (&pub);
    s_bench_stop (&bench);
}

//  One handle call reads a bounded batch, so other sockets get their turn
static void
s_bounded_batches (void)
{
    s_bench_t bench;
    s_bench_start (&bench, NULL);
    s_pub_t pub;
    s_pub_connect (&pub, &bench);
    size_t base = bench.sink.appended;
    for (int index = 0; index < 600; index++)
        s_pub_send (&pub, "line", 4, NULL, 0);
    //  Wait until the SUB has input, then give it time to queue more
    zmq_pollitem_t item = { zsock_resolve (zmx__log_ingest_socket (bench.ingest)), 0,
                            ZMQ_POLLIN, 0 };
    ZMX_CHECK (zmq_poll (&item, 1, S_WAIT_MS) == 1);
    size_t largest = 0;
    int64_t deadline = zclock_mono () + S_WAIT_MS;
    while (bench.sink.appended < base + 600 && zclock_mono () < deadline) {
        size_t before = bench.sink.appended;
        zmx__log_ingest_handle_zmq (bench.ingest);
        if (bench.sink.appended - before > largest)
            largest = bench.sink.appended - before;
        zmq_poll (&item, 1, 50);
    }
    ZMX_CHECK (bench.sink.appended == base + 600);
    ZMX_CHECK (largest <= 256);
    s_pub_close (&pub);
    s_bench_stop (&bench);
}

//  -------------------------------------------------------------------------
//  Setup errors

static void
s_setup_errors (void)
{
    const char *reason = NULL;
    zmx__log_ingest_t *ingest;
    const char *bad_syslog [] = {
        "tcp://127.0.0.1:5", "udp://127.0.0.1", "udp://127.0.0.1:x1", "udp://:1",
        "udp://127.0.0.1:70000", "udp://[::1:1", "udp://127.0.0.1:-1"
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad_syslog); index++) {
        reason = NULL;
        ingest = zmx__log_ingest_new (NULL, NULL, bad_syslog [index], NULL, s_sink_append,
                                      NULL, &reason);
        ZMX_CHECK (!ingest && reason);
    }
    ingest = zmx__log_ingest_new (NULL, NULL, NULL, "a..b", s_sink_append, NULL, &reason);
    ZMX_CHECK (!ingest && reason);
    ingest = zmx__log_ingest_new (NULL, "bogus://x", NULL, NULL, s_sink_append, NULL, &reason);
    ZMX_CHECK (!ingest && reason);

    //  Neither path: nothing to poll, handles do nothing
    reason = "unset";
    ingest = zmx__log_ingest_new (NULL, "", NULL, NULL, s_sink_append, NULL, &reason);
    ZMX_CHECK (ingest && !reason);
    ZMX_CHECK (!zmx__log_ingest_socket (ingest) && zmx__log_ingest_udp_fd (ingest) == -1);
    zmx__log_ingest_handle_zmq (ingest);
    zmx__log_ingest_handle_udp (ingest);
    zlist_t *endpoints = zlist_new ();
    zmx__log_ingest_endpoints (ingest, endpoints);
    ZMX_CHECK (zlist_size (endpoints) == 0);
    zmx__log_ingest_destroy (&ingest);
    zmx__log_ingest_destroy (&ingest);

    //  A UDP port in use; then a free one given by the port helper, bound
    //  on the wildcard address
    int port = zmx_test_free_udp_port ();
    char endpoint [64];
    snprintf (endpoint, sizeof (endpoint), "udp://127.0.0.1:%d", port);
    int holder = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (bind (holder, (struct sockaddr *) &address, sizeof (address)) == 0) {
        ingest = zmx__log_ingest_new (NULL, NULL, endpoint, NULL, s_sink_append, NULL, &reason);
        ZMX_CHECK (!ingest && reason);
    }
    close (holder);
    snprintf (endpoint, sizeof (endpoint), "udp://*:%d", port);
    ingest = zmx__log_ingest_new (NULL, NULL, endpoint, NULL, s_sink_append, NULL, &reason);
    ZMX_CHECK (ingest);
    zmx__log_ingest_endpoints (ingest, endpoints);
    ZMX_CHECK (zlist_size (endpoints) == 1);
    char *expected = zsys_sprintf (":%d", port);
    const char *bound = (const char *) zlist_first (endpoints);
    ZMX_CHECK (strncmp (bound, "udp://", 6) == 0
            && streq (bound + strlen (bound) - strlen (expected), expected));
    free (expected);
    zlist_destroy (&endpoints);
    zmx__log_ingest_destroy (&ingest);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "rfc5424_examples", s_rfc5424_examples, 10 },
        { "rfc3164_examples", s_rfc3164_examples, 10 },
        { "syslog_subjects", s_syslog_subjects, 10 },
        { "zsys_lines", s_zsys_lines, 10 },
        { "level_names", s_level_names, 10 },
        { "logger_rfc3164", s_logger_rfc3164, 30 },
        { "logger_rfc5424", s_logger_rfc5424, 30 },
        { "zsys_program", s_zsys_program, 40 },
        { "plain_pub", s_plain_pub, 30 },
        { "garbage", s_garbage, 30 },
        { "bounded_batches", s_bounded_batches, 30 },
        { "setup_errors", s_setup_errors, 20 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
