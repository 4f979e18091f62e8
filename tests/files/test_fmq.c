/*  =========================================================================
    test_fmq - the FILEMQ codec: every command round trips, the bytes on the
    wire are those the RFC lays out, and every kind of malformed input is
    refused with the right code.
    =========================================================================
*/
#include "testing.h"

//  Encode, decode, and return the decoded copy (frame kept in *frame_p).
static zmx_fmq_msg_t
s_round_trip (zmx_fmq_msg_t *msg, zframe_t **frame_p)
{
    *frame_p = zmx_fmq_encode (msg);
    ZMX_CHECK (*frame_p);
    zmx_fmq_msg_t copy;
    const char *error = "unset";
    ZMX_CHECK (zmx_fmq_decode (zframe_data (*frame_p), zframe_size (*frame_p), &copy, &error) == 0);
    ZMX_CHECK (error == NULL);
    ZMX_CHECK (copy.id == msg->id);
    return copy;
}

static void
s_round_trip_all (void)
{
    zframe_t *frame;
    zmx_fmq_msg_t msg, copy;

    zmx_fmq_init (&msg, ZMX_FMQ_OHAI);
    strcpy (msg.protocol, "FILEMQ");
    msg.version = 2;
    copy = s_round_trip (&msg, &frame);
    ZMX_CHECK_STR (copy.protocol, "FILEMQ");
    ZMX_CHECK (copy.version == 2);
    zframe_destroy (&frame);

    zmx_fmq_init (&msg, ZMX_FMQ_ICANHAZ);
    strcpy (msg.path, "/photos/été 2026");
    msg.options = zhash_new ();
    zhash_autofree (msg.options);
    zhash_insert (msg.options, "RESYNC", "1");
    msg.cache = zhash_new ();
    zhash_autofree (msg.cache);
    zhash_insert (msg.cache, "a b.txt", "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    zhash_insert (msg.cache, "sub/x", "");
    copy = s_round_trip (&msg, &frame);
    ZMX_CHECK_STR (copy.path, "/photos/été 2026");
    ZMX_CHECK_STR ((char *) zhash_lookup (copy.options, "RESYNC"), "1");
    ZMX_CHECK (zhash_size (copy.cache) == 2);
    ZMX_CHECK_STR ((char *) zhash_lookup (copy.cache, "sub/x"), "");
    zmx_fmq_clear (&copy);
    zmx_fmq_clear (&msg);
    zframe_destroy (&frame);

    zmx_fmq_init (&msg, ZMX_FMQ_NOM);
    msg.credit = 0x0102030405060708ULL;
    msg.sequence = UINT64_MAX;
    copy = s_round_trip (&msg, &frame);
    ZMX_CHECK (copy.credit == 0x0102030405060708ULL && copy.sequence == UINT64_MAX);
    zframe_destroy (&frame);

    byte data [1000];
    for (size_t index = 0; index < sizeof data; index++)
        data [index] = (byte) index;
    zmx_fmq_init (&msg, ZMX_FMQ_CHEEZBURGER);
    msg.sequence = 7;
    msg.operation = ZMX_FMQ_CREATE;
    strcpy (msg.filename, "dir/файл.bin");
    msg.offset = 1ULL << 40;
    msg.eof = 1;
    msg.headers = zhash_new ();
    zhash_autofree (msg.headers);
    zhash_insert (msg.headers, "SIZE", "1000");
    msg.chunk = data;
    msg.chunk_size = sizeof data;
    copy = s_round_trip (&msg, &frame);
    ZMX_CHECK (copy.sequence == 7 && copy.operation == ZMX_FMQ_CREATE && copy.eof == 1);
    ZMX_CHECK_STR (copy.filename, "dir/файл.bin");
    ZMX_CHECK (copy.offset == 1ULL << 40);
    ZMX_CHECK_STR ((char *) zhash_lookup (copy.headers, "SIZE"), "1000");
    ZMX_CHECK (copy.chunk_size == sizeof data && memcmp (copy.chunk, data, sizeof data) == 0);
    zmx_fmq_clear (&copy);
    zmx_fmq_clear (&msg);
    zframe_destroy (&frame);

    int simple [] = { ZMX_FMQ_OHAI_OK, ZMX_FMQ_ICANHAZ_OK, ZMX_FMQ_HUGZ, ZMX_FMQ_HUGZ_OK,
                      ZMX_FMQ_KTHXBAI };
    for (size_t index = 0; index < sizeof simple / sizeof simple [0]; index++) {
        zmx_fmq_init (&msg, simple [index]);
        copy = s_round_trip (&msg, &frame);
        ZMX_CHECK (zframe_size (frame) == 3);
        zframe_destroy (&frame);
    }
    int errors [] = { ZMX_FMQ_SRSLY, ZMX_FMQ_RTFM };
    for (size_t index = 0; index < 2; index++) {
        zmx_fmq_init (&msg, errors [index]);
        strcpy (msg.reason, "go away");
        copy = s_round_trip (&msg, &frame);
        ZMX_CHECK_STR (copy.reason, "go away");
        zframe_destroy (&frame);
    }
}

//  The exact bytes of a few messages, written out by hand from the RFC.
static void
s_wire_layout (void)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_OHAI);
    strcpy (msg.protocol, "FILEMQ");
    msg.version = 2;
    zframe_t *frame = zmx_fmq_encode (&msg);
    const byte ohai [] = { 0xAA, 0xA3, 1, 6, 'F', 'I', 'L', 'E', 'M', 'Q', 0, 2 };
    ZMX_CHECK (zframe_size (frame) == sizeof ohai && memcmp (zframe_data (frame), ohai, sizeof ohai) == 0);
    zframe_destroy (&frame);

    zmx_fmq_init (&msg, ZMX_FMQ_NOM);
    msg.credit = 0x10000;
    msg.sequence = 3;
    frame = zmx_fmq_encode (&msg);
    const byte nom [] = { 0xAA, 0xA3, 7, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3 };
    ZMX_CHECK (zframe_size (frame) == sizeof nom && memcmp (zframe_data (frame), nom, sizeof nom) == 0);
    zframe_destroy (&frame);

    zmx_fmq_init (&msg, ZMX_FMQ_CHEEZBURGER);
    msg.sequence = 1;
    msg.operation = ZMX_FMQ_DELETE;
    strcpy (msg.filename, "a");
    msg.offset = 2;
    msg.eof = 1;
    msg.chunk = (const byte *) "xy";
    msg.chunk_size = 2;
    frame = zmx_fmq_encode (&msg);
    const byte burger [] = { 0xAA, 0xA3, 8, 0, 0, 0, 0, 0, 0, 0, 1, 2, 1, 'a',
                             0, 0, 0, 0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 2, 'x', 'y' };
    ZMX_CHECK (zframe_size (frame) == sizeof burger
               && memcmp (zframe_data (frame), burger, sizeof burger) == 0);
    zframe_destroy (&frame);

    zmx_fmq_init (&msg, ZMX_FMQ_RTFM);
    strcpy (msg.reason, "no");
    frame = zmx_fmq_encode (&msg);
    const byte rtfm [] = { 0xAA, 0xA3, 129, 2, 'n', 'o' };
    ZMX_CHECK (zframe_size (frame) == sizeof rtfm && memcmp (zframe_data (frame), rtfm, sizeof rtfm) == 0);
    zframe_destroy (&frame);
}

