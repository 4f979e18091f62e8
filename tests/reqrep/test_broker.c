/*  =========================================================================
    test_broker - the Majordomo broker, driven by raw sockets that speak the
    RFC frames directly (so that the tests do not depend on our own client
    and worker classes): both MDP versions, LRU, credit, queue bounds and
    expiry, heartbeats, protocol violations, garbage, MMI.
    =========================================================================
*/
#include "testing.h"

typedef struct {
    zmx_service_t *service;
    char *endpoint;
} s_broker_t;

//  Start a broker on a free port with short heartbeats and extra settings
//  ("key = value" lines, already indented).
static s_broker_t
s_broker_start (const char *extra)
{
    s_broker_t broker;
    bool own_endpoint = extra && strstr (extra, "endpoint");
    char *text = zsys_sprintf ("broker\n%s    heartbeat-interval = 100\n%s",
                               own_endpoint? "": "    endpoint = \"tcp://127.0.0.1:*\"\n",
                               extra? extra: "");
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    broker.service = zmx_service_new ("broker", zmx_broker_actor,
                                      zconfig_locate (root, "broker"), NULL);
    ZMX_CHECK (broker.service);
    broker.endpoint = strdup (zmx_service_endpoint (broker.service));
    zconfig_destroy (&root);
    zstr_free (&text);
    return broker;
}

static void
s_broker_stop (s_broker_t *broker)
{
    zmx_service_destroy (&broker->service);
    zstr_free (&broker->endpoint);
}

static zsock_t *
s_peer (s_broker_t *broker)
{
    return zmx_test_dealer_new (broker->endpoint, 2000);
}

//  Frame `index` of a message (not a copy), or NULL.
static zframe_t *
s_frame_at (zmsg_t *msg, size_t index)
{
    zframe_t *frame = zmsg_first (msg);
    for (size_t at = 0; frame && at < index; at++)
        frame = zmsg_next (msg);
    return frame;
}

//  Receive and check that frame `index` equals `text`.
static void
s_expect (zmsg_t *msg, size_t index, const char *text)
{
    ZMX_CHECK (msg);
    zframe_t *frame = s_frame_at (msg, index);
    ZMX_CHECK (frame);
    char *actual = zframe_strdup (frame);
    ZMX_CHECK_STR (actual, text);
    free (actual);
}

static zmsg_t *
s_recv_skip_heartbeats (zsock_t *sock)
{
    while (true) {
        zmsg_t *msg = zmsg_recv (sock);
        zmx_mdp_view_t view;
        if (!msg || zmx_mdp_decode_msg (msg, ZMX_MDP_AT_WORKER, &view)
        ||  view.command != ZMX_MDP_WORKER_HEARTBEAT)
            return msg;
        zmsg_destroy (&msg);
    }
}

//  Send a worker reply: header frames then the address frame as received
//  (routing ids hold NUL bytes: never pass them through C strings).
static void
s_send_worker_reply (zsock_t *worker, int version, const char *code, zframe_t *address,
                     const char *body)
{
    zmsg_t *msg = zmsg_new ();
    if (version == 1)
        zmsg_addstr (msg, "");
    zmsg_addstr (msg, version == 1? ZMX_MDPW01: ZMX_MDPW02);
    zmsg_addstr (msg, code);
    zmsg_append (msg, &(zframe_t *) { zframe_dup (address) });
    zmsg_addstr (msg, "");
    zmsg_addstr (msg, body);
    zmsg_send (&msg, worker);
}

static zsock_t *
s_worker_v1 (s_broker_t *broker, const char *service, const char *credit)
{
    zsock_t *worker = s_peer (broker);
    if (credit)
        zstr_sendx (worker, "", ZMX_MDPW01, "\x01", service, credit, NULL);
    else
        zstr_sendx (worker, "", ZMX_MDPW01, "\x01", service, NULL);
    return worker;
}

