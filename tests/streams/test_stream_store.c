/*  =========================================================================
    test_stream_store - the stream store (zmx_stream_store) on real files
    in a temp directory: round trips across segment rolls, seeks, filters,
    limits, retention, restarts, damaged files, kill -9 during acknowledged
    appends, and memory that does not grow with the stream
    =========================================================================
*/
#include "testing.h"
#include "streams/zmx_streams_internal.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_STREAM    "s"

//  -------------------------------------------------------------------------
//  Helpers

static zmx_stream_config_t
s_config (uint64_t segment_size, zmx_stream_fsync_t fsync)
{
    zmx_stream_config_t config;
    zmx_stream_config_default (&config);
    config.segment_size = segment_size;
    config.fsync = fsync;
    return config;
}

//  Subject and body of record `sequence`, as the tests write them.
static void
s_record_text (uint64_t sequence, char *subject, char *body)
{
    sprintf (subject, "app.%s.%" PRIu64, sequence % 3? "info": "error", sequence % 7);
    sprintf (body, "body-%" PRIu64 "-%s", sequence, sequence % 2? "odd": "even");
}

static void
s_append_many (zmx_stream_store_t *store, uint64_t count)
{
    char subject [64], body [64];
    for (uint64_t index = 0; index < count; index++) {
        zmx_stream_stats_t stats;
        uint64_t expected = zmx_stream_store_stats (store, S_STREAM, &stats) == ZMX_OK?
            stats.last_sequence + 1: 1;
        if (index % 1000)
            expected = 0;       //  Checked once per thousand, cheaply
        s_record_text (index + 1, subject, body);
        uint64_t sequence;
        ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, subject, NULL, 0, body,
                                            strlen (body), &sequence) == ZMX_OK);
        ZMX_CHECK (!expected || sequence == expected);
    }
    ZMX_CHECK (zmx_stream_store_flush (store, S_STREAM) == ZMX_OK);
}

//  Read from the cursor and check records first..last are all there, in
//  order, as s_record_text wrote them (records numbered from 1).
static void
s_check_range (zmx_stream_cursor_t *cursor, uint64_t first, uint64_t last)
{
    char subject [64], body [64];
    zmx_stream_record_t record;
    for (uint64_t sequence = first; sequence <= last; sequence++) {
        int rc = zmx_stream_cursor_next (cursor, &record);
        if (rc != ZMX_OK)
            fprintf (stderr, "at %" PRIu64 ": %s\n", sequence, zmx_strerror (rc));
        ZMX_CHECK (rc == ZMX_OK);
        if (record.sequence != sequence)
            fprintf (stderr, "want %" PRIu64 " got %" PRIu64 "\n", sequence, record.sequence);
        ZMX_CHECK (record.sequence == sequence);
        s_record_text (sequence, subject, body);
        ZMX_CHECK_STR (record.subject, subject);
        ZMX_CHECK (record.body_size == strlen (body)
                && memcmp (record.body, body, record.body_size) == 0);
    }
}

//  -------------------------------------------------------------------------
//  Store

static void
s_append_read_million (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_config_t config = s_config (1 << 20, ZMX_STREAM_FSYNC_NEVER);
    zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
    ZMX_CHECK (store);
    s_append_many (store, 1000000);
    zmx_stream_stats_t stats;
    ZMX_CHECK (zmx_stream_store_stats (store, S_STREAM, &stats) == ZMX_OK);
    ZMX_CHECK (stats.records == 1000000 && stats.first_sequence == 1
            && stats.last_sequence == 1000000 && stats.durable_sequence == 1000000);
    ZMX_CHECK (stats.segments > 30);        //  Many rolls
    ZMX_CHECK (stats.first_time_ns > 0 && stats.last_time_ns >= stats.first_time_ns);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM,
                                                         ZMX_STREAM_FROM_FIRST, 0, NULL);
    s_check_range (cursor, 1, 1000000);
    zmx_stream_record_t record;
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EAGAIN);
    zmx_stream_cursor_destroy (&cursor);
    //  And again after a restart, from the files alone
    zmx_stream_store_destroy (&store);
    store = zmx_stream_store_new (dir, &config);
    cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_FIRST, 0, NULL);
    s_check_range (cursor, 1, 1000000);
    ZMX_CHECK (zmx_stream_store_stats (store, S_STREAM, &stats) == ZMX_OK);
    ZMX_CHECK (stats.cut_bytes == 0 && stats.corrupt_records == 0);
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

