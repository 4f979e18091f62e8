/*  =========================================================================
    test_bstar - Binary Star: codec, state table, and live pairs

    The live cases run two zmx_bstar peers in this process with 100 msec
    heartbeats. The link cases put a relay between them (two SUB -> PUB
    forwarders in an actor) that the test can cut and mend, so that the
    link breaks while both peers stay alive. Every wait polls the state
    with a deadline.
    =========================================================================
*/
#include "testing.h"
#include "zmx/zmx_bstar.h"

#define S_HEARTBEAT     100
#define S_EXPIRY        (ZMX_BSTAR_EXPIRY_FACTOR * S_HEARTBEAT)
#define S_SETTLE_MS     3000        //  Deadline for a pair to settle
#define S_FAILOVER_RUNS 5

//  -------------------------------------------------------------------------
//  Helpers

//  A peer on `local`, retrying for a while: a port just released by a
//  destroyed peer may take a moment to be free again.
static zmx_bstar_t *
s_peer_new (bool primary, const char *local, const char *remote)
{
    int64_t deadline = zclock_mono () + 3000;
    zmx_bstar_t *peer = zmx_bstar_new (NULL, primary, local, remote);
    while (!peer && zclock_mono () < deadline) {
        zclock_sleep (20);
        peer = zmx_bstar_new (NULL, primary, local, remote);
    }
    ZMX_CHECK (peer);
    ZMX_CHECK (zmx_bstar_set_heartbeat (peer, S_HEARTBEAT) == ZMX_OK);
    return peer;
}

//  The next notification must come within timeout_ms and be `expected`.
static void
s_expect_notify (zmx_bstar_t *peer, const char *expected, int timeout_ms)
{
    zmsg_t *msg = zmx_test_recv (zmx_bstar_socket (peer), timeout_ms);
    ZMX_CHECK (msg);
    char *name = zmsg_popstr (msg);
    ZMX_CHECK_STR (name, expected);
    if (streq (expected, ZMX_BSTAR_NOTIFY_FAILED)) {
        char *reason = zmsg_popstr (msg);
        ZMX_CHECK (reason && *reason);
        zstr_free (&reason);
    }
    zstr_free (&name);
    zmsg_destroy (&msg);
}

static bool
s_no_notify (zmx_bstar_t *peer)
{
    return (zsock_events (zmx_bstar_socket (peer)) & ZMQ_POLLIN) == 0;
}

static uint64_t
s_received (zmx_bstar_t *peer)
{
    zmx_bstar_stats_t stats;
    zmx_bstar_stats (peer, &stats);
    return stats.heartbeats_received;
}

typedef struct {
    char *local [2];            //  Primary's and backup's state endpoints
    zactor_t *relay;            //  Between them, or NULL: direct link
    zmx_bstar_t *primary;
    zmx_bstar_t *backup;
} s_pair_t;

//  Start a pair, linked directly or through a relay, and wait until the
//  primary is ACTIVE and the backup PASSIVE (as their notifications say).
static void
s_pair_start (s_pair_t *pair, bool relayed)
{
    memset (pair, 0, sizeof (*pair));
    pair->local [0] = zmx_test_free_endpoint ();
    pair->local [1] = zmx_test_free_endpoint ();
    char *remote [2] = { pair->local [1], pair->local [0] };
    char *relayed_remote [2] = { NULL, NULL };
    if (relayed) {
        pair->relay = zactor_new (zmx_test_relay, pair->local);
        ZMX_CHECK (zstr_recvx (pair->relay, &relayed_remote [1], &relayed_remote [0], NULL) == 2);
        remote [0] = relayed_remote [0];
        remote [1] = relayed_remote [1];
    }
    pair->primary = s_peer_new (true, pair->local [0], remote [0]);
    pair->backup = s_peer_new (false, pair->local [1], remote [1]);
    zstr_free (&relayed_remote [0]);
    zstr_free (&relayed_remote [1]);
    s_expect_notify (pair->primary, ZMX_BSTAR_NOTIFY_ACTIVE, S_SETTLE_MS);
    s_expect_notify (pair->backup, ZMX_BSTAR_NOTIFY_PASSIVE, S_SETTLE_MS);
    ZMX_CHECK (zmx_bstar_state (pair->primary) == ZMX_BSTAR_ACTIVE);
    ZMX_CHECK (zmx_bstar_state (pair->backup) == ZMX_BSTAR_PASSIVE);
}

