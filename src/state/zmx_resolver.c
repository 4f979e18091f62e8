/*  =========================================================================
    zmx_resolver - logical names to endpoints (see include/zmx/zmx_resolver.h)

    Design notes
    - The central names are a zmx_clone mirror of "/names/". A lookup that
      misses the cache reads the name's keys from the mirror (two round
      trips to the clone agent) and caches the sorted list; a hit costs a
      hash lookup plus a non-blocking check of the notification socket.
    - Notifications from the mirror name the keys that changed; each one
      drops the cache entry of its name and records the name as changed
      for zmx_resolver_changes. If the clone client had to drop
      notifications, nothing tells which names moved: the cache is
      flushed and every name reported.
    - The lookup file is parsed into its own table; a name found there is
      never looked up centrally.
    =========================================================================
*/
#include "zmx_state_internal.h"
#include <ctype.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_COMPONENT     "resolver"

struct _zmx_resolver_t {
    zmx_clone_t *clone;         //  Mirror of /names/, or NULL
    bool synced;                //  A snapshot was seen
    zhash_t *cache;             //  name -> endpoints ("" = unknown)
    zhash_t *file_names;        //  name -> endpoints, from the file
    char *file_path;            //  Lookup file, or NULL
    int64_t file_mtime;         //  Its mtime at the last load, nsec
    int64_t file_checked;       //  When mtime was last checked, msec
    zhash_t *changes;           //  Names changed since zmx_resolver_changes
    bool all_changed;           //  Changes overflowed or were lost
    uint64_t dropped_seen;      //  notifications_dropped already handled
    zmx_resolver_stats_t stats;
};

//  -------------------------------------------------------------------------
//  Key layout

//  The name of a key "/names/NAME/ID" into `name`; false if it has
//  another shape.
static bool
s_key_name (const char *key, char *name)
{
    size_t prefix = strlen (ZMX_RESOLVER_SUBTREE);
    if (strncmp (key, ZMX_RESOLVER_SUBTREE, prefix) != 0)
        return false;
    const char *slash = strchr (key + prefix, '/');
    size_t size = slash? (size_t) (slash - key - prefix): 0;
    if (size == 0 || size > ZMX_RESOLVER_NAME_MAX)
        return false;
    memcpy (name, key + prefix, size);
    name [size] = 0;
    return zmx_resolver_name_valid (name);
}

//  -------------------------------------------------------------------------
//  Endpoint lists

//  -------------------------------------------------------------------------
//  Life cycle

zmx_resolver_t *
zmx_resolver_new (void)
{
    zmx_resolver_t *self = (zmx_resolver_t *) zmalloc (sizeof (zmx_resolver_t));
    self->cache = zhash_new ();
    zhash_autofree (self->cache);
    self->file_names = zhash_new ();
    zhash_autofree (self->file_names);
    self->changes = zhash_new ();
    zhash_autofree (self->changes);
    return self;
}

void
zmx_resolver_destroy (zmx_resolver_t **self_p)
{
    assert (self_p);
    zmx_resolver_t *self = *self_p;
    if (self) {
        zmx_clone_destroy (&self->clone);
        zhash_destroy (&self->cache);
        zhash_destroy (&self->file_names);
        zhash_destroy (&self->changes);
        free (self->file_path);
        free (self);
        *self_p = NULL;
    }
}

int
zmx_resolver_add_server (zmx_resolver_t *self, const char *snapshot_endpoint)
{
    assert (self);
    if (!snapshot_endpoint)
        return ZMX_EINVAL;
    if (!self->clone) {
        self->clone = zmx_clone_new (ZMX_RESOLVER_SUBTREE);
        if (!self->clone)
            return ZMX_EINVAL;
        zmx_clone_watch (self->clone, true);
    }
    return zmx_clone_add_server (self->clone, snapshot_endpoint);
}

