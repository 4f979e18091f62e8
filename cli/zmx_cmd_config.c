/*  =========================================================================
    zmx config - configuration in the clone store, under "/config/"

        zmx config set KEY VALUE [--ttl S]   zmx config get KEY
        zmx config rm KEY                    zmx config ls [PREFIX]
        zmx config watch [PREFIX]            zmx config load FILE [PREFIX]
        zmx config dump [PREFIX]

    A KEY or PREFIX without a leading "/" is taken below "/config/"
    ("db/host" is "/config/db/host"); one with it must lie in "/config/".
    load and dump map a ZPL tree onto keys with zmx_config_tree. Also home
    of the store options shared with `zmx names` (-e, -t, --ttl).
    =========================================================================
*/
#include "zmx_cli.h"
#include "zmx_layout.h"

#define S_CONTINUE      -1              //  s_parse: arguments fine, go on
#define S_SUBTREE       "/config/"
#define S_WATCH_MSEC    500             //  Longest wait without a signal check
#define S_FILE_MAX      (64 * 1024 * 1024)  //  Bytes of a ZPL file to load

void
zmx_cli_config_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx config [-e ENDPOINT] [-t MS] COMMAND ARGS\n"
        "\n"
        "  set KEY VALUE [--ttl S]  set a key (ephemeral for S seconds with --ttl)\n"
        "  get KEY                  print a key's value\n"
        "  rm KEY                   delete a key\n"
        "  ls [PREFIX] [--json]     print every key below PREFIX with its value\n"
        "  watch [PREFIX]           print changes below PREFIX as they happen\n"
        "  load FILE [PREFIX]       set one key per value of the ZPL file\n"
        "  dump [PREFIX]            print the keys below PREFIX as ZPL\n"
        "\n"
        "KEY and PREFIX are taken below %s unless they start with '/'.\n"
        "\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -e, --endpoint ENDPOINT  clone server's snapshot endpoint (default $%s\n"
        "                           or %s; \"name:NAME\" resolves)\n"
        "  -t, --timeout MS         wait for the snapshot and for each write\n"
        "                           (default %d)\n"
        "  --ttl S                  seconds before the server deletes the key\n"
        "  --json                   ls: print one JSON array of {\"key\", \"value\"}\n",
        S_SUBTREE, ZMX_CLI_ENV_CLONE, ZMX_RESOLVER_DEFAULT_SERVER, ZMX_CLI_TIMEOUT);
}

//  -------------------------------------------------------------------------
//  Store options, shared with zmx names

void
zmx_cli_store_init (zmx_cli_store_t *store)
{
    const char *endpoint = getenv (ZMX_CLI_ENV_CLONE);
    store->endpoint = endpoint && *endpoint? endpoint: ZMX_RESOLVER_DEFAULT_SERVER;
    store->timeout = ZMX_CLI_TIMEOUT;
    store->ttl = 0;
    //  The server's max-value-size, when it was changed from the default
    const char *max = getenv (ZMX_CLI_ENV_MAX_VALUE);
    long long value = max && *max? atoll (max): 0;
    store->max_value = value > 0 && value <= UINT32_MAX? (size_t) value: ZMX_CLONE_VALUE_MAX;
    store->endpoint_given = false;
    store->json = false;
}

int
zmx_cli_store_option (zmx_cli_store_t *store, int option, const char *value)
{
    switch (option) {
        case 'e':
            store->endpoint = value;
            store->endpoint_given = true;
            return 1;
        case ZMX_CLI_OPT_ZMXD:
            return zmx_cli_zmxd_option (value, ZMX_LAYOUT_CLONE, &store->endpoint,
                                        store->endpoint_given);
        case ZMX_CLI_OPT_JSON:
            store->json = true;
            return 1;
        case 't':
            return zmx_cli_parse_int (value, "-t", 1, 3600000, &store->timeout)? -1: 1;
        case ZMX_CLI_OPT_TTL:
            return zmx_cli_parse_int (value, "--ttl", 1, ZMX_CHP_TTL_MAX, &store->ttl)? -1: 1;
        default:
            return 0;
    }
}

//  Add every server of a comma-separated list. Returns 0 or -1.
static int
s_add_servers (zmx_clone_t *clone, const char *list)
{
    char *copy = strdup (list);
    char *cursor = copy, *server;
    int rc = 0, added = 0;
    while (rc == 0 && (server = strsep (&cursor, ","))) {
        if (!*server)
            continue;
        rc = zmx_clone_add_server (clone, server) == ZMX_OK? 0: -1;
        added++;
    }
    free (copy);
    return rc == 0 && added? 0: -1;
}

