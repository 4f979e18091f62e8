/*  =========================================================================
    fuzz_support - what the codec fuzzers share

    FUZZ_REQUIRE checks an invariant and aborts with its location when it
    fails (unlike assert, also under NDEBUG, which the fuzz build is).
    fuzz_frames_split cuts a fuzzer input into frames for a codec's
    decoder. Header only: each fuzzer is one translation unit.
    =========================================================================
*/
#ifndef FUZZ_SUPPORT_H_INCLUDED
#define FUZZ_SUPPORT_H_INCLUDED

#include "zmx_classes.h"

#define FUZZ_REQUIRE(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "%s:%d: %s\n", __FILE__, __LINE__, #condition); \
        abort (); } } while (0)

//  A one-byte length of this value says that two more bytes hold it
#define FUZZ_LENGTH_ESCAPE 255

//  Split data into at most max frames, each a big-endian length followed
//  by that many bytes; a short last frame takes what is left. With width
//  2 the length is two bytes. With width 1 it is one byte for 0 to 254
//  bytes, or FUZZ_LENGTH_ESCAPE and then two bytes for up to 65535, so
//  that frames over 255 bytes get fuzzed too, while seeds written with
//  one byte per length (all frames shorter than 255) split as before.
//  Each frame is copied to its own heap block of exactly its size (one
//  byte for an empty frame), so that ASan sees any read past a frame's
//  end. Returns the count; the caller releases the copies with
//  fuzz_frames_free.
static inline size_t
fuzz_frames_split (const uint8_t *data, size_t size, size_t width,
                   zmx_frame_t *frames, size_t max)
{
    size_t count = 0, at = 0;
    while (count < max && at + width <= size) {
        size_t length = 0;
        for (size_t index = 0; index < width; index++)
            length = (length << 8) | data [at++];
        if (width == 1 && length == FUZZ_LENGTH_ESCAPE) {
            if (size - at < 2)
                break;          //  An escape without its length: no frame
            length = (size_t) data [at] << 8 | data [at + 1];
            at += 2;
        }
        if (length > size - at)
            length = size - at;
        void *copy = malloc (length? length: 1);
        memcpy (copy, data + at, length);
        frames [count].data = copy;
        frames [count].size = length;
        count++;
        at += length;
    }
    return count;
}

static inline void
fuzz_frames_free (zmx_frame_t *frames, size_t count)
{
    for (size_t index = 0; index < count; index++)
        free ((void *) frames [index].data);
}

#endif
