/*  =========================================================================
    zmx_security - the one place where service sockets are made

    Design notes
    - The policy is decided once, in zmx_security_new: every config error
      (missing certificate, missing clients directory, bad address) is
      found there, before any socket exists, and logged with the fix.
    - CURVE keys come from CZMQ certificates (zcert): "<path>" holds the
      public key, "<path>_secret" both keys. A certificate is only used
      after checking that its secret key really belongs to its public key,
      so a truncated or mixed-up file fails at start-up, not at the first
      handshake.
    - ZAP is CZMQ's zauth actor. It runs when CURVE is on or an address
      list is set; every service socket then gets the ZAP domain, because
      libzmq only consults ZAP for NULL-mechanism sockets that have one.
    - zauth honours only its allow list when both lists are set; we give it
      "allow minus deny" instead, so that deny always wins.
    - CZMQ setters assert when libzmq rejects a value, so every value that
      comes from a user (keys, domain) is checked here before it is set.
    =========================================================================
*/
#ifndef _GNU_SOURCE
#   define _GNU_SOURCE          //  struct ucred, for the ipc probe
#endif
#include "zmx_classes.h"
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define S_LOG "security"
#define S_DEFAULT_DOMAIN "global"
#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"     //  fixed by RFC 27
#define S_KEY_TEXT 40               //  Z85 characters in a CURVE key
#define S_KEY_BYTES 32              //  bytes in a CURVE key
#define S_PATH_MAX 248              //  zcert builds "<path>_secret" in 256 bytes
#define S_DOMAIN_MAX 254            //  libzmq's limit on ZMQ_ZAP_DOMAIN

struct _zmx_security_t {
    zcert_t *cert;              //  Server certificate; NULL without CURVE
    zactor_t *auth;             //  zauth ZAP handler; NULL without a policy
    char *domain;               //  ZAP domain set on service sockets
    zactor_t *monitor;          //  Logs refused handshakes; with CURVE or ZAP
    pthread_mutex_t mutex;      //  Service threads take turns on the monitor
    uint64_t refused;           //  Handshakes refused (atomic: monitor writes)
};

static const char *s_known_keys [] = {
    "curve", "certificate", "clients", "allow", "deny", "domain", NULL
};


//  --------------------------------------------------------------------------
//  Refusals: a client refused by CURVE or ZAP is told nothing (ZMTP has
//  no error for it), so the server must say it. Every bound socket gets a
//  libzmq monitor for the handshake failure events; one actor reads them
//  all, counts them, and logs them at notice level, at most once a second.

#define S_REFUSAL_EVENTS (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL \
                        | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

typedef struct {
    zmx_security_t *security;   //  Where the count goes
    zpoller_t *poller;          //  The pipe and every monitor PAIR
    zlist_t *monitors;          //  zsock_t * PAIRs, one per watched socket
    int64_t last_log;           //  Rate limit of the notices
} s_monitor_t;

static void
s_monitor_refusal (s_monitor_t *self, uint16_t event, uint32_t value, const char *endpoint)
{
    __atomic_add_fetch (&self->security->refused, 1, __ATOMIC_RELAXED);
    zmx_log_level_t level = zmx__log_limited_level (zclock_mono (), &self->last_log)
                            == ZMX_LOG_WARNING? ZMX_LOG_NOTICE: ZMX_LOG_DEBUG;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        zmx_log (level, S_LOG, "refused a client on %s: ZAP status %u (its key is not among "
                 "the clients, or its address is not allowed)", endpoint, value);
    else
        zmx_log (level, S_LOG, "refused a client on %s: handshake failed (error 0x%x): a "
                 "client without CURVE, or with a wrong server key", endpoint, value);
}

