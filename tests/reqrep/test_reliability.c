/*  =========================================================================
    test_reliability - request-reply across real processes that die

    zmxd and `zmx worker` run as separate processes and are killed with
    SIGKILL mid-flight; the library client must still get its answers by
    retrying. Also CURVE end to end: plaintext and unknown keys refused.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char *dir;                  //  private temp directory
    char *config;               //  zmxd config path
    char *endpoint;             //  broker endpoint
    int port;
    pid_t zmxd;
} s_node_t;

//  Write a zmxd config with a broker on a free port and short heartbeats;
//  `security` is an extra ZPL section (or NULL).
static s_node_t
s_node_new (const char *security)
{
    s_node_t node;
    node.dir = zmx_test_tmpdir ();
    node.port = zmx_test_free_port ();
    node.endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", node.port);
    node.config = zsys_sprintf ("%s/zmxd.cfg", node.dir);
    char *text = zsys_sprintf ("zmxd\n    log-level = notice\n%s"
                               "broker\n    endpoint = \"%s\"\n    heartbeat-interval = 100\n",
                               security? security: "", node.endpoint);
    ZMX_CHECK (zmx_test_write_file (node.config, text) == 0);
    zstr_free (&text);
    node.zmxd = 0;
    return node;
}

static void
s_node_start (s_node_t *node)
{
    char *zmxd = zmx_test_bin ("zmxd");
    char *log = zsys_sprintf ("%s/zmxd.log", node->dir);
    char *argv [] = { zmxd, "-c", node->config, NULL };
    node->zmxd = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_port (node->port, 5000));
    zstr_free (&log);
    zstr_free (&zmxd);
}

static void
s_node_destroy (s_node_t *node)
{
    zmx_test_stop (node->zmxd, 2000);
    zmx_test_rmdir (node->dir);
    zstr_free (&node->dir);
    zstr_free (&node->config);
    zstr_free (&node->endpoint);
}

//  Start `zmx worker` with short heartbeats; extra arguments follow.
static pid_t
s_worker_spawn (s_node_t *node, char *const extra [])
{
    char *zmx = zmx_test_bin ("zmx");
    char *argv [32] = { zmx, "worker", "-b", node->endpoint, "--heartbeat", "100" };
    int argc = 6;
    for (int index = 0; extra [index] && argc < 31; index++)
        argv [argc++] = extra [index];
    argv [argc] = NULL;
    char *log = zsys_sprintf ("%s/workers.log", node->dir);
    pid_t pid = zmx_test_spawn (argv, log);
    zstr_free (&log);
    zstr_free (&zmx);
    return pid;
}

static char *
s_request (zmx_client_t *client, const char *service, const char *body)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, body);
    zmsg_t *reply = zmx_client_request (client, service, &request);
    char *text = reply? zmsg_popstr (reply): NULL;
    zmsg_destroy (&reply);
    return text;
}

static bool
s_wait_file (const char *path, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        if (access (path, F_OK) == 0)
            return true;
        zclock_sleep (5);
    }
    return false;
}

//  -------------------------------------------------------------------------
//  A worker is killed while it holds the request; the client's retry is
//  served by a second worker.

typedef struct {
    s_node_t *node;
    char *marker;
    pid_t stuck;
    pid_t rescuer;
} s_rescue_t;

static void
s_rescue_actor (zsock_t *pipe, void *args)
{
    s_rescue_t *rescue = (s_rescue_t *) args;
    zsock_signal (pipe, 0);
    bool started = s_wait_file (rescue->marker, 10000);
    if (started) {
        kill (rescue->stuck, SIGKILL);
        char *extra [] = { "late", "--echo", NULL };
        rescue->rescuer = s_worker_spawn (rescue->node, extra);
    }
    zsock_signal (pipe, started? 0: 1);
    zsock_wait (pipe);          //  until the test is done with us
}

static void
s_worker_killed_mid_request (void)
{
    s_node_t node = s_node_new (NULL);
    s_node_start (&node);
    s_rescue_t rescue = { &node, zsys_sprintf ("%s/started", node.dir), 0, 0 };
    char *script = zsys_sprintf ("touch '%s'; exec sleep 60", rescue.marker);
    char *extra [] = { "late", "--", "/bin/sh", "-c", script, NULL };
    rescue.stuck = s_worker_spawn (&node, extra);
    ZMX_CHECK (zmx_test_wait_service (node.endpoint, "late", 5000));

    zactor_t *helper = zactor_new (s_rescue_actor, &rescue);
    zmx_client_t *client = zmx_client_new (node.endpoint);
    zmx_client_set_timeout (client, 1000);
    zmx_client_set_retries (client, 5);
    int64_t started = zclock_mono ();
    char *answer = s_request (client, "late", "survive this");
    fprintf (stderr, "    answered after %" PRId64 " ms despite the SIGKILL\n",
             zclock_mono () - started);
    ZMX_CHECK (zsock_wait (helper) == 0);
    ZMX_CHECK_STR (answer, "survive this");
    zstr_free (&answer);
    zmx_client_destroy (&client);
    zsock_signal (helper, 0);
    zactor_destroy (&helper);
    zmx_test_stop (rescue.rescuer, 2000);
    zmx_test_stop (rescue.stuck, 100);
    zstr_free (&script);
    zstr_free (&rescue.marker);
    s_node_destroy (&node);
}

//  zmxd dies with SIGKILL and comes back on the same port: the worker
//  process re-registers by itself and the client succeeds by retrying.
static void
s_broker_restart (void)
{
    s_node_t node = s_node_new (NULL);
    s_node_start (&node);
    char *extra [] = { "echo", "--echo", NULL };
    pid_t worker = s_worker_spawn (&node, extra);
    ZMX_CHECK (zmx_test_wait_service (node.endpoint, "echo", 5000));
    zmx_client_t *client = zmx_client_new (node.endpoint);
    zmx_client_set_timeout (client, 500);
    zmx_client_set_retries (client, 10);
    char *answer = s_request (client, "echo", "before");
    ZMX_CHECK_STR (answer, "before");
    zstr_free (&answer);

    kill (node.zmxd, SIGKILL);
    ZMX_CHECK (zmx_test_wait (node.zmxd, 2000) != -1);
    s_node_start (&node);
    int64_t restarted = zclock_mono ();
    answer = s_request (client, "echo", "after");
    fprintf (stderr, "    served %" PRId64 " ms after the restart\n", zclock_mono () - restarted);
    ZMX_CHECK_STR (answer, "after");
    ZMX_CHECK (zmx_test_wait (worker, 0) == -1);    //  same worker process, still running
    zstr_free (&answer);
    zmx_client_destroy (&client);
    zmx_test_stop (worker, 2000);
    s_node_destroy (&node);
}

//  -------------------------------------------------------------------------
//  CURVE: the allowed key works; plaintext and unknown keys are refused.

static void
s_curve (void)
{
    char *dir = zmx_test_tmpdir ();
    char *server = zsys_sprintf ("%s/server.cert", dir);
    char *allowed = zsys_sprintf ("%s/allowed.cert", dir);
    char *stranger = zsys_sprintf ("%s/stranger.cert", dir);
    char *clients = zsys_sprintf ("%s/clients", dir);
    ZMX_CHECK (zmx_security_keygen (server, "server") == ZMX_OK);
    ZMX_CHECK (zmx_security_keygen (allowed, "allowed") == ZMX_OK);
    ZMX_CHECK (zmx_security_keygen (stranger, "stranger") == ZMX_OK);
    ZMX_CHECK (mkdir (clients, 0700) == 0);
    //  Only the allowed client's public certificate goes in the directory
    zcert_t *cert = zcert_load (allowed);
    ZMX_CHECK (cert);
    char *listed = zsys_sprintf ("%s/allowed.cert", clients);
    ZMX_CHECK (zcert_save_public (cert, listed) == 0);
    zcert_destroy (&cert);

    char *security = zsys_sprintf ("security\n    curve = 1\n    certificate = \"%s\"\n"
                                   "    clients = \"%s\"\n", server, clients);
    s_node_t node = s_node_new (security);
    s_node_start (&node);
    char *extra [] = { "--curve-cert", allowed, "--server-key", server, "secret", "--echo", NULL };
    pid_t worker = s_worker_spawn (&node, extra);

    zmx_client_t *client = zmx_client_new (node.endpoint);
    ZMX_CHECK (zmx_client_set_curve (client, allowed, server) == ZMX_OK);
    zmx_client_set_timeout (client, 1000);
    zmx_client_set_retries (client, 5);     //  the worker may still be registering
    char *answer = s_request (client, "secret", "hello over curve");
    ZMX_CHECK_STR (answer, "hello over curve");
    zstr_free (&answer);
    zmx_client_destroy (&client);

    zmx_client_t *plain = zmx_client_new (node.endpoint);
    zmx_client_set_timeout (plain, 300);
    zmx_client_set_retries (plain, 1);
    ZMX_CHECK (s_request (plain, "secret", "let me in") == NULL);
    ZMX_CHECK (zmx_client_error (plain) == ZMX_ETIMEDOUT);
    zmx_client_destroy (&plain);

    zmx_client_t *unknown = zmx_client_new (node.endpoint);
    ZMX_CHECK (zmx_client_set_curve (unknown, stranger, server) == ZMX_OK);
    zmx_client_set_timeout (unknown, 300);
    zmx_client_set_retries (unknown, 1);
    ZMX_CHECK (s_request (unknown, "secret", "let me in") == NULL);
    ZMX_CHECK (zmx_client_error (unknown) == ZMX_ETIMEDOUT);
    zmx_client_destroy (&unknown);

    zmx_test_stop (worker, 2000);
    s_node_destroy (&node);
    zmx_test_rmdir (dir);
    zstr_free (&security);
    zstr_free (&listed);
    zstr_free (&clients);
    zstr_free (&stranger);
    zstr_free (&allowed);
    zstr_free (&server);
    zstr_free (&dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "worker_killed_mid_request", s_worker_killed_mid_request, 40 },
        { "broker_restart", s_broker_restart, 40 },
        { "curve", s_curve, 40 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
