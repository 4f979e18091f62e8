/*  =========================================================================
    bench_files - one large file over loopback TCP: zmx files (FILEMQ)
    against a raw TCP copy and a raw libzmq stream, in one run

    Three systems copy the same file (default 1 GiB, written once into a
    private directory under /tmp) from one process to another over
    tcp://127.0.0.1, and the receiver writes it to disk:

      raw tcp   a forked sender read()s the file and write()s it to a
                loopback socket; this process read()s the socket and
                write()s the copy. The floor.
      raw zmq   a forked sender PUSHes the file in 256 KiB messages (no
                acknowledgement, no credit: only libzmq's high-water mark
                limits what is in flight); this process PULLs and writes.
      zmx files `zmx files serve SRC` (own process) and `zmx files sync /
                DST` (own process, exits once it has mirrored everything):
                the FILEMQ server and client with their credit flow
                control, as a user would run them.

    Each system runs --runs times (interleaved, so that drift on the
    shared machine hits all alike); the table shows the median rate and
    its ratio to raw tcp. Every copy is checked for its size, the first
    zmx copy also byte for byte.

    Memory, per process: the peak RSS (VmHWM in /proc/PID/status) of the
    server, read before it is stopped, and of the receiver, read every
    5 ms until it exits, for the 1 GiB copy; then the server's peak RSS while 50 slow
    clients sync the same file. A slow client is a `zmx files sync` that
    is stopped (SIGSTOP) most of the time and runs for short slices
    (SIGCONT), so the server always has 50 subscribers that read far
    slower than it can send.

    CPU, per copy: the user + system time of every process of the copy
    (sender and receiver; for zmx files the server's share is read from
    /proc before and after). With the time this process needs to hash
    the file once with the digest zmx files verifies transfers with
    (XXH3-128: zmx_files_digest_xxh128, which reads and hashes it), that
    gives a ceiling for any copy that verifies every byte's digest on
    the receiver: it does at least the raw tcp copy's work plus the
    hash, and cannot be faster than that CPU spread over every core.

    Each copy is removed right before the next copy's timer starts,
    whichever system makes it (see s_drop_previous): on this VM, page
    cache written into memory freed seconds earlier costs two to three
    times the CPU, and every system gets the same delay since a delete.

    Children get PR_SET_PDEATHSIG and are stopped on every path; the
    private directory is removed at the end (kept, with the logs, if a
    point failed, and its path printed).
    =========================================================================
*/
#include <zmq.h>
#include <czmq.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include "zmx.h"
#include "bench_util.h"

#define S_MAX_RUNS          9
#define S_IO_BUFFER         (1024 * 1024)       //  raw tcp read/write size
#define S_ZMQ_CHUNK         (256 * 1024)        //  raw zmq message size
#define S_PATTERN_SIZE      (4 * 1024 * 1024)   //  block of the data file
#define S_START_TIMEOUT_MS  60000               //  server up, every file hashed
#define S_COPY_TIMEOUT_MS   120000              //  one copy of the file
#define S_STOP_GRACE_MS     3000                //  SIGTERM, then SIGKILL
#define S_MAX_CLIENTS       200
#define S_SLOW_WARM_MS      1000                //  clients start unthrottled
#define S_SLOW_CYCLES       12                  //  run/stop cycles
#define S_SLOW_RUN_MS       20                  //  each client runs this long
#define S_SLOW_STOP_MS      380                 //  then is stopped this long

//  Targets from the issue
#define S_TARGET_RATIO      0.70                //  zmx files vs raw tcp
#define S_TARGET_RSS_MIB    64.0                //  server and receiver
#define S_TARGET_SLOW_MIB   256.0               //  server, 50 slow clients

typedef enum { S_RAW_TCP, S_RAW_ZMQ, S_ZMX, S_SYSTEMS } s_system_t;

static const char *s_system_names [S_SYSTEMS] = { "raw tcp", "raw zmq", "zmx files" };

typedef struct {
    int64_t size;               //  bytes in the test file
    int runs;                   //  repetitions; the table shows medians
    int clients;                //  slow clients for the memory point
    bool want_slow;             //  run the slow-client point
    char *dir;                  //  private directory under /tmp
    char *source_dir;           //  dir/src, holds the one test file
    char *source_path;          //  dir/src/big.bin
    char *zmx_path;             //  <directory of this program>/zmx
    const char *copies_option;  //  --copies DIR, or NULL
    char *copies_dir;           //  where copies go: --copies, or dir
    double rates [S_SYSTEMS][S_MAX_RUNS];   //  MB/s; -1 = failed
    double cpus [S_SYSTEMS][S_MAX_RUNS];    //  CPU seconds of the copy; -1 = unknown
    double digest_cpus [S_MAX_RUNS];        //  CPU seconds to XXH3-128 the file once
    double last_cpu;            //  CPU seconds of the copy just made
    char *previous;             //  The last copy's directory, until the next starts
    int copies;                 //  Copies made, to name their directories
    double server_mib;          //  zmx server VmHWM, 1 GiB copy (max of runs)
    double receiver_mib;        //  zmx sync VmHWM (max of runs)
    double server_idle_mib;     //  zmx server VmHWM just after start
    double slow_mib;            //  zmx server VmHWM with the slow clients
    int failures;               //  points that did not complete
} s_bench_t;

static volatile sig_atomic_t s_interrupted = 0;

