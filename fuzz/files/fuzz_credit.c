/*  =========================================================================
    fuzz_credit - libFuzzer target for the credit flow control codec

    Input layout: byte 0 picks the decoding side; then frames, each a
    length (one byte, or 255 and two bytes: see fuzz_frames_split)
    followed by that many bytes (a short last frame takes what is left). Checks that the decoder never reads out of bounds and
    that whatever it accepts is self-consistent.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

#define S_MAX_FRAMES (ZMX_CREDIT_MAX_BATCH + 8)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx_credit_side_t side = data [0] & 1? ZMX_CREDIT_AT_RECEIVER: ZMX_CREDIT_AT_SENDER;
    zmx_credit_frame_t frames [S_MAX_FRAMES];
    size_t count = fuzz_frames_split (data + 1, size - 1, 1, frames, S_MAX_FRAMES);
    zmx_credit_view_t view;
    int rc = zmx_credit_decode (frames, count, side, &view);
    if (rc == 0) {
        FUZZ_REQUIRE (view.command && !view.error);
        if (side == ZMX_CREDIT_AT_RECEIVER) {
            FUZZ_REQUIRE (view.command == ZMX_CREDIT_DATA);
            FUZZ_REQUIRE (view.segments >= 1 && view.segments <= ZMX_CREDIT_MAX_BATCH);
            FUZZ_REQUIRE (view.segment + view.segments == count);
            for (size_t index = 0; index < view.segments; index++)
                FUZZ_REQUIRE ((view.flags [index] & ~(ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST)) == 0);
        }
        else {
            FUZZ_REQUIRE (view.command != ZMX_CREDIT_DATA);
            if (view.command == ZMX_CREDIT_HELLO || view.command == ZMX_CREDIT_CREDIT) {
                FUZZ_REQUIRE (view.value >= 1 && view.value <= ZMX_CREDIT_MAX_WINDOW);
                //  What we accept we can encode back to the same bytes
                zmsg_t *msg = zmx_credit_command (view.command, view.value);
                zframe_t *value = zmsg_last (msg);
                FUZZ_REQUIRE (zframe_size (value) == 8);
                FUZZ_REQUIRE (memcmp (zframe_data (value), frames [2].data, 8) == 0);
                zmsg_destroy (&msg);
            }
        }
    }
    else
        FUZZ_REQUIRE (view.command == 0 && view.error);
    fuzz_frames_free (frames, count);
    return 0;
}
