/*  =========================================================================
    zmx_stream_store - append-only logs of records, one per named stream,
    in segment files on disk (docs/STREAMS.md has the file format and the
    guarantees)

    A record has a sequence number given by the store (1, 2, 3 ... per
    stream: gap-free, never reused, also across restarts), a wall-clock
    timestamp in nanoseconds (never going back within a stream), a subject
    (zmx_subject), optional headers and a body of any bytes, and is
    checksummed (XXH3-64).

        zmx_stream_store_t *store = zmx_stream_store_new ("/var/lib/zmx/streams", NULL);
        uint64_t sequence;
        zmx_stream_store_append (store, "log", "app.db.error", NULL, 0, "oops", 4, &sequence);
        zmx_stream_store_flush (store, "log");      //  one write + fsync per batch
        if (zmx_stream_store_durable (store, "log") >= sequence)
            ;   //  acknowledge

        zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, "log",
            ZMX_STREAM_FROM_FIRST, 0, "app.>");
        zmx_stream_record_t record;
        while (zmx_stream_cursor_next (cursor, &record) == ZMX_OK)
            ;   //  record.sequence, record.subject, record.body ...
        zmx_stream_cursor_destroy (&cursor);
        zmx_stream_store_destroy (&store);

    Not thread-safe: one thread owns a store and its cursors. Under the
    INTERVAL policy the store runs one thread of its own for fsync.
    =========================================================================
*/
#ifndef ZMX_STREAM_STORE_H_INCLUDED
#define ZMX_STREAM_STORE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zmx_stream_store_t zmx_stream_store_t;
typedef struct _zmx_stream_cursor_t zmx_stream_cursor_t;

#define ZMX_STREAM_NAME_MAX         64          //  Bytes in a stream name
#define ZMX_STREAM_RECORD_HARD_MAX  (16 << 20)  //  Largest max_record allowed
#define ZMX_STREAM_HEADERS_MAX      32          //  Headers in one record
#define ZMX_STREAM_HEADER_BYTES_MAX 65535       //  Largest max_header_bytes allowed
#define ZMX_STREAM_HEADER_NAME_MAX  64          //  Bytes in a header name

typedef enum {
    ZMX_STREAM_FSYNC_NEVER,     //  Flush writes to the OS; never fsync
    ZMX_STREAM_FSYNC_INTERVAL,  //  fsync at most every fsync_interval_ms
    ZMX_STREAM_FSYNC_ALWAYS     //  Every flush writes and fsyncs
} zmx_stream_fsync_t;

//  Settings of a store; zmx_stream_config_default fills in the defaults.
typedef struct {
    uint64_t segment_size;      //  Roll to a new segment past this (64 MiB)
    uint32_t index_interval;    //  Bytes between sparse index entries (64 KiB)
    zmx_stream_fsync_t fsync;   //  Policy (INTERVAL)
    uint32_t fsync_interval_ms; //  For INTERVAL (5)
    uint32_t write_buffer;      //  Bytes batched before a write() (256 KiB)
    uint32_t max_streams;       //  Streams in the store (1024)
    uint32_t max_open_files;    //  Segment files held open (64, at least 4)
    uint32_t max_record;        //  Subject + headers + body bytes (1 MiB)
    uint32_t max_header_bytes;  //  Encoded headers of one record (4096)
    uint64_t max_bytes;         //  Retention default per stream; 0: none
    uint64_t max_age_ms;        //  Retention default per stream; 0: none
    uint64_t max_records;       //  Retention default per stream; 0: none
} zmx_stream_config_t;

//  A header: name (printable ASCII, no space or ':', 1 to
//  ZMX_STREAM_HEADER_NAME_MAX bytes) and a value of any bytes.
//  On append, name_size 0 means strlen (name).
typedef struct {
    const char *name;
    size_t name_size;
    const void *value;
    size_t value_size;
} zmx_stream_header_t;

