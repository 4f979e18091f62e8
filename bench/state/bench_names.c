/*  =========================================================================
    bench_names - name resolution latency: cached and uncached

    A clone service and a resolver service run in this process on
    loopback (clone on three consecutive free ports, resolver on an ipc://
    socket in a private directory); NAMES names are registered, two
    endpoints each. Then, each figure the median (and 99th percentile) of
    single calls, in microseconds:

      cached        zmx_resolver_lookup, name already in the cache
      uncached      zmx_resolver_lookup of a name not yet looked up: read
                    from the clone mirror (a round trip to the clone agent
                    for the keys and one per endpoint)
      service       zmx_resolver_resolve_endpoint ("name:X") through the
                    resolver service on ipc:// (another process's view:
                    a fresh REQ socket, one request, the service's cache)
      cold          a new zmx_resolver: connect to the clone server, take
                    a snapshot of /names/, look the name up (what a
                    process without the local service pays once)

        bench_names [--names N] [--lookups N]     (default 1000, 100000)
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S_COLD_RUNS     20
#define S_SERVICE_RUNS  2000

static void
s_report (const char *what, int64_t *samples, size_t count)
{
    qsort (samples, count, sizeof samples [0], bench_compare_int64);
    double median = samples [count / 2] / 1000.0;
    double p99 = samples [count * 99 / 100] / 1000.0;
    printf ("%-10s %9zu %12.2f %12.2f\n", what, count, median, p99);
}

//  A clone service on ports P, P+1, P+2 (retried until three are free).
static zmx_service_t *
s_clone_start (int *port_p)
{
    for (int attempt = 0; attempt < 50; attempt++) {
        //  A random port: CZMQ's "*" scans upward from 49152, so its
        //  neighbours are often the next ports it just handed out
        int port = 20000 + randof (40000);
        char *text = zsys_sprintf ("clone\n    endpoint = \"tcp://127.0.0.1:%d\"\n"
                                   "    publisher-endpoint = \"tcp://127.0.0.1:%d\"\n"
                                   "    collector-endpoint = \"tcp://127.0.0.1:%d\"\n"
                                   "    data-directory = \"\"\n", port, port + 1, port + 2);
        zconfig_t *config = zconfig_str_load (text);
        zmx_service_t *clone = zmx_service_new ("clone", zmx_clone_server_actor,
                                                zconfig_locate (config, "clone"), NULL);
        zconfig_destroy (&config);
        free (text);
        if (clone) {
            *port_p = port;
            return clone;
        }
    }
    return NULL;
}

//  Register `names` names ("n0".."nN-1") with two endpoints each.
static int
s_register (const char *server, int names)
{
    zmx_clone_t *clone = zmx_clone_new (ZMX_RESOLVER_SUBTREE);
    zmx_clone_add_server (clone, server);
    int rc = zmx_clone_wait_synced (clone, 10000);
    for (int index = 0; index < names && rc == ZMX_OK; index++)
        for (int copy = 0; copy < 2 && rc == ZMX_OK; copy++) {
            char name [32], endpoint [64];
            snprintf (name, sizeof name, "n%d", index);
            snprintf (endpoint, sizeof endpoint, "tcp://10.0.%d.%d:5555", copy, index % 250);
            char *key = zmx_resolver_name_key (name, endpoint);
            rc = zmx_clone_send (clone, key, endpoint, strlen (endpoint), 0);
            free (key);
        }
    if (rc == ZMX_OK)
        rc = zmx_clone_flush (clone, 30000, NULL);
    zmx_clone_destroy (&clone);
    return rc;
}

//  Cached and uncached lookups on one resolver.
static void
s_bench_library (const char *server, int names, int lookups)
{
    zmx_resolver_t *resolver = zmx_resolver_new ();
    zmx_resolver_add_server (resolver, server);
    zmx_resolver_wait_synced (resolver, 10000);
    int64_t *samples = (int64_t *) malloc (sizeof (int64_t) * (lookups > names? lookups: names));
    char name [32];
    for (int index = 0; index < names; index++) {
        snprintf (name, sizeof name, "n%d", index);
        int64_t start = bench_now_ns ();
        char *found = zmx_resolver_lookup (resolver, name);
        samples [index] = bench_now_ns () - start;
        free (found);
    }
    s_report ("uncached", samples, names);
    for (int index = 0; index < lookups; index++) {
        snprintf (name, sizeof name, "n%d", index % names);
        int64_t start = bench_now_ns ();
        char *found = zmx_resolver_lookup (resolver, name);
        samples [index] = bench_now_ns () - start;
        free (found);
    }
    s_report ("cached", samples, lookups);
    free (samples);
    zmx_resolver_destroy (&resolver);
}

static void
s_bench_service (const char *ipc, int names)
{
    setenv (ZMX_RESOLVER_ENV_SERVICE, ipc, 1);
    int64_t samples [S_SERVICE_RUNS];
    size_t taken = 0;
    for (int index = 0; index < S_SERVICE_RUNS; index++) {
        char spec [40];
        snprintf (spec, sizeof spec, "name:n%d", index % names);
        char *endpoints = NULL;
        int64_t start = bench_now_ns ();
        int rc = zmx_resolver_resolve_endpoint (spec, 5000, &endpoints);
        int64_t took = bench_now_ns () - start;
        if (rc == ZMX_OK)
            samples [taken++] = took;
        free (endpoints);
    }
    if (taken)
        s_report ("service", samples, taken);
}

static void
s_bench_cold (const char *server, int names)
{
    int64_t samples [S_COLD_RUNS];
    for (int run = 0; run < S_COLD_RUNS; run++) {
        char name [32];
        snprintf (name, sizeof name, "n%d", run % names);
        int64_t start = bench_now_ns ();
        zmx_resolver_t *resolver = zmx_resolver_new ();
        zmx_resolver_add_server (resolver, server);
        zmx_resolver_wait_synced (resolver, 10000);
        char *found = zmx_resolver_lookup (resolver, name);
        samples [run] = bench_now_ns () - start;
        free (found);
        zmx_resolver_destroy (&resolver);
    }
    s_report ("cold", samples, S_COLD_RUNS);
}

int
main (int argc, char *argv [])
{
    int names = 1000, lookups = 100000;
    for (int index = 1; index + 1 < argc; index += 2) {
        if (streq (argv [index], "--names"))
            names = atoi (argv [index + 1]);
        else
        if (streq (argv [index], "--lookups"))
            lookups = atoi (argv [index + 1]);
    }
    if (names < 1 || names > 100000 || lookups < 1 || lookups > 10000000) {
        fprintf (stderr, "usage: bench_names [--names 1..100000] [--lookups N]\n");
        return 2;
    }
    zmx_log_set_level (ZMX_LOG_ERROR);
    srandom ((unsigned) getpid () ^ (unsigned) zclock_usecs ());
    int port = 0;
    zmx_service_t *clone = s_clone_start (&port);
    char *dir = zsys_sprintf ("/tmp/bench-names-%d", (int) getpid ());
    zsys_dir_create (dir);
    char *ipc = zsys_sprintf ("ipc://%s/resolver.ipc", dir);
    char *server = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    zconfig_t *config = zconfig_new ("resolver", NULL);
    zconfig_put (config, "endpoint", ipc);
    zconfig_put (config, "servers", server);
    zmx_service_t *resolver = clone? zmx_service_new ("resolver", zmx_resolver_actor, config,
                                                      NULL): NULL;
    zconfig_destroy (&config);
    int rc = resolver? s_register (server, names): ZMX_EINVAL;
    if (rc != ZMX_OK)
        fprintf (stderr, "bench: cannot start the services or register the names\n");
    else {
        printf ("Name resolution latency, %d names x 2 endpoints, microseconds\n", names);
        printf ("%-10s %9s %12s %12s\n", "path", "calls", "median", "p99");
        s_bench_library (server, names, lookups);
        s_bench_service (ipc, names);
        s_bench_cold (server, names);
    }
    zmx_service_destroy (&resolver);
    zmx_service_destroy (&clone);
    char *socket_path = zsys_sprintf ("%s/resolver.ipc", dir);
    zsys_file_delete (socket_path);
    free (socket_path);
    zsys_dir_delete ("%s", dir);
    free (server);
    free (ipc);
    free (dir);
    return rc == ZMX_OK? 0: 1;
}