//  Remove the previous copy, if any. Each system calls this right before
//  its timer starts, after its own set-up, so that every copy starts the
//  same moment after a delete: this VM's balloon driver reports freed
//  memory to the host about 2 s after it is freed (virtio free page
//  reporting), and page cache written into such memory costs the writer
//  two to three times the CPU. Removing each copy at its end instead gave
//  zmx files, whose set-up (a server that hashes the file) takes a second
//  or more, that penalty far more often than raw tcp and raw zmq.
static void
s_drop_previous (s_bench_t *self)
{
    if (!self->previous)
        return;
    char *command = zsys_sprintf ("rm -rf '%s'", self->previous);
    if (system (command) != 0)
        fprintf (stderr, "bench: could not remove %s\n", self->previous);
    zstr_free (&command);
    zstr_free (&self->previous);
}

static void
s_on_signal (int signum)
{
    s_interrupted = 1;
}

static void
s_sleep_ms (int msec)
{
    struct timespec ts = { msec / 1000, (long) (msec % 1000) * 1000000 };
    while (nanosleep (&ts, &ts) && errno == EINTR && !s_interrupted)
        ;
}

//  Median of the values >= 0; -1 if there are none. Sorts a copy.
static double
s_median (const double *values, int count)
{
    double kept [S_MAX_RUNS];
    int used = 0;
    for (int index = 0; index < count; index++)
        if (values [index] >= 0)
            kept [used++] = values [index];
    return bench_median (kept, used);
}

//  -------------------------------------------------------------------------
//  Files, ports and child processes

//  Write all of buffer to fd; 0 or -1.
static int
s_write_all (int fd, const void *buffer, size_t size)
{
    const char *data = (const char *) buffer;
    while (size > 0) {
        ssize_t written = write (fd, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return -1;
        data += written;
        size -= (size_t) written;
    }
    return 0;
}

//  Fill path with `size` bytes that do not compress or repeat by block:
//  a 4 MiB xorshift pattern, with each block's first word mixed with its
//  index. Every byte is written, so the file has no holes.
static int
s_make_data_file (const char *path, int64_t size)
{
    uint64_t *pattern = (uint64_t *) malloc (S_PATTERN_SIZE);
    if (!pattern)
        return -1;
    uint64_t state = 0x9E3779B97F4A7C15ull;
    for (size_t index = 0; index < S_PATTERN_SIZE / 8; index++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        pattern [index] = state;
    }
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int rc = fd < 0? -1: 0;
    for (int64_t done = 0, block = 0; rc == 0 && done < size; block++) {
        pattern [0] ^= (uint64_t) block * 0xBF58476D1CE4E5B9ull;
        size_t count = size - done < S_PATTERN_SIZE? (size_t) (size - done): S_PATTERN_SIZE;
        rc = s_write_all (fd, pattern, count);
        done += (int64_t) count;
    }
    //  On disk before anything is timed: writeback of this file while a
    //  copy runs would throttle that copy's writes
    if (fd >= 0 && (fsync (fd) || close (fd)))
        rc = -1;
    free (pattern);
    return rc;
}

static int64_t
s_file_size (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0? (int64_t) st.st_size: -1;
}

//  True if the two files have the same bytes.
static bool
s_files_equal (const char *path_a, const char *path_b)
{
    int fd_a = open (path_a, O_RDONLY), fd_b = open (path_b, O_RDONLY);
    char *buffer_a = (char *) malloc (S_IO_BUFFER), *buffer_b = (char *) malloc (S_IO_BUFFER);
    bool equal = fd_a >= 0 && fd_b >= 0 && buffer_a && buffer_b;
    while (equal) {
        ssize_t read_a = read (fd_a, buffer_a, S_IO_BUFFER);
        ssize_t read_b = read_a > 0? read (fd_b, buffer_b, (size_t) read_a): read (fd_b, buffer_b, 1);
        equal = read_a == read_b && read_a >= 0 && memcmp (buffer_a, buffer_b, (size_t) read_a) == 0;
        if (read_a <= 0)
            break;
    }
    if (fd_a >= 0)
        close (fd_a);
    if (fd_b >= 0)
        close (fd_b);
    free (buffer_a);
    free (buffer_b);
    return equal;
}

//  A socket connected to 127.0.0.1:port, or -1.
static int
s_connect (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons (port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    if (connect (fd, (struct sockaddr *) &address, sizeof address)) {
        close (fd);
        return -1;
    }
    return fd;
}

//  Fork a child that dies with this process. Returns what fork returns.
static pid_t
s_fork (void)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid == 0 && (prctl (PR_SET_PDEATHSIG, SIGKILL) || getppid () != parent))
        _exit (127);
    return pid;
}

//  Start argv [0] (a path) with stdout and stderr to log_path. Returns its
//  pid, or -1.
static pid_t
s_spawn (char *const argv [], const char *log_path)
{
    pid_t pid = s_fork ();
    if (pid != 0)
        return pid;
    //  Child: only async-signal-safe calls until exec
    int log_fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    int null_fd = open ("/dev/null", O_RDONLY);
    if (log_fd < 0 || null_fd < 0)
        _exit (127);
    dup2 (null_fd, STDIN_FILENO);
    dup2 (log_fd, STDOUT_FILENO);
    dup2 (log_fd, STDERR_FILENO);
    execv (argv [0], argv);
    _exit (127);
}

static double
s_usage_seconds (const struct rusage *usage)
{
    return usage->ru_utime.tv_sec + usage->ru_utime.tv_usec / 1e6
         + usage->ru_stime.tv_sec + usage->ru_stime.tv_usec / 1e6;
}

