/*  =========================================================================
    zmx_broker - Majordomo broker (7/MDP, 18/MDP and packed MDP on one socket, 8/MMI)

    Design notes
    - One ROUTER socket carries clients and workers of both MDP versions
      and of zmx packed MDP; the decoder tells them apart by the leading
      empty frame (0.1) and the header (0.2: MDPC02/MDPW02, packed:
      ZMXC01/ZMXW01).
    - Packed messages carry the whole MDP header, and a small first body
      frame, in one frame. On arrival that inline body is copied into a
      frame of its own, so that queueing, dispatch and federation see the
      same body array for every version; a packed peer gets body frame 0
      inlined again when it is small (a copy of at most
      ZMX_PACKED_INLINE_MAX bytes costs far less than a frame operation),
      and larger frames are moved out untouched.
    - The hot path works on raw zmq_msg_t arrays: frames are received once
      and moved (not copied) to the peer; only the small protocol frames are
      built. A request that finds an idle worker is forwarded without any
      heap allocation (a packed header with its inline body is one, when
      it is longer than libzmq keeps inside the message, 33 bytes).
    - Replies find their way back without per-request state: the address
      frame given to workers is the client's routing id prefixed with one
      tag byte holding the client's MDP version (1, 2, or S_TAG_PACKED;
      ZMX_FED_CLIENT_TAG marks a peer broker), and workers echo it
      unchanged, as the RFC requires.
    - Workers with spare credit wait in their service's list in
      least-recently-used order; each dispatch moves the worker to the tail.
    - Every collection is bounded (see zmx_broker.h for the limits and the
      overflow policy).
    =========================================================================
*/
#include "zmx_reqrep_internal.h"
#include "zmx_federation.h"

#define S_BATCH 256             //  messages handled before looking at timers
#define S_SEND_HWM 100000       //  per-peer send queue (messages)
#define S_TAG_PACKED 4          //  address tag of a packed client (3 is
                                //  ZMX_FED_CLIENT_TAG, a peer broker)

//  A routing id, used as hash key for workers
typedef struct {
    uint8_t size;
    uint8_t data [255];
} s_blob_t;

typedef struct _s_service_t s_service_t;

typedef struct {
    s_blob_t identity;          //  ROUTER routing id of the worker
    s_service_t *service;       //  The one service it serves
    int version;                //  MDP version it speaks
    uint32_t credit;            //  Requests it accepts in flight
    uint32_t in_flight;         //  Requests sent and not yet answered
    int64_t expiry;             //  Dead if silent past this (msec, mono)
    int64_t last_sent;          //  When we last sent it anything
    void *waiting;              //  Handle in service->waiting, or NULL
} s_worker_t;

typedef struct {
    zmq_msg_t client;           //  Client routing id
    int version;                //  Client's MDP version
    int64_t expires;            //  Dropped if still queued past this
    size_t bytes;               //  Body bytes, for the global bound
    size_t count;               //  Body frames
    zmq_msg_t body [];          //  The body frames themselves
} s_request_t;

struct _s_service_t {
    char *name;                 //  Service name
    zlistx_t *waiting;          //  Workers with spare credit, LRU first
    size_t workers;             //  Registered workers
    s_request_t **queue;        //  Ring of queued requests
    size_t queue_head;          //  Index of the oldest request
    size_t queue_size;          //  Requests in the ring
    size_t queue_capacity;      //  Slots allocated (grows to the limit)
};

typedef struct {
    uint64_t requests, replies, partials, mmi;
    uint64_t dropped_overflow, dropped_expired, dropped_unroutable;
    uint64_t malformed, disconnects_sent, workers_expired;
} s_counters_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    zsock_t *router;            //  The broker socket
    void *socket;               //  Raw handle of router, for the hot path
    char *name;                 //  Instance name for logs
    zlist_t *endpoints;         //  Bound endpoints
    zhashx_t *services;         //  name -> s_service_t
    zhashx_t *workers;          //  s_blob_t -> s_worker_t
    int64_t interval;           //  Heartbeat interval, msec
    int64_t liveness;           //  Heartbeats missed before death
    size_t queue_limit;         //  Requests per service
    size_t queue_bytes_limit;   //  Queued body bytes, all services
    size_t queued_bytes;        //  Queued body bytes now
    size_t queued;              //  Queued requests now
    int64_t request_timeout;    //  msec a request may wait
    size_t max_services;        //  Bound on services
    size_t max_workers;         //  Bound on workers
    int64_t max_frame_size;     //  Larger messages cut the peer (libzmq)
    int64_t tick;               //  Timer period, msec
    int64_t next_tick;          //  When the next timer tick is due
    int64_t now;                //  Clock read once per batch of messages
    int64_t last_warning;       //  Rate limit for overflow/malformed logs
    s_counters_t counters;
    zmx__broker_pair_t *pair;   //  Binary Star peer, NULL if not in a pair
    zmx__federation_t *federation;   //  Peer brokers, NULL if not federated
    bool terminated;
} s_self_t;

//  A received message: identity frame then at most ZMX_MDP_MAX_FRAMES.
//  A packed header is moved out of parts [1] into `header` once decoded
//  (parts [1] then holds the inline body, or nothing), and the service
//  and address point into whichever frame holds them.
typedef struct {
    zmq_msg_t parts [ZMX_MDP_MAX_FRAMES + 1];
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES];
    size_t count;               //  parts received, identity included
    zmq_msg_t header;           //  Packed header frame, if has_header
    bool has_header;
    const uint8_t *service;     //  Service name, service_size bytes
    size_t service_size;
    const uint8_t *address;     //  Client address, address_size bytes
    size_t address_size;
} s_message_t;

//  -------------------------------------------------------------------------
//  Keys: routing ids hashed as byte strings

static size_t
s_blob_hash (const void *key)
{
    const s_blob_t *blob = (const s_blob_t *) key;
    size_t hash = 2166136261u;
    for (size_t index = 0; index < blob->size; index++)
        hash = (hash ^ blob->data [index]) * 16777619u;
    return hash;
}

