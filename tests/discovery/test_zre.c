/*  =========================================================================
    test_zre - the 36/ZRE codec: every command round trips, the bytes on the
    wire are those the RFC lays out, every kind of malformed input is
    refused with the right code, and no prefix of a valid message is read
    past its end. Beacons likewise.
    =========================================================================
*/
#include "testing.h"

//  Encode a whole message, decode it back (msg's content is copied).
static zmx_zre_msg_t
s_round_trip (const zmx_zre_msg_t *msg)
{
    zmsg_t *wire = zmx_zre_encode (msg);
    ZMX_CHECK (wire);
    zmx_zre_msg_t copy;
    const char *error = "unset";
    ZMX_CHECK (zmx_zre_decode (&wire, &copy, &error) == 0);
    ZMX_CHECK (wire == NULL);
    ZMX_CHECK (error == NULL);
    ZMX_CHECK (copy.id == msg->id && copy.sequence == msg->sequence);
    return copy;
}

static void
s_round_trip_all (void)
{
    zmx_zre_msg_t msg, copy;

    zmx_zre_init (&msg, ZMX_ZRE_HELLO);
    msg.sequence = 1;
    strcpy (msg.endpoint, "tcp://192.168.1.7:49152");
    msg.groups = zlist_new ();
    zlist_append (msg.groups, "weather");
    zlist_append (msg.groups, "été 2026");
    msg.status = 250;
    strcpy (msg.name, "station one");
    msg.headers = zhash_new ();
    zhash_autofree (msg.headers);
    zhash_insert (msg.headers, "X-ROLE", "sensor");
    zhash_insert (msg.headers, "X-EMPTY", "");
    copy = s_round_trip (&msg);
    ZMX_CHECK_STR (copy.endpoint, "tcp://192.168.1.7:49152");
    ZMX_CHECK (zlist_size (copy.groups) == 2);
    ZMX_CHECK_STR ((char *) zlist_first (copy.groups), "weather");
    ZMX_CHECK_STR ((char *) zlist_next (copy.groups), "été 2026");
    ZMX_CHECK (copy.status == 250);
    ZMX_CHECK_STR (copy.name, "station one");
    ZMX_CHECK (zhash_size (copy.headers) == 2);
    ZMX_CHECK_STR ((char *) zhash_lookup (copy.headers, "X-ROLE"), "sensor");
    ZMX_CHECK_STR ((char *) zhash_lookup (copy.headers, "X-EMPTY"), "");
    ZMX_CHECK (copy.content == NULL);
    zmx_zre_clear (&copy);
    zmx_zre_clear (&msg);

    //  A HELLO with nothing optional: no groups, no headers, empty name
    zmx_zre_init (&msg, ZMX_ZRE_HELLO);
    msg.sequence = 1;
    strcpy (msg.endpoint, "ipc:///tmp/node");
    copy = s_round_trip (&msg);
    ZMX_CHECK (zlist_size (copy.groups) == 0 && zhash_size (copy.headers) == 0);
    ZMX_CHECK_STR (copy.name, "");
    zmx_zre_clear (&copy);

    zmx_zre_init (&msg, ZMX_ZRE_WHISPER);
    msg.sequence = 65535;
    msg.content = zmsg_new ();
    zmsg_addstr (msg.content, "one");
    zmsg_addmem (msg.content, "", 0);
    zmsg_addmem (msg.content, "\0\1\2", 3);
    copy = s_round_trip (&msg);
    ZMX_CHECK (zmsg_size (copy.content) == 3);
    ZMX_CHECK (zframe_streq (zmsg_first (copy.content), "one"));
    ZMX_CHECK (zframe_size (zmsg_next (copy.content)) == 0);
    ZMX_CHECK (memcmp (zframe_data (zmsg_next (copy.content)), "\0\1\2", 3) == 0);
    zmx_zre_clear (&copy);
    zmx_zre_clear (&msg);

    //  A WHISPER without content frames is legal (msg = *frame)
    zmx_zre_init (&msg, ZMX_ZRE_WHISPER);
    msg.sequence = 2;
    copy = s_round_trip (&msg);
    ZMX_CHECK (copy.content && zmsg_size (copy.content) == 0);
    zmx_zre_clear (&copy);

    zmx_zre_init (&msg, ZMX_ZRE_SHOUT);
    msg.sequence = 3;
    strcpy (msg.group, "weather");
    msg.content = zmsg_new ();
    zmsg_addstr (msg.content, "rain");
    copy = s_round_trip (&msg);
    ZMX_CHECK_STR (copy.group, "weather");
    ZMX_CHECK (zmsg_size (copy.content) == 1 && zframe_streq (zmsg_first (copy.content), "rain"));
    zmx_zre_clear (&copy);
    zmx_zre_clear (&msg);

    int ids [] = { ZMX_ZRE_JOIN, ZMX_ZRE_LEAVE };
    for (size_t index = 0; index < 2; index++) {
        zmx_zre_init (&msg, ids [index]);
        msg.sequence = 4;
        strcpy (msg.group, "g");
        msg.status = 7;
        copy = s_round_trip (&msg);
        ZMX_CHECK_STR (copy.group, "g");
        ZMX_CHECK (copy.status == 7);
    }
    zmx_zre_init (&msg, ZMX_ZRE_PING);
    msg.sequence = 0;
    copy = s_round_trip (&msg);
    zmx_zre_init (&msg, ZMX_ZRE_PING_OK);
    msg.sequence = 9;
    copy = s_round_trip (&msg);
    ZMX_CHECK_STR (zmx_zre_command (ZMX_ZRE_PING_OK), "PING-OK");
    ZMX_CHECK_STR (zmx_zre_command (99), "?");
}

