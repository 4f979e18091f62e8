/*  =========================================================================
    test_security - zmx_security: key generation, config checks, CURVE and
    ZAP policies seen from real clients

    A refused client gets no reply, so the refusal cases wait for the
    server's handshake-failure event (socket monitor) instead of a timeout,
    then check briefly that nothing got through. zauth is process-wide;
    every case runs in its own process, so each may own one policy.
    =========================================================================
*/
#include "testing.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_REPLY_WAIT 5000       //  msec a client waits for an expected echo
#define S_EVENT_WAIT 5000       //  msec to wait for a handshake outcome
#define S_QUIET_WAIT 300        //  msec in which a refused peer must stay silent
#define S_ANY_ENDPOINT "tcp://127.0.0.1:*"

#define S_HANDSHAKE_FAILED \
    (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL \
     | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)

//  Key material for one case: a server, an allowed and an unknown client.
typedef struct {
    char *dir;                  //  Private temporary directory
    char *server;               //  Server certificate (key pair)
    char *clients;              //  Directory of allowed public certificates
    char *alice;                //  Client whose public cert is in clients/
    char *mallory;              //  Client nobody has heard of
} s_keys_t;

static char *
s_path (const char *dir, const char *name)
{
    return zsys_sprintf ("%s/%s", dir, name);
}

static s_keys_t *
s_keys_new (void)
{
    s_keys_t *keys = (s_keys_t *) zmalloc (sizeof (s_keys_t));
    keys->dir = zmx_test_tmpdir ();
    keys->server = s_path (keys->dir, "server.cert");
    keys->clients = s_path (keys->dir, "clients");
    keys->alice = s_path (keys->dir, "alice.cert");
    keys->mallory = s_path (keys->dir, "mallory.cert");
    ZMX_CHECK (mkdir (keys->clients, 0700) == 0);
    ZMX_CHECK (zmx_security_keygen (keys->server, "server") == ZMX_OK);
    ZMX_CHECK (zmx_security_keygen (keys->alice, "alice") == ZMX_OK);
    ZMX_CHECK (zmx_security_keygen (keys->mallory, "mallory") == ZMX_OK);

    //  Only alice's public certificate goes to the clients directory
    zcert_t *alice = zcert_load (keys->alice);
    ZMX_CHECK (alice);
    char *published = s_path (keys->clients, "alice.cert");
    ZMX_CHECK (zcert_save_public (alice, published) == 0);
    zstr_free (&published);
    zcert_destroy (&alice);
    return keys;
}

static void
s_keys_destroy (s_keys_t **keys_p)
{
    s_keys_t *keys = *keys_p;
    zmx_test_rmdir (keys->dir);
    zstr_free (&keys->dir);
    zstr_free (&keys->server);
    zstr_free (&keys->clients);
    zstr_free (&keys->alice);
    zstr_free (&keys->mallory);
    free (keys);
    *keys_p = NULL;
}

//  A "security" config section; NULL values are left out.
static zconfig_t *
s_config (const char *curve, const char *certificate, const char *clients,
          const char *allow, const char *deny)
{
    zconfig_t *config = zconfig_new ("security", NULL);
    const char *keys [] = { "curve", "certificate", "clients", "allow", "deny" };
    const char *values [] = { curve, certificate, clients, allow, deny };
    for (size_t index = 0; index < 5; index++)
        if (values [index])
            zconfig_put (config, keys [index], values [index]);
    return config;
}

static zmx_security_t *
s_security_new (const char *curve, const char *certificate, const char *clients,
                const char *allow, const char *deny)
{
    zconfig_t *config = s_config (curve, certificate, clients, allow, deny);
    zmx_security_t *security = zmx_security_new (config);
    zconfig_destroy (&config);
    return security;
}

//  Watch the server socket's handshakes through a PAIR socket.
static zsock_t *
s_monitor_new (zsock_t *server)
{
    //  Unique per call: a closed server's monitor endpoint may linger
    static int sequence = 0;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "inproc://monitor-%d", ++sequence);
    int rc = zmq_socket_monitor (zsock_resolve (server), endpoint,
                                 ZMQ_EVENT_HANDSHAKE_SUCCEEDED | S_HANDSHAKE_FAILED);
    ZMX_CHECK (rc == 0);
    zsock_t *monitor = zsock_new (ZMQ_PAIR);
    ZMX_CHECK (zsock_connect (monitor, "%s", endpoint) == 0);
    return monitor;
}