zmx_clone_t *
zmx_cli_store_open (const zmx_cli_store_t *store, const char *subtree, bool watch,
                    int *exit_p)
{
    char *servers = NULL;
    int rc = zmx_resolver_resolve_endpoint (store->endpoint, store->timeout, &servers);
    if (rc != ZMX_OK) {
        fprintf (stderr, "zmx: cannot resolve '%s': %s (see zmx names get)\n",
                 store->endpoint, rc == ZMX_EADDR? "no such name": zmx_strerror (rc));
        *exit_p = rc == ZMX_ETIMEDOUT? ZMX_EXIT_TIMEOUT: ZMX_EXIT_ERROR;
        return NULL;
    }
    if (zmx_cli_check_hosts (servers, exit_p)) {
        free (servers);
        return NULL;
    }
    zmx_clone_t *clone = zmx_clone_new (subtree);
    if (!clone || s_add_servers (clone, servers)) {
        fprintf (stderr, "zmx: bad clone server endpoint '%s': use tcp://HOST:PORT, the "
                 "snapshot port (the next two are the publisher and collector)\n", servers);
        zmx_clone_destroy (&clone);
        free (servers);
        *exit_p = ZMX_EXIT_USAGE;
        return NULL;
    }
    if (watch)
        zmx_clone_watch (clone, true);
    zmx_clone_set_max_value_size (clone, store->max_value);
    if (zmx_clone_wait_synced (clone, store->timeout) != ZMX_OK) {
        fprintf (stderr, "zmx: no snapshot from %s within %d ms: is zmxd running there "
                 "with the clone service? If it requires CURVE, the server may be refusing "
                 "this client's key (its log says \"refused a client\")\n", servers,
                 store->timeout);
        zmx_clone_destroy (&clone);
        *exit_p = ZMX_EXIT_TIMEOUT;
    }
    else
        *exit_p = ZMX_EXIT_OK;
    free (servers);
    return clone;
}

bool
zmx_cli_store_value_fits (const zmx_cli_store_t *store, const char *key, size_t size)
{
    if (size <= store->max_value)
        return true;
    fprintf (stderr, "zmx: the value for %s is %zu bytes, over the clone store's limit of "
             "%zu (the server's max-value-size): store the data elsewhere (zmx files) and "
             "put a reference in the key; if the server's clone/max-value-size was raised, "
             "set $%s to it\n", key, size, store->max_value, ZMX_CLI_ENV_MAX_VALUE);
    return false;
}

int
zmx_cli_store_failed (const zmx_cli_store_t *store, int rc)
{
    switch (rc) {
        case ZMX_EINVAL:
            fprintf (stderr, "zmx: the key, value or ttl is not valid for the clone store\n");
            return ZMX_EXIT_USAGE;
        case ZMX_ENOMEM:
            fprintf (stderr, "zmx: the server %s refused the update: one of its limits was "
                     "hit (max-keys, max-bytes or max-value-size of its clone section; its "
                     "log says which)\n", store->endpoint);
            return ZMX_EXIT_ERROR;
        case ZMX_EADDR:
            fprintf (stderr, "zmx: the update was not sent within %d ms: no connection to "
                     "the collector of %s (the snapshot port + 2); it was not applied\n",
                     store->timeout, store->endpoint);
            return ZMX_EXIT_TIMEOUT;
        default:
            fprintf (stderr, "zmx: the server %s did not publish the update within %d ms: it "
                     "refused it (a limit such as max-keys or max-bytes: see its log and its "
                     "rejected counter) or the link was lost; it may or may not have been "
                     "applied\n", store->endpoint, store->timeout);
            return ZMX_EXIT_TIMEOUT;
    }
}

//  -------------------------------------------------------------------------
//  Keys

