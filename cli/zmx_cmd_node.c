/*  =========================================================================
    zmx peers, shout, whisper, listen - a ZRE node on the command line

    Each command runs one zmx_node (36/ZRE) for as long as it needs:

        zmx peers [--group G]        print peers as they come and go
        zmx shout GROUP MESSAGE      wait for a member of GROUP, shout, exit
        zmx whisper NAME MESSAGE     wait for a peer called NAME, whisper, exit
        zmx listen GROUP...          join groups, print what arrives

    Output is one line per event, flushed at once, fields separated by one
    space, so that scripts and tests can follow it line by line:

        ENTER <name> <uuid> <endpoint> [HEADER=VALUE...]
        JOIN <name> <group>             LEAVE <name> <group>
        EXIT <name> <uuid>              EVASIVE <name>     SILENT <name>
        SHOUT <group> <name> <text>     WHISPER <name> <text>

    Message frames are printed as text, frames separated by a space, with
    bytes outside printable ASCII (and backslash) written as \xNN.
    =========================================================================
*/
#include "zmx_cli.h"
#include <zmx/zmx_node.h>

#define S_CONTINUE      -1      //  s_parse: arguments fine, go on
#define S_WAIT_SEND     5000    //  shout/whisper: wait for a recipient, msec
#define S_WAIT_ONCE     3000    //  peers --once: collect this long, msec
#define S_LINGER        ZMX_NODE_LINGER     //  shout/whisper: at stop, for delivery
#define S_MAX_PRINT     4096    //  Bytes of one frame printed, at most
#define S_TICK          100     //  Longest poll, so that signals are seen

//  Which command an option belongs to
enum {
    S_CMD_PEERS = 1,
    S_CMD_SHOUT = 2,
    S_CMD_WHISPER = 4,
    S_CMD_LISTEN = 8,
    S_CMD_ALL = 15
};

//  Long-only option ids (above the shared ones in zmx_cli.h)
enum {
    S_OPT_INTERVAL = 512,
    S_OPT_EVASIVE,
    S_OPT_EXPIRED,
    S_OPT_ENDPOINT,
    S_OPT_PEER,
    S_OPT_ONCE,
    S_OPT_MEMBERS,
    S_OPT_LINGER,
    S_OPT_VERBOSE,
    S_OPT_STATS
};

typedef struct {
    int command;                //  S_CMD_*
    const char *name;           //  -n: node name, or NULL (from the UUID)
    const char *iface;          //  -i: beacon interface, or NULL
    int port;                   //  -p: beacon port
    bool iface_given, port_given;       //  -i, -p given: --zmxd leaves them
    int interval, evasive, expired;     //  msec; 0 = library default
    const char *endpoint;       //  --endpoint: mailbox bind, or NULL
    zlist_t *fixed;             //  --peer endpoints
    zlist_t *headers;           //  -H NAME=VALUE
    const char *group;          //  peers --group filter, or NULL
    int wait;                   //  -w: msec; 0 = command default / forever
    bool wait_given;            //  -w was given
    bool once;                  //  peers --once
    bool stats;                 //  peers --stats
    bool json;                  //  peers --json
    int count;                  //  listen -c: stop after N messages (0: never)
    int members;                //  shout --members: wait for N members
    int linger;                 //  shout/whisper: the node's linger at stop
    bool verbose;               //  --verbose: log at debug level
    char **args;                //  Positional arguments
    int arg_count;
} s_options_t;

//  What the command knows about one peer, from the events
typedef struct {
    char *uuid;
    char *name;
    char *endpoint;
    char *headers;              //  " NAME=VALUE..." as printed, or ""
    zhash_t *header_table;      //  The same as NAME -> VALUE (--json)
    zlist_t *groups;            //  Group names (autofree)
    bool shown;                 //  ENTER printed (peers --group)
} s_peer_t;

//  peers --json: events and the --once view as JSON, not text
static bool s_json = false;

//  -------------------------------------------------------------------------
//  Usage

static void
s_common_usage (FILE *stream)
{
    fprintf (stream,
        "\n"
        "node options (every command):\n"
        "  -n, --name NAME        this node's name (default: from its UUID)\n"
        "  -i, --interface IFACE  interface or IPv4 address for beacons (default:\n"
        "                         $ZSYS_INTERFACE, else \"lo\" as zmxd's built-in\n"
        "                         config: this host only)\n"
        "  -p, --port PORT        UDP beacon port, 0 for none (default %d)\n"
        "  --zmxd HOST[:BASE]     beacon on that zmxd's port (BASE + 115), on lo\n"
        "                         if HOST is loopback (default $ZMX_ZMXD);\n"
        "                         -i and -p win\n"
        "  --interval MS          beacon interval (default %d)\n"
        "  --evasive MS           silence before a peer is pinged (default %d)\n"
        "  --expired MS           silence before a peer is dropped (default %d)\n"
        "  --endpoint ENDPOINT    mailbox to bind, e.g. tcp://10.0.0.5:*\n"
        "  --peer ENDPOINT        also reach this peer mailbox without beacons\n"
        "                         (repeatable)\n"
        "  -H, --header NAME=VALUE  header to advertise (repeatable)\n"
        "  -v, --verbose          log the node's activity on stderr (otherwise\n"
        "                         only errors are logged)\n"
        "\n"
        "Exit codes: 0 ok, 1 error (e.g. no such interface, message not\n"
        "delivered), 2 usage, 3 timeout.\n",
        ZMX_NODE_BEACON_PORT, ZMX_NODE_BEACON_INTERVAL, ZMX_NODE_EVASIVE_TIMEOUT,
        ZMX_NODE_EXPIRED_TIMEOUT);
}

