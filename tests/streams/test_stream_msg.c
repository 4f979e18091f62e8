/*  =========================================================================
    test_stream_msg - the ZMXS1 codec (zmx_stream_msg): every command sent
    through a real DEALER/ROUTER pair and decoded to the same view, the
    blob builders and iterators, the header codec, and each class of
    refusal, with the tag kept for the ERROR reply
    =========================================================================
*/
#include "testing.h"

#define S_TIMEOUT_MS 5000

//  -------------------------------------------------------------------------
//  Helpers

typedef struct {
    zsock_t *client;            //  DEALER
    zsock_t *server;            //  ROUTER
    zframe_t *identity;         //  Of the client, as the server saw it
} s_pair_t;

static void
s_pair_open (s_pair_t *pair)
{
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://stream-msg-%d-%p", (int) getpid (),
              (void *) pair);
    pair->server = zsock_new_router (endpoint);
    pair->client = zsock_new_dealer (endpoint);
    ZMX_CHECK (pair->server && pair->client);
    zsock_set_rcvtimeo (pair->server, S_TIMEOUT_MS);
    zsock_set_rcvtimeo (pair->client, S_TIMEOUT_MS);
    pair->identity = NULL;
}

static void
s_pair_close (s_pair_t *pair)
{
    zframe_destroy (&pair->identity);
    zsock_destroy (&pair->client);
    zsock_destroy (&pair->server);
}

static bool
s_bytes_equal (const void *a, size_t a_size, const void *b, size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp (a, b, a_size) == 0);
}

static void
s_check_same (const zmx_stream_view_t *a, const zmx_stream_view_t *b)
{
    ZMX_CHECK (a->command == b->command);
    ZMX_CHECK (a->tag == b->tag);
    ZMX_CHECK (a->version == b->version);
    ZMX_CHECK (a->heartbeat_ms == b->heartbeat_ms);
    ZMX_CHECK (a->max_record == b->max_record);
    ZMX_CHECK (a->max_batch == b->max_batch);
    ZMX_CHECK (s_bytes_equal (a->stream, a->stream_size, b->stream, b->stream_size));
    ZMX_CHECK (s_bytes_equal (a->pattern, a->pattern_size, b->pattern, b->pattern_size));
    ZMX_CHECK (a->from == b->from);
    ZMX_CHECK (a->value == b->value);
    ZMX_CHECK (a->credit == b->credit);
    ZMX_CHECK (s_bytes_equal (a->durable, a->durable_size, b->durable, b->durable_size));
    ZMX_CHECK (a->ack_wait_ms == b->ack_wait_ms);
    ZMX_CHECK (a->sequence == b->sequence);
    ZMX_CHECK (a->first == b->first);
    ZMX_CHECK (s_bytes_equal (a->blob, a->blob_size, b->blob, b->blob_size));
    ZMX_CHECK (a->code == b->code);
    ZMX_CHECK (s_bytes_equal (a->reason, a->reason_size, b->reason, b->reason_size));
}

//  Sends `view` the way its command goes (client to server or back),
//  receives and decodes it, checks it is the same, and returns the count.
static size_t
s_round_trip (s_pair_t *pair, const zmx_stream_view_t *view, zmx_stream_side_t side)
{
    zmx_stream_msg_t msg;
    zmx_stream_view_t decoded;
    const char *error = "unset";
    if (side == ZMX_STREAM_MSG_SERVER) {
        ZMX_CHECK (zmx_stream_msg_send (zsock_resolve (pair->client), NULL, view, 0) == 0);
        ZMX_CHECK (zmx_stream_msg_recv (&msg, zsock_resolve (pair->server), 0) == 0);
        if (!pair->identity)
            pair->identity = zframe_new (zmq_msg_data (&msg.frames [0]),
                                         zmq_msg_size (&msg.frames [0]));
        ZMX_CHECK (zmx_stream_msg_decode_msg (&msg, 1, side, &decoded, &error) == 0);
    }
    else {
        ZMX_CHECK (pair->identity);
        zmx_frame_t routing_id = { zframe_data (pair->identity), zframe_size (pair->identity) };
        ZMX_CHECK (zmx_stream_msg_send (zsock_resolve (pair->server), &routing_id, view, 0) == 0);
        ZMX_CHECK (zmx_stream_msg_recv (&msg, zsock_resolve (pair->client), 0) == 0);
        ZMX_CHECK (zmx_stream_msg_decode_msg (&msg, 0, side, &decoded, &error) == 0);
    }
    ZMX_CHECK (error == NULL);
    s_check_same (view, &decoded);
    size_t count = decoded.count;
    zmx_stream_msg_close (&msg);
    zmx_stream_msg_close (&msg);        //  Twice is safe
    return count;
}

