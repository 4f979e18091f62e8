/*  =========================================================================
    bench_node - ZRE presence and group messaging: discovery time, failure
    detection, SHOUT throughput, and what an idle node costs

    1. Full view: N nodes (N = 10 and 50), each a `zmx peers` process, are
       started at once; the time from the first start until every node has
       printed an ENTER for each of the N-1 others. As root the nodes are
       spread over private network namespaces joined by a bridge
       (tests/support/netns.h, 5 nodes per namespace) and beacon on a real
       broadcast LAN; otherwise they all run on the loopback interface
       (beacons to 127.255.255.255) on a random port.
    2. Dead peer: in the same network, one node is killed with SIGKILL (no
       farewell beacon); the time until every other node has printed its
       EXIT. It is bounded by the expiry setting (S_EXPIRED) plus a beacon
       interval and the check period.
    3. SHOUT throughput: one process holds 11 zmx_node objects on loopback
       (inside a private namespace when root), a sender and 10 members of
       a group; the sender shouts 64-byte messages in windows of
       S_WINDOW, each window waiting until all 10 members have received
       it, because ZRE has no flow control and a peer queue that
       overflows (peer-hwm) disconnects the peer. Measured twice: with
       zmx_node_shout (a round trip to the node's actor per message) and
       with zmx_node_shout_nowait (one-way). Reported: messages shouted
       per second, and deliveries (messages x members) per second.
    4. Idle node: a `zmx peers` node with the library's default timing
       (beacon every 1000 ms) among 9 others; its CPU use (the run time of
       all its threads, from the schedstat file of each, over S_IDLE_MSEC)
       and resident memory (VmRSS).

    Every figure is the median of --runs runs (default 3). Processes are
    stopped and namespaces removed on every path.

    Usage: bench_node [--runs N] [--shout]    (--shout: measure 3 only)
    =========================================================================
*/
#include "zmx_classes.h"
#include "netns.h"
#include "bench_util.h"
#include "ports.h"
#include <dirent.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_MAX_NODES     50
#define S_PER_HOST      5       //  Nodes per namespace
#define S_INTERVAL      250     //  Beacon interval for 1 and 2, msec
#define S_EVASIVE       1000
#define S_EXPIRED       2000
#define S_VIEW_MSEC     30000   //  Give up on a full view after this
#define S_MESSAGES      20000   //  Shouts per throughput run
#define S_WINDOW        500     //  Shouts in flight at most
#define S_MEMBERS       10
#define S_IDLE_MSEC     5000
#define S_MAX_RUNS      9

typedef struct {
    zmx_netns_t *net;           //  Namespaces, or NULL on loopback
    char *dir;                  //  Logs
    char port [8];              //  Beacon port
    pid_t pids [S_MAX_NODES];
    char *logs [S_MAX_NODES];
    size_t count;
} s_fleet_t;

static char *s_zmx;             //  Path of the zmx program

//  -------------------------------------------------------------------------
//  A fleet of `zmx peers` processes

static int
s_fleet_init (s_fleet_t *fleet, size_t hosts)
{
    memset (fleet, 0, sizeof *fleet);
    if (zmx_netns_available ()) {
        fleet->net = zmx_netns_new (hosts);
        if (!fleet->net)
            return -1;
    }
    char template [] = "/tmp/zmx-bench-node-XXXXXX";
    fleet->dir = strdup (mkdtemp (template)? template: "/tmp");
    snprintf (fleet->port, sizeof fleet->port, "%d", zmx_ports_free_udp ());
    return 0;
}

//  Start `zmx peers` named NAME with the given timing ("" = defaults).
static void
s_fleet_start (s_fleet_t *fleet, const char *name, bool fast)
{
    size_t slot = fleet->count++;
    fleet->logs [slot] = zsys_sprintf ("%s/%s.log", fleet->dir, name);
    const char *iface = fleet->net? ZMX_NETNS_IFACE: "lo";
    char interval [16], evasive [16], expired [16];
    snprintf (interval, sizeof interval, "%d", fast? S_INTERVAL: ZMX_NODE_BEACON_INTERVAL);
    snprintf (evasive, sizeof evasive, "%d", fast? S_EVASIVE: ZMX_NODE_EVASIVE_TIMEOUT);
    snprintf (expired, sizeof expired, "%d", fast? S_EXPIRED: ZMX_NODE_EXPIRED_TIMEOUT);
    char *argv [] = {
        s_zmx, "peers", "-n", (char *) name, "-i", (char *) iface, "-p", fleet->port,
        "--interval", interval, "--evasive", evasive, "--expired", expired, NULL
    };
    if (fleet->net)
        fleet->pids [slot] = zmx_netns_spawn (fleet->net, slot / S_PER_HOST, argv,
                                              fleet->logs [slot]);
    else {
        fleet->pids [slot] = fork ();
        if (fleet->pids [slot] == 0) {
            FILE *log = freopen (fleet->logs [slot], "a", stdout);
            if (log)
                dup2 (fileno (log), 2);
            execv (argv [0], argv);
            _exit (127);
        }
    }
}

