/*  =========================================================================
    zmx_mdp - Majordomo codec: 7/MDP (MDP/0.1), 18/MDP (MDP/0.2) and zmx
    packed MDP

    The decoder checks every frame of a message (count, sizes, protocol
    header, command byte, printable service name, envelope delimiter) before
    anything else looks at it, and says why a message is invalid. It works
    on plain (pointer, size) frame views so that the broker can decode
    zmq_msg_t arrays without copying and the fuzzer can feed raw bytes.

    Frame layouts, after any ROUTER identity frame (see docs/PROTOCOLS.md):

      MDP/0.1 client:  "" "MDPC01" service body...           REQUEST/REPLY
      MDP/0.1 worker:  "" "MDPW01" 0x01 service [credit]     READY
                       "" "MDPW01" 0x02|0x03 addr "" body... REQUEST/REPLY
                       "" "MDPW01" 0x04|0x05                 HEARTBEAT/DISC.
      MDP/0.2 client:  "MDPC02" 0x01 service body...         REQUEST
                       "MDPC02" 0x02|0x03 service body...    PARTIAL/FINAL
      MDP/0.2 worker:  "MDPW02" 0x01 service [credit]        READY
                       "MDPW02" 0x02|0x03|0x04 addr "" body  REQ/PARTIAL/FINAL
                       "MDPW02" 0x05|0x06                    HEARTBEAT/DISC.

    [credit] is the zmx worker-credit extension: an optional last READY
    frame holding a decimal number 1..ZMX_MDP_MAX_CREDIT, the number of
    requests the worker accepts in flight. Without it a worker gets one.

    zmx packed MDP (version 3, ZMX_MDP_PACKED), a zmx extension that only
    the zmx broker speaks: the whole MDP header is one frame, and a small
    first body frame rides in it (docs/PROTOCOLS.md):

      header frame:    id[6] command[1] flags[1] fields [inline body]
      packed client:   "ZMXC01" 0x01 flags svc_len[1] service   REQUEST
                       "ZMXC01" 0x02|0x03 flags svc_len service PARTIAL/FINAL
      packed worker:   "ZMXW01" 0x01 0x00 svc_len service credit[4]  READY
                       "ZMXW01" 0x02|0x03|0x04 flags addr_len[2] addr
                                                  REQUEST/PARTIAL/FINAL
                       "ZMXW01" 0x05|0x06 0x00                HEARTBEAT/DISC.

    Numbers are big-endian. flags bit 0 (INLINE) says the bytes after the
    fields are body frame 0; the frames after the header are the rest of
    the body. Without INLINE the header ends exactly after its fields and
    at least one body frame follows. Credit 0 means none (one request).
    =========================================================================
*/
#ifndef ZMX_MDP_H_INCLUDED
#define ZMX_MDP_H_INCLUDED

#include <czmq.h>
#include "zmx_frame.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_MDPC01 "MDPC01"
#define ZMX_MDPW01 "MDPW01"
#define ZMX_MDPC02 "MDPC02"
#define ZMX_MDPW02 "MDPW02"
#define ZMX_MDPC_PACKED "ZMXC01"
#define ZMX_MDPW_PACKED "ZMXW01"

//  Version numbers as the view reports them
#define ZMX_MDP_PACKED        3     //  zmx packed MDP (a zmx extension)

//  Command bytes, MDP/0.1 worker
#define ZMX_MDPW01_READY      0x01
#define ZMX_MDPW01_REQUEST    0x02
#define ZMX_MDPW01_REPLY      0x03
#define ZMX_MDPW01_HEARTBEAT  0x04
#define ZMX_MDPW01_DISCONNECT 0x05
//  Command bytes, MDP/0.2 client
#define ZMX_MDPC02_REQUEST    0x01
#define ZMX_MDPC02_PARTIAL    0x02
#define ZMX_MDPC02_FINAL      0x03
//  Command bytes, MDP/0.2 worker
#define ZMX_MDPW02_READY      0x01
#define ZMX_MDPW02_REQUEST    0x02
#define ZMX_MDPW02_PARTIAL    0x03
#define ZMX_MDPW02_FINAL      0x04
#define ZMX_MDPW02_HEARTBEAT  0x05
#define ZMX_MDPW02_DISCONNECT 0x06
//  Command bytes, packed client (same numbers as MDP/0.2's client)
#define ZMX_PACKEDC_REQUEST   0x01
#define ZMX_PACKEDC_PARTIAL   0x02
#define ZMX_PACKEDC_FINAL     0x03
//  Command bytes, packed worker (same numbers as MDP/0.2's worker)
#define ZMX_PACKEDW_READY      0x01
#define ZMX_PACKEDW_REQUEST    0x02
#define ZMX_PACKEDW_PARTIAL    0x03
#define ZMX_PACKEDW_FINAL      0x04
#define ZMX_PACKEDW_HEARTBEAT  0x05
#define ZMX_PACKEDW_DISCONNECT 0x06
//  Packed header: flags bits, fixed size, and the inline bound senders use
#define ZMX_PACKED_INLINE      0x01 //  bytes after the fields are body frame 0
#define ZMX_PACKED_FIXED       8    //  id, command, flags
#define ZMX_PACKED_INLINE_MAX  1024 //  zmx senders inline body frame 0 up to
                                    //  this size; larger ones travel as
                                    //  frames (no copy). Receivers take any.
