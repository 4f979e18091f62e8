/*  =========================================================================
    test_credit - credit-based flow control: codec, accounting, streaming

    The accounting cases drive a zmx_credit_sender with a raw DEALER that
    grants credit by hand, so every byte on the wire can be counted. The
    streaming cases run 1, 10 and 50 zmx_credit_receiver actors against
    one sender in the test thread; a third of the receivers sleep at random
    between reads. The sender's counters must show that no receiver ever
    had more than its window in flight and that the backlogs stayed under
    their cap.
    =========================================================================
*/
#include "testing.h"

#define S_WINDOW    (128 * 1024)
#define S_SLICE     (32 * 1024)
#define S_FRAGMENT  (16 * 1024)
#define S_BACKLOG   (192 * 1024)
#define S_HEADER    12          //  8-byte index, then 4-byte checksum at the end

//  -------------------------------------------------------------------------
//  Helpers

static uint32_t
s_fnv (const byte *data, size_t size)
{
    uint32_t hash = 2166136261u;
    for (size_t index = 0; index < size; index++)
        hash = (hash ^ data [index]) * 16777619u;
    return hash;
}

//  A payload numbered `index`, `size` bytes (>= S_HEADER), checksummed.
static byte *
s_payload (uint64_t index, size_t size, unsigned int *seed)
{
    byte *data = (byte *) malloc (size);
    for (int shift = 0; shift < 8; shift++)
        data [shift] = (byte) (index >> (56 - 8 * shift));
    for (size_t at = 8; at < size - 4; at++)
        data [at] = (byte) rand_r (seed);
    uint32_t hash = s_fnv (data, size - 4);
    memcpy (data + size - 4, &hash, 4);
    return data;
}

//  True if the payload is intact and carries number `index`.
static bool
s_payload_ok (zframe_t *frame, uint64_t index)
{
    size_t size = zframe_size (frame);
    const byte *data = zframe_data (frame);
    if (size < S_HEADER)
        return false;
    uint64_t number = 0;
    for (int shift = 0; shift < 8; shift++)
        number = (number << 8) | data [shift];
    uint32_t hash;
    memcpy (&hash, data + size - 4, 4);
    return number == index && hash == s_fnv (data, size - 4);
}

//  Process the sender until it knows `count` peers, or fail.
static void
s_wait_peers (zmx_credit_sender_t *sender, uint64_t count, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zmx_credit_sender_stats_t stats;
    do {
        zmq_pollitem_t item = { zsock_resolve (zmx_credit_sender_socket (sender)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 10);
        zmx_credit_sender_process (sender);
        zmx_credit_sender_stats (sender, &stats);
    } while (stats.peers != count && zclock_mono () < deadline);
    ZMX_CHECK (stats.peers == count);
}

//  The one peer's name; caller frees.
static char *
s_only_peer (zmx_credit_sender_t *sender)
{
    zlist_t *peers = zmx_credit_sender_peers (sender);
    ZMX_CHECK (zlist_size (peers) == 1);
    char *name = strdup ((char *) zlist_first (peers));
    zlist_destroy (&peers);
    return name;
}

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    ZMX_CHECK (zsock_connect (dealer, "%s", endpoint) == 0);
    return dealer;
}

static void
s_command (zsock_t *dealer, int command, uint64_t value)
{
    zmsg_t *msg = zmx_credit_command (command, value);
    ZMX_CHECK (zmsg_send (&msg, dealer) == 0);
}

//  Send raw frames given as (data, size) pairs, NULL-terminated.
static void
s_send_raw (zsock_t *socket, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, socket);
    const void *data;
    while ((data = va_arg (args, const void *))) {
        size_t size = va_arg (args, size_t);
        zmsg_addmem (msg, data, size);
    }
    va_end (args);
    ZMX_CHECK (zmsg_send (&msg, socket) == 0);
}

//  -------------------------------------------------------------------------
//  Codec

static int
s_decode_msg (zmsg_t *msg, zmx_credit_side_t side, zmx_credit_view_t *view)
{
    zmx_credit_frame_t frames [80];
    size_t count = 0;
    for (zframe_t *frame = zmsg_first (msg); frame && count < 80; frame = zmsg_next (msg)) {
        frames [count].data = zframe_data (frame);
        frames [count].size = zframe_size (frame);
        count++;
    }
    return zmx_credit_decode (frames, count, side, view);
}

