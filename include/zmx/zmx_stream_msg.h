/*  =========================================================================
    zmx_stream_msg - codec for ZMXS1, the protocol of the streams service
    (docs/PROTOCOLS.md, "ZMXS1: the streams service", is the reference)

    Each message is one command: the command word, then its fields, one
    frame each. The decoder is told which side it reads for: the server
    reads what clients send, the client reads what the server sends (PING
    and PONG go both ways).

    Decoding never copies: the view points into the frames, which must
    outlive it. Every frame count, size, command word and field is checked
    before anything is used, including the whole layout of a batch, a
    records frame and a stream info frame; a refusal gives a static reason.
    The iterators below then walk a blob that the decoder accepted.
    =========================================================================
*/
#ifndef ZMX_STREAM_MSG_H_INCLUDED
#define ZMX_STREAM_MSG_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "zmx_frame.h"
#include "zmx_stream_store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_STREAM_MSG_VERSION      1
#define ZMX_STREAM_MSG_FRAMES_MAX   9       //  Frames of the longest command (SUBSCRIBE)
#define ZMX_STREAM_MSG_ID_MAX       64      //  Bytes in a message id
#define ZMX_STREAM_MSG_DURABLE_MAX  64      //  Bytes in a durable consumer name
#define ZMX_STREAM_MSG_PATTERN_MAX  255     //  Bytes in a pattern
#define ZMX_STREAM_MSG_REASON_MAX   255     //  Bytes in an ERROR reason
#define ZMX_STREAM_MSG_ACKS_MAX     4096    //  Sequences in one ACK or NACK
#define ZMX_STREAM_MSG_BATCH_MAX    65536   //  Records in one APPEND, hard limit
#define ZMX_STREAM_MSG_FROM_MAX     4       //  Largest valid `from` (new only)

typedef enum {
    ZMX_STREAM_MSG_HELLO = 1,
    ZMX_STREAM_MSG_WELCOME,
    ZMX_STREAM_MSG_PING,
    ZMX_STREAM_MSG_PONG,
    ZMX_STREAM_MSG_APPEND,
    ZMX_STREAM_MSG_APPENDED,
    ZMX_STREAM_MSG_SUBSCRIBE,
    ZMX_STREAM_MSG_SUBSCRIBED,
    ZMX_STREAM_MSG_RECORDS,
    ZMX_STREAM_MSG_LIVE,
    ZMX_STREAM_MSG_DROPPED,
    ZMX_STREAM_MSG_CREDIT,
    ZMX_STREAM_MSG_ACK,
    ZMX_STREAM_MSG_NACK,
    ZMX_STREAM_MSG_UNSUBSCRIBE,
    ZMX_STREAM_MSG_STREAMS,
    ZMX_STREAM_MSG_STREAMINFO,
    ZMX_STREAM_MSG_DELETE,
    ZMX_STREAM_MSG_PURGE,
    ZMX_STREAM_MSG_OK,
    ZMX_STREAM_MSG_ERROR
} zmx_stream_command_t;

typedef enum {
    ZMX_STREAM_MSG_SERVER = 1,  //  The server reads: commands clients send
    ZMX_STREAM_MSG_CLIENT = 2   //  A client reads: commands the server sends
} zmx_stream_side_t;