static int
s_decode (const byte *data, size_t size)
{
    zmx_fmq_msg_t msg;
    const char *error = NULL;
    int rc = zmx_fmq_decode (data, size, &msg, &error);
    if (rc != 0)
        ZMX_CHECK (error && msg.id == 0 && !msg.options && !msg.cache && !msg.headers);
    zmx_fmq_clear (&msg);
    return rc;
}

static void
s_invalid_messages (void)
{
    //  Signature
    ZMX_CHECK (s_decode (NULL, 0) == -1);
    ZMX_CHECK (s_decode ((const byte *) "\xAA", 1) == -1);
    ZMX_CHECK (s_decode ((const byte *) "\xAA\xA4\x09", 3) == -1);
    ZMX_CHECK (s_decode ((const byte *) "\xAB\xA3\x09", 3) == -1);
    //  No id, unknown ids
    ZMX_CHECK (s_decode ((const byte *) "\xAA\xA3", 2) == -2);
    const byte unknown [] = { 0, 2, 3, 12, 127, 130, 255 };
    for (size_t index = 0; index < sizeof unknown; index++) {
        byte data [3] = { 0xAA, 0xA3, unknown [index] };
        ZMX_CHECK (s_decode (data, 3) == -2);
    }
    //  Trailing byte after a fieldless command
    ZMX_CHECK (s_decode ((const byte *) "\xAA\xA3\x09\x00", 4) == -2);
    //  OHAI: truncated version, string past the end, control character
    const byte ohai_short [] = { 0xAA, 0xA3, 1, 6, 'F', 'I', 'L', 'E', 'M', 'Q', 0 };
    ZMX_CHECK (s_decode (ohai_short, sizeof ohai_short) == -2);
    const byte ohai_long [] = { 0xAA, 0xA3, 1, 200, 'F' };
    ZMX_CHECK (s_decode (ohai_long, sizeof ohai_long) == -2);
    const byte ohai_ctl [] = { 0xAA, 0xA3, 1, 2, 'F', 0, 0, 2 };
    ZMX_CHECK (s_decode (ohai_ctl, sizeof ohai_ctl) == -2);
    //  NOM truncated
    const byte nom_short [] = { 0xAA, 0xA3, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0 };
    ZMX_CHECK (s_decode (nom_short, sizeof nom_short) == -2);
    //  ICANHAZ: huge dictionary count, entry past the end, value past the end
    const byte dict_huge [] = { 0xAA, 0xA3, 5, 1, '/', 0xFF, 0xFF, 0xFF, 0xFF };
    ZMX_CHECK (s_decode (dict_huge, sizeof dict_huge) == -2);
    const byte dict_cut [] = { 0xAA, 0xA3, 5, 1, '/', 0, 0, 0, 1, 1, 'k', 0, 0, 0, 9, 'v',
                               0, 0, 0, 0 };
    ZMX_CHECK (s_decode (dict_cut, sizeof dict_cut) == -2);
    const byte no_cache [] = { 0xAA, 0xA3, 5, 1, '/', 0, 0, 0, 0 };
    ZMX_CHECK (s_decode (no_cache, sizeof no_cache) == -2);
    const byte icanhaz_ok [] = { 0xAA, 0xA3, 5, 1, '/', 0, 0, 0, 0, 0, 0, 0, 0 };
    ZMX_CHECK (s_decode (icanhaz_ok, sizeof icanhaz_ok) == 0);
    //  CHEEZBURGER: bad operation, bad eof, chunk past the end
    byte burger [] = { 0xAA, 0xA3, 8, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 'a',
                       0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 'x' };
    ZMX_CHECK (s_decode (burger, sizeof burger) == 0);
    burger [11] = 3;
    ZMX_CHECK (s_decode (burger, sizeof burger) == -2);
    burger [11] = 1;
    burger [22] = 2;
    ZMX_CHECK (s_decode (burger, sizeof burger) == -2);
    burger [22] = 1;
    burger [30] = 2;
    ZMX_CHECK (s_decode (burger, sizeof burger) == -2);
    burger [30] = 1;
    ZMX_CHECK (s_decode (burger, sizeof burger - 1) == -2);
    //  Every prefix of a valid message is refused, never over-read
    for (size_t size = 3; size < sizeof burger; size++)
        ZMX_CHECK (s_decode (burger, size) == -2);
}

