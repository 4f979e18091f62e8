/*  =========================================================================
    zmx_resolver_service - the "resolver" service: answers name lookups
    for the processes of this host on a ROUTER (ZMXNS1, docs/PROTOCOLS.md)

    One zmx_resolver (cache of the clone store's /names/, lookup file)
    owned by the actor's thread. Every request is answered at once from
    it, so the socket needs no queue of its own beyond libzmq's: the
    ROUTER's send HWM bounds replies to a slow reader, and a reply that
    does not fit is dropped (the REQ asker times out and asks again).
    Malformed requests are answered INVALID when they have a usable
    envelope, and dropped and counted otherwise.
    =========================================================================
*/
#include "zmx_state_internal.h"

#define S_MAX_MESSAGE   4096    //  Bytes in a request; larger: disconnect
#define S_SEND_HWM      1000    //  Replies queued per asker
#define S_TICK_MSEC     1000    //  Lookup file checks and notification reads

typedef struct {
    uint64_t requests, answered, unknown, invalid, unsynced, dropped;
} s_counters_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    zsock_t *router;            //  The service socket
    char *name;                 //  Instance name for logs
    zlist_t *endpoints;         //  Bound endpoints
    zmx_resolver_t *resolver;   //  Names: cache and file
    bool has_servers;           //  Clone servers configured
    s_counters_t counters;
    int64_t last_warning;       //  Rate limit of warnings from peer input
    bool terminated;
} s_self_t;

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        zmx_resolver_destroy (&self->resolver);
        zsock_destroy (&self->router);
        zlist_destroy (&self->endpoints);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  The keys the service reads (zmxd refuses any other)
const char *const zmx__resolver_keys [] = {
    "endpoint", "servers", "file", "stale-timeout", NULL
};

//  Read servers, file and timeouts. Returns 0 or -1 (logged).
static int
s_self_configure (s_self_t *self, zconfig_t *config)
{
    bool valid = true;
    int stale = (int) zmx__config_int (config, "stale-timeout", ZMX_CLONE_TIMEOUT,
                                       10, 3600000, &valid);
    if (!valid)
        return -1;
    //  Not zmx__config_str: an empty list is meaningful here (no server)
    char *servers = strdup (config? zconfig_get (config, "servers", ZMX_RESOLVER_DEFAULT_SERVER)
                                  : ZMX_RESOLVER_DEFAULT_SERVER);
    char *cursor = servers, *server;
    int rc = 0;
    while (rc == 0 && (server = strsep (&cursor, ","))) {
        while (*server == ' ')
            server++;
        if (!*server)
            continue;
        rc = zmx_resolver_add_server (self->resolver, server) == ZMX_OK? 0: -1;
        if (rc)
            zmx_log_error (self->name, "servers: '%s' is not a clone snapshot endpoint "
                           "(tcp://host:port)", server);
        else
            self->has_servers = true;
    }
    free (servers);
    if (rc == 0 && self->has_servers)
        zmx_resolver_set_timeouts (self->resolver, stale, ZMX_CLONE_ACK_TIMEOUT);
    const char *file = zmx__config_str (config, "file", "");
    if (rc == 0 && *file && zmx_resolver_load_file (self->resolver, file) != ZMX_OK)
        rc = -1;
    return rc;
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: "resolver");
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    self->resolver = zmx_resolver_new ();
    zconfig_t *config = args? args->config: NULL;
    zmx_security_t *security = args? args->security: NULL;
    if (s_self_configure (self, config) == 0)
        self->router = zmx_security_socket (security, ZMQ_ROUTER);
    if (self->router) {
        zsock_set_sndhwm (self->router, S_SEND_HWM);
        //  Never block the service on one slow asker: drop the reply
        zsock_set_sndtimeo (self->router, 0);
        zsock_set_maxmsgsize (self->router, S_MAX_MESSAGE);
        zsock_set_linger (self->router, 0);
    }
    if (!self->router
    ||  zmx__listen_list (security, self->router,
                          zmx__config_str (config, "endpoint", ZMX_RESOLVER_DEFAULT_SERVICE),
                          self->endpoints, self->name))
        s_self_destroy (&self);
    return self;
}