//  One record, as a cursor returns it: a view valid until the next call
//  on that cursor. subject is NUL-terminated.
typedef struct {
    uint64_t sequence;
    int64_t time_ns;            //  Wall clock, ns since the epoch
    const char *subject;
    size_t subject_size;
    size_t header_count;
    const void *headers;        //  Encoded; read with zmx_stream_record_header
    size_t headers_size;
    const void *body;
    size_t body_size;
} zmx_stream_record_t;

//  Counters of one stream.
typedef struct {
    uint64_t records;           //  Records held
    uint64_t bytes;             //  Bytes of segment files held
    uint64_t first_sequence;    //  Oldest record held (next sequence if none)
    uint64_t last_sequence;     //  Newest record appended (first - 1 if none)
    int64_t first_time_ns;      //  Of the oldest record held, 0 if none
    int64_t last_time_ns;       //  Of the newest record, 0 if none
    uint64_t segments;          //  Segment files
    uint64_t durable_sequence;  //  Highest sequence durable under the policy
    uint64_t cut_bytes;         //  Cut from torn or corrupt tails at open
    uint64_t corrupt_records;   //  Corrupt records found in the middle
    uint64_t dropped_segments;  //  Removed by retention since open
    uint64_t seek_probes;       //  Binary search steps of cursor seeks
    uint64_t seek_scanned;      //  Records read past to reach a seek target
} zmx_stream_stats_t;

//  Where a cursor starts.
typedef enum {
    ZMX_STREAM_FROM_FIRST,      //  The oldest record held
    ZMX_STREAM_FROM_SEQUENCE,   //  Record `value` (or the next one held)
    ZMX_STREAM_FROM_TIME,       //  The first record at or after `value` ns
    ZMX_STREAM_FROM_LAST,       //  The last `value` records
    ZMX_STREAM_FROM_NEW         //  Only records appended from now on
} zmx_stream_from_t;

//  Fill `config` with the defaults (in brackets above).
void
    zmx_stream_config_default (zmx_stream_config_t *config);

//  Open (creating if needed) the store in directory `dir`, recovering
//  every stream found there: each segment is verified, a torn or corrupt
//  tail is cut (and logged with its byte count), corrupt records in the
//  middle are counted and will be skipped by readers. config NULL means
//  the defaults. Returns NULL if the directory cannot be used, another
//  store holds it (DIR/lock, flock), or config is out of range (logged).
zmx_stream_store_t *
    zmx_stream_store_new (const char *dir, const zmx_stream_config_t *config);

//  Flush every stream (as zmx_stream_store_flush), close the files, free
//  everything and null the pointer. Safe on NULL.
void
    zmx_stream_store_destroy (zmx_stream_store_t **self_p);

//  Append one record to `stream` (created on first use: name of 1 to
//  ZMX_STREAM_NAME_MAX bytes of [A-Za-z0-9_.-], not starting with '.',
//  not "lock").
//  The record is batched: it is written by the next flush (or when the
//  write buffer fills). Sets *sequence_p (may be NULL) to its sequence.
//  Returns ZMX_OK; ZMX_EINVAL (bad name, subject, headers), ZMX_ENOMEM
//  (record over max_record or headers over max_header_bytes, or a new
//  stream past max_streams), ZMX_EIO (the stream failed to write before:
//  nothing more is accepted until the store is reopened).
int
    zmx_stream_store_append (zmx_stream_store_t *self, const char *stream,
                             const char *subject, const zmx_stream_header_t *headers,
                             size_t header_count, const void *body, size_t body_size,
                             uint64_t *sequence_p);

//  Write what `stream` (NULL: every stream) has batched with one write(),
//  then fsync if the policy asks: ALWAYS every time, before returning;
//  INTERVAL if fsync_interval_ms passed since the last fsync began, on
//  the store's fsync thread (durable moves when it is done). Returns ZMX_OK,
//  ZMX_EINVAL (no such stream), ZMX_EIO (write or fsync failed; logged).
int
    zmx_stream_store_flush (zmx_stream_store_t *self, const char *stream);

