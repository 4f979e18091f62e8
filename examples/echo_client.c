/*  =========================================================================
    echo_client - send one request to the "echo" service and print the reply

    Usage: example_echo_client [broker-endpoint [text]]
    The endpoint defaults to tcp://127.0.0.1:5555, the text to "hello".
    Exits 0 after printing the reply, 1 if no reply came.
    =========================================================================
*/
#include <zmx.h>

int
main (int argc, char *argv [])
{
    const char *endpoint = argc > 1? argv [1]: ZMX_BROKER_DEFAULT_ENDPOINT;
    const char *text = argc > 2? argv [2]: "hello";
    zmx_client_t *client = zmx_client_new (endpoint);
    if (!client)
        return 1;               //  The reason is logged
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, text);
    zmsg_t *reply = zmx_client_request (client, "echo", &request);
    char *answer = reply? zmsg_popstr (reply): NULL;
    if (answer)
        printf ("%s\n", answer);
    else
        fprintf (stderr, "no reply: %s\n", zmx_strerror (zmx_client_error (client)));
    int status = answer? 0: 1;
    zstr_free (&answer);
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    return status;
}
