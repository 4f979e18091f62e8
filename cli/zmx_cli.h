/*  =========================================================================
    zmx_cli - what the source files of the `zmx` command share

    `zmx` is one binary with one file per subcommand (cli/zmx_cmd_*.c) and a
    dispatcher (cli/zmx.c). These declarations are private to that binary;
    they are not part of libzmx.
    =========================================================================
*/
#ifndef ZMX_CLI_H_INCLUDED
#define ZMX_CLI_H_INCLUDED

#include <zmx.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  Exit codes of every subcommand (docs/CLI.md lists them)
#define ZMX_EXIT_OK         0
#define ZMX_EXIT_ERROR      1   //  anything not listed below
#define ZMX_EXIT_USAGE      2   //  bad arguments
#define ZMX_EXIT_TIMEOUT    3   //  no reply after every retry
#define ZMX_EXIT_NOSERVICE  4   //  the broker has no worker for the service
#define ZMX_EXIT_SECURITY   5   //  a key or certificate is missing or invalid
#define ZMX_EXIT_HOST       6   //  a host name of an endpoint cannot be resolved

//  Defaults of the client options
#define ZMX_CLI_ENV_BROKER  "ZMX_BROKER"
#define ZMX_CLI_ENV_ZMXD    "ZMX_ZMXD"      //  HOST[:BASE] of every service
#define ZMX_CLI_ENV_FILES   "ZMX_FILES"
#define ZMX_CLI_TIMEOUT     2500
#define ZMX_CLI_RETRIES     3

//  Long-only option ids shared by the subcommands' option tables
enum {
    ZMX_CLI_OPT_HELP = 'h',
    ZMX_CLI_OPT_HEX = 256,
    ZMX_CLI_OPT_WAIT,
    ZMX_CLI_OPT_CURVE_CERT,
    ZMX_CLI_OPT_SERVER_KEY,
    ZMX_CLI_OPT_CREDIT,
    ZMX_CLI_OPT_ECHO,
    ZMX_CLI_OPT_HEARTBEAT,
    ZMX_CLI_OPT_LIVENESS,
    ZMX_CLI_OPT_FOLLOW,
    ZMX_CLI_OPT_PATH,
    ZMX_CLI_OPT_PACKED,
    ZMX_CLI_OPT_ZMXD,
    ZMX_CLI_OPT_JSON,
    ZMX_CLI_OPT_QUEUE
};

//  Options every client-side subcommand takes
typedef struct {
    const char *endpoint;       //  -b, or $ZMX_BROKER, or the default
    int timeout;                //  -t, msec per attempt
    int retries;                //  -r, attempts after the first
    const char *curve_cert;     //  --curve-cert FILE, or NULL
    const char *server_key;     //  --server-key KEY|FILE, or NULL
    bool packed;                //  --packed: zmx packed MDP (zmx brokers only)
    bool endpoint_given;        //  -b was given: --zmxd does not override it
} zmx_cli_conn_t;

//  Check $ZMX_ZMXD (HOST[:BASE]) and fill in, from it, each service's own
//  variable ($ZMX_BROKER, $ZMX_CLONE, $ZMX_RESOLVER, $ZMX_FILES,
//  $ZMX_STREAMS) that is not set. Returns 0, or -1 with the problem printed. zmx calls it once
//  before any command.
int
    zmx_cli_zmxd_setup (void);

//  Handle --zmxd HOST[:BASE]: point every service's variable at that zmxd
//  (above the variables already set) and, unless `given` (the command's
//  own -b or -e came first), set *endpoint_p (if not NULL) to the
//  endpoint of service `which` (a zmx_layout_port_t) there. Returns 1, or
//  -1 if the value is invalid (message printed).
int
    zmx_cli_zmxd_option (const char *value, int which, const char **endpoint_p, bool given);

//  If --zmxd or $ZMX_ZMXD named a zmxd: its ZRE beacon port in *port_p,
//  whether its host is loopback in *loopback_p, and true. Else false.
bool
    zmx_cli_zmxd_beacon (int *port_p, bool *loopback_p);

//  A subcommand: takes its own argv (argv [0] is the command name) and
//  returns the process exit code.
typedef int (zmx_cli_fn) (int argc, char *argv []);

//  One entry per subcommand, for dispatch and help
typedef struct {
    const char *name;
    zmx_cli_fn *run;
    void (*usage) (FILE *stream);
    const char *summary;
} zmx_cli_command_t;

