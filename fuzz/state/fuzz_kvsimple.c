/*  =========================================================================
    fuzz_kvsimple - libFuzzer target for the kvsimple decoder (the Guide's
    Clone Model Four messages, served by the clone server's legacy front end)

    The input is split into a side (first byte: update or request, or an
    invalid one) and frames: each frame a 2-byte big-endian length and that
    many bytes, as long as the input lasts. Checks that the decoder never
    reads beyond the frames, that a refusal leaves an empty view and a
    reason, and that whatever it accepts holds what the server relies on:
    a valid CHP key, an 8-byte sequence, a body within the limit, a
    printable bounded subtree, all pointing into the frames.
    =========================================================================
*/
#include "zmx_classes.h"
#include "state/zmx_state_internal.h"
#include "fuzz_support.h"

#define S_MAX_FRAMES 6
#define S_MAX_BODY 64

static void
s_check_update (const zmx_frame_t *frames, const zmx__kvsimple_view_t *view)
{
    FUZZ_REQUIRE (zmx_chp_key_valid (view->key, view->key_size));
    FUZZ_REQUIRE (view->key == frames [0].data && view->key_size == frames [0].size);
    FUZZ_REQUIRE (frames [1].size == 8);
    FUZZ_REQUIRE (view->sequence == zmx__wire_get (frames [1].data, 8));
    FUZZ_REQUIRE (view->body_size <= S_MAX_BODY && view->body_size == frames [2].size);
    FUZZ_REQUIRE (!view->subtree && view->subtree_size == 0);
}

static void
s_check_request (const zmx_frame_t *frames, const zmx__kvsimple_view_t *view)
{
    FUZZ_REQUIRE (frames [0].size == 8 && memcmp (frames [0].data, "ICANHAZ?", 8) == 0);
    FUZZ_REQUIRE (view->subtree && view->subtree_size == frames [1].size);
    FUZZ_REQUIRE (view->subtree_size <= ZMX_CHP_KEY_MAX);
    for (size_t index = 0; index < view->subtree_size; index++)
        FUZZ_REQUIRE ((unsigned char) view->subtree [index] >= 0x20
                      && view->subtree [index] != 0x7F);
    FUZZ_REQUIRE (!view->key && !view->body);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx__kvsimple_side_t side = (zmx__kvsimple_side_t) (data [0] % 3);     //  0: invalid
    zmx_frame_t frames [S_MAX_FRAMES];
    size_t count = fuzz_frames_split (data + 1, size - 1, 2, frames, S_MAX_FRAMES);
    zmx__kvsimple_view_t view;
    const char *error = NULL;
    if (zmx__kvsimple_decode (frames, count, side, S_MAX_BODY, &view, &error) == 0) {
        FUZZ_REQUIRE (error == NULL && side != 0);
        if (side == ZMX__KVSIMPLE_UPDATE) {
            FUZZ_REQUIRE (count == 3);
            s_check_update (frames, &view);
        }
        else {
            FUZZ_REQUIRE (count == 2);
            s_check_request (frames, &view);
        }
    }
    else
        FUZZ_REQUIRE (error && !view.key && !view.body && !view.subtree && view.sequence == 0);
    fuzz_frames_free (frames, count);
    return 0;
}
