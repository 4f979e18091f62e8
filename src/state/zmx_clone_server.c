/*  =========================================================================
    zmx_clone - the "clone" service: 12/CHP key-value server

    Design notes
    - The store is a zhashx of key -> entry. Entries are immutable and
      reference counted: an update replaces the entry, and a snapshot in
      progress holds references to the entries it still has to send, so
      a snapshot is consistent (taken at one sequence) without copying
      values or stopping the service while a slow client reads it.
    - Updates are handled in batches (group commit): up to S_BATCH KVSETs
      are applied, appended to the log with one write and, with
      fsync = always, one fsync, and only then published. A published
      update is therefore on disk; that is what makes "seen published"
      a safe acknowledgement for clients.
    - Persistence is an append-only log plus a snapshot file (see
      docs/ARCHITECTURE.md, "Clone persistence"): each record carries its
      sequence and a CRC; loading replays the snapshot, then the log
      records above the snapshot's sequence, and cuts a torn tail.
    - Ephemeral keys are also kept in a second table so that the expiry
      sweep looks at them only, not at the whole store.
    - An optional second set of sockets speaks the Guide's older kvsimple
      format (clonecli4): its updates take the KVSET path, every
      publication goes out in both formats, and its snapshots are
      streamed like CHP ones, from the same entry references.
    =========================================================================
*/
#include "zmx_state_internal.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_BATCH 1024                //  KVSETs per group commit
#define S_SNAPSHOT_BATCH 512        //  KVSYNCs per snapshot per loop turn
#define S_ICANHAZ_BATCH 64          //  Snapshot requests per loop turn
#define S_SWEEP_MSEC 100            //  Expiry sweep period
#define S_FSYNC_PERIOD 1000         //  fsync = periodic: msec between fsyncs
#define S_ROUTER_HWM 10000          //  KVSYNCs queued per snapshot reader
#define S_RECORD_HEAD 8             //  Log record: u32 size, u32 crc
#define S_SUBSCRIPTION_MAX 4096     //  A subscription frame: a subtree prefix
#define S_RECORD_MAX (ZMX_CHP_KEY_MAX + ZMX_CHP_PROPERTIES_MAX + 64 + 256 * 1024 * 1024)
#define S_SNAPSHOT_MAGIC "ZMXCLN1\n"
#define S_LOG_FILE "clone.log"
#define S_SNAPSHOT_FILE "clone.snapshot"

typedef enum { S_FSYNC_ALWAYS, S_FSYNC_PERIODIC, S_FSYNC_NEVER } s_fsync_t;

//  Replication from the active peer: off (standalone or active), waiting
//  for the first message on the peer's publisher, reading its snapshot,
//  then applying its updates in sequence.
typedef enum { S_REPLICA_OFF, S_REPLICA_LIVE, S_REPLICA_SYNCING, S_REPLICA_SYNCED } s_replica_t;

typedef struct {
    uint32_t refs;              //  Store + snapshots + publish batch
    uint64_t sequence;          //  Sequence of the update that made it
    int64_t expiry;             //  Wall clock msec, 0: not ephemeral
    bool has_uuid;
    byte uuid [ZMX_CHP_UUID_SIZE];
    char *properties;           //  "name=value\n"..., NULL if none
    size_t properties_size;
    size_t key_size;
    size_t value_size;          //  0: a deletion (never stored)
    char *key;                  //  Terminated; points into data
    byte *value;                //  Points into data
    byte data [];               //  key, NUL, value
} s_entry_t;

typedef struct {
    zmx_chp_frame_t routing;    //  Reader's identity (data owned)
    s_entry_t **entries;        //  References still to send
    size_t count, next;
    uint64_t sequence;          //  Sequence the snapshot was taken at
    char *subtree;
    bool kvsimple;              //  For the kvsimple router, in its frames
} s_snapshot_t;

typedef struct {
    byte *data;
    size_t size, capacity;
} s_buffer_t;

typedef struct {
    uint64_t updates, deletes, expired, malformed, rejected, snapshots_sent;
    uint64_t snapshots_refused, compactions, fsyncs, log_records_loaded;
    uint64_t replicated, replica_snapshots, pending_applied, pending_dropped, takeovers;
    uint64_t replica_dropped, kvsimple_malformed;
} s_counters_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    char *name;                 //  Instance name for logs
    zsock_t *router;            //  Snapshot requests
    zsock_t *publisher;         //  KVPUB and HUGZ (XPUB: sees subscriptions)
    zsock_t *collector;         //  KVSET from clients
    zsock_t *collector_pull;    //  KVSET from PUSH clients (the Guide's clonecli3-5), or NULL
    zsock_t *kvsimple_router;   //  The Guide's kvsimple clients (clonecli4): snapshots,
    zsock_t *kvsimple_publisher;//  updates out (XPUB, to read what peers send),
    zsock_t *kvsimple_collector;//  updates in (PULL); all three or none (NULL)
    zlist_t *endpoints;         //  Bound endpoints: snapshot, publisher, collector[, pull]
                                //  [, kvsimple snapshot, publisher, collector]
    zhashx_t *store;            //  key -> s_entry_t
    zhashx_t *ephemeral;        //  key -> s_entry_t (borrowed from store)
    zlistx_t *snapshots;        //  s_snapshot_t being sent
    s_entry_t **batch;          //  Updates applied, not yet published
    size_t batch_size;
    uint64_t sequence;          //  Last sequence assigned
    uint64_t live_bytes;        //  Keys plus values in the store
    int64_t interval;           //  Heartbeat, msec
    size_t max_keys, max_value_size, max_snapshots;
    uint64_t max_bytes, compact_bytes;
    char *directory;            //  Data directory, NULL: memory only
    s_fsync_t fsync;
    int log_fd;                 //  Append-only log, -1 without a directory
    uint64_t log_bytes;         //  Its size
    bool log_dirty;             //  Written since the last fsync
    s_buffer_t log_buffer;      //  Records of the current batch
    uint32_t crc_table [256];
    int64_t next_hugz, next_sweep, next_fsync;
    s_counters_t counters;
    int64_t last_warning;       //  Rate limit of warnings from peer input
    bool terminated;
    //  Binary Star pair (see "Pair" below); bstar NULL: standalone
    zmx_bstar_t *bstar;
    bool active;                //  Serving clients (always, standalone)
    char *peer_endpoint;        //  The peer's snapshot endpoint
    char *peer_publisher;       //  The peer's publisher endpoint
    char *peer_cert, *peer_key; //  CURVE client keys towards the peer, or NULL
    zsock_t *peer_dealer;       //  Snapshot requests to the peer
    zsock_t *peer_sub;          //  The peer's updates
    s_replica_t replica;        //  Where replication from the peer is
    int64_t peer_heard;         //  Last message from the peer (mono)
    int64_t peer_asked;         //  ICANHAZ sent to the peer, or its last KVSYNC
    zhashx_t *incoming;         //  Peer snapshot being read
    zlistx_t *replica_queue;    //  Peer updates read during its snapshot
    zlistx_t *pending;          //  Client updates not yet seen from the peer
    zhashx_t *pending_index;    //  uuid hex -> handle in pending
    zlistx_t *seen;             //  uuid hex of recent peer updates, oldest first
    zhashx_t *seen_index;       //  uuid hex -> handle in seen
    size_t max_pending;
} s_self_t;

//  -------------------------------------------------------------------------
//  Entries

static s_entry_t *
s_entry_new (const char *key, size_t key_size, const byte *value, size_t value_size)
{
    s_entry_t *entry = (s_entry_t *) malloc (sizeof (s_entry_t) + key_size + 1 + value_size);
    assert (entry);
    memset (entry, 0, sizeof (s_entry_t));
    entry->refs = 1;
    entry->key = (char *) entry->data;
    memcpy (entry->key, key, key_size);
    entry->key [key_size] = 0;
    entry->key_size = key_size;
    entry->value = entry->data + key_size + 1;
    if (value_size)
        memcpy (entry->value, value, value_size);
    entry->value_size = value_size;
    return entry;
}

static void
s_entry_set_properties (s_entry_t *entry, const char *properties, size_t size)
{
    if (size) {
        entry->properties = (char *) malloc (size);
        assert (entry->properties);
        memcpy (entry->properties, properties, size);
        entry->properties_size = size;
    }
}

static void
s_entry_release (s_entry_t **entry_p)
{
    s_entry_t *entry = *entry_p;
    if (entry && --entry->refs == 0) {
        free (entry->properties);
        free (entry);
    }
    *entry_p = NULL;
}

static void
s_entry_destructor (void **item_p)
{
    s_entry_release ((s_entry_t **) item_p);
}

static s_entry_t *
s_entry_ref (s_entry_t *entry)
{
    entry->refs++;
    return entry;
}

