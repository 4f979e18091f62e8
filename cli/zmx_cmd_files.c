/*  =========================================================================
    zmx files - serve, mirror and list files over 35/FILEMQ

    serve  runs the files service (zmx_files_actor) without zmxd, with a
           config built in memory, until SIGINT or SIGTERM. It says it is
           ready only once every file is hashed (RESCAN), so that a sync
           started after that line sees the whole directory.
    sync   mirrors a virtual path with zmx_files_client. Before starting
           the client it asks the server itself (OHAI, ICANHAZ, KTHXBAI on
           its own socket): that turns "nobody there" and "path refused"
           into a clear message and exit code within -t, and gives the
           files and bytes to fetch for the progress display (replaced by
           the client's own, smaller, figures once it subscribes). By
           default it exits once the client is in sync; --follow keeps
           mirroring. sync and ls take CURVE client keys as `zmx call`
           does; serve --curve --clients builds a security policy.
    ls     FILEMQ has no listing command, so ls subscribes like a client
           and notes each file as it is announced (the first CHEEZBURGER of
           a file carries its name and, as a zmx extension, its SIZE). The
           server only moves on to the next file once the current one is
           sent, so ls receives every byte and throws it away (nothing is
           written to disk); it leaves once the server's queue for it is
           empty. The cost is a full transfer over the network.
    All three verbs keep freed chunk buffers in the process (see
    s_malloc_tune) instead of giving them back to the kernel after each
    chunk.
    =========================================================================
*/
#include "zmx_cli.h"
#include "zmx_layout.h"
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_CONTINUE          -1          //  s_parse: arguments fine, go on
#define S_ENV_FILES         "ZMX_FILES"
#define S_TIMEOUT           5000        //  -t default: wait for the server
#define S_TICK_TTY_MS       200         //  progress bar refresh
#define S_TICK_PLAIN_MS     1000        //  plain progress line, at most
#define S_BAR_WIDTH         24
#define S_LS_CREDIT         (4 * 1024 * 1024)   //  window ls grants, bytes
#define S_MALLOC_MMAP_THRESHOLD (32 * 1024 * 1024)  //  glibc's largest
#define S_MALLOC_TRIM_THRESHOLD (64 * 1024 * 1024)

//  serve's own long options, past the shared ids in zmx_cli.h
enum { S_OPT_CURVE = ZMX_CLI_OPT_PATH + 64, S_OPT_CLIENTS, S_OPT_VERIFY };

typedef enum { S_SERVE, S_SYNC, S_LS } s_verb_t;

typedef struct {
    s_verb_t verb;              //  Subcommand
    const char *endpoint;       //  -e, --zmxd, $ZMX_FILES, $ZMX_ZMXD, the default
    bool endpoint_given;        //  -e was given: --zmxd does not override it
    bool json;                  //  ls --json
    int timeout;                //  -t, msec to wait for the server
    bool follow;                //  sync --follow
    const char *path;           //  Virtual path (serve --path, sync, ls)
    const char *directory;      //  serve DIR, sync LOCALDIR
    const char *curve_cert;     //  sync/ls --curve-cert FILE, or NULL
    const char *server_key;     //  sync/ls --server-key KEY|FILE, or NULL
    const char *server_cert;    //  serve --curve SERVER_CERT, or NULL
    const char *clients;        //  serve --clients DIR|*, or NULL
    int verify;                 //  sync --verify: ZMX_FILES_VERIFY_*
} s_files_t;

//  A bare FILEMQ peering on its own DEALER, for the probe and for ls
typedef struct {
    zsock_t *dealer;            //  Connected to the server
    int timeout;                //  -t, msec, for the whole exchange
    int64_t deadline;           //  zclock_mono when -t runs out
    bool answered;              //  The server said something valid
    uint64_t sequence;          //  NOMs sent
} s_peer_t;

//  -------------------------------------------------------------------------
//  Usage

static void
s_usage_serve (FILE *stream)
{
    fprintf (stream,
        "usage: zmx files serve [-e ENDPOINT] [--path /P]\n"
        "                       [--curve SERVER_CERT --clients DIR|*] DIR\n"
        "\n"
        "Publish DIR under virtual path /P (default \"/\") over FILEMQ until SIGINT\n"
        "or SIGTERM, without zmxd. Prints \"zmx files: serving ...\" once every\n"
        "file is hashed and announced.\n"
        "\n"
        "  -e, --endpoint ENDPOINT  bind here (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       bind where that zmxd's files service would\n"
        "                           (default $ZMX_ZMXD); -e wins\n"
        "  --path /P                virtual path of DIR (default /)\n"
        "  --curve SERVER_CERT      require CURVE, with this server certificate\n"
        "                           (its secret in SERVER_CERT_secret)\n"
        "  --clients DIR|*          with --curve: the allowed clients' public\n"
        "                           certificates, or * for any client key\n",
        S_ENV_FILES, ZMX_FILES_DEFAULT_ENDPOINT);
}

static void
s_usage_sync (FILE *stream)
{
    fprintf (stream,
        "usage: zmx files sync [-e ENDPOINT] [-t TIMEOUT_MS] [--follow]\n"
        "                      [--verify auto|sha1]\n"
        "                      [--curve-cert FILE --server-key KEY|FILE] /P LOCALDIR\n"
        "\n"
        "Mirror virtual path /P from a FILEMQ server into LOCALDIR (created if\n"
        "missing) and exit 0 once everything published now is there. With\n"
        "--follow, keep mirroring until SIGINT or SIGTERM. Shows a progress bar\n"
        "on a terminal, plain lines otherwise.\n"
        "\n"
        "  -e, --endpoint ENDPOINT  server (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -t, --timeout MS         wait this long for the server to answer\n"
        "                           (default %d)\n"
        "  --follow                 keep mirroring after the first sync\n"
        "  --verify auto|sha1       check each file with the XXH3-128 the server\n"
        "                           announces, else SHA-1 (auto, the default), or\n"
        "                           always with SHA-1 (slower)\n"
        "  --curve-cert FILE        use CURVE with this client certificate\n"
        "  --server-key KEY|FILE    the server's public key or certificate file\n",
        S_ENV_FILES, ZMX_FILES_DEFAULT_ENDPOINT, S_TIMEOUT);
}