//  Decodes frames given as (data, size) pairs; returns the error or NULL.
static const char *
s_decode (zmx_stream_side_t side, zmx_stream_view_t *view, size_t count, ...)
{
    zmx_frame_t frames [16];
    va_list args;
    va_start (args, count);
    for (size_t index = 0; index < count; index++) {
        frames [index].data = va_arg (args, const void *);
        frames [index].size = va_arg (args, size_t);
    }
    va_end (args);
    const char *error = NULL;
    int rc = zmx_stream_msg_decode (frames, count, side, view, &error);
    ZMX_CHECK ((rc == 0) == (error == NULL));
    return error;
}

#define S_TEXT(text) (const void *) (text), strlen (text)

static const byte s_tag [8] = { 0, 0, 0, 0, 0, 0, 0x12, 0x34 };
#define S_TAG_VALUE 0x1234
#define S_TAG_FRAME (const void *) s_tag, (size_t) 8

static const byte s_one [1] = { 1 }, s_five [1] = { 5 }, s_u32 [4] = { 0 }, s_u64 [8] = { 0 };

//  A batch of two records: one with an id and two headers, one bare.
static size_t
s_batch (byte *out)
{
    zmx_stream_header_t headers [2] = {
        { "content-type", 0, "text/plain", 10 },
        { "x", 1, "", 0 }
    };
    byte wire [128];
    int64_t wire_size = zmx_stream_msg_headers_encode (headers, 2, wire, sizeof wire);
    ZMX_CHECK (wire_size == 3 + 12 + 10 + 3 + 1);
    size_t used = zmx_stream_msg_batch_record_put (out, "app.db", 6, "id-1", 4, wire,
                                                   (size_t) wire_size, "hello", 5);
    ZMX_CHECK (used == zmx_stream_msg_batch_record_size (6, 4, (size_t) wire_size, 5));
    size_t second = zmx_stream_msg_batch_record_put (out + used, "b", 1, NULL, 0, NULL, 0, "", 0);
    ZMX_CHECK (second == zmx_stream_msg_batch_record_size (1, 0, 0, 0));
    return used + second;
}

//  -------------------------------------------------------------------------
//  Cases

static void
s_round_trips_client_commands (void)
{
    s_pair_t pair;
    s_pair_open (&pair);
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_HELLO, .version = 1, .heartbeat_ms = 2500 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_PING };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_PONG };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);

    byte batch [512];
    size_t batch_size = s_batch (batch);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_APPEND, .tag = UINT64_MAX,
                                 .stream = "orders.eu-1", .stream_size = 11,
                                 .blob = batch, .blob_size = batch_size };
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER) == 2);

    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_SUBSCRIBE, .tag = 7,
                                 .stream = "s", .stream_size = 1, .pattern = "app.*.error",
                                 .pattern_size = 11, .from = 3, .value = 1ULL << 40,
                                 .credit = 100, .durable = "billing", .durable_size = 7,
                                 .ack_wait_ms = 30000 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);
    view.pattern_size = 0;      //  Empty: every subject
    view.durable_size = 0;
    view.from = ZMX_STREAM_MSG_FROM_MAX;
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);

    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_CREDIT, .tag = 7, .credit = UINT32_MAX };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);

    byte sequences [8 * ZMX_STREAM_MSG_ACKS_MAX];
    for (size_t index = 0; index < ZMX_STREAM_MSG_ACKS_MAX; index++)
        zmx_stream_msg_put_u64 (sequences + 8 * index, 1000 + index);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_ACK, .tag = 7, .blob = sequences,
                                 .blob_size = sizeof sequences };
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER) == ZMX_STREAM_MSG_ACKS_MAX);
    ZMX_CHECK (zmx_stream_msg_get_u64 (sequences + 8 * 5) == 1005);
    view.command = ZMX_STREAM_MSG_NACK;
    view.blob_size = 8;
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER) == 1);

    zmx_stream_command_t tag_only [] = { ZMX_STREAM_MSG_UNSUBSCRIBE, ZMX_STREAM_MSG_STREAMS };
    for (size_t index = 0; index < 2; index++) {
        view = (zmx_stream_view_t) { .command = tag_only [index], .tag = 9 };
        s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);
    }
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_DELETE, .tag = 3, .stream = "a_b",
                                 .stream_size = 3 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);
    view.command = ZMX_STREAM_MSG_PURGE;
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);
    s_pair_close (&pair);
}

