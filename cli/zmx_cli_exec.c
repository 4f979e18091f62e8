/*  =========================================================================
    zmx_cli_exec - run a program per request for `zmx worker -- COMMAND`

    The program runs without a shell (fork and execv of a path resolved
    once at start-up), gets the request on its stdin and gives the reply on
    its stdout. Stdin and stdout are pumped together through poll(): a
    program that writes before it has read all its input (most filters do)
    would deadlock against a parent that writes everything first. While
    the program runs, the caller's tick (the worker's heartbeat) is called
    on schedule, also after stdout closes: a program may close its stdout
    and keep running.
    =========================================================================
*/
#define _GNU_SOURCE             //  pipe2: close-on-exec from the start
#include "zmx_cli.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define S_IDLE_MSEC     1000    //  Longest wait without looking at zsys_interrupted
#define S_NAP_MAX_MSEC  64      //  Longest nap between checks that the program exited

//  Pump state for one run
typedef struct {
    int in_fd;                  //  Our end of the program's stdin, -1 when closed
    int out_fd;                 //  Our end of the program's stdout
    const char *input;          //  Bytes to write to stdin
    size_t input_size;          //  Their number
    size_t written;             //  How many have been written
    zchunk_t *output;           //  What stdout gave, up to the limit
    size_t limit;               //  Most bytes of output kept
    bool truncated;             //  Output went past the limit
    const zmx_cli_tick_t *tick; //  Called while the program runs, or NULL
    int64_t tick_at;            //  When tick is due next (zclock_mono)
} s_pump_t;

char *
zmx_cli_exec_find (const char *name)
{
    if (strchr (name, '/'))
        return access (name, X_OK) == 0? strdup (name): NULL;
    const char *path = getenv ("PATH");
    char *dirs = strdup (path && *path? path: "/usr/local/bin:/usr/bin:/bin");
    char *cursor = dirs, *dir, *found = NULL;
    while (!found && (dir = strsep (&cursor, ":"))) {
        char *candidate = zsys_sprintf ("%s/%s", *dir? dir: ".", name);
        struct stat info;
        if (stat (candidate, &info) == 0 && S_ISREG (info.st_mode)
        &&  access (candidate, X_OK) == 0)
            found = candidate;
        else
            zstr_free (&candidate);
    }
    free (dirs);
    return found;
}

//  Fork and exec the program with its stdin and stdout on new pipes.
//  Returns the child's pid, or -1 with errno set.
static pid_t
s_spawn (const char *path, char *const argv [], int *in_fd_p, int *out_fd_p)
{
    int to_child [2], from_child [2];
    if (pipe2 (to_child, O_CLOEXEC))
        return -1;
    if (pipe2 (from_child, O_CLOEXEC)) {
        close (to_child [0]);
        close (to_child [1]);
        return -1;
    }
    pid_t pid = fork ();
    if (pid == 0) {
        //  Only async-signal-safe calls between fork and exec: the parent
        //  has ZeroMQ threads whose locks the child must not touch.
        dup2 (to_child [0], STDIN_FILENO);
        dup2 (from_child [1], STDOUT_FILENO);
        signal (SIGPIPE, SIG_DFL);
        execv (path, argv);
        static const char message [] = "zmx worker: exec of the command failed\n";
        ssize_t ignored = write (STDERR_FILENO, message, sizeof message - 1);
        (void) ignored;
        _exit (127);
    }
    int saved = errno;
    close (to_child [0]);
    close (from_child [1]);
    if (pid < 0) {
        close (to_child [1]);
        close (from_child [0]);
        errno = saved;
        return -1;
    }
    *in_fd_p = to_child [1];
    *out_fd_p = from_child [0];
    fcntl (*in_fd_p, F_SETFL, O_NONBLOCK);
    return pid;
}

//  Write what stdin accepts now; close it when all is written or the
//  program stopped reading.
static void
s_pump_write (s_pump_t *pump)
{
    ssize_t done = write (pump->in_fd, pump->input + pump->written,
                          pump->input_size - pump->written);
    if (done > 0)
        pump->written += (size_t) done;
    if ((done < 0 && errno != EAGAIN && errno != EINTR)
    ||  pump->written == pump->input_size) {
        close (pump->in_fd);
        pump->in_fd = -1;
    }
}

