/*  =========================================================================
    zmx_zre - codec for 36/ZRE version 2 messages and ZRE beacons

    Encoding measures the header frame first, then writes it in one pass
    into a frame of exactly that size. Decoding walks a reader that refuses
    to move past the end of the frame, so every field is checked against
    the frame size before it is touched; any failure frees what the
    message had collected, so that a refusal leaves no allocation behind.
    =========================================================================
*/
#include "zmx_discovery_internal.h"

//  -------------------------------------------------------------------------
//  Field checks and names

bool
zmx_zre_name_valid (const char *text)
{
    if (!text)
        return false;
    size_t size = strlen (text);
    return size >= 1 && size <= ZMX_ZRE_MAX_STRING
        && zmx__wire_text_valid ((const byte *) text, size);
}

//  An empty node name is allowed by the grammar, unlike groups and keys.
static bool
s_node_name_valid (const char *text)
{
    return *text == 0 || zmx_zre_name_valid (text);
}

static bool
s_value_valid (const char *text)
{
    size_t size = strlen (text);
    return size <= ZMX_ZRE_MAX_VALUE && zmx__wire_text_valid ((const byte *) text, size);
}

const char *
zmx_zre_command (int id)
{
    switch (id) {
        case ZMX_ZRE_HELLO:     return "HELLO";
        case ZMX_ZRE_WHISPER:   return "WHISPER";
        case ZMX_ZRE_SHOUT:     return "SHOUT";
        case ZMX_ZRE_JOIN:      return "JOIN";
        case ZMX_ZRE_LEAVE:     return "LEAVE";
        case ZMX_ZRE_PING:      return "PING";
        case ZMX_ZRE_PING_OK:   return "PING-OK";
        default:                return "?";
    }
}

void
zmx_zre_init (zmx_zre_msg_t *msg, int id)
{
    assert (msg);
    memset (msg, 0, sizeof *msg);
    msg->id = id;
}

void
zmx_zre_clear (zmx_zre_msg_t *msg)
{
    if (msg) {
        zlist_destroy (&msg->groups);
        zhash_destroy (&msg->headers);
        zmsg_destroy (&msg->content);
    }
}

//  -------------------------------------------------------------------------
//  Encoding

//  Bytes the HELLO lists take on the wire, or SIZE_MAX if they cannot
//  travel (bad text, repeated group, too many entries).
static size_t
s_groups_size (zlist_t *groups)
{
    size_t size = 4;
    if (!groups)
        return size;
    if (zlist_size (groups) > ZMX_ZRE_MAX_GROUPS)
        return SIZE_MAX;
    zhash_t *seen = zhash_new ();
    for (const char *group = (const char *) zlist_first (groups); group;
         group = (const char *) zlist_next (groups)) {
        if (!zmx_zre_name_valid (group) || zhash_insert (seen, group, (void *) group) != 0) {
            size = SIZE_MAX;
            break;
        }
        size += 4 + strlen (group);
    }
    zhash_destroy (&seen);
    return size;
}

static size_t
s_headers_size (zhash_t *headers)
{
    size_t size = 4;
    if (!headers)
        return size;
    if (zhash_size (headers) > ZMX_ZRE_MAX_HEADERS)
        return SIZE_MAX;
    for (const char *value = (const char *) zhash_first (headers); value;
         value = (const char *) zhash_next (headers)) {
        const char *key = zhash_cursor (headers);
        if (!zmx_zre_name_valid (key) || !s_value_valid (value))
            return SIZE_MAX;
        size += 1 + strlen (key) + 4 + strlen (value);
    }
    return size;
}

//  Wire size of the fields after the 6-byte prefix, or SIZE_MAX.
static size_t
s_fields_size (const zmx_zre_msg_t *msg)
{
    switch (msg->id) {
        case ZMX_ZRE_HELLO: {
            if (!zmx__endpoint_valid (msg->endpoint) || !s_node_name_valid (msg->name))
                return SIZE_MAX;
            size_t groups = s_groups_size (msg->groups);
            size_t headers = s_headers_size (msg->headers);
            if (groups == SIZE_MAX || headers == SIZE_MAX)
                return SIZE_MAX;
            return 1 + strlen (msg->endpoint) + groups + 1 + 1 + strlen (msg->name) + headers;
        }
        case ZMX_ZRE_WHISPER:
            return 0;
        case ZMX_ZRE_SHOUT:
            return zmx_zre_name_valid (msg->group)? 1 + strlen (msg->group): SIZE_MAX;
        case ZMX_ZRE_JOIN:
        case ZMX_ZRE_LEAVE:
            return zmx_zre_name_valid (msg->group)? 1 + strlen (msg->group) + 1: SIZE_MAX;
        case ZMX_ZRE_PING:
        case ZMX_ZRE_PING_OK:
            return 0;
        default:
            return SIZE_MAX;
    }
}