static void
s_round_trips_server_commands (void)
{
    s_pair_t pair;
    s_pair_open (&pair);
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_PING };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);     //  Learns the identity

    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_WELCOME, .version = 1,
                                 .heartbeat_ms = 1000, .max_record = 1 << 20, .max_batch = 1024 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_PING };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_PONG };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);

    byte sequences [24];
    for (size_t index = 0; index < 3; index++)
        zmx_stream_msg_put_u64 (sequences + 8 * index, 41 + index);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_APPENDED, .tag = 5, .blob = sequences,
                                 .blob_size = sizeof sequences };
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT) == 3);

    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_SUBSCRIBED, .tag = 5, .sequence = 17 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    view.command = ZMX_STREAM_MSG_LIVE;
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_DROPPED, .tag = 5, .sequence = 17,
                                 .first = 90 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);

    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_OK, .tag = 8 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_ERROR, .tag = 0, .code = 404,
                                 .reason = "no such stream", .reason_size = 14 };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    view.reason_size = 0;
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT);
    s_pair_close (&pair);
}

//  RECORDS and STREAMINFO, built with the blob builders and walked back
static void
s_round_trips_records_infos (void)
{
    s_pair_t pair;
    s_pair_open (&pair);
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_PING };
    s_round_trip (&pair, &view, ZMX_STREAM_MSG_SERVER);     //  Learns the identity

    byte headers [64];
    zmx_stream_header_t header = { "k", 1, "v", 1 };
    int64_t headers_size = zmx_stream_msg_headers_encode (&header, 1, headers, sizeof headers);
    ZMX_CHECK (headers_size == 5);
    byte records [256];
    size_t used = zmx_stream_msg_delivered_put (records, 17, -5, "a.b", 3, headers,
                                                (size_t) headers_size, "body", 4);
    ZMX_CHECK (used == zmx_stream_msg_delivered_size (3, 5, 4));
    used += zmx_stream_msg_delivered_put (records + used, 18, 1234567890123, "c", 1, NULL, 0,
                                          NULL, 0);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_RECORDS, .tag = 5, .blob = records,
                                 .blob_size = used };
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT) == 2);
    const byte *at = records;
    zmx_stream_delivered_t record;
    ZMX_CHECK (zmx_stream_msg_delivered_next (&at, records + used, &record));
    ZMX_CHECK (record.sequence == 17 && record.time_ns == -5 && record.header_count == 1);
    ZMX_CHECK (s_bytes_equal (record.subject, record.subject_size, "a.b", 3));
    ZMX_CHECK (s_bytes_equal (record.body, record.body_size, "body", 4));
    ZMX_CHECK (zmx_stream_msg_delivered_next (&at, records + used, &record));
    ZMX_CHECK (record.sequence == 18 && record.time_ns == 1234567890123 && record.body_size == 0);
    ZMX_CHECK (!zmx_stream_msg_delivered_next (&at, records + used, &record));

    //  STREAMINFO: empty, then two infos
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_STREAMINFO, .tag = 6 };
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT) == 0);
    zmx_stream_info_wire_t infos [2] = {
        { "orders", 6, 10, 4096, 1, 10, 111, 222, 3 },
        { "x", 1, UINT64_MAX, 0, 0, 0, 0, 0, UINT32_MAX }
    };
    byte info_blob [256];
    size_t info_size = zmx_stream_msg_info_put (info_blob, &infos [0]);
    ZMX_CHECK (info_size == zmx_stream_msg_info_size (6));
    info_size += zmx_stream_msg_info_put (info_blob + info_size, &infos [1]);
    view.blob = info_blob;
    view.blob_size = info_size;
    ZMX_CHECK (s_round_trip (&pair, &view, ZMX_STREAM_MSG_CLIENT) == 2);
    at = info_blob;
    zmx_stream_info_wire_t info;
    for (size_t index = 0; index < 2; index++) {
        ZMX_CHECK (zmx_stream_msg_info_next (&at, info_blob + info_size, &info));
        ZMX_CHECK (s_bytes_equal (info.name, info.name_size, infos [index].name,
                                  infos [index].name_size));
        ZMX_CHECK (info.records == infos [index].records && info.bytes == infos [index].bytes);
        ZMX_CHECK (info.first_time_ns == infos [index].first_time_ns);
        ZMX_CHECK (info.last_time_ns == infos [index].last_time_ns);
        ZMX_CHECK (info.consumers == infos [index].consumers);
    }
    ZMX_CHECK (!zmx_stream_msg_info_next (&at, info_blob + info_size, &info));

    s_pair_close (&pair);
}