void
zmx_cli_peers_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx peers [--group GROUP] [-w MS] [--once] [--stats | --json]\n"
        "                 [node options]\n"
        "\n"
        "Print ZRE peers as they enter and leave, with their groups and headers,\n"
        "one line per event (ENTER, JOIN, LEAVE, EXIT, EVASIVE, SILENT), until\n"
        "interrupted.\n"
        "\n"
        "  -g, --group GROUP      only peers in this group\n"
        "  -w, --wait MS          stop after MS (exit 0)\n"
        "  --once                 collect for -w MS (default %d), then print one\n"
        "                         line per peer: NAME UUID ENDPOINT GROUPS HEADERS\n"
        "  --stats                at the end, print the node's counters on one\n"
        "                         line: STATS NAME=VALUE...\n"
        "  --json                 each event as one JSON object per line; with\n"
        "                         --once, one JSON array of peers (not with\n"
        "                         --stats)\n",
        S_WAIT_ONCE);
    s_common_usage (stream);
}

void
zmx_cli_shout_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx shout [--members N] [-w MS] [node options] GROUP MESSAGE [FRAME...]\n"
        "\n"
        "Wait for the members of GROUP, send them MESSAGE (and each FRAME as one\n"
        "more frame), and exit. Exit 3 if no member appears in time, 1 if a\n"
        "member did not confirm receipt.\n"
        "\n"
        "  --members N            send once N members are seen (default: every\n"
        "                         member of the nodes beaconing at start, seen\n"
        "                         within 1.5 beacon intervals)\n"
        "  -w, --wait MS          how long to wait for them (default %d)\n"
        "  --linger MS            at stop, wait at most this long for the members\n"
        "                         to confirm receipt; 0 stops at once (default %d)\n",
        S_WAIT_SEND, S_LINGER);
    s_common_usage (stream);
}

void
zmx_cli_whisper_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx whisper [-w MS] [node options] PEER MESSAGE [FRAME...]\n"
        "\n"
        "Wait for a peer whose name (or UUID) is PEER, send it MESSAGE (and each\n"
        "FRAME as one more frame), and exit; every peer of that name known then\n"
        "gets it. Exit 3 if no such peer appears in time, 1 if it could not be\n"
        "sent or was not confirmed (the peer left).\n"
        "\n"
        "  -w, --wait MS          how long to wait for the peer (default %d)\n"
        "  --linger MS            at stop, wait at most this long for the peers to\n"
        "                         confirm receipt; 0 stops at once (default %d)\n",
        S_WAIT_SEND, S_LINGER);
    s_common_usage (stream);
}

void
zmx_cli_listen_usage (FILE *stream)
{
    fprintf (stream,
        "usage: zmx listen [-c COUNT] [-w MS] [node options] GROUP [GROUP...]\n"
        "\n"
        "Join the groups and print every message this node receives, one line\n"
        "each: \"SHOUT GROUP NAME TEXT\" or \"WHISPER NAME TEXT\".\n"
        "\n"
        "  -c, --count N          exit after N messages (exit 3 if -w ends first)\n"
        "  -w, --wait MS          stop after MS (exit 0 unless -c is unmet)\n");
    s_common_usage (stream);
}

//  -------------------------------------------------------------------------
//  Arguments

static void
s_options_free (s_options_t *options)
{
    zlist_destroy (&options->fixed);
    zlist_destroy (&options->headers);
}

static void (*s_usage_of (int command)) (FILE *)
{
    return command == S_CMD_PEERS? zmx_cli_peers_usage:
           command == S_CMD_SHOUT? zmx_cli_shout_usage:
           command == S_CMD_WHISPER? zmx_cli_whisper_usage: zmx_cli_listen_usage;
}

//  Beacon on zmxd's port (from --zmxd or $ZMX_ZMXD), on lo if it is local.
static void
s_options_zmxd (s_options_t *options)
{
    int port;
    bool loopback;
    if (!zmx_cli_zmxd_beacon (&port, &loopback))
        return;
    if (!options->port_given)
        options->port = port;
    if (loopback && !options->iface_given)
        options->iface = "lo";
}

//  Handle one option. Returns 0, or an exit code (usage, or 0 for --help).
static int
s_option (s_options_t *options, int option, const char *value)
{
    void (*usage) (FILE *) = s_usage_of (options->command);
    int rc = 0;
    switch (option) {
        case 'n': options->name = value; break;
        case 'i': options->iface = value; options->iface_given = true; break;
        case 'p':
            rc = zmx_cli_parse_int (value, "--port", 0, 65535, &options->port);
            options->port_given = true;
            break;
        case ZMX_CLI_OPT_ZMXD:
            rc = zmx_cli_zmxd_option (value, 0, NULL, false) < 0;
            if (!rc)
                s_options_zmxd (options);
            break;
        case S_OPT_INTERVAL:
            rc = zmx_cli_parse_int (value, "--interval", ZMX_NODE_TIME_MIN,
                                    ZMX_NODE_TIME_MAX, &options->interval);
            break;
        case S_OPT_EVASIVE:
            rc = zmx_cli_parse_int (value, "--evasive", ZMX_NODE_TIME_MIN,
                                    ZMX_NODE_TIME_MAX, &options->evasive);
            break;
        case S_OPT_EXPIRED:
            rc = zmx_cli_parse_int (value, "--expired", ZMX_NODE_TIME_MIN,
                                    ZMX_NODE_TIME_MAX, &options->expired);
            break;
        case S_OPT_ENDPOINT: options->endpoint = value; break;
        case S_OPT_PEER: zlist_append (options->fixed, (char *) value); break;
        case 'H':
            if (!strchr (value, '=') || *value == '=')
                return zmx_cli_usage_error (usage, "--header wants NAME=VALUE, not '%s'",
                                            value);
            zlist_append (options->headers, (char *) value);
            break;
        case 'g': options->group = value; break;
        case 'w':
            rc = zmx_cli_parse_int (value, "--wait", 0, INT_MAX, &options->wait);
            options->wait_given = true;
            break;
        case S_OPT_ONCE: options->once = true; break;
        case S_OPT_STATS: options->stats = true; break;
        case ZMX_CLI_OPT_JSON: options->json = true; break;
        case 'c': rc = zmx_cli_parse_int (value, "--count", 1, INT_MAX, &options->count); break;
        case S_OPT_MEMBERS:
            rc = zmx_cli_parse_int (value, "--members", 1, ZMX_NODE_MAX_PEERS * 100,
                                    &options->members);
            break;
        case S_OPT_LINGER:
            rc = zmx_cli_parse_int (value, "--linger", 0, ZMX_NODE_TIME_MAX, &options->linger);
            break;
        case 'v':
        case S_OPT_VERBOSE: options->verbose = true; break;
        case ZMX_CLI_OPT_HELP:
            usage (stdout);
            return ZMX_EXIT_OK;
        default:
            usage (stderr);
            return ZMX_EXIT_USAGE;
    }
    if (rc) {
        usage (stderr);
        return ZMX_EXIT_USAGE;
    }
    return 0;
}