static void
s_codec_roundtrip (void)
{
    zmx_credit_view_t view;
    zmsg_t *msg = zmx_credit_command (ZMX_CREDIT_HELLO, 65536);
    ZMX_CHECK (s_decode_msg (msg, ZMX_CREDIT_AT_SENDER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CREDIT_HELLO && view.value == 65536);
    //  A receiver must never accept what only a sender may receive
    ZMX_CHECK (s_decode_msg (msg, ZMX_CREDIT_AT_RECEIVER, &view) == -1 && view.error);
    zmsg_destroy (&msg);
    msg = zmx_credit_command (ZMX_CREDIT_CREDIT, 1);
    ZMX_CHECK (s_decode_msg (msg, ZMX_CREDIT_AT_SENDER, &view) == 0 && view.value == 1);
    zmsg_destroy (&msg);
    msg = zmx_credit_command (ZMX_CREDIT_PING, 0);
    ZMX_CHECK (s_decode_msg (msg, ZMX_CREDIT_AT_SENDER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CREDIT_PING && zmsg_size (msg) == 2);
    zmsg_destroy (&msg);

    //  DATA: sequence 0x0102030405060708, two segments
    uint8_t command = ZMX_CREDIT_DATA;
    uint8_t sequence [8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
    uint8_t flags [2] = { ZMX_CREDIT_FIRST, ZMX_CREDIT_LAST };
    zmx_credit_frame_t frames [6] = {
        { ZMX_CREDIT_PROTOCOL, 6 }, { &command, 1 }, { sequence, 8 }, { flags, 2 },
        { "abc", 3 }, { "", 0 }
    };
    ZMX_CHECK (zmx_credit_decode (frames, 6, ZMX_CREDIT_AT_RECEIVER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CREDIT_DATA && view.value == 0x0102030405060708ULL);
    ZMX_CHECK (view.segments == 2 && view.segment == 4 && view.flags [1] == ZMX_CREDIT_LAST);
    ZMX_CHECK (zmx_credit_decode (frames, 6, ZMX_CREDIT_AT_SENDER, &view) == -1);
}

static void
s_codec_rejects (void)
{
    zmx_credit_view_t view;
    uint8_t hello = ZMX_CREDIT_HELLO, data = ZMX_CREDIT_DATA, bogus = 0x7f;
    uint8_t small [8] = { 0, 0, 0, 0, 0, 0, 0x0f, 0xff };       //  4095 < minimum
    uint8_t zero [8] = { 0 };
    uint8_t huge [8] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint8_t bad_flags [1] = { 0x04 };
    uint8_t two_flags [2] = { ZMX_CREDIT_FIRST, ZMX_CREDIT_LAST };
    zmx_credit_frame_t cases [][5] = {
        { { "ZMXCR2", 6 }, { &hello, 1 }, { zero, 8 } },            //  wrong protocol
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &bogus, 1 } },              //  unknown command
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &hello, 2 }, { zero, 8 } }, //  long command frame
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &hello, 1 }, { zero, 7 } }, //  short value
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &hello, 1 }, { small, 8 } },//  window too small
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &hello, 1 }, { huge, 8 } }, //  window too large
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &hello, 1 } },              //  no value
    };
    size_t counts [] = { 3, 2, 3, 3, 3, 3, 2 };
    for (size_t index = 0; index < ZMX_TEST_COUNT (counts); index++) {
        ZMX_CHECK (zmx_credit_decode (cases [index], counts [index],
                                      ZMX_CREDIT_AT_SENDER, &view) == -1);
        ZMX_CHECK (view.command == 0 && view.error);
    }
    zmx_credit_frame_t bad [][6] = {
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &data, 1 }, { zero, 8 }, { bad_flags, 1 }, { "x", 1 } },
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &data, 1 }, { zero, 8 }, { two_flags, 2 }, { "x", 1 } },
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &data, 1 }, { zero, 4 }, { two_flags, 1 }, { "x", 1 } },
        { { ZMX_CREDIT_PROTOCOL, 6 }, { &data, 1 }, { zero, 8 }, { two_flags, 0 } },
    };
    size_t bad_counts [] = { 5, 5, 5, 4 };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad_counts); index++)
        ZMX_CHECK (zmx_credit_decode (bad [index], bad_counts [index],
                                      ZMX_CREDIT_AT_RECEIVER, &view) == -1);
    ZMX_CHECK (zmx_credit_decode (NULL, 0, ZMX_CREDIT_AT_SENDER, &view) == -1);
}

//  -------------------------------------------------------------------------
//  Accounting with a hand-driven receiver

//  Read DATA messages from the dealer until none comes for 200 msec; add
//  their credit cost to *cost_p and their bytes to `buffer` at *size_p.
static void
s_drain_data (zsock_t *dealer, uint64_t *cost_p, byte *buffer, size_t *size_p)
{
    zmsg_t *msg;
    while ((msg = zmx_test_recv (dealer, 200))) {
        zmx_credit_view_t view;
        ZMX_CHECK (s_decode_msg (msg, ZMX_CREDIT_AT_RECEIVER, &view) == 0);
        zframe_t *frame = zmsg_first (msg);
        for (size_t index = 0; index < view.segment; index++)
            frame = zmsg_next (msg);
        for (; frame; frame = zmsg_next (msg)) {
            memcpy (buffer + *size_p, zframe_data (frame), zframe_size (frame));
            *size_p += zframe_size (frame);
            *cost_p += zframe_size (frame) + ZMX_CREDIT_SEGMENT_COST;
        }
        zmsg_destroy (&msg);
    }
}

