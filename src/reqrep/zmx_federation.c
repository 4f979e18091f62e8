/*  =========================================================================
    zmx_federation - broker federation (router trees): codec and engine

    Design notes
    - Links are directional. This broker opens a DEALER to each configured
      peer and advertises on it what it can serve; the peer sends requests
      down that link and gets replies back on it. For two-way federation
      both brokers list each other (the usual set-up).
    - Routing is distance-vector: every ADVERTISE is the sender's complete
      list (a service left out is withdrawn), distances grow by one per
      hop, routes beyond hop-limit are neither kept nor passed on, and a
      route learned from a node is not advertised back to it (split
      horizon). A peer that stops advertising for liveness intervals is
      purged with its routes and the requests in flight to it.
    - Requests forwarded from here keep a slot in a fixed table (the
      forward-limit): the token sent with the request is the slot index
      and a generation number, so a late or forged reply can never reach
      the wrong client. A request that came over a link is given to local
      workers with the link as its "client" (address tag 3), so the
      broker's dispatch, queue and credit logic apply unchanged.
    - Everything is bounded: links and advertising peers (max-peers),
      routes per peer (ZMX_FED_MAX_ENTRIES), requests in flight
      (forward-limit; a request over it is dropped and counted).
    =========================================================================
*/
#include "zmx_reqrep_internal.h"
#include "zmx_federation.h"

#define S_BATCH      256        //  link messages handled per poll
#define S_LINK_HWM   100000     //  per-link queue (messages)

//  A ROUTER routing id
typedef struct {
    uint8_t size;
    uint8_t data [255];
} s_id_t;

//  How to reach a service through one advertising peer
typedef struct {
    uint8_t distance;           //  Broker hops from here to a worker
    uint32_t capacity;          //  Advertised worker capacity
    uint64_t last_used;         //  Sequence number of the last forward
    uint64_t heard;             //  Advertisement that last listed it
} s_route_t;

//  A broker that advertises to us over its link (on our ROUTER)
typedef struct {
    bool used;
    s_id_t identity;            //  Its link's routing id on our ROUTER
    char node [ZMX_FED_MAX_NODE + 1];
    zhashx_t *routes;           //  service name -> s_route_t
    int64_t expiry;             //  Purged if silent past this
} s_peer_t;

//  Our DEALER to a configured peer
typedef struct {
    zsock_t *dealer;
    void *socket;               //  Raw handle of dealer
    char *endpoint;             //  As configured
    char node [ZMX_FED_MAX_NODE + 1];   //  Peer's node id, "" until heard
    int64_t last_heard;         //  Last HEARTBEAT from the peer
    bool up;                    //  Heard within liveness intervals
} s_link_t;

//  A request we forwarded and whose reply is still due
typedef struct {
    bool used;
    uint32_t generation;        //  Bumped at each reuse of the slot
    size_t peer;                //  Index in self->peers it went to
    int version;                //  Client's MDP version, or the link tag
    zmq_msg_t client;           //  Client routing id, or link address
    char *service;              //  For the client's reply header
    int64_t expires;            //  Freed if unanswered past this
} s_slot_t;

typedef struct {
    uint64_t forwarded, received, served, relayed, replies, hop_limit, no_route;
    uint64_t overflow, expired, unroutable, malformed, adverts_sent, adverts_received;
    uint64_t peers_expired, peers_refused;
} s_counters_t;

struct _zmx_federation_t {
    zmx__fed_broker_t broker;    //  Callbacks into the broker
    char *name;                 //  For logs
    char node [ZMX_FED_MAX_NODE + 1];   //  Our node id
    s_link_t *links;            //  Configured peers
    size_t link_count;
    s_peer_t *peers;            //  Advertising peers, max_peers slots
    size_t max_peers;
    s_slot_t *slots;            //  Forward table
    size_t *free_slots;         //  Stack of free slot indexes
    size_t free_count;
    size_t slot_limit;          //  forward-limit
    int64_t interval;           //  Advertisement period, msec
    int64_t liveness;           //  Intervals before a peer expires
    int64_t hop_limit;
    int64_t request_timeout;    //  msec a forwarded request may wait
    int64_t next_advert;
    int64_t now;
    int64_t last_warning;       //  Rate limit for warnings
    uint64_t sequence;          //  For least-recently-used route choice
    uint64_t adverts;           //  Advertisements learned, to age routes
    s_counters_t counters;
};

//  =========================================================================
//  Codec

bool
zmx__fed_is (const zmx_mdp_frame_t *frames, size_t count)
{
    return count >= 1 && frames [0].size == 6 && memcmp (frames [0].data, ZMX_MDPF01, 6) == 0;
}

static bool
s_node_valid (const zmx_mdp_frame_t *frame)
{
    if (frame->size == 0 || frame->size > ZMX_FED_MAX_NODE)
        return false;
    const uint8_t *bytes = (const uint8_t *) frame->data;
    for (size_t index = 0; index < frame->size; index++)
        if (bytes [index] < 0x21 || bytes [index] > 0x7E)
            return false;
    return true;
}

