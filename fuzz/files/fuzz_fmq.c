/*  =========================================================================
    fuzz_fmq - libFuzzer target for the FILEMQ codec

    The input is one frame. Checks that the decoder never reads out of
    bounds, that a refusal leaves no allocation behind, and that whatever
    it accepts encodes again to a frame that decodes to the same command.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  A heap copy of exactly `size` bytes, so that ASan sees any over-read
    byte *copy = (byte *) malloc (size? size: 1);
    if (size)
        memcpy (copy, data, size);
    zmx_fmq_msg_t msg;
    const char *error = NULL;
    int rc = zmx_fmq_decode (copy, size, &msg, &error);
    if (rc == 0) {
        FUZZ_REQUIRE (error == NULL);
        zframe_t *frame = zmx_fmq_encode (&msg);
        FUZZ_REQUIRE (frame);
        zmx_fmq_msg_t again;
        FUZZ_REQUIRE (zmx_fmq_decode (zframe_data (frame), zframe_size (frame), &again, NULL)
                      == 0);
        FUZZ_REQUIRE (again.id == msg.id);
        if (msg.id == ZMX_FMQ_CHEEZBURGER)
            FUZZ_REQUIRE (again.chunk_size == msg.chunk_size && again.offset == msg.offset);
        zmx_fmq_clear (&again);
        zframe_destroy (&frame);
    }
    else
        FUZZ_REQUIRE ((rc == -1 || rc == -2) && error
                      && !msg.options && !msg.cache && !msg.headers);
    zmx_fmq_clear (&msg);
    free (copy);
    return 0;
}
