/*  =========================================================================
    test_flood - a full zmxd under spoofed and random input

    Starts zmxd with every service on free loopback ports (the node on a
    free UDP port), then floods it: spoofed ZRE beacons from thousands of
    invented peers, random bytes on raw TCP connections to every TCP port,
    well-formed ZMTP connections sending random multipart messages, and
    random datagrams on the UDP port. Afterwards every service must still
    answer (MMI on the broker, a clone snapshot, a resolver lookup on ipc
    and tcp, a files listing, the node seen by another ZRE node), zmxd
    must still run, and its resident memory must stay bounded.
    =========================================================================
*/
#include "testing.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_START_MSEC    10000   //  Longest a healthy zmxd may take to start
#define S_BEACONS       9000    //  Spoofed beacons, each from a new UUID
#define S_EXPIRED_MSEC  2000    //  Node's expired timeout: spoofed peers go
#define S_RSS_LIMIT_KB  (256 * 1024)    //  Resident memory allowed after it all

typedef struct {
    char *dir;                  //  Private directory: config, log, data
    char *log;                  //  zmxd's output
    pid_t pid;                  //  The zmxd process
    int broker;                 //  TCP ports
    int files;
    int clone;                  //  Snapshot; publisher + 1, collector + 2
    int resolver;
    int mailbox;                //  The node's mailbox, read from the log
    int udp;                    //  The node's beacon port
    char *ipc;                  //  The resolver's ipc endpoint
} s_zmxd_t;

static char *
s_config_text (s_zmxd_t *self)
{
    return zsys_sprintf (
        "broker\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
        "files\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
        "    publish\n        directory = \"%s/published\"\n        path = \"/data\"\n"
        "clone\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
        "    publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
        "    collector-endpoint = \"tcp://127.0.0.1:%d\"\n    data-directory = \"\"\n"
        "resolver\n    endpoint = \"%s,tcp://127.0.0.1:%d\"\n"
        "    servers = \"tcp://127.0.0.1:%d\"\n"
        "titanic\n    endpoint = \"tcp://127.0.0.1:%d\"\n    directory = \"%s/titanic\"\n"
        "    fsync = 0\n"
        "node\n    name = \"flooded\"\n    interface = \"lo\"\n    port = %d\n"
        "    endpoint = \"tcp://127.0.0.1:*\"\n    beacon-interval = 200\n"
        "    evasive = 1000\n    expired = %d\n",
        self->broker, self->files, self->dir, self->clone, self->clone + 1, self->clone + 2,
        self->ipc, self->resolver, self->clone, self->broker, self->dir, self->udp,
        S_EXPIRED_MSEC);
}

//  Start zmxd with every service; retries with other ports if one was
//  taken meanwhile.
static void
s_zmxd_start (s_zmxd_t *self)
{
    self->dir = zmx_test_tmpdir ();
    self->log = zsys_sprintf ("%s/zmxd.log", self->dir);
    self->ipc = zsys_sprintf ("ipc://%s/resolver", self->dir);
    char *published = zsys_sprintf ("%s/published", self->dir);
    ZMX_CHECK (zsys_dir_create ("%s", published) == 0);
    char *file = zsys_sprintf ("%s/hello.txt", published);
    ZMX_CHECK (zmx_test_write_file (file, "hello\n") == 0);
    char *config = zsys_sprintf ("%s/zmxd.cfg", self->dir);
    for (int attempt = 0; attempt < 10 && !self->pid; attempt++) {
        self->broker = zmx_test_free_port ();
        self->files = zmx_test_free_port ();
        self->resolver = zmx_test_free_port ();
        self->clone = zmx_test_free_port ();
        self->udp = zmx_test_free_udp_port ();
        if (self->clone > 65000 || !zmx_test_port_free (self->clone + 1)
        ||  !zmx_test_port_free (self->clone + 2))
            continue;
        char *text = s_config_text (self);
        self->pid = zmx_test_zmxd_start (config, text, self->log, "zmxd: node on ", S_START_MSEC);
        free (text);
    }
    ZMX_CHECK (self->pid);
    char *output = zmx_test_read_file (self->log);
    const char *line = strstr (output, "zmxd: node on tcp://127.0.0.1:");
    ZMX_CHECK (line);
    self->mailbox = atoi (line + strlen ("zmxd: node on tcp://127.0.0.1:"));
    ZMX_CHECK (self->mailbox > 0);
    free (output);
    free (config);
    free (file);
    free (published);
}

