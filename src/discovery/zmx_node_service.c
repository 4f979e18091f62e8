/*  =========================================================================
    zmx_node_service - zmxd's "node" service: a ZRE node that advertises
    the services of its zmxd

    A zmx service actor (see zmx_service.h) around one zmx_node (36/ZRE).
    zmxd starts it from the "node" section of its config:

        node
            name = "rack12"             #  default: the host name
            groups = "zmxd, site-a"     #  comma-separated, joined at start
            headers                     #  name = value, sent in HELLO
                X-SITE = "a"
            interface = "lo"            #  name or IPv4 address; "" = first
                                        #  interface that broadcasts
            port = 5670                 #  UDP beacon port (0: no beacons)
            beacon-interval = 1000      #  msec between beacons
            evasive = 5000              #  msec of silence before a PING
            expired = 30000             #  msec of silence before EXIT

    Any other key zmx_node_configure knows (endpoint, peers, max-peers,
    peer-hwm, max-message, events-hwm, client-certificate, server-key) is
    passed on as well.

    Advertising: zmxd fills a "hosted" subtree of this section with the
    services it started before this one (name = endpoints); each becomes a
    HELLO header "X-ZMX-<NAME>" (upper case) whose value is the service's
    endpoints, comma-separated (services that bind nothing are left out). So `zmx peers` shows, for instance,
    "X-ZMX-BROKER=tcp://127.0.0.1:5555" for every zmxd on the network.

    The mailbox is made through the zmxd security policy (CURVE and ZAP);
    with CURVE on, the section must also name a client-certificate and the
    server-key of the other nodes.

    Events: ENTER and EXIT are logged at info level, everything else at
    debug level; events are read as they come, so the node's event queue
    (events-hwm) never fills. READY carries the mailbox endpoint. COUNTERS
    are the node's statistics (zmx_node_stats_t field names).
    =========================================================================
*/
#include "zmx_discovery_internal.h"
#include <unistd.h>

#define S_HEADER_PREFIX "X-ZMX-"

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    char *name;                 //  Instance name for logs
    zmx_node_t *node;           //  The ZRE node
    zlist_t *endpoints;         //  The mailbox endpoint (autofree)
    bool terminated;
} s_self_t;

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        zmx_node_destroy (&self->node);
        zlist_destroy (&self->endpoints);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  Header "X-ZMX-<NAME>" = endpoints for every service of "hosted".
//  Returns 0, or -1 (logged) if the node refuses one.
static int
s_advertise (s_self_t *self, zconfig_t *hosted)
{
    for (zconfig_t *item = hosted? zconfig_child (hosted): NULL; item;
         item = zconfig_next (item)) {
        char *header = zsys_sprintf (S_HEADER_PREFIX "%s", zconfig_name (item));
        for (char *cursor = header; *cursor; cursor++)
            if (*cursor >= 'a' && *cursor <= 'z')
                *cursor = (char) (*cursor - 'a' + 'A');
        const char *value = zconfig_value (item);
        if (!value || !*value) {
            zstr_free (&header);
            continue;           //  A service that binds nothing (titanic)
        }
        int rc = zmx_node_set_header (self->node, header, "%s", value);
        if (rc != ZMX_OK)
            zmx_log_error (self->name, "cannot advertise %s: %s", header, zmx_strerror (rc));
        zstr_free (&header);
        if (rc != ZMX_OK)
            return -1;
    }
    return 0;
}