int
zmx_resolver_set_timeouts (zmx_resolver_t *self, int stale_msec, int ack_msec)
{
    assert (self);
    return self->clone? zmx_clone_set_timeouts (self->clone, stale_msec, ack_msec): ZMX_EINVAL;
}

int
zmx_resolver_wait_synced (zmx_resolver_t *self, int timeout_msec)
{
    assert (self);
    if (!self->clone || self->synced)
        return ZMX_OK;
    int rc = zmx_clone_wait_synced (self->clone, timeout_msec);
    if (rc == ZMX_OK)
        self->synced = true;
    return rc;
}

//  -------------------------------------------------------------------------
//  Change tracking

//  Empty a table (CZMQ's zhash has no purge).
static void
s_hash_clear (zhash_t **hash_p)
{
    zhash_destroy (hash_p);
    *hash_p = zhash_new ();
    zhash_autofree (*hash_p);
}

static void
s_changed (zmx_resolver_t *self, const char *name)
{
    if (zhash_size (self->changes) >= ZMX_RESOLVER_CHANGES_MAX)
        self->all_changed = true;
    else
        zhash_update (self->changes, name, (void *) "");
}

//  Apply one notification from the mirror.
static void
s_notification (zmx_resolver_t *self, zmsg_t *msg)
{
    char *kind = zmsg_popstr (msg);
    char *key = kind && streq (kind, ZMX_CLONE_NOTIFY_UPDATE)? zmsg_popstr (msg): NULL;
    char name [ZMX_RESOLVER_NAME_MAX + 1];
    if (kind && streq (kind, ZMX_CLONE_NOTIFY_SYNCED))
        self->synced = true;
    else
    if (key && s_key_name (key, name)) {
        if (zhash_lookup (self->cache, name)) {
            zhash_delete (self->cache, name);
            self->stats.invalidations++;
        }
        if (!zhash_lookup (self->file_names, name))
            s_changed (self, name);
    }
    zstr_free (&kind);
    zstr_free (&key);
}

//  Read every notification waiting; if the clone client lost some, drop
//  the whole cache.
static void
s_drain (zmx_resolver_t *self)
{
    if (!self->clone)
        return;
    zsock_t *socket = zmx_clone_socket (self->clone);
    bool any = false;
    while (zsock_events (socket) & ZMQ_POLLIN) {
        zmsg_t *msg = zmsg_recv (socket);
        if (!msg)
            break;
        s_notification (self, msg);
        zmsg_destroy (&msg);
        any = true;
    }
    if (!any)
        return;
    zmx_clone_stats_t stats;
    zmx_clone_stats (self->clone, &stats);
    if (stats.notifications_dropped != self->dropped_seen) {
        self->dropped_seen = stats.notifications_dropped;
        s_hash_clear (&self->cache);
        self->stats.flushes++;
        self->all_changed = true;
    }
}

//  -------------------------------------------------------------------------
//  Lookup file

static int64_t
s_file_mtime (const char *path)
{
    struct stat info;
    if (stat (path, &info))
        return -1;
    return (int64_t) info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec;
}

//  Replace the file table, reporting the names whose entries differ.
static void
s_file_swap (zmx_resolver_t *self, zhash_t *names)
{
    for (const char *value = (const char *) zhash_first (self->file_names); value;
         value = (const char *) zhash_next (self->file_names)) {
        const char *name = zhash_cursor (self->file_names);
        const char *other = (const char *) zhash_lookup (names, name);
        if (!other || !streq (other, value))
            s_changed (self, name);
    }
    for (const char *value = (const char *) zhash_first (names); value;
         value = (const char *) zhash_next (names))
        if (!zhash_lookup (self->file_names, zhash_cursor (names)))
            s_changed (self, zhash_cursor (names));
    zhash_destroy (&self->file_names);
    self->file_names = names;
    self->stats.file_loads++;
}