//  Parse argv for `command`. Returns S_CONTINUE, or the exit code.
static int
s_parse (int argc, char *argv [], s_options_t *options)
{
    //  Each option with the commands that take it
    static const struct { struct option option; int commands; } table [] = {
        { { "name", required_argument, NULL, 'n' }, S_CMD_ALL },
        { { "interface", required_argument, NULL, 'i' }, S_CMD_ALL },
        { { "port", required_argument, NULL, 'p' }, S_CMD_ALL },
        { { "interval", required_argument, NULL, S_OPT_INTERVAL }, S_CMD_ALL },
        { { "evasive", required_argument, NULL, S_OPT_EVASIVE }, S_CMD_ALL },
        { { "expired", required_argument, NULL, S_OPT_EXPIRED }, S_CMD_ALL },
        { { "endpoint", required_argument, NULL, S_OPT_ENDPOINT }, S_CMD_ALL },
        { { "peer", required_argument, NULL, S_OPT_PEER }, S_CMD_ALL },
        { { "header", required_argument, NULL, 'H' }, S_CMD_ALL },
        { { "verbose", no_argument, NULL, S_OPT_VERBOSE }, S_CMD_ALL },
        { { "help", no_argument, NULL, ZMX_CLI_OPT_HELP }, S_CMD_ALL },
        { { "zmxd", required_argument, NULL, ZMX_CLI_OPT_ZMXD }, S_CMD_ALL },
        { { "wait", required_argument, NULL, 'w' }, S_CMD_ALL },
        { { "group", required_argument, NULL, 'g' }, S_CMD_PEERS },
        { { "once", no_argument, NULL, S_OPT_ONCE }, S_CMD_PEERS },
        { { "stats", no_argument, NULL, S_OPT_STATS }, S_CMD_PEERS },
        { { "json", no_argument, NULL, ZMX_CLI_OPT_JSON }, S_CMD_PEERS },
        { { "count", required_argument, NULL, 'c' }, S_CMD_LISTEN },
        { { "members", required_argument, NULL, S_OPT_MEMBERS }, S_CMD_SHOUT },
        { { "linger", required_argument, NULL, S_OPT_LINGER }, S_CMD_SHOUT | S_CMD_WHISPER },
    };
    struct option longopts [sizeof table / sizeof table [0] + 1];
    size_t count = 0;
    for (size_t index = 0; index < sizeof table / sizeof table [0]; index++)
        if (table [index].commands & options->command)
            longopts [count++] = table [index].option;
    memset (&longopts [count], 0, sizeof longopts [count]);
    const char *shorts = options->command == S_CMD_PEERS? "n:i:p:H:w:g:hv":
                         options->command == S_CMD_LISTEN? "n:i:p:H:w:c:hv": "n:i:p:H:w:hv";
    int option;
    while ((option = getopt_long (argc, argv, shorts, longopts, NULL)) != -1) {
        int rc = s_option (options, option, optarg);
        if (rc || option == ZMX_CLI_OPT_HELP)
            return rc;
    }
    options->args = argv + optind;
    options->arg_count = argc - optind;
    return S_CONTINUE;
}

static void
s_options_init (s_options_t *options, int command)
{
    memset (options, 0, sizeof *options);
    options->command = command;
    options->port = ZMX_NODE_BEACON_PORT;
    s_options_zmxd (options);
    options->members = 0;       //  0: every member seen as discovery settles
    options->linger = S_LINGER;
    options->fixed = zlist_new ();
    options->headers = zlist_new ();
}

//  -------------------------------------------------------------------------
//  The node

//  Add "OPTION VALUE" to the list of refused options in *refused_p.
static void
s_refuse (char **refused_p, const char *option, const char *value)
{
    char *longer = zsys_sprintf ("%s%s%s '%s'", *refused_p? *refused_p: "",
                                 *refused_p? ", ": "", option, value);
    free (*refused_p);
    *refused_p = longer;
}

//  The interface: -i, else $ZSYS_INTERFACE, else loopback, where zmxd's
//  built-in config runs its node (the first broadcast interface would
//  not hear it).
static const char *
s_interface (const s_options_t *options)
{
    if (options->iface)
        return options->iface;
    return *zsys_interface ()? zsys_interface (): "lo";
}