//  Check one entry at *offset without reading past the frame; advances
//  *offset. Returns NULL or the reason.
static const char *
s_entry_check (const uint8_t *bytes, size_t size, size_t *offset)
{
    if (size - *offset < 6)
        return "truncated advertisement entry";
    size_t length = bytes [*offset + 5];
    if (length == 0 || length > size - *offset - 6)
        return "bad service length in advertisement";
    if (!zmx_mdp_service_valid (bytes + *offset + 6, length))
        return "invalid service name in advertisement";
    *offset += 6 + length;
    return NULL;
}

static const char *
s_decode_advertise (const zmx_mdp_frame_t *frames, size_t count, zmx__fed_view_t *view)
{
    if (count != 4)
        return "ADVERTISE needs 4 frames";
    if (!s_node_valid (&frames [2]))
        return "invalid node id";
    const uint8_t *bytes = (const uint8_t *) frames [3].data;
    size_t size = frames [3].size, offset = 0, entries = 0;
    while (offset < size) {
        const char *error = s_entry_check (bytes, size, &offset);
        if (error)
            return error;
        if (++entries > ZMX_FED_MAX_ENTRIES)
            return "too many advertisement entries";
    }
    view->node = 2;
    view->entries = 3;
    view->entry_count = entries;
    return NULL;
}

static const char *
s_decode_request (const zmx_mdp_frame_t *frames, size_t count, zmx__fed_view_t *view)
{
    if (count < 6)
        return "REQUEST needs at least 6 frames";
    if (frames [2].size != ZMX_FED_TOKEN_SIZE)
        return "bad token size";
    if (frames [3].size != 1 || *(const uint8_t *) frames [3].data == 0)
        return "bad hop count";
    if (!zmx_mdp_service_valid (frames [4].data, frames [4].size))
        return "invalid service name";
    view->token = 2;
    view->hops = *(const uint8_t *) frames [3].data;
    view->service = 4;
    view->body = 5;
    return NULL;
}

static const char *
s_decode_reply (const zmx_mdp_frame_t *frames, size_t count, zmx__fed_view_t *view)
{
    if (count < 4)
        return "PARTIAL/FINAL needs at least 4 frames";
    if (frames [2].size != ZMX_FED_TOKEN_SIZE)
        return "bad token size";
    view->token = 2;
    view->body = 3;
    return NULL;
}

int
zmx__fed_decode (const zmx_mdp_frame_t *frames, size_t count, zmx__fed_side_t side,
                 zmx__fed_view_t *view)
{
    memset (view, 0, sizeof *view);
    const char *error = NULL;
    zmx__fed_command_t command = ZMX_FED_INVALID;
    uint8_t code = count >= 2 && frames [1].size == 1? *(const uint8_t *) frames [1].data: 0;
    bool at_router = side == ZMX_FED_AT_ROUTER;
    if (count < 2 || count > ZMX_MDP_MAX_FRAMES)
        error = "bad frame count";
    else
    if (!zmx__fed_is (frames, count))
        error = "not an MDPF01 message";
    else
    if (frames [1].size != 1)
        error = "command is not one byte";
    else
    if (code == ZMX_MDPF01_ADVERTISE && at_router) {
        command = ZMX_FED_ADVERTISE;
        error = s_decode_advertise (frames, count, view);
    }
    else
    if ((code == ZMX_MDPF01_PARTIAL || code == ZMX_MDPF01_FINAL) && at_router) {
        command = code == ZMX_MDPF01_PARTIAL? ZMX_FED_PARTIAL: ZMX_FED_FINAL;
        error = s_decode_reply (frames, count, view);
    }
    else
    if (code == ZMX_MDPF01_REQUEST && !at_router) {
        command = ZMX_FED_REQUEST;
        error = s_decode_request (frames, count, view);
    }
    else
    if (code == ZMX_MDPF01_HEARTBEAT && !at_router) {
        command = ZMX_FED_HEARTBEAT;
        if (count != 3 || !s_node_valid (&frames [2]))
            error = "HEARTBEAT needs 3 frames and a valid node id";
        view->node = 2;
    }
    else
        error = "unknown command, or not legal on this socket";
    if (error) {
        memset (view, 0, sizeof *view);
        view->error = error;
        return -1;
    }
    view->command = command;
    return 0;
}

int
zmx__fed_entry_next (const zmx_mdp_frame_t *entries, size_t *offset, zmx__fed_entry_t *entry)
{
    const uint8_t *bytes = (const uint8_t *) entries->data;
    size_t at = *offset;
    if (at >= entries->size || s_entry_check (bytes, entries->size, offset))
        return -1;
    entry->hops = bytes [at];
    entry->capacity = (uint32_t) zmx__wire_get (bytes + at + 1, 4);
    size_t length = bytes [at + 5];
    memcpy (entry->name, bytes + at + 6, length);
    entry->name [length] = 0;
    return 0;
}

int
zmx__fed_entry_add (zchunk_t *entries, uint8_t hops, uint32_t capacity, const char *name)
{
    size_t length = name? strlen (name): 0;
    if (!zmx_mdp_service_valid (name, length))
        return -1;
    uint8_t head [6] = { hops, 0, 0, 0, 0, (uint8_t) length };
    zmx__wire_put (head + 1, capacity, 4);
    zchunk_extend (entries, head, sizeof head);
    zchunk_extend (entries, name, length);
    return 0;
}

