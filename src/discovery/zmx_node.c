/*  =========================================================================
    zmx_node - a ZRE node: presence, discovery and group messaging (36/ZRE)

    Design notes
    - The object keeps the settings; zmx_node_start hands them to an actor
      (src/discovery/zmx_node_actor.c) that owns every socket: the ROUTER mailbox, one DEALER per peer, the
      UDP beacon socket and the event socket's backend. Calls are round
      trips on the actor pipe (the nowait sends are one-way); events go out on a separate PAIR so that
      they never mix with replies.
    - Beacons use a plain UDP socket, not CZMQ's zbeacon: zbeacon reads the
      interface from process-wide state (ZSYS_INTERFACE), so two nodes in
      one process could not use different interfaces, and it only offers
      interfaces that can broadcast, which leaves out loopback. The socket
      is bound to the interface's broadcast address, as zbeacon does on
      Linux, so a node hears only the network it announces itself on.
    - The mailbox uses ZMQ_ROUTER_HANDOVER: a node that reconnects (after
      we or it purged the other) always carries the same identity, and its
      newest connection must win over a half-dead old one.
    - Fixed peers ("probes"): a DEALER connected to a configured endpoint,
      with HELLO queued, before we know who is there. A peer whose HELLO
      or beacon shows that endpoint takes the probe's DEALER over, so that
      one node never has two connections to the same mailbox.
    =========================================================================
*/
#include "zmx_discovery_internal.h"

#define S_LOG           "zre"
#define S_TAG           0x7a6d0016
#define S_TAG_DEAD      0xDeadBeef

//  -------------------------------------------------------------------------
//  Object

struct _zmx_node_t {
    uint32_t tag;                   //  S_TAG while alive
    zmx__node_settings_t settings;  //  Read by the actor while it runs
    zactor_t *actor;                //  While started
    zsock_t *events;                //  Event frontend
    bool stopped;                   //  Started once and stopped
    char endpoint [ZMX_ZRE_MAX_STRING + 1];
    char iface [ZMX__NODE_ADDRESS_MAX];
    char broadcast [ZMX__NODE_ADDRESS_MAX];
    zmx_node_stats_t final_stats;   //  Counters at stop (the actor writes them)
};

static void
s_settings_free (zmx__node_settings_t *settings)
{
    free (settings->name);
    zhash_destroy (&settings->headers);
    zlist_destroy (&settings->groups);
    free (settings->iface);
    free (settings->endpoint);
    zlist_destroy (&settings->fixed);
    free (settings->client_cert);
    free (settings->server_key);
}

static zlist_t *
s_string_list (void)
{
    zlist_t *list = zlist_new ();
    zlist_autofree (list);
    zlist_comparefn (list, (zlist_compare_fn *) strcmp);
    return list;
}

