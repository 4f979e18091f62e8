/*  =========================================================================
    test_client - zmx_client against a fake broker, then end to end

    zmx packed MDP (zmx_client_set_version) is checked byte by byte against
    a raw ROUTER as well.
    The fake broker is a raw ROUTER in an actor thread, so that the client
    can block in zmx_client_request while the broker answers, drops
    requests, or sends wrong replies on purpose. The end-to-end cases run
    the real broker in-process (zmx_service_new) with zmx_worker workers.
    =========================================================================
*/
#include "testing.h"

#define S_SERVICE "echo"

//  -------------------------------------------------------------------------
//  Helpers

static zmsg_t *
s_body (const char *text)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, text);
    return msg;
}

//  -------------------------------------------------------------------------
//  Fake broker actor: echoes requests, after dropping the first `drop`
//  ones, and optionally sending wrong replies first. "STATS" on the pipe
//  answers "<requests> <distinct connections>".

typedef struct {
    int drop;                   //  Requests to ignore before answering
    bool junk;                  //  Send invalid replies before each answer
    char endpoint [64];         //  Set by the actor before it signals
} s_broker_args_t;

static void
s_send_junk (zsock_t *router, zframe_t *identity)
{
    const char *junk [][5] = {
        { "", "MDPC02", S_SERVICE, "junk", NULL },      //  Wrong header
        { "", "MDPC01", "other", "junk", NULL },        //  Wrong service
        { "", "MDPW01", "\x03", "junk", NULL },         //  Worker command
        { "MDPC01", S_SERVICE, "junk", NULL },          //  No empty frame
        { "", "MDPC01", S_SERVICE, NULL },              //  No body
        { "junk", NULL },
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (junk); index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
        for (size_t part = 0; junk [index][part]; part++)
            zmsg_addstr (msg, junk [index][part]);
        zmsg_send (&msg, router);
    }
    //  A well-formed reply with more frames than MDP allows (64) is not
    //  junk to skip but an error: see oversize_reply_fails
}

static void
s_broker_actor (zsock_t *pipe, void *args)
{
    s_broker_args_t *settings = (s_broker_args_t *) args;
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    snprintf (settings->endpoint, sizeof settings->endpoint, "%s", endpoint);
    zstr_free (&endpoint);
    zsock_signal (pipe, 0);

    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    zhashx_t *peers = zhashx_new ();
    int requests = 0;
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool stats = command && streq (command, "STATS");
            zstr_free (&command);
            if (!stats)
                break;
            zstr_sendf (pipe, "%d %zu", requests, zhashx_size (peers));
            continue;
        }
        if (which != router)
            break;
        zmsg_t *msg = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (msg);
        char *key = zframe_strhex (identity);
        zhashx_update (peers, key, (void *) 1);
        zstr_free (&key);
        if (++requests > settings->drop) {
            if (settings->junk)
                s_send_junk (router, identity);
            zmsg_prepend (msg, &identity);          //  Echo: REPLY == REQUEST
            zmsg_send (&msg, router);
        }
        zframe_destroy (&identity);
        zmsg_destroy (&msg);
    }
    zhashx_destroy (&peers);
    zpoller_destroy (&poller);
    zsock_destroy (&router);
}

//  The fake broker must have seen exactly this many requests and
//  connections.
static void
s_broker_check (zactor_t *broker, int requests, int connections)
{
    zstr_send (broker, "STATS");
    char *stats = zstr_recv (broker);
    ZMX_CHECK (stats);
    int seen_requests, seen_connections;
    ZMX_CHECK (sscanf (stats, "%d %d", &seen_requests, &seen_connections) == 2);
    if (seen_requests != requests || seen_connections != connections)
        fprintf (stderr, "    broker saw %d requests on %d connections, expected %d on %d\n",
                 seen_requests, seen_connections, requests, connections);
    ZMX_CHECK (seen_requests == requests && seen_connections == connections);
    zstr_free (&stats);
}

