/*  =========================================================================
    zmx_client - a Majordomo client with Lazy Pirate reliability

    Design notes:

    - One DEALER socket, created lazily, so the client can keep many
      requests outstanding (asynchronous use) and still speak 7/MDP with
      its explicit empty delimiter frame.
    - A synchronous request that times out closes its socket (linger 0) and
      moves to the next endpoint of the list, so a late reply to an earlier
      attempt can never be taken for the answer to a later request. The
      body frames are resent with ZFRAME_REUSE, which shares their buffers
      instead of copying them per attempt.
    - Hot path (see zmx_frames.c): the protocol frames are sent with
      zmq_send and received into zmq_msg_t, so the heap is used only for
      the body frames, which travel as the caller's zframe_t. A reply
      already queued costs no clock read and no socket option change; a
      synchronous request reads the clock once.
    - zmx_client_set_version (c, ZMX_MDP_PACKED) switches to zmx packed MDP
      (a zmx broker only): the request's header and a small first body
      frame go out as one frame, and the reply arrives as one frame
      (head of one zmq_msg_t; its inline body becomes the first frame of
      the zmsg_t handed back, larger frames come as received). PARTIALs
      are dropped: the API returns one reply per request.
    - Replies are checked with the codec: anything that is not an MDP/0.1
      REPLY (packed: a FINAL) for the service asked is dropped and logged
      at debug level, and
      the wait goes on until the attempt's deadline. Asynchronous replies
      cannot be matched to one request, so the client counts requests in
      flight per service and drops replies for a service it has none for.
      The service used last is counted in the client itself, so that the
      usual case, one service, costs no hashing per request.
    - Asynchronous sends block for at most the request timeout when the
      socket's queue is full (the broker is gone or slow), and then fail
      with ZMX_ETIMEDOUT rather than hanging the caller.
    - Several brokers (the Freelance pattern over MDP): the first request
      goes to the first broker of the list. When an attempt times out, the
      client pings the brokers of the list, on a fresh socket each, with
      an 8/MMI "mmi.service" request for the service, and resends to the
      first that answers "200" (or, after a short grace, to one that
      answered anything). Dead brokers, and the passive one of a Binary
      Star pair, answer nothing and are skipped, so the request moves on
      after one timeout, not one per dead broker. Pings repeat every
      fifth of the timeout while none answers: a Binary Star backup takes
      over on the first request after its peer expired, and a ping counts
      as one. 10/FLP's PING/PONG is not used: a Majordomo broker would
      drop it as malformed MDP.
    - The broker that just failed is pinged alone for a tenth of the
      timeout before the others (in the first ping round after the
      failure; a round that nobody answered is followed by rounds that
      ping all brokers at once). A broker that was only slow (a worker
      took longer than the timeout) answers at once and keeps the client,
      and the passive broker of a pair whose state link is down is not
      woken by a ping it would take as a reason to become active.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"

#define S_TAG       0x7a6d0043  //  "zm" 0x0043: live zmx_client_t
#define S_TAG_DEAD  0xDeadBeef  //  Written on destroy
#define S_LOG       "client"
#define S_HEAD      3           //  "" MDPC01 service
#define S_SERVICE   2           //  Index of the service frame
#define S_PING      "mmi.service"   //  The ping, answered by any MDP broker
#define S_PING_OK   "200"       //  The broker has a worker for the service
#define S_PING_MIN  10          //  Shortest interval between pings, msec

struct _zmx_client_t {
    uint32_t tag;               //  S_TAG while alive
    char **endpoints;           //  Broker endpoints to fail over between
    size_t endpoint_count;      //  Entries in endpoints
    char *name;                 //  "name:NAME" the endpoints came from, or NULL
    char *resolved;             //  The list that name resolved to last
    size_t current;             //  Index of the endpoint in use
    size_t failed;              //  Endpoint of the last failed attempt, or
                                //  SIZE_MAX after a ping round that failed
    zsock_t *socket;            //  DEALER to the current broker, or NULL
    int timeout;                //  Per-attempt timeout, msec
    int retries;                //  Attempts after the first
    char *curve_cert;           //  Client certificate path, NULL = no CURVE
    char *curve_server_key;     //  Server key or its certificate path
    zhashx_t *pending;          //  Service -> async requests in flight
    char hot [ZMX_MDP_MAX_SERVICE + 1];    //  Service counted in hot_count,
    size_t hot_size;            //  its length (0 = none),
    uintptr_t hot_count;        //  and its requests in flight (not in pending)
    int rcvtimeo;               //  Receive timeout currently set on socket
    int version;                //  1 (7/MDP) or ZMX_MDP_PACKED
    int error;                  //  Error of the last failed call
};

void
zmx_client_destroy (zmx_client_t **self_p)
{
    assert (self_p);
    zmx_client_t *self = *self_p;
    if (self) {
        assert (self->tag == S_TAG);
        zsock_destroy (&self->socket);
        zhashx_destroy (&self->pending);
        for (size_t index = 0; index < self->endpoint_count; index++)
            free (self->endpoints [index]);
        free (self->endpoints);
        free (self->name);
        free (self->resolved);
        free (self->curve_cert);
        free (self->curve_server_key);
        self->tag = S_TAG_DEAD;
        free (self);
        *self_p = NULL;
    }
}

//  Split "a, b,c" into the endpoint array; false if any entry is invalid.
static bool
s_client_parse (zmx_client_t *self, const char *endpoints)
{
    char *copy = strdup (endpoints);
    size_t capacity = 1;
    for (const char *scan = copy; *scan; scan++)
        capacity += *scan == ',';
    self->endpoints = (char **) zmalloc (capacity * sizeof (char *));
    bool valid = true;
    char *rest = copy;
    char *item;
    while (valid && (item = strsep (&rest, ","))) {
        while (*item == ' ' || *item == '\t')
            item++;
        size_t length = strlen (item);
        while (length && (item [length - 1] == ' ' || item [length - 1] == '\t'))
            item [--length] = 0;
        valid = zmx__endpoint_valid (item);
        if (valid)
            self->endpoints [self->endpoint_count++] = strdup (item);
        else
            zmx_log_error (S_LOG, "invalid broker endpoint \"%s\"", item);
    }
    free (copy);
    return valid && self->endpoint_count > 0;
}

//  True if `endpoints` names brokers through the resolver ("name:NAME").
static bool
s_is_name (const char *endpoints)
{
    return strncmp (endpoints, ZMX_RESOLVER_SCHEME, strlen (ZMX_RESOLVER_SCHEME)) == 0;
}

zmx_client_t *
zmx_client_new (const char *endpoints)
{
    if (!endpoints || !*endpoints) {
        zmx_log_error (S_LOG, "no broker endpoint given");
        return NULL;
    }
    zmx_client_t *self = (zmx_client_t *) zmalloc (sizeof (zmx_client_t));
    self->tag = S_TAG;
    self->timeout = 2500;
    self->retries = 3;
    self->rcvtimeo = -1;
    self->version = 1;
    self->error = ZMX_OK;
    self->pending = zhashx_new ();
    if (s_is_name (endpoints)) {
        self->name = strdup (endpoints);
        int rc = zmx_resolver_resolve_endpoint (endpoints, self->timeout, &self->resolved);
        if (rc != ZMX_OK)
            zmx_log_error (S_LOG, "cannot resolve \"%s\": %s", endpoints,
                           rc == ZMX_EADDR? "no such name": zmx_strerror (rc));
        endpoints = self->resolved;
    }
    if (!endpoints || !s_client_parse (self, endpoints))
        zmx_client_destroy (&self);
    return self;
}

//  A client made from "name:NAME" asks the resolver again after a failed
//  attempt: if the name now points elsewhere, the new list replaces the old
//  one and is used from its first entry. Returns true if it did.
static bool
s_client_follow_name (zmx_client_t *self)
{
    char *latest = NULL;
    if (!self->name
    ||  zmx_resolver_resolve_endpoint (self->name, self->timeout, &latest) != ZMX_OK)
        return false;
    bool moved = !streq (latest, self->resolved);
    char **old_endpoints = self->endpoints;
    size_t old_count = self->endpoint_count;
    if (moved) {
        self->endpoints = NULL;
        self->endpoint_count = 0;
        moved = s_client_parse (self, latest);
    }
    if (moved) {
        for (size_t index = 0; index < old_count; index++)
            free (old_endpoints [index]);
        free (old_endpoints);
        zmx_log_info (S_LOG, "%s moved to %s", self->name, latest);
        free (self->resolved);
        self->resolved = latest;
        self->current = 0;
        self->failed = SIZE_MAX;
        return true;
    }
    if (self->endpoints != old_endpoints) {
        //  The new list was unusable: keep the old one
        for (size_t index = 0; index < self->endpoint_count; index++)
            free (self->endpoints [index]);
        free (self->endpoints);
        self->endpoints = old_endpoints;
        self->endpoint_count = old_count;
    }
    free (latest);
    return false;
}

void
zmx_client_set_timeout (zmx_client_t *self, int timeout_ms)
{
    assert (self && self->tag == S_TAG);
    if (timeout_ms < 1) {
        zmx_log_warning (S_LOG, "ignoring timeout %d ms: must be positive", timeout_ms);
        return;
    }
    self->timeout = timeout_ms;
    if (self->socket)
        zsock_set_sndtimeo (self->socket, timeout_ms);
}

void
zmx_client_set_retries (zmx_client_t *self, int retries)
{
    assert (self && self->tag == S_TAG);
    if (retries < 0) {
        zmx_log_warning (S_LOG, "ignoring retries %d: must be 0 or more", retries);
        return;
    }
    self->retries = retries;
}

int
zmx_client_set_version (zmx_client_t *self, int version)
{
    assert (self && self->tag == S_TAG);
    if (version != 1 && version != ZMX_MDP_PACKED) {
        zmx_log_warning (S_LOG, "ignoring version %d: must be 1 or %d (packed)", version,
                         ZMX_MDP_PACKED);
        return ZMX_EINVAL;
    }
    if (version != self->version && self->socket) {
        //  Replies on their way are in the old framing: start afresh
        zsock_destroy (&self->socket);
        zhashx_purge (self->pending);
        self->hot_count = 0;
    }
    self->version = version;
    return ZMX_OK;
}

int
zmx_client_set_curve (zmx_client_t *self, const char *client_cert_path, const char *server_key)
{
    assert (self && self->tag == S_TAG);
    return zmx__curve_client_store (&self->curve_cert, &self->curve_server_key,
                                    client_cert_path, server_key);
}

//  A DEALER connected to `endpoint` (*rc_p set to ZMX_OK), or NULL with
//  *rc_p set to ZMX_ESECURITY or ZMX_EADDR.
static zsock_t *
s_client_socket_new (zmx_client_t *self, const char *endpoint, int *rc_p)
{
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (!socket) {
        *rc_p = ZMX_EADDR;
        return NULL;
    }
    zsock_set_linger (socket, 0);
    zsock_set_sndtimeo (socket, self->timeout);
    int rc = ZMX_OK;
    if (self->curve_cert
        && zmx_security_client_curve (socket, self->curve_cert, self->curve_server_key) != ZMX_OK)
        rc = ZMX_ESECURITY;
    else
    if (zsock_connect (socket, "%s", endpoint) != 0) {
        zmx_log_warning (S_LOG, "cannot connect to %s: %s", endpoint,
                         zmq_strerror (zmq_errno ()));
        rc = ZMX_EADDR;
    }
    if (rc != ZMX_OK)
        zsock_destroy (&socket);
    *rc_p = rc;
    return socket;
}

//  Open the socket to the current endpoint. Returns ZMX_OK, ZMX_ESECURITY
//  or ZMX_EADDR.
static int
s_client_connect (zmx_client_t *self)
{
    int rc = ZMX_OK;
    self->socket = s_client_socket_new (self, self->endpoints [self->current], &rc);
    self->rcvtimeo = -1;
    return rc;
}

//  Count an asynchronous request to the service (`size` bytes, not
//  terminated) in flight (delta 1), or take one back (delta -1). Returns
//  false if there was none to take. The service used last is counted
//  outside the hash table, so that a client that keeps asking one service
//  hashes nothing per request; switching services moves its count into
//  the table and the new one's out.
static bool
s_client_pending (zmx_client_t *self, const void *service, size_t size, int delta)
{
    if (size > ZMX_MDP_MAX_SERVICE)
        return false;
    if (size != self->hot_size || memcmp (service, self->hot, size) != 0) {
        if (delta < 0 && zhashx_size (self->pending) == 0)
            return false;       //  Not hot, and nothing else in flight
        if (self->hot_count)
            zhashx_update (self->pending, self->hot, (void *) self->hot_count);
        memcpy (self->hot, service, size);
        self->hot [size] = 0;
        self->hot_size = size;
        //  Counts are stored as the item pointer; the table holds no zeros
        self->hot_count = (uintptr_t) zhashx_lookup (self->pending, self->hot);
        if (self->hot_count)
            zhashx_delete (self->pending, self->hot);
    }
    if (delta < 0 && self->hot_count == 0)
        return false;
    self->hot_count += delta;
    return true;
}

//  Forget every asynchronous request in flight.
static void
s_client_pending_purge (zmx_client_t *self)
{
    zhashx_purge (self->pending);
    self->hot_count = 0;
}

//  Give up on the current broker: drop the socket, and anything still
//  queued on it, and use the next endpoint from now on.
static void
s_client_failover (zmx_client_t *self)
{
    zsock_destroy (&self->socket);
    s_client_pending_purge (self);
    if (s_client_follow_name (self))
        return;
    self->current = (self->current + 1) % self->endpoint_count;
    if (self->endpoint_count > 1)
        zmx_log_info (S_LOG, "failing over to %s", self->endpoints [self->current]);
}

//  Frames received into zmq_msg_t in front of a reply's body: 0.1's
//  "" MDPC01 service, or the one packed header.
static size_t
s_client_head (zmx_client_t *self)
{
    return self->version == ZMX_MDP_PACKED? 1: S_HEAD;
}

//  Receive one message within wait_ms (-1 = forever, 0 = only if one is
//  queued). Returns 0, or -1 on timeout (errno EAGAIN), interrupt or
//  context end.
static int
s_client_wait (zmx_client_t *self, int wait_ms, zmx__frames_t *frames)
{
    if (wait_ms != 0 && self->rcvtimeo != wait_ms) {
        zsock_set_rcvtimeo (self->socket, wait_ms);
        self->rcvtimeo = wait_ms;
    }
    return zmx__frames_recv (frames, self->socket, s_client_head (self),
                             wait_ms == 0? ZMQ_DONTWAIT: 0);
}

//  Check a received reply and take its body. `expected` is the service
//  asked, or NULL for any service with asynchronous requests in flight.
//  Returns the body, or NULL if the message was invalid (the caller
//  closes the frames either way).
static zmsg_t *
s_client_unwrap (zmx_client_t *self, zmx__frames_t *frames, const char *expected,
                 char **service_p)
{
    zmx_mdp_view_t view;
    //  A valid 0.1 REPLY always has its service and body where the receive
    //  split the frames, and a packed FINAL its service in the one head
    //  frame; the check keeps that assumption explicit.
    bool packed = self->version == ZMX_MDP_PACKED;
    bool valid = zmx__frames_decode (frames, ZMX_MDP_AT_CLIENT, &view) == 0
                 && view.version == self->version
                 && view.command == (packed? ZMX_MDP_CLIENT_FINAL: ZMX_MDP_CLIENT_REPLY)
                 && view.service == (packed? 0: S_SERVICE)
                 && view.body == s_client_head (self);
    const char *reason = view.command == ZMX_MDP_INVALID? view.error
                       : view.command == ZMX_MDP_CLIENT_PARTIAL? "PARTIAL (one reply is taken)"
                       : packed? "not a packed FINAL": "not an MDP/0.1 REPLY";
    if (valid) {
        zmq_msg_t *service = &frames->head [view.service];
        const char *name = (const char *) zmq_msg_data (service) + view.service_offset;
        size_t size = view.service_size;
        if (expected? size != strlen (expected) || memcmp (name, expected, size) != 0
                    : !s_client_pending (self, name, size, -1)) {
            reason = "reply for a service not asked";
            valid = false;
        }
        else
        if (service_p)
            *service_p = strndup (name, size);
    }
    if (!valid) {
        zmx_log_debug (S_LOG, "dropped invalid reply from %s: %s",
                       self->endpoints [self->current], reason);
        return NULL;
    }
    zmsg_t *body = zmx__frames_take_tail (frames);
    if (view.inline_body)
        zmsg_pushmem (body, (const byte *) zmq_msg_data (&frames->head [0]) + view.inline_offset,
                      view.inline_size);
    return body;
}

//  True if `frames` is a reply to `expected` (NULL: to any service with
//  asynchronous requests in flight, one of which it then takes back) that
//  has more frames than any MDP decoder takes (ZMX_MDP_MAX_FRAMES): it can
//  never be read, so waiting on or retrying would only hide it. A 0.1
//  head must name the service; a packed one is taken as the reply to the
//  request in flight.
static bool
s_client_oversize (zmx_client_t *self, zmx__frames_t *frames, const char *expected)
{
    size_t count = zmx__frames_count (frames);
    if (count <= ZMX_MDP_MAX_FRAMES || frames->head_count < s_client_head (self))
        return false;
    const char *name = "(packed)";
    if (self->version != ZMX_MDP_PACKED) {
        zmq_msg_t *protocol = &frames->head [1];
        zmq_msg_t *service = &frames->head [S_SERVICE];
        name = (const char *) zmq_msg_data (service);
        size_t size = zmq_msg_size (service);
        if (zmq_msg_size (protocol) != sizeof ZMX_MDPC01 - 1
            || memcmp (zmq_msg_data (protocol), ZMX_MDPC01, sizeof ZMX_MDPC01 - 1) != 0
            || (expected && (size != strlen (expected) || memcmp (name, expected, size) != 0))
            || (!expected && !s_client_pending (self, name, size, -1)))
            return false;
        name = expected? expected: self->hot;   //  s_client_pending made it hot
    }
    zmx_log_warning (S_LOG, "%s: reply from %s has %zu frames, more than MDP's %d: "
                     "it cannot be read", expected? expected: name,
                     self->endpoints [self->current], count, ZMX_MDP_MAX_FRAMES);
    return true;
}

//  Send a packed REQUEST: one header frame holding the service and, when
//  small, body frame 0; the other body frames follow as they are. Same
//  contract as s_client_send_request.
static int
s_client_send_packed (zmx_client_t *self, const char *service, zmsg_t **body_p, bool keep)
{
    void *handle = zsock_resolve (self->socket);
    zmsg_t *body = *body_p;
    zframe_t *first = body? zmsg_first (body): NULL;
    bool inline_body = !first || zframe_size (first) <= ZMX_PACKED_INLINE_MAX;
    size_t inline_size = first && inline_body? zframe_size (first): 0;
    size_t service_size = strlen (service);
    zmq_msg_t header;
    zmq_msg_init_size (&header,
                       zmx_mdp_packed_size (ZMX_MDP_CLIENT_REQUEST, service_size, inline_size));
    byte *bytes = (byte *) zmq_msg_data (&header);
    size_t at = zmx_mdp_packed_write (bytes, ZMX_MDP_CLIENT_REQUEST, inline_body, service,
                                      service_size, 0);
    if (inline_size)
        memcpy (bytes + at, zframe_data (first), inline_size);
    zframe_t *rest = first && inline_body? zmsg_next (body): first;
    if (zmq_msg_send (&header, handle, rest? ZMQ_SNDMORE: 0) < 0) {
        int error = errno;
        zmq_msg_close (&header);
        if (!keep)
            zmsg_destroy (body_p);
        errno = error;
        return -1;
    }
    int rc = 0;
    if (keep) {
        //  Share the frames' data with the socket: the body stays for a resend
        while (rest && rc == 0) {
            zframe_t *next = zmsg_next (body);
            rc = zframe_send (&rest, self->socket, ZFRAME_REUSE | (next? ZFRAME_MORE: 0));
            rest = next;
        }
        return rc;
    }
    if (first && inline_body) {
        zmsg_remove (body, first);
        zframe_destroy (&first);
    }
    if (rest)
        rc = zmsg_send (body_p, self->socket);
    int error = errno;
    zmsg_destroy (body_p);
    errno = error;
    return rc;
}

//  Send a REQUEST: "" MDPC01 service body... If `keep`, the body stays
//  with the caller for a resend; if not, *body_p is consumed on every
//  path. Returns 0 or -1 (errno EAGAIN: the send queue stayed full for
//  the send timeout; nothing went out).
static int
s_client_send_request (zmx_client_t *self, const char *service, zmsg_t **body_p, bool keep)
{
    if (self->version == ZMX_MDP_PACKED)
        return s_client_send_packed (self, service, body_p, keep);
    zsock_t *socket = self->socket;
    int rc = -1;
    if (zmx__frames_send_more (socket, "", 0) == 0
        && zmx__frames_send_more (socket, ZMX_MDPC01, sizeof ZMX_MDPC01 - 1) == 0
        && zmx__frames_send_more (socket, service, strlen (service)) == 0)
        rc = keep? zmx__frames_send_shared (socket, *body_p)
                 : zmx__frames_send_body (socket, body_p);
    if (!keep) {
        int error = errno;      //  Callers read errno after a failure
        zmsg_destroy (body_p);
        errno = error;
    }
    return rc;
}

//  One Lazy Pirate attempt: send, then wait for a valid reply until the
//  timeout. Returns ZMX_OK with *reply_p set, or ZMX_ETIMEDOUT, ZMX_ETERM,
//  ZMX_ESECURITY, ZMX_EADDR, or ZMX_EPROTO for a reply too long to read.
static int
s_client_attempt (zmx_client_t *self, const char *service, zmsg_t *request, zmsg_t **reply_p)
{
    int rc = self->socket? ZMX_OK: s_client_connect (self);
    if (rc != ZMX_OK)
        return rc;
    if (s_client_send_request (self, service, &request, true) != 0)
        return errno == EAGAIN? ZMX_ETIMEDOUT: ZMX_ETERM;
    //  The first wait is the whole timeout: only a dropped reply costs
    //  another clock read.
    int64_t deadline = zclock_mono () + self->timeout;
    int64_t left = self->timeout;
    while (!zsys_interrupted) {
        zmx__frames_t frames;
        if (s_client_wait (self, (int) left, &frames) != 0)
            return errno == EAGAIN? ZMX_ETIMEDOUT: ZMX_ETERM;
        *reply_p = s_client_unwrap (self, &frames, service, NULL);
        bool oversize = !*reply_p && s_client_oversize (self, &frames, service);
        zmx__frames_close (&frames);
        if (*reply_p)
            return ZMX_OK;
        if (oversize)
            return ZMX_EPROTO;
        left = deadline - zclock_mono ();
        if (left <= 0)
            return ZMX_ETIMEDOUT;
    }
    return ZMX_ETERM;
}

//  -------------------------------------------------------------------------
//  Several brokers: ping them all, pick one that answers

//  State of one ping round over the whole endpoint list.
typedef struct {
    zsock_t **sockets;          //  One fresh DEALER per endpoint
    zmq_pollitem_t *items;      //  Their poll items
    bool *heard;                //  Endpoint answered a ping
    size_t answered;            //  Endpoints that answered
    int chosen;                 //  Endpoint that answered "200", or -1
    int fallback;               //  First endpoint that answered, or -1
    size_t first;               //  Endpoint pinged alone at first, or SIZE_MAX
    int64_t others_at;          //  When the other endpoints are pinged
} s_probe_t;

//  Send one "mmi.service" request asking for `service`; never blocks.
static void
s_client_ping (zmx_client_t *self, zsock_t *socket, const char *service)
{
    void *handle = zsock_resolve (socket);
    if (self->version == ZMX_MDP_PACKED) {
        byte header [ZMX_PACKED_HEAD_MAX + ZMX_MDP_MAX_SERVICE];
        size_t size = strlen (service);
        size_t at = zmx_mdp_packed_write (header, ZMX_MDP_CLIENT_REQUEST, true, S_PING,
                                          sizeof S_PING - 1, 0);
        memcpy (header + at, service, size);
        zmq_send (handle, header, at + size, ZMQ_DONTWAIT);
        return;
    }
    if (zmq_send (handle, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) == 0
        && zmq_send (handle, ZMX_MDPC01, sizeof ZMX_MDPC01 - 1, ZMQ_SNDMORE) >= 0
        && zmq_send (handle, S_PING, sizeof S_PING - 1, ZMQ_SNDMORE) >= 0)
        zmq_send (handle, service, strlen (service), 0);
}

//  Read the answers waiting on endpoint `index`'s socket.
static void
s_client_probe_read (zmx_client_t *self, s_probe_t *probe, size_t index)
{
    zmx__frames_t frames;
    while (zmx__frames_recv (&frames, probe->sockets [index], s_client_head (self),
                             ZMQ_DONTWAIT) == 0) {
        zmsg_t *body = s_client_unwrap (self, &frames, S_PING, NULL);
        zmx__frames_close (&frames);
        if (!body)
            continue;
        if (!probe->heard [index]) {
            probe->heard [index] = true;
            probe->answered++;
        }
        zframe_t *status = zmsg_first (body);
        if (status && zframe_streq (status, S_PING_OK) && probe->chosen < 0)
            probe->chosen = (int) index;
        if (probe->fallback < 0)
            probe->fallback = (int) index;
        zmsg_destroy (&body);
    }
}

//  Ping the brokers not heard yet that are due: probe->first at once, the
//  others from probe->others_at on. Returns when the next ping is due.
static int64_t
s_client_probe_ping (zmx_client_t *self, s_probe_t *probe, const char *service, int64_t now)
{
    for (size_t index = 0; index < self->endpoint_count; index++)
        if (!probe->heard [index] && (index == probe->first || now >= probe->others_at))
            s_client_ping (self, probe->sockets [index], service);
    int64_t interval = self->timeout / 5 > S_PING_MIN? self->timeout / 5: S_PING_MIN;
    int64_t next = now + interval;
    return now < probe->others_at && probe->others_at < next? probe->others_at: next;
}

//  Ping until a broker answers "200", or every broker answered, or a
//  grace period after the first other answer, or the timeout. Returns
//  ZMX_OK or ZMX_ETERM; probe->chosen / fallback tell the outcome.
static int
s_client_probe_run (zmx_client_t *self, s_probe_t *probe, const char *service)
{
    size_t count = self->endpoint_count;
    int64_t now = zclock_mono ();
    int64_t deadline = now + self->timeout;
    int64_t grace = self->timeout / 10 > S_PING_MIN? self->timeout / 10: S_PING_MIN;
    probe->others_at = probe->first < count? now + grace: now;
    int64_t next_ping = now;
    int64_t settle = INT64_MAX;
    while (probe->chosen < 0 && probe->answered < count && now < deadline && now < settle) {
        if (zsys_interrupted)
            return ZMX_ETERM;
        if (now >= next_ping)
            next_ping = s_client_probe_ping (self, probe, service, now);
        int64_t wake = next_ping < deadline? next_ping: deadline;
        wake = settle < wake? settle: wake;
        if (zmq_poll (probe->items, (int) count, (long) (wake - now)) < 0) {
            if (zmq_errno () != EINTR)
                return ZMX_ETERM;
        }
        for (size_t index = 0; index < count; index++)
            if (probe->items [index].revents & ZMQ_POLLIN)
                s_client_probe_read (self, probe, index);
        now = zclock_mono ();
        //  An answer without a worker waits for the others' answers too
        if (probe->fallback >= 0 && settle == INT64_MAX)
            settle = (now > probe->others_at? now: probe->others_at) + grace;
    }
    return ZMX_OK;
}

//  Find a live broker for `service` and make it the current one (the
//  socket is opened by the next attempt: no late ping answer can meet the
//  request). Returns ZMX_OK, ZMX_ETIMEDOUT if none answered, ZMX_ETERM,
//  ZMX_ESECURITY or ZMX_EADDR.
static int
s_client_probe (zmx_client_t *self, const char *service)
{
    size_t count = self->endpoint_count;
    s_probe_t probe = { NULL, NULL, NULL, 0, -1, -1, self->failed, 0 };
    probe.sockets = (zsock_t **) zmalloc (count * sizeof (zsock_t *));
    probe.items = (zmq_pollitem_t *) zmalloc (count * sizeof (zmq_pollitem_t));
    probe.heard = (bool *) zmalloc (count * sizeof (bool));
    int rc = ZMX_OK;
    for (size_t index = 0; index < count && rc == ZMX_OK; index++) {
        probe.sockets [index] = s_client_socket_new (self, self->endpoints [index], &rc);
        if (probe.sockets [index]) {
            probe.items [index].socket = zsock_resolve (probe.sockets [index]);
            probe.items [index].events = ZMQ_POLLIN;
        }
    }
    if (rc == ZMX_OK)
        rc = s_client_probe_run (self, &probe, service);
    int chosen = probe.chosen >= 0? probe.chosen: probe.fallback;
    if (rc == ZMX_OK && chosen < 0)
        rc = ZMX_ETIMEDOUT;
    if (rc == ZMX_OK && (size_t) chosen != self->current) {
        self->current = (size_t) chosen;
        zmx_log_info (S_LOG, "%s: using %s, which answered a ping", service,
                      self->endpoints [chosen]);
    }
    for (size_t index = 0; index < count; index++)
        zsock_destroy (&probe.sockets [index]);
    free (probe.sockets);
    free (probe.items);
    free (probe.heard);
    return rc;
}

zmsg_t *
zmx_client_request (zmx_client_t *self, const char *service, zmsg_t **request_p)
{
    assert (self && self->tag == S_TAG);
    assert (request_p);
    zmsg_t *request = *request_p;
    *request_p = NULL;
    if (!request || !service || !zmx_mdp_service_valid (service, strlen (service))) {
        zmsg_destroy (&request);
        self->error = ZMX_EINVAL;
        return NULL;
    }
    zmsg_t *reply = NULL;
    int rc = ZMX_ETIMEDOUT;
    for (int attempt = 0; attempt <= self->retries; attempt++) {
        //  After a failure, a list of brokers is pinged, not walked
        if (attempt > 0 && self->endpoint_count > 1) {
            rc = s_client_probe (self, service);
            if (rc == ZMX_ETERM || rc == ZMX_ESECURITY)
                break;
            if (rc != ZMX_OK) {
                zmx_log_debug (S_LOG, "%s: no broker answered a ping within %d ms (attempt "
                               "%d of %d)", service, self->timeout, attempt + 1,
                               self->retries + 1);
                self->failed = SIZE_MAX;    //  Next round: all at once
                continue;
            }
        }
        rc = s_client_attempt (self, service, request, &reply);
        if (rc == ZMX_OK || rc == ZMX_ETERM || rc == ZMX_ESECURITY || rc == ZMX_EPROTO)
            break;
        zmx_log_debug (S_LOG, "%s: no reply from %s within %d ms (attempt %d of %d)", service,
                       self->endpoints [self->current], self->timeout, attempt + 1,
                       self->retries + 1);
        self->failed = self->current;
        s_client_failover (self);
    }
    //  An interrupted request may still be answered: never let that reply
    //  meet the next request.
    if (rc != ZMX_OK) {
        zsock_destroy (&self->socket);
        s_client_pending_purge (self);
    }
    zmsg_destroy (&request);
    self->error = rc;
    return reply;
}

int
zmx_client_send (zmx_client_t *self, const char *service, zmsg_t **request_p)
{
    assert (self && self->tag == S_TAG);
    assert (request_p);
    zmsg_t *request = *request_p;
    *request_p = NULL;
    int rc = ZMX_EINVAL;
    if (request && service && zmx_mdp_service_valid (service, strlen (service))) {
        rc = self->socket? ZMX_OK: s_client_connect (self);
        if (rc == ZMX_OK) {
            if (s_client_send_request (self, service, &request, false) != 0)
                rc = errno == EAGAIN? ZMX_ETIMEDOUT: ZMX_ETERM;
            else
                s_client_pending (self, service, strlen (service), 1);
        }
    }
    zmsg_destroy (&request);
    self->error = rc;
    return rc;
}

zmsg_t *
zmx_client_recv (zmx_client_t *self, int timeout_ms, char **service_p)
{
    assert (self && self->tag == S_TAG);
    if (service_p)
        *service_p = NULL;
    if (!self->socket) {
        self->error = ZMX_EINVAL;   //  Nothing was sent
        return NULL;
    }
    //  First look without waiting, so that a reply already queued costs no
    //  clock read and no socket option change.
    zmsg_t *reply = NULL;
    int64_t deadline = -1;
    int wait = 0;
    self->error = ZMX_OK;
    while (!reply && !self->error) {
        if (zsys_interrupted) {
            self->error = ZMX_ETERM;
            break;
        }
        zmx__frames_t frames;
        if (s_client_wait (self, wait, &frames) == 0) {
            reply = s_client_unwrap (self, &frames, NULL, service_p);
            if (!reply && s_client_oversize (self, &frames, NULL))
                self->error = ZMX_EPROTO;
            zmx__frames_close (&frames);
        }
        else
        if (errno != EAGAIN)
            self->error = ZMX_ETERM;
        if (reply || self->error)
            break;
        int64_t now = zclock_mono ();
        if (deadline < 0)
            deadline = timeout_ms < 0? INT64_MAX: now + timeout_ms;
        if (now >= deadline)
            self->error = ZMX_ETIMEDOUT;
        else
            wait = timeout_ms < 0? -1: (int) (deadline - now);
    }
    return reply;
}

int
zmx_client_error (zmx_client_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->error;
}

const char *
zmx_client_endpoint (zmx_client_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->endpoints [self->current];
}

zsock_t *
zmx_client_socket (zmx_client_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->socket;
}