//  Answer one request on a 0.1 worker with `reply`; returns the body seen.
static char *
s_serve_one_v1 (zsock_t *worker, const char *reply)
{
    zmsg_t *request = s_recv_skip_heartbeats (worker);
    ZMX_CHECK (request && zmsg_size (request) == 6);
    s_expect (request, 1, ZMX_MDPW01);
    s_expect (request, 2, "\x02");
    s_expect (request, 4, "");
    zframe_t *address = s_frame_at (request, 3);
    char *body = zframe_strdup (zmsg_last (request));
    s_send_worker_reply (worker, 1, "\x03", address, reply? reply: body);
    zmsg_destroy (&request);
    return body;
}

static void
s_mdp01_round_trip (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_worker_v1 (&broker, "echo", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);
    zstr_sendx (client, "", ZMX_MDPC01, "echo", "hello", NULL);
    char *seen = s_serve_one_v1 (worker, "world");
    ZMX_CHECK_STR (seen, "hello");
    free (seen);
    zmsg_t *reply = zmsg_recv (client);
    ZMX_CHECK (reply && zmsg_size (reply) == 4);
    s_expect (reply, 0, "");
    s_expect (reply, 1, ZMX_MDPC01);
    s_expect (reply, 2, "echo");
    s_expect (reply, 3, "world");
    zmsg_destroy (&reply);
    ZMX_CHECK (zmx_service_counter (broker.service, "replies") == 1);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

static void
s_mdp02_round_trip (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_peer (&broker);
    zstr_sendx (worker, ZMX_MDPW02, "\x01", "echo", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);
    zstr_sendx (client, ZMX_MDPC02, "\x01", "echo", "hello", NULL);
    zmsg_t *request = s_recv_skip_heartbeats (worker);
    ZMX_CHECK (request && zmsg_size (request) == 5);
    s_expect (request, 0, ZMX_MDPW02);
    s_expect (request, 1, "\x02");
    s_expect (request, 3, "");
    s_expect (request, 4, "hello");
    zframe_t *address = s_frame_at (request, 2);
    s_send_worker_reply (worker, 2, "\x03", address, "part");
    s_send_worker_reply (worker, 2, "\x04", address, "done");
    zmsg_t *partial = zmsg_recv (client);
    ZMX_CHECK (partial && zmsg_size (partial) == 4);
    s_expect (partial, 0, ZMX_MDPC02);
    s_expect (partial, 1, "\x02");
    s_expect (partial, 2, "echo");
    s_expect (partial, 3, "part");
    zmsg_t *final = zmsg_recv (client);
    s_expect (final, 1, "\x03");
    s_expect (final, 3, "done");
    zmsg_destroy (&partial);
    zmsg_destroy (&final);
    zmsg_destroy (&request);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  A 0.1 client served by a 0.2 worker sees one REPLY (the FINAL); a 0.2
//  client served by a 0.1 worker sees a FINAL.
static void
s_cross_version (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker2 = s_peer (&broker);
    zstr_sendx (worker2, ZMX_MDPW02, "\x01", "v2", NULL);
    zsock_t *worker1 = s_worker_v1 (&broker, "v1", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 2, 2000));

    zsock_t *client1 = s_peer (&broker);
    zstr_sendx (client1, "", ZMX_MDPC01, "v2", "q", NULL);
    zmsg_t *request = s_recv_skip_heartbeats (worker2);
    ZMX_CHECK (request);
    zframe_t *address = s_frame_at (request, 2);
    s_send_worker_reply (worker2, 2, "\x03", address, "part");
    s_send_worker_reply (worker2, 2, "\x04", address, "final");
    zmsg_t *reply = zmsg_recv (client1);
    ZMX_CHECK (reply && zmsg_size (reply) == 4);
    s_expect (reply, 1, ZMX_MDPC01);
    s_expect (reply, 3, "final");
    zmsg_destroy (&reply);
    zmsg_destroy (&request);

    zsock_t *client2 = s_peer (&broker);
    zstr_sendx (client2, ZMX_MDPC02, "\x01", "v1", "q", NULL);
    free (s_serve_one_v1 (worker1, "from v1"));
    reply = zmsg_recv (client2);
    ZMX_CHECK (reply && zmsg_size (reply) == 4);
    s_expect (reply, 0, ZMX_MDPC02);
    s_expect (reply, 1, "\x03");
    s_expect (reply, 2, "v1");
    s_expect (reply, 3, "from v1");
    zmsg_destroy (&reply);
    zsock_destroy (&client1);
    zsock_destroy (&client2);
    zsock_destroy (&worker1);
    zsock_destroy (&worker2);
    s_broker_stop (&broker);
}

//  Three plain workers and 30 requests one at a time: least recently used
//  order gives each worker exactly ten, in rotation.
static void
s_lru_fairness (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *workers [3];
    for (int index = 0; index < 3; index++)
        workers [index] = s_worker_v1 (&broker, "fair", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 3, 2000));
    zsock_t *client = s_peer (&broker);
    int served [3] = { 0, 0, 0 };
    int last = -1;
    zpoller_t *poller = zpoller_new (workers [0], workers [1], workers [2], NULL);
    for (int request = 0; request < 30; request++) {
        zstr_sendx (client, "", ZMX_MDPC01, "fair", "x", NULL);
        zsock_t *which = (zsock_t *) zpoller_wait (poller, 2000);
        ZMX_CHECK (which);
        int index = which == workers [0]? 0: which == workers [1]? 1: 2;
        free (s_serve_one_v1 (which, NULL));
        ZMX_CHECK (index != last);      //  never the same worker twice running
        last = index;
        served [index]++;
        zmsg_t *reply = zmsg_recv (client);
        ZMX_CHECK (reply);
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (served [0] == 10 && served [1] == 10 && served [2] == 10);
    zpoller_destroy (&poller);
    zsock_destroy (&client);
    for (int index = 0; index < 3; index++)
        zsock_destroy (&workers [index]);
    s_broker_stop (&broker);
}

//  A worker that announced credit 10 gets ten requests at once; the
//  eleventh waits until it answers one.
static void
s_worker_credit (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_worker_v1 (&broker, "credit", "10");
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);
    for (int index = 0; index < 11; index++)
        zstr_sendx (client, "", ZMX_MDPC01, "credit", "x", NULL);
    zmsg_t *requests [11];
    for (int index = 0; index < 10; index++) {
        requests [index] = s_recv_skip_heartbeats (worker);
        ZMX_CHECK (requests [index]);
    }
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "queued", 1, 2000));
    zsock_set_rcvtimeo (worker, 150);
    ZMX_CHECK (s_recv_skip_heartbeats (worker) == NULL);
    //  Answer one: the queued request follows
    s_send_worker_reply (worker, 1, "\x03", s_frame_at (requests [0], 3), "done");
    zsock_set_rcvtimeo (worker, 2000);
    requests [10] = s_recv_skip_heartbeats (worker);
    ZMX_CHECK (requests [10]);
    for (int index = 0; index <= 10; index++)
        zmsg_destroy (&requests [index]);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  A request for a service with no worker waits, and goes to the first