//  =========================================================================
//  Sending

//  Header of a message: the routing frame first (on the ROUTER) so that a
//  peer that is gone fails the send before anything is queued.
static int
s_send_header (void *socket, const s_id_t *route, uint8_t code)
{
    if (route && zmx__frames_send_copy (socket, route->data, route->size, true))
        return -1;
    if (zmx__frames_send_copy (socket, ZMX_MDPF01, 6, true))
        return -1;          //  only a link DEALER can fail here (no peer)
    return zmx__frames_send_copy (socket, &code, 1, true);
}

static void
s_warn (zmx__federation_t *self, const char *what, const char *detail)
{
    zmx_log (zmx__log_limited_level (self->now, &self->last_warning), self->name,
             "federation: %s: %s", what, detail);
}

//  =========================================================================
//  Forward table

static void
s_token_encode (uint8_t *token, size_t index, uint32_t generation)
{
    zmx__wire_put (token, (uint32_t) index, 4);
    zmx__wire_put (token + 4, generation, 4);
}

//  The slot a token names, if it is in use and was sent to `peer`.
static s_slot_t *
s_token_slot (zmx__federation_t *self, const uint8_t *token, size_t peer)
{
    uint32_t index = (uint32_t) zmx__wire_get (token, 4);
    uint32_t generation = (uint32_t) zmx__wire_get (token + 4, 4);
    if (index >= self->slot_limit)
        return NULL;
    s_slot_t *slot = &self->slots [index];
    return slot->used && slot->generation == generation && slot->peer == peer? slot: NULL;
}

static void
s_slot_free (zmx__federation_t *self, s_slot_t *slot)
{
    zmq_msg_close (&slot->client);
    zstr_free (&slot->service);
    slot->used = false;
    self->free_slots [self->free_count++] = (size_t) (slot - self->slots);
}

//  =========================================================================
//  Advertising peers (they reach us on the broker's ROUTER)

static s_peer_t *
s_peer_find (zmx__federation_t *self, const zmq_msg_t *identity, const zmx_mdp_frame_t *node)
{
    size_t size = zmq_msg_size ((zmq_msg_t *) identity);
    const void *data = zmq_msg_data ((zmq_msg_t *) identity);
    s_peer_t *by_node = NULL;
    for (size_t index = 0; index < self->max_peers; index++) {
        s_peer_t *peer = &self->peers [index];
        if (!peer->used)
            continue;
        if (peer->identity.size == size && memcmp (peer->identity.data, data, size) == 0)
            return peer;
        if (node && strlen (peer->node) == node->size
        &&  memcmp (peer->node, node->data, node->size) == 0)
            by_node = peer;
    }
    return by_node;
}

//  Forget a peer: its routes, and the requests in flight to it.
static void
s_peer_purge (zmx__federation_t *self, s_peer_t *peer, const char *why)
{
    size_t index = (size_t) (peer - self->peers), failed = 0;
    for (size_t at = 0; at < self->slot_limit && self->free_count < self->slot_limit; at++)
        if (self->slots [at].used && self->slots [at].peer == index) {
            s_slot_free (self, &self->slots [at]);
            failed++;
        }
    self->counters.expired += failed;
    zmx_log_notice (self->name, "federation: peer %s %s; %zu route(s) and %zu request(s) in "
                    "flight dropped", peer->node, why, zhashx_size (peer->routes), failed);
    zhashx_purge (peer->routes);
    peer->used = false;
}

static void
s_route_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Replace a peer's routes by the advertised ones, keeping each route's
//  last use so that round robin between equal routes survives updates.
static void
s_peer_learn (zmx__federation_t *self, s_peer_t *peer, const zmx_mdp_frame_t *entries)
{
    uint64_t advert = ++self->adverts;
    size_t offset = 0;
    zmx__fed_entry_t entry;
    while (zmx__fed_entry_next (entries, &offset, &entry) == 0) {
        if (entry.hops + 1 > self->hop_limit || entry.capacity == 0)
            continue;           //  too far to use, or nothing behind it
        s_route_t *route = (s_route_t *) zhashx_lookup (peer->routes, entry.name);
        if (!route) {
            route = (s_route_t *) zmalloc (sizeof (s_route_t));
            zhashx_insert (peer->routes, entry.name, route);
        }
        route->distance = (uint8_t) (entry.hops + 1);
        route->capacity = entry.capacity;
        route->heard = advert;
    }
    zlist_t *withdrawn = zlist_new ();
    zlist_autofree (withdrawn);
    for (s_route_t *route = (s_route_t *) zhashx_first (peer->routes); route;
         route = (s_route_t *) zhashx_next (peer->routes))
        if (route->heard != advert)
            zlist_append (withdrawn, (void *) zhashx_cursor (peer->routes));
    for (char *name = (char *) zlist_first (withdrawn); name;
         name = (char *) zlist_next (withdrawn))
        zhashx_delete (peer->routes, name);
    zlist_destroy (&withdrawn);
}

