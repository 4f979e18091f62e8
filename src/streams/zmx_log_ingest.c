/*  =========================================================================
    zmx_log_ingest - the log service's ZeroMQ and syslog ingest; see
    zmx_log_ingest.h and docs/STREAMS.md ("Ingest: ZeroMQ and syslog")

    Both paths are read by the owner's poller: each handle call reads at
    most S_BATCH messages without blocking, so that a flood on one path
    never starves the other, or the owner's own sockets. Nothing is
    queued here: the SUB socket's receive HWM (libzmq drops above it) and
    the UDP socket's kernel buffer (the kernel drops above it) bound what
    waits, and each message read is handed to the append function at once.
    Every frame and datagram is checked before use; what fails is counted
    as invalid, logged rate-limited, and dropped.
    =========================================================================
*/
#include "zmx_classes.h"
#include "zmx_log_ingest.h"
#include "zmx_log_parse.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#define S_COMPONENT     "log-ingest"
#define S_BATCH         256                 //  Messages read per handle call
#define S_RCVBUF        (1 << 20)           //  Kernel buffer asked for the UDP socket
//  Frames larger than this make libzmq drop the sending peer's connection;
//  those up to it are read and refused (counted) when over the message limit
#define S_MAX_FRAME     (1 << 20)

struct _zmx__log_ingest_t {
    zsock_t *sub;                   //  ZeroMQ ingest, NULL when none
    int udp_fd;                     //  Syslog socket, -1 when none
    char *default_subject;          //  Subject of single frames
    zmx__log_append_fn *append_fn;  //  Where entries go
    void *arg;
    zlist_t *endpoints;             //  Bound endpoints, resolved (autofree)
    zmx__log_ingest_counters_t counters;
    int64_t zmq_warned;             //  Rate limits of warnings per path
    int64_t syslog_warned;
    char *datagram;                 //  Receive buffer, ZMX__LOG_MESSAGE_MAX + 1
};

//  Header values for severities and facilities, as text
static const char *s_numbers [] = {
    "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11",
    "12", "13", "14", "15", "16", "17", "18", "19", "20", "21", "22", "23"
};

//  -------------------------------------------------------------------------
//  Setup

//  Bind the SUB (every message: subscribe to all) at each endpoint of the
//  list. Returns 0, or -1 with *reason_p set.
static int
s_bind_sub (zmx__log_ingest_t *self, zmx_security_t *security, const char *endpoints,
            const char **reason_p)
{
    //  Options go on before the bind: libzmq copies them into each endpoint
    self->sub = zmx_security_socket (security, ZMQ_SUB);
    if (!self->sub) {
        *reason_p = "cannot create the ingest SUB socket";
        return -1;
    }
    zsock_set_maxmsgsize (self->sub, S_MAX_FRAME);
    zsock_set_linger (self->sub, 0);
    zsock_set_subscribe (self->sub, "");
    if (zmx__listen_list (security, self->sub, endpoints, self->endpoints, S_COMPONENT)) {
        *reason_p = "cannot bind the ingest endpoint";
        return -1;
    }
    return 0;
}

//  "udp://HOST:PORT" into host and port; HOST "*" is any address, an IPv6
//  address is in brackets. Returns 0 or -1.
static int
s_udp_split (const char *endpoint, char *host, size_t host_size, char *port, size_t port_size)
{
    if (!endpoint || strncmp (endpoint, "udp://", 6) != 0)
        return -1;
    const char *address = endpoint + 6;
    const char *colon = strrchr (address, ':');
    if (!colon || colon == address || colon [1] == '\0' || strlen (colon + 1) >= port_size)
        return -1;
    const char *start = address, *end = colon;
    if (*start == '[') {
        if (end [-1] != ']' || end - start < 3)
            return -1;
        start++;
        end--;
    }
    if ((size_t) (end - start) >= host_size)
        return -1;
    memcpy (host, start, (size_t) (end - start));
    host [end - start] = '\0';
    strcpy (port, colon + 1);
    for (const char *digit = port; *digit; digit++)
        if (*digit < '0' || *digit > '9')
            return -1;
    return atoi (port) <= 65535? 0: -1;
}

