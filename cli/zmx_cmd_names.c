/*  =========================================================================
    zmx names - logical names in the clone store, under "/names/"

        zmx names set NAME ENDPOINT [--ttl S]   register (kept alive with --ttl)
        zmx names rm NAME [ENDPOINT]            unregister one or all
        zmx names get NAME                      print the endpoints
        zmx names ls                            every name with its endpoints
        zmx names watch                         print changes as they happen

    Registration with --ttl: the key is set with a ttl of S seconds and set
    again every S/3 seconds while this process runs; SIGINT or SIGTERM
    deletes it; if the process dies any other way, the server deletes it
    at most S seconds after the last refresh. Without --ttl the key stays
    until `zmx names rm`.

    get, ls and watch read names through zmx_resolver: the lookup file
    (--file, or $ZMX_NAMES_FILE) overrides and completes the server's.
    =========================================================================
*/
#include "zmx_cli.h"

#define S_CONTINUE      -1              //  s_parse: arguments fine, go on
#define S_WAIT_MSEC     200             //  Longest wait without a signal check
#define S_REFRESH_MIN   100             //  Refresh at most this often, msec

typedef struct {
    zmx_cli_store_t store;      //  -e, -t, --ttl
    const char *file;           //  --file, $ZMX_NAMES_FILE, or NULL
} s_options_t;

void
zmx_cli_names_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx names [-e ENDPOINT] [-t MS] [--file FILE] COMMAND ARGS\n"
        "\n"
        "  set NAME ENDPOINT [--ttl S]  register ENDPOINT under NAME; with --ttl,\n"
        "                               stay running and keep it alive (refreshed\n"
        "                               every S/3 s); it goes when this process\n"
        "                               stops, or S seconds after it dies\n"
        "  rm NAME [ENDPOINT]           unregister ENDPOINT, or every endpoint\n"
        "  get NAME                     print NAME's endpoints, one per line\n"
        "  ls [--json]                  print every name and its endpoints\n"
        "  watch                        print names as their endpoints change\n"
        "\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -e, --endpoint ENDPOINT  clone server's snapshot endpoint (default $%s\n"
        "                           or %s; \"\" = none, lookup file only)\n"
        "  -t, --timeout MS         wait for the snapshot and for each write\n"
        "                           (default %d)\n"
        "  --ttl S                  registration lifetime without refresh, seconds\n"
        "  --file FILE              lookup file (ZPL \"names\" section) that overrides\n"
        "                           the server's entries (default $%s)\n"
        "  --json                   ls: print one JSON array of {\"name\",\n"
        "                           \"endpoints\": [...]}\n"
        "\n"
        "A NAME is letters, digits, '.', '-' and '_'. Anywhere zmx takes an\n"
        "endpoint, \"name:NAME\" stands for NAME's endpoints.\n",
        ZMX_CLI_ENV_CLONE, ZMX_RESOLVER_DEFAULT_SERVER, ZMX_CLI_TIMEOUT,
        ZMX_RESOLVER_ENV_FILE);
}

//  -------------------------------------------------------------------------
//  Writes

static int
s_refresh_loop (zmx_clone_t *clone, const zmx_cli_store_t *store, const char *key,
                const char *endpoint)
{
    int64_t interval = (int64_t) store->ttl * 1000 / 3;
    if (interval < S_REFRESH_MIN)
        interval = S_REFRESH_MIN;
    int64_t next = zclock_mono () + interval;
    bool failing = false;
    while (!zsys_interrupted) {
        int64_t left = next - zclock_mono ();
        if (left > 0) {
            zclock_sleep ((int) (left < S_WAIT_MSEC? left: S_WAIT_MSEC));
            continue;
        }
        next += interval;
        int wait = store->timeout < interval? store->timeout: (int) interval;
        int rc = zmx_clone_set (clone, key, endpoint, strlen (endpoint), store->ttl, wait);
        if (rc != ZMX_OK && !failing)
            fprintf (stderr, "zmx: refresh of %s not acknowledged; still trying\n", key);
        else
        if (rc == ZMX_OK && failing)
            fprintf (stderr, "zmx: refresh of %s acknowledged again\n", key);
        failing = rc != ZMX_OK;
    }
    int rc = zmx_clone_delete (clone, key, store->timeout);
    return rc == ZMX_OK? ZMX_EXIT_OK: zmx_cli_store_failed (store, rc);
}

