/*  =========================================================================
    test_node_abuse - zmx_node against hostile or broken peers: floods of
    forged beacons, a peer joining more groups than a HELLO may hold, a
    node that dies and whose endpoint a new node takes, and a flood of
    malformed messages that must not flood the log. Nodes run on loopback
    in this process, each case on its own free UDP port; the peers are
    raw sockets speaking ZRE built with the codec.
    =========================================================================
*/
#include "testing.h"
#include <fcntl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#define S_INTERVAL  100
#define S_EVASIVE   500
#define S_EXPIRED   1500
#define S_WAIT      10000       //  Longest wait for any one event, msec

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

static zmx_node_stats_t
s_stats (zmx_node_t *node)
{
    zmx_node_stats_t stats;
    zmx_node_stats (node, &stats);
    return stats;
}

//  Wait until `node` has no peer pending (heard of, no HELLO); true if so
//  within timeout_ms.
static bool
s_wait_no_pending (zmx_node_t *node, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        if (s_stats (node).peers_pending == 0)
            return true;
        zclock_sleep (20);
    }
    return false;
}

//  -------------------------------------------------------------------------
//  Forged beacons

//  A UDP socket to send beacons from: from 127.0.0.1, or with `spread`
//  from a random address of 127/8, so that each beacon names its own
//  mailbox (tcp://127.a.b.c:1, where nobody listens).
static int
s_sender (bool spread, unsigned int *seed)
{
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    ZMX_CHECK (fd >= 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    if (spread) {
        struct sockaddr_in source = { 0 };
        source.sin_family = AF_INET;
        source.sin_addr.s_addr = htonl (0x7F000000u | (1 + rand_r (seed) % 0xFFFFFD));
        ZMX_CHECK (bind (fd, (struct sockaddr *) &source, sizeof source) == 0);
    }
    return fd;
}

//  Send `count` beacons with random UUIDs and mailbox port 1 to the
//  loopback broadcast address on `port`, sampling the node's pending
//  peers as it goes; returns the most seen at once. Without `spread`
//  all come from 127.0.0.1, as in the reported attack.
static uint64_t
s_beacon_flood (zmx_node_t *node, int port, int count, bool spread)
{
    unsigned int seed = (unsigned int) getpid ();
    int fd = s_sender (spread, &seed);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    inet_pton (AF_INET, "127.255.255.255", &address.sin_addr);
    uint64_t most = 0;
    for (int index = 0; index < count; index++) {
        if (spread) {
            close (fd);
            fd = s_sender (spread, &seed);
        }
        byte uuid [ZMX_ZRE_UUID_SIZE];
        for (size_t at = 0; at < sizeof uuid; at++)
            uuid [at] = (byte) rand_r (&seed);
        byte beacon [ZMX_ZRE_BEACON_SIZE];
        zmx_zre_beacon_encode (uuid, 1, beacon);
        ZMX_CHECK (sendto (fd, beacon, sizeof beacon, 0, (struct sockaddr *) &address,
                           sizeof address) == (ssize_t) sizeof beacon);
        if (index % 250 == 249) {
            //  Let the node read: a full socket buffer would only drop
            //  datagrams in the kernel, which tests nothing
            zclock_sleep (5);
            zmx_node_stats_t stats = s_stats (node);
            if (stats.peers_pending > most)
                most = stats.peers_pending;
        }
    }
    close (fd);
    return most;
}

//  The reported attack: 9000 beacons of random UUIDs, mailbox port 1,
//  from one address, with a context of 128 sockets. Before, each one
//  made a peer and a DEALER until zsock_new asserted. All name the same
//  mailbox, so each new one replaces the last (one node per endpoint).
static void
s_beacon_flood_one_address (void)
{
    zsys_set_max_sockets (128);
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_node ("alice", port);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    uint64_t most = s_beacon_flood (alice, port, 9000, false);
    zmx_node_stats_t stats = s_stats (alice);
    printf ("beacon flood from one address: %" PRIu64 " beacons received, %" PRIu64
            " throttled, %" PRIu64 " replaced, at most %" PRIu64 " peers pending\n",
            stats.beacons_received, stats.peers_throttled, stats.peers_replaced, most);
    ZMX_CHECK (most <= 1 && stats.sockets_failed == 0);
    ZMX_CHECK (s_wait_no_pending (alice, ZMX_NODE_HELLO_TIMEOUT + S_WAIT));
    zmx_node_t *bob = s_node ("bob", port);
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, zmx_node_uuid (bob), S_WAIT));
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  9000 forged beacons, each from its own address, with a context of 128
//  sockets: new peers are rate limited and expire without HELLO, the
//  node stays well inside its sockets, gives them back, and a real peer
//  still gets in.
static void
s_beacon_flood_rate_limited (void)
{
    zsys_set_max_sockets (128);
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_node ("alice", port);
    ZMX_CHECK (zmx_node_set_new_peers_rate (alice, 50) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_hello_timeout (alice, 1000) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    uint64_t most = s_beacon_flood (alice, port, 9000, true);
    zmx_node_stats_t stats = s_stats (alice);
    printf ("beacon flood: %" PRIu64 " beacons received, %" PRIu64 " throttled, at most %"
            PRIu64 " peers pending\n", stats.beacons_received, stats.peers_throttled, most);
    //  Bucket of 50 plus 50/s for the 1.1 s a pending peer lives at most
    //  (hello timeout plus one liveness tick): about 105
    ZMX_CHECK (most < 128);
    ZMX_CHECK (stats.peers_throttled > 0 && stats.sockets_failed == 0);
    //  Every forged peer goes within the hello timeout, with its socket
    ZMX_CHECK (s_wait_no_pending (alice, 1000 + S_WAIT));
    stats = s_stats (alice);
    ZMX_CHECK (stats.hello_timeouts > 0 && stats.peers == 0 && stats.peers_entered == 0);
    zmx_node_t *bob = s_node ("bob", port);
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, zmx_node_uuid (bob), S_WAIT));
    ZMX_CHECK (zmx_test_node_got (bob, ZMX_NODE_ENTER, zmx_node_uuid (alice), S_WAIT));
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  With the rate set far too high for a context of 64 sockets, DEALERs
//  cannot be made: the node counts that and carries on (no assert).
static void
s_beacon_flood_out_of_sockets (void)
{
    zsys_set_max_sockets (64);
    int port = zmx_test_free_udp_port ();
    zmx_node_t *alice = s_node ("alice", port);
    ZMX_CHECK (zmx_node_set_new_peers_rate (alice, 100000) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_hello_timeout (alice, 500) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    s_beacon_flood (alice, port, 2000, true);
    zmx_node_stats_t stats = s_stats (alice);
    printf ("out of sockets: %" PRIu64 " beacons received, %" PRIu64 " sockets failed\n",
            stats.beacons_received, stats.sockets_failed);
    ZMX_CHECK (stats.sockets_failed > 0);
    ZMX_CHECK (s_wait_no_pending (alice, 500 + S_WAIT));
    zmx_node_t *bob = s_node ("bob", port);
    ZMX_CHECK (zmx_node_start (bob) == ZMX_OK);
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, zmx_node_uuid (bob), S_WAIT));
    zmx_node_destroy (&bob);
    zmx_node_destroy (&alice);
}

