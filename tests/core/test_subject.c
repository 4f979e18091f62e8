/*  =========================================================================
    test_subject - dotted subjects and wildcard patterns (zmx_subject):
    validation of subjects and patterns, and matching with "*" and ">"
    =========================================================================
*/
#include "testing.h"

static void
s_subject_valid (void)
{
    const char *good [] = { "a", "app.db.error", "A-b_c.9", "x.y.z.w", "~!@#$%^&()" };
    for (size_t index = 0; index < ZMX_TEST_COUNT (good); index++)
        ZMX_CHECK (zmx_subject_valid (good [index], strlen (good [index])));
    const char *bad [] = { "", ".", "a.", ".a", "a..b", "a b", "a\tb", "a.*", "a.>", "*",
                           "a*", "caf\xc3\xa9" };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad); index++)
        ZMX_CHECK (!zmx_subject_valid (bad [index], strlen (bad [index])));
    ZMX_CHECK (!zmx_subject_valid (NULL, 0));
    char text [ZMX_SUBJECT_MAX + 2];
    memset (text, 'a', sizeof text);
    ZMX_CHECK (zmx_subject_valid (text, ZMX_SUBJECT_MAX));
    ZMX_CHECK (!zmx_subject_valid (text, ZMX_SUBJECT_MAX + 1));
    //  Tokens: 32 allowed, 33 not
    char tokens [80] = "";
    for (int index = 0; index < 33; index++)
        strcat (tokens, index? ".a": "a");
    ZMX_CHECK (!zmx_subject_valid (tokens, strlen (tokens)));
    ZMX_CHECK (zmx_subject_valid (tokens, strlen (tokens) - 2));
    const char *patterns [] = { ">", "*", "a.*", "a.>", "*.*.>", "a.*.c" };
    for (size_t index = 0; index < ZMX_TEST_COUNT (patterns); index++)
        ZMX_CHECK (zmx_subject_pattern_valid (patterns [index]));
    const char *bad_patterns [] = { "", ">.a", "a.>.b", "a*", "**", "a.>>", "a..*", "*.", " ",
                                    "a.b*" };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad_patterns); index++)
        ZMX_CHECK (!zmx_subject_pattern_valid (bad_patterns [index]));
    ZMX_CHECK (!zmx_subject_pattern_valid (NULL));
}

static bool
s_match (const char *pattern, const char *subject)
{
    return zmx_subject_match (pattern, subject, strlen (subject));
}

static void
s_subject_match (void)
{
    ZMX_CHECK (s_match ("a.b.c", "a.b.c"));
    ZMX_CHECK (!s_match ("a.b.c", "a.b"));
    ZMX_CHECK (!s_match ("a.b", "a.b.c"));
    ZMX_CHECK (!s_match ("a.b.c", "a.b.cd"));
    ZMX_CHECK (!s_match ("a.b.cd", "a.b.c"));
    ZMX_CHECK (s_match ("a.*.c", "a.xyz.c"));
    ZMX_CHECK (!s_match ("a.*.c", "a.x.y.c"));
    ZMX_CHECK (!s_match ("a.*", "a"));
    ZMX_CHECK (s_match ("*", "a"));
    ZMX_CHECK (!s_match ("*", "a.b"));
    ZMX_CHECK (s_match ("a.>", "a.b"));
    ZMX_CHECK (s_match ("a.>", "a.b.c.d"));
    ZMX_CHECK (!s_match ("a.>", "a"));
    ZMX_CHECK (!s_match ("a.>", "ab.c"));
    ZMX_CHECK (s_match (">", "a"));
    ZMX_CHECK (s_match (">", "a.b.c"));
    ZMX_CHECK (s_match ("*.>", "a.b"));
    ZMX_CHECK (!s_match ("*.>", "a"));
    ZMX_CHECK (s_match ("*.*.*", "x.y.z"));
    ZMX_CHECK (!s_match ("*.*.*", "x.y"));
    //  The subject is a (pointer, size) view: bytes past size do not count
    ZMX_CHECK (zmx_subject_match ("a.b", "a.b.c", 3));
    ZMX_CHECK (!zmx_subject_match ("a.b", NULL, 0));
    ZMX_CHECK (!zmx_subject_match (NULL, "a", 1));
}

//  A match allocates nothing and takes well under a microsecond: a
//  million matches run far inside the case's limit even under load.
static void
s_subject_match_many (void)
{
    const char *subject = "app.eu-west.db.primary.error";
    size_t size = strlen (subject), matched = 0;
    for (int index = 0; index < 1000000; index++)
        matched += zmx_subject_match (index % 2? "app.*.db.>": "app.*.web.>", subject, size);
    ZMX_CHECK (matched == 500000);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "subject_valid", s_subject_valid, 10 },
        { "subject_match", s_subject_match, 10 },
        { "subject_match_many", s_subject_match_many, 30 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
