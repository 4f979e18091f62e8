/*  =========================================================================
    zmx_log_dedup - the log service's window of message ids: which
    (stream, id) was stored with which sequence, forgotten by age and by
    count, oldest first (docs/STREAMS.md, "De-duplication")
    =========================================================================
*/
#ifndef ZMX_LOG_DEDUP_H_INCLUDED
#define ZMX_LOG_DEDUP_H_INCLUDED

#include "zmx_classes.h"

//  The record header that keeps a message id, so the window can be read
//  back from the streams after a restart
#define ZMX__LOG_MSG_ID_HEADER  "msg-id"

typedef struct _zmx__log_dedup_t zmx__log_dedup_t;

//  A window of `window_ms` and at most `max` ids in all (either 0: no
//  de-duplication, every lookup misses).
zmx__log_dedup_t *
    zmx__log_dedup_new (int64_t window_ms, size_t max);

void
    zmx__log_dedup_destroy (zmx__log_dedup_t **self_p);

//  The sequence `id` (1 to ZMX_STREAM_MSG_ID_MAX bytes) was stored with
//  in `stream` within the window, or 0.
uint64_t
    zmx__log_dedup_find (zmx__log_dedup_t *self, const char *stream, const void *id,
                         size_t size);

//  Remember that `id` was stored in `stream` as `sequence` at `time_ms`
//  (wall clock); the oldest entry goes when the count is over max.
void
    zmx__log_dedup_add (zmx__log_dedup_t *self, const char *stream, const void *id,
                        size_t size, uint64_t sequence, int64_t time_ms);

//  Forget every id of `stream` (deleted or purged).
void
    zmx__log_dedup_forget (zmx__log_dedup_t *self, const char *stream);

//  Forget the ids older than the window.
void
    zmx__log_dedup_expire (zmx__log_dedup_t *self);

//  Read the ids of the window back from the ZMX__LOG_MSG_ID_HEADER of the
//  last `max` records of every stream of `store`.
void
    zmx__log_dedup_load (zmx__log_dedup_t *self, zmx_stream_store_t *store);

//  Ids held.
size_t
    zmx__log_dedup_size (zmx__log_dedup_t *self);

#endif
