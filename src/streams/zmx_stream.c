/*  =========================================================================
    zmx_stream - a client of the streams service (ZMXS1)

    Design notes:

    - One DEALER (made as zmx_client makes its own, CURVE through
      zmx_security_client_curve) carries everything: appends, any number
      of subscriptions and the admin requests, each command tagged.
      Subscriptions use the caller's id as their tag; everything else uses
      tags with the top bit set, so the two never meet (subscribe refuses
      ids with that bit).
    - A session is one TCP connection. The socket is made with reconnect
      off (ZMQ_RECONNECT_IVL -1): libzmq would otherwise reconnect under
      us to a restarted server that knows nothing of our subscriptions,
      and PING/PONG would go on as if nothing happened. Instead, when
      nothing came for three heartbeats (the server's interval from
      WELCOME, ours before), or the server answers ERROR 404 for a
      subscription this client holds, the client drops the socket and
      starts a new session: HELLO, every subscription again (a plain one
      from the sequence after the last record it returned, a durable one
      by name, where the server stored it), and every batch not
      acknowledged, with the same message ids (the server stores a record
      whose id it has seen once).
    - Appends: records are encoded into the current batch (one stream per
      batch); a batch goes out when full (records or bytes), or on flush,
      sync or next. Sent batches stay in `pending` until APPENDED, at most
      `window` of them: that bounds what a producer holds. APPENDED may
      come in any order; acknowledgements are delivered (callback,
      counters) in append order, from the head of `pending`.
    - Subscriptions: records are returned from one RECORDS message at a
      time; messages that arrive while the caller waits for something
      else (sync, subscribe, list) are queued, which the credit bounds
      (the queue has a hard limit too: past it the server broke the
      credit rule, and the session is started again). Credit is given
      back once half of it was taken by the application.
    - Every message is decoded and checked by zmx_stream_msg before use,
      then against this client's state (a known tag, the batch's record
      count, records in order). What fails is counted (invalid), logged
      rate-limited and dropped.
    =========================================================================
*/
#include "zmx_streams_internal.h"
#include <stdatomic.h>

#define S_TAG           0x7a6d0053  //  "zm" 0x0053: live zmx_stream_t
#define S_TAG_DEAD      0xDeadBeef  //  Written on destroy
#define S_LOG           "stream"
#define S_INTERNAL      (1ULL << 63)    //  Tags of appends and requests
#define S_LIVENESS      3           //  Heartbeats of silence before a new session
#define S_QUEUE_SPARE   1024        //  Queued events allowed over the credit
#define S_RECV_BURST    256         //  Messages read per pump before timers run

typedef enum {
    S_SUB_WAITING,              //  SUBSCRIBE sent, no answer yet
    S_SUB_ACTIVE,               //  SUBSCRIBED
    S_SUB_RETRY,                //  Durable consumer busy (409): ask again later
    S_SUB_FAILED                //  Refused; the error is in sub->error
} s_sub_state_t;

//  One batch of appends to one stream.
typedef struct {
    uint64_t tag;               //  Tag of its APPEND
    char stream [ZMX_STREAM_NAME_MAX + 1];
    byte *data;                 //  Batch records, wire form
    size_t size;                //  Bytes used
    size_t max;                 //  Bytes allocated
    size_t count;               //  Records
    uint64_t first_number;      //  This client's number of its first record
    uint64_t *sequences;        //  From APPENDED, NULL before
    int error;                  //  ZMX_OK, or why the server refused it
    bool done;                  //  Answered (APPENDED or ERROR)
    bool sent;                  //  Queued on the socket in this session
    bool lent;                  //  data is an s_buffer_t's, lent to libzmq when sent
} s_batch_t;

//  A batch buffer that libzmq may still be sending after its batch is
//  gone: a count of users (the client's batch or spare list, and each
//  send in flight) in front of the bytes. libzmq's I/O thread only ever
//  drops its use; whoever drops the last frees it.
typedef struct {
    atomic_int users;
    size_t size;
} s_buffer_t;

//  One subscription.
typedef struct {
    uint64_t id;                //  The caller's id, also its tag
    char stream [ZMX_STREAM_NAME_MAX + 1];
    char pattern [ZMX_STREAM_MSG_PATTERN_MAX + 1];
    uint8_t from;               //  As asked first
    uint64_t value;
    char durable [ZMX_STREAM_MSG_DURABLE_MAX + 1];  //  "" if none
    uint32_t credit;            //  Credit it keeps
    uint32_t consumed;          //  Records returned since credit was last given
    uint64_t position;          //  Next sequence the caller should see; 0: unknown
    bool live;                  //  LIVE returned once already
    s_sub_state_t state;
    int64_t retry_at;           //  S_SUB_RETRY: when to ask again
    int error;                  //  S_SUB_FAILED: the error
} s_sub_t;

//  A message kept for later: an event, or the reply to a request.
typedef struct {
    zmx_stream_msg_t msg;
    zmx_stream_view_t view;
    uint64_t session;           //  Session it came in
} s_held_t;

struct _zmx_stream_t {
    uint32_t tag;               //  S_TAG while alive
    char *endpoint;             //  Server endpoint
    char *curve_cert;           //  Client certificate path, NULL = no CURVE
    char *curve_server_key;     //  Server key or its certificate path
    zsock_t *socket;            //  DEALER of this session, or NULL
    uint64_t session;           //  Sessions started (1 = the first)
    int64_t session_at;         //  When the session started
    int64_t heard_at;           //  Last message from the server (or session start)
    int64_t sent_at;            //  Last message sent
    uint32_t heartbeat;         //  Our interval, msec
    uint32_t server_heartbeat;  //  From WELCOME; 0 before
    uint32_t max_record;        //  From WELCOME; 0 before
    uint32_t max_batch;         //  From WELCOME; 0 before
    int timeout;                //  Wait for window room / requests, msec
    uint64_t next_tag;          //  Internal tag counter

