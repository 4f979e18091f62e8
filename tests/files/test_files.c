/*  =========================================================================
    test_files - the FILEMQ file service and its client, end to end: a tree
    mirrored exactly, live changes, the cache, a transfer killed midway and
    resumed across a server restart, memory with many slow clients, path
    traversal on both sides, and bad input from raw sockets.

    "test_files --serve CONFIG" runs a files service in its own process
    (used for the memory case, so that RSS is the server's alone).
    =========================================================================
*/
#include "testing.h"
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined (__SANITIZE_ADDRESS__)
#   define S_ASAN 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer)
#       define S_ASAN 1
#   endif
#endif

//  The large file of the tree is 100 MiB (about 1.5 s per case, also under
//  ASan). The RSS bound is looser under ASan, whose shadow memory and
//  allocator keep more pages resident.
#define S_LARGE_SIZE (100 * 1024 * 1024)
#ifdef S_ASAN
#   define S_RSS_BOUND_KB (64 * 1024)
#else
#   define S_RSS_BOUND_KB (32 * 1024)
#endif

typedef struct {
    zmx_service_t *service;
    char *endpoint;
} s_server_t;

//  Start a files service publishing `directory` as `path` at `endpoint`
//  (NULL: a free port), with short timers.
static s_server_t
s_server_start (const char *directory, const char *path, const char *endpoint, const char *extra)
{
    s_server_t server;
    char *text = zsys_sprintf ("files\n    endpoint = \"%s\"\n    heartbeat-interval = 300\n"
                               "    poll-interval = 100\n    publish\n        directory = \"%s\"\n"
                               "        path = \"%s\"\n%s", endpoint? endpoint: "tcp://127.0.0.1:*",
                               directory, path, extra? extra: "");
    zconfig_t *root = zconfig_str_load (text);
    ZMX_CHECK (root);
    //  A fixed port may be briefly taken when a client that keeps
    //  reconnecting to it self-connects: retry the bind for a while.
    int64_t deadline = zclock_mono () + 5000;
    while (true) {
        server.service = zmx_service_new ("files", zmx_files_actor,
                                          zconfig_locate (root, "files"), NULL);
        if (server.service || !endpoint || zclock_mono () >= deadline)
            break;
        zclock_sleep (100);
    }
    ZMX_CHECK (server.service);
    server.endpoint = strdup (zmx_service_endpoint (server.service));
    zconfig_destroy (&root);
    zstr_free (&text);
    return server;
}

static void
s_server_stop (s_server_t *server)
{
    zmx_service_destroy (&server->service);
    zstr_free (&server->endpoint);
}

static uint64_t
s_counter (s_server_t *server, const char *name)
{
    return zmx_service_counter (server->service, name);
}

static zmx_files_client_t *
s_client_start (const char *endpoint, const char *path, const char *directory, uint64_t rate,
                uint64_t credit)
{
    zmx_files_client_t *client = zmx_files_client_new (endpoint, path, directory);
    ZMX_CHECK (client);
    if (credit)
        zmx_files_client_set_credit (client, credit);
    zmx_files_client_set_heartbeat (client, 200, 3);
    zmx_files_client_set_backoff (client, 50, 500);
    zmx_files_client_set_rate (client, rate);
    ZMX_CHECK (zmx_files_client_start (client) == ZMX_OK);
    return client;
}

//  -------------------------------------------------------------------------
//  Files

static void
s_write_bytes (const char *path, const void *data, size_t size)
{
    FILE *file = fopen (path, "wb");
    ZMX_CHECK (file);
    ZMX_CHECK (fwrite (data, 1, size, file) == size);
    fclose (file);
}

//  A file of `size` pseudo-random bytes (seeded, so content differs by seed).
static void
s_write_random (const char *path, size_t size, unsigned int seed)
{
    FILE *file = fopen (path, "wb");
    ZMX_CHECK (file);
    size_t block = 1024 * 1024;
    uint32_t *buffer = (uint32_t *) malloc (block);
    uint32_t state = seed * 2654435761u + 1;
    while (size) {
        for (size_t index = 0; index < block / 4; index++) {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            buffer [index] = state;
        }
        size_t part = size < block? size: block;
        ZMX_CHECK (fwrite (buffer, 1, part, file) == part);
        size -= part;
    }
    free (buffer);
    fclose (file);
}

//  A case's big file: SOURCE/big.bin with `size` random bytes. Returns its
//  path; caller frees it.
static char *
s_big_file_new (const char *source, uint64_t size, unsigned int seed)
{
    char *big = zsys_sprintf ("%s/big.bin", source);
    s_write_random (big, size, seed);
    return big;
}

//  Remove a case's source and mirror directories and free their paths.
static void
s_dirs_destroy (char **source_p, char **mirror_p)
{
    zmx_test_rmdir (*source_p);
    zmx_test_rmdir (*mirror_p);
    zstr_free (source_p);
    zstr_free (mirror_p);
}

static uint64_t
s_file_size (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0? (uint64_t) info.st_size: 0;
}

static bool
s_exists (const char *path)
{
    struct stat info;
    return lstat (path, &info) == 0;
}

//  True if the two files have the same bytes.
static bool
s_same_file (const char *left, const char *right)
{
    FILE *a = fopen (left, "rb"), *b = fopen (right, "rb");
    bool same = a && b;
    static char block_a [65536], block_b [65536];
    while (same) {
        size_t got_a = fread (block_a, 1, sizeof block_a, a);
        size_t got_b = fread (block_b, 1, sizeof block_b, b);
        same = got_a == got_b && memcmp (block_a, block_b, got_a) == 0;
        if (got_a == 0)
            break;
    }
    if (a)
        fclose (a);
    if (b)
        fclose (b);
    return same;
}

//  Count the regular files below `root` (skipping the partial directory at
//  the top); if `other` is given, each must exist there with equal bytes.
static int
s_tree_check (const char *root, const char *name, const char *other, bool *same)
{
    char *path = *name? zsys_sprintf ("%s/%s", root, name): strdup (root);
    DIR *dir = opendir (path);
    int count = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        if (streq (entry->d_name, ".") || streq (entry->d_name, "..")
        ||  (!*name && streq (entry->d_name, ZMX_FILES_PARTIAL_DIR)))
            continue;
        char *child = *name? zsys_sprintf ("%s/%s", name, entry->d_name): strdup (entry->d_name);
        char *full = zsys_sprintf ("%s/%s", root, child);
        struct stat info;
        if (lstat (full, &info) == 0 && S_ISDIR (info.st_mode))
            count += s_tree_check (root, child, other, same);
        else {
            count++;
            if (other) {
                char *mirror = zsys_sprintf ("%s/%s", other, child);
                if (!s_same_file (full, mirror)) {
                    printf ("differs: %s\n", child);
                    *same = false;
                }
                zstr_free (&mirror);
            }
        }
        zstr_free (&child);
        zstr_free (&full);
    }
    if (dir)
        closedir (dir);
    zstr_free (&path);
    return count;
}

//  True if `mirror` holds exactly the files of `source`, byte for byte.
static bool
s_trees_equal (const char *source, const char *mirror)
{
    bool same = true;
    int count = s_tree_check (source, "", mirror, &same);
    bool ignored;
    return same && s_tree_check (mirror, "", NULL, &ignored) == count;
}

//  The test tree: empty, 1 byte, large, spaces, unicode, subdirectories.
static void
s_make_tree (const char *root)
{
    char *path = zsys_sprintf ("%s/empty", root);
    s_write_bytes (path, "", 0);
    zstr_free (&path);
    path = zsys_sprintf ("%s/one", root);
    s_write_bytes (path, "x", 1);
    zstr_free (&path);
    path = zsys_sprintf ("%s/large.bin", root);
    s_write_random (path, S_LARGE_SIZE, 1);
    zstr_free (&path);
    path = zsys_sprintf ("%s/name with spaces.txt", root);
    s_write_bytes (path, "spaces\n", 7);
    zstr_free (&path);
    path = zsys_sprintf ("%s/été – 日本語.txt", root);
    s_write_bytes (path, "unicode\n", 8);
    zstr_free (&path);
    path = zsys_sprintf ("%s/sub", root);
    ZMX_CHECK (mkdir (path, 0755) == 0);
    zstr_free (&path);
    path = zsys_sprintf ("%s/sub/deeper", root);
    ZMX_CHECK (mkdir (path, 0755) == 0);
    zstr_free (&path);
    path = zsys_sprintf ("%s/sub/deeper/nested.bin", root);
    s_write_random (path, 300 * 1000 + 7, 2);
    zstr_free (&path);
    path = zsys_sprintf ("%s/sub/empty dir", root);
    ZMX_CHECK (mkdir (path, 0755) == 0);
    zstr_free (&path);
}

