/*  =========================================================================
    zmx_node_actor - the actor of a ZRE node (36/ZRE): sockets, peers,
    beacons, liveness

    See src/discovery/zmx_node.c for the design notes and include/zmx/zmx_node.h for
    the contract. The actor owns every socket: the ROUTER mailbox, one
    DEALER per peer (and per fixed-endpoint probe), the UDP beacon socket
    and the event socket's backend. It reads the object's settings, which
    the object leaves untouched while the actor runs.
    =========================================================================
*/
#include "zmx_discovery_internal.h"

#define S_LOG           "zre"
#define S_UDP_BUFFER    64      //  Larger datagrams are malformed anyway

//  -------------------------------------------------------------------------
//  Interface choice

typedef struct {
    char name [ZMX__NODE_ADDRESS_MAX];       //  "lo", "eth0"
    char address [ZMX__NODE_ADDRESS_MAX];    //  Its IPv4 address
    char broadcast [ZMX__NODE_ADDRESS_MAX];  //  Where beacons go
} s_iface_t;

//  True if this getifaddrs entry is the interface `wanted` asks for: by
//  name or address, or, for an empty `wanted`, the first one that can
//  broadcast and is not loopback (zbeacon's default choice).
static bool
s_iface_matches (struct ifaddrs *entry, const char *wanted, const char *address)
{
    if (*wanted)
        return streq (entry->ifa_name, wanted) || streq (address, wanted);
    return (entry->ifa_flags & IFF_UP) && (entry->ifa_flags & IFF_BROADCAST)
        && !(entry->ifa_flags & IFF_LOOPBACK) && !(entry->ifa_flags & IFF_POINTOPOINT);
}

//  Find the interface; 0, or -1 if there is none such with IPv4.
static int
s_iface_resolve (const char *wanted, s_iface_t *found)
{
    if (!wanted || !*wanted)
        wanted = zsys_interface ();
    struct ifaddrs *list = NULL;
    if (getifaddrs (&list) != 0)
        return -1;
    int rc = -1;
    for (struct ifaddrs *entry = list; entry && rc; entry = entry->ifa_next) {
        if (!entry->ifa_addr || entry->ifa_addr->sa_family != AF_INET || !entry->ifa_netmask)
            continue;
        struct in_addr address = ((struct sockaddr_in *) entry->ifa_addr)->sin_addr;
        struct in_addr mask = ((struct sockaddr_in *) entry->ifa_netmask)->sin_addr;
        char text [ZMX__NODE_ADDRESS_MAX];
        inet_ntop (AF_INET, &address, text, sizeof text);
        if (!s_iface_matches (entry, wanted, text))
            continue;
        struct in_addr broadcast;
        if ((entry->ifa_flags & IFF_BROADCAST) && entry->ifa_broadaddr)
            broadcast = ((struct sockaddr_in *) entry->ifa_broadaddr)->sin_addr;
        else        //  Loopback has no broadcast flag, but a /8 broadcast route
            broadcast.s_addr = address.s_addr | ~mask.s_addr;
        snprintf (found->name, sizeof found->name, "%s", entry->ifa_name);
        snprintf (found->address, sizeof found->address, "%s", text);
        inet_ntop (AF_INET, &broadcast, found->broadcast, sizeof found->broadcast);
        rc = 0;
    }
    freeifaddrs (list);
    return rc;
}

//  -------------------------------------------------------------------------
//  Actor state

typedef struct {
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    void *dealer;                   //  To its mailbox (libzmq socket)
    char *endpoint;                 //  Where the DEALER connects
    char *advertised;               //  Endpoint from its HELLO, or NULL
    char *name;                     //  From HELLO ("" before)
    zhash_t *headers;               //  From HELLO (autofree), or NULL
    zhash_t *groups;                //  Groups it is in (names, no values)
    bool ready;                     //  Its HELLO came
    uint16_t sent_seq;              //  Last sequence we sent it
    uint16_t want_seq;              //  Next sequence we expect from it
    uint8_t status;                 //  Its group status
    int64_t created_at;             //  When we first heard of it
    int64_t heard_at;               //  Last beacon or message
    int64_t message_at;             //  Last ZRE message
    int64_t ping_at;                //  No PING before this
    bool evasive;                   //  EVASIVE reported this silent spell
    bool silent;                    //  SILENT reported this silent spell
    int pings_out;                  //  PINGs sent and not yet answered
    bool lingering;                 //  Stopping: we wait for its PING-OK
} s_peer_t;

typedef struct {
    char *endpoint;                 //  Configured fixed endpoint
    void *dealer;                   //  Connected, HELLO queued (libzmq socket)
    uint16_t sent_seq;              //  Last sequence sent on it
} s_probe_t;

typedef struct {
    zsock_t *pipe;                  //  Actor command pipe
    zsock_t *events;                //  Event backend
    zsock_t *router;                //  Our mailbox
    int udp;                        //  Beacon socket, -1 without beacons
    struct sockaddr_in broadcast;   //  Beacon destination
    zmx__node_settings_t *cfg;      //  The object's settings (read only)
    zhash_t *own_groups;            //  Groups we are in (names)
    uint8_t status;                 //  Our group status
    char endpoint [ZMX_ZRE_MAX_STRING + 1];
    uint16_t mailbox_port;          //  Port in our beacons
    zhash_t *peers;                 //  uuid_str -> s_peer_t
    zhash_t *groups;                //  group -> zhash of uuid_str -> s_peer_t
    zlist_t *probes;                //  s_probe_t
    int64_t beacon_at;              //  Next beacon
    int64_t check_at;               //  Next liveness check
    int tick;                       //  Liveness check period, msec
    int64_t last_warning;           //  Network-triggered warnings: one a second
    double tokens;                  //  New peers from beacons we may still make
    int64_t tokens_at;              //  When tokens was last topped up
    zmx_node_stats_t stats;
    zmx_node_stats_t *final_stats;  //  The object's, written as we end
    bool terminated;
    bool stopping;                  //  Lingering: no new peers
} s_self_t;

//  Peer DEALERs are plain libzmq sockets, not zsock_t: zsock_new asserts
//  when the context has no socket left, and how many peers there are is
//  up to the network. zmq_socket fails cleanly instead, and the CZMQ
//  calls we use on them (zmsg_send, zsock_set_*) take any socket.
static void
s_dealer_close (void **dealer_p)
{
    if (*dealer_p) {
        zmq_close (*dealer_p);
        *dealer_p = NULL;
    }
}

