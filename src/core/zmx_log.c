/*  =========================================================================
    zmx_log - levelled logging to stderr

    The level is the single process-wide variable in libzmx. It is written
    once at start-up by main() and only read afterwards; a torn read of an
    int is not possible on our targets, so it needs no lock.
    =========================================================================
*/
#include "zmx_classes.h"
#include <sys/time.h>

static int s_level = -1;        //  -1 until first use: then from environment

static const char *s_names [] = { "error", "warning", "notice", "info", "debug" };
static const char s_letters [] = "EWNID";

int
zmx_log_level_from_name (const char *name)
{
    if (!name)
        return -1;
    for (int index = 0; index <= ZMX_LOG_DEBUG; index++)
        if (streq (name, s_names [index]))
            return index;
    return -1;
}

zmx_log_level_t
zmx_log_level (void)
{
    if (s_level < 0) {
        int level = zmx_log_level_from_name (getenv ("ZMX_LOG_LEVEL"));
        s_level = level < 0? ZMX_LOG_NOTICE: level;
    }
    return (zmx_log_level_t) s_level;
}

void
zmx_log_set_level (zmx_log_level_t level)
{
    s_level = level;
}

bool
zmx_log_enabled (zmx_log_level_t level)
{
    return (int) level <= (int) zmx_log_level ();
}

zmx_log_level_t
zmx__log_limited_level (int64_t now, int64_t *last_p)
{
    if (now - *last_p < 1000)
        return ZMX_LOG_DEBUG;
    *last_p = now;
    return ZMX_LOG_WARNING;
}

static void
s_log_v (zmx_log_level_t level, const char *component, const char *format, va_list args);

void
zmx__log_limited (const char *component, int64_t *last_p, const char *format, ...)
{
    zmx_log_level_t level = zmx__log_limited_level (zclock_mono (), last_p);
    if (!zmx_log_enabled (level))
        return;
    va_list args;
    va_start (args, format);
    s_log_v (level, component, format, args);
    va_end (args);
}

void
zmx_log (zmx_log_level_t level, const char *component, const char *format, ...)
{
    if (!zmx_log_enabled (level))
        return;
    va_list args;
    va_start (args, format);
    s_log_v (level, component, format, args);
    va_end (args);
}

static void
s_log_v (zmx_log_level_t level, const char *component, const char *format, va_list args)
{
    struct timeval now;
    gettimeofday (&now, NULL);
    struct tm local;
    localtime_r (&now.tv_sec, &local);
    char stamp [32];
    strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);

    //  Build the whole line first so that concurrent threads never
    //  interleave within a line.
    char line [1024];
    int used = snprintf (line, sizeof line, "%s.%03d %c %s: ", stamp,
                         (int) (now.tv_usec / 1000),
                         s_letters [level <= ZMX_LOG_DEBUG? level: ZMX_LOG_DEBUG],
                         component? component: "zmx");
    if (used > 0 && (size_t) used < sizeof line)
        vsnprintf (line + used, sizeof line - used, format, args);
    fprintf (stderr, "%s\n", line);
}