//  worker that registers.
static void
s_queue_until_worker (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *client = s_peer (&broker);
    zstr_sendx (client, "", ZMX_MDPC01, "late", "early bird", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "queued", 1, 2000));
    zsock_t *worker = s_worker_v1 (&broker, "late", NULL);
    char *seen = s_serve_one_v1 (worker, NULL);
    ZMX_CHECK_STR (seen, "early bird");
    free (seen);
    zmsg_t *reply = zmsg_recv (client);
    s_expect (reply, 3, "early bird");
    zmsg_destroy (&reply);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  Slack for a loaded machine (2 vCPUs shared by several builds and test
//  runs) on top of the times a case configures: large enough that a busy
//  scheduler does not fail a case, small against the configured times so
//  that the regressions the bounds are for (never, or twice as late) are
//  still caught.
#define S_LOAD_MARGIN   1000

//  Queued requests older than request-timeout are dropped and counted:
//  not before the timeout, and within it plus one timer period (a fifth
//  of the 100 ms heartbeat) plus S_LOAD_MARGIN.
static void
s_request_expiry (void)
{
    int timeout = 2000;
    s_broker_t broker = s_broker_start ("    request-timeout = 2000\n");
    zsock_t *client = s_peer (&broker);
    int64_t started = zclock_mono ();
    zstr_sendx (client, "", ZMX_MDPC01, "nobody", "x", NULL);
    zstr_sendx (client, "", ZMX_MDPC01, "nobody", "y", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "queued", 2, timeout - 100));
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "dropped_expired", 2,
                                      timeout + 20 + S_LOAD_MARGIN));
    int64_t waited = zclock_mono () - started;
    fprintf (stderr, "    requests expired after %" PRId64 " ms (timeout %d)\n", waited,
             timeout);
    ZMX_CHECK (waited >= timeout - 5);
    ZMX_CHECK (zmx_service_counter (broker.service, "queued") == 0);
    //  The idle service is forgotten too
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "services", 0, 2000));
    zsock_destroy (&client);
    s_broker_stop (&broker);
}

