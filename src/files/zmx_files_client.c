/*  =========================================================================
    zmx_files_client - mirror a FILEMQ virtual path into a local directory

    Design notes
    - The work happens in an actor with one DEALER; the object only holds
      settings and talks to the actor over its pipe (STATUS, COUNTERS).
    - A file arrives into ".zmx-partial/<sha1>" (the digest the server
      announces in the SHA1 header), written at the offsets the chunks
      carry; the name is independent of the file's own name so that the
      partial can be offered back as "<sha1>@<size>" after any restart.
      A digest runs over the bytes as they are written (a resumed
      partial's existing part is read once); on the last chunk it must
      match the announced one before the file is renamed into place. It
      is XXH3-128 when the server announces one (X-ZMX-XXH128), which
      costs a tenth of SHA-1, else SHA-1; SHA-1 stays the file's name in
      the cache and in .zmx-partial either way.
    - Every name from the server is checked before use: relative, no "."
      or ".." component, and each directory on the way must be a real
      directory, not a symbolic link.
    - Credit: the window is granted at connection; each chunk written is
      given back by a NOM, delayed when a receive rate is set.
    =========================================================================
*/
#define _GNU_SOURCE             //  fallocate
#include "zmx_files_internal.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define S_MAX_DEPTH 32
#define S_RESERVE_AHEAD (64 * 1024 * 1024)     //  disk blocks reserved ahead of writes
#define S_WRITE_PIECE   (128 * 1024)            //  bytes per pwrite
#define S_STATUS "STATUS"

struct _zmx_files_client_t {
    char *endpoint;             //  Server endpoint
    char *path;                 //  Virtual path subscribed
    char *directory;            //  Local mirror
    uint64_t credit;            //  Window, bytes
    int interval, liveness;     //  Heartbeats
    int backoff_initial, backoff_max;
    uint64_t rate;              //  Bytes per second, 0: unlimited
    int verify;                 //  ZMX_FILES_VERIFY_AUTO or _SHA1
    char *curve_cert;           //  CURVE client certificate path, or NULL
    char *curve_key;            //  Server key, or NULL
    zactor_t *actor;            //  Running client, once started
    pid_t actor_tid;            //  Its thread, set before it signals
};

typedef enum { S_IDLE, S_GREETING, S_SUBSCRIBING, S_ACTIVE, S_STOPPED } s_state_t;

typedef struct {
    uint64_t bytes_received, chunks_received, files_received, files_deleted;
    uint64_t files_rejected, connects, rtfm;
    uint64_t subscribed;        //  ICANHAZ-OKs received
    uint64_t files_queued;      //  From the last ICANHAZ-OK, 0 if not said
    uint64_t bytes_queued;      //  Same, bytes (0 from a one-number reply)
} s_counters_t;

typedef struct {
    zsock_t *pipe;              //  Actor command pipe
    zsock_t *dealer;            //  Connection to the server, or NULL
    const zmx_files_client_t *settings;   //  Owned by the object, outlives us
    char *partial_dir;          //  <directory>/.zmx-partial
    s_state_t state;
    int64_t expiry;             //  Server presumed dead past this
    int64_t last_sent;          //  For our heartbeats
    int64_t next_connect;       //  When to try again (S_IDLE)
    int64_t backoff;            //  Next reconnect delay
    uint64_t owed;              //  Credit not yet given back (rate limit)
    int64_t rate_time;          //  When the owed credit may go
    uint64_t sequence;          //  Chunks received on this connection
    int fd;                     //  Partial file being written, or -1
    char *fd_path;              //  Its path
    uint64_t fd_offset;         //  Its size
    uint64_t fd_reserved;       //  Blocks reserved up to here
    uint64_t fd_total;          //  The whole file's size, 0 if unknown
    zmx__sha1_t *running;       //  SHA-1 of the partial's bytes so far,
    zmx__xxh128_t *running_fast;    //  or their XXH3-128 (one is set)
    zhash_t *cache;             //  ICANHAZ cache, built before connecting
    zhashx_t *memo;             //  relname -> "size mtime sha1" of local files
    bool synced;                //  Server's queue for us ran empty
    int error;                  //  Sticky error
    s_counters_t counters;
    int64_t last_warning;       //  Rate limit of warnings from server input
    bool terminated;
} s_self_t;

//  -------------------------------------------------------------------------
//  Files