int zmx_cli_call (int argc, char *argv []);
void zmx_cli_call_usage (FILE *stream);
int zmx_cli_worker (int argc, char *argv []);
void zmx_cli_worker_usage (FILE *stream);
int zmx_cli_services (int argc, char *argv []);
void zmx_cli_services_usage (FILE *stream);
int zmx_cli_keygen (int argc, char *argv []);
void zmx_cli_keygen_usage (FILE *stream);
int zmx_cli_files (int argc, char *argv []);
void zmx_cli_files_usage (FILE *stream);
int zmx_cli_peers (int argc, char *argv []);
void zmx_cli_peers_usage (FILE *stream);
int zmx_cli_shout (int argc, char *argv []);
void zmx_cli_shout_usage (FILE *stream);
int zmx_cli_whisper (int argc, char *argv []);
void zmx_cli_whisper_usage (FILE *stream);
int zmx_cli_listen (int argc, char *argv []);
void zmx_cli_listen_usage (FILE *stream);
int zmx_cli_config (int argc, char *argv []);
void zmx_cli_config_usage (FILE *stream);
int zmx_cli_names (int argc, char *argv []);
void zmx_cli_names_usage (FILE *stream);
int zmx_cli_log (int argc, char *argv []);
void zmx_cli_log_usage (FILE *stream);
int zmx_cli_streams (int argc, char *argv []);
void zmx_cli_streams_usage (FILE *stream);
int zmx_cli_console (int argc, char *argv []);
void zmx_cli_console_usage (FILE *stream);

//  Clone store options of `zmx config` and `zmx names` (cli/zmx_cmd_config.c)
#define ZMX_CLI_ENV_CLONE   "ZMX_CLONE"
#define ZMX_CLI_ENV_MAX_VALUE "ZMX_CLONE_MAX_VALUE"   //  The server's max-value-size
#define ZMX_CLI_OPT_TTL     1100        //  --ttl S (long-only)
#define ZMX_CLI_OPT_FILE    1101        //  --file FILE (long-only)
typedef struct {
    const char *endpoint;       //  -e, or $ZMX_CLONE, or the default
    int timeout;                //  -t, msec to sync and to see a write
    int ttl;                    //  --ttl, seconds; 0 = none
    size_t max_value;           //  $ZMX_CLONE_MAX_VALUE, or the default
    bool endpoint_given;        //  -e was given: --zmxd does not override it
    bool json;                  //  --json: ls prints one JSON array
} zmx_cli_store_t;

//  Store options set to their defaults.
void
    zmx_cli_store_init (zmx_cli_store_t *store);

//  Handle -e, -t or --ttl. Returns 1 if it was one (and valid), 0 if not,
//  -1 if its value is invalid (message printed).
int
    zmx_cli_store_option (zmx_cli_store_t *store, int option, const char *value);

//  A clone client of `subtree` synced with the server (notifications on
//  if `watch`), or NULL with the problem printed and *exit_p set.
zmx_clone_t *
    zmx_cli_store_open (const zmx_cli_store_t *store, const char *subtree, bool watch,
                        int *exit_p);

//  True if a value of `size` bytes for `key` fits the store's limit; if
//  not, says so, with the limit and what to do (exit code: usage).
bool
    zmx_cli_store_value_fits (const zmx_cli_store_t *store, const char *key, size_t size);

//  Print why a write (zmx_clone_set/flush result `rc`) failed, by cause:
//  invalid (exit 2), refused by the server (1), never sent for want of a
//  connection (3), not seen published in time (3). Returns the exit code.
int
    zmx_cli_store_failed (const zmx_cli_store_t *store, int rc);

//  Connection options set to their defaults.
void
    zmx_cli_conn_init (zmx_cli_conn_t *conn);

//  Handle one of the shared options (-b, -t, -r, --curve-cert,
//  --server-key). Returns 1 if it was one (and valid), 0 if it was not a
//  shared option, -1 if its value is invalid (message printed).
int
    zmx_cli_conn_option (zmx_cli_conn_t *conn, int option, const char *value);

//  Check the connection options as a whole (CURVE needs both halves).
//  Returns 0, or -1 with the problem printed.
int
    zmx_cli_conn_check (const zmx_cli_conn_t *conn);

