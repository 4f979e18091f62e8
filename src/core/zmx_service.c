/*  =========================================================================
    zmx_service - the common interface of every service zmxd hosts

    Wraps a service actor: starts it, reads its start-up status, and speaks
    the common pipe commands for the host. Which services exist is said
    once, in src/zmxd/zmx_service_table.c, above every capability.
    =========================================================================
*/
#include "zmx_classes.h"

struct _zmx_service_t {
    char *name;                 //  Instance name, for logs
    zactor_t *actor;            //  The running service actor
    zlist_t *endpoints;         //  Endpoints reported at start-up
};

void
zmx_service_destroy (zmx_service_t **self_p)
{
    assert (self_p);
    zmx_service_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        zlist_destroy (&self->endpoints);
        free (self->name);
        free (self);
        *self_p = NULL;
    }
}

zmx_service_t *
zmx_service_new (const char *name, zactor_fn *actor, zconfig_t *config,
                 zmx_security_t *security)
{
    assert (name);
    assert (actor);
    zmx_service_t *self = (zmx_service_t *) zmalloc (sizeof (zmx_service_t));
    self->name = strdup (name);
    self->endpoints = zlist_new ();
    zlist_autofree (self->endpoints);

    zmx_service_args_t args = { name, config, security };
    self->actor = zactor_new (actor, &args);
    zmsg_t *status = self->actor? zmsg_recv (self->actor): NULL;
    char *verdict = status? zmsg_popstr (status): NULL;
    if (verdict && streq (verdict, ZMX_SERVICE_READY)) {
        char *endpoint;
        while ((endpoint = zmsg_popstr (status))) {
            zlist_append (self->endpoints, endpoint);
            free (endpoint);
        }
    }
    else {
        char *reason = status? zmsg_popstr (status): NULL;
        zmx_log_error (name, "cannot start: %s", reason? reason: "no status from actor");
        free (reason);
        zmx_service_destroy (&self);
    }
    free (verdict);
    zmsg_destroy (&status);
    return self;
}

const char *
zmx_service_name (zmx_service_t *self)
{
    assert (self);
    return self->name;
}

zlist_t *
zmx_service_endpoints (zmx_service_t *self)
{
    assert (self);
    zlist_t *copy = zlist_dup (self->endpoints);
    return copy;
}

const char *
zmx_service_endpoint (zmx_service_t *self)
{
    assert (self);
    return (const char *) zlist_first (self->endpoints);
}

zhash_t *
zmx__actor_counters (zactor_t *actor)
{
    zhash_t *counters = zhash_new ();
    zhash_autofree (counters);
    if (!actor || zstr_send (actor, ZMX_SERVICE_COUNTERS) != 0)
        return counters;
    //  Retry a receive a signal cut short: the reply would otherwise stay
    //  in the pipe and answer the caller's next request
    zmsg_t *reply;
    while (!(reply = zmsg_recv (actor)) && zmq_errno () == EINTR)
        ;
    char *pair;
    while (reply && (pair = zmsg_popstr (reply))) {
        char *equals = strchr (pair, '=');
        if (equals) {
            *equals = 0;
            zhash_update (counters, pair, equals + 1);
        }
        free (pair);
    }
    zmsg_destroy (&reply);
    return counters;
}

zhash_t *
zmx_service_counters (zmx_service_t *self)
{
    assert (self);
    return zmx__actor_counters (self->actor);
}

int
zmx__listen_list (zmx_security_t *security, zsock_t *sock, const char *list,
                  zlist_t *bound, const char *component)
{
    char *copy = strdup (list? list: "");
    char *cursor = copy, *endpoint;
    int rc = 0;
    while (rc == 0 && (endpoint = strsep (&cursor, ","))) {
        while (*endpoint == ' ')
            endpoint++;
        char *end = endpoint + strlen (endpoint);
        while (end > endpoint && end [-1] == ' ')
            *--end = 0;
        if (!*endpoint)
            continue;
        rc = zmx_security_listen (security, sock, endpoint);
        if (rc == 0) {
            char *resolved = zsock_last_endpoint (sock);     //  a fresh copy
            zlist_append (bound, resolved);
            zstr_free (&resolved);
        }
    }
    free (copy);
    if (rc == 0 && zlist_size (bound) == 0) {
        zmx_log_error (component, "no endpoint configured");
        rc = -1;
    }
    return rc;
}