//  Poll until `condition` holds, up to timeout_ms.
#define S_WAIT_FOR(condition, timeout_ms) \
    do { int64_t deadline_ = zclock_mono () + (timeout_ms); \
         while (!(condition) && zclock_mono () < deadline_) zclock_sleep (10); \
         ZMX_CHECK (condition); } while (0)

//  -------------------------------------------------------------------------
//  Cases

static void
s_mirror_tree (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    s_make_tree (source);
    s_server_t server = s_server_start (source, "/data", NULL, NULL);
    int64_t start = zclock_mono ();
    zmx_files_client_t *client = s_client_start (server.endpoint, "/data", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 60000) == ZMX_OK);
    printf ("mirrored %d MiB tree in %" PRId64 " ms\n", S_LARGE_SIZE >> 20, zclock_mono () - start);
    ZMX_CHECK (s_trees_equal (source, mirror));
    ZMX_CHECK (s_counter (&server, "files_sent") == 6);
    ZMX_CHECK (zmx_files_client_counter (client, "files_received") == 6);

    //  Live changes: a new file, a changed one, a deleted one
    char *added = zsys_sprintf ("%s/sub/added.txt", source);
    s_write_bytes (added, "added\n", 6);
    char *changed = zsys_sprintf ("%s/one", source);
    s_write_bytes (changed, "changed and longer", 18);
    char *deleted = zsys_sprintf ("%s/name with spaces.txt", source);
    ZMX_CHECK (unlink (deleted) == 0);
    char *mirror_added = zsys_sprintf ("%s/sub/added.txt", mirror);
    char *mirror_changed = zsys_sprintf ("%s/one", mirror);
    char *mirror_deleted = zsys_sprintf ("%s/name with spaces.txt", mirror);
    S_WAIT_FOR (s_exists (mirror_added) && s_file_size (mirror_changed) == 18
                && !s_exists (mirror_deleted), 10000);
    ZMX_CHECK (s_trees_equal (source, mirror));
    ZMX_CHECK (zmx_files_client_counter (client, "files_deleted") == 1);

    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    zstr_free (&added);
    zstr_free (&changed);
    zstr_free (&deleted);
    zstr_free (&mirror_added);
    zstr_free (&mirror_changed);
    zstr_free (&mirror_deleted);
    s_dirs_destroy (&source, &mirror);
}

static void
s_cache_second_sync (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    s_make_tree (source);
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    zmx_files_client_t *client = s_client_start (server.endpoint, "/", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 60000) == ZMX_OK);
    zmx_files_client_destroy (&client);
    ZMX_CHECK (s_trees_equal (source, mirror));
    uint64_t sent = s_counter (&server, "bytes_sent");
    ZMX_CHECK (sent == S_LARGE_SIZE + 1 + 7 + 8 + 300 * 1000 + 7);

    //  A second client on the same mirror: everything is in its cache
    client = s_client_start (server.endpoint, "/", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 60000) == ZMX_OK);
    ZMX_CHECK (s_counter (&server, "bytes_sent") == sent);
    ZMX_CHECK (s_counter (&server, "files_cached") == 6);
    ZMX_CHECK (zmx_files_client_counter (client, "bytes_received") == 0);
    ZMX_CHECK (s_trees_equal (source, mirror));
    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    s_dirs_destroy (&source, &mirror);
}

//  The size of the one partial file in `mirror`, 0 if none.
static uint64_t
s_partial_size (const char *mirror)
{
    char *dir_path = zsys_sprintf ("%s/%s", mirror, ZMX_FILES_PARTIAL_DIR);
    DIR *dir = opendir (dir_path);
    uint64_t size = 0;
    struct dirent *entry;
    while (dir && (entry = readdir (dir)))
        if (entry->d_name [0] != '.') {
            char *path = zsys_sprintf ("%s/%s", dir_path, entry->d_name);
            size = s_file_size (path);
            zstr_free (&path);
        }
    if (dir)
        closedir (dir);
    zstr_free (&dir_path);
    return size;
}

//  A client process is killed (SIGKILL) in the middle of a file, the
//  server restarts, a new client resumes: the second server sends exactly
//  the bytes the partial file lacked.
static void
s_resume_after_kill (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    uint64_t size = 16 * 1024 * 1024;
    char *big = s_big_file_new (source, size, 3);
    char *endpoint = zmx_test_free_endpoint ();
    s_server_t server = s_server_start (source, "/", endpoint, NULL);
    //  The client runs in its own process, so that it can really crash
    char *self_path = zmx_test_bin ("test_files");
    char *argv [] = { self_path, "--mirror", endpoint, mirror, NULL };
    pid_t child = zmx_test_spawn (argv, NULL);
    S_WAIT_FOR (s_partial_size (mirror) >= size / 3, 20000);
    kill (child, SIGKILL);
    ZMX_CHECK (waitpid (child, NULL, 0) == child);
    uint64_t partial = s_partial_size (mirror);
    ZMX_CHECK (partial > 0 && partial < size);
    char *target = zsys_sprintf ("%s/big.bin", mirror);
    ZMX_CHECK (!s_exists (target));         //  Never a truncated file under the real name
    s_server_stop (&server);

    server = s_server_start (source, "/", endpoint, NULL);
    zmx_files_client_t *client = s_client_start (endpoint, "/", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 30000) == ZMX_OK);
    printf ("killed at %" PRIu64 " of %" PRIu64 " bytes; second server sent %" PRIu64 "\n",
            partial, size, s_counter (&server, "bytes_sent"));
    ZMX_CHECK (s_counter (&server, "bytes_sent") == size - partial);
    ZMX_CHECK (s_counter (&server, "files_resumed") == 1);
    ZMX_CHECK (s_counter (&server, "bytes_resumed") == partial);
    ZMX_CHECK (s_same_file (big, target));
    ZMX_CHECK (s_partial_size (mirror) == 0);
    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    zstr_free (&target);
    zstr_free (&endpoint);
    zstr_free (&big);
    zstr_free (&self_path);
    s_dirs_destroy (&source, &mirror);
}

//  A partial whose bytes are not the announced file's (here: zeros where
//  the file has random bytes) is resumed by the server, fails the client's
//  digest check (which hashes the partial's existing part, then the rest
//  as it arrives), and is discarded: the real name never gets the corrupt
//  file. A fresh sync then fetches it whole.
static void
s_corrupt_partial_rejected (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    uint64_t size = 4 * 1024 * 1024;
    char *big = s_big_file_new (source, size, 7);
    char hex [41];
    ZMX_CHECK (zmx_files_digest (big, hex) == ZMX_OK);
    char *partial_dir = zsys_sprintf ("%s/%s", mirror, ZMX_FILES_PARTIAL_DIR);
    ZMX_CHECK (mkdir (partial_dir, 0755) == 0);
    char *partial = zsys_sprintf ("%s/%s", partial_dir, hex);
    FILE *file = fopen (partial, "w");
    ZMX_CHECK (file != NULL);
    for (int index = 0; index < 1024 * 1024; index++)
        fputc (0, file);
    fclose (file);
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    zmx_files_client_t *client = s_client_start (server.endpoint, "/", mirror, 0, 0);
    S_WAIT_FOR (zmx_files_client_counter (client, "files_rejected") == 1, 20000);
    zmx_files_client_destroy (&client);
    ZMX_CHECK (s_counter (&server, "files_resumed") == 1);
    ZMX_CHECK (s_counter (&server, "bytes_sent") == size - 1024 * 1024);
    char *target = zsys_sprintf ("%s/big.bin", mirror);
    ZMX_CHECK (!s_exists (target));
    ZMX_CHECK (!s_exists (partial));
    client = s_client_start (server.endpoint, "/", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 20000) == ZMX_OK);
    ZMX_CHECK (s_same_file (big, target));
    ZMX_CHECK (zmx_files_client_counter (client, "files_rejected") == 0);
    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    zstr_free (&target);
    zstr_free (&partial);
    zstr_free (&partial_dir);
    zstr_free (&big);
    s_dirs_destroy (&source, &mirror);
}