static void
s_peer_destroy (void *item)
{
    s_peer_t *peer = (s_peer_t *) item;
    if (peer) {
        s_dealer_close (&peer->dealer);
        free (peer->endpoint);
        free (peer->advertised);
        free (peer->name);
        zhash_destroy (&peer->headers);
        zhash_destroy (&peer->groups);
        free (peer);
    }
}

static void
s_probe_destroy (s_probe_t **probe_p)
{
    s_probe_t *probe = *probe_p;
    if (probe) {
        s_dealer_close (&probe->dealer);
        free (probe->endpoint);
        free (probe);
        *probe_p = NULL;
    }
}

//  A warning caused by what came from the network: at most one a second
//  reaches warning level, the rest go to debug, so a flood of bad input
//  cannot flood the log (the counters still count every one).
static void
s_warn (s_self_t *self, const char *format, ...)
{
    zmx_log_level_t level = zmx__log_limited_level (zclock_mono (), &self->last_warning);
    if (!zmx_log_enabled (level))
        return;
    va_list args;
    va_start (args, format);
    char *text = zsys_vprintf (format, args);
    va_end (args);
    zmx_log (level, S_LOG, "%s: %s", self->cfg->name, text? text: format);
    zstr_free (&text);
}

static void
s_emit (s_self_t *self, zmsg_t **event_p)
{
    //  The backend never blocks (send timeout 0): a full queue drops
    if (zmsg_send (event_p, self->events) != 0) {
        self->stats.events_dropped++;
        zmsg_destroy (event_p);
    }
}

//  An event of frames "EVENT", uuid, name, then `extra` (may be NULL).
static void
s_emit_peer (s_self_t *self, const char *event, s_peer_t *peer, const char *extra)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, event);
    zmsg_addstr (msg, peer->uuid_str);
    zmsg_addstr (msg, peer->name? peer->name: "");
    if (extra)
        zmsg_addstr (msg, extra);
    s_emit (self, &msg);
}

//  -------------------------------------------------------------------------
//  Sending

//  A DEALER with our identity, connected to `endpoint`; NULL (logged) if
//  it cannot be made, e.g. when the context is out of sockets.
static void *
s_dealer_new (s_self_t *self, const char *endpoint)
{
    void *dealer = zmq_socket (zsys_init (), ZMQ_DEALER);
    if (!dealer) {
        self->stats.sockets_failed++;
        s_warn (self, "cannot make a socket for peer mailbox %s: %s", endpoint,
                zmq_strerror (zmq_errno ()));
        return NULL;
    }
    byte identity [ZMX_ZRE_IDENTITY_SIZE];
    identity [0] = ZMX_ZRE_IDENTITY_PREFIX;
    memcpy (identity + 1, self->cfg->uuid, ZMX_ZRE_UUID_SIZE);
    zmq_setsockopt (dealer, ZMQ_ROUTING_ID, identity, sizeof identity);
    zsock_set_sndhwm (dealer, self->cfg->peer_hwm);
    zsock_set_sndtimeo (dealer, 0);
    zsock_set_linger (dealer, 0);
    if (self->cfg->client_cert
    &&  zmx_security_client_curve ((zsock_t *) dealer, self->cfg->client_cert,
                                   self->cfg->server_key)) {
        s_dealer_close (&dealer);
        return NULL;
    }
    if (zmq_connect (dealer, endpoint) != 0) {
        s_warn (self, "cannot connect to peer mailbox %s: %s", endpoint,
                zmq_strerror (zmq_errno ()));
        s_dealer_close (&dealer);
    }
    return dealer;
}

//  Send `msg` (its sequence set here from *seq) and `content` frames, if
//  any, without blocking. Returns 0, or -1 if the queue is full (nothing
//  sent, *seq unchanged).
static int
s_send_on (s_self_t *self, void *dealer, uint16_t *seq, zmx_zre_msg_t *msg, zmsg_t *content)
{
    msg->sequence = (uint16_t) (*seq + 1);
    zframe_t *header = zmx_zre_encode_header (msg);
    assert (header);            //  We only encode fields we validated
    zmsg_t *wire = content? zmsg_dup (content): zmsg_new ();
    zmsg_prepend (wire, &header);
    if (zmsg_send (&wire, dealer) != 0) {
        zmsg_destroy (&wire);
        self->stats.send_dropped++;
        return -1;
    }
    *seq = msg->sequence;
    self->stats.messages_sent++;
    return 0;
}

static int
s_send_peer (s_self_t *self, s_peer_t *peer, zmx_zre_msg_t *msg, zmsg_t *content)
{
    return s_send_on (self, peer->dealer, &peer->sent_seq, msg, content);
}

//  Our HELLO, fields filled (caller clears it).
static void
s_hello_init (s_self_t *self, zmx_zre_msg_t *msg)
{
    zmx_zre_init (msg, ZMX_ZRE_HELLO);
    snprintf (msg->endpoint, sizeof msg->endpoint, "%s", self->endpoint);
    msg->groups = zhash_keys (self->own_groups);
    msg->status = self->status;
    snprintf (msg->name, sizeof msg->name, "%s", self->cfg->name);
    msg->headers = zhash_dup (self->cfg->headers);
}

//  Send HELLO on a fresh DEALER; -1 if even that does not fit.
static int
s_send_hello (s_self_t *self, void *dealer, uint16_t *seq)
{
    zmx_zre_msg_t hello;
    s_hello_init (self, &hello);
    int rc = s_send_on (self, dealer, seq, &hello, NULL);
    zmx_zre_clear (&hello);
    return rc;
}

//  -------------------------------------------------------------------------
//  Peers

static s_peer_t *
s_peer_find (s_self_t *self, const char *uuid_str)
{
    return (s_peer_t *) zhash_lookup (self->peers, uuid_str);
}

static void
s_members_destroy (void *item)
{
    zhash_t *members = (zhash_t *) item;
    zhash_destroy (&members);
}

static void
s_peer_join (s_self_t *self, s_peer_t *peer, const char *group)
{
    if (zhash_lookup (peer->groups, group))
        return;
    //  A HELLO holds at most as many; JOINs must not add more
    if (zhash_size (peer->groups) >= ZMX_ZRE_MAX_GROUPS) {
        self->stats.groups_refused++;
        s_warn (self, "peer %s is in %d groups already, JOIN %s ignored", peer->uuid_str,
                ZMX_ZRE_MAX_GROUPS, group);
        return;
    }
    zhash_insert (peer->groups, group, (void *) "1");
    zhash_t *members = (zhash_t *) zhash_lookup (self->groups, group);
    if (!members) {
        members = zhash_new ();
        zhash_insert (self->groups, group, members);
        zhash_freefn (self->groups, group, s_members_destroy);
    }
    zhash_insert (members, peer->uuid_str, peer);
    s_emit_peer (self, ZMX_NODE_JOIN, peer, group);
}

