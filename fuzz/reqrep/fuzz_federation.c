/*  =========================================================================
    fuzz_federation - libFuzzer target for the MDPF01 federation codec

    Input layout as fuzz_mdp: byte 0 picks the decoding side (even: the
    broker's ROUTER, odd: a peer link); then frames, each a length (one
    byte, or 255 and two bytes: see fuzz_frames_split) followed by that
    many bytes (a short last frame takes what is left).
    Checks that the decoder never reads out of bounds, that what it accepts
    is self-consistent, and that advertisement entries read back and
    re-encoded give the same bytes.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"
#include "reqrep/zmx_federation.h"

//  Read every entry back and encode it again: same bytes, same count.
static void
s_check_entries (const zmx_mdp_frame_t *frame, size_t expected)
{
    zchunk_t *again = zchunk_new (NULL, frame->size + 1);
    size_t offset = 0, count = 0;
    zmx__fed_entry_t entry;
    while (zmx__fed_entry_next (frame, &offset, &entry) == 0) {
        FUZZ_REQUIRE (zmx_mdp_service_valid (entry.name, strlen (entry.name)));
        FUZZ_REQUIRE (zmx__fed_entry_add (again, entry.hops, entry.capacity, entry.name) == 0);
        count++;
    }
    FUZZ_REQUIRE (count == expected && offset == frame->size);
    FUZZ_REQUIRE (zchunk_size (again) == frame->size);
    FUZZ_REQUIRE (frame->size == 0 || memcmp (zchunk_data (again), frame->data, frame->size) == 0);
    zchunk_destroy (&again);
}

static void
s_check_view (const zmx_mdp_frame_t *frames, size_t count, const zmx__fed_view_t *view)
{
    FUZZ_REQUIRE (view->command != ZMX_FED_INVALID && !view->error);
    FUZZ_REQUIRE (zmx__fed_is (frames, count));
    switch (view->command) {
        case ZMX_FED_ADVERTISE:
            FUZZ_REQUIRE (count == 4 && view->node == 2 && view->entries == 3);
            FUZZ_REQUIRE (view->entry_count <= ZMX_FED_MAX_ENTRIES);
            s_check_entries (&frames [view->entries], view->entry_count);
            break;
        case ZMX_FED_HEARTBEAT:
            FUZZ_REQUIRE (count == 3 && frames [view->node].size <= ZMX_FED_MAX_NODE);
            break;
        case ZMX_FED_REQUEST:
            FUZZ_REQUIRE (view->hops >= 1 && view->body < count);
            FUZZ_REQUIRE (frames [view->token].size == ZMX_FED_TOKEN_SIZE);
            FUZZ_REQUIRE (zmx_mdp_service_valid (frames [view->service].data,
                                              frames [view->service].size));
            break;
        default:
            FUZZ_REQUIRE (view->body < count);
            FUZZ_REQUIRE (frames [view->token].size == ZMX_FED_TOKEN_SIZE);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx__fed_side_t side = data [0] % 2? ZMX_FED_AT_LINK: ZMX_FED_AT_ROUTER;
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES + 8];
    size_t count = fuzz_frames_split (data + 1, size - 1, 1, frames, ZMX_MDP_MAX_FRAMES + 8);
    zmx__fed_view_t view;
    if (zmx__fed_decode (frames, count, side, &view) == 0)
        s_check_view (frames, count, &view);
    else
        FUZZ_REQUIRE (view.command == ZMX_FED_INVALID && view.error);
    fuzz_frames_free (frames, count);
    return 0;
}