//  Records per index interval bound the scan after a binary search.
static void
s_seek (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_config_t config = s_config (1 << 20, ZMX_STREAM_FSYNC_NEVER);
    config.index_interval = 4096;
    zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
    s_append_many (store, 200000);
    zmx_stream_stats_t before, after;
    uint64_t targets [] = { 1, 2, 777, 99999, 123457, 199999, 200000 };
    for (size_t index = 0; index < ZMX_TEST_COUNT (targets); index++) {
        zmx_stream_store_stats (store, S_STREAM, &before);
        zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM,
            ZMX_STREAM_FROM_SEQUENCE, targets [index], NULL);
        s_check_range (cursor, targets [index], targets [index]);
        zmx_stream_store_stats (store, S_STREAM, &after);
        //  A record is about 70 bytes: one index interval holds < 64
        ZMX_CHECK (after.seek_probes - before.seek_probes <= 2 * 20);
        ZMX_CHECK (after.seek_scanned - before.seek_scanned < 64);
        zmx_stream_cursor_destroy (&cursor);
    }
    //  By time: the time of record 150000, then seek to it
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM,
        ZMX_STREAM_FROM_SEQUENCE, 150000, NULL);
    zmx_stream_record_t record;
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_OK);
    int64_t time_ns = record.time_ns;
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_stats (store, S_STREAM, &before);
    cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_TIME, (uint64_t) time_ns,
                                    NULL);
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_OK);
    //  The first record at or after that time (others may share it)
    ZMX_CHECK (record.sequence <= 150000 && record.time_ns == time_ns);
    zmx_stream_store_stats (store, S_STREAM, &after);
    ZMX_CHECK (after.seek_probes - before.seek_probes <= 2 * 20);
    ZMX_CHECK (after.seek_scanned - before.seek_scanned < 64);
    zmx_stream_cursor_destroy (&cursor);
    //  After the last time: only new records
    cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_TIME, INT64_MAX, NULL);
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EAGAIN);
    zmx_stream_cursor_destroy (&cursor);
    //  Last N and new only, then live records hand over with no gap
    cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_LAST, 5, NULL);
    zmx_stream_cursor_t *live = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_NEW, 0,
                                                       NULL);
    s_check_range (cursor, 199996, 200000);
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EAGAIN);
    ZMX_CHECK (zmx_stream_cursor_next (live, &record) == ZMX_EAGAIN);
    char subject [64], body [64];
    s_record_text (200001, subject, body);
    zmx_stream_store_append (store, S_STREAM, subject, NULL, 0, body, strlen (body), NULL);
    ZMX_CHECK (zmx_stream_cursor_next (live, &record) == ZMX_EAGAIN);   //  Not flushed yet
    zmx_stream_store_flush (store, S_STREAM);
    s_check_range (live, 200001, 200001);
    s_check_range (cursor, 200001, 200001);
    ZMX_CHECK (zmx_stream_cursor_next (live, &record) == ZMX_EAGAIN);
    zmx_stream_cursor_destroy (&live);
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

static uint64_t
s_count (zmx_stream_store_t *store, const char *pattern, uint64_t *first_p)
{
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_FIRST,
                                                         0, pattern);
    ZMX_CHECK (cursor);
    zmx_stream_record_t record;
    uint64_t count = 0, last = 0;
    while (zmx_stream_cursor_next (cursor, &record) == ZMX_OK) {
        ZMX_CHECK (record.sequence > last);
        ZMX_CHECK (zmx_subject_match (pattern, record.subject, record.subject_size));
        if (first_p && count == 0)
            *first_p = record.sequence;
        last = record.sequence;
        count++;
    }
    zmx_stream_cursor_destroy (&cursor);
    return count;
}