static byte *
s_put_hello (byte *at, const zmx_zre_msg_t *msg)
{
    at = zmx__wire_put_text (at, msg->endpoint, 1);
    at = zmx__wire_put (at, msg->groups? (uint32_t) zlist_size (msg->groups): 0, 4);
    if (msg->groups)
        for (const char *group = (const char *) zlist_first (msg->groups); group;
             group = (const char *) zlist_next (msg->groups))
            at = zmx__wire_put_text (at, group, 4);
    *at++ = msg->status;
    at = zmx__wire_put_text (at, msg->name, 1);
    return zmx__wire_put_dict (at, msg->headers);
}

zframe_t *
zmx_zre_encode_header (const zmx_zre_msg_t *msg)
{
    assert (msg);
    size_t fields = s_fields_size (msg);
    if (fields == SIZE_MAX)
        return NULL;
    zframe_t *frame = zframe_new (NULL, 6 + fields);
    if (!frame)
        return NULL;
    byte *at = zframe_data (frame);
    *at++ = ZMX_ZRE_SIGNATURE_0;
    *at++ = ZMX_ZRE_SIGNATURE_1;
    *at++ = (byte) msg->id;
    *at++ = ZMX_ZRE_VERSION;
    at = zmx__wire_put (at, msg->sequence, 2);
    if (msg->id == ZMX_ZRE_HELLO)
        at = s_put_hello (at, msg);
    else
    if (msg->id == ZMX_ZRE_SHOUT || msg->id == ZMX_ZRE_JOIN || msg->id == ZMX_ZRE_LEAVE) {
        at = zmx__wire_put_text (at, msg->group, 1);
        if (msg->id != ZMX_ZRE_SHOUT)
            *at++ = msg->status;
    }
    assert (at == zframe_data (frame) + zframe_size (frame));
    return frame;
}

zmsg_t *
zmx_zre_encode (const zmx_zre_msg_t *msg)
{
    assert (msg);
    bool has_content = msg->id == ZMX_ZRE_WHISPER || msg->id == ZMX_ZRE_SHOUT;
    if (has_content && msg->content && zmsg_size (msg->content) > ZMX_ZRE_MAX_CONTENT)
        return NULL;
    zframe_t *header = zmx_zre_encode_header (msg);
    if (!header)
        return NULL;
    zmsg_t *zmsg = zmsg_new ();
    zmsg_append (zmsg, &header);
    if (has_content && msg->content)
        for (zframe_t *frame = zmsg_first (msg->content); frame; frame = zmsg_next (msg->content)) {
            zframe_t *copy = zframe_dup (frame);
            zmsg_append (zmsg, &copy);
        }
    return zmsg;
}

//  -------------------------------------------------------------------------
//  Decoding

typedef struct {
    const byte *at;             //  Next byte to read
    size_t left;                //  Bytes after it in the frame
    const char *error;          //  First failure, static text
} s_reader_t;

static bool
s_fail (s_reader_t *reader, const char *error)
{
    if (!reader->error)
        reader->error = error;
    return false;
}

static bool
s_get_number (s_reader_t *reader, size_t width, uint32_t *value)
{
    if (reader->left < width)
        return s_fail (reader, "field runs past the end of the frame");
    *value = (uint32_t) zmx__wire_get (reader->at, width);
    reader->at += width;
    reader->left -= width;
    return true;
}

//  Read a string (width 1) or longstr (width 4) of at most `max` bytes
//  into `text`, which holds max + 1 bytes.
static bool
s_get_text (s_reader_t *reader, size_t width, char *text, size_t max)
{
    uint32_t size;
    if (!s_get_number (reader, width, &size))
        return false;
    if (size > reader->left)
        return s_fail (reader, "text runs past the end of the frame");
    if (size > max)
        return s_fail (reader, "text is too long");
    if (!zmx__wire_text_valid (reader->at, size))
        return s_fail (reader, "text holds control characters");
    memcpy (text, reader->at, size);
    text [size] = 0;
    reader->at += size;
    reader->left -= size;
    return true;
}