    //  Producing
    size_t batch_records;       //  Records per APPEND
    size_t batch_bytes;         //  Bytes per APPEND
    size_t window;              //  Batches in flight
    s_batch_t *building;        //  Batch being filled, or NULL
    zlist_t *spare;             //  Buffers of batch_bytes, kept for the next batches
    zlist_t *pending;           //  s_batch_t sent, in append order
    uint64_t appended;          //  Records numbered so far
    uint64_t acknowledged;      //  Records acknowledged
    uint64_t last_sequence;     //  Sequence of the last one acknowledged
    int sync_error;             //  First refusal since the last sync
    zmx_stream_ack_fn *ack_fn;
    void *ack_arg;
    byte *scratch;              //  Header encoding, ZMX_STREAM_HEADER_BYTES_MAX

    //  Subscribing
    uint32_t credit;            //  For new subscriptions
    zlist_t *subs;              //  s_sub_t
    zlist_t *queue;             //  s_held_t events waiting for next
    size_t queue_max;           //  Limit of queue
    s_held_t *current;          //  RECORDS being returned, or NULL
    const byte *at;             //  Next record in current
    char subject [ZMX_STREAM_MSG_PATTERN_MAX + 1];  //  Terminated copy

    //  Requests (list, delete, purge)
    uint64_t request_tag;       //  Waited for, 0 if none
    int request_command;        //  To send again in a new session
    char request_stream [ZMX_STREAM_NAME_MAX + 1];
    s_held_t *reply;            //  The answer, once here

    //  Counters and errors
    zmx_stream_counters_t counters;
    int64_t log_at;             //  Rate limit of warnings
    char error [ZMX_STREAM_MSG_REASON_MAX + 1];
};

static void s_session_start (zmx_stream_t *self);

//  -------------------------------------------------------------------------
//  Small helpers

//  A durable consumer name: 1 to 64 bytes of printable ASCII, no space.
static bool
s_durable_valid (const char *name)
{
    size_t size = name? strlen (name): 0;
    if (size == 0 || size > ZMX_STREAM_MSG_DURABLE_MAX)
        return false;
    for (size_t index = 0; index < size; index++)
        if (name [index] < 0x21 || name [index] > 0x7e)
            return false;
    return true;
}

static void
s_held_destroy (s_held_t **held_p)
{
    if (*held_p) {
        zmx_stream_msg_close (&(*held_p)->msg);
        free (*held_p);
        *held_p = NULL;
    }
}

static byte *
s_buffer_new (size_t size)
{
    s_buffer_t *buffer = (s_buffer_t *) malloc (sizeof (s_buffer_t) + size);
    if (!buffer)
        return NULL;
    atomic_init (&buffer->users, 1);
    buffer->size = size;
    return (byte *) (buffer + 1);
}

static s_buffer_t *
s_buffer_of (byte *data)
{
    return (s_buffer_t *) data - 1;
}

static void
s_buffer_release (byte *data)
{
    if (data && atomic_fetch_sub (&s_buffer_of (data)->users, 1) == 1)
        free (s_buffer_of (data));
}

//  libzmq is done sending a lent buffer (called from its I/O thread)
static void
s_buffer_sent (void *data, void *hint)
{
    (void) hint;
    s_buffer_release ((byte *) data);
}

static void
s_batch_destroy (s_batch_t **batch_p)
{
    if (*batch_p) {
        if ((*batch_p)->lent)
            s_buffer_release ((*batch_p)->data);
        else
            free ((*batch_p)->data);
        free ((*batch_p)->sequences);
        free (*batch_p);
        *batch_p = NULL;
    }
}

//  Buffers of exactly batch_bytes are reused: a fresh block of that size
//  (256 KiB by default) is mapped and unmapped by malloc each time, whose
//  page faults cost more than the appends' own copies.
static void
s_batch_recycle (zmx_stream_t *self, s_batch_t **batch_p)
{
    s_batch_t *batch = *batch_p;
    if (batch && batch->lent && batch->max == self->batch_bytes
    &&  zlist_size (self->spare) <= self->window) {
        zlist_append (self->spare, batch->data);
        batch->data = NULL;
    }
    s_batch_destroy (batch_p);
}

//  A spare buffer that libzmq no longer uses, or a new one
static byte *
s_spare_take (zmx_stream_t *self)
{
    for (byte *data = (byte *) zlist_first (self->spare); data;
         data = (byte *) zlist_next (self->spare))
        if (atomic_load (&s_buffer_of (data)->users) == 1) {
            zlist_remove (self->spare, data);
            return data;
        }
    return s_buffer_new (self->batch_bytes);
}

static void
s_spare_clear (zmx_stream_t *self)
{
    byte *data;
    while ((data = (byte *) zlist_pop (self->spare)))
        s_buffer_release (data);
}

static void
s_invalid (zmx_stream_t *self, const char *what)
{
    self->counters.invalid++;
    zmx__log_limited (S_LOG, &self->log_at, "dropped from %s: %s", self->endpoint, what);
}

static void
s_set_error (zmx_stream_t *self, const char *reason, size_t size)
{
    if (size > ZMX_STREAM_MSG_REASON_MAX)
        size = ZMX_STREAM_MSG_REASON_MAX;
    memcpy (self->error, reason, size);
    self->error [size] = 0;
}

//  The library error for an ERROR code.
static int
s_code_error (uint16_t code)
{
    switch (code) {
        case 400: case 404: return ZMX_EINVAL;
        case 413: case 429: return ZMX_ENOMEM;
        case 500: return ZMX_EIO;
        default: return ZMX_EPROTO;
    }
}

static uint64_t
s_tag_new (zmx_stream_t *self)
{
    return S_INTERNAL | ++self->next_tag;
}

static s_sub_t *
s_sub_find (zmx_stream_t *self, uint64_t id)
{
    for (s_sub_t *sub = (s_sub_t *) zlist_first (self->subs); sub;
         sub = (s_sub_t *) zlist_next (self->subs))
        if (sub->id == id)
            return sub;
    return NULL;
}

static s_batch_t *
s_batch_find (zmx_stream_t *self, uint64_t tag)
{
    for (s_batch_t *batch = (s_batch_t *) zlist_first (self->pending); batch;
         batch = (s_batch_t *) zlist_next (self->pending))
        if (batch->tag == tag)
            return batch;
    return NULL;
}

//  Send one command now, without blocking: a message that cannot be
//  queued is not sent (the session's recovery sends what matters again).
static int
s_send (zmx_stream_t *self, const zmx_stream_view_t *view)
{
    if (!self->socket)
        return -1;
    if (zmx_stream_msg_send (zsock_resolve (self->socket), NULL, view, ZMQ_DONTWAIT) != 0) {
        self->counters.send_failed++;
        return -1;
    }
    self->sent_at = zclock_mono ();
    return 0;
}

