/*  =========================================================================
    test_node_netns - ZRE nodes as separate processes on a private LAN

    Each case builds a LAN of network namespaces (tests/support/netns.h),
    starts nodes in them as real processes (`zmx peers`, `zmx listen`,
    `zmx shout`, `zmx whisper`, examples/robot), each with its own log
    file, and follows their line-oriented output. Beacons go out every
    S_INTERVAL ms, a silent peer is pinged after S_EVASIVE and dropped after
    S_EXPIRED, so discovery and expiry take a second or two, not half a
    minute. Waits are polls with deadlines generous enough for a loaded
    machine; the times measured are printed.

    Without root or `ip`, the cases that need namespaces end as skipped
    (zmx_test_skip), so the program reports skipped to CTest, never
    passed; CI runs them as root, where `make test` fails on any skip.
    =========================================================================
*/
#include "testing.h"
#include "netns.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_INTERVAL      100     //  Beacon interval, msec
#define S_EVASIVE       300     //  Silence before a PING, msec
#define S_EXPIRED       1500    //  Silence before a peer is dropped, msec
#define S_START_MSEC    10000   //  Longest for two nodes to meet
#define S_FULL_MSEC     20000   //  Longest for 20 nodes to meet (loaded machine)
#define S_EXIT_SLACK    2500    //  Scheduling slack allowed beyond S_EXPIRED
#define S_RUN_MSEC      15000   //  Longest one shout/whisper/peers run
#define S_MAX_NODES     24
#define S_MAX_ARGS      32

typedef struct {
    zmx_netns_t *net;           //  The LAN
    char *dir;                  //  Log files
    char port [8];              //  Beacon port
    pid_t pids [S_MAX_NODES];   //  Processes started, 0 once stopped
    char *logs [S_MAX_NODES];   //  Their log files
    size_t count;
} s_lan_t;

static int64_t
s_now (void)
{
    return zclock_mono ();
}

//  Build the LAN. Every namespace is private to this case, so any port is
//  free there; one derived from the pid keeps runs of different programs
//  apart in captures.
static void
s_lan_init (s_lan_t *lan, size_t hosts)
{
    memset (lan, 0, sizeof *lan);
    lan->net = zmx_netns_new (hosts);
    ZMX_CHECK (lan->net);
    lan->dir = zmx_test_tmpdir ();
    snprintf (lan->port, sizeof lan->port, "%d", 20000 + (int) (getpid () % 20000));
}

//  Stop every process still running (all at once: each says goodbye),
//  remove the LAN, and check that each process ended cleanly: exit code
//  0 on SIGTERM, so no crash, and under ASan no leak.
static void
s_lan_destroy (s_lan_t *lan)
{
    for (size_t index = 0; index < lan->count; index++)
        if (lan->pids [index] > 0)
            kill (lan->pids [index], SIGTERM);
    size_t unclean = 0;
    for (size_t index = 0; index < lan->count; index++) {
        int status = lan->pids [index] > 0? zmx_test_wait (lan->pids [index], 5000): 0;
        if (status == -1)
            zmx_test_stop (lan->pids [index], 0);
        if (status == -1 || !WIFEXITED (status) || WEXITSTATUS (status) != 0) {
            char *log = zmx_test_read_file (lan->logs [index]);
            fprintf (stderr, "    %s did not stop cleanly (status %d):\n%s\n",
                     lan->logs [index], status, log);
            free (log);
            unclean++;
        }
        free (lan->logs [index]);
    }
    zmx_netns_destroy (&lan->net);
    zmx_test_rmdir (lan->dir);
    free (lan->dir);
    ZMX_CHECK (unclean == 0);
}

//  argv for `program` with the node settings of this LAN, then the extra
//  arguments (NULL-terminated). Strings are static or owned by the caller.
static void
s_argv (s_lan_t *lan, char **argv, char *program, const char *command, va_list extra)
{
    size_t count = 0;
    argv [count++] = program;
    if (command)
        argv [count++] = (char *) command;
    const char *common [] = {
        "-i", ZMX_NETNS_IFACE, "-p", lan->port, "--interval", "100",
        "--evasive", "300", "--expired", "1500"
    };
    for (size_t index = 0; index < sizeof common / sizeof common [0]; index++)
        argv [count++] = (char *) common [index];
    char *arg;
    while ((arg = va_arg (extra, char *)) && count < S_MAX_ARGS - 1)
        argv [count++] = arg;
    argv [count] = NULL;
}

