/*  =========================================================================
    fuzz_bstar - libFuzzer target for the Binary Star state message codec

    Input layout: frames, each a one-byte length followed by that many
    bytes (a short last frame takes what is left). Checks that the decoder
    never reads out of bounds, that whatever it accepts encodes back to
    the same bytes, and that the state machine takes the decoded state as
    an event from every state.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx/zmx_bstar.h"

#define S_MAX_FRAMES 8

//  Unlike assert, stays on in release builds (the fuzz build is one)
#define S_CHECK(condition) do { if (!(condition)) abort (); } while (0)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  Copy each frame to its own heap block so that ASan sees any read
    //  past a frame's end.
    zmx_bstar_frame_t frames [S_MAX_FRAMES];
    size_t count = 0, at = 0;
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
    zmx_bstar_state_t peer = ZMX_BSTAR_FAILED;
    const char *error = NULL;
    if (zmx_bstar_decode (frames, count, &peer, &error) == 0) {
        S_CHECK (!error && count == 2);
        S_CHECK (peer >= ZMX_BSTAR_PRIMARY && peer <= ZMX_BSTAR_PASSIVE);
        zmsg_t *msg = zmx_bstar_encode (peer);
        zframe_t *header = zmsg_first (msg), *value = zmsg_next (msg);
        S_CHECK (zframe_size (header) == frames [0].size
                 && memcmp (zframe_data (header), frames [0].data, frames [0].size) == 0);
        S_CHECK (zframe_size (value) == 1
                 && memcmp (zframe_data (value), frames [1].data, 1) == 0);
        zmsg_destroy (&msg);
        for (int state = ZMX_BSTAR_PRIMARY; state <= ZMX_BSTAR_FAILED; state++) {
            zmx_bstar_state_t current = (zmx_bstar_state_t) state;
            zmx_bstar_verdict_t verdict = zmx_bstar_step (&current, (zmx_bstar_event_t) peer,
                                                          size & 1, NULL);
            //  A peer's state never rejects: only client requests do
            S_CHECK (verdict == ZMX_BSTAR_OK || verdict == ZMX_BSTAR_FATAL);
            S_CHECK ((verdict == ZMX_BSTAR_FATAL) == (current == ZMX_BSTAR_FAILED
                                                      && state != ZMX_BSTAR_FAILED));
        }
    }
    else
        S_CHECK (error && *error && peer == ZMX_BSTAR_FAILED);
    for (size_t index = 0; index < count; index++)
        free ((void *) frames [index].data);
    return 0;
}