//  The bytes are exactly those of the RFC's grammar.
static void
s_wire_layout (void)
{
    zmx_zre_msg_t msg;
    zmx_zre_init (&msg, ZMX_ZRE_JOIN);
    msg.sequence = 0x0102;
    strcpy (msg.group, "ab");
    msg.status = 5;
    zframe_t *frame = zmx_zre_encode_header (&msg);
    const byte join [] = { 0xAA, 0xA1, 4, 2, 1, 2, 2, 'a', 'b', 5 };
    ZMX_CHECK (zframe_size (frame) == sizeof join && memcmp (zframe_data (frame), join, sizeof join) == 0);
    zframe_destroy (&frame);

    //  A HELLO written by hand, as another implementation would
    const byte hello [] = {
        0xAA, 0xA1, 1, 2, 0, 1,
        12, 't', 'c', 'p', ':', '/', '/', 'h', ':', '4', '9', '1', '5',
        0, 0, 0, 1, 0, 0, 0, 1, 'g',
        3,
        1, 'n',
        0, 0, 0, 1, 1, 'k', 0, 0, 0, 2, 'v', 'w'
    };
    const char *error = "unset";
    ZMX_CHECK (zmx_zre_decode_header (hello, sizeof hello, &msg, &error) == 0);
    ZMX_CHECK (error == NULL);
    ZMX_CHECK (msg.id == ZMX_ZRE_HELLO && msg.sequence == 1 && msg.status == 3);
    ZMX_CHECK_STR (msg.endpoint, "tcp://h:4915");
    ZMX_CHECK_STR ((char *) zlist_first (msg.groups), "g");
    ZMX_CHECK_STR (msg.name, "n");
    ZMX_CHECK_STR ((char *) zhash_lookup (msg.headers, "k"), "vw");
    frame = zmx_zre_encode_header (&msg);
    ZMX_CHECK (zframe_size (frame) == sizeof hello && memcmp (zframe_data (frame), hello, sizeof hello) == 0);
    zframe_destroy (&frame);
    zmx_zre_clear (&msg);

    zmx_zre_init (&msg, ZMX_ZRE_PING_OK);
    msg.sequence = 0xFFFF;
    frame = zmx_zre_encode_header (&msg);
    const byte ping_ok [] = { 0xAA, 0xA1, 7, 2, 0xFF, 0xFF };
    ZMX_CHECK (zframe_size (frame) == 6 && memcmp (zframe_data (frame), ping_ok, 6) == 0);
    zframe_destroy (&frame);

    byte uuid [16];
    for (int index = 0; index < 16; index++)
        uuid [index] = (byte) (0xF0 + index);
    byte beacon [ZMX_ZRE_BEACON_SIZE];
    zmx_zre_beacon_encode (uuid, 0xC001, beacon);
    ZMX_CHECK (memcmp (beacon, "ZRE\x01", 4) == 0);
    ZMX_CHECK (memcmp (beacon + 4, uuid, 16) == 0);
    ZMX_CHECK (beacon [20] == 0xC0 && beacon [21] == 0x01);
}

