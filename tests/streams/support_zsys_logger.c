/*  =========================================================================
    support_zsys_logger - a plain CZMQ program that logs with zsys, for
    test_log_ingest: run it with ZSYS_LOGSENDER=">tcp://HOST:PORT" (and
    ZSYS_LOGIDENT if wanted).

    CZMQ's log sender is a PUB that connects in the background, and a PUB
    drops what it sends before the connection is up. So the program logs
    its lines, then waits up to 100 msec for its stdin, and logs them again,
    until the test, having received them, closes the pipe (or writes to
    it). Each round is numbered so the test can tell them apart.
    =========================================================================
*/
#include <czmq.h>
#include <poll.h>
#include <unistd.h>

int
main (void)
{
    //  zsys reads ZSYS_LOGSENDER when it initializes
    zsys_init ();
    zsys_set_logstream (NULL);
    for (int round = 1; round <= 600; round++) {
        zsys_error ("disk full (round %d)", round);
        zsys_info ("service started (round %d)", round);
        struct pollfd input = { .fd = STDIN_FILENO, .events = POLLIN };
        if (poll (&input, 1, 100) > 0)
            break;          //  Data or end of file: the test has the lines
    }
    return 0;
}