//  Start `zmx COMMAND ...` in host `host`, logging to NAME.log. Returns its
//  slot in the LAN.
static size_t
s_start (s_lan_t *lan, size_t host, const char *name, const char *command, ...)
{
    ZMX_CHECK (lan->count < S_MAX_NODES);
    char *zmx = zmx_test_bin ("zmx");
    char *argv [S_MAX_ARGS];
    va_list extra;
    va_start (extra, command);
    s_argv (lan, argv, zmx, command, extra);
    va_end (extra);
    size_t slot = lan->count++;
    lan->logs [slot] = zsys_sprintf ("%s/%s.log", lan->dir, name);
    lan->pids [slot] = zmx_netns_spawn (lan->net, host, argv, lan->logs [slot]);
    free (zmx);
    return slot;
}

//  Run `zmx COMMAND ...` in host `host` to completion; returns its exit
//  code, its stdout in *output_p if not NULL (caller frees).
static int
s_run (s_lan_t *lan, size_t host, char **output_p, const char *command, ...)
{
    char *zmx = zmx_test_bin ("zmx");
    char *argv [S_MAX_ARGS];
    va_list extra;
    va_start (extra, command);
    s_argv (lan, argv, zmx, command, extra);
    va_end (extra);
    int rc = zmx_netns_run (lan->net, host, argv, S_RUN_MSEC, output_p);
    free (zmx);
    return rc;
}

//  Names of the distinct peers a log has shown entering (ENTER lines).
static size_t
s_entered (const char *path)
{
    char *text = zmx_test_read_file (path);
    zhashx_t *names = zhashx_new ();
    for (char *line = strtok (text, "\n"); line; line = strtok (NULL, "\n")) {
        char name [300];
        if (sscanf (line, "ENTER %299s ", name) == 1)
            zhashx_update (names, name, (void *) 1);
    }
    size_t count = zhashx_size (names);
    zhashx_destroy (&names);
    free (text);
    return count;
}

//  How often `text` occurs in the file.
static size_t
s_occurrences (const char *path, const char *text)
{
    char *content = zmx_test_read_file (path);
    size_t count = 0;
    for (char *at = strstr (content, text); at; at = strstr (at + 1, text))
        count++;
    free (content);
    return count;
}

//  Counter `name` from the STATS line of a log (`zmx peers --stats`), -1
//  if there is none.
static long
s_stat (const char *path, const char *name)
{
    char *text = zmx_test_read_file (path);
    char *line = strstr (text, "STATS ");
    char *key = zsys_sprintf (" %s=", name);
    char *at = line? strstr (line, key): NULL;
    long value = at? strtol (at + strlen (key), NULL, 10): -1;
    free (key);
    free (text);
    return value;
}

//  SIGTERM, then the exit code (-1: it had to be killed, or crashed).
static int
s_stop (pid_t pid)
{
    kill (pid, SIGTERM);
    return zmx_test_exit_code (pid, 5000, 1000);
}

static bool
s_alive (pid_t pid)
{
    return waitpid (pid, NULL, WNOHANG) == 0;
}

//  Wait until every node in slots [first, first + count) has seen
//  `expected` distinct peers. Returns the msec it took, or -1.
static int64_t
s_wait_full_view (s_lan_t *lan, size_t first, size_t count, size_t expected, int timeout)
{
    int64_t started = s_now ();
    while (s_now () - started < timeout) {
        size_t complete = 0;
        for (size_t slot = first; slot < first + count; slot++)
            complete += s_entered (lan->logs [slot]) >= expected;
        if (complete == count)
            return s_now () - started;
        usleep (10000);
    }
    return -1;
}

//  -------------------------------------------------------------------------
//  Cases

