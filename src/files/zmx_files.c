/*  =========================================================================
    zmx_files - file distribution service speaking 35/FILEMQ (version 2)

    Design notes
    - The published trees are known as one table, virtual path -> file,
      rebuilt by a scan every poll-interval and compared with the previous
      one. New and changed files are hashed in slices between messages
      (a 1 GiB file must not stop heartbeats), and announced to the
      subscribed clients only once their SHA-1 (the file's identity) and
      XXH3-128 (what clients check a transfer against) are known.
    - Per client the server keeps its subscriptions, a queue of pending
      operations (one small entry per file, deduplicated by name), at most
      one open file with its offset, its credit, and at most one encoded
      message that the socket refused (send queue full). File data is read
      with pread() chunk by chunk, never more than the client's credit,
      straight into the frame that libzmq then sends without a copy.
    - Sends never block: a full send queue parks the message and the client
      is retried on the next turn; an unknown peer (gone) is forgotten.
    =========================================================================
*/
#include "zmx_files_internal.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_HASH_SLICE (8 * 1024 * 1024)  //  bytes hashed per loop turn
#define S_BUFFER_MIN (1024 * 1024)      //  read buffer, at least
#define S_PUMP_BATCH 16                 //  messages per client per turn
#define S_SEND_HWM 1000                 //  per-peer send queue (messages)
#define S_MAX_DEPTH 32                  //  directory nesting we follow
#define S_MAX_RESUME 1000               //  partial files a client may offer

typedef struct {
    char *directory;            //  Local directory as configured
    char *real;                 //  Its realpath, for containment checks
    char *path;                 //  Virtual path ("/" or "/x/y", no trailing /)
} s_publish_t;

typedef struct {
    char *vpath;                //  Virtual path, the table key
    char *local;                //  Local path
    s_publish_t *publish;       //  Tree it belongs to
    uint64_t size;              //  Bytes, at the last scan
    int64_t mtime;              //  Modification time, nsec
    uint32_t mode;              //  Permission bits (0777), at the last scan
    uint64_t generation;        //  Bumped on every change
    char digest [41];           //  SHA-1 hex once hashed
    char xxh128 [ZMX__XXH128_HEX + 1];  //  XXH3-128 hex, hashed alongside
    bool ready;                 //  Digest matches size/mtime
    bool seen;                  //  Found by the current scan
} s_file_t;

typedef struct {
    uint8_t operation;          //  ZMX_FMQ_CREATE or ZMX_FMQ_DELETE
    char *vpath;                //  File it concerns
    char *name;                 //  Name relative to the subscription
} s_pending_t;

typedef struct {
    char *vpath;                //  File being sent, NULL when idle
    char *name;                 //  Its name for this client
    int fd;                     //  Open file, or -1
    uint64_t offset;            //  Next byte to send
    uint64_t size;              //  Bytes to send in all
    uint32_t mode;              //  Permission bits announced (X-ZMX-MODE)
    char digest [41];           //  SHA-1 announced with the chunks
    char xxh128 [ZMX__XXH128_HEX + 1];  //  XXH3-128 announced with them
} s_transfer_t;

typedef struct {
    zframe_t *routing_id;       //  ROUTER identity of the peer
    char *key;                  //  Same, as hex, for the clients table
    bool refused;               //  SRSLY sent: ignore until silent
    int64_t expiry;             //  Dead if silent past this
    int64_t last_sent;          //  When we last sent it anything
    uint64_t credit;            //  Bytes we may still send
    uint64_t sequence;          //  Next CHEEZBURGER sequence
    zlist_t *subscriptions;     //  Virtual paths (autofree)
    zlistx_t *queue;            //  s_pending_t, oldest first
    zhashx_t *queued;           //  vpath -> handle in queue
    zhashx_t *resume;           //  sha1 -> offset (as uintptr_t)
    s_transfer_t transfer;      //  The file being sent
    zframe_t *parked;           //  A message the socket refused
} s_client_t;

typedef struct {
    uint64_t bytes_sent, chunks_sent, files_sent, files_cached, files_resumed;
    uint64_t bytes_resumed, deletes_sent, malformed, rtfm_sent, srsly_sent;
    uint64_t clients_expired, scans, files_skipped;
} s_counters_t;

typedef struct {
    char *vpath;                //  File being hashed, NULL when idle
    uint64_t generation;        //  Its generation when hashing began
    int fd;                     //  Open file, or -1
    zmx__sha1_t *digest;        //  Running SHA-1 (the file's identity)
    zmx__xxh128_t *xxh128;      //  Running XXH3-128 (the transfer check)
} s_hasher_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    zsock_t *router;            //  The service socket
    char *name;                 //  Instance name for logs
    zlist_t *endpoints;         //  Bound endpoints
    zlistx_t *publishes;        //  s_publish_t
    zhashx_t *files;            //  vpath -> s_file_t
    zlistx_t *to_hash;          //  vpaths waiting for a digest (autofree)
    s_hasher_t hasher;          //  Digest in progress
    zhashx_t *clients;          //  hex routing id -> s_client_t
    byte *buffer;               //  Read buffer
    size_t buffer_size;
    int64_t interval, liveness, poll_interval;
    uint64_t chunk_size, max_credit;
    size_t max_clients, max_files, max_subscriptions;
    int64_t next_tick, next_scan;
    bool busy;                  //  Some client could send more now
    s_counters_t counters;
    int64_t last_warning;       //  Rate limit of warnings from peer input
    bool terminated;
} s_self_t;

//  -------------------------------------------------------------------------
//  Paths

