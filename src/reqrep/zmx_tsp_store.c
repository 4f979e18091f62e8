/*  =========================================================================
    zmx_tsp_store - the Titanic store: one file per request and per reply

    Design notes
    - Layout: DIR/<UUID>.req holds the request (service + body), and
      DIR/<UUID>.rep the reply once there is one. UUIDs are 32 uppercase
      hex digits, so the names need no escaping.
    - A file is written under DIR/<UUID>.<kind>.tmp, flushed (fsync),
      renamed to its final name, and the directory is flushed: after a
      crash a final name holds either nothing or the whole file, and a
      put that returned 0 is on disk. With sync off the flushes are
      skipped (the page cache may lose recent files on a power cut, not on
      a process crash).
    - Each file is: "ZTSP1", a kind byte ('Q' or 'P'), a frame count
      (uint32, network order), per frame its size (uint32) and bytes, then
      an FNV-1a checksum (uint32) of everything before it. A file that does
      not parse is reported, never trusted.
    - Removal deletes the request first: a crash in between leaves a reply
      without request, which the next scan deletes, rather than a request
      without reply, which would be sent again.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_LOG           "titanic"
#define S_MAGIC         "ZTSP1"
#define S_MAGIC_SIZE    5
#define S_HEADER_SIZE   (S_MAGIC_SIZE + 1 + 4)
#define S_TRAILER_SIZE  4
#define S_MAX_FRAMES    ZMX_MDP_MAX_FRAMES

struct _zmx__tsp_store_t {
    char *directory;            //  The store directory
    int dir_fd;                 //  Open on the directory, for its fsync
    bool sync;                  //  Flush files and directory
    size_t max_size;            //  Largest file read back, bytes
};

//  -------------------------------------------------------------------------
//  Encoding

static uint32_t
s_checksum (const byte *data, size_t size)
{
    uint32_t hash = 2166136261u;
    for (size_t index = 0; index < size; index++)
        hash = (hash ^ data [index]) * 16777619u;
    return hash;
}

static char
s_kind_char (zmx__tsp_kind_t kind)
{
    return kind == ZMX__TSP_REQUEST? 'Q': 'P';
}

static const char *
s_kind_suffix (zmx__tsp_kind_t kind)
{
    return kind == ZMX__TSP_REQUEST? "req": "rep";
}

//  The file image of msg; caller frees. NULL if it has too many frames.
static byte *
s_encode (zmx__tsp_kind_t kind, zmsg_t *msg, size_t *size_p)
{
    size_t count = zmsg_size (msg);
    if (count > S_MAX_FRAMES)
        return NULL;
    size_t size = S_HEADER_SIZE + S_TRAILER_SIZE;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
        size += 4 + zframe_size (frame);
    byte *data = (byte *) malloc (size);
    assert (data);
    memcpy (data, S_MAGIC, S_MAGIC_SIZE);
    data [S_MAGIC_SIZE] = (byte) s_kind_char (kind);
    zmx__wire_put (data + S_MAGIC_SIZE + 1, (uint32_t) count, 4);
    byte *cursor = data + S_HEADER_SIZE;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        zmx__wire_put (cursor, (uint32_t) zframe_size (frame), 4);
        memcpy (cursor + 4, zframe_data (frame), zframe_size (frame));
        cursor += 4 + zframe_size (frame);
    }
    zmx__wire_put (cursor, s_checksum (data, size - S_TRAILER_SIZE), 4);
    *size_p = size;
    return data;
}

//  The message in a file image, or NULL if any part of it is wrong.
static zmsg_t *
s_decode (zmx__tsp_kind_t kind, const byte *data, size_t size)
{
    if (size < S_HEADER_SIZE + S_TRAILER_SIZE || memcmp (data, S_MAGIC, S_MAGIC_SIZE) != 0
    ||  data [S_MAGIC_SIZE] != (byte) s_kind_char (kind))
        return NULL;
    size_t body_end = size - S_TRAILER_SIZE;
    if ((uint32_t) zmx__wire_get (data + body_end, 4) != s_checksum (data, body_end))
        return NULL;
    uint32_t count = (uint32_t) zmx__wire_get (data + S_MAGIC_SIZE + 1, 4);
    if (count > S_MAX_FRAMES)
        return NULL;
    zmsg_t *msg = zmsg_new ();
    size_t offset = S_HEADER_SIZE;
    for (uint32_t index = 0; index < count; index++) {
        if (body_end - offset < 4)
            break;
        size_t frame_size = (uint32_t) zmx__wire_get (data + offset, 4);
        offset += 4;
        if (body_end - offset < frame_size)
            break;
        zmsg_addmem (msg, data + offset, frame_size);
        offset += frame_size;
    }
    if (zmsg_size (msg) != count || offset != body_end)
        zmsg_destroy (&msg);
    return msg;
}

//  -------------------------------------------------------------------------
//  Files

static char *
s_path (zmx__tsp_store_t *self, const char *uuid, zmx__tsp_kind_t kind, bool temporary)
{
    return zsys_sprintf ("%s/%s.%s%s", self->directory, uuid, s_kind_suffix (kind),
                         temporary? ".tmp": "");
}

static int
s_write_all (int fd, const byte *data, size_t size)
{
    while (size) {
        ssize_t written = write (fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        size -= (size_t) written;
    }
    return 0;
}

//  Write the image to the temp name, flush it, and rename it into place.
static int
s_write_file (zmx__tsp_store_t *self, const char *temp, const char *final,
              const byte *data, size_t size)
{
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        zmx_log_error (S_LOG, "cannot create %s: %s", temp, strerror (errno));
        return -1;
    }
    int rc = s_write_all (fd, data, size);
    if (rc == 0 && self->sync)
        rc = fsync (fd);
    if (rc != 0)
        zmx_log_error (S_LOG, "cannot write %s: %s", temp, strerror (errno));
    close (fd);
    if (rc == 0 && rename (temp, final) != 0) {
        zmx_log_error (S_LOG, "cannot rename %s: %s", temp, strerror (errno));
        rc = -1;
    }
    if (rc != 0)
        unlink (temp);
    return rc;
}

//  Flush the directory, so that renames and unlinks are on disk.
static int
s_sync_directory (zmx__tsp_store_t *self)
{
    if (!self->sync || fsync (self->dir_fd) == 0)
        return 0;
    zmx_log_error (S_LOG, "cannot flush directory %s: %s", self->directory, strerror (errno));
    return -1;
}

//  -------------------------------------------------------------------------
//  Public (library-internal) API

zmx__tsp_store_t *
zmx__tsp_store_new (const char *directory, bool sync, size_t max_size)
{
    assert (directory);
    if (zsys_dir_create ("%s", directory) != 0) {
        zmx_log_error (S_LOG, "cannot create directory %s: %s", directory, strerror (errno));
        return NULL;
    }
    int dir_fd = open (directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir_fd < 0) {
        zmx_log_error (S_LOG, "cannot open directory %s: %s", directory, strerror (errno));
        return NULL;
    }
    zmx__tsp_store_t *self = (zmx__tsp_store_t *) zmalloc (sizeof (zmx__tsp_store_t));
    self->directory = strdup (directory);
    self->dir_fd = dir_fd;
    self->sync = sync;
    self->max_size = max_size;
    return self;
}

void
zmx__tsp_store_destroy (zmx__tsp_store_t **self_p)
{
    assert (self_p);
    zmx__tsp_store_t *self = *self_p;
    if (self) {
        close (self->dir_fd);
        free (self->directory);
        free (self);
        *self_p = NULL;
    }
}

bool
zmx__tsp_uuid_valid (const char *text, size_t size)
{
    if (!text || size != ZMX_TITANIC_UUID_SIZE)
        return false;
    for (size_t index = 0; index < size; index++)
        if (!isxdigit ((unsigned char) text [index]))
            return false;
    return true;
}

int
zmx__tsp_store_put (zmx__tsp_store_t *self, const char *uuid, zmx__tsp_kind_t kind,
                    zmsg_t *msg)
{
    assert (self);
    assert (uuid && msg);
    size_t size;
    byte *data = s_encode (kind, msg, &size);
    if (!data)
        return -1;
    char *temp = s_path (self, uuid, kind, true);
    char *final = s_path (self, uuid, kind, false);
    int rc = s_write_file (self, temp, final, data, size);
    if (rc == 0)
        rc = s_sync_directory (self);
    free (final);
    free (temp);
    free (data);
    return rc;
}

zmsg_t *
zmx__tsp_store_get (zmx__tsp_store_t *self, const char *uuid, zmx__tsp_kind_t kind)
{
    assert (self);
    char *path = s_path (self, uuid, kind, false);
    zmsg_t *msg = NULL;
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    struct stat info;
    if (fd >= 0 && fstat (fd, &info) == 0 && (size_t) info.st_size <= self->max_size) {
        size_t size = (size_t) info.st_size;
        byte *data = (byte *) malloc (size? size: 1);
        assert (data);
        size_t done = 0;
        while (done < size) {
            ssize_t got = read (fd, data + done, size - done);
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0)
                break;
            done += (size_t) got;
        }
        if (done == size)
            msg = s_decode (kind, data, size);
        free (data);
    }
    if (!msg && fd >= 0)
        zmx_log_error (S_LOG, "%s is damaged or too large; ignoring it", path);
    if (fd >= 0)
        close (fd);
    free (path);
    return msg;
}

int
zmx__tsp_store_remove (zmx__tsp_store_t *self, const char *uuid)
{
    assert (self);
    char *request = s_path (self, uuid, ZMX__TSP_REQUEST, false);
    char *reply = s_path (self, uuid, ZMX__TSP_REPLY, false);
    int rc = 0;
    if (unlink (request) != 0 && errno != ENOENT)
        rc = -1;
    if (unlink (reply) != 0 && errno != ENOENT)
        rc = -1;
    if (rc != 0)
        zmx_log_error (S_LOG, "cannot delete %s: %s", request, strerror (errno));
    free (reply);
    free (request);
    return rc;
}

//  The UUID a file name starts with and its kind; false if the name is not
//  one of ours ("<UUID>.req", "<UUID>.rep", or those plus ".tmp").
static bool
s_name_parse (const char *name, char *uuid, zmx__tsp_kind_t *kind, bool *temporary)
{
    size_t size = strlen (name);
    if (size < ZMX_TITANIC_UUID_SIZE + 4 || !zmx__tsp_uuid_valid (name, ZMX_TITANIC_UUID_SIZE))
        return false;
    for (size_t index = 0; index < ZMX_TITANIC_UUID_SIZE; index++)
        if (islower ((unsigned char) name [index]))
            return false;       //  We only ever write uppercase names
    const char *suffix = name + ZMX_TITANIC_UUID_SIZE;
    if (streq (suffix, ".req") || streq (suffix, ".req.tmp"))
        *kind = ZMX__TSP_REQUEST;
    else
    if (streq (suffix, ".rep") || streq (suffix, ".rep.tmp"))
        *kind = ZMX__TSP_REPLY;
    else
        return false;
    *temporary = strlen (suffix) > 4;
    memcpy (uuid, name, ZMX_TITANIC_UUID_SIZE);
    uuid [ZMX_TITANIC_UUID_SIZE] = 0;
    return true;
}

//  Modification time of a file in msec since the epoch, 0 if unknown.
static int64_t
s_mtime (zmx__tsp_store_t *self, const char *name)
{
    struct stat info;
    if (fstatat (self->dir_fd, name, &info, 0) != 0)
        return 0;
    return (int64_t) info.st_mtim.tv_sec * 1000 + info.st_mtim.tv_nsec / 1000000;
}

//  A stored request found by a scan
typedef struct {
    char uuid [ZMX_TITANIC_UUID_SIZE + 1];
    bool replied;
    int64_t stored_at;          //  Request file's time, the sort key
    int64_t newest;             //  Time of the newest of its files
} s_found_t;

static int
s_found_compare (const void *left, const void *right)
{
    const s_found_t *first = (const s_found_t *) left;
    const s_found_t *second = (const s_found_t *) right;
    if (first->stored_at != second->stored_at)
        return first->stored_at < second->stored_at? -1: 1;
    return strcmp (first->uuid, second->uuid);
}

int
zmx__tsp_store_scan (zmx__tsp_store_t *self, zmx__tsp_store_fn *fn, void *arg)
{
    assert (self && fn);
    DIR *dir = opendir (self->directory);
    if (!dir) {
        zmx_log_error (S_LOG, "cannot list %s: %s", self->directory, strerror (errno));
        return -1;
    }
    //  Collect first: callbacks must not see a directory changing under them
    zhashx_t *requests = zhashx_new ();     //  uuid -> 1
    zlistx_t *replies = zlistx_new ();
    zlistx_set_destructor (replies, (zlistx_destructor_fn *) zstr_free);
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        char uuid [ZMX_TITANIC_UUID_SIZE + 1];
        zmx__tsp_kind_t kind;
        bool temporary;
        if (!s_name_parse (entry->d_name, uuid, &kind, &temporary))
            continue;
        if (temporary)
            unlinkat (self->dir_fd, entry->d_name, 0);      //  A write cut short
        else
        if (kind == ZMX__TSP_REQUEST)
            zhashx_insert (requests, uuid, (void *) (intptr_t) 1);
        else
            zlistx_add_end (replies, strdup (uuid));
    }
    closedir (dir);
    //  A reply whose request is gone is the remains of a close
    zhashx_t *replied = zhashx_new ();
    for (char *uuid = (char *) zlistx_first (replies); uuid; uuid = (char *) zlistx_next (replies)) {
        if (zhashx_lookup (requests, uuid))
            zhashx_insert (replied, uuid, (void *) (intptr_t) 1);
        else {
            char *name = zsys_sprintf ("%s.rep", uuid);
            unlinkat (self->dir_fd, name, 0);
            free (name);
        }
    }
    //  Hand the requests over oldest first, so that recovery sends them in
    //  the order clients stored them, as the service does while running
    size_t total = zhashx_size (requests);
    s_found_t *found = (s_found_t *) zmalloc ((total? total: 1) * sizeof (s_found_t));
    size_t count = 0;
    for (void *value = zhashx_first (requests); value; value = zhashx_next (requests)) {
        s_found_t *item = &found [count++];
        memcpy (item->uuid, zhashx_cursor (requests), ZMX_TITANIC_UUID_SIZE + 1);
        item->replied = zhashx_lookup (replied, item->uuid) != NULL;
        char name [ZMX_TITANIC_UUID_SIZE + 5];
        snprintf (name, sizeof name, "%s.req", item->uuid);
        item->stored_at = s_mtime (self, name);
        if (item->replied) {
            snprintf (name, sizeof name, "%s.rep", item->uuid);
            item->newest = s_mtime (self, name);
        }
        else
            item->newest = item->stored_at;
    }
    qsort (found, count, sizeof (s_found_t), s_found_compare);
    for (size_t index = 0; index < count; index++)
        fn (found [index].uuid, found [index].replied, found [index].newest, arg);
    free (found);
    zhashx_destroy (&replied);
    zlistx_destroy (&replies);
    zhashx_destroy (&requests);
    return (int) count;
}