static void
s_peer_leave (s_self_t *self, s_peer_t *peer, const char *group)
{
    if (!zhash_lookup (peer->groups, group))
        return;
    zhash_delete (peer->groups, group);
    zhash_t *members = (zhash_t *) zhash_lookup (self->groups, group);
    if (members) {
        zhash_delete (members, peer->uuid_str);
        if (zhash_size (members) == 0)
            zhash_delete (self->groups, group);
    }
    s_emit_peer (self, ZMX_NODE_LEAVE, peer, group);
}

//  Forget a peer: LEAVE for each of its groups and EXIT if it had said
//  HELLO, then close its DEALER. `why` goes to the log.
static void
s_peer_purge (s_self_t *self, s_peer_t *peer, const char *why)
{
    //  Only peers that said HELLO are worth an info line: anyone can send
    //  beacons for peers that never will
    zmx_log (peer->ready? ZMX_LOG_INFO: ZMX_LOG_DEBUG, S_LOG, "%s: peer %s (%s) gone: %s",
             self->cfg->name, peer->uuid_str, peer->name? peer->name: "", why);
    if (peer->ready) {
        zlist_t *groups = zhash_keys (peer->groups);
        for (const char *group = (const char *) zlist_first (groups); group;
             group = (const char *) zlist_next (groups))
            s_peer_leave (self, peer, group);
        zlist_destroy (&groups);
        s_emit_peer (self, ZMX_NODE_EXIT, peer, NULL);
        self->stats.peers_exited++;
    }
    zhash_delete (self->peers, peer->uuid_str);
}

//  Take over the probe connected to `endpoint`, if there is one: its
//  DEALER and sequence go to the peer.
static bool
s_adopt_probe (s_self_t *self, s_peer_t *peer, const char *endpoint)
{
    for (s_probe_t *probe = (s_probe_t *) zlist_first (self->probes); probe;
         probe = (s_probe_t *) zlist_next (self->probes))
        if (streq (probe->endpoint, endpoint)) {
            zlist_remove (self->probes, probe);
            peer->dealer = probe->dealer;
            probe->dealer = NULL;
            peer->sent_seq = probe->sent_seq;
            s_probe_destroy (&probe);
            return true;
        }
    return false;
}

//  A node that appears on the mailbox endpoint of a known peer means that
//  peer is gone (it died without a word and the endpoint was reused):
//  purge it at once, as Zyre does, rather than keep two connections to
//  one mailbox until it expires.
static void
s_purge_endpoint (s_self_t *self, const char *uuid_str, const char *endpoint)
{
    zlist_t *stale = zlist_new ();
    zlist_autofree (stale);
    for (s_peer_t *peer = (s_peer_t *) zhash_first (self->peers); peer;
         peer = (s_peer_t *) zhash_next (self->peers))
        if (!streq (peer->uuid_str, uuid_str)
        &&  (streq (peer->endpoint, endpoint)
        ||   (peer->advertised && streq (peer->advertised, endpoint))))
            zlist_append (stale, peer->uuid_str);
    for (const char *uuid = (const char *) zlist_first (stale); uuid;
         uuid = (const char *) zlist_next (stale)) {
        s_peer_t *peer = s_peer_find (self, uuid);
        if (peer) {
            self->stats.peers_replaced++;
            s_peer_purge (self, peer, "another node took its endpoint");
        }
    }
    zlist_destroy (&stale);
}

//  A new peer heard at `endpoint`: connect to it and send our HELLO.
//  Returns the peer, or NULL if it is refused (limit, bad endpoint).
static s_peer_t *
s_peer_new (s_self_t *self, const char *uuid_str, const char *endpoint)
{
    //  A stopping node greets nobody new
    if (self->stopping)
        return NULL;
    //  Only network transports: an endpoint from the wire must not lead
    //  our DEALER into this process (inproc) or elsewhere
    if (strncmp (endpoint, "tcp://", 6) != 0 && strncmp (endpoint, "ipc://", 6) != 0) {
        self->stats.malformed++;
        s_warn (self, "peer %s advertises an unusable endpoint", uuid_str);
        return NULL;
    }
    s_purge_endpoint (self, uuid_str, endpoint);
    if (zhash_size (self->peers) >= (size_t) self->cfg->max_peers) {
        self->stats.peers_refused++;
        s_warn (self, "%d peers already, new ones are ignored", self->cfg->max_peers);
        return NULL;
    }
    s_peer_t *peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
    snprintf (peer->uuid_str, sizeof peer->uuid_str, "%s", uuid_str);
    peer->endpoint = strdup (endpoint);
    peer->groups = zhash_new ();
    peer->created_at = peer->heard_at = peer->message_at = zclock_mono ();
    peer->ping_at = peer->heard_at + self->cfg->evasive / 2;
    if (!s_adopt_probe (self, peer, endpoint)) {
        peer->dealer = s_dealer_new (self, endpoint);
        if (!peer->dealer || s_send_hello (self, peer->dealer, &peer->sent_seq) != 0) {
            s_peer_destroy (peer);
            return NULL;
        }
    }
    zhash_insert (self->peers, uuid_str, peer);
    zhash_freefn (self->peers, uuid_str, s_peer_destroy);
    zmx_log_debug (S_LOG, "%s: connecting to peer %s at %s", self->cfg->name, uuid_str, endpoint);
    return peer;
}

static void
s_peer_refresh (s_self_t *self, s_peer_t *peer, bool message)
{
    peer->heard_at = zclock_mono ();
    peer->evasive = false;
    if (message) {
        peer->message_at = peer->heard_at;
        peer->ping_at = peer->heard_at + self->cfg->evasive / 2;
        peer->silent = false;
    }
}

