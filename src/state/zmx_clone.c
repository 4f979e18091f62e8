/*  =========================================================================
    zmx_clone - client of the clone service (12/CHP): a mirror of one
    subtree, and writes acknowledged by their publication

    The object is a thin front for an agent actor that owns the sockets
    and the mirror; every call is a message to it. States of the agent:

        IDLE      no server yet
        SYNCING   ICANHAZ? sent; KVSYNCs build a new map, KVPUBs queue
        ACTIVE    KVPUBs apply in sequence order

    The snapshot is asked for as soon as the sockets connect (subscribe
    first, then ask, as 12/CHP allows), so a cold client is synced after
    one round trip instead of after the first heartbeat. An update
    published before the subscription took effect is not lost for good:
    the first message the subscriber hears (zmx servers send a HUGZ as
    soon as a subscription reaches them) carries the server's sequence,
    and a sequence above the snapshot's makes a gap, hence a new
    snapshot (a server whose HUGZ says 0 gets the snapshot asked for
    again once the subscription is heard). Writes wait for that first message, so that their
    publication cannot pass the subscriber by.

    Any state but IDLE goes back to SYNCING on the next server (or the
    same, if it is the only one) when the current one is silent for the
    stale timeout; ACTIVE goes back to SYNCING on a gap or a regression.
    =========================================================================
*/
#include "zmx_state_internal.h"

#define S_CMD_SERVER    "SERVER"
#define S_CMD_SEND      "SEND"
#define S_CMD_FLUSH     "FLUSH"
#define S_CMD_SYNCED    "SYNCED"
#define S_CMD_GET       "GET"
#define S_CMD_KEYS      "KEYS"
#define S_CMD_WATCH     "WATCH"
#define S_CMD_STATS     "STATS"
#define S_CMD_TIMEOUTS  "TIMEOUTS"
#define S_CMD_WINDOW    "WINDOW"
#define S_CMD_MAX_KEYS  "MAXKEYS"
#define S_CMD_CURVE     "CURVE"
#define S_REPLY_OK      "OK"
#define S_REPLY_TIMEOUT "TIMEOUT"
#define S_REPLY_REFUSED "REFUSED"       //  Failed: the server refused some
#define S_REPLY_UNSENT  "UNSENT"        //  Failed: some never left (no link)

#define S_TICK_MSEC     20          //  Longest sleep: timers are this exact
#define S_COLLECTOR_HWM 10000       //  KVSETs queued in libzmq

typedef enum { S_IDLE, S_SYNCING, S_ACTIVE } s_state_t;
typedef enum { S_WAIT_NONE, S_WAIT_FLUSH, S_WAIT_SYNCED } s_wait_t;
typedef enum { S_FAIL_TIMEOUT, S_FAIL_UNSENT, S_FAIL_REFUSED } s_fail_t;

typedef struct {
    uint64_t sequence;          //  Sequence of the update that set it
    size_t size;
    byte data [];               //  Value, then a NUL
} s_item_t;

typedef struct {
    char *key;
    s_item_t *item;             //  size 0: a deletion
} s_queued_t;

typedef struct {
    uint64_t counter;           //  Second half of the uuid
    int64_t deadline;           //  Monotonic msec
    char *key;                  //  NULL once sent
    byte *value;
    size_t size;
    int ttl;
} s_out_t;

typedef struct {
    char *snapshot, *publisher, *collector;
} s_server_t;

typedef struct {
    zsock_t *pipe;              //  From the object
    zsock_t *notify;            //  To the object's notification socket
    char *subtree;
    size_t subtree_size;
    s_server_t servers [ZMX_CLONE_MAX_SERVERS];
    int server_count, current;
    char *curve_cert, *curve_key;
    zsock_t *dealer, *sub;      //  To the current server
    zsock_t *xpubs [ZMX_CLONE_MAX_SERVERS];     //  To every server's collector
    bool collector_up [ZMX_CLONE_MAX_SERVERS];  //  Its SUB has subscribed to us
    s_state_t state;
    bool sub_live;              //  The subscriber heard its first message
    uint64_t hugz_sequence;     //  Highest HUGZ heard while syncing
    zhashx_t *mirror;           //  key -> s_item_t
    zhashx_t *incoming;         //  Snapshot being read
    zlistx_t *queued;           //  s_queued_t read during the snapshot
    uint64_t sequence;          //  Last applied
    int64_t last_heard;         //  Last message from the server (mono)
    int64_t snapshot_heard;     //  ICANHAZ sent, or last snapshot message
    int64_t stale_msec, ack_msec;
    size_t max_in_flight;
    size_t max_keys;            //  In the mirror, and in a snapshot being read
    byte uuid_prefix [8];
    uint64_t counter;           //  Last uuid counter used
    zlistx_t *outbox;           //  s_out_t not yet sent
    zlistx_t *inflight;         //  s_out_t sent, not acknowledged
    size_t failed_since_flush;
    s_fail_t failure;           //  Best known reason among those failures
    s_wait_t waiting;
    int64_t wait_deadline;
    bool watching;
    zmx_clone_stats_t stats;
    int64_t last_warning;       //  Rate limit of socket failure warnings
    bool terminated;
} s_agent_t;

typedef struct {
    const char *subtree;
    zsock_t *notify;
} s_agent_args_t;

//  -------------------------------------------------------------------------
//  Items, queue entries, outgoing updates

static s_item_t *
s_item_new (uint64_t sequence, const void *value, size_t size)
{
    s_item_t *item = (s_item_t *) malloc (sizeof (s_item_t) + size + 1);
    assert (item);
    item->sequence = sequence;
    item->size = size;
    if (size)
        memcpy (item->data, value, size);
    item->data [size] = 0;
    return item;
}

static void
s_item_destructor (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static void
s_queued_destructor (void **item_p)
{
    s_queued_t *queued = (s_queued_t *) *item_p;
    if (queued) {
        free (queued->key);
        free (queued->item);
        free (queued);
        *item_p = NULL;
    }
}

static void
s_out_destructor (void **item_p)
{
    s_out_t *out = (s_out_t *) *item_p;
    if (out) {
        free (out->key);
        free (out->value);
        free (out);
        *item_p = NULL;
    }
}

static zhashx_t *
s_map_new (void)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_destructor (map, s_item_destructor);
    return map;
}

