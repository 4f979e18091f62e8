/*  =========================================================================
    test_titanic - durable requests (9/TSP) through a real zmxd

    Each case runs zmxd with a broker on a free port and the titanic
    service storing into a private temp directory, and talks TSP to it:
    through zmx_client, through raw MDP/0.1 frames on DEALER and REQ
    sockets, and through `zmx call --durable`. zmxd is killed with SIGKILL
    right after acknowledgements and restarted; every acknowledged request
    must still get its reply.
    =========================================================================
*/
#include "testing.h"
#include "reqrep/zmx_reqrep_internal.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_HEARTBEAT 200         //  msec, zmxd and workers alike

typedef struct {
    char *dir;                  //  private temp directory
    char *data;                 //  titanic's directory inside it
    char *config;               //  zmxd config path
    char *log;                  //  zmxd output
    char *endpoint;             //  broker endpoint
    int port;
    bool titanic;               //  the config has a titanic section
    pid_t zmxd;
} s_node_t;

//  A zmxd config: broker on a free port, titanic with short timers and
//  `extra` lines in its section.
static s_node_t
s_node_new (const char *extra)
{
    s_node_t node;
    node.dir = zmx_test_tmpdir ();
    node.data = zsys_sprintf ("%s/data/titanic", node.dir);
    node.port = zmx_test_free_port ();
    node.endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", node.port);
    node.config = zsys_sprintf ("%s/zmxd.cfg", node.dir);
    node.log = zsys_sprintf ("%s/zmxd.log", node.dir);
    char *text = zsys_sprintf (
        "broker\n    endpoint = \"%s\"\n    heartbeat-interval = %d\n"
        "titanic\n    endpoint = \"%s\"\n    directory = \"%s\"\n"
        "    heartbeat-interval = %d\n    retry-interval = 100\n"
        "    dispatch-timeout = 2000\n%s",
        node.endpoint, S_HEARTBEAT, node.endpoint, node.data, S_HEARTBEAT, extra? extra: "");
    ZMX_CHECK (zmx_test_write_file (node.config, text) == 0);
    zstr_free (&text);
    node.zmxd = 0;
    node.titanic = true;
    return node;
}

//  Start zmxd and wait until titanic.request has a worker.
static void
s_node_start (s_node_t *node)
{
    char *zmxd = zmx_test_bin ("zmxd");
    char *argv [] = { zmxd, "-c", node->config, NULL };
    node->zmxd = zmx_test_spawn (argv, node->log);
    ZMX_CHECK (zmx_test_wait_port (node->port, 10000));
    if (node->titanic)
        ZMX_CHECK (zmx_test_wait_service (node->endpoint, ZMX_TITANIC_REQUEST, 10000));
    zstr_free (&zmxd);
}

static void
s_node_kill (s_node_t *node)
{
    kill (node->zmxd, SIGKILL);
    waitpid (node->zmxd, NULL, 0);
    node->zmxd = 0;
}

static void
s_node_destroy (s_node_t *node)
{
    if (node->zmxd)
        zmx_test_stop (node->zmxd, 3000);
    zmx_test_rmdir (node->dir);
    zstr_free (&node->dir);
    zstr_free (&node->data);
    zstr_free (&node->config);
    zstr_free (&node->log);
    zstr_free (&node->endpoint);
}

//  A client with short attempts and enough retries to ride out a restart.
static zmx_client_t *
s_client (s_node_t *node)
{
    zmx_client_t *client = zmx_client_new (node->endpoint);
    ZMX_CHECK (client);
    zmx_client_set_timeout (client, 1000);
    zmx_client_set_retries (client, 5);
    return client;
}

//  Call a TSP service with NULL-terminated string frames; the reply or NULL.
static zmsg_t *
s_tsp (zmx_client_t *client, const char *service, ...)
{
    zmsg_t *request = zmsg_new ();
    va_list args;
    va_start (args, service);
    for (const char *frame = va_arg (args, const char *); frame;
         frame = va_arg (args, const char *))
        zmsg_addstr (request, frame);
    va_end (args);
    return zmx_client_request (client, service, &request);
}

//  The status frame of a TSP answer, or "" if there was none. Caller frees.
static char *
s_status_of (zmsg_t *reply)
{
    char *status = reply? zmsg_popstr (reply): NULL;
    return status? status: strdup ("");
}