//  Decode `size` bytes from a heap copy of exactly that size (so that
//  ASan sees an over-read) and return the code; msg must hold nothing.
static int
s_decode_bytes (const byte *data, size_t size)
{
    byte *copy = (byte *) malloc (size? size: 1);
    if (size)
        memcpy (copy, data, size);
    zmx_zre_msg_t msg;
    const char *error = NULL;
    int rc = zmx_zre_decode_header (copy, size, &msg, &error);
    if (rc != 0)
        ZMX_CHECK (error && !msg.groups && !msg.headers && !msg.content);
    zmx_zre_clear (&msg);
    free (copy);
    return rc;
}

static void
s_invalid_headers (void)
{
    const byte wrong_signature [] = { 0xAA, 0xA3, 6, 2, 0, 1 };
    ZMX_CHECK (s_decode_bytes (wrong_signature, sizeof wrong_signature) == -1);
    ZMX_CHECK (s_decode_bytes (wrong_signature, 0) == -1);
    ZMX_CHECK (s_decode_bytes (wrong_signature, 1) == -1);
    const byte short_prefix [] = { 0xAA, 0xA1, 6, 2, 0 };
    ZMX_CHECK (s_decode_bytes (short_prefix, sizeof short_prefix) == -2);
    const byte wrong_version [] = { 0xAA, 0xA1, 6, 1, 0, 1 };
    ZMX_CHECK (s_decode_bytes (wrong_version, sizeof wrong_version) == -2);
    const byte unknown_zero [] = { 0xAA, 0xA1, 0, 2, 0, 1 };
    ZMX_CHECK (s_decode_bytes (unknown_zero, sizeof unknown_zero) == -2);
    const byte unknown_eight [] = { 0xAA, 0xA1, 8, 2, 0, 1 };
    ZMX_CHECK (s_decode_bytes (unknown_eight, sizeof unknown_eight) == -2);
    const byte trailing [] = { 0xAA, 0xA1, 6, 2, 0, 1, 0 };
    ZMX_CHECK (s_decode_bytes (trailing, sizeof trailing) == -2);
    const byte join_no_status [] = { 0xAA, 0xA1, 4, 2, 0, 1, 1, 'g' };
    ZMX_CHECK (s_decode_bytes (join_no_status, sizeof join_no_status) == -2);
    const byte join_empty_group [] = { 0xAA, 0xA1, 4, 2, 0, 1, 0, 1 };
    ZMX_CHECK (s_decode_bytes (join_empty_group, sizeof join_empty_group) == -2);
    const byte group_past_end [] = { 0xAA, 0xA1, 3, 2, 0, 1, 9, 'g' };
    ZMX_CHECK (s_decode_bytes (group_past_end, sizeof group_past_end) == -2);
    const byte group_control [] = { 0xAA, 0xA1, 3, 2, 0, 1, 2, 'g', '\n' };
    ZMX_CHECK (s_decode_bytes (group_control, sizeof group_control) == -2);
    const byte group_nul [] = { 0xAA, 0xA1, 3, 2, 0, 1, 2, 'g', 0 };
    ZMX_CHECK (s_decode_bytes (group_nul, sizeof group_nul) == -2);
    const byte group_del [] = { 0xAA, 0xA1, 5, 2, 0, 1, 1, 0x7F, 0 };
    ZMX_CHECK (s_decode_bytes (group_del, sizeof group_del) == -2);
}

