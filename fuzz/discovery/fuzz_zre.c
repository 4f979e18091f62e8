/*  =========================================================================
    fuzz_zre - libFuzzer target for the 36/ZRE codec and beacons

    Input layout: one mode byte, then the data. Mode 'B': the data is a
    UDP beacon. Any other mode: the data is a ZRE header frame, decoded
    alone and then as a whole message followed by (mode % 4) content
    frames. Checks that the decoders never read out of bounds, that a
    refusal leaves no allocation behind, and that whatever is accepted
    encodes to a frame that decodes to the same message (for every command
    but HELLO, whose dictionary order may change, to the same bytes).
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

static void
s_beacon (const byte *data, size_t size)
{
    zmx_zre_beacon_t beacon;
    if (zmx_zre_beacon_decode (data, size, &beacon, NULL) == 0) {
        byte again [ZMX_ZRE_BEACON_SIZE];
        zmx_zre_beacon_encode (beacon.uuid, beacon.port, again);
        FUZZ_REQUIRE (size == ZMX_ZRE_BEACON_SIZE && memcmp (again, data, size) == 0);
    }
}

static void
s_header (const byte *data, size_t size)
{
    zmx_zre_msg_t msg;
    const char *error = NULL;
    int rc = zmx_zre_decode_header (data, size, &msg, &error);
    if (rc != 0) {
        FUZZ_REQUIRE ((rc == -1 || rc == -2) && error && !msg.groups && !msg.headers);
        return;
    }
    zframe_t *frame = zmx_zre_encode_header (&msg);
    FUZZ_REQUIRE (frame);
    if (msg.id != ZMX_ZRE_HELLO)
        FUZZ_REQUIRE (zframe_size (frame) == size && memcmp (zframe_data (frame), data, size) == 0);
    zmx_zre_msg_t again;
    FUZZ_REQUIRE (zmx_zre_decode_header (zframe_data (frame), zframe_size (frame), &again, NULL) == 0);
    FUZZ_REQUIRE (again.id == msg.id && again.sequence == msg.sequence);
    if (msg.id == ZMX_ZRE_HELLO)
        FUZZ_REQUIRE (streq (again.name, msg.name) && streq (again.endpoint, msg.endpoint)
                 && zlist_size (again.groups) == zlist_size (msg.groups)
                 && zhash_size (again.headers) == zhash_size (msg.headers));
    zmx_zre_clear (&again);
    zmx_zre_clear (&msg);
    zframe_destroy (&frame);
}

static void
s_message (const byte *data, size_t size, int content)
{
    zmsg_t *wire = zmsg_new ();
    zmsg_addmem (wire, data, size);
    for (int index = 0; index < content; index++)
        zmsg_addmem (wire, data, size / (size_t) (index + 2));
    zmx_zre_msg_t msg;
    int rc = zmx_zre_decode (&wire, &msg, NULL);
    FUZZ_REQUIRE (wire == NULL);
    if (rc == 0) {
        bool carries = msg.id == ZMX_ZRE_WHISPER || msg.id == ZMX_ZRE_SHOUT;
        FUZZ_REQUIRE (carries? zmsg_size (msg.content) == (size_t) content: content == 0);
    }
    else
        FUZZ_REQUIRE (!msg.content && !msg.groups && !msg.headers);
    zmx_zre_clear (&msg);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    byte mode = data [0];
    size--;
    //  A heap copy of exactly `size` bytes, so that ASan sees any over-read
    byte *copy = (byte *) malloc (size? size: 1);
    if (size)
        memcpy (copy, data + 1, size);
    if (mode == 'B')
        s_beacon (copy, size);
    else {
        s_header (copy, size);
        s_message (copy, size, mode % 4);
    }
    free (copy);
    return 0;
}
