/*  =========================================================================
    zmx_config_tree - a ZPL tree as clone store keys, and back

    The mapping is described in include/zmx/zmx_config_tree.h. Paths are
    built in one buffer that grows and shrinks with the walk, so a tree is
    flattened without an allocation per node beyond the hash entries.
    =========================================================================
*/
#include "zmx_classes.h"
#include <ctype.h>

#define S_NAME_MAX 255          //  Characters in one ZPL name

bool
zmx_config_tree_name_valid (const char *name)
{
    if (!name || !*name || strlen (name) > S_NAME_MAX)
        return false;
    for (const char *cursor = name; *cursor; cursor++)
        if (!isalnum ((unsigned char) *cursor) && !strchr ("$-_@.&+", *cursor))
            return false;
    return true;
}

bool
zmx_config_tree_value_valid (const char *value)
{
    if (!value)
        return false;
    bool double_quote = false, single_quote = false;
    for (const unsigned char *cursor = (const unsigned char *) value; *cursor; cursor++) {
        if (*cursor < 0x20 || *cursor == 0x7f)
            return false;
        double_quote |= *cursor == '"';
        single_quote |= *cursor == '\'';
    }
    return !(double_quote && single_quote);
}

//  Walk the children of `node` with `path` holding the key so far (its
//  length is `length`). Returns 0 or -1 with *error set.
static int
s_flatten (zconfig_t *node, char *path, size_t length, zhash_t *keys, size_t *skipped,
           const char **error)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        const char *name = zconfig_name (child);
        size_t size = strlen (name);
        //  Room for the name, a "/" and the terminator
        if (length + size + 2 > ZMX_CHP_KEY_MAX + 1) {
            *error = "a key would be longer than the CHP limit";
            return -1;
        }
        memcpy (path + length, name, size + 1);
        const char *value = zconfig_value (child);
        if (value && *value) {
            if (!zmx_chp_key_valid (path, length + size)) {
                *error = "a name gives a key that is not valid CHP";
                return -1;
            }
            zhash_update (keys, path, (void *) value);
        }
        else
        if (!zconfig_child (child))
            (*skipped)++;
        if (zconfig_child (child)) {
            path [length + size] = '/';
            path [length + size + 1] = 0;
            if (s_flatten (child, path, length + size + 1, keys, skipped, error))
                return -1;
        }
    }
    return 0;
}

zhash_t *
zmx_config_tree_to_keys (zconfig_t *root, const char *prefix, size_t *skipped,
                         const char **error)
{
    const char *reason = NULL;
    size_t empty = 0;
    if (!root || !prefix || !*prefix || !zmx_chp_subtree_valid (prefix, strlen (prefix))) {
        if (error)
            *error = "the prefix must look like /a/ or /a/b/";
        return NULL;
    }
    char *path = (char *) malloc (ZMX_CHP_KEY_MAX + 1);
    size_t length = strlen (prefix);
    if (length > ZMX_CHP_KEY_MAX - 1) {
        free (path);
        if (error)
            *error = "the prefix is too long";
        return NULL;
    }
    memcpy (path, prefix, length + 1);
    zhash_t *keys = zhash_new ();
    zhash_autofree (keys);
    if (s_flatten (root, path, length, keys, &empty, &reason)) {
        zhash_destroy (&keys);
        if (error)
            *error = reason;
    }
    free (path);
    if (skipped)
        *skipped = empty;
    return keys;
}

//  Check every segment of `relative` ("a/b/c"). True if all are names.
static bool
s_relative_valid (const char *relative)
{
    char *copy = strdup (relative);
    char *cursor = copy, *segment;
    bool valid = *copy != 0;
    while (valid && (segment = strsep (&cursor, "/")))
        valid = zmx_config_tree_name_valid (segment);
    free (copy);
    return valid;
}

zconfig_t *
zmx_config_tree_from_keys (zhash_t *keys, const char *prefix, const char **error,
                           char **bad_key_p)
{
    assert (keys);
    assert (prefix);
    size_t prefix_size = strlen (prefix);
    zlist_t *names = zhash_keys (keys);
    zlist_sort (names, (zlist_compare_fn *) strcmp);
    zconfig_t *root = zconfig_new ("root", NULL);
    for (const char *key = (const char *) zlist_first (names); key;
         key = (const char *) zlist_next (names)) {
        if (strncmp (key, prefix, prefix_size) != 0)
            continue;
        const char *value = (const char *) zhash_lookup (keys, key);
        const char *reason = NULL;
        if (!s_relative_valid (key + prefix_size))
            reason = "a key segment is empty or not a ZPL name";
        else
        if (!zmx_config_tree_value_valid (value))
            reason = "a value has control characters or both quote kinds";
        if (reason) {
            if (error)
                *error = reason;
            if (bad_key_p)
                *bad_key_p = strdup (key);
            zconfig_destroy (&root);
            break;
        }
        zconfig_put (root, key + prefix_size, value);
    }
    zlist_destroy (&names);
    return root;
}

//  Write the ZPL lines of the children of `node` at `depth`. Returns 0,
//  or -1 if a name or value cannot be written.
static int
s_save (zconfig_t *node, int depth, FILE *text)
{
    for (zconfig_t *child = zconfig_child (node); child; child = zconfig_next (child)) {
        const char *name = zconfig_name (child);
        const char *value = zconfig_value (child);
        if (!zmx_config_tree_name_valid (name))
            return -1;
        fprintf (text, "%*s%s", depth * 4, "", name);
        if (value && (*value || !zconfig_child (child))) {
            if (!zmx_config_tree_value_valid (value))
                return -1;
            char quote = strchr (value, '"')? '\'': '"';
            fprintf (text, " = %c%s%c", quote, value, quote);
        }
        fprintf (text, "\n");
        if (s_save (child, depth + 1, text))
            return -1;
    }
    return 0;
}

char *
zmx_config_tree_save (zconfig_t *root)
{
    assert (root);
    char *result = NULL;
    size_t size = 0;
    FILE *text = open_memstream (&result, &size);
    if (!text)
        return NULL;
    int rc = s_save (root, 0, text);
    fclose (text);
    if (rc)
        zstr_free (&result);
    return result;
}
