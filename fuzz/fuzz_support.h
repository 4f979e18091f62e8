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

//  Split data into at most max frames, each a big-endian length of
//  width bytes (1 or 2) followed by that many bytes; a short last frame
//  takes what is left. Each frame is copied to its own heap block of
//  exactly its size (one byte for an empty frame), so that ASan sees any
//  read past a frame's end. Returns the count; the caller releases the
//  copies with fuzz_frames_free.
static inline size_t
fuzz_frames_split (const uint8_t *data, size_t size, size_t width,
                   zmx_frame_t *frames, size_t max)
{
    size_t count = 0, at = 0;
    while (count < max && at + width <= size) {
        size_t length = 0;
        for (size_t index = 0; index < width; index++)
            length = (length << 8) | data [at++];
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