int
zmx_resolver_load_file (zmx_resolver_t *self, const char *path)
{
    assert (self);
    if (!path)
        return ZMX_EINVAL;
    int64_t mtime = s_file_mtime (path);
    zhash_t *names = mtime >= 0? zmx__names_file_parse (path): NULL;
    if (!names) {
        if (mtime < 0)
            zmx_log_error (S_COMPONENT, "lookup file '%s' not found", path);
        return ZMX_ECONFIG;
    }
    s_file_swap (self, names);
    if (self->file_path != path) {
        free (self->file_path);
        self->file_path = strdup (path);
    }
    self->file_mtime = mtime;
    self->file_checked = zclock_mono ();
    return ZMX_OK;
}

//  Reload the file if it changed; at most once per ZMX_RESOLVER_RELOAD_MSEC.
//  A file that vanished keeps its last entries.
static void
s_file_check (zmx_resolver_t *self)
{
    int64_t now = zclock_mono ();
    if (!self->file_path || now - self->file_checked < ZMX_RESOLVER_RELOAD_MSEC)
        return;
    self->file_checked = now;
    int64_t mtime = s_file_mtime (self->file_path);
    if (mtime >= 0 && mtime != self->file_mtime) {
        self->file_mtime = mtime;
        zhash_t *names = zmx__names_file_parse (self->file_path);
        if (names)
            s_file_swap (self, names);
    }
}

//  -------------------------------------------------------------------------
//  Lookup

//  The name's endpoints from the mirror, "" if none. Caller frees.
static char *
s_mirror_lookup (zmx_resolver_t *self, const char *name)
{
    char *prefix = zsys_sprintf ("%s%s/", ZMX_RESOLVER_SUBTREE, name);
    zlist_t *keys = zmx_clone_keys (self->clone, prefix);
    zlist_t *endpoints = zlist_new ();
    zlist_autofree (endpoints);
    zlist_comparefn (endpoints, (zlist_compare_fn *) strcmp);
    for (const char *key = (const char *) zlist_first (keys); key;
         key = (const char *) zlist_next (keys)) {
        char *value = zmx_clone_get (self->clone, key, NULL, NULL);
        if (value && zmx__endpoint_valid (value)
        &&  zlist_size (endpoints) < ZMX_RESOLVER_ENDPOINTS_MAX
        &&  !zlist_exists (endpoints, value))
            zlist_append (endpoints, value);
        free (value);
    }
    zlist_sort (endpoints, NULL);
    char *list = zmx__endpoint_list_join (endpoints);
    zlist_destroy (&endpoints);
    zlist_destroy (&keys);
    free (prefix);
    return list;
}

char *
zmx_resolver_lookup (zmx_resolver_t *self, const char *name)
{
    assert (self);
    self->stats.lookups++;
    if (!zmx_resolver_name_valid (name))
        return NULL;
    s_file_check (self);
    const char *found = (const char *) zhash_lookup (self->file_names, name);
    if (found) {
        self->stats.file_hits++;
        return strdup (found);
    }
    if (!self->clone)
        return NULL;
    s_drain (self);
    found = (const char *) zhash_lookup (self->cache, name);
    if (found) {
        self->stats.cache_hits++;
        return *found? strdup (found): NULL;
    }
    self->stats.cache_misses++;
    char *list = s_mirror_lookup (self, name);
    //  Negative answers are cached only once a snapshot is in: before, the
    //  name may just not have arrived yet
    if (*list || self->synced) {
        if (zhash_size (self->cache) >= ZMX_RESOLVER_CACHE_MAX) {
            s_hash_clear (&self->cache);
            self->stats.flushes++;
        }
        zhash_update (self->cache, name, list);
    }
    if (!*list)
        zstr_free (&list);
    return list;
}

char *
zmx_resolver_resolve (zmx_resolver_t *self, const char *spec)
{
    assert (self);
    if (!spec)
        return NULL;
    size_t scheme = strlen (ZMX_RESOLVER_SCHEME);
    if (strncmp (spec, ZMX_RESOLVER_SCHEME, scheme) != 0)
        return strdup (spec);
    return zmx_resolver_lookup (self, spec + scheme);
}

