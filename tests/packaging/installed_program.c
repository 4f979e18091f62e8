/*  A program built against an installed libzmx with nothing but
    `pkg-config --cflags --libs libzmx`: starts a broker on the ipc://
    endpoint given as argv [1], asks it over 8/MMI whether "echo" has a
    worker (it has none: "404"), and stops it. Exits 0 if all went well.  */
#include <zmx.h>

int
main (int argc, char *argv [])
{
    if (argc != 2) {
        fprintf (stderr, "usage: installed_program ENDPOINT\n");
        return 2;
    }
    if (strcmp (zmx_strerror (ZMX_ETIMEDOUT), "") == 0)
        return 1;
    zconfig_t *config = zconfig_new ("broker", NULL);
    zconfig_put (config, "endpoint", argv [1]);
    zmx_service_t *broker = zmx_service_new ("broker", zmx_service_lookup ("broker"), config,
                                             NULL);
    if (!broker) {
        fprintf (stderr, "installed_program: the broker did not start on %s\n", argv [1]);
        return 1;
    }
    zmx_client_t *client = zmx_client_new (argv [1]);
    zmx_client_set_timeout (client, 2000);
    zmx_client_set_retries (client, 2);
    zmsg_t *request = zmsg_new ();
    zmsg_addstr (request, "echo");
    zmsg_t *reply = zmx_client_request (client, "mmi.service", &request);
    char *code = reply? zmsg_popstr (reply): NULL;
    int rc = code && streq (code, "404")? 0: 1;
    printf ("mmi.service echo: %s (%s)\n", code? code: "no reply",
            reply? "ok": zmx_strerror (zmx_client_error (client)));
    zstr_free (&code);
    zmsg_destroy (&reply);
    zmx_client_destroy (&client);
    zmx_service_destroy (&broker);
    zconfig_destroy (&config);
    return rc;
}
