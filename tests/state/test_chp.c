/*  =========================================================================
    test_chp - the 12/CHP codec: every command encodes and decodes back,
    every malformed frame is refused with a reason, field checks, ttl
    parsing, and the frame-level receive over real sockets.
    =========================================================================
*/
#include "testing.h"

//  Frames of an encoded message as a view array (valid while msg lives).
static size_t
s_frames (zmsg_t *msg, zmx_chp_frame_t *frames)
{
    size_t count = 0;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        frames [count].data = zframe_data (frame);
        frames [count].size = zframe_size (frame);
        count++;
    }
    return count;
}

static int
s_decode (zmsg_t *msg, zmx_chp_side_t side, zmx_chp_view_t *view)
{
    zmx_chp_frame_t frames [8];
    size_t count = s_frames (msg, frames);
    return zmx_chp_decode (frames, count, side, view, NULL);
}

static void
s_round_trip (void)
{
    byte uuid [ZMX_CHP_UUID_SIZE];
    for (int index = 0; index < ZMX_CHP_UUID_SIZE; index++)
        uuid [index] = (byte) index;
    zmx_chp_view_t kvset = { .command = ZMX_CHP_KVSET, .key = "/a/b", .key_size = 4,
                             .sequence = 0x0102030405060708ULL, .uuid = uuid,
                             .properties = "ttl=5\n", .properties_size = 6,
                             .value = (const byte *) "hello", .value_size = 5 };
    zmsg_t *msg = zmx_chp_encode (&kvset);
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    zmx_chp_view_t view;
    ZMX_CHECK (s_decode (msg, ZMX_CHP_SERVER_COLLECTOR, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_KVSET && view.sequence == 0x0102030405060708ULL);
    ZMX_CHECK (view.key_size == 4 && memcmp (view.key, "/a/b", 4) == 0);
    ZMX_CHECK (view.uuid && memcmp (view.uuid, uuid, 16) == 0);
    ZMX_CHECK (view.properties_size == 6 && view.value_size == 5);
    //  The same frames read on a client's SUB are a KVPUB
    ZMX_CHECK (s_decode (msg, ZMX_CHP_CLIENT_UPDATES, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_KVPUB);
    //  Sequence is big-endian on the wire
    zframe_t *frame = zmsg_first (msg);
    frame = zmsg_next (msg);
    ZMX_CHECK (zframe_size (frame) == 8 && zframe_data (frame) [0] == 1
               && zframe_data (frame) [7] == 8);
    zmsg_destroy (&msg);

    //  KVSYNC is sent with empty uuid and properties, as the RFC lays out
    kvset.command = ZMX_CHP_KVSYNC;
    msg = zmx_chp_encode (&kvset);
    frame = zmsg_first (msg);
    frame = zmsg_next (msg);
    frame = zmsg_next (msg);
    ZMX_CHECK (zframe_size (frame) == 0 && zframe_size (zmsg_next (msg)) == 0);
    ZMX_CHECK (s_decode (msg, ZMX_CHP_CLIENT_SNAPSHOT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_KVSYNC && !view.uuid && view.value_size == 5);
    zmsg_destroy (&msg);

    zmx_chp_view_t kthxbai = { .command = ZMX_CHP_KTHXBAI, .sequence = 42,
                               .subtree = "/x/", .subtree_size = 3 };
    msg = zmx_chp_encode (&kthxbai);
    ZMX_CHECK (msg && zmsg_size (msg) == 5);
    ZMX_CHECK (s_decode (msg, ZMX_CHP_CLIENT_SNAPSHOT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_KTHXBAI && view.sequence == 42
               && view.subtree_size == 3);
    zmsg_destroy (&msg);

    zmx_chp_view_t hugz = { .command = ZMX_CHP_HUGZ, .sequence = 7 };
    msg = zmx_chp_encode (&hugz);
    ZMX_CHECK (s_decode (msg, ZMX_CHP_CLIENT_UPDATES, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_HUGZ && view.sequence == 7);
    zmsg_destroy (&msg);

    zmx_chp_view_t icanhaz = { .command = ZMX_CHP_ICANHAZ, .subtree = "", .subtree_size = 0 };
    msg = zmx_chp_encode (&icanhaz);
    ZMX_CHECK (msg && zmsg_size (msg) == 2);
    ZMX_CHECK (s_decode (msg, ZMX_CHP_SERVER_SNAPSHOT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_ICANHAZ && view.subtree_size == 0);
    zmsg_destroy (&msg);
}

//  Build a message from string frames ("\x01" style escapes welcome);
//  frame sizes are given so that embedded zeros survive.
static int
s_decode_raw (zmx_chp_side_t side, size_t count, const char **data, const size_t *sizes,
              const char **error)
{
    zmx_chp_frame_t frames [8];
    for (size_t index = 0; index < count; index++)
        frames [index] = (zmx_chp_frame_t) { data [index], sizes [index] };
    zmx_chp_view_t view;
    int rc = zmx_chp_decode (frames, count, side, &view, error);
    if (rc)
        ZMX_CHECK (view.command == 0 && view.key == NULL);
    return rc;
}

static void
s_refusals (void)
{
    const char *seq = "\0\0\0\0\0\0\0\1";
    const char *error;
    //  A valid KVSET for reference
    const char *ok [] = { "/k", seq, "", "", "v" };
    size_t ok_sizes [] = { 2, 8, 0, 0, 1 };
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 5, ok, ok_sizes, &error) == 0);
    //  Frame count
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 4, ok, ok_sizes, &error) == -1);
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 0, NULL, NULL, &error) == -1);
    //  Sequence width
    size_t short_seq [] = { 2, 7, 0, 0, 1 };
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 5, ok, short_seq, &error) == -1);
    ZMX_CHECK (strstr (error, "sequence"));
    //  UUID size
    const char *bad_uuid [] = { "/k", seq, "0123456789abcde", "", "v" };
    size_t bad_uuid_sizes [] = { 2, 8, 15, 0, 1 };
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 5, bad_uuid, bad_uuid_sizes, &error) == -1);
    ZMX_CHECK (strstr (error, "uuid"));
    //  Properties format
    const char *props [] = { "ttl=1", "=1\n", "ttl\n", "a=\x01\n", "a=1\nb" };
    for (size_t index = 0; index < 5; index++) {
        const char *frames [] = { "/k", seq, "", props [index], "v" };
        size_t sizes [] = { 2, 8, 0, strlen (props [index]), 1 };
        ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 5, frames, sizes, &error) == -1);
        ZMX_CHECK (strstr (error, "properties"));
    }
    //  Keys: empty, control characters, command words, too long
    char long_key [ZMX_CHP_KEY_MAX + 2];
    memset (long_key, 'k', sizeof long_key);
    const char *keys [] = { "", "a\nb", "HUGZ", "KTHXBAI", "ICANHAZ?", long_key };
    size_t key_sizes [] = { 0, 3, 4, 7, 8, ZMX_CHP_KEY_MAX + 1 };
    for (size_t index = 0; index < 6; index++) {
        const char *frames [] = { keys [index], seq, "", "", "v" };
        size_t sizes [] = { key_sizes [index], 8, 0, 0, 1 };
        ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_COLLECTOR, 5, frames, sizes, &error) == -1);
    }
    //  HUGZ must have empty frames 2-4; KTHXBAI a valid subtree
    const char *hugz [] = { "HUGZ", seq, "", "", "x" };
    size_t hugz_sizes [] = { 4, 8, 0, 0, 1 };
    ZMX_CHECK (s_decode_raw (ZMX_CHP_CLIENT_UPDATES, 5, hugz, hugz_sizes, &error) == -1);
    hugz_sizes [4] = 0;
    ZMX_CHECK (s_decode_raw (ZMX_CHP_CLIENT_UPDATES, 5, hugz, hugz_sizes, &error) == 0);
    const char *subtrees [] = { "/a", "a/", "//", "/a//b/", "/" };
    for (size_t index = 0; index < 5; index++) {
        const char *frames [] = { "KTHXBAI", seq, "", "", subtrees [index] };
        size_t sizes [] = { 7, 8, 0, 0, strlen (subtrees [index]) };
        ZMX_CHECK (s_decode_raw (ZMX_CHP_CLIENT_SNAPSHOT, 5, frames, sizes, &error) == -1);
        const char *icanhaz [] = { "ICANHAZ?", subtrees [index] };
        size_t icanhaz_sizes [] = { 8, strlen (subtrees [index]) };
        ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_SNAPSHOT, 2, icanhaz, icanhaz_sizes, &error) == -1);
    }
    const char *kthxbai [] = { "KTHXBAI", seq, "x", "", "" };
    size_t kthxbai_sizes [] = { 7, 8, 1, 0, 0 };
    ZMX_CHECK (s_decode_raw (ZMX_CHP_CLIENT_SNAPSHOT, 5, kthxbai, kthxbai_sizes, &error) == -1);
    //  ICANHAZ: word and count
    const char *icanhaz [] = { "ICANHAZ!", "" };
    size_t icanhaz_sizes [] = { 8, 0 };
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_SNAPSHOT, 2, icanhaz, icanhaz_sizes, &error) == -1);
    ZMX_CHECK (s_decode_raw (ZMX_CHP_SERVER_SNAPSHOT, 1, icanhaz, icanhaz_sizes, &error) == -1);
    //  The encoder refuses what the decoder would
    zmx_chp_view_t view = { .command = ZMX_CHP_KVPUB, .key = "HUGZ", .key_size = 4 };
    ZMX_CHECK (zmx_chp_encode (&view) == NULL);
    view = (zmx_chp_view_t) { .command = ZMX_CHP_ICANHAZ, .subtree = "/a", .subtree_size = 2 };
    ZMX_CHECK (zmx_chp_encode (&view) == NULL);
}

