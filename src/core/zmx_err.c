/*  =========================================================================
    zmx_err - the library's error codes
    =========================================================================
*/
#include "zmx_classes.h"

const char *
zmx_strerror (int err)
{
    switch (err) {
        case ZMX_OK:            return "success";
        case ZMX_EINVAL:        return "invalid argument";
        case ZMX_ETIMEDOUT:     return "timed out";
        case ZMX_ENOSERVICE:    return "no such service";
        case ZMX_EPROTO:        return "protocol error";
        case ZMX_ENOMEM:        return "out of memory or limit reached";
        case ZMX_ETERM:         return "interrupted";
        case ZMX_ESECURITY:     return "security error (key or certificate)";
        case ZMX_ECONFIG:       return "invalid configuration";
        case ZMX_EADDR:         return "cannot bind or connect endpoint";
        case ZMX_EAGAIN:        return "resource temporarily unavailable";
        case ZMX_EDISCONNECTED: return "disconnected by peer";
        case ZMX_EDROPPED:      return "position dropped by retention";
        case ZMX_EIO:           return "file input/output error";
        default:                return "unknown error";
    }
}