//  Digest of a file, SHA-1 or (`fast`) XXH3-128, as hex into `hex`.
static int
s_file_digest (const char *path, char *hex, bool fast)
{
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ZMX_EINVAL;
    size_t size = 1024 * 1024;
    byte *buffer = (byte *) malloc (size);
    zmx__sha1_t *digest = fast? NULL: zmx__sha1_new ();
    zmx__xxh128_t *digest_fast = fast? zmx__xxh128_new (): NULL;
    ssize_t got = -1;
    while (buffer && (digest || digest_fast) && (got = read (fd, buffer, size)) > 0) {
        if (fast)
            zmx__xxh128_update (digest_fast, buffer, (size_t) got);
        else
            zmx__sha1_update (digest, buffer, (size_t) got);
    }
    if (got == 0)
        strcpy (hex, fast? zmx__xxh128_hex (digest_fast): zmx__sha1_hex (digest));
    zmx__sha1_destroy (&digest);
    zmx__xxh128_destroy (&digest_fast);
    free (buffer);
    close (fd);
    return got == 0? ZMX_OK: ZMX_EINVAL;
}

int
zmx_files_digest (const char *path, char *hex)
{
    assert (path && hex);
    return s_file_digest (path, hex, false);
}

int
zmx_files_digest_xxh128 (const char *path, char *hex)
{
    assert (path && hex);
    return s_file_digest (path, hex, true);
}

static void
s_lowercase (char *text)
{
    for (; *text; text++)
        if (*text >= 'A' && *text <= 'Z')
            *text = (char) (*text + 'a' - 'A');
}

//  True if a name from the server may be used below our directory.
static bool
s_name_safe (const char *name)
{
    if (!name || !*name || name [0] == '/')
        return false;
    const char *component = name;
    while (true) {
        const char *slash = strchr (component, '/');
        size_t size = slash? (size_t) (slash - component): strlen (component);
        if (size == 0 || (size == 1 && component [0] == '.')
        ||  (size == 2 && component [0] == '.' && component [1] == '.'))
            return false;
        if (component == name && size == strlen (ZMX_FILES_PARTIAL_DIR)
        &&  memcmp (name, ZMX_FILES_PARTIAL_DIR, size) == 0)
            return false;
        if (!slash)
            return true;
        component = slash + 1;
    }
}

//  Make the parent directories of `name` below `root`, refusing to pass
//  through anything that is not a plain directory. 0 or -1.
static int
s_make_parents (const char *root, const char *name, bool create)
{
    char *path = zsys_sprintf ("%s/%s", root, name);
    char *scan = path + strlen (root) + 1;
    int rc = 0;
    char *slash;
    while (rc == 0 && (slash = strchr (scan, '/'))) {
        *slash = 0;
        struct stat info;
        if (lstat (path, &info) == 0)
            rc = S_ISDIR (info.st_mode)? 0: -1;
        else
            rc = create? mkdir (path, 0755): -1;
        *slash = '/';
        scan = slash + 1;
    }
    zstr_free (&path);
    return rc;
}

static void
s_close_partial (s_self_t *self)
{
    if (self->fd >= 0)
        close (self->fd);
    self->fd = -1;
    zstr_free (&self->fd_path);
    zmx__sha1_destroy (&self->running);
    zmx__xxh128_destroy (&self->running_fast);
}

//  Digest of a local file, through the memo when size and mtime match.
static const char *
s_local_digest (s_self_t *self, const char *path, const char *name, struct stat *info)
{
    char key [64];
    snprintf (key, sizeof key, "%" PRIu64 " %" PRId64 " ", (uint64_t) info->st_size,
              (int64_t) info->st_mtim.tv_sec * 1000000000 + info->st_mtim.tv_nsec);
    const char *memo = (const char *) zhashx_lookup (self->memo, name);
    if (memo && strncmp (memo, key, strlen (key)) == 0)
        return memo + strlen (key);
    char hex [41];
    if (zmx_files_digest (path, hex) != ZMX_OK)
        return NULL;
    char *entry = zsys_sprintf ("%s%s", key, hex);
    zhashx_update (self->memo, name, entry);
    zstr_free (&entry);
    memo = (const char *) zhashx_lookup (self->memo, name);
    return memo + strlen (key);
}

//  Fill the ICANHAZ cache with the files we have, below `local`.
static void
s_cache_dir (s_self_t *self, zhash_t *cache, const char *local, const char *name, int depth)
{
    DIR *dir = depth < S_MAX_DEPTH? opendir (local): NULL;
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, "..")
        ||  (depth == 0 && streq (entry->d_name, ZMX_FILES_PARTIAL_DIR)))
            continue;
        char *child = zsys_sprintf ("%s/%s", local, entry->d_name);
        char *child_name = *name? zsys_sprintf ("%s/%s", name, entry->d_name)
                                : strdup (entry->d_name);
        struct stat info;
        if (lstat (child, &info) == 0 && S_ISDIR (info.st_mode))
            s_cache_dir (self, cache, child, child_name, depth + 1);
        else
        if (S_ISREG (info.st_mode) && zmx_fmq_string_valid (child_name)) {
            const char *digest = s_local_digest (self, child, child_name, &info);
            if (digest)
                zhash_update (cache, child_name, (void *) digest);
        }
        zstr_free (&child);
        zstr_free (&child_name);
    }
    if (dir)
        closedir (dir);
}