static void
s_sender_accounting (void)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    ZMX_CHECK (zmx_credit_sender_set_backlog (sender, 30000) == ZMX_OK);
    ZMX_CHECK (zmx_credit_sender_set_fragment (sender, 10) == ZMX_EINVAL);
    ZMX_CHECK (zmx_credit_sender_send (sender, "00", "x", 1) == ZMX_EDISCONNECTED);
    zsock_t *dealer = s_dealer (zmx_credit_sender_endpoint (sender));
    s_command (dealer, ZMX_CREDIT_HELLO, 8192);
    s_wait_peers (sender, 1, 2000);
    char *peer = s_only_peer (sender);

    unsigned int seed = 1;
    byte *payload = s_payload (0, 20000, &seed);
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, payload, 20000) == ZMX_OK);
    zmx_credit_peer_stats_t stats;
    ZMX_CHECK (zmx_credit_sender_peer_stats (sender, peer, &stats) == ZMX_OK);
    ZMX_CHECK (stats.window == 8192 && stats.in_flight + stats.credit == 8192);
    ZMX_CHECK (stats.bytes_sent > 0 && stats.bytes_sent + stats.bytes_queued == 20000);
    //  The backlog is capped: 20000 more would pass 30000, and one payload
    //  larger than the cap can never fit
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, payload, 20000) == ZMX_EAGAIN);
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, payload, 30001) == ZMX_EINVAL);

    byte *received = (byte *) malloc (20000);
    size_t size = 0;
    uint64_t cost = 0, granted = 8192;
    while (size < 20000) {
        uint64_t before = cost;
        s_drain_data (dealer, &cost, received, &size);
        ZMX_CHECK (cost > before);
        ZMX_CHECK (cost <= granted);    //  never more on the wire than granted
        s_command (dealer, ZMX_CREDIT_CREDIT, cost - (granted - 8192));
        granted = cost + 8192;
        zmx_credit_sender_stats_t totals;
        int64_t deadline = zclock_mono () + 2000;
        do {
            zclock_sleep (5);
            zmx_credit_sender_process (sender);
            zmx_credit_sender_stats (sender, &totals);
        } while (totals.credit_granted != granted && zclock_mono () < deadline);
        ZMX_CHECK (totals.credit_granted == granted);
    }
    ZMX_CHECK (size == 20000 && memcmp (received, payload, 20000) == 0);
    ZMX_CHECK (zmx_credit_sender_peer_stats (sender, peer, &stats) == ZMX_OK);
    ZMX_CHECK (stats.bytes_queued == 0 && stats.max_in_flight <= 8192);

    //  A grant beyond the window is refused and counted
    zmx_credit_sender_stats_t totals;
    s_command (dealer, ZMX_CREDIT_CREDIT, 8192);
    int64_t deadline = zclock_mono () + 2000;
    do {
        zclock_sleep (5);
        zmx_credit_sender_process (sender);
        zmx_credit_sender_stats (sender, &totals);
    } while (totals.malformed == 0 && zclock_mono () < deadline);
    ZMX_CHECK (totals.malformed == 1 && totals.bytes_sent == 20000);
    ZMX_CHECK (totals.max_in_flight_observed <= 8192 && totals.max_queued_observed <= 30000);
    ZMX_CHECK (zmx_credit_sender_peer_stats (sender, peer, &stats) == ZMX_OK);
    ZMX_CHECK (stats.credit <= 8192);

    free (received);
    free (payload);
    free (peer);
    zsock_destroy (&dealer);
    zmx_credit_sender_destroy (&sender);
    ZMX_CHECK (sender == NULL);
}

//  Tiny and empty payloads are batched into one message and still cost
//  credit, so a flood of them cannot grow the queues without bound.
static void
s_sender_batches_small (void)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    zsock_t *dealer = s_dealer (zmx_credit_sender_endpoint (sender));
    s_command (dealer, ZMX_CREDIT_HELLO, 4096);
    s_wait_peers (sender, 1, 2000);
    char *peer = s_only_peer (sender);
    //  Each empty payload costs ZMX_CREDIT_SEGMENT_COST: 4096 / 32 = 128
    for (int index = 0; index < 200; index++)
        ZMX_CHECK (zmx_credit_sender_send (sender, peer, "", 0) == ZMX_OK);
    zmx_credit_peer_stats_t stats;
    ZMX_CHECK (zmx_credit_sender_peer_stats (sender, peer, &stats) == ZMX_OK);
    ZMX_CHECK (stats.credit == 4096 && stats.payloads == 200);
    zmx_credit_sender_process (sender);
    ZMX_CHECK (zmx_credit_sender_peer_stats (sender, peer, &stats) == ZMX_OK);
    ZMX_CHECK (stats.credit == 0 && stats.in_flight == 4096);
    size_t segments = 0, messages = 0;
    zmsg_t *msg;
    while ((msg = zmx_test_recv (dealer, 200))) {
        zmx_credit_view_t view;
        ZMX_CHECK (s_decode_msg (msg, ZMX_CREDIT_AT_RECEIVER, &view) == 0);
        ZMX_CHECK (view.value == segments);     //  sequence runs on
        for (size_t index = 0; index < view.segments; index++)
            ZMX_CHECK (view.flags [index] == (ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST));
        segments += view.segments;
        messages++;
        zmsg_destroy (&msg);
    }
    ZMX_CHECK (segments == 4096 / ZMX_CREDIT_SEGMENT_COST);
    //  Without batching this would be one message per payload
    ZMX_CHECK (messages == segments / ZMX_CREDIT_MAX_BATCH);
    free (peer);
    zsock_destroy (&dealer);
    zmx_credit_sender_destroy (&sender);
}