//  Resident memory of pid in KB, from /proc; -1 if unknown.
static long
s_rss_kb (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    char *status = zmx_test_read_file (path);
    const char *line = strstr (status, "VmRSS:");
    long rss = line? atol (line + 6): -1;
    free (status);
    return rss;
}

static void
s_random_bytes (byte *data, size_t size)
{
    for (size_t index = 0; index < size; index++)
        data [index] = (byte) randof (256);
}

static void
s_udp_send (int fd, int port, const void *data, size_t size)
{
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    inet_pton (AF_INET, "127.255.255.255", &address.sin_addr);
    //  A full socket buffer may refuse some: the count is what was sent
    sendto (fd, data, size, 0, (struct sockaddr *) &address, sizeof address);
}

//  S_BEACONS beacons "ZRE" 1, a random UUID, port 1 (nobody there), then
//  random datagrams, some with a valid header. Paced a little so that
//  the kernel's receive buffer does not simply drop most of them.
static void
s_flood_udp (int port)
{
    int fd = socket (AF_INET, SOCK_DGRAM, 0);
    ZMX_CHECK (fd >= 0);
    int on = 1;
    setsockopt (fd, SOL_SOCKET, SO_BROADCAST, &on, sizeof on);
    byte beacon [22] = { 'Z', 'R', 'E', 0x01 };
    for (int index = 0; index < S_BEACONS; index++) {
        s_random_bytes (beacon + 4, 16);
        beacon [20] = 0;
        beacon [21] = 1;
        s_udp_send (fd, port, beacon, sizeof beacon);
        if (index % 200 == 199)
            zclock_sleep (2);
    }
    byte datagram [1400];
    for (int index = 0; index < 2000; index++) {
        size_t size = (size_t) randof (sizeof datagram);
        s_random_bytes (datagram, size);
        if (index % 2 && size >= 4)
            memcpy (datagram, "ZRE\x01", 4);
        s_udp_send (fd, port, datagram, size);
        if (index % 200 == 199)
            zclock_sleep (2);
    }
    close (fd);
}

//  Raw TCP: connections that send random bytes (some a ZMTP greeting's
//  first bytes, then garbage) and close.
static void
s_flood_raw_tcp (int port)
{
    byte data [4096];
    for (int index = 0; index < 30; index++) {
        int fd = socket (AF_INET, SOCK_STREAM, 0);
        ZMX_CHECK (fd >= 0);
        struct sockaddr_in address = { 0 };
        address.sin_family = AF_INET;
        address.sin_port = htons ((uint16_t) port);
        address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        if (connect (fd, (struct sockaddr *) &address, sizeof address) == 0) {
            size_t size = 1 + (size_t) randof (sizeof data - 1);
            s_random_bytes (data, size);
            if (index % 3 == 0 && size > 11) {
                data [0] = 0xFF;
                data [9] = 0x7F;
                data [10] = 3;  //  ZMTP 3 signature and version, then junk
            }
            ssize_t sent = send (fd, data, size, MSG_NOSIGNAL);
            (void) sent;
        }
        close (fd);
    }
}

