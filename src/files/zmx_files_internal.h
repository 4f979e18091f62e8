/*  =========================================================================
    zmx_files_internal - internal (zmx__) helpers of file distribution.
    =========================================================================
*/
#ifndef ZMX_FILES_INTERNAL_H_INCLUDED
#define ZMX_FILES_INTERNAL_H_INCLUDED

#include "zmx_classes.h"

//  Encode a CHEEZBURGER without copying its chunk: msg->chunk may be NULL,
//  and *chunk_p gets the address of the msg->chunk_size bytes in the frame
//  that the caller must fill in before sending (e.g. read() the file data
//  straight there). NULL, as zmx_fmq_encode, if a field cannot be encoded.
zframe_t *
    zmx__fmq_encode_chunk (const zmx_fmq_msg_t *msg, byte **chunk_p);

//  The files service's config keys, NULL-terminated ("publish/path":
//  key of a subsection). zmxd refuses keys it does not name.
extern const char *const zmx__files_keys [];

#endif
