/*  =========================================================================
    test_mdp - the MDP codec: every valid command of both versions and of
    zmx packed MDP, and every kind of invalid message (count, sizes,
    header, command, service; packed: header size, flags, lengths past the
    frame, wrong side).
    =========================================================================
*/
#include "testing.h"
#include "reqrep/zmx_reqrep_internal.h"

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

//  -------------------------------------------------------------------------
//  Packed MDP. Headers hold NUL bytes, so frames are (literal, size).

#define S_LIT(text) text, sizeof (text) - 1

//  A packed header frame then up to three body frames (NULL ends them).
static s_frames_t
s_packed (const char *header, size_t size, const char *body1, const char *body2,
          const char *body3)
{
    s_frames_t result;
    memset (&result, 0, sizeof result);
    result.frames [0].data = header;
    result.frames [0].size = size;
    result.count = 1;
    const char *bodies [] = { body1, body2, body3 };
    for (size_t index = 0; index < 3 && bodies [index]; index++) {
        result.frames [result.count].data = bodies [index];
        result.frames [result.count].size = strlen (bodies [index]);
        result.count++;
    }
    return result;
}

static void
s_valid_packed (void)
{
    zmx_mdp_view_t view;
    //  Client REQUEST, body inline
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXC01\x01\x01\x04" "echohello"), NULL, NULL, NULL),
                         ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_REQUEST && view.version == ZMX_MDP_PACKED);
    ZMX_CHECK (view.service == 0 && view.service_offset == 9 && view.service_size == 4);
    ZMX_CHECK (view.inline_body && view.inline_offset == 13 && view.inline_size == 5);
    ZMX_CHECK (view.body == 1);
    //  ... with an empty inline body and more body frames after it
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXC01\x01\x01\x04" "echo"), "b", "c", NULL),
                         ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.inline_body && view.inline_size == 0 && view.body == 1);
    //  ... and without INLINE: the body is the frames after the header
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXC01\x01\x00\x04" "echo"), "big", NULL, NULL),
                         ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (!view.inline_body && view.body == 1);
    //  PARTIAL and FINAL at the client
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXC01\x02\x01\x04" "echop"), NULL, NULL, NULL),
                         ZMX_MDP_AT_CLIENT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_PARTIAL && view.inline_size == 1);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXC01\x03\x00\x04" "echo"), "f", NULL, NULL),
                         ZMX_MDP_AT_CLIENT, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_CLIENT_FINAL && !view.inline_body);
    //  Worker READY with and without credit
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x01\x00\x04" "echo\x00\x00\x03\xe8"), NULL,
                                   NULL, NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_READY && view.credit == 1000);
    ZMX_CHECK (view.service_offset == 9 && view.service_size == 4 && view.body == 1);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x01\x00\x01" "e\x00\x00\x00\x00"), NULL,
                                   NULL, NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.credit == 0);
    //  REQUEST at the worker, PARTIAL and FINAL at the broker
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x02\x01\x00\x03" "\x04" "idhi"), NULL, NULL,
                                   NULL), ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_REQUEST && view.address == 0);
    ZMX_CHECK (view.address_offset == 10 && view.address_size == 3);
    ZMX_CHECK (view.inline_offset == 13 && view.inline_size == 2);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x03\x01\x00\x03" "\x04" "id"), NULL, NULL,
                                   NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_PARTIAL);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x04\x00\x00\x03" "\x04" "id"), "x", "y",
                                   NULL), ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_FINAL && !view.inline_body && view.body == 1);
    //  HEARTBEAT both ways, DISCONNECT both ways
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x05\x00"), NULL, NULL, NULL),
                         ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_HEARTBEAT);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x05\x00"), NULL, NULL, NULL),
                         ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x06\x00"), NULL, NULL, NULL),
                         ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_DISCONNECT);
    ZMX_CHECK (s_decode (s_packed (S_LIT ("ZMXW01\x06\x00"), NULL, NULL, NULL),
                         ZMX_MDP_AT_BROKER, &view) == 0);
    //  The byte ranges are filled for 0.1 and 0.2 too
    ZMX_CHECK (s_decode (s_make ("MDPW02", "\x04", "\x02" "id", "", "b", NULL), ZMX_MDP_AT_BROKER,
                         &view) == 0);
    ZMX_CHECK (view.address == 2 && view.address_offset == 0 && view.address_size == 3);
    ZMX_CHECK (!view.inline_body);
}