//  Send to every ready peer (and every probe, whose HELLO may still wait
//  for its peer), or to the members of `group`. Peers whose queue is full
//  are purged afterwards: the hash cannot change while we walk it.
static void
s_send_all (s_self_t *self, zmx_zre_msg_t *msg, zmsg_t *content, const char *group)
{
    zhash_t *targets = group? (zhash_t *) zhash_lookup (self->groups, group): self->peers;
    zlist_t *full = zlist_new ();
    zlist_autofree (full);
    if (targets)
        for (s_peer_t *peer = (s_peer_t *) zhash_first (targets); peer;
             peer = (s_peer_t *) zhash_next (targets))
            if (peer->ready && s_send_peer (self, peer, msg, content) != 0)
                zlist_append (full, peer->uuid_str);
    if (!group)
        for (s_probe_t *probe = (s_probe_t *) zlist_first (self->probes); probe;
             probe = (s_probe_t *) zlist_next (self->probes))
            s_send_on (self, probe->dealer, &probe->sent_seq, msg, content);
    for (const char *uuid = (const char *) zlist_first (full); uuid;
         uuid = (const char *) zlist_next (full)) {
        s_peer_t *peer = s_peer_find (self, uuid);
        if (peer)
            s_peer_purge (self, peer, "its send queue is full");
    }
    zlist_destroy (&full);
}

//  -------------------------------------------------------------------------
//  Beacons

static void
s_beacon_send (s_self_t *self, uint16_t port)
{
    byte beacon [ZMX_ZRE_BEACON_SIZE];
    zmx_zre_beacon_encode (self->cfg->uuid, port, beacon);
    if (sendto (self->udp, beacon, sizeof beacon, 0, (struct sockaddr *) &self->broadcast,
                sizeof self->broadcast) == (ssize_t) sizeof beacon)
        self->stats.beacons_sent++;
    else
        zmx_log_debug (S_LOG, "%s: beacon not sent: %s", self->cfg->name, strerror (errno));
}

//  Token bucket for new peers heard of by beacon: a beacon costs nothing
//  to forge, and each new peer costs a socket and a TCP connection. Up to
//  one second's worth may come at once.
static bool
s_new_peer_allowed (s_self_t *self)
{
    int64_t now = zclock_mono ();
    double rate = self->cfg->new_peers_rate;
    self->tokens += (double) (now - self->tokens_at) * rate / 1000.0;
    if (self->tokens > rate)
        self->tokens = rate;
    self->tokens_at = now;
    if (self->tokens < 1.0)
        return false;
    self->tokens -= 1.0;
    return true;
}

