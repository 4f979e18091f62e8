/*  =========================================================================
    zmx worker - serve a service from the command line

    --echo answers each request with the request itself. With a COMMAND
    after "--", each request runs the command once: the request frames go
    to its stdin as text lines (each frame followed by a newline), and its
    stdout, less one trailing newline, is the single reply frame (one over
    the 16 MiB frame limit is refused: the client gets a zmx error reply).
    Requests are served one at a time. While a command runs, the worker keeps
    heartbeating, so a slow command does not get it dropped by the broker;
    should the broker connection be lost meanwhile, the reply is dropped
    (the client's retry covers it) and the next request reconnects.
    =========================================================================
*/
#include "zmx_cli.h"
#include <signal.h>
#include <sys/wait.h>

#define S_CONTINUE -1           //  s_parse: arguments fine, go on

typedef struct {
    zmx_cli_conn_t conn;        //  Broker endpoint and CURVE options
    const char *service;        //  Service to register
    int credit;                 //  Requests in flight (--credit)
    int heartbeat;              //  Heartbeat interval, msec
    int liveness;               //  Missed heartbeats before reconnecting
    bool echo;                  //  --echo
    char **command;             //  argv of the command, or NULL
    char *command_path;         //  Resolved path of command [0]
} s_worker_t;

void
zmx_cli_worker_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx worker [-b ENDPOINT] [--credit N] [--heartbeat MS] [--liveness N]\n"
        "                  [--packed] [--curve-cert FILE --server-key KEY|FILE]\n"
        "                  SERVICE (--echo | -- COMMAND [ARGS...])\n"
        "\n"
        "Register SERVICE with the broker and answer its requests until SIGINT or\n"
        "SIGTERM: with --echo, reply with the request; with COMMAND, run it (no\n"
        "shell) per request, request frames on its stdin one per line, its stdout\n"
        "(less one trailing newline) as the reply. A non-zero exit is logged and\n"
        "the reply is still its stdout.\n"
        "\n"
        "  -b, --broker ENDPOINT  broker (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]     the zmxd to use, its ports at BASE + their\n"
        "                         offsets (default $ZMX_ZMXD); -b wins\n"
        "  --credit N             requests the broker may send ahead (default 1)\n"
        "  --heartbeat MS         heartbeat interval; match the broker's\n"
        "                         heartbeat-interval (default %d)\n"
        "  --liveness N           missed heartbeats before reconnecting (default %d)\n"
        "  --packed               speak zmx packed MDP: fewer frames per request;\n"
        "                         zmx brokers only (docs/PROTOCOLS.md)\n"
        "  --curve-cert FILE      use CURVE with this client certificate\n"
        "  --server-key KEY|FILE  the broker's public key or certificate file\n",
        ZMX_CLI_ENV_BROKER, ZMX_BROKER_DEFAULT_ENDPOINT, ZMX_HEARTBEAT_INTERVAL,
        ZMX_HEARTBEAT_LIVENESS);
}

//  Options other than the shared connection ones. Returns S_CONTINUE, or
//  an exit code.
static int
s_parse_option (s_worker_t *self, int option, const char *value)
{
    switch (option) {
        case ZMX_CLI_OPT_ECHO:
            self->echo = true;
            return S_CONTINUE;
        case ZMX_CLI_OPT_CREDIT:
            return zmx_cli_parse_int (value, "--credit", 1, ZMX_MDP_MAX_CREDIT,
                                      &self->credit)? ZMX_EXIT_USAGE: S_CONTINUE;
        case ZMX_CLI_OPT_HEARTBEAT:
            return zmx_cli_parse_int (value, "--heartbeat", 10, 3600000,
                                      &self->heartbeat)? ZMX_EXIT_USAGE: S_CONTINUE;
        case ZMX_CLI_OPT_LIVENESS:
            return zmx_cli_parse_int (value, "--liveness", 1, 100,
                                      &self->liveness)? ZMX_EXIT_USAGE: S_CONTINUE;
        case ZMX_CLI_OPT_HELP:
            zmx_cli_worker_usage (stdout);
            return ZMX_EXIT_OK;
        default:
            zmx_cli_worker_usage (stderr);
            return ZMX_EXIT_USAGE;
    }
}