//  Read what stdout has; returns false at end of file.
static bool
s_pump_read (s_pump_t *pump)
{
    char buffer [65536];
    ssize_t got = read (pump->out_fd, buffer, sizeof buffer);
    if (got < 0)
        return errno == EINTR || errno == EAGAIN;
    if (got == 0)
        return false;
    size_t room = pump->limit - zchunk_size (pump->output);
    if ((size_t) got > room)
        pump->truncated = true;
    zchunk_extend (pump->output, buffer, (size_t) got < room? (size_t) got: room);
    return true;
}

//  Call the tick if it is due. Returns msec until it is due again, at
//  most S_IDLE_MSEC.
static int
s_pump_tick (s_pump_t *pump)
{
    if (!pump->tick)
        return S_IDLE_MSEC;
    int64_t now = zclock_mono ();
    if (now >= pump->tick_at) {
        pump->tick->fn (pump->tick->arg);
        now = zclock_mono ();
        pump->tick_at = now + (pump->tick->interval > 0? pump->tick->interval: 1);
    }
    return pump->tick_at - now < S_IDLE_MSEC? (int) (pump->tick_at - now): S_IDLE_MSEC;
}

//  Feed stdin and drain stdout until stdout closes. Returns 0, or -1 if
//  interrupted by a signal.
static int
s_pump (s_pump_t *pump)
{
    if (pump->input_size == 0) {
        close (pump->in_fd);
        pump->in_fd = -1;
    }
    while (true) {
        struct pollfd items [2] = {
            { pump->out_fd, POLLIN, 0 },
            { pump->in_fd, POLLOUT, 0 }
        };
        //  Ticking here, not only on timeouts, keeps it on schedule while
        //  the program streams output
        int rc = poll (items, pump->in_fd >= 0? 2: 1, s_pump_tick (pump));
        if (zsys_interrupted)
            return -1;
        if (rc < 0)
            continue;           //  EINTR from a signal that is not ours
        if (items [1].revents && pump->in_fd >= 0)
            s_pump_write (pump);
        if (items [0].revents && !s_pump_read (pump))
            return 0;
    }
}

//  Wait for the program to exit, ticking meanwhile; kill it first if
//  `stop`, or once we are interrupted. Naps start short because most
//  programs exit right after closing stdout. Returns 0, or -1 if it was
//  killed for a signal to us.
static int
s_reap (s_pump_t *pump, pid_t pid, bool stop, int *status_p)
{
    if (stop)
        kill (pid, SIGKILL);
    int nap = 1;
    while (true) {
        pid_t done = waitpid (pid, status_p, stop? 0: WNOHANG);
        if (done == pid || (done < 0 && errno != EINTR))
            return stop? -1: 0;
        if (done == 0 && zsys_interrupted) {
            kill (pid, SIGKILL);
            stop = true;
        }
        else
        if (done == 0) {
            int wait = s_pump_tick (pump);
            zclock_sleep (nap < wait? nap: wait);
            nap = nap * 2 < S_NAP_MAX_MSEC? nap * 2: S_NAP_MAX_MSEC;
        }
    }
}

zchunk_t *
zmx_cli_exec (const char *path, char *const argv [], const char *input, size_t input_size,
              size_t limit, const zmx_cli_tick_t *tick, int *status_p)
{
    s_pump_t pump = { .in_fd = -1, .out_fd = -1, .input = input, .input_size = input_size,
                      .limit = limit, .tick = tick };
    if (tick)
        pump.tick_at = zclock_mono () + tick->interval;
    pid_t pid = s_spawn (path, argv, &pump.in_fd, &pump.out_fd);
    if (pid < 0) {
        zmx_log_error ("worker", "cannot start %s: %s", path, strerror (errno));
        return NULL;
    }
    pump.output = zchunk_new (NULL, 0);
    int rc = s_pump (&pump);
    if (pump.in_fd >= 0)
        close (pump.in_fd);
    close (pump.out_fd);
    //  If we are stopping, do not leave it behind, nor wait for it to agree
    int status = 0;
    if (s_reap (&pump, pid, rc != 0, &status))
        rc = -1;
    if (pump.truncated)
        zmx_log_debug ("worker", "%s wrote more than %zu bytes: the rest was discarded", path,
                       limit);
    if (rc)
        zchunk_destroy (&pump.output);
    *status_p = status;
    return pump.output;
}
