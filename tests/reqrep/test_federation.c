/*  =========================================================================
    test_federation - broker federation (router trees)

    Brokers run as actors in this process (their counters can be read) or
    as zmxd processes (killed with SIGKILL). Topologies: a line A-B-C and a
    triangle A-B-C-A, with the only worker on C. The MDPF01 wire protocol
    is also driven by hand, to check transit, the hop limit, the bounds and
    invalid traffic.
    Intervals are short (100-200 ms); every wait polls for its condition
    with a generous deadline.
    =========================================================================
*/
#include "testing.h"
#include "reqrep/zmx_federation.h"
#include <signal.h>

#define S_INTERVAL  100         //  federation and heartbeat interval, msec
#define S_LIVENESS  3

typedef struct {
    zmx_service_t *service;     //  In-process broker, or NULL
    pid_t pid;                  //  zmxd process, or 0
    int port;
    char *endpoint;
    char *dir;                  //  zmxd config and log
    char *peers;                //  Peer list of s_trio_start, or NULL
} s_node_t;

//  "tcp://127.0.0.1:P1,tcp://..." for the nodes given (NULL-terminated)
static char *
s_peer_list (s_node_t *first, ...)
{
    char *list = strdup ("");
    va_list args;
    va_start (args, first);
    for (s_node_t *node = first; node; node = va_arg (args, s_node_t *)) {
        char *longer = zsys_sprintf ("%s%s%s", list, *list? ",": "", node->endpoint);
        free (list);
        list = longer;
    }
    va_end (args);
    return list;
}

static void
s_node_init (s_node_t *node)
{
    memset (node, 0, sizeof *node);
    node->port = zmx_test_free_port ();
    node->endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", node->port);
}

static char *
s_broker_config (s_node_t *node, const char *peers, const char *extra)
{
    return zsys_sprintf ("broker\n    endpoint = \"%s\"\n    heartbeat-interval = %d\n"
                         "    peers = \"%s\"\n    federation-interval = %d\n"
                         "    federation-liveness = %d\n    request-timeout = 3000\n%s",
                         node->endpoint, S_INTERVAL, peers, S_INTERVAL, S_LIVENESS,
                         extra? extra: "");
}

//  Start an in-process broker with these peers (a list, may be "").
static void
s_node_start (s_node_t *node, const char *peers, const char *extra)
{
    char *text = s_broker_config (node, peers, extra);
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    node->service = zmx_service_new ("broker", zmx_broker_actor, zconfig_locate (root, "broker"),
                                     NULL);
    ZMX_CHECK (node->service);
    zconfig_destroy (&root);
    zstr_free (&text);
}

//  Start a zmxd process with these peers.
static void
s_node_spawn (s_node_t *node, const char *peers)
{
    node->dir = zmx_test_tmpdir ();
    char *config = zsys_sprintf ("%s/zmxd.cfg", node->dir);
    char *broker = s_broker_config (node, peers, NULL);
    char *text = zsys_sprintf ("zmxd\n    log-level = info\n%s", broker);
    ZMX_CHECK (zmx_test_write_file (config, text) == 0);
    char *zmxd = zmx_test_bin ("zmxd");
    char *log = zsys_sprintf ("%s/zmxd.log", node->dir);
    char *argv [] = { zmxd, "-c", config, NULL };
    node->pid = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_port (node->port, 10000));
    zstr_free (&log);
    zstr_free (&zmxd);
    zstr_free (&text);
    zstr_free (&broker);
    zstr_free (&config);
}

static void
s_node_stop (s_node_t *node)
{
    zmx_service_destroy (&node->service);
    if (node->pid)
        zmx_test_stop (node->pid, 2000);
    node->pid = 0;
    if (node->dir)
        zmx_test_rmdir (node->dir);
    zstr_free (&node->dir);
    zstr_free (&node->endpoint);
    zstr_free (&node->peers);
}

//  Three nodes A, B and C: the peers of each are given as letters ("bc":
//  B and C); a node runs in this process, or as a zmxd process if its
//  letter is in `spawned`.
static void
s_trio_start (s_node_t *a, s_node_t *b, s_node_t *c, const char *const links [3],
              const char *spawned)
{
    s_node_t *nodes [3] = { a, b, c };
    for (int index = 0; index < 3; index++)
        s_node_init (nodes [index]);
    for (int index = 0; index < 3; index++) {
        s_node_t *node = nodes [index];
        node->peers = strdup ("");
        for (const char *link = links [index]; *link; link++) {
            char *longer = zsys_sprintf ("%s%s%s", node->peers, *node->peers? ",": "",
                                         nodes [*link - 'a']->endpoint);
            free (node->peers);
            node->peers = longer;
        }
        if (strchr (spawned, 'a' + index))
            s_node_spawn (node, node->peers);
        else
            s_node_start (node, node->peers, NULL);
    }
}