static bool
s_get_group (s_reader_t *reader, size_t width, char *group)
{
    if (!s_get_text (reader, width, group, ZMX_ZRE_MAX_STRING))
        return false;
    if (*group == 0)
        return s_fail (reader, "empty group name");
    return true;
}

//  A count whose entries, each at least `entry_min` bytes, must fit in the
//  frame: this bounds the loop and the allocations by the frame's size.
static bool
s_get_count (s_reader_t *reader, size_t entry_min, uint32_t max, uint32_t *count)
{
    if (!s_get_number (reader, 4, count))
        return false;
    if (*count > max)
        return s_fail (reader, "too many entries");
    if ((size_t) *count * entry_min > reader->left)
        return s_fail (reader, "count runs past the end of the frame");
    return true;
}

static bool
s_get_groups (s_reader_t *reader, zmx_zre_msg_t *msg)
{
    uint32_t count;
    if (!s_get_count (reader, 4, ZMX_ZRE_MAX_GROUPS, &count))
        return false;
    msg->groups = zlist_new ();
    zlist_autofree (msg->groups);
    zlist_comparefn (msg->groups, (zlist_compare_fn *) strcmp);
    //  Duplicates are found in a hash: a list search made one HELLO of
    //  10000 long names cost the peer nothing and us half a second
    zhash_t *seen = zhash_new ();
    char group [ZMX_ZRE_MAX_STRING + 1];
    bool valid = true;
    for (uint32_t index = 0; index < count && valid; index++) {
        if (!s_get_group (reader, 4, group))
            valid = false;
        else
        if (zhash_insert (seen, group, (void *) "1") != 0)
            valid = s_fail (reader, "group listed twice");
        else
            zlist_append (msg->groups, group);
    }
    zhash_destroy (&seen);
    return valid;
}

static bool
s_get_headers (s_reader_t *reader, zmx_zre_msg_t *msg)
{
    uint32_t count;
    if (!s_get_count (reader, 6, ZMX_ZRE_MAX_HEADERS, &count))
        return false;
    msg->headers = zhash_new ();
    zhash_autofree (msg->headers);
    char key [ZMX_ZRE_MAX_STRING + 1];
    char *value = (char *) malloc (ZMX_ZRE_MAX_VALUE + 1);
    assert (value);
    bool valid = true;
    for (uint32_t index = 0; index < count && valid; index++) {
        if (!s_get_text (reader, 1, key, ZMX_ZRE_MAX_STRING)
        ||  !s_get_text (reader, 4, value, ZMX_ZRE_MAX_VALUE))
            valid = false;
        else
        if (*key == 0)
            valid = s_fail (reader, "empty header name");
        else
        if (zhash_insert (msg->headers, key, value) != 0)
            valid = s_fail (reader, "header listed twice");
    }
    free (value);
    return valid;
}

static bool
s_get_hello (s_reader_t *reader, zmx_zre_msg_t *msg)
{
    uint32_t status;
    if (!s_get_text (reader, 1, msg->endpoint, ZMX_ZRE_MAX_STRING))
        return false;
    if (!zmx__endpoint_valid (msg->endpoint))
        return s_fail (reader, "HELLO endpoint is not an endpoint");
    if (!s_get_groups (reader, msg)
    ||  !s_get_number (reader, 1, &status)
    ||  !s_get_text (reader, 1, msg->name, ZMX_ZRE_MAX_STRING)
    ||  !s_get_headers (reader, msg))
        return false;
    msg->status = (uint8_t) status;
    return true;
}

static bool
s_get_fields (s_reader_t *reader, zmx_zre_msg_t *msg)
{
    uint32_t status;
    switch (msg->id) {
        case ZMX_ZRE_HELLO:
            return s_get_hello (reader, msg);
        case ZMX_ZRE_SHOUT:
            return s_get_group (reader, 1, msg->group);
        case ZMX_ZRE_JOIN:
        case ZMX_ZRE_LEAVE:
            if (!s_get_group (reader, 1, msg->group) || !s_get_number (reader, 1, &status))
                return false;
            msg->status = (uint8_t) status;
            return true;
        case ZMX_ZRE_WHISPER:
        case ZMX_ZRE_PING:
        case ZMX_ZRE_PING_OK:
            return true;
        default:
            return s_fail (reader, "unknown command");
    }
}

