/*  =========================================================================
    test_config - configuration distribution: ZPL <-> keys (zmx_config_tree),
    and `zmx config` against a real zmxd with the clone service on free
    ports: set/get/ls/rm, ttl, load/dump round trip, watch, and the
    config_follow example following changes live.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <unistd.h>

#define S_START_MSEC    10000   //  zmxd up, generous for a loaded machine
#define S_RUN_MSEC      15000   //  One zmx run

//  A tree with sections, a node with both a value and children, values
//  that need either quote, and an empty leaf (which cannot be stored).
static const char *s_tree_text =
    "app\n"
    "    name = \"demo\"\n"
    "    log-level = debug\n"
    "    db = \"primary\"\n"
    "        host = \"10.0.0.1\"\n"
    "        port = 5432\n"
    "    greeting = 'say \"hi\"'\n"
    "    quote = \"it's\"\n"
    "    empty = \"\"\n"
    "top = \"1 2 3\"\n";

typedef struct {
    char *dir;
    char *endpoint;             //  Snapshot endpoint; publisher +1, collector +2
    pid_t zmxd;
} s_store_t;

//  zmxd with the clone service on three consecutive free ports.
static void
s_store_start (s_store_t *store)
{
    memset (store, 0, sizeof *store);
    store->dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/zmxd.log", store->dir);
    int port = 0;
    store->zmxd = zmx_test_clone_zmxd_start (store->dir, log, NULL, NULL, NULL, S_START_MSEC,
                                             &port);
    store->endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    free (log);
}

static void
s_store_stop (s_store_t *store)
{
    zmx_test_stop (store->zmxd, 3000);
    zmx_test_rmdir (store->dir);
    free (store->dir);
    free (store->endpoint);
}

//  Run `zmx config -e ENDPOINT ARGS... NULL`; stdout in *output_p (may be
//  NULL). Returns the exit code.
static int
s_config (s_store_t *store, char **output_p, ...)
{
    const char *prefix [] = { "config", "-e", store->endpoint, NULL };
    va_list args;
    va_start (args, output_p);
    int rc = zmx_test_run_zmx (prefix, S_RUN_MSEC, output_p, args);
    va_end (args);
    return rc;
}

//  -------------------------------------------------------------------------
//  Cases

static void
s_tree_to_keys (void)
{
    zconfig_t *root = zconfig_str_load (s_tree_text);
    ZMX_CHECK (root);
    size_t skipped = 0;
    const char *error = NULL;
    zhash_t *keys = zmx_config_tree_to_keys (root, "/config/", &skipped, &error);
    ZMX_CHECK (keys);
    ZMX_CHECK (skipped == 1);
    ZMX_CHECK (zhash_size (keys) == 8);
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/app/name"), "demo");
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/app/log-level"), "debug");
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/app/db"), "primary");
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/app/db/port"), "5432");
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/app/greeting"), "say \"hi\"");
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/app/quote"), "it's");
    ZMX_CHECK_STR ((char *) zhash_lookup (keys, "/config/top"), "1 2 3");
    ZMX_CHECK (!zhash_lookup (keys, "/config/app"));
    ZMX_CHECK (!zhash_lookup (keys, "/config/app/empty"));

    //  Back to a tree and to text, which loads as the same keys
    char *bad_key = NULL;
    zconfig_t *again = zmx_config_tree_from_keys (keys, "/config/", &error, &bad_key);
    ZMX_CHECK (again);
    char *text = zmx_config_tree_save (again);
    ZMX_CHECK (text);
    zconfig_t *loaded = zconfig_str_load (text);
    ZMX_CHECK (loaded);
    zhash_t *keys_again = zmx_config_tree_to_keys (loaded, "/config/", &skipped, NULL);
    ZMX_CHECK (keys_again && skipped == 0 && zhash_size (keys_again) == zhash_size (keys));
    for (const char *value = (const char *) zhash_first (keys); value;
         value = (const char *) zhash_next (keys))
        ZMX_CHECK_STR ((char *) zhash_lookup (keys_again, zhash_cursor (keys)), value);
    //  A sub-prefix gives the subtree only
    zconfig_t *app = zmx_config_tree_from_keys (keys, "/config/app/", NULL, NULL);
    ZMX_CHECK (app && zconfig_locate (app, "db/host") && !zconfig_locate (app, "top"));
    zconfig_destroy (&app);
    zhash_destroy (&keys_again);
    zconfig_destroy (&loaded);
    free (text);
    zconfig_destroy (&again);
    zhash_destroy (&keys);
    zconfig_destroy (&root);
}

static void
s_tree_refusals (void)
{
    zconfig_t *root = zconfig_str_load (s_tree_text);
    const char *error = NULL;
    ZMX_CHECK (!zmx_config_tree_to_keys (root, "config", NULL, &error) && error);
    ZMX_CHECK (!zmx_config_tree_to_keys (root, "", NULL, NULL));
    ZMX_CHECK (!zmx_config_tree_to_keys (root, "/a//", NULL, NULL));
    //  A key over the CHP limit
    char *deep = (char *) zmalloc (ZMX_CHP_KEY_MAX + 10);
    memset (deep, 'x', ZMX_CHP_KEY_MAX + 5);
    zconfig_put (root, deep, "v");
    error = NULL;
    ZMX_CHECK (!zmx_config_tree_to_keys (root, "/config/", NULL, &error) && error);
    free (deep);
    zconfig_destroy (&root);

    //  Keys that are not ZPL: empty segment, bad character, bad value
    const char *bad [][2] = {
        { "/config/a//b", "v" }, { "/config/a b", "v" }, { "/config/a/", "v" },
        { "/config/a", "line\nbreak" }, { "/config/a", "both ' and \"" }
    };
    for (size_t index = 0; index < sizeof bad / sizeof bad [0]; index++) {
        zhash_t *keys = zhash_new ();
        zhash_insert (keys, "/config/good", "1");
        zhash_insert (keys, bad [index][0], (void *) bad [index][1]);
        char *bad_key = NULL;
        error = NULL;
        ZMX_CHECK (!zmx_config_tree_from_keys (keys, "/config/", &error, &bad_key));
        ZMX_CHECK (error && bad_key);
        ZMX_CHECK_STR (bad_key, bad [index][0]);
        free (bad_key);
        zhash_destroy (&keys);
    }
    ZMX_CHECK (zmx_config_tree_name_valid ("a.b-c_d@e&f+g$h"));
    ZMX_CHECK (!zmx_config_tree_name_valid ("a/b"));
    ZMX_CHECK (!zmx_config_tree_name_valid (""));
    ZMX_CHECK (zmx_config_tree_value_valid (""));
    ZMX_CHECK (!zmx_config_tree_value_valid ("tab\there"));
}

static void
s_cli_set_get_ls_rm (void)
{
    s_store_t store;
    s_store_start (&store);
    char *output = NULL;
    ZMX_CHECK (s_config (&store, NULL, "set", "db/host", "10.0.0.1", NULL) == 0);
    ZMX_CHECK (s_config (&store, NULL, "set", "/config/db/port", "5432", NULL) == 0);
    ZMX_CHECK (s_config (&store, &output, "get", "db/host", NULL) == 0);
    ZMX_CHECK_STR (output, "10.0.0.1\n");
    zstr_free (&output);
    ZMX_CHECK (s_config (&store, &output, "ls", NULL) == 0);
    ZMX_CHECK_STR (output, "/config/db/host = 10.0.0.1\n/config/db/port = 5432\n");
    zstr_free (&output);
    ZMX_CHECK (s_config (&store, &output, "ls", "db/p", NULL) == 0);
    ZMX_CHECK_STR (output, "");
    zstr_free (&output);
    ZMX_CHECK (s_config (&store, NULL, "rm", "db/host", NULL) == 0);
    ZMX_CHECK (s_config (&store, NULL, "get", "db/host", NULL) == 1);
    ZMX_CHECK (s_config (&store, NULL, "rm", "db/host", NULL) == 1);
    //  Usage: outside /config/, empty value, unknown command, arity
    ZMX_CHECK (s_config (&store, NULL, "set", "/names/x", "1", NULL) == 2);
    ZMX_CHECK (s_config (&store, NULL, "set", "k", "", NULL) == 2);
    ZMX_CHECK (s_config (&store, NULL, "frob", NULL) == 2);
    ZMX_CHECK (s_config (&store, NULL, "get", NULL) == 2);
    ZMX_CHECK (s_config (&store, NULL, "set", "k", "v", "--ttl", "0", NULL) == 2);

    //  --ttl: the server deletes the key after it
    ZMX_CHECK (s_config (&store, NULL, "set", "session", "abc", "--ttl", "1", NULL) == 0);
    int64_t deadline = zclock_mono () + 1000 + 4000;
    int rc = 0;
    while ((rc = s_config (&store, NULL, "get", "session", NULL)) == 0
    &&     zclock_mono () < deadline)
        zclock_sleep (100);
    ZMX_CHECK (rc == 1);
    s_store_stop (&store);

    //  No server: exit 3 within the timeout
    char *argv [] = { zmx_test_bin ("zmx"), "config", "-e", "tcp://127.0.0.1:1", "-t", "300",
                      "get", "x", NULL };
    ZMX_CHECK (zmx_test_run (argv, NULL, S_RUN_MSEC, NULL) == 3);
    free (argv [0]);
}

//  load a ZPL file, dump it back: the same tree (empty leaf excepted).
static void
s_cli_load_dump_round_trip (void)
{
    s_store_t store;
    s_store_start (&store);
    char *file = zsys_sprintf ("%s/app.zpl", store.dir);
    ZMX_CHECK (zmx_test_write_file (file, s_tree_text) == 0);
    char *output = NULL;
    ZMX_CHECK (s_config (&store, &output, "load", file, NULL) == 0);
    ZMX_CHECK (output && strstr (output, "loaded 8 keys below /config/"));
    ZMX_CHECK (strstr (output, "1 empty value skipped"));
    zstr_free (&output);
    ZMX_CHECK (s_config (&store, &output, "dump", NULL) == 0);
    ZMX_CHECK_STR (output,
        "app\n"
        "    db = \"primary\"\n"
        "        host = \"10.0.0.1\"\n"
        "        port = \"5432\"\n"
        "    greeting = 'say \"hi\"'\n"
        "    log-level = \"debug\"\n"
        "    name = \"demo\"\n"
        "    quote = \"it's\"\n"
        "top = \"1 2 3\"\n");
    //  Loading the dump under another prefix gives the same dump there
    char *copy = zsys_sprintf ("%s/copy.zpl", store.dir);
    ZMX_CHECK (zmx_test_write_file (copy, output) == 0);
    char *first = output;
    output = NULL;
    ZMX_CHECK (s_config (&store, NULL, "load", copy, "/config/copy/", NULL) == 0);
    ZMX_CHECK (s_config (&store, &output, "dump", "copy", NULL) == 0);
    ZMX_CHECK_STR (output, first);
    zstr_free (&output);
    ZMX_CHECK (s_config (&store, &output, "dump", "app/db", NULL) == 0);
    ZMX_CHECK_STR (output, "host = \"10.0.0.1\"\nport = \"5432\"\n");
    zstr_free (&output);
    free (first);
    //  Not ZPL, missing file
    ZMX_CHECK (zmx_test_write_file (copy, "a\n  b = 1\n") == 0);
    ZMX_CHECK (s_config (&store, NULL, "load", copy, NULL) == 1);
    ZMX_CHECK (s_config (&store, NULL, "load", "/nonexistent.zpl", NULL) == 1);
    //  A key that ZPL cannot name makes dump fail with the key
    ZMX_CHECK (s_config (&store, NULL, "set", "bad name", "x", NULL) == 0);
    ZMX_CHECK (s_config (&store, NULL, "dump", NULL) == 1);
    free (copy);
    free (file);
    s_store_stop (&store);
}

//  Run `zmx config -e ENDPOINT ARGS... NULL` with stderr into *output_p
//  too (sh merges them); returns the exit code, *msec_p the time taken.
static int
s_config_err (s_store_t *store, char **output_p, int64_t *msec_p, ...)
{
    char *argv [32] = { "/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1", zmx_test_bin ("zmx"),
                        "config", "-e", store->endpoint };
    int count = 7;
    va_list args;
    va_start (args, msec_p);
    char *arg;
    while (count < 31 && (arg = va_arg (args, char *)))
        argv [count++] = arg;
    va_end (args);
    argv [count] = NULL;
    int64_t started = zclock_mono ();
    int rc = zmx_test_run (argv, NULL, S_RUN_MSEC, output_p);
    if (msec_p)
        *msec_p = zclock_mono () - started;
    free (argv [3]);
    return rc;
}

//  Each failure says what it is and exits with its documented code.
static void
s_cli_errors (void)
{
    s_store_t store;
    s_store_start (&store);
    char *output = NULL;
    int64_t msec = 0;
    //  A 70 KB value: refused at once, naming the limit, the size, the fix
    char *big = (char *) malloc (70 * 1024 + 1);
    memset (big, 'x', 70 * 1024);
    big [70 * 1024] = 0;
    ZMX_CHECK (s_config_err (&store, &output, &msec, "-t", "10000", "set", "big", big,
                             NULL) == 2);
    printf ("70 KB value refused in %" PRId64 " ms: %s", msec, output);
    ZMX_CHECK (msec < 5000);    //  Not the -t of 10 s
    ZMX_CHECK (output && strstr (output, "71680 bytes") && strstr (output, "limit of 65536")
               && strstr (output, "max-value-size") && strstr (output, "ZMX_CLONE_MAX_VALUE"));
    zstr_free (&output);
    //  The same in a file to load: nothing is sent
    char *file = zsys_sprintf ("%s/big.zpl", store.dir);
    char *text = zsys_sprintf ("small = \"1\"\nbig = \"%s\"\n", big);
    ZMX_CHECK (zmx_test_write_file (file, text) == 0);
    ZMX_CHECK (s_config_err (&store, &output, NULL, "load", file, NULL) == 2);
    ZMX_CHECK (output && strstr (output, "/config/big is 71680 bytes"));
    zstr_free (&output);
    ZMX_CHECK (s_config_err (&store, &output, NULL, "get", "small", NULL) == 1);
    zstr_free (&output);
    //  A missing file: says so, with errno's words
    ZMX_CHECK (s_config_err (&store, &output, NULL, "load", "/nonexistent/a.zpl", NULL) == 1);
    ZMX_CHECK (output && strstr (output, "cannot open '/nonexistent/a.zpl': No such file"));
    zstr_free (&output);
    //  A binary file: refused, not "loaded 0 keys"
    FILE *binary = fopen (file, "wb");
    ZMX_CHECK (binary && fwrite ("\x7f" "ELF\x02\x01\x01\x00\x00", 1, 9, binary) == 9);
    fclose (binary);
    ZMX_CHECK (s_config_err (&store, &output, NULL, "load", file, NULL) == 1);
    ZMX_CHECK (output && strstr (output, "is not ZPL text") && !strstr (output, "loaded"));
    zstr_free (&output);
    //  The client's limit raised past the server's: the server refuses the
    //  value without a word, so it is not seen published: exit 3, said so
    setenv ("ZMX_CLONE_MAX_VALUE", "1000000", 1);
    ZMX_CHECK (s_config_err (&store, &output, NULL, "-t", "1000", "set", "big", big,
                             NULL) == 3);
    unsetenv ("ZMX_CLONE_MAX_VALUE");
    ZMX_CHECK (output && strstr (output, "did not publish the update within 1000 ms")
               && strstr (output, "refused it"));
    zstr_free (&output);
    s_store_stop (&store);
    free (file);
    free (text);
    free (big);
}

//  Spawn a program with its output to log, and wait for `ready` in it.
static pid_t
s_spawn_until (char *const argv [], const char *log, const char *ready)
{
    pid_t pid = zmx_test_spawn (argv, log);
    ZMX_CHECK (zmx_test_wait_for_text (log, ready, S_START_MSEC));
    return pid;
}

static void
s_cli_watch (void)
{
    s_store_t store;
    s_store_start (&store);
    ZMX_CHECK (s_config (&store, NULL, "set", "app/before", "1", NULL) == 0);
    char *log = zsys_sprintf ("%s/watch.log", store.dir);
    char *argv [] = { zmx_test_bin ("zmx"), "config", "-e", store.endpoint, "watch", "app",
                      NULL };
    pid_t watcher = s_spawn_until (argv, log, "watching /config/app/\n");
    ZMX_CHECK (s_config (&store, NULL, "set", "app/color", "blue", NULL) == 0);
    ZMX_CHECK (s_config (&store, NULL, "set", "other", "x", NULL) == 0);
    ZMX_CHECK (s_config (&store, NULL, "rm", "app/color", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (log, "/config/app/color deleted\n", 5000));
    char *text = zmx_test_read_file (log);
    ZMX_CHECK_STR (text, "watching /config/app/\n/config/app/color = blue\n"
                         "/config/app/color deleted\n");
    free (text);
    kill (watcher, SIGTERM);
    ZMX_CHECK (zmx_test_exit_code (watcher, 5000, 1000) == 0);
    free (argv [0]);
    free (log);
    s_store_stop (&store);
}

//  examples/config_follow applies its setting as it changes.
static void
s_example_follows (void)
{
    s_store_t store;
    s_store_start (&store);
    ZMX_CHECK (s_config (&store, NULL, "set", "app/log-level", "info", NULL) == 0);
    char *log = zsys_sprintf ("%s/follow.log", store.dir);
    char *argv [] = { zmx_test_bin ("example_config_follow"), store.endpoint, NULL };
    pid_t follower = s_spawn_until (argv, log, "applying log-level = info\n");
    char *text = zmx_test_read_file (log);
    ZMX_CHECK (strstr (text, "configuration:\nlog-level = \"info\"\n"));
    free (text);
    ZMX_CHECK (s_config (&store, NULL, "set", "app/log-level", "debug", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (log, "applying log-level = debug\n", 5000));
    ZMX_CHECK (s_config (&store, NULL, "rm", "app/log-level", NULL) == 0);
    ZMX_CHECK (zmx_test_wait_for_text (log, "applying log-level = (default)\n", 5000));
    kill (follower, SIGTERM);
    ZMX_CHECK (zmx_test_exit_code (follower, 5000, 1000) == 0);
    free (argv [0]);
    free (log);
    s_store_stop (&store);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "tree_to_keys", s_tree_to_keys, 10 },
        { "tree_refusals", s_tree_refusals, 10 },
        { "cli_set_get_ls_rm", s_cli_set_get_ls_rm, 90 },
        { "cli_load_dump_round_trip", s_cli_load_dump_round_trip, 90 },
        { "cli_watch", s_cli_watch, 60 },
        { "cli_errors", s_cli_errors, 60 },
        { "example_follows", s_example_follows, 60 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