//  The entry as a CHP command to send.
static zmx_chp_view_t
s_entry_view (s_entry_t *entry, zmx_chp_command_t command)
{
    zmx_chp_view_t view = { .command = command, .key = entry->key,
                            .key_size = entry->key_size, .sequence = entry->sequence,
                            .value = entry->value, .value_size = entry->value_size };
    if (command == ZMX_CHP_KVPUB) {
        view.uuid = entry->has_uuid? entry->uuid: NULL;
        view.properties = entry->properties;
        view.properties_size = entry->properties_size;
    }
    return view;
}

//  -------------------------------------------------------------------------
//  Log records: u32 body size, u32 CRC-32 of the body, then the body:
//  u64 sequence, u64 expiry, u16 key size, key, u8 uuid size, uuid,
//  u16 properties size, properties, u32 value size, value. Big-endian.

static void
s_crc_init (s_self_t *self)
{
    for (uint32_t index = 0; index < 256; index++) {
        uint32_t crc = index;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc & 1)? 0xEDB88320u ^ (crc >> 1): crc >> 1;
        self->crc_table [index] = crc;
    }
}

static uint32_t
s_crc (s_self_t *self, const byte *data, size_t size)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (size_t index = 0; index < size; index++)
        crc = self->crc_table [(crc ^ data [index]) & 0xFF] ^ (crc >> 8);
    return crc ^ 0xFFFFFFFFu;
}

static byte *
s_buffer_grow (s_buffer_t *buffer, size_t more)
{
    if (buffer->size + more > buffer->capacity) {
        size_t capacity = buffer->capacity? buffer->capacity: 65536;
        while (capacity < buffer->size + more)
            capacity *= 2;
        buffer->data = (byte *) realloc (buffer->data, capacity);
        assert (buffer->data);
        buffer->capacity = capacity;
    }
    byte *end = buffer->data + buffer->size;
    buffer->size += more;
    return end;
}

//  Append the record of `entry` (value_size 0: a deletion) to `buffer`.
static void
s_record_encode (s_self_t *self, s_buffer_t *buffer, s_entry_t *entry)
{
    size_t uuid_size = entry->has_uuid? ZMX_CHP_UUID_SIZE: 0;
    size_t body = 8 + 8 + 2 + entry->key_size + 1 + uuid_size + 2 + entry->properties_size
                + 4 + entry->value_size;
    byte *head = s_buffer_grow (buffer, S_RECORD_HEAD + body);
    byte *cursor = head + S_RECORD_HEAD;
    cursor = zmx__wire_put (cursor, entry->sequence, 8);
    cursor = zmx__wire_put (cursor, (uint64_t) entry->expiry, 8);
    cursor = zmx__wire_put (cursor, entry->key_size, 2);
    memcpy (cursor, entry->key, entry->key_size);
    cursor = zmx__wire_put (cursor + entry->key_size, uuid_size, 1);
    memcpy (cursor, entry->uuid, uuid_size);
    cursor = zmx__wire_put (cursor + uuid_size, entry->properties_size, 2);
    if (entry->properties_size)
        memcpy (cursor, entry->properties, entry->properties_size);
    cursor = zmx__wire_put (cursor + entry->properties_size, entry->value_size, 4);
    if (entry->value_size)
        memcpy (cursor, entry->value, entry->value_size);
    zmx__wire_put (head, body, 4);
    zmx__wire_put (head + 4, s_crc (self, head + S_RECORD_HEAD, body), 4);
}

//  Decode one record body into a new entry; NULL if its fields do not add
//  up or do not pass the CHP checks.
static s_entry_t *
s_record_decode (const byte *body, size_t size)
{
    if (size < 8 + 8 + 2)
        return NULL;
    size_t key_size = zmx__wire_get (body + 16, 2), at = 18;
    if (at + key_size + 1 > size || !zmx_chp_key_valid ((const char *) body + at, key_size))
        return NULL;
    const char *key = (const char *) body + at;
    at += key_size;
    size_t uuid_size = body [at++];
    if ((uuid_size != 0 && uuid_size != ZMX_CHP_UUID_SIZE) || at + uuid_size + 2 > size)
        return NULL;
    const byte *uuid = body + at;
    at += uuid_size;
    size_t properties_size = zmx__wire_get (body + at, 2);
    at += 2;
    if (at + properties_size + 4 > size
    ||  !zmx_chp_properties_valid ((const char *) body + at, properties_size))
        return NULL;
    const char *properties = (const char *) body + at;
    at += properties_size;
    size_t value_size = zmx__wire_get (body + at, 4);
    at += 4;
    if (at + value_size != size)
        return NULL;
    s_entry_t *entry = s_entry_new (key, key_size, body + at, value_size);
    entry->sequence = zmx__wire_get (body, 8);
    entry->expiry = (int64_t) zmx__wire_get (body + 8, 8);
    entry->has_uuid = uuid_size > 0;
    memcpy (entry->uuid, uuid, uuid_size);
    s_entry_set_properties (entry, properties, properties_size);
    return entry;
}

//  -------------------------------------------------------------------------
//  Store

//  A table of entries whose keys point into the entries themselves: no
//  second copy of each key (a million keys, tens of MiB saved).
static zhashx_t *
s_map_new (bool owner)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_key_duplicator (map, NULL);
    zhashx_set_key_destructor (map, NULL);
    if (owner)
        zhashx_set_destructor (map, s_entry_destructor);
    return map;
}

//  Put `entry` under its key. An entry already there goes first (and is
//  released, if the map owns it): updating in place would keep the old
//  entry's key pointer.
static void
s_map_put (zhashx_t *map, s_entry_t *entry)
{
    zhashx_delete (map, entry->key);
    int rc = zhashx_insert (map, entry->key, entry);
    assert (rc == 0);
    (void) rc;
}

//  Put `entry` (one reference given) into the store, or remove its key if
//  it is a deletion (the entry is then freed by the caller's reference).
static void
s_store_apply (s_self_t *self, s_entry_t *entry)
{
    s_entry_t *old = (s_entry_t *) zhashx_lookup (self->store, entry->key);
    if (old) {
        self->live_bytes -= old->key_size + old->value_size;
        if (old->expiry)
            zhashx_delete (self->ephemeral, entry->key);
    }
    if (entry->value_size == 0) {
        zhashx_delete (self->store, entry->key);
        s_entry_release (&entry);
        return;
    }
    self->live_bytes += entry->key_size + entry->value_size;
    s_map_put (self->store, entry);
    if (entry->expiry)
        s_map_put (self->ephemeral, entry);
}

//  Read a whole file; NULL (and *size 0) if it does not exist.
static byte *
s_read_file (const char *path, size_t *size)
{
    *size = 0;
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    fseek (file, 0, SEEK_END);
    long length = ftell (file);
    fseek (file, 0, SEEK_SET);
    byte *data = (byte *) malloc (length > 0? (size_t) length: 1);
    assert (data);
    *size = length > 0 && fread (data, 1, (size_t) length, file) == (size_t) length
          ? (size_t) length: 0;
    fclose (file);
    return data;
}

//  Walk the records in data [0..size); apply those above `floor`. Returns
//  the offset where valid records end.
static size_t
s_replay (s_self_t *self, const byte *data, size_t size, uint64_t floor, size_t *records)
{
    size_t at = 0;
    *records = 0;
    while (at + S_RECORD_HEAD <= size) {
        size_t body = zmx__wire_get (data + at, 4);
        if (body > S_RECORD_MAX || at + S_RECORD_HEAD + body > size
        ||  zmx__wire_get (data + at + 4, 4) != s_crc (self, data + at + S_RECORD_HEAD, body))
            break;
        s_entry_t *entry = s_record_decode (data + at + S_RECORD_HEAD, body);
        if (!entry)
            break;
        if (entry->sequence > floor) {
            if (entry->sequence > self->sequence)
                self->sequence = entry->sequence;
            s_store_apply (self, entry);
        }
        else
            s_entry_release (&entry);
        at += S_RECORD_HEAD + body;
        (*records)++;
    }
    return at;
}

//  Load the snapshot file. Returns 0, or -1 if it exists but is damaged
//  (it is written whole and renamed into place, so damage is not a crash
//  artefact: refuse to start rather than serve a partial store).
static int
s_load_snapshot (s_self_t *self)
{
    char *path = zsys_sprintf ("%s/%s", self->directory, S_SNAPSHOT_FILE);
    size_t size;
    byte *data = s_read_file (path, &size);
    int rc = 0;
    if (data) {
        size_t head = strlen (S_SNAPSHOT_MAGIC) + 16, records = 0;
        if (size < head || memcmp (data, S_SNAPSHOT_MAGIC, strlen (S_SNAPSHOT_MAGIC)))
            rc = -1;
        else {
            uint64_t sequence = zmx__wire_get (data + head - 16, 8);
            uint64_t count = zmx__wire_get (data + head - 8, 8);
            size_t end = s_replay (self, data + head, size - head, 0, &records);
            if (end != size - head || records != count)
                rc = -1;
            if (sequence > self->sequence)
                self->sequence = sequence;
        }
        if (rc)
            zmx_log_error (self->name, "%s is damaged: restore it or move it away", path);
    }
    free (data);
    zstr_free (&path);
    return rc;
}

