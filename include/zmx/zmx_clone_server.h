/*  =========================================================================
    zmx_clone_server - the "clone" service: a key-value store shared by
    12/CHP (Clustered Hashmap Protocol)

    A zmx service actor (see zmx_service.h). Start it with
        zmx_service_new ("clone", zmx_clone_server_actor, config, security)
    or let zmxd start it from the "clone" section of its config:

        clone
            endpoint = "tcp://127.0.0.1:5556"  #  ROUTER: ICANHAZ?
            publisher-endpoint = "tcp://127.0.0.1:5557" #  XPUB: KVPUB, HUGZ
            collector-endpoint = "tcp://127.0.0.1:5558" #  SUB: KVSET
            collector-pull-endpoint = ""    #  PULL: KVSET from PUSH clients
            kvsimple-snapshot-endpoint = "" #  the Guide's clonecli4 (kvsimple
            kvsimple-publisher-endpoint = ""#  frames): ROUTER, XPUB, PULL;
            kvsimple-collector-endpoint = ""#  all three or none
            heartbeat-interval = 1000       #  msec between HUGZ
            max-keys = 1000000              #  keys held at once
            max-value-size = 65536          #  bytes in one value
            max-bytes = 1073741824          #  keys + values, all together
            data-directory = ""             #  "" keeps the store in memory
            fsync = "always"                #  always | periodic | never
            compact-bytes = 67108864        #  log size that starts compaction
            publish-hwm = 100000            #  updates queued per subscriber
            max-snapshots = 64              #  snapshots being sent at once
            bstar                           #  optional: run as half of a pair
                primary = 1                 #  1 primary, 0 backup
                local = "tcp://127.0.0.1:5003"      #  this peer's state PUB
                remote = "tcp://127.0.0.1:5004"     #  the other peer's
                peer-endpoint = "tcp://127.0.0.1:5566"  #  its snapshot port
                peer-publisher = "tcp://127.0.0.1:5567" #  its publisher
                heartbeat = 1000            #  Binary Star heartbeat, msec
                max-pending = 100000        #  client updates held while passive
                client-certificate = "pair.cert"    #  with CURVE on: our client
                server-key = "server.cert"          #  keys towards the peer

    Behaviour
    - Every accepted KVSET gets the next sequence number and is published
      as KVPUB with the sender's key, uuid, properties and value. An empty
      value deletes the key (and is published even if the key was absent,
      so that its sender sees it accepted).
    - "ttl=N" in the properties makes the key ephemeral: N seconds after
      the update the server deletes it and publishes the deletion.
    - ICANHAZ? gets every key of the subtree as KVSYNC, then KTHXBAI with
      the sequence the snapshot was taken at. Snapshots are streamed
      without blocking the service: a slow reader does not stall others.
    - HUGZ every heartbeat-interval carries the current sequence.
    - With a data directory, every update is appended to a log before it
      is published; with fsync = always the log is on disk before the
      update is published, so an update a client saw published survives a
      crash. The log is compacted into a snapshot file when it grows past
      compact-bytes. A restarted server continues the sequence.
    - Refused: invalid frames (malformed), a value over max-value-size or
      a new key beyond max-keys or max-bytes (rejected). Refused updates
      are counted and logged, never published: their sender's wait for the
      publication times out.
    - A subscriber that reads too slowly misses updates once publish-hwm
      of them wait for it (PUB drops); it sees the jump in sequence and
      takes a new snapshot.
    - kvsimple front end (optional): the Guide's Clone Model Four format,
      [key][sequence][body]. Updates on its collector are checked (3
      frames, 8-byte sequence, valid key, body within max-value-size;
      else dropped and counted as kvsimple_malformed) and take the KVSET
      path; every publication also goes out on its publisher; its
      snapshot port answers ICANHAZ? + subtree with the subtree's keys,
      then KTHXBAI with the sequence and the subtree as body.

    Pair (bstar section): two servers under zmx_bstar, one active. The
    passive one mirrors the active one (its snapshot, then its publisher,
    sequence numbers and all, logged as its own) and holds the updates
    clients send it (zmx_clone sends every update to every server it
    knows) until it sees them published by the active one. A snapshot
    request is the Binary Star vote: a passive server whose peer has been
    silent takes over on one, applies the held updates it never saw
    published, and serves. Every update the old active server published
    reached the new one by one of the two ways, unless both failed.

    Pipe commands beyond zmx_service's: none.
    =========================================================================
*/
#ifndef ZMX_CLONE_SERVER_H_INCLUDED
#define ZMX_CLONE_SERVER_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_CLONE_SNAPSHOT_ENDPOINT     "tcp://127.0.0.1:5556"
#define ZMX_CLONE_PUBLISHER_ENDPOINT    "tcp://127.0.0.1:5557"
#define ZMX_CLONE_COLLECTOR_ENDPOINT    "tcp://127.0.0.1:5558"
#define ZMX_CLONE_HEARTBEAT_INTERVAL    1000
#define ZMX_CLONE_MAX_KEYS              1000000
#define ZMX_CLONE_MAX_VALUE_SIZE        65536
#define ZMX_CLONE_MAX_BYTES             1073741824
#define ZMX_CLONE_COMPACT_BYTES         67108864
#define ZMX_CLONE_PUBLISH_HWM           100000
#define ZMX_CLONE_MAX_SNAPSHOTS         64
#define ZMX_CLONE_MAX_PENDING           100000

//  The service actor; args is a zmx_service_args_t.
void
    zmx_clone_server_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