//  CPU seconds used so far by this process, all its threads.
static double
s_self_cpu (void)
{
    struct rusage usage;
    return getrusage (RUSAGE_SELF, &usage) == 0? s_usage_seconds (&usage): 0;
}

//  CPU seconds used so far by a running child (/proc, clock ticks), or -1.
static double
s_proc_cpu (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *file = fopen (path, "r");
    char line [1024];
    char *end = file && fgets (line, sizeof line, file)? strrchr (line, ')'): NULL;
    if (file)
        fclose (file);
    unsigned long user = 0, system = 0;
    //  After the command name: state, then fields 4..13, then utime, stime
    if (!end || sscanf (end + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
                        &user, &system) != 2)
        return -1;
    return (user + system) / (double) sysconf (_SC_CLK_TCK);
}

//  Wait up to timeout_ms for pid to exit. Returns its wait status, or -1
//  if it is still running. With usage, its CPU seconds once it exited.
static int
s_wait (pid_t pid, int timeout_ms, double *usage_p)
{
    int64_t deadline = bench_now_us () + (int64_t) timeout_ms * 1000;
    while (true) {
        int status = 0;
        struct rusage usage;
        pid_t reaped = wait4 (pid, &status, WNOHANG, &usage);
        if (reaped == pid && usage_p)
            *usage_p = s_usage_seconds (&usage);
        if (reaped == pid)
            return status;
        if (reaped < 0 && errno != EINTR)
            return -1;
        if (bench_now_us () >= deadline || s_interrupted)
            return -1;
        s_sleep_ms (2);
    }
}

//  SIGTERM, wait up to S_STOP_GRACE_MS, then SIGKILL; reaps the child and
//  zeroes *pid_p.
static void
s_stop (pid_t *pid_p)
{
    if (*pid_p <= 0)
        return;
    kill (*pid_p, SIGCONT);     //  a stopped child cannot act on SIGTERM
    kill (*pid_p, SIGTERM);
    if (s_wait (*pid_p, S_STOP_GRACE_MS, NULL) == -1) {
        kill (*pid_p, SIGKILL);
        waitpid (*pid_p, NULL, 0);
    }
    *pid_p = 0;
}

//  One "Key:   123 kB" value from /proc/PID/status, in MiB; -1 if absent.
static double
s_proc_mib (pid_t pid, const char *key)
{
    long kib = bench_proc_kib (pid, key);
    return kib < 0? -1: kib / 1024.0;
}

