/*  =========================================================================
    test_broker_packed - zmx packed MDP through the broker: the wire layout
    checked byte by byte with raw sockets, zmx_client and zmx_worker in
    packed mode end to end over tcp (credit, pipelining, large and
    multi-frame bodies), packed peers mixed with 7/MDP and 18/MDP ones in
    both directions, 8/MMI answered in packed framing, heartbeats and
    sequence violations, malformed packed traffic dropped while others are
    served, a worker killed mid-request with the client retrying, and
    replies over a federation hop.
    =========================================================================
*/
#include "testing.h"

typedef struct {
    zmx_service_t *service;
    char *endpoint;
} s_broker_t;

static s_broker_t
s_broker_start (void)
{
    s_broker_t broker;
    broker.service = zmx_test_broker_new ("    heartbeat-interval = 100\n");
    broker.endpoint = strdup (zmx_service_endpoint (broker.service));
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
    return zmx_test_dealer_new (broker->endpoint, 3000);
}

//  A packed header frame for `command` with `field` and, if `inline_body`
//  is not NULL, that text inline.
static zframe_t *
s_header (zmx_mdp_command_t command, const void *field, size_t field_size,
          uint32_t credit, const char *inline_body)
{
    size_t inline_size = inline_body? strlen (inline_body): 0;
    zframe_t *frame = zframe_new (NULL, zmx_mdp_packed_size (command, field_size, inline_size));
    size_t at = zmx_mdp_packed_write (zframe_data (frame), command, inline_body != NULL,
                                      field, field_size, credit);
    if (inline_size)
        memcpy (zframe_data (frame) + at, inline_body, inline_size);
    ZMX_CHECK (at + inline_size == zframe_size (frame));
    return frame;
}

//  Send a first frame (consumed) then the body frames in args, up to a NULL.
static void
s_send_va (zsock_t *sock, zframe_t *first, va_list args)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &first);
    const char *text;
    while ((text = va_arg (args, const char *)))
        zmsg_addstr (msg, text);
    zmsg_send (&msg, sock);
}

//  Send a header frame then the NULL-terminated body frames.
static void
s_send (zsock_t *sock, zframe_t *header, ...)
{
    va_list args;
    va_start (args, header);
    s_send_va (sock, header, args);
    va_end (args);
}

static void
s_client_request (zsock_t *client, const char *service, const char *inline_body)
{
    s_send (client, s_header (ZMX_MDP_CLIENT_REQUEST, service, strlen (service), 0,
                              inline_body), NULL);
}

static void
s_ready (zsock_t *worker, const char *service, uint32_t credit)
{
    s_send (worker, s_header (ZMX_MDP_WORKER_READY, service, strlen (service), credit, NULL),
            NULL);
}

//  Receive, skipping packed HEARTBEATs; decode at `side` into *view.
static zmsg_t *
s_recv (zsock_t *sock, zmx_mdp_side_t side, zmx_mdp_view_t *view)
{
    while (true) {
        zmsg_t *msg = zmsg_recv (sock);
        ZMX_CHECK (msg);
        ZMX_CHECK (zmx_mdp_decode_msg (msg, side, view) == 0);
        ZMX_CHECK (view->version == ZMX_MDP_PACKED);
        if (view->command != ZMX_MDP_WORKER_HEARTBEAT)
            return msg;
        zmsg_destroy (&msg);
    }
}

//  True if the inline body of a decoded packed message is `text`.
static bool
s_inline_is (zmsg_t *msg, zmx_mdp_view_t *view, const char *text)
{
    zframe_t *header = zmsg_first (msg);
    return view->inline_body && view->inline_size == strlen (text)
        && memcmp (zframe_data (header) + view->inline_offset, text, strlen (text)) == 0;
}

//  Answer a packed REQUEST with FINAL (or PARTIAL) carrying `text` inline.
static void
s_worker_reply (zsock_t *worker, zmsg_t *request, zmx_mdp_view_t *view,
                zmx_mdp_command_t command, const char *text)
{
    const byte *header = zframe_data (zmsg_first (request));
    s_send (worker, s_header (command, header + view->address_offset, view->address_size, 0,
                              text), NULL);
}