//  Stop C, B and A (whichever are still running).
static void
s_trio_stop (s_node_t *a, s_node_t *b, s_node_t *c)
{
    s_node_stop (c);
    s_node_stop (b);
    s_node_stop (a);
}

static uint64_t
s_counter (s_node_t *node, const char *name)
{
    return zmx_service_counter (node->service, name);
}

//  Poll a counter until it is at least `value` (or, if !at_least,
//  exactly `value`); false on timeout.
static bool
s_wait_counter (s_node_t *node, const char *name, uint64_t value, bool at_least,
                int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        uint64_t now = s_counter (node, name);
        if (now == value || (at_least && now > value))
            return true;
        zclock_sleep (10);
    }
    return false;
}

static bool
s_wait_at_least (s_node_t *node, const char *name, uint64_t value, int timeout_ms)
{
    return s_wait_counter (node, name, value, true, timeout_ms);
}

static bool
s_wait_equal (s_node_t *node, const char *name, uint64_t value, int timeout_ms)
{
    return s_wait_counter (node, name, value, false, timeout_ms);
}

//  An echo worker actor for `service` on the broker at `endpoint`.
static zactor_t *
s_worker_start (zmx_test_worker_t *settings, const char *endpoint, const char *service)
{
    memset (settings, 0, sizeof *settings);
    settings->endpoint = endpoint;
    settings->service = service;
    settings->interval = S_INTERVAL;
    settings->liveness = S_LIVENESS;
    settings->backoff_initial = 50;
    settings->backoff_max = 500;
    return zactor_new (zmx_test_echo_worker, settings);
}

//  One request through the broker at `endpoint`; the reply body, or NULL.
static char *
s_call (const char *endpoint, const char *service, const char *body, int timeout_ms)
{
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (client);
    zmx_client_set_timeout (client, timeout_ms);
    zmx_client_set_retries (client, 0);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, body);
    zmsg_t *reply = zmx_client_request (client, service, &request);
    char *text = reply? zmsg_popstr (reply): NULL;
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    return text;
}

static void
s_expect_echo (const char *endpoint, const char *service, const char *body)
{
    char *reply = s_call (endpoint, service, body, 5000);
    ZMX_CHECK_STR (reply, body);
    free (reply);
}

//  -------------------------------------------------------------------------
//  Line A - B - C, only worker on C: the client on A is served over 2 hops

static void
s_line_two_hops (void)
{
    s_node_t a, b, c;
    s_trio_start (&a, &b, &c, (const char *[3]) { "b", "ac", "b" }, "");
    zmx_test_worker_t settings;
    zactor_t *worker = s_worker_start (&settings, c.endpoint, "echo");
    ZMX_CHECK (s_wait_at_least (&a, "fed_routes", 1, 10000));
    ZMX_CHECK (s_wait_equal (&a, "fed_links_up", 1, 5000));
    ZMX_CHECK (s_wait_equal (&b, "fed_links_up", 2, 5000));

    s_expect_echo (a.endpoint, "echo", "over two hops");
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 1);
    ZMX_CHECK (s_counter (&a, "fed_replies") == 1);
    ZMX_CHECK (s_counter (&a, "replies") == 1);
    ZMX_CHECK (s_counter (&b, "fed_received") == 1);
    ZMX_CHECK (s_counter (&b, "fed_forwarded") == 1);
    ZMX_CHECK (s_counter (&b, "fed_relayed") == 1);
    ZMX_CHECK (s_counter (&b, "fed_replies") == 1);
    ZMX_CHECK (s_counter (&c, "fed_received") == 1);
    ZMX_CHECK (s_counter (&c, "fed_served") == 1);
    ZMX_CHECK (s_counter (&c, "fed_forwarded") == 0);
    //  Many in a row, and none left in flight
    for (int index = 0; index < 50; index++)
        s_expect_echo (a.endpoint, "echo", "again");
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 51);
    ZMX_CHECK (s_wait_equal (&a, "fed_in_flight", 0, 2000));
    ZMX_CHECK (s_counter (&b, "fed_in_flight") == 0);
    //  mmi.service counts services that peers offer
    char *found = s_call (a.endpoint, "mmi.service", "echo", 5000);
    ZMX_CHECK_STR (found, "200");
    free (found);
    found = s_call (a.endpoint, "mmi.service", "nobody", 5000);
    ZMX_CHECK_STR (found, "404");
    free (found);
    //  The client on C is served directly
    s_expect_echo (c.endpoint, "echo", "direct");
    ZMX_CHECK (s_counter (&c, "fed_forwarded") == 0);

    zactor_destroy (&worker);
    s_trio_stop (&a, &b, &c);
}