static void
s_batch_iterator (void)
{
    byte batch [512];
    size_t size = s_batch (batch);
    zmx_stream_view_t view;
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                         S_TEXT ("s"), (const void *) batch, size) == NULL);
    ZMX_CHECK (view.count == 2 && view.tag == S_TAG_VALUE);
    const byte *at = view.blob;
    zmx_stream_batch_record_t record;
    ZMX_CHECK (zmx_stream_msg_batch_next (&at, view.blob + view.blob_size, &record));
    ZMX_CHECK (s_bytes_equal (record.subject, record.subject_size, "app.db", 6));
    ZMX_CHECK (s_bytes_equal (record.msg_id, record.msg_id_size, "id-1", 4));
    ZMX_CHECK (s_bytes_equal (record.body, record.body_size, "hello", 5));
    ZMX_CHECK (record.header_count == 2);
    zmx_stream_header_t headers [ZMX_STREAM_HEADERS_MAX];
    ZMX_CHECK (zmx_stream_msg_headers_decode (record.headers, record.headers_size, headers,
                                              ZMX_STREAM_HEADERS_MAX) == 2);
    ZMX_CHECK (s_bytes_equal (headers [0].name, headers [0].name_size, "content-type", 12));
    ZMX_CHECK (s_bytes_equal (headers [0].value, headers [0].value_size, "text/plain", 10));
    ZMX_CHECK (s_bytes_equal (headers [1].name, headers [1].name_size, "x", 1));
    ZMX_CHECK (headers [1].value_size == 0);
    ZMX_CHECK (zmx_stream_msg_headers_decode (record.headers, record.headers_size, headers, 1)
               == -1);
    ZMX_CHECK (zmx_stream_msg_batch_next (&at, view.blob + view.blob_size, &record));
    ZMX_CHECK (record.msg_id == NULL && record.header_count == 0 && record.body_size == 0);
    ZMX_CHECK (!zmx_stream_msg_batch_next (&at, view.blob + view.blob_size, &record));
}

static void
s_headers (void)
{
    byte out [ZMX_STREAM_HEADER_BYTES_MAX];
    //  Invalid names: empty, with a space, with ':', too long
    char long_name [ZMX_STREAM_HEADER_NAME_MAX + 2];
    memset (long_name, 'n', sizeof long_name - 1);
    long_name [sizeof long_name - 1] = '\0';
    const char *bad [] = { "a b", "a:b", long_name };
    for (size_t index = 0; index < 3; index++) {
        zmx_stream_header_t header = { bad [index], 0, "v", 1 };
        ZMX_CHECK (zmx_stream_msg_headers_encode (&header, 1, out, sizeof out) == -1);
    }
    zmx_stream_header_t header = { "n", 1, "value", 5 };
    ZMX_CHECK (zmx_stream_msg_headers_encode (&header, 1, out, 8) == -1);     //  No room
    ZMX_CHECK (zmx_stream_msg_headers_encode (&header, 1, out, 9) == 9);
    zmx_stream_header_t many [ZMX_STREAM_HEADERS_MAX + 1];
    for (size_t index = 0; index <= ZMX_STREAM_HEADERS_MAX; index++)
        many [index] = header;
    ZMX_CHECK (zmx_stream_msg_headers_encode (many, ZMX_STREAM_HEADERS_MAX + 1, out, sizeof out)
               == -1);
    int64_t size = zmx_stream_msg_headers_encode (many, ZMX_STREAM_HEADERS_MAX, out, sizeof out);
    ZMX_CHECK (size == 9 * ZMX_STREAM_HEADERS_MAX);
    size_t count = 0;
    ZMX_CHECK (zmx_stream_msg_headers_valid (out, (size_t) size, &count));
    ZMX_CHECK (count == ZMX_STREAM_HEADERS_MAX);
    ZMX_CHECK (!zmx_stream_msg_headers_valid (out, (size_t) size - 1, &count));
    //  A 33rd header is refused on the wire too
    memcpy (out + size, out, 9);
    ZMX_CHECK (!zmx_stream_msg_headers_valid (out, (size_t) size + 9, &count));

    //  From a stored record: the store keeps value sizes little-endian
    byte stored [] = { 2, 'h', 'i', 3, 0, 'a', 'b', 'c', 1, 'z', 0, 0 };
    zmx_stream_record_t record = { .header_count = 2, .headers = stored,
                                   .headers_size = sizeof stored };
    byte wire [64];
    int64_t wire_size = zmx_stream_msg_headers_from_record (&record, wire, sizeof wire);
    byte expected [] = { 2, 'h', 'i', 0, 3, 'a', 'b', 'c', 1, 'z', 0, 0 };
    ZMX_CHECK (s_bytes_equal (wire, (size_t) wire_size, expected, sizeof expected));
    ZMX_CHECK (zmx_stream_msg_headers_from_record (&record, wire, 5) == -1);
}