//  -------------------------------------------------------------------------
//  Peer lifetime

static void
s_dead_receiver_expires (void)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    ZMX_CHECK (zmx_credit_sender_set_expiry (sender, 300) == ZMX_OK);
    zsock_t *dealer = s_dealer (zmx_credit_sender_endpoint (sender));
    s_command (dealer, ZMX_CREDIT_HELLO, 4096);
    s_wait_peers (sender, 1, 2000);
    char *peer = s_only_peer (sender);
    static byte data [50000];
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, data, sizeof (data)) == ZMX_OK);
    zmx_credit_sender_stats_t stats;
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.bytes_queued > 40000);
    //  The receiver vanishes without BYE: its state and backlog go after
    //  the expiry (or earlier, when a send finds it unreachable)
    zsock_destroy (&dealer);
    int64_t started = zclock_mono ();
    s_wait_peers (sender, 0, 3000);
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.peers_expired == 1 && stats.bytes_queued == 0 && stats.in_flight == 0);
    ZMX_CHECK (zclock_mono () - started < 2000);
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, "x", 1) == ZMX_EDISCONNECTED);
    free (peer);
    zmx_credit_sender_destroy (&sender);
}

//  A live receiver that has nothing to read keeps its state by PINGs, and
//  its BYE frees the state at once.
static void
s_live_receiver_stays (void)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    ZMX_CHECK (zmx_credit_sender_set_expiry (sender, 600) == ZMX_OK);
    zmx_credit_receiver_t *receiver =
        zmx_credit_receiver_new (zmx_credit_sender_endpoint (sender), 8192, 4096);
    ZMX_CHECK (receiver);
    ZMX_CHECK (zmx_credit_receiver_set_heartbeat (receiver, 50) == ZMX_OK);
    s_wait_peers (sender, 1, 2000);
    int64_t until = zclock_mono () + 1500;
    while (zclock_mono () < until) {
        ZMX_CHECK (zmx_credit_receiver_recv (receiver, 20) == NULL);
        zmx_credit_sender_process (sender);
    }
    zmx_credit_sender_stats_t stats;
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.peers == 1 && stats.peers_expired == 0);
    zmx_credit_receiver_destroy (&receiver);
    ZMX_CHECK (receiver == NULL);
    s_wait_peers (sender, 0, 500);      //  well before the expiry
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.peers_expired == 0);
    zmx_credit_sender_destroy (&sender);
}

//  A sender behind CURVE serves a CURVE receiver and never hears from a
//  plain one.
static void
s_curve_sender (void)
{
    char *dir = zmx_test_tmpdir ();
    char *server_cert = zsys_sprintf ("%s/server.cert", dir);
    char *client_cert = zsys_sprintf ("%s/client.cert", dir);
    zmx_security_t *security = zmx_test_curve_policy (server_cert, client_cert);
    zmx_credit_sender_t *sender = zmx_credit_sender_new (security, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    const char *endpoint = zmx_credit_sender_endpoint (sender);
    ZMX_CHECK (zmx_credit_receiver_new_curve (endpoint, 8192, 4096, NULL, NULL) == NULL);
    zmx_credit_receiver_t *plain = zmx_credit_receiver_new (endpoint, 8192, 4096);
    zmx_credit_receiver_t *receiver = zmx_credit_receiver_new_curve (
        endpoint, 8192, 4096, client_cert, zmx_security_public_key (security));
    ZMX_CHECK (plain && receiver);
    s_wait_peers (sender, 1, 3000);
    char *peer = s_only_peer (sender);
    unsigned int seed = 3;
    byte *payload = s_payload (0, 30000, &seed);
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, payload, 30000) == ZMX_OK);
    zframe_t *received = NULL;
    int64_t deadline = zclock_mono () + 3000;
    while (!received && zclock_mono () < deadline) {
        received = zmx_credit_receiver_recv (receiver, 10);
        zmx_credit_sender_process (sender);
    }
    ZMX_CHECK (received && s_payload_ok (received, 0));
    zmx_credit_sender_stats_t stats;
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.peers == 1 && stats.max_in_flight_observed <= 8192);
    zframe_destroy (&received);
    free (payload);
    free (peer);
    zmx_credit_receiver_destroy (&plain);
    zmx_credit_receiver_destroy (&receiver);
    zmx_credit_sender_destroy (&sender);
    zmx_security_destroy (&security);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
}