//  One event from a monitor PAIR; a stopped monitor is dropped.
static void
s_monitor_event (s_monitor_t *self, zsock_t *pair)
{
    zmsg_t *msg = zmsg_recv (pair);
    zframe_t *head = msg? zmsg_first (msg): NULL;
    char *endpoint = msg && zmsg_size (msg) == 2? zframe_strdup (zmsg_last (msg)): NULL;
    if (head && zframe_size (head) == 6 && endpoint) {
        uint16_t event;
        uint32_t value;
        memcpy (&event, zframe_data (head), 2);
        memcpy (&value, zframe_data (head) + 2, 4);
        if (event & S_REFUSAL_EVENTS)
            s_monitor_refusal (self, event, value, endpoint);
        if (event == ZMQ_EVENT_MONITOR_STOPPED) {
            zpoller_remove (self->poller, pair);
            zlist_remove (self->monitors, pair);
            zsock_destroy (&pair);
        }
    }
    free (endpoint);
    zmsg_destroy (&msg);
}

//  "WATCH" inproc-endpoint: connect to a new monitor; signals when done.
static void
s_monitor_actor (zsock_t *pipe, void *args)
{
    s_monitor_t self = { (zmx_security_t *) args, zpoller_new (pipe, NULL), zlist_new (), 0 };
    zsock_signal (pipe, 0);
    while (true) {
        zsock_t *which = (zsock_t *) zpoller_wait (self.poller, -1);
        if (which != pipe) {
            if (which)
                s_monitor_event (&self, which);
            else
            if (zpoller_terminated (self.poller))
                break;
            continue;
        }
        char *command = NULL, *endpoint = NULL;
        if (zstr_recvx (pipe, &command, &endpoint, NULL) < 1 || streq (command, "$TERM")) {
            zstr_free (&command);
            zstr_free (&endpoint);
            break;
        }
        zsock_t *pair = endpoint? zmx__sock_new (ZMQ_PAIR): NULL;
        if (pair && zsock_connect (pair, "%s", endpoint) == 0) {
            zpoller_add (self.poller, pair);
            zlist_append (self.monitors, pair);
        }
        else
            zsock_destroy (&pair);
        zsock_signal (pipe, 0);
        zstr_free (&command);
        zstr_free (&endpoint);
    }
    while (zlist_size (self.monitors)) {
        zsock_t *pair = (zsock_t *) zlist_pop (self.monitors);
        zsock_destroy (&pair);
    }
    zlist_destroy (&self.monitors);
    zpoller_destroy (&self.poller);
}

//  Watch a bound socket's handshakes (from the service's own thread: the
//  monitor is set on the socket; the actor reads it).
static void
s_monitor_watch (zmx_security_t *self, zsock_t *sock)
{
    static uint32_t s_sequence = 0;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://zmx-security-monitor-%u",
              __atomic_add_fetch (&s_sequence, 1, __ATOMIC_RELAXED));
    if (zmq_socket_monitor (zsock_resolve (sock), endpoint, S_REFUSAL_EVENTS) != 0) {
        zmx_log_warning (S_LOG, "cannot watch handshakes: %s", zmq_strerror (zmq_errno ()));
        return;
    }
    pthread_mutex_lock (&self->mutex);
    if (zstr_sendx (self->monitor, "WATCH", endpoint, NULL) == 0)
        zsock_wait (self->monitor);
    pthread_mutex_unlock (&self->mutex);
}

uint64_t
zmx_security_refused (zmx_security_t *self)
{
    return self? __atomic_load_n (&self->refused, __ATOMIC_RELAXED): 0;
}

//  --------------------------------------------------------------------------
//  Certificates

static bool
s_key_is_zero (const byte *key)
{
    byte any = 0;
    for (size_t index = 0; index < S_KEY_BYTES; index++)
        any |= key [index];
    return any == 0;
}

//  The command that makes a key pair at `path`: `zmx keygen NAME` writes
//  NAME.cert and NAME.cert_secret. Caller frees.
static char *
s_keygen_hint (const char *path)
{
    size_t length = strlen (path);
    if (length > 5 && streq (path + length - 5, ".cert"))
        return zsys_sprintf ("run: zmx keygen %.*s", (int) (length - 5), path);
    return zsys_sprintf ("run: zmx keygen NAME, then use NAME.cert instead of \"%s\"",
                         path);
}

