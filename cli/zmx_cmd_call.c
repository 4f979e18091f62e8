/*  =========================================================================
    zmx call - send one request to a service and print the reply

    Unless told to --queue, it first asks the broker (mmi.service) whether
    any worker serves the service: a request to a service without workers
    would otherwise sit in the broker's queue until the client times out,
    which looks like a dead broker. mmi.* requests go straight through.

    With --durable the request goes to Titanic (9/TSP) instead: stored by
    titanic.request, whose UUID is printed on stderr, then titanic.reply
    is polled until the reply is there or the time is up, and the reply is
    closed with titanic.close once printed. The check is then made for
    titanic.request, since the service itself may come later.
    =========================================================================
*/
#include "zmx_cli.h"

#define S_CONTINUE -1           //  s_parse: arguments fine, run the call
#define S_POLL_FIRST 50         //  --durable: first wait between polls, msec
#define S_POLL_MAX 1000         //  --durable: longest wait between polls
#define S_OPT_DURABLE 0x1000    //  Long-only option id, clear of zmx_cli.h's

typedef struct {
    zmx_cli_conn_t conn;        //  Broker and retry options
    bool hex;                   //  --hex: print frames as hex
    bool wait;                  //  --queue (or --wait): skip the mmi.service check
    bool durable;               //  --durable: through Titanic (9/TSP)
    const char *service;        //  Service to call
    char **frames;              //  Request frames, from the command line
    int frame_count;            //  Number of request frames
    zmsg_t *body;               //  The frames as sent: FILE and stdin read
} s_call_t;

void
zmx_cli_call_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx call [-b ENDPOINT] [-t TIMEOUT_MS] [-r RETRIES] [--hex] [--queue]\n"
        "                [--durable] [--packed] [--curve-cert FILE --server-key KEY|FILE]\n"
        "                SERVICE [FRAME...]\n"
        "\n"
        "Send one request (one frame per FRAME argument) to SERVICE through the\n"
        "broker and print the reply, one frame per line. A FRAME of - is all of\n"
        "stdin, @FILE is the contents of FILE, @@TEXT is the text @TEXT.\n"
        "\n"
        "  -b, --broker ENDPOINT  broker (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]     the zmxd to use, its ports at BASE + their\n"
        "                         offsets (default $ZMX_ZMXD); -b wins\n"
        "  -t, --timeout MS       wait per attempt (default %d)\n"
        "  -r, --retries N        attempts after the first (default %d)\n"
        "  --hex                  print reply frames in hexadecimal\n"
        "  --queue                queue the request even if no worker serves\n"
        "                         SERVICE yet (skips the mmi.service check)\n"
        "  --wait                 old name of --queue, kept as an alias\n"
        "  --durable              store the request with Titanic (9/TSP) first;\n"
        "                         prints its UUID on stderr and waits up to\n"
        "                         TIMEOUT_MS x (RETRIES + 1) for the reply\n"
        "  --packed               speak zmx packed MDP: fewer frames per request;\n"
        "                         zmx brokers only (docs/PROTOCOLS.md)\n"
        "  --curve-cert FILE      use CURVE with this client certificate\n"
        "  --server-key KEY|FILE  the broker's public key or certificate file\n"
        "\n"
        "Options go before SERVICE. Exit codes: 0 ok, 1 error, 2 usage,\n"
        "3 no reply, 4 no worker for SERVICE, 5 bad key or certificate,\n"
        "6 the broker's host name does not resolve.\n",
        ZMX_CLI_ENV_BROKER, ZMX_BROKER_DEFAULT_ENDPOINT, ZMX_CLI_TIMEOUT, ZMX_CLI_RETRIES);
}

