/*  =========================================================================
    zmx_kvsimple - codec for the Guide's kvsimple messages

    The zguide's Clone Model Four (clonesrv4, clonecli4) predates 12/CHP:
    every message is three frames, [key][sequence][body], the sequence 8
    bytes in network order, and a snapshot request is ["ICANHAZ?"]
    [subtree]. The clone server speaks it on an optional second set of
    sockets (see docs/CLONE.md, "The Guide's clients"). Decoding follows
    zmx_chp's rules: every frame is checked before anything is used, the
    view points into the frames, and a refusal gives a static reason.
    =========================================================================
*/
#include "zmx_state_internal.h"

//  Snapshot request: exactly "ICANHAZ?" and a subtree. The subtree is
//  only matched as a key prefix (clonesrv4 does so), so any printable
//  text is accepted, not only CHP's "/seg/" form.
static const char *
s_decode_request (const zmx_frame_t *frames, size_t count, zmx__kvsimple_view_t *view)
{
    size_t word = strlen (ZMX_CHP_ICANHAZ_WORD);
    if (count != 2)
        return "ICANHAZ? must have 2 frames";
    if (frames [0].size != word || memcmp (frames [0].data, ZMX_CHP_ICANHAZ_WORD, word))
        return "not ICANHAZ?";
    if (frames [1].size > ZMX_CHP_KEY_MAX)
        return "subtree too long";
    const char *subtree = (const char *) frames [1].data;
    for (size_t index = 0; index < frames [1].size; index++)
        if ((unsigned char) subtree [index] < 0x20 || subtree [index] == 0x7F)
            return "subtree not printable";
    view->subtree = frames [1].size? subtree: "";
    view->subtree_size = frames [1].size;
    return NULL;
}

//  Update: a CHP key (1 to ZMX_CHP_KEY_MAX printable bytes, not a
//  command word: "KTHXBAI" as a key would end a snapshot early), an
//  8-byte sequence, and a body of at most max_body bytes.
static const char *
s_decode_update (const zmx_frame_t *frames, size_t count, size_t max_body,
                 zmx__kvsimple_view_t *view)
{
    if (count != ZMX__KVSIMPLE_FRAMES)
        return "update must have 3 frames";
    if (!zmx_chp_key_valid ((const char *) frames [0].data, frames [0].size))
        return "invalid key";
    if (frames [1].size != ZMX_CHP_SEQUENCE_SIZE)
        return "sequence is not 8 bytes";
    if (frames [2].size > max_body)
        return "body over max-value-size";
    view->key = (const char *) frames [0].data;
    view->key_size = frames [0].size;
    view->sequence = zmx__wire_get (frames [1].data, ZMX_CHP_SEQUENCE_SIZE);
    view->body = (const byte *) frames [2].data;
    view->body_size = frames [2].size;
    return NULL;
}

int
zmx__kvsimple_decode (const zmx_frame_t *frames, size_t count, zmx__kvsimple_side_t side,
                      size_t max_body, zmx__kvsimple_view_t *view, const char **error)
{
    assert (view);
    memset (view, 0, sizeof *view);
    const char *reason = !frames && count? "no frames"
                       : side == ZMX__KVSIMPLE_REQUEST? s_decode_request (frames, count, view)
                       : side == ZMX__KVSIMPLE_UPDATE? s_decode_update (frames, count, max_body,
                                                                         view)
                       : "unknown side";
    if (reason)
        memset (view, 0, sizeof *view);
    if (error)
        *error = reason;
    return reason? -1: 0;
}

int
zmx__kvsimple_decode_msg (zmx_chp_msg_t *msg, size_t skip, zmx__kvsimple_side_t side,
                          size_t max_body, zmx__kvsimple_view_t *view, const char **error)
{
    if (msg->count != msg->kept || msg->count < skip) {
        memset (view, 0, sizeof *view);
        if (error)
            *error = msg->count < skip? "no routing id": "too many frames";
        return -1;
    }
    zmx_frame_t frames [ZMX_CHP_FRAMES + 1];
    size_t count = msg->kept - skip;
    for (size_t index = 0; index < count; index++) {
        frames [index].data = zmq_msg_data (&msg->frames [index + skip]);
        frames [index].size = zmq_msg_size (&msg->frames [index + skip]);
    }
    return zmx__kvsimple_decode (frames, count, side, max_body, view, error);
}

int
zmx__kvsimple_send (void *socket, const zmx_frame_t *routing_id, const char *key,
                    size_t key_size, uint64_t sequence, const void *body, size_t body_size,
                    int flags)
{
    assert (socket && key);
    byte number [ZMX_CHP_SEQUENCE_SIZE];
    zmx__wire_put (number, sequence, ZMX_CHP_SEQUENCE_SIZE);
    //  Once the first frame is queued the rest of the message always is
    if (routing_id) {
        if (zmq_send (socket, routing_id->data, routing_id->size, flags | ZMQ_SNDMORE) < 0)
            return -1;
        flags = 0;
    }
    if (zmq_send (socket, key, key_size, flags | ZMQ_SNDMORE) < 0
    ||  zmq_send (socket, number, sizeof number, ZMQ_SNDMORE) < 0
    ||  zmq_send (socket, body, body_size, 0) < 0)
        return -1;
    return 0;
}