static void
s_handle_advertise (zmx__federation_t *self, zmq_msg_t *identity,
                    const zmx_mdp_frame_t *frames, zmx__fed_view_t *view)
{
    const zmx_mdp_frame_t *node = &frames [view->node];
    self->counters.adverts_received++;
    bool self_loop = node->size == strlen (self->node)
                  && memcmp (node->data, self->node, node->size) == 0;
    s_peer_t *peer = self_loop? NULL: s_peer_find (self, identity, node);
    if (!peer && !self_loop) {
        for (size_t index = 0; index < self->max_peers && !peer; index++)
            if (!self->peers [index].used)
                peer = &self->peers [index];
        if (!peer) {
            self->counters.peers_refused++;
            s_warn (self, "advertisement ignored", "too many peers (max-peers)");
            return;
        }
        peer->used = true;
        memcpy (peer->node, node->data, node->size);
        peer->node [node->size] = 0;
        zmx_log_info (self->name, "federation: peer %s joined, %zu service(s)", peer->node,
                      view->entry_count);
    }
    if (peer) {
        //  The same node may come back on a new connection
        peer->identity.size = (uint8_t) zmq_msg_size (identity);
        memcpy (peer->identity.data, zmq_msg_data (identity), peer->identity.size);
        peer->expiry = self->now + self->interval * self->liveness;
        s_peer_learn (self, peer, &frames [view->entries]);
    }
    //  Answer so that the link knows whom it talks to and that it is heard
    s_id_t route;
    route.size = (uint8_t) zmq_msg_size (identity);
    memcpy (route.data, zmq_msg_data (identity), route.size);
    if (s_send_header (self->broker.router, &route, ZMX_MDPF01_HEARTBEAT) == 0)
        zmx__frames_send_copy (self->broker.router, self->node, strlen (self->node), false);
}

//  =========================================================================
//  Forwarding

//  The advertising peer to use for `service`: least distance, then least
//  recently used; never the node named `exclude` (where it came from).
static s_peer_t *
s_route_choose (zmx__federation_t *self, const char *service, const char *exclude,
                s_route_t **route_p)
{
    s_peer_t *best = NULL;
    s_route_t *best_route = NULL;
    for (size_t index = 0; index < self->max_peers; index++) {
        s_peer_t *peer = &self->peers [index];
        if (!peer->used || (exclude && streq (peer->node, exclude)))
            continue;
        s_route_t *route = (s_route_t *) zhashx_lookup (peer->routes, service);
        if (route && (!best_route || route->distance < best_route->distance
                      || (route->distance == best_route->distance
                          && route->last_used < best_route->last_used))) {
            best = peer;
            best_route = route;
        }
    }
    *route_p = best_route;
    return best;
}

//  Send the request to `peer`. Returns 0 if sent (client and body moved),
//  -2 if dropped here (hop limit, forward table or peer's queue full;
//  counted), -1 if the peer has gone (then purged; nothing moved).
static int
s_forward_to (zmx__federation_t *self, s_peer_t *peer, s_route_t *route, const char *service,
              zmq_msg_t *client, int version, zmq_msg_t *body, size_t count, int hops)
{
    if (hops > self->hop_limit) {
        self->counters.hop_limit++;
        s_warn (self, "request dropped at the hop limit", service);
        return -2;
    }
    if (self->free_count == 0) {
        self->counters.overflow++;
        s_warn (self, "request dropped", "too many forwarded requests in flight "
                "(forward-limit)");
        return -2;
    }
    size_t index = self->free_slots [self->free_count - 1];
    s_slot_t *slot = &self->slots [index];
    uint8_t token [ZMX_FED_TOKEN_SIZE];
    s_token_encode (token, index, slot->generation + 1);
    if (s_send_header (self->broker.router, &peer->identity, ZMX_MDPF01_REQUEST)) {
        if (errno == EHOSTUNREACH) {
            s_peer_purge (self, peer, "is unreachable");
            return -1;
        }
        self->counters.overflow++;
        s_warn (self, "request dropped", "the peer's send queue is full");
        return -2;
    }
    uint8_t hop_byte = (uint8_t) hops;
    zmx__frames_send_copy (self->broker.router, token, sizeof token, true);
    zmx__frames_send_copy (self->broker.router, &hop_byte, 1, true);
    zmx__frames_send_copy (self->broker.router, service, strlen (service), true);
    zmx__frames_send_moved (self->broker.router, body, count);
    self->free_count--;
    slot->used = true;
    slot->generation++;
    slot->peer = (size_t) (peer - self->peers);
    slot->version = version;
    zmq_msg_init (&slot->client);
    zmq_msg_move (&slot->client, client);
    slot->service = strdup (service);
    slot->expires = self->now + self->request_timeout;
    route->last_used = ++self->sequence;
    self->counters.forwarded++;
    return 0;
}

//  Forward with `hops` the count this hop will make, to the best peer that
//  is still connected. Returns as zmx__federation_forward.
static int
s_forward (zmx__federation_t *self, const char *service, zmq_msg_t *client, int version,
           zmq_msg_t *body, size_t count, int hops, const char *exclude)
{
    s_route_t *route;
    s_peer_t *peer;
    while ((peer = s_route_choose (self, service, exclude, &route))) {
        int rc = s_forward_to (self, peer, route, service, client, version, body, count, hops);
        if (rc != -1)
            return rc;
    }
    return -1;                  //  each failed peer was purged: the loop ends
}