//  The full key (or, with `prefix`, the subtree) for a user argument;
//  NULL with the problem printed. Caller frees.
static char *
s_key (const char *text, bool prefix)
{
    char *key = text [0] == '/'? strdup (text): zsys_sprintf ("%s%s", S_SUBTREE, text);
    if (prefix && key [strlen (key) - 1] != '/') {
        char *longer = zsys_sprintf ("%s/", key);
        free (key);
        key = longer;
    }
    bool valid = strncmp (key, S_SUBTREE, strlen (S_SUBTREE)) == 0
              && (prefix? zmx_chp_subtree_valid (key, strlen (key))
                        : zmx_chp_key_valid (key, strlen (key)) && !streq (key, S_SUBTREE));
    if (!valid) {
        fprintf (stderr, "zmx: '%s' is not a %s below %s: use e.g. db/host or %sdb/host\n",
                 text, prefix? "prefix": "key", S_SUBTREE, S_SUBTREE);
        zstr_free (&key);
    }
    return key;
}

static int
s_set (zmx_clone_t *clone, const zmx_cli_store_t *store, const char *key, const char *value)
{
    if (!*value) {
        fprintf (stderr, "zmx: an empty value would delete the key: use zmx config rm\n");
        return ZMX_EXIT_USAGE;
    }
    if (!zmx_cli_store_value_fits (store, key, strlen (value)))
        return ZMX_EXIT_USAGE;
    int rc = zmx_clone_set (clone, key, value, strlen (value), store->ttl, store->timeout);
    return rc == ZMX_OK? ZMX_EXIT_OK: zmx_cli_store_failed (store, rc);
}

static int
s_get (zmx_clone_t *clone, const char *key)
{
    char *value = zmx_clone_get (clone, key, NULL, NULL);
    if (!value) {
        fprintf (stderr, "zmx: no key %s\n", key);
        return ZMX_EXIT_ERROR;
    }
    printf ("%s\n", value);
    free (value);
    return ZMX_EXIT_OK;
}

static int
s_remove (zmx_clone_t *clone, const zmx_cli_store_t *store, const char *key)
{
    char *value = zmx_clone_get (clone, key, NULL, NULL);
    if (!value) {
        fprintf (stderr, "zmx: no key %s\n", key);
        return ZMX_EXIT_ERROR;
    }
    free (value);
    int rc = zmx_clone_delete (clone, key, store->timeout);
    return rc == ZMX_OK? ZMX_EXIT_OK: zmx_cli_store_failed (store, rc);
}

//  `ls`: "KEY = VALUE" lines, or with --json one array of
//  {"key": KEY, "value": VALUE} objects.
static int
s_list (zmx_clone_t *clone, const char *prefix, bool json)
{
    zmx_cli_json_t *writer = json? zmx_cli_json_new (stdout): NULL;
    if (writer)
        zmx_cli_json_open (writer, '[');
    zlist_t *keys = zmx_clone_keys (clone, prefix);
    for (const char *key = (const char *) zlist_first (keys); key;
         key = (const char *) zlist_next (keys)) {
        size_t size;
        char *value = zmx_clone_get (clone, key, &size, NULL);
        if (value && writer) {
            zmx_cli_json_open (writer, '{');
            zmx_cli_json_pair (writer, "key", key);
            zmx_cli_json_key (writer, "value");
            zmx_cli_json_bytes (writer, value, size);
            zmx_cli_json_close (writer, '}');
        }
        else
        if (value)
            printf ("%s = %s\n", key, value);
        free (value);
    }
    zlist_destroy (&keys);
    if (writer)
        zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
    return ZMX_EXIT_OK;
}

//  Print one notification if it concerns `prefix`. Returns true once the
//  first snapshot has been seen (changes before it are the initial state).
static bool
s_watch_print (zmsg_t *msg, const char *prefix, bool live)
{
    char *kind = zmsg_popstr (msg);
    if (kind && streq (kind, ZMX_CLONE_NOTIFY_SYNCED))
        live = true;
    else
    if (live && kind && streq (kind, ZMX_CLONE_NOTIFY_UPDATE)) {
        char *key = zmsg_popstr (msg);
        char *value = zmsg_popstr (msg);
        if (key && value && strncmp (key, prefix, strlen (prefix)) == 0) {
            if (*value)
                printf ("%s = %s\n", key, value);
            else
                printf ("%s deleted\n", key);
        }
        zstr_free (&key);
        zstr_free (&value);
    }
    zstr_free (&kind);
    return live;
}