//  Past queue-limit, new requests are dropped (newest first) and counted.
static void
s_queue_overflow (void)
{
    s_broker_t broker = s_broker_start ("    queue-limit = 5\n");
    zsock_t *client = s_peer (&broker);
    for (int index = 0; index < 12; index++)
        zstr_sendx (client, "", ZMX_MDPC01, "full", "x", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "dropped_overflow", 7, 2000));
    ZMX_CHECK (zmx_service_counter (broker.service, "queued") == 5);
    //  The first five are kept, in order
    zsock_t *worker = s_worker_v1 (&broker, "full", "10");
    for (int index = 0; index < 5; index++) {
        zmsg_t *request = s_recv_skip_heartbeats (worker);
        ZMX_CHECK (request);
        zmsg_destroy (&request);
    }
    zsock_destroy (&worker);
    zsock_destroy (&client);
    s_broker_stop (&broker);
}

//  The broker heartbeats a registered worker, and purges it once it falls
//  silent: not before liveness x interval (20 x 100 ms), and within that
//  plus one timer period plus S_LOAD_MARGIN. A heartbeat comes within one
//  interval plus the margin, which is still well before the purge.
static void
s_heartbeat_expiry (void)
{
    int interval = 100, liveness = 20;
    s_broker_t broker = s_broker_start ("    heartbeat-liveness = 20\n");
    zsock_t *worker = s_worker_v1 (&broker, "silent", NULL);
    //  Taken with READY queued but not yet read: the broker's clock starts
    //  later, so the lower bound below holds however slow the machine is
    int64_t registered = zclock_mono ();
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_set_rcvtimeo (worker, interval + S_LOAD_MARGIN);
    zmsg_t *beat = zmsg_recv (worker);
    ZMX_CHECK (beat && zmsg_size (beat) == 3);
    s_expect (beat, 1, ZMX_MDPW01);
    s_expect (beat, 2, "\x04");
    zmsg_destroy (&beat);
    //  ...then, with no word from the worker, it is purged
    int expiry = interval * liveness;
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0,
                                      expiry + interval / 5 + S_LOAD_MARGIN));
    int64_t silent_for = zclock_mono () - registered;
    fprintf (stderr, "    silent worker purged after %" PRId64 " ms (liveness x interval %d)\n",
             silent_for, expiry);
    ZMX_CHECK (silent_for >= expiry - 5);
    ZMX_CHECK (zmx_service_counter (broker.service, "workers_expired") == 1);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  A worker that keeps heartbeating stays registered.