static void
s_fleet_destroy (s_fleet_t *fleet)
{
    //  All at once: each node needs a moment to say goodbye
    for (size_t slot = 0; slot < fleet->count; slot++)
        if (fleet->pids [slot] > 0)
            kill (fleet->pids [slot], SIGTERM);
    for (size_t slot = 0; slot < fleet->count; slot++) {
        if (fleet->pids [slot] > 0)
            waitpid (fleet->pids [slot], NULL, 0);
        free (fleet->logs [slot]);
    }
    zmx_netns_destroy (&fleet->net);
    char *command = zsys_sprintf ("rm -rf '%s'", fleet->dir);
    if (strncmp (fleet->dir, "/tmp/zmx-bench-node-", 20) == 0 && system (command) != 0)
        fprintf (stderr, "bench_node: cannot remove %s\n", fleet->dir);
    free (command);
    free (fleet->dir);
}

//  Distinct names in the ENTER lines of a log.
static size_t
s_entered (const char *path)
{
    FILE *file = fopen (path, "r");
    zhashx_t *names = zhashx_new ();
    char line [1024];
    while (file && fgets (line, sizeof line, file)) {
        char name [300];
        if (sscanf (line, "ENTER %299s ", name) == 1)
            zhashx_update (names, name, (void *) 1);
    }
    if (file)
        fclose (file);
    size_t count = zhashx_size (names);
    zhashx_destroy (&names);
    return count;
}

static bool
s_has_text (const char *path, const char *text)
{
    FILE *file = fopen (path, "r");
    char line [1024];
    bool found = false;
    while (file && !found && fgets (line, sizeof line, file))
        found = strstr (line, text) != NULL;
    if (file)
        fclose (file);
    return found;
}

//  msec until every node of the fleet knows all others, counted from
//  `started`; -1 if that did not happen in S_VIEW_MSEC.
static double
s_full_view (s_fleet_t *fleet, int64_t started)
{
    while (zclock_mono () - started < S_VIEW_MSEC) {
        size_t complete = 0;
        for (size_t slot = 0; slot < fleet->count; slot++)
            complete += s_entered (fleet->logs [slot]) >= fleet->count - 1;
        if (complete == fleet->count)
            return (double) (zclock_mono () - started);
        usleep (5000);
    }
    return -1;
}

//  Kill the last node; msec until every other one printed its EXIT.
static double
s_dead_peer (s_fleet_t *fleet)
{
    size_t victim = fleet->count - 1;
    char *text = zsys_sprintf ("EXIT n%02zu ", victim);
    kill (fleet->pids [victim], SIGKILL);
    int64_t killed = zclock_mono ();
    waitpid (fleet->pids [victim], NULL, 0);
    fleet->pids [victim] = 0;
    double took = -1;
    while (zclock_mono () - killed < S_EXPIRED * 5) {
        size_t seen = 0;
        for (size_t slot = 0; slot < victim; slot++)
            seen += s_has_text (fleet->logs [slot], text);
        if (seen == victim) {
            took = (double) (zclock_mono () - killed);
            break;
        }
        usleep (5000);
    }
    free (text);
    return took;
}

//  One run of benchmarks 1 and 2 with n nodes.
static int
s_fleet_run (size_t n, double *view, double *dead)
{
    s_fleet_t fleet;
    if (s_fleet_init (&fleet, (n + S_PER_HOST - 1) / S_PER_HOST))
        return -1;
    int64_t started = zclock_mono ();
    for (size_t index = 0; index < n; index++) {
        char name [24];
        snprintf (name, sizeof name, "n%02zu", index);
        s_fleet_start (&fleet, name, true);
    }
    *view = s_full_view (&fleet, started);
    *dead = *view >= 0? s_dead_peer (&fleet): -1;
    s_fleet_destroy (&fleet);
    return *view >= 0 && *dead >= 0? 0: -1;
}

//  -------------------------------------------------------------------------
//  SHOUT throughput, in-process