//  Add "udp://HOST:PORT" for the socket's bound address to the endpoints.
static void
s_udp_add_endpoint (zmx__log_ingest_t *self)
{
    struct sockaddr_storage address;
    socklen_t size = sizeof (address);
    if (getsockname (self->udp_fd, (struct sockaddr *) &address, &size))
        return;
    char host [INET6_ADDRSTRLEN] = "";
    char endpoint [INET6_ADDRSTRLEN + 16];
    if (address.ss_family == AF_INET6) {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &address;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof (host));
        snprintf (endpoint, sizeof (endpoint), "udp://[%s]:%u", host, ntohs (in6->sin6_port));
    }
    else {
        struct sockaddr_in *in4 = (struct sockaddr_in *) &address;
        inet_ntop (AF_INET, &in4->sin_addr, host, sizeof (host));
        snprintf (endpoint, sizeof (endpoint), "udp://%s:%u", host, ntohs (in4->sin_port));
    }
    zlist_append (self->endpoints, endpoint);
}

//  Bind the syslog UDP socket. Returns 0, or -1 with *reason_p set (and
//  the cause logged).
static int
s_bind_udp (zmx__log_ingest_t *self, const char *endpoint, const char **reason_p)
{
    char host [256], port [8];
    if (s_udp_split (endpoint, host, sizeof (host), port, sizeof (port))) {
        zmx_log_error (S_COMPONENT, "syslog endpoint '%s' is not udp://HOST:PORT", endpoint);
        *reason_p = "the syslog endpoint is not udp://HOST:PORT";
        return -1;
    }
    struct addrinfo hints = { .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
                              .ai_family = AF_UNSPEC, .ai_socktype = SOCK_DGRAM };
    struct addrinfo *found = NULL;
    int rc = getaddrinfo (streq (host, "*")? NULL: host, port, &hints, &found);
    if (rc || !found) {
        zmx_log_error (S_COMPONENT, "syslog endpoint '%s': %s", endpoint, gai_strerror (rc));
        *reason_p = "cannot resolve the syslog endpoint";
        return -1;
    }
    self->udp_fd = socket (found->ai_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (self->udp_fd >= 0 && bind (self->udp_fd, found->ai_addr, found->ai_addrlen)) {
        close (self->udp_fd);
        self->udp_fd = -1;
    }
    freeaddrinfo (found);
    if (self->udp_fd < 0) {
        zmx_log_error (S_COMPONENT, "cannot bind syslog endpoint '%s': %s", endpoint,
                       strerror (errno));
        *reason_p = "cannot bind the syslog endpoint";
        return -1;
    }
    //  A larger kernel buffer absorbs bursts between two polls; the
    //  kernel may give less, which only means drops come sooner
    int rcvbuf = S_RCVBUF;
    setsockopt (self->udp_fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof (rcvbuf));
    s_udp_add_endpoint (self);
    return 0;
}

zmx__log_ingest_t *
zmx__log_ingest_new (zmx_security_t *security, const char *ingest_endpoint,
                     const char *syslog_endpoint, const char *default_subject,
                     zmx__log_append_fn *append_fn, void *arg, const char **reason_p)
{
    assert (append_fn);
    const char *reason_unused;
    if (!reason_p)
        reason_p = &reason_unused;
    *reason_p = NULL;
    if (!default_subject)
        default_subject = ZMX__LOG_DEFAULT_SUBJECT;
    if (!zmx_subject_valid (default_subject, strlen (default_subject))) {
        *reason_p = "the default subject is not a valid subject";
        return NULL;
    }
    zmx__log_ingest_t *self = (zmx__log_ingest_t *) zmalloc (sizeof (zmx__log_ingest_t));
    self->udp_fd = -1;
    self->append_fn = append_fn;
    self->arg = arg;
    self->default_subject = strdup (default_subject);
    self->endpoints = zlist_new ();
    self->datagram = (char *) malloc (ZMX__LOG_MESSAGE_MAX + 1);
    if (!self->default_subject || !self->endpoints || !self->datagram) {
        *reason_p = "out of memory";
        zmx__log_ingest_destroy (&self);
        return NULL;
    }
    zlist_autofree (self->endpoints);
    if ((ingest_endpoint && *ingest_endpoint
         && s_bind_sub (self, security, ingest_endpoint, reason_p))
    ||  (syslog_endpoint && *syslog_endpoint && s_bind_udp (self, syslog_endpoint, reason_p)))
        zmx__log_ingest_destroy (&self);
    return self;
}

void
zmx__log_ingest_destroy (zmx__log_ingest_t **self_p)
{
    assert (self_p);
    zmx__log_ingest_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->sub);
        if (self->udp_fd >= 0)
            close (self->udp_fd);
        zlist_destroy (&self->endpoints);
        free (self->default_subject);
        free (self->datagram);
        free (self);
        *self_p = NULL;
    }
}