//  Two hosts: the nodes find each other across the bridge, a whisper and a
//  shout arrive, and `peers --once` shows names, groups, headers and the
//  endpoints on the LAN addresses.
static void
s_two_hosts (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    s_lan_init (&lan, 2);
    size_t alice = s_start (&lan, 0, "alice", "listen", "-n", "alice", "-H", "X-ROLE=listener",
                            "chat", NULL);
    size_t bob = s_start (&lan, 1, "bob", "listen", "-n", "bob", "chat", NULL);

    int64_t started = s_now ();
    ZMX_CHECK (s_run (&lan, 1, NULL, "whisper", "-n", "carol", "-w", "10000", "alice",
                      "psst", "two", NULL) == 0);
    printf ("    whisper delivered after %" PRId64 " ms\n", s_now () - started);
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [alice], "WHISPER carol psst two\n", 5000));
    ZMX_CHECK (s_occurrences (lan.logs [bob], "psst") == 0);

    ZMX_CHECK (s_run (&lan, 0, NULL, "shout", "-n", "dave", "--members", "2", "-w", "10000",
                      "chat", "hello all", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [alice], "SHOUT chat dave hello all\n", 5000));
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [bob], "SHOUT chat dave hello all\n", 5000));

    char *view = NULL;
    ZMX_CHECK (s_run (&lan, 1, &view, "peers", "-n", "eve", "--once", "-w", "3000",
                      NULL) == 0);
    printf ("%s", view);
    char *line = strstr (view, "\nalice ");
    ZMX_CHECK (line);
    ZMX_CHECK (strstr (line, " tcp://10.77.0.1:"));
    ZMX_CHECK (strstr (line, " chat X-ROLE=listener\n"));
    line = strstr (view, "\nbob ");
    ZMX_CHECK (line && strstr (line, " tcp://10.77.0.2:"));
    free (view);
    ZMX_CHECK (s_alive (lan.pids [alice]) && s_alive (lan.pids [bob]));
    s_lan_destroy (&lan);
}

//  20 nodes on 4 hosts all see the 19 others; the time is printed.
static void
s_twenty_nodes (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    s_lan_init (&lan, 4);
    char names [20][16];
    int64_t first = s_now ();
    for (size_t index = 0; index < 20; index++) {
        snprintf (names [index], sizeof names [index], "n%02zu", index);
        s_start (&lan, index % 4, names [index], "peers", "-n", names [index], NULL);
    }
    int64_t took = s_wait_full_view (&lan, 0, 20, 19, S_FULL_MSEC);
    for (size_t slot = 0; took < 0 && slot < 20; slot++)
        printf ("    %s saw %zu peers\n", names [slot], s_entered (lan.logs [slot]));
    ZMX_CHECK (took >= 0);
    int64_t total = s_now () - first;
    printf ("    20 nodes on 4 hosts: full view %" PRId64 " ms after the first process "
            "started, %" PRId64 " ms after the last (beacon interval %d ms)\n", total, took,
            S_INTERVAL);
    s_lan_destroy (&lan);
}

//  A node killed with SIGKILL sends no farewell: every other node must
//  drop it by expiry. The time from the kill to the last EXIT is printed.
static void
s_killed_node (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    s_lan_init (&lan, 4);
    for (size_t index = 0; index < 4; index++) {
        char name [16];
        snprintf (name, sizeof name, "w%zu", index);
        s_start (&lan, index, name, "peers", "-n", name, NULL);
    }
    size_t victim = s_start (&lan, 0, "victim", "peers", "-n", "victim", NULL);
    ZMX_CHECK (s_wait_full_view (&lan, 0, 5, 4, S_FULL_MSEC) >= 0);

    kill (lan.pids [victim], SIGKILL);
    int64_t killed = s_now ();
    zmx_test_wait (lan.pids [victim], 5000);
    lan.pids [victim] = 0;
    int64_t last = -1;
    for (size_t slot = 0; slot < 4; slot++) {
        bool seen = zmx_test_wait_for_text (lan.logs [slot], "EXIT victim ",
                                            S_EXPIRED + S_EXIT_SLACK - (int) (s_now () - killed));
        if (!seen)
            printf ("    w%zu did not report EXIT victim in time\n", slot);
        ZMX_CHECK (seen);
        last = s_now () - killed;
    }
    printf ("    SIGKILL: every node reported EXIT after %" PRId64 " ms (expiry %d ms)\n",
            last, S_EXPIRED);
    //  Nobody else was dropped
    for (size_t slot = 0; slot < 4; slot++)
        ZMX_CHECK (s_occurrences (lan.logs [slot], "EXIT ") == 1);
    s_lan_destroy (&lan);
}

