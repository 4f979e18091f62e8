/*  =========================================================================
    test_node_cli - zmx peers, shout and whisper on one host: defaults that
    find zmxd's node (loopback), shout reaching every member, messages
    that say what failed, every refused option named, no internal log
    lines without -v, and the documented exit codes. The commands run as
    processes; an in-process node on loopback plays zmxd's, or watches.
    Each case uses its own free UDP beacon port.
    =========================================================================
*/
#include "testing.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#define S_RUN_MSEC      20000   //  Longest any one command may run
#define S_WAIT          10000   //  Longest wait for an event

static zmx_node_t *
s_node (const char *name, int port)
{
    zmx_node_t *node = zmx_node_new (name);
    ZMX_CHECK (node);
    ZMX_CHECK (zmx_node_set_interface (node, "lo") == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_port (node, port) == ZMX_OK);
    ZMX_CHECK (zmx_node_set_beacon_interval (node, 100) == ZMX_OK);
    ZMX_CHECK (zmx_node_start (node) == ZMX_OK);
    return node;
}

//  Run zmx with stdout and stderr to `log`; returns its exit code.
static int
s_run_logged (char **argv, const char *log)
{
    pid_t pid = zmx_test_spawn (argv, log);
    return zmx_test_exit_code (pid, S_RUN_MSEC, 1000);
}

static int
s_count (const char *text, const char *what)
{
    int count = 0;
    for (const char *at = strstr (text, what); at; at = strstr (at + 1, what))
        count++;
    return count;
}

//  No -i: the command beacons on loopback, where zmxd's built-in config
//  runs its node, so it finds a node there; and prints no log line.
static void
s_peers_default_interface (void)
{
    unsetenv ("ZSYS_INTERFACE");
    int port = zmx_test_free_udp_port ();
    char port_text [16];
    snprintf (port_text, sizeof port_text, "%d", port);
    zmx_node_t *daemon = s_node ("daemon", port);
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/peers.log", dir);
    char *zmx = zmx_test_bin ("zmx");
    char *peers [] = { zmx, "peers", "-p", port_text, "--once", "-w", "1500", NULL };
    ZMX_CHECK (s_run_logged (peers, log) == 0);
    char *text = zmx_test_read_file (log);
    printf ("%s", text);
    ZMX_CHECK (strstr (text, zmx_node_uuid (daemon)));
    ZMX_CHECK (strstr (text, "daemon "));
    ZMX_CHECK (!strstr (text, " zre: "));         //  No internal log line
    free (text);
    free (zmx);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
    zmx_node_destroy (&daemon);
}