//  Store a request; returns its UUID (caller frees).
static char *
s_submit (zmx_client_t *client, const char *service, const char *body)
{
    zmsg_t *reply = s_tsp (client, ZMX_TITANIC_REQUEST, service, body, NULL);
    char *status = s_status_of (reply);
    ZMX_CHECK_STR (status, ZMX_TITANIC_OK);
    char *uuid = zmsg_popstr (reply);
    ZMX_CHECK (uuid && strlen (uuid) == ZMX_TITANIC_UUID_SIZE);
    zstr_free (&status);
    zmsg_destroy (&reply);
    return uuid;
}

//  Poll titanic.reply until "200" or timeout; returns the first body frame
//  (caller frees) or NULL.
static char *
s_await_reply (zmx_client_t *client, const char *uuid, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zmsg_t *reply = s_tsp (client, ZMX_TITANIC_REPLY, uuid, NULL);
        char *status = s_status_of (reply);
        bool done = streq (status, ZMX_TITANIC_OK);
        char *body = done? zmsg_popstr (reply): NULL;
        zstr_free (&status);
        zmsg_destroy (&reply);
        if (done)
            return body? body: strdup ("");
        zclock_sleep (20);
    }
    return NULL;
}

static zactor_t *
s_echo_worker (zmx_test_worker_t *settings, const char *endpoint, const char *service)
{
    *settings = (zmx_test_worker_t) { endpoint, service, S_HEARTBEAT, 3, 50, 500, 1 };
    return zactor_new (zmx_test_echo_worker, settings);
}

static void
s_expect_status (zmx_client_t *client, const char *service, const char *uuid,
                 const char *expected)
{
    zmsg_t *reply = s_tsp (client, service, uuid, NULL);
    char *status = s_status_of (reply);
    ZMX_CHECK_STR (status, expected);
    zstr_free (&status);
    zmsg_destroy (&reply);
}

static bool
s_file_exists (const char *dir, const char *uuid, const char *suffix)
{
    char *path = zsys_sprintf ("%s/%s.%s", dir, uuid, suffix);
    bool exists = access (path, F_OK) == 0;
    free (path);
    return exists;
}

//  -------------------------------------------------------------------------
//  Stored first, served when a worker comes; 300 before, kept until close

static void
s_served_when_worker_comes (void)
{
    s_node_t node = s_node_new (NULL);
    s_node_start (&node);
    zmx_client_t *client = s_client (&node);
    char *uuid = s_submit (client, "later", "hello");
    ZMX_CHECK (s_file_exists (node.data, uuid, "req"));
    //  No worker yet: pending, as long as we care to look
    for (int round = 0; round < 5; round++) {
        s_expect_status (client, ZMX_TITANIC_REPLY, uuid, ZMX_TITANIC_PENDING);
        zclock_sleep (100);
    }
    zmx_test_worker_t settings;
    zactor_t *worker = s_echo_worker (&settings, node.endpoint, "later");
    char *body = s_await_reply (client, uuid, 10000);
    ZMX_CHECK_STR (body, "hello");
    zstr_free (&body);
    ZMX_CHECK (s_file_exists (node.data, uuid, "rep"));
    //  Kept until closed: ask again, also in lowercase (9/TSP allows it)
    char lower [ZMX_TITANIC_UUID_SIZE + 1];
    for (size_t index = 0; index <= ZMX_TITANIC_UUID_SIZE; index++)
        lower [index] = (char) tolower (uuid [index]);
    body = s_await_reply (client, lower, 1000);
    ZMX_CHECK_STR (body, "hello");
    zstr_free (&body);
    s_expect_status (client, ZMX_TITANIC_CLOSE, uuid, ZMX_TITANIC_OK);
    ZMX_CHECK (!s_file_exists (node.data, uuid, "req"));
    ZMX_CHECK (!s_file_exists (node.data, uuid, "rep"));
    s_expect_status (client, ZMX_TITANIC_REPLY, uuid, ZMX_TITANIC_UNKNOWN);
    //  Closing twice, or an unknown UUID, is still "200"
    s_expect_status (client, ZMX_TITANIC_CLOSE, uuid, ZMX_TITANIC_OK);
    s_expect_status (client, ZMX_TITANIC_REPLY, "0123456789ABCDEF0123456789ABCDEF",
                     ZMX_TITANIC_UNKNOWN);
    s_expect_status (client, ZMX_TITANIC_CLOSE, "0123456789ABCDEF0123456789ABCDEF",
                     ZMX_TITANIC_OK);
    zactor_destroy (&worker);
    zmx_client_destroy (&client);
    free (uuid);
    s_node_destroy (&node);
}

