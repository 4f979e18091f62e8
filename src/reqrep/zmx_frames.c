/*  =========================================================================
    zmx_frames - frame-level receive and send for the client and worker,
    and the non-blocking sends the broker and its federation share

    Design notes:

    - zmsg_recv and zmsg_send cost one zframe_t and one list node per
      frame, for protocol frames that are read once and dropped, or that
      never change. Here the protocol frames in front of a message are
      received into zmq_msg_t on the stack, and constant frames are sent
      with zmq_send, which keeps small frames inside the message (no heap).
    - Only the frames the caller gets back (the body) become a zmsg_t: they
      are received as zframe_t straight from the socket, so the data is
      never copied, and on the way out zmsg_send moves them to the socket.
    - Decoding goes through zmx_mdp_decode on views of every frame, head
      and body alike, so the checks are those of zmx_mdp_decode_msg.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"

//  Receive the frames left of the current message into self->tail, at
//  most one more than a valid message has; drop and count the rest, so
//  that a peer cannot make us hold an unbounded list. Returns 0 or -1.
static int
s_recv_tail (zmx__frames_t *self, zsock_t *socket)
{
    self->tail = zmsg_new ();
    bool more = true;
    while (more) {
        if (self->head_count + zmsg_size (self->tail) <= ZMX_MDP_MAX_FRAMES) {
            zframe_t *frame = zframe_recv (socket);
            if (!frame)
                return -1;
            more = zframe_more (frame) != 0;
            zmsg_append (self->tail, &frame);
        }
        else {
            zmq_msg_t part;
            zmq_msg_init (&part);
            int rc = zmq_msg_recv (&part, zsock_resolve (socket), 0);
            more = rc >= 0 && zmq_msg_more (&part);
            zmq_msg_close (&part);
            if (rc < 0)
                return -1;
            self->discarded++;
        }
    }
    return 0;
}

int
zmx__frames_recv (zmx__frames_t *self, zsock_t *socket, size_t head, int flags)
{
    assert (self);
    assert (head >= 1 && head <= ZMX__FRAMES_HEAD);
    self->head_count = 0;
    self->tail = NULL;
    self->discarded = 0;
    void *handle = zsock_resolve (socket);
    bool more = true;
    while (more && self->head_count < head) {
        zmq_msg_t *part = &self->head [self->head_count];
        zmq_msg_init (part);
        //  Only the first frame can wait: the rest of a message arrives
        //  together with it.
        if (zmq_msg_recv (part, handle, self->head_count == 0? flags: 0) < 0) {
            int error = zmq_errno ();
            zmq_msg_close (part);
            zmx__frames_close (self);
            errno = error;
            return -1;
        }
        self->head_count++;
        more = zmq_msg_more (part) != 0;
    }
    if (more && s_recv_tail (self, socket) != 0) {
        int error = zmq_errno ();
        zmx__frames_close (self);
        errno = error;
        return -1;
    }
    return 0;
}

int
zmx__frames_decode (zmx__frames_t *self, zmx_mdp_side_t side, zmx_mdp_view_t *view)
{
    assert (self);
    assert (view);
    size_t count = zmx__frames_count (self);
    if (count > ZMX_MDP_MAX_FRAMES) {
        //  Same verdict as the decoder's, without filling views past the end
        memset (view, 0, sizeof *view);
        view->command = ZMX_MDP_INVALID;
        view->body = count;
        view->error = "too many frames";
        return -1;
    }
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES];
    size_t index = 0;
    for (; index < self->head_count; index++) {
        frames [index].data = zmq_msg_data (&self->head [index]);
        frames [index].size = zmq_msg_size (&self->head [index]);
    }
    zframe_t *frame = self->tail? zmsg_first (self->tail): NULL;
    for (; frame; frame = zmsg_next (self->tail), index++) {
        frames [index].data = zframe_data (frame);
        frames [index].size = zframe_size (frame);
    }
    return zmx_mdp_decode (frames, count, side, view);
}

zmsg_t *
zmx__frames_take_tail (zmx__frames_t *self)
{
    assert (self);
    zmsg_t *tail = self->tail? self->tail: zmsg_new ();
    self->tail = NULL;
    return tail;
}

void
zmx__frames_close (zmx__frames_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->head_count; index++)
        zmq_msg_close (&self->head [index]);
    self->head_count = 0;
    zmsg_destroy (&self->tail);
}

int
zmx__frames_send_more (zsock_t *socket, const void *data, size_t size)
{
    return zmq_send (zsock_resolve (socket), data, size, ZMQ_SNDMORE) < 0? -1: 0;
}

int
zmx__frames_send_body (zsock_t *socket, zmsg_t **body_p)
{
    assert (body_p);
    int rc;
    //  MDP needs at least one body frame: an empty body is one empty frame
    if (*body_p && zmsg_size (*body_p) > 0)
        rc = zmsg_send (body_p, socket);
    else
        rc = zmq_send (zsock_resolve (socket), "", 0, 0) < 0? -1: 0;
    int error = errno;          //  Callers read errno after a failure
    zmsg_destroy (body_p);
    errno = error;
    return rc;
}

int
zmx__frames_send_shared (zsock_t *socket, zmsg_t *body)
{
    assert (body);
    zframe_t *frame = zmsg_first (body);
    if (!frame)
        return zmq_send (zsock_resolve (socket), "", 0, 0) < 0? -1: 0;
    while (frame) {
        zframe_t *next = zmsg_next (body);
        if (zframe_send (&frame, socket, ZFRAME_REUSE | (next? ZFRAME_MORE: 0)) != 0)
            return -1;
        frame = next;
    }
    return 0;
}

//  -------------------------------------------------------------------------
//  Non-blocking sends on a raw socket (the broker's ROUTER, federation
//  links): a peer that is gone or full fails the send instead of stalling
//  every other peer.

int
zmx__frames_send_copy (void *socket, const void *data, size_t size, bool more)
{
    zmq_msg_t msg;
    zmq_msg_init_size (&msg, size);
    if (size)
        memcpy (zmq_msg_data (&msg), data, size);
    int rc = zmq_msg_send (&msg, socket, (more? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT);
    if (rc < 0) {
        int error = errno;      //  callers tell EHOSTUNREACH from EAGAIN
        zmq_msg_close (&msg);
        errno = error;
    }
    return rc < 0? -1: 0;
}

void
zmx__frames_send_moved (void *socket, zmq_msg_t *body, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        int flags = (index + 1 < count? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT;
        if (zmq_msg_send (&body [index], socket, flags) < 0) {
            zmq_msg_close (&body [index]);
            zmq_msg_init (&body [index]);   //  stays closable by the owner
        }
    }
}
