/*  =========================================================================
    zmx_credit - credit-based flow control over DEALER -> ROUTER

    A sender (one ROUTER, bound through zmx_security) streams payloads to
    many receivers (one DEALER each). Every receiver grants the sender a
    byte window when it connects and tops it up, one slice at a time, as
    it takes bytes off its socket. The sender puts bytes on the wire only
    within a peer's credit, so what sits in ZeroMQ queues for one receiver
    never exceeds its window, whatever its speed: no high-water mark is
    reached, nothing is dropped, and the sender's memory stays bounded by
    (window + backlog cap) per receiver.

    Sender:

        zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
        //  poll zmx_credit_sender_socket (sender), then
        zmx_credit_sender_process (sender);
        zlist_t *peers = zmx_credit_sender_peers (sender);
        const char *peer = (const char *) zlist_first (peers);
        if (zmx_credit_sender_send (sender, peer, data, size) == ZMX_EAGAIN)
            ;   //  backlog full: process and try again later
        zlist_destroy (&peers);

    Receiver:

        zmx_credit_receiver_t *receiver =
            zmx_credit_receiver_new (endpoint, 256 * 1024, 64 * 1024);
        zframe_t *payload = zmx_credit_receiver_recv (receiver, 1000);

    Wire format (docs/FLOW_CONTROL.md has the full text). Every message
    starts with the frame "ZMXCR1" and a one-byte command; numbers are
    unsigned 64-bit, network byte order:

        receiver -> sender   HELLO   0x01  window         first message
                             CREDIT  0x02  bytes          top-up
                             PING    0x04                 keep-alive
                             BYE     0x05                 forget me
        sender -> receiver   DATA    0x03  sequence, flags[n], segment x n

    A DATA message batches 1..ZMX_CREDIT_MAX_BATCH segments; segment i has
    sequence number (sequence + i) and flags byte i (FIRST and/or LAST of
    a payload). A segment costs its size plus ZMX_CREDIT_SEGMENT_COST
    bytes of credit, so that empty and tiny payloads are paid for too.
    =========================================================================
*/
#ifndef ZMX_CREDIT_H_INCLUDED
#define ZMX_CREDIT_H_INCLUDED

#include <czmq.h>
#include "zmx_frame.h"
#include <stdint.h>
#include "zmx_security.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_CREDIT_PROTOCOL         "ZMXCR1"

//  Command bytes
#define ZMX_CREDIT_HELLO            0x01
#define ZMX_CREDIT_CREDIT           0x02
#define ZMX_CREDIT_DATA             0x03
#define ZMX_CREDIT_PING             0x04
#define ZMX_CREDIT_BYE              0x05

//  DATA segment flags
#define ZMX_CREDIT_FIRST            0x01    //  segment starts a payload
#define ZMX_CREDIT_LAST             0x02    //  segment ends a payload

//  Limits the decoder and the classes enforce
#define ZMX_CREDIT_SEGMENT_COST     32                  //  credit per segment, on top of its bytes
#define ZMX_CREDIT_MAX_BATCH        64                  //  segments in one DATA message
#define ZMX_CREDIT_MAX_SEGMENT      (1024 * 1024)       //  bytes in one segment
#define ZMX_CREDIT_MIN_WINDOW       4096                //  smallest window a receiver may grant
#define ZMX_CREDIT_MAX_WINDOW       ((uint64_t) 1 << 30)
#define ZMX_CREDIT_MIN_SEGMENT      512                 //  sender waits for this much room
                                                        //  before cutting a segment short

//  Defaults
#define ZMX_CREDIT_FRAGMENT         (16 * 1024)         //  sender: bytes per DATA message
#define ZMX_CREDIT_BACKLOG          (1024 * 1024)       //  sender: per-peer backlog cap
#define ZMX_CREDIT_EXPIRY           5000                //  sender: msec of silence to forget a peer
#define ZMX_CREDIT_MAX_RECEIVERS    1000                //  sender: receivers known at once
#define ZMX_CREDIT_HEARTBEAT        1000                //  receiver: msec between PINGs
#define ZMX_CREDIT_MAX_PAYLOAD      (64 * 1024 * 1024)  //  receiver: largest payload reassembled

//  -------------------------------------------------------------------------
//  Codec: decoding works on (pointer, size) frame views, without the
//  ROUTER identity frame, so the fuzzer can feed raw bytes.

//  One frame to decode: the same type as zmx_frame_t (zmx_frame.h)
typedef zmx_frame_t zmx_credit_frame_t;