//  Wrong frame counts, unknown words, integers of the wrong size
static void
s_refuse_frames (void)
{
    zmx_stream_view_t view;
    //  Unknown command, no frames
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 1, S_TEXT ("APPENDX")) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 1, S_TEXT ("ping")) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 0) != NULL);
    //  Wrong count
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("PING"), S_TEXT ("")),
                   "wrong frame count");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("APPEND"), S_TAG_FRAME),
                   "wrong frame count");
    //  Short and long integers
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("HELLO"),
                             (const void *) s_one, (size_t) 1, (const void *) s_u32, (size_t) 3),
                   "u32 field is not 4 bytes");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("STREAMS"),
                             (const void *) s_u64, (size_t) 7), "u64 field is not 8 bytes");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("HELLO"),
                             (const void *) s_u64, (size_t) 2, (const void *) s_u32, (size_t) 4),
                   "u8 field is not 1 byte");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("HELLO"),
                             (const void *) s_five, (size_t) 1, (const void *) s_u32, (size_t) 4),
                   "unsupported version");
}

//  Text: stream names, printable, limits, patterns, from
static void
s_refuse_text (void)
{
    zmx_stream_view_t view;
    //  Bad text: stream name, durable, reason
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("DELETE"), S_TAG_FRAME,
                             S_TEXT ("a/b")), "invalid stream name");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("DELETE"), S_TAG_FRAME,
                             S_TEXT ("")), "invalid stream name");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("DELETE"), S_TAG_FRAME,
                             S_TEXT ("lock")), "invalid stream name");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("PURGE"), S_TAG_FRAME,
                             "a\x01", (size_t) 2), "text field not printable ASCII");
    char long_text [300];
    memset (long_text, 'a', sizeof long_text);
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("PURGE"), S_TAG_FRAME,
                             (const void *) long_text, (size_t) 65), "text field too long");
    const byte code [2] = { 1, 0x90 };
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 4, S_TEXT ("ERROR"), S_TAG_FRAME,
                             (const void *) code, (size_t) 2, (const void *) long_text,
                             (size_t) 256), "text field too long");
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 4, S_TEXT ("ERROR"), S_TAG_FRAME,
                         (const void *) code, (size_t) 2, (const void *) long_text,
                         (size_t) 255) == NULL);
    ZMX_CHECK (view.code == 400 && view.reason_size == 255);
    //  Bad pattern, bad from, durable too long
    const char *patterns [] = { "a.>.b", "a..b", "a*", ".a", "a b" };
    for (size_t index = 0; index < 5; index++)
        ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 9, S_TEXT ("SUBSCRIBE"), S_TAG_FRAME,
                             S_TEXT ("s"), S_TEXT (patterns [index]), (const void *) s_one,
                             (size_t) 1, (const void *) s_u64, (size_t) 8, (const void *) s_u32,
                             (size_t) 4, S_TEXT (""), (const void *) s_u32, (size_t) 4) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 9, S_TEXT ("SUBSCRIBE"), S_TAG_FRAME,
                         S_TEXT ("s"), S_TEXT ("a.*.>"), (const void *) s_one, (size_t) 1,
                         (const void *) s_u64, (size_t) 8, (const void *) s_u32, (size_t) 4,
                         S_TEXT ("d"), (const void *) s_u32, (size_t) 4) == NULL);
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 9, S_TEXT ("SUBSCRIBE"), S_TAG_FRAME,
                             S_TEXT ("s"), S_TEXT (""), (const void *) s_five, (size_t) 1,
                             (const void *) s_u64, (size_t) 8, (const void *) s_u32, (size_t) 4,
                             S_TEXT (""), (const void *) s_u32, (size_t) 4), "invalid from");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 9, S_TEXT ("SUBSCRIBE"), S_TAG_FRAME,
                             S_TEXT ("s"), S_TEXT (""), (const void *) s_one, (size_t) 1,
                             (const void *) s_u64, (size_t) 8, (const void *) s_u32, (size_t) 4,
                             (const void *) long_text, (size_t) 65, (const void *) s_u32,
                             (size_t) 4), "text field too long");
}