//  The same words for set and rm: a usage error.
static int
s_not_endpoint (const char *endpoint)
{
    fprintf (stderr, "zmx: '%s' is not an endpoint (transport://address, no commas)\n",
             endpoint);
    return ZMX_EXIT_USAGE;
}

static int
s_set (zmx_clone_t *clone, const zmx_cli_store_t *store, const char *name,
       const char *endpoint)
{
    char *key = zmx_resolver_name_key (name, endpoint);
    if (!key)
        return s_not_endpoint (endpoint);
    int rc = zmx_clone_set (clone, key, endpoint, strlen (endpoint), store->ttl,
                            store->timeout);
    int code = rc == ZMX_OK? ZMX_EXIT_OK: zmx_cli_store_failed (store, rc);
    if (code == ZMX_EXIT_OK && store->ttl) {
        printf ("registered %s -> %s for as long as this process runs (ttl %d s)\n", name,
                endpoint, store->ttl);
        code = s_refresh_loop (clone, store, key, endpoint);
    }
    free (key);
    return code;
}

static int
s_remove (zmx_clone_t *clone, const zmx_cli_store_t *store, const char *name,
          const char *endpoint)
{
    zlist_t *keys = zlist_new ();
    zlist_autofree (keys);
    char *key = endpoint? zmx_resolver_name_key (name, endpoint): NULL;
    if (key)
        zlist_append (keys, key);
    else
    if (!endpoint) {
        char *prefix = zsys_sprintf ("%s%s/", ZMX_RESOLVER_SUBTREE, name);
        zlist_destroy (&keys);
        keys = zmx_clone_keys (clone, prefix);
        free (prefix);
    }
    free (key);
    int rc = ZMX_OK;
    size_t count = 0;
    for (const char *item = (const char *) zlist_first (keys); item && rc == ZMX_OK;
         item = (const char *) zlist_next (keys)) {
        char *value = zmx_clone_get (clone, item, NULL, NULL);
        if (value) {
            rc = zmx_clone_send (clone, item, NULL, 0, 0);
            count++;
        }
        free (value);
    }
    zlist_destroy (&keys);
    if (count == 0) {
        fprintf (stderr, "zmx: %s%s%s is not registered\n", name, endpoint? " at ": "",
                 endpoint? endpoint: "");
        return ZMX_EXIT_ERROR;
    }
    if (rc == ZMX_OK)
        rc = zmx_clone_flush (clone, store->timeout, NULL);
    return rc == ZMX_OK? ZMX_EXIT_OK: zmx_cli_store_failed (store, rc);
}

//  -------------------------------------------------------------------------
//  Reads, through a resolver

//  A resolver on the lookup file and the server (if any), synced; NULL
//  with the problem printed and *exit_p set. Without a server, or when
//  `name` is in the lookup file, nothing waits for a server.
static zmx_resolver_t *
s_resolver_open (const s_options_t *options, const char *name, int *exit_p)
{
    zmx_resolver_t *resolver = zmx_resolver_new ();
    *exit_p = ZMX_EXIT_OK;
    if (options->file && zmx_resolver_load_file (resolver, options->file) != ZMX_OK) {
        fprintf (stderr, "zmx: lookup file '%s' is missing or invalid (reason above)\n",
                 options->file);
        *exit_p = ZMX_EXIT_ERROR;
    }
    char *found = name && *exit_p == ZMX_EXIT_OK? zmx_resolver_lookup (resolver, name): NULL;
    char *servers = NULL;
    const char *endpoint = options->store.endpoint;
    if (!found && *exit_p == ZMX_EXIT_OK && *endpoint
    &&  zmx_resolver_resolve_endpoint (endpoint, options->store.timeout, &servers) != ZMX_OK) {
        fprintf (stderr, "zmx: cannot resolve '%s'\n", endpoint);
        *exit_p = ZMX_EXIT_ERROR;
    }
    if (servers && *exit_p == ZMX_EXIT_OK)
        zmx_cli_check_hosts (servers, exit_p);
    char *cursor = servers, *server;
    while (*exit_p == ZMX_EXIT_OK && cursor && (server = strsep (&cursor, ",")))
        if (zmx_resolver_add_server (resolver, server) != ZMX_OK) {
            fprintf (stderr, "zmx: bad clone server endpoint '%s': use tcp://HOST:PORT\n",
                     server);
            *exit_p = ZMX_EXIT_USAGE;
        }
    if (*exit_p == ZMX_EXIT_OK
    &&  zmx_resolver_wait_synced (resolver, options->store.timeout) != ZMX_OK) {
        fprintf (stderr, "zmx: no snapshot from %s within %d ms: is zmxd running there "
                 "with the clone service? If it requires CURVE, the server may be refusing "
                 "this client's key (its log says \"refused a client\")\n", endpoint,
                 options->store.timeout);
        *exit_p = ZMX_EXIT_TIMEOUT;
    }
    free (servers);
    free (found);
    if (*exit_p != ZMX_EXIT_OK)
        zmx_resolver_destroy (&resolver);
    return resolver;
}