static void
s_send_tagged (zmx_stream_t *self, zmx_stream_command_t command, uint64_t tag)
{
    zmx_stream_view_t view = { .command = command, .tag = tag };
    s_send (self, &view);
}

//  -------------------------------------------------------------------------
//  Constructor, destructor, settings

zmx_stream_t *
zmx_stream_new (const char *endpoint)
{
    if (!zmx__endpoint_valid (endpoint))
        return NULL;
    zmx_stream_t *self = (zmx_stream_t *) zmalloc (sizeof (zmx_stream_t));
    assert (self);
    self->tag = S_TAG;
    self->endpoint = strdup (endpoint);
    self->heartbeat = 1000;
    self->timeout = 5000;
    self->batch_records = 1024;
    self->batch_bytes = 256 * 1024;
    self->window = 64;
    self->credit = 1000;
    self->queue_max = S_QUEUE_SPARE;
    self->pending = zlist_new ();
    self->subs = zlist_new ();
    self->queue = zlist_new ();
    self->spare = zlist_new ();
    self->scratch = (byte *) malloc (ZMX_STREAM_HEADER_BYTES_MAX);
    assert (self->endpoint && self->pending && self->subs && self->queue && self->spare
            && self->scratch);
    return self;
}

void
zmx_stream_destroy (zmx_stream_t **self_p)
{
    assert (self_p);
    zmx_stream_t *self = *self_p;
    if (!self)
        return;
    assert (self->tag == S_TAG);
    zsock_destroy (&self->socket);
    s_batch_destroy (&self->building);
    s_batch_t *batch;
    while ((batch = (s_batch_t *) zlist_pop (self->pending)))
        s_batch_destroy (&batch);
    zlist_destroy (&self->pending);
    s_spare_clear (self);
    zlist_destroy (&self->spare);
    s_sub_t *sub;
    while ((sub = (s_sub_t *) zlist_pop (self->subs)))
        free (sub);
    zlist_destroy (&self->subs);
    s_held_t *held;
    while ((held = (s_held_t *) zlist_pop (self->queue)))
        s_held_destroy (&held);
    zlist_destroy (&self->queue);
    s_held_destroy (&self->current);
    s_held_destroy (&self->reply);
    free (self->scratch);
    free (self->endpoint);
    free (self->curve_cert);
    free (self->curve_server_key);
    self->tag = S_TAG_DEAD;
    free (self);
    *self_p = NULL;
}

int
zmx_stream_set_curve (zmx_stream_t *self, const char *client_cert_path, const char *server_key)
{
    assert (self && self->tag == S_TAG);
    return zmx__curve_client_store (&self->curve_cert, &self->curve_server_key,
                                    client_cert_path, server_key);
}

void
zmx_stream_set_heartbeat (zmx_stream_t *self, uint32_t heartbeat_ms)
{
    assert (self && self->tag == S_TAG);
    self->heartbeat = heartbeat_ms? heartbeat_ms: 1;
}

void
zmx_stream_set_timeout (zmx_stream_t *self, int timeout_ms)
{
    assert (self && self->tag == S_TAG);
    self->timeout = timeout_ms < 0? 0: timeout_ms;
}

void
zmx_stream_set_window (zmx_stream_t *self, size_t batch_records, size_t batch_bytes,
                       size_t batches_in_flight)
{
    assert (self && self->tag == S_TAG);
    self->batch_records = batch_records? batch_records: 1;
    if (self->batch_records > ZMX_STREAM_MSG_BATCH_MAX)
        self->batch_records = ZMX_STREAM_MSG_BATCH_MAX;
    self->batch_bytes = batch_bytes? batch_bytes: 1;
    self->window = batches_in_flight? batches_in_flight: 1;
    s_spare_clear (self);       //  Their size was the old batch_bytes
}

void
zmx_stream_set_ack_fn (zmx_stream_t *self, zmx_stream_ack_fn *ack_fn, void *arg)
{
    assert (self && self->tag == S_TAG);
    self->ack_fn = ack_fn;
    self->ack_arg = arg;
}

void
zmx_stream_set_credit (zmx_stream_t *self, uint32_t credit)
{
    assert (self && self->tag == S_TAG);
    self->credit = credit? credit: 1;
}

const char *
zmx_stream_error (zmx_stream_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->error;
}

void
zmx_stream_counters (zmx_stream_t *self, zmx_stream_counters_t *counters)
{
    assert (self && self->tag == S_TAG && counters);
    *counters = self->counters;
}

//  -------------------------------------------------------------------------
//  Sessions

static void
s_sub_send (zmx_stream_t *self, s_sub_t *sub)
{
    zmx_stream_view_t view = {
        .command = ZMX_STREAM_MSG_SUBSCRIBE, .tag = sub->id,
        .stream = sub->stream, .stream_size = strlen (sub->stream),
        .pattern = sub->pattern, .pattern_size = strlen (sub->pattern),
        .from = sub->from, .value = sub->value, .credit = sub->credit,
        .durable = sub->durable, .durable_size = strlen (sub->durable)
    };
    //  A plain subscription goes on from the record after the last one
    //  returned (or where the server first placed it); a durable one is
    //  placed by the server, where its consumer stands
    if (!sub->durable [0] && sub->position) {
        view.from = ZMX_STREAM_FROM_SEQUENCE;
        view.value = sub->position;
    }
    sub->state = S_SUB_WAITING;
    sub->consumed = 0;
    s_send (self, &view);
}

static void
s_batch_send (zmx_stream_t *self, s_batch_t *batch)
{
    zmx_stream_view_t view = {
        .command = ZMX_STREAM_MSG_APPEND, .tag = batch->tag,
        .stream = batch->stream, .stream_size = strlen (batch->stream),
        .blob = batch->data, .blob_size = batch->size, .count = batch->count
    };
    if (!batch->lent) {
        batch->sent = s_send (self, &view) == 0;
        return;
    }
    //  Lent, not copied: the batch keeps its use for a resend
    batch->sent = false;
    if (!self->socket)
        return;
    atomic_fetch_add (&s_buffer_of (batch->data)->users, 1);
    if (zmx_stream_msg_send_lent (zsock_resolve (self->socket), NULL, &view, ZMQ_DONTWAIT,
                                  s_buffer_sent, NULL) != 0) {
        self->counters.send_failed++;
        return;
    }
    self->sent_at = zclock_mono ();
    batch->sent = true;
}