//  The server keeps running while its client restarts: the client picks
//  up the server restart by itself (RTFM or silence) and completes.
static void
s_survives_server_restart (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    uint64_t size = 8 * 1024 * 1024;
    char *big = s_big_file_new (source, size, 4);
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    char *endpoint = strdup (server.endpoint);
    zmx_files_client_t *client = s_client_start (endpoint, "/", mirror, 4 * 1024 * 1024, 0);
    S_WAIT_FOR (s_partial_size (mirror) >= size / 4, 20000);
    s_server_stop (&server);
    server = s_server_start (source, "/", endpoint, NULL);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 30000) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_counter (client, "connects") >= 2);
    ZMX_CHECK (s_counter (&server, "files_resumed") == 1);
    ZMX_CHECK (s_counter (&server, "bytes_sent") < size);
    char *target = zsys_sprintf ("%s/big.bin", mirror);
    ZMX_CHECK (s_same_file (big, target));
    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    zstr_free (&target);
    zstr_free (&endpoint);
    zstr_free (&big);
    s_dirs_destroy (&source, &mirror);
}

static long
s_rss_kb (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    char *status = zmx_test_read_file (path);
    char *line = strstr (status, "VmRSS:");
    long rss = line? strtol (line + 6, NULL, 10): -1;
    zstr_free (&status);
    return rss;
}

//  Twenty clients that take 1 MiB/s each from a server in its own
//  process: the server's resident memory stays under S_RSS_BOUND_KB.
static void
s_slow_clients_memory (void)
{
    char *source = zmx_test_tmpdir ();
    char *file = zsys_sprintf ("%s/shared.bin", source);
    s_write_random (file, 32 * 1024 * 1024, 5);
    char *endpoint = zmx_test_free_endpoint ();
    char *config = zsys_sprintf ("%s.cfg", source);
    char *text = zsys_sprintf ("files\n    endpoint = \"%s\"\n    heartbeat-interval = 200\n"
                               "    max-credit = 262144\n    chunk-size = 65536\n"
                               "    publish\n        directory = \"%s\"\n        path = \"/\"\n",
                               endpoint, source);
    ZMX_CHECK (zmx_test_write_file (config, text) == 0);
    char *self_path = zmx_test_bin ("test_files");
    char *argv [] = { self_path, "--serve", config, NULL };
    //  Keep ASan's quarantine of freed blocks small, or it alone would
    //  hold hundreds of MiB of freed chunks.
    setenv ("ASAN_OPTIONS", "quarantine_size_mb=4:detect_leaks=0", 1);
    pid_t server = zmx_test_spawn (argv, NULL);
    ZMX_CHECK (zmx_test_wait_port (atoi (strrchr (endpoint, ':') + 1), 10000));
    long base = s_rss_kb (server);

    zmx_files_client_t *clients [20];
    char *mirrors [20];
    for (int index = 0; index < 20; index++) {
        mirrors [index] = zmx_test_tmpdir ();
        clients [index] = s_client_start (endpoint, "/", mirrors [index], 1024 * 1024,
                                          256 * 1024);
    }
    long peak = base;
    int64_t until = zclock_mono () + 4000;
    while (zclock_mono () < until) {
        long rss = s_rss_kb (server);
        if (rss > peak)
            peak = rss;
        zclock_sleep (50);
    }
    uint64_t received = 0;
    for (int index = 0; index < 20; index++)
        received += zmx_files_client_counter (clients [index], "bytes_received");
    printf ("20 slow clients: server RSS %ld KiB at start, peak %ld KiB (bound %d KiB); "
            "%" PRIu64 " MiB delivered\n", base, peak, S_RSS_BOUND_KB, received >> 20);
    ZMX_CHECK (received >= 20 * 1024 * 1024);       //  They all made progress
    ZMX_CHECK (peak > 0 && peak < S_RSS_BOUND_KB);
    for (int index = 0; index < 20; index++) {
        zmx_files_client_destroy (&clients [index]);
        zmx_test_rmdir (mirrors [index]);
        zstr_free (&mirrors [index]);
    }
    zmx_test_stop (server, 2000);
    unlink (config);
    zstr_free (&self_path);
    zstr_free (&text);
    zstr_free (&config);
    zstr_free (&endpoint);
    zstr_free (&file);
    zmx_test_rmdir (source);
    zstr_free (&source);
}

//  A digest of the file at path into hex: zmx_files_digest or _xxh128.
typedef int (s_digest_fn) (const char *path, char *hex);

//  `digest` of the standard inputs "", "abc" and a million 'a's, each
//  written to path in turn, is expected [0], [1], [2]; hex is the buffer.
static void
s_check_vectors (const char *path, s_digest_fn *digest, char *hex, const char *const expected [3])
{
    char *million = (char *) malloc (1000000);
    memset (million, 'a', 1000000);
    const char *inputs [3] = { "", "abc", million };
    const size_t sizes [3] = { 0, 3, 1000000 };
    for (size_t index = 0; index < 3; index++) {
        s_write_bytes (path, inputs [index], sizes [index]);
        ZMX_CHECK (digest (path, hex) == ZMX_OK);
        ZMX_CHECK_STR (hex, expected [index]);
    }
    free (million);
}

//  Write `size` random bytes (from seed) to path; returns them as read
//  back (caller frees).
static byte *
s_random_file (const char *path, size_t size, unsigned int seed)
{
    s_write_random (path, size, seed);
    byte *data = (byte *) malloc (size);
    FILE *file = fopen (path, "rb");
    ZMX_CHECK (file && fread (data, 1, size, file) == size);
    fclose (file);
    return data;
}

//  The digest is plain SHA-1 in lowercase hex: standard vectors, and a
//  file larger than one read buffer (not a multiple of it) against CZMQ's
//  zdigest, which produced the digests peers already hold.
static void
s_digest_vectors (void)
{
    char *directory = zmx_test_tmpdir ();
    char *path = zsys_sprintf ("%s/vector", directory);
    char hex [41];
    s_check_vectors (path, zmx_files_digest, hex, (const char *const []) {
        "da39a3ee5e6b4b0d3255bfef95601890afd80709", "a9993e364706816aba3e25717850c26c9cd0d89d",
        "34aa973cd4c4daa4f61eeb2bdbad27316534016f" });

    size_t size = 3 * 1024 * 1024 + 7;
    byte *data = s_random_file (path, size, 5);
    zdigest_t *reference = zdigest_new ();
    zdigest_update (reference, data, size);
    char expected [41];
    snprintf (expected, sizeof expected, "%s", zdigest_string (reference));
    for (char *scan = expected; *scan; scan++)
        *scan = (char) tolower ((unsigned char) *scan);
    zdigest_destroy (&reference);
    free (data);
    ZMX_CHECK (zmx_files_digest (path, hex) == ZMX_OK);
    ZMX_CHECK (streq (hex, expected));
    ZMX_CHECK (zmx_files_digest ("/nonexistent/zmx-digest", hex) == ZMX_EINVAL);

    unlink (path);
    zstr_free (&path);
    zmx_test_rmdir (directory);
    zstr_free (&directory);
}

//  Chunks read straight into the outgoing frames: an odd chunk size and
//  an odd credit leave every chunk boundary unaligned, and a file that is
//  exactly a multiple of the chunk size ends on a full chunk.
static void
s_odd_chunks (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    char *path = zsys_sprintf ("%s/odd.bin", source);
    s_write_random (path, 5 * 1000 * 1000 + 3, 7);
    zstr_free (&path);
    path = zsys_sprintf ("%s/exact.bin", source);
    s_write_random (path, 12 * 65537, 8);
    zstr_free (&path);
    s_server_t server = s_server_start (source, "/", NULL, "    chunk-size = 65537\n");
    zmx_files_client_t *client = s_client_start (server.endpoint, "/", mirror, 0, 100003);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 30000) == ZMX_OK);
    ZMX_CHECK (s_trees_equal (source, mirror));
    ZMX_CHECK (zmx_files_client_counter (client, "files_received") == 2);
    ZMX_CHECK (zmx_files_client_counter (client, "files_rejected") == 0);
    ZMX_CHECK (s_counter (&server, "bytes_sent") == 5 * 1000 * 1000 + 3 + 12 * 65537);
    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    s_dirs_destroy (&source, &mirror);
}

