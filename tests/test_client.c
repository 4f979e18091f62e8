/*  =========================================================================
    test_client - zmx_client against a fake broker, then end to end

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
s_recv (zsock_t *socket, int timeout_ms)
{
    zsock_set_rcvtimeo (socket, timeout_ms);
    return zmsg_recv (socket);
}

//  True if the frames of msg after the first `skip` ones are exactly the
//  NULL-terminated list of strings ("" is an empty frame).
static bool
s_msg_is (zmsg_t *msg, size_t skip, ...)
{
    zframe_t *frame = zmsg_first (msg);
    for (size_t index = 0; index < skip && frame; index++)
        frame = zmsg_next (msg);
    va_list args;
    va_start (args, skip);
    bool same = true;
    const char *text;
    while (same && (text = va_arg (args, const char *))) {
        same = frame && zframe_streq (frame, text);
        frame = frame? zmsg_next (msg): NULL;
    }
    va_end (args);
    return same && !frame;
}

static zmsg_t *
s_body (const char *text)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, text);
    return msg;
}

//  Send one request and check the echo.
static bool
s_echo_ok (zmx_client_t *client, const char *text)
{
    zmsg_t *request = s_body (text);
    zmsg_t *reply = zmx_client_request (client, S_SERVICE, &request);
    bool ok = reply && s_msg_is (reply, 0, text, NULL);
    if (!reply)
        fprintf (stderr, "request failed: %s\n", zmx_strerror (zmx_client_error (client)));
    zmsg_destroy (&reply);
    return ok;
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
}

static void
s_broker_actor (zsock_t *pipe, void *args)
{
    s_broker_args_t *settings = (s_broker_args_t *) args;
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (router, 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    assert (port > 0);
    snprintf (settings->endpoint, sizeof settings->endpoint, "tcp://127.0.0.1:%d", port);
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

//  Ask the fake broker how many requests and connections it saw.
static void
s_broker_stats (zactor_t *broker, int *requests, int *connections)
{
    zstr_send (broker, "STATS");
    char *stats = zstr_recv (broker);
    ZMX_CHECK (stats);
    ZMX_CHECK (sscanf (stats, "%d %d", requests, connections) == 2);
    zstr_free (&stats);
}

//  -------------------------------------------------------------------------
//  Fake broker cases

static void
s_request_frames (void)
{
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (router, 0);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
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
    zmsg_t *msg = s_recv (router, 2000);
    ZMX_CHECK (msg);
    ZMX_CHECK (s_msg_is (msg, 1, "", "MDPC01", S_SERVICE, "hello", "world", NULL));
    zmsg_destroy (&msg);

    //  An empty body travels as one empty frame
    request = zmsg_new ();
    ZMX_CHECK (zmx_client_send (client, "svc.b", &request) == ZMX_OK);
    msg = s_recv (router, 2000);
    ZMX_CHECK (msg);
    ZMX_CHECK (s_msg_is (msg, 1, "", "MDPC01", "svc.b", "", NULL));
    zmsg_destroy (&msg);

    zmx_client_destroy (&client);
    ZMX_CHECK (client == NULL);
    zmx_client_destroy (&client);           //  Idempotent
    zsock_destroy (&router);
    zstr_free (&endpoint);
}

static void
s_request_reply (void)
{
    s_broker_args_t args = { 0 };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    zmx_client_t *client = zmx_client_new (args.endpoint);
    zmx_client_set_timeout (client, 2000);
    ZMX_CHECK (s_echo_ok (client, "hello"));
    ZMX_CHECK (zmx_client_error (client) == ZMX_OK);
    ZMX_CHECK (s_echo_ok (client, "again"));

    //  Multi-frame bodies come back whole
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "a");
    zmsg_addmem (request, "", 0);
    zmsg_addstr (request, "c");
    zmsg_t *reply = zmx_client_request (client, S_SERVICE, &request);
    ZMX_CHECK (reply && s_msg_is (reply, 0, "a", "", "c", NULL));
    zmsg_destroy (&reply);

    int requests, connections;
    s_broker_stats (broker, &requests, &connections);
    ZMX_CHECK (requests == 3 && connections == 1);
    zmx_client_destroy (&client);
    zactor_destroy (&broker);
}

//  The broker ignores the first two requests: each timeout reopens the
//  socket (a new connection at the broker) and resends.
static void
s_retry_reopens_socket (void)
{
    s_broker_args_t args = { .drop = 2 };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    zmx_client_t *client = zmx_client_new (args.endpoint);
    zmx_client_set_timeout (client, 200);
    zmx_client_set_retries (client, 3);
    int64_t started = zclock_mono ();
    ZMX_CHECK (s_echo_ok (client, "third time lucky"));
    int64_t elapsed = zclock_mono () - started;
    ZMX_CHECK (elapsed >= 390 && elapsed < 1500);
    int requests, connections;
    s_broker_stats (broker, &requests, &connections);
    ZMX_CHECK (requests == 3 && connections == 3);
    zmx_client_destroy (&client);
    zactor_destroy (&broker);
}

//  Nobody answers: retries + 1 attempts of `timeout` each, then
//  ZMX_ETIMEDOUT.
static void
s_all_retries_fail (void)
{
    s_broker_args_t args = { .drop = 1000 };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    zmx_client_t *client = zmx_client_new (args.endpoint);
    zmx_client_set_timeout (client, 150);
    zmx_client_set_retries (client, 2);
    zmsg_t *request = s_body ("anyone?");
    int64_t started = zclock_mono ();
    zmsg_t *reply = zmx_client_request (client, S_SERVICE, &request);
    int64_t elapsed = zclock_mono () - started;
    ZMX_CHECK (reply == NULL);
    ZMX_CHECK (request == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_ETIMEDOUT);
    ZMX_CHECK (elapsed >= 3 * 150 - 5 && elapsed < 3 * 150 + 400);
    ZMX_CHECK (zmx_client_socket (client) == NULL);
    int requests, connections;
    s_broker_stats (broker, &requests, &connections);
    ZMX_CHECK (requests == 3 && connections == 3);

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
    zmx_client_destroy (&client);
    zactor_destroy (&broker);
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
    ZMX_CHECK (s_echo_ok (client, "over here"));
    ZMX_CHECK (zclock_mono () - started >= 195);
    ZMX_CHECK_STR (zmx_client_endpoint (client), args.endpoint);
    //  It stays with the broker that answered
    started = zclock_mono ();
    ZMX_CHECK (s_echo_ok (client, "still here"));
    ZMX_CHECK (zclock_mono () - started < 190);
    zmx_client_destroy (&client);
    zstr_free (&list);
    zstr_free (&dead);
    zactor_destroy (&broker);
}

static void
s_async_many (void)
{
    s_broker_args_t args = { 0 };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    zmx_client_t *client = zmx_client_new (args.endpoint);
    ZMX_CHECK (zmx_client_recv (client, 0, NULL) == NULL);     //  Nothing sent yet
    ZMX_CHECK (zmx_client_error (client) == ZMX_EINVAL);
    for (int index = 0; index < 100; index++) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstrf (request, "%d", index);
        ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    }
    bool seen [100] = { false };
    for (int count = 0; count < 100; count++) {
        char *service = NULL;
        zmsg_t *reply = zmx_client_recv (client, 2000, &service);
        ZMX_CHECK (reply);
        ZMX_CHECK_STR (service, S_SERVICE);
        char *text = zmsg_popstr (reply);
        int index = text? atoi (text): -1;
        ZMX_CHECK (index >= 0 && index < 100 && !seen [index]);
        seen [index] = true;
        zstr_free (&text);
        zstr_free (&service);
        zmsg_destroy (&reply);
    }
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_client_recv (client, 100, NULL) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zclock_mono () - started >= 95);
    zmx_client_destroy (&client);
    zactor_destroy (&broker);
}

//  Replies with a wrong header, another service, or a broken layout are
//  dropped; the right reply behind them is returned.
static void
s_wrong_reply_dropped (void)
{
    s_broker_args_t args = { .junk = true };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    zmx_client_t *client = zmx_client_new (args.endpoint);
    zmx_client_set_timeout (client, 2000);
    zmx_client_set_retries (client, 0);
    ZMX_CHECK (s_echo_ok (client, "the real one"));

    zmsg_t *request = s_body ("async");
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    zmsg_t *reply = zmx_client_recv (client, 2000, NULL);
    ZMX_CHECK (reply && s_msg_is (reply, 0, "async", NULL));
    zmsg_destroy (&reply);
    int requests, connections;
    s_broker_stats (broker, &requests, &connections);
    ZMX_CHECK (requests == 2 && connections == 1);
    zmx_client_destroy (&client);
    zactor_destroy (&broker);
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
    s_broker_args_t args = { .drop = 1000 };
    zactor_t *broker = zactor_new (s_broker_actor, &args);
    zmx_client_t *client = zmx_client_new (args.endpoint);
    zmx_client_set_timeout (client, 5000);
    zsys_interrupted = 1;
    zmsg_t *request = s_body ("stop");
    int64_t started = zclock_mono ();
    ZMX_CHECK (zmx_client_request (client, S_SERVICE, &request) == NULL);
    ZMX_CHECK (zmx_client_error (client) == ZMX_ETERM);
    ZMX_CHECK (zclock_mono () - started < 1000);
    zsys_interrupted = 0;
    zmx_client_destroy (&client);
    zactor_destroy (&broker);
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
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (router, 0);
    zcert_apply (server, router);
    zsock_set_curve_server (router, 1);
    int port = zsock_bind (router, "tcp://127.0.0.1:*");
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);

    //  The server key may be given as the public certificate's path
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (zmx_client_set_curve (client, client_path, server_path) == ZMX_OK);
    zmsg_t *request = s_body ("secret");
    ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    zmsg_t *msg = s_recv (router, 3000);
    ZMX_CHECK (msg);
    ZMX_CHECK (s_msg_is (msg, 1, "", "MDPC01", S_SERVICE, "secret", NULL));
    zmsg_send (&msg, router);
    zmsg_t *reply = zmx_client_recv (client, 3000, NULL);
    ZMX_CHECK (reply && s_msg_is (reply, 0, "secret", NULL));
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
    zmx_service_t *broker = zmx_service_new ("broker", zmx_broker_actor, config, NULL);
    zconfig_destroy (&config);
    ZMX_CHECK (broker);
    return broker;
}

typedef struct {
    const char *endpoint;
    uint32_t credit;
} s_worker_args_t;

//  An echo worker until $TERM.
static void
s_worker_actor (zsock_t *pipe, void *args)
{
    s_worker_args_t *settings = (s_worker_args_t *) args;
    zmx_worker_t *worker = zmx_worker_new (settings->endpoint, S_SERVICE);
    assert (worker);
    zmx_worker_set_heartbeat (worker, S_E2E_INTERVAL, 3);
    zmx_worker_set_reconnect (worker, 50, 200);
    zmx_worker_set_credit (worker, settings->credit? settings->credit: 1);
    zsock_signal (pipe, 0);
    while (!(zsock_events (pipe) & ZMQ_POLLIN)) {
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (worker, 10, &reply_to);
        if (request)
            zmx_worker_send (worker, &request, &reply_to);
        else
        if (zmx_worker_error (worker) == ZMX_ETERM)
            break;
    }
    zmx_worker_destroy (&worker);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
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
        ok = s_echo_ok (client, text);
    }
    zmx_client_destroy (&client);
    zstr_send (pipe, ok? "ok": "failed");
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

static void
s_e2e_echo (void)
{
    char *endpoint = zmx_test_free_endpoint ();
    zmx_service_t *broker = s_broker_start (endpoint);
    s_worker_args_t worker_args = { endpoint, 1 };
    zactor_t *worker = zactor_new (s_worker_actor, &worker_args);
    zmx_client_t *client = zmx_client_new (endpoint);
    zmx_client_set_timeout (client, 3000);
    ZMX_CHECK (s_echo_ok (client, "round trip"));
    ZMX_CHECK (zmx_service_counter (broker, "replies") == 1);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    zmx_service_destroy (&broker);
    zstr_free (&endpoint);
}

//  3 workers, 5 concurrent clients of 50 requests each.
static void
s_e2e_many (const char *endpoint)
{
    zmx_service_t *broker = s_broker_start (endpoint);
    s_worker_args_t worker_args = { endpoint, 1 };
    zactor_t *workers [3];
    for (int index = 0; index < 3; index++)
        workers [index] = zactor_new (s_worker_actor, &worker_args);
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
    char *endpoint = zmx_test_free_endpoint ();
    zmx_service_t *broker = s_broker_start (endpoint);
    s_worker_args_t worker_args = { endpoint, 100 };
    zactor_t *worker = zactor_new (s_worker_actor, &worker_args);
    zmx_client_t *client = zmx_client_new (endpoint);
    for (int index = 0; index < 100; index++) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstrf (request, "%d", index);
        ZMX_CHECK (zmx_client_send (client, S_SERVICE, &request) == ZMX_OK);
    }
    bool seen [100] = { false };
    for (int count = 0; count < 100; count++) {
        zmsg_t *reply = zmx_client_recv (client, 3000, NULL);
        ZMX_CHECK (reply);
        char *text = zmsg_popstr (reply);
        int index = text? atoi (text): -1;
        ZMX_CHECK (index >= 0 && index < 100 && !seen [index]);
        seen [index] = true;
        zstr_free (&text);
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (zmx_service_counter (broker, "replies") == 100);
    ZMX_CHECK (zmx_service_counter (broker, "workers") == 1);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    zmx_service_destroy (&broker);
    zstr_free (&endpoint);
}

//  The broker restarts on the same endpoint: the worker notices the
//  silence, reconnects, registers again, and clients are served again.
static void
s_e2e_broker_restart (void)
{
    char *endpoint = zmx_test_free_endpoint ();
    zmx_service_t *broker = s_broker_start (endpoint);
    s_worker_args_t worker_args = { endpoint, 1 };
    zactor_t *worker = zactor_new (s_worker_actor, &worker_args);
    zmx_client_t *client = zmx_client_new (endpoint);
    zmx_client_set_timeout (client, 500);
    zmx_client_set_retries (client, 10);
    ZMX_CHECK (s_echo_ok (client, "before"));
    zmx_service_destroy (&broker);
    broker = s_broker_start (endpoint);
    int64_t started = zclock_mono ();
    ZMX_CHECK (s_echo_ok (client, "after"));
    fprintf (stderr, "served again %" PRId64 " ms after the restart\n",
             zclock_mono () - started);
    ZMX_CHECK (zmx_service_counter (broker, "workers") == 1);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    zmx_service_destroy (&broker);
    zstr_free (&endpoint);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "request_frames", s_request_frames, 10 },
        { "request_reply", s_request_reply, 10 },
        { "retry_reopens_socket", s_retry_reopens_socket, 10 },
        { "all_retries_fail", s_all_retries_fail, 10 },
        { "failover", s_failover, 10 },
        { "async_many", s_async_many, 10 },
        { "wrong_reply_dropped", s_wrong_reply_dropped, 10 },
        { "invalid_arguments", s_invalid_arguments, 10 },
        { "interrupted", s_interrupted, 10 },
        { "curve_request", s_curve_request, 10 },
        { "e2e_echo", s_e2e_echo, 15 },
        { "e2e_many_tcp", s_e2e_many_tcp, 30 },
        { "e2e_many_ipc", s_e2e_many_ipc, 30 },
        { "e2e_credit_async", s_e2e_credit_async, 15 },
        { "e2e_broker_restart", s_e2e_broker_restart, 20 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
