/*  =========================================================================
    bench_stream_store - the stream store against the disk's own limit, in
    one run

    In a scratch directory (under --dir, else $TMPDIR, else /var/tmp):

      raw         sequential write() of 256 KiB blocks of the same bytes as
                  the store would write, to one file, without fsync and
                  with one fdatasync per batch (the physical limit)
      append      zmx_stream_store_append of 100 B and 1 KiB bodies with
                  fsync never, interval (5 ms) and always: a flush every
                  --batch records (the acknowledged, pipelined pattern: a
                  service appends a batch, flushes once, acknowledges);
                  the clock stops when every record is durable
      replay      a cursor from the first record of the 100 B stream
                  (page cache warm), every record checked for its sequence

    and prints records/s, MB/s (of record bytes on disk) and the ratio to
    raw, then the targets as met or missed. Every point is bounded
    by a count and by time (--seconds).

    usage: bench_stream_store [--count N] [--seconds S] [--batch B] [--dir DIR]
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_SUBJECT   "app.db.info"
#define S_BLOCK     (256 << 10)

typedef struct {
    int64_t count;              //  Records per point, at most
    int seconds;                //  Seconds per point, at most
    int batch;                  //  Records per flush
    const char *base;           //  Parent of the scratch directory
    char *dir;                  //  Scratch directory
} s_options_t;

typedef struct {
    double rate;                //  Records per second
    double mbps;                //  MB/s of record bytes
    int64_t records;
} s_point_t;

//  Bytes one record takes in a segment (docs/STREAMS.md)
static size_t
s_record_bytes (size_t body)
{
    return 40 + strlen (S_SUBJECT) + body;
}

static s_point_t
s_point (int64_t records, size_t record_bytes, int64_t elapsed_ns)
{
    double seconds = (double) elapsed_ns / 1e9;
    return (s_point_t) { records / seconds, records * (double) record_bytes / seconds / 1e6,
                         records };
}

//  Sequential write() of the bytes `records` records of `body` bytes take,
//  in blocks; fdatasync after each batch's worth if sync.
static s_point_t
s_raw (s_options_t *options, size_t body, bool sync)
{
    char *path = zsys_sprintf ("%s/raw.bin", options->dir);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    byte *block = (byte *) malloc (S_BLOCK);
    memset (block, 'x', S_BLOCK);
    size_t record_bytes = s_record_bytes (body);
    size_t batch_bytes = record_bytes * (size_t) options->batch;
    int64_t start = bench_now_ns (), deadline = start + (int64_t) options->seconds * 1000000000;
    int64_t total = 0, goal = options->count * (int64_t) record_bytes;
    while (total < goal && bench_now_ns () < deadline) {
        size_t size = sync? batch_bytes: S_BLOCK;
        for (size_t done = 0; done < size; ) {
            size_t chunk = size - done < S_BLOCK? size - done: S_BLOCK;
            if (write (fd, block, chunk) != (ssize_t) chunk) {
                perror ("raw write");
                exit (1);
            }
            done += chunk;
        }
        if (sync)
            fdatasync (fd);
        total += (int64_t) size;
    }
    int64_t elapsed = bench_now_ns () - start;
    close (fd);
    unlink (path);
    free (block);
    free (path);
    return s_point (total / (int64_t) record_bytes, record_bytes, elapsed);
}

//  Append records of `body` bytes to stream `name` under `policy`.
static s_point_t
s_append (s_options_t *options, const char *name, size_t body, zmx_stream_fsync_t policy)
{
    zmx_stream_config_t config;
    zmx_stream_config_default (&config);
    config.fsync = policy;
    config.fsync_interval_ms = 5;
    zmx_stream_store_t *store = zmx_stream_store_new (options->dir, &config);
    if (!store)
        exit (1);
    byte *data = (byte *) malloc (body);
    memset (data, 'b', body);
    int64_t start = bench_now_ns (), deadline = start + (int64_t) options->seconds * 1000000000;
    int64_t records = 0;
    uint64_t sequence = 0;
    while (records < options->count && bench_now_ns () < deadline) {
        for (int index = 0; index < options->batch; index++)
            if (zmx_stream_store_append (store, name, S_SUBJECT, NULL, 0, data, body,
                                         &sequence) != ZMX_OK)
                exit (1);
        records += options->batch;
        zmx_stream_store_flush (store, name);
    }
    //  Done when all is durable (interval: at most one more interval)
    while (zmx_stream_store_durable (store, name) < sequence) {
        zclock_sleep (1);
        zmx_stream_store_tick (store);
    }
    int64_t elapsed = bench_now_ns () - start;
    zmx_stream_store_destroy (&store);
    free (data);
    return s_point (records, s_record_bytes (body), elapsed);
}

static s_point_t
s_replay (s_options_t *options, const char *name, size_t body)
{
    zmx_stream_store_t *store = zmx_stream_store_new (options->dir, NULL);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, name, ZMX_STREAM_FROM_FIRST, 0,
                                                         NULL);
    zmx_stream_record_t record;
    int64_t start = bench_now_ns (), records = 0;
    uint64_t expected = 1;
    while (zmx_stream_cursor_next (cursor, &record) == ZMX_OK) {
        if (record.sequence != expected++ || record.body_size != body) {
            fprintf (stderr, "replay: wrong record %" PRIu64 "\n", record.sequence);
            exit (1);
        }
        records++;
    }
    int64_t elapsed = bench_now_ns () - start;
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    return s_point (records, s_record_bytes (body), elapsed);
}

static void
s_print (const char *what, s_point_t point, s_point_t raw)
{
    printf ("  %-34s %12.0f rec/s %9.1f MB/s %8.2f x raw  (%" PRId64 " records)\n", what,
            point.rate, point.mbps, raw.mbps > 0? point.mbps / raw.mbps: 0, point.records);
}

static void
s_target (const char *what, bool met, const char *figure)
{
    printf ("  target %-58s %s (%s)\n", what, met? "met": "MISSED", figure);
}

static void
s_parse (s_options_t *options, int argc, char *argv [])
{
    *options = (s_options_t) { 2000000, 10, 1000, NULL, NULL };
    options->base = getenv ("TMPDIR")? getenv ("TMPDIR"): "/var/tmp";
    for (int index = 1; index + 1 < argc; index += 2) {
        if (streq (argv [index], "--count"))
            options->count = atoll (argv [index + 1]);
        else if (streq (argv [index], "--seconds"))
            options->seconds = atoi (argv [index + 1]);
        else if (streq (argv [index], "--batch"))
            options->batch = atoi (argv [index + 1]);
        else if (streq (argv [index], "--dir"))
            options->base = argv [index + 1];
        else {
            fprintf (stderr, "usage: bench_stream_store [--count N] [--seconds S] "
                             "[--batch B] [--dir DIR]\n");
            exit (2);
        }
    }
    if (options->count < 1 || options->seconds < 1 || options->batch < 1)
        exit (2);
    options->dir = zsys_sprintf ("%s/bench-streams-XXXXXX", options->base);
    if (!mkdtemp (options->dir)) {
        perror (options->dir);
        exit (1);
    }
}

int
main (int argc, char *argv [])
{
    s_options_t options;
    s_parse (&options, argc, argv);
    printf ("bench_stream_store: %s, up to %" PRId64 " records or %d s per point, "
            "flush every %d records\n", options.dir, options.count, options.seconds,
            options.batch);
    const char *names [] = { "never", "interval 5 ms", "always" };
    zmx_stream_fsync_t policies [] = { ZMX_STREAM_FSYNC_NEVER, ZMX_STREAM_FSYNC_INTERVAL,
                                       ZMX_STREAM_FSYNC_ALWAYS };
    size_t bodies [] = { 100, 1024 };
    s_point_t interval_100 = { 0 }, interval_1k = { 0 }, raw_1k = { 0 };
    for (size_t size = 0; size < 2; size++) {
        size_t body = bodies [size];
        s_point_t raw = s_raw (&options, body, false), raw_sync = s_raw (&options, body, true);
        printf ("%zu B records (%zu B on disk):\n", body, s_record_bytes (body));
        s_print ("raw write()", raw, raw);
        s_print ("raw write() + fdatasync per batch", raw_sync, raw);
        for (size_t policy = 0; policy < 3; policy++) {
            char name [32], label [64];
            snprintf (name, sizeof name, "b%zu-%zu", body, policy);
            snprintf (label, sizeof label, "append, fsync %s", names [policy]);
            s_point_t point = s_append (&options, name, body, policies [policy]);
            s_print (label, point, policy == 2? raw_sync: raw);
            if (policy == 1)
                *(size? &interval_1k: &interval_100) = point;
        }
        if (size)
            raw_1k = raw;
    }
    s_point_t replay = s_replay (&options, "b100-0", 100);
    printf ("replay from the first record (page cache warm):\n");
    s_print ("cursor, 100 B records", replay, replay);
    char figure [64];
    snprintf (figure, sizeof figure, "%.2f M rec/s", interval_100.rate / 1e6);
    s_target ("append, fsync interval, 100 B >= 1 M records/s", interval_100.rate >= 1e6,
              figure);
    snprintf (figure, sizeof figure, "%.0f %% of %.0f MB/s", 100 * interval_1k.mbps / raw_1k.mbps,
              raw_1k.mbps);
    s_target ("append, fsync interval, 1 KiB >= 50 % of raw write()",
              interval_1k.mbps >= raw_1k.mbps / 2, figure);
    snprintf (figure, sizeof figure, "%.2f M rec/s", replay.rate / 1e6);
    s_target ("replay >= 3 M records/s", replay.rate >= 3e6, figure);
    zdir_t *dir = zdir_new (options.dir, NULL);
    zdir_remove (dir, true);
    zdir_destroy (&dir);
    free (options.dir);
    return 0;
}
