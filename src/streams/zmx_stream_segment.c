/*  =========================================================================
    zmx_stream_segment - the record and segment codec of the stream store,
    and the verification of a segment at open (internal)

    Every record carries its own size, its fields' sizes and an XXH3-64 of
    all its other bytes, so a reader can tell a whole record from a torn
    or damaged one without any other file. Recovery uses that to find
    where good data resumes after a damaged record: it looks, byte by
    byte, for the next offset where a whole record with a higher sequence
    parses and checks; the bytes in between are a corrupt span (kept so
    that readers skip it). If none is found, what follows the last good
    record is a torn tail, which the store cuts.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_streams_internal.h"
#include <xxhash.h>

//  True if `count` headers fill exactly `size` bytes, with valid names.
static bool
s_headers_valid (const byte *at, size_t size, size_t count)
{
    const byte *end = at + size;
    for (size_t index = 0; index < count; index++) {
        size_t name_size = at < end? *at: 0;
        if (name_size == 0 || name_size > ZMX_STREAM_HEADER_NAME_MAX
        ||  (size_t) (end - at) < 3 + name_size)
            return false;
        for (size_t offset = 1; offset <= name_size; offset++)
            if (at [offset] < 0x21 || at [offset] > 0x7e || at [offset] == ':')
                return false;
        size_t value_size = (size_t) zmx__stream_get (at + 1 + name_size, 2);
        if ((size_t) (end - at) < 3 + name_size + value_size)
            return false;
        at += 3 + name_size + value_size;
    }
    return at == end;
}

int64_t
zmx__stream_record_parse (const byte *data, size_t size, uint32_t max_record,
                          zmx_stream_record_t *record, size_t *need_p)
{
    if (size < 4) {
        if (need_p)
            *need_p = ZMX__STREAM_RECORD_OVERHEAD;
        return 0;
    }
    uint64_t total = zmx__stream_get (data, 4);
    if (total < ZMX__STREAM_RECORD_OVERHEAD + 1
    ||  total > (uint64_t) max_record + ZMX__STREAM_RECORD_OVERHEAD)
        return -1;
    if (size < total) {
        if (need_p)
            *need_p = (size_t) total;
        return 0;
    }
    size_t subject_size = (size_t) zmx__stream_get (data + 20, 2);
    size_t header_count = (size_t) zmx__stream_get (data + 22, 2);
    uint64_t headers_size = zmx__stream_get (data + 24, 4);
    uint64_t body_size = zmx__stream_get (data + 28, 4);
    if (ZMX__STREAM_RECORD_OVERHEAD + subject_size + headers_size + body_size != total
    ||  header_count > ZMX_STREAM_HEADERS_MAX)
        return -1;
    uint64_t checksum = zmx__stream_get (data + total - 8, 8);
    if (XXH3_64bits (data, (size_t) total - 8) != checksum)
        return -1;
    const byte *subject = data + ZMX__STREAM_RECORD_FIXED;
    if (!zmx_subject_valid ((const char *) subject, subject_size)
    ||  !s_headers_valid (subject + subject_size, (size_t) headers_size, header_count))
        return -1;
    record->sequence = zmx__stream_get (data + 4, 8);
    record->time_ns = (int64_t) zmx__stream_get (data + 12, 8);
    record->subject = (const char *) subject;
    record->subject_size = subject_size;
    record->header_count = header_count;
    record->headers = subject + subject_size;
    record->headers_size = (size_t) headers_size;
    record->body = subject + subject_size + headers_size;
    record->body_size = (size_t) body_size;
    return (int64_t) total;
}

int
zmx__stream_headers_check (const zmx_stream_header_t *headers, size_t count,
                           size_t max_bytes, size_t *size_p)
{
    if (count > ZMX_STREAM_HEADERS_MAX || (count && !headers))
        return ZMX_EINVAL;
    size_t size = 0;
    for (size_t index = 0; index < count; index++) {
        const zmx_stream_header_t *header = &headers [index];
        if (!header->name || (header->value_size && !header->value))
            return ZMX_EINVAL;
        size_t name_size = header->name_size? header->name_size: strlen (header->name);
        if (name_size == 0 || name_size > ZMX_STREAM_HEADER_NAME_MAX)
            return ZMX_EINVAL;
        for (size_t at = 0; at < name_size; at++) {
            unsigned char c = (unsigned char) header->name [at];
            if (c < 0x21 || c > 0x7e || c == ':')
                return ZMX_EINVAL;
        }
        if (header->value_size > ZMX_STREAM_HEADER_BYTES_MAX)
            return ZMX_ENOMEM;
        size += 1 + name_size + 2 + header->value_size;
        if (size > max_bytes)
            return ZMX_ENOMEM;
    }
    *size_p = size;
    return ZMX_OK;
}

size_t
zmx__stream_record_encode (byte *out, uint64_t sequence, int64_t time_ns,
                           const char *subject, size_t subject_size,
                           const zmx_stream_header_t *headers, size_t header_count,
                           size_t headers_size, const void *body, size_t body_size)
{
    size_t total = ZMX__STREAM_RECORD_OVERHEAD + subject_size + headers_size + body_size;
    zmx__stream_put (out, total, 4);
    zmx__stream_put (out + 4, sequence, 8);
    zmx__stream_put (out + 12, (uint64_t) time_ns, 8);
    zmx__stream_put (out + 20, subject_size, 2);
    zmx__stream_put (out + 22, header_count, 2);
    zmx__stream_put (out + 24, headers_size, 4);
    zmx__stream_put (out + 28, body_size, 4);
    byte *at = out + ZMX__STREAM_RECORD_FIXED;
    memcpy (at, subject, subject_size);
    at += subject_size;
    for (size_t index = 0; index < header_count; index++) {
        const zmx_stream_header_t *header = &headers [index];
        size_t name_size = header->name_size? header->name_size: strlen (header->name);
        *at++ = (byte) name_size;
        memcpy (at, header->name, name_size);
        at += name_size;
        zmx__stream_put (at, header->value_size, 2);
        at += 2;
        if (header->value_size)
            memcpy (at, header->value, header->value_size);
        at += header->value_size;
    }
    if (body_size)
        memcpy (at, body, body_size);
    zmx__stream_put (out + total - 8, XXH3_64bits (out, total - 8), 8);
    return total;
}

void
zmx__stream_segment_header (byte *out, uint64_t first_sequence)
{
    memcpy (out, ZMX__STREAM_MAGIC, 8);
    zmx__stream_put (out + 8, first_sequence, 8);
}

int
zmx__stream_segment_index (zmx__stream_segment_t *segment, uint64_t sequence,
                           int64_t time_ns, uint64_t offset, uint32_t index_interval)
{
    if (segment->index_count && offset - segment->indexed_at < index_interval)
        return 0;
    if (segment->index_count == segment->index_max) {
        size_t max = segment->index_max? segment->index_max * 2: 16;
        zmx__stream_index_t *index = (zmx__stream_index_t *)
            realloc (segment->index, max * sizeof (zmx__stream_index_t));
        if (!index)
            return -1;
        segment->index = index;
        segment->index_max = max;
    }
    segment->index [segment->index_count++] =
        (zmx__stream_index_t) { sequence, time_ns, offset };
    segment->indexed_at = offset;
    return 0;
}

//  Offset of the next whole, valid record after `from` with a sequence
//  above `after` (into *sequence_p), or 0 if there is none.
static size_t
s_resync (const byte *data, size_t size, size_t from, uint64_t after, uint32_t max_record,
          uint64_t *sequence_p)
{
    zmx_stream_record_t record;
    for (size_t at = from + 1; at + ZMX__STREAM_RECORD_OVERHEAD < size; at++)
        if (zmx__stream_record_parse (data + at, size - at, max_record, &record, NULL) > 0
        &&  record.sequence > after) {
            *sequence_p = record.sequence;
            return at;
        }
    return 0;
}

//  Count one good record at `offset` into the segment.
static int
s_take (zmx__stream_segment_t *segment, const zmx_stream_record_t *record, uint64_t offset,
        uint32_t index_interval)
{
    if (segment->records == 0)
        segment->first_time_ns = record->time_ns;
    segment->records++;
    segment->last_sequence = record->sequence;
    segment->last_time_ns = record->time_ns;
    return zmx__stream_segment_index (segment, record->sequence, record->time_ns, offset,
                                      index_interval);
}

int64_t
zmx__stream_segment_scan (zmx__stream_segment_t *segment, const byte *data, size_t size,
                          uint64_t after, uint32_t max_record, uint32_t index_interval)
{
    if (segment->first_sequence > after + 1)
        after = segment->first_sequence - 1;
    segment->last_sequence = segment->first_sequence - 1;
    segment->written = ZMX__STREAM_SEGMENT_HEADER;
    int64_t corrupt = 0;
    size_t at = ZMX__STREAM_SEGMENT_HEADER;
    while (at < size) {
        zmx_stream_record_t record;
        int64_t taken = zmx__stream_record_parse (data + at, size - at, max_record, &record, NULL);
        if (taken > 0 && record.sequence > after) {
            if (s_take (segment, &record, at, index_interval))
                return -1;
            after = record.sequence;
            at += (size_t) taken;
            segment->written = at;
            continue;
        }
        uint64_t resumes = 0;
        size_t next = segment->span_count < ZMX__STREAM_MAX_SPANS?
            s_resync (data, size, at, after, max_record, &resumes): 0;
        if (next == 0)
            break;              //  A torn or corrupt tail: written stays before it
        segment->spans [segment->span_count++] = (zmx__stream_span_t) { at, next };
        //  The records lost are the sequences skipped, at least one
        corrupt += resumes - after > 1? (int64_t) (resumes - after - 1): 1;
        at = next;
    }
    segment->end = segment->written;
    return corrupt;
}
