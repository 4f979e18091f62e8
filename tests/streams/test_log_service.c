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

#define S_TIMEOUT_MS    5000

//  -------------------------------------------------------------------------
//  Helpers

typedef struct {
    char *dir;                  //  Temp directory
    char *data;                 //  data-directory
    zmx_service_t *service;
    char *endpoint;
} s_server_t;

//  Start the service on a free port with `keys` (NULL-terminated name,
//  value pairs) over the test defaults.
static void
s_server_start_keys (s_server_t *server, const char *const *keys)
{
    zconfig_t *config = zconfig_new ("log", NULL);
    zconfig_put (config, "endpoint", "tcp://127.0.0.1:*");
    zconfig_put (config, "data-directory", server->data);
    for (size_t at = 0; keys && keys [at]; at += 2)
        zconfig_put (config, keys [at], keys [at + 1]);
    server->service = zmx_service_new ("log", zmx_log_service_actor, config, NULL);
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
    if (reply.view.command != ZMX_STREAM_MSG_ERROR || reply.view.code != code)
        fprintf (stderr, "expected ERROR %u, got %s %u %.*s\n", code,
                 zmx_stream_msg_command_name (reply.view.command), reply.view.code,
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
    ZMX_CHECK (reply.view.max_record == 1 << 20 && reply.view.max_batch == 1000);
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

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "basic", s_basic, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