typedef enum {
    ZMX_CREDIT_AT_SENDER,       //  decoding what a receiver sent
    ZMX_CREDIT_AT_RECEIVER      //  decoding what a sender sent
} zmx_credit_side_t;

typedef struct {
    int command;                //  command byte, 0 if invalid
    uint64_t value;             //  HELLO window, CREDIT bytes, DATA sequence
    size_t segments;            //  DATA: number of segments
    const uint8_t *flags;       //  DATA: one flags byte per segment
    size_t segment;             //  DATA: index of the first segment frame
    const char *error;          //  static reason when command is 0
} zmx_credit_view_t;

//  Decode `count` frames received at `side`, checking the frame count,
//  every size, the protocol frame, the command byte and its legality at
//  this side, the value's range and every flags byte. Returns 0 and fills
//  *view, or -1 with view->command 0 and view->error set. Never reads
//  beyond the frames given.
int
    zmx_credit_decode (const zmx_credit_frame_t *frames, size_t count,
                       zmx_credit_side_t side, zmx_credit_view_t *view);

//  A receiver command: HELLO or CREDIT with `value`, PING or BYE (value
//  ignored). Caller owns the message. Asserts on another command byte.
zmsg_t *
    zmx_credit_command (int command, uint64_t value);

//  -------------------------------------------------------------------------
//  Sender

typedef struct _zmx_credit_sender_t zmx_credit_sender_t;

//  Counters, whole sender. Byte counts are payload bytes unless marked
//  as credit (payload bytes plus ZMX_CREDIT_SEGMENT_COST per segment).
typedef struct {
    uint64_t bytes_sent;            //  payload bytes put on the wire
    uint64_t bytes_queued;          //  payload bytes in backlogs now, all peers
    uint64_t max_queued_observed;   //  highest bytes_queued seen
    uint64_t in_flight;             //  credit used and not yet granted back, all peers
    uint64_t max_in_flight_observed;//  highest in-flight credit seen for any ONE peer
    uint64_t credit_granted;        //  credit received, windows and top-ups, all peers
    uint64_t peers;                 //  receivers known now
    uint64_t peers_expired;         //  forgotten after silence or unreachable
    uint64_t malformed;             //  incoming messages dropped as invalid
    uint64_t receivers_refused;     //  HELLOs refused: max-receivers reached
} zmx_credit_sender_stats_t;

//  Counters for one peer.
typedef struct {
    uint64_t window;                //  credit the peer granted at HELLO
    uint64_t credit;                //  credit left to spend
    uint64_t in_flight;             //  window - credit
    uint64_t max_in_flight;         //  highest in_flight seen
    uint64_t bytes_queued;          //  payload bytes waiting for credit
    uint64_t bytes_sent;            //  payload bytes put on the wire
    uint64_t payloads;              //  payloads accepted by send
} zmx_credit_peer_stats_t;

//  Create a sender with a ROUTER made by zmx_security (security may be
//  NULL: no security) and bound to `endpoint`. Returns NULL (reason
//  logged) if the endpoint cannot be bound.
zmx_credit_sender_t *
    zmx_credit_sender_new (zmx_security_t *security, const char *endpoint);

//  Close and free, with every peer's backlog. Idempotent; nulls *self_p.
void
    zmx_credit_sender_destroy (zmx_credit_sender_t **self_p);

//  The bound endpoint, with the port resolved ("tcp://127.0.0.1:40123").
const char *
    zmx_credit_sender_endpoint (zmx_credit_sender_t *self);

//  The ROUTER, to poll for input; call zmx_credit_sender_process when it
//  is readable, and at least every expiry / 2 msec.
zsock_t *
    zmx_credit_sender_socket (zmx_credit_sender_t *self);

//  Settings, any time. Fragment: most payload bytes in one DATA message,
//  1024..ZMX_CREDIT_MAX_SEGMENT (default ZMX_CREDIT_FRAGMENT). Backlog:
//  most payload bytes one peer may have waiting for credit, >= 1 (default
//  ZMX_CREDIT_BACKLOG). Expiry: msec without any message from a peer
//  before its state is freed, >= 1 (default ZMX_CREDIT_EXPIRY). Max
//  receivers: receivers known at once, >= 1 (default
//  ZMX_CREDIT_MAX_RECEIVERS); a HELLO beyond it is refused: the receiver
//  gets no credit (nothing is sent to it), receivers_refused counts it,
//  and a warning is logged at most once a second. Lowering it forgets
//  nobody. Return ZMX_OK or ZMX_EINVAL (value out of range, setting
//  unchanged).
int
    zmx_credit_sender_set_fragment (zmx_credit_sender_t *self, size_t bytes);
