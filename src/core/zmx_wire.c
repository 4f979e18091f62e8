/*  =========================================================================
    zmx_wire - field writers and checks the binary codecs share

    The FILEMQ and ZRE codecs (zmx_fmq.c, zmx_zre.c) lay out strings,
    long strings and dictionaries the same way: a big-endian length, then
    the bytes. Callers size the frame first, so the writers here never
    check for room.
    =========================================================================
*/
#include "zmx_classes.h"

bool
zmx__wire_text_valid (const byte *text, size_t size)
{
    for (size_t index = 0; index < size; index++)
        if (text [index] < 0x20 || text [index] == 0x7F)
            return false;
    return true;
}

byte *
zmx__wire_put_text (byte *at, const char *text, size_t width)
{
    size_t size = strlen (text);
    at = zmx__wire_put (at, size, width);
    memcpy (at, text, size);
    return at + size;
}

byte *
zmx__wire_put_dict (byte *at, zhash_t *dict)
{
    at = zmx__wire_put (at, dict? zhash_size (dict): 0, 4);
    if (dict)
        for (const char *value = (const char *) zhash_first (dict); value;
             value = (const char *) zhash_next (dict)) {
            at = zmx__wire_put_text (at, zhash_cursor (dict), 1);
            at = zmx__wire_put_text (at, value, 4);
        }
    return at;
}
