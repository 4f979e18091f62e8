/*  =========================================================================
    test_freelance - a zmx_client given several brokers

    Three zmxd brokers (independent, no pair), an echo worker registered
    with the ones a case chooses (one zmx_worker given their list), and a
    client given all three. When the broker in use dies, the client pings
    every broker (8/MMI) and resends to one that answers: the request is
    served about one timeout after the failure, even when the next broker
    of the list is dead too, where walking the list would cost one timeout
    per dead broker.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define S_BROKERS       3
#define S_TIMEOUT       400         //  Client timeout, msec
#define S_SLACK         150         //  Allowance for a loaded machine, msec
#define S_SETTLE_MS     5000        //  Deadline for start-up conditions
#define S_SERVICE       "echo"

typedef struct {
    char *dir;                      //  Private temp directory
    char *endpoint [S_BROKERS];     //  Broker endpoints
    char *log [S_BROKERS];          //  Their log files
    int port [S_BROKERS];           //  Their ports
    pid_t pid [S_BROKERS];          //  zmxd, 0 if not running
    int tomb [S_BROKERS];           //  Tombstone on a dead broker's port, or -1
    char *all;                      //  All endpoints, comma-separated
    char *served;                   //  Endpoints the worker registers with
    zactor_t *worker;               //  Echo worker, or NULL
    zmx_test_worker_t settings;     //  Its settings
    zmx_client_t *client;           //  Client of all three
} s_rig_t;

//  Start the brokers in `running` (a string of '1' / '0' per broker), and
//  a worker for those in `worker` (same form; none if all '0').
static void
s_rig_start (s_rig_t *rig, const char *running, const char *worker)
{
    memset (rig, 0, sizeof *rig);
    rig->dir = zmx_test_tmpdir ();
    char *zmxd = zmx_test_bin ("zmxd");
    for (int index = 0; index < S_BROKERS; index++) {
        rig->tomb [index] = -1;
        rig->port [index] = zmx_test_free_port ();
        rig->endpoint [index] = zsys_sprintf ("tcp://127.0.0.1:%d", rig->port [index]);
        rig->log [index] = zsys_sprintf ("%s/broker-%d.log", rig->dir, index);
        if (running [index] != '1')
            continue;
        char *config = zsys_sprintf ("%s/broker-%d.cfg", rig->dir, index);
        char *text = zsys_sprintf ("zmxd\n    log-level = info\nbroker\n    endpoint = \"%s\"\n"
                                   "    heartbeat-interval = 100\n", rig->endpoint [index]);
        ZMX_CHECK (zmx_test_write_file (config, text) == 0);
        char *argv [] = { zmxd, "-c", config, NULL };
        rig->pid [index] = zmx_test_spawn (argv, rig->log [index]);
        zstr_free (&text);
        zstr_free (&config);
    }
    zstr_free (&zmxd);
    rig->all = zsys_sprintf ("%s,%s,%s", rig->endpoint [0], rig->endpoint [1],
                             rig->endpoint [2]);
    rig->served = strdup ("");
    for (int index = 0; index < S_BROKERS; index++) {
        if (running [index] == '1')
            ZMX_CHECK (zmx_test_wait_port (rig->port [index], S_SETTLE_MS));
        if (worker [index] == '1') {
            char *list = zsys_sprintf ("%s%s%s", rig->served, *rig->served? ",": "",
                                       rig->endpoint [index]);
            zstr_free (&rig->served);
            rig->served = list;
        }
    }
    if (*rig->served) {
        rig->settings.endpoint = rig->served;
        rig->settings.service = S_SERVICE;
        rig->settings.interval = 100;
        rig->settings.liveness = 3;
        rig->settings.backoff_initial = 50;
        rig->settings.backoff_max = 200;
        rig->worker = zactor_new (zmx_test_echo_worker, &rig->settings);
        for (int index = 0; index < S_BROKERS; index++)
            if (worker [index] == '1' && running [index] == '1')
                ZMX_CHECK (zmx_test_wait_for_text (rig->log [index], "worker ready for 'echo'",
                                                   S_SETTLE_MS));
    }
    rig->client = zmx_client_new (rig->all);
    ZMX_CHECK (rig->client);
    zmx_client_set_timeout (rig->client, S_TIMEOUT);
    zmx_client_set_retries (rig->client, 3);
}

static void
s_rig_destroy (s_rig_t *rig)
{
    zmx_client_destroy (&rig->client);
    zactor_destroy (&rig->worker);
    for (int index = 0; index < S_BROKERS; index++) {
        if (rig->pid [index]) {
            kill (rig->pid [index], SIGCONT);
            zmx_test_stop (rig->pid [index], 2000);
        }
        if (rig->tomb [index] >= 0)
            close (rig->tomb [index]);
        zstr_free (&rig->endpoint [index]);
        zstr_free (&rig->log [index]);
    }
    zstr_free (&rig->all);
    zstr_free (&rig->served);
    zmx_test_rmdir (rig->dir);
    zstr_free (&rig->dir);
}

static void
s_kill (s_rig_t *rig, int index)
{
    kill (rig->pid [index], SIGKILL);
    ZMX_CHECK (zmx_test_wait (rig->pid [index], S_SETTLE_MS) >= 0);
    rig->pid [index] = 0;
    rig->tomb [index] = zmx_test_tombstone (rig->port [index]);
}

//  One echo; returns the msec it took, or -1 if it failed.
static int64_t
s_echo (zmx_client_t *client, const char *text)
{
    int64_t started = zclock_mono ();
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, text);
    zmsg_t *reply = zmx_client_request (client, S_SERVICE, &request);
    bool ok = reply && zmx_test_msg_is (reply, 0, text, NULL);
    zmsg_destroy (&reply);
    return ok? zclock_mono () - started: -1;
}

//  -------------------------------------------------------------------------
//  Cases

//  The broker in use dies and the next one in the list hangs (SIGSTOP:
//  it accepts connections but answers nothing); the request is served by
//  the third one about one timeout after it was sent.
static void
s_moves_on_in_one_timeout (void)
{
    s_rig_t rig;
    s_rig_start (&rig, "111", "111");
    ZMX_CHECK (s_echo (rig.client, "first") >= 0);
    ZMX_CHECK_STR (zmx_client_endpoint (rig.client), rig.endpoint [0]);
    kill (rig.pid [1], SIGSTOP);
    s_kill (&rig, 0);
    int64_t elapsed = s_echo (rig.client, "second");
    printf ("served %" PRId64 " ms after the request (timeout %d ms)\n", elapsed, S_TIMEOUT);
    ZMX_CHECK (elapsed >= S_TIMEOUT - 5 && elapsed <= S_TIMEOUT + S_SLACK);
    ZMX_CHECK_STR (zmx_client_endpoint (rig.client), rig.endpoint [2]);
    //  It stays there
    elapsed = s_echo (rig.client, "third");
    ZMX_CHECK (elapsed >= 0 && elapsed < S_TIMEOUT);
    ZMX_CHECK_STR (zmx_client_endpoint (rig.client), rig.endpoint [2]);
    s_rig_destroy (&rig);
}

//  Kill whichever broker is in use, twice: each time the client moves on
//  within one timeout; with none left the request fails.
static void
s_kill_in_use (void)
{
    s_rig_t rig;
    s_rig_start (&rig, "111", "111");
    zmx_client_set_retries (rig.client, 2);
    for (int round = 0; round < 2; round++) {
        ZMX_CHECK (s_echo (rig.client, "warm") >= 0);
        int in_use = -1;
        for (int index = 0; index < S_BROKERS; index++)
            if (streq (zmx_client_endpoint (rig.client), rig.endpoint [index]))
                in_use = index;
        ZMX_CHECK (in_use >= 0 && rig.pid [in_use]);
        s_kill (&rig, in_use);
        int64_t elapsed = s_echo (rig.client, "moved");
        printf ("round %d: served %" PRId64 " ms after the request\n", round, elapsed);
        ZMX_CHECK (elapsed >= 0 && elapsed <= S_TIMEOUT + S_SLACK);
        ZMX_CHECK (!streq (zmx_client_endpoint (rig.client), rig.endpoint [in_use]));
    }
    for (int index = 0; index < S_BROKERS; index++)
        if (rig.pid [index])
            s_kill (&rig, index);
    int64_t started = zclock_mono ();
    ZMX_CHECK (s_echo (rig.client, "nobody") < 0);
    int64_t elapsed = zclock_mono () - started;
    ZMX_CHECK (zmx_client_error (rig.client) == ZMX_ETIMEDOUT);
    //  One attempt and two ping rounds, one timeout each
    ZMX_CHECK (elapsed >= 3 * S_TIMEOUT - 5 && elapsed <= 3 * S_TIMEOUT + 3 * S_SLACK);
    s_rig_destroy (&rig);
}

//  The first broker is down; of the other two only the third has a worker
//  for the service. Both answer the ping, the one with the worker ("200")
//  is chosen over the one without ("404").
static void
s_prefers_broker_with_worker (void)
{
    s_rig_t rig;
    s_rig_start (&rig, "011", "001");
    int64_t elapsed = s_echo (rig.client, "where?");
    ZMX_CHECK (elapsed >= S_TIMEOUT - 5 && elapsed <= S_TIMEOUT + S_SLACK);
    ZMX_CHECK_STR (zmx_client_endpoint (rig.client), rig.endpoint [2]);
    s_rig_destroy (&rig);
}

//  A worker given all three brokers registers with each, and takes
//  requests from each.
static void
s_worker_serves_all (void)
{
    s_rig_t rig;
    s_rig_start (&rig, "111", "111");
    for (int index = 0; index < S_BROKERS; index++) {
        zmx_client_t *client = zmx_client_new (rig.endpoint [index]);
        zmx_client_set_timeout (client, 2000);
        ZMX_CHECK (s_echo (client, "hello") >= 0);
        zmx_client_destroy (&client);
    }
    s_rig_destroy (&rig);
}

//  Echo worker whose first request takes S_SLOW_MS (heartbeating while it
//  works). args: broker endpoint.
#define S_SLOW_MS 700

static void
s_slow_worker (zsock_t *pipe, void *args)
{
    zmx_worker_t *worker = zmx_worker_new ((const char *) args, S_SERVICE);
    zmx_worker_set_heartbeat (worker, 100, 3);
    zsock_signal (pipe, 0);
    bool first = true;
    while (!(zsock_events (pipe) & ZMQ_POLLIN)) {
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (worker, 10, &reply_to);
        if (!request)
            continue;
        for (int64_t until = zclock_mono () + (first? S_SLOW_MS: 0); zclock_mono () < until;) {
            zmx_worker_heartbeat (worker);
            zclock_sleep (20);
        }
        first = false;
        zmx_worker_send (worker, &request, &reply_to);
    }
    zmx_worker_destroy (&worker);
}

//  The broker in use is alive but its worker is slower than the timeout:
//  the ping to that broker is answered first, the client stays, and the
//  other brokers are never pinged.
static void
s_slow_broker_keeps_client (void)
{
    zmx_service_t *broker [S_BROKERS];
    char *endpoint [S_BROKERS];
    for (int index = 0; index < S_BROKERS; index++) {
        endpoint [index] = zmx_test_free_endpoint ();
        zconfig_t *config = zconfig_new ("broker", NULL);
        zconfig_put (config, "endpoint", endpoint [index]);
        zconfig_put (config, "heartbeat-interval", "100");
        broker [index] = zmx_service_new ("broker", zmx_broker_actor, config, NULL);
        zconfig_destroy (&config);
        ZMX_CHECK (broker [index]);
    }
    zactor_t *worker = zactor_new (s_slow_worker, endpoint [0]);
    char *list = zsys_sprintf ("%s,%s,%s", endpoint [0], endpoint [1], endpoint [2]);
    zmx_client_t *client = zmx_client_new (list);
    zmx_client_set_timeout (client, S_TIMEOUT);
    zmx_client_set_retries (client, 3);
    int64_t elapsed = s_echo (client, "slow");
    ZMX_CHECK (elapsed >= S_SLOW_MS - 5);
    ZMX_CHECK_STR (zmx_client_endpoint (client), endpoint [0]);
    ZMX_CHECK (zmx_service_counter (broker [0], "mmi") >= 1);
    ZMX_CHECK (zmx_service_counter (broker [1], "mmi") == 0);
    ZMX_CHECK (zmx_service_counter (broker [2], "mmi") == 0);
    zmx_client_destroy (&client);
    zstr_free (&list);
    zactor_destroy (&worker);
    for (int index = 0; index < S_BROKERS; index++) {
        zmx_service_destroy (&broker [index]);
        zstr_free (&endpoint [index]);
    }
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "moves_on_in_one_timeout", s_moves_on_in_one_timeout, 60 },
        { "kill_in_use", s_kill_in_use, 60 },
        { "prefers_broker_with_worker", s_prefers_broker_with_worker, 60 },
        { "worker_serves_all", s_worker_serves_all, 60 },
        { "slow_broker_keeps_client", s_slow_broker_keeps_client, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