static void
s_heartbeat_keeps_alive (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_worker_v1 (&broker, "alive", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    int64_t until = zclock_mono () + 800;
    zsock_set_rcvtimeo (worker, 100);
    while (zclock_mono () < until) {
        zmsg_t *msg = zmsg_recv (worker);       //  paced by the broker's beats
        zmsg_destroy (&msg);
        zstr_sendx (worker, "", ZMX_MDPW01, "\x04", NULL);
    }
    ZMX_CHECK (zmx_service_counter (broker.service, "workers") == 1);
    ZMX_CHECK (zmx_service_counter (broker.service, "workers_expired") == 0);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  Expect a DISCONNECT (0.1) on this socket.
static void
s_expect_disconnect (zsock_t *sock)
{
    zmsg_t *msg = s_recv_skip_heartbeats (sock);
    ZMX_CHECK (msg && zmsg_size (msg) == 3);
    s_expect (msg, 2, "\x05");
    zmsg_destroy (&msg);
}

//  Valid commands out of sequence get DISCONNECT, as 7/MDP requires.
static void
s_out_of_sequence (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *peer = s_peer (&broker);
    zstr_sendx (peer, "", ZMX_MDPW01, "\x03", "\x01" "abc", "", "x", NULL);    //  REPLY before READY
    s_expect_disconnect (peer);
    zstr_sendx (peer, "", ZMX_MDPW01, "\x04", NULL);     //  HEARTBEAT before READY
    s_expect_disconnect (peer);
    zstr_sendx (peer, "", ZMX_MDPW01, "\x01", "mmi.mine", NULL);   //  reserved name
    s_expect_disconnect (peer);
    zstr_sendx (peer, "", ZMX_MDPW01, "\x01", "twice", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zstr_sendx (peer, "", ZMX_MDPW01, "\x01", "twice", NULL);      //  second READY
    s_expect_disconnect (peer);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0, 2000));
    zstr_sendx (peer, "", ZMX_MDPW01, "\x01", "idle", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zstr_sendx (peer, "", ZMX_MDPW01, "\x03", "\x01" "abc", "", "x", NULL);    //  REPLY, nothing asked
    s_expect_disconnect (peer);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0, 2000));
    ZMX_CHECK (zmx_service_counter (broker.service, "disconnects_sent") == 5);
    //  A worker may leave by itself
    zstr_sendx (peer, "", ZMX_MDPW01, "\x01", "leaving", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zstr_sendx (peer, "", ZMX_MDPW01, "\x05", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0, 2000));
    zsock_destroy (&peer);
    s_broker_stop (&broker);
}

//  A stream of garbage from one peer does not stop service to others.
static void
s_malformed_traffic (void)
{
    s_broker_t broker = s_broker_start ("    max-frame-size = 65536\n");
    zsock_t *worker = s_worker_v1 (&broker, "echo", "100");
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);
    zsock_t *vandal = s_peer (&broker);
    zsock_t *giant = s_peer (&broker);
    char big [70000];
    memset (big, 'x', sizeof big);
    int answered = 0;
    for (int round = 0; round < 50; round++) {
        zstr_sendx (vandal, "junk", NULL);
        zstr_sendx (vandal, "", "MDPC01", NULL);
        zstr_sendx (vandal, "", "MDPC09", "echo", "x", NULL);
        zstr_sendx (vandal, "", ZMX_MDPW01, "\x07", NULL);
        zstr_sendx (vandal, "MDPC02", "\x01", "", "x", NULL);
        zstr_sendx (vandal, "", ZMX_MDPW01, "\x01", "echo", "lots", NULL);
        zmsg_t *many = zmsg_new ();
        zmsg_addstr (many, "");
        zmsg_addstr (many, ZMX_MDPC01);
        zmsg_addstr (many, "echo");
        for (int frame = 0; frame < 80; frame++)
            zmsg_addstr (many, "f");
        zmsg_send (&many, vandal);
        if (round % 10 == 0)
            zsock_send (giant, "zsb", ZMX_MDPC01, big, sizeof big);
        zstr_sendx (client, "", ZMX_MDPC01, "echo", "still here", NULL);
        free (s_serve_one_v1 (worker, NULL));
        zmsg_t *reply = zmsg_recv (client);
        if (reply)
            answered++;
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (answered == 50);
    ZMX_CHECK (zmx_service_counter (broker.service, "malformed") >= 50 * 7);
    ZMX_CHECK (zmx_service_counter (broker.service, "workers") == 1);
    zsock_destroy (&giant);
    zsock_destroy (&vandal);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  A message part larger than max-frame-size never reaches the broker: libzmq
//  cuts that peer. (The limit must be set before the bind to apply.)
static void
s_max_frame_size (void)
{
    s_broker_t broker = s_broker_start ("    max-frame-size = 1000\n");
    zsock_t *giant = s_peer (&broker);
    //  Watch the giant's connection: the broker's libzmq must cut it
    zactor_t *monitor = zactor_new (zmonitor, giant);
    zstr_sendx (monitor, "LISTEN", "DISCONNECTED", NULL);
    zstr_send (monitor, "START");
    zsock_wait (monitor);
    char big [2000];
    memset (big, 'x', sizeof big);
    zsock_send (giant, "zssb", ZMX_MDPC01, "echo", big, sizeof big);
    zsock_set_rcvtimeo (monitor, 2000);
    char *event = zstr_recv (monitor);
    ZMX_CHECK_STR (event, "DISCONNECTED");
    zstr_free (&event);
    zmsg_t *rest = zmsg_recv (monitor);     //  address and value frames
    zmsg_destroy (&rest);
    //  The big request never reached the broker; a small one still does
    ZMX_CHECK (zmx_service_counter (broker.service, "requests") == 0);
    zsock_t *client = s_peer (&broker);
    zstr_sendx (client, "", ZMX_MDPC01, "echo", "small", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "queued", 1, 2000));
    ZMX_CHECK (zmx_service_counter (broker.service, "requests") == 1);
    zactor_destroy (&monitor);
    zsock_destroy (&client);
    zsock_destroy (&giant);
    s_broker_stop (&broker);
}