static void
s_usage_ls (FILE *stream)
{
    fprintf (stream,
        "usage: zmx files ls [-e ENDPOINT] [-t TIMEOUT_MS] [--json]\n"
        "                    [--curve-cert FILE --server-key KEY|FILE] [/P]\n"
        "\n"
        "List the files a FILEMQ server publishes under /P (default /): one line\n"
        "per file, size in bytes then virtual path, sorted by path. FILEMQ has no\n"
        "listing command: ls subscribes, notes each file as it is announced and\n"
        "discards its data, so it moves every byte over the network (not to disk).\n"
        "\n"
        "  -e, --endpoint ENDPOINT  server (default $%s or %s)\n"
        "  --zmxd HOST[:BASE]       the zmxd to use, its ports at BASE + their\n"
        "                           offsets (default $ZMX_ZMXD); -e wins\n"
        "  -t, --timeout MS         give up, exit 3, if the listing is not complete\n"
        "                           within this long (default %d)\n"
        "  --curve-cert FILE        use CURVE with this client certificate\n"
        "  --server-key KEY|FILE    the server's public key or certificate file\n"
        "  --json                   print one JSON array of {\"path\", \"size\"}\n",
        S_ENV_FILES, ZMX_FILES_DEFAULT_ENDPOINT, S_TIMEOUT);
}

void
zmx_cli_files_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx files serve [-e ENDPOINT] [--path /P] [--curve CERT --clients DIR|*] DIR\n"
        "       zmx files sync [-e ENDPOINT] [-t TIMEOUT_MS] [--follow] [--verify auto|sha1]\n"
        "                      [--curve-cert FILE --server-key KEY|FILE] /P LOCALDIR\n"
        "       zmx files ls [-e ENDPOINT] [-t TIMEOUT_MS] [--json]\n"
        "                    [--curve-cert FILE --server-key KEY|FILE] [/P]\n"
        "\n"
        "Publish a directory (serve), mirror a virtual path into a local directory\n"
        "(sync), or list what a server publishes (ls), over 35/FILEMQ. The endpoint\n"
        "defaults to $%s, else %s. `zmx files VERB --help` shows\n"
        "one verb's options. Exit codes: 0 ok, 1 error (also: path not published,\n"
        "interrupted), 2 usage, 3 no answer from the server or ls incomplete\n"
        "within -t, 5 bad key or certificate, 6 the host name does not resolve.\n",
        S_ENV_FILES, ZMX_FILES_DEFAULT_ENDPOINT);
}

//  -------------------------------------------------------------------------
//  Arguments

static void (*s_usage_of (s_verb_t verb)) (FILE *)
{
    return verb == S_SERVE? s_usage_serve: verb == S_SYNC? s_usage_sync: s_usage_ls;
}

//  One option of the verb's table. Returns S_CONTINUE or an exit code.
static int
s_parse_option (s_files_t *self, int option, const char *value)
{
    switch (option) {
        case 'e':
            self->endpoint = value;
            self->endpoint_given = true;
            return S_CONTINUE;
        case ZMX_CLI_OPT_ZMXD:
            return zmx_cli_zmxd_option (value, ZMX_LAYOUT_FILES, &self->endpoint,
                                        self->endpoint_given) < 0? ZMX_EXIT_USAGE: S_CONTINUE;
        case 't':
            return zmx_cli_parse_int (value, "-t", 1, 3600000, &self->timeout)?
                   ZMX_EXIT_USAGE: S_CONTINUE;
        case ZMX_CLI_OPT_FOLLOW:
            self->follow = true;
            return S_CONTINUE;
        case ZMX_CLI_OPT_JSON:
            self->json = true;
            return S_CONTINUE;
        case ZMX_CLI_OPT_PATH:
            self->path = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_CURVE_CERT:
            self->curve_cert = value;
            return S_CONTINUE;
        case ZMX_CLI_OPT_SERVER_KEY:
            self->server_key = value;
            return S_CONTINUE;
        case S_OPT_CURVE:
            self->server_cert = value;
            return S_CONTINUE;
        case S_OPT_CLIENTS:
            self->clients = value;
            return S_CONTINUE;
        case S_OPT_VERIFY:
            if (!streq (value, "auto") && !streq (value, "sha1"))
                return zmx_cli_usage_error (s_usage_sync, "--verify takes auto or sha1, "
                                            "not '%s'", value);
            self->verify = streq (value, "sha1")? ZMX_FILES_VERIFY_SHA1: ZMX_FILES_VERIFY_AUTO;
            return S_CONTINUE;
        case ZMX_CLI_OPT_HELP:
            s_usage_of (self->verb) (stdout);
            return ZMX_EXIT_OK;
        default:
            s_usage_of (self->verb) (stderr);
            return ZMX_EXIT_USAGE;
    }
}

