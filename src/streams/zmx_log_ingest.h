/*  =========================================================================
    zmx_log_ingest - the log service's two ways in that need no zmx code:
    a SUB socket any ZeroMQ PUB connects to ([subject][body], or one frame:
    a CZMQ ZSYS_LOGSENDER line or plain text) and a UDP socket for syslog
    (RFC 3164 and RFC 5424). Each message it accepts becomes one entry,
    handed to the service's append function; what it refuses is counted
    and logged (rate-limited).

    The owner (the log service actor) polls the SUB socket and the UDP
    descriptor and calls the matching handle function when one is ready.

    Headers every ingest path uses (all values text):
        severity    RFC 5424 number, "0" (emergency) to "7" (debug)
        facility    RFC 5424 number, "0" to "23" (syslog only)
        host, app, pid, msgid   from syslog, when present
        app         also the ident of a zsys line (ZSYS_LOGIDENT)
        time        the sender's own timestamp, as text, when it sent one
    =========================================================================
*/
#ifndef ZMX_LOG_INGEST_H_INCLUDED
#define ZMX_LOG_INGEST_H_INCLUDED

#include "zmx_classes.h"

#define ZMX__LOG_ENTRY_HEADERS  8       //  Headers an ingest entry may carry
#define ZMX__LOG_DEFAULT_SUBJECT "log"  //  When the owner gives none
//  Largest frame body or syslog datagram taken; larger ones are invalid
#define ZMX__LOG_MESSAGE_MAX    (32 * 1024)

//  One record to append to the default stream. Views valid during the
//  append call only.
typedef struct {
    const char *subject;                //  Valid subject, NUL-terminated
    zmx_stream_header_t headers [ZMX__LOG_ENTRY_HEADERS];
    size_t header_count;
    const void *body;
    size_t body_size;
} zmx__log_entry_t;

//  Append one entry; returns ZMX_OK or the store's error (counted by the
//  ingest as not stored).
typedef int (zmx__log_append_fn) (void *arg, const zmx__log_entry_t *entry);

typedef struct _zmx__log_ingest_t zmx__log_ingest_t;

//  Bind the ingest SUB at `ingest_endpoint` (NULL or "": none) through
//  `security` (may be NULL) and the syslog UDP socket at
//  `syslog_endpoint` ("udp://127.0.0.1:5514"; NULL or "": none). Single
//  frames without a subject of their own go under `default_subject`
//  (NULL: ZMX__LOG_DEFAULT_SUBJECT).
//  Returns NULL with *reason_p (static) set if a socket cannot be bound.
zmx__log_ingest_t *
    zmx__log_ingest_new (zmx_security_t *security, const char *ingest_endpoint,
                         const char *syslog_endpoint, const char *default_subject,
                         zmx__log_append_fn *append_fn, void *arg, const char **reason_p);

void
    zmx__log_ingest_destroy (zmx__log_ingest_t **self_p);

//  The SUB socket to poll, or NULL; the UDP descriptor, or -1.
zsock_t *
    zmx__log_ingest_socket (zmx__log_ingest_t *self);
int
    zmx__log_ingest_udp_fd (zmx__log_ingest_t *self);

//  Read and append what is waiting (at most a bounded number of messages
//  per call, so other work is not starved).
void
    zmx__log_ingest_handle_zmq (zmx__log_ingest_t *self);
void
    zmx__log_ingest_handle_udp (zmx__log_ingest_t *self);

//  Append the bound endpoints (ports resolved; "udp://HOST:PORT") to `list`:
//  copies when the list has autofree set, else strings the ingest owns.
void
    zmx__log_ingest_endpoints (zmx__log_ingest_t *self, zlist_t *list);

//  Counters: messages received, appended, refused as malformed, and not
//  stored because the append failed; for ZeroMQ and syslog apart.
typedef struct {
    uint64_t zmq_received, zmq_appended, zmq_invalid, zmq_failed;
    uint64_t syslog_received, syslog_appended, syslog_invalid, syslog_failed;
} zmx__log_ingest_counters_t;

void
    zmx__log_ingest_counters (zmx__log_ingest_t *self, zmx__log_ingest_counters_t *counters);

#endif