static int
s_blob_compare (const void *left, const void *right)
{
    const s_blob_t *a = (const s_blob_t *) left, *b = (const s_blob_t *) right;
    if (a->size != b->size)
        return a->size < b->size? -1: 1;
    return memcmp (a->data, b->data, a->size);
}

static void
s_blob_set (s_blob_t *blob, zmq_msg_t *msg)
{
    size_t size = zmq_msg_size (msg);
    blob->size = (uint8_t) (size > sizeof blob->data? sizeof blob->data: size);
    memcpy (blob->data, zmq_msg_data (msg), blob->size);
}

//  -------------------------------------------------------------------------
//  Sending frames

//  Send the routing frame first: with ROUTER_MANDATORY it is the one that
//  fails (EHOSTUNREACH, or EAGAIN when the peer's queue is full), and then
//  nothing of the message has gone out.
static int
s_send_route (void *socket, const void *identity, size_t size)
{
    return zmx__frames_send_copy (socket, identity, size, true);
}

//  Send a packed header for `command` with `field`, then the body: frame 0
//  inline when it is small, the others (or all) moved out as frames.
static void
s_send_packed (void *socket, zmx_mdp_command_t command, const void *field, size_t field_size,
               zmq_msg_t *body, size_t count)
{
    bool inline_body = count == 0 || zmq_msg_size (&body [0]) <= ZMX_PACKED_INLINE_MAX;
    size_t inline_size = count && inline_body? zmq_msg_size (&body [0]): 0;
    zmq_msg_t header;
    zmq_msg_init_size (&header, zmx_mdp_packed_size (command, field_size, inline_size));
    uint8_t *bytes = (uint8_t *) zmq_msg_data (&header);
    size_t at = zmx_mdp_packed_write (bytes, command, inline_body, field, field_size, 0);
    if (inline_size)
        memcpy (bytes + at, zmq_msg_data (&body [0]), inline_size);
    size_t skip = count && inline_body? 1: 0;
    bool more = count > skip;
    if (zmq_msg_send (&header, socket, (more? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT) < 0)
        zmq_msg_close (&header);
    if (more)
        zmx__frames_send_moved (socket, body + skip, count - skip);
}

//  The bare header of a worker HEARTBEAT or DISCONNECT, any version,
//  ending the message.
static void
s_send_worker_bare (void *socket, int version, bool disconnect)
{
    if (version == ZMX_MDP_PACKED) {
        uint8_t header [ZMX_PACKED_FIXED];
        zmx_mdp_packed_write (header, disconnect? ZMX_MDP_WORKER_DISCONNECT
                                                : ZMX_MDP_WORKER_HEARTBEAT, false, NULL, 0, 0);
        zmx__frames_send_copy (socket, header, sizeof header, false);
        return;
    }
    unsigned char code = version == 1
        ? (disconnect? ZMX_MDPW01_DISCONNECT: ZMX_MDPW01_HEARTBEAT)
        : (disconnect? ZMX_MDPW02_DISCONNECT: ZMX_MDPW02_HEARTBEAT);
    if (version == 1)
        zmx__frames_send_copy (socket, "", 0, true);
    zmx__frames_send_copy (socket, version == 1? ZMX_MDPW01: ZMX_MDPW02, 6, true);
    zmx__frames_send_copy (socket, &code, 1, false);
}

static void
s_send_worker_header (void *socket, int version, unsigned char code)
{
    if (version == 1)
        zmx__frames_send_copy (socket, "", 0, true);
    zmx__frames_send_copy (socket, version == 1? ZMX_MDPW01: ZMX_MDPW02, 6, true);
    zmx__frames_send_copy (socket, &code, 1, true);
}

//  HEARTBEAT or DISCONNECT to a worker
static void
s_send_worker_signal (s_self_t *self, s_worker_t *worker, bool disconnect)
{
    if (s_send_route (self->socket, worker->identity.data, worker->identity.size) == 0)
        s_send_worker_bare (self->socket, worker->version, disconnect);
    worker->last_sent = self->now;
}

//  DISCONNECT to a peer we hold no worker for (raw identity)
static void
s_send_disconnect_to (s_self_t *self, zmq_msg_t *identity, int version)
{
    if (s_send_route (self->socket, zmq_msg_data (identity), zmq_msg_size (identity)) == 0)
        s_send_worker_bare (self->socket, version, true);
    self->counters.disconnects_sent++;
}

//  Reply to a client in its own protocol version (`tag`: 1, 2 or
//  S_TAG_PACKED), moving the body out. kind is the client command: REPLY
//  (0.1), PARTIAL or FINAL (0.2 and packed). Returns -1 if the client has
//  gone (nothing sent).
static int
s_send_client_reply (s_self_t *self, const void *client, size_t client_size, int tag,
                     zmx_mdp_command_t kind, const char *service, zmq_msg_t *body,
                     size_t count)
{
    if (s_send_route (self->socket, client, client_size))
        return -1;
    if (tag == S_TAG_PACKED) {
        s_send_packed (self->socket, kind, service, strlen (service), body, count);
        return 0;
    }
    int version = tag;
    if (version == 1) {
        zmx__frames_send_copy (self->socket, "", 0, true);
        zmx__frames_send_copy (self->socket, ZMX_MDPC01, 6, true);
    }
    else {
        unsigned char code = kind == ZMX_MDP_CLIENT_PARTIAL? ZMX_MDPC02_PARTIAL: ZMX_MDPC02_FINAL;
        zmx__frames_send_copy (self->socket, ZMX_MDPC02, 6, true);
        zmx__frames_send_copy (self->socket, &code, 1, true);
    }
    zmx__frames_send_copy (self->socket, service, strlen (service), true);
    zmx__frames_send_moved (self->socket, body, count);
    return 0;
}

//  -------------------------------------------------------------------------
//  Requests and the per-service ring queue

static void
s_request_destroy (s_request_t **request_p)
{
    s_request_t *request = *request_p;
    if (request) {
        zmq_msg_close (&request->client);
        for (size_t index = 0; index < request->count; index++)
            zmq_msg_close (&request->body [index]);
        free (request);
        *request_p = NULL;
    }
}

static s_request_t *
s_queue_peek (s_service_t *service)
{
    return service->queue_size? service->queue [service->queue_head]: NULL;
}

static s_request_t *
s_queue_pop (s_self_t *self, s_service_t *service)
{
    s_request_t *request = s_queue_peek (service);
    if (request) {
        service->queue_head = (service->queue_head + 1) % service->queue_capacity;
        service->queue_size--;
        self->queued--;
        self->queued_bytes -= request->bytes;
    }
    return request;
}

//  Append a request; grows the ring by doubling up to the configured limit.
//  Returns -1 if the limit is reached (caller drops the request).
static int
s_queue_push (s_self_t *self, s_service_t *service, s_request_t *request)
{
    if (service->queue_size >= self->queue_limit
    ||  self->queued_bytes + request->bytes > self->queue_bytes_limit)
        return -1;
    if (service->queue_size == service->queue_capacity) {
        size_t capacity = service->queue_capacity? service->queue_capacity * 2: 16;
        s_request_t **ring = (s_request_t **) malloc (capacity * sizeof (s_request_t *));
        if (!ring)
            return -1;
        for (size_t index = 0; index < service->queue_size; index++)
            ring [index] = service->queue [(service->queue_head + index) % service->queue_capacity];
        free (service->queue);
        service->queue = ring;
        service->queue_head = 0;
        service->queue_capacity = capacity;
    }
    size_t tail = (service->queue_head + service->queue_size) % service->queue_capacity;
    service->queue [tail] = request;
    service->queue_size++;
    self->queued++;
    self->queued_bytes += request->bytes;
    return 0;
}

//  -------------------------------------------------------------------------
//  Services and workers

static void
s_service_free (void **item_p)
{
    s_service_t *service = (s_service_t *) *item_p;
    if (service) {
        while (service->queue_size) {
            s_request_t *request = service->queue [service->queue_head];
            service->queue_head = (service->queue_head + 1) % service->queue_capacity;
            service->queue_size--;
            s_request_destroy (&request);
        }
        free (service->queue);
        zlistx_destroy (&service->waiting);
        free (service->name);
        free (service);
        *item_p = NULL;
    }
}

static s_service_t *
s_service_require (s_self_t *self, const void *name, size_t size)
{
    char key [ZMX_MDP_MAX_SERVICE + 1];
    memcpy (key, name, size);
    key [size] = 0;
    s_service_t *service = (s_service_t *) zhashx_lookup (self->services, key);
    if (service || zhashx_size (self->services) >= self->max_services)
        return service;
    service = (s_service_t *) zmalloc (sizeof (s_service_t));
    service->name = strdup (key);
    service->waiting = zlistx_new ();
    zhashx_insert (self->services, key, service);
    zmx_log_debug (self->name, "new service '%s'", key);
    return service;
}

static void
s_worker_unwait (s_worker_t *worker)
{
    if (worker->waiting) {
        zlistx_delete (worker->service->waiting, worker->waiting);
        worker->waiting = NULL;
    }
}

//  Remove a worker, optionally telling it to go (DISCONNECT).
static void
s_worker_delete (s_self_t *self, s_worker_t *worker, bool disconnect)
{
    if (disconnect) {
        s_send_worker_signal (self, worker, true);
        self->counters.disconnects_sent++;
    }
    s_worker_unwait (worker);
    worker->service->workers--;
    //  The service stays until the next tick releases it if idle, so that
    //  callers holding it are safe.
    zhashx_delete (self->workers, &worker->identity);   //  frees worker
}

static void
s_worker_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Log a warning at most once a second; the counters hold the totals.
static void
s_warn (s_self_t *self, const char *what, const char *detail)
{
    zmx_log (zmx__log_limited_level (self->now, &self->last_warning), self->name, "%s: %s",
             what, detail);
}

//  -------------------------------------------------------------------------
//  Dispatch

//  Send REQUEST to a worker. The body frames are moved out. Returns -1 if
//  the worker cannot take it now, with errno EHOSTUNREACH (gone) or EAGAIN
//  (its send queue is full); then nothing was sent and the body is intact.
static int
s_send_request (s_self_t *self, s_worker_t *worker, zmq_msg_t *client, int client_version,
                zmq_msg_t *body, size_t count)
{
    if (s_send_route (self->socket, worker->identity.data, worker->identity.size))
        return -1;
    if (worker->version == ZMX_MDP_PACKED) {
        uint8_t address [ZMX_MDP_MAX_ADDRESS];
        size_t size = zmq_msg_size (client);
        //  Routing ids are at most 255 bytes (libzmq), link addresses less
        assert (size < ZMX_MDP_MAX_ADDRESS);
        address [0] = (uint8_t) client_version;
        memcpy (address + 1, zmq_msg_data (client), size);
        s_send_packed (self->socket, ZMX_MDP_WORKER_REQUEST, address, size + 1, body, count);
        worker->in_flight++;
        worker->last_sent = self->now;
        return 0;
    }
    unsigned char code = worker->version == 1? ZMX_MDPW01_REQUEST: ZMX_MDPW02_REQUEST;
    s_send_worker_header (self->socket, worker->version, code);
    //  The address frame carries the client's version as a tag byte
    size_t size = zmq_msg_size (client);
    zmq_msg_t address;
    zmq_msg_init_size (&address, size + 1);
    uint8_t *bytes = (uint8_t *) zmq_msg_data (&address);
    bytes [0] = (uint8_t) client_version;
    memcpy (bytes + 1, zmq_msg_data (client), size);
    if (zmq_msg_send (&address, self->socket, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        zmq_msg_close (&address);
    zmx__frames_send_copy (self->socket, "", 0, true);
    zmx__frames_send_moved (self->socket, body, count);
    worker->in_flight++;
    worker->last_sent = self->now;
    return 0;
}

//  After a worker got a request, or gave back credit: keep the waiting list
//  in least-recently-used order, holding only workers with spare credit.
static void
s_worker_requeue (s_worker_t *worker)
{
    zlistx_t *waiting = worker->service->waiting;
    if (worker->in_flight >= worker->credit)
        s_worker_unwait (worker);
    else
    if (worker->waiting)
        zlistx_move_end (waiting, worker->waiting);
    else
        worker->waiting = zlistx_add_end (waiting, worker);
}

//  Give a request to the least recently used worker with credit. Returns 0
//  if sent, -1 if the service has no reachable worker with credit.
static int
s_dispatch (s_self_t *self, s_service_t *service, zmq_msg_t *client, int version,
            zmq_msg_t *body, size_t count)
{
    s_worker_t *worker;
    while ((worker = (s_worker_t *) zlistx_first (service->waiting))) {
        if (s_send_request (self, worker, client, version, body, count) == 0) {
            s_worker_requeue (worker);
            return 0;
        }
        if (errno == EAGAIN) {
            //  Alive but not reading: no more requests until it answers one
            s_worker_unwait (worker);
            continue;
        }
        //  The worker's connection is gone; heartbeats would find out later
        zmx_log_info (self->name, "worker for '%s' unreachable, removed", service->name);
        s_worker_delete (self, worker, false);
    }
    return -1;
}

//  Hand queued requests to workers while both are available.
static void
s_service_drain (s_self_t *self, s_service_t *service)
{
    s_request_t *request;
    while ((request = s_queue_peek (service)) && zlistx_size (service->waiting)) {
        if (s_dispatch (self, service, &request->client, request->version,
                        request->body, request->count))
            break;
        request = s_queue_pop (self, service);
        s_request_destroy (&request);
    }
}

//  Move a received request into a heap record for the queue.
static s_request_t *
s_request_new (s_self_t *self, zmq_msg_t *client, int version, zmq_msg_t *body, size_t count)
{
    s_request_t *request =
        (s_request_t *) malloc (sizeof (s_request_t) + count * sizeof (zmq_msg_t));
    if (!request)
        return NULL;
    zmq_msg_init (&request->client);
    zmq_msg_move (&request->client, client);
    request->version = version;
    request->expires = self->now + self->request_timeout;
    request->count = count;
    request->bytes = 0;
    for (size_t index = 0; index < count; index++) {
        zmq_msg_init (&request->body [index]);
        zmq_msg_move (&request->body [index], &body [index]);
        request->bytes += zmq_msg_size (&request->body [index]) + sizeof (zmq_msg_t);
    }
    request->bytes += sizeof (s_request_t);
    return request;
}

//  -------------------------------------------------------------------------
//  8/MMI, handled inside the broker

static void
s_mmi_reply_frames (s_self_t *self, s_message_t *message, int tag, const char *service,
                    zlist_t *frames)
{
    size_t count = zlist_size (frames);
    zmq_msg_t *body = (zmq_msg_t *) malloc (count * sizeof (zmq_msg_t));
    if (!body)
        return;
    size_t index = 0;
    for (const char *frame = (const char *) zlist_first (frames); frame;
         frame = (const char *) zlist_next (frames), index++) {
        zmq_msg_init_size (&body [index], strlen (frame));
        memcpy (zmq_msg_data (&body [index]), frame, strlen (frame));
    }
    if (s_send_client_reply (self, zmq_msg_data (&message->parts [0]),
                             zmq_msg_size (&message->parts [0]), tag,
                             tag == 1? ZMX_MDP_CLIENT_REPLY: ZMX_MDP_CLIENT_FINAL, service,
                             body, count))
        self->counters.dropped_unroutable++;
    for (index = 0; index < count; index++)
        zmq_msg_close (&body [index]);
    free (body);
}

//  mmi.services: one frame per service, "<workers> <queued> <name>", while
//  that fits in a message any MDP decoder takes (ZMX_MDP_MAX_FRAMES); a
//  client that asks for ZMX_MMI_SERVICES_LIST, or a list too long for
//  that, gets every service in one frame, each line ended by a newline
//  (service names are printable, so they never hold one).
static void
s_mmi_services (s_self_t *self, const zmx_mdp_frame_t *asked, zlist_t *frames)
{
    bool list = (asked->size == strlen (ZMX_MMI_SERVICES_LIST)
                 && memcmp (asked->data, ZMX_MMI_SERVICES_LIST, asked->size) == 0)
             || zhashx_size (self->services) > ZMX_MMI_SERVICES_FRAMES;
    zchunk_t *text = list? zchunk_new (NULL, 0): NULL;
    for (s_service_t *each = (s_service_t *) zhashx_first (self->services); each;
         each = (s_service_t *) zhashx_next (self->services)) {
        char line [ZMX_MDP_MAX_SERVICE + 48];
        int size = snprintf (line, sizeof line, list? "%zu %zu %s\n": "%zu %zu %s",
                             each->workers, each->queue_size, each->name);
        if (list)
            zchunk_extend (text, line, (size_t) size);
        else
            zlist_append (frames, line);
    }
    if (list) {
        zchunk_extend (text, "", 1);        //  zlist takes strings
        zlist_append (frames, zchunk_data (text));
        zchunk_destroy (&text);
    }
    if (zlist_size (frames) == 0)
        zlist_append (frames, "");          //  MDP needs one body frame
}

static void
s_handle_mmi (s_self_t *self, s_message_t *message, zmx_mdp_view_t *view, int tag,
              const char *service)
{
    self->counters.mmi++;
    zlist_t *frames = zlist_new ();
    zlist_autofree (frames);
    if (streq (service, "mmi.service")) {
        const zmx_mdp_frame_t *asked = &message->frames [view->body];
        s_service_t *found = NULL;
        bool remote = false;    //  A peer broker offers it (federation)
        if (asked->size > 0 && asked->size <= ZMX_MDP_MAX_SERVICE) {
            char name [ZMX_MDP_MAX_SERVICE + 1];
            memcpy (name, asked->data, asked->size);
            name [asked->size] = 0;
            found = (s_service_t *) zhashx_lookup (self->services, name);
            remote = zmx__federation_offers (self->federation, name);
        }
        zlist_append (frames, (found && found->workers) || remote? "200": "404");
    }
    else
    if (streq (service, "mmi.services"))
        s_mmi_services (self, &message->frames [view->body], frames);
    else
        zlist_append (frames, "501");
    s_mmi_reply_frames (self, message, tag, service, frames);
    zlist_destroy (&frames);
}

//  -------------------------------------------------------------------------
//  Client and worker commands

static void
s_handle_client_request (s_self_t *self, s_message_t *message, zmx_mdp_view_t *view)
{
    self->counters.requests++;
    //  In a Binary Star pair only the active broker answers clients
    if (self->pair && !zmx__broker_pair_admit (self->pair))
        return;
    int tag = view->version == ZMX_MDP_PACKED? S_TAG_PACKED: view->version;
    if (message->service_size > 4 && memcmp (message->service, "mmi.", 4) == 0) {
        char service [ZMX_MDP_MAX_SERVICE + 1];
        memcpy (service, message->service, message->service_size);
        service [message->service_size] = 0;
        s_handle_mmi (self, message, view, tag, service);
        return;
    }
    //  parts [] holds the identity first, so frame i is part i + 1
    zmq_msg_t *body = &message->parts [view->body + 1];
    size_t count = message->count - 1 - view->body;
    s_service_t *service = s_service_require (self, message->service, message->service_size);
    if (!service) {
        self->counters.dropped_overflow++;
        s_warn (self, "request dropped", "too many services (max-services)");
        return;
    }
    if (service->queue_size == 0
    &&  s_dispatch (self, service, &message->parts [0], tag, body, count) == 0)
        return;
    //  No local worker at all: a peer broker may offer the service
    if (service->workers == 0
    &&  zmx__federation_forward (self->federation, service->name, &message->parts [0],
                                 tag, body, count) != -1)
        return;
    s_request_t *request = s_request_new (self, &message->parts [0], tag, body, count);
    if (!request || s_queue_push (self, service, request)) {
        self->counters.dropped_overflow++;
        s_warn (self, "request dropped", "queue full (queue-limit or queue-bytes)");
        s_request_destroy (&request);
    }
}

//  Forward a worker's REPLY, PARTIAL or FINAL to its client.
static void
s_forward_reply (s_self_t *self, s_worker_t *worker, s_message_t *message,
                 zmx_mdp_view_t *view)
{
    const uint8_t *tag = message->address;
    size_t size = message->address_size;
    if (size > 1 && tag [0] == ZMX_FED_CLIENT_TAG) {
        //  The request came from a peer broker: the reply goes back to it
        if (zmx__federation_reply (self->federation, tag + 1, size - 1,
                                   view->command == ZMX_MDP_WORKER_PARTIAL,
                                   &message->parts [view->body + 1],
                                   message->count - 1 - view->body))
            self->counters.dropped_unroutable++;
        return;
    }
    if (size < 2 || (tag [0] != 1 && tag [0] != 2 && tag [0] != S_TAG_PACKED)) {
        self->counters.malformed++;
        s_warn (self, "reply dropped", "client address not one the broker gave");
        return;
    }
    int version = tag [0];
    bool partial = view->command == ZMX_MDP_WORKER_PARTIAL;
    if (partial) {
        self->counters.partials++;
        if (version == 1)
            return;             //  An MDP/0.1 client takes exactly one reply
    }
    zmx_mdp_command_t kind = version == 1? ZMX_MDP_CLIENT_REPLY
                           : partial? ZMX_MDP_CLIENT_PARTIAL: ZMX_MDP_CLIENT_FINAL;
    if (s_send_client_reply (self, tag + 1, size - 1, version, kind, worker->service->name,
                             &message->parts [view->body + 1],
                             message->count - 1 - view->body)) {
        self->counters.dropped_unroutable++;
        zmx_log_debug (self->name, "reply for a client that has gone, dropped");
        return;
    }
    if (!partial)
        self->counters.replies++;
}

static void
s_handle_ready (s_self_t *self, s_message_t *message, zmx_mdp_view_t *view,
                s_worker_t *worker)
{
    const char *refusal = NULL;
    s_service_t *service = NULL;
    if (worker)
        refusal = "second READY";
    else
    if (message->service_size >= 4 && memcmp (message->service, "mmi.", 4) == 0)
        refusal = "READY for a reserved mmi. service";
    else
    if (zhashx_size (self->workers) >= self->max_workers)
        refusal = "too many workers (max-workers)";
    else
    if (!(service = s_service_require (self, message->service, message->service_size)))
        refusal = "too many services (max-services)";
    if (refusal) {
        s_warn (self, "worker disconnected", refusal);
        if (worker)
            s_worker_delete (self, worker, true);
        else
            s_send_disconnect_to (self, &message->parts [0], view->version);
        return;
    }
    worker = (s_worker_t *) zmalloc (sizeof (s_worker_t));
    s_blob_set (&worker->identity, &message->parts [0]);
    worker->service = service;
    worker->version = view->version;
    worker->credit = view->credit? view->credit: 1;
    worker->expiry = self->now + self->interval * self->liveness;
    worker->last_sent = self->now;
    zhashx_insert (self->workers, &worker->identity, worker);
    service->workers++;
    zmx_log_info (self->name, "worker ready for '%s' (%s, credit %" PRIu32 ")",
                  service->name, worker->version == 1? "MDP/0.1"
                  : worker->version == 2? "MDP/0.2": "packed MDP", worker->credit);
    s_worker_requeue (worker);
    s_service_drain (self, service);
}

static void
s_handle_worker (s_self_t *self, s_message_t *message, zmx_mdp_view_t *view)
{
    s_blob_t key;
    s_blob_set (&key, &message->parts [0]);
    s_worker_t *worker = (s_worker_t *) zhashx_lookup (self->workers, &key);
    if (view->command == ZMX_MDP_WORKER_READY) {
        s_handle_ready (self, message, view, worker);
        return;
    }
    if (view->command == ZMX_MDP_WORKER_DISCONNECT) {
        if (worker)
            s_worker_delete (self, worker, false);
        return;
    }
    //  Anything else is only valid from a registered worker, in its own
    //  protocol version, and a reply only while a request is in flight.
    bool reply = view->command != ZMX_MDP_WORKER_HEARTBEAT;
    if (!worker || worker->version != view->version || (reply && worker->in_flight == 0)) {
        s_warn (self, "worker disconnected", !worker? "command before READY"
                : worker->version != view->version? "protocol version changed"
                : "reply with no request in flight");
        if (worker)
            s_worker_delete (self, worker, true);
        else
            s_send_disconnect_to (self, &message->parts [0], view->version);
        return;
    }
    worker->expiry = self->now + self->interval * self->liveness;
    if (!reply)
        return;
    s_forward_reply (self, worker, message, view);
    if (view->command != ZMX_MDP_WORKER_PARTIAL) {
        worker->in_flight--;
        s_worker_requeue (worker);
        s_service_drain (self, worker->service);
    }
}

//  -------------------------------------------------------------------------
//  Receiving

//  Receive one whole message without blocking. Returns 0, -1 if nothing is
//  waiting, or -2 if it had more frames than MDP allows (the rest was read
//  and discarded, and the parts received are closed).
static int
s_message_recv (void *socket, s_message_t *message)
{
    message->count = 0;
    message->has_header = false;
    while (true) {
        zmq_msg_t *part = &message->parts [message->count];
        zmq_msg_init (part);
        int flags = message->count == 0? ZMQ_DONTWAIT: 0;
        if (zmq_msg_recv (part, socket, flags) < 0) {
            zmq_msg_close (part);
            return -1;          //  EAGAIN, or interrupted mid-way
        }
        message->count++;
        if (!zmq_msg_more (part))
            return 0;
        if (message->count == ZMX_MDP_MAX_FRAMES + 1)
            break;
    }
    zmq_msg_t rest;
    zmq_msg_init (&rest);
    while (zmq_msg_recv (&rest, socket, 0) >= 0 && zmq_msg_more (&rest))
        ;
    zmq_msg_close (&rest);
    return -2;
}

static void
s_message_close (s_message_t *message)
{
    for (size_t index = 0; index < message->count; index++)
        zmq_msg_close (&message->parts [index]);
    message->count = 0;
    if (message->has_header)
        zmq_msg_close (&message->header);
    message->has_header = false;
}

//  Point at the service and address the view found. A packed header moves
//  to message->header, and its inline body, if any, is copied into a frame
//  of its own in parts [1], so that the body is always the array of parts
//  from view->body + 1 on.
static void
s_message_unfold (s_message_t *message, zmx_mdp_view_t *view)
{
    if (view->version != ZMX_MDP_PACKED) {
        message->service = (const uint8_t *) message->frames [view->service].data;
        message->service_size = view->service_size;
        message->address = (const uint8_t *) message->frames [view->address].data;
        message->address_size = view->address_size;
        return;
    }
    zmq_msg_init (&message->header);
    zmq_msg_move (&message->header, &message->parts [1]);
    message->has_header = true;
    const uint8_t *bytes = (const uint8_t *) zmq_msg_data (&message->header);
    message->service = bytes + view->service_offset;
    message->service_size = view->service_size;
    message->address = bytes + view->address_offset;
    message->address_size = view->address_size;
    if (view->inline_body) {
        zmq_msg_close (&message->parts [1]);
        zmq_msg_init_size (&message->parts [1], view->inline_size);
        memcpy (zmq_msg_data (&message->parts [1]), bytes + view->inline_offset,
                view->inline_size);
        message->frames [0].data = zmq_msg_data (&message->parts [1]);
        message->frames [0].size = view->inline_size;
        view->body = 0;
    }
}

static void
s_handle_malformed (s_self_t *self, s_message_t *message, const char *reason)
{
    self->counters.malformed++;
    s_warn (self, "malformed message dropped", reason);
    //  A registered worker that sends garbage is treated as invalid
    if (message->count > 0) {
        s_blob_t key;
        s_blob_set (&key, &message->parts [0]);
        s_worker_t *worker = (s_worker_t *) zhashx_lookup (self->workers, &key);
        if (worker)
            s_worker_delete (self, worker, true);
    }
}

static void
s_handle_message (s_self_t *self, s_message_t *message)
{
    size_t count = message->count - 1;
    for (size_t index = 0; index < count; index++) {
        message->frames [index].data = zmq_msg_data (&message->parts [index + 1]);
        message->frames [index].size = zmq_msg_size (&message->parts [index + 1]);
    }
    if (zmx__fed_is (message->frames, count)) {
        if (zmx__federation_router (self->federation, &message->parts [0],
                                    &message->parts [1], message->frames, count))
            s_handle_malformed (self, message, "invalid federation message");
        return;
    }
    zmx_mdp_view_t view;
    if (zmx_mdp_decode (message->frames, count, ZMX_MDP_AT_BROKER, &view)) {
        s_handle_malformed (self, message, view.error);
        return;
    }
    s_message_unfold (message, &view);
    if (view.command == ZMX_MDP_CLIENT_REQUEST)
        s_handle_client_request (self, message, &view);
    else
        s_handle_worker (self, message, &view);
}

static void
s_handle_router (s_self_t *self)
{
    s_message_t message;
    self->now = zclock_mono ();
    for (int handled = 0; handled < S_BATCH; handled++) {
        int rc = s_message_recv (self->socket, &message);
        if (rc == -1)
            break;
        if (rc == -2)
            s_handle_malformed (self, &message, "too many frames");
        else
        if (message.count < 2)
            s_handle_malformed (self, &message, "empty message");
        else
            s_handle_message (self, &message);
        s_message_close (&message);
    }
}

//  -------------------------------------------------------------------------
//  Timers: heartbeats, dead workers, expired requests, idle services

static void
s_tick_workers (s_self_t *self)
{
    zlist_t *dead = zlist_new ();
    for (s_worker_t *worker = (s_worker_t *) zhashx_first (self->workers); worker;
         worker = (s_worker_t *) zhashx_next (self->workers)) {
        if (self->now >= worker->expiry)
            zlist_append (dead, worker);
        else
        if (self->now - worker->last_sent >= self->interval)
            s_send_worker_signal (self, worker, false);
    }
    for (s_worker_t *worker = (s_worker_t *) zlist_first (dead); worker;
         worker = (s_worker_t *) zlist_next (dead)) {
        zmx_log_notice (self->name, "worker for '%s' silent for %" PRId64 " ms, removed",
                        worker->service->name, self->interval * self->liveness);
        self->counters.workers_expired++;
        s_worker_delete (self, worker, false);
    }
    zlist_destroy (&dead);
}

static void
s_tick_services (s_self_t *self)
{
    zlist_t *idle = zlist_new ();
    for (s_service_t *service = (s_service_t *) zhashx_first (self->services); service;
         service = (s_service_t *) zhashx_next (self->services)) {
        size_t expired = 0;
        s_request_t *request;
        while ((request = s_queue_peek (service)) && request->expires <= self->now) {
            request = s_queue_pop (self, service);
            s_request_destroy (&request);
            expired++;
        }
        if (expired) {
            self->counters.dropped_expired += expired;
            zmx_log_notice (self->name, "dropped %zu request(s) for '%s': no worker took them "
                            "within %" PRId64 " ms", expired, service->name,
                            self->request_timeout);
        }
        if (service->workers == 0 && service->queue_size == 0)
            zlist_append (idle, service->name);
    }
    for (char *name = (char *) zlist_first (idle); name; name = (char *) zlist_next (idle))
        zhashx_delete (self->services, name);
    zlist_destroy (&idle);
}

static void
s_tick (s_self_t *self)
{
    self->now = zclock_mono ();
    s_tick_workers (self);
    s_tick_services (self);
    zmx__federation_tick (self->federation, self->now);
    self->next_tick = self->now + self->tick;
}

//  -------------------------------------------------------------------------
//  Federation hooks: what the broker offers zmx_federation.c

//  A request from a peer broker: dispatch or queue it like a client's.
static int
s_fed_local_request (void *handle, const char *name, zmq_msg_t *client, zmq_msg_t *body,
                     size_t count)
{
    s_self_t *self = (s_self_t *) handle;
    s_service_t *service = (s_service_t *) zhashx_lookup (self->services, name);
    if (!service || service->workers == 0)
        return -1;
    //  A peer's request counts as a client's in a Binary Star pair: only
    //  the active broker serves it (the federation may relay it on)
    if (self->pair && !zmx__broker_pair_admit (self->pair))
        return -1;
    self->now = zclock_mono ();         //  links are read outside s_handle_router
    self->counters.requests++;
    if (service->queue_size == 0
    &&  s_dispatch (self, service, client, ZMX_FED_CLIENT_TAG, body, count) == 0)
        return 0;
    s_request_t *request = s_request_new (self, client, ZMX_FED_CLIENT_TAG, body, count);
    if (!request || s_queue_push (self, service, request)) {
        self->counters.dropped_overflow++;
        s_warn (self, "request dropped", "queue full (queue-limit or queue-bytes)");
        s_request_destroy (&request);
    }
    return 0;
}

//  A peer broker's reply to a request this broker forwarded for a client.
static int
s_fed_client_reply (void *handle, const void *client, size_t size, int version, bool partial,
                    const char *service, zmq_msg_t *body, size_t count)
{
    s_self_t *self = (s_self_t *) handle;
    if (partial) {
        self->counters.partials++;
        if (version == 1)
            return 0;           //  An MDP/0.1 client takes exactly one reply
    }
    zmx_mdp_command_t kind = version == 1? ZMX_MDP_CLIENT_REPLY
                           : partial? ZMX_MDP_CLIENT_PARTIAL: ZMX_MDP_CLIENT_FINAL;
    if (s_send_client_reply (self, client, size, version, kind, service, body, count)) {
        self->counters.dropped_unroutable++;
        return -1;
    }
    if (!partial)
        self->counters.replies++;
    return 0;
}

//  Capacity advertised for a service: its registered workers.
static void
s_fed_each_local (void *handle, zmx__fed_local_fn *fn, void *arg)
{
    s_self_t *self = (s_self_t *) handle;
    for (s_service_t *service = (s_service_t *) zhashx_first (self->services); service;
         service = (s_service_t *) zhashx_next (self->services))
        if (service->workers)
            fn (arg, service->name, (uint32_t) service->workers);
}

//  Join the federation if the config lists peers. Returns -1 if invalid.
static int
s_self_federate (s_self_t *self, zconfig_t *config)
{
    zmx__fed_broker_t broker = {
        self, zsock_resolve (self->router), s_fed_local_request, s_fed_client_reply,
        s_fed_each_local
    };
    bool valid = true;
    self->federation = zmx__federation_new (config, &broker, self->name,
                                            self->request_timeout, &valid);
    //  Advertisements and peer expiry run on the broker's timer
    if (self->federation && zmx__federation_period (self->federation) < self->tick)
        self->tick = zmx__federation_period (self->federation);
    return valid? 0: -1;
}

//  -------------------------------------------------------------------------
//  Actor: construction, pipe commands, main loop

//  The COUNTERS reply: the broker's own counters, then the pair's and the
//  federation's. A zmx_service_counters_fn for zmx_service_serve_pipe.
static void
s_send_counters (void *argument)
{
    s_self_t *self = (s_self_t *) argument;
    const s_counters_t *c = &self->counters;
    const zmx_service_counter_t counters [] = {
        { "requests", c->requests },
        { "replies", c->replies },
        { "partials", c->partials },
        { "mmi", c->mmi },
        { "dropped_overflow", c->dropped_overflow },
        { "dropped_expired", c->dropped_expired },
        { "dropped_unroutable", c->dropped_unroutable },
        { "malformed", c->malformed },
        { "disconnects_sent", c->disconnects_sent },
        { "workers_expired", c->workers_expired },
        { "workers", zhashx_size (self->workers) },
        { "services", zhashx_size (self->services) },
        { "queued", self->queued },
        { "queued_bytes", self->queued_bytes }
    };
    zmsg_t *reply = zmsg_new ();
    zmx__service_counters_add (reply, counters, sizeof counters / sizeof counters [0]);
    if (self->pair)
        zmx__broker_pair_counters (self->pair, reply);
    zmx__federation_counters (self->federation, reply);
    zmsg_send (&reply, self->pipe);
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->workers);
        zhashx_destroy (&self->services);
        zmx__broker_pair_destroy (&self->pair);
        zmx__federation_destroy (&self->federation);
        zsock_destroy (&self->router);
        zlist_destroy (&self->endpoints);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  Read the settings; returns -1 (reason logged) if any is invalid.
static int
s_self_configure (s_self_t *self, zconfig_t *config)
{
    bool valid = true;
    self->interval = zmx__config_int (config, "heartbeat-interval", ZMX_HEARTBEAT_INTERVAL,
                                      10, 3600000, &valid);
    self->liveness = zmx__config_int (config, "heartbeat-liveness", ZMX_HEARTBEAT_LIVENESS,
                                      1, 100, &valid);
    self->queue_limit = zmx__config_int (config, "queue-limit", ZMX_BROKER_QUEUE_LIMIT,
                                         0, 100000000, &valid);
    self->queue_bytes_limit = zmx__config_int (config, "queue-bytes", ZMX_BROKER_QUEUE_BYTES,
                                               0, INT64_MAX, &valid);
    self->request_timeout = zmx__config_int (config, "request-timeout",
                                             ZMX_BROKER_REQUEST_TIMEOUT, 1, 86400000, &valid);
    self->max_services = zmx__config_int (config, "max-services", ZMX_BROKER_MAX_SERVICES,
                                          1, 10000000, &valid);
    self->max_workers = zmx__config_int (config, "max-workers", ZMX_BROKER_MAX_WORKERS,
                                         1, 10000000, &valid);
    self->max_frame_size = zmx__config_int (config, "max-frame-size",
                                            ZMX_BROKER_MAX_FRAME_SIZE, 64, INT64_MAX, &valid);
    //  Timers run five times per heartbeat so that a dead worker is found
    //  within a fifth of an interval after its liveness runs out.
    self->tick = self->interval / 5 > 10? self->interval / 5: 10;
    return valid? 0: -1;
}

//  Create the broker socket through the security policy, set its options,
//  then bind it to each endpoint of the configured list. The options come
//  first because libzmq copies them into an endpoint when it binds.
static int
s_self_bind (s_self_t *self, zconfig_t *config, zmx_security_t *security)
{
    self->router = zmx_security_socket (security, ZMQ_ROUTER);
    if (!self->router)
        return -1;
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndhwm (self->router, S_SEND_HWM);
    zsock_set_rcvhwm (self->router, S_SEND_HWM);
    zsock_set_maxmsgsize (self->router, self->max_frame_size);
    zsock_set_linger (self->router, 0);

    return zmx__listen_list (security, self->router,
                             zmx__config_str (config, "endpoint", ZMX_BROKER_DEFAULT_ENDPOINT),
                             self->endpoints, self->name);
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: "broker");
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    self->services = zhashx_new ();
    zhashx_set_destructor (self->services, s_service_free);
    self->workers = zhashx_new ();
    zhashx_set_key_hasher (self->workers, s_blob_hash);
    zhashx_set_key_comparator (self->workers, s_blob_compare);
    zhashx_set_key_duplicator (self->workers, NULL);
    zhashx_set_key_destructor (self->workers, NULL);
    zhashx_set_destructor (self->workers, s_worker_free);
    zconfig_t *config = args? args->config: NULL;
    if (s_self_configure (self, config)
    ||  s_self_bind (self, config, args? args->security: NULL)
    ||  zmx__broker_pair_new (config, args? args->security: NULL, self->name, &self->pair)
    ||  s_self_federate (self, config))
        s_self_destroy (&self);
    else {
        self->socket = zsock_resolve (self->router);
        self->now = zclock_mono ();
        self->next_tick = self->now + self->tick;
    }
    return self;
}

void
zmx_broker_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    if (!zmx_service_start_status (pipe, self != NULL, self? self->endpoints: NULL,
                                   "invalid configuration or endpoint (see log)"))
        return;
    for (const char *endpoint = (const char *) zlist_first (self->endpoints); endpoint;
         endpoint = (const char *) zlist_next (self->endpoints))
        zmx_log_info (self->name, "Majordomo broker on %s", endpoint);

    zmq_pollitem_t items [3 + ZMX_FED_MAX_LINKS] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { self->socket, 0, ZMQ_POLLIN, 0 },
        { self->pair? zmx__broker_pair_handle (self->pair): NULL, 0, ZMQ_POLLIN, 0 }
    };
    int item_count = self->pair? 3: 2;
    size_t links = zmx__federation_poll_items (self->federation, items + item_count,
                                               ZMX_FED_MAX_LINKS);
    while (!self->terminated) {
        int64_t timeout = self->next_tick - zclock_mono ();
        if (zmq_poll (items, item_count + (int) links, timeout > 0? (long) timeout: 0) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;              //  Context terminated
        }
        if (items [0].revents & ZMQ_POLLIN)
            self->terminated = zmx_service_serve_pipe (self->pipe, self->endpoints,
                                                       s_send_counters, self);
        if (items [1].revents & ZMQ_POLLIN)
            s_handle_router (self);
        if (item_count == 3 && (items [2].revents & ZMQ_POLLIN))
            zmx__broker_pair_notified (self->pair);
        if (links)
            zmx__federation_handle_links (self->federation, items + item_count, links);
        if (zclock_mono () >= self->next_tick)
            s_tick (self);
    }
    s_self_destroy (&self);
}
