/*  =========================================================================
    zmx_streams_internal - what the stream store's files share: the record
    and segment codec (zmx_stream_segment.c), the store's structures, and
    the cursor's access to them (zmx_stream_store.c, zmx_stream_cursor.c)
    =========================================================================
*/
#ifndef ZMX_STREAMS_INTERNAL_H_INCLUDED
#define ZMX_STREAMS_INTERNAL_H_INCLUDED

#include "zmx_classes.h"

#define ZMX__STREAM_MAGIC           "ZMXSEG01"  //  First 8 bytes of a segment
#define ZMX__STREAM_SEGMENT_HEADER  16          //  Magic + first sequence
#define ZMX__STREAM_RECORD_FIXED    32          //  Record bytes before the subject
#define ZMX__STREAM_RECORD_OVERHEAD 40          //  Fixed part + checksum
#define ZMX__STREAM_MAX_SPANS       16          //  Corrupt spans kept per segment

//  One sparse index entry: where a record starts.
typedef struct {
    uint64_t sequence;
    int64_t time_ns;
    uint64_t offset;
} zmx__stream_index_t;

//  Bytes [start, end) of a segment that hold no valid record.
typedef struct {
    uint64_t start;
    uint64_t end;
} zmx__stream_span_t;

//  One segment file, in memory: counters and a sparse index.
typedef struct {
    uint64_t first_sequence;    //  From the file name
    uint64_t last_sequence;     //  Of its last record; first - 1 if none
    int64_t first_time_ns;      //  Of its first record, 0 if none
    int64_t last_time_ns;       //  Of its last record, 0 if none
    uint64_t records;           //  Valid records
    uint64_t written;           //  Bytes in the file that readers may read
    uint64_t end;               //  written + bytes batched, not yet written
    uint64_t indexed_at;        //  Offset of the last index entry
    zmx__stream_index_t *index; //  Sparse index, by offset
    size_t index_count;
    size_t index_max;
    zmx__stream_span_t spans [ZMX__STREAM_MAX_SPANS];   //  Corrupt spans
    size_t span_count;
    int fd;                     //  -1 when closed
    int64_t used;               //  Last use (a store tick count), for closing idle files
} zmx__stream_segment_t;

//  Parse the record at data [0, size). Returns its size when it is whole
//  and its checksum and fields are right (*record set, with subject NOT
//  NUL-terminated); 0 if `size` is too short to tell (*need_p, if not
//  NULL, gets the bytes needed); -1 if it is not a valid record.
int64_t
    zmx__stream_record_parse (const byte *data, size_t size, uint32_t max_record,
                              zmx_stream_record_t *record, size_t *need_p);

//  True if the string `name` is a valid stream name (the store's rule, which
//  the ZMXS1 codec applies to names on the wire).
bool
    zmx__stream_name_valid (const char *name);

//  Check headers (count, names, sizes) and set *size_p to their encoded
//  size. Returns ZMX_OK, ZMX_EINVAL or ZMX_ENOMEM (over max_bytes).
int
    zmx__stream_headers_check (const zmx_stream_header_t *headers, size_t count,
                               size_t max_bytes, size_t *size_p);

//  Encode a record into out (room for ZMX__STREAM_RECORD_OVERHEAD +
//  subject + headers + body bytes); returns its size.
size_t
    zmx__stream_record_encode (byte *out, uint64_t sequence, int64_t time_ns,
                               const char *subject, size_t subject_size,
                               const zmx_stream_header_t *headers, size_t header_count,
                               size_t headers_size, const void *body, size_t body_size);

//  Write the 16-byte segment header for first_sequence into out.
void
    zmx__stream_segment_header (byte *out, uint64_t first_sequence);

//  Verify a segment image (the whole file, `size` bytes) whose name says
//  segment->first_sequence; records must have sequences above `after`.
//  Fills the segment's counters, index (every index_interval bytes) and
//  corrupt spans; sets segment->written to the end of the last good
//  record (what follows is a torn or corrupt tail). Returns the number of
//  corrupt records found in the middle; -1 if out of memory.
int64_t
    zmx__stream_segment_scan (zmx__stream_segment_t *segment, const byte *data, size_t size,
                              uint64_t after, uint32_t max_record, uint32_t index_interval);

//  Add an index entry for a record at `offset` if index_interval bytes
//  passed since the last one (always for the first). -1 if out of memory.
int
    zmx__stream_segment_index (zmx__stream_segment_t *segment, uint64_t sequence,
                               int64_t time_ns, uint64_t offset, uint32_t index_interval);

//  Little-endian integers, as the segment files hold them.
static inline uint64_t
zmx__stream_get (const byte *at, size_t width)
{
    uint64_t value = 0;
    for (size_t index = width; index > 0; index--)
        value = (value << 8) | at [index - 1];
    return value;
}

static inline void
zmx__stream_put (byte *at, uint64_t value, size_t width)
{
    for (size_t index = 0; index < width; index++, value >>= 8)
        at [index] = (byte) value;
}

//  ---- Store internals the cursor uses (zmx_stream_store.c)

typedef struct _zmx__stream_t zmx__stream_t;

//  The stream called `name`, or NULL.
zmx__stream_t *
    zmx__stream_store_lookup (zmx_stream_store_t *self, const char *name);

//  The stream's segments, oldest first, and their count; valid until the
//  next append, flush, tick or retention call.
zmx__stream_segment_t *
    zmx__stream_segments (zmx__stream_t *stream, size_t *count_p);

//  Sequence the stream will give its next record.
uint64_t
    zmx__stream_next_sequence (zmx__stream_t *stream);

//  An open descriptor for segment `index` of `stream` (opened if closed,
//  closing an idle one past max_open_files), or -1 (logged).
int
    zmx__stream_segment_fd (zmx_stream_store_t *self, zmx__stream_t *stream, size_t index);

//  The store's max_record, and its seek counters to add to.
uint32_t
    zmx__stream_store_max_record (zmx_stream_store_t *self);
void
    zmx__stream_count_seek (zmx__stream_t *stream, uint64_t probes, uint64_t scanned);
void
    zmx__stream_count_corrupt (zmx__stream_t *stream);

#endif