//  Shouts reach the members of the group and nobody else.
static void
s_groups (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    s_lan_init (&lan, 4);
    size_t a = s_start (&lan, 0, "a", "listen", "-n", "a", "g1", NULL);
    size_t b = s_start (&lan, 1, "b", "listen", "-n", "b", "g1", "g2", NULL);
    size_t c = s_start (&lan, 2, "c", "listen", "-n", "c", "g2", NULL);
    size_t d = s_start (&lan, 3, "d", "listen", "-n", "d", "g3", NULL);
    size_t watch = s_start (&lan, 0, "watch", "peers", "-n", "watch", "--group", "g2", NULL);

    ZMX_CHECK (s_run (&lan, 3, NULL, "shout", "-n", "s1", "--members", "2", "-w", "10000",
                      "g1", "to-g1", NULL) == 0);
    ZMX_CHECK (s_run (&lan, 0, NULL, "shout", "-n", "s2", "--members", "2", "-w", "10000",
                      "g2", "to-g2", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [a], "SHOUT g1 s1 to-g1\n", 5000));
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [b], "SHOUT g1 s1 to-g1\n", 5000));
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [b], "SHOUT g2 s2 to-g2\n", 5000));
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [c], "SHOUT g2 s2 to-g2\n", 5000));

    //  A whisper after both shouts: once it is printed, anything the
    //  shouting nodes (now stopped) sent would have been printed too
    size_t hosts [4] = { 0, 1, 2, 3 };
    const char *names [4] = { "a", "b", "c", "d" };
    for (size_t index = 0; index < 4; index++) {
        ZMX_CHECK (s_run (&lan, hosts [(index + 1) % 4], NULL, "whisper", "-n", "fence",
                          "-w", "10000", names [index], "fence", NULL) == 0);
        ZMX_CHECK (zmx_test_wait_for_text (lan.logs [index], "WHISPER fence fence\n", 5000));
    }
    ZMX_CHECK (s_occurrences (lan.logs [a], "SHOUT") == 1);
    ZMX_CHECK (s_occurrences (lan.logs [b], "SHOUT") == 2);
    ZMX_CHECK (s_occurrences (lan.logs [c], "SHOUT") == 1);
    ZMX_CHECK (s_occurrences (lan.logs [d], "SHOUT") == 0);
    //  `peers --group g2` shows the members of g2 and nobody else
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [watch], "ENTER b ", 5000));
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [watch], "ENTER c ", 5000));
    ZMX_CHECK (s_occurrences (lan.logs [watch], "JOIN b g2\n") == 1);
    ZMX_CHECK (s_occurrences (lan.logs [watch], "ENTER ") == 2);
    ZMX_CHECK (s_occurrences (lan.logs [watch], "JOIN ") == 2);
    s_lan_destroy (&lan);
}

//  -------------------------------------------------------------------------
//  Malformed input

typedef struct {
    const char *broadcast;      //  Where beacons go
    int port;                   //  Beacon port
} s_udp_args_t;

//  36/ZRE beacon: "ZRE", version 1, 16-byte UUID, mailbox port (network
//  order). Fills `beacon` (22 bytes).
static void
s_beacon (byte *beacon, byte uuid_seed, int port)
{
    memcpy (beacon, "ZRE\x01", 4);
    for (size_t index = 0; index < 16; index++)
        beacon [4 + index] = (byte) (uuid_seed + index * 7);
    beacon [20] = (byte) (port >> 8);
    beacon [21] = (byte) port;
}

//  In a host namespace: broadcast a series of malformed beacons.
static int
s_send_bad_beacons (void *arg)
{
    s_udp_args_t *args = (s_udp_args_t *) arg;
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    struct sockaddr_in to = { 0 };
    to.sin_family = AF_INET;
    to.sin_port = htons (args->port);
    inet_pton (AF_INET, args->broadcast, &to.sin_addr);

    byte good [22], bad [1200];
    s_beacon (good, 0x40, 9);
    //  Too short, too long: a prefix of a good beacon, padded
    size_t sizes [] = { 0, 1, 3, 4, 21, 23, 1200 };
    int sent = 0;
    for (size_t index = 0; index < sizeof sizes / sizeof sizes [0]; index++) {
        memset (bad, 0x5a, sizeof bad);
        memcpy (bad, good, sizes [index] < 22? sizes [index]: 22);
        sent += sendto (fd, bad, sizes [index], 0, (struct sockaddr *) &to, sizeof to) >= 0;
    }
    //  Right size, wrong signature or version
    memcpy (bad, good, 22);
    bad [0] = 'X';
    sent += sendto (fd, bad, 22, 0, (struct sockaddr *) &to, sizeof to) >= 0;
    memcpy (bad, good, 22);
    bad [3] = 2;
    sent += sendto (fd, bad, 22, 0, (struct sockaddr *) &to, sizeof to) >= 0;
    //  Well formed, but nobody listens on its mailbox: a peer that never
    //  says HELLO must not be reported; and a farewell from a stranger
    s_beacon (bad, 0x41, 1);
    sent += sendto (fd, bad, 22, 0, (struct sockaddr *) &to, sizeof to) >= 0;
    s_beacon (bad, 0x42, 0);
    sent += sendto (fd, bad, 22, 0, (struct sockaddr *) &to, sizeof to) >= 0;
    close (fd);
    return sent == 11? 0: 1;
}