//  One case's fake broker and the client under test.
typedef struct {
    s_broker_args_t args;       //  Fake broker settings, then its endpoint
    zactor_t *broker;           //  The fake broker
    zmx_client_t *client;       //  Client of the fake broker
} s_rig_t;

//  Start a fake broker that drops `drop` requests first and sends junk
//  before each answer if `junk`, and a client of it.
static void
s_rig_init (s_rig_t *rig, int drop, bool junk)
{
    memset (rig, 0, sizeof *rig);
    rig->args.drop = drop;
    rig->args.junk = junk;
    rig->broker = zactor_new (s_broker_actor, &rig->args);
    ZMX_CHECK (rig->broker);
    rig->client = zmx_client_new (rig->args.endpoint);
    ZMX_CHECK (rig->client);
}

static void
s_rig_destroy (s_rig_t *rig)
{
    zmx_client_destroy (&rig->client);
    zactor_destroy (&rig->broker);
}

//  -------------------------------------------------------------------------
//  Fake broker cases

static void
s_request_frames (void)
{
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (client);
    ZMX_CHECK (zmx_client_socket (client) == NULL);
    ZMX_CHECK_STR (zmx_client_endpoint (client), endpoint);

    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "hello");
    zmsg_addstr (request, "world");
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    ZMX_CHECK (request == NULL);
    ZMX_CHECK (zmx_client_socket (client) != NULL);
    zmsg_t *msg = zmx_test_recv (router, 2000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPC01", S_SERVICE, "hello", "world", NULL));
    zmsg_destroy (&msg);

    //  An empty body travels as one empty frame
    request = zmsg_new ();
    ZMX_CHECK (zmx_client_send (client, "svc.b", &request) == ZMX_OK);
    msg = zmx_test_recv (router, 2000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPC01", "svc.b", "", NULL));
    zmsg_destroy (&msg);

    zmx_client_destroy (&client);
    ZMX_CHECK (client == NULL);
    zmx_client_destroy (&client);           //  Idempotent
    zsock_destroy (&router);
    zstr_free (&endpoint);
}

#define S_LIT(text) text, sizeof (text) - 1

//  zmx packed MDP against a raw ROUTER, byte by byte: small bodies go
//  inline, a large one as its own frame; of the replies only packed FINALs
//  for a service with requests in flight are taken.
static void
s_packed_frames (void)
{
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (zmx_client_set_version (client, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_client_set_version (client, ZMX_MDP_PACKED) == ZMX_OK);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "hello");
    zmsg_addstr (request, "world");
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    zmsg_t *msg = zmx_test_recv (router, 2000);
    ZMX_CHECK (msg && zmsg_size (msg) == 3);
    zframe_t *identity = zmsg_pop (msg);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_first (msg), S_LIT ("ZMXC01\x01\x01\x04" "echohello")));
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (msg), S_LIT ("world")));
    zmsg_destroy (&msg);

    request = zmsg_new ();          //  empty body: empty inline body
    ZMX_CHECK (zmx_client_send (client, "svc.b", &request) == ZMX_OK);
    msg = zmx_test_recv (router, 2000);
    ZMX_CHECK (msg && zmsg_size (msg) == 2);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_last (msg), S_LIT ("ZMXC01\x01\x01\x05" "svc.b")));
    zmsg_destroy (&msg);

    zframe_t *big = zframe_new (NULL, ZMX_PACKED_INLINE_MAX + 1);
    memset (zframe_data (big), 'b', zframe_size (big));
    request = zmsg_new ();
    zmsg_append (request, &(zframe_t *) { zframe_dup (big) });
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    msg = zmx_test_recv (router, 2000);
    ZMX_CHECK (msg && zmsg_size (msg) == 3);
    zmsg_first (msg);
    ZMX_CHECK (zmx_test_bytes_are (zmsg_next (msg), S_LIT ("ZMXC01\x01\x00\x04" "echo")));
    ZMX_CHECK (zframe_eq (zmsg_next (msg), big));
    zmsg_destroy (&msg);

    //  Dropped: a 7/MDP REPLY, a PARTIAL, another service, a malformed one
    zmsg_t *reply = zmsg_new ();
    zmsg_addmem (reply, zframe_data (identity), zframe_size (identity));
    zmsg_addstr (reply, "");
    zmsg_addstr (reply, ZMX_MDPC01);
    zmsg_addstr (reply, S_SERVICE);
    zmsg_addstr (reply, "old framing");
    zmsg_send (&reply, router);
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x02\x01\x04" "echopartial"), NULL);
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x03\x01\x05" "other" "x"), NULL);
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x03\x03\x04" "echox"), NULL);
    //  Taken, in order: inline + frame, a frame only, an empty inline body
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x03\x01\x04" "echor1"),
                      zframe_new ("r2", 2));
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x03\x00\x04" "echo"), zframe_dup (big));
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x03\x01\x05" "svc.b"), NULL);
    char *service = NULL;
    reply = zmx_client_recv (client, 2000, &service);
    ZMX_CHECK (reply && zmx_test_msg_is (reply, 0, "r1", "r2", NULL));
    ZMX_CHECK_STR (service, S_SERVICE);
    zstr_free (&service);
    zmsg_destroy (&reply);
    reply = zmx_client_recv (client, 2000, NULL);
    ZMX_CHECK (reply && zmsg_size (reply) == 1 && zframe_eq (zmsg_first (reply), big));
    zmsg_destroy (&reply);
    reply = zmx_client_recv (client, 2000, &service);
    ZMX_CHECK (reply && zmx_test_msg_is (reply, 0, "", NULL));
    ZMX_CHECK_STR (service, "svc.b");
    zstr_free (&service);
    zmsg_destroy (&reply);
    //  Nothing is in flight now: a late FINAL is dropped too
    zmx_test_send_to (router, identity, S_LIT ("ZMXC01\x03\x01\x04" "echolate"), NULL);
    ZMX_CHECK (zmx_client_recv (client, 200, NULL) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_ETIMEDOUT);

    zframe_destroy (&big);
    zframe_destroy (&identity);
    zmx_client_destroy (&client);
    zsock_destroy (&router);
    zstr_free (&endpoint);
}

