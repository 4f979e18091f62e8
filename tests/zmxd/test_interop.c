/*  =========================================================================
    test_interop - zmx against peers written from the RFC text alone.

    Every frame these peers send is built here from the RFCs (36/ZRE,
    12/CHP, 35/FILEMQ, 7/MDP, 18/MDP, 8/MMI, 9/TSP), never with zmx's
    codecs, and what zmx sends back is taken apart the same way: byte
    order, 1-byte strings, 4-byte long strings and counts, empty frames,
    sequence widths, status codes, error replies. More wire checks of the
    same kind sit with each subsystem's own tests (raw ZRE mailbox traffic
    in test_node, raw MDP in test_broker, raw CHP in test_clone).
    =========================================================================
*/
#include "testing.h"

#define S_WAIT      10000       //  Longest wait for any one thing, msec

//  -------------------------------------------------------------------------
//  Byte helpers, written from the RFC grammar

static size_t
s_put_string (byte *at, const char *text)
{
    size_t size = strlen (text);
    at [0] = (byte) size;
    memcpy (at + 1, text, size);
    return 1 + size;
}

static size_t
s_put_number4 (byte *at, uint32_t value)
{
    at [0] = (byte) (value >> 24);
    at [1] = (byte) (value >> 16);
    at [2] = (byte) (value >> 8);
    at [3] = (byte) value;
    return 4;
}

static size_t
s_put_longstr (byte *at, const char *text)
{
    size_t size = strlen (text);
    s_put_number4 (at, (uint32_t) size);
    memcpy (at + 4, text, size);
    return 4 + size;
}

//  -------------------------------------------------------------------------
//  36/ZRE: a peer found by its UDP beacon

//  "Z" "R" "E" %x01, the 16-octet UUID, the mailbox port in network order.
static void
s_beacon_send (int udp_port, const byte *uuid, uint16_t mailbox)
{
    byte beacon [22] = { 'Z', 'R', 'E', 0x01 };
    memcpy (beacon + 4, uuid, 16);
    beacon [20] = (byte) (mailbox >> 8);
    beacon [21] = (byte) mailbox;
    //  Broadcast on loopback, as a peer on the node's interface would
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) udp_port);
    inet_pton (AF_INET, "127.255.255.255", &address.sin_addr);
    ZMX_CHECK (sendto (fd, beacon, sizeof beacon, 0, (struct sockaddr *) &address,
                       sizeof address) == (ssize_t) sizeof beacon);
    close (fd);
}

//  A ZRE command frame: %xAA %xA1, id, version, 2-octet sequence, fields.
static void
s_zre_send (zsock_t *dealer, byte id, byte version, uint16_t sequence, const byte *fields,
            size_t size)
{
    byte frame [600] = { 0xAA, 0xA1, id, version, (byte) (sequence >> 8), (byte) sequence };
    ZMX_CHECK (6 + size <= sizeof frame);
    if (size)
        memcpy (frame + 6, fields, size);
    ZMX_CHECK (zsock_send (dealer, "b", frame, 6 + size) == 0);
}

//  The next message on the raw mailbox: checks the node's routing id is
//  %x01 followed by its binary UUID, returns the frames after it.
static zmsg_t *
s_mailbox_recv (zsock_t *router, const byte *node_uuid)
{
    zmsg_t *msg = zmx_test_recv (router, S_WAIT);
    ZMX_CHECK (msg && zmsg_size (msg) >= 2);
    zframe_t *identity = zmsg_pop (msg);
    ZMX_CHECK (zframe_size (identity) == 17 && zframe_data (identity) [0] == 1);
    ZMX_CHECK (memcmp (zframe_data (identity) + 1, node_uuid, 16) == 0);
    zframe_destroy (&identity);
    return msg;
}

static void
s_check_prefix (zframe_t *frame, byte id, uint16_t sequence)
{
    const byte *data = zframe_data (frame);
    ZMX_CHECK (zframe_size (frame) >= 6);
    ZMX_CHECK (data [0] == 0xAA && data [1] == 0xA1 && data [2] == id && data [3] == 2);
    ZMX_CHECK (data [4] == (byte) (sequence >> 8) && data [5] == (byte) sequence);
}

//  The node's HELLO: endpoint, groups ["g"], status 1, name "alice",
//  headers {"X-ROLE": "sensor"}; returns the endpoint.
static char *
s_check_node_hello (zframe_t *frame)
{
    s_check_prefix (frame, 1, 1);
    const byte *data = zframe_data (frame);
    size_t size = zframe_size (frame), at = 6;
    ZMX_CHECK (at + 1 + data [at] <= size);
    char *endpoint = zsys_sprintf ("%.*s", (int) data [at], data + at + 1);
    at += 1 + data [at];
    byte rest [64];
    size_t expected = s_put_number4 (rest, 1);
    expected += s_put_longstr (rest + expected, "g");
    rest [expected++] = 1;
    expected += s_put_string (rest + expected, "alice");
    expected += s_put_number4 (rest + expected, 1);
    expected += s_put_string (rest + expected, "X-ROLE");
    expected += s_put_longstr (rest + expected, "sensor");
    ZMX_CHECK (size == at + expected && memcmp (data + at, rest, expected) == 0);
    return endpoint;
}

//  Our HELLO: groups ["g", "h"], status 2, name "rfc", headers
//  {"X-A": "1", "X-B": ""}.
static size_t
s_peer_hello (byte *fields, const char *endpoint)
{
    size_t at = s_put_string (fields, endpoint);
    at += s_put_number4 (fields + at, 2);
    at += s_put_longstr (fields + at, "g");
    at += s_put_longstr (fields + at, "h");
    fields [at++] = 2;
    at += s_put_string (fields + at, "rfc");
    at += s_put_number4 (fields + at, 2);
    at += s_put_string (fields + at, "X-A");
    at += s_put_longstr (fields + at, "1");
    at += s_put_string (fields + at, "X-B");
    at += s_put_longstr (fields + at, "");
    return at;
}