static void
s_request_send (zmx_stream_t *self)
{
    zmx_stream_view_t view = { .command = (zmx_stream_command_t) self->request_command,
                               .tag = self->request_tag };
    if (self->request_stream [0]) {
        view.stream = self->request_stream;
        view.stream_size = strlen (self->request_stream);
    }
    s_send (self, &view);
}

//  Start a new session: a new socket, HELLO, then every subscription and
//  every batch not acknowledged, in order. What the last session left
//  queued is dropped: it is asked for again.
static void
s_session_start (zmx_stream_t *self)
{
    if (self->socket) {
        zsock_destroy (&self->socket);
        self->counters.reconnects++;
    }
    self->session++;
    self->session_at = self->heard_at = self->sent_at = zclock_mono ();
    self->server_heartbeat = 0;
    s_held_t *held;
    while ((held = (s_held_t *) zlist_pop (self->queue)))
        s_held_destroy (&held);
    if (self->current)
        self->at = NULL;        //  Kept: the caller may still read its last record
    s_held_destroy (&self->reply);

    zsock_t *socket = zmx__sock_new (ZMQ_DEALER);
    if (!socket)
        return;                 //  Tried again after a heartbeat
    zsock_set_linger (socket, 0);
    zsock_set_reconnect_ivl (socket, -1);
    zsock_set_maxmsgsize (socket, ZMX_SECURITY_MAX_MESSAGE);
    zsock_set_sndhwm (socket, (int) (self->window + 1000));
    if ((self->curve_cert
         && zmx_security_client_curve (socket, self->curve_cert, self->curve_server_key)
            != ZMX_OK)
    ||  zsock_connect (socket, "%s", self->endpoint) != 0) {
        zmx__log_limited (S_LOG, &self->log_at, "cannot connect to %s", self->endpoint);
        zsock_destroy (&socket);
        return;
    }
    self->socket = socket;
    zmx_stream_view_t hello = { .command = ZMX_STREAM_MSG_HELLO,
                                .version = ZMX_STREAM_MSG_VERSION,
                                .heartbeat_ms = self->heartbeat };
    s_send (self, &hello);
    for (s_sub_t *sub = (s_sub_t *) zlist_first (self->subs); sub;
         sub = (s_sub_t *) zlist_next (self->subs))
        if (sub->state != S_SUB_FAILED)
            s_sub_send (self, sub);
    for (s_batch_t *batch = (s_batch_t *) zlist_first (self->pending); batch;
         batch = (s_batch_t *) zlist_next (self->pending))
        if (!batch->done) {
            if (self->session > 1)
                self->counters.resent++;
            s_batch_send (self, batch);
        }
    if (self->request_tag)
        s_request_send (self);
}

//  Timers: a new session when the server went silent, PING when we were,
//  durable subscriptions to ask for again, batches not yet queued.
static void
s_tick (zmx_stream_t *self)
{
    int64_t now = zclock_mono ();
    uint32_t beat = self->server_heartbeat? self->server_heartbeat: self->heartbeat;
    if (!self->socket
    ||  now - self->heard_at > (int64_t) S_LIVENESS * beat) {
        if (self->socket)
            self->counters.lost++;
        s_session_start (self);
        return;
    }
    if (now - self->sent_at >= self->heartbeat) {
        zmx_stream_view_t ping = { .command = ZMX_STREAM_MSG_PING };
        s_send (self, &ping);
    }
    for (s_sub_t *sub = (s_sub_t *) zlist_first (self->subs); sub;
         sub = (s_sub_t *) zlist_next (self->subs))
        if (sub->state == S_SUB_RETRY && now >= sub->retry_at)
            s_sub_send (self, sub);
    for (s_batch_t *batch = (s_batch_t *) zlist_first (self->pending); batch;
         batch = (s_batch_t *) zlist_next (self->pending))
        if (!batch->done && !batch->sent)
            s_batch_send (self, batch);
}

//  -------------------------------------------------------------------------
//  Handling what the server sends

//  Deliver acknowledgements from the head of pending, in append order.
static void
s_acks_deliver (zmx_stream_t *self)
{
    s_batch_t *batch;
    while ((batch = (s_batch_t *) zlist_first (self->pending)) && batch->done) {
        zlist_pop (self->pending);
        if (batch->error == ZMX_OK) {
            for (size_t index = 0; index < batch->count; index++) {
                self->acknowledged++;
                self->last_sequence = batch->sequences [index];
                if (self->ack_fn)
                    self->ack_fn (self->ack_arg, batch->first_number + index,
                                  batch->sequences [index]);
            }
        }
        else
        if (self->sync_error == ZMX_OK)
            self->sync_error = batch->error;
        s_batch_recycle (self, &batch);
    }
}

static void
s_handle_appended (zmx_stream_t *self, const zmx_stream_view_t *view)
{
    s_batch_t *batch = s_batch_find (self, view->tag);
    if (!batch || batch->done) {
        self->counters.stale++;     //  Of a batch refused, or answered twice
        return;
    }
    if (view->count != batch->count) {
        s_invalid (self, "APPENDED with a wrong record count");
        return;
    }
    batch->sequences = (uint64_t *) malloc (batch->count * sizeof (uint64_t));
    assert (batch->sequences);
    for (size_t index = 0; index < batch->count; index++)
        batch->sequences [index] = zmx_stream_msg_get_u64 (view->blob + 8 * index);
    batch->done = true;
    s_acks_deliver (self);
}