//  -------------------------------------------------------------------------
//  Raw peers

//  A hand-made peer: a DEALER with the ZRE identity of `uuid` connected to
//  a node's mailbox, and a ROUTER of its own at `endpoint`.
typedef struct {
    byte uuid [ZMX_ZRE_UUID_SIZE];
    char uuid_str [ZMX_NODE_UUID_STR + 1];
    zsock_t *dealer;
    zsock_t *router;
    char *endpoint;
    uint16_t sequence;          //  Last one sent
} s_raw_t;

//  Open a raw peer talking to `target`; its ROUTER binds `endpoint`
//  (NULL: a free port).
static void
s_raw_open (s_raw_t *raw, const char *target, const char *endpoint)
{
    memset (raw, 0, sizeof *raw);
    zuuid_t *uuid = zuuid_new ();
    memcpy (raw->uuid, zuuid_data (uuid), ZMX_ZRE_UUID_SIZE);
    snprintf (raw->uuid_str, sizeof raw->uuid_str, "%s", zuuid_str (uuid));
    zuuid_destroy (&uuid);
    if (endpoint) {
        //  The last owner's listener closes in libzmq's I/O thread, a
        //  moment after its zsock_destroy
        raw->router = zsock_new (ZMQ_ROUTER);
        zsock_set_linger (raw->router, 0);
        int64_t deadline = zclock_mono () + S_WAIT;
        while (zsock_bind (raw->router, "%s", endpoint) < 0 && zclock_mono () < deadline)
            zclock_sleep (10);
        ZMX_CHECK (zsock_endpoint (raw->router));
        raw->endpoint = strdup (endpoint);
    }
    else
        raw->router = zmx_test_router_new (NULL, &raw->endpoint);
    raw->dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (raw->dealer, 0);
    byte identity [ZMX_ZRE_IDENTITY_SIZE] = { ZMX_ZRE_IDENTITY_PREFIX };
    memcpy (identity + 1, raw->uuid, ZMX_ZRE_UUID_SIZE);
    zmq_setsockopt (zsock_resolve (raw->dealer), ZMQ_ROUTING_ID, identity, sizeof identity);
    ZMX_CHECK (zsock_connect (raw->dealer, "%s", target) == 0);
}

