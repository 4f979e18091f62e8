/*  =========================================================================
    zmx_security - the one place where service sockets are made

    Every socket a zmx service binds is created by zmx_security_bind() (or
    zmx_security_socket() then zmx_security_listen()), which applies the
    configured CURVE server keys and the ZAP policy (via CZMQ zauth). With no
    "security" config, sockets use the NULL mechanism and no ZAP handler
    runs.

    Configuration (ZPL, the "security" subtree of zmxd's config):

        security
            curve = 1                   #  CURVE on every service socket (0|1)
            certificate = "server.cert" #  server certificate; its secret is
                                        #  read from "server.cert_secret"
            clients = "clients/"        #  directory of allowed client public
                                        #  certificates, or "*" for any key
            allow = "127.0.0.1,10.0.0.2"#  ZAP: only these peer addresses
            deny = "10.0.0.9"           #  ZAP: never these peer addresses
            domain = "global"           #  ZAP domain set on service sockets

    zauth is a process-wide ZAP handler: create at most one zmx_security
    object with security enabled per process.
    =========================================================================
*/
#ifndef ZMX_SECURITY_H_INCLUDED
#define ZMX_SECURITY_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zmx_security_t zmx_security_t;

//  Create the security policy from a "security" config subtree. A NULL
//  config (or curve = 0 with no allow/deny) means security off. Returns NULL
//  and logs the reason (missing certificate, bad directory, ...) on error.
zmx_security_t *
    zmx_security_new (zconfig_t *config);

//  Destroy the policy and stop its ZAP handler. Idempotent; nulls *self_p.
void
    zmx_security_destroy (zmx_security_t **self_p);

//  True if service sockets use CURVE.
bool
    zmx_security_curve (zmx_security_t *self);

//  The server's public key as 40 Z85 characters, or NULL without CURVE.
const char *
    zmx_security_public_key (zmx_security_t *self);

//  Create a socket of ZMQ type `type` (ZMQ_ROUTER, ZMQ_PUB, ...), apply the
//  policy, and bind it to `endpoint` ("tcp://127.0.0.1:*" picks a free
//  port). self may be NULL (security off). Returns NULL and logs the
//  endpoint and errno text if the bind fails. Caller owns the socket.
zsock_t *
    zmx_security_bind (zmx_security_t *self, int type, const char *endpoint);

//  Client handshakes refused so far on the sockets bound through this
//  policy: ZAP denials (key not among the clients, address filtered) and
//  CURVE handshake failures (no CURVE, wrong server key). Each is also
//  logged at notice level, at most one line a second. 0 without CURVE or
//  ZAP (nothing is refused then).
uint64_t
    zmx_security_refused (zmx_security_t *self);

//  Largest message a service socket takes unless its service sets its own
//  ZMQ_MAXMSGSIZE: a peer whose message claims more is disconnected.
#define ZMX_SECURITY_MAX_MESSAGE    (16 * 1024 * 1024 + 4096)

//  Create a socket of ZMQ type `type` with the policy applied, not yet
//  bound, and with ZMQ_MAXMSGSIZE at ZMX_SECURITY_MAX_MESSAGE. For
//  services that set options (HWM, maximum message size) before binding:
//  libzmq copies a socket's options into an endpoint when it binds, so
//  options set afterwards do not apply to it. Bind with
//  zmx_security_listen. Returns NULL (reason logged) for an unknown type.
zsock_t *
    zmx_security_socket (zmx_security_t *self, int type);

//  Bind a socket made by zmx_security_socket to one more endpoint. Returns 0,
//  or -1 with the endpoint and the reason logged.
int
    zmx_security_listen (zmx_security_t *self, zsock_t *sock, const char *endpoint);

//  Client side: make `sock` a CURVE client before it connects. The client
//  certificate is read from `client_cert_path` (its secret from
//  "<path>_secret"); `server_key` is either 40 Z85 characters or the path
//  of the server's public certificate file. A NULL sock only checks the
//  arguments. Returns ZMX_OK, or ZMX_ESECURITY with a logged reason.
int
    zmx_security_client_curve (zsock_t *sock, const char *client_cert_path,
                               const char *server_key);

//  Write a new CURVE key pair: the public certificate to `path` and the
//  secret one to "<path>_secret" (mode 0600). `name` goes into the
//  metadata. Returns ZMX_OK or ZMX_EINVAL (cannot write, or either file
//  exists already: a key pair is never overwritten; reason logged).
int
    zmx_security_keygen (const char *path, const char *name);

#ifdef __cplusplus
}
#endif
#endif
