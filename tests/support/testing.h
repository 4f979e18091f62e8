/*  =========================================================================
    testing - the harness every test program (tests/CAPABILITY/test_NAME.c) uses

    A test file lists named cases and calls zmx_test_main:

        static void s_echo_works (void) { ZMX_CHECK (1 + 1 == 2); }
        int main (int argc, char *argv []) {
            zmx_test_t cases [] = { { "echo_works", s_echo_works, 10 } };
            return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
        }

    Each case runs in its own forked child with a time limit (seconds), so a
    crash or a hang fails that case only. "test_x NAME" runs one case.
    Closing line: "N passed, N failed, N skipped". A case that cannot run
    here calls zmx_test_skip; the program then exits ZMX_TEST_SKIP_CODE
    (unless a case failed), which CTest reports as skipped, never passed.
    Exit codes: 0 all passed, 1 a case failed (or none ran), 77 skipped.
    =========================================================================
*/
#ifndef ZMX_TESTING_H_INCLUDED
#define ZMX_TESTING_H_INCLUDED

#include "zmx_classes.h"
#include <sys/types.h>

typedef struct {
    const char *name;
    void (*run) (void);
    int limit_s;                //  seconds before the case is killed
} zmx_test_t;

#define ZMX_TEST_COUNT(cases) (sizeof (cases) / sizeof ((cases) [0]))