//  Close without a word, as a killed process would.
static void
s_raw_close (s_raw_t *raw)
{
    zsock_destroy (&raw->dealer);
    zsock_destroy (&raw->router);
    zstr_free (&raw->endpoint);
}

//  Send `msg` (cleared) with the next sequence number.
static void
s_raw_send (s_raw_t *raw, zmx_zre_msg_t *msg)
{
    msg->sequence = ++raw->sequence;
    zmsg_t *wire = zmx_zre_encode (msg);
    ZMX_CHECK (wire);
    ZMX_CHECK (zmsg_send (&wire, raw->dealer) == 0);
    zmx_zre_clear (msg);
}

static void
s_raw_hello (s_raw_t *raw, const char *name)
{
    zmx_zre_msg_t msg;
    zmx_zre_init (&msg, ZMX_ZRE_HELLO);
    snprintf (msg.endpoint, sizeof msg.endpoint, "%s", raw->endpoint);
    snprintf (msg.name, sizeof msg.name, "%s", name);
    s_raw_send (raw, &msg);
}

//  Answer every PING the node sent to the raw peer's ROUTER for
//  `msec`; false if a message came out of sequence. Until the node's
//  HELLO comes (*last_p 0) other messages are ignored, as the RFC says:
//  they may be left from a connection to an earlier owner of our
//  endpoint.
static bool
s_raw_serve (s_raw_t *raw, int msec, uint16_t *last_p)
{
    bool in_order = true;
    int64_t deadline = zclock_mono () + msec;
    while (zclock_mono () < deadline) {
        zmsg_t *wire = zmx_test_recv (raw->router, (int) (deadline - zclock_mono ()) + 1);
        if (!wire)
            break;
        zframe_t *identity = zmsg_pop (wire);
        zframe_destroy (&identity);
        zmx_zre_msg_t msg;
        if (zmx_zre_decode (&wire, &msg, NULL) == 0
        &&  (*last_p > 0 || msg.id == ZMX_ZRE_HELLO)) {
            in_order &= msg.sequence == (uint16_t) (*last_p + 1);
            *last_p = msg.sequence;
            if (msg.id == ZMX_ZRE_PING) {
                zmx_zre_msg_t reply;
                zmx_zre_init (&reply, ZMX_ZRE_PING_OK);
                s_raw_send (raw, &reply);
            }
            zmx_zre_clear (&msg);
        }
        zmsg_destroy (&wire);
    }
    return in_order;
}

//  -------------------------------------------------------------------------
//  JOIN beyond the cap

//  A HELLO may list at most ZMX_ZRE_MAX_GROUPS groups; JOINs must not take
//  a peer past that. The JOINs over it are dropped and counted.
static void
s_join_cap (void)
{
    zmx_node_t *alice = s_node ("alice", 0);
    ZMX_CHECK (zmx_node_set_endpoint (alice, "tcp://127.0.0.1:*") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    s_raw_t raw;
    s_raw_open (&raw, zmx_node_endpoint (alice), NULL);
    s_raw_hello (&raw, "joiner");
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, raw.uuid_str, S_WAIT));
    int extra = 5;
    for (int index = 0; index < ZMX_ZRE_MAX_GROUPS + extra; index++) {
        zmx_zre_msg_t msg;
        zmx_zre_init (&msg, ZMX_ZRE_JOIN);
        snprintf (msg.group, sizeof msg.group, "group-%d", index);
        msg.status = (uint8_t) (index + 1);
        s_raw_send (&raw, &msg);
    }
    //  A PING behind the JOINs: its answer means all were handled
    zmx_zre_msg_t ping;
    zmx_zre_init (&ping, ZMX_ZRE_PING);
    s_raw_send (&raw, &ping);
    uint16_t last = 0;
    int64_t deadline = zclock_mono () + S_WAIT;
    zmx_node_stats_t stats = s_stats (alice);
    while (stats.groups_refused < (uint64_t) extra && zclock_mono () < deadline) {
        s_raw_serve (&raw, 50, &last);
        stats = s_stats (alice);
    }
    printf ("join cap: %" PRIu64 " JOINs refused\n", stats.groups_refused);
    ZMX_CHECK (stats.groups_refused == (uint64_t) extra);
    zlist_t *groups = zmx_node_peer_groups (alice);
    ZMX_CHECK (groups && zlist_size (groups) == ZMX_ZRE_MAX_GROUPS);
    zlist_destroy (&groups);
    zlist_t *members = zmx_node_peers_by_group (alice, "group-9999");
    ZMX_CHECK (members && zlist_size (members) == 1);
    zlist_destroy (&members);
    members = zmx_node_peers_by_group (alice, "group-10000");
    ZMX_CHECK (members && zlist_size (members) == 0);
    zlist_destroy (&members);
    //  The peer stays: dropping the JOIN is the whole penalty
    ZMX_CHECK (s_stats (alice).peers == 1);
    s_raw_close (&raw);
    zmx_node_destroy (&alice);
}