static char *
s_key_dup (const zmx_chp_view_t *view)
{
    char *key = (char *) malloc (view->key_size + 1);
    assert (key);
    memcpy (key, view->key, view->key_size);
    key [view->key_size] = 0;
    return key;
}

//  -------------------------------------------------------------------------
//  Notifications and replies

static void
s_notify_update (s_agent_t *self, const char *key, const s_item_t *item, uint64_t sequence)
{
    if (!self->watching)
        return;
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, ZMX_CLONE_NOTIFY_UPDATE);
    zmsg_addstr (msg, key);
    zmsg_addmem (msg, item? item->data: NULL, item? item->size: 0);
    zmsg_addstrf (msg, "%" PRIu64, sequence);
    if (zmsg_send (&msg, self->notify))
        self->stats.notifications_dropped++;
    zmsg_destroy (&msg);
}

static void
s_notify_synced (s_agent_t *self)
{
    if (self->watching) {
        char sequence [24];
        snprintf (sequence, sizeof sequence, "%" PRIu64, self->sequence);
        if (zstr_sendx (self->notify, ZMX_CLONE_NOTIFY_SYNCED, sequence, NULL))
            self->stats.notifications_dropped++;
    }
}

//  Reply to the waiting object. A flush that failed says why: refused
//  (proven by a later acknowledgement) before unsent, before timeout.
static void
s_reply_wait (s_agent_t *self, const char *verdict)
{
    if (self->waiting == S_WAIT_FLUSH) {
        char failed [24];
        snprintf (failed, sizeof failed, "%zu", self->failed_since_flush);
        if (!streq (verdict, S_REPLY_OK))
            verdict = self->failure == S_FAIL_REFUSED? S_REPLY_REFUSED
                    : self->failure == S_FAIL_UNSENT? S_REPLY_UNSENT: S_REPLY_TIMEOUT;
        zstr_sendx (self->pipe, verdict, failed, NULL);
        self->failed_since_flush = 0;
        self->failure = S_FAIL_TIMEOUT;
    }
    else
        zstr_send (self->pipe, verdict);
    self->waiting = S_WAIT_NONE;
}

//  -------------------------------------------------------------------------
//  Connection

static void
s_sockets_close (s_agent_t *self)
{
    zsock_destroy (&self->dealer);
    zsock_destroy (&self->sub);
}

//  A socket connected to endpoint, or NULL (logged) when libzmq has no
//  socket to give: a failover caused by a silent server must not abort.
static zsock_t *
s_socket (s_agent_t *self, int type, const char *endpoint)
{
    zsock_t *sock = zmx__sock_new (type);
    if (!sock) {
        zmx__log_limited ("clone", &self->last_warning, "cannot open a socket to %s: %s",
                          endpoint, zmq_strerror (zmq_errno ()));
        return NULL;
    }
    zsock_set_linger (sock, 0);
    if (type == ZMQ_SUB) {
        zsock_set_rcvhwm (sock, 0);     //  Bounded by the server's send HWM
        zsock_set_subscribe (sock, "");
    }
    if (type == ZMQ_XPUB) {
        zsock_set_sndhwm (sock, S_COLLECTOR_HWM);
        zsock_set_xpub_nodrop (sock, 1);
        zsock_set_xpub_verboser (sock, 1);
        //  No pipe while disconnected: an update sent then is lost (and
        //  fails by timeout), never delivered long after it failed
        zsock_set_immediate (sock, 1);
    }
    if (self->curve_cert)
        zmx_security_client_curve (sock, self->curve_cert, self->curve_key);
    if (zsock_connect (sock, "%s", endpoint))
        zmx_log_warning ("clone", "cannot connect to %s", endpoint);
    return sock;
}

static void
    s_request_snapshot (s_agent_t *self);

//  (Re)connect to the current server and ask for its snapshot at once.
//  The outbox is kept (it was never sent); the mirror stays until a new
//  snapshot replaces it.
static void
s_connect (s_agent_t *self)
{
    //  New sockets first, then the old ones go: with no socket to spare,
    //  the old ones stay and the stale timer tries again later (closing
    //  first would free slots only once libzmq's reaper runs, and the new
    //  sockets could race it)
    s_server_t *server = &self->servers [self->current];
    zsock_t *sub = s_socket (self, ZMQ_SUB, server->publisher);
    zsock_t *dealer = sub? s_socket (self, ZMQ_DEALER, server->snapshot): NULL;
    if (!dealer) {
        zsock_destroy (&sub);
        if (!self->sub)
            self->state = S_SYNCING;    //  Not IDLE: so that the stale timer retries
        self->last_heard = zclock_mono ();
        self->snapshot_heard = self->last_heard;
        return;
    }
    s_sockets_close (self);
    self->sub = sub;
    self->dealer = dealer;
    self->sub_live = false;
    self->last_heard = zclock_mono ();
    self->stats.server = self->current;
    s_request_snapshot (self);
}

static void
s_failover (s_agent_t *self)
{
    self->stats.failovers++;
    //  Drop whatever the stale server's collector link still queues (if
    //  a new link can be made: else keep the old one)
    zsock_t *xpub = s_socket (self, ZMQ_XPUB, self->servers [self->current].collector);
    if (xpub) {
        zsock_destroy (&self->xpubs [self->current]);
        self->xpubs [self->current] = xpub;
        self->collector_up [self->current] = false;
    }
    self->current = (self->current + 1) % self->server_count;
    zmx_log_info ("clone", "server silent for %" PRId64 " ms: now %s", self->stale_msec,
                  self->servers [self->current].snapshot);
    s_connect (self);
}

static void
s_request_snapshot (s_agent_t *self)
{
    zhashx_destroy (&self->incoming);
    self->incoming = s_map_new ();
    zlistx_purge (self->queued);
    self->hugz_sequence = 0;
    zmx_chp_view_t view = { .command = ZMX_CHP_ICANHAZ, .subtree = self->subtree,
                            .subtree_size = self->subtree_size };
    zmx_chp_send (zsock_resolve (self->dealer), NULL, &view, ZMQ_DONTWAIT);
    self->state = S_SYNCING;
    self->snapshot_heard = zclock_mono ();
}