zsock_t *
zmx__log_ingest_socket (zmx__log_ingest_t *self)
{
    assert (self);
    return self->sub;
}

int
zmx__log_ingest_udp_fd (zmx__log_ingest_t *self)
{
    assert (self);
    return self->udp_fd;
}

void
zmx__log_ingest_endpoints (zmx__log_ingest_t *self, zlist_t *list)
{
    assert (self && list);
    for (const char *endpoint = (const char *) zlist_first (self->endpoints); endpoint;
         endpoint = (const char *) zlist_next (self->endpoints))
        zlist_append (list, (void *) endpoint);
}

void
zmx__log_ingest_counters (zmx__log_ingest_t *self, zmx__log_ingest_counters_t *counters)
{
    assert (self && counters);
    *counters = self->counters;
}

//  -------------------------------------------------------------------------
//  Entries

static void
s_header_add (zmx__log_entry_t *entry, const char *name, const void *value, size_t size)
{
    assert (entry->header_count < ZMX__LOG_ENTRY_HEADERS);
    zmx_stream_header_t *header = &entry->headers [entry->header_count++];
    header->name = name;
    header->name_size = strlen (name);
    header->value = value;
    header->value_size = size;
}

static void
s_header_text (zmx__log_entry_t *entry, const char *name, const zmx__log_text_t *text)
{
    if (text->data)
        s_header_add (entry, name, text->data, text->size);
}

//  Hand the entry to the append function, counting the outcome.
static void
s_append (zmx__log_ingest_t *self, const zmx__log_entry_t *entry, uint64_t *appended,
          uint64_t *failed, int64_t *warned)
{
    int rc = self->append_fn (self->arg, entry);
    if (rc == ZMX_OK)
        (*appended)++;
    else {
        (*failed)++;
        zmx__log_limited (S_COMPONENT, warned, "could not store a message under '%s': %s",
                          entry->subject, zmx_strerror (rc));
    }
}

//  -------------------------------------------------------------------------
//  ZeroMQ

static void
s_zmq_invalid (zmx__log_ingest_t *self, const char *why)
{
    self->counters.zmq_invalid++;
    zmx__log_limited (S_COMPONENT, &self->zmq_warned, "dropped a ZeroMQ message: %s", why);
}

//  [subject][body]: a valid subject; severity from its last token when that
//  is a level name.
static void
s_zmq_subject_body (zmx__log_ingest_t *self, zframe_t *subject_frame, zframe_t *body)
{
    size_t size = zframe_size (subject_frame);
    const char *data = (const char *) zframe_data (subject_frame);
    if (size == 0 || size > ZMX_SUBJECT_MAX || !zmx_subject_valid (data, size)) {
        s_zmq_invalid (self, "the subject frame is not a valid subject");
        return;
    }
    if (zframe_size (body) > ZMX__LOG_MESSAGE_MAX) {
        s_zmq_invalid (self, "the body is over the message limit");
        return;
    }
    char subject [ZMX_SUBJECT_MAX + 1];
    memcpy (subject, data, size);
    subject [size] = '\0';
    int severity = zmx__log_subject_severity (subject, size);
    if (severity < 0)
        severity = ZMX__LOG_DEFAULT_SEVERITY;
    zmx__log_entry_t entry = { .subject = subject, .body = zframe_data (body),
                               .body_size = zframe_size (body) };
    s_header_add (&entry, "severity", s_numbers [severity], strlen (s_numbers [severity]));
    s_append (self, &entry, &self->counters.zmq_appended, &self->counters.zmq_failed,
              &self->zmq_warned);
}

//  One frame: a zsys log line, or plain text, under the default subject.
static void
s_zmq_single (zmx__log_ingest_t *self, zframe_t *frame)
{
    size_t size = zframe_size (frame);
    const char *data = (const char *) zframe_data (frame);
    if (size == 0) {
        s_zmq_invalid (self, "empty frame");
        return;
    }
    if (size > ZMX__LOG_MESSAGE_MAX) {
        s_zmq_invalid (self, "the frame is over the message limit");
        return;
    }
    if (!zmx__log_text_valid (data, size)) {
        s_zmq_invalid (self, "a single frame that is not text");
        return;
    }
    zmx__log_entry_t entry = { .subject = self->default_subject, .body = data,
                               .body_size = size };
    zmx__zsys_line_t line;
    int severity = ZMX__LOG_DEFAULT_SEVERITY;
    if (zmx__zsys_parse (data, size, &line)) {
        severity = line.severity;
        entry.body = line.text.data;
        entry.body_size = line.text.size;
    }
    s_header_add (&entry, "severity", s_numbers [severity], strlen (s_numbers [severity]));
    if (line.ident.data)
        s_header_text (&entry, "app", &line.ident);
    if (line.time.data)
        s_header_text (&entry, "time", &line.time);
    s_append (self, &entry, &self->counters.zmq_appended, &self->counters.zmq_failed,
              &self->zmq_warned);
}