//  The next handshake event (ZMQ_EVENT_*), or 0 if none within timeout.
static int
s_next_event (zsock_t *monitor, int timeout_ms)
{
    zsock_set_rcvtimeo (monitor, timeout_ms);
    zmsg_t *event = zmsg_recv (monitor);
    if (!event)
        return 0;
    zframe_t *head = zmsg_first (event);
    uint16_t number = 0;
    if (head && zframe_size (head) >= sizeof number)
        memcpy (&number, zframe_data (head), sizeof number);
    zmsg_destroy (&event);
    return number;
}

//  Send "ping"; the server echoes it if it arrives within timeout_ms.
//  True if the client got the echo back.
static bool
s_echo (zsock_t *server, zsock_t *client, int timeout_ms)
{
    ZMX_CHECK (zstr_send (client, "ping") == 0);
    zsock_set_rcvtimeo (server, timeout_ms);
    zmsg_t *request = zmsg_recv (server);
    if (!request)
        return false;
    ZMX_CHECK (zmsg_size (request) == 2);
    ZMX_CHECK (zmsg_send (&request, server) == 0);
    zsock_set_rcvtimeo (client, timeout_ms);
    char *reply = zstr_recv (client);
    bool echoed = reply && streq (reply, "ping");
    zstr_free (&reply);
    return echoed;
}

//  The client must be refused at the handshake: the server reports a
//  failure (of the expected kind, if `expected` is not 0), and the "ping"
//  gets neither to the server nor back.
static void
s_check_refused (zsock_t *server, zsock_t *monitor, zsock_t *client, int expected)
{
    //  A refused handshake may already have torn down the client's only
    //  pipe, and a DEALER with no pipe blocks on send: so don't wait.
    zsock_set_sndtimeo (client, 0);
    zstr_send (client, "ping");
    int event = s_next_event (monitor, S_EVENT_WAIT);
    ZMX_CHECK (event & S_HANDSHAKE_FAILED);
    if (expected)
        ZMX_CHECK (event == expected);
    zsock_set_rcvtimeo (server, S_QUIET_WAIT);
    zmsg_t *request = zmsg_recv (server);
    ZMX_CHECK (request == NULL);
    zsock_set_rcvtimeo (client, S_QUIET_WAIT);
    char *reply = zstr_recv (client);
    ZMX_CHECK (reply == NULL);
}

static zsock_t *
s_plain_client (zsock_t *server)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    ZMX_CHECK (client);
    ZMX_CHECK (zsock_connect (client, "%s", zsock_endpoint (server)) == 0);
    return client;
}

static zsock_t *
s_curve_client (zsock_t *server, const char *cert, const char *server_key)
{
    zsock_t *client = zsock_new (ZMQ_DEALER);
    ZMX_CHECK (client);
    ZMX_CHECK (zmx_security_client_curve (client, cert, server_key) == ZMX_OK);
    ZMX_CHECK (zsock_connect (client, "%s", zsock_endpoint (server)) == 0);
    return client;
}

//  Run `fn` with stderr going to a file, and return what it logged.
static char *
s_logged (void (*fn) (void *), void *argument)
{
    char path [] = "/tmp/zmx-test-log-XXXXXX";
    int fd = mkstemp (path);
    ZMX_CHECK (fd >= 0);
    fflush (stderr);
    int saved = dup (2);
    dup2 (fd, 2);
    fn (argument);
    fflush (stderr);
    dup2 (saved, 2);
    close (saved);
    off_t size = lseek (fd, 0, SEEK_END);
    char *text = (char *) zmalloc (size + 1);
    ZMX_CHECK (pread (fd, text, size, 0) == size);
    close (fd);
    unlink (path);
    fputs (text, stderr);       //  keep the log visible in the test output
    return text;
}

//  One case's server side: its keys (if any), the policy under test, a
//  ROUTER bound under it, and that socket's handshake monitor.
typedef struct {
    s_keys_t *keys;             //  Key material, or NULL
    zmx_security_t *security;   //  The policy under test
    zsock_t *server;            //  ROUTER bound under the policy
    zsock_t *monitor;           //  Handshake events of server, or NULL
} s_rig_t;

//  Bind the rig's server under `security` (the rig takes it over), and
//  watch its handshakes if `monitored`.
static void
s_rig_bind (s_rig_t *rig, zmx_security_t *security, bool monitored)
{
    ZMX_CHECK (security);
    rig->security = security;
    rig->server = zmx_security_bind (security, ZMQ_ROUTER, S_ANY_ENDPOINT);
    ZMX_CHECK (rig->server);
    rig->monitor = monitored? s_monitor_new (rig->server): NULL;
}