//  Apply the settings that are not left at their defaults. Returns 0, or
//  -1 after naming every option the node refused.
static int
s_node_configure (zmx_node_t *node, const s_options_t *options)
{
    char *refused = NULL;
    char number [16];
    if (zmx_node_set_interface (node, s_interface (options)))
        s_refuse (&refused, "--interface", s_interface (options));
    snprintf (number, sizeof number, "%d", options->port);
    if (zmx_node_set_beacon_port (node, options->port))
        s_refuse (&refused, "--port", number);
    snprintf (number, sizeof number, "%d", options->interval);
    if (options->interval && zmx_node_set_beacon_interval (node, options->interval))
        s_refuse (&refused, "--interval", number);
    snprintf (number, sizeof number, "%d", options->evasive);
    if (options->evasive && zmx_node_set_evasive_timeout (node, options->evasive))
        s_refuse (&refused, "--evasive", number);
    snprintf (number, sizeof number, "%d", options->expired);
    if (options->expired && zmx_node_set_expired_timeout (node, options->expired))
        s_refuse (&refused, "--expired", number);
    if (options->endpoint && zmx_node_set_endpoint (node, options->endpoint))
        s_refuse (&refused, "--endpoint", options->endpoint);
    //  The node itself waits for delivery as it stops (zmx_node_set_linger)
    snprintf (number, sizeof number, "%d", options->linger);
    if ((options->command & (S_CMD_SHOUT | S_CMD_WHISPER))
    &&  zmx_node_set_linger (node, options->linger))
        s_refuse (&refused, "--linger", number);
    for (char *peer = (char *) zlist_first (options->fixed); peer;
         peer = (char *) zlist_next (options->fixed))
        if (zmx_node_connect_peer (node, peer))
            s_refuse (&refused, "--peer", peer);
    for (char *header = (char *) zlist_first (options->headers); header;
         header = (char *) zlist_next (options->headers)) {
        char *name = strdup (header);
        char *equals = strchr (name, '=');
        *equals = 0;
        if (zmx_node_set_header (node, name, "%s", equals + 1))
            s_refuse (&refused, "--header", header);
        free (name);
    }
    if (refused) {
        fprintf (stderr, "zmx: the node refused %s\n", refused);
        free (refused);
        return -1;
    }
    return 0;
}

//  Create and start the node, having joined `groups`. Returns NULL with
//  the problem printed and *exit_p set.
static zmx_node_t *
s_node_start (const s_options_t *options, char **groups, int group_count, int *exit_p)
{
    *exit_p = ZMX_EXIT_USAGE;
    zmx_node_t *node = zmx_node_new (options->name);
    if (!node) {
        fprintf (stderr, "zmx: invalid node name '%s': use 1 to %d printable bytes\n",
                 options->name, ZMX_NODE_MAX_NAME);
        return NULL;
    }
    int rc = s_node_configure (node, options);
    for (int index = 0; rc == 0 && index < group_count; index++)
        if (zmx_node_join (node, groups [index])) {
            fprintf (stderr, "zmx: invalid group name '%s'\n", groups [index]);
            rc = -1;
        }
    if (rc == 0) {
        rc = zmx_node_start (node);
        //  The node has logged the precise reason; say which options to
        //  look at
        if (rc == ZMX_ECONFIG) {
            fprintf (stderr, "zmx: %s: --expired must be above --evasive, and without "
                             "beacons --endpoint needs an address\n", zmx_strerror (rc));
            *exit_p = ZMX_EXIT_USAGE;
        }
        else
        if (rc != ZMX_OK) {
            fprintf (stderr, "zmx: cannot start the node: %s (reason above); check "
                             "--interface, --port and --endpoint\n", zmx_strerror (rc));
            *exit_p = ZMX_EXIT_ERROR;
        }
    }
    if (rc != 0)
        zmx_node_destroy (&node);
    return node;
}

//  -------------------------------------------------------------------------
//  Events

static void
s_peer_free (void **item_p)
{
    s_peer_t *peer = (s_peer_t *) *item_p;
    if (peer) {
        free (peer->uuid);
        free (peer->name);
        free (peer->endpoint);
        free (peer->headers);
        zhash_destroy (&peer->header_table);
        zlist_destroy (&peer->groups);
        free (peer);
        *item_p = NULL;
    }
}

//  Print a frame as text: printable ASCII as is, other bytes as \xNN.
static void
s_print_frame (zframe_t *frame)
{
    const byte *data = zframe_data (frame);
    size_t size = zframe_size (frame) < S_MAX_PRINT? zframe_size (frame): S_MAX_PRINT;
    for (size_t index = 0; index < size; index++) {
        if (data [index] >= 32 && data [index] < 127 && data [index] != '\\')
            putchar (data [index]);
        else
            printf ("\\x%02x", data [index]);
    }
    if (zframe_size (frame) > size)
        printf ("...");
}

//  The headers frame of ENTER as " NAME=VALUE..." (sorted by name).
static char *
s_headers_text (zhash_t *headers)
{
    if (!headers)
        return strdup ("");
    zlist_t *keys = zhash_keys (headers);
    zlist_sort (keys, (zlist_compare_fn *) strcmp);
    char *text = strdup ("");
    for (char *key = (char *) zlist_first (keys); key; key = (char *) zlist_next (keys)) {
        char *longer = zsys_sprintf ("%s %s=%s", text, key,
                                     (char *) zhash_lookup (headers, key));
        free (text);
        text = longer;
    }
    zlist_destroy (&keys);
    return text;
}

//  Record an ENTER: event frames after the type are peer, name, headers,
//  endpoint. Returns the peer, or NULL for a malformed event.
static s_peer_t *
s_peer_enter (zhashx_t *peers, zmsg_t *event)
{
    char *uuid = zmsg_popstr (event);
    char *name = zmsg_popstr (event);
    zframe_t *headers = zmsg_pop (event);
    char *endpoint = zmsg_popstr (event);
    s_peer_t *peer = NULL;
    if (uuid && name && endpoint) {
        peer = (s_peer_t *) zmalloc (sizeof (s_peer_t));
        peer->uuid = uuid;
        peer->name = name;
        peer->endpoint = endpoint;
        peer->header_table = headers? zhash_unpack (headers): NULL;
        peer->headers = s_headers_text (peer->header_table);
        peer->groups = zlist_new ();
        zlist_autofree (peer->groups);
        zlist_comparefn (peer->groups, (zlist_compare_fn *) strcmp);
        zhashx_update (peers, uuid, peer);
        uuid = name = endpoint = NULL;
    }
    free (uuid);
    free (name);
    free (endpoint);
    zframe_destroy (&headers);
    return peer;
}