//  The same line with three zmxd processes
static void
s_line_processes (void)
{
    s_node_t a, b, c;
    s_trio_start (&a, &b, &c, (const char *[3]) { "b", "ac", "b" }, "abc");
    zmx_test_worker_t settings;
    zactor_t *worker = s_worker_start (&settings, c.endpoint, "echo");
    //  No counters across processes: retry until the route has spread
    char *reply = NULL;
    int64_t deadline = zclock_mono () + 15000;
    while (!reply && zclock_mono () < deadline)
        reply = s_call (a.endpoint, "echo", "across processes", 500);
    ZMX_CHECK_STR (reply, "across processes");
    free (reply);
    for (int index = 0; index < 20; index++)
        s_expect_echo (a.endpoint, "echo", "again");
    char *log = zsys_sprintf ("%s/zmxd.log", b.dir);
    ZMX_CHECK (zmx_test_wait_for_text (log, "is up", 1000));
    zstr_free (&log);
    zactor_destroy (&worker);
    s_trio_stop (&a, &b, &c);
}

//  MDP/0.2 across a federation hop: PARTIALs and the FINAL reach the
//  client on A in order (raw sockets speak 18/MDP)
static void
s_partial_over_hop (void)
{
    s_node_t a, c;
    s_node_init (&a);
    s_node_init (&c);
    s_node_start (&a, c.endpoint, NULL);
    s_node_start (&c, a.endpoint, NULL);
    zsock_t *worker = zsock_new_dealer (c.endpoint);
    zsock_set_linger (worker, 0);
    zstr_sendx (worker, ZMX_MDPW02, "\x01", "stream", NULL);
    //  Keep the raw worker alive while the route spreads
    int64_t deadline = zclock_mono () + 10000;
    while (s_counter (&a, "fed_routes") == 0 && zclock_mono () < deadline) {
        zstr_sendx (worker, ZMX_MDPW02, "\x05", NULL);
        zclock_sleep (20);
    }
    ZMX_CHECK (s_counter (&a, "fed_routes") == 1);
    zsock_t *client = zsock_new_dealer (a.endpoint);
    zsock_set_linger (client, 0);
    zstr_sendx (client, ZMX_MDPC02, "\x01", "stream", "go", NULL);
    zmsg_t *request = NULL;
    while (!request) {
        request = zmx_test_recv (worker, 5000);
        ZMX_CHECK (request);
        if (zmsg_size (request) == 2) {         //  HEARTBEAT from C
            zmsg_destroy (&request);
            zstr_sendx (worker, ZMX_MDPW02, "\x05", NULL);
        }
    }
    ZMX_CHECK (zmsg_size (request) == 5);
    zmsg_first (request);
    zmsg_next (request);
    zframe_t *address = zmsg_next (request);
    for (int index = 0; index < 3; index++) {
        zmsg_t *reply = zmsg_new ();
        zmsg_addstr (reply, ZMX_MDPW02);
        zmsg_addstr (reply, index < 2? "\x03": "\x04");
        zmsg_append (reply, &(zframe_t *) { zframe_dup (address) });
        zmsg_addstr (reply, "");
        zmsg_addstrf (reply, "part %d", index);
        zmsg_send (&reply, worker);
    }
    zmsg_destroy (&request);
    for (int index = 0; index < 3; index++) {
        zmsg_t *reply = zmx_test_recv (client, 5000);
        ZMX_CHECK (reply);
        char *body = zsys_sprintf ("part %d", index);
        ZMX_CHECK (zmx_test_msg_is (reply, 0, ZMX_MDPC02, index < 2? "\x02": "\x03", "stream",
                                    body, NULL));
        zstr_free (&body);
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (s_counter (&a, "partials") == 2);
    ZMX_CHECK (s_counter (&a, "fed_replies") == 1);
    ZMX_CHECK (s_wait_equal (&a, "fed_in_flight", 0, 2000));
    zsock_destroy (&client);
    zsock_destroy (&worker);
    s_node_stop (&c);
    s_node_stop (&a);
}

//  A peer link made with CURVE client keys reaches a CURVE broker; one
//  without them does not
static void
s_curve_link (void)
{
    char *dir = zmx_test_tmpdir ();
    char *server_cert = zsys_sprintf ("%s/server.cert", dir);
    char *client_cert = zsys_sprintf ("%s/client.cert", dir);
    zmx_security_t *security = zmx_test_curve_policy (server_cert, client_cert);
    s_node_t a, c, plain;
    s_node_init (&a);
    s_node_init (&c);
    s_node_init (&plain);
    char *text = s_broker_config (&a, c.endpoint, NULL);
    zconfig_t *root = zconfig_str_load (text);
    a.service = zmx_service_new ("broker", zmx_broker_actor, zconfig_locate (root, "broker"),
                                 security);
    ZMX_CHECK (a.service);
    zconfig_destroy (&root);
    zstr_free (&text);
    char *keys = zsys_sprintf ("    peer-certificate = \"%s\"\n    peer-server-key = \"%s\"\n",
                               client_cert, server_cert);
    s_node_start (&c, a.endpoint, keys);
    s_node_start (&plain, a.endpoint, NULL);
    zmx_test_worker_t settings;
    zactor_t *worker = s_worker_start (&settings, c.endpoint, "echo");
    ZMX_CHECK (s_wait_at_least (&a, "fed_routes", 1, 10000));
    zmx_client_t *client = zmx_client_new (a.endpoint);
    ZMX_CHECK (zmx_client_set_curve (client, client_cert, server_cert) == ZMX_OK);
    zmx_client_set_timeout (client, 5000);
    ZMX_CHECK (zmx_test_echo_ok (client, "echo", "sealed"));
    zmx_client_destroy (&client);
    //  The plaintext peer has sent adverts all along; none got through
    ZMX_CHECK (s_wait_at_least (&c, "fed_adverts_sent", 5, 10000));
    ZMX_CHECK (s_counter (&a, "fed_peers") == 1);
    ZMX_CHECK (s_counter (&plain, "fed_links_up") == 0);
    zactor_destroy (&worker);
    s_node_stop (&plain);
    s_node_stop (&c);
    s_node_stop (&a);
    zmx_security_destroy (&security);
    zmx_test_rmdir (dir);
    zstr_free (&keys);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
    zstr_free (&dir);
}

//  -------------------------------------------------------------------------
//  Triangle A-B-C-A: shortest path, nothing circulates, unknown services
//  stay home

static void
s_triangle_no_loop (void)
{
    s_node_t a, b, c;
    s_trio_start (&a, &b, &c, (const char *[3]) { "bc", "ac", "ab" }, "");
    zmx_test_worker_t settings;
    zactor_t *worker = s_worker_start (&settings, c.endpoint, "echo");
    //  A hears of echo from C (1 hop) and from B (2 hops)
    ZMX_CHECK (s_wait_at_least (&a, "fed_routes", 2, 10000));
    for (int index = 0; index < 20; index++)
        s_expect_echo (a.endpoint, "echo", "shortest path");
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 20);
    ZMX_CHECK (s_counter (&c, "fed_served") == 20);
    ZMX_CHECK (s_counter (&b, "fed_received") == 0);    //  not via B

    //  Nobody serves "nobody": not forwarded anywhere, queued at A
    char *reply = s_call (a.endpoint, "nobody", "lost", 300);
    ZMX_CHECK (reply == NULL);
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 20);
    ZMX_CHECK (s_counter (&a, "queued") == 1);
    ZMX_CHECK (s_counter (&b, "fed_received") == 0);
    ZMX_CHECK (s_counter (&c, "fed_received") == 20);

    //  C goes away: while its routes expire, requests from A may go to B,
    //  but B never sends them back to A, and no request circulates
    zactor_destroy (&worker);
    s_node_stop (&c);
    int64_t deadline = zclock_mono () + 10000;
    while ((s_counter (&a, "fed_routes") || s_counter (&b, "fed_routes"))
    &&     zclock_mono () < deadline) {
        free (s_call (a.endpoint, "echo", "during expiry", 50));
        free (s_call (b.endpoint, "echo", "during expiry", 50));
    }
    ZMX_CHECK (s_counter (&a, "fed_routes") == 0);
    ZMX_CHECK (s_counter (&b, "fed_routes") == 0);
    uint64_t a_out = s_counter (&a, "fed_forwarded"), b_out = s_counter (&b, "fed_forwarded");
    uint64_t a_in = s_counter (&a, "fed_received"), b_in = s_counter (&b, "fed_received");
    printf ("    while C's routes expired: A forwarded %" PRIu64 ", B %" PRIu64 "; A received %"
            PRIu64 ", B %" PRIu64 "\n", a_out - 20, b_out, a_in, b_in);
    //  Whatever one of them got from the other, it did not pass on: its
    //  only other route led to C, whose connection is gone, and it never
    //  sends a request back where it came from
    ZMX_CHECK (s_counter (&a, "fed_relayed") == 0 && s_counter (&b, "fed_relayed") == 0);
    ZMX_CHECK (a_in + b_in == s_counter (&a, "fed_no_route") + s_counter (&b, "fed_no_route"));
    ZMX_CHECK (s_counter (&a, "fed_hop_limit") == 0 && s_counter (&b, "fed_hop_limit") == 0);
    ZMX_CHECK (s_counter (&a, "fed_served") == 0 && s_counter (&b, "fed_served") == 0);
    //  Nothing keeps moving once the routes are gone
    zclock_sleep (3 * S_INTERVAL);
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == a_out);
    ZMX_CHECK (s_counter (&b, "fed_forwarded") == b_out);
    s_trio_stop (&a, &b, &c);
}