//  Load the log over the snapshot, cut any torn tail, open it to append.
static int
s_load_log (s_self_t *self)
{
    char *path = zsys_sprintf ("%s/%s", self->directory, S_LOG_FILE);
    size_t size, records;
    byte *data = s_read_file (path, &size);
    uint64_t floor = self->sequence;
    size_t end = data? s_replay (self, data, size, floor, &records): 0;
    free (data);
    self->counters.log_records_loaded = data? records: 0;
    self->log_fd = open (path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int rc = 0;
    if (self->log_fd < 0) {
        zmx_log_error (self->name, "cannot open %s: %s", path, strerror (errno));
        rc = -1;
    }
    else
    if (end < size) {
        zmx_log_warning (self->name, "%s: cutting %zu bytes of torn tail at offset %zu",
                         path, size - end, end);
        if (ftruncate (self->log_fd, (off_t) end) || fsync (self->log_fd))
            rc = -1;
    }
    self->log_bytes = end;
    zstr_free (&path);
    return rc;
}

static void
s_fsync_directory (const char *directory)
{
    int fd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void) fsync (fd);
        close (fd);
    }
}

//  Write the whole store to the snapshot file (write, fsync, rename), then
//  empty the log: every record in it is now at or below the snapshot's
//  sequence, which is also what makes a crash between the two harmless.
static int
s_compact (s_self_t *self)
{
    char *temp = zsys_sprintf ("%s/%s.tmp", self->directory, S_SNAPSHOT_FILE);
    char *path = zsys_sprintf ("%s/%s", self->directory, S_SNAPSHOT_FILE);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0;
    s_buffer_t buffer = { NULL, 0, 0 };
    byte *head = s_buffer_grow (&buffer, strlen (S_SNAPSHOT_MAGIC) + 16);
    memcpy (head, S_SNAPSHOT_MAGIC, strlen (S_SNAPSHOT_MAGIC));
    zmx__wire_put (zmx__wire_put (head + strlen (S_SNAPSHOT_MAGIC), self->sequence, 8),
           zhashx_size (self->store), 8);
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->store); entry && ok;
         entry = (s_entry_t *) zhashx_next (self->store)) {
        s_record_encode (self, &buffer, entry);
        if (buffer.size >= 4 * 1024 * 1024) {
            ok = write (fd, buffer.data, buffer.size) == (ssize_t) buffer.size;
            buffer.size = 0;
        }
    }
    ok = ok && write (fd, buffer.data, buffer.size) == (ssize_t) buffer.size;
    ok = ok && fsync (fd) == 0;
    if (fd >= 0)
        close (fd);
    ok = ok && rename (temp, path) == 0;
    if (ok) {
        s_fsync_directory (self->directory);
        ok = ftruncate (self->log_fd, 0) == 0 && fsync (self->log_fd) == 0;
        self->log_bytes = 0;
        self->counters.compactions++;
    }
    if (!ok)
        zmx_log_error (self->name, "compaction into %s failed: %s", path, strerror (errno));
    free (buffer.data);
    zstr_free (&temp);
    zstr_free (&path);
    return ok? 0: -1;
}

//  Write the batch's records; fsync as the policy says. Returns 0, or -1
//  if the log cannot be written (the updates are then not published).
static int
s_log_flush (s_self_t *self, bool force_sync)
{
    if (self->log_fd < 0)
        return 0;
    if (self->log_buffer.size) {
        ssize_t written = write (self->log_fd, self->log_buffer.data, self->log_buffer.size);
        if (written != (ssize_t) self->log_buffer.size) {
            zmx_log_error (self->name, "log write failed: %s", strerror (errno));
            self->log_buffer.size = 0;
            return -1;
        }
        self->log_bytes += self->log_buffer.size;
        self->log_buffer.size = 0;
        self->log_dirty = true;
    }
    if (self->log_dirty && (force_sync || self->fsync == S_FSYNC_ALWAYS)) {
        if (fsync (self->log_fd)) {
            zmx_log_error (self->name, "log fsync failed: %s", strerror (errno));
            return -1;
        }
        self->log_dirty = false;
        self->counters.fsyncs++;
    }
    return 0;
}

//  -------------------------------------------------------------------------
//  Updates

//  Give the next sequence to `entry` (one reference given), apply it,
//  log it, and queue it for publication after the commit.
static void
s_update (s_self_t *self, s_entry_t *entry)
{
    entry->sequence = ++self->sequence;
    if (self->log_fd >= 0)
        s_record_encode (self, &self->log_buffer, entry);
    if (entry->value_size)
        self->counters.updates++;
    else
        self->counters.deletes++;
    self->batch [self->batch_size++] = s_entry_ref (entry);
    s_store_apply (self, entry);
}

//  Log, then publish, the batch. A failed log write stops the service:
//  publishing what is not stored would break the acknowledgement rule.
static void
s_commit (s_self_t *self)
{
    if (self->batch_size == 0)
        return;
    if (s_log_flush (self, false)) {
        zmx_log_error (self->name, "stopping updates: the log cannot be written");
        self->terminated = true;
    }
    void *publisher = zsock_resolve (self->publisher);
    for (size_t index = 0; index < self->batch_size; index++) {
        s_entry_t *entry = self->batch [index];
        if (!self->terminated) {
            zmx_chp_view_t view = s_entry_view (entry, ZMX_CHP_KVPUB);
            zmx_chp_send (publisher, NULL, &view, ZMQ_DONTWAIT);
            //  The same update for kvsimple subscribers: no uuid, no ttl
            if (self->kvsimple_publisher)
                zmx__kvsimple_send (zsock_resolve (self->kvsimple_publisher), NULL, entry->key,
                                    entry->key_size, entry->sequence, entry->value,
                                    entry->value_size, ZMQ_DONTWAIT);
        }
        s_entry_release (&self->batch [index]);
    }
    self->batch_size = 0;
    if (self->log_fd >= 0 && self->log_bytes >= self->compact_bytes
    &&  self->log_bytes > 2 * self->live_bytes)
        s_compact (self);
}

//  Check one KVSET against the limits; NULL if acceptable.
static const char *
s_kvset_refusal (s_self_t *self, const zmx_chp_view_t *view, uint64_t *ttl)
{
    if (zmx_chp_ttl (view->properties, view->properties_size, ttl) < 0)
        return "invalid ttl";
    if (view->value_size > self->max_value_size)
        return "value over max-value-size";
    if (view->value_size == 0)
        return NULL;
    char key [ZMX_CHP_KEY_MAX + 1];
    memcpy (key, view->key, view->key_size);
    key [view->key_size] = 0;
    s_entry_t *old = (s_entry_t *) zhashx_lookup (self->store, key);
    if (!old && zhashx_size (self->store) >= self->max_keys)
        return "store full (max-keys)";
    uint64_t bytes = self->live_bytes + view->key_size + view->value_size
                   - (old? old->key_size + old->value_size: 0);
    if (bytes > self->max_bytes)
        return "store full (max-bytes)";
    return NULL;
}

static void
    s_pending_add (s_self_t *self, s_entry_t *entry);

static void
s_handle_kvset (s_self_t *self, const zmx_chp_view_t *view)
{
    uint64_t ttl = 0;
    const char *refusal = s_kvset_refusal (self, view, &ttl);
    if (refusal) {
        self->counters.rejected++;
        zmx__log_limited (self->name, &self->last_warning, "KVSET refused: %s (%" PRIu64
                          " so far)", refusal, self->counters.rejected);
        return;
    }
    s_entry_t *entry = s_entry_new (view->key, view->key_size, view->value, view->value_size);
    if (view->uuid) {
        entry->has_uuid = true;
        memcpy (entry->uuid, view->uuid, ZMX_CHP_UUID_SIZE);
    }
    s_entry_set_properties (entry, view->properties, view->properties_size);
    if (ttl && view->value_size)
        entry->expiry = zclock_time () + (int64_t) ttl * 1000;
    if (self->active)
        s_update (self, entry);
    else
        s_pending_add (self, entry);
}

