/*  =========================================================================
    test_worker - zmx_worker against a fake broker

    The broker here is a raw ROUTER socket driven by the test, so that every
    frame the worker sends can be checked exactly and every broker behaviour
    (silence, DISCONNECT, garbage) can be produced on purpose, independently
    of the real broker. Cases that need the worker to run while the test
    watches the clock put it in an actor thread. Each case sets up its
    fake broker and worker through one s_rig_t.
    =========================================================================
*/
#include "testing.h"

#define S_SERVICE "echo"

//  -------------------------------------------------------------------------
//  Fake broker helpers

//  One case's fake broker and the worker under test.
typedef struct {
    char *endpoint;             //  The fake broker's endpoint
    zsock_t *router;            //  The fake broker
    zmx_worker_t *worker;       //  Worker driven by the case, or NULL
    zmx_test_worker_t settings; //  Settings of the worker thread
    zactor_t *actor;            //  Worker in its own thread, or NULL
} s_rig_t;

//  Bind the fake broker; no worker yet.
static void
s_rig_init (s_rig_t *rig)
{
    memset (rig, 0, sizeof *rig);
    rig->router = zmx_test_router_new (NULL, &rig->endpoint);
}

//  Create the worker for S_SERVICE, with `credit` unless 0; not connected.
static void
s_rig_worker (s_rig_t *rig, uint32_t credit)
{
    rig->worker = zmx_worker_new (rig->endpoint, S_SERVICE);
    ZMX_CHECK (rig->worker);
    if (credit)
        zmx_worker_set_credit (rig->worker, credit);
}

//  Create the worker and let it connect; returns the READY it sent, whose
//  first frame is the worker's routing id. Caller destroys it.
static zmsg_t *
s_rig_connect (s_rig_t *rig, uint32_t credit)
{
    s_rig_worker (rig, credit);
    zframe_t *reply_to;
    zmx_worker_recv (rig->worker, 0, &reply_to);
    zmsg_t *ready = zmx_test_recv (rig->router, 2000);
    ZMX_CHECK (ready);
    return ready;
}

//  Start an echo worker in its own thread, so that it runs while the case
//  watches the clock: heartbeat interval_ms x 3, reconnect backoff_ms up
//  to 1000 ms.
static void
s_rig_thread (s_rig_t *rig, int interval_ms, int backoff_ms)
{
    rig->settings = (zmx_test_worker_t) {
        .endpoint = rig->endpoint, .service = S_SERVICE, .interval = interval_ms,
        .liveness = 3, .backoff_initial = backoff_ms, .backoff_max = 1000, .credit = 1
    };
    rig->actor = zactor_new (zmx_test_echo_worker, &rig->settings);
}

static void
s_rig_destroy (s_rig_t *rig)
{
    zmx_worker_destroy (&rig->worker);
    zactor_destroy (&rig->actor);
    zsock_destroy (&rig->router);
    zstr_free (&rig->endpoint);
}

//  Build a message from a NULL-terminated list of string frames ("" is an
//  empty frame), after an optional first frame (the routing id).
static zmsg_t *
s_msg_new (zframe_t *first, ...)
{
    zmsg_t *msg = zmsg_new ();
    if (first)
        zmsg_addmem (msg, zframe_data (first), zframe_size (first));
    va_list args;
    va_start (args, first);
    const char *text;
    while ((text = va_arg (args, const char *)))
        zmsg_addstr (msg, text);
    va_end (args);
    return msg;
}

//  The worker command byte of a message from the worker, or -1.
static int
s_command (zmsg_t *msg)
{
    zframe_t *frame = zmsg_first (msg);             //  Routing id
    frame = zmsg_next (msg);                        //  Empty
    frame = frame? zmsg_next (msg): NULL;           //  MDPW01
    frame = frame? zmsg_next (msg): NULL;           //  Command
    return frame && zframe_size (frame) == 1? zframe_data (frame) [0]: -1;
}

//  Receive until a message with the given worker command arrives, or the
//  deadline passes (NULL). Other messages are dropped.
static zmsg_t *
s_expect (zsock_t *router, int command, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        zmsg_t *msg = left > 0? zmx_test_recv (router, (int) left): NULL;
        if (!msg || s_command (msg) == command)
            return msg;
        zmsg_destroy (&msg);
    }
}

//  s_rig_init, s_rig_thread, then the worker's first READY (checked);
//  the caller destroys it.
static zmsg_t *
s_rig_thread_ready (s_rig_t *rig, int interval_ms, int backoff_ms)
{
    s_rig_init (rig);
    s_rig_thread (rig, interval_ms, backoff_ms);
    zmsg_t *ready = s_expect (rig->router, 1, 2000);
    ZMX_CHECK (ready);
    return ready;
}

