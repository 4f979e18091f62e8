/*  =========================================================================
    test_mdp - the MDP codec: every valid command of both versions, and
    every kind of invalid message (count, sizes, header, command, service).
    =========================================================================
*/
#include "testing.h"

//  Build a frame array from strings; "\x01"-style bytes are fine. A NULL
//  entry ends the list; use "" for an empty frame.
typedef struct {
    zmx_mdp_frame_t frames [ZMX_MDP_MAX_FRAMES + 4];
    size_t count;
} s_frames_t;

static s_frames_t
s_make (const char *first, ...)
{
    s_frames_t result;
    memset (&result, 0, sizeof result);
    va_list args;
    va_start (args, first);
    for (const char *text = first; text; text = va_arg (args, const char *)) {
        result.frames [result.count].data = text;
        //  A lone "\x01".."\x06" is a command byte; strlen handles it
        result.frames [result.count].size = strlen (text);
        result.count++;
    }
    va_end (args);
    return result;
}

static int
s_decode (s_frames_t frames, zmx_mdp_side_t side, zmx_mdp_view_t *view)
{
    return zmx_mdp_decode (frames.frames, frames.count, side, view);
}

static void
s_valid_v1 (void)
{
    zmx_mdp_view_t view;
    ZMX_CHECK (s_decode (s_make ("", "MDPC01", "echo", "hello", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_REQUEST && view.version == 1);
    ZMX_CHECK (view.service == 2 && view.body == 3);

    ZMX_CHECK (s_decode (s_make ("", "MDPC01", "echo", "a", "b", NULL), ZMX_MDP_AT_CLIENT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_REPLY && view.body == 3);

    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x01", "echo", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_READY && view.service == 3 && view.credit == 0);

    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x01", "echo", "250", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_READY && view.credit == 250);

    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x02", "\x01" "abc", "", "x", NULL), ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_REQUEST && view.address == 3 && view.body == 5);

    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x03", "\x01" "abc", "", "x", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_REPLY);

    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x04", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_HEARTBEAT);
    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x04", NULL), ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x05", NULL), ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_DISCONNECT);
}

static void
s_valid_v2 (void)
{
    zmx_mdp_view_t view;
    ZMX_CHECK (s_decode (s_make ("MDPC02", "\x01", "echo", "hi", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_REQUEST && view.version == 2 && view.service == 2);
    ZMX_CHECK (s_decode (s_make ("MDPC02", "\x02", "echo", "hi", NULL), ZMX_MDP_AT_CLIENT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_PARTIAL);
    ZMX_CHECK (s_decode (s_make ("MDPC02", "\x03", "echo", "hi", NULL), ZMX_MDP_AT_CLIENT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_FINAL);

    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x01", "echo", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_READY && view.version == 2);
    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x02", "\x02" "id", "", "b", NULL), ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_REQUEST && view.address == 2 && view.body == 4);
    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x03", "\x02" "id", "", "b", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_PARTIAL);
    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x04", "\x02" "id", "", "b", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_FINAL);
    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x05", NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_HEARTBEAT);
    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x06", NULL), ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_DISCONNECT);
}

//  Each of these must be refused with a reason, at the broker.
static void
s_invalid_at_broker (void)
{
    s_frames_t cases [] = {
        s_make ("", NULL),                                  //  no header
        s_make ("", "MDPX01", "echo", "x", NULL),           //  unknown header
        s_make ("MDPC01", "echo", "x", NULL),               //  0.1 header without empty frame
        s_make ("", "MDPC02", "\x01", "echo", "x", NULL),   //  0.2 header after empty frame
        s_make ("", "MDPC01", "echo", NULL),                //  request without body
        s_make ("", "MDPC01", NULL),                        //  request without service
        s_make ("", "MDPC01", "", "x", NULL),               //  empty service name
        s_make ("", "MDPC01", "bad\nname", "x", NULL),      //  unprintable service name
        s_make ("MDPC02", "\x02", "echo", "x", NULL),       //  PARTIAL sent to broker
        s_make ("MDPC02", "\x01\x01", "echo", "x", NULL),   //  two-byte command
        s_make ("MDPC02", "\x09", "echo", "x", NULL),       //  unknown client command
        s_make ("", "MDPW01", NULL),                        //  worker without command
        s_make ("", "MDPW01", "\x09", NULL),                //  unknown worker command
        s_make ("", "MDPW01", "\x01", NULL),                //  READY without service
        s_make ("", "MDPW01", "\x01", "echo", "0", NULL),   //  credit zero
        s_make ("", "MDPW01", "\x01", "echo", "-5", NULL),  //  credit not a number
        s_make ("", "MDPW01", "\x01", "echo", "100001", NULL),  //  credit too large
        s_make ("", "MDPW01", "\x01", "echo", "1", "2", NULL),  //  READY too long
        s_make ("", "MDPW01", "\x02", "\x01" "id", "", "x", NULL),  //  REQUEST sent to broker
        s_make ("", "MDPW01", "\x03", "\x01" "id", "x", NULL),      //  REPLY missing delimiter
        s_make ("", "MDPW01", "\x03", "\x01" "id", "nonempty", "x", NULL),  //  bad delimiter
        s_make ("", "MDPW01", "\x03", "", "", "x", NULL),   //  empty address
        s_make ("", "MDPW01", "\x03", "\x01" "id", "", NULL),   //  REPLY without body
        s_make ("", "MDPW01", "\x04", "extra", NULL),       //  HEARTBEAT with a frame
        s_make ("", "MDPW01", "\x05", "extra", NULL),       //  DISCONNECT with a frame
        s_make ("MDPW02", "\x02", "\x02" "id", "", "x", NULL),  //  0.2 REQUEST sent to broker
        s_make ("MDPW02", "\x05", "x", NULL),               //  0.2 HEARTBEAT with a frame
        s_make ("MDPW02", "\x07", NULL),                    //  0.2 unknown command
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (cases); index++) {
        zmx_mdp_view_t view;
        int rc = s_decode (cases [index], ZMX_MDP_AT_BROKER, &view);
        if (rc != -1 || view.command != ZMX_MDP_INVALID || !view.error) {
            fprintf (stderr, "    case %zu accepted\n", index);
            ZMX_CHECK (false);
        }
    }
}

//  Commands that are valid in themselves but not at this side.
static void
s_invalid_by_side (void)
{
    zmx_mdp_view_t view;
    ZMX_CHECK (s_decode (s_make ("", "MDPC01", "echo", "x", NULL), ZMX_MDP_AT_WORKER, &view) == -1);
    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x01", "echo", NULL), ZMX_MDP_AT_WORKER, &view) == -1);
    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x03", "\x01" "i", "", "x", NULL), ZMX_MDP_AT_WORKER, &view) == -1);
    ZMX_CHECK (s_decode (s_make ("", "MDPW01", "\x04", NULL), ZMX_MDP_AT_CLIENT, &view) == -1);
    ZMX_CHECK (s_decode (s_make ("MDPC02", "\x01", "echo", "x", NULL), ZMX_MDP_AT_CLIENT, &view) == -1);
}

static void
s_limits (void)
{
    zmx_mdp_view_t view;
    //  No frames at all, and a NULL array
    ZMX_CHECK (zmx_mdp_decode (NULL, 0, ZMX_MDP_AT_BROKER, &view) == -1);
    //  Too many frames
    zmx_mdp_frame_t many [ZMX_MDP_MAX_FRAMES + 1];
    many [0].data = "";
    many [0].size = 0;
    many [1].data = ZMX_MDPC01;
    many [1].size = 6;
    many [2].data = "echo";
    many [2].size = 4;
    for (size_t index = 3; index < ZMX_MDP_MAX_FRAMES + 1; index++) {
        many [index].data = "x";
        many [index].size = 1;
    }
    ZMX_CHECK (zmx_mdp_decode (many, ZMX_MDP_MAX_FRAMES, ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (zmx_mdp_decode (many, ZMX_MDP_MAX_FRAMES + 1, ZMX_MDP_AT_BROKER, &view) == -1);
    //  Service name length bounds
    char name [ZMX_MDP_MAX_SERVICE + 2];
    memset (name, 'a', sizeof name);
    ZMX_CHECK (zmx_mdp_service_valid (name, ZMX_MDP_MAX_SERVICE));
    ZMX_CHECK (!zmx_mdp_service_valid (name, ZMX_MDP_MAX_SERVICE + 1));
    ZMX_CHECK (!zmx_mdp_service_valid (name, 0));
    //  Address length bounds: 256 accepted, 257 refused
    char address [ZMX_MDP_MAX_ADDRESS + 1];
    memset (address, 'a', sizeof address);
    zmx_mdp_frame_t reply [] = {
        { "", 0 }, { ZMX_MDPW01, 6 }, { "\x03", 1 }, { address, ZMX_MDP_MAX_ADDRESS },
        { "", 0 }, { "x", 1 }
    };
    ZMX_CHECK (zmx_mdp_decode (reply, 6, ZMX_MDP_AT_BROKER, &view) == 0);
    reply [3].size = ZMX_MDP_MAX_ADDRESS + 1;
    ZMX_CHECK (zmx_mdp_decode (reply, 6, ZMX_MDP_AT_BROKER, &view) == -1);
}

//  What the encoders build, the decoder accepts with the same meaning.
static void
s_encode_round_trip (void)
{
    zmx_mdp_view_t view;
    for (int version = 1; version <= 2; version++) {
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, "body");
        zmx_mdp_wrap_client_request (msg, version, "echo");
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
        ZMX_CHECK (view.command == ZMX_MDP_CLIENT_REQUEST && view.version == version);
        zmsg_destroy (&msg);

        msg = zmsg_new ();      //  empty body travels as one empty frame
        zmx_mdp_wrap_client_request (msg, version, "echo");
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
        ZMX_CHECK (view.body + 1 == zmsg_size (msg));
        zmsg_destroy (&msg);

        msg = zmx_mdp_worker_ready (version, "echo", 0);
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
        ZMX_CHECK (view.command == ZMX_MDP_WORKER_READY && view.credit == 0);
        zmsg_destroy (&msg);
        msg = zmx_mdp_worker_ready (version, "echo", 64);
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
        ZMX_CHECK (view.credit == 64);
        zmsg_destroy (&msg);

        msg = zmx_mdp_worker_signal (version, ZMX_MDP_WORKER_HEARTBEAT);
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_WORKER, &view) == 0);
        ZMX_CHECK (view.command == ZMX_MDP_WORKER_HEARTBEAT);
        zmsg_destroy (&msg);

        zframe_t *address = zframe_new ("\x01" "abc", 4);
        msg = zmsg_new ();
        zmsg_addstr (msg, "reply");
        zmx_mdp_wrap_worker_reply (msg, version, ZMX_MDP_WORKER_FINAL, address);
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
        ZMX_CHECK (view.command == (version == 1? ZMX_MDP_WORKER_REPLY: ZMX_MDP_WORKER_FINAL));
        zframe_t *found = zmsg_first (msg);
        for (size_t index = 0; index < view.address; index++)
            found = zmsg_next (msg);
        ZMX_CHECK (zframe_eq (found, address));
        zframe_destroy (&address);
        zmsg_destroy (&msg);
    }
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "valid_v1", s_valid_v1, 10 },
        { "valid_v2", s_valid_v2, 10 },
        { "invalid_at_broker", s_invalid_at_broker, 10 },
        { "invalid_by_side", s_invalid_by_side, 10 },
        { "limits", s_limits, 10 },
        { "encode_round_trip", s_encode_round_trip, 10 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