static void
s_request_reply (void)
{
    s_rig_t rig;
    s_rig_init (&rig, 0, false);
    zmx_client_set_timeout (rig.client, 2000);
    ZMX_CHECK (zmx_test_echo_ok (rig.client, S_SERVICE, "hello"));
    ZMX_CHECK (zmx_client_error (rig.client) == ZMX_OK);
    ZMX_CHECK (zmx_test_echo_ok (rig.client, S_SERVICE, "again"));

    //  Multi-frame bodies come back whole
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "a");
    zmsg_addmem (request, "", 0);
    zmsg_addstr (request, "c");
    zmsg_t *reply = zmx_client_request (rig.client, S_SERVICE, &request);
    ZMX_CHECK (reply && zmx_test_msg_is (reply, 0, "a", "", "c", NULL));
    zmsg_destroy (&reply);
    s_broker_check (rig.broker, 3, 1);
    s_rig_destroy (&rig);
}

//  The broker ignores the first two requests: each timeout reopens the
//  socket (a new connection at the broker) and resends.
static void
s_retry_reopens_socket (void)
{
    s_rig_t rig;
    s_rig_init (&rig, 2, false);
    zmx_client_set_timeout (rig.client, 200);
    zmx_client_set_retries (rig.client, 3);
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_test_echo_ok (rig.client, S_SERVICE, "third time lucky"));
    int64_t elapsed = zclock_mono () - started;
    ZMX_CHECK (elapsed >= 390 && elapsed < 1500);
    s_broker_check (rig.broker, 3, 3);
    s_rig_destroy (&rig);
}

