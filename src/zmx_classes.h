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
#include <net/if.h>
#include <ifaddrs.h>
#include <zmq.h>
#include <czmq.h>

#include "zmx.h"

//  Level for a warning that may repeat fast (overflow, bad traffic): a
//  WARNING at most once a second per *last_p (msec, zclock_mono), DEBUG in
//  between; counters hold the totals.
zmx_log_level_t
    zmx__log_limited_level (int64_t now, int64_t *last_p);

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

//  zmxd's "node" service: a ZRE node advertising the services zmxd hosts
//  (src/services/zmx_node_service.c; a zmx_service actor, args is a
//  zmx_service_args_t *). zmx_service_lookup ("node") returns it.
void
    zmx__node_service_actor (zsock_t *pipe, void *args);

//  Ask an actor for its counters ("COUNTERS" -> "name=value" frames).
//  Caller owns the hash; empty if the actor does not answer.
zhash_t *
    zmx__actor_counters (zactor_t *actor);

//  Append one "name=value" frame per counter to reply, in table order:
//  zmx_service_send_counters for a reply that carries more frames.
void
    zmx__service_counters_add (zmsg_t *reply, const zmx_service_counter_t *counters,
                               size_t count);

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

//  Running XXH3-128 digest (libxxhash), see src/zmx_digest.c: the files
//  service's transfer check. Same contract as zmx__sha1_*; the hex form
//  is ZMX__XXH128_HEX lowercase digits, as xxh128sum prints it.
#define ZMX__XXH128_HEX 32
typedef struct _zmx__xxh128_t zmx__xxh128_t;
zmx__xxh128_t *
    zmx__xxh128_new (void);
void
    zmx__xxh128_destroy (zmx__xxh128_t **self_p);
void
    zmx__xxh128_update (zmx__xxh128_t *self, const void *data, size_t size);
const char *
    zmx__xxh128_hex (zmx__xxh128_t *self);
//  True if `hex` is ZMX__XXH128_HEX hex digits (either case).
bool
    zmx__xxh128_hex_valid (const char *hex);

//  -------------------------------------------------------------------------
//  zmx_broker_bstar: the broker's side of a Binary Star pair
//  (src/services/zmx_broker_bstar.c, docs/BSTAR.md "Broker pair").

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
//  (src/zmx_tsp_store.c; layout and crash rules are described there).

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

//  -------------------------------------------------------------------------
//  zmx_node: the object (src/zmx_node.c) collects the settings and starts
//  the actor (src/zmx_node_actor.c) with them.

//  Actor commands, on the pipe between the object and the actor
#define ZMX__NODE_JOIN              "JOIN"
#define ZMX__NODE_LEAVE             "LEAVE"
#define ZMX__NODE_WHISPER           "WHISPER"
#define ZMX__NODE_SHOUT             "SHOUT"
#define ZMX__NODE_WHISPER_NOWAIT    "WHISPER NOWAIT"    //  As WHISPER, SHOUT: no reply
#define ZMX__NODE_SHOUT_NOWAIT      "SHOUT NOWAIT"
#define ZMX__NODE_PEERS             "PEERS"
#define ZMX__NODE_PEERS_BY_GROUP    "PEERS BY GROUP"
#define ZMX__NODE_PEER_GROUPS       "PEER GROUPS"
#define ZMX__NODE_PEER_NAME         "PEER NAME"
#define ZMX__NODE_PEER_ENDPOINT     "PEER ENDPOINT"
#define ZMX__NODE_PEER_HEADER       "PEER HEADER"
#define ZMX__NODE_STATS             "STATS"

#define ZMX__NODE_ADDRESS_MAX       64      //  An IPv4 address or interface name

//  Everything the settings calls collect, handed to the actor at start.
typedef struct {
    char *name;                     //  Public name
    byte uuid [ZMX_ZRE_UUID_SIZE];  //  Our UUID
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    zhash_t *headers;               //  HELLO headers (autofree)
    zlist_t *groups;                //  Own groups (autofree)
    char *iface;                    //  Interface name or address, or NULL
    int beacon_port;                //  UDP port, 0: no beacons
    int interval;                   //  Beacon interval, msec
    int evasive;                    //  Evasive timeout, msec
    int expired;                    //  Expired timeout, msec
    char *endpoint;                 //  Mailbox bind endpoint, or NULL
    zlist_t *fixed;                 //  Fixed peer endpoints (autofree)
    int max_peers;                  //  Peers tracked at once
    int peer_hwm;                   //  DEALER send HWM
    int events_hwm;                 //  Unread events kept
    int64_t max_message;            //  ROUTER ZMQ_MAXMSGSIZE
    zmx_security_t *security;       //  Mailbox policy, or NULL
    char *client_cert;              //  CURVE client certificate, or NULL
    char *server_key;               //  CURVE server key, or NULL
    int linger;                     //  Stop: wait for queued messages, msec
} zmx__node_settings_t;

//  What zmx_node_start gives the actor and gets back from it.
typedef struct {
    zmx__node_settings_t *settings; //  Read until the actor signals
    zsock_t *events;                //  Event backend (given away)
    int rc;                         //  ZMX_OK or the start error
    char endpoint [ZMX_ZRE_MAX_STRING + 1];
    char iface [ZMX__NODE_ADDRESS_MAX];
    char broadcast [ZMX__NODE_ADDRESS_MAX];
    zmx_node_stats_t *final_stats;  //  Written as the actor ends (after linger)
} zmx__node_args_t;

//  zactor body of a node. `args` (a zmx__node_args_t) is read until the
//  actor signals; its settings must outlive the actor.
void
    zmx__node_actor (zsock_t *pipe, void *args);

//  Wire codecs: an unsigned integer of `width` bytes (1..8) in network
//  byte order (big-endian). zmx__wire_get reads one at `data`; the caller
//  has checked that width bytes are there. zmx__wire_put writes one and
//  returns the byte after it.
static inline uint64_t
zmx__wire_get (const void *data, size_t width)
{
    const uint8_t *bytes = (const uint8_t *) data;
    uint64_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = (value << 8) | bytes [index];
    return value;
}

static inline uint8_t *
zmx__wire_put (void *data, uint64_t value, size_t width)
{
    uint8_t *bytes = (uint8_t *) data;
    for (size_t index = 0; index < width; index++)
        bytes [index] = (uint8_t) (value >> (8 * (width - 1 - index)));
    return bytes + width;
}

//  Fields the FILEMQ and ZRE codecs share (src/zmx_wire.c). True if text
//  holds no control characters. put_text writes a `width`-byte length,
//  then the text; put_dict a 4-byte count, then each entry as a 1-byte
//  key and a 4-byte value. Both return the byte after what they wrote;
//  the caller has checked sizes and made room.
bool
    zmx__wire_text_valid (const byte *text, size_t size);
byte *
    zmx__wire_put_text (byte *at, const char *text, size_t width);
byte *
    zmx__wire_put_dict (byte *at, zhash_t *dict);

#endif
