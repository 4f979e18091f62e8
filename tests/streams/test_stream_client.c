/*  =========================================================================
    test_stream_client - the streams client (zmx_stream) against a real
    zmxd, started as a child process on free ports with a temp data
    directory: appends acknowledged across kill -9 of zmxd (no loss, no
    duplicate), the history-to-live hand-over under concurrent appends,
    a durable consumer process killed and resumed, a slow subscriber that
    does not grow zmxd, and recovery after zmxd restarts

    The test binary is also the durable consumer process of its test: run
    as "test_stream_client consumer ENDPOINT NAME COUNT" it acknowledges
    records 1..COUNT, prints "acked COUNT" and reads on without
    acknowledging until it is killed.
    =========================================================================
*/
#include "testing.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_STREAM        "s"
#define S_HEARTBEAT     200         //  Client and server, msec
#define S_START_MSEC    10000       //  zmxd start
#define S_WAIT_MSEC     15000       //  Any single wait in a case

//  -------------------------------------------------------------------------
//  zmxd as a child process

typedef struct {
    char *dir;                  //  Temp directory: config, logs, data
    char *config;               //  Config file
    char *extra;                //  More log service settings (lines)
    char *endpoint;             //  tcp://127.0.0.1:PORT
    int port;
    int starts;                 //  Each start logs to its own file
    pid_t pid;                  //  0 when not running
} s_zmxd_t;

static char *
s_zmxd_text (s_zmxd_t *self, int port)
{
    return zsys_sprintf (
        "log\n"
        "    endpoint = \"tcp://127.0.0.1:%d\"\n"
        "    ingest-endpoint = \"\"\n"
        "    syslog-endpoint = \"\"\n"
        "    data-directory = \"%s/streams\"\n"
        "    heartbeat-interval = %d\n"
        "%s",
        port, self->dir, S_HEARTBEAT, self->extra);
}

//  Start zmxd on `port`; true when it runs and listens.
static bool
s_zmxd_run (s_zmxd_t *self, int port)
{
    char *text = s_zmxd_text (self, port);
    char *log = zsys_sprintf ("%s/zmxd-%d.log", self->dir, ++self->starts);
    char *ready = zsys_sprintf ("log on tcp://127.0.0.1:%d\n", port);
    self->pid = zmx_test_zmxd_start (self->config, text, log, ready, S_START_MSEC);
    if (!self->pid) {
        char *content = zmx_test_read_file (log);
        fprintf (stderr, "zmxd did not start on %d:\n%s\n", port, content);
        free (content);
    }
    free (ready);
    free (log);
    free (text);
    return self->pid != 0;
}

//  A zmxd on a free port with `extra` settings ("    key = value\n"...).
static void
s_zmxd_new (s_zmxd_t *self, const char *extra)
{
    memset (self, 0, sizeof *self);
    self->dir = zmx_test_tmpdir ();
    self->config = zsys_sprintf ("%s/zmxd.cfg", self->dir);
    self->extra = strdup (extra? extra: "");
    for (int attempt = 0; attempt < 10 && !self->pid; attempt++) {
        int port = zmx_test_free_port ();
        if (s_zmxd_run (self, port))
            self->port = port;
    }
    ZMX_CHECK (self->pid);
    self->endpoint = zsys_sprintf ("tcp://127.0.0.1:%d", self->port);
}

static void
s_zmxd_kill (s_zmxd_t *self)
{
    ZMX_CHECK (self->pid && kill (self->pid, SIGKILL) == 0);
    ZMX_CHECK (zmx_test_wait (self->pid, 5000) != -1);
    self->pid = 0;
}

//  Stop zmxd as an operator does (SIGTERM), checking it exits by itself.
static void
s_zmxd_stop (s_zmxd_t *self)
{
    ZMX_CHECK (self->pid && kill (self->pid, SIGTERM) == 0);
    int status = zmx_test_wait (self->pid, 10000);
    ZMX_CHECK (status != -1 && WIFEXITED (status));
    self->pid = 0;
}