//  Nobody answers: retries + 1 attempts of `timeout` each, then
//  ZMX_ETIMEDOUT.
static void
s_all_retries_fail (void)
{
    s_rig_t rig;
    s_rig_init (&rig, 1000, false);
    zmx_client_set_timeout (rig.client, 150);
    zmx_client_set_retries (rig.client, 2);
    zmsg_t *request = s_body ("anyone?");
    int64_t started = zclock_mono ();
    zmsg_t *reply = zmx_client_request (rig.client, S_SERVICE, &request);
    int64_t elapsed = zclock_mono () - started;
    ZMX_CHECK (reply == NULL);
    ZMX_CHECK (request == NULL);
    ZMX_CHECK (zmx_client_error (rig.client) == ZMX_ETIMEDOUT);
    ZMX_CHECK (elapsed >= 3 * 150 - 5 && elapsed < 3 * 150 + 400);
    ZMX_CHECK (zmx_client_socket (rig.client) == NULL);
    s_broker_check (rig.broker, 3, 3);

    //  Without any broker at all, the same
    char *nowhere = zmx_test_free_endpoint ();
    zmx_client_t *lonely = zmx_client_new (nowhere);
    zmx_client_set_timeout (lonely, 100);
    zmx_client_set_retries (lonely, 1);
    request = s_body ("hello?");
    started = zclock_mono ();
    ZMX_CHECK (zmx_client_request (lonely, S_SERVICE, &request) == NULL);
    elapsed = zclock_mono () - started;
    ZMX_CHECK (zmx_client_error (lonely) == ZMX_ETIMEDOUT);
    ZMX_CHECK (elapsed >= 195 && elapsed < 600);
    zmx_client_destroy (&lonely);
    zstr_free (&nowhere);
    s_rig_destroy (&rig);
}

//  The first broker of the list is dead: the retry goes to the second.
static void
s_failover (void)
{
    s_broker_args_t args = { 0 };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    char *dead = zmx_test_free_endpoint ();
    char *list = zsys_sprintf ("%s, %s", dead, args.endpoint);
    zmx_client_t *client = zmx_client_new (list);
    ZMX_CHECK (client);
    ZMX_CHECK_STR (zmx_client_endpoint (client), dead);
    zmx_client_set_timeout (client, 200);
    zmx_client_set_retries (client, 1);
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_test_echo_ok (client, S_SERVICE, "over here"));
    ZMX_CHECK (zclock_mono () - started >= 195);
    ZMX_CHECK_STR (zmx_client_endpoint (client), args.endpoint);
    //  It stays with the broker that answered
    started = zclock_mono ();
    ZMX_CHECK (zmx_test_echo_ok (client, S_SERVICE, "still here"));
    ZMX_CHECK (zclock_mono () - started < 190);
    zmx_client_destroy (&client);
    zstr_free (&list);
    zstr_free (&dead);
    zactor_destroy (&broker);
}

static void
s_async_many (void)
{
    s_rig_t rig;
    s_rig_init (&rig, 0, false);
    ZMX_CHECK (zmx_client_recv (rig.client, 0, NULL) == NULL);     //  Nothing sent yet
    ZMX_CHECK (zmx_client_error (rig.client) == ZMX_EINVAL);
    zmx_test_send_numbered (rig.client, S_SERVICE, 100);
    zmx_test_recv_numbered (rig.client, 100, 2000, S_SERVICE);
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_client_recv (rig.client, 100, NULL) == NULL);
    ZMX_CHECK (zmx_client_error (rig.client) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zclock_mono () - started >= 95);
    s_rig_destroy (&rig);
}

