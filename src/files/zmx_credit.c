/*  =========================================================================
    zmx_credit - credit-based flow control over DEALER -> ROUTER

    Design notes:

    - Credit is counted in bytes: a segment costs its size plus
      ZMX_CREDIT_SEGMENT_COST. The sender spends credit when it hands a
      DATA message to ZeroMQ; the receiver grants it back when it takes the
      message off its socket, in slices. So "window - credit" is exactly
      what can sit in the queues between the two, and the sender refuses
      any CREDIT that would push its credit above the window.
    - Why no deadlock: the receiver caps its slice at window / 2, so once
      it has drained its socket the sender holds at least window / 2 of
      credit; the sender cuts a segment short only if that leaves at least
      ZMX_CREDIT_MIN_SEGMENT bytes in it, which always fits in window / 2.
    - Both sockets have no high-water mark (SNDHWM / RCVHWM 0): credit is
      the bound. The ROUTER is ROUTER_MANDATORY, so a send to a receiver
      that went away fails (the peer is then forgotten) instead of being
      dropped without a trace.
    - Small payloads are batched: send flushes only once a fragment's worth
      (counting ZMX_CREDIT_SEGMENT_COST per payload) is waiting, and
      process flushes the rest, up to ZMX_CREDIT_MAX_BATCH segments and one
      fragment of bytes per DATA message.
    - Payloads are copied into the sender's per-peer backlog; send refuses
      (ZMX_EAGAIN) when the backlog would pass its cap, which is how the
      application feels back-pressure without ever blocking.
    - Every incoming message is decoded by zmx_credit_decode before
      anything looks at it; invalid ones are logged, counted and dropped.
    =========================================================================
*/
#include "zmx_files_internal.h"

#define S_SENDER_TAG    0x7a6d0063  //  "zm" 0x0063: live zmx_credit_sender_t
#define S_RECEIVER_TAG  0x7a6d0064  //  "zm" 0x0064: live zmx_credit_receiver_t
#define S_TAG_DEAD      0xDeadBeef  //  Written on destroy
#define S_LOG           "credit"
#define S_MAX_FRAMES    (ZMX_CREDIT_MAX_BATCH + 4)
#define S_DRAIN_MAX     1000        //  messages handled per process call

//  -------------------------------------------------------------------------
//  Codec

static int
s_invalid (zmx_credit_view_t *view, const char *reason)
{
    memset (view, 0, sizeof (*view));
    view->error = reason;
    return -1;
}

//  DATA: frames 2.. are sequence, flags, segments.
static int
s_decode_data (const zmx_credit_frame_t *frames, size_t count, zmx_credit_view_t *view)
{
    if (count < 5)
        return s_invalid (view, "DATA without segments");
    if (frames [2].size != 8)
        return s_invalid (view, "DATA sequence is not 8 bytes");
    size_t segments = count - 4;
    if (segments > ZMX_CREDIT_MAX_BATCH)
        return s_invalid (view, "DATA has too many segments");
    if (frames [3].size != segments)
        return s_invalid (view, "DATA flags do not match the segments");
    const uint8_t *flags = (const uint8_t *) frames [3].data;
    for (size_t index = 0; index < segments; index++) {
        if (flags [index] & ~(ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST))
            return s_invalid (view, "DATA has unknown flags");
        if (frames [4 + index].size > ZMX_CREDIT_MAX_SEGMENT)
            return s_invalid (view, "DATA segment too large");
    }
    view->value = zmx__wire_get (frames [2].data, 8);
    view->segments = segments;
    view->flags = flags;
    view->segment = 4;
    return 0;
}

int
zmx_credit_decode (const zmx_credit_frame_t *frames, size_t count,
                   zmx_credit_side_t side, zmx_credit_view_t *view)
{
    assert (view);
    memset (view, 0, sizeof (*view));
    if (!frames || count < 2)
        return s_invalid (view, "too few frames");
    size_t protocol = strlen (ZMX_CREDIT_PROTOCOL);
    if (frames [0].size != protocol || memcmp (frames [0].data, ZMX_CREDIT_PROTOCOL, protocol))
        return s_invalid (view, "not " ZMX_CREDIT_PROTOCOL);
    if (frames [1].size != 1)
        return s_invalid (view, "command frame is not one byte");
    int command = ((const uint8_t *) frames [1].data) [0];
    if (side == ZMX_CREDIT_AT_RECEIVER) {
        if (command != ZMX_CREDIT_DATA)
            return s_invalid (view, "command not valid at a receiver");
        if (s_decode_data (frames, count, view))
            return -1;
    }
    else
    if (command == ZMX_CREDIT_HELLO || command == ZMX_CREDIT_CREDIT) {
        if (count != 3 || frames [2].size != 8)
            return s_invalid (view, "HELLO/CREDIT needs one 8-byte value");
        uint64_t value = zmx__wire_get (frames [2].data, 8);
        uint64_t least = command == ZMX_CREDIT_HELLO? ZMX_CREDIT_MIN_WINDOW: 1;
        if (value < least || value > ZMX_CREDIT_MAX_WINDOW)
            return s_invalid (view, "HELLO/CREDIT value out of range");
        view->value = value;
    }
    else
    if (command == ZMX_CREDIT_PING || command == ZMX_CREDIT_BYE) {
        if (count != 2)
            return s_invalid (view, "PING/BYE takes no value");
    }
    else
        return s_invalid (view, "command not valid at a sender");
    view->command = command;
    return 0;
}

