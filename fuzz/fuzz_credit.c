/*  =========================================================================
    fuzz_credit - libFuzzer target for the credit flow control codec

    Input layout: byte 0 picks the decoding side; then frames, each a
    one-byte length followed by that many bytes (a short last frame takes
    what is left). Checks that the decoder never reads out of bounds and
    that whatever it accepts is self-consistent.
    =========================================================================
*/
#include "zmx_classes.h"

#define S_MAX_FRAMES (ZMX_CREDIT_MAX_BATCH + 8)

//  Unlike assert, stays on in release builds (the fuzz build is one)
#define S_CHECK(condition) do { if (!(condition)) abort (); } while (0)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx_credit_side_t side = data [0] & 1? ZMX_CREDIT_AT_RECEIVER: ZMX_CREDIT_AT_SENDER;
    //  Copy each frame to its own heap block so that ASan sees any read
    //  past a frame's end.
    zmx_credit_frame_t frames [S_MAX_FRAMES];
    size_t count = 0, at = 1;
    while (at < size && count < S_MAX_FRAMES) {
        size_t length = data [at++];
        if (length > size - at)
            length = size - at;
        void *copy = malloc (length? length: 1);
        memcpy (copy, data + at, length);
        frames [count].data = copy;
        frames [count].size = length;
        count++;
        at += length;
    }
    zmx_credit_view_t view;
    int rc = zmx_credit_decode (frames, count, side, &view);
    if (rc == 0) {
        S_CHECK (view.command && !view.error);
        if (side == ZMX_CREDIT_AT_RECEIVER) {
            S_CHECK (view.command == ZMX_CREDIT_DATA);
            S_CHECK (view.segments >= 1 && view.segments <= ZMX_CREDIT_MAX_BATCH);
            S_CHECK (view.segment + view.segments == count);
            for (size_t index = 0; index < view.segments; index++)
                S_CHECK ((view.flags [index] & ~(ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST)) == 0);
        }
        else {
            S_CHECK (view.command != ZMX_CREDIT_DATA);
            if (view.command == ZMX_CREDIT_HELLO || view.command == ZMX_CREDIT_CREDIT) {
                S_CHECK (view.value >= 1 && view.value <= ZMX_CREDIT_MAX_WINDOW);
                //  What we accept we can encode back to the same bytes
                zmsg_t *msg = zmx_credit_command (view.command, view.value);
                zframe_t *value = zmsg_last (msg);
                S_CHECK (zframe_size (value) == 8);
                S_CHECK (memcmp (zframe_data (value), frames [2].data, 8) == 0);
                zmsg_destroy (&msg);
            }
        }
    }
    else
        S_CHECK (view.command == 0 && view.error);
    for (size_t index = 0; index < count; index++)
        free ((void *) frames [index].data);
    return 0;
}