//  Offer our partial files as "<sha1>@<size>".
static void
s_cache_partials (s_self_t *self, zhash_t *cache)
{
    DIR *dir = opendir (self->partial_dir);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (strlen (entry->d_name) != 40 || strspn (entry->d_name, "0123456789abcdef") != 40)
            continue;
        char *path = zsys_sprintf ("%s/%s", self->partial_dir, entry->d_name);
        struct stat info;
        if (lstat (path, &info) == 0 && S_ISREG (info.st_mode)) {
            char *key = zsys_sprintf ("%s/%s", ZMX_FILES_PARTIAL_DIR, entry->d_name);
            char *value = zsys_sprintf ("%s@%" PRIu64, entry->d_name, (uint64_t) info.st_size);
            zhash_update (cache, key, value);
            zstr_free (&key);
            zstr_free (&value);
        }
        zstr_free (&path);
    }
    if (dir)
        closedir (dir);
}

//  -------------------------------------------------------------------------
//  Connection

static void
s_send (s_self_t *self, zmx_fmq_msg_t *msg)
{
    zframe_t *frame = zmx_fmq_encode (msg);
    if (frame && self->dealer) {
        zframe_send (&frame, self->dealer, ZFRAME_DONTWAIT);
        self->last_sent = zclock_mono ();
    }
    zframe_destroy (&frame);
}

static void
s_send_simple (s_self_t *self, int id)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, id);
    s_send (self, &msg);
}

static void
s_send_nom (s_self_t *self, uint64_t credit)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_NOM);
    msg.credit = credit;
    msg.sequence = self->sequence;
    s_send (self, &msg);
}

static void
s_disconnect (s_self_t *self, int64_t delay)
{
    s_close_partial (self);
    zsock_destroy (&self->dealer);
    self->state = S_IDLE;
    self->next_connect = zclock_mono () + delay;
    self->owed = 0;
}

static void
s_connect (s_self_t *self)
{
    const zmx_files_client_t *settings = self->settings;
    self->dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (self->dealer, 0);
    if (settings->curve_cert
    &&  zmx_security_client_curve (self->dealer, settings->curve_cert,
                                   settings->curve_key) != ZMX_OK) {
        self->error = ZMX_ESECURITY;
        zsock_destroy (&self->dealer);
        self->state = S_STOPPED;
        return;
    }
    if (zsock_connect (self->dealer, "%s", settings->endpoint) < 0) {
        zmx_log_warning ("files-client", "cannot connect to %s", settings->endpoint);
        zsock_destroy (&self->dealer);
        self->next_connect = zclock_mono () + self->backoff;
        return;
    }
    //  Hash the local files now, before the server waits on us: a big
    //  tree takes a while, and the server counts silence against us.
    zhash_destroy (&self->cache);
    self->cache = zhash_new ();
    zhash_autofree (self->cache);
    s_cache_dir (self, self->cache, settings->directory, "", 0);
    s_cache_partials (self, self->cache);
    self->counters.connects++;
    self->sequence = 0;
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_OHAI);
    snprintf (msg.protocol, sizeof msg.protocol, "%s", ZMX_FMQ_PROTOCOL);
    msg.version = ZMX_FMQ_VERSION;
    s_send (self, &msg);
    self->state = S_GREETING;
    self->expiry = zclock_mono () + (int64_t) settings->interval * settings->liveness;
    self->backoff = self->backoff * 2 < settings->backoff_max? self->backoff * 2
                                                               : settings->backoff_max;
}

static void
s_subscribe (s_self_t *self)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_ICANHAZ);
    snprintf (msg.path, sizeof msg.path, "%s", self->settings->path);
    msg.options = zhash_new ();
    zhash_autofree (msg.options);
    zhash_insert (msg.options, "RESYNC", "1");
    zhash_insert (msg.options, ZMX_FMQ_OPTION_TOTALS, "1");
    msg.cache = self->cache;
    self->cache = NULL;
    if (!msg.cache) {
        msg.cache = zhash_new ();
        zhash_autofree (msg.cache);
    }
    s_send (self, &msg);
    zmx_fmq_clear (&msg);
    s_send_nom (self, self->settings->credit);
    self->state = S_SUBSCRIBING;
    self->backoff = self->settings->backoff_initial;
}

//  -------------------------------------------------------------------------
//  Receiving files

static void
s_give_credit (s_self_t *self, uint64_t bytes)
{
    if (!self->settings->rate) {
        s_send_nom (self, bytes);
        return;
    }
    self->owed += bytes;
}

//  Send owed credit once the rate allows it.
static void
s_rate_tick (s_self_t *self)
{
    int64_t now = zclock_mono ();
    if (self->owed && now >= self->rate_time) {
        s_send_nom (self, self->owed);
        int64_t start = self->rate_time > now? self->rate_time: now;
        self->rate_time = start + (int64_t) (self->owed * 1000 / self->settings->rate);
        self->owed = 0;
    }
}