int
zmx__federation_forward (zmx__federation_t *self, const char *service, zmq_msg_t *client,
                         int version, zmq_msg_t *body, size_t count)
{
    if (!self)
        return -1;
    self->now = zclock_mono ();
    return s_forward (self, service, client, version, body, count, 1, NULL);
}

bool
zmx__federation_offers (zmx__federation_t *self, const char *service)
{
    s_route_t *route;
    return self && s_route_choose (self, service, NULL, &route) != NULL;
}

//  Send a reply up link `index` for the request with `token`.
static int
s_link_reply (zmx__federation_t *self, size_t index, const uint8_t *token, bool partial,
              zmq_msg_t *body, size_t count)
{
    s_link_t *link = &self->links [index];
    if (s_send_header (link->socket, NULL, partial? ZMX_MDPF01_PARTIAL: ZMX_MDPF01_FINAL)) {
        self->counters.unroutable++;
        s_warn (self, "reply dropped", "link to the asking peer is down or full");
        return -1;
    }
    zmx__frames_send_copy (link->socket, token, ZMX_FED_TOKEN_SIZE, true);
    zmx__frames_send_moved (link->socket, body, count);
    return 0;
}

int
zmx__federation_reply (zmx__federation_t *self, const void *address, size_t size, bool partial,
                       zmq_msg_t *body, size_t count)
{
    const uint8_t *bytes = (const uint8_t *) address;
    if (!self || size != 1 + ZMX_FED_TOKEN_SIZE || bytes [0] >= self->link_count) {
        if (self)
            self->counters.unroutable++;
        return -1;
    }
    return s_link_reply (self, bytes [0], bytes + 1, partial, body, count);
}

//  A reply from a peer for a request we forwarded.
static void
s_handle_reply (zmx__federation_t *self, zmq_msg_t *identity, zmq_msg_t *parts,
                const zmx_mdp_frame_t *frames, size_t count, zmx__fed_view_t *view)
{
    s_peer_t *peer = s_peer_find (self, identity, NULL);
    s_slot_t *slot = peer? s_token_slot (self, (const uint8_t *) frames [view->token].data,
                                         (size_t) (peer - self->peers)): NULL;
    if (!slot) {
        self->counters.unroutable++;
        s_warn (self, "reply dropped", "no request in flight with that token (late?)");
        return;
    }
    peer->expiry = self->now + self->interval * self->liveness;
    bool partial = view->command == ZMX_FED_PARTIAL;
    zmq_msg_t *body = &parts [view->body];
    size_t body_count = count - view->body;
    if (slot->version == ZMX_FED_CLIENT_TAG) {
        const uint8_t *address = (const uint8_t *) zmq_msg_data (&slot->client);
        s_link_reply (self, address [0], address + 1, partial, body, body_count);
    }
    else
        self->broker.client_reply (self->broker.broker, zmq_msg_data (&slot->client),
                                   zmq_msg_size (&slot->client), slot->version, partial,
                                   slot->service, body, body_count);
    if (!partial) {
        self->counters.replies++;
        s_slot_free (self, slot);
    }
}

int
zmx__federation_router (zmx__federation_t *self, zmq_msg_t *identity, zmq_msg_t *parts,
                        const zmx_mdp_frame_t *frames, size_t count)
{
    if (!self)
        return -1;
    self->now = zclock_mono ();
    zmx__fed_view_t view;
    if (zmx__fed_decode (frames, count, ZMX_FED_AT_ROUTER, &view)) {
        self->counters.malformed++;
        s_warn (self, "invalid message from a peer dropped", view.error);
        return -1;
    }
    if (view.command == ZMX_FED_ADVERTISE)
        s_handle_advertise (self, identity, frames, &view);
    else
        s_handle_reply (self, identity, parts, frames, count, &view);
    return 0;
}

//  =========================================================================
//  Links: requests from the peer, and its heartbeats

//  A request the peer sent down link `index`: serve it here, or pass it on.
static void
s_handle_request (zmx__federation_t *self, size_t index, zmq_msg_t *parts,
                  const zmx_mdp_frame_t *frames, size_t count, zmx__fed_view_t *view)
{
    self->counters.received++;
    char service [ZMX_MDP_MAX_SERVICE + 1];
    memcpy (service, frames [view->service].data, frames [view->service].size);
    service [frames [view->service].size] = 0;
    //  The "client" is the link and the peer's token: replies go back up
    zmq_msg_t client;
    zmq_msg_init_size (&client, 1 + ZMX_FED_TOKEN_SIZE);
    uint8_t *address = (uint8_t *) zmq_msg_data (&client);
    address [0] = (uint8_t) index;
    memcpy (address + 1, frames [view->token].data, ZMX_FED_TOKEN_SIZE);
    zmq_msg_t *body = &parts [view->body];
    size_t body_count = count - view->body;
    if (self->broker.local_request (self->broker.broker, service, &client, body, body_count) == 0)
        self->counters.served++;
    else {
        const char *from = self->links [index].node [0]? self->links [index].node: NULL;
        int rc = s_forward (self, service, &client, ZMX_FED_CLIENT_TAG, body, body_count,
                            view->hops + 1, from);
        if (rc == 0)
            self->counters.relayed++;
        else
        if (rc == -1) {
            self->counters.no_route++;
            s_warn (self, "request from a peer dropped: no worker and no other peer for",
                    service);
        }
    }
    zmq_msg_close (&client);
}