static void
s_pair_stop (s_pair_t *pair)
{
    zmx_bstar_destroy (&pair->primary);
    zmx_bstar_destroy (&pair->backup);
    zactor_destroy (&pair->relay);
    free (pair->local [0]);
    free (pair->local [1]);
}

static void
s_relay_set (s_pair_t *pair, const char *command)
{
    ZMX_CHECK (zstr_send (pair->relay, command) == 0);
    ZMX_CHECK (zsock_wait (pair->relay) == 0);
}

//  Destroy the primary and poll the backup with client requests until it
//  serves one; returns the msec from the destroy to that request.
static int64_t
s_kill_primary_and_fail_over (s_pair_t *pair)
{
    //  Die at a random point of the heartbeat cycle, not always just
    //  after a state message (as right after the pair settled)
    zclock_sleep (randof (S_HEARTBEAT));
    int64_t start = zclock_mono ();
    zmx_bstar_destroy (&pair->primary);
    int64_t deadline = start + 10 * S_EXPIRY;
    while (zmx_bstar_client_request (pair->backup) != 0) {
        ZMX_CHECK (zclock_mono () < deadline);
        zclock_sleep (1);
    }
    return zclock_mono () - start;
}

//  -------------------------------------------------------------------------
//  Codec and state table

static void
s_codec (void)
{
    for (int state = ZMX_BSTAR_PRIMARY; state <= ZMX_BSTAR_PASSIVE; state++) {
        zmsg_t *msg = zmx_bstar_encode ((zmx_bstar_state_t) state);
        ZMX_CHECK (zmsg_size (msg) == 2);
        zframe_t *header = zmsg_first (msg), *value = zmsg_next (msg);
        zmx_bstar_frame_t frames [2] = {
            { zframe_data (header), zframe_size (header) },
            { zframe_data (value), zframe_size (value) } };
        zmx_bstar_state_t decoded = 0;
        const char *error = "unset";
        ZMX_CHECK (zmx_bstar_decode (frames, 2, &decoded, &error) == 0);
        ZMX_CHECK ((int) decoded == state && error == NULL);
        zmsg_destroy (&msg);
    }
    const uint8_t zero = 0, five = 5, high = 255, one = 1, two [2] = { 1, 2 };
    struct {
        zmx_bstar_frame_t frames [3];
        size_t count;
    } bad [] = {
        { { { "ZMXBS1", 6 } }, 1 },
        { { { "ZMXBS1", 6 }, { &one, 1 }, { "x", 1 } }, 3 },
        { { { "ZMXBS2", 6 }, { &one, 1 } }, 2 },
        { { { "ZMXBS", 5 }, { &one, 1 } }, 2 },
        { { { "ZMXBS1x", 7 }, { &one, 1 } }, 2 },
        { { { "ZMXBS1", 6 }, { "", 0 } }, 2 },
        { { { "ZMXBS1", 6 }, { two, 2 } }, 2 },
        { { { "ZMXBS1", 6 }, { &zero, 1 } }, 2 },
        { { { "ZMXBS1", 6 }, { &five, 1 } }, 2 },
        { { { "ZMXBS1", 6 }, { &high, 1 } }, 2 },
        { { { "", 0 } }, 0 }
    };
    for (size_t index = 0; index < ZMX_TEST_COUNT (bad); index++) {
        zmx_bstar_state_t decoded = ZMX_BSTAR_BACKUP;
        const char *error = NULL;
        int rc = zmx_bstar_decode (bad [index].frames, bad [index].count, &decoded, &error);
        ZMX_CHECK (rc == -1);
        ZMX_CHECK (error && *error);
        ZMX_CHECK (decoded == ZMX_BSTAR_BACKUP);
    }
    const char *error = NULL;
    zmx_bstar_state_t decoded;
    ZMX_CHECK (zmx_bstar_decode (NULL, 2, &decoded, &error) == -1 && error);
    ZMX_CHECK_STR (zmx_bstar_state_name (ZMX_BSTAR_PASSIVE), "PASSIVE");
    ZMX_CHECK_STR (zmx_bstar_state_name ((zmx_bstar_state_t) 9), "?");
}

