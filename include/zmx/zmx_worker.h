/*  =========================================================================
    zmx_worker - a Majordomo worker with Paranoid Pirate reliability

    Connects to a broker, registers one service, and hands requests to the
    caller. Heartbeats flow both ways; when the broker falls silent for
    liveness x interval (or says DISCONNECT) the worker closes its socket
    and reconnects with exponential backoff, then registers again. A
    caller whose work on a request can outlast liveness x interval calls
    zmx_worker_heartbeat while it works.

        zmx_worker_t *worker = zmx_worker_new ("tcp://127.0.0.1:5555", "echo");
        while (true) {
            zframe_t *reply_to;
            zmsg_t *request = zmx_worker_recv (worker, -1, &reply_to);
            if (!request)
                break;                          //  interrupted
            zmx_worker_send (worker, &request, &reply_to);   //  echo it
        }
        zmx_worker_destroy (&worker);

    Speaks MDP/0.1 (7/MDP), or MDP/0.2 (18/MDP) after
    zmx_worker_set_version (w, 2), which the zmx broker serves with one
    frame less per message, or zmx packed MDP after zmx_worker_set_version
    (w, ZMX_MDP_PACKED): one frame per request and per reply for small
    bodies, zmx broker only. With zmx_worker_set_credit (w, N), N > 1, it
    announces the zmx credit extension and the broker keeps up to N requests
    in flight to it: replies may then be sent in any order, each with the
    reply_to of its request.
    =========================================================================
*/
#ifndef ZMX_WORKER_H_INCLUDED
#define ZMX_WORKER_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zmx_worker_t zmx_worker_t;

//  Create a worker for `service` at broker `endpoint`. It connects on the
//  first zmx_worker_recv, so setters called before then apply from the
//  start. `endpoint` may be a comma-separated list (at most 16): the
//  worker then registers with every broker of the list, each connection
//  with its own heartbeats and reconnects, and recv takes requests from
//  all of them (a Binary Star pair: both brokers; docs/BSTAR.md).
//  zmx_worker_socket is then NULL. "name:NAME" is resolved once, here,
//  through zmx_resolver_resolve_endpoint. Returns NULL if an argument is
//  invalid or the name does not resolve.
zmx_worker_t *
    zmx_worker_new (const char *endpoint, const char *service);

//  Send DISCONNECT, close, free. Idempotent; nulls *self_p.
void
    zmx_worker_destroy (zmx_worker_t **self_p);

//  Heartbeat interval (msec) and liveness; defaults 2500 and 3.
void
    zmx_worker_set_heartbeat (zmx_worker_t *self, int interval_ms, int liveness);

//  Reconnect backoff: first delay and cap (msec); defaults 100 and 5000.
void
    zmx_worker_set_reconnect (zmx_worker_t *self, int initial_ms, int max_ms);

//  Requests in flight (1..ZMX_MDP_MAX_CREDIT). 1 = plain RFC worker.
void
    zmx_worker_set_credit (zmx_worker_t *self, uint32_t credit);

//  MDP version to speak from the next connect: 1 (7/MDP, default, for any
//  Majordomo broker) or 2 (18/MDP: one frame less per message each way,
//  replies sent as FINAL; the zmx broker serves both), or ZMX_MDP_PACKED
//  (3: zmx packed MDP, the header and a small first body frame in one
//  frame; only the zmx broker serves it; docs/PROTOCOLS.md).
void
    zmx_worker_set_version (zmx_worker_t *self, int version);

//  Use CURVE: see zmx_security_client_curve for the arguments. Returns
//  ZMX_OK or ZMX_ESECURITY (checked now, applied at each connect).
int
    zmx_worker_set_curve (zmx_worker_t *self, const char *client_cert_path,
                          const char *server_key);

//  Wait up to timeout_ms (-1 = forever) for a request. Returns the request
//  body and sets *reply_to_p to the address to answer (caller owns both),
//  or returns NULL on timeout or interrupt (see zmx_worker_error).
//  Heartbeats and reconnects are handled inside this call.
zmsg_t *
    zmx_worker_recv (zmx_worker_t *self, int timeout_ms, zframe_t **reply_to_p);

//  Send a reply; consumes *reply_p and *reply_to_p on every path. Returns
//  ZMX_OK, or ZMX_EAGAIN if the broker connection was lost meanwhile (the
//  reply is dropped; the client's retry covers it), or ZMX_EINVAL if either
//  is NULL. reply_to is opaque: pass back the frame recv gave, unchanged.
//  A reply with a frame larger than the max frame size (see
//  zmx_worker_set_max_frame) would make the broker cut the connection:
//  it is not sent, an error is logged, the client gets an error reply
//  (zmx_worker_send_error) instead, and the call returns ZMX_ENOMEM.
int
    zmx_worker_send (zmx_worker_t *self, zmsg_t **reply_p, zframe_t **reply_to_p);

//  The first frame of a zmx error reply, whose second and last frame says
//  why (docs/PROTOCOLS.md). MDP has no error reply; this is a zmx
//  convention that `zmx call` reports as a failure.
#define ZMX_WORKER_ERROR    "zmx.error"

//  Answer the request of reply_to with an error reply: ZMX_WORKER_ERROR,
//  then `reason`. Consumes *reply_to_p; returns as zmx_worker_send.
int
    zmx_worker_send_error (zmx_worker_t *self, zframe_t **reply_to_p, const char *reason);

//  Largest reply frame zmx_worker_send sends, in bytes: the broker's
//  max-frame-size (default ZMX_BROKER_MAX_FRAME_SIZE, 16 MiB).
void
    zmx_worker_set_max_frame (zmx_worker_t *self, size_t bytes);

//  Keep the connection alive while the caller works on a request: send a
//  heartbeat if one is due and handle what the broker sent, without
//  waiting or reconnecting (requests that arrive are kept for the next
//  recv). Call it several times per interval. Returns ZMX_OK, ZMX_EAGAIN
//  if not connected (replies to earlier requests will be dropped; recv
//  reconnects), or ZMX_ETERM if interrupted. At most `credit` requests
//  are kept: one beyond that breaks the credit the broker was given, and
//  is dropped and counted (zmx_worker_dropped) with a warning at most
//  once a second; its client's retry covers it.
int
    zmx_worker_heartbeat (zmx_worker_t *self);

//  The reason the last zmx_worker_recv returned NULL: ZMX_ETIMEDOUT or
//  ZMX_ETERM.
int
    zmx_worker_error (zmx_worker_t *self);

//  How many times the worker has (re)connected; 1 after the first connect
//  (for several brokers, the sum over their connections).
uint64_t
    zmx_worker_connects (zmx_worker_t *self);

//  True if the broker has spoken on the current connection (for several
//  brokers: on any link's), i.e. it has our READY and will send requests.
//  A broker silent for liveness x interval is logged as a warning ("not
//  answering" if it never spoke on that connection) and reconnected to;
//  its return after that is logged as a notice.
bool
    zmx_worker_connected (zmx_worker_t *self);

//  Requests dropped because the broker sent more than our credit while
//  the caller worked (see zmx_worker_heartbeat); the sum over every
//  broker of a list.
uint64_t
    zmx_worker_dropped (zmx_worker_t *self);

//  The socket, for polling alongside others (readable = call recv).
//  NULL for a worker of several brokers, before the first connect and
//  while waiting to reconnect; each
//  reconnect opens a new socket, so fetch it again after every recv.
zsock_t *
    zmx_worker_socket (zmx_worker_t *self);

#ifdef __cplusplus
}
#endif
#endif
