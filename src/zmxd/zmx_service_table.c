/*  =========================================================================
    zmx_service_table - the services zmxd can host, by type name

    The one place that names every capability's service actor: it sits
    above the capabilities (src/reqrep, src/files, src/discovery,
    src/state) so that core/ never points up into them. Adding a service
    is one line here.
    =========================================================================
*/
#include "zmx_classes.h"
#include "../discovery/zmx_discovery_internal.h"
#include "../files/zmx_files_internal.h"
#include "../reqrep/zmx_reqrep_internal.h"
#include "../state/zmx_state_internal.h"
#include "../streams/zmx_log_service.h"

#define S_MAX_KEY_LISTS 3

typedef struct {
    const char *type;
    zactor_fn *actor;
    //  The lists of keys the service reads, each beside its reader
    const char *const *keys [S_MAX_KEY_LISTS];
} s_service_type_t;

static const s_service_type_t s_service_table [] = {
    { "broker", zmx_broker_actor,
      { zmx__broker_keys, zmx__federation_keys, zmx__broker_pair_keys } },
    { "files", zmx_files_actor, { zmx__files_keys } },
    { "clone", zmx_clone_server_actor, { zmx__clone_server_keys } },
    { "resolver", zmx_resolver_actor, { zmx__resolver_keys } },
    { "titanic", zmx_titanic_actor, { zmx__titanic_keys } },
    { "node", zmx__node_service_actor, { zmx__node_keys, zmx__node_service_keys } },
    { "log", zmx_log_service_actor, { zmx__log_service_keys } },
};

static const char *s_service_type_names [] = { "broker", "files", "titanic", "clone", "resolver", "node",
                                                "log", NULL };

static const s_service_type_t *
s_service_find (const char *type)
{
    if (!type)
        return NULL;
    for (size_t index = 0; index < sizeof s_service_table / sizeof s_service_table [0]; index++)
        if (streq (type, s_service_table [index].type))
            return &s_service_table [index];
    return NULL;
}

zactor_fn *
zmx_service_lookup (const char *type)
{
    const s_service_type_t *service = s_service_find (type);
    return service? service->actor: NULL;
}

//  True if path matches key: equal, or key ends in "/*" and path is one
//  name below that subsection.
static bool
s_key_matches (const char *key, const char *path)
{
    size_t length = strlen (key);
    if (length >= 2 && streq (key + length - 2, "/*"))
        return strncmp (key, path, length - 1) == 0 && path [length - 1]
            && !strchr (path + length - 1, '/');
    return streq (key, path);
}

bool
zmx_service_key_known (const char *type, const char *path)
{
    const s_service_type_t *service = s_service_find (type);
    if (!service || !path)
        return false;
    if (streq (path, "enabled"))
        return true;
    for (int list = 0; list < S_MAX_KEY_LISTS && service->keys [list]; list++)
        for (const char *const *key = service->keys [list]; *key; key++)
            if (s_key_matches (*key, path))
                return true;
    return false;
}

//  Levenshtein distance of two short strings (longer ones are cut).
static size_t
s_edit_distance (const char *one, const char *two)
{
    enum { MAX = 64 };
    size_t one_size = strnlen (one, MAX), two_size = strnlen (two, MAX);
    size_t row [MAX + 1];
    for (size_t column = 0; column <= two_size; column++)
        row [column] = column;
    for (size_t line = 1; line <= one_size; line++) {
        size_t diagonal = row [0];
        row [0] = line;
        for (size_t column = 1; column <= two_size; column++) {
            size_t above = row [column];
            size_t cost = diagonal + (one [line - 1] != two [column - 1]);
            size_t best = above + 1 < row [column - 1] + 1? above + 1: row [column - 1] + 1;
            row [column] = cost < best? cost: best;
            diagonal = above;
        }
    }
    return row [two_size];
}

const char *
zmx_service_key_nearest (const char *type, const char *path)
{
    const s_service_type_t *service = s_service_find (type);
    const char *nearest = NULL;
    size_t best = SIZE_MAX;
    for (int list = 0; service && path && list < S_MAX_KEY_LISTS && service->keys [list];
         list++)
        for (const char *const *key = service->keys [list]; *key; key++) {
            size_t distance = s_edit_distance (*key, path);
            if (distance < best) {
                best = distance;
                nearest = *key;
            }
        }
    return nearest;
}

const char **
zmx_service_types (void)
{
    return s_service_type_names;
}