//  Every state x event x peer_expired against the expected cell.
static void
s_fsm_table (void)
{
    enum { P = ZMX_BSTAR_PRIMARY, B = ZMX_BSTAR_BACKUP, A = ZMX_BSTAR_ACTIVE,
           S = ZMX_BSTAR_PASSIVE, F = ZMX_BSTAR_FAILED };
    enum { OK = ZMX_BSTAR_OK, RJ = ZMX_BSTAR_REJECT, FT = ZMX_BSTAR_FATAL };
    typedef struct { int state, verdict; bool reason; } cell_t;
    //  [state][event][expired]; events PEER_PRIMARY, PEER_BACKUP,
    //  PEER_ACTIVE, PEER_PASSIVE, CLIENT_REQUEST
    const cell_t expected [5][5][2] = {
        {   { { P, OK, 1 }, { P, OK, 1 } }, { { A, OK, 0 }, { A, OK, 0 } },
            { { S, OK, 0 }, { S, OK, 0 } }, { { P, OK, 0 }, { P, OK, 0 } },
            { { P, RJ, 1 }, { A, OK, 0 } } },
        {   { { B, OK, 0 }, { B, OK, 0 } }, { { B, OK, 1 }, { B, OK, 1 } },
            { { S, OK, 0 }, { S, OK, 0 } }, { { B, OK, 0 }, { B, OK, 0 } },
            { { B, RJ, 1 }, { B, RJ, 1 } } },
        {   { { A, OK, 0 }, { A, OK, 0 } }, { { A, OK, 0 }, { A, OK, 0 } },
            { { F, FT, 1 }, { F, FT, 1 } }, { { A, OK, 0 }, { A, OK, 0 } },
            { { A, OK, 0 }, { A, OK, 0 } } },
        {   { { A, OK, 0 }, { A, OK, 0 } }, { { A, OK, 0 }, { A, OK, 0 } },
            { { S, OK, 0 }, { S, OK, 0 } }, { { F, FT, 1 }, { F, FT, 1 } },
            { { S, RJ, 1 }, { A, OK, 0 } } },
        {   { { F, OK, 0 }, { F, OK, 0 } }, { { F, OK, 0 }, { F, OK, 0 } },
            { { F, OK, 0 }, { F, OK, 0 } }, { { F, OK, 0 }, { F, OK, 0 } },
            { { F, RJ, 1 }, { F, RJ, 1 } } }
    };
    int cells = 0;
    for (int state = P; state <= F; state++)
        for (int event = ZMX_BSTAR_PEER_PRIMARY; event <= ZMX_BSTAR_CLIENT_REQUEST; event++)
            for (int expired = 0; expired < 2; expired++) {
                const cell_t *cell = &expected [state - 1][event - 1][expired];
                zmx_bstar_state_t current = (zmx_bstar_state_t) state;
                const char *reason = NULL;
                int verdict = zmx_bstar_step (&current, (zmx_bstar_event_t) event,
                                              expired == 1, &reason);
                if ((int) current != cell->state || verdict != cell->verdict
                ||  (reason != NULL) != cell->reason)
                    printf ("cell %s x event %d (expired %d): got %s %d\n",
                            zmx_bstar_state_name ((zmx_bstar_state_t) state), event, expired,
                            zmx_bstar_state_name (current), verdict);
                ZMX_CHECK ((int) current == cell->state);
                ZMX_CHECK (verdict == cell->verdict);
                ZMX_CHECK ((reason != NULL) == cell->reason);
                cells++;
            }
    ZMX_CHECK (cells == 50);
    //  reason may be NULL
    zmx_bstar_state_t state = ZMX_BSTAR_PASSIVE;
    ZMX_CHECK (zmx_bstar_step (&state, ZMX_BSTAR_PEER_PASSIVE, false, NULL) == ZMX_BSTAR_FATAL);
}

