/*  =========================================================================
    zmx_log - levelled logging to stderr, optionally forwarded

    The level is the single process-wide variable in libzmx. It is written
    once at start-up by main() and only read afterwards; a torn read of an
    int is not possible on our targets, so it needs no lock.

    The forwarder is the other process-wide state, because a log call has
    no object to carry it: one socket that every thread's log calls share.
    Design:

    - One XPUB socket under one mutex. Log calls come from every actor
      thread; the mutex gives libzmq the full memory barrier it needs when
      a socket moves between threads, and is held only for non-blocking
      calls, so a log call never waits on the network.
    - XPUB, not PUB: with ZMQ_XPUB_NODROP a send returns EAGAIN when the
      collector's queue is full (PUB drops in silence), and the
      subscription notices say whether anyone listens at all. Either way
      the line is counted as dropped, and its stderr copy is printed as
      always.
    - A libzmq context of its own, not CZMQ's: zsys_shutdown (an atexit
      handler) reports every socket made through zsock/zsys_socket that is
      still open as "dangling", and a raw zmq_socket on its context would
      make its zmq_term wait forever. Ours is closed by our own atexit
      handler (linger ZMX_LOG_FORWARD_LINGER), whichever runs first.
    - A thread-local flag keeps a line logged while forwarding (by a future
      change in this path) from forwarding again; the forwarder's own
      problems go to stderr only.
    - After fork the child drops the parent's socket without touching it
      (libzmq's threads do not exist there) and may start its own.
    =========================================================================
*/
#define _GNU_SOURCE             //  program_invocation_short_name
#include "zmx_classes.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <unistd.h>

static int s_level = -1;        //  -1 until first use: then from environment

static const char *s_names [] = { "error", "warning", "notice", "info", "debug" };
static const char s_letters [] = "EWNID";

#define S_TOKEN_MAX     64      //  Bytes of HOST or PROCESS in a subject
#define S_LINE_MAX      1024    //  Bytes of a line, as printed

//  The forwarder: everything but the atomics is guarded by `mutex`
typedef struct {
    pthread_mutex_t mutex;
    void *context;              //  Our own libzmq context, made at first use
    void *socket;               //  XPUB connected to the endpoint, or NULL
    char *endpoint;             //  What socket connects to, or NULL
    int subscriptions;          //  Subscribe minus unsubscribe notices seen
    char *backlog [ZMX_LOG_FORWARD_BACKLOG];    //  Lines logged before any
    size_t backlog_count;       //  subscriber: level digit, then the body
    bool exiting;               //  The atexit handler ran: stay off
    bool hooks_set;             //  atexit and pthread_atfork are registered
    void *orphan;               //  A parent's context after fork: kept so
                                //  that leak checks see it reachable
    char prefix [6 + 2 * S_TOKEN_MAX + 2];  //  "log.HOST.PROCESS."
    atomic_bool on;             //  socket != NULL, read without the mutex
    atomic_int level;           //  Forward level, or -1: the printed one
    atomic_uint_fast64_t sent;
    atomic_uint_fast64_t dropped;
} s_forward_t;

static s_forward_t s_forward = { .mutex = PTHREAD_MUTEX_INITIALIZER, .level = -1 };
static pthread_once_t s_forward_once = PTHREAD_ONCE_INIT;
static _Thread_local bool s_forwarding;     //  This thread is in the forward path