//  Parse the options and SERVICE before "--" (in any order), and take
//  everything after "--" as the command.
static int
s_parse (int argc, char *argv [], s_worker_t *self)
{
    static const struct option longopts [] = {
        { "broker", required_argument, NULL, 'b' },
        { "credit", required_argument, NULL, ZMX_CLI_OPT_CREDIT },
        { "heartbeat", required_argument, NULL, ZMX_CLI_OPT_HEARTBEAT },
        { "liveness", required_argument, NULL, ZMX_CLI_OPT_LIVENESS },
        { "echo", no_argument, NULL, ZMX_CLI_OPT_ECHO },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "packed", no_argument, NULL, ZMX_CLI_OPT_PACKED },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int own_argc = argc;
    for (int index = 1; index < argc; index++)
        if (streq (argv [index], "--")) {
            own_argc = index;
            self->command = index + 1 < argc? argv + index + 1: NULL;
            break;
        }
    int option;
    while ((option = getopt_long (own_argc, argv, "b:h", longopts, NULL)) != -1) {
        int shared = zmx_cli_conn_option (&self->conn, option, optarg);
        int rc = shared? (shared < 0? ZMX_EXIT_USAGE: S_CONTINUE):
                         s_parse_option (self, option, optarg);
        if (rc != S_CONTINUE)
            return rc;
    }
    if (own_argc - optind != 1)
        return zmx_cli_usage_error (zmx_cli_worker_usage, own_argc == optind?
                                    "worker needs a SERVICE":
                                    "worker takes one SERVICE; put -- before a COMMAND");
    self->service = argv [optind];
    if (self->echo == (self->command != NULL))
        return zmx_cli_usage_error (zmx_cli_worker_usage,
                                    "give either --echo or -- COMMAND [ARGS...]");
    if (!zmx_mdp_service_valid (self->service, strlen (self->service)))
        return zmx_cli_usage_error (zmx_cli_worker_usage, "bad service name '%s'",
                                    self->service);
    return zmx_cli_conn_check (&self->conn)? ZMX_EXIT_USAGE: S_CONTINUE;
}

//  Build the worker from the options. Returns NULL with *exit_p set.
static zmx_worker_t *
s_worker_new (s_worker_t *self, int *exit_p)
{
    char *endpoints = zmx_cli_resolve (self->conn.endpoint, self->conn.timeout, exit_p);
    if (!endpoints)
        return NULL;
    zmx_worker_t *worker = zmx_worker_new (endpoints, self->service);
    zstr_free (&endpoints);
    if (!worker) {
        fprintf (stderr, "zmx: bad broker endpoint '%s': use e.g. tcp://127.0.0.1:5555\n",
                 self->conn.endpoint);
        *exit_p = ZMX_EXIT_USAGE;
        return NULL;
    }
    zmx_worker_set_heartbeat (worker, self->heartbeat, self->liveness);
    zmx_worker_set_credit (worker, (uint32_t) self->credit);
    if (self->conn.packed)
        zmx_worker_set_version (worker, ZMX_MDP_PACKED);
    if (self->conn.curve_cert
    &&  zmx_worker_set_curve (worker, self->conn.curve_cert, self->conn.server_key)) {
        fprintf (stderr, "zmx: cannot use CURVE with certificate '%s' and server key '%s' "
                         "(reason above): check both, or create a certificate with "
                         "zmx keygen\n", self->conn.curve_cert, self->conn.server_key);
        zmx_worker_destroy (&worker);
        *exit_p = ZMX_EXIT_SECURITY;
        return NULL;
    }
    *exit_p = ZMX_EXIT_OK;
    return worker;
}

//  While a command runs: keep the broker connection alive. A lost one
//  shows when the reply is sent.
static void
s_keep_alive (void *worker)
{
    zmx_worker_heartbeat ((zmx_worker_t *) worker);
}