//  After HELLO: PING and PING-OK, a message of another version, a
//  WHISPER, and the 16-bit sequence going round.
static void
s_zre_traffic (zmx_node_t *alice, zsock_t *dealer, zsock_t *mailbox, const byte *node_uuid,
               zuuid_t *uuid)
{
    //  PING (2) gets PING-OK, numbered in the node's own sequence (2)
    s_zre_send (dealer, 6, 2, 2, NULL, 0);
    zmsg_t *msg = s_mailbox_recv (mailbox, node_uuid);
    ZMX_CHECK (zmsg_size (msg) == 1 && zframe_size (zmsg_first (msg)) == 6);
    s_check_prefix (zmsg_first (msg), 7, 2);
    zmsg_destroy (&msg);
    //  A message of another ZRE version is discarded and the peer kept:
    //  the next PING, in sequence, is still answered
    s_zre_send (dealer, 6, 3, 3, NULL, 0);
    s_zre_send (dealer, 6, 2, 3, NULL, 0);
    msg = s_mailbox_recv (mailbox, node_uuid);
    s_check_prefix (zmsg_first (msg), 7, 3);
    zmsg_destroy (&msg);
    //  WHISPER with two content frames, one empty: frames kept as sent
    zsock_send (dealer, "bbs", (byte []) { 0xAA, 0xA1, 2, 2, 0, 4 }, (size_t) 6, "", (size_t) 0,
                "two");
    zmsg_t *event = zmx_test_node_expect (alice, ZMX_NODE_WHISPER, NULL, S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, zuuid_str (uuid), "rfc", "", "two", NULL));
    zmsg_destroy (&event);
    //  The sequence is 16 bits and cyclic: 65535 is followed by 0. JOINs
    //  of one group take us round (only the first is an event), then a
    //  PING after the wrap is still in sequence
    byte join [] = { 2, 'g', '2', 3 };
    for (uint32_t sequence = 5; sequence <= 65535 + 2; sequence++)
        s_zre_send (dealer, 4, 2, (uint16_t) sequence, join, sizeof join);
    s_zre_send (dealer, 6, 2, 2, NULL, 0);
    msg = s_mailbox_recv (mailbox, node_uuid);
    s_check_prefix (zmsg_first (msg), 7, 4);
    zmsg_destroy (&msg);
    event = zmx_test_node_expect (alice, ZMX_NODE_JOIN, NULL, S_WAIT);
    ZMX_CHECK (event && zmx_test_msg_is (event, 0, zuuid_str (uuid), "rfc", "g2", NULL));
    zmsg_destroy (&event);
}

static void
s_zre_beacon_peer (void)
{
    int udp_port = zmx_test_free_udp_port ();
    zmx_node_t *alice = zmx_node_new ("alice");
    ZMX_CHECK (alice);
    ZMX_CHECK (zmx_node_set_interface (alice, "lo") == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_port (alice, udp_port) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_interval (alice, 100) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_header (alice, "X-ROLE", "sensor") == ZMX_OK);
    ZMX_CHECK (zmx_node_join (alice, "g") == ZMX_OK);
    ZMX_CHECK (zmx_node_start (alice) == ZMX_OK);
    zuuid_t *node_uuid = zuuid_new ();
    zuuid_set_str (node_uuid, zmx_node_uuid (alice));

    //  Our mailbox (ROUTER on a TCP port) and our UUID, then a beacon
    char *mailbox_endpoint = NULL;
    zsock_t *mailbox = zmx_test_router_new (NULL, &mailbox_endpoint);
    int mailbox_port = atoi (strrchr (mailbox_endpoint, ':') + 1);
    zuuid_t *uuid = zuuid_new ();
    s_beacon_send (udp_port, zuuid_data (uuid), (uint16_t) mailbox_port);

    //  The node connects to the beacon's address and port and says HELLO
    zmsg_t *msg = s_mailbox_recv (mailbox, zuuid_data (node_uuid));
    ZMX_CHECK (zmsg_size (msg) == 1);
    char *node_endpoint = s_check_node_hello (zmsg_first (msg));
    ZMX_CHECK_STR (node_endpoint, zmx_node_endpoint (alice));
    zmsg_destroy (&msg);

    //  We connect back to the endpoint in its HELLO, with routing id
    //  %x01 + UUID, and say HELLO with sequence 1
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    byte identity [17] = { 1 };
    memcpy (identity + 1, zuuid_data (uuid), 16);
    zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID, identity, sizeof identity);
    ZMX_CHECK (zsock_connect (dealer, "%s", node_endpoint) == 0);
    //  A command before HELLO is ignored, not fatal
    s_zre_send (dealer, 6, 2, 1, NULL, 0);
    byte fields [512];
    size_t size = s_peer_hello (fields, mailbox_endpoint);
    s_zre_send (dealer, 1, 2, 1, fields, size);
    zmsg_t *event = zmx_test_node_expect (alice, ZMX_NODE_ENTER, zuuid_str (uuid), S_WAIT);
    ZMX_CHECK (event && zmsg_size (event) == 4);
    char *peer = zmsg_popstr (event), *name = zmsg_popstr (event);
    ZMX_CHECK_STR (peer, zuuid_str (uuid));
    ZMX_CHECK_STR (name, "rfc");
    zframe_t *packed = zmsg_pop (event);
    zhash_t *headers = zhash_unpack (packed);
    ZMX_CHECK (headers && zhash_size (headers) == 2);
    ZMX_CHECK_STR ((char *) zhash_lookup (headers, "X-A"), "1");
    ZMX_CHECK_STR ((char *) zhash_lookup (headers, "X-B"), "");
    zhash_destroy (&headers);
    zframe_destroy (&packed);
    zmsg_destroy (&event);
    for (int index = 0; index < 2; index++) {
        event = zmx_test_node_expect (alice, ZMX_NODE_JOIN, zuuid_str (uuid), S_WAIT);
        ZMX_CHECK (event && zmsg_size (event) == 3);
        zmsg_destroy (&event);
    }
    s_zre_traffic (alice, dealer, mailbox, zuuid_data (node_uuid), uuid);
    //  A beacon with port 0: the peer is leaving
    s_beacon_send (udp_port, zuuid_data (uuid), 0);
    event = zmx_test_node_expect (alice, ZMX_NODE_EXIT, zuuid_str (uuid), S_WAIT);
    ZMX_CHECK (event);
    zmsg_destroy (&event);
    zmx_node_stats_t stats;
    zmx_node_stats (alice, &stats);
    ZMX_CHECK (stats.out_of_sequence == 0 && stats.before_hello == 1);

    zstr_free (&peer);
    zstr_free (&name);
    zstr_free (&node_endpoint);
    zstr_free (&mailbox_endpoint);
    zsock_destroy (&dealer);
    zsock_destroy (&mailbox);
    zuuid_destroy (&uuid);
    zuuid_destroy (&node_uuid);
    zmx_node_destroy (&alice);
}