//  -------------------------------------------------------------------------
//  Acknowledgements

//  The oldest update of `list` failed: forget it, count it, keep the
//  most telling reason for the next flush's reply.
static void
s_fail_head (s_agent_t *self, zlistx_t *list, s_fail_t reason)
{
    zlistx_first (list);
    zlistx_delete (list, zlistx_cursor (list));
    self->stats.failed++;
    self->failed_since_flush++;
    if (reason > self->failure)
        self->failure = reason;
}

//  A KVPUB carried `uuid`: if it is ours, acknowledge that update and
//  fail the older ones still waiting (the server refused them: it
//  handles our updates in order).
static void
s_check_ack (s_agent_t *self, const byte *uuid)
{
    if (!uuid || memcmp (uuid, self->uuid_prefix, 8) != 0)
        return;
    uint64_t counter = zmx__wire_get (uuid + 8, ZMX_CHP_UUID_SIZE - 8);
    s_out_t *out;
    while ((out = (s_out_t *) zlistx_first (self->inflight)) && out->counter <= counter) {
        if (out->counter == counter) {
            zlistx_delete (self->inflight, zlistx_cursor (self->inflight));
            self->stats.acknowledged++;
        }
        else
            s_fail_head (self, self->inflight, S_FAIL_REFUSED);
    }
}

static void
s_expire_updates (s_agent_t *self, int64_t now)
{
    s_out_t *out;
    while ((out = (s_out_t *) zlistx_first (self->inflight)) && out->deadline <= now)
        s_fail_head (self, self->inflight, S_FAIL_TIMEOUT);
    while ((out = (s_out_t *) zlistx_first (self->outbox)) && out->deadline <= now)
        s_fail_head (self, self->outbox, S_FAIL_UNSENT);
}

//  Send queued updates while the current server's collector takes them,
//  and a copy to every other server that listens (the passive half of a
//  pair holds them in case it takes over). Sending waits for a live
//  subscriber too, so that the publication of each is seen.
static void
s_flush_outbox (s_agent_t *self)
{
    if (self->state == S_IDLE || !self->sub_live || !self->collector_up [self->current])
        return;
    void *xpub = zsock_resolve (self->xpubs [self->current]);
    s_out_t *out;
    while ((out = (s_out_t *) zlistx_first (self->outbox))) {
        byte uuid [ZMX_CHP_UUID_SIZE];
        memcpy (uuid, self->uuid_prefix, 8);
        zmx__wire_put (uuid + 8, out->counter, 8);
        char properties [32] = "";
        if (out->ttl > 0)
            snprintf (properties, sizeof properties, "ttl=%d\n", out->ttl);
        zmx_chp_view_t view = { .command = ZMX_CHP_KVSET, .key = out->key,
                                .key_size = strlen (out->key), .uuid = uuid,
                                .properties = properties,
                                .properties_size = strlen (properties),
                                .value = out->value, .value_size = out->size };
        if (zmx_chp_send (xpub, NULL, &view, ZMQ_DONTWAIT))
            break;              //  Full (EAGAIN): retried on the next turn
        for (int index = 0; index < self->server_count; index++)
            if (index != self->current && self->collector_up [index])
                zmx_chp_send (zsock_resolve (self->xpubs [index]), NULL, &view, ZMQ_DONTWAIT);
        out = (s_out_t *) zlistx_detach (self->outbox, zlistx_cursor (self->outbox));
        zstr_free (&out->key);
        free (out->value);
        out->value = NULL;
        zlistx_add_end (self->inflight, out);
        self->stats.sent++;
    }
}

//  -------------------------------------------------------------------------
//  Mirror

//  True if putting `item` under a new `key` would take `map` past
//  max-keys. The server sends what it holds, so the mirror is bounded by
//  what a client can hold, not by the server: such a key is left out,
//  counted (keys_dropped) and logged, and the mirror is then incomplete.
static bool
s_map_full (s_agent_t *self, zhashx_t *map, const char *key, const s_item_t *item)
{
    if (!item->size || zhashx_size (map) < self->max_keys || zhashx_lookup (map, key))
        return false;
    if (self->stats.keys_dropped++ % 1000 == 0)
        zmx_log_warning ("clone", "mirror full (%zu keys): %s left out (%" PRIu64 " so far)",
                         self->max_keys, key, self->stats.keys_dropped);
    return true;
}

//  Put one update into `map`; NULL item or size 0 deletes.
static void
s_map_apply (zhashx_t *map, const char *key, s_item_t *item)
{
    if (item && item->size)
        zhashx_update (map, key, item);
    else {
        zhashx_delete (map, key);
        free (item);
    }
}

static void
s_resync (s_agent_t *self, uint64_t *counter)
{
    (*counter)++;
    s_request_snapshot (self);
}

//  Apply a KVPUB in ACTIVE state.
static void
s_apply_kvpub (s_agent_t *self, const zmx_chp_view_t *view)
{
    if (view->sequence <= self->sequence)
        return;                 //  Old news, as CHP says: discard
    if (view->sequence != self->sequence + 1) {
        s_resync (self, &self->stats.gaps);
        return;
    }
    self->sequence = view->sequence;
    self->stats.updates_applied++;
    if (!zmx_chp_in_subtree (view->key, view->key_size, self->subtree, self->subtree_size))
        return;
    char key [ZMX_CHP_KEY_MAX + 1];     //  zhashx keeps its own copy
    memcpy (key, view->key, view->key_size);
    key [view->key_size] = 0;
    s_item_t *item = s_item_new (view->sequence, view->value, view->value_size);
    if (s_map_full (self, self->mirror, key, item)) {
        free (item);
        return;
    }
    s_notify_update (self, key, item, view->sequence);
    s_map_apply (self->mirror, key, item);
}

