/*  =========================================================================
    zmx_state_internal - internal (zmx__) parts of the state capability
    (clone, names) shared between its classes.
    =========================================================================
*/
#ifndef ZMX_STATE_INTERNAL_H_INCLUDED
#define ZMX_STATE_INTERNAL_H_INCLUDED

#include "zmx_classes.h"

//  The strings of `endpoints` joined with ",". Caller frees.
char *
    zmx__endpoint_list_join (zlist_t *endpoints);

//  Parse a lookup file (ZPL, a "names" section of NAME = ENDPOINTS) into a
//  new table name -> cleaned endpoint list. NULL, logged, if it cannot be
//  read or holds an invalid entry.
zhash_t *
    zmx__names_file_parse (const char *path);

//  Look `name` up where no clone client is needed: the local resolver
//  service ($ZMX_RESOLVER, ipc by default) until `deadline` (zclock_mono
//  msec), then the file named by $ZMX_NAMES_FILE. Returns ZMX_OK with
//  *endpoints_p (caller frees), ZMX_EADDR or ZMX_EINVAL when the service
//  answered so, or ZMX_ETIMEDOUT when neither source knows the name.
int
    zmx__names_resolve_local (const char *name, int64_t deadline, char **endpoints_p);

//  The clone server's and the resolver service's config keys,
//  NULL-terminated ("bstar/local": key of a subsection). zmxd refuses
//  keys they do not name.
extern const char *const zmx__clone_server_keys [];
extern const char *const zmx__resolver_keys [];

//  -------------------------------------------------------------------------
//  kvsimple (zmx_kvsimple.c): the Guide's Clone Model Four format, which
//  the clone server speaks on its optional legacy sockets. A message is
//  [key][sequence: 8 bytes, network order][body] (empty body: delete); a
//  snapshot request is ["ICANHAZ?"][subtree]; a snapshot ends with
//  ["KTHXBAI"][sequence][subtree].

#define ZMX__KVSIMPLE_FRAMES 3

typedef enum {
    ZMX__KVSIMPLE_UPDATE = 1,   //  Server's PULL: [key][sequence][body]
    ZMX__KVSIMPLE_REQUEST = 2   //  Server's ROUTER: ["ICANHAZ?"][subtree]
} zmx__kvsimple_side_t;

//  One decoded message; pointers refer into its frames (not terminated).
typedef struct {
    const char *key;            //  UPDATE: a valid CHP key
    size_t key_size;
    uint64_t sequence;          //  UPDATE: as sent (the server numbers anew)
    const byte *body;           //  UPDATE: at most max_body bytes
    size_t body_size;
    const char *subtree;        //  REQUEST: printable, at most ZMX_CHP_KEY_MAX
    size_t subtree_size;        //  0: every key
} zmx__kvsimple_view_t;

//  Decode the frames of one message read on `side` (without a ROUTER
//  identity): exactly 3 frames with a valid key, an 8-byte sequence and a
//  body of at most max_body bytes (UPDATE), or exactly "ICANHAZ?" and a
//  printable subtree of at most ZMX_CHP_KEY_MAX bytes (REQUEST). Returns
//  0 with *view filled, or -1 with *error (may be NULL) a static reason
//  and *view zeroed.
int
    zmx__kvsimple_decode (const zmx_frame_t *frames, size_t count, zmx__kvsimple_side_t side,
                          size_t max_body, zmx__kvsimple_view_t *view, const char **error);

//  The same for a message received with zmx_chp_recv, skipping its first
//  `skip` frames (1: a ROUTER identity); more frames than kept fail.
int
    zmx__kvsimple_decode_msg (zmx_chp_msg_t *msg, size_t skip, zmx__kvsimple_side_t side,
                              size_t max_body, zmx__kvsimple_view_t *view, const char **error);

//  Send [key][sequence][body] to a libzmq socket, after `routing_id` if
//  not NULL, with `flags` (0 or ZMQ_DONTWAIT) on the first frame. Returns
//  0, or -1 with errno as libzmq set it (EAGAIN: nothing sent).
int
    zmx__kvsimple_send (void *socket, const zmx_frame_t *routing_id, const char *key,
                        size_t key_size, uint64_t sequence, const void *body, size_t body_size,
                        int flags);

#endif