//  -------------------------------------------------------------------------
//  12/CHP: a client of plain sockets

typedef struct {
    zmx_service_t *service;
    char *snapshot, *publisher, *collector;
} s_chp_server_t;

static void
s_chp_server_start (s_chp_server_t *server)
{
    zconfig_t *root = zconfig_str_load ("clone\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    publisher-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    collector-endpoint = \"tcp://127.0.0.1:*\"\n"
                                        "    heartbeat-interval = 100\n");
    ZMX_CHECK (root);
    server->service = zmx_service_new ("clone", zmx_clone_server_actor,
                                       zconfig_locate (root, "clone"), NULL);
    ZMX_CHECK (server->service);
    zlist_t *endpoints = zmx_service_endpoints (server->service);
    ZMX_CHECK (zlist_size (endpoints) == 3);
    server->snapshot = strdup ((char *) zlist_first (endpoints));
    server->publisher = strdup ((char *) zlist_next (endpoints));
    server->collector = strdup ((char *) zlist_next (endpoints));
    zlist_destroy (&endpoints);
    zconfig_destroy (&root);
}

static void
s_chp_server_stop (s_chp_server_t *server)
{
    zmx_service_destroy (&server->service);
    zstr_free (&server->snapshot);
    zstr_free (&server->publisher);
    zstr_free (&server->collector);
}

static uint64_t
s_number8 (zframe_t *frame)
{
    ZMX_CHECK (zframe_size (frame) == 8);
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | zframe_data (frame) [index];
    return value;
}

//  KVSET: key, 8-octet sequence, uuid (0 or 16 octets), properties, value.
static void
s_kvset (zsock_t *pub, const char *key, uint64_t sequence, const byte *uuid,
         const char *properties, const char *value)
{
    byte number [8];
    for (int index = 0; index < 8; index++)
        number [index] = (byte) (sequence >> (8 * (7 - index)));
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, key);
    zmsg_addmem (msg, number, 8);
    zmsg_addmem (msg, uuid, uuid? 16: 0);
    zmsg_addstr (msg, properties);
    zmsg_addstr (msg, value);
    ZMX_CHECK (zmsg_send (&msg, pub) == 0);
}

//  The next KVPUB for `key` on the subscriber (HUGZ and others skipped,
//  each HUGZ checked), or NULL. Returns its five frames.
static zmsg_t *
s_kvpub (zsock_t *sub, const char *key, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zmsg_t *msg = zmx_test_recv (sub, (int) (deadline - zclock_mono ()) + 1);
        if (!msg)
            return NULL;
        ZMX_CHECK (zmsg_size (msg) == 5);
        zframe_t *first = zmsg_first (msg);
        if (zframe_streq (first, "HUGZ")) {
            s_number8 (zmsg_next (msg));
            ZMX_CHECK (zframe_size (zmsg_next (msg)) == 0);
            ZMX_CHECK (zframe_size (zmsg_next (msg)) == 0);
            ZMX_CHECK (zframe_size (zmsg_next (msg)) == 0);
        }
        else
        if (zframe_streq (first, key))
            return msg;
        zmsg_destroy (&msg);
    }
    return NULL;
}

//  Checks a KVPUB: sequence above *last (then stored), uuid, properties
//  and value as given (uuid NULL: the empty frame).
static void
s_check_kvpub (zmsg_t *msg, uint64_t *last, const byte *uuid, const char *properties,
               const char *value)
{
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    zframe_t *frame = zmsg_first (msg);
    uint64_t sequence = s_number8 (zmsg_next (msg));
    ZMX_CHECK (sequence > *last);
    *last = sequence;
    frame = zmsg_next (msg);
    ZMX_CHECK (uuid? zframe_size (frame) == 16 && memcmp (zframe_data (frame), uuid, 16) == 0
                   : zframe_size (frame) == 0);
    ZMX_CHECK (zframe_streq (zmsg_next (msg), properties));
    ZMX_CHECK (zframe_streq (zmsg_next (msg), value));
}