//  -------------------------------------------------------------------------
//  Objects

static void
s_arguments (void)
{
    ZMX_CHECK (zmx_bstar_new (NULL, true, NULL, "tcp://127.0.0.1:1") == NULL);
    ZMX_CHECK (zmx_bstar_new (NULL, true, "tcp://127.0.0.1:*", NULL) == NULL);
    ZMX_CHECK (zmx_bstar_new (NULL, true, "garbage", "tcp://127.0.0.1:1") == NULL);
    //  Security off, but through a zmx_security object
    zmx_security_t *security = zmx_security_new (NULL);
    ZMX_CHECK (security);
    zmx_bstar_t *first = zmx_bstar_new (security, true, "tcp://127.0.0.1:*", "tcp://127.0.0.1:1");
    ZMX_CHECK (first);
    const char *endpoint = zmx_bstar_endpoint (first);
    ZMX_CHECK (endpoint && strncmp (endpoint, "tcp://127.0.0.1:", 16) == 0);
    ZMX_CHECK (strcmp (endpoint, "tcp://127.0.0.1:*") != 0);
    //  Endpoint taken
    ZMX_CHECK (zmx_bstar_new (NULL, false, endpoint, "tcp://127.0.0.1:1") == NULL);
    ZMX_CHECK (zmx_bstar_set_heartbeat (first, 0) == ZMX_EINVAL);
    ZMX_CHECK (zmx_bstar_set_heartbeat (first, ZMX_BSTAR_HEARTBEAT_MIN - 1) == ZMX_EINVAL);
    ZMX_CHECK (zmx_bstar_set_heartbeat (first, ZMX_BSTAR_HEARTBEAT_MAX + 1) == ZMX_EINVAL);
    ZMX_CHECK (zmx_bstar_set_heartbeat (first, ZMX_BSTAR_HEARTBEAT_MIN) == ZMX_OK);
    ZMX_CHECK (zmx_bstar_state (first) == ZMX_BSTAR_PRIMARY);
    ZMX_CHECK (!zmx_bstar_is_active (first));
    zmx_bstar_destroy (&first);
    zmx_bstar_destroy (&first);
    ZMX_CHECK (first == NULL);
    zmx_security_destroy (&security);
}

//  A lone primary serves once it has waited one expiry for its peer; a
//  lone backup never does.
static void
s_alone (void)
{
    int heartbeat = 300;
    int64_t start = zclock_mono ();
    char *local = zmx_test_free_endpoint ();
    char *nobody = zmx_test_free_endpoint ();
    zmx_bstar_t *primary = zmx_bstar_new (NULL, true, local, nobody);
    ZMX_CHECK (primary);
    ZMX_CHECK (zmx_bstar_set_heartbeat (primary, heartbeat) == ZMX_OK);
    //  Within the expiry of its start: the backup might be active
    if (zclock_mono () - start < heartbeat) {
        ZMX_CHECK (zmx_bstar_client_request (primary) == -1);
        ZMX_CHECK (zmx_bstar_state (primary) == ZMX_BSTAR_PRIMARY);
    }
    int64_t deadline = start + 10 * heartbeat;
    while (zmx_bstar_client_request (primary) != 0) {
        ZMX_CHECK (zclock_mono () < deadline);
        zclock_sleep (5);
    }
    ZMX_CHECK (zclock_mono () - start >= ZMX_BSTAR_EXPIRY_FACTOR * heartbeat);
    ZMX_CHECK (zmx_bstar_is_active (primary));
    s_expect_notify (primary, ZMX_BSTAR_NOTIFY_ACTIVE, 1000);
    ZMX_CHECK (zmx_bstar_client_request (primary) == 0);
    zmx_bstar_destroy (&primary);
    free (local);

    local = zmx_test_free_endpoint ();
    zmx_bstar_t *backup = s_peer_new (false, local, nobody);
    deadline = zclock_mono () + 3 * S_EXPIRY;
    while (zclock_mono () < deadline) {
        ZMX_CHECK (zmx_bstar_client_request (backup) == -1);
        zclock_sleep (10);
    }
    ZMX_CHECK (zmx_bstar_state (backup) == ZMX_BSTAR_BACKUP);
    ZMX_CHECK (s_no_notify (backup));
    zmx_bstar_stats_t stats;
    zmx_bstar_stats (backup, &stats);
    ZMX_CHECK (stats.requests_rejected > 0 && stats.requests_accepted == 0);
    ZMX_CHECK (stats.heartbeats_sent >= 2 && stats.state_changes == 0);
    zmx_bstar_destroy (&backup);
    free (local);
    free (nobody);
}