zmx_node_t *
zmx_node_new (const char *name)
{
    if (name && !zmx_zre_name_valid (name)) {
        zmx_log_error (S_LOG, "invalid node name");
        return NULL;
    }
    zmx_node_t *self = (zmx_node_t *) zmalloc (sizeof (zmx_node_t));
    self->tag = S_TAG;
    zmx__node_settings_t *cfg = &self->settings;
    zuuid_t *uuid = zuuid_new ();
    memcpy (cfg->uuid, zuuid_data (uuid), ZMX_ZRE_UUID_SIZE);
    snprintf (cfg->uuid_str, sizeof cfg->uuid_str, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    cfg->name = name? strdup (name): strndup (cfg->uuid_str, 6);
    cfg->headers = zhash_new ();
    zhash_autofree (cfg->headers);
    cfg->groups = s_string_list ();
    cfg->fixed = s_string_list ();
    cfg->beacon_port = ZMX_NODE_BEACON_PORT;
    cfg->interval = ZMX_NODE_BEACON_INTERVAL;
    cfg->evasive = ZMX_NODE_EVASIVE_TIMEOUT;
    cfg->expired = ZMX_NODE_EXPIRED_TIMEOUT;
    cfg->max_peers = ZMX_NODE_MAX_PEERS;
    cfg->new_peers_rate = ZMX_NODE_NEW_PEERS_RATE;
    cfg->hello_timeout = ZMX_NODE_HELLO_TIMEOUT;
    cfg->peer_hwm = ZMX_NODE_PEER_HWM;
    cfg->events_hwm = ZMX_NODE_EVENTS_HWM;
    cfg->max_message = ZMX_NODE_MAX_MESSAGE;
    cfg->linger = ZMX_NODE_LINGER;
    //  The frontend keeps one event; the backend's send HWM, set at
    //  start, holds the rest (inproc adds the two)
    self->events = zsock_new (ZMQ_PAIR);
    zsock_set_rcvhwm (self->events, 1);
    if (zsock_bind (self->events, "inproc://zmx-node-%s", cfg->uuid_str) != 0) {
        zmx_node_destroy (&self);
        return NULL;
    }
    return self;
}

void
zmx_node_destroy (zmx_node_t **self_p)
{
    assert (self_p);
    zmx_node_t *self = *self_p;
    if (self) {
        assert (self->tag == S_TAG);
        zmx_node_stop (self);
        zsock_destroy (&self->events);
        s_settings_free (&self->settings);
        self->tag = S_TAG_DEAD;
        free (self);
        *self_p = NULL;
    }
}

static bool
s_settable (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return !self->actor && !self->stopped;
}

static bool
s_text_ok (const char *text)
{
    for (const byte *at = (const byte *) text; *at; at++)
        if (*at < 0x20 || *at == 0x7F)
            return false;
    return strlen (text) <= ZMX_ZRE_MAX_VALUE;
}

int
zmx_node_set_header (zmx_node_t *self, const char *name, const char *format, ...)
{
    if (!s_settable (self) || !zmx_zre_name_valid (name) || !format)
        return ZMX_EINVAL;
    va_list args;
    va_start (args, format);
    char *value = zsys_vprintf (format, args);
    va_end (args);
    int rc = ZMX_EINVAL;
    bool room = zhash_lookup (self->settings.headers, name)
             || zhash_size (self->settings.headers) < ZMX_NODE_MAX_HEADERS;
    if (value && s_text_ok (value) && room) {
        zhash_update (self->settings.headers, name, value);
        rc = ZMX_OK;
    }
    zstr_free (&value);
    return rc;
}

static int
s_set_string (zmx_node_t *self, char **field, const char *value, bool valid)
{
    if (!s_settable (self) || !valid)
        return ZMX_EINVAL;
    free (*field);
    *field = value && *value? strdup (value): NULL;
    return ZMX_OK;
}

int
zmx_node_set_interface (zmx_node_t *self, const char *iface)
{
    bool valid = !iface || (strlen (iface) < ZMX__NODE_ADDRESS_MAX && s_text_ok (iface));
    return s_set_string (self, &self->settings.iface, iface, valid);
}

int
zmx_node_set_endpoint (zmx_node_t *self, const char *endpoint)
{
    bool valid = zmx__endpoint_valid (endpoint) && strlen (endpoint) <= ZMX_ZRE_MAX_STRING;
    return s_set_string (self, &self->settings.endpoint, endpoint, valid);
}

static int
s_set_int (zmx_node_t *self, int *field, int64_t value, int64_t min, int64_t max)
{
    if (!s_settable (self) || value < min || value > max)
        return ZMX_EINVAL;
    *field = (int) value;
    return ZMX_OK;
}

int
zmx_node_set_beacon_port (zmx_node_t *self, int port)
{
    return s_set_int (self, &self->settings.beacon_port, port, 0, 65535);
}

int
zmx_node_set_beacon_interval (zmx_node_t *self, int msec)
{
    return s_set_int (self, &self->settings.interval, msec, ZMX_NODE_TIME_MIN, ZMX_NODE_TIME_MAX);
}

int
zmx_node_set_evasive_timeout (zmx_node_t *self, int msec)
{
    return s_set_int (self, &self->settings.evasive, msec, ZMX_NODE_TIME_MIN, ZMX_NODE_TIME_MAX);
}

int
zmx_node_set_expired_timeout (zmx_node_t *self, int msec)
{
    return s_set_int (self, &self->settings.expired, msec, ZMX_NODE_TIME_MIN, ZMX_NODE_TIME_MAX);
}

int
zmx_node_set_max_peers (zmx_node_t *self, int max_peers)
{
    return s_set_int (self, &self->settings.max_peers, max_peers, 1, 100000);
}

int
zmx_node_set_new_peers_rate (zmx_node_t *self, int per_second)
{
    return s_set_int (self, &self->settings.new_peers_rate, per_second, 1, 100000);
}

int
zmx_node_set_hello_timeout (zmx_node_t *self, int msec)
{
    return s_set_int (self, &self->settings.hello_timeout, msec, ZMX_NODE_TIME_MIN,
                      ZMX_NODE_TIME_MAX);
}

int
zmx_node_set_peer_hwm (zmx_node_t *self, int hwm)
{
    return s_set_int (self, &self->settings.peer_hwm, hwm, 1, 1000000);
}

int
zmx_node_set_events_hwm (zmx_node_t *self, int hwm)
{
    return s_set_int (self, &self->settings.events_hwm, hwm, 1, 1000000);
}

int
zmx_node_set_linger (zmx_node_t *self, int msec)
{
    return s_set_int (self, &self->settings.linger, msec, 0, ZMX_NODE_TIME_MAX);
}

int
zmx_node_set_max_message (zmx_node_t *self, int64_t bytes)
{
    if (!s_settable (self) || bytes < 1024 || bytes > INT_MAX)
        return ZMX_EINVAL;
    self->settings.max_message = bytes;
    return ZMX_OK;
}

int
zmx_node_connect_peer (zmx_node_t *self, const char *endpoint)
{
    if (!s_settable (self) || !zmx__endpoint_valid (endpoint)
    ||  strlen (endpoint) > ZMX_ZRE_MAX_STRING
    ||  zlist_size (self->settings.fixed) >= (size_t) self->settings.max_peers)
        return ZMX_EINVAL;
    if (!zlist_exists (self->settings.fixed, (void *) endpoint))
        zlist_append (self->settings.fixed, (void *) endpoint);
    return ZMX_OK;
}

int
zmx_node_set_security (zmx_node_t *self, zmx_security_t *security)
{
    if (!s_settable (self))
        return ZMX_EINVAL;
    self->settings.security = security;
    return ZMX_OK;
}

int
zmx_node_set_curve_client (zmx_node_t *self, const char *client_cert_path,
                           const char *server_key)
{
    if (!s_settable (self))
        return ZMX_EINVAL;
    return zmx__curve_client_store (&self->settings.client_cert, &self->settings.server_key,
                                    client_cert_path, server_key);
}

//  Apply one group list or endpoint list key of zmx_node_configure.
static int
s_configure_list (zmx_node_t *self, const char *list, const char *key,
                  int (*add) (zmx_node_t *self, const char *item))
{
    char *copy = strdup (list);
    int rc = ZMX_OK;
    for (char *item = strtok (copy, ", "); item && rc == ZMX_OK; item = strtok (NULL, ", "))
        if (add (self, item) != ZMX_OK) {
            zmx_log_error (S_LOG, "zre/%s: invalid entry '%s'", key, item);
            rc = ZMX_ECONFIG;
        }
    free (copy);
    return rc;
}

static int
s_configure_headers (zmx_node_t *self, zconfig_t *headers)
{
    for (zconfig_t *child = headers? zconfig_child (headers): NULL; child;
         child = zconfig_next (child)) {
        const char *value = zconfig_value (child);
        if (zmx_node_set_header (self, zconfig_name (child), "%s", value? value: "")) {
            zmx_log_error (S_LOG, "zre/headers/%s: invalid header", zconfig_name (child));
            return ZMX_ECONFIG;
        }
    }
    return ZMX_OK;
}

//  Integer keys of zmx_node_configure and their setters.
typedef struct {
    const char *key;
    int (*set) (zmx_node_t *self, int value);
} s_int_key_t;

static int
s_set_max_message_int (zmx_node_t *self, int value)
{
    return zmx_node_set_max_message (self, value);
}

int
zmx_node_configure (zmx_node_t *self, zconfig_t *config)
{
    if (!s_settable (self))
        return ZMX_EINVAL;
    if (!config)
        return ZMX_OK;
    const s_int_key_t keys [] = {
        { "port", zmx_node_set_beacon_port }, { "interval", zmx_node_set_beacon_interval },
        { "evasive", zmx_node_set_evasive_timeout }, { "expired", zmx_node_set_expired_timeout },
        { "max-peers", zmx_node_set_max_peers }, { "peer-hwm", zmx_node_set_peer_hwm },
        { "max-message", s_set_max_message_int }, { "events-hwm", zmx_node_set_events_hwm },
        { "linger", zmx_node_set_linger },
        { "new-peers-per-second", zmx_node_set_new_peers_rate },
        { "hello-timeout", zmx_node_set_hello_timeout }
    };
    bool valid = true;
    for (size_t index = 0; index < sizeof keys / sizeof keys [0] && valid; index++) {
        int64_t value = zmx__config_int (config, keys [index].key, INT64_MIN, INT_MIN, INT_MAX,
                                         &valid);
        if (valid && value != INT64_MIN && keys [index].set (self, (int) value) != ZMX_OK) {
            zmx_log_error (S_LOG, "zre/%s: value out of range", keys [index].key);
            valid = false;
        }
    }
    if (!valid)
        return ZMX_ECONFIG;
    const char *name = zmx__config_str (config, "name", NULL);
    if (name && *name) {
        if (!zmx_zre_name_valid (name)) {
            zmx_log_error (S_LOG, "zre/name: invalid name");
            return ZMX_ECONFIG;
        }
        free (self->settings.name);
        self->settings.name = strdup (name);
    }
    const char *iface = zmx__config_str (config, "interface", NULL);
    const char *endpoint = zmx__config_str (config, "endpoint", NULL);
    if ((iface && zmx_node_set_interface (self, iface))
    ||  (endpoint && *endpoint && zmx_node_set_endpoint (self, endpoint))) {
        zmx_log_error (S_LOG, "zre: invalid interface or endpoint");
        return ZMX_ECONFIG;
    }
    const char *peers = zmx__config_str (config, "peers", "");
    const char *groups = zmx__config_str (config, "groups", "");
    int rc = s_configure_list (self, peers, "peers", zmx_node_connect_peer);
    if (rc == ZMX_OK)
        rc = s_configure_list (self, groups, "groups", zmx_node_join);
    if (rc == ZMX_OK)
        rc = s_configure_headers (self, zconfig_locate (config, "headers"));
    const char *cert = zmx__config_str (config, "client-certificate", NULL);
    const char *key = zmx__config_str (config, "server-key", NULL);
    if (rc == ZMX_OK && (cert || key)
    &&  zmx_node_set_curve_client (self, cert, key) != ZMX_OK)
        rc = ZMX_ESECURITY;
    return rc;
}

//  -------------------------------------------------------------------------
//  Running

static int
s_check_settings (zmx_node_t *self)
{
    zmx__node_settings_t *cfg = &self->settings;
    if (cfg->expired <= cfg->evasive) {
        zmx_log_error (S_LOG, "%s: expired timeout %d ms must be above the evasive timeout "
                       "%d ms", cfg->name, cfg->expired, cfg->evasive);
        return ZMX_ECONFIG;
    }
    bool curve = cfg->security && zmx_security_curve (cfg->security);
    if (curve != (cfg->client_cert != NULL)) {
        zmx_log_error (S_LOG, "%s: CURVE needs both a CURVE policy for the mailbox and a "
                       "CURVE client certificate for the peers, or neither", cfg->name);
        return ZMX_ESECURITY;
    }
    if (!cfg->beacon_port && zlist_size (cfg->fixed) == 0)
        zmx_log_warning (S_LOG, "%s: no beacons and no fixed peers: only peers that connect "
                         "to us will be found", cfg->name);
    return ZMX_OK;
}

int
zmx_node_start (zmx_node_t *self)
{
    if (!s_settable (self))
        return ZMX_EINVAL;
    int rc = s_check_settings (self);
    if (rc != ZMX_OK)
        return rc;
    zsock_t *backend = zsock_new (ZMQ_PAIR);
    zsock_set_sndhwm (backend, self->settings.events_hwm);
    if (zsock_connect (backend, "inproc://zmx-node-%s", self->settings.uuid_str) != 0) {
        zsock_destroy (&backend);
        return ZMX_EADDR;
    }
    zmx__node_args_t args;
    memset (&args, 0, sizeof args);
    args.settings = &self->settings;
    args.events = backend;
    args.rc = ZMX_EADDR;
    args.final_stats = &self->final_stats;
    self->actor = zactor_new (zmx__node_actor, &args);
    if (!self->actor) {
        zsock_destroy (&backend);
        return ZMX_ENOMEM;
    }
    if (args.rc != ZMX_OK) {
        zactor_destroy (&self->actor);
        return args.rc;
    }
    snprintf (self->endpoint, sizeof self->endpoint, "%s", args.endpoint);
    snprintf (self->iface, sizeof self->iface, "%s", args.iface);
    snprintf (self->broadcast, sizeof self->broadcast, "%s", args.broadcast);
    return ZMX_OK;
}

void
zmx_node_stop (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    if (self->actor) {
        //  A round trip first: once it is answered, the actor has read
        //  every command sent before (nowait sends may fill the pipe), so
        //  zactor_destroy's $TERM, sent without waiting, finds room
        zmx_node_stats_t drained;
        zmx_node_stats (self, &drained);
        //  The actor writes final_stats as it ends, after the linger
        zactor_destroy (&self->actor);
        self->final_stats.peers = 0;
        self->stopped = true;
    }
}

//  A command with an optional argument; replies one integer.
static int
s_call_int (zmx_node_t *self, const char *command, const char *argument)
{
    int reply = ZMX_EINVAL;
    if (zstr_sendx (self->actor, command, argument, NULL) != 0
    ||  zsock_recv (self->actor, "i", &reply) != 0)
        reply = ZMX_ETERM;
    return reply;
}

static int
s_membership (zmx_node_t *self, bool join, const char *group)
{
    assert (self && self->tag == S_TAG);
    if (self->stopped || !zmx_zre_name_valid (group))
        return ZMX_EINVAL;
    zlist_t *groups = self->settings.groups;
    if (join == zlist_exists (groups, (void *) group))
        return ZMX_OK;
    if (join && zlist_size (groups) >= ZMX_NODE_MAX_GROUPS)
        return ZMX_EINVAL;
    if (self->actor) {
        int rc = s_call_int (self, join? ZMX__NODE_JOIN: ZMX__NODE_LEAVE, group);
        if (rc != ZMX_OK)
            return rc;
    }
    //  The object's copy answers zmx_node_own_groups; the actor read it
    //  only before it signalled
    if (join)
        zlist_append (groups, (void *) group);
    else
        zlist_remove (groups, (void *) group);
    return ZMX_OK;
}

int
zmx_node_join (zmx_node_t *self, const char *group)
{
    return s_membership (self, true, group);
}

int
zmx_node_leave (zmx_node_t *self, const char *group)
{
    return s_membership (self, false, group);
}

//  Send a WHISPER (target: a peer UUID) or a SHOUT (target: a group) to
//  the actor; with `wait`, return its answer, else return once the
//  command is on the pipe (the actor then only counts failures). The
//  pipe's HWM bounds the commands in flight: a caller that outruns the
//  actor blocks in zmsg_send until there is room.
static int
s_send (zmx_node_t *self, bool whisper, bool wait, const char *target, zmsg_t **msg_p)
{
    assert (self && self->tag == S_TAG);
    assert (msg_p);
    zmsg_t *msg = *msg_p;
    *msg_p = NULL;
    bool valid = self->actor && msg && target
              && zmsg_size (msg) <= ZMX_ZRE_MAX_CONTENT
              && (whisper? strlen (target) == ZMX_NODE_UUID_STR: zmx_zre_name_valid (target));
    if (!valid) {
        zmsg_destroy (&msg);
        return ZMX_EINVAL;
    }
    //  The UUID is matched in uppercase, as zuuid_str writes it
    char key [ZMX_ZRE_MAX_STRING + 1];
    snprintf (key, sizeof key, "%s", target);
    if (whisper)
        for (char *at = key; *at; at++)
            *at = (char) toupper ((unsigned char) *at);
    const char *command = whisper? (wait? ZMX__NODE_WHISPER: ZMX__NODE_WHISPER_NOWAIT)
                                 : (wait? ZMX__NODE_SHOUT: ZMX__NODE_SHOUT_NOWAIT);
    zmsg_pushstr (msg, key);
    zmsg_pushstr (msg, command);
    int reply = ZMX_OK;
    if (zmsg_send (&msg, self->actor) != 0
    ||  (wait && zsock_recv (self->actor, "i", &reply) != 0))
        reply = ZMX_ETERM;
    zmsg_destroy (&msg);
    return reply;
}

int
zmx_node_whisper (zmx_node_t *self, const char *peer, zmsg_t **msg_p)
{
    return s_send (self, true, true, peer, msg_p);
}

int
zmx_node_shout (zmx_node_t *self, const char *group, zmsg_t **msg_p)
{
    return s_send (self, false, true, group, msg_p);
}

int
zmx_node_whisper_nowait (zmx_node_t *self, const char *peer, zmsg_t **msg_p)
{
    return s_send (self, true, false, peer, msg_p);
}

int
zmx_node_shout_nowait (zmx_node_t *self, const char *group, zmsg_t **msg_p)
{
    return s_send (self, false, false, group, msg_p);
}

//  The string forms: one frame, formatted, sent waiting.
static int
s_send_str (zmx_node_t *self, bool whisper, const char *target, const char *format,
            va_list args)
{
    char *text = zsys_vprintf (format, args);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, text? text: "");
    zstr_free (&text);
    return s_send (self, whisper, true, target, &msg);
}