//  True if `path` is a clean virtual path: starts with "/", no empty, "."
//  or ".." component, no trailing "/" (except "/" itself), printable.
static bool
s_vpath_valid (const char *path)
{
    if (!path || path [0] != '/' || !zmx_fmq_string_valid (path))
        return false;
    if (streq (path, "/"))
        return true;
    const char *component = path + 1;
    while (true) {
        const char *slash = strchr (component, '/');
        size_t size = slash? (size_t) (slash - component): strlen (component);
        if (size == 0 || (size == 1 && component [0] == '.')
        ||  (size == 2 && component [0] == '.' && component [1] == '.'))
            return false;
        if (!slash)
            return true;
        component = slash + 1;
    }
}

//  The name of `vpath` relative to subscription `path`, or NULL if the
//  subscription does not cover it. Points into vpath.
static const char *
s_relative (const char *path, const char *vpath)
{
    size_t size = strlen (path);
    if (streq (path, "/"))
        return vpath + 1;
    if (strncmp (vpath, path, size) != 0)
        return NULL;
    if (vpath [size] == '/')
        return vpath + size + 1;
    if (vpath [size] == 0) {
        const char *slash = strrchr (vpath, '/');
        return slash + 1;       //  A subscription to one file
    }
    return NULL;
}

//  True if `local` resolves inside `real` (a realpath).
static bool
s_contained (const char *real, const char *local)
{
    char *resolved = realpath (local, NULL);
    size_t size = strlen (real);
    bool inside = resolved && strncmp (resolved, real, size) == 0
               && (resolved [size] == '/' || (size == 1 && real [0] == '/'));
    free (resolved);
    return inside;
}

//  True if something is, or may soon be, published at `path`: "/" (even
//  with no publish section), a published path or an ancestor of one, or a
//  file or directory that exists inside a published tree now. Anything
//  else can never receive a file, so a subscription to it is refused
//  rather than answered with a mirror that stays empty.
static bool
s_path_published (s_self_t *self, const char *path)
{
    if (streq (path, "/"))
        return true;
    for (s_publish_t *publish = (s_publish_t *) zlistx_first (self->publishes); publish;
         publish = (s_publish_t *) zlistx_next (self->publishes)) {
        if (s_relative (path, publish->path))
            return true;            //  The publication is at or under path
        const char *rest = streq (publish->path, "/")? path:
                           strncmp (path, publish->path, strlen (publish->path)) == 0?
                           path + strlen (publish->path): NULL;
        if (!rest || *rest != '/')
            continue;
        char *local = zsys_sprintf ("%s%s", publish->real, rest);
        struct stat info;
        bool found = stat (local, &info) == 0 && (S_ISDIR (info.st_mode)
                                                  || S_ISREG (info.st_mode))
                  && s_contained (publish->real, local);
        free (local);
        if (found)
            return true;
    }
    return false;
}

static void
s_lowercase (char *text)
{
    for (; *text; text++)
        if (*text >= 'A' && *text <= 'Z')
            *text = (char) (*text + 'a' - 'A');
}

//  -------------------------------------------------------------------------
//  Sending

//  Send a frame to the client without blocking; the frame is consumed. On
//  a full queue the frame is parked; returns -1 if the peer is gone.
static int
s_send (s_self_t *self, s_client_t *client, zframe_t **frame_p)
{
    if (client->parked) {
        //  Only control messages get here while a chunk waits; the peer
        //  hears from us as soon as the queue drains, so they can go.
        zframe_destroy (frame_p);
        return 0;
    }
    void *socket = zsock_resolve (self->router);
    if (zmq_send (socket, zframe_data (client->routing_id), zframe_size (client->routing_id),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0) {
        if (zmq_errno () == EAGAIN) {
            client->parked = *frame_p;
            *frame_p = NULL;
            return 0;
        }
        zframe_destroy (frame_p);
        return -1;
    }
    //  zframe_send hands the frame's buffer to libzmq: a chunk is not
    //  copied again on its way to the socket
    if (zframe_send (frame_p, socket, 0) != 0)
        zframe_destroy (frame_p);
    client->last_sent = zclock_mono ();
    return 0;
}

static int
s_send_msg (s_self_t *self, s_client_t *client, zmx_fmq_msg_t *msg)
{
    zframe_t *frame = zmx_fmq_encode (msg);
    assert (frame);             //  Our own messages are always valid
    return s_send (self, client, &frame);
}

static int
s_send_simple (s_self_t *self, s_client_t *client, int id)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, id);
    return s_send_msg (self, client, &msg);
}