//  Print changes until SIGINT or SIGTERM.
static int
s_watch (zmx_clone_t *clone, const char *prefix)
{
    zsock_t *socket = zmx_clone_socket (clone);
    zpoller_t *poller = zpoller_new (socket, NULL);
    bool live = false;
    printf ("watching %s\n", prefix);
    while (!zsys_interrupted) {
        if (!zpoller_wait (poller, S_WATCH_MSEC))
            continue;
        zmsg_t *msg = zmsg_recv (socket);
        if (!msg)
            break;
        live = s_watch_print (msg, prefix, live);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    return ZMX_EXIT_OK;
}

//  -------------------------------------------------------------------------
//  ZPL

//  Read `path` as ZPL text; NULL with the reason printed. zconfig_load
//  leaks its zfile when the text is not ZPL, and reads binary data as an
//  empty tree: read and check the file ourselves.
static zconfig_t *
s_read_zpl (const char *path)
{
    FILE *file = fopen (path, "rb");
    struct stat info;
    if (!file || fstat (fileno (file), &info) || !S_ISREG (info.st_mode)) {
        fprintf (stderr, "zmx: cannot open '%s': %s\n", path,
                 !file? strerror (errno): "not a regular file");
        if (file)
            fclose (file);
        return NULL;
    }
    zchunk_t *text = info.st_size <= S_FILE_MAX? zchunk_read (file, S_FILE_MAX): NULL;
    fclose (file);
    if (!text) {
        fprintf (stderr, "zmx: cannot read '%s': larger than %d bytes or unreadable\n", path,
                 S_FILE_MAX);
        return NULL;
    }
    //  ZPL is text: a NUL or another control character but tab, CR and LF
    //  means binary data, which zconfig would read as nothing at all
    const byte *data = zchunk_data (text);
    size_t size = zchunk_size (text), at = 0;
    while (at < size && (data [at] >= 0x20 || data [at] == '\t' || data [at] == '\n'
                      || data [at] == '\r'))
        at++;
    int bad = at < size? data [at]: 0;
    zconfig_t *root = at == size? zconfig_chunk_load (text): NULL;
    zchunk_destroy (&text);
    if (at < size)
        fprintf (stderr, "zmx: '%s' is not ZPL text: byte %zu is 0x%02x (a binary file?)\n",
                 path, at, bad);
    else
    if (!root)
        fprintf (stderr, "zmx: cannot read '%s' as ZPL (4-space indents, name = value)\n",
                 path);
    return root;
}

static int
s_load (zmx_clone_t *clone, const zmx_cli_store_t *store, const char *path, const char *prefix)
{
    zconfig_t *root = s_read_zpl (path);
    if (!root)
        return ZMX_EXIT_ERROR;
    size_t skipped = 0;
    const char *error = NULL;
    zhash_t *keys = zmx_config_tree_to_keys (root, prefix, &skipped, &error);
    zconfig_destroy (&root);
    if (!keys) {
        fprintf (stderr, "zmx: cannot load '%s' below %s: %s\n", path, prefix, error);
        return ZMX_EXIT_ERROR;
    }
    //  Nothing is sent unless every value fits
    for (const char *value = (const char *) zhash_first (keys); value;
         value = (const char *) zhash_next (keys))
        if (!zmx_cli_store_value_fits (store, zhash_cursor (keys), strlen (value))) {
            zhash_destroy (&keys);
            return ZMX_EXIT_USAGE;
        }
    int rc = ZMX_OK;
    for (const char *value = (const char *) zhash_first (keys); value && rc == ZMX_OK;
         value = (const char *) zhash_next (keys))
        rc = zmx_clone_send (clone, zhash_cursor (keys), value, strlen (value), store->ttl);
    size_t failed = 0;
    if (rc == ZMX_OK)
        rc = zmx_clone_flush (clone, store->timeout, &failed);
    int code = rc == ZMX_OK? ZMX_EXIT_OK: zmx_cli_store_failed (store, rc);
    if (code == ZMX_EXIT_OK)
        printf ("loaded %zu key%s below %s", zhash_size (keys),
                zhash_size (keys) == 1? "": "s", prefix);
    if (code == ZMX_EXIT_OK && skipped)
        printf (" (%zu empty value%s skipped: an empty value deletes)", skipped,
                skipped == 1? "": "s");
    if (code == ZMX_EXIT_OK)
        printf ("\n");
    zhash_destroy (&keys);
    return code;
}

static int
s_dump (zmx_clone_t *clone, const char *prefix)
{
    zhash_t *values = zhash_new ();
    zhash_autofree (values);
    zlist_t *keys = zmx_clone_keys (clone, prefix);
    for (const char *key = (const char *) zlist_first (keys); key;
         key = (const char *) zlist_next (keys)) {
        char *value = zmx_clone_get (clone, key, NULL, NULL);
        if (value)
            zhash_update (values, key, value);
        free (value);
    }
    zlist_destroy (&keys);
    const char *error = NULL;
    char *bad_key = NULL;
    zconfig_t *root = zmx_config_tree_from_keys (values, prefix, &error, &bad_key);
    char *text = root? zmx_config_tree_save (root): NULL;
    int code = ZMX_EXIT_OK;
    if (text)
        fputs (text, stdout);
    else {
        fprintf (stderr, "zmx: cannot write %s as ZPL: %s\n", bad_key? bad_key: prefix,
                 error? error: "a name or value does not fit ZPL");
        code = ZMX_EXIT_ERROR;
    }
    zstr_free (&text);
    zstr_free (&bad_key);
    zconfig_destroy (&root);
    zhash_destroy (&values);
    return code;
}

//  -------------------------------------------------------------------------
//  Dispatch

typedef struct {
    const char *name;
    int min_args, max_args;     //  Arguments after the subcommand
    bool prefix;                //  Last argument is a prefix (default /config/)
} s_subcommand_t;

static const s_subcommand_t s_subcommands [] = {
    { "set", 2, 2, false }, { "get", 1, 1, false }, { "rm", 1, 1, false },
    { "ls", 0, 1, true }, { "watch", 0, 1, true }, { "load", 1, 2, true },
    { "dump", 0, 1, true },
};

static int
s_parse (int argc, char *argv [], zmx_cli_store_t *store)
{
    static const struct option longopts [] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "timeout", required_argument, NULL, 't' },
        { "ttl", required_argument, NULL, ZMX_CLI_OPT_TTL },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "json", no_argument, NULL, ZMX_CLI_OPT_JSON },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "e:t:h", longopts, NULL)) != -1) {
        int shared = zmx_cli_store_option (store, option, optarg);
        if (shared < 0)
            return ZMX_EXIT_USAGE;
        if (shared > 0)
            continue;
        if (option == ZMX_CLI_OPT_HELP) {
            zmx_cli_config_usage (stdout);
            return ZMX_EXIT_OK;
        }
        zmx_cli_config_usage (stderr);
        return ZMX_EXIT_USAGE;
    }
    return S_CONTINUE;
}

