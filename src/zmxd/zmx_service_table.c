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

typedef struct {
    const char *type;
    zactor_fn *actor;
} s_service_type_t;

static const s_service_type_t s_service_table [] = {
    { "broker", zmx_broker_actor },
    { "files", zmx_files_actor },
    { "clone", zmx_clone_server_actor },
    { "resolver", zmx_resolver_actor },
    { "titanic", zmx_titanic_actor },
    { "node", zmx__node_service_actor },
};

static const char *s_service_type_names [] = { "broker", "files", "titanic", "clone", "resolver", "node",
                                                NULL };

zactor_fn *
zmx_service_lookup (const char *type)
{
    if (!type)
        return NULL;
    for (size_t index = 0; index < sizeof s_service_table / sizeof s_service_table [0]; index++)
        if (streq (type, s_service_table [index].type))
            return s_service_table [index].actor;
    return NULL;
}

const char **
zmx_service_types (void)
{
    return s_service_type_names;
}
