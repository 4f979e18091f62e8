/*  =========================================================================
    test_worker_v2 - zmx_worker speaking MDP/0.2 and zmx packed MDP
    (zmx_worker_set_version)

    The wire format is checked against a raw ROUTER standing in for the
    broker, frame by frame, as 18/MDP lays it out, and byte by byte for
    packed MDP; then a 0.2 worker serves 7/MDP clients through the real
    broker, which translates FINAL into REPLY, with credit and pipelined
    requests.
    =========================================================================
*/
#include "testing.h"

#define S_SERVICE "echo.v2"

//  Build a message from a NULL-terminated list of string frames ("" is an
//  empty frame), after the routing id `first`.
static zmsg_t *
s_msg_new (zframe_t *first, ...)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, zframe_data (first), zframe_size (first));
    va_list args;
    va_start (args, first);
    const char *text;
    while ((text = va_arg (args, const char *)))
        zmsg_addstr (msg, text);
    va_end (args);
    return msg;
}

//  A worker of `version` (credit 3) connected to a raw ROUTER; returns
//  its READY.
static zmsg_t *
s_connect (zsock_t *router, const char *endpoint, int version, zmx_worker_t **worker_p)
{
    zmx_worker_t *worker = zmx_worker_new (endpoint, S_SERVICE);
    ZMX_CHECK (worker);
    zmx_worker_set_credit (worker, 3);
    zmx_worker_set_version (worker, version);
    zframe_t *reply_to = NULL;
    ZMX_CHECK (zmx_worker_recv (worker, 0, &reply_to) == NULL);
    zmsg_t *ready = zmx_test_recv (router, 3000);
    ZMX_CHECK (ready);
    *worker_p = worker;
    return ready;
}

//  Drive `worker` until the ROUTER gets its next message (the READY of a
//  reconnect) or 5 seconds pass; that message, or NULL.
static zmsg_t *
s_await_reconnect (zmx_worker_t *worker, zsock_t *router)
{
    zframe_t *reply_to = NULL;
    zmsg_t *again = NULL;
    int64_t deadline = zclock_mono () + 5000;
    while (!again && zclock_mono () < deadline) {
        zmx_worker_recv (worker, 50, &reply_to);
        again = zmx_test_recv (router, 50);
    }
    return again;
}

static void
s_wire_format (void)
{
    char *endpoint = NULL;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_worker_t *worker;
    zmsg_t *ready = s_connect (router, endpoint, 2, &worker);
    //  18/MDP READY: no empty frame in front, credit extension as in 0.1
    ZMX_CHECK (zmx_test_msg_is (ready, 1, "MDPW02", "\x01", S_SERVICE, "3", NULL));
    zframe_t *identity = zmsg_first (ready);

    //  REQUEST in, FINAL out, client address returned unchanged
    zmsg_t *msg = s_msg_new (identity, "MDPW02", "\x02", "\x01" "client-1", "", "hello",
                             "world", NULL);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
    zframe_t *reply_to = NULL;
    zmsg_t *request = zmx_worker_recv (worker, 3000, &reply_to);
    ZMX_CHECK (request && reply_to);
    ZMX_CHECK (zmx_test_msg_is (request, 0, "hello", "world", NULL));
    ZMX_CHECK (zmx_worker_send (worker, &request, &reply_to) == ZMX_OK);
    msg = zmx_test_recv (router, 3000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "MDPW02", "\x04", "\x01" "client-1", "", "hello",
                                "world", NULL));
    zmsg_destroy (&msg);

    //  A 0.1 message on a 0.2 connection is dropped, not served
    msg = s_msg_new (identity, "", "MDPW01", "\x02", "\x01" "client-2", "", "x", NULL);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
    ZMX_CHECK (zmx_worker_recv (worker, 300, &reply_to) == NULL);
    ZMX_CHECK (zmx_worker_error (worker) == ZMX_ETIMEDOUT);

    //  0.2 DISCONNECT makes it reconnect, still speaking 0.2
    msg = s_msg_new (identity, "MDPW02", "\x06", NULL);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
    zmsg_t *again = s_await_reconnect (worker, router);
    ZMX_CHECK (again);
    ZMX_CHECK (zmx_test_msg_is (again, 1, "MDPW02", "\x01", S_SERVICE, "3", NULL));
    ZMX_CHECK (zmx_worker_connects (worker) == 2);
    zmsg_destroy (&again);

    //  Versions other than 1, 2 and 3 (packed) are refused and change
    //  nothing; a valid one waits for the next connect
    zmx_worker_set_version (worker, 4);
    zmx_worker_set_version (worker, 0);
    zmx_worker_set_version (worker, ZMX_MDP_PACKED);
    zmx_worker_destroy (&worker);
    //  The DISCONNECT on destroy is 0.2 as well
    msg = zmx_test_recv (router, 3000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "MDPW02", "\x06", NULL));
    zmsg_destroy (&msg);
    zmsg_destroy (&ready);
    zsock_destroy (&router);
    zstr_free (&endpoint);
}

#define S_LIT(text) text, sizeof (text) - 1