static void
s_queue_kvpub (s_agent_t *self, const zmx_chp_view_t *view)
{
    if (zlistx_size (self->queued) >= ZMX_CLONE_MAX_QUEUED) {
        //  The snapshot is too slow for the update rate: start afresh
        self->stats.queue_overflows++;
        s_connect (self);
        return;
    }
    s_queued_t *queued = (s_queued_t *) zmalloc (sizeof (s_queued_t));
    queued->key = s_key_dup (view);
    queued->item = s_item_new (view->sequence, view->value, view->value_size);
    zlistx_add_end (self->queued, queued);
}

static void
s_handle_sub (s_agent_t *self)
{
    zmx_chp_msg_t msg;
    if (zmx_chp_recv (&msg, zsock_resolve (self->sub), ZMQ_DONTWAIT))
        return;
    zmx_chp_view_t view;
    if (zmx_chp_decode_msg (&msg, 0, ZMX_CHP_CLIENT_UPDATES, &view, NULL)) {
        self->stats.malformed++;
        zmx_chp_msg_close (&msg);
        return;
    }
    self->last_heard = zclock_mono ();
    if (!self->sub_live) {
        self->sub_live = true;
        //  A snapshot taken before the subscription was proven, and a
        //  first message that cannot show what came between (an RFC
        //  server's HUGZ carries sequence 0): take it again, once
        if (self->state == S_ACTIVE && view.command == ZMX_CHP_HUGZ && view.sequence == 0)
            s_request_snapshot (self);
        s_flush_outbox (self);
    }
    if (view.command == ZMX_CHP_KVPUB) {
        s_check_ack (self, view.uuid);
        if (self->state == S_SYNCING)
            s_queue_kvpub (self, &view);
        else
            s_apply_kvpub (self, &view);
    }
    else
    if (self->state == S_SYNCING && view.sequence > self->hugz_sequence)
        self->hugz_sequence = view.sequence;
    else
    if (self->state == S_ACTIVE && view.sequence) {
        //  HUGZ follows every update it counts: ahead of us means lost
        //  updates, behind us means the server lost some of its own
        if (view.sequence > self->sequence)
            s_resync (self, &self->stats.gaps);
        else
        if (view.sequence < self->sequence)
            s_resync (self, &self->stats.regressions);
    }
    zmx_chp_msg_close (&msg);
}

//  Notify the differences between the old mirror and the new one.
static void
s_notify_diff (s_agent_t *self, zhashx_t *old)
{
    for (s_item_t *item = (s_item_t *) zhashx_first (self->mirror); item;
         item = (s_item_t *) zhashx_next (self->mirror)) {
        const char *key = (const char *) zhashx_cursor (self->mirror);
        s_item_t *before = (s_item_t *) zhashx_lookup (old, key);
        if (!before || before->size != item->size || memcmp (before->data, item->data, item->size))
            s_notify_update (self, key, item, item->sequence);
    }
    for (s_item_t *item = (s_item_t *) zhashx_first (old); item;
         item = (s_item_t *) zhashx_next (old)) {
        const char *key = (const char *) zhashx_cursor (old);
        if (!zhashx_lookup (self->mirror, key))
            s_notify_update (self, key, NULL, self->sequence);
    }
}

//  KTHXBAI: the new map replaces the mirror, then the queued updates
//  above the snapshot's sequence apply, which must follow on from it.
static void
s_finish_snapshot (s_agent_t *self, uint64_t sequence)
{
    zhashx_t *old = self->mirror;
    self->mirror = self->incoming;
    self->incoming = NULL;
    self->sequence = sequence;
    bool gap = false;
    s_queued_t *queued;
    while (!gap && (queued = (s_queued_t *) zlistx_detach (self->queued, NULL))) {
        if (queued->item->sequence == self->sequence + 1) {
            self->sequence++;
            self->stats.updates_applied++;
            if (zmx_chp_in_subtree (queued->key, strlen (queued->key), self->subtree,
                                    self->subtree_size)
            &&  !s_map_full (self, self->mirror, queued->key, queued->item)) {
                s_map_apply (self->mirror, queued->key, queued->item);
                queued->item = NULL;
            }
        }
        else
            gap = queued->item->sequence > self->sequence;
        s_queued_destructor ((void **) &queued);
    }
    //  A HUGZ ahead of what we now hold: an update published before our
    //  subscription took effect, never queued
    gap = gap || self->hugz_sequence > self->sequence;
    self->stats.snapshots++;
    self->state = S_ACTIVE;
    if (self->watching) {
        s_notify_diff (self, old);
        s_notify_synced (self);
    }
    zhashx_destroy (&old);
    if (gap)
        s_resync (self, &self->stats.gaps);
    else
    if (self->waiting == S_WAIT_SYNCED)
        s_reply_wait (self, S_REPLY_OK);
}

static void
s_handle_dealer (s_agent_t *self)
{
    zmx_chp_msg_t msg;
    if (zmx_chp_recv (&msg, zsock_resolve (self->dealer), ZMQ_DONTWAIT))
        return;
    zmx_chp_view_t view;
    if (zmx_chp_decode_msg (&msg, 0, ZMX_CHP_CLIENT_SNAPSHOT, &view, NULL)
    ||  self->state != S_SYNCING)
        self->stats.malformed++;
    else {
        self->last_heard = self->snapshot_heard = zclock_mono ();
        if (view.command == ZMX_CHP_KTHXBAI)
            s_finish_snapshot (self, view.sequence);
        else
        if (view.value_size
        &&  zmx_chp_in_subtree (view.key, view.key_size, self->subtree, self->subtree_size)) {
            char key [ZMX_CHP_KEY_MAX + 1];
            memcpy (key, view.key, view.key_size);
            key [view.key_size] = 0;
            s_item_t *item = s_item_new (view.sequence, view.value, view.value_size);
            if (s_map_full (self, self->incoming, key, item))
                free (item);
            else
                zhashx_update (self->incoming, key, item);
        }
    }
    zmx_chp_msg_close (&msg);
}

//  The server's SUB (un)subscribing: the collector link is up or down.
static void
s_handle_xpub (s_agent_t *self, int index)
{
    zframe_t *frame = zframe_recv (self->xpubs [index]);
    if (frame && zframe_size (frame) >= 1) {
        self->collector_up [index] = zframe_data (frame) [0] == 1;
        s_flush_outbox (self);
    }
    zframe_destroy (&frame);
}

