/*  =========================================================================
    zmx_clone - client of the clone service: a local mirror of one subtree
    of a 12/CHP key-value store, kept up to date, and writes to it

        zmx_clone_t *clone = zmx_clone_new ("/config/");
        zmx_clone_add_server (clone, "tcp://10.0.0.1:5556");  //  primary
        zmx_clone_add_server (clone, "tcp://10.0.0.2:5556");  //  backup
        if (zmx_clone_wait_synced (clone, 5000) == ZMX_OK) {
            size_t size;
            char *value = zmx_clone_get (clone, "/config/db/host", &size);
            zmx_clone_set (clone, "/config/db/port", "5432", 4, 0, 2000);
            free (value);
        }
        zmx_clone_destroy (&clone);

    How the mirror stays exact
    - The client subscribes to the server's publisher, then asks for a
      snapshot (ICANHAZ?) at once. Updates that arrive meanwhile are
      queued; on KTHXBAI those above the snapshot's sequence are applied
      in order. The server answers each new subscription with a HUGZ
      carrying its sequence: one above the mirror's shows an update that
      passed before the subscription took effect, and the client takes a
      new snapshot. Writes are sent once the subscription has heard.
    - It subscribes to every update (not only its subtree) and keeps only
      keys of its subtree: every sequence number passes by, so a missing
      one (a jump in KVPUB, or a HUGZ ahead of the last applied update)
      proves that updates were lost, and the client takes a new snapshot.
      A HUGZ behind it means the server went back (restarted without its
      data): a new snapshot too.
    - A server that sends nothing (no HUGZ) for the timeout, or does not
      answer ICANHAZ? within it, is stale: the client moves to the next
      server in its list and resynchronises.
    - The servers of the list are meant to be one store (a Binary Star
      pair, see zmx_clone_server.h): every update is sent to each of them
      whose collector is connected, so that the passive one can hold it in
      case it takes over. Acknowledgements come from the current server.

    How `set` knows its update was accepted
    CHP has no reply on the collector. Each KVSET carries a UUID made of a
    random per-client prefix and a counter; the server publishes accepted
    updates with their UUID. An update is acknowledged when the client
    sees its UUID come back on the publisher (the server publishes only
    what it has logged, and with fsync = always only what is on disk).
    Updates reach the server in order, so seeing UUID n also proves that
    the unacknowledged ones before it were refused (limits, bad ttl). An
    update not seen within the ack timeout has failed: it may or may not
    have been applied (a crash between accept and publish), like any
    timed-out request. Updates are sent only while the collector
    connection is up and subscribed, and never sent twice.

    Bounds
    - A value larger than the client's max-value-size (default that of
      the server, ZMX_CLONE_VALUE_MAX) is refused by zmx_clone_send at
      once: the server would drop it without a word.
    - At most max-in-flight updates are unacknowledged; further
      zmx_clone_send calls block until acks or failures make room.
    - At most ZMX_CLONE_MAX_QUEUED updates are queued while a snapshot is
      read; past that the queue is dropped and a new snapshot is taken.
    - The mirror, and a snapshot being read, hold at most max-keys keys
      (zmx_clone_set_max_keys, default ZMX_CLONE_MIRROR_MAX): a key that
      would be one more is left out, counted (keys_dropped) and logged;
      the mirror is then incomplete. Updates of keys it holds, and
      deletions, still apply.
    - Notifications wait in a queue of ZMX_CLONE_NOTIFY_HWM messages;
      beyond that they are dropped and counted (notifications_dropped).

    Notifications (after zmx_clone_watch (clone, true)), on
    zmx_clone_socket:
        "UPDATE" key value sequence     a key changed (empty value:
                                        deleted); sequence in decimal
        "SYNCED" sequence               a snapshot was applied; the
                                        UPDATEs before it are the changes
                                        it brought
    Each zmx_clone_t must be used from one thread.
    =========================================================================
*/
#ifndef ZMX_CLONE_H_INCLUDED
#define ZMX_CLONE_H_INCLUDED