//  Largest packed header without its inline body (a worker READY or an
//  address of ZMX_MDP_MAX_ADDRESS bytes both fit)
#define ZMX_PACKED_HEAD_MAX    (ZMX_PACKED_FIXED + 2 + 256 + 4)

//  Limits the decoder enforces
#define ZMX_MDP_MAX_SERVICE   255   //  bytes in a service name
#define ZMX_MDP_MAX_ADDRESS   256   //  bytes in a client address frame
                                    //  (a routing id of up to 255 bytes
                                    //  plus the broker's one-byte tag)
#define ZMX_MDP_MAX_FRAMES    64    //  frames in one message, all included
#define ZMX_MDP_MAX_CREDIT    100000

//  mmi.services (zmx extension, docs/PROTOCOLS.md): a request whose body
//  is this word gets the whole list in one frame, one newline-ended
//  "<workers> <queued> <name>" line per service. Any other request gets
//  one frame per service while there are at most ZMX_MMI_SERVICES_FRAMES
//  of them (so that the reply stays within ZMX_MDP_MAX_FRAMES with its
//  header), and the one-frame list beyond that.
#define ZMX_MMI_SERVICES_LIST   "list"
#define ZMX_MMI_SERVICES_FRAMES (ZMX_MDP_MAX_FRAMES - 4)

typedef enum {
    ZMX_MDP_INVALID = 0,
    ZMX_MDP_CLIENT_REQUEST,     //  client -> broker
    ZMX_MDP_CLIENT_REPLY,       //  broker -> client (0.1)
    ZMX_MDP_CLIENT_PARTIAL,     //  broker -> client (0.2)
    ZMX_MDP_CLIENT_FINAL,       //  broker -> client (0.2)
    ZMX_MDP_WORKER_READY,       //  worker -> broker
    ZMX_MDP_WORKER_REQUEST,     //  broker -> worker
    ZMX_MDP_WORKER_REPLY,       //  worker -> broker (0.1)
    ZMX_MDP_WORKER_PARTIAL,     //  worker -> broker (0.2)
    ZMX_MDP_WORKER_FINAL,       //  worker -> broker (0.2)
    ZMX_MDP_WORKER_HEARTBEAT,   //  both ways
    ZMX_MDP_WORKER_DISCONNECT   //  both ways
} zmx_mdp_command_t;

//  Which end is decoding: it decides which commands are legal to receive.
typedef enum {
    ZMX_MDP_AT_BROKER,          //  client and worker commands sent to a broker
    ZMX_MDP_AT_WORKER,          //  broker commands sent to a worker
    ZMX_MDP_AT_CLIENT           //  broker replies sent to a client
} zmx_mdp_side_t;

//  One frame to decode: the same type as zmx_frame_t (zmx_frame.h)
typedef zmx_frame_t zmx_mdp_frame_t;

