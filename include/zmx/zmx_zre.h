/*  =========================================================================
    zmx_zre - codec for 36/ZRE version 2 messages and ZRE beacons

    A ZRE message is one header frame, plus content frames for WHISPER and
    SHOUT. The header frame holds the signature %xAA %xA1, the command id,
    the version (2), a 2-octet sequence number, then the command's fields
    in the RFC's order. Numbers are unsigned, network byte order; a string
    is a 1-octet length and text, a longstr a 4-octet length and text,
    strings a 4-octet count and longstrs, a dictionary a 4-octet count and
    string/longstr pairs.

    Text is checked to hold no NUL and no ASCII control characters (bytes
    0x00-0x1F and 0x7F); spaces and UTF-8 are accepted, as Zyre sends them.
    Names, groups and header names are 1..255 bytes; an empty node name is
    accepted (the grammar allows it). The HELLO endpoint must look like a
    ZeroMQ endpoint. Group lists and header names must not repeat. The
    decoder checks every length against the frame and refuses trailing
    bytes, extra frames on commands without content, and counts that the
    frame cannot hold; it never reads past the frame and never asserts on
    input.

    A beacon is one 22-octet UDP datagram: "ZRE", version %x01, the
    sender's 16-octet UUID, its 2-octet mailbox port (0: leaving).
    =========================================================================
*/
#ifndef ZMX_ZRE_H_INCLUDED
#define ZMX_ZRE_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_ZRE_SIGNATURE_0     0xAA
#define ZMX_ZRE_SIGNATURE_1     0xA1
#define ZMX_ZRE_VERSION         2
#define ZMX_ZRE_MAX_STRING      255
#define ZMX_ZRE_MAX_GROUPS      10000       //  groups we accept in one HELLO
#define ZMX_ZRE_MAX_HEADERS     10000       //  headers we accept in one HELLO
#define ZMX_ZRE_MAX_VALUE       65536       //  bytes of one header value
#define ZMX_ZRE_MAX_CONTENT     1024        //  content frames of WHISPER/SHOUT

#define ZMX_ZRE_BEACON_SIZE     22
#define ZMX_ZRE_BEACON_VERSION  1
#define ZMX_ZRE_UUID_SIZE       16

//  Routing id of a node's DEALER: 1 then the 16-octet UUID.
#define ZMX_ZRE_IDENTITY_SIZE   17
#define ZMX_ZRE_IDENTITY_PREFIX 1

typedef enum {
    ZMX_ZRE_HELLO = 1,
    ZMX_ZRE_WHISPER = 2,
    ZMX_ZRE_SHOUT = 3,
    ZMX_ZRE_JOIN = 4,
    ZMX_ZRE_LEAVE = 5,
    ZMX_ZRE_PING = 6,
    ZMX_ZRE_PING_OK = 7
} zmx_zre_id_t;

//  One message. Only the fields of `id` are used. groups is a zlist_t of
//  strings (autofree), headers a zhash_t of strings (autofree), content a
//  zmsg_t; all three are owned by the message (NULL when unused).
typedef struct {
    int id;                                     //  zmx_zre_id_t
    uint16_t sequence;                          //  every command
    char endpoint [ZMX_ZRE_MAX_STRING + 1];     //  HELLO
    zlist_t *groups;                            //  HELLO
    uint8_t status;                             //  HELLO, JOIN, LEAVE
    char name [ZMX_ZRE_MAX_STRING + 1];         //  HELLO
    zhash_t *headers;                           //  HELLO
    char group [ZMX_ZRE_MAX_STRING + 1];        //  SHOUT, JOIN, LEAVE
    zmsg_t *content;                            //  WHISPER, SHOUT
} zmx_zre_msg_t;

//  A decoded beacon.
typedef struct {
    byte uuid [ZMX_ZRE_UUID_SIZE];
    uint16_t port;                              //  0: the sender is leaving
} zmx_zre_beacon_t;

//  Reset `msg` to an empty message of command `id` (groups, headers and
//  content NULL). Does not free anything: use zmx_zre_clear for that.
void
    zmx_zre_init (zmx_zre_msg_t *msg, int id);

//  Free the groups, headers and content of `msg` (not the struct).
void
    zmx_zre_clear (zmx_zre_msg_t *msg);

//  Encode the header frame of a message (no content frames). Returns NULL
//  if a field cannot be encoded (unknown id, bad text, too many groups or
//  headers). Caller owns the frame.
zframe_t *
    zmx_zre_encode_header (const zmx_zre_msg_t *msg);

//  Encode a whole message: the header frame, then for WHISPER and SHOUT a
//  copy of each content frame (none if content is NULL). Returns NULL as
//  zmx_zre_encode_header does, or if content has over ZMX_ZRE_MAX_CONTENT
//  frames. Caller owns the message.
zmsg_t *
    zmx_zre_encode (const zmx_zre_msg_t *msg);

//  Decode a header frame of `size` bytes; content is left NULL. Returns 0
//  and fills msg (cleared by the caller with zmx_zre_clear), -1 if the
//  signature is not ZRE's (discard silently, as the RFC says), -2 if the
//  message is malformed (wrong version, unknown id, bad field, trailing
//  bytes). On error msg holds no allocations and *error_p, if not NULL,
//  a static reason.
int
    zmx_zre_decode_header (const byte *data, size_t size, zmx_zre_msg_t *msg,
                           const char **error_p);

//  Decode a whole message (ROUTER identity already removed) and consume
//  it on every path: the content frames of a WHISPER or SHOUT move into
//  msg->content (never NULL on success for those two). Returns as
//  zmx_zre_decode_header, and -2 also for an empty message, content frames
//  after another command, or over ZMX_ZRE_MAX_CONTENT of them.
int
    zmx_zre_decode (zmsg_t **zmsg_p, zmx_zre_msg_t *msg, const char **error_p);

//  Printable command name ("HELLO", "PING-OK", ...), "?" for an unknown id.
const char *
    zmx_zre_command (int id);

//  True if `text` can travel as a ZRE name, group or header name: 1..255
//  bytes, no control characters.
bool
    zmx_zre_name_valid (const char *text);

//  Write a beacon into out [ZMX_ZRE_BEACON_SIZE].
void
    zmx_zre_beacon_encode (const byte *uuid, uint16_t port, byte *out);

//  Decode a UDP datagram of `size` bytes as a beacon: exactly 22 bytes,
//  "ZRE" and version 1. Returns 0 with *beacon filled, or -1 with
//  *error_p, if not NULL, a static reason. Never reads past `size`.
int
    zmx_zre_beacon_decode (const byte *data, size_t size, zmx_zre_beacon_t *beacon,
                           const char **error_p);

#ifdef __cplusplus
}
#endif
#endif
