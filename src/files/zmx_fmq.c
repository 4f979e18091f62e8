/*  =========================================================================
    zmx_fmq - codec for 35/FILEMQ version 2 messages

    Encoding sizes the frame first, then writes it in one pass. Decoding
    walks a cursor that refuses to move past the end, so that every field
    read is checked against the frame size; any failure leaves the message
    without allocations.
    =========================================================================
*/
#include "zmx_files_internal.h"

//  -------------------------------------------------------------------------
//  Field checks

bool
zmx_fmq_string_valid (const char *text)
{
    return text && strlen (text) <= ZMX_FMQ_MAX_STRING
        && zmx__wire_text_valid ((const byte *) text, strlen (text));
}

const char *
zmx_fmq_command (int id)
{
    switch (id) {
        case ZMX_FMQ_OHAI:          return "OHAI";
        case ZMX_FMQ_OHAI_OK:       return "OHAI-OK";
        case ZMX_FMQ_ICANHAZ:       return "ICANHAZ";
        case ZMX_FMQ_ICANHAZ_OK:    return "ICANHAZ-OK";
        case ZMX_FMQ_NOM:           return "NOM";
        case ZMX_FMQ_CHEEZBURGER:   return "CHEEZBURGER";
        case ZMX_FMQ_HUGZ:          return "HUGZ";
        case ZMX_FMQ_HUGZ_OK:       return "HUGZ-OK";
        case ZMX_FMQ_KTHXBAI:       return "KTHXBAI";
        case ZMX_FMQ_SRSLY:         return "SRSLY";
        case ZMX_FMQ_RTFM:          return "RTFM";
        default:                    return "?";
    }
}

void
zmx_fmq_init (zmx_fmq_msg_t *msg, int id)
{
    assert (msg);
    memset (msg, 0, sizeof *msg);
    msg->id = id;
}

void
zmx_fmq_clear (zmx_fmq_msg_t *msg)
{
    if (msg) {
        zhash_destroy (&msg->options);
        zhash_destroy (&msg->cache);
        zhash_destroy (&msg->headers);
    }
}

//  -------------------------------------------------------------------------
//  Encoding

//  Bytes a dictionary takes on the wire, or SIZE_MAX if it cannot travel.
static size_t
s_dict_size (zhash_t *dict)
{
    size_t size = 4;
    if (!dict)
        return size;
    if (zhash_size (dict) > UINT32_MAX)
        return SIZE_MAX;
    zlist_t *keys = zhash_keys (dict);
    for (const char *key = (const char *) zlist_first (keys); key;
         key = (const char *) zlist_next (keys)) {
        const char *value = (const char *) zhash_lookup (dict, key);
        if (!zmx_fmq_string_valid (key) || !value
        ||  !zmx__wire_text_valid ((const byte *) value, strlen (value))
        ||  strlen (value) > UINT32_MAX) {
            size = SIZE_MAX;
            break;
        }
        size += 1 + strlen (key) + 4 + strlen (value);
    }
    zlist_destroy (&keys);
    return size;
}

//  Wire size of msg's fields after signature and id, or SIZE_MAX. With
//  `reserve` a CHEEZBURGER's chunk may be NULL (the caller fills it in).
static size_t
s_body_size (const zmx_fmq_msg_t *msg, bool reserve)
{
    switch (msg->id) {
        case ZMX_FMQ_OHAI:
            return zmx_fmq_string_valid (msg->protocol)? 1 + strlen (msg->protocol) + 2: SIZE_MAX;
        case ZMX_FMQ_ICANHAZ: {
            size_t options = s_dict_size (msg->options), cache = s_dict_size (msg->cache);
            if (!zmx_fmq_string_valid (msg->path) || options == SIZE_MAX || cache == SIZE_MAX)
                return SIZE_MAX;
            return 1 + strlen (msg->path) + options + cache;
        }
        case ZMX_FMQ_NOM:
            return 16;
        case ZMX_FMQ_CHEEZBURGER: {
            size_t headers = s_dict_size (msg->headers);
            if (!zmx_fmq_string_valid (msg->filename) || headers == SIZE_MAX
            ||  msg->chunk_size > UINT32_MAX || (msg->chunk_size && !msg->chunk && !reserve)
            ||  (msg->operation != ZMX_FMQ_CREATE && msg->operation != ZMX_FMQ_DELETE)
            ||  msg->eof > 1)
                return SIZE_MAX;
            return 8 + 1 + 1 + strlen (msg->filename) + 8 + 1 + headers + 4 + msg->chunk_size;
        }
        case ZMX_FMQ_SRSLY:
        case ZMX_FMQ_RTFM:
            return zmx_fmq_string_valid (msg->reason)? 1 + strlen (msg->reason): SIZE_MAX;
        case ZMX_FMQ_OHAI_OK:
        case ZMX_FMQ_ICANHAZ_OK:
        case ZMX_FMQ_HUGZ:
        case ZMX_FMQ_HUGZ_OK:
        case ZMX_FMQ_KTHXBAI:
            return 0;
        default:
            return SIZE_MAX;
    }
}