//  Split a batch the server refused as over its max batch (it was sent
//  before WELCOME gave the limit) into batches within the limit, sent in
//  its place.
static void
s_batch_split (zmx_stream_t *self, s_batch_t *batch)
{
    zlist_t *pending = zlist_new ();
    assert (pending);
    s_batch_t *item;
    while ((item = (s_batch_t *) zlist_pop (self->pending))) {
        if (item != batch) {
            zlist_append (pending, item);
            continue;
        }
        const byte *at = batch->data, *end = batch->data + batch->size;
        s_batch_t *piece = NULL;
        zmx_stream_batch_record_t record;
        uint64_t number = batch->first_number;
        while (true) {
            const byte *start = at;
            bool more = zmx_stream_msg_batch_next (&at, end, &record);
            if (piece && (!more || piece->count == self->max_batch)) {
                zlist_append (pending, piece);
                s_batch_send (self, piece);
                piece = NULL;
            }
            if (!more)
                break;
            if (!piece) {
                piece = (s_batch_t *) zmalloc (sizeof (s_batch_t));
                assert (piece);
                piece->tag = s_tag_new (self);
                strcpy (piece->stream, batch->stream);
                piece->first_number = number;
                piece->max = (size_t) (end - start);     //  Room for the rest
                piece->data = (byte *) malloc (piece->max);
                assert (piece->data);
            }
            memcpy (piece->data + piece->size, start, (size_t) (at - start));
            piece->size += (size_t) (at - start);
            piece->count++;
            number++;
        }
        s_batch_destroy (&batch);
    }
    zlist_destroy (&self->pending);
    self->pending = pending;
}

static void
s_handle_error (zmx_stream_t *self, const zmx_stream_view_t *view, s_held_t **held_p)
{
    s_set_error (self, view->reason, view->reason_size);
    s_batch_t *batch = s_batch_find (self, view->tag);
    s_sub_t *sub = (view->tag & S_INTERNAL)? NULL: s_sub_find (self, view->tag);
    if (batch && !batch->done && view->code == 413 && self->max_batch
    &&  batch->count > self->max_batch)
        s_batch_split (self, batch);    //  Sent before WELCOME told the limit
    else
    if (batch && !batch->done) {
        batch->done = true;
        batch->error = s_code_error (view->code);
        s_acks_deliver (self);
    }
    else
    if (self->request_tag && view->tag == self->request_tag) {
        s_held_destroy (&self->reply);
        self->reply = *held_p;
        *held_p = NULL;
    }
    else
    if (sub && sub->state == S_SUB_WAITING && view->code == 409 && sub->durable [0]) {
        //  The consumer is still held by a connection the server has not
        //  forgotten yet (ours, or a process that died): ask again
        sub->state = S_SUB_RETRY;
        sub->retry_at = zclock_mono () + self->heartbeat;
    }
    else
    if (sub && sub->state == S_SUB_WAITING) {
        sub->state = S_SUB_FAILED;
        sub->error = view->code == 409? ZMX_EPROTO: s_code_error (view->code);
    }
    else
    if (sub && view->code == 404) {
        //  The server forgot this client: start again
        self->counters.lost++;
        s_session_start (self);
    }
    else {
        self->counters.errors++;
        zmx__log_limited (S_LOG, &self->log_at, "server error %u: %.*s",
                          view->code, (int) view->reason_size, view->reason);
    }
}

static void
s_handle_subscribed (zmx_stream_t *self, const zmx_stream_view_t *view)
{
    s_sub_t *sub = s_sub_find (self, view->tag);
    if (!sub || sub->state != S_SUB_WAITING) {
        self->counters.stale++;
        return;
    }
    sub->state = S_SUB_ACTIVE;
    //  A plain subscription skips what it returned already; the server may
    //  start later when retention dropped records meanwhile
    if (sub->durable [0] || view->sequence > sub->position)
        sub->position = view->sequence;
}

//  Keep an event for zmx_stream_next, if its subscription is ours.
static void
s_handle_event (zmx_stream_t *self, s_held_t **held_p)
{
    s_sub_t *sub = s_sub_find (self, (*held_p)->view.tag);
    if (!sub || sub->state != S_SUB_ACTIVE) {
        self->counters.stale++;     //  Unsubscribed, or of a past session
        return;
    }
    if (zlist_size (self->queue) >= self->queue_max) {
        //  More than the credit allows: the server broke the protocol
        s_invalid (self, "records over the credit");
        s_session_start (self);
        return;
    }
    (*held_p)->session = self->session;
    zlist_append (self->queue, *held_p);
    *held_p = NULL;
}

//  Decode and handle one received message (consumed).
static void
s_handle_message (zmx_stream_t *self, s_held_t *held)
{
    const char *reason = NULL;
    if (zmx_stream_msg_decode_msg (&held->msg, 0, ZMX_STREAM_MSG_CLIENT, &held->view,
                                   &reason) != 0) {
        s_invalid (self, reason? reason: "malformed");
        s_held_destroy (&held);
        return;
    }
    self->heard_at = zclock_mono ();
    self->counters.received++;
    const zmx_stream_view_t *view = &held->view;
    switch (view->command) {
        case ZMX_STREAM_MSG_WELCOME:
            self->server_heartbeat = view->heartbeat_ms;
            self->max_record = view->max_record;
            self->max_batch = view->max_batch;
            break;
        case ZMX_STREAM_MSG_PING: {
            zmx_stream_view_t pong = { .command = ZMX_STREAM_MSG_PONG };
            s_send (self, &pong);
            break;
        }
        case ZMX_STREAM_MSG_PONG:
            break;
        case ZMX_STREAM_MSG_APPENDED:
            s_handle_appended (self, view);
            break;
        case ZMX_STREAM_MSG_SUBSCRIBED:
            s_handle_subscribed (self, view);
            break;
        case ZMX_STREAM_MSG_RECORDS:
        case ZMX_STREAM_MSG_LIVE:
        case ZMX_STREAM_MSG_DROPPED:
            s_handle_event (self, &held);
            break;
        case ZMX_STREAM_MSG_STREAMINFO:
        case ZMX_STREAM_MSG_OK:
            if (self->request_tag && view->tag == self->request_tag) {
                s_held_destroy (&self->reply);
                self->reply = held;
                held = NULL;
            }
            else
                self->counters.stale++;
            break;
        case ZMX_STREAM_MSG_ERROR:
            s_handle_error (self, view, &held);
            break;
        default:
            s_invalid (self, "a command the server does not send");
            break;
    }
    s_held_destroy (&held);
}