//  The permission bits an X-ZMX-MODE value announces, or -1 if it is
//  absent or not 1 to 4 octal digits (the file then keeps the mode it
//  was created with). Setuid, setgid and sticky are dropped: a server may
//  not make a client hold such files. The owner may always read it, so
//  that a later sync can hash it for its cache.
static int
s_announced_mode (const char *value)
{
    size_t size = value? strlen (value): 0;
    if (size < 1 || size > 4 || strspn (value, "01234567") != size)
        return -1;
    return (int) ((strtoul (value, NULL, 8) & 0777) | S_IRUSR);
}

//  The last chunk is in: check the digest and move the file into place.
//  `sha1` is the announced SHA-1 and `xxh128` the announced XXH3-128 (either
//  may be NULL). A file checked with XXH3-128 needs that digest; one
//  checked with SHA-1 is taken unverified only from a server that
//  announces no digest at all (a plain FILEMQ server). `mode` is from
//  s_announced_mode, applied before the rename so that the file never
//  appears under its name with another mode.
static void
s_commit (s_self_t *self, const char *name, const char *sha1, const char *xxh128, int mode)
{
    char *partial = strdup (self->fd_path);
    char hex [41] = "";         //  SHA-1 to remember for the cache, if known
    bool digest_good;
    if (self->running_fast) {
        digest_good = xxh128 && strcasecmp (zmx__xxh128_hex (self->running_fast), xxh128) == 0;
        if (sha1)
            snprintf (hex, sizeof hex, "%s", sha1);
        s_lowercase (hex);
    }
    else {
        memcpy (hex, zmx__sha1_hex (self->running), sizeof hex);
        digest_good = !sha1 || strcasecmp (hex, sha1) == 0;
    }
    s_close_partial (self);
    char *target = zsys_sprintf ("%s/%s", self->settings->directory, name);
    struct stat info;
    bool good = digest_good
             && s_make_parents (self->settings->directory, name, true) == 0
             && !(lstat (target, &info) == 0 && S_ISDIR (info.st_mode))
             && (mode < 0 || chmod (partial, (mode_t) mode) == 0)
             && rename (partial, target) == 0;
    if (good) {
        //  Remember the digest, so that the next connection need not
        //  read the file again to offer it in the cache.
        if (*hex && stat (target, &info) == 0) {
            char *entry = zsys_sprintf ("%" PRIu64 " %" PRId64 " %s", (uint64_t) info.st_size,
                                        (int64_t) info.st_mtim.tv_sec * 1000000000
                                        + info.st_mtim.tv_nsec, hex);
            zhashx_update (self->memo, name, entry);
            zstr_free (&entry);
        }
        self->counters.files_received++;
        zmx_log_debug ("files-client", "received %s", name);
    }
    else {
        zmx__log_limited ("files-client", &self->last_warning,
                          "discarded %s: digest or path check failed", name);
        unlink (partial);
        self->counters.files_rejected++;
    }
    zstr_free (&target);
    free (partial);
}

//  Reserve disk blocks ahead of the writes, S_RESERVE_AHEAD at a time and
//  never past the announced size: ext4 then need not reserve and map them
//  write by write, which was a sixth of the client's CPU. The file's size
//  stays that of the data written (a resume offers it), and a size from
//  the server that lies holds at most S_RESERVE_AHEAD of disk. A file
//  system without fallocate just says no.
static void
s_reserve (s_self_t *self, uint64_t end)
{
    if (end <= self->fd_reserved || self->fd_reserved >= self->fd_total)
        return;
    uint64_t until = self->fd_reserved + S_RESERVE_AHEAD;
    if (until < end)
        until = end;
    if (until > self->fd_total)
        until = self->fd_total;
    fallocate (self->fd, FALLOC_FL_KEEP_SIZE, (off_t) self->fd_reserved,
               (off_t) (until - self->fd_reserved));
    self->fd_reserved = until;
}

//  Write `size` bytes at `offset`, in pieces of S_WRITE_PIECE. On this VM
//  a 512 KiB chunk written in one pwrite cost the kernel's copy into the
//  page cache anywhere from 0.3 to 0.9 s of CPU per GiB from one copy to
//  the next; in 128 KiB pieces it stayed at 0.36 to 0.43 s (larger writes
//  get larger page-cache folios, which seem to come more often from
//  memory the host has taken back). Returns 0, or -1 with errno set.
static int
s_write_at (int fd, const byte *data, size_t size, uint64_t offset)
{
    size_t done = 0;
    while (done < size) {
        size_t piece = size - done < S_WRITE_PIECE? size - done: S_WRITE_PIECE;
        ssize_t wrote = pwrite (fd, data + done, piece, (off_t) (offset + done));
        if (wrote < 0 && errno == EINTR)
            continue;
        if (wrote <= 0) {
            if (wrote == 0)
                errno = EIO;    //  No progress: not expected from a regular file
            return -1;
        }
        done += (size_t) wrote;
    }
    return 0;
}