//  A multi-frame request and a reply survive a clean restart; closing a
//  pending request cancels it.
static void
s_frames_and_restart (void)
{
    s_node_t node = s_node_new (NULL);
    s_node_start (&node);
    zmx_client_t *client = s_client (&node);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "multi");
    zmsg_addstr (request, "one");
    zmsg_addmem (request, "", 0);
    zmsg_addmem (request, "t\0wo", 4);
    zmsg_t *reply = zmx_client_request (client, ZMX_TITANIC_REQUEST, &request);
    char *status = s_status_of (reply);
    ZMX_CHECK_STR (status, ZMX_TITANIC_OK);
    char *uuid = zmsg_popstr (reply);
    zmsg_destroy (&reply);
    zstr_free (&status);
    char *cancelled = s_submit (client, "nobody", "x");
    s_expect_status (client, ZMX_TITANIC_CLOSE, cancelled, ZMX_TITANIC_OK);
    ZMX_CHECK (!s_file_exists (node.data, cancelled, "req"));
    zmx_test_stop (node.zmxd, 3000);
    s_node_start (&node);

    zmx_test_worker_t settings;
    zactor_t *worker = s_echo_worker (&settings, node.endpoint, "multi");
    int64_t deadline = zclock_mono () + 10000;
    reply = NULL;
    while (zclock_mono () < deadline) {
        reply = s_tsp (client, ZMX_TITANIC_REPLY, uuid, NULL);
        status = s_status_of (reply);
        bool done = streq (status, ZMX_TITANIC_OK);
        zstr_free (&status);
        if (done)
            break;
        zmsg_destroy (&reply);
        zclock_sleep (20);
    }
    ZMX_CHECK (reply && zmsg_size (reply) == 3);
    ZMX_CHECK (zframe_streq (zmsg_first (reply), "one"));
    ZMX_CHECK (zframe_size (zmsg_next (reply)) == 0);
    zframe_t *last = zmsg_next (reply);
    ZMX_CHECK (zframe_size (last) == 4 && memcmp (zframe_data (last), "t\0wo", 4) == 0);
    zmsg_destroy (&reply);
    //  The stored reply survives kill -9 too, until closed
    s_node_kill (&node);
    s_node_start (&node);
    reply = s_tsp (client, ZMX_TITANIC_REPLY, uuid, NULL);
    status = s_status_of (reply);
    ZMX_CHECK_STR (status, ZMX_TITANIC_OK);
    ZMX_CHECK (zmsg_size (reply) == 3);
    zstr_free (&status);
    zmsg_destroy (&reply);
    s_expect_status (client, ZMX_TITANIC_REPLY, cancelled, ZMX_TITANIC_UNKNOWN);
    zactor_destroy (&worker);
    zmx_client_destroy (&client);
    free (cancelled);
    free (uuid);
    s_node_destroy (&node);
}

//  -------------------------------------------------------------------------
//  Malformed bodies get "400", never a crash; a full store gets "500"

static void
s_expect_frames (zmx_client_t *client, const char *service, zmsg_t *request,
                 const char *expected)
{
    zmsg_t *reply = zmx_client_request (client, service, &request);
    char *status = s_status_of (reply);
    ZMX_CHECK_STR (status, expected);
    zstr_free (&status);
    zmsg_destroy (&reply);
}