//  Replies with a wrong header, another service, or a broken layout are
//  dropped; the right reply behind them is returned.
static void
s_wrong_reply_dropped (void)
{
    s_rig_t rig;
    s_rig_init (&rig, 0, true);
    zmx_client_set_timeout (rig.client, 2000);
    zmx_client_set_retries (rig.client, 0);
    ZMX_CHECK (zmx_test_echo_ok (rig.client, S_SERVICE, "the real one"));

    zmsg_t *request = s_body ("async");
    ZMX_CHECK (zmx_client_send (rig.client, S_SERVICE, &request) == ZMX_OK);
    zmsg_t *reply = zmx_client_recv (rig.client, 2000, NULL);
    ZMX_CHECK (reply && zmx_test_msg_is (reply, 0, "async", NULL));
    zmsg_destroy (&reply);
    s_broker_check (rig.broker, 2, 1);
    s_rig_destroy (&rig);
}

//  zactor body: a fake broker on the ROUTER in args (handed over) that
//  answers every request with a 0.1 REPLY of 100 body frames; on $TERM it
//  sends the number of requests it got.
static void
s_oversize_broker (zsock_t *pipe, void *args)
{
    zsock_t *router = (zsock_t *) args;
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, router, NULL);
    int requests = 0;
    while (zpoller_wait (poller, -1) == router) {
        zmsg_t *request = zmsg_recv (router);
        zframe_t *identity = zmsg_pop (request);
        zmsg_destroy (&request);
        requests++;
        zmsg_t *reply = zmsg_new ();
        zmsg_append (reply, &identity);
        zmsg_addstr (reply, "");
        zmsg_addstr (reply, ZMX_MDPC01);
        zmsg_addstr (reply, S_SERVICE);
        for (int frame = 0; frame < 100; frame++)
            zmsg_addstr (reply, "row");
        zmsg_send (&reply, router);
    }
    zpoller_destroy (&poller);
    zsock_destroy (&router);
    zstr_sendf (pipe, "%d", requests);
}

//  A reply with more frames than MDP's limit can never be read: the
//  request fails with ZMX_EPROTO at once, instead of being dropped
//  silently and waited out for every retry.
static void
s_oversize_reply_fails (void)
{
    char *endpoint = NULL;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zactor_t *broker = zactor_new (s_oversize_broker, router);
    zmx_client_t *client = zmx_client_new (endpoint);
    int timeout = 5000;
    zmx_client_set_timeout (client, timeout);
    zmx_client_set_retries (client, 2);
    //  Dropped and waited out, it would end in ZMX_ETIMEDOUT after three
    //  attempts, and the fake broker would count three requests
    zmsg_t *request = s_body ("many");
    ZMX_CHECK (zmx_client_request (client, S_SERVICE, &request) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_EPROTO);
    //  Asynchronous: recv reports it
    request = s_body ("many");
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    ZMX_CHECK (zmx_client_recv (client, timeout, NULL) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_EPROTO);
    zstr_send (broker, "$TERM");
    char *requests = zstr_recv (broker);
    ZMX_CHECK_STR (requests, "2");      //  Not retried
    zstr_free (&requests);
    zactor_destroy (&broker);
    zmx_client_destroy (&client);
    free (endpoint);
}

static void
s_invalid_arguments (void)
{
    ZMX_CHECK (zmx_client_new (NULL) == NULL);
    ZMX_CHECK (zmx_client_new ("") == NULL);
    ZMX_CHECK (zmx_client_new ("localhost:5555") == NULL);
    ZMX_CHECK (zmx_client_new ("tcp://a:1,,tcp://b:2") == NULL);
    ZMX_CHECK (zmx_client_new ("tcp://a:1,") == NULL);
    ZMX_CHECK (zmx_client_new ("tcp://") == NULL);

    zmx_client_t *client = zmx_client_new (" tcp://127.0.0.1:5 ,tcp://127.0.0.1:6");
    ZMX_CHECK (client);
    ZMX_CHECK_STR (zmx_client_endpoint (client), "tcp://127.0.0.1:5");
    zmsg_t *request = s_body ("x");
    ZMX_CHECK (zmx_client_request (client, "", &request) == NULL);
    ZMX_CHECK (request == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_EINVAL);
    request = s_body ("x");
    ZMX_CHECK (zmx_client_request (client, "bad\x01name", &request) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_EINVAL);
    request = NULL;
    ZMX_CHECK (zmx_client_request (client, S_SERVICE, &request) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_EINVAL);
    request = s_body ("x");
    ZMX_CHECK (zmx_client_send (client, NULL, &request) == ZMX_EINVAL);
    ZMX_CHECK (request == NULL);
    ZMX_CHECK (zmx_client_socket (client) == NULL);
    ZMX_CHECK (zmx_client_set_curve (client, "/nonexistent/c.cert", "x") == ZMX_ESECURITY);
    zmx_client_set_timeout (client, 0);                 //  Ignored, logged
    zmx_client_set_retries (client, -1);                //  Ignored, logged
    zmx_client_destroy (&client);
}