#include <czmq.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_CLONE_TIMEOUT           3000    //  msec of server silence = stale
#define ZMX_CLONE_ACK_TIMEOUT       5000    //  msec to see an update published
#define ZMX_CLONE_MAX_IN_FLIGHT     10000   //  unacknowledged updates
#define ZMX_CLONE_MAX_QUEUED        1000000 //  updates queued during a snapshot
#define ZMX_CLONE_NOTIFY_HWM        100000  //  notifications waiting to be read
#define ZMX_CLONE_MAX_SERVERS       8
#define ZMX_CLONE_MIRROR_MAX        10000000    //  keys in the mirror (and a snapshot)
#define ZMX_CLONE_VALUE_MAX         65536   //  bytes; the server's default max-value-size

#define ZMX_CLONE_NOTIFY_UPDATE     "UPDATE"
#define ZMX_CLONE_NOTIFY_SYNCED     "SYNCED"

typedef struct _zmx_clone_t zmx_clone_t;

typedef struct {
    uint64_t sequence;              //  Last sequence applied
    uint64_t keys;                  //  Keys in the mirror
    uint64_t snapshots;             //  Snapshots applied
    uint64_t gaps;                  //  Resyncs after a sequence jump
    uint64_t regressions;           //  Resyncs after a server went back
    uint64_t failovers;             //  Moves to another (or the same) server
    uint64_t updates_applied;       //  KVPUBs applied to the mirror
    uint64_t sent;                  //  KVSETs sent
    uint64_t acknowledged;          //  Seen published
    uint64_t failed;                //  Refused or timed out
    uint64_t malformed;             //  Messages dropped as invalid
    uint64_t queue_overflows;       //  Snapshot queues dropped
    uint64_t notifications_dropped; //  Notifications nobody read
    uint64_t keys_dropped;          //  New keys left out: the mirror was full
    int server;                     //  Index of the current server, -1: none
} zmx_clone_stats_t;

//  Create a client mirroring `subtree` ("" for the whole store, else
//  "/a/" or "/a/b/"...). Returns NULL if the subtree is not valid CHP.
//  Nothing is connected until zmx_clone_add_server.
zmx_clone_t *
    zmx_clone_new (const char *subtree);

//  Stop and free; unacknowledged updates are abandoned. Nulls *self_p.
//  With max-in-flight updates unacknowledged, this (like every call)
//  waits until acknowledgements or the ack timeout make room.
void
    zmx_clone_destroy (zmx_clone_t **self_p);

//  Timeouts in msec: server silence before failover (>= 10; use a few
//  server heartbeat intervals), and the wait for an update's publication
//  (>= 10). Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_clone_set_timeouts (zmx_clone_t *self, int stale_msec, int ack_msec);

//  Unacknowledged updates allowed at once, 1..1000000. ZMX_OK/ZMX_EINVAL.
int
    zmx_clone_set_max_in_flight (zmx_clone_t *self, int max);

//  Keys the mirror holds at most, 1..1000000000 (default
//  ZMX_CLONE_MIRROR_MAX); see Bounds above. ZMX_OK or ZMX_EINVAL.
int
    zmx_clone_set_max_keys (zmx_clone_t *self, size_t max);

//  Largest value zmx_clone_send accepts, in bytes (1..4294967295; default
//  ZMX_CLONE_VALUE_MAX). Set it to the server's max-value-size when that
//  was changed. ZMX_OK or ZMX_EINVAL.
int
    zmx_clone_set_max_value_size (zmx_clone_t *self, size_t max);

//  The largest value zmx_clone_send accepts.
size_t
    zmx_clone_max_value_size (zmx_clone_t *self);

//  Connect every socket as a CURVE client (see zmx_security_client_curve);
//  call before the first zmx_clone_add_server. ZMX_OK, or ZMX_ESECURITY
//  (unusable key or certificate, or a server was added already).
int
    zmx_clone_set_curve (zmx_clone_t *self, const char *client_cert_path,
                         const char *server_key);