//  -------------------------------------------------------------------------
//  Pipe commands

static void
s_cmd_server (s_agent_t *self, zmsg_t *request)
{
    if (self->server_count == ZMX_CLONE_MAX_SERVERS)
        return;                 //  The object checked; cannot happen
    s_server_t *server = &self->servers [self->server_count++];
    server->snapshot = zmsg_popstr (request);
    server->publisher = zmsg_popstr (request);
    server->collector = zmsg_popstr (request);
    //  Collector links stay up across failovers: libzmq reconnects them
    self->xpubs [self->server_count - 1] = s_socket (self, ZMQ_XPUB, server->collector);
    if (self->current < 0) {
        self->current = 0;
        s_connect (self);
    }
}

static void
s_cmd_send (s_agent_t *self, zmsg_t *request)
{
    s_out_t *out = (s_out_t *) zmalloc (sizeof (s_out_t));
    out->key = zmsg_popstr (request);
    zframe_t *value = zmsg_pop (request);
    char *ttl = zmsg_popstr (request);
    out->size = value? zframe_size (value): 0;
    out->value = (byte *) malloc (out->size? out->size: 1);
    assert (out->value);
    if (out->size)
        memcpy (out->value, zframe_data (value), out->size);
    out->ttl = ttl? atoi (ttl): 0;
    out->counter = ++self->counter;
    out->deadline = zclock_mono () + self->ack_msec;
    zlistx_add_end (self->outbox, out);
    zframe_destroy (&value);
    zstr_free (&ttl);
    s_flush_outbox (self);
}

static void
s_cmd_get (s_agent_t *self, zmsg_t *request)
{
    char *key = zmsg_popstr (request);
    s_item_t *item = key? (s_item_t *) zhashx_lookup (self->mirror, key): NULL;
    zmsg_t *reply = zmsg_new ();
    if (item) {
        zmsg_addmem (reply, item->data, item->size);
        zmsg_addmem (reply, &item->sequence, sizeof item->sequence);
    }
    else
        zmsg_addmem (reply, NULL, 0);   //  An empty message would not be sent
    zmsg_send (&reply, self->pipe);
    zstr_free (&key);
}

static int
s_compare_keys (const void *one, const void *two)
{
    return strcmp (*(const char **) one, *(const char **) two);
}

static void
s_cmd_keys (s_agent_t *self, zmsg_t *request)
{
    char *prefix = zmsg_popstr (request);
    size_t prefix_size = prefix? strlen (prefix): 0, count = 0;
    const char **keys = (const char **) malloc (sizeof (char *) * (zhashx_size (self->mirror) + 1));
    assert (keys);
    for (void *item = zhashx_first (self->mirror); item; item = zhashx_next (self->mirror)) {
        const char *key = (const char *) zhashx_cursor (self->mirror);
        if (strncmp (key, prefix? prefix: "", prefix_size) == 0)
            keys [count++] = key;
    }
    qsort (keys, count, sizeof (char *), s_compare_keys);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, S_REPLY_OK);    //  Never an empty message
    for (size_t index = 0; index < count; index++)
        zmsg_addstr (reply, keys [index]);
    zmsg_send (&reply, self->pipe);
    free (keys);
    zstr_free (&prefix);
}

static void
s_cmd_wait (s_agent_t *self, zmsg_t *request, s_wait_t wait)
{
    char *timeout = zmsg_popstr (request);
    self->waiting = wait;
    self->wait_deadline = zclock_mono () + (timeout? atoll (timeout): 0);
    zstr_free (&timeout);
    if (wait == S_WAIT_SYNCED && self->state == S_ACTIVE)
        s_reply_wait (self, S_REPLY_OK);
}

static void
s_cmd_settings (s_agent_t *self, const char *command, zmsg_t *request)
{
    char *one = zmsg_popstr (request), *two = zmsg_popstr (request);
    if (streq (command, S_CMD_TIMEOUTS)) {
        self->stale_msec = atoll (one);
        self->ack_msec = atoll (two);
    }
    else
    if (streq (command, S_CMD_WINDOW))
        self->max_in_flight = (size_t) atoll (one);
    else
    if (streq (command, S_CMD_MAX_KEYS))
        self->max_keys = (size_t) atoll (one);
    else
    if (streq (command, S_CMD_WATCH))
        self->watching = streq (one, "1");
    else {
        zstr_free (&self->curve_cert);
        zstr_free (&self->curve_key);
        self->curve_cert = one;
        self->curve_key = two;
        one = two = NULL;
    }
    zstr_free (&one);
    zstr_free (&two);
}

static void
s_handle_pipe (s_agent_t *self)
{
    zmsg_t *request = zmsg_recv (self->pipe);
    char *command = request? zmsg_popstr (request): NULL;
    if (!command || streq (command, "$TERM"))
        self->terminated = true;
    else
    if (streq (command, S_CMD_SEND))
        s_cmd_send (self, request);
    else
    if (streq (command, S_CMD_SERVER))
        s_cmd_server (self, request);
    else
    if (streq (command, S_CMD_FLUSH))
        s_cmd_wait (self, request, S_WAIT_FLUSH);
    else
    if (streq (command, S_CMD_SYNCED))
        s_cmd_wait (self, request, S_WAIT_SYNCED);
    else
    if (streq (command, S_CMD_GET))
        s_cmd_get (self, request);
    else
    if (streq (command, S_CMD_KEYS))
        s_cmd_keys (self, request);
    else
    if (streq (command, S_CMD_STATS)) {
        self->stats.sequence = self->sequence;
        self->stats.keys = zhashx_size (self->mirror);
        zmq_send (zsock_resolve (self->pipe), &self->stats, sizeof self->stats, 0);
    }
    else
        s_cmd_settings (self, command, request);
    zstr_free (&command);
    zmsg_destroy (&request);
}

//  -------------------------------------------------------------------------
//  Agent

