/*  =========================================================================
    zmx_err - the library's error codes

    Every public function that can fail for a reason the caller may act on
    returns (or records) one of these codes. ZMX_OK is zero; errors are
    negative so that "rc < 0" is always the failure test.
    =========================================================================
*/
#ifndef ZMX_ERR_H_INCLUDED
#define ZMX_ERR_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZMX_OK = 0,
    ZMX_EINVAL = -1,        //  An argument is out of range or malformed
    ZMX_ETIMEDOUT = -2,     //  No answer within the timeout, after every retry
    ZMX_ENOSERVICE = -3,    //  The broker has no such service (MMI said 404)
    ZMX_EPROTO = -4,        //  The peer sent traffic that breaks the protocol
    ZMX_ENOMEM = -5,        //  Out of memory, or a configured bound was hit
    ZMX_ETERM = -6,         //  Interrupted (signal) or the context is closing
    ZMX_ESECURITY = -7,     //  A key or certificate is missing or invalid
    ZMX_ECONFIG = -8,       //  The configuration is invalid
    ZMX_EADDR = -9,         //  An endpoint could not be bound or connected
    ZMX_EAGAIN = -10,       //  Nothing available now; try again later
    ZMX_EDISCONNECTED = -11,//  The peer told us to go away (DISCONNECT)
    ZMX_EDROPPED = -12,     //  The position asked for was dropped by retention
    ZMX_EIO = -13           //  A file could not be read or written
} zmx_err_t;

//  Return a short, static, human description of an error code. Never NULL;
//  unknown codes give "unknown error".
const char *
    zmx_strerror (int err);

#ifdef __cplusplus
}
#endif
#endif
