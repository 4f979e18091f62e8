/*  =========================================================================
    zmx_config_tree - a ZPL tree as clone store keys, and back

    A ZPL tree maps onto keys by joining the names on the path to a node
    with "/" below a prefix: with prefix "/config/",

        db                          /config/db/host = "10.0.0.1"
            host = "10.0.0.1"   <-> /config/db/port = "5432"
            port = 5432             /config/log = "info"
        log = "info"

    Every node with a non-empty value becomes one key (a node may have a
    value and children: both are kept). A node with an empty value and no
    children cannot be stored, since an empty value deletes a key in CHP:
    it is skipped and counted. Section headers (children, empty value)
    produce no key of their own.

    Back from keys, every path segment must be a ZPL name (letters,
    digits and $ - _ @ . & +) and every value must be writable as a
    quoted ZPL value (no control characters, not both quote kinds).
    zmx_config_tree_save writes such a tree as ZPL text; unlike
    zconfig_str_save it quotes each value with a quote it does not
    contain, so that the text always loads back as the same tree.
    =========================================================================
*/
#ifndef ZMX_CONFIG_TREE_H_INCLUDED
#define ZMX_CONFIG_TREE_H_INCLUDED

#include <czmq.h>

#ifdef __cplusplus
extern "C" {
#endif

//  Flatten the children of `root` into keys below `prefix` (a CHP subtree
//  such as "/config/" or "/config/app/"). Returns a hash key -> value
//  (caller owns it; values autofreed), or NULL with *error (may be NULL)
//  set to a static reason if the prefix is not a subtree or a key would
//  be too long or not printable. *skipped (may be NULL) gets the number of
//  empty leaves left out.
zhash_t *
    zmx_config_tree_to_keys (zconfig_t *root, const char *prefix, size_t *skipped,
                             const char **error);

//  Build a tree (root node "root") from the keys of `keys` that lie below
//  `prefix`, in sorted order; other keys are ignored. Returns the tree
//  (caller owns it), or NULL with *error set if a key has an empty
//  segment or one that is not a ZPL name, or a value cannot be written
//  as ZPL. *bad_key_p (may be NULL) then gets a copy of the key at fault
//  (caller frees).
zconfig_t *
    zmx_config_tree_from_keys (zhash_t *keys, const char *prefix, const char **error,
                               char **bad_key_p);

//  True if `value` can be written as one quoted ZPL value.
bool
    zmx_config_tree_value_valid (const char *value);

//  True if `name` is a ZPL name (1..255 characters, see above; no "/").
bool
    zmx_config_tree_name_valid (const char *name);

//  The ZPL text of the children of `root` (4-space indents, name = value
//  with quoted values). Caller frees. NULL if a name or value cannot be
//  written (see zmx_config_tree_from_keys).
char *
    zmx_config_tree_save (zconfig_t *root);

#ifdef __cplusplus
}
#endif
#endif
