/*  =========================================================================
    zmx_titanic - durable requests over Majordomo (9/TSP, Titanic)

    The titanic service is a worker on a Majordomo broker for the three TSP
    services, and a client of the same broker for the real services:

        titanic.request   [service, body...]  -> ["200", uuid] | ["500"]
        titanic.reply     [uuid]   -> ["200", reply...] | ["300"] | ["400"]
        titanic.close     [uuid]   -> ["200"]

    A malformed body gets ["400"]; "500" means full (max-pending,
    max-stored) or a storage error: retry later.

    A request is written to disk and flushed (fsync) before its UUID goes
    back; it is then sent to its service, again after a restart if no reply
    was stored, until a reply comes. The first reply is kept until
    titanic.close (or the retention time); a second one is a duplicate and
    is dropped. Status frames are the bare three digits, as the reference
    clients compare them. See docs/TITANIC.md.

    Config keys (zmxd section "titanic"; defaults below):
        endpoint            broker to connect to (the local broker)
        directory           where requests and replies live
        fsync               1 = flush each file and the directory, 0 = no
        max-pending         requests waiting for a reply; more get "500"
        max-stored          requests held in all (pending + replied); more
                            get "500"
        max-in-flight       requests sent to services at once
        dispatch-timeout    msec to wait for a service's reply
        retry-interval      msec before a request is sent again
        reply-retention     seconds a reply is kept if never closed (0 =
                            until closed)
        heartbeat-interval, heartbeat-liveness   as the broker's
        max-message-size    largest request body accepted, bytes
        curve-certificate, server-key            CURVE towards the broker

    Counters (COUNTERS): pending, stored, in_flight, requests, refused,
    malformed, replies_stored, replies_duplicate, replies_orphaned,
    replies_fetched, closed, dispatched, dispatch_timeouts,
    service_missing, expired, recovered, store_errors.
    =========================================================================
*/
#ifndef ZMX_TITANIC_H_INCLUDED
#define ZMX_TITANIC_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  The TSP services (9/TSP)
#define ZMX_TITANIC_REQUEST             "titanic.request"
#define ZMX_TITANIC_REPLY               "titanic.reply"
#define ZMX_TITANIC_CLOSE               "titanic.close"

//  TSP status codes (the first frame of every answer)
#define ZMX_TITANIC_OK                  "200"
#define ZMX_TITANIC_PENDING             "300"
#define ZMX_TITANIC_UNKNOWN             "400"
#define ZMX_TITANIC_ERROR               "500"

//  A UUID is 32 hexadecimal characters
#define ZMX_TITANIC_UUID_SIZE           32

//  Defaults of the config keys
#define ZMX_TITANIC_DEFAULT_ENDPOINT    "tcp://127.0.0.1:5555"
#define ZMX_TITANIC_DEFAULT_DIRECTORY   "zmxd-data/titanic"
#define ZMX_TITANIC_FSYNC               1
#define ZMX_TITANIC_MAX_PENDING         100000
#define ZMX_TITANIC_MAX_STORED          200000
#define ZMX_TITANIC_MAX_IN_FLIGHT       32
#define ZMX_TITANIC_DISPATCH_TIMEOUT    10000
#define ZMX_TITANIC_RETRY_INTERVAL      1000
#define ZMX_TITANIC_REPLY_RETENTION     604800
#define ZMX_TITANIC_MAX_MESSAGE_SIZE    (16 * 1024 * 1024)

//  The titanic service's actor function; args is a zmx_service_args_t *.
void
    zmx_titanic_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
