/*  =========================================================================
    zmx_fmq - codec for 35/FILEMQ version 2 messages

    Each FILEMQ message is one ZeroMQ frame: signature %xAA %xA3, a command
    id, then the command's fields in the order the RFC lists them. Numbers
    are unsigned, network byte order; a string is a 1-octet length and text,
    a longstr a 4-octet length and text, a dictionary a 4-octet count and
    name/value pairs, a chunk a 4-octet length and bytes.

    Strings are checked to contain no NUL and no ASCII control characters;
    other bytes (UTF-8 names, spaces) are accepted, which is what file names
    need. The decoder checks every length against the frame and rejects
    trailing bytes; it never asserts on input.

        zmx_fmq_msg_t msg;
        zmx_fmq_init (&msg, ZMX_FMQ_NOM);
        msg.credit = 65536;
        zframe_t *frame = zmx_fmq_encode (&msg);

    A decoded CHEEZBURGER's chunk points into the frame it was decoded
    from: keep the frame alive while using it.
    =========================================================================
*/
#ifndef ZMX_FMQ_H_INCLUDED
#define ZMX_FMQ_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_FMQ_SIGNATURE_0     0xAA
#define ZMX_FMQ_SIGNATURE_1     0xA3
#define ZMX_FMQ_PROTOCOL        "FILEMQ"
#define ZMX_FMQ_VERSION         2
#define ZMX_FMQ_MAX_STRING      255
//  ICANHAZ option by which a zmx client asks for ICANHAZ-OK's extra
//  "FILES BYTES" frame (docs/FILES.md); other clients get the RFC's
//  one-frame ICANHAZ-OK.
#define ZMX_FMQ_OPTION_TOTALS   "X-ZMX-TOTALS"
//  CHEEZBURGER header by which a zmx server announces the XXH3-128 of
//  the file (32 hex digits) besides its SHA1; clients verify the transfer
//  with it (docs/FILES.md). Plain FILEMQ peers ignore it.
#define ZMX_FMQ_HEADER_XXH128   "X-ZMX-XXH128"
//  CHEEZBURGER header by which a zmx server announces the file's
//  permission bits, 1 to 4 octal digits ("0755"); a zmx client applies
//  them (only 0777, never setuid/setgid/sticky) when it renames the file
//  into place (docs/FILES.md). Plain FILEMQ peers ignore it.
#define ZMX_FMQ_HEADER_MODE     "X-ZMX-MODE"
#define ZMX_FMQ_MAX_DICT        100000      //  entries we accept in one dictionary

typedef enum {
    ZMX_FMQ_OHAI = 1,
    ZMX_FMQ_OHAI_OK = 4,
    ZMX_FMQ_ICANHAZ = 5,
    ZMX_FMQ_ICANHAZ_OK = 6,
    ZMX_FMQ_NOM = 7,
    ZMX_FMQ_CHEEZBURGER = 8,
    ZMX_FMQ_HUGZ = 9,
    ZMX_FMQ_HUGZ_OK = 10,
    ZMX_FMQ_KTHXBAI = 11,
    ZMX_FMQ_SRSLY = 128,
    ZMX_FMQ_RTFM = 129
} zmx_fmq_id_t;

#define ZMX_FMQ_CREATE  1           //  CHEEZBURGER operations
#define ZMX_FMQ_DELETE  2

//  One message. Only the fields of `id` are used; dictionaries are
//  zhash_t of strings (autofree), owned by the message.
typedef struct {
    int id;                                 //  zmx_fmq_id_t
    char protocol [ZMX_FMQ_MAX_STRING + 1]; //  OHAI
    uint16_t version;                       //  OHAI
    char path [ZMX_FMQ_MAX_STRING + 1];     //  ICANHAZ
    zhash_t *options;                       //  ICANHAZ
    zhash_t *cache;                         //  ICANHAZ
    uint64_t credit;                        //  NOM
    uint64_t sequence;                      //  NOM, CHEEZBURGER
    uint8_t operation;                      //  CHEEZBURGER
    char filename [ZMX_FMQ_MAX_STRING + 1]; //  CHEEZBURGER
    uint64_t offset;                        //  CHEEZBURGER
    uint8_t eof;                            //  CHEEZBURGER
    zhash_t *headers;                       //  CHEEZBURGER
    const byte *chunk;                      //  CHEEZBURGER (not owned)
    size_t chunk_size;                      //  CHEEZBURGER
    char reason [ZMX_FMQ_MAX_STRING + 1];   //  SRSLY, RTFM
} zmx_fmq_msg_t;

//  Reset `msg` to an empty message of command `id` (dictionaries NULL).
void
    zmx_fmq_init (zmx_fmq_msg_t *msg, int id);

//  Free the dictionaries of `msg` (not the struct).
void
    zmx_fmq_clear (zmx_fmq_msg_t *msg);

//  Encode a message into a new frame. Returns NULL if a field cannot be
//  encoded (unknown id, string over 255 bytes or with control characters,
//  chunk over 4 GiB, bad operation). Caller owns the frame.
zframe_t *
    zmx_fmq_encode (const zmx_fmq_msg_t *msg);

//  Decode `size` bytes. Returns 0 and fills msg (which the caller clears
//  with zmx_fmq_clear), -1 if the signature is wrong (drop silently), -2
//  if the message is malformed (reply RTFM); on error msg holds no
//  allocations and *error_p, if not NULL, a static reason.
int
    zmx_fmq_decode (const byte *data, size_t size, zmx_fmq_msg_t *msg, const char **error_p);

//  Printable command name ("OHAI", ...), or "?" for an unknown id.
const char *
    zmx_fmq_command (int id);

//  True if `text` can travel as a FILEMQ string: at most 255 bytes, no
//  control characters.
bool
    zmx_fmq_string_valid (const char *text);

#ifdef __cplusplus
}
#endif
#endif
