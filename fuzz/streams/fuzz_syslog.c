/*  =========================================================================
    fuzz_syslog - libFuzzer target for the log ingest's parsers
    (zmx_log_parse): syslog datagrams, zsys log lines and subject levels

    Each input is copied to a heap block of exactly its size (so ASan sees
    any read past its end) and given to every parser. Checks that nothing
    crashes, that a parsed message has facility 0-23 and severity 0-7,
    that every field it returns lies inside the input, that the subject
    built from it is a valid subject, and that a zsys line's severity is
    3-7 with its fields inside the input.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"
#include "streams/zmx_log_parse.h"

static void
s_require_inside (zmx__log_text_t text, const char *data, size_t size)
{
    if (!text.data)
        return;
    FUZZ_REQUIRE (text.data >= data && text.size <= size
               && (size_t) (text.data - data) <= size - text.size);
}

int
LLVMFuzzerTestOneInput (const uint8_t *input, size_t size)
{
    char *data = (char *) malloc (size? size: 1);
    FUZZ_REQUIRE (data);
    if (size)
        memcpy (data, input, size);

    zmx__syslog_t message;
    if (zmx__syslog_parse (data, size, &message) == 0) {
        FUZZ_REQUIRE (message.facility >= 0 && message.facility <= 23);
        FUZZ_REQUIRE (message.severity >= 0 && message.severity <= 7);
        FUZZ_REQUIRE (message.format == ZMX__SYSLOG_RFC5424
                   || message.format == ZMX__SYSLOG_RFC3164
                   || message.format == ZMX__SYSLOG_TEXT);
        s_require_inside (message.time, data, size);
        s_require_inside (message.host, data, size);
        s_require_inside (message.app, data, size);
        s_require_inside (message.pid, data, size);
        s_require_inside (message.msgid, data, size);
        FUZZ_REQUIRE (message.msg.data || message.msg.size == 0);
        s_require_inside (message.msg, data, size);
        FUZZ_REQUIRE (zmx__log_text_valid (message.msg.data, message.msg.size));
        char subject [ZMX__LOG_SUBJECT_SIZE];
        size_t length = zmx__syslog_subject (&message, subject);
        FUZZ_REQUIRE (length < ZMX__LOG_SUBJECT_SIZE && length == strlen (subject));
        FUZZ_REQUIRE (zmx_subject_valid (subject, length));
        FUZZ_REQUIRE (zmx__log_subject_severity (subject, length) == message.severity);
    }

    zmx__zsys_line_t line;
    if (zmx__zsys_parse (data, size, &line)) {
        FUZZ_REQUIRE (line.severity >= 3 && line.severity <= 7);
        FUZZ_REQUIRE (line.time.data && line.time.size == 17);
        s_require_inside (line.time, data, size);
        s_require_inside (line.ident, data, size);
        FUZZ_REQUIRE (line.text.data || line.text.size == 0);
        s_require_inside (line.text, data, size);
    }

    //  As a subject of a [subject][body] message
    int severity = zmx__log_subject_severity (data, size);
    FUZZ_REQUIRE (severity >= -1 && severity <= 7);
    free (data);
    return 0;
}
