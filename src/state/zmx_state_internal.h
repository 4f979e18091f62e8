/*  =========================================================================
    zmx_state_internal - internal (zmx__) parts of the state capability
    (clone, names) shared between its classes.
    =========================================================================
*/
#ifndef ZMX_STATE_INTERNAL_H_INCLUDED
#define ZMX_STATE_INTERNAL_H_INCLUDED

#include "zmx_classes.h"

//  The strings of `endpoints` joined with ",". Caller frees.
char *
    zmx__endpoint_list_join (zlist_t *endpoints);

//  Parse a lookup file (ZPL, a "names" section of NAME = ENDPOINTS) into a
//  new table name -> cleaned endpoint list. NULL, logged, if it cannot be
//  read or holds an invalid entry.
zhash_t *
    zmx__names_file_parse (const char *path);

//  Look `name` up where no clone client is needed: the local resolver
//  service ($ZMX_RESOLVER, ipc by default) until `deadline` (zclock_mono
//  msec), then the file named by $ZMX_NAMES_FILE. Returns ZMX_OK with
//  *endpoints_p (caller frees), ZMX_EADDR or ZMX_EINVAL when the service
//  answered so, or ZMX_ETIMEDOUT when neither source knows the name.
int
    zmx__names_resolve_local (const char *name, int64_t deadline, char **endpoints_p);

//  The clone server's and the resolver service's config keys,
//  NULL-terminated ("bstar/local": key of a subsection). zmxd refuses
//  keys they do not name.
extern const char *const zmx__clone_server_keys [];
extern const char *const zmx__resolver_keys [];

#endif