//  "headers": {NAME: VALUE...}, sorted by name
static void
s_json_headers (zmx_cli_json_t *writer, s_peer_t *peer)
{
    zmx_cli_json_key (writer, "headers");
    zmx_cli_json_open (writer, '{');
    zlist_t *keys = peer->header_table? zhash_keys (peer->header_table): zlist_new ();
    zlist_sort (keys, (zlist_compare_fn *) strcmp);
    for (char *key = (char *) zlist_first (keys); key; key = (char *) zlist_next (keys))
        zmx_cli_json_pair (writer, key, (char *) zhash_lookup (peer->header_table, key));
    zlist_destroy (&keys);
    zmx_cli_json_close (writer, '}');
}

//  With --json, one presence event as one object on one line: "event",
//  "name", then "uuid" (ENTER, EXIT), "endpoint" and "headers" (ENTER),
//  "group" (JOIN, LEAVE: `subject`).
static void
s_json_event (FILE *out, const char *type, s_peer_t *peer, const char *subject)
{
    zmx_cli_json_t *writer = zmx_cli_json_new (out);
    zmx_cli_json_open (writer, '{');
    zmx_cli_json_pair (writer, "event", type);
    zmx_cli_json_pair (writer, "name", peer->name);
    if (streq (type, ZMX_NODE_ENTER) || streq (type, ZMX_NODE_EXIT))
        zmx_cli_json_pair (writer, "uuid", peer->uuid);
    if (streq (type, ZMX_NODE_ENTER)) {
        zmx_cli_json_pair (writer, "endpoint", peer->endpoint);
        s_json_headers (writer, peer);
    }
    if (subject)
        zmx_cli_json_pair (writer, "group", subject);
    zmx_cli_json_close (writer, '}');
    zmx_cli_json_destroy (&writer);
}

//  Print one presence event about `peer` on `out` (NULL: quiet), as the
//  text line or as JSON.
static void
s_event_print (FILE *out, const char *type, s_peer_t *peer, const char *subject)
{
    if (!out)
        return;
    if (s_json)
        s_json_event (out, type, peer, subject);
    else
    if (streq (type, ZMX_NODE_ENTER))
        fprintf (out, "ENTER %s %s %s%s\n", peer->name, peer->uuid, peer->endpoint,
                 peer->headers);
    else
    if (subject)
        fprintf (out, "%s %s %s\n", type, peer->name, subject);
    else
    if (streq (type, ZMX_NODE_EXIT))
        fprintf (out, "EXIT %s %s\n", peer->name, peer->uuid);
    else
        fprintf (out, "%s %s\n", type, peer->name);
}

static void
s_print_enter (FILE *out, s_peer_t *peer)
{
    s_event_print (out, ZMX_NODE_ENTER, peer, NULL);
    peer->shown = true;
}

//  Handle one presence event for `peers`; prints it on `out` unless the
//  --group filter hides it. Message events are left to the caller.
static void
s_presence (FILE *out, const char *group, zhashx_t *peers, const char *type, zmsg_t *event)
{
    if (streq (type, ZMX_NODE_ENTER)) {
        s_peer_t *peer = s_peer_enter (peers, event);
        if (peer && !group)
            s_print_enter (out, peer);
        return;
    }
    char *uuid = zmsg_popstr (event);
    char *name = zmsg_popstr (event);
    char *subject = zmsg_popstr (event);        //  The group of JOIN and LEAVE
    s_peer_t *peer = uuid? (s_peer_t *) zhashx_lookup (peers, uuid): NULL;
    if (!peer || !name) {
        free (uuid);
        free (name);
        free (subject);
        return;
    }
    bool wanted = !group || zlist_exists (peer->groups, (void *) group);
    if (streq (type, ZMX_NODE_JOIN) && subject) {
        if (!zlist_exists (peer->groups, subject))
            zlist_append (peer->groups, subject);
        if (group && streq (group, subject) && !peer->shown)
            s_print_enter (out, peer);
        if (!group || streq (group, subject))
            s_event_print (out, ZMX_NODE_JOIN, peer, subject);
    }
    else
    if (streq (type, ZMX_NODE_LEAVE) && subject) {
        zlist_remove (peer->groups, subject);
        if (wanted)
            s_event_print (out, ZMX_NODE_LEAVE, peer, subject);
        if (group && streq (group, subject) && peer->shown) {
            s_event_print (out, ZMX_NODE_EXIT, peer, NULL);
            peer->shown = false;
        }
    }
    else
    if (streq (type, ZMX_NODE_EXIT)) {
        if (!group || peer->shown)
            s_event_print (out, ZMX_NODE_EXIT, peer, NULL);
        zhashx_delete (peers, uuid);
    }
    else
    if ((streq (type, ZMX_NODE_EVASIVE) || streq (type, ZMX_NODE_SILENT)) && wanted)
        s_event_print (out, type, peer, NULL);
    free (uuid);
    free (name);
    free (subject);
}

//  Receive the next event within `timeout` msec. Returns NULL on timeout
//  or interrupt; *type_p gets the event name (caller frees).
static zmsg_t *
s_event_recv (zmx_node_t *node, zpoller_t *poller, int timeout, char **type_p)
{
    *type_p = NULL;
    if (!zpoller_wait (poller, timeout < S_TICK? timeout: S_TICK))
        return NULL;
    zmsg_t *event = zmsg_recv (zmx_node_socket (node));
    *type_p = event? zmsg_popstr (event): NULL;
    if (!*type_p)
        zmsg_destroy (&event);
    return event;
}

