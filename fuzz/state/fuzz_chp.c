/*  =========================================================================
    fuzz_chp - libFuzzer target for the 12/CHP codec

    The input is split into a side (first byte) and frames: each frame is
    a 2-byte big-endian length and that many bytes, as long as the input
    lasts. Checks that the decoder never reads beyond the frames, that a
    refusal leaves an empty view and a reason, and that whatever it
    accepts passes zmx_chp_check and encodes to frames that decode to the
    same command, sequence, key and value.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

#define S_MAX_FRAMES 8

static void
s_check_round_trip (const zmx_chp_view_t *view, zmx_chp_side_t side)
{
    FUZZ_REQUIRE (zmx_chp_check (view, NULL) == 0);
    zmsg_t *msg = zmx_chp_encode (view);
    FUZZ_REQUIRE (msg);
    zmx_chp_frame_t frames [S_MAX_FRAMES];
    size_t count = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        frames [count].data = zframe_data (frame);
        frames [count].size = zframe_size (frame);
        count++;
    }
    zmx_chp_view_t again;
    FUZZ_REQUIRE (zmx_chp_decode (frames, count, side, &again, NULL) == 0);
    FUZZ_REQUIRE (again.command == view->command && again.sequence == view->sequence);
    FUZZ_REQUIRE (again.key_size == view->key_size && again.value_size == view->value_size);
    FUZZ_REQUIRE (again.subtree_size == view->subtree_size);
    if (view->key_size)
        FUZZ_REQUIRE (memcmp (again.key, view->key, view->key_size) == 0);
    if (view->value_size)
        FUZZ_REQUIRE (memcmp (again.value, view->value, view->value_size) == 0);
    zmsg_destroy (&msg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx_chp_side_t side = (zmx_chp_side_t) (data [0] % 5);  //  0: an invalid side
    zmx_chp_frame_t frames [S_MAX_FRAMES];
    size_t count = fuzz_frames_split (data + 1, size - 1, 2, frames, S_MAX_FRAMES);
    zmx_chp_view_t view;
    const char *error = NULL;
    if (zmx_chp_decode (frames, count, side, &view, &error) == 0) {
        FUZZ_REQUIRE (error == NULL);
        s_check_round_trip (&view, side);
        uint64_t ttl;
        int rc = zmx_chp_ttl (view.properties, view.properties_size, &ttl);
        FUZZ_REQUIRE (rc == -1 || (rc == 0 && ttl == 0) || (rc == 1 && ttl >= 1
                   && ttl <= ZMX_CHP_TTL_MAX));
    }
    else
        FUZZ_REQUIRE (error && view.command == 0 && !view.key && !view.value);
    fuzz_frames_free (frames, count);
    return 0;
}
