/*  =========================================================================
    test_log_service - the "log" service (zmx_log_service_actor) driven
    over ZMXS1 with raw DEALER sockets and the codec: every command,
    appends acknowledged only when durable, de-duplication (also across a
    restart), every subscription start, credit, the history-to-live
    hand-over, durable consumers, DELETE and PURGE, garbage, client expiry,
    limits, and a slow subscriber that does not grow the server
    =========================================================================
*/
#include "testing.h"
#include "streams/zmx_log_service.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_TIMEOUT_MS    5000

//  RSS growth allowed while 200,000 records go past a slow subscriber:
//  looser under ASan, whose quarantine keeps freed blocks resident
#if defined (__SANITIZE_ADDRESS__)
#   define S_ASAN 1
#elif defined (__has_feature)
#   if __has_feature (address_sanitizer)
#       define S_ASAN 1
#   endif
#endif
#ifdef S_ASAN
#   define S_RSS_GROWTH_KIB (64 * 1024)
#else
#   define S_RSS_GROWTH_KIB (16 * 1024)
#endif

//  -------------------------------------------------------------------------
//  Helpers

typedef struct {
    char *dir;                  //  Temp directory
    char *data;                 //  data-directory
    zmx_service_t *service;
    char *endpoint;
    zmx_security_t *security;   //  Socket policy, NULL: plain
} s_server_t;

//  Start the service on a free port with `keys` (NULL-terminated name,
//  value pairs) over the test defaults.
static void
s_server_start_keys (s_server_t *server, const char *const *keys)
{
    zconfig_t *config = zconfig_new ("log", NULL);
    zconfig_put (config, "endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "data-directory", server->data);
    //  Never the default ingest ports in a test: none unless a case asks
    zconfig_put (config, "ingest-endpoint", "");
    zconfig_put (config, "syslog-endpoint", "");
    for (size_t at = 0; keys && keys [at]; at += 2)
        zconfig_put (config, keys [at], keys [at + 1]);
    server->service = zmx_service_new ("log", zmx_log_service_actor, config, server->security);
    zconfig_destroy (&config);
    ZMX_CHECK (server->service);
    freen (server->endpoint);
    server->endpoint = strdup (zmx_service_endpoint (server->service));
}

static void
s_server_new (s_server_t *server, const char *const *keys)
{
    memset (server, 0, sizeof *server);
    server->dir = zmx_test_tmpdir ();
    server->data = zsys_sprintf ("%s/streams", server->dir);
    s_server_start_keys (server, keys);
}

static void
s_server_destroy (s_server_t *server)
{
    zmx_service_destroy (&server->service);
    zmx_test_rmdir (server->dir);
    freen (server->dir);
    freen (server->data);
    freen (server->endpoint);
}

static zsock_t *
s_client (s_server_t *server)
{
    zsock_t *client = zmx_test_dealer_new (server->endpoint, S_TIMEOUT_MS);
    ZMX_CHECK (client);
    return client;
}

static void
s_send (zsock_t *client, zmx_stream_view_t *view)
{
    ZMX_CHECK (zmx_stream_msg_send (zsock_resolve (client), NULL, view, 0) == 0);
}

//  A received reply: the message (owns the frames) and its view.
typedef struct {
    zmx_stream_msg_t msg;
    zmx_stream_view_t view;
    bool held;
} s_reply_t;

static void
s_reply_close (s_reply_t *reply)
{
    if (reply->held)
        zmx_stream_msg_close (&reply->msg);
    reply->held = false;
}

//  The next reply other than PING/PONG within timeout_ms; false if none.
static bool
s_recv_within (zsock_t *client, s_reply_t *reply, int timeout_ms)
{
    s_reply_close (reply);
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zclock_mono () < deadline) {
        zsock_set_rcvtimeo (client, (int) (deadline - zclock_mono ()) + 1);
        if (zmx_stream_msg_recv (&reply->msg, zsock_resolve (client), 0))
            return false;
        reply->held = true;
        const char *error = NULL;
        int rc = zmx_stream_msg_decode_msg (&reply->msg, 0, ZMX_STREAM_MSG_CLIENT, &reply->view,
                                            &error);
        if (rc)
            fprintf (stderr, "undecodable reply: %s\n", error);
        ZMX_CHECK (rc == 0);
        if (reply->view.command != ZMX_STREAM_MSG_PING
        &&  reply->view.command != ZMX_STREAM_MSG_PONG)
            return true;
        s_reply_close (reply);
    }
    return false;
}

static void
s_recv (zsock_t *client, s_reply_t *reply)
{
    ZMX_CHECK (s_recv_within (client, reply, S_TIMEOUT_MS));
}

static void
s_expect_error (zsock_t *client, uint64_t tag, uint16_t code)
{
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    if (reply.view.command != ZMX_STREAM_MSG_ERROR || reply.view.code != code
    ||  reply.view.tag != tag)
        fprintf (stderr, "expected ERROR %u tag %" PRIu64 ", got %s %u tag %" PRIu64 " %.*s\n",
                 code, tag, zmx_stream_msg_command_name (reply.view.command), reply.view.code,
                 reply.view.tag,
                 (int) reply.view.reason_size, reply.view.reason? reply.view.reason: "");
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_ERROR);
    ZMX_CHECK (reply.view.code == code);
    ZMX_CHECK (reply.view.tag == tag);
    s_reply_close (&reply);
}

static void
s_expect_ok (zsock_t *client, uint64_t tag)
{
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_OK && reply.view.tag == tag);
    s_reply_close (&reply);
}