static int64_t
s_left (int64_t deadline)
{
    int64_t left = deadline - zclock_mono ();
    return left < 0? 0: left;
}

//  -------------------------------------------------------------------------
//  zmx peers

//  Order of the --once table: by name, then UUID.
static int
s_peer_compare (const void *item1, const void *item2)
{
    const s_peer_t *peer1 = (const s_peer_t *) item1, *peer2 = (const s_peer_t *) item2;
    int order = strcmp (peer1->name, peer2->name);
    return order? order: strcmp (peer1->uuid, peer2->uuid);
}

//  One --once row as {"name", "uuid", "endpoint", "groups", "headers"}
static void
s_json_peer (zmx_cli_json_t *writer, s_peer_t *peer)
{
    zmx_cli_json_open (writer, '{');
    zmx_cli_json_pair (writer, "name", peer->name);
    zmx_cli_json_pair (writer, "uuid", peer->uuid);
    zmx_cli_json_pair (writer, "endpoint", peer->endpoint);
    zmx_cli_json_key (writer, "groups");
    zmx_cli_json_open (writer, '[');
    for (char *name = (char *) zlist_first (peer->groups); name;
         name = (char *) zlist_next (peer->groups))
        zmx_cli_json_string (writer, name);
    zmx_cli_json_close (writer, ']');
    s_json_headers (writer, peer);
    zmx_cli_json_close (writer, '}');
}

static void
s_print_view (zhashx_t *peers, const char *group)
{
    //  A list of the hash's items (no destructor: the hash owns them)
    zlistx_t *sorted = zlistx_new ();
    for (void *peer = zhashx_first (peers); peer; peer = zhashx_next (peers))
        zlistx_add_end (sorted, peer);
    zlistx_set_comparator (sorted, s_peer_compare);
    zlistx_sort (sorted);
    zmx_cli_json_t *writer = s_json? zmx_cli_json_new (stdout): NULL;
    if (writer)
        zmx_cli_json_open (writer, '[');
    else
        printf ("NAME UUID ENDPOINT GROUPS HEADERS\n");
    for (s_peer_t *peer = (s_peer_t *) zlistx_first (sorted); peer;
         peer = (s_peer_t *) zlistx_next (sorted)) {
        if (group && !zlist_exists (peer->groups, (void *) group))
            continue;
        zlist_sort (peer->groups, (zlist_compare_fn *) strcmp);
        if (writer) {
            s_json_peer (writer, peer);
            continue;
        }
        printf ("%s %s %s ", peer->name, peer->uuid, peer->endpoint);
        const char *separator = "";
        for (char *name = (char *) zlist_first (peer->groups); name;
             name = (char *) zlist_next (peer->groups), separator = ",")
            printf ("%s%s", separator, name);
        printf ("%s%s\n", zlist_size (peer->groups)? "": "-", peer->headers);
    }
    if (writer)
        zmx_cli_json_close (writer, ']');
    zmx_cli_json_destroy (&writer);
    zlistx_destroy (&sorted);
    fflush (stdout);
}

static void
s_print_stats (zmx_node_t *node)
{
    zmx_node_stats_t stats;
    zmx_node_stats (node, &stats);
    printf ("STATS peers=%" PRIu64 " peers_entered=%" PRIu64 " peers_exited=%" PRIu64
            " peers_refused=%" PRIu64 " peers_evasive=%" PRIu64 " peers_silent=%" PRIu64
            " beacons_sent=%" PRIu64 " beacons_received=%" PRIu64
            " beacons_malformed=%" PRIu64 " messages_sent=%" PRIu64
            " messages_received=%" PRIu64 " malformed=%" PRIu64 " out_of_sequence=%" PRIu64
            " before_hello=%" PRIu64 " pings_sent=%" PRIu64 " send_dropped=%" PRIu64
            " events_dropped=%" PRIu64 " peers_pending=%" PRIu64 " peers_throttled=%" PRIu64
            " hello_timeouts=%" PRIu64 " groups_refused=%" PRIu64 " peers_replaced=%" PRIu64
            " sockets_failed=%" PRIu64 "\n",
            stats.peers, stats.peers_entered, stats.peers_exited, stats.peers_refused,
            stats.peers_evasive, stats.peers_silent, stats.beacons_sent,
            stats.beacons_received, stats.beacons_malformed, stats.messages_sent,
            stats.messages_received, stats.malformed, stats.out_of_sequence,
            stats.before_hello, stats.pings_sent, stats.send_dropped, stats.events_dropped,
            stats.peers_pending, stats.peers_throttled, stats.hello_timeouts,
            stats.groups_refused, stats.peers_replaced, stats.sockets_failed);
    fflush (stdout);
}

static int
s_peers_run (zmx_node_t *node, const s_options_t *options)
{
    zhashx_t *peers = zhashx_new ();
    zhashx_set_destructor (peers, s_peer_free);
    zpoller_t *poller = zpoller_new (zmx_node_socket (node), NULL);
    int wait = options->once && !options->wait_given? S_WAIT_ONCE: options->wait;
    bool forever = !options->once && !options->wait_given;
    int64_t deadline = zclock_mono () + wait;
    while (!zsys_interrupted && (forever || s_left (deadline) > 0)) {
        char *type;
        zmsg_t *event = s_event_recv (node, poller, forever? S_TICK: (int) s_left (deadline),
                                      &type);
        if (!event)
            continue;
        //  --once collects quietly: the table at the end says it all
        s_presence (options->once? NULL: stdout, options->group, peers, type, event);
        fflush (stdout);
        free (type);
        zmsg_destroy (&event);
    }
    if (options->once)
        s_print_view (peers, options->group);
    if (options->stats)
        s_print_stats (node);
    zpoller_destroy (&poller);
    zhashx_destroy (&peers);
    return ZMX_EXIT_OK;
}