//  A member that is slow to answer: it beacons from a ROUTER of its own,
//  and answers the HELLO of the node called `caller` with its own HELLO
//  (in group g) only `delay_ms` later, as a loaded host would. Returns
//  true if that node's SHOUT reached it within `timeout_ms`; answers its
//  PINGs for the default linger after that, so that the shout can end.
static bool
s_slow_member (int port, int delay_ms, int timeout_ms)
{
    char *endpoint = zmx_test_free_endpoint ();
    zsock_t *router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (router, 0);
    ZMX_CHECK (zsock_bind (router, "%s", endpoint) >= 0);
    zuuid_t *uuid = zuuid_new ();
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    inet_pton (AF_INET, "127.255.255.255", &address.sin_addr);
    byte beacon [ZMX_ZRE_BEACON_SIZE];
    zmx_zre_beacon_encode (zuuid_data (uuid), (uint16_t) atoi (strrchr (endpoint, ':') + 1),
                           beacon);
    zsock_t *dealer = NULL;
    char caller [ZMX_ZRE_MAX_STRING + 1] = "";
    int64_t answer_at = 0, beacon_at = 0;
    int64_t deadline = zclock_mono () + timeout_ms;
    bool shouted = false;
    uint16_t sequence = 1;
    while (zclock_mono () < deadline) {
        if (zclock_mono () >= beacon_at) {
            sendto (fd, beacon, sizeof beacon, 0, (struct sockaddr *) &address, sizeof address);
            beacon_at = zclock_mono () + 100;
        }
        if (*caller && !dealer && zclock_mono () >= answer_at) {
            dealer = zsock_new (ZMQ_DEALER);
            zsock_set_linger (dealer, 0);
            byte identity [ZMX_ZRE_IDENTITY_SIZE] = { ZMX_ZRE_IDENTITY_PREFIX };
            memcpy (identity + 1, zuuid_data (uuid), ZMX_ZRE_UUID_SIZE);
            zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID, identity, sizeof identity);
            ZMX_CHECK (zsock_connect (dealer, "%s", caller) == 0);
            zmx_zre_msg_t hello;
            zmx_zre_init (&hello, ZMX_ZRE_HELLO);
            hello.sequence = 1;
            snprintf (hello.endpoint, sizeof hello.endpoint, "%s", endpoint);
            snprintf (hello.name, sizeof hello.name, "slow");
            hello.groups = zlist_new ();
            zlist_append (hello.groups, "g");
            zmsg_t *wire = zmx_zre_encode (&hello);
            ZMX_CHECK (wire && zmsg_send (&wire, dealer) == 0);
            zlist_destroy (&hello.groups);
            zmx_zre_clear (&hello);
        }
        zmsg_t *msg = zmx_test_recv (router, 20);
        if (!msg)
            continue;
        zmsg_first (msg);                           //  The routing id
        zmx_zre_msg_t decoded;
        zmsg_t *rest = zmsg_new ();
        for (zframe_t *frame = zmsg_next (msg); frame; frame = zmsg_next (msg))
            zmsg_addmem (rest, zframe_data (frame), zframe_size (frame));
        if (zmx_zre_decode (&rest, &decoded, NULL) == 0) {
            if (decoded.id == ZMX_ZRE_HELLO && streq (decoded.name, "caller") && !*caller) {
                snprintf (caller, sizeof caller, "%s", decoded.endpoint);
                answer_at = zclock_mono () + delay_ms;
            }
            if (decoded.id == ZMX_ZRE_SHOUT && !shouted) {
                shouted = true;
                deadline = zclock_mono () + 2 * ZMX_NODE_LINGER;
            }
            if (decoded.id == ZMX_ZRE_PING && dealer) {
                zmx_zre_msg_t reply;
                zmx_zre_init (&reply, ZMX_ZRE_PING_OK);
                reply.sequence = ++sequence;
                zmsg_t *wire = zmx_zre_encode (&reply);
                ZMX_CHECK (wire && zmsg_send (&wire, dealer) == 0);
            }
            zmx_zre_clear (&decoded);
        }
        zmsg_destroy (&rest);
        zmsg_destroy (&msg);
    }
    close (fd);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    zuuid_destroy (&uuid);
    free (endpoint);
    return shouted;
}

//  A quick member (zmx listen) and a slow one, both beaconing when zmx
//  shout starts: with the defaults the shout must reach both, not stop
//  after the first member it sees.
static void
s_shout_every_member (void)
{
    int port = zmx_test_free_udp_port ();
    char port_text [16];
    snprintf (port_text, sizeof port_text, "%d", port);
    char *dir = zmx_test_tmpdir ();
    char *zmx = zmx_test_bin ("zmx");
    zmx_node_t *watch = s_node ("watch", port);
    char *listen_log = zsys_sprintf ("%s/listen.log", dir);
    char *listen [] = { zmx, "listen", "-i", "lo", "-p", port_text, "-n", "quick", "-c", "1",
                        "-w", "20000", "g", NULL };
    pid_t listener = zmx_test_spawn (listen, listen_log);
    //  It is up once the watcher has seen it join g
    bool joined = false;
    int64_t deadline = zclock_mono () + S_WAIT;
    while (!joined && zclock_mono () < deadline) {
        zmsg_t *event = zmx_test_recv (zmx_node_socket (watch), 100);
        char *type = event? zmsg_popstr (event): NULL;
        joined = type && streq (type, ZMX_NODE_JOIN);
        zstr_free (&type);
        zmsg_destroy (&event);
    }
    ZMX_CHECK (joined);
    char *log = zsys_sprintf ("%s/shout.log", dir);
    char *shout [] = { zmx, "shout", "-i", "lo", "-p", port_text, "-n", "caller", "g", "to",
                       "all", NULL };
    int64_t started = zclock_mono ();
    pid_t shouter = zmx_test_spawn (shout, log);
    //  Half the default beacon interval: long after the quick member
    //  answered, well inside the time a shout waits for discovery
    ZMX_CHECK (s_slow_member (port, ZMX_NODE_BEACON_INTERVAL / 2, S_WAIT));
    ZMX_CHECK (zmx_test_exit_code (shouter, S_RUN_MSEC, 1000) == 0);
    printf ("shout to 2 members took %" PRId64 " ms\n", zclock_mono () - started);
    ZMX_CHECK (zmx_test_exit_code (listener, S_WAIT, 1000) == 0);
    char *text = zmx_test_read_file (listen_log);
    ZMX_CHECK (s_count (text, "SHOUT g caller to all\n") == 1);
    free (text);
    text = zmx_test_read_file (log);
    ZMX_CHECK (*text == 0);                     //  Nothing to say on success
    free (text);
    free (log);
    free (listen_log);
    zmx_node_destroy (&watch);
    free (zmx);
    zmx_test_rmdir (dir);
    free (dir);
}