//  A ZMTP 3.0 peer (NULL mechanism) of `socket_type` that announces one
//  frame of `claimed` bytes and sends none of it. Returns true if zmxd
//  closes the connection within `msec`: a socket with a message size
//  bound refuses the header at once, one without waits for the bytes
//  (and libzmq has already allocated them).
static bool
s_claim_closes (int port, const char *socket_type, uint64_t claimed, int msec)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    ZMX_CHECK (fd >= 0);
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_port = htons ((uint16_t) port);
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    ZMX_CHECK (connect (fd, (struct sockaddr *) &address, sizeof address) == 0);
    struct timeval timeout = { msec / 1000, (msec % 1000) * 1000 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    byte greeting [64] = { 0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0, 'N', 'U', 'L', 'L' };
    byte ready [64];
    size_t type_size = strlen (socket_type);
    size_t body = 6 + 1 + 11 + 4 + type_size;
    size_t at = 0;
    ready [at++] = 0x04;                //  A short command
    ready [at++] = (byte) body;
    memcpy (ready + at, "\x05READY", 6), at += 6;
    ready [at++] = 11;
    memcpy (ready + at, "Socket-Type", 11), at += 11;
    ready [at++] = 0, ready [at++] = 0, ready [at++] = 0, ready [at++] = (byte) type_size;
    memcpy (ready + at, socket_type, type_size), at += type_size;
    byte header [9] = { 0x02 };         //  A long message frame, no more
    for (int index = 0; index < 8; index++)
        header [1 + index] = (byte) (claimed >> (56 - 8 * index));
    bool sent = send (fd, greeting, sizeof greeting, MSG_NOSIGNAL) == sizeof greeting
             && send (fd, ready, at, MSG_NOSIGNAL) == (ssize_t) at
             && send (fd, header, sizeof header, MSG_NOSIGNAL) == sizeof header;
    ZMX_CHECK (sent);
    //  Read zmxd's greeting and READY, then wait for the end
    byte sink [256];
    int64_t deadline = zclock_mono () + msec;
    bool closed = false;
    while (!closed && zclock_mono () < deadline) {
        ssize_t size = recv (fd, sink, sizeof sink, 0);
        closed = size == 0 || (size < 0 && errno != EAGAIN && errno != EINTR);
        if (size < 0 && errno == EAGAIN)
            break;
    }
    close (fd);
    return closed;
}

//  Well-formed ZMTP connections of `type` sending random multipart
//  messages (1 to 6 frames of 0 to 300 random bytes).
static void
s_flood_zmtp (const char *endpoint, int type)
{
    for (int connection = 0; connection < 5; connection++) {
        zsock_t *socket = zsock_new (type);
        ZMX_CHECK (socket);
        zsock_set_linger (socket, 200);
        zsock_set_sndtimeo (socket, 0);
        if (type == ZMQ_SUB)
            zsock_set_subscribe (socket, "");
        ZMX_CHECK (zsock_connect (socket, "%s", endpoint) == 0);
        for (int index = 0; index < 200; index++) {
            zmsg_t *msg = zmsg_new ();
            int frames = 1 + (int) randof (6);
            for (int frame = 0; frame < frames; frame++) {
                byte data [300];
                size_t size = (size_t) randof (sizeof data);
                s_random_bytes (data, size);
                zmsg_addmem (msg, data, size);
            }
            if (type == ZMQ_SUB) {
                //  A SUB only sends subscriptions: random ones
                char topic [16];
                snprintf (topic, sizeof topic, "%x", (unsigned) randof (1 << 30));
                zsock_set_subscribe (socket, topic);
                zmsg_destroy (&msg);
                continue;
            }
            zmsg_send (&msg, socket);
            zmsg_destroy (&msg);
        }
        zsock_destroy (&socket);
    }
}

static void
s_flood_tcp (s_zmxd_t *self)
{
    int ports [] = { self->broker, self->files, self->clone, self->clone + 1, self->clone + 2,
                     self->resolver, self->mailbox };
    for (size_t index = 0; index < sizeof ports / sizeof ports [0]; index++)
        s_flood_raw_tcp (ports [index]);
    //  Each port with the socket types its peers use
    struct {
        int port;
        int type;
    } zmtp [] = {
        { self->broker, ZMQ_DEALER }, { self->broker, ZMQ_REQ },
        { self->files, ZMQ_DEALER }, { self->clone, ZMQ_DEALER },
        { self->clone + 1, ZMQ_SUB }, { self->clone + 2, ZMQ_PUB },
        { self->resolver, ZMQ_DEALER }, { self->resolver, ZMQ_REQ },
        { self->mailbox, ZMQ_DEALER },
    };
    for (size_t index = 0; index < sizeof zmtp / sizeof zmtp [0]; index++) {
        char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", zmtp [index].port);
        s_flood_zmtp (endpoint, zmtp [index].type);
        free (endpoint);
    }
    s_flood_zmtp (self->ipc, ZMQ_DEALER);
}

