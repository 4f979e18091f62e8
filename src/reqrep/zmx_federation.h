/*  =========================================================================
    zmx_federation - broker federation (router trees), private to the broker

    A broker with a non-empty "peers" list joins a federation: it opens one
    DEALER "link" to each peer broker's endpoint and, over it, advertises the
    services it can reach (its own workers at distance 0, and what other
    peers advertised to it, one hop further). The peer then treats the link
    like a worker for those services: when it has no local worker for a
    service it sends the request down the link, and the reply comes back up
    the same link. Requests carry a hop count; a broker never forwards a
    request back to the broker it came from, and never past hop-limit.

    Wire format (the "MDPF01" extension, see docs/FEDERATION.md), frames
    after the ROUTER identity:

      link -> peer router:  "MDPF01" 0x01 node entries           ADVERTISE
                            "MDPF01" 0x03|0x04 token body...     PARTIAL/FINAL
      peer router -> link:  "MDPF01" 0x02 token hops service body...  REQUEST
                            "MDPF01" 0x05 node                   HEARTBEAT

    `entries` packs, per service: hops (1 byte), capacity (4 bytes, network
    order), name length (1 byte), name. `token` is 8 opaque bytes the
    forwarding broker chose; the answering broker echoes them.

    This header is shared by zmx_broker.c (the hooks), zmx_federation.c,
    the fuzz target and the tests; nothing in it is public API.
    =========================================================================
*/
#ifndef ZMX_FEDERATION_H_INCLUDED
#define ZMX_FEDERATION_H_INCLUDED

#include "zmx_classes.h"

#define ZMX_MDPF01                  "MDPF01"
#define ZMX_MDPF01_ADVERTISE        0x01
#define ZMX_MDPF01_REQUEST          0x02
#define ZMX_MDPF01_PARTIAL          0x03
#define ZMX_MDPF01_FINAL            0x04
#define ZMX_MDPF01_HEARTBEAT        0x05

#define ZMX_FED_TOKEN_SIZE          8       //  bytes in a request token
#define ZMX_FED_MAX_NODE            64      //  bytes in a node id
#define ZMX_FED_MAX_ENTRIES         4096    //  services in one ADVERTISE
#define ZMX_FED_CLIENT_TAG          3       //  address tag: client is a link

//  Defaults of the broker config keys (see config/zmxd.cfg)
#define ZMX_FED_INTERVAL            1000    //  msec between advertisements
#define ZMX_FED_LIVENESS            3       //  intervals before a peer expires
#define ZMX_FED_HOP_LIMIT           8       //  broker-to-broker hops at most
#define ZMX_FED_MAX_PEERS           32      //  links, and advertising peers
#define ZMX_FED_MAX_LINKS           256     //  hard cap of max-peers
#define ZMX_FED_FORWARD_LIMIT       10000   //  forwarded requests in flight

typedef enum {
    ZMX_FED_INVALID = 0,
    ZMX_FED_ADVERTISE,
    ZMX_FED_REQUEST,
    ZMX_FED_PARTIAL,
    ZMX_FED_FINAL,
    ZMX_FED_HEARTBEAT
} zmx__fed_command_t;

//  Which socket is decoding: the broker's ROUTER (ADVERTISE, PARTIAL,
//  FINAL are legal) or a link DEALER (REQUEST, HEARTBEAT are legal).
typedef enum {
    ZMX_FED_AT_ROUTER,
    ZMX_FED_AT_LINK
} zmx__fed_side_t;

//  What the decoder found; frame indexes refer to the array given.
typedef struct {
    zmx__fed_command_t command;
    size_t node;                //  ADVERTISE, HEARTBEAT: node id frame
    size_t entries;             //  ADVERTISE: entries frame
    size_t entry_count;         //  ADVERTISE: services in it
    size_t token;               //  REQUEST, PARTIAL, FINAL: token frame
    uint8_t hops;               //  REQUEST: hops taken, this one included
    size_t service;             //  REQUEST: service name frame
    size_t body;                //  REQUEST, PARTIAL, FINAL: first body frame
    const char *error;          //  static reason when INVALID
} zmx__fed_view_t;

//  One service of an ADVERTISE
typedef struct {
    uint8_t hops;               //  distance from the advertiser to a worker
    uint32_t capacity;          //  worker credit behind it
    char name [ZMX_MDP_MAX_SERVICE + 1];
} zmx__fed_entry_t;

//  True if the first frame is the MDPF01 header (cheap pre-check).
bool
    zmx__fed_is (const zmx_mdp_frame_t *frames, size_t count);

