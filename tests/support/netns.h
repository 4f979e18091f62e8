/*  =========================================================================
    netns - private networks for multi-host tests, made of network namespaces

    A zmx_netns_t is a little LAN that exists only for one test case:

        bridge namespace  <prefix>br   holds bridge br0
        host namespaces   <prefix>0 .. <prefix>N-1, each with
            lo (up) and eth0 (a veth whose peer pI is a port of br0),
            address 10.77.0.(I+1)/24, broadcast 10.77.0.255

    Nothing is created in the root namespace, so parallel runs cannot
    collide: <prefix> is "zmxt<P>-<C>-<K>-" with P the test program's pid,
    C the pid of the case that made the set and K a counter, and each set
    has its own bridge, so even the addresses may repeat between sets.

    Removal: zmx_netns_destroy deletes the namespaces of one set. A case
    that fails leaves through _exit, and the harness runs each case in a
    forked child, so the program's main process also removes every
    namespace carrying its pid when it exits (arranged when the program
    starts: nothing to call), and sets left by a program that no longer
    runs (killed outright) are removed when the next one starts.

    The module needs only libc (benchmarks compile it in too). Root and
    iproute2's `ip` are needed; zmx_netns_available says whether
    this process has both, and ZMX_NETNS_REQUIRE makes a case pass with
    "skipped: needs root and ip netns" when it has not.
    =========================================================================
*/
#ifndef ZMX_NETNS_H_INCLUDED
#define ZMX_NETNS_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#define ZMX_NETNS_MAX       32          //  Host namespaces per set
#define ZMX_NETNS_IFACE     "eth0"      //  Each host's interface on the LAN
#define ZMX_NETNS_SUBNET    "10.77.0"   //  The LAN is ZMX_NETNS_SUBNET.0/24
#define ZMX_NETNS_SKIPPED   "skipped: needs root and ip netns"

//  End the current case as skipped (zmx_test_skip, testing.h) unless
//  network namespaces can be made here.
#define ZMX_NETNS_REQUIRE() \
    do { if (!zmx_netns_available ()) zmx_test_skip (ZMX_NETNS_SKIPPED); } while (0)

typedef struct _zmx_netns_t zmx_netns_t;

//  True if this process runs as root and `ip` (iproute2) can be found.
bool
    zmx_netns_available (void);

//  Create `count` (1..ZMX_NETNS_MAX) host namespaces joined by a bridge.
//  Returns NULL, with the failing `ip` command printed and whatever was
//  made removed again, if that fails.
zmx_netns_t *
    zmx_netns_new (size_t count);

//  Delete every namespace of the set (their interfaces go with them) and
//  null the pointer. Processes still running inside keep their namespace
//  alive, detached, until they end: stop them first.
void
    zmx_netns_destroy (zmx_netns_t **self_p);

//  Number of host namespaces.
size_t
    zmx_netns_size (zmx_netns_t *self);

//  Name of host namespace `index` (as `ip netns list` shows it).
const char *
    zmx_netns_name (zmx_netns_t *self, size_t index);

//  IPv4 address of host `index`'s eth0, e.g. "10.77.0.1".
const char *
    zmx_netns_address (zmx_netns_t *self, size_t index);

//  The LAN's broadcast address, "10.77.0.255".
const char *
    zmx_netns_broadcast (zmx_netns_t *self);

//  Move the calling process (which must have one thread: use it in a fresh
//  child) into host namespace `index`. Returns 0 or -1.
int
    zmx_netns_enter (zmx_netns_t *self, size_t index);

//  Start a program (argv [0] is a path) inside host namespace `index`,
//  its stdout and stderr appended to `log_path` (or inherited if NULL).
//  Returns its pid; the caller waits for it (zmx_test_stop and friends).
pid_t
    zmx_netns_spawn (zmx_netns_t *self, size_t index, char *const argv [],
                     const char *log_path);

//  Run a program (argv [0] is a path) inside host namespace `index` to
//  completion (killed after timeout_ms), stdin empty: returns its exit code
//  (-1 if killed or it failed to run) and its stdout, up to 64 KiB, in
//  *output_p (caller frees; may be NULL). Its stderr is this process's.
int
    zmx_netns_run (zmx_netns_t *self, size_t index, char *const argv [], int timeout_ms,
                   char **output_p);

//  Run fn (arg) in a child process inside host namespace `index` and wait
//  up to timeout_ms for it. The child must not use anything of the
//  parent's ZeroMQ state. Returns fn's result (0..254, the child's exit
//  code), or -1 if it could not enter the namespace, crashed
//  or ran late.
int
    zmx_netns_call (zmx_netns_t *self, size_t index, int (*fn) (void *arg), void *arg,
                    int timeout_ms);

//  Delete every namespace this test program made (its pid is in the
//  names) and those of programs that have ended. Called at exit; may be
//  called any time by the program's main process.
void
    zmx_netns_cleanup (void);

#endif
