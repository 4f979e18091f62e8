/*  =========================================================================
    zmx_chp - codec for 12/CHP, the Clustered Hashmap Protocol

    Every check lives in one small function per field so that the decoder,
    the encoder (zmx_chp_check) and the fuzzer agree on one definition of
    a valid message. See include/zmx/zmx_chp.h for the wire format.
    =========================================================================
*/
#include "zmx_classes.h"

static const char *s_command_names [] = {
    "?", "ICANHAZ", "KVSYNC", "KTHXBAI", "KVPUB", "HUGZ", "KVSET"
};

const char *
zmx_chp_command_name (int command)
{
    if (command < ZMX_CHP_ICANHAZ || command > ZMX_CHP_KVSET)
        return "?";
    return s_command_names [command];
}

static bool
s_frame_is (const zmx_chp_frame_t *frame, const char *word)
{
    size_t size = strlen (word);
    return frame->size == size && memcmp (frame->data, word, size) == 0;
}

static bool
s_printable (const char *text, size_t size)
{
    for (size_t index = 0; index < size; index++) {
        unsigned char c = (unsigned char) text [index];
        if (c < 0x20 || c == 0x7F)
            return false;
    }
    return true;
}

bool
zmx_chp_key_valid (const char *key, size_t size)
{
    if (!key || size == 0 || size > ZMX_CHP_KEY_MAX || !s_printable (key, size))
        return false;
    //  A key equal to a command word would make KVSYNC look like KTHXBAI
    //  or KVPUB like HUGZ
    zmx_chp_frame_t frame = { key, size };
    return !s_frame_is (&frame, ZMX_CHP_KTHXBAI_WORD) && !s_frame_is (&frame, ZMX_CHP_HUGZ_WORD)
        && !s_frame_is (&frame, ZMX_CHP_ICANHAZ_WORD);
}

bool
zmx_chp_subtree_valid (const char *subtree, size_t size)
{
    if (size == 0)
        return true;
    if (!subtree || size < 3 || size > ZMX_CHP_KEY_MAX || subtree [0] != '/'
    ||  subtree [size - 1] != '/' || !s_printable (subtree, size))
        return false;
    for (size_t index = 1; index < size; index++)
        if (subtree [index] == '/' && subtree [index - 1] == '/')
            return false;       //  Empty segment
    return true;
}

bool
zmx_chp_properties_valid (const char *properties, size_t size)
{
    if (size > ZMX_CHP_PROPERTIES_MAX)
        return false;
    size_t line = 0;
    while (line < size) {
        const char *end = (const char *) memchr (properties + line, '\n', size - line);
        if (!end)
            return false;       //  Last line not terminated
        size_t length = (size_t) (end - (properties + line));
        const char *equals = (const char *) memchr (properties + line, '=', length);
        if (!equals || equals == properties + line || !s_printable (properties + line, length))
            return false;       //  No name, or a control character
        line += length + 1;
    }
    return true;
}

bool
zmx_chp_in_subtree (const char *key, size_t key_size, const char *subtree, size_t subtree_size)
{
    return subtree_size == 0
        || (key_size >= subtree_size && memcmp (key, subtree, subtree_size) == 0);
}

int
zmx_chp_property (const char *properties, size_t size, const char *name, char *buffer,
                  size_t buffer_size)
{
    size_t name_size = strlen (name), line = 0;
    while (line < size) {
        const char *start = properties + line;
        const char *end = (const char *) memchr (start, '\n', size - line);
        if (!end)
            break;
        size_t length = (size_t) (end - start);
        if (length > name_size && start [name_size] == '=' && memcmp (start, name, name_size) == 0) {
            size_t value = length - name_size - 1;
            if (buffer_size) {
                size_t copy = value < buffer_size - 1? value: buffer_size - 1;
                memcpy (buffer, start + name_size + 1, copy);
                buffer [copy] = 0;
            }
            return 1;
        }
        line += length + 1;
    }
    return 0;
}

