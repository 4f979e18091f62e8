/*  =========================================================================
    fuzz_bstar - libFuzzer target for the Binary Star state message codec

    Input layout: frames, each a length (one byte, or 255 and two bytes:
    see fuzz_frames_split) followed by that many bytes (a short last frame
    takes what is left). Checks that the decoder
    never reads out of bounds, that whatever it accepts encodes back to
    the same bytes, and that the state machine takes the decoded state as
    an event from every state.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"
#include "zmx/zmx_bstar.h"

#define S_MAX_FRAMES 8

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmx_bstar_frame_t frames [S_MAX_FRAMES];
    size_t count = fuzz_frames_split (data, size, 1, frames, S_MAX_FRAMES);
    zmx_bstar_state_t peer = ZMX_BSTAR_FAILED;
    const char *error = NULL;
    if (zmx_bstar_decode (frames, count, &peer, &error) == 0) {
        FUZZ_REQUIRE (!error && count == 2);
        FUZZ_REQUIRE (peer >= ZMX_BSTAR_PRIMARY && peer <= ZMX_BSTAR_PASSIVE);
        zmsg_t *msg = zmx_bstar_encode (peer);
        zframe_t *header = zmsg_first (msg), *value = zmsg_next (msg);
        FUZZ_REQUIRE (zframe_size (header) == frames [0].size
                 && memcmp (zframe_data (header), frames [0].data, frames [0].size) == 0);
        FUZZ_REQUIRE (zframe_size (value) == 1
                 && memcmp (zframe_data (value), frames [1].data, 1) == 0);
        zmsg_destroy (&msg);
        for (int state = ZMX_BSTAR_PRIMARY; state <= ZMX_BSTAR_FAILED; state++) {
            zmx_bstar_state_t current = (zmx_bstar_state_t) state;
            zmx_bstar_verdict_t verdict = zmx_bstar_step (&current, (zmx_bstar_event_t) peer,
                                                          size & 1, NULL);
            //  A peer's state never rejects: only client requests do
            FUZZ_REQUIRE (verdict == ZMX_BSTAR_OK || verdict == ZMX_BSTAR_FATAL);
            FUZZ_REQUIRE ((verdict == ZMX_BSTAR_FATAL) == (current == ZMX_BSTAR_FAILED
                                                      && state != ZMX_BSTAR_FAILED));
        }
    }
    else
        FUZZ_REQUIRE (error && *error && peer == ZMX_BSTAR_FAILED);
    fuzz_frames_free (frames, count);
    return 0;
}