//  Print a list's endpoints, one per line, with `indent` before each.
static void
s_print_endpoints (const char *list, const char *indent)
{
    char *copy = strdup (list);
    char *cursor = copy, *endpoint;
    while ((endpoint = strsep (&cursor, ",")))
        printf ("%s%s\n", indent, endpoint);
    free (copy);
}

static int
s_get (zmx_resolver_t *resolver, const char *name)
{
    char *endpoints = zmx_resolver_lookup (resolver, name);
    if (!endpoints) {
        fprintf (stderr, "zmx: no name %s\n", name);
        return ZMX_EXIT_ERROR;
    }
    s_print_endpoints (endpoints, "");
    free (endpoints);
    return ZMX_EXIT_OK;
}

//  "NAME endpoint,endpoint" for each name, or "NAME gone" when it has none.
//  `ls --json`: one array of {"name": NAME, "endpoints": [ENDPOINT...]}
static void
s_print_json (zmx_resolver_t *resolver, zlist_t *names)
{
    zmx_cli_json_t *writer = zmx_cli_json_new (stdout);
    zmx_cli_json_open (writer, '[');
    for (const char *name = (const char *) zlist_first (names); name;
         name = (const char *) zlist_next (names)) {
        char *endpoints = zmx_resolver_lookup (resolver, name);
        if (!endpoints)
            continue;
        zmx_cli_json_open (writer, '{');
        zmx_cli_json_pair (writer, "name", name);
        zmx_cli_json_key (writer, "endpoints");
        zmx_cli_json_open (writer, '[');
        char *cursor = endpoints, *endpoint;
        while ((endpoint = strsep (&cursor, ",")))
            zmx_cli_json_string (writer, endpoint);
        zmx_cli_json_close (writer, ']');
        zmx_cli_json_close (writer, '}');
        free (endpoints);
    }
    zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
}

static void
s_print_names (zmx_resolver_t *resolver, zlist_t *names, bool show_gone)
{
    for (const char *name = (const char *) zlist_first (names); name;
         name = (const char *) zlist_next (names)) {
        char *endpoints = zmx_resolver_lookup (resolver, name);
        if (endpoints)
            printf ("%s %s\n", name, endpoints);
        else
        if (show_gone)
            printf ("%s gone\n", name);
        free (endpoints);
    }
}

static int
s_list (zmx_resolver_t *resolver, bool json)
{
    zlist_t *names = zmx_resolver_names (resolver);
    if (json)
        s_print_json (resolver, names);
    else
        s_print_names (resolver, names, false);
    zlist_destroy (&names);
    return ZMX_EXIT_OK;
}

