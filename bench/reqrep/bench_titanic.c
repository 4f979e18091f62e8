/*  =========================================================================
    bench_titanic - durable requests (9/TSP) against plain requests, with
    and without fsync, in one run

    A zmxd (broker + titanic, separate process) stores into a directory on
    disk (under $TMPDIR, else /var/tmp; --dir to choose); an echo worker
    runs in this process. For fsync = 1 and then fsync = 0 it measures, one
    synchronous client, one request at a time:

      plain     zmx_client_request to the echo service (the baseline)
      store     titanic.request only, for a service without workers (so
                that no dispatch runs alongside): the request is on disk
                when answered; closed after the clock stops
      durable   a whole durable call: titanic.request, titanic.reply until
                "200" (polled at once, no sleep), titanic.close

    and prints requests per second, the median latency and the ratio to
    plain measured against the same zmxd. Every point is bounded by a
    count and by time. zmxd dies with this process (PR_SET_PDEATHSIG).

    usage: bench_titanic [--count N] [--seconds S] [--dir DIR]
    =========================================================================
*/
#include <zmx.h>
#include "bench_util.h"
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_START_TIMEOUT_MS  10000
#define S_HEARTBEAT         1000
#define S_BODY              "0123456789abcdef"     //  16-byte request body

typedef struct {
    int count;                  //  Requests per point, at most
    int seconds;                //  Seconds per point, at most
    const char *base;           //  Parent of the scratch directory
    char zmxd_path [4096];      //  zmxd next to this program
} s_options_t;

typedef struct {
    double rate;                //  Requests per second
    double median_us;           //  Median latency
    int done;                   //  Requests completed
} s_point_t;

//  -------------------------------------------------------------------------
//  Processes

//  True once mmi.service says `service` has a worker.
static bool
s_wait_service (zmx_client_t *client, const char *service)
{
    int64_t deadline = zclock_mono () + S_START_TIMEOUT_MS;
    while (zclock_mono () < deadline) {
        zmsg_t *request = zmsg_new ();
        zmsg_addstr (request, service);
        zmsg_t *reply = zmx_client_request (client, "mmi.service", &request);
        char *status = reply? zmsg_popstr (reply): NULL;
        bool found = status && streq (status, "200");
        free (status);
        zmsg_destroy (&reply);
        if (found)
            return true;
        zclock_sleep (20);
    }
    return false;
}

static void
s_echo_worker (zsock_t *pipe, void *args)
{
    zmx_worker_t *worker = zmx_worker_new ((const char *) args, "echo");
    zmx_worker_set_heartbeat (worker, S_HEARTBEAT, 3);
    zsock_signal (pipe, 0);
    bench_echo_until (worker, pipe, 20);
    zmx_worker_destroy (&worker);
    char *command = zstr_recv (pipe);
    free (command);
}

//  -------------------------------------------------------------------------
//  Measurements

//  One TSP or plain call; returns the reply's first frame (caller frees).
static char *
s_call (zmx_client_t *client, const char *service, const char *frame1, const char *frame2,
        char **second_p)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, frame1);
    if (frame2)
        zmsg_addstr (request, frame2);
    zmsg_t *reply = zmx_client_request (client, service, &request);
    char *first = reply? zmsg_popstr (reply): NULL;
    if (second_p)
        *second_p = reply? zmsg_popstr (reply): NULL;
    zmsg_destroy (&reply);
    return first;
}

typedef enum { S_PLAIN, S_STORE, S_DURABLE } s_shape_t;

