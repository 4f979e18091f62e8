/*  =========================================================================
    zmx_files_client - mirror a FILEMQ virtual path into a local directory

        zmx_files_client_t *client = zmx_files_client_new (
            "tcp://127.0.0.1:5670", "/photos", "/var/mirror/photos");
        if (zmx_files_client_start (client) == ZMX_OK
        &&  zmx_files_client_wait_synced (client, 60000) == ZMX_OK)
            puts ("in sync");
        zmx_files_client_destroy (&client);

    The client runs in its own actor once started and keeps the directory
    in sync until destroyed: files created or changed on the server are
    fetched, files deleted there are deleted here.

    Crash safety: data is written to "<directory>/.zmx-partial/<sha1>" and
    renamed to its real name only when complete and its digest verifies
    (the XXH3-128 a zmx server announces, else the SHA-1), so a real name
    never holds a truncated file. Partial files survive client
    and server restarts: on (re)connection the client offers them and the
    server resumes at their size. Files already present with the right
    digest are never fetched again (the ICANHAZ cache).

    Reconnection: on heartbeat loss or RTFM (e.g. the server restarted) the
    client opens a new connection with exponential backoff. SRSLY (access
    refused) stops it: zmx_files_client_error then says ZMX_ESECURITY.

    Names the server sends that would leave the directory ("..", absolute
    paths, or a path through a symbolic link) are refused and counted.
    =========================================================================
*/
#ifndef ZMX_FILES_CLIENT_H_INCLUDED
#define ZMX_FILES_CLIENT_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_FILES_CLIENT_CREDIT         (2 * 1024 * 1024)
#define ZMX_FILES_PARTIAL_DIR           ".zmx-partial"
#define ZMX_FILES_VERIFY_AUTO           0   //  XXH3-128 if announced, else SHA-1
#define ZMX_FILES_VERIFY_SHA1           1   //  always SHA-1

typedef struct _zmx_files_client_t zmx_files_client_t;

//  Create a client that will mirror virtual `path` (must start with "/")
//  from the server at `endpoint` into local `directory` (created if it
//  does not exist when started). `endpoint` may be "name:NAME", resolved
//  once here through zmx_resolver_resolve_endpoint (the first endpoint the
//  name lists is used). Returns NULL if an argument is invalid or the
//  name does not resolve.
zmx_files_client_t *
    zmx_files_client_new (const char *endpoint, const char *path, const char *directory);

//  Stop the client (a transfer in progress stays as a partial file) and
//  free it. Idempotent; nulls *self_p.
void
    zmx_files_client_destroy (zmx_files_client_t **self_p);

//  Settings; call before zmx_files_client_start.
//  Bytes of credit the client grants (its window), >= 1024. Default
//  ZMX_FILES_CLIENT_CREDIT.
void
    zmx_files_client_set_credit (zmx_files_client_t *self, uint64_t credit);
//  Heartbeat interval (msec) and liveness. Default 2500, 3.
void
    zmx_files_client_set_heartbeat (zmx_files_client_t *self, int interval_ms, int liveness);
//  Reconnect backoff, first and longest delay (msec). Default 100, 5000.
void
    zmx_files_client_set_backoff (zmx_files_client_t *self, int initial_ms, int max_ms);
//  Limit the receive rate to about `bytes_per_second` (0: no limit, the
//  default) by delaying credit.
void
    zmx_files_client_set_rate (zmx_files_client_t *self, uint64_t bytes_per_second);
//  How a received file is checked before it is renamed into place:
//  ZMX_FILES_VERIFY_AUTO (the default) uses the XXH3-128 the server
//  announces in X-ZMX-XXH128, and SHA-1 when it announces none;
//  ZMX_FILES_VERIFY_SHA1 always uses SHA-1 (slower). Either way SHA-1
//  stays the file's identity in the cache. Other values mean AUTO.
void
    zmx_files_client_set_verify (zmx_files_client_t *self, int verify);
//  Connect as a CURVE client (see zmx_security_client_curve for the
//  arguments). Returns ZMX_OK or ZMX_ESECURITY.
int
    zmx_files_client_set_curve (zmx_files_client_t *self, const char *client_cert_path,
                                const char *server_key);

//  Create the directory if needed and start mirroring. Returns ZMX_OK,
//  ZMX_EINVAL (directory cannot be created) or ZMX_ENOMEM (actor failed).
int
    zmx_files_client_start (zmx_files_client_t *self);

//  Wait until the client is in sync: the server has acknowledged the
//  subscription and every file it queued for us has been written (or
//  refused). Returns ZMX_OK, ZMX_ETIMEDOUT, ZMX_ETERM at once when CZMQ's
//  signal handler has seen SIGINT or SIGTERM (zsys_interrupted), or the
//  client's error (ZMX_ESECURITY after SRSLY).
int
    zmx_files_client_wait_synced (zmx_files_client_t *self, int timeout_ms);

//  The client's sticky error: ZMX_OK, or ZMX_ESECURITY after SRSLY.
int
    zmx_files_client_error (zmx_files_client_t *self);

//  Counters as name -> decimal string: bytes_received, chunks_received,
//  files_received, files_deleted, files_rejected (bad name or digest),
//  connects, rtfm, synced (0 or 1), subscribed (ICANHAZ-OKs received),
//  files_queued and bytes_queued (from the latest ICANHAZ-OK; 0 if the
//  server did not say). Caller owns the hash.
zhash_t *
    zmx_files_client_counters (zmx_files_client_t *self);

//  One counter; 0 if unknown.
uint64_t
    zmx_files_client_counter (zmx_files_client_t *self, const char *name);

//  Compute the SHA-1 of a file as 40 lowercase hex characters into
//  `hex` (41 bytes), reading it in chunks. Returns ZMX_OK or ZMX_EINVAL.
int
    zmx_files_digest (const char *path, char *hex);

//  Compute the XXH3-128 of a file as 32 lowercase hex characters (as
//  xxh128sum prints it) into `hex` (33 bytes). Returns ZMX_OK or
//  ZMX_EINVAL.
int
    zmx_files_digest_xxh128 (const char *path, char *hex);

#ifdef __cplusplus
}
#endif
#endif