//  The next reply at a raw packed client is `command` with `text` inline,
//  for `service` too unless that is NULL.
static void
s_expect_reply (zsock_t *client, zmx_mdp_command_t command, const char *text,
                const char *service)
{
    zmx_mdp_view_t view;
    zmsg_t *reply = s_recv (client, ZMX_MDP_AT_CLIENT, &view);
    ZMX_CHECK (view.command == command && s_inline_is (reply, &view, text));
    if (service)
        ZMX_CHECK (memcmp (zframe_data (zmsg_first (reply)) + view.service_offset, service,
                           strlen (service)) == 0);
    zmsg_destroy (&reply);
}

//  The exact bytes of each packed command, both ways, with small bodies
//  inline and a large one as its own frame.
static void
s_wire_layout (void)
{
    s_broker_t broker = s_broker_start ();
    zsock_t *worker = s_peer (&broker);
    s_ready (worker, "echo", 2);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    zsock_t *client = s_peer (&broker);
    s_client_request (client, "echo", "hello");

    zmx_mdp_view_t view;
    zmsg_t *request = s_recv (worker, ZMX_MDP_AT_WORKER, &view);
    //  One frame: ZMXW01 0x02 INLINE, address (tag 4 + routing id), body
    ZMX_CHECK (zmsg_size (request) == 1);
    const byte *bytes = zframe_data (zmsg_first (request));
    ZMX_CHECK (memcmp (bytes, "ZMXW01\x02\x01", 8) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_REQUEST && view.address_offset == 10);
    ZMX_CHECK (bytes [8] == 0 && bytes [9] == view.address_size);
    ZMX_CHECK (bytes [10] == 4);       //  the client's tag: packed
    ZMX_CHECK (s_inline_is (request, &view, "hello"));
    s_worker_reply (worker, request, &view, ZMX_MDP_WORKER_FINAL, "world");
    zmsg_destroy (&request);

    zmsg_t *reply = s_recv (client, ZMX_MDP_AT_CLIENT, &view);
    ZMX_CHECK (zmsg_size (reply) == 1);
    ZMX_CHECK (memcmp (zframe_data (zmsg_first (reply)), "ZMXC01\x03\x01\x04" "echo", 13) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_FINAL && s_inline_is (reply, &view, "world"));
    zmsg_destroy (&reply);

    //  A large body is not copied into the header: header, then its frame
    char big [3000];
    memset (big, 'b', sizeof big - 1);
    big [sizeof big - 1] = 0;
    s_send (client, s_header (ZMX_MDP_CLIENT_REQUEST, "echo", 4, 0, NULL), big, "tail", NULL);
    request = s_recv (worker, ZMX_MDP_AT_WORKER, &view);
    ZMX_CHECK (zmsg_size (request) == 3 && !view.inline_body && view.body == 1);
    ZMX_CHECK (zmx_test_msg_is (request, 1, big, "tail", NULL));
    //  The worker's reply: a small frame 0 inline, the big one after it
    const byte *header = zframe_data (zmsg_first (request));
    s_send (worker, s_header (ZMX_MDP_WORKER_FINAL, header + view.address_offset,
                              view.address_size, 0, "small"), big, NULL);
    zmsg_destroy (&request);
    reply = s_recv (client, ZMX_MDP_AT_CLIENT, &view);
    ZMX_CHECK (zmsg_size (reply) == 2 && s_inline_is (reply, &view, "small"));
    ZMX_CHECK (zmx_test_msg_is (reply, 1, big, NULL));
    zmsg_destroy (&reply);

    //  An empty body travels as an empty inline body, and comes back so
    s_client_request (client, "echo", "");
    request = s_recv (worker, ZMX_MDP_AT_WORKER, &view);
    ZMX_CHECK (zmsg_size (request) == 1 && s_inline_is (request, &view, ""));
    s_worker_reply (worker, request, &view, ZMX_MDP_WORKER_FINAL, "");
    zmsg_destroy (&request);
    reply = s_recv (client, ZMX_MDP_AT_CLIENT, &view);
    ZMX_CHECK (zmsg_size (reply) == 1 && s_inline_is (reply, &view, ""));
    zmsg_destroy (&reply);

    //  PARTIALs reach a packed client, then the FINAL
    s_client_request (client, "echo", "parts");
    request = s_recv (worker, ZMX_MDP_AT_WORKER, &view);
    s_worker_reply (worker, request, &view, ZMX_MDP_WORKER_PARTIAL, "one");
    s_worker_reply (worker, request, &view, ZMX_MDP_WORKER_FINAL, "two");
    zmsg_destroy (&request);
    s_expect_reply (client, ZMX_MDP_CLIENT_PARTIAL, "one", NULL);
    s_expect_reply (client, ZMX_MDP_CLIENT_FINAL, "two", NULL);
    ZMX_CHECK (zmx_service_counter (broker.service, "replies") == 4);
    ZMX_CHECK (zmx_service_counter (broker.service, "partials") == 1);

    //  A packed worker gets packed HEARTBEATs: an 8-byte header
    zmsg_t *beat = zmsg_recv (worker);
    ZMX_CHECK (beat && zmsg_size (beat) == 1 && zframe_size (zmsg_first (beat)) == 8);
    ZMX_CHECK (memcmp (zframe_data (zmsg_first (beat)), "ZMXW01\x05\x00", 8) == 0);
    zmsg_destroy (&beat);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  -------------------------------------------------------------------------
//  The classes in packed mode

typedef struct {
    const char *endpoint;
    const char *service;
    int version;
    uint32_t credit;
} s_worker_args_t;

//  A zmx_worker of the given version and credit echoing requests until
//  $TERM on the actor pipe; signals the pipe first if `signal`.
static void
s_echo_serve (zsock_t *pipe, s_worker_args_t *settings, bool signal)
{
    zmx_worker_t *worker = zmx_worker_new (settings->endpoint, settings->service);
    assert (worker);
    zmx_worker_set_heartbeat (worker, 100, 5);
    zmx_worker_set_reconnect (worker, 50, 200);
    zmx_worker_set_credit (worker, settings->credit);
    zmx_worker_set_version (worker, settings->version);
    if (signal)
        zsock_signal (pipe, 0);
    zmx_test_echo_serve (pipe, &worker);
}

static void
s_echo_worker (zsock_t *pipe, void *args)
{
    s_echo_serve (pipe, (s_worker_args_t *) args, true);
}

//  A request of frames of the given sizes (each filled with its index),
//  sent and checked to come back equal.
static bool
s_echo_sizes (zmx_client_t *client, const char *service, const size_t *sizes, size_t count)
{
    zmsg_t *request = zmsg_new ();
    for (size_t index = 0; index < count; index++) {
        zframe_t *frame = zframe_new (NULL, sizes [index]);
        memset (zframe_data (frame), 'a' + (int) index, sizes [index]);
        zmsg_append (request, &frame);
    }
    zmsg_t *copy = zmsg_dup (request);
    zmsg_t *reply = zmx_client_request (client, service, &request);
    //  An empty request travels as one empty frame
    bool same = reply && (count == 0? zmsg_size (reply) == 1
                                      && zframe_size (zmsg_first (reply)) == 0
                                    : zmsg_size (reply) == count);
    for (zframe_t *a = zmsg_first (copy), *b = reply? zmsg_first (reply): NULL;
         same && a && b; a = zmsg_next (copy), b = zmsg_next (reply))
        same = zframe_eq (a, b);
    zmsg_destroy (&copy);
    zmsg_destroy (&reply);
    return same;
}

static void
s_classes_end_to_end (void)
{
    s_broker_t broker = s_broker_start ();
    s_worker_args_t args = { broker.endpoint, "echo", ZMX_MDP_PACKED, 50 };
    zactor_t *worker = zactor_new (s_echo_worker, &args);
    zmx_client_t *client = zmx_client_new (broker.endpoint);
    ZMX_CHECK (zmx_client_set_version (client, 2) == ZMX_EINVAL);
    ZMX_CHECK (zmx_client_set_version (client, ZMX_MDP_PACKED) == ZMX_OK);
    zmx_client_set_timeout (client, 3000);
    ZMX_CHECK (zmx_test_wait_service (broker.endpoint, "echo", 5000));
    ZMX_CHECK (zmx_test_echo_ok (client, "echo", "hello"));

    const size_t small [] = { 16 };
    const size_t edge [] = { ZMX_PACKED_INLINE_MAX };
    const size_t above [] = { ZMX_PACKED_INLINE_MAX + 1 };
    const size_t large [] = { 4096, 16, 100000 };
    const size_t mixed [] = { 16, 70000, 0, 3 };
    ZMX_CHECK (s_echo_sizes (client, "echo", small, 1));
    ZMX_CHECK (s_echo_sizes (client, "echo", edge, 1));
    ZMX_CHECK (s_echo_sizes (client, "echo", above, 1));
    ZMX_CHECK (s_echo_sizes (client, "echo", large, 3));
    ZMX_CHECK (s_echo_sizes (client, "echo", mixed, 4));
    ZMX_CHECK (s_echo_sizes (client, "echo", NULL, 0));

    //  Pipelined: 2000 requests, 200 in flight, through a credit worker
    zmx_client_t *async = zmx_client_new (broker.endpoint);
    zmx_client_set_version (async, ZMX_MDP_PACKED);
    int sent = 0, received = 0;
    long sum_sent = 0, sum_received = 0;
    while (received < 2000) {
        while (sent < 2000 && sent - received < 200) {
            zmsg_t *request = zmsg_new ();
            zmsg_addstrf (request, "%d", sent);
            sum_sent += sent++;
            ZMX_CHECK (zmx_client_send (async, "echo", &request) == ZMX_OK);
        }
        char *service = NULL;
        zmsg_t *reply = zmx_client_recv (async, 5000, &service);
        ZMX_CHECK (reply && service && streq (service, "echo"));
        char *text = zmsg_popstr (reply);
        sum_received += atol (text);
        received++;
        free (text);
        free (service);
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (sum_sent == sum_received);
    zmx_client_destroy (&async);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    ZMX_CHECK (zmx_service_counter (broker.service, "malformed") == 0);
    s_broker_stop (&broker);
}

//  The raw packed client asks "stream" of the raw 0.2 worker `streamer`;
//  returns the client address in the worker's REQUEST (caller destroys).
static zframe_t *
s_stream_ask (zsock_t *client, zsock_t *streamer)
{
    s_client_request (client, "stream", "go");
    zmsg_t *request = NULL;
    do {
        zmsg_destroy (&request);
        request = zmsg_recv (streamer);
        ZMX_CHECK (request);
    } while (zmsg_size (request) != 5);
    zmsg_first (request);
    zmsg_next (request);
    zframe_t *address = zframe_dup (zmsg_next (request));
    zmsg_destroy (&request);
    return address;
}

//  The raw 0.2 worker answers *address_p (destroyed) with PARTIAL
//  "partial", then FINAL "final".
static void
s_stream_answer (zsock_t *streamer, zframe_t **address_p)
{
    zframe_t *address = *address_p;
    for (int part = 0; part < 2; part++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, ZMX_MDPW02);
        zmsg_addstr (msg, part? "\x04": "\x03");
        zmsg_addmem (msg, zframe_data (address), zframe_size (address));
        zmsg_addstr (msg, "");
        zmsg_addstr (msg, part? "final": "partial");
        zmsg_send (&msg, streamer);
    }
    zframe_destroy (address_p);
}

//  Packed clients with 0.1 and 0.2 workers, and 0.1 clients with a packed
//  worker; a packed client takes the FINAL of a 0.2 worker's PARTIALs.
static void
s_mixed_versions (void)
{
    s_broker_t broker = s_broker_start ();
    s_worker_args_t args_v1 = { broker.endpoint, "v1", 1, 1 };
    s_worker_args_t args_v2 = { broker.endpoint, "v2", 2, 10 };
    s_worker_args_t args_packed = { broker.endpoint, "packed", ZMX_MDP_PACKED, 10 };
    zactor_t *worker_v1 = zactor_new (s_echo_worker, &args_v1);
    zactor_t *worker_v2 = zactor_new (s_echo_worker, &args_v2);
    zactor_t *worker_packed = zactor_new (s_echo_worker, &args_packed);
    ZMX_CHECK (zmx_test_wait_service (broker.endpoint, "v1", 5000));
    ZMX_CHECK (zmx_test_wait_service (broker.endpoint, "v2", 5000));
    ZMX_CHECK (zmx_test_wait_service (broker.endpoint, "packed", 5000));

    zmx_client_t *packed = zmx_client_new (broker.endpoint);
    zmx_client_set_version (packed, ZMX_MDP_PACKED);
    zmx_client_t *plain = zmx_client_new (broker.endpoint);
    const size_t sizes [] = { 5, 5000, 7 };
    const char *services [] = { "v1", "v2", "packed" };
    for (size_t index = 0; index < 3; index++) {
        ZMX_CHECK (zmx_test_echo_ok (packed, services [index], "from packed"));
        ZMX_CHECK (zmx_test_echo_ok (plain, services [index], "from 0.1"));
        ZMX_CHECK (s_echo_sizes (packed, services [index], sizes, 3));
        ZMX_CHECK (s_echo_sizes (plain, services [index], sizes, 3));
    }
    //  A raw 0.2 worker streaming PARTIALs to a raw packed client
    zsock_t *raw_worker = s_peer (&broker);
    zstr_sendx (raw_worker, ZMX_MDPW02, "\x01", "stream", NULL);
    ZMX_CHECK (zmx_test_wait_service (broker.endpoint, "stream", 5000));
    zsock_t *raw_client = s_peer (&broker);
    zframe_t *address = s_stream_ask (raw_client, raw_worker);
    ZMX_CHECK (zframe_size (address) > 1 && zframe_data (address) [0] == 4);
    s_stream_answer (raw_worker, &address);
    s_expect_reply (raw_client, ZMX_MDP_CLIENT_PARTIAL, "partial", NULL);
    s_expect_reply (raw_client, ZMX_MDP_CLIENT_FINAL, "final", NULL);

    zsock_destroy (&raw_client);
    zsock_destroy (&raw_worker);
    zmx_client_destroy (&packed);
    zmx_client_destroy (&plain);
    zactor_destroy (&worker_packed);
    zactor_destroy (&worker_v2);
    zactor_destroy (&worker_v1);
    ZMX_CHECK (zmx_service_counter (broker.service, "malformed") == 0);
    s_broker_stop (&broker);
}

//  8/MMI answered in packed framing
static void
s_mmi_packed (void)
{
    s_broker_t broker = s_broker_start ();
    zsock_t *worker = s_peer (&broker);
    s_ready (worker, "echo", 0);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    zsock_t *client = s_peer (&broker);
    const char *asks [][3] = {
        { "mmi.service", "echo", "200" },
        { "mmi.service", "nosuch", "404" },
        { "mmi.unheard", "x", "501" },
        { "mmi.services", "", "1 0 echo" }
    };
    for (size_t index = 0; index < 4; index++) {
        s_client_request (client, asks [index][0], asks [index][1]);
        zmx_mdp_view_t view;
        zmsg_t *reply = s_recv (client, ZMX_MDP_AT_CLIENT, &view);
        ZMX_CHECK (view.command == ZMX_MDP_CLIENT_FINAL && zmsg_size (reply) == 1);
        ZMX_CHECK (view.service_size == strlen (asks [index][0]));
        ZMX_CHECK (memcmp (zframe_data (zmsg_first (reply)) + view.service_offset,
                           asks [index][0], view.service_size) == 0);
        ZMX_CHECK (s_inline_is (reply, &view, asks [index][2]));
        zmsg_destroy (&reply);
    }
    //  The asked name may also come as a frame of its own
    s_send (client, s_header (ZMX_MDP_CLIENT_REQUEST, "mmi.service", 11, 0, NULL), "echo",
            NULL);
    zmx_mdp_view_t view;
    zmsg_t *reply = s_recv (client, ZMX_MDP_AT_CLIENT, &view);
    ZMX_CHECK (s_inline_is (reply, &view, "200"));
    zmsg_destroy (&reply);
    ZMX_CHECK (zmx_service_counter (broker.service, "mmi") == 5);
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_broker_stop (&broker);
}

//  Commands out of sequence get a packed DISCONNECT; a packed worker may
//  leave with DISCONNECT.
static void
s_expect_disconnect (zsock_t *sock)
{
    zmx_mdp_view_t view;
    zmsg_t *msg = s_recv (sock, ZMX_MDP_AT_WORKER, &view);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_DISCONNECT && zmsg_size (msg) == 1);
    zmsg_destroy (&msg);
}