zmsg_t *
zmx_credit_command (int command, uint64_t value)
{
    assert (command == ZMX_CREDIT_HELLO || command == ZMX_CREDIT_CREDIT
            || command == ZMX_CREDIT_PING || command == ZMX_CREDIT_BYE);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, ZMX_CREDIT_PROTOCOL);
    uint8_t byte = (uint8_t) command;
    zmsg_addmem (msg, &byte, 1);
    if (command == ZMX_CREDIT_HELLO || command == ZMX_CREDIT_CREDIT) {
        uint8_t number [8];
        zmx__wire_put (number, value, 8);
        zmsg_addmem (msg, number, 8);
    }
    return msg;
}

//  View the frames of msg, after the first `skip` ones, as an array.
//  Returns the count, or -1 if there are more than S_MAX_FRAMES.
static int
s_msg_frames (zmsg_t *msg, size_t skip, zmx_credit_frame_t *frames)
{
    if (zmsg_size (msg) > S_MAX_FRAMES + skip)
        return -1;
    int count = 0;
    size_t index = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg), index++) {
        if (index < skip)
            continue;
        frames [count].data = zframe_data (frame);
        frames [count].size = zframe_size (frame);
        count++;
    }
    return count;
}

//  -------------------------------------------------------------------------
//  Sender

typedef struct {
    char *name;                 //  Hex routing id, the hash key
    zframe_t *routing_id;       //  Routing id frame, sent before each DATA
    uint64_t window;            //  Granted at HELLO
    uint64_t credit;            //  Left to spend, <= window
    uint64_t max_in_flight;     //  Highest window - credit seen
    zlistx_t *backlog;          //  Payload frames waiting, oldest first
    size_t offset;              //  Bytes of the oldest payload already sent
    uint64_t bytes_queued;      //  Payload bytes in backlog not yet sent
    uint64_t bytes_sent;        //  Payload bytes sent
    uint64_t payloads;          //  Payloads accepted
    uint64_t sequence;          //  Sequence number of the next segment
    int64_t last_seen;          //  zclock_mono of the last message from it
} s_peer_t;

struct _zmx_credit_sender_t {
    uint32_t tag;               //  S_SENDER_TAG while alive
    zsock_t *socket;            //  ROUTER, bound
    char *endpoint;             //  Resolved endpoint
    zhashx_t *peers;            //  Name -> s_peer_t
    size_t fragment;            //  Payload bytes per DATA message
    size_t backlog_cap;         //  Per-peer backlog cap, bytes
    int expiry;                 //  Msec of silence before a peer is freed
    size_t max_receivers;       //  Peers known at once; more HELLOs refused
    int64_t last_warning;       //  Rate limit of warnings from peer input
    zmx_credit_sender_stats_t stats;  //  Counters (peers, in_flight computed)
};