static void
s_filter (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_config_t config = s_config (64 << 10, ZMX_STREAM_FSYNC_NEVER);
    zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
    s_append_many (store, 2100);        //  app.{info,error}.{0..6}
    ZMX_CHECK (s_count (store, ">", NULL) == 2100);
    ZMX_CHECK (s_count (store, "app.>", NULL) == 2100);
    ZMX_CHECK (s_count (store, "app.error.>", NULL) == 700);
    ZMX_CHECK (s_count (store, "app.*.3", NULL) == 300);
    ZMX_CHECK (s_count (store, "app.error.*", NULL) == 700);
    ZMX_CHECK (s_count (store, "*.*", NULL) == 0);
    ZMX_CHECK (s_count (store, "app", NULL) == 0);
    uint64_t first = 0;
    ZMX_CHECK (s_count (store, "app.error.0", &first) == 100 && first == 21);
    ZMX_CHECK (!zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_FIRST, 0, "app.>.x"));
    //  Headers round trip
    zmx_stream_header_t headers [] = { { "severity", 0, "3", 1 }, { "host", 4, "h1", 2 },
                                       { "empty", 0, NULL, 0 } };
    uint64_t sequence;
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "hdr.x", headers, 3, "b", 1,
                                        &sequence) == ZMX_OK);
    zmx_stream_store_flush (store, S_STREAM);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_LAST,
                                                         1, "hdr.*");
    zmx_stream_record_t record;
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_OK);
    ZMX_CHECK (record.sequence == sequence && record.header_count == 3);
    zmx_stream_header_t header;
    ZMX_CHECK (zmx_stream_record_header (&record, 1, &header));
    ZMX_CHECK (header.name_size == 4 && memcmp (header.name, "host", 4) == 0
            && header.value_size == 2 && memcmp (header.value, "h1", 2) == 0);
    ZMX_CHECK (zmx_stream_record_header (&record, 2, &header) && header.value_size == 0);
    ZMX_CHECK (!zmx_stream_record_header (&record, 3, &header));
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

//  Bad input is refused with a code, and limits hold.
static void
s_limits (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_config_t config = s_config (64 << 10, ZMX_STREAM_FSYNC_NEVER);
    config.max_record = 1000;
    config.max_streams = 2;
    zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a..b", NULL, 0, "x", 1, NULL)
               == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a.*", NULL, 0, "x", 1, NULL)
               == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_store_append (store, "../x", "a", NULL, 0, "x", 1, NULL)
               == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_store_append (store, ".hidden", "a", NULL, 0, "x", 1, NULL)
               == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_store_append (store, "lock", "a", NULL, 0, "x", 1, NULL)
               == ZMX_EINVAL);
    char body [1001] = { 0 };
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a", NULL, 0, body, 1001, NULL)
               == ZMX_ENOMEM);
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a", NULL, 0, body, 1000, NULL)
               == ZMX_ENOMEM);      //  Subject counts
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a", NULL, 0, body, 999, NULL)
               == ZMX_OK);
    zmx_stream_header_t bad_name = { "a b", 0, "v", 1 };
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a", &bad_name, 1, "x", 1, NULL)
               == ZMX_EINVAL);
    zmx_stream_header_t many [ZMX_STREAM_HEADERS_MAX + 1];
    for (size_t index = 0; index < ZMX_TEST_COUNT (many); index++)
        many [index] = (zmx_stream_header_t) { "n", 0, "v", 1 };
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a", many, ZMX_TEST_COUNT (many),
                                        "x", 1, NULL) == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_store_append (store, "t", "a", NULL, 0, "x", 1, NULL) == ZMX_OK);
    ZMX_CHECK (zmx_stream_store_append (store, "u", "a", NULL, 0, "x", 1, NULL) == ZMX_ENOMEM);
    zlist_t *names = zmx_stream_store_streams (store);
    ZMX_CHECK (zlist_size (names) == 2);
    ZMX_CHECK_STR ((char *) zlist_first (names), S_STREAM);
    zlist_destroy (&names);
    ZMX_CHECK (!zmx_stream_store_new (dir, &config));      //  Locked: one store per directory
    config.segment_size = 100;          //  Out of range
    ZMX_CHECK (!zmx_stream_store_new (dir, &config));
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

