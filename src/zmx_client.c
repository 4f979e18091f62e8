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
    - Replies are checked with the codec: anything that is not an MDP/0.1
      REPLY for the service asked is dropped and logged at debug level, and
      the wait goes on until the attempt's deadline. Asynchronous replies
      cannot be matched to one request, so the client counts requests in
      flight per service and drops replies for a service it has none for.
    - Asynchronous sends block for at most the request timeout when the
      socket's queue is full (the broker is gone or slow), and then fail
      with ZMX_ETIMEDOUT rather than hanging the caller.
    =========================================================================
*/
#include "zmx_classes.h"

#define S_TAG       0x7a6d0043  //  "zm" 0x0043: live zmx_client_t
#define S_TAG_DEAD  0xDeadBeef  //  Written on destroy
#define S_LOG       "client"
#define S_HEAD      3           //  "" MDPC01 service
#define S_SERVICE   2           //  Index of the service frame

struct _zmx_client_t {
    uint32_t tag;               //  S_TAG while alive
    char **endpoints;           //  Broker endpoints to fail over between
    size_t endpoint_count;      //  Entries in endpoints
    size_t current;             //  Index of the endpoint in use
    zsock_t *socket;            //  DEALER to the current broker, or NULL
    int timeout;                //  Per-attempt timeout, msec
    int retries;                //  Attempts after the first
    char *curve_cert;           //  Client certificate path, NULL = no CURVE
    char *curve_server_key;     //  Server key or its certificate path
    zhashx_t *pending;          //  Service -> async requests in flight
    int rcvtimeo;               //  Receive timeout currently set on socket
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
    self->error = ZMX_OK;
    self->pending = zhashx_new ();
    if (!s_client_parse (self, endpoints))
        zmx_client_destroy (&self);
    return self;
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
zmx_client_set_curve (zmx_client_t *self, const char *client_cert_path, const char *server_key)
{
    assert (self && self->tag == S_TAG);
    return zmx__curve_client_store (&self->curve_cert, &self->curve_server_key,
                                    client_cert_path, server_key);
}

//  Open the socket to the current endpoint. Returns ZMX_OK, ZMX_ESECURITY
//  or ZMX_EADDR.
static int
s_client_connect (zmx_client_t *self)
{
    const char *endpoint = self->endpoints [self->current];
    zsock_t *socket = zsock_new (ZMQ_DEALER);
    if (!socket)
        return ZMX_EADDR;
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
    if (rc == ZMX_OK) {
        self->socket = socket;
        self->rcvtimeo = -1;
    }
    else
        zsock_destroy (&socket);
    return rc;
}

//  Give up on the current broker: drop the socket, and anything still
//  queued on it, and use the next endpoint from now on.
static void
s_client_failover (zmx_client_t *self)
{
    zsock_destroy (&self->socket);
    zhashx_purge (self->pending);
    self->current = (self->current + 1) % self->endpoint_count;
    if (self->endpoint_count > 1)
        zmx_log_info (S_LOG, "failing over to %s", self->endpoints [self->current]);
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
    return zmx__frames_recv (frames, self->socket, S_HEAD, wait_ms == 0? ZMQ_DONTWAIT: 0);
}

//  Count an asynchronous request to `service` in flight (delta 1), or
//  take one back (delta -1). Returns false if there was none to take.
static bool
s_client_pending (zmx_client_t *self, const char *service, int delta)
{
    uintptr_t count = (uintptr_t) zhashx_lookup (self->pending, service);
    if (delta < 0 && count == 0)
        return false;
    count += delta;
    //  Counts are stored as the item pointer; an entry at zero is removed
    if (count)
        zhashx_update (self->pending, service, (void *) count);
    else
        zhashx_delete (self->pending, service);
    return true;
}

//  True if the service name (`size` bytes, not terminated) has an
//  asynchronous request in flight; takes that request off the count.
static bool
s_client_pending_take (zmx_client_t *self, const void *name, size_t size)
{
    char service [ZMX_MDP_MAX_SERVICE + 1];
    if (size > ZMX_MDP_MAX_SERVICE)
        return false;
    memcpy (service, name, size);
    service [size] = 0;
    return s_client_pending (self, service, -1);
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
    //  split the frames; the check keeps that assumption explicit.
    bool valid = zmx__frames_decode (frames, ZMX_MDP_AT_CLIENT, &view) == 0
                 && view.version == 1 && view.command == ZMX_MDP_CLIENT_REPLY
                 && view.service == S_SERVICE && view.body == S_HEAD;
    const char *reason = view.command == ZMX_MDP_INVALID? view.error: "not an MDP/0.1 REPLY";
    if (valid) {
        zmq_msg_t *service = &frames->head [S_SERVICE];
        const char *name = (const char *) zmq_msg_data (service);
        size_t size = zmq_msg_size (service);
        if (expected? size != strlen (expected) || memcmp (name, expected, size) != 0
                    : !s_client_pending_take (self, name, size)) {
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
    return zmx__frames_take_tail (frames);
}

//  Send a REQUEST: "" MDPC01 service body... If `keep`, the body stays
//  with the caller for a resend; if not, *body_p is consumed on every
//  path. Returns 0 or -1 (errno EAGAIN: the send queue stayed full for
//  the send timeout; nothing went out).
static int
s_client_send_request (zmx_client_t *self, const char *service, zmsg_t **body_p, bool keep)
{
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
//  ZMX_ESECURITY, ZMX_EADDR.
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
        zmx__frames_close (&frames);
        if (*reply_p)
            return ZMX_OK;
        left = deadline - zclock_mono ();
        if (left <= 0)
            return ZMX_ETIMEDOUT;
    }
    return ZMX_ETERM;
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
        rc = s_client_attempt (self, service, request, &reply);
        if (rc == ZMX_OK || rc == ZMX_ETERM || rc == ZMX_ESECURITY)
            break;
        zmx_log_debug (S_LOG, "%s: no reply from %s within %d ms (attempt %d of %d)", service,
                       self->endpoints [self->current], self->timeout, attempt + 1,
                       self->retries + 1);
        s_client_failover (self);
    }
    //  An interrupted request may still be answered: never let that reply
    //  meet the next request.
    if (rc != ZMX_OK) {
        zsock_destroy (&self->socket);
        zhashx_purge (self->pending);
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
                s_client_pending (self, service, 1);
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
