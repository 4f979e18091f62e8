/*  =========================================================================
    zmx_resolver - logical names to endpoints: the clone store's "/names/"
    subtree, cached, with a local lookup file that overrides it

        zmx_resolver_t *resolver = zmx_resolver_new ();
        zmx_resolver_add_server (resolver, "tcp://127.0.0.1:5556");
        zmx_resolver_load_file (resolver, "/etc/zmx/names.zpl");
        zmx_resolver_wait_synced (resolver, 2000);
        char *endpoints = zmx_resolver_lookup (resolver, "echo");
        //  "tcp://10.0.0.1:5555,tcp://10.0.0.2:5555", or NULL
        free (endpoints);
        zmx_resolver_destroy (&resolver);

    Key layout (docs/NAMES.md): one key per registered endpoint,
        /names/NAME/ID = ENDPOINT
    where ID is the first 16 hex digits of the SHA-1 of the endpoint, so
    that several processes can register several endpoints under one name
    and the same endpoint registered twice is one key. A name's endpoints
    are the values of its keys, sorted and joined with ",".

    Lookup file (ZPL), for a host with no server or to pin names:
        names
            echo = "tcp://127.0.0.1:5555"
            db = "tcp://10.0.0.1:5432,tcp://10.0.0.2:5432"
    Precedence: a name in the file is answered from the file only (it
    overrides the central entries); other names come from the central
    store (the file completes it). The file is read again when its
    modification time changes (checked at most once a second).

    Cache: lookups of central names are answered from a cache, filled on
    the first lookup from the clone mirror and invalidated by the mirror's
    notifications; when notifications were lost the whole cache is
    dropped. A name unknown before the first snapshot is not cached.
    Each zmx_resolver_t must be used from one thread.
    =========================================================================
*/
#ifndef ZMX_RESOLVER_H_INCLUDED
#define ZMX_RESOLVER_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_RESOLVER_SUBTREE        "/names/"
#define ZMX_RESOLVER_SCHEME         "name:"     //  "name:NAME" endpoints
#define ZMX_RESOLVER_NAME_MAX       128         //  Characters in a name
#define ZMX_RESOLVER_ENDPOINTS_MAX  64          //  Endpoints kept per name
#define ZMX_RESOLVER_ID_SIZE        16          //  Hex digits of a key's ID
#define ZMX_RESOLVER_RELOAD_MSEC    1000        //  File mtime checks, at most
#define ZMX_RESOLVER_MAX_FILE_NAMES 100000      //  Names read from the file
#define ZMX_RESOLVER_CACHE_MAX      100000      //  Cached names; then flushed
#define ZMX_RESOLVER_CHANGES_MAX    10000       //  Pending change reports

//  Environment of zmx_resolver_resolve_endpoint
#define ZMX_RESOLVER_ENV_SERVICE    "ZMX_RESOLVER"      //  Local service
#define ZMX_RESOLVER_ENV_SERVER     "ZMX_CLONE"         //  Clone server
#define ZMX_RESOLVER_ENV_FILE       "ZMX_NAMES_FILE"    //  Lookup file
#define ZMX_RESOLVER_DEFAULT_SERVICE "ipc:///tmp/zmx-resolver"
#define ZMX_RESOLVER_DEFAULT_SERVER "tcp://127.0.0.1:5556"

typedef struct _zmx_resolver_t zmx_resolver_t;

//  A resolver with no server and no file (every name unknown).
zmx_resolver_t *
    zmx_resolver_new (void);

//  Stop and free. Idempotent; nulls *self_p.
void
    zmx_resolver_destroy (zmx_resolver_t **self_p);

//  Follow a clone server by its snapshot endpoint (zmx_clone_add_server);
//  call again for backup servers. ZMX_OK or ZMX_EINVAL.
int
    zmx_resolver_add_server (zmx_resolver_t *self, const char *snapshot_endpoint);

//  Timeouts of the clone client (zmx_clone_set_timeouts). ZMX_OK,
//  ZMX_EINVAL (also before the first zmx_resolver_add_server).
int
    zmx_resolver_set_timeouts (zmx_resolver_t *self, int stale_msec, int ack_msec);

//  Read the lookup file at `path` and keep following it. ZMX_OK, or
//  ZMX_ECONFIG (not ZPL, a bad name or endpoint: reason logged; the
//  previous file entries stay).
int
    zmx_resolver_load_file (zmx_resolver_t *self, const char *path);

//  Wait for the first snapshot of the names. ZMX_OK (at once without a
//  server) or ZMX_ETIMEDOUT.
int
    zmx_resolver_wait_synced (zmx_resolver_t *self, int timeout_msec);

//  The endpoints of `name` as a comma-separated list, or NULL if the name
//  is unknown or invalid. Caller frees.
char *
    zmx_resolver_lookup (zmx_resolver_t *self, const char *name);

//  `spec` itself if it does not start with "name:", else the endpoints of
//  the name after it (zmx_resolver_lookup). Caller frees; NULL if unknown.
char *
    zmx_resolver_resolve (zmx_resolver_t *self, const char *spec);

//  Every known name (file and central), sorted. Caller owns the list.
zlist_t *
    zmx_resolver_names (zmx_resolver_t *self);

