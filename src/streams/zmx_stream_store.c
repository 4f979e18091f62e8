/*  =========================================================================
    zmx_stream_store - append-only logs of records in segment files

    Layout: DIR/NAME/SSSSSSSSSSSSSSSSSSSS.seg, one folder per stream, each
    segment named by the sequence of its first record (20 digits) and
    holding a 16-byte header then records (docs/STREAMS.md, "File
    format"). Only the newest segment is written; a new one starts when a
    record would take it past segment_size. A segment file is created under
    a temporary name and renamed into place, so a segment always has a
    whole header and its name, and the sequence stays known when retention
    has dropped every record: the newest segment is never dropped while it
    holds records that are not all expired, and when it is, a new empty
    one named by the next sequence takes its place first.

    Appends are encoded into a per-stream buffer; a flush writes it with
    one pwrite and fsyncs per policy, and only then does "durable" move.
    Under "always" the flush itself fsyncs. Under "interval" the fsync
    runs on a thread of the store's own (one fdatasync takes milliseconds,
    as long as a million appends), on a dup of the segment's descriptor,
    one request per stream in flight; "durable" moves when it is done.
    In memory a stream costs its segment table and a sparse index (one
    entry per index_interval bytes), never its records.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_streams_internal.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <pthread.h>
#include <unistd.h>

#define S_COMPONENT         "streams"
#define S_SEGMENT_HARD_MAX  ((uint64_t) 1 << 30)    //  Largest segment_size allowed
#define S_SYNC_QUEUE        16      //  fsync requests waiting for the thread

//  How a flush ends: no fsync, an fsync by the thread, an fsync now.
typedef enum { S_SYNC_NONE, S_SYNC_LATER, S_SYNC_NOW } s_sync_t;

typedef struct _zmx__stream_t zmx__stream_t;

//  An fsync for the thread: dup'ed descriptor, and what it makes durable.
typedef struct {
    int fd;
    zmx__stream_t *stream;
    uint64_t sequence;
} s_sync_request_t;

struct _zmx__stream_t {
    char *name;                 //  Stream name
    char *path;                 //  DIR/NAME
    zmx__stream_segment_t *segments;    //  Oldest first; the last is written
    size_t segment_count;
    size_t segment_max;
    uint64_t next_sequence;     //  Given to the next record
    uint64_t written_sequence;  //  Last record written to the OS
    uint64_t durable_sequence;  //  Last record durable under the policy
    int64_t last_time_ns;       //  Of the newest record: times never go back
    byte *buffer;               //  Records batched, not yet written
    size_t buffered;            //  Bytes in buffer
    int64_t synced_at;          //  zclock_mono of the last fsync
    bool dirty;                 //  Written since the last fsync
    bool failed;                //  A write failed: no more appends
    bool sync_pending;          //  The thread has a request of ours (mutex)
    bool sync_failed;           //  The thread's fsync failed (mutex)
    uint64_t synced_sequence;   //  Made durable by the thread (mutex)
    uint64_t max_bytes;         //  Retention, 0: none
    uint64_t max_age_ms;
    uint64_t max_records;
    uint64_t cut_bytes;         //  Counters, see zmx_stream_stats_t
    uint64_t corrupt_records;
    uint64_t dropped_segments;
    uint64_t seek_probes;
    uint64_t seek_scanned;
};

struct _zmx_stream_store_t {
    char *dir;                  //  Store directory
    zmx_stream_config_t config; //  Settings
    zhashx_t *streams;          //  Name -> zmx__stream_t, for lookups
    zmx__stream_t **list;       //  The same streams, for walks (a walk may
    size_t list_count;          //  nest in another: zhashx has one cursor)
    size_t list_max;
    int lock_fd;                //  DIR/lock, held (flock) while open
    pthread_t syncer;           //  fsync thread for "interval", once started
    bool syncer_started;
    bool syncer_stop;           //  Asks the thread to drain and end (mutex)
    pthread_mutex_t mutex;      //  Guards the queue and the streams' sync fields
    pthread_cond_t wake;        //  A request came, or stop
    s_sync_request_t queue [S_SYNC_QUEUE];
    size_t queue_head;
    size_t queue_count;
    size_t open_files;          //  Segment descriptors open
    int64_t clock;              //  Counts descriptor uses, for closing idle ones
};

static void s_stream_destroy (zmx_stream_store_t *store, zmx__stream_t **self_p);
static int s_stream_flush (zmx_stream_store_t *self, zmx__stream_t *stream, s_sync_t sync);

void
zmx_stream_config_default (zmx_stream_config_t *config)
{
    assert (config);
    *config = (zmx_stream_config_t) {
        .segment_size = 64 << 20,
        .index_interval = 64 << 10,
        .fsync = ZMX_STREAM_FSYNC_INTERVAL,
        .fsync_interval_ms = 5,
        .write_buffer = 256 << 10,
        .max_streams = 1024,
        .max_open_files = 64,
        .max_record = 1 << 20,
        .max_header_bytes = 4096
    };
}

static bool
s_config_valid (const zmx_stream_config_t *config)
{
    return config->segment_size >= 4096 && config->segment_size <= S_SEGMENT_HARD_MAX
        && config->index_interval >= 256
        && config->fsync <= ZMX_STREAM_FSYNC_ALWAYS
        && (config->fsync != ZMX_STREAM_FSYNC_INTERVAL || config->fsync_interval_ms > 0)
        && config->write_buffer >= 4096 && config->write_buffer <= (64 << 20)
        && config->max_streams >= 1 && config->max_open_files >= 4
        && config->max_record >= 1 && config->max_record <= ZMX_STREAM_RECORD_HARD_MAX
        && config->max_header_bytes <= ZMX_STREAM_HEADER_BYTES_MAX;
}

static bool
s_name_valid (const char *name)
{
    if (!name || *name == '\0' || *name == '.' || streq (name, "lock"))
        return false;           //  "lock" is the store's lock file
    size_t size = strnlen (name, ZMX_STREAM_NAME_MAX + 1);
    if (size > ZMX_STREAM_NAME_MAX)
        return false;
    for (size_t at = 0; at < size; at++) {
        char c = name [at];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
        ||    c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

bool
zmx__stream_name_valid (const char *name)
{
    return s_name_valid (name);
}

static int64_t
s_wall_ns (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (int64_t) now.tv_sec * 1000000000 + now.tv_nsec;
}

//  fsync a directory, so that a file created or renamed in it stays.
static int
s_sync_dir (const char *path)
{
    int fd = open (path, O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync (fd);
    close (fd);
    return rc;
}

static void
s_segment_path (zmx__stream_t *stream, uint64_t first_sequence, char *path, size_t size,
                const char *suffix)
{
    snprintf (path, size, "%s/%020" PRIu64 ".seg%s", stream->path, first_sequence, suffix);
}

//  -------------------------------------------------------------------------
//  Descriptors: at most max_open_files, the least recently used closed
//  first. Closing one with data not yet fsynced loses nothing: fsync
//  acts on the file, whichever descriptor asks later.

static void
s_segment_close (zmx_stream_store_t *self, zmx__stream_segment_t *segment)
{
    if (segment->fd >= 0) {
        close (segment->fd);
        segment->fd = -1;
        self->open_files--;
    }
}

static bool
s_close_idlest (zmx_stream_store_t *self)
{
    zmx__stream_segment_t *idlest = NULL;
    for (size_t at = 0; at < self->list_count; at++) {
        zmx__stream_t *stream = self->list [at];
        for (size_t index = 0; index < stream->segment_count; index++) {
            zmx__stream_segment_t *segment = &stream->segments [index];
            if (segment->fd >= 0 && (!idlest || segment->used < idlest->used))
                idlest = segment;
        }
    }
    if (idlest)
        s_segment_close (self, idlest);
    return idlest != NULL;
}

int
zmx__stream_segment_fd (zmx_stream_store_t *self, zmx__stream_t *stream, size_t index)
{
    assert (index < stream->segment_count);
    zmx__stream_segment_t *segment = &stream->segments [index];
    segment->used = ++self->clock;
    if (segment->fd >= 0)
        return segment->fd;
    while (self->open_files >= self->config.max_open_files && s_close_idlest (self))
        ;
    char path [PATH_MAX];
    s_segment_path (stream, segment->first_sequence, path, sizeof path, "");
    segment->fd = open (path, O_RDWR | O_CLOEXEC);
    if (segment->fd < 0) {
        zmx_log_error (S_COMPONENT, "cannot open %s: %s", path, strerror (errno));
        return -1;
    }
    self->open_files++;
    return segment->fd;
}

//  -------------------------------------------------------------------------
//  Segments

static zmx__stream_segment_t *
s_segment_add (zmx__stream_t *stream, uint64_t first_sequence)
{
    if (stream->segment_count == stream->segment_max) {
        size_t max = stream->segment_max? stream->segment_max * 2: 8;
        zmx__stream_segment_t *segments = (zmx__stream_segment_t *)
            realloc (stream->segments, max * sizeof (zmx__stream_segment_t));
        if (!segments)
            return NULL;
        stream->segments = segments;
        stream->segment_max = max;
    }
    zmx__stream_segment_t *segment = &stream->segments [stream->segment_count++];
    memset (segment, 0, sizeof *segment);
    segment->first_sequence = first_sequence;
    segment->last_sequence = first_sequence - 1;
    segment->written = segment->end = ZMX__STREAM_SEGMENT_HEADER;
    segment->fd = -1;
    return segment;
}

//  Create the file of a new, empty segment (temp name, fsync, rename,
//  fsync the folder unless the policy never fsyncs) and add it.
static int
s_segment_create (zmx_stream_store_t *self, zmx__stream_t *stream, uint64_t first_sequence)
{
    char path [PATH_MAX], temp [PATH_MAX];
    s_segment_path (stream, first_sequence, path, sizeof path, "");
    s_segment_path (stream, first_sequence, temp, sizeof temp, ".tmp");
    bool sync = self->config.fsync != ZMX_STREAM_FSYNC_NEVER;
    byte header [ZMX__STREAM_SEGMENT_HEADER];
    zmx__stream_segment_header (header, first_sequence);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool done = fd >= 0 && write (fd, header, sizeof header) == (ssize_t) sizeof header
             && (!sync || fdatasync (fd) == 0);
    if (fd >= 0)
        close (fd);
    done = done && rename (temp, path) == 0 && (!sync || s_sync_dir (stream->path) == 0);
    if (!done) {
        zmx_log_error (S_COMPONENT, "cannot create segment %s: %s", path, strerror (errno));
        unlink (temp);
        return ZMX_EIO;
    }
    return s_segment_add (stream, first_sequence)? ZMX_OK: ZMX_ENOMEM;
}

static void
s_segment_free (zmx_stream_store_t *self, zmx__stream_segment_t *segment)
{
    s_segment_close (self, segment);
    freen (segment->index);
    segment->index_count = segment->index_max = 0;
}

//  Drop the oldest segment: its file goes, readers on it are told.
static void
s_segment_drop (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    assert (stream->segment_count > 1);
    zmx__stream_segment_t *segment = &stream->segments [0];
    char path [PATH_MAX];
    s_segment_path (stream, segment->first_sequence, path, sizeof path, "");
    if (unlink (path) != 0)
        zmx_log_warning (S_COMPONENT, "cannot remove %s: %s", path, strerror (errno));
    s_segment_free (self, segment);
    memmove (segment, segment + 1, (stream->segment_count - 1) * sizeof *segment);
    stream->segment_count--;
    stream->dropped_segments++;
}

//  -------------------------------------------------------------------------
//  Recovery

//  Verify one segment file, cut its torn or corrupt tail, and add it.
static int
s_segment_recover (zmx_stream_store_t *self, zmx__stream_t *stream, uint64_t first_sequence,
                   uint64_t after)
{
    zmx__stream_segment_t *segment = s_segment_add (stream, first_sequence);
    if (!segment)
        return ZMX_ENOMEM;
    size_t index = stream->segment_count - 1;
    int fd = zmx__stream_segment_fd (self, stream, index);
    struct stat info;
    if (fd < 0 || fstat (fd, &info) != 0)
        return ZMX_EIO;
    //  A segment never grows past segment_size + one record; more is junk
    uint64_t limit = self->config.segment_size + self->config.max_record
                   + ZMX__STREAM_RECORD_OVERHEAD + ZMX__STREAM_SEGMENT_HEADER;
    size_t size = (size_t) ((uint64_t) info.st_size < limit? (uint64_t) info.st_size: limit);
    //  An anonymous map, not malloc: unmapped, it leaves nothing behind,
    //  where the heap would keep a segment's worth after the first one
    size_t mapped = size? size: 1;
    byte *data = (byte *) mmap (NULL, mapped, PROT_READ | PROT_WRITE,
                                MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (data == MAP_FAILED)
        return ZMX_ENOMEM;
    ssize_t got = size? pread (fd, data, size, 0): 0;
    if (got != (ssize_t) size) {
        munmap (data, mapped);
        return ZMX_EIO;
    }
    byte header [ZMX__STREAM_SEGMENT_HEADER];
    zmx__stream_segment_header (header, first_sequence);
    if (size < sizeof header || memcmp (data, header, sizeof header) != 0) {
        zmx_log_warning (S_COMPONENT, "%s: segment %" PRIu64 " has a bad header, rewritten",
                         stream->name, first_sequence);
        if (pwrite (fd, header, sizeof header, 0) != (ssize_t) sizeof header) {
            munmap (data, mapped);
            return ZMX_EIO;
        }
    }
    int64_t corrupt = zmx__stream_segment_scan (segment, data, size, after,
                                                self->config.max_record,
                                                self->config.index_interval);
    munmap (data, mapped);
    if (corrupt < 0)
        return ZMX_ENOMEM;
    stream->corrupt_records += (uint64_t) corrupt;
    for (size_t span = 0; span < segment->span_count; span++)
        zmx_log_warning (S_COMPONENT, "%s: segment %" PRIu64 ": corrupt bytes %" PRIu64
                         " to %" PRIu64 " skipped", stream->name, first_sequence,
                         segment->spans [span].start, segment->spans [span].end);
    if ((uint64_t) info.st_size > segment->written) {
        uint64_t cut = (uint64_t) info.st_size - segment->written;
        zmx_log_warning (S_COMPONENT, "%s: segment %" PRIu64 ": cut %" PRIu64
                         " bytes of torn or corrupt tail at offset %" PRIu64,
                         stream->name, first_sequence, cut, segment->written);
        if (ftruncate (fd, (off_t) segment->written) != 0)
            return ZMX_EIO;
        stream->cut_bytes += cut;
    }
    return ZMX_OK;
}

static int
s_compare_u64 (const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;
    return x < y? -1: x > y;
}

//  The first sequences of the stream's segment files, sorted; removes
//  temp files left by a crash. Caller frees; NULL if out of memory.
static uint64_t *
s_segment_list (zmx__stream_t *stream, size_t *count_p)
{
    DIR *dir = opendir (stream->path);
    size_t count = 0, max = 16;
    uint64_t *list = (uint64_t *) malloc (max * sizeof (uint64_t));
    struct dirent *entry;
    while (dir && list && (entry = readdir (dir))) {
        const char *name = entry->d_name;
        size_t size = strlen (name);
        if (size == 28 && streq (name + 20, ".seg.tmp")) {
            char path [PATH_MAX];
            snprintf (path, sizeof path, "%s/%s", stream->path, name);
            unlink (path);
            continue;
        }
        if (size != 24 || !streq (name + 20, ".seg") || strspn (name, "0123456789") != 20)
            continue;
        uint64_t first = strtoull (name, NULL, 10);
        if (first == 0)
            continue;
        if (count == max) {
            uint64_t *grown = (uint64_t *) realloc (list, (max *= 2) * sizeof (uint64_t));
            if (!grown) {
                freen (list);
                break;
            }
            list = grown;
        }
        list [count++] = first;
    }
    if (dir)
        closedir (dir);
    if (list)
        qsort (list, count, sizeof (uint64_t), s_compare_u64);
    *count_p = count;
    return list;
}

//  Recover every segment of a stream whose folder exists, or create its
//  first segment; sets the next sequence.
static int
s_stream_recover (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    size_t count = 0;
    uint64_t *list = s_segment_list (stream, &count);
    if (!list)
        return ZMX_ENOMEM;
    int rc = ZMX_OK;
    uint64_t after = 0;
    for (size_t index = 0; index < count && rc == ZMX_OK; index++) {
        rc = s_segment_recover (self, stream, list [index], after);
        if (rc == ZMX_OK) {
            zmx__stream_segment_t *segment = &stream->segments [stream->segment_count - 1];
            if (segment->records)
                after = segment->last_sequence;
            if (index + 1 < count)
                s_segment_close (self, segment);
        }
    }
    free (list);
    if (rc == ZMX_OK && stream->segment_count == 0)
        rc = s_segment_create (self, stream, 1);
    if (rc != ZMX_OK)
        return rc;
    zmx__stream_segment_t *last = &stream->segments [stream->segment_count - 1];
    stream->next_sequence = after + 1 > last->first_sequence? after + 1: last->first_sequence;
    stream->written_sequence = stream->durable_sequence = stream->next_sequence - 1;
    stream->last_time_ns = 0;
    for (size_t index = stream->segment_count; index > 0 && !stream->last_time_ns; index--)
        stream->last_time_ns = stream->segments [index - 1].last_time_ns;
    return ZMX_OK;
}

//  A stream in memory: recovered from its folder, created if `create`.
static zmx__stream_t *
s_stream_open (zmx_stream_store_t *self, const char *name, bool create)
{
    if (zhashx_size (self->streams) >= self->config.max_streams) {
        zmx_log_warning (S_COMPONENT, "stream %s refused: max_streams (%u) reached", name,
                         self->config.max_streams);
        return NULL;
    }
    zmx__stream_t *stream = (zmx__stream_t *) zmalloc (sizeof (zmx__stream_t));
    stream->name = strdup (name);
    stream->path = zsys_sprintf ("%s/%s", self->dir, name);
    stream->buffer = (byte *) malloc (self->config.write_buffer);
    stream->synced_at = zclock_mono ();
    stream->max_bytes = self->config.max_bytes;
    stream->max_age_ms = self->config.max_age_ms;
    stream->max_records = self->config.max_records;
    bool made = stream->name && stream->path && stream->buffer
             && (!create || mkdir (stream->path, 0755) == 0 || errno == EEXIST);
    if (made && create && self->config.fsync != ZMX_STREAM_FSYNC_NEVER)
        s_sync_dir (self->dir);
    if (made && self->list_count == self->list_max) {
        size_t max = self->list_max? self->list_max * 2: 16;
        zmx__stream_t **list = (zmx__stream_t **) realloc (self->list, max * sizeof (*list));
        made = list != NULL;
        if (list) {
            self->list = list;
            self->list_max = max;
        }
    }
    if (!made || s_stream_recover (self, stream) != ZMX_OK) {
        zmx_log_error (S_COMPONENT, "cannot open stream %s in %s", name, self->dir);
        s_stream_destroy (self, &stream);
        return NULL;
    }
    zhashx_insert (self->streams, name, stream);
    self->list [self->list_count++] = stream;
    return stream;
}

//  -------------------------------------------------------------------------
//  Store

zmx_stream_store_t *
zmx_stream_store_new (const char *dir, const zmx_stream_config_t *config)
{
    zmx_stream_store_t *self = (zmx_stream_store_t *) zmalloc (sizeof (zmx_stream_store_t));
    if (config)
        self->config = *config;
    else
        zmx_stream_config_default (&self->config);
    self->dir = dir? strdup (dir): NULL;
    self->streams = zhashx_new ();
    self->lock_fd = -1;
    pthread_mutex_init (&self->mutex, NULL);
    pthread_cond_init (&self->wake, NULL);
    if (!self->dir || !s_config_valid (&self->config)
    ||  (mkdir (dir, 0755) != 0 && errno != EEXIST)) {
        zmx_log_error (S_COMPONENT, "cannot open a stream store in %s (bad directory or config)",
                       dir? dir: "(null)");
        zmx_stream_store_destroy (&self);
        return NULL;
    }
    //  One store per directory: a second writer would interleave records
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/lock", dir);
    self->lock_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (self->lock_fd < 0 || flock (self->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        zmx_log_error (S_COMPONENT, "cannot lock %s: %s", path,
                       errno == EWOULDBLOCK? "another store has it open": strerror (errno));
        zmx_stream_store_destroy (&self);
        return NULL;
    }
    DIR *folder = opendir (dir);
    struct dirent *entry;
    while (folder && (entry = readdir (folder))) {
        struct stat info;
        snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
        if (s_name_valid (entry->d_name) && stat (path, &info) == 0 && S_ISDIR (info.st_mode))
            s_stream_open (self, entry->d_name, false);
    }
    if (folder)
        closedir (folder);
    return self;
}

static void
s_stream_destroy (zmx_stream_store_t *store, zmx__stream_t **self_p)
{
    zmx__stream_t *self = *self_p;
    if (!self)
        return;
    for (size_t index = 0; index < self->segment_count; index++)
        s_segment_free (store, &self->segments [index]);
    freen (self->segments);
    freen (self->buffer);
    freen (self->name);
    freen (self->path);
    freen (self);
    *self_p = NULL;
}

void
zmx_stream_store_destroy (zmx_stream_store_t **self_p)
{
    assert (self_p);
    zmx_stream_store_t *self = *self_p;
    if (!self)
        return;
    for (size_t at = 0; at < self->list_count; at++)
        s_stream_flush (self, self->list [at], self->config.fsync != ZMX_STREAM_FSYNC_NEVER?
                                               S_SYNC_NOW: S_SYNC_NONE);
    if (self->syncer_started) {         //  It drains its queue first
        pthread_mutex_lock (&self->mutex);
        self->syncer_stop = true;
        pthread_cond_signal (&self->wake);
        pthread_mutex_unlock (&self->mutex);
        pthread_join (self->syncer, NULL);
    }
    pthread_mutex_destroy (&self->mutex);
    pthread_cond_destroy (&self->wake);
    for (size_t at = 0; at < self->list_count; at++)
        s_stream_destroy (self, &self->list [at]);
    freen (self->list);
    zhashx_destroy (&self->streams);
    if (self->lock_fd >= 0)
        close (self->lock_fd);
    freen (self->dir);
    freen (self);
    *self_p = NULL;
}

//  -------------------------------------------------------------------------
//  Writing

//  Write what is batched, with one pwrite. A failed write stops the
//  stream (its tail is cut back; reopening recovers the rest).
static int
s_stream_write (zmx_stream_store_t *self, zmx__stream_t *stream, const byte *data, size_t size)
{
    if (size == 0)
        return ZMX_OK;
    size_t index = stream->segment_count - 1;
    zmx__stream_segment_t *segment = &stream->segments [index];
    int fd = zmx__stream_segment_fd (self, stream, index);
    size_t done = 0;
    while (fd >= 0 && done < size) {
        ssize_t rc = pwrite (fd, data + done, size - done, (off_t) (segment->written + done));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break;
        done += (size_t) rc;
    }
    if (done < size) {
        zmx_log_error (S_COMPONENT, "%s: write failed: %s; no more appends until reopened",
                       stream->name, strerror (errno));
        if (fd >= 0 && ftruncate (fd, (off_t) segment->written) != 0)
            zmx_log_error (S_COMPONENT, "%s: cannot cut back: %s", stream->name, strerror (errno));
        stream->failed = true;
        return ZMX_EIO;
    }
    segment->written += size;
    stream->dirty = true;
    return ZMX_OK;
}

//  The fsync thread: takes requests in order, so that "durable" only
//  rises, until asked to stop with an empty queue.
static void *
s_syncer (void *args)
{
    zmx_stream_store_t *self = (zmx_stream_store_t *) args;
    pthread_mutex_lock (&self->mutex);
    while (true) {
        while (self->queue_count == 0 && !self->syncer_stop)
            pthread_cond_wait (&self->wake, &self->mutex);
        if (self->queue_count == 0)
            break;
        s_sync_request_t request = self->queue [self->queue_head];
        pthread_mutex_unlock (&self->mutex);
        bool synced = fdatasync (request.fd) == 0;
        close (request.fd);
        pthread_mutex_lock (&self->mutex);
        self->queue_head = (self->queue_head + 1) % S_SYNC_QUEUE;
        self->queue_count--;
        request.stream->sync_pending = false;
        if (synced)
            request.stream->synced_sequence = request.sequence;
        else
            request.stream->sync_failed = true;
    }
    pthread_mutex_unlock (&self->mutex);
    return NULL;
}

//  Take in what the thread made durable (or a failure of its fsync).
static void
s_stream_collect (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    if (!self->syncer_started)
        return;
    pthread_mutex_lock (&self->mutex);
    if (stream->synced_sequence > stream->durable_sequence)
        stream->durable_sequence = stream->synced_sequence;
    if (stream->sync_failed && !stream->failed) {
        zmx_log_error (S_COMPONENT, "%s: fsync failed; no more appends until reopened",
                       stream->name);
        stream->failed = true;
    }
    pthread_mutex_unlock (&self->mutex);
}

//  Hand an fsync of the segment being written to the thread. Returns
//  false if it cannot take it now (one of ours in flight, queue full,
//  no thread): the caller tries again at its next flush, or syncs itself.
static bool
s_sync_later (zmx_stream_store_t *self, zmx__stream_t *stream, int fd)
{
    if (!self->syncer_started) {
        if (pthread_create (&self->syncer, NULL, s_syncer, self) != 0)
            return false;
        self->syncer_started = true;
    }
    pthread_mutex_lock (&self->mutex);
    bool taken = !stream->sync_pending && self->queue_count < S_SYNC_QUEUE;
    int copy = taken? dup (fd): -1;
    if (copy >= 0) {
        size_t tail = (self->queue_head + self->queue_count++) % S_SYNC_QUEUE;
        self->queue [tail] = (s_sync_request_t) { copy, stream, stream->written_sequence };
        stream->sync_pending = true;
        pthread_cond_signal (&self->wake);
    }
    pthread_mutex_unlock (&self->mutex);
    return copy >= 0;
}

//  Write the batch, then fsync as `sync` says. Moves written, and
//  durable when the fsync is done.
static int
s_stream_flush (zmx_stream_store_t *self, zmx__stream_t *stream, s_sync_t sync)
{
    s_stream_collect (self, stream);
    if (stream->failed)
        return ZMX_EIO;
    int rc = s_stream_write (self, stream, stream->buffer, stream->buffered);
    if (rc != ZMX_OK)
        return rc;
    stream->buffered = 0;
    stream->written_sequence = stream->next_sequence - 1;
    if (self->config.fsync == ZMX_STREAM_FSYNC_NEVER) {
        stream->durable_sequence = stream->written_sequence;
        return ZMX_OK;
    }
    if (sync == S_SYNC_NONE || !stream->dirty)
        return ZMX_OK;
    int fd = zmx__stream_segment_fd (self, stream, stream->segment_count - 1);
    if (fd >= 0 && sync == S_SYNC_LATER) {
        if (s_sync_later (self, stream, fd)) {
            stream->dirty = false;
            stream->synced_at = zclock_mono ();
        }
        return ZMX_OK;
    }
    if (fd < 0 || fdatasync (fd) != 0) {
        zmx_log_error (S_COMPONENT, "%s: fsync failed: %s", stream->name, strerror (errno));
        stream->failed = true;
        return ZMX_EIO;
    }
    stream->dirty = false;
    stream->synced_at = zclock_mono ();
    stream->durable_sequence = stream->written_sequence;
    return ZMX_OK;
}

//  The fsync the policy wants at this flush.
static s_sync_t
s_sync_due (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    if (self->config.fsync == ZMX_STREAM_FSYNC_ALWAYS)
        return S_SYNC_NOW;
    return self->config.fsync == ZMX_STREAM_FSYNC_INTERVAL
        && zclock_mono () - stream->synced_at >= self->config.fsync_interval_ms?
           S_SYNC_LATER: S_SYNC_NONE;
}

//  Close the segment being written (its batch written and, unless the
//  policy is never, fsynced) and start a new one at the next sequence.
static int
s_stream_roll (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    //  The old segment is fsynced now or by the thread (before any later
    //  request: the thread keeps their order); a busy thread means now
    s_sync_t sync = self->config.fsync == ZMX_STREAM_FSYNC_ALWAYS? S_SYNC_NOW:
                    self->config.fsync == ZMX_STREAM_FSYNC_INTERVAL? S_SYNC_LATER: S_SYNC_NONE;
    int rc = s_stream_flush (self, stream, sync);
    if (rc == ZMX_OK && stream->dirty && sync == S_SYNC_LATER)
        rc = s_stream_flush (self, stream, S_SYNC_NOW);
    if (rc == ZMX_OK)
        rc = s_segment_create (self, stream, stream->next_sequence);
    if (rc != ZMX_OK)
        stream->failed = true;
    return rc;
}

//  The stream to append to, created if new.
static zmx__stream_t *
s_stream_require (zmx_stream_store_t *self, const char *name, int *rc_p)
{
    *rc_p = ZMX_OK;
    if (!s_name_valid (name)) {
        *rc_p = ZMX_EINVAL;
        return NULL;
    }
    zmx__stream_t *stream = (zmx__stream_t *) zhashx_lookup (self->streams, name);
    if (!stream) {
        stream = s_stream_open (self, name, true);
        if (!stream)
            *rc_p = zhashx_size (self->streams) >= self->config.max_streams? ZMX_ENOMEM: ZMX_EIO;
    }
    else
    if (stream->failed)
        *rc_p = ZMX_EIO;
    return *rc_p == ZMX_OK? stream: NULL;
}

//  Make room for a record of `size` bytes: a new segment if it would pass
//  segment_size, and the batch written if the buffer cannot take it.
static int
s_stream_room (zmx_stream_store_t *self, zmx__stream_t *stream, size_t size)
{
    zmx__stream_segment_t *segment = &stream->segments [stream->segment_count - 1];
    int rc = ZMX_OK;
    if (segment->records && segment->end + size > self->config.segment_size)
        rc = s_stream_roll (self, stream);
    if (rc == ZMX_OK && stream->buffered + size > self->config.write_buffer)
        rc = s_stream_flush (self, stream, S_SYNC_NONE);
    return rc;
}

int
zmx_stream_store_append (zmx_stream_store_t *self, const char *stream_name,
                         const char *subject, const zmx_stream_header_t *headers,
                         size_t header_count, const void *body, size_t body_size,
                         uint64_t *sequence_p)
{
    assert (self);
    size_t subject_size = subject? strnlen (subject, ZMX_SUBJECT_MAX + 1): 0;
    size_t headers_size = 0;
    if (!zmx_subject_valid (subject, subject_size) || (body_size && !body))
        return ZMX_EINVAL;
    int rc = zmx__stream_headers_check (headers, header_count, self->config.max_header_bytes,
                                        &headers_size);
    if (rc != ZMX_OK)
        return rc;
    if (body_size > self->config.max_record
    ||  subject_size + headers_size + body_size > self->config.max_record)
        return ZMX_ENOMEM;
    zmx__stream_t *stream = s_stream_require (self, stream_name, &rc);
    size_t size = ZMX__STREAM_RECORD_OVERHEAD + subject_size + headers_size + body_size;
    if (stream)
        rc = s_stream_room (self, stream, size);
    if (rc != ZMX_OK)
        return rc;
    //  A record bigger than the whole buffer is encoded apart and written
    //  at once (the buffer is empty by now)
    byte *out = size <= self->config.write_buffer? stream->buffer + stream->buffered
                                                 : (byte *) malloc (size);
    if (!out)
        return ZMX_ENOMEM;
    uint64_t sequence = stream->next_sequence;
    int64_t now = s_wall_ns ();
    int64_t time_ns = now > stream->last_time_ns? now: stream->last_time_ns;
    zmx__stream_segment_t *segment = &stream->segments [stream->segment_count - 1];
    zmx__stream_record_encode (out, sequence, time_ns, subject, subject_size, headers,
                               header_count, headers_size, body, body_size);
    if (zmx__stream_segment_index (segment, sequence, time_ns, segment->end,
                                   self->config.index_interval) != 0) {
        if (out != stream->buffer + stream->buffered)
            free (out);
        return ZMX_ENOMEM;
    }
    if (segment->records++ == 0)
        segment->first_time_ns = time_ns;
    segment->last_sequence = sequence;
    segment->last_time_ns = time_ns;
    segment->end += size;
    stream->last_time_ns = time_ns;
    stream->next_sequence++;
    if (out == stream->buffer + stream->buffered)
        stream->buffered += size;
    else {
        rc = s_stream_write (self, stream, out, size);
        free (out);
        if (rc == ZMX_OK)
            stream->written_sequence = sequence;
        if (rc == ZMX_OK && self->config.fsync == ZMX_STREAM_FSYNC_NEVER)
            stream->durable_sequence = sequence;
    }
    if (sequence_p)
        *sequence_p = sequence;
    return rc;
}

int
zmx_stream_store_flush (zmx_stream_store_t *self, const char *stream_name)
{
    assert (self);
    if (stream_name) {
        zmx__stream_t *stream = (zmx__stream_t *) zhashx_lookup (self->streams, stream_name);
        return stream? s_stream_flush (self, stream, s_sync_due (self, stream)): ZMX_EINVAL;
    }
    int rc = ZMX_OK;
    for (size_t at = 0; at < self->list_count; at++) {
        zmx__stream_t *stream = self->list [at];
        int result = s_stream_flush (self, stream, s_sync_due (self, stream));
        if (rc == ZMX_OK)
            rc = result;
    }
    return rc;
}

uint64_t
zmx_stream_store_durable (zmx_stream_store_t *self, const char *stream_name)
{
    assert (self);
    zmx__stream_t *stream = stream_name?
        (zmx__stream_t *) zhashx_lookup (self->streams, stream_name): NULL;
    if (!stream)
        return 0;
    s_stream_collect (self, stream);
    return stream->durable_sequence;
}

//  -------------------------------------------------------------------------
//  Retention

static uint64_t
s_stream_bytes (zmx__stream_t *stream)
{
    uint64_t bytes = 0;
    for (size_t index = 0; index < stream->segment_count; index++)
        bytes += stream->segments [index].end;
    return bytes;
}

static uint64_t
s_stream_records (zmx__stream_t *stream)
{
    uint64_t records = 0;
    for (size_t index = 0; index < stream->segment_count; index++)
        records += stream->segments [index].records;
    return records;
}

//  True if every record of the oldest segment is older than max_age_ms.
static bool
s_oldest_expired (zmx__stream_t *stream, int64_t now)
{
    zmx__stream_segment_t *oldest = &stream->segments [0];
    return stream->max_age_ms && oldest->records
        && now - oldest->last_time_ns > (int64_t) stream->max_age_ms * 1000000;
}

//  Drop oldest segments while the stream is over a limit. The segment
//  being written goes only when it has expired whole, after a new empty
//  one took its place (so the next sequence stays on disk).
static int
s_stream_retain (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    int64_t now = s_wall_ns ();
    while (!stream->failed) {
        bool expired = s_oldest_expired (stream, now);
        bool over = (stream->max_bytes && s_stream_bytes (stream) > stream->max_bytes)
                 || (stream->max_records && s_stream_records (stream) > stream->max_records);
        bool empty = stream->segments [0].records == 0;
        if (stream->segment_count == 1) {
            if (!expired)
                break;
            int rc = s_stream_roll (self, stream);
            if (rc != ZMX_OK)
                return rc;
        }
        else
        if (!expired && !over && !empty)
            break;
        s_segment_drop (self, stream);
    }
    return stream->failed? ZMX_EIO: ZMX_OK;
}

int
zmx_stream_store_set_retention (zmx_stream_store_t *self, const char *stream_name,
                                uint64_t max_bytes, uint64_t max_age_ms, uint64_t max_records)
{
    assert (self);
    zmx__stream_t *stream = stream_name?
        (zmx__stream_t *) zhashx_lookup (self->streams, stream_name): NULL;
    if (!stream)
        return ZMX_EINVAL;
    stream->max_bytes = max_bytes;
    stream->max_age_ms = max_age_ms;
    stream->max_records = max_records;
    return s_stream_retain (self, stream);
}

int
zmx_stream_store_tick (zmx_stream_store_t *self)
{
    assert (self);
    int rc = ZMX_OK;
    for (size_t at = 0; at < self->list_count; at++) {
        zmx__stream_t *stream = self->list [at];
        int result = s_stream_flush (self, stream, s_sync_due (self, stream));
        if (result == ZMX_OK)
            result = s_stream_retain (self, stream);
        if (rc == ZMX_OK)
            rc = result;
    }
    return rc;
}

//  -------------------------------------------------------------------------
//  Remove and purge

//  Wait until the fsync thread holds no request of `stream` (it keeps a
//  pointer to it). An fsync takes milliseconds; this is a rare call.
static void
s_stream_quiesce (zmx_stream_store_t *self, zmx__stream_t *stream)
{
    while (self->syncer_started) {
        pthread_mutex_lock (&self->mutex);
        bool pending = stream->sync_pending;
        pthread_mutex_unlock (&self->mutex);
        if (!pending)
            break;
        zclock_sleep (1);
    }
    s_stream_collect (self, stream);
}

int
zmx_stream_store_remove (zmx_stream_store_t *self, const char *stream_name)
{
    assert (self);
    zmx__stream_t *stream = stream_name?
        (zmx__stream_t *) zhashx_lookup (self->streams, stream_name): NULL;
    if (!stream)
        return ZMX_EINVAL;
    s_stream_quiesce (self, stream);
    int rc = ZMX_OK;
    for (size_t index = 0; index < stream->segment_count; index++) {
        char path [PATH_MAX];
        s_segment_path (stream, stream->segments [index].first_sequence, path, sizeof path, "");
        s_segment_close (self, &stream->segments [index]);
        if (unlink (path) != 0 && errno != ENOENT) {
            zmx_log_error (S_COMPONENT, "cannot remove %s: %s", path, strerror (errno));
            rc = ZMX_EIO;
        }
    }
    if (rc == ZMX_OK && rmdir (stream->path) != 0) {
        zmx_log_error (S_COMPONENT, "cannot remove %s: %s", stream->path, strerror (errno));
        rc = ZMX_EIO;
    }
    if (rc == ZMX_OK && self->config.fsync != ZMX_STREAM_FSYNC_NEVER)
        s_sync_dir (self->dir);
    //  Forgotten even when a file stayed: its records may be gone already
    for (size_t at = 0; at < self->list_count; at++)
        if (self->list [at] == stream) {
            memmove (&self->list [at], &self->list [at + 1],
                     (self->list_count - at - 1) * sizeof (zmx__stream_t *));
            self->list_count--;
            break;
        }
    zhashx_delete (self->streams, stream_name);
    s_stream_destroy (self, &stream);
    return rc;
}

int
zmx_stream_store_purge (zmx_stream_store_t *self, const char *stream_name)
{
    assert (self);
    zmx__stream_t *stream = stream_name?
        (zmx__stream_t *) zhashx_lookup (self->streams, stream_name): NULL;
    if (!stream)
        return ZMX_EINVAL;
    if (stream->failed)
        return ZMX_EIO;
    //  A new empty segment named by the next sequence keeps the sequence
    //  on disk, then every older segment goes
    zmx__stream_segment_t *last = &stream->segments [stream->segment_count - 1];
    int rc = last->records? s_stream_roll (self, stream): ZMX_OK;
    while (rc == ZMX_OK && stream->segment_count > 1)
        s_segment_drop (self, stream);
    return rc;
}

//  -------------------------------------------------------------------------
//  Counters and access for cursors

int
zmx_stream_store_stats (zmx_stream_store_t *self, const char *stream_name,
                        zmx_stream_stats_t *stats)
{
    assert (self && stats);
    zmx__stream_t *stream = stream_name?
        (zmx__stream_t *) zhashx_lookup (self->streams, stream_name): NULL;
    if (!stream)
        return ZMX_EINVAL;
    s_stream_collect (self, stream);
    memset (stats, 0, sizeof *stats);
    stats->first_sequence = stream->next_sequence;
    for (size_t index = 0; index < stream->segment_count; index++) {
        zmx__stream_segment_t *segment = &stream->segments [index];
        if (segment->records && stats->records == 0) {
            stats->first_sequence = segment->index [0].sequence;
            stats->first_time_ns = segment->index [0].time_ns;
        }
        stats->records += segment->records;
        stats->bytes += segment->end;
    }
    stats->last_sequence = stream->next_sequence - 1;
    stats->last_time_ns = stats->records? stream->last_time_ns: 0;
    stats->segments = stream->segment_count;
    stats->durable_sequence = stream->durable_sequence;
    stats->cut_bytes = stream->cut_bytes;
    stats->corrupt_records = stream->corrupt_records;
    stats->dropped_segments = stream->dropped_segments;
    stats->seek_probes = stream->seek_probes;
    stats->seek_scanned = stream->seek_scanned;
    return ZMX_OK;
}

zlist_t *
zmx_stream_store_streams (zmx_stream_store_t *self)
{
    assert (self);
    zlist_t *names = zlist_new ();
    zlist_autofree (names);
    for (size_t at = 0; at < self->list_count; at++)
        zlist_append (names, self->list [at]->name);
    zlist_sort (names, (zlist_compare_fn *) strcmp);
    return names;
}

zmx__stream_t *
zmx__stream_store_lookup (zmx_stream_store_t *self, const char *name)
{
    return (zmx__stream_t *) zhashx_lookup (self->streams, name);
}

zmx__stream_segment_t *
zmx__stream_segments (zmx__stream_t *stream, size_t *count_p)
{
    *count_p = stream->segment_count;
    return stream->segments;
}

uint64_t
zmx__stream_next_sequence (zmx__stream_t *stream)
{
    return stream->next_sequence;
}

uint32_t
zmx__stream_store_max_record (zmx_stream_store_t *self)
{
    return self->config.max_record;
}

void
zmx__stream_count_seek (zmx__stream_t *stream, uint64_t probes, uint64_t scanned)
{
    stream->seek_probes += probes;
    stream->seek_scanned += scanned;
}

void
zmx__stream_count_corrupt (zmx__stream_t *stream)
{
    stream->corrupt_records++;
}
