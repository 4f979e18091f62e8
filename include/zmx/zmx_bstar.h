/*  =========================================================================
    zmx_bstar - Binary Star: a primary/backup pair with one active peer

    Two processes run the same service, one configured primary, the other
    backup. Each one publishes its state on a PUB socket and subscribes to
    its peer's. The pair settles with one peer ACTIVE (serves clients) and
    the other PASSIVE (rejects them). The passive peer takes over only when
    BOTH hold: its peer has been silent for two heartbeat intervals AND a
    client request reaches it. A broken link between two live peers thus
    changes nothing by itself: clients that still reach the active peer
    keep it busy, and the passive one stays passive (docs/BSTAR.md has the
    guarantee and its limits).

        zmx_bstar_t *bstar = zmx_bstar_new (security, true,
            "tcp://10.0.0.1:5003", "tcp://10.0.0.2:5004");
        zmx_bstar_set_heartbeat (bstar, 100);
        //  for each client request the service receives:
        if (zmx_bstar_client_request (bstar) == 0)
            ;   //  serve it
        else
            ;   //  drop it: the client retries, then tries the other peer
        //  poll zmx_bstar_socket (bstar) for "ACTIVE" / "PASSIVE" / "FAILED"

    The class runs in its own actor; every call is a short round trip to it.

    Wire format (PUB -> SUB), one message per heartbeat and per state
    change, exactly two frames:

        frame 0   "ZMXBS1"          6 bytes, protocol and version
        frame 1   state             1 byte: 1 PRIMARY, 2 BACKUP,
                                    3 ACTIVE, 4 PASSIVE

    Anything else is logged, counted (malformed) and dropped.
    =========================================================================
*/
#ifndef ZMX_BSTAR_H_INCLUDED
#define ZMX_BSTAR_H_INCLUDED

#include <czmq.h>
#include "zmx_frame.h"
#include <stdint.h>
#include "zmx_security.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_BSTAR_PROTOCOL          "ZMXBS1"

//  Heartbeat interval, msec; the peer is presumed dead after
//  ZMX_BSTAR_EXPIRY_FACTOR intervals of silence.
#define ZMX_BSTAR_HEARTBEAT         1000
#define ZMX_BSTAR_HEARTBEAT_MIN     10
#define ZMX_BSTAR_HEARTBEAT_MAX     600000
#define ZMX_BSTAR_EXPIRY_FACTOR     2

//  Notifications on zmx_bstar_socket: one frame, or FAILED plus a reason.
#define ZMX_BSTAR_NOTIFY_ACTIVE     "ACTIVE"
#define ZMX_BSTAR_NOTIFY_PASSIVE    "PASSIVE"
#define ZMX_BSTAR_NOTIFY_FAILED     "FAILED"

//  States. The first four are the pattern's and travel on the wire.
//  FAILED is local only: the node saw a fatal conflict (dual active or
//  dual passive), stopped publishing and rejects every request, as the
//  pattern's server would exit. Recovery is an operator's restart.
typedef enum {
    ZMX_BSTAR_PRIMARY = 1,      //  Primary, waiting for the peer or a request
    ZMX_BSTAR_BACKUP = 2,       //  Backup, waiting for the peer
    ZMX_BSTAR_ACTIVE = 3,       //  Serving clients
    ZMX_BSTAR_PASSIVE = 4,      //  Standing by
    ZMX_BSTAR_FAILED = 5        //  Stopped after a fatal conflict
} zmx_bstar_state_t;

//  Events of the state machine.
typedef enum {
    ZMX_BSTAR_PEER_PRIMARY = 1, //  Peer says PRIMARY
    ZMX_BSTAR_PEER_BACKUP = 2,  //  Peer says BACKUP
    ZMX_BSTAR_PEER_ACTIVE = 3,  //  Peer says ACTIVE
    ZMX_BSTAR_PEER_PASSIVE = 4, //  Peer says PASSIVE
    ZMX_BSTAR_CLIENT_REQUEST = 5//  The application got a client request
} zmx_bstar_event_t;

//  What one step of the state machine decided.
typedef enum {
    ZMX_BSTAR_OK = 0,           //  Fine; for CLIENT_REQUEST: serve it
    ZMX_BSTAR_REJECT = 1,       //  CLIENT_REQUEST only: do not serve it
    ZMX_BSTAR_FATAL = 2         //  Dual active or dual passive: now FAILED
} zmx_bstar_verdict_t;

typedef struct _zmx_bstar_t zmx_bstar_t;

