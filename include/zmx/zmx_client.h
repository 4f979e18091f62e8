/*  =========================================================================
    zmx_client - a Majordomo client with Lazy Pirate reliability

    Synchronous use: zmx_client_request sends a request and waits for the
    reply; on timeout it closes the socket, opens a new one (to a broker
    of its list that answers a ping, see below), and resends, up to
    `retries` times, then fails.

        zmx_client_t *client = zmx_client_new ("tcp://127.0.0.1:5555");
        zmsg_t *request = zmsg_new ();
        zmsg_addstr (request, "hello");
        zmsg_t *reply = zmx_client_request (client, "echo", &request);
        if (!reply)
            printf ("failed: %s\n", zmx_strerror (zmx_client_error (client)));
        zmsg_destroy (&reply);
        zmx_client_destroy (&client);

    Asynchronous use: zmx_client_send any number of requests, then
    zmx_client_recv the replies as they come (in completion order; the
    caller matches them by content). Do not mix the two styles on one
    client: a retry in the synchronous call reopens the socket, discarding
    replies still on the way.

    Several brokers ("tcp://a:5555,tcp://b:5555,..."): requests go to the
    first until an attempt times out; then the client pings the brokers
    of the list (an 8/MMI "mmi.service" request for the service: first
    the one that failed, a tenth of the timeout later all of them; all
    at once in the rounds after a round nobody answered) and
    resends to the first that answers "200" (has a worker), or else to
    one that answered at all. Dead brokers, and the passive broker of
    a Binary Star pair, answer nothing, so one timeout is lost per
    failure, not one per dead broker. A ping round that nobody answers
    within the timeout counts as an attempt. Asynchronous use does not
    fail over.

    Speaks MDP/0.1 (7/MDP) by default, so that it works with any
    Majordomo broker; zmx_client_set_version (c, ZMX_MDP_PACKED) makes it
    speak zmx packed MDP, which only the zmx broker serves: one frame per
    request and per reply for small bodies (docs/PROTOCOLS.md).
    =========================================================================
*/
#ifndef ZMX_CLIENT_H_INCLUDED
#define ZMX_CLIENT_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zmx_client_t zmx_client_t;

//  Create a client for one broker endpoint or a comma-separated list to
//  fail over between ("tcp://a:5555,tcp://b:5555"), or "name:NAME" to
//  look the list up with zmx_resolver_resolve_endpoint: such a client asks
//  again after each failed attempt and follows the name when it moves.
//  Returns NULL if the list is empty, an endpoint is malformed or the name
//  does not resolve.
zmx_client_t *
    zmx_client_new (const char *endpoints);

//  Close and free. Idempotent; nulls *self_p.
void
    zmx_client_destroy (zmx_client_t **self_p);

//  Per-attempt timeout (msec, default 2500) and retries after the first
//  attempt (default 3). With several brokers the timeout also bounds each
//  ping round, and pings repeat every fifth of it (at least 10 msec).
void
    zmx_client_set_timeout (zmx_client_t *self, int timeout_ms);
void
    zmx_client_set_retries (zmx_client_t *self, int retries);

//  Framing: 1 (7/MDP, the default) or ZMX_MDP_PACKED (3: zmx packed MDP,
//  for a zmx broker only; fewer frames per request, less CPU on every
//  hop). Set it before the first request: a change closes the connection,
//  so asynchronous requests in flight are lost (a synchronous request
//  retries as usual). Returns ZMX_OK, or ZMX_EINVAL for another value.
int
    zmx_client_set_version (zmx_client_t *self, int version);

//  Use CURVE: see zmx_security_client_curve for the arguments. Returns
//  ZMX_OK or ZMX_ESECURITY.
int
    zmx_client_set_curve (zmx_client_t *self, const char *client_cert_path,
                          const char *server_key);

//  Send `*request_p` to `service` and wait for the reply, retrying as set.
//  Consumes *request_p on every path. Returns the reply body (caller owns)
//  or NULL: zmx_client_error then says ZMX_ETIMEDOUT, ZMX_ETERM or
//  ZMX_EINVAL (or ZMX_ESECURITY / ZMX_EADDR if no socket could be made),
//  or ZMX_EPROTO if the reply came with more than ZMX_MDP_MAX_FRAMES
//  frames (logged as a warning; not retried, it would come back the same).
zmsg_t *
    zmx_client_request (zmx_client_t *self, const char *service, zmsg_t **request_p);

//  Asynchronous: queue a request without waiting. Consumes *request_p.
//  Returns ZMX_OK, or ZMX_EINVAL for a bad service name; ZMX_ETIMEDOUT if
//  the send queue stayed full for the request timeout; ZMX_ETERM if
//  interrupted; ZMX_ESECURITY or ZMX_EADDR if no socket could be made.
int
    zmx_client_send (zmx_client_t *self, const char *service, zmsg_t **request_p);

//  Asynchronous: wait up to timeout_ms (-1 forever) for the next reply.
//  Returns its body and, if service_p is not NULL, the service name in
//  *service_p (caller frees both); NULL on timeout or interrupt
//  (zmx_client_error: ZMX_ETIMEDOUT, ZMX_ETERM; ZMX_EINVAL if nothing was
//  ever sent; ZMX_EPROTO if a reply came with more than ZMX_MDP_MAX_FRAMES
//  frames: it is logged, and counts as the answer to one request in
//  flight to its service).
zmsg_t *
    zmx_client_recv (zmx_client_t *self, int timeout_ms, char **service_p);

//  Error code of the last failed call (ZMX_OK if none).
int
    zmx_client_error (zmx_client_t *self);

//  The endpoint the client is currently talking to.
const char *
    zmx_client_endpoint (zmx_client_t *self);

//  The socket, for polling replies alongside other sockets. NULL before the
//  first request.
zsock_t *
    zmx_client_socket (zmx_client_t *self);

#ifdef __cplusplus
}
#endif
#endif
