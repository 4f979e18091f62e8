/*  =========================================================================
    zmx_stream - a client of the streams service (ZMXS1): acknowledged,
    pipelined appends; subscriptions that replay history then go live,
    with credit-based flow control; durable consumers; stream admin

        zmx_stream_t *client = zmx_stream_new ("tcp://127.0.0.1:5561");
        zmx_stream_append (client, "log", "app.db.error", NULL, 0, "oops", 4, NULL, 0);
        zmx_stream_sync (client, 5000);            //  all appends acknowledged

        zmx_stream_subscribe (client, 1, "log", "app.>", ZMX_STREAM_FROM_FIRST, 0, NULL);
        zmx_stream_event_t event;
        while (zmx_stream_next (client, &event, 1000) == ZMX_OK)
            if (event.type == ZMX_STREAM_EVENT_RECORD)
                ;   //  event.record.sequence, .subject, .body ...
        zmx_stream_destroy (&client);

    A plain object, not an actor: one thread uses it. It does its
    heartbeats and reconnection work inside its calls, so a subscriber
    calls zmx_stream_next (with a timeout) at least every heartbeat
    interval. After the server was lost (no traffic for three heartbeats,
    or it forgot this client), the client subscribes again from the
    record after the last one it returned (durable consumers resume where
    the server stored them) and sends again every batch not acknowledged,
    with its message ids, so a record is stored once when its producer
    gave it an id.
    =========================================================================
*/
#ifndef ZMX_STREAM_H_INCLUDED
#define ZMX_STREAM_H_INCLUDED

#include <czmq.h>
#include <stdbool.h>
#include <stdint.h>
#include "zmx_stream_store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _zmx_stream_t zmx_stream_t;

//  Connect to a streams service endpoint ("tcp://127.0.0.1:5561").
//  Returns NULL if the endpoint is invalid.
zmx_stream_t *
    zmx_stream_new (const char *endpoint);

//  Close the connection (what is not acknowledged is not sent again) and
//  free everything. Safe on NULL.
void
    zmx_stream_destroy (zmx_stream_t **self_p);

//  Use CURVE (as zmx_client_set_curve). Call before any other use.
int
    zmx_stream_set_curve (zmx_stream_t *self, const char *client_cert_path,
                          const char *server_key);

//  Heartbeat interval in ms (default 1000); call before any other use.
void
    zmx_stream_set_heartbeat (zmx_stream_t *self, uint32_t heartbeat_ms);

//  How long zmx_stream_append waits for room in the window, and
//  zmx_stream_subscribe for the server's answer, in ms (default 5000).
void
    zmx_stream_set_timeout (zmx_stream_t *self, int timeout_ms);

//  Batch limits of appends: records and bytes per APPEND (default 1024 and
//  256 KiB), and batches sent and not yet acknowledged (default 64). When
//  that many are in flight, zmx_stream_append waits for acknowledgements.
void
    zmx_stream_set_window (zmx_stream_t *self, size_t batch_records, size_t batch_bytes,
                           size_t batches_in_flight);

//  ---- Producing

//  Called for each acknowledged record, in append order: `number` is what
//  zmx_stream_append returned in *number_p, `sequence` the stream's.
typedef void (zmx_stream_ack_fn) (void *arg, uint64_t number, uint64_t sequence);

void
    zmx_stream_set_ack_fn (zmx_stream_t *self, zmx_stream_ack_fn *ack_fn, void *arg);

//  Queue one record for `stream` (msg_id: 0 to 64 bytes; a record whose
//  id the stream stored within its window is stored once). Records go out
//  in batches: a batch is sent when full, or by zmx_stream_flush /
//  zmx_stream_sync / zmx_stream_next. *number_p (may be NULL) gets the
//  record's number in this client (1, 2, ...). Returns ZMX_OK; ZMX_EINVAL
//  (bad stream name, subject, headers or id); ZMX_ETIMEDOUT (the window is
//  full and no acknowledgement came within the client's timeout).
int
    zmx_stream_append (zmx_stream_t *self, const char *stream, const char *subject,
                       const zmx_stream_header_t *headers, size_t header_count,
                       const void *body, size_t body_size, const void *msg_id,
                       size_t msg_id_size, uint64_t *number_p);

//  Send what is batched, without waiting.
int
    zmx_stream_flush (zmx_stream_t *self);

//  Send what is batched and wait until every record appended so far is
//  acknowledged. Returns ZMX_OK, ZMX_ETIMEDOUT, or the error the server
//  refused a batch with (ZMX_EINVAL, ZMX_ENOMEM, ZMX_EIO: see
//  zmx_stream_error for its reason; the refused records are not sent again).
int
    zmx_stream_sync (zmx_stream_t *self, int timeout_ms);

//  Records appended and acknowledged so far, and the sequence of the last
//  one acknowledged.
uint64_t
    zmx_stream_acknowledged (zmx_stream_t *self);