//  The per-peer send queue holds far more than libzmq's default of 1000:
//  a credit worker can take 5000 requests in flight without a loss.
static void
s_deep_pipeline (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_worker_v1 (&broker, "deep", "5000");
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);
    zsock_set_sndhwm (client, 10000);
    zsock_set_rcvhwm (worker, 10000);
    for (int index = 0; index < 5000; index++)
        zstr_sendx (client, "", ZMX_MDPC01, "deep", "x", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "requests", 5000, 5000));
    int received = 0;
    zmsg_t *request;
    zsock_set_rcvtimeo (worker, 500);
    while (received < 5000 && (request = s_recv_skip_heartbeats (worker))) {
        received++;
        zmsg_destroy (&request);
    }
    ZMX_CHECK (received == 5000);
    ZMX_CHECK (zmx_service_counter (broker.service, "workers") == 1);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

static zmsg_t *
s_mmi (zsock_t *client, const char *service, const char *body)
{
    zstr_sendx (client, "", ZMX_MDPC01, service, body, NULL);
    return zmsg_recv (client);
}

static void
s_mmi_services (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_worker_v1 (&broker, "echo", NULL);
    zsock_t *worker2 = s_worker_v1 (&broker, "echo", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 2, 2000));
    zsock_t *client = s_peer (&broker);
    zstr_sendx (client, "", ZMX_MDPC01, "waiting", "x", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "queued", 1, 2000));

    zmsg_t *reply = s_mmi (client, "mmi.service", "echo");
    s_expect (reply, 2, "mmi.service");
    s_expect (reply, 3, "200");
    zmsg_destroy (&reply);
    reply = s_mmi (client, "mmi.service", "nosuch");
    s_expect (reply, 3, "404");
    zmsg_destroy (&reply);
    reply = s_mmi (client, "mmi.service", "waiting");     //  queued but no worker
    s_expect (reply, 3, "404");
    zmsg_destroy (&reply);
    reply = s_mmi (client, "mmi.unheard", "x");
    s_expect (reply, 3, "501");
    zmsg_destroy (&reply);
    reply = s_mmi (client, "mmi.services", "");
    ZMX_CHECK (reply && zmsg_size (reply) == 5);
    bool saw_echo = false, saw_waiting = false;
    zmsg_first (reply);
    zmsg_next (reply);
    zmsg_next (reply);
    for (zframe_t *frame = zmsg_next (reply); frame; frame = zmsg_next (reply)) {
        saw_echo |= zframe_streq (frame, "2 0 echo");
        saw_waiting |= zframe_streq (frame, "0 1 waiting");
    }
    ZMX_CHECK (saw_echo && saw_waiting);
    zmsg_destroy (&reply);
    //  MMI also answers MDP/0.2 clients, with FINAL
    zsock_t *client2 = s_peer (&broker);
    zstr_sendx (client2, ZMX_MDPC02, "\x01", "mmi.service", "echo", NULL);
    reply = zmsg_recv (client2);
    s_expect (reply, 1, "\x03");
    s_expect (reply, 3, "200");
    zmsg_destroy (&reply);
    zsock_destroy (&client2);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    zsock_destroy (&worker2);
    s_broker_stop (&broker);
}