//  Batches: truncated, trailing bytes, empty, bad subject, long id, header overflow
static void
s_refuse_batch (void)
{
    zmx_stream_view_t view;
    byte batch [512];
    size_t batch_size = s_batch (batch);
    char long_text [300];
    memset (long_text, 'a', sizeof long_text);
    //  Batches: every truncation, trailing bytes, empty, bad subject
    for (size_t size = 0; size < batch_size; size++)
        if (size != zmx_stream_msg_batch_record_size (6, 4, 29, 5))    //  Whole first record
            ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                                 S_TEXT ("s"), (const void *) batch, size) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                         S_TEXT ("s"), (const void *) batch, batch_size) == NULL);
    batch [batch_size] = 0;
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                             S_TEXT ("s"), (const void *) batch, batch_size + 1), "invalid batch record");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                             S_TEXT ("s"), (const void *) batch, (size_t) 0), "empty batch");
    byte bad_subject [64];
    size_t bad_size = zmx_stream_msg_batch_record_put (bad_subject, "a..b", 4, NULL, 0, NULL, 0,
                                                       "x", 1);
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                             S_TEXT ("s"), (const void *) bad_subject, bad_size),
                   "invalid batch record");
    //  A message id over 64 bytes
    byte long_id [256];
    bad_size = zmx_stream_msg_batch_record_put (long_id, "a", 1, long_text, 65, NULL, 0, "", 0);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                         S_TEXT ("s"), (const void *) long_id, bad_size) != NULL);
    //  Header overflow: 33 headers in a batch record
    byte whole [33 * 4], overflow [256];
    for (size_t index = 0; index < 33; index++)
        memcpy (whole + 4 * index, (byte []) { 1, 'h', 0, 0 }, 4);
    bad_size = zmx_stream_msg_batch_record_put (overflow, "a", 1, NULL, 0, whole, 33 * 4, "", 0);
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                             S_TEXT ("s"), (const void *) overflow, bad_size),
                   "invalid batch record");
    bad_size = zmx_stream_msg_batch_record_put (overflow, "a", 1, NULL, 0, whole, 32 * 4, "", 0);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                         S_TEXT ("s"), (const void *) overflow, bad_size) == NULL);
    ZMX_CHECK (view.count == 1);
}

//  Sequences, delivered records and stream infos
static void
s_refuse_blobs (void)
{
    zmx_stream_view_t view;
    //  Sequence blobs: empty, not a multiple of 8, too many
    static byte acks [8 * (ZMX_STREAM_MSG_ACKS_MAX + 1)];
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("ACK"), S_TAG_FRAME,
                         (const void *) acks, (size_t) 0) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("NACK"), S_TAG_FRAME,
                         (const void *) acks, (size_t) 12) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("ACK"), S_TAG_FRAME,
                         (const void *) acks, sizeof acks) != NULL);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 3, S_TEXT ("APPENDED"), S_TAG_FRAME,
                         (const void *) acks, (size_t) 7) != NULL);
    //  RECORDS: empty, truncated, trailing; STREAMINFO truncated, bad name
    byte records [128];
    size_t records_size = zmx_stream_msg_delivered_put (records, 1, 2, "a", 1, NULL, 0, "b", 1);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 3, S_TEXT ("RECORDS"), S_TAG_FRAME,
                         (const void *) records, (size_t) 0) != NULL);
    for (size_t size = 1; size <= records_size + 1; size++)
        ZMX_CHECK ((s_decode (ZMX_STREAM_MSG_CLIENT, &view, 3, S_TEXT ("RECORDS"), S_TAG_FRAME,
                              (const void *) records, size) == NULL) == (size == records_size));
    zmx_stream_info_wire_t info = { .name = "a/b", .name_size = 3 };
    byte info_blob [128];
    size_t info_size = zmx_stream_msg_info_put (info_blob, &info);
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 3, S_TEXT ("STREAMINFO"), S_TAG_FRAME,
                             (const void *) info_blob, info_size), "invalid stream info");
    info.name = "abc";
    info_size = zmx_stream_msg_info_put (info_blob, &info);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 3, S_TEXT ("STREAMINFO"), S_TAG_FRAME,
                         (const void *) info_blob, info_size - 1) != NULL);
}