static void
s_beacon_recv (s_self_t *self)
{
    byte data [S_UDP_BUFFER];
    struct sockaddr_in sender;
    socklen_t sender_size = sizeof sender;
    ssize_t size = recvfrom (self->udp, data, sizeof data, MSG_TRUNC | MSG_DONTWAIT,
                             (struct sockaddr *) &sender, &sender_size);
    if (size < 0)
        return;
    char address [ZMX__NODE_ADDRESS_MAX];
    inet_ntop (AF_INET, &sender.sin_addr, address, sizeof address);
    zmx_zre_beacon_t beacon;
    const char *error;
    if (zmx_zre_beacon_decode (data, (size_t) size, &beacon, &error) != 0) {
        self->stats.beacons_malformed++;
        zmx_log_debug (S_LOG, "%s: beacon from %s dropped: %s", self->cfg->name, address, error);
        return;
    }
    if (memcmp (beacon.uuid, self->cfg->uuid, ZMX_ZRE_UUID_SIZE) == 0)
        return;                 //  Our own, echoed by the broadcast
    self->stats.beacons_received++;
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    zuuid_t *uuid = zuuid_new_from (beacon.uuid);
    snprintf (uuid_str, sizeof uuid_str, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    s_peer_t *peer = s_peer_find (self, uuid_str);
    if (beacon.port == 0) {
        if (peer)
            s_peer_purge (self, peer, "it announced it is leaving");
        return;
    }
    if (peer)
        s_peer_refresh (self, peer, false);
    else
    if (!s_new_peer_allowed (self)) {
        self->stats.peers_throttled++;
        zmx_log_debug (S_LOG, "%s: beacon of new peer %s from %s ignored: new-peers-per-second",
                       self->cfg->name, uuid_str, address);
    }
    else {
        char endpoint [ZMX_ZRE_MAX_STRING + 1];
        snprintf (endpoint, sizeof endpoint, "tcp://%s:%u", address, beacon.port);
        s_peer_new (self, uuid_str, endpoint);
    }
}

//  -------------------------------------------------------------------------
//  Mailbox

//  A HELLO from `uuid_str`: a new peer (or a known one saying HELLO
//  again, which restarts it) becomes ready.
static void
s_on_hello (s_self_t *self, const char *uuid_str, zmx_zre_msg_t *msg)
{
    s_peer_t *peer = s_peer_find (self, uuid_str);
    if (peer && peer->ready) {
        s_peer_purge (self, peer, "it said HELLO again");
        peer = NULL;
    }
    if (!peer)
        peer = s_peer_new (self, uuid_str, msg->endpoint);
    if (!peer)
        return;
    s_purge_endpoint (self, uuid_str, msg->endpoint);
    peer->ready = true;
    peer->want_seq = 2;
    peer->status = msg->status;
    free (peer->name);
    peer->name = strdup (msg->name);
    free (peer->advertised);
    peer->advertised = strdup (msg->endpoint);
    zhash_destroy (&peer->headers);
    peer->headers = msg->headers;
    msg->headers = NULL;
    s_peer_refresh (self, peer, true);
    self->stats.peers_entered++;
    zmsg_t *event = zmsg_new ();
    zmsg_addstr (event, ZMX_NODE_ENTER);
    zmsg_addstr (event, peer->uuid_str);
    zmsg_addstr (event, peer->name);
    zframe_t *packed = zhash_pack (peer->headers);
    zmsg_append (event, &packed);
    zmsg_addstr (event, peer->advertised);
    s_emit (self, &event);
    for (const char *group = (const char *) zlist_first (msg->groups); group;
         group = (const char *) zlist_next (msg->groups))
        s_peer_join (self, peer, group);
    zmx_log_info (S_LOG, "%s: peer %s (%s) entered from %s", self->cfg->name, uuid_str,
                  peer->name, peer->advertised);
}

//  Any command after HELLO, in sequence.
static void
s_on_command (s_self_t *self, s_peer_t *peer, zmx_zre_msg_t *msg)
{
    zmsg_t *event;
    switch (msg->id) {
        case ZMX_ZRE_WHISPER:
        case ZMX_ZRE_SHOUT:
            if (msg->id == ZMX_ZRE_SHOUT && !zhash_lookup (self->own_groups, msg->group))
                break;          //  Not for us: we left the group
            event = msg->content;
            msg->content = NULL;
            if (msg->id == ZMX_ZRE_SHOUT)
                zmsg_pushstr (event, msg->group);
            zmsg_pushstr (event, peer->name);
            zmsg_pushstr (event, peer->uuid_str);
            zmsg_pushstr (event, msg->id == ZMX_ZRE_SHOUT? ZMX_NODE_SHOUT: ZMX_NODE_WHISPER);
            s_emit (self, &event);
            break;
        case ZMX_ZRE_JOIN:
            peer->status = msg->status;
            s_peer_join (self, peer, msg->group);
            break;
        case ZMX_ZRE_LEAVE:
            peer->status = msg->status;
            s_peer_leave (self, peer, msg->group);
            break;
        case ZMX_ZRE_PING: {
            zmx_zre_msg_t reply;
            zmx_zre_init (&reply, ZMX_ZRE_PING_OK);
            if (s_send_peer (self, peer, &reply, NULL) != 0)
                s_peer_purge (self, peer, "its send queue is full");
            break;
        }
        default:                //  PING-OK: answers our oldest PING (FIFO)
            if (peer->pings_out > 0)
                peer->pings_out--;
            break;
    }
}

//  Receive one message from the mailbox, keeping at most `max` frames
//  after the identity (the rest is read and dropped). *too_long_p tells
//  whether frames were dropped.
static zmsg_t *
s_mailbox_recv (s_self_t *self, size_t max, bool *too_long_p)
{
    zmsg_t *msg = zmsg_new ();
    *too_long_p = false;
    void *handle = zsock_resolve (self->router);
    do {
        zmq_msg_t part;
        zmq_msg_init (&part);
        if (zmq_msg_recv (&part, handle, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close (&part);
            break;
        }
        if (zmsg_size (msg) < max + 1) {
            zframe_t *frame = zframe_new (zmq_msg_data (&part), zmq_msg_size (&part));
            zmsg_append (msg, &frame);
        }
        else
            *too_long_p = true;
        zmq_msg_close (&part);
    } while (zsock_rcvmore (self->router));
    if (zmsg_size (msg) == 0)
        zmsg_destroy (&msg);
    return msg;
}

//  The sender's UUID string from its 17-byte routing id; false if the id
//  is not one a ZRE node uses.
static bool
s_identity_uuid (zframe_t *identity, char *uuid_str)
{
    if (!identity || zframe_size (identity) != ZMX_ZRE_IDENTITY_SIZE
    ||  zframe_data (identity) [0] != ZMX_ZRE_IDENTITY_PREFIX)
        return false;
    zuuid_t *uuid = zuuid_new_from (zframe_data (identity) + 1);
    snprintf (uuid_str, ZMX_NODE_UUID_STR + 1, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    return true;
}

//  A message that breaks the protocol: count, log, and drop the peer.
static void
s_on_malformed (s_self_t *self, const char *uuid_str, const char *error)
{
    self->stats.malformed++;
    s_warn (self, "malformed ZRE message from %s: %s", uuid_str, error);
    s_peer_t *peer = s_peer_find (self, uuid_str);
    if (peer)
        s_peer_purge (self, peer, "malformed message");
}

//  36/ZRE: a message with the signature but another version number is
//  discarded, not a reason to drop the peer (the RFC has no version
//  negotiation, and a newer peer may still speak to us later).
static bool
s_other_version (s_self_t *self, zmsg_t *wire, const char *uuid_str)
{
    zframe_t *first = zmsg_first (wire);
    if (!first || zframe_size (first) < 4 || zframe_data (first) [0] != ZMX_ZRE_SIGNATURE_0
    ||  zframe_data (first) [1] != ZMX_ZRE_SIGNATURE_1
    ||  zframe_data (first) [3] == ZMX_ZRE_VERSION)
        return false;
    self->stats.malformed++;
    zmx_log_debug (S_LOG, "%s: ZRE version %u message from %s dropped", self->cfg->name,
                   zframe_data (first) [3], uuid_str);
    return true;
}

static void
s_mailbox_handle (s_self_t *self)
{
    bool too_long;
    zmsg_t *wire = s_mailbox_recv (self, ZMX_ZRE_MAX_CONTENT + 1, &too_long);
    if (!wire)
        return;
    zframe_t *identity = zmsg_pop (wire);
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    bool ours = s_identity_uuid (identity, uuid_str);
    zframe_destroy (&identity);
    if (!ours) {
        self->stats.malformed++;
        s_warn (self, "message from a routing id that is not a ZRE node's");
        zmsg_destroy (&wire);
        return;
    }
    if (streq (uuid_str, self->cfg->uuid_str)) {
        zmsg_destroy (&wire);    //  Our own probe, pointed at ourselves
        return;
    }
    if (too_long) {
        zmsg_destroy (&wire);
        s_on_malformed (self, uuid_str, "too many content frames");
        return;
    }
    if (s_other_version (self, wire, uuid_str)) {
        zmsg_destroy (&wire);
        return;
    }
    zmx_zre_msg_t msg;
    const char *error = NULL;
    int rc = zmx_zre_decode (&wire, &msg, &error);
    if (rc == -1) {
        //  The RFC: discard silently what is not ZRE at all
        self->stats.malformed++;
        zmx_log_debug (S_LOG, "%s: non-ZRE message from %s dropped", self->cfg->name, uuid_str);
    }
    else
    if (rc == -2)
        s_on_malformed (self, uuid_str, error);
    else {
        s_peer_t *peer = s_peer_find (self, uuid_str);
        if (msg.id == ZMX_ZRE_HELLO) {
            if (msg.sequence != 1)
                s_on_malformed (self, uuid_str, "HELLO sequence is not 1");
            else {
                self->stats.messages_received++;
                s_on_hello (self, uuid_str, &msg);
            }
        }
        else
        if (!peer || !peer->ready) {
            self->stats.before_hello++;
            zmx_log_debug (S_LOG, "%s: %s before HELLO from %s dropped", self->cfg->name,
                           zmx_zre_command (msg.id), uuid_str);
        }
        else
        if (msg.sequence != peer->want_seq) {
            self->stats.out_of_sequence++;
            s_warn (self, "%s from %s has sequence %u, expected %u", zmx_zre_command (msg.id),
                    uuid_str, msg.sequence, peer->want_seq);
            s_peer_purge (self, peer, "sequence gap");
        }
        else {
            self->stats.messages_received++;
            peer->want_seq++;
            s_peer_refresh (self, peer, true);
            s_on_command (self, peer, &msg);
        }
    }
    zmx_zre_clear (&msg);
}

//  -------------------------------------------------------------------------
//  Liveness and fixed peers

static bool
s_endpoint_has_peer (s_self_t *self, const char *endpoint)
{
    for (s_peer_t *peer = (s_peer_t *) zhash_first (self->peers); peer;
         peer = (s_peer_t *) zhash_next (self->peers))
        if (streq (peer->endpoint, endpoint)
        ||  (peer->advertised && streq (peer->advertised, endpoint)))
            return true;
    return false;
}

static bool
s_endpoint_has_probe (s_self_t *self, const char *endpoint)
{
    for (s_probe_t *probe = (s_probe_t *) zlist_first (self->probes); probe;
         probe = (s_probe_t *) zlist_next (self->probes))
        if (streq (probe->endpoint, endpoint))
            return true;
    return false;
}

//  Keep a probe on every fixed endpoint no peer answers from.
static void
s_probes_refresh (s_self_t *self)
{
    for (const char *endpoint = (const char *) zlist_first (self->cfg->fixed); endpoint;
         endpoint = (const char *) zlist_next (self->cfg->fixed)) {
        if (s_endpoint_has_peer (self, endpoint) || s_endpoint_has_probe (self, endpoint))
            continue;
        s_probe_t *probe = (s_probe_t *) zmalloc (sizeof (s_probe_t));
        probe->endpoint = strdup (endpoint);
        probe->dealer = s_dealer_new (self, endpoint);
        if (!probe->dealer || s_send_hello (self, probe->dealer, &probe->sent_seq) != 0)
            s_probe_destroy (&probe);
        else
            zlist_append (self->probes, probe);
    }
}

//  One peer's liveness step; returns a reason if it must be purged.
static const char *
s_peer_check (s_self_t *self, s_peer_t *peer, int64_t now)
{
    if (now - peer->heard_at >= self->cfg->expired)
        return "expired";
    //  Beacons alone do not keep a peer: a forged one never says HELLO,
    //  and must not hold its socket for long
    if (!peer->ready && now - peer->created_at >= self->cfg->hello_timeout) {
        self->stats.hello_timeouts++;
        return "no HELLO in time";
    }
    if (!peer->ready)
        return NULL;
    if (now >= peer->ping_at) {
        zmx_zre_msg_t ping;
        zmx_zre_init (&ping, ZMX_ZRE_PING);
        if (s_send_peer (self, peer, &ping, NULL) != 0)
            return "its send queue is full";
        self->stats.pings_sent++;
        peer->pings_out++;
        peer->ping_at = now + self->cfg->evasive / 2;
    }
    if (!peer->evasive && now - peer->heard_at >= self->cfg->evasive) {
        peer->evasive = true;
        self->stats.peers_evasive++;
        s_emit_peer (self, ZMX_NODE_EVASIVE, peer, NULL);
    }
    if (!peer->silent && now - peer->message_at >= self->cfg->expired) {
        peer->silent = true;
        self->stats.peers_silent++;
        s_emit_peer (self, ZMX_NODE_SILENT, peer, NULL);
    }
    return NULL;
}

static void
s_check_peers (s_self_t *self)
{
    int64_t now = zclock_mono ();
    zlist_t *uuids = zhash_keys (self->peers);
    for (const char *uuid = (const char *) zlist_first (uuids); uuid;
         uuid = (const char *) zlist_next (uuids)) {
        s_peer_t *peer = s_peer_find (self, uuid);
        const char *why = peer? s_peer_check (self, peer, now): NULL;
        if (why)
            s_peer_purge (self, peer, why);
    }
    zlist_destroy (&uuids);
    s_probes_refresh (self);
}

//  -------------------------------------------------------------------------
//  Commands from the object

//  JOIN or LEAVE ourselves; the reply is 0.
static void
s_handle_membership (s_self_t *self, bool join, const char *group)
{
    bool member = zhash_lookup (self->own_groups, group) != NULL;
    if (join != member) {
        if (join)
            zhash_insert (self->own_groups, group, (void *) "1");
        else
            zhash_delete (self->own_groups, group);
        self->status++;
        zmx_zre_msg_t msg;
        zmx_zre_init (&msg, join? ZMX_ZRE_JOIN: ZMX_ZRE_LEAVE);
        snprintf (msg.group, sizeof msg.group, "%s", group);
        msg.status = self->status;
        s_send_all (self, &msg, NULL, NULL);
    }
    zsock_send (self->pipe, "i", ZMX_OK);
}

//  WHISPER uuid content... or SHOUT group content...; replies a code
//  unless the object does not wait (nowait: failures are only counted).
static void
s_handle_send (s_self_t *self, bool whisper, bool reply, const char *target, zmsg_t *content)
{
    zmx_zre_msg_t msg;
    zmx_zre_init (&msg, whisper? ZMX_ZRE_WHISPER: ZMX_ZRE_SHOUT);
    int rc = ZMX_OK;
    if (whisper) {
        s_peer_t *peer = s_peer_find (self, target);
        if (!peer || !peer->ready) {
            rc = ZMX_EINVAL;
            self->stats.nowait_unknown += !reply;
        }
        else
        if (s_send_peer (self, peer, &msg, content) != 0) {
            s_peer_purge (self, peer, "its send queue is full");
            rc = ZMX_EAGAIN;
        }
    }
    else {
        snprintf (msg.group, sizeof msg.group, "%s", target);
        s_send_all (self, &msg, content, target);
    }
    if (reply)
        zsock_send (self->pipe, "i", rc);
}

//  A list of the keys of `hash` (NULL: empty), given to the object.
static void
s_reply_keys (s_self_t *self, zhash_t *hash)
{
    zlist_t *keys = hash? zhash_keys (hash): zlist_new ();
    zlist_autofree (keys);
    zsock_send (self->pipe, "p", keys);
}

//  The UUIDs of the peers that said HELLO, given to the object.
static void
s_reply_ready (s_self_t *self)
{
    zlist_t *ready = zlist_new ();
    zlist_autofree (ready);
    for (s_peer_t *peer = (s_peer_t *) zhash_first (self->peers); peer;
         peer = (s_peer_t *) zhash_next (self->peers))
        if (peer->ready)
            zlist_append (ready, peer->uuid_str);
    zsock_send (self->pipe, "p", ready);
}

static void
s_handle_peer_query (s_self_t *self, const char *command, const char *uuid, const char *key)
{
    s_peer_t *peer = uuid? s_peer_find (self, uuid): NULL;
    const char *value = NULL;
    if (peer && peer->ready) {
        if (streq (command, ZMX__NODE_PEER_NAME))
            value = peer->name;
        else
        if (streq (command, ZMX__NODE_PEER_ENDPOINT))
            value = peer->advertised;
        else
        if (key && peer->headers)
            value = (const char *) zhash_lookup (peer->headers, key);
    }
    zsock_send (self->pipe, "p", value? strdup (value): NULL);
}

static void
s_handle_pipe (s_self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    char *command = msg? zmsg_popstr (msg): NULL;
    char *argument = msg? zmsg_popstr (msg): NULL;
    if (!command || streq (command, ZMX_SERVICE_TERM))
        self->terminated = true;
    else
    if ((streq (command, ZMX__NODE_JOIN) || streq (command, ZMX__NODE_LEAVE)) && argument)
        s_handle_membership (self, streq (command, ZMX__NODE_JOIN), argument);
    else
    if ((streq (command, ZMX__NODE_WHISPER) || streq (command, ZMX__NODE_SHOUT)) && argument)
        s_handle_send (self, streq (command, ZMX__NODE_WHISPER), true, argument, msg);
    else
    if ((streq (command, ZMX__NODE_WHISPER_NOWAIT) || streq (command, ZMX__NODE_SHOUT_NOWAIT))
    &&  argument)
        s_handle_send (self, streq (command, ZMX__NODE_WHISPER_NOWAIT), false, argument, msg);
    else
    if (streq (command, ZMX__NODE_PEERS))
        s_reply_ready (self);
    else
    if (streq (command, ZMX__NODE_PEERS_BY_GROUP) && argument)
        s_reply_keys (self, (zhash_t *) zhash_lookup (self->groups, argument));
    else
    if (streq (command, ZMX__NODE_PEER_GROUPS))
        s_reply_keys (self, self->groups);
    else
    if (streq (command, ZMX__NODE_PEER_NAME) || streq (command, ZMX__NODE_PEER_ENDPOINT)
    ||  streq (command, ZMX__NODE_PEER_HEADER)) {
        char *key = zmsg_popstr (msg);
        s_handle_peer_query (self, command, argument, key);
        zstr_free (&key);
    }
    else
    if (streq (command, ZMX__NODE_STATS)) {
        self->stats.peers = 0;
        self->stats.peers_pending = 0;
        for (s_peer_t *peer = (s_peer_t *) zhash_first (self->peers); peer;
             peer = (s_peer_t *) zhash_next (self->peers)) {
            self->stats.peers += peer->ready;
            self->stats.peers_pending += !peer->ready;
        }
        zsock_send (self->pipe, "b", &self->stats, sizeof self->stats);
    }
    else
        zmx_service_reply_unknown (self->pipe, command);
    zstr_free (&command);
    zstr_free (&argument);
    zmsg_destroy (&msg);
}

//  -------------------------------------------------------------------------
//  Start and stop

//  Open the UDP beacon socket bound to the broadcast address and port.
static int
s_udp_open (s_self_t *self, const s_iface_t *iface)
{
    self->udp = socket (AF_INET, SOCK_DGRAM, 0);
    if (self->udp < 0)
        return -1;
    int on = 1;
    setsockopt (self->udp, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    setsockopt (self->udp, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    memset (&self->broadcast, 0, sizeof self->broadcast);
    self->broadcast.sin_family = AF_INET;
    self->broadcast.sin_port = htons ((uint16_t) self->cfg->beacon_port);
    inet_pton (AF_INET, iface->broadcast, &self->broadcast.sin_addr);
    if (bind (self->udp, (struct sockaddr *) &self->broadcast, sizeof self->broadcast) != 0) {
        zmx_log_error (S_LOG, "%s: cannot bind UDP %s:%d: %s", self->cfg->name,
                       iface->broadcast, self->cfg->beacon_port, strerror (errno));
        return -1;
    }
    return 0;
}

//  The endpoint peers reach us on: the bound one, with a wildcard host
//  replaced by the interface address.
static void
s_advertise (s_self_t *self, const char *bound, const char *address)
{
    const char *port = strrchr (bound, ':');
    const char *host = strstr (bound, "://");
    bool wildcard = host && port && (strncmp (host + 3, "0.0.0.0:", 8) == 0
                                  || strncmp (host + 3, "*:", 2) == 0);
    if (wildcard && *address)
        snprintf (self->endpoint, sizeof self->endpoint, "tcp://%s%s", address, port);
    else
        snprintf (self->endpoint, sizeof self->endpoint, "%s", bound);
    self->mailbox_port = port? (uint16_t) atoi (port + 1): 0;
}

//  Bind the mailbox; ZMX_OK or an error code, logged.
static int
s_mailbox_open (s_self_t *self, const char *address)
{
    self->router = zmx_security_socket (self->cfg->security, ZMQ_ROUTER);
    if (!self->router)
        return ZMX_EADDR;
    zsock_set_router_handover (self->router, 1);
    zsock_set_maxmsgsize (self->router, (int) self->cfg->max_message);
    zsock_set_linger (self->router, 0);
    char endpoint [ZMX_ZRE_MAX_STRING + 1];
    if (self->cfg->endpoint)
        snprintf (endpoint, sizeof endpoint, "%s", self->cfg->endpoint);
    else
        snprintf (endpoint, sizeof endpoint, "tcp://%s:*", address);
    if (zmx_security_listen (self->cfg->security, self->router, endpoint) != 0)
        return ZMX_EADDR;
    char *bound = zsock_last_endpoint (self->router);
    s_advertise (self, bound? bound: endpoint, address);
    zstr_free (&bound);
    if (strstr (self->endpoint, "://*") || strstr (self->endpoint, "://0.0.0.0")) {
        zmx_log_error (S_LOG, "%s: no address to advertise for %s: give an interface or an "
                       "endpoint with an address", self->cfg->name, endpoint);
        return ZMX_ECONFIG;
    }
    return ZMX_OK;
}

static int
s_self_open (s_self_t *self, zmx__node_args_t *args)
{
    const zmx__node_settings_t *cfg = self->cfg;
    s_iface_t iface = { "", "", "" };
    bool need_iface = cfg->beacon_port != 0 || !cfg->endpoint;
    if (need_iface && s_iface_resolve (cfg->iface, &iface) != 0) {
        zmx_log_error (S_LOG, "%s: no IPv4 interface '%s' (ZSYS_INTERFACE='%s')", cfg->name,
                       cfg->iface? cfg->iface: "", zsys_interface ());
        return ZMX_EADDR;
    }
    int rc = s_mailbox_open (self, iface.address);
    if (rc != ZMX_OK)
        return rc;
    if (cfg->beacon_port && s_udp_open (self, &iface) != 0)
        return ZMX_EADDR;
    snprintf (args->endpoint, sizeof args->endpoint, "%s", self->endpoint);
    if (cfg->beacon_port) {
        snprintf (args->iface, sizeof args->iface, "%s", iface.name);
        snprintf (args->broadcast, sizeof args->broadcast, "%s", iface.broadcast);
        zmx_log_notice (S_LOG, "%s (%s): interface %s address %s, beacons to %s:%d every %d "
                        "ms, mailbox %s", cfg->name, cfg->uuid_str, iface.name, iface.address,
                        iface.broadcast, cfg->beacon_port, cfg->interval, self->endpoint);
    }
    else
        zmx_log_notice (S_LOG, "%s (%s): no beacons, %zu fixed peers, mailbox %s", cfg->name,
                        cfg->uuid_str, zlist_size (cfg->fixed), self->endpoint);
    return ZMX_OK;
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        zhash_destroy (&self->peers);
        zhash_destroy (&self->groups);
        while (zlist_size (self->probes)) {
            s_probe_t *probe = (s_probe_t *) zlist_pop (self->probes);
            s_probe_destroy (&probe);
        }
        zlist_destroy (&self->probes);
        zhash_destroy (&self->own_groups);
        zsock_destroy (&self->router);
        if (self->udp >= 0)
            close (self->udp);
        zsock_destroy (&self->events);
        free (self);
        *self_p = NULL;
    }
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx__node_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->events = args->events;
    zsock_set_sndtimeo (self->events, 0);
    self->cfg = args->settings;
    self->final_stats = args->final_stats;
    self->udp = -1;
    self->own_groups = zhash_new ();
    for (const char *group = (const char *) zlist_first (self->cfg->groups); group;
         group = (const char *) zlist_next (self->cfg->groups))
        zhash_insert (self->own_groups, group, (void *) "1");
    self->status = (uint8_t) zlist_size (self->cfg->groups);
    self->peers = zhash_new ();
    self->groups = zhash_new ();
    self->probes = zlist_new ();
    self->tokens = self->cfg->new_peers_rate;
    self->tokens_at = zclock_mono ();
    int tick = self->cfg->evasive / 4;
    tick = tick < self->cfg->interval? tick: self->cfg->interval;
    self->tick = tick < ZMX_NODE_TIME_MIN? ZMX_NODE_TIME_MIN: tick;
    return self;
}

//  Count the peers we still wait for at stop.
static size_t
s_lingering (s_self_t *self)
{
    size_t waiting = 0;
    for (s_peer_t *peer = (s_peer_t *) zhash_first (self->peers); peer;
         peer = (s_peer_t *) zhash_next (self->peers))
        waiting += peer->lingering && peer->pings_out > 0;
    return waiting;
}

//  Stopping: a PING behind whatever is queued for each ready peer, then
//  read the mailbox until every such peer answered (a peer answers in
//  order, so all we queued before has arrived) or the linger time is up.
//  Commands from the object are not read: it waits for us to end.
static void
s_linger (s_self_t *self)
{
    if (self->cfg->linger <= 0)
        return;
    //  Probes carry only our HELLO to endpoints nobody answers from: they
    //  would keep retrying while we wait, so they go now
    self->stopping = true;
    while (zlist_size (self->probes)) {
        s_probe_t *probe = (s_probe_t *) zlist_pop (self->probes);
        s_probe_destroy (&probe);
    }
    int64_t deadline = zclock_mono () + self->cfg->linger;
    zmx_zre_msg_t ping;
    zmx_zre_init (&ping, ZMX_ZRE_PING);
    for (s_peer_t *peer = (s_peer_t *) zhash_first (self->peers); peer;
         peer = (s_peer_t *) zhash_next (self->peers))
        if (peer->ready && s_send_peer (self, peer, &ping, NULL) == 0) {
            self->stats.pings_sent++;
            peer->pings_out++;
            peer->lingering = true;
        }
    while (s_lingering (self) > 0 && !zsys_interrupted) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0) {
            self->stats.linger_expired++;
            zmx_log_info (S_LOG, "%s: stopping with %zu peers that did not confirm receipt",
                          self->cfg->name, s_lingering (self));
            break;
        }
        zmq_pollitem_t item = { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) left) < 0 && zmq_errno () != EINTR)
            break;
        if (item.revents & ZMQ_POLLIN)
            s_mailbox_handle (self);
    }
}