//  -------------------------------------------------------------------------
//  Malformed input

static void
s_sender_drops_malformed (void)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    zsock_t *dealer = s_dealer (zmx_credit_sender_endpoint (sender));
    uint8_t hello = ZMX_CREDIT_HELLO, data = ZMX_CREDIT_DATA, credit = ZMX_CREDIT_CREDIT;
    uint8_t value [8] = { 0, 0, 0, 0, 0, 0, 0x40, 0 };
    s_send_raw (dealer, "garbage", (size_t) 7, NULL);
    s_send_raw (dealer, "ZMXCR9", (size_t) 6, &hello, (size_t) 1, value, (size_t) 8, NULL);
    s_send_raw (dealer, ZMX_CREDIT_PROTOCOL, (size_t) 6, &hello, (size_t) 1, value, (size_t) 4,
                NULL);
    s_send_raw (dealer, ZMX_CREDIT_PROTOCOL, (size_t) 6, &data, (size_t) 1, value, (size_t) 8,
                NULL);
    s_send_raw (dealer, ZMX_CREDIT_PROTOCOL, (size_t) 6, &credit, (size_t) 1, value, (size_t) 8,
                NULL);                  //  CREDIT before HELLO
    zmsg_t *many = zmsg_new ();
    for (int index = 0; index < 200; index++)
        zmsg_addstr (many, ZMX_CREDIT_PROTOCOL);
    zmsg_send (&many, dealer);
    s_command (dealer, ZMX_CREDIT_HELLO, 16384);
    s_command (dealer, ZMX_CREDIT_HELLO, 16384);  //  second HELLO
    s_wait_peers (sender, 1, 2000);
    zmx_credit_sender_stats_t stats;
    int64_t deadline = zclock_mono () + 2000;
    do {
        zclock_sleep (5);
        zmx_credit_sender_process (sender);
        zmx_credit_sender_stats (sender, &stats);
    } while (stats.malformed < 7 && zclock_mono () < deadline);
    ZMX_CHECK (stats.malformed == 7 && stats.peers == 1 && stats.credit_granted == 16384);
    //  The sender still works for the receiver that spoke properly
    char *peer = s_only_peer (sender);
    ZMX_CHECK (zmx_credit_sender_send (sender, peer, "hello", 5) == ZMX_OK);
    zmx_credit_sender_process (sender);
    zmsg_t *msg = zmx_test_recv (dealer, 2000);
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    ZMX_CHECK (zframe_streq (zmsg_last (msg), "hello"));
    zmsg_destroy (&msg);
    free (peer);
    zsock_destroy (&dealer);
    zmx_credit_sender_destroy (&sender);
}

//  A flood of invalid messages: every one counted, at most one warning a
//  second in the log (the rest at debug level).
static void
s_sender_warnings_rate_limited (void)
{
    zmx_log_set_level (ZMX_LOG_NOTICE);
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    zsock_t *dealer = s_dealer (zmx_credit_sender_endpoint (sender));
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/log", dir);
    int saved = zmx_test_capture_begin (log);
    int64_t started = zclock_mono ();
    const int flood = 5000;
    for (int index = 0; index < flood; index++)
        s_send_raw (dealer, "garbage", (size_t) 7, NULL);
    zmx_credit_sender_stats_t stats;
    int64_t deadline = zclock_mono () + 10000;
    do {
        zmq_pollitem_t item = { zsock_resolve (zmx_credit_sender_socket (sender)), 0,
                                ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 10);
        zmx_credit_sender_process (sender);
        zmx_credit_sender_stats (sender, &stats);
    } while (stats.malformed < (uint64_t) flood && zclock_mono () < deadline);
    int64_t elapsed = zclock_mono () - started;
    zmx_test_capture_end (saved);
    int warnings = zmx_test_count_lines (log, " W credit: ");
    zsys_info ("%d invalid messages in %" PRId64 " ms: %d warnings logged", flood, elapsed,
               warnings);
    ZMX_CHECK (stats.malformed == (uint64_t) flood);
    ZMX_CHECK (warnings >= 1 && warnings <= 2 + elapsed / 1000);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
    zsock_destroy (&dealer);
    zmx_credit_sender_destroy (&sender);
}

//  Process the sender until its refusals reach `count`, or fail.
static void
s_wait_refused (zmx_credit_sender_t *sender, uint64_t count, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    zmx_credit_sender_stats_t stats;
    do {
        zmq_pollitem_t item = { zsock_resolve (zmx_credit_sender_socket (sender)), 0,
                                ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 10);
        zmx_credit_sender_process (sender);
        zmx_credit_sender_stats (sender, &stats);
    } while (stats.receivers_refused < count && zclock_mono () < deadline);
    ZMX_CHECK (stats.receivers_refused == count);
}