//  -------------------------------------------------------------------------
//  Entry points

//  Parse and check the arguments of a command taking `min` positional
//  arguments at least and `max` at most (-1: no limit).
static int
s_prepare (int argc, char *argv [], s_options_t *options, int min, int max,
           const char *wanted)
{
    int rc = s_parse (argc, argv, options);
    if (rc != S_CONTINUE)
        return rc;
    void (*usage) (FILE *) = s_usage_of (options->command);
    if (options->arg_count < min)
        return zmx_cli_usage_error (usage, "missing %s", wanted);
    if (max >= 0 && options->arg_count > max)
        return zmx_cli_usage_error (usage, "unexpected argument '%s'",
                                    options->args [max]);
    if (options->once && !options->wait_given)
        options->wait = S_WAIT_ONCE;
    //  The node's log is for debugging: a command's output and its own
    //  messages say what happened. Errors still explain a failed start.
    if (options->verbose)
        zmx_log_set_level (ZMX_LOG_DEBUG);
    else
    if (!getenv ("ZMX_LOG_LEVEL"))
        zmx_log_set_level (ZMX_LOG_ERROR);
    zsys_init ();               //  SIGINT and SIGTERM end the command cleanly
    return S_CONTINUE;
}

int
zmx_cli_peers (int argc, char *argv [])
{
    s_options_t options;
    s_options_init (&options, S_CMD_PEERS);
    int rc = s_prepare (argc, argv, &options, 0, 0, "");
    if (rc == S_CONTINUE && options.json && options.stats)
        rc = zmx_cli_usage_error (zmx_cli_peers_usage, "--json and --stats do not go "
                                  "together: the counters are not JSON");
    s_json = options.json;
    zmx_node_t *node = NULL;
    if (rc == S_CONTINUE)
        node = s_node_start (&options, NULL, 0, &rc);
    if (node)
        rc = s_peers_run (node, &options);
    zmx_node_destroy (&node);
    s_options_free (&options);
    return rc;
}

//  -------------------------------------------------------------------------
//  zmx shout, zmx whisper

//  The message to send: MESSAGE and each FRAME after it, one frame each.
static zmsg_t *
s_message (const s_options_t *options, int first)
{
    zmsg_t *msg = zmsg_new ();
    for (int index = first; index < options->arg_count; index++)
        zmsg_addstr (msg, options->args [index]);
    return msg;
}

//  True once discovery has settled: every node beaconing when we started
//  has been heard (1.5 beacon intervals, taking theirs to be ours) and
//  has said HELLO, with its groups, or been dropped.
static bool
s_settled (zmx_node_t *node, const s_options_t *options, int64_t started)
{
    int interval = options->interval? options->interval: ZMX_NODE_BEACON_INTERVAL;
    if (zclock_mono () - started < interval + interval / 2)
        return false;
    zmx_node_stats_t stats;
    zmx_node_stats (node, &stats);
    return stats.peers_pending == 0;
}

//  Wait until at least --members peers are in `group`, or without
//  --members, until one is and discovery has settled, so that every
//  member known at start gets the message. Returns the number found (0,
//  or less than --members: timeout or interrupt).
static size_t
s_wait_members (zmx_node_t *node, zpoller_t *poller, const s_options_t *options,
                const char *group, int wait)
{
    int64_t started = zclock_mono ();
    int64_t deadline = started + wait;
    size_t found = 0;
    while (true) {
        zlist_t *list = zmx_node_peers_by_group (node, group);
        found = list? zlist_size (list): 0;
        zlist_destroy (&list);
        bool enough = options->members? found >= (size_t) options->members
                                      : found > 0 && s_settled (node, options, started);
        if (enough || zsys_interrupted || s_left (deadline) == 0)
            break;
        char *type;
        zmsg_t *event = s_event_recv (node, poller, (int) s_left (deadline), &type);
        free (type);
        zmsg_destroy (&event);
    }
    return found;
}

//  Stop the node, which lingers until the recipients confirm receipt
//  (--linger), and say so if one did not. A whisper names one peer, so
//  that is an error (1); a shout goes to whoever is in the group, and a
//  member that leaves right after reading it (zmx listen -c 1) cannot
//  confirm, so for a shout it is a warning and the exit stays 0.
static int
s_stop_confirmed (zmx_node_t *node, const s_options_t *options, const char *to, bool required)
{
    zmx_node_stop (node);
    zmx_node_stats_t stats;
    zmx_node_stats (node, &stats);
    if (options->linger == 0 || stats.linger_expired == 0)
        return ZMX_EXIT_OK;
    fprintf (stderr, "zmx: %s: sent to '%s', but not every recipient confirmed receipt within "
             "%d ms (--linger): it may have left\n", required? "error": "warning", to,
             options->linger);
    return required? ZMX_EXIT_ERROR: ZMX_EXIT_OK;
}

int
zmx_cli_shout (int argc, char *argv [])
{
    s_options_t options;
    s_options_init (&options, S_CMD_SHOUT);
    int rc = s_prepare (argc, argv, &options, 2, -1, "GROUP and MESSAGE");
    zmx_node_t *node = NULL;
    if (rc == S_CONTINUE)
        node = s_node_start (&options, NULL, 0, &rc);
    if (node) {
        const char *group = options.args [0];
        int wait = options.wait_given? options.wait: S_WAIT_SEND;
        zpoller_t *poller = zpoller_new (zmx_node_socket (node), NULL);
        size_t found = s_wait_members (node, poller, &options, group, wait);
        size_t wanted = options.members? (size_t) options.members: 1;
        if (found >= wanted) {
            zmsg_t *msg = s_message (&options, 1);
            int sent = zmx_node_shout (node, group, &msg);
            if (sent != ZMX_OK)
                fprintf (stderr, "zmx: cannot shout to '%s': %s\n", group,
                         zmx_strerror (sent));
            rc = sent != ZMX_OK? ZMX_EXIT_ERROR: s_stop_confirmed (node, &options, group, false);
        }
        else {
            fprintf (stderr, "zmx: %zu of %zu members of group '%s' seen within %d ms\n",
                     found, wanted, group, wait);
            rc = ZMX_EXIT_TIMEOUT;
        }
        zpoller_destroy (&poller);
    }
    zmx_node_destroy (&node);
    s_options_free (&options);
    return rc;
}

