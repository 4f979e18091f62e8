/*  =========================================================================
    zmx_bstar - Binary Star: a primary/backup pair with one active peer

    Design notes:

    - The state machine is a table of small actions indexed by state and
      event (s_table); zmx_bstar_step is the whole of it, free of sockets
      and clocks so that tests can drive every cell.
    - The actor owns the PUB, the SUB and the FSM. The object talks to it
      over the pipe, one synchronous command per call, so the state lives
      in one thread only. Notifications go over a separate PAIR (made by
      zsys_create_pipe), so that replies on the pipe never interleave
      with them; the actor sends them without blocking and counts what a
      full queue drops.
    - Peer expiry is computed, not stored: last time heard + 2 intervals,
      so a new heartbeat interval applies at once. At start "last heard"
      is the start time: a primary thus waits one expiry before it serves
      alone, in case the backup is active after a failover (the peer has
      then had time to tell us).
    - Before deciding on a client request the actor drains the SUB, so a
      state message already queued is never ignored by the decision.
    - State messages are published on every heartbeat and at once on a
      state change (convergence in one network trip instead of one
      interval). A FAILED node stops publishing, as the pattern's server
      would exit.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx/zmx_bstar.h"      //  Until include/zmx.h lists it

#define S_TAG           0x7a6d0062  //  "zm" 0x0062: live zmx_bstar_t
#define S_TAG_DEAD      0xDeadBeef  //  Written on destroy
#define S_LOG           "bstar"
#define S_MAX_MSG_SIZE  256         //  SUB: larger frames break the connection
#define S_DRAIN_MAX     1000        //  State messages handled per wake-up

//  Pipe commands between the object and its actor
#define S_REQUEST       "REQUEST"
#define S_STATE         "STATE"
#define S_HEARTBEAT     "HEARTBEAT"
#define S_STATS         "STATS"

//  -------------------------------------------------------------------------
//  Codec

int
zmx_bstar_decode (const zmx_bstar_frame_t *frames, size_t count,
                  zmx_bstar_state_t *state, const char **error)
{
    assert (state && error);
    *error = NULL;
    size_t protocol = strlen (ZMX_BSTAR_PROTOCOL);
    if (!frames || count != 2)
        *error = "not two frames";
    else
    if (frames [0].size != protocol || memcmp (frames [0].data, ZMX_BSTAR_PROTOCOL, protocol))
        *error = "not " ZMX_BSTAR_PROTOCOL;
    else
    if (frames [1].size != 1)
        *error = "state frame is not one byte";
    else {
        int value = ((const uint8_t *) frames [1].data) [0];
        if (value < ZMX_BSTAR_PRIMARY || value > ZMX_BSTAR_PASSIVE)
            *error = "state out of range";
        else
            *state = (zmx_bstar_state_t) value;
    }
    return *error? -1: 0;
}

zmsg_t *
zmx_bstar_encode (zmx_bstar_state_t state)
{
    assert (state >= ZMX_BSTAR_PRIMARY && state <= ZMX_BSTAR_PASSIVE);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, ZMX_BSTAR_PROTOCOL);
    uint8_t byte = (uint8_t) state;
    zmsg_addmem (msg, &byte, 1);
    return msg;
}

const char *
zmx_bstar_state_name (zmx_bstar_state_t state)
{
    switch (state) {
        case ZMX_BSTAR_PRIMARY: return "PRIMARY";
        case ZMX_BSTAR_BACKUP:  return "BACKUP";
        case ZMX_BSTAR_ACTIVE:  return "ACTIVE";
        case ZMX_BSTAR_PASSIVE: return "PASSIVE";
        case ZMX_BSTAR_FAILED:  return "FAILED";
    }
    return "?";
}

//  -------------------------------------------------------------------------
//  State machine: one action per (state, event) cell

typedef struct {
    zmx_bstar_state_t state;
    bool peer_expired;
    const char *reason;
} s_fsm_t;

typedef zmx_bstar_verdict_t (s_action_fn) (s_fsm_t *fsm);

static zmx_bstar_verdict_t
s_ignore (s_fsm_t *fsm)
{
    return ZMX_BSTAR_OK;
}

static zmx_bstar_verdict_t
s_to_active (s_fsm_t *fsm)
{
    fsm->state = ZMX_BSTAR_ACTIVE;
    return ZMX_BSTAR_OK;
}

static zmx_bstar_verdict_t
s_to_passive (s_fsm_t *fsm)
{
    fsm->state = ZMX_BSTAR_PASSIVE;
    return ZMX_BSTAR_OK;
}

static zmx_bstar_verdict_t
s_serve (s_fsm_t *fsm)
{
    return ZMX_BSTAR_OK;
}

//  Backup before it has heard the primary: a backup never serves alone,
//  or a backup started while the primary is unreachable would be a
//  second active.
static zmx_bstar_verdict_t
s_reject_backup (s_fsm_t *fsm)
{
    fsm->reason = "backup has not heard its peer yet";
    return ZMX_BSTAR_REJECT;
}

//  Primary at start, or passive peer: take over only once the peer is
//  gone. This is the rule that prevents split brain when only the link
//  between the peers broke: no client request, no takeover.
static zmx_bstar_verdict_t
s_serve_once_expired (s_fsm_t *fsm)
{
    if (fsm->peer_expired)
        return s_to_active (fsm);
    fsm->reason = fsm->state == ZMX_BSTAR_PRIMARY? "primary waits for its peer's state"
                                                 : "peer is alive and active";
    return ZMX_BSTAR_REJECT;
}

static zmx_bstar_verdict_t
s_same_role (s_fsm_t *fsm)
{
    fsm->reason = fsm->state == ZMX_BSTAR_PRIMARY? "both peers are configured primary"
                                                 : "both peers are configured backup";
    return ZMX_BSTAR_OK;
}

static zmx_bstar_verdict_t
s_dual_active (s_fsm_t *fsm)
{
    fsm->state = ZMX_BSTAR_FAILED;
    fsm->reason = "dual active: the peer is active too (the link between the peers "
                  "broke while clients reached both, or both are configured primary)";
    return ZMX_BSTAR_FATAL;
}

static zmx_bstar_verdict_t
s_dual_passive (s_fsm_t *fsm)
{
    fsm->state = ZMX_BSTAR_FAILED;
    fsm->reason = "dual passive: neither peer is active";
    return ZMX_BSTAR_FATAL;
}

#define S_STATES 4
#define S_EVENTS 5

//  Rows: PRIMARY, BACKUP, ACTIVE, PASSIVE. Columns: PEER_PRIMARY,
//  PEER_BACKUP, PEER_ACTIVE, PEER_PASSIVE, CLIENT_REQUEST.
static s_action_fn *const s_table [S_STATES][S_EVENTS] = {
    { s_same_role, s_to_active, s_to_passive, s_ignore,       s_serve_once_expired },
    { s_ignore,    s_same_role, s_to_passive, s_ignore,       s_reject_backup },
    { s_ignore,    s_ignore,    s_dual_active, s_ignore,      s_serve },
    { s_to_active, s_to_active, s_ignore,     s_dual_passive, s_serve_once_expired }
};

zmx_bstar_verdict_t
zmx_bstar_step (zmx_bstar_state_t *state, zmx_bstar_event_t event, bool peer_expired,
                const char **reason)
{
    assert (state);
    assert (*state >= ZMX_BSTAR_PRIMARY && *state <= ZMX_BSTAR_FAILED);
    assert (event >= ZMX_BSTAR_PEER_PRIMARY && event <= ZMX_BSTAR_CLIENT_REQUEST);
    s_fsm_t fsm = { *state, peer_expired, NULL };
    zmx_bstar_verdict_t verdict = ZMX_BSTAR_OK;
    if (*state == ZMX_BSTAR_FAILED) {
        if (event == ZMX_BSTAR_CLIENT_REQUEST) {
            fsm.reason = "stopped after a fatal conflict";
            verdict = ZMX_BSTAR_REJECT;
        }
    }
    else
        verdict = (s_table [*state - 1][event - 1]) (&fsm);
    *state = fsm.state;
    if (reason)
        *reason = fsm.reason;
    return verdict;
}

//  -------------------------------------------------------------------------
//  Actor

typedef struct {
    zmx_security_t *security;
    bool primary;
    const char *local;
    const char *remote;
    const char *client_cert;    //  CURVE client certificate for the SUB, or NULL
    const char *server_key;     //  The peer's server key, or NULL
    zsock_t *notify;            //  Backend of the notification pipe (given away)
} s_args_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    zsock_t *pub;               //  Our state, to the peer
    zsock_t *sub;               //  The peer's state
    zsock_t *notify;            //  State-change notifications to the object
    const char *role;           //  "primary" or "backup", for log lines
    zmx_bstar_state_t state;    //  FSM state
    int heartbeat;              //  Interval, msec
    int64_t peer_heard;         //  Last valid message from the peer (or start)
    int64_t send_at;            //  Next heartbeat
    bool warned;                //  Misconfiguration logged already
    zmx_bstar_stats_t stats;
    int64_t last_warning;       //  Rate limit of warnings from peer input
    bool terminated;
} s_self_t;

static bool
s_peer_expired (s_self_t *self)
{
    int64_t expiry = self->peer_heard + (int64_t) ZMX_BSTAR_EXPIRY_FACTOR * self->heartbeat;
    return zclock_mono () >= expiry;
}

static void
s_publish (s_self_t *self)
{
    if (self->state == ZMX_BSTAR_FAILED)
        return;
    zmsg_t *msg = zmx_bstar_encode (self->state);
    //  PUB never blocks: at its HWM it drops, which a heartbeat may
    if (zmsg_send (&msg, self->pub) == 0)
        self->stats.heartbeats_sent++;
    zmsg_destroy (&msg);
    self->send_at = zclock_mono () + self->heartbeat;
}

static void
s_notify (s_self_t *self, const char *reason)
{
    int rc;
    if (self->state == ZMX_BSTAR_ACTIVE)
        rc = zstr_send (self->notify, ZMX_BSTAR_NOTIFY_ACTIVE);
    else
    if (self->state == ZMX_BSTAR_PASSIVE)
        rc = zstr_send (self->notify, ZMX_BSTAR_NOTIFY_PASSIVE);
    else
    if (self->state == ZMX_BSTAR_FAILED)
        rc = zstr_sendx (self->notify, ZMX_BSTAR_NOTIFY_FAILED, reason? reason: "", NULL);
    else
        return;
    if (rc)
        self->stats.notifications_dropped++;
}

//  Run one event through the FSM and carry out what changed.
static zmx_bstar_verdict_t
s_apply (s_self_t *self, zmx_bstar_event_t event)
{
    zmx_bstar_state_t before = self->state;
    const char *reason = NULL;
    zmx_bstar_verdict_t verdict = zmx_bstar_step (&self->state, event, s_peer_expired (self),
                                                  &reason);
    if (verdict == ZMX_BSTAR_FATAL)
        zmx_log_error (S_LOG, "%s: FATAL: %s; this node stops serving and publishing",
                       self->role, reason);
    else
    if (verdict == ZMX_BSTAR_OK && reason && !self->warned) {
        zmx_log_warning (S_LOG, "%s: misconfiguration: %s", self->role, reason);
        self->warned = true;
    }
    if (self->state != before) {
        self->stats.state_changes++;
        zmx_log_notice (S_LOG, "%s: %s -> %s on %s", self->role, zmx_bstar_state_name (before),
                        zmx_bstar_state_name (self->state),
                        //  PEER_x events carry the peer's state value
                        event == ZMX_BSTAR_CLIENT_REQUEST? "client request (peer expired)"
                        : zmx_bstar_state_name ((zmx_bstar_state_t) event));
        s_notify (self, reason);
        //  Tell the peer now rather than at the next heartbeat
        s_publish (self);
    }
    return verdict;
}

static void
s_handle_state_msg (s_self_t *self, zmsg_t *msg)
{
    zmx_bstar_frame_t frames [2];
    size_t count = zmsg_size (msg);
    zframe_t *frame = zmsg_first (msg);
    for (size_t index = 0; index < count && index < 2; index++) {
        frames [index].data = zframe_data (frame);
        frames [index].size = zframe_size (frame);
        frame = zmsg_next (msg);
    }
    zmx_bstar_state_t peer;
    const char *error;
    if (zmx_bstar_decode (frames, count, &peer, &error)) {
        self->stats.malformed++;
        zmx__log_limited (S_LOG, &self->last_warning, "%s: dropped malformed state message (%"
                          PRIu64 " so far): %s", self->role, self->stats.malformed, error);
        return;
    }
    self->stats.heartbeats_received++;
    self->peer_heard = zclock_mono ();
    s_apply (self, (zmx_bstar_event_t) peer);
}

static void
s_drain_sub (s_self_t *self)
{
    for (int handled = 0; handled < S_DRAIN_MAX; handled++) {
        if (!(zsock_events (self->sub) & ZMQ_POLLIN))
            break;
        zmsg_t *msg = zmsg_recv (self->sub);
        if (!msg)
            break;
        s_handle_state_msg (self, msg);
        zmsg_destroy (&msg);
    }
}

static void
s_handle_request (s_self_t *self)
{
    s_drain_sub (self);
    zmx_bstar_verdict_t verdict = s_apply (self, ZMX_BSTAR_CLIENT_REQUEST);
    if (verdict == ZMX_BSTAR_OK)
        self->stats.requests_accepted++;
    else
        self->stats.requests_rejected++;
    zsock_send (self->pipe, "i", verdict == ZMX_BSTAR_OK? 0: -1);
}

static void
s_handle_heartbeat (s_self_t *self, const char *value)
{
    char *end = NULL;
    long msec = value? strtol (value, &end, 10): 0;
    if (!value || *end || msec < ZMX_BSTAR_HEARTBEAT_MIN || msec > ZMX_BSTAR_HEARTBEAT_MAX)
        zsock_send (self->pipe, "i", ZMX_EINVAL);
    else {
        self->heartbeat = (int) msec;
        s_publish (self);
        zsock_send (self->pipe, "i", ZMX_OK);
    }
}

static void
s_handle_pipe (s_self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    char *command = msg? zmsg_popstr (msg): NULL;
    if (!command || streq (command, ZMX_SERVICE_TERM))
        self->terminated = true;
    else
    if (streq (command, S_REQUEST))
        s_handle_request (self);
    else
    if (streq (command, S_STATE)) {
        s_drain_sub (self);
        zsock_send (self->pipe, "i", (int) self->state);
    }
    else
    if (streq (command, S_HEARTBEAT)) {
        char *value = zmsg_popstr (msg);
        s_handle_heartbeat (self, value);
        zstr_free (&value);
    }
    else
    if (streq (command, S_STATS)) {
        const zmx_bstar_stats_t *s = &self->stats;
        zsock_send (self->pipe, "8888888", s->state_changes, s->heartbeats_sent,
                    s->heartbeats_received, s->malformed, s->requests_accepted,
                    s->requests_rejected, s->notifications_dropped);
    }
    else
        zmx_service_reply_unknown (self->pipe, command);
    zstr_free (&command);
    zmsg_destroy (&msg);
}

//  Make the sockets; 0, or -1 with *reason set.
static int
s_self_open (s_self_t *self, s_args_t *args, const char **reason)
{
    self->pub = zmx_security_bind (args->security, ZMQ_PUB, args->local);
    if (!self->pub) {
        *reason = "cannot bind the local state endpoint";
        return -1;
    }
    zsock_set_linger (self->pub, 0);
    self->sub = zsock_new (ZMQ_SUB);
    zsock_set_linger (self->sub, 0);
    zsock_set_maxmsgsize (self->sub, S_MAX_MSG_SIZE);
    zsock_set_subscribe (self->sub, "");
    if (args->client_cert
    &&  zmx_security_client_curve (self->sub, args->client_cert, args->server_key)) {
        *reason = "cannot make the SUB a CURVE client";
        return -1;
    }
    if (zsock_connect (self->sub, "%s", args->remote)) {
        *reason = "cannot connect to the remote state endpoint";
        return -1;
    }
    return 0;
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->pub);
        zsock_destroy (&self->sub);
        zsock_destroy (&self->notify);
        free (self);
        *self_p = NULL;
    }
}

static void
s_actor (zsock_t *pipe, void *argument)
{
    s_args_t *args = (s_args_t *) argument;
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->notify = args->notify;
    zsock_set_sndtimeo (self->notify, 0);
    self->role = args->primary? "primary": "backup";
    self->state = args->primary? ZMX_BSTAR_PRIMARY: ZMX_BSTAR_BACKUP;
    self->heartbeat = ZMX_BSTAR_HEARTBEAT;
    self->peer_heard = zclock_mono ();
    const char *reason = NULL;
    int rc = s_self_open (self, args, &reason);
    //  args die once we signal
    zsock_signal (pipe, 0);
    if (rc) {
        zmx_service_send_error (pipe, reason);
        s_self_destroy (&self);
        zmx_service_wait_term (pipe);
        return;
    }
    zstr_sendx (pipe, ZMX_SERVICE_READY, zsock_endpoint (self->pub), NULL);
    s_publish (self);
    while (!self->terminated) {
        int64_t now = zclock_mono ();
        long timeout = self->send_at > now? (long) (self->send_at - now): 0;
        zmq_pollitem_t items [2] = { { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
                                     { zsock_resolve (self->sub), 0, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, 2, timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;
        }
        //  Peer first: a request decision must see the latest peer state
        if (items [1].revents & ZMQ_POLLIN)
            s_drain_sub (self);
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (zclock_mono () >= self->send_at)
            s_publish (self);
        if (self->state == ZMX_BSTAR_FAILED)
            self->send_at = zclock_mono () + self->heartbeat;
    }
    s_self_destroy (&self);
}

//  -------------------------------------------------------------------------
//  Object

struct _zmx_bstar_t {
    uint32_t tag;               //  S_TAG while alive
    zactor_t *actor;            //  Runs the FSM and the sockets
    zsock_t *notify;            //  Notifications from the actor
    char *endpoint;             //  Bound local endpoint, port resolved
};

static zmx_bstar_t *
s_new (zmx_security_t *security, bool primary, const char *local_endpoint,
       const char *remote_endpoint, const char *client_cert, const char *server_key)
{
    if (!zmx__endpoint_valid (local_endpoint) || !zmx__endpoint_valid (remote_endpoint)) {
        zmx_log_error (S_LOG, "invalid endpoint: local '%s', remote '%s'",
                       local_endpoint? local_endpoint: "(null)",
                       remote_endpoint? remote_endpoint: "(null)");
        return NULL;
    }
    zmx_bstar_t *self = (zmx_bstar_t *) zmalloc (sizeof (zmx_bstar_t));
    self->tag = S_TAG;
    s_args_t args = { security, primary, local_endpoint, remote_endpoint, client_cert,
                      server_key, NULL };
    self->notify = zsys_create_pipe (&args.notify);
    if (self->notify)
        self->actor = zactor_new (s_actor, &args);
    if (!self->actor) {
        zsock_destroy (&args.notify);
        zmx_bstar_destroy (&self);
        return NULL;
    }
    zmsg_t *status = zmsg_recv (self->actor);
    char *verb = status? zmsg_popstr (status): NULL;
    char *detail = status? zmsg_popstr (status): NULL;
    if (verb && streq (verb, ZMX_SERVICE_READY) && detail)
        self->endpoint = strdup (detail);
    else
        zmx_log_error (S_LOG, "%s on %s: %s", primary? "primary": "backup", local_endpoint,
                       detail? detail: "actor failed");
    zstr_free (&verb);
    zstr_free (&detail);
    zmsg_destroy (&status);
    if (!self->endpoint)
        zmx_bstar_destroy (&self);
    return self;
}

zmx_bstar_t *
zmx_bstar_new (zmx_security_t *security, bool primary, const char *local_endpoint,
               const char *remote_endpoint)
{
    return s_new (security, primary, local_endpoint, remote_endpoint, NULL, NULL);
}

zmx_bstar_t *
zmx_bstar_new_curve (zmx_security_t *security, bool primary, const char *local_endpoint,
                     const char *remote_endpoint, const char *client_cert_path,
                     const char *server_key)
{
    //  Check the arguments here, so that a bad one fails before binding
    if (zmx_security_client_curve (NULL, client_cert_path, server_key))
        return NULL;
    return s_new (security, primary, local_endpoint, remote_endpoint, client_cert_path,
                  server_key);
}

void
zmx_bstar_destroy (zmx_bstar_t **self_p)
{
    assert (self_p);
    zmx_bstar_t *self = *self_p;
    if (self) {
        assert (self->tag == S_TAG);
        zactor_destroy (&self->actor);
        zsock_destroy (&self->notify);
        free (self->endpoint);
        self->tag = S_TAG_DEAD;
        free (self);
        *self_p = NULL;
    }
}

//  Send a command and read one integer reply; `fallback` if that fails.
static int
s_call_int (zmx_bstar_t *self, const char *command, const char *value, int fallback)
{
    assert (self && self->tag == S_TAG);
    int rc = value? zstr_sendx (self->actor, command, value, NULL)
                  : zstr_send (self->actor, command);
    int reply = fallback;
    if (rc == 0 && zsock_recv (self->actor, "i", &reply) != 0)
        reply = fallback;
    return reply;
}

int
zmx_bstar_set_heartbeat (zmx_bstar_t *self, int msec)
{
    if (msec < ZMX_BSTAR_HEARTBEAT_MIN || msec > ZMX_BSTAR_HEARTBEAT_MAX)
        return ZMX_EINVAL;
    char value [16];
    snprintf (value, sizeof value, "%d", msec);
    return s_call_int (self, S_HEARTBEAT, value, ZMX_EINVAL);
}

int
zmx_bstar_client_request (zmx_bstar_t *self)
{
    return s_call_int (self, S_REQUEST, NULL, -1) == 0? 0: -1;
}

zmx_bstar_state_t
zmx_bstar_state (zmx_bstar_t *self)
{
    return (zmx_bstar_state_t) s_call_int (self, S_STATE, NULL, ZMX_BSTAR_FAILED);
}

bool
zmx_bstar_is_active (zmx_bstar_t *self)
{
    return zmx_bstar_state (self) == ZMX_BSTAR_ACTIVE;
}

const char *
zmx_bstar_endpoint (zmx_bstar_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->endpoint;
}

zsock_t *
zmx_bstar_socket (zmx_bstar_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->notify;
}

void
zmx_bstar_stats (zmx_bstar_t *self, zmx_bstar_stats_t *stats)
{
    assert (self && self->tag == S_TAG);
    assert (stats);
    memset (stats, 0, sizeof (*stats));
    if (zstr_send (self->actor, S_STATS) == 0)
        zsock_recv (self->actor, "8888888", &stats->state_changes, &stats->heartbeats_sent,
                    &stats->heartbeats_received, &stats->malformed, &stats->requests_accepted,
                    &stats->requests_rejected, &stats->notifications_dropped);
}