//  More receivers than max-receivers: the extra HELLOs are refused and
//  counted, the known receivers still get data, and a place freed by BYE
//  goes to the next receiver.
static void
s_max_receivers_refused (void)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    ZMX_CHECK (zmx_credit_sender_set_max_receivers (sender, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_credit_sender_set_max_receivers (sender, 3) == ZMX_OK);
    zsock_t *dealers [6];
    for (int index = 0; index < 5; index++) {
        dealers [index] = s_dealer (zmx_credit_sender_endpoint (sender));
        s_command (dealers [index], ZMX_CREDIT_HELLO, 16384);
    }
    s_wait_refused (sender, 2, 5000);
    zmx_credit_sender_stats_t stats;
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.peers == 3 && stats.malformed == 0);
    //  Every known receiver is served
    zlist_t *peers = zmx_credit_sender_peers (sender);
    for (char *peer = (char *) zlist_first (peers); peer; peer = (char *) zlist_next (peers))
        ZMX_CHECK (zmx_credit_sender_send (sender, peer, "hello", 5) == ZMX_OK);
    zlist_destroy (&peers);
    zmx_credit_sender_process (sender);
    int served = 0;
    for (int index = 0; index < 5; index++) {
        zmsg_t *msg = zmx_test_recv (dealers [index], served < 3? 1000: 100);
        if (msg) {
            served++;
            zmsg_destroy (&msg);
            if (served == 1)
                s_command (dealers [index], ZMX_CREDIT_BYE, 0);
        }
    }
    ZMX_CHECK (served == 3);
    //  One said BYE: a new receiver takes its place
    s_wait_peers (sender, 2, 2000);
    dealers [5] = s_dealer (zmx_credit_sender_endpoint (sender));
    s_command (dealers [5], ZMX_CREDIT_HELLO, 16384);
    s_wait_peers (sender, 3, 2000);
    zmx_credit_sender_stats (sender, &stats);
    ZMX_CHECK (stats.receivers_refused == 2);
    for (int index = 0; index < 6; index++)
        zsock_destroy (&dealers [index]);
    zmx_credit_sender_destroy (&sender);
}

//  Send DATA from a fake sender: routing id, sequence, one segment.
static void
s_fake_data (zsock_t *router, zframe_t *routing_id, uint64_t sequence, uint8_t flags,
             const char *text)
{
    uint8_t command = ZMX_CREDIT_DATA;
    uint8_t number [8];
    for (int index = 7; index >= 0; index--, sequence >>= 8)
        number [index] = (uint8_t) sequence;
    s_send_raw (router, zframe_data (routing_id), zframe_size (routing_id),
                ZMX_CREDIT_PROTOCOL, (size_t) 6, &command, (size_t) 1, number, (size_t) 8,
                &flags, (size_t) 1, text, strlen (text), NULL);
}

static void
s_receiver_drops_malformed_and_counts_gaps (void)
{
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_credit_receiver_t *receiver = zmx_credit_receiver_new (endpoint, 8192, 4096);
    ZMX_CHECK (receiver);
    ZMX_CHECK (zmx_credit_receiver_new (endpoint, 100, 10) == NULL);
    ZMX_CHECK (zmx_credit_receiver_new (endpoint, 8192, 8192) == NULL);
    ZMX_CHECK (zmx_credit_receiver_new ("nowhere", 8192, 1024) == NULL);
    zmsg_t *hello = zmx_test_recv (router, 2000);
    ZMX_CHECK (hello && zmsg_size (hello) == 4);
    zframe_t *routing_id = zmsg_pop (hello);
    zmsg_destroy (&hello);

    uint8_t ping = ZMX_CREDIT_PING, data = ZMX_CREDIT_DATA, zero [8] = { 0 };
    s_send_raw (router, zframe_data (routing_id), zframe_size (routing_id),
                "junk", (size_t) 4, NULL);
    s_send_raw (router, zframe_data (routing_id), zframe_size (routing_id),
                ZMX_CREDIT_PROTOCOL, (size_t) 6, &ping, (size_t) 1, NULL);
    s_send_raw (router, zframe_data (routing_id), zframe_size (routing_id),
                ZMX_CREDIT_PROTOCOL, (size_t) 6, &data, (size_t) 1, zero, (size_t) 8,
                "\x09", (size_t) 1, "x", (size_t) 1, NULL);
    s_fake_data (router, routing_id, 0, ZMX_CREDIT_FIRST, "ab");
    s_fake_data (router, routing_id, 1, ZMX_CREDIT_LAST, "c");
    zframe_t *payload = zmx_credit_receiver_recv (receiver, 2000);
    ZMX_CHECK (payload && zframe_streq (payload, "abc"));
    zframe_destroy (&payload);
    zmx_credit_receiver_stats_t stats;
    zmx_credit_receiver_stats (receiver, &stats);
    ZMX_CHECK (stats.malformed == 3 && stats.gaps == 0 && stats.payloads == 1);
    ZMX_CHECK (stats.bytes_received == 3);

    //  Segment 2 goes missing: the gap is counted, the broken payload is
    //  dropped, and the next whole payload comes through
    s_fake_data (router, routing_id, 3, ZMX_CREDIT_LAST, "lost");
    s_fake_data (router, routing_id, 4, ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST, "next");
    payload = zmx_credit_receiver_recv (receiver, 2000);
    ZMX_CHECK (payload && zframe_streq (payload, "next"));
    zframe_destroy (&payload);
    zmx_credit_receiver_stats (receiver, &stats);
    ZMX_CHECK (stats.gaps == 1 && stats.payloads == 2);

    //  Too large a payload is dropped; more than the credit granted (8192
    //  here, each time) is an overrun, counted but still delivered
    ZMX_CHECK (zmx_credit_receiver_set_max_payload (receiver, 10000) == ZMX_OK);
    char *big = (char *) malloc (10002);
    memset (big, 'x', 10001);
    big [10001] = 0;
    s_fake_data (router, routing_id, 5, ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST, big);
    big [9000] = 0;
    s_fake_data (router, routing_id, 6, ZMX_CREDIT_FIRST | ZMX_CREDIT_LAST, big);
    payload = zmx_credit_receiver_recv (receiver, 2000);
    ZMX_CHECK (payload && zframe_size (payload) == 9000);
    zframe_destroy (&payload);
    zmx_credit_receiver_stats (receiver, &stats);
    ZMX_CHECK (stats.payloads == 3 && stats.gaps == 1 && stats.overruns == 2);
    free (big);

    zframe_destroy (&routing_id);
    zmx_credit_receiver_destroy (&receiver);
    zsock_destroy (&router);
    free (endpoint);
}