//  Every option the node refuses is named, not only the last one; the
//  exit code is 2 (usage).
static void
s_refused_options_named (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/peers.log", dir);
    char *zmx = zmx_test_bin ("zmx");
    char *peers [] = { zmx, "peers", "-p", "0", "--endpoint", "nowhere", "--peer", "nobody",
                       "-H", "bad\tname=x", "-w", "100", NULL };
    ZMX_CHECK (s_run_logged (peers, log) == 2);
    char *text = zmx_test_read_file (log);
    printf ("%s", text);
    ZMX_CHECK (strstr (text, "--endpoint 'nowhere'"));
    ZMX_CHECK (strstr (text, "--peer 'nobody'"));
    ZMX_CHECK (strstr (text, "--header 'bad\tname=x'"));
    free (text);
    free (zmx);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

//  A peer that says HELLO and then never answers: the whisper is sent but
//  not confirmed, and zmx says so (exit 1), rather than "no peer seen";
//  a peer never seen is exit 3 with "no peer".
static void
s_whisper_failures (void)
{
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/whisper.log", dir);
    char *zmx = zmx_test_bin ("zmx");
    char *mailbox = zmx_test_free_endpoint ();
    //  The mute peer: connects to the command's mailbox before it is
    //  bound (libzmq retries), says HELLO, then reads nothing
    char *endpoint = NULL;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (dealer, 0);
    zuuid_t *uuid = zuuid_new ();
    byte identity [ZMX_ZRE_IDENTITY_SIZE] = { ZMX_ZRE_IDENTITY_PREFIX };
    memcpy (identity + 1, zuuid_data (uuid), ZMX_ZRE_UUID_SIZE);
    zmq_setsockopt (zsock_resolve (dealer), ZMQ_ROUTING_ID, identity, sizeof identity);
    ZMX_CHECK (zsock_connect (dealer, "%s", mailbox) == 0);
    zmx_zre_msg_t hello;
    zmx_zre_init (&hello, ZMX_ZRE_HELLO);
    hello.sequence = 1;
    snprintf (hello.endpoint, sizeof hello.endpoint, "%s", endpoint);
    snprintf (hello.name, sizeof hello.name, "mute");
    zmsg_t *wire = zmx_zre_encode (&hello);
    ZMX_CHECK (wire && zmsg_send (&wire, dealer) == 0);
    zmx_zre_clear (&hello);
    char *whisper [] = { zmx, "whisper", "-p", "0", "--endpoint", mailbox, "--linger", "300",
                         "-w", "5000", "mute", "hi", NULL };
    ZMX_CHECK (s_run_logged (whisper, log) == 1);
    char *text = zmx_test_read_file (log);
    printf ("%s", text);
    ZMX_CHECK (strstr (text, "not every recipient confirmed receipt"));
    ZMX_CHECK (!strstr (text, "no peer"));
    ZMX_CHECK (!strstr (text, " zre: "));
    free (text);
    //  The raw peer did get the whisper
    bool whispered = false;
    zmsg_t *msg;
    while (!whispered && (msg = zmx_test_recv (router, 1000))) {
        zmsg_first (msg);                       //  The routing id
        zframe_t *header = zmsg_next (msg);
        whispered = header && zframe_size (header) > 2
                 && zframe_data (header) [2] == ZMX_ZRE_WHISPER;
        zmsg_destroy (&msg);
    }
    ZMX_CHECK (whispered);

    char *nobody [] = { zmx, "whisper", "-p", "0", "--endpoint", "tcp://127.0.0.1:*",
                        "-w", "300", "x", "hi", NULL };
    ZMX_CHECK (s_run_logged (nobody, log) == 3);
    text = zmx_test_read_file (log);
    ZMX_CHECK (strstr (text, "no peer 'x' seen within 300 ms"));
    free (text);
    zuuid_destroy (&uuid);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
    free (endpoint);
    free (mailbox);
    free (zmx);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "peers_default_interface", s_peers_default_interface, 60 },
        { "shout_every_member", s_shout_every_member, 90 },
        { "refused_options_named", s_refused_options_named, 30 },
        { "whisper_failures", s_whisper_failures, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