//  Both start: the primary goes active on hearing the backup, the backup
//  passive on hearing the active primary.
static void
s_startup (void)
{
    s_pair_t pair;
    s_pair_start (&pair, false);
    ZMX_CHECK (zmx_bstar_client_request (pair.primary) == 0);
    ZMX_CHECK (zmx_bstar_client_request (pair.backup) == -1);
    ZMX_CHECK (zmx_bstar_is_active (pair.primary));
    ZMX_CHECK (!zmx_bstar_is_active (pair.backup));
    zmx_bstar_stats_t stats;
    zmx_bstar_stats (pair.primary, &stats);
    ZMX_CHECK (stats.state_changes == 1 && stats.requests_accepted == 1);
    ZMX_CHECK (stats.heartbeats_sent >= 1 && stats.heartbeats_received >= 1);
    ZMX_CHECK (stats.malformed == 0 && stats.notifications_dropped == 0);
    zmx_bstar_stats (pair.backup, &stats);
    ZMX_CHECK (stats.state_changes == 1 && stats.requests_rejected == 1);
    s_pair_stop (&pair);
}

//  The backup takes over only on a client request after the primary's
//  expiry, never by itself.
static void
s_failover_needs_request (void)
{
    s_pair_t pair;
    s_pair_start (&pair, false);
    zmx_bstar_destroy (&pair.primary);
    int64_t deadline = zclock_mono () + 4 * S_EXPIRY;
    while (zclock_mono () < deadline) {
        ZMX_CHECK (zmx_bstar_state (pair.backup) == ZMX_BSTAR_PASSIVE);
        zclock_sleep (10);
    }
    ZMX_CHECK (s_no_notify (pair.backup));
    ZMX_CHECK (zmx_bstar_client_request (pair.backup) == 0);
    ZMX_CHECK (zmx_bstar_state (pair.backup) == ZMX_BSTAR_ACTIVE);
    s_expect_notify (pair.backup, ZMX_BSTAR_NOTIFY_ACTIVE, 1000);
    ZMX_CHECK (zmx_bstar_client_request (pair.backup) == 0);
    s_pair_stop (&pair);
}

//  Peer death to the first request the backup serves, polling with
//  requests every msec.
static void
s_failover_time (void)
{
    int64_t least = INT64_MAX, most = 0, total = 0;
    for (int run = 0; run < S_FAILOVER_RUNS; run++) {
        s_pair_t pair;
        s_pair_start (&pair, false);
        int64_t elapsed = s_kill_primary_and_fail_over (&pair);
        least = elapsed < least? elapsed: least;
        most = elapsed > most? elapsed: most;
        total += elapsed;
        s_pair_stop (&pair);
    }
    printf ("failover time, heartbeat %d ms (expiry %d ms), %d runs: "
            "min %" PRId64 " ms, avg %" PRId64 " ms, max %" PRId64 " ms\n",
            S_HEARTBEAT, S_EXPIRY, S_FAILOVER_RUNS, least, total / S_FAILOVER_RUNS, most);
    //  The backup heard the primary about one interval before it died at
    //  most; the margin covers a late timer on a loaded machine
    ZMX_CHECK (least >= S_EXPIRY - S_HEARTBEAT - 50);
    ZMX_CHECK (most <= S_EXPIRY + 2 * S_HEARTBEAT);
}