int
    zmx_credit_sender_set_backlog (zmx_credit_sender_t *self, size_t bytes);
int
    zmx_credit_sender_set_expiry (zmx_credit_sender_t *self, int msec);
int
    zmx_credit_sender_set_max_receivers (zmx_credit_sender_t *self, size_t receivers);

//  Queue `size` bytes (copied) to `peer`. Once a fragment's worth is
//  waiting (each payload counting ZMX_CREDIT_SEGMENT_COST extra), send as
//  much as its credit allows; smaller amounts wait for the next process
//  call, so that small payloads travel batched. Returns ZMX_OK; ZMX_EAGAIN if the peer's backlog plus size
//  would exceed the backlog cap (nothing queued: process, then retry);
//  ZMX_EDISCONNECTED if the peer is unknown (never said HELLO, or
//  expired); ZMX_EINVAL if size alone exceeds the backlog cap. A peer
//  found unreachable while sending is forgotten with its backlog.
int
    zmx_credit_sender_send (zmx_credit_sender_t *self, const char *peer,
                            const void *data, size_t size);

//  Handle every message waiting on the socket (credit, pings, new and
//  departing peers), free peers silent for the expiry time, and send what
//  credit allows. Never blocks. Returns the number of messages handled.
int
    zmx_credit_sender_process (zmx_credit_sender_t *self);

//  Known peers, as the peer names send takes (hex of the routing id).
//  Caller destroys the list (it frees its strings).
zlist_t *
    zmx_credit_sender_peers (zmx_credit_sender_t *self);

//  Fill *stats with the sender's counters.
void
    zmx_credit_sender_stats (zmx_credit_sender_t *self, zmx_credit_sender_stats_t *stats);

//  Fill *stats for one peer. Returns ZMX_OK, or ZMX_EDISCONNECTED if the
//  peer is unknown.
int
    zmx_credit_sender_peer_stats (zmx_credit_sender_t *self, const char *peer,
                                  zmx_credit_peer_stats_t *stats);

//  -------------------------------------------------------------------------
//  Receiver

typedef struct _zmx_credit_receiver_t zmx_credit_receiver_t;

typedef struct {
    uint64_t bytes_received;        //  payload bytes taken off the socket
    uint64_t payloads;              //  complete payloads delivered
    uint64_t gaps;                  //  sequence breaks seen (must stay 0)
    uint64_t malformed;             //  messages dropped as invalid
    uint64_t overruns;              //  DATA beyond the credit granted
    uint64_t credit_granted;        //  credit granted, window included
} zmx_credit_receiver_stats_t;

//  Connect to a sender and grant it `window` bytes of credit
//  (ZMX_CREDIT_MIN_WINDOW..ZMX_CREDIT_MAX_WINDOW), topped up each time
//  `slice` bytes (1..window / 2) were taken off the socket. Returns NULL
//  (reason logged) on a bad argument or endpoint.
zmx_credit_receiver_t *
    zmx_credit_receiver_new (const char *endpoint, uint64_t window, uint64_t slice);

//  The same, as a CURVE client of a sender whose zmx_security uses CURVE:
//  see zmx_security_client_curve for the last two arguments. Returns NULL
//  (reason logged) if they are unusable.
zmx_credit_receiver_t *
    zmx_credit_receiver_new_curve (const char *endpoint, uint64_t window, uint64_t slice,
                                   const char *client_cert_path, const char *server_key);

//  Say BYE (so the sender frees our state at once), close and free.
//  Idempotent; nulls *self_p.
void
    zmx_credit_receiver_destroy (zmx_credit_receiver_t **self_p);

//  Msec between PINGs while the receiver waits in recv (default
//  ZMX_CREDIT_HEARTBEAT); keep it below the sender's expiry. Largest
//  payload reassembled (default ZMX_CREDIT_MAX_PAYLOAD); bigger ones are
//  dropped and logged. Return ZMX_OK or ZMX_EINVAL.
int
    zmx_credit_receiver_set_heartbeat (zmx_credit_receiver_t *self, int msec);
int
    zmx_credit_receiver_set_max_payload (zmx_credit_receiver_t *self, size_t bytes);

//  Wait up to timeout_ms (-1 forever) for the next complete payload.
//  Returns it (caller owns), or NULL on timeout or interrupt. Sends PINGs
//  and credit while it waits.
zframe_t *
    zmx_credit_receiver_recv (zmx_credit_receiver_t *self, int timeout_ms);

//  Fill *stats with the receiver's counters.
void
    zmx_credit_receiver_stats (zmx_credit_receiver_t *self, zmx_credit_receiver_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