//  -------------------------------------------------------------------------
//  Streaming to many receivers

typedef struct {
    const char *endpoint;       //  Sender endpoint
    int payloads;               //  Payloads to receive
    bool sleepy;                //  Sleep 0..4 msec at random between reads
    unsigned int seed;          //  For the sleeps
} s_reader_t;

//  Receiver actor: reports "<intact payloads> <gaps> <malformed>" on the
//  pipe when done, then waits for $TERM.
static void
s_reader_actor (zsock_t *pipe, void *args)
{
    s_reader_t *settings = (s_reader_t *) args;
    zmx_credit_receiver_t *receiver =
        zmx_credit_receiver_new (settings->endpoint, S_WINDOW, S_SLICE);
    zsock_signal (pipe, 0);
    int intact = 0;
    for (int index = 0; receiver && index < settings->payloads; index++) {
        zframe_t *payload = zmx_credit_receiver_recv (receiver, 10000);
        if (!payload)
            break;
        intact += s_payload_ok (payload, (uint64_t) index);
        zframe_destroy (&payload);
        if (settings->sleepy)
            zclock_sleep (rand_r (&settings->seed) % 5);
    }
    zmx_credit_receiver_stats_t stats = { 0 };
    if (receiver)
        zmx_credit_receiver_stats (receiver, &stats);
    zstr_sendf (pipe, "%d %" PRIu64 " %" PRIu64, intact, stats.gaps,
                stats.malformed + stats.overruns);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
    zmx_credit_receiver_destroy (&receiver);
}

//  Per-peer progress of the streaming server.
typedef struct {
    char *name;
    int sent;                   //  Payloads accepted so far
} s_target_t;

//  Queue the next payloads to every target until its backlog is full.
static void
s_stream_feed (zmx_credit_sender_t *sender, s_target_t *targets, int count, int payloads,
               unsigned int *seed, uint64_t *bytes)
{
    for (int index = 0; index < count; index++) {
        while (targets [index].sent < payloads) {
            size_t size = 48 * 1024 + rand_r (seed) % (32 * 1024);
            byte *data = s_payload ((uint64_t) targets [index].sent, size, seed);
            int rc = zmx_credit_sender_send (sender, targets [index].name, data, size);
            free (data);
            ZMX_CHECK (rc == ZMX_OK || rc == ZMX_EAGAIN);
            if (rc == ZMX_EAGAIN)
                break;
            targets [index].sent++;
            *bytes += size;
        }
    }
}

//  The invariants the issue asks for, checked after every round.
static void
s_stream_check (zmx_credit_sender_t *sender, s_target_t *targets, int count)
{
    for (int index = 0; index < count; index++) {
        zmx_credit_peer_stats_t stats;
        ZMX_CHECK (zmx_credit_sender_peer_stats (sender, targets [index].name, &stats) == ZMX_OK);
        ZMX_CHECK (stats.in_flight <= S_WINDOW && stats.max_in_flight <= S_WINDOW);
        ZMX_CHECK (stats.bytes_queued <= S_BACKLOG);
    }
    zmx_credit_sender_stats_t totals;
    zmx_credit_sender_stats (sender, &totals);
    ZMX_CHECK (totals.in_flight <= (uint64_t) S_WINDOW * count);
    ZMX_CHECK (totals.max_queued_observed <= (uint64_t) S_BACKLOG * count);
}

