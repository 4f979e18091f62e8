/*  =========================================================================
    zmx_log - levelled logging to stderr

    One line per event: "2026-11-24 18:07:01.123 W broker: text". The level
    is process-wide (the one piece of global state in libzmx, set once by
    the program's main and read by every thread).
    =========================================================================
*/
#ifndef ZMX_LOG_H_INCLUDED
#define ZMX_LOG_H_INCLUDED

#include <stdbool.h>

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

//  Return true if a message at this level would be printed; use it to skip
//  building expensive messages.
bool
    zmx_log_enabled (zmx_log_level_t level);

//  Print one line at the given level, tagged with the component's name.
void
    zmx_log (zmx_log_level_t level, const char *component, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

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