//  One command. Pointers refer into the frames it was decoded from (or,
//  for sending, to the caller's data); fields a command lacks are 0/NULL.
//  Which command uses which field:
typedef struct {
    zmx_stream_command_t command;
    uint64_t tag;               //  All but HELLO, WELCOME, PING, PONG
    uint8_t version;            //  HELLO, WELCOME
    uint32_t heartbeat_ms;      //  HELLO, WELCOME
    uint32_t max_record;        //  WELCOME
    uint32_t max_batch;         //  WELCOME
    const char *stream;         //  APPEND, SUBSCRIBE, DELETE, PURGE (not terminated)
    size_t stream_size;
    const char *pattern;        //  SUBSCRIBE (not terminated; may be empty)
    size_t pattern_size;
    uint8_t from;               //  SUBSCRIBE: 0 .. ZMX_STREAM_MSG_FROM_MAX (zmx_stream_from_t order)
    uint64_t value;             //  SUBSCRIBE
    uint32_t credit;            //  SUBSCRIBE, CREDIT (more)
    const char *durable;        //  SUBSCRIBE (not terminated; may be empty)
    size_t durable_size;
    uint32_t ack_wait_ms;       //  SUBSCRIBE
    uint64_t sequence;          //  SUBSCRIBED (position), LIVE (last), DROPPED (lost from)
    uint64_t first;             //  DROPPED (now first)
    const byte *blob;           //  APPEND (batch), APPENDED ACK NACK (sequences),
    size_t blob_size;           //  RECORDS (records), STREAMINFO (infos)
    size_t count;               //  Records, sequences or infos in the blob (set by decode)
    uint16_t code;              //  ERROR
    const char *reason;         //  ERROR (not terminated)
    size_t reason_size;
} zmx_stream_view_t;

//  A record of an APPEND batch, as the iterator returns it.
typedef struct {
    const char *subject;        //  Not terminated
    size_t subject_size;
    const byte *msg_id;         //  NULL when empty
    size_t msg_id_size;
    const byte *headers;        //  Wire encoding (zmx_stream_msg_headers_decode)
    size_t headers_size;
    size_t header_count;
    const byte *body;
    size_t body_size;
} zmx_stream_batch_record_t;

//  A record of a RECORDS frame, as the iterator returns it.
typedef struct {
    uint64_t sequence;
    int64_t time_ns;
    const char *subject;        //  Not terminated
    size_t subject_size;
    const byte *headers;        //  Wire encoding
    size_t headers_size;
    size_t header_count;
    const byte *body;
    size_t body_size;
} zmx_stream_delivered_t;

//  A stream info of a STREAMINFO frame.
typedef struct {
    const char *name;           //  Not terminated
    size_t name_size;
    uint64_t records;
    uint64_t bytes;
    uint64_t first_sequence;
    uint64_t last_sequence;
    uint64_t first_time_ns;
    uint64_t last_time_ns;
    uint32_t consumers;
} zmx_stream_info_wire_t;

//  Decode the frames of one message read on `side` (without a ROUTER
//  identity). Returns 0 with *view filled, or -1 with *error (may be
//  NULL) set to a static reason and *view zeroed except view->tag, which
//  holds the tag when the command word and tag frame could be read (for
//  an ERROR 400 reply), else 0.
int
    zmx_stream_msg_decode (const zmx_frame_t *frames, size_t count, zmx_stream_side_t side,
                           zmx_stream_view_t *view, const char **error);

//  Send a command straight to a libzmq socket (zsock_resolve'd), frame by
//  frame, with `flags` (0 or ZMQ_DONTWAIT) on the first frame (later
//  frames of a message never block once the first is queued).
//  `routing_id` (may be NULL) is sent first, for a ROUTER. The view's
//  count is not sent (blobs carry their own layout). Returns 0, or -1 with
//  errno as libzmq set it (EAGAIN: nothing sent); EINVAL for a command
//  word out of range or a field over its frame's limit.
int
    zmx_stream_msg_send (void *socket, const zmx_frame_t *routing_id,
                         const zmx_stream_view_t *view, int flags);

//  As zmx_stream_msg_send for a command whose last field is a blob, but
//  that blob is lent to libzmq rather than copied: libzmq calls
//  free_fn (blob, hint) once it is done with it. free_fn is called exactly
//  once whatever happens, also on failure (then before this returns). For
//  large batches, where the copy and a fresh block per message cost more
//  than the rest of the send.
int
    zmx_stream_msg_send_lent (void *socket, const zmx_frame_t *routing_id,
                              const zmx_stream_view_t *view, int flags, zmq_free_fn *free_fn,
                              void *hint);

//  One received message: up to ZMX_STREAM_MSG_FRAMES_MAX + 1 frames kept
//  (a ROUTER identity and the command), and the number received in all.
typedef struct {
    zmq_msg_t frames [ZMX_STREAM_MSG_FRAMES_MAX + 1];
    size_t kept;
    size_t count;
} zmx_stream_msg_t;