//  The positional arguments of the verb. Returns S_CONTINUE or 2.
static int
s_parse_operands (s_files_t *self, int count, char **operands)
{
    void (*usage) (FILE *) = s_usage_of (self->verb);
    if (self->verb == S_SERVE) {
        if (count != 1)
            return zmx_cli_usage_error (usage, "serve takes one DIR, got %d arguments", count);
        self->directory = operands [0];
    }
    else
    if (self->verb == S_SYNC) {
        if (count != 2)
            return zmx_cli_usage_error (usage, "sync needs /P and LOCALDIR, got %d "
                                        "argument%s", count, count == 1? "": "s");
        self->path = operands [0];
        self->directory = operands [1];
    }
    else {
        if (count > 1)
            return zmx_cli_usage_error (usage, "ls takes at most one /P");
        self->path = count? operands [0]: "/";
    }
    if (*self->path != '/' || !zmx_fmq_string_valid (self->path))
        return zmx_cli_usage_error (usage, "bad virtual path '%s': it must start with / "
                                    "(e.g. /photos) and have at most %d printable bytes",
                                    self->path, ZMX_FMQ_MAX_STRING);
    if (!*self->endpoint)
        return zmx_cli_usage_error (usage, "the endpoint is empty: pass -e or set $%s",
                                    S_ENV_FILES);
    if (!self->curve_cert != !self->server_key)
        return zmx_cli_usage_error (usage, "--curve-cert and --server-key go together: "
                                    "give both to use CURVE, or neither");
    if (!self->server_cert != !self->clients)
        return zmx_cli_usage_error (usage, "--curve and --clients go together: give the "
                                    "server certificate and the allowed clients (DIR or *)");
    return S_CONTINUE;
}

static int
s_parse (int argc, char *argv [], s_files_t *self)
{
    static const struct option longopts [] = {
        { "endpoint", required_argument, NULL, 'e' },
        { "timeout", required_argument, NULL, 't' },
        { "follow", no_argument, NULL, ZMX_CLI_OPT_FOLLOW },
        { "path", required_argument, NULL, ZMX_CLI_OPT_PATH },
        { "curve-cert", required_argument, NULL, ZMX_CLI_OPT_CURVE_CERT },
        { "server-key", required_argument, NULL, ZMX_CLI_OPT_SERVER_KEY },
        { "curve", required_argument, NULL, S_OPT_CURVE },
        { "clients", required_argument, NULL, S_OPT_CLIENTS },
        { "verify", required_argument, NULL, S_OPT_VERIFY },
        { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD },
        { "json", no_argument, NULL, ZMX_CLI_OPT_JSON },
        { "help", no_argument, NULL, ZMX_CLI_OPT_HELP },
        { NULL, 0, NULL, 0 }
    };
    int option, index = -1;
    while ((option = getopt_long (argc, argv, "e:t:h", longopts, &index)) != -1) {
        //  Each verb takes only its own options
        if ((option == 't' && self->verb == S_SERVE)
        ||  ((option == ZMX_CLI_OPT_FOLLOW || option == S_OPT_VERIFY) && self->verb != S_SYNC)
        ||  (option == ZMX_CLI_OPT_JSON && self->verb != S_LS)
        ||  ((option == ZMX_CLI_OPT_PATH || option == S_OPT_CURVE || option == S_OPT_CLIENTS)
             && self->verb != S_SERVE)
        ||  ((option == ZMX_CLI_OPT_CURVE_CERT || option == ZMX_CLI_OPT_SERVER_KEY)
             && self->verb == S_SERVE))
            return zmx_cli_usage_error (s_usage_of (self->verb), "option %s%s does not apply "
                                        "to this verb", index >= 0? "--": "-",
                                        index >= 0? longopts [index].name: "t");
        int rc = s_parse_option (self, option, optarg);
        if (rc != S_CONTINUE)
            return rc;
        index = -1;
    }
    return s_parse_operands (self, argc - optind, argv + optind);
}

//  -------------------------------------------------------------------------
//  A bare FILEMQ peering: probe for sync, and all of ls

static int
s_peer_send (s_peer_t *self, zmx_fmq_msg_t *msg)
{
    zframe_t *frame = zmx_fmq_encode (msg);
    if (!frame)
        return -1;
    return zframe_send (&frame, self->dealer, 0);
}

//  Receive one FILEMQ command into msg, answering HUGZ on the way; its
//  frame in *frame_p (caller destroys) and any extra frame's text in
//  *extra_p (may be NULL; caller frees). Waits until the deadline, not
//  -t per message: the server's HUGZ would otherwise keep a quiet
//  exchange alive forever. Returns 0, or the exit code; a timeout after
//  the server has answered is left to the caller to explain.
static int
s_peer_recv (s_peer_t *self, zmx_fmq_msg_t *msg, zframe_t **frame_p, char **extra_p,
             const char *endpoint)
{
    while (true) {
        int64_t left = self->deadline - zclock_mono ();
        zsock_set_rcvtimeo (self->dealer, left > 0? (int) left: 0);
        zmsg_t *reply = zmsg_recv (self->dealer);
        if (!reply && zsys_interrupted) {
            fprintf (stderr, "zmx: interrupted\n");
            return ZMX_EXIT_ERROR;
        }
        if (!reply && zmq_errno () == EINTR)
            continue;           //  A signal that is not ours
        if (!reply && self->answered)
            return ZMX_EXIT_TIMEOUT;
        if (!reply) {
            fprintf (stderr, "zmx: no FILEMQ server answered at %s within %d ms: is "
                             "`zmx files serve` (or zmxd with a files section) running "
                             "there? Check -e or $%s, and --curve-cert/--server-key if "
                             "it requires CURVE\n", endpoint, self->timeout, S_ENV_FILES);
            return ZMX_EXIT_TIMEOUT;
        }
        zframe_t *frame = zmsg_pop (reply);
        const char *error = NULL;
        int rc = frame? zmx_fmq_decode (zframe_data (frame), zframe_size (frame), msg, &error): -1;
        char *extra = rc == 0? zmsg_popstr (reply): NULL;
        zmsg_destroy (&reply);
        if (extra_p && rc == 0 && msg->id != ZMX_FMQ_HUGZ)
            *extra_p = extra;
        else
            free (extra);
        self->answered |= rc == 0;
        if (rc == 0 && msg->id == ZMX_FMQ_HUGZ) {
            zmx_fmq_clear (msg);
            zframe_destroy (&frame);
            zmx_fmq_msg_t pong;
            zmx_fmq_init (&pong, ZMX_FMQ_HUGZ_OK);
            s_peer_send (self, &pong);
            continue;
        }
        if (rc == 0) {
            *frame_p = frame;
            return 0;
        }
        zframe_destroy (&frame);
        fprintf (stderr, "zmx: %s does not speak FILEMQ (%s): check the endpoint\n",
                 endpoint, error? error: "bad signature");
        return ZMX_EXIT_ERROR;
    }
}