//  Encode msg; a CHEEZBURGER's chunk is copied in, or, if chunk_p is not
//  NULL, left for the caller to write at *chunk_p.
static zframe_t *
s_encode (const zmx_fmq_msg_t *msg, byte **chunk_p)
{
    size_t body = s_body_size (msg, chunk_p != NULL);
    if (body == SIZE_MAX)
        return NULL;
    zframe_t *frame = zframe_new (NULL, 3 + body);
    byte *at = zframe_data (frame);
    *at++ = ZMX_FMQ_SIGNATURE_0;
    *at++ = ZMX_FMQ_SIGNATURE_1;
    *at++ = (byte) msg->id;
    switch (msg->id) {
        case ZMX_FMQ_OHAI:
            at = zmx__wire_put_text (at, msg->protocol, 1);
            at = zmx__wire_put (at, msg->version, 2);
            break;
        case ZMX_FMQ_ICANHAZ:
            at = zmx__wire_put_text (at, msg->path, 1);
            at = zmx__wire_put_dict (at, msg->options);
            at = zmx__wire_put_dict (at, msg->cache);
            break;
        case ZMX_FMQ_NOM:
            at = zmx__wire_put (at, msg->credit, 8);
            at = zmx__wire_put (at, msg->sequence, 8);
            break;
        case ZMX_FMQ_CHEEZBURGER:
            at = zmx__wire_put (at, msg->sequence, 8);
            *at++ = msg->operation;
            at = zmx__wire_put_text (at, msg->filename, 1);
            at = zmx__wire_put (at, msg->offset, 8);
            *at++ = msg->eof;
            at = zmx__wire_put_dict (at, msg->headers);
            at = zmx__wire_put (at, msg->chunk_size, 4);
            if (chunk_p)
                *chunk_p = at;
            else
            if (msg->chunk_size)
                memcpy (at, msg->chunk, msg->chunk_size);
            at += msg->chunk_size;
            break;
        case ZMX_FMQ_SRSLY:
        case ZMX_FMQ_RTFM:
            at = zmx__wire_put_text (at, msg->reason, 1);
            break;
        default:
            break;
    }
    assert (at == zframe_data (frame) + zframe_size (frame));
    return frame;
}

zframe_t *
zmx_fmq_encode (const zmx_fmq_msg_t *msg)
{
    assert (msg);
    return s_encode (msg, NULL);
}

zframe_t *
zmx__fmq_encode_chunk (const zmx_fmq_msg_t *msg, byte **chunk_p)
{
    assert (msg && chunk_p);
    assert (msg->id == ZMX_FMQ_CHEEZBURGER);
    *chunk_p = NULL;
    return s_encode (msg, chunk_p);
}

//  -------------------------------------------------------------------------
//  Decoding

typedef struct {
    const byte *at;             //  Next byte to read
    const byte *end;            //  One past the last byte
    const char *error;          //  First error, or NULL
} s_cursor_t;

static bool
s_fail (s_cursor_t *cursor, const char *error)
{
    if (!cursor->error)
        cursor->error = error;
    return false;
}

static bool
s_get_number (s_cursor_t *cursor, size_t width, uint64_t *value)
{
    if ((size_t) (cursor->end - cursor->at) < width)
        return s_fail (cursor, "message ends inside a number");
    *value = zmx__wire_get (cursor->at, width);
    cursor->at += width;
    return true;
}

//  Read a text of `width`-octet length into a new string (caller frees).
static char *
s_get_text (s_cursor_t *cursor, size_t width)
{
    uint64_t size;
    if (!s_get_number (cursor, width, &size))
        return NULL;
    if (size > (uint64_t) (cursor->end - cursor->at)) {
        s_fail (cursor, "string longer than the message");
        return NULL;
    }
    if (!zmx__wire_text_valid (cursor->at, size)) {
        s_fail (cursor, "string holds control characters");
        return NULL;
    }
    char *text = (char *) malloc (size + 1);
    memcpy (text, cursor->at, size);
    text [size] = 0;
    cursor->at += size;
    return text;
}

static bool
s_get_string (s_cursor_t *cursor, char *buffer)
{
    char *text = s_get_text (cursor, 1);
    if (!text)
        return false;
    strcpy (buffer, text);          //  at most 255 bytes: length is one octet
    free (text);
    return true;
}