//  Load a certificate that must carry its secret key; `role` names it in
//  log lines ("certificate", "client certificate"). Returns NULL, logged,
//  if the files are missing, malformed, or the two keys do not belong
//  together.
static zcert_t *
s_load_secret_cert (const char *path, const char *role)
{
    if (strlen (path) > S_PATH_MAX) {
        zmx_log_error (S_LOG, "%s path is longer than %d characters: \"%s\"",
                       role, S_PATH_MAX, path);
        return NULL;
    }
    char *secret_path = zsys_sprintf ("%s_secret", path);
    char *hint = s_keygen_hint (path);
    zcert_t *cert = NULL;
    if (!zsys_file_exists (secret_path)) {
        if (zsys_file_exists (path))
            zmx_log_error (S_LOG, "%s \"%s\" has no secret key: \"%s\" is missing; "
                           "use the pair zmx keygen made, or %s", role, path,
                           secret_path, hint);
        else
            zmx_log_error (S_LOG, "%s \"%s\" not found (nor \"%s\"); %s", role, path,
                           secret_path, hint);
    }
    else
    if (!(cert = zcert_load (path)))
        zmx_log_error (S_LOG, "cannot read %s \"%s\" (unreadable, or not a CURVE "
                       "certificate); %s", role, secret_path, hint);
    else {
        //  The public key derived from the secret one must match the one
        //  stored: this catches an empty, corrupt or mismatched secret key
        char derived [S_KEY_TEXT + 1];
        if (s_key_is_zero (zcert_secret_key (cert))
        ||  zmq_curve_public (derived, zcert_secret_txt (cert)) != 0
        ||  !streq (derived, zcert_public_txt (cert))) {
            zmx_log_error (S_LOG, "%s \"%s\" has no valid secret key, or it does not "
                           "match the public key; %s", role, secret_path, hint);
            zcert_destroy (&cert);
        }
        else {
            int mode = zsys_file_mode (secret_path);
            if (mode != -1 && (mode & 077))
                zmx_log_warning (S_LOG, "secret key \"%s\" is readable by other users; "
                                 "run: chmod 600 %s", secret_path, secret_path);
        }
    }
    zstr_free (&hint);
    zstr_free (&secret_path);
    return cert;
}

//  Resolve a server key given as a certificate file or as 40 Z85
//  characters into its binary form. Returns 0, or -1 with a logged reason.
static int
s_server_key (const char *text, byte *key)
{
    if (zsys_file_exists (text)) {
        //  A file wins over key text: a 40-character path may be valid Z85
        zcert_t *cert = strlen (text) <= S_PATH_MAX? zcert_load (text): NULL;
        if (!cert) {
            zmx_log_error (S_LOG, "server key file \"%s\" is not a CURVE certificate "
                           "(expected the server's public certificate)", text);
            return -1;
        }
        memcpy (key, zcert_public_key (cert), S_KEY_BYTES);
        zcert_destroy (&cert);
    }
    else
    if (strlen (text) != S_KEY_TEXT || !zmq_z85_decode (key, text)) {
        zmx_log_error (S_LOG, "server key \"%s\" is neither 40 Z85 characters nor the "
                       "path of a certificate file", text);
        return -1;
    }
    if (s_key_is_zero (key)) {
        zmx_log_error (S_LOG, "server key \"%s\" is all zeros: not a real key", text);
        return -1;
    }
    return 0;
}


//  --------------------------------------------------------------------------
//  Configuration

//  A typo in a key name must not silently turn security off.
static int
s_check_keys (zconfig_t *config)
{
    for (zconfig_t *item = zconfig_child (config); item; item = zconfig_next (item)) {
        const char *name = zconfig_name (item);
        bool known = false;
        for (size_t index = 0; s_known_keys [index]; index++)
            known |= streq (name, s_known_keys [index]);
        if (!known) {
            zmx_log_error (S_LOG, "unknown key \"%s\" (known keys: curve, certificate, "
                           "clients, allow, deny, domain)", name);
            return -1;
        }
    }
    return 0;
}