//  The garbage cases: a LAN of three hosts where A (with --stats) and B
//  have met; host 2 is left for the sender of garbage.
static void
s_garbage_lan (s_lan_t *lan, size_t *a, size_t *b)
{
    s_lan_init (lan, 3);
    *a = s_start (lan, 0, "a", "peers", "-n", "a", "--stats", NULL);
    *b = s_start (lan, 1, "b", "peers", "-n", "b", NULL);
    ZMX_CHECK (s_wait_full_view (lan, *a, 2, 1, S_START_MSEC) >= 0);
}

//  After the garbage: C starts on host 2 and everybody sees it; longer
//  than the expiry later (a phantom would have come and gone) A and B are
//  up, A has seen two peers enter, and neither saw one leave.
static void
s_garbage_after (s_lan_t *lan, size_t a, size_t b)
{
    s_start (lan, 2, "c", "peers", "-n", "c", NULL);
    ZMX_CHECK (s_wait_full_view (lan, a, 3, 2, S_START_MSEC) >= 0);
    usleep (S_EXPIRED * 1000);
    ZMX_CHECK (s_alive (lan->pids [a]) && s_alive (lan->pids [b]));
    ZMX_CHECK (s_occurrences (lan->logs [a], "ENTER ") == 2);
    ZMX_CHECK (s_occurrences (lan->logs [a], "EXIT ") == 0);
    ZMX_CHECK (s_occurrences (lan->logs [b], "EXIT ") == 0);
}

//  Garbage beacons change nothing: no phantom peer, nobody dropped, and a
//  node that starts afterwards is still found by all.
static void
s_bad_beacons (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    size_t a, b;
    s_garbage_lan (&lan, &a, &b);

    s_udp_args_t args = { zmx_netns_broadcast (lan.net), atoi (lan.port) };
    for (int round = 0; round < 20; round++)
        ZMX_CHECK (zmx_netns_call (lan.net, 2, s_send_bad_beacons, &args, 5000) == 0);
    s_garbage_after (&lan, a, b);
    ZMX_CHECK (s_occurrences (lan.logs [b], "ENTER ") == 2);
    //  The garbage did arrive, and was counted as such (UDP may lose
    //  some on a busy machine: one round of nine is enough)
    ZMX_CHECK (s_stop (lan.pids [a]) == 0);
    lan.pids [a] = 0;
    long malformed = s_stat (lan.logs [a], "beacons_malformed");
    printf ("    a counted %ld malformed beacons of %d sent\n", malformed, 20 * 9);
    ZMX_CHECK (malformed >= 9);
    s_lan_destroy (&lan);
}

//  ZRE message builders (36/ZRE: signature AAA1, id, version 2, sequence)
static void
s_zre_head (zchunk_t *chunk, byte id, byte version, uint16_t sequence)
{
    byte head [6] = { 0xAA, 0xA1, id, version, (byte) (sequence >> 8), (byte) sequence };
    zchunk_extend (chunk, head, sizeof head);
}

static void
s_zre_string (zchunk_t *chunk, const char *text)
{
    byte size = (byte) strlen (text);
    zchunk_extend (chunk, &size, 1);
    zchunk_extend (chunk, text, size);
}

//  A HELLO: endpoint, no groups, status 0, name, no headers.
static zframe_t *
s_zre_hello (byte version, const char *endpoint, const char *name)
{
    zchunk_t *chunk = zchunk_new (NULL, 0);
    s_zre_head (chunk, 1, version, 1);
    s_zre_string (chunk, endpoint);
    byte none [4] = { 0, 0, 0, 0 };
    zchunk_extend (chunk, none, 4);             //  groups
    zchunk_extend (chunk, none, 1);             //  status
    s_zre_string (chunk, name);
    zchunk_extend (chunk, none, 4);             //  headers
    zframe_t *frame = zframe_new (zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    return frame;
}

//  A DEALER to `endpoint` calling itself the peer with UUID seed `seed`.
static zsock_t *
s_fake_peer (const char *endpoint, byte seed)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    byte identity [17] = { 1 };
    for (size_t index = 1; index < 17; index++)
        identity [index] = (byte) (seed + index);
    zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID, identity, sizeof identity);
    zsock_set_linger (dealer, 2000);
    zsock_connect (dealer, "%s", endpoint);
    return dealer;
}