//  KVSETs from either collector (SUB or PULL): one validated path.
static void
s_handle_collector (s_self_t *self, zsock_t *socket)
{
    void *collector = zsock_resolve (socket);
    zmx_chp_msg_t msg;
    while (self->batch_size < S_BATCH && zmx_chp_recv (&msg, collector, ZMQ_DONTWAIT) == 0) {
        zmx_chp_view_t view;
        const char *error;
        if (zmx_chp_decode_msg (&msg, 0, ZMX_CHP_SERVER_COLLECTOR, &view, &error) == 0)
            s_handle_kvset (self, &view);
        else {
            self->counters.malformed++;
            zmx__log_limited (self->name, &self->last_warning, "malformed KVSET dropped: %s",
                              error);
        }
        zmx_chp_msg_close (&msg);
    }
    s_commit (self);
}

static void
s_kvsimple_malformed (s_self_t *self, const char *what, const char *error)
{
    self->counters.kvsimple_malformed++;
    zmx__log_limited (self->name, &self->last_warning, "malformed kvsimple %s dropped: %s "
                      "(%" PRIu64 " so far)", what, error, self->counters.kvsimple_malformed);
}

//  Updates from the Guide's kvsimple clients (PUSH), checked, then taken
//  as KVSETs without uuid or properties: numbered, logged and published
//  to both kinds of client like any other.
static void
s_handle_kvsimple_collector (s_self_t *self)
{
    void *collector = zsock_resolve (self->kvsimple_collector);
    zmx_chp_msg_t msg;
    while (self->batch_size < S_BATCH && zmx_chp_recv (&msg, collector, ZMQ_DONTWAIT) == 0) {
        zmx__kvsimple_view_t kv;
        const char *error;
        if (zmx__kvsimple_decode_msg (&msg, 0, ZMX__KVSIMPLE_UPDATE, self->max_value_size,
                                      &kv, &error) == 0) {
            zmx_chp_view_t view = { .command = ZMX_CHP_KVSET, .key = kv.key,
                                    .key_size = kv.key_size, .value = kv.body,
                                    .value_size = kv.body_size };
            s_handle_kvset (self, &view);
        }
        else
            s_kvsimple_malformed (self, "update", error);
        zmx_chp_msg_close (&msg);
    }
    s_commit (self);
}

//  Delete the ephemeral keys whose time has come, publishing each.
static void
s_sweep (s_self_t *self)
{
    int64_t now = zclock_time ();
    zlist_t *expired = zlist_new ();
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->ephemeral); entry;
         entry = (s_entry_t *) zhashx_next (self->ephemeral))
        if (entry->expiry <= now)
            zlist_append (expired, entry);
    s_entry_t *entry;
    while ((entry = (s_entry_t *) zlist_pop (expired))) {
        s_update (self, s_entry_new (entry->key, entry->key_size, NULL, 0));
        self->counters.expired++;
        if (self->batch_size == S_BATCH)
            s_commit (self);
    }
    s_commit (self);
    zlist_destroy (&expired);
}

//  -------------------------------------------------------------------------
//  Snapshots

static void
s_snapshot_free (void **item_p)
{
    s_snapshot_t *snapshot = (s_snapshot_t *) *item_p;
    if (snapshot) {
        for (size_t index = snapshot->next; index < snapshot->count; index++)
            s_entry_release (&snapshot->entries [index]);
        free (snapshot->entries);
        free ((void *) snapshot->routing.data);
        free (snapshot->subtree);
        free (snapshot);
        *item_p = NULL;
    }
}

static void
s_start_snapshot (s_self_t *self, zmx_chp_msg_t *msg, const zmx_chp_view_t *view,
                  bool kvsimple)
{
    if (zlistx_size (self->snapshots) >= self->max_snapshots) {
        //  The client times out and asks again (or asks another server)
        self->counters.snapshots_refused++;
        return;
    }
    s_snapshot_t *snapshot = (s_snapshot_t *) zmalloc (sizeof (s_snapshot_t));
    size_t routing_size = zmq_msg_size (&msg->frames [0]);
    void *routing = malloc (routing_size? routing_size: 1);
    assert (routing);
    memcpy (routing, zmq_msg_data (&msg->frames [0]), routing_size);
    snapshot->routing = (zmx_chp_frame_t) { routing, routing_size };
    snapshot->subtree = (char *) zmalloc (view->subtree_size + 1);
    memcpy (snapshot->subtree, view->subtree, view->subtree_size);
    snapshot->sequence = self->sequence;
    snapshot->kvsimple = kvsimple;
    snapshot->entries = (s_entry_t **) malloc (sizeof (s_entry_t *) * (zhashx_size (self->store) + 1));
    assert (snapshot->entries);
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->store); entry;
         entry = (s_entry_t *) zhashx_next (self->store))
        if (zmx_chp_in_subtree (entry->key, entry->key_size, view->subtree, view->subtree_size))
            snapshot->entries [snapshot->count++] = s_entry_ref (entry);
    zlistx_add_end (self->snapshots, snapshot);
}

static void
    s_become_active (s_self_t *self);

static void
s_handle_router (s_self_t *self)
{
    void *router = zsock_resolve (self->router);
    zmx_chp_msg_t msg;
    for (int count = 0; count < S_ICANHAZ_BATCH
                     && zmx_chp_recv (&msg, router, ZMQ_DONTWAIT) == 0; count++) {
        zmx_chp_view_t view;
        const char *error;
        if (zmx_chp_decode_msg (&msg, 1, ZMX_CHP_SERVER_SNAPSHOT, &view, &error) == 0) {
            //  Snapshot requests are the pair's votes: a passive peer
            //  whose peer is gone takes over on one
            if (self->active || zmx_bstar_client_request (self->bstar) == 0) {
                s_become_active (self);
                s_start_snapshot (self, &msg, &view, false);
            }
            else
                self->counters.snapshots_refused++;
        }
        else {
            self->counters.malformed++;
            zmx__log_limited (self->name, &self->last_warning,
                              "malformed snapshot request dropped: %s", error);
        }
        zmx_chp_msg_close (&msg);
    }
}

//  Snapshot requests of the Guide's kvsimple clients: served from the
//  same entry references as CHP ones, while this server is active (they
//  are not Binary Star votes: such a client knows one server only).
static void
s_handle_kvsimple_router (s_self_t *self)
{
    void *router = zsock_resolve (self->kvsimple_router);
    zmx_chp_msg_t msg;
    for (int count = 0; count < S_ICANHAZ_BATCH
                     && zmx_chp_recv (&msg, router, ZMQ_DONTWAIT) == 0; count++) {
        zmx__kvsimple_view_t kv;
        const char *error;
        if (zmx__kvsimple_decode_msg (&msg, 1, ZMX__KVSIMPLE_REQUEST, 0, &kv, &error))
            s_kvsimple_malformed (self, "snapshot request", error);
        else
        if (self->active) {
            zmx_chp_view_t view = { .command = ZMX_CHP_ICANHAZ, .subtree = kv.subtree,
                                    .subtree_size = kv.subtree_size };
            s_start_snapshot (self, &msg, &view, true);
        }
        else
            self->counters.snapshots_refused++;
        zmx_chp_msg_close (&msg);
    }
}

//  Send the next message of a snapshot: an entry, or the closing one.
//  Returns 0, or -1 with errno.
static int
s_snapshot_send (s_self_t *self, s_snapshot_t *snapshot, bool last)
{
    if (snapshot->kvsimple) {
        void *router = zsock_resolve (self->kvsimple_router);
        if (last)
            return zmx__kvsimple_send (router, &snapshot->routing, ZMX_CHP_KTHXBAI_WORD,
                                       strlen (ZMX_CHP_KTHXBAI_WORD), snapshot->sequence,
                                       snapshot->subtree, strlen (snapshot->subtree),
                                       ZMQ_DONTWAIT);
        s_entry_t *entry = snapshot->entries [snapshot->next];
        return zmx__kvsimple_send (router, &snapshot->routing, entry->key, entry->key_size,
                                   entry->sequence, entry->value, entry->value_size,
                                   ZMQ_DONTWAIT);
    }
    zmx_chp_view_t view;
    if (last)
        view = (zmx_chp_view_t) { .command = ZMX_CHP_KTHXBAI, .sequence = snapshot->sequence,
                                  .subtree = snapshot->subtree,
                                  .subtree_size = strlen (snapshot->subtree) };
    else
        view = s_entry_view (snapshot->entries [snapshot->next], ZMX_CHP_KVSYNC);
    return zmx_chp_send (zsock_resolve (self->router), &snapshot->routing, &view,
                         ZMQ_DONTWAIT);
}