//  Two peers one hop away both offer the service: A takes turns
static void
s_equal_routes (void)
{
    s_node_t a, b, c;
    s_trio_start (&a, &b, &c, (const char *[3]) { "bc", "a", "a" }, "");
    zmx_test_worker_t settings_b, settings_c;
    zactor_t *worker_b = s_worker_start (&settings_b, b.endpoint, "echo");
    zactor_t *worker_c = s_worker_start (&settings_c, c.endpoint, "echo");
    ZMX_CHECK (s_wait_equal (&a, "fed_routes", 2, 10000));
    //  Let a few advertisements refresh the routes between requests
    for (int index = 0; index < 10; index++) {
        s_expect_echo (a.endpoint, "echo", "turns");
        zclock_sleep (S_INTERVAL / 4);
    }
    ZMX_CHECK (s_counter (&b, "fed_served") == 5);
    ZMX_CHECK (s_counter (&c, "fed_served") == 5);
    zactor_destroy (&worker_b);
    zactor_destroy (&worker_c);
    s_trio_stop (&a, &b, &c);
}

//  -------------------------------------------------------------------------
//  Advertisement expiry: C (a zmxd process) is killed with SIGKILL; A
//  stops forwarding within the expiry

static void
s_expiry_after_kill (void)
{
    s_node_t a, b, c;
    s_trio_start (&a, &b, &c, (const char *[3]) { "b", "ac", "b" }, "c");
    zmx_test_worker_t settings;
    zactor_t *worker = s_worker_start (&settings, c.endpoint, "echo");
    ZMX_CHECK (s_wait_at_least (&a, "fed_routes", 1, 15000));
    s_expect_echo (a.endpoint, "echo", "before");
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 1);

    kill (c.pid, SIGKILL);
    ZMX_CHECK (zmx_test_wait (c.pid, 5000) != -1);
    c.pid = 0;
    int64_t killed = zclock_mono ();
    //  B forgets C after liveness intervals of silence, then its next
    //  advertisement to A (a complete list) withdraws the route
    int64_t expiry = S_INTERVAL * S_LIVENESS;
    ZMX_CHECK (s_wait_equal (&a, "fed_routes", 0, 10000));
    int64_t took = zclock_mono () - killed;
    printf ("    route withdrawn at A %" PRId64 " ms after the kill (expiry %" PRId64
            " ms, interval %d ms)\n", took, expiry, S_INTERVAL);
    //  expiry + one advertisement, + timer granularity and a busy machine
    ZMX_CHECK (took <= expiry + S_INTERVAL + 1500);
    ZMX_CHECK (s_counter (&b, "fed_peers_expired") == 1);
    //  From now on A queues instead of forwarding
    char *reply = s_call (a.endpoint, "echo", "after", 300);
    ZMX_CHECK (reply == NULL);
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 1);
    ZMX_CHECK (s_counter (&a, "queued") == 1);
    zactor_destroy (&worker);
    s_trio_stop (&a, &b, &c);
}

