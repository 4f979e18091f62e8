/*  =========================================================================
    zmx_broker - Majordomo broker (7/MDP and 18/MDP on one socket, 8/MMI)

    A zmx service actor (see zmx_service.h). Start it with
        zmx_service_new ("broker", zmx_broker_actor, config, security)
    or let zmxd start it from the "broker" section of its config:

        broker
            endpoint = "tcp://127.0.0.1:5555"  #  comma-separated list to bind
            heartbeat-interval = 2500          #  msec between heartbeats
            heartbeat-liveness = 3             #  missed heartbeats = dead
            queue-limit = 100000               #  queued requests per service
            queue-bytes = 268435456            #  queued request bytes, all services
            request-timeout = 30000            #  msec a queued request may wait
            max-frame-size = 16777216          #  bytes; larger messages cut the peer
            max-services = 10000               #  distinct service names kept
            max-workers = 100000               #  workers registered at once
            peers = ""                         #  federation: peer brokers (see
            federation-interval = 1000         #  docs/FEDERATION.md); off while
            federation-liveness = 3            #  peers is empty
            hop-limit = 8
            max-peers = 32
            forward-limit = 10000

    Overflow policy: a request that would exceed queue-limit, queue-bytes or
    max-services is dropped on arrival (newest dropped, counted as
    "dropped_overflow", logged at most once a second); the client's own
    timeout and retry covers it. A queued request older than
    request-timeout is dropped and logged ("dropped_expired").

    Counters (COUNTERS command): requests, replies, partials, dropped_overflow,
    dropped_expired, dropped_unroutable, malformed, disconnects_sent,
    workers, workers_expired, services, queued, queued_bytes, mmi.

    With federation on, also the fed_* counters listed in docs/FEDERATION.md.

    Binary Star pair (off unless the section is present; docs/BSTAR.md,
    "Broker pair"): a "bstar" section below "broker" with role = primary or
    backup, local = this broker's state endpoint, peer = the other's, and
    heartbeat = msec (client-certificate and peer-key with CURVE). A broker
    that is not active drops client requests, MMI included, unanswered.
    Counters then also: bstar_state, bstar_dropped, bstar_state_changes,
    bstar_malformed.

    Extension: "mmi.services" lists "<workers> <queued> <name>" per
    service: one frame per service while they fit in an MDP message (at
    most ZMX_MMI_SERVICES_FRAMES), else, or when the request's body is
    ZMX_MMI_SERVICES_LIST, one frame of newline-ended lines
    (docs/PROTOCOLS.md).
    =========================================================================
*/
#ifndef ZMX_BROKER_H_INCLUDED
#define ZMX_BROKER_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_BROKER_DEFAULT_ENDPOINT   "tcp://127.0.0.1:5555"
#define ZMX_HEARTBEAT_INTERVAL        2500
#define ZMX_HEARTBEAT_LIVENESS        3
#define ZMX_BROKER_QUEUE_LIMIT        100000
#define ZMX_BROKER_QUEUE_BYTES        (256 * 1024 * 1024)
#define ZMX_BROKER_REQUEST_TIMEOUT    30000
#define ZMX_BROKER_MAX_FRAME_SIZE     (16 * 1024 * 1024)
#define ZMX_BROKER_MAX_SERVICES       10000
#define ZMX_BROKER_MAX_WORKERS        100000

//  The broker's actor function; args is a zmx_service_args_t *.
void
    zmx_broker_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