static void
s_chp_client (void)
{
    s_chp_server_t server;
    s_chp_server_start (&server);
    zsock_t *sub = zsock_new_sub (server.publisher, "");
    zsock_t *pub = zsock_new (ZMQ_PUB);
    ZMX_CHECK (sub && pub);
    zsock_set_linger (pub, 0);
    ZMX_CHECK (zsock_connect (pub, "%s", server.collector) == 0);

    //  PUB to SUB needs the server's subscription to arrive first: send a
    //  throwaway key until it comes back published
    uint64_t last = 0;
    zmsg_t *msg = NULL;
    for (int attempt = 0; attempt < 100 && !msg; attempt++) {
        s_kvset (pub, "/warm", 0, NULL, "", "w");
        msg = s_kvpub (sub, "/warm", 100);
    }
    ZMX_CHECK (msg);
    zmsg_destroy (&msg);
    while ((msg = s_kvpub (sub, "/warm", 200))) //  Retries that were applied too
        zmsg_destroy (&msg);
    uint64_t warm_sequence;
    zhash_t *map = zmx_test_clone_snapshot (server.snapshot, "", &warm_sequence, S_WAIT);
    ZMX_CHECK (zhash_size (map) == 1 && streq ((char *) zhash_lookup (map, "/warm"), "w"));
    zhash_destroy (&map);
    last = warm_sequence;

    //  Properties travel byte for byte; the client's sequence is ignored
    s_kvset (pub, "/s/a", 12345, NULL, "x=1\ny=two words\n", "A");
    msg = s_kvpub (sub, "/s/a", S_WAIT);
    s_check_kvpub (msg, &last, NULL, "x=1\ny=two words\n", "A");
    ZMX_CHECK (last == warm_sequence + 1);
    zmsg_destroy (&msg);
    //  A uuid comes back as sent; ttl=1 expires the key: KVPUB, empty value
    byte uuid [16];
    for (int index = 0; index < 16; index++)
        uuid [index] = (byte) (0xF0 + index);
    int64_t sent_at = zclock_mono ();
    s_kvset (pub, "/s/b", 0, uuid, "ttl=1\n", "B");
    msg = s_kvpub (sub, "/s/b", S_WAIT);
    s_check_kvpub (msg, &last, uuid, "ttl=1\n", "B");
    zmsg_destroy (&msg);
    msg = s_kvpub (sub, "/s/b", S_WAIT);
    s_check_kvpub (msg, &last, NULL, "", "");
    ZMX_CHECK (zclock_mono () - sent_at >= 950);
    zmsg_destroy (&msg);
    //  An empty value deletes; the delete is published with an empty value
    s_kvset (pub, "/t/c", 0, NULL, "", "C");
    s_kvset (pub, "/s/d", 0, NULL, "", "D");
    s_kvset (pub, "/s/a", 0, NULL, "", "");
    msg = s_kvpub (sub, "/s/a", S_WAIT);
    s_check_kvpub (msg, &last, NULL, "", "");
    zmsg_destroy (&msg);

    //  Snapshot of a subtree: only its keys, KTHXBAI with the subtree and
    //  the server's sequence at that point (the delete was the last update)
    uint64_t sequence;
    map = zmx_test_clone_snapshot (server.snapshot, "/s/", &sequence, S_WAIT);
    ZMX_CHECK (zhash_size (map) == 1 && streq ((char *) zhash_lookup (map, "/s/d"), "D"));
    ZMX_CHECK (sequence == last);
    zhash_destroy (&map);
    map = zmx_test_clone_snapshot (server.snapshot, "", &sequence, S_WAIT);
    ZMX_CHECK (zhash_size (map) == 3 && zhash_lookup (map, "/t/c") && zhash_lookup (map, "/warm"));
    zhash_destroy (&map);
    //  Properties whose last line lacks its newline: refused, not published
    s_kvset (pub, "/s/x", 0, NULL, "ttl=1", "X");
    s_kvset (pub, "/s/y", 0, NULL, "", "Y");
    msg = NULL;
    int64_t deadline = zclock_mono () + S_WAIT;
    while (!msg && zclock_mono () < deadline) {
        msg = zmx_test_recv (sub, S_WAIT);
        ZMX_CHECK (msg && !zframe_streq (zmsg_first (msg), "/s/x"));
        if (!zframe_streq (zmsg_first (msg), "/s/y"))
            zmsg_destroy (&msg);
    }
    ZMX_CHECK (msg);
    zmsg_destroy (&msg);
    ZMX_CHECK (zmx_service_counter (server.service, "malformed") == 1);

    zsock_destroy (&pub);
    zsock_destroy (&sub);
    s_chp_server_stop (&server);
}

//  -------------------------------------------------------------------------
//  35/FILEMQ: a client of plain sockets

static void
s_fmq_send (zsock_t *dealer, const byte *data, size_t size)
{
    ZMX_CHECK (zsock_send (dealer, "b", data, size) == 0);
}

//  The next message from the server that is not HUGZ (each HUGZ answered
//  with HUGZ-OK, as the RFC asks); NULL if none within the wait.
static zmsg_t *
s_fmq_recv (zsock_t *dealer, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zmsg_t *msg = zmx_test_recv (dealer, (int) (deadline - zclock_mono ()) + 1);
        if (!msg)
            return NULL;
        zframe_t *frame = zmsg_first (msg);
        ZMX_CHECK (zframe_size (frame) >= 3);
        ZMX_CHECK (zframe_data (frame) [0] == 0xAA && zframe_data (frame) [1] == 0xA3);
        if (zframe_size (frame) == 3 && zframe_data (frame) [2] == 9) {
            s_fmq_send (dealer, (byte []) { 0xAA, 0xA3, 10 }, 3);
            zmsg_destroy (&msg);
            continue;
        }
        return msg;
    }
    return NULL;
}

//  OHAI: signature, %d1, protocol "FILEMQ" as a string, version (2 octets)
static void
s_fmq_ohai (zsock_t *dealer, uint16_t version)
{
    byte ohai [] = { 0xAA, 0xA3, 1, 6, 'F', 'I', 'L', 'E', 'M', 'Q',
                     (byte) (version >> 8), (byte) version };
    s_fmq_send (dealer, ohai, sizeof ohai);
}