static long
s_timeout (s_self_t *self)
{
    int64_t next = self->check_at;
    if (self->udp >= 0 && self->beacon_at < next)
        next = self->beacon_at;
    int64_t now = zclock_mono ();
    return next > now? (long) (next - now): 0;
}

void
zmx__node_actor (zsock_t *pipe, void *argument)
{
    zmx__node_args_t *args = (zmx__node_args_t *) argument;
    s_self_t *self = s_self_new (pipe, args);
    args->rc = s_self_open (self, args);
    int rc = args->rc;
    //  args and the settings die once we signal: the object owns them,
    //  and keeps the settings alive until the actor ends
    zsock_signal (pipe, 0);
    if (rc != ZMX_OK) {
        s_self_destroy (&self);
        zmx_service_wait_term (pipe);
        return;
    }
    s_probes_refresh (self);
    self->beacon_at = self->check_at = zclock_mono ();
    while (!self->terminated) {
        zmq_pollitem_t items [3] = { { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
                                     { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 },
                                     { NULL, self->udp, ZMQ_POLLIN, 0 } };
        if (zmq_poll (items, self->udp >= 0? 3: 2, s_timeout (self)) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;
        }
        if (items [1].revents & ZMQ_POLLIN)
            s_mailbox_handle (self);
        if (self->udp >= 0 && (items [2].revents & ZMQ_POLLIN))
            s_beacon_recv (self);
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        int64_t now = zclock_mono ();
        if (self->udp >= 0 && now >= self->beacon_at) {
            s_beacon_send (self, self->mailbox_port);
            self->beacon_at = now + self->cfg->interval;
        }
        if (now >= self->check_at) {
            s_check_peers (self);
            self->check_at = now + self->tick;
        }
    }
    //  A clean stop: let what is queued leave, tell the network we are
    //  leaving, then say nothing more
    s_linger (self);
    if (self->udp >= 0)
        s_beacon_send (self, 0);
    //  The object is blocked in zactor_destroy until we signal our end
    if (self->final_stats)
        *self->final_stats = self->stats;
    s_self_destroy (&self);
}