//  Answer one lookup; `envelope` holds the identity and the delimiter.
static void
s_answer (s_self_t *self, zmsg_t *envelope, const char *status, const char *endpoints)
{
    zmsg_addstr (envelope, ZMX_RESOLVER_PROTOCOL);
    zmsg_addstr (envelope, status);
    zmsg_addstr (envelope, endpoints? endpoints: "");
    if (zmsg_send (&envelope, self->router))
        self->counters.dropped++;
    zmsg_destroy (&envelope);
}

static void
s_handle_request (s_self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    if (!msg)
        return;
    self->counters.requests++;
    //  Envelope: identity, then the empty delimiter a REQ puts first
    zframe_t *identity = zmsg_pop (msg);
    zframe_t *delimiter = zmsg_pop (msg);
    if (!identity || !delimiter || zframe_size (delimiter) != 0) {
        zmx__log_limited (self->name, &self->last_warning, "request without an envelope dropped");
        self->counters.invalid++;
        zframe_destroy (&identity);
        zframe_destroy (&delimiter);
        zmsg_destroy (&msg);
        return;
    }
    zmsg_t *envelope = zmsg_new ();
    zmsg_append (envelope, &identity);
    zmsg_append (envelope, &delimiter);
    char name [ZMX_RESOLVER_NAME_MAX + 1];
    const char *error = NULL;
    if (zmx_resolver_request_decode (msg, name, &error)) {
        zmx__log_limited (self->name, &self->last_warning, "invalid request: %s", error);
        self->counters.invalid++;
        s_answer (self, envelope, ZMX_RESOLVER_INVALID, NULL);
    }
    else {
        char *endpoints = zmx_resolver_lookup (self->resolver, name);
        bool synced = !self->has_servers
                   || zmx_resolver_wait_synced (self->resolver, 0) == ZMX_OK;
        const char *status = endpoints? ZMX_RESOLVER_OK:
                             synced? ZMX_RESOLVER_UNKNOWN: ZMX_RESOLVER_UNSYNCED;
        if (endpoints)
            self->counters.answered++;
        else
        if (synced)
            self->counters.unknown++;
        else
            self->counters.unsynced++;
        s_answer (self, envelope, status, endpoints);
        free (endpoints);
    }
    zmsg_destroy (&msg);
}

static void
s_send_counters (void *args)
{
    s_self_t *self = (s_self_t *) args;
    const s_counters_t *c = &self->counters;
    zmx_resolver_stats_t stats;
    zmx_resolver_stats (self->resolver, &stats);
    const zmx_service_counter_t counters [] = {
        { "requests", c->requests },
        { "answered", c->answered },
        { "unknown", c->unknown },
        { "invalid", c->invalid },
        { "unsynced", c->unsynced },
        { "dropped", c->dropped },
        { "cache_hits", stats.cache_hits },
        { "cache_misses", stats.cache_misses },
        { "file_hits", stats.file_hits },
        { "file_loads", stats.file_loads }
    };
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

void
zmx_resolver_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    if (!zmx_service_start_status (pipe, self != NULL, self? self->endpoints: NULL,
                                   "invalid configuration or endpoint (see log)"))
        return;
    zsock_t *names = zmx_resolver_socket (self->resolver);
    zmq_pollitem_t items [] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 },
        { names? zsock_resolve (names): NULL, 0, ZMQ_POLLIN, 0 }
    };
    int count = names? 3: 2;
    while (!self->terminated) {
        if (zmq_poll (items, count, S_TICK_MSEC) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;              //  Context terminated
        }
        if (items [0].revents & ZMQ_POLLIN)
            self->terminated = zmx_service_serve_pipe (self->pipe, self->endpoints,
                                                       s_send_counters, self);
        for (int batch = 0; batch < 256 && (zsock_events (self->router) & ZMQ_POLLIN);
             batch++)
            s_handle_request (self);
        //  Keep the cache current even without lookups; nobody asks for
        //  the list of changes here
        zlist_t *changes = zmx_resolver_changes (self->resolver);
        zlist_destroy (&changes);
    }
    s_self_destroy (&self);
}