//  -------------------------------------------------------------------------
//  Raw peers

static zsock_t *
s_raw_dealer (const char *endpoint)
{
    zsock_t *dealer = zsock_new_dealer (endpoint);
    ZMX_CHECK (dealer);
    zsock_set_linger (dealer, 0);
    return dealer;
}

static void
s_raw_send (zsock_t *sock, zmx_fmq_msg_t *msg)
{
    zframe_t *frame = zmx_fmq_encode (msg);
    ZMX_CHECK (frame);
    ZMX_CHECK (zframe_send (&frame, sock, 0) == 0);
}

static void
s_raw_simple (zsock_t *sock, int id)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, id);
    s_raw_send (sock, &msg);
}

static void
s_raw_ohai (zsock_t *sock, uint16_t version)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_OHAI);
    strcpy (msg.protocol, "FILEMQ");
    msg.version = version;
    s_raw_send (sock, &msg);
}

static void
s_raw_icanhaz (zsock_t *sock, const char *path)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_ICANHAZ);
    strcpy (msg.path, path);
    s_raw_send (sock, &msg);
}

//  Set up msg as an ICANHAZ for "/" with the RESYNC option (the caller
//  clears it).
static void
s_resync_icanhaz (zmx_fmq_msg_t *msg)
{
    zmx_fmq_init (msg, ZMX_FMQ_ICANHAZ);
    strcpy (msg->path, "/");
    msg->options = zhash_new ();
    zhash_autofree (msg->options);
    zhash_insert (msg->options, "RESYNC", "1");
}

//  Receive one message, skipping heartbeats; returns its id (0: none).
static int
s_raw_expect (zsock_t *sock, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zmsg_t *msg = zmx_test_recv (sock, (int) (deadline - zclock_mono ()) + 1);
        if (!msg)
            return 0;
        zframe_t *frame = zmsg_first (msg);
        zmx_fmq_msg_t decoded;
        int id = zmx_fmq_decode (zframe_data (frame), zframe_size (frame), &decoded, NULL) == 0
               ? decoded.id: -1;
        zmx_fmq_clear (&decoded);
        zmsg_destroy (&msg);
        if (id != ZMX_FMQ_HUGZ)
            return id;
    }
    return 0;
}

static void
s_bad_input (void)
{
    char *source = zmx_test_tmpdir ();
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    zsock_t *peer = s_raw_dealer (server.endpoint);
    //  No signature: dropped silently, then a valid OHAI is answered first
    zstr_send (peer, "GET / HTTP/1.0");
    zmx_test_recv (peer, 100);
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    //  Malformed body with the signature: RTFM, and the peering is gone
    zframe_t *frame = zframe_new ("\xAA\xA3\x07\x00\x01", 5);
    zframe_send (&frame, peer, 0);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    s_raw_simple (peer, ZMX_FMQ_NOM);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    //  Two frames where FILEMQ has one
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    zmsg_t *two = zmsg_new ();
    zmsg_addmem (two, "\xAA\xA3\x09", 3);
    zmsg_addstr (two, "extra");
    zmsg_send (&two, peer);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    //  Wrong version, command before OHAI, server-only command
    s_raw_ohai (peer, 1);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    s_raw_icanhaz (peer, "/");
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    zmx_fmq_msg_t burger;
    zmx_fmq_init (&burger, ZMX_FMQ_CHEEZBURGER);
    burger.operation = ZMX_FMQ_CREATE;
    strcpy (burger.filename, "x");
    s_raw_send (peer, &burger);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    //  OHAI twice is out of order too
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_RTFM);
    //  Heartbeats both ways; a silent client is dropped
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    s_raw_simple (peer, ZMX_FMQ_HUGZ);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_HUGZ_OK);
    zmsg_t *hugz = zmx_test_recv (peer, 2000);
    ZMX_CHECK (hugz && zframe_size (zmsg_first (hugz)) == 3 && zframe_data (zmsg_first (hugz)) [2] == ZMX_FMQ_HUGZ);
    zmsg_destroy (&hugz);
    ZMX_CHECK (s_counter (&server, "clients") == 1);
    S_WAIT_FOR (s_counter (&server, "clients") == 0, 3000);
    ZMX_CHECK (s_counter (&server, "clients_expired") == 1);
    //  KTHXBAI frees the state at once
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    s_raw_simple (peer, ZMX_FMQ_KTHXBAI);
    S_WAIT_FOR (s_counter (&server, "clients") == 0, 2000);
    //  Random garbage behind the signature never hurts the server
    unsigned int seed = 7;
    for (int round = 0; round < 2000; round++) {
        byte data [40];
        size_t size = 3 + (size_t) (rand_r (&seed) % 37);
        data [0] = 0xAA;
        data [1] = 0xA3;
        for (size_t index = 2; index < size; index++)
            data [index] = (byte) rand_r (&seed);
        frame = zframe_new (data, size);
        zframe_send (&frame, peer, 0);
    }
    s_raw_ohai (peer, 2);
    S_WAIT_FOR (s_counter (&server, "malformed") >= 1000, 5000);
    ZMX_CHECK (s_counter (&server, "rtfm_sent") >= 1000);
    zsock_destroy (&peer);
    s_server_stop (&server);
    zmx_test_rmdir (source);
    zstr_free (&source);
}

//  ICANHAZ-OK's extension frame is "FILES BYTES", sent only to a client
//  that asks for it: what is queued after the client's cache (a whole file
//  it holds) and resume offers (a prefix it holds) are taken off. The
//  client API reports the same numbers.
static void
s_icanhaz_totals (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    const size_t sizes [] = { 1000, 2500, 300 };
    char digests [3][41];
    for (int index = 0; index < 3; index++) {
        char *path = zsys_sprintf ("%s/f%d", source, index);
        s_write_random (path, sizes [index], (unsigned int) index + 1);
        ZMX_CHECK (zmx_files_digest (path, digests [index]) == ZMX_OK);
        zstr_free (&path);
    }
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    zsock_t *peer = s_raw_dealer (server.endpoint);
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    zmx_fmq_msg_t msg;
    s_resync_icanhaz (&msg);
    zhash_insert (msg.options, ZMX_FMQ_OPTION_TOTALS, "1");
    msg.cache = zhash_new ();
    zhash_autofree (msg.cache);
    zhash_insert (msg.cache, "f0", digests [0]);
    char *offer = zsys_sprintf ("%s@1000", digests [1]);
    zhash_insert (msg.cache, ".zmx-partial/f1", offer);
    s_raw_send (peer, &msg);
    zmx_fmq_clear (&msg);
    zmsg_t *reply = zmx_test_recv (peer, 2000);
    ZMX_CHECK (reply && zmsg_size (reply) == 2);
    char *totals = zframe_strdup (zmsg_last (reply));
    ZMX_CHECK_STR (totals, "2 1800");            //  f1 from 1000, all of f2
    zstr_free (&totals);
    zmsg_destroy (&reply);
    s_raw_simple (peer, ZMX_FMQ_KTHXBAI);

    zmx_files_client_t *client = s_client_start (server.endpoint, "/", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_counter (client, "subscribed") == 1);
    ZMX_CHECK (zmx_files_client_counter (client, "files_queued") == 3);
    ZMX_CHECK (zmx_files_client_counter (client, "bytes_queued") == 3800);
    ZMX_CHECK (zmx_files_client_counter (client, "bytes_received") == 3800);
    zmx_files_client_destroy (&client);
    zsock_destroy (&peer);
    s_server_stop (&server);
    zstr_free (&offer);
    s_dirs_destroy (&source, &mirror);
}