//  Expect RTFM (%d129) with a printable reason filling the frame.
static void
s_fmq_expect_rtfm (zsock_t *dealer)
{
    zmsg_t *msg = s_fmq_recv (dealer, S_WAIT);
    ZMX_CHECK (msg);
    zframe_t *frame = zmsg_first (msg);
    const byte *data = zframe_data (frame);
    ZMX_CHECK (zframe_size (frame) >= 4 && data [2] == 129);
    ZMX_CHECK (zframe_size (frame) == 4u + data [3]);
    zmsg_destroy (&msg);
}

static zsock_t *
s_fmq_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    ZMX_CHECK (zsock_connect (dealer, "%s", endpoint) == 0);
    return dealer;
}

static uint64_t
s_get8 (const byte *data)
{
    uint64_t value = 0;
    for (int index = 0; index < 8; index++)
        value = (value << 8) | data [index];
    return value;
}

//  One CHEEZBURGER, field by field: sequence, operation, filename,
//  offset, eof, headers dictionary, chunk (4-octet length). Checks that
//  the fields fill the frame exactly; returns the chunk as a string.
static char *
s_fmq_cheezburger (zframe_t *frame, uint64_t sequence, char **filename_p)
{
    const byte *data = zframe_data (frame);
    size_t size = zframe_size (frame), at = 3;
    ZMX_CHECK (size >= 3 + 8 + 1 + 1 && data [2] == 8);
    ZMX_CHECK (s_get8 (data + at) == sequence);
    at += 8;
    ZMX_CHECK (data [at++] == 1);                   //  Create
    size_t name_size = data [at++];
    ZMX_CHECK (at + name_size + 8 + 1 + 4 <= size);
    *filename_p = zsys_sprintf ("%.*s", (int) name_size, data + at);
    at += name_size;
    ZMX_CHECK (s_get8 (data + at) == 0);            //  Offset
    at += 8;
    ZMX_CHECK (data [at++] == 1);                   //  Whole file in one chunk
    uint32_t count = (uint32_t) data [at] << 24 | (uint32_t) data [at + 1] << 16
                   | (uint32_t) data [at + 2] << 8 | data [at + 3];
    at += 4;
    for (uint32_t index = 0; index < count; index++) {
        ZMX_CHECK (at + 1 <= size);
        at += 1 + data [at];                        //  Name: a string
        ZMX_CHECK (at + 4 <= size);
        uint32_t value = (uint32_t) data [at] << 24 | (uint32_t) data [at + 1] << 16
                       | (uint32_t) data [at + 2] << 8 | data [at + 3];
        ZMX_CHECK (at + 4 + value <= size);
        at += 4 + value;                            //  Value: a longstr
    }
    ZMX_CHECK (at + 4 <= size);
    uint32_t chunk = (uint32_t) data [at] << 24 | (uint32_t) data [at + 1] << 16
                   | (uint32_t) data [at + 2] << 8 | data [at + 3];
    at += 4;
    ZMX_CHECK (at + chunk == size);
    return zsys_sprintf ("%.*s", (int) chunk, data + at);
}

//  The next message is the bare command `id` (OHAI-OK, ICANHAZ-OK,
//  HUGZ-OK: signature and id, nothing else in the frame).
static void
s_fmq_expect (zsock_t *dealer, byte id)
{
    zmsg_t *msg = s_fmq_recv (dealer, S_WAIT);
    //  Exactly one frame: a client that asked for no extension gets none
    ZMX_CHECK (msg && zmsg_size (msg) == 1);
    ZMX_CHECK (zframe_size (zmsg_first (msg)) == 3 && zframe_data (zmsg_first (msg)) [2] == id);
    zmsg_destroy (&msg);
}

//  A new connection that said OHAI and got OHAI-OK.
static zsock_t *
s_fmq_opened (const char *endpoint)
{
    zsock_t *dealer = s_fmq_dealer (endpoint);
    s_fmq_ohai (dealer, 2);
    s_fmq_expect (dealer, 4);
    return dealer;
}

//  NOM: credit (1 MiB) and sequence (0), 8 octets each
static const byte s_nom [] = { 0xAA, 0xA3, 7, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 };

//  OHAI, ICANHAZ with RESYNC, NOM, one CHEEZBURGER, HUGZ, then RTFM for
//  a truncated NOM.
static void
s_fmq_transfer (const char *endpoint)
{
    //  Not FILEMQ: silently discarded (the OHAI-OK is the first reply)
    zsock_t *dealer = s_fmq_dealer (endpoint);
    zstr_send (dealer, "GET / HTTP/1.0");
    s_fmq_ohai (dealer, 2);
    s_fmq_expect (dealer, 4);
    //  ICANHAZ "/", options {RESYNC: "1"}, empty cache
    byte icanhaz [] = { 0xAA, 0xA3, 5, 1, '/',
                        0, 0, 0, 1, 6, 'R', 'E', 'S', 'Y', 'N', 'C', 0, 0, 0, 1, '1',
                        0, 0, 0, 0 };
    s_fmq_send (dealer, icanhaz, sizeof icanhaz);
    s_fmq_expect (dealer, 6);
    s_fmq_send (dealer, s_nom, sizeof s_nom);
    zmsg_t *msg = s_fmq_recv (dealer, S_WAIT);
    ZMX_CHECK (msg && zmsg_size (msg) == 1);
    char *filename = NULL;
    char *chunk = s_fmq_cheezburger (zmsg_first (msg), 0, &filename);
    ZMX_CHECK_STR (chunk, "hello world");
    ZMX_CHECK_STR (filename, "hello.txt");           //  Relative to the path
    zstr_free (&chunk);
    zstr_free (&filename);
    zmsg_destroy (&msg);
    s_fmq_send (dealer, (byte []) { 0xAA, 0xA3, 9 }, 3);
    s_fmq_expect (dealer, 10);
    //  A truncated NOM is an invalid command: RTFM
    s_fmq_send (dealer, s_nom, 10);
    s_fmq_expect_rtfm (dealer);
    zsock_destroy (&dealer);
}