//  -------------------------------------------------------------------------
//  Local workers are preferred: A has one, C has one

static void
s_local_preferred (void)
{
    s_node_t a, c;
    s_node_init (&a);
    s_node_init (&c);
    char *peers_a = s_peer_list (&c, NULL), *peers_c = s_peer_list (&a, NULL);
    s_node_start (&a, peers_a, NULL);
    s_node_start (&c, peers_c, NULL);
    zmx_test_worker_t far_settings, near_settings;
    zactor_t *far = s_worker_start (&far_settings, c.endpoint, "echo");
    ZMX_CHECK (s_wait_at_least (&a, "fed_routes", 1, 10000));
    zactor_t *near = s_worker_start (&near_settings, a.endpoint, "echo");
    ZMX_CHECK (s_wait_at_least (&a, "workers", 1, 10000));
    for (int index = 0; index < 20; index++)
        s_expect_echo (a.endpoint, "echo", "stay here");
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 0);
    ZMX_CHECK (s_counter (&c, "fed_received") == 0);
    //  Without the local worker, A forwards again
    zactor_destroy (&near);
    ZMX_CHECK (s_wait_equal (&a, "workers", 0, 10000));
    s_expect_echo (a.endpoint, "echo", "go far");
    ZMX_CHECK (s_counter (&a, "fed_forwarded") == 1);
    zactor_destroy (&far);
    s_node_stop (&c);
    s_node_stop (&a);
    free (peers_a);
    free (peers_c);
}

//  -------------------------------------------------------------------------
//  The wire protocol by hand: the test plays peer broker T (B's link
//  connects to T's ROUTER) and peer broker F (advertises "far" to B)

typedef struct {
    s_node_t b;
    zsock_t *upstream;          //  T: ROUTER that B's link connects to
    char *upstream_endpoint;
    zframe_t *link;             //  B's link routing id at T
    zsock_t *far;               //  F: DEALER to B's ROUTER
} s_wire_t;