static int
s_parse (int argc, char *argv [], s_call_t *call)
{
    static const struct option longopts [] = {
        { "broker", required_argument, NULL, 'b' },
        { "timeout", required_argument, NULL, 't' },
        { "retries", required_argument, NULL, 'r' },
        { "hex", no_argument, NULL, ZMX_CLI_OPT_HEX },
        { "queue", no_argument, NULL, ZMX_CLI_OPT_QUEUE },
        { "wait", no_argument, NULL, ZMX_CLI_OPT_WAIT },     //  Old name of --queue
        { "durable", no_argument, NULL, S_OPT_DURABLE },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "packed", no_argument, NULL, ZMX_CLI_OPT_PACKED },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option;
    //  "+": stop at SERVICE, so that frames may start with '-'
    while ((option = getopt_long (argc, argv, "+b:t:r:h", longopts, NULL)) != -1) {
        int shared = zmx_cli_conn_option (&call->conn, option, optarg);
        if (shared < 0)
            return ZMX_EXIT_USAGE;
        if (shared > 0)
            continue;
        if (option == ZMX_CLI_OPT_HEX)
            call->hex = true;
        else
        if (option == ZMX_CLI_OPT_QUEUE || option == ZMX_CLI_OPT_WAIT)
            call->wait = true;
        else
        if (option == S_OPT_DURABLE)
            call->durable = true;
        else
        if (option == ZMX_CLI_OPT_HELP) {
            zmx_cli_call_usage (stdout);
            return ZMX_EXIT_OK;
        }
        else {
            zmx_cli_call_usage (stderr);
            return ZMX_EXIT_USAGE;
        }
    }
    if (optind >= argc)
        return zmx_cli_usage_error (zmx_cli_call_usage, "call needs a SERVICE");
    if (zmx_cli_conn_check (&call->conn))
        return ZMX_EXIT_USAGE;
    call->service = argv [optind];
    if (!zmx_mdp_service_valid (call->service, strlen (call->service)))
        return zmx_cli_usage_error (zmx_cli_call_usage, "bad service name '%s': use 1 to %d "
                                    "printable characters", call->service, ZMX_MDP_MAX_SERVICE);
    call->frames = argv + optind + 1;
    call->frame_count = argc - optind - 1;
    return S_CONTINUE;
}

//  All of `file` as one chunk (caller destroys), or NULL on a read error.
static zchunk_t *
s_read_all (FILE *file)
{
    zchunk_t *chunk = zchunk_new (NULL, 0);
    char buffer [65536];
    size_t got;
    while ((got = fread (buffer, 1, sizeof buffer, file)) > 0)
        zchunk_extend (chunk, buffer, got);
    if (ferror (file))
        zchunk_destroy (&chunk);
    return chunk;
}

//  Add the frame an argument stands for: - is stdin (once), @FILE the
//  file's contents, @@TEXT the text @TEXT, anything else itself. Returns
//  0, or an exit code with the problem printed.
static int
s_add_frame (zmsg_t *body, const char *arg, bool *stdin_used)
{
    if (arg [0] != '@' && !streq (arg, "-")) {
        zmsg_addstr (body, arg);
        return ZMX_EXIT_OK;
    }
    if (arg [0] == '@' && arg [1] == '@') {
        zmsg_addstr (body, arg + 1);
        return ZMX_EXIT_OK;
    }
    bool from_stdin = streq (arg, "-");
    if (from_stdin && *stdin_used)
        return zmx_cli_usage_error (zmx_cli_call_usage, "only one FRAME can be - (stdin)");
    *stdin_used |= from_stdin;
    FILE *file = from_stdin? stdin: fopen (arg + 1, "rb");
    zchunk_t *chunk = file? s_read_all (file): NULL;
    int error = errno;
    if (file && !from_stdin)
        fclose (file);
    if (!chunk)
        return zmx_cli_usage_error (zmx_cli_call_usage, "cannot read %s: %s (a frame that "
                                    "starts with @ is written @@)", from_stdin? "stdin": arg + 1,
                                    strerror (error));
    zmsg_addmem (body, zchunk_data (chunk), zchunk_size (chunk));
    zchunk_destroy (&chunk);
    return ZMX_EXIT_OK;
}

//  Build call->body from the FRAME arguments. Returns 0 or an exit code.
static int
s_load_body (s_call_t *call)
{
    call->body = zmsg_new ();
    bool stdin_used = false;
    int rc = ZMX_EXIT_OK;
    for (int index = 0; index < call->frame_count && rc == ZMX_EXIT_OK; index++)
        rc = s_add_frame (call->body, call->frames [index], &stdin_used);
    //  Sent all the same (a broker may allow more), but a timeout would
    //  otherwise look like a dead broker
    for (zframe_t *frame = zmsg_first (call->body); frame && rc == ZMX_EXIT_OK;
         frame = zmsg_next (call->body))
        if (zframe_size (frame) > ZMX_BROKER_MAX_FRAME_SIZE)
            fprintf (stderr, "zmx: a frame of %zu bytes is over a default broker's "
                             "max-frame-size (%d): such a broker drops the connection, and "
                             "the call times out\n", zframe_size (frame),
                     ZMX_BROKER_MAX_FRAME_SIZE);
    return rc;
}