//  Send RTFM or SRSLY to a peer that may not have client state.
static void
s_send_error (s_self_t *self, zframe_t *routing_id, int id, const char *reason)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, id);
    snprintf (msg.reason, sizeof msg.reason, "%s", reason);
    zframe_t *frame = zmx_fmq_encode (&msg);
    void *socket = zsock_resolve (self->router);
    if (zmq_send (socket, zframe_data (routing_id), zframe_size (routing_id),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send (socket, zframe_data (frame), zframe_size (frame), 0);
    zframe_destroy (&frame);
    if (id == ZMX_FMQ_RTFM)
        self->counters.rtfm_sent++;
    else
        self->counters.srsly_sent++;
}

//  -------------------------------------------------------------------------
//  Clients

static void
s_transfer_close (s_transfer_t *transfer)
{
    if (transfer->fd >= 0)
        close (transfer->fd);
    transfer->fd = -1;
    zstr_free (&transfer->vpath);
    zstr_free (&transfer->name);
}

static void
s_pending_free (void **item_p)
{
    s_pending_t *pending = (s_pending_t *) *item_p;
    if (pending) {
        free (pending->vpath);
        free (pending->name);
        free (pending);
        *item_p = NULL;
    }
}

static void
s_client_free (void **item_p)
{
    s_client_t *client = (s_client_t *) *item_p;
    if (client) {
        s_transfer_close (&client->transfer);
        zhashx_destroy (&client->queued);
        zlistx_destroy (&client->queue);
        zhashx_destroy (&client->resume);
        zlist_destroy (&client->subscriptions);
        zframe_destroy (&client->routing_id);
        zframe_destroy (&client->parked);
        free (client->key);
        free (client);
        *item_p = NULL;
    }
}

static s_client_t *
s_client_new (s_self_t *self, zframe_t *routing_id)
{
    s_client_t *client = (s_client_t *) zmalloc (sizeof (s_client_t));
    client->routing_id = zframe_dup (routing_id);
    client->key = zframe_strhex (routing_id);
    client->expiry = zclock_mono () + self->interval * self->liveness;
    client->subscriptions = zlist_new ();
    zlist_autofree (client->subscriptions);
    client->queue = zlistx_new ();
    zlistx_set_destructor (client->queue, s_pending_free);
    client->queued = zhashx_new ();
    client->resume = zhashx_new ();
    client->transfer.fd = -1;
    return client;
}

//  Queue an operation for a client, replacing a queued one on the same
//  file (the newest state of a file is all that matters).
static void
s_client_queue (s_client_t *client, uint8_t operation, const char *vpath, const char *name)
{
    void *handle = zhashx_lookup (client->queued, vpath);
    if (handle)
        zlistx_delete (client->queue, handle);
    s_pending_t *pending = (s_pending_t *) zmalloc (sizeof (s_pending_t));
    pending->operation = operation;
    pending->vpath = strdup (vpath);
    pending->name = strdup (name);
    handle = zlistx_add_end (client->queue, pending);
    zhashx_update (client->queued, vpath, handle);
    //  A newer version of the file being sent replaces that transfer
    if (client->transfer.vpath && streq (client->transfer.vpath, vpath))
        s_transfer_close (&client->transfer);
}

//  The name a client knows `vpath` by, or NULL if not subscribed to it.
static const char *
s_client_covers (s_client_t *client, const char *vpath)
{
    for (const char *path = (const char *) zlist_first (client->subscriptions); path;
         path = (const char *) zlist_next (client->subscriptions)) {
        const char *name = s_relative (path, vpath);
        if (name)
            return name;
    }
    return NULL;
}

static void
s_announce (s_self_t *self, uint8_t operation, const char *vpath)
{
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients)) {
        const char *name = client->refused? NULL: s_client_covers (client, vpath);
        if (name) {
            s_client_queue (client, operation, vpath, name);
            self->busy = true;
        }
    }
}

//  Begin sending the next queued operation. Returns false if the queue
//  is empty.
static bool
s_client_next (s_self_t *self, s_client_t *client)
{
    s_pending_t *pending = (s_pending_t *) zlistx_detach (client->queue, NULL);
    if (!pending)
        return false;
    zhashx_delete (client->queued, pending->vpath);
    s_file_t *file = (s_file_t *) zhashx_lookup (self->files, pending->vpath);
    s_transfer_t *transfer = &client->transfer;
    if (pending->operation == ZMX_FMQ_DELETE || (file && file->ready)) {
        transfer->vpath = pending->vpath;
        transfer->name = pending->name;
        pending->vpath = pending->name = NULL;
    }
    if (transfer->vpath && pending->operation == ZMX_FMQ_CREATE) {
        transfer->size = file->size;
        transfer->mode = file->mode;
        memcpy (transfer->digest, file->digest, sizeof transfer->digest);
        memcpy (transfer->xxh128, file->xxh128, sizeof transfer->xxh128);
        transfer->offset = 0;
        if (s_contained (file->publish->real, file->local))
            transfer->fd = open (file->local, O_RDONLY | O_CLOEXEC);
        if (transfer->fd < 0) {
            zmx_log_warning (self->name, "cannot open %s: %s", file->local, strerror (errno));
            s_transfer_close (transfer);
        }
        else
            //  Read front to back: a larger read-ahead for a file not cached
            posix_fadvise (transfer->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
        uintptr_t offset = (uintptr_t) zhashx_lookup (client->resume, file->digest);
        if (transfer->fd >= 0 && offset && offset - 1 <= transfer->size) {
            //  Offsets are stored plus one so that zero is "absent"
            transfer->offset = offset - 1;
            zhashx_delete (client->resume, file->digest);
            self->counters.files_resumed++;
            self->counters.bytes_resumed += transfer->offset;
        }
    }
    s_pending_free ((void **) &pending);
    return true;
}

//  Send one message of the current transfer. Returns 1 if sent, 0 if it
//  needs credit, -1 if the peer is gone.
static int
s_client_send_chunk (s_self_t *self, s_client_t *client)
{
    s_transfer_t *transfer = &client->transfer;
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_CHEEZBURGER);
    msg.sequence = client->sequence;
    snprintf (msg.filename, sizeof msg.filename, "%s", transfer->name);
    msg.offset = transfer->offset;
    msg.headers = zhash_new ();
    zhash_autofree (msg.headers);
    char number [24];
    snprintf (number, sizeof number, "%zu", zlistx_size (client->queue));
    zhash_insert (msg.headers, "QUEUED", number);
    zframe_t *frame = NULL;
    if (transfer->fd < 0) {
        msg.operation = ZMX_FMQ_DELETE;
        msg.eof = 1;
        frame = zmx_fmq_encode (&msg);
    }
    else {
        uint64_t left = transfer->size - transfer->offset;
        uint64_t size = left < self->chunk_size? left: self->chunk_size;
        if (size > client->credit)
            size = client->credit;
        if (size == 0 && left > 0) {
            zmx_fmq_clear (&msg);
            return 0;
        }
        msg.operation = ZMX_FMQ_CREATE;
        msg.chunk_size = size;
        msg.eof = transfer->offset + size == transfer->size;
        zhash_insert (msg.headers, "SHA1", transfer->digest);
        zhash_insert (msg.headers, ZMX_FMQ_HEADER_XXH128, transfer->xxh128);
        snprintf (number, sizeof number, "%" PRIu64, transfer->size);
        zhash_insert (msg.headers, "SIZE", number);
        snprintf (number, sizeof number, "%04o", (unsigned) transfer->mode);
        zhash_insert (msg.headers, ZMX_FMQ_HEADER_MODE, number);
        //  The file data goes straight into the frame that libzmq sends
        byte *chunk;
        frame = zmx__fmq_encode_chunk (&msg, &chunk);
        assert (frame);         //  Our own messages are always valid
        ssize_t got = size? pread (transfer->fd, chunk, size, (off_t) transfer->offset): 0;
        if (got != (ssize_t) size) {
            //  The file shrank or vanished: the next scan announces it anew
            s_transfer_close (transfer);
            zframe_destroy (&frame);
            zmx_fmq_clear (&msg);
            return 1;
        }
        client->credit -= size;
        transfer->offset += size;
        self->counters.bytes_sent += size;
        self->counters.chunks_sent++;
    }
    assert (frame);
    int rc = s_send (self, client, &frame);
    zmx_fmq_clear (&msg);
    client->sequence++;
    if (msg.eof) {
        if (msg.operation == ZMX_FMQ_DELETE)
            self->counters.deletes_sent++;
        else
            self->counters.files_sent++;
        s_transfer_close (transfer);
    }
    return rc < 0? -1: 1;
}