//  Count the newline-ended lines of a one-frame mmi.services list and
//  check that `line` is one of them.
static size_t
s_list_lines (zframe_t *frame, const char *line)
{
    char *text = zframe_strdup (frame);
    size_t lines = 0;
    for (char *at = text; *at; at++)
        lines += *at == '\n';
    ZMX_CHECK (lines > 0 && text [strlen (text) - 1] == '\n');
    char *wanted = zsys_sprintf ("\n%s\n", line);
    ZMX_CHECK (strncmp (text, wanted + 1, strlen (wanted + 1)) == 0 || strstr (text, wanted));
    free (wanted);
    free (text);
    return lines;
}

//  Queue one request each for services qNNNNN, from `first` to `last`.
static void
s_queue_services (zsock_t *client, int first, int last)
{
    for (int index = first; index <= last; index++) {
        char name [16];
        snprintf (name, sizeof name, "q%05d", index);
        zstr_sendx (client, "", ZMX_MDPC01, name, "x", NULL);
    }
}

//  Beyond what fits in ZMX_MDP_MAX_FRAMES (and whenever the client asks
//  for it), mmi.services answers the whole list in one frame, so that
//  every client can read it; a short list asked the old way keeps one
//  frame per service. Services here are queued requests: cheaper than
//  workers, and they do not expire.
static void
s_mmi_services_list (void)
{
    s_broker_t broker = s_broker_start ("    max-services = 20000\n");
    zsock_t *client = s_peer (&broker);
    s_queue_services (client, 0, 0);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "services", 1, 2000));
    zmsg_t *reply = s_mmi (client, "mmi.services", ZMX_MMI_SERVICES_LIST);
    ZMX_CHECK (reply && zmsg_size (reply) == 4);
    ZMX_CHECK (s_list_lines (s_frame_at (reply, 3), "0 1 q00000") == 1);
    zmsg_destroy (&reply);
    //  One frame per service up to the limit: an RFC decoder reads it
    s_queue_services (client, 1, ZMX_MMI_SERVICES_FRAMES - 1);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "services",
                                      ZMX_MMI_SERVICES_FRAMES, 5000));
    reply = s_mmi (client, "mmi.services", "");
    ZMX_CHECK (reply && zmsg_size (reply) == 3 + ZMX_MMI_SERVICES_FRAMES);
    zmx_mdp_view_t view;
    ZMX_CHECK (zmx_mdp_decode_msg (reply, ZMX_MDP_AT_CLIENT, &view) == 0);
    zmsg_destroy (&reply);
    //  Past it, the one-frame list, for both versions
    int total = 10000;
    s_queue_services (client, ZMX_MMI_SERVICES_FRAMES, total - 1);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "services", total, 10000));
    reply = s_mmi (client, "mmi.services", "");
    ZMX_CHECK (reply && zmsg_size (reply) == 4);
    ZMX_CHECK (s_list_lines (s_frame_at (reply, 3), "0 1 q09999") == (size_t) total);
    zmsg_destroy (&reply);
    zsock_t *client2 = s_peer (&broker);
    zstr_sendx (client2, ZMX_MDPC02, "\x01", "mmi.services", "", NULL);
    reply = zmsg_recv (client2);
    ZMX_CHECK (reply && zmsg_size (reply) == 4);
    s_expect (reply, 1, "\x03");
    ZMX_CHECK (s_list_lines (s_frame_at (reply, 3), "0 1 q00000") == (size_t) total);
    zmsg_destroy (&reply);
    zsock_destroy (&client2);
    zsock_destroy (&client);
    s_broker_stop (&broker);
}