static void
s_malformed_bodies (void)
{
    s_node_t node = s_node_new ("    max-pending = 3\n    max-message-size = 100\n");
    s_node_start (&node);
    zmx_client_t *client = s_client (&node);
    //  titanic.request: only a service; an empty or unprintable service
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "echo");
    s_expect_frames (client, ZMX_TITANIC_REQUEST, request, ZMX_TITANIC_UNKNOWN);
    request = zmsg_new ();
    zmsg_addmem (request, "", 0);
    zmsg_addstr (request, "body");
    s_expect_frames (client, ZMX_TITANIC_REQUEST, request, ZMX_TITANIC_UNKNOWN);
    request = zmsg_new ();
    zmsg_addmem (request, "e\x01o", 3);
    zmsg_addstr (request, "body");
    s_expect_frames (client, ZMX_TITANIC_REQUEST, request, ZMX_TITANIC_UNKNOWN);
    //  A body above max-message-size
    request = zmsg_new ();
    zmsg_addstr (request, "echo");
    zmsg_addmem (request, NULL, 0);
    zframe_t *large = zframe_new (NULL, 200);
    memset (zframe_data (large), 'x', 200);
    zmsg_append (request, &large);
    s_expect_frames (client, ZMX_TITANIC_REQUEST, request, ZMX_TITANIC_UNKNOWN);
    //  titanic.reply and titanic.close: not a UUID, two frames, 33 digits
    const char *services [] = { ZMX_TITANIC_REPLY, ZMX_TITANIC_CLOSE };
    for (size_t index = 0; index < 2; index++) {
        s_expect_status (client, services [index], "xyz", ZMX_TITANIC_UNKNOWN);
        s_expect_status (client, services [index], "0123456789ABCDEF0123456789ABCDEF0",
                         ZMX_TITANIC_UNKNOWN);
        s_expect_status (client, services [index], "0123456789ABCDEF0123456789ABCDEG",
                         ZMX_TITANIC_UNKNOWN);
        request = zmsg_new ();
        zmsg_addstr (request, "0123456789ABCDEF0123456789ABCDEF");
        zmsg_addstr (request, "extra");
        s_expect_frames (client, services [index], request, ZMX_TITANIC_UNKNOWN);
        request = zmsg_new ();
        zmsg_addmem (request, "", 0);
        s_expect_frames (client, services [index], request, ZMX_TITANIC_UNKNOWN);
    }
    //  Three pending requests fill it: the fourth is refused with "500"
    for (int index = 0; index < 3; index++) {
        char *uuid = s_submit (client, "nobody", "x");
        free (uuid);
    }
    zmsg_t *reply = s_tsp (client, ZMX_TITANIC_REQUEST, "nobody", "x", NULL);
    char *status = s_status_of (reply);
    ZMX_CHECK_STR (status, ZMX_TITANIC_ERROR);
    ZMX_CHECK (zmsg_size (reply) == 0);
    zstr_free (&status);
    zmsg_destroy (&reply);
    //  Still alive and serving
    ZMX_CHECK (kill (node.zmxd, 0) == 0);
    s_expect_status (client, ZMX_TITANIC_CLOSE, "0123456789ABCDEF0123456789ABCDEF",
                     ZMX_TITANIC_OK);
    zmx_client_destroy (&client);
    s_node_destroy (&node);
}

//  -------------------------------------------------------------------------
//  An independent client: MDP/0.1 frames by hand on DEALER and REQ

//  Send MDP/0.1 client frames on a raw socket ("" first on a DEALER) and
//  return the reply's frames after the header (status first).
static zmsg_t *
s_raw_call (zsock_t *socket, bool dealer, const char *service, const char *frame1,
            const char *frame2)
{
    zmsg_t *msg = zmsg_new ();
    if (dealer)
        zmsg_addmem (msg, "", 0);
    zmsg_addstr (msg, "MDPC01");
    zmsg_addstr (msg, service);
    zmsg_addstr (msg, frame1);
    if (frame2)
        zmsg_addstr (msg, frame2);
    ZMX_CHECK (zmsg_send (&msg, socket) == 0);
    zmsg_t *reply = zmx_test_recv (socket, 5000);
    ZMX_CHECK (reply);
    if (dealer) {
        zframe_t *empty = zmsg_pop (reply);
        ZMX_CHECK (empty && zframe_size (empty) == 0);
        zframe_destroy (&empty);
    }
    char *header = zmsg_popstr (reply);
    char *from = zmsg_popstr (reply);
    ZMX_CHECK_STR (header, "MDPC01");
    ZMX_CHECK_STR (from, service);
    zstr_free (&header);
    zstr_free (&from);
    return reply;
}