int
zmx_node_whisper_str (zmx_node_t *self, const char *peer, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int rc = s_send_str (self, true, peer, format, args);
    va_end (args);
    return rc;
}

int
zmx_node_shout_str (zmx_node_t *self, const char *group, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    int rc = s_send_str (self, false, group, format, args);
    va_end (args);
    return rc;
}

zsock_t *
zmx_node_socket (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->events;
}

//  -------------------------------------------------------------------------
//  Queries

const char *
zmx_node_uuid (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->settings.uuid_str;
}

const char *
zmx_node_name (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->settings.name;
}

const char *
zmx_node_endpoint (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->endpoint;
}

const char *
zmx_node_interface (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->iface;
}

const char *
zmx_node_broadcast (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    return self->broadcast;
}

//  A command answered with a pointer the caller then owns (a list or a
//  string), or NULL.
static void *
s_call_pointer (zmx_node_t *self, const char *command, const char *argument, const char *key)
{
    assert (self && self->tag == S_TAG);
    if (!self->actor)
        return NULL;
    void *reply = NULL;
    if (zstr_sendx (self->actor, command, argument? argument: "", key, NULL) != 0
    ||  zsock_recv (self->actor, "p", &reply) != 0)
        return NULL;
    return reply;
}

static zlist_t *
s_list_or_empty (zlist_t *list)
{
    if (!list) {
        list = zlist_new ();
        zlist_autofree (list);
    }
    return list;
}

