/*  =========================================================================
    zmx_stream_cursor - reads a stream in order, from a start, through a
    subject filter (part of zmx_stream_store)

    A cursor holds its place as (segment, file offset) and the sequence it
    wants next, never a pointer into the store, so that appends, rolls and
    retention can change the segment table between two calls. It reads
    big slices of a segment with pread into its own buffer and returns
    views into it; it reads only what the store has written (a record in
    the append batch shows after the flush). Seeks find the segment and
    then the nearest index entry by binary search, and read forward from
    there at most one index interval.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_streams_internal.h"
#include <unistd.h>

#define S_COMPONENT     "streams"
#define S_READ_SIZE     (128 << 10)     //  Bytes per pread

struct _zmx_stream_cursor_t {
    zmx_stream_store_t *store;  //  Not owned
    char *stream;               //  Stream name
    char *pattern;              //  Subject filter, NULL for all
    zmx_stream_from_t from;     //  Start, until the cursor is placed
    uint64_t value;
    bool placed;                //  segment and offset are set
    uint64_t position;          //  Sequence wanted next
    int64_t min_time_ns;        //  Skip records before this (a time seek)
    uint64_t segment;           //  First sequence of the segment being read
    uint64_t offset;            //  File offset of buffer [0]
    byte *buffer;               //  File bytes [offset, offset + filled)
    size_t capacity;
    size_t start;               //  Next record in buffer
    size_t filled;
    uint64_t skipped;           //  Corrupt records skipped
    uint64_t scanned;           //  Records read past while seeking
    char subject [ZMX_SUBJECT_MAX + 1];
};

zmx_stream_cursor_t *
zmx_stream_cursor_new (zmx_stream_store_t *store, const char *stream, zmx_stream_from_t from,
                       uint64_t value, const char *pattern)
{
    assert (store);
    if (!stream || !*stream || strlen (stream) > ZMX_STREAM_NAME_MAX
    ||  (pattern && !zmx_subject_pattern_valid (pattern)) || from > ZMX_STREAM_FROM_NEW)
        return NULL;
    zmx_stream_cursor_t *self = (zmx_stream_cursor_t *) zmalloc (sizeof (zmx_stream_cursor_t));
    self->store = store;
    self->stream = strdup (stream);
    self->pattern = pattern? strdup (pattern): NULL;
    self->capacity = S_READ_SIZE;
    self->buffer = (byte *) malloc (self->capacity);
    self->from = from;
    self->value = value;
    if (!self->stream || !self->buffer || (pattern && !self->pattern)) {
        zmx_stream_cursor_destroy (&self);
        return NULL;
    }
    //  "Last N" and "new" are fixed now; a stream that does not exist yet
    //  is read from its first record whatever the start
    zmx__stream_t *target = zmx__stream_store_lookup (store, stream);
    uint64_t next = target? zmx__stream_next_sequence (target): 1;
    if (from == ZMX_STREAM_FROM_NEW || (from == ZMX_STREAM_FROM_LAST && !target))
        self->value = next;
    else
    if (from == ZMX_STREAM_FROM_LAST)
        self->value = next > value? next - value: 1;
    if (from == ZMX_STREAM_FROM_NEW || from == ZMX_STREAM_FROM_LAST)
        self->from = ZMX_STREAM_FROM_SEQUENCE;
    return self;
}

void
zmx_stream_cursor_destroy (zmx_stream_cursor_t **self_p)
{
    assert (self_p);
    zmx_stream_cursor_t *self = *self_p;
    if (self) {
        freen (self->stream);
        freen (self->pattern);
        freen (self->buffer);
        freen (self);
        *self_p = NULL;
    }
}

uint64_t
zmx_stream_cursor_position (zmx_stream_cursor_t *self)
{
    assert (self);
    return self->position;
}

uint64_t
zmx_stream_cursor_skipped (zmx_stream_cursor_t *self)
{
    assert (self);
    return self->skipped;
}

//  -------------------------------------------------------------------------
//  Seeking

//  Index of the segment whose first sequence is `first`, or -1.
static ssize_t
s_segment_find (zmx__stream_segment_t *segments, size_t count, uint64_t first)
{
    size_t low = 0, high = count;
    while (low < high) {
        size_t middle = low + (high - low) / 2;
        if (segments [middle].first_sequence < first)
            low = middle + 1;
        else
            high = middle;
    }
    return low < count && segments [low].first_sequence == first? (ssize_t) low: -1;
}

//  Start reading `segment` at `offset`.
static void
s_place (zmx_stream_cursor_t *self, const zmx__stream_segment_t *segment, uint64_t offset)
{
    self->placed = true;
    self->segment = segment->first_sequence;
    self->offset = offset;
    self->start = self->filled = 0;
}

//  Offset of the last index entry of `segment` at or before the target
//  (a sequence, or a time if by_time); counts probes.
static uint64_t
s_index_find (const zmx__stream_segment_t *segment, bool by_time, uint64_t target,
              uint64_t *probes_p)
{
    size_t low = 0, high = segment->index_count;
    while (low < high) {                //  First entry past the target
        size_t middle = low + (high - low) / 2;
        const zmx__stream_index_t *entry = &segment->index [middle];
        bool past = by_time? entry->time_ns >= (int64_t) target: entry->sequence > target;
        (*probes_p)++;
        if (past)
            high = middle;
        else
            low = middle + 1;
    }
    return low? segment->index [low - 1].offset: ZMX__STREAM_SEGMENT_HEADER;
}

//  Place the cursor for its start (a sequence or a time), by binary
//  search on the segments then on one segment's index. Returns
//  ZMX_EDROPPED if the sequence asked for is no longer held.
static int
s_seek (zmx_stream_cursor_t *self, zmx__stream_t *stream)
{
    size_t count;
    zmx__stream_segment_t *segments = zmx__stream_segments (stream, &count);
    bool by_time = self->from == ZMX_STREAM_FROM_TIME;
    uint64_t target = self->from == ZMX_STREAM_FROM_FIRST? 0: self->value;
    uint64_t probes = 0;
    size_t low = 0, high = count;
    while (low < high) {                //  First segment past the target
        size_t middle = low + (high - low) / 2;
        const zmx__stream_segment_t *segment = &segments [middle];
        //  An empty segment is the one being written (or one whose records
        //  were all corrupt): what it will hold is newer than any time
        bool past = by_time? !segment->records || segment->last_time_ns >= (int64_t) target
                           : segment->first_sequence > target;
        probes++;
        if (past)
            high = middle;
        else
            low = middle + 1;
    }
    size_t chosen = by_time? (low < count? low: count - 1): (low? low - 1: 0);
    const zmx__stream_segment_t *segment = &segments [chosen];
    s_place (self, segment, s_index_find (segment, by_time, target, &probes));
    zmx__stream_count_seek (stream, probes, 0);
    self->min_time_ns = by_time? (int64_t) target: 0;
    self->position = by_time? segment->first_sequence: target;
    if (by_time && low == count)
        self->position = zmx__stream_next_sequence (stream);
    uint64_t first = segments [0].first_sequence;
    if (self->from == ZMX_STREAM_FROM_FIRST || self->position < first) {
        bool dropped = self->from == ZMX_STREAM_FROM_SEQUENCE && self->position < first;
        self->position = first;
        return dropped? ZMX_EDROPPED: ZMX_OK;
    }
    return ZMX_OK;
}

//  -------------------------------------------------------------------------
//  Reading

//  Read more of the current segment into the buffer, keeping the unread
//  bytes, so that at least `need` unread bytes are there if the file has
//  them. Returns 1 if bytes came, 0 at the end of what is written, -1 on
//  error.
static int
s_fill (zmx_stream_cursor_t *self, zmx__stream_t *stream, size_t index, size_t need)
{
    size_t count;
    zmx__stream_segment_t *segment = &zmx__stream_segments (stream, &count) [index];
    uint64_t at = self->offset + self->filled;
    if (at >= segment->written)
        return 0;
    size_t unread = self->filled - self->start;
    memmove (self->buffer, self->buffer + self->start, unread);
    self->offset += self->start;
    self->start = 0;
    self->filled = unread;
    if (need > self->capacity) {
        byte *buffer = (byte *) realloc (self->buffer, need);
        if (!buffer)
            return -1;
        self->buffer = buffer;
        self->capacity = need;
    }
    size_t want = self->capacity - unread;
    if (want > segment->written - at)
        want = (size_t) (segment->written - at);
    int fd = zmx__stream_segment_fd (self->store, stream, index);
    ssize_t got = fd < 0? -1: pread (fd, self->buffer + unread, want, (off_t) at);
    if (got <= 0) {
        zmx_log_error (S_COMPONENT, "%s: cannot read segment %" PRIu64 ": %s", self->stream,
                       self->segment, got < 0? strerror (errno): "file shorter than written");
        return -1;
    }
    self->filled += (size_t) got;
    return 1;
}

//  Past a record that does not parse at the cursor: to the end of its
//  corrupt span if recovery found one there, else (damage since open)
//  to the end of the segment. Counted, never returned.
static void
s_skip_corrupt (zmx_stream_cursor_t *self, zmx__stream_t *stream, zmx__stream_segment_t *segment)
{
    uint64_t at = self->offset + self->start;
    uint64_t resume = segment->written;
    bool known = false;
    for (size_t span = 0; span < segment->span_count; span++)
        if (segment->spans [span].start == at) {
            resume = segment->spans [span].end;
            known = true;
        }
    if (!known) {
        zmx_log_warning (S_COMPONENT, "%s: segment %" PRIu64 ": bad record at offset %" PRIu64
                         ", rest of segment skipped", self->stream, segment->first_sequence, at);
        zmx__stream_count_corrupt (stream);
    }
    self->skipped++;
    s_place (self, segment, resume);
}

//  Take the record at the cursor if it is wanted. Returns true when
//  *record is set.
static bool
s_take (zmx_stream_cursor_t *self, zmx_stream_record_t *record)
{
    if (record->sequence < self->position
    ||  (self->min_time_ns && record->time_ns < self->min_time_ns)) {
        self->scanned++;
        return false;
    }
    if (self->scanned) {
        zmx__stream_t *stream = zmx__stream_store_lookup (self->store, self->stream);
        zmx__stream_count_seek (stream, 0, self->scanned);
        self->scanned = 0;
    }
    self->min_time_ns = 0;
    self->position = record->sequence + 1;
    if (self->pattern
    &&  !zmx_subject_match (self->pattern, record->subject, record->subject_size))
        return false;
    memcpy (self->subject, record->subject, record->subject_size);
    self->subject [record->subject_size] = '\0';
    record->subject = self->subject;
    return true;
}

//  One step: a record, or a move. Returns ZMX_OK with *record set, 1 to
//  step again, or ZMX_EAGAIN, ZMX_EDROPPED, ZMX_EIO.
static int
s_step (zmx_stream_cursor_t *self, zmx__stream_t *stream, zmx_stream_record_t *record)
{
    size_t count;
    zmx__stream_segment_t *segments = zmx__stream_segments (stream, &count);
    ssize_t index = s_segment_find (segments, count, self->segment);
    if (index < 0) {                    //  Dropped under the cursor
        self->placed = false;
        self->from = ZMX_STREAM_FROM_SEQUENCE;
        self->value = self->position;
        return 1;
    }
    zmx__stream_segment_t *segment = &segments [index];
    size_t need = 0;
    int64_t size = zmx__stream_record_parse (self->buffer + self->start,
                                             self->filled - self->start,
                                             zmx__stream_store_max_record (self->store),
                                             record, &need);
    if (size > 0) {
        self->start += (size_t) size;
        return s_take (self, record)? ZMX_OK: 1;
    }
    int filled = size == 0? s_fill (self, stream, (size_t) index, need): 0;
    if (filled < 0)
        return ZMX_EIO;
    if (filled > 0)
        return 1;
    if (size < 0 || self->start < self->filled) {
        s_skip_corrupt (self, stream, segment);
        return 1;
    }
    if ((size_t) index + 1 < count) {
        s_place (self, &segments [index + 1], ZMX__STREAM_SEGMENT_HEADER);
        return 1;
    }
    return ZMX_EAGAIN;
}

int
zmx_stream_cursor_next (zmx_stream_cursor_t *self, zmx_stream_record_t *record)
{
    assert (self && record);
    zmx__stream_t *stream = zmx__stream_store_lookup (self->store, self->stream);
    if (!stream)
        return ZMX_EAGAIN;
    while (true) {
        if (!self->placed) {
            int rc = s_seek (self, stream);
            if (rc != ZMX_OK)
                return rc;
        }
        int rc = s_step (self, stream, record);
        if (rc != 1)
            return rc;
    }
}

bool
zmx_stream_record_header (const zmx_stream_record_t *record, size_t index,
                          zmx_stream_header_t *header)
{
    assert (record && header);
    const byte *at = (const byte *) record->headers;
    const byte *end = at + record->headers_size;
    for (size_t current = 0; current < record->header_count && at < end; current++) {
        size_t name_size = *at;
        if ((size_t) (end - at) < 1 + name_size + 2)
            return false;
        size_t value_size = (size_t) zmx__stream_get (at + 1 + name_size, 2);
        if ((size_t) (end - at) < 3 + name_size + value_size)
            return false;
        if (current == index) {
            *header = (zmx_stream_header_t) { (const char *) at + 1, name_size,
                                              at + 3 + name_size, value_size };
            return true;
        }
        at += 3 + name_size + value_size;
    }
    return false;
}