static void
s_fields (void)
{
    ZMX_CHECK (zmx_chp_subtree_valid ("", 0));
    ZMX_CHECK (zmx_chp_subtree_valid ("/a/", 3));
    ZMX_CHECK (zmx_chp_subtree_valid ("/a/bc/", 6));
    ZMX_CHECK (zmx_chp_in_subtree ("/a/b", 4, "/a/", 3));
    ZMX_CHECK (!zmx_chp_in_subtree ("/ab", 3, "/a/", 3));
    ZMX_CHECK (zmx_chp_in_subtree ("x", 1, "", 0));
    ZMX_CHECK (zmx_chp_properties_valid ("", 0));
    ZMX_CHECK (zmx_chp_properties_valid ("a=\nb=c d\n", 9));
    uint64_t ttl;
    ZMX_CHECK (zmx_chp_ttl (NULL, 0, &ttl) == 0 && ttl == 0);
    ZMX_CHECK (zmx_chp_ttl ("x=1\nttl=30\n", 11, &ttl) == 1 && ttl == 30);
    ZMX_CHECK (zmx_chp_ttl ("ttl=0\n", 6, &ttl) == -1);
    ZMX_CHECK (zmx_chp_ttl ("ttl=-1\n", 7, &ttl) == -1);
    ZMX_CHECK (zmx_chp_ttl ("ttl=1.5\n", 8, &ttl) == -1);
    ZMX_CHECK (zmx_chp_ttl ("ttl=99999999999\n", 16, &ttl) == -1);
    char value [4];
    ZMX_CHECK (zmx_chp_property ("name=abcdef\n", 12, "name", value, sizeof value) == 1);
    ZMX_CHECK_STR (value, "abc");
    ZMX_CHECK (zmx_chp_property ("name=abcdef\n", 12, "nam", value, sizeof value) == 0);
    ZMX_CHECK_STR (zmx_chp_command_name (ZMX_CHP_KVPUB), "KVPUB");
    ZMX_CHECK_STR (zmx_chp_command_name (99), "?");
}

