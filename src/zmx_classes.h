/*  =========================================================================
    zmx_classes - private header: every system include, and internal
    (zmx__) helpers shared between library classes.
    =========================================================================
*/
#ifndef ZMX_CLASSES_H_INCLUDED
#define ZMX_CLASSES_H_INCLUDED

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>
#include <czmq.h>

#include "zmx.h"

//  Read an integer config value at `path` below `config`, or `fallback` if
//  absent. Sets *valid to false (leaves it untouched otherwise) if the value
//  is not an integer within [min, max], and logs which key is wrong.
int64_t
    zmx__config_int (zconfig_t *config, const char *path, int64_t fallback,
                     int64_t min, int64_t max, bool *valid);

//  Read a string config value at `path`, or `fallback` if absent.
const char *
    zmx__config_str (zconfig_t *config, const char *path, const char *fallback);

//  Bind `sock` (made by zmx_security_socket) to every endpoint of a
//  comma-separated list, appending each resolved endpoint to `bound`.
//  Returns 0, or -1 with the reason logged (also for an empty list).
int
    zmx__listen_list (zmx_security_t *security, zsock_t *sock, const char *list,
                      zlist_t *bound, const char *component);

//  Ask an actor for its counters ("COUNTERS" -> "name=value" frames).
//  Caller owns the hash; empty if the actor does not answer.
zhash_t *
    zmx__actor_counters (zactor_t *actor);

//  True if `endpoint` looks like one ZeroMQ endpoint: "transport://address"
//  with both parts non-empty, only printable ASCII, no spaces and no commas
//  (commas separate endpoints in lists). NULL is not valid.
bool
    zmx__endpoint_valid (const char *endpoint);

//  Check CURVE client arguments as zmx_security_client_curve does, without
//  a socket, and if they are good replace *cert_p and *key_p (freed first)
//  by copies of them. Returns ZMX_OK, or ZMX_ESECURITY leaving both as they
//  were.
int
    zmx__curve_client_store (char **cert_p, char **key_p, const char *client_cert_path,
                             const char *server_key);

//  -------------------------------------------------------------------------
//  zmx_frames: frame-level receive and send for the client and worker hot
//  paths (src/zmx_frames.c).

#define ZMX__FRAMES_HEAD 5      //  Most protocol frames kept as zmq_msg_t

//  One received message: up to `head` leading frames as zmq_msg_t (no
//  heap), the frames after them, if any, as a zmsg_t.
typedef struct {
    zmq_msg_t head [ZMX__FRAMES_HEAD];
    size_t head_count;          //  Frames in head
    zmsg_t *tail;               //  Frames after head, or NULL
} zmx__frames_t;

//  Receive one whole message: at most `head` (1..ZMX__FRAMES_HEAD) frames
//  into self->head, the rest, unbounded as zmsg_recv is, into self->tail.
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

//  Send *body_p as the frames that end a message, one empty frame if it
//  is NULL or has none. Consumes *body_p on every path. Returns 0 or -1.
int
    zmx__frames_send_body (zsock_t *socket, zmsg_t **body_p);

//  As zmx__frames_send_body, but the body is kept for sending again (its
//  frames' data are shared with the socket, not copied). Returns 0 or -1.
int
    zmx__frames_send_shared (zsock_t *socket, zmsg_t *body);

//  Encode a CHEEZBURGER without copying its chunk: msg->chunk may be NULL,
//  and *chunk_p gets the address of the msg->chunk_size bytes in the frame
//  that the caller must fill in before sending (e.g. read() the file data
//  straight there). NULL, as zmx_fmq_encode, if a field cannot be encoded.
zframe_t *
    zmx__fmq_encode_chunk (const zmx_fmq_msg_t *msg, byte **chunk_p);

//  Running SHA-1 digest (libcrypto), see src/zmx_sha1.c.
typedef struct _zmx__sha1_t zmx__sha1_t;

//  Start a digest. Returns NULL if libcrypto cannot (out of memory).
zmx__sha1_t *
    zmx__sha1_new (void);

//  Free the digest and null the pointer; safe on NULL.
void
    zmx__sha1_destroy (zmx__sha1_t **self_p);

//  Hash `size` more bytes. Not after zmx__sha1_hex.
void
    zmx__sha1_update (zmx__sha1_t *self, const void *data, size_t size);

//  Finish the digest (first call) and return it as 40 lowercase hex digits,
//  owned by the digest.
const char *
    zmx__sha1_hex (zmx__sha1_t *self);

//  Free libcrypto's state for the calling thread; an actor that hashed
//  calls it last, before it returns.
void
    zmx__sha1_thread_end (void);

//  Digest of one buffer, into `hex` (41 bytes with the terminator).
void
    zmx__sha1_string (const void *data, size_t size, char *hex);

#endif