static void
s_peer_destroy (s_peer_t **self_p)
{
    s_peer_t *self = *self_p;
    if (self) {
        zframe_destroy (&self->routing_id);
        zlistx_destroy (&self->backlog);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

static void
s_peer_free (void **item)
{
    s_peer_destroy ((s_peer_t **) item);
}

static void
s_frame_free (void **item)
{
    zframe_destroy ((zframe_t **) item);
}

void
zmx_credit_sender_destroy (zmx_credit_sender_t **self_p)
{
    assert (self_p);
    zmx_credit_sender_t *self = *self_p;
    if (self) {
        assert (self->tag == S_SENDER_TAG);
        zhashx_destroy (&self->peers);
        zsock_destroy (&self->socket);
        free (self->endpoint);
        self->tag = S_TAG_DEAD;
        free (self);
        *self_p = NULL;
    }
}

zmx_credit_sender_t *
zmx_credit_sender_new (zmx_security_t *security, const char *endpoint)
{
    zsock_t *socket = zmx_security_socket (security, ZMQ_ROUTER);
    if (!socket)
        return NULL;
    //  Credit bounds the queues, so the HWM must never be what stops us;
    //  both options must be set before the bind to apply to it
    zsock_set_sndhwm (socket, 0);
    zsock_set_rcvhwm (socket, 0);
    zsock_set_router_mandatory (socket, 1);
    zsock_set_linger (socket, 0);
    zsock_set_rcvtimeo (socket, 0);
    if (zmx_security_listen (security, socket, endpoint)) {
        zsock_destroy (&socket);
        return NULL;
    }
    zmx_credit_sender_t *self = (zmx_credit_sender_t *) zmalloc (sizeof (zmx_credit_sender_t));
    self->tag = S_SENDER_TAG;
    self->socket = socket;
    self->endpoint = zsock_last_endpoint (socket);
    self->peers = zhashx_new ();
    zhashx_set_destructor (self->peers, s_peer_free);
    self->fragment = ZMX_CREDIT_FRAGMENT;
    self->backlog_cap = ZMX_CREDIT_BACKLOG;
    self->expiry = ZMX_CREDIT_EXPIRY;
    self->max_receivers = ZMX_CREDIT_MAX_RECEIVERS;
    return self;
}

const char *
zmx_credit_sender_endpoint (zmx_credit_sender_t *self)
{
    assert (self && self->tag == S_SENDER_TAG);
    return self->endpoint;
}

zsock_t *
zmx_credit_sender_socket (zmx_credit_sender_t *self)
{
    assert (self && self->tag == S_SENDER_TAG);
    return self->socket;
}

int
zmx_credit_sender_set_fragment (zmx_credit_sender_t *self, size_t bytes)
{
    assert (self && self->tag == S_SENDER_TAG);
    if (bytes < 1024 || bytes > ZMX_CREDIT_MAX_SEGMENT)
        return ZMX_EINVAL;
    self->fragment = bytes;
    return ZMX_OK;
}

int
zmx_credit_sender_set_backlog (zmx_credit_sender_t *self, size_t bytes)
{
    assert (self && self->tag == S_SENDER_TAG);
    if (bytes < 1)
        return ZMX_EINVAL;
    self->backlog_cap = bytes;
    return ZMX_OK;
}

int
zmx_credit_sender_set_max_receivers (zmx_credit_sender_t *self, size_t receivers)
{
    assert (self && self->tag == S_SENDER_TAG);
    if (receivers < 1)
        return ZMX_EINVAL;
    self->max_receivers = receivers;
    return ZMX_OK;
}

int
zmx_credit_sender_set_expiry (zmx_credit_sender_t *self, int msec)
{
    assert (self && self->tag == S_SENDER_TAG);
    if (msec < 1)
        return ZMX_EINVAL;
    self->expiry = msec;
    return ZMX_OK;
}

//  Forget a peer: its backlog is freed and no longer counted as queued.
static void
s_sender_forget (zmx_credit_sender_t *self, s_peer_t *peer, const char *why)
{
    zmx_log_info (S_LOG, "forgetting receiver %s: %s", peer->name, why);
    self->stats.bytes_queued -= peer->bytes_queued;
    zhashx_delete (self->peers, peer->name);
}

//  One DATA message in the making: segments cut from the backlog.
typedef struct {
    size_t count;
    uint8_t flags [ZMX_CREDIT_MAX_BATCH];
    const byte *data [ZMX_CREDIT_MAX_BATCH];
    size_t size [ZMX_CREDIT_MAX_BATCH];
    size_t bytes;               //  Payload bytes in all segments
    uint64_t cost;              //  Credit the message costs
} s_batch_t;

//  Cut segments from the peer's backlog within its credit and the fragment
//  size. Leaves the backlog untouched; returns the number of segments.
static size_t
s_sender_batch (zmx_credit_sender_t *self, s_peer_t *peer, s_batch_t *batch)
{
    memset (batch, 0, sizeof (*batch));
    zframe_t *payload = (zframe_t *) zlistx_first (peer->backlog);
    size_t offset = peer->offset;
    while (payload && batch->count < ZMX_CREDIT_MAX_BATCH && batch->bytes < self->fragment) {
        uint64_t credit = peer->credit - batch->cost;
        if (credit < ZMX_CREDIT_SEGMENT_COST)
            break;
        size_t remaining = zframe_size (payload) - offset;
        size_t room = self->fragment - batch->bytes;
        if (room > credit - ZMX_CREDIT_SEGMENT_COST)
            room = (size_t) (credit - ZMX_CREDIT_SEGMENT_COST);
        size_t take = remaining < room? remaining: room;
        //  A sliver of a segment is not worth a message: wait for credit
        if (take < remaining && take < ZMX_CREDIT_MIN_SEGMENT)
            break;
        size_t index = batch->count++;
        batch->flags [index] = (offset == 0? ZMX_CREDIT_FIRST: 0)
                             | (take == remaining? ZMX_CREDIT_LAST: 0);
        batch->data [index] = zframe_data (payload) + offset;
        batch->size [index] = take;
        batch->bytes += take;
        batch->cost += take + ZMX_CREDIT_SEGMENT_COST;
        if (take < remaining)
            break;
        payload = (zframe_t *) zlistx_next (peer->backlog);
        offset = 0;
    }
    return batch->count;
}

//  Put a batch on the wire. Returns 0, or -1 with errno (EHOSTUNREACH: the
//  peer is gone) if ZeroMQ refused the first frame, so nothing was sent.
static int
s_sender_transmit (zmx_credit_sender_t *self, s_peer_t *peer, s_batch_t *batch)
{
    void *handle = zsock_resolve (self->socket);
    if (zmq_send (handle, zframe_data (peer->routing_id), zframe_size (peer->routing_id),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == -1)
        return -1;
    //  Once the routing id is accepted the other parts are too
    uint8_t command = ZMX_CREDIT_DATA;
    uint8_t sequence [8];
    zmx__wire_put (sequence, peer->sequence, 8);
    zmq_send (handle, ZMX_CREDIT_PROTOCOL, strlen (ZMX_CREDIT_PROTOCOL), ZMQ_SNDMORE);
    zmq_send (handle, &command, 1, ZMQ_SNDMORE);
    zmq_send (handle, sequence, 8, ZMQ_SNDMORE);
    zmq_send (handle, batch->flags, batch->count, ZMQ_SNDMORE);
    for (size_t index = 0; index < batch->count; index++)
        zmq_send (handle, batch->data [index], batch->size [index],
                  index + 1 < batch->count? ZMQ_SNDMORE: 0);
    return 0;
}

//  Account for a transmitted batch: spend credit, drop finished payloads.
static void
s_sender_commit (zmx_credit_sender_t *self, s_peer_t *peer, s_batch_t *batch)
{
    for (size_t index = 0; index < batch->count; index++) {
        if (batch->flags [index] & ZMX_CREDIT_LAST) {
            zframe_t *payload = (zframe_t *) zlistx_detach (peer->backlog, NULL);
            zframe_destroy (&payload);
            peer->offset = 0;
        }
        else
            peer->offset += batch->size [index];
    }
    peer->credit -= batch->cost;
    peer->sequence += batch->count;
    peer->bytes_queued -= batch->bytes;
    peer->bytes_sent += batch->bytes;
    self->stats.bytes_queued -= batch->bytes;
    self->stats.bytes_sent += batch->bytes;
    uint64_t in_flight = peer->window - peer->credit;
    if (in_flight > peer->max_in_flight)
        peer->max_in_flight = in_flight;
    if (in_flight > self->stats.max_in_flight_observed)
        self->stats.max_in_flight_observed = in_flight;
}

//  Send what the peer's credit allows. Returns -1 if the peer is gone (it
//  has been forgotten then), else 0.
static int
s_sender_flush (zmx_credit_sender_t *self, s_peer_t *peer)
{
    s_batch_t batch;
    while (s_sender_batch (self, peer, &batch)) {
        if (s_sender_transmit (self, peer, &batch)) {
            if (errno != EHOSTUNREACH)
                return 0;           //  Try again on the next process call
            s_sender_forget (self, peer, "unreachable");
            self->stats.peers_expired++;
            return -1;
        }
        s_sender_commit (self, peer, &batch);
    }
    return 0;
}

int
zmx_credit_sender_send (zmx_credit_sender_t *self, const char *peer_name,
                        const void *data, size_t size)
{
    assert (self && self->tag == S_SENDER_TAG);
    assert (data || size == 0);
    s_peer_t *peer = peer_name? (s_peer_t *) zhashx_lookup (self->peers, peer_name): NULL;
    if (!peer)
        return ZMX_EDISCONNECTED;
    if (size > self->backlog_cap)
        return ZMX_EINVAL;
    if (peer->bytes_queued + size > self->backlog_cap)
        return ZMX_EAGAIN;
    zlistx_add_end (peer->backlog, zframe_new (data, size));
    peer->bytes_queued += size;
    peer->payloads++;
    self->stats.bytes_queued += size;
    if (self->stats.bytes_queued > self->stats.max_queued_observed)
        self->stats.max_queued_observed = self->stats.bytes_queued;
    //  Small payloads wait for the next process call, or for a fragment's
    //  worth, so that they travel batched in one message
    uint64_t pending = peer->bytes_queued
                     + (uint64_t) zlistx_size (peer->backlog) * ZMX_CREDIT_SEGMENT_COST;
    if (pending >= self->fragment)
        s_sender_flush (self, peer);
    return ZMX_OK;
}

//  Render a routing id as lower-case hex; caller frees.
static char *
s_routing_name (zframe_t *routing_id)
{
    static const char digits [] = "0123456789abcdef";
    size_t size = zframe_size (routing_id);
    const byte *data = zframe_data (routing_id);
    char *name = (char *) zmalloc (size * 2 + 1);
    for (size_t index = 0; index < size; index++) {
        name [index * 2] = digits [data [index] >> 4];
        name [index * 2 + 1] = digits [data [index] & 15];
    }
    return name;
}

static void
s_sender_hello (zmx_credit_sender_t *self, zframe_t *routing_id, const char *name,
                uint64_t window)
{
    s_peer_t *peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
    peer->name = strdup (name);
    peer->routing_id = zframe_dup (routing_id);
    peer->window = window;
    peer->credit = window;
    peer->backlog = zlistx_new ();
    zlistx_set_destructor (peer->backlog, s_frame_free);
    peer->last_seen = zclock_mono ();
    zhashx_insert (self->peers, name, peer);
    self->stats.credit_granted += window;
    zmx_log_info (S_LOG, "receiver %s joined with a %" PRIu64 "-byte window", name, window);
}

//  Act on one valid command from a receiver. Returns false if it does not
//  fit the peer's state (then it is dropped as malformed).
static bool
s_sender_command (zmx_credit_sender_t *self, zframe_t *routing_id, zmx_credit_view_t *view)
{
    char *name = s_routing_name (routing_id);
    s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, name);
    const char *reason = NULL;
    if (view->command == ZMX_CREDIT_HELLO) {
        if (peer)
            reason = "HELLO from a known receiver";
        else
        if (zhashx_size (self->peers) >= self->max_receivers) {
            //  Refused, not malformed: the receiver gets no credit, and
            //  its PINGs are ignored until a place frees and it says
            //  HELLO again (a new receiver)
            self->stats.receivers_refused++;
            zmx__log_limited (S_LOG, &self->last_warning, "refused receiver %s: %zu "
                              "receivers already (max-receivers)", name, self->max_receivers);
        }
        else
            s_sender_hello (self, routing_id, name, view->value);
    }
    else
    if (!peer) {
        //  A late PING or BYE from a receiver we already forgot is normal
        if (view->command == ZMX_CREDIT_CREDIT)
            reason = "CREDIT from an unknown receiver";
    }
    else {
        peer->last_seen = zclock_mono ();
        if (view->command == ZMX_CREDIT_CREDIT) {
            if (view->value > peer->window - peer->credit)
                reason = "CREDIT beyond the window";
            else {
                peer->credit += view->value;
                self->stats.credit_granted += view->value;
                s_sender_flush (self, peer);
            }
        }
        else
        if (view->command == ZMX_CREDIT_BYE)
            s_sender_forget (self, peer, "said BYE");
    }
    if (reason)
        zmx__log_limited (S_LOG, &self->last_warning, "dropped command 0x%02x from %s: %s",
                          view->command, name, reason);
    free (name);
    return reason == NULL;
}

//  Decode and act on one message from the ROUTER.
static void
s_sender_handle (zmx_credit_sender_t *self, zmsg_t *msg)
{
    zmx_credit_frame_t frames [S_MAX_FRAMES];
    zmx_credit_view_t view;
    int count = s_msg_frames (msg, 1, frames);
    bool valid = count >= 0
                 && zmx_credit_decode (frames, (size_t) count, ZMX_CREDIT_AT_SENDER, &view) == 0;
    if (!valid)
        zmx__log_limited (S_LOG, &self->last_warning, "dropped invalid message: %s",
                          count < 0? "too many frames": view.error);
    else
        valid = s_sender_command (self, zmsg_first (msg), &view);
    if (!valid)
        self->stats.malformed++;
}

//  Free every peer that said nothing for the expiry time.
static void
s_sender_expire (zmx_credit_sender_t *self)
{
    int64_t now = zclock_mono ();
    zlist_t *expired = zlist_new ();
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        if (now - peer->last_seen >= self->expiry)
            zlist_append (expired, peer);
    for (s_peer_t *peer = (s_peer_t *) zlist_first (expired); peer;
         peer = (s_peer_t *) zlist_next (expired)) {
        s_sender_forget (self, peer, "silent too long");
        self->stats.peers_expired++;
    }
    zlist_destroy (&expired);
}

int
zmx_credit_sender_process (zmx_credit_sender_t *self)
{
    assert (self && self->tag == S_SENDER_TAG);
    int handled = 0;
    zmsg_t *msg;
    while (handled < S_DRAIN_MAX && (msg = zmsg_recv (self->socket))) {
        if (zmsg_size (msg) >= 2)
            s_sender_handle (self, msg);
        else
            self->stats.malformed++;
        zmsg_destroy (&msg);
        handled++;
    }
    s_sender_expire (self);
    //  Flushing may forget a peer, so walk a list of names, not the hash
    zlist_t *names = zmx_credit_sender_peers (self);
    for (char *name = (char *) zlist_first (names); name; name = (char *) zlist_next (names)) {
        s_peer_t *peer = (s_peer_t *) zhashx_lookup (self->peers, name);
        if (peer && zlistx_size (peer->backlog))
            s_sender_flush (self, peer);
    }
    zlist_destroy (&names);
    return handled;
}

zlist_t *
zmx_credit_sender_peers (zmx_credit_sender_t *self)
{
    assert (self && self->tag == S_SENDER_TAG);
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        zlist_append (names, peer->name);
    return names;
}

void
zmx_credit_sender_stats (zmx_credit_sender_t *self, zmx_credit_sender_stats_t *stats)
{
    assert (self && self->tag == S_SENDER_TAG);
    assert (stats);
    *stats = self->stats;
    stats->peers = zhashx_size (self->peers);
    stats->in_flight = 0;
    for (s_peer_t *peer = (s_peer_t *) zhashx_first (self->peers); peer;
         peer = (s_peer_t *) zhashx_next (self->peers))
        stats->in_flight += peer->window - peer->credit;
}

int
zmx_credit_sender_peer_stats (zmx_credit_sender_t *self, const char *peer_name,
                              zmx_credit_peer_stats_t *stats)
{
    assert (self && self->tag == S_SENDER_TAG);
    assert (stats);
    s_peer_t *peer = peer_name? (s_peer_t *) zhashx_lookup (self->peers, peer_name): NULL;
    if (!peer)
        return ZMX_EDISCONNECTED;
    stats->window = peer->window;
    stats->credit = peer->credit;
    stats->in_flight = peer->window - peer->credit;
    stats->max_in_flight = peer->max_in_flight;
    stats->bytes_queued = peer->bytes_queued;
    stats->bytes_sent = peer->bytes_sent;
    stats->payloads = peer->payloads;
    return ZMX_OK;
}

//  -------------------------------------------------------------------------
//  Receiver

struct _zmx_credit_receiver_t {
    uint32_t tag;               //  S_RECEIVER_TAG while alive
    zsock_t *socket;            //  DEALER to the sender
    uint64_t window;            //  Credit granted at HELLO
    uint64_t slice;             //  Grant back once this much was taken
    uint64_t outstanding;       //  Credit the sender still holds, as we count
    uint64_t unreported;        //  Credit taken off the socket, not granted back
    uint64_t expected;          //  Sequence number of the next segment
    byte *partial;              //  Payload being reassembled
    size_t partial_size;        //  Bytes in partial
    size_t partial_capacity;    //  Bytes allocated for partial
    bool in_payload;            //  A FIRST segment was seen, LAST not yet
    zlistx_t *ready;            //  Complete payloads (zframe_t) not yet taken
    int heartbeat;              //  Msec between PINGs
    int64_t ping_at;            //  zclock_mono when the next PING is due
    size_t max_payload;         //  Largest payload reassembled
    int64_t last_warning;       //  Rate limit of warnings from sender input
    zmx_credit_receiver_stats_t stats;  //  Counters
};

void
zmx_credit_receiver_destroy (zmx_credit_receiver_t **self_p)
{
    assert (self_p);
    zmx_credit_receiver_t *self = *self_p;
    if (self) {
        assert (self->tag == S_RECEIVER_TAG);
        if (self->socket) {
            //  A short linger lets BYE out; a gone sender costs 100 msec
            zmsg_t *bye = zmx_credit_command (ZMX_CREDIT_BYE, 0);
            zsock_set_sndtimeo (self->socket, 0);
            zmsg_send (&bye, self->socket);
            zmsg_destroy (&bye);
            zsock_set_linger (self->socket, 100);
            zsock_destroy (&self->socket);
        }
        zlistx_destroy (&self->ready);
        free (self->partial);
        self->tag = S_TAG_DEAD;
        free (self);
        *self_p = NULL;
    }
}

//  Send a command to the sender. A failure is logged: it can only come
//  from a sender that has been unreachable for a second.
static void
s_receiver_command (zmx_credit_receiver_t *self, int command, uint64_t value)
{
    zmsg_t *msg = zmx_credit_command (command, value);
    if (zmsg_send (&msg, self->socket) != 0)
        zmx__log_limited (S_LOG, &self->last_warning, "cannot send command 0x%02x: %s",
                          command, zmq_strerror (zmq_errno ()));
    zmsg_destroy (&msg);
    self->ping_at = zclock_mono () + self->heartbeat;
}

//  Make the DEALER, a CURVE client if client_cert is not NULL, and connect
//  it. Returns NULL, with the reason logged, on failure.
static zsock_t *
s_receiver_socket (const char *endpoint, const char *client_cert, const char *server_key)
{
    zsock_t *socket = zmx__sock_new (ZMQ_DEALER);
    if (!socket)
        return NULL;
    zsock_set_rcvhwm (socket, 0);       //  Credit is the bound
    zsock_set_sndtimeo (socket, 1000);
    zsock_set_rcvtimeo (socket, 0);
    if (client_cert
        && zmx_security_client_curve (socket, client_cert, server_key) != ZMX_OK)
        zsock_destroy (&socket);
    else
    if (zsock_connect (socket, "%s", endpoint) != 0) {
        zmx_log_error (S_LOG, "cannot connect to %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&socket);
    }
    return socket;
}

static zmx_credit_receiver_t *
s_receiver_new (const char *endpoint, uint64_t window, uint64_t slice,
                const char *client_cert, const char *server_key)
{
    if (!zmx__endpoint_valid (endpoint) || window < ZMX_CREDIT_MIN_WINDOW
        || window > ZMX_CREDIT_MAX_WINDOW || slice < 1 || slice > window / 2) {
        zmx_log_error (S_LOG, "invalid receiver arguments: endpoint %s, window %" PRIu64
                       ", slice %" PRIu64, endpoint? endpoint: "(none)", window, slice);
        return NULL;
    }
    zsock_t *socket = s_receiver_socket (endpoint, client_cert, server_key);
    if (!socket)
        return NULL;
    zmx_credit_receiver_t *self =
        (zmx_credit_receiver_t *) zmalloc (sizeof (zmx_credit_receiver_t));
    self->tag = S_RECEIVER_TAG;
    self->socket = socket;
    self->window = window;
    self->slice = slice;
    self->outstanding = window;
    self->heartbeat = ZMX_CREDIT_HEARTBEAT;
    self->max_payload = ZMX_CREDIT_MAX_PAYLOAD;
    self->ready = zlistx_new ();
    zlistx_set_destructor (self->ready, s_frame_free);
    self->stats.credit_granted = window;
    s_receiver_command (self, ZMX_CREDIT_HELLO, window);
    return self;
}

zmx_credit_receiver_t *
zmx_credit_receiver_new (const char *endpoint, uint64_t window, uint64_t slice)
{
    return s_receiver_new (endpoint, window, slice, NULL, NULL);
}

zmx_credit_receiver_t *
zmx_credit_receiver_new_curve (const char *endpoint, uint64_t window, uint64_t slice,
                               const char *client_cert_path, const char *server_key)
{
    if (!client_cert_path || !server_key) {
        zmx_log_error (S_LOG, "CURVE receiver needs a client certificate and a server key");
        return NULL;
    }
    return s_receiver_new (endpoint, window, slice, client_cert_path, server_key);
}

int
zmx_credit_receiver_set_heartbeat (zmx_credit_receiver_t *self, int msec)
{
    assert (self && self->tag == S_RECEIVER_TAG);
    if (msec < 1)
        return ZMX_EINVAL;
    self->heartbeat = msec;
    self->ping_at = zclock_mono () + msec;
    return ZMX_OK;
}

int
zmx_credit_receiver_set_max_payload (zmx_credit_receiver_t *self, size_t bytes)
{
    assert (self && self->tag == S_RECEIVER_TAG);
    if (bytes < 1)
        return ZMX_EINVAL;
    self->max_payload = bytes;
    return ZMX_OK;
}

//  Add one segment to the payload being reassembled.
static void
s_receiver_segment (zmx_credit_receiver_t *self, uint8_t flags, const zmx_credit_frame_t *frame)
{
    if (flags & ZMX_CREDIT_FIRST) {
        if (self->in_payload)
            zmx__log_limited (S_LOG, &self->last_warning,
                              "payload restarted before its end: dropped its start");
        self->in_payload = true;
        self->partial_size = 0;
    }
    else
    if (!self->in_payload)
        return;                 //  Rest of a payload already dropped
    if (frame->size > self->max_payload - self->partial_size) {
        zmx__log_limited (S_LOG, &self->last_warning, "payload larger than %zu bytes: dropped",
                          self->max_payload);
        self->in_payload = false;
        return;
    }
    if (self->partial_size + frame->size > self->partial_capacity) {
        size_t capacity = self->partial_capacity? self->partial_capacity * 2: 65536;
        while (capacity < self->partial_size + frame->size)
            capacity *= 2;
        self->partial = (byte *) realloc (self->partial, capacity);
        assert (self->partial);
        self->partial_capacity = capacity;
    }
    if (frame->size)
        memcpy (self->partial + self->partial_size, frame->data, frame->size);
    self->partial_size += frame->size;
    if (flags & ZMX_CREDIT_LAST) {
        zlistx_add_end (self->ready, zframe_new (self->partial, self->partial_size));
        self->in_payload = false;
        self->stats.payloads++;
    }
}

//  Take one DATA message: check its sequence and cost, reassemble.
static void
s_receiver_data (zmx_credit_receiver_t *self, const zmx_credit_frame_t *frames,
                 zmx_credit_view_t *view)
{
    if (view->value != self->expected) {
        self->stats.gaps++;
        zmx__log_limited (S_LOG, &self->last_warning, "sequence gap: expected %" PRIu64
                          ", got %" PRIu64, self->expected, view->value);
        self->in_payload = false;
    }
    self->expected = view->value + view->segments;
    uint64_t cost = 0;
    for (size_t index = 0; index < view->segments; index++) {
        const zmx_credit_frame_t *frame = &frames [view->segment + index];
        cost += frame->size + ZMX_CREDIT_SEGMENT_COST;
        self->stats.bytes_received += frame->size;
        s_receiver_segment (self, view->flags [index], frame);
    }
    if (cost > self->outstanding) {
        self->stats.overruns++;
        zmx__log_limited (S_LOG, &self->last_warning, "sender overran its credit by %" PRIu64
                          " bytes", cost - self->outstanding);
        cost = self->outstanding;
    }
    self->outstanding -= cost;
    self->unreported += cost;
    if (self->unreported >= self->slice) {
        s_receiver_command (self, ZMX_CREDIT_CREDIT, self->unreported);
        self->outstanding += self->unreported;
        self->stats.credit_granted += self->unreported;
        self->unreported = 0;
    }
}

static void
s_receiver_handle (zmx_credit_receiver_t *self, zmsg_t *msg)
{
    zmx_credit_frame_t frames [S_MAX_FRAMES];
    zmx_credit_view_t view;
    int count = s_msg_frames (msg, 0, frames);
    if (count >= 0
        && zmx_credit_decode (frames, (size_t) count, ZMX_CREDIT_AT_RECEIVER, &view) == 0)
        s_receiver_data (self, frames, &view);
    else {
        self->stats.malformed++;
        zmx__log_limited (S_LOG, &self->last_warning, "dropped invalid message: %s",
                          count < 0? "too many frames": view.error);
    }
}

zframe_t *
zmx_credit_receiver_recv (zmx_credit_receiver_t *self, int timeout_ms)
{
    assert (self && self->tag == S_RECEIVER_TAG);
    int64_t deadline = timeout_ms < 0? INT64_MAX: zclock_mono () + timeout_ms;
    void *handle = zsock_resolve (self->socket);
    while (zlistx_size (self->ready) == 0 && !zsys_interrupted) {
        //  Take what is already there first; wait only when it is empty
        zmsg_t *msg = zmsg_recv (self->socket);
        if (msg) {
            s_receiver_handle (self, msg);
            zmsg_destroy (&msg);
            continue;
        }
        int64_t now = zclock_mono ();
        if (now >= self->ping_at)
            s_receiver_command (self, ZMX_CREDIT_PING, 0);
        if (now >= deadline)
            break;
        int64_t wait = self->ping_at - now;
        if (deadline - now < wait)
            wait = deadline - now;
        zmq_pollitem_t item = { handle, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) wait) == -1)
            break;
    }
    return (zframe_t *) zlistx_detach (self->ready, NULL);
}

void
zmx_credit_receiver_stats (zmx_credit_receiver_t *self, zmx_credit_receiver_stats_t *stats)
{
    assert (self && self->tag == S_RECEIVER_TAG);
    assert (stats);
    *stats = self->stats;
}
