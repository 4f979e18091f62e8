/*  =========================================================================
    zmx_names - what every user of logical names shares: the name syntax,
    endpoint lists, the lookup file, the resolver protocol codec (ZMXNS1,
    docs/PROTOCOLS.md), and a lookup that asks only the local resolver
    service and the lookup file.

    Nothing here needs a clone client, so the clone client itself can take
    "name:NAME" for its servers (through zmx__names_resolve_local) while
    zmx_resolver mirrors the store through a clone client, with no circle.
    =========================================================================
*/
#include "zmx_state_internal.h"
#include <ctype.h>
#include <unistd.h>

#define S_COMPONENT     "resolver"
#define S_REQUEST_FRAMES 3
#define S_REPLY_FRAMES  3
#define S_FILE_MAX      (16 * 1024 * 1024)  //  Bytes of lookup file read

bool
zmx_resolver_name_valid (const char *name)
{
    if (!name || !*name || strlen (name) > ZMX_RESOLVER_NAME_MAX)
        return false;
    for (const char *cursor = name; *cursor; cursor++)
        if (!isalnum ((unsigned char) *cursor) && !strchr (".-_", *cursor))
            return false;
    return true;
}

char *
zmx_resolver_name_key (const char *name, const char *endpoint)
{
    if (!zmx_resolver_name_valid (name) || !zmx__endpoint_valid (endpoint))
        return NULL;
    char hex [41];
    zmx__sha1_string (endpoint, strlen (endpoint), hex);
    hex [ZMX_RESOLVER_ID_SIZE] = 0;
    return zsys_sprintf ("%s%s/%s", ZMX_RESOLVER_SUBTREE, name, hex);
}

//  The strings of `endpoints` joined with ",". Caller frees.
char *
zmx__endpoint_list_join (zlist_t *endpoints)
{
    size_t size = 1;
    for (const char *endpoint = (const char *) zlist_first (endpoints); endpoint;
         endpoint = (const char *) zlist_next (endpoints))
        size += strlen (endpoint) + 1;
    char *list = (char *) zmalloc (size);
    for (const char *endpoint = (const char *) zlist_first (endpoints); endpoint;
         endpoint = (const char *) zlist_next (endpoints)) {
        if (*list)
            strcat (list, ",");
        strcat (list, endpoint);
    }
    return list;
}

//  A list of valid endpoints, cleaned of spaces and duplicates, joined
//  with ","; NULL if an endpoint is invalid or there are more than max.
static char *
s_endpoint_list_clean (const char *list, size_t max)
{
    if (!list)
        return NULL;
    zlist_t *endpoints = zlist_new ();
    zlist_autofree (endpoints);
    zlist_comparefn (endpoints, (zlist_compare_fn *) strcmp);
    char *copy = strdup (list);
    char *cursor = copy, *endpoint;
    bool valid = true;
    while (valid && (endpoint = strsep (&cursor, ","))) {
        while (*endpoint == ' ')
            endpoint++;
        char *end = endpoint + strlen (endpoint);
        while (end > endpoint && end [-1] == ' ')
            *--end = 0;
        valid = zmx__endpoint_valid (endpoint) && zlist_size (endpoints) < max;
        if (valid && !zlist_exists (endpoints, endpoint))
            zlist_append (endpoints, endpoint);
    }
    free (copy);
    char *result = valid? zmx__endpoint_list_join (endpoints): NULL;
    zlist_destroy (&endpoints);
    return result;
}

//  Parse the file into a new table; NULL (logged) if it is not valid.
zhash_t *
zmx__names_file_parse (const char *path)
{
    //  zconfig_load leaks its zfile when the text is not ZPL: read the
    //  file ourselves
    zchunk_t *text = zchunk_slurp (path, S_FILE_MAX);
    zconfig_t *root = text? zconfig_chunk_load (text): NULL;
    zchunk_destroy (&text);
    if (!root) {
        zmx_log_error (S_COMPONENT, "lookup file '%s' cannot be read as ZPL", path);
        return NULL;
    }
    zhash_t *names = zhash_new ();
    zhash_autofree (names);
    zconfig_t *section = zconfig_locate (root, "names");
    for (zconfig_t *item = section? zconfig_child (section): NULL; item;
         item = zconfig_next (item)) {
        const char *name = zconfig_name (item);
        char *endpoints = s_endpoint_list_clean (zconfig_value (item),
                                                    ZMX_RESOLVER_ENDPOINTS_MAX);
        if (!zmx_resolver_name_valid (name) || !endpoints
        ||  zhash_size (names) >= ZMX_RESOLVER_MAX_FILE_NAMES) {
            zmx_log_error (S_COMPONENT, "lookup file '%s': names/%s must be a valid name "
                           "with a list of valid endpoints", path, name);
            free (endpoints);
            zhash_destroy (&names);
            break;
        }
        zhash_update (names, name, endpoints);
        free (endpoints);
    }
    zconfig_destroy (&root);
    return names;
}

//  True if the frame holds exactly `text`.
static bool
s_frame_is (zframe_t *frame, const char *text)
{
    return frame && zframe_size (frame) == strlen (text)
        && memcmp (zframe_data (frame), text, zframe_size (frame)) == 0;
}

