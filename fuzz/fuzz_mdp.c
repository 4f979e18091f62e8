/*  =========================================================================
    fuzz_mdp - libFuzzer target for the MDP codec

    Input layout: byte 0 picks the decoding side; then frames, each a
    one-byte length followed by that many bytes (a short last frame takes
    what is left). Checks that the decoder never reads out of bounds and
    that whatever it accepts is self-consistent.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx_mdp_side_t side = (zmx_mdp_side_t) (data [0] % 3);
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES + 8];
    size_t count = fuzz_frames_split (data + 1, size - 1, 1, frames, ZMX_MDP_MAX_FRAMES + 8);
    zmx_mdp_view_t view;
    int rc = zmx_mdp_decode (frames, count, side, &view);
    if (rc == 0) {
        FUZZ_REQUIRE (view.command != ZMX_MDP_INVALID);
        FUZZ_REQUIRE (view.version == 1 || view.version == 2);
        FUZZ_REQUIRE (view.body <= count);
        FUZZ_REQUIRE (view.service < count && view.address < count);
        if (view.service)
            FUZZ_REQUIRE (zmx_mdp_service_valid (frames [view.service].data,
                                           frames [view.service].size));
        if (view.address)
            FUZZ_REQUIRE (frames [view.address + 1].size == 0);
    }
    else
        FUZZ_REQUIRE (view.command == ZMX_MDP_INVALID && view.error);

    //  The zmsg path must agree with the array path
    zmsg_t *msg = zmsg_new ();
    for (size_t index = 0; index < count; index++)
        zmsg_addmem (msg, frames [index].data, frames [index].size);
    zmx_mdp_view_t again;
    FUZZ_REQUIRE (zmx_mdp_decode_msg (msg, side, &again) == rc);
    FUZZ_REQUIRE (again.command == view.command);
    zmsg_destroy (&msg);
    fuzz_frames_free (frames, count);
    return 0;
}