static int
s_compare_text (void *item1, void *item2)
{
    return strcmp ((const char *) item1, (const char *) item2);
}

//  Split a comma-separated list of numeric IP addresses into `list`, in
//  the canonical text form libzmq reports peers in. Returns 0 or -1.
static int
s_parse_addresses (zconfig_t *config, const char *key, zlist_t *list)
{
    const char *text = zmx__config_str (config, key, NULL);
    if (!text)
        return 0;
    char *copy = strdup (text);
    char *saveptr = NULL;
    int rc = 0;
    for (char *item = strtok_r (copy, ",", &saveptr); item && rc == 0;
         item = strtok_r (NULL, ",", &saveptr)) {
        while (*item == ' ' || *item == '\t')
            item++;
        char *end = item + strlen (item);
        while (end > item && (end [-1] == ' ' || end [-1] == '\t'))
            *--end = 0;
        if (*item == 0)
            continue;
        byte binary [16];
        char canonical [INET6_ADDRSTRLEN];
        int family = strchr (item, ':')? AF_INET6: AF_INET;
        if (inet_pton (family, item, binary) != 1
        ||  !inet_ntop (family, binary, canonical, sizeof canonical)) {
            zmx_log_error (S_LOG, "%s: \"%s\" is not a numeric IPv4 or IPv6 address "
                           "(names are not resolved)", key, item);
            rc = -1;
        }
        else
        if (!zlist_exists (list, canonical))
            zlist_append (list, canonical);
    }
    free (copy);
    return rc;
}

//  Deny wins over allow: drop denied addresses from the allow list.
//  Returns -1 if that leaves an allow list with nothing in it.
static int
s_allow_minus_deny (zlist_t *allow, zlist_t *deny)
{
    if (zlist_size (allow) == 0)
        return 0;
    for (char *address = (char *) zlist_first (deny); address;
         address = (char *) zlist_next (deny))
        while (zlist_exists (allow, address))
            zlist_remove (allow, address);
    if (zlist_size (allow) == 0) {
        zmx_log_error (S_LOG, "every address in allow is also in deny: no peer could "
                       "connect; fix the allow or deny list");
        return -1;
    }
    return 0;
}

//  Warn about a clients directory that will refuse everybody, or that holds
//  secret keys it should not.
static void
s_survey_clients (const char *path)
{
    zdir_t *dir = zdir_new (path, NULL);
    zfile_t **files = dir? zdir_flatten (dir): NULL;
    size_t public_certs = 0, secret_certs = 0;
    for (size_t index = 0; files && files [index]; index++) {
        const char *name = zfile_filename (files [index], NULL);
        size_t length = strlen (name);
        if (length > 7 && streq (name + length - 7, "_secret"))
            secret_certs++;
        else
            public_certs++;
    }
    if (public_certs == 0)
        zmx_log_warning (S_LOG, "clients directory \"%s\" holds no certificates yet: "
                         "every client is refused until one is added", path);
    if (secret_certs > 0)
        zmx_log_warning (S_LOG, "clients directory \"%s\" holds %zu secret key file(s); "
                         "only public certificates belong there", path, secret_certs);
    zdir_flatten_free (&files);
    zdir_destroy (&dir);
}

//  CURVE needs the server's own key pair and a client policy.
static int
s_configure_curve (zmx_security_t *self, zconfig_t *config, const char *clients)
{
    const char *certificate = zmx__config_str (config, "certificate", NULL);
    if (!zsys_has_curve ()) {
        zmx_log_error (S_LOG, "curve = 1 but libzmq was built without CURVE support");
        return -1;
    }
    if (!certificate) {
        zmx_log_error (S_LOG, "curve = 1 needs certificate = \"NAME.cert\" (the "
                       "server's key pair); run: zmx keygen NAME to make one");
        return -1;
    }
    if (!clients) {
        zmx_log_error (S_LOG, "curve = 1 needs clients = DIRECTORY (public "
                       "certificates of the allowed clients) or clients = \"*\" (any key)");
        return -1;
    }
    if (!streq (clients, CURVE_ALLOW_ANY)) {
        int mode = zsys_file_mode (clients);
        if (mode == -1 || !S_ISDIR (mode)) {
            zmx_log_error (S_LOG, "clients directory \"%s\" does not exist or is not a "
                           "directory; create it and copy the clients' public "
                           "certificates into it", clients);
            return -1;
        }
        s_survey_clients (clients);
    }
    self->cert = s_load_secret_cert (certificate, "certificate");
    return self->cert? 0: -1;
}

