/*  =========================================================================
    netns - private networks for multi-host tests, made of network namespaces

    Every change goes through iproute2's `ip`, run without a shell; a host
    namespace is entered with setns() on its /var/run/netns file.
    =========================================================================
*/
#define _GNU_SOURCE
#include "netns.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define S_NETNS_DIR     "/var/run/netns"
#define S_PREFIX        "zmxt"          //  Every name we make starts so
#define S_NAME_MAX      64
#define S_IP_ARGS       24
#define S_IP_MSEC       10000           //  One `ip` command, at most

struct _zmx_netns_t {
    size_t count;                       //  Host namespaces
    char prefix [S_NAME_MAX - 8];       //  "zmxt<P>-<C>-<K>-"
    char bridge [S_NAME_MAX];           //  Bridge namespace name
    char names [ZMX_NETNS_MAX][S_NAME_MAX];
    char addresses [ZMX_NETNS_MAX][16];
    char broadcast [16];
    bool made [ZMX_NETNS_MAX + 1];      //  Which namespaces exist (last: bridge)
};

//  The test program's main process: its pid goes into every name, and it
//  alone removes leftovers at exit. Set before main runs.
static pid_t s_owner;
static unsigned s_sets;                 //  Sets made by this process

static int64_t
s_now_ms (void)
{
    struct timespec now;
    clock_gettime (CLOCK_MONOTONIC, &now);
    return (int64_t) now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static const char *
s_ip_path (void)
{
    static const char *candidates [] = {
        "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip", NULL
    };
    for (const char **path = candidates; *path; path++)
        if (access (*path, X_OK) == 0)
            return *path;
    return NULL;
}

bool
zmx_netns_available (void)
{
    return geteuid () == 0 && s_ip_path () != NULL;
}

//  Wait for a child until the deadline; SIGKILL it then. Returns its wait
//  status, or -1 if it had to be killed.
static int
s_wait_child (pid_t pid, int timeout_ms)
{
    int64_t deadline = s_now_ms () + timeout_ms;
    while (true) {
        int status;
        pid_t done = waitpid (pid, &status, WNOHANG);
        if (done == pid)
            return status;
        if (done < 0)
            return -1;
        if (s_now_ms () >= deadline) {
            kill (pid, SIGKILL);
            waitpid (pid, &status, 0);
            return -1;
        }
        usleep (1000);
    }
}

//  Run `ip` with the arguments in `format` (split at spaces; no argument
//  has one). Returns 0, or -1 after printing the command that failed (ip
//  prints its own reason on stderr) unless `quiet`.
static int
s_ip (bool quiet, const char *format, ...)
{
    char line [512];
    va_list args;
    va_start (args, format);
    vsnprintf (line, sizeof line, format, args);
    va_end (args);
    char copy [512];
    memcpy (copy, line, sizeof copy);
    char *argv [S_IP_ARGS + 2] = { (char *) "ip" };
    int argc = 1;
    for (char *token = strtok (copy, " "); token && argc <= S_IP_ARGS;
         token = strtok (NULL, " "))
        argv [argc++] = token;
    argv [argc] = NULL;

    const char *path = s_ip_path ();
    pid_t pid = path? fork (): -1;
    if (pid == 0) {
        int null = open ("/dev/null", O_WRONLY);
        dup2 (null, 1);
        if (quiet)
            dup2 (null, 2);
        execv (path, argv);
        _exit (127);
    }
    int status = pid > 0? s_wait_child (pid, S_IP_MSEC): -1;
    bool ok = status != -1 && WIFEXITED (status) && WEXITSTATUS (status) == 0;
    if (!ok && !quiet)
        fprintf (stderr, "netns: 'ip %s' failed\n", line);
    return ok? 0: -1;
}

//  True if a namespace name was made by a program that is no longer
//  running, or by this program (when `own`).
static bool
s_name_removable (const char *name, bool own)
{
    long pid;
    char dash;
    if (strncmp (name, S_PREFIX, strlen (S_PREFIX)) != 0
    ||  sscanf (name + strlen (S_PREFIX), "%ld%c", &pid, &dash) != 2 || dash != '-'
    ||  pid <= 0)
        return false;
    if (own && pid == (long) s_owner)
        return true;
    return kill ((pid_t) pid, 0) != 0 && errno == ESRCH;
}

//  Delete the namespaces of this program, and those left by programs
//  that have ended.
static void
s_remove_leftovers (bool own)
{
    DIR *dir = opendir (S_NETNS_DIR);
    if (!dir)
        return;
    char names [256][S_NAME_MAX];
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir (dir)) && count < 256)
        if (strlen (entry->d_name) < S_NAME_MAX && s_name_removable (entry->d_name, own))
            snprintf (names [count++], S_NAME_MAX, "%.*s", S_NAME_MAX - 1, entry->d_name);
    closedir (dir);
    //  Hosts first: their veths go with them, then the bridge is empty
    for (int pass = 0; pass < 2; pass++)
        for (size_t index = 0; index < count; index++) {
            bool bridge = strstr (names [index], "-br") != NULL;
            if (bridge == (pass == 1))
                s_ip (true, "netns del %s", names [index]);
        }
}