//  One request of the shape; true if it completed as expected. A store
//  request's UUID goes to `stored`, to be closed later.
static bool
s_one (zmx_client_t *client, s_shape_t shape, zlist_t *stored)
{
    if (shape == S_PLAIN) {
        char *reply = s_call (client, "echo", S_BODY, NULL, NULL);
        bool ok = reply && streq (reply, S_BODY);
        free (reply);
        return ok;
    }
    char *uuid = NULL;
    char *status = s_call (client, ZMX_TITANIC_REQUEST,
                           shape == S_STORE? "bench.none": "echo", S_BODY, &uuid);
    bool ok = status && streq (status, ZMX_TITANIC_OK) && uuid;
    free (status);
    if (ok && shape == S_STORE) {
        zlist_append (stored, uuid);
        return true;
    }
    if (ok && shape == S_DURABLE) {
        bool replied = false;
        while (ok && !replied) {
            status = s_call (client, ZMX_TITANIC_REPLY, uuid, NULL, NULL);
            ok = status && (streq (status, ZMX_TITANIC_OK) || streq (status, ZMX_TITANIC_PENDING));
            replied = ok && streq (status, ZMX_TITANIC_OK);
            free (status);
        }
    }
    if (ok) {
        status = s_call (client, ZMX_TITANIC_CLOSE, uuid, NULL, NULL);
        free (status);
    }
    free (uuid);
    return ok;
}

//  Time up to count requests (or seconds); then close what was stored.
static s_point_t
s_measure (zmx_client_t *client, s_shape_t shape, const s_options_t *options)
{
    zlist_t *stored = zlist_new ();
    int64_t *latency = (int64_t *) calloc ((size_t) options->count, sizeof (int64_t));
    int64_t start = zclock_usecs ();
    int64_t deadline = start + (int64_t) options->seconds * 1000000;
    int64_t spent = 0;
    s_point_t point = { 0, 0, 0 };
    while (point.done < options->count && zclock_usecs () < deadline && !zsys_interrupted) {
        int64_t begin = zclock_usecs ();
        if (!s_one (client, shape, stored))
            break;
        int64_t took = zclock_usecs () - begin;
        latency [point.done++] = took;
        spent += took;
    }
    if (point.done > 0) {
        qsort (latency, (size_t) point.done, sizeof (int64_t), bench_compare_int64);
        point.median_us = (double) latency [point.done / 2];
        point.rate = point.done * 1e6 / (double) spent;
    }
    free (latency);
    char *uuid;
    while ((uuid = (char *) zlist_pop (stored))) {
        free (s_call (client, ZMX_TITANIC_CLOSE, uuid, NULL, NULL));
        free (uuid);
    }
    zlist_destroy (&stored);
    return point;
}

//  -------------------------------------------------------------------------

//  Run the three shapes against a zmxd with titanic fsync on or off.
//  Returns 0, or -1 if zmxd could not be used.
static int
s_run (const s_options_t *options, const char *dir, int sync, s_point_t points [3])
{
    int port = bench_free_port ();
    char *endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", port);
    char *config = zsys_sprintf ("%s/zmxd-%d.cfg", dir, sync);
    char *log = zsys_sprintf ("%s/zmxd-%d.log", dir, sync);
    char *text = zsys_sprintf ("zmxd\n    log-level = warning\n"
                               "broker\n    endpoint = \"%s\"\n    heartbeat-interval = %d\n"
                               "titanic\n    endpoint = \"%s\"\n    directory = \"%s/data-%d\"\n"
                               "    fsync = %d\n    heartbeat-interval = %d\n",
                               endpoint, S_HEARTBEAT, endpoint, dir, sync, sync, S_HEARTBEAT);
    FILE *file = fopen (config, "w");
    if (file) {
        fputs (text, file);
        fclose (file);
    }
    char *argv [] = { (char *) options->zmxd_path, "-c", config, NULL };
    pid_t zmxd = file? bench_spawn (argv, log): -1;
    zactor_t *worker = zactor_new (s_echo_worker, endpoint);
    zmx_client_t *client = zmx_client_new (endpoint);
    zmx_client_set_timeout (client, 5000);
    zmx_client_set_retries (client, 0);
    int rc = -1;
    if (zmxd > 0 && s_wait_service (client, ZMX_TITANIC_REQUEST)
    &&  s_wait_service (client, "echo")) {
        s_one (client, S_DURABLE, NULL);    //  Warm up every path once
        for (int shape = S_PLAIN; shape <= S_DURABLE; shape++)
            points [shape] = s_measure (client, (s_shape_t) shape, options);
        rc = 0;
    }
    else
        fprintf (stderr, "bench_titanic: zmxd did not start (see %s)\n", log);
    zmx_client_destroy (&client);
    zactor_destroy (&worker);
    bench_stop (&zmxd);
    free (text);
    free (log);
    free (config);
    free (endpoint);
    return rc;
}