//  Wait up to timeout_ms (capped at a heartbeat) for traffic, handle what
//  came, then run the timers. Returns ZMX_OK, or ZMX_ETERM if interrupted.
static int
s_pump (zmx_stream_t *self, int timeout_ms)
{
    if (timeout_ms > (int) self->heartbeat)
        timeout_ms = (int) self->heartbeat;
    if (self->socket) {
        zmq_pollitem_t item = { zsock_resolve (self->socket), 0, ZMQ_POLLIN, 0 };
        int rc = zmq_poll (&item, 1, timeout_ms);
        if (rc < 0 && (zmq_errno () == ETERM || zsys_interrupted))
            return ZMX_ETERM;
        for (int count = 0; rc > 0 && self->socket && count < S_RECV_BURST; count++) {
            s_held_t *held = (s_held_t *) zmalloc (sizeof (s_held_t));
            assert (held);
            if (zmx_stream_msg_recv (&held->msg, zsock_resolve (self->socket),
                                     ZMQ_DONTWAIT) != 0) {
                free (held);
                break;
            }
            s_handle_message (self, held);
        }
    }
    else
    if (timeout_ms > 0)
        zclock_sleep (timeout_ms);      //  No socket: wait for the next attempt
    s_tick (self);
    return zsys_interrupted? ZMX_ETERM: ZMX_OK;
}

//  -------------------------------------------------------------------------
//  Producing

//  Send the batch being built, waiting (up to the client's timeout) for
//  room in the window. Returns ZMX_OK or ZMX_ETIMEDOUT.
static int
s_flush (zmx_stream_t *self)
{
    if (!self->building)
        return ZMX_OK;
    if (!self->socket)
        s_session_start (self);
    int64_t deadline = zclock_mono () + self->timeout;
    while (zlist_size (self->pending) >= self->window) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return ZMX_ETIMEDOUT;
        if (s_pump (self, (int) left) == ZMX_ETERM)
            return ZMX_ETERM;
    }
    s_batch_t *batch = self->building;
    self->building = NULL;
    zlist_append (self->pending, batch);
    s_batch_send (self, batch);
    return ZMX_OK;
}

int
zmx_stream_flush (zmx_stream_t *self)
{
    assert (self && self->tag == S_TAG);
    return s_flush (self);
}

int
zmx_stream_append (zmx_stream_t *self, const char *stream, const char *subject,
                   const zmx_stream_header_t *headers, size_t header_count,
                   const void *body, size_t body_size, const void *msg_id,
                   size_t msg_id_size, uint64_t *number_p)
{
    assert (self && self->tag == S_TAG);
    size_t subject_size = subject? strlen (subject): 0;
    if (!zmx__stream_name_valid (stream) || !zmx_subject_valid (subject, subject_size)
    ||  msg_id_size > ZMX_STREAM_MSG_ID_MAX || (msg_id_size && !msg_id)
    ||  (body_size && !body) || header_count > ZMX_STREAM_HEADERS_MAX)
        return ZMX_EINVAL;
    int64_t headers_size = header_count?
        zmx_stream_msg_headers_encode (headers, header_count, self->scratch,
                                       ZMX_STREAM_HEADER_BYTES_MAX): 0;
    if (headers_size < 0)
        return ZMX_EINVAL;
    uint64_t record_size = subject_size + (uint64_t) headers_size + body_size;
    if (record_size > (self->max_record? self->max_record: ZMX_STREAM_RECORD_HARD_MAX)
    ||  body_size > UINT32_MAX)
        return ZMX_ENOMEM;
    size_t size = zmx_stream_msg_batch_record_size (subject_size, msg_id_size,
                                                    (size_t) headers_size, body_size);
    size_t max_records = self->batch_records;
    if (self->max_batch && self->max_batch < max_records)
        max_records = self->max_batch;
    s_batch_t *batch = self->building;
    if (batch && (!streq (batch->stream, stream) || batch->count >= max_records
               || batch->size + size > self->batch_bytes)) {
        int rc = s_flush (self);
        if (rc != ZMX_OK)
            return rc;
        batch = NULL;
    }
    if (!batch) {
        batch = (s_batch_t *) zmalloc (sizeof (s_batch_t));
        assert (batch);
        batch->tag = s_tag_new (self);
        strcpy (batch->stream, stream);
        batch->first_number = self->appended + 1;
        self->building = batch;
    }
    if (!batch->data && size <= self->batch_bytes) {
        batch->data = s_spare_take (self);
        if (!batch->data)
            return ZMX_ENOMEM;
        batch->max = self->batch_bytes;
        batch->lent = true;
    }
    if (batch->size + size > batch->max) {
        size_t max = batch->max? batch->max * 2: 4096;
        while (max < batch->size + size)
            max *= 2;
        byte *data = (byte *) realloc (batch->data, max);
        if (!data)
            return ZMX_ENOMEM;
        batch->data = data;
        batch->max = max;
    }
    batch->size += zmx_stream_msg_batch_record_put (batch->data + batch->size, subject,
                                                    subject_size, msg_id, msg_id_size,
                                                    self->scratch, (size_t) headers_size,
                                                    body, body_size);
    batch->count++;
    self->appended++;
    if (number_p)
        *number_p = self->appended;
    if (batch->count >= max_records || batch->size >= self->batch_bytes)
        return s_flush (self) == ZMX_ETERM? ZMX_ETERM: ZMX_OK;
    return ZMX_OK;
}

int
zmx_stream_sync (zmx_stream_t *self, int timeout_ms)
{
    assert (self && self->tag == S_TAG);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (self->building) {
        int saved = self->timeout;
        int64_t left = deadline - zclock_mono ();
        self->timeout = left > 0? (int) left: 0;
        int rc = s_flush (self);
        self->timeout = saved;
        if (rc != ZMX_OK)
            return rc;
    }
    while (zlist_size (self->pending)) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return ZMX_ETIMEDOUT;
        if (s_pump (self, (int) left) == ZMX_ETERM)
            return ZMX_ETERM;
    }
    int rc = self->sync_error;
    self->sync_error = ZMX_OK;
    return rc;
}

uint64_t
zmx_stream_acknowledged (zmx_stream_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->acknowledged;
}

uint64_t
zmx_stream_last_sequence (zmx_stream_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->last_sequence;
}

//  -------------------------------------------------------------------------
//  Subscribing