//  RTFM before OHAI and for another version, silence after KTHXBAI,
//  SRSLY for a bad path.
static void
s_fmq_refusals (const char *endpoint)
{
    zsock_t *dealer = s_fmq_dealer (endpoint);
    s_fmq_send (dealer, s_nom, sizeof s_nom);
    s_fmq_expect_rtfm (dealer);
    zsock_destroy (&dealer);
    dealer = s_fmq_dealer (endpoint);
    s_fmq_ohai (dealer, 3);
    s_fmq_expect_rtfm (dealer);
    //  The client may try again with the version spoken; KTHXBAI is not
    //  answered
    s_fmq_ohai (dealer, 2);
    s_fmq_expect (dealer, 4);
    s_fmq_send (dealer, (byte []) { 0xAA, 0xA3, 11 }, 3);
    zmsg_t *msg;
    while ((msg = zmx_test_recv (dealer, 500))) {
        //  Only a heartbeat sent before the KTHXBAI arrived may still come
        ZMX_CHECK (zframe_size (zmsg_first (msg)) == 3 && zframe_data (zmsg_first (msg)) [2] == 9);
        zmsg_destroy (&msg);
    }
    zsock_destroy (&dealer);

    //  A path that does not start with "/": SRSLY, and the server then
    //  discards this client's commands (its HUGZ gets no HUGZ-OK)
    dealer = s_fmq_opened (endpoint);
    s_fmq_send (dealer, (byte []) { 0xAA, 0xA3, 5, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 0 }, 13);
    msg = s_fmq_recv (dealer, S_WAIT);
    ZMX_CHECK (msg && zframe_size (zmsg_first (msg)) >= 4 && zframe_data (zmsg_first (msg)) [2] == 128);
    ZMX_CHECK (zframe_size (zmsg_first (msg)) == 4u + zframe_data (zmsg_first (msg)) [3]);
    zmsg_destroy (&msg);
    s_fmq_send (dealer, (byte []) { 0xAA, 0xA3, 9 }, 3);
    ZMX_CHECK (s_fmq_recv (dealer, 500) == NULL);
    zsock_destroy (&dealer);
}

//  RESYNC with a cache naming the file (relative to the path, then as a
//  full path) by its SHA-1: the file is not sent. The NOM is handled
//  before the HUGZ, so HUGZ-OK comes first only if nothing was queued.
static void
s_fmq_cache (const char *endpoint)
{
    const char *names [] = { "hello.txt", "/hello.txt" };
    for (size_t index = 0; index < 2; index++) {
        zsock_t *dealer = s_fmq_opened (endpoint);
        byte icanhaz [128] = { 0xAA, 0xA3, 5, 1, '/',
                               0, 0, 0, 1, 6, 'R', 'E', 'S', 'Y', 'N', 'C', 0, 0, 0, 1, '1' };
        size_t size = 21;
        size += s_put_number4 (icanhaz + size, 1);
        size += s_put_string (icanhaz + size, names [index]);
        size += s_put_longstr (icanhaz + size, "2aae6c35c94fcfb415dbe95f408b9ce91ee846ed");
        s_fmq_send (dealer, icanhaz, size);
        s_fmq_expect (dealer, 6);
        s_fmq_send (dealer, s_nom, sizeof s_nom);
        s_fmq_send (dealer, (byte []) { 0xAA, 0xA3, 9 }, 3);
        s_fmq_expect (dealer, 10);
        zsock_destroy (&dealer);
    }
}

static void
s_fmq_client (void)
{
    char *directory = zmx_test_tmpdir ();
    char *path = zsys_sprintf ("%s/hello.txt", directory);
    ZMX_CHECK (zmx_test_write_file (path, "hello world") == 0);
    char *text = zsys_sprintf ("files\n    endpoint = \"tcp://127.0.0.1:*\"\n"
                               "    heartbeat-interval = 300\n    poll-interval = 100\n"
                               "    publish\n        directory = \"%s\"\n        path = \"/\"\n",
                               directory);
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    zmx_service_t *service = zmx_service_new ("files", zmx_files_actor,
                                              zconfig_locate (root, "files"), NULL);
    ZMX_CHECK (service);
    s_fmq_transfer (zmx_service_endpoint (service));
    s_fmq_refusals (zmx_service_endpoint (service));
    s_fmq_cache (zmx_service_endpoint (service));
    zmx_service_destroy (&service);
    zconfig_destroy (&root);
    zstr_free (&text);
    zmx_test_rmdir (directory);
    zstr_free (&directory);
    zstr_free (&path);
}

//  -------------------------------------------------------------------------
//  7/MDP, 18/MDP and 8/MMI: a worker and clients of plain sockets

//  The next message on the worker that is not a broker HEARTBEAT (each
//  checked: exactly "MDPW02", %x05); NULL if none within the wait.
static zmsg_t *
s_mdp_worker_recv (zsock_t *worker)
{
    int64_t deadline = zclock_mono () + S_WAIT;
    while (zclock_mono () < deadline) {
        zmsg_t *msg = zmx_test_recv (worker, (int) (deadline - zclock_mono ()) + 1);
        if (!msg)
            return NULL;
        ZMX_CHECK (zframe_streq (zmsg_first (msg), "MDPW02"));
        zframe_t *command = zmsg_next (msg);
        ZMX_CHECK (command && zframe_size (command) == 1);
        if (zframe_data (command) [0] != 0x05)
            return msg;
        ZMX_CHECK (zmsg_size (msg) == 2);
        zmsg_destroy (&msg);
    }
    return NULL;
}