//  The endpoint list for an endpoint argument: the argument itself, or
//  for "name:NAME" the name's endpoints (zmx_resolver_resolve_endpoint).
//  NULL with the problem printed and *exit_p set. Caller frees.
char *
    zmx_cli_resolve (const char *endpoint, int timeout, int *exit_p);

//  Look up the host of every tcp:// endpoint of a comma-separated list
//  (DNS, /etc/hosts) before connecting to it, since libzmq would retry an
//  unknown host silently forever. Returns 0, or -1 with the host named
//  and *exit_p set to ZMX_EXIT_HOST.
int
    zmx_cli_check_hosts (const char *endpoints, int *exit_p);

//  A client for conn ("name:NAME" resolved), or NULL with the problem
//  printed; *exit_p is set to the exit code to use then.
zmx_client_t *
    zmx_cli_client_new (const zmx_cli_conn_t *conn, int *exit_p);

//  Parse a whole decimal number within [min, max] given to `option`.
//  Returns 0, or -1 with the problem printed.
int
    zmx_cli_parse_int (const char *text, const char *option, int min, int max, int *value);

//  Print "zmx: <message>" for a failed client request and return the exit
//  code it maps to (timeout 3, security 5, others 1).
int
    zmx_cli_request_failed (zmx_client_t *client, const zmx_cli_conn_t *conn);

//  Print a usage error and the command's usage to stderr; returns 2.
int
    zmx_cli_usage_error (void (*usage) (FILE *stream), const char *format, ...)
    __attribute__ ((format (printf, 2, 3)));

//  Full path of an executable: `name` itself if it has a '/', else the
//  first match in $PATH. NULL if none; caller frees.
char *
    zmx_cli_exec_find (const char *name);

//  Work to do while zmx_cli_exec waits for its program
typedef struct {
    int interval;               //  Call fn about this often, msec (> 0)
    void (*fn) (void *arg);     //  E.g. keep a broker connection alive
    void *arg;                  //  Passed to fn
} zmx_cli_tick_t;

//  Run the program at `path` (argv [0] is its name; no shell) with `input`
//  on its stdin, wait for it, and return what it wrote on stdout (at most
//  `limit` bytes; caller owns the chunk) with its wait status in
//  *status_p. Calls tick (unless NULL) every tick->interval while the
//  program runs. Returns NULL if it could not start or a signal
//  interrupted the run (the program is then killed).
zchunk_t *
    zmx_cli_exec (const char *path, char *const argv [], const char *input,
                  size_t input_size, size_t limit, const zmx_cli_tick_t *tick,
                  int *status_p);

//  -------------------------------------------------------------------------
//  JSON output of --json (cli/zmx_cli_json.c): one document, written as it
//  goes; a newline and a flush end it.
typedef struct _zmx_cli_json_t zmx_cli_json_t;

//  A writer to `stream`. Caller destroys.
zmx_cli_json_t *
    zmx_cli_json_new (FILE *stream);
void
    zmx_cli_json_destroy (zmx_cli_json_t **self_p);

//  Open a container: '[' or '{'.
void
    zmx_cli_json_open (zmx_cli_json_t *self, char bracket);

//  Close the innermost container: ']' or '}'.
void
    zmx_cli_json_close (zmx_cli_json_t *self, char bracket);

//  A string value made of any bytes: escaped, invalid UTF-8 as U+FFFD.
void
    zmx_cli_json_bytes (zmx_cli_json_t *self, const void *data, size_t size);
void
    zmx_cli_json_string (zmx_cli_json_t *self, const char *text);
void
    zmx_cli_json_number (zmx_cli_json_t *self, int64_t number);

//  An object's key; its value is the next thing written.
void
    zmx_cli_json_key (zmx_cli_json_t *self, const char *key);

//  Length of the valid UTF-8 sequence at data (size bytes left, at least
//  1), or 0: no overlong forms, no surrogates, nothing above U+10FFFF.
size_t
    zmx_cli_utf8_length (const unsigned char *data, size_t size);

//  "key": "text" and "key": number
void
    zmx_cli_json_pair (zmx_cli_json_t *self, const char *key, const char *text);
void
    zmx_cli_json_pair_number (zmx_cli_json_t *self, const char *key, int64_t number);

