/*  =========================================================================
    czmq_logging - a plain CZMQ program whose log lines reach zmxd's log

    Nothing zmx-specific: it logs with zsys_info, zsys_warning and
    zsys_error. CZMQ itself publishes each line when the environment
    variable ZSYS_LOGSENDER names an endpoint (">" connects), and zmxd's
    log service ingests such lines into the stream `log` (the only code
    for it is the CZMQ 4.2.1 workaround in main):

        ZSYS_LOGSENDER=">tcp://127.0.0.1:5560" build/bin/example_czmq_logging
        zmx console                 # or any ZMXS1 reader of the stream "log"

    A PUB that connects drops what it sends before the ingest's
    subscription reaches it, so the first round is logged after one
    interval, not at once. CZMQ closes its log socket at exit with
    ZSYS_LINGER (default 0): lines logged just before exit may be lost
    unless ZSYS_LINGER is set (e.g. 100). Two more CZMQ 4.2.1 defects are
    worked around below, with comments.

    Usage: example_czmq_logging [ROUNDS [INTERVAL_MS]]  (default 5, 1000)
    Exit code 0, or 2 for bad arguments.
    =========================================================================
*/
#include <czmq.h>

int
main (int argc, char *argv [])
{
    int rounds = argc > 1? atoi (argv [1]): 5;
    int interval = argc > 2? atoi (argv [2]): 1000;
    if (argc > 3 || rounds < 1 || interval < 0) {
        fprintf (stderr, "usage: example_czmq_logging [ROUNDS [INTERVAL_MS]]\n");
        return 2;
    }
    //  CZMQ 4.2.1's zsys_init aborts when it finds ZSYS_LOGSENDER (it
    //  opens the log socket, then asserts that no socket is open yet), so
    //  take the variable out of its sight and set the sender after it;
    //  with a CZMQ that has the fix the variable alone does it.
    char *sender = getenv ("ZSYS_LOGSENDER")? strdup (getenv ("ZSYS_LOGSENDER")): NULL;
    unsetenv ("ZSYS_LOGSENDER");
    zsys_init ();
    if (sender && *sender)
        zsys_set_logsender (sender);
    free (sender);
    for (int round = 1; round <= rounds && !zsys_interrupted; round++) {
        zclock_sleep (interval);
        zsys_info ("round %d of %d: all is well", round, rounds);
        //  No '%' in the text: CZMQ 4.2.1 sends the line through a printf
        //  format once more
        zsys_warning ("round %d: disk at 9%d percent", round, round % 10);
        if (round % 2 == 0)
            zsys_error ("round %d: cannot reach the database", round);
    }
    //  CZMQ 4.2.1 reports its own log socket as dangling at exit (and
    //  then cannot end its context) unless the program closes it
    zsys_set_logsender (NULL);
    return 0;
}