uint64_t
zmx_service_counter (zmx_service_t *self, const char *counter)
{
    zhash_t *counters = zmx_service_counters (self);
    const char *value = (const char *) zhash_lookup (counters, counter);
    uint64_t result = value? strtoull (value, NULL, 10): 0;
    zhash_destroy (&counters);
    return result;
}

zactor_t *
zmx_service_actor (zmx_service_t *self)
{
    assert (self);
    return self->actor;
}

void
zmx_service_send_ready (zsock_t *pipe, zlist_t *endpoints)
{
    zmsg_t *status = zmsg_new ();
    zmsg_addstr (status, ZMX_SERVICE_READY);
    for (const char *endpoint = (const char *) zlist_first (endpoints); endpoint;
         endpoint = (const char *) zlist_next (endpoints))
        zmsg_addstr (status, endpoint);
    zmsg_send (&status, pipe);
}

void
zmx_service_send_error (zsock_t *pipe, const char *reason)
{
    zstr_sendx (pipe, ZMX_SERVICE_ERROR, reason, NULL);
}

void
zmx_service_reply_unknown (zsock_t *pipe, const char *command)
{
    char reason [300];
    snprintf (reason, sizeof reason, "unknown command: %s", command? command: "(none)");
    zstr_sendx (pipe, ZMX_SERVICE_ERROR, reason, NULL);
}

bool
zmx_service_start_status (zsock_t *pipe, bool started, zlist_t *endpoints,
                          const char *reason)
{
    zsock_signal (pipe, 0);
    if (started)
        zmx_service_send_ready (pipe, endpoints);
    else {
        zmx_service_send_error (pipe, reason);
        zmx_service_wait_term (pipe);
    }
    return started;
}

void
zmx__service_counters_add (zmsg_t *reply, const zmx_service_counter_t *counters,
                           size_t count)
{
    for (size_t index = 0; index < count; index++)
        zmsg_addstrf (reply, "%s=%" PRIu64, counters [index].name, counters [index].value);
}

void
zmx_service_send_counters (zsock_t *pipe, const zmx_service_counter_t *counters,
                           size_t count)
{
    zmsg_t *reply = zmsg_new ();
    zmx__service_counters_add (reply, counters, count);
    zmsg_send (&reply, pipe);
}

int
zmx_service_handle_pipe (zsock_t *pipe, const char *command, zlist_t *endpoints)
{
    if (!command || streq (command, ZMX_SERVICE_TERM))
        return 1;
    if (streq (command, ZMX_SERVICE_ENDPOINTS)) {
        zmx_service_send_ready (pipe, endpoints);
        return 0;
    }
    return -1;
}

bool
zmx_service_serve_pipe (zsock_t *pipe, zlist_t *endpoints,
                        zmx_service_counters_fn *send_counters, void *self)
{
    //  Whole message: extra frames of a command must not be read as the
    //  next command
    zmsg_t *request = zmsg_recv (pipe);
    char *command = request? zmsg_popstr (request): NULL;
    int rc = zmx_service_handle_pipe (pipe, command, endpoints);
    if (rc == -1 && streq (command, ZMX_SERVICE_COUNTERS))
        send_counters (self);
    else
    if (rc == -1)
        zmx_service_reply_unknown (pipe, command);
    zstr_free (&command);
    zmsg_destroy (&request);
    return rc == 1;
}

void
zmx_service_wait_term (zsock_t *pipe)
{
    while (true) {
        char *command = zstr_recv (pipe);
        if (!command)
            break;              //  Interrupted: stop anyway
        bool term = streq (command, ZMX_SERVICE_TERM);
        if (!term)
            zmx_service_reply_unknown (pipe, command);
        free (command);
        if (term)
            break;
    }
}
