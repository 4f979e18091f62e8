/*  =========================================================================
    zmx_broker_bstar - the broker's side of a Binary Star pair

    Design notes
    - The broker asks before serving each client request (MMI included):
      a peer that is not active drops the request without an answer, so
      that the client times out and tries the other broker of its list.
      An answer such as "503" would be taken by an MDP/0.1 client as the
      reply itself; silence is the only signal the protocol leaves.
    - zmx_bstar_client_request is a round trip to the bstar actor. Once a
      request has been admitted, or an ACTIVE notification came, the pair
      remembers that it is active and admits without asking: an active
      peer never goes back to passive, only to FAILED, which arrives as a
      notification the broker polls for. Requests handled in the same
      batch as that notification may still be served (at most S_BATCH).
    - Workers are not affected: a passive broker accepts and heartbeats
      them as usual, so that they are registered when it takes over.
    =========================================================================
*/
#include "zmx_reqrep_internal.h"

struct _zmx__broker_pair_t {
    zmx_bstar_t *bstar;         //  The Binary Star peer
    void *notify;               //  Raw handle of its notification socket
    char *name;                 //  Broker instance name, for logs
    bool active;                //  Known active: admit without asking
    uint64_t dropped;           //  Client requests dropped while not active
};

//  The broker keys a pair reads (zmxd refuses unknown keys)
const char *const zmx__broker_pair_keys [] = {
    "bstar/role", "bstar/local", "bstar/peer", "bstar/heartbeat",
    "bstar/client-certificate", "bstar/peer-key", NULL
};

//  Read the "bstar" section's keys. Returns 0 or -1 (reason logged).
static int
s_pair_settings (zconfig_t *section, const char *name, bool *primary, const char **local,
                 const char **peer, int *heartbeat)
{
    bool valid = true;
    const char *role = zmx__config_str (section, "role", "");
    *primary = streq (role, "primary");
    if (!*primary && !streq (role, "backup")) {
        zmx_log_error (name, "broker/bstar/role = \"%s\": use primary or backup", role);
        valid = false;
    }
    *local = zmx__config_str (section, "local", NULL);
    *peer = zmx__config_str (section, "peer", NULL);
    if (!zmx__endpoint_valid (*local) || !zmx__endpoint_valid (*peer)) {
        zmx_log_error (name, "broker/bstar needs local and peer, one endpoint each "
                       "(e.g. tcp://10.0.0.1:5003)");
        valid = false;
    }
    *heartbeat = (int) zmx__config_int (section, "heartbeat", ZMX_BSTAR_HEARTBEAT,
                                        ZMX_BSTAR_HEARTBEAT_MIN, ZMX_BSTAR_HEARTBEAT_MAX,
                                        &valid);
    return valid? 0: -1;
}

//  Create the bstar peer; with CURVE on, its SUB needs a client
//  certificate and the peer's server key from the section.
static zmx_bstar_t *
s_pair_bstar (zconfig_t *section, zmx_security_t *security, const char *name, bool primary,
              const char *local, const char *peer)
{
    if (!zmx_security_curve (security))
        return zmx_bstar_new (security, primary, local, peer);
    const char *cert = zmx__config_str (section, "client-certificate", NULL);
    const char *key = zmx__config_str (section, "peer-key", NULL);
    if (!cert || !key) {
        zmx_log_error (name, "broker/bstar with CURVE needs client-certificate and peer-key");
        return NULL;
    }
    return zmx_bstar_new_curve (security, primary, local, peer, cert, key);
}

int
zmx__broker_pair_new (zconfig_t *config, zmx_security_t *security, const char *name,
                      zmx__broker_pair_t **pair_p)
{
    assert (pair_p);
    *pair_p = NULL;
    zconfig_t *section = config? zconfig_locate (config, "bstar"): NULL;
    if (!section)
        return 0;               //  Not in a pair
    bool primary;
    const char *local, *peer;
    int heartbeat;
    if (s_pair_settings (section, name, &primary, &local, &peer, &heartbeat))
        return -1;
    zmx_bstar_t *bstar = s_pair_bstar (section, security, name, primary, local, peer);
    if (!bstar)
        return -1;
    if (zmx_bstar_set_heartbeat (bstar, heartbeat) != ZMX_OK) {
        zmx_bstar_destroy (&bstar);
        return -1;
    }
    zmx__broker_pair_t *self = (zmx__broker_pair_t *) zmalloc (sizeof (zmx__broker_pair_t));
    self->bstar = bstar;
    self->notify = zsock_resolve (zmx_bstar_socket (bstar));
    self->name = strdup (name);
    zmx_log_notice (name, "Binary Star %s, state on %s, peer %s, heartbeat %d ms",
                    primary? "primary": "backup", zmx_bstar_endpoint (bstar), peer, heartbeat);
    *pair_p = self;
    return 0;
}

void
zmx__broker_pair_destroy (zmx__broker_pair_t **self_p)
{
    assert (self_p);
    zmx__broker_pair_t *self = *self_p;
    if (self) {
        zmx_bstar_destroy (&self->bstar);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

bool
zmx__broker_pair_admit (zmx__broker_pair_t *self)
{
    assert (self);
    if (self->active)
        return true;
    if (zmx_bstar_client_request (self->bstar) == 0) {
        self->active = true;
        return true;
    }
    self->dropped++;
    return false;
}

void *
zmx__broker_pair_handle (zmx__broker_pair_t *self)
{
    assert (self);
    return self->notify;
}

void
zmx__broker_pair_notified (zmx__broker_pair_t *self)
{
    assert (self);
    //  Called only when the socket is readable: the receive does not block
    zmsg_t *msg = zmsg_recv (zmx_bstar_socket (self->bstar));
    char *event = msg? zmsg_popstr (msg): NULL;
    if (event) {
        self->active = streq (event, ZMX_BSTAR_NOTIFY_ACTIVE);
        if (streq (event, ZMX_BSTAR_NOTIFY_FAILED)) {
            char *reason = zmsg_popstr (msg);
            zmx_log_error (self->name, "Binary Star failed (%s): client requests are dropped "
                           "until an operator restarts this broker", reason? reason: "?");
            zstr_free (&reason);
        }
        else
            zmx_log_notice (self->name, "now %s", self->active? "active: serving clients"
                                                               : "passive: dropping clients");
    }
    zstr_free (&event);
    zmsg_destroy (&msg);
}

void
zmx__broker_pair_counters (zmx__broker_pair_t *self, zmsg_t *counters)
{
    assert (self);
    zmx_bstar_stats_t stats;
    zmx_bstar_stats (self->bstar, &stats);
    zmsg_addstrf (counters, "bstar_state=%s",
                  zmx_bstar_state_name (zmx_bstar_state (self->bstar)));
    zmsg_addstrf (counters, "bstar_dropped=%" PRIu64, self->dropped);
    zmsg_addstrf (counters, "bstar_state_changes=%" PRIu64, stats.state_changes);
    zmsg_addstrf (counters, "bstar_malformed=%" PRIu64, stats.malformed);
}