//  Send more of one snapshot. Returns 1 when it is finished (or its
//  reader is gone), 0 if the reader's queue is full, -1 if it can go on.
static int
s_snapshot_pump (s_self_t *self, s_snapshot_t *snapshot)
{
    for (int count = 0; count < S_SNAPSHOT_BATCH; count++) {
        bool last = snapshot->next == snapshot->count;
        if (s_snapshot_send (self, snapshot, last)) {
            if (errno == EAGAIN)
                return 0;
            return 1;           //  EHOSTUNREACH: the reader is gone
        }
        if (last) {
            self->counters.snapshots_sent++;
            return 1;
        }
        s_entry_release (&snapshot->entries [snapshot->next++]);
    }
    return -1;
}

//  Returns true if some snapshot could take more at once.
static bool
s_snapshots_pump (s_self_t *self)
{
    bool more = false;
    s_snapshot_t *snapshot = (s_snapshot_t *) zlistx_first (self->snapshots);
    while (snapshot) {
        void *cursor = zlistx_cursor (self->snapshots);
        int rc = s_snapshot_pump (self, snapshot);
        snapshot = (s_snapshot_t *) zlistx_next (self->snapshots);
        if (rc == 1)
            zlistx_delete (self->snapshots, cursor);
        more = more || rc < 0;
    }
    return more;
}

//  -------------------------------------------------------------------------
//  Pair: two servers under zmx_bstar. The passive one mirrors the active
//  one (its snapshot, then its publisher, sequence numbers included) and
//  keeps the updates clients send it, which clients send to every server
//  of their list, until it sees them published by the active one. When it
//  takes over, it applies those it never saw: an update the old active
//  server published (acknowledged) is in the new one's store either way.

static void
s_uuid_hex (const byte *uuid, char *hex)
{
    static const char digits [] = "0123456789abcdef";
    for (int index = 0; index < ZMX_CHP_UUID_SIZE; index++) {
        hex [2 * index] = digits [uuid [index] >> 4];
        hex [2 * index + 1] = digits [uuid [index] & 15];
    }
    hex [2 * ZMX_CHP_UUID_SIZE] = 0;
}

static void
s_pending_add (s_self_t *self, s_entry_t *entry)
{
    char hex [2 * ZMX_CHP_UUID_SIZE + 1];
    if (!entry->has_uuid) {
        //  Without a uuid it cannot be matched with the peer's copy
        self->counters.pending_dropped++;
        s_entry_release (&entry);
        return;
    }
    s_uuid_hex (entry->uuid, hex);
    if (zhashx_lookup (self->seen_index, hex) || zhashx_lookup (self->pending_index, hex)) {
        s_entry_release (&entry);       //  The peer has it already
        return;
    }
    if (zlistx_size (self->pending) >= self->max_pending) {
        s_entry_t *oldest = (s_entry_t *) zlistx_first (self->pending);
        char old_hex [2 * ZMX_CHP_UUID_SIZE + 1];
        s_uuid_hex (oldest->uuid, old_hex);
        zhashx_delete (self->pending_index, old_hex);
        zlistx_delete (self->pending, zlistx_cursor (self->pending));
        self->counters.pending_dropped++;
    }
    zhashx_insert (self->pending_index, hex, zlistx_add_end (self->pending, entry));
}

//  The peer published an update with this uuid: drop our pending copy,
//  and remember it for a while in case the client's copy is still coming.
static void
s_pending_seen (s_self_t *self, const byte *uuid)
{
    if (!uuid)
        return;
    char hex [2 * ZMX_CHP_UUID_SIZE + 1];
    s_uuid_hex (uuid, hex);
    void *handle = zhashx_lookup (self->pending_index, hex);
    if (handle) {
        zlistx_delete (self->pending, handle);
        zhashx_delete (self->pending_index, hex);
    }
    else
    if (!zhashx_lookup (self->seen_index, hex)) {
        if (zlistx_size (self->seen) >= self->max_pending) {
            char *oldest = (char *) zlistx_first (self->seen);
            zhashx_delete (self->seen_index, oldest);
            zlistx_delete (self->seen, zlistx_cursor (self->seen));
        }
        zhashx_insert (self->seen_index, hex, zlistx_add_end (self->seen, strdup (hex)));
    }
}

static void
s_replica_stop (s_self_t *self)
{
    zsock_destroy (&self->peer_dealer);
    zsock_destroy (&self->peer_sub);
    zhashx_destroy (&self->incoming);
    zlistx_purge (self->replica_queue);
    self->replica = S_REPLICA_OFF;
}

//  (Re)start replication from the peer: subscribe, and ask for its
//  snapshot once the subscription carries traffic.
static void
s_replica_start (s_self_t *self)
{
    s_replica_stop (self);
    self->peer_sub = zmx__sock_new (ZMQ_SUB);
    self->peer_dealer = zmx__sock_new (ZMQ_DEALER);
    if (!self->peer_sub || !self->peer_dealer) {
        //  Left off until the next PASSIVE notice from Binary Star
        zmx_log_error (self->name, "cannot replicate from the peer: %s",
                       zmq_strerror (zmq_errno ()));
        s_replica_stop (self);
        return;
    }
    zsock_set_linger (self->peer_sub, 0);
    zsock_set_linger (self->peer_dealer, 0);
    zsock_set_rcvhwm (self->peer_sub, 0);   //  Bounded by the peer's publish-hwm
    zsock_set_subscribe (self->peer_sub, "");
    if (self->peer_cert) {
        zmx_security_client_curve (self->peer_sub, self->peer_cert, self->peer_key);
        zmx_security_client_curve (self->peer_dealer, self->peer_cert, self->peer_key);
    }
    zsock_connect (self->peer_sub, "%s", self->peer_publisher);
    zsock_connect (self->peer_dealer, "%s", self->peer_endpoint);
    self->replica = S_REPLICA_LIVE;
    self->peer_heard = zclock_mono ();
}

//  An entry built from a peer's KVPUB or KVSYNC, sequence included.
static s_entry_t *
s_entry_from_peer (const zmx_chp_view_t *view)
{
    s_entry_t *entry = s_entry_new (view->key, view->key_size, view->value, view->value_size);
    entry->sequence = view->sequence;
    if (view->uuid) {
        entry->has_uuid = true;
        memcpy (entry->uuid, view->uuid, ZMX_CHP_UUID_SIZE);
    }
    s_entry_set_properties (entry, view->properties, view->properties_size);
    uint64_t ttl = 0;
    if (view->value_size && zmx_chp_ttl (view->properties, view->properties_size, &ttl) == 1)
        entry->expiry = zclock_time () + (int64_t) ttl * 1000;
    return entry;
}

//  True (counted, logged) if `entry` from the peer is a new key that
//  `map` has no room for: our max-keys bounds what the peer can make us
//  hold. Only peers with a larger max-keys than ours can cause it.
static bool
s_replica_full (s_self_t *self, zhashx_t *map, const s_entry_t *entry)
{
    if (!entry->value_size || zhashx_size (map) < self->max_keys
    ||  zhashx_lookup (map, entry->key))
        return false;
    if (self->counters.replica_dropped++ % 1000 == 0)
        zmx_log_warning (self->name, "peer sends more than max-keys (%zu): %s left out "
                         "(%" PRIu64 " so far)", self->max_keys, entry->key,
                         self->counters.replica_dropped);
    return true;
}

//  Apply one of the peer's updates, keeping its sequence. Returns -1 (and
//  frees it) if it does not follow on from ours.
static int
s_replicate (s_self_t *self, s_entry_t *entry)
{
    if (entry->sequence <= self->sequence) {
        s_entry_release (&entry);
        return 0;
    }
    if (entry->sequence != self->sequence + 1) {
        s_entry_release (&entry);
        return -1;
    }
    self->sequence = entry->sequence;
    if (s_replica_full (self, self->store, entry)) {
        s_entry_release (&entry);
        return 0;
    }
    if (self->log_fd >= 0)
        s_record_encode (self, &self->log_buffer, entry);
    self->counters.replicated++;
    s_store_apply (self, entry);
    return 0;
}

//  The peer's snapshot is complete: it replaces our store, then the
//  updates queued meanwhile apply; the log restarts from a snapshot file.
static void
s_replica_install (s_self_t *self, uint64_t sequence)
{
    zhashx_purge (self->ephemeral);
    zhashx_destroy (&self->store);
    self->store = self->incoming;
    self->incoming = NULL;
    self->live_bytes = 0;
    for (s_entry_t *entry = (s_entry_t *) zhashx_first (self->store); entry;
         entry = (s_entry_t *) zhashx_next (self->store)) {
        self->live_bytes += entry->key_size + entry->value_size;
        if (entry->expiry)
            zhashx_insert (self->ephemeral, entry->key, entry);
    }
    self->sequence = sequence;
    self->log_buffer.size = 0;
    if (self->log_fd >= 0)
        s_compact (self);
    self->replica = S_REPLICA_SYNCED;
    self->counters.replica_snapshots++;
    s_entry_t *entry;
    while ((entry = (s_entry_t *) zlistx_detach (self->replica_queue, NULL)))
        if (s_replicate (self, entry)) {
            s_replica_start (self);     //  A gap: start over
            return;
        }
    s_log_flush (self, false);
}