//  The link between live peers breaks and no client reaches the backup:
//  nothing changes, and nothing when it heals either.
static void
s_link_break_no_split_brain (void)
{
    s_pair_t pair;
    s_pair_start (&pair, true);
    s_relay_set (&pair, "CUT");
    uint64_t heard = s_received (pair.backup);
    int64_t deadline = zclock_mono () + 4 * S_EXPIRY;
    while (zclock_mono () < deadline) {
        ZMX_CHECK (zmx_bstar_state (pair.backup) == ZMX_BSTAR_PASSIVE);
        ZMX_CHECK (zmx_bstar_client_request (pair.primary) == 0);
        zclock_sleep (10);
    }
    //  Only what the relay passed before the cut may still arrive (one
    //  or two messages); uncut, about 4 * ZMX_BSTAR_EXPIRY_FACTOR would
    uint64_t after = s_received (pair.backup);
    ZMX_CHECK (after - heard <= 2);
    heard = after;
    uint64_t primary_heard = s_received (pair.primary);
    ZMX_CHECK (s_no_notify (pair.backup) && s_no_notify (pair.primary));
    s_relay_set (&pair, "MEND");
    deadline = zclock_mono () + S_SETTLE_MS;
    while (s_received (pair.backup) < heard + 2 || s_received (pair.primary) < primary_heard + 2) {
        ZMX_CHECK (zclock_mono () < deadline);
        zclock_sleep (10);
    }
    ZMX_CHECK (zmx_bstar_state (pair.primary) == ZMX_BSTAR_ACTIVE);
    ZMX_CHECK (zmx_bstar_state (pair.backup) == ZMX_BSTAR_PASSIVE);
    ZMX_CHECK (s_no_notify (pair.backup) && s_no_notify (pair.primary));
    s_pair_stop (&pair);
}

//  The documented limit: clients that reach the backup while the link is
//  down make it active; when the link heals, both see dual active and
//  stop (FAILED), as the pattern prescribes.
static void
s_link_break_with_requests_is_fatal (void)
{
    s_pair_t pair;
    s_pair_start (&pair, true);
    s_relay_set (&pair, "CUT");
    int64_t deadline = zclock_mono () + 10 * S_EXPIRY;
    while (zmx_bstar_client_request (pair.backup) != 0) {
        ZMX_CHECK (zclock_mono () < deadline);
        zclock_sleep (5);
    }
    s_expect_notify (pair.backup, ZMX_BSTAR_NOTIFY_ACTIVE, 1000);
    ZMX_CHECK (zmx_bstar_is_active (pair.primary) && zmx_bstar_is_active (pair.backup));
    s_relay_set (&pair, "MEND");
    //  The first to hear the other's ACTIVE fails and falls silent, so the
    //  other may never hear one: one or both end FAILED, never both ACTIVE
    int64_t deadline_failed = zclock_mono () + S_SETTLE_MS;
    while (zmx_bstar_state (pair.primary) != ZMX_BSTAR_FAILED
    &&     zmx_bstar_state (pair.backup) != ZMX_BSTAR_FAILED) {
        ZMX_CHECK (zclock_mono () < deadline_failed);
        zclock_sleep (5);
    }
    //  Watch one expiry more: what was in flight has landed by then
    deadline = zclock_mono () + S_EXPIRY;
    while (zclock_mono () < deadline) {
        ZMX_CHECK (!(zmx_bstar_is_active (pair.primary) && zmx_bstar_is_active (pair.backup)));
        zclock_sleep (10);
    }
    int failed = 0;
    zmx_bstar_t *peers [2] = { pair.primary, pair.backup };
    for (int index = 0; index < 2; index++) {
        if (zmx_bstar_state (peers [index]) == ZMX_BSTAR_FAILED) {
            failed++;
            s_expect_notify (peers [index], ZMX_BSTAR_NOTIFY_FAILED, 1000);
            ZMX_CHECK (zmx_bstar_client_request (peers [index]) == -1);
        }
        else {
            ZMX_CHECK (zmx_bstar_state (peers [index]) == ZMX_BSTAR_ACTIVE);
            ZMX_CHECK (zmx_bstar_client_request (peers [index]) == 0);
        }
        ZMX_CHECK (s_no_notify (peers [index]));
    }
    printf ("dual active after the link healed: %d of 2 peers stopped\n", failed);
    ZMX_CHECK (failed >= 1);
    s_pair_stop (&pair);
}