//  Each is refused with a reason at the side given.
static void
s_invalid_packed (void)
{
    typedef struct {
        s_frames_t frames;
        zmx_mdp_side_t side;
    } s_case_t;
    char long_address [ZMX_PACKED_FIXED + 2 + ZMX_MDP_MAX_ADDRESS + 1];
    memcpy (long_address, "ZMXW01\x04\x01\x01\x01", 10);     //  257 bytes
    memset (long_address + 10, 'a', sizeof long_address - 10);
    s_case_t cases [] = {
        //  short header
        { s_packed (S_LIT ("ZMXC01"), "x", NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXC01\x01"), "x", NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x05"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        //  bad flags
        { s_packed (S_LIT ("ZMXC01\x01\x02\x04" "echo"), "x", NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXC01\x01\x81\x04" "echo"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x05\x01"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x01\x01\x04" "echo\x00\x00\x00\x01"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        //  lengths past the frame
        { s_packed (S_LIT ("ZMXC01\x01\x01\x05" "echo"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXC01\x01\x01"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x04\x01\x00\x09" "\x04" "id"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x04\x01\x00"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (long_address, sizeof long_address, NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x01\x00\x04" "echo\x00\x00"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        //  fields that do not fill the frame exactly
        { s_packed (S_LIT ("ZMXC01\x01\x00\x04" "echoX"), "x", NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x01\x00\x04" "echo\x00\x00\x00\x01X"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x05\x00X"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        //  empty, unprintable, missing service
        { s_packed (S_LIT ("ZMXC01\x01\x01\x00"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXC01\x01\x01\x02" "a\n"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x01\x00\x02" "\x7f" "a\x00\x00\x00\x01"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        //  empty address
        { s_packed (S_LIT ("ZMXW01\x04\x01\x00\x00"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        //  no body: neither INLINE nor a frame
        { s_packed (S_LIT ("ZMXC01\x01\x00\x04" "echo"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x04\x00\x00\x01" "\x04"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        //  frames after commands that take none
        { s_packed (S_LIT ("ZMXW01\x05\x00"), "x", NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x01\x00\x01" "e\x00\x00\x00\x01"), "x", NULL, NULL),
          ZMX_MDP_AT_BROKER },
        //  credit too large (100001)
        { s_packed (S_LIT ("ZMXW01\x01\x00\x01" "e\x00\x01\x86\xa1"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        //  unknown commands
        { s_packed (S_LIT ("ZMXC01\x04\x01\x01" "e"), NULL, NULL, NULL), ZMX_MDP_AT_CLIENT },
        { s_packed (S_LIT ("ZMXW01\x00\x00"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x07\x00"), NULL, NULL, NULL), ZMX_MDP_AT_WORKER },
        //  wrong side
        { s_packed (S_LIT ("ZMXC01\x01\x01\x01" "e"), NULL, NULL, NULL), ZMX_MDP_AT_CLIENT },
        { s_packed (S_LIT ("ZMXC01\x01\x01\x01" "e"), NULL, NULL, NULL), ZMX_MDP_AT_WORKER },
        { s_packed (S_LIT ("ZMXC01\x03\x01\x01" "e"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXC01\x02\x01\x01" "e"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x01\x00\x01" "e\x00\x00\x00\x01"), NULL, NULL, NULL),
          ZMX_MDP_AT_WORKER },
        { s_packed (S_LIT ("ZMXW01\x02\x01\x00\x01" "\x04"), NULL, NULL, NULL),
          ZMX_MDP_AT_BROKER },
        { s_packed (S_LIT ("ZMXW01\x04\x01\x00\x01" "\x04"), NULL, NULL, NULL),
          ZMX_MDP_AT_WORKER },
        { s_packed (S_LIT ("ZMXW01\x05\x00"), NULL, NULL, NULL), ZMX_MDP_AT_CLIENT },
        //  a misspelt id is not packed, and not 0.2 either
        { s_packed (S_LIT ("ZMXC02\x01\x01\x01" "e"), NULL, NULL, NULL), ZMX_MDP_AT_BROKER },
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (cases); index++) {
        zmx_mdp_view_t view;
        int rc = s_decode (cases [index].frames, cases [index].side, &view);
        if (rc != -1 || view.command != ZMX_MDP_INVALID || !view.error) {
            fprintf (stderr, "    case %zu accepted\n", index);
            ZMX_CHECK (false);
        }
    }
}

//  Too many frames: 64 in all is the limit, as for the other versions.
static void
s_packed_limits (void)
{
    zmx_mdp_frame_t many [ZMX_MDP_MAX_FRAMES + 1];
    many [0].data = "ZMXC01\x01\x00\x04" "echo";
    many [0].size = 13;
    for (size_t index = 1; index < ZMX_MDP_MAX_FRAMES + 1; index++) {
        many [index].data = "x";
        many [index].size = 1;
    }
    zmx_mdp_view_t view;
    ZMX_CHECK (zmx_mdp_decode (many, ZMX_MDP_MAX_FRAMES, ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (zmx_mdp_decode (many, ZMX_MDP_MAX_FRAMES + 1, ZMX_MDP_AT_BROKER, &view) == -1);
}

//  The packed encoders: what they write decodes to what was asked, and a
//  body frame 0 is inlined exactly up to ZMX_PACKED_INLINE_MAX bytes.
static void
s_encode_packed (void)
{
    zmx_mdp_view_t view;
    uint8_t buffer [ZMX_PACKED_HEAD_MAX];
    size_t size = zmx_mdp_packed_write (buffer, ZMX_MDP_WORKER_READY, false, "echo", 4, 250);
    ZMX_CHECK (size == zmx_mdp_packed_size (ZMX_MDP_WORKER_READY, 4, 0) && size == 17);
    ZMX_CHECK (memcmp (buffer, "ZMXW01\x01\x00\x04" "echo\x00\x00\x00\xfa", 17) == 0);
    size = zmx_mdp_packed_write (buffer, ZMX_MDP_WORKER_HEARTBEAT, false, NULL, 0, 0);
    ZMX_CHECK (size == 8 && memcmp (buffer, "ZMXW01\x05\x00", 8) == 0);
    size = zmx_mdp_packed_write (buffer, ZMX_MDP_CLIENT_REPLY, true, "echo", 4, 0);
    ZMX_CHECK (size == 13 && memcmp (buffer, "ZMXC01\x03\x01\x04" "echo", 13) == 0);
    size = zmx_mdp_packed_write (buffer, ZMX_MDP_WORKER_REQUEST, true, "\x04" "id", 3, 0);
    ZMX_CHECK (size == 13 && memcmp (buffer, "ZMXW01\x02\x01\x00\x03\x04" "id", 13) == 0);

    size_t sizes [] = { 0, 16, ZMX_PACKED_INLINE_MAX, ZMX_PACKED_INLINE_MAX + 1 };
    for (size_t index = 0; index < 4; index++) {
        zmsg_t *msg = zmsg_new ();
        zframe_t *frame = zframe_new (NULL, sizes [index]);
        memset (zframe_data (frame), 'x', sizes [index]);
        zmsg_append (msg, &frame);
        zmsg_addstr (msg, "second");
        zmx_mdp_wrap_client_request (msg, ZMX_MDP_PACKED, "echo");
        ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
        ZMX_CHECK (view.command == ZMX_MDP_CLIENT_REQUEST && view.version == ZMX_MDP_PACKED);
        bool small = sizes [index] <= ZMX_PACKED_INLINE_MAX;
        ZMX_CHECK (view.inline_body == small);
        ZMX_CHECK (zmsg_size (msg) == (small? 2u: 3u));
        if (small)
            ZMX_CHECK (view.inline_size == sizes [index]);
        zmsg_destroy (&msg);
    }
    zmsg_t *msg = zmsg_new ();      //  empty body: an empty inline body
    zmx_mdp_wrap_client_request (msg, ZMX_MDP_PACKED, "echo");
    ZMX_CHECK (zmsg_size (msg) == 1);
    ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.inline_body && view.inline_size == 0);
    zmsg_destroy (&msg);

    msg = zmx_mdp_worker_ready (ZMX_MDP_PACKED, "echo", 64);
    ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_READY && view.credit == 64);
    zmsg_destroy (&msg);
    msg = zmx_mdp_worker_signal (ZMX_MDP_PACKED, ZMX_MDP_WORKER_DISCONNECT);
    ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_WORKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_DISCONNECT);
    zmsg_destroy (&msg);
    zframe_t *address = zframe_new ("\x04" "abc", 4);
    msg = zmsg_new ();
    zmsg_addstr (msg, "reply");
    zmx_mdp_wrap_worker_reply (msg, ZMX_MDP_PACKED, ZMX_MDP_WORKER_PARTIAL, address);
    ZMX_CHECK (zmsg_size (msg) == 1);
    ZMX_CHECK (zmx_mdp_decode_msg (msg, ZMX_MDP_AT_BROKER, &view) == 0);
    ZMX_CHECK (view.command == ZMX_MDP_WORKER_PARTIAL && view.address_size == 4);
    ZMX_CHECK (memcmp (zframe_data (zmsg_first (msg)) + view.address_offset, "\x04" "abc", 4) == 0);
    ZMX_CHECK (view.inline_size == 5);
    zframe_destroy (&address);
    zmsg_destroy (&msg);
}

//  The client's and worker's receive keeps at most one frame more than a
//  valid message has: a peer that sends 100,000 frames in one message
//  costs a count, not a list of 100,000 frames; decoding refuses it.
static void
s_receive_bounded (void)
{
    zsock_t *sink = zsock_new_pair ("@inproc://test-mdp-bounded");
    zsock_t *source = zsock_new_pair (">inproc://test-mdp-bounded");
    ZMX_CHECK (sink && source);
    size_t sent = 100000;
    zstr_sendm (source, "");
    zstr_sendm (source, ZMX_MDPC01);
    zstr_sendm (source, "echo");
    for (size_t index = 3; index < sent; index++)
        zmq_send (zsock_resolve (source), "x", 1, index + 1 < sent? ZMQ_SNDMORE: 0);
    zmx__frames_t frames;
    ZMX_CHECK (zmx__frames_recv (&frames, sink, 3, 0) == 0);
    ZMX_CHECK (frames.head_count == 3 && zmsg_size (frames.tail) == ZMX_MDP_MAX_FRAMES - 2);
    ZMX_CHECK (frames.discarded == sent - ZMX_MDP_MAX_FRAMES - 1);
    ZMX_CHECK (zmx__frames_count (&frames) == sent);
    zmx_mdp_view_t view;
    ZMX_CHECK (zmx__frames_decode (&frames, ZMX_MDP_AT_CLIENT, &view) == -1);
    ZMX_CHECK_STR (view.error, "too many frames");
    zmx__frames_close (&frames);
    //  The next message is received whole, as usual
    zstr_sendx (source, "", ZMX_MDPC01, "echo", "hi", NULL);
    ZMX_CHECK (zmx__frames_recv (&frames, sink, 3, 0) == 0);
    ZMX_CHECK (frames.discarded == 0 && zmx__frames_count (&frames) == 4);
    ZMX_CHECK (zmx__frames_decode (&frames, ZMX_MDP_AT_CLIENT, &view) == 0);
    zmx__frames_close (&frames);
    zsock_destroy (&source);
    zsock_destroy (&sink);
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
        { "valid_packed", s_valid_packed, 10 },
        { "invalid_packed", s_invalid_packed, 10 },
        { "packed_limits", s_packed_limits, 10 },
        { "encode_packed", s_encode_packed, 10 },
        { "receive_bounded", s_receive_bounded, 10 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