//  Receive on T, skipping B's ADVERTISEs; NULL on timeout.
static zmsg_t *
s_upstream_recv (s_wire_t *wire, int code)
{
    int64_t deadline = zclock_mono () + 5000;
    while (zclock_mono () < deadline) {
        zmsg_t *msg = zmx_test_recv (wire->upstream, 500);
        if (!msg)
            continue;
        zframe_t *command = NULL;
        if (zmsg_size (msg) >= 3) {
            zmsg_first (msg);           //  B's link routing id
            zmsg_next (msg);            //  MDPF01
            command = zmsg_next (msg);
        }
        if (command && zframe_size (command) == 1 && zframe_data (command) [0] == code)
            return msg;
        zmsg_destroy (&msg);
    }
    return NULL;
}

static void
s_wire_start (s_wire_t *wire, const char *extra)
{
    memset (wire, 0, sizeof *wire);
    wire->upstream = zmx_test_router_new (NULL, &wire->upstream_endpoint);
    s_node_init (&wire->b);
    s_node_start (&wire->b, wire->upstream_endpoint, extra);
    //  B advertises to T; T answers HEARTBEAT so that B knows T's node
    zmsg_t *advert = s_upstream_recv (wire, ZMX_MDPF01_ADVERTISE);
    ZMX_CHECK (advert);
    wire->link = zmsg_pop (advert);
    zmsg_destroy (&advert);
    zmsg_t *heartbeat = zmsg_new ();
    zmsg_append (heartbeat, &(zframe_t *) { zframe_dup (wire->link) });
    zmsg_addstr (heartbeat, ZMX_MDPF01);
    zmsg_addmem (heartbeat, "\x05", 1);
    zmsg_addstr (heartbeat, "node-t");
    zmsg_send (&heartbeat, wire->upstream);
    ZMX_CHECK (s_wait_equal (&wire->b, "fed_links_up", 1, 5000));
    //  F advertises "far" at distance 0
    wire->far = zsock_new_dealer (wire->b.endpoint);
    zsock_set_linger (wire->far, 0);
    zchunk_t *entries = zchunk_new (NULL, 64);
    ZMX_CHECK (zmx__fed_entry_add (entries, 0, 5, "far") == 0);
    zmsg_t *msg = zmsg_new ();
    zmsg_addstr (msg, ZMX_MDPF01);
    zmsg_addmem (msg, "\x01", 1);
    zmsg_addstr (msg, "node-f");
    zmsg_addmem (msg, zchunk_data (entries), zchunk_size (entries));
    zmsg_send (&msg, wire->far);
    zchunk_destroy (&entries);
    ZMX_CHECK (s_wait_equal (&wire->b, "fed_routes", 1, 5000));
}

static void
s_wire_stop (s_wire_t *wire)
{
    s_node_stop (&wire->b);
    zsock_destroy (&wire->upstream);
    zsock_destroy (&wire->far);
    zframe_destroy (&wire->link);
    zstr_free (&wire->upstream_endpoint);
}

//  T sends REQUEST (token "tokentok") with `hops` for `service`
static void
s_upstream_request (s_wire_t *wire, uint8_t hops, const char *service, const char *body)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (wire->link) });
    zmsg_addstr (msg, ZMX_MDPF01);
    zmsg_addmem (msg, "\x02", 1);
    zmsg_addstr (msg, "tokentok");
    zmsg_addmem (msg, &hops, 1);
    zmsg_addstr (msg, service);
    zmsg_addstr (msg, body);
    zmsg_send (&msg, wire->upstream);
}