zlist_t *
zmx_node_peers (zmx_node_t *self)
{
    return s_list_or_empty ((zlist_t *) s_call_pointer (self, ZMX__NODE_PEERS, NULL, NULL));
}

zlist_t *
zmx_node_peers_by_group (zmx_node_t *self, const char *group)
{
    zlist_t *list = group? (zlist_t *) s_call_pointer (self, ZMX__NODE_PEERS_BY_GROUP, group, NULL)
                         : NULL;
    return s_list_or_empty (list);
}

zlist_t *
zmx_node_peer_groups (zmx_node_t *self)
{
    return s_list_or_empty ((zlist_t *) s_call_pointer (self, ZMX__NODE_PEER_GROUPS, NULL, NULL));
}

zlist_t *
zmx_node_own_groups (zmx_node_t *self)
{
    assert (self && self->tag == S_TAG);
    zlist_t *list = s_list_or_empty (NULL);
    for (const char *group = (const char *) zlist_first (self->settings.groups); group;
         group = (const char *) zlist_next (self->settings.groups))
        zlist_append (list, (void *) group);
    return list;
}

//  UUID in uppercase, or NULL if it cannot be one.
static bool
s_uuid_key (const char *peer, char *key)
{
    if (!peer || strlen (peer) != ZMX_NODE_UUID_STR)
        return false;
    for (size_t index = 0; index <= ZMX_NODE_UUID_STR; index++)
        key [index] = (char) toupper ((unsigned char) peer [index]);
    return true;
}