//  Subscriptions that try to climb out, and links that point out of the
//  published tree, are refused.
static void
s_traversal_server (void)
{
    char *source = zmx_test_tmpdir (), *outside = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    char *secret = zsys_sprintf ("%s/secret", outside);
    s_write_bytes (secret, "secret", 6);
    char *inside = zsys_sprintf ("%s/inside", source);
    s_write_bytes (inside, "inside", 6);
    char *link_out = zsys_sprintf ("%s/link-out", source);
    ZMX_CHECK (symlink (secret, link_out) == 0);
    char *dir_out = zsys_sprintf ("%s/dir-out", source);
    ZMX_CHECK (symlink (outside, dir_out) == 0);
    char *link_in = zsys_sprintf ("%s/link-in", source);
    ZMX_CHECK (symlink ("inside", link_in) == 0);

    s_server_t server = s_server_start (source, "/pub", NULL, NULL);
    zmsg_t *list = NULL;
    ZMX_CHECK (zstr_send (zmx_service_actor (server.service), ZMX_FILES_LIST) == 0);
    list = zmsg_recv (zmx_service_actor (server.service));
    ZMX_CHECK (zmsg_size (list) == 2);          //  inside and link-in
    for (char *line = zmsg_popstr (list); line; line = zmsg_popstr (list)) {
        ZMX_CHECK (strstr (line, "/pub/inside") || strstr (line, "/pub/link-in"));
        zstr_free (&line);
    }
    zmsg_destroy (&list);

    const char *bad [] = { "/../etc", "/pub/..", "/pub/../..", "relative", "//pub", "/pub/./x" };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zsock_t *peer = s_raw_dealer (server.endpoint);
        s_raw_ohai (peer, 2);
        ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
        s_raw_icanhaz (peer, bad [index]);
        ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_SRSLY);
        //  Further commands are ignored
        s_raw_simple (peer, ZMX_FMQ_HUGZ);
        ZMX_CHECK (s_raw_expect (peer, 300) == 0);
        zsock_destroy (&peer);
    }
    ZMX_CHECK (s_counter (&server, "srsly_sent") == 6);

    zmx_files_client_t *client = s_client_start (server.endpoint, "/pub", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 10000) == ZMX_OK);
    char *got_secret = zsys_sprintf ("%s/link-out", mirror);
    char *got_inside = zsys_sprintf ("%s/link-in", mirror);
    ZMX_CHECK (!s_exists (got_secret));
    ZMX_CHECK (s_file_size (got_inside) == 6);
    zmx_files_client_destroy (&client);

    //  A client whose subscription is refused reports it
    client = s_client_start (server.endpoint, "/pub/../x", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 5000) == ZMX_ESECURITY);
    zmx_files_client_destroy (&client);

    s_server_stop (&server);
    zstr_free (&got_secret);
    zstr_free (&got_inside);
    zstr_free (&secret);
    zstr_free (&inside);
    zstr_free (&link_out);
    zstr_free (&dir_out);
    zstr_free (&link_in);
    zmx_test_rmdir (source);
    zmx_test_rmdir (outside);
    zmx_test_rmdir (mirror);
    zstr_free (&source);
    zstr_free (&outside);
    zstr_free (&mirror);
}

//  Send one whole file as a CHEEZBURGER with the given SHA1 and
//  X-ZMX-XXH128 headers (NULL: header left out).
static void
s_send_burger_digests (zsock_t *router, zframe_t *routing_id, const char *name,
                       const char *content, const char *queued, const char *sha1,
                       const char *xxh128)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_CHEEZBURGER);
    msg.operation = ZMX_FMQ_CREATE;
    snprintf (msg.filename, sizeof msg.filename, "%s", name);
    msg.eof = 1;
    msg.chunk = (const byte *) content;
    msg.chunk_size = strlen (content);
    msg.headers = zhash_new ();
    zhash_autofree (msg.headers);
    if (sha1)
        zhash_insert (msg.headers, "SHA1", (void *) sha1);
    if (xxh128)
        zhash_insert (msg.headers, ZMX_FMQ_HEADER_XXH128, (void *) xxh128);
    zhash_insert (msg.headers, "QUEUED", (void *) queued);
    zframe_t *frame = zmx_fmq_encode (&msg);
    zmx_fmq_clear (&msg);
    zframe_t *id = zframe_dup (routing_id);
    zframe_send (&id, router, ZFRAME_MORE);
    zframe_send (&frame, router, 0);
}

//  As a plain FILEMQ server with a SHA1 header would: no XXH3-128.
static void
s_send_burger (zsock_t *router, zframe_t *routing_id, const char *name, const char *content,
               const char *queued)
{
    zdigest_t *digest = zdigest_new ();
    zdigest_update (digest, (const byte *) content, strlen (content));
    s_send_burger_digests (router, routing_id, name, content, queued,
                           zdigest_string (digest), NULL);
    zdigest_destroy (&digest);
}

//  Play the server's side of OHAI and ICANHAZ for a client on `router`,
//  announcing `files` files. Returns the client's routing id.
static zframe_t *
s_fake_server_greet (zsock_t *router, const char *files)
{
    zmsg_t *msg = zmx_test_recv (router, 5000);         //  OHAI
    ZMX_CHECK (msg);
    zframe_t *routing_id = zmsg_pop (msg);
    zmsg_destroy (&msg);
    zmx_fmq_msg_t reply;
    zmx_fmq_init (&reply, ZMX_FMQ_OHAI_OK);
    zframe_t *id = zframe_dup (routing_id), *frame = zmx_fmq_encode (&reply);
    zframe_send (&id, router, ZFRAME_MORE);
    zframe_send (&frame, router, 0);
    msg = zmx_test_recv (router, 5000);                 //  ICANHAZ
    ZMX_CHECK (msg);
    zmsg_destroy (&msg);
    zmx_fmq_init (&reply, ZMX_FMQ_ICANHAZ_OK);
    id = zframe_dup (routing_id);
    frame = zmx_fmq_encode (&reply);
    zframe_send (&id, router, ZFRAME_MORE);
    zframe_send (&frame, router, ZFRAME_MORE);
    zstr_send (router, files);
    return routing_id;
}

//  A hostile server sends names that leave the mirror: none is written.
static void
s_traversal_client (void)
{
    char *mirror = zmx_test_tmpdir (), *outside = zmx_test_tmpdir ();
    char *link = zsys_sprintf ("%s/link", mirror);
    ZMX_CHECK (symlink (outside, link) == 0);
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_files_client_t *client = s_client_start (endpoint, "/", mirror, 0, 0);
    zframe_t *routing_id = s_fake_server_greet (router, "6");

    char *escape = zsys_sprintf ("../%s/escaped", strrchr (outside, '/') + 1);
    s_send_burger (router, routing_id, escape, "evil", "5");
    char *absolute = zsys_sprintf ("%s/absolute", outside);
    s_send_burger (router, routing_id, absolute, "evil", "4");
    s_send_burger (router, routing_id, "a/../../escaped2", "evil", "3");
    s_send_burger (router, routing_id, "link/through-link", "evil", "2");
    s_send_burger (router, routing_id, ".zmx-partial/x", "evil", "1");
    s_send_burger (router, routing_id, "fine/ok.txt", "good", "0");
    ZMX_CHECK (zmx_files_client_wait_synced (client, 5000) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_counter (client, "files_received") == 1);
    ZMX_CHECK (zmx_files_client_counter (client, "files_rejected") == 5);
    //  The one-number ICANHAZ-OK of older servers: files known, bytes not
    ZMX_CHECK (zmx_files_client_counter (client, "files_queued") == 6);
    ZMX_CHECK (zmx_files_client_counter (client, "bytes_queued") == 0);
    bool ignored;
    ZMX_CHECK (s_tree_check (outside, "", NULL, &ignored) == 0);
    char *ok = zsys_sprintf ("%s/fine/ok.txt", mirror);
    ZMX_CHECK (s_file_size (ok) == 4);

    zmx_files_client_destroy (&client);
    zframe_destroy (&routing_id);
    zsock_destroy (&router);
    zstr_free (&ok);
    zstr_free (&escape);
    zstr_free (&absolute);
    zstr_free (&endpoint);
    zstr_free (&link);
    zmx_test_rmdir (mirror);
    zmx_test_rmdir (outside);
    zstr_free (&mirror);
    zstr_free (&outside);
}

//  -------------------------------------------------------------------------
//  The transfer digest: XXH3-128, with SHA-1 as the fallback

