/*  =========================================================================
    test_node - zmx_node on one host: nodes in one process find each other
    with beacons on loopback (or fixed endpoints), whisper, shout to group
    members only, report JOIN/LEAVE, EVASIVE then EXIT for a node killed
    in another process, ignore malformed beacons and drop peers that send
    malformed or out-of-sequence ZRE. A raw DEALER/ROUTER pair speaking ZRE
    bytes written by hand plays an independent peer, to check the wire.
    Every node uses a free UDP port (never 5670) and short timeouts.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <sys/wait.h>

#define S_INTERVAL  100
#define S_EVASIVE   500
#define S_EXPIRED   1500
#define S_WAIT      10000       //  Longest wait for any one event, msec
//  Events timed by the liveness rules come within their timeout plus one
//  liveness tick (S_INTERVAL here); the margin on top is for a loaded
//  machine (a load of 12 on 2 cores delayed an EVASIVE by over 1.5 s).
#define S_MARGIN    (2 * S_EXPIRED)
//  An EXIT that must come at once (zero-port beacon), not by expiry
#define S_PROMPT    S_EXPIRED

//  A node on loopback with the test's short timeouts, not started.
static zmx_node_t *
s_node (const char *name, int beacon_port)
{
    zmx_node_t *node = zmx_node_new (name);
    ZMX_CHECK (node);
    ZMX_CHECK (zmx_node_set_interface (node, "lo") == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_port (node, beacon_port) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_interval (node, S_INTERVAL) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_evasive_timeout (node, S_EVASIVE) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_expired_timeout (node, S_EXPIRED) == ZMX_OK);
    return node;
}

static zmx_node_t *
s_started (const char *name, int beacon_port)
{
    zmx_node_t *node = s_node (name, beacon_port);
    ZMX_CHECK (zmx_node_start (node) == ZMX_OK);
    return node;
}

//  True if no event named `event` comes within timeout_ms.
static bool
s_none (zmx_node_t *node, const char *event, int timeout_ms)
{
    zmsg_t *msg = zmx_test_node_expect (node, event, NULL, timeout_ms);
    bool none = msg == NULL;
    zmsg_destroy (&msg);
    return none;
}

static bool
s_list_has (zlist_t *list, const char *text)
{
    for (const char *item = (const char *) zlist_first (list); item;
         item = (const char *) zlist_next (list))
        if (streq (item, text))
            return true;
    return false;
}

//  Wait until `node` knows `other` (its HELLO came). Leaves the events
//  queued: events of different peers interleave, and a wait on one
//  peer's ENTER must not swallow another's.
static void
s_meet (zmx_node_t *node, zmx_node_t *other)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    bool known = false;
    while (!known && zclock_mono () < deadline) {
        zlist_t *peers = zmx_node_peers (node);
        known = s_list_has (peers, zmx_node_uuid (other));
        zlist_destroy (&peers);
        if (!known)
            zclock_sleep (10);
    }
    ZMX_CHECK (known);
}

//  -------------------------------------------------------------------------

static void
s_discovery_and_whisper (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_node ("alice", port);
    ZMX_CHECK (zmx_node_set_header (alice, "X-ROLE", "%s-%d", "sensor", 1) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    ZMX_CHECK_STR (zmx_node_interface (alice), "lo");
    ZMX_CHECK_STR (zmx_node_broadcast (alice), "127.255.255.255");
    ZMX_CHECK (strncmp (zmx_node_endpoint (alice), "tcp://127.0.0.1:", 16) == 0);
    zmx_node_t *bob = s_started ("bob", port);

    zmsg_t *enter = zmx_test_node_expect (bob, ZMX_NODE_ENTER, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (enter && zmsg_size (enter) == 4);
    char *uuid = zmsg_popstr (enter), *name = zmsg_popstr (enter);
    ZMX_CHECK_STR (uuid, zmx_node_uuid (alice));
    ZMX_CHECK_STR (name, "alice");
    zframe_t *packed = zmsg_pop (enter);
    zhash_t *headers = zhash_unpack (packed);
    ZMX_CHECK (headers && zhash_size (headers) == 1);
    ZMX_CHECK_STR ((char *) zhash_lookup (headers, "X-ROLE"), "sensor-1");
    char *endpoint = zmsg_popstr (enter);
    ZMX_CHECK_STR (endpoint, zmx_node_endpoint (alice));
    zstr_free (&uuid);
    zstr_free (&name);
    zstr_free (&endpoint);
    zhash_destroy (&headers);
    zframe_destroy (&packed);
    zmsg_destroy (&enter);
    s_meet (alice, bob);

    //  Lookups on both sides
    zlist_t *peers = zmx_node_peers (alice);
    ZMX_CHECK (zlist_size (peers) == 1 && s_list_has (peers, zmx_node_uuid (bob)));
    zlist_destroy (&peers);
    char *text = zmx_node_peer_name (bob, zmx_node_uuid (alice));
    ZMX_CHECK_STR (text, "alice");
    zstr_free (&text);
    text = zmx_node_peer_header (bob, zmx_node_uuid (alice), "X-ROLE");
    ZMX_CHECK_STR (text, "sensor-1");
    zstr_free (&text);
    ZMX_CHECK (zmx_node_peer_header (bob, zmx_node_uuid (alice), "X-NONE") == NULL);
    text = zmx_node_peer_endpoint (bob, zmx_node_uuid (alice));
    ZMX_CHECK_STR (text, zmx_node_endpoint (alice));
    zstr_free (&text);
    ZMX_CHECK (zmx_node_peer_name (bob, "00000000000000000000000000000000") == NULL);

    //  Multi-frame whisper, with the UUID given in lowercase
    char lower [ZMX_NODE_UUID_STR + 1];
    for (int index = 0; index <= ZMX_NODE_UUID_STR; index++)
        lower [index] = (char) tolower ((unsigned char) zmx_node_uuid (bob) [index]);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "hello");
    zmsg_addmem (msg, "", 0);
    zmsg_addstr (msg, "bob");
    ZMX_CHECK (zmx_node_whisper (alice, lower, &msg) == ZMX_OK && msg == NULL);
    zmsg_t *whisper = zmx_test_node_expect (bob, ZMX_NODE_WHISPER, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (whisper && zmsg_size (whisper) == 5);
    zframe_t *sender = zmsg_pop (whisper);      //  (checked by zmx_test_node_expect)
    zframe_destroy (&sender);
    ZMX_CHECK (zmx_test_msg_is (whisper, 0, "alice", "hello", "", "bob", NULL));
    zmsg_destroy (&whisper);

    ZMX_CHECK (zmx_node_whisper_str (bob, zmx_node_uuid (alice), "n=%d", 42) == ZMX_OK);
    whisper = zmx_test_node_expect (alice, ZMX_NODE_WHISPER, zmx_node_uuid (bob), S_WAIT);
    ZMX_CHECK (whisper && zmx_test_msg_is (whisper, 0, zmx_node_uuid (bob), "bob", "n=42", NULL));
    zmsg_destroy (&whisper);

    //  Unknown peer: refused, message consumed
    msg = zmsg_new ();
    zmsg_addstr (msg, "x");
    ZMX_CHECK (zmx_node_whisper (alice, "0123456789ABCDEF0123456789ABCDEF", &msg) == ZMX_EINVAL);
    ZMX_CHECK (msg == NULL);

    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.peers == 1 && stats.peers_entered == 1 && stats.beacons_sent > 0);
    ZMX_CHECK (stats.beacons_received > 0 && stats.messages_received >= 2);
    ZMX_CHECK (stats.malformed == 0 && stats.out_of_sequence == 0);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

static void
s_shout_only_members (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_started ("alice", port);
    zmx_node_t *bob = s_node ("bob", port);
    ZMX_CHECK (zmx_node_join (bob, "weather") == ZMX_OK);      //  before start: in HELLO
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    zmx_node_t *carol = s_started ("carol", port);
    //  JOIN follows bob's ENTER at once (the groups of his HELLO)
    s_meet (alice, bob);
    zmsg_t *join = zmx_test_node_expect (alice, ZMX_NODE_JOIN, zmx_node_uuid (bob), S_WAIT);
    ZMX_CHECK (join && zmx_test_msg_is (join, 0, zmx_node_uuid (bob), "bob", "weather", NULL));
    zmsg_destroy (&join);
    s_meet (alice, carol);
    s_meet (bob, alice);
    s_meet (carol, alice);

    zlist_t *members = zmx_node_peers_by_group (alice, "weather");
    ZMX_CHECK (zlist_size (members) == 1 && s_list_has (members, zmx_node_uuid (bob)));
    zlist_destroy (&members);
    zlist_t *groups = zmx_node_peer_groups (alice);
    ZMX_CHECK (zlist_size (groups) == 1 && s_list_has (groups, "weather"));
    zlist_destroy (&groups);

    ZMX_CHECK (zmx_node_shout_str (alice, "weather", "rain") == ZMX_OK);
    //  Then a whisper to carol on the same connection: had the shout gone
    //  to her, it would come first
    ZMX_CHECK (zmx_node_whisper_str (alice, zmx_node_uuid (carol), "marker") == ZMX_OK);
    zmsg_t *shout = zmx_test_node_expect (bob, ZMX_NODE_SHOUT, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (shout && zmx_test_msg_is (shout, 0, zmx_node_uuid (alice), "alice", "weather",
                                         "rain", NULL));
    zmsg_destroy (&shout);
    zmsg_t *event = NULL;
    while (!event) {
        event = zmx_test_recv (zmx_node_socket (carol), S_WAIT);
        ZMX_CHECK (event);
        if (zframe_streq (zmsg_first (event), ZMX_NODE_ENTER)
        ||  zframe_streq (zmsg_first (event), ZMX_NODE_JOIN))
            zmsg_destroy (&event);
    }
    ZMX_CHECK (zmx_test_msg_is (event, 0, ZMX_NODE_WHISPER, zmx_node_uuid (alice), "alice",
                                "marker", NULL));
    zmsg_destroy (&event);

    //  A shout to a group nobody is in goes nowhere, and is fine
    ZMX_CHECK (zmx_node_shout_str (alice, "empty", "x") == ZMX_OK);
    ZMX_CHECK (zmx_node_shout_str (alice, "", "x") == ZMX_EINVAL);
    zmx_node_destroy (&carol);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

static void
s_join_leave_events (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_started ("alice", port);
    zmx_node_t *bob = s_started ("bob", port);
    s_meet (alice, bob);
    s_meet (bob, alice);
    ZMX_CHECK (zmx_node_join (alice, "g1") == ZMX_OK);
    ZMX_CHECK (zmx_node_join (alice, "g1") == ZMX_OK);         //  no-op
    ZMX_CHECK (zmx_node_join (alice, "g2") == ZMX_OK);
    zmsg_t *event = zmx_test_node_expect (bob, ZMX_NODE_JOIN, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, zmx_node_uuid (alice), "alice", "g1", NULL));
    zmsg_destroy (&event);
    event = zmx_test_node_expect (bob, ZMX_NODE_JOIN, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, zmx_node_uuid (alice), "alice", "g2", NULL));
    zmsg_destroy (&event);
    zlist_t *own = zmx_node_own_groups (alice);
    ZMX_CHECK (zlist_size (own) == 2 && s_list_has (own, "g1") && s_list_has (own, "g2"));
    zlist_destroy (&own);

    ZMX_CHECK (zmx_node_leave (alice, "g1") == ZMX_OK);
    ZMX_CHECK (zmx_node_leave (alice, "never") == ZMX_OK);     //  no-op
    event = zmx_test_node_expect (bob, ZMX_NODE_LEAVE, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, zmx_node_uuid (alice), "alice", "g1", NULL));
    zmsg_destroy (&event);
    zlist_t *members = zmx_node_peers_by_group (bob, "g1");
    ZMX_CHECK (zlist_size (members) == 0);
    zlist_destroy (&members);

    //  A clean stop: LEAVE for the groups still held, then EXIT, at once
    //  (the zero-port beacon), long before the expired timeout
    int64_t stopped_at = zclock_mono ();
    zmx_node_stop (alice);
    event = zmx_test_node_expect (bob, ZMX_NODE_LEAVE, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, zmx_node_uuid (alice), "alice", "g2", NULL));
    zmsg_destroy (&event);
    ZMX_CHECK (zmx_test_node_got (bob, ZMX_NODE_EXIT, zmx_node_uuid (alice), S_PROMPT));
    ZMX_CHECK (zclock_mono () - stopped_at < S_EXPIRED);
    //  ...and sends nothing more: no beacon brings it back
    ZMX_CHECK (s_none (bob, ZMX_NODE_ENTER, 5 * S_INTERVAL));
    zmx_node_stats_t before, after;
    zmx_node_stats (bob, &before);
    zclock_sleep (3 * S_INTERVAL);
    zmx_node_stats (bob, &after);
    ZMX_CHECK (after.beacons_received == before.beacons_received);
    ZMX_CHECK (zmx_node_join (alice, "g3") == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_EINVAL);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  A node in a child process, killed with SIGKILL: no zero-port beacon,
//  so the survivor must find out by itself.
static void
s_evasive_then_exit (void)
{
    //  Fork before either side touches ZeroMQ: a child must not inherit
    //  a context whose threads it does not have
    int port = zmx_test_free_udp_port ();
    int pipe_fds [2];
    ZMX_CHECK (pipe (pipe_fds) == 0);
    pid_t child = fork ();
    ZMX_CHECK (child >= 0);
    if (child == 0) {
        zmx_node_t *victim = s_started ("victim", port);
        ZMX_CHECK (write (pipe_fds [1], zmx_node_uuid (victim), ZMX_NODE_UUID_STR) > 0);
        pause ();
        _exit (0);
    }
    zmx_node_t *alice = s_started ("alice", port);
    char uuid [ZMX_NODE_UUID_STR + 1] = { 0 };
    ZMX_CHECK (read (pipe_fds [0], uuid, ZMX_NODE_UUID_STR) == ZMX_NODE_UUID_STR);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, uuid, S_WAIT));
    kill (child, SIGKILL);
    waitpid (child, NULL, 0);
    //  Both timeouts run from the last time alice heard the victim, which
    //  a loaded machine can put well before the kill: so the time between
    //  the two events is what is checked, with room for a late tick.
    zmsg_t *event = zmx_test_node_expect (alice, ZMX_NODE_EVASIVE, uuid, S_EVASIVE + S_MARGIN);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, uuid, "victim", NULL));
    zmsg_destroy (&event);
    int64_t evasive_at = zclock_mono ();
    event = zmx_test_node_expect (alice, ZMX_NODE_EXIT, uuid, S_EXPIRED - S_EVASIVE + S_MARGIN);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, uuid, "victim", NULL));
    zmsg_destroy (&event);
    ZMX_CHECK (zclock_mono () - evasive_at >= (S_EXPIRED - S_EVASIVE) / 2);
    zlist_t *peers = zmx_node_peers (alice);
    ZMX_CHECK (zlist_size (peers) == 0);
    zlist_destroy (&peers);
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.peers_evasive == 1 && stats.peers_exited == 1 && stats.pings_sent >= 1);
    close (pipe_fds [0]);
    close (pipe_fds [1]);
    zmx_node_destroy (&alice);
}

//  -------------------------------------------------------------------------
//  Raw traffic

static void
s_udp_send (int port, const void *data, size_t size)
{
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    inet_pton (AF_INET, "127.255.255.255", &address.sin_addr);
    ZMX_CHECK (sendto (fd, data, size, 0, (struct sockaddr *) &address, sizeof address)
               == (ssize_t) size);
    close (fd);
}

static void
s_malformed_beacons (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_started ("alice", port);
    byte beacon [ZMX_ZRE_BEACON_SIZE + 1];
    byte uuid [16];
    memset (uuid, 0x5A, sizeof uuid);
    zmx_zre_beacon_encode (uuid, 40000, beacon);
    s_udp_send (port, beacon, ZMX_ZRE_BEACON_SIZE - 1);        //  short
    beacon [ZMX_ZRE_BEACON_SIZE] = 0;
    s_udp_send (port, beacon, ZMX_ZRE_BEACON_SIZE + 1);        //  long
    beacon [3] = 2;
    s_udp_send (port, beacon, ZMX_ZRE_BEACON_SIZE);            //  version
    beacon [3] = 1;
    beacon [1] = 'X';
    s_udp_send (port, beacon, ZMX_ZRE_BEACON_SIZE);            //  header
    s_udp_send (port, "", 0);
    zmx_node_stats_t stats = { 0 };
    int64_t deadline = zclock_mono () + S_WAIT;
    while (stats.beacons_malformed < 5 && zclock_mono () < deadline) {
        zclock_sleep (20);
        zmx_node_stats (alice, &stats);
    }
    ZMX_CHECK (stats.beacons_malformed == 5);
    ZMX_CHECK (stats.beacons_received == 0);
    //  The node still works: a real peer comes in
    zmx_node_t *bob = s_started ("bob", port);
    s_meet (alice, bob);
    zlist_t *peers = zmx_node_peers (alice);
    ZMX_CHECK (zlist_size (peers) == 1);
    zlist_destroy (&peers);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  A hand-made peer: a DEALER with the ZRE identity of `uuid`, connected
//  to `endpoint`, and a ROUTER mailbox of its own.
typedef struct {
    byte uuid [16];
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    zsock_t *dealer;
    zsock_t *router;
    char *endpoint;
} s_raw_t;

static void
s_raw_open (s_raw_t *raw, const char *target)
{
    zuuid_t *uuid = zuuid_new ();
    memcpy (raw->uuid, zuuid_data (uuid), 16);
    snprintf (raw->uuid_str, sizeof raw->uuid_str, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    raw->router = zmx_test_router_new (NULL, &raw->endpoint);
    raw->dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (raw->dealer, 0);
    byte identity [17] = { 1 };
    memcpy (identity + 1, raw->uuid, 16);
    zmq_setsockopt (zsock_resolve (raw->dealer), ZMQ_ROUTING_ID, identity, 17);
    ZMX_CHECK (zsock_connect (raw->dealer, "%s", target) == 0);
}

static void
s_raw_close (s_raw_t *raw)
{
    zsock_destroy (&raw->dealer);
    zsock_destroy (&raw->router);
    zstr_free (&raw->endpoint);
}

//  Send one ZRE frame: signature, id, version 2, sequence, then `body`.
static void
s_raw_send (s_raw_t *raw, byte id, uint16_t sequence, const void *body, size_t size,
            const char *content)
{
    byte frame [512];
    frame [0] = 0xAA;
    frame [1] = 0xA1;
    frame [2] = id;
    frame [3] = 2;
    frame [4] = (byte) (sequence >> 8);
    frame [5] = (byte) sequence;
    if (size)
        memcpy (frame + 6, body, size);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, frame, 6 + size);
    if (content)
        zmsg_addstr (msg, content);
    ZMX_CHECK (zmsg_send (&msg, raw->dealer) == 0);
}

//  HELLO by hand: our endpoint, groups {"g"}, status 1, name "raw", no
//  headers.
static void
s_raw_hello (s_raw_t *raw)
{
    byte body [300];
    size_t size = 0;
    body [size++] = (byte) strlen (raw->endpoint);
    memcpy (body + size, raw->endpoint, strlen (raw->endpoint));
    size += strlen (raw->endpoint);
    const byte rest [] = { 0, 0, 0, 1, 0, 0, 0, 1, 'g', 1, 3, 'r', 'a', 'w', 0, 0, 0, 0 };
    memcpy (body + size, rest, sizeof rest);
    size += sizeof rest;
    s_raw_send (raw, ZMX_ZRE_HELLO, 1, body, size, NULL);
}

//  A raw peer that has said HELLO to `node` and been seen to ENTER.
static void
s_raw_entered (s_raw_t *raw, zmx_node_t *node)
{
    s_raw_open (raw, zmx_node_endpoint (node));
    s_raw_hello (raw);
    ZMX_CHECK (zmx_test_node_got (node, ZMX_NODE_ENTER, raw->uuid_str, S_WAIT));
}

//  What the node sent to the raw peer's ROUTER: check the identity is the
//  node's, then return the ZRE frames.
static zmsg_t *
s_raw_recv (s_raw_t *raw, zmx_node_t *node)
{
    zmsg_t *msg = zmx_test_recv (raw->router, S_WAIT);
    ZMX_CHECK (msg);
    zframe_t *identity = zmsg_pop (msg);
    zuuid_t *uuid = zuuid_new ();
    zuuid_set_str (uuid, zmx_node_uuid (node));
    ZMX_CHECK (zframe_size (identity) == 17 && zframe_data (identity) [0] == 1);
    ZMX_CHECK (memcmp (zframe_data (identity) + 1, zuuid_data (uuid), 16) == 0);
    zuuid_destroy (&uuid);
    zframe_destroy (&identity);
    return msg;
}

//  Check a frame's prefix: signature, id, version 2, sequence.
static bool
s_frame_is (zframe_t *frame, byte id, uint16_t sequence)
{
    const byte *data = zframe_data (frame);
    return zframe_size (frame) >= 6 && data [0] == 0xAA && data [1] == 0xA1 && data [2] == id
        && data [3] == 2 && data [4] == (byte) (sequence >> 8) && data [5] == (byte) sequence;
}

static void
s_raw_peer_wire (void)
{
    zmx_node_t *alice = s_node ("alice", 0);
    ZMX_CHECK (zmx_node_set_endpoint (alice, "tcp://127.0.0.1:*") == ZMX_OK);
    ZMX_CHECK (zmx_node_join (alice, "g") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    s_raw_t raw;
    s_raw_open (&raw, zmx_node_endpoint (alice));
    s_raw_hello (&raw);

    zmsg_t *event = zmx_test_node_expect (alice, ZMX_NODE_ENTER, raw.uuid_str, S_WAIT);
    ZMX_CHECK (event && zmsg_size (event) == 4);
    zmsg_destroy (&event);
    event = zmx_test_node_expect (alice, ZMX_NODE_JOIN, raw.uuid_str, S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, raw.uuid_str, "raw", "g", NULL));
    zmsg_destroy (&event);

    //  The node connected back and said HELLO, as the RFC lays it out
    zmsg_t *hello = s_raw_recv (&raw, alice);
    ZMX_CHECK (zmsg_size (hello) == 1 && s_frame_is (zmsg_first (hello), ZMX_ZRE_HELLO, 1));
    zframe_t *frame = zmsg_first (hello);
    const byte *data = zframe_data (frame);
    const char *endpoint = zmx_node_endpoint (alice);
    ZMX_CHECK (data [6] == strlen (endpoint) && memcmp (data + 7, endpoint, strlen (endpoint)) == 0);
    size_t at = 7 + strlen (endpoint);
    const byte groups [] = { 0, 0, 0, 1, 0, 0, 0, 1, 'g', 1, 5, 'a', 'l', 'i', 'c', 'e', 0, 0, 0, 0 };
    ZMX_CHECK (zframe_size (frame) == at + sizeof groups && memcmp (data + at, groups, sizeof groups) == 0);
    zmsg_destroy (&hello);

    //  WHISPER to the raw peer: sequence 2, content after the header
    ZMX_CHECK (zmx_node_whisper_str (alice, raw.uuid_str, "to raw") == ZMX_OK);
    zmsg_t *msg = s_raw_recv (&raw, alice);
    ZMX_CHECK (zmsg_size (msg) == 2 && s_frame_is (zmsg_first (msg), ZMX_ZRE_WHISPER, 2));
    ZMX_CHECK (zframe_size (zmsg_first (msg)) == 6 && zframe_streq (zmsg_last (msg), "to raw"));
    zmsg_destroy (&msg);

    //  SHOUT from the raw peer to a group alice is in, then PING
    const byte group [] = { 1, 'g' };
    s_raw_send (&raw, ZMX_ZRE_SHOUT, 2, group, sizeof group, "from raw");
    event = zmx_test_node_expect (alice, ZMX_NODE_SHOUT, raw.uuid_str, S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, raw.uuid_str, "raw", "g", "from raw", NULL));
    zmsg_destroy (&event);
    s_raw_send (&raw, ZMX_ZRE_PING, 3, NULL, 0, NULL);
    msg = s_raw_recv (&raw, alice);
    ZMX_CHECK (zmsg_size (msg) == 1 && s_frame_is (zmsg_first (msg), ZMX_ZRE_PING_OK, 3));
    ZMX_CHECK (zframe_size (zmsg_first (msg)) == 6);
    zmsg_destroy (&msg);

    //  LEAVE by hand, then silence: alice pings, then expires the peer
    const byte leave [] = { 1, 'g', 2 };
    s_raw_send (&raw, ZMX_ZRE_LEAVE, 4, leave, sizeof leave, NULL);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_LEAVE, raw.uuid_str, S_WAIT));
    msg = s_raw_recv (&raw, alice);
    ZMX_CHECK (msg && s_frame_is (zmsg_first (msg), ZMX_ZRE_PING, 4));
    zmsg_destroy (&msg);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_EXIT, raw.uuid_str, S_EXPIRED + S_MARGIN));
    s_raw_close (&raw);
    zmx_node_destroy (&alice);
}

//  A peer whose beacons arrive but whose mailbox never answers: SILENT,
//  and it is kept while the beacons go on.
static void
s_silent_peer (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_started ("alice", port);
    s_raw_t raw;
    s_raw_entered (&raw, alice);
    zmsg_t *event = NULL;
    byte beacon [ZMX_ZRE_BEACON_SIZE];
    const char *colon = strrchr (raw.endpoint, ':');
    zmx_zre_beacon_encode (raw.uuid, (uint16_t) atoi (colon + 1), beacon);
    int64_t deadline = zclock_mono () + S_WAIT;
    while (!event && zclock_mono () < deadline) {
        s_udp_send (port, beacon, sizeof beacon);
        event = zmx_test_node_expect (alice, ZMX_NODE_SILENT, raw.uuid_str, S_INTERVAL);
    }
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, raw.uuid_str, "raw", NULL));
    zmsg_destroy (&event);
    zlist_t *peers = zmx_node_peers (alice);
    ZMX_CHECK (zlist_size (peers) == 1);
    zlist_destroy (&peers);
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.peers_silent == 1 && stats.peers_evasive == 0 && stats.pings_sent >= 2);
    s_raw_close (&raw);
    zmx_node_destroy (&alice);
}

//  The node must drop the raw peer: EXIT.
static void
s_expect_dropped (zmx_node_t *node, s_raw_t *raw)
{
    ZMX_CHECK (zmx_test_node_got (node, ZMX_NODE_EXIT, raw->uuid_str, S_WAIT));
}

static void
s_malformed_zre (void)
{
    zmx_node_t *alice = s_node ("alice", 0);
    ZMX_CHECK (zmx_node_set_endpoint (alice, "tcp://127.0.0.1:*") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);

    //  1. Not ZRE at all: dropped silently, the peer stays
    s_raw_t raw;
    s_raw_entered (&raw, alice);
    zstr_send (raw.dealer, "GET / HTTP/1.0");
    //  2. A JOIN with a truncated group: malformed, the peer is dropped
    const byte bad_join [] = { 5, 'g' };
    s_raw_send (&raw, ZMX_ZRE_JOIN, 2, bad_join, sizeof bad_join, NULL);
    s_expect_dropped (alice, &raw);
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.malformed == 2 && stats.peers == 0);
    s_raw_close (&raw);

    //  3. A sequence gap: the peer is dropped
    s_raw_entered (&raw, alice);
    s_raw_send (&raw, ZMX_ZRE_PING, 5, NULL, 0, NULL);
    s_expect_dropped (alice, &raw);
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.out_of_sequence == 1);
    s_raw_close (&raw);

    //  4. Commands before HELLO are ignored; a HELLO not numbered 1 and a
    //  routing id that is not a ZRE node's are malformed
    s_raw_open (&raw, zmx_node_endpoint (alice));
    s_raw_send (&raw, ZMX_ZRE_PING, 1, NULL, 0, NULL);
    byte body [64];
    body [0] = 9;
    memcpy (body + 1, "tcp://x:1", 9);
    memset (body + 10, 0, 4);
    body [14] = 0;
    body [15] = 0;
    memset (body + 16, 0, 4);
    s_raw_send (&raw, ZMX_ZRE_HELLO, 2, body, 20, NULL);
    zsock_t *stranger = zsock_new (ZMQ_DEALER);
    zsock_set_linger (stranger, 0);
    zsock_set_identity (stranger, "not-a-node");
    ZMX_CHECK (zsock_connect (stranger, "%s", zmx_node_endpoint (alice)) == 0);
    zstr_send (stranger, "hi");
    int64_t deadline = zclock_mono () + S_WAIT;
    do {
        zclock_sleep (20);
        zmx_node_stats (alice, &stats);
    } while ((stats.before_hello < 1 || stats.malformed < 4) && zclock_mono () < deadline);
    ZMX_CHECK (stats.before_hello == 1 && stats.malformed == 4 && stats.peers == 0);
    ZMX_CHECK (s_none (alice, ZMX_NODE_ENTER, 200));
    zsock_destroy (&stranger);
    s_raw_close (&raw);
    zmx_node_destroy (&alice);
}

//  No UDP at all: bob knows alice's endpoint, alice learns bob's from
//  his HELLO.
static void
s_fixed_peers (void)
{
    zmx_node_t *alice = s_node ("alice", 0);
    char *endpoint = zmx_test_free_endpoint ();
    ZMX_CHECK (zmx_node_set_endpoint (alice, endpoint) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    ZMX_CHECK_STR (zmx_node_interface (alice), "");
    zmx_node_t *bob = s_node ("bob", 0);
    ZMX_CHECK (zmx_node_set_endpoint (bob, "tcp://127.0.0.1:*") == ZMX_OK);
    ZMX_CHECK (zmx_node_connect_peer (bob, zmx_node_endpoint (alice)) == ZMX_OK);
    ZMX_CHECK (zmx_node_connect_peer (bob, "not an endpoint") == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    s_meet (alice, bob);
    s_meet (bob, alice);
    ZMX_CHECK (zmx_node_whisper_str (alice, zmx_node_uuid (bob), "a->b") == ZMX_OK);
    ZMX_CHECK (zmx_node_whisper_str (bob, zmx_node_uuid (alice), "b->a") == ZMX_OK);
    zmsg_t *event = zmx_test_node_expect (bob, ZMX_NODE_WHISPER, zmx_node_uuid (alice), S_WAIT);
    ZMX_CHECK (event && zframe_streq (zmsg_last (event), "a->b"));
    zmsg_destroy (&event);
    event = zmx_test_node_expect (alice, ZMX_NODE_WHISPER, zmx_node_uuid (bob), S_WAIT);
    ZMX_CHECK (event && zframe_streq (zmsg_last (event), "b->a"));
    zmsg_destroy (&event);
    //  Pings keep quiet peers alive without beacons: no EVASIVE, no EXIT
    ZMX_CHECK (s_none (alice, ZMX_NODE_EXIT, 2 * S_EXPIRED));
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.peers_evasive == 0 && stats.pings_sent > 0);
    zmx_node_stats (bob, &stats);
    ZMX_CHECK (stats.peers_evasive == 0);
    zlist_t *peers = zmx_node_peers (bob);
    ZMX_CHECK (zlist_size (peers) == 1);
    zlist_destroy (&peers);

    //  Alice restarts as a new node on the same endpoint: bob's probe
    //  finds her again
    zmx_node_destroy (&alice);
    ZMX_CHECK (zmx_test_node_got (bob, ZMX_NODE_EXIT, NULL, S_WAIT));
    alice = s_node ("alice2", 0);
    ZMX_CHECK (zmx_node_set_endpoint (alice, endpoint) == ZMX_OK);
    //  The old listener closes in the background: retry the bind a while
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zmx_node_start (alice) != ZMX_OK && zclock_mono () < deadline)
        zclock_sleep (50);
    ZMX_CHECK_STR (zmx_node_endpoint (alice), endpoint);
    s_meet (bob, alice);
    zstr_free (&endpoint);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

static void
s_limits (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_node ("alice", port);
    ZMX_CHECK (zmx_node_set_max_peers (alice, 1) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    zmx_node_t *bob = s_started ("bob", port);
    zmx_node_t *carol = s_started ("carol", port);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, NULL, S_WAIT));
    zmx_node_stats_t stats = { 0 };
    int64_t deadline = zclock_mono () + S_WAIT;
    while (stats.peers_refused == 0 && zclock_mono () < deadline) {
        zclock_sleep (20);
        zmx_node_stats (alice, &stats);
    }
    ZMX_CHECK (stats.peers == 1 && stats.peers_refused > 0);
    zmx_node_destroy (&carol);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  Read `count` events named `event` from `peer` with content "N" for N
//  counting up from 0 (other events skipped); true if all came in order.
static bool
s_got_numbered (zmx_node_t *node, const char *event, const char *peer, int count)
{
    for (int index = 0; index < count; index++) {
        zmsg_t *msg = zmx_test_node_expect (node, event, peer, S_WAIT);
        zframe_t *last = msg? zmsg_last (msg): NULL;
        char expected [16];
        snprintf (expected, sizeof expected, "%d", index);
        bool match = last && zframe_streq (last, expected);
        zmsg_destroy (&msg);
        if (!match)
            return false;
    }
    return true;
}

//  Wait until `node` sees a member in `group`.
static void
s_wait_member (zmx_node_t *node, const char *group)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    size_t found = 0;
    while (!found && zclock_mono () < deadline) {
        zlist_t *members = zmx_node_peers_by_group (node, group);
        found = zlist_size (members);
        zlist_destroy (&members);
        if (!found)
            zclock_sleep (10);
    }
    ZMX_CHECK (found > 0);
}

//  Sends that do not wait for the actor arrive in order, mixed with the
//  waiting ones; their failures show only in the stats.
static void
s_nowait_send (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_started ("alice", port);
    zmx_node_t *bob = s_node ("bob", port);
    ZMX_CHECK (zmx_node_join (bob, "g") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    s_meet (alice, bob);
    s_meet (bob, alice);
    s_wait_member (alice, "g");

    //  More than the pipe holds (2 x 1000): the caller waits for room
    const int count = 3000;
    for (int index = 0; index < count; index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstrf (msg, "%d", index);
        ZMX_CHECK (zmx_node_shout_nowait (alice, "g", &msg) == ZMX_OK && !msg);
    }
    ZMX_CHECK (s_got_numbered (bob, ZMX_NODE_SHOUT, zmx_node_uuid (alice), count));
    for (int index = 0; index < 100; index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstrf (msg, "%d", index);
        //  Lowercase UUIDs work as for the waiting call
        char peer [ZMX_NODE_UUID_STR + 1];
        snprintf (peer, sizeof peer, "%s", zmx_node_uuid (bob));
        for (char *at = peer; *at; at++)
            *at = (char) tolower ((unsigned char) *at);
        ZMX_CHECK (zmx_node_whisper_nowait (alice, peer, &msg) == ZMX_OK);
    }
    ZMX_CHECK (zmx_node_whisper_str (alice, zmx_node_uuid (bob), "100") == ZMX_OK);
    ZMX_CHECK (s_got_numbered (bob, ZMX_NODE_WHISPER, zmx_node_uuid (alice), 101));

    //  Argument errors are found at once; an unknown peer only by the actor
    zmsg_t *msg = zmsg_new ();
    ZMX_CHECK (zmx_node_whisper_nowait (alice, "nobody", &msg) == ZMX_EINVAL && !msg);
    msg = zmsg_new ();
    ZMX_CHECK (zmx_node_shout_nowait (alice, "", &msg) == ZMX_EINVAL && !msg);
    msg = zmsg_new ();
    ZMX_CHECK (zmx_node_whisper_nowait (alice, "00000000000000000000000000000000", &msg)
               == ZMX_OK);
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);         //  Answered after the whisper above
    ZMX_CHECK (stats.nowait_unknown == 1);
    ZMX_CHECK (stats.messages_sent >= (uint64_t) count + 101);
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  A peer that stops reading: its queue fills, the send is counted as
//  dropped, the peer is disconnected, and later sends find no such peer.
static void
s_nowait_full_queue (void)
{
    zmx_node_t *alice = s_node ("alice", zmx_test_free_udp_port ());
    ZMX_CHECK (zmx_node_set_peer_hwm (alice, 5) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    s_raw_t raw;
    s_raw_entered (&raw, alice);
    //  Our HELLO came, so alice's DEALER is connected; close our mailbox
    zmsg_t *hello = s_raw_recv (&raw, alice);
    zmsg_destroy (&hello);
    zsock_destroy (&raw.router);
    zmx_node_stats_t stats = { 0 };
    int64_t deadline = zclock_mono () + S_WAIT;
    while ((stats.send_dropped == 0 || stats.nowait_unknown == 0) && zclock_mono () < deadline) {
        for (int index = 0; index < 20; index++) {
            zmsg_t *msg = zmsg_new ();
            zmsg_addstr (msg, "x");
            ZMX_CHECK (zmx_node_whisper_nowait (alice, raw.uuid_str, &msg) == ZMX_OK);
        }
        zmx_node_stats (alice, &stats);
        zclock_sleep (10);
    }
    ZMX_CHECK (stats.send_dropped > 0 && stats.nowait_unknown > 0);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_EXIT, raw.uuid_str, S_WAIT));
    s_raw_close (&raw);
    zmx_node_destroy (&alice);
}

//  Messages queued right before stop still reach their peers, and the
//  stop does not wait for the whole linger time once they are confirmed.
static void
s_linger_on_stop (void)
{
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_node ("alice", port);
    //  Generous: the machine may be busy; the stop ends at the PING-OK
    ZMX_CHECK (zmx_node_set_linger (alice, S_WAIT) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_peer_hwm (alice, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_linger (alice, 0) == ZMX_EINVAL);     //  started
    zmx_node_t *bob = s_node ("bob", port);
    ZMX_CHECK (zmx_node_join (bob, "g") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    s_meet (alice, bob);
    s_meet (bob, alice);
    s_wait_member (alice, "g");
    //  More than the actor pipe holds: the stop must not lose its $TERM
    const int count = 3000;
    for (int index = 0; index < count; index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstrf (msg, "%d", index);
        ZMX_CHECK (zmx_node_shout_nowait (alice, "g", &msg) == ZMX_OK);
    }
    zmx_node_stop (alice);
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.linger_expired == 0);
    ZMX_CHECK (s_got_numbered (bob, ZMX_NODE_SHOUT, zmx_node_uuid (alice), count));
    //  After the messages, the zero-port beacon: alice leaves at once
    ZMX_CHECK (zmx_test_node_got (bob, ZMX_NODE_EXIT, zmx_node_uuid (alice), S_WAIT));
    zmx_node_destroy (&alice);
    zmx_node_destroy (&bob);
}

static void
s_settings (void)
{
    ZMX_CHECK (zmx_node_new ("bad\nname") == NULL);
    zmx_node_t *node = zmx_node_new (NULL);
    ZMX_CHECK (node && strlen (zmx_node_name (node)) == 6);
    ZMX_CHECK (strncmp (zmx_node_name (node), zmx_node_uuid (node), 6) == 0);
    ZMX_CHECK (strlen (zmx_node_uuid (node)) == ZMX_NODE_UUID_STR);
    ZMX_CHECK_STR (zmx_node_endpoint (node), "");
    ZMX_CHECK (zmx_node_set_beacon_port (node, -1) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_beacon_port (node, 65536) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_beacon_interval (node, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_evasive_timeout (node, 5) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_max_peers (node, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_peer_hwm (node, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_max_message (node, 10) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_header (node, "", "x") == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_header (node, "k", "line\n") == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_endpoint (node, "nope") == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_join (node, "") == ZMX_EINVAL);
    zlist_t *peers = zmx_node_peers (node);
    ZMX_CHECK (peers && zlist_size (peers) == 0);
    zlist_destroy (&peers);
    ZMX_CHECK (zmx_node_whisper_str (node, zmx_node_uuid (node), "x") == ZMX_EINVAL);

    //  expired must exceed evasive
    ZMX_CHECK (zmx_node_set_evasive_timeout (node, 1000) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_expired_timeout (node, 1000) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (node) == ZMX_ECONFIG);
    //  an interface that does not exist
    ZMX_CHECK (zmx_node_set_expired_timeout (node, 3000) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_interface (node, "no-such-if0") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (node) == ZMX_EADDR);
    //  CURVE on one side only
    char *dir = zmx_test_tmpdir ();
    char *server = zsys_sprintf ("%s/server.cert", dir), *client = zsys_sprintf ("%s/client.cert", dir);
    zmx_security_t *security = zmx_test_curve_policy (server, client);
    ZMX_CHECK (zmx_node_set_interface (node, "lo") == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_port (node, zmx_test_free_udp_port ()) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_security (node, security) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (node) == ZMX_ESECURITY);
    ZMX_CHECK (zmx_node_set_curve_client (node, "/no/such/cert", server) == ZMX_ESECURITY);
    zmx_node_destroy (&node);

    //  From a config subtree, as zmxd reads it
    zconfig_t *config = zconfig_str_load (
        "zre\n"
        "    name = \"configured\"\n"
        "    interface = \"lo\"\n"
        "    port = 0\n"
        "    interval = 200\n"
        "    evasive = 300\n"
        "    expired = 900\n"
        "    endpoint = \"tcp://127.0.0.1:*\"\n"
        "    peers = \"tcp://127.0.0.1:1, tcp://127.0.0.1:2\"\n"
        "    groups = \"a,b\"\n"
        "    headers\n"
        "        X-ONE = \"1\"\n");
    ZMX_CHECK (config);
    node = zmx_node_new ("x");
    ZMX_CHECK (zmx_node_configure (node, zconfig_locate (config, "zre")) == ZMX_OK);
    ZMX_CHECK_STR (zmx_node_name (node), "configured");
    zlist_t *groups = zmx_node_own_groups (node);
    ZMX_CHECK (zlist_size (groups) == 2);
    zlist_destroy (&groups);
    ZMX_CHECK (zmx_node_start (node) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_interval (node, 100) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_configure (node, config) == ZMX_EINVAL);
    zmx_node_destroy (&node);
    zconfig_put (config, "zre/interval", "fast");
    node = zmx_node_new ("x");
    ZMX_CHECK (zmx_node_configure (node, zconfig_locate (config, "zre")) == ZMX_ECONFIG);
    zmx_node_destroy (&node);
    zconfig_destroy (&config);
    zmx_security_destroy (&security);
    zstr_free (&server);
    zstr_free (&client);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

static void
s_curve (void)
{
    char *dir = zmx_test_tmpdir ();
    char *server = zsys_sprintf ("%s/server.cert", dir), *client = zsys_sprintf ("%s/client.cert", dir);
    zmx_security_t *security = zmx_test_curve_policy (server, client);
    int port = zmx_test_free_udp_port ();
    zmx_node_t *nodes [2];
    for (int index = 0; index < 2; index++) {
        nodes [index] = s_node (index? "bob": "alice", port);
        ZMX_CHECK (zmx_node_set_security (nodes [index], security) == ZMX_OK);
        ZMX_CHECK (zmx_node_set_curve_client (nodes [index], client,
                                              zmx_security_public_key (security)) == ZMX_OK);
        ZMX_CHECK (zmx_node_start (nodes [index]) == ZMX_OK);
    }
    ZMX_CHECK (zmx_test_node_got (nodes [0], ZMX_NODE_ENTER, zmx_node_uuid (nodes [1]), S_WAIT));
    s_meet (nodes [1], nodes [0]);
    ZMX_CHECK (zmx_node_whisper_str (nodes [0], zmx_node_uuid (nodes [1]), "secret") == ZMX_OK);
    zmsg_t *event = zmx_test_node_expect (nodes [1], ZMX_NODE_WHISPER, zmx_node_uuid (nodes [0]), S_WAIT);
    ZMX_CHECK (event && zframe_streq (zmsg_last (event), "secret"));
    zmsg_destroy (&event);

    //  A plain DEALER speaking ZRE gets nowhere near the mailbox
    s_raw_t raw;
    s_raw_open (&raw, zmx_node_endpoint (nodes [0]));
    s_raw_hello (&raw);
    ZMX_CHECK (s_none (nodes [0], ZMX_NODE_ENTER, 500));
    s_raw_close (&raw);
    zmx_node_destroy (&nodes [1]);
    zmx_node_destroy (&nodes [0]);
    zmx_security_destroy (&security);
    zstr_free (&server);
    zstr_free (&client);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "discovery_and_whisper", s_discovery_and_whisper, 60 },
        { "shout_only_members", s_shout_only_members, 60 },
        { "join_leave_events", s_join_leave_events, 60 },
        { "evasive_then_exit", s_evasive_then_exit, 60 },
        { "malformed_beacons", s_malformed_beacons, 60 },
        { "raw_peer_wire", s_raw_peer_wire, 60 },
        { "malformed_zre", s_malformed_zre, 60 },
        { "silent_peer", s_silent_peer, 60 },
        { "fixed_peers", s_fixed_peers, 60 },
        { "limits", s_limits, 60 },
        { "nowait_send", s_nowait_send, 60 },
        { "nowait_full_queue", s_nowait_full_queue, 60 },
        { "linger_on_stop", s_linger_on_stop, 60 },
        { "settings", s_settings, 60 },
        { "curve", s_curve, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