static void
s_out_of_sequence (void)
{
    s_broker_t broker = s_broker_start ();
    zsock_t *peer = s_peer (&broker);
    s_send (peer, s_header (ZMX_MDP_WORKER_FINAL, "\x04" "abc", 4, 0, "x"), NULL);
    s_expect_disconnect (peer);
    s_send (peer, s_header (ZMX_MDP_WORKER_HEARTBEAT, NULL, 0, 0, NULL), NULL);
    s_expect_disconnect (peer);
    s_ready (peer, "mmi.mine", 0);
    s_expect_disconnect (peer);
    s_ready (peer, "twice", 3);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    s_ready (peer, "twice", 3);
    s_expect_disconnect (peer);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0, 3000));
    //  A registered packed worker switching to 0.2 is disconnected in packed
    s_ready (peer, "switch", 0);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    zstr_sendx (peer, ZMX_MDPW02, "\x05", NULL);
    s_expect_disconnect (peer);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0, 3000));
    ZMX_CHECK (zmx_service_counter (broker.service, "disconnects_sent") == 5);
    s_ready (peer, "leaving", 0);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    s_send (peer, s_header (ZMX_MDP_WORKER_DISCONNECT, NULL, 0, 0, NULL), NULL);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 0, 3000));
    zsock_destroy (&peer);
    s_broker_stop (&broker);
}