//  A CURVE server with fresh keys: clients from keys->clients, or any key
//  if `any_key`; `deny` as the ZAP deny list (may be NULL); watched if
//  `monitored`.
static void
s_rig_curve (s_rig_t *rig, bool any_key, const char *deny, bool monitored)
{
    memset (rig, 0, sizeof *rig);
    rig->keys = s_keys_new ();
    s_rig_bind (rig, s_security_new ("1", rig->keys->server,
                                     any_key? "*": rig->keys->clients, NULL, deny),
                monitored);
}

static void
s_rig_destroy (s_rig_t *rig)
{
    zsock_destroy (&rig->monitor);
    zsock_destroy (&rig->server);
    zmx_security_destroy (&rig->security);
    if (rig->keys)
        s_keys_destroy (&rig->keys);
}


//  --------------------------------------------------------------------------
//  Key generation

static void
s_keygen_writes_key_pair (void)
{
    char *dir = zmx_test_tmpdir ();
    char *path = s_path (dir, "alice.cert");
    char *secret = s_path (dir, "alice.cert_secret");
    ZMX_CHECK (zmx_security_keygen (path, "alice") == ZMX_OK);

    struct stat info;
    ZMX_CHECK (stat (secret, &info) == 0);
    ZMX_CHECK ((info.st_mode & 0777) == 0600);
    ZMX_CHECK (stat (path, &info) == 0);

    //  The public file holds the public key only
    zconfig_t *public_file = zconfig_load (path);
    ZMX_CHECK (public_file);
    ZMX_CHECK (zconfig_get (public_file, "/curve/secret-key", NULL) == NULL);
    const char *public_key = zconfig_get (public_file, "/curve/public-key", NULL);
    ZMX_CHECK (public_key && strlen (public_key) == 40);

    //  The secret file holds a matching pair and the name
    zcert_t *cert = zcert_load (path);
    ZMX_CHECK (cert);
    ZMX_CHECK_STR (zcert_public_txt (cert), public_key);
    ZMX_CHECK_STR (zcert_meta (cert, "name"), "alice");
    char derived [41];
    ZMX_CHECK (zmq_curve_public (derived, zcert_secret_txt (cert)) == 0);
    ZMX_CHECK_STR (derived, public_key);

    //  A second pair under another name has different keys
    char *other = s_path (dir, "bob.cert");
    ZMX_CHECK (zmx_security_keygen (other, NULL) == ZMX_OK);
    zcert_t *bob = zcert_load (other);
    ZMX_CHECK (bob && !streq (zcert_public_txt (bob), public_key));
    zcert_destroy (&bob);

    zcert_destroy (&cert);
    zconfig_destroy (&public_file);
    zstr_free (&other);
    zstr_free (&secret);
    zstr_free (&path);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}

static void
s_keygen_refuses_bad_paths (void)
{
    char *dir = zmx_test_tmpdir ();
    char *path = s_path (dir, "server.cert");
    ZMX_CHECK (zmx_security_keygen (path, "server") == ZMX_OK);
    zcert_t *before = zcert_load (path);

    //  An existing pair is never overwritten
    ZMX_CHECK (zmx_security_keygen (path, "server") == ZMX_EINVAL);
    zcert_t *after = zcert_load (path);
    ZMX_CHECK (before && after && zcert_eq (before, after));

    //  A directory that cannot exist (its parent is a file); nothing left over
    char *file = s_path (dir, "plain-file");
    ZMX_CHECK (zmx_test_write_file (file, "x") == 0);
    char *inside = s_path (file, "key.cert");
    ZMX_CHECK (zmx_security_keygen (inside, "x") == ZMX_EINVAL);
    ZMX_CHECK (!zsys_file_exists (inside));

    ZMX_CHECK (zmx_security_keygen (NULL, "x") == ZMX_EINVAL);
    ZMX_CHECK (zmx_security_keygen ("", "x") == ZMX_EINVAL);
    ZMX_CHECK (zmx_security_keygen ("-", "x") == ZMX_EINVAL);
    char *quoted = s_path (dir, "quoted.cert");
    ZMX_CHECK (zmx_security_keygen (quoted, "bad \"name\"") == ZMX_EINVAL);
    ZMX_CHECK (!zsys_file_exists (quoted));

    zcert_destroy (&before);
    zcert_destroy (&after);
    zstr_free (&quoted);
    zstr_free (&inside);
    zstr_free (&file);
    zstr_free (&path);
    zmx_test_rmdir (dir);
    zstr_free (&dir);
}


