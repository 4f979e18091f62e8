/*  =========================================================================
    echo_worker - a Majordomo worker for the "echo" service

    Answers every request with the request itself, until interrupted.
    Usage: example_echo_worker [broker-endpoint]   (default tcp://127.0.0.1:5555)
    =========================================================================
*/
#include <zmx.h>

int
main (int argc, char *argv [])
{
    const char *endpoint = argc > 1? argv [1]: ZMX_BROKER_DEFAULT_ENDPOINT;
    zmx_worker_t *worker = zmx_worker_new (endpoint, "echo");
    if (!worker)
        return 1;               //  The reason is logged
    while (true) {
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (worker, -1, &reply_to);
        if (!request)
            break;              //  Interrupted
        zmx_worker_send (worker, &request, &reply_to);
    }
    zmx_worker_destroy (&worker);
    return 0;
}
