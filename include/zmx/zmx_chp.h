/*  =========================================================================
    zmx_chp - codec for 12/CHP, the Clustered Hashmap Protocol

    CHP messages are multi-frame. Which command a message is depends on the
    socket it came from as much as on its frames, so the decoder is told
    the side (which socket of which peer) it reads for:

        side                     socket             commands
        ZMX_CHP_SERVER_SNAPSHOT  server ROUTER      ICANHAZ
        ZMX_CHP_CLIENT_SNAPSHOT  client DEALER      KVSYNC, KTHXBAI
        ZMX_CHP_CLIENT_UPDATES   client SUB         KVPUB, HUGZ
        ZMX_CHP_SERVER_COLLECTOR server SUB         KVSET

    Frames (the ROUTER identity frame is not part of the command):

        ICANHAZ   "ICANHAZ?", subtree
        KVSYNC    key, sequence, uuid, properties, value
        KTHXBAI   "KTHXBAI", sequence, "", "", subtree
        KVPUB     key, sequence, uuid, properties, value
        HUGZ      "HUGZ", sequence, "", "", ""
        KVSET     key, sequence, uuid, properties, value

    A sequence is exactly 8 octets, network byte order. A uuid is empty or
    exactly 16 octets. Properties are zero or more "name=value\n" lines.
    A subtree is empty, or "/" followed by one or more non-empty segments
    each ending in "/" ("/config/", "/names/eu/"). A key is 1 to
    ZMX_CHP_KEY_MAX printable bytes (no control characters) and is not one
    of the command words "ICANHAZ?", "KTHXBAI" and "HUGZ", which would be
    ambiguous on the wire. An empty value means "delete".

    The RFC shows KVSYNC with empty uuid and properties frames and HUGZ
    with a zero sequence; this codec sends exactly that for KVSYNC, puts
    the server's current sequence in HUGZ (clients use it to find updates
    they missed; zero means "unknown"), and accepts a uuid and properties
    in KVSYNC from servers that send them.

    Decoding never copies: the view points into the frames, which must
    outlive it. Every frame count, size, command word and field format is
    checked before anything is used; a refusal gives a static reason.
    =========================================================================
*/
#ifndef ZMX_CHP_H_INCLUDED
#define ZMX_CHP_H_INCLUDED

#include <czmq.h>
#include "zmx_frame.h"
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_CHP_ICANHAZ_WORD    "ICANHAZ?"
#define ZMX_CHP_KTHXBAI_WORD    "KTHXBAI"
#define ZMX_CHP_HUGZ_WORD       "HUGZ"
#define ZMX_CHP_FRAMES          5       //  Frames of every command but ICANHAZ
#define ZMX_CHP_SEQUENCE_SIZE   8
#define ZMX_CHP_UUID_SIZE       16
#define ZMX_CHP_KEY_MAX         1024    //  Bytes in a key or a subtree
#define ZMX_CHP_PROPERTIES_MAX  4096    //  Bytes in the properties frame
#define ZMX_CHP_TTL_MAX         315360000   //  Ten years, in seconds

typedef enum {
    ZMX_CHP_ICANHAZ = 1,
    ZMX_CHP_KVSYNC = 2,
    ZMX_CHP_KTHXBAI = 3,
    ZMX_CHP_KVPUB = 4,
    ZMX_CHP_HUGZ = 5,
    ZMX_CHP_KVSET = 6
} zmx_chp_command_t;

typedef enum {
    ZMX_CHP_SERVER_SNAPSHOT = 1,    //  Server's ROUTER: ICANHAZ
    ZMX_CHP_CLIENT_SNAPSHOT = 2,    //  Client's DEALER: KVSYNC, KTHXBAI
    ZMX_CHP_CLIENT_UPDATES = 3,     //  Client's SUB: KVPUB, HUGZ
    ZMX_CHP_SERVER_COLLECTOR = 4    //  Server's SUB: KVSET
} zmx_chp_side_t;

//  One frame to decode: the same type as zmx_frame_t (zmx_frame.h)
typedef zmx_frame_t zmx_chp_frame_t;