static bool
s_get_dict (s_cursor_t *cursor, zhash_t **dict_p)
{
    uint64_t count;
    if (!s_get_number (cursor, 4, &count))
        return false;
    //  Each entry takes at least 5 bytes: reject impossible counts before
    //  allocating anything.
    if (count > ZMX_FMQ_MAX_DICT || count * 5 > (uint64_t) (cursor->end - cursor->at))
        return s_fail (cursor, "dictionary count out of range");
    zhash_t *dict = zhash_new ();
    zhash_autofree (dict);
    for (uint64_t index = 0; index < count; index++) {
        char *name = s_get_text (cursor, 1);
        char *value = name? s_get_text (cursor, 4): NULL;
        if (value)
            zhash_update (dict, name, value);
        free (name);
        free (value);
        if (!value) {
            zhash_destroy (&dict);
            return false;
        }
    }
    *dict_p = dict;
    return true;
}

static bool
s_get_cheezburger (s_cursor_t *cursor, zmx_fmq_msg_t *msg)
{
    uint64_t operation, eof, size;
    if (!s_get_number (cursor, 8, &msg->sequence)
    ||  !s_get_number (cursor, 1, &operation)
    ||  !s_get_string (cursor, msg->filename)
    ||  !s_get_number (cursor, 8, &msg->offset)
    ||  !s_get_number (cursor, 1, &eof)
    ||  !s_get_dict (cursor, &msg->headers)
    ||  !s_get_number (cursor, 4, &size))
        return false;
    if (operation != ZMX_FMQ_CREATE && operation != ZMX_FMQ_DELETE)
        return s_fail (cursor, "unknown CHEEZBURGER operation");
    if (eof > 1)
        return s_fail (cursor, "eof is not 0 or 1");
    if (size > (uint64_t) (cursor->end - cursor->at))
        return s_fail (cursor, "chunk longer than the message");
    msg->operation = (uint8_t) operation;
    msg->eof = (uint8_t) eof;
    msg->chunk = size? cursor->at: NULL;
    msg->chunk_size = size;
    cursor->at += size;
    return true;
}

static bool
s_get_fields (s_cursor_t *cursor, zmx_fmq_msg_t *msg)
{
    uint64_t version;
    switch (msg->id) {
        case ZMX_FMQ_OHAI:
            if (!s_get_string (cursor, msg->protocol) || !s_get_number (cursor, 2, &version))
                return false;
            msg->version = (uint16_t) version;
            return true;
        case ZMX_FMQ_ICANHAZ:
            return s_get_string (cursor, msg->path) && s_get_dict (cursor, &msg->options)
                && s_get_dict (cursor, &msg->cache);
        case ZMX_FMQ_NOM:
            return s_get_number (cursor, 8, &msg->credit)
                && s_get_number (cursor, 8, &msg->sequence);
        case ZMX_FMQ_CHEEZBURGER:
            return s_get_cheezburger (cursor, msg);
        case ZMX_FMQ_SRSLY:
        case ZMX_FMQ_RTFM:
            return s_get_string (cursor, msg->reason);
        case ZMX_FMQ_OHAI_OK:
        case ZMX_FMQ_ICANHAZ_OK:
        case ZMX_FMQ_HUGZ:
        case ZMX_FMQ_HUGZ_OK:
        case ZMX_FMQ_KTHXBAI:
            return true;
        default:
            return s_fail (cursor, "unknown command id");
    }
}

int
zmx_fmq_decode (const byte *data, size_t size, zmx_fmq_msg_t *msg, const char **error_p)
{
    assert (msg);
    zmx_fmq_init (msg, 0);
    if (!data || size < 2 || data [0] != ZMX_FMQ_SIGNATURE_0 || data [1] != ZMX_FMQ_SIGNATURE_1) {
        if (error_p)
            *error_p = "no FILEMQ signature";
        return -1;
    }
    s_cursor_t cursor = { data + 2, data + size, NULL };
    uint64_t id = 0;
    bool valid = s_get_number (&cursor, 1, &id);
    msg->id = (int) id;
    if (valid)
        valid = s_get_fields (&cursor, msg);
    if (valid && cursor.at != cursor.end)
        valid = s_fail (&cursor, "trailing bytes after the last field");
    if (!valid) {
        zmx_fmq_clear (msg);
        zmx_fmq_init (msg, 0);
        if (error_p)
            *error_p = cursor.error? cursor.error: "malformed";
        return -2;
    }
    if (error_p)
        *error_p = NULL;
    return 0;
}