static void
s_handle_heartbeat (zmx__federation_t *self, s_link_t *link, const zmx_mdp_frame_t *node)
{
    memcpy (link->node, node->data, node->size);
    link->node [node->size] = 0;
    link->last_heard = self->now;
    if (!link->up) {
        link->up = true;
        if (streq (link->node, self->node))
            zmx_log_warning (self->name, "federation: peer %s is this broker itself",
                             link->endpoint);
        zmx_log_info (self->name, "federation: link to %s (node %s) is up", link->endpoint,
                      link->node);
    }
}

//  Receive one whole message; returns the part count, 0 if none waits, or
//  -1 if it had more frames than allowed (all of it read and closed).
static int
s_link_recv (void *socket, zmq_msg_t *parts)
{
    size_t count = 0;
    while (count < ZMX_MDP_MAX_FRAMES) {
        zmq_msg_init (&parts [count]);
        if (zmq_msg_recv (&parts [count], socket, count? 0: ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&parts [count]);
            for (size_t index = 0; index < count; index++)
                zmq_msg_close (&parts [index]);
            return 0;
        }
        if (!zmq_msg_more (&parts [count++]))
            return (int) count;
    }
    for (size_t index = 0; index < count; index++)
        zmq_msg_close (&parts [index]);
    zmq_msg_t rest;
    zmq_msg_init (&rest);
    while (zmq_msg_recv (&rest, socket, 0) >= 0 && zmq_msg_more (&rest))
        ;
    zmq_msg_close (&rest);
    return -1;
}

static void
s_link_message (zmx__federation_t *self, size_t index, zmq_msg_t *parts, size_t count)
{
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES];
    for (size_t at = 0; at < count; at++) {
        frames [at].data = zmq_msg_data (&parts [at]);
        frames [at].size = zmq_msg_size (&parts [at]);
    }
    zmx__fed_view_t view;
    if (zmx__fed_decode (frames, count, ZMX_FED_AT_LINK, &view)) {
        self->counters.malformed++;
        s_warn (self, "invalid message on a link dropped", view.error);
    }
    else
    if (view.command == ZMX_FED_HEARTBEAT)
        s_handle_heartbeat (self, &self->links [index], &frames [view.node]);
    else
        s_handle_request (self, index, parts, frames, count, &view);
}

void
zmx__federation_handle_links (zmx__federation_t *self, zmq_pollitem_t *items, size_t count)
{
    if (!self)
        return;
    self->now = zclock_mono ();
    zmq_msg_t parts [ZMX_MDP_MAX_FRAMES];
    for (size_t index = 0; index < count && index < self->link_count; index++) {
        if (!(items [index].revents & ZMQ_POLLIN))
            continue;
        for (int handled = 0; handled < S_BATCH; handled++) {
            int received = s_link_recv (self->links [index].socket, parts);
            if (received == 0)
                break;
            if (received < 0) {
                self->counters.malformed++;
                s_warn (self, "invalid message on a link dropped", "too many frames");
                continue;
            }
            s_link_message (self, index, parts, (size_t) received);
            for (int at = 0; at < received; at++)
                zmq_msg_close (&parts [at]);
        }
    }
}

size_t
zmx__federation_poll_items (zmx__federation_t *self, zmq_pollitem_t *items, size_t max)
{
    size_t count = 0;
    for (; self && count < self->link_count && count < max; count++) {
        items [count].socket = self->links [count].socket;
        items [count].fd = 0;
        items [count].events = ZMQ_POLLIN;
        items [count].revents = 0;
    }
    return count;
}

//  =========================================================================
//  Advertising

static void
s_table_offer (zhashx_t *best, const char *service, uint8_t distance, uint32_t capacity)
{
    s_route_t *route = (s_route_t *) zhashx_lookup (best, service);
    if (route && route->distance < distance)
        return;
    if (route && route->distance == distance) {
        route->capacity = capacity > UINT32_MAX - route->capacity? UINT32_MAX
                        : route->capacity + capacity;
        return;
    }
    if (!route) {
        if (zhashx_size (best) >= ZMX_FED_MAX_ENTRIES)
            return;
        route = (s_route_t *) zmalloc (sizeof (s_route_t));
        zhashx_insert (best, service, route);
    }
    route->distance = distance;
    route->capacity = capacity;
}

static void
s_table_local (void *arg, const char *service, uint32_t capacity)
{
    s_table_offer ((zhashx_t *) arg, service, 0, capacity);
}