typedef struct {
    uint64_t state_changes;         //  FSM transitions, FAILED included
    uint64_t heartbeats_sent;       //  State messages published
    uint64_t heartbeats_received;   //  Valid state messages from the peer
    uint64_t malformed;             //  Incoming messages dropped as invalid
    uint64_t requests_accepted;     //  client_request calls answered 0
    uint64_t requests_rejected;     //  client_request calls answered -1
    uint64_t notifications_dropped; //  Notifications lost: nobody read them
} zmx_bstar_stats_t;

//  -------------------------------------------------------------------------
//  Object

//  Create a peer and start it in the PRIMARY or BACKUP state. It binds a
//  PUB socket to `local_endpoint` through zmx_security (security may be
//  NULL: none) and connects a SUB socket to `remote_endpoint`, the peer's
//  local endpoint. Returns NULL (reason logged) for an invalid endpoint
//  or a failed bind.
zmx_bstar_t *
    zmx_bstar_new (zmx_security_t *security, bool primary, const char *local_endpoint,
                   const char *remote_endpoint);

//  The same, with the SUB a CURVE client of the peer's PUB (for peers
//  whose zmx_security uses CURVE): see zmx_security_client_curve for the
//  last two arguments. Returns NULL (reason logged) if they are unusable.
zmx_bstar_t *
    zmx_bstar_new_curve (zmx_security_t *security, bool primary, const char *local_endpoint,
                         const char *remote_endpoint, const char *client_cert_path,
                         const char *server_key);

//  Stop publishing, close and free. Idempotent; nulls *self_p.
void
    zmx_bstar_destroy (zmx_bstar_t **self_p);

//  Heartbeat interval, ZMX_BSTAR_HEARTBEAT_MIN..ZMX_BSTAR_HEARTBEAT_MAX
//  msec (default ZMX_BSTAR_HEARTBEAT); takes effect at once, for the
//  peer expiry too. Both peers must use the same value. Returns ZMX_OK or
//  ZMX_EINVAL (unchanged).
int
    zmx_bstar_set_heartbeat (zmx_bstar_t *self, int msec);

//  Tell the state machine a client request arrived. Returns 0 if this
//  node may serve it (it is ACTIVE, or just became ACTIVE: a primary that
//  waited out the peer expiry since it started, or a passive peer whose
//  peer expired), -1 if the application must drop it (passive with a live
//  peer, backup without a peer, primary still waiting, or FAILED).
int
    zmx_bstar_client_request (zmx_bstar_t *self);

//  Current state.
zmx_bstar_state_t
    zmx_bstar_state (zmx_bstar_t *self);

//  True if the state is ACTIVE.
bool
    zmx_bstar_is_active (zmx_bstar_t *self);

//  The bound local endpoint, port resolved ("tcp://127.0.0.1:40123").
const char *
    zmx_bstar_endpoint (zmx_bstar_t *self);

//  Socket to poll for state-change notifications: ZMX_BSTAR_NOTIFY_ACTIVE
//  or ZMX_BSTAR_NOTIFY_PASSIVE (one frame), ZMX_BSTAR_NOTIFY_FAILED plus
//  a reason frame. About a thousand unread ones are kept (the CZMQ pipe
//  high-water mark); later ones are dropped and counted.
zsock_t *
    zmx_bstar_socket (zmx_bstar_t *self);

//  Fill *stats with the counters.
void
    zmx_bstar_stats (zmx_bstar_t *self, zmx_bstar_stats_t *stats);

//  -------------------------------------------------------------------------
//  Codec and state machine, usable without sockets (tests, fuzzing)

//  One frame to decode: the same type as zmx_frame_t (zmx_frame.h)
typedef zmx_frame_t zmx_bstar_frame_t;

//  Decode one state message: exactly two frames, the protocol frame, and
//  one byte holding PRIMARY..PASSIVE. Returns 0 with *state set, or -1
//  with *error set to a static reason. Never reads beyond the frames.
int
    zmx_bstar_decode (const zmx_bstar_frame_t *frames, size_t count,
                      zmx_bstar_state_t *state, const char **error);

//  Encode a state message for PRIMARY..PASSIVE (asserts on another
//  value). Caller owns the message.
zmsg_t *
    zmx_bstar_encode (zmx_bstar_state_t state);

//  One step: apply `event` to *state. `peer_expired` says whether the
//  peer has been silent for the expiry time (only CLIENT_REQUEST looks at
//  it). Returns the verdict; *reason (may be NULL) gets a static text for
//  a rejection, a fatal conflict or a misconfiguration, NULL otherwise.
zmx_bstar_verdict_t
    zmx_bstar_step (zmx_bstar_state_t *state, zmx_bstar_event_t event, bool peer_expired,
                    const char **reason);

//  Name of a state ("PRIMARY", ...), "?" if out of range.
const char *
    zmx_bstar_state_name (zmx_bstar_state_t state);

#ifdef __cplusplus
}
#endif
#endif