static void
s_encode_refuses (void)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, 42);
    ZMX_CHECK (zmx_fmq_encode (&msg) == NULL);
    zmx_fmq_init (&msg, ZMX_FMQ_RTFM);
    strcpy (msg.reason, "bad\nline");
    ZMX_CHECK (zmx_fmq_encode (&msg) == NULL);
    zmx_fmq_init (&msg, ZMX_FMQ_CHEEZBURGER);
    strcpy (msg.filename, "x");
    msg.operation = 9;
    ZMX_CHECK (zmx_fmq_encode (&msg) == NULL);
    msg.operation = ZMX_FMQ_CREATE;
    msg.chunk_size = 10;            //  and no chunk
    ZMX_CHECK (zmx_fmq_encode (&msg) == NULL);
    zmx_fmq_init (&msg, ZMX_FMQ_ICANHAZ);
    strcpy (msg.path, "/");
    msg.cache = zhash_new ();
    zhash_autofree (msg.cache);
    char key [300];
    memset (key, 'k', 299);
    key [299] = 0;
    zhash_insert (msg.cache, key, "v");
    ZMX_CHECK (zmx_fmq_encode (&msg) == NULL);
    zmx_fmq_clear (&msg);
    ZMX_CHECK (!zmx_fmq_string_valid (key));
    ZMX_CHECK (zmx_fmq_string_valid ("naïve name.txt"));
    ZMX_CHECK_STR (zmx_fmq_command (ZMX_FMQ_CHEEZBURGER), "CHEEZBURGER");
    ZMX_CHECK_STR (zmx_fmq_command (3), "?");
}

