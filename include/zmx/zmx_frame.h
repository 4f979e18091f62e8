/*  =========================================================================
    zmx_frame - one message frame as the codecs see it

    The wire codecs (MDP, credit, Binary Star, CHP, federation) decode an
    array of these: a view of bytes the caller owns (a zframe_t's data, a
    received buffer), never copied. The codec headers keep their own names
    for it (zmx_mdp_frame_t, zmx_credit_frame_t, ...) as aliases.
    =========================================================================
*/
#ifndef ZMX_FRAME_H_INCLUDED
#define ZMX_FRAME_H_INCLUDED

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const void *data;           //  First byte, owned by the caller
    size_t size;                //  Bytes
} zmx_frame_t;

#ifdef __cplusplus
}
#endif

#endif
