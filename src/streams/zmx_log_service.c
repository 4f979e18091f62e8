/*  =========================================================================
    zmx_log_service - the "log" service: streams served over ZMXS1 on a
    ROUTER (docs/PROTOCOLS.md), one zmx_stream_store under the data
    directory (docs/STREAMS.md, "The log service")

    One thread owns the store, its cursors and every client. Each wakeup
    drains a bounded number of messages, appends every APPEND's records
    without flushing, flushes each touched stream once, and answers
    APPENDED only for batches whose last sequence the store reports
    durable (under "interval" that is after the store's fsync thread has
    caught up, seen at a later tick). Subscriptions read the store through
    their own cursor and send RECORDS only while they have credit: a
    record is read from the file only when it can be sent, so a slow
    reader costs its cursor and nothing more. Live delivery is the same
    cursor reading on after the flush: no gap, no repeat at the hand-over.

    Durable consumers keep a sorted array of delivered, unacknowledged
    sequences; their position (the first sequence not acknowledged) is
    written to DIR/.consumers/ by zmx_log_positions (crash-safe writes).

    Message-id de-duplication is zmx_log_dedup's; the ingest's ways in
    (SUB, syslog) are zmx_log_ingest's: this file polls their sockets.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_log_service.h"
#include "zmx_log_dedup.h"
#include "zmx_log_ingest.h"
#include "zmx_log_positions.h"

#define S_DEFAULT_ENDPOINT      "tcp://127.0.0.1:5561"
#define S_DEFAULT_DIRECTORY     "zmxd-data/streams"
#define S_DRAIN_LIMIT           256     //  Messages read per wakeup
#define S_TURN_RECORDS          256     //  Records per subscription per turn
#define S_TICK_MAX_MSEC         100     //  Longest sleep between ticks
#define S_ACK_POLL_MSEC         1       //  Sleep while batches wait to be durable
#define S_SAVE_MSEC             100     //  Least time between two writes of a consumer
#define S_IDENTITY_MAX          255

//  Every config key the service reads
const char *const zmx__log_service_keys [] = {
    "endpoint", "ingest-endpoint", "syslog-endpoint", "default-stream", "default-subject",
    "data-directory", "fsync", "fsync-interval", "segment-size", "max-bytes", "max-age",
    "max-records", "max-streams", "max-record", "max-batch", "max-message-size",
    "heartbeat-interval", "heartbeat-liveness", "max-clients", "max-subscriptions",
    "max-consumers", "max-pending-appends", "max-ack-pending", "ack-wait", "max-credit",
    "records-bytes", "dedup-window", "dedup-max", "send-hwm", NULL
};

typedef struct {
    char *endpoint;
    char *directory;
    char *ingest_endpoint;      //  "" = no ingest SUB
    char *syslog_endpoint;      //  "" = no syslog UDP
    char *default_stream;       //  Where ingested entries go
    char *default_subject;      //  Subject of an ingested message without one
    zmx_stream_config_t store;  //  Store settings (fsync, retention, limits)
    uint32_t heartbeat_ms;      //  The server's interval
    uint32_t liveness;          //  Intervals without traffic before expiry
    size_t max_clients;
    size_t max_subscriptions;   //  Per client
    size_t max_consumers;       //  Durable consumers in all
    size_t max_pending_appends; //  Batches awaiting APPENDED, per client
    size_t max_ack_pending;     //  Unacknowledged records per consumer
    uint32_t ack_wait_ms;       //  Default redelivery time
    uint32_t max_credit;        //  Credit a subscription may hold
    uint32_t max_batch;         //  Records per APPEND
    size_t records_bytes;       //  Bytes of records per RECORDS message
    int64_t dedup_window_ms;    //  Age of message ids remembered
    size_t dedup_max;           //  Message ids remembered in all
    int max_message_size;       //  ZMQ_MAXMSGSIZE of the ROUTER
    int send_hwm;               //  Messages queued per client
} s_config_t;

typedef struct {
    uint64_t appended, duplicates, acked_batches, delivered, redelivered, invalid;
    uint64_t refused, dropped, expired, errors;
} s_counters_t;

typedef struct _s_client_t s_client_t;
typedef struct _s_subscription_t s_subscription_t;

//  A delivered record a durable consumer has not acknowledged.
typedef struct {
    uint64_t sequence;
    int64_t deadline;           //  zclock_mono when it is sent again; 0: now
} s_pending_t;

typedef struct {
    char *key;                  //  "STREAM~HEXNAME": the hash key and file name
    char *stream;
    char *name;
    uint64_t position;          //  First sequence not acknowledged
    uint64_t saved;             //  Position last written to disk
    int64_t saved_at;           //  zclock_mono of that write
    s_subscription_t *owner;    //  Subscription using it, or NULL
    s_pending_t *pending;       //  Sorted by sequence
    size_t pending_count;
} s_consumer_t;

struct _s_subscription_t {
    s_client_t *client;
    uint64_t tag;
    char stream [ZMX_STREAM_NAME_MAX + 1];
    char *pattern;              //  NULL: every subject
    zmx_stream_cursor_t *cursor;
    uint64_t credit;            //  Records it may still be sent
    uint64_t position;          //  Sequence it reads next, as far as known
    bool live_sent;             //  LIVE went out
    bool idle;                  //  Read to the end: wait for an append
    int64_t retry_at;           //  After a full send queue: not before this
    uint32_t ack_wait_ms;
    s_consumer_t *consumer;     //  Durable consumer, or NULL
};

struct _s_client_t {
    char *key;                  //  Routing id in hex, the hash key
    byte identity [S_IDENTITY_MAX];
    size_t identity_size;
    int64_t heard_at;           //  zclock_mono of its last message
    int64_t sent_at;            //  Of our last message to it
    uint32_t heartbeat_ms;      //  Its interval (HELLO), else the server's
    zlistx_t *subscriptions;    //  s_subscription_t *
    size_t pending_appends;     //  Its batches awaiting APPENDED
};

//  A batch waiting to be durable.
typedef struct {
    s_client_t *client;
    uint64_t tag;
    char stream [ZMX_STREAM_NAME_MAX + 1];
    uint64_t last;              //  Highest sequence of the batch
    byte *sequences;            //  APPENDED blob, u64 per record
    size_t count;
} s_append_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *router;
    char *name;
    zlist_t *endpoints;
    s_config_t config;
    zmx_stream_store_t *store;
    zhashx_t *clients;          //  key -> s_client_t
    zhashx_t *consumers;        //  key -> s_consumer_t
    zlistx_t *appends;          //  s_append_t *, oldest first
    zmx__log_dedup_t *dedup;    //  Message ids of the window
    zmx__log_positions_t *positions;    //  Consumers' position files
    zmx__log_ingest_t *ingest;  //  SUB and syslog ways in, or NULL
    zhashx_t *touched;          //  Streams appended to this turn
    size_t subscription_count;
    byte *out;                  //  RECORDS being built
    size_t out_max;
    int64_t ticked_at;
    int64_t unsynced_since;     //  First append the store may still owe an fsync for; 0: none
    int64_t last_warning;
    s_counters_t counters;
    bool terminated;
} s_self_t;

static void s_subscription_destroy (s_self_t *self, s_subscription_t **sub_p);
static void s_consumer_save (s_self_t *self, s_consumer_t *consumer);

//  -------------------------------------------------------------------------
//  Small helpers

static void
s_hex (const byte *data, size_t size, char *out)
{
    static const char digits [] = "0123456789abcdef";
    for (size_t at = 0; at < size; at++) {
        out [2 * at] = digits [data [at] >> 4];
        out [2 * at + 1] = digits [data [at] & 15];
    }
    out [2 * size] = '\0';
}

//  Same rule as the store's: [A-Za-z0-9_.-], 1 to 64, no leading '.',
//  not "lock". Copies it, terminated, into `name`.
static bool
s_stream_name (const char *text, size_t size, char *name)
{
    if (size == 0 || size > ZMX_STREAM_NAME_MAX || text [0] == '.')
        return false;
    for (size_t at = 0; at < size; at++) {
        char c = text [at];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        ||    c == '_' || c == '-' || c == '.'))
            return false;
    }
    memcpy (name, text, size);
    name [size] = '\0';
    return !streq (name, "lock");
}

//  -------------------------------------------------------------------------
//  Sending

//  Send a command to a client without blocking; false if it could not be
//  queued (its queue is full, or it is gone).
static bool
s_send (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    zmx_frame_t identity = { client->identity, client->identity_size };
    if (zmx_stream_msg_send (zsock_resolve (self->router), &identity, view, ZMQ_DONTWAIT)) {
        self->counters.dropped++;
        return false;
    }
    client->sent_at = zclock_mono ();
    return true;
}

static void
s_send_error (s_self_t *self, s_client_t *client, uint64_t tag, uint16_t code,
              const char *reason)
{
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_ERROR, .tag = tag, .code = code,
                               .reason = reason, .reason_size = strlen (reason) };
    self->counters.errors++;
    s_send (self, client, &view);
}

static void
s_send_ok (s_self_t *self, s_client_t *client, uint64_t tag)
{
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_OK, .tag = tag };
    s_send (self, client, &view);
}

//  An ERROR to a peer that is not (or no longer) a client.
static void
s_send_error_to (s_self_t *self, const void *identity, size_t size, uint64_t tag,
                 uint16_t code, const char *reason)
{
    zmx_frame_t routing = { identity, size };
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_ERROR, .tag = tag, .code = code,
                               .reason = reason, .reason_size = strlen (reason) };
    self->counters.errors++;
    if (zmx_stream_msg_send (zsock_resolve (self->router), &routing, &view, ZMQ_DONTWAIT))
        self->counters.dropped++;
}

//  -------------------------------------------------------------------------
//  Configuration

static bool
s_config_fsync (const char *text, zmx_stream_fsync_t *fsync)
{
    if (streq (text, "always"))
        *fsync = ZMX_STREAM_FSYNC_ALWAYS;
    else
    if (streq (text, "interval"))
        *fsync = ZMX_STREAM_FSYNC_INTERVAL;
    else
    if (streq (text, "never"))
        *fsync = ZMX_STREAM_FSYNC_NEVER;
    else
        return false;
    return true;
}

//  An ingest endpoint: its value when the key is present, even "" (which
//  turns that way in off), else the default. zmx__config_str would take
//  "" for absent and bind the default port anyway.
static const char *
s_config_endpoint (zconfig_t *config, const char *path, const char *fallback)
{
    zconfig_t *item = config? zconfig_locate (config, path): NULL;
    return item && zconfig_value (item)? zconfig_value (item): fallback;
}

//  Read every key. Returns 0, or -1 with the wrong key logged.
static int
s_config_read (s_self_t *self, zconfig_t *config)
{
    s_config_t *c = &self->config;
    bool valid = true;
    zmx_stream_config_default (&c->store);
    c->store.max_header_bytes = ZMX_STREAM_HEADER_BYTES_MAX;
    c->endpoint = strdup (zmx__config_str (config, "endpoint", S_DEFAULT_ENDPOINT));
    c->directory = strdup (zmx__config_str (config, "data-directory", S_DEFAULT_DIRECTORY));
    c->ingest_endpoint = strdup (s_config_endpoint (config, "ingest-endpoint",
                                                    "tcp://127.0.0.1:5560"));
    c->syslog_endpoint = strdup (s_config_endpoint (config, "syslog-endpoint",
                                                    "udp://127.0.0.1:5514"));
    c->default_stream = strdup (zmx__config_str (config, "default-stream", "log"));
    c->default_subject = strdup (zmx__config_str (config, "default-subject", "log.ingest"));
    char name [ZMX_STREAM_NAME_MAX + 1];
    if (!s_stream_name (c->default_stream, strlen (c->default_stream), name)) {
        zmx_log_error (self->name, "default-stream = \"%s\" is not a stream name",
                       c->default_stream);
        valid = false;
    }
    if (!zmx_subject_valid (c->default_subject, strlen (c->default_subject))) {
        zmx_log_error (self->name, "default-subject = \"%s\" is not a subject",
                       c->default_subject);
        valid = false;
    }
    const char *fsync = zmx__config_str (config, "fsync", "interval");
    if (!s_config_fsync (fsync, &c->store.fsync)) {
        zmx_log_error (self->name, "fsync = \"%s\": use always, interval or never", fsync);
        valid = false;
    }
    c->store.fsync_interval_ms = (uint32_t) zmx__config_int (config, "fsync-interval", 5, 1,
                                                             60000, &valid);
    c->store.segment_size = (uint64_t) zmx__config_int (config, "segment-size", 64 << 20,
                                                        4096, 1 << 30, &valid);
    c->store.max_bytes = (uint64_t) zmx__config_int (config, "max-bytes", 0, 0, INT64_MAX,
                                                     &valid);
    c->store.max_age_ms = (uint64_t) zmx__config_int (config, "max-age", 0, 0, INT64_MAX,
                                                      &valid);
    c->store.max_records = (uint64_t) zmx__config_int (config, "max-records", 0, 0, INT64_MAX,
                                                       &valid);
    c->store.max_streams = (uint32_t) zmx__config_int (config, "max-streams", 1024, 1,
                                                       1000000, &valid);
    c->store.max_record = (uint32_t) zmx__config_int (config, "max-record", 1 << 20, 64,
                                                      ZMX_STREAM_RECORD_HARD_MAX, &valid);
    c->max_batch = (uint32_t) zmx__config_int (config, "max-batch", 1024, 1,
                                               ZMX_STREAM_MSG_BATCH_MAX, &valid);
    c->max_message_size = (int) zmx__config_int (config, "max-message-size",
                                                 ZMX_SECURITY_MAX_MESSAGE, 4096,
                                                 INT32_MAX, &valid);
    c->heartbeat_ms = (uint32_t) zmx__config_int (config, "heartbeat-interval", 1000, 10,
                                                  3600000, &valid);
    c->liveness = (uint32_t) zmx__config_int (config, "heartbeat-liveness", 3, 1, 100, &valid);
    c->max_clients = (size_t) zmx__config_int (config, "max-clients", 1000, 1, 1000000,
                                               &valid);
    c->max_subscriptions = (size_t) zmx__config_int (config, "max-subscriptions", 64, 1,
                                                     100000, &valid);
    c->max_consumers = (size_t) zmx__config_int (config, "max-consumers", 1024, 0, 1000000,
                                                 &valid);
    c->max_pending_appends = (size_t) zmx__config_int (config, "max-pending-appends", 64, 1,
                                                       100000, &valid);
    c->max_ack_pending = (size_t) zmx__config_int (config, "max-ack-pending", 1000, 1,
                                                   1000000, &valid);
    c->ack_wait_ms = (uint32_t) zmx__config_int (config, "ack-wait", 30000, 10, 86400000,
                                                 &valid);
    c->max_credit = (uint32_t) zmx__config_int (config, "max-credit", 10000, 1, 1000000,
                                                &valid);
    c->records_bytes = (size_t) zmx__config_int (config, "records-bytes", 256 << 10, 1024,
                                                 64 << 20, &valid);
    c->dedup_window_ms = zmx__config_int (config, "dedup-window", 120000, 0, 86400000 * 7LL,
                                          &valid);
    c->dedup_max = (size_t) zmx__config_int (config, "dedup-max", 100000, 0, 100000000,
                                             &valid);
    c->send_hwm = (int) zmx__config_int (config, "send-hwm", 1000, 10, 1000000, &valid);
    return valid && c->endpoint && c->directory? 0: -1;
}

//  -------------------------------------------------------------------------
//  Durable consumers (their files: zmx_log_positions)

static s_consumer_t *
s_consumer_new (const char *stream, const char *name, uint64_t position)
{
    s_consumer_t *consumer = (s_consumer_t *) zmalloc (sizeof (s_consumer_t));
    char key [ZMX__LOG_POSITION_KEY_MAX];
    zmx__log_positions_key (stream, name, key);
    consumer->key = strdup (key);
    consumer->stream = strdup (stream);
    consumer->name = strdup (name);
    consumer->position = consumer->saved = position;
    return consumer;
}

static void
s_consumer_destroy (s_consumer_t **consumer_p)
{
    s_consumer_t *consumer = *consumer_p;
    if (consumer) {
        freen (consumer->key);
        freen (consumer->stream);
        freen (consumer->name);
        freen (consumer->pending);
        freen (consumer);
        *consumer_p = NULL;
    }
}

//  Write the position; a failed write is tried again S_SAVE_MSEC later.
static void
s_consumer_save (s_self_t *self, s_consumer_t *consumer)
{
    consumer->saved_at = zclock_mono ();
    if (zmx__log_positions_save (self->positions, consumer->key, consumer->position) == 0)
        consumer->saved = consumer->position;
}

//  A consumer file read at start; past max-consumers the rest are left.
static void
s_consumer_loaded (void *arg, const char *stream, const char *name, uint64_t position)
{
    s_self_t *self = (s_self_t *) arg;
    char valid [ZMX_STREAM_NAME_MAX + 1];
    if (!s_stream_name (stream, strlen (stream), valid)
    ||  zhashx_size (self->consumers) >= self->config.max_consumers) {
        zmx_log_warning (self->name, "consumer %s of %s not loaded (bad stream name or "
                         "max-consumers)", name, stream);
        return;
    }
    s_consumer_t *consumer = s_consumer_new (stream, name, position);
    zhashx_insert (self->consumers, consumer->key, consumer);
}

//  The position to store: the first pending record, else where the
//  subscription reads next.
static void
s_consumer_update (s_consumer_t *consumer)
{
    uint64_t position = consumer->position;
    s_subscription_t *owner = consumer->owner;
    if (owner && owner->cursor) {
        uint64_t reading = zmx_stream_cursor_position (owner->cursor);
        if (reading > position)
            position = reading;
    }
    if (consumer->pending_count && consumer->pending [0].sequence < position)
        position = consumer->pending [0].sequence;
    consumer->position = position;
}

//  Index of `sequence` in the pending array, or -1.
static ssize_t
s_pending_find (s_consumer_t *consumer, uint64_t sequence)
{
    size_t low = 0, high = consumer->pending_count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (consumer->pending [middle].sequence < sequence)
            low = middle + 1;
        else
            high = middle;
    }
    return low < consumer->pending_count && consumer->pending [low].sequence == sequence?
           (ssize_t) low: -1;
}

static void
s_pending_remove (s_consumer_t *consumer, size_t index)
{
    memmove (&consumer->pending [index], &consumer->pending [index + 1],
             (consumer->pending_count - index - 1) * sizeof (s_pending_t));
    consumer->pending_count--;
}

//  -------------------------------------------------------------------------
//  Clients and subscriptions

static s_client_t *
s_client_new (const byte *identity, size_t size, const char *key, uint32_t heartbeat_ms)
{
    s_client_t *client = (s_client_t *) zmalloc (sizeof (s_client_t));
    client->key = strdup (key);
    memcpy (client->identity, identity, size);
    client->identity_size = size;
    client->heard_at = client->sent_at = zclock_mono ();
    client->heartbeat_ms = heartbeat_ms;
    client->subscriptions = zlistx_new ();
    return client;
}

//  Forget a client: its subscriptions end, its batches go unacknowledged.
static void
s_client_destroy (s_self_t *self, s_client_t **client_p)
{
    s_client_t *client = *client_p;
    if (!client)
        return;
    s_subscription_t *sub;
    while ((sub = (s_subscription_t *) zlistx_detach (client->subscriptions, NULL)))
        s_subscription_destroy (self, &sub);
    zlistx_destroy (&client->subscriptions);
    s_append_t *append = (s_append_t *) zlistx_first (self->appends);
    while (append) {
        void *handle = zlistx_cursor (self->appends);
        s_append_t *next = (s_append_t *) zlistx_next (self->appends);
        if (append->client == client)
            zlistx_delete (self->appends, handle);
        append = next;
    }
    freen (client->key);
    freen (client);
    *client_p = NULL;
}

static void
s_append_destroy (s_append_t **append_p)
{
    if (*append_p) {
        freen ((*append_p)->sequences);
        freen (*append_p);
    }
}

static s_subscription_t *
s_subscription_find (s_client_t *client, uint64_t tag)
{
    for (s_subscription_t *sub = (s_subscription_t *) zlistx_first (client->subscriptions);
         sub; sub = (s_subscription_t *) zlistx_next (client->subscriptions))
        if (sub->tag == tag)
            return sub;
    return NULL;
}

static void
s_subscription_destroy (s_self_t *self, s_subscription_t **sub_p)
{
    s_subscription_t *sub = *sub_p;
    if (!sub)
        return;
    if (sub->consumer) {
        //  Pending records are not acknowledged: the next session gets
        //  them again from the stored position
        s_consumer_update (sub->consumer);
        sub->consumer->owner = NULL;
        sub->consumer->pending_count = 0;
        freen (sub->consumer->pending);
        if (sub->consumer->position != sub->consumer->saved)
            s_consumer_save (self, sub->consumer);
    }
    zmx_stream_cursor_destroy (&sub->cursor);
    freen (sub->pattern);
    freen (sub);
    self->subscription_count--;
    *sub_p = NULL;
}

//  The client of a routing id, created on its first message; NULL (and an
//  ERROR 429 sent) when max-clients is reached.
static s_client_t *
s_client_require (s_self_t *self, const byte *identity, size_t size)
{
    char key [2 * S_IDENTITY_MAX + 1];
    if (size == 0 || size > S_IDENTITY_MAX)
        return NULL;
    s_hex (identity, size, key);
    s_client_t *client = (s_client_t *) zhashx_lookup (self->clients, key);
    if (!client && zhashx_size (self->clients) >= self->config.max_clients) {
        self->counters.refused++;
        zmx__log_limited (self->name, &self->last_warning, "client refused: max-clients (%zu)",
                          self->config.max_clients);
        s_send_error_to (self, identity, size, 0, 429, "max-clients reached");
        return NULL;
    }
    if (!client) {
        client = s_client_new (identity, size, key, self->config.heartbeat_ms);
        zhashx_insert (self->clients, client->key, client);
    }
    client->heard_at = zclock_mono ();
    return client;
}

//  Wake the subscriptions of `stream`: it has new records.
static void
s_wake_stream (s_self_t *self, const char *stream)
{
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients))
        for (s_subscription_t *sub = (s_subscription_t *) zlistx_first (client->subscriptions);
             sub; sub = (s_subscription_t *) zlistx_next (client->subscriptions))
            if (streq (sub->stream, stream))
                sub->idle = false;
}

//  -------------------------------------------------------------------------
//  APPEND

//  Check a whole batch before anything is stored. Returns 0, or the error
//  code with *reason set.
static int
s_append_check (s_self_t *self, zmx_stream_view_t *view, const char **reason)
{
    if (view->count > self->config.max_batch) {
        *reason = "batch over max-batch records";
        return 413;
    }
    const byte *at = view->blob, *end = view->blob + view->blob_size;
    zmx_stream_batch_record_t record;
    while (zmx_stream_msg_batch_next (&at, end, &record)) {
        size_t id_header = record.msg_id_size? 1 + strlen (ZMX__LOG_MSG_ID_HEADER) + 2
                                               + record.msg_id_size: 0;
        if (record.header_count + (record.msg_id_size? 1: 0) > ZMX_STREAM_HEADERS_MAX) {
            *reason = "too many headers (a message id takes one)";
            return 413;
        }
        if (record.headers_size + id_header > ZMX_STREAM_HEADER_BYTES_MAX
        ||  record.subject_size + record.headers_size + id_header + record.body_size
            > self->config.store.max_record) {
            *reason = "record over max-record";
            return 413;
        }
    }
    return 0;
}

//  Store one batch record (or find its message id). Returns ZMX_OK with
//  *sequence set, or the store's error.
static int
s_append_record (s_self_t *self, const char *stream, zmx_stream_batch_record_t *record,
                 uint64_t *sequence)
{
    if (record->msg_id_size) {
        *sequence = zmx__log_dedup_find (self->dedup, stream, record->msg_id,
                                         record->msg_id_size);
        if (*sequence) {
            self->counters.duplicates++;
            return ZMX_OK;
        }
    }
    zmx_stream_header_t headers [ZMX_STREAM_HEADERS_MAX];
    int count = zmx_stream_msg_headers_decode (record->headers, record->headers_size, headers,
                                               ZMX_STREAM_HEADERS_MAX);
    if (count < 0 || (record->msg_id_size && count >= ZMX_STREAM_HEADERS_MAX))
        return ZMX_EINVAL;
    if (record->msg_id_size)
        headers [count++] = (zmx_stream_header_t) { ZMX__LOG_MSG_ID_HEADER,
                                                    strlen (ZMX__LOG_MSG_ID_HEADER),
                                                    record->msg_id, record->msg_id_size };
    char subject [ZMX_SUBJECT_MAX + 1];
    memcpy (subject, record->subject, record->subject_size);
    subject [record->subject_size] = '\0';
    int rc = zmx_stream_store_append (self->store, stream, subject, headers, (size_t) count,
                                      record->body, record->body_size, sequence);
    if (rc == ZMX_OK) {
        self->counters.appended++;
        if (record->msg_id_size)
            zmx__log_dedup_add (self->dedup, stream, record->msg_id, record->msg_id_size,
                                *sequence, zclock_time ());
    }
    return rc;
}

static void
s_handle_append (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    char stream [ZMX_STREAM_NAME_MAX + 1];
    const char *reason = NULL;
    int code = 0;
    if (!s_stream_name (view->stream, view->stream_size, stream)) {
        code = 400;
        reason = "invalid stream name";
    }
    else
    if (client->pending_appends >= self->config.max_pending_appends) {
        code = 429;
        reason = "max-pending-appends reached";
    }
    else
        code = s_append_check (self, view, &reason);
    if (code == 0 && view->count == 0) {
        code = 400;
        reason = "empty batch";
    }
    if (code) {
        if (code == 400)
            self->counters.invalid++;
        s_send_error (self, client, view->tag, (uint16_t) code, reason);
        return;
    }
    s_append_t *append = (s_append_t *) zmalloc (sizeof (s_append_t));
    append->client = client;
    append->tag = view->tag;
    memcpy (append->stream, stream, sizeof stream);
    append->sequences = (byte *) malloc (view->count * 8);
    const byte *at = view->blob, *end = view->blob + view->blob_size;
    zmx_stream_batch_record_t record;
    int rc = ZMX_OK;
    while (rc == ZMX_OK && append->sequences && zmx_stream_msg_batch_next (&at, end, &record)) {
        uint64_t sequence = 0;
        rc = s_append_record (self, stream, &record, &sequence);
        if (rc == ZMX_OK) {
            zmx_stream_msg_put_u64 (append->sequences + 8 * append->count++, sequence);
            if (sequence > append->last)
                append->last = sequence;
        }
    }
    if (append->count)
        zhashx_update (self->touched, stream, self);
    if (rc != ZMX_OK || !append->sequences) {
        code = rc == ZMX_EINVAL? 400: rc == ZMX_ENOMEM? 429: 500;
        s_send_error (self, client, view->tag, (uint16_t) code,
                      code == 400? "invalid record": code == 429? "max-streams reached"
                                                                : "store error");
        s_append_destroy (&append);
        return;
    }
    client->pending_appends++;
    zlistx_add_end (self->appends, append);
}

//  Flush every stream appended to this turn (one write, one fsync per
//  policy each), wake their subscriptions.
static void
s_flush_touched (s_self_t *self)
{
    if (zhashx_size (self->touched) && !self->unsynced_since)
        self->unsynced_since = zclock_mono ();
    for (void *value = zhashx_first (self->touched); value; value = zhashx_next (self->touched)) {
        const char *stream = (const char *) zhashx_cursor (self->touched);
        if (zmx_stream_store_flush (self->store, stream) != ZMX_OK)
            zmx__log_limited (self->name, &self->last_warning, "flush of %s failed", stream);
        s_wake_stream (self, stream);
    }
    zhashx_purge (self->touched);
}

//  Send APPENDED for every batch the store now reports durable.
static void
s_acks_send (s_self_t *self)
{
    s_append_t *append = (s_append_t *) zlistx_first (self->appends);
    while (append) {
        void *handle = zlistx_cursor (self->appends);
        s_append_t *next = (s_append_t *) zlistx_next (self->appends);
        if (zmx_stream_store_durable (self->store, append->stream) >= append->last) {
            zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_APPENDED, .tag = append->tag,
                                       .blob = append->sequences,
                                       .blob_size = append->count * 8 };
            if (s_send (self, append->client, &view))
                self->counters.acked_batches++;
            append->client->pending_appends--;
            zlistx_delete (self->appends, handle);
        }
        append = next;
    }
}

//  -------------------------------------------------------------------------
//  SUBSCRIBE and delivery

//  The position a new consumer starts at, for its `from` and `value`.
static uint64_t
s_start_position (s_self_t *self, const char *stream, zmx_stream_from_t from, uint64_t value)
{
    zmx_stream_stats_t stats = { .first_sequence = 1 };
    bool exists = zmx_stream_store_stats (self->store, stream, &stats) == ZMX_OK;
    uint64_t next = exists? stats.last_sequence + 1: 1;
    switch (from) {
        case ZMX_STREAM_FROM_FIRST:
            return stats.first_sequence;
        case ZMX_STREAM_FROM_SEQUENCE:
            return value? value: 1;
        case ZMX_STREAM_FROM_LAST:
            return next > value? next - value: 1;
        case ZMX_STREAM_FROM_NEW:
            return next;
        case ZMX_STREAM_FROM_TIME: {
            zmx_stream_cursor_t *probe = zmx_stream_cursor_new (self->store, stream, from,
                                                                value, NULL);
            zmx_stream_record_t record;
            uint64_t position = next;
            if (probe && zmx_stream_cursor_next (probe, &record) == ZMX_OK)
                position = record.sequence;
            zmx_stream_cursor_destroy (&probe);
            return position;
        }
    }
    return next;
}

//  The durable consumer a SUBSCRIBE names: found (409 if in use) or made
//  (429 past max-consumers). Returns it, or NULL with *code set.
static s_consumer_t *
s_consumer_attach (s_self_t *self, const char *stream, zmx_stream_view_t *view, int *code)
{
    char name [ZMX_STREAM_MSG_DURABLE_MAX + 1];
    memcpy (name, view->durable, view->durable_size);
    name [view->durable_size] = '\0';
    s_consumer_t *probe = s_consumer_new (stream, name, 0);
    s_consumer_t *consumer = (s_consumer_t *) zhashx_lookup (self->consumers, probe->key);
    if (consumer) {
        s_consumer_destroy (&probe);
        if (consumer->owner) {
            *code = 409;
            return NULL;
        }
        return consumer;
    }
    if (zhashx_size (self->consumers) >= self->config.max_consumers) {
        s_consumer_destroy (&probe);
        *code = 429;
        return NULL;
    }
    consumer = probe;
    consumer->position = s_start_position (self, stream, (zmx_stream_from_t) view->from,
                                           view->value);
    s_consumer_save (self, consumer);
    zhashx_insert (self->consumers, consumer->key, consumer);
    return consumer;
}

static void
s_handle_subscribe (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    char stream [ZMX_STREAM_NAME_MAX + 1];
    char pattern [ZMX_STREAM_MSG_PATTERN_MAX + 1];
    memcpy (pattern, view->pattern, view->pattern_size);
    pattern [view->pattern_size] = '\0';
    int code = 0;
    const char *reason = "";
    if (!s_stream_name (view->stream, view->stream_size, stream)
    ||  (view->pattern_size && !zmx_subject_pattern_valid (pattern))) {
        self->counters.invalid++;
        code = 400;
        reason = "invalid stream name or pattern";
    }
    else
    if (s_subscription_find (client, view->tag)) {
        code = 409;
        reason = "tag is already a subscription";
    }
    else
    if (zlistx_size (client->subscriptions) >= self->config.max_subscriptions) {
        code = 429;
        reason = "max-subscriptions reached";
    }
    s_consumer_t *consumer = NULL;
    if (!code && view->durable_size) {
        consumer = s_consumer_attach (self, stream, view, &code);
        reason = code == 409? "durable consumer in use": "max-consumers reached";
    }
    if (code) {
        s_send_error (self, client, view->tag, (uint16_t) code, reason);
        return;
    }
    s_subscription_t *sub = (s_subscription_t *) zmalloc (sizeof (s_subscription_t));
    sub->client = client;
    sub->tag = view->tag;
    memcpy (sub->stream, stream, sizeof stream);
    sub->pattern = view->pattern_size? strdup (pattern): NULL;
    sub->credit = view->credit < self->config.max_credit? view->credit: self->config.max_credit;
    sub->ack_wait_ms = view->ack_wait_ms? view->ack_wait_ms: self->config.ack_wait_ms;
    sub->consumer = consumer;
    if (consumer) {
        consumer->owner = sub;
        consumer->pending_count = 0;
        //  Allocated while attached only: an idle consumer costs no array
        consumer->pending = (s_pending_t *) zmalloc (self->config.max_ack_pending
                                                    * sizeof (s_pending_t));
        sub->cursor = zmx_stream_cursor_new (self->store, stream, ZMX_STREAM_FROM_SEQUENCE,
                                             consumer->position, sub->pattern);
    }
    else
        sub->cursor = zmx_stream_cursor_new (self->store, stream, (zmx_stream_from_t) view->from,
                                             view->value, sub->pattern);
    uint64_t position = consumer? consumer->position
                                : s_start_position (self, stream, (zmx_stream_from_t) view->from,
                                                    view->value);
    sub->position = position;
    zlistx_add_end (client->subscriptions, sub);
    self->subscription_count++;
    zmx_stream_view_t reply = { .command = ZMX_STREAM_MSG_SUBSCRIBED, .tag = view->tag,
                                .sequence = position };
    s_send (self, client, &reply);
}

//  Send the RECORDS built so far. False if the client's queue is full.
static bool
s_records_send (s_self_t *self, s_subscription_t *sub, size_t size, size_t count)
{
    if (count == 0)
        return true;
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_RECORDS, .tag = sub->tag,
                               .blob = self->out, .blob_size = size, .count = count };
    return s_send (self, sub->client, &view);
}

//  Put one record into the RECORDS being built, sending what is there
//  first when it would not fit. Returns false if a send failed.
static bool
s_records_put (s_self_t *self, s_subscription_t *sub, const zmx_stream_record_t *record,
               size_t *size, size_t *count)
{
    byte headers [ZMX_STREAM_HEADER_BYTES_MAX];
    int64_t headers_size = zmx_stream_msg_headers_from_record (record, headers, sizeof headers);
    if (headers_size < 0)
        headers_size = 0;
    size_t need = zmx_stream_msg_delivered_size (record->subject_size, (size_t) headers_size,
                                                 record->body_size);
    if (*count && *size + need > self->config.records_bytes) {
        if (!s_records_send (self, sub, *size, *count))
            return false;
        *size = *count = 0;
    }
    if (need > self->out_max) {     //  One record over records-bytes goes alone
        byte *out = (byte *) realloc (self->out, need);
        if (!out)
            return false;
        self->out = out;
        self->out_max = need;
    }
    *size += zmx_stream_msg_delivered_put (self->out + *size, record->sequence, record->time_ns,
                                           record->subject, record->subject_size, headers,
                                           (size_t) headers_size, record->body,
                                           record->body_size);
    (*count)++;
    return true;
}

//  Put a durable consumer's due redeliveries (bounded by credit).
static void
s_redeliver (s_self_t *self, s_subscription_t *sub, size_t *size, size_t *count,
             size_t *budget)
{
    s_consumer_t *consumer = sub->consumer;
    int64_t now = zclock_mono ();
    for (size_t index = 0; index < consumer->pending_count && sub->credit && *budget; index++) {
        s_pending_t *pending = &consumer->pending [index];
        if (pending->deadline > now)
            continue;
        zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (self->store, sub->stream,
                                                             ZMX_STREAM_FROM_SEQUENCE,
                                                             pending->sequence, NULL);
        zmx_stream_record_t record;
        int rc = cursor? zmx_stream_cursor_next (cursor, &record): ZMX_EIO;
        if (rc == ZMX_OK && record.sequence == pending->sequence) {
            if (!s_records_put (self, sub, &record, size, count)) {
                zmx_stream_cursor_destroy (&cursor);
                return;
            }
            pending->deadline = now + sub->ack_wait_ms;
            sub->credit--;
            (*budget)--;
            self->counters.redelivered++;
        }
        else
        if (rc != ZMX_EIO) {            //  Gone (retention, purge): nothing to wait for
            s_pending_remove (consumer, index);
            index--;
        }
        zmx_stream_cursor_destroy (&cursor);
    }
}

//  After a failed send: read again from `sequence`, give the credit back.
static void
s_subscription_rewind (s_self_t *self, s_subscription_t *sub, uint64_t sequence,
                       size_t count)
{
    zmx_stream_cursor_destroy (&sub->cursor);
    sub->cursor = zmx_stream_cursor_new (self->store, sub->stream, ZMX_STREAM_FROM_SEQUENCE,
                                         sequence, sub->pattern);
    sub->credit += count;
    sub->position = sequence;
    if (sub->consumer)
        while (sub->consumer->pending_count
        &&     sub->consumer->pending [sub->consumer->pending_count - 1].sequence >= sequence)
            sub->consumer->pending_count--;
    sub->retry_at = zclock_mono () + 10;
    sub->idle = false;
}

static void
s_send_live (s_self_t *self, s_subscription_t *sub)
{
    zmx_stream_stats_t stats;
    uint64_t last = zmx_stream_store_stats (self->store, sub->stream, &stats) == ZMX_OK?
                    stats.last_sequence: 0;
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_LIVE, .tag = sub->tag,
                               .sequence = last };
    if (s_send (self, sub->client, &view))
        sub->live_sent = true;
}

static void
s_send_dropped (s_self_t *self, s_subscription_t *sub, uint64_t lost_from)
{
    uint64_t now_first = zmx_stream_cursor_position (sub->cursor);
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_DROPPED, .tag = sub->tag,
                               .sequence = lost_from, .first = now_first };
    s_send (self, sub->client, &view);
    if (sub->consumer)
        while (sub->consumer->pending_count && sub->consumer->pending [0].sequence < now_first)
            s_pending_remove (sub->consumer, 0);
}

//  Read new records for one subscription while it has credit: at most
//  S_TURN_RECORDS per turn (fairness), RECORDS of records-bytes at most.
static void
s_subscription_deliver (s_self_t *self, s_subscription_t *sub)
{
    size_t size = 0, count = 0, budget = S_TURN_RECORDS;
    if (sub->retry_at > zclock_mono () || !sub->cursor)
        return;
    if (sub->consumer)
        s_redeliver (self, sub, &size, &count, &budget);
    uint64_t first = 0;             //  First new record of this turn, to rewind to
    size_t fresh = 0;
    while (sub->credit && budget && !sub->idle) {
        if (sub->consumer && sub->consumer->pending_count >= self->config.max_ack_pending)
            break;
        uint64_t before = zmx_stream_cursor_position (sub->cursor);
        zmx_stream_record_t record;
        int rc = zmx_stream_cursor_next (sub->cursor, &record);
        if (rc == ZMX_EDROPPED) {
            s_send_dropped (self, sub, before > sub->position? before: sub->position);
            sub->position = zmx_stream_cursor_position (sub->cursor);
            continue;
        }
        if (rc != ZMX_OK) {
            if (rc == ZMX_EIO)
                zmx__log_limited (self->name, &self->last_warning, "%s: read failed",
                                  sub->stream);
            sub->idle = true;
            break;
        }
        if (!first)
            first = record.sequence;
        sub->position = record.sequence + 1;
        if (!s_records_put (self, sub, &record, &size, &count)) {
            s_subscription_rewind (self, sub, first, fresh);
            return;
        }
        fresh++;
        sub->credit--;
        budget--;
        self->counters.delivered++;
        if (sub->consumer && sub->consumer->pending_count < self->config.max_ack_pending)
            sub->consumer->pending [sub->consumer->pending_count++]
                = (s_pending_t) { record.sequence, zclock_mono () + sub->ack_wait_ms };
    }
    if (!s_records_send (self, sub, size, count)) {
        if (first)
            s_subscription_rewind (self, sub, first, fresh);
        return;
    }
    if (!sub->live_sent) {
        zmx_stream_stats_t stats;
        bool exists = zmx_stream_store_stats (self->store, sub->stream, &stats) == ZMX_OK;
        if (sub->idle || !exists
        ||  zmx_stream_cursor_position (sub->cursor) > stats.last_sequence)
            s_send_live (self, sub);
    }
}

//  One delivery turn over every subscription that may have work.
static void
s_deliver_all (s_self_t *self)
{
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients))
        for (s_subscription_t *sub = (s_subscription_t *) zlistx_first (client->subscriptions);
             sub; sub = (s_subscription_t *) zlistx_next (client->subscriptions))
            if (sub->credit && (!sub->idle || (sub->consumer && sub->consumer->pending_count)))
                s_subscription_deliver (self, sub);
}

//  True if some subscription can send now (the loop should not sleep).
static bool
s_work_left (s_self_t *self)
{
    int64_t now = zclock_mono ();
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients))
        for (s_subscription_t *sub = (s_subscription_t *) zlistx_first (client->subscriptions);
             sub; sub = (s_subscription_t *) zlistx_next (client->subscriptions))
            if (sub->credit && !sub->idle && sub->retry_at <= now
            &&  (!sub->consumer || sub->consumer->pending_count < self->config.max_ack_pending))
                return true;
    return false;
}

//  -------------------------------------------------------------------------
//  CREDIT, ACK, NACK, UNSUBSCRIBE

static s_subscription_t *
s_subscription_require (s_self_t *self, s_client_t *client, uint64_t tag)
{
    s_subscription_t *sub = s_subscription_find (client, tag);
    if (!sub)
        s_send_error (self, client, tag, 404, "no such subscription");
    return sub;
}

static void
s_handle_credit (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    s_subscription_t *sub = s_subscription_require (self, client, view->tag);
    if (sub) {
        //  Over max-credit: held at max-credit (the client is told nothing)
        sub->credit += view->credit;
        if (sub->credit > self->config.max_credit)
            sub->credit = self->config.max_credit;
    }
}

static void
s_handle_ack (s_self_t *self, s_client_t *client, zmx_stream_view_t *view, bool ack)
{
    s_subscription_t *sub = s_subscription_require (self, client, view->tag);
    if (!sub)
        return;
    if (!sub->consumer) {
        self->counters.invalid++;
        s_send_error (self, client, view->tag, 400, "not a durable subscription");
        return;
    }
    s_consumer_t *consumer = sub->consumer;
    for (size_t index = 0; index < view->count; index++) {
        ssize_t found = s_pending_find (consumer, zmx_stream_msg_get_u64 (view->blob + 8 * index));
        if (found < 0)
            continue;               //  Acknowledged before, or never sent: ignored
        if (ack)
            s_pending_remove (consumer, (size_t) found);
        else
            consumer->pending [found].deadline = 0;
    }
    s_consumer_update (consumer);
    if (!ack)
        sub->idle = false;
}

static void
s_handle_unsubscribe (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    s_subscription_t *sub = s_subscription_require (self, client, view->tag);
    if (!sub)
        return;
    zlistx_detach (client->subscriptions, zlistx_find (client->subscriptions, sub));
    s_subscription_destroy (self, &sub);
    s_send_ok (self, client, view->tag);
}

//  -------------------------------------------------------------------------
//  STREAMS, DELETE, PURGE

static uint32_t
s_consumer_count (s_self_t *self, const char *stream)
{
    uint32_t count = 0;
    for (s_consumer_t *consumer = (s_consumer_t *) zhashx_first (self->consumers); consumer;
         consumer = (s_consumer_t *) zhashx_next (self->consumers))
        if (streq (consumer->stream, stream))
            count++;
    return count;
}

static void
s_handle_streams (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    zlist_t *streams = zmx_stream_store_streams (self->store);
    size_t size = 0;
    for (const char *name = (const char *) zlist_first (streams); name;
         name = (const char *) zlist_next (streams))
        size += zmx_stream_msg_info_size (strlen (name));
    byte *blob = (byte *) malloc (size? size: 1);
    size_t at = 0, count = 0;
    for (const char *name = (const char *) zlist_first (streams); name && blob;
         name = (const char *) zlist_next (streams)) {
        zmx_stream_stats_t stats;
        if (zmx_stream_store_stats (self->store, name, &stats) != ZMX_OK)
            continue;
        zmx_stream_info_wire_t info = {
            name, strlen (name), stats.records, stats.bytes, stats.first_sequence,
            stats.last_sequence, (uint64_t) stats.first_time_ns, (uint64_t) stats.last_time_ns,
            s_consumer_count (self, name) };
        at += zmx_stream_msg_info_put (blob + at, &info);
        count++;
    }
    zlist_destroy (&streams);
    if (!blob) {
        s_send_error (self, client, view->tag, 500, "out of memory");
        return;
    }
    zmx_stream_view_t reply = { .command = ZMX_STREAM_MSG_STREAMINFO, .tag = view->tag,
                                .blob = blob, .blob_size = at, .count = count };
    s_send (self, client, &reply);
    free (blob);
}

//  A stream is deleted: its subscriptions end (ERROR 404), its consumers
//  and their files go.
static void
s_stream_forget (s_self_t *self, const char *stream)
{
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients)) {
        s_subscription_t *sub = (s_subscription_t *) zlistx_first (client->subscriptions);
        while (sub) {
            void *handle = zlistx_cursor (client->subscriptions);
            s_subscription_t *next = (s_subscription_t *) zlistx_next (client->subscriptions);
            if (streq (sub->stream, stream)) {
                s_send_error (self, client, sub->tag, 404, "stream deleted");
                zlistx_detach (client->subscriptions, handle);
                s_subscription_destroy (self, &sub);
            }
            sub = next;
        }
    }
    zlist_t *gone = zlist_new ();
    for (s_consumer_t *consumer = (s_consumer_t *) zhashx_first (self->consumers); consumer;
         consumer = (s_consumer_t *) zhashx_next (self->consumers))
        if (streq (consumer->stream, stream))
            zlist_append (gone, consumer);
    for (s_consumer_t *consumer = (s_consumer_t *) zlist_first (gone); consumer;
         consumer = (s_consumer_t *) zlist_next (gone)) {
        zmx__log_positions_remove (self->positions, consumer->key);
        zhashx_delete (self->consumers, consumer->key);
    }
    zlist_destroy (&gone);
    zmx__log_dedup_forget (self->dedup, stream);
}

static void
s_handle_delete (s_self_t *self, s_client_t *client, zmx_stream_view_t *view, bool purge)
{
    char stream [ZMX_STREAM_NAME_MAX + 1];
    zmx_stream_stats_t stats;
    if (!s_stream_name (view->stream, view->stream_size, stream)
    ||  zmx_stream_store_stats (self->store, stream, &stats) != ZMX_OK) {
        s_send_error (self, client, view->tag, 404, "no such stream");
        return;
    }
    //  Batches waiting on a deleted stream are answered now: durable no
    //  longer applies (a purge keeps the sequence: they are acknowledged)
    s_append_t *append = purge? NULL: (s_append_t *) zlistx_first (self->appends);
    while (append) {
        void *handle = zlistx_cursor (self->appends);
        s_append_t *next = (s_append_t *) zlistx_next (self->appends);
        if (streq (append->stream, stream)) {
            s_send_error (self, append->client, append->tag, 404, "stream deleted");
            append->client->pending_appends--;
            zlistx_delete (self->appends, handle);
        }
        append = next;
    }
    int rc;
    if (purge) {
        rc = zmx_stream_store_purge (self->store, stream);
        zmx__log_dedup_forget (self->dedup, stream);
        s_wake_stream (self, stream);       //  Their cursors see DROPPED
    }
    else {
        s_stream_forget (self, stream);
        rc = zmx_stream_store_remove (self->store, stream);
    }
    if (rc == ZMX_OK)
        s_send_ok (self, client, view->tag);
    else
        s_send_error (self, client, view->tag, 500, "store error (see log)");
}

//  -------------------------------------------------------------------------
//  Dispatch

static void
s_handle_hello (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    if (view->version != ZMX_STREAM_MSG_VERSION) {
        self->counters.invalid++;
        s_send_error (self, client, 0, 400, "unsupported version");
        return;
    }
    client->heartbeat_ms = view->heartbeat_ms? view->heartbeat_ms: self->config.heartbeat_ms;
    zmx_stream_view_t reply = { .command = ZMX_STREAM_MSG_WELCOME,
                                .version = ZMX_STREAM_MSG_VERSION,
                                .heartbeat_ms = self->config.heartbeat_ms,
                                .max_record = self->config.store.max_record,
                                .max_batch = self->config.max_batch };
    s_send (self, client, &reply);
}

static void
s_dispatch (s_self_t *self, s_client_t *client, zmx_stream_view_t *view)
{
    switch (view->command) {
        case ZMX_STREAM_MSG_HELLO: s_handle_hello (self, client, view); break;
        case ZMX_STREAM_MSG_PING: {
            zmx_stream_view_t pong = { .command = ZMX_STREAM_MSG_PONG };
            s_send (self, client, &pong);
            break;
        }
        case ZMX_STREAM_MSG_PONG: break;
        case ZMX_STREAM_MSG_APPEND: s_handle_append (self, client, view); break;
        case ZMX_STREAM_MSG_SUBSCRIBE: s_handle_subscribe (self, client, view); break;
        case ZMX_STREAM_MSG_CREDIT: s_handle_credit (self, client, view); break;
        case ZMX_STREAM_MSG_ACK: s_handle_ack (self, client, view, true); break;
        case ZMX_STREAM_MSG_NACK: s_handle_ack (self, client, view, false); break;
        case ZMX_STREAM_MSG_UNSUBSCRIBE: s_handle_unsubscribe (self, client, view); break;
        case ZMX_STREAM_MSG_STREAMS: s_handle_streams (self, client, view); break;
        case ZMX_STREAM_MSG_DELETE: s_handle_delete (self, client, view, false); break;
        case ZMX_STREAM_MSG_PURGE: s_handle_delete (self, client, view, true); break;
        default:                    //  The decoder takes only what clients send
            self->counters.invalid++;
            s_send_error (self, client, view->tag, 400, "not a client command");
    }
}

//  Read and handle one message. False if there was none.
static bool
s_handle_message (s_self_t *self)
{
    zmx_stream_msg_t msg;
    if (zmx_stream_msg_recv (&msg, zsock_resolve (self->router), ZMQ_DONTWAIT))
        return false;
    if (msg.kept < 1) {
        zmx_stream_msg_close (&msg);
        return true;
    }
    const byte *identity = (const byte *) zmq_msg_data (&msg.frames [0]);
    size_t identity_size = zmq_msg_size (&msg.frames [0]);
    s_client_t *client = s_client_require (self, identity, identity_size);
    zmx_stream_view_t view;
    const char *error = NULL;
    if (client && zmx_stream_msg_decode_msg (&msg, 1, ZMX_STREAM_MSG_SERVER, &view, &error)) {
        self->counters.invalid++;
        zmx__log_limited (self->name, &self->last_warning, "invalid message: %s",
                          error? error: "malformed");
        s_send_error (self, client, view.tag, 400, error? error: "malformed");
    }
    else
    if (client)
        s_dispatch (self, client, &view);
    zmx_stream_msg_close (&msg);
    return true;
}

//  -------------------------------------------------------------------------
//  Timer work

//  Heartbeats out, silent clients forgotten.
static void
s_heartbeat (s_self_t *self)
{
    int64_t now = zclock_mono ();
    zlist_t *expired = zlist_new ();
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients)) {
        if (now - client->heard_at > (int64_t) client->heartbeat_ms * self->config.liveness) {
            zlist_append (expired, client);
            continue;
        }
        if (now - client->sent_at >= self->config.heartbeat_ms) {
            zmx_stream_view_t ping = { .command = ZMX_STREAM_MSG_PING };
            s_send (self, client, &ping);
        }
    }
    for (s_client_t *client = (s_client_t *) zlist_first (expired); client;
         client = (s_client_t *) zlist_next (expired)) {
        self->counters.expired++;
        zmx_log_info (self->name, "client expired after %u ms of silence",
                      client->heartbeat_ms * self->config.liveness);
        zhashx_delete (self->clients, client->key);
        s_client_destroy (self, &client);
    }
    zlist_destroy (&expired);
}

//  Write the positions that moved: at most every S_SAVE_MSEC per consumer
//  (each write is two fsyncs), or all of them now when `all`.
static void
s_consumers_persist (s_self_t *self, bool all)
{
    int64_t now = zclock_mono ();
    for (s_consumer_t *consumer = (s_consumer_t *) zhashx_first (self->consumers); consumer;
         consumer = (s_consumer_t *) zhashx_next (self->consumers)) {
        s_consumer_update (consumer);
        if (consumer->position != consumer->saved
        &&  (all || now - consumer->saved_at >= S_SAVE_MSEC))
            s_consumer_save (self, consumer);
    }
}

static void
s_tick (s_self_t *self)
{
    if (zmx_stream_store_tick (self->store) != ZMX_OK)
        zmx__log_limited (self->name, &self->last_warning, "store tick failed");
    //  A tick a whole interval after the first append has started its fsync
    if (self->unsynced_since
    &&  zclock_mono () - self->unsynced_since > self->config.store.fsync_interval_ms)
        self->unsynced_since = 0;
    //  Retention may have dropped records under a cursor: wake them all
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients))
        for (s_subscription_t *sub = (s_subscription_t *) zlistx_first (client->subscriptions);
             sub; sub = (s_subscription_t *) zlistx_next (client->subscriptions))
            if (self->config.store.max_bytes || self->config.store.max_age_ms
            ||  self->config.store.max_records)
                sub->idle = false;
    s_acks_send (self);
    s_heartbeat (self);
    s_consumers_persist (self, false);
    zmx__log_dedup_expire (self->dedup);
    self->ticked_at = zclock_mono ();
}

//  -------------------------------------------------------------------------
//  Counters, set-up, loop

static void
s_send_counters (void *args)
{
    s_self_t *self = (s_self_t *) args;
    const s_counters_t *c = &self->counters;
    zlist_t *streams = zmx_stream_store_streams (self->store);
    zmx__log_ingest_counters_t ingest = { 0 };
    if (self->ingest)
        zmx__log_ingest_counters (self->ingest, &ingest);
    const zmx_service_counter_t counters [] = {
        { "appended", c->appended },
        { "duplicates", c->duplicates },
        { "acked_batches", c->acked_batches },
        { "delivered", c->delivered },
        { "redelivered", c->redelivered },
        { "invalid", c->invalid },
        { "refused", c->refused },
        { "dropped", c->dropped },
        { "expired", c->expired },
        { "errors", c->errors },
        { "clients", zhashx_size (self->clients) },
        { "subscriptions", self->subscription_count },
        { "consumers", zhashx_size (self->consumers) },
        { "streams", zlist_size (streams) },
        { "pending_appends", zlistx_size (self->appends) },
        { "dedup_entries", zmx__log_dedup_size (self->dedup) },
        { "zmq_received", ingest.zmq_received },
        { "zmq_appended", ingest.zmq_appended },
        { "zmq_invalid", ingest.zmq_invalid },
        { "zmq_failed", ingest.zmq_failed },
        { "syslog_received", ingest.syslog_received },
        { "syslog_appended", ingest.syslog_appended },
        { "syslog_invalid", ingest.syslog_invalid },
        { "syslog_failed", ingest.syslog_failed }
    };
    zlist_destroy (&streams);
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (!self)
        return;
    //  Ending the subscriptions saves their consumers' positions
    s_client_t *client;
    while (self->clients && (client = (s_client_t *) zhashx_first (self->clients))) {
        zhashx_delete (self->clients, client->key);
        s_client_destroy (self, &client);
    }
    zhashx_destroy (&self->clients);
    if (self->consumers)
        s_consumers_persist (self, true);
    zhashx_destroy (&self->consumers);
    zlistx_destroy (&self->appends);
    zmx__log_dedup_destroy (&self->dedup);
    zhashx_destroy (&self->touched);
    zmx__log_ingest_destroy (&self->ingest);
    zmx__log_positions_destroy (&self->positions);
    zmx_stream_store_destroy (&self->store);
    zsock_destroy (&self->router);
    zlist_destroy (&self->endpoints);
    freen (self->out);
    freen (self->config.endpoint);
    freen (self->config.directory);
    freen (self->config.ingest_endpoint);
    freen (self->config.syslog_endpoint);
    freen (self->config.default_stream);
    freen (self->config.default_subject);
    freen (self->name);
    freen (self);
    *self_p = NULL;
}

//  An entry from the ingest: appended to the default stream like any
//  record of an APPEND (flushed with the turn's batch, delivered live).
static int
s_ingest_append (void *arg, const zmx__log_entry_t *entry)
{
    s_self_t *self = (s_self_t *) arg;
    int rc = zmx_stream_store_append (self->store, self->config.default_stream, entry->subject,
                                      entry->headers, entry->header_count, entry->body,
                                      entry->body_size, NULL);
    if (rc == ZMX_OK) {
        self->counters.appended++;
        zhashx_update (self->touched, self->config.default_stream, self);
    }
    return rc;
}

//  Bind the ingest's sockets when either endpoint is set. Returns 0 or -1
//  (logged).
static int
s_ingest_start (s_self_t *self, zmx_security_t *security)
{
    if (!*self->config.ingest_endpoint && !*self->config.syslog_endpoint)
        return 0;
    const char *reason = NULL;
    self->ingest = zmx__log_ingest_new (security, self->config.ingest_endpoint,
                                        self->config.syslog_endpoint,
                                        self->config.default_subject, s_ingest_append, self,
                                        &reason);
    if (!self->ingest) {
        zmx_log_error (self->name, "ingest: %s", reason? reason: "cannot start");
        return -1;
    }
    zmx__log_ingest_endpoints (self->ingest, self->endpoints);
    return 0;
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: "log");
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    self->clients = zhashx_new ();
    self->consumers = zhashx_new ();
    zhashx_set_destructor (self->consumers, (zhashx_destructor_fn *) s_consumer_destroy);
    self->appends = zlistx_new ();
    zlistx_set_destructor (self->appends, (zlistx_destructor_fn *) s_append_destroy);
    self->touched = zhashx_new ();
    zconfig_t *config = args? args->config: NULL;
    zmx_security_t *security = args? args->security: NULL;
    if (s_config_read (self, config)) {
        s_self_destroy (&self);
        return NULL;
    }
    self->dedup = zmx__log_dedup_new (self->config.dedup_window_ms, self->config.dedup_max);
    self->out_max = self->config.records_bytes;
    self->out = (byte *) malloc (self->out_max);
    self->store = zmx_stream_store_new (self->config.directory, &self->config.store);
    if (self->store)
        self->positions = zmx__log_positions_new (self->config.directory);
    if (!self->store || !self->out || !self->positions) {
        s_self_destroy (&self);
        return NULL;
    }
    zmx__log_positions_load (self->positions, s_consumer_loaded, self);
    zmx__log_dedup_load (self->dedup, self->store);
    self->router = zmx_security_socket (security, ZMQ_ROUTER);
    if (self->router) {
        zsock_set_sndhwm (self->router, self->config.send_hwm);
        zsock_set_sndtimeo (self->router, 0);
        zsock_set_router_mandatory (self->router, 1);
        zsock_set_maxmsgsize (self->router, self->config.max_message_size);
        zsock_set_linger (self->router, 0);
    }
    if (!self->router
    ||  zmx__listen_list (security, self->router, self->config.endpoint, self->endpoints,
                          self->name)
    ||  s_ingest_start (self, security))
        s_self_destroy (&self);
    return self;
}

//  Milliseconds between ticks: the fsync interval while the store may
//  owe an fsync (the store wants a tick that often) or batches wait to
//  be durable, else S_TICK_MAX_MSEC; at most half a heartbeat.
static int64_t
s_tick_period (s_self_t *self)
{
    int64_t period = S_TICK_MAX_MSEC;
    if ((zlistx_size (self->appends) || self->unsynced_since)
    &&  self->config.store.fsync != ZMX_STREAM_FSYNC_NEVER
    &&  self->config.store.fsync_interval_ms < period)
        period = self->config.store.fsync_interval_ms;
    if (period > (int64_t) self->config.heartbeat_ms / 2)
        period = self->config.heartbeat_ms / 2;
    return period;
}

//  How long the loop may sleep: 0 with deliveries to make, else until
//  the next tick.
static int
s_poll_timeout (s_self_t *self)
{
    if (s_work_left (self))
        return 0;
    int64_t left = self->ticked_at + s_tick_period (self) - zclock_mono ();
    //  Batches waiting for the fsync thread: look again every millisecond,
    //  not every tick, or each waits half a tick more than its fsync (with
    //  a full window the producer sends nothing that would wake the loop)
    if (zlistx_size (self->appends) && left > S_ACK_POLL_MSEC)
        left = S_ACK_POLL_MSEC;
    return left < 0? 0: (int) left;
}

void
zmx_log_service_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    if (!zmx_service_start_status (pipe, self != NULL, self? self->endpoints: NULL,
                                   "invalid configuration, data directory or endpoint (see log)"))
        return;
    zsock_t *sub = self->ingest? zmx__log_ingest_socket (self->ingest): NULL;
    int udp = self->ingest? zmx__log_ingest_udp_fd (self->ingest): -1;
    zmq_pollitem_t items [4] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 }
    };
    int count = 2, sub_item = -1, udp_item = -1;
    if (sub) {
        items [count] = (zmq_pollitem_t) { zsock_resolve (sub), 0, ZMQ_POLLIN, 0 };
        sub_item = count++;
    }
    if (udp >= 0) {
        items [count] = (zmq_pollitem_t) { NULL, udp, ZMQ_POLLIN, 0 };
        udp_item = count++;
    }
    self->ticked_at = zclock_mono ();
    while (!self->terminated) {
        if (zmq_poll (items, count, s_poll_timeout (self)) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;                  //  Context terminated
        }
        if (items [0].revents & ZMQ_POLLIN)
            self->terminated = zmx_service_serve_pipe (self->pipe, self->endpoints,
                                                       s_send_counters, self);
        for (int drained = 0; drained < S_DRAIN_LIMIT && s_handle_message (self); drained++)
            ;
        if (sub_item >= 0 && (items [sub_item].revents & ZMQ_POLLIN))
            zmx__log_ingest_handle_zmq (self->ingest);
        if (udp_item >= 0 && (items [udp_item].revents & ZMQ_POLLIN))
            zmx__log_ingest_handle_udp (self->ingest);
        s_flush_touched (self);
        s_acks_send (self);
        if (zclock_mono () - self->ticked_at >= s_tick_period (self))
            s_tick (self);
        s_deliver_all (self);
    }
    s_self_destroy (&self);
}