//  -------------------------------------------------------------------------
//  Random input: valid messages of random content, each then spoiled in a
//  way that must be refused, and plain noise.

#define S_RANDOM_VALID  20000   //  Random valid messages (each also spoiled)
#define S_RANDOM_NOISE  200000  //  Noise inputs

static const int s_ids [] = {
    ZMX_FMQ_OHAI, ZMX_FMQ_OHAI_OK, ZMX_FMQ_ICANHAZ, ZMX_FMQ_ICANHAZ_OK, ZMX_FMQ_NOM,
    ZMX_FMQ_CHEEZBURGER, ZMX_FMQ_HUGZ, ZMX_FMQ_HUGZ_OK, ZMX_FMQ_KTHXBAI, ZMX_FMQ_SRSLY,
    ZMX_FMQ_RTFM
};
#define S_ID_COUNT (sizeof s_ids / sizeof s_ids [0])

static uint64_t
s_random64 (unsigned int *seed)
{
    uint64_t value = 0;
    for (int index = 0; index < 4; index++)
        value = value << 16 | (uint64_t) (rand_r (seed) & 0xffff);
    return value;
}

//  Up to `max` bytes that may travel in a string: anything but ASCII
//  control characters, so also bytes of UTF-8 sequences.
static void
s_random_text (unsigned int *seed, char *text, size_t max)
{
    size_t size = (size_t) rand_r (seed) % (max + 1);
    for (size_t index = 0; index < size; index++) {
        int value = 0x20 + rand_r (seed) % (0x100 - 0x20);
        text [index] = (char) (value == 0x7f? 'x': value);
    }
    text [size] = 0;
}

//  A dictionary of up to 5 entries; values up to 300 bytes, past what a
//  one-octet length could say.
static zhash_t *
s_random_dict (unsigned int *seed)
{
    zhash_t *dict = zhash_new ();
    zhash_autofree (dict);
    int count = rand_r (seed) % 6;
    for (int index = 0; index < count; index++) {
        char key [ZMX_FMQ_MAX_STRING + 1], value [301];
        s_random_text (seed, key, 20);
        s_random_text (seed, value, 300);
        zhash_update (dict, key, value);
    }
    return dict;
}