//  One command. Pointers refer into the frames it was decoded from (or,
//  for encoding, to the caller's data); absent fields are NULL and 0.
typedef struct {
    zmx_chp_command_t command;
    const char *key;            //  KVSYNC, KVPUB, KVSET (not terminated)
    size_t key_size;
    const char *subtree;        //  ICANHAZ, KTHXBAI (not terminated)
    size_t subtree_size;
    uint64_t sequence;          //  All but ICANHAZ
    const byte *uuid;           //  NULL or ZMX_CHP_UUID_SIZE bytes
    const char *properties;     //  "name=value\n"... (not terminated)
    size_t properties_size;
    const byte *value;          //  Empty: delete
    size_t value_size;
} zmx_chp_view_t;

//  Decode the frames of one message read on `side` (without a ROUTER
//  identity). Returns 0 with *view filled, or -1 with *error (may be
//  NULL) set to a static reason and *view zeroed.
int
    zmx_chp_decode (const zmx_chp_frame_t *frames, size_t count, zmx_chp_side_t side,
                    zmx_chp_view_t *view, const char **error);

//  Check a view as the decoder would check the message it encodes (keys,
//  subtree, uuid, properties). Returns 0, or -1 with *error set.
int
    zmx_chp_check (const zmx_chp_view_t *view, const char **error);

//  Encode a command as a message (ICANHAZ: 2 frames; others: 5). Returns
//  NULL if the view does not pass zmx_chp_check. Caller owns the message.
zmsg_t *
    zmx_chp_encode (const zmx_chp_view_t *view);

//  Send a command straight to a libzmq socket (zsock_resolve'd), frame by
//  frame without building a zmsg, with `flags` (0 or ZMQ_DONTWAIT) on the
//  first frame. `routing_id` (may be NULL) is sent first, for a ROUTER.
//  Returns 0, or -1 with errno as libzmq set it (EAGAIN: nothing sent).
//  The view must pass zmx_chp_check (asserted: callers build their own).
int
    zmx_chp_send (void *socket, const zmx_chp_frame_t *routing_id,
                  const zmx_chp_view_t *view, int flags);

//  One received message: up to ZMX_CHP_FRAMES + 1 frames kept (a ROUTER
//  identity and five command frames), the number received in total.
typedef struct {
    zmq_msg_t frames [ZMX_CHP_FRAMES + 1];
    size_t kept;                //  Frames held in frames []
    size_t count;               //  Frames the message had
} zmx_chp_msg_t;

//  Receive one whole message from a libzmq socket; frames beyond the
//  first ZMX_CHP_FRAMES + 1 are read and discarded (count tells). Returns
//  0, or -1 with errno (EAGAIN with ZMQ_DONTWAIT: nothing there) and
//  nothing held.
int
    zmx_chp_recv (zmx_chp_msg_t *self, void *socket, int flags);

//  Decode a received message, skipping its first `skip` frames (1 for a
//  ROUTER identity). A message with more frames than were kept fails.
int
    zmx_chp_decode_msg (zmx_chp_msg_t *self, size_t skip, zmx_chp_side_t side,
                        zmx_chp_view_t *view, const char **error);

//  Free the frames; safe to call twice.
void
    zmx_chp_msg_close (zmx_chp_msg_t *self);

//  Field checks, exposed for the server, the client and tests.
bool
    zmx_chp_key_valid (const char *key, size_t size);
bool
    zmx_chp_subtree_valid (const char *subtree, size_t size);
bool
    zmx_chp_properties_valid (const char *properties, size_t size);

//  True if `key` lies in `subtree` (an empty subtree holds every key).
bool
    zmx_chp_in_subtree (const char *key, size_t key_size, const char *subtree,
                        size_t subtree_size);

//  Find property `name` in valid properties; copies its value, terminated
//  and cut to fit, into `buffer`. Returns 1 if found, 0 if not.
int
    zmx_chp_property (const char *properties, size_t size, const char *name, char *buffer,
                      size_t buffer_size);

//  The "ttl" property in seconds: returns 0 (no ttl; *ttl = 0), 1 (*ttl
//  set, 1..ZMX_CHP_TTL_MAX), or -1 if present but not such a number.
int
    zmx_chp_ttl (const char *properties, size_t size, uint64_t *ttl);

//  Name of a command ("KVPUB", ...), "?" if out of range.
const char *
    zmx_chp_command_name (int command);

#ifdef __cplusplus
}
#endif
#endif