static void
s_wire_relay (void)
{
    s_wire_t wire;
    s_wire_start (&wire, "    hop-limit = 3\n");
    //  B relays to F with one more hop; F answers; B answers T
    s_upstream_request (&wire, 2, "far", "ping");
    zmsg_t *request = zmx_test_recv (wire.far, 5000);
    while (request && zmsg_size (request) == 3) {       //  HEARTBEAT to F
        zmsg_destroy (&request);
        request = zmx_test_recv (wire.far, 5000);
    }
    ZMX_CHECK (request && zmsg_size (request) == 6);
    zframe_t *header = zmsg_pop (request), *command = zmsg_pop (request);
    zframe_t *token = zmsg_pop (request), *hops = zmsg_pop (request);
    ZMX_CHECK (zframe_streq (header, ZMX_MDPF01));
    ZMX_CHECK (zframe_size (command) == 1 && zframe_data (command) [0] == ZMX_MDPF01_REQUEST);
    ZMX_CHECK (zframe_size (token) == ZMX_FED_TOKEN_SIZE);
    ZMX_CHECK (zframe_size (hops) == 1 && zframe_data (hops) [0] == 3);
    ZMX_CHECK (zmx_test_msg_is (request, 0, "far", "ping", NULL));
    zframe_t *late = zframe_dup (token);
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, ZMX_MDPF01);
    zmsg_addmem (reply, "\x04", 1);
    zmsg_append (reply, &token);
    zmsg_addstr (reply, "pong");
    zmsg_send (&reply, wire.far);
    zmsg_t *answer = s_upstream_recv (&wire, ZMX_MDPF01_FINAL);
    ZMX_CHECK (answer);
    ZMX_CHECK (zmx_test_msg_is (answer, 3, "tokentok", "pong", NULL));
    ZMX_CHECK (s_counter (&wire.b, "fed_replies") == 1);
    ZMX_CHECK (s_counter (&wire.b, "fed_in_flight") == 0);
    //  A late duplicate of the reply is refused
    zmsg_t *again = zmsg_new ();
    zmsg_addstr (again, ZMX_MDPF01);
    zmsg_addmem (again, "\x04", 1);
    zmsg_append (again, &late);
    zmsg_addstr (again, "pong again");
    zmsg_send (&again, wire.far);
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_unroutable", 1, 5000));
    zframe_destroy (&header);
    zframe_destroy (&command);
    zframe_destroy (&hops);
    zmsg_destroy (&answer);
    zmsg_destroy (&request);

    //  At the hop limit: dropped, counted, nothing sent to F
    s_upstream_request (&wire, 3, "far", "too far");
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_hop_limit", 1, 5000));
    ZMX_CHECK (s_counter (&wire.b, "fed_forwarded") == 1);
    //  A service nobody offers: dropped, counted
    s_upstream_request (&wire, 1, "nothing-here", "lost");
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_no_route", 1, 5000));
    //  Never back where it came from: T also advertises "back" to B (as
    //  node-t, on a second connection) and asks B for it
    zsock_t *back = zsock_new_dealer (wire.b.endpoint);
    zsock_set_linger (back, 0);
    zchunk_t *entries = zchunk_new (NULL, 64);
    ZMX_CHECK (zmx__fed_entry_add (entries, 0, 1, "back") == 0);
    zmsg_t *advert = zmsg_new ();
    zmsg_addstr (advert, ZMX_MDPF01);
    zmsg_addmem (advert, "\x01", 1);
    zmsg_addstr (advert, "node-t");
    zmsg_addmem (advert, zchunk_data (entries), zchunk_size (entries));
    zmsg_send (&advert, back);
    zchunk_destroy (&entries);
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_routes", 2, 5000));
    s_upstream_request (&wire, 1, "back", "boomerang");
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_no_route", 2, 5000));
    ZMX_CHECK (s_counter (&wire.b, "fed_forwarded") == 1);
    zsock_destroy (&back);
    s_wire_stop (&wire);
}

//  Bounds: one advertising peer and one forwarded request at a time
static void
s_wire_limits (void)
{
    s_wire_t wire;
    s_wire_start (&wire, "    max-peers = 1\n    forward-limit = 1\n");
    //  A second advertising peer is refused
    zsock_t *extra = zsock_new_dealer (wire.b.endpoint);
    zsock_set_linger (extra, 0);
    zmsg_t *advert = zmsg_new ();
    zmsg_addstr (advert, ZMX_MDPF01);
    zmsg_addmem (advert, "\x01", 1);
    zmsg_addstr (advert, "node-x");
    zmsg_addmem (advert, "", 0);
    zmsg_send (&advert, extra);
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_peers_refused", 1, 5000));
    ZMX_CHECK (s_counter (&wire.b, "fed_peers") == 1);
    //  Two requests: the first goes to F, the second finds the table full
    s_upstream_request (&wire, 1, "far", "first");
    s_upstream_request (&wire, 1, "far", "second");
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_overflow", 1, 5000));
    ZMX_CHECK (s_counter (&wire.b, "fed_forwarded") == 1);
    ZMX_CHECK (s_counter (&wire.b, "fed_in_flight") == 1);
    zmsg_t *request = zmx_test_recv (wire.far, 5000);
    while (request && zmsg_size (request) == 3) {       //  HEARTBEAT to F
        zmsg_destroy (&request);
        request = zmx_test_recv (wire.far, 5000);
    }
    ZMX_CHECK (request && zmsg_size (request) == 6);
    ZMX_CHECK (zmx_test_msg_is (request, 4, "far", "first", NULL));
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, ZMX_MDPF01);
    zmsg_addmem (reply, "\x04", 1);
    zframe_t *token = zmsg_first (request);
    for (int index = 0; index < 2; index++)
        token = zmsg_next (request);
    zmsg_append (reply, &(zframe_t *) { zframe_dup (token) });
    zmsg_addstr (reply, "done");
    zmsg_send (&reply, wire.far);
    zmsg_t *answer = s_upstream_recv (&wire, ZMX_MDPF01_FINAL);
    ZMX_CHECK (answer && zmx_test_msg_is (answer, 3, "tokentok", "done", NULL));
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_in_flight", 0, 5000));
    zmsg_destroy (&answer);
    zmsg_destroy (&request);
    zsock_destroy (&extra);
    s_wire_stop (&wire);
}