//  Packed MDP on the wire, byte by byte: READY with credit, a request
//  with its body inline and one with a large body frame, the replies,
//  DISCONNECT and the reconnect, and the DISCONNECT on destroy.
static void
s_packed_wire_format (void)
{
    char *endpoint = NULL;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_worker_t *worker;
    zmsg_t *ready = s_connect (router, endpoint, ZMX_MDP_PACKED, &worker);
    ZMX_CHECK (zmsg_size (ready) == 2);
    zframe_t *reply_to = NULL;
    zframe_t *identity = zmsg_first (ready);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (ready),
                                   S_LIT ("ZMXW01\x01\x00\x07" S_SERVICE "\x00\x00\x00\x03")));

    //  REQUEST with "hello" inline and "world" after it
    zmx_test_send_to (router, identity, S_LIT ("ZMXW01\x02\x01\x00\x09\x01" "client-1" "hello"),
                      zframe_new ("world", 5));
    zmsg_t *request = zmx_worker_recv (worker, 3000, &reply_to);
    ZMX_CHECK (request && reply_to);
    ZMX_CHECK (zmx_test_msg_is (request, 0, "hello", "world", NULL));
    ZMX_CHECK (zmx_worker_send (worker, &request, &reply_to) == ZMX_OK);
    zmsg_t *msg = zmx_test_recv (router, 3000);
    ZMX_CHECK (msg && zmsg_size (msg) == 3);
    zmsg_first (msg);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (msg),
                                   S_LIT ("ZMXW01\x04\x01\x00\x09\x01" "client-1" "hello")));
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (msg), S_LIT ("world")));
    zmsg_destroy (&msg);

    //  A large body arrives as its own frame and goes back as one
    zframe_t *big = zframe_new (NULL, ZMX_PACKED_INLINE_MAX + 1);
    memset (zframe_data (big), 'b', zframe_size (big));
    zframe_t *copy = zframe_dup (big);
    zmx_test_send_to (router, identity, S_LIT ("ZMXW01\x02\x00\x00\x09\x01" "client-2"), big);
    request = zmx_worker_recv (worker, 3000, &reply_to);
    ZMX_CHECK (request && zmsg_size (request) == 1 && zframe_eq (zmsg_first (request), copy));
    ZMX_CHECK (zmx_worker_send (worker, &request, &reply_to) == ZMX_OK);
    msg = zmx_test_recv (router, 3000);
    ZMX_CHECK (msg && zmsg_size (msg) == 3);
    zmsg_first (msg);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (msg),
                                   S_LIT ("ZMXW01\x04\x00\x00\x09\x01" "client-2")));
    ZMX_CHECK (zframe_eq (zmsg_next (msg), copy));
    zmsg_destroy (&msg);
    zframe_destroy (&copy);

    //  A 0.2 REQUEST, or a malformed packed one, on a packed connection is
    //  dropped, not served
    msg = s_msg_new (identity, "MDPW02", "\x02", "\x01" "client-3", "", "x", NULL);
    ZMX_CHECK (zmsg_send (&msg, router) == 0);
    zmx_test_send_to (router, identity, S_LIT ("ZMXW01\x02\x01\x01\x00\x01" "c"), NULL);
    ZMX_CHECK (zmx_worker_recv (worker, 300, &reply_to) == NULL);
    ZMX_CHECK (zmx_worker_error (worker) == ZMX_ETIMEDOUT);

    //  Packed DISCONNECT: it reconnects, still packed
    zmx_test_send_to (router, identity, S_LIT ("ZMXW01\x06\x00"), NULL);
    zmsg_t *again = s_await_reconnect (worker, router);
    ZMX_CHECK (again && zmsg_size (again) == 2);
    zmsg_first (again);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (again),
                                   S_LIT ("ZMXW01\x01\x00\x07" S_SERVICE "\x00\x00\x00\x03")));
    ZMX_CHECK (zmx_worker_connects (worker) == 2);
    zmsg_destroy (&again);
    zmx_worker_destroy (&worker);
    //  The DISCONNECT on destroy is packed as well
    msg = zmx_test_recv (router, 3000);
    ZMX_CHECK (msg && zmsg_size (msg) == 2);
    zmsg_first (msg);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (msg), S_LIT ("ZMXW01\x06\x00")));
    zmsg_destroy (&msg);
    zmsg_destroy (&ready);
    zsock_destroy (&router);
    zstr_free (&endpoint);
}

//  Echo thread: a 0.2 worker with credit, until the pipe says $TERM.
static void
s_echo_v2 (zsock_t *pipe, void *args)
{
    zmx_worker_t *worker = zmx_worker_new ((const char *) args, S_SERVICE);
    zmx_worker_set_credit (worker, 50);
    zmx_worker_set_version (worker, 2);
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    while (!zpoller_wait (poller, 0) && !zpoller_terminated (poller)) {
        zframe_t *reply_to = NULL;
        zmsg_t *request = zmx_worker_recv (worker, 20, &reply_to);
        if (request)
            zmx_worker_send (worker, &request, &reply_to);
    }
    zpoller_destroy (&poller);
    zmx_worker_destroy (&worker);
}

static void
s_through_broker (void)
{
    zmx_service_t *broker = zmx_test_broker_new ("    heartbeat-interval = 200\n");
    char *endpoint = strdup (zmx_service_endpoint (broker));
    zactor_t *echo = zactor_new (s_echo_v2, endpoint);
    ZMX_CHECK (zmx_test_wait_service (endpoint, S_SERVICE, 10000));

    //  Synchronous 7/MDP client
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (client);
    zmx_client_set_timeout (client, 5000);
    zmx_client_set_retries (client, 0);
    ZMX_CHECK (zmx_test_echo_ok (client, S_SERVICE, "ping"));

    //  Pipelined: more requests in flight than the worker's credit
    zmx_test_send_numbered (client, S_SERVICE, 500);
    zmx_test_recv_numbered (client, 500, 5000, S_SERVICE);
    zmx_client_destroy (&client);
    zactor_destroy (&echo);
    zmx_service_destroy (&broker);
    free (endpoint);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "wire_format", s_wire_format, 20 },
        { "packed_wire_format", s_packed_wire_format, 20 },
        { "through_broker", s_through_broker, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
