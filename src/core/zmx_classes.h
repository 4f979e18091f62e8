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

//  Log a warning caused by network input through zmx__log_limited_level,
//  now being zclock_mono (): at most one a second per *last_p (start it
//  at 0), the others at debug level. The caller counts every one.
void
    zmx__log_limited (const char *component, int64_t *last_p, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  A new CZMQ socket of `type`, or NULL (errno set) when libzmq refuses
//  one (socket limit reached, EMFILE) or the type is unknown, where
//  zsock_new would assert. For every socket a peer's traffic can cause.
zsock_t *
    zmx__sock_new (int type);

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

//  Running SHA-1 digest (libcrypto), see src/core/zmx_sha1.c.
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

//  Running XXH3-128 digest (libxxhash), see src/core/zmx_digest.c: the files
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

//  Fields the FILEMQ and ZRE codecs share (src/core/zmx_wire.c). True if text
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