//  Send an APPEND of `count` records "subject" / body "<prefix>-<n>",
//  with message ids "<id_prefix>-<n>" when id_prefix is not NULL.
static void
s_append_send (zsock_t *client, uint64_t tag, const char *stream, const char *subject,
               size_t first, size_t count, const char *id_prefix, size_t body_size)
{
    size_t max = count * (64 + 2 * ZMX_STREAM_MSG_ID_MAX + strlen (subject) + body_size + 64);
    byte *batch = (byte *) malloc (max);
    byte *body = (byte *) malloc (body_size + 32);
    size_t at = 0;
    for (size_t index = first; index < first + count; index++) {
        char id [ZMX_STREAM_MSG_ID_MAX + 1] = "";
        if (id_prefix)
            snprintf (id, sizeof id, "%s-%zu", id_prefix, index);
        int text = snprintf ((char *) body, 32, "body-%zu", index);
        size_t size = body_size > (size_t) text? body_size: (size_t) text;
        memset (body + text, 'x', size - (size_t) text);
        at += zmx_stream_msg_batch_record_put (batch + at, subject, strlen (subject), id,
                                               strlen (id), NULL, 0, body, size);
    }
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_APPEND, .tag = tag, .stream = stream,
                               .stream_size = strlen (stream), .blob = batch,
                               .blob_size = at };
    s_send (client, &view);
    free (body);
    free (batch);
}

//  Wait for APPENDED `tag`; the sequences go to out (room for count).
static void
s_appended (zsock_t *client, uint64_t tag, uint64_t *out, size_t count)
{
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    if (reply.view.command != ZMX_STREAM_MSG_APPENDED)
        fprintf (stderr, "expected APPENDED, got %s %u %.*s\n",
                 zmx_stream_msg_command_name (reply.view.command), reply.view.code,
                 (int) reply.view.reason_size, reply.view.reason? reply.view.reason: "");
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_APPENDED);
    ZMX_CHECK (reply.view.tag == tag);
    ZMX_CHECK (reply.view.count == count);
    for (size_t index = 0; out && index < count; index++)
        out [index] = zmx_stream_msg_get_u64 (reply.view.blob + 8 * index);
    s_reply_close (&reply);
}

//  Append and wait for the acknowledgement; returns the last sequence.
static uint64_t
s_append (zsock_t *client, const char *stream, size_t first, size_t count, const char *ids)
{
    static uint64_t tag = 1000000;
    uint64_t *sequences = (uint64_t *) malloc (count * sizeof (uint64_t));
    s_append_send (client, ++tag, stream, "app.test", first, count, ids, 0);
    s_appended (client, tag, sequences, count);
    uint64_t last = sequences [count - 1];
    free (sequences);
    return last;
}

static void
s_subscribe_send (zsock_t *client, uint64_t tag, const char *stream, const char *pattern,
                  int from, uint64_t value, uint32_t credit, const char *durable,
                  uint32_t ack_wait)
{
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_SUBSCRIBE, .tag = tag,
                               .stream = stream, .stream_size = strlen (stream),
                               .pattern = pattern, .pattern_size = strlen (pattern),
                               .from = (uint8_t) from, .value = value, .credit = credit,
                               .durable = durable, .durable_size = strlen (durable),
                               .ack_wait_ms = ack_wait };
    s_send (client, &view);
}

//  Subscribe and wait for SUBSCRIBED; returns its position.
static uint64_t
s_subscribe (zsock_t *client, uint64_t tag, const char *stream, const char *pattern, int from,
             uint64_t value, uint32_t credit, const char *durable)
{
    s_subscribe_send (client, tag, stream, pattern, from, value, credit, durable, 0);
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    if (reply.view.command != ZMX_STREAM_MSG_SUBSCRIBED)
        fprintf (stderr, "expected SUBSCRIBED, got %s %u\n",
                 zmx_stream_msg_command_name (reply.view.command), reply.view.code);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_SUBSCRIBED && reply.view.tag == tag);
    uint64_t position = reply.view.sequence;
    s_reply_close (&reply);
    return position;
}

static void
s_credit (zsock_t *client, uint64_t tag, uint32_t more)
{
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_CREDIT, .tag = tag, .credit = more };
    s_send (client, &view);
}

static void
s_ack (zsock_t *client, uint64_t tag, const uint64_t *sequences, size_t count, bool ack)
{
    byte blob [8 * 64];
    for (size_t index = 0; index < count; index++)
        zmx_stream_msg_put_u64 (blob + 8 * index, sequences [index]);
    zmx_stream_view_t view = { .command = ack? ZMX_STREAM_MSG_ACK: ZMX_STREAM_MSG_NACK,
                               .tag = tag, .blob = blob, .blob_size = 8 * count };
    s_send (client, &view);
}

//  What a subscription received.
typedef struct {
    uint64_t sequences [4096];
    size_t count;
    bool live;
    uint64_t live_last;
    size_t live_at;             //  Records before LIVE
    bool dropped;
    uint64_t dropped_first;
} s_got_t;

//  Read replies for subscription `tag` until `want` records (and LIVE if
//  want_live) came, or timeout_ms of silence. Returns true if reached.
static bool
s_collect (zsock_t *client, uint64_t tag, s_got_t *got, size_t want, bool want_live,
           int timeout_ms)
{
    s_reply_t reply = { 0 };
    while (got->count < want || (want_live && !got->live)) {
        if (!s_recv_within (client, &reply, timeout_ms))
            return false;
        zmx_stream_view_t *view = &reply.view;
        ZMX_CHECK (view->tag == tag);
        if (view->command == ZMX_STREAM_MSG_RECORDS) {
            const byte *at = view->blob, *end = view->blob + view->blob_size;
            zmx_stream_delivered_t record;
            while (zmx_stream_msg_delivered_next (&at, end, &record)) {
                ZMX_CHECK (got->count < 4096);
                got->sequences [got->count++] = record.sequence;
            }
        }
        else
        if (view->command == ZMX_STREAM_MSG_LIVE) {
            ZMX_CHECK (!got->live);
            got->live = true;
            got->live_last = view->sequence;
            got->live_at = got->count;
        }
        else
        if (view->command == ZMX_STREAM_MSG_DROPPED) {
            got->dropped = true;
            got->dropped_first = view->first;
        }
        else {
            fprintf (stderr, "unexpected %s %u\n", zmx_stream_msg_command_name (view->command),
                     view->code);
            ZMX_CHECK (false);
        }
    }
    s_reply_close (&reply);
    return true;
}

