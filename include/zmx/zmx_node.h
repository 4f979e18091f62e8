/*  =========================================================================
    zmx_node - a ZRE node: presence, discovery and group messaging (36/ZRE)

    A node announces itself with UDP beacons, finds the other nodes on the
    same network, opens one DEALER to each peer's ROUTER mailbox, and
    exchanges 36/ZRE messages with them: HELLO, WHISPER (to one peer), SHOUT
    (to a group), JOIN, LEAVE, PING, PING-OK. The application sees what
    happens as event messages on zmx_node_socket. The wire format is the
    RFC's (src/discovery/zmx_zre.c, docs/PROTOCOLS.md), so Zyre nodes and any other
    36/ZRE implementation interoperate; docs/DISCOVERY.md has the details.

        zmx_node_t *node = zmx_node_new ("alice");
        zmx_node_set_header (node, "X-ROLE", "%s", "sensor");
        zmx_node_join (node, "weather");
        if (zmx_node_start (node) != ZMX_OK)
            ;   //  reason logged
        zmx_node_shout_str (node, "weather", "rain");
        zmsg_t *event = zmsg_recv (zmx_node_socket (node));
        //  "ENTER", "SHOUT", ... (frames below)
        zmx_node_destroy (&node);

    The class runs in its own actor once started; setters work before
    zmx_node_start only, every other call is a short round trip to the
    actor, except zmx_node_whisper_nowait and zmx_node_shout_nowait,
    which hand the message to the actor and return without waiting for
    its answer (their failures are counted in the stats instead).

    Discovery has two modes, usable together:

    - Beacons (default): a 22-byte UDP broadcast every beacon interval on
      the beacon port (5670) of one interface. Peers connect to the sender
      address of the beacon and the mailbox port it carries.
    - Fixed peers (zmx_node_connect_peer): for networks where broadcast does
      not pass, the node connects to each listed mailbox endpoint and sends
      HELLO without waiting for a beacon; the peer connects back to the
      endpoint in that HELLO. With beacon port 0 no UDP is used at all.

    Events on zmx_node_socket, one message each; the first frame names the
    event, `peer` is the peer's UUID as 32 uppercase hex digits:

        ENTER   peer, name, headers, endpoint
                A peer sent its HELLO. `headers` is one frame packed by
                zhash_pack (zhash_unpack gives name -> value strings).
        EXIT    peer, name
                The peer left (zero-port beacon), expired, broke the
                protocol, or could not keep up (see limits). Its state is
                gone; lookups now fail.
        JOIN    peer, name, group
                The peer joined the group (from its HELLO or a JOIN).
        LEAVE   peer, name, group
                The peer left the group (LEAVE, or EXIT of a member:
                a LEAVE for each group comes before the EXIT).
        WHISPER peer, name, content...
                The peer sent us a message; zero or more content frames.
        SHOUT   peer, name, group, content...
                The peer sent a message to a group we are in.
        EVASIVE peer, name
                Nothing (beacon or message) heard from the peer for the
                evasive timeout, although it was pinged. Once per silent
                spell.
        SILENT  peer, name
                The peer's beacons arrive but its mailbox has sent nothing,
                not even PING-OK, for the expired timeout: the host is up
                but the ZRE link is not. Once per silent spell; the peer is
                kept while its beacons arrive.

    Liveness: a peer is refreshed by any valid beacon or ZRE message from
    it. A peer whose mailbox is quiet for half the evasive timeout gets a
    PING (repeated every half evasive timeout while quiet), so a live peer
    answers before it could be called EVASIVE; a peer not heard from at
    all for the expired timeout is purged (LEAVEs, EXIT). A peer whose
    HELLO endpoint is not tcp:// or ipc:// is ignored. A node that stops
    cleanly sends one beacon with port 0 (the RFC's "disconnecting"), so
    peers purge it at once, then sends nothing more. Before that beacon,
    the stopping node gives its queued outgoing messages up to the linger
    time (zmx_node_set_linger) to reach their peers: it sends each peer a
    PING after them and waits until every such peer has answered PING-OK
    (so all that came before has arrived), or the time is up.

    Limits (all settable before start): at most max_peers peers (a new
    peer beyond that is ignored and counted); each peer's DEALER queues at
    most peer_hwm messages: a send that finds the queue full is dropped,
    counted (send_dropped), and the peer is disconnected as not responding
    (EXIT; it comes back with its next beacon or HELLO). Incoming frames
    over max_message bytes close the connection (libzmq ZMQ_MAXMSGSIZE).
    A malformed message, a message from a peer that did not say HELLO, or
    a sequence gap disconnects that peer (logged, counted). The event
    socket keeps at most events_hwm unread events; later ones are dropped
    and counted (events_dropped).
    =========================================================================
*/
#ifndef ZMX_NODE_H_INCLUDED
#define ZMX_NODE_H_INCLUDED

