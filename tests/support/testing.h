/*  =========================================================================
    testing - the harness every tests/test_*.c uses

    A test file lists named cases and calls zmx_test_main:

        static void s_echo_works (void) { ZMX_CHECK (1 + 1 == 2); }
        int main (int argc, char *argv []) {
            zmx_test_t cases [] = { { "echo_works", s_echo_works, 10 } };
            return zmx_test_main (argc, argv, cases, ZMX_TEST_COUNT (cases));
        }

    Each case runs in its own forked child with a time limit (seconds), so a
    crash or a hang fails that case only. "test_x NAME" runs one case.
    Closing line: "N passed, N failed".
    =========================================================================
*/
#ifndef ZMX_TESTING_H_INCLUDED
#define ZMX_TESTING_H_INCLUDED

#include "zmx_classes.h"
#include <sys/types.h>

typedef struct {
    const char *name;
    void (*run) (void);
    int limit_s;                //  seconds before the case is killed
} zmx_test_t;

#define ZMX_TEST_COUNT(cases) (sizeof (cases) / sizeof ((cases) [0]))

//  Fail the current case, printing where and what.
#define ZMX_CHECK(condition) \
    do { if (!(condition)) zmx_test_fail (__FILE__, __LINE__, #condition); } while (0)
#define ZMX_CHECK_STR(actual, expected) \
    do { const char *a_ = (actual), *e_ = (expected); \
         if (!a_ || strcmp (a_, e_) != 0) zmx_test_fail_str (__FILE__, __LINE__, a_, e_); } while (0)

void zmx_test_fail (const char *file, int line, const char *what) __attribute__ ((noreturn));
void zmx_test_fail_str (const char *file, int line, const char *actual, const char *expected)
    __attribute__ ((noreturn));

int zmx_test_main (int argc, char *argv [], const zmx_test_t *cases, size_t count);

//  A TCP port on 127.0.0.1 that was free a moment ago (bound and released).
int zmx_test_free_port (void);

//  "tcp://127.0.0.1:PORT" for a free port; caller frees.
char *zmx_test_free_endpoint (void);

//  A fresh private directory under /tmp; caller frees the path (the
//  directory is removed by zmx_test_rmdir).
char *zmx_test_tmpdir (void);
void zmx_test_rmdir (const char *path);

//  Path of a built program, e.g. zmx_test_bin ("zmxd"). Caller frees.
char *zmx_test_bin (const char *program);

//  Write `text` to `path`; 0 on success.
int zmx_test_write_file (const char *path, const char *text);

//  Start a program (argv [0] is a path) with stdout/stderr to this
//  process's, or to `log_path` if not NULL. Returns its pid.
pid_t zmx_test_spawn (char *const argv [], const char *log_path);

//  Wait up to timeout_ms for pid to exit; returns its wait status, or -1
//  if it is still running.
int zmx_test_wait (pid_t pid, int timeout_ms);

//  SIGTERM then, after grace_ms, SIGKILL; reaps the child.
void zmx_test_stop (pid_t pid, int grace_ms);

//  Run a program to completion (killed after timeout_ms), feeding `input`
//  (may be NULL) on stdin; returns its exit code (-1 if killed or failed to
//  run) and its stdout in *output_p (caller frees; may be NULL).
int zmx_test_run (char *const argv [], const char *input, int timeout_ms, char **output_p);

//  Wait until something accepts TCP connections on 127.0.0.1:port; true
//  if it did within timeout_ms.
bool zmx_test_wait_port (int port, int timeout_ms);

#endif
