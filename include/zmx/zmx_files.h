/*  =========================================================================
    zmx_files - file distribution service speaking 35/FILEMQ (version 2)

    A zmx service actor (see zmx_service.h). Start it with
        zmx_service_new ("files", zmx_files_actor, config, security)
    or let zmxd start it from the "files" section of its config:

        files
            endpoint = "tcp://127.0.0.1:5670"  #  comma-separated list to bind
            publish                            #  one section per directory
                directory = "/srv/photos"      #  local directory (must exist)
                path = "/photos"               #  virtual path it appears under
            publish
                directory = "/srv/docs"
                path = "/docs"
            poll-interval = 1000               #  msec between directory scans
            heartbeat-interval = 2500          #  msec between heartbeats
            heartbeat-liveness = 3             #  missed heartbeats = dead client
            chunk-size = 524288                #  bytes per CHEEZBURGER, at most
            max-credit = 4194304               #  credit a client may hold, bytes
            max-clients = 1000                 #  peerings at once
            max-files = 100000                 #  files published, all directories
            max-subscriptions = 16             #  ICANHAZ paths per client
            max-message-size = 16777216        #  bytes; larger messages are cut

    Behaviour
    - Directories are scanned every poll-interval; new, changed (size or
      mtime) and deleted files are found by comparing scans. A file is
      announced only once its SHA-1 and XXH3-128 have been computed (one
      pass, in slices, so the actor keeps serving while it hashes a big
      file). The trees found at start-up are hashed before the service
      reports READY.
    - Symbolic links are followed only if they resolve inside the published
      directory; other links, devices, sockets and names that cannot travel
      in a FILEMQ string (over 255 bytes, control characters) are skipped.
    - A subscription path matches whole components: "/" matches every file,
      "/photos" matches "/photos" and "/photos/..." but not "/photos2".
      CHEEZBURGER filenames are relative to the subscription path.
    - Flow control: the server sends file bytes only against NOM credit and
      never holds more than max-credit for one client, so at most that many
      bytes are in flight per client. Files are read chunk by chunk.
    - Cache: with RESYNC=1 the server skips files whose SHA-1 the client
      lists in the ICANHAZ cache dictionary.

    Wire extensions (ignored by plain FILEMQ peers; see docs/FILES.md)
    - Every CHEEZBURGER of a create carries headers "SHA1" (hex digest of
      the whole file, its identity), "X-ZMX-XXH128" (its XXH3-128, which
      zmx clients verify the transfer with), "SIZE" (bytes) and "QUEUED"
      (files still queued for this client after this one).
    - Resume: a cache entry whose value is "<sha1>@<offset>" means "I hold
      the first <offset> bytes of the file with this digest"; such a file is
      sent from that offset.
    - ICANHAZ-OK carries one extra frame, "FILES BYTES": the number of files
      queued for the client by this subscription (0: the client is already
      in sync) and the bytes they will take, less cached files and resumed
      prefixes. Older servers sent FILES alone.

    Errors: RTFM for malformed or out-of-order commands (the peering is then
    forgotten), SRSLY for refused OHAI (max-clients) or ICANHAZ (bad path,
    too many subscriptions); after SRSLY further commands are ignored until
    the peer goes silent. Messages without the FILEMQ signature are dropped
    silently.

    Pipe commands, besides the zmx_service ones:
        "RESCAN"   scan and hash now; replies "OK" when every file is ready
        "LIST"     one frame per published file: "<size> <sha1> <vpath>"

    Counters (COUNTERS): clients, files, files_pending, bytes_sent,
    chunks_sent, files_sent, files_cached, files_resumed, bytes_resumed,
    deletes_sent, malformed, rtfm_sent, srsly_sent, clients_expired,
    scans, files_skipped.
    =========================================================================
*/
#ifndef ZMX_FILES_H_INCLUDED
#define ZMX_FILES_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_FILES_DEFAULT_ENDPOINT      "tcp://127.0.0.1:5670"
#define ZMX_FILES_POLL_INTERVAL         1000
#define ZMX_FILES_HEARTBEAT_INTERVAL    2500
#define ZMX_FILES_HEARTBEAT_LIVENESS    3
#define ZMX_FILES_CHUNK_SIZE            (512 * 1024)
#define ZMX_FILES_MAX_CREDIT            (4 * 1024 * 1024)
#define ZMX_FILES_MAX_CLIENTS           1000
#define ZMX_FILES_MAX_FILES             100000
#define ZMX_FILES_MAX_SUBSCRIPTIONS     16
#define ZMX_FILES_MAX_MESSAGE_SIZE      (16 * 1024 * 1024)

//  Extra pipe commands
#define ZMX_FILES_RESCAN                "RESCAN"
#define ZMX_FILES_LIST                  "LIST"

//  The files service's actor function; args is a zmx_service_args_t *.
void
    zmx_files_actor (zsock_t *pipe, void *args);

#ifdef __cplusplus
}
#endif
#endif