static void
s_raw_mdp_client (void)
{
    s_node_t node = s_node_new (NULL);
    s_node_start (&node);
    zmx_test_worker_t settings;
    zactor_t *worker = s_echo_worker (&settings, node.endpoint, "echo");
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_t *req = zsock_new (ZMQ_REQ);
    zsock_set_linger (dealer, 0);
    zsock_set_linger (req, 0);
    ZMX_CHECK (zsock_connect (dealer, "%s", node.endpoint) == 0);
    ZMX_CHECK (zsock_connect (req, "%s", node.endpoint) == 0);

    zmsg_t *reply = s_raw_call (dealer, true, ZMX_TITANIC_REQUEST, "echo", "by hand");
    char *status = zmsg_popstr (reply);
    char *uuid = zmsg_popstr (reply);
    ZMX_CHECK_STR (status, "200");
    ZMX_CHECK (uuid && strlen (uuid) == 32);
    zstr_free (&status);
    zmsg_destroy (&reply);
    //  titanic.reply over REQ: 300 (maybe) then 200 with the echo
    int64_t deadline = zclock_mono () + 10000;
    char *body = NULL;
    while (!body && zclock_mono () < deadline) {
        reply = s_raw_call (req, false, ZMX_TITANIC_REPLY, uuid, NULL);
        status = zmsg_popstr (reply);
        ZMX_CHECK (streq (status, "200") || streq (status, "300"));
        if (streq (status, "200"))
            body = zmsg_popstr (reply);
        else
            zclock_sleep (20);
        zstr_free (&status);
        zmsg_destroy (&reply);
    }
    ZMX_CHECK_STR (body, "by hand");
    reply = s_raw_call (req, false, ZMX_TITANIC_CLOSE, uuid, NULL);
    status = zmsg_popstr (reply);
    ZMX_CHECK_STR (status, "200");
    ZMX_CHECK (zmsg_size (reply) == 0);
    zstr_free (&status);
    zmsg_destroy (&reply);
    reply = s_raw_call (dealer, true, ZMX_TITANIC_REPLY, uuid, NULL);
    status = zmsg_popstr (reply);
    ZMX_CHECK_STR (status, "400");
    zstr_free (&status);
    zmsg_destroy (&reply);
    zstr_free (&body);
    zstr_free (&uuid);
    zsock_destroy (&req);
    zsock_destroy (&dealer);
    zactor_destroy (&worker);
    s_node_destroy (&node);
}

//  -------------------------------------------------------------------------
//  kill -9 right after acknowledgements, at random moments, several times

typedef struct {
    const char *endpoint;       //  broker
    int round;                  //  for the bodies
} s_submitter_args_t;

//  Submits requests one after another until $TERM, sending "uuid" "body"
//  up the pipe for each acknowledgement.
static void
s_submitter (zsock_t *pipe, void *args)
{
    s_submitter_args_t *settings = (s_submitter_args_t *) args;
    zmx_client_t *client = zmx_client_new (settings->endpoint);
    zmx_client_set_timeout (client, 300);
    zmx_client_set_retries (client, 0);
    zsock_signal (pipe, 0);
    for (int index = 0; !(zsock_events (pipe) & ZMQ_POLLIN); index++) {
        char *body = zsys_sprintf ("r%d-%d", settings->round, index);
        zmsg_t *reply = s_tsp (client, ZMX_TITANIC_REQUEST, "survivor", body, NULL);
        bool failed = reply == NULL;
        char *status = reply? zmsg_popstr (reply): NULL;
        char *uuid = reply? zmsg_popstr (reply): NULL;
        if (status && streq (status, "200") && uuid)
            zstr_sendx (pipe, "ACK", uuid, body, NULL);
        zstr_free (&status);
        zstr_free (&uuid);
        zmsg_destroy (&reply);
        zstr_free (&body);
        if (failed && zmx_client_error (client) == ZMX_ETERM)
            break;
    }
    zmx_client_destroy (&client);
    zstr_sendx (pipe, "DONE", NULL);
    char *command = zstr_recv (pipe);
    zstr_free (&command);
}

//  Collect ACKs from a submitter until DONE: uuid -> body.
static void
s_collect (zactor_t *submitter, zhashx_t *acked)
{
    zstr_send (submitter, "STOP");
    while (true) {
        zmsg_t *msg = zmsg_recv (submitter);
        ZMX_CHECK (msg);
        char *kind = zmsg_popstr (msg);
        bool done = streq (kind, "DONE");
        if (!done) {
            char *uuid = zmsg_popstr (msg);
            char *body = zmsg_popstr (msg);
            zhashx_insert (acked, uuid, body);
            zstr_free (&uuid);
        }
        zstr_free (&kind);
        zmsg_destroy (&msg);
        if (done)
            break;
    }
}