//  Create the node from the section. Returns 0, or -1 with the reason
//  logged.
static int
s_self_configure (s_self_t *self, zconfig_t *config, zmx_security_t *security)
{
    //  Default name: the host name, as an operator would look for it
    char host [256] = "";
    if (gethostname (host, sizeof host - 1) != 0)
        host [0] = 0;
    self->node = zmx_node_new (*host? host: NULL);
    if (!self->node)
        self->node = zmx_node_new (NULL);       //  A host name ZRE cannot carry
    if (!self->node)
        return -1;
    int rc = zmx_node_configure (self->node, config);
    bool valid = true;
    int64_t interval = zmx__config_int (config, "beacon-interval", 0, ZMX_NODE_TIME_MIN,
                                        ZMX_NODE_TIME_MAX, &valid);
    if (rc == ZMX_OK && !valid)
        rc = ZMX_ECONFIG;
    if (rc == ZMX_OK && interval)
        rc = zmx_node_set_beacon_interval (self->node, (int) interval);
    if (rc == ZMX_OK && security)
        rc = zmx_node_set_security (self->node, security);
    if (rc == ZMX_OK && s_advertise (self, zconfig_locate (config, "hosted")))
        rc = ZMX_ECONFIG;
    if (rc != ZMX_OK) {
        zmx_log_error (self->name, "invalid node section: %s (key named above)",
                       zmx_strerror (rc));
        return -1;
    }
    return 0;
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: "node");
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    if (s_self_configure (self, args? args->config: NULL, args? args->security: NULL))
        s_self_destroy (&self);
    else {
        int rc = zmx_node_start (self->node);
        if (rc == ZMX_OK)
            zlist_append (self->endpoints, (char *) zmx_node_endpoint (self->node));
        else {
            zmx_log_error (self->name, "cannot start the ZRE node: %s (reason above)",
                           zmx_strerror (rc));
            s_self_destroy (&self);
        }
    }
    return self;
}

static void
s_send_counters (void *args)
{
    s_self_t *self = (s_self_t *) args;
    zmx_node_stats_t s;
    zmx_node_stats (self->node, &s);
    const zmx_service_counter_t counters [] = {
        { "peers", s.peers }, { "peers_entered", s.peers_entered },
        { "peers_exited", s.peers_exited }, { "peers_refused", s.peers_refused },
        { "peers_evasive", s.peers_evasive }, { "peers_silent", s.peers_silent },
        { "beacons_sent", s.beacons_sent }, { "beacons_received", s.beacons_received },
        { "beacons_malformed", s.beacons_malformed }, { "messages_sent", s.messages_sent },
        { "messages_received", s.messages_received }, { "malformed", s.malformed },
        { "out_of_sequence", s.out_of_sequence }, { "before_hello", s.before_hello },
        { "pings_sent", s.pings_sent }, { "send_dropped", s.send_dropped },
        { "events_dropped", s.events_dropped }, { "nowait_unknown", s.nowait_unknown },
        { "linger_expired", s.linger_expired }, { "peers_pending", s.peers_pending },
        { "peers_throttled", s.peers_throttled }, { "hello_timeouts", s.hello_timeouts },
        { "groups_refused", s.groups_refused }, { "peers_replaced", s.peers_replaced },
        { "sockets_failed", s.sockets_failed }
    };
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

//  Log one node event; the service itself only watches.
static void
s_handle_event (s_self_t *self)
{
    zmsg_t *event = zmsg_recv (zmx_node_socket (self->node));
    char *type = event? zmsg_popstr (event): NULL;
    char *peer = event? zmsg_popstr (event): NULL;
    char *name = event? zmsg_popstr (event): NULL;
    if (type && peer && name) {
        bool presence = streq (type, ZMX_NODE_ENTER) || streq (type, ZMX_NODE_EXIT);
        zmx_log (presence? ZMX_LOG_INFO: ZMX_LOG_DEBUG, self->name, "%s %s (%s)", type,
                 name, peer);
    }
    free (type);
    free (peer);
    free (name);
    zmsg_destroy (&event);
}

void
zmx__node_service_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    if (!zmx_service_start_status (pipe, self != NULL, self? self->endpoints: NULL,
                                   "invalid node section or interface (see log)"))
        return;
    zmq_pollitem_t items [] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (zmx_node_socket (self->node)), 0, ZMQ_POLLIN, 0 }
    };
    while (!self->terminated) {
        if (zmq_poll (items, 2, -1) < 0) {
            if (zmq_errno () == EINTR)
                continue;       //  A signal for zmxd: it sends $TERM
            break;              //  Context terminated
        }
        if (items [0].revents & ZMQ_POLLIN)
            self->terminated = zmx_service_serve_pipe (self->pipe, self->endpoints,
                                                       s_send_counters, self);
        if (items [1].revents & ZMQ_POLLIN)
            s_handle_event (self);
    }
    s_self_destroy (&self);
}
