/*  =========================================================================
    bench_util - helpers every benchmark program needs

    See bench_util.h. The spawn path runs only async-signal-safe calls in
    the child between fork and exec, since benchmarks fork while CZMQ
    threads are running.
    =========================================================================
*/
#include "bench_util.h"
#include "ports.h"
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int64_t
bench_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
bench_now_ns (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int
bench_compare_doubles (const void *a, const void *b)
{
    double x = *(const double *) a, y = *(const double *) b;
    return (x > y) - (x < y);
}

int
bench_compare_int64 (const void *a, const void *b)
{
    int64_t x = *(const int64_t *) a, y = *(const int64_t *) b;
    return (x > y) - (x < y);
}

double
bench_median (double *values, int count)
{
    if (count <= 0)
        return -1;
    qsort (values, (size_t) count, sizeof (double), bench_compare_doubles);
    return count % 2? values [count / 2]
                    : (values [count / 2 - 1] + values [count / 2]) / 2;
}

int
bench_free_port (void)
{
    return zmx_ports_free_tcp ();
}

pid_t
bench_spawn (char *const argv [], const char *log_path)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    //  Child: only async-signal-safe calls until exec
    if (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent)
        _exit (127);
    int log_fd = open (log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int null_fd = open ("/dev/null", O_RDONLY);
    if (log_fd < 0 || null_fd < 0)
        _exit (127);
    dup2 (null_fd, STDIN_FILENO);
    dup2 (log_fd, STDOUT_FILENO);
    dup2 (log_fd, STDERR_FILENO);
    execv (argv [0], argv);
    _exit (127);
}

void
bench_stop (pid_t *pid_p)
{
    if (*pid_p <= 0)
        return;
    kill (*pid_p, SIGTERM);
    for (int waited = 0; waited < 300; waited++) {
        if (waitpid (*pid_p, NULL, WNOHANG) == *pid_p) {
            *pid_p = 0;
            return;
        }
        zclock_sleep (10);
    }
    kill (*pid_p, SIGKILL);
    waitpid (*pid_p, NULL, 0);
    *pid_p = 0;
}

bool
bench_wait_for_text (const char *path, const char *text, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (true) {
        FILE *file = fopen (path, "r");
        if (file) {
            char buffer [65536];
            size_t size = fread (buffer, 1, sizeof buffer - 1, file);
            fclose (file);
            buffer [size] = 0;
            if (strstr (buffer, text))
                return true;
        }
        if (zclock_mono () >= deadline)
            return false;
        zclock_sleep (5);
    }
}

void
bench_print_log (const char *path, int max_lines)
{
    FILE *file = fopen (path, "r");
    if (!file)
        return;
    char line [512];
    fprintf (stderr, "---- %s\n", path);
    for (int count = 0; (max_lines <= 0 || count < max_lines)
                        && fgets (line, sizeof line, file); count++)
        fputs (line, stderr);
    fprintf (stderr, "----\n");
    fclose (file);
}

long
bench_proc_kib (pid_t pid, const char *key)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    char line [256];
    long value = -1;
    size_t key_size = strlen (key);
    while (fgets (line, sizeof line, file))
        if (strncmp (line, key, key_size) == 0) {
            value = strtol (line + key_size, NULL, 10);
            break;
        }
    fclose (file);
    return value;
}

long
bench_rss_kib (pid_t pid)
{
    return bench_proc_kib (pid, "VmRSS:");
}

void
bench_echo_until (zmx_worker_t *worker, zsock_t *pipe, int poll_ms)
{
    while (!(zsock_events (pipe) & ZMQ_POLLIN)) {
        zframe_t *reply_to;
        zmsg_t *request = zmx_worker_recv (worker, poll_ms, &reply_to);
        if (request)
            zmx_worker_send (worker, &request, &reply_to);
        else
        if (zmx_worker_error (worker) == ZMX_ETERM)
            break;
    }
}