//  Run the command for one request; consumes *request_p. Returns the
//  reply, or NULL if the command could not run or we are stopping.
static zmsg_t *
s_run_command (s_worker_t *self, zmx_worker_t *worker, zmsg_t **request_p)
{
    zchunk_t *input = zchunk_new (NULL, 0);
    for (zframe_t *frame = zmsg_first (*request_p); frame; frame = zmsg_next (*request_p)) {
        zchunk_extend (input, zframe_data (frame), zframe_size (frame));
        zchunk_extend (input, "\n", 1);
    }
    zmsg_destroy (request_p);
    //  Several ticks per interval, so that a heartbeat is never much late
    zmx_cli_tick_t tick = { self->heartbeat / 4 > 0? self->heartbeat / 4: 1, s_keep_alive,
                            worker };
    int status = 0;
    //  Two bytes over the frame limit: room for the trailing newline, and
    //  for zmx_worker_send to see a reply that is too large and refuse it
    //  (with an error reply) rather than have it cut and sent as if whole
    zchunk_t *output = zmx_cli_exec (self->command_path, self->command,
                                     (const char *) zchunk_data (input), zchunk_size (input),
                                     ZMX_BROKER_MAX_FRAME_SIZE + 2, &tick, &status);
    zchunk_destroy (&input);
    if (!output)
        return NULL;
    if (!WIFEXITED (status) || WEXITSTATUS (status) != 0)
        zmx_log_warning ("worker", "%s %s %d; replying with its output anyway",
                         self->command [0], WIFEXITED (status)? "exited with": "killed by signal",
                         WIFEXITED (status)? WEXITSTATUS (status): WTERMSIG (status));
    size_t size = zchunk_size (output);
    if (size > 0 && zchunk_data (output) [size - 1] == '\n')
        size--;
    zmsg_t *reply = zmsg_new ();
    zmsg_addmem (reply, zchunk_data (output), size);
    zchunk_destroy (&output);
    return reply;
}

//  Serve requests until interrupted. Says "serving" once the broker has
//  first answered; until then, and whenever it falls silent later, the
//  library warns each time it gives up on a connection and retries.
static void
s_serve (s_worker_t *self, zmx_worker_t *worker)
{
    bool serving = false;
    while (!zsys_interrupted) {
        zframe_t *reply_to = NULL;
        //  Wake once per heartbeat at least, to see the broker answer
        zmsg_t *request = zmx_worker_recv (worker, serving? -1: self->heartbeat, &reply_to);
        if (!serving && zmx_worker_connected (worker)) {
            zmx_log_notice ("worker", "serving '%s' at %s with %s", self->service,
                            self->conn.endpoint, self->echo? "--echo": self->command [0]);
            serving = true;
        }
        if (!request) {
            if (zmx_worker_error (worker) == ZMX_ETIMEDOUT)
                continue;
            break;              //  Interrupted
        }
        zmsg_t *reply = self->echo? request: s_run_command (self, worker, &request);
        //  A reply lost with the broker connection is covered by the
        //  client's retry; say so. One too large was refused and logged.
        int rc = reply? zmx_worker_send (worker, &reply, &reply_to): ZMX_OK;
        if (rc == ZMX_ENOMEM)
            zmx_log_error ("worker", "reply of %s refused: over %d bytes, the broker's frame "
                           "limit; the client got an error reply instead",
                           self->echo? "--echo": self->command [0], ZMX_BROKER_MAX_FRAME_SIZE);
        else
        if (rc != ZMX_OK)
            zmx_log_warning ("worker", "reply dropped: the broker connection was lost "
                             "(heartbeat %d ms x %d)", self->heartbeat, self->liveness);
        zmsg_destroy (&reply);
        zframe_destroy (&reply_to);
    }
}

int
zmx_cli_worker (int argc, char *argv [])
{
    s_worker_t self = { .credit = 1, .heartbeat = ZMX_HEARTBEAT_INTERVAL,
                        .liveness = ZMX_HEARTBEAT_LIVENESS };
    zmx_cli_conn_init (&self.conn);
    int rc = s_parse (argc, argv, &self);
    if (rc != S_CONTINUE)
        return rc;
    if (self.command && !(self.command_path = zmx_cli_exec_find (self.command [0]))) {
        fprintf (stderr, "zmx: command '%s' not found or not executable: check $PATH\n",
                 self.command [0]);
        return ZMX_EXIT_ERROR;
    }
    //  A command that exits without reading all its input must not kill us
    signal (SIGPIPE, SIG_IGN);
    zsys_init ();               //  Installs the SIGINT/SIGTERM handler
    zmx_worker_t *worker = s_worker_new (&self, &rc);
    if (worker) {
        zmx_log_notice ("worker", "registering '%s' at %s; waiting for the broker to answer",
                        self.service, self.conn.endpoint);
        s_serve (&self, worker);
        zmx_worker_destroy (&worker);
    }
    free (self.command_path);
    return rc;
}
