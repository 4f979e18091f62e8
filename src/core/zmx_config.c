/*  =========================================================================
    zmx_config - typed reads from ZPL config trees, and the connection
    settings checks shared by the client and the worker (internal)
    =========================================================================
*/
#include "zmx_classes.h"

const char *
zmx__config_str (zconfig_t *config, const char *path, const char *fallback)
{
    if (!config)
        return fallback;
    zconfig_t *item = zconfig_locate (config, path);
    const char *value = item? zconfig_value (item): NULL;
    return value && *value? value: fallback;
}

int64_t
zmx__config_int (zconfig_t *config, const char *path, int64_t fallback,
                 int64_t min, int64_t max, bool *valid)
{
    const char *text = zmx__config_str (config, path, NULL);
    if (!text)
        return fallback;
    char *end;
    errno = 0;
    long long value = strtoll (text, &end, 10);
    if (errno || end == text || *end || value < min || value > max) {
        zmx_log_error ("config", "%s = \"%s\": expected a whole number from %" PRId64
                       " to %" PRId64, path, text, min, max);
        if (valid)
            *valid = false;
        return fallback;
    }
    return value;
}

bool
zmx__endpoint_valid (const char *endpoint)
{
    const char *separator = endpoint? strstr (endpoint, "://"): NULL;
    if (!separator || separator == endpoint || !separator [3])
        return false;
    for (const char *scan = endpoint; *scan; scan++)
        if (*scan <= ' ' || *scan == ',' || (unsigned char) *scan >= 127)
            return false;
    return true;
}