static void s_forward_init (void);
static void s_print (zmx_log_level_t level, const char *component, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

int
zmx_log_level_from_name (const char *name)
{
    if (!name)
        return -1;
    for (int index = 0; index <= ZMX_LOG_DEBUG; index++)
        if (streq (name, s_names [index]))
            return index;
    return -1;
}

zmx_log_level_t
zmx_log_level (void)
{
    if (s_level < 0) {
        int level = zmx_log_level_from_name (getenv ("ZMX_LOG_LEVEL"));
        s_level = level < 0? ZMX_LOG_NOTICE: level;
    }
    return (zmx_log_level_t) s_level;
}

void
zmx_log_set_level (zmx_log_level_t level)
{
    s_level = level;
}

zmx_log_level_t
zmx_log_forward_level (void)
{
    int level = atomic_load (&s_forward.level);
    return level < 0? zmx_log_level (): (zmx_log_level_t) level;
}

void
zmx_log_forward_set_level (int level)
{
    pthread_once (&s_forward_once, s_forward_init);
    atomic_store (&s_forward.level, level < 0? -1: level > ZMX_LOG_DEBUG? ZMX_LOG_DEBUG: level);
}

//  True if a line at this level goes to the forwarder
static bool
s_forward_wanted (zmx_log_level_t level)
{
    return atomic_load (&s_forward.on) && (int) level <= (int) zmx_log_forward_level ();
}

bool
zmx_log_enabled (zmx_log_level_t level)
{
    pthread_once (&s_forward_once, s_forward_init);
    return (int) level <= (int) zmx_log_level () || s_forward_wanted (level);
}

zmx_log_level_t
zmx__log_limited_level (int64_t now, int64_t *last_p)
{
    if (now - *last_p < 1000)
        return ZMX_LOG_DEBUG;
    *last_p = now;
    return ZMX_LOG_WARNING;
}

static void
s_log_v (zmx_log_level_t level, const char *component, const char *format, va_list args);

void
zmx__log_limited (const char *component, int64_t *last_p, const char *format, ...)
{
    zmx_log_level_t level = zmx__log_limited_level (zclock_mono (), last_p);
    if (!zmx_log_enabled (level))
        return;
    va_list args;
    va_start (args, format);
    s_log_v (level, component, format, args);
    va_end (args);
}

void
zmx_log (zmx_log_level_t level, const char *component, const char *format, ...)
{
    if (!zmx_log_enabled (level))
        return;
    va_list args;
    va_start (args, format);
    s_log_v (level, component, format, args);
    va_end (args);
}

//  Format one line into line [S_LINE_MAX]; returns where "component: "
//  starts (the forwarded body).
static size_t
s_format (char *line, zmx_log_level_t level, const char *component, const char *format,
          va_list args)
{
    struct timeval now;
    gettimeofday (&now, NULL);
    struct tm local;
    localtime_r (&now.tv_sec, &local);
    char stamp [32];
    strftime (stamp, sizeof stamp, "%Y-%m-%d %H:%M:%S", &local);

    //  Build the whole line first so that concurrent threads never
    //  interleave within a line.
    int start = snprintf (line, S_LINE_MAX, "%s.%03d %c ", stamp, (int) (now.tv_usec / 1000),
                          s_letters [level <= ZMX_LOG_DEBUG? level: ZMX_LOG_DEBUG]);
    if (start < 0 || start >= S_LINE_MAX)
        start = 0;
    int used = snprintf (line + start, S_LINE_MAX - start, "%s: ", component? component: "zmx");
    if (used > 0 && start + used < S_LINE_MAX)
        vsnprintf (line + start + used, S_LINE_MAX - start - used, format, args);
    return (size_t) start;
}

//  Print a line to stderr only: for the forwarder's own problems, which
//  must not go through the forwarder.
static void
s_print (zmx_log_level_t level, const char *component, const char *format, ...)
{
    if ((int) level > (int) zmx_log_level ())
        return;
    char line [S_LINE_MAX];
    va_list args;
    va_start (args, format);
    s_format (line, level, component, format, args);
    va_end (args);
    fprintf (stderr, "%s\n", line);
}

//  -------------------------------------------------------------------------
//  The forwarder

//  Copy `text` into `token` as a valid subject token (see zmx_log.h).
static void
s_token (char *token, const char *text)
{
    size_t size = 0;
    for (; text && text [size] && size < S_TOKEN_MAX; size++) {
        unsigned char byte = (unsigned char) text [size];
        bool valid = byte >= 0x21 && byte <= 0x7e && byte != '.' && byte != '*' && byte != '>';
        token [size] = valid? (char) byte: '_';
    }
    token [size] = 0;
    if (size == 0)
        strcpy (token, "unknown");
}

//  "log.HOST.PROCESS." for this process, into s_forward.prefix.
static void
s_forward_prefix (void)
{
    char name [256] = "";
    if (gethostname (name, sizeof name - 1) != 0)
        name [0] = 0;
    name [strcspn (name, ".")] = 0;         //  The short name
    char host [S_TOKEN_MAX + 1], process [S_TOKEN_MAX + 1];
    s_token (host, name);
    s_token (process, program_invocation_short_name);
    snprintf (s_forward.prefix, sizeof s_forward.prefix, "log.%s.%s.", host, process);
}

//  Read the subscription notices waiting on the socket (the collector
//  subscribing, or leaving); without this they would pile up.
static void
s_forward_drain (void)
{
    byte notice [256];
    int size;
    while ((size = zmq_recv (s_forward.socket, notice, sizeof notice, ZMQ_DONTWAIT)) >= 0)
        if (size > 0 && notice [0] == 1)
            s_forward.subscriptions++;
        else
        if (size > 0 && notice [0] == 0 && s_forward.subscriptions > 0)
            s_forward.subscriptions--;
}

//  Hand one line to the socket; count it as sent or dropped.
static void
s_forward_put (int level, const char *body, size_t size)
{
    char subject [sizeof s_forward.prefix + 8];
    int subject_size = snprintf (subject, sizeof subject, "%s%s", s_forward.prefix,
                                 s_names [level <= ZMX_LOG_DEBUG? level: ZMX_LOG_DEBUG]);
    //  With XPUB_NODROP libzmq admits a message whole: once its first
    //  frame is in, the rest goes in too (the queue counts messages).
    if (zmq_send (s_forward.socket, subject, (size_t) subject_size,
                  ZMQ_SNDMORE | ZMQ_DONTWAIT) == subject_size
    &&  zmq_send (s_forward.socket, body, size, ZMQ_DONTWAIT) == (int) size)
        atomic_fetch_add (&s_forward.sent, 1);
    else
        atomic_fetch_add (&s_forward.dropped, 1);
}

//  Send the lines kept while nobody was subscribed, oldest first.
static void
s_forward_flush (void)
{
    for (size_t index = 0; index < s_forward.backlog_count; index++) {
        char *entry = s_forward.backlog [index];
        s_forward_put (entry [0] - '0', entry + 1, strlen (entry + 1));
        free (entry);
    }
    s_forward.backlog_count = 0;
}

//  Forget the kept lines, counting them as dropped.
static void
s_forward_backlog_clear (void)
{
    for (size_t index = 0; index < s_forward.backlog_count; index++)
        free (s_forward.backlog [index]);
    atomic_fetch_add (&s_forward.dropped, s_forward.backlog_count);
    s_forward.backlog_count = 0;
}

//  Send one line, or keep it while no subscriber has arrived yet (the
//  first ZMX_LOG_FORWARD_BACKLOG only), or count it as dropped. Never
//  blocks beyond the mutex, which is held only for non-blocking calls.
static void
s_forward_send (zmx_log_level_t level, const char *body, size_t size)
{
    if (s_forwarding)
        return;
    s_forwarding = true;
    pthread_mutex_lock (&s_forward.mutex);
    if (s_forward.socket) {
        s_forward_drain ();
        if (s_forward.subscriptions > 0) {
            s_forward_flush ();
            s_forward_put (level, body, size);
        }
        else
        if (s_forward.backlog_count < ZMX_LOG_FORWARD_BACKLOG
        &&  (s_forward.backlog [s_forward.backlog_count] =
                 zsys_sprintf ("%c%.*s", '0' + level, (int) size, body)))
            s_forward.backlog_count++;
        else
            atomic_fetch_add (&s_forward.dropped, 1);
    }
    pthread_mutex_unlock (&s_forward.mutex);
    s_forwarding = false;
}

//  At exit with lines kept: wait up to ZMX_LOG_FORWARD_LINGER for a
//  subscriber (a short program may end before its connection is made),
//  then send them, or count them as dropped. Called with the mutex held.
static void
s_forward_last_flush (void)
{
    int64_t deadline = zclock_mono () + ZMX_LOG_FORWARD_LINGER;
    s_forward_drain ();
    while (s_forward.backlog_count && s_forward.subscriptions == 0
       &&  zclock_mono () < deadline) {
        zmq_pollitem_t item = { s_forward.socket, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) (deadline - zclock_mono ())) < 0)
            break;
        s_forward_drain ();
    }
    if (s_forward.subscriptions > 0)
        s_forward_flush ();
    s_forward_backlog_clear ();
}