//  Send what the client's credit allows, a few messages at a time so that
//  one fast client cannot starve the others. Returns -1 if it is gone.
static int
s_client_pump (s_self_t *self, s_client_t *client)
{
    if (client->parked) {
        zframe_t *frame = client->parked;
        client->parked = NULL;
        if (s_send (self, client, &frame) < 0)
            return -1;
        if (client->parked)
            return 0;
    }
    for (int sent = 0; sent < S_PUMP_BATCH; sent++) {
        if (!client->transfer.vpath && !s_client_next (self, client))
            return 0;
        if (!client->transfer.vpath)
            continue;           //  Nothing to send for that entry
        int rc = s_client_send_chunk (self, client);
        if (rc <= 0)
            return rc;
        if (client->parked)
            return 0;
    }
    self->busy = true;          //  More to do on the next turn
    return 0;
}

static void
s_client_forget (s_self_t *self, s_client_t *client)
{
    zhashx_delete (self->clients, client->key);
}

//  -------------------------------------------------------------------------
//  Commands from clients

//  Queue the files a new subscription covers, minus those in the cache.
//  Returns how many were queued; adds to *bytes_p what they will cost to
//  send, less the prefix of any partial file the client offered to resume
//  (s_take_partials runs first, and s_client_next applies the same rule).
static size_t
s_resync (s_self_t *self, s_client_t *client, const char *path, zhash_t *cache,
          uint64_t *bytes_p)
{
    size_t queued = 0;
    for (s_file_t *file = (s_file_t *) zhashx_first (self->files); file;
         file = (s_file_t *) zhashx_next (self->files)) {
        const char *name = file->ready? s_relative (path, file->vpath): NULL;
        if (!name)
            continue;
        const char *have = cache? (const char *) zhash_lookup (cache, name): NULL;
        if (!have && cache)
            have = (const char *) zhash_lookup (cache, file->vpath);
        if (have && strcasecmp (have, file->digest) == 0) {
            self->counters.files_cached++;
            continue;
        }
        s_client_queue (client, ZMX_FMQ_CREATE, file->vpath, name);
        uintptr_t offset = (uintptr_t) zhashx_lookup (client->resume, file->digest);
        *bytes_p += file->size - (offset && offset - 1 <= file->size? offset - 1: 0);
        queued++;
    }
    return queued;
}

//  Remember the partial files a client offers: "<sha1>@<offset>" values.
static void
s_take_partials (s_client_t *client, zhash_t *cache)
{
    for (const char *value = cache? (const char *) zhash_first (cache): NULL; value;
         value = (const char *) zhash_next (cache)) {
        const char *at = strchr (value, '@');
        if (!at || at - value != 40 || zhashx_size (client->resume) >= S_MAX_RESUME)
            continue;
        char digest [41];
        memcpy (digest, value, 40);
        digest [40] = 0;
        s_lowercase (digest);
        char *end;
        errno = 0;
        unsigned long long offset = strtoull (at + 1, &end, 10);
        if (!errno && end != at + 1 && !*end && offset < UINTPTR_MAX - 1)
            zhashx_update (client->resume, digest, (void *) (uintptr_t) (offset + 1));
    }
}

