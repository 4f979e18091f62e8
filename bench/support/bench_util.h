/*  =========================================================================
    bench_util - helpers every benchmark program needs

    Monotonic clocks, sorting and medians of samples, free loopback ports,
    child processes that die with the benchmark, and a few /proc readings.
    Plain libc plus CZMQ's clock; linked into every bench program (bench/CAPABILITY/bench_NAME.c).
    =========================================================================
*/
#ifndef BENCH_UTIL_H_INCLUDED
#define BENCH_UTIL_H_INCLUDED

#include <zmx.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

//  Monotonic clock, in microseconds and in nanoseconds.
int64_t
    bench_now_us (void);
int64_t
    bench_now_ns (void);

//  qsort comparators for arrays of double and of int64_t, ascending.
int
    bench_compare_doubles (const void *a, const void *b);
int
    bench_compare_int64 (const void *a, const void *b);

//  Sorts values in place and returns their median (the mean of the two
//  middle values when count is even); -1 when count is 0.
double
    bench_median (double *values, int count);

//  A TCP port on 127.0.0.1 that was free a moment ago, from below the
//  ephemeral range (tests/support/ports.h), or -1.
int
    bench_free_port (void);

//  Starts argv [0] (a path) with stdin from /dev/null and stdout and
//  stderr to log_path (truncated); the child gets SIGKILL when this
//  process dies. Returns its pid, or -1.
pid_t
    bench_spawn (char *const argv [], const char *log_path);

//  Stops a child: SIGTERM, up to 3 s to exit, then SIGKILL; reaps it and
//  sets *pid_p to 0. Does nothing if *pid_p <= 0.
void
    bench_stop (pid_t *pid_p);

//  True once the file at path holds text (within its first 64 KiB),
//  polled every 5 msec until timeout_ms.
bool
    bench_wait_for_text (const char *path, const char *text, int timeout_ms);

//  Copy what a child wrote to its log to stderr, between "---- PATH" and
//  "----" lines, to explain a failure: at most max_lines lines (0: all).
void
    bench_print_log (const char *path, int max_lines);

//  One "Key:   123 kB" value of /proc/PID/status (key with its colon,
//  e.g. "VmHWM:") in KiB, or -1 if unreadable or absent.
long
    bench_proc_kib (pid_t pid, const char *key);

//  Resident set size (VmRSS) of a process in KiB, or -1 if unreadable.
long
    bench_rss_kib (pid_t pid);

//  Send every request `worker` receives back to its sender (waiting at
//  most poll_ms for each) until a message is waiting on `pipe` (left
//  there for the caller) or the context ends. For echo worker actors.
void
    bench_echo_until (zmx_worker_t *worker, zsock_t *pipe, int poll_ms);

#endif