//  A header given as a string literal with its exact size (it may hold
//  NUL bytes)
typedef struct {
    const char *data;
    size_t size;
} s_bytes_t;
#define S_BYTES(text) { text, sizeof (text) - 1 }

//  Send raw bytes as one frame, then the NULL-terminated frames.
static void
s_send_raw (zsock_t *sock, const void *data, size_t size, ...)
{
    va_list args;
    va_start (args, size);
    s_send_va (sock, zframe_new (data, size), args);
    va_end (args);
}

//  Malformed packed messages are counted and dropped; a registered packed
//  worker that sends one is disconnected; clients keep being served.
static void
s_malformed_packed (void)
{
    s_broker_t broker = s_broker_start ();
    s_worker_args_t args = { broker.endpoint, "echo", ZMX_MDP_PACKED, 10 };
    zactor_t *worker = zactor_new (s_echo_worker, &args);
    ZMX_CHECK (zmx_test_wait_service (broker.endpoint, "echo", 5000));
    zmx_client_t *client = zmx_client_new (broker.endpoint);
    zmx_client_set_version (client, ZMX_MDP_PACKED);
    zsock_t *vandal = s_peer (&broker);
    const s_bytes_t bad [] = {
        S_BYTES ("ZMXC01"),                         //  short header
        S_BYTES ("ZMXC01\x01\x02\x04" "echo"),      //  unknown flag
        S_BYTES ("ZMXC01\x01\x01\x09" "echo"),      //  service length past the frame
        S_BYTES ("ZMXC01\x01\x01"),                 //  no service length
        S_BYTES ("ZMXC01\x01\x01\x00"),             //  empty service
        S_BYTES ("ZMXC01\x03\x01\x04" "echo"),      //  FINAL sent to the broker
        S_BYTES ("ZMXC01\x01\x00\x04" "echox"),     //  trailing bytes without INLINE
        S_BYTES ("ZMXC01\x01\x00\x04" "echo"),      //  no body at all
        S_BYTES ("ZMXC01\x01\x01\x04" "ec\x01o"),   //  unprintable service
        S_BYTES ("ZMXW01\x02\x01\x00\x01" "a"),     //  REQUEST sent to the broker
        S_BYTES ("ZMXW01\x07\x00"),                 //  unknown worker command
        S_BYTES ("ZMXW01\x01\x00\x04" "echo"),      //  READY without credit
        S_BYTES ("ZMXW01\x05\x01"),                 //  HEARTBEAT with INLINE
        S_BYTES ("ZMXW01\x04\x01\x01\x01" "a"),     //  address longer than 256
    };
    size_t bad_count = sizeof bad / sizeof bad [0];
    for (int round = 0; round < 20; round++) {
        for (size_t index = 0; index < bad_count; index++)
            s_send_raw (vandal, bad [index].data, bad [index].size, NULL);
        //  65 frames
        zmsg_t *many = zmsg_new ();
        zmsg_addmem (many, "ZMXC01\x01\x00\x04" "echo", 13);
        for (int frame = 0; frame < 64; frame++)
            zmsg_addstr (many, "f");
        zmsg_send (&many, vandal);
        ZMX_CHECK (zmx_test_echo_ok (client, "echo", "still here"));
    }
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "malformed", 20 * (bad_count + 1), 5000));
    //  A registered packed worker that sends garbage is disconnected
    zsock_t *bad_worker = s_peer (&broker);
    s_ready (bad_worker, "bad", 0);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 2, 3000));
    s_send_raw (bad_worker, "ZMXW01\x04\x00\x00\x00", 10, "x", NULL);   //  empty address
    s_expect_disconnect (bad_worker);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    ZMX_CHECK (zmx_test_echo_ok (client, "echo", "after"));
    zsock_destroy (&bad_worker);
    zsock_destroy (&vandal);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    s_broker_stop (&broker);
}