static void
s_handle_icanhaz (s_self_t *self, s_client_t *client, zmx_fmq_msg_t *msg)
{
    char path [ZMX_FMQ_MAX_STRING + 1];
    snprintf (path, sizeof path, "%s", msg->path);
    size_t size = strlen (path);
    if (size > 1 && path [size - 1] == '/')
        path [size - 1] = 0;
    const char *reason = NULL;
    if (!s_vpath_valid (path))
        reason = "invalid path: must start with / and hold no . or .. component";
    else
    if (zlist_size (client->subscriptions) >= self->max_subscriptions)
        reason = "too many subscriptions";
    else
    if (!s_path_published (self, path))
        reason = "nothing is published at this path";
    if (reason) {
        zmx__log_limited (self->name, &self->last_warning, "refused subscription to '%s': %s",
                          msg->path, reason);
        s_send_error (self, client->routing_id, ZMX_FMQ_SRSLY, reason);
        client->refused = true;
        return;
    }
    zlist_append (client->subscriptions, path);
    const char *resync = msg->options? (const char *) zhash_lookup (msg->options, "RESYNC"): NULL;
    size_t queued = 0;
    uint64_t bytes = 0;
    if (resync && streq (resync, "1")) {
        s_take_partials (client, msg->cache);
        queued = s_resync (self, client, path, msg->cache, &bytes);
    }
    //  Extension, for clients that ask for it: one extra frame, "FILES
    //  BYTES", with the number of files queued and the bytes they will
    //  take, so that a client can tell when it is in sync and how far
    //  along it is. Others get the RFC's one-frame ICANHAZ-OK.
    const char *totals = msg->options?
        (const char *) zhash_lookup (msg->options, ZMX_FMQ_OPTION_TOTALS): NULL;
    bool extended = totals && streq (totals, "1");
    zmx_fmq_msg_t reply;
    zmx_fmq_init (&reply, ZMX_FMQ_ICANHAZ_OK);
    zframe_t *frame = zmx_fmq_encode (&reply);
    void *socket = zsock_resolve (self->router);
    char count [48];
    snprintf (count, sizeof count, "%zu %" PRIu64, queued, bytes);
    if (zmq_send (socket, zframe_data (client->routing_id), zframe_size (client->routing_id),
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0) {
        zmq_send (socket, zframe_data (frame), zframe_size (frame), extended? ZMQ_SNDMORE: 0);
        if (extended)
            zmq_send (socket, count, strlen (count), 0);
        client->last_sent = zclock_mono ();
    }
    zframe_destroy (&frame);
    self->busy = true;
}

static void
s_handle_ohai (s_self_t *self, zframe_t *routing_id, zmx_fmq_msg_t *msg)
{
    if (!streq (msg->protocol, ZMX_FMQ_PROTOCOL) || msg->version != ZMX_FMQ_VERSION) {
        s_send_error (self, routing_id, ZMX_FMQ_RTFM, "only FILEMQ version 2 is spoken here");
        return;
    }
    if (zhashx_size (self->clients) >= self->max_clients) {
        s_send_error (self, routing_id, ZMX_FMQ_SRSLY, "too many clients");
        return;
    }
    s_client_t *client = s_client_new (self, routing_id);
    zhashx_insert (self->clients, client->key, client);
    if (s_send_simple (self, client, ZMX_FMQ_OHAI_OK) < 0)
        s_client_forget (self, client);
}

//  Handle a command from a known client.
static void
s_handle_command (s_self_t *self, s_client_t *client, zmx_fmq_msg_t *msg)
{
    int rc = 0;
    client->expiry = zclock_mono () + self->interval * self->liveness;
    switch (msg->id) {
        case ZMX_FMQ_ICANHAZ:
            s_handle_icanhaz (self, client, msg);
            break;
        case ZMX_FMQ_NOM:
            client->credit = msg->credit > self->max_credit - client->credit
                           ? self->max_credit: client->credit + msg->credit;
            rc = s_client_pump (self, client);
            break;
        case ZMX_FMQ_HUGZ:
            rc = s_send_simple (self, client, ZMX_FMQ_HUGZ_OK);
            break;
        case ZMX_FMQ_HUGZ_OK:
            break;
        case ZMX_FMQ_KTHXBAI:
            rc = -1;
            break;
        default:
            //  OHAI again, or a command only a server sends
            s_send_error (self, client->routing_id, ZMX_FMQ_RTFM, "unexpected command");
            rc = -1;
            break;
    }
    if (rc < 0)
        s_client_forget (self, client);
}

static void
s_handle_router (s_self_t *self)
{
    zmsg_t *message = zmsg_recv (self->router);
    zframe_t *routing_id = message? zmsg_pop (message): NULL;
    zframe_t *body = message? zmsg_first (message): NULL;
    if (!routing_id || !body) {
        zframe_destroy (&routing_id);
        zmsg_destroy (&message);
        return;
    }
    zmx_fmq_msg_t msg;
    const char *error;
    int rc = zmx_fmq_decode (zframe_data (body), zframe_size (body), &msg, &error);
    char *key = zframe_strhex (routing_id);
    s_client_t *client = (s_client_t *) zhashx_lookup (self->clients, key);
    if (rc == -1)
        self->counters.malformed++;     //  Not FILEMQ: dropped silently
    if (rc == 0 && zmsg_size (message) != 1) {
        zmx_fmq_clear (&msg);
        error = "a FILEMQ message is one frame";
        rc = -2;
    }
    if (rc == -2) {
        self->counters.malformed++;
        if (!client || !client->refused) {
            zmx__log_limited (self->name, &self->last_warning, "malformed message: %s", error);
            s_send_error (self, routing_id, ZMX_FMQ_RTFM, error);
        }
        if (client)
            s_client_forget (self, client);
    }
    else
    if (rc == 0 && client && !client->refused)
        s_handle_command (self, client, &msg);
    else
    if (rc == 0 && !client && msg.id == ZMX_FMQ_OHAI)
        s_handle_ohai (self, routing_id, &msg);
    else
    if (rc == 0 && !client)
        s_send_error (self, routing_id, ZMX_FMQ_RTFM, "say OHAI first");
    zmx_fmq_clear (&msg);
    free (key);
    zframe_destroy (&routing_id);
    zmsg_destroy (&message);
}

//  -------------------------------------------------------------------------
//  Directory scans and hashing

static void
s_file_free (void **item_p)
{
    s_file_t *file = (s_file_t *) *item_p;
    if (file) {
        free (file->vpath);
        free (file->local);
        free (file);
        *item_p = NULL;
    }
}

//  Record one regular file found by the scan.
static void
s_scan_found (s_self_t *self, s_publish_t *publish, const char *local, const char *vpath,
              struct stat *info)
{
    int64_t mtime = (int64_t) info->st_mtim.tv_sec * 1000000000 + info->st_mtim.tv_nsec;
    s_file_t *file = (s_file_t *) zhashx_lookup (self->files, vpath);
    if (file && file->seen)
        return;                 //  Two trees publish the same name: first wins
    if (!file) {
        if (zhashx_size (self->files) >= self->max_files) {
            self->counters.files_skipped++;
            return;
        }
        file = (s_file_t *) zmalloc (sizeof (s_file_t));
        file->vpath = strdup (vpath);
        file->local = strdup (local);
        zhashx_insert (self->files, vpath, file);
    }
    file->seen = true;
    file->publish = publish;
    //  Only the permission bits travel: never setuid, setgid or sticky. A
    //  chmod alone is a change too, so that mirrors follow it.
    uint32_t mode = (uint32_t) info->st_mode & 0777;
    if (file->generation == 0 || file->size != (uint64_t) info->st_size || file->mtime != mtime
    ||  file->mode != mode) {
        file->size = (uint64_t) info->st_size;
        file->mtime = mtime;
        file->mode = mode;
        file->generation++;
        file->ready = false;
        zlistx_add_end (self->to_hash, file->vpath);
    }
}

static void
s_scan_dir (s_self_t *self, s_publish_t *publish, const char *local, const char *vpath,
            int depth)
{
    DIR *dir = depth < S_MAX_DEPTH? opendir (local): NULL;
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, ".."))
            continue;
        char *child = zsys_sprintf ("%s/%s", local, entry->d_name);
        char *child_vpath = zsys_sprintf ("%s/%s", streq (vpath, "/")? "": vpath, entry->d_name);
        struct stat info;
        bool usable = lstat (child, &info) == 0 && zmx_fmq_string_valid (child_vpath + 1);
        if (usable && S_ISLNK (info.st_mode))
            //  Links count only when they stay inside the tree, and only
            //  to files: following directory links invites loops.
            usable = s_contained (publish->real, child) && stat (child, &info) == 0
                  && S_ISREG (info.st_mode);
        if (usable && S_ISDIR (info.st_mode))
            s_scan_dir (self, publish, child, child_vpath, depth + 1);
        else
        if (usable && S_ISREG (info.st_mode))
            s_scan_found (self, publish, child, child_vpath, &info);
        else
            self->counters.files_skipped++;
        zstr_free (&child);
        zstr_free (&child_vpath);
    }
    if (dir)
        closedir (dir);
}