//  zauth answers each command with a signal; waiting for it means the
//  policy (and the certificates) are in place before any socket exists.
static int
s_auth_command (zmx_security_t *self, const char *command, zlist_t *arguments)
{
    zmsg_t *message = zmsg_new ();
    zmsg_addstr (message, command);
    for (char *argument = arguments? (char *) zlist_first (arguments): NULL; argument;
         argument = (char *) zlist_next (arguments))
        zmsg_addstr (message, argument);
    if (zmsg_send (&message, self->auth) != 0 || zsock_wait (self->auth) != 0) {
        zmsg_destroy (&message);
        zmx_log_error (S_LOG, "ZAP handler did not accept %s (interrupted?)", command);
        return -1;
    }
    return 0;
}

//  zauth binds the RFC 27 endpoint and cannot recover if another handler
//  already holds it; try the bind first so that a second policy in one
//  process fails with a log line instead.
static bool
s_zap_endpoint_free (void)
{
    zsock_t *probe = zsock_new (ZMQ_REP);
    bool is_free = probe && zsock_bind (probe, "%s", S_ZAP_ENDPOINT) == 0;
    if (is_free)
        zsock_unbind (probe, "%s", S_ZAP_ENDPOINT);
    zsock_destroy (&probe);
    return is_free;
}

static int
s_start_zap (zmx_security_t *self, zlist_t *allow, zlist_t *deny, const char *clients)
{
    if (!s_zap_endpoint_free ()) {
        zmx_log_error (S_LOG, "another ZAP handler runs in this process: only one "
                       "security policy with CURVE or allow/deny may exist at a time");
        return -1;
    }
    self->auth = zactor_new (zauth, NULL);
    if (!self->auth) {
        zmx_log_error (S_LOG, "cannot start the ZAP handler");
        return -1;
    }
    int rc = 0;
    if (zmx_log_enabled (ZMX_LOG_DEBUG))
        rc = s_auth_command (self, "VERBOSE", NULL);
    //  zauth ignores its deny list when an allow list exists; allow has
    //  already had the denied addresses removed
    if (rc == 0 && zlist_size (allow))
        rc = s_auth_command (self, "ALLOW", allow);
    else
    if (rc == 0 && zlist_size (deny))
        rc = s_auth_command (self, "DENY", deny);
    if (rc == 0 && clients) {
        zlist_t *location = zlist_new ();
        zlist_append (location, (void *) clients);
        rc = s_auth_command (self, "CURVE", location);
        zlist_destroy (&location);
    }
    return rc;
}

static void
s_log_policy (zmx_security_t *self, const char *clients, zlist_t *allow, zlist_t *deny)
{
    if (self->cert)
        zmx_log_notice (S_LOG, "CURVE on, server key %s, clients %s",
                        zcert_public_txt (self->cert),
                        streq (clients, CURVE_ALLOW_ANY)? "any key": clients);
    if (self->cert && streq (clients, CURVE_ALLOW_ANY))
        zmx_log_warning (S_LOG, "clients = \"*\": traffic is encrypted but any client "
                         "key is accepted");
    if (zlist_size (allow))
        zmx_log_notice (S_LOG, "ZAP domain \"%s\": only %zu allowed address(es) may "
                        "connect", self->domain, zlist_size (allow));
    else
    if (zlist_size (deny))
        zmx_log_notice (S_LOG, "ZAP domain \"%s\": %zu address(es) denied",
                        self->domain, zlist_size (deny));
}

