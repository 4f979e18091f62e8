/*  =========================================================================
    fuzz_federation - libFuzzer target for the MDPF01 federation codec

    Input layout as fuzz_mdp: byte 0 picks the decoding side (even: the
    broker's ROUTER, odd: a peer link); then frames, each a one-byte length
    followed by that many bytes (a short last frame takes what is left).
    Checks that the decoder never reads out of bounds, that what it accepts
    is self-consistent, and that advertisement entries read back and
    re-encoded give the same bytes.
    =========================================================================
*/
#include "zmx_classes.h"
#include "services/zmx_federation.h"

#define S_REQUIRE(condition) \
    do { if (!(condition)) { \
        fprintf (stderr, "fuzz_federation: %s:%d: %s\n", __FILE__, __LINE__, #condition); \
        abort (); } } while (0)

//  Read every entry back and encode it again: same bytes, same count.
static void
s_check_entries (const zmx_mdp_frame_t *frame, size_t expected)
{
    zchunk_t *again = zchunk_new (NULL, frame->size + 1);
    size_t offset = 0, count = 0;
    zmx__fed_entry_t entry;
    while (zmx__fed_entry_next (frame, &offset, &entry) == 0) {
        S_REQUIRE (zmx_mdp_service_valid (entry.name, strlen (entry.name)));
        S_REQUIRE (zmx__fed_entry_add (again, entry.hops, entry.capacity, entry.name) == 0);
        count++;
    }
    S_REQUIRE (count == expected && offset == frame->size);
    S_REQUIRE (zchunk_size (again) == frame->size);
    S_REQUIRE (frame->size == 0 || memcmp (zchunk_data (again), frame->data, frame->size) == 0);
    zchunk_destroy (&again);
}

static void
s_check_view (const zmx_mdp_frame_t *frames, size_t count, const zmx__fed_view_t *view)
{
    S_REQUIRE (view->command != ZMX_FED_INVALID && !view->error);
    S_REQUIRE (zmx__fed_is (frames, count));
    switch (view->command) {
        case ZMX_FED_ADVERTISE:
            S_REQUIRE (count == 4 && view->node == 2 && view->entries == 3);
            S_REQUIRE (view->entry_count <= ZMX_FED_MAX_ENTRIES);
            s_check_entries (&frames [view->entries], view->entry_count);
            break;
        case ZMX_FED_HEARTBEAT:
            S_REQUIRE (count == 3 && frames [view->node].size <= ZMX_FED_MAX_NODE);
            break;
        case ZMX_FED_REQUEST:
            S_REQUIRE (view->hops >= 1 && view->body < count);
            S_REQUIRE (frames [view->token].size == ZMX_FED_TOKEN_SIZE);
            S_REQUIRE (zmx_mdp_service_valid (frames [view->service].data,
                                              frames [view->service].size));
            break;
        default:
            S_REQUIRE (view->body < count);
            S_REQUIRE (frames [view->token].size == ZMX_FED_TOKEN_SIZE);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx__fed_side_t side = data [0] % 2? ZMX_FED_AT_LINK: ZMX_FED_AT_ROUTER;
    //  Each frame in its own heap block so that ASan sees any overread
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
    zmx__fed_view_t view;
    if (zmx__fed_decode (frames, count, side, &view) == 0)
        s_check_view (frames, count, &view);
    else
        S_REQUIRE (view.command == ZMX_FED_INVALID && view.error);
    for (size_t index = 0; index < count; index++)
        free ((void *) frames [index].data);
    return 0;
}