void
zmx__log_ingest_handle_zmq (zmx__log_ingest_t *self)
{
    assert (self);
    if (!self->sub)
        return;
    //  A whole message is there once POLLIN says so (multipart messages
    //  arrive atomically), so the receive below does not block
    for (int count = 0; count < S_BATCH && (zsock_events (self->sub) & ZMQ_POLLIN); count++) {
        zmsg_t *msg = zmsg_recv (self->sub);
        if (!msg)
            break;              //  Interrupted, or the context is closing
        self->counters.zmq_received++;
        size_t frames = zmsg_size (msg);
        if (frames == 2) {
            zframe_t *subject = zmsg_first (msg);
            s_zmq_subject_body (self, subject, zmsg_next (msg));
        }
        else
        if (frames == 1)
            s_zmq_single (self, zmsg_first (msg));
        else
            s_zmq_invalid (self, "more than two frames");
        zmsg_destroy (&msg);
    }
}

//  -------------------------------------------------------------------------
//  Syslog

static void
s_syslog_invalid (zmx__log_ingest_t *self, const struct sockaddr_storage *from,
                  const char *why)
{
    self->counters.syslog_invalid++;
    char host [INET6_ADDRSTRLEN] = "?";
    if (from->ss_family == AF_INET)
        inet_ntop (AF_INET, &((const struct sockaddr_in *) from)->sin_addr, host, sizeof (host));
    else
    if (from->ss_family == AF_INET6)
        inet_ntop (AF_INET6, &((const struct sockaddr_in6 *) from)->sin6_addr, host,
                   sizeof (host));
    zmx__log_limited (S_COMPONENT, &self->syslog_warned, "dropped a syslog datagram from %s: %s",
                      host, why);
}

//  One datagram of `size` bytes in self->datagram.
static void
s_syslog_datagram (zmx__log_ingest_t *self, size_t size, const struct sockaddr_storage *from)
{
    zmx__syslog_t message;
    if (size == 0) {
        s_syslog_invalid (self, from, "empty datagram");
        return;
    }
    if (zmx__syslog_parse (self->datagram, size, &message)) {
        s_syslog_invalid (self, from, "not text");
        return;
    }
    char subject [ZMX__LOG_SUBJECT_SIZE];
    zmx__syslog_subject (&message, subject);
    zmx__log_entry_t entry = { .subject = subject, .body = message.msg.data,
                               .body_size = message.msg.size };
    const char *severity = s_numbers [message.severity];
    const char *facility = s_numbers [message.facility];
    s_header_add (&entry, "severity", severity, strlen (severity));
    s_header_add (&entry, "facility", facility, strlen (facility));
    s_header_text (&entry, "host", &message.host);
    s_header_text (&entry, "app", &message.app);
    s_header_text (&entry, "pid", &message.pid);
    s_header_text (&entry, "msgid", &message.msgid);
    s_header_text (&entry, "time", &message.time);
    s_append (self, &entry, &self->counters.syslog_appended, &self->counters.syslog_failed,
              &self->syslog_warned);
}

void
zmx__log_ingest_handle_udp (zmx__log_ingest_t *self)
{
    assert (self);
    if (self->udp_fd < 0)
        return;
    for (int count = 0; count < S_BATCH; count++) {
        struct sockaddr_storage from = { 0 };
        socklen_t from_size = sizeof (from);
        //  MSG_TRUNC: the datagram's real size, also when it did not fit
        ssize_t size = recvfrom (self->udp_fd, self->datagram, ZMX__LOG_MESSAGE_MAX + 1,
                                 MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *) &from,
                                 &from_size);
        if (size < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                zmx__log_limited (S_COMPONENT, &self->syslog_warned, "syslog receive: %s",
                                  strerror (errno));
            break;
        }
        self->counters.syslog_received++;
        if ((size_t) size > ZMX__LOG_MESSAGE_MAX)
            s_syslog_invalid (self, &from, "datagram over the message limit");
        else
            s_syslog_datagram (self, (size_t) size, &from);
    }
}
