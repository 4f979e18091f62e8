/*  =========================================================================
    robot - a ZRE robot that comes, reports, and goes

    The classic presence demo: start a few robots in several terminals (or
    hosts) and watch them with `zmx peers` and `zmx listen robots`. Each
    robot joins the group, advertises its kind in a header, shouts a status
    line now and then, answers a whisper with its status, and leaves after
    a random lifetime (a clean stop, so that peers see it go at once).

    Usage: example_robot [-n NAME] [-g GROUP] [-i IFACE] [-p PORT]
                         [--interval MS] [--status MS] [--lifetime MS]
    Defaults: a name from the UUID, group "robots", the library's beacon
    settings, a status every 1-3 s, a lifetime of 5-30 s. Exit code 0 after
    its lifetime or on SIGINT, 1 if the node cannot start, 2 for bad
    arguments.
    =========================================================================
*/
#include <zmx.h>
#include <zmx/zmx_node.h>
#include <getopt.h>
#include <limits.h>

typedef struct {
    const char *name;           //  NULL: from the UUID
    const char *group;
    const char *iface;          //  NULL: the library default
    int port, interval;         //  0: the library default
    int status, lifetime;       //  msec; 0: random
} s_settings_t;

//  A whole number in [min, max], or -1.
static int
s_number (const char *text, int min, int max)
{
    char *end;
    long value = strtol (text, &end, 10);
    return *text && !*end && value >= min && value <= max? (int) value: -1;
}

static int
s_parse (int argc, char *argv [], s_settings_t *settings)
{
    enum { OPT_INTERVAL = 256, OPT_STATUS, OPT_LIFETIME };
    static const struct option longopts [] = {
        { "name", required_argument, NULL, 'n' },
        { "group", required_argument, NULL, 'g' },
        { "interface", required_argument, NULL, 'i' },
        { "port", required_argument, NULL, 'p' },
        { "interval", required_argument, NULL, OPT_INTERVAL },
        { "status", required_argument, NULL, OPT_STATUS },
        { "lifetime", required_argument, NULL, OPT_LIFETIME },
        { NULL, 0, NULL, 0 }
    };
    int option, bad = 0;
    while ((option = getopt_long (argc, argv, "n:g:i:p:", longopts, NULL)) != -1) {
        switch (option) {
            case 'n': settings->name = optarg; break;
            case 'g': settings->group = optarg; break;
            case 'i': settings->iface = optarg; break;
            case 'p': bad |= (settings->port = s_number (optarg, 0, 65535)) < 0; break;
            case OPT_INTERVAL:
                bad |= (settings->interval = s_number (optarg, 10, 3600000)) < 0;
                break;
            case OPT_STATUS: bad |= (settings->status = s_number (optarg, 1, INT_MAX)) < 0; break;
            case OPT_LIFETIME:
                bad |= (settings->lifetime = s_number (optarg, 1, INT_MAX)) < 0;
                break;
            default: bad = 1;
        }
    }
    if (bad || optind < argc) {
        fprintf (stderr, "usage: example_robot [-n NAME] [-g GROUP] [-i IFACE] [-p PORT]\n"
                         "       [--interval MS] [--status MS] [--lifetime MS]\n");
        return -1;
    }
    return 0;
}

static zmx_node_t *
s_robot_start (const s_settings_t *settings, const char *kind)
{
    zmx_node_t *node = zmx_node_new (settings->name);
    if (!node)
        return NULL;
    int rc = zmx_node_set_header (node, "X-ROBOT", "%s", kind);
    if (rc == ZMX_OK && settings->iface)
        rc = zmx_node_set_interface (node, settings->iface);
    if (rc == ZMX_OK && settings->port)
        rc = zmx_node_set_beacon_port (node, settings->port);
    if (rc == ZMX_OK && settings->interval)
        rc = zmx_node_set_beacon_interval (node, settings->interval);
    if (rc == ZMX_OK)
        rc = zmx_node_join (node, settings->group);
    if (rc == ZMX_OK)
        rc = zmx_node_start (node);
    if (rc != ZMX_OK)
        zmx_node_destroy (&node);
    return node;
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    s_settings_t settings = { NULL, "robots", NULL, 0, 0, 0, 0 };
    if (s_parse (argc, argv, &settings))
        return 2;
    static const char *kinds [] = { "rover", "drone", "arm", "crawler" };
    srandom ((unsigned) (zclock_time () ^ getpid ()));
    const char *kind = kinds [random () % 4];
    zmx_node_t *node = s_robot_start (&settings, kind);
    if (!node) {
        fprintf (stderr, "robot: cannot start (reason above)\n");
        return 1;
    }
    int lifetime = settings.lifetime? settings.lifetime: 5000 + (int) (random () % 25000);
    printf ("robot %s (%s) up for %d ms\n", zmx_node_name (node), kind, lifetime);

    int64_t end = zclock_mono () + lifetime, next_status = zclock_mono ();
    int battery = 100;
    zpoller_t *poller = zpoller_new (zmx_node_socket (node), NULL);
    while (!zsys_interrupted && zclock_mono () < end) {
        if (zclock_mono () >= next_status) {
            battery -= battery > 5? (int) (random () % 5): 0;
            zmx_node_shout_str (node, settings.group, "%s battery=%d%%", kind, battery);
            next_status = zclock_mono ()
                        + (settings.status? settings.status: 1000 + (int) (random () % 2000));
        }
        int64_t wake = next_status < end? next_status: end;
        int timeout = (int) (wake - zclock_mono ());
        if (!zpoller_wait (poller, timeout > 0? timeout: 0))
            continue;
        zmsg_t *event = zmsg_recv (zmx_node_socket (node));
        char *type = event? zmsg_popstr (event): NULL;
        char *peer = event? zmsg_popstr (event): NULL;
        //  Anyone who whispers to a robot gets its status back
        if (type && peer && streq (type, ZMX_NODE_WHISPER))
            zmx_node_whisper_str (node, peer, "%s battery=%d%%", kind, battery);
        free (type);
        free (peer);
        zmsg_destroy (&event);
    }
    printf ("robot %s leaving\n", zmx_node_name (node));
    zpoller_destroy (&poller);
    zmx_node_destroy (&node);
    return 0;
}
