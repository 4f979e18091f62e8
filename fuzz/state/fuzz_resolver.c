/*  =========================================================================
    fuzz_resolver - libFuzzer target for the resolver service's ZMXNS1
    codec and for the ZPL <-> keys mapping of zmx_config_tree

    Input layout: the first byte picks the target (by its value mod 3):
    0 request decode, 1 reply decode, 2 ZPL text. For the codecs the rest
    is frames, each a length (one byte, or 255 and two bytes: see
    fuzz_frames_split) followed by that many bytes (a short last frame
    takes what is left). Checks that a decoded request carries
    a valid name and a decoded reply a clean endpoint list, and that a ZPL
    tree flattened to keys, written back and parsed again gives the same
    keys.
    =========================================================================
*/
#include "zmx_classes.h"
#include "fuzz_support.h"

#define S_MAX_FRAMES 8

static zmsg_t *
s_frames (const uint8_t *data, size_t size)
{
    zmx_frame_t frames [S_MAX_FRAMES];
    size_t count = fuzz_frames_split (data, size, 1, frames, S_MAX_FRAMES);
    zmsg_t *msg = zmsg_new ();
    for (size_t index = 0; index < count; index++)
        zmsg_addmem (msg, frames [index].data, frames [index].size);
    fuzz_frames_free (frames, count);
    return msg;
}

static void
s_request (const uint8_t *data, size_t size)
{
    zmsg_t *msg = s_frames (data, size);
    char name [ZMX_RESOLVER_NAME_MAX + 1];
    const char *error = NULL;
    if (zmx_resolver_request_decode (msg, name, &error) == 0)
        FUZZ_REQUIRE (zmx_resolver_name_valid (name) && zmsg_size (msg) == 3);
    else
        FUZZ_REQUIRE (error && *error);
    zmsg_destroy (&msg);
}

static void
s_reply (const uint8_t *data, size_t size)
{
    zmsg_t *msg = s_frames (data, size);
    zmx_resolver_status_t status;
    char *endpoints = NULL;
    const char *error = NULL;
    if (zmx_resolver_reply_decode (msg, &status, &endpoints, &error) == 0) {
        FUZZ_REQUIRE ((status == ZMX_RESOLVER_STATUS_OK) == (endpoints != NULL));
        FUZZ_REQUIRE (!endpoints || (*endpoints && !strchr (endpoints, ' ')));
    }
    else
        FUZZ_REQUIRE (error && *error && !endpoints);
    free (endpoints);
    zmsg_destroy (&msg);
}

static void
s_tree (const uint8_t *data, size_t size)
{
    char *text = (char *) malloc (size + 1);
    memcpy (text, data, size);
    text [size] = 0;
    zconfig_t *root = zconfig_str_load (text);
    zhash_t *keys = root? zmx_config_tree_to_keys (root, "/config/", NULL, NULL): NULL;
    zconfig_t *tree = keys? zmx_config_tree_from_keys (keys, "/config/", NULL, NULL): NULL;
    char *saved = tree? zmx_config_tree_save (tree): NULL;
    if (saved) {
        //  What can be written loads back as the same keys
        zconfig_t *again = zconfig_str_load (saved);
        FUZZ_REQUIRE (again);
        zhash_t *keys_again = zmx_config_tree_to_keys (again, "/config/", NULL, NULL);
        FUZZ_REQUIRE (keys_again && zhash_size (keys_again) == zhash_size (keys));
        for (const char *value = (const char *) zhash_first (keys); value;
             value = (const char *) zhash_next (keys)) {
            const char *other = (const char *) zhash_lookup (keys_again, zhash_cursor (keys));
            FUZZ_REQUIRE (other && streq (other, value));
        }
        zhash_destroy (&keys_again);
        zconfig_destroy (&again);
    }
    free (saved);
    zconfig_destroy (&tree);
    zhash_destroy (&keys);
    zconfig_destroy (&root);
    free (text);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data [0] % 3) {
        case 0: s_request (data + 1, size - 1); break;
        case 1: s_reply (data + 1, size - 1); break;
        default: s_tree (data + 1, size - 1); break;
    }
    return 0;
}