//  What we tell the peer on `link`: local services, and routes learned
//  from other nodes that stay within the hop limit.
static void
s_advertise (zmx__federation_t *self, s_link_t *link)
{
    zhashx_t *best = zhashx_new ();
    zhashx_set_destructor (best, s_route_free);
    self->broker.each_local (self->broker.broker, s_table_local, best);
    for (size_t index = 0; index < self->max_peers; index++) {
        s_peer_t *peer = &self->peers [index];
        if (!peer->used || streq (peer->node, link->node))
            continue;           //  split horizon
        for (s_route_t *route = (s_route_t *) zhashx_first (peer->routes); route;
             route = (s_route_t *) zhashx_next (peer->routes))
            if (route->distance < self->hop_limit)
                s_table_offer (best, (const char *) zhashx_cursor (peer->routes),
                               route->distance, route->capacity);
    }
    zchunk_t *entries = zchunk_new (NULL, 256);
    for (s_route_t *route = (s_route_t *) zhashx_first (best); route;
         route = (s_route_t *) zhashx_next (best))
        zmx__fed_entry_add (entries, route->distance, route->capacity,
                            (const char *) zhashx_cursor (best));
    if (s_send_header (link->socket, NULL, ZMX_MDPF01_ADVERTISE) == 0) {
        zmx__frames_send_copy (link->socket, self->node, strlen (self->node), true);
        zmx__frames_send_copy (link->socket, zchunk_data (entries), zchunk_size (entries), false);
        self->counters.adverts_sent++;
    }
    zchunk_destroy (&entries);
    zhashx_destroy (&best);
}

void
zmx__federation_tick (zmx__federation_t *self, int64_t now)
{
    if (!self)
        return;
    self->now = now;
    int64_t silence = self->interval * self->liveness;
    for (size_t index = 0; index < self->max_peers; index++)
        if (self->peers [index].used && now >= self->peers [index].expiry) {
            self->counters.peers_expired++;
            s_peer_purge (self, &self->peers [index], "fell silent");
        }
    for (size_t index = 0; index < self->slot_limit && self->free_count < self->slot_limit;
         index++)
        if (self->slots [index].used && now >= self->slots [index].expires) {
            self->counters.expired++;
            s_slot_free (self, &self->slots [index]);
        }
    for (size_t index = 0; index < self->link_count; index++) {
        s_link_t *link = &self->links [index];
        if (link->up && now - link->last_heard >= silence) {
            link->up = false;
            zmx_log_notice (self->name, "federation: link to %s (node %s) is down",
                            link->endpoint, link->node);
        }
    }
    if (now >= self->next_advert) {
        for (size_t index = 0; index < self->link_count; index++)
            s_advertise (self, &self->links [index]);
        self->next_advert = now + self->interval;
    }
}

int64_t
zmx__federation_period (zmx__federation_t *self)
{
    return self && self->interval / 5 > 10? self->interval / 5: 10;
}

void
zmx__federation_counters (zmx__federation_t *self, zmsg_t *reply)
{
    if (!self)
        return;
    const s_counters_t *c = &self->counters;
    size_t peers = 0, routes = 0, links_up = 0;
    for (size_t index = 0; index < self->max_peers; index++)
        if (self->peers [index].used) {
            peers++;
            routes += zhashx_size (self->peers [index].routes);
        }
    for (size_t index = 0; index < self->link_count; index++)
        links_up += self->links [index].up;
    zmsg_addstrf (reply, "fed_forwarded=%" PRIu64, c->forwarded);
    zmsg_addstrf (reply, "fed_received=%" PRIu64, c->received);
    zmsg_addstrf (reply, "fed_served=%" PRIu64, c->served);
    zmsg_addstrf (reply, "fed_relayed=%" PRIu64, c->relayed);
    zmsg_addstrf (reply, "fed_replies=%" PRIu64, c->replies);
    zmsg_addstrf (reply, "fed_hop_limit=%" PRIu64, c->hop_limit);
    zmsg_addstrf (reply, "fed_no_route=%" PRIu64, c->no_route);
    zmsg_addstrf (reply, "fed_overflow=%" PRIu64, c->overflow);
    zmsg_addstrf (reply, "fed_expired=%" PRIu64, c->expired);
    zmsg_addstrf (reply, "fed_unroutable=%" PRIu64, c->unroutable);
    zmsg_addstrf (reply, "fed_malformed=%" PRIu64, c->malformed);
    zmsg_addstrf (reply, "fed_adverts_sent=%" PRIu64, c->adverts_sent);
    zmsg_addstrf (reply, "fed_adverts_received=%" PRIu64, c->adverts_received);
    zmsg_addstrf (reply, "fed_peers_expired=%" PRIu64, c->peers_expired);
    zmsg_addstrf (reply, "fed_peers_refused=%" PRIu64, c->peers_refused);
    zmsg_addstrf (reply, "fed_peers=%zu", peers);
    zmsg_addstrf (reply, "fed_routes=%zu", routes);
    zmsg_addstrf (reply, "fed_links_up=%zu", links_up);
    zmsg_addstrf (reply, "fed_in_flight=%zu", self->slot_limit - self->free_count);
}

//  =========================================================================
//  Construction

//  The broker keys the federation reads (zmxd refuses unknown keys)
const char *const zmx__federation_keys [] = {
    "peers", "peer-certificate", "peer-server-key", "federation-interval",
    "federation-liveness", "hop-limit", "max-peers", "forward-limit", NULL
};