//  Start again on the same port and data directory.
static void
s_zmxd_restart (s_zmxd_t *self)
{
    ZMX_CHECK (s_zmxd_run (self, self->port));
}

static void
s_zmxd_destroy (s_zmxd_t *self)
{
    zmx_test_stop (self->pid, 5000);
    zmx_test_rmdir (self->dir);
    free (self->dir);
    free (self->config);
    free (self->extra);
    free (self->endpoint);
}

//  VmRSS of a process in KiB, or 0.
static uint64_t
s_rss_kib (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    char *status = zmx_test_read_file (path);
    const char *line = status? strstr (status, "VmRSS:"): NULL;
    uint64_t kib = line? strtoull (line + 6, NULL, 10): 0;
    free (status);
    return kib;
}

//  -------------------------------------------------------------------------
//  Client helpers

static zmx_stream_t *
s_client_new (const char *endpoint)
{
    zmx_stream_t *client = zmx_stream_new (endpoint);
    ZMX_CHECK (client);
    zmx_stream_set_heartbeat (client, S_HEARTBEAT);
    zmx_stream_set_timeout (client, S_WAIT_MSEC);
    return client;
}

//  Append record `number` of a test: body "n=NUMBER", message id "id-NUMBER".
static void
s_append_numbered (zmx_stream_t *client, uint64_t number, size_t pad)
{
    char body [2048], id [32];
    int size = snprintf (body, sizeof body, "n=%" PRIu64 ";", number);
    assert (pad < sizeof body - (size_t) size);
    memset (body + size, 'x', pad);
    snprintf (id, sizeof id, "id-%" PRIu64, number);
    uint64_t got;
    ZMX_CHECK (zmx_stream_append (client, S_STREAM, "app.test", NULL, 0, body, size + pad,
                                  id, strlen (id), &got) == ZMX_OK);
    (void) got;
}

static uint64_t
s_body_number (const zmx_stream_event_t *event)
{
    char text [32];
    size_t size = event->record.body_size < 31? event->record.body_size: 31;
    memcpy (text, event->record.body, size);
    text [size] = 0;
    ZMX_CHECK (strncmp (text, "n=", 2) == 0);
    return strtoull (text + 2, NULL, 10);
}

//  The next record of a subscription (skipping LIVE), within the wait.
static void
s_next_record (zmx_stream_t *client, zmx_stream_event_t *event)
{
    int64_t deadline = zclock_mono () + S_WAIT_MSEC;
    while (zclock_mono () < deadline) {
        int rc = zmx_stream_next (client, event, (int) (deadline - zclock_mono ()));
        if (rc == ZMX_OK && event->type == ZMX_STREAM_EVENT_RECORD)
            return;
        ZMX_CHECK (rc == ZMX_OK || rc == ZMX_ETIMEDOUT);
        ZMX_CHECK (rc != ZMX_OK || event->type == ZMX_STREAM_EVENT_LIVE);
    }
    zmx_test_fail (__FILE__, __LINE__, "no record in time");
}