//  Socket that becomes readable when names may have changed (NULL
//  without a server): then call zmx_resolver_changes.
zsock_t *
    zmx_resolver_socket (zmx_resolver_t *self);

//  Read what arrived (never blocks) and return the names whose endpoints
//  may have changed since the last call, sorted, or NULL if none. Caller
//  owns the list. Lookups also read arrivals, so call this after a
//  lookup too, not only when the socket is readable. After lost
//  notifications (or more than ZMX_RESOLVER_CHANGES_MAX changes) the list
//  holds every known name.
zlist_t *
    zmx_resolver_changes (zmx_resolver_t *self);

//  Cache statistics
typedef struct {
    uint64_t lookups;           //  zmx_resolver_lookup calls
    uint64_t file_hits;         //  Answered from the lookup file
    uint64_t cache_hits;        //  Answered from the cache
    uint64_t cache_misses;      //  Read from the mirror
    uint64_t invalidations;     //  Cache entries dropped by updates
    uint64_t flushes;           //  Whole cache dropped
    uint64_t file_loads;        //  Lookup file (re)loaded
} zmx_resolver_stats_t;

void
    zmx_resolver_stats (zmx_resolver_t *self, zmx_resolver_stats_t *stats);

//  -------------------------------------------------------------------------
//  Key layout helpers

//  True if `name` is a valid logical name: 1..ZMX_RESOLVER_NAME_MAX of
//  letters, digits, '.', '-' and '_'.
bool
    zmx_resolver_name_valid (const char *name);

//  The key registering `endpoint` under `name`: "/names/NAME/ID". NULL if
//  the name or the endpoint is invalid. Caller frees.
char *
    zmx_resolver_name_key (const char *name, const char *endpoint);

//  -------------------------------------------------------------------------
//  "name:NAME" for any program: resolve `spec` through, in turn, the local
//  resolver service ($ZMX_RESOLVER, default ZMX_RESOLVER_DEFAULT_SERVICE;
//  skipped at once when its ipc socket file is missing), then a resolver
//  made for the call from the lookup file $ZMX_NAMES_FILE (if set) and the
//  clone server $ZMX_CLONE (default ZMX_RESOLVER_DEFAULT_SERVER; "" for
//  none). A spec without "name:" is returned as it is. On ZMX_OK
//  *endpoints_p gets the list (caller frees). Returns ZMX_EINVAL (bad
//  name), ZMX_EADDR (name unknown), ZMX_ETIMEDOUT (no source answered
//  within timeout_msec).
int
    zmx_resolver_resolve_endpoint (const char *spec, int timeout_msec, char **endpoints_p);

//  -------------------------------------------------------------------------
//  The resolver service's request-reply protocol (docs/PROTOCOLS.md,
//  "ZMXNS"). A REQ (or DEALER sending an empty delimiter) asks:
//      "ZMXNS1", "LOOKUP", NAME
//  and the ROUTER answers:
//      "ZMXNS1", STATUS, ENDPOINTS
//  STATUS is "OK" (ENDPOINTS: comma-separated list), "UNKNOWN", "INVALID"
//  (bad request) or "UNSYNCED" (no snapshot yet and not in the file: ask
//  again later); ENDPOINTS is empty but for "OK".

#define ZMX_RESOLVER_PROTOCOL       "ZMXNS1"
#define ZMX_RESOLVER_LOOKUP         "LOOKUP"
#define ZMX_RESOLVER_OK             "OK"
#define ZMX_RESOLVER_UNKNOWN        "UNKNOWN"
#define ZMX_RESOLVER_INVALID        "INVALID"
#define ZMX_RESOLVER_UNSYNCED       "UNSYNCED"
#define ZMX_RESOLVER_REPLY_MAX      65536   //  Bytes in an ENDPOINTS frame

typedef enum {
    ZMX_RESOLVER_STATUS_OK = 0,
    ZMX_RESOLVER_STATUS_UNKNOWN = 1,
    ZMX_RESOLVER_STATUS_INVALID = 2,
    ZMX_RESOLVER_STATUS_UNSYNCED = 3
} zmx_resolver_status_t;

//  Decode a request (frames after the delimiter). Returns 0 with the name
//  copied into `name` (ZMX_RESOLVER_NAME_MAX + 1 bytes), or -1 with
//  *error (may be NULL) set to a static reason.
int
    zmx_resolver_request_decode (zmsg_t *msg, char *name, const char **error);

//  Decode a reply. Returns 0 with *status set and, for OK, *endpoints_p
//  (may be NULL) a copy of the list (caller frees); -1 with *error set.
int
    zmx_resolver_reply_decode (zmsg_t *msg, zmx_resolver_status_t *status,
                               char **endpoints_p, const char **error);

//  The service actor (zmx_service.h); config section "resolver":
//      endpoint = "ipc:///tmp/zmx-resolver"   ROUTER, comma-separated list
//      servers = "tcp://127.0.0.1:5556"      clone servers; "" = none
//      file = ""                              lookup file; "" = none
//      stale-timeout = 3000                   clone server silence, msec
void
    zmx_resolver_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