//  Invalid federation traffic is logged, counted and dropped
static void
s_wire_garbage (void)
{
    s_wire_t wire;
    s_wire_start (&wire, NULL);
    uint64_t before = s_counter (&wire.b, "fed_malformed");
    //  On B's ROUTER, from F
    zstr_sendx (wire.far, ZMX_MDPF01, NULL, NULL);
    zstr_sendx (wire.far, ZMX_MDPF01, "\x09", "x", NULL);
    zstr_sendx (wire.far, ZMX_MDPF01, "\x02", "tokentok", "\x01", "far", "body", NULL);
    zstr_sendx (wire.far, ZMX_MDPF01, "\x04", "short", "body", NULL);
    zstr_sendx (wire.far, ZMX_MDPF01, "\x01", "node f", "", NULL);
    zmsg_t *truncated = zmsg_new ();
    zmsg_addstr (truncated, ZMX_MDPF01);
    zmsg_addmem (truncated, "\x01", 1);
    zmsg_addstr (truncated, "node-f");
    zmsg_addmem (truncated, "\x00\x00\x00\x00\x01", 5);
    zmsg_send (&truncated, wire.far);
    //  A reply for a token nobody gave
    zstr_sendx (wire.far, ZMX_MDPF01, "\x04", "12345678", "body", NULL);
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_malformed", before + 6, 5000));
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_unroutable", 1, 5000));
    //  On B's link, from T
    zmsg_t *msg = zmsg_new ();
    zmsg_append (msg, &(zframe_t *) { zframe_dup (wire.link) });
    zmsg_addstr (msg, ZMX_MDPF01);
    zmsg_addmem (msg, "\x02", 1);
    zmsg_addstr (msg, "tokentok");
    zmsg_addmem (msg, "\x00", 1);           //  hop count 0
    zmsg_addstr (msg, "far");
    zmsg_addstr (msg, "x");
    zmsg_send (&msg, wire.upstream);
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_malformed", before + 7, 5000));
    //  Still working
    s_upstream_request (&wire, 1, "far", "still");
    ZMX_CHECK (s_wait_equal (&wire.b, "fed_forwarded", 1, 5000));
    ZMX_CHECK (s_counter (&wire.b, "fed_routes") == 1);
    s_wire_stop (&wire);

    //  A broker without peers takes MDPF01 as malformed MDP
    s_node_t plain;
    s_node_init (&plain);
    s_node_start (&plain, "", NULL);
    zsock_t *sock = zsock_new_dealer (plain.endpoint);
    zsock_set_linger (sock, 0);
    zstr_sendx (sock, ZMX_MDPF01, "\x01", "node-f", "", NULL);
    ZMX_CHECK (s_wait_equal (&plain, "malformed", 1, 5000));
    ZMX_CHECK (s_counter (&plain, "fed_routes") == 0);
    zsock_destroy (&sock);
    s_node_stop (&plain);
}

//  A bad peer list or key fails the start
static void
s_bad_config (void)
{
    const char *bad [] = {
        "broker\n    endpoint = \"tcp://127.0.0.1:*\"\n    peers = \"nonsense\"\n",
        "broker\n    endpoint = \"tcp://127.0.0.1:*\"\n    peers = \"tcp://127.0.0.1:1\"\n"
        "    hop-limit = 0\n",
        "broker\n    endpoint = \"tcp://127.0.0.1:*\"\n"
        "    peers = \"tcp://127.0.0.1:1,tcp://127.0.0.1:2\"\n    max-peers = 1\n",
        "broker\n    endpoint = \"tcp://127.0.0.1:*\"\n    peers = \"tcp://127.0.0.1:1\"\n"
        "    peer-certificate = \"/nonexistent\"\n    peer-server-key = \"/nonexistent\"\n",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zconfig_t *root = zconfig_str_load (bad [index]);
        ZMX_CHECK (root);
        zmx_service_t *service = zmx_service_new ("broker", zmx_broker_actor,
                                                  zconfig_locate (root, "broker"), NULL);
        ZMX_CHECK (service == NULL);
        zconfig_destroy (&root);
    }
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "line_two_hops", s_line_two_hops, 60 },
        { "line_processes", s_line_processes, 90 },
        { "partial_over_hop", s_partial_over_hop, 60 },
        { "curve_link", s_curve_link, 60 },
        { "triangle_no_loop", s_triangle_no_loop, 90 },
        { "equal_routes", s_equal_routes, 60 },
        { "expiry_after_kill", s_expiry_after_kill, 90 },
        { "local_preferred", s_local_preferred, 60 },
        { "wire_relay", s_wire_relay, 60 },
        { "wire_limits", s_wire_limits, 60 },
        { "wire_garbage", s_wire_garbage, 60 },
        { "bad_config", s_bad_config, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