//  Expect command `id`; explain SRSLY/RTFM or anything else. Returns 0 or
//  the exit code (msg cleared then).
static int
s_peer_expect (zmx_fmq_msg_t *msg, int id, const s_files_t *files)
{
    if (msg->id == id)
        return 0;
    if (msg->id == ZMX_FMQ_SRSLY)
        fprintf (stderr, "zmx: the server at %s refused %s: %s\n", files->endpoint,
                 files->path, msg->reason);
    else
    if (msg->id == ZMX_FMQ_RTFM)
        fprintf (stderr, "zmx: the server at %s rejected the request: %s\n",
                 files->endpoint, msg->reason);
    else
        fprintf (stderr, "zmx: unexpected %s from %s, wanted %s\n",
                 zmx_fmq_command (msg->id), files->endpoint, zmx_fmq_command (id));
    zmx_fmq_clear (msg);
    return ZMX_EXIT_ERROR;
}

//  One request/answer step of the handshake. Returns 0 or the exit code.
static int
s_peer_step (s_peer_t *self, zmx_fmq_msg_t *request, int answer, char **extra_p,
             const s_files_t *files)
{
    int sent = s_peer_send (self, request);
    zmx_fmq_clear (request);
    if (sent) {
        fprintf (stderr, "zmx: cannot send %s to %s\n", zmx_fmq_command (request->id),
                 files->endpoint);
        return ZMX_EXIT_ERROR;
    }
    zmx_fmq_msg_t msg;
    zframe_t *frame = NULL;
    int rc = s_peer_recv (self, &msg, &frame, extra_p, files->endpoint);
    if (rc == ZMX_EXIT_TIMEOUT && self->answered)
        fprintf (stderr, "zmx: the server at %s did not answer %s within %d ms\n",
                 files->endpoint, zmx_fmq_command (request->id), files->timeout);
    if (rc == 0)
        rc = s_peer_expect (&msg, answer, files);
    if (rc == 0)
        zmx_fmq_clear (&msg);
    zframe_destroy (&frame);
    return rc;
}

//  Connect, say OHAI, subscribe to files->path. Sets *queued_p to the
//  files the server queued for us (-1 if it did not say) and *bytes_p to
//  their total size (0 if it did not say: the ICANHAZ-OK extension frame
//  is "FILES" or "FILES BYTES"). Returns 0 or the exit code (self then
//  closed).
static int
s_peer_open (s_peer_t *self, const s_files_t *files, int64_t *queued_p, uint64_t *bytes_p)
{
    self->dealer = zsock_new (ZMQ_DEALER);
    self->timeout = files->timeout;
    self->deadline = zclock_mono () + files->timeout;
    //  Keys were checked in s_curve_check: a failure here is unexpected
    if (self->dealer && files->curve_cert
    &&  zmx_security_client_curve (self->dealer, files->curve_cert, files->server_key)) {
        zsock_destroy (&self->dealer);
        return ZMX_EXIT_SECURITY;
    }
    if (!self->dealer || zsock_connect (self->dealer, "%s", files->endpoint)) {
        fprintf (stderr, "zmx: bad endpoint '%s': use e.g. %s\n", files->endpoint,
                 ZMX_FILES_DEFAULT_ENDPOINT);
        zsock_destroy (&self->dealer);
        return ZMX_EXIT_USAGE;
    }
    zsock_set_linger (self->dealer, 0);
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_OHAI);
    strcpy (msg.protocol, ZMX_FMQ_PROTOCOL);
    msg.version = ZMX_FMQ_VERSION;
    int rc = s_peer_step (self, &msg, ZMX_FMQ_OHAI_OK, NULL, files);
    char *extra = NULL;
    if (rc == 0) {
        //  RESYNC=1: queue everything published now, and say how much
        //  (without X-ZMX-TOTALS a zmx server does not say)
        zmx_fmq_init (&msg, ZMX_FMQ_ICANHAZ);
        strcpy (msg.path, files->path);
        msg.options = zhash_new ();
        zhash_autofree (msg.options);
        zhash_insert (msg.options, "RESYNC", "1");
        zhash_insert (msg.options, ZMX_FMQ_OPTION_TOTALS, "1");
        rc = s_peer_step (self, &msg, ZMX_FMQ_ICANHAZ_OK, &extra, files);
    }
    char *rest = NULL;
    *queued_p = extra && *extra? strtoll (extra, &rest, 10): -1;
    *bytes_p = rest && *rest == ' '? strtoull (rest + 1, NULL, 10): 0;
    free (extra);
    if (rc)
        zsock_destroy (&self->dealer);
    return rc;
}

//  Say goodbye and close.
static void
s_peer_close (s_peer_t *self)
{
    if (!self->dealer)
        return;
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_KTHXBAI);
    s_peer_send (self, &msg);
    zsock_destroy (&self->dealer);
}