//  Each command only on its side
static void
s_refuse_wrong_side (void)
{
    zmx_stream_view_t view;
    byte batch [512];
    size_t batch_size = s_batch (batch);
    //  Wrong side: every command of one side refused on the other
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_CLIENT, &view, 4, S_TEXT ("APPEND"), S_TAG_FRAME,
                             S_TEXT ("s"), (const void *) batch, batch_size),
                   "command not valid in this direction");
    ZMX_CHECK_STR (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("OK"), S_TAG_FRAME),
                   "command not valid in this direction");
    for (int command = ZMX_STREAM_MSG_HELLO; command <= ZMX_STREAM_MSG_ERROR; command++) {
        const char *name = zmx_stream_msg_command_name (command);
        bool both = command == ZMX_STREAM_MSG_PING || command == ZMX_STREAM_MSG_PONG;
        const char *on_server = s_decode (ZMX_STREAM_MSG_SERVER, &view, 1, S_TEXT (name));
        const char *on_client = s_decode (ZMX_STREAM_MSG_CLIENT, &view, 1, S_TEXT (name));
        bool server_side_refused = on_server && streq (on_server, "command not valid in this direction");
        bool client_side_refused = on_client && streq (on_client, "command not valid in this direction");
        ZMX_CHECK (both? !server_side_refused && !client_side_refused
                       : server_side_refused != client_side_refused);
    }
    ZMX_CHECK_STR (zmx_stream_msg_command_name (0), "?");
    ZMX_CHECK_STR (zmx_stream_msg_command_name (ZMX_STREAM_MSG_ERROR + 1), "?");
    ZMX_CHECK_STR (zmx_stream_msg_command_name (ZMX_STREAM_MSG_SUBSCRIBE), "SUBSCRIBE");
}

static void
s_tag_on_error (void)
{
    zmx_stream_view_t view;
    //  Tag read, a later field bad: the view is zeroed but for the tag
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 3, S_TEXT ("DELETE"), S_TAG_FRAME,
                         S_TEXT ("bad name")) != NULL);
    ZMX_CHECK (view.tag == S_TAG_VALUE && view.command == 0 && view.stream == NULL);
    //  Wrong count, tag readable
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 4, S_TEXT ("CREDIT"), S_TAG_FRAME,
                         S_TEXT ("xxxx"), S_TEXT ("")) != NULL);
    ZMX_CHECK (view.tag == S_TAG_VALUE);
    //  Wrong side, tag readable
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("OK"), S_TAG_FRAME) != NULL);
    ZMX_CHECK (view.tag == S_TAG_VALUE);
    //  Tag frame short, command unknown, or a command without a tag: 0
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("STREAMS"),
                         (const void *) s_tag, (size_t) 7) != NULL);
    ZMX_CHECK (view.tag == 0);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("NOPE"), S_TAG_FRAME) != NULL);
    ZMX_CHECK (view.tag == 0);
    ZMX_CHECK (s_decode (ZMX_STREAM_MSG_SERVER, &view, 2, S_TEXT ("PING"), S_TAG_FRAME) != NULL);
    ZMX_CHECK (view.tag == 0);
    //  A NULL error pointer is allowed
    zmx_frame_t frame = { "PING", 4 };
    ZMX_CHECK (zmx_stream_msg_decode (&frame, 1, ZMX_STREAM_MSG_SERVER, &view, NULL) == 0);
}

static void
s_send_and_recv_limits (void)
{
    s_pair_t pair;
    s_pair_open (&pair);
    void *client = zsock_resolve (pair.client);
    //  Out of range or over a limit: EINVAL, nothing sent
    zmx_stream_view_t view = { .command = 0 };
    ZMX_CHECK (zmx_stream_msg_send (client, NULL, &view, 0) == -1 && errno == EINVAL);
    view.command = ZMX_STREAM_MSG_ERROR + 1;
    ZMX_CHECK (zmx_stream_msg_send (client, NULL, &view, 0) == -1 && errno == EINVAL);
    char long_text [300];
    memset (long_text, 'a', sizeof long_text);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_DELETE, .stream = long_text,
                                 .stream_size = ZMX_STREAM_NAME_MAX + 1 };
    ZMX_CHECK (zmx_stream_msg_send (client, NULL, &view, 0) == -1 && errno == EINVAL);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_ERROR, .reason = long_text,
                                 .reason_size = ZMX_STREAM_MSG_REASON_MAX + 1 };
    ZMX_CHECK (zmx_stream_msg_send (client, NULL, &view, 0) == -1 && errno == EINVAL);
    zmx_stream_msg_t msg;
    ZMX_CHECK (zmx_stream_msg_recv (&msg, zsock_resolve (pair.server), ZMQ_DONTWAIT) == -1);
    ZMX_CHECK (errno == EAGAIN);

    //  More frames than kept: all read, the count tells, decoding fails
    size_t frames = ZMX_STREAM_MSG_FRAMES_MAX + 3;
    ZMX_CHECK (zmq_send (client, "CREDIT", 6, ZMQ_SNDMORE) == 6);
    ZMX_CHECK (zmq_send (client, s_tag, 8, ZMQ_SNDMORE) == 8);
    for (size_t index = 2; index < frames; index++)
        ZMX_CHECK (zmq_send (client, "PING", 4, index + 1 < frames? ZMQ_SNDMORE: 0) == 4);
    view = (zmx_stream_view_t) { .command = ZMX_STREAM_MSG_PING };
    ZMX_CHECK (zmx_stream_msg_send (client, NULL, &view, 0) == 0);
    ZMX_CHECK (zmx_stream_msg_recv (&msg, zsock_resolve (pair.server), 0) == 0);
    ZMX_CHECK (msg.count == frames + 1 && msg.kept == ZMX_STREAM_MSG_FRAMES_MAX + 1);
    const char *error = NULL;
    ZMX_CHECK (zmx_stream_msg_decode_msg (&msg, 1, ZMX_STREAM_MSG_SERVER, &view, &error) == -1);
    ZMX_CHECK_STR (error, "too many frames");
    ZMX_CHECK (view.tag == S_TAG_VALUE && view.command == 0);
    zmx_stream_msg_close (&msg);
    //  The next message is whole again
    ZMX_CHECK (zmx_stream_msg_recv (&msg, zsock_resolve (pair.server), 0) == 0);
    ZMX_CHECK (msg.count == 2);
    ZMX_CHECK (zmx_stream_msg_decode_msg (&msg, 1, ZMX_STREAM_MSG_SERVER, &view, &error) == 0);
    ZMX_CHECK (view.command == ZMX_STREAM_MSG_PING);
    zmx_stream_msg_close (&msg);
    s_pair_close (&pair);
}