//  What durable says under each policy: never moves at flush (written to
//  the OS), always at flush (fsynced), interval once the interval passed.
static void
s_fsync_policies (void)
{
    zmx_stream_fsync_t policies [] = { ZMX_STREAM_FSYNC_NEVER, ZMX_STREAM_FSYNC_ALWAYS,
                                       ZMX_STREAM_FSYNC_INTERVAL };
    for (size_t index = 0; index < ZMX_TEST_COUNT (policies); index++) {
        char *dir = zmx_test_tmpdir ();
        zmx_stream_config_t config = s_config (64 << 10, policies [index]);
        config.fsync_interval_ms = 200;
        int64_t opened = zclock_mono ();
        zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
        uint64_t sequence = 0;
        for (int count = 0; count < 100; count++)
            zmx_stream_store_append (store, S_STREAM, "a.b", NULL, 0, "x", 1, &sequence);
        ZMX_CHECK (sequence == 100);
        ZMX_CHECK (zmx_stream_store_durable (store, S_STREAM) == 0);     //  Batched only
        ZMX_CHECK (zmx_stream_store_flush (store, S_STREAM) == ZMX_OK);
        uint64_t durable = zmx_stream_store_durable (store, S_STREAM);
        if (policies [index] == ZMX_STREAM_FSYNC_INTERVAL) {
            //  No fsync yet: the interval has not passed since the stream
            //  began (unless this machine stalled that long: not checked then)
            if (zclock_mono () - opened < 200)
                ZMX_CHECK (durable == 0);
            //  Past the interval, a tick hands the fsync to the store's
            //  thread; durable moves when it is done (waited for, bounded)
            zclock_sleep (250);
            int64_t deadline = zclock_mono () + 10000;
            while (zmx_stream_store_durable (store, S_STREAM) < 100 && zclock_mono () < deadline) {
                ZMX_CHECK (zmx_stream_store_tick (store) == ZMX_OK);
                zclock_sleep (5);
            }
            durable = zmx_stream_store_durable (store, S_STREAM);
        }
        ZMX_CHECK (durable == 100);
        ZMX_CHECK (zmx_stream_store_durable (store, "nothing") == 0);
        ZMX_CHECK (zmx_stream_store_flush (store, "nothing") == ZMX_EINVAL);
        zmx_stream_store_destroy (&store);
        zmx_test_rmdir (dir);
        free (dir);
    }
}

//  -------------------------------------------------------------------------
//  Retention

//  A stream of `count` records in segments of 8 KiB (about 110 each).
static zmx_stream_store_t *
s_small_segments (const char *dir, uint64_t count)
{
    zmx_stream_config_t config = s_config (8192, ZMX_STREAM_FSYNC_NEVER);
    zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
    s_append_many (store, count);
    return store;
}

static void
s_retention_records (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 5000);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_FIRST,
                                                         0, NULL);
    s_check_range (cursor, 1, 10);
    ZMX_CHECK (zmx_stream_store_set_retention (store, S_STREAM, 0, 0, 1000) == ZMX_OK);
    zmx_stream_stats_t stats;
    zmx_stream_store_stats (store, S_STREAM, &stats);
    //  At most the limit, less by under one segment; the sequence goes on
    ZMX_CHECK (stats.records <= 1000 && stats.records > 800);
    ZMX_CHECK (stats.first_sequence == 5000 - stats.records + 1 && stats.last_sequence == 5000);
    ZMX_CHECK (stats.dropped_segments > 0);
    zmx_stream_record_t record;
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EDROPPED);
    ZMX_CHECK (zmx_stream_cursor_position (cursor) == stats.first_sequence);
    s_check_range (cursor, stats.first_sequence, 5000);
    zmx_stream_cursor_destroy (&cursor);
    cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_SEQUENCE, 3, NULL);
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EDROPPED);
    ZMX_CHECK (zmx_stream_cursor_position (cursor) == stats.first_sequence);
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_retention_bytes (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 5000);
    ZMX_CHECK (zmx_stream_store_set_retention (store, S_STREAM, 50000, 0, 0) == ZMX_OK);
    zmx_stream_stats_t stats;
    zmx_stream_store_stats (store, S_STREAM, &stats);
    ZMX_CHECK (stats.bytes <= 50000 && stats.bytes > 50000 - 8192 - 200);
    ZMX_CHECK (stats.last_sequence == 5000);
    //  Files on disk agree
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, S_STREAM);
    zdir_t *folder = zdir_new (path, NULL);
    ZMX_CHECK ((uint64_t) zdir_cursize (folder) == stats.bytes);
    ZMX_CHECK ((uint64_t) zdir_count (folder) == stats.segments);
    zdir_destroy (&folder);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