//  Read beacons on the port until one from `address` comes; its mailbox
//  port, or -1.
static int
s_mailbox_port (const char *address, int port)
{
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    struct sockaddr_in local = { 0 };
    local.sin_family = AF_INET;
    local.sin_port = htons (port);
    struct timeval timeout = { 0, 200000 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    int mailbox = -1;
    if (bind (fd, (struct sockaddr *) &local, sizeof local) == 0)
        for (int tries = 0; tries < 100 && mailbox < 0; tries++) {
            byte beacon [64];
            struct sockaddr_in from;
            socklen_t size = sizeof from;
            ssize_t got = recvfrom (fd, beacon, sizeof beacon, 0, (struct sockaddr *) &from,
                                    &size);
            char sender [INET_ADDRSTRLEN];
            inet_ntop (AF_INET, &from.sin_addr, sender, sizeof sender);
            if (got == 22 && memcmp (beacon, "ZRE\x01", 4) == 0 && streq (sender, address))
                mailbox = (beacon [20] << 8) | beacon [21];
        }
    close (fd);
    return mailbox;
}

typedef struct {
    const char *address;        //  Target node's address
    int port;                   //  Beacon port
} s_zre_args_t;

//  In a host namespace: find the target's mailbox from its beacon and send
//  it malformed and out-of-order ZRE traffic from fake peers.
static int
s_send_bad_zre (void *arg)
{
    s_zre_args_t *args = (s_zre_args_t *) arg;
    int mailbox = s_mailbox_port (args->address, args->port);
    if (mailbox <= 0)
        return 1;
    char *endpoint = zsys_sprintf ("tcp://%s:%d", args->address, mailbox);
    zsock_t *peers [8];
    for (byte index = 0; index < 8; index++)
        peers [index] = s_fake_peer (endpoint, (byte) (0x10 * index));
    zstr_send (peers [0], "no signature at all");
    zframe_t *hello = s_zre_hello (2, "tcp://10.77.0.9:1", "phantom");
    zframe_t *cut = zframe_new (zframe_data (hello), zframe_size (hello) - 3);
    zframe_send (&cut, peers [1], 0);                           //  truncated HELLO
    zframe_t *old = s_zre_hello (3, "tcp://10.77.0.9:1", "phantom");
    zframe_send (&old, peers [2], 0);                           //  wrong version
    zchunk_t *chunk = zchunk_new (NULL, 0);
    s_zre_head (chunk, 2, 2, 1);                                //  WHISPER, no HELLO
    zframe_t *head = zframe_new (zchunk_data (chunk), zchunk_size (chunk));
    zframe_send (&head, peers [3], ZFRAME_MORE);
    zstr_send (peers [3], "before hello");
    zchunk_destroy (&chunk);
    byte unknown [6] = { 0xAA, 0xA1, 99, 2, 0, 1 };
    zsock_send (peers [4], "b", unknown, sizeof unknown);       //  unknown command
    zsock_send (peers [5], "bb", "", 0, "", 0);                 //  empty frames
    zframe_t *bad_name = s_zre_hello (2, "tcp://10.77.0.9:1", "bad\x01name");
    zframe_send (&bad_name, peers [6], 0);                      //  control character
    zframe_t *bad_endpoint = s_zre_hello (2, "not an endpoint", "phantom");
    zframe_send (&bad_endpoint, peers [7], 0);
    zframe_destroy (&hello);
    for (size_t index = 0; index < 8; index++)
        zsock_destroy (&peers [index]);
    free (endpoint);
    //  Ending the context waits (up to the linger) until the data has left
    zsys_shutdown ();
    return 0;
}

//  Garbage on a node's mailbox: no phantom ENTER, the real peer is kept,
//  and the node still finds a newcomer.
static void
s_bad_zre (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    size_t a, b;
    s_garbage_lan (&lan, &a, &b);

    s_zre_args_t args = { zmx_netns_address (lan.net, 0), atoi (lan.port) };
    ZMX_CHECK (zmx_netns_call (lan.net, 2, s_send_bad_zre, &args, 20000) == 0);
    s_garbage_after (&lan, a, b);
    ZMX_CHECK (s_occurrences (lan.logs [a], "phantom") == 0);
    //  Every one of the eight was seen and refused
    ZMX_CHECK (s_stop (lan.pids [a]) == 0);
    lan.pids [a] = 0;
    long refused = s_stat (lan.logs [a], "malformed") + s_stat (lan.logs [a], "before_hello");
    printf ("    a refused %ld of 8 bad ZRE messages\n", refused);
    ZMX_CHECK (refused >= 8);
    s_lan_destroy (&lan);
}

//  -------------------------------------------------------------------------
//  The robot example and the console

static void
s_robot (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    s_lan_init (&lan, 2);
    size_t console = s_start (&lan, 0, "console", "listen", "-n", "console", "-c", "2",
                              "robots", NULL);
    size_t watch = s_start (&lan, 0, "watch", "peers", "-n", "watch", NULL);
    char *robot = zmx_test_bin ("example_robot");
    char *argv [] = {
        robot, "-n", "r2d2", "-i", ZMX_NETNS_IFACE, "-p", lan.port, "--interval", "100",
        "--status", "200", "--lifetime", "4000", NULL
    };
    char *log = zsys_sprintf ("%s/robot.log", lan.dir);
    pid_t pid = zmx_netns_spawn (lan.net, 1, argv, log);
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [watch], "ENTER r2d2 ", S_START_MSEC));
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [watch], "X-ROBOT=", 1000));
    ZMX_CHECK (zmx_test_exit_code (lan.pids [console], S_START_MSEC, 1000) == 0);
    lan.pids [console] = 0;
    ZMX_CHECK (s_occurrences (lan.logs [console], "SHOUT robots r2d2 ") == 2);

    //  The robot leaves on its own; its farewell beacon beats the expiry
    ZMX_CHECK (zmx_test_exit_code (pid, S_START_MSEC, 1000) == 0);
    int64_t left = s_now ();
    ZMX_CHECK (zmx_test_wait_for_text (lan.logs [watch], "EXIT r2d2 ", S_EXPIRED + 2000));
    printf ("    robot's EXIT seen %" PRId64 " ms after it stopped\n", s_now () - left);
    ZMX_CHECK (zmx_test_wait_for_text (log, "robot r2d2 leaving", 1000));
    free (robot);
    free (log);
    s_lan_destroy (&lan);
}