//  After a failover the primary restarts: it finds the backup active and
//  becomes passive; the backup stays active.
static void
s_primary_restart (void)
{
    s_pair_t pair;
    s_pair_start (&pair, false);
    s_kill_primary_and_fail_over (&pair);
    s_expect_notify (pair.backup, ZMX_BSTAR_NOTIFY_ACTIVE, 1000);
    pair.primary = s_peer_new (true, pair.local [0], pair.local [1]);
    ZMX_CHECK (zmx_bstar_client_request (pair.primary) == -1);
    s_expect_notify (pair.primary, ZMX_BSTAR_NOTIFY_PASSIVE, S_SETTLE_MS);
    ZMX_CHECK (zmx_bstar_state (pair.primary) == ZMX_BSTAR_PASSIVE);
    ZMX_CHECK (zmx_bstar_client_request (pair.primary) == -1);
    ZMX_CHECK (zmx_bstar_client_request (pair.backup) == 0);
    //  And it stays so over several heartbeats
    uint64_t heard = s_received (pair.backup);
    int64_t deadline = zclock_mono () + S_SETTLE_MS;
    while (s_received (pair.backup) < heard + 3) {
        ZMX_CHECK (zclock_mono () < deadline);
        zclock_sleep (10);
    }
    ZMX_CHECK (zmx_bstar_state (pair.backup) == ZMX_BSTAR_ACTIVE);
    ZMX_CHECK (zmx_bstar_state (pair.primary) == ZMX_BSTAR_PASSIVE);
    ZMX_CHECK (s_no_notify (pair.backup) && s_no_notify (pair.primary));
    s_pair_stop (&pair);
}

//  Peers behind CURVE: the pair settles with CURVE client SUBs, and a
//  plain subscriber hears nothing.
static void
s_curve (void)
{
    char *dir = zmx_test_tmpdir ();
    char *server_cert = zsys_sprintf ("%s/server.cert", dir);
    char *client_cert = zsys_sprintf ("%s/client.cert", dir);
    //  One policy per process (zauth): both peers share it here
    zmx_security_t *security = zmx_test_curve_policy (server_cert, client_cert);
    const char *key = zmx_security_public_key (security);
    char *local [2] = { zmx_test_free_endpoint (), zmx_test_free_endpoint () };
    ZMX_CHECK (zmx_bstar_new_curve (security, true, local [0], local [1], NULL, key) == NULL);
    zmx_bstar_t *primary = zmx_bstar_new_curve (security, true, local [0], local [1],
                                                client_cert, key);
    zmx_bstar_t *backup = zmx_bstar_new_curve (security, false, local [1], local [0],
                                               client_cert, key);
    ZMX_CHECK (primary && backup);
    ZMX_CHECK (zmx_bstar_set_heartbeat (primary, S_HEARTBEAT) == ZMX_OK);
    ZMX_CHECK (zmx_bstar_set_heartbeat (backup, S_HEARTBEAT) == ZMX_OK);
    s_expect_notify (primary, ZMX_BSTAR_NOTIFY_ACTIVE, S_SETTLE_MS);
    s_expect_notify (backup, ZMX_BSTAR_NOTIFY_PASSIVE, S_SETTLE_MS);
    zsock_t *plain = zsock_new (ZMQ_SUB);
    zsock_set_subscribe (plain, "");
    ZMX_CHECK (zsock_connect (plain, "%s", local [0]) == 0);
    zmsg_t *msg = zmx_test_recv (plain, 3 * S_HEARTBEAT);
    ZMX_CHECK (msg == NULL);
    zsock_destroy (&plain);
    zmx_bstar_destroy (&primary);
    zmx_bstar_destroy (&backup);
    zmx_security_destroy (&security);
    zmx_test_rmdir (dir);
    free (local [0]);
    free (local [1]);
    free (server_cert);
    free (client_cert);
    free (dir);
}