static int
s_watch (zmx_resolver_t *resolver)
{
    zlist_t *changes = zmx_resolver_changes (resolver);    //  The initial state
    zlist_destroy (&changes);
    printf ("watching names\n");
    zsock_t *socket = zmx_resolver_socket (resolver);
    zpoller_t *poller = socket? zpoller_new (socket, NULL): NULL;
    while (!zsys_interrupted) {
        if (poller)
            zpoller_wait (poller, S_WAIT_MSEC);
        else
            zclock_sleep (S_WAIT_MSEC);
        changes = zmx_resolver_changes (resolver);
        if (changes)
            s_print_names (resolver, changes, true);
        zlist_destroy (&changes);
    }
    zpoller_destroy (&poller);
    return ZMX_EXIT_OK;
}

//  -------------------------------------------------------------------------
//  Dispatch

static int
s_parse (int argc, char *argv [], s_options_t *options)
{
    static const struct option longopts [] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "timeout", required_argument, NULL, 't' },
        { "ttl", required_argument, NULL, ZMX_CLI_OPT_TTL },
        { "file", required_argument, NULL, ZMX_CLI_OPT_FILE },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "json", no_argument, NULL, ZMX_CLI_OPT_JSON },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option;
    while ((option = getopt_long (argc, argv, "e:t:h", longopts, NULL)) != -1) {
        int shared = zmx_cli_store_option (&options->store, option, optarg);
        if (shared < 0)
            return ZMX_EXIT_USAGE;
        if (shared > 0)
            continue;
        if (option == ZMX_CLI_OPT_FILE)
            options->file = optarg;
        else
        if (option == ZMX_CLI_OPT_HELP) {
            zmx_cli_names_usage (stdout);
            return ZMX_EXIT_OK;
        }
        else {
            zmx_cli_names_usage (stderr);
            return ZMX_EXIT_USAGE;
        }
    }
    return S_CONTINUE;
}

//  Check the argument count and the name. Returns S_CONTINUE or the code.
static int
s_check_args (const char *command, int count, char *args [])
{
    int min = streq (command, "set")? 2: streq (command, "ls") || streq (command, "watch")? 0: 1;
    int max = streq (command, "get")? 1: min == 0? 0: 2;
    if (!streq (command, "set") && !streq (command, "rm") && !streq (command, "get")
    &&  !streq (command, "ls") && !streq (command, "watch"))
        return zmx_cli_usage_error (zmx_cli_names_usage, "unknown command '%s'", command);
    if (count < min || count > max)
        return zmx_cli_usage_error (zmx_cli_names_usage, "wrong number of arguments for %s",
                                    command);
    if (count && !zmx_resolver_name_valid (args [0]))
        return zmx_cli_usage_error (zmx_cli_names_usage, "'%s' is not a name", args [0]);
    char *key = count == 2? zmx_resolver_name_key (args [0], args [1]): NULL;
    if (count == 2 && !key)
        return s_not_endpoint (args [1]);
    free (key);
    return S_CONTINUE;
}

int
zmx_cli_names (int argc, char *argv [])
{
    s_options_t options;
    zmx_cli_store_init (&options.store);
    const char *file = getenv (ZMX_RESOLVER_ENV_FILE);
    options.file = file && *file? file: NULL;
    int code = s_parse (argc, argv, &options);
    if (code != S_CONTINUE)
        return code;
    if (optind >= argc)
        return zmx_cli_usage_error (zmx_cli_names_usage, "missing command");
    const char *command = argv [optind];
    char **args = argv + optind + 1;
    int count = argc - optind - 1;
    code = s_check_args (command, count, args);
    if (code != S_CONTINUE)
        return code;
    if (streq (command, "set") || streq (command, "rm")) {
        zmx_clone_t *clone = zmx_cli_store_open (&options.store, ZMX_RESOLVER_SUBTREE, false,
                                                 &code);
        if (clone)
            code = streq (command, "set")? s_set (clone, &options.store, args [0], args [1])
                                         : s_remove (clone, &options.store, args [0],
                                                     count > 1? args [1]: NULL);
        zmx_clone_destroy (&clone);
        return code;
    }
    zmx_resolver_t *resolver = s_resolver_open (&options, count? args [0]: NULL, &code);
    if (resolver)
        code = streq (command, "get")? s_get (resolver, args [0]):
               streq (command, "ls")? s_list (resolver, options.store.json): s_watch (resolver);
    zmx_resolver_destroy (&resolver);
    return code;
}