//  Age drops everything, the segment being written too; the sequence goes
//  on after a restart with no record left.
static void
s_retention_age (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 1000);
    ZMX_CHECK (zmx_stream_store_set_retention (store, S_STREAM, 0, 200, 0) == ZMX_OK);
    zmx_stream_stats_t stats;
    zmx_stream_store_stats (store, S_STREAM, &stats);
    ZMX_CHECK (stats.records == 1000);  //  Under 200 ms old: kept (bounded by the config)
    zclock_sleep (300);                 //  Past max age by construction, not luck
    ZMX_CHECK (zmx_stream_store_tick (store) == ZMX_OK);
    zmx_stream_store_stats (store, S_STREAM, &stats);
    ZMX_CHECK (stats.records == 0 && stats.first_sequence == 1001 && stats.segments == 1);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM,
                                                         ZMX_STREAM_FROM_SEQUENCE, 999, NULL);
    zmx_stream_record_t record;
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EDROPPED);
    ZMX_CHECK (zmx_stream_cursor_position (cursor) == 1001);
    ZMX_CHECK (zmx_stream_cursor_next (cursor, &record) == ZMX_EAGAIN);
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    store = s_small_segments (dir, 0);
    uint64_t sequence;
    ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, "a", NULL, 0, "x", 1, &sequence)
               == ZMX_OK);
    ZMX_CHECK (sequence == 1001);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_restart_continues (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 3000);
    zmx_stream_store_destroy (&store);
    store = s_small_segments (dir, 0);
    zmx_stream_stats_t stats;
    zmx_stream_store_stats (store, S_STREAM, &stats);
    ZMX_CHECK (stats.records == 3000 && stats.last_sequence == 3000);
    uint64_t sequence;
    zmx_stream_store_append (store, S_STREAM, "a", NULL, 0, "x", 1, &sequence);
    ZMX_CHECK (sequence == 3001);
    zmx_stream_store_destroy (&store);
    zmx_test_rmdir (dir);
    free (dir);
}

//  -------------------------------------------------------------------------
//  Damage

//  Path of the newest segment file of the test stream.
static char *
s_last_segment (const char *dir)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", dir, S_STREAM);
    zdir_t *folder = zdir_new (path, NULL);
    zfile_t **files = zdir_flatten (folder);
    char *last = NULL;
    for (size_t index = 0; files [index]; index++)
        if (!last || strcmp (zfile_filename (files [index], NULL), last) > 0) {
            free (last);
            last = strdup (zfile_filename (files [index], NULL));
        }
    zdir_flatten_free (&files);
    zdir_destroy (&folder);
    return last;
}

static void
s_flip_byte (const char *path, off_t offset)
{
    int fd = open (path, O_RDWR);
    byte value;
    ZMX_CHECK (pread (fd, &value, 1, offset) == 1);
    value ^= 0x5a;
    ZMX_CHECK (pwrite (fd, &value, 1, offset) == 1);
    close (fd);
}

