/*  =========================================================================
    credit_stream - one sender streaming to fast and slow receivers

    Starts a zmx_credit_sender and N receiver threads in one process; every
    second receiver is slow (sleeps 2 msec per payload). The sender streams
    `count` payloads of 64 KiB to each, then prints what it sent and the
    most it ever had in flight to one receiver, which credit keeps at or
    below the window however slow the receiver is.

    Usage: example_credit_stream [receivers [payloads]]   (default 4 50)
    =========================================================================
*/
#include <zmx.h>

#define WINDOW      (256 * 1024)
#define SLICE       (64 * 1024)
#define PAYLOAD     (64 * 1024)

typedef struct {
    const char *endpoint;
    int count;
    bool slow;
} reader_t;

static void
reader_actor (zsock_t *pipe, void *args)
{
    reader_t *reader = (reader_t *) args;
    zmx_credit_receiver_t *receiver = zmx_credit_receiver_new (reader->endpoint, WINDOW, SLICE);
    zsock_signal (pipe, 0);
    int received = 0;
    while (receiver && received < reader->count) {
        zframe_t *payload = zmx_credit_receiver_recv (receiver, 5000);
        if (!payload)
            break;
        received++;
        zframe_destroy (&payload);
        if (reader->slow)
            zclock_sleep (2);
    }
    zmx_credit_receiver_stats_t stats = { 0 };
    if (receiver)
        zmx_credit_receiver_stats (receiver, &stats);
    zstr_sendf (pipe, "%d payloads, %" PRIu64 " bytes, %" PRIu64 " gaps%s", received,
                stats.bytes_received, stats.gaps, reader->slow? " (slow)": "");
    char *command = zstr_recv (pipe);   //  $TERM, from zactor_destroy
    zstr_free (&command);
    zmx_credit_receiver_destroy (&receiver);
}

int
main (int argc, char *argv [])
{
    int readers = argc > 1? atoi (argv [1]): 4;
    int count = argc > 2? atoi (argv [2]): 50;
    if (readers < 1 || readers > 200 || count < 1) {
        fprintf (stderr, "usage: example_credit_stream [receivers 1..200 [payloads]]\n");
        return 1;
    }
    zmx_credit_sender_t *sender = zmx_credit_sender_new (NULL, "tcp://127.0.0.1:*");
    if (!sender)
        return 1;
    reader_t *settings = (reader_t *) zmalloc (readers * sizeof (reader_t));
    zactor_t **actors = (zactor_t **) zmalloc (readers * sizeof (zactor_t *));
    for (int index = 0; index < readers; index++) {
        settings [index] = (reader_t) { zmx_credit_sender_endpoint (sender), count, index % 2 == 1 };
        actors [index] = zactor_new (reader_actor, &settings [index]);
    }
    //  Peers appear when their HELLO arrives; each gets `count` payloads
    zhashx_t *sent = zhashx_new ();     //  peer name -> payloads queued
    byte *payload = (byte *) zmalloc (PAYLOAD);
    int64_t deadline = zclock_mono () + 30000;
    int finished = 0;
    while (finished < readers && zclock_mono () < deadline && !zsys_interrupted) {
        zmq_pollitem_t item = { zsock_resolve (zmx_credit_sender_socket (sender)), 0, ZMQ_POLLIN, 0 };
        zmq_poll (&item, 1, 10);
        zmx_credit_sender_process (sender);
        zlist_t *peers = zmx_credit_sender_peers (sender);
        for (char *peer = (char *) zlist_first (peers); peer; peer = (char *) zlist_next (peers)) {
            uintptr_t done = (uintptr_t) zhashx_lookup (sent, peer);
            while (done < (uintptr_t) count
                   && zmx_credit_sender_send (sender, peer, payload, PAYLOAD) == ZMX_OK)
                done++;
            zhashx_update (sent, peer, (void *) done);
        }
        zlist_destroy (&peers);
        for (int index = 0; index < readers; index++) {
            zsock_set_rcvtimeo (zactor_sock (actors [index]), 0);
            char *report = zstr_recv (actors [index]);
            if (report) {
                printf ("receiver %d: %s\n", index, report);
                finished++;
            }
            zstr_free (&report);
        }
    }
    zmx_credit_sender_stats_t stats;
    zmx_credit_sender_stats (sender, &stats);
    printf ("sender: %.1f MiB sent to %d receivers, window %d bytes, "
            "max in flight to one receiver %" PRIu64 ", max backlog %" PRIu64 " bytes\n",
            stats.bytes_sent / 1048576.0, readers, WINDOW, stats.max_in_flight_observed,
            stats.max_queued_observed);
    for (int index = 0; index < readers; index++)
        zactor_destroy (&actors [index]);
    free (actors);
    free (settings);
    free (payload);
    zhashx_destroy (&sent);
    zmx_credit_sender_destroy (&sender);
    return finished == readers && stats.max_in_flight_observed <= WINDOW? 0: 1;
}