static void
s_xxh128_of (const char *content, char *hex)
{
    zmx__xxh128_t *digest = zmx__xxh128_new ();
    ZMX_CHECK (digest);
    zmx__xxh128_update (digest, content, strlen (content));
    strcpy (hex, zmx__xxh128_hex (digest));
    zmx__xxh128_destroy (&digest);
}

//  Change the first digit: a well-formed but wrong digest.
static void
s_spoil (char *hex)
{
    hex [0] = hex [0] == '0'? '1': '0';
}

//  Standard XXH3-128 values (as xxh128sum prints them), and a file larger
//  than one read buffer against the running digest fed in odd pieces.
static void
s_xxh128_vectors (void)
{
    char *directory = zmx_test_tmpdir ();
    char *path = zsys_sprintf ("%s/vector", directory);
    char hex [ZMX__XXH128_HEX + 1];
    s_check_vectors (path, zmx_files_digest_xxh128, hex, (const char *const []) {
        "99aa06d3014798d86001c324468d497f", "06b05ab6733a618578af5f94892f3950",
        "a545df8e384a9579b1fd6fae5285c4eb" });

    size_t size = 3 * 1024 * 1024 + 7;
    byte *data = s_random_file (path, size, 5);
    zmx__xxh128_t *digest = zmx__xxh128_new ();
    for (size_t done = 0, piece = 1; done < size; done += piece, piece = piece * 3 + 1) {
        if (piece > size - done)
            piece = size - done;
        zmx__xxh128_update (digest, data + done, piece);
    }
    ZMX_CHECK (zmx_files_digest_xxh128 (path, hex) == ZMX_OK);
    ZMX_CHECK_STR (hex, zmx__xxh128_hex (digest));
    zmx__xxh128_destroy (&digest);
    free (data);
    ZMX_CHECK (zmx_files_digest_xxh128 ("/nonexistent/zmx-digest", hex) == ZMX_EINVAL);
    unlink (path);
    zstr_free (&path);
    zmx_test_rmdir (directory);
    zstr_free (&directory);
}

//  The server announces both digests of the file on every chunk: SHA1
//  (its identity) and X-ZMX-XXH128 (the transfer check).
static void
s_xxh128_announced (void)
{
    char *source = zmx_test_tmpdir ();
    char *path = zsys_sprintf ("%s/f.bin", source);
    s_write_random (path, 300000, 9);
    char sha1 [41], xxh128 [ZMX__XXH128_HEX + 1];
    ZMX_CHECK (zmx_files_digest (path, sha1) == ZMX_OK);
    ZMX_CHECK (zmx_files_digest_xxh128 (path, xxh128) == ZMX_OK);
    s_server_t server = s_server_start (source, "/", NULL, "    chunk-size = 100000\n");
    zsock_t *peer = s_raw_dealer (server.endpoint);
    s_raw_ohai (peer, 2);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_OHAI_OK);
    zmx_fmq_msg_t msg;
    s_resync_icanhaz (&msg);
    s_raw_send (peer, &msg);
    zmx_fmq_clear (&msg);
    ZMX_CHECK (s_raw_expect (peer, 2000) == ZMX_FMQ_ICANHAZ_OK);
    zmx_fmq_init (&msg, ZMX_FMQ_NOM);
    msg.credit = 1000000;
    s_raw_send (peer, &msg);
    int chunks = 0;
    bool eof = false;
    while (!eof) {
        zmsg_t *reply = zmx_test_recv (peer, 5000);
        ZMX_CHECK (reply);
        zframe_t *frame = zmsg_first (reply);
        ZMX_CHECK (zmx_fmq_decode (zframe_data (frame), zframe_size (frame), &msg, NULL) == 0);
        if (msg.id == ZMX_FMQ_CHEEZBURGER) {
            ZMX_CHECK (msg.headers);
            ZMX_CHECK_STR ((const char *) zhash_lookup (msg.headers, "SHA1"), sha1);
            ZMX_CHECK_STR ((const char *) zhash_lookup (msg.headers, ZMX_FMQ_HEADER_XXH128),
                           xxh128);
            chunks++;
            eof = msg.eof == 1;
        }
        zmx_fmq_clear (&msg);
        zmsg_destroy (&reply);
    }
    ZMX_CHECK (chunks == 3);
    s_raw_simple (peer, ZMX_FMQ_KTHXBAI);
    zsock_destroy (&peer);
    s_server_stop (&server);
    zstr_free (&path);
    zmx_test_rmdir (source);
    zstr_free (&source);
}

//  Send four files from a fake server to a client verifying as `verify`:
//  a: SHA-1 right, XXH3-128 wrong; b: SHA-1 wrong, XXH3-128 right;
//  c: SHA-1 right, no XXH3-128; d: SHA-1 wrong, no XXH3-128. Returns the
//  client once in sync, the mirror in *mirror_p.
static zmx_files_client_t *
s_four_files (int verify, char **mirror_p)
{
    *mirror_p = zmx_test_tmpdir ();
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_files_client_t *client = zmx_files_client_new (endpoint, "/", *mirror_p);
    ZMX_CHECK (client);
    zmx_files_client_set_verify (client, verify);
    ZMX_CHECK (zmx_files_client_start (client) == ZMX_OK);
    zframe_t *routing_id = s_fake_server_greet (router, "4");
    const char *names [] = { "a", "b", "c", "d" };
    const char *contents [] = { "alpha file", "bravo file", "charlie file", "delta file" };
    const char *queued [] = { "3", "2", "1", "0" };
    for (int index = 0; index < 4; index++) {
        char sha1 [41], xxh128 [ZMX__XXH128_HEX + 1];
        zmx__sha1_string (contents [index], strlen (contents [index]), sha1);
        s_xxh128_of (contents [index], xxh128);
        if (index == 1 || index == 3)
            s_spoil (sha1);
        if (index == 0)
            s_spoil (xxh128);
        s_send_burger_digests (router, routing_id, names [index], contents [index],
                               queued [index], sha1, index < 2? xxh128: NULL);
    }
    ZMX_CHECK (zmx_files_client_wait_synced (client, 5000) == ZMX_OK);
    zframe_destroy (&routing_id);
    zsock_destroy (&router);
    zstr_free (&endpoint);
    return client;
}

//  True if mirror/name exists.
static bool
s_mirror_has (const char *mirror, const char *name)
{
    char *path = zsys_sprintf ("%s/%s", mirror, name);
    bool exists = s_exists (path);
    zstr_free (&path);
    return exists;
}

//  What s_four_files left: two files taken and two rejected, "a" and "b"
//  in the mirror as has_a and has_b say, "c" there and "d" not, and no
//  partial. Destroys the client and the mirror.
static void
s_four_files_check (zmx_files_client_t **client_p, char **mirror_p, bool has_a, bool has_b)
{
    zmx_files_client_t *client = *client_p;
    const char *mirror = *mirror_p;
    ZMX_CHECK (zmx_files_client_counter (client, "files_received") == 2);
    ZMX_CHECK (zmx_files_client_counter (client, "files_rejected") == 2);
    ZMX_CHECK (s_mirror_has (mirror, "a") == has_a);
    ZMX_CHECK (s_mirror_has (mirror, "b") == has_b);
    ZMX_CHECK (s_mirror_has (mirror, "c"));
    ZMX_CHECK (!s_mirror_has (mirror, "d"));
    ZMX_CHECK (s_partial_size (mirror) == 0);
    zmx_files_client_destroy (client_p);
    zmx_test_rmdir (mirror);
    zstr_free (mirror_p);
}

//  By default the client checks the XXH3-128 the server announces, and
//  falls back to SHA-1 when there is none: a wrong announced digest makes
//  it discard the file (no real name, no partial left), whichever digest
//  it is. SHA-1 is then only the file's name, so b's wrong one does not
//  matter: its bytes match what the server announced for the transfer.
static void
s_xxh128_verified (void)
{
    char *mirror;
    zmx_files_client_t *client = s_four_files (ZMX_FILES_VERIFY_AUTO, &mirror);
    s_four_files_check (&client, &mirror, false, true);
}