//  A valid message of random command and fields; the chunk, if any, is
//  in `chunk`.
static void
s_random_msg (unsigned int *seed, zmx_fmq_msg_t *msg, byte *chunk, size_t chunk_max)
{
    zmx_fmq_init (msg, s_ids [rand_r (seed) % S_ID_COUNT]);
    switch (msg->id) {
        case ZMX_FMQ_OHAI:
            s_random_text (seed, msg->protocol, ZMX_FMQ_MAX_STRING);
            msg->version = (uint16_t) rand_r (seed);
            break;
        case ZMX_FMQ_ICANHAZ:
            s_random_text (seed, msg->path, ZMX_FMQ_MAX_STRING);
            msg->options = s_random_dict (seed);
            msg->cache = s_random_dict (seed);
            break;
        case ZMX_FMQ_NOM:
            msg->credit = s_random64 (seed);
            msg->sequence = s_random64 (seed);
            break;
        case ZMX_FMQ_CHEEZBURGER:
            msg->sequence = s_random64 (seed);
            msg->operation = rand_r (seed) % 2? ZMX_FMQ_CREATE: ZMX_FMQ_DELETE;
            s_random_text (seed, msg->filename, ZMX_FMQ_MAX_STRING);
            msg->offset = s_random64 (seed);
            msg->eof = (uint8_t) (rand_r (seed) % 2);
            msg->headers = s_random_dict (seed);
            msg->chunk_size = (size_t) rand_r (seed) % (chunk_max + 1);
            for (size_t index = 0; index < msg->chunk_size; index++)
                chunk [index] = (byte) rand_r (seed);
            msg->chunk = msg->chunk_size? chunk: NULL;
            break;
        case ZMX_FMQ_SRSLY:
        case ZMX_FMQ_RTFM:
            s_random_text (seed, msg->reason, ZMX_FMQ_MAX_STRING);
            break;
        default:
            break;
    }
}

static bool
s_dict_equal (zhash_t *dict_a, zhash_t *dict_b)
{
    size_t size_a = dict_a? zhash_size (dict_a): 0, size_b = dict_b? zhash_size (dict_b): 0;
    if (size_a != size_b)
        return false;
    for (const char *value = size_a? (const char *) zhash_first (dict_a): NULL; value;
         value = (const char *) zhash_next (dict_a)) {
        const char *other = (const char *) zhash_lookup (dict_b, zhash_cursor (dict_a));
        if (!other || !streq (value, other))
            return false;
    }
    return true;
}

//  True if every field of the two messages is the same.
static bool
s_msg_equal (const zmx_fmq_msg_t *a, const zmx_fmq_msg_t *b)
{
    return a->id == b->id && streq (a->protocol, b->protocol) && a->version == b->version
        && streq (a->path, b->path) && s_dict_equal (a->options, b->options)
        && s_dict_equal (a->cache, b->cache) && a->credit == b->credit
        && a->sequence == b->sequence && a->operation == b->operation
        && streq (a->filename, b->filename) && a->offset == b->offset && a->eof == b->eof
        && s_dict_equal (a->headers, b->headers) && a->chunk_size == b->chunk_size
        && (a->chunk_size == 0 || memcmp (a->chunk, b->chunk, a->chunk_size) == 0)
        && streq (a->reason, b->reason);
}

//  A copy of the valid encoding `data` spoiled in one of four ways that
//  no decoder may accept: cut short (every field is counted or fixed, so
//  the last one is then incomplete), extra bytes at the end, a broken
//  signature, or an id that is no command. Returns the spoiled size.
static size_t
s_spoil (unsigned int *seed, const byte *data, size_t size, byte *spoiled)
{
    memcpy (spoiled, data, size);
    switch (rand_r (seed) % 4) {
        case 0:
            return (size_t) rand_r (seed) % size;
        case 1: {
            size_t extra = 1 + (size_t) rand_r (seed) % 3;
            for (size_t index = 0; index < extra; index++)
                spoiled [size + index] = (byte) rand_r (seed);
            return size + extra;
        }
        case 2:
            spoiled [rand_r (seed) % 2] ^= (byte) (1 + rand_r (seed) % 255);
            return size;
        default: {
            byte id;
            bool known;
            do {
                id = (byte) rand_r (seed);
                known = false;
                for (size_t index = 0; index < S_ID_COUNT; index++)
                    known |= id == s_ids [index];
            } while (known);
            spoiled [2] = id;
            return size;
        }
    }
}