static void
s_handle_peer_sub (s_self_t *self)
{
    zmx_chp_msg_t msg;
    if (zmx_chp_recv (&msg, zsock_resolve (self->peer_sub), ZMQ_DONTWAIT))
        return;
    zmx_chp_view_t view;
    if (zmx_chp_decode_msg (&msg, 0, ZMX_CHP_CLIENT_UPDATES, &view, NULL) == 0) {
        self->peer_heard = zclock_mono ();
        if (self->replica == S_REPLICA_LIVE) {
            self->incoming = s_map_new (true);
            zmx_chp_view_t icanhaz = { .command = ZMX_CHP_ICANHAZ };
            zmx_chp_send (zsock_resolve (self->peer_dealer), NULL, &icanhaz, ZMQ_DONTWAIT);
            self->replica = S_REPLICA_SYNCING;
            self->peer_asked = self->peer_heard;
        }
        if (view.command == ZMX_CHP_KVPUB) {
            s_pending_seen (self, view.uuid);
            if (self->replica == S_REPLICA_SYNCING) {
                //  Bounded as a client's queue is: past it, start over
                if (zlistx_size (self->replica_queue) >= ZMX_CLONE_MAX_QUEUED)
                    s_replica_start (self);
                else
                    zlistx_add_end (self->replica_queue, s_entry_from_peer (&view));
            }
            else
            if (s_replicate (self, s_entry_from_peer (&view)))
                s_replica_start (self);
        }
        else
        if (self->replica == S_REPLICA_SYNCED && view.sequence
        &&  view.sequence != self->sequence)
            s_replica_start (self);     //  HUGZ: we missed some, or it went back
    }
    else
        self->counters.malformed++;
    zmx_chp_msg_close (&msg);
}

static void
s_handle_peer_dealer (s_self_t *self)
{
    zmx_chp_msg_t msg;
    if (zmx_chp_recv (&msg, zsock_resolve (self->peer_dealer), ZMQ_DONTWAIT))
        return;
    zmx_chp_view_t view;
    if (zmx_chp_decode_msg (&msg, 0, ZMX_CHP_CLIENT_SNAPSHOT, &view, NULL) == 0
    &&  self->replica == S_REPLICA_SYNCING) {
        self->peer_heard = self->peer_asked = zclock_mono ();
        if (view.command == ZMX_CHP_KTHXBAI)
            s_replica_install (self, view.sequence);
        else
        if (view.value_size) {
            s_entry_t *entry = s_entry_from_peer (&view);
            if (s_replica_full (self, self->incoming, entry))
                s_entry_release (&entry);
            else
                s_map_put (self->incoming, entry);
        }
    }
    else
        self->counters.malformed++;
    zmx_chp_msg_close (&msg);
}

//  Take over: stop mirroring the peer and apply the client updates it
//  never published, in the order they came.
static void
s_become_active (s_self_t *self)
{
    if (self->active)
        return;
    self->active = true;
    self->counters.takeovers++;
    s_replica_stop (self);
    s_log_flush (self, false);
    s_entry_t *entry;
    while ((entry = (s_entry_t *) zlistx_detach (self->pending, NULL))) {
        s_update (self, entry);
        self->counters.pending_applied++;
        if (self->batch_size == S_BATCH)
            s_commit (self);
    }
    s_commit (self);
    zhashx_purge (self->pending_index);
    zhashx_purge (self->seen_index);
    zlistx_purge (self->seen);
    zmx_log_notice (self->name, "active at sequence %" PRIu64 " (%" PRIu64 " pending updates "
                    "applied)", self->sequence, self->counters.pending_applied);
}

static void
s_handle_bstar (s_self_t *self)
{
    char *state = zstr_recv (zmx_bstar_socket (self->bstar));
    if (state && streq (state, ZMX_BSTAR_NOTIFY_ACTIVE))
        s_become_active (self);
    else
    if (state && streq (state, ZMX_BSTAR_NOTIFY_PASSIVE)) {
        if (self->active)
            zmx_log_notice (self->name, "passive: mirroring %s", self->peer_endpoint);
        self->active = false;
        if (self->replica == S_REPLICA_OFF)
            s_replica_start (self);
    }
    else
        zmx_log_error (self->name, "Binary Star %s: serving nobody until restarted",
                       state? state: "(interrupted)");
    zstr_free (&state);
}

//  The keys s_self_configure and s_pair_configure read (zmxd refuses
//  any other)
const char *const zmx__clone_server_keys [] = {
    "endpoint", "publisher-endpoint", "collector-endpoint", "collector-pull-endpoint",
    "kvsimple-snapshot-endpoint", "kvsimple-publisher-endpoint", "kvsimple-collector-endpoint",
    "heartbeat-interval", "max-keys",
    "max-value-size", "max-bytes", "compact-bytes", "max-snapshots", "fsync", "data-directory",
    "publish-hwm", "bstar/primary", "bstar/heartbeat", "bstar/max-pending", "bstar/local",
    "bstar/remote", "bstar/peer-endpoint", "bstar/peer-publisher", "bstar/client-certificate",
    "bstar/server-key", NULL
};

//  Read the "bstar" subsection, if any. Returns 0, or -1 (logged).
static int
s_pair_configure (s_self_t *self, zconfig_t *config, zmx_security_t *security)
{
    zconfig_t *section = config? zconfig_locate (config, "bstar"): NULL;
    self->active = section == NULL;
    if (!section)
        return 0;
    bool valid = true;
    bool primary = zmx__config_int (section, "primary", 1, 0, 1, &valid) == 1;
    int heartbeat = (int) zmx__config_int (section, "heartbeat", ZMX_BSTAR_HEARTBEAT,
                                           ZMX_BSTAR_HEARTBEAT_MIN, ZMX_BSTAR_HEARTBEAT_MAX,
                                           &valid);
    self->max_pending = zmx__config_int (section, "max-pending", ZMX_CLONE_MAX_PENDING, 1,
                                         100000000, &valid);
    const char *local = zmx__config_str (section, "local", NULL);
    const char *remote = zmx__config_str (section, "remote", NULL);
    const char *peer = zmx__config_str (section, "peer-endpoint", NULL);
    const char *publisher = zmx__config_str (section, "peer-publisher", NULL);
    if (!valid || !zmx__endpoint_valid (peer) || !zmx__endpoint_valid (publisher)) {
        zmx_log_error (self->name, "bstar: peer-endpoint and peer-publisher must be endpoints");
        return -1;
    }
    self->peer_endpoint = strdup (peer);
    self->peer_publisher = strdup (publisher);
    //  With CURVE on, the peer's sockets are CURVE servers: we connect to
    //  them as a client, with these keys
    const char *cert = zmx__config_str (section, "client-certificate", NULL);
    const char *key = zmx__config_str (section, "server-key", NULL);
    if ((cert || key) && zmx__curve_client_store (&self->peer_cert, &self->peer_key, cert, key)) {
        zmx_log_error (self->name, "bstar: client-certificate or server-key unusable");
        return -1;
    }
    self->bstar = self->peer_cert
                ? zmx_bstar_new_curve (security, primary, local, remote, cert, key)
                : zmx_bstar_new (security, primary, local, remote);
    if (!self->bstar || zmx_bstar_set_heartbeat (self->bstar, heartbeat))
        return -1;
    s_replica_start (self);
    return 0;
}

//  -------------------------------------------------------------------------
//  Actor: timers, pipe commands, construction, main loop

static void
s_send_hugz (s_self_t *self)
{
    zmx_chp_view_t view = { .command = ZMX_CHP_HUGZ, .sequence = self->sequence };
    zmx_chp_send (zsock_resolve (self->publisher), NULL, &view, ZMQ_DONTWAIT);
}

//  Subscriptions reaching the publisher: answer with one HUGZ, so that a
//  new subscriber learns at once that it is live and at what sequence
//  (it asks for its snapshot without waiting; see zmx_clone.c). Any
//  number of subscriptions read in one pass gets one HUGZ.
static void
s_handle_publisher (s_self_t *self)
{
    bool subscribed = false;
    zframe_t *frame;
    for (int batch = 0; batch < S_BATCH
                     && (zsock_events (self->publisher) & ZMQ_POLLIN); batch++) {
        frame = zframe_recv (self->publisher);
        if (frame && zframe_size (frame) >= 1 && zframe_data (frame) [0] == 1)
            subscribed = true;
        zframe_destroy (&frame);
    }
    if (subscribed)
        s_send_hugz (self);
}