//  -------------------------------------------------------------------------
//  The streams commands: zmx log, zmx streams, zmx console
//  (cli/zmx_cli_stream.c). They talk ZMXS1 to zmxd's log service.
#define ZMX_CLI_ENV_STREAMS     "ZMX_STREAMS"
#define ZMX_CLI_STREAMS_DEFAULT "tcp://127.0.0.1:5561"
#define ZMX_CLI_STREAM_DEFAULT  "log"       //  The log service's default stream

//  Long-only options of the streams commands
enum {
    ZMX_CLI_OPT_STREAM = 1200,
    ZMX_CLI_OPT_LEVEL,
    ZMX_CLI_OPT_SUBJECT,
    ZMX_CLI_OPT_FROM_START,
    ZMX_CLI_OPT_SEQ,
    ZMX_CLI_OPT_SINCE,
    ZMX_CLI_OPT_LAST,
    ZMX_CLI_OPT_DURABLE,
    ZMX_CLI_OPT_ID,
    ZMX_CLI_OPT_GREP,
    ZMX_CLI_OPT_YES
};

//  Options every streams command takes
typedef struct {
    const char *endpoint;       //  -e, or $ZMX_STREAMS, or the default
    int timeout;                //  -t, msec to wait for the service
    const char *curve_cert;     //  --curve-cert FILE, or NULL
    const char *server_key;     //  --server-key KEY|FILE, or NULL
    const char *stream;         //  --stream, default ZMX_CLI_STREAM_DEFAULT
    bool endpoint_given;        //  -e was given: --zmxd does not override it
    bool json;                  //  --json
} zmx_cli_streams_t;

//  Options set to their defaults.
void
    zmx_cli_streams_init (zmx_cli_streams_t *self);

//  Handle -e, --zmxd, -t, --curve-cert, --server-key, --stream or --json.
//  Returns 1 if it was one (and valid), 0 if not, -1 if its value is
//  invalid (message printed).
int
    zmx_cli_streams_option (zmx_cli_streams_t *self, int option, const char *value);

//  Check the options as a whole. Returns 0, or -1 with the problem printed.
int
    zmx_cli_streams_check (const zmx_cli_streams_t *self);

//  True if `name` is a valid stream name (1 to 64 bytes of
//  [A-Za-z0-9_.-], not starting with '.', not "lock"); if not, says so.
bool
    zmx_cli_stream_name_ok (const char *name, const char *option);

//  A client of the streams service, or NULL with the problem printed and
//  *exit_p set.
zmx_stream_t *
    zmx_cli_streams_open (const zmx_cli_streams_t *self, int *exit_p);

//  Print why `what` failed with zmx_stream error `rc` (the server's reason
//  when it gave one) and return the exit code it maps to: timeout 3,
//  security 5, others 1.
int
    zmx_cli_streams_failed (zmx_stream_t *client, const zmx_cli_streams_t *self, int rc,
                            const char *what);

//  RFC 5424 severities, 0 (emerg) to 7 (debug): from a name ("error",
//  "err", "warn", ...) or a digit; -1 if it is neither.
int
    zmx_cli_severity_parse (const char *text);

//  The name of a severity ("error"), or "-" for -1.
const char *
    zmx_cli_severity_name (int severity);

//  The severity of an event's record: its `severity` header, else the
//  last token of its subject when that is a level name; -1 if neither.
int
    zmx_cli_record_severity (const zmx_stream_event_t *event);

//  Parse a duration ("90s", "10m", "2h", "1d", "500ms"; a bare number is
//  seconds) into nanoseconds. Returns 0, or -1 with the problem printed.
int
    zmx_cli_parse_duration (const char *text, const char *option, int64_t *ns_p);

//  Parse a whole number of 1 or more into *value_p. Returns 0, or -1 with
//  the problem printed.
int
    zmx_cli_parse_u64 (const char *text, const char *option, uint64_t *value_p);

//  Write bytes as one line of text: printable ASCII and valid UTF-8 as
//  they are, '\\', \n, \r, \t, and \xHH for every other byte.
void
    zmx_cli_print_escaped (FILE *stream, const void *data, size_t size);

//  "YYYY-MM-DD HH:MM:SS.mmm" in local time for ns since the epoch, with
//  `separator` between the date and the time.
void
    zmx_cli_format_time (int64_t time_ns, char separator, char *buffer, size_t size);

//  A record event as one JSON object (and its line end).
void
    zmx_cli_record_json (FILE *stream, const zmx_stream_event_t *event);

#endif
