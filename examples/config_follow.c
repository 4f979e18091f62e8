/*  =========================================================================
    config_follow - an application that follows its configuration live

    Usage: example_config_follow [clone-endpoint [prefix]]
    Defaults: tcp://127.0.0.1:5556 and /config/app/.

    Mirrors PREFIX of the clone store, prints the whole configuration as
    ZPL once it is in, then "changed KEY = VALUE" or "removed KEY" on every
    change, and re-reads its one setting ("log-level") whenever it moves.
    Try it with `zmx config set app/log-level debug` in another terminal.
    Stops on SIGINT or SIGTERM.
    =========================================================================
*/
#include <zmx.h>

//  The setting this application uses, applied whenever it changes.
static void
s_apply (zmx_clone_t *clone, const char *prefix)
{
    char *key = zsys_sprintf ("%slog-level", prefix);
    char *level = zmx_clone_get (clone, key, NULL, NULL);
    printf ("applying log-level = %s\n", level? level: "(default)");
    free (level);
    free (key);
}

//  Print the current configuration below prefix as ZPL.
static void
s_print_all (zmx_clone_t *clone, const char *prefix)
{
    zhash_t *values = zhash_new ();
    zhash_autofree (values);
    zlist_t *keys = zmx_clone_keys (clone, prefix);
    for (const char *key = (const char *) zlist_first (keys); key;
         key = (const char *) zlist_next (keys)) {
        char *value = zmx_clone_get (clone, key, NULL, NULL);
        if (value)
            zhash_update (values, key, value);
        free (value);
    }
    zconfig_t *root = zmx_config_tree_from_keys (values, prefix, NULL, NULL);
    char *text = root? zmx_config_tree_save (root): NULL;
    printf ("configuration:\n%s", text? text: "(not writable as ZPL)\n");
    free (text);
    zconfig_destroy (&root);
    zlist_destroy (&keys);
    zhash_destroy (&values);
}

//  Handle one notification: UPDATE key value sequence, or SYNCED.
static void
s_notified (zmx_clone_t *clone, zmsg_t *msg, const char *prefix)
{
    char *kind = zmsg_popstr (msg);
    char *key = zmsg_popstr (msg);
    char *value = zmsg_popstr (msg);
    if (kind && streq (kind, ZMX_CLONE_NOTIFY_UPDATE) && key && value
    &&  strncmp (key, prefix, strlen (prefix)) == 0) {
        if (*value)
            printf ("changed %s = %s\n", key, value);
        else
            printf ("removed %s\n", key);
        s_apply (clone, prefix);
    }
    free (kind);
    free (key);
    free (value);
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    const char *endpoint = argc > 1? argv [1]: "tcp://127.0.0.1:5556";
    const char *prefix = argc > 2? argv [2]: "/config/app/";
    zmx_clone_t *clone = zmx_clone_new (prefix);
    if (!clone || zmx_clone_add_server (clone, endpoint) != ZMX_OK) {
        fprintf (stderr, "bad prefix '%s' or endpoint '%s'\n", prefix, endpoint);
        zmx_clone_destroy (&clone);
        return 1;
    }
    if (zmx_clone_wait_synced (clone, 5000) != ZMX_OK) {
        fprintf (stderr, "no snapshot from %s: is zmxd running with clone?\n", endpoint);
        zmx_clone_destroy (&clone);
        return 1;
    }
    s_print_all (clone, prefix);
    s_apply (clone, prefix);
    //  From here on every change is a notification; the mirror is already
    //  up to date when it arrives
    zmx_clone_watch (clone, true);
    zpoller_t *poller = zpoller_new (zmx_clone_socket (clone), NULL);
    while (!zsys_interrupted) {
        if (!zpoller_wait (poller, 500))
            continue;
        zmsg_t *msg = zmsg_recv (zmx_clone_socket (clone));
        if (!msg)
            break;
        s_notified (clone, msg, prefix);
        zmsg_destroy (&msg);
    }
    zpoller_destroy (&poller);
    zmx_clone_destroy (&clone);
    return 0;
}
