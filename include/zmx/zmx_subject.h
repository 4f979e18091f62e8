/*  =========================================================================
    zmx_subject - dotted subjects and wildcard patterns (NATS style)

    A subject names what a record or message is about: tokens separated by
    dots, e.g. "app.db.error". A pattern selects subjects: a token "*"
    matches exactly one token, and a last token ">" matches one or more
    trailing tokens. This is the one wildcard syntax of zmx.

        "app.*.error"  matches "app.db.error", not "app.db.x.error"
        "app.>"        matches "app.db" and "app.db.error", not "app"
        ">"            matches every subject

    Rules, for subjects and patterns alike: 1 to ZMX_SUBJECT_MAX bytes, at
    most ZMX_SUBJECT_MAX_TOKENS tokens, no empty token (no leading,
    trailing or double dot), only printable ASCII without spaces (0x21 to
    0x7e). A subject may not contain '*' or '>' at all; in a pattern they
    stand alone as a token, and ">" only as the last one.

    Matching walks both strings once and allocates nothing.
    =========================================================================
*/
#ifndef ZMX_SUBJECT_H_INCLUDED
#define ZMX_SUBJECT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_SUBJECT_MAX         255     //  Bytes in a subject or pattern
#define ZMX_SUBJECT_MAX_TOKENS  32      //  Tokens in a subject or pattern

//  True if the `size` bytes at `subject` are a valid subject. NULL is not.
bool
    zmx_subject_valid (const char *subject, size_t size);

//  True if the string `pattern` is a valid pattern. NULL is not.
bool
    zmx_subject_pattern_valid (const char *pattern);

//  True if the `size` bytes at `subject` match the string `pattern`. Both
//  should be valid (checked once, where they enter); invalid input gives
//  a defined answer (false, or a match by the rules above) and no fault.
bool
    zmx_subject_match (const char *pattern, const char *subject, size_t size);

#ifdef __cplusplus
}
#endif
#endif
