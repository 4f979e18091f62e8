/*  =========================================================================
    zmx_titanic - durable requests over Majordomo (9/TSP)

    Design notes
    - Three zmx_worker objects serve titanic.request, titanic.reply and
      titanic.close on the broker; a pool of zmx_client objects (one per
      request in flight, so that a reply always belongs to the request its
      socket carried) sends stored requests to their services. Everything
      runs in this actor's one thread, polled together.
    - The store (src/reqrep/zmx_tsp_store.c) holds the truth; memory holds an
      index: one entry per stored UUID with its state, and the pending
      ones in two FIFO lists: `ready` (may be sent now) and `waiting` (sent
      again at next_attempt). The retry interval is constant, so appending
      to `waiting` keeps it sorted by next_attempt.
    - A request is acknowledged only after the store has flushed it. On
      start the store is scanned and every request without a reply is
      pending again: dispatch is at least once, as 7/MDP assumes of
      workers. The first reply stored wins; later ones are duplicates.
    - Before a request goes to a service, mmi.service tells whether the
      service has workers; the answer, yes or no, is cached per service for
      one retry interval, so a missing service costs one question per
      interval, not one per request, and requests do not pile up in the
      broker's queue.
    - A request whose reply does not come within dispatch-timeout is sent
      again later on a new client socket; a reply to the abandoned socket
      can then never be taken for another request's.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"

#define S_LOG_DEFAULT   "titanic"
#define S_BATCH         64      //  TSP requests handled per worker per turn
#define S_MAX_TICK      100     //  Longest poll wait, msec
#define S_MAX_SWEEP     10000   //  Longest time between retention sweeps, msec
#define S_WORKERS       3       //  request, reply, close
#define S_FILE_LIMIT    (1 << 30)   //  Larger stored files are taken as damaged

typedef enum { S_IDLE, S_CHECK, S_CALL } s_slot_state_t;

typedef struct {
    char uuid [ZMX_TITANIC_UUID_SIZE + 1];  //  Key; uppercase hex
    char *service;              //  Target service, NULL until first read
    bool replied;               //  A reply is stored
    bool in_flight;             //  A slot is working on it
    int64_t stored_at;          //  Wall msec of the newest file (retention)
    int64_t next_attempt;       //  Mono msec, while in `waiting`
    zlistx_t *list;             //  ready, waiting, or NULL
    void *handle;               //  Its handle in that list
} s_entry_t;

typedef struct {
    zmx_client_t *client;       //  Socket of this slot, made on first use
    s_slot_state_t state;       //  What the slot waits for
    char uuid [ZMX_TITANIC_UUID_SIZE + 1];  //  Request it works on
    zmsg_t *request;            //  Body to send once the check says yes
    int64_t deadline;           //  Mono msec: give up waiting then
} s_slot_t;

typedef struct {
    uint64_t requests, refused, malformed, replies_stored, replies_duplicate;
    uint64_t replies_orphaned, replies_fetched, closed, dispatched, dispatch_timeouts;
    uint64_t service_missing, expired, recovered, store_errors;
} s_counters_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    char *name;                 //  Instance name for logs
    zlist_t *endpoints;         //  Always empty: titanic binds nothing
    char *broker;               //  Broker endpoint
    char *curve_cert;           //  CURVE client certificate, or NULL
    char *server_key;           //  Broker's key, with curve_cert
    zmx__tsp_store_t *store;    //  The files
    zmx_worker_t *workers [S_WORKERS];  //  titanic.request, .reply, .close
    zhashx_t *entries;          //  uuid -> s_entry_t
    zlistx_t *ready;            //  Pending entries to send now, oldest first
    zlistx_t *waiting;          //  Pending entries to send later, by time
    zhashx_t *services;         //  service -> mono msec until which it is
                                //  known to have workers (as intptr_t)
    zhashx_t *absent;           //  service -> mono msec until which it is
                                //  known to have none (as intptr_t)
    s_slot_t *slots;            //  Requests in flight
    size_t slot_count;          //  max-in-flight
    size_t pending;             //  Entries without reply
    size_t max_pending, max_stored;
    size_t max_message_size;    //  Largest request body accepted, bytes
    int64_t interval, liveness;
    int64_t dispatch_timeout, retry_interval, retention_ms;
    int64_t next_sweep;         //  Mono msec of the next retention sweep
    s_counters_t counters;
    int64_t last_warning;       //  Rate limit of warnings from peer input
    bool terminated;
} s_self_t;

static const char *s_worker_services [S_WORKERS] = {
    ZMX_TITANIC_REQUEST, ZMX_TITANIC_REPLY, ZMX_TITANIC_CLOSE
};

//  -------------------------------------------------------------------------
//  Index

static void
s_entry_free (void **item_p)
{
    s_entry_t *entry = (s_entry_t *) *item_p;
    if (entry) {
        free (entry->service);
        free (entry);
        *item_p = NULL;
    }
}

static void
s_entry_unlist (s_entry_t *entry)
{
    if (entry->list) {
        zlistx_delete (entry->list, entry->handle);
        entry->list = NULL;
        entry->handle = NULL;
    }
}

static void
s_entry_list (s_entry_t *entry, zlistx_t *list)
{
    s_entry_unlist (entry);
    entry->list = list;
    entry->handle = zlistx_add_end (list, entry);
}

//  Send the entry again after the retry interval.
static void
s_entry_defer (s_self_t *self, s_entry_t *entry, int64_t now)
{
    entry->next_attempt = now + self->retry_interval;
    s_entry_list (entry, self->waiting);
}

static s_entry_t *
s_entry_add (s_self_t *self, const char *uuid, bool replied, int64_t stored_at)
{
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    memcpy (entry->uuid, uuid, ZMX_TITANIC_UUID_SIZE);
    entry->replied = replied;
    entry->stored_at = stored_at;
    zhashx_insert (self->entries, entry->uuid, entry);
    if (!replied) {
        self->pending++;
        s_entry_list (entry, self->ready);
    }
    return entry;
}

//  Forget the entry and delete its files.
static void
s_entry_remove (s_self_t *self, s_entry_t *entry)
{
    if (zmx__tsp_store_remove (self->store, entry->uuid) != 0)
        self->counters.store_errors++;
    s_entry_unlist (entry);
    if (!entry->replied)
        self->pending--;
    zhashx_delete (self->entries, entry->uuid);
}

static void
s_recover_one (const char *uuid, bool replied, int64_t mtime, void *arg)
{
    s_self_t *self = (s_self_t *) arg;
    s_entry_add (self, uuid, replied, mtime? mtime: zclock_time ());
    self->counters.recovered++;
}

//  -------------------------------------------------------------------------
//  TSP services (we are the worker)

//  Copy a UUID frame into uuid (uppercase); false if it is not one.
static bool
s_uuid_take (zmsg_t *body, char *uuid)
{
    zframe_t *frame = zmsg_first (body);
    if (zmsg_size (body) != 1
    ||  !zmx__tsp_uuid_valid ((const char *) zframe_data (frame), zframe_size (frame)))
        return false;
    for (size_t index = 0; index < ZMX_TITANIC_UUID_SIZE; index++)
        uuid [index] = (char) toupper (zframe_data (frame) [index]);
    uuid [ZMX_TITANIC_UUID_SIZE] = 0;
    return true;
}

static zmsg_t *
s_status (const char *status)
{
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, status);
    return reply;
}

static zmsg_t *
s_malformed (s_self_t *self, const char *service, const char *why)
{
    self->counters.malformed++;
    zmx__log_limited (self->name, &self->last_warning, "%s: malformed request (%s), answered %s",
                      service, why, ZMX_TITANIC_UNKNOWN);
    return s_status (ZMX_TITANIC_UNKNOWN);
}

//  titanic.request: [service, body...] -> ["200", uuid] once on disk
static zmsg_t *
s_handle_request (s_self_t *self, zmsg_t *body)
{
    zframe_t *service = zmsg_first (body);
    if (zmsg_size (body) < 2)
        return s_malformed (self, ZMX_TITANIC_REQUEST, "needs a service and a body");
    if (!zmx_mdp_service_valid (zframe_data (service), zframe_size (service)))
        return s_malformed (self, ZMX_TITANIC_REQUEST, "bad service name");
    if (zmsg_content_size (body) > self->max_message_size)
        return s_malformed (self, ZMX_TITANIC_REQUEST, "larger than max-message-size");
    if (self->pending >= self->max_pending || zhashx_size (self->entries) >= self->max_stored) {
        self->counters.refused++;
        zmx__log_limited (self->name, &self->last_warning, "refusing a request: %zu pending, "
                          "%zu stored (limits max-pending %zu, max-stored %zu)", self->pending,
                          zhashx_size (self->entries), self->max_pending, self->max_stored);
        return s_status (ZMX_TITANIC_ERROR);
    }
    zuuid_t *uuid = zuuid_new ();
    const char *text = zuuid_str (uuid);
    zmsg_t *reply;
    if (zmx__tsp_store_put (self->store, text, ZMX__TSP_REQUEST, body) == 0) {
        s_entry_t *entry = s_entry_add (self, text, false, zclock_time ());
        entry->service = zframe_strdup (service);
        self->counters.requests++;
        reply = s_status (ZMX_TITANIC_OK);
        zmsg_addstr (reply, text);
    }
    else {
        self->counters.store_errors++;
        reply = s_status (ZMX_TITANIC_ERROR);
    }
    zuuid_destroy (&uuid);
    return reply;
}

//  titanic.reply: [uuid] -> ["200", reply...], ["300"] or ["400"]
static zmsg_t *
s_handle_reply (s_self_t *self, zmsg_t *body)
{
    char uuid [ZMX_TITANIC_UUID_SIZE + 1];
    if (!s_uuid_take (body, uuid))
        return s_malformed (self, ZMX_TITANIC_REPLY, "needs one UUID frame");
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, uuid);
    if (!entry)
        return s_status (ZMX_TITANIC_UNKNOWN);
    if (!entry->replied)
        return s_status (ZMX_TITANIC_PENDING);
    zmsg_t *stored = zmx__tsp_store_get (self->store, uuid, ZMX__TSP_REPLY);
    if (!stored) {
        self->counters.store_errors++;
        return s_status (ZMX_TITANIC_ERROR);
    }
    self->counters.replies_fetched++;
    zmsg_pushstr (stored, ZMX_TITANIC_OK);
    return stored;
}

//  titanic.close: [uuid] -> ["200"], also for an unknown UUID (9/TSP)
static zmsg_t *
s_handle_close (s_self_t *self, zmsg_t *body)
{
    char uuid [ZMX_TITANIC_UUID_SIZE + 1];
    if (!s_uuid_take (body, uuid))
        return s_malformed (self, ZMX_TITANIC_CLOSE, "needs one UUID frame");
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, uuid);
    if (entry) {
        s_entry_remove (self, entry);
        self->counters.closed++;
    }
    return s_status (ZMX_TITANIC_OK);
}

//  Serve what one TSP worker has received, a batch at a time. Calling recv
//  also keeps its heartbeats and reconnects going.
static void
s_serve_worker (s_self_t *self, size_t which)
{
    for (int count = 0; count < S_BATCH; count++) {
        zframe_t *reply_to;
        zmsg_t *body = zmx_worker_recv (self->workers [which], 0, &reply_to);
        if (!body)
            break;
        zmsg_t *reply = which == 0? s_handle_request (self, body)
                      : which == 1? s_handle_reply (self, body)
                      : s_handle_close (self, body);
        zmsg_destroy (&body);
        zmx_worker_send (self->workers [which], &reply, &reply_to);
    }
}

//  -------------------------------------------------------------------------
//  Dispatch (we are the client)

//  Free the slot; drop its socket too when a late answer could still come.
static void
s_slot_reset (s_slot_t *slot, bool drop_socket)
{
    slot->state = S_IDLE;
    slot->uuid [0] = 0;
    zmsg_destroy (&slot->request);
    if (drop_socket)
        zmx_client_destroy (&slot->client);
}

//  The entry a slot worked on, no longer in flight; NULL if it was closed
//  meanwhile.
static s_entry_t *
s_slot_entry (s_self_t *self, s_slot_t *slot)
{
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, slot->uuid);
    if (entry)
        entry->in_flight = false;
    return entry;
}

static int
s_slot_send (s_self_t *self, s_slot_t *slot, const char *service, zmsg_t **body_p)
{
    if (!slot->client) {
        slot->client = zmx_client_new (self->broker);
        if (slot->client && self->curve_cert)
            zmx_client_set_curve (slot->client, self->curve_cert, self->server_key);
        if (slot->client)
            zmx_client_set_timeout (slot->client, (int) self->dispatch_timeout);
    }
    if (!slot->client || zmx_client_send (slot->client, service, body_p) != ZMX_OK) {
        zmsg_destroy (body_p);
        return -1;
    }
    slot->deadline = zclock_mono () + self->dispatch_timeout;
    return 0;
}

//  Send the request now, or ask mmi.service first unless the service is
//  known to have workers.
static void
s_slot_start (s_self_t *self, s_slot_t *slot, s_entry_t *entry, zmsg_t *request, int64_t now)
{
    char *service = zmsg_popstr (request);
    if (!entry->service)
        entry->service = strdup (service);
    int64_t known = (int64_t) (intptr_t) zhashx_lookup (self->services, service);
    memcpy (slot->uuid, entry->uuid, sizeof slot->uuid);
    entry->in_flight = true;
    int rc;
    if (known > now) {
        slot->state = S_CALL;
        self->counters.dispatched++;
        rc = s_slot_send (self, slot, service, &request);
    }
    else {
        slot->state = S_CHECK;
        zmsg_pushstr (request, service);
        slot->request = request;        //  Sent if the check says yes
        zmsg_t *check = zmsg_new ();
        zmsg_addstr (check, service);
        rc = s_slot_send (self, slot, "mmi.service", &check);
    }
    free (service);
    if (rc != 0) {
        entry->in_flight = false;
        s_entry_defer (self, entry, now);
        s_slot_reset (slot, true);
    }
}

//  The mmi.service answer came: send the request or defer it.
static void
s_slot_checked (s_self_t *self, s_slot_t *slot, zmsg_t *answer, int64_t now)
{
    char *status = zmsg_popstr (answer);
    bool present = status && streq (status, "200");
    free (status);
    s_entry_t *entry = s_slot_entry (self, slot);
    zmsg_t *request = slot->request;
    slot->request = NULL;
    char *service = zmsg_popstr (request);
    void *until = (void *) (intptr_t) (now + self->retry_interval);
    if (present) {
        zhashx_update (self->services, service, until);
        zhashx_delete (self->absent, service);
    }
    else {
        self->counters.service_missing++;
        zhashx_update (self->absent, service, until);
        zhashx_delete (self->services, service);
    }
    if (present && entry) {
        slot->state = S_CALL;
        entry->in_flight = true;
        self->counters.dispatched++;
        if (s_slot_send (self, slot, service, &request) != 0) {
            entry->in_flight = false;
            s_entry_defer (self, entry, now);
            s_slot_reset (slot, true);
        }
    }
    else {
        if (entry)
            s_entry_defer (self, entry, now);
        zmsg_destroy (&request);
        s_slot_reset (slot, false);
    }
    free (service);
}

//  The service answered: store the reply, exactly once.
static void
s_slot_answered (s_self_t *self, s_slot_t *slot, zmsg_t *reply, int64_t now)
{
    s_entry_t *entry = s_slot_entry (self, slot);
    if (!entry)
        self->counters.replies_orphaned++;      //  Closed meanwhile
    else
    if (entry->replied)
        self->counters.replies_duplicate++;
    else
    if (zmx__tsp_store_put (self->store, entry->uuid, ZMX__TSP_REPLY, reply) == 0) {
        entry->replied = true;
        entry->stored_at = zclock_time ();
        self->pending--;
        self->counters.replies_stored++;
    }
    else {
        self->counters.store_errors++;
        s_entry_defer (self, entry, now);
    }
    s_slot_reset (slot, false);
}

//  Take what arrived on a slot's socket.
static void
s_slot_receive (s_self_t *self, s_slot_t *slot, int64_t now)
{
    char *service = NULL;
    zmsg_t *msg = zmx_client_recv (slot->client, 0, &service);
    if (!msg) {
        free (service);
        return;
    }
    bool check = service && streq (service, "mmi.service");
    if (slot->state == S_CHECK && check)
        s_slot_checked (self, slot, msg, now);
    else
    if (slot->state == S_CALL && !check)
        s_slot_answered (self, slot, msg, now);
    //  Anything else cannot come: one question per socket at a time
    zmsg_destroy (&msg);
    free (service);
}

//  Give up on slots whose answer is overdue; their requests go again later.
static void
s_slots_expire (s_self_t *self, int64_t now)
{
    for (size_t index = 0; index < self->slot_count; index++) {
        s_slot_t *slot = &self->slots [index];
        if (slot->state == S_IDLE || slot->deadline > now)
            continue;
        s_entry_t *entry = s_slot_entry (self, slot);
        if (entry) {
            s_entry_defer (self, entry, now);
            if (entry->service)
                zhashx_delete (self->services, entry->service);
        }
        self->counters.dispatch_timeouts++;
        s_slot_reset (slot, true);
    }
}

//  Load the oldest ready request into a free slot, while there are both.
static void
s_dispatch (s_self_t *self, int64_t now)
{
    s_entry_t *entry;
    while ((entry = (s_entry_t *) zlistx_first (self->waiting)) && entry->next_attempt <= now)
        s_entry_list (entry, self->ready);
    size_t index = 0;
    while ((entry = (s_entry_t *) zlistx_first (self->ready))) {
        while (index < self->slot_count && self->slots [index].state != S_IDLE)
            index++;
        if (index == self->slot_count)
            break;
        if (entry->service
        &&  (int64_t) (intptr_t) zhashx_lookup (self->absent, entry->service) > now) {
            s_entry_defer (self, entry, now);   //  No worker, as of a moment ago
            continue;
        }
        s_entry_unlist (entry);
        zmsg_t *request = zmx__tsp_store_get (self->store, entry->uuid, ZMX__TSP_REQUEST);
        if (!request || zmsg_size (request) < 2) {
            //  Damaged on disk: nobody can ever get a reply for it
            zmsg_destroy (&request);
            self->counters.store_errors++;
            s_entry_remove (self, entry);
            continue;
        }
        s_slot_start (self, &self->slots [index], entry, request, now);
    }
}

//  Delete replies nobody closed within the retention time.
static void
s_sweep (s_self_t *self)
{
    int64_t limit = zclock_time () - self->retention_ms;
    zlistx_t *old = zlistx_new ();
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->entries); entry;
         entry = (s_entry_t *) zhashx_next (self->entries))
        if (entry->replied && entry->stored_at < limit)
            zlistx_add_end (old, entry);
    for (s_entry_t *entry = (s_entry_t *) zlistx_first (old); entry;
         entry = (s_entry_t *) zlistx_next (old)) {
        s_entry_remove (self, entry);
        self->counters.expired++;
    }
    zlistx_destroy (&old);
}

//  Forget cached mmi.service answers that are out of date, so that the
//  caches hold at most the services asked about in one retry interval.
static void
s_purge_cache (zhashx_t *cache, int64_t now)
{
    zlistx_t *old = zlistx_new ();
    for (void *until = zhashx_first (cache); until; until = zhashx_next (cache))
        if ((int64_t) (intptr_t) until <= now)
            zlistx_add_end (old, (void *) zhashx_cursor (cache));
    for (const char *name = (const char *) zlistx_first (old); name;
         name = (const char *) zlistx_next (old))
        zhashx_delete (cache, name);
    zlistx_destroy (&old);
}

//  -------------------------------------------------------------------------
//  Actor: construction, pipe commands, main loop

static void
s_send_counters (void *args)
{
    s_self_t *self = (s_self_t *) args;
    const s_counters_t *c = &self->counters;
    size_t in_flight = 0;
    for (size_t index = 0; index < self->slot_count; index++)
        in_flight += self->slots [index].state != S_IDLE;
    const zmx_service_counter_t counters [] = {
        { "pending", self->pending },
        { "stored", zhashx_size (self->entries) },
        { "in_flight", in_flight },
        { "requests", c->requests },
        { "refused", c->refused },
        { "malformed", c->malformed },
        { "replies_stored", c->replies_stored },
        { "replies_duplicate", c->replies_duplicate },
        { "replies_orphaned", c->replies_orphaned },
        { "replies_fetched", c->replies_fetched },
        { "closed", c->closed },
        { "dispatched", c->dispatched },
        { "dispatch_timeouts", c->dispatch_timeouts },
        { "service_missing", c->service_missing },
        { "expired", c->expired },
        { "recovered", c->recovered },
        { "store_errors", c->store_errors }
    };
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        for (size_t index = 0; index < S_WORKERS; index++)
            zmx_worker_destroy (&self->workers [index]);
        for (size_t index = 0; self->slots && index < self->slot_count; index++)
            s_slot_reset (&self->slots [index], true);
        free (self->slots);
        zlistx_destroy (&self->ready);
        zlistx_destroy (&self->waiting);
        zhashx_destroy (&self->entries);
        zhashx_destroy (&self->services);
        zhashx_destroy (&self->absent);
        zmx__tsp_store_destroy (&self->store);
        zlist_destroy (&self->endpoints);
        free (self->broker);
        free (self->curve_cert);
        free (self->server_key);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  The keys s_self_configure reads (zmxd refuses any other)
const char *const zmx__titanic_keys [] = {
    "endpoint", "directory", "fsync", "max-pending", "max-stored", "max-in-flight",
    "dispatch-timeout", "retry-interval", "reply-retention", "heartbeat-interval",
    "heartbeat-liveness", "max-message-size", "curve-certificate", "server-key", NULL
};

//  Read the settings; returns -1 (reason logged) if any is invalid.
static int
s_self_configure (s_self_t *self, zconfig_t *config)
{
    bool valid = true;
    self->interval = zmx__config_int (config, "heartbeat-interval", ZMX_HEARTBEAT_INTERVAL,
                                      10, 3600000, &valid);
    self->liveness = zmx__config_int (config, "heartbeat-liveness", ZMX_HEARTBEAT_LIVENESS,
                                      1, 100, &valid);
    self->max_pending = zmx__config_int (config, "max-pending", ZMX_TITANIC_MAX_PENDING,
                                         1, 100000000, &valid);
    self->max_stored = zmx__config_int (config, "max-stored", ZMX_TITANIC_MAX_STORED,
                                        1, 100000000, &valid);
    self->slot_count = zmx__config_int (config, "max-in-flight", ZMX_TITANIC_MAX_IN_FLIGHT,
                                        1, 10000, &valid);
    self->dispatch_timeout = zmx__config_int (config, "dispatch-timeout",
                                              ZMX_TITANIC_DISPATCH_TIMEOUT, 10, 86400000, &valid);
    self->retry_interval = zmx__config_int (config, "retry-interval",
                                            ZMX_TITANIC_RETRY_INTERVAL, 1, 86400000, &valid);
    self->retention_ms = 1000 * zmx__config_int (config, "reply-retention",
                                                 ZMX_TITANIC_REPLY_RETENTION, 0, 100000000,
                                                 &valid);
    int64_t sync = zmx__config_int (config, "fsync", ZMX_TITANIC_FSYNC, 0, 1, &valid);
    self->max_message_size = zmx__config_int (config, "max-message-size",
                                              ZMX_TITANIC_MAX_MESSAGE_SIZE, 64, S_FILE_LIMIT / 2,
                                              &valid);
    self->broker = strdup (zmx__config_str (config, "endpoint", ZMX_TITANIC_DEFAULT_ENDPOINT));
    if (!zmx__endpoint_valid (self->broker)) {
        zmx_log_error (self->name, "endpoint = \"%s\" is not one broker endpoint",
                       self->broker);
        valid = false;
    }
    const char *cert = zmx__config_str (config, "curve-certificate", NULL);
    const char *key = zmx__config_str (config, "server-key", NULL);
    if (valid && (cert || key)
    &&  zmx__curve_client_store (&self->curve_cert, &self->server_key, cert, key) != ZMX_OK) {
        zmx_log_error (self->name, "curve-certificate/server-key are invalid");
        valid = false;
    }
    if (!valid)
        return -1;
    const char *directory = zmx__config_str (config, "directory", ZMX_TITANIC_DEFAULT_DIRECTORY);
    //  Replies are bounded by the broker's max-frame-size on their way in;
    //  the read limit only keeps a damaged file from filling memory
    self->store = zmx__tsp_store_new (directory, sync == 1, S_FILE_LIMIT);
    return self->store? 0: -1;
}

static int
s_self_start_workers (s_self_t *self)
{
    for (size_t index = 0; index < S_WORKERS; index++) {
        zmx_worker_t *worker = zmx_worker_new (self->broker, s_worker_services [index]);
        if (!worker)
            return -1;
        zmx_worker_set_heartbeat (worker, (int) self->interval, (int) self->liveness);
        if (self->curve_cert)
            zmx_worker_set_curve (worker, self->curve_cert, self->server_key);
        self->workers [index] = worker;
    }
    return 0;
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: S_LOG_DEFAULT);
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    self->entries = zhashx_new ();
    zhashx_set_destructor (self->entries, s_entry_free);
    self->ready = zlistx_new ();
    self->waiting = zlistx_new ();
    self->services = zhashx_new ();
    self->absent = zhashx_new ();
    if (s_self_configure (self, args? args->config: NULL) || s_self_start_workers (self)) {
        s_self_destroy (&self);
        return NULL;
    }
    self->slots = (s_slot_t *) zmalloc (self->slot_count * sizeof (s_slot_t));
    if (zmx__tsp_store_scan (self->store, s_recover_one, self) < 0) {
        s_self_destroy (&self);
        return NULL;
    }
    if (self->counters.recovered)
        zmx_log_notice (self->name, "recovered %" PRIu64 " request(s), %zu without reply",
                        self->counters.recovered, self->pending);
    return self;
}

//  Poll the pipe, the TSP workers' sockets and the busy slots' sockets.
//  Returns the number of items filled in.
static int
s_poll_items (s_self_t *self, zmq_pollitem_t *items, s_slot_t **owners)
{
    int count = 0;
    items [count++] = (zmq_pollitem_t) { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
    for (size_t index = 0; index < S_WORKERS; index++) {
        zsock_t *socket = zmx_worker_socket (self->workers [index]);
        if (socket)
            items [count++] = (zmq_pollitem_t) { zsock_resolve (socket), 0, ZMQ_POLLIN, 0 };
    }
    for (size_t index = 0; index < self->slot_count; index++) {
        s_slot_t *slot = &self->slots [index];
        zsock_t *socket = slot->client? zmx_client_socket (slot->client): NULL;
        if (slot->state != S_IDLE && socket) {
            owners [count] = slot;
            items [count++] = (zmq_pollitem_t) { zsock_resolve (socket), 0, ZMQ_POLLIN, 0 };
        }
    }
    return count;
}

static void
s_self_run (s_self_t *self)
{
    size_t capacity = 1 + S_WORKERS + self->slot_count;
    zmq_pollitem_t *items = (zmq_pollitem_t *) zmalloc (capacity * sizeof (zmq_pollitem_t));
    s_slot_t **owners = (s_slot_t **) zmalloc (capacity * sizeof (s_slot_t *));
    long tick = self->interval / 4 < S_MAX_TICK? (long) (self->interval / 4): S_MAX_TICK;
    int64_t sweep_every = self->retention_ms > 0 && self->retention_ms / 2 < S_MAX_SWEEP
                        ? self->retention_ms / 2: S_MAX_SWEEP;
    self->next_sweep = zclock_mono () + sweep_every;
    while (!self->terminated) {
        memset (owners, 0, capacity * sizeof (s_slot_t *));
        int count = s_poll_items (self, items, owners);
        if (zmq_poll (items, count, tick) < 0 && zmq_errno () != EINTR)
            break;              //  Context terminated
        if (items [0].revents & ZMQ_POLLIN)
            self->terminated = zmx_service_serve_pipe (self->pipe, self->endpoints,
                                                       s_send_counters, self);
        int64_t now = zclock_mono ();
        for (int index = 1; index < count; index++)
            if (owners [index] && (items [index].revents & ZMQ_POLLIN))
                s_slot_receive (self, owners [index], now);
        for (size_t index = 0; index < S_WORKERS; index++)
            s_serve_worker (self, index);
        s_slots_expire (self, now);
        s_dispatch (self, now);
        if (now >= self->next_sweep) {
            if (self->retention_ms > 0)
                s_sweep (self);
            s_purge_cache (self->services, now);
            s_purge_cache (self->absent, now);
            self->next_sweep = now + (sweep_every > 100? sweep_every: 100);
        }
    }
    free (owners);
    free (items);
}

void
zmx_titanic_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    if (!zmx_service_start_status (pipe, self != NULL, self? self->endpoints: NULL,
                                   "invalid configuration or data directory (see log)"))
        return;
    zmx_log_info (self->name, "Titanic on broker %s, %zu stored request(s)", self->broker,
                  zhashx_size (self->entries));
    s_self_run (self);
    s_self_destroy (&self);
}