int
zmx_chp_ttl (const char *properties, size_t size, uint64_t *ttl)
{
    char text [32];
    *ttl = 0;
    if (!zmx_chp_property (properties, size, "ttl", text, sizeof text))
        return 0;
    size_t length = strlen (text);
    if (length == 0 || length > 10)
        return -1;
    uint64_t value = 0;
    for (size_t index = 0; index < length; index++) {
        if (text [index] < '0' || text [index] > '9')
            return -1;
        value = value * 10 + (uint64_t) (text [index] - '0');
    }
    if (value == 0 || value > ZMX_CHP_TTL_MAX)
        return -1;
    *ttl = value;
    return 1;
}

//  The five-frame commands: check sequence, uuid, properties sizes and
//  formats common to KVSYNC, KVPUB and KVSET, and fill the view.
static const char *
s_decode_kv (const zmx_chp_frame_t *frames, zmx_chp_view_t *view)
{
    if (!zmx_chp_key_valid ((const char *) frames [0].data, frames [0].size))
        return "invalid key";
    if (frames [1].size != ZMX_CHP_SEQUENCE_SIZE)
        return "sequence is not 8 bytes";
    if (frames [2].size != 0 && frames [2].size != ZMX_CHP_UUID_SIZE)
        return "uuid is neither empty nor 16 bytes";
    if (!zmx_chp_properties_valid ((const char *) frames [3].data, frames [3].size))
        return "invalid properties";
    view->key = (const char *) frames [0].data;
    view->key_size = frames [0].size;
    view->sequence = zmx__wire_get (frames [1].data, ZMX_CHP_SEQUENCE_SIZE);
    view->uuid = frames [2].size? (const byte *) frames [2].data: NULL;
    view->properties = frames [3].size? (const char *) frames [3].data: NULL;
    view->properties_size = frames [3].size;
    view->value = (const byte *) frames [4].data;
    view->value_size = frames [4].size;
    return NULL;
}

//  KTHXBAI and HUGZ: word, sequence, two empty frames, and a subtree
//  (KTHXBAI) or an empty frame (HUGZ).
static const char *
s_decode_control (const zmx_chp_frame_t *frames, zmx_chp_view_t *view)
{
    if (frames [1].size != ZMX_CHP_SEQUENCE_SIZE)
        return "sequence is not 8 bytes";
    if (frames [2].size || frames [3].size)
        return "frames 2 and 3 must be empty";
    view->sequence = zmx__wire_get (frames [1].data, ZMX_CHP_SEQUENCE_SIZE);
    if (view->command == ZMX_CHP_HUGZ)
        return frames [4].size? "HUGZ frame 4 must be empty": NULL;
    if (!zmx_chp_subtree_valid ((const char *) frames [4].data, frames [4].size))
        return "invalid subtree";
    view->subtree = (const char *) frames [4].data;
    view->subtree_size = frames [4].size;
    return NULL;
}

static const char *
s_decode (const zmx_chp_frame_t *frames, size_t count, zmx_chp_side_t side,
          zmx_chp_view_t *view)
{
    if (side == ZMX_CHP_SERVER_SNAPSHOT) {
        if (count != 2)
            return "ICANHAZ must have 2 frames";
        if (!s_frame_is (&frames [0], ZMX_CHP_ICANHAZ_WORD))
            return "not ICANHAZ?";
        if (!zmx_chp_subtree_valid ((const char *) frames [1].data, frames [1].size))
            return "invalid subtree";
        view->command = ZMX_CHP_ICANHAZ;
        view->subtree = (const char *) frames [1].data;
        view->subtree_size = frames [1].size;
        return NULL;
    }
    if (side != ZMX_CHP_CLIENT_SNAPSHOT && side != ZMX_CHP_CLIENT_UPDATES
    &&  side != ZMX_CHP_SERVER_COLLECTOR)
        return "unknown side";
    if (count != ZMX_CHP_FRAMES)
        return "command must have 5 frames";
    if (side == ZMX_CHP_CLIENT_SNAPSHOT && s_frame_is (&frames [0], ZMX_CHP_KTHXBAI_WORD))
        view->command = ZMX_CHP_KTHXBAI;
    else
    if (side == ZMX_CHP_CLIENT_UPDATES && s_frame_is (&frames [0], ZMX_CHP_HUGZ_WORD))
        view->command = ZMX_CHP_HUGZ;
    if (view->command)
        return s_decode_control (frames, view);
    view->command = side == ZMX_CHP_CLIENT_SNAPSHOT? ZMX_CHP_KVSYNC
                  : side == ZMX_CHP_CLIENT_UPDATES? ZMX_CHP_KVPUB: ZMX_CHP_KVSET;
    return s_decode_kv (frames, view);
}

