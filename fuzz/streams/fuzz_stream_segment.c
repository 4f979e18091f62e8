/*  =========================================================================
    fuzz_stream_segment - libFuzzer target for the stream store's segment
    recovery and record parser

    The input is written as the one segment file of a stream
    (DIR/s/00000000000000000001.seg); the store opens it (verifying,
    cutting a bad tail, finding records after corrupt ones), a cursor
    reads every record, and one record is appended. Checks that nothing
    crashes, that every record returned is one whose bytes, checksum
    included, are in the input (re-encoded from the view and searched
    for), that sequences only go up, that the file is never longer than
    the input after recovery, and that the appended record gets the next
    sequence after the last one read.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"
#include "streams/zmx_streams_internal.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_RECORD 4096

static char s_dir [64];                 //  Made once per process
static char s_path [128];               //  The segment file

static bool
s_contains (const uint8_t *data, size_t size, const byte *part, size_t part_size)
{
    for (size_t at = 0; at + part_size <= size; at++)
        if (memcmp (data + at, part, part_size) == 0)
            return true;
    return false;
}

//  The record in view, encoded again (with its checksum), must be bytes
//  of the input.
static void
s_check_record (const zmx_stream_record_t *record, const uint8_t *data, size_t size)
{
    zmx_stream_header_t headers [ZMX_STREAM_HEADERS_MAX];
    FUZZ_REQUIRE (record->header_count <= ZMX_STREAM_HEADERS_MAX);
    for (size_t index = 0; index < record->header_count; index++)
        FUZZ_REQUIRE (zmx_stream_record_header (record, index, &headers [index]));
    FUZZ_REQUIRE (zmx_subject_valid (record->subject, record->subject_size));
    size_t total = ZMX__STREAM_RECORD_OVERHEAD + record->subject_size + record->headers_size
                 + record->body_size;
    byte *encoded = (byte *) malloc (total);
    size_t encoded_size = zmx__stream_record_encode (encoded, record->sequence, record->time_ns,
                                                     record->subject, record->subject_size,
                                                     headers, record->header_count,
                                                     record->headers_size, record->body,
                                                     record->body_size);
    FUZZ_REQUIRE (encoded_size == total);
    FUZZ_REQUIRE (s_contains (data, size, encoded, encoded_size));
    free (encoded);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!*s_dir) {
        zmx_log_set_level (ZMX_LOG_ERROR);
        snprintf (s_dir, sizeof s_dir, "/tmp/fuzz-stream-XXXXXX");
        FUZZ_REQUIRE (mkdtemp (s_dir));
        char stream [96];
        snprintf (stream, sizeof stream, "%s/s", s_dir);
        FUZZ_REQUIRE (mkdir (stream, 0700) == 0);
        snprintf (s_path, sizeof s_path, "%s/00000000000000000001.seg", stream);
    }
    {
        int fd = open (s_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        FUZZ_REQUIRE (fd >= 0);
        FUZZ_REQUIRE (write (fd, data, size) == (ssize_t) size);
        close (fd);
    }
    zmx_stream_config_t config;
    zmx_stream_config_default (&config);
    config.fsync = ZMX_STREAM_FSYNC_NEVER;
    config.segment_size = 1 << 20;
    config.max_record = S_MAX_RECORD;
    config.max_open_files = 4;
    zmx_stream_store_t *store = zmx_stream_store_new (s_dir, &config);
    FUZZ_REQUIRE (store);
    struct stat info;
    FUZZ_REQUIRE (stat (s_path, &info) == 0);
    FUZZ_REQUIRE ((size_t) info.st_size <= (size < 16? 16: size));

    zmx_stream_cursor_t *cursor = zmx_stream_cursor_new (store, "s", ZMX_STREAM_FROM_FIRST,
                                                         0, NULL);
    FUZZ_REQUIRE (cursor);
    zmx_stream_record_t record;
    uint64_t last = 0;
    while (zmx_stream_cursor_next (cursor, &record) == ZMX_OK) {
        FUZZ_REQUIRE (record.sequence > last);
        last = record.sequence;
        s_check_record (&record, data, size);
    }
    zmx_stream_cursor_destroy (&cursor);
    uint64_t sequence = 0;
    if (last < UINT64_MAX - 1) {
        FUZZ_REQUIRE (zmx_stream_store_append (store, "s", "x", NULL, 0, "y", 1, &sequence)
                      == ZMX_OK);
        FUZZ_REQUIRE (sequence == last + 1);
    }
    zmx_stream_store_destroy (&store);
    //  Leave only the input's file for the next run
    char command [160];
    snprintf (command, sizeof command, "%s/s", s_dir);
    zdir_t *folder = zdir_new (command, NULL);
    zdir_remove (folder, true);
    zdir_destroy (&folder);
    FUZZ_REQUIRE (mkdir (command, 0700) == 0);
    return 0;
}