//  MMI: the broker answers, and titanic is still registered with it.
static void
s_check_broker (s_zmxd_t *self)
{
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", self->broker);
    zmx_client_t *client = zmx_client_new (endpoint);
    ZMX_CHECK (client);
    zmx_client_set_timeout (client, 3000);
    zmx_client_set_retries (client, 3);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "titanic.request");
    zmsg_t *reply = zmx_client_request (client, "mmi.service", &request);
    ZMX_CHECK (reply);
    char *code = zmsg_popstr (reply);
    ZMX_CHECK_STR (code, "200");
    free (code);
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    free (endpoint);
}

static void
s_check_clone (s_zmxd_t *self)
{
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", self->clone);
    uint64_t sequence = 0;
    zhash_t *snapshot = zmx_test_clone_snapshot (endpoint, "", &sequence, 5000);
    ZMX_CHECK (snapshot);
    zhash_destroy (&snapshot);
    free (endpoint);
}

//  A lookup of a name nobody set: any well-formed answer will do.
static void
s_check_resolver (const char *endpoint)
{
    zsock_t *request = zsock_new (ZMQ_REQ);
    ZMX_CHECK (request);
    zsock_set_rcvtimeo (request, 5000);
    zsock_set_linger (request, 0);
    ZMX_CHECK (zsock_connect (request, "%s", endpoint) == 0);
    ZMX_CHECK (zstr_sendx (request, ZMX_RESOLVER_PROTOCOL, ZMX_RESOLVER_LOOKUP, "nosuch",
                           NULL) == 0);
    zmsg_t *reply = zmsg_recv (request);
    ZMX_CHECK (reply);
    zmx_resolver_status_t status;
    char *endpoints = NULL;
    const char *error = NULL;
    ZMX_CHECK (zmx_resolver_reply_decode (reply, &status, &endpoints, &error) == 0);
    free (endpoints);
    zmsg_destroy (&reply);
    zsock_destroy (&request);
}

static void
s_check_files (s_zmxd_t *self)
{
    char *bin = zmx_test_bin ("zmx");
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", self->files);
    char *argv [] = { bin, "files", "ls", "-e", endpoint, "-t", "5000", NULL };
    char *output = NULL;
    int code = zmx_test_run (argv, NULL, 15000, &output);
    if (code != 0 || !strstr (output, "hello.txt"))
        fprintf (stderr, "    zmx files ls: %d %s", code, output);
    ZMX_CHECK (code == 0 && strstr (output, "hello.txt"));
    free (output);
    free (endpoint);
    free (bin);
}

//  Another ZRE node on the same beacon port must see zmxd's node, once
//  the spoofed peers (silent: their mailboxes do not exist) have expired.
static void
s_check_node (s_zmxd_t *self)
{
    char *bin = zmx_test_bin ("zmx");
    char port [16];
    snprintf (port, sizeof port, "%d", self->udp);
    char *argv [] = { bin, "peers", "--once", "-w", "2000", "-i", "lo", "-p", port,
                      "--interval", "200", NULL };
    bool seen = false;
    int64_t deadline = zclock_mono () + 5 * S_EXPIRED_MSEC + 20000;
    while (!seen && zclock_mono () < deadline) {
        char *output = NULL;
        if (zmx_test_run (argv, NULL, 10000, &output) == 0 && strstr (output, "flooded "))
            seen = true;
        free (output);
    }
    ZMX_CHECK (seen);
    free (bin);
}

