/*  =========================================================================
    fuzz_stream_msg - libFuzzer target for the ZMXS1 codec (zmx_stream_msg)

    Input layout: frames, each a length (one byte, or 255 and two bytes:
    see fuzz_frames_split) followed by that many bytes (a short last
    frame takes what is left). The frames are decoded as the server reads
    them and as a client reads them. A refusal must give a reason and a
    zeroed view (but for the tag). An accepted message must hold only
    valid fields; its blob is walked with the iterators to the count the
    decoder gave, and each record or info is built again with the blob
    builders, which must give the very bytes of the blob. The view is then
    sent through an inproc PAIR, received and decoded again, and must be
    the same view.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

#define S_MAX_FRAMES (ZMX_STREAM_MSG_FRAMES_MAX + 2)

static zsock_t *s_sender;               //  Made once per process
static zsock_t *s_receiver;

static bool
s_same_bytes (const void *a, size_t a_size, const void *b, size_t b_size)
{
    return a_size == b_size && (a_size == 0 || memcmp (a, b, a_size) == 0);
}

static void
s_check_headers (const byte *headers, size_t size, size_t count)
{
    zmx_stream_header_t decoded [ZMX_STREAM_HEADERS_MAX];
    FUZZ_REQUIRE (count <= ZMX_STREAM_HEADERS_MAX);
    FUZZ_REQUIRE (zmx_stream_msg_headers_decode (headers, size, decoded,
                                                 ZMX_STREAM_HEADERS_MAX) == (int) count);
    byte *again = (byte *) malloc (size + 1);
    FUZZ_REQUIRE (zmx_stream_msg_headers_encode (decoded, count, again, size) == (int64_t) size);
    FUZZ_REQUIRE (s_same_bytes (again, size, headers, size));
    free (again);
}

//  Walks the blob of an accepted view; each piece built again must give
//  the same bytes, and the pieces must be as many as the decoder said.
static void
s_check_blob (const zmx_stream_view_t *view)
{
    const byte *at = view->blob, *end = view->blob + view->blob_size;
    byte *built = (byte *) malloc (view->blob_size + 1);
    size_t count = 0, used = 0;
    if (view->command == ZMX_STREAM_MSG_APPEND) {
        zmx_stream_batch_record_t record;
        while (zmx_stream_msg_batch_next (&at, end, &record)) {
            FUZZ_REQUIRE (zmx_subject_valid (record.subject, record.subject_size));
            FUZZ_REQUIRE (record.msg_id_size <= ZMX_STREAM_MSG_ID_MAX);
            s_check_headers (record.headers, record.headers_size, record.header_count);
            used += zmx_stream_msg_batch_record_put (built + used, record.subject,
                                                     record.subject_size, record.msg_id,
                                                     record.msg_id_size, record.headers,
                                                     record.headers_size, record.body,
                                                     record.body_size);
            count++;
        }
    }
    else
    if (view->command == ZMX_STREAM_MSG_RECORDS) {
        zmx_stream_delivered_t record;
        while (zmx_stream_msg_delivered_next (&at, end, &record)) {
            FUZZ_REQUIRE (zmx_subject_valid (record.subject, record.subject_size));
            s_check_headers (record.headers, record.headers_size, record.header_count);
            used += zmx_stream_msg_delivered_put (built + used, record.sequence, record.time_ns,
                                                  record.subject, record.subject_size,
                                                  record.headers, record.headers_size,
                                                  record.body, record.body_size);
            count++;
        }
    }
    else
    if (view->command == ZMX_STREAM_MSG_STREAMINFO) {
        zmx_stream_info_wire_t info;
        while (zmx_stream_msg_info_next (&at, end, &info)) {
            FUZZ_REQUIRE (info.name_size >= 1 && info.name_size <= ZMX_STREAM_NAME_MAX);
            used += zmx_stream_msg_info_put (built + used, &info);
            count++;
        }
    }
    else {
        //  Sequences
        FUZZ_REQUIRE (view->blob_size % 8 == 0);
        for (; at < end; at += 8) {
            zmx_stream_msg_put_u64 (built + used, zmx_stream_msg_get_u64 (at));
            used += 8;
            count++;
        }
    }
    FUZZ_REQUIRE (at == end);
    FUZZ_REQUIRE (count == view->count);
    FUZZ_REQUIRE (s_same_bytes (built, used, view->blob, view->blob_size));
    free (built);
}

static void
s_check_same (const zmx_stream_view_t *a, const zmx_stream_view_t *b)
{
    FUZZ_REQUIRE (a->command == b->command && a->tag == b->tag && a->version == b->version);
    FUZZ_REQUIRE (a->heartbeat_ms == b->heartbeat_ms && a->max_record == b->max_record);
    FUZZ_REQUIRE (a->max_batch == b->max_batch && a->from == b->from && a->value == b->value);
    FUZZ_REQUIRE (a->credit == b->credit && a->ack_wait_ms == b->ack_wait_ms);
    FUZZ_REQUIRE (a->sequence == b->sequence && a->first == b->first && a->code == b->code);
    FUZZ_REQUIRE (a->count == b->count);
    FUZZ_REQUIRE (s_same_bytes (a->stream, a->stream_size, b->stream, b->stream_size));
    FUZZ_REQUIRE (s_same_bytes (a->pattern, a->pattern_size, b->pattern, b->pattern_size));
    FUZZ_REQUIRE (s_same_bytes (a->durable, a->durable_size, b->durable, b->durable_size));
    FUZZ_REQUIRE (s_same_bytes (a->blob, a->blob_size, b->blob, b->blob_size));
    FUZZ_REQUIRE (s_same_bytes (a->reason, a->reason_size, b->reason, b->reason_size));
}

static void
s_resend (const zmx_stream_view_t *view, zmx_stream_side_t side)
{
    FUZZ_REQUIRE (zmx_stream_msg_send (zsock_resolve (s_sender), NULL, view, 0) == 0);
    zmx_stream_msg_t msg;
    FUZZ_REQUIRE (zmx_stream_msg_recv (&msg, zsock_resolve (s_receiver), 0) == 0);
    zmx_stream_view_t again;
    const char *error = NULL;
    FUZZ_REQUIRE (zmx_stream_msg_decode_msg (&msg, 0, side, &again, &error) == 0);
    s_check_same (view, &again);
    zmx_stream_msg_close (&msg);
}

static void
s_decode (const zmx_frame_t *frames, size_t count, zmx_stream_side_t side)
{
    zmx_stream_view_t view;
    const char *error = NULL;
    if (zmx_stream_msg_decode (frames, count, side, &view, &error) != 0) {
        FUZZ_REQUIRE (error && *error);
        FUZZ_REQUIRE (view.command == 0 && view.blob == NULL && view.stream == NULL);
        return;
    }
    FUZZ_REQUIRE (error == NULL);
    FUZZ_REQUIRE (view.command >= ZMX_STREAM_MSG_HELLO && view.command <= ZMX_STREAM_MSG_ERROR);
    FUZZ_REQUIRE (count >= 1 && count <= ZMX_STREAM_MSG_FRAMES_MAX);
    FUZZ_REQUIRE (view.from <= ZMX_STREAM_MSG_FROM_MAX);
    FUZZ_REQUIRE (view.stream_size <= ZMX_STREAM_NAME_MAX);
    FUZZ_REQUIRE (view.durable_size <= ZMX_STREAM_MSG_DURABLE_MAX);
    FUZZ_REQUIRE (view.reason_size <= ZMX_STREAM_MSG_REASON_MAX);
    if (view.blob)
        s_check_blob (&view);
    s_resend (&view, side);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (!s_sender) {
        zsys_init ();
        zsys_set_logstream (NULL);
        s_receiver = zsock_new_pair ("@inproc://fuzz-stream-msg");
        s_sender = zsock_new_pair (">inproc://fuzz-stream-msg");
        FUZZ_REQUIRE (s_sender && s_receiver);
        zsock_set_rcvtimeo (s_receiver, 5000);
    }
    zmx_frame_t frames [S_MAX_FRAMES];
    size_t count = fuzz_frames_split (data, size, 1, frames, S_MAX_FRAMES);
    s_decode (frames, count, ZMX_STREAM_MSG_SERVER);
    s_decode (frames, count, ZMX_STREAM_MSG_CLIENT);
    fuzz_frames_free (frames, count);
    return 0;
}