//  What the decoder found. Frame indexes refer to the array passed in;
//  0 means "not present" (in 0.1 and 0.2 index 0 is never a service,
//  address or body).
//
//  The byte ranges locate the service name, the client address and an
//  inline body for every version: the service is `service_size` bytes at
//  `service_offset` in frame `service`, the address likewise. In 0.1 and
//  0.2 the offsets are 0 and the sizes those of the frames; in packed MDP
//  the service and address lie inside the header, frame 0 (so `service`
//  and `address` are 0 there, and the sizes tell whether they are
//  present). Body frame 0 of a packed message may be inline: then
//  `inline_body` is true and it is `inline_size` bytes at `inline_offset`
//  in frame 0, followed by frames `body`..count-1.
typedef struct {
    zmx_mdp_command_t command;
    int version;                //  1 = MDP/0.1, 2 = MDP/0.2, 3 = packed
    size_t service;             //  index of the service name frame
    size_t address;             //  index of the client address frame
    size_t body;                //  index of the first body frame (== count if none)
    uint32_t credit;            //  READY: announced credit, 0 if none
    const char *error;          //  static reason when command is INVALID
    size_t service_offset;      //  service name: byte offset in its frame,
    size_t service_size;        //  and its length (0 = no service)
    size_t address_offset;      //  client address: byte offset in its frame,
    size_t address_size;        //  and its length (0 = no address)
    bool inline_body;           //  packed: body frame 0 is inside frame 0
    size_t inline_offset;       //  where it starts in frame 0,
    size_t inline_size;         //  and its length (may be 0)
} zmx_mdp_view_t;

//  Decode `count` frames (no ROUTER identity frame) received at `side`.
//  Returns 0 and fills *view, or -1 with view->command = ZMX_MDP_INVALID
//  and view->error set. Never reads beyond the frames given.
int
    zmx_mdp_decode (const zmx_mdp_frame_t *frames, size_t count,
                    zmx_mdp_side_t side, zmx_mdp_view_t *view);

//  Decode a CZMQ message (convenience for clients and workers; the message
//  is not modified). Same return as zmx_mdp_decode.
int
    zmx_mdp_decode_msg (zmsg_t *msg, zmx_mdp_side_t side, zmx_mdp_view_t *view);

//  Name of a command, e.g. "READY"; "INVALID" for anything unknown.
const char *
    zmx_mdp_command_name (zmx_mdp_command_t command);

//  True if the string is a valid service name: 1..255 printable ASCII bytes.
bool
    zmx_mdp_service_valid (const void *data, size_t size);

//  Packed encoder for the hot paths: write the fixed part and fields of a
//  packed header for `command` (a client or worker command of the packed
//  sub-protocols: CLIENT_REQUEST, CLIENT_PARTIAL, CLIENT_FINAL or
//  CLIENT_REPLY as FINAL; WORKER_READY, WORKER_REQUEST, WORKER_PARTIAL,
//  WORKER_FINAL or WORKER_REPLY as FINAL, WORKER_HEARTBEAT,
//  WORKER_DISCONNECT) into `buffer`, which holds at least
//  zmx_mdp_packed_size (command, field_size, 0) bytes. `field` is the
//  service (client commands, READY) or the client address (worker
//  requests and replies); `credit` is READY's. With `inline_body` the
//  INLINE flag is set and the caller copies body frame 0 to the returned
//  offset. Returns the number of bytes written.
size_t
    zmx_mdp_packed_write (void *buffer, zmx_mdp_command_t command, bool inline_body,
                          const void *field, size_t field_size, uint32_t credit);

//  Bytes of a packed header for `command` with a field of `field_size`
//  bytes and `inline_size` bytes of inline body.
size_t
    zmx_mdp_packed_size (zmx_mdp_command_t command, size_t field_size, size_t inline_size);

//  Encoders for the zmsg-based client and worker classes. Each pushes the
//  protocol frames in front of `msg` (which holds the body, possibly empty)
//  for MDP/0.1, or MDP/0.2 when version is 2, or packed MDP when version
//  is ZMX_MDP_PACKED (then body frame 0 is inlined when it is at most
//  ZMX_PACKED_INLINE_MAX bytes).

//  Client REQUEST: [""] header service body...
void
    zmx_mdp_wrap_client_request (zmsg_t *msg, int version, const char *service);
//  Worker READY; credit 0 leaves the extension frame out.
zmsg_t *
    zmx_mdp_worker_ready (int version, const char *service, uint32_t credit);
//  Worker HEARTBEAT or DISCONNECT (command is ZMX_MDP_WORKER_HEARTBEAT or
//  ZMX_MDP_WORKER_DISCONNECT).
zmsg_t *
    zmx_mdp_worker_signal (int version, zmx_mdp_command_t command);
//  Worker REPLY (0.1) / FINAL or PARTIAL (0.2) to the client at `address`.
void
    zmx_mdp_wrap_worker_reply (zmsg_t *msg, int version, zmx_mdp_command_t command,
                               zframe_t *address);

#ifdef __cplusplus
}
#endif
#endif