//  Nothing more arrives within timeout_ms (PINGs aside).
static void
s_expect_silence (zsock_t *client, int timeout_ms)
{
    s_reply_t reply = { 0 };
    bool got = s_recv_within (client, &reply, timeout_ms);
    if (got)
        fprintf (stderr, "unexpected %s\n", zmx_stream_msg_command_name (reply.view.command));
    ZMX_CHECK (!got);
    s_reply_close (&reply);
}

static void
s_check_run (const s_got_t *got, uint64_t first, size_t count)
{
    ZMX_CHECK (got->count == count);
    for (size_t index = 0; index < count; index++)
        if (got->sequences [index] != first + index) {
            fprintf (stderr, "record %zu: sequence %" PRIu64 ", wanted %" PRIu64 "\n", index,
                     got->sequences [index], first + index);
            ZMX_CHECK (false);
        }
}

//  -------------------------------------------------------------------------
//  Cases

//  HELLO/WELCOME, PING/PONG, APPEND/APPENDED, SUBSCRIBE from first with
//  RECORDS and LIVE, then live records after more appends.
static void
s_basic (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    zmx_stream_view_t hello = { .command = ZMX_STREAM_MSG_HELLO, .version = 1,
                                .heartbeat_ms = 0 };
    s_send (client, &hello);
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_WELCOME);
    ZMX_CHECK (reply.view.max_record == 1 << 20 && reply.view.max_batch == 1024);
    zmx_stream_view_t ping = { .command = ZMX_STREAM_MSG_PING };
    s_send (client, &ping);
    zsock_set_rcvtimeo (client, S_TIMEOUT_MS);
    s_reply_close (&reply);
    ZMX_CHECK (zmx_stream_msg_recv (&reply.msg, zsock_resolve (client), 0) == 0);
    reply.held = true;
    ZMX_CHECK (zmx_stream_msg_decode_msg (&reply.msg, 0, ZMX_STREAM_MSG_CLIENT, &reply.view,
                                          NULL) == 0);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_PONG);
    s_reply_close (&reply);

    uint64_t sequences [10];
    s_append_send (client, 7, "log", "app.one", 0, 10, NULL, 0);
    s_appended (client, 7, sequences, 10);
    for (int index = 0; index < 10; index++)
        ZMX_CHECK (sequences [index] == (uint64_t) index + 1);
    ZMX_CHECK (s_subscribe (client, 1, "log", "", 0, 0, 100, "") == 1);
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 10, true, S_TIMEOUT_MS));
    s_check_run (got, 1, 10);
    ZMX_CHECK (got->live_at == 10 && got->live_last == 10);
    //  Live: more appends reach the subscriber, no gap, no repeat
    zsock_t *producer = s_client (&server);
    s_append (producer, "log", 10, 5, NULL);
    ZMX_CHECK (s_collect (client, 1, got, 15, false, S_TIMEOUT_MS));
    s_check_run (got, 1, 15);
    ZMX_CHECK (zmx_test_wait_counter (server.service, "delivered", 15, S_TIMEOUT_MS));
    ZMX_CHECK (zmx_service_counter (server.service, "appended") == 15);
    ZMX_CHECK (zmx_service_counter (server.service, "acked_batches") == 2);
    ZMX_CHECK (zmx_service_counter (server.service, "clients") == 2);
    ZMX_CHECK (zmx_service_counter (server.service, "subscriptions") == 1);
    ZMX_CHECK (zmx_service_counter (server.service, "streams") == 1);
    free (got);
    zsock_destroy (&producer);
    zsock_destroy (&client);
    s_server_destroy (&server);
}


//  Records with the given ids ("" for none) in one APPEND.
static void
s_append_ids (zsock_t *client, uint64_t tag, const char *stream, const char *const *ids,
              size_t count)
{
    byte batch [8192];
    size_t at = 0;
    for (size_t index = 0; index < count; index++)
        at += zmx_stream_msg_batch_record_put (batch + at, "app.dedup", 9, ids [index],
                                               strlen (ids [index]), NULL, 0, "x", 1);
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_APPEND, .tag = tag, .stream = stream,
                               .stream_size = strlen (stream), .blob = batch,
                               .blob_size = at };
    s_send (client, &view);
}