void
zmx_netns_cleanup (void)
{
    if (getpid () == s_owner && zmx_netns_available ())
        s_remove_leftovers (true);
}

static void
s_at_exit (void)
{
    zmx_netns_cleanup ();
}

//  Runs when the program starts, in the process that will fork the cases.
__attribute__ ((constructor)) static void
s_module_init (void)
{
    s_owner = getpid ();
    if (zmx_netns_available ()) {
        s_remove_leftovers (false);
        atexit (s_at_exit);
    }
}

//  Make one host namespace with its half of the LAN. Returns 0 or -1.
static int
s_host_new (zmx_netns_t *self, size_t index)
{
    const char *name = self->names [index];
    if (s_ip (false, "netns add %s", name))
        return -1;
    self->made [index] = true;
    if (s_ip (false, "-n %s link set lo up", name)
    ||  s_ip (false, "-n %s link add %s type veth peer name p%zu netns %s", name,
              ZMX_NETNS_IFACE, index, self->bridge)
    ||  s_ip (false, "-n %s link set p%zu master br0", self->bridge, index)
    ||  s_ip (false, "-n %s link set p%zu up", self->bridge, index)
    ||  s_ip (false, "-n %s addr add %s/24 brd + dev %s", name, self->addresses [index],
              ZMX_NETNS_IFACE)
    ||  s_ip (false, "-n %s link set %s up", name, ZMX_NETNS_IFACE))
        return -1;
    return 0;
}

zmx_netns_t *
zmx_netns_new (size_t count)
{
    if (count < 1 || count > ZMX_NETNS_MAX || !zmx_netns_available ())
        return NULL;
    zmx_netns_t *self = (zmx_netns_t *) calloc (1, sizeof (zmx_netns_t));
    if (!self)
        return NULL;
    self->count = count;
    snprintf (self->prefix, sizeof self->prefix, S_PREFIX "%ld-%ld-%u-",
              (long) s_owner, (long) getpid (), s_sets++);
    snprintf (self->bridge, sizeof self->bridge, "%sbr", self->prefix);
    snprintf (self->broadcast, sizeof self->broadcast, "%s.255", ZMX_NETNS_SUBNET);
    for (size_t index = 0; index < count; index++) {
        snprintf (self->names [index], S_NAME_MAX, "%s%zu", self->prefix, index);
        snprintf (self->addresses [index], 16, "%s.%zu", ZMX_NETNS_SUBNET, index + 1);
    }
    //  The bridge has no STP, so its ports forward as soon as they are up
    int rc = s_ip (false, "netns add %s", self->bridge);
    if (rc == 0) {
        self->made [ZMX_NETNS_MAX] = true;
        rc = s_ip (false, "-n %s link add br0 type bridge", self->bridge);
    }
    if (rc == 0)
        rc = s_ip (false, "-n %s link set br0 up", self->bridge);
    for (size_t index = 0; rc == 0 && index < count; index++)
        rc = s_host_new (self, index);
    if (rc)
        zmx_netns_destroy (&self);
    return self;
}

void
zmx_netns_destroy (zmx_netns_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zmx_netns_t *self = *self_p;
    for (size_t index = 0; index < self->count; index++)
        if (self->made [index])
            s_ip (false, "netns del %s", self->names [index]);
    if (self->made [ZMX_NETNS_MAX])
        s_ip (false, "netns del %s", self->bridge);
    free (self);
    *self_p = NULL;
}

