/*  =========================================================================
    ports - free loopback TCP ports for tests and benchmarks (see ports.h)
    =========================================================================
*/
#include "ports.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define S_LOWEST     10000      //  Below this are well-known services
#define S_ATTEMPTS   2000       //  Ports tried before giving up
#define S_ZRE_PORT   5670       //  ZRE's default beacon port: never handed out

//  True if a TCP socket can bind 127.0.0.1:port right now.
static bool
s_port_bindable (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return false;
    struct sockaddr_in address = { 0 };
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    address.sin_port = htons ((uint16_t) port);
    bool bindable = bind (fd, (struct sockaddr *) &address, sizeof address) == 0;
    close (fd);
    return bindable;
}

//  The lowest port the kernel hands out to outgoing connections.
static int
s_ephemeral_low (void)
{
    int low = 32768, high = 60999;
    FILE *file = fopen ("/proc/sys/net/ipv4/ip_local_port_range", "r");
    if (file) {
        if (fscanf (file, "%d %d", &low, &high) != 2)
            low = 32768;
        fclose (file);
    }
    return low;
}

int
zmx_ports_free_tcp (void)
{
    static int next = 0;
    static pid_t owner = 0;
    int low = S_LOWEST, high = s_ephemeral_low () - 1;
    if (high - low < 1000) {
        low = 1024;             //  An unusual range: take what is left
        high = 65535;
    }
    if (owner != getpid ()) {
        struct timespec now;
        clock_gettime (CLOCK_MONOTONIC, &now);
        owner = getpid ();
        uint64_t seed = (uint64_t) owner * 7919 + (uint64_t) now.tv_nsec / 1000;
        next = low + (int) (seed % (uint64_t) (high - low + 1));
    }
    for (int attempt = 0; attempt < S_ATTEMPTS; attempt++) {
        int port = next;
        next = next >= high? low: next + 1;
        if (s_port_bindable (port))
            return port;
    }
    return -1;
}

int
zmx_ports_free_udp (void)
{
    for (int attempt = 0; attempt < 20; attempt++) {
        int fd = socket (AF_INET, SOCK_DGRAM, 0);
        struct sockaddr_in address = { 0 };
        address.sin_family = AF_INET;
        address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
        socklen_t size = sizeof address;
        int port = 0;
        if (fd >= 0 && bind (fd, (struct sockaddr *) &address, sizeof address) == 0
        &&  getsockname (fd, (struct sockaddr *) &address, &size) == 0)
            port = ntohs (address.sin_port);
        if (fd >= 0)
            close (fd);
        if (port && port != S_ZRE_PORT)
            return port;
    }
    return -1;
}