static void
s_scan (s_self_t *self)
{
    self->counters.scans++;
    self->counters.files_skipped = 0;
    for (s_file_t *file = (s_file_t *) zhashx_first (self->files); file;
         file = (s_file_t *) zhashx_next (self->files))
        file->seen = false;
    for (s_publish_t *publish = (s_publish_t *) zlistx_first (self->publishes); publish;
         publish = (s_publish_t *) zlistx_next (self->publishes))
        s_scan_dir (self, publish, publish->real, publish->path, 0);
    zlist_t *gone = zlist_new ();
    for (s_file_t *file = (s_file_t *) zhashx_first (self->files); file;
         file = (s_file_t *) zhashx_next (self->files))
        if (!file->seen)
            zlist_append (gone, file);
    for (s_file_t *file = (s_file_t *) zlist_first (gone); file;
         file = (s_file_t *) zlist_next (gone)) {
        if (file->ready)
            s_announce (self, ZMX_FMQ_DELETE, file->vpath);
        zhashx_delete (self->files, file->vpath);
    }
    zlist_destroy (&gone);
    self->next_scan = zclock_mono () + self->poll_interval;
}

static void
s_hasher_reset (s_hasher_t *hasher)
{
    zstr_free (&hasher->vpath);
    if (hasher->fd >= 0)
        close (hasher->fd);
    hasher->fd = -1;
    zmx__sha1_destroy (&hasher->digest);
    zmx__xxh128_destroy (&hasher->xxh128);
}

//  Start hashing the next file waiting for it; false if none is.
static bool
s_hash_begin (s_self_t *self)
{
    char *vpath;
    while ((vpath = (char *) zlistx_detach (self->to_hash, NULL))) {
        s_file_t *file = (s_file_t *) zhashx_lookup (self->files, vpath);
        if (file && !file->ready) {
            self->hasher.fd = open (file->local, O_RDONLY | O_CLOEXEC);
            if (self->hasher.fd >= 0) {
                self->hasher.vpath = vpath;
                self->hasher.generation = file->generation;
                self->hasher.digest = zmx__sha1_new ();
                self->hasher.xxh128 = zmx__xxh128_new ();
                assert (self->hasher.digest && self->hasher.xxh128);
                return true;
            }
        }
        free (vpath);
    }
    return false;
}

//  Hash up to S_HASH_SLICE bytes; announce the file when done.
static void
s_hash_step (s_self_t *self)
{
    s_hasher_t *hasher = &self->hasher;
    if (!hasher->vpath && !s_hash_begin (self))
        return;
    s_file_t *file = (s_file_t *) zhashx_lookup (self->files, hasher->vpath);
    size_t done = 0;
    ssize_t got = 1;
    while (file && file->generation == hasher->generation && done < S_HASH_SLICE
       &&  (got = read (hasher->fd, self->buffer, self->buffer_size)) > 0) {
        zmx__sha1_update (hasher->digest, self->buffer, (size_t) got);
        zmx__xxh128_update (hasher->xxh128, self->buffer, (size_t) got);
        done += (size_t) got;
    }
    if (!file || file->generation != hasher->generation || got < 0)
        s_hasher_reset (hasher);        //  Changed or gone: a scan will requeue it
    else
    if (got == 0) {
        struct stat info;
        int64_t mtime = fstat (hasher->fd, &info) == 0
                      ? (int64_t) info.st_mtim.tv_sec * 1000000000 + info.st_mtim.tv_nsec: -1;
        if (mtime == file->mtime && (uint64_t) info.st_size == file->size) {
            snprintf (file->digest, sizeof file->digest, "%s", zmx__sha1_hex (hasher->digest));
            snprintf (file->xxh128, sizeof file->xxh128, "%s", zmx__xxh128_hex (hasher->xxh128));
            file->ready = true;
            s_announce (self, ZMX_FMQ_CREATE, file->vpath);
        }
        else
            zlistx_add_end (self->to_hash, file->vpath);
        s_hasher_reset (hasher);
    }
}

//  -------------------------------------------------------------------------
//  Timers