//  APPENDED waits for the fsync: under "interval" with a long interval it
//  comes only after that interval; under "always" at once.
static void
s_ack_when_durable (void)
{
    const char *keys [] = { "fsync", "interval", "fsync-interval", "400", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zsock_t *client = s_client (&server);
    int64_t start = zclock_mono ();
    s_append (client, "slow", 0, 10, NULL);
    int64_t took = zclock_mono () - start;
    ZMX_CHECK (took >= 300);
    zsock_destroy (&client);
    s_server_destroy (&server);

    const char *always [] = { "fsync", "always", NULL };
    s_server_new (&server, always);
    client = s_client (&server);
    start = zclock_mono ();
    for (int round = 0; round < 5; round++)
        s_append (client, "fast", (size_t) round * 10, 10, NULL);
    ZMX_CHECK (zclock_mono () - start < 2000);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Many APPENDs sent without waiting: every one acknowledged, in order,
//  with consecutive sequences.
static void
s_pipelined (void)
{
    const char *keys [] = { "max-pending-appends", "100", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zsock_t *client = s_client (&server);
    for (uint64_t tag = 1; tag <= 100; tag++)
        s_append_send (client, tag, "pipe", "app.p", (size_t) tag * 20, 20, NULL, 100);
    uint64_t expected = 1;
    for (uint64_t tag = 1; tag <= 100; tag++) {
        uint64_t sequences [20];
        s_appended (client, tag, sequences, 20);
        for (int index = 0; index < 20; index++)
            ZMX_CHECK (sequences [index] == expected++);
    }
    ZMX_CHECK (zmx_service_counter (server.service, "appended") == 2000);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  A message id is stored once: within a batch, across batches, and
//  across a restart of the service (rebuilt from the stream's tail).
static void
s_dedup (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    const char *first [] = { "a", "b", "a", "", "" };
    uint64_t sequences [5];
    s_append_ids (client, 1, "d", first, 5);
    s_appended (client, 1, sequences, 5);
    ZMX_CHECK (sequences [0] == 1 && sequences [1] == 2 && sequences [2] == 1);
    ZMX_CHECK (sequences [3] == 3 && sequences [4] == 4);
    const char *second [] = { "b", "c" };
    s_append_ids (client, 2, "d", second, 2);
    s_appended (client, 2, sequences, 2);
    ZMX_CHECK (sequences [0] == 2 && sequences [1] == 5);
    //  The same id in another stream is another message
    s_append_ids (client, 3, "other", second, 1);
    s_appended (client, 3, sequences, 1);
    ZMX_CHECK (sequences [0] == 1);
    ZMX_CHECK (zmx_service_counter (server.service, "duplicates") == 2);
    zsock_destroy (&client);
    zmx_service_destroy (&server.service);

    s_server_start_keys (&server, NULL);
    client = s_client (&server);
    const char *third [] = { "c", "a", "d" };
    s_append_ids (client, 4, "d", third, 3);
    s_appended (client, 4, sequences, 3);
    ZMX_CHECK (sequences [0] == 5 && sequences [1] == 1 && sequences [2] == 6);
    ZMX_CHECK (zmx_service_counter (server.service, "duplicates") == 2);
    zsock_destroy (&client);
    s_server_destroy (&server);

    //  Outside the window an id is new again
    const char *short_window [] = { "dedup-window", "100", NULL };
    s_server_new (&server, short_window);
    client = s_client (&server);
    s_append_ids (client, 1, "d", first, 1);
    s_appended (client, 1, sequences, 1);
    zclock_sleep (200);             //  Letting the window pass is the point
    s_append_ids (client, 2, "d", first, 1);
    s_appended (client, 2, sequences, 1);
    ZMX_CHECK (sequences [0] == 2);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Every start: first, sequence, time, last N, new only; and a pattern.
static void
s_subscribe_from (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    s_append (client, "s", 0, 10, NULL);
    zclock_sleep (20);              //  A time between two batches
    int64_t middle = (int64_t) zclock_time () * 1000000;
    zclock_sleep (20);
    s_append (client, "s", 10, 10, NULL);
    struct { int from; uint64_t value; uint64_t first; size_t count; } starts [] = {
        { 0, 0, 1, 20 }, { 1, 15, 15, 6 }, { 2, (uint64_t) middle, 11, 10 }, { 3, 3, 18, 3 },
        { 4, 0, 21, 0 }
    };
    for (size_t index = 0; index < 5; index++) {
        uint64_t tag = 100 + index;
        s_subscribe (client, tag, "s", "", starts [index].from, starts [index].value, 1000, "");
        s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
        ZMX_CHECK (s_collect (client, tag, got, starts [index].count, true, S_TIMEOUT_MS));
        s_check_run (got, starts [index].first, starts [index].count);
        ZMX_CHECK (got->live_last == 20);
        free (got);
    }
    //  "new" then gets what comes next
    zsock_t *producer = s_client (&server);
    s_append (producer, "s", 20, 2, NULL);
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    for (size_t index = 0; index < 5; index++) {
        memset (got, 0, sizeof *got);
        ZMX_CHECK (s_collect (client, 100 + index, got, 2, false, S_TIMEOUT_MS));
        s_check_run (got, 21, 2);
    }
    //  A pattern: only matching subjects
    s_append_send (producer, 50, "s", "other.subject", 0, 3, NULL, 0);
    s_appended (producer, 50, NULL, 3);
    for (size_t index = 0; index < 5; index++) {
        memset (got, 0, sizeof *got);
        ZMX_CHECK (s_collect (client, 100 + index, got, 3, false, S_TIMEOUT_MS));
    }
    s_subscribe (client, 200, "s", "other.>", 0, 0, 1000, "");
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (client, 200, got, 3, true, S_TIMEOUT_MS));
    ZMX_CHECK (got->count == 3 && got->sequences [0] == 23);
    //  A stream that does not exist yet: LIVE at once, then its records
    s_subscribe (client, 300, "later", "", 0, 0, 1000, "");
    s_reply_t reply = { 0 };
    bool live = false;
    while (!live && s_recv_within (client, &reply, S_TIMEOUT_MS))
        live = reply.view.command == ZMX_STREAM_MSG_LIVE && reply.view.tag == 300;
    s_reply_close (&reply);
    ZMX_CHECK (live);
    free (got);
    zsock_destroy (&producer);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Credit is respected exactly: no record past it, CREDIT gives more.
static void
s_credit_exact (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    s_append (client, "c", 0, 100, NULL);
    s_subscribe (client, 1, "c", "", 0, 0, 5, "");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 5, false, S_TIMEOUT_MS));
    s_expect_silence (client, 300);
    s_check_run (got, 1, 5);
    s_credit (client, 1, 3);
    ZMX_CHECK (s_collect (client, 1, got, 8, false, S_TIMEOUT_MS));
    s_expect_silence (client, 300);
    s_check_run (got, 1, 8);
    ZMX_CHECK (!got->live);
    s_credit (client, 1, 92);
    ZMX_CHECK (s_collect (client, 1, got, 100, true, S_TIMEOUT_MS));
    s_check_run (got, 1, 100);
    //  Unknown subscription: 404
    s_credit (client, 99, 1);
    s_expect_error (client, 99, 404);
    //  UNSUBSCRIBE: OK, then nothing more
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_UNSUBSCRIBE, .tag = 1 };
    s_send (client, &view);
    s_expect_ok (client, 1);
    s_append (client, "c", 100, 5, NULL);
    s_expect_silence (client, 300);
    free (got);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Producer actor for the hand-over case: appends `rounds` batches.
static void
s_producer (zsock_t *pipe, void *args)
{
    const char *endpoint = (const char *) args;
    zsock_t *client = zmx_test_dealer_new (endpoint, S_TIMEOUT_MS);
    zsock_signal (pipe, 0);
    for (size_t round = 0; round < 40; round++) {
        s_append_send (client, round + 1, "h", "app.h", round * 50, 50, NULL, 50);
        s_appended (client, round + 1, NULL, 50);
    }
    zsock_destroy (&client);
    char *command = zstr_recv (pipe);   //  $TERM
    zstr_free (&command);
}

//  History then live while a producer appends: no gap, no duplicate.
static void
s_handover (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    s_append (client, "h", 0, 500, NULL);
    zactor_t *producer = zactor_new (s_producer, server.endpoint);
    s_subscribe (client, 1, "h", "", 0, 0, 10000, "");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 2500, true, 10000));
    s_check_run (got, 1, 2500);
    ZMX_CHECK (got->live);
    zactor_destroy (&producer);
    free (got);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Durable consumers: position advanced by ACK, redelivery after the ack
//  wait and on NACK, 409 for a second connection, position kept across
//  a reconnection and a restart.
static void
s_durable (void)
{
    const char *keys [] = { "heartbeat-interval", "200", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zsock_t *client = s_client (&server);
    s_append (client, "d", 0, 10, NULL);
    s_subscribe_send (client, 1, "d", "", 0, 0, 10, "worker", 300);
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_SUBSCRIBED && reply.view.sequence == 1);
    s_reply_close (&reply);
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 10, true, S_TIMEOUT_MS));
    s_check_run (got, 1, 10);
    //  A second connection: 409
    zsock_t *other = s_client (&server);
    s_subscribe_send (other, 1, "d", "", 0, 0, 10, "worker", 0);
    s_expect_error (other, 1, 409);
    //  Ack 1..5; 6..10 come again after the ack wait (each sending uses
    //  one credit)
    uint64_t acked [5] = { 1, 2, 3, 4, 5 };
    s_ack (client, 1, acked, 5, true);
    s_credit (client, 1, 5);
    memset (got, 0, sizeof *got);
    int64_t start = zclock_mono ();
    ZMX_CHECK (s_collect (client, 1, got, 5, false, S_TIMEOUT_MS));
    ZMX_CHECK (zclock_mono () - start >= 200);
    s_check_run (got, 6, 5);
    ZMX_CHECK (zmx_service_counter (server.service, "redelivered") == 5);
    //  NACK 6: sent again at once, long before its ack wait
    uint64_t nacked = 6;
    s_credit (client, 1, 1);
    s_ack (client, 1, &nacked, 1, false);
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (client, 1, got, 1, false, 250));
    ZMX_CHECK (got->sequences [0] == 6);
    //  The consumer's process dies: once its connection expires the
    //  consumer is free again, at 6 (the first not acknowledged)
    zsock_destroy (&client);
    ZMX_CHECK (zmx_test_wait_counter (server.service, "subscriptions", 0, S_TIMEOUT_MS));
    s_append (other, "d", 10, 10, NULL);
    s_subscribe_send (other, 2, "d", "", 0, 0, 100, "worker", 0);
    s_recv (other, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_SUBSCRIBED && reply.view.sequence == 6);
    s_reply_close (&reply);
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (other, 2, got, 15, true, S_TIMEOUT_MS));
    s_check_run (got, 6, 15);
    uint64_t more [3] = { 6, 7, 8 };
    s_ack (other, 2, more, 3, true);
    ZMX_CHECK (zmx_service_counter (server.service, "consumers") == 1);
    zsock_destroy (&other);
    //  Restart of the service: the position (9) survives
    zmx_service_destroy (&server.service);
    s_server_start_keys (&server, keys);
    client = s_client (&server);
    ZMX_CHECK (zmx_service_counter (server.service, "consumers") == 1);
    s_subscribe_send (client, 3, "d", "", 0, 0, 100, "worker", 0);
    s_recv (client, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_SUBSCRIBED && reply.view.sequence == 9);
    s_reply_close (&reply);
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (client, 3, got, 12, true, S_TIMEOUT_MS));
    s_check_run (got, 9, 12);
    free (got);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  STREAMS lists every stream with its consumers; PURGE keeps the