//  A reply addressed to a client that is not connected (gone, or never
//  there) is dropped and counted; the broker and the worker carry on.
static void
s_client_gone (void)
{
    s_broker_t broker = s_broker_start (NULL);
    zsock_t *worker = s_worker_v1 (&broker, "slow", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);
    zstr_sendx (client, "", ZMX_MDPC01, "slow", "x", NULL);
    zmsg_t *request = s_recv_skip_heartbeats (worker);
    ZMX_CHECK (request);
    zstr_sendx (worker, "", ZMX_MDPW01, "\x03", "\x01" "nobody-here", "", "late", NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "dropped_unroutable", 1, 2000));
    //  The worker is free again and still serves
    zstr_sendx (client, "", ZMX_MDPC01, "slow", "y", NULL);
    zmsg_t *next = s_recv_skip_heartbeats (worker);
    ZMX_CHECK (next);
    s_expect (next, 5, "y");
    zmsg_destroy (&next);
    zmsg_destroy (&request);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  One broker on tcp and ipc at once; pipe commands; bad configs refused.
static void
s_endpoints_and_commands (void)
{
    char *dir = zmx_test_tmpdir ();
    char *extra = zsys_sprintf ("    endpoint = \"tcp://127.0.0.1:*, ipc://%s/broker\"\n", dir);
    s_broker_t broker = s_broker_start (extra);
    zlist_t *endpoints = zmx_service_endpoints (broker.service);
    ZMX_CHECK (zlist_size (endpoints) == 2);
    zlist_first (endpoints);
    char *ipc = (char *) zlist_next (endpoints);
    ZMX_CHECK (strncmp (ipc, "ipc://", 6) == 0);
    zsock_t *worker = zsock_new_dealer (ipc);
    zstr_sendx (worker, "", ZMX_MDPW01, "\x01", "both", NULL);
    zsock_set_rcvtimeo (worker, 2000);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 2000));
    zsock_t *client = s_peer (&broker);         //  over tcp
    zstr_sendx (client, "", ZMX_MDPC01, "both", "across", NULL);
    free (s_serve_one_v1 (worker, NULL));
    zmsg_t *reply = zmsg_recv (client);
    s_expect (reply, 3, "across");
    zmsg_destroy (&reply);
    //  An unknown pipe command gets an error reply
    zactor_t *actor = zmx_service_actor (broker.service);
    zstr_send (actor, "FROBNICATE");
    char *verdict = NULL, *reason = NULL;
    zstr_recvx (actor, &verdict, &reason, NULL);
    ZMX_CHECK_STR (verdict, ZMX_SERVICE_ERROR);
    ZMX_CHECK (strstr (reason, "FROBNICATE"));
    zstr_free (&verdict);
    zstr_free (&reason);
    zlist_destroy (&endpoints);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
    zstr_free (&extra);

    const char *bad [] = {
        "broker\n    heartbeat-interval = soon\n",
        "broker\n    queue-limit = -1\n",
        "broker\n    endpoint = \"tcp://256.1.1.1:1\"\n",
        "broker\n    endpoint = \"nonsense\"\n",
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad); index++) {
        zconfig_t *root = zconfig_str_load (bad [index]);
        zmx_service_t *service = zmx_service_new ("broker", zmx_broker_actor,
                                                  zconfig_locate (root, "broker"), NULL);
        ZMX_CHECK (service == NULL);
        zconfig_destroy (&root);
    }
    zmx_test_rmdir (dir);
    free (dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "mdp01_round_trip", s_mdp01_round_trip, 20 },
        { "mdp02_round_trip", s_mdp02_round_trip, 20 },
        { "cross_version", s_cross_version, 20 },
        { "lru_fairness", s_lru_fairness, 20 },
        { "worker_credit", s_worker_credit, 20 },
        { "queue_until_worker", s_queue_until_worker, 20 },
        { "request_expiry", s_request_expiry, 20 },
        { "queue_overflow", s_queue_overflow, 20 },
        { "heartbeat_expiry", s_heartbeat_expiry, 20 },
        { "heartbeat_keeps_alive", s_heartbeat_keeps_alive, 20 },
        { "out_of_sequence", s_out_of_sequence, 20 },
        { "malformed_traffic", s_malformed_traffic, 30 },
        { "max_frame_size", s_max_frame_size, 20 },
        { "deep_pipeline", s_deep_pipeline, 30 },
        { "mmi_services", s_mmi_services, 20 },
        { "mmi_services_list", s_mmi_services_list, 60 },
        { "client_gone", s_client_gone, 20 },
        { "endpoints_and_commands", s_endpoints_and_commands, 20 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
