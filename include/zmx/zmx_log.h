/*  =========================================================================
    zmx_log - levelled logging to stderr, optionally forwarded

    One line per event: "2026-11-24 18:07:01.123 W broker: text". The level
    is process-wide (the one piece of global state in libzmx, set once by
    the program's main and read by every thread).

    The forwarder (off by default) also publishes each line at or above
    its own level as two frames [subject][body] on a PUB-style socket that
    connects to an endpoint, typically zmxd's log ingest (docs/STREAMS.md,
    "The logging subsystem"):

        subject  log.HOST.PROCESS.LEVEL   e.g. log.db1.zmxd.warning
        body     COMPONENT: TEXT          e.g. broker: queue full

    HOST is the short host name, PROCESS the program's name, each made a
    valid subject token (bytes outside 0x21-0x7e and '.', '*', '>' become
    '_'; at most 64 bytes); LEVEL is the level's name below. Setting the
    environment variable ZMX_LOG_ENDPOINT turns it on at the first log
    call, so any zmx program forwards without a code change.

    Forwarding never blocks a log call and never changes what is printed:
    a line that cannot be queued (ZMX_LOG_FORWARD_HWM lines are waiting,
    or no subscriber is connected and ZMX_LOG_FORWARD_BACKLOG lines are
    kept for when one comes) is left out of the forward and counted by
    zmx_log_forward_dropped. The connection is plain (no CURVE): it
    carries log text to a local or trusted collector. At exit the
    forwarder waits at most twice ZMX_LOG_FORWARD_LINGER msec (kept
    lines, then queued ones); it uses a
    libzmq context of its own, so CZMQ's zsys_shutdown never sees it.
    =========================================================================
*/
#ifndef ZMX_LOG_H_INCLUDED
#define ZMX_LOG_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    ZMX_LOG_ERROR = 0,
    ZMX_LOG_WARNING = 1,
    ZMX_LOG_NOTICE = 2,
    ZMX_LOG_INFO = 3,
    ZMX_LOG_DEBUG = 4
} zmx_log_level_t;

//  Set the most verbose level that is printed. Default ZMX_LOG_NOTICE, or
//  the value of the ZMX_LOG_LEVEL environment variable when it is a level
//  name.
void
    zmx_log_set_level (zmx_log_level_t level);

//  Return the current level.
zmx_log_level_t
    zmx_log_level (void);

//  Map "error", "warning", "notice", "info", "debug" to a level; -1 if the
//  name is none of these.
int
    zmx_log_level_from_name (const char *name);

//  Return true if a message at this level would be printed or forwarded;
//  use it to skip building expensive messages.
bool
    zmx_log_enabled (zmx_log_level_t level);

//  Print one line at the given level, tagged with the component's name.
void
    zmx_log (zmx_log_level_t level, const char *component, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  Lines the forwarder may hold queued for a slow or stalled collector;
//  more are dropped (and counted), never waited for.
#define ZMX_LOG_FORWARD_HWM     1000

//  Lines kept while no collector has subscribed yet (a PUB-style socket
//  drops what it sends before the subscription arrives), sent once one
//  does; more are dropped. At exit they get ZMX_LOG_FORWARD_LINGER msec
//  for a collector to subscribe.
#define ZMX_LOG_FORWARD_BACKLOG 100

//  Longest wait at exit, or after zmx_log_forward stops or moves the
//  forwarder, for queued lines to go out (msec).
#define ZMX_LOG_FORWARD_LINGER  100

//  Forward log lines to `endpoint` ("tcp://127.0.0.1:5560"; a comma-
//  separated list connects to each, and each line goes to every collector
//  connected; a leading '>', as in CZMQ's ZSYS_LOGSENDER, is allowed), replacing any earlier endpoint. NULL or ""
//  stops forwarding. Thread-safe. Returns ZMX_OK; ZMX_EADDR if an endpoint
//  is malformed or its transport unknown (forwarding is then as it was);
//  ZMX_ETERM once the process is exiting.
int
    zmx_log_forward (const char *endpoint);

//  True while the forwarder is on.
bool
    zmx_log_forwarding (void);

//  Set the most verbose level that is forwarded: a level, or -1 (the
//  default) to forward what is printed. The environment variable
//  ZMX_LOG_FORWARD_LEVEL (a level name) sets it at the first log call.
void
    zmx_log_forward_set_level (int level);

//  Return the forward level now in effect.
zmx_log_level_t
    zmx_log_forward_level (void);

//  Lines handed to the forward socket, and lines left out of the forward
//  (queue full, or no subscriber), since the process started.
uint64_t
    zmx_log_forward_sent (void);
uint64_t
    zmx_log_forward_dropped (void);

#define zmx_log_error(c, ...)   zmx_log (ZMX_LOG_ERROR, (c), __VA_ARGS__)
#define zmx_log_warning(c, ...) zmx_log (ZMX_LOG_WARNING, (c), __VA_ARGS__)
#define zmx_log_notice(c, ...)  zmx_log (ZMX_LOG_NOTICE, (c), __VA_ARGS__)
#define zmx_log_info(c, ...)    zmx_log (ZMX_LOG_INFO, (c), __VA_ARGS__)
#define zmx_log_debug(c, ...) \
    do { if (zmx_log_enabled (ZMX_LOG_DEBUG)) zmx_log (ZMX_LOG_DEBUG, (c), __VA_ARGS__); } while (0)

#ifdef __cplusplus
}
#endif
#endif