//  --------------------------------------------------------------------------
//  Security off

static void
s_off_without_config (void)
{
    zmx_security_t *security = zmx_security_new (NULL);
    ZMX_CHECK (security);
    ZMX_CHECK (!zmx_security_curve (security));
    ZMX_CHECK (zmx_security_public_key (security) == NULL);

    zsock_t *server = zmx_security_bind (security, ZMQ_ROUTER, S_ANY_ENDPOINT);
    ZMX_CHECK (server);
    zsock_t *client = s_plain_client (server);
    ZMX_CHECK (s_echo (server, client, S_REPLY_WAIT));
    zsock_destroy (&client);
    zsock_destroy (&server);
    zmx_security_destroy (&security);
    ZMX_CHECK (security == NULL);
    zmx_security_destroy (&security);

    //  A NULL policy and an empty section are plain too
    ZMX_CHECK (!zmx_security_curve (NULL));
    server = zmx_security_bind (NULL, ZMQ_ROUTER, S_ANY_ENDPOINT);
    ZMX_CHECK (server);
    client = s_plain_client (server);
    ZMX_CHECK (s_echo (server, client, S_REPLY_WAIT));
    zsock_destroy (&client);
    zsock_destroy (&server);

    security = s_security_new ("0", NULL, NULL, NULL, NULL);
    ZMX_CHECK (security && !zmx_security_curve (security));
    zmx_security_destroy (&security);
}

static void
s_bind_failure_returns_null (void)
{
    zsock_t *server = zmx_security_bind (NULL, ZMQ_ROUTER, S_ANY_ENDPOINT);
    ZMX_CHECK (server);
    //  The same port again
    char *taken = strdup (zsock_endpoint (server));
    ZMX_CHECK (zmx_security_bind (NULL, ZMQ_ROUTER, taken) == NULL);
    ZMX_CHECK (zmx_security_bind (NULL, ZMQ_ROUTER, "tcp://256.1.1.1:5555") == NULL);
    ZMX_CHECK (zmx_security_bind (NULL, ZMQ_ROUTER, "nonsense") == NULL);
    ZMX_CHECK (zmx_security_bind (NULL, ZMQ_ROUTER, NULL) == NULL);
    ZMX_CHECK (zmx_security_bind (NULL, 12345, S_ANY_ENDPOINT) == NULL);

    //  A fixed free port works and is reported back unchanged
    char *endpoint = zmx_test_free_endpoint ();
    zsock_t *fixed = zmx_security_bind (NULL, ZMQ_PUB, endpoint);
    ZMX_CHECK (fixed);
    ZMX_CHECK_STR (zsock_endpoint (fixed), endpoint);
    zsock_destroy (&fixed);
    zstr_free (&endpoint);
    zstr_free (&taken);
    zsock_destroy (&server);
}


//  --------------------------------------------------------------------------
//  Configuration errors

typedef struct {
    zconfig_t *config;
    zmx_security_t *security;
} s_attempt_t;

static void
s_attempt_new (void *argument)
{
    s_attempt_t *attempt = (s_attempt_t *) argument;
    attempt->security = zmx_security_new (attempt->config);
}

//  zmx_security_new (config) must fail, and say `needle` in its log.
static void
s_check_config_refused (zconfig_t **config_p, const char *needle)
{
    s_attempt_t attempt = { *config_p, NULL };
    char *log = s_logged (s_attempt_new, &attempt);
    ZMX_CHECK (attempt.security == NULL);
    if (!strstr (log, needle))
        zmx_test_fail_str (__FILE__, __LINE__, log, needle);
    zstr_free (&log);
    zconfig_destroy (config_p);
}