//  True once pid runs the zmx program (has done its exec).
static bool
s_is_zmx (pid_t pid)
{
    char path [64], name [32] = "";
    snprintf (path, sizeof path, "/proc/%d/comm", (int) pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    bool is_zmx = fgets (name, sizeof name, file) && streq (name, "zmx\n");
    fclose (file);
    return is_zmx;
}

//  -------------------------------------------------------------------------
//  raw tcp: read() a file into a loopback socket, write() it out again

//  Child: send the file to port, then exit.
static void
s_raw_tcp_sender (const char *path, int port)
{
    char *buffer = (char *) malloc (S_IO_BUFFER);
    int fd = open (path, O_RDONLY);
    int peer = s_connect (port);
    if (!buffer || fd < 0 || peer < 0)
        _exit (1);
    ssize_t count;
    while ((count = read (fd, buffer, S_IO_BUFFER)) > 0)
        if (s_write_all (peer, buffer, (size_t) count))
            _exit (1);
    _exit (count == 0 && close (peer) == 0? 0: 1);
}

//  Receive from `peer` into a new file at path until the sender closes.
//  Returns the bytes written, or -1.
static int64_t
s_receive_socket (int peer, const char *path)
{
    char *buffer = (char *) malloc (S_IO_BUFFER);
    int fd = open (path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int64_t total = buffer && fd >= 0? 0: -1;
    while (total >= 0 && !s_interrupted) {
        ssize_t count = read (peer, buffer, S_IO_BUFFER);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0) {
            total = count == 0? total: -1;
            break;
        }
        total = s_write_all (fd, buffer, (size_t) count)? -1: total + count;
    }
    if (fd >= 0 && close (fd))
        total = -1;
    free (buffer);
    return total;
}

//  One copy; returns MB/s or -1.
static double
s_run_raw_tcp (s_bench_t *self, const char *target)
{
    int listener = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = { .sin_family = AF_INET };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t length = sizeof address;
    if (listener < 0
    ||  bind (listener, (struct sockaddr *) &address, sizeof address)
    ||  getsockname (listener, (struct sockaddr *) &address, &length)
    ||  listen (listener, 1)) {
        fprintf (stderr, "bench: raw tcp: cannot listen: %s\n", strerror (errno));
        if (listener >= 0)
            close (listener);
        return -1;
    }
    //  accept() must not wait forever for a sender that failed
    struct timeval limit = { S_COPY_TIMEOUT_MS / 1000, 0 };
    setsockopt (listener, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    s_drop_previous (self);
    int64_t start = bench_now_us ();
    double cpu_start = s_self_cpu ();
    pid_t sender = s_fork ();
    if (sender == 0)
        s_raw_tcp_sender (self->source_path, ntohs (address.sin_port));
    int peer = sender > 0? accept (listener, NULL, NULL): -1;
    int64_t received = peer >= 0? s_receive_socket (peer, target): -1;
    int64_t elapsed = bench_now_us () - start;
    double sender_cpu = -1;
    self->last_cpu = s_self_cpu () - cpu_start;
    if (peer >= 0)
        close (peer);
    close (listener);
    int status = sender > 0? s_wait (sender, S_STOP_GRACE_MS, &sender_cpu): -1;
    self->last_cpu = sender_cpu >= 0? self->last_cpu + sender_cpu: -1;
    if (status == -1 && sender > 0)
        s_stop (&sender);
    if (received != self->size || status != 0) {
        fprintf (stderr, "bench: raw tcp: received %" PRId64 " of %" PRId64 " bytes\n",
                 received, self->size);
        return -1;
    }
    return self->size / (double) elapsed;      //  bytes per usec = MB/s
}

//  -------------------------------------------------------------------------
//  raw zmq: PUSH 256 KiB messages, PULL and write; an empty message ends

//  Child: bind a PUSH on port, send the file, then exit once all is sent
//  (the default infinite linger waits for the PULL side to take it).
static void
s_raw_zmq_sender (const char *path, int port)
{
    void *context = zmq_ctx_new ();
    void *push = context? zmq_socket (context, ZMQ_PUSH): NULL;
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    int fd = open (path, O_RDONLY);
    if (!push || fd < 0 || zmq_bind (push, endpoint))
        _exit (1);
    while (true) {
        zmq_msg_t msg;
        zmq_msg_init_size (&msg, S_ZMQ_CHUNK);
        ssize_t count = read (fd, zmq_msg_data (&msg), S_ZMQ_CHUNK);
        if (count < 0)
            _exit (1);
        if (count < S_ZMQ_CHUNK) {
            //  Short or empty last read: send what came, then the end mark
            if (count > 0 && zmq_send (push, zmq_msg_data (&msg), (size_t) count, 0) < 0)
                _exit (1);
            zmq_msg_close (&msg);
            break;
        }
        if (zmq_msg_send (&msg, push, 0) < 0)
            _exit (1);
    }
    if (zmq_send (push, "", 0, 0) < 0)
        _exit (1);
    zmq_close (push);
    zmq_ctx_term (context);
    _exit (0);
}

//  One copy; returns MB/s or -1.
static double
s_run_raw_zmq (s_bench_t *self, const char *target)
{
    int port = bench_free_port ();
    s_drop_previous (self);
    int64_t start = bench_now_us ();
    double cpu_start = s_self_cpu ();
    //  Fork before this process has a context: the child makes its own
    pid_t sender = port > 0? s_fork (): -1;
    if (sender == 0)
        s_raw_zmq_sender (self->source_path, port);
    void *context = zmq_ctx_new ();
    void *pull = zmq_socket (context, ZMQ_PULL);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", port);
    int timeout = S_COPY_TIMEOUT_MS;
    zmq_setsockopt (pull, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    //  The sender may not have bound yet: retry soon, not after 100 ms
    int reconnect = 5;
    zmq_setsockopt (pull, ZMQ_RECONNECT_IVL, &reconnect, sizeof reconnect);
    int fd = open (target, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int64_t received = sender > 0 && fd >= 0 && zmq_connect (pull, endpoint) == 0? 0: -1;
    zmq_msg_t msg;
    zmq_msg_init (&msg);
    while (received >= 0 && !s_interrupted) {
        if (zmq_msg_recv (&msg, pull, 0) < 0) {
            if (errno == EINTR)
                continue;
            received = -1;
            break;
        }
        size_t size = zmq_msg_size (&msg);
        if (size == 0)
            break;
        received = s_write_all (fd, zmq_msg_data (&msg), size)? -1: received + (int64_t) size;
    }
    zmq_msg_close (&msg);
    if (fd >= 0 && close (fd))
        received = -1;
    int64_t elapsed = bench_now_us () - start;
    int linger = 0;
    zmq_setsockopt (pull, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close (pull);
    zmq_ctx_term (context);
    //  Includes this process's libzmq I/O thread, joined by now
    double sender_cpu = -1;
    self->last_cpu = s_self_cpu () - cpu_start;
    int status = sender > 0? s_wait (sender, S_STOP_GRACE_MS, &sender_cpu): -1;
    self->last_cpu = sender_cpu >= 0? self->last_cpu + sender_cpu: -1;
    if (status == -1 && sender > 0)
        s_stop (&sender);
    if (received != self->size || status != 0) {
        fprintf (stderr, "bench: raw zmq: received %" PRId64 " of %" PRId64 " bytes\n",
                 received, self->size);
        return -1;
    }
    return self->size / (double) elapsed;
}

//  -------------------------------------------------------------------------
//  zmx files: `zmx files serve` and `zmx files sync`, each its own process

//  True once `text` is in the file at path, polled until timeout_ms or
//  until pid exits.
static bool
s_wait_for_text (const char *path, const char *text, pid_t pid, int timeout_ms)
{
    int64_t deadline = bench_now_us () + (int64_t) timeout_ms * 1000;
    char line [512];
    while (bench_now_us () < deadline && !s_interrupted) {
        FILE *file = fopen (path, "r");
        bool found = false;
        while (file && !found && fgets (line, sizeof line, file))
            found = strstr (line, text) != NULL;
        if (file)
            fclose (file);
        if (found)
            return true;
        if (waitpid (pid, NULL, WNOHANG) == pid)
            return false;
        s_sleep_ms (10);
    }
    return false;
}

//  Start `zmx files serve source_dir` on a free port and wait for its
//  "serving" line, which it prints once every file is hashed (before
//  that it would not answer). Fills endpoint and returns the pid, or -1
//  (log printed).
static pid_t
s_zmx_serve (s_bench_t *self, char *endpoint, size_t endpoint_size)
{
    int port = bench_free_port ();
    snprintf (endpoint, endpoint_size, "tcp://127.0.0.1:%d", port);
    char *log_path = zsys_sprintf ("%s/serve.log", self->dir);
    char *argv [] = { self->zmx_path, "files", "serve", self->source_dir, "-e", endpoint, NULL };
    unlink (log_path);
    pid_t pid = port > 0? s_spawn (argv, log_path): -1;
    if (pid > 0 && !s_wait_for_text (log_path, "zmx files: serving", pid, S_START_TIMEOUT_MS)) {
        fprintf (stderr, "bench: zmx files serve on port %d did not get ready\n", port);
        s_stop (&pid);
        bench_print_log (log_path, 40);
        pid = -1;
    }
    zstr_free (&log_path);
    return pid;
}

//  Start `zmx files sync endpoint / target_dir` (stdout to the sync log,
//  not a terminal: plain lines). Returns the pid or -1.
static pid_t
s_zmx_sync (s_bench_t *self, const char *endpoint, const char *target_dir,
            const char *log_name)
{
    char *log_path = zsys_sprintf ("%s/%s", self->dir, log_name);
    char *argv [] = { self->zmx_path, "files", "sync", "-e", (char *) endpoint, "/",
                      (char *) target_dir, NULL };
    pid_t pid = s_spawn (argv, log_path);
    zstr_free (&log_path);
    return pid;
}

//  Bytes a sync wrote into target: the finished copy plus its partial
//  files (zmx files client keeps those in .zmx-partial until complete).
static int64_t
s_mirror_bytes (const char *target)
{
    char *copy = zsys_sprintf ("%s/big.bin", target);
    int64_t size = s_file_size (copy);
    int64_t total = size > 0? size: 0;
    zstr_free (&copy);
    char *partials = zsys_sprintf ("%s/.zmx-partial", target);
    DIR *dir = opendir (partials);
    struct dirent *entry;
    while (dir && (entry = readdir (dir))) {
        char *path = zsys_sprintf ("%s/%s", partials, entry->d_name);
        size = entry->d_name [0] == '.'? 0: s_file_size (path);
        total += size > 0? size: 0;
        zstr_free (&path);
    }
    if (dir)
        closedir (dir);
    zstr_free (&partials);
    return total;
}

//  Wait up to S_COPY_TIMEOUT_MS for the sync to exit; returns its wait
//  status or -1, and in *peak_mib its VmHWM as last read before it
//  exited, in *cpu_p its CPU seconds. Not ru_maxrss from wait4: that keeps the high mark of the
//  forked copy of this process from before the exec.
static int
s_wait_sync (pid_t pid, double *peak_mib, double *cpu_p)
{
    int64_t deadline = bench_now_us () + (int64_t) S_COPY_TIMEOUT_MS * 1000;
    while (!s_interrupted && bench_now_us () < deadline) {
        //  Until the exec, the child is a copy of this process, with its RSS
        double hwm = s_is_zmx (pid)? s_proc_mib (pid, "VmHWM:"): -1;
        if (hwm > *peak_mib)
            *peak_mib = hwm;
        int status = s_wait (pid, 0, cpu_p);
        if (status != -1)
            return status;
        s_sleep_ms (5);
    }
    return -1;
}

//  One copy through a fresh server; returns MB/s or -1. Records the peak
//  RSS of both processes.
static double
s_run_zmx (s_bench_t *self, const char *target_dir, bool verify)
{
    char endpoint [64];
    pid_t server = s_zmx_serve (self, endpoint, sizeof endpoint);
    if (server <= 0)
        return -1;
    double idle = s_proc_mib (server, "VmHWM:");
    if (idle > self->server_idle_mib)
        self->server_idle_mib = idle;
    //  The server's CPU before: its start-up hash is not part of the copy
    double server_cpu = s_proc_cpu (server);
    s_drop_previous (self);
    int64_t start = bench_now_us ();
    pid_t sync = s_zmx_sync (self, endpoint, target_dir, "sync.log");
    double receiver_mib = -1, receiver_cpu = -1;
    int status = sync > 0? s_wait_sync (sync, &receiver_mib, &receiver_cpu): -1;
    int64_t elapsed = bench_now_us () - start;
    double server_mib = s_proc_mib (server, "VmHWM:");
    double server_end = s_proc_cpu (server);
    self->last_cpu = server_cpu >= 0 && server_end >= 0 && receiver_cpu >= 0
                   ? server_end - server_cpu + receiver_cpu: -1;
    if (status == -1 && sync > 0)
        s_stop (&sync);
    s_stop (&server);
    char *copy = zsys_sprintf ("%s/big.bin", target_dir);
    int64_t received = s_file_size (copy);
    bool good = status == 0 && received == self->size
             && (!verify || s_files_equal (self->source_path, copy));
    zstr_free (&copy);
    if (!good) {
        fprintf (stderr, "bench: zmx files: sync %s (status %d), copy has %" PRId64
                 " of %" PRId64 " bytes%s\n", status == -1? "did not finish": "ended",
                 status, received, self->size, verify? " or differs": "");
        char *log_path = zsys_sprintf ("%s/sync.log", self->dir);
        bench_print_log (log_path, 40);
        zstr_free (&log_path);
        return -1;
    }
    if (server_mib > self->server_mib)
        self->server_mib = server_mib;
    if (receiver_mib > self->receiver_mib)
        self->receiver_mib = receiver_mib;
    fprintf (stderr, "    zmx files: %.2f s; CPU server %.2f s, receiver %.2f s; "
             "peak RSS server %.1f MiB, receiver %.1f MiB\n", elapsed / 1e6,
             server_end - server_cpu, receiver_cpu, server_mib, receiver_mib);
    return self->size / (double) elapsed;
}

//  -------------------------------------------------------------------------
//  50 slow clients on one server

//  Let every client run for a short slice, then stop them all again.
static void
s_slow_cycle (pid_t *clients, int count)
{
    for (int index = 0; index < count; index++)
        if (clients [index] > 0)
            kill (clients [index], SIGCONT);
    s_sleep_ms (S_SLOW_RUN_MS);
    for (int index = 0; index < count; index++)
        if (clients [index] > 0)
            kill (clients [index], SIGSTOP);
    s_sleep_ms (S_SLOW_STOP_MS);
}

static void
s_run_slow (s_bench_t *self)
{
    char endpoint [64];
    pid_t server = s_zmx_serve (self, endpoint, sizeof endpoint);
    if (server <= 0) {
        self->failures++;
        return;
    }
    pid_t clients [S_MAX_CLIENTS] = { 0 };
    for (int index = 0; index < self->clients; index++) {
        char *target = zsys_sprintf ("%s/slow-%d", self->dir, index);
        mkdir (target, 0755);
        clients [index] = s_zmx_sync (self, endpoint, target, "slow.log");
        zstr_free (&target);
    }
    //  Let them connect, subscribe and grant credit, then throttle
    s_sleep_ms (S_SLOW_WARM_MS);
    for (int index = 0; index < self->clients; index++)
        if (clients [index] > 0)
            kill (clients [index], SIGSTOP);
    for (int cycle = 0; cycle < S_SLOW_CYCLES && !s_interrupted; cycle++)
        s_slow_cycle (clients, self->clients);
    //  All clients are subscribed and behind: this is the server's peak
    self->slow_mib = s_proc_mib (server, "VmHWM:");
    int64_t received = 0;
    for (int index = 0; index < self->clients; index++) {
        if (clients [index] > 0) {
            kill (clients [index], SIGKILL);
            waitpid (clients [index], NULL, 0);
        }
        char *target = zsys_sprintf ("%s/slow-%d", self->dir, index);
        received += s_mirror_bytes (target);
        zstr_free (&target);
    }
    s_stop (&server);
    printf ("slow clients: %d clients received %.1f MB in all (%.1f s unthrottled, then "
            "%d slices of %d ms every %d ms)\n", self->clients, received / 1e6,
            S_SLOW_WARM_MS / 1000.0, S_SLOW_CYCLES, S_SLOW_RUN_MS,
            S_SLOW_RUN_MS + S_SLOW_STOP_MS);
    if (self->slow_mib < 0)
        self->failures++;
}

//  -------------------------------------------------------------------------
//  Set-up, the run, the table

static void
s_usage (FILE *stream)
{
    fprintf (stream,
        "usage: bench_files [--size MIB] [--runs N] [--clients N] [--copies DIR] [--quick]\n"
        "\n"
        "Copy one file over tcp://127.0.0.1 with a raw TCP copy, a raw libzmq\n"
        "PUSH/PULL stream and zmx files; print MB/s, ratios and peak RSS.\n"
        "\n"
        "  --size MIB    size of the test file (default 1024)\n"
        "  --runs N      copies per system, 1..%d (default 3); medians shown\n"
        "  --clients N   slow clients for the memory point, 0..%d (default 50)\n"
        "  --copies DIR  write the copies under DIR, e.g. /dev/shm to leave the\n"
        "                disk out (default: the private directory in /tmp)\n"
        "  --quick       smoke run: 64 MiB, 1 run, 10 slow clients\n",
        S_MAX_RUNS, S_MAX_CLIENTS);
}

//  Parse the arguments; returns 0, or the exit code to stop with.
static int
s_parse (s_bench_t *self, int argc, char *argv [])
{
    for (int index = 1; index < argc; index++) {
        const char *arg = argv [index];
        const char *value = index + 1 < argc? argv [index + 1]: NULL;
        if (streq (arg, "--help") || streq (arg, "-h")) {
            s_usage (stdout);
            return -1;
        }
        if (streq (arg, "--quick")) {
            self->size = 64 << 20;
            self->runs = 1;
            self->clients = 10;
            continue;
        }
        long number = value? strtol (value, NULL, 10): -1;
        if (streq (arg, "--size") && number >= 1 && number <= 65536)
            self->size = (int64_t) number << 20;
        else
        if (streq (arg, "--runs") && number >= 1 && number <= S_MAX_RUNS)
            self->runs = (int) number;
        else
        if (streq (arg, "--clients") && number >= 0 && number <= S_MAX_CLIENTS)
            self->clients = (int) number;
        else
        if (streq (arg, "--copies") && value)
            self->copies_option = value;
        else {
            fprintf (stderr, "bench_files: bad argument '%s'\n", arg);
            s_usage (stderr);
            return 2;
        }
        index++;
    }
    return 0;
}

//  The private directory, the data file, and the path of zmx. Returns 0
//  or -1 (message printed).
static int
s_setup (s_bench_t *self, const char *argv0)
{
    char template [] = "/tmp/zmx-bench-files-XXXXXX";
    if (!mkdtemp (template)) {
        fprintf (stderr, "bench: cannot create a directory in /tmp: %s\n", strerror (errno));
        return -1;
    }
    self->dir = strdup (template);
    if (self->copies_option) {
        self->copies_dir = zsys_sprintf ("%s/zmx-bench-files-XXXXXX", self->copies_option);
        if (!mkdtemp (self->copies_dir)) {
            fprintf (stderr, "bench: cannot create a directory in %s: %s\n",
                     self->copies_option, strerror (errno));
            return -1;
        }
    }
    else
        self->copies_dir = strdup (self->dir);
    self->source_dir = zsys_sprintf ("%s/src", self->dir);
    self->source_path = zsys_sprintf ("%s/big.bin", self->source_dir);
    char *slash = strrchr (argv0, '/');
    self->zmx_path = slash? zsys_sprintf ("%.*s/zmx", (int) (slash - argv0), argv0):
                            strdup ("./zmx");
    if (access (self->zmx_path, X_OK)) {
        fprintf (stderr, "bench: %s not found: build the zmx target first\n", self->zmx_path);
        return -1;
    }
    int64_t start = bench_now_us ();
    if (mkdir (self->source_dir, 0755) || s_make_data_file (self->source_path, self->size)) {
        fprintf (stderr, "bench: cannot write %" PRId64 " bytes to %s: %s (check df /tmp)\n",
                 self->size, self->source_path, strerror (errno));
        return -1;
    }
    printf ("data file: %s, %" PRId64 " bytes, written in %.1f s\n", self->source_path,
            self->size, (bench_now_us () - start) / 1e6);
    return 0;
}

static void
s_cleanup (s_bench_t *self)
{
    s_drop_previous (self);
    if (self->copies_dir && !streq (self->copies_dir, self->dir ? self->dir: "")) {
        char *command = zsys_sprintf ("rm -rf '%s'", self->copies_dir);
        if (system (command) != 0)
            fprintf (stderr, "bench: could not remove %s\n", self->copies_dir);
        zstr_free (&command);
    }
    free (self->copies_dir);
    if (self->dir && self->failures == 0) {
        char *command = zsys_sprintf ("rm -rf '%s'", self->dir);
        if (system (command) != 0)
            fprintf (stderr, "bench: could not remove %s\n", self->dir);
        zstr_free (&command);
    }
    else
    if (self->dir)
        fprintf (stderr, "bench: logs and data kept in %s\n", self->dir);
    free (self->dir);
    zstr_free (&self->source_dir);
    zstr_free (&self->source_path);
    free (self->zmx_path);
}

//  One copy by one system into a fresh target; the target is removed
//  when the next copy starts (s_drop_previous), so that the disk and page
//  cache hold at most two copies at a time. run -1 is the warm-up: not
//  recorded.
static void
s_run_one (s_bench_t *self, s_system_t which, int run)
{
    char *target_dir = zsys_sprintf ("%s/dst-%d", self->copies_dir, self->copies++);
    char *target = zsys_sprintf ("%s/big.bin", target_dir);
    mkdir (target_dir, 0755);
    double rate = which == S_RAW_TCP? s_run_raw_tcp (self, target):
                  which == S_RAW_ZMQ? s_run_raw_zmq (self, target):
                                       s_run_zmx (self, target_dir, run == 0);
    if (run >= 0) {
        self->rates [which][run] = rate;
        self->cpus [which][run] = rate < 0? -1: self->last_cpu;
    }
    if (rate < 0)
        self->failures++;
    if (run >= 0)
        fprintf (stderr, "run %d %-10s %8.1f MB/s, CPU %.2f s\n", run + 1,
                 s_system_names [which], rate, self->last_cpu);
    else
        fprintf (stderr, "warm-up %-10s %8.1f MB/s\n", s_system_names [which], rate);
    //  Whole tree, later: the zmx client also leaves its .zmx-partial
    //  directory; each copy has its own, so no partial is ever resumed
    s_drop_previous (self);
    self->previous = target_dir;
    zstr_free (&target);
}

//  CPU seconds that the XXH3-128 of the data file costs (the digest a
//  zmx files client checks), hashing only: the CPU of
//  zmx_files_digest_xxh128 (read and hash) less that of reading alone.
static void
s_run_digest (s_bench_t *self, int run)
{
    double start = s_self_cpu ();
    int fd = open (self->source_path, O_RDONLY);
    char *buffer = (char *) malloc (S_IO_BUFFER);
    while (fd >= 0 && buffer && read (fd, buffer, S_IO_BUFFER) > 0)
        ;
    free (buffer);
    if (fd >= 0)
        close (fd);
    double reading = s_self_cpu () - start;
    char hex [41];
    start = s_self_cpu ();
    int rc = zmx_files_digest_xxh128 (self->source_path, hex);
    double digest = s_self_cpu () - start;
    self->digest_cpus [run] = rc == ZMX_OK && fd >= 0? digest - reading: -1;
    fprintf (stderr, "run %d xxh3-128 of the file: %.2f s CPU (read %.2f s, read and hash "
             "%.2f s)\n",
             run + 1, self->digest_cpus [run], reading, digest);
}

//  The best ratio to raw tcp that a copy which hashes every byte on the
//  receiver can reach here: it does the raw tcp copy's work plus the
//  hash, on `cores` CPUs, and the hash itself is one sequential stream.
static void
s_print_ceiling (s_bench_t *self, double raw_rate)
{
    double raw_cpu = s_median (self->cpus [S_RAW_TCP], self->runs);
    double hash_cpu = s_median (self->digest_cpus, self->runs);
    long cores = sysconf (_SC_NPROCESSORS_ONLN);
    if (raw_rate <= 0 || raw_cpu < 0 || hash_cpu < 0 || cores < 1)
        return;
    double raw_wall = self->size / raw_rate / 1e6;
    double floor = (raw_cpu + hash_cpu) / cores;
    if (floor < hash_cpu)
        floor = hash_cpu;
    if (floor < raw_wall)
        floor = raw_wall;
    printf ("\nceiling for a copy that hashes every byte on the receiver:\n"
            "  raw tcp CPU %.2f s + XXH3-128 CPU %.2f s over %ld core%s >= %.2f s, "
            "raw tcp %.2f s: at most %.0f %% of raw tcp\n", raw_cpu, hash_cpu, cores,
            cores == 1? "": "s", floor, raw_wall, 100 * raw_wall / floor);
}

static const char *
s_verdict (bool measured, bool met)
{
    return !measured? "n/a": met? "met": "MISSED";
}

static void
s_print_results (s_bench_t *self)
{
    double medians [S_SYSTEMS];
    for (int system = 0; system < S_SYSTEMS; system++)
        medians [system] = s_median (self->rates [system], self->runs);
    double raw = medians [S_RAW_TCP];
    printf ("\n%" PRId64 " MiB over tcp://127.0.0.1, median of %d run%s\n",
            self->size >> 20, self->runs, self->runs > 1? "s": "");
    printf ("%-10s %10s %10s %10s\n", "system", "MB/s", "vs tcp", "CPU s");
    for (int system = 0; system < S_SYSTEMS; system++) {
        double cpu = s_median (self->cpus [system], self->runs);
        char cpu_text [32] = "-";
        if (cpu >= 0)
            snprintf (cpu_text, sizeof cpu_text, "%.2f", cpu);
        if (medians [system] < 0)
            printf ("%-10s %10s %10s %10s\n", s_system_names [system], "-", "-", "-");
        else
        if (raw > 0)
            printf ("%-10s %10.1f %10.2f %10s\n", s_system_names [system], medians [system],
                    medians [system] / raw, cpu_text);
        else
            printf ("%-10s %10.1f %10s %10s\n", s_system_names [system], medians [system],
                    "-", cpu_text);
    }
    printf ("(CPU s: user + system seconds of the sender and receiver processes, "
            "median)\n");
    s_print_ceiling (self, raw);
    printf ("copies written to %s\n", self->copies_dir);
    printf ("\npeak RSS (MiB)\n");
    printf ("zmx files serve, idle               %8.1f\n", self->server_idle_mib);
    printf ("zmx files serve, %4" PRId64 " MiB copy       %8.1f\n", self->size >> 20,
            self->server_mib);
    printf ("zmx files sync (receiver)           %8.1f\n", self->receiver_mib);
    if (self->want_slow)
        printf ("zmx files serve, %3d slow clients   %8.1f\n", self->clients, self->slow_mib);

    double zmx = medians [S_ZMX];
    bool ratio_ok = raw > 0 && zmx > 0;
    printf ("\nTargets\n");
    printf ("  zmx files >= %.0f %% of raw tcp:     %s (%.0f %%)\n", S_TARGET_RATIO * 100,
            s_verdict (ratio_ok, ratio_ok && zmx >= S_TARGET_RATIO * raw),
            ratio_ok? 100 * zmx / raw: 0.0);
    printf ("  server peak RSS < %.0f MiB:          %s\n", S_TARGET_RSS_MIB,
            s_verdict (self->server_mib > 0, self->server_mib < S_TARGET_RSS_MIB));
    printf ("  receiver peak RSS < %.0f MiB:        %s\n", S_TARGET_RSS_MIB,
            s_verdict (self->receiver_mib > 0, self->receiver_mib < S_TARGET_RSS_MIB));
    printf ("  server with slow clients < %.0f MiB: %s\n", S_TARGET_SLOW_MIB,
            s_verdict (self->want_slow && self->slow_mib > 0,
                       self->slow_mib < S_TARGET_SLOW_MIB));
}

int
main (int argc, char *argv [])
{
    setvbuf (stdout, NULL, _IOLBF, 0);
    s_bench_t self = { .size = (int64_t) 1 << 30, .runs = 3, .clients = 50 };
    int rc = s_parse (&self, argc, argv);
    if (rc)
        return rc < 0? 0: rc;
    self.want_slow = self.clients > 0;
    signal (SIGINT, s_on_signal);
    signal (SIGTERM, s_on_signal);
    signal (SIGPIPE, SIG_IGN);
    int64_t start = bench_now_us ();
    if (s_setup (&self, argv [0])) {
        self.failures++;
        s_cleanup (&self);
        return 1;
    }
    //  One unmeasured copy first: on a VM, the first touch of fresh memory
    //  (page cache for the first copy) is far slower than reusing it, and
    //  would penalise whichever system ran first
    s_run_one (&self, S_RAW_TCP, -1);
    for (int run = 0; run < self.runs && !s_interrupted; run++) {
        for (int system = 0; system < S_SYSTEMS && !s_interrupted; system++)
            s_run_one (&self, (s_system_t) system, run);
        s_run_digest (&self, run);
    }
    s_drop_previous (&self);
    if (self.want_slow && !s_interrupted)
        s_run_slow (&self);
    s_print_results (&self);
    printf ("\nbench_files: %.0f s, %d failed point%s\n", (bench_now_us () - start) / 1e6,
            self.failures, self.failures == 1? "": "s");
    rc = self.failures || s_interrupted? 1: 0;
    s_cleanup (&self);
    return rc;
}