//  ZMX_FILES_VERIFY_SHA1: the announced XXH3-128 is ignored, SHA-1 decides.
static void
s_verify_sha1_option (void)
{
    char *mirror;
    zmx_files_client_t *client = s_four_files (ZMX_FILES_VERIFY_SHA1, &mirror);
    s_four_files_check (&client, &mirror, true, false);
}

//  A partial holding the file's first MiB is resumed and verifies, with
//  either digest: the running digest first reads the part on disk.
static void
s_resume_verified (void)
{
    const int modes [] = { ZMX_FILES_VERIFY_AUTO, ZMX_FILES_VERIFY_SHA1 };
    for (int mode = 0; mode < 2; mode++) {
        char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
        uint64_t size = 4 * 1024 * 1024 + 11, prefix = 1024 * 1024;
        char *big = s_big_file_new (source, size, 13);
        char hex [41];
        ZMX_CHECK (zmx_files_digest (big, hex) == ZMX_OK);
        char *partial_dir = zsys_sprintf ("%s/%s", mirror, ZMX_FILES_PARTIAL_DIR);
        ZMX_CHECK (mkdir (partial_dir, 0755) == 0);
        char *partial = zsys_sprintf ("%s/%s", partial_dir, hex);
        byte *head = (byte *) malloc (prefix);
        FILE *file = fopen (big, "rb");
        ZMX_CHECK (file && fread (head, 1, prefix, file) == prefix);
        fclose (file);
        s_write_bytes (partial, head, prefix);
        free (head);
        s_server_t server = s_server_start (source, "/", NULL, NULL);
        zmx_files_client_t *client = zmx_files_client_new (server.endpoint, "/", mirror);
        ZMX_CHECK (client);
        zmx_files_client_set_verify (client, modes [mode]);
        ZMX_CHECK (zmx_files_client_start (client) == ZMX_OK);
        ZMX_CHECK (zmx_files_client_wait_synced (client, 20000) == ZMX_OK);
        ZMX_CHECK (zmx_files_client_counter (client, "files_received") == 1);
        ZMX_CHECK (zmx_files_client_counter (client, "files_rejected") == 0);
        ZMX_CHECK (s_counter (&server, "files_resumed") == 1);
        ZMX_CHECK (s_counter (&server, "bytes_sent") == size - prefix);
        char *target = zsys_sprintf ("%s/big.bin", mirror);
        ZMX_CHECK (s_same_file (big, target));
        ZMX_CHECK (!s_exists (partial));
        zmx_files_client_destroy (&client);
        s_server_stop (&server);
        zstr_free (&target);
        zstr_free (&partial);
        zstr_free (&partial_dir);
        zstr_free (&big);
        s_dirs_destroy (&source, &mirror);
    }
}

static void
s_config_errors (void)
{
    const char *bad [] = {
        "files\n    endpoint = \"tcp://127.0.0.1:*\"\n    publish\n        directory = \"/nonexistent/zmx\"\n",
        "files\n    endpoint = \"tcp://127.0.0.1:*\"\n    publish\n        directory = \"/tmp\"\n        path = \"/a/../b\"\n",
        "files\n    endpoint = \"tcp://127.0.0.1:*\"\n    chunk-size = 12\n",
        "files\n    endpoint = \"nonsense\"\n",
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zconfig_t *root = zconfig_str_load (bad [index]);
        zmx_service_t *service = zmx_service_new ("files", zmx_files_actor,
                                                  zconfig_locate (root, "files"), NULL);
        ZMX_CHECK (service == NULL);
        zconfig_destroy (&root);
    }
    ZMX_CHECK (zmx_files_client_new ("tcp://127.0.0.1:1", "relative", "/tmp/x") == NULL);
    ZMX_CHECK (zmx_files_client_new ("bad", "/", "/tmp/x") == NULL);
    //  Pipe commands
    char *source = zmx_test_tmpdir ();
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    zactor_t *actor = zmx_service_actor (server.service);
    zstr_send (actor, "BOGUS");
    zmsg_t *reply = zmsg_recv (actor);
    char *verdict = zmsg_popstr (reply);
    ZMX_CHECK_STR (verdict, ZMX_SERVICE_ERROR);
    zstr_free (&verdict);
    zmsg_destroy (&reply);
    zstr_send (actor, ZMX_FILES_RESCAN);
    char *ok = zstr_recv (actor);
    ZMX_CHECK_STR (ok, "OK");
    zstr_free (&ok);
    ZMX_CHECK (s_counter (&server, "scans") >= 2);
    s_server_stop (&server);
    zmx_test_rmdir (source);
    zstr_free (&source);
}

//  With CURVE on the service socket, a client with keys mirrors and one
//  without gets nothing.
static void
s_curve (void)
{
    char *keys = zmx_test_tmpdir (), *source = zmx_test_tmpdir ();
    char *mirror = zmx_test_tmpdir (), *plain = zmx_test_tmpdir ();
    char *server_cert = zsys_sprintf ("%s/server", keys);
    char *client_cert = zsys_sprintf ("%s/client", keys);
    zmx_security_t *security = zmx_test_curve_policy (server_cert, client_cert);
    char *file = zsys_sprintf ("%s/secret.txt", source);
    s_write_bytes (file, "curve", 5);
    char *text = zsys_sprintf ("files\n    endpoint = \"tcp://127.0.0.1:*\"\n    publish\n"
                               "        directory = \"%s\"\n", source);
    zconfig_t *root = zconfig_str_load (text);
    zmx_service_t *service = zmx_service_new ("files", zmx_files_actor,
                                              zconfig_locate (root, "files"), security);
    ZMX_CHECK (service);
    const char *endpoint = zmx_service_endpoint (service);

    zmx_files_client_t *client = zmx_files_client_new (endpoint, "/", mirror);
    ZMX_CHECK (zmx_files_client_set_curve (client, client_cert, server_cert) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_start (client) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_counter (client, "files_received") == 1);
    zmx_files_client_destroy (&client);

    client = s_client_start (endpoint, "/", plain, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 1000) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zmx_files_client_counter (client, "bytes_received") == 0);
    zmx_files_client_destroy (&client);

    zmx_service_destroy (&service);
    zmx_security_destroy (&security);
    zconfig_destroy (&root);
    zstr_free (&text);
    zstr_free (&file);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
    const char *dirs [] = { keys, source, mirror, plain };
    for (size_t index = 0; index < 4; index++)
        zmx_test_rmdir (dirs [index]);
    zstr_free (&keys);
    zstr_free (&source);
    zstr_free (&mirror);
    zstr_free (&plain);
}

//  "--serve CONFIG": run a files service until SIGTERM.
static int
s_serve (const char *path)
{
    zconfig_t *root = zconfig_load (path);
    zmx_service_t *service = root? zmx_service_new ("files", zmx_files_actor,
                                                    zconfig_locate (root, "files"), NULL): NULL;
    while (service && !zsys_interrupted)
        zclock_sleep (50);
    zmx_service_destroy (&service);
    zconfig_destroy (&root);
    return 0;
}

//  "--mirror ENDPOINT DIRECTORY": mirror "/" slowly (8 MiB/s, 256 KiB of
//  credit) until killed.
static int
s_mirror (const char *endpoint, const char *directory)
{
    zmx_files_client_t *client = s_client_start (endpoint, "/", directory, 8 * 1024 * 1024,
                                                 256 * 1024);
    while (!zsys_interrupted)
        zclock_sleep (50);
    zmx_files_client_destroy (&client);
    return 0;
}