//  A HELLO built from parts, to break one part at a time.
static size_t
s_hello (byte *out, const char *endpoint, const byte *groups, size_t groups_size,
         const byte *headers, size_t headers_size)
{
    byte *at = out;
    const byte prefix [] = { 0xAA, 0xA1, 1, 2, 0, 1 };
    memcpy (at, prefix, 6);
    at += 6;
    *at++ = (byte) strlen (endpoint);
    memcpy (at, endpoint, strlen (endpoint));
    at += strlen (endpoint);
    memcpy (at, groups, groups_size);
    at += groups_size;
    *at++ = 0;                  //  status
    *at++ = 1;                  //  name "n"
    *at++ = 'n';
    memcpy (at, headers, headers_size);
    return (size_t) (at - out) + headers_size;
}

static void
s_invalid_hello (void)
{
    byte data [512];
    const byte no_groups [] = { 0, 0, 0, 0 };
    const byte no_headers [] = { 0, 0, 0, 0 };
    size_t size = s_hello (data, "tcp://a:1", no_groups, 4, no_headers, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == 0);

    const char *bad_endpoints [] = { "", "tcp:/a:1", "://a", "tcp://", "tcp://a b:1",
                                     "tcp://a:1,tcp://b:2" };
    for (size_t index = 0; index < sizeof bad_endpoints / sizeof bad_endpoints [0]; index++) {
        size = s_hello (data, bad_endpoints [index], no_groups, 4, no_headers, 4);
        ZMX_CHECK (s_decode_bytes (data, size) == -2);
    }
    const byte huge_group_count [] = { 0xFF, 0xFF, 0xFF, 0xFF };
    size = s_hello (data, "tcp://a:1", huge_group_count, 4, no_headers, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte count_past_end [] = { 0, 0, 0, 3, 0, 0, 0, 1, 'g' };
    size = s_hello (data, "tcp://a:1", count_past_end, sizeof count_past_end, no_headers, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte twice [] = { 0, 0, 0, 2, 0, 0, 0, 1, 'g', 0, 0, 0, 1, 'g' };
    size = s_hello (data, "tcp://a:1", twice, sizeof twice, no_headers, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte empty_group [] = { 0, 0, 0, 1, 0, 0, 0, 0 };
    size = s_hello (data, "tcp://a:1", empty_group, sizeof empty_group, no_headers, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte long_group_len [] = { 0, 0, 0, 1, 0xFF, 0xFF, 0xFF, 0xF0, 'g' };
    size = s_hello (data, "tcp://a:1", long_group_len, sizeof long_group_len, no_headers, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);

    const byte huge_dict [] = { 0x7F, 0xFF, 0xFF, 0xFF };
    size = s_hello (data, "tcp://a:1", no_groups, 4, huge_dict, 4);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte dup_header [] = { 0, 0, 0, 2, 1, 'k', 0, 0, 0, 0, 1, 'k', 0, 0, 0, 0 };
    size = s_hello (data, "tcp://a:1", no_groups, 4, dup_header, sizeof dup_header);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte empty_key [] = { 0, 0, 0, 1, 0, 0, 0, 0, 1, 'v' };
    size = s_hello (data, "tcp://a:1", no_groups, 4, empty_key, sizeof empty_key);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte value_control [] = { 0, 0, 0, 1, 1, 'k', 0, 0, 0, 1, 0x1B };
    size = s_hello (data, "tcp://a:1", no_groups, 4, value_control, sizeof value_control);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte value_past_end [] = { 0, 0, 0, 1, 1, 'k', 0, 0, 0, 9, 'v' };
    size = s_hello (data, "tcp://a:1", no_groups, 4, value_past_end, sizeof value_past_end);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);
    const byte no_dict [] = { 0, 0 };
    size = s_hello (data, "tcp://a:1", no_groups, 4, no_dict, sizeof no_dict);
    ZMX_CHECK (s_decode_bytes (data, size) == -2);

    //  A header value longer than ZMX_ZRE_MAX_VALUE
    size_t big = ZMX_ZRE_MAX_VALUE + 1;
    byte *large = (byte *) malloc (64 + big);
    const byte key [] = { 0, 0, 0, 1, 1, 'k', 0, 1, 0, 1 };
    size = s_hello (large, "tcp://a:1", no_groups, 4, key, sizeof key);
    memset (large + size, 'v', big);
    ZMX_CHECK (s_decode_bytes (large, size + big) == -2);
    free (large);
}

//  Every strict prefix of valid messages is refused, never over-read.
static void
s_prefixes (void)
{
    zmx_zre_msg_t msg;
    zmx_zre_init (&msg, ZMX_ZRE_HELLO);
    msg.sequence = 1;
    strcpy (msg.endpoint, "tcp://10.0.0.1:5670");
    msg.groups = zlist_new ();
    zlist_append (msg.groups, "alpha");
    zlist_append (msg.groups, "beta");
    strcpy (msg.name, "node");
    msg.headers = zhash_new ();
    zhash_autofree (msg.headers);
    zhash_insert (msg.headers, "X-A", "value a");
    zhash_insert (msg.headers, "X-B", "");
    int ids [] = { ZMX_ZRE_HELLO, ZMX_ZRE_SHOUT, ZMX_ZRE_JOIN, ZMX_ZRE_LEAVE, ZMX_ZRE_PING };
    for (size_t id = 0; id < sizeof ids / sizeof ids [0]; id++) {
        msg.id = ids [id];
        strcpy (msg.group, "a-group");
        zframe_t *frame = zmx_zre_encode_header (&msg);
        ZMX_CHECK (frame);
        size_t size = zframe_size (frame);
        ZMX_CHECK (s_decode_bytes (zframe_data (frame), size) == 0);
        for (size_t prefix = 0; prefix < size; prefix++)
            ZMX_CHECK (s_decode_bytes (zframe_data (frame), prefix) == (prefix < 2? -1: -2));
        zframe_destroy (&frame);
    }
    zmx_zre_clear (&msg);
}

//  Frame-level checks of zmx_zre_decode, which consumes on every path.
static void
s_invalid_frames (void)
{
    zmx_zre_msg_t msg;
    const char *error = NULL;
    zmsg_t *wire = zmsg_new ();
    ZMX_CHECK (zmx_zre_decode (&wire, &msg, &error) == -2 && wire == NULL && error);

    wire = NULL;
    ZMX_CHECK (zmx_zre_decode (&wire, &msg, &error) == -2);

    //  PING followed by a frame: only WHISPER and SHOUT carry content
    const byte ping [] = { 0xAA, 0xA1, 6, 2, 0, 2 };
    wire = zmsg_new ();
    zmsg_addmem (wire, ping, sizeof ping);
    zmsg_addstr (wire, "extra");
    ZMX_CHECK (zmx_zre_decode (&wire, &msg, &error) == -2 && !msg.content);

    const byte whisper [] = { 0xAA, 0xA1, 2, 2, 0, 2 };
    wire = zmsg_new ();
    zmsg_addmem (wire, whisper, sizeof whisper);
    for (int index = 0; index <= ZMX_ZRE_MAX_CONTENT; index++)
        zmsg_addstr (wire, "x");
    ZMX_CHECK (zmx_zre_decode (&wire, &msg, &error) == -2 && !msg.content);

    wire = zmsg_new ();
    zmsg_addmem (wire, whisper, sizeof whisper);
    zmsg_addstr (wire, "x");
    ZMX_CHECK (zmx_zre_decode (&wire, &msg, &error) == 0 && zmsg_size (msg.content) == 1);
    zmx_zre_clear (&msg);

    //  Not ZRE at all: -1, consumed
    wire = zmsg_new ();
    zmsg_addstr (wire, "HELLO");
    ZMX_CHECK (zmx_zre_decode (&wire, &msg, &error) == -1 && wire == NULL);
}

static void
s_encode_refuses (void)
{
    zmx_zre_msg_t msg;
    zmx_zre_init (&msg, 0);
    ZMX_CHECK (zmx_zre_encode_header (&msg) == NULL);
    zmx_zre_init (&msg, 8);
    ZMX_CHECK (zmx_zre_encode (&msg) == NULL);

    zmx_zre_init (&msg, ZMX_ZRE_JOIN);
    ZMX_CHECK (zmx_zre_encode_header (&msg) == NULL);       //  empty group
    strcpy (msg.group, "tab\there");
    ZMX_CHECK (zmx_zre_encode_header (&msg) == NULL);

    zmx_zre_init (&msg, ZMX_ZRE_HELLO);
    strcpy (msg.endpoint, "not an endpoint");
    ZMX_CHECK (zmx_zre_encode_header (&msg) == NULL);
    strcpy (msg.endpoint, "tcp://a:1");
    msg.groups = zlist_new ();
    zlist_append (msg.groups, "g");
    zlist_append (msg.groups, "g");
    ZMX_CHECK (zmx_zre_encode_header (&msg) == NULL);       //  repeated group
    zlist_destroy (&msg.groups);
    msg.headers = zhash_new ();
    zhash_insert (msg.headers, "k", "line\nbreak");
    ZMX_CHECK (zmx_zre_encode_header (&msg) == NULL);
    zhash_destroy (&msg.headers);

    zmx_zre_init (&msg, ZMX_ZRE_WHISPER);
    msg.content = zmsg_new ();
    for (int index = 0; index <= ZMX_ZRE_MAX_CONTENT; index++)
        zmsg_addstr (msg.content, "x");
    ZMX_CHECK (zmx_zre_encode (&msg) == NULL);
    zmx_zre_clear (&msg);

    ZMX_CHECK (zmx_zre_name_valid ("weather"));
    ZMX_CHECK (!zmx_zre_name_valid (""));
    ZMX_CHECK (!zmx_zre_name_valid (NULL));
    char long_name [300];
    memset (long_name, 'a', 256);
    long_name [256] = 0;
    ZMX_CHECK (!zmx_zre_name_valid (long_name));
    long_name [255] = 0;
    ZMX_CHECK (zmx_zre_name_valid (long_name));
}

static void
s_beacons (void)
{
    byte uuid [16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
    byte data [ZMX_ZRE_BEACON_SIZE + 1];
    zmx_zre_beacon_encode (uuid, 5670, data);
    zmx_zre_beacon_t beacon;
    const char *error = "unset";
    ZMX_CHECK (zmx_zre_beacon_decode (data, ZMX_ZRE_BEACON_SIZE, &beacon, &error) == 0);
    ZMX_CHECK (error == NULL && beacon.port == 5670 && memcmp (beacon.uuid, uuid, 16) == 0);
    zmx_zre_beacon_encode (uuid, 0, data);
    ZMX_CHECK (zmx_zre_beacon_decode (data, ZMX_ZRE_BEACON_SIZE, &beacon, NULL) == 0);
    ZMX_CHECK (beacon.port == 0);
    for (size_t size = 0; size < ZMX_ZRE_BEACON_SIZE; size++) {
        byte *copy = (byte *) malloc (size? size: 1);
        memcpy (copy, data, size);
        ZMX_CHECK (zmx_zre_beacon_decode (copy, size, &beacon, &error) == -1 && error);
        free (copy);
    }
    data [ZMX_ZRE_BEACON_SIZE] = 0;
    ZMX_CHECK (zmx_zre_beacon_decode (data, ZMX_ZRE_BEACON_SIZE + 1, &beacon, NULL) == -1);
    data [3] = 2;
    ZMX_CHECK (zmx_zre_beacon_decode (data, ZMX_ZRE_BEACON_SIZE, &beacon, NULL) == -1);
    data [3] = 1;
    data [0] = 'z';
    ZMX_CHECK (zmx_zre_beacon_decode (data, ZMX_ZRE_BEACON_SIZE, &beacon, NULL) == -1);
    ZMX_CHECK (zmx_zre_beacon_decode (NULL, 0, &beacon, NULL) == -1);
}

//  A valid message of a random command other than HELLO, with random
//  text from an alphabet that needs no escaping.
static void
s_random_valid (unsigned int *seed, zmx_zre_msg_t *msg)
{
    const int ids [] = { ZMX_ZRE_WHISPER, ZMX_ZRE_SHOUT, ZMX_ZRE_JOIN, ZMX_ZRE_LEAVE,
                         ZMX_ZRE_PING, ZMX_ZRE_PING_OK };
    zmx_zre_init (msg, ids [rand_r (seed) % 6]);
    msg->sequence = (uint16_t) rand_r (seed);
    size_t length = 1 + (size_t) (rand_r (seed) % 30);
    for (size_t index = 0; index < length; index++)
        msg->group [index] = (char) ('a' + rand_r (seed) % 26);
    msg->group [length] = 0;
    msg->status = (uint8_t) rand_r (seed);
}

//  Random bytes after a valid prefix, with valid messages and known
//  invalid ones mixed in: never a crash; every valid one is accepted and
//  encodes back to the same bytes, every invalid one refused as
//  malformed, and whatever random input is accepted (HELLO aside:
//  dictionary order may differ) also encodes back to the same bytes.
static void
s_random_input (void)
{
    unsigned int seed = 36;
    byte data [80];
    int valid = 0, valid_accepted = 0, invalid = 0, invalid_refused = 0;
    int random_accepted = 0, random_refused = 0;
    for (int round = 0; round < 200000; round++) {
        size_t size = 4 + (size_t) (rand_r (&seed) % 40);
        int kind = round % 10;              //  0: valid, 1: invalid, else random
        if (kind < 2) {
            zmx_zre_msg_t model;
            s_random_valid (&seed, &model);
            zframe_t *frame = zmx_zre_encode_header (&model);
            ZMX_CHECK (frame && zframe_size (frame) <= sizeof data);
            size = zframe_size (frame);
            memcpy (data, zframe_data (frame), size);
            zframe_destroy (&frame);
            if (kind == 1) {                //  One byte too many or too few
                if (rand_r (&seed) % 2)
                    data [size++] = 'x';
                else
                    size--;
            }
        }
        else {
            data [0] = 0xAA;
            data [1] = 0xA1;
            data [2] = (byte) (rand_r (&seed) % 9);
            data [3] = 2;
            for (size_t index = 4; index < size; index++)
                data [index] = (byte) (rand_r (&seed) % 8 == 0? rand_r (&seed): 'a' + rand_r (&seed) % 3);
        }
        zmx_zre_msg_t msg;
        int rc = zmx_zre_decode_header (data, size, &msg, NULL);
        if (rc == 0 && msg.id != ZMX_ZRE_HELLO) {
            zframe_t *frame = zmx_zre_encode_header (&msg);
            ZMX_CHECK (frame && zframe_size (frame) == size
                       && memcmp (zframe_data (frame), data, size) == 0);
            zframe_destroy (&frame);
        }
        zmx_zre_clear (&msg);
        valid += kind == 0;
        valid_accepted += kind == 0 && rc == 0;
        invalid += kind == 1;
        invalid_refused += kind == 1 && rc == -2;
        random_accepted += kind >= 2 && rc == 0;
        random_refused += kind >= 2 && rc != 0;
    }
    printf ("random_input: valid %d/%d accepted, invalid %d/%d refused, random %d accepted "
            "%d refused\n", valid_accepted, valid, invalid_refused, invalid, random_accepted,
            random_refused);
    ZMX_CHECK (valid == 20000 && valid_accepted == valid);
    ZMX_CHECK (invalid == 20000 && invalid_refused == invalid);
    //  The random part reaches both sides of the decoder
    ZMX_CHECK (random_accepted > 1000 && random_refused > 1000);
}

//  One HELLO of 10000 groups of 255 bytes (2.6 MB): duplicates must be
//  found in linear time. A list search took 0.45 s of CPU for this.
static void
s_hello_many_groups (void)
{
    zmx_zre_msg_t msg;
    zmx_zre_init (&msg, ZMX_ZRE_HELLO);
    msg.sequence = 1;
    snprintf (msg.endpoint, sizeof msg.endpoint, "tcp://127.0.0.1:5670");
    msg.groups = zlist_new ();
    zlist_autofree (msg.groups);
    char group [ZMX_ZRE_MAX_STRING + 1];
    memset (group, 'g', ZMX_ZRE_MAX_STRING);
    group [ZMX_ZRE_MAX_STRING] = 0;
    for (int index = 0; index < ZMX_ZRE_MAX_GROUPS; index++) {
        snprintf (group + ZMX_ZRE_MAX_STRING - 6, 7, "%06d", index);
        zlist_append (msg.groups, group);
    }
    zframe_t *frame = zmx_zre_encode_header (&msg);
    ZMX_CHECK (frame && zframe_size (frame) > 2590000);
    struct timespec start, end;
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &start);
    zmx_zre_msg_t copy;
    int rc = zmx_zre_decode_header (zframe_data (frame), zframe_size (frame), &copy, NULL);
    clock_gettime (CLOCK_THREAD_CPUTIME_ID, &end);
    double cpu = (double) (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
    printf ("HELLO of %zu bytes, %d groups: decoded in %.4f s of CPU\n", zframe_size (frame),
            ZMX_ZRE_MAX_GROUPS, cpu);
    ZMX_CHECK (rc == 0 && zlist_size (copy.groups) == ZMX_ZRE_MAX_GROUPS);
    zmx_zre_clear (&copy);
    ZMX_CHECK (cpu < 0.1);

    //  A group repeated far from its first place is still found: the
    //  last group (9999) rewritten on the wire as group 1
    byte *last = NULL;
    for (size_t at = 0; !last && at + ZMX_ZRE_MAX_STRING <= zframe_size (frame); at++)
        if (memcmp (zframe_data (frame) + at, group, ZMX_ZRE_MAX_STRING) == 0)
            last = zframe_data (frame) + at;
    ZMX_CHECK (last);
    memcpy (last + ZMX_ZRE_MAX_STRING - 6, "000001", 6);
    const char *error = NULL;
    ZMX_CHECK (zmx_zre_decode_header (zframe_data (frame), zframe_size (frame), &copy, &error)
               == -2);
    ZMX_CHECK_STR (error, "group listed twice");
    zframe_destroy (&frame);
    zmx_zre_clear (&msg);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "round_trip_all", s_round_trip_all, 10 },
        { "wire_layout", s_wire_layout, 10 },
        { "invalid_headers", s_invalid_headers, 10 },
        { "invalid_hello", s_invalid_hello, 10 },
        { "prefixes_never_over_read", s_prefixes, 20 },
        { "invalid_frames", s_invalid_frames, 10 },
        { "encode_refuses", s_encode_refuses, 10 },
        { "beacons", s_beacons, 10 },
        { "random_input", s_random_input, 60 },
        { "hello_many_groups", s_hello_many_groups, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