//  Reopen, then read everything, checking order and texts; returns the
//  count, the last sequence in *last_p. Appends one more record if
//  `append` and checks that its sequence follows.
static uint64_t
s_reopen_check (const char *dir, zmx_stream_stats_t *stats, uint64_t *last_p, bool append)
{
    zmx_stream_store_t *store = s_small_segments (dir, 0);
    zmx_stream_store_stats (store, S_STREAM, stats);
    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM, ZMX_STREAM_FROM_FIRST,
                                                         0, NULL);
    zmx_stream_record_t record;
    uint64_t count = 0, last = 0;
    char subject [64], body [64];
    while (zmx_stream_cursor_next (cursor, &record) == ZMX_OK) {
        ZMX_CHECK (record.sequence > last);
        s_record_text (record.sequence, subject, body);
        ZMX_CHECK_STR (record.subject, subject);
        ZMX_CHECK (record.body_size == strlen (body)
                && memcmp (record.body, body, record.body_size) == 0);
        last = record.sequence;
        count++;
    }
    ZMX_CHECK (stats->last_sequence == last);
    if (append) {
        uint64_t sequence;
        s_record_text (last + 1, subject, body);
        ZMX_CHECK (zmx_stream_store_append (store, S_STREAM, subject, NULL, 0, body,
                                            strlen (body), &sequence) == ZMX_OK);
        ZMX_CHECK (sequence == last + 1);
    }
    zmx_stream_cursor_destroy (&cursor);
    zmx_stream_store_destroy (&store);
    *last_p = last;
    return count;
}

static uint64_t
s_reopen_read (const char *dir, zmx_stream_stats_t *stats, uint64_t *last_p)
{
    return s_reopen_check (dir, stats, last_p, true);
}

static void
s_torn_tail (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 1000);
    zmx_stream_store_destroy (&store);
    char *path = s_last_segment (dir);
    struct stat info;
    stat (path, &info);
    ZMX_CHECK (truncate (path, info.st_size - 10) == 0);      //  Mid-record
    zmx_stream_stats_t stats;
    uint64_t last;
    ZMX_CHECK (s_reopen_read (dir, &stats, &last) == 999 && last == 999);
    ZMX_CHECK (stats.cut_bytes > 0 && stats.cut_bytes < 100 && stats.corrupt_records == 0);
    free (path);
    zmx_test_rmdir (dir);
    free (dir);
}

static void
s_flip_last (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 1000);
    zmx_stream_store_destroy (&store);
    char *path = s_last_segment (dir);
    struct stat info;
    stat (path, &info);
    s_flip_byte (path, info.st_size - 20);                     //  In the last record's body
    zmx_stream_stats_t stats;
    uint64_t last;
    ZMX_CHECK (s_reopen_check (dir, &stats, &last, false) == 999 && last == 999);
    ZMX_CHECK (stats.cut_bytes > 40 && stats.cut_bytes < 100);
    off_t before = info.st_size;
    stat (path, &info);                 //  Cut on disk too
    ZMX_CHECK (info.st_size < before);
    free (path);
    zmx_test_rmdir (dir);
    free (dir);
}

//  A damaged record in the middle of a segment: reported, never
//  returned, and the records after it are still read.
static void
s_flip_middle (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 1000);
    zmx_stream_store_destroy (&store);
    char *path = s_last_segment (dir);
    s_flip_byte (path, ZMX__STREAM_SEGMENT_HEADER + 200);      //  Third record or so
    zmx_stream_stats_t stats;
    uint64_t last;
    uint64_t count = s_reopen_read (dir, &stats, &last);
    ZMX_CHECK (count == 999 && last == 1000);
    ZMX_CHECK (stats.corrupt_records == 1 && stats.cut_bytes == 0);
    //  A length field broken: the following records are found again
    s_flip_byte (path, ZMX__STREAM_SEGMENT_HEADER + 1000);
    count = s_reopen_read (dir, &stats, &last);     //  1001 appended above
    ZMX_CHECK (count == 999 && last == 1001 && stats.corrupt_records == 2);
    free (path);
    zmx_test_rmdir (dir);
    free (dir);
}