static void
s_send_request (zsock_t *router, zframe_t *identity, const char *address, const char *body)
{
    zmsg_t *msg = s_msg_new (identity, "", ZMX_MDPW01, "\x02", address, "", body, NULL);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
}

static void
s_send_signal (zsock_t *router, zframe_t *identity, const char *command)
{
    zmsg_t *msg = s_msg_new (identity, "", ZMX_MDPW01, command, NULL);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
}

//  -------------------------------------------------------------------------
//  Cases

static void
s_ready_frames (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmx_worker_t *worker = zmx_worker_new (rig.endpoint, S_SERVICE);
    ZMX_CHECK (worker);
    ZMX_CHECK (zmx_worker_socket (worker) == NULL);
    ZMX_CHECK (zmx_worker_connects (worker) == 0);

    //  The first recv connects and registers; nothing comes back yet
    zframe_t *reply_to = NULL;
    ZMX_CHECK (zmx_worker_recv (worker, 0, &reply_to) == NULL);
    ZMX_CHECK (zmx_worker_error (worker) == ZMX_ETIMEDOUT);
    ZMX_CHECK (reply_to == NULL);
    ZMX_CHECK (zmx_worker_socket (worker) != NULL);
    ZMX_CHECK (zmx_worker_connects (worker) == 1);

    //  RFC 7 READY, and no credit frame for a plain worker
    zmsg_t *ready = zmx_test_recv (rig.router, 2000);
    ZMX_CHECK (ready);
    ZMX_CHECK (zmx_test_msg_is (ready, 1, "", "MDPW01", "\x01", S_SERVICE, NULL));
    zmsg_destroy (&ready);
    zmx_worker_destroy (&worker);
    ZMX_CHECK (worker == NULL);
    zmx_worker_destroy (&worker);           //  Idempotent

    //  Credit 1 set explicitly is still a plain worker
    s_rig_worker (&rig, 1);
    zmx_worker_recv (rig.worker, 0, &reply_to);
    ready = s_expect (rig.router, 1, 2000);
    ZMX_CHECK (ready);
    ZMX_CHECK (zmx_test_msg_is (ready, 1, "", "MDPW01", "\x01", S_SERVICE, NULL));
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

static void
s_ready_credit (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    rig.worker = zmx_worker_new (rig.endpoint, "svc.credit");
    zmx_worker_set_credit (rig.worker, 250);
    zmx_worker_set_credit (rig.worker, 0);                      //  Ignored
    zmx_worker_set_credit (rig.worker, ZMX_MDP_MAX_CREDIT + 1); //  Ignored
    zframe_t *reply_to;
    zmx_worker_recv (rig.worker, 0, &reply_to);
    zmsg_t *ready = zmx_test_recv (rig.router, 2000);
    ZMX_CHECK (ready);
    ZMX_CHECK (zmx_test_msg_is (ready, 1, "", "MDPW01", "\x01", "svc.credit", "250", NULL));
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  The broker keeps the worker alive with its own heartbeats and times the
//  worker's: one per interval, the first skipped because READY was sent.
static void
s_heartbeat_interval (void)
{
    s_rig_t rig;
    zmsg_t *ready = s_rig_thread_ready (&rig, 100, 100);
    int64_t ready_at = zclock_mono ();
    zframe_t *identity = zmsg_first (ready);
    int64_t beats [6];
    size_t count = 0;
    int64_t next_beat = ready_at + 100;
    int64_t deadline = ready_at + 2000;
    while (count < 6 && zclock_mono () < deadline) {
        int64_t now = zclock_mono ();
        if (now >= next_beat) {
            s_send_signal (rig.router, identity, "\x04");
            next_beat = now + 100;
        }
        zmsg_t *msg = zmx_test_recv (rig.router, (int) (next_beat - now));
        if (!msg)
            continue;
        //  Same connection throughout: no READY again, only heartbeats
        ZMX_CHECK (zframe_eq (zmsg_first (msg), identity));
        ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPW01", "\x04", NULL));
        beats [count++] = zclock_mono ();
        zmsg_destroy (&msg);
    }
    ZMX_CHECK (count == 6);
    int64_t first = beats [0] - ready_at;
    ZMX_CHECK (first >= 150 && first <= 350);
    for (size_t index = 1; index < count; index++) {
        int64_t gap = beats [index] - beats [index - 1];
        if (gap < 60 || gap > 200)
            fprintf (stderr, "heartbeat gap %" PRId64 " ms\n", gap);
        ZMX_CHECK (gap >= 60 && gap <= 200);
    }
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  A worker that keeps replying needs no heartbeats: none are sent.
static void
s_no_heartbeat_while_busy (void)
{
    s_rig_t rig;
    zmsg_t *ready = s_rig_thread_ready (&rig, 100, 100);
    zframe_t *identity = zmsg_first (ready);

    //  One request every 30 ms for 600 ms: every interval carries replies
    int64_t deadline = zclock_mono () + 600;
    int replies = 0, heartbeats = 0;
    while (zclock_mono () < deadline) {
        s_send_request (rig.router, identity, "client", "ping");
        zmsg_t *msg;
        while ((msg = zmx_test_recv (rig.router, 30))) {
            int command = s_command (msg);
            replies += command == 3;
            heartbeats += command == 4;
            zmsg_destroy (&msg);
        }
    }
    //  At most one, should the machine stall a whole interval
    ZMX_CHECK (replies >= 10);
    ZMX_CHECK (heartbeats <= 1);
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  Connect a worker with heartbeat 100 ms x 3 and credit 2, and hand it
//  one request; returns the READY (caller destroys) and the request.
static zmsg_t *
s_rig_busy (s_rig_t *rig, zmsg_t **request_p, zframe_t **reply_to_p)
{
    s_rig_worker (rig, 2);
    zmx_worker_set_heartbeat (rig->worker, 100, 3);
    ZMX_CHECK (zmx_worker_heartbeat (rig->worker) == ZMX_EAGAIN);    //  Not connected
    zmx_worker_recv (rig->worker, 0, reply_to_p);
    zmsg_t *ready = s_expect (rig->router, 1, 2000);
    ZMX_CHECK (ready);
    s_send_request (rig->router, zmsg_first (ready), "client-A", "A");
    *request_p = zmx_worker_recv (rig->worker, 2000, reply_to_p);
    ZMX_CHECK (*request_p);
    return ready;
}

//  A reply frame over the max frame size is not sent (the broker would
//  cut the connection and the client wait out every retry): the client
//  gets a zmx error reply, and the call says ZMX_ENOMEM. One at the limit
//  goes out as it is.
static void
s_oversize_reply_refused (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *ready = s_rig_connect (&rig, 0);
    zframe_t *identity = zmsg_first (ready);
    zmx_worker_set_max_frame (rig.worker, 1000);
    size_t sizes [2] = { 1000, 1001 };
    for (int index = 0; index < 2; index++) {
        s_send_request (rig.router, identity, "client-7", "big");
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (rig.worker, 2000, &reply_to);
        ZMX_CHECK (request);
        zmsg_destroy (&request);
        zmsg_t *reply = zmsg_new ();
        zmsg_addstr (reply, "head");
        zframe_t *big = zframe_new (NULL, sizes [index]);
        memset (zframe_data (big), 'x', sizes [index]);
        zmsg_append (reply, &big);
        int rc = zmx_worker_send (rig.worker, &reply, &reply_to);
        ZMX_CHECK (reply == NULL && reply_to == NULL);
        zmsg_t *msg = s_expect (rig.router, 3, 2000);
        //  Routing id, "", MDPW01, REPLY, address, "", then two body frames
        ZMX_CHECK (msg && zmsg_size (msg) == 8);
        zframe_t *last = zmsg_last (msg);
        if (index == 0)
            ZMX_CHECK (rc == ZMX_OK && zframe_size (last) == 1000);
        else {
            ZMX_CHECK (rc == ZMX_ENOMEM);
            char *reason = zframe_strdup (last);
            ZMX_CHECK_STR (reason, "reply frame of 1001 bytes is over the limit of 1000");
            free (reason);
            zmsg_remove (msg, last);
            zframe_destroy (&last);
            ZMX_CHECK (zframe_streq (zmsg_last (msg), ZMX_WORKER_ERROR));
        }
        zmsg_destroy (&msg);
    }
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  A broker that floods a busy worker beyond its credit (2) cannot make it
//  keep more than the credit: the rest is dropped and counted, and the
//  worker stays connected and serves what it kept.
static void
s_flood_beyond_credit (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    //  The fake broker does not heartbeat: keep liveness out of the way
    s_rig_worker (&rig, 2);
    zmx_worker_set_heartbeat (rig.worker, 5000, 3);
    zframe_t *reply_to;
    zmx_worker_recv (rig.worker, 0, &reply_to);
    zmsg_t *ready = s_expect (rig.router, 1, 2000);
    ZMX_CHECK (ready);
    zframe_t *identity = zmsg_first (ready);
    s_send_request (rig.router, identity, "client-A", "A");
    zmsg_t *request = zmx_worker_recv (rig.worker, 2000, &reply_to);
    ZMX_CHECK (request);
    int flood = 50;
    for (int index = 0; index < flood; index++) {
        char address [16];
        snprintf (address, sizeof address, "client-%d", index);
        s_send_request (rig.router, identity, address, "flood");
    }
    //  The worker works on A and heartbeats meanwhile, as a caller must;
    //  the flood is on its way at once, 5 s only bound a hang
    int64_t deadline = zclock_mono () + 5000;
    while (zmx_worker_dropped (rig.worker) < (uint64_t) flood - 2) {
        ZMX_CHECK (zmx_worker_heartbeat (rig.worker) == ZMX_OK);
        ZMX_CHECK (zclock_mono () < deadline);
        usleep (1000);
    }
    ZMX_CHECK (zmx_worker_heartbeat (rig.worker) == ZMX_OK);
    ZMX_CHECK (zmx_worker_dropped (rig.worker) == (uint64_t) flood - 2);
    ZMX_CHECK (zmx_worker_send (rig.worker, &request, &reply_to) == ZMX_OK);
    for (int index = 0; index < 2; index++) {
        request = zmx_worker_recv (rig.worker, 0, &reply_to);
        ZMX_CHECK (request && zmx_test_msg_is (request, 0, "flood", NULL));
        ZMX_CHECK (zmx_worker_send (rig.worker, &request, &reply_to) == ZMX_OK);
    }
    ZMX_CHECK (zmx_worker_connects (rig.worker) == 1);
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  A caller that works on a request for two liveness windows stays
//  connected by calling zmx_worker_heartbeat: heartbeats go out once per
//  interval, and a request that arrives meanwhile waits for the next recv.
static void
s_heartbeat_while_working (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *request;
    zframe_t *reply_to;
    zmsg_t *ready = s_rig_busy (&rig, &request, &reply_to);
    zframe_t *identity = zmsg_first (ready);

    int64_t started = zclock_mono ();
    int64_t next_beat = started, last_heard = 0, longest_gap = 0;
    int heartbeats = 0;
    bool sent_b = false;
    while (zclock_mono () - started < 600) {
        usleep (20000);         //  The caller's work, in slices
        ZMX_CHECK (zmx_worker_heartbeat (rig.worker) == ZMX_OK);
        int64_t now = zclock_mono ();
        if (now >= next_beat) {
            s_send_signal (rig.router, identity, "\x04");
            next_beat = now + 100;
        }
        if (!sent_b && now - started >= 250) {
            s_send_request (rig.router, identity, "client-B", "B");
            sent_b = true;
        }
        zmsg_t *msg;
        while ((msg = zmx_test_recv (rig.router, 0))) {
            ZMX_CHECK (s_command (msg) == 4);
            heartbeats++;
            now = zclock_mono ();
            if (last_heard && now - last_heard > longest_gap)
                longest_gap = now - last_heard;
            last_heard = now;
            zmsg_destroy (&msg);
        }
    }
    fprintf (stderr, "%d heartbeats while working, longest gap %" PRId64 " ms\n",
             heartbeats, longest_gap);
    ZMX_CHECK (heartbeats >= 4 && longest_gap <= 200);
    ZMX_CHECK (zmx_worker_connects (rig.worker) == 1);
    ZMX_CHECK (zmx_worker_send (rig.worker, &request, &reply_to) == ZMX_OK);
    request = zmx_worker_recv (rig.worker, 0, &reply_to);
    ZMX_CHECK (request && zmx_test_msg_is (request, 0, "B", NULL));
    ZMX_CHECK (zmx_worker_send (rig.worker, &request, &reply_to) == ZMX_OK);
    const char *clients [2] = { "client-A", "client-B" };
    for (int index = 0; index < 2; index++) {
        zmsg_t *reply = s_expect (rig.router, 3, 2000);
        ZMX_CHECK (reply);
        ZMX_CHECK (zmx_test_msg_is (reply, 1, "", "MDPW01", "\x03", clients [index], "",
                                    clients [index] + 7, NULL));
        zmsg_destroy (&reply);
    }
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  A broker that falls silent while the caller works is found dead by
//  zmx_worker_heartbeat: the request it kept is dropped, the reply too,
//  and only the next recv reconnects.
static void
s_heartbeat_finds_silence (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *request;
    zframe_t *reply_to;
    zmsg_t *ready = s_rig_busy (&rig, &request, &reply_to);
    s_send_request (rig.router, zmsg_first (ready), "client-B", "b");

    int64_t started = zclock_mono ();
    int rc;
    while ((rc = zmx_worker_heartbeat (rig.worker)) == ZMX_OK) {
        ZMX_CHECK (zclock_mono () - started < 2000);
        usleep (10000);
    }
    int64_t elapsed = zclock_mono () - started;
    fprintf (stderr, "silent broker found after %" PRId64 " ms\n", elapsed);
    ZMX_CHECK (rc == ZMX_EAGAIN);
    ZMX_CHECK (elapsed >= 250 && elapsed < 1000);
    ZMX_CHECK (zmx_worker_socket (rig.worker) == NULL);
    ZMX_CHECK (zmx_worker_send (rig.worker, &request, &reply_to) == ZMX_EAGAIN);
    ZMX_CHECK (zmx_worker_connects (rig.worker) == 1);

    //  The next recv reconnects; request B went with the old connection
    ZMX_CHECK (zmx_worker_recv (rig.worker, 300, &reply_to) == NULL);
    ZMX_CHECK (zmx_worker_error (rig.worker) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zmx_worker_connects (rig.worker) == 2);
    zsys_interrupted = 1;
    ZMX_CHECK (zmx_worker_heartbeat (rig.worker) == ZMX_ETERM);
    zsys_interrupted = 0;
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

static void
s_request_reply (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *ready = s_rig_connect (&rig, 0);
    zframe_t *identity = zmsg_first (ready);

    zframe_t *reply_to;
    zmsg_t *msg = s_msg_new (identity, "", "MDPW01", "\x02", "\x01" "client-7", "", "hello",
                             "world", NULL);
    zmsg_send (&msg, rig.router);
    zmsg_t *request = zmx_worker_recv (rig.worker, 2000, &reply_to);
    ZMX_CHECK (request);
    ZMX_CHECK (reply_to);
    ZMX_CHECK (zmx_test_msg_is (request, 0, "hello", "world", NULL));
    zmsg_destroy (&request);

    //  The reply carries the client address back unchanged
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "ok");
    ZMX_CHECK (zmx_worker_send (rig.worker, &reply, &reply_to) == ZMX_OK);
    ZMX_CHECK (reply == NULL && reply_to == NULL);
    msg = zmx_test_recv (rig.router, 2000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPW01", "\x03", "\x01" "client-7", "", "ok",
                                NULL));
    zmsg_destroy (&msg);

    //  An empty reply travels as one empty body frame
    s_send_request (rig.router, identity, "client-8", "x");
    request = zmx_worker_recv (rig.worker, 2000, &reply_to);
    ZMX_CHECK (request);
    zmsg_destroy (&request);
    reply = zmsg_new ();
    ZMX_CHECK (zmx_worker_send (rig.worker, &reply, &reply_to) == ZMX_OK);
    msg = zmx_test_recv (rig.router, 2000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPW01", "\x03", "client-8", "", "", NULL));
    zmsg_destroy (&msg);

    //  Missing parts are consumed and refused
    reply = zmsg_new ();
    ZMX_CHECK (zmx_worker_send (rig.worker, &reply, &reply_to) == ZMX_EINVAL);
    ZMX_CHECK (reply == NULL);
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  With credit 3 the worker takes three requests and answers them in any
//  order, each reply going to its own client.
static void
s_credit_out_of_order (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *ready = s_rig_connect (&rig, 3);
    ZMX_CHECK (zmx_test_msg_is (ready, 1, "", "MDPW01", "\x01", S_SERVICE, "3", NULL));
    zframe_t *identity = zmsg_first (ready);

    const char *clients [3] = { "client-A", "client-B", "client-C" };
    for (int index = 0; index < 3; index++)
        s_send_request (rig.router, identity, clients [index], clients [index] + 7);
    zmsg_t *requests [3];
    zframe_t *reply_to [3];
    for (int index = 0; index < 3; index++) {
        requests [index] = zmx_worker_recv (rig.worker, 2000, &reply_to [index]);
        ZMX_CHECK (requests [index]);
    }
    const int order [3] = { 2, 0, 1 };
    for (int step = 0; step < 3; step++) {
        int index = order [step];
        ZMX_CHECK (zmx_worker_send (rig.worker, &requests [index], &reply_to [index])
                   == ZMX_OK);
    }
    for (int step = 0; step < 3; step++) {
        const char *client = clients [order [step]];
        zmsg_t *msg = zmx_test_recv (rig.router, 2000);
        ZMX_CHECK (msg);
        ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPW01", "\x03", client, "", client + 7,
                                    NULL));
        zmsg_destroy (&msg);
    }
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

//  DISCONNECT: reconnect at once on a new socket. A second one before the
//  broker said anything else gets the backoff, so a broker that refuses
//  the worker is not hammered.
static void
s_disconnect_reconnects (void)
{
    s_rig_t rig;
    zmsg_t *first = s_rig_thread_ready (&rig, 1000, 500);
    int64_t sent_at = zclock_mono ();
    s_send_signal (rig.router, zmsg_first (first), "\x05");
    zmsg_t *second = s_expect (rig.router, 1, 2000);
    ZMX_CHECK (second);
    ZMX_CHECK (zclock_mono () - sent_at < 400);
    ZMX_CHECK (!zframe_eq (zmsg_first (first), zmsg_first (second)));
    ZMX_CHECK (zmx_test_msg_is (second, 1, "", "MDPW01", "\x01", S_SERVICE, NULL));

    sent_at = zclock_mono ();
    s_send_signal (rig.router, zmsg_first (second), "\x05");
    zmsg_t *third = s_expect (rig.router, 1, 3000);
    ZMX_CHECK (third);
    int64_t waited = zclock_mono () - sent_at;
    ZMX_CHECK (waited >= 450 && waited < 1500);
    ZMX_CHECK (!zframe_eq (zmsg_first (second), zmsg_first (third)));

    zmsg_destroy (&first);
    zmsg_destroy (&second);
    zmsg_destroy (&third);
    s_rig_destroy (&rig);
}

//  A silent broker is declared dead after liveness x interval; the worker
//  reconnects after the backoff, which doubles while the broker stays
//  silent: 300 + 100 ms, then 300 + 200 ms.
static void
s_silent_broker_reconnects (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    s_rig_thread (&rig, 100, 100);

    zmsg_t *readies [3];
    int64_t times [3];
    for (int index = 0; index < 3; index++) {
        readies [index] = s_expect (rig.router, 1, 3000);
        times [index] = zclock_mono ();
        ZMX_CHECK (readies [index]);
        if (index)
            ZMX_CHECK (!zframe_eq (zmsg_first (readies [index]),
                                   zmsg_first (readies [index - 1])));
    }
    int64_t first = times [1] - times [0], second = times [2] - times [1];
    fprintf (stderr, "reconnected after %" PRId64 " ms, then %" PRId64 " ms\n", first, second);
    ZMX_CHECK (first >= 360 && first <= 700);
    ZMX_CHECK (second >= 460 && second <= 800);
    for (int index = 0; index < 3; index++)
        zmsg_destroy (&readies [index]);
    s_rig_destroy (&rig);
}

//  Garbage from the broker is dropped; it neither crashes the worker nor
//  disturbs the connection, and the next real request gets through.
static void
s_malformed_ignored (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *ready = s_rig_connect (&rig, 0);
    zframe_t *id = zmsg_first (ready);

    zmsg_t *junk [] = {
        s_msg_new (id, "junk", NULL),
        s_msg_new (id, "", NULL),
        s_msg_new (id, "", "MDPW01", NULL),
        s_msg_new (id, "", "MDPW01", "\x02", NULL),
        s_msg_new (id, "", "MDPW01", "\x02", "client", "x", "body", NULL),
        s_msg_new (id, "", "MDPW01", "\x02", "", "", "body", NULL),
        s_msg_new (id, "", "MDPW01", "\x09", NULL),
        s_msg_new (id, "", "MDPW01", "\x05\x05", NULL),
        s_msg_new (id, "", "MDPW01", "\x05", "extra", NULL),
        s_msg_new (id, "", "MDPW01", "\x01", S_SERVICE, NULL),
        s_msg_new (id, "", "MDPW01", "\x03", "client", "", "body", NULL),
        s_msg_new (id, "MDPW02", "\x06", NULL),
        s_msg_new (id, "MDPW02", "\x02", "client", "", "body", NULL),
        s_msg_new (id, "", "MDPC01", S_SERVICE, "body", NULL),
        s_msg_new (id, "", "MDPW02", "\x05", NULL),
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (junk); index++)
        zmsg_send (&junk [index], rig.router);
    //  An over-long address, and too many frames
    char address [300];
    memset (address, 'a', sizeof address - 1);
    address [sizeof address - 1] = 0;
    s_send_request (rig.router, id, address, "long");
    zmsg_t *many = s_msg_new (id, "", "MDPW01", "\x02", "client", "", NULL);
    for (int index = 0; index < 70; index++)
        zmsg_addstr (many, "x");
    zmsg_send (&many, rig.router);

    s_send_request (rig.router, id, "client", "valid");
    zframe_t *reply_to;
    zmsg_t *request = zmx_worker_recv (rig.worker, 2000, &reply_to);
    ZMX_CHECK (request);
    ZMX_CHECK (zmx_test_msg_is (request, 0, "valid", NULL));
    ZMX_CHECK (zmx_worker_connects (rig.worker) == 1);
    ZMX_CHECK (zmx_worker_send (rig.worker, &request, &reply_to) == ZMX_OK);
    zmsg_t *reply = zmx_test_recv (rig.router, 2000);
    ZMX_CHECK (reply && s_command (reply) == 3);
    zmsg_destroy (&reply);
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);
}

static void
s_destroy_sends_disconnect (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *ready = s_rig_connect (&rig, 0);
    zmx_worker_destroy (&rig.worker);
    zmsg_t *bye = zmx_test_recv (rig.router, 2000);
    ZMX_CHECK (bye);
    ZMX_CHECK (zframe_eq (zmsg_first (bye), zmsg_first (ready)));
    ZMX_CHECK (zmx_test_msg_is (bye, 1, "", "MDPW01", "\x05", NULL));
    zmsg_destroy (&bye);
    zmsg_destroy (&ready);
    s_rig_destroy (&rig);

    //  A worker that never connected has nothing to say
    zmx_worker_t *worker = zmx_worker_new ("tcp://127.0.0.1:1", S_SERVICE);
    zmx_worker_destroy (&worker);
}

//  A reply to a request from before a reconnect must not reach the new
//  connection (the broker never gave it that request): it is dropped with
//  ZMX_EAGAIN, and the new connection works normally.
static void
s_stale_reply_dropped (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    zmsg_t *first = s_rig_connect (&rig, 0);
    zframe_t *old_reply_to, *reply_to;
    s_send_request (rig.router, zmsg_first (first), "client-old", "old");
    zmsg_t *old = zmx_worker_recv (rig.worker, 2000, &old_reply_to);
    ZMX_CHECK (old);

    s_send_signal (rig.router, zmsg_first (first), "\x05");
    ZMX_CHECK (zmx_worker_recv (rig.worker, 200, &reply_to) == NULL);
    ZMX_CHECK (zmx_worker_connects (rig.worker) == 2);
    zmsg_t *second = s_expect (rig.router, 1, 2000);
    ZMX_CHECK (second);
    ZMX_CHECK (zmx_worker_send (rig.worker, &old, &old_reply_to) == ZMX_EAGAIN);
    ZMX_CHECK (old == NULL && old_reply_to == NULL);

    s_send_request (rig.router, zmsg_first (second), "client-new", "new");
    zmsg_t *fresh = zmx_worker_recv (rig.worker, 2000, &reply_to);
    ZMX_CHECK (fresh);
    ZMX_CHECK (zmx_worker_send (rig.worker, &fresh, &reply_to) == ZMX_OK);
    //  Messages on one connection keep their order: the first REPLY the
    //  broker sees must be the new one
    zmsg_t *reply = s_expect (rig.router, 3, 2000);
    ZMX_CHECK (reply);
    ZMX_CHECK (zmx_test_msg_is (reply, 1, "", "MDPW01", "\x03", "client-new", "", "new",
                                NULL));
    zmsg_destroy (&reply);
    zmsg_destroy (&first);
    zmsg_destroy (&second);
    s_rig_destroy (&rig);
}

static void
s_recv_timeout (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    s_rig_worker (&rig, 0);
    zframe_t *reply_to;
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_worker_recv (rig.worker, 150, &reply_to) == NULL);
    int64_t elapsed = zclock_mono () - started;
    ZMX_CHECK (zmx_worker_error (rig.worker) == ZMX_ETIMEDOUT);
    ZMX_CHECK (elapsed >= 145 && elapsed < 500);
    s_rig_destroy (&rig);
}

static void
s_interrupted (void)
{
    s_rig_t rig;
    s_rig_init (&rig);
    s_rig_worker (&rig, 0);
    zframe_t *reply_to;
    zsys_interrupted = 1;
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_worker_recv (rig.worker, 5000, &reply_to) == NULL);
    ZMX_CHECK (zmx_worker_error (rig.worker) == ZMX_ETERM);
    ZMX_CHECK (zclock_mono () - started < 1000);
    zsys_interrupted = 0;
    s_rig_destroy (&rig);
}

static void
s_invalid_arguments (void)
{
    ZMX_CHECK (zmx_worker_new (NULL, S_SERVICE) == NULL);
    ZMX_CHECK (zmx_worker_new ("", S_SERVICE) == NULL);
    ZMX_CHECK (zmx_worker_new ("localhost:5555", S_SERVICE) == NULL);
    ZMX_CHECK (zmx_worker_new ("tcp://", S_SERVICE) == NULL);
    ZMX_CHECK (zmx_worker_new ("tcp://a:1,,tcp://b:2", S_SERVICE) == NULL);
    ZMX_CHECK (zmx_worker_new ("tcp://a:1,localhost:2", S_SERVICE) == NULL);
    ZMX_CHECK (zmx_worker_new ("tcp://127.0.0.1:5555", NULL) == NULL);
    ZMX_CHECK (zmx_worker_new ("tcp://127.0.0.1:5555", "") == NULL);
    ZMX_CHECK (zmx_worker_new ("tcp://127.0.0.1:5555", "bad\nname") == NULL);
    char long_name [300];
    memset (long_name, 's', sizeof long_name - 1);
    long_name [sizeof long_name - 1] = 0;
    ZMX_CHECK (zmx_worker_new ("tcp://127.0.0.1:5555", long_name) == NULL);

    zmx_worker_t *worker = zmx_worker_new ("ipc:///tmp/zmx-none/broker", S_SERVICE);
    ZMX_CHECK (worker);
    ZMX_CHECK (zmx_worker_set_curve (worker, "/nonexistent/client.cert", "x") == ZMX_ESECURITY);
    ZMX_CHECK (zmx_worker_set_curve (worker, NULL, NULL) == ZMX_ESECURITY);
    zmx_worker_set_heartbeat (worker, 0, 3);            //  Ignored, logged
    zmx_worker_set_reconnect (worker, 500, 100);        //  Ignored, logged
    zmsg_t *reply = zmsg_new ();
    zframe_t *reply_to = zframe_new ("abcdefgh", 8);
    ZMX_CHECK (zmx_worker_send (worker, &reply, &reply_to) == ZMX_EAGAIN);
    ZMX_CHECK (reply == NULL && reply_to == NULL);
    zmx_worker_destroy (&worker);
}

//  With CURVE set, the worker reaches a CURVE broker and registers.
static void
s_curve_connects (void)
{
    char *dir = zmx_test_tmpdir ();
    char *client_path = zsys_sprintf ("%s/client.cert", dir);
    ZMX_CHECK (zmx_security_keygen (client_path, "test worker") == ZMX_OK);
    zcert_t *server = zcert_new ();
    char *endpoint;
    zsock_t *router = zmx_test_router_new (server, &endpoint);

    zmx_worker_t *worker = zmx_worker_new (endpoint, S_SERVICE);
    ZMX_CHECK (zmx_worker_set_curve (worker, client_path, zcert_public_txt (server)) == ZMX_OK);
    zframe_t *reply_to;
    zmx_worker_recv (worker, 0, &reply_to);
    zmsg_t *ready = zmx_test_recv (router, 3000);
    ZMX_CHECK (ready);
    ZMX_CHECK (zmx_test_msg_is (ready, 1, "", "MDPW01", "\x01", S_SERVICE, NULL));
    zmsg_destroy (&ready);
    zmx_worker_destroy (&worker);
    zsock_destroy (&router);
    zcert_destroy (&server);
    zstr_free (&endpoint);
    zstr_free (&client_path);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "ready_frames", s_ready_frames, 10 },
        { "ready_credit", s_ready_credit, 10 },
        { "heartbeat_interval", s_heartbeat_interval, 10 },
        { "no_heartbeat_while_busy", s_no_heartbeat_while_busy, 10 },
        { "heartbeat_while_working", s_heartbeat_while_working, 10 },
        { "flood_beyond_credit", s_flood_beyond_credit, 10 },
        { "oversize_reply_refused", s_oversize_reply_refused, 10 },
        { "heartbeat_finds_silence", s_heartbeat_finds_silence, 10 },
        { "request_reply", s_request_reply, 10 },
        { "credit_out_of_order", s_credit_out_of_order, 10 },
        { "disconnect_reconnects", s_disconnect_reconnects, 10 },
        { "silent_broker_reconnects", s_silent_broker_reconnects, 10 },
        { "malformed_ignored", s_malformed_ignored, 10 },
        { "destroy_sends_disconnect", s_destroy_sends_disconnect, 10 },
        { "stale_reply_dropped", s_stale_reply_dropped, 10 },
        { "recv_timeout", s_recv_timeout, 10 },
        { "interrupted", s_interrupted, 10 },
        { "invalid_arguments", s_invalid_arguments, 10 },
        { "curve_connects", s_curve_connects, 10 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