static void
s_stream (int readers, int payloads)
{
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    ZMX_CHECK (sender);
    ZMX_CHECK (zmx_credit_sender_set_fragment (sender, S_FRAGMENT) == ZMX_OK);
    ZMX_CHECK (zmx_credit_sender_set_backlog (sender, S_BACKLOG) == ZMX_OK);
    s_reader_t *settings = (s_reader_t *) zmalloc (readers * sizeof (s_reader_t));
    zactor_t **actors = (zactor_t **) zmalloc (readers * sizeof (zactor_t *));
    for (int index = 0; index < readers; index++) {
        settings [index].endpoint = zmx_credit_sender_endpoint (sender);
        settings [index].payloads = payloads;
        settings [index].sleepy = index % 3 == 0;
        settings [index].seed = (unsigned int) index + 7;
        actors [index] = zactor_new (s_reader_actor, &settings [index]);
    }
    s_wait_peers (sender, (uint64_t) readers, 10000);
    zlist_t *names = zmx_credit_sender_peers (sender);
    s_target_t *targets = (s_target_t *) zmalloc (readers * sizeof (s_target_t));
    int count = 0;
    for (char *name = (char *) zlist_first (names); name; name = (char *) zlist_next (names))
        targets [count++].name = strdup (name);
    zlist_destroy (&names);
    ZMX_CHECK (count == readers);

    unsigned int seed = (unsigned int) readers;
    uint64_t bytes = 0;
    int reported = 0, intact = 0;
    int64_t deadline = zclock_mono () + 40000;
    while (reported < readers && zclock_mono () < deadline) {
        s_stream_feed (sender, targets, count, payloads, &seed, &bytes);
        zmq_pollitem_t item = { zsock_resolve (zmx_credit_sender_socket (sender)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 5);
        zmx_credit_sender_process (sender);
        s_stream_check (sender, targets, count);
        for (int index = 0; index < readers; index++) {
            zsock_set_rcvtimeo (zactor_sock (actors [index]), 0);
            char *report = zstr_recv (actors [index]);
            if (!report)
                continue;
            int good = -1;
            uint64_t gaps = 1, bad = 1;
            ZMX_CHECK (sscanf (report, "%d %" SCNu64 " %" SCNu64, &good, &gaps, &bad) == 3);
            ZMX_CHECK (good == payloads && gaps == 0 && bad == 0);
            intact += good;
            reported++;
            zstr_free (&report);
        }
    }
    ZMX_CHECK (reported == readers && intact == readers * payloads);
    zmx_credit_sender_stats_t totals;
    zmx_credit_sender_stats (sender, &totals);
    ZMX_CHECK (totals.bytes_sent == bytes && totals.bytes_queued == 0);
    ZMX_CHECK (totals.max_in_flight_observed <= S_WINDOW && totals.max_in_flight_observed > 0);
    ZMX_CHECK (totals.malformed == 0 && totals.peers_expired == 0);
    printf ("%d readers: %.1f MiB, max in flight %" PRIu64 " of %d, max queued %" PRIu64 "\n",
            readers, bytes / 1048576.0, totals.max_in_flight_observed, S_WINDOW,
            totals.max_queued_observed);
    for (int index = 0; index < readers; index++) {
        zactor_destroy (&actors [index]);
        free (targets [index].name);
    }
    free (targets);
    free (actors);
    free (settings);
    zmx_credit_sender_destroy (&sender);
}

static void s_stream_1 (void)  { s_stream (1, 100); }
static void s_stream_10 (void) { s_stream (10, 30); }
static void s_stream_50 (void) { s_stream (50, 10); }

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "codec_roundtrip", s_codec_roundtrip, 10 },
        { "codec_rejects", s_codec_rejects, 10 },
        { "sender_accounting", s_sender_accounting, 20 },
        { "sender_batches_small", s_sender_batches_small, 10 },
        { "dead_receiver_expires", s_dead_receiver_expires, 10 },
        { "live_receiver_stays", s_live_receiver_stays, 10 },
        { "curve_sender", s_curve_sender, 15 },
        { "sender_drops_malformed", s_sender_drops_malformed, 10 },
        { "sender_warnings_rate_limited", s_sender_warnings_rate_limited, 20 },
        { "max_receivers_refused", s_max_receivers_refused, 20 },
        { "receiver_drops_malformed_and_counts_gaps", s_receiver_drops_malformed_and_counts_gaps, 10 },
        { "stream_1", s_stream_1, 40 },
        { "stream_10", s_stream_10, 40 },
        { "stream_50", s_stream_50, 50 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
