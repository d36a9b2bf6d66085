/*
 * smtp_backend.c - smtpd's connections to queued (queue.sock) and
 * resolverd (resolver.sock): connected lazily, one request at a time,
 * each with the internal deadline.
 *
 * Runs in the smtpd session child, unprivileged, with its cwd (or
 * chroot) in <spool>/smtpd, which is why the paths are relative. The
 * peers are more privileged than we are and are trusted to answer in
 * good faith, but not to be up: a dead or slow peer is a temporary
 * failure for the client, never a hang. A malformed or out-of-order
 * reply drops the connection; the next request reconnects.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "smtpd.h"
#include "sock.h"

/* Replies to smtpd are small: a status, a text, a queue id. */
#define SMTP_BACKEND_MAXLEN	(PROTO_TEXT_MAX + 1024)

void
smtp_backend_init(struct smtp_backend *b, const char *path)
{
	memset(b, 0, sizeof(*b));
	b->conn.fd = -1;
	b->path = path;
	b->nextid = 1;
}

void
smtp_backend_adopt(struct smtp_backend *b, int fd, const char *name)
{
	smtp_backend_init(b, name);
	b->fixed = 1;
	if (fd == -1)
		return;
	ipc_conn_init(&b->conn, fd, SMTP_BACKEND_MAXLEN);
	b->connected = 1;
}

void
smtp_backend_close(struct smtp_backend *b)
{
	if (b->connected)
		ipc_conn_close(&b->conn);
	b->connected = 0;
	b->conn.fd = -1;
}

/*
 * A connection kept from an earlier request may have been closed since
 * by a daemon that restarted, or by resolverd because it sat idle
 * (resolver_idle_timeout): found before each request (it reads as
 * ready: EOF), it is dropped and the request connects afresh, instead of
 * failing a client's command. Nothing is pending between requests (one
 * at a time, each answered), so readable means closed or broken.
 */
void
smtp_backend_check(struct smtp_backend *b)
{
	struct pollfd pfd;

	if (!b->connected)
		return;
	pfd.fd = b->conn.fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) != 0)
		smtp_backend_close(b);
}

static int
backend_connect(struct smtp_backend *b)
{
	int fd;

	if (b->connected)
		return 0;
	if (b->fixed) {
		errno = ENOTCONN;
		return -1;
	}
	if ((fd = sock_unix_connect(b->path)) == -1) {
		log_warn("connect to %s", b->path);
		return -1;
	}
	ipc_conn_init(&b->conn, fd, SMTP_BACKEND_MAXLEN);
	b->connected = 1;
	return 0;
}

int
smtp_backend_send(struct smtp_backend *b, struct ipc_msg *m)
{
	smtp_backend_check(b);
	if (backend_connect(b) == -1)
		return -1;
	m->id = b->nextid++;
	if (ipc_send_wait(&b->conn, m, PROTO_TIMEOUT_MS) == -1) {
		log_warn("send to %s", b->path);
		smtp_backend_close(b);
		return -1;
	}
	return 0;
}

int
smtp_backend_call(struct smtp_backend *b, struct ipc_msg *req,
    struct ipc_msg *reply)
{
	uint32_t id;

	if (smtp_backend_send(b, req) == -1)
		return -1;
	id = req->id;
	if (ipc_recv_wait(&b->conn, reply, PROTO_TIMEOUT_MS) == -1) {
		if (errno == EPIPE)
			log_warnx("%s closed the connection", b->path);
		else
			log_warn("reply from %s", b->path);
		smtp_backend_close(b);
		return -1;
	}
	if (reply->id != id) {
		log_warnx("%s: reply %u to request %u", b->path,
		    (unsigned)reply->id, (unsigned)id);
		ipc_msg_free(reply);
		smtp_backend_close(b);
		return -1;
	}
	return 0;
}
