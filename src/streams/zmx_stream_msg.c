/*  =========================================================================
    zmx_stream_msg - codec for ZMXS1, the protocol of the streams service

    One table says, per command, its word, which side may read it and its
    fields in order; the decoder and the sender both walk it, so they
    cannot disagree on a layout. Each field kind has one check, and each
    blob (batch, sequences, records, stream infos) one walker, which the
    decoder runs over the whole blob before anything is used and which the
    iterators then repeat without the checks. See docs/PROTOCOLS.md.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_streams_internal.h"

//  Field kinds, in the order of the view's members
typedef enum {
    S_END = 0,
    S_VERSION,                  //  u8, must be ZMX_STREAM_MSG_VERSION
    S_HEARTBEAT,                //  u32
    S_MAX_RECORD,               //  u32
    S_MAX_BATCH,                //  u32
    S_TAG,                      //  u64
    S_STREAM,                   //  text 1-64, a valid stream name
    S_PATTERN,                  //  text 0-255, empty or a valid pattern
    S_FROM,                     //  u8 0-4
    S_VALUE,                    //  u64
    S_CREDIT,                   //  u32
    S_DURABLE,                  //  text 0-64
    S_ACK_WAIT,                 //  u32
    S_SEQUENCE,                 //  u64
    S_FIRST,                    //  u64
    S_BATCH,                    //  APPEND batch
    S_APPENDED,                 //  u64 per record, 1 to ZMX_STREAM_MSG_BATCH_MAX
    S_ACKS,                     //  u64 each, 1 to ZMX_STREAM_MSG_ACKS_MAX
    S_RECORDS,                  //  delivered records, 1 or more
    S_INFOS,                    //  stream infos, 0 or more
    S_CODE,                     //  u16
    S_REASON                    //  text 0-255
} s_field_t;

#define S_FIELDS_MAX (ZMX_STREAM_MSG_FRAMES_MAX - 1)
#define S_BOTH (ZMX_STREAM_MSG_SERVER | ZMX_STREAM_MSG_CLIENT)

typedef struct {
    const char *word;
    int sides;                  //  Sides that may read it (bit mask)
    s_field_t fields [S_FIELDS_MAX + 1];
} s_command_t;

//  Indexed by zmx_stream_command_t
static const s_command_t s_commands [] = {
    { "?", 0, { S_END } },
    { "HELLO", ZMX_STREAM_MSG_SERVER, { S_VERSION, S_HEARTBEAT } },
    { "WELCOME", ZMX_STREAM_MSG_CLIENT, { S_VERSION, S_HEARTBEAT, S_MAX_RECORD, S_MAX_BATCH } },
    { "PING", S_BOTH, { S_END } },
    { "PONG", S_BOTH, { S_END } },
    { "APPEND", ZMX_STREAM_MSG_SERVER, { S_TAG, S_STREAM, S_BATCH } },
    { "APPENDED", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_APPENDED } },
    { "SUBSCRIBE", ZMX_STREAM_MSG_SERVER, { S_TAG, S_STREAM, S_PATTERN, S_FROM, S_VALUE,
                                            S_CREDIT, S_DURABLE, S_ACK_WAIT } },
    { "SUBSCRIBED", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_SEQUENCE } },
    { "RECORDS", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_RECORDS } },
    { "LIVE", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_SEQUENCE } },
    { "DROPPED", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_SEQUENCE, S_FIRST } },
    { "CREDIT", ZMX_STREAM_MSG_SERVER, { S_TAG, S_CREDIT } },
    { "ACK", ZMX_STREAM_MSG_SERVER, { S_TAG, S_ACKS } },
    { "NACK", ZMX_STREAM_MSG_SERVER, { S_TAG, S_ACKS } },
    { "UNSUBSCRIBE", ZMX_STREAM_MSG_SERVER, { S_TAG } },
    { "STREAMS", ZMX_STREAM_MSG_SERVER, { S_TAG } },
    { "STREAMINFO", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_INFOS } },
    { "DELETE", ZMX_STREAM_MSG_SERVER, { S_TAG, S_STREAM } },
    { "PURGE", ZMX_STREAM_MSG_SERVER, { S_TAG, S_STREAM } },
    { "OK", ZMX_STREAM_MSG_CLIENT, { S_TAG } },
    { "ERROR", ZMX_STREAM_MSG_CLIENT, { S_TAG, S_CODE, S_REASON } }
};

#define S_COMMAND_LAST ZMX_STREAM_MSG_ERROR

const char *
zmx_stream_msg_command_name (int command)
{
    if (command < ZMX_STREAM_MSG_HELLO || command > S_COMMAND_LAST)
        return "?";
    return s_commands [command].word;
}

//  -------------------------------------------------------------------------
//  Integers, network order

static uint64_t
s_get (const byte *in, size_t width)
{
    uint64_t value = 0;
    for (size_t index = 0; index < width; index++)
        value = (value << 8) | in [index];
    return value;
}

static size_t
s_put (byte *out, uint64_t value, size_t width)
{
    for (size_t index = width; index > 0; index--) {
        out [index - 1] = (byte) value;
        value >>= 8;
    }
    return width;
}

void
zmx_stream_msg_put_u64 (byte *out, uint64_t value)
{
    s_put (out, value, 8);
}

uint64_t
zmx_stream_msg_get_u64 (const byte *in)
{
    return s_get (in, 8);
}

//  -------------------------------------------------------------------------
//  Field checks

static bool
s_printable (const char *text, size_t size)
{
    for (size_t index = 0; index < size; index++) {
        unsigned char c = (unsigned char) text [index];
        if (c < 0x20 || c > 0x7e)
            return false;
    }
    return true;
}

static bool
s_stream_name_valid (const char *name, size_t size)
{
    if (size == 0 || size > ZMX_STREAM_NAME_MAX || !s_printable (name, size))
        return false;
    char copy [ZMX_STREAM_NAME_MAX + 1];
    memcpy (copy, name, size);
    copy [size] = '\0';
    return zmx__stream_name_valid (copy);
}

//  An empty pattern stands for ">"
static bool
s_pattern_valid (const char *pattern, size_t size)
{
    if (size == 0)
        return true;
    if (size > ZMX_STREAM_MSG_PATTERN_MAX || !s_printable (pattern, size))
        return false;
    char copy [ZMX_STREAM_MSG_PATTERN_MAX + 1];
    memcpy (copy, pattern, size);
    copy [size] = '\0';
    return zmx_subject_pattern_valid (copy);
}

static bool
s_header_name_valid (const byte *name, size_t size)
{
    if (size == 0 || size > ZMX_STREAM_HEADER_NAME_MAX)
        return false;
    for (size_t index = 0; index < size; index++)
        if (name [index] < 0x21 || name [index] > 0x7e || name [index] == ':')
            return false;
    return true;
}

bool
zmx_stream_msg_headers_valid (const byte *headers, size_t size, size_t *count_p)
{
    size_t count = 0, at = 0;
    while (at < size) {
        if (count == ZMX_STREAM_HEADERS_MAX)
            return false;
        size_t name_size = headers [at];
        if (size - at < 1 + name_size + 2 || !s_header_name_valid (headers + at + 1, name_size))
            return false;
        size_t value_size = (size_t) s_get (headers + at + 1 + name_size, 2);
        if (size - at - 3 - name_size < value_size)
            return false;
        at += 3 + name_size + value_size;
        count++;
    }
    if (count_p)
        *count_p = count;
    return true;
}

//  -------------------------------------------------------------------------
//  Blob walkers: with `check`, every size and field is verified and NULL
//  is returned at the first fault; without, the blob is trusted (decode
//  accepted it). Each returns the next position.

static const byte *
s_batch_walk (const byte *at, const byte *end, zmx_stream_batch_record_t *record, bool check)
{
    memset (record, 0, sizeof *record);
    if (check && end - at < 2)
        return NULL;
    record->subject_size = (size_t) s_get (at, 2);
    at += 2;
    if (check && (record->subject_size == 0 || (size_t) (end - at) < record->subject_size + 1))
        return NULL;
    record->subject = (const char *) at;
    if (check && !zmx_subject_valid (record->subject, record->subject_size))
        return NULL;
    at += record->subject_size;
    record->msg_id_size = *at++;
    if (check && (record->msg_id_size > ZMX_STREAM_MSG_ID_MAX
              ||  (size_t) (end - at) < record->msg_id_size + 2))
        return NULL;
    record->msg_id = record->msg_id_size? at: NULL;
    at += record->msg_id_size;
    record->headers_size = (size_t) s_get (at, 2);
    at += 2;
    if (check && (size_t) (end - at) < record->headers_size + 4)
        return NULL;
    record->headers = at;
    if (!zmx_stream_msg_headers_valid (at, record->headers_size, &record->header_count) && check)
        return NULL;
    at += record->headers_size;
    record->body_size = (size_t) s_get (at, 4);
    at += 4;
    if (check && (size_t) (end - at) < record->body_size)
        return NULL;
    record->body = at;
    return at + record->body_size;
}

static const byte *
s_delivered_walk (const byte *at, const byte *end, zmx_stream_delivered_t *record, bool check)
{
    memset (record, 0, sizeof *record);
    if (check && end - at < 18)
        return NULL;
    record->sequence = s_get (at, 8);
    record->time_ns = (int64_t) s_get (at + 8, 8);
    record->subject_size = (size_t) s_get (at + 16, 2);
    at += 18;
    if (check && (size_t) (end - at) < record->subject_size + 2)
        return NULL;
    record->subject = (const char *) at;
    if (check && !zmx_subject_valid (record->subject, record->subject_size))
        return NULL;
    at += record->subject_size;
    record->headers_size = (size_t) s_get (at, 2);
    at += 2;
    if (check && (size_t) (end - at) < record->headers_size + 4)
        return NULL;
    record->headers = at;
    if (!zmx_stream_msg_headers_valid (at, record->headers_size, &record->header_count) && check)
        return NULL;
    at += record->headers_size;
    record->body_size = (size_t) s_get (at, 4);
    at += 4;
    if (check && (size_t) (end - at) < record->body_size)
        return NULL;
    record->body = at;
    return at + record->body_size;
}

#define S_INFO_FIXED (6 * 8 + 4)    //  Bytes after the name

static const byte *
s_info_walk (const byte *at, const byte *end, zmx_stream_info_wire_t *info, bool check)
{
    memset (info, 0, sizeof *info);
    if (check && end - at < 1)
        return NULL;
    info->name_size = *at++;
    info->name = (const char *) at;
    if (check && ((size_t) (end - at) < info->name_size + S_INFO_FIXED
              ||  !s_stream_name_valid (info->name, info->name_size)))
        return NULL;
    at += info->name_size;
    info->records = s_get (at, 8);
    info->bytes = s_get (at + 8, 8);
    info->first_sequence = s_get (at + 16, 8);
    info->last_sequence = s_get (at + 24, 8);
    info->first_time_ns = s_get (at + 32, 8);
    info->last_time_ns = s_get (at + 40, 8);
    info->consumers = (uint32_t) s_get (at + 48, 4);
    return at + S_INFO_FIXED;
}

bool
zmx_stream_msg_batch_next (const byte **at, const byte *end, zmx_stream_batch_record_t *record)
{
    if (*at >= end)
        return false;
    *at = s_batch_walk (*at, end, record, false);
    return true;
}

bool
zmx_stream_msg_delivered_next (const byte **at, const byte *end, zmx_stream_delivered_t *record)
{
    if (*at >= end)
        return false;
    *at = s_delivered_walk (*at, end, record, false);
    return true;
}

bool
zmx_stream_msg_info_next (const byte **at, const byte *end, zmx_stream_info_wire_t *info)
{
    if (*at >= end)
        return false;
    *at = s_info_walk (*at, end, info, false);
    return true;
}

//  Walk a whole blob; returns NULL with *count_p set, or the reason.
static const char *
s_blob_check (s_field_t kind, const byte *blob, size_t size, size_t *count_p)
{
    const byte *at = blob, *end = blob + size;
    size_t count = 0;
    while (at && at < end) {
        if (kind == S_BATCH) {
            if (count == ZMX_STREAM_MSG_BATCH_MAX)
                return "batch has too many records";
            zmx_stream_batch_record_t record;
            at = s_batch_walk (at, end, &record, true);
        }
        else
        if (kind == S_RECORDS) {
            zmx_stream_delivered_t record;
            at = s_delivered_walk (at, end, &record, true);
        }
        else {
            zmx_stream_info_wire_t info;
            at = s_info_walk (at, end, &info, true);
        }
        count++;
    }
    if (!at)
        return kind == S_BATCH? "invalid batch record":
               kind == S_RECORDS? "invalid delivered record": "invalid stream info";
    if (count == 0 && kind != S_INFOS)
        return kind == S_BATCH? "empty batch": "empty records";
    *count_p = count;
    return NULL;
}

//  -------------------------------------------------------------------------
//  Decoding

static bool
s_word_is (const zmx_frame_t *frame, const char *word)
{
    size_t size = strlen (word);
    return frame->size == size && memcmp (frame->data, word, size) == 0;
}

static const char *
s_decode_int (const zmx_frame_t *frame, size_t width, uint64_t *value)
{
    if (frame->size != width)
        return width == 1? "u8 field is not 1 byte": width == 2? "u16 field is not 2 bytes":
               width == 4? "u32 field is not 4 bytes": "u64 field is not 8 bytes";
    *value = s_get ((const byte *) frame->data, width);
    return NULL;
}

static const char *
s_decode_text (const zmx_frame_t *frame, size_t max, const char **text, size_t *size)
{
    if (frame->size > max)
        return "text field too long";
    if (!s_printable ((const char *) frame->data, frame->size))
        return "text field not printable ASCII";
    *text = frame->size? (const char *) frame->data: "";
    *size = frame->size;
    return NULL;
}

static const char *
s_decode_sequences (const zmx_frame_t *frame, size_t max, zmx_stream_view_t *view)
{
    if (frame->size == 0 || frame->size % 8 != 0 || frame->size / 8 > max)
        return "sequences frame is not 1 to max u64 values";
    view->blob = (const byte *) frame->data;
    view->blob_size = frame->size;
    view->count = frame->size / 8;
    return NULL;
}

static const char *
s_decode_blob (s_field_t kind, const zmx_frame_t *frame, zmx_stream_view_t *view)
{
    view->blob = frame->size? (const byte *) frame->data: (const byte *) "";
    view->blob_size = frame->size;
    return s_blob_check (kind, view->blob, view->blob_size, &view->count);
}

static const char *
s_decode_field (s_field_t kind, const zmx_frame_t *frame, zmx_stream_view_t *view)
{
    uint64_t value = 0;
    const char *error = NULL;
    switch (kind) {
        case S_VERSION:
            if (!(error = s_decode_int (frame, 1, &value)) && value != ZMX_STREAM_MSG_VERSION)
                error = "unsupported version";
            view->version = (uint8_t) value;
            return error;
        case S_HEARTBEAT:
            error = s_decode_int (frame, 4, &value);
            view->heartbeat_ms = (uint32_t) value;
            return error;
        case S_MAX_RECORD:
            error = s_decode_int (frame, 4, &value);
            view->max_record = (uint32_t) value;
            return error;
        case S_MAX_BATCH:
            error = s_decode_int (frame, 4, &value);
            view->max_batch = (uint32_t) value;
            return error;
        case S_TAG:
            return s_decode_int (frame, 8, &view->tag);
        case S_STREAM:
            if ((error = s_decode_text (frame, ZMX_STREAM_NAME_MAX, &view->stream, &view->stream_size)))
                return error;
            return s_stream_name_valid (view->stream, view->stream_size)? NULL: "invalid stream name";
        case S_PATTERN:
            if ((error = s_decode_text (frame, ZMX_STREAM_MSG_PATTERN_MAX, &view->pattern,
                                        &view->pattern_size)))
                return error;
            return s_pattern_valid (view->pattern, view->pattern_size)? NULL: "invalid pattern";
        case S_FROM:
            if (!(error = s_decode_int (frame, 1, &value)) && value > ZMX_STREAM_MSG_FROM_MAX)
                error = "invalid from";
            view->from = (uint8_t) value;
            return error;
        case S_VALUE:
            return s_decode_int (frame, 8, &view->value);
        case S_CREDIT:
            error = s_decode_int (frame, 4, &value);
            view->credit = (uint32_t) value;
            return error;
        case S_DURABLE:
            return s_decode_text (frame, ZMX_STREAM_MSG_DURABLE_MAX, &view->durable,
                                  &view->durable_size);
        case S_ACK_WAIT:
            error = s_decode_int (frame, 4, &value);
            view->ack_wait_ms = (uint32_t) value;
            return error;
        case S_SEQUENCE:
            return s_decode_int (frame, 8, &view->sequence);
        case S_FIRST:
            return s_decode_int (frame, 8, &view->first);
        case S_APPENDED:
            return s_decode_sequences (frame, ZMX_STREAM_MSG_BATCH_MAX, view);
        case S_ACKS:
            return s_decode_sequences (frame, ZMX_STREAM_MSG_ACKS_MAX, view);
        case S_BATCH:
        case S_RECORDS:
        case S_INFOS:
            return s_decode_blob (kind, frame, view);
        case S_CODE:
            error = s_decode_int (frame, 2, &value);
            view->code = (uint16_t) value;
            return error;
        case S_REASON:
            return s_decode_text (frame, ZMX_STREAM_MSG_REASON_MAX, &view->reason,
                                  &view->reason_size);
        default:
            return "internal: unknown field";
    }
}

static size_t
s_field_count (const s_command_t *command)
{
    size_t count = 0;
    while (count < S_FIELDS_MAX && command->fields [count] != S_END)
        count++;
    return count;
}

//  Reads the command word and checks its side and frame count.
static const char *
s_decode_word (const zmx_frame_t *frames, size_t count, zmx_stream_side_t side,
               zmx_stream_view_t *view)
{
    if (count == 0)
        return "no command frame";
    int command = ZMX_STREAM_MSG_HELLO;
    while (command <= S_COMMAND_LAST && !s_word_is (&frames [0], s_commands [command].word))
        command++;
    if (command > S_COMMAND_LAST)
        return "unknown command";
    view->command = (zmx_stream_command_t) command;
    //  The tag is taken as soon as it can be read, for the ERROR reply
    if (s_commands [command].fields [0] == S_TAG && count > 1 && frames [1].size == 8)
        view->tag = s_get ((const byte *) frames [1].data, 8);
    if (!(s_commands [command].sides & (int) side))
        return "command not valid in this direction";
    if (count != 1 + s_field_count (&s_commands [command]))
        return "wrong frame count";
    return NULL;
}

int
zmx_stream_msg_decode (const zmx_frame_t *frames, size_t count, zmx_stream_side_t side,
                       zmx_stream_view_t *view, const char **error)
{
    assert (view);
    memset (view, 0, sizeof *view);
    const char *reason = s_decode_word (frames, count, side, view);
    if (!reason) {
        const s_command_t *command = &s_commands [view->command];
        for (size_t index = 0; !reason && command->fields [index] != S_END; index++)
            reason = s_decode_field (command->fields [index], &frames [index + 1], view);
    }
    if (reason) {
        uint64_t tag = view->tag;
        memset (view, 0, sizeof *view);
        view->tag = tag;
        if (error)
            *error = reason;
        return -1;
    }
    if (error)
        *error = NULL;
    return 0;
}

//  -------------------------------------------------------------------------
//  Sending

#define S_SCRATCH 8                 //  Bytes of the widest integer field

//  Points *frame at the field's bytes (integers written to scratch);
//  -1 when a field is over its frame's limit.
static int
s_encode_field (s_field_t kind, const zmx_stream_view_t *view, byte *scratch, zmx_frame_t *frame)
{
    frame->data = scratch;
    switch (kind) {
        case S_VERSION:   frame->size = s_put (scratch, view->version, 1); return 0;
        case S_FROM:      frame->size = s_put (scratch, view->from, 1); return 0;
        case S_CODE:      frame->size = s_put (scratch, view->code, 2); return 0;
        case S_HEARTBEAT: frame->size = s_put (scratch, view->heartbeat_ms, 4); return 0;
        case S_MAX_RECORD: frame->size = s_put (scratch, view->max_record, 4); return 0;
        case S_MAX_BATCH: frame->size = s_put (scratch, view->max_batch, 4); return 0;
        case S_CREDIT:    frame->size = s_put (scratch, view->credit, 4); return 0;
        case S_ACK_WAIT:  frame->size = s_put (scratch, view->ack_wait_ms, 4); return 0;
        case S_TAG:       frame->size = s_put (scratch, view->tag, 8); return 0;
        case S_VALUE:     frame->size = s_put (scratch, view->value, 8); return 0;
        case S_SEQUENCE:  frame->size = s_put (scratch, view->sequence, 8); return 0;
        case S_FIRST:     frame->size = s_put (scratch, view->first, 8); return 0;
        case S_STREAM:
            *frame = (zmx_frame_t) { view->stream, view->stream_size };
            return view->stream_size <= ZMX_STREAM_NAME_MAX? 0: -1;
        case S_PATTERN:
            *frame = (zmx_frame_t) { view->pattern, view->pattern_size };
            return view->pattern_size <= ZMX_STREAM_MSG_PATTERN_MAX? 0: -1;
        case S_DURABLE:
            *frame = (zmx_frame_t) { view->durable, view->durable_size };
            return view->durable_size <= ZMX_STREAM_MSG_DURABLE_MAX? 0: -1;
        case S_REASON:
            *frame = (zmx_frame_t) { view->reason, view->reason_size };
            return view->reason_size <= ZMX_STREAM_MSG_REASON_MAX? 0: -1;
        case S_BATCH:
        case S_APPENDED:
        case S_ACKS:
        case S_RECORDS:
        case S_INFOS:
            *frame = (zmx_frame_t) { view->blob, view->blob_size };
            return 0;
        default:
            return -1;
    }
}

int
zmx_stream_msg_send (void *socket, const zmx_frame_t *routing_id,
                     const zmx_stream_view_t *view, int flags)
{
    assert (socket && view);
    if (view->command < ZMX_STREAM_MSG_HELLO || view->command > S_COMMAND_LAST) {
        errno = EINVAL;
        return -1;
    }
    //  Encode every field first, so that nothing is sent when one is bad
    const s_command_t *command = &s_commands [view->command];
    zmx_frame_t frames [ZMX_STREAM_MSG_FRAMES_MAX + 1];
    byte scratch [ZMX_STREAM_MSG_FRAMES_MAX][S_SCRATCH];
    size_t count = 0;
    if (routing_id)
        frames [count++] = *routing_id;
    frames [count++] = (zmx_frame_t) { command->word, strlen (command->word) };
    for (size_t index = 0; command->fields [index] != S_END; index++)
        if (s_encode_field (command->fields [index], view, scratch [index], &frames [count++])) {
            errno = EINVAL;
            return -1;
        }
    for (size_t index = 0; index < count; index++) {
        int more = index + 1 < count? ZMQ_SNDMORE: 0;
        //  Once the first frame is queued the rest of the message follows
        //  without blocking, so `flags` applies to the first only
        if (zmq_send (socket, frames [index].data, frames [index].size,
                      (index == 0? flags: 0) | more) == -1)
            return -1;
    }
    return 0;
}

int
zmx_stream_msg_send_lent (void *socket, const zmx_frame_t *routing_id,
                          const zmx_stream_view_t *view, int flags, zmq_free_fn *free_fn,
                          void *hint)
{
    assert (socket && view && view->blob && free_fn);
    //  Everything but the blob is copied as usual; the blob goes last
    zmx_stream_view_t head = *view;
    head.blob = NULL;
    head.blob_size = 0;
    const s_command_t *command = view->command >= ZMX_STREAM_MSG_HELLO
                              && view->command <= S_COMMAND_LAST? &s_commands [view->command]: NULL;
    size_t fields = 0;
    while (command && command->fields [fields] != S_END)
        fields++;
    if (!command || fields == 0 || (command->fields [fields - 1] < S_BATCH || command->fields [fields - 1] > S_INFOS)) {
        free_fn ((void *) view->blob, hint);
        errno = EINVAL;
        return -1;
    }
    zmx_frame_t frames [ZMX_STREAM_MSG_FRAMES_MAX + 1];
    byte scratch [ZMX_STREAM_MSG_FRAMES_MAX][S_SCRATCH];
    size_t count = 0;
    if (routing_id)
        frames [count++] = *routing_id;
    frames [count++] = (zmx_frame_t) { command->word, strlen (command->word) };
    for (size_t index = 0; index + 1 < fields; index++)
        if (s_encode_field (command->fields [index], &head, scratch [index], &frames [count++])) {
            free_fn ((void *) view->blob, hint);
            errno = EINVAL;
            return -1;
        }
    for (size_t index = 0; index < count; index++)
        if (zmq_send (socket, frames [index].data, frames [index].size,
                      (index == 0? flags: 0) | ZMQ_SNDMORE) == -1) {
            free_fn ((void *) view->blob, hint);
            return -1;
        }
    zmq_msg_t blob;
    if (zmq_msg_init_data (&blob, (void *) view->blob, view->blob_size, free_fn, hint)) {
        free_fn ((void *) view->blob, hint);
        return -1;
    }
    if (zmq_msg_send (&blob, socket, 0) == -1) {
        zmq_msg_close (&blob);      //  Calls free_fn
        return -1;
    }
    return 0;
}

//  -------------------------------------------------------------------------
//  Receiving

int
zmx_stream_msg_recv (zmx_stream_msg_t *self, void *socket, int flags)
{
    assert (self && socket);
    self->kept = 0;
    self->count = 0;
    bool more = true;
    while (more) {
        zmq_msg_t scrap, *frame = self->kept < ZMX_STREAM_MSG_FRAMES_MAX + 1
                                ? &self->frames [self->kept]: &scrap;
        zmq_msg_init (frame);
        //  Only the first frame may find nothing: the rest of a message is
        //  there once its first frame is
        if (zmq_msg_recv (frame, socket, self->count == 0? flags: 0) == -1) {
            int saved = errno;
            zmq_msg_close (frame);
            zmx_stream_msg_close (self);
            errno = saved;
            return -1;
        }
        more = zmq_msg_more (frame);
        self->count++;
        if (frame == &scrap)
            zmq_msg_close (&scrap);
        else
            self->kept++;
    }
    return 0;
}

int
zmx_stream_msg_decode_msg (zmx_stream_msg_t *self, size_t skip, zmx_stream_side_t side,
                           zmx_stream_view_t *view, const char **error)
{
    assert (self && view);
    if (skip > self->kept) {
        memset (view, 0, sizeof *view);
        if (error)
            *error = "missing frames";
        return -1;
    }
    zmx_frame_t frames [ZMX_STREAM_MSG_FRAMES_MAX + 1];
    for (size_t index = skip; index < self->kept; index++)
        frames [index - skip] = (zmx_frame_t) { zmq_msg_data (&self->frames [index]),
                                                zmq_msg_size (&self->frames [index]) };
    int rc = zmx_stream_msg_decode (frames, self->kept - skip, side, view, error);
    if (self->count > self->kept) {
        //  No command is this long; the kept frames still give the tag
        uint64_t tag = view->tag;
        memset (view, 0, sizeof *view);
        view->tag = tag;
        if (error)
            *error = "too many frames";
        return -1;
    }
    return rc;
}

void
zmx_stream_msg_close (zmx_stream_msg_t *self)
{
    assert (self);
    for (size_t index = 0; index < self->kept; index++)
        zmq_msg_close (&self->frames [index]);
    self->kept = 0;
    self->count = 0;
}

//  -------------------------------------------------------------------------
//  Blob builders

size_t
zmx_stream_msg_batch_record_size (size_t subject_size, size_t msg_id_size,
                                  size_t headers_size, size_t body_size)
{
    return 2 + subject_size + 1 + msg_id_size + 2 + headers_size + 4 + body_size;
}

size_t
zmx_stream_msg_batch_record_put (byte *out, const char *subject, size_t subject_size,
                                 const void *msg_id, size_t msg_id_size,
                                 const byte *headers, size_t headers_size,
                                 const void *body, size_t body_size)
{
    byte *at = out;
    at += s_put (at, subject_size, 2);
    memcpy (at, subject, subject_size);
    at += subject_size;
    at += s_put (at, msg_id_size, 1);
    if (msg_id_size)
        memcpy (at, msg_id, msg_id_size);
    at += msg_id_size;
    at += s_put (at, headers_size, 2);
    if (headers_size)
        memcpy (at, headers, headers_size);
    at += headers_size;
    at += s_put (at, body_size, 4);
    if (body_size)
        memcpy (at, body, body_size);
    return (size_t) (at - out) + body_size;
}

size_t
zmx_stream_msg_delivered_size (size_t subject_size, size_t headers_size, size_t body_size)
{
    return 8 + 8 + 2 + subject_size + 2 + headers_size + 4 + body_size;
}

size_t
zmx_stream_msg_delivered_put (byte *out, uint64_t sequence, int64_t time_ns,
                              const char *subject, size_t subject_size,
                              const byte *headers, size_t headers_size,
                              const void *body, size_t body_size)
{
    byte *at = out;
    at += s_put (at, sequence, 8);
    at += s_put (at, (uint64_t) time_ns, 8);
    at += s_put (at, subject_size, 2);
    memcpy (at, subject, subject_size);
    at += subject_size;
    at += s_put (at, headers_size, 2);
    if (headers_size)
        memcpy (at, headers, headers_size);
    at += headers_size;
    at += s_put (at, body_size, 4);
    if (body_size)
        memcpy (at, body, body_size);
    return (size_t) (at - out) + body_size;
}

size_t
zmx_stream_msg_info_size (size_t name_size)
{
    return 1 + name_size + S_INFO_FIXED;
}

size_t
zmx_stream_msg_info_put (byte *out, const zmx_stream_info_wire_t *info)
{
    byte *at = out;
    at += s_put (at, info->name_size, 1);
    memcpy (at, info->name, info->name_size);
    at += info->name_size;
    at += s_put (at, info->records, 8);
    at += s_put (at, info->bytes, 8);
    at += s_put (at, info->first_sequence, 8);
    at += s_put (at, info->last_sequence, 8);
    at += s_put (at, info->first_time_ns, 8);
    at += s_put (at, info->last_time_ns, 8);
    at += s_put (at, info->consumers, 4);
    return (size_t) (at - out);
}

//  -------------------------------------------------------------------------
//  Headers

int
zmx_stream_msg_headers_decode (const byte *headers, size_t size, zmx_stream_header_t *out,
                               size_t max)
{
    size_t count = 0;
    if (!zmx_stream_msg_headers_valid (headers, size, &count) || count > max)
        return -1;
    size_t at = 0;
    for (size_t index = 0; index < count; index++) {
        size_t name_size = headers [at];
        size_t value_size = (size_t) s_get (headers + at + 1 + name_size, 2);
        out [index] = (zmx_stream_header_t) { (const char *) headers + at + 1, name_size,
                                              headers + at + 3 + name_size, value_size };
        at += 3 + name_size + value_size;
    }
    return (int) count;
}

//  Appends one header at out + *used; false if invalid or out of room.
static bool
s_header_put (const zmx_stream_header_t *header, byte *out, size_t max, size_t *used)
{
    size_t name_size = header->name_size;
    if (name_size == 0 && header->name)
        name_size = strnlen (header->name, ZMX_STREAM_HEADER_NAME_MAX + 1);
    if (!header->name || !s_header_name_valid ((const byte *) header->name, name_size)
    ||  header->value_size > UINT16_MAX || (header->value_size && !header->value))
        return false;
    size_t bytes = 3 + name_size + header->value_size;
    if (max - *used < bytes)
        return false;
    byte *at = out + *used;
    at += s_put (at, name_size, 1);
    memcpy (at, header->name, name_size);
    at += name_size;
    at += s_put (at, header->value_size, 2);
    if (header->value_size)
        memcpy (at, header->value, header->value_size);
    *used += bytes;
    return true;
}

int64_t
zmx_stream_msg_headers_encode (const zmx_stream_header_t *headers, size_t count, byte *out,
                               size_t max)
{
    if (count > ZMX_STREAM_HEADERS_MAX || (count && !headers))
        return -1;
    size_t used = 0;
    for (size_t index = 0; index < count; index++)
        if (!s_header_put (&headers [index], out, max, &used))
            return -1;
    return (int64_t) used;
}

int64_t
zmx_stream_msg_headers_from_record (const zmx_stream_record_t *record, byte *out, size_t max)
{
    assert (record);
    if (record->header_count > ZMX_STREAM_HEADERS_MAX)
        return -1;
    size_t used = 0;
    for (size_t index = 0; index < record->header_count; index++) {
        zmx_stream_header_t header;
        if (!zmx_stream_record_header (record, index, &header)
        ||  !s_header_put (&header, out, max, &used))
            return -1;
    }
    return (int64_t) used;
}