//  Ask mmi.service whether `service` has a worker. Returns ZMX_EXIT_OK to
//  go on, or the exit code to stop with (message printed).
static int
s_check_service (zmx_client_t *client, s_call_t *call, const char *service)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, service);
    zmsg_t *reply = zmx_client_request (client, "mmi.service", &request);
    if (!reply)
        return zmx_cli_request_failed (client, &call->conn);
    char *status = zmsg_popstr (reply);
    int rc = ZMX_EXIT_OK;
    if (status && streq (status, "404")) {
        if (call->durable)
            fprintf (stderr, "zmx: no Titanic service at %s; enable the titanic section "
                             "of zmxd's config, or call without --durable\n",
                     call->conn.endpoint);
        else
            fprintf (stderr, "zmx: no worker serves '%s' at %s; start one (e.g. zmx worker "
                             "%s --echo) or pass --queue to queue the request\n",
                     service, call->conn.endpoint, service);
        rc = ZMX_EXIT_NOSERVICE;
    }
    free (status);
    zmsg_destroy (&reply);
    return rc;
}

//  True if `reply` is a zmx error reply (ZMX_WORKER_ERROR, reason): the
//  worker could not answer. Says why on stderr.
static bool
s_reply_failed (zmsg_t *reply, const char *service)
{
    zframe_t *first = zmsg_first (reply);
    if (zmsg_size (reply) != 2 || !zframe_streq (first, ZMX_WORKER_ERROR))
        return false;
    char *reason = zframe_strdup (zmsg_next (reply));
    fprintf (stderr, "zmx: the worker of '%s' could not answer: %s\n", service, reason);
    free (reason);
    return true;
}

static void
s_print_reply (zmsg_t *reply, bool hex)
{
    for (zframe_t *frame = zmsg_first (reply); frame; frame = zmsg_next (reply)) {
        if (hex) {
            char *text = zframe_strhex (frame);
            printf ("%s\n", text);
            free (text);
        }
        else {
            fwrite (zframe_data (frame), 1, zframe_size (frame), stdout);
            putchar ('\n');
        }
    }
    fflush (stdout);
}

//  Ask Titanic for the reply to `uuid`: 1 and *reply_p set if it is there,
//  0 if still pending (300), or minus an exit code (message printed) to
//  stop with: 400 (unknown), 500 (the stored reply cannot be read) and any
//  other status are failures.
static int
s_durable_poll (zmx_client_t *client, s_call_t *call, const char *uuid, zmsg_t **reply_p)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, uuid);
    zmsg_t *reply = zmx_client_request (client, ZMX_TITANIC_REPLY, &request);
    if (!reply)
        return -zmx_cli_request_failed (client, &call->conn);
    char *status = zmsg_popstr (reply);
    int rc = 0;
    if (status && strncmp (status, ZMX_TITANIC_OK, 3) == 0) {
        *reply_p = reply;
        reply = NULL;
        rc = 1;
    }
    else
    if (status && strncmp (status, ZMX_TITANIC_UNKNOWN, 3) == 0) {
        fprintf (stderr, "zmx: Titanic does not know request %s (closed or expired)\n", uuid);
        rc = -ZMX_EXIT_ERROR;
    }
    else
    if (status && strncmp (status, ZMX_TITANIC_ERROR, 3) == 0) {
        fprintf (stderr, "zmx: Titanic cannot give the reply to %s (status 500: its stored "
                         "reply cannot be read; see zmxd's log)\n", uuid);
        rc = -ZMX_EXIT_ERROR;
    }
    else
    if (!status || strncmp (status, ZMX_TITANIC_PENDING, 3) != 0) {
        fprintf (stderr, "zmx: unexpected titanic.reply status '%s' for %s\n",
                 status? status: "(none)", uuid);
        rc = -ZMX_EXIT_ERROR;
    }
    free (status);
    zmsg_destroy (&reply);
    return rc;
}