//  sequence and tells subscribers DROPPED; DELETE removes the stream.
static void
s_streams_delete_purge (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    s_append (client, "one", 0, 10, NULL);
    s_append (client, "two", 0, 3, NULL);
    s_subscribe (client, 1, "two", "", 0, 0, 100, "reader");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 3, true, S_TIMEOUT_MS));
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_STREAMS, .tag = 9 };
    s_send (client, &view);
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_STREAMINFO && reply.view.count == 2);
    const byte *at = reply.view.blob, *end = at + reply.view.blob_size;
    zmx_stream_info_wire_t info;
    ZMX_CHECK (zmx_stream_msg_info_next (&at, end, &info));
    ZMX_CHECK (info.name_size == 3 && memcmp (info.name, "one", 3) == 0);
    ZMX_CHECK (info.records == 10 && info.first_sequence == 1 && info.last_sequence == 10);
    ZMX_CHECK (info.consumers == 0);
    ZMX_CHECK (zmx_stream_msg_info_next (&at, end, &info));
    ZMX_CHECK (info.records == 3 && info.consumers == 1);
    s_reply_close (&reply);
    //  A subscriber of "one" in the middle of it, then PURGE
    s_subscribe (client, 2, "one", "", 1, 5, 3, "");
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (client, 2, got, 3, false, S_TIMEOUT_MS));
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_PURGE, .tag = 10, .stream = "one",
                                 .stream_size = 3 };
    s_send (client, &view);
    s_expect_ok (client, 10);
    s_credit (client, 2, 10);
    zsock_t *producer = s_client (&server);
    uint64_t last = s_append (producer, "one", 10, 2, NULL);
    ZMX_CHECK (last == 12);
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (client, 2, got, 2, true, S_TIMEOUT_MS));
    ZMX_CHECK (got->dropped && got->dropped_first == 11);
    s_check_run (got, 11, 2);
    //  DELETE: the subscription ends with 404, the name is free again
    view.command = ZMX_STREAM_MSG_DELETE;
    view.tag = 11;
    view.stream = "two";
    s_send (client, &view);
    s_expect_error (client, 1, 404);
    s_expect_ok (client, 11);
    s_send (client, &view);
    s_expect_error (client, 11, 404);
    ZMX_CHECK (zmx_service_counter (server.service, "consumers") == 0);
    ZMX_CHECK (s_append (producer, "two", 0, 1, NULL) == 1);
    zsock_destroy (&producer);
    free (got);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Send raw frames (strings, "" is an empty frame; "#N" N bytes of 'g').