//  Receive one whole message; frames past those kept are read and
//  discarded (count tells). Returns 0, or -1 with errno (EAGAIN with
//  ZMQ_DONTWAIT: nothing there) and nothing held.
int
    zmx_stream_msg_recv (zmx_stream_msg_t *self, void *socket, int flags);

//  Decode a received message, skipping its first `skip` frames (1 for a
//  ROUTER identity). A message with more frames than were kept fails
//  ("too many frames"), with view->tag read from the kept frames.
int
    zmx_stream_msg_decode_msg (zmx_stream_msg_t *self, size_t skip, zmx_stream_side_t side,
                               zmx_stream_view_t *view, const char **error);

//  Free the frames; safe to call twice.
void
    zmx_stream_msg_close (zmx_stream_msg_t *self);

//  ---- Building blobs: each _size tells the bytes, each _put writes them
//  at `out` and returns the bytes written. Arguments must be valid (the
//  caller checks with zmx_subject_valid and zmx_stream_msg_headers_valid).

size_t
    zmx_stream_msg_batch_record_size (size_t subject_size, size_t msg_id_size,
                                      size_t headers_size, size_t body_size);
size_t
    zmx_stream_msg_batch_record_put (byte *out, const char *subject, size_t subject_size,
                                     const void *msg_id, size_t msg_id_size,
                                     const byte *headers, size_t headers_size,
                                     const void *body, size_t body_size);

size_t
    zmx_stream_msg_delivered_size (size_t subject_size, size_t headers_size, size_t body_size);
size_t
    zmx_stream_msg_delivered_put (byte *out, uint64_t sequence, int64_t time_ns,
                                  const char *subject, size_t subject_size,
                                  const byte *headers, size_t headers_size,
                                  const void *body, size_t body_size);

size_t
    zmx_stream_msg_info_size (size_t name_size);
size_t
    zmx_stream_msg_info_put (byte *out, const zmx_stream_info_wire_t *info);

//  Put one u64 in network order (for APPENDED, ACK and NACK blobs).
void
    zmx_stream_msg_put_u64 (byte *out, uint64_t value);
uint64_t
    zmx_stream_msg_get_u64 (const byte *in);

//  ---- Walking blobs that decode accepted: set *at to the blob's start
//  and call until it returns false.

bool
    zmx_stream_msg_batch_next (const byte **at, const byte *end,
                               zmx_stream_batch_record_t *record);
bool
    zmx_stream_msg_delivered_next (const byte **at, const byte *end,
                                   zmx_stream_delivered_t *record);
bool
    zmx_stream_msg_info_next (const byte **at, const byte *end, zmx_stream_info_wire_t *info);

//  ---- Headers on the wire (name size u8, name, value size u16 big-endian,
//  value; at most ZMX_STREAM_HEADERS_MAX).

//  True if `size` bytes are valid wire headers; *count_p gets their number.
bool
    zmx_stream_msg_headers_valid (const byte *headers, size_t size, size_t *count_p);

//  Decode valid wire headers into `out` (room for `max`), pointing into
//  `headers`. Returns the count, or -1 if they do not fit or are invalid.
int
    zmx_stream_msg_headers_decode (const byte *headers, size_t size,
                                   zmx_stream_header_t *out, size_t max);

//  Encode the headers of a stored record (zmx_stream_record_header) into
//  wire form at `out` (room for `max` bytes). Returns the bytes, or -1 if
//  they do not fit.
int64_t
    zmx_stream_msg_headers_from_record (const zmx_stream_record_t *record, byte *out,
                                        size_t max);

//  Encode an array of headers into wire form at `out` (room for `max`).
//  Returns the bytes, or -1 if they are invalid or do not fit.
int64_t
    zmx_stream_msg_headers_encode (const zmx_stream_header_t *headers, size_t count,
                                   byte *out, size_t max);

//  Name of a command ("APPEND", ...); "?" if out of range.
const char *
    zmx_stream_msg_command_name (int command);

#ifdef __cplusplus
}
#endif
#endif