//  Close a socket the forwarder no longer uses; queued lines get
//  ZMX_LOG_FORWARD_LINGER msec to go out (the context's reaper does that,
//  not this thread).
static void
s_forward_close (void *socket)
{
    if (!socket)
        return;
    int linger = ZMX_LOG_FORWARD_LINGER;
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close (socket);
}

//  atexit: close the socket and end our context, so that no libzmq thread
//  of ours outlives main and exit waits at most the linger.
static void
s_forward_atexit (void)
{
    pthread_mutex_lock (&s_forward.mutex);
    s_forward.exiting = true;
    atomic_store (&s_forward.on, false);
    if (s_forward.socket)
        s_forward_last_flush ();
    void *socket = s_forward.socket, *context = s_forward.context;
    s_forward.socket = NULL;
    s_forward.context = NULL;
    free (s_forward.endpoint);
    s_forward.endpoint = NULL;
    pthread_mutex_unlock (&s_forward.mutex);
    s_forward_close (socket);
    if (context)
        zmq_ctx_term (context);
}

//  fork: hold the mutex across it, so that the child never inherits it
//  locked; the child then forgets the parent's socket and context.
static void
s_forward_prefork (void)
{
    pthread_mutex_lock (&s_forward.mutex);
}

static void
s_forward_postfork_parent (void)
{
    pthread_mutex_unlock (&s_forward.mutex);
}