//  Decode `count` frames (no ROUTER identity) received at `side`: checks
//  frame count, header, command, node id (1..64 printable bytes), token
//  size, hops (>= 1), service name and every advertisement entry. Returns
//  0, or -1 with view->command = ZMX_FED_INVALID and view->error set.
int
    zmx__fed_decode (const zmx_mdp_frame_t *frames, size_t count, zmx__fed_side_t side,
                     zmx__fed_view_t *view);

//  Read the next entry of a decoded entries frame at *offset (start at 0).
//  Returns 0, or -1 at the end.
int
    zmx__fed_entry_next (const zmx_mdp_frame_t *entries, size_t *offset,
                         zmx__fed_entry_t *entry);

//  Append one entry to a buffer being built for an ADVERTISE. Returns 0,
//  or -1 if the name is not a valid service name.
int
    zmx__fed_entry_add (zchunk_t *entries, uint8_t hops, uint32_t capacity, const char *name);

//  -------------------------------------------------------------------------
//  The federation engine, run inside the broker actor

typedef struct _zmx_federation_t zmx__federation_t;

//  Called for each service that has local workers
typedef void (zmx__fed_local_fn) (void *arg, const char *service, uint32_t capacity);

//  What the broker offers the federation
typedef struct {
    void *broker;               //  First argument of every callback
    void *router;               //  The broker's ROUTER (raw libzmq handle)
    //  Give a request from a link to local workers (dispatch or queue).
    //  `client` is the link's address for the reply, version is
    //  ZMX_FED_CLIENT_TAG. Returns 0 if taken (client and body moved), -1
    //  if no local worker serves the service (nothing moved).
    int (*local_request) (void *broker, const char *service, zmq_msg_t *client,
                          zmq_msg_t *body, size_t count);
    //  Send a reply to an MDP client (version 1 or 2); moves the body.
    //  Returns 0, or -1 if the client is gone.
    int (*client_reply) (void *broker, const void *client, size_t client_size, int version,
                         bool partial, const char *service, zmq_msg_t *body, size_t count);
    //  Call fn for every service with local workers.
    void (*each_local) (void *broker, zmx__fed_local_fn *fn, void *arg);
} zmx__fed_broker_t;

//  Create the federation from the broker's config, or return NULL with
//  *valid untouched if the peer list is empty (federation off). Sets
//  *valid to false (reason logged) for a bad key or peer endpoint.
zmx__federation_t *
    zmx__federation_new (zconfig_t *config, const zmx__fed_broker_t *broker, const char *name,
                         int64_t request_timeout, bool *valid);

//  Close the links and free everything. Idempotent; nulls *self_p.
void
    zmx__federation_destroy (zmx__federation_t **self_p);

//  Fill up to `max` poll items with the link sockets; returns how many.
size_t
    zmx__federation_poll_items (zmx__federation_t *self, zmq_pollitem_t *items, size_t max);

//  Handle what arrived on the links (items as filled above, after poll).
void
    zmx__federation_handle_links (zmx__federation_t *self, zmq_pollitem_t *items,
                                  size_t count);

//  An MDPF01 message arrived on the broker's ROUTER: `identity` is the
//  sender, parts and frames the rest (count each). Body frames may be
//  moved out. Returns 0, or -1 if it was invalid (counted and logged here;
//  also when self is NULL: federation off).
int
    zmx__federation_router (zmx__federation_t *self, zmq_msg_t *identity, zmq_msg_t *parts,
                            const zmx_mdp_frame_t *frames, size_t count);

//  A client request with no local worker: forward it to the best peer.
//  Returns 0 if forwarded (client and body moved), -1 if no peer offers
//  the service (nothing moved: the broker queues it), -2 if dropped here
//  (forward table full; counted and logged). Returns -1 if self is NULL.
int
    zmx__federation_forward (zmx__federation_t *self, const char *service, zmq_msg_t *client,
                             int version, zmq_msg_t *body, size_t count);

//  True if a peer advertises `service` (false if self is NULL).
bool
    zmx__federation_offers (zmx__federation_t *self, const char *service);

//  A worker answered a request that came over a link: `address` is the
//  address frame after the tag byte. Moves the body. Returns 0, or -1 if
//  the address names no link (counted).
int
    zmx__federation_reply (zmx__federation_t *self, const void *address, size_t size,
                           bool partial, zmq_msg_t *body, size_t count);

//  Timers: advertise, expire peers and forwarded requests. `now` is
//  zclock_mono ().
void
    zmx__federation_tick (zmx__federation_t *self, int64_t now);

//  How often zmx__federation_tick must run, msec (a fifth of the
//  advertisement interval, at least 10).
int64_t
    zmx__federation_period (zmx__federation_t *self);

//  Append "name=value" counter frames to a COUNTERS reply.
void
    zmx__federation_counters (zmx__federation_t *self, zmsg_t *reply);

#endif