//  zmx_chp_send and zmx_chp_recv over a real pair, including a message
//  with too many frames and one sent through a ROUTER.
static void
s_sockets (void)
{
    zsock_t *router = zsock_new_router ("inproc://chp-test");
    zsock_t *dealer = zsock_new_dealer ("inproc://chp-test");
    ZMX_CHECK (router && dealer);
    zmx_chp_view_t icanhaz = { .command = ZMX_CHP_ICANHAZ, .subtree = "/s/", .subtree_size = 3 };
    ZMX_CHECK (zmx_chp_send (zsock_resolve (dealer), NULL, &icanhaz, 0) == 0);
    zmx_chp_msg_t msg;
    ZMX_CHECK (zmx_chp_recv (&msg, zsock_resolve (router), 0) == 0);
    ZMX_CHECK (msg.count == 3);
    zmx_chp_view_t view;
    ZMX_CHECK (zmx_chp_decode_msg (&msg, 1, ZMX_CHP_SERVER_SNAPSHOT, &view, NULL) == 0);
    ZMX_CHECK (view.subtree_size == 3);
    //  Reply through the ROUTER with the identity
    zmx_chp_frame_t routing = { zmq_msg_data (&msg.frames [0]), zmq_msg_size (&msg.frames [0]) };
    zmx_chp_view_t kvsync = { .command = ZMX_CHP_KVSYNC, .key = "/s/1", .key_size = 4,
                              .sequence = 3, .value = (const byte *) "v", .value_size = 1 };
    ZMX_CHECK (zmx_chp_send (zsock_resolve (router), &routing, &kvsync, 0) == 0);
    zmx_chp_msg_close (&msg);
    zmx_chp_msg_close (&msg);   //  Twice is safe
    ZMX_CHECK (zmx_chp_recv (&msg, zsock_resolve (dealer), 0) == 0);
    ZMX_CHECK (zmx_chp_decode_msg (&msg, 0, ZMX_CHP_CLIENT_SNAPSHOT, &view, NULL) == 0);
    ZMX_CHECK (view.command == ZMX_CHP_KVSYNC && view.sequence == 3);
    zmx_chp_msg_close (&msg);
    //  Nine frames: read whole, refused
    zmsg_t *big = zmsg_new ();
    for (int index = 0; index < 9; index++)
        zmsg_addstr (big, "x");
    zmsg_send (&big, dealer);
    ZMX_CHECK (zmx_chp_recv (&msg, zsock_resolve (router), 0) == 0);
    ZMX_CHECK (msg.count == 10 && msg.kept == ZMX_CHP_FRAMES + 1);
    const char *error;
    ZMX_CHECK (zmx_chp_decode_msg (&msg, 1, ZMX_CHP_SERVER_SNAPSHOT, &view, &error) == -1);
    zmx_chp_msg_close (&msg);
    //  Nothing waiting: EAGAIN, nothing held
    ZMX_CHECK (zmx_chp_recv (&msg, zsock_resolve (router), ZMQ_DONTWAIT) == -1);
    ZMX_CHECK (errno == EAGAIN && msg.kept == 0);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "round_trip", s_round_trip, 10 },
        { "refusals", s_refusals, 10 },
        { "fields", s_fields, 10 },
        { "sockets", s_sockets, 10 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