static void
s_kill9_recovery (void)
{
    s_node_t node = s_node_new (NULL);
    zhashx_t *acked = zhashx_new ();
    zhashx_set_destructor (acked, (zhashx_destructor_fn *) zstr_free);
    srandom ((unsigned) getpid ());
    for (int round = 0; round < 4; round++) {
        s_node_start (&node);
        s_submitter_args_t settings = { node.endpoint, round };
        zactor_t *submitter = zactor_new (s_submitter, &settings);
        //  Let some acknowledgements through, then kill at a random moment
        size_t before = zhashx_size (acked);
        zclock_sleep (200 + (int) (random () % 400));
        s_node_kill (&node);
        s_collect (submitter, acked);
        zactor_destroy (&submitter);
        printf ("    round %d: %zu acknowledged before kill -9\n", round,
                zhashx_size (acked) - before);
    }
    ZMX_CHECK (zhashx_size (acked) > 0);
    s_node_start (&node);
    zmx_test_worker_t worker_settings;
    zactor_t *worker = s_echo_worker (&worker_settings, node.endpoint, "survivor");
    zmx_client_t *client = s_client (&node);
    size_t lost = 0, wrong = 0;
    for (char *body = (char *) zhashx_first (acked); body;
         body = (char *) zhashx_next (acked)) {
        const char *uuid = (const char *) zhashx_cursor (acked);
        char *reply = s_await_reply (client, uuid, 15000);
        if (!reply)
            lost++;
        else
        if (!streq (reply, body))
            wrong++;
        zstr_free (&reply);
    }
    printf ("    %zu acknowledged in all: lost %zu, wrong reply %zu\n", zhashx_size (acked),
            lost, wrong);
    ZMX_CHECK (lost == 0);
    ZMX_CHECK (wrong == 0);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    zhashx_destroy (&acked);
    s_node_destroy (&node);
}

//  -------------------------------------------------------------------------
//  zmx call --durable

//  Run `zmx call --durable ...`; returns the exit code and the output
//  (stdout and stderr) in *output_p (caller frees).
static int
s_zmx_durable (s_node_t *node, const char *timeout, const char *service, const char *frame,
               char **output_p)
{
    char *zmx = zmx_test_bin ("zmx");
    char *log = zsys_sprintf ("%s/zmx.log", node->dir);
    unlink (log);
    char *argv [] = { zmx, "call", "--durable", "-b", node->endpoint, "-t", (char *) timeout,
                      "-r", "0", (char *) service, (char *) frame, NULL };
    pid_t pid = zmx_test_spawn (argv, log);
    int rc = zmx_test_exit_code (pid, 20000, 1000);
    *output_p = zmx_test_read_file (log);
    printf ("    zmx call --durable %s: exit %d\n%s", service, rc, *output_p);
    free (log);
    free (zmx);
    return rc;
}

static void
s_cli_durable (void)
{
    s_node_t node = s_node_new (NULL);
    s_node_start (&node);
    //  No worker: stored, polled, and a timeout (exit 3) with the UUID
    char *output = NULL;
    ZMX_CHECK (s_zmx_durable (&node, "600", "nobody", "x", &output) == 3);
    ZMX_CHECK (strstr (output, "stored as "));
    free (output);
    //  With a worker: the reply printed, then closed
    zmx_test_worker_t settings;
    zactor_t *worker = s_echo_worker (&settings, node.endpoint, "echo");
    ZMX_CHECK (s_zmx_durable (&node, "3000", "echo", "durable hi", &output) == 0);
    ZMX_CHECK (strstr (output, "durable hi\n"));
    char *stored = strstr (output, "stored as ");
    ZMX_CHECK (stored);
    char uuid [ZMX_TITANIC_UUID_SIZE + 1];
    memcpy (uuid, stored + 10, ZMX_TITANIC_UUID_SIZE);
    uuid [ZMX_TITANIC_UUID_SIZE] = 0;
    free (output);
    ZMX_CHECK (!s_file_exists (node.data, uuid, "req"));
    zmx_client_t *client = s_client (&node);
    s_expect_status (client, ZMX_TITANIC_REPLY, uuid, ZMX_TITANIC_UNKNOWN);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    //  Without titanic: exit 4
    zmx_test_stop (node.zmxd, 3000);
    char *text = zsys_sprintf ("broker\n    endpoint = \"%s\"\n", node.endpoint);
    ZMX_CHECK (zmx_test_write_file (node.config, text) == 0);
    free (text);
    node.titanic = false;
    s_node_start (&node);
    ZMX_CHECK (s_zmx_durable (&node, "1000", "echo", "x", &output) == 4);
    free (output);
    s_node_destroy (&node);
}

//  -------------------------------------------------------------------------
//  In process: counters, pipe commands, bad config