static void
s_timers (s_agent_t *self)
{
    int64_t now = zclock_mono ();
    s_expire_updates (self, now);
    //  A server that publishes but does not answer ICANHAZ? (the passive
    //  half of a pair, or an overloaded one) is as stale as a silent one
    if ((self->state != S_IDLE && now - self->last_heard > self->stale_msec)
    ||  (self->state == S_SYNCING && now - self->snapshot_heard > self->stale_msec))
        s_failover (self);
    //  A flush ends when every update is acknowledged and the mirror holds
    //  them: an update acknowledged during a snapshot waits in the queue
    //  until KTHXBAI, so a get right after a set could miss it. If the
    //  snapshot is still not done at the deadline, the acknowledgements
    //  alone decide.
    bool settled = self->waiting == S_WAIT_FLUSH && zlistx_size (self->outbox) == 0
                && zlistx_size (self->inflight) == 0;
    if (settled && (self->state == S_ACTIVE || self->state == S_IDLE
                ||  now >= self->wait_deadline))
        s_reply_wait (self, self->failed_since_flush? S_REPLY_TIMEOUT: S_REPLY_OK);
    else
    if (self->waiting != S_WAIT_NONE && now >= self->wait_deadline) {
        //  Our own deadline with updates that never left: no link
        if (zlistx_size (self->inflight) == 0 && zlistx_size (self->outbox)
        &&  self->failure < S_FAIL_UNSENT)
            self->failure = S_FAIL_UNSENT;
        s_reply_wait (self, S_REPLY_TIMEOUT);
    }
}

static s_agent_t *
s_agent_new (zsock_t *pipe, s_agent_args_t *args)
{
    s_agent_t *self = (s_agent_t *) zmalloc (sizeof (s_agent_t));
    self->pipe = pipe;
    self->notify = args->notify;
    self->subtree = strdup (args->subtree);
    self->subtree_size = strlen (self->subtree);
    self->current = -1;
    self->stats.server = -1;
    self->mirror = s_map_new ();
    self->queued = zlistx_new ();
    zlistx_set_destructor (self->queued, s_queued_destructor);
    self->outbox = zlistx_new ();
    zlistx_set_destructor (self->outbox, s_out_destructor);
    self->inflight = zlistx_new ();
    zlistx_set_destructor (self->inflight, s_out_destructor);
    self->stale_msec = ZMX_CLONE_TIMEOUT;
    self->ack_msec = ZMX_CLONE_ACK_TIMEOUT;
    self->max_in_flight = ZMX_CLONE_MAX_IN_FLIGHT;
    self->max_keys = ZMX_CLONE_MIRROR_MAX;
    zuuid_t *uuid = zuuid_new ();
    memcpy (self->uuid_prefix, zuuid_data (uuid), 8);
    zuuid_destroy (&uuid);
    return self;
}

static void
s_agent_destroy (s_agent_t **self_p)
{
    s_agent_t *self = *self_p;
    if (self) {
        s_sockets_close (self);
        for (int index = 0; index < self->server_count; index++) {
            zsock_destroy (&self->xpubs [index]);
            free (self->servers [index].snapshot);
            free (self->servers [index].publisher);
            free (self->servers [index].collector);
        }
        zhashx_destroy (&self->mirror);
        zhashx_destroy (&self->incoming);
        zlistx_destroy (&self->queued);
        zlistx_destroy (&self->outbox);
        zlistx_destroy (&self->inflight);
        zsock_destroy (&self->notify);
        free (self->curve_cert);
        free (self->curve_key);
        free (self->subtree);
        free (self);
        *self_p = NULL;
    }
}

static void
s_agent (zsock_t *pipe, void *args)
{
    s_agent_t *self = s_agent_new (pipe, (s_agent_args_t *) args);
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        //  A full window stops reading the pipe: zmx_clone_send blocks
        bool room = zlistx_size (self->outbox) + zlistx_size (self->inflight)
                  < self->max_in_flight;
        zmq_pollitem_t items [3 + ZMX_CLONE_MAX_SERVERS] = {
            { zsock_resolve (pipe), 0, room? ZMQ_POLLIN: 0, 0 },
            { self->sub? zsock_resolve (self->sub): NULL, 0, ZMQ_POLLIN, 0 },
            { self->dealer? zsock_resolve (self->dealer): NULL, 0, ZMQ_POLLIN, 0 }
        };
        int count = self->sub? 3 + self->server_count: 1;
        for (int index = 0; index < self->server_count; index++)
            items [3 + index] = self->xpubs [index]?
                (zmq_pollitem_t) { zsock_resolve (self->xpubs [index]), 0, ZMQ_POLLIN, 0 }:
                (zmq_pollitem_t) { NULL, -1, 0, 0 };
        bool blocked = zlistx_size (self->outbox) && self->current >= 0
                    && self->collector_up [self->current];
        if (zmq_poll (items, count, blocked? 1: S_TICK_MSEC) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;
        }
        //  Commands in a batch too: a writer's sends come many at a time
        for (int batch = 0; batch < 1000 && (items [0].revents & ZMQ_POLLIN) && !self->terminated
                         && zlistx_size (self->outbox) + zlistx_size (self->inflight)
                            < self->max_in_flight
                         && (zsock_events (pipe) & ZMQ_POLLIN); batch++)
            s_handle_pipe (self);
        //  Read a batch from each socket; sockets may be replaced in a
        //  handler (failover), so look them up again every time
        for (int batch = 0; batch < 1000 && self->sub && !self->terminated
                         && (zsock_events (self->sub) & ZMQ_POLLIN); batch++)
            s_handle_sub (self);
        for (int batch = 0; batch < 1000 && self->dealer
                         && (zsock_events (self->dealer) & ZMQ_POLLIN); batch++)
            s_handle_dealer (self);
        for (int index = 0; index < self->server_count; index++)
            while (self->xpubs [index] && (zsock_events (self->xpubs [index]) & ZMQ_POLLIN))
                s_handle_xpub (self, index);
        if (blocked)
            s_flush_outbox (self);
        s_timers (self);
    }
    s_agent_destroy (&self);
}

//  -------------------------------------------------------------------------
//  Object

struct _zmx_clone_t {
    zactor_t *actor;            //  The agent
    zsock_t *notify;            //  Notifications from the agent
    bool curve;                 //  CURVE set (before the first server)
    int servers;                //  Servers added
    size_t max_value_size;      //  Larger values are refused by send
};

