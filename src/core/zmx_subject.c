/*  =========================================================================
    zmx_subject - dotted subjects and wildcard patterns (NATS style)

    Validation runs where a subject or pattern enters (an append, a new
    cursor, a subscription), so that the match, which runs per record per
    reader, only compares tokens: no allocation, no copy, one pass.
    =========================================================================
*/
#include "zmx_classes.h"

//  Shared checks; `pattern` allows "*" and ">" tokens.
static bool
s_check (const char *text, size_t size, bool pattern)
{
    if (!text || size == 0 || size > ZMX_SUBJECT_MAX)
        return false;
    size_t tokens = 1, token_size = 0;
    bool wild = false;          //  Current token holds a wildcard character
    for (size_t at = 0; at < size; at++) {
        unsigned char c = (unsigned char) text [at];
        if (c == '.') {
            if (token_size == 0 || (wild && token_size != 1))
                return false;
            if (wild && text [at - 1] == '>')
                return false;           //  ">" only as the last token
            if (++tokens > ZMX_SUBJECT_MAX_TOKENS)
                return false;
            token_size = 0;
            wild = false;
            continue;
        }
        if (c < 0x21 || c > 0x7e)
            return false;
        if (c == '*' || c == '>') {
            if (!pattern)
                return false;
            wild = true;
        }
        token_size++;
    }
    return token_size > 0 && !(wild && token_size != 1);
}

bool
zmx_subject_valid (const char *subject, size_t size)
{
    return s_check (subject, size, false);
}

bool
zmx_subject_pattern_valid (const char *pattern)
{
    return pattern && s_check (pattern, strnlen (pattern, ZMX_SUBJECT_MAX + 1), true);
}

bool
zmx_subject_match (const char *pattern, const char *subject, size_t size)
{
    if (!pattern || !subject)
        return false;
    const char *at = subject, *end = subject + size;
    while (true) {
        const char *token_end = strchr (pattern, '.');
        size_t token_size = token_end? (size_t) (token_end - pattern): strlen (pattern);
        if (token_size == 1 && *pattern == '>')
            return at < end;            //  One or more tokens left
        if (at >= end)
            return false;               //  Pattern is longer
        const char *dot = (const char *) memchr (at, '.', (size_t) (end - at));
        const char *subject_end = dot? dot: end;
        if (!(token_size == 1 && *pattern == '*')
        &&  (token_size != (size_t) (subject_end - at)
        ||   memcmp (pattern, at, token_size) != 0))
            return false;
        if (!token_end)
            return subject_end == end;  //  Both must end together
        if (subject_end == end)
            return false;               //  Subject is shorter
        pattern = token_end + 1;
        at = subject_end + 1;
    }
}