static void
s_curve_needs_certificate (void)
{
    s_keys_t *keys = s_keys_new ();
    zconfig_t *config = s_config ("1", NULL, keys->clients, NULL, NULL);
    s_check_config_refused (&config, "run: zmx keygen NAME to make one");

    char *missing = s_path (keys->dir, "nowhere.cert");
    config = s_config ("1", missing, keys->clients, NULL, NULL);
    char *hint = zsys_sprintf ("not found (nor \"%s_secret\"); run: zmx keygen %s/nowhere",
                               missing, keys->dir);
    s_check_config_refused (&config, hint);
    zstr_free (&hint);

    //  The public half alone cannot serve
    char *secret = zsys_sprintf ("%s_secret", keys->server);
    ZMX_CHECK (rename (secret, missing) == 0);
    config = s_config ("1", keys->server, keys->clients, NULL, NULL);
    s_check_config_refused (&config, "has no secret key");
    ZMX_CHECK (rename (missing, secret) == 0);

    //  A secret file that is not a certificate
    char *bogus = s_path (keys->dir, "bogus.key");
    char *bogus_secret = s_path (keys->dir, "bogus.key_secret");
    ZMX_CHECK (zmx_test_write_file (bogus_secret, "curve\n    secret-key = \"x\"\n") == 0);
    config = s_config ("1", bogus, keys->clients, NULL, NULL);
    s_check_config_refused (&config, "run: zmx keygen NAME, then use NAME.cert");

    //  A secret key that belongs to another public key
    zcert_t *alice = zcert_load (keys->alice);
    zcert_t *mallory = zcert_load (keys->mallory);
    char *mixed = s_path (keys->dir, "mixed.cert");
    char *mixed_secret = s_path (keys->dir, "mixed.cert_secret");
    char *text = zsys_sprintf ("curve\n    public-key = \"%s\"\n    secret-key = \"%s\"\n",
                               zcert_public_txt (alice), zcert_secret_txt (mallory));
    ZMX_CHECK (zmx_test_write_file (mixed_secret, text) == 0);
    config = s_config ("1", mixed, keys->clients, NULL, NULL);
    s_check_config_refused (&config, "does not match the public key");
    zstr_free (&text);
    zstr_free (&mixed_secret);
    zstr_free (&mixed);
    zcert_destroy (&mallory);
    zcert_destroy (&alice);

    //  The certificate is fine, the client policy is not
    config = s_config ("1", keys->server, NULL, NULL, NULL);
    s_check_config_refused (&config, "needs clients = DIRECTORY");
    config = s_config ("1", keys->server, missing, NULL, NULL);
    s_check_config_refused (&config, "does not exist");
    config = s_config ("1", keys->server, keys->alice, NULL, NULL);
    s_check_config_refused (&config, "not a directory");

    //  And it works once everything is right
    zmx_security_t *security = s_security_new ("1", keys->server, keys->clients, NULL, NULL);
    ZMX_CHECK (security && zmx_security_curve (security));
    zcert_t *server = zcert_load (keys->server);
    ZMX_CHECK_STR (zmx_security_public_key (security), zcert_public_txt (server));
    zcert_destroy (&server);
    zmx_security_destroy (&security);

    zstr_free (&bogus);
    zstr_free (&bogus_secret);
    zstr_free (&secret);
    zstr_free (&missing);
    s_keys_destroy (&keys);
}

static void
s_bad_config_refused (void)
{
    zconfig_t *config = s_config ("yes", NULL, NULL, NULL, NULL);
    s_check_config_refused (&config, "curve = \"yes\"");
    config = s_config ("2", NULL, NULL, NULL, NULL);
    s_check_config_refused (&config, "curve = \"2\"");
    config = s_config (NULL, NULL, NULL, "localhost", NULL);
    s_check_config_refused (&config, "\"localhost\" is not a numeric");
    config = s_config (NULL, NULL, NULL, NULL, "127.0.0.1, 10.0.0.300");
    s_check_config_refused (&config, "\"10.0.0.300\" is not a numeric");
    config = s_config (NULL, NULL, NULL, "127.0.0.1", "127.0.0.1");
    s_check_config_refused (&config, "every address in allow is also in deny");

    //  A misspelt key must not leave security silently off
    config = s_config (NULL, NULL, NULL, NULL, NULL);
    zconfig_put (config, "curv", "1");
    s_check_config_refused (&config, "unknown key \"curv\"");

    char domain [300];
    memset (domain, 'd', sizeof domain - 1);
    domain [sizeof domain - 1] = 0;
    config = s_config (NULL, NULL, NULL, "127.0.0.1", NULL);
    zconfig_put (config, "domain", domain);
    s_check_config_refused (&config, "domain is longer");
}


//  --------------------------------------------------------------------------
//  CURVE