static void
s_running_update (s_self_t *self, const void *data, size_t size)
{
    if (self->running_fast)
        zmx__xxh128_update (self->running_fast, data, size);
    else
        zmx__sha1_update (self->running, data, size);
}

//  Open the partial file for a chunk at `offset` of a file of `size`
//  bytes (0: unknown), with an XXH3-128 digest if `fast`, else SHA-1;
//  false if our partial does not match (the caller then starts over).
static bool
s_open_partial (s_self_t *self, const char *path, uint64_t offset, uint64_t size, bool fast)
{
    if (self->fd >= 0 && streq (self->fd_path, path) && self->fd_offset == offset)
        return true;
    s_close_partial (self);
    mkdir (self->partial_dir, 0755);
    int fd = open (path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (offset? 0: O_TRUNC), 0644);
    struct stat info;
    if (fd < 0 || fstat (fd, &info) || (uint64_t) info.st_size != offset) {
        if (fd >= 0)
            close (fd);
        unlink (path);
        return false;
    }
    //  The digest runs over what we write; a resumed file first hashes
    //  the part it already has, once.
    if (fast)
        self->running_fast = zmx__xxh128_new ();
    else
        self->running = zmx__sha1_new ();
    assert (self->running || self->running_fast);
    byte *buffer = offset? (byte *) malloc (1024 * 1024): NULL;
    int reader = offset && buffer? open (path, O_RDONLY | O_CLOEXEC): -1;
    ssize_t got;
    while (reader >= 0 && (got = read (reader, buffer, 1024 * 1024)) > 0)
        s_running_update (self, buffer, (size_t) got);
    if (reader >= 0)
        close (reader);
    free (buffer);
    self->fd = fd;
    self->fd_path = strdup (path);
    self->fd_offset = self->fd_reserved = offset;
    self->fd_total = size;
    return true;
}

static void
s_handle_delete (s_self_t *self, zmx_fmq_msg_t *msg)
{
    char *target = zsys_sprintf ("%s/%s", self->settings->directory, msg->filename);
    struct stat info;
    if (s_make_parents (self->settings->directory, msg->filename, false) == 0
    &&  lstat (target, &info) == 0 && !S_ISDIR (info.st_mode) && unlink (target) == 0) {
        self->counters.files_deleted++;
        zhashx_delete (self->memo, msg->filename);
    }
    zstr_free (&target);
}

//  The extension frame of ICANHAZ-OK, "FILES" or "FILES BYTES" (see
//  docs/FILES.md); absent from a plain FILEMQ server. Zero files queued
//  means we are in sync already.
static void
s_handle_icanhaz_ok (s_self_t *self, zmsg_t *message)
{
    self->counters.subscribed++;
    self->counters.files_queued = self->counters.bytes_queued = 0;
    char *count = zmsg_size (message) == 2? zframe_strdup (zmsg_last (message)): NULL;
    char *rest = NULL;
    unsigned long long files = count && isdigit ((byte) *count)? strtoull (count, &rest, 10): 1;
    if (rest && (*rest == 0 || *rest == ' ')) {
        self->counters.files_queued = files;
        if (*rest == ' ' && isdigit ((byte) rest [1]))
            self->counters.bytes_queued = strtoull (rest + 1, NULL, 10);
        if (files == 0)
            self->synced = true;
    }
    zstr_free (&count);
}