//  Read events from every member until each has `target` SHOUTs in
//  total, or 10 s pass. Returns false on timeout.
static bool
s_members_catch_up (zmx_node_t **members, uint64_t *received, uint64_t target)
{
    int64_t deadline = zclock_mono () + 10000;
    for (size_t index = 0; index < S_MEMBERS; index++) {
        zsock_t *events = zmx_node_socket (members [index]);
        while (received [index] < target) {
            if (zclock_mono () > deadline)
                return false;
            zsock_set_rcvtimeo (events, 100);
            zmsg_t *event = zmsg_recv (events);
            char *type = event? zmsg_popstr (event): NULL;
            if (type && streq (type, ZMX_NODE_SHOUT))
                received [index]++;
            free (type);
            zmsg_destroy (&event);
        }
    }
    return true;
}

static zmx_node_t *
s_lo_node (const char *name, int port, const char *group)
{
    zmx_node_t *node = zmx_node_new (name);
    zmx_node_set_interface (node, "lo");
    zmx_node_set_beacon_port (node, port);
    zmx_node_set_beacon_interval (node, 100);
    if (group)
        zmx_node_join (node, group);
    if (zmx_node_start (node) != ZMX_OK)
        zmx_node_destroy (&node);
    return node;
}

//  Shouts per second to S_MEMBERS members, or -1.
static double
s_throughput_run (int port, bool nowait)
{
    zmx_node_t *sender = s_lo_node ("sender", port, NULL);
    zmx_node_t *members [S_MEMBERS] = { NULL };
    uint64_t received [S_MEMBERS] = { 0 };
    bool ok = sender != NULL;
    for (size_t index = 0; ok && index < S_MEMBERS; index++) {
        char name [24];
        snprintf (name, sizeof name, "m%zu", index);
        members [index] = s_lo_node (name, port, "bench");
        ok = members [index] != NULL;
    }
    //  Wait until the sender knows all members
    int64_t deadline = zclock_mono () + 10000;
    while (ok) {
        zlist_t *known = zmx_node_peers_by_group (sender, "bench");
        size_t count = known? zlist_size (known): 0;
        zlist_destroy (&known);
        if (count == S_MEMBERS)
            break;
        ok = zclock_mono () < deadline;
        zclock_sleep (10);
    }
    double rate = -1;
    if (ok) {
        char payload [65];
        memset (payload, 'x', 64);
        payload [64] = 0;
        int64_t started = zclock_mono ();
        for (uint64_t sent = 0; ok && sent < S_MESSAGES; ) {
            for (int index = 0; index < S_WINDOW; index++, sent++) {
                zmsg_t *msg = zmsg_new ();
                zmsg_addstr (msg, payload);
                if (nowait)
                    zmx_node_shout_nowait (sender, "bench", &msg);
                else
                    zmx_node_shout (sender, "bench", &msg);
            }
            ok = s_members_catch_up (members, received, sent);
        }
        int64_t took = zclock_mono () - started;
        if (ok && took > 0)
            rate = S_MESSAGES * 1000.0 / took;
    }
    for (size_t index = 0; index < S_MEMBERS; index++)
        zmx_node_destroy (&members [index]);
    zmx_node_destroy (&sender);
    return rate;
}

//  In a child (inside a fresh namespace when root, so that no other
//  program's nodes are heard): the rate, passed back through a pipe.
static double
s_throughput (bool nowait)
{
    zmx_netns_t *net = zmx_netns_available ()? zmx_netns_new (1): NULL;
    int channel [2];
    if (pipe (channel))
        return -1;
    fflush (stdout);
    pid_t pid = fork ();
    if (pid == 0) {
        close (channel [0]);
        double rate = -1;
        if (!net || zmx_netns_enter (net, 0) == 0)
            rate = s_throughput_run (net? 5670: zmx_ports_free_udp (), nowait);
        ssize_t written = write (channel [1], &rate, sizeof rate);
        _exit (written == sizeof rate? 0: 1);
    }
    close (channel [1]);
    double rate = -1;
    if (read (channel [0], &rate, sizeof rate) != sizeof rate)
        rate = -1;
    close (channel [0]);
    waitpid (pid, NULL, 0);
    zmx_netns_destroy (&net);
    return rate;
}

//  -------------------------------------------------------------------------
//  Idle node

//  CPU time of every thread of a process, nsec (first field of each
//  /proc/PID/task/TID/schedstat: finer than the 10 ms ticks of
//  /proc/PID/stat, which an idle node hardly moves); -1 if unreadable.
static int64_t
s_cpu_nsec (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/task", (int) pid);
    DIR *dir = opendir (path);
    if (!dir)
        return -1;
    int64_t total = 0;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.')
            continue;
        char stat [300];
        snprintf (stat, sizeof stat, "%s/%.20s/schedstat", path, entry->d_name);
        FILE *file = fopen (stat, "r");
        long long nsec = 0;
        if (file && fscanf (file, "%lld", &nsec) == 1)
            total += nsec;
        if (file)
            fclose (file);
    }
    closedir (dir);
    return total;
}