//  zmxd's node service, on loopback inside a host namespace: a console
//  there sees it, in group zmxd, advertising the broker's endpoint.
static void
s_zmxd_node (void)
{
    ZMX_NETNS_REQUIRE ();
    s_lan_t lan;
    s_lan_init (&lan, 1);
    char *config = zsys_sprintf ("%s/zmxd.cfg", lan.dir);
    char *text = zsys_sprintf (
        "broker\n"
        "    endpoint = \"tcp://127.0.0.1:%s\"\n"
        "node\n"
        "    name = \"daemon\"\n"
        "    groups = \"zmxd,lab\"\n"
        "    headers\n"
        "        X-SITE = \"test\"\n"
        "    interface = \"lo\"\n"
        "    endpoint = \"tcp://127.0.0.1:*\"\n"
        "    port = %s\n"
        "    beacon-interval = 100\n"
        "    evasive = 300\n"
        "    expired = 1500\n", lan.port, lan.port);
    ZMX_CHECK (zmx_test_write_file (config, text) == 0);
    char *zmxd = zmx_test_bin ("zmxd");
    char *log = zsys_sprintf ("%s/zmxd.log", lan.dir);
    char *argv [] = { zmxd, "-c", config, NULL };
    pid_t pid = zmx_netns_spawn (lan.net, 0, argv, log);
    ZMX_CHECK (zmx_test_wait_for_text (log, "zmxd: node on tcp://127.0.0.1:", S_START_MSEC));

    char *zmx = zmx_test_bin ("zmx");
    char *peers [] = {
        zmx, "peers", "-i", "lo", "-p", lan.port, "--interval", "100", "--once", "-w", "3000",
        "--group", "lab", NULL
    };
    char *view = NULL;
    ZMX_CHECK (zmx_netns_run (lan.net, 0, peers, S_RUN_MSEC, &view) == 0);
    printf ("%s", view);
    char *line = strstr (view, "\ndaemon ");
    char *broker = zsys_sprintf (" X-ZMX-BROKER=tcp://127.0.0.1:%s", lan.port);
    ZMX_CHECK (line && strstr (line, " tcp://127.0.0.1:"));
    ZMX_CHECK (line && strstr (line, " lab,zmxd X-SITE=test"));
    ZMX_CHECK (line && strstr (line, broker));
    ZMX_CHECK (s_alive (pid));
    ZMX_CHECK (s_stop (pid) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (log, "zmxd: stopping", 1000));
    free (broker);
    free (view);
    free (zmx);
    free (log);
    free (zmxd);
    free (text);
    free (config);
    s_lan_destroy (&lan);
}