//  Add a server by its snapshot endpoint "tcp://host:P"; its publisher
//  and collector are P + 1 and P + 2, as CHP lays them out. The first
//  server added is used first; the others are tried in turn when the
//  current one goes stale. "name:NAME" adds every snapshot endpoint the
//  name lists, looked up once, here, in the local resolver service or the
//  lookup file ($ZMX_NAMES_FILE), never in a clone store. ZMX_OK, or
//  ZMX_EINVAL (not tcp with a port, or ZMX_CLONE_MAX_SERVERS reached),
//  ZMX_EADDR (no such name there), or the resolver service's error.
int
    zmx_clone_add_server (zmx_clone_t *self, const char *snapshot_endpoint);

//  The same with the three endpoints given. ZMX_OK or ZMX_EINVAL.
int
    zmx_clone_add_server_endpoints (zmx_clone_t *self, const char *snapshot,
                                    const char *publisher, const char *collector);

//  Wait until the mirror holds a complete snapshot. ZMX_OK, or
//  ZMX_ETIMEDOUT.
int
    zmx_clone_wait_synced (zmx_clone_t *self, int timeout_msec);

//  Send an update without waiting: `size` bytes of `value` for `key`
//  (size 0 deletes the key), ephemeral for `ttl` seconds if > 0. The key
//  must be valid CHP; it may lie outside the subtree. Blocks only while
//  max-in-flight updates are unacknowledged. ZMX_OK, ZMX_EINVAL (key, ttl
//  or arguments), or ZMX_ENOMEM (value over the max-value-size).
int
    zmx_clone_send (zmx_clone_t *self, const char *key, const void *value, size_t size,
                    int ttl);

//  Wait until every update sent so far is acknowledged or has failed,
//  and the mirror holds the acknowledged ones (an update acknowledged
//  while a snapshot is read is applied when the snapshot ends; if that
//  takes past the timeout, the acknowledgements alone decide, and a get
//  may briefly miss the update). So a get after a successful set sees
//  it. Returns ZMX_OK if none failed since the last flush; if some did
//  (*failed, may be NULL, gets how many) or the wait itself reached
//  timeout_msec (then *failed counts only those known so far), the most
//  telling reason: ZMX_ENOMEM if the server refused one (known when a
//  later update of ours was published: it takes them in order; refusals
//  are its limits, e.g. max-keys or max-bytes), ZMX_EADDR if one never
//  left because the server's collector or publisher was not connected,
//  else ZMX_ETIMEDOUT (sent, not seen published: refused or lost, the
//  outcome is unknown).
int
    zmx_clone_flush (zmx_clone_t *self, int timeout_msec, size_t *failed);

//  zmx_clone_send then zmx_clone_flush: ZMX_OK once the update is seen
//  published, or the error of either (ZMX_EINVAL, ZMX_ENOMEM, ZMX_EADDR,
//  ZMX_ETIMEDOUT).
int
    zmx_clone_set (zmx_clone_t *self, const char *key, const void *value, size_t size,
                   int ttl, int timeout_msec);

//  Delete `key` and wait for the acknowledgement, as zmx_clone_set.
int
    zmx_clone_delete (zmx_clone_t *self, const char *key, int timeout_msec);

//  A copy of the mirrored value of `key` (with a terminating NUL not
//  counted in *size, which may be NULL), or NULL if the mirror has no such
//  key. *sequence (may be NULL) gets the sequence of its update. Caller
//  frees.
char *
    zmx_clone_get (zmx_clone_t *self, const char *key, size_t *size, uint64_t *sequence);

//  The mirrored keys starting with `prefix` ("" or NULL: all), sorted.
//  Caller owns the list (autofree strings).
zlist_t *
    zmx_clone_keys (zmx_clone_t *self, const char *prefix);

//  Turn notifications on zmx_clone_socket on or off (default off).
void
    zmx_clone_watch (zmx_clone_t *self, bool on);

//  Socket to poll for notifications (see above).
zsock_t *
    zmx_clone_socket (zmx_clone_t *self);

//  Fill *stats.
void
    zmx_clone_stats (zmx_clone_t *self, zmx_clone_stats_t *stats);

#ifdef __cplusplus
}
#endif
#endif