static int s_lent_freed;

static void
s_lent_free (void *data, void *hint)
{
    ZMX_CHECK (data && hint == &s_lent_freed);
    s_lent_freed++;
}

//  A lent blob arrives as sent and is given back exactly once, also when
//  the send fails
static void
s_send_lent (void)
{
    s_pair_t pair;
    s_pair_open (&pair);
    void *client = zsock_resolve (pair.client);
    byte batch [64];
    size_t size = zmx_stream_msg_batch_record_put (batch, "app.x", 5, "id", 2, NULL, 0, "body", 4);
    zmx_stream_view_t view = { .command = ZMX_STREAM_MSG_APPEND, .tag = 7, .stream = "log",
                               .stream_size = 3, .blob = batch, .blob_size = size };
    s_lent_freed = 0;
    ZMX_CHECK (zmx_stream_msg_send_lent (client, NULL, &view, 0, s_lent_free, &s_lent_freed) == 0);
    zmx_stream_msg_t msg;
    ZMX_CHECK (zmx_stream_msg_recv (&msg, zsock_resolve (pair.server), 0) == 0);
    zmx_stream_view_t got;
    const char *error = NULL;
    ZMX_CHECK (zmx_stream_msg_decode_msg (&msg, 1, ZMX_STREAM_MSG_SERVER, &got, &error) == 0);
    ZMX_CHECK (got.command == ZMX_STREAM_MSG_APPEND && got.tag == 7 && got.count == 1);
    ZMX_CHECK (got.blob_size == size && memcmp (got.blob, batch, size) == 0);
    zmx_stream_msg_close (&msg);
    //  A command without a blob, and a bad field: refused, given back
    view.command = ZMX_STREAM_MSG_PING;
    ZMX_CHECK (zmx_stream_msg_send_lent (client, NULL, &view, 0, s_lent_free, &s_lent_freed) == -1);
    view.command = ZMX_STREAM_MSG_APPEND;
    view.stream_size = ZMX_STREAM_NAME_MAX + 1;
    ZMX_CHECK (zmx_stream_msg_send_lent (client, NULL, &view, 0, s_lent_free, &s_lent_freed) == -1);
    s_pair_close (&pair);
    ZMX_CHECK (s_lent_freed == 3);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "round_trips_client_commands", s_round_trips_client_commands, 30 },
        { "round_trips_server_commands", s_round_trips_server_commands, 30 },
        { "round_trips_records_infos", s_round_trips_records_infos, 30 },
        { "batch_iterator", s_batch_iterator, 10 },
        { "headers", s_headers, 10 },
        { "refuse_frames", s_refuse_frames, 10 },
        { "refuse_text", s_refuse_text, 10 },
        { "refuse_batch", s_refuse_batch, 10 },
        { "refuse_blobs", s_refuse_blobs, 10 },
        { "refuse_wrong_side", s_refuse_wrong_side, 10 },
        { "tag_on_error", s_tag_on_error, 10 },
        { "send_and_recv_limits", s_send_and_recv_limits, 30 },
        { "send_lent", s_send_lent, 30 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
