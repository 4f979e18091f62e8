/*  =========================================================================
    zmx_service - the common interface of every service zmxd hosts

    A service is a CZMQ actor started from its config subtree. The contract
    every service actor keeps, so that zmxd and the tests can host any of
    them the same way:

    1. It is started as zactor_new (fn, args) with args a zmx_service_args_t
       that lives only until the actor signals; the actor copies what it
       keeps.
    2. It binds its sockets (through zmx_security_bind), calls
       zsock_signal (pipe, 0), then sends exactly one status message:
       "READY" followed by one frame per bound endpoint, or "ERROR" and a
       reason (after which it only waits for $TERM).
    3. It answers these pipe commands:
         "$TERM"      stop; the actor returns
         "COUNTERS"   reply: one "name=value" frame per counter
         "ENDPOINTS"  reply: one frame per bound endpoint
       and replies "ERROR" "unknown command: X" to anything else.
    =========================================================================
*/
#ifndef ZMX_SERVICE_H_INCLUDED
#define ZMX_SERVICE_H_INCLUDED

#include <czmq.h>
#include "zmx_security.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ZMX_SERVICE_TERM      "$TERM"
#define ZMX_SERVICE_COUNTERS  "COUNTERS"
#define ZMX_SERVICE_ENDPOINTS "ENDPOINTS"
#define ZMX_SERVICE_READY     "READY"
#define ZMX_SERVICE_ERROR     "ERROR"

typedef struct {
    const char *name;           //  Instance name, used in log lines
    zconfig_t *config;          //  The service's config subtree (may be NULL)
    zmx_security_t *security;   //  Socket policy (may be NULL: plain sockets)
} zmx_service_args_t;

typedef struct _zmx_service_t zmx_service_t;

//  Start a service actor and wait for its status. Returns NULL, with the
//  actor's reason logged, if it could not start (e.g. port in use).
zmx_service_t *
    zmx_service_new (const char *name, zactor_fn *actor, zconfig_t *config,
                     zmx_security_t *security);

//  Stop the service and free it. Idempotent; nulls *self_p.
void
    zmx_service_destroy (zmx_service_t **self_p);

//  The instance name given at creation.
const char *
    zmx_service_name (zmx_service_t *self);

//  The endpoints the service bound, in bind order (ports resolved).
//  Caller owns the list (autofree strings).
zlist_t *
    zmx_service_endpoints (zmx_service_t *self);

//  First bound endpoint, or NULL. Valid until destroy.
const char *
    zmx_service_endpoint (zmx_service_t *self);

//  Current counters as name -> decimal string. Caller owns the hash.
zhash_t *
    zmx_service_counters (zmx_service_t *self);

//  Read one counter; 0 if unknown.
uint64_t
    zmx_service_counter (zmx_service_t *self, const char *counter);

//  The underlying actor, for service-specific commands.
zactor_t *
    zmx_service_actor (zmx_service_t *self);

//  The actor function of a built-in service by type name ("broker", ...),
//  or NULL if there is no such service.
zactor_fn *
    zmx_service_lookup (const char *type);

//  Names of all built-in service types, NULL-terminated.
const char **
    zmx_service_types (void);

//  True if `path` ("endpoint", or "bstar/role" in a subsection) is a
//  config key the built-in service `type` reads, or "enabled" (zmxd's
//  switch). A known key list per service lives beside the code that reads
//  it; zmxd refuses a config with any other key.
bool
    zmx_service_key_known (const char *type, const char *path);

//  The known key of service `type` nearest to `path` (fewest single-
//  character edits), to suggest for a misspelt one; NULL if none.
const char *
    zmx_service_key_nearest (const char *type, const char *path);

//  Helpers for service actors: send the start-up status, and answer the
//  common pipe commands (zmx_service_handle_pipe and zmx_service_serve_pipe
//  below; an actor with its own commands calls zmx_service_reply_unknown
//  for the rest).
void
    zmx_service_send_ready (zsock_t *pipe, zlist_t *endpoints);
void
    zmx_service_send_error (zsock_t *pipe, const char *reason);
void
    zmx_service_reply_unknown (zsock_t *pipe, const char *command);
//  Wait on the pipe until $TERM; for an actor that failed to start.
void
    zmx_service_wait_term (zsock_t *pipe);

//  An actor's start-up status, after its set-up: signals the pipe, then
//  sends READY with the endpoints if started, else ERROR with `reason` and
//  waits for $TERM. Returns `started` (false: the actor returns at once).
bool
    zmx_service_start_status (zsock_t *pipe, bool started, zlist_t *endpoints,
                              const char *reason);

//  One counter of a COUNTERS reply.
typedef struct {
    const char *name;           //  Counter name, e.g. "requests"
    uint64_t value;             //  Its value
} zmx_service_counter_t;

//  Send a COUNTERS reply: one "name=value" frame per entry of the table,
//  in table order.
void
    zmx_service_send_counters (zsock_t *pipe, const zmx_service_counter_t *counters,
                               size_t count);

//  Answer the common pipe commands: returns 1 for $TERM (or NULL, an
//  interrupted receive), 0 after answering ENDPOINTS with READY and the
//  endpoints, -1 for any other command (left to the caller).
int
    zmx_service_handle_pipe (zsock_t *pipe, const char *command, zlist_t *endpoints);

//  Sends the actor's COUNTERS reply (see zmx_service_send_counters); self
//  is the argument given to zmx_service_serve_pipe.
typedef void (zmx_service_counters_fn) (void *self);

//  Receive one command on the pipe of an actor that has only the common
//  commands, and answer it: ENDPOINTS as zmx_service_handle_pipe, COUNTERS
//  by calling send_counters (self), anything else with an "unknown
//  command" ERROR. Returns true if the actor should stop ($TERM or
//  interrupted), else false.
bool
    zmx_service_serve_pipe (zsock_t *pipe, zlist_t *endpoints,
                            zmx_service_counters_fn *send_counters, void *self);

#ifdef __cplusplus
}
#endif
#endif