static void
s_handle_chunk (s_self_t *self, zmx_fmq_msg_t *msg)
{
    self->sequence++;
    const char *expected = msg->headers? (const char *) zhash_lookup (msg->headers, "SHA1"): NULL;
    if (expected && (strlen (expected) != 40 || strspn (expected, "0123456789abcdefABCDEF") != 40))
        expected = NULL;
    const char *expected_fast = self->settings->verify == ZMX_FILES_VERIFY_SHA1 || !msg->headers
                              ? NULL: (const char *) zhash_lookup (msg->headers,
                                                                   ZMX_FMQ_HEADER_XXH128);
    if (!zmx__xxh128_hex_valid (expected_fast))
        expected_fast = NULL;
    if (!s_name_safe (msg->filename))
        self->counters.files_rejected++;
    else
    if (msg->operation == ZMX_FMQ_DELETE)
        s_handle_delete (self, msg);
    else {
        //  Without a digest from the server, name the partial by the
        //  digest of the file's name; such a file is not verified.
        char key [41];
        if (expected)
            snprintf (key, sizeof key, "%s", expected);
        else {
            zmx__sha1_string (msg->filename, strlen (msg->filename), key);
        }
        s_lowercase (key);
        char *path = zsys_sprintf ("%s/%s", self->partial_dir, key);
        const char *size = msg->headers? (const char *) zhash_lookup (msg->headers, "SIZE"): NULL;
        if (!s_open_partial (self, path, msg->offset, size? strtoull (size, NULL, 10): 0,
                             expected_fast != NULL)) {
            //  We lost what the server resumes from: ask again from scratch
            zmx_log_notice ("files-client", "partial of %s does not match, resyncing", msg->filename);
            zstr_free (&path);
            s_disconnect (self, self->backoff);
            return;
        }
        zstr_free (&path);
        s_reserve (self, msg->offset + msg->chunk_size);
        if (s_write_at (self->fd, msg->chunk, msg->chunk_size, msg->offset)) {
            zmx_log_error ("files-client", "cannot write %s: %s", self->fd_path, strerror (errno));
            s_disconnect (self, self->backoff);
            return;
        }
        if (msg->chunk_size)
            s_running_update (self, msg->chunk, msg->chunk_size);
        self->fd_offset += msg->chunk_size;
        self->counters.bytes_received += msg->chunk_size;
        self->counters.chunks_received++;
        if (msg->eof)
            s_commit (self, msg->filename, expected, expected_fast, s_announced_mode (
                      msg->headers? (const char *) zhash_lookup (msg->headers,
                                                                 ZMX_FMQ_HEADER_MODE): NULL));
    }
    if (msg->chunk_size)
        s_give_credit (self, msg->chunk_size);
    const char *queued = msg->headers? (const char *) zhash_lookup (msg->headers, "QUEUED"): NULL;
    if (msg->eof && queued && streq (queued, "0"))
        self->synced = true;
}

static void
s_handle_dealer (s_self_t *self)
{
    zmsg_t *message = zmsg_recv (self->dealer);
    zframe_t *frame = message? zmsg_first (message): NULL;
    zmx_fmq_msg_t msg;
    if (!frame || zmx_fmq_decode (zframe_data (frame), zframe_size (frame), &msg, NULL) != 0) {
        zmsg_destroy (&message);
        return;                 //  Not FILEMQ, or malformed: ignore it
    }
    self->expiry = zclock_mono () + (int64_t) self->settings->interval * self->settings->liveness;
    if (msg.id == ZMX_FMQ_OHAI_OK && self->state == S_GREETING)
        s_subscribe (self);
    else
    if (msg.id == ZMX_FMQ_ICANHAZ_OK && self->state == S_SUBSCRIBING) {
        s_handle_icanhaz_ok (self, message);
        self->state = S_ACTIVE;
    }
    else
    if (msg.id == ZMX_FMQ_CHEEZBURGER && self->state >= S_SUBSCRIBING)
        s_handle_chunk (self, &msg);
    else
    if (msg.id == ZMX_FMQ_HUGZ)
        s_send_simple (self, ZMX_FMQ_HUGZ_OK);
    else
    if (msg.id == ZMX_FMQ_SRSLY) {
        zmx_log_error ("files-client", "server refused us: %s", msg.reason);
        self->error = ZMX_ESECURITY;
        s_disconnect (self, 0);
        self->state = S_STOPPED;
    }
    else
    if (msg.id == ZMX_FMQ_RTFM) {
        //  Typically a restarted server that does not know us: start over
        zmx_log_notice ("files-client", "server says: %s; reconnecting", msg.reason);
        self->counters.rtfm++;
        s_disconnect (self, self->backoff);
    }
    zmx_fmq_clear (&msg);
    zmsg_destroy (&message);
}

//  -------------------------------------------------------------------------
//  Actor

static void
s_send_counters (s_self_t *self)
{
    const s_counters_t *c = &self->counters;
    const zmx_service_counter_t counters [] = {
        { "bytes_received", c->bytes_received },
        { "chunks_received", c->chunks_received },
        { "files_received", c->files_received },
        { "files_deleted", c->files_deleted },
        { "files_rejected", c->files_rejected },
        { "connects", c->connects },
        { "rtfm", c->rtfm },
        { "synced", self->synced? 1: 0 },
        { "subscribed", c->subscribed },
        { "files_queued", c->files_queued },
        { "bytes_queued", c->bytes_queued }
    };
    zmx_service_send_counters (self->pipe, counters, sizeof counters / sizeof counters [0]);
}

static void
s_handle_pipe (s_self_t *self)
{
    char *command = zstr_recv (self->pipe);
    if (!command || streq (command, ZMX_SERVICE_TERM))
        self->terminated = true;
    else
    if (streq (command, S_STATUS))
        zstr_sendf (self->pipe, "%d %d", self->synced? 1: 0, self->error);
    else
    if (streq (command, ZMX_SERVICE_COUNTERS))
        s_send_counters (self);
    else
        zmx_service_reply_unknown (self->pipe, command);
    zstr_free (&command);
}