static void
s_send_frames (zsock_t *pub, const zmx_bstar_frame_t *frames, size_t count)
{
    zmsg_t *msg = zmsg_new ();
    for (size_t index = 0; index < count; index++)
        zmsg_addmem (msg, frames [index].data, frames [index].size);
    ZMX_CHECK (zmsg_send (&msg, pub) == 0);
}

static void
s_send_state (zsock_t *pub, zmx_bstar_state_t state)
{
    zmsg_t *msg = zmx_bstar_encode (state);
    ZMX_CHECK (zmsg_send (&msg, pub) == 0);
}

//  A fake peer sends garbage: every message is dropped and counted, the
//  state does not move, valid messages still count.
static void
s_malformed (void)
{
    zsock_t *pub = zsock_new (ZMQ_PUB);
    zsock_set_linger (pub, 0);
    ZMX_CHECK (zsock_bind (pub, "tcp://127.0.0.1:*") > 0);
    zmx_bstar_t *backup = s_peer_new (false, "tcp://127.0.0.1:*", zsock_endpoint (pub));
    //  Until the subscription is through
    int64_t deadline = zclock_mono () + S_SETTLE_MS;
    while (s_received (backup) == 0) {
        ZMX_CHECK (zclock_mono () < deadline);
        s_send_state (pub, ZMX_BSTAR_PRIMARY);
        zclock_sleep (10);
    }
    const uint8_t zero = 0, five = 5, one = 1, two [2] = { 1, 2 };
    const zmx_bstar_frame_t bad [][3] = {
        { { "ZMXBS1", 6 } },
        { { "ZMXBS1", 6 }, { &one, 1 }, { "x", 1 } },
        { { "ZMXBS2", 6 }, { &one, 1 } },
        { { "ZMXBS1", 6 }, { two, 2 } },
        { { "ZMXBS1", 6 }, { &zero, 1 } },
        { { "ZMXBS1", 6 }, { &five, 1 } },
        { { "", 0 } }
    };
    const size_t counts [] = { 1, 3, 2, 2, 2, 2, 1 };
    for (size_t index = 0; index < ZMX_TEST_COUNT (counts); index++)
        s_send_frames (pub, bad [index], counts [index]);
    s_send_state (pub, ZMX_BSTAR_PASSIVE);
    zmx_bstar_stats_t stats;
    deadline = zclock_mono () + S_SETTLE_MS;
    do {
        ZMX_CHECK (zclock_mono () < deadline);
        zclock_sleep (5);
        zmx_bstar_stats (backup, &stats);
    } while (stats.malformed < ZMX_TEST_COUNT (counts));
    //  PASSIVE from a peer leaves a backup as it was
    ZMX_CHECK (zmx_bstar_state (backup) == ZMX_BSTAR_BACKUP);
    zmx_bstar_stats (backup, &stats);
    ZMX_CHECK (stats.malformed == ZMX_TEST_COUNT (counts));
    //  A valid ACTIVE after the garbage still gets through
    s_send_state (pub, ZMX_BSTAR_ACTIVE);
    s_expect_notify (backup, ZMX_BSTAR_NOTIFY_PASSIVE, S_SETTLE_MS);
    zmx_bstar_stats (backup, &stats);
    ZMX_CHECK (stats.malformed == ZMX_TEST_COUNT (counts));
    zmx_bstar_destroy (&backup);
    zsock_destroy (&pub);
}

int
main (int argc, char *argv [])
{
    zmx_test_t cases [] = {
        { "codec", s_codec, 10 },
        { "fsm_table", s_fsm_table, 10 },
        { "arguments", s_arguments, 10 },
        { "alone", s_alone, 20 },
        { "startup", s_startup, 20 },
        { "failover_needs_request", s_failover_needs_request, 20 },
        { "failover_time", s_failover_time, 40 },
        { "link_break_no_split_brain", s_link_break_no_split_brain, 20 },
        { "link_break_with_requests_is_fatal", s_link_break_with_requests_is_fatal, 20 },
        { "primary_restart", s_primary_restart, 20 },
        { "malformed", s_malformed, 20 },
        { "curve", s_curve, 20 }
    };
    return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
}