//  A record whose checksum is right but whose headers are malformed (a
//  name with a space: the encoder does not check, the append path does)
//  is corrupt, never returned.
static void
s_malformed_headers (void)
{
    char *dir = zmx_test_tmpdir ();
    zmx_stream_store_t *store = s_small_segments (dir, 3);
    zmx_stream_store_destroy (&store);
    char *path = s_last_segment (dir);
    zmx_stream_header_t header = { "a b", 0, "v", 1 };
    char subject [64], body [64];
    s_record_text (4, subject, body);
    byte record [256];
    size_t size = zmx__stream_record_encode (record, 4, 1, subject, strlen (subject), &header, 1,
                                             1 + 3 + 2 + 1, body, strlen (body));
    int fd = open (path, O_WRONLY | O_APPEND);
    ZMX_CHECK (write (fd, record, size) == (ssize_t) size);
    close (fd);
    zmx_stream_stats_t stats;
    uint64_t last;
    ZMX_CHECK (s_reopen_read (dir, &stats, &last) == 3 && last == 3);
    ZMX_CHECK (stats.cut_bytes == size);
    free (path);
    zmx_test_rmdir (dir);
    free (dir);
}

//  -------------------------------------------------------------------------
//  kill -9 during acknowledged appends

//  Child: append (policy always) in batches of 1..50, flush, and send
//  each acknowledged sequence down the pipe; never returns.
static void
s_appender (const char *dir, int fd, unsigned int seed)
{
    zmx_stream_config_t config = s_config (64 << 10, ZMX_STREAM_FSYNC_ALWAYS);
    zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
    if (!store)
        _exit (1);
    char subject [64], body [64];
    while (true) {
        int batch = 1 + (int) (rand_r (&seed) % 50);
        uint64_t sequence = 0;
        for (int index = 0; index < batch; index++) {
            zmx_stream_stats_t stats = { 0 };  //  Stays 0 until the stream exists
            zmx_stream_store_stats (store, S_STREAM, &stats);
            s_record_text (stats.last_sequence + 1, subject, body);
            if (zmx_stream_store_append (store, S_STREAM, subject, NULL, 0, body,
                                         strlen (body), &sequence) != ZMX_OK)
                _exit (2);
        }
        if (zmx_stream_store_flush (store, S_STREAM) != ZMX_OK
        ||  zmx_stream_store_durable (store, S_STREAM) != sequence)
            _exit (3);
        if (write (fd, &sequence, sizeof sequence) != sizeof sequence)
            _exit (4);
    }
}

static void
s_kill9 (void)
{
    char *dir = zmx_test_tmpdir ();
    const char *env = getenv ("ZMX_TEST_SEED");
    unsigned int seed = env? (unsigned int) strtoul (env, NULL, 10)
                           : (unsigned int) (time (NULL) ^ getpid ());
    printf ("kill9: seed %u (set ZMX_TEST_SEED to repeat)\n", seed);
    fflush (stdout);
    uint64_t acknowledged = 0, last = 0;
    for (int round = 0; round < 20; round++) {
        int fds [2];
        ZMX_CHECK (pipe (fds) == 0);
        unsigned int child_seed = rand_r (&seed);
        pid_t pid = fork ();
        if (pid == 0) {
            close (fds [0]);
            s_appender (dir, fds [1], child_seed);
        }
        close (fds [1]);
        //  Kill after 1..200 acknowledgements (bounded by count, not time)
        int wanted = 1 + (int) (rand_r (&seed) % 200), got = 0;
        uint64_t sequence;
        while (got < wanted && read (fds [0], &sequence, sizeof sequence) == sizeof sequence) {
            ZMX_CHECK (sequence > acknowledged && sequence > last);
            acknowledged = sequence;
            got++;
        }
        ZMX_CHECK (got == wanted);
        kill (pid, SIGKILL);
        while (read (fds [0], &sequence, sizeof sequence) == sizeof sequence)
            acknowledged = sequence;    //  Acknowledged just before it died
        int status;
        waitpid (pid, &status, 0);
        ZMX_CHECK (WIFSIGNALED (status) && WTERMSIG (status) == SIGKILL);
        close (fds [0]);
        //  Every acknowledged record is there, once, in order, unchanged,
        //  from 1 with no gap; the next child continues after the last
        zmx_stream_stats_t stats;
        uint64_t count = s_reopen_check (dir, &stats, &last, false);
        ZMX_CHECK (last >= acknowledged);
        ZMX_CHECK (count == last);
        ZMX_CHECK (stats.corrupt_records == 0);
    }
    printf ("kill9: 20 rounds, %" PRIu64 " records, last acknowledged %" PRIu64 "\n",
            last, acknowledged);
    zmx_test_rmdir (dir);
    free (dir);
}