//  zactor: a raw packed worker that takes one request and dies without
//  answering; then a packed zmx_worker serves until $TERM.
static void
s_dying_then_echo (zsock_t *pipe, void *args)
{
    s_broker_t *broker = (s_broker_t *) args;
    zsock_t *doomed = s_peer (broker);
    s_ready (doomed, "flaky", 0);
    zsock_signal (pipe, 0);
    zmx_mdp_view_t view;
    zmsg_t *request = s_recv (doomed, ZMX_MDP_AT_WORKER, &view);
    zmsg_destroy (&request);
    zsock_destroy (&doomed);            //  killed mid-request
    s_worker_args_t settings = { broker->endpoint, "flaky", ZMX_MDP_PACKED, 5 };
    s_echo_serve (pipe, &settings, false);
}

//  A worker killed mid-request: the packed client's retry is served by the
//  next worker. With two brokers listed, the first dead, the client's
//  packed ping finds the live one.
static void
s_worker_killed_retry (void)
{
    s_broker_t broker = s_broker_start ();
    zactor_t *worker = zactor_new (s_dying_then_echo, &broker);
    ZMX_CHECK (zmx_test_wait_counter (broker.service, "workers", 1, 3000));
    zmx_client_t *client = zmx_client_new (broker.endpoint);
    zmx_client_set_version (client, ZMX_MDP_PACKED);
    zmx_client_set_timeout (client, 1000);
    zmx_client_set_retries (client, 5);
    ZMX_CHECK (zmx_test_echo_ok (client, "flaky", "retry me"));
    zmx_client_destroy (&client);

    int dead_port = zmx_test_free_port ();
    int tombstone = zmx_test_tombstone (dead_port);
    char *list = zsys_sprintf ("tcp://127.0.0.1:%d,%s", dead_port, broker.endpoint);
    client = zmx_client_new (list);
    zmx_client_set_version (client, ZMX_MDP_PACKED);
    zmx_client_set_timeout (client, 500);
    ZMX_CHECK (zmx_test_echo_ok (client, "flaky", "failed over"));
    ZMX_CHECK_STR (zmx_client_endpoint (client), broker.endpoint);
    zmx_client_destroy (&client);
    zstr_free (&list);
    if (tombstone >= 0)
        close (tombstone);
    zactor_destroy (&worker);
    s_broker_stop (&broker);
}