//  Exit codes that need no namespace: usage errors (2), a bad interface
//  (1), nobody to talk to (3). Beacons off and the mailbox on loopback:
//  no traffic leaves the host.
static void
s_exit_codes (void)
{
    char *zmx = zmx_test_bin ("zmx");
    char *no_group [] = { zmx, "shout", NULL };
    ZMX_CHECK (zmx_test_run (no_group, NULL, S_RUN_MSEC, NULL) == 2);
    char *bad_option [] = { zmx, "peers", "--count", "3", NULL };
    ZMX_CHECK (zmx_test_run (bad_option, NULL, S_RUN_MSEC, NULL) == 2);
    char *bad_port [] = { zmx, "listen", "-p", "70000", "g", NULL };
    ZMX_CHECK (zmx_test_run (bad_port, NULL, S_RUN_MSEC, NULL) == 2);
    char *bad_header [] = { zmx, "peers", "-H", "novalue", NULL };
    ZMX_CHECK (zmx_test_run (bad_header, NULL, S_RUN_MSEC, NULL) == 2);
    char *bad_times [] = {
        zmx, "peers", "-p", "0", "--endpoint", "tcp://127.0.0.1:*", "--evasive", "500",
        "--expired", "400", "-w", "100", NULL
    };
    ZMX_CHECK (zmx_test_run (bad_times, NULL, S_RUN_MSEC, NULL) == 2);
    char *bad_iface [] = { zmx, "peers", "-i", "nosuch0", "-w", "100", NULL };
    ZMX_CHECK (zmx_test_run (bad_iface, NULL, S_RUN_MSEC, NULL) == 1);
    char *lonely [] = {
        zmx, "shout", "-p", "0", "--endpoint", "tcp://127.0.0.1:*", "-w", "300", "g", "hi", NULL
    };
    ZMX_CHECK (zmx_test_run (lonely, NULL, S_RUN_MSEC, NULL) == 3);
    char *nobody [] = {
        zmx, "whisper", "-p", "0", "--endpoint", "tcp://127.0.0.1:*", "-w", "300", "x", "hi",
        NULL
    };
    ZMX_CHECK (zmx_test_run (nobody, NULL, S_RUN_MSEC, NULL) == 3);
    char *quiet [] = {
        zmx, "listen", "-p", "0", "--endpoint", "tcp://127.0.0.1:*", "-w", "300", "-c", "1",
        "g", NULL
    };
    ZMX_CHECK (zmx_test_run (quiet, NULL, S_RUN_MSEC, NULL) == 3);
    char *help [] = { zmx, "peers", "--help", NULL };
    char *text = NULL;
    ZMX_CHECK (zmx_test_run (help, NULL, S_RUN_MSEC, &text) == 0);
    ZMX_CHECK (strstr (text, "usage: zmx peers"));
    free (text);
    free (zmx);
}

//  Without beacons: a node given a fixed peer's mailbox (--peer) finds it
//  over loopback TCP alone. Needs no namespace.
static void
s_fixed_peers (void)
{
    char *dir = zmx_test_tmpdir ();
    char *zmx = zmx_test_bin ("zmx");
    char *mailbox = zmx_test_free_endpoint ();
    char *log = zsys_sprintf ("%s/listen.log", dir);
    char *listen [] = {
        zmx, "listen", "-p", "0", "--endpoint", mailbox, "-n", "fixed", "-c", "1", "-w", "15000",
        "g", NULL
    };
    pid_t pid = zmx_test_spawn (listen, log);
    //  The command logs nothing: its mailbox listening means it is up
    ZMX_CHECK (zmx_test_wait_port (atoi (strrchr (mailbox, ':') + 1), S_START_MSEC));
    char *shout [] = {
        zmx, "shout", "-p", "0", "--endpoint", "tcp://127.0.0.1:*", "--peer", mailbox,
        "-n", "caller", "-w", "10000", "g", "no", "beacons", NULL
    };
    ZMX_CHECK (zmx_test_run (shout, NULL, S_RUN_MSEC, NULL) == 0);
    ZMX_CHECK (zmx_test_exit_code (pid, S_START_MSEC, 1000) == 0);
    ZMX_CHECK (s_occurrences (log, "SHOUT g caller no beacons\n") == 1);
    free (log);
    free (mailbox);
    free (zmx);
    zmx_test_rmdir (dir);
    free (dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "exit_codes", s_exit_codes, 30 },
        { "fixed_peers", s_fixed_peers, 30 },
        { "two_hosts", s_two_hosts, 40 },
        { "twenty_nodes", s_twenty_nodes, 45 },
        { "killed_node", s_killed_node, 40 },
        { "groups", s_groups, 40 },
        { "bad_beacons", s_bad_beacons, 30 },
        { "bad_zre", s_bad_zre, 40 },
        { "robot", s_robot, 30 },
        { "zmxd_node", s_zmxd_node, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