size_t
zmx_netns_size (zmx_netns_t *self)
{
    return self->count;
}

const char *
zmx_netns_name (zmx_netns_t *self, size_t index)
{
    return index < self->count? self->names [index]: NULL;
}

const char *
zmx_netns_address (zmx_netns_t *self, size_t index)
{
    return index < self->count? self->addresses [index]: NULL;
}

const char *
zmx_netns_broadcast (zmx_netns_t *self)
{
    return self->broadcast;
}

int
zmx_netns_enter (zmx_netns_t *self, size_t index)
{
    if (index >= self->count)
        return -1;
    char path [S_NAME_MAX + sizeof S_NETNS_DIR + 1];
    snprintf (path, sizeof path, "%s/%s", S_NETNS_DIR, self->names [index]);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = setns (fd, CLONE_NEWNET);
    close (fd);
    return rc;
}

pid_t
zmx_netns_spawn (zmx_netns_t *self, size_t index, char *const argv [], const char *log_path)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        if (log_path) {
            int fd = open (log_path, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd >= 0) {
                dup2 (fd, 1);
                dup2 (fd, 2);
                close (fd);
            }
        }
        if (zmx_netns_enter (self, index)) {
            fprintf (stderr, "netns: cannot enter %s: %s\n", self->names [index],
                     strerror (errno));
            _exit (127);
        }
        execv (argv [0], argv);
        fprintf (stderr, "netns: cannot run %s: %s\n", argv [0], strerror (errno));
        _exit (127);
    }
    return pid;
}

int
zmx_netns_call (zmx_netns_t *self, size_t index, int (*fn) (void *arg), void *arg,
                int timeout_ms)
{
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        if (zmx_netns_enter (self, index))
            _exit (255);
        int rc = fn (arg);
        fflush (stdout);
        fflush (stderr);
        _exit (rc & 0xff);
    }
    int status = s_wait_child (pid, timeout_ms);
    if (status == -1 || !WIFEXITED (status) || WEXITSTATUS (status) == 255)
        return -1;
    return WEXITSTATUS (status);
}

//  Read what the child writes on `fd` until EOF or the deadline; returns
//  the text (caller frees) and sets *late if the deadline passed.
static char *
s_read_all (int fd, int64_t deadline, bool *late)
{
    size_t size = 0, limit = 65536;
    char *text = (char *) malloc (limit + 1);
    fcntl (fd, F_SETFL, O_NONBLOCK);
    *late = false;
    while (text && size < limit) {
        ssize_t got = read (fd, text + size, limit - size);
        if (got > 0)
            size += (size_t) got;
        else
        if (got == 0)
            break;
        else
        if (s_now_ms () >= deadline) {
            *late = true;
            break;
        }
        else
            usleep (2000);
    }
    if (text)
        text [size] = 0;
    return text;
}

int
zmx_netns_run (zmx_netns_t *self, size_t index, char *const argv [], int timeout_ms,
               char **output_p)
{
    if (output_p)
        *output_p = NULL;
    int out [2];
    if (index >= self->count || pipe (out))
        return -1;
    fflush (stdout);
    fflush (stderr);
    pid_t pid = fork ();
    if (pid == 0) {
        dup2 (out [1], 1);
        close (out [0]);
        close (out [1]);
        int null = open ("/dev/null", O_RDONLY);
        dup2 (null, 0);
        if (zmx_netns_enter (self, index) == 0)
            execv (argv [0], argv);
        _exit (127);
    }
    close (out [1]);
    if (pid < 0) {
        close (out [0]);
        return -1;
    }
    int64_t deadline = s_now_ms () + timeout_ms;
    bool late;
    char *output = s_read_all (out [0], deadline, &late);
    close (out [0]);
    int left = (int) (deadline - s_now_ms ());
    int status = s_wait_child (pid, late? 0: (left > 0? left: 0));
    if (output_p)
        *output_p = output;
    else
        free (output);
    if (status == -1 || !WIFEXITED (status))
        return -1;
    return WEXITSTATUS (status);
}