//  -------------------------------------------------------------------------
//  Endpoint reuse

//  Peer A dies without a word; peer B, another node, binds A's endpoint
//  and says HELLO. The node must drop A at once (not at expiry), take B,
//  and hold one connection to that endpoint, so that B sees one HELLO and
//  an unbroken sequence.
static void
s_endpoint_reuse (void)
{
    zmx_node_t *alice = s_node ("alice", 0);
    ZMX_CHECK (zmx_node_set_endpoint (alice, "tcp://127.0.0.1:*") == ZMX_OK);
    //  Long enough that an EXIT by expiry cannot pass for the fix
    ZMX_CHECK (zmx_node_set_expired_timeout (alice, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    //  A port below the ephemeral range: the DEALER reconnecting to a
    //  closed port inside it could connect to itself and hold it
    char *endpoint = zmx_test_free_endpoint ();
    s_raw_t first;
    s_raw_open (&first, zmx_node_endpoint (alice), endpoint);
    s_raw_hello (&first, "first");
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, first.uuid_str, S_WAIT));
    uint16_t last = 0;
    s_raw_serve (&first, 100, &last);
    char first_uuid [ZMX_NODE_UUID_STR + 1];
    snprintf (first_uuid, sizeof first_uuid, "%s", first.uuid_str);
    s_raw_close (&first);

    int64_t bound_at = zclock_mono ();
    s_raw_t second;
    s_raw_open (&second, zmx_node_endpoint (alice), endpoint);
    zactor_t *monitor = zactor_new (zmonitor, second.router);
    zstr_sendx (monitor, "LISTEN", "ACCEPTED", "DISCONNECTED", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    int64_t hello_at = zclock_mono ();
    printf ("bound again after %" PRId64 " ms\n", hello_at - bound_at);
    s_raw_hello (&second, "second");
    zmsg_t *event = zmx_test_node_expect (alice, ZMX_NODE_EXIT, first_uuid, 4000);
    ZMX_CHECK (event);
    zmsg_destroy (&event);
    int64_t exit_after = zclock_mono () - hello_at;
    ZMX_CHECK (zmx_test_node_got (alice, ZMX_NODE_ENTER, second.uuid_str, S_WAIT));
    //  Several PING rounds (every evasive / 2): all in order, answered,
    //  and no EXIT of the second node meanwhile
    last = 0;
    ZMX_CHECK (s_raw_serve (&second, 3 * S_EVASIVE, &last));
    ZMX_CHECK (last >= 2);
    zmx_node_stats_t stats = s_stats (alice);
    ZMX_CHECK (stats.peers == 1 && stats.peers_replaced == 1 && stats.peers_exited == 1);
    //  Connections open now: the node's DEALER to the first peer may have
    //  reconnected before the HELLO, but must be gone since
    int accepted = 0, open = 0;
    zsock_set_rcvtimeo (monitor, 100);
    char *name;
    while ((name = zstr_recv (monitor))) {
        accepted += streq (name, "ACCEPTED");
        open += streq (name, "ACCEPTED")? 1: -1;
        zstr_free (&name);
        zsock_flush (monitor);
    }
    printf ("endpoint reuse: EXIT %" PRId64 " ms after the new HELLO, %d connection(s) "
            "accepted, %d open\n", exit_after, accepted, open);
    ZMX_CHECK (open == 1);
    zactor_destroy (&monitor);
    s_raw_close (&second);
    zstr_free (&endpoint);
    zmx_node_destroy (&alice);
}

//  -------------------------------------------------------------------------
//  Warnings

//  1000 malformed messages: every one counted, but warnings rate limited
//  to one a second (the rest at debug level).
static void
s_warnings_rate_limited (void)
{
    char *dir = zmx_test_tmpdir ();
    char *path = zsys_sprintf ("%s/stderr", dir);
    fflush (stderr);
    int saved = dup (2);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ZMX_CHECK (saved >= 0 && fd >= 0 && dup2 (fd, 2) == 2);
    close (fd);
    zmx_log_set_level (ZMX_LOG_WARNING);

    zmx_node_t *alice = s_node ("alice", 0);
    ZMX_CHECK (zmx_node_set_endpoint (alice, "tcp://127.0.0.1:*") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    int64_t started = zclock_mono ();
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    byte identity [ZMX_ZRE_IDENTITY_SIZE] = { ZMX_ZRE_IDENTITY_PREFIX, 0x42 };
    zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID, identity, sizeof identity);
    ZMX_CHECK (zsock_connect (dealer, "%s", zmx_node_endpoint (alice)) == 0);
    const byte bad [] = { 0xAA, 0xA1, 99, 2, 0, 1 };      //  Unknown command
    for (int index = 0; index < 1000; index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, bad, sizeof bad);
        ZMX_CHECK (zmsg_send (&msg, dealer) == 0);
    }
    int64_t deadline = zclock_mono () + S_WAIT;
    while (s_stats (alice).malformed < 1000 && zclock_mono () < deadline)
        zclock_sleep (20);
    zmx_node_stats_t stats = s_stats (alice);
    int64_t elapsed = zclock_mono () - started;
    zsock_destroy (&dealer);
    zmx_node_destroy (&alice);

    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    char *log = zmx_test_read_file (path);
    int lines = 0;
    const char *warning = " W zre: alice: malformed ZRE message";
    for (const char *at = strstr (log, warning); at; at = strstr (at + 1, warning))
        lines++;
    printf ("1000 malformed messages in %" PRId64 " ms: %d warning lines\n", elapsed, lines);
    ZMX_CHECK (stats.malformed == 1000);
    ZMX_CHECK (lines >= 1 && lines <= 1 + elapsed / 1000 + 1);
    zstr_free (&log);
    zstr_free (&path);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

//  The new limits' setters and config keys, and their ranges.
static void
s_limit_settings (void)
{
    zmx_node_t *node = zmx_node_new ("limits");
    ZMX_CHECK (zmx_node_set_new_peers_rate (node, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_new_peers_rate (node, 100001) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_new_peers_rate (node, 1) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_hello_timeout (node, ZMX_NODE_TIME_MIN - 1) == ZMX_EINVAL);
    ZMX_CHECK (zmx_node_set_hello_timeout (node, ZMX_NODE_TIME_MIN) == ZMX_OK);
    zconfig_t *config = zconfig_str_load ("zre\n    new-peers-per-second = 20\n"
                                          "    hello-timeout = 700\n    max-peers = 50\n");
    ZMX_CHECK (config);
    ZMX_CHECK (zmx_node_configure (node, zconfig_locate (config, "zre")) == ZMX_OK);
    zconfig_destroy (&config);
    config = zconfig_str_load ("zre\n    new-peers-per-second = 0\n");
    ZMX_CHECK (zmx_node_configure (node, zconfig_locate (config, "zre")) == ZMX_ECONFIG);
    zconfig_destroy (&config);
    config = zconfig_str_load ("zre\n    hello-timeout = 1\n");
    ZMX_CHECK (zmx_node_configure (node, zconfig_locate (config, "zre")) == ZMX_ECONFIG);
    zconfig_destroy (&config);
    zmx_node_destroy (&node);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "beacon_flood_one_address", s_beacon_flood_one_address, 90 },
        { "beacon_flood_rate_limited", s_beacon_flood_rate_limited, 90 },
        { "beacon_flood_out_of_sockets", s_beacon_flood_out_of_sockets, 90 },
        { "join_cap", s_join_cap, 60 },
        { "endpoint_reuse", s_endpoint_reuse, 60 },
        { "warnings_rate_limited", s_warnings_rate_limited, 60 },
        { "limit_settings", s_limit_settings, 10 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
