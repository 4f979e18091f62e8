/*  =========================================================================
    zmx_log_parse - the log ingest's parsers: syslog datagrams (RFC 5424,
    RFC 3164, and text with a PRI only or none), CZMQ zsys log lines, and
    level names in subjects. Pure functions over a buffer: no sockets, no
    allocation; every result is a view into the input.

    A syslog datagram is read as RFC 5424 when it starts "<PRI>1 " and the
    whole header and structured data follow the RFC's grammar; else as
    RFC 3164 when a timestamp follows the PRI ("Mmm dd hh:mm:ss", or the
    RFC 3339 form rsyslog forwards); else as text: after a valid PRI, the
    rest, and without one, the whole datagram with facility user (1) and
    severity notice (5), as RFC 3164 section 4.3 says.
    =========================================================================
*/
#ifndef ZMX_LOG_PARSE_H_INCLUDED
#define ZMX_LOG_PARSE_H_INCLUDED

#include "zmx_classes.h"

#define ZMX__LOG_DEFAULT_FACILITY   1       //  user (RFC 3164 4.3.3)
#define ZMX__LOG_DEFAULT_SEVERITY   5       //  notice
#define ZMX__LOG_APP_TOKEN_MAX      48      //  Bytes of the app name in a subject
//  Room for any subject zmx__syslog_subject builds, with its terminator
#define ZMX__LOG_SUBJECT_SIZE       80

//  A field of the input: `size` bytes at `data`; data NULL when absent.
typedef struct {
    const char *data;
    size_t size;
} zmx__log_text_t;

typedef enum {
    ZMX__SYSLOG_RFC5424,
    ZMX__SYSLOG_RFC3164,
    ZMX__SYSLOG_TEXT                    //  PRI only, or nothing but text
} zmx__syslog_format_t;

typedef struct {
    zmx__syslog_format_t format;
    int facility;                       //  0 to 23
    int severity;                       //  0 to 7
    zmx__log_text_t time;               //  TIMESTAMP as sent (not NILVALUE)
    zmx__log_text_t host;               //  HOSTNAME
    zmx__log_text_t app;                //  APP-NAME, or the RFC 3164 TAG
    zmx__log_text_t pid;                //  PROCID, or the TAG's [PID]
    zmx__log_text_t msgid;              //  MSGID (RFC 5424 only)
    zmx__log_text_t msg;                //  MSG, without a BOM; may be empty
} zmx__syslog_t;

//  Parse one syslog datagram. A trailing LF, CR LF or NUL is not part of
//  the message. Returns 0, or -1 when the datagram is empty or is not
//  text (zmx__log_text_valid).
int
    zmx__syslog_parse (const void *data, size_t size, zmx__syslog_t *message);

//  Write the subject of a parsed message into `subject` (at least
//  ZMX__LOG_SUBJECT_SIZE bytes): "syslog.FACILITY.APP.SEVERITY" with the
//  names of zmx__log_facility_name and zmx__log_severity_name, and APP the
//  app name cut to ZMX__LOG_APP_TOKEN_MAX bytes with every byte that may
//  not be in a subject token (outside 0x21-0x7e, or '.', '*', '>')
//  replaced by '_', or "-" when there is none. Always a valid subject.
//  Returns its length.
size_t
    zmx__syslog_subject (const zmx__syslog_t *message, char *subject);

//  A line CZMQ's zsys sends to its log sender (ZSYS_LOGSENDER): one frame
//  "L: (IDENT) yy-mm-dd hh:mm:ss TEXT", or without "(IDENT) " when no
//  ident is set; L is E, W, N, I or D.
typedef struct {
    int severity;                       //  E 3, W 4, N 5, I 6, D 7
    zmx__log_text_t ident;              //  ZSYS_LOGIDENT, when set
    zmx__log_text_t time;               //  "yy-mm-dd hh:mm:ss", local time
    zmx__log_text_t text;
} zmx__zsys_line_t;

//  True if the frame is a zsys log line, and then fills *line.
bool
    zmx__zsys_parse (const void *data, size_t size, zmx__zsys_line_t *line);

//  True if the bytes are text: no control characters other than tab, LF
//  and CR, and no DEL (any other byte, UTF-8 or not, is text).
bool
    zmx__log_text_valid (const void *data, size_t size);

//  The severity a level name gives (any case): emerg 0, alert 1, crit 2,
//  error or err 3, warning or warn 4, notice 5, info 6, debug 7; -1 for
//  any other name.
int
    zmx__log_severity_from_name (const char *name, size_t size);

//  The severity of a subject whose last token is a level name, else -1.
int
    zmx__log_subject_severity (const char *subject, size_t size);

//  Names used in subjects: severity 0-7 "emerg" ... "debug" (the syslog
//  keywords), facility 0-23 "kern" ... "local7". NULL when out of range.
const char *
    zmx__log_severity_name (int severity);
const char *
    zmx__log_facility_name (int facility);

#endif