#include <czmq.h>
#include <stdint.h>
#include "zmx_security.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Event names, the first frame of each event message.
#define ZMX_NODE_ENTER          "ENTER"
#define ZMX_NODE_EXIT           "EXIT"
#define ZMX_NODE_JOIN           "JOIN"
#define ZMX_NODE_LEAVE          "LEAVE"
#define ZMX_NODE_WHISPER        "WHISPER"
#define ZMX_NODE_SHOUT          "SHOUT"
#define ZMX_NODE_EVASIVE        "EVASIVE"
#define ZMX_NODE_SILENT         "SILENT"

//  Defaults and bounds (msec for times).
#define ZMX_NODE_BEACON_PORT        5670    //  ZRE-DISC, IANA
#define ZMX_NODE_BEACON_INTERVAL    1000
#define ZMX_NODE_EVASIVE_TIMEOUT    5000
#define ZMX_NODE_EXPIRED_TIMEOUT    30000
#define ZMX_NODE_TIME_MIN           10
#define ZMX_NODE_TIME_MAX           3600000
#define ZMX_NODE_MAX_PEERS          1000
#define ZMX_NODE_PEER_HWM           3000    //  100 msg/s over 30 s, as the RFC suggests
#define ZMX_NODE_EVENTS_HWM         10000
#define ZMX_NODE_MAX_MESSAGE        (4 * 1024 * 1024)
#define ZMX_NODE_MAX_NAME           255     //  name, group, header name: a ZRE string
#define ZMX_NODE_MAX_GROUPS         1000    //  groups this node may join
#define ZMX_NODE_MAX_HEADERS        1000    //  headers this node may set
#define ZMX_NODE_UUID_STR           32      //  hex digits of a UUID string
#define ZMX_NODE_LINGER             500     //  stop: time for queued messages
#define ZMX_NODE_NEW_PEERS_RATE     100     //  new peers from beacons, per second
#define ZMX_NODE_HELLO_TIMEOUT      5000    //  msec for a new peer's HELLO

typedef struct _zmx_node_t zmx_node_t;

typedef struct {
    uint64_t peers;                 //  Known peers now (said HELLO)
    uint64_t peers_entered;         //  ENTER events
    uint64_t peers_exited;          //  EXIT events
    uint64_t peers_refused;         //  New peers ignored: max_peers reached
    uint64_t peers_evasive;         //  EVASIVE events
    uint64_t peers_silent;          //  SILENT events
    uint64_t beacons_sent;          //  UDP beacons sent
    uint64_t beacons_received;      //  Valid beacons from others
    uint64_t beacons_malformed;     //  UDP datagrams dropped as invalid
    uint64_t messages_sent;         //  ZRE messages queued to peers
    uint64_t messages_received;     //  Valid ZRE messages received
    uint64_t malformed;             //  ZRE messages dropped as invalid
    uint64_t out_of_sequence;       //  Sequence gaps (peer disconnected)
    uint64_t before_hello;          //  Messages from peers that did not say HELLO
    uint64_t pings_sent;            //  PING commands sent
    uint64_t send_dropped;          //  Messages lost to a full peer queue
    uint64_t events_dropped;        //  Events lost: nobody read them
    uint64_t nowait_unknown;        //  Nowait whispers to unknown peers (dropped)
    uint64_t linger_expired;        //  Stops whose linger ended with peers unconfirmed
    uint64_t peers_pending;         //  Peers heard of that did not say HELLO yet, now
    uint64_t peers_throttled;       //  New peers from beacons ignored: new-peers-per-second
    uint64_t hello_timeouts;        //  Peers dropped for no HELLO within hello-timeout
    uint64_t groups_refused;        //  JOINs ignored: the peer is in ZMX_ZRE_MAX_GROUPS
    uint64_t peers_replaced;        //  Peers dropped: another node came on their endpoint
    uint64_t sockets_failed;        //  Peer DEALERs that could not be made (out of sockets)
} zmx_node_stats_t;

