/*  =========================================================================
    zmx_worker - a Majordomo worker with Paranoid Pirate reliability

    Design notes:

    - All work happens inside zmx_worker_recv and zmx_worker_send, in the
      caller's thread: there is no background thread, so heartbeats are only
      sent while the caller is inside zmx_worker_recv, or calls
      zmx_worker_heartbeat during long work between recv and send.
    - zmx_worker_heartbeat must read everything the broker sent to see its
      heartbeats, so requests that come with them (credit > 1) are kept,
      reply_to frame first, for the next zmx_worker_recv. They are dropped
      with their connection: their replies could not be delivered. At most
      `credit` are kept: a broker that keeps to our credit never sends
      more, so a request beyond that is the broker's fault. It is dropped
      and counted (zmx_worker_dropped), with a warning at most once a
      second; its client's retry covers it. Disconnecting instead would
      also drop the requests already kept, for one broker's mistake.
    - Hot path: a request that is already queued costs one receive, one
      clock read, and no socket option change (a look without waiting uses
      ZMQ_DONTWAIT; the receive timeout is cached). The protocol frames are
      received into zmq_msg_t and the reply's are sent with zmq_send (see
      zmx_frames.c), so the heap is used only for what the caller gets:
      the body frames, handed over as received, and the reply_to frame.
    - Heartbeats go out at each interval tick unless something else was
      sent since the previous tick; zmx_worker_send only sets a flag, so it
      never reads the clock.
    - Each connection has a generation number, stamped in front of the
      reply_to frame the caller gets. A reply whose request arrived on an
      earlier connection is dropped with ZMX_EAGAIN instead of reaching a
      broker that never gave this connection that request (which a broker
      may rightly treat as a protocol error).
    - The socket is closed and replaced on every reconnect, as 7/MDP asks,
      so zmx_worker_socket can change across zmx_worker_recv calls.
    - MDP/0.1 by default, so that any 7/MDP broker can serve it; with
      zmx_worker_set_version (w, 2) it speaks 18/MDP, which the zmx broker
      also serves: no empty frame in front of each message, one frame
      less each way, and a FINAL in place of REPLY. With version
      ZMX_MDP_PACKED it speaks zmx packed MDP (zmx broker only): a request
      is one header frame holding the address and, when small, the body's
      first frame; it is received into one zmq_msg_t, the inline body is
      copied into the first frame of the zmsg_t the caller gets, and a
      reply goes out the same way.
    - Given a list of brokers (a Binary Star pair, or any set), the worker
      holds one single-broker worker per endpoint, a "link", and registers
      with all of them: a passive broker keeps its workers registered, so
      that it can serve at once when it takes over. recv services every
      link, then waits on all their sockets; the reply_to frame gets one
      more byte in front, the index of the link the request came on.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"

#define S_TAG               0x7a6d0057  //  "zm" 0x0057: live zmx_worker_t
#define S_TAG_DEAD          0xDeadBeef  //  Written on destroy
#define S_LOG               "worker"
#define S_STAMP_SIZE        sizeof (uint32_t)   //  Generation in front of reply_to
#define S_DISCONNECT_LINGER 100         //  msec to flush DISCONNECT on destroy
#define S_HWM_MARGIN        1000        //  Queue room beyond the credit
#define S_HEAD_01           5           //  "" MDPW01 command address ""
#define S_HEAD_02           4           //  MDPW02 command address ""
#define S_HEAD_PACKED       1           //  ZMXW01 header (address inside)
#define S_MAX_LINKS         16          //  Brokers in one endpoint list

struct _zmx_worker_t {
    uint32_t tag;               //  S_TAG while alive
    char *endpoint;             //  Broker endpoint
    char *service;              //  Service name we register
    char *curve_cert;           //  Client certificate path, NULL = no CURVE
    char *curve_server_key;     //  Server key or its certificate path
    zsock_t *socket;            //  DEALER to the broker; NULL while disconnected
    zlist_t *pending;           //  Requests taken by heartbeat: reply_to, body...
    int interval;               //  Heartbeat interval, msec
    int liveness;               //  Silent intervals before the broker is dead
    int backoff_initial;        //  First reconnect delay, msec
    int backoff_max;            //  Cap of the reconnect delay, msec
    int backoff;                //  Delay to use for the next reconnect, msec
    uint32_t credit;            //  Requests we accept in flight
    int version;                //  MDP version spoken: 1 (7/MDP) or 2 (18/MDP)
    uint32_t generation;        //  Number of the current connection
    uint64_t connects;          //  Successful connects so far
    int64_t heartbeat_at;       //  Next heartbeat tick (zclock_mono)
    int64_t expires_at;         //  The broker is dead if silent until then
    int64_t reconnect_at;       //  When to reconnect while socket is NULL
    int rcvtimeo;               //  Receive timeout currently set on socket
    int socket_version;         //  MDP version of the open connection
    bool sent;                  //  Sent something since the last tick
    int disconnects;            //  DISCONNECTs in a row, nothing else heard
    int error;                  //  Why the last recv returned NULL
    uint64_t dropped;           //  Requests beyond credit dropped by heartbeat
    bool heard;                 //  The broker spoke on this connection
    size_t max_frame;           //  Largest reply frame we send, bytes
    bool lost;                  //  A lost broker was logged, not its return
    int64_t last_warning;       //  When the last drop was logged as a warning
    zmx_worker_t **links;       //  One worker per broker of a list, or NULL
    size_t link_count;          //  Entries in links
    size_t next_link;           //  Link looked at first by the next recv
};

//  Make one link per entry of a comma-separated endpoint list. Returns 0,
//  or -1 (reason logged) if an entry is invalid or there are too many.
static int
s_worker_links_new (zmx_worker_t *self, const char *endpoints)
{
    char *copy = strdup (endpoints);
    self->links = (zmx_worker_t **) zmalloc (S_MAX_LINKS * sizeof (zmx_worker_t *));
    int rc = 0;
    char *rest = copy;
    char *item;
    while (rc == 0 && (item = strsep (&rest, ","))) {
        while (*item == ' ' || *item == '\t')
            item++;
        size_t length = strlen (item);
        while (length && (item [length - 1] == ' ' || item [length - 1] == '\t'))
            item [--length] = 0;
        if (self->link_count == S_MAX_LINKS) {
            zmx_log_error (S_LOG, "more than %d broker endpoints in \"%s\"", S_MAX_LINKS,
                           endpoints);
            rc = -1;
        }
        else
        if ((self->links [self->link_count] = zmx_worker_new (item, self->service)))
            self->link_count++;
        else
            rc = -1;
    }
    free (copy);
    return rc;
}

//  The endpoints "name:NAME" resolves to now (caller frees), or NULL.
static char *
s_worker_resolve (const char *spec)
{
    char *endpoints = NULL;
    int rc = zmx_resolver_resolve_endpoint (spec, ZMX_HEARTBEAT_INTERVAL, &endpoints);
    if (rc != ZMX_OK)
        zmx_log_error (S_LOG, "cannot resolve \"%s\": %s", spec,
                       rc == ZMX_EADDR? "no such name": zmx_strerror (rc));
    return endpoints;
}

zmx_worker_t *
zmx_worker_new (const char *endpoint, const char *service)
{
    if (endpoint && strncmp (endpoint, ZMX_RESOLVER_SCHEME,
                             strlen (ZMX_RESOLVER_SCHEME)) == 0) {
        char *resolved = s_worker_resolve (endpoint);
        zmx_worker_t *self = resolved? zmx_worker_new (resolved, service): NULL;
        free (resolved);
        return self;
    }
    bool list = endpoint && strchr (endpoint, ',');
    if (!list && !zmx__endpoint_valid (endpoint)) {
        zmx_log_error (S_LOG, "invalid broker endpoint \"%s\"", endpoint? endpoint: "(null)");
        return NULL;
    }
    if (!service || !zmx_mdp_service_valid (service, strlen (service))) {
        zmx_log_error (S_LOG, "invalid service name: need 1 to %d printable characters",
                       ZMX_MDP_MAX_SERVICE);
        return NULL;
    }
    zmx_worker_t *self = (zmx_worker_t *) zmalloc (sizeof (zmx_worker_t));
    self->tag = S_TAG;
    self->endpoint = strdup (endpoint);
    self->service = strdup (service);
    self->interval = ZMX_HEARTBEAT_INTERVAL;
    self->liveness = ZMX_HEARTBEAT_LIVENESS;
    self->backoff_initial = 100;
    self->backoff_max = 5000;
    self->backoff = self->backoff_initial;
    self->credit = 1;
    self->version = 1;
    self->pending = zlist_new ();
    self->rcvtimeo = -1;
    self->error = ZMX_OK;
    self->last_warning = INT64_MIN / 2;     //  The first drop is a warning
    self->max_frame = ZMX_BROKER_MAX_FRAME_SIZE;
    if (list && s_worker_links_new (self, endpoint))
        zmx_worker_destroy (&self);
    return self;
}

//  Drop the requests kept for the next recv.
static void
s_worker_purge (zmx_worker_t *self)
{
    zmsg_t *request;
    while ((request = (zmsg_t *) zlist_pop (self->pending)))
        zmsg_destroy (&request);
}

//  Send a HEARTBEAT or DISCONNECT; never blocks (sndtimeo is 0).
static void
s_worker_signal (zmx_worker_t *self, zmx_mdp_command_t command)
{
    zmsg_t *msg = zmx_mdp_worker_signal (self->socket_version, command);
    if (zmsg_send (&msg, self->socket) == 0)
        self->sent = true;
}

void
zmx_worker_destroy (zmx_worker_t **self_p)
{
    assert (self_p);
    zmx_worker_t *self = *self_p;
    if (self) {
        assert (self->tag == S_TAG);
        if (self->socket) {
            //  Tell the broker now rather than letting it time us out, but
            //  don't hold up the process if the broker is gone.
            zsock_set_linger (self->socket, S_DISCONNECT_LINGER);
            s_worker_signal (self, ZMX_MDP_WORKER_DISCONNECT);
            zsock_destroy (&self->socket);
        }
        s_worker_purge (self);
        zlist_destroy (&self->pending);
        for (size_t index = 0; index < self->link_count; index++)
            zmx_worker_destroy (&self->links [index]);
        free (self->links);
        free (self->endpoint);
        free (self->service);
        free (self->curve_cert);
        free (self->curve_server_key);
        self->tag = S_TAG_DEAD;
        free (self);
        *self_p = NULL;
    }
}

void
zmx_worker_set_heartbeat (zmx_worker_t *self, int interval_ms, int liveness)
{
    assert (self && self->tag == S_TAG);
    if (interval_ms < 1 || liveness < 1) {
        zmx_log_warning (S_LOG, "ignoring heartbeat %d ms x %d: both must be positive",
                         interval_ms, liveness);
        return;
    }
    self->interval = interval_ms;
    self->liveness = liveness;
    for (size_t index = 0; index < self->link_count; index++)
        zmx_worker_set_heartbeat (self->links [index], interval_ms, liveness);
}

void
zmx_worker_set_reconnect (zmx_worker_t *self, int initial_ms, int max_ms)
{
    assert (self && self->tag == S_TAG);
    if (initial_ms < 1 || max_ms < initial_ms) {
        zmx_log_warning (S_LOG, "ignoring reconnect %d..%d ms: need 0 < initial <= max",
                         initial_ms, max_ms);
        return;
    }
    self->backoff_initial = initial_ms;
    self->backoff_max = max_ms;
    self->backoff = initial_ms;
    for (size_t index = 0; index < self->link_count; index++)
        zmx_worker_set_reconnect (self->links [index], initial_ms, max_ms);
}

void
zmx_worker_set_credit (zmx_worker_t *self, uint32_t credit)
{
    assert (self && self->tag == S_TAG);
    if (credit < 1 || credit > ZMX_MDP_MAX_CREDIT) {
        zmx_log_warning (S_LOG, "ignoring credit %" PRIu32 ": must be 1..%d", credit,
                         ZMX_MDP_MAX_CREDIT);
        return;
    }
    self->credit = credit;
    for (size_t index = 0; index < self->link_count; index++)
        zmx_worker_set_credit (self->links [index], credit);
}

void
zmx_worker_set_max_frame (zmx_worker_t *self, size_t bytes)
{
    assert (self && self->tag == S_TAG);
    self->max_frame = bytes;
    for (size_t index = 0; index < self->link_count; index++)
        zmx_worker_set_max_frame (self->links [index], bytes);
}

void
zmx_worker_set_version (zmx_worker_t *self, int version)
{
    assert (self && self->tag == S_TAG);
    if (version != 1 && version != 2 && version != ZMX_MDP_PACKED) {
        zmx_log_warning (S_LOG, "ignoring MDP version %d: must be 1, 2 or %d (packed)",
                         version, ZMX_MDP_PACKED);
        return;
    }
    //  Takes effect at the next connect; an open connection keeps its
    //  version, because a broker disconnects a worker that changes it.
    self->version = version;
    for (size_t index = 0; index < self->link_count; index++)
        zmx_worker_set_version (self->links [index], version);
}

int
zmx_worker_set_curve (zmx_worker_t *self, const char *client_cert_path, const char *server_key)
{
    assert (self && self->tag == S_TAG);
    int rc = zmx__curve_client_store (&self->curve_cert, &self->curve_server_key,
                                      client_cert_path, server_key);
    for (size_t index = 0; rc == ZMX_OK && index < self->link_count; index++)
        rc = zmx_worker_set_curve (self->links [index], client_cert_path, server_key);
    return rc;
}

//  Delay for the next reconnect; doubles the one after, up to the cap.
static int
s_worker_next_backoff (zmx_worker_t *self)
{
    int delay = self->backoff;
    self->backoff = delay > self->backoff_max / 2? self->backoff_max: delay * 2;
    return delay;
}

//  Close the connection and reconnect after delay_ms.
static void
s_worker_drop (zmx_worker_t *self, int64_t now, int delay_ms)
{
    zsock_destroy (&self->socket);
    if (zlist_size (self->pending)) {
        zmx_log_debug (S_LOG, "%s: dropped %zu request(s) with their connection",
                       self->service, zlist_size (self->pending));
        s_worker_purge (self);
    }
    self->reconnect_at = now + delay_ms;
}

//  Open a new socket, connect, and register. On failure, retry later.
static void
s_worker_connect (zmx_worker_t *self, int64_t now)
{
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    int rc = socket? 0: -1;
    if (socket) {
        //  Linger 0: what is queued on a dead connection is worthless.
        //  Sends never block; the queues hold the whole credit.
        int hwm = (int) self->credit + S_HWM_MARGIN;
        zsock_set_linger (socket, 0);
        zsock_set_sndtimeo (socket, 0);
        zsock_set_sndhwm (socket, hwm);
        zsock_set_rcvhwm (socket, hwm);
        if (self->curve_cert)
            rc = zmx_security_client_curve (socket, self->curve_cert, self->curve_server_key);
        if (rc == 0 && (rc = zsock_connect (socket, "%s", self->endpoint)) != 0)
            zmx_log_warning (S_LOG, "cannot connect to %s: %s", self->endpoint,
                             zmq_strerror (zmq_errno ()));
    }
    if (rc != 0) {
        zsock_destroy (&socket);
        s_worker_drop (self, now, s_worker_next_backoff (self));
        return;
    }
    self->socket = socket;
    self->rcvtimeo = -1;
    self->connects++;
    self->generation = (uint32_t) self->connects;
    self->socket_version = self->version;
    self->heard = false;
    zmsg_t *ready = zmx_mdp_worker_ready (self->version, self->service, self->credit > 1? self->credit: 0);
    zmsg_send (&ready, self->socket);
    self->sent = true;
    self->heartbeat_at = now + self->interval;
    self->expires_at = now + (int64_t) self->interval * self->liveness;
    zmx_log_debug (S_LOG, "%s: connected to %s (connect %" PRIu64 ")", self->service,
                   self->endpoint, self->connects);
}

//  Frames in front of a REQUEST's body on the open connection: 0.1 has an
//  empty frame before the header, 0.2 does not. The address comes two
//  frames before the body in both. Packed has the address in its header.
static size_t
s_worker_head (zmx_worker_t *self)
{
    return self->socket_version == 1? S_HEAD_01
         : self->socket_version == 2? S_HEAD_02: S_HEAD_PACKED;
}

//  Turn a REQUEST into its body and a stamped reply_to frame, without
//  copying the body frames (a packed inline body is copied into the first).
static zmsg_t *
s_worker_unwrap (zmx_worker_t *self, zmx__frames_t *frames, zmx_mdp_view_t *view,
                 zframe_t **reply_to_p)
{
    zmq_msg_t *address = &frames->head [view->address];
    const byte *bytes = (const byte *) zmq_msg_data (address) + view->address_offset;
    size_t size = view->address_size;
    zframe_t *reply_to = zframe_new (NULL, S_STAMP_SIZE + size);
    byte *data = zframe_data (reply_to);
    memcpy (data, &self->generation, S_STAMP_SIZE);
    memcpy (data + S_STAMP_SIZE, bytes, size);
    *reply_to_p = reply_to;
    zmsg_t *body = zmx__frames_take_tail (frames);
    if (view->inline_body)
        zmsg_pushmem (body, (const byte *) zmq_msg_data (&frames->head [0]) + view->inline_offset,
                      view->inline_size);
    return body;
}

//  Act on one broker message. Returns the request body if it was a
//  REQUEST, else NULL (the caller closes the frames either way).
static zmsg_t *
s_worker_handle (zmx_worker_t *self, zmx__frames_t *frames, int64_t now, zframe_t **reply_to_p)
{
    zmx_mdp_view_t view;
    if (zmx__frames_decode (frames, ZMX_MDP_AT_WORKER, &view) != 0
        || view.version != self->socket_version) {
        zmx_log_debug (S_LOG, "%s: dropped invalid message from broker: %s", self->service,
                       view.command == ZMX_MDP_INVALID? view.error: "wrong MDP version");
        return NULL;
    }
    if (view.command == ZMX_MDP_WORKER_DISCONNECT) {
        //  A broker that disconnects us again before anything else is heard
        //  gets the backoff, so that we never spin on it.
        int delay = ++self->disconnects == 1? 0: s_worker_next_backoff (self);
        zmx_log_info (S_LOG, "%s: broker %s sent DISCONNECT, reconnecting in %d ms",
                      self->service, self->endpoint, delay);
        s_worker_drop (self, now, delay);
        return NULL;
    }
    self->expires_at = now + (int64_t) self->interval * self->liveness;
    self->backoff = self->backoff_initial;
    self->disconnects = 0;
    if (!self->heard) {
        //  The broker has our READY. A return after a logged loss is news.
        zmx_log (self->lost? ZMX_LOG_NOTICE: ZMX_LOG_INFO, S_LOG, "%s: broker %s answered: "
                 "registered", self->service, self->endpoint);
        self->heard = true;
        self->lost = false;
    }
    //  A valid REQUEST always has its address and body where the receive
    //  split the frames; the check keeps that assumption explicit.
    size_t head = s_worker_head (self);
    size_t address = self->socket_version == ZMX_MDP_PACKED? 0: head - 2;
    if (view.command == ZMX_MDP_WORKER_REQUEST && view.address == address
        && view.body == head)
        return s_worker_unwrap (self, frames, &view, reply_to_p);
    if (view.command != ZMX_MDP_WORKER_HEARTBEAT)
        zmx_log_debug (S_LOG, "%s: dropped unexpected %s from broker", self->service,
                       zmx_mdp_command_name (view.command));
    return NULL;
}

//  Heartbeat and liveness clock: runs after every receive or wait.
static void
s_worker_tick (zmx_worker_t *self, int64_t now)
{
    if (now >= self->expires_at) {
        int delay = s_worker_next_backoff (self);
        //  Nothing at all on this connection: no broker there, or not yet
        if (!self->heard)
            zmx_log_warning (S_LOG, "%s: broker %s is not answering (nothing heard in %d ms); "
                             "retrying in %d ms", self->service, self->endpoint,
                             self->interval * self->liveness, delay);
        else
            zmx_log_warning (S_LOG, "%s: broker %s silent for %d ms, reconnecting in %d ms",
                             self->service, self->endpoint, self->interval * self->liveness,
                             delay);
        self->lost = true;
        s_worker_drop (self, now, delay);
        return;
    }
    if (now >= self->heartbeat_at) {
        if (!self->sent)
            s_worker_signal (self, ZMX_MDP_WORKER_HEARTBEAT);
        self->sent = false;
        self->heartbeat_at = now + self->interval;
    }
}

//  Receive one message, waiting up to wait_ms, and act on it. Returns 1 if
//  a message was handled (*request_p set if it was a request), 0 if none
//  came, -1 if interrupted or the context is closing.
static int
s_worker_receive (zmx_worker_t *self, int wait_ms, zmsg_t **request_p, zframe_t **reply_to_p)
{
    if (wait_ms != 0 && self->rcvtimeo != wait_ms) {
        zsock_set_rcvtimeo (self->socket, wait_ms);
        self->rcvtimeo = wait_ms;
    }
    zmx__frames_t frames;
    if (zmx__frames_recv (&frames, self->socket, s_worker_head (self), wait_ms == 0? ZMQ_DONTWAIT: 0) != 0)
        return errno == EAGAIN? 0: -1;
    int64_t now = zclock_mono ();
    *request_p = s_worker_handle (self, &frames, now, reply_to_p);
    zmx__frames_close (&frames);
    if (self->socket)
        s_worker_tick (self, now);
    return 1;
}

//  Milliseconds from now until the next thing the worker must do.
static int
s_worker_wait (zmx_worker_t *self, int64_t now, int64_t deadline)
{
    int64_t wake = deadline;
    if (self->socket) {
        wake = self->heartbeat_at < wake? self->heartbeat_at: wake;
        wake = self->expires_at < wake? self->expires_at: wake;
    }
    else
        wake = self->reconnect_at < wake? self->reconnect_at: wake;
    if (wake <= now)
        return 0;
    return wake - now > INT_MAX? INT_MAX: (int) (wake - now);
}

//  -------------------------------------------------------------------------
//  Several brokers: one link each, all registered

//  Put the link's index in front of the reply_to frame it gave.
static zframe_t *
s_worker_links_stamp (size_t index, zframe_t **reply_to_p)
{
    zframe_t *inner = *reply_to_p;
    zframe_t *outer = zframe_new (NULL, 1 + zframe_size (inner));
    byte *data = zframe_data (outer);
    data [0] = (byte) index;
    memcpy (data + 1, zframe_data (inner), zframe_size (inner));
    zframe_destroy (reply_to_p);
    return outer;
}

//  Wait on the sockets of every connected link until one is readable or
//  the earliest timer of any link (or the deadline) is due.
static int
s_worker_links_poll (zmx_worker_t *self, int64_t now, int64_t deadline)
{
    zmq_pollitem_t items [S_MAX_LINKS];
    int count = 0;
    int wait = INT_MAX;
    for (size_t index = 0; index < self->link_count; index++) {
        zmx_worker_t *link = self->links [index];
        int link_wait = s_worker_wait (link, now, deadline);
        wait = link_wait < wait? link_wait: wait;
        if (link->socket) {
            zmq_pollitem_t item = { zsock_resolve (link->socket), 0, ZMQ_POLLIN, 0 };
            items [count++] = item;
        }
    }
    if (count == 0) {
        zclock_sleep (wait);
        return 0;
    }
    return zmq_poll (items, count, wait) < 0 && zmq_errno () != EINTR? -1: 0;
}

//  zmx_worker_recv with links: look at each link without waiting, starting
//  after the one that gave the last request (so that no broker starves
//  the others), then wait on all of them.
static zmsg_t *
s_worker_links_recv (zmx_worker_t *self, int timeout_ms, zframe_t **reply_to_p)
{
    int64_t deadline = timeout_ms < 0? INT64_MAX: zclock_mono () + timeout_ms;
    bool interrupted = false;
    while (!interrupted && !zsys_interrupted) {
        for (size_t turn = 0; turn < self->link_count && !interrupted; turn++) {
            size_t index = (self->next_link + turn) % self->link_count;
            zframe_t *reply_to = NULL;
            zmsg_t *request = zmx_worker_recv (self->links [index], 0, &reply_to);
            if (request) {
                self->next_link = (index + 1) % self->link_count;
                *reply_to_p = s_worker_links_stamp (index, &reply_to);
                return request;
            }
            interrupted = self->links [index]->error == ZMX_ETERM;
        }
        int64_t now = zclock_mono ();
        if (!interrupted && now >= deadline) {
            self->error = ZMX_ETIMEDOUT;
            return NULL;
        }
        if (!interrupted)
            interrupted = s_worker_links_poll (self, now, deadline) != 0;
    }
    self->error = ZMX_ETERM;
    return NULL;
}

//  zmx_worker_send with links: the first reply_to byte names the link.
static int
s_worker_links_send (zmx_worker_t *self, zmsg_t **reply_p, zframe_t **reply_to_p)
{
    zframe_t *outer = *reply_to_p;
    *reply_to_p = NULL;
    size_t index = outer && zframe_size (outer) > 0? zframe_data (outer) [0]: S_MAX_LINKS;
    if (index >= self->link_count) {
        zmsg_destroy (reply_p);
        zframe_destroy (&outer);
        return ZMX_EINVAL;
    }
    zframe_t *inner = zframe_new (zframe_data (outer) + 1, zframe_size (outer) - 1);
    zframe_destroy (&outer);
    return zmx_worker_send (self->links [index], reply_p, &inner);
}

//  zmx_worker_heartbeat with links: OK if any link is connected.
static int
s_worker_links_heartbeat (zmx_worker_t *self)
{
    int rc = ZMX_EAGAIN;
    for (size_t index = 0; index < self->link_count; index++) {
        int link_rc = zmx_worker_heartbeat (self->links [index]);
        if (link_rc == ZMX_ETERM)
            return ZMX_ETERM;
        if (link_rc == ZMX_OK)
            rc = ZMX_OK;
    }
    return rc;
}

zmsg_t *
zmx_worker_recv (zmx_worker_t *self, int timeout_ms, zframe_t **reply_to_p)
{
    assert (self && self->tag == S_TAG);
    assert (reply_to_p);
    *reply_to_p = NULL;
    if (self->links)
        return s_worker_links_recv (self, timeout_ms, reply_to_p);
    zmsg_t *request = NULL;
    if (zlist_size (self->pending) && !zsys_interrupted) {
        request = (zmsg_t *) zlist_pop (self->pending);
        *reply_to_p = zmsg_pop (request);
        return request;
    }
    int rc = 0;
    if (self->socket && !zsys_interrupted)
        rc = s_worker_receive (self, 0, &request, reply_to_p);
    if (request)
        return request;

    int64_t now = zclock_mono ();
    int64_t deadline = timeout_ms < 0? INT64_MAX: now + timeout_ms;
    while (rc >= 0 && !zsys_interrupted) {
        if (!self->socket && now >= self->reconnect_at)
            s_worker_connect (self, now);
        int wait = s_worker_wait (self, now, deadline);
        if (self->socket) {
            rc = s_worker_receive (self, wait, &request, reply_to_p);
            if (request)
                return request;
            now = zclock_mono ();
            if (rc == 0 && self->socket)
                s_worker_tick (self, now);
        }
        else {
            zclock_sleep (wait);
            now = zclock_mono ();
        }
        if (rc >= 0 && now >= deadline) {
            self->error = ZMX_ETIMEDOUT;
            return NULL;
        }
    }
    self->error = ZMX_ETERM;
    return NULL;
}

//  A request beyond our credit came while the caller works: drop it,
//  count it, and warn at most once a second (see the design notes).
static void
s_worker_overflow (zmx_worker_t *self, zmsg_t **request_p, zframe_t **reply_to_p)
{
    zmsg_destroy (request_p);
    zframe_destroy (reply_to_p);
    self->dropped++;
    zmx_log (zmx__log_limited_level (zclock_mono (), &self->last_warning), S_LOG,
             "%s: broker %s sent more requests than our credit of %" PRIu32 ": dropped "
             "(%" PRIu64 " so far)", self->service, self->endpoint, self->credit,
             self->dropped);
}

int
zmx_worker_heartbeat (zmx_worker_t *self)
{
    assert (self && self->tag == S_TAG);
    if (self->links)
        return s_worker_links_heartbeat (self);
    //  Bounded by what the receive queue holds, so that a broker that keeps
    //  sending cannot hold the caller here.
    uint32_t budget = self->credit + S_HWM_MARGIN;
    int rc = 1;
    while (self->socket && rc == 1 && budget-- > 0 && !zsys_interrupted) {
        zmsg_t *request = NULL;
        zframe_t *reply_to = NULL;
        rc = s_worker_receive (self, 0, &request, &reply_to);
        if (request && zlist_size (self->pending) >= self->credit)
            s_worker_overflow (self, &request, &reply_to);
        else
        if (request) {
            zmsg_prepend (request, &reply_to);
            zlist_append (self->pending, request);
        }
    }
    if (rc < 0 || zsys_interrupted)
        return ZMX_ETERM;
    if (self->socket)
        s_worker_tick (self, zclock_mono ());
    return self->socket? ZMX_OK: ZMX_EAGAIN;
}

//  Send a packed FINAL: ZMXW01 0x04 flags addr_len addr [inline body],
//  then the body frames not inlined. Consumes *reply_p. Returns 0 or -1.
static int
s_worker_send_packed (zmx_worker_t *self, zmsg_t **reply_p, zframe_t *reply_to)
{
    zmsg_t *reply = *reply_p;
    zframe_t *first = zmsg_first (reply);
    bool inline_body = !first || zframe_size (first) <= ZMX_PACKED_INLINE_MAX;
    size_t inline_size = first && inline_body? zframe_size (first): 0;
    const byte *address = zframe_data (reply_to) + S_STAMP_SIZE;
    size_t address_size = zframe_size (reply_to) - S_STAMP_SIZE;
    if (address_size == 0 || address_size > ZMX_MDP_MAX_ADDRESS) {
        zmsg_destroy (reply_p);
        return -1;
    }
    zmq_msg_t header;
    zmq_msg_init_size (&header, zmx_mdp_packed_size (ZMX_MDP_WORKER_FINAL, address_size,
                                                     inline_size));
    byte *bytes = (byte *) zmq_msg_data (&header);
    size_t at = zmx_mdp_packed_write (bytes, ZMX_MDP_WORKER_FINAL, inline_body, address,
                                      address_size, 0);
    if (inline_size)
        memcpy (bytes + at, zframe_data (first), inline_size);
    if (first && inline_body) {
        zmsg_remove (reply, first);
        zframe_destroy (&first);
    }
    bool more = zmsg_size (reply) > 0;
    if (zmq_msg_send (&header, zsock_resolve (self->socket), more? ZMQ_SNDMORE: 0) < 0) {
        zmq_msg_close (&header);
        zmsg_destroy (reply_p);
        return -1;
    }
    int rc = more? zmsg_send (reply_p, self->socket): 0;
    zmsg_destroy (reply_p);
    return rc;
}

//  Send a REPLY: "" MDPW01 0x03 address "" body... (0.1), or a FINAL:
//  MDPW02 0x04 address "" body... (0.2), or a packed FINAL. Only the first
//  frame can fail for a full queue (sndtimeo is 0), and then nothing went
//  out. Consumes *reply_p. Returns 0 or -1.
static int
s_worker_send_reply (zmx_worker_t *self, zmsg_t **reply_p, zframe_t *reply_to)
{
    if (self->socket_version == ZMX_MDP_PACKED)
        return s_worker_send_packed (self, reply_p, reply_to);
    bool v1 = self->socket_version == 1;
    unsigned char command = v1? ZMX_MDPW01_REPLY: ZMX_MDPW02_FINAL;
    zsock_t *socket = self->socket;
    if ((v1 && zmx__frames_send_more (socket, "", 0) != 0)
        || zmx__frames_send_more (socket, v1? ZMX_MDPW01: ZMX_MDPW02, 6) != 0
        || zmx__frames_send_more (socket, &command, 1) != 0
        || zmx__frames_send_more (socket, zframe_data (reply_to) + S_STAMP_SIZE,
                                  zframe_size (reply_to) - S_STAMP_SIZE) != 0
        || zmx__frames_send_more (socket, "", 0) != 0) {
        zmsg_destroy (reply_p);
        return -1;
    }
    return zmx__frames_send_body (socket, reply_p);
}

//  Size of the largest frame of `reply` if one is over our max frame
//  size, else 0.
static size_t
s_worker_oversize (zmx_worker_t *self, zmsg_t *reply)
{
    for (zframe_t *frame = reply? zmsg_first (reply): NULL; frame; frame = zmsg_next (reply))
        if (zframe_size (frame) > self->max_frame)
            return zframe_size (frame);
    return 0;
}

int
zmx_worker_send_error (zmx_worker_t *self, zframe_t **reply_to_p, const char *reason)
{
    assert (self && self->tag == S_TAG);
    assert (reply_to_p);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, ZMX_WORKER_ERROR);
    zmsg_addstr (reply, reason? reason: "");
    return zmx_worker_send (self, &reply, reply_to_p);
}

int
zmx_worker_send (zmx_worker_t *self, zmsg_t **reply_p, zframe_t **reply_to_p)
{
    assert (self && self->tag == S_TAG);
    assert (reply_p);
    assert (reply_to_p);
    size_t oversize = s_worker_oversize (self, *reply_p);
    if (oversize) {
        //  The broker would cut the connection and the client would wait
        //  out every retry for a reply that can never pass: say so instead
        char reason [128];
        snprintf (reason, sizeof reason, "reply frame of %zu bytes is over the limit of %zu",
                  oversize, self->max_frame);
        zmx_log_error (S_LOG, "%s: %s: not sent, the client gets an error reply",
                       self->service, reason);
        zmsg_destroy (reply_p);
        int rc = zmx_worker_send_error (self, reply_to_p, reason);
        return rc == ZMX_OK? ZMX_ENOMEM: rc;
    }
    if (self->links)
        return s_worker_links_send (self, reply_p, reply_to_p);
    zmsg_t *reply = *reply_p;
    zframe_t *reply_to = *reply_to_p;
    *reply_p = NULL;
    *reply_to_p = NULL;

    int rc = ZMX_EINVAL;
    if (reply && reply_to && zframe_size (reply_to) >= S_STAMP_SIZE) {
        uint32_t generation;
        memcpy (&generation, zframe_data (reply_to), S_STAMP_SIZE);
        rc = ZMX_EAGAIN;
        if (self->socket && generation == self->generation
            && s_worker_send_reply (self, &reply, reply_to) == 0) {
            self->sent = true;
            rc = ZMX_OK;
        }
    }
    if (rc == ZMX_EAGAIN)
        zmx_log_debug (S_LOG, "%s: reply dropped, its broker connection is gone",
                       self->service);
    zmsg_destroy (&reply);
    zframe_destroy (&reply_to);
    return rc;
}

int
zmx_worker_error (zmx_worker_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->error;
}

uint64_t
zmx_worker_connects (zmx_worker_t *self)
{
    assert (self && self->tag == S_TAG);
    uint64_t connects = self->connects;
    for (size_t index = 0; index < self->link_count; index++)
        connects += self->links [index]->connects;
    return connects;
}

bool
zmx_worker_connected (zmx_worker_t *self)
{
    assert (self && self->tag == S_TAG);
    bool connected = self->socket && self->heard;
    for (size_t index = 0; index < self->link_count; index++)
        connected |= zmx_worker_connected (self->links [index]);
    return connected;
}

uint64_t
zmx_worker_dropped (zmx_worker_t *self)
{
    assert (self && self->tag == S_TAG);
    uint64_t dropped = self->dropped;
    for (size_t index = 0; index < self->link_count; index++)
        dropped += self->links [index]->dropped;
    return dropped;
}

zsock_t *
zmx_worker_socket (zmx_worker_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->socket;
}