//  Whisper the message to every known peer named (or with UUID) `target`.
//  Returns the number of peers it went to; *matched_p gets the number of
//  such peers, *error_p the last failure (ZMX_OK if none).
static size_t
s_whisper_all (zmx_node_t *node, const s_options_t *options, const char *target,
               size_t *matched_p, int *error_p)
{
    size_t sent = 0;
    *matched_p = 0;
    *error_p = ZMX_OK;
    zlist_t *uuids = zmx_node_peers (node);
    for (char *uuid = uuids? (char *) zlist_first (uuids): NULL; uuid;
         uuid = (char *) zlist_next (uuids)) {
        char *name = zmx_node_peer_name (node, uuid);
        if ((name && streq (name, target)) || strcasecmp (uuid, target) == 0) {
            (*matched_p)++;
            zmsg_t *msg = s_message (options, 1);
            int rc = zmx_node_whisper (node, uuid, &msg);
            if (rc == ZMX_OK)
                sent++;
            else
                *error_p = rc;
        }
        free (name);
    }
    zlist_destroy (&uuids);
    return sent;
}

int
zmx_cli_whisper (int argc, char *argv [])
{
    s_options_t options;
    s_options_init (&options, S_CMD_WHISPER);
    int rc = s_prepare (argc, argv, &options, 2, -1, "PEER and MESSAGE");
    zmx_node_t *node = NULL;
    if (rc == S_CONTINUE)
        node = s_node_start (&options, NULL, 0, &rc);
    if (node) {
        const char *target = options.args [0];
        int wait = options.wait_given? options.wait: S_WAIT_SEND;
        int64_t deadline = zclock_mono () + wait;
        zpoller_t *poller = zpoller_new (zmx_node_socket (node), NULL);
        size_t sent = 0, matched = 0;
        int error = ZMX_OK;
        while (!zsys_interrupted) {
            sent = s_whisper_all (node, &options, target, &matched, &error);
            if (matched || s_left (deadline) == 0)
                break;
            char *type;
            zmsg_t *event = s_event_recv (node, poller, (int) s_left (deadline), &type);
            free (type);
            zmsg_destroy (&event);
        }
        if (sent)
            rc = s_stop_confirmed (node, &options, target, true);
        else
        if (matched) {
            //  Known, but gone or not taking messages as we sent
            fprintf (stderr, "zmx: peer '%s' is known but the whisper could not be sent: %s "
                     "(it left, or its queue is full)\n", target, zmx_strerror (error));
            rc = ZMX_EXIT_ERROR;
        }
        else {
            fprintf (stderr, "zmx: no peer '%s' seen within %d ms\n", target, wait);
            rc = ZMX_EXIT_TIMEOUT;
        }
        zpoller_destroy (&poller);
    }
    zmx_node_destroy (&node);
    s_options_free (&options);
    return rc;
}

//  -------------------------------------------------------------------------
//  zmx listen

//  Print a WHISPER or SHOUT event (frames after the type: peer, name,
//  [group,] content...). Returns true if it was one.
static bool
s_print_message (const char *type, zmsg_t *event)
{
    bool shout = streq (type, ZMX_NODE_SHOUT);
    if (!shout && !streq (type, ZMX_NODE_WHISPER))
        return false;
    char *uuid = zmsg_popstr (event);
    char *name = zmsg_popstr (event);
    char *group = shout? zmsg_popstr (event): NULL;
    if (shout)
        printf ("SHOUT %s %s ", group? group: "", name? name: "");
    else
        printf ("WHISPER %s ", name? name: "");
    const char *separator = "";
    for (zframe_t *frame = zmsg_first (event); frame; frame = zmsg_next (event)) {
        fputs (separator, stdout);
        s_print_frame (frame);
        separator = " ";
    }
    printf ("\n");
    fflush (stdout);
    free (uuid);
    free (name);
    free (group);
    return true;
}

int
zmx_cli_listen (int argc, char *argv [])
{
    s_options_t options;
    s_options_init (&options, S_CMD_LISTEN);
    int rc = s_prepare (argc, argv, &options, 1, -1, "GROUP");
    zmx_node_t *node = NULL;
    if (rc == S_CONTINUE)
        node = s_node_start (&options, options.args, options.arg_count, &rc);
    if (node) {
        zpoller_t *poller = zpoller_new (zmx_node_socket (node), NULL);
        int64_t deadline = zclock_mono () + options.wait;
        int received = 0;
        while (!zsys_interrupted && (!options.wait_given || s_left (deadline) > 0)
               && (!options.count || received < options.count)) {
            char *type;
            int timeout = options.wait_given? (int) s_left (deadline): S_TICK;
            zmsg_t *event = s_event_recv (node, poller, timeout, &type);
            if (event && s_print_message (type, event))
                received++;
            free (type);
            zmsg_destroy (&event);
        }
        bool short_of = options.count && received < options.count && !zsys_interrupted;
        if (short_of)
            fprintf (stderr, "zmx: %d of %d messages within %d ms\n", received,
                     options.count, options.wait);
        rc = short_of? ZMX_EXIT_TIMEOUT: ZMX_EXIT_OK;
        zpoller_destroy (&poller);
    }
    zmx_node_destroy (&node);
    s_options_free (&options);
    return rc;
}
