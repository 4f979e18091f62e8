/*  =========================================================================
    zmx_log_positions - the log service's durable consumer positions on
    disk: one small file per consumer in DATA/.consumers/ (a name the
    store never takes for a stream), written crash-safely (temp file,
    fsync, rename, fsync of the folder)
    =========================================================================
*/
#ifndef ZMX_LOG_POSITIONS_H_INCLUDED
#define ZMX_LOG_POSITIONS_H_INCLUDED

#include "zmx_classes.h"

#define ZMX__LOG_POSITIONS_DIR      ".consumers"
//  Bytes of a consumer's file name with its terminator: STREAM~HEX(NAME)
#define ZMX__LOG_POSITION_KEY_MAX   (ZMX_STREAM_NAME_MAX + 1 + 2 * ZMX_STREAM_MSG_DURABLE_MAX + 1)

typedef struct _zmx__log_positions_t zmx__log_positions_t;

//  The folder DIRECTORY/.consumers, created if missing (leftover temp
//  files are removed by load). NULL (logged) if it cannot be.
zmx__log_positions_t *
    zmx__log_positions_new (const char *directory);

void
    zmx__log_positions_destroy (zmx__log_positions_t **self_p);

//  The file name of consumer `name` (printable ASCII, 1 to
//  ZMX_STREAM_MSG_DURABLE_MAX bytes) of `stream`, into `key`.
void
    zmx__log_positions_key (const char *stream, const char *name, char *key);

//  Write `position` for `key`. Returns 0, or -1 (logged; the old file, if
//  any, stays whole).
int
    zmx__log_positions_save (zmx__log_positions_t *self, const char *key, uint64_t position);

//  Remove the file of `key`, if there is one.
void
    zmx__log_positions_remove (zmx__log_positions_t *self, const char *key);

//  Called by load for each consumer file that reads well.
typedef void (zmx__log_position_fn) (void *arg, const char *stream, const char *name,
                                     uint64_t position);

//  Read every consumer file (others are logged and ignored).
void
    zmx__log_positions_load (zmx__log_positions_t *self, zmx__log_position_fn *fn, void *arg);

#endif