//  Grant `credit` more bytes.
static int
s_peer_nom (s_peer_t *self, uint64_t credit)
{
    zmx_fmq_msg_t msg;
    zmx_fmq_init (&msg, ZMX_FMQ_NOM);
    msg.credit = credit;
    msg.sequence = self->sequence++;
    return s_peer_send (self, &msg);
}

//  -------------------------------------------------------------------------
//  ls

//  Note a file when its first chunk comes. `listing` maps virtual path to
//  its size as text.
static void
s_ls_note (zhash_t *listing, const char *base, zmx_fmq_msg_t *msg)
{
    if (msg->operation != ZMX_FMQ_CREATE || msg->offset != 0)
        return;
    const char *size = msg->headers? (const char *) zhash_lookup (msg->headers, "SIZE"): NULL;
    bool root = streq (base, "/");
    char *vpath = zsys_sprintf ("%s%s%s", root? "": base, *msg->filename == '/'? "": "/",
                                msg->filename);
    zhash_update (listing, vpath, (void *) (size? size: "?"));
    free (vpath);
}

//  Say why the listing is incomplete when -t ran out.
static void
s_ls_incomplete (const s_files_t *files, int64_t queued, int64_t ended)
{
    if (queued >= 0)
        fprintf (stderr, "zmx: listing of %s from %s is incomplete: %" PRId64 " of %" PRId64
                         " files received within -t %d ms (ls moves every byte: raise -t)\n",
                 files->path, files->endpoint, ended, queued, files->timeout);
    else
        fprintf (stderr, "zmx: listing of %s from %s may be incomplete: the server did not "
                         "say how many files it has, nor that it was done, within -t %d ms\n",
                 files->path, files->endpoint, files->timeout);
}

//  Receive announcements until every queued file has ended or the server
//  says nothing is left, all within -t. Returns 0 or the exit code.
static int
s_ls_collect (s_peer_t *peer, const s_files_t *files, int64_t queued, zhash_t *listing)
{
    int64_t ended = 0;
    uint64_t consumed = 0;
    bool drained = queued == 0;
    int rc = drained? 0: s_peer_nom (peer, S_LS_CREDIT);
    while (rc == 0 && !drained) {
        zmx_fmq_msg_t msg;
        zframe_t *frame = NULL;
        rc = s_peer_recv (peer, &msg, &frame, NULL, files->endpoint);
        if (rc == ZMX_EXIT_TIMEOUT)
            s_ls_incomplete (files, queued, ended);
        if (rc == 0)
            rc = s_peer_expect (&msg, ZMX_FMQ_CHEEZBURGER, files);
        if (rc == 0) {
            s_ls_note (listing, files->path, &msg);
            ended += msg.operation == ZMX_FMQ_DELETE || msg.eof;
            //  The QUEUED header also covers a file the server had to skip
            const char *left = msg.headers? (const char *) zhash_lookup (msg.headers,
                                                                         "QUEUED"): NULL;
            drained = (queued >= 0 && ended >= queued) || (msg.eof && left && streq (left, "0"));
            consumed += msg.chunk_size;
            //  Give back what was used, in slices, to keep the window full
            if (consumed >= S_LS_CREDIT / 4) {
                rc = s_peer_nom (peer, consumed)? ZMX_EXIT_ERROR: 0;
                consumed = 0;
            }
            zmx_fmq_clear (&msg);
        }
        zframe_destroy (&frame);
    }
    return rc;
}

//  Check the CURVE client keys, if given, before talking to anyone.
//  Returns 0 or ZMX_EXIT_SECURITY (message printed).
static int
s_curve_check (const s_files_t *self)
{
    if (!self->curve_cert
    ||  zmx_security_client_curve (NULL, self->curve_cert, self->server_key) == ZMX_OK)
        return 0;
    fprintf (stderr, "zmx: cannot use CURVE with certificate '%s' and server key '%s' "
                     "(reason above): check both, or create a certificate with zmx "
                     "keygen\n", self->curve_cert, self->server_key);
    return ZMX_EXIT_SECURITY;
}

//  One line per file, "SIZE  PATH" sorted by path, or with --json one
//  array of {"path", "size"} in the same order.
static void
s_ls_print (zhash_t *listing, bool json)
{
    zmx_cli_json_t *writer = json? zmx_cli_json_new (stdout): NULL;
    if (writer)
        zmx_cli_json_open (writer, '[');
    zlist_t *names = zhash_keys (listing);
    zlist_sort (names, NULL);
    for (const char *name = (const char *) zlist_first (names); name;
         name = (const char *) zlist_next (names)) {
        const char *size = (const char *) zhash_lookup (listing, name);
        if (writer) {
            zmx_cli_json_open (writer, '{');
            zmx_cli_json_pair (writer, "path", name);
            if (*size >= '0' && *size <= '9')   //  A plain FILEMQ server says "?"
                zmx_cli_json_pair_number (writer, "size", strtoll (size, NULL, 10));
            zmx_cli_json_close (writer, '}');
        }
        else
            printf ("%12s  %s\n", size, name);
    }
    zlist_destroy (&names);
    if (writer)
        zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
}

static int
s_ls_run (s_files_t *self)
{
    if (s_curve_check (self))
        return ZMX_EXIT_SECURITY;
    s_peer_t peer = { NULL };
    int64_t queued = -1;
    uint64_t bytes = 0;
    int rc = s_peer_open (&peer, self, &queued, &bytes);
    if (rc)
        return rc;
    zhash_t *listing = zhash_new ();
    zhash_autofree (listing);
    rc = s_ls_collect (&peer, self, queued, listing);
    s_peer_close (&peer);
    //  An incomplete listing still shows what was seen; the exit code and
    //  the message on stderr say it is not all
    if (rc == 0 || rc == ZMX_EXIT_TIMEOUT)
        s_ls_print (listing, self->json);
    zhash_destroy (&listing);
    return rc;
}

