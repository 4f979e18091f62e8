/*  =========================================================================
    zmx_log_service - the "log" service of zmxd: streams over ZMXS1
    (docs/STREAMS.md, "The log service"; docs/PROTOCOLS.md, "ZMXS1")
    =========================================================================
*/
#ifndef ZMX_LOG_SERVICE_H_INCLUDED
#define ZMX_LOG_SERVICE_H_INCLUDED

#include "zmx_classes.h"

//  The service actor (zmx_service.h contract). Its config subtree is the
//  "log" section of zmxd's config.
void
    zmx_log_service_actor (zsock_t *pipe, void *args);

//  The config keys the service reads (zmxd refuses any other).
extern const char *const zmx__log_service_keys [];

#endif