static void
s_print_row (const char *name, const char *sync, s_point_t point, s_point_t plain)
{
    printf ("| %-8s | %-5s | %9.0f | %10.0f | %6.2f |\n", name, sync, point.rate,
            point.median_us, plain.rate > 0? point.rate / plain.rate: 0);
}

static int
s_parse (int argc, char *argv [], s_options_t *options)
{
    for (int index = 1; index < argc; index++) {
        bool has_value = index + 1 < argc;
        if (streq (argv [index], "--count") && has_value)
            options->count = atoi (argv [++index]);
        else
        if (streq (argv [index], "--seconds") && has_value)
            options->seconds = atoi (argv [++index]);
        else
        if (streq (argv [index], "--dir") && has_value)
            options->base = argv [++index];
        else {
            fprintf (stderr, "usage: bench_titanic [--count N] [--seconds S] [--dir DIR]\n");
            return -1;
        }
    }
    if (options->count < 1 || options->seconds < 1) {
        fprintf (stderr, "bench_titanic: --count and --seconds must be positive\n");
        return -1;
    }
    ssize_t size = readlink ("/proc/self/exe", options->zmxd_path,
                             sizeof options->zmxd_path - 16);
    if (size <= 0)
        return -1;
    options->zmxd_path [size] = 0;
    char *slash = strrchr (options->zmxd_path, '/');
    strcpy (slash + 1, "zmxd");
    return 0;
}

int
main (int argc, char *argv [])
{
    s_options_t options = { 2000, 5, getenv ("TMPDIR")? getenv ("TMPDIR"): "/var/tmp", "" };
    if (s_parse (argc, argv, &options))
        return 2;
    zsys_init ();
    char *dir = zsys_sprintf ("%s/bench-titanic-XXXXXX", options.base);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "bench_titanic: cannot make a directory in %s: %s\n", options.base,
                 strerror (errno));
        return 1;
    }
    s_point_t synced [3], unsynced [3];
    memset (synced, 0, sizeof synced);
    memset (unsynced, 0, sizeof unsynced);
    int rc = s_run (&options, dir, 1, synced) || s_run (&options, dir, 0, unsynced);
    if (rc == 0) {
        printf ("titanic: one synchronous client, 16-byte bodies, up to %d requests or %d s "
                "per point, data in %s\n\n", options.count, options.seconds, options.base);
        printf ("| shape    | fsync | req/s     | median us  | vs plain |\n");
        printf ("|----------|-------|-----------|------------|----------|\n");
        s_print_row ("plain", "on", synced [S_PLAIN], synced [S_PLAIN]);
        s_print_row ("store", "on", synced [S_STORE], synced [S_PLAIN]);
        s_print_row ("durable", "on", synced [S_DURABLE], synced [S_PLAIN]);
        s_print_row ("plain", "off", unsynced [S_PLAIN], unsynced [S_PLAIN]);
        s_print_row ("store", "off", unsynced [S_STORE], unsynced [S_PLAIN]);
        s_print_row ("durable", "off", unsynced [S_DURABLE], unsynced [S_PLAIN]);
    }
    zdir_t *scratch = zdir_new (dir, NULL);
    if (scratch)
        zdir_remove (scratch, true);
    zdir_destroy (&scratch);
    free (dir);
    return rc? 1: 0;
}