static void
s_curve_admits_known_client (void)
{
    s_rig_t rig;
    s_rig_curve (&rig, false, NULL, true);

    //  Server key given as text
    zsock_t *client = s_curve_client (rig.server, rig.keys->alice,
                                      zmx_security_public_key (rig.security));
    ZMX_CHECK (s_echo (rig.server, client, S_REPLY_WAIT));
    ZMX_CHECK (s_next_event (rig.monitor, S_EVENT_WAIT) == ZMQ_EVENT_HANDSHAKE_SUCCEEDED);
    zsock_destroy (&client);

    //  Server key given as the server's certificate file
    client = s_curve_client (rig.server, rig.keys->alice, rig.keys->server);
    ZMX_CHECK (s_echo (rig.server, client, S_REPLY_WAIT));
    zsock_destroy (&client);
    s_rig_destroy (&rig);
}

static void
s_curve_refuses_unknown_key (void)
{
    s_rig_t rig;
    s_rig_curve (&rig, false, NULL, true);
    zsock_t *client = s_curve_client (rig.server, rig.keys->mallory, rig.keys->server);
    s_check_refused (rig.server, rig.monitor, client, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    zsock_destroy (&client);

    //  Certificates added to the directory later are picked up
    zcert_t *mallory = zcert_load (rig.keys->mallory);
    char *published = s_path (rig.keys->clients, "mallory.cert");
    ZMX_CHECK (zcert_save_public (mallory, published) == 0);
    client = s_curve_client (rig.server, rig.keys->mallory, rig.keys->server);
    ZMX_CHECK (s_echo (rig.server, client, S_REPLY_WAIT));
    zsock_destroy (&client);

    zstr_free (&published);
    zcert_destroy (&mallory);
    s_rig_destroy (&rig);
}

static void
s_curve_refuses_plaintext_client (void)
{
    s_rig_t rig;
    s_rig_curve (&rig, false, NULL, true);
    zsock_t *client = s_plain_client (rig.server);
    //  A mechanism mismatch fails before ZAP is asked
    s_check_refused (rig.server, rig.monitor, client, 0);
    zsock_destroy (&client);
    zsock_destroy (&rig.monitor);
    zsock_destroy (&rig.server);

    //  So does a CURVE client that expects another server key (a fresh
    //  server, so that no event of the first client can be mistaken)
    rig.server = zmx_security_bind (rig.security, ZMQ_ROUTER, S_ANY_ENDPOINT);
    ZMX_CHECK (rig.server);
    rig.monitor = s_monitor_new (rig.server);
    zcert_t *other = zcert_load (rig.keys->mallory);
    client = s_curve_client (rig.server, rig.keys->alice, zcert_public_txt (other));
    s_check_refused (rig.server, rig.monitor, client, 0);
    zsock_destroy (&client);

    zcert_destroy (&other);
    s_rig_destroy (&rig);
}

static void
s_curve_any_key (void)
{
    s_rig_t rig;
    s_rig_curve (&rig, true, NULL, false);
    zsock_t *client = s_curve_client (rig.server, rig.keys->mallory, rig.keys->server);
    ZMX_CHECK (s_echo (rig.server, client, S_REPLY_WAIT));
    zsock_destroy (&client);

    //  Still CURVE: plaintext stays out
    rig.monitor = s_monitor_new (rig.server);
    client = s_plain_client (rig.server);
    s_check_refused (rig.server, rig.monitor, client, 0);
    zsock_destroy (&client);
    s_rig_destroy (&rig);
}

static void
s_curve_with_deny_refuses_known_client (void)
{
    s_rig_t rig;
    s_rig_curve (&rig, false, "127.0.0.1", true);
    zsock_t *client = s_curve_client (rig.server, rig.keys->alice, rig.keys->server);
    s_check_refused (rig.server, rig.monitor, client, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    zsock_destroy (&client);
    s_rig_destroy (&rig);
}

static void
s_client_curve_checks_arguments (void)
{
    s_keys_t *keys = s_keys_new ();
    zcert_t *server = zcert_load (keys->server);
    const char *key = zcert_public_txt (server);
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, key) == ZMX_OK);
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, keys->server) == ZMX_OK);

    char short_key [40];
    memcpy (short_key, key, 39);
    short_key [39] = 0;
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, short_key) == ZMX_ESECURITY);
    char bad_key [41];
    memcpy (bad_key, key, 41);
    bad_key [7] = '~';          //  not in the Z85 alphabet
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, bad_key) == ZMX_ESECURITY);
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice,
                                          "0000000000000000000000000000000000000000")
               == ZMX_ESECURITY);
    char *missing = s_path (keys->dir, "nowhere.cert");
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, missing) == ZMX_ESECURITY);
    ZMX_CHECK (zmx_security_client_curve (NULL, missing, key) == ZMX_ESECURITY);
    ZMX_CHECK (zmx_security_client_curve (NULL, NULL, key) == ZMX_ESECURITY);
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, NULL) == ZMX_ESECURITY);

    //  A file that is not a certificate, as server key
    char *junk = s_path (keys->dir, "junk");
    ZMX_CHECK (zmx_test_write_file (junk, "hello\n") == 0);
    ZMX_CHECK (zmx_security_client_curve (NULL, keys->alice, junk) == ZMX_ESECURITY);

    //  The client's published certificate has no secret key
    char *published = s_path (keys->clients, "alice.cert");
    ZMX_CHECK (zmx_security_client_curve (NULL, published, key) == ZMX_ESECURITY);

    //  A socket is left untouched by a failed call
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    ZMX_CHECK (zmx_security_client_curve (sock, published, key) == ZMX_ESECURITY);
    ZMX_CHECK (zsock_mechanism (sock) == ZMQ_NULL);
    ZMX_CHECK (zmx_security_client_curve (sock, keys->alice, key) == ZMX_OK);
    ZMX_CHECK (zsock_mechanism (sock) == ZMQ_CURVE);
    zsock_destroy (&sock);

    zstr_free (&published);
    zstr_free (&junk);
    zstr_free (&missing);
    zcert_destroy (&server);
    s_keys_destroy (&keys);
}