int
zmx_resolver_request_decode (zmsg_t *msg, char *name, const char **error)
{
    const char *reason = NULL;
    zframe_t *protocol = msg? zmsg_first (msg): NULL;
    zframe_t *command = msg? zmsg_next (msg): NULL;
    zframe_t *argument = msg? zmsg_next (msg): NULL;
    if (!msg || zmsg_size (msg) != S_REQUEST_FRAMES)
        reason = "a request has 3 frames";
    else
    if (!s_frame_is (protocol, ZMX_RESOLVER_PROTOCOL))
        reason = "not a ZMXNS1 request";
    else
    if (!s_frame_is (command, ZMX_RESOLVER_LOOKUP))
        reason = "unknown command";
    else
    if (zframe_size (argument) == 0 || zframe_size (argument) > ZMX_RESOLVER_NAME_MAX)
        reason = "name size out of range";
    else {
        memcpy (name, zframe_data (argument), zframe_size (argument));
        name [zframe_size (argument)] = 0;
        if (!zmx_resolver_name_valid (name))
            reason = "invalid name";
    }
    if (reason && error)
        *error = reason;
    return reason? -1: 0;
}

int
zmx_resolver_reply_decode (zmsg_t *msg, zmx_resolver_status_t *status,
                           char **endpoints_p, const char **error)
{
    static const char *words [] = { ZMX_RESOLVER_OK, ZMX_RESOLVER_UNKNOWN,
                                    ZMX_RESOLVER_INVALID, ZMX_RESOLVER_UNSYNCED };
    const char *reason = NULL;
    zframe_t *protocol = msg? zmsg_first (msg): NULL;
    zframe_t *word = msg? zmsg_next (msg): NULL;
    zframe_t *list = msg? zmsg_next (msg): NULL;
    int found = -1;
    for (int index = 0; index < 4 && word; index++)
        if (s_frame_is (word, words [index]))
            found = index;
    if (!msg || zmsg_size (msg) != S_REPLY_FRAMES)
        reason = "a reply has 3 frames";
    else
    if (!s_frame_is (protocol, ZMX_RESOLVER_PROTOCOL))
        reason = "not a ZMXNS1 reply";
    else
    if (found < 0)
        reason = "unknown status";
    else
    if ((found == ZMX_RESOLVER_STATUS_OK) != (zframe_size (list) > 0)
    ||  zframe_size (list) > ZMX_RESOLVER_REPLY_MAX)
        reason = "endpoints frame does not fit the status";
    char *endpoints = NULL;
    if (!reason && found == ZMX_RESOLVER_STATUS_OK) {
        char *text = zframe_strdup (list);
        endpoints = s_endpoint_list_clean (text, ZMX_RESOLVER_ENDPOINTS_MAX);
        free (text);
        if (!endpoints)
            reason = "invalid endpoint list";
    }
    if (reason) {
        if (error)
            *error = reason;
        return -1;
    }
    *status = (zmx_resolver_status_t) found;
    if (endpoints_p)
        *endpoints_p = endpoints;
    else
        free (endpoints);
    return 0;
}

//  True if the service endpoint may have a listener: an ipc path must
//  exist (connecting to a missing one would only time out).
static bool
s_service_present (const char *endpoint)
{
    if (strncmp (endpoint, "ipc://", 6) != 0 || endpoint [6] == '@')
        return true;
    return access (endpoint + 6, F_OK) == 0;
}

//  Ask the local service until `deadline`. Returns ZMX_OK, ZMX_EADDR,
//  ZMX_EINVAL or ZMX_ETIMEDOUT (also for a bad or missing service).
static int
s_ask_service (const char *endpoint, const char *name, int64_t deadline, char **endpoints_p)
{
    int rc = ZMX_ETIMEDOUT;
    while (rc == ZMX_ETIMEDOUT && zclock_mono () < deadline) {
        zsock_t *request = zmx__sock_new (ZMQ_REQ);
        if (!request)
            break;              //  No socket to ask with: as a timeout
        zsock_set_linger (request, 0);
        zmsg_t *reply = NULL;
        if (zsock_connect (request, "%s", endpoint) == 0
        &&  zstr_sendx (request, ZMX_RESOLVER_PROTOCOL, ZMX_RESOLVER_LOOKUP, name, NULL) == 0) {
            zsock_set_rcvtimeo (request, (int) (deadline - zclock_mono ()));
            reply = zmsg_recv (request);
        }
        zsock_destroy (&request);
        zmx_resolver_status_t status;
        const char *error = NULL;
        if (!reply)
            break;
        if (zmx_resolver_reply_decode (reply, &status, endpoints_p, &error))
            zmx_log_warning (S_COMPONENT, "bad reply from %s: %s", endpoint, error);
        else
        if (status == ZMX_RESOLVER_STATUS_OK)
            rc = ZMX_OK;
        else
        if (status == ZMX_RESOLVER_STATUS_UNKNOWN)
            rc = ZMX_EADDR;
        else
        if (status == ZMX_RESOLVER_STATUS_INVALID)
            rc = ZMX_EINVAL;
        zmsg_destroy (&reply);
        if (rc == ZMX_ETIMEDOUT)
            zclock_sleep (20);      //  UNSYNCED or a bad reply: ask again
    }
    return rc;
}

int
zmx__names_resolve_local (const char *name, int64_t deadline, char **endpoints_p)
{
    assert (endpoints_p);
    *endpoints_p = NULL;
    const char *service = getenv (ZMX_RESOLVER_ENV_SERVICE);
    if (!service || !*service)
        service = ZMX_RESOLVER_DEFAULT_SERVICE;
    if (s_service_present (service)) {
        int rc = s_ask_service (service, name, deadline, endpoints_p);
        if (rc != ZMX_ETIMEDOUT)
            return rc;
    }
    const char *file = getenv (ZMX_RESOLVER_ENV_FILE);
    zhash_t *names = file && *file? zmx__names_file_parse (file): NULL;
    const char *endpoints = names? (const char *) zhash_lookup (names, name): NULL;
    if (endpoints)
        *endpoints_p = strdup (endpoints);
    zhash_destroy (&names);
    return *endpoints_p? ZMX_OK: ZMX_ETIMEDOUT;
}