static void
s_send_raw (zsock_t *client, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, client);
    const char *frame;
    while ((frame = va_arg (args, const char *))) {
        if (frame [0] == '#') {
            size_t size = (size_t) atol (frame + 1);
            char *data = (char *) malloc (size);
            memset (data, 'g', size);
            zmsg_addmem (msg, data, size);
            free (data);
        }
        else
            zmsg_addstr (msg, frame);
    }
    va_end (args);
    zmsg_send (&msg, client);
}

//  Garbage is answered 400 and counted; a good client goes on meanwhile.
static void
s_garbage (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *good = s_client (&server);
    zsock_t *bad = s_client (&server);
    s_subscribe (good, 1, "g", "", 0, 0, 10000, "");
    byte tag [8] = { 0, 0, 0, 0, 0, 0, 0, 42 };
    s_send_raw (bad, "NOPE", NULL);
    s_expect_error (bad, 0, 400);
    s_send_raw (bad, "APPEND", NULL);                   //  Too few frames
    s_expect_error (bad, 0, 400);
    zmsg_t *msg = zmsg_new ();                          //  Bad batch, tag kept
    zmsg_addstr (msg, "APPEND");
    zmsg_addmem (msg, tag, 8);
    zmsg_addstr (msg, "g");
    zmsg_addstr (msg, "not a batch");
    zmsg_send (&msg, bad);
    s_expect_error (bad, 42, 400);
    msg = zmsg_new ();                                  //  Too many frames
    zmsg_addstr (msg, "STREAMS");
    for (int index = 0; index < 20; index++)
        zmsg_addmem (msg, tag, 8);
    zmsg_send (&msg, bad);
    s_expect_error (bad, 42, 400);                      //  The tag could be read
    s_send_raw (bad, "#2000000", NULL);                 //  A huge command word
    s_expect_error (bad, 0, 400);
    s_send_raw (bad, "WELCOME", NULL);                  //  A server's command
    s_expect_error (bad, 0, 400);
    msg = zmsg_new ();                                  //  Bad stream name
    zmsg_addstr (msg, "PURGE");
    zmsg_addmem (msg, tag, 8);
    zmsg_addstr (msg, "../etc");
    zmsg_send (&msg, bad);
    s_expect_error (bad, 42, 400);
    msg = zmsg_new ();                                  //  `from` out of range
    byte from = 9, zero [8] = { 0 }, credit [4] = { 0, 0, 0, 1 };
    zmsg_addstr (msg, "SUBSCRIBE");
    zmsg_addmem (msg, tag, 8);
    zmsg_addstr (msg, "g");
    zmsg_addstr (msg, "");
    zmsg_addmem (msg, &from, 1);
    zmsg_addmem (msg, zero, 8);
    zmsg_addmem (msg, credit, 4);
    zmsg_addstr (msg, "");
    zmsg_addmem (msg, credit, 4);
    zmsg_send (&msg, bad);
    s_expect_error (bad, 42, 400);
    //  ACK on a subscription that is not durable
    s_subscribe (bad, 5, "g", "", 4, 0, 1, "");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (bad, 5, got, 0, true, S_TIMEOUT_MS));
    memset (got, 0, sizeof *got);
    uint64_t one = 1;
    s_ack (bad, 5, &one, 1, true);
    s_expect_error (bad, 5, 400);
    ZMX_CHECK (zmx_service_counter (server.service, "invalid") == 9);
    //  Meanwhile the good client is served
    zsock_t *producer = s_client (&server);
    s_append (producer, "g", 0, 5, NULL);
    zsock_destroy (&producer);
    ZMX_CHECK (s_collect (good, 1, got, 5, true, S_TIMEOUT_MS));
    s_check_run (got, 1, 5);
    free (got);
    zsock_destroy (&bad);
    zsock_destroy (&good);
    s_server_destroy (&server);
}