//  -------------------------------------------------------------------------
//  sync: progress display

typedef struct {
    bool tty;                   //  stdout is a terminal: one redrawn bar
    int64_t started;            //  zclock_mono at start
    int64_t last_print;         //  when the display was last updated
    int64_t files_total;        //  files queued at start, -1 unknown
    uint64_t bytes_total;       //  bytes queued at start, 0 unknown
    uint64_t bytes_shown;       //  bytes at the last plain line
    bool adopted;               //  Totals taken from the client's ICANHAZ-OK
    bool drawn;                 //  a bar is on the terminal line
} s_progress_t;

//  "12.3 MB" style, decimal units as the rate uses.
static void
s_format_bytes (char *buffer, size_t size, double bytes)
{
    const char *units [] = { "B", "kB", "MB", "GB", "TB" };
    int unit = 0;
    while (bytes >= 1000 && unit < 4) {
        bytes /= 1000;
        unit++;
    }
    snprintf (buffer, size, unit? "%.1f %s": "%.0f %s", bytes, units [unit]);
}

//  "[####....]  45%  " for a known total, else "".
static void
s_format_bar (char *buffer, size_t size, double part)
{
    char bar [S_BAR_WIDTH + 1];
    int filled = (int) (part * S_BAR_WIDTH);
    for (int index = 0; index < S_BAR_WIDTH; index++)
        bar [index] = index < filled? '#': '.';
    bar [S_BAR_WIDTH] = 0;
    snprintf (buffer, size, "[%s] %3.0f%%  ", bar, part * 100);
}

//  Once the client's own subscription is acknowledged, its totals replace
//  the probe's: the server deducted what the client holds already (cached
//  files, resumed prefixes), which the probe cannot offer.
static void
s_progress_adopt (s_progress_t *self, zmx_files_client_t *client)
{
    if (self->adopted || !zmx_files_client_counter (client, "subscribed"))
        return;
    self->adopted = true;
    uint64_t files = zmx_files_client_counter (client, "files_queued");
    uint64_t bytes = zmx_files_client_counter (client, "bytes_queued");
    if (files || bytes || self->files_total >= 0) {
        self->files_total = (int64_t) files;
        self->bytes_total = bytes;
    }
}

//  Draw the bar, or print a plain line, for the client's counters now.
//  Without a byte total (see docs/CLI.md) there is no bar and no ETA.
static void
s_progress_show (s_progress_t *self, zmx_files_client_t *client, bool final)
{
    s_progress_adopt (self, client);
    int64_t now = zclock_mono ();
    uint64_t bytes = zmx_files_client_counter (client, "bytes_received");
    uint64_t files = zmx_files_client_counter (client, "files_received");
    double seconds = (now - self->started) / 1000.0;
    double rate = seconds > 0? bytes / seconds: 0;
    char done [32], speed [32], total [64] = "", eta [32] = "", bar [S_BAR_WIDTH + 16] = "";
    s_format_bytes (done, sizeof done, (double) bytes);
    s_format_bytes (speed, sizeof speed, rate);
    if (self->bytes_total) {
        char text [32];
        s_format_bytes (text, sizeof text, (double) self->bytes_total);
        double left = bytes < self->bytes_total? (double) (self->bytes_total - bytes): 0;
        double part = final || bytes >= self->bytes_total? 1: (double) bytes / self->bytes_total;
        //  The bar shows the percentage on a terminal; plain lines say it here
        snprintf (total, sizeof total, self->tty? " of %s": " of %s (%.0f%%)", text,
                  part * 100);
        if (rate > 0 || final)
            snprintf (eta, sizeof eta, "  ETA %.0fs", final? 0: left / rate);
        else
            snprintf (eta, sizeof eta, "  ETA ?");
        s_format_bar (bar, sizeof bar, part);
    }
    char files_text [48];
    if (self->files_total >= 0)
        snprintf (files_text, sizeof files_text, "%" PRIu64 "/%" PRId64 " files", files,
                  self->files_total);
    else
        snprintf (files_text, sizeof files_text, "%" PRIu64 " files", files);
    if (self->tty) {
        printf ("\r%s%s  %s%s  %s/s%s\033[K", bar, files_text, done, total,
                speed, eta);
        self->drawn = true;
    }
    else
    if (final || bytes != self->bytes_shown)
        printf ("sync: %s, %s%s, %s/s%s\n", files_text, done, total, speed, eta);
    self->bytes_shown = bytes;
    self->last_print = now;
    fflush (stdout);
}

static void
s_progress_tick (s_progress_t *self, zmx_files_client_t *client)
{
    int64_t interval = self->tty? S_TICK_TTY_MS: S_TICK_PLAIN_MS;
    if (zclock_mono () - self->last_print >= interval)
        s_progress_show (self, client, false);
}

//  Leave the terminal on a fresh line.
static void
s_progress_end (s_progress_t *self)
{
    if (self->tty && self->drawn)
        putchar ('\n');
    self->drawn = false;
}

//  -------------------------------------------------------------------------
//  sync

//  Ask the server first (see the file header). Returns 0 with the files
//  published and their size (as s_peer_open), or the exit code.
static int
s_sync_probe (s_files_t *self, int64_t *queued_p, uint64_t *bytes_p)
{
    s_peer_t peer = { NULL };
    int rc = s_peer_open (&peer, self, queued_p, bytes_p);
    s_peer_close (&peer);
    return rc;
}