//  -------------------------------------------------------------------------
//  Object and settings (setters return ZMX_EINVAL once started)

//  Create a node with a fresh random UUID. `name` (1..255 printable
//  bytes) is its public name; NULL means the first 6 hex digits of the
//  UUID. Returns NULL for an invalid name. Not started yet.
zmx_node_t *
    zmx_node_new (const char *name);

//  Stop (as zmx_node_stop) and free. Idempotent; nulls *self_p.
void
    zmx_node_destroy (zmx_node_t **self_p);

//  Set a header sent in HELLO: name 1..255 printable bytes, value any
//  printable text (formatted). Setting a name again replaces its value.
//  Returns ZMX_OK, or ZMX_EINVAL (bad name or value, over
//  ZMX_NODE_MAX_HEADERS, or started).
int
    zmx_node_set_header (zmx_node_t *self, const char *name, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Network interface for beacons: an interface name ("eth0", "lo") or one
//  of its IPv4 addresses. NULL or "" (default) means the ZSYS_INTERFACE
//  setting (zsys_set_interface) if any, else the first interface that can
//  broadcast, as CZMQ's zbeacon picks it. The beacon goes to that
//  interface's broadcast address (for "lo", 127.255.255.255) and the
//  mailbox binds to its address. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_interface (zmx_node_t *self, const char *iface);

//  UDP port of beacons, 1..65535, or 0 for no beacons at all (fixed peers
//  only). Default ZMX_NODE_BEACON_PORT. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_beacon_port (zmx_node_t *self, int port);

//  Beacon interval, msec, ZMX_NODE_TIME_MIN..ZMX_NODE_TIME_MAX (default
//  ZMX_NODE_BEACON_INTERVAL). Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_beacon_interval (zmx_node_t *self, int msec);

//  Silence after which a peer is reported EVASIVE, msec (default
//  ZMX_NODE_EVASIVE_TIMEOUT); a peer whose mailbox is quiet for half of
//  it is pinged. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_evasive_timeout (zmx_node_t *self, int msec);

//  Silence after which a peer is purged (EXIT), msec, and after which a
//  peer whose mailbox alone is quiet is reported SILENT (default
//  ZMX_NODE_EXPIRED_TIMEOUT). zmx_node_start refuses a value not above the
//  evasive timeout. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_expired_timeout (zmx_node_t *self, int msec);

//  Endpoint the mailbox ROUTER binds to, "tcp://ADDRESS:PORT", PORT may be
//  "*". The endpoint advertised in HELLO is the bound one, with a "*" or
//  "0.0.0.0" address replaced by the interface address. Default
//  "tcp://<interface address>:*". With no beacons, the address must be
//  given. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_endpoint (zmx_node_t *self, const char *endpoint);

//  Fixed-peer (gossip-free) mode: add a peer mailbox endpoint to connect
//  to at start, without waiting for its beacon. Write it as that peer
//  advertises it (its zmx_node_endpoint). While no live peer has this
//  endpoint, the node keeps a DEALER connected to it with a HELLO queued
//  (libzmq retries the connection), so a peer started later, or restarted,
//  is found. At most max_peers endpoints. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_connect_peer (zmx_node_t *self, const char *endpoint);

//  Most peers tracked at once, 1..100000 (default ZMX_NODE_MAX_PEERS).
//  Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_max_peers (zmx_node_t *self, int max_peers);

//  Most new peers made from beacons per second, 1..100000 (default
//  ZMX_NODE_NEW_PEERS_RATE), with bursts of one second's worth. Beacons of
//  unknown peers beyond it are ignored (counted: peers_throttled); the
//  peer is made from a later beacon, or from its HELLO. Returns ZMX_OK or
//  ZMX_EINVAL.
int
    zmx_node_set_new_peers_rate (zmx_node_t *self, int per_second);

//  How long a peer heard of (by beacon) may take to say HELLO, msec,
//  ZMX_NODE_TIME_MIN..ZMX_NODE_TIME_MAX (default ZMX_NODE_HELLO_TIMEOUT);
//  then it is dropped with its socket (counted: hello_timeouts). Returns
//  ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_hello_timeout (zmx_node_t *self, int msec);

//  Outgoing queue bound per peer, messages, 1..1000000 (default
//  ZMX_NODE_PEER_HWM). Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_peer_hwm (zmx_node_t *self, int hwm);

//  Largest incoming frame, bytes, 1024..2^31-1 (default
//  ZMX_NODE_MAX_MESSAGE). Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_max_message (zmx_node_t *self, int64_t bytes);

//  Unread events kept on zmx_node_socket, 1..1000000 (default
//  ZMX_NODE_EVENTS_HWM). Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_events_hwm (zmx_node_t *self, int hwm);

//  How long zmx_node_stop (and destroy) lets queued outgoing messages
//  leave, msec, 0..ZMX_NODE_TIME_MAX (default ZMX_NODE_LINGER; 0 drops
//  them). The stop returns as soon as every peer confirmed receipt, at
//  the latest after this time. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_linger (zmx_node_t *self, int msec);

//  Make the mailbox ROUTER through this policy (CURVE server, ZAP), which
//  must outlive the node. NULL (default) means security off. A node whose
//  policy uses CURVE needs zmx_node_set_curve_client too, and vice versa
//  (zmx_node_start checks). Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_node_set_security (zmx_node_t *self, zmx_security_t *security);

//  Make every peer DEALER a CURVE client (zmx_security_client_curve's
//  arguments): all nodes of a CURVE group share one server key pair, each
//  node's client certificate being allowed by the peers' policies.
//  Returns ZMX_OK, ZMX_ESECURITY (unusable arguments, logged) or ZMX_EINVAL.
int
    zmx_node_set_curve_client (zmx_node_t *self, const char *client_cert_path,
                               const char *server_key);

//  Apply settings from a ZPL subtree (zmxd's "zre" section); absent keys
//  keep their values. Keys: name, interface, port (beacon port), interval,
//  evasive, expired, endpoint, peers (comma-separated fixed endpoints),
//  groups (comma-separated, joined), max-peers, peer-hwm, max-message,
//  events-hwm, linger, client-certificate + server-key (CURVE client), and a
//  "headers" subtree whose children are name = value. Returns ZMX_OK, or
//  ZMX_ECONFIG naming the bad key in the log (settings may be partly
//  applied), ZMX_ESECURITY for unusable CURVE files, ZMX_EINVAL if started.
int
    zmx_node_configure (zmx_node_t *self, zconfig_t *config);

//  -------------------------------------------------------------------------
//  Running

//  Start the actor: bind the mailbox, open the beacon socket, connect to
//  fixed peers, and log one line with the interface, address, broadcast
//  address, beacon port and mailbox endpoint. Returns ZMX_OK, ZMX_EADDR
//  (no such interface, bind failed), ZMX_ECONFIG (expired <= evasive, no
//  beacons and no address to advertise), ZMX_ESECURITY (CURVE halves
//  mismatched), ZMX_ENOMEM (no thread for the actor), or ZMX_EINVAL
//  (already started, or stopped: a node starts once; a failed start may
//  be retried). Reasons are logged.
int
    zmx_node_start (zmx_node_t *self);

//  Stop: let queued messages leave (linger, above), send the zero-port
//  beacon, close every socket, end the actor. Nothing is sent afterwards. The event socket stays readable (events
//  already queued). Idempotent; a no-op before start.
void
    zmx_node_stop (zmx_node_t *self);

//  Join a group: 1..255 printable bytes, case sensitive. Before start it
//  goes into HELLO; after start a JOIN goes to every peer. Joining a group
//  twice is a no-op. Returns ZMX_OK, or ZMX_EINVAL (bad name, over
//  ZMX_NODE_MAX_GROUPS, stopped).
int
    zmx_node_join (zmx_node_t *self, const char *group);

//  Leave a group (LEAVE to every peer after start); no-op if not in it.
//  Returns ZMX_OK or ZMX_EINVAL (bad name, stopped).
int
    zmx_node_leave (zmx_node_t *self, const char *group);

//  Send a message to one peer (UUID string, either case). Consumes *msg_p
//  on every path. Returns ZMX_OK, ZMX_EINVAL (not started, bad
//  arguments, unknown peer) or ZMX_EAGAIN (the peer's queue was full: the
//  message is dropped and the peer disconnected).
int
    zmx_node_whisper (zmx_node_t *self, const char *peer, zmsg_t **msg_p);

//  Send a message to every peer in the group (none is fine). Consumes
//  *msg_p on every path. Returns ZMX_OK or ZMX_EINVAL (not started, bad
//  group); full peer queues drop their copy as in the limits above.
int
    zmx_node_shout (zmx_node_t *self, const char *group, zmsg_t **msg_p);

//  As zmx_node_whisper and zmx_node_shout, but without waiting for the
//  actor's answer, for callers that send many messages: the message is
//  queued on the actor pipe and the call returns. The pipe holds about
//  2 x zsys_pipehwm (CZMQ default 1000) commands; a caller that outruns
//  the actor blocks until there is room (backpressure, nothing lost on
//  the way to the actor). Consumes *msg_p on every path. Returns ZMX_OK
//  (queued), ZMX_EINVAL (not started, bad arguments: checked here) or
//  ZMX_ETERM. Failures found by the actor are counted only: a whisper to
//  an unknown peer in nowait_unknown, a full peer queue in send_dropped
//  (and the peer is disconnected, as for the waiting calls). Calls of
//  either kind are handled in the order they are made.
int
    zmx_node_whisper_nowait (zmx_node_t *self, const char *peer, zmsg_t **msg_p);
int
    zmx_node_shout_nowait (zmx_node_t *self, const char *group, zmsg_t **msg_p);

//  One-frame string forms of whisper and shout (formatted).
int
    zmx_node_whisper_str (zmx_node_t *self, const char *peer, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));