//  An in-process broker on `port` federated with the broker on `peer`.
static zmx_service_t *
s_federated_start (int port, int peer)
{
    char *text = zsys_sprintf ("broker\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
                               "    heartbeat-interval = 100\n"
                               "    peers = \"tcp://127.0.0.1:%d\"\n"
                               "    federation-interval = 100\n"
                               "    federation-liveness = 3\n", port, peer);
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    zmx_service_t *service = zmx_service_new ("broker", zmx_broker_actor,
                                              zconfig_locate (root, "broker"), NULL);
    ZMX_CHECK (service);
    zconfig_destroy (&root);
    zstr_free (&text);
    return service;
}

//  Federation: a packed client on broker A, workers on broker B. Replies
//  come back over the hop in packed framing, PARTIALs included.
static void
s_federated_reply (void)
{
    int port_a = zmx_test_free_port ();
    int port_b = zmx_test_free_port ();
    while (port_b == port_a)
        port_b = zmx_test_free_port ();
    zmx_service_t *a = s_federated_start (port_a, port_b);
    zmx_service_t *b = s_federated_start (port_b, port_a);
    s_broker_t broker_b = { b, zsys_sprintf ("tcp://127.0.0.1:%d", port_b) };
    s_broker_t broker_a = { a, zsys_sprintf ("tcp://127.0.0.1:%d", port_a) };
    s_worker_args_t args = { broker_b.endpoint, "far", ZMX_MDP_PACKED, 10 };
    zactor_t *worker = zactor_new (s_echo_worker, &args);
    zsock_t *streamer = s_peer (&broker_b);
    zstr_sendx (streamer, ZMX_MDPW02, "\x01", "stream", NULL);
    ZMX_CHECK (zmx_test_wait_service (broker_a.endpoint, "far", 10000));
    ZMX_CHECK (zmx_test_wait_service (broker_a.endpoint, "stream", 10000));

    zmx_client_t *client = zmx_client_new (broker_a.endpoint);
    zmx_client_set_version (client, ZMX_MDP_PACKED);
    zmx_client_set_timeout (client, 3000);
    ZMX_CHECK (zmx_test_echo_ok (client, "far", "over the hop"));
    const size_t sizes [] = { 20, 5000 };
    ZMX_CHECK (s_echo_sizes (client, "far", sizes, 2));
    ZMX_CHECK (zmx_service_counter (a, "fed_forwarded") >= 2);

    zsock_t *raw_client = s_peer (&broker_a);
    zframe_t *address = s_stream_ask (raw_client, streamer);
    s_stream_answer (streamer, &address);
    s_expect_reply (raw_client, ZMX_MDP_CLIENT_PARTIAL, "partial", "stream");
    s_expect_reply (raw_client, ZMX_MDP_CLIENT_FINAL, "final", NULL);

    zsock_destroy (&raw_client);
    zsock_destroy (&streamer);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    s_broker_stop (&broker_a);
    s_broker_stop (&broker_b);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "wire_layout", s_wire_layout, 20 },
        { "classes_end_to_end", s_classes_end_to_end, 30 },
        { "mixed_versions", s_mixed_versions, 30 },
        { "mmi_packed", s_mmi_packed, 20 },
        { "out_of_sequence", s_out_of_sequence, 20 },
        { "malformed_packed", s_malformed_packed, 30 },
        { "worker_killed_retry", s_worker_killed_retry, 40 },
        { "federated_reply", s_federated_reply, 40 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
