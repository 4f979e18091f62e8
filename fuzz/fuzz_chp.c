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

#define S_MAX_FRAMES 8

//  Abort unlike assert, also under NDEBUG
#define S_REQUIRE(condition) do { if (!(condition)) abort (); } while (0)

static void
s_check_round_trip (const zmx_chp_view_t *view, zmx_chp_side_t side)
{
    S_REQUIRE (zmx_chp_check (view, NULL) == 0);
    zmsg_t *msg = zmx_chp_encode (view);
    S_REQUIRE (msg);
    zmx_chp_frame_t frames [S_MAX_FRAMES];
    size_t count = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        frames [count].data = zframe_data (frame);
        frames [count].size = zframe_size (frame);
        count++;
    }
    zmx_chp_view_t again;
    S_REQUIRE (zmx_chp_decode (frames, count, side, &again, NULL) == 0);
    S_REQUIRE (again.command == view->command && again.sequence == view->sequence);
    S_REQUIRE (again.key_size == view->key_size && again.value_size == view->value_size);
    S_REQUIRE (again.subtree_size == view->subtree_size);
    if (view->key_size)
        S_REQUIRE (memcmp (again.key, view->key, view->key_size) == 0);
    if (view->value_size)
        S_REQUIRE (memcmp (again.value, view->value, view->value_size) == 0);
    zmsg_destroy (&msg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    zmx_chp_side_t side = (zmx_chp_side_t) (data [0] % 5);  //  0: an invalid side
    //  Each frame in its own heap block of exactly its size, so that ASan
    //  sees any over-read
    byte *copies [S_MAX_FRAMES];
    zmx_chp_frame_t frames [S_MAX_FRAMES];
    size_t count = 0, at = 1;
    while (count < S_MAX_FRAMES && at + 2 <= size) {
        size_t length = ((size_t) data [at] << 8) | data [at + 1];
        at += 2;
        if (length > size - at)
            length = size - at;
        copies [count] = (byte *) malloc (length? length: 1);
        memcpy (copies [count], data + at, length);
        frames [count] = (zmx_chp_frame_t) { copies [count], length };
        at += length;
        count++;
    }
    zmx_chp_view_t view;
    const char *error = NULL;
    if (zmx_chp_decode (frames, count, side, &view, &error) == 0) {
        S_REQUIRE (error == NULL);
        s_check_round_trip (&view, side);
        uint64_t ttl;
        int rc = zmx_chp_ttl (view.properties, view.properties_size, &ttl);
        S_REQUIRE (rc == -1 || (rc == 0 && ttl == 0) || (rc == 1 && ttl >= 1
                   && ttl <= ZMX_CHP_TTL_MAX));
    }
    else
        S_REQUIRE (error && view.command == 0 && !view.key && !view.value);
    for (size_t index = 0; index < count; index++)
        free (copies [index]);
    return 0;
}