int
zmx_zre_decode_header (const byte *data, size_t size, zmx_zre_msg_t *msg,
                       const char **error_p)
{
    assert (msg);
    zmx_zre_init (msg, 0);
    if (error_p)
        *error_p = NULL;
    if (!data || size < 2 || data [0] != ZMX_ZRE_SIGNATURE_0 || data [1] != ZMX_ZRE_SIGNATURE_1) {
        if (error_p)
            *error_p = "not a ZRE signature";
        return -1;
    }
    s_reader_t reader = { data + 2, size - 2, NULL };
    uint32_t id = 0, version = 0, sequence = 0;
    if (s_get_number (&reader, 1, &id) && s_get_number (&reader, 1, &version)
    &&  (version == ZMX_ZRE_VERSION || s_fail (&reader, "wrong ZRE version"))
    &&  s_get_number (&reader, 2, &sequence)) {
        msg->id = (int) id;
        msg->sequence = (uint16_t) sequence;
        if (s_get_fields (&reader, msg) && reader.left > 0)
            s_fail (&reader, "trailing bytes after the last field");
    }
    if (reader.error) {
        zmx_zre_clear (msg);
        zmx_zre_init (msg, 0);
        if (error_p)
            *error_p = reader.error;
        return -2;
    }
    return 0;
}

int
zmx_zre_decode (zmsg_t **zmsg_p, zmx_zre_msg_t *msg, const char **error_p)
{
    assert (zmsg_p && msg);
    zmsg_t *zmsg = *zmsg_p;
    *zmsg_p = NULL;
    zmx_zre_init (msg, 0);
    const char *error = NULL;
    int rc = -2;
    zframe_t *header = zmsg? zmsg_pop (zmsg): NULL;
    if (!header)
        error = "empty message";
    else {
        rc = zmx_zre_decode_header (zframe_data (header), zframe_size (header), msg, &error);
        bool has_content = msg->id == ZMX_ZRE_WHISPER || msg->id == ZMX_ZRE_SHOUT;
        if (rc == 0 && !has_content && zmsg_size (zmsg) > 0)
            error = "frames after a command that has no content";
        else
        if (rc == 0 && zmsg_size (zmsg) > ZMX_ZRE_MAX_CONTENT)
            error = "too many content frames";
        else
        if (rc == 0 && has_content) {
            msg->content = zmsg;
            zmsg = NULL;
        }
        if (rc == 0 && error) {
            zmx_zre_clear (msg);
            zmx_zre_init (msg, 0);
            rc = -2;
        }
    }
    zframe_destroy (&header);
    zmsg_destroy (&zmsg);
    if (error_p)
        *error_p = error;
    return rc;
}

//  -------------------------------------------------------------------------
//  Beacons

void
zmx_zre_beacon_encode (const byte *uuid, uint16_t port, byte *out)
{
    assert (uuid && out);
    out [0] = 'Z';
    out [1] = 'R';
    out [2] = 'E';
    out [3] = ZMX_ZRE_BEACON_VERSION;
    memcpy (out + 4, uuid, ZMX_ZRE_UUID_SIZE);
    out [20] = (byte) (port >> 8);
    out [21] = (byte) port;
}

int
zmx_zre_beacon_decode (const byte *data, size_t size, zmx_zre_beacon_t *beacon,
                       const char **error_p)
{
    assert (beacon);
    const char *error = NULL;
    if (!data || size != ZMX_ZRE_BEACON_SIZE)
        error = "beacon is not 22 bytes";
    else
    if (memcmp (data, "ZRE", 3) != 0)
        error = "beacon header is not ZRE";
    else
    if (data [3] != ZMX_ZRE_BEACON_VERSION)
        error = "wrong beacon version";
    if (error_p)
        *error_p = error;
    if (error)
        return -1;
    memcpy (beacon->uuid, data + 4, ZMX_ZRE_UUID_SIZE);
    beacon->port = (uint16_t) zmx__wire_get (data + 20, 2);
    return 0;
}
