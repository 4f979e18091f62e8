/*  =========================================================================
    fuzz_mdp - libFuzzer target for the MDP codec

    Input layout: byte 0 picks the decoding side; then frames, each a
    one-byte length followed by that many bytes (a short last frame takes
    what is left). Checks that the decoder never reads out of bounds and
    that whatever it accepts is self-consistent.
    =========================================================================
*/
#include "zmx_classes.h"

//  An invariant the fuzzer checks, whatever the build type (assert is
//  compiled out under NDEBUG)
#define S_REQUIRE(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_mdp: %s:%d: %s\n", __FILE__, __LINE__, #condition); \
        abort (); } } while (0)

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx_mdp_side_t side = (zmx_mdp_side_t) (data [0] % 3);
    //  Copy each frame to its own heap block so that ASan sees any read
    //  past a frame's end.
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES + 8];
    size_t count = 0, at = 1;
    while (at < size && count < ZMX_MDP_MAX_FRAMES + 8) {
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
    zmx_mdp_view_t view;
    int rc = zmx_mdp_decode (frames, count, side, &view);
    if (rc == 0) {
        S_REQUIRE (view.command != ZMX_MDP_INVALID);
        S_REQUIRE (view.version == 1 || view.version == 2);
        S_REQUIRE (view.body <= count);
        S_REQUIRE (view.service < count && view.address < count);
        if (view.service)
            S_REQUIRE (zmx_mdp_service_valid (frames [view.service].data,
                                           frames [view.service].size));
        if (view.address)
            S_REQUIRE (frames [view.address + 1].size == 0);
    }
    else
        S_REQUIRE (view.command == ZMX_MDP_INVALID && view.error);

    //  The zmsg path must agree with the array path
    zmsg_t *msg = zmsg_new ();
    for (size_t index = 0; index < count; index++)
        zmsg_addmem (msg, frames [index].data, frames [index].size);
    zmx_mdp_view_t again;
    S_REQUIRE (zmx_mdp_decode_msg (msg, side, &again) == rc);
    S_REQUIRE (again.command == view.command);
    zmsg_destroy (&msg);
    for (size_t index = 0; index < count; index++)
        free ((void *) frames [index].data);
    return 0;
}