//  MDP/0.1 over REQ: "MDPC01", service, body; the reply is "MDPC01",
//  service, then the body frames, which are returned.
static zmsg_t *
s_mdp01_call (zsock_t *req, const char *service, const char *body)
{
    ZMX_CHECK (zstr_sendx (req, "MDPC01", service, body, NULL) == 0);
    zmsg_t *reply = zmx_test_recv (req, S_WAIT);
    ZMX_CHECK (reply && zmsg_size (reply) >= 3);
    char *header = zmsg_popstr (reply), *from = zmsg_popstr (reply);
    ZMX_CHECK_STR (header, "MDPC01");
    ZMX_CHECK_STR (from, service);
    zstr_free (&header);
    zstr_free (&from);
    return reply;
}

static void
s_mdp_worker_client (void)
{
    zmx_service_t *broker = zmx_test_broker_new ("    heartbeat-interval = 100\n");
    const char *endpoint = zmx_service_endpoint (broker);
    //  An MDP/0.2 worker: READY is "MDPW02", %x01, service
    zsock_t *worker = zsock_new (ZMQ_DEALER);
    zsock_set_linger (worker, 0);
    ZMX_CHECK (zsock_connect (worker, "%s", endpoint) == 0);
    ZMX_CHECK (zstr_sendx (worker, "MDPW02", "\x01", "echo", NULL) == 0);
    //  The broker heartbeats it: proof that READY was taken
    zmsg_t *msg = zmx_test_recv (worker, S_WAIT);
    ZMX_CHECK (msg && zmsg_size (msg) == 2 && zframe_streq (zmsg_last (msg), "\x05"));
    zmsg_destroy (&msg);

    //  8/MMI: 200 for a service with a worker, 404 without, 501 unknown
    zsock_t *req = zsock_new (ZMQ_REQ);
    zsock_set_linger (req, 0);
    ZMX_CHECK (zsock_connect (req, "%s", endpoint) == 0);
    const char *mmi [][3] = { { "mmi.service", "echo", "200" }, { "mmi.service", "none", "404" },
                              { "mmi.nosuch", "x", "501" } };
    for (size_t index = 0; index < 3; index++) {
        msg = s_mdp01_call (req, mmi [index][0], mmi [index][1]);
        ZMX_CHECK (zmsg_size (msg) == 1 && zframe_streq (zmsg_first (msg), mmi [index][2]));
        zmsg_destroy (&msg);
    }

    //  An MDP/0.2 client on a DEALER: REQUEST is "MDPC02", %x01, service,
    //  body; the worker answers with a PARTIAL and a FINAL
    zsock_t *client = zsock_new (ZMQ_DEALER);
    zsock_set_linger (client, 0);
    ZMX_CHECK (zsock_connect (client, "%s", endpoint) == 0);
    ZMX_CHECK (zstr_sendx (client, "MDPC02", "\x01", "echo", "ping", NULL) == 0);
    msg = s_mdp_worker_recv (worker);
    //  REQUEST to the worker: "MDPW02", %x02, client address, empty, body
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    zframe_t *header = zmsg_pop (msg), *command = zmsg_pop (msg);
    ZMX_CHECK (zframe_size (command) == 1 && zframe_data (command) [0] == 0x02);
    zframe_t *address = zmsg_pop (msg), *empty = zmsg_pop (msg);
    ZMX_CHECK (zframe_size (address) > 0 && zframe_size (empty) == 0);
    ZMX_CHECK (zframe_streq (zmsg_first (msg), "ping"));
    zmsg_destroy (&msg);
    ZMX_CHECK (zsock_send (worker, "sbfzs", "MDPW02", (byte []) { 0x03 }, (size_t) 1, address,
                           "part") == 0);
    ZMX_CHECK (zsock_send (worker, "sbfzs", "MDPW02", (byte []) { 0x04 }, (size_t) 1, address,
                           "final") == 0);
    msg = zmx_test_recv (client, S_WAIT);
    ZMX_CHECK (msg && zmx_test_msg_is (msg, 0, "MDPC02", "\x02", "echo", "part", NULL));
    zmsg_destroy (&msg);
    msg = zmx_test_recv (client, S_WAIT);
    ZMX_CHECK (msg && zmx_test_msg_is (msg, 0, "MDPC02", "\x03", "echo", "final", NULL));
    zmsg_destroy (&msg);
    zframe_destroy (&header);
    zframe_destroy (&command);
    zframe_destroy (&address);
    zframe_destroy (&empty);

    //  A valid but unexpected command (a second READY): DISCONNECT
    ZMX_CHECK (zstr_sendx (worker, "MDPW02", "\x01", "echo", NULL) == 0);
    msg = s_mdp_worker_recv (worker);
    ZMX_CHECK (msg && zmsg_size (msg) == 2 && zframe_streq (zmsg_last (msg), "\x06"));
    zmsg_destroy (&msg);

    zsock_destroy (&client);
    zsock_destroy (&req);
    zsock_destroy (&worker);
    zmx_service_destroy (&broker);
}

//  -------------------------------------------------------------------------
//  9/TSP over 7/MDP: a client on REQ and a worker on DEALER, by hand

//  A TSP call on REQ ("MDPC01", service, frames...); returns the reply's
//  frames after "MDPC01" and the service, status first.
static zmsg_t *
s_tsp_call (zsock_t *req, const char *service, const char *frame1, const char *frame2)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, "MDPC01");
    zmsg_addstr (msg, service);
    zmsg_addstr (msg, frame1);
    if (frame2)
        zmsg_addstr (msg, frame2);
    ZMX_CHECK (zmsg_send (&msg, req) == 0);
    zmsg_t *reply = zmx_test_recv (req, S_WAIT);
    ZMX_CHECK (reply && zmsg_size (reply) >= 3);
    ZMX_CHECK (zframe_streq (zmsg_first (reply), "MDPC01"));
    ZMX_CHECK (zframe_streq (zmsg_next (reply), service));
    zframe_t *frame = zmsg_pop (reply);
    zframe_destroy (&frame);
    frame = zmsg_pop (reply);
    zframe_destroy (&frame);
    return reply;
}