int
zmx_chp_decode (const zmx_chp_frame_t *frames, size_t count, zmx_chp_side_t side,
                zmx_chp_view_t *view, const char **error)
{
    assert (view);
    memset (view, 0, sizeof *view);
    const char *reason = frames || count == 0? s_decode (frames, count, side, view)
                                             : "no frames";
    if (reason)
        memset (view, 0, sizeof *view);
    if (error)
        *error = reason;
    return reason? -1: 0;
}

int
zmx_chp_check (const zmx_chp_view_t *view, const char **error)
{
    const char *reason = NULL;
    switch (view->command) {
        case ZMX_CHP_ICANHAZ:
        case ZMX_CHP_KTHXBAI:
            if (!zmx_chp_subtree_valid (view->subtree, view->subtree_size))
                reason = "invalid subtree";
            break;
        case ZMX_CHP_HUGZ:
            break;
        case ZMX_CHP_KVSYNC:
        case ZMX_CHP_KVPUB:
        case ZMX_CHP_KVSET:
            if (!zmx_chp_key_valid (view->key, view->key_size))
                reason = "invalid key";
            else
            if (view->properties_size
            &&  (!view->properties
              || !zmx_chp_properties_valid (view->properties, view->properties_size)))
                reason = "invalid properties";
            else
            if (view->value_size && !view->value)
                reason = "value size without data";
            break;
        default:
            reason = "unknown command";
    }
    if (error)
        *error = reason;
    return reason? -1: 0;
}

//  The five frames of a command other than ICANHAZ; `sequence` is the
//  8-byte buffer the second frame points to.
static void
s_frames_of (const zmx_chp_view_t *view, byte *sequence, zmx_chp_frame_t *frames)
{
    zmx__wire_put (sequence, view->sequence, ZMX_CHP_SEQUENCE_SIZE);
    frames [1] = (zmx_chp_frame_t) { sequence, ZMX_CHP_SEQUENCE_SIZE };
    frames [2] = (zmx_chp_frame_t) { NULL, 0 };
    frames [3] = (zmx_chp_frame_t) { NULL, 0 };
    frames [4] = (zmx_chp_frame_t) { NULL, 0 };
    if (view->command == ZMX_CHP_KTHXBAI) {
        frames [0] = (zmx_chp_frame_t) { ZMX_CHP_KTHXBAI_WORD, strlen (ZMX_CHP_KTHXBAI_WORD) };
        frames [4] = (zmx_chp_frame_t) { view->subtree, view->subtree_size };
    }
    else
    if (view->command == ZMX_CHP_HUGZ)
        frames [0] = (zmx_chp_frame_t) { ZMX_CHP_HUGZ_WORD, strlen (ZMX_CHP_HUGZ_WORD) };
    else {
        frames [0] = (zmx_chp_frame_t) { view->key, view->key_size };
        //  KVSYNC carries no uuid or properties (RFC 12 lays it out so)
        if (view->command != ZMX_CHP_KVSYNC) {
            frames [2] = (zmx_chp_frame_t) { view->uuid, view->uuid? ZMX_CHP_UUID_SIZE: 0 };
            frames [3] = (zmx_chp_frame_t) { view->properties, view->properties_size };
        }
        frames [4] = (zmx_chp_frame_t) { view->value, view->value_size };
    }
}