//  Read the whole stream from the first record with a new client and
//  check it holds records 1..count, once each, in order, sequence ==
//  number (the stream was new).
static void
s_check_stream (const char *endpoint, uint64_t count)
{
    zmx_stream_t *reader = s_client_new (endpoint);
    ZMX_CHECK (zmx_stream_subscribe (reader, 1, S_STREAM, NULL, ZMX_STREAM_FROM_FIRST, 0,
                                     NULL) == ZMX_OK);
    zmx_stream_event_t event;
    for (uint64_t number = 1; number <= count; number++) {
        s_next_record (reader, &event);
        if (event.record.sequence != number || s_body_number (&event) != number)
            fprintf (stderr, "at %" PRIu64 ": sequence %" PRIu64 ", record %" PRIu64 "\n",
                     number, event.record.sequence, s_body_number (&event));
        ZMX_CHECK (event.record.sequence == number && s_body_number (&event) == number);
    }
    zmx_stream_info_t *infos;
    size_t info_count;
    ZMX_CHECK (zmx_stream_list (reader, &infos, &info_count, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (info_count == 1 && streq (infos [0].name, S_STREAM));
    ZMX_CHECK (infos [0].records == count && infos [0].last_sequence == count);
    free (infos);
    zmx_stream_destroy (&reader);
}

//  Acknowledgements as the callback reports them: each must come once,
//  in append order, with sequence == number (a new stream, no duplicate).
typedef struct {
    uint64_t next;              //  Number expected next
    bool wrong;
} s_acks_t;

static void
s_on_ack (void *arg, uint64_t number, uint64_t sequence)
{
    s_acks_t *acks = (s_acks_t *) arg;
    if (number != acks->next || sequence != number) {
        fprintf (stderr, "ack of %" PRIu64 " as %" PRIu64 ", expected %" PRIu64 "\n",
                 number, sequence, acks->next);
        acks->wrong = true;
    }
    acks->next = number + 1;
}

//  -------------------------------------------------------------------------
//  Cases

//  Basic API: appends with headers acknowledged, a subscription that
//  replays them then goes live, list, purge, delete, invalid arguments.
static void
s_round_trip (void)
{
    s_zmxd_t zmxd;
    s_zmxd_new (&zmxd, NULL);
    zmx_stream_t *client = s_client_new (zmxd.endpoint);
    s_acks_t acks = { 1, false };
    zmx_stream_set_ack_fn (client, s_on_ack, &acks);

    ZMX_CHECK (zmx_stream_append (client, "bad/name", "a", NULL, 0, "", 0, NULL, 0, NULL)
               == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_append (client, S_STREAM, "a..b", NULL, 0, "", 0, NULL, 0, NULL)
               == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_subscribe (client, 1ULL << 63, S_STREAM, NULL,
                                     ZMX_STREAM_FROM_FIRST, 0, NULL) == ZMX_EINVAL);
    ZMX_CHECK (zmx_stream_subscribe (client, 1, S_STREAM, "a.>.b", ZMX_STREAM_FROM_FIRST, 0,
                                     NULL) == ZMX_EINVAL);

    zmx_stream_header_t headers [] = { { "severity", 0, "3", 1 }, { "host", 0, "h1", 2 } };
    uint64_t number;
    ZMX_CHECK (zmx_stream_append (client, S_STREAM, "app.db.error", headers, 2, "n=1;", 4,
                                  NULL, 0, &number) == ZMX_OK && number == 1);
    for (uint64_t index = 2; index <= 100; index++)
        s_append_numbered (client, index, 0);
    ZMX_CHECK (zmx_stream_sync (client, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (zmx_stream_acknowledged (client) == 100);
    ZMX_CHECK (zmx_stream_last_sequence (client) == 100);
    ZMX_CHECK (acks.next == 101 && !acks.wrong);

    ZMX_CHECK (zmx_stream_subscribe (client, 7, S_STREAM, "app.>", ZMX_STREAM_FROM_FIRST, 0,
                                     NULL) == ZMX_OK);
    zmx_stream_event_t event;
    ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (event.type == ZMX_STREAM_EVENT_RECORD && event.subscription == 7);
    ZMX_CHECK (event.record.sequence == 1 && streq (event.record.subject, "app.db.error"));
    ZMX_CHECK (event.record.header_count == 2);
    zmx_stream_header_t header;
    ZMX_CHECK (zmx_stream_event_header (&event, 1, &header));
    ZMX_CHECK (header.name_size == 4 && memcmp (header.name, "host", 4) == 0);
    ZMX_CHECK (header.value_size == 2 && memcmp (header.value, "h1", 2) == 0);
    ZMX_CHECK (!zmx_stream_event_header (&event, 2, &header));
    for (uint64_t sequence = 2; sequence <= 100; sequence++) {
        ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_OK);
        ZMX_CHECK (event.type == ZMX_STREAM_EVENT_RECORD && event.record.sequence == sequence);
    }
    ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (event.type == ZMX_STREAM_EVENT_LIVE && event.sequence == 100);
    s_append_numbered (client, 101, 0);
    ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (event.type == ZMX_STREAM_EVENT_RECORD && event.record.sequence == 101);
    ZMX_CHECK (zmx_stream_next (client, &event, 3 * S_HEARTBEAT) == ZMX_ETIMEDOUT);
    ZMX_CHECK (zmx_stream_unsubscribe (client, 7) == ZMX_OK);
    ZMX_CHECK (zmx_stream_unsubscribe (client, 7) == ZMX_EINVAL);

    zmx_stream_info_t *infos;
    size_t count;
    ZMX_CHECK (zmx_stream_list (client, &infos, &count, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (count == 1 && infos [0].records == 101 && infos [0].last_sequence == 101);
    free (infos);
    ZMX_CHECK (zmx_stream_purge (client, S_STREAM, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (zmx_stream_list (client, &infos, &count, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (count == 1 && infos [0].records == 0 && infos [0].last_sequence == 101);
    free (infos);
    ZMX_CHECK (zmx_stream_delete (client, S_STREAM, S_WAIT_MSEC) == ZMX_OK);
    ZMX_CHECK (zmx_stream_delete (client, S_STREAM, S_WAIT_MSEC) == ZMX_EINVAL);
    ZMX_CHECK (strlen (zmx_stream_error (client)) > 0);

    zmx_stream_counters_t counters;
    zmx_stream_counters (client, &counters);
    ZMX_CHECK (counters.invalid == 0 && counters.lost == 0);
    zmx_stream_destroy (&client);
    s_zmxd_destroy (&zmxd);
}

//  kill -9 of zmxd while acknowledged appends stream, ten rounds: every
//  acknowledged record is kept once, in order, and records sent again
//  after the restart (same message ids) are stored once.
static void
s_kill9_appends (void)
{
    s_zmxd_t zmxd;
    s_zmxd_new (&zmxd, "    fsync = \"always\"\n");
    zmx_stream_t *client = s_client_new (zmxd.endpoint);
    zmx_stream_set_window (client, 50, 256 * 1024, 8);
    s_acks_t acks = { 1, false };
    zmx_stream_set_ack_fn (client, s_on_ack, &acks);
    uint64_t number = 0;
    for (int round = 0; round < 10; round++) {
        uint64_t acked_before = zmx_stream_acknowledged (client);
        for (int index = 0; index < 1000; index++)
            s_append_numbered (client, ++number, 100);
        //  Some of this round is acknowledged, some still in flight
        ZMX_CHECK (zmx_stream_flush (client) == ZMX_OK);
        zmx_stream_event_t event;
        while (zmx_stream_acknowledged (client) == acked_before)
            ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_ETIMEDOUT
                       || zmx_stream_acknowledged (client) > acked_before);
        s_zmxd_kill (&zmxd);
        //  A few more go to the batch being built while zmxd is down
        for (int index = 0; index < 20; index++)
            s_append_numbered (client, ++number, 100);
        s_zmxd_restart (&zmxd);
        for (int index = 0; index < 500; index++)
            s_append_numbered (client, ++number, 100);
        ZMX_CHECK (zmx_stream_sync (client, S_WAIT_MSEC) == ZMX_OK);
        ZMX_CHECK (zmx_stream_acknowledged (client) == number);
        ZMX_CHECK (!acks.wrong && acks.next == number + 1);
    }
    zmx_stream_counters_t counters;
    zmx_stream_counters (client, &counters);
    ZMX_CHECK (counters.lost >= 10 && counters.invalid == 0);
    zmx_stream_destroy (&client);
    s_check_stream (zmxd.endpoint, number);
    s_zmxd_destroy (&zmxd);
}

//  A producer thread appends while a subscriber goes from history to
//  live: every record once, in order, one LIVE.
typedef struct {
    const char *endpoint;
    uint64_t count;
} s_producer_args_t;

static void
s_producer (zsock_t *pipe, void *args)
{
    s_producer_args_t *producer = (s_producer_args_t *) args;
    zmx_stream_t *client = s_client_new (producer->endpoint);
    zmx_stream_set_window (client, 64, 64 * 1024, 4);
    zsock_signal (pipe, 0);
    for (uint64_t number = 1; number <= producer->count; number++) {
        s_append_numbered (client, number, 50);
        //  Acknowledged every thousand: appends go on for a while
        if (number % 1000 == 0 && zmx_stream_sync (client, S_WAIT_MSEC) != ZMX_OK)
            break;
    }
    int rc = zmx_stream_sync (client, S_WAIT_MSEC);
    zmx_stream_destroy (&client);
    zsock_signal (pipe, rc == ZMX_OK? 0: 1);
    char *command = zstr_recv (pipe);      //  $TERM
    zstr_free (&command);
}

static void
s_handover (void)
{
    s_zmxd_t zmxd;
    s_zmxd_new (&zmxd, "    fsync = \"never\"\n");
    const uint64_t count = 30000;
    s_producer_args_t args = { zmxd.endpoint, count };
    zactor_t *producer = zactor_new (s_producer, &args);
    //  Subscribe once part of the stream is there, while appends go on
    zmx_stream_t *client = s_client_new (zmxd.endpoint);
    zmx_stream_info_t *infos = NULL;
    size_t info_count = 0;
    int64_t deadline = zclock_mono () + S_WAIT_MSEC;
    while (zclock_mono () < deadline) {
        free (infos);
        ZMX_CHECK (zmx_stream_list (client, &infos, &info_count, S_WAIT_MSEC) == ZMX_OK);
        if (info_count == 1 && infos [0].records >= 2000)
            break;
    }
    ZMX_CHECK (info_count == 1 && infos [0].records >= 2000);
    free (infos);
    zmx_stream_set_credit (client, 200);
    ZMX_CHECK (zmx_stream_subscribe (client, 1, S_STREAM, NULL, ZMX_STREAM_FROM_FIRST, 0,
                                     NULL) == ZMX_OK);
    uint64_t expected = 1;
    int lives = 0;
    bool live_during_appends = false;
    zmx_stream_event_t event;
    while (expected <= count) {
        ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_OK);
        if (event.type == ZMX_STREAM_EVENT_LIVE) {
            lives++;
            ZMX_CHECK (event.sequence == expected - 1);
            live_during_appends = event.sequence < count;
            continue;
        }
        ZMX_CHECK (event.type == ZMX_STREAM_EVENT_RECORD);
        if (event.record.sequence != expected)
            fprintf (stderr, "expected %" PRIu64 " got %" PRIu64 "\n", expected,
                     event.record.sequence);
        ZMX_CHECK (event.record.sequence == expected && s_body_number (&event) == expected);
        expected++;
    }
    if (lives == 0) {
        //  It caught up after the last append: LIVE comes after it
        ZMX_CHECK (zmx_stream_next (client, &event, S_WAIT_MSEC) == ZMX_OK);
        ZMX_CHECK (event.type == ZMX_STREAM_EVENT_LIVE && event.sequence == count);
        lives++;
    }
    ZMX_CHECK (zmx_stream_next (client, &event, 2 * S_HEARTBEAT) == ZMX_ETIMEDOUT);
    ZMX_CHECK (lives == 1);
    if (!live_during_appends)
        fprintf (stderr, "note: the subscriber caught up only after the last append\n");
    ZMX_CHECK (zsock_wait (producer) == 0);
    zactor_destroy (&producer);
    zmx_stream_destroy (&client);
    s_zmxd_destroy (&zmxd);
}

//  The durable consumer process (see the file header).
static int
s_consumer_main (const char *endpoint, const char *name, uint64_t count)
{
    zmx_stream_t *client = s_client_new (endpoint);
    if (zmx_stream_subscribe (client, 1, S_STREAM, NULL, ZMX_STREAM_FROM_FIRST, 0, name)
        != ZMX_OK) {
        printf ("cannot subscribe: %s\n", zmx_stream_error (client));
        return 1;
    }
    zmx_stream_event_t event;
    while (true) {
        int rc = zmx_stream_next (client, &event, 1000);
        if (rc == ZMX_ETERM)
            break;
        if (rc != ZMX_OK || event.type != ZMX_STREAM_EVENT_RECORD)
            continue;
        if (event.record.sequence <= count)
            zmx_stream_ack (client, 1, event.record.sequence);
        if (event.record.sequence == count) {
            //  A round trip: the server handled the ACKs sent before it
            zmx_stream_info_t *infos;
            size_t infos_count;
            if (zmx_stream_list (client, &infos, &infos_count, S_WAIT_MSEC) == ZMX_OK)
                free (infos);
            printf ("acked %" PRIu64 "\n", count);
            fflush (stdout);
        }
    }
    zmx_stream_destroy (&client);
    return 0;
}

//  Subscribe as durable consumer `name` and check that its first record
//  is `first`; then acknowledge up to `last` and close.
static void
s_consumer_resume (const char *endpoint, const char *name, uint64_t first, uint64_t last)
{
    zmx_stream_t *client = s_client_new (endpoint);
    //  The killed process's connection holds the consumer until zmxd
    //  expires it (three of its heartbeats): subscribe waits for that
    ZMX_CHECK (zmx_stream_subscribe (client, 1, S_STREAM, NULL, ZMX_STREAM_FROM_FIRST, 0,
                                     name) == ZMX_OK);
    zmx_stream_event_t event;
    for (uint64_t sequence = first; sequence <= last; sequence++) {
        s_next_record (client, &event);
        if (event.record.sequence != sequence)
            fprintf (stderr, "consumer at %" PRIu64 ", expected %" PRIu64 "\n",
                     event.record.sequence, sequence);
        ZMX_CHECK (event.record.sequence == sequence);
        ZMX_CHECK (zmx_stream_ack (client, 1, sequence) == ZMX_OK);
    }
    zmx_stream_info_t *infos;
    size_t count;
    ZMX_CHECK (zmx_stream_list (client, &infos, &count, S_WAIT_MSEC) == ZMX_OK);
    free (infos);
    zmx_stream_destroy (&client);
}

static void
s_durable_killed (void)
{
    s_zmxd_t zmxd;
    s_zmxd_new (&zmxd, NULL);
    zmx_stream_t *producer = s_client_new (zmxd.endpoint);
    for (uint64_t number = 1; number <= 3000; number++)
        s_append_numbered (producer, number, 20);
    ZMX_CHECK (zmx_stream_sync (producer, S_WAIT_MSEC) == ZMX_OK);
    zmx_stream_destroy (&producer);

    char *log = zsys_sprintf ("%s/consumer.log", zmxd.dir);
    char *argv [] = { "/proc/self/exe", "consumer", zmxd.endpoint, "c1", "1234", NULL };
    pid_t consumer = zmx_test_spawn (argv, log);
    bool acked = zmx_test_wait_for_text (log, "acked 1234\n", S_WAIT_MSEC);
    kill (consumer, SIGKILL);
    ZMX_CHECK (zmx_test_wait (consumer, 5000) != -1);
    if (!acked) {
        char *content = zmx_test_read_file (log);
        fprintf (stderr, "consumer:\n%s\n", content);
        free (content);
    }
    ZMX_CHECK (acked);
    //  The process had more records delivered, not acknowledged: they
    //  come again, from the first one not acknowledged
    s_consumer_resume (zmxd.endpoint, "c1", 1235, 2000);
    //  And the position survives a restart of zmxd
    s_zmxd_stop (&zmxd);
    s_zmxd_restart (&zmxd);
    s_consumer_resume (zmxd.endpoint, "c1", 2001, 3000);
    free (log);
    s_zmxd_destroy (&zmxd);
}

//  A subscriber that reads slowly does not make zmxd hold the stream:
//  its RSS grows by far less than the bytes appended.
static void
s_slow_subscriber (void)
{
    s_zmxd_t zmxd;
    s_zmxd_new (&zmxd, "    fsync = \"never\"\n");
    zmx_stream_t *producer = s_client_new (zmxd.endpoint);
    zmx_stream_t *reader = s_client_new (zmxd.endpoint);
    zmx_stream_set_credit (reader, 100);
    ZMX_CHECK (zmx_stream_subscribe (reader, 1, S_STREAM, NULL, ZMX_STREAM_FROM_FIRST, 0,
                                     NULL) == ZMX_OK);
    //  Warm up zmxd's allocator and buffers before the baseline
    for (uint64_t number = 1; number <= 2000; number++)
        s_append_numbered (producer, number, 1000);
    ZMX_CHECK (zmx_stream_sync (producer, S_WAIT_MSEC) == ZMX_OK);
    uint64_t baseline = s_rss_kib (zmxd.pid);
    ZMX_CHECK (baseline > 0);

    const uint64_t count = 80000;         //  About 80 MB
    uint64_t expected = 1, peak = baseline;
    zmx_stream_event_t event;
    for (uint64_t number = 2001; number <= count; number++) {
        s_append_numbered (producer, number, 1000);
        if (number % 1000 == 0) {
            //  The reader takes one record per thousand appended
            ZMX_CHECK (zmx_stream_next (reader, &event, S_WAIT_MSEC) == ZMX_OK);
            ZMX_CHECK (event.type == ZMX_STREAM_EVENT_RECORD
                    && event.record.sequence == expected);
            expected++;
            uint64_t rss = s_rss_kib (zmxd.pid);
            if (rss > peak)
                peak = rss;
        }
    }
    ZMX_CHECK (zmx_stream_sync (producer, S_WAIT_MSEC) == ZMX_OK);
    uint64_t rss = s_rss_kib (zmxd.pid);
    if (rss > peak)
        peak = rss;
    printf ("zmxd RSS: %" PRIu64 " KiB at start, peak %" PRIu64 " KiB, %" PRIu64
            " MB appended, reader at %" PRIu64 "\n", baseline, peak,
            count * 1010 / 1000000, expected);
    ZMX_CHECK (peak < baseline + 32 * 1024);

    //  Then it reads the rest at full speed, no gap
    while (expected <= count) {
        ZMX_CHECK (zmx_stream_next (reader, &event, S_WAIT_MSEC) == ZMX_OK);
        if (event.type == ZMX_STREAM_EVENT_LIVE)
            continue;
        ZMX_CHECK (event.type == ZMX_STREAM_EVENT_RECORD && event.record.sequence == expected);
        expected++;
    }
    zmx_stream_destroy (&producer);
    zmx_stream_destroy (&reader);
    s_zmxd_destroy (&zmxd);
}

//  A subscriber and a producer go on across zmxd restarts (kill -9 and
//  SIGTERM): the subscriber sees every record once, in order, the
//  producer's records are all stored once.
static void
s_recover_restart (void)
{
    s_zmxd_t zmxd;
    s_zmxd_new (&zmxd, "    fsync = \"always\"\n");
    zmx_stream_t *producer = s_client_new (zmxd.endpoint);
    zmx_stream_set_window (producer, 20, 64 * 1024, 4);
    zmx_stream_t *reader = s_client_new (zmxd.endpoint);
    zmx_stream_set_credit (reader, 50);
    ZMX_CHECK (zmx_stream_subscribe (reader, 9, S_STREAM, NULL, ZMX_STREAM_FROM_NEW, 0, NULL)
               == ZMX_OK);
    uint64_t number = 0, expected = 1;
    int lives = 0;
    zmx_stream_event_t event;
    for (int round = 0; round < 4; round++) {
        for (int index = 0; index < 300; index++)
            s_append_numbered (producer, ++number, 10);
        ZMX_CHECK (zmx_stream_flush (producer) == ZMX_OK);
        //  The reader is somewhere in this round when zmxd goes
        while (expected <= number - 150) {
            ZMX_CHECK (zmx_stream_next (reader, &event, S_WAIT_MSEC) == ZMX_OK);
            if (event.type == ZMX_STREAM_EVENT_LIVE) {
                lives++;
                continue;
            }
            ZMX_CHECK (event.record.sequence == expected && s_body_number (&event) == expected);
            expected++;
        }
        if (round % 2)
            s_zmxd_stop (&zmxd);
        else
            s_zmxd_kill (&zmxd);
        s_zmxd_restart (&zmxd);
        ZMX_CHECK (zmx_stream_sync (producer, S_WAIT_MSEC) == ZMX_OK);
        while (expected <= number) {
            ZMX_CHECK (zmx_stream_next (reader, &event, S_WAIT_MSEC) == ZMX_OK);
            if (event.type == ZMX_STREAM_EVENT_LIVE) {
                lives++;
                continue;
            }
            if (event.record.sequence != expected)
                fprintf (stderr, "reader got %" PRIu64 ", expected %" PRIu64 "\n",
                         event.record.sequence, expected);
            ZMX_CHECK (event.record.sequence == expected && s_body_number (&event) == expected);
            expected++;
        }
    }
    ZMX_CHECK (lives <= 1);
    zmx_stream_counters_t counters;
    zmx_stream_counters (reader, &counters);
    ZMX_CHECK (counters.reconnects >= 4 && counters.invalid == 0);
    zmx_stream_counters (producer, &counters);
    ZMX_CHECK (counters.reconnects >= 4 && counters.invalid == 0);
    zmx_stream_destroy (&producer);
    zmx_stream_destroy (&reader);
    s_check_stream (zmxd.endpoint, number);
    s_zmxd_destroy (&zmxd);
}

//  A server that answers garbage: every message is counted invalid and
//  dropped, nothing is taken as an answer, the calls time out.
static void
s_garbage_server (void)
{
    char *endpoint = NULL;
    zsock_t *router = zmx_test_router_new (NULL, &endpoint);
    ZMX_CHECK (router);
    zmx_stream_t *client = s_client_new (endpoint);
    zmx_stream_set_timeout (client, 1000);
    s_append_numbered (client, 1, 0);
    ZMX_CHECK (zmx_stream_flush (client) == ZMX_OK);
    //  HELLO then APPEND arrive; answer each with garbage of every kind
    zmsg_t *hello = zmx_test_recv (router, S_WAIT_MSEC);
    ZMX_CHECK (hello);
    zframe_t *identity = zmsg_pop (hello);
    zmsg_destroy (&hello);
    const char *garbage [] [3] = {
        { "APPENDED", "short", NULL }, { "WELCOME", "", NULL }, { "NOPE", NULL, NULL },
        { "RECORDS", "\x80\0\0\0\0\0\0\1", "x" }, { "ERROR", "\0\0\0\0\0\0\0\0", NULL }
    };
    for (size_t index = 0; index < 5; index++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addmem (msg, zframe_data (identity), zframe_size (identity));
        for (size_t field = 0; field < 3 && garbage [index] [field]; field++)
            zmsg_addmem (msg, garbage [index] [field],
                         field == 1 && index >= 3? 8: strlen (garbage [index] [field]));
        ZMX_CHECK (zmsg_send (&msg, router) == 0);
    }
    ZMX_CHECK (zmx_stream_sync (client, 1500) == ZMX_ETIMEDOUT);
    zmx_stream_counters_t counters;
    zmx_stream_counters (client, &counters);
    ZMX_CHECK (counters.invalid == 5 && zmx_stream_acknowledged (client) == 0);
    zframe_destroy (&identity);
    zmx_stream_destroy (&client);
    zsock_destroy (&router);
    free (endpoint);
}

int
main (int argc, char *argv [])
{
    if (argc == 5 && streq (argv [1], "consumer"))
        return s_consumer_main (argv [2], argv [3], strtoull (argv [4], NULL, 10));
    zmx_test_t cases [] = {
        { "round_trip", s_round_trip, 30 },
        { "garbage_server", s_garbage_server, 30 },
        { "kill9_appends", s_kill9_appends, 60 },
        { "handover", s_handover, 60 },
        { "durable_killed", s_durable_killed, 60 },
        { "slow_subscriber", s_slow_subscriber, 60 },
        { "recover_restart", s_recover_restart, 60 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