//  Timers: connect, heartbeats, liveness, rate.
static void
s_tick (s_self_t *self)
{
    int64_t now = zclock_mono ();
    if (self->state == S_IDLE && now >= self->next_connect)
        s_connect (self);
    else
    if (self->state != S_IDLE && self->state != S_STOPPED) {
        if (now >= self->expiry) {
            zmx_log_notice ("files-client", "server silent, reconnecting");
            s_disconnect (self, self->backoff);
        }
        else
        if (now - self->last_sent >= self->settings->interval)
            s_send_simple (self, ZMX_FMQ_HUGZ);
    }
    if (self->dealer)
        s_rate_tick (self);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    s_self_t *self = (s_self_t *) zmalloc (sizeof (s_self_t));
    self->pipe = pipe;
    self->settings = (const zmx_files_client_t *) args;
    self->partial_dir = zsys_sprintf ("%s/%s", self->settings->directory, ZMX_FILES_PARTIAL_DIR);
    self->fd = -1;
    self->memo = zhashx_new ();
    zhashx_set_duplicator (self->memo, (zhashx_duplicator_fn *) strdup);
    zhashx_set_destructor (self->memo, (zhashx_destructor_fn *) zstr_free);
    self->backoff = self->settings->backoff_initial;
    ((zmx_files_client_t *) args)->actor_tid = (pid_t) syscall (SYS_gettid);
    zsock_signal (pipe, 0);
    while (!self->terminated) {
        int64_t now = zclock_mono ();
        int64_t wake = self->state == S_IDLE? self->next_connect
                     : self->last_sent + self->settings->interval;
        if (self->state != S_IDLE && self->expiry < wake)
            wake = self->expiry;
        if (self->owed && self->rate_time < wake)
            wake = self->rate_time;
        if (self->state == S_STOPPED)
            wake = now + 1000;
        long timeout = wake > now? (long) (wake - now): 0;
        zmq_pollitem_t items [2] = { { zsock_resolve (pipe), 0, ZMQ_POLLIN, 0 } };
        int count = 1;
        if (self->dealer)
            items [count++] = (zmq_pollitem_t) { zsock_resolve (self->dealer), 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (items, count, timeout) < 0) {
            if (zmq_errno () == EINTR)
                continue;
            break;
        }
        if (items [0].revents & ZMQ_POLLIN)
            s_handle_pipe (self);
        if (count == 2 && (items [1].revents & ZMQ_POLLIN) && self->dealer)
            s_handle_dealer (self);
        s_tick (self);
    }
    if (self->dealer && self->state != S_GREETING)
        s_send_simple (self, ZMX_FMQ_KTHXBAI);
    s_close_partial (self);
    zsock_destroy (&self->dealer);
    zhashx_destroy (&self->memo);
    zhash_destroy (&self->cache);
    free (self->partial_dir);
    free (self);
    zmx__sha1_thread_end ();
}

//  -------------------------------------------------------------------------
//  Object

zmx_files_client_t *
zmx_files_client_new (const char *endpoint, const char *path, const char *directory)
{
    //  "name:NAME" is resolved once, here; of several servers, the first
    char *resolved = NULL;
    int rc = endpoint? zmx_resolver_resolve_endpoint (endpoint, ZMX_FILES_HEARTBEAT_INTERVAL,
                                                      &resolved): ZMX_EINVAL;
    if (rc != ZMX_OK && endpoint)
        zmx_log_error ("files-client", "cannot resolve \"%s\": %s", endpoint,
                       rc == ZMX_EADDR? "no such name": zmx_strerror (rc));
    if (resolved && strchr (resolved, ','))
        *strchr (resolved, ',') = 0;
    if (!resolved || !zmx__endpoint_valid (resolved) || !path || path [0] != '/'
    ||  !zmx_fmq_string_valid (path) || !directory || !*directory) {
        free (resolved);
        return NULL;
    }
    zmx_files_client_t *self = (zmx_files_client_t *) zmalloc (sizeof (zmx_files_client_t));
    self->endpoint = resolved;
    self->path = strdup (path);
    self->directory = strdup (directory);
    self->credit = ZMX_FILES_CLIENT_CREDIT;
    self->interval = ZMX_FILES_HEARTBEAT_INTERVAL;
    self->liveness = ZMX_FILES_HEARTBEAT_LIVENESS;
    self->backoff_initial = 100;
    self->backoff_max = 5000;
    return self;
}

//  zactor_destroy returns once the actor has signalled, a moment before
//  its thread closes its end of the pipe. CZMQ's exit handler sleeps
//  200 msec when it finds a socket still open, which a program that exits
//  right after destroying us would pay (zmx files sync did, once in 8 to
//  50 runs): wait, briefly and boundedly, for the thread to be gone.
static void
s_wait_thread_gone (pid_t tid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/self/task/%d", (int) tid);
    for (int tries = 0; tid > 0 && tries < 200 && access (path, F_OK) == 0; tries++)
        usleep (500);
}

