/*  =========================================================================
    zmx_log_dedup - the log service's window of message ids

    One hash "STREAM/HEX(ID)" -> entry for lookups and one list of the same
    entries in the order they were added, for forgetting the oldest first.
    A key added again (its old entry expired from lookups but not yet from
    the list) points the hash at the new entry; the old one, when it leaves
    the list, removes the key only if the hash still points at it.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_log_dedup.h"

#define S_KEY_MAX   (ZMX_STREAM_NAME_MAX + 1 + 2 * ZMX_STREAM_MSG_ID_MAX + 1)

typedef struct {
    char key [S_KEY_MAX];
    uint64_t sequence;
    int64_t time_ms;            //  Wall clock when stored
} s_entry_t;

struct _zmx__log_dedup_t {
    int64_t window_ms;
    size_t max;
    zhashx_t *entries;          //  key -> s_entry_t (owned by order)
    zlistx_t *order;            //  s_entry_t *, oldest first
};

static void
s_entry_free (void **item)
{
    freen (*item);
}

zmx__log_dedup_t *
zmx__log_dedup_new (int64_t window_ms, size_t max)
{
    zmx__log_dedup_t *self = (zmx__log_dedup_t *) zmalloc (sizeof (zmx__log_dedup_t));
    self->window_ms = window_ms;
    self->max = max;
    self->entries = zhashx_new ();
    self->order = zlistx_new ();
    zlistx_set_destructor (self->order, s_entry_free);
    return self;
}

void
zmx__log_dedup_destroy (zmx__log_dedup_t **self_p)
{
    assert (self_p);
    zmx__log_dedup_t *self = *self_p;
    if (self) {
        zhashx_destroy (&self->entries);
        zlistx_destroy (&self->order);
        freen (self);
        *self_p = NULL;
    }
}

static bool
s_key (const char *stream, const void *id, size_t size, char *key)
{
    static const char digits [] = "0123456789abcdef";
    size_t length = strnlen (stream, ZMX_STREAM_NAME_MAX + 1);
    if (length > ZMX_STREAM_NAME_MAX || size == 0 || size > ZMX_STREAM_MSG_ID_MAX)
        return false;
    memcpy (key, stream, length);
    key [length] = '/';
    char *out = key + length + 1;
    for (size_t at = 0; at < size; at++) {
        byte value = ((const byte *) id) [at];
        *out++ = digits [value >> 4];
        *out++ = digits [value & 15];
    }
    *out = '\0';
    return true;
}

//  Drop the oldest entry.
static void
s_drop_oldest (zmx__log_dedup_t *self)
{
    s_entry_t *entry = (s_entry_t *) zlistx_first (self->order);
    if (zhashx_lookup (self->entries, entry->key) == entry)
        zhashx_delete (self->entries, entry->key);
    zlistx_delete (self->order, zlistx_cursor (self->order));
}

uint64_t
zmx__log_dedup_find (zmx__log_dedup_t *self, const char *stream, const void *id, size_t size)
{
    assert (self);
    char key [S_KEY_MAX];
    if (!s_key (stream, id, size, key))
        return 0;
    s_entry_t *entry = (s_entry_t *) zhashx_lookup (self->entries, key);
    if (entry && entry->time_ms >= zclock_time () - self->window_ms)
        return entry->sequence;
    return 0;
}

void
zmx__log_dedup_add (zmx__log_dedup_t *self, const char *stream, const void *id, size_t size,
                    uint64_t sequence, int64_t time_ms)
{
    assert (self);
    s_entry_t *entry = (s_entry_t *) zmalloc (sizeof (s_entry_t));
    if (self->max == 0 || self->window_ms == 0 || !s_key (stream, id, size, entry->key)) {
        free (entry);
        return;
    }
    entry->sequence = sequence;
    entry->time_ms = time_ms;
    zlistx_add_end (self->order, entry);
    zhashx_update (self->entries, entry->key, entry);
    while (zlistx_size (self->order) > self->max)
        s_drop_oldest (self);
}

void
zmx__log_dedup_forget (zmx__log_dedup_t *self, const char *stream)
{
    assert (self);
    size_t length = strlen (stream);
    s_entry_t *entry = (s_entry_t *) zlistx_first (self->order);
    while (entry) {
        //  Deleting an item other than the cursor's keeps the walk going
        void *handle = zlistx_cursor (self->order);
        s_entry_t *next = (s_entry_t *) zlistx_next (self->order);
        if (strncmp (entry->key, stream, length) == 0 && entry->key [length] == '/') {
            if (zhashx_lookup (self->entries, entry->key) == entry)
                zhashx_delete (self->entries, entry->key);
            zlistx_delete (self->order, handle);
        }
        entry = next;
    }
}

void
zmx__log_dedup_expire (zmx__log_dedup_t *self)
{
    assert (self);
    int64_t oldest = zclock_time () - self->window_ms;
    s_entry_t *entry;
    while ((entry = (s_entry_t *) zlistx_first (self->order)) && entry->time_ms < oldest)
        s_drop_oldest (self);
}

//  The message id header of a record, or NULL.
static const zmx_stream_header_t *
s_record_id (const zmx_stream_record_t *record, zmx_stream_header_t *header)
{
    size_t name_size = strlen (ZMX__LOG_MSG_ID_HEADER);
    for (size_t index = 0; zmx_stream_record_header (record, index, header); index++)
        if (header->name_size == name_size
        &&  memcmp (header->name, ZMX__LOG_MSG_ID_HEADER, name_size) == 0)
            return header;
    return NULL;
}

void
zmx__log_dedup_load (zmx__log_dedup_t *self, zmx_stream_store_t *store)
{
    assert (self && store);
    if (self->max == 0 || self->window_ms == 0)
        return;
    int64_t since_ns = (zclock_time () - self->window_ms) * 1000000;
    zlist_t *streams = zmx_stream_store_streams (store);
    for (const char *stream = (const char *) zlist_first (streams); stream;
         stream = (const char *) zlist_next (streams)) {
        zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, stream, ZMX_STREAM_FROM_LAST,
                                                             self->max, NULL);
        zmx_stream_record_t record;
        zmx_stream_header_t header;
        int rc;
        while (cursor && (rc = zmx_stream_cursor_next (cursor, &record)) != ZMX_EAGAIN
        &&     rc != ZMX_EIO)
            if (rc == ZMX_OK && record.time_ns >= since_ns && s_record_id (&record, &header))
                zmx__log_dedup_add (self, stream, header.value, header.value_size,
                                    record.sequence, record.time_ns / 1000000);
        zmx_stream_cursor_destroy (&cursor);
    }
    zlist_destroy (&streams);
}

size_t
zmx__log_dedup_size (zmx__log_dedup_t *self)
{
    assert (self);
    return zlistx_size (self->order);
}