//  The status frame alone: three digits, `status`, and nothing after.
static void
s_tsp_expect (zsock_t *req, const char *service, const char *uuid, const char *status)
{
    zmsg_t *reply = s_tsp_call (req, service, uuid, NULL);
    ZMX_CHECK (zmsg_size (reply) == 1 && zframe_streq (zmsg_first (reply), status));
    zmsg_destroy (&reply);
}

//  An MDP/0.1 worker for "upper" that serves one request with the body
//  "DONE", "". Returns its socket, for the caller to close.
static zsock_t *
s_tsp_worker_serve (const char *endpoint)
{
    //  An MDP/0.1 worker: "", "MDPW01", %x01, service
    zsock_t *worker = zsock_new (ZMQ_DEALER);
    zsock_set_linger (worker, 0);
    ZMX_CHECK (zsock_connect (worker, "%s", endpoint) == 0);
    ZMX_CHECK (zsock_send (worker, "zsbs", "MDPW01", (byte []) { 0x01 }, (size_t) 1, "upper") == 0);
    //  REQUEST: "", "MDPW01", %x02, client address, "", body (here "", "")
    zmsg_t *request = NULL;
    while (!request) {
        zmsg_t *msg = zmx_test_recv (worker, S_WAIT);
        ZMX_CHECK (msg && zmsg_size (msg) >= 3 && zframe_size (zmsg_first (msg)) == 0);
        ZMX_CHECK (zframe_streq (zmsg_next (msg), "MDPW01"));
        zframe_t *command = zmsg_next (msg);
        ZMX_CHECK (zframe_size (command) == 1);
        if (zframe_data (command) [0] == 0x02)
            request = msg;
        else {
            ZMX_CHECK (zframe_data (command) [0] == 0x04 && zmsg_size (msg) == 3);
            zmsg_destroy (&msg);
        }
    }
    ZMX_CHECK (zmsg_size (request) == 6);
    zframe_t *address = zmsg_next (request);
    ZMX_CHECK (zframe_size (zmsg_next (request)) == 0 && zframe_size (zmsg_next (request)) == 0);
    //  REPLY: "", "MDPW01", %x03, client address, "", body
    ZMX_CHECK (zsock_send (worker, "zsbfzss", "MDPW01", (byte []) { 0x03 }, (size_t) 1, address,
                           "DONE", "") == 0);
    zmsg_destroy (&request);
    return worker;
}

static void
s_tsp_client (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_service_t *broker = zmx_test_broker_new ("    heartbeat-interval = 100\n");
    const char *endpoint = zmx_service_endpoint (broker);
    zconfig_t *config = zmx_test_titanic_config (endpoint, dir);
    zmx_service_t *titanic = zmx_service_new ("titanic", zmx_titanic_actor, config, NULL);
    ZMX_CHECK (titanic);
    zsock_t *req = zsock_new (ZMQ_REQ);
    zsock_set_linger (req, 0);
    ZMX_CHECK (zsock_connect (req, "%s", endpoint) == 0);

    //  titanic.request: service, body (two frames, the second empty);
    //  answer "200" and a UUID of 32 hexadecimal characters
    zmsg_t *reply = s_tsp_call (req, "titanic.request", "upper", "");
    ZMX_CHECK (zmsg_size (reply) == 2 && zframe_streq (zmsg_first (reply), "200"));
    char *uuid = zframe_strdup (zmsg_last (reply));
    ZMX_CHECK (strlen (uuid) == 32 && strspn (uuid, "0123456789ABCDEFabcdef") == 32);
    zmsg_destroy (&reply);
    //  No worker for "upper" yet: 300, asking again changes nothing
    s_tsp_expect (req, "titanic.reply", uuid, "300");
    s_tsp_expect (req, "titanic.reply", uuid, "300");

    zsock_t *worker = s_tsp_worker_serve (endpoint);

    //  titanic.reply: 200 and the body, again and again until closed; the
    //  UUID may come in either case
    int64_t deadline = zclock_mono () + S_WAIT;
    bool done = false;
    while (!done && zclock_mono () < deadline) {
        reply = s_tsp_call (req, "titanic.reply", uuid, NULL);
        ZMX_CHECK (zframe_streq (zmsg_first (reply), "200")
                || zframe_streq (zmsg_first (reply), "300"));
        done = zframe_streq (zmsg_first (reply), "200");
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (done);
    for (int index = 0; index < 2; index++) {
        if (index == 1)
            for (char *at = uuid; *at; at++)
                *at = (char) tolower (*at);
        reply = s_tsp_call (req, "titanic.reply", uuid, NULL);
        ZMX_CHECK (zmx_test_msg_is (reply, 0, "200", "DONE", "", NULL));
        zmsg_destroy (&reply);
    }
    //  titanic.close: 200, also when said twice; then the UUID is unknown
    s_tsp_expect (req, "titanic.close", uuid, "200");
    s_tsp_expect (req, "titanic.close", uuid, "200");
    s_tsp_expect (req, "titanic.reply", uuid, "400");
    s_tsp_expect (req, "titanic.close", "0123456789abcdef0123456789ABCDEF", "200");

    zsock_destroy (&worker);
    zsock_destroy (&req);
    zstr_free (&uuid);
    zmx_service_destroy (&titanic);
    zmx_service_destroy (&broker);
    zconfig_destroy (&config);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "zre_beacon_peer", s_zre_beacon_peer, 60 },
        { "chp_client", s_chp_client, 60 },
        { "fmq_client", s_fmq_client, 60 },
        { "mdp_worker_client", s_mdp_worker_client, 60 },
        { "tsp_client", s_tsp_client, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