static void
s_flood (void)
{
    s_zmxd_t self = { 0 };
    s_zmxd_start (&self);
    long rss_start = s_rss_kb (self.pid);
    s_flood_udp (self.udp);
    s_flood_tcp (&self);
    //  Once more, while the first peers are still being tried
    s_flood_udp (self.udp);
    long rss_flooded = s_rss_kb (self.pid);
    ZMX_CHECK (zmx_test_wait (self.pid, 0) == -1);        //  Still running
    s_check_broker (&self);
    s_check_clone (&self);
    s_check_resolver (self.ipc);
    char *resolver = zsys_sprintf ("tcp://127.0.0.1:%d", self.resolver);
    s_check_resolver (resolver);
    free (resolver);
    s_check_files (&self);
    s_check_node (&self);
    long rss_after = s_rss_kb (self.pid);
    ZMX_CHECK (zmx_test_wait (self.pid, 0) == -1);
    zsys_info ("zmxd RSS: %ld KB at start, %ld KB after the flood, %ld KB after the checks",
               rss_start, rss_flooded, rss_after);
    ZMX_CHECK (rss_flooded > 0 && rss_flooded < S_RSS_LIMIT_KB);
    ZMX_CHECK (rss_after > 0 && rss_after < S_RSS_LIMIT_KB);
    zmx_test_stop (self.pid, 5000);
    char *output = zmx_test_read_file (self.log);
    ZMX_CHECK (!strstr (output, "Assertion"));
    struct rlimit limit;
    ZMX_CHECK (getrlimit (RLIMIT_NOFILE, &limit) == 0);
    if (limit.rlim_max <= 1024)
        ZMX_CHECK (strstr (output, "node/max-peers 1000 lowered to "));
    free (output);
    zmx_test_rmdir (self.dir);
    free (self.dir);
    free (self.log);
    free (self.ipc);
}

static void
s_flood_keeps_services_answering (void)
{
    s_flood ();
}

//  The same with only 1,024 descriptors, hard limit too (zmxd inherits
//  it): zmxd sizes its socket limit to 512 and lowers the node's peer
//  cap to its share, where libzmq's default limit of 1,023 sockets
//  would have let the node's 1,000 peers exhaust it.
static void
s_flood_with_few_descriptors (void)
{
    struct rlimit limit = { 1024, 1024 };
    ZMX_CHECK (setrlimit (RLIMIT_NOFILE, &limit) == 0);
    s_flood ();
}

//  A peer that announces a frame larger than any service takes is cut
//  off at once on every TCP port, before libzmq allocates it: without a
//  bound, a header claiming 2^62 bytes makes libzmq try to allocate that
//  much (and a claim of a few GiB succeeds and is held).
static void
s_huge_frame_refused (void)
{
    s_zmxd_t self = { 0 };
    s_zmxd_start (&self);
    struct {
        int port;
        const char *peer_type;
    } ports [] = {
        { self.broker, "DEALER" }, { self.files, "DEALER" }, { self.clone, "DEALER" },
        { self.clone + 1, "SUB" }, { self.clone + 2, "PUB" }, { self.resolver, "DEALER" },
        { self.mailbox, "DEALER" },
    };
    uint64_t claims [] = { (uint64_t) 1 << 62, (uint64_t) 3 << 30 };
    for (size_t index = 0; index < sizeof ports / sizeof ports [0]; index++)
        for (size_t claim = 0; claim < 2; claim++) {
            bool closed = s_claim_closes (ports [index].port, ports [index].peer_type,
                                          claims [claim], 3000);
            if (!closed)
                fprintf (stderr, "    port %d (%s peer) kept a %" PRIu64 "-byte claim open\n",
                         ports [index].port, ports [index].peer_type, claims [claim]);
            ZMX_CHECK (closed);
        }
    ZMX_CHECK (zmx_test_wait (self.pid, 0) == -1);        //  Still running
    s_check_resolver (self.ipc);
    zmx_test_stop (self.pid, 5000);
    zmx_test_rmdir (self.dir);
    free (self.dir);
    free (self.log);
    free (self.ipc);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "flood_keeps_services_answering", s_flood_keeps_services_answering, 180 },
        { "flood_with_few_descriptors", s_flood_with_few_descriptors, 180 },
        { "huge_frame_refused", s_huge_frame_refused, 120 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
