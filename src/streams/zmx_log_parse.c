/*  =========================================================================
    zmx_log_parse - the log ingest's parsers (syslog, zsys lines, level
    names); see zmx_log_parse.h

    Every parser walks the input with a pointer and its end, and checks
    that a byte is there before reading it: the input is a peer's
    datagram or frame, of any size, and is not NUL-terminated.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_log_parse.h"

#define S_PRIVAL_MAX        191         //  Facility 23, severity 7
#define S_HOSTNAME_MAX      255         //  RFC 5424 field limits
#define S_APP_NAME_MAX      48
#define S_PROCID_MAX        128
#define S_MSGID_MAX         32
#define S_SD_NAME_MAX       32
#define S_TAG_MAX           48          //  RFC 3164 says 32; senders use more
#define S_ZSYS_DATE_SIZE    17          //  "yy-mm-dd hh:mm:ss"

static const char *s_severity_names [] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"
};

static const char *s_facility_names [] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "audit", "console", "clock",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"
};

static const char *s_months [] = {
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

//  Printable US-ASCII without space, as RFC 5424 PRINTUSASCII
static inline bool
s_printusascii (char c)
{
    return (unsigned char) c >= 0x21 && (unsigned char) c <= 0x7e;
}

static inline bool
s_digit (char c)
{
    return c >= '0' && c <= '9';
}

//  True if text [0 .. count) are all digits (the caller checked the size).
static bool
s_digits (const char *text, size_t count)
{
    for (size_t index = 0; index < count; index++)
        if (!s_digit (text [index]))
            return false;
    return true;
}

static int
s_two_digits (const char *text)
{
    return (text [0] - '0') * 10 + text [1] - '0';
}

static void
s_text_set (zmx__log_text_t *field, const char *data, size_t size)
{
    field->data = data;
    field->size = data? size: 0;
}

//  -------------------------------------------------------------------------
//  Pieces of the syslog grammars

//  "<PRIVAL>": 1 to 3 digits, no leading zero (but "<0>"), at most 191.
//  Returns PRIVAL and moves *at_p past the '>', or -1.
static int
s_parse_pri (const char **at_p, const char *end)
{
    const char *at = *at_p;
    if (at == end || *at != '<')
        return -1;
    at++;
    int value = 0, digits = 0;
    while (at < end && s_digit (*at) && digits < 4) {
        value = value * 10 + *at - '0';
        digits++;
        at++;
    }
    if (digits == 0 || digits > 3 || at == end || *at != '>'
    ||  (digits > 1 && (*at_p) [1] == '0') || value > S_PRIVAL_MAX)
        return -1;
    *at_p = at + 1;
    return value;
}

//  An RFC 3339 timestamp as RFC 5424 allows it:
//  YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|+HH:MM|-HH:MM)
static bool
s_rfc3339_valid (const char *text, size_t size)
{
    if (size < 20 || !s_digits (text, 4) || text [4] != '-' || !s_digits (text + 5, 2)
    ||  text [7] != '-' || !s_digits (text + 8, 2) || text [10] != 'T'
    ||  !s_digits (text + 11, 2) || text [13] != ':' || !s_digits (text + 14, 2)
    ||  text [16] != ':' || !s_digits (text + 17, 2))
        return false;
    int month = s_two_digits (text + 5), day = s_two_digits (text + 8);
    if (month < 1 || month > 12 || day < 1 || day > 31 || s_two_digits (text + 11) > 23
    ||  s_two_digits (text + 14) > 59 || s_two_digits (text + 17) > 60)
        return false;
    size_t at = 19;
    if (text [at] == '.') {
        size_t digits = 0;
        for (at++; at < size && s_digit (text [at]); at++)
            digits++;
        if (digits < 1 || digits > 6)
            return false;
    }
    if (at == size)
        return false;
    if (text [at] == 'Z')
        return at + 1 == size;
    if (text [at] != '+' && text [at] != '-')
        return false;
    at++;
    return size - at == 5 && s_digits (text + at, 2) && text [at + 2] == ':'
        && s_digits (text + at + 3, 2) && s_two_digits (text + at) <= 23
        && s_two_digits (text + at + 3) <= 59;
}

//  One RFC 5424 header field: 1 to `max` PRINTUSASCII bytes followed by a
//  space; "-" (NILVALUE) gives an absent field.
static bool
s_parse_field (const char **at_p, const char *end, size_t max, zmx__log_text_t *field)
{
    const char *start = *at_p, *at = start;
    while (at < end && *at != ' ') {
        if (!s_printusascii (*at))
            return false;
        at++;
    }
    size_t size = (size_t) (at - start);
    if (size == 0 || size > max || at == end)
        return false;
    s_text_set (field, size == 1 && *start == '-'? NULL: start, size);
    *at_p = at + 1;
    return true;
}

//  SD-NAME: 1 to 32 PRINTUSASCII except '=', ']' and '"'.
static bool
s_parse_sd_name (const char **at_p, const char *end)
{
    const char *at = *at_p;
    while (at < end && s_printusascii (*at) && *at != '=' && *at != ']' && *at != '"')
        at++;
    size_t size = (size_t) (at - *at_p);
    *at_p = at;
    return size >= 1 && size <= S_SD_NAME_MAX;
}

//  PARAM-VALUE after its opening quote, up to and past the closing one.
//  A backslash escapes '"', '\' and ']' (RFC 5424 6.3.3); before any other
//  byte it is an ordinary byte.
static bool
s_skip_param_value (const char **at_p, const char *end)
{
    const char *at = *at_p;
    while (at < end) {
        if (*at == '\\' && at + 1 < end
        &&  (at [1] == '"' || at [1] == '\\' || at [1] == ']'))
            at += 2;
        else
        if (*at == '"') {
            *at_p = at + 1;
            return true;
        }
        else
            at++;
    }
    return false;
}

//  STRUCTURED-DATA: "-" or one or more [SD-ID *(SP NAME="VALUE")].
static bool
s_skip_structured_data (const char **at_p, const char *end)
{
    const char *at = *at_p;
    if (at < end && *at == '-') {
        *at_p = at + 1;
        return true;
    }
    if (at == end || *at != '[')
        return false;
    while (at < end && *at == '[') {
        at++;
        if (!s_parse_sd_name (&at, end))
            return false;
        while (true) {
            if (at == end)
                return false;
            if (*at == ']') {
                at++;
                break;
            }
            if (*at != ' ')
                return false;
            at++;
            if (!s_parse_sd_name (&at, end) || end - at < 2 || at [0] != '=' || at [1] != '"')
                return false;
            at += 2;
            if (!s_skip_param_value (&at, end))
                return false;
        }
    }
    *at_p = at;
    return true;
}

//  RFC 5424 after the PRI: VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP
//  PROCID SP MSGID SP STRUCTURED-DATA [SP MSG]. Fills message (format,
//  fields, msg) only when all of it is valid.
static bool
s_parse_rfc5424 (const char *at, const char *end, zmx__syslog_t *message)
{
    if (end - at < 2 || at [0] != '1' || at [1] != ' ')
        return false;
    at += 2;
    zmx__syslog_t parsed = *message;
    if (!s_parse_field (&at, end, 64, &parsed.time)
    ||  (parsed.time.data && !s_rfc3339_valid (parsed.time.data, parsed.time.size))
    ||  !s_parse_field (&at, end, S_HOSTNAME_MAX, &parsed.host)
    ||  !s_parse_field (&at, end, S_APP_NAME_MAX, &parsed.app)
    ||  !s_parse_field (&at, end, S_PROCID_MAX, &parsed.pid)
    ||  !s_parse_field (&at, end, S_MSGID_MAX, &parsed.msgid)
    ||  !s_skip_structured_data (&at, end))
        return false;
    if (at < end) {
        if (*at != ' ')
            return false;
        at++;
        //  MSG-UTF8 starts with a BOM, which is not part of the text
        if (end - at >= 3 && memcmp (at, "\xEF\xBB\xBF", 3) == 0)
            at += 3;
    }
    s_text_set (&parsed.msg, at, (size_t) (end - at));
    parsed.format = ZMX__SYSLOG_RFC5424;
    *message = parsed;
    return true;
}

//  The BSD timestamp "Mmm dd hh:mm:ss" (day space-padded, or two digits),
//  15 bytes.
static bool
s_bsd_time_valid (const char *text, size_t size)
{
    if (size < 15 || text [3] != ' ' || text [6] != ' ' || text [9] != ':' || text [12] != ':'
    ||  !s_digits (text + 7, 2) || !s_digits (text + 10, 2) || !s_digits (text + 13, 2))
        return false;
    bool month_known = false;
    for (size_t index = 0; index < 12; index++)
        if (memcmp (text, s_months [index], 3) == 0)
            month_known = true;
    int day = (text [4] == ' '? 0: (text [4] - '0') * 10) + text [5] - '0';
    if (!month_known || !(text [4] == ' ' || s_digit (text [4])) || !s_digit (text [5])
    ||  day < 1 || day > 31)
        return false;
    return s_two_digits (text + 7) <= 23 && s_two_digits (text + 10) <= 59
        && s_two_digits (text + 13) <= 60;
}

//  The RFC 3164 TAG at the start of CONTENT: "TAG: " or "TAG[PID]: ".
//  Sets app and pid and moves *at_p to the text when there is one.
static void
s_parse_tag (const char **at_p, const char *end, zmx__syslog_t *message)
{
    const char *start = *at_p, *at = start;
    while (at < end && s_printusascii (*at) && *at != '[' && *at != ':')
        at++;
    size_t tag_size = (size_t) (at - start);
    if (tag_size == 0 || tag_size > S_TAG_MAX || at == end)
        return;
    const char *pid = NULL;
    size_t pid_size = 0;
    if (*at == '[') {
        pid = ++at;
        while (at < end && s_printusascii (*at) && *at != ']')
            at++;
        pid_size = (size_t) (at - pid);
        if (at == end || *at != ']' || pid_size == 0 || pid_size > S_PROCID_MAX)
            return;
        at++;
    }
    if (at == end || *at != ':')
        return;
    at++;
    if (at < end && *at == ' ')
        at++;
    s_text_set (&message->app, start, tag_size);
    s_text_set (&message->pid, pid, pid_size);
    *at_p = at;
}

//  RFC 3164 after the PRI: TIMESTAMP SP [HOSTNAME SP] [TAG: ] text. The
//  hostname is optional in practice (local senders leave it out): the
//  word after the timestamp is taken as the hostname unless it is a tag
//  (holds '[' or ends with ':').
static bool
s_parse_rfc3164 (const char *at, const char *end, zmx__syslog_t *message)
{
    size_t rest = (size_t) (end - at);
    size_t time_size = 0;
    if (s_bsd_time_valid (at, rest))
        time_size = 15;
    else {
        //  rsyslog's forwarding formats may use an RFC 3339 time instead
        const char *space = memchr (at, ' ', rest);
        size_t token = space? (size_t) (space - at): rest;
        if (token <= 64 && s_rfc3339_valid (at, token))
            time_size = token;
    }
    if (time_size == 0 || (time_size < rest && at [time_size] != ' '))
        return false;
    s_text_set (&message->time, at, time_size);
    at += time_size;
    if (at < end)
        at++;
    const char *word = at;
    while (at < end && s_printusascii (*at) && *at != '[')
        at++;
    size_t word_size = (size_t) (at - word);
    if (at < end && *at == ' ' && word_size > 0 && word_size <= S_HOSTNAME_MAX
    &&  word [word_size - 1] != ':') {
        s_text_set (&message->host, word, word_size);
        at++;
    }
    else
        at = word;
    s_parse_tag (&at, end, message);
    s_text_set (&message->msg, at, (size_t) (end - at));
    message->format = ZMX__SYSLOG_RFC3164;
    return true;
}

//  -------------------------------------------------------------------------
//  Public parsers

int
zmx__syslog_parse (const void *data, size_t size, zmx__syslog_t *message)
{
    assert (message);
    const char *text = (const char *) data;
    memset (message, 0, sizeof (zmx__syslog_t));
    //  Senders end a datagram with LF, CR LF or NUL now and then
    if (size > 0 && text [size - 1] == '\0')
        size--;
    if (size > 0 && text [size - 1] == '\n')
        size--;
    if (size > 0 && text [size - 1] == '\r')
        size--;
    if (size == 0 || !zmx__log_text_valid (text, size))
        return -1;
    const char *at = text, *end = text + size;
    int prival = s_parse_pri (&at, end);
    if (prival < 0) {
        //  No PRI: the whole datagram is the message (RFC 3164 4.3.3)
        message->facility = ZMX__LOG_DEFAULT_FACILITY;
        message->severity = ZMX__LOG_DEFAULT_SEVERITY;
        message->format = ZMX__SYSLOG_TEXT;
        s_text_set (&message->msg, text, size);
        return 0;
    }
    message->facility = prival / 8;
    message->severity = prival % 8;
    if (s_parse_rfc5424 (at, end, message) || s_parse_rfc3164 (at, end, message))
        return 0;
    //  A PRI and no timestamp: the rest is the message (RFC 3164 4.3.2)
    message->format = ZMX__SYSLOG_TEXT;
    s_text_set (&message->msg, at, (size_t) (end - at));
    return 0;
}

size_t
zmx__syslog_subject (const zmx__syslog_t *message, char *subject)
{
    assert (message && subject);
    const char *facility = zmx__log_facility_name (message->facility);
    const char *severity = zmx__log_severity_name (message->severity);
    size_t length = (size_t) snprintf (subject, ZMX__LOG_SUBJECT_SIZE, "syslog.%s.",
                                       facility? facility: "user");
    size_t app_size = message->app.data? message->app.size: 0;
    if (app_size > ZMX__LOG_APP_TOKEN_MAX)
        app_size = ZMX__LOG_APP_TOKEN_MAX;
    if (app_size == 0)
        subject [length++] = '-';
    for (size_t index = 0; index < app_size; index++) {
        char c = message->app.data [index];
        subject [length++] = s_printusascii (c) && c != '.' && c != '*' && c != '>'? c: '_';
    }
    length += (size_t) snprintf (subject + length, ZMX__LOG_SUBJECT_SIZE - length, ".%s",
                                 severity? severity: "notice");
    return length;
}

//  "yy-mm-dd hh:mm:ss" as zsys writes it (strftime "%y-%m-%d %H:%M:%S")
static bool
s_zsys_date_valid (const char *text, size_t size)
{
    return size >= S_ZSYS_DATE_SIZE && s_digits (text, 2) && text [2] == '-'
        && s_digits (text + 3, 2) && text [5] == '-' && s_digits (text + 6, 2)
        && text [8] == ' ' && s_digits (text + 9, 2) && text [11] == ':'
        && s_digits (text + 12, 2) && text [14] == ':' && s_digits (text + 15, 2);
}

bool
zmx__zsys_parse (const void *data, size_t size, zmx__zsys_line_t *line)
{
    assert (line);
    const char *text = (const char *) data;
    memset (line, 0, sizeof (zmx__zsys_line_t));
    if (size < 3 + S_ZSYS_DATE_SIZE || text [1] != ':' || text [2] != ' ')
        return false;
    const char *letter = strchr ("EWNID", text [0]);
    if (!letter || text [0] == '\0')
        return false;
    size_t at = 3;
    if (text [at] == '(') {
        //  The ident may hold anything, ")" and spaces too: it ends at the
        //  first ") " that a date follows
        size_t close = at + 1;
        while (close + 1 < size
           && !(text [close] == ')' && text [close + 1] == ' '
             && s_zsys_date_valid (text + close + 2, size - close - 2)))
            close++;
        if (close + 1 >= size)
            return false;
        s_text_set (&line->ident, text + at + 1, close - at - 1);
        at = close + 2;
    }
    if (!s_zsys_date_valid (text + at, size - at))
        return false;
    s_text_set (&line->time, text + at, S_ZSYS_DATE_SIZE);
    at += S_ZSYS_DATE_SIZE;
    if (at < size) {
        if (text [at] != ' ')
            return false;
        at++;
    }
    line->severity = 3 + (int) (letter - "EWNID");
    s_text_set (&line->text, text + at, size - at);
    return true;
}

bool
zmx__log_text_valid (const void *data, size_t size)
{
    const unsigned char *bytes = (const unsigned char *) data;
    for (size_t index = 0; index < size; index++) {
        unsigned char c = bytes [index];
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return false;
    }
    return true;
}

int
zmx__log_severity_from_name (const char *name, size_t size)
{
    static const struct { const char *name; int severity; } s_levels [] = {
        { "emerg", 0 }, { "alert", 1 }, { "crit", 2 }, { "error", 3 }, { "err", 3 },
        { "warning", 4 }, { "warn", 4 }, { "notice", 5 }, { "info", 6 }, { "debug", 7 }
    };
    for (size_t index = 0; index < sizeof (s_levels) / sizeof (s_levels [0]); index++)
        if (strlen (s_levels [index].name) == size
        &&  strncasecmp (s_levels [index].name, name, size) == 0)
            return s_levels [index].severity;
    return -1;
}

int
zmx__log_subject_severity (const char *subject, size_t size)
{
    size_t start = size;
    while (start > 0 && subject [start - 1] != '.')
        start--;
    return zmx__log_severity_from_name (subject + start, size - start);
}

const char *
zmx__log_severity_name (int severity)
{
    return severity >= 0 && severity <= 7? s_severity_names [severity]: NULL;
}

const char *
zmx__log_facility_name (int facility)
{
    return facility >= 0 && facility <= 23? s_facility_names [facility]: NULL;
}