//  The kvsimple publisher is an XPUB so that what its peers send is read,
//  and counted, rather than dropped unseen: subscriptions (one frame,
//  0 or 1 then a prefix) are fine, anything else is garbage.
static void
s_handle_kvsimple_publisher (s_self_t *self)
{
    void *publisher = zsock_resolve (self->kvsimple_publisher);
    zmx_chp_msg_t msg;
    for (int batch = 0; batch < S_BATCH
                     && zmx_chp_recv (&msg, publisher, ZMQ_DONTWAIT) == 0; batch++) {
        const byte *data = (const byte *) zmq_msg_data (&msg.frames [0]);
        if (msg.count != 1 || zmq_msg_size (&msg.frames [0]) == 0 || data [0] > 1)
            s_kvsimple_malformed (self, "message to the publisher", "not a subscription");
        zmx_chp_msg_close (&msg);
    }
}

//  Serve whichever kvsimple sockets have input (polled, when they exist,
//  among the optional sockets).
static void
s_handle_kvsimple (s_self_t *self)
{
    if (zsock_events (self->kvsimple_collector) & ZMQ_POLLIN)
        s_handle_kvsimple_collector (self);
    if (zsock_events (self->kvsimple_router) & ZMQ_POLLIN)
        s_handle_kvsimple_router (self);
    if (zsock_events (self->kvsimple_publisher) & ZMQ_POLLIN)
        s_handle_kvsimple_publisher (self);
}

static void
s_timers (s_self_t *self)
{
    int64_t now = zclock_mono ();
    if (now >= self->next_sweep) {
        //  A passive server gets its expiries from the active one
        if (self->active)
            s_sweep (self);
        self->next_sweep = now + S_SWEEP_MSEC;
    }
    if (now >= self->next_hugz) {
        s_send_hugz (self);
        self->next_hugz = now + self->interval;
    }
    //  Peer silent, or not answering our ICANHAZ? (it refuses while it is
    //  not active itself): start over, and ask again
    if ((self->replica != S_REPLICA_OFF && now - self->peer_heard > 3 * self->interval)
    ||  (self->replica == S_REPLICA_SYNCING && now - self->peer_asked > 3 * self->interval))
        s_replica_start (self);
    if (now >= self->next_fsync) {
        if (self->fsync == S_FSYNC_PERIODIC)
            s_log_flush (self, true);
        self->next_fsync = now + S_FSYNC_PERIOD;
    }
}

static void
s_send_counters (void *args)
{
    s_self_t *self = (s_self_t *) args;
    const s_counters_t *c = &self->counters;
    const zmx_service_counter_t counters [] = {
        { "keys", zhashx_size (self->store) },
        { "ephemeral_keys", zhashx_size (self->ephemeral) },
        { "sequence", self->sequence },
        { "bytes", self->live_bytes },
        { "updates", c->updates },
        { "deletes", c->deletes },
        { "expired", c->expired },
        { "malformed", c->malformed },
        { "rejected", c->rejected },
        { "snapshots_active", zlistx_size (self->snapshots) },
        { "snapshots_sent", c->snapshots_sent },
        { "snapshots_refused", c->snapshots_refused },
        { "log_bytes", self->log_bytes },
        { "log_records_loaded", c->log_records_loaded },
        { "compactions", c->compactions },
        { "fsyncs", c->fsyncs },
        { "active", self->active? 1: 0 },
        { "replicated", c->replicated },
        { "replica_snapshots", c->replica_snapshots },
        { "pending", zlistx_size (self->pending) },
        { "replica_dropped", self->counters.replica_dropped },
        { "pending_applied", c->pending_applied },
        { "pending_dropped", c->pending_dropped },
        { "takeovers", c->takeovers },
        { "kvsimple_malformed", c->kvsimple_malformed }
    };
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        if (self->log_fd >= 0) {
            s_log_flush (self, true);
            close (self->log_fd);
        }
        for (size_t index = 0; index < self->batch_size; index++)
            s_entry_release (&self->batch [index]);
        free (self->batch);
        zlistx_destroy (&self->snapshots);
        s_replica_stop (self);
        zmx_bstar_destroy (&self->bstar);
        zlistx_destroy (&self->replica_queue);
        zlistx_destroy (&self->pending);
        zhashx_destroy (&self->pending_index);
        zlistx_destroy (&self->seen);
        zhashx_destroy (&self->seen_index);
        free (self->peer_endpoint);
        free (self->peer_publisher);
        free (self->peer_cert);
        free (self->peer_key);
        zhashx_destroy (&self->ephemeral);
        zhashx_destroy (&self->store);
        zsock_destroy (&self->router);
        zsock_destroy (&self->publisher);
        zsock_destroy (&self->collector);
        zsock_destroy (&self->collector_pull);
        zsock_destroy (&self->kvsimple_router);
        zsock_destroy (&self->kvsimple_publisher);
        zsock_destroy (&self->kvsimple_collector);
        zlist_destroy (&self->endpoints);
        free (self->log_buffer.data);
        free (self->directory);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

static int
s_self_configure (s_self_t *self, zconfig_t *config)
{
    bool valid = true;
    self->interval = zmx__config_int (config, "heartbeat-interval",
                                      ZMX_CLONE_HEARTBEAT_INTERVAL, 10, 3600000, &valid);
    self->max_keys = zmx__config_int (config, "max-keys", ZMX_CLONE_MAX_KEYS, 1, 1000000000,
                                      &valid);
    self->max_value_size = zmx__config_int (config, "max-value-size",
                                            ZMX_CLONE_MAX_VALUE_SIZE, 1, 256 * 1024 * 1024,
                                            &valid);
    self->max_bytes = zmx__config_int (config, "max-bytes", ZMX_CLONE_MAX_BYTES, 1,
                                       INT64_MAX, &valid);
    self->compact_bytes = zmx__config_int (config, "compact-bytes", ZMX_CLONE_COMPACT_BYTES,
                                           4096, INT64_MAX, &valid);
    self->max_snapshots = zmx__config_int (config, "max-snapshots", ZMX_CLONE_MAX_SNAPSHOTS,
                                           1, 100000, &valid);
    const char *fsync = zmx__config_str (config, "fsync", "always");
    if (streq (fsync, "always"))
        self->fsync = S_FSYNC_ALWAYS;
    else
    if (streq (fsync, "periodic"))
        self->fsync = S_FSYNC_PERIODIC;
    else
    if (streq (fsync, "never"))
        self->fsync = S_FSYNC_NEVER;
    else {
        zmx_log_error (self->name, "fsync = \"%s\": use always, periodic or never", fsync);
        valid = false;
    }
    const char *directory = zmx__config_str (config, "data-directory", "");
    if (*directory)
        self->directory = strdup (directory);
    return valid? 0: -1;
}

//  Make one socket with its options set before binding (libzmq copies
//  options into an endpoint when it binds), and bind it.
static zsock_t *
s_self_socket (s_self_t *self, zmx_security_t *security, int type, const char *list,
               int hwm, int64_t max_message)
{
    zsock_t *sock = zmx_security_socket (security, type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 0);
    zsock_set_sndhwm (sock, hwm);
    zsock_set_rcvhwm (sock, hwm);
    if (max_message)
        zsock_set_maxmsgsize (sock, max_message);
    if (type == ZMQ_ROUTER)
        zsock_set_router_mandatory (sock, 1);
    zlist_t *bound = zlist_new ();
    zlist_autofree (bound);
    if (zmx__listen_list (security, sock, list, bound, self->name))
        zsock_destroy (&sock);
    else
        zlist_append (self->endpoints, zlist_first (bound));
    zlist_destroy (&bound);
    if (sock && type == ZMQ_SUB)
        zsock_set_subscribe (sock, "");
    if (sock && type == ZMQ_XPUB)
        zsock_set_xpub_verbose (sock, 1);   //  Every subscriber's, not only the first
    return sock;
}

//  Optional: the kvsimple front end for the Guide's clonecli4, made and
//  bound like the CHP sockets. A client needs all three, so all three
//  endpoints are given or none. Returns 0, or -1 (logged).
static int
s_kvsimple_bind (s_self_t *self, zconfig_t *config, zmx_security_t *security, int hwm,
                 int64_t max_message)
{
    const char *snapshot = zmx__config_str (config, "kvsimple-snapshot-endpoint", "");
    const char *publisher = zmx__config_str (config, "kvsimple-publisher-endpoint", "");
    const char *collector = zmx__config_str (config, "kvsimple-collector-endpoint", "");
    int given = (*snapshot != 0) + (*publisher != 0) + (*collector != 0);
    if (given == 0)
        return 0;
    if (given < 3) {
        zmx_log_error (self->name, "kvsimple-snapshot-endpoint, kvsimple-publisher-endpoint "
                       "and kvsimple-collector-endpoint: set all three or none");
        return -1;
    }
    //  What a kvsimple peer may send the router or the publisher is small
    //  (a request, a subscription); more disconnects it
    self->kvsimple_router = s_self_socket (self, security, ZMQ_ROUTER, snapshot, S_ROUTER_HWM,
                                           4096);
    self->kvsimple_publisher = self->kvsimple_router
                             ? s_self_socket (self, security, ZMQ_XPUB, publisher, hwm, 4096)
                             : NULL;
    self->kvsimple_collector = self->kvsimple_publisher
                             ? s_self_socket (self, security, ZMQ_PULL, collector, hwm,
                                              max_message)
                             : NULL;
    if (!self->kvsimple_collector)
        return -1;
    //  The last three bound endpoints are ours
    const char *bound [3] = { zlist_first (self->endpoints) };
    for (size_t index = 3; index < zlist_size (self->endpoints); index++)
        bound [0] = (const char *) zlist_next (self->endpoints);
    bound [1] = (const char *) zlist_next (self->endpoints);
    bound [2] = (const char *) zlist_next (self->endpoints);
    zmx_log_info (self->name, "kvsimple (the Guide's clonecli4): snapshot %s, publisher %s, "
                  "collector %s", bound [0], bound [1], bound [2]);
    return 0;
}

static int
s_self_bind (s_self_t *self, zconfig_t *config, zmx_security_t *security)
{
    bool valid = true;
    int hwm = (int) zmx__config_int (config, "publish-hwm", ZMX_CLONE_PUBLISH_HWM, 1,
                                     100000000, &valid);
    if (!valid)
        return -1;
    //  A KVSET frame is at most a value; the rest are small
    int64_t max_message = (int64_t) self->max_value_size + ZMX_CHP_PROPERTIES_MAX;
    self->router = s_self_socket (self, security, ZMQ_ROUTER,
                                  zmx__config_str (config, "endpoint",
                                                   ZMX_CLONE_SNAPSHOT_ENDPOINT),
                                  S_ROUTER_HWM, 4096);
    self->publisher = self->router? s_self_socket (self, security, ZMQ_XPUB,
                                    zmx__config_str (config, "publisher-endpoint",
                                                     ZMX_CLONE_PUBLISHER_ENDPOINT), hwm,
                                    S_SUBSCRIPTION_MAX)
                                  : NULL;
    self->collector = self->publisher? s_self_socket (self, security, ZMQ_SUB,
                                       zmx__config_str (config, "collector-endpoint",
                                                        ZMX_CLONE_COLLECTOR_ENDPOINT),
                                       hwm, max_message)
                                     : NULL;
    //  Optional: a PULL collector for clients that send KVSET with PUSH
    const char *pull = zmx__config_str (config, "collector-pull-endpoint", "");
    if (self->collector && *pull)
        self->collector_pull = s_self_socket (self, security, ZMQ_PULL, pull, hwm, max_message);
    if (!self->collector || (*pull && !self->collector_pull))
        return -1;
    return s_kvsimple_bind (self, config, security, hwm, max_message);
}

static int
s_self_load (s_self_t *self)
{
    if (!self->directory)
        return 0;
    if (zsys_dir_create ("%s", self->directory)) {
        zmx_log_error (self->name, "cannot create data directory %s: %s", self->directory,
                       strerror (errno));
        return -1;
    }
    if (s_load_snapshot (self) || s_load_log (self))
        return -1;
    zmx_log_info (self->name, "loaded %zu keys at sequence %" PRIu64 " from %s",
                  zhashx_size (self->store), self->sequence, self->directory);
    return 0;
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: "clone");
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    self->store = s_map_new (true);
    self->ephemeral = s_map_new (false);
    self->snapshots = zlistx_new ();
    zlistx_set_destructor (self->snapshots, s_snapshot_free);
    self->batch = (s_entry_t **) malloc (sizeof (s_entry_t *) * S_BATCH);
    assert (self->batch);
    self->log_fd = -1;
    s_crc_init (self);
    self->replica_queue = zlistx_new ();
    zlistx_set_destructor (self->replica_queue, s_entry_destructor);
    self->pending = zlistx_new ();
    zlistx_set_destructor (self->pending, s_entry_destructor);
    self->pending_index = zhashx_new ();
    self->seen = zlistx_new ();
    zlistx_set_destructor (self->seen, (zlistx_destructor_fn *) zstr_free);
    self->seen_index = zhashx_new ();
    self->max_pending = ZMX_CLONE_MAX_PENDING;
    zconfig_t *config = args? args->config: NULL;
    zmx_security_t *security = args? args->security: NULL;
    if (s_self_configure (self, config) || s_self_load (self)
    ||  s_self_bind (self, config, security) || s_pair_configure (self, config, security))
        s_self_destroy (&self);
    return self;
}

