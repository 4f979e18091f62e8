/*  =========================================================================
    ports - free loopback ports for tests and benchmarks

    A port handed out here lies below the kernel's ephemeral range
    (/proc/sys/net/ipv4/ip_local_port_range). The kernel takes the local
    port of every outgoing connection from that range, so a port picked
    inside it can be taken by any connection on the machine (another test
    running in parallel reconnects a lot) while its owner has it unbound,
    between a restart's close and its bind, and the bind then fails for as
    long as that connection lives. Below the range, nothing but a bind can
    hold it.

    Each process (each forked test case too) starts at its own random point
    and walks on from there, so that parallel programs rarely meet; a port
    is only handed out if a bind to it succeeds at that moment.

    The module needs only libc (benchmarks compile it in too).
    =========================================================================
*/
#ifndef ZMX_PORTS_H_INCLUDED
#define ZMX_PORTS_H_INCLUDED

//  A TCP port on 127.0.0.1 that could be bound a moment ago, from below
//  the ephemeral range; -1 if none was found.
int zmx_ports_free_tcp (void);

//  A UDP port on 127.0.0.1 that could be bound a moment ago (the kernel's
//  choice), never ZRE's default beacon port 5670; -1 if none was found.
int zmx_ports_free_udp (void);

#endif