static int
s_run (const s_subcommand_t *command, zmx_clone_t *clone, const zmx_cli_store_t *store,
       char *args [], const char *key)
{
    const char *name = command->name;
    if (streq (name, "set"))
        return s_set (clone, store, key, args [1]);
    if (streq (name, "get"))
        return s_get (clone, key);
    if (streq (name, "rm"))
        return s_remove (clone, store, key);
    if (streq (name, "ls"))
        return s_list (clone, key, store->json);
    if (streq (name, "watch"))
        return s_watch (clone, key);
    if (streq (name, "load"))
        return s_load (clone, store, args [0], key);
    return s_dump (clone, key);
}

int
zmx_cli_config (int argc, char *argv [])
{
    zmx_cli_store_t store;
    zmx_cli_store_init (&store);
    int code = s_parse (argc, argv, &store);
    if (code != S_CONTINUE)
        return code;
    if (optind >= argc)
        return zmx_cli_usage_error (zmx_cli_config_usage, "missing command");
    const s_subcommand_t *command = NULL;
    for (size_t index = 0; index < sizeof s_subcommands / sizeof s_subcommands [0]; index++)
        if (streq (argv [optind], s_subcommands [index].name))
            command = &s_subcommands [index];
    int count = argc - optind - 1;
    if (!command)
        return zmx_cli_usage_error (zmx_cli_config_usage, "unknown command '%s'", argv [optind]);
    if (count < command->min_args || count > command->max_args)
        return zmx_cli_usage_error (zmx_cli_config_usage, "wrong number of arguments for %s",
                                    command->name);
    char **args = argv + optind + 1;
    //  The key is the first argument; the prefix the last optional one
    char *key = command->prefix
              ? s_key (count > command->min_args? args [count - 1]: S_SUBTREE, true)
              : s_key (args [0], false);
    if (!key)
        return ZMX_EXIT_USAGE;
    zmx_clone_t *clone = zmx_cli_store_open (&store, S_SUBTREE, streq (command->name, "watch"),
                                             &code);
    if (clone)
        code = s_run (command, clone, &store, args, key);
    zmx_clone_destroy (&clone);
    free (key);
    return code;
}