void
zmx_files_client_destroy (zmx_files_client_t **self_p)
{
    assert (self_p);
    zmx_files_client_t *self = *self_p;
    if (self) {
        bool started = self->actor != NULL;
        zactor_destroy (&self->actor);
        if (started)
            s_wait_thread_gone (self->actor_tid);
        free (self->endpoint);
        free (self->path);
        free (self->directory);
        free (self->curve_cert);
        free (self->curve_key);
        free (self);
        *self_p = NULL;
    }
}

void
zmx_files_client_set_credit (zmx_files_client_t *self, uint64_t credit)
{
    assert (self);
    self->credit = credit < 1024? 1024: credit;
}

void
zmx_files_client_set_heartbeat (zmx_files_client_t *self, int interval_ms, int liveness)
{
    assert (self);
    self->interval = interval_ms < 10? 10: interval_ms;
    self->liveness = liveness < 1? 1: liveness;
}

void
zmx_files_client_set_backoff (zmx_files_client_t *self, int initial_ms, int max_ms)
{
    assert (self);
    self->backoff_initial = initial_ms < 1? 1: initial_ms;
    self->backoff_max = max_ms < self->backoff_initial? self->backoff_initial: max_ms;
}

void
zmx_files_client_set_rate (zmx_files_client_t *self, uint64_t bytes_per_second)
{
    assert (self);
    self->rate = bytes_per_second;
}

void
zmx_files_client_set_verify (zmx_files_client_t *self, int verify)
{
    assert (self);
    self->verify = verify == ZMX_FILES_VERIFY_SHA1? ZMX_FILES_VERIFY_SHA1: ZMX_FILES_VERIFY_AUTO;
}

int
zmx_files_client_set_curve (zmx_files_client_t *self, const char *client_cert_path,
                            const char *server_key)
{
    assert (self);
    return zmx__curve_client_store (&self->curve_cert, &self->curve_key, client_cert_path,
                                    server_key);
}

int
zmx_files_client_start (zmx_files_client_t *self)
{
    assert (self);
    if (self->actor)
        return ZMX_OK;
    struct stat info;
    if (mkdir (self->directory, 0755) && errno != EEXIST)
        return ZMX_EINVAL;
    if (stat (self->directory, &info) || !S_ISDIR (info.st_mode))
        return ZMX_EINVAL;
    //  The actor reads the settings through its pointer: they do not
    //  change once started, and the object outlives the actor.
    self->actor = zactor_new (s_actor, self);
    return self->actor? ZMX_OK: ZMX_ENOMEM;
}

//  Ask the actor for its state; false if it is not running. A signal
//  that interrupts the receive must not leave the reply in the pipe,
//  where the next request would take it for its own answer.
static bool
s_status (zmx_files_client_t *self, bool *synced, int *error)
{
    if (!self->actor || zstr_send (self->actor, S_STATUS))
        return false;
    char *reply;
    while (!(reply = zstr_recv (self->actor)) && zmq_errno () == EINTR)
        ;
    int synced_flag = 0;
    bool good = reply && sscanf (reply, "%d %d", &synced_flag, error) == 2;
    *synced = synced_flag == 1;
    zstr_free (&reply);
    return good;
}

int
zmx_files_client_wait_synced (zmx_files_client_t *self, int timeout_ms)
{
    assert (self);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        if (zsys_interrupted)
            return ZMX_ETERM;
        bool synced = false;
        int error = ZMX_OK;
        if (!s_status (self, &synced, &error))
            return zsys_interrupted? ZMX_ETERM: ZMX_EINVAL;
        if (error)
            return error;
        if (synced)
            return ZMX_OK;
        if (zclock_mono () >= deadline)
            return ZMX_ETIMEDOUT;
        //  Polling the actor: cheap, and bounded; short, because a sync
        //  that ends waits for the next poll (zmx files sync's exit)
        zclock_sleep (2);
    }
}

int
zmx_files_client_error (zmx_files_client_t *self)
{
    assert (self);
    bool synced;
    int error = ZMX_OK;
    return s_status (self, &synced, &error)? error: ZMX_OK;
}

zhash_t *
zmx_files_client_counters (zmx_files_client_t *self)
{
    assert (self);
    return zmx__actor_counters (self->actor);
}

uint64_t
zmx_files_client_counter (zmx_files_client_t *self, const char *name)
{
    zhash_t *counters = zmx_files_client_counters (self);
    const char *value = (const char *) zhash_lookup (counters, name);
    uint64_t result = value? strtoull (value, NULL, 10): 0;
    zhash_destroy (&counters);
    return result;
}