//  Wait for the first sync, drawing progress. Returns the exit code.
static int
s_sync_wait (s_files_t *self, zmx_files_client_t *client, s_progress_t *progress)
{
    while (!zsys_interrupted) {
        int rc = zmx_files_client_wait_synced (client, progress->tty? S_TICK_TTY_MS:
                                                                      S_TICK_PLAIN_MS);
        if (rc == ZMX_OK) {
            s_progress_show (progress, client, true);
            s_progress_end (progress);
            return ZMX_EXIT_OK;
        }
        if (rc == ZMX_ETERM || zsys_interrupted)
            break;
        if (rc != ZMX_ETIMEDOUT) {
            s_progress_end (progress);
            fprintf (stderr, "zmx: sync of %s from %s stopped: %s%s\n", self->path,
                     self->endpoint, zmx_strerror (rc), rc == ZMX_ESECURITY?
                     " (the server refused us: check the path and its access rules)": "");
            return rc == ZMX_ESECURITY? ZMX_EXIT_SECURITY: ZMX_EXIT_ERROR;
        }
        s_progress_tick (progress, client);
    }
    s_progress_end (progress);
    fprintf (stderr, "zmx: interrupted; partial files are kept in %s/%s and resumed "
                     "by the next sync\n", self->directory, ZMX_FILES_PARTIAL_DIR);
    return ZMX_EXIT_ERROR;
}

//  --follow: report each change as plain lines until a signal.
static void
s_sync_follow (s_files_t *self, zmx_files_client_t *client)
{
    uint64_t files = zmx_files_client_counter (client, "files_received");
    uint64_t deleted = zmx_files_client_counter (client, "files_deleted");
    printf ("sync: following %s from %s; Ctrl-C stops\n", self->path, self->endpoint);
    while (!zsys_interrupted) {
        zclock_sleep (S_TICK_PLAIN_MS);
        uint64_t files_now = zmx_files_client_counter (client, "files_received");
        uint64_t deleted_now = zmx_files_client_counter (client, "files_deleted");
        if (files_now != files || deleted_now != deleted)
            printf ("sync: %" PRIu64 " file%s received, %" PRIu64 " deleted\n",
                    files_now - files, files_now - files == 1? "": "s", deleted_now - deleted);
        files = files_now;
        deleted = deleted_now;
    }
}

static int
s_sync_run (s_files_t *self)
{
    int64_t queued = -1;
    uint64_t bytes = 0;
    int rc = s_curve_check (self);
    if (rc == 0)
        rc = s_sync_probe (self, &queued, &bytes);
    if (rc)
        return rc;
    zmx_files_client_t *client = zmx_files_client_new (self->endpoint, self->path,
                                                       self->directory);
    if (client && self->curve_cert
    &&  zmx_files_client_set_curve (client, self->curve_cert, self->server_key) != ZMX_OK) {
        zmx_files_client_destroy (&client);
        return s_curve_check (self)? ZMX_EXIT_SECURITY: ZMX_EXIT_ERROR;
    }
    if (client)
        zmx_files_client_set_verify (client, self->verify);
    //  The client's thread inherits this mask: SIGINT and SIGTERM then
    //  reach this thread only, and cut its waits short at once
    sigset_t signals, previous;
    sigemptyset (&signals);
    sigaddset (&signals, SIGINT);
    sigaddset (&signals, SIGTERM);
    pthread_sigmask (SIG_BLOCK, &signals, &previous);
    rc = client? zmx_files_client_start (client): ZMX_EINVAL;
    pthread_sigmask (SIG_SETMASK, &previous, NULL);
    if (rc != ZMX_OK) {
        fprintf (stderr, "zmx: cannot mirror into '%s': check that it is (or can be "
                         "created as) a writable directory\n", self->directory);
        zmx_files_client_destroy (&client);
        return ZMX_EXIT_ERROR;
    }
    s_progress_t progress = { .tty = isatty (STDOUT_FILENO), .started = zclock_mono (),
                              .files_total = queued, .bytes_total = bytes };
    rc = s_sync_wait (self, client, &progress);
    if (rc == ZMX_EXIT_OK) {
        double seconds = (zclock_mono () - progress.started) / 1000.0;
        printf ("synced %s from %s into %s: %" PRIu64 " files received, %" PRIu64
                " bytes in %.1f s\n", self->path, self->endpoint, self->directory,
                zmx_files_client_counter (client, "files_received"),
                zmx_files_client_counter (client, "bytes_received"), seconds);
        if (self->follow)
            s_sync_follow (self, client);
    }
    zmx_files_client_destroy (&client);
    return rc;
}

//  -------------------------------------------------------------------------
//  serve

//  The files service's config for one published directory.
static zconfig_t *
s_serve_config (s_files_t *self, const char *directory)
{
    zconfig_t *config = zconfig_new ("files", NULL);
    zconfig_put (config, "endpoint", self->endpoint);
    zconfig_t *publish = zconfig_new ("publish", config);
    zconfig_put (publish, "directory", directory);
    zconfig_put (publish, "path", self->path);
    return config;
}

//  The security policy for --curve/--clients: NULL config without them.
//  Returns 0 (*security_p NULL or the policy) or ZMX_EXIT_SECURITY.
static int
s_serve_security (s_files_t *self, zmx_security_t **security_p)
{
    *security_p = NULL;
    if (!self->server_cert)
        return 0;
    zconfig_t *config = zconfig_new ("security", NULL);
    zconfig_put (config, "curve", "1");
    zconfig_put (config, "certificate", self->server_cert);
    zconfig_put (config, "clients", self->clients);
    *security_p = zmx_security_new (config);
    zconfig_destroy (&config);
    if (*security_p)
        return 0;
    fprintf (stderr, "zmx: cannot serve with CURVE certificate '%s' and clients '%s' "
                     "(reason above): check both (create a certificate with zmx keygen; "
                     "--clients is a directory of public certificates, or *)\n",
             self->server_cert, self->clients);
    return ZMX_EXIT_SECURITY;
}

