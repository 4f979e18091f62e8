/*  =========================================================================
    zmx_mdp - Majordomo codec: 7/MDP (MDP/0.1), 18/MDP (MDP/0.2) and zmx
    packed MDP

    The decoder is table-free on purpose: the two versions differ only in
    the leading empty frame and in their command numbering, so we find the
    header, map the command byte to one enum, and then check one layout per
    command. Every size and count is checked before any byte is read.
    Packed MDP (a zmx extension) is recognised by its 6-byte id at the
    start of frame 0 and decoded by its own functions: its fields are byte
    ranges inside that frame, each length checked against the bytes left,
    and the view reports them as offsets and sizes.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"

//  Where the frames after the header start, and what the header said.
typedef struct {
    int version;                //  1 or 2
    bool client;                //  client sub-protocol (else worker)
    size_t next;                //  index of the frame after the header
} s_header_t;

static int
s_invalid (zmx_mdp_view_t *view, const char *reason)
{
    view->command = ZMX_MDP_INVALID;
    view->error = reason;
    return -1;
}

static bool
s_frame_is (const zmx_mdp_frame_t *frame, const char *text)
{
    size_t length = strlen (text);
    return frame->size == length && memcmp (frame->data, text, length) == 0;
}

bool
zmx_mdp_service_valid (const void *data, size_t size)
{
    if (!data || size == 0 || size > ZMX_MDP_MAX_SERVICE)
        return false;
    const unsigned char *bytes = (const unsigned char *) data;
    for (size_t index = 0; index < size; index++)
        if (bytes [index] < 0x20 || bytes [index] > 0x7E)
            return false;
    return true;
}

//  Find the protocol header: MDP/0.1 puts an empty frame before it, MDP/0.2
//  starts with it. A 0.2 header after an empty frame (or a 0.1 header
//  without one) is a malformed message, not a guess.
static int
s_decode_header (const zmx_mdp_frame_t *frames, size_t count, s_header_t *header,
                 zmx_mdp_view_t *view)
{
    size_t at = frames [0].size == 0? 1: 0;
    if (at >= count)
        return s_invalid (view, "no protocol header");
    const zmx_mdp_frame_t *frame = &frames [at];
    header->version = at == 1? 1: 2;
    header->next = at + 1;
    if (s_frame_is (frame, at == 1? ZMX_MDPC01: ZMX_MDPC02))
        header->client = true;
    else
    if (s_frame_is (frame, at == 1? ZMX_MDPW01: ZMX_MDPW02))
        header->client = false;
    else
        return s_invalid (view, at == 1? "expected MDPC01 or MDPW01 after empty frame"
                                       : "expected MDPC02 or MDPW02 header");
    view->version = header->version;
    return 0;
}

//  Map a worker command byte to the common enum, per version.
static zmx_mdp_command_t
s_worker_command (int version, unsigned char code)
{
    if (version == 1)
        switch (code) {
            case ZMX_MDPW01_READY:      return ZMX_MDP_WORKER_READY;
            case ZMX_MDPW01_REQUEST:    return ZMX_MDP_WORKER_REQUEST;
            case ZMX_MDPW01_REPLY:      return ZMX_MDP_WORKER_REPLY;
            case ZMX_MDPW01_HEARTBEAT:  return ZMX_MDP_WORKER_HEARTBEAT;
            case ZMX_MDPW01_DISCONNECT: return ZMX_MDP_WORKER_DISCONNECT;
            default:                    return ZMX_MDP_INVALID;
        }
    switch (code) {
        case ZMX_MDPW02_READY:      return ZMX_MDP_WORKER_READY;
        case ZMX_MDPW02_REQUEST:    return ZMX_MDP_WORKER_REQUEST;
        case ZMX_MDPW02_PARTIAL:    return ZMX_MDP_WORKER_PARTIAL;
        case ZMX_MDPW02_FINAL:      return ZMX_MDP_WORKER_FINAL;
        case ZMX_MDPW02_HEARTBEAT:  return ZMX_MDP_WORKER_HEARTBEAT;
        case ZMX_MDPW02_DISCONNECT: return ZMX_MDP_WORKER_DISCONNECT;
        default:                    return ZMX_MDP_INVALID;
    }
}

//  Parse the optional READY credit frame: 1..6 decimal digits, no sign, no
//  spaces, value 1..ZMX_MDP_MAX_CREDIT. Returns 0 if not valid.
static uint32_t
s_parse_credit (const zmx_mdp_frame_t *frame)
{
    if (frame->size == 0 || frame->size > 6)
        return 0;
    const unsigned char *digits = (const unsigned char *) frame->data;
    uint32_t value = 0;
    for (size_t index = 0; index < frame->size; index++) {
        if (digits [index] < '0' || digits [index] > '9')
            return 0;
        value = value * 10 + (digits [index] - '0');
    }
    return value <= ZMX_MDP_MAX_CREDIT? value: 0;
}

//  Client sub-protocol: [command (0.2)] service body+
static int
s_decode_client (const zmx_mdp_frame_t *frames, size_t count, zmx_mdp_side_t side,
                 const s_header_t *header, zmx_mdp_view_t *view)
{
    size_t at = header->next;
    if (side == ZMX_MDP_AT_WORKER)
        return s_invalid (view, "client command sent to a worker");
    if (header->version == 1)
        view->command = side == ZMX_MDP_AT_BROKER? ZMX_MDP_CLIENT_REQUEST: ZMX_MDP_CLIENT_REPLY;
    else {
        if (at >= count || frames [at].size != 1)
            return s_invalid (view, "command frame must be one byte");
        unsigned char code = *(const unsigned char *) frames [at].data;
        if (side == ZMX_MDP_AT_BROKER && code == ZMX_MDPC02_REQUEST)
            view->command = ZMX_MDP_CLIENT_REQUEST;
        else
        if (side == ZMX_MDP_AT_CLIENT && code == ZMX_MDPC02_PARTIAL)
            view->command = ZMX_MDP_CLIENT_PARTIAL;
        else
        if (side == ZMX_MDP_AT_CLIENT && code == ZMX_MDPC02_FINAL)
            view->command = ZMX_MDP_CLIENT_FINAL;
        else
            return s_invalid (view, "unknown or misdirected client command");
        at++;
    }
    if (at + 2 > count)
        return s_invalid (view, "client command needs a service and a body");
    if (!zmx_mdp_service_valid (frames [at].data, frames [at].size))
        return s_invalid (view, "service name must be 1-255 printable bytes");
    view->service = at;
    view->service_size = frames [at].size;
    view->body = at + 1;
    return 0;
}

//  Worker REQUEST, REPLY, PARTIAL, FINAL: address "" body+
static int
s_decode_envelope (const zmx_mdp_frame_t *frames, size_t count, size_t at,
                   zmx_mdp_view_t *view)
{
    if (at + 3 > count)
        return s_invalid (view, "command needs address, empty delimiter and body");
    if (frames [at].size == 0 || frames [at].size > ZMX_MDP_MAX_ADDRESS)
        return s_invalid (view, "client address must be 1-256 bytes");
    if (frames [at + 1].size != 0)
        return s_invalid (view, "missing empty delimiter after client address");
    view->address = at;
    view->address_size = frames [at].size;
    view->body = at + 2;
    return 0;
}

//  Worker sub-protocol: command [service [credit] | address "" body+]
static int
s_decode_worker (const zmx_mdp_frame_t *frames, size_t count, zmx_mdp_side_t side,
                 const s_header_t *header, zmx_mdp_view_t *view)
{
    size_t at = header->next;
    if (side == ZMX_MDP_AT_CLIENT)
        return s_invalid (view, "worker command sent to a client");
    if (at >= count || frames [at].size != 1)
        return s_invalid (view, "command frame must be one byte");
    zmx_mdp_command_t command =
        s_worker_command (header->version, *(const unsigned char *) frames [at].data);
    at++;
    bool to_broker = side == ZMX_MDP_AT_BROKER;
    switch (command) {
        case ZMX_MDP_WORKER_READY:
            if (!to_broker)
                return s_invalid (view, "READY sent to a worker");
            if (count != at + 1 && count != at + 2)
                return s_invalid (view, "READY takes a service and an optional credit");
            if (!zmx_mdp_service_valid (frames [at].data, frames [at].size))
                return s_invalid (view, "service name must be 1-255 printable bytes");
            view->service = at;
            view->service_size = frames [at].size;
            if (count == at + 2 && (view->credit = s_parse_credit (&frames [at + 1])) == 0)
                return s_invalid (view, "READY credit must be a number from 1 to 100000");
            view->body = count;
            break;
        case ZMX_MDP_WORKER_REQUEST:
            if (to_broker)
                return s_invalid (view, "REQUEST sent to a broker");
            if (s_decode_envelope (frames, count, at, view))
                return -1;
            break;
        case ZMX_MDP_WORKER_REPLY:
        case ZMX_MDP_WORKER_PARTIAL:
        case ZMX_MDP_WORKER_FINAL:
            if (!to_broker)
                return s_invalid (view, "reply sent to a worker");
            if (s_decode_envelope (frames, count, at, view))
                return -1;
            break;
        case ZMX_MDP_WORKER_HEARTBEAT:
        case ZMX_MDP_WORKER_DISCONNECT:
            if (count != at)
                return s_invalid (view, "HEARTBEAT and DISCONNECT take no frames");
            view->body = count;
            break;
        default:
            return s_invalid (view, "unknown worker command");
    }
    view->command = command;
    return 0;
}

//  -------------------------------------------------------------------------
//  Packed MDP: one header frame, "ZMXC01"/"ZMXW01" command flags fields
//  [inline body], then the rest of the body as frames.

static bool
s_is_packed (const zmx_mdp_frame_t *frame)
{
    return frame->size >= 6
        && (memcmp (frame->data, ZMX_MDPC_PACKED, 6) == 0
            || memcmp (frame->data, ZMX_MDPW_PACKED, 6) == 0);
}

//  The header's fields end at `end`: what follows is the inline body if
//  the flag is set, else nothing may follow and a body frame must.
static int
s_packed_body (const zmx_mdp_frame_t *frames, size_t count, size_t end, bool inline_body,
               zmx_mdp_view_t *view)
{
    if (inline_body) {
        view->inline_body = true;
        view->inline_offset = end;
        view->inline_size = frames [0].size - end;
    }
    else {
        if (frames [0].size != end)
            return s_invalid (view, "packed header longer than its fields without INLINE");
        if (count < 2)
            return s_invalid (view, "packed command needs a body (INLINE or a frame)");
    }
    view->body = 1;
    return 0;
}

//  Service field: svc_len (1 byte, 1..255) then the name, at `at`.
//  Returns the offset after it, or 0 if invalid.
static size_t
s_packed_service (const zmx_mdp_frame_t *frame, size_t at, zmx_mdp_view_t *view)
{
    const uint8_t *bytes = (const uint8_t *) frame->data;
    if (at + 1 > frame->size)
        return 0;
    size_t length = bytes [at];
    if (length == 0 || at + 1 + length > frame->size
    ||  !zmx_mdp_service_valid (bytes + at + 1, length))
        return 0;
    view->service_offset = at + 1;
    view->service_size = length;
    return at + 1 + length;
}

static int
s_decode_packed_client (const zmx_mdp_frame_t *frames, size_t count, zmx_mdp_side_t side,
                        unsigned char code, bool inline_body, zmx_mdp_view_t *view)
{
    if (side == ZMX_MDP_AT_BROKER && code == ZMX_PACKEDC_REQUEST)
        view->command = ZMX_MDP_CLIENT_REQUEST;
    else
    if (side == ZMX_MDP_AT_CLIENT && code == ZMX_PACKEDC_PARTIAL)
        view->command = ZMX_MDP_CLIENT_PARTIAL;
    else
    if (side == ZMX_MDP_AT_CLIENT && code == ZMX_PACKEDC_FINAL)
        view->command = ZMX_MDP_CLIENT_FINAL;
    else
        return s_invalid (view, "unknown or misdirected packed client command");
    size_t end = s_packed_service (&frames [0], ZMX_PACKED_FIXED, view);
    if (end == 0)
        return s_invalid (view, "packed service must be 1-255 printable bytes in the frame");
    return s_packed_body (frames, count, end, inline_body, view);
}

static int
s_decode_packed_worker (const zmx_mdp_frame_t *frames, size_t count, zmx_mdp_side_t side,
                        unsigned char code, bool inline_body, zmx_mdp_view_t *view)
{
    const uint8_t *bytes = (const uint8_t *) frames [0].data;
    size_t size = frames [0].size;
    bool to_broker = side == ZMX_MDP_AT_BROKER;
    zmx_mdp_command_t command = s_worker_command (2, code);
    bool envelope = command == ZMX_MDP_WORKER_REQUEST || command == ZMX_MDP_WORKER_PARTIAL
                 || command == ZMX_MDP_WORKER_FINAL;
    if (command == ZMX_MDP_INVALID)
        return s_invalid (view, "unknown packed worker command");
    if (side == ZMX_MDP_AT_CLIENT)
        return s_invalid (view, "worker command sent to a client");
    if ((command == ZMX_MDP_WORKER_READY && !to_broker)
    ||  (command == ZMX_MDP_WORKER_REQUEST && to_broker)
    ||  ((command == ZMX_MDP_WORKER_PARTIAL || command == ZMX_MDP_WORKER_FINAL) && !to_broker))
        return s_invalid (view, "misdirected packed worker command");
    if (!envelope && inline_body)
        return s_invalid (view, "INLINE flag on a packed command without a body");
    view->command = command;
    if (command == ZMX_MDP_WORKER_READY) {
        size_t end = s_packed_service (&frames [0], ZMX_PACKED_FIXED, view);
        if (end == 0)
            return s_invalid (view, "packed service must be 1-255 printable bytes in the frame");
        if (size != end + 4 || count != 1)
            return s_invalid (view, "packed READY is service and a 4-byte credit, one frame");
        view->credit = (uint32_t) bytes [end] << 24 | (uint32_t) bytes [end + 1] << 16
                     | (uint32_t) bytes [end + 2] << 8 | bytes [end + 3];
        if (view->credit > ZMX_MDP_MAX_CREDIT)
            return s_invalid (view, "READY credit must be a number from 0 to 100000");
        view->body = count;
        return 0;
    }
    if (!envelope) {
        if (size != ZMX_PACKED_FIXED || count != 1)
            return s_invalid (view, "packed HEARTBEAT and DISCONNECT are a bare header");
        view->body = count;
        return 0;
    }
    if (size < ZMX_PACKED_FIXED + 2)
        return s_invalid (view, "packed address length missing");
    size_t length = (size_t) bytes [ZMX_PACKED_FIXED] << 8 | bytes [ZMX_PACKED_FIXED + 1];
    size_t at = ZMX_PACKED_FIXED + 2;
    if (length == 0 || length > ZMX_MDP_MAX_ADDRESS || at + length > size)
        return s_invalid (view, "packed client address must be 1-256 bytes in the frame");
    view->address_offset = at;
    view->address_size = length;
    return s_packed_body (frames, count, at + length, inline_body, view);
}

static int
s_decode_packed (const zmx_mdp_frame_t *frames, size_t count, zmx_mdp_side_t side,
                 zmx_mdp_view_t *view)
{
    view->version = ZMX_MDP_PACKED;
    if (frames [0].size < ZMX_PACKED_FIXED)
        return s_invalid (view, "packed header shorter than 8 bytes");
    const uint8_t *bytes = (const uint8_t *) frames [0].data;
    unsigned char code = bytes [6];
    unsigned char flags = bytes [7];
    if (flags & ~ZMX_PACKED_INLINE)
        return s_invalid (view, "packed header has unknown flags");
    bool inline_body = (flags & ZMX_PACKED_INLINE) != 0;
    bool client = memcmp (bytes, ZMX_MDPC_PACKED, 6) == 0;
    if (client && side == ZMX_MDP_AT_WORKER)
        return s_invalid (view, "client command sent to a worker");
    return client? s_decode_packed_client (frames, count, side, code, inline_body, view)
                 : s_decode_packed_worker (frames, count, side, code, inline_body, view);
}

int
zmx_mdp_decode (const zmx_mdp_frame_t *frames, size_t count, zmx_mdp_side_t side,
                zmx_mdp_view_t *view)
{
    assert (view);
    memset (view, 0, sizeof *view);
    view->body = count;
    if (!frames || count == 0)
        return s_invalid (view, "empty message");
    if (count > ZMX_MDP_MAX_FRAMES)
        return s_invalid (view, "too many frames");
    if (s_is_packed (&frames [0]))
        return s_decode_packed (frames, count, side, view);
    s_header_t header;
    if (s_decode_header (frames, count, &header, view))
        return -1;
    if (header.client)
        return s_decode_client (frames, count, side, &header, view);
    return s_decode_worker (frames, count, side, &header, view);
}

int
zmx_mdp_decode_msg (zmsg_t *msg, zmx_mdp_side_t side, zmx_mdp_view_t *view)
{
    assert (view);
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES];
    size_t count = msg? zmsg_size (msg): 0;
    if (count > ZMX_MDP_MAX_FRAMES) {
        memset (view, 0, sizeof *view);
        return s_invalid (view, "too many frames");
    }
    size_t index = 0;
    for (zframe_t *frame = msg? zmsg_first (msg): NULL; frame; frame = zmsg_next (msg)) {
        frames [index].data = zframe_data (frame);
        frames [index].size = zframe_size (frame);
        index++;
    }
    return zmx_mdp_decode (frames, count, side, view);
}

const char *
zmx_mdp_command_name (zmx_mdp_command_t command)
{
    switch (command) {
        case ZMX_MDP_CLIENT_REQUEST:    return "REQUEST";
        case ZMX_MDP_CLIENT_REPLY:      return "REPLY";
        case ZMX_MDP_CLIENT_PARTIAL:    return "PARTIAL";
        case ZMX_MDP_CLIENT_FINAL:      return "FINAL";
        case ZMX_MDP_WORKER_READY:      return "READY";
        case ZMX_MDP_WORKER_REQUEST:    return "REQUEST";
        case ZMX_MDP_WORKER_REPLY:      return "REPLY";
        case ZMX_MDP_WORKER_PARTIAL:    return "PARTIAL";
        case ZMX_MDP_WORKER_FINAL:      return "FINAL";
        case ZMX_MDP_WORKER_HEARTBEAT:  return "HEARTBEAT";
        case ZMX_MDP_WORKER_DISCONNECT: return "DISCONNECT";
        default:                        return "INVALID";
    }
}

//  -------------------------------------------------------------------------
//  Encoders. Each pushes frames in front of the body, so the caller builds
//  the body first and the codec adds the envelope without copying it.

static void
s_push_byte (zmsg_t *msg, unsigned char byte)
{
    zmsg_pushmem (msg, &byte, 1);
}

//  Both versions require at least one body frame; an empty body travels as
//  one empty frame.
static void
s_ensure_body (zmsg_t *msg)
{
    if (zmsg_size (msg) == 0)
        zmsg_addmem (msg, "", 0);
}

//  Packed: the command byte and whether the field is a service (client
//  commands, READY: one length byte) or an address (two length bytes).
static unsigned char
s_packed_code (zmx_mdp_command_t command, bool *client_p, size_t *length_bytes_p)
{
    *client_p = false;
    *length_bytes_p = 2;
    switch (command) {
        case ZMX_MDP_CLIENT_REQUEST:    *client_p = true; *length_bytes_p = 1;
                                        return ZMX_PACKEDC_REQUEST;
        case ZMX_MDP_CLIENT_PARTIAL:    *client_p = true; *length_bytes_p = 1;
                                        return ZMX_PACKEDC_PARTIAL;
        case ZMX_MDP_CLIENT_REPLY:
        case ZMX_MDP_CLIENT_FINAL:      *client_p = true; *length_bytes_p = 1;
                                        return ZMX_PACKEDC_FINAL;
        case ZMX_MDP_WORKER_READY:      *length_bytes_p = 1;
                                        return ZMX_PACKEDW_READY;
        case ZMX_MDP_WORKER_REQUEST:    return ZMX_PACKEDW_REQUEST;
        case ZMX_MDP_WORKER_PARTIAL:    return ZMX_PACKEDW_PARTIAL;
        case ZMX_MDP_WORKER_REPLY:
        case ZMX_MDP_WORKER_FINAL:      return ZMX_PACKEDW_FINAL;
        case ZMX_MDP_WORKER_HEARTBEAT:  *length_bytes_p = 0;
                                        return ZMX_PACKEDW_HEARTBEAT;
        case ZMX_MDP_WORKER_DISCONNECT: *length_bytes_p = 0;
                                        return ZMX_PACKEDW_DISCONNECT;
        default:                        assert (false); return 0;
    }
}

size_t
zmx_mdp_packed_size (zmx_mdp_command_t command, size_t field_size, size_t inline_size)
{
    bool client;
    size_t length_bytes;
    s_packed_code (command, &client, &length_bytes);
    if (length_bytes == 0)
        return ZMX_PACKED_FIXED;
    size_t size = ZMX_PACKED_FIXED + length_bytes + field_size + inline_size;
    return command == ZMX_MDP_WORKER_READY? size + 4: size;
}

size_t
zmx_mdp_packed_write (void *buffer, zmx_mdp_command_t command, bool inline_body,
                      const void *field, size_t field_size, uint32_t credit)
{
    bool client;
    size_t length_bytes;
    uint8_t *bytes = (uint8_t *) buffer;
    bytes [6] = s_packed_code (command, &client, &length_bytes);
    memcpy (bytes, client? ZMX_MDPC_PACKED: ZMX_MDPW_PACKED, 6);
    bytes [7] = inline_body? ZMX_PACKED_INLINE: 0;
    size_t at = ZMX_PACKED_FIXED;
    if (length_bytes == 1) {
        assert (field_size >= 1 && field_size <= ZMX_MDP_MAX_SERVICE);
        bytes [at++] = (uint8_t) field_size;
    }
    else
    if (length_bytes == 2) {
        assert (field_size >= 1 && field_size <= ZMX_MDP_MAX_ADDRESS);
        bytes [at++] = (uint8_t) (field_size >> 8);
        bytes [at++] = (uint8_t) field_size;
    }
    if (length_bytes) {
        memcpy (bytes + at, field, field_size);
        at += field_size;
    }
    if (command == ZMX_MDP_WORKER_READY) {
        bytes [at++] = (uint8_t) (credit >> 24);
        bytes [at++] = (uint8_t) (credit >> 16);
        bytes [at++] = (uint8_t) (credit >> 8);
        bytes [at++] = (uint8_t) credit;
    }
    return at;
}

//  Push a packed header in front of msg's body, inlining body frame 0 if
//  it is small enough.
static void
s_packed_wrap (zmsg_t *msg, zmx_mdp_command_t command, const void *field, size_t field_size)
{
    s_ensure_body (msg);
    zframe_t *first = zmsg_first (msg);
    bool inline_body = zframe_size (first) <= ZMX_PACKED_INLINE_MAX;
    size_t inline_size = inline_body? zframe_size (first): 0;
    zframe_t *header =
        zframe_new (NULL, zmx_mdp_packed_size (command, field_size, inline_size));
    size_t at = zmx_mdp_packed_write (zframe_data (header), command, inline_body, field,
                                      field_size, 0);
    if (inline_body) {
        memcpy (zframe_data (header) + at, zframe_data (first), inline_size);
        zmsg_remove (msg, first);
        zframe_destroy (&first);
    }
    zmsg_prepend (msg, &header);
}

void
zmx_mdp_wrap_client_request (zmsg_t *msg, int version, const char *service)
{
    assert (msg);
    assert (service);
    if (version == ZMX_MDP_PACKED) {
        s_packed_wrap (msg, ZMX_MDP_CLIENT_REQUEST, service, strlen (service));
        return;
    }
    s_ensure_body (msg);
    zmsg_pushstr (msg, service);
    if (version == 2) {
        s_push_byte (msg, ZMX_MDPC02_REQUEST);
        zmsg_pushstr (msg, ZMX_MDPC02);
    }
    else {
        zmsg_pushstr (msg, ZMX_MDPC01);
        zmsg_pushmem (msg, "", 0);
    }
}

static unsigned char
s_worker_code (int version, zmx_mdp_command_t command)
{
    switch (command) {
        case ZMX_MDP_WORKER_READY:      return version == 2? ZMX_MDPW02_READY: ZMX_MDPW01_READY;
        case ZMX_MDP_WORKER_REQUEST:    return version == 2? ZMX_MDPW02_REQUEST: ZMX_MDPW01_REQUEST;
        case ZMX_MDP_WORKER_REPLY:
        case ZMX_MDP_WORKER_FINAL:      return version == 2? ZMX_MDPW02_FINAL: ZMX_MDPW01_REPLY;
        case ZMX_MDP_WORKER_PARTIAL:    return ZMX_MDPW02_PARTIAL;
        case ZMX_MDP_WORKER_HEARTBEAT:  return version == 2? ZMX_MDPW02_HEARTBEAT
                                                            : ZMX_MDPW01_HEARTBEAT;
        case ZMX_MDP_WORKER_DISCONNECT: return version == 2? ZMX_MDPW02_DISCONNECT
                                                            : ZMX_MDPW01_DISCONNECT;
        default:                        assert (false); return 0;
    }
}

static void
s_push_worker_header (zmsg_t *msg, int version, zmx_mdp_command_t command)
{
    s_push_byte (msg, s_worker_code (version, command));
    zmsg_pushstr (msg, version == 2? ZMX_MDPW02: ZMX_MDPW01);
    if (version != 2)
        zmsg_pushmem (msg, "", 0);
}

zmsg_t *
zmx_mdp_worker_ready (int version, const char *service, uint32_t credit)
{
    assert (service);
    zmsg_t *msg = zmsg_new ();
    if (version == ZMX_MDP_PACKED) {
        size_t size = strlen (service);
        zframe_t *header =
            zframe_new (NULL, zmx_mdp_packed_size (ZMX_MDP_WORKER_READY, size, 0));
        zmx_mdp_packed_write (zframe_data (header), ZMX_MDP_WORKER_READY, false, service,
                              size, credit);
        zmsg_append (msg, &header);
        return msg;
    }
    zmsg_addstr (msg, service);
    if (credit > 0) {
        char text [16];
        snprintf (text, sizeof text, "%" PRIu32, credit);
        zmsg_addstr (msg, text);
    }
    s_push_worker_header (msg, version, ZMX_MDP_WORKER_READY);
    return msg;
}

zmsg_t *
zmx_mdp_worker_signal (int version, zmx_mdp_command_t command)
{
    assert (command == ZMX_MDP_WORKER_HEARTBEAT || command == ZMX_MDP_WORKER_DISCONNECT);
    zmsg_t *msg = zmsg_new ();
    if (version == ZMX_MDP_PACKED) {
        uint8_t header [ZMX_PACKED_FIXED];
        zmx_mdp_packed_write (header, command, false, NULL, 0, 0);
        zmsg_addmem (msg, header, sizeof header);
        return msg;
    }
    s_push_worker_header (msg, version, command);
    return msg;
}

void
zmx_mdp_wrap_worker_reply (zmsg_t *msg, int version, zmx_mdp_command_t command,
                           zframe_t *address)
{
    assert (msg);
    assert (address);
    assert (version != 1 || command != ZMX_MDP_WORKER_PARTIAL);
    if (version == ZMX_MDP_PACKED) {
        s_packed_wrap (msg, command, zframe_data (address), zframe_size (address));
        return;
    }
    s_ensure_body (msg);
    zmsg_pushmem (msg, "", 0);
    zmsg_pushmem (msg, zframe_data (address), zframe_size (address));
    s_push_worker_header (msg, version, command);
}