//  A client that goes silent is forgotten, with its subscriptions.
static void
s_client_expiry (void)
{
    s_server_t server;
    s_server_new (&server, NULL);
    zsock_t *client = s_client (&server);
    zmx_stream_view_t hello = { .command = ZMX_STREAM_MSG_HELLO, .version = 1,
                                .heartbeat_ms = 100 };
    s_send (client, &hello);
    s_reply_t reply = { 0 };
    s_recv (client, &reply);
    ZMX_CHECK (reply.view.command == ZMX_STREAM_MSG_WELCOME);
    s_reply_close (&reply);
    s_subscribe_send (client, 1, "e", "", 0, 0, 10, "", 0);
    s_subscribe_send (client, 2, "e", "", 0, 0, 10, "", 0);
    ZMX_CHECK (zmx_test_wait_counter (server.service, "subscriptions", 2, S_TIMEOUT_MS));
    ZMX_CHECK (zmx_service_counter (server.service, "subscriptions") == 2);
    //  Silent for 3 x 100 ms: gone
    ZMX_CHECK (zmx_test_wait_counter (server.service, "subscriptions", 0, 3000));
    ZMX_CHECK (zmx_test_wait_counter (server.service, "clients", 0, 3000));
    ZMX_CHECK (zmx_service_counter (server.service, "expired") == 1);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  Each limit's overflow behaviour.
static void
s_limits (void)
{
    const char *keys [] = { "max-subscriptions", "2", "max-batch", "10", "max-record", "100",
                            "max-streams", "2", "max-clients", "2", "max-consumers", "1",
                            "max-credit", "5", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zsock_t *client = s_client (&server);
    s_append_send (client, 1, "a", "app.x", 0, 11, NULL, 0);        //  Batch too big
    s_expect_error (client, 1, 413);
    s_append_send (client, 2, "a", "app.x", 0, 1, NULL, 200);       //  Record too big
    s_expect_error (client, 2, 413);
    s_append (client, "a", 0, 10, NULL);
    s_append (client, "b", 0, 1, NULL);
    s_append_send (client, 3, "c", "app.x", 0, 1, NULL, 0);         //  Third stream
    s_expect_error (client, 3, 429);
    //  max-credit: credit 1000 is cut to 5
    s_subscribe (client, 10, "a", "", 0, 0, 1000, "");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 10, got, 5, false, S_TIMEOUT_MS));
    s_expect_silence (client, 200);
    s_subscribe (client, 11, "a", "", 0, 0, 1, "only");
    memset (got, 0, sizeof *got);
    ZMX_CHECK (s_collect (client, 11, got, 1, false, S_TIMEOUT_MS));
    s_subscribe_send (client, 12, "a", "", 0, 0, 1, "", 0);        //  Third subscription
    s_expect_error (client, 12, 429);
    s_subscribe_send (client, 10, "a", "", 0, 0, 1, "", 0);        //  Tag in use
    s_expect_error (client, 10, 409);
    zsock_t *second = s_client (&server);
    s_subscribe_send (second, 1, "a", "", 0, 0, 1, "another", 0);  //  Second consumer
    s_expect_error (second, 1, 429);
    zsock_t *third = s_client (&server);                            //  Third client
    zmx_stream_view_t ping = { .command = ZMX_STREAM_MSG_STREAMS, .tag = 5 };
    s_send (third, &ping);
    s_expect_error (third, 0, 429);
    ZMX_CHECK (zmx_service_counter (server.service, "refused") >= 1);
    free (got);
    zsock_destroy (&third);
    zsock_destroy (&second);
    zsock_destroy (&client);
    s_server_destroy (&server);

    //  max-pending-appends: batches waiting for a slow fsync
    const char *slow [] = { "fsync-interval", "2000", "max-pending-appends", "2", NULL };
    s_server_new (&server, slow);
    client = s_client (&server);
    for (uint64_t tag = 1; tag <= 3; tag++)
        s_append_send (client, tag, "p", "app.x", 0, 1, NULL, 0);
    s_expect_error (client, 3, 429);
    s_appended (client, 1, NULL, 1);
    s_appended (client, 2, NULL, 1);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  max-ack-pending stops new records to a consumer until an ACK;
//  dedup-max forgets the oldest id.
static void
s_limits_consumer_dedup (void)
{
    const char *keys [] = { "max-ack-pending", "3", "dedup-max", "2", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zsock_t *client = s_client (&server);
    s_append (client, "a", 0, 10, NULL);
    s_subscribe (client, 1, "a", "", 0, 0, 10, "slow");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 3, false, S_TIMEOUT_MS));
    s_expect_silence (client, 300);
    s_check_run (got, 1, 3);
    uint64_t first = 1;
    s_ack (client, 1, &first, 1, true);
    ZMX_CHECK (s_collect (client, 1, got, 4, false, S_TIMEOUT_MS));
    s_expect_silence (client, 300);
    s_check_run (got, 1, 4);
    zsock_t *producer = s_client (&server);
    const char *ids [] = { "a", "b", "c", "a" };
    uint64_t sequences [4];
    s_append_ids (producer, 1, "ids", ids, 4);
    s_appended (producer, 1, sequences, 4);
    ZMX_CHECK (sequences [3] == 4);         //  "a" was forgotten: stored again
    ZMX_CHECK (zmx_service_counter (server.service, "dedup_entries") == 2);
    free (got);
    zsock_destroy (&producer);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

//  With CURVE on, as every service socket: a plain client gets nothing,
//  a CURVE client with an allowed key is served.
static void
s_curve (void)
{
    s_server_t server;
    memset (&server, 0, sizeof server);
    server.dir = zmx_test_tmpdir ();
    server.data = zsys_sprintf ("%s/streams", server.dir);
    char *server_cert = zsys_sprintf ("%s/server.cert", server.dir);
    char *client_cert = zsys_sprintf ("%s/client.cert", server.dir);
    server.security = zmx_test_curve_policy (server_cert, client_cert);
    s_server_start_keys (&server, NULL);
    zsock_t *plain = s_client (&server);
    s_append_send (plain, 1, "c", "app.c", 0, 1, NULL, 0);
    s_reply_t reply = { 0 };
    ZMX_CHECK (!s_recv_within (plain, &reply, 500));
    zsock_t *sealed = zsock_new (ZMQ_DEALER);
    zsock_set_linger (sealed, 0);
    ZMX_CHECK (zmx_security_client_curve (sealed, client_cert, server_cert) == ZMX_OK);
    ZMX_CHECK (zsock_connect (sealed, "%s", server.endpoint) == 0);
    ZMX_CHECK (s_append (sealed, "c", 0, 3, NULL) == 3);
    ZMX_CHECK (zmx_service_counter (server.service, "appended") == 3);
    zsock_destroy (&sealed);
    zsock_destroy (&plain);
    zmx_service_destroy (&server.service);
    zmx_security_destroy (&server.security);
    zstr_free (&server_cert);
    zstr_free (&client_cert);
    s_server_destroy (&server);
}

//  The ingest's ways in: a plain PUB and a syslog datagram become records
//  of the default stream, delivered live to a subscriber; the endpoints
//  are in READY, the counters in COUNTERS.
static void
s_ingest (void)
{
    const char *keys [] = { "ingest-endpoint", "tcp://127.0.0.1:*", "syslog-endpoint",
                            "udp://127.0.0.1:0", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zlist_t *endpoints = zmx_service_endpoints (server.service);
    ZMX_CHECK (zlist_size (endpoints) == 3);
    ZMX_CHECK_STR ((const char *) zlist_first (endpoints), server.endpoint);
    char *ingest = strdup ((const char *) zlist_next (endpoints));
    ZMX_CHECK (strncmp (ingest, "tcp://127.0.0.1:", 16) == 0);
    char *syslog = strdup ((const char *) zlist_next (endpoints));
    ZMX_CHECK (strncmp (syslog, "udp://127.0.0.1:", 16) == 0 && !strstr (syslog, ":0"));
    zlist_destroy (&endpoints);
    zsock_t *client = s_client (&server);
    s_subscribe (client, 1, "log", "", 0, 0, 1000, "");
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (client, 1, got, 0, true, S_TIMEOUT_MS));
    //  A PUB's first messages may go before the connection is up: send
    //  until one is stored, then one more
    zsock_t *pub = zsock_new (ZMQ_PUB);
    zsock_set_linger (pub, 0);
    ZMX_CHECK (zsock_connect (pub, "%s", ingest) == 0);
    int64_t deadline = zclock_mono () + S_TIMEOUT_MS;
    while (zmx_service_counter (server.service, "zmq_appended") == 0
    &&     zclock_mono () < deadline) {
        zstr_sendm (pub, "app.pub");
        zstr_send (pub, "hello");
        zclock_sleep (20);
    }
    uint64_t published = zmx_service_counter (server.service, "zmq_appended");
    ZMX_CHECK (published >= 1);
    //  Syslog: one RFC 3164 datagram
    int udp = socket (AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_port = htons ((uint16_t) atoi (strrchr (syslog, ':') + 1));
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    const char *line = "<11>Dec  4 10:00:00 myhost myapp[42]: disk full";
    ZMX_CHECK (sendto (udp, line, strlen (line), 0, (struct sockaddr *) &address,
                       sizeof address) == (ssize_t) strlen (line));
    close (udp);
    ZMX_CHECK (zmx_test_wait_counter (server.service, "syslog_appended", 1, S_TIMEOUT_MS));
    //  Delivered live, in order, all of them (a late PUB message too)
    uint64_t total = 0;
    while (total != zmx_service_counter (server.service, "appended")) {
        total = zmx_service_counter (server.service, "appended");
        ZMX_CHECK (s_collect (client, 1, got, (size_t) total, false, S_TIMEOUT_MS));
    }
    ZMX_CHECK (total >= 2);
    s_check_run (got, 1, (size_t) total);
    free (got);
    free (ingest);
    free (syslog);
    zsock_destroy (&pub);
    zsock_destroy (&client);
    s_server_destroy (&server);
}

static size_t
s_rss_kib (void)
{
    char *status = zmx_test_read_file ("/proc/self/status");
    const char *line = strstr (status, "VmRSS:");
    size_t rss = line? (size_t) atol (line + 6): 0;
    free (status);
    return rss;
}

//  A subscriber with credit 10 that never reads while 200,000 records
//  are appended: it gets 10, and the process does not grow with the
//  records (they stay in the files, not in queues).
static void
s_slow_subscriber (void)
{
    const char *keys [] = { "fsync", "never", NULL };
    s_server_t server;
    s_server_new (&server, keys);
    zsock_t *slow = s_client (&server);
    s_subscribe (slow, 1, "big", "", 0, 0, 10, "");
    zsock_t *producer = s_client (&server);
    s_append (producer, "big", 0, 1000, NULL);
    size_t before = s_rss_kib ();
    for (size_t round = 1; round < 200; round++)
        s_append (producer, "big", round * 1000, 1000, NULL);
    size_t after = s_rss_kib ();
    printf ("RSS %zu KiB before, %zu KiB after 199,000 more records\n", before, after);
    ZMX_CHECK (zmx_service_counter (server.service, "appended") == 200000);
    ZMX_CHECK (zmx_service_counter (server.service, "delivered") == 10);
    ZMX_CHECK (after < before + S_RSS_GROWTH_KIB);
    s_got_t *got = (s_got_t *) zmalloc (sizeof (s_got_t));
    ZMX_CHECK (s_collect (slow, 1, got, 10, false, S_TIMEOUT_MS));
    s_check_run (got, 1, 10);
    free (got);
    zsock_destroy (&producer);
    zsock_destroy (&slow);
    s_server_destroy (&server);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "basic", s_basic, 30 },
        { "ack_when_durable", s_ack_when_durable, 30 },
        { "pipelined", s_pipelined, 30 },
        { "dedup", s_dedup, 30 },
        { "subscribe_from", s_subscribe_from, 30 },
        { "credit_exact", s_credit_exact, 30 },
        { "handover", s_handover, 40 },
        { "durable", s_durable, 40 },
        { "streams_delete_purge", s_streams_delete_purge, 30 },
        { "garbage", s_garbage, 30 },
        { "client_expiry", s_client_expiry, 30 },
        { "limits", s_limits, 30 },
        { "limits_consumer_dedup", s_limits_consumer_dedup, 30 },
        { "curve", s_curve, 30 },
        { "ingest", s_ingest, 30 },
        { "slow_subscriber", s_slow_subscriber, 50 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