uint64_t
    zmx_stream_last_sequence (zmx_stream_t *self);

//  ---- Subscribing

//  Start a subscription `id` (any number not in use here) on `stream`
//  for subjects matching `pattern` (NULL: all), from `from` (with `value`
//  for SEQUENCE, TIME and LAST). `durable` (NULL: none) names a durable
//  consumer: its records must be acknowledged (zmx_stream_ack). Returns
//  ZMX_OK when the server accepted it; ZMX_EINVAL, ZMX_ENOMEM (a limit),
//  ZMX_EPROTO (refused: zmx_stream_error), ZMX_ETIMEDOUT.
int
    zmx_stream_subscribe (zmx_stream_t *self, uint64_t id, const char *stream,
                          const char *pattern, zmx_stream_from_t from, uint64_t value,
                          const char *durable);

//  Credit a subscription keeps (default 1000 records): the client gives
//  more as the application takes records. Call before subscribe.
void
    zmx_stream_set_credit (zmx_stream_t *self, uint32_t credit);

int
    zmx_stream_unsubscribe (zmx_stream_t *self, uint64_t id);

typedef enum {
    ZMX_STREAM_EVENT_RECORD = 1,    //  event.record holds a record
    ZMX_STREAM_EVENT_LIVE,          //  History done: event.sequence is the stream's last then
    ZMX_STREAM_EVENT_DROPPED        //  Retention dropped records from event.sequence; goes on at event.first
} zmx_stream_event_type_t;

typedef struct {
    zmx_stream_event_type_t type;
    uint64_t subscription;      //  The id given to subscribe
    zmx_stream_record_t record; //  RECORD: a view valid until the next call (headers in wire form:
                                //  read them with zmx_stream_event_header)
    uint64_t sequence;
    uint64_t first;
} zmx_stream_event_t;

//  The next event of any subscription, waiting up to timeout_ms (-1:
//  forever). Also sends batched appends and handles acknowledgements,
//  heartbeats and reconnection. Returns ZMX_OK; ZMX_ETIMEDOUT; ZMX_ETERM
//  (interrupted).
int
    zmx_stream_next (zmx_stream_t *self, zmx_stream_event_t *event, int timeout_ms);

//  Header `index` of the record of an event; false if none.
bool
    zmx_stream_event_header (const zmx_stream_event_t *event, size_t index,
                             zmx_stream_header_t *header);

//  Acknowledge (durable consumers) or ask again for a record.
int
    zmx_stream_ack (zmx_stream_t *self, uint64_t id, uint64_t sequence);
int
    zmx_stream_nack (zmx_stream_t *self, uint64_t id, uint64_t sequence);

//  ---- Administration

typedef struct {
    char name [ZMX_STREAM_NAME_MAX + 1];
    uint64_t records;
    uint64_t bytes;
    uint64_t first_sequence;
    uint64_t last_sequence;
    int64_t first_time_ns;
    int64_t last_time_ns;
    uint32_t consumers;
} zmx_stream_info_t;

//  The service's streams into a new array (*infos_p, free() it) of
//  *count_p entries, sorted by name. Returns ZMX_OK or an error.
int
    zmx_stream_list (zmx_stream_t *self, zmx_stream_info_t **infos_p, size_t *count_p,
                     int timeout_ms);

//  Delete a stream (its files and consumers), or drop all its records
//  keeping its sequence. Returns ZMX_OK, ZMX_EINVAL (no such stream),
//  ZMX_ETIMEDOUT or ZMX_EIO.
int
    zmx_stream_delete (zmx_stream_t *self, const char *stream, int timeout_ms);
int
    zmx_stream_purge (zmx_stream_t *self, const char *stream, int timeout_ms);

//  The reason the server gave for the last error, or "".
const char *
    zmx_stream_error (zmx_stream_t *self);

//  ---- Counters

#define ZMX_STREAM_SUBSCRIPTIONS_MAX    1024    //  Subscriptions of one client

typedef struct {
    uint64_t received;          //  Valid messages from the server
    uint64_t invalid;           //  Messages refused by the decoder or the client's checks
    uint64_t stale;             //  Valid but for nothing this client waits for (dropped)
    uint64_t errors;            //  ERRORs that answered nothing this client waits for
    uint64_t records;           //  Records returned by zmx_stream_next
    uint64_t duplicates;        //  Records skipped: returned already before a new session
    uint64_t lost;              //  Times the server was found lost (silent, or forgot us)
    uint64_t reconnects;        //  Sessions started after the first
    uint64_t resent;            //  Batches sent again in a new session
    uint64_t send_failed;       //  Messages the socket would not take (sent again if needed)
} zmx_stream_counters_t;

void
    zmx_stream_counters (zmx_stream_t *self, zmx_stream_counters_t *counters);

#ifdef __cplusplus
}
#endif
#endif
