/*  =========================================================================
    fuzz_mdp - libFuzzer target for the MDP codec

    Input layout: byte 0 picks the decoding side; then frames, each a
    length (one byte, or 255 and two bytes: see fuzz_frames_split)
    followed by that many bytes (a short last frame takes what is left). Checks that the decoder never reads out of bounds and
    that whatever it accepts is self-consistent; a packed header it
    accepts must be exactly what the packed encoder writes for the view.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

//  A packed message the decoder accepted: every range lies in frame 0,
//  and encoding the view again gives frame 0 byte for byte.
static void
s_check_packed (const zmx_mdp_frame_t *frames, size_t count, const zmx_mdp_view_t *view)
{
    const uint8_t *header = (const uint8_t *) frames [0].data;
    size_t size = frames [0].size;
    FUZZ_REQUIRE (view->service == 0 && view->address == 0);
    FUZZ_REQUIRE (view->body == 1 || view->body == count);
    FUZZ_REQUIRE (view->service_offset + view->service_size <= size);
    FUZZ_REQUIRE (view->address_offset + view->address_size <= size);
    FUZZ_REQUIRE (view->address_size <= ZMX_MDP_MAX_ADDRESS);
    FUZZ_REQUIRE (view->credit <= ZMX_MDP_MAX_CREDIT);
    if (view->service_size)
        FUZZ_REQUIRE (zmx_mdp_service_valid (header + view->service_offset,
                                             view->service_size));
    if (view->inline_body)
        FUZZ_REQUIRE (view->inline_offset + view->inline_size == size);
    const void *field = view->service_size? header + view->service_offset
                                          : header + view->address_offset;
    size_t field_size = view->service_size? view->service_size: view->address_size;
    size_t inline_size = view->inline_body? view->inline_size: 0;
    FUZZ_REQUIRE (zmx_mdp_packed_size (view->command, field_size, inline_size) == size);
    uint8_t *again = (uint8_t *) malloc (size);
    size_t at = zmx_mdp_packed_write (again, view->command, view->inline_body, field,
                                      field_size, view->credit);
    FUZZ_REQUIRE (at + inline_size == size);
    FUZZ_REQUIRE (memcmp (again, header, at) == 0);
    free (again);
}

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
        FUZZ_REQUIRE (view.version == 1 || view.version == 2
                      || view.version == ZMX_MDP_PACKED);
        FUZZ_REQUIRE (view.body <= count);
        FUZZ_REQUIRE (view.service < count && view.address < count);
        if (view.service)
            FUZZ_REQUIRE (zmx_mdp_service_valid (frames [view.service].data,
                                           frames [view.service].size));
        if (view.address)
            FUZZ_REQUIRE (frames [view.address + 1].size == 0);
        if (view.version == ZMX_MDP_PACKED)
            s_check_packed (frames, count, &view);
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