int
zmx_stream_subscribe (zmx_stream_t *self, uint64_t id, const char *stream,
                      const char *pattern, zmx_stream_from_t from, uint64_t value,
                      const char *durable)
{
    assert (self && self->tag == S_TAG);
    if ((id & S_INTERNAL) || s_sub_find (self, id) || !zmx__stream_name_valid (stream)
    ||  (pattern && !zmx_subject_pattern_valid (pattern))
    ||  (unsigned) from > ZMX_STREAM_MSG_FROM_MAX
    ||  (durable && !s_durable_valid (durable)))
        return ZMX_EINVAL;
    if (zlist_size (self->subs) >= ZMX_STREAM_SUBSCRIPTIONS_MAX)
        return ZMX_ENOMEM;
    s_sub_t *sub = (s_sub_t *) zmalloc (sizeof (s_sub_t));
    assert (sub);
    sub->id = id;
    strcpy (sub->stream, stream);
    snprintf (sub->pattern, sizeof (sub->pattern), "%s", pattern? pattern: "");
    sub->from = (uint8_t) from;
    sub->value = value;
    snprintf (sub->durable, sizeof (sub->durable), "%s", durable? durable: "");
    sub->credit = self->credit;
    zlist_append (self->subs, sub);
    self->queue_max += sub->credit;
    if (!self->socket)
        s_session_start (self);
    else
        s_sub_send (self, sub);

    int64_t deadline = zclock_mono () + self->timeout;
    int rc = ZMX_ETIMEDOUT;
    while (zclock_mono () < deadline) {
        if (sub->state == S_SUB_ACTIVE)
            return ZMX_OK;
        if (sub->state == S_SUB_FAILED) {
            rc = sub->error;
            break;
        }
        if (s_pump (self, (int) (deadline - zclock_mono ())) == ZMX_ETERM) {
            rc = ZMX_ETERM;
            break;
        }
    }
    if (sub->state == S_SUB_ACTIVE)
        return ZMX_OK;
    if (rc == ZMX_ETIMEDOUT)
        s_send_tagged (self, ZMX_STREAM_MSG_UNSUBSCRIBE, id);
    zlist_remove (self->subs, sub);
    self->queue_max -= sub->credit;
    free (sub);
    return rc;
}

int
zmx_stream_unsubscribe (zmx_stream_t *self, uint64_t id)
{
    assert (self && self->tag == S_TAG);
    s_sub_t *sub = s_sub_find (self, id);
    if (!sub)
        return ZMX_EINVAL;
    s_send_tagged (self, ZMX_STREAM_MSG_UNSUBSCRIBE, id);
    zlist_remove (self->subs, sub);
    self->queue_max -= sub->credit;
    free (sub);
    return ZMX_OK;
}

//  Give credit back once the application took half of it.
static void
s_credit_refill (zmx_stream_t *self, s_sub_t *sub)
{
    sub->consumed++;
    if (sub->consumed >= sub->credit / 2 || sub->consumed >= sub->credit) {
        zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_CREDIT, .tag = sub->id,
                                   .credit = sub->consumed };
        if (s_send (self, &view) == 0)
            sub->consumed = 0;
    }
}

//  The next record of the current RECORDS message into *event, skipping
//  what a plain subscription returned already. False when none is left.
static bool
s_next_record (zmx_stream_t *self, zmx_stream_event_t *event)
{
    const byte *end = self->current->view.blob + self->current->view.blob_size;
    zmx_stream_delivered_t record;
    while (self->at && zmx_stream_msg_delivered_next (&self->at, end, &record)) {
        s_sub_t *sub = s_sub_find (self, self->current->view.tag);
        if (!sub)
            return false;       //  Unsubscribed meanwhile
        if (!sub->durable [0] && record.sequence < sub->position) {
            self->counters.duplicates++;
            s_credit_refill (self, sub);
            continue;
        }
        memcpy (self->subject, record.subject, record.subject_size);
        self->subject [record.subject_size] = 0;
        memset (event, 0, sizeof (*event));
        event->type = ZMX_STREAM_EVENT_RECORD;
        event->subscription = sub->id;
        event->sequence = record.sequence;
        event->record.sequence = record.sequence;
        event->record.time_ns = record.time_ns;
        event->record.subject = self->subject;
        event->record.subject_size = record.subject_size;
        event->record.header_count = record.header_count;
        event->record.headers = record.headers;
        event->record.headers_size = record.headers_size;
        event->record.body = record.body;
        event->record.body_size = record.body_size;
        sub->position = record.sequence + 1;
        self->counters.records++;
        s_credit_refill (self, sub);
        return true;
    }
    return false;
}

//  Take the next queued event into *event (RECORDS become current).
//  True if it gave an event now.
static bool
s_next_queued (zmx_stream_t *self, zmx_stream_event_t *event)
{
    s_held_destroy (&self->current);
    self->at = NULL;
    s_held_t *held = (s_held_t *) zlist_pop (self->queue);
    if (!held)
        return false;
    s_sub_t *sub = s_sub_find (self, held->view.tag);
    if (!sub || held->session != self->session) {
        s_held_destroy (&held);
        return false;
    }
    memset (event, 0, sizeof (*event));
    event->subscription = sub->id;
    if (held->view.command == ZMX_STREAM_MSG_RECORDS) {
        self->current = held;
        self->at = held->view.blob;
        return s_next_record (self, event);
    }
    bool give = true;
    if (held->view.command == ZMX_STREAM_MSG_LIVE) {
        event->type = ZMX_STREAM_EVENT_LIVE;
        event->sequence = held->view.sequence;
        give = !sub->live;      //  Once, not again after a new session
        sub->live = true;
    }
    else {
        event->type = ZMX_STREAM_EVENT_DROPPED;
        event->sequence = held->view.sequence;
        event->first = held->view.first;
        if (!sub->durable [0] && held->view.first > sub->position)
            sub->position = held->view.first;
    }
    s_held_destroy (&held);
    return give;
}

int
zmx_stream_next (zmx_stream_t *self, zmx_stream_event_t *event, int timeout_ms)
{
    assert (self && self->tag == S_TAG && event);
    if (self->building)
        s_flush (self);
    int64_t deadline = timeout_ms < 0? INT64_MAX: zclock_mono () + timeout_ms;
    while (true) {
        if (self->current && s_next_record (self, event))
            return ZMX_OK;
        while (zlist_size (self->queue))
            if (s_next_queued (self, event))
                return ZMX_OK;
        s_held_destroy (&self->current);
        int64_t left = deadline - zclock_mono ();
        if (left < 0)
            return ZMX_ETIMEDOUT;
        if (s_pump (self, left > INT_MAX? INT_MAX: (int) left) == ZMX_ETERM)
            return ZMX_ETERM;
        if (zlist_size (self->queue) == 0 && zclock_mono () >= deadline)
            return ZMX_ETIMEDOUT;
    }
}