static void
s_forward_postfork_child (void)
{
    if (s_forward.context)
        s_forward.orphan = s_forward.context;
    for (size_t index = 0; index < s_forward.backlog_count; index++)
        free (s_forward.backlog [index]);
    s_forward.backlog_count = 0;
    s_forward.context = NULL;
    s_forward.socket = NULL;
    free (s_forward.endpoint);
    s_forward.endpoint = NULL;
    atomic_store (&s_forward.on, false);
    pthread_mutex_unlock (&s_forward.mutex);
}

//  A new XPUB on our context connected to every endpoint of `list`, or
//  NULL. Called with the mutex held (the context is made here).
static void *
s_forward_socket_new (const char *list)
{
    if (!s_forward.context) {
        s_forward.context = zmq_ctx_new ();
        if (!s_forward.context)
            return NULL;
    }
    if (!s_forward.hooks_set) {
        atexit (s_forward_atexit);
        pthread_atfork (s_forward_prefork, s_forward_postfork_parent,
                        s_forward_postfork_child);
        s_forward.hooks_set = true;
    }
    void *socket = zmq_socket (s_forward.context, ZMQ_XPUB);
    if (!socket)
        return NULL;
    int hwm = ZMX_LOG_FORWARD_HWM, nodrop = 1, linger = 0;
    zmq_setsockopt (socket, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt (socket, ZMQ_XPUB_NODROP, &nodrop, sizeof nodrop);
    zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger);
    char *copy = strdup (list);
    char *cursor = copy, *endpoint;
    int rc = copy? 0: -1;
    while (rc == 0 && (endpoint = strsep (&cursor, ","))) {
        if (*endpoint == '>')
            endpoint++;
        rc = *endpoint? zmq_connect (socket, endpoint): -1;
    }
    free (copy);
    if (rc) {
        zmq_close (socket);
        return NULL;
    }
    return socket;
}

//  Point the forwarder at `endpoint`, or stop it (NULL or "").
static int
s_forward_start (const char *endpoint)
{
    bool stop = !endpoint || !*endpoint;
    pthread_mutex_lock (&s_forward.mutex);
    if (s_forward.exiting) {
        pthread_mutex_unlock (&s_forward.mutex);
        return ZMX_ETERM;
    }
    void *socket = stop? NULL: s_forward_socket_new (endpoint);
    if (!stop && !socket) {
        pthread_mutex_unlock (&s_forward.mutex);
        return ZMX_EADDR;
    }
    s_forward_backlog_clear ();         //  They were for the old endpoint
    void *old = s_forward.socket;
    s_forward.socket = socket;
    s_forward.subscriptions = 0;
    free (s_forward.endpoint);
    s_forward.endpoint = stop? NULL: strdup (endpoint);
    if (!stop)
        s_forward_prefix ();
    atomic_store (&s_forward.on, !stop);
    pthread_mutex_unlock (&s_forward.mutex);
    s_forward_close (old);
    return ZMX_OK;
}

//  Once per process, at the first log call: the environment's settings.
static void
s_forward_init (void)
{
    int level = zmx_log_level_from_name (getenv ("ZMX_LOG_FORWARD_LEVEL"));
    if (level >= 0)
        atomic_store (&s_forward.level, level);
    const char *endpoint = getenv ("ZMX_LOG_ENDPOINT");
    if (endpoint && *endpoint && s_forward_start (endpoint) != ZMX_OK)
        s_print (ZMX_LOG_ERROR, "log", "ZMX_LOG_ENDPOINT=\"%s\" ignored: not a ZeroMQ "
                 "endpoint this libzmq can connect to (e.g. tcp://127.0.0.1:5560)", endpoint);
}

int
zmx_log_forward (const char *endpoint)
{
    pthread_once (&s_forward_once, s_forward_init);
    return s_forward_start (endpoint);
}

bool
zmx_log_forwarding (void)
{
    pthread_once (&s_forward_once, s_forward_init);
    return atomic_load (&s_forward.on);
}

uint64_t
zmx_log_forward_sent (void)
{
    return atomic_load (&s_forward.sent);
}

uint64_t
zmx_log_forward_dropped (void)
{
    return atomic_load (&s_forward.dropped);
}

static void
s_log_v (zmx_log_level_t level, const char *component, const char *format, va_list args)
{
    char line [S_LINE_MAX];
    size_t body = s_format (line, level, component, format, args);
    if ((int) level <= (int) zmx_log_level ())
        fprintf (stderr, "%s\n", line);
    if (s_forward_wanted (level))
        s_forward_send (level, line + body, strlen (line + body));
}