static char *
s_peer_query (zmx_node_t *self, const char *command, const char *peer, const char *key)
{
    char uuid [ZMX_NODE_UUID_STR + 1];
    if (!s_uuid_key (peer, uuid))
        return NULL;
    return (char *) s_call_pointer (self, command, uuid, key);
}

char *
zmx_node_peer_name (zmx_node_t *self, const char *peer)
{
    return s_peer_query (self, ZMX__NODE_PEER_NAME, peer, NULL);
}

char *
zmx_node_peer_endpoint (zmx_node_t *self, const char *peer)
{
    return s_peer_query (self, ZMX__NODE_PEER_ENDPOINT, peer, NULL);
}

char *
zmx_node_peer_header (zmx_node_t *self, const char *peer, const char *name)
{
    return name? s_peer_query (self, ZMX__NODE_PEER_HEADER, peer, name): NULL;
}

void
zmx_node_stats (zmx_node_t *self, zmx_node_stats_t *stats)
{
    assert (self && self->tag == S_TAG);
    assert (stats);
    *stats = self->final_stats;
    if (!self->actor || zstr_send (self->actor, ZMX__NODE_STATS) != 0)
        return;
    zframe_t *frame = NULL;
    if (zsock_recv (self->actor, "f", &frame) == 0 && frame
    &&  zframe_size (frame) == sizeof *stats)
        memcpy (stats, zframe_data (frame), sizeof *stats);
    zframe_destroy (&frame);
}
