/*
 * netio.c - client connections of the protocol daemons.
 *
 * Runs in smtpd sessions, pop3d login and mail processes (and imapd's),
 * never as root. The peer is the network: every wait has a deadline, a
 * line is bounded before it is kept (a counted read, an IMAP literal,
 * is bounded by its caller before it starts), and output is only
 * flushed when the client has nothing more buffered for us (pipelining,
 * RFC 2920 and 2449) or before we block on it.
 */
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "netio.h"

/* Message text is pushed out in blocks of about this size. */
#define NETIO_OUTBLOCK	(64 * 1024)
/* The ceiling only stops a runaway writer: we flush long before. */
#define NETIO_OUTMAX	(1024 * 1024)

static ssize_t
plain_read(struct netio *io, void *p, size_t n)
{
	return recv(io->fd, p, n, MSG_DONTWAIT);
}

static ssize_t
plain_write(struct netio *io, const void *p, size_t n)
{
	/* MSG_NOSIGNAL: a vanished client is an error return, not SIGPIPE. */
	return send(io->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void
netio_init(struct netio *io, int fd, time_t timeout)
{
	int	nodelay = 1;

	/*
	 * No Nagle: netio writes each reply (or batch of pipelined
	 * replies) in one flush, so Nagle can only hold back the last
	 * segment of a reply bigger than one block until the peer's
	 * delayed ACK (40 ms on Linux): IMAP FETCH and SELECT answers, an
	 * APPEND's continuation, TLS session tickets. Not a TCP socket
	 * (a pipe, stdin): nothing to do.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &nodelay,
	    sizeof(nodelay));
	memset(io, 0, offsetof(struct netio, in));
	io->fd = fd;
	io->read = plain_read;
	io->write = plain_write;
	io->timeout = timeout;
	buf_init(&io->out, NETIO_OUTMAX);
}

void
netio_free(struct netio *io)
{
	buf_free(&io->out);
	explicit_bzero(io->in, io->inhigh);
	io->inpos = io->inlen = io->inhigh = 0;
}

ssize_t
netio_starttls(struct netio *io,
    ssize_t (*rd)(struct netio *, void *, size_t),
    ssize_t (*wr)(struct netio *, const void *, size_t),
    size_t (*pending)(struct netio *), void *ctx)
{
	size_t dropped;

	if (netio_flush(io) == -1)
		return -1;
	/*
	 * The bytes after the command came in plaintext, before the
	 * handshake: whatever they say, the client did not say it under
	 * TLS. Wiped too: they may be anything (a pipelined AUTH).
	 */
	dropped = io->inlen - io->inpos;
	explicit_bzero(io->in, io->inhigh);
	io->inpos = io->inlen = 0;
	io->read = rd;
	io->write = wr;
	io->pending = pending;
	io->ctx = ctx;
	io->want = 0;
	io->secure = 1;
	return (ssize_t)dropped;
}

void
netio_plain(struct netio *io)
{
	io->read = plain_read;
	io->write = plain_write;
	io->pending = NULL;
	io->ctx = NULL;
	io->want = 0;
	io->secure = 0;
}

size_t
netio_buffered(const struct netio *io)
{
	return io->inlen - io->inpos;
}

const unsigned char *
netio_pending(const struct netio *io)
{
	return io->in + io->inpos;
}

int
netio_preload(struct netio *io, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (n > sizeof(io->in) - io->inlen)
		return -1;
	memcpy(io->in + io->inlen, p, n);
	io->inlen += n;
	if (io->inlen > io->inhigh)
		io->inhigh = io->inlen;
	return 0;
}

/* 0 ready, -1 error, -2 deadline passed. */
static int
io_wait(struct netio *io, short events, uint64_t deadline)
{
	short want = io->want != 0 ? io->want : events;

	io->want = 0;
	return deadline_poll(io->fd, want, deadline);
}

int
netio_flush(struct netio *io)
{
	uint64_t	deadline;
	ssize_t		n;
	int		r;

	if (io->broken)
		return -1;
	deadline = deadline_in_ms((uint64_t)io->timeout * 1000);
	while (io->out.len > 0) {
		n = io->write(io, io->out.data, io->out.len);
		if (n > 0) {
			buf_consume(&io->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = io_wait(io, POLLOUT, deadline)) == 0)
				continue;
			if (r == -2)
				errno = ETIMEDOUT;
		}
		io->broken = 1;
		buf_reset(&io->out);
		return -1;
	}
	return 0;
}

int
netio_write(struct netio *io, const void *p, size_t n)
{
	if (io->broken)
		return -1;
	if (io->out.len + n > NETIO_OUTBLOCK && netio_flush(io) == -1)
		return -1;
	if (buf_append(&io->out, p, n) == -1) {
		io->broken = 1;
		return -1;
	}
	return 0;
}

int
netio_printf(struct netio *io, const char *fmt, ...)
{
	va_list	ap;
	char	line[1024];
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;	/* a reply line is ours: cut it */
	return netio_write(io, line, (size_t)n);
}

static enum netio_status
fill_until(struct netio *io, uint64_t deadline)
{
	ssize_t	n;
	int	r, replied = 0;

	if (io->out.len > 0) {
		if (netio_flush(io) == -1)
			return NETIO_ERROR;
		replied = 1;
	}
	if (io->inpos > 0) {
		memmove(io->in, io->in + io->inpos, io->inlen - io->inpos);
		io->inlen -= io->inpos;
		io->inpos = 0;
	}
	if (io->inlen == sizeof(io->in))
		return NETIO_OK;
	/*
	 * Just after a reply the client has rarely answered yet: wait first
	 * rather than pay for a read that finds nothing. Bytes a transport
	 * already holds decoded (TLS) are never waited for.
	 */
	if (replied && (io->pending == NULL || io->pending(io) == 0)) {
		if ((r = io_wait(io, POLLIN, deadline)) == -2)
			return NETIO_TIMEOUT;
		if (r == -1)
			return NETIO_ERROR;
	}
	for (;;) {
		n = io->read(io, io->in + io->inlen, sizeof(io->in) - io->inlen);
		if (n > 0) {
			io->inlen += (size_t)n;
			if (io->inlen > io->inhigh)
				io->inhigh = io->inlen;
			return NETIO_OK;
		}
		if (n == 0)
			return NETIO_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return NETIO_ERROR;
		if ((r = io_wait(io, POLLIN, deadline)) == -2)
			return NETIO_TIMEOUT;
		if (r == -1)
			return NETIO_ERROR;
	}
}

enum netio_status
netio_fill(struct netio *io, time_t timeout)
{
	return fill_until(io, deadline_in_ms((uint64_t)timeout * 1000));
}

enum netio_status
netio_getline(struct netio *io, char *line, size_t linemax, size_t *len,
    time_t timeout)
{
	uint64_t	 deadline;
	size_t		 n = 0, avail, take;
	unsigned char	*start, *lf;
	int		 toolong = 0;
	enum netio_status st;

	/* One deadline for the whole line: dribbling bytes does not extend it. */
	deadline = deadline_in_ms((uint64_t)timeout * 1000);
	for (;;) {
		start = io->in + io->inpos;
		avail = io->inlen - io->inpos;
		lf = memchr(start, '\n', avail);
		take = lf != NULL ? (size_t)(lf - start) : avail;
		/* Keep at most linemax - 1 bytes (a CR among them is dropped). */
		if (!toolong) {
			if (n + take > linemax - 1)
				toolong = 1;
			else {
				memcpy(line + n, start, take);
				n += take;
			}
		}
		io->inpos += take;
		if (lf != NULL) {
			io->inpos++;	/* the LF */
			if (!toolong && n > 0 && line[n - 1] == '\r')
				n--;
			/* The limit counts the CRLF. */
			if (!toolong && n > linemax - 2)
				toolong = 1;
			if (toolong) {
				/* What we kept of it may be a password. */
				explicit_bzero(line, linemax);
				return NETIO_TOOLONG;
			}
			line[n] = '\0';
			*len = n;
			return NETIO_OK;
		}
		if (deadline_left_ms(deadline) == 0)
			return NETIO_TIMEOUT;
		if ((st = fill_until(io, deadline)) != NETIO_OK)
			return st;
	}
}

enum netio_status
netio_read(struct netio *io, void *dst, size_t n, time_t timeout)
{
	uint64_t	 deadline;
	unsigned char	*p = dst;
	size_t		 avail, take;
	enum netio_status st;

	deadline = deadline_in_ms((uint64_t)timeout * 1000);
	while (n > 0) {
		avail = io->inlen - io->inpos;
		if (avail == 0) {
			if (deadline_left_ms(deadline) == 0)
				return NETIO_TIMEOUT;
			if ((st = fill_until(io, deadline)) != NETIO_OK)
				return st;
			continue;
		}
		take = avail < n ? avail : n;
		if (p != NULL) {
			memcpy(p, io->in + io->inpos, take);
			p += take;
		}
		io->inpos += take;
		n -= take;
	}
	return NETIO_OK;
}