//  Random valid messages of every command decode to the same fields; the
//  same messages spoiled are all refused. Counts are checked, so that a
//  decoder that accepts nothing, or everything, fails.
static void
s_random_input (void)
{
    unsigned int seed = 12345;
    size_t chunk_max = 2000;
    byte *chunk = (byte *) malloc (chunk_max);
    byte *spoiled = (byte *) malloc (64 * 1024);
    int decoded = 0, refused = 0, per_id [256] = { 0 };
    for (int round = 0; round < S_RANDOM_VALID; round++) {
        zmx_fmq_msg_t msg, copy;
        s_random_msg (&seed, &msg, chunk, chunk_max);
        zframe_t *frame = zmx_fmq_encode (&msg);
        ZMX_CHECK (frame && zframe_size (frame) <= 64 * 1024 - 3);
        if (zmx_fmq_decode (zframe_data (frame), zframe_size (frame), &copy, NULL) == 0
        &&  s_msg_equal (&msg, &copy)) {
            decoded++;
            per_id [msg.id]++;
        }
        zmx_fmq_clear (&copy);
        size_t size = s_spoil (&seed, zframe_data (frame), zframe_size (frame), spoiled);
        if (zmx_fmq_decode (spoiled, size, &copy, NULL) != 0)
            refused++;
        zmx_fmq_clear (&copy);
        zmx_fmq_clear (&msg);
        zframe_destroy (&frame);
    }
    fprintf (stderr, "    %d of %d valid decoded, %d of %d spoiled refused\n", decoded,
                 S_RANDOM_VALID, refused, S_RANDOM_VALID);
    ZMX_CHECK (decoded == S_RANDOM_VALID);
    ZMX_CHECK (refused == S_RANDOM_VALID);
    for (size_t index = 0; index < S_ID_COUNT; index++)
        ZMX_CHECK (per_id [s_ids [index]] > S_RANDOM_VALID / (int) S_ID_COUNT / 2);
    free (spoiled);
    free (chunk);
}

//  Noise with a valid signature and id and mostly small bytes: some of
//  it happens to be a valid message, and must then encode back to the
//  same bytes; both outcomes must occur.
static void
s_random_noise (void)
{
    byte data [64];
    unsigned int seed = 12345;
    int accepted = 0, refused = 0;
    for (int round = 0; round < S_RANDOM_NOISE; round++) {
        size_t size = 3 + (size_t) (rand_r (&seed) % 60);
        data [0] = 0xAA;
        data [1] = 0xA3;
        data [2] = (byte) (rand_r (&seed) % 4? s_ids [rand_r (&seed) % S_ID_COUNT]: rand_r (&seed));
        for (size_t index = 3; index < size; index++)
            data [index] = (byte) (rand_r (&seed) % 8 == 0? rand_r (&seed): rand_r (&seed) % 3);
        zmx_fmq_msg_t msg;
        if (zmx_fmq_decode (data, size, &msg, NULL) == 0) {
            accepted++;
            zframe_t *frame = zmx_fmq_encode (&msg);
            //  Dictionaries may come out in another order: compare fields
            zmx_fmq_msg_t copy;
            ZMX_CHECK (frame && zmx_fmq_decode (zframe_data (frame), zframe_size (frame),
                                                &copy, NULL) == 0);
            ZMX_CHECK (s_msg_equal (&msg, &copy) && zframe_size (frame) == size);
            zmx_fmq_clear (&copy);
            zframe_destroy (&frame);
        }
        else
            refused++;
        zmx_fmq_clear (&msg);
    }
    fprintf (stderr, "    noise: %d accepted, %d refused\n", accepted, refused);
    ZMX_CHECK (accepted + refused == S_RANDOM_NOISE);
    ZMX_CHECK (accepted > S_RANDOM_NOISE / 1000);
    ZMX_CHECK (refused > S_RANDOM_NOISE / 2);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "round_trip_all", s_round_trip_all, 10 },
        { "wire_layout", s_wire_layout, 10 },
        { "invalid_messages", s_invalid_messages, 10 },
        { "encode_refuses", s_encode_refuses, 10 },
        { "random_input", s_random_input, 30 },
        { "random_noise", s_random_noise, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