bool
zmx_stream_event_header (const zmx_stream_event_t *event, size_t index,
                         zmx_stream_header_t *header)
{
    assert (event && header);
    if (event->type != ZMX_STREAM_EVENT_RECORD || index >= event->record.header_count)
        return false;
    zmx_stream_header_t headers [ZMX_STREAM_HEADERS_MAX];
    int count = zmx_stream_msg_headers_decode ((const byte *) event->record.headers,
                                               event->record.headers_size, headers,
                                               ZMX_STREAM_HEADERS_MAX);
    if (count < 0 || index >= (size_t) count)
        return false;
    *header = headers [index];
    return true;
}

static int
s_ack_send (zmx_stream_t *self, zmx_stream_command_t command, uint64_t id, uint64_t sequence)
{
    assert (self && self->tag == S_TAG);
    s_sub_t *sub = s_sub_find (self, id);
    if (!sub || !sub->durable [0])
        return ZMX_EINVAL;
    byte blob [8];
    zmx_stream_msg_put_u64 (blob, sequence);
    zmx_stream_view_t view = { .command = command, .tag = id, .blob = blob, .blob_size = 8,
                               .count = 1 };
    //  Not sent (no session now): the server delivers it again
    s_send (self, &view);
    return ZMX_OK;
}

int
zmx_stream_ack (zmx_stream_t *self, uint64_t id, uint64_t sequence)
{
    return s_ack_send (self, ZMX_STREAM_MSG_ACK, id, sequence);
}

int
zmx_stream_nack (zmx_stream_t *self, uint64_t id, uint64_t sequence)
{
    return s_ack_send (self, ZMX_STREAM_MSG_NACK, id, sequence);
}

//  -------------------------------------------------------------------------
//  Administration

//  Send a request and wait for its answer (kept in self->reply). Returns
//  ZMX_OK, ZMX_ETIMEDOUT or ZMX_ETERM.
static int
s_request (zmx_stream_t *self, zmx_stream_command_t command, const char *stream,
           int timeout_ms)
{
    s_held_destroy (&self->reply);
    self->request_tag = s_tag_new (self);
    self->request_command = command;
    snprintf (self->request_stream, sizeof (self->request_stream), "%s", stream? stream: "");
    if (!self->socket)
        s_session_start (self);
    else
        s_request_send (self);
    int64_t deadline = zclock_mono () + timeout_ms;
    int rc = ZMX_ETIMEDOUT;
    while (!self->reply) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        if (s_pump (self, (int) left) == ZMX_ETERM) {
            rc = ZMX_ETERM;
            break;
        }
    }
    self->request_tag = 0;
    if (self->reply)
        rc = ZMX_OK;
    return rc;
}

//  The result of a request answered by OK or ERROR.
static int
s_reply_result (zmx_stream_t *self)
{
    int rc = ZMX_EPROTO;
    if (self->reply->view.command == ZMX_STREAM_MSG_OK)
        rc = ZMX_OK;
    else
    if (self->reply->view.command == ZMX_STREAM_MSG_ERROR)
        rc = s_code_error (self->reply->view.code);
    s_held_destroy (&self->reply);
    return rc;
}

static int
s_compare_info (const void *left, const void *right)
{
    return strcmp (((const zmx_stream_info_t *) left)->name,
                   ((const zmx_stream_info_t *) right)->name);
}

int
zmx_stream_list (zmx_stream_t *self, zmx_stream_info_t **infos_p, size_t *count_p,
                 int timeout_ms)
{
    assert (self && self->tag == S_TAG && infos_p && count_p);
    *infos_p = NULL;
    *count_p = 0;
    int rc = s_request (self, ZMX_STREAM_MSG_STREAMS, NULL, timeout_ms);
    if (rc != ZMX_OK)
        return rc;
    if (self->reply->view.command != ZMX_STREAM_MSG_STREAMINFO)
        return s_reply_result (self);
    const zmx_stream_view_t *view = &self->reply->view;
    zmx_stream_info_t *infos = (zmx_stream_info_t *) calloc (view->count + 1,
                                                             sizeof (zmx_stream_info_t));
    assert (infos);
    const byte *at = view->blob;
    zmx_stream_info_wire_t wire;
    size_t count = 0;
    while (count < view->count && zmx_stream_msg_info_next (&at, view->blob + view->blob_size,
                                                            &wire)) {
        zmx_stream_info_t *info = &infos [count++];
        size_t size = wire.name_size > ZMX_STREAM_NAME_MAX? ZMX_STREAM_NAME_MAX: wire.name_size;
        memcpy (info->name, wire.name, size);
        info->records = wire.records;
        info->bytes = wire.bytes;
        info->first_sequence = wire.first_sequence;
        info->last_sequence = wire.last_sequence;
        info->first_time_ns = (int64_t) wire.first_time_ns;
        info->last_time_ns = (int64_t) wire.last_time_ns;
        info->consumers = wire.consumers;
    }
    s_held_destroy (&self->reply);
    qsort (infos, count, sizeof (zmx_stream_info_t), s_compare_info);
    *infos_p = infos;
    *count_p = count;
    return ZMX_OK;
}

static int
s_admin (zmx_stream_t *self, zmx_stream_command_t command, const char *stream, int timeout_ms)
{
    assert (self && self->tag == S_TAG);
    if (!zmx__stream_name_valid (stream))
        return ZMX_EINVAL;
    int rc = s_request (self, command, stream, timeout_ms);
    return rc == ZMX_OK? s_reply_result (self): rc;
}

int
zmx_stream_delete (zmx_stream_t *self, const char *stream, int timeout_ms)
{
    return s_admin (self, ZMX_STREAM_MSG_DELETE, stream, timeout_ms);
}

int
zmx_stream_purge (zmx_stream_t *self, const char *stream, int timeout_ms)
{
    return s_admin (self, ZMX_STREAM_MSG_PURGE, stream, timeout_ms);
}
