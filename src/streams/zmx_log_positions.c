/*  =========================================================================
    zmx_log_positions - durable consumer positions on disk

    A file holds "zmx-consumer 1\nposition N\n". Its name is the stream,
    '~' (never in a stream name) and the consumer name in hex (a name may
    hold any printable character, '/' too). A new position goes to
    NAME.tmp, is fsynced, renamed over NAME, and the folder is fsynced: a
    crash leaves the old file or the new one, never a torn one.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_log_positions.h"
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_COMPONENT "log"

struct _zmx__log_positions_t {
    char *folder;               //  DIRECTORY/.consumers
};

zmx__log_positions_t *
zmx__log_positions_new (const char *directory)
{
    zmx__log_positions_t *self = (zmx__log_positions_t *) zmalloc (sizeof (*self));
    self->folder = zsys_sprintf ("%s/%s", directory, ZMX__LOG_POSITIONS_DIR);
    if (!self->folder || (mkdir (self->folder, 0755) != 0 && errno != EEXIST)) {
        zmx_log_error (S_COMPONENT, "cannot create %s: %s", self->folder? self->folder: directory,
                       strerror (errno));
        zmx__log_positions_destroy (&self);
    }
    return self;
}

void
zmx__log_positions_destroy (zmx__log_positions_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        freen ((*self_p)->folder);
        freen (*self_p);
    }
}

void
zmx__log_positions_key (const char *stream, const char *name, char *key)
{
    static const char digits [] = "0123456789abcdef";
    size_t length = strnlen (stream, ZMX_STREAM_NAME_MAX);
    memcpy (key, stream, length);
    char *out = key + length;
    *out++ = '~';
    for (size_t at = 0; name [at] && at < ZMX_STREAM_MSG_DURABLE_MAX; at++) {
        *out++ = digits [(byte) name [at] >> 4];
        *out++ = digits [(byte) name [at] & 15];
    }
    *out = '\0';
}

int
zmx__log_positions_save (zmx__log_positions_t *self, const char *key, uint64_t position)
{
    assert (self && key);
    char *path = zsys_sprintf ("%s/%s", self->folder, key);
    char *temp = zsys_sprintf ("%s/%s.tmp", self->folder, key);
    char text [64];
    int size = snprintf (text, sizeof text, "zmx-consumer 1\nposition %" PRIu64 "\n", position);
    int fd = open (temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    bool done = fd >= 0 && write (fd, text, (size_t) size) == size && fsync (fd) == 0;
    if (fd >= 0)
        close (fd);
    done = done && rename (temp, path) == 0;
    int dir = done? open (self->folder, O_RDONLY | O_DIRECTORY): -1;
    if (dir >= 0) {
        done = fsync (dir) == 0;
        close (dir);
    }
    if (!done) {
        zmx_log_error (S_COMPONENT, "cannot save consumer %s: %s", path, strerror (errno));
        unlink (temp);
    }
    free (path);
    free (temp);
    return done? 0: -1;
}

void
zmx__log_positions_remove (zmx__log_positions_t *self, const char *key)
{
    assert (self && key);
    char *path = zsys_sprintf ("%s/%s", self->folder, key);
    unlink (path);
    free (path);
}

//  Decode "STREAM~HEXNAME" back into its parts; false if it is not one.
static bool
s_parse_key (const char *key, char *stream, char *name)
{
    const char *tilde = strchr (key, '~');
    size_t stream_size = tilde? (size_t) (tilde - key): 0;
    size_t hex_size = tilde? strlen (tilde + 1): 0;
    if (!tilde || stream_size == 0 || stream_size > ZMX_STREAM_NAME_MAX
    ||  hex_size == 0 || hex_size % 2 || hex_size > 2 * ZMX_STREAM_MSG_DURABLE_MAX)
        return false;
    memcpy (stream, key, stream_size);
    stream [stream_size] = '\0';
    for (size_t at = 0; at < hex_size / 2; at++) {
        unsigned int value;
        if (sscanf (tilde + 1 + 2 * at, "%2x", &value) != 1 || value < 0x20 || value > 0x7e)
            return false;
        name [at] = (char) value;
    }
    name [hex_size / 2] = '\0';
    return true;
}

void
zmx__log_positions_load (zmx__log_positions_t *self, zmx__log_position_fn *fn, void *arg)
{
    assert (self && fn);
    DIR *dir = opendir (self->folder);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        char stream [ZMX_STREAM_NAME_MAX + 1], name [ZMX_STREAM_MSG_DURABLE_MAX + 1];
        char *path = zsys_sprintf ("%s/%s", self->folder, entry->d_name);
        size_t length = strlen (entry->d_name);
        uint64_t position = 0;
        if (length > 4 && streq (entry->d_name + length - 4, ".tmp"))
            unlink (path);                  //  A write a crash cut short
        else
        if (s_parse_key (entry->d_name, stream, name)) {
            FILE *file = fopen (path, "r");
            if (file && fscanf (file, "zmx-consumer 1\nposition %" SCNu64, &position) == 1)
                fn (arg, stream, name, position);
            else
                zmx_log_warning (S_COMPONENT, "consumer file %s ignored", path);
            if (file)
                fclose (file);
        }
        free (path);
    }
    if (dir)
        closedir (dir);
}