//  Highest sequence of `stream` that the policy has made durable: fsynced
//  for ALWAYS and INTERVAL, written to the OS for NEVER. 0 if none or no
//  such stream.
uint64_t
    zmx_stream_store_durable (zmx_stream_store_t *self, const char *stream);

//  Periodic work, to call at least every fsync_interval_ms: flush and
//  fsync what INTERVAL owes, and apply retention to every stream.
//  Returns ZMX_OK or the first error (ZMX_EIO).
int
    zmx_stream_store_tick (zmx_stream_store_t *self);

//  Set the retention of `stream` (0: no limit): whole segments are
//  dropped, oldest first, never the one being written except when all of
//  it is older than max_age_ms. Applied now and at each tick. Returns
//  ZMX_OK or ZMX_EINVAL (no such stream).
int
    zmx_stream_store_set_retention (zmx_stream_store_t *self, const char *stream,
                                    uint64_t max_bytes, uint64_t max_age_ms,
                                    uint64_t max_records);

//  Remove `stream`: its segment files and folder are deleted and the name
//  is free again (a later append starts it anew at sequence 1). Cursors on
//  it stay safe: they read nothing until the name is used again, then go
//  on from their position in the new stream. Returns ZMX_OK, ZMX_EINVAL
//  (no such stream) or ZMX_EIO (a file could not be removed; logged).
int
    zmx_stream_store_remove (zmx_stream_store_t *self, const char *stream);

//  Drop every record of `stream` but keep its sequence: the next record
//  gets the sequence it would have had. Cursors on it get ZMX_EDROPPED
//  once and go on at the new first sequence. Returns ZMX_OK, ZMX_EINVAL
//  (no such stream) or ZMX_EIO.
int
    zmx_stream_store_purge (zmx_stream_store_t *self, const char *stream);

//  Counters of `stream` into *stats. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_stream_store_stats (zmx_stream_store_t *self, const char *stream,
                            zmx_stream_stats_t *stats);

//  Names of the streams, sorted. Caller destroys the list.
zlist_t *
    zmx_stream_store_streams (zmx_stream_store_t *self);

//  Header `index` (from 0) of `record` into *header; false if there is
//  no such header.
bool
    zmx_stream_record_header (const zmx_stream_record_t *record, size_t index,
                              zmx_stream_header_t *header);

//  A reader of `stream` starting at `from` (with `value` for SEQUENCE,
//  TIME and LAST) that returns only records whose subject matches
//  `pattern` (NULL: all). The stream need not exist yet. Returns NULL if
//  the name or pattern is invalid. Destroy it before the store.
zmx_stream_cursor_t *
    zmx_stream_cursor_new (zmx_stream_store_t *self, const char *stream,
                           zmx_stream_from_t from, uint64_t value, const char *pattern);

void
    zmx_stream_cursor_destroy (zmx_stream_cursor_t **self_p);

//  The next matching record, in sequence order, into *record (a view
//  valid until the next call). Returns ZMX_OK; ZMX_EAGAIN when it has
//  read all that is written (call again after more appends and a flush:
//  the next record comes with no gap and no repeat); ZMX_EDROPPED when
//  retention dropped its position (the cursor moved to the oldest record
//  held: zmx_stream_cursor_position says which; call again to read on);
//  ZMX_EIO if a segment file cannot be read. Corrupt records are skipped
//  and counted (zmx_stream_cursor_skipped), never returned.
int
    zmx_stream_cursor_next (zmx_stream_cursor_t *self, zmx_stream_record_t *record);

//  The sequence the cursor will look at next.
uint64_t
    zmx_stream_cursor_position (zmx_stream_cursor_t *self);

//  Corrupt records this cursor skipped.
uint64_t
    zmx_stream_cursor_skipped (zmx_stream_cursor_t *self);

#ifdef __cplusplus
}
#endif
#endif