//  Hash and announce every file now, so that "serving" means complete.
static int
s_serve_rescan (zmx_service_t *service)
{
    zactor_t *actor = zmx_service_actor (service);
    if (zstr_send (actor, ZMX_FILES_RESCAN))
        return -1;
    char *reply = zstr_recv (actor);
    int rc = reply && streq (reply, "OK")? 0: -1;
    free (reply);
    return rc;
}

//  Wait for a signal (the service never writes to its pipe unasked).
static void
s_serve_wait (zmx_service_t *service)
{
    zpoller_t *poller = zpoller_new (zmx_service_actor (service), NULL);
    while (!zsys_interrupted) {
        void *which = zpoller_wait (poller, 1000);
        if (zpoller_terminated (poller))
            break;
        if (which) {
            zmsg_t *msg = zmsg_recv (which);
            if (!msg)
                break;
            zmsg_destroy (&msg);
        }
    }
    zpoller_destroy (&poller);
}

static int
s_serve_run (s_files_t *self)
{
    struct stat st;
    char *directory = realpath (self->directory, NULL);
    if (!directory || stat (directory, &st) || !S_ISDIR (st.st_mode)) {
        fprintf (stderr, "zmx: '%s' is not a directory: give the directory to publish\n",
                 self->directory);
        free (directory);
        return ZMX_EXIT_ERROR;
    }
    zmx_security_t *security = NULL;
    if (s_serve_security (self, &security)) {
        free (directory);
        return ZMX_EXIT_SECURITY;
    }
    zconfig_t *config = s_serve_config (self, directory);
    zmx_service_t *service = zmx_service_new ("files", zmx_files_actor, config, security);
    int rc = ZMX_EXIT_OK;
    if (!service) {
        fprintf (stderr, "zmx: cannot serve on %s (reason above): if the port is in use, "
                         "stop the other server or pass another -e\n", self->endpoint);
        rc = ZMX_EXIT_ERROR;
    }
    else
    if (s_serve_rescan (service)) {
        fprintf (stderr, "zmx: the files service did not finish scanning %s\n", directory);
        rc = ZMX_EXIT_ERROR;
    }
    else {
        printf ("zmx files: serving %s as %s on %s%s\n", directory, self->path,
                zmx_service_endpoint (service), security? " with CURVE": "");
        fflush (stdout);
        s_serve_wait (service);
    }
    zmx_service_destroy (&service);
    zmx_security_destroy (&security);
    zconfig_destroy (&config);
    free (directory);
    return rc;
}

//  -------------------------------------------------------------------------

//  A transfer allocates one buffer per chunk (the server's frame, libzmq's
//  receive buffer in the client) and frees it once sent or written. With
//  glibc's defaults a freed 256 KiB buffer at the top of a thread's heap is
//  often trimmed back to the kernel and faulted in again, zeroed, for a
//  later chunk: up to 100,000 page faults per GiB sent, about a fifth of
//  the server's CPU. Fixed thresholds keep such buffers for reuse; what
//  stays free is bounded by the trim threshold. Environment settings
//  (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_) take precedence.
static void
s_malloc_tune (void)
{
    if (!getenv ("MALLOC_MMAP_THRESHOLD_"))
        mallopt (M_MMAP_THRESHOLD, S_MALLOC_MMAP_THRESHOLD);
    if (!getenv ("MALLOC_TRIM_THRESHOLD_"))
        mallopt (M_TRIM_THRESHOLD, S_MALLOC_TRIM_THRESHOLD);
}

int
zmx_cli_files (int argc, char *argv [])
{
    if (argc < 2)
        return zmx_cli_usage_error (zmx_cli_files_usage, "files needs a verb: serve, sync "
                                    "or ls");
    const char *verb = argv [1];
    if (streq (verb, "--help") || streq (verb, "-h")) {
        zmx_cli_files_usage (stdout);
        return ZMX_EXIT_OK;
    }
    s_files_t self = { .timeout = S_TIMEOUT, .path = "/" };
    if (streq (verb, "serve"))
        self.verb = S_SERVE;
    else
    if (streq (verb, "sync"))
        self.verb = S_SYNC;
    else
    if (streq (verb, "ls"))
        self.verb = S_LS;
    else
        return zmx_cli_usage_error (zmx_cli_files_usage, "unknown verb '%s': use serve, "
                                    "sync or ls", verb);
    const char *endpoint = getenv (S_ENV_FILES);
    self.endpoint = endpoint && *endpoint? endpoint: ZMX_FILES_DEFAULT_ENDPOINT;
    //  getopt prefixes its messages with argv [0]: make it "zmx files VERB"
    char name [64];
    snprintf (name, sizeof name, "zmx files %s", verb);
    argv [1] = name;
    int rc = s_parse (argc - 1, argv + 1, &self);
    if (rc != S_CONTINUE)
        return rc;
    zsys_init ();               //  Installs the SIGINT/SIGTERM handler
    s_malloc_tune ();
    if (self.verb == S_SERVE)
        return s_serve_run (&self);
    //  A client may name its server: -e name:NAME
    char *resolved = zmx_cli_resolve (self.endpoint, self.timeout, &rc);
    if (!resolved)
        return rc;
    self.endpoint = resolved;
    rc = self.verb == S_SYNC? s_sync_run (&self): s_ls_run (&self);
    zstr_free (&resolved);
    return rc;
}