//  A message larger than max-message-size never reaches the service: libzmq
//  cuts that peer. (The limit must be set before the bind to apply.)
static void
s_max_message_size (void)
{
    zconfig_t *config = zconfig_new ("files", NULL);
    zconfig_put (config, "endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "max-message-size", "1000");
    zmx_service_t *service = zmx_service_new ("files", zmx_files_actor, config, NULL);
    zconfig_destroy (&config);
    ZMX_CHECK (service);
    zsock_t *giant = zsock_new_dealer (zmx_service_endpoint (service));
    ZMX_CHECK (giant);
    zactor_t *monitor = zactor_new (zmonitor, giant);
    zstr_sendx (monitor, "LISTEN", "DISCONNECTED", NULL);
    zstr_send (monitor, "START");
    zsock_wait (monitor);
    char big [2000];
    memset (big, 'x', sizeof big);
    zsock_send (giant, "b", big, sizeof big);
    zsock_set_rcvtimeo (monitor, 2000);
    char *event = zstr_recv (monitor);
    ZMX_CHECK_STR (event, "DISCONNECTED");
    zstr_free (&event);
    zmsg_t *rest = zmsg_recv (monitor);
    zmsg_destroy (&rest);
    ZMX_CHECK (zmx_service_counter (service, "malformed") == 0);
    zactor_destroy (&monitor);
    zsock_destroy (&giant);
    zmx_service_destroy (&service);
}

//  -------------------------------------------------------------------------
//  Modes (X-ZMX-MODE)

static mode_t
s_mode_of (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0? info.st_mode & 07777: (mode_t) -1;
}

//  The permission bits travel with each file (a setuid bit does not), and
//  a chmod alone reaches a connected mirror.
static void
s_mode_mirrored (void)
{
    char *source = zmx_test_tmpdir (), *mirror = zmx_test_tmpdir ();
    const char *names [] = { "run.sh", "private", "setuid", "plain" };
    const mode_t modes [] = { 0755, 0640, 04755, 0600 };
    const mode_t expected [] = { 0755, 0640, 0755, 0600 };
    for (int index = 0; index < 4; index++) {
        char *path = zsys_sprintf ("%s/%s", source, names [index]);
        ZMX_CHECK (zmx_test_write_file (path, names [index]) == 0);
        ZMX_CHECK (chmod (path, modes [index]) == 0);
        zstr_free (&path);
    }
    s_server_t server = s_server_start (source, "/", NULL, NULL);
    zmx_files_client_t *client = s_client_start (server.endpoint, "/", mirror, 0, 0);
    ZMX_CHECK (zmx_files_client_wait_synced (client, 20000) == ZMX_OK);
    for (int index = 0; index < 4; index++) {
        char *path = zsys_sprintf ("%s/%s", mirror, names [index]);
        if (s_mode_of (path) != expected [index])
            fprintf (stderr, "    %s: mode %o, wanted %o\n", names [index],
                     (unsigned) s_mode_of (path), (unsigned) expected [index]);
        ZMX_CHECK (s_mode_of (path) == expected [index]);
        zstr_free (&path);
    }
    //  Only the mode changes: the server's next scan (every 100 ms) sees it
    char *path = zsys_sprintf ("%s/plain", source);
    ZMX_CHECK (chmod (path, 0750) == 0);
    zstr_free (&path);
    path = zsys_sprintf ("%s/plain", mirror);
    int64_t deadline = zclock_mono () + 20000;
    while (s_mode_of (path) != 0750 && zclock_mono () < deadline)
        zclock_sleep (20);
    ZMX_CHECK (s_mode_of (path) == 0750);
    zstr_free (&path);
    zmx_files_client_destroy (&client);
    s_server_stop (&server);
    zmx_test_rmdir (source);
    zmx_test_rmdir (mirror);
    zstr_free (&source);
    zstr_free (&mirror);
}

//  Send one whole file, as s_send_burger, with an X-ZMX-MODE header
//  (NULL: none).
static void
s_send_burger_mode (zsock_t *router, zframe_t *routing_id, const char *name,
                    const char *queued, const char *mode)
{
    zdigest_t *digest = zdigest_new ();
    zdigest_update (digest, (const byte *) name, strlen (name));
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_CHEEZBURGER);
    msg.operation = ZMX_FMQ_CREATE;
    snprintf (msg.filename, sizeof msg.filename, "%s", name);
    msg.eof = 1;
    msg.chunk = (const byte *) name;
    msg.chunk_size = strlen (name);
    msg.headers = zhash_new ();
    zhash_autofree (msg.headers);
    zhash_insert (msg.headers, "SHA1", (void *) zdigest_string (digest));
    zhash_insert (msg.headers, "QUEUED", (void *) queued);
    if (mode)
        zhash_insert (msg.headers, ZMX_FMQ_HEADER_MODE, (void *) mode);
    zframe_t *frame = zmx_fmq_encode (&msg);
    zmx_fmq_clear (&msg);
    zdigest_destroy (&digest);
    zframe_t *id = zframe_dup (routing_id);
    zframe_send (&id, router, ZFRAME_MORE);
    zframe_send (&frame, router, 0);
}

//  The client takes only permission bits from X-ZMX-MODE, keeps the
//  owner's read bit, and treats a malformed value as absent: the file
//  then has the mode it was created with (0644 less the umask).
static void
s_mode_validated (void)
{
    struct {
        const char *name, *value;
        mode_t expected;        //  0: the default mode
    } cases [] = {
        { "a", "0700", 0700 }, { "b", "4755", 0755 }, { "c", "7777", 0777 },
        { "d", "0000", 0400 }, { "e", "640", 0640 }, { "f", "abc", 0 },
        { "g", "01777777", 0 }, { "h", "", 0 }, { "i", "-755", 0 }, { "j", "0x1ff", 0 },
        { "k", NULL, 0 }
    };
    int count = (int) (sizeof cases / sizeof cases [0]);
    mode_t mask = umask (0);
    umask (mask);
    char *mirror = zmx_test_tmpdir ();
    char *endpoint;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    zmx_files_client_t *client = s_client_start (endpoint, "/", mirror, 0, 0);
    char total [8];
    snprintf (total, sizeof total, "%d", count);
    zframe_t *routing_id = s_fake_server_greet (router, total);
    for (int index = 0; index < count; index++) {
        char queued [8];
        snprintf (queued, sizeof queued, "%d", count - 1 - index);
        s_send_burger_mode (router, routing_id, cases [index].name, queued, cases [index].value);
    }
    ZMX_CHECK (zmx_files_client_wait_synced (client, 10000) == ZMX_OK);
    ZMX_CHECK (zmx_files_client_counter (client, "files_received") == (uint64_t) count);
    for (int index = 0; index < count; index++) {
        char *path = zsys_sprintf ("%s/%s", mirror, cases [index].name);
        mode_t expected = cases [index].expected? cases [index].expected: 0644 & ~mask;
        if (s_mode_of (path) != expected)
            fprintf (stderr, "    X-ZMX-MODE '%s': mode %o, wanted %o\n",
                     cases [index].value? cases [index].value: "(none)",
                     (unsigned) s_mode_of (path), (unsigned) expected);
        ZMX_CHECK (s_mode_of (path) == expected);
        zstr_free (&path);
    }
    zmx_files_client_destroy (&client);
    zframe_destroy (&routing_id);
    zsock_destroy (&router);
    zstr_free (&endpoint);
    zmx_test_rmdir (mirror);
    zstr_free (&mirror);
}

int
main (int argc, char *argv [])
{
    if (argc == 3 && streq (argv [1], "--serve"))
        return s_serve (argv [2]);
    if (argc == 4 && streq (argv [1], "--mirror"))
        return s_mirror (argv [2], argv [3]);
    zmx_test_t cases [] = {
        { "mirror_tree", s_mirror_tree, 60 },
        { "max_message_size", s_max_message_size, 20 },
        { "cache_second_sync", s_cache_second_sync, 60 },
        { "resume_after_kill", s_resume_after_kill, 40 },
        { "corrupt_partial_rejected", s_corrupt_partial_rejected, 40 },
        { "survives_server_restart", s_survives_server_restart, 40 },
        { "slow_clients_memory", s_slow_clients_memory, 30 },
        { "bad_input", s_bad_input, 20 },
        { "icanhaz_totals", s_icanhaz_totals, 20 },
        { "traversal_server", s_traversal_server, 20 },
        { "traversal_client", s_traversal_client, 20 },
        { "config_errors", s_config_errors, 20 },
        { "curve", s_curve, 20 },
        { "digest_vectors", s_digest_vectors, 20 },
        { "odd_chunks", s_odd_chunks, 30 },
        { "xxh128_vectors", s_xxh128_vectors, 20 },
        { "xxh128_announced", s_xxh128_announced, 20 },
        { "xxh128_verified", s_xxh128_verified, 20 },
        { "verify_sha1_option", s_verify_sha1_option, 20 },
        { "resume_verified", s_resume_verified, 40 },
        { "mode_mirrored", s_mode_mirrored, 40 },
        { "mode_validated", s_mode_validated, 20 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