static void
s_tick (s_self_t *self)
{
    int64_t now = zclock_mono ();
    zlist_t *dead = zlist_new ();
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients)) {
        if (now >= client->expiry)
            zlist_append (dead, client);
        else
        if (!client->refused && !client->parked && now - client->last_sent >= self->interval
        &&  s_send_simple (self, client, ZMX_FMQ_HUGZ) < 0)
            zlist_append (dead, client);
    }
    for (s_client_t *client = (s_client_t *) zlist_first (dead); client;
         client = (s_client_t *) zlist_next (dead)) {
        zmx_log_info (self->name, "client %s silent or gone, dropped", client->key);
        self->counters.clients_expired++;
        s_client_forget (self, client);
    }
    zlist_destroy (&dead);
    self->next_tick = now + (self->interval / 5 > 10? self->interval / 5: 10);
}

static void
s_pump_all (s_self_t *self)
{
    self->busy = false;
    zlist_t *gone = zlist_new ();
    for (s_client_t *client = (s_client_t *) zhashx_first (self->clients); client;
         client = (s_client_t *) zhashx_next (self->clients))
        if (!client->refused && s_client_pump (self, client) < 0)
            zlist_append (gone, client);
    for (s_client_t *client = (s_client_t *) zlist_first (gone); client;
         client = (s_client_t *) zlist_next (gone))
        s_client_forget (self, client);
    zlist_destroy (&gone);
}

//  -------------------------------------------------------------------------
//  Actor: construction, pipe commands, main loop