zmx_clone_t *
zmx_clone_new (const char *subtree)
{
    if (!subtree || !zmx_chp_subtree_valid (subtree, strlen (subtree)))
        return NULL;
    zmx_clone_t *self = (zmx_clone_t *) zmalloc (sizeof (zmx_clone_t));
    self->max_value_size = ZMX_CLONE_VALUE_MAX;
    //  A PAIR with our own HWM: zsys_create_pipe's is the process default
    //  A fresh name each time: libzmq releases an inproc name only when
    //  the closed socket is reaped, so an address could still be taken
    zuuid_t *uuid = zuuid_new ();
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://zmx-clone-%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    self->notify = zsock_new (ZMQ_PAIR);
    zsock_t *backend = zsock_new (ZMQ_PAIR);
    assert (self->notify && backend);
    zsock_set_rcvhwm (self->notify, ZMX_CLONE_NOTIFY_HWM);
    zsock_set_sndhwm (backend, ZMX_CLONE_NOTIFY_HWM);
    zsock_set_sndtimeo (backend, 0);
    zsock_set_linger (backend, 0);
    if (zsock_bind (self->notify, "%s", endpoint) || zsock_connect (backend, "%s", endpoint)) {
        zsock_destroy (&backend);
        zmx_clone_destroy (&self);
        return NULL;
    }
    s_agent_args_t args = { subtree, backend };
    self->actor = zactor_new (s_agent, &args);
    assert (self->actor);
    return self;
}

void
zmx_clone_destroy (zmx_clone_t **self_p)
{
    assert (self_p);
    zmx_clone_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        zsock_destroy (&self->notify);
        free (self);
        *self_p = NULL;
    }
}

int
zmx_clone_set_timeouts (zmx_clone_t *self, int stale_msec, int ack_msec)
{
    assert (self);
    if (stale_msec < 10 || ack_msec < 10)
        return ZMX_EINVAL;
    char stale [16], ack [16];
    snprintf (stale, sizeof stale, "%d", stale_msec);
    snprintf (ack, sizeof ack, "%d", ack_msec);
    zstr_sendx (self->actor, S_CMD_TIMEOUTS, stale, ack, NULL);
    return ZMX_OK;
}

int
zmx_clone_set_max_in_flight (zmx_clone_t *self, int max)
{
    assert (self);
    if (max < 1 || max > 1000000)
        return ZMX_EINVAL;
    char text [16];
    snprintf (text, sizeof text, "%d", max);
    zstr_sendx (self->actor, S_CMD_WINDOW, text, NULL);
    return ZMX_OK;
}

int
zmx_clone_set_max_keys (zmx_clone_t *self, size_t max)
{
    assert (self);
    if (max < 1 || max > 1000000000)
        return ZMX_EINVAL;
    char text [24];
    snprintf (text, sizeof text, "%zu", max);
    zstr_sendx (self->actor, S_CMD_MAX_KEYS, text, NULL);
    return ZMX_OK;
}

int
zmx_clone_set_max_value_size (zmx_clone_t *self, size_t max)
{
    assert (self);
    if (max < 1 || max > UINT32_MAX)
        return ZMX_EINVAL;
    self->max_value_size = max;
    return ZMX_OK;
}

size_t
zmx_clone_max_value_size (zmx_clone_t *self)
{
    assert (self);
    return self->max_value_size;
}

int
zmx_clone_set_curve (zmx_clone_t *self, const char *client_cert_path, const char *server_key)
{
    assert (self);
    char *cert = NULL, *key = NULL;
    if (self->servers || zmx__curve_client_store (&cert, &key, client_cert_path, server_key))
        return ZMX_ESECURITY;
    zstr_sendx (self->actor, S_CMD_CURVE, cert, key, NULL);
    free (cert);
    free (key);
    self->curve = true;
    return ZMX_OK;
}

//  "tcp://host:P" -> the same with port P + offset; NULL if not like that.
static char *
s_endpoint_plus (const char *endpoint, int offset)
{
    const char *colon = strrchr (endpoint, ':');
    if (strncmp (endpoint, "tcp://", 6) != 0 || !colon || colon < endpoint + 6)
        return NULL;
    char *end;
    long port = strtol (colon + 1, &end, 10);
    if (*end || end == colon + 1 || port < 1 || port + offset > 65535)
        return NULL;
    return zsys_sprintf ("%.*s:%ld", (int) (colon - endpoint), endpoint, port + offset);
}

int
zmx_clone_add_server_endpoints (zmx_clone_t *self, const char *snapshot,
                                const char *publisher, const char *collector)
{
    assert (self);
    if (self->servers == ZMX_CLONE_MAX_SERVERS || !zmx__endpoint_valid (snapshot)
    ||  !zmx__endpoint_valid (publisher) || !zmx__endpoint_valid (collector))
        return ZMX_EINVAL;
    zstr_sendx (self->actor, S_CMD_SERVER, snapshot, publisher, collector, NULL);
    self->servers++;
    return ZMX_OK;
}

//  Add every server "name:NAME" lists. The name is looked up where no
//  clone client is needed (the local resolver service, the lookup file):
//  asking a store for the address of the store would need this very call.
static int
s_add_named_servers (zmx_clone_t *self, const char *spec)
{
    const char *name = spec + strlen (ZMX_RESOLVER_SCHEME);
    if (!zmx_resolver_name_valid (name))
        return ZMX_EINVAL;
    char *endpoints = NULL;
    int rc = zmx__names_resolve_local (name, zclock_mono () + ZMX_CLONE_TIMEOUT, &endpoints);
    if (rc == ZMX_ETIMEDOUT)
        rc = ZMX_EADDR;
    if (rc != ZMX_OK) {
        zmx_log_error ("clone", "cannot resolve \"%s\": %s", spec,
                       rc == ZMX_EADDR? "no such name (neither the resolver service nor "
                                        "the lookup file knows it)": zmx_strerror (rc));
        return rc;
    }
    char *rest = endpoints, *item;
    while (rc == ZMX_OK && (item = strsep (&rest, ",")))
        rc = zmx_clone_add_server (self, item);
    free (endpoints);
    return rc;
}