static void
s_in_process (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_service_t *broker = zmx_test_broker_new (NULL);
    const char *endpoint = zmx_service_endpoint (broker);
    zconfig_t *config = zmx_test_titanic_config (endpoint, dir);
    zmx_service_t *titanic = zmx_service_new ("titanic", zmx_titanic_actor, config, NULL);
    ZMX_CHECK (titanic);
    ZMX_CHECK (zmx_service_endpoint (titanic) == NULL);      //  Binds nothing

    zmx_test_worker_t settings;
    zactor_t *worker = s_echo_worker (&settings, endpoint, "echo");
    zmx_client_t *client = zmx_client_new (endpoint);
    char *uuid = s_submit (client, "echo", "counted");
    char *body = s_await_reply (client, uuid, 10000);
    ZMX_CHECK_STR (body, "counted");
    s_expect_status (client, ZMX_TITANIC_CLOSE, uuid, ZMX_TITANIC_OK);
    s_expect_status (client, ZMX_TITANIC_CLOSE, "nonsense", ZMX_TITANIC_UNKNOWN);
    ZMX_CHECK (zmx_service_counter (titanic, "requests") == 1);
    ZMX_CHECK (zmx_service_counter (titanic, "replies_stored") == 1);
    ZMX_CHECK (zmx_service_counter (titanic, "replies_fetched") >= 1);
    ZMX_CHECK (zmx_service_counter (titanic, "closed") == 1);
    ZMX_CHECK (zmx_service_counter (titanic, "malformed") == 1);
    ZMX_CHECK (zmx_service_counter (titanic, "stored") == 0);
    ZMX_CHECK (zmx_service_counter (titanic, "pending") == 0);
    zstr_send (zmx_service_actor (titanic), "BOGUS");
    char *verdict = NULL, *reason = NULL;
    zstr_recvx (zmx_service_actor (titanic), &verdict, &reason, NULL);
    ZMX_CHECK_STR (verdict, ZMX_SERVICE_ERROR);
    zstr_free (&verdict);
    zstr_free (&reason);
    zstr_free (&body);
    zstr_free (&uuid);
    zmx_service_destroy (&titanic);

    //  Replies nobody closes go after reply-retention seconds
    zconfig_put (config, "reply-retention", "1");
    titanic = zmx_service_new ("titanic", zmx_titanic_actor, config, NULL);
    ZMX_CHECK (titanic);
    uuid = s_submit (client, "echo", "forgotten");
    body = s_await_reply (client, uuid, 10000);
    ZMX_CHECK_STR (body, "forgotten");
    zstr_free (&body);
    int64_t deadline = zclock_mono () + 10000;
    while (zmx_service_counter (titanic, "expired") == 0 && zclock_mono () < deadline)
        zclock_sleep (50);
    ZMX_CHECK (zmx_service_counter (titanic, "expired") == 1);
    s_expect_status (client, ZMX_TITANIC_REPLY, uuid, ZMX_TITANIC_UNKNOWN);
    zstr_free (&uuid);
    zmx_service_destroy (&titanic);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);

    //  A bad key, and a directory that cannot be made, stop it starting
    zconfig_put (config, "retry-interval", "0");
    ZMX_CHECK (zmx_service_new ("titanic", zmx_titanic_actor, config, NULL) == NULL);
    zconfig_put (config, "retry-interval", "50");
    zconfig_put (config, "directory", "/proc/no/such/place");
    ZMX_CHECK (zmx_service_new ("titanic", zmx_titanic_actor, config, NULL) == NULL);
    zconfig_destroy (&config);
    zmx_service_destroy (&broker);
    zmx_test_rmdir (dir);
    free (dir);
}