static void
s_send_counters (s_self_t *self)
{
    const s_counters_t *c = &self->counters;
    size_t pending = zlistx_size (self->to_hash) + (self->hasher.vpath? 1: 0);
    const zmx_service_counter_t counters [] = {
        { "clients", zhashx_size (self->clients) },
        { "files", zhashx_size (self->files) },
        { "files_pending", pending },
        { "bytes_sent", c->bytes_sent },
        { "chunks_sent", c->chunks_sent },
        { "files_sent", c->files_sent },
        { "files_cached", c->files_cached },
        { "files_resumed", c->files_resumed },
        { "bytes_resumed", c->bytes_resumed },
        { "deletes_sent", c->deletes_sent },
        { "malformed", c->malformed },
        { "rtfm_sent", c->rtfm_sent },
        { "srsly_sent", c->srsly_sent },
        { "clients_expired", c->clients_expired },
        { "scans", c->scans },
        { "files_skipped", c->files_skipped }
    };
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

static void
s_send_list (s_self_t *self)
{
    zmsg_t *reply = zmsg_new ();
    for (s_file_t *file = (s_file_t *) zhashx_first (self->files); file;
         file = (s_file_t *) zhashx_next (self->files))
        if (file->ready)
            zmsg_addstrf (reply, "%" PRIu64 " %s %s", file->size, file->digest, file->vpath);
    zmsg_send (&reply, self->pipe);
}

//  A pipe command other than the common ones zmx_service_handle_pipe
//  answers.
static void
s_handle_pipe_command (s_self_t *self, const char *command)
{
    if (streq (command, ZMX_SERVICE_COUNTERS))
        s_send_counters (self);
    else
    if (streq (command, ZMX_FILES_RESCAN)) {
        s_scan (self);
        while (self->hasher.vpath || zlistx_size (self->to_hash))
            s_hash_step (self);
        zstr_send (self->pipe, "OK");
    }
    else
    if (streq (command, ZMX_FILES_LIST))
        s_send_list (self);
    else
        zmx_service_reply_unknown (self->pipe, command);
}

static void
s_handle_pipe (s_self_t *self)
{
    zmsg_t *request = zmsg_recv (self->pipe);
    char *command = request? zmsg_popstr (request): NULL;
    int rc = zmx_service_handle_pipe (self->pipe, command, self->endpoints);
    if (rc == 1)
        self->terminated = true;
    else
    if (rc == -1)
        s_handle_pipe_command (self, command);
    zstr_free (&command);
    zmsg_destroy (&request);
}

static void
s_publish_free (void **item_p)
{
    s_publish_t *publish = (s_publish_t *) *item_p;
    if (publish) {
        free (publish->directory);
        free (publish->real);
        free (publish->path);
        free (publish);
        *item_p = NULL;
    }
}

static void
s_self_destroy (s_self_t **self_p)
{
    s_self_t *self = *self_p;
    if (self) {
        s_hasher_reset (&self->hasher);
        zhashx_destroy (&self->clients);
        zhashx_destroy (&self->files);
        zlistx_destroy (&self->to_hash);
        zlistx_destroy (&self->publishes);
        zsock_destroy (&self->router);
        zlist_destroy (&self->endpoints);
        free (self->buffer);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

//  The keys s_self_configure and s_self_publishes read (zmxd refuses
//  any other)
const char *const zmx__files_keys [] = {
    "endpoint", "poll-interval", "heartbeat-interval", "heartbeat-liveness", "chunk-size",
    "max-credit", "max-clients", "max-files", "max-subscriptions", "max-message-size",
    "publish/directory", "publish/path", NULL
};

//  Read the "publish" sections; -1 (logged) if one is invalid.
static int
s_self_publishes (s_self_t *self, zconfig_t *config)
{
    for (zconfig_t *item = config? zconfig_child (config): NULL; item; item = zconfig_next (item)) {
        if (!streq (zconfig_name (item), "publish"))
            continue;
        const char *directory = zmx__config_str (item, "directory", NULL);
        const char *path = zmx__config_str (item, "path", "/");
        char *real = directory? realpath (directory, NULL): NULL;
        struct stat info;
        if (!real || stat (real, &info) || !S_ISDIR (info.st_mode) || !s_vpath_valid (path)) {
            zmx_log_error (self->name, "publish: directory '%s' must exist and path '%s' must "
                           "be a clean absolute virtual path", directory? directory: "(none)",
                           path);
            free (real);
            return -1;
        }
        s_publish_t *publish = (s_publish_t *) zmalloc (sizeof (s_publish_t));
        publish->directory = strdup (directory);
        publish->real = real;
        publish->path = strdup (path);
        zlistx_add_end (self->publishes, publish);
    }
    return 0;
}

static int
s_self_configure (s_self_t *self, zconfig_t *config)
{
    bool valid = true;
    self->interval = zmx__config_int (config, "heartbeat-interval",
                                      ZMX_FILES_HEARTBEAT_INTERVAL, 10, 3600000, &valid);
    self->liveness = zmx__config_int (config, "heartbeat-liveness",
                                      ZMX_FILES_HEARTBEAT_LIVENESS, 1, 100, &valid);
    self->poll_interval = zmx__config_int (config, "poll-interval", ZMX_FILES_POLL_INTERVAL,
                                           10, 3600000, &valid);
    self->chunk_size = zmx__config_int (config, "chunk-size", ZMX_FILES_CHUNK_SIZE,
                                        1024, 64 * 1024 * 1024, &valid);
    self->max_credit = zmx__config_int (config, "max-credit", ZMX_FILES_MAX_CREDIT,
                                        1024, INT64_MAX, &valid);
    self->max_clients = zmx__config_int (config, "max-clients", ZMX_FILES_MAX_CLIENTS,
                                         1, 1000000, &valid);
    self->max_files = zmx__config_int (config, "max-files", ZMX_FILES_MAX_FILES,
                                       1, 100000000, &valid);
    self->max_subscriptions = zmx__config_int (config, "max-subscriptions",
                                               ZMX_FILES_MAX_SUBSCRIPTIONS, 1, 10000, &valid);
    self->buffer_size = self->chunk_size > S_BUFFER_MIN? self->chunk_size: S_BUFFER_MIN;
    self->buffer = (byte *) malloc (self->buffer_size);
    if (!valid || s_self_publishes (self, config))
        return -1;
    if (zlistx_size (self->publishes) == 0)
        zmx_log_info (self->name, "no publish section: nothing to distribute yet");
    return 0;
}

static int
s_self_bind (s_self_t *self, zconfig_t *config, zmx_security_t *security)
{
    int64_t max_message = zmx__config_int (config, "max-message-size",
                                           ZMX_FILES_MAX_MESSAGE_SIZE, 64, INT64_MAX, NULL);
    //  Options before the bind: libzmq copies them into an endpoint when it
    //  binds, so options set later would not apply to it
    self->router = zmx_security_socket (security, ZMQ_ROUTER);
    if (!self->router)
        return -1;
    zsock_set_router_mandatory (self->router, 1);
    zsock_set_sndhwm (self->router, S_SEND_HWM);
    zsock_set_maxmsgsize (self->router, max_message);
    zsock_set_linger (self->router, 0);
    return zmx__listen_list (security, self->router,
                             zmx__config_str (config, "endpoint", ZMX_FILES_DEFAULT_ENDPOINT),
                             self->endpoints, self->name);
}

static s_self_t *
s_self_new (zsock_t *pipe, zmx_service_args_t *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->name = strdup (args && args->name? args->name: "files");
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);
    self->publishes = zlistx_new ();
    zlistx_set_destructor (self->publishes, s_publish_free);
    self->files = zhashx_new ();
    zhashx_set_destructor (self->files, s_file_free);
    self->to_hash = zlistx_new ();
    zlistx_set_duplicator (self->to_hash, (zlistx_duplicator_fn *) strdup);
    zlistx_set_destructor (self->to_hash, (zlistx_destructor_fn *) zstr_free);
    self->clients = zhashx_new ();
    zhashx_set_destructor (self->clients, s_client_free);
    self->hasher.fd = -1;
    zconfig_t *config = args? args->config: NULL;
    if (s_self_configure (self, config)
    ||  s_self_bind (self, config, args? args->security: NULL))
        s_self_destroy (&self);
    return self;
}

void
zmx_files_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = s_self_new (pipe, (zmx_service_args_t *) args);
    zsock_signal (pipe, 0);
    if (!self) {
        zmx_service_send_error (pipe, "invalid configuration or endpoint (see log)");
        zmx_service_wait_term (pipe);
        zmx__sha1_thread_end ();
        return;
    }
    //  Hash the initial trees before serving, so that the first clients
    //  see every file at once and can tell when they are in sync; later
    //  changes are hashed in slices between messages.
    s_scan (self);
    while (self->hasher.vpath || zlistx_size (self->to_hash))
        s_hash_step (self);
    zmx_service_send_ready (pipe, self->endpoints);
    for (const char *endpoint = (const char *) zlist_first (self->endpoints); endpoint;
         endpoint = (const char *) zlist_next (self->endpoints))
        zmx_log_info (self->name, "FILEMQ server on %s", endpoint);

    zmq_pollitem_t items [] = {
        { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 }
    };
    self->next_tick = zclock_mono ();
    while (!self->terminated) {
        int64_t now = zclock_mono ();
        int64_t wake = self->next_tick < self->next_scan? self->next_tick: self->next_scan;
        bool hashing = self->hasher.vpath || zlistx_size (self->to_hash);
        long timeout = (self->busy || hashing || wake <= now)? 0: (long) (wake - now);
        if (zmq_poll (items, 2, timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;              //  Context terminated
        }
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        for (int batch = 0; batch < 256 && (items [1].revents & ZMQ_POLLIN)
                            && (zsock_events (self->router) & ZMQ_POLLIN); batch++)
            s_handle_router (self);
        if (hashing)
            s_hash_step (self);
        if (self->busy)
            s_pump_all (self);
        now = zclock_mono ();
        if (now >= self->next_tick)
            s_tick (self);
        if (now >= self->next_scan)
            s_scan (self);
    }
    s_self_destroy (&self);
    zmx__sha1_thread_end ();
}