//  --------------------------------------------------------------------------
//  ZAP address lists on plain sockets

//  One plain server under `allow`/`deny`; checks a local client's fate.
static void
s_check_plain_policy (const char *allow, const char *deny, bool admitted)
{
    s_rig_t rig = { NULL };
    s_rig_bind (&rig, s_security_new (NULL, NULL, NULL, allow, deny), true);
    ZMX_CHECK (!zmx_security_curve (rig.security));
    zsock_t *client = s_plain_client (rig.server);
    if (admitted)
        ZMX_CHECK (s_echo (rig.server, client, S_REPLY_WAIT));
    else
        s_check_refused (rig.server, rig.monitor, client, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    zsock_destroy (&client);
    s_rig_destroy (&rig);
}

static void
s_deny_blocks_plain_client (void)
{
    s_check_plain_policy (NULL, "10.0.0.9, 127.0.0.1", false);
}

static void
s_deny_lets_others_in (void)
{
    s_check_plain_policy (NULL, "10.0.0.9", true);
}

static void
s_allow_admits_listed_address (void)
{
    s_check_plain_policy ("10.0.0.2,127.0.0.1", NULL, true);
}

static void
s_allow_refuses_unlisted_address (void)
{
    s_check_plain_policy ("10.0.0.2", NULL, false);
}

static void
s_deny_wins_over_allow (void)
{
    s_check_plain_policy ("127.0.0.1,10.0.0.2", "127.0.0.1", false);
}

static void
s_one_zap_policy_per_process (void)
{
    zmx_security_t *first = s_security_new (NULL, NULL, NULL, NULL, "10.0.0.9");
    ZMX_CHECK (first);
    zconfig_t *config = s_config (NULL, NULL, NULL, NULL, "10.0.0.8");
    s_check_config_refused (&config, "another ZAP handler");

    //  A policy without ZAP does not compete
    zmx_security_t *plain = zmx_security_new (NULL);
    ZMX_CHECK (plain);
    zmx_security_destroy (&plain);

    //  Once the first is gone, a new one may start
    zmx_security_destroy (&first);
    s_rig_t second = { NULL };
    s_rig_bind (&second, s_security_new (NULL, NULL, NULL, NULL, "127.0.0.1"), true);
    zsock_t *client = s_plain_client (second.server);
    s_check_refused (second.server, second.monitor, client, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH);
    zsock_destroy (&client);
    s_rig_destroy (&second);
}

//  Wait until the policy has counted `count` refusals; false on timeout.
static bool
s_wait_refused (zmx_security_t *security, uint64_t count, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (zmx_security_refused (security) < count && zclock_mono () < deadline)
        zclock_sleep (10);
    return zmx_security_refused (security) >= count;
}

//  The server counts and logs (notice level, rate-limited) every refused
//  client: a key not among the clients (ZAP), a client without CURVE and
//  one with the wrong server key (handshake failures).
static void
s_refusals_logged_and_counted (void)
{
    zmx_log_set_level (ZMX_LOG_NOTICE);
    char *dir = zmx_test_tmpdir ();
    char *log = zsys_sprintf ("%s/log", dir);
    int saved = zmx_test_capture_begin (log);
    int64_t started = zclock_mono ();
    s_rig_t rig;
    s_rig_curve (&rig, false, NULL, false);
    ZMX_CHECK (zmx_security_refused (rig.security) == 0);
    zsock_t *client = s_curve_client (rig.server, rig.keys->mallory, rig.keys->server);
    ZMX_CHECK (s_wait_refused (rig.security, 1, 5000));
    zsock_destroy (&client);
    uint64_t refused = zmx_security_refused (rig.security);
    client = s_plain_client (rig.server);
    ZMX_CHECK (s_wait_refused (rig.security, refused + 1, 5000));
    zsock_destroy (&client);
    refused = zmx_security_refused (rig.security);
    zcert_t *other = zcert_load (rig.keys->mallory);
    client = s_curve_client (rig.server, rig.keys->alice, zcert_public_txt (other));
    ZMX_CHECK (s_wait_refused (rig.security, refused + 1, 5000));
    zsock_destroy (&client);
    zcert_destroy (&other);
    //  A known client still gets in
    client = s_curve_client (rig.server, rig.keys->alice, rig.keys->server);
    ZMX_CHECK (s_echo (rig.server, client, S_REPLY_WAIT));
    zsock_destroy (&client);
    refused = zmx_security_refused (rig.security);
    s_rig_destroy (&rig);
    int64_t elapsed = zclock_mono () - started;
    zmx_test_capture_end (saved);
    int zap = zmx_test_count_lines (log, " N security: refused a client on tcp://127.0.0.1:");
    int lines = zmx_test_count_lines (log, "refused a client");
    zsys_info ("%" PRIu64 " refusals in %" PRId64 " ms: %d notices", refused, elapsed, lines);
    ZMX_CHECK (zap >= 1 && lines == zap);
    ZMX_CHECK (lines <= 2 + elapsed / 1000);
    free (log);
    zmx_test_rmdir (dir);
    free (dir);
}

//  At libzmq's socket limit, the socket constructors every service uses
//  on peer-driven paths return NULL where zsock_new would assert.
static void
s_socket_limit_returns_null (void)
{
    zsys_set_max_sockets (16);
    void *held [64];
    size_t count = 0;
    while (count < 64 && (held [count] = zmq_socket (zsys_init (), ZMQ_DEALER)))
        count++;
    ZMX_CHECK (count > 0 && count < 64);
    ZMX_CHECK (zmx__sock_new (ZMQ_DEALER) == NULL);
    ZMX_CHECK (zmx_security_socket (NULL, ZMQ_ROUTER) == NULL);
    ZMX_CHECK (zmx_security_bind (NULL, ZMQ_ROUTER, "tcp://127.0.0.1:*") == NULL);
    ZMX_CHECK (zmx__sock_new (99) == NULL);
    for (size_t index = 0; index < count; index++)
        zmq_close (held [index]);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "keygen_writes_key_pair", s_keygen_writes_key_pair, 10 },
        { "keygen_refuses_bad_paths", s_keygen_refuses_bad_paths, 10 },
        { "off_without_config", s_off_without_config, 10 },
        { "bind_failure_returns_null", s_bind_failure_returns_null, 10 },
        { "curve_needs_certificate", s_curve_needs_certificate, 10 },
        { "bad_config_refused", s_bad_config_refused, 10 },
        { "curve_admits_known_client", s_curve_admits_known_client, 15 },
        { "curve_refuses_unknown_key", s_curve_refuses_unknown_key, 15 },
        { "curve_refuses_plaintext_client", s_curve_refuses_plaintext_client, 15 },
        { "curve_any_key", s_curve_any_key, 15 },
        { "curve_with_deny_refuses_known_client", s_curve_with_deny_refuses_known_client, 15 },
        { "client_curve_checks_arguments", s_client_curve_checks_arguments, 10 },
        { "deny_blocks_plain_client", s_deny_blocks_plain_client, 15 },
        { "deny_lets_others_in", s_deny_lets_others_in, 15 },
        { "allow_admits_listed_address", s_allow_admits_listed_address, 15 },
        { "allow_refuses_unlisted_address", s_allow_refuses_unlisted_address, 15 },
        { "deny_wins_over_allow", s_deny_wins_over_allow, 15 },
        { "one_zap_policy_per_process", s_one_zap_policy_per_process, 15 },
        { "socket_limit_returns_null", s_socket_limit_returns_null, 10 },
        { "refusals_logged_and_counted", s_refusals_logged_and_counted, 30 },
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