//  What a crash or a damaged disk can leave in the directory: a temp file,
//  a reply whose request is gone, a truncated and a garbage request file,
//  and a file that is not ours. Start-up cleans the first two, the damaged
//  ones are dropped when read, the stranger is left alone.
static void
s_damaged_files (void)
{
    char *dir = zmx_test_tmpdir ();
    char *store = zsys_sprintf ("%s/store", dir);
    ZMX_CHECK (zsys_dir_create ("%s", store) == 0);
    const char *garbage = "00000000000000000000000000000001";
    const char *truncated = "00000000000000000000000000000002";
    const char *orphan = "00000000000000000000000000000003";
    const char *partial = "00000000000000000000000000000004";
    const char *files [][2] = {
        { garbage, "req" }, { truncated, "req" }, { orphan, "rep" }, { partial, "req.tmp" }
    };
    const char *contents [] = { "not a titanic file", "ZTSP1Q\0\0\0\2\0\0", "ZTSP1P", "ZTSP1" };
    for (size_t index = 0; index < 4; index++) {
        char *path = zsys_sprintf ("%s/%s.%s", store, files [index][0], files [index][1]);
        ZMX_CHECK (zmx_test_write_file (path, contents [index]) == 0);
        free (path);
    }
    char *stranger = zsys_sprintf ("%s/README", store);
    ZMX_CHECK (zmx_test_write_file (stranger, "mine") == 0);

    zmx_service_t *broker = zmx_test_broker_new (NULL);
    zconfig_t *config = zconfig_new ("titanic", NULL);
    zconfig_put (config, "endpoint", zmx_service_endpoint (broker));
    zconfig_put (config, "directory", store);
    zconfig_put (config, "retry-interval", "50");
    zmx_service_t *titanic = zmx_service_new ("titanic", zmx_titanic_actor, config, NULL);
    ZMX_CHECK (titanic);
    ZMX_CHECK (zmx_service_counter (titanic, "recovered") == 2);
    ZMX_CHECK (!s_file_exists (store, orphan, "rep"));
    ZMX_CHECK (!s_file_exists (store, partial, "req.tmp"));
    int64_t deadline = zclock_mono () + 10000;
    while (zmx_service_counter (titanic, "store_errors") < 2 && zclock_mono () < deadline)
        zclock_sleep (20);
    ZMX_CHECK (zmx_service_counter (titanic, "store_errors") == 2);
    ZMX_CHECK (zmx_service_counter (titanic, "stored") == 0);
    ZMX_CHECK (!s_file_exists (store, garbage, "req"));
    ZMX_CHECK (!s_file_exists (store, truncated, "req"));
    ZMX_CHECK (access (stranger, F_OK) == 0);
    zmx_client_t *client = zmx_client_new (zmx_service_endpoint (broker));
    s_expect_status (client, ZMX_TITANIC_REPLY, garbage, ZMX_TITANIC_UNKNOWN);
    zmx_client_destroy (&client);
    zmx_service_destroy (&titanic);
    zmx_service_destroy (&broker);
    zconfig_destroy (&config);
    free (stranger);
    free (store);
    zmx_test_rmdir (dir);
    free (dir);
}

//  The store hands requests back oldest first, whatever the directory's
//  own order, so that a restart sends them in the order they were stored.
static void
s_collect_order (const char *uuid, bool replied, int64_t mtime, void *arg)
{
    (void) replied;
    (void) mtime;
    zlistx_add_end ((zlistx_t *) arg, strdup (uuid));
}

static void
s_recovery_order (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx__tsp_store_t *store = zmx__tsp_store_new (dir, false, 1 << 20);
    ZMX_CHECK (store);
    //  Stored times, in seconds, given out of UUID and creation order
    const char *uuids [] = {
        "0000000000000000000000000000000A", "0000000000000000000000000000000B",
        "0000000000000000000000000000000C", "0000000000000000000000000000000D"
    };
    const time_t stored [] = { 1700000300, 1700000100, 1700000400, 1700000200 };
    for (size_t index = 0; index < 4; index++) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstr (request, "echo");
        zmsg_addstr (request, uuids [index]);
        ZMX_CHECK (zmx__tsp_store_put (store, uuids [index], ZMX__TSP_REQUEST, request) == 0);
        zmsg_destroy (&request);
        char *path = zsys_sprintf ("%s/%s.req", dir, uuids [index]);
        struct timespec times [2] = { { stored [index], 0 }, { stored [index], 0 } };
        ZMX_CHECK (utimensat (AT_FDCWD, path, times, 0) == 0);
        free (path);
    }
    zlistx_t *order = zlistx_new ();
    zlistx_set_destructor (order, (zlistx_destructor_fn *) zstr_free);
    ZMX_CHECK (zmx__tsp_store_scan (store, s_collect_order, order) == 4);
    const char *expected [] = { uuids [1], uuids [3], uuids [0], uuids [2] };
    size_t index = 0;
    for (char *uuid = (char *) zlistx_first (order); uuid; uuid = (char *) zlistx_next (order))
        ZMX_CHECK (index < 4 && streq (uuid, expected [index++]));
    ZMX_CHECK (index == 4);
    zlistx_destroy (&order);
    zmx__tsp_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "served_when_worker_comes", s_served_when_worker_comes, 30 },
        { "frames_and_restart", s_frames_and_restart, 30 },
        { "malformed_bodies", s_malformed_bodies, 30 },
        { "raw_mdp_client", s_raw_mdp_client, 30 },
        { "kill9_recovery", s_kill9_recovery, 90 },
        { "cli_durable", s_cli_durable, 60 },
        { "in_process", s_in_process, 30 },
        { "damaged_files", s_damaged_files, 30 },
        { "recovery_order", s_recovery_order, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