static int
s_configure (zmx_security_t *self, zconfig_t *config)
{
    if (s_check_keys (config) != 0)
        return -1;
    bool valid = true;
    bool curve = zmx__config_int (config, "curve", 0, 0, 1, &valid) == 1;
    const char *clients = zmx__config_str (config, "clients", NULL);
    if (!valid)
        return -1;
    if (strlen (self->domain) > S_DOMAIN_MAX) {
        zmx_log_error (S_LOG, "domain is longer than %d characters", S_DOMAIN_MAX);
        return -1;
    }
    zlist_t *allow = zlist_new ();
    zlist_t *deny = zlist_new ();
    zlist_autofree (allow);
    zlist_autofree (deny);
    zlist_comparefn (allow, s_compare_text);
    zlist_comparefn (deny, s_compare_text);
    int rc = s_parse_addresses (config, "allow", allow);
    if (rc == 0)
        rc = s_parse_addresses (config, "deny", deny);
    if (rc == 0)
        rc = s_allow_minus_deny (allow, deny);
    if (rc == 0 && curve)
        rc = s_configure_curve (self, config, clients);
    else
    if (rc == 0 && (clients || zmx__config_str (config, "certificate", NULL)))
        zmx_log_warning (S_LOG, "certificate and clients are ignored: curve is not 1");
    if (rc == 0 && (curve || zlist_size (allow) || zlist_size (deny)))
        rc = s_start_zap (self, allow, deny, curve? clients: NULL);
    if (rc == 0)
        s_log_policy (self, clients, allow, deny);
    zlist_destroy (&allow);
    zlist_destroy (&deny);
    return rc;
}


//  --------------------------------------------------------------------------
//  Public API

zmx_security_t *
zmx_security_new (zconfig_t *config)
{
    zmx_security_t *self = (zmx_security_t *) zmalloc (sizeof (zmx_security_t));
    pthread_mutex_init (&self->mutex, NULL);
    self->domain = strdup (zmx__config_str (config, "domain", S_DEFAULT_DOMAIN));
    if (config && s_configure (self, config) != 0) {
        zmx_log_error (S_LOG, "security policy not created: see the reason above");
        zmx_security_destroy (&self);
    }
    //  Only CURVE and ZAP refuse handshakes: nothing to watch otherwise
    if (self && (self->cert || self->auth)) {
        self->monitor = zactor_new (s_monitor_actor, self);
        if (!self->monitor)
            zmx_security_destroy (&self);
    }
    return self;
}

void
zmx_security_destroy (zmx_security_t **self_p)
{
    assert (self_p);
    zmx_security_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->monitor);
        pthread_mutex_destroy (&self->mutex);
        zactor_destroy (&self->auth);
        zcert_destroy (&self->cert);
        free (self->domain);
        free (self);
        *self_p = NULL;
    }
}

bool
zmx_security_curve (zmx_security_t *self)
{
    return self && self->cert;
}

const char *
zmx_security_public_key (zmx_security_t *self)
{
    return self && self->cert? zcert_public_txt (self->cert): NULL;
}

zsock_t *
zmx__sock_new (int type)
{
    //  zsock_new asserts on a type libzmq does not know (the stable types
    //  are ZMQ_PAIR to ZMQ_STREAM) and whenever libzmq refuses a socket,
    //  which it does at the context's socket limit or out of descriptors.
    //  A raw socket made first says whether there is room. A socket closed
    //  frees its slot only once libzmq's reaper has run, so at the very
    //  edge of the limit another thread could still take the last slot in
    //  between: zmxd sizes the limit so that the services' caps stay well
    //  inside it (cli/zmxd.c), and this check covers the rest.
    if (type < ZMQ_PAIR || type > ZMQ_STREAM) {
        errno = EINVAL;
        return NULL;
    }
    void *probe = zmq_socket (zsys_init (), type);
    if (!probe)
        return NULL;
    zmq_close (probe);
    return zsock_new (type);
}