static void
s_interrupted (void)
{
    s_rig_t rig;
    s_rig_init (&rig, 1000, false);
    zmx_client_set_timeout (rig.client, 5000);
    zsys_interrupted = 1;
    zmsg_t *request = s_body ("stop");
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_client_request (rig.client, S_SERVICE, &request) == NULL);
    ZMX_CHECK (zmx_client_error (rig.client) == ZMX_ETERM);
    ZMX_CHECK (zclock_mono () - started < 1000);
    zsys_interrupted = 0;
    s_rig_destroy (&rig);
}

//  With CURVE set, requests reach a CURVE broker and come back.
static void
s_curve_request (void)
{
    char *dir = zmx_test_tmpdir ();
    char *client_path = zsys_sprintf ("%s/client.cert", dir);
    char *server_path = zsys_sprintf ("%s/server.cert", dir);
    ZMX_CHECK (zmx_security_keygen (client_path, "test client") == ZMX_OK);
    ZMX_CHECK (zmx_security_keygen (server_path, "test server") == ZMX_OK);
    zcert_t *server = zcert_load (server_path);
    ZMX_CHECK (server);
    char *endpoint;
    zsock_t *router = zmx_test_router_new (server, &endpoint);

    //  The server key may be given as the public certificate's path
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (zmx_client_set_curve (client, client_path, server_path) == ZMX_OK);
    zmsg_t *request = s_body ("secret");
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    zmsg_t *msg = zmx_test_recv (router, 3000);
    ZMX_CHECK (msg);
    ZMX_CHECK (zmx_test_msg_is (msg, 1, "", "MDPC01", S_SERVICE, "secret", NULL));
    zmsg_send (&msg, router);
    zmsg_t *reply = zmx_client_recv (client, 3000, NULL);
    ZMX_CHECK (reply && zmx_test_msg_is (reply, 0, "secret", NULL));
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    zsock_destroy (&router);
    zcert_destroy (&server);
    zstr_free (&endpoint);
    zstr_free (&client_path);
    zstr_free (&server_path);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

//  -------------------------------------------------------------------------
//  End to end through the real broker, in-process

#define S_E2E_INTERVAL 100

static zmx_service_t *
s_broker_start (const char *endpoint)
{
    zconfig_t *config = zconfig_new ("broker", NULL);
    zconfig_put (config, "endpoint", endpoint);
    zconfig_putf (config, "heartbeat-interval", "%d", S_E2E_INTERVAL);
    //  After a broker on this port was destroyed, libzmq closes its listener
    //  in the I/O thread a moment later: bind until the port is free.
    int64_t deadline = zclock_mono () + 5000;
    zmx_service_t *broker;
    while (!(broker = zmx_service_new ("broker", zmx_broker_actor, config, NULL))
    &&     zclock_mono () < deadline)
        zclock_sleep (10);
    zconfig_destroy (&config);
    ZMX_CHECK (broker);
    return broker;
}

//  Settings for echo workers of the broker at `endpoint`.
static zmx_test_worker_t
s_worker_settings (const char *endpoint, uint32_t credit)
{
    return (zmx_test_worker_t) {
        .endpoint = endpoint, .service = S_SERVICE, .interval = S_E2E_INTERVAL,
        .liveness = 3, .backoff_initial = 50, .backoff_max = 200, .credit = credit
    };
}

//  A client doing `count` synchronous requests, then reporting "ok" or
//  "failed" on its pipe.
typedef struct {
    const char *endpoint;
    int id;
    int count;
} s_client_args_t;

static void
s_client_actor (zsock_t *pipe, void *args)
{
    s_client_args_t settings = *(s_client_args_t *) args;
    zsock_signal (pipe, 0);
    zmx_client_t *client = zmx_client_new (settings.endpoint);
    zmx_client_set_timeout (client, 3000);
    bool ok = client != NULL;
    for (int index = 0; ok && index < settings.count; index++) {
        char text [64];
        snprintf (text, sizeof text, "client %d request %d", settings.id, index);
        ok = zmx_test_echo_ok (client, S_SERVICE, text);
    }
    zmx_client_destroy (&client);
    zstr_send (pipe, ok? "ok": "failed");
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

//  One end-to-end case: the real broker on a free port, one echo worker,
//  and the client under test.
typedef struct {
    char *endpoint;             //  The broker's endpoint
    zmx_service_t *broker;      //  The real broker, in-process
    zmx_test_worker_t settings; //  Settings of the worker thread
    zactor_t *worker;           //  Echo worker thread
    zmx_client_t *client;       //  Client of the broker
} s_e2e_t;

//  Start the broker, a worker with `credit`, and a client.
static void
s_e2e_init (s_e2e_t *e2e, uint32_t credit)
{
    e2e->endpoint = zmx_test_free_endpoint ();
    e2e->broker = s_broker_start (e2e->endpoint);
    e2e->settings = s_worker_settings (e2e->endpoint, credit);
    e2e->worker = zactor_new (zmx_test_echo_worker, &e2e->settings);
    e2e->client = zmx_client_new (e2e->endpoint);
    ZMX_CHECK (e2e->client);
}

static void
s_e2e_destroy (s_e2e_t *e2e)
{
    zmx_client_destroy (&e2e->client);
    zactor_destroy (&e2e->worker);
    zmx_service_destroy (&e2e->broker);
    zstr_free (&e2e->endpoint);
}

static void
s_e2e_echo (void)
{
    s_e2e_t e2e;
    s_e2e_init (&e2e, 1);
    zmx_client_set_timeout (e2e.client, 3000);
    ZMX_CHECK (zmx_test_echo_ok (e2e.client, S_SERVICE, "round trip"));
    ZMX_CHECK (zmx_service_counter (e2e.broker, "replies") == 1);
    s_e2e_destroy (&e2e);
}

//  Bodies keep their shape through broker and worker: several frames stay
//  several frames, and an empty body travels as one empty frame.
static void
s_e2e_body_shapes (void)
{
    s_e2e_t e2e;
    s_e2e_init (&e2e, 1);
    zmx_client_set_timeout (e2e.client, 3000);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "one");
    zmsg_addmem (request, "", 0);
    zmsg_addstr (request, "three");
    zmsg_t *reply = zmx_client_request (e2e.client, S_SERVICE, &request);
    ZMX_CHECK (reply && zmsg_size (reply) == 3);
    ZMX_CHECK (zmx_test_msg_is (reply, 0, "one", "", "three", NULL));
    zmsg_destroy (&reply);
    request = zmsg_new ();
    reply = zmx_client_request (e2e.client, S_SERVICE, &request);
    ZMX_CHECK (reply && zmsg_size (reply) == 1 && zframe_size (zmsg_first (reply)) == 0);
    zmsg_destroy (&reply);
    s_e2e_destroy (&e2e);
}

//  3 workers, 5 concurrent clients of 50 requests each.
static void
s_e2e_many (const char *endpoint)
{
    zmx_service_t *broker = s_broker_start (endpoint);
    zmx_test_worker_t worker_args = s_worker_settings (endpoint, 1);
    zactor_t *workers [3];
    for (int index = 0; index < 3; index++)
        workers [index] = zactor_new (zmx_test_echo_worker, &worker_args);
    s_client_args_t client_args [5];
    zactor_t *clients [5];
    for (int index = 0; index < 5; index++) {
        client_args [index] = (s_client_args_t) { endpoint, index, 50 };
        clients [index] = zactor_new (s_client_actor, &client_args [index]);
    }
    for (int index = 0; index < 5; index++) {
        char *verdict = zstr_recv (clients [index]);
        ZMX_CHECK_STR (verdict, "ok");
        zstr_free (&verdict);
    }
    ZMX_CHECK (zmx_service_counter (broker, "replies") == 250);
    for (int index = 0; index < 5; index++)
        zactor_destroy (&clients [index]);
    for (int index = 0; index < 3; index++)
        zactor_destroy (&workers [index]);
    zmx_service_destroy (&broker);
}

static void
s_e2e_many_tcp (void)
{
    char *endpoint = zmx_test_free_endpoint ();
    s_e2e_many (endpoint);
    zstr_free (&endpoint);
}

static void
s_e2e_many_ipc (void)
{
    char *dir = zmx_test_tmpdir ();
    char *endpoint = zsys_sprintf ("ipc://%s/broker.ipc", dir);
    s_e2e_many (endpoint);
    zstr_free (&endpoint);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

//  One worker with credit 100 takes 100 asynchronous requests.
static void
s_e2e_credit_async (void)
{
    s_e2e_t e2e;
    s_e2e_init (&e2e, 100);
    zmx_test_send_numbered (e2e.client, S_SERVICE, 100);
    zmx_test_recv_numbered (e2e.client, 100, 3000, NULL);
    ZMX_CHECK (zmx_service_counter (e2e.broker, "replies") == 100);
    ZMX_CHECK (zmx_service_counter (e2e.broker, "workers") == 1);
    s_e2e_destroy (&e2e);
}

//  The broker restarts on the same endpoint: the worker notices the
//  silence, reconnects, registers again, and clients are served again.
static void
s_e2e_broker_restart (void)
{
    s_e2e_t e2e;
    s_e2e_init (&e2e, 1);
    zmx_client_set_timeout (e2e.client, 500);
    zmx_client_set_retries (e2e.client, 10);
    ZMX_CHECK (zmx_test_echo_ok (e2e.client, S_SERVICE, "before"));
    zmx_service_destroy (&e2e.broker);
    e2e.broker = s_broker_start (e2e.endpoint);
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_test_echo_ok (e2e.client, S_SERVICE, "after"));
    fprintf (stderr, "served again %" PRId64 " ms after the restart\n",
             zclock_mono () - started);
    ZMX_CHECK (zmx_service_counter (e2e.broker, "workers") == 1);
    s_e2e_destroy (&e2e);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "request_frames", s_request_frames, 10 },
        { "packed_frames", s_packed_frames, 10 },
        { "request_reply", s_request_reply, 10 },
        { "retry_reopens_socket", s_retry_reopens_socket, 10 },
        { "all_retries_fail", s_all_retries_fail, 10 },
        { "failover", s_failover, 10 },
        { "async_many", s_async_many, 10 },
        { "wrong_reply_dropped", s_wrong_reply_dropped, 10 },
        { "oversize_reply_fails", s_oversize_reply_fails, 20 },
        { "invalid_arguments", s_invalid_arguments, 10 },
        { "interrupted", s_interrupted, 10 },
        { "curve_request", s_curve_request, 10 },
        { "e2e_echo", s_e2e_echo, 15 },
        { "e2e_body_shapes", s_e2e_body_shapes, 15 },
        { "e2e_many_tcp", s_e2e_many_tcp, 30 },
        { "e2e_many_ipc", s_e2e_many_ipc, 30 },
        { "e2e_credit_async", s_e2e_credit_async, 15 },
        { "e2e_broker_restart", s_e2e_broker_restart, 20 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