zlist_t *
zmx_resolver_names (zmx_resolver_t *self)
{
    assert (self);
    s_file_check (self);
    zlist_t *names = zhash_keys (self->file_names);
    zlist_comparefn (names, (zlist_compare_fn *) strcmp);
    char name [ZMX_RESOLVER_NAME_MAX + 1];
    zlist_t *keys = self->clone? zmx_clone_keys (self->clone, ZMX_RESOLVER_SUBTREE): NULL;
    for (const char *key = keys? (const char *) zlist_first (keys): NULL; key;
         key = (const char *) zlist_next (keys))
        if (s_key_name (key, name) && !zlist_exists (names, name))
            zlist_append (names, name);
    zlist_destroy (&keys);
    zlist_sort (names, NULL);
    return names;
}

zsock_t *
zmx_resolver_socket (zmx_resolver_t *self)
{
    assert (self);
    return self->clone? zmx_clone_socket (self->clone): NULL;
}

zlist_t *
zmx_resolver_changes (zmx_resolver_t *self)
{
    assert (self);
    s_file_check (self);
    s_drain (self);
    zlist_t *names = NULL;
    if (self->all_changed)
        names = zmx_resolver_names (self);
    else
    if (zhash_size (self->changes)) {
        names = zhash_keys (self->changes);
        zlist_comparefn (names, (zlist_compare_fn *) strcmp);
        zlist_sort (names, NULL);
    }
    s_hash_clear (&self->changes);
    self->all_changed = false;
    if (names && zlist_size (names) == 0)
        zlist_destroy (&names);
    return names;
}

void
zmx_resolver_stats (zmx_resolver_t *self, zmx_resolver_stats_t *stats)
{
    assert (self && stats);
    *stats = self->stats;
}

//  -------------------------------------------------------------------------
//  ZMXNS codec

//  -------------------------------------------------------------------------
//  zmx_resolver_resolve_endpoint

//  Ask the store named by $ZMX_CLONE, through a resolver made for the call.
static int
s_ask_store (const char *name, int64_t deadline, char **endpoints_p)
{
    const char *server = getenv (ZMX_RESOLVER_ENV_SERVER);
    if (!server)
        server = ZMX_RESOLVER_DEFAULT_SERVER;
    if (!*server)
        return ZMX_EADDR;
    zmx_resolver_t *resolver = zmx_resolver_new ();
    int rc = ZMX_EINVAL;
    if (zmx_resolver_add_server (resolver, server) == ZMX_OK) {
        int64_t left = deadline - zclock_mono ();
        rc = zmx_resolver_wait_synced (resolver, left > 0? (int) left: 0);
        *endpoints_p = rc == ZMX_OK? zmx_resolver_lookup (resolver, name): NULL;
        if (rc == ZMX_OK && !*endpoints_p)
            rc = ZMX_EADDR;
    }
    zmx_resolver_destroy (&resolver);
    return rc;
}

int
zmx_resolver_resolve_endpoint (const char *spec, int timeout_msec, char **endpoints_p)
{
    assert (endpoints_p);
    *endpoints_p = NULL;
    if (!spec)
        return ZMX_EINVAL;
    size_t scheme = strlen (ZMX_RESOLVER_SCHEME);
    if (strncmp (spec, ZMX_RESOLVER_SCHEME, scheme) != 0) {
        *endpoints_p = strdup (spec);
        return ZMX_OK;
    }
    const char *name = spec + scheme;
    if (!zmx_resolver_name_valid (name))
        return ZMX_EINVAL;
    int64_t deadline = zclock_mono () + (timeout_msec > 0? timeout_msec: 0);
    int rc = zmx__names_resolve_local (name, deadline, endpoints_p);
    return rc == ZMX_ETIMEDOUT? s_ask_store (name, deadline, endpoints_p): rc;
}