zsock_t *
zmx_security_socket (zmx_security_t *self, int type)
{
    zsock_t *sock = zmx__sock_new (type);
    if (!sock) {
        zmx_log_error (S_LOG, "cannot create socket of type %d: %s", type,
                       zmq_strerror (zmq_errno ()));
        return NULL;
    }
    //  Security options only apply to connections accepted after they are
    //  set, so they must all be in place before the bind
    if (self && self->cert) {
        zcert_apply (self->cert, sock);
        zsock_set_curve_server (sock, 1);
    }
    if (self && self->auth)
        zsock_set_zap_domain (sock, self->domain);
    //  Without a bound, libzmq allocates whatever size a peer's frame
    //  header claims, before a byte of it arrives (a random header asks
    //  for exabytes): every service socket gets one here, and a service
    //  that takes larger messages sets its own after this
    zsock_set_maxmsgsize (sock, ZMX_SECURITY_MAX_MESSAGE);
    return sock;
}

//  libzmq removes an ipc endpoint's socket file before it binds, so a
//  second process on the same endpoint would silently take it over from
//  a live one. Connect first: a listener answering means the endpoint is
//  in use (refuse, naming the listener's pid when the kernel tells it); a
//  refused connection means the file is stale, which the bind replaces.
//  Returns 0 if the endpoint may be bound, -1 (logged) if not.
static int
s_ipc_probe (const char *endpoint)
{
    const char *path = endpoint + strlen ("ipc://");
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (*path == '@' || streq (path, "*") || strlen (path) >= sizeof address.sun_path)
        return 0;               //  Abstract, wildcard or too long: libzmq decides
    struct stat info;
    if (stat (path, &info) != 0 || !S_ISSOCK (info.st_mode))
        return 0;
    strcpy (address.sun_path, path);
    int fd = socket (AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    int rc = 0;
    if (connect (fd, (struct sockaddr *) &address, sizeof address) == 0) {
        struct ucred peer = { 0 };
        socklen_t size = sizeof peer;
        char owner [48] = "another process";
        if (getsockopt (fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) == 0 && peer.pid > 0)
            snprintf (owner, sizeof owner, "process %d", (int) peer.pid);
        zmx_log_error (S_LOG, "cannot bind %s: in use, %s is listening there (another "
                       "zmxd?); stop it or choose another endpoint", endpoint, owner);
        rc = -1;
    }
    else
        zmx_log_info (S_LOG, "%s: stale socket file (%s), replacing it", endpoint,
                      strerror (errno));
    close (fd);
    return rc;
}

int
zmx_security_listen (zmx_security_t *self, zsock_t *sock, const char *endpoint)
{
    assert (sock);
    if (!endpoint || !*endpoint) {
        zmx_log_error (S_LOG, "cannot bind: no endpoint given");
        return -1;
    }
    if (strncmp (endpoint, "ipc://", 6) == 0 && s_ipc_probe (endpoint))
        return -1;
    //  "%s": a '%' in the endpoint is not a format directive
    if (zsock_bind (sock, "%s", endpoint) == -1) {
        zmx_log_error (S_LOG, "cannot bind %s: %s", endpoint, zmq_strerror (zmq_errno ()));
        return -1;
    }
    if (self && self->monitor)
        s_monitor_watch (self, sock);
    zmx_log_debug (S_LOG, "bound %s (%s%s)", endpoint,
                   self && self->cert? "CURVE": "NULL mechanism",
                   self && self->auth? ", ZAP": "");
    return 0;
}

zsock_t *
zmx_security_bind (zmx_security_t *self, int type, const char *endpoint)
{
    zsock_t *sock = zmx_security_socket (self, type);
    if (sock && zmx_security_listen (self, sock, endpoint))
        zsock_destroy (&sock);
    return sock;
}

int
zmx_security_client_curve (zsock_t *sock, const char *client_cert_path,
                           const char *server_key)
{
    if (!client_cert_path || !*client_cert_path || !server_key || !*server_key) {
        zmx_log_error (S_LOG, "CURVE client needs a client certificate path and a "
                       "server key");
        return ZMX_ESECURITY;
    }
    if (!zsys_has_curve ()) {
        zmx_log_error (S_LOG, "libzmq was built without CURVE support");
        return ZMX_ESECURITY;
    }
    byte server [S_KEY_BYTES];
    if (s_server_key (server_key, server) != 0)
        return ZMX_ESECURITY;
    zcert_t *cert = s_load_secret_cert (client_cert_path, "client certificate");
    if (!cert)
        return ZMX_ESECURITY;
    if (sock) {
        zcert_apply (cert, sock);
        zsock_set_curve_serverkey_bin (sock, server);
    }
    zcert_destroy (&cert);
    return ZMX_OK;
}

//  The name goes into a ZPL file between quotes: keep it to one line of
//  printable text without quotes.
static bool
s_name_valid (const char *name)
{
    for (const char *cursor = name; *cursor; cursor++)
        if ((unsigned char) *cursor < 0x20 || *cursor == 0x7f || *cursor == '"')
            return false;
    return true;
}

int
zmx_security_keygen (const char *path, const char *name)
{
    if (!path || !*path || streq (path, "-") || strlen (path) > S_PATH_MAX) {
        zmx_log_error (S_LOG, "keygen: need a file name of 1 to %d characters "
                       "(not \"-\")", S_PATH_MAX);
        return ZMX_EINVAL;
    }
    if (name && !s_name_valid (name)) {
        zmx_log_error (S_LOG, "keygen: name must be one line of text without quotes");
        return ZMX_EINVAL;
    }
    if (!zsys_has_curve ()) {
        zmx_log_error (S_LOG, "keygen: libzmq was built without CURVE support");
        return ZMX_EINVAL;
    }
    char *secret_path = zsys_sprintf ("%s_secret", path);
    //  Overwriting a key pair in use would lock out every peer holding the
    //  old public key: refuse, and let the operator remove it on purpose
    if (zsys_file_exists (path) || zsys_file_exists (secret_path)) {
        zmx_log_error (S_LOG, "keygen: \"%s\" or \"%s\" already exists; remove both "
                       "first to replace the key pair", path, secret_path);
        zstr_free (&secret_path);
        return ZMX_EINVAL;
    }
    zcert_t *cert = zcert_new ();
    int rc = cert? 0: -1;
    if (cert && name)
        zcert_set_meta (cert, "name", "%s", name);
    errno = 0;
    if (rc == 0)
        rc = zcert_save (cert, path);
    //  zcert_save does not report a failed public file; CZMQ creates the
    //  secret one under a private umask, chmod makes sure of the mode
    if (rc == 0)
        rc = zsys_file_exists (path)? chmod (secret_path, 0600): -1;
    if (rc != 0) {
        zmx_log_error (S_LOG, "keygen: cannot write \"%s\" and \"%s\": %s", path,
                       secret_path, errno? strerror (errno): "unknown error");
        zsys_file_delete (path);
        zsys_file_delete (secret_path);
    }
    else
        zmx_log_info (S_LOG, "keygen: wrote %s (public key %s) and %s", path,
                      zcert_public_txt (cert), secret_path);
    zcert_destroy (&cert);
    zstr_free (&secret_path);
    return rc == 0? ZMX_OK: ZMX_EINVAL;
}

int
zmx__curve_client_store (char **cert_p, char **key_p, const char *client_cert_path,
                         const char *server_key)
{
    assert (cert_p && key_p);
    if (!client_cert_path || !server_key)
        return ZMX_ESECURITY;
    //  Check the files now, with the very code that applies them at each
    //  connect (a NULL socket only checks), so that a bad path fails when
    //  it is set and not in mid-request or on a reconnect.
    if (zmx_security_client_curve (NULL, client_cert_path, server_key) != ZMX_OK)
        return ZMX_ESECURITY;
    free (*cert_p);
    free (*key_p);
    *cert_p = strdup (client_cert_path);
    *key_p = strdup (server_key);
    return ZMX_OK;
}