//  Store the request with titanic.request; returns its UUID (caller frees)
//  or NULL with *exit_p set and the problem printed.
static char *
s_durable_submit (zmx_client_t *client, s_call_t *call, int *exit_p)
{
    zmsg_t *request = zmsg_dup (call->body);
    zmsg_pushstr (request, call->service);
    if (zmsg_size (request) == 1)
        zmsg_addstr (request, "");      //  TSP and MDP need a body frame
    zmsg_t *reply = zmx_client_request (client, ZMX_TITANIC_REQUEST, &request);
    if (!reply) {
        *exit_p = zmx_cli_request_failed (client, &call->conn);
        return NULL;
    }
    char *status = zmsg_popstr (reply);
    char *uuid = zmsg_popstr (reply);
    zmsg_destroy (&reply);
    if (!status || strncmp (status, ZMX_TITANIC_OK, 3) != 0
    ||  !uuid || strlen (uuid) != ZMX_TITANIC_UUID_SIZE) {
        fprintf (stderr, "zmx: Titanic did not store the request (status %s)%s\n",
                 status? status: "none", status && strncmp (status, ZMX_TITANIC_ERROR, 3) == 0
                 ? ": it is full or cannot write; try again later": "");
        zstr_free (&uuid);
        *exit_p = ZMX_EXIT_ERROR;
    }
    free (status);
    return uuid;
}

static void
s_durable_close (zmx_client_t *client, const char *uuid)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, uuid);
    zmsg_t *reply = zmx_client_request (client, ZMX_TITANIC_CLOSE, &request);
    zmsg_destroy (&reply);
}

//  --durable: store, print the UUID, poll for the reply until the time is
//  up, print it and close it.
static int
s_call_durable (zmx_client_t *client, s_call_t *call)
{
    int rc = ZMX_EXIT_OK;
    char *uuid = s_durable_submit (client, call, &rc);
    if (!uuid)
        return rc;
    fprintf (stderr, "zmx: stored as %s\n", uuid);
    int64_t deadline = zclock_mono () + (int64_t) call->conn.timeout * (call->conn.retries + 1);
    int pause = S_POLL_FIRST;
    zmsg_t *reply = NULL;
    while (true) {
        int got = s_durable_poll (client, call, uuid, &reply);
        if (got != 0) {
            rc = got > 0? ZMX_EXIT_OK: -got;
            break;
        }
        int64_t left = deadline - zclock_mono ();
        if (left <= 0 || zsys_interrupted) {
            fprintf (stderr, "zmx: no reply for %s yet; it stays stored (ask titanic.reply "
                             "later, then titanic.close)\n", uuid);
            rc = ZMX_EXIT_TIMEOUT;
            break;
        }
        zclock_sleep (pause < left? pause: (int) left);
        pause = pause * 2 > S_POLL_MAX? S_POLL_MAX: pause * 2;
    }
    if (reply && s_reply_failed (reply, call->service))
        rc = ZMX_EXIT_ERROR;
    else
    if (reply)
        s_print_reply (reply, call->hex);
    if (reply)
        s_durable_close (client, uuid);
    zmsg_destroy (&reply);
    free (uuid);
    return rc;
}

static int
s_call_plain (zmx_client_t *client, s_call_t *call)
{
    zmsg_t *request = call->body;
    call->body = NULL;
    zmsg_t *reply = zmx_client_request (client, call->service, &request);
    int rc = ZMX_EXIT_OK;
    if (reply && s_reply_failed (reply, call->service))
        rc = ZMX_EXIT_ERROR;
    else
    if (reply)
        s_print_reply (reply, call->hex);
    else
        rc = zmx_cli_request_failed (client, &call->conn);
    zmsg_destroy (&reply);
    return rc;
}

int
zmx_cli_call (int argc, char *argv [])
{
    s_call_t call = { .hex = false };
    zmx_cli_conn_init (&call.conn);
    int rc = s_parse (argc, argv, &call);
    if (rc != S_CONTINUE)
        return rc;
    rc = s_load_body (&call);
    zmx_client_t *client = rc == ZMX_EXIT_OK? zmx_cli_client_new (&call.conn, &rc): NULL;
    if (!client) {
        zmsg_destroy (&call.body);
        return rc;
    }
    if (call.durable && !call.wait)
        rc = s_check_service (client, &call, ZMX_TITANIC_REQUEST);
    else
    if (!call.wait && strncmp (call.service, "mmi.", 4) != 0)
        rc = s_check_service (client, &call, call.service);
    if (rc == ZMX_EXIT_OK)
        rc = call.durable? s_call_durable (client, &call): s_call_plain (client, &call);
    zmsg_destroy (&call.body);
    zmx_client_destroy (&client);
    return rc;
}