//  The sockets to poll: pipe, collector, router, publisher, then those
//  that exist of the PULL collector, Binary Star, the peer sockets (which
//  come and go with replication, so the list is made anew each time) and
//  the kvsimple ones. Sets where the PULL collector and Binary Star are
//  (-1: absent).
static int
s_poll_items (s_self_t *self, zsock_t *pipe, zmq_pollitem_t *items, int *pull_at,
              int *bstar_at)
{
    zsock_t *fixed [] = { pipe, self->collector, self->router, self->publisher };
    zsock_t *optional [] = { self->collector_pull,
                             self->bstar? zmx_bstar_socket (self->bstar): NULL,
                             self->peer_sub, self->peer_dealer, self->kvsimple_collector,
                             self->kvsimple_router, self->kvsimple_publisher };
    int count = 0;
    for (int index = 0; index < 4; index++)
        items [count++] = (zmq_pollitem_t) { zsock_resolve (fixed [index]), 0, ZMQ_POLLIN, 0 };
    *pull_at = *bstar_at = -1;
    for (size_t index = 0; index < sizeof optional / sizeof optional [0]; index++)
        if (optional [index]) {
            if (index == 0)
                *pull_at = count;
            if (index == 1)
                *bstar_at = count;
            items [count++] = (zmq_pollitem_t) { zsock_resolve (optional [index]), 0,
                                                 ZMQ_POLLIN, 0 };
        }
    return count;
}

void
zmx_clone_server_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    if (!zmx_service_start_status (pipe, self != NULL, self? self->endpoints: NULL,
                                   "invalid configuration, data or endpoint (see log)"))
        return;
    zmx_log_info (self->name, "CHP server: snapshot %s, publisher %s, collector %s",
                  (char *) zlist_first (self->endpoints), (char *) zlist_next (self->endpoints),
                  (char *) zlist_next (self->endpoints));
    bool more = false;
    while (!self->terminated) {
        int64_t now = zclock_mono ();
        int64_t wake = self->next_sweep < self->next_hugz? self->next_sweep: self->next_hugz;
        //  A snapshot whose reader is full is retried every millisecond
        long timeout = more? 0: zlistx_size (self->snapshots)? 1
                     : wake > now? (long) (wake - now): 0;
        zmq_pollitem_t items [12];
        int pull_at, bstar_at;
        int count = s_poll_items (self, pipe, items, &pull_at, &bstar_at);
        if (zmq_poll (items, count, timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;              //  Context terminated
        }
        if (items [0].revents & ZMQ_POLLIN)
            self->terminated = zmx_service_serve_pipe (self->pipe, self->endpoints,
                                                       s_send_counters, self);
        if (items [1].revents & ZMQ_POLLIN)
            s_handle_collector (self, self->collector);
        if (pull_at > 0 && (items [pull_at].revents & ZMQ_POLLIN))
            s_handle_collector (self, self->collector_pull);
        if (items [2].revents & ZMQ_POLLIN)
            s_handle_router (self);
        if (items [3].revents & ZMQ_POLLIN)
            s_handle_publisher (self);
        if (bstar_at > 0 && (items [bstar_at].revents & ZMQ_POLLIN))
            s_handle_bstar (self);
        if (self->kvsimple_router)
            s_handle_kvsimple (self);
        for (int batch = 0; batch < S_BATCH && self->peer_sub
                         && (zsock_events (self->peer_sub) & ZMQ_POLLIN); batch++)
            s_handle_peer_sub (self);
        for (int batch = 0; batch < S_BATCH && self->peer_dealer
                         && (zsock_events (self->peer_dealer) & ZMQ_POLLIN); batch++)
            s_handle_peer_dealer (self);
        if (self->replica != S_REPLICA_OFF && s_log_flush (self, false))
            self->terminated = true;
        more = s_snapshots_pump (self);
        s_timers (self);
    }
    s_self_destroy (&self);
}