//  Fail the current case, printing where and what.
#define ZMX_CHECK(condition) \
    do { if (!(condition)) zmx_test_fail (__FILE__, __LINE__, #condition); } while (0)
#define ZMX_CHECK_STR(actual, expected) \
    do { const char *a_ = (actual), *e_ = (expected); \
         if (!a_ || strcmp (a_, e_) != 0) zmx_test_fail_str (__FILE__, __LINE__, a_, e_); } while (0)

void zmx_test_fail (const char *file, int line, const char *what) __attribute__ ((noreturn));

//  The program's exit code when a case was skipped and none failed: the
//  SKIP_RETURN_CODE of every test in tests/CMakeLists.txt.
#define ZMX_TEST_SKIP_CODE 77

//  End the current case as skipped, printing why (it cannot run here:
//  not root, a tool missing). Never use it for a case that could run.
void zmx_test_skip (const char *why) __attribute__ ((noreturn));
void zmx_test_fail_str (const char *file, int line, const char *actual, const char *expected)
    __attribute__ ((noreturn));

int zmx_test_main (int argc, char *argv [], const zmx_test_t *cases, size_t count);

//  A TCP port on 127.0.0.1 that was free a moment ago (bound and released),
//  from below the kernel's ephemeral range (see ports.h).
int zmx_test_free_port (void);

//  "tcp://127.0.0.1:PORT" for a free port; caller frees.
char *zmx_test_free_endpoint (void);

//  A fresh private directory under /tmp; caller frees the path (the
//  directory is removed by zmx_test_rmdir).
char *zmx_test_tmpdir (void);
void zmx_test_rmdir (const char *path);

//  Path of a built program, e.g. zmx_test_bin ("zmxd"). Caller frees.
char *zmx_test_bin (const char *program);

//  Write `text` to `path`; 0 on success.
int zmx_test_write_file (const char *path, const char *text);

//  Start a program (argv [0] is a path) with stdout/stderr to this
//  process's, or to `log_path` if not NULL. Returns its pid.
pid_t zmx_test_spawn (char *const argv [], const char *log_path);

//  Wait up to timeout_ms for pid to exit; returns its wait status, or -1
//  if it is still running.
int zmx_test_wait (pid_t pid, int timeout_ms);

//  SIGTERM then, after grace_ms, SIGKILL; reaps the child.
void zmx_test_stop (pid_t pid, int grace_ms);

//  Run a program to completion (killed after timeout_ms), feeding `input`
//  (may be NULL) on stdin; returns its exit code (-1 if killed or failed to
//  run) and its stdout in *output_p (caller frees; may be NULL).
int zmx_test_run (char *const argv [], const char *input, int timeout_ms, char **output_p);

//  Write a server and a client CURVE key pair (zmx_security_keygen) and
//  return a policy with CURVE on, the server certificate, and any client key
//  allowed. Fails the case if any step fails. Caller owns the policy.
zmx_security_t *zmx_test_curve_policy (const char *server_cert, const char *client_cert);

//  Wait until something accepts TCP connections on 127.0.0.1:port; true
//  if it did within timeout_ms.
bool zmx_test_wait_port (int port, int timeout_ms);

//  Wait up to timeout_ms for pid to exit, stopping it (zmx_test_stop with
//  grace_ms) if it does not; returns its exit code, or -1 if it had to be
//  stopped or was killed by a signal.
int zmx_test_exit_code (pid_t pid, int timeout_ms, int grace_ms);

//  The whole file at `path` (up to 1 MiB) as a string, "" if it cannot be
//  read; caller frees.
char *zmx_test_read_file (const char *path);

//  True once `text` appears in the file at `path`, polled until timeout_ms.
bool zmx_test_wait_for_text (const char *path, const char *text, int timeout_ms);

//  -------------------------------------------------------------------------
//  Fake peers for the client and worker tests

//  Receive one message within timeout_ms (sets the socket's receive
//  timeout); NULL if none came.
zmsg_t *zmx_test_recv (zsock_t *socket, int timeout_ms);

//  True if the frames of msg after the first `skip` ones are exactly the
//  NULL-terminated list of strings ("" is an empty frame).
bool zmx_test_msg_is (zmsg_t *msg, size_t skip, ...);

//  A ROUTER with linger 0 bound to a free port on 127.0.0.1, a CURVE server
//  with `curve_server`'s keys unless that is NULL; *endpoint_p gets its
//  endpoint (caller frees). Fails the case if it cannot bind.
zsock_t *zmx_test_router_new (zcert_t *curve_server, char **endpoint_p);

//  Settings of zmx_test_echo_worker; must outlive the actor.
typedef struct {
    const char *endpoint;       //  Broker endpoint
    const char *service;        //  Service name to register
    int interval;               //  Heartbeat interval, msec
    int liveness;               //  Heartbeat liveness
    int backoff_initial;        //  First reconnect delay, msec
    int backoff_max;            //  Longest reconnect delay, msec
    uint32_t credit;            //  Requests in flight; 0 means 1
} zmx_test_worker_t;

//  zactor body: a zmx_worker, set up from the zmx_test_worker_t in args,
//  that echoes every request until $TERM (or a context end).
void zmx_test_echo_worker (zsock_t *pipe, void *args);

//  Echo every request *worker_p gets until a command comes on pipe (or a
//  context end), then destroy the worker and read that command.
void zmx_test_echo_serve (zsock_t *pipe, zmx_worker_t **worker_p);

//  A DEALER with linger 0 and a receive timeout connected to endpoint.
zsock_t *zmx_test_dealer_new (const char *endpoint, int timeout_ms);

//  True once service counter `name` equals value, polled until timeout_ms.
bool zmx_test_wait_counter (zmx_service_t *service, const char *name, uint64_t value,
                            int timeout_ms);

//  True if `frame` holds exactly these bytes.
bool zmx_test_bytes_are (zframe_t *frame, const void *data, size_t size);

//  Send `count` asynchronous requests to `service`, numbered from 0.
void zmx_test_send_numbered (zmx_client_t *client, const char *service, int count);

//  Receive the echoes of zmx_test_send_numbered in any order, each within
//  timeout_ms; each number must come back exactly once, and name
//  `service` if that is not NULL.
void zmx_test_recv_numbered (zmx_client_t *client, int count, int timeout_ms,
                             const char *service);

//  Through a ROUTER to routing id `identity`: one frame of raw bytes, then
//  `second` if not NULL (consumed).
void zmx_test_send_to (zsock_t *router, zframe_t *identity, const void *data, size_t size,
                       zframe_t *second);

//  Send `text` to `service` through `client`; true if the reply is that
//  one frame (an echo). A failed request is reported on stderr.
bool zmx_test_echo_ok (zmx_client_t *client, const char *service, const char *text);

//  True once mmi.service on the broker at `endpoint` says `service` has a
//  worker, polled until timeout_ms.
bool zmx_test_wait_service (const char *endpoint, const char *service, int timeout_ms);

//  zactor body: forwards messages between two PUB sockets (Binary Star
//  state, say) unless cut. args: char *[2], the two endpoints to subscribe
//  to; after its signal it sends the two endpoints it publishes them on
//  (messages of source 0 come out of endpoint 0). Commands: CUT, MEND
//  (each answered by a signal), $TERM.
void zmx_test_relay (zsock_t *pipe, void *args);

//  Hold a dead server's port: a TCP socket bound to 127.0.0.1:port but not
//  listening, so that connections to it are refused and no other test
//  running at the same time can bind it and receive the traffic still
//  aimed at it. Returns the fd (caller closes), or -1.
int zmx_test_tombstone (int port);

//  Write `text` to the file `config` and start the built zmxd on it, output
//  to `log`; returns its pid once `ready` is in the log and zmxd still
//  runs (within timeout_ms), else stops it and returns 0 (a port may have
//  been taken meanwhile: the caller retries with others).
pid_t zmx_test_zmxd_start (const char *config, const char *text, const char *log,
                           const char *ready, int timeout_ms);

//  True if nothing is bound to 127.0.0.1:port (a bind succeeds).
bool zmx_test_port_free (int port);

//  Run the built `zmx` with the arguments of `prefix` (NULL-terminated,
//  may be NULL) then those of `args` (up to a NULL), at most 62 in all;
//  as zmx_test_run otherwise.
int zmx_test_run_zmx (const char *const prefix [], int timeout_ms, char **output_p,
                      va_list args);

//  A UDP port on 127.0.0.1 that was free a moment ago, never the ZRE
//  beacon port 5670 (a node there could hear real peers).
int zmx_test_free_udp_port (void);

//  A raw CHP snapshot (RFC 12) over a plain DEALER: sends ICANHAZ? for
//  subtree and returns key -> value of the KVSYNCs (caller owns the hash),
//  the KTHXBAI sequence in *sequence_p. Checks every frame against the
//  RFC layout and that each key is in the subtree; each reply may take
//  up to timeout_ms.
zhash_t *zmx_test_clone_snapshot (const char *endpoint, const char *subtree,
                                  uint64_t *sequence_p, int timeout_ms);

//  Start zmxd (config and log files in dir) with a clone service on three
//  consecutive free ports: snapshot PORT, publisher PORT + 1, collector
//  PORT + 2, heartbeat 200 msec, no data directory. `extra`, if not NULL,
//  returns more config text for PORT (caller frees it), and `ready` is the
//  log text to wait for (NULL: the collector's line). Retries with other
//  ports if one was taken; fails the case if none works. Returns the pid
//  and sets *port_p.
typedef char *(zmx_test_config_fn) (int port, void *args);
pid_t zmx_test_clone_zmxd_start (const char *dir, const char *log, zmx_test_config_fn *extra,
                                 void *args, const char *ready, int timeout_ms, int *port_p);

//  An in-process broker service on a free loopback port; `settings` (may
//  be NULL) adds "    key = value\n" lines to its config. Fails the case
//  if it does not start.
zmx_service_t *zmx_test_broker_new (const char *settings);

//  Send this process's stderr (where zmx_log writes) to the file `path`
//  until zmx_test_capture_end; returns the saved descriptor to pass it.
int zmx_test_capture_begin (const char *path);
void zmx_test_capture_end (int saved);

//  Lines of the file `path` that contain `text`.
int zmx_test_count_lines (const char *path, const char *text);

//  A titanic config for the broker at endpoint, storing under DIR/store,
//  without fsync and retrying every 50 msec. Caller destroys it.
zconfig_t *zmx_test_titanic_config (const char *endpoint, const char *dir);

//  The next event named `event` (from `peer`, if not NULL) on a node's
//  socket within timeout_ms; other events are skipped. NULL if none came.
zmsg_t *
    zmx_test_node_expect (zmx_node_t *node, const char *event, const char *peer,
                          int timeout_ms);

//  True if such an event comes within timeout_ms (zmx_test_node_expect).
bool
    zmx_test_node_got (zmx_node_t *node, const char *event, const char *peer, int timeout_ms);

#endif