//  Open the DEALER links to every endpoint of the peer list. Returns -1
//  (reason logged) for a bad endpoint or CURVE setting.
static int
s_links_open (zmx__federation_t *self, zconfig_t *config, const char *list)
{
    const char *certificate = zmx__config_str (config, "peer-certificate", "");
    const char *server_key = zmx__config_str (config, "peer-server-key", "");
    char *copy = strdup (list);
    int rc = 0;
    self->links = (s_link_t *) zmalloc (self->max_peers * sizeof (s_link_t));
    for (char *token = strtok (copy, ", "); token && rc == 0; token = strtok (NULL, ", ")) {
        if (!zmx__endpoint_valid (token) || self->link_count >= self->max_peers) {
            zmx_log_error (self->name, "peers: \"%s\": %s", token, self->link_count
                           >= self->max_peers? "more peers than max-peers": "not an endpoint");
            rc = -1;
            break;
        }
        s_link_t *link = &self->links [self->link_count];
        //  A client socket: the security policy's server keys do not apply
        link->dealer = zmx_security_socket (NULL, ZMQ_DEALER);
        if (!link->dealer)
            rc = -1;
        else {
            link->socket = zsock_resolve (link->dealer);
            link->endpoint = strdup (token);
            self->link_count++;
            zsock_set_linger (link->dealer, 0);
            zsock_set_sndhwm (link->dealer, S_LINK_HWM);
            zsock_set_rcvhwm (link->dealer, S_LINK_HWM);
            zsock_set_immediate (link->dealer, 1);
            if (*certificate
            &&  zmx_security_client_curve (link->dealer, certificate, server_key) != ZMX_OK)
                rc = -1;
            else
            if (zsock_connect (link->dealer, "%s", token)) {
                zmx_log_error (self->name, "peers: cannot connect to %s", token);
                rc = -1;
            }
        }
    }
    free (copy);
    return rc;
}

static int
s_self_configure (zmx__federation_t *self, zconfig_t *config)
{
    bool valid = true;
    self->interval = zmx__config_int (config, "federation-interval", ZMX_FED_INTERVAL,
                                      10, 3600000, &valid);
    self->liveness = zmx__config_int (config, "federation-liveness", ZMX_FED_LIVENESS,
                                      1, 100, &valid);
    self->hop_limit = zmx__config_int (config, "hop-limit", ZMX_FED_HOP_LIMIT, 1, 255, &valid);
    self->max_peers = zmx__config_int (config, "max-peers", ZMX_FED_MAX_PEERS,
                                       1, ZMX_FED_MAX_LINKS, &valid);
    self->slot_limit = zmx__config_int (config, "forward-limit", ZMX_FED_FORWARD_LIMIT,
                                        1, 10000000, &valid);
    return valid? 0: -1;
}

zmx__federation_t *
zmx__federation_new (zconfig_t *config, const zmx__fed_broker_t *broker, const char *name,
                     int64_t request_timeout, bool *valid)
{
    assert (broker && broker->router && broker->local_request && broker->client_reply
            && broker->each_local);
    const char *list = zmx__config_str (config, "peers", "");
    if (strspn (list, ", ") == strlen (list))
        return NULL;            //  no peers: federation off
    zmx__federation_t *self = (zmx__federation_t *) zmalloc (sizeof (zmx__federation_t));
    self->broker = *broker;
    self->name = strdup (name);
    self->request_timeout = request_timeout;
    zuuid_t *uuid = zuuid_new ();
    snprintf (self->node, sizeof self->node, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    if (s_self_configure (self, config) || s_links_open (self, config, list)) {
        zmx__federation_destroy (&self);
        *valid = false;
        return NULL;
    }
    self->peers = (s_peer_t *) zmalloc (self->max_peers * sizeof (s_peer_t));
    for (size_t index = 0; index < self->max_peers; index++) {
        self->peers [index].routes = zhashx_new ();
        zhashx_set_destructor (self->peers [index].routes, s_route_free);
    }
    self->slots = (s_slot_t *) calloc (self->slot_limit, sizeof (s_slot_t));
    self->free_slots = (size_t *) malloc (self->slot_limit * sizeof (size_t));
    if (!self->slots || !self->free_slots) {
        zmx_log_error (self->name, "forward-limit: out of memory");
        zmx__federation_destroy (&self);
        *valid = false;
        return NULL;
    }
    //  Lowest index on top, so that a quiet federation reuses few slots
    for (size_t index = 0; index < self->slot_limit; index++)
        self->free_slots [index] = self->slot_limit - 1 - index;
    self->free_count = self->slot_limit;
    zmx_log_info (self->name, "federation: node %s, %zu peer link(s), hop limit %" PRId64,
                  self->node, self->link_count, self->hop_limit);
    return self;
}

void
zmx__federation_destroy (zmx__federation_t **self_p)
{
    zmx__federation_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; self->slots && index < self->slot_limit; index++)
        if (self->slots [index].used) {
            zmq_msg_close (&self->slots [index].client);
            zstr_free (&self->slots [index].service);
        }
    free (self->slots);
    free (self->free_slots);
    for (size_t index = 0; self->peers && index < self->max_peers; index++)
        zhashx_destroy (&self->peers [index].routes);
    free (self->peers);
    for (size_t index = 0; index < self->link_count; index++) {
        zsock_destroy (&self->links [index].dealer);
        zstr_free (&self->links [index].endpoint);
    }
    free (self->links);
    free (self->name);
    free (self);
    *self_p = NULL;
}