//  The frames of any command; returns how many.
static size_t
s_layout (const zmx_chp_view_t *view, byte *sequence, zmx_chp_frame_t *frames)
{
    if (view->command == ZMX_CHP_ICANHAZ) {
        frames [0] = (zmx_chp_frame_t) { ZMX_CHP_ICANHAZ_WORD, strlen (ZMX_CHP_ICANHAZ_WORD) };
        frames [1] = (zmx_chp_frame_t) { view->subtree, view->subtree_size };
        return 2;
    }
    s_frames_of (view, sequence, frames);
    return ZMX_CHP_FRAMES;
}

zmsg_t *
zmx_chp_encode (const zmx_chp_view_t *view)
{
    if (!view || zmx_chp_check (view, NULL))
        return NULL;
    byte sequence [ZMX_CHP_SEQUENCE_SIZE];
    zmx_chp_frame_t frames [ZMX_CHP_FRAMES];
    size_t count = s_layout (view, sequence, frames);
    zmsg_t *msg = zmsg_new ();
    for (size_t index = 0; index < count; index++)
        zmsg_addmem (msg, frames [index].data, frames [index].size);
    return msg;
}

int
zmx_chp_send (void *socket, const zmx_chp_frame_t *routing_id, const zmx_chp_view_t *view,
              int flags)
{
    assert (socket && view);
    assert (zmx_chp_check (view, NULL) == 0);
    byte sequence [ZMX_CHP_SEQUENCE_SIZE];
    zmx_chp_frame_t frames [ZMX_CHP_FRAMES];
    size_t count = s_layout (view, sequence, frames);
    if (routing_id) {
        if (zmq_send (socket, routing_id->data, routing_id->size, flags | ZMQ_SNDMORE) < 0)
            return -1;
        flags = 0;
    }
    for (size_t index = 0; index < count; index++) {
        int more = index + 1 < count? ZMQ_SNDMORE: 0;
        //  Once the first frame is queued the rest of the message always is
        if (zmq_send (socket, frames [index].data, frames [index].size, flags | more) < 0)
            return -1;
        flags = 0;
    }
    return 0;
}

int
zmx_chp_recv (zmx_chp_msg_t *self, void *socket, int flags)
{
    assert (self && socket);
    self->kept = self->count = 0;
    int more = 1;
    while (more) {
        zmq_msg_t scratch, *frame = self->kept < ZMX_CHP_FRAMES + 1
                                  ? &self->frames [self->kept]: &scratch;
        zmq_msg_init (frame);
        if (zmq_msg_recv (frame, socket, self->count? 0: flags) < 0) {
            int saved = zmq_errno ();
            zmq_msg_close (frame);
            zmx_chp_msg_close (self);
            errno = saved;
            return -1;
        }
        more = zmq_msg_more (frame);
        self->count++;
        if (frame == &scratch)
            zmq_msg_close (frame);
        else
            self->kept++;
    }
    return 0;
}

int
zmx_chp_decode_msg (zmx_chp_msg_t *self, size_t skip, zmx_chp_side_t side,
                    zmx_chp_view_t *view, const char **error)
{
    if (self->count != self->kept || self->count < skip) {
        memset (view, 0, sizeof *view);
        if (error)
            *error = "too many frames";
        return -1;
    }
    zmx_chp_frame_t frames [ZMX_CHP_FRAMES + 1];
    size_t count = self->kept - skip;
    for (size_t index = 0; index < count; index++) {
        frames [index].data = zmq_msg_data (&self->frames [index + skip]);
        frames [index].size = zmq_msg_size (&self->frames [index + skip]);
    }
    return zmx_chp_decode (frames, count, side, view, error);
}

void
zmx_chp_msg_close (zmx_chp_msg_t *self)
{
    for (size_t index = 0; index < self->kept; index++)
        zmq_msg_close (&self->frames [index]);
    self->kept = self->count = 0;
}