//  -------------------------------------------------------------------------
//  Memory

static long
s_rss_kib (void)
{
    FILE *file = fopen ("/proc/self/status", "r");
    char line [256];
    long kib = -1;
    while (file && fgets (line, sizeof line, file))
        if (strncmp (line, "VmRSS:", 6) == 0)
            kib = strtol (line + 6, NULL, 10);
    if (file)
        fclose (file);
    return kib;
}

//  RSS growth of opening (recovering) a store of `count` records, in a
//  fresh child so that freed heap of earlier work does not blur it.
static long
s_open_growth (const char *dir)
{
    int fds [2];
    ZMX_CHECK (pipe (fds) == 0);
    pid_t pid = fork ();
    if (pid == 0) {
        long before = s_rss_kib ();
        zmx_stream_config_t config = s_config (4 << 20, ZMX_STREAM_FSYNC_NEVER);
        zmx_stream_store_t *store = zmx_stream_store_new (dir, &config);
        zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, S_STREAM,
            ZMX_STREAM_FROM_SEQUENCE, 100000, NULL);
        zmx_stream_record_t record;
        long growth = zmx_stream_cursor_next (cursor, &record) == ZMX_OK?
            s_rss_kib () - before: -1;
        if (write (fds [1], &growth, sizeof growth) != sizeof growth)
            _exit (1);
        _exit (0);
    }
    close (fds [1]);
    long growth = -1;
    ZMX_CHECK (read (fds [0], &growth, sizeof growth) == sizeof growth);
    close (fds [0]);
    waitpid (pid, NULL, 0);
    return growth;
}

static void
s_memory_bounded (void)
{
    char *small = zmx_test_tmpdir (), *large = zmx_test_tmpdir ();
    zmx_stream_config_t config = s_config (4 << 20, ZMX_STREAM_FSYNC_NEVER);
    zmx_stream_store_t *store = zmx_stream_store_new (small, &config);
    s_append_many (store, 200000);
    zmx_stream_store_destroy (&store);
    store = zmx_stream_store_new (large, &config);
    s_append_many (store, 2000000);
    zmx_stream_store_destroy (&store);
    long small_kib = s_open_growth (small), large_kib = s_open_growth (large);
    printf ("memory: RSS growth after open: 200k records %ld KiB, 2M records %ld KiB\n",
            small_kib, large_kib);
    ZMX_CHECK (small_kib >= 0 && large_kib >= 0);
    //  The data is ~140 MiB; the index is ~24 bytes per 64 KiB of it
    ZMX_CHECK (large_kib < 4 * 1024);
    ZMX_CHECK (large_kib < small_kib + 1024);
    zmx_test_rmdir (small);
    zmx_test_rmdir (large);
    free (small);
    free (large);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "append_read_million", s_append_read_million, 120 },
        { "seek", s_seek, 60 },
        { "filter", s_filter, 30 },
        { "limits", s_limits, 30 },
        { "fsync_policies", s_fsync_policies, 30 },
        { "retention_records", s_retention_records, 30 },
        { "retention_bytes", s_retention_bytes, 30 },
        { "retention_age", s_retention_age, 30 },
        { "restart_continues", s_restart_continues, 30 },
        { "torn_tail", s_torn_tail, 30 },
        { "flip_last", s_flip_last, 30 },
        { "flip_middle", s_flip_middle, 30 },
        { "malformed_headers", s_malformed_headers, 30 },
        { "kill9", s_kill9, 120 },
        { "memory_bounded", s_memory_bounded, 150 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
