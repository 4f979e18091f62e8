/*  =========================================================================
    zmx_cli_json - the JSON writer of the listing commands' --json

    A streaming writer: containers are opened and closed in order, and
    commas and the closing newline come by themselves. Strings are bytes
    from the network (service, key and peer names, values), so every byte
    is made safe: '"' and '\' are escaped, control characters (and DEL)
    become \n, \t, ... or \u00XX, valid UTF-8 passes through, and each byte
    that is not part of a valid UTF-8 sequence becomes U+FFFD, so that the
    output is always valid JSON in UTF-8 (docs/CLI.md).
    =========================================================================
*/
#include "zmx_cli.h"

#define S_DEPTH_MAX     8       //  Deepest nesting the listings need

struct _zmx_cli_json_t {
    FILE *stream;               //  Where the document goes
    int depth;                  //  Open containers
    bool first [S_DEPTH_MAX];   //  Nothing written yet in that container
    bool after_key;             //  A key was written: its value comes next
};

zmx_cli_json_t *
zmx_cli_json_new (FILE *stream)
{
    zmx_cli_json_t *self = (zmx_cli_json_t *) zmalloc (sizeof (zmx_cli_json_t));
    self->stream = stream;
    return self;
}

void
zmx_cli_json_destroy (zmx_cli_json_t **self_p)
{
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

//  The comma before a value or key, unless it is the first one
static void
s_separate (zmx_cli_json_t *self)
{
    if (self->after_key)
        self->after_key = false;
    else
    if (self->depth > 0) {
        if (!self->first [self->depth - 1])
            fputc (',', self->stream);
        self->first [self->depth - 1] = false;
    }
}

void
zmx_cli_json_open (zmx_cli_json_t *self, char bracket)
{
    assert (self->depth < S_DEPTH_MAX && (bracket == '[' || bracket == '{'));
    s_separate (self);
    fputc (bracket, self->stream);
    self->first [self->depth++] = true;
}

void
zmx_cli_json_close (zmx_cli_json_t *self, char bracket)
{
    assert (self->depth > 0 && (bracket == ']' || bracket == '}'));
    fputc (bracket, self->stream);
    if (--self->depth == 0) {
        fputc ('\n', self->stream);
        fflush (self->stream);
    }
}

//  Length of the valid UTF-8 sequence at data (size bytes left), or 0:
//  no overlong forms, no surrogates, nothing above U+10FFFF.
size_t
zmx_cli_utf8_length (const unsigned char *data, size_t size)
{
    unsigned char byte = data [0];
    size_t length = byte >= 0xF0 && byte <= 0xF4? 4: byte >= 0xE0? 3: byte >= 0xC2? 2: 0;
    if (byte > 0xF4 || length == 0 || length > size)
        return 0;
    for (size_t index = 1; index < length; index++)
        if ((data [index] & 0xC0) != 0x80)
            return 0;
    if ((byte == 0xE0 && data [1] < 0xA0) || (byte == 0xED && data [1] > 0x9F)
    ||  (byte == 0xF0 && data [1] < 0x90) || (byte == 0xF4 && data [1] > 0x8F))
        return 0;
    return length;
}

void
zmx_cli_json_bytes (zmx_cli_json_t *self, const void *data, size_t size)
{
    s_separate (self);
    const unsigned char *bytes = (const unsigned char *) data;
    FILE *stream = self->stream;
    fputc ('"', stream);
    for (size_t index = 0; index < size; index++) {
        unsigned char byte = bytes [index];
        const char *escape = byte == '"'? "\\\"": byte == '\\'? "\\\\": byte == '\n'? "\\n":
                             byte == '\r'? "\\r": byte == '\t'? "\\t": byte == '\b'? "\\b":
                             byte == '\f'? "\\f": NULL;
        if (escape)
            fputs (escape, stream);
        else
        if (byte < 0x20 || byte == 0x7F)
            fprintf (stream, "\\u%04x", byte);
        else
        if (byte < 0x80)
            fputc (byte, stream);
        else {
            size_t length = zmx_cli_utf8_length (bytes + index, size - index);
            if (length) {
                fwrite (bytes + index, 1, length, stream);
                index += length - 1;
            }
            else
                fputs ("\\ufffd", stream);
        }
    }
    fputc ('"', stream);
}

void
zmx_cli_json_string (zmx_cli_json_t *self, const char *text)
{
    zmx_cli_json_bytes (self, text, strlen (text));
}

void
zmx_cli_json_number (zmx_cli_json_t *self, int64_t number)
{
    s_separate (self);
    fprintf (self->stream, "%" PRId64, number);
}

void
zmx_cli_json_key (zmx_cli_json_t *self, const char *key)
{
    zmx_cli_json_string (self, key);
    fputc (':', self->stream);
    self->after_key = true;
}

void
zmx_cli_json_pair (zmx_cli_json_t *self, const char *key, const char *text)
{
    zmx_cli_json_key (self, key);
    zmx_cli_json_string (self, text);
}

void
zmx_cli_json_pair_number (zmx_cli_json_t *self, const char *key, int64_t number)
{
    zmx_cli_json_key (self, key);
    zmx_cli_json_number (self, number);
}