int
zmx_clone_add_server (zmx_clone_t *self, const char *snapshot_endpoint)
{
    assert (self);
    if (snapshot_endpoint && strncmp (snapshot_endpoint, ZMX_RESOLVER_SCHEME,
                                      strlen (ZMX_RESOLVER_SCHEME)) == 0)
        return s_add_named_servers (self, snapshot_endpoint);
    if (!snapshot_endpoint || !zmx__endpoint_valid (snapshot_endpoint))
        return ZMX_EINVAL;
    char *publisher = s_endpoint_plus (snapshot_endpoint, 1);
    char *collector = s_endpoint_plus (snapshot_endpoint, 2);
    int rc = publisher && collector
           ? zmx_clone_add_server_endpoints (self, snapshot_endpoint, publisher, collector)
           : ZMX_EINVAL;
    zstr_free (&publisher);
    zstr_free (&collector);
    return rc;
}

//  Ask the agent to wait for something; returns its verdict frame's
//  outcome, and the second frame (failed count) if there is one.
static int
s_wait (zmx_clone_t *self, const char *command, int timeout_msec, size_t *failed)
{
    char timeout [24];
    snprintf (timeout, sizeof timeout, "%d", timeout_msec > 0? timeout_msec: 0);
    zstr_sendx (self->actor, command, timeout, NULL);
    zmsg_t *reply = zmsg_recv (self->actor);
    char *verdict = reply? zmsg_popstr (reply): NULL;
    char *count = reply? zmsg_popstr (reply): NULL;
    if (failed)
        *failed = count? (size_t) strtoull (count, NULL, 10): 0;
    int rc = !verdict? ZMX_ETIMEDOUT: streq (verdict, S_REPLY_OK)? ZMX_OK
           : streq (verdict, S_REPLY_REFUSED)? ZMX_ENOMEM
           : streq (verdict, S_REPLY_UNSENT)? ZMX_EADDR: ZMX_ETIMEDOUT;
    zstr_free (&verdict);
    zstr_free (&count);
    zmsg_destroy (&reply);
    return rc;
}

int
zmx_clone_wait_synced (zmx_clone_t *self, int timeout_msec)
{
    assert (self);
    return s_wait (self, S_CMD_SYNCED, timeout_msec, NULL);
}

int
zmx_clone_send (zmx_clone_t *self, const char *key, const void *value, size_t size, int ttl)
{
    assert (self);
    if (!key || !zmx_chp_key_valid (key, strlen (key)) || (size && !value) || ttl < 0
    ||  (uint64_t) ttl > ZMX_CHP_TTL_MAX || size > UINT32_MAX)
        return ZMX_EINVAL;
    //  The server would refuse it, silently (CHP has no reply): say so now
    if (size > self->max_value_size)
        return ZMX_ENOMEM;
    char text [16];
    snprintf (text, sizeof text, "%d", ttl);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, S_CMD_SEND);
    zmsg_addstr (msg, key);
    zmsg_addmem (msg, value, size);
    zmsg_addstr (msg, text);
    zmsg_send (&msg, self->actor);
    return ZMX_OK;
}

int
zmx_clone_flush (zmx_clone_t *self, int timeout_msec, size_t *failed)
{
    assert (self);
    return s_wait (self, S_CMD_FLUSH, timeout_msec, failed);
}

int
zmx_clone_set (zmx_clone_t *self, const char *key, const void *value, size_t size, int ttl,
               int timeout_msec)
{
    int rc = zmx_clone_send (self, key, value, size, ttl);
    return rc == ZMX_OK? zmx_clone_flush (self, timeout_msec, NULL): rc;
}

int
zmx_clone_delete (zmx_clone_t *self, const char *key, int timeout_msec)
{
    return zmx_clone_set (self, key, NULL, 0, 0, timeout_msec);
}

char *
zmx_clone_get (zmx_clone_t *self, const char *key, size_t *size, uint64_t *sequence)
{
    assert (self);
    if (size)
        *size = 0;
    if (!key)
        return NULL;
    zstr_sendx (self->actor, S_CMD_GET, key, NULL);
    zmsg_t *reply = zmsg_recv (self->actor);
    zframe_t *value = reply? zmsg_pop (reply): NULL;
    zframe_t *number = reply? zmsg_pop (reply): NULL;
    char *copy = NULL;
    if (value && number && zframe_size (number) == sizeof (uint64_t)) {
        copy = (char *) malloc (zframe_size (value) + 1);
        assert (copy);
        memcpy (copy, zframe_data (value), zframe_size (value));
        copy [zframe_size (value)] = 0;
        if (size)
            *size = zframe_size (value);
        if (sequence)
            memcpy (sequence, zframe_data (number), sizeof (uint64_t));
    }
    zframe_destroy (&value);
    zframe_destroy (&number);
    zmsg_destroy (&reply);
    return copy;
}

zlist_t *
zmx_clone_keys (zmx_clone_t *self, const char *prefix)
{
    assert (self);
    zstr_sendx (self->actor, S_CMD_KEYS, prefix? prefix: "", NULL);
    zmsg_t *reply = zmsg_recv (self->actor);
    zlist_t *keys = zlist_new ();
    zlist_autofree (keys);
    char *key = reply? zmsg_popstr (reply): NULL;
    zstr_free (&key);
    while (reply && (key = zmsg_popstr (reply))) {
        zlist_append (keys, key);
        free (key);
    }
    zmsg_destroy (&reply);
    return keys;
}

void
zmx_clone_watch (zmx_clone_t *self, bool on)
{
    assert (self);
    zstr_sendx (self->actor, S_CMD_WATCH, on? "1": "0", NULL);
}

zsock_t *
zmx_clone_socket (zmx_clone_t *self)
{
    assert (self);
    return self->notify;
}

void
zmx_clone_stats (zmx_clone_t *self, zmx_clone_stats_t *stats)
{
    assert (self && stats);
    memset (stats, 0, sizeof *stats);
    zstr_send (self->actor, S_CMD_STATS);
    zframe_t *frame = zframe_recv (self->actor);
    if (frame && zframe_size (frame) == sizeof *stats)
        memcpy (stats, zframe_data (frame), sizeof *stats);
    zframe_destroy (&frame);
}
