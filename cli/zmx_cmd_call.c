/*  =========================================================================
    zmx call - send one request to a service and print the reply

    Unless told to --wait, it first asks the broker (mmi.service) whether
    any worker serves the service: a request to a service without workers
    would otherwise sit in the broker's queue until the client times out,
    which looks like a dead broker. mmi.* requests go straight through.
    =========================================================================
*/
#include "zmx_cli.h"

#define S_CONTINUE -1           //  s_parse: arguments fine, run the call

typedef struct {
    zmx_cli_conn_t conn;        //  Broker and retry options
    bool hex;                   //  --hex: print frames as hex
    bool wait;                  //  --wait: skip the mmi.service check
    const char *service;        //  Service to call
    char **frames;              //  Request frames, from the command line
    int frame_count;            //  Number of request frames
} s_call_t;

void
zmx_cli_call_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx call [-b ENDPOINT] [-t TIMEOUT_MS] [-r RETRIES] [--hex] [--wait]\n"
        "                [--curve-cert FILE --server-key KEY|FILE] SERVICE [FRAME...]\n"
        "\n"
        "Send one request (one frame per FRAME argument) to SERVICE through the\n"
        "broker and print the reply, one frame per line.\n"
        "\n"
        "  -b, --broker ENDPOINT  broker (default $%s or %s)\n"
        "  -t, --timeout MS       wait per attempt (default %d)\n"
        "  -r, --retries N        attempts after the first (default %d)\n"
        "  --hex                  print reply frames in hexadecimal\n"
        "  --wait                 queue the request even if no worker serves\n"
        "                         SERVICE yet (skips the mmi.service check)\n"
        "  --curve-cert FILE      use CURVE with this client certificate\n"
        "  --server-key KEY|FILE  the broker's public key or certificate file\n"
        "\n"
        "Options go before SERVICE. Exit codes: 0 ok, 1 error, 2 usage,\n"
        "3 no reply, 4 no worker for SERVICE, 5 bad key or certificate.\n",
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
        { "wait", no_argument, NULL, ZMX_CLI_OPT_WAIT },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
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
        if (option == ZMX_CLI_OPT_WAIT)
            call->wait = true;
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

//  Ask mmi.service whether SERVICE has a worker. Returns ZMX_EXIT_OK to go
//  on, or the exit code to stop with (message printed).
static int
s_check_service (zmx_client_t *client, s_call_t *call)
{
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, call->service);
    zmsg_t *reply = zmx_client_request (client, "mmi.service", &request);
    if (!reply)
        return zmx_cli_request_failed (client, &call->conn);
    char *status = zmsg_popstr (reply);
    int rc = ZMX_EXIT_OK;
    if (status && streq (status, "404")) {
        fprintf (stderr, "zmx: no worker serves '%s' at %s; start one (e.g. zmx worker %s "
                         "--echo) or pass --wait to queue the request\n",
                 call->service, call->conn.endpoint, call->service);
        rc = ZMX_EXIT_NOSERVICE;
    }
    free (status);
    zmsg_destroy (&reply);
    return rc;
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

int
zmx_cli_call (int argc, char *argv [])
{
    s_call_t call = { .hex = false };
    zmx_cli_conn_init (&call.conn);
    int rc = s_parse (argc, argv, &call);
    if (rc != S_CONTINUE)
        return rc;
    zmx_client_t *client = zmx_cli_client_new (&call.conn, &rc);
    if (!client)
        return rc;
    if (!call.wait && strncmp (call.service, "mmi.", 4) != 0)
        rc = s_check_service (client, &call);
    if (rc == ZMX_EXIT_OK) {
        zmsg_t *request = zmsg_new ();
        for (int index = 0; index < call.frame_count; index++)
            zmsg_addstr (request, call.frames [index]);
        zmsg_t *reply = zmx_client_request (client, call.service, &request);
        if (reply)
            s_print_reply (reply, call.hex);
        else
            rc = zmx_cli_request_failed (client, &call.conn);
        zmsg_destroy (&reply);
    }
    zmx_client_destroy (&client);
    return rc;
}
