/*  =========================================================================
    bench_bstar - failover time of a zmxd broker pair (Binary Star)

    Two zmxd processes run the broker as a primary/backup pair on
    loopback; an echo worker thread registers with both; a zmx_client
    given both endpoints sends echo requests back to back. At a random
    point of the heartbeat cycle the active zmxd gets SIGKILL; the time
    from the kill to the first reply served by the other broker is one
    sample. The killed zmxd is restarted (it comes back passive), the
    worker registers with it again, and the next kill hits the broker that
    is active now, so the roles alternate. The client timeout is a fifth
    of the heartbeat, so that the figure is dominated by the pair's own
    takeover rule (the peer silent for 2 x heartbeat, then a request),
    not by the client.

    Prints, per heartbeat: kills, min / median / max failover in msec,
    and median / heartbeat (the pattern's bound is 2).

        bench_bstar [--kills N] [--heartbeat MSEC]...   (default 10; 100, 1000)

    zmxd children get PR_SET_PDEATHSIG, so they die with this process.
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/types.h>
#include <sys/wait.h>

#define S_MAX_KILLS         100
#define S_MAX_HEARTBEATS    8
#define S_SETTLE_MS         10000   //  Deadline for a broker to settle
#define S_SERVICE           "echo"

typedef struct {
    char endpoint [64];         //  Broker endpoint
    char state [64];            //  Binary Star state endpoint
    char config [256];          //  Config file
    char log [256];             //  Current log file
    int port;                   //  Broker port
    int starts;                 //  Times started
    pid_t pid;                  //  zmxd, 0 if not running
} s_broker_t;

typedef struct {
    char *tmpdir;               //  Configs and logs
    char *zmxd_path;            //  <directory of this program>/zmxd
    s_broker_t broker [2];      //  Primary, backup
    char both [160];            //  "primary,backup"
    int heartbeat;              //  Binary Star heartbeat, msec
} s_bench_t;

//  -------------------------------------------------------------------------
//  Processes and files

static void
s_broker_kill (s_broker_t *broker)
{
    if (broker->pid > 0) {
        kill (broker->pid, SIGKILL);
        waitpid (broker->pid, NULL, 0);
    }
    broker->pid = 0;
}

static int
s_broker_start (s_bench_t *self, int side)
{
    s_broker_t *broker = &self->broker [side];
    snprintf (broker->log, sizeof broker->log, "%s/%s-%d-%d.log", self->tmpdir,
              side? "backup": "primary", self->heartbeat, ++broker->starts);
    //  The child truncates the log only after the fork: a file left from
    //  an earlier run must not be read as this one's
    unlink (broker->log);
    char *argv [] = { self->zmxd_path, "-c", broker->config, NULL };
    broker->pid = bench_spawn (argv, broker->log);
    return broker->pid > 0? 0: -1;
}

//  Write both configs for the current heartbeat and start both brokers.
static int
s_pair_start (s_bench_t *self)
{
    const char *role [2] = { "primary", "backup" };
    for (int side = 0; side < 2; side++) {
        s_broker_t *broker = &self->broker [side];
        broker->port = bench_free_port ();
        snprintf (broker->endpoint, sizeof broker->endpoint, "tcp://127.0.0.1:%d",
                  broker->port);
        snprintf (broker->state, sizeof broker->state, "tcp://127.0.0.1:%d", bench_free_port ());
        snprintf (broker->config, sizeof broker->config, "%s/%s.cfg", self->tmpdir,
                  role [side]);
    }
    for (int side = 0; side < 2; side++) {
        s_broker_t *broker = &self->broker [side];
        FILE *file = fopen (broker->config, "w");
        if (!file)
            return -1;
        fprintf (file, "zmxd\n    log-level = info\nbroker\n    endpoint = \"%s\"\n"
                 "    heartbeat-interval = 100\n    bstar\n        role = %s\n"
                 "        local = \"%s\"\n        peer = \"%s\"\n        heartbeat = %d\n",
                 broker->endpoint, role [side], broker->state,
                 self->broker [1 - side].state, self->heartbeat);
        fclose (file);
        broker->starts = 0;
        if (s_broker_start (self, side))
            return -1;
    }
    snprintf (self->both, sizeof self->both, "%s,%s", self->broker [0].endpoint,
              self->broker [1].endpoint);
    return bench_wait_for_text (self->broker [0].log, "now active", S_SETTLE_MS)
        && bench_wait_for_text (self->broker [1].log, "now passive", S_SETTLE_MS)? 0: -1;
}

//  -------------------------------------------------------------------------
//  Worker thread: echoes every request, registered with both brokers

static void
s_worker_actor (zsock_t *pipe, void *args)
{
    zmx_worker_t *worker = zmx_worker_new ((const char *) args, S_SERVICE);
    zsock_signal (pipe, 0);
    if (!worker)
        return;
    zmx_worker_set_heartbeat (worker, 100, 3);
    zmx_worker_set_reconnect (worker, 20, 200);
    bench_echo_until (worker, pipe, 10);
    zmx_worker_destroy (&worker);
}

//  -------------------------------------------------------------------------
//  Measurement

static bool
s_echo (zmx_client_t *client)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "ping");
    zmsg_t *reply = zmx_client_request (client, S_SERVICE, &request);
    bool ok = reply != NULL;
    zmsg_destroy (&reply);
    return ok;
}

//  One kill of broker `dead`: requests until then, for a random part of a
//  heartbeat, then requests until the other broker answers. Returns the
//  failover time in usec, or -1.
static int64_t
s_one_kill (s_bench_t *self, zmx_client_t *client, int dead)
{
    int64_t until = zclock_usecs () + (int64_t) (rand () % self->heartbeat) * 1000;
    while (zclock_usecs () < until)
        if (!s_echo (client))
            return -1;
    s_broker_kill (&self->broker [dead]);
    int64_t killed = zclock_usecs ();
    const char *other = self->broker [1 - dead].endpoint;
    while (true) {
        bool ok = s_echo (client);
        if (ok && streq (zmx_client_endpoint (client), other))
            return zclock_usecs () - killed;
        if (!ok && zmx_client_error (client) == ZMX_ETERM)
            return -1;
        if (zclock_usecs () - killed > 20 * 1000 * (int64_t) self->heartbeat)
            return -1;
    }
}

//  Bring the killed broker back and wait until it is passive and has the
//  worker again.
static int
s_restart (s_bench_t *self, int dead)
{
    s_broker_t *broker = &self->broker [dead];
    if (s_broker_start (self, dead))
        return -1;
    if (!bench_wait_for_text (broker->log, "now passive", S_SETTLE_MS)
    ||  !bench_wait_for_text (broker->log, "worker ready for 'echo'", S_SETTLE_MS))
        return -1;
    return 0;
}

//  All kills at one heartbeat; prints one table row. Returns 0 or -1.
static int
s_run (s_bench_t *self, int heartbeat, int kills)
{
    self->heartbeat = heartbeat;
    if (s_pair_start (self)) {
        fprintf (stderr, "bench: the pair did not settle (logs in %s)\n", self->tmpdir);
        return -1;
    }
    zactor_t *worker = zactor_new (s_worker_actor, self->both);
    if (!bench_wait_for_text (self->broker [0].log, "worker ready", S_SETTLE_MS)
    ||  !bench_wait_for_text (self->broker [1].log, "worker ready", S_SETTLE_MS)) {
        fprintf (stderr, "bench: the worker did not register (logs in %s)\n", self->tmpdir);
        zactor_destroy (&worker);
        return -1;
    }
    zmx_client_t *client = zmx_client_new (self->both);
    //  Timeout a fifth of the heartbeat; retries for 20 heartbeats, which
    //  bounds a failover that never comes
    int timeout = heartbeat / 5 > 10? heartbeat / 5: 10;
    zmx_client_set_timeout (client, timeout);
    zmx_client_set_retries (client, 20 * heartbeat / timeout);
    int64_t samples [S_MAX_KILLS];
    int taken = 0;
    int active = 0;
    while (taken < kills && !zsys_interrupted) {
        int64_t sample = s_one_kill (self, client, active);
        if (sample < 0 || s_restart (self, active))
            break;
        samples [taken++] = sample;
        active = 1 - active;
    }
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    for (int side = 0; side < 2; side++)
        s_broker_kill (&self->broker [side]);
    if (taken < kills) {
        fprintf (stderr, "bench: only %d of %d kills measured (logs in %s)\n", taken, kills,
                 self->tmpdir);
        return -1;
    }
    qsort (samples, taken, sizeof samples [0], bench_compare_int64);
    double median = (taken % 2? samples [taken / 2]
                              : (samples [taken / 2 - 1] + samples [taken / 2]) / 2) / 1000.0;
    printf ("%9d  %5d  %8.1f  %8.1f  %8.1f  %14.2f\n", heartbeat, taken, samples [0] / 1000.0,
            median, samples [taken - 1] / 1000.0, median / heartbeat);
    fflush (stdout);
    return 0;
}

int
main (int argc, char *argv [])
{
    int kills = 10;
    int heartbeats [S_MAX_HEARTBEATS] = { 100, 1000 };
    int heartbeat_count = 0;
    for (int index = 1; index < argc; index++) {
        if (streq (argv [index], "--kills") && index + 1 < argc)
            kills = atoi (argv [++index]);
        else
        if (streq (argv [index], "--heartbeat") && index + 1 < argc
            && heartbeat_count < S_MAX_HEARTBEATS)
            heartbeats [heartbeat_count++] = atoi (argv [++index]);
        else {
            fprintf (stderr, "usage: bench_bstar [--kills N] [--heartbeat MSEC]...\n");
            return 2;
        }
    }
    if (heartbeat_count == 0)
        heartbeat_count = 2;
    if (kills < 1 || kills > S_MAX_KILLS) {
        fprintf (stderr, "bench: --kills must be 1..%d\n", S_MAX_KILLS);
        return 2;
    }
    for (int index = 0; index < heartbeat_count; index++)
        if (heartbeats [index] < ZMX_BSTAR_HEARTBEAT_MIN || heartbeats [index] > 60000) {
            fprintf (stderr, "bench: --heartbeat must be %d..60000\n", ZMX_BSTAR_HEARTBEAT_MIN);
            return 2;
        }
    zmx_log_set_level (ZMX_LOG_ERROR);
    srand ((unsigned) getpid ());
    s_bench_t self;
    memset (&self, 0, sizeof self);
    char template [] = "/tmp/zmx-bench-bstar-XXXXXX";
    char exe [4096];
    ssize_t length = readlink ("/proc/self/exe", exe, sizeof exe - 1);
    if (!mkdtemp (template) || length <= 0) {
        fprintf (stderr, "bench: cannot set up: %s\n", strerror (errno));
        return 1;
    }
    exe [length] = 0;
    *strrchr (exe, '/') = 0;
    self.tmpdir = template;
    self.zmxd_path = zsys_sprintf ("%s/zmxd", exe);

    printf ("Broker pair failover: SIGKILL of the active zmxd to the first reply\n"
            "served by the other (client timeout = heartbeat / 5), loopback\n\n");
    printf ("heartbeat  kills    min ms  median ms    max ms  median / hb\n");
    int rc = 0;
    for (int index = 0; index < heartbeat_count && rc == 0; index++)
        rc = s_run (&self, heartbeats [index], kills);
    if (rc == 0) {
        char command [512];
        snprintf (command, sizeof command, "rm -rf '%s'", self.tmpdir);
        if (system (command) != 0)
            fprintf (stderr, "bench: could not remove %s\n", self.tmpdir);
    }
    zstr_free (&self.zmxd_path);
    return rc? 1: 0;
}
