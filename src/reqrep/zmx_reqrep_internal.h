/*  =========================================================================
    zmx_reqrep_internal - internal (zmx__) classes of request-reply: frames,
    the broker pair, the Titanic store.
    =========================================================================
*/
#ifndef ZMX_REQREP_INTERNAL_H_INCLUDED
#define ZMX_REQREP_INTERNAL_H_INCLUDED

#include "zmx_classes.h"

//  -------------------------------------------------------------------------
//  zmx_frames: frame-level receive and send for the client and worker hot
//  paths (src/reqrep/zmx_frames.c).

#define ZMX__FRAMES_HEAD 5      //  Most protocol frames kept as zmq_msg_t

//  One received message: up to `head` leading frames as zmq_msg_t (no
//  heap), the frames after them, if any, as a zmsg_t.
typedef struct {
    zmq_msg_t head [ZMX__FRAMES_HEAD];
    size_t head_count;          //  Frames in head
    zmsg_t *tail;               //  Frames after head, or NULL
    size_t discarded;           //  Frames past ZMX_MDP_MAX_FRAMES + 1, not kept
} zmx__frames_t;

//  The number of frames the message had, discarded ones included.
#define zmx__frames_count(self) \
    ((self)->head_count + ((self)->tail? zmsg_size ((self)->tail): 0) + (self)->discarded)

//  Receive one whole message: at most `head` (1..ZMX__FRAMES_HEAD) frames
//  into self->head, the rest into self->tail. A peer's message is bounded
//  here too: frames beyond ZMX_MDP_MAX_FRAMES + 1 (one more than any valid
//  message has, so that decoding refuses it) are received, counted in
//  self->discarded and dropped.
//  `flags` (0 or ZMQ_DONTWAIT) apply to the first frame. Returns 0, or -1
//  with errno as libzmq set it (EAGAIN: nothing came) and nothing held.
int
    zmx__frames_recv (zmx__frames_t *self, zsock_t *socket, size_t head, int flags);

//  Decode every frame received, with the verdicts of zmx_mdp_decode_msg.
int
    zmx__frames_decode (zmx__frames_t *self, zmx_mdp_side_t side, zmx_mdp_view_t *view);

//  Give up the frames after the head: caller owns the message (empty if
//  there were none).
zmsg_t *
    zmx__frames_take_tail (zmx__frames_t *self);

//  Free whatever the message still holds; safe to call twice.
void
    zmx__frames_close (zmx__frames_t *self);

//  Send `size` bytes as a frame with more to follow. Returns 0 or -1.
int
    zmx__frames_send_more (zsock_t *socket, const void *data, size_t size);

//  Send a copy of `size` bytes as one frame without blocking (ZMQ_SNDMORE
//  if `more`). Returns 0, or -1 with errno as libzmq set it.
int
    zmx__frames_send_copy (void *socket, const void *data, size_t size, bool more);

//  Move `count` frames out without blocking, the last one ending the
//  message. A frame that cannot go is dropped and left empty, so the
//  caller can still close every frame.
void
    zmx__frames_send_moved (void *socket, zmq_msg_t *body, size_t count);

//  Send *body_p as the frames that end a message, one empty frame if it
//  is NULL or has none. Consumes *body_p on every path. Returns 0 or -1.
int
    zmx__frames_send_body (zsock_t *socket, zmsg_t **body_p);

//  As zmx__frames_send_body, but the body is kept for sending again (its
//  frames' data are shared with the socket, not copied). Returns 0 or -1.
int
    zmx__frames_send_shared (zsock_t *socket, zmsg_t *body);


//  -------------------------------------------------------------------------
//  zmx_broker_bstar: the broker's side of a Binary Star pair
//  (src/reqrep/zmx_broker_bstar.c, docs/BSTAR.md "Broker pair").

typedef struct _zmx__broker_pair_t zmx__broker_pair_t;

//  Start the pair from the "bstar" section below the broker's config.
//  Returns 0 with *pair_p NULL if there is no such section, 0 with the
//  pair, or -1 (reason logged) if the section is invalid.
int
    zmx__broker_pair_new (zconfig_t *config, zmx_security_t *security, const char *name,
                          zmx__broker_pair_t **pair_p);

//  Stop the pair and free it. Idempotent; nulls *self_p.
void
    zmx__broker_pair_destroy (zmx__broker_pair_t **self_p);

//  A client request came: true to serve it, false to drop it unanswered.
bool
    zmx__broker_pair_admit (zmx__broker_pair_t *self);

//  Raw socket handle to poll (POLLIN: call zmx__broker_pair_notified).
void *
    zmx__broker_pair_handle (zmx__broker_pair_t *self);

//  Read one state-change notification and log it.
void
    zmx__broker_pair_notified (zmx__broker_pair_t *self);

//  Append the pair's "name=value" counter frames.
void
    zmx__broker_pair_counters (zmx__broker_pair_t *self, zmsg_t *counters);

//  -------------------------------------------------------------------------
//  zmx_tsp_store: the Titanic store, one file per request and per reply
//  (src/reqrep/zmx_tsp_store.c; layout and crash rules are described there).

typedef struct _zmx__tsp_store_t zmx__tsp_store_t;

typedef enum {
    ZMX__TSP_REQUEST,           //  <UUID>.req: service frame, then body
    ZMX__TSP_REPLY              //  <UUID>.rep: the reply body
} zmx__tsp_kind_t;

//  Called once per stored request by zmx__tsp_store_scan: its UUID, whether
//  a reply is stored, and the time (msec since the epoch) of the newest file.
typedef void (zmx__tsp_store_fn) (const char *uuid, bool replied, int64_t mtime, void *arg);

//  Open the store in `directory`, creating it (and its parents). With sync,
//  every put is flushed to disk before it returns. Files larger than
//  max_size are not read back. Returns NULL with the reason logged.
zmx__tsp_store_t *
    zmx__tsp_store_new (const char *directory, bool sync, size_t max_size);

//  Close the store. Idempotent; nulls *self_p.
void
    zmx__tsp_store_destroy (zmx__tsp_store_t **self_p);

//  Store msg (not consumed) as the request or reply of uuid (32 uppercase
//  hex digits). Returns 0 once it is durable, or -1 with the reason logged.
int
    zmx__tsp_store_put (zmx__tsp_store_t *self, const char *uuid, zmx__tsp_kind_t kind,
                        zmsg_t *msg);

//  Read back a stored request or reply; caller owns it. NULL if absent or
//  damaged (logged).
zmsg_t *
    zmx__tsp_store_get (zmx__tsp_store_t *self, const char *uuid, zmx__tsp_kind_t kind);

//  Delete the request and reply of uuid (absent ones are fine). 0 or -1.
int
    zmx__tsp_store_remove (zmx__tsp_store_t *self, const char *uuid);

//  Delete what a crash left half done (temp files, replies without their
//  request), then call fn for every stored request, oldest request file
//  first (to the file system's timestamp granularity; ties in UUID order).
//  Returns the number of requests, or -1 if the directory cannot be read.
int
    zmx__tsp_store_scan (zmx__tsp_store_t *self, zmx__tsp_store_fn *fn, void *arg);

//  True if text (size bytes) is a TSP UUID: 32 hex digits, either case.
bool
    zmx__tsp_uuid_valid (const char *text, size_t size);

#endif