int
    zmx_node_shout_str (zmx_node_t *self, const char *group, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Socket to receive events from (frames in the header comment). Valid
//  from zmx_node_new to zmx_node_destroy; events come only while started.
zsock_t *
    zmx_node_socket (zmx_node_t *self);

//  -------------------------------------------------------------------------
//  Queries

//  This node's UUID, 32 uppercase hex digits.
const char *
    zmx_node_uuid (zmx_node_t *self);

//  This node's name.
const char *
    zmx_node_name (zmx_node_t *self);

//  The advertised mailbox endpoint ("tcp://127.0.0.1:49213"), "" before
//  start.
const char *
    zmx_node_endpoint (zmx_node_t *self);

//  Interface in use ("lo"), and the broadcast address beacons go to
//  ("127.255.255.255"); "" before start or without beacons.
const char *
    zmx_node_interface (zmx_node_t *self);
const char *
    zmx_node_broadcast (zmx_node_t *self);

//  UUIDs of the known peers (those that said HELLO). Caller owns the list
//  (autofree strings); empty before start.
zlist_t *
    zmx_node_peers (zmx_node_t *self);

//  UUIDs of the known peers in `group`. Caller owns the list.
zlist_t *
    zmx_node_peers_by_group (zmx_node_t *self, const char *group);

//  Groups this node is in. Caller owns the list (autofree strings).
zlist_t *
    zmx_node_own_groups (zmx_node_t *self);

//  Groups any known peer is in. Caller owns the list.
zlist_t *
    zmx_node_peer_groups (zmx_node_t *self);

//  A peer's name, advertised endpoint, or one header value; NULL for an
//  unknown peer or header. Caller frees.
char *
    zmx_node_peer_name (zmx_node_t *self, const char *peer);
char *
    zmx_node_peer_endpoint (zmx_node_t *self, const char *peer);
char *
    zmx_node_peer_header (zmx_node_t *self, const char *peer, const char *name);

//  Fill *stats with the counters (zero before start; kept after stop).
void
    zmx_node_stats (zmx_node_t *self, zmx_node_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