//  One run: CPU % and RSS (KiB) of one node among 10, default timing.
static int
s_idle_run (double *cpu, double *rss)
{
    s_fleet_t fleet;
    if (s_fleet_init (&fleet, 2))
        return -1;
    int64_t started = zclock_mono ();
    for (size_t index = 0; index < 10; index++) {
        char name [24];
        snprintf (name, sizeof name, "n%02zu", index);
        s_fleet_start (&fleet, name, false);
    }
    int rc = -1;
    if (s_full_view (&fleet, started) >= 0) {
        pid_t pid = fleet.pids [0];
        int64_t before = s_cpu_nsec (pid);
        int64_t from = zclock_mono ();
        usleep (S_IDLE_MSEC * 1000);
        int64_t after = s_cpu_nsec (pid);
        double seconds = (zclock_mono () - from) / 1000.0;
        *cpu = 100.0 * (double) (after - before) / 1e9 / seconds;
        *rss = (double) bench_rss_kib (pid);
        rc = before >= 0 && after >= 0 && *rss > 0? 0: -1;
    }
    s_fleet_destroy (&fleet);
    return rc;
}

//  -------------------------------------------------------------------------

static int
s_runs (int argc, char *argv [], bool *shout_only)
{
    int runs = 3;
    for (int arg = 1; arg < argc; arg++) {
        if (streq (argv [arg], "--runs") && arg + 1 < argc)
            runs = atoi (argv [++arg]);
        else
        if (streq (argv [arg], "--shout"))
            *shout_only = true;
        else {
            fprintf (stderr, "usage: bench_node [--runs N] [--shout]\n");
            return -1;
        }
    }
    if (runs < 1 || runs > S_MAX_RUNS) {
        fprintf (stderr, "bench_node: --runs from 1 to %d\n", S_MAX_RUNS);
        return -1;
    }
    return runs;
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    bool shout_only = false;
    int runs = s_runs (argc, argv, &shout_only);
    if (runs < 0)
        return 2;
    char self [4096];
    ssize_t size = readlink ("/proc/self/exe", self, sizeof self - 1);
    self [size > 0? size: 0] = 0;
    char *slash = strrchr (self, '/');
    s_zmx = zsys_sprintf ("%.*s/zmx", slash? (int) (slash - self): 1, slash? self: ".");
    zmx_log_set_level (ZMX_LOG_ERROR);

    printf ("network: %s; beacon %d ms, evasive %d ms, expired %d ms; median of %d runs\n",
            zmx_netns_available ()? "network namespaces on a bridge, 5 nodes each":
            "loopback (not root)", S_INTERVAL, S_EVASIVE, S_EXPIRED, runs);
    printf ("%-34s %12s\n", "measure", "median");
    const size_t sizes [] = { 10, 50 };
    for (size_t which = 0; which < 2 && !shout_only; which++) {
        double views [S_MAX_RUNS], deads [S_MAX_RUNS];
        int done = 0;
        for (int run = 0; run < runs; run++)
            if (s_fleet_run (sizes [which], &views [done], &deads [done]) == 0)
                done++;
        printf ("full view, %2zu nodes (ms)          %12.0f\n", sizes [which],
                bench_median (views, done));
        printf ("dead peer detected, %2zu nodes (ms) %12.0f\n", sizes [which],
                bench_median (deads, done));
    }
    for (int nowait = 0; nowait < 2; nowait++) {
        double rates [S_MAX_RUNS];
        int done = 0;
        for (int run = 0; run < runs; run++)
            if ((rates [done] = s_throughput (nowait)) > 0)
                done++;
        double rate = bench_median (rates, done);
        printf ("SHOUT to %d members, %-6s (msg/s) %10.0f\n", S_MEMBERS,
                nowait? "nowait": "wait", rate);
        printf ("  deliveries (msg/s)               %12.0f\n", rate > 0? rate * S_MEMBERS: -1);
    }
    double cpus [S_MAX_RUNS], rsss [S_MAX_RUNS];
    int done = 0;
    for (int run = 0; run < runs && !shout_only; run++)
        if (s_idle_run (&cpus [done], &rsss [done]) == 0)
            done++;
    if (!shout_only) {
        printf ("idle node among 10, CPU (%%)        %12.3f\n", bench_median (cpus, done));
        printf ("idle node among 10, RSS (KiB)      %12.0f\n", bench_median (rsss, done));
    }
    free (s_zmx);
    return 0;
}
