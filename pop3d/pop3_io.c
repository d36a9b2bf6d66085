/*
 * pop3_io.c - the client connection of one POP3 session: buffered input,
 * the one POP3 command line reader, buffered replies and message text.
 *
 * Runs in the login child and in the mail process, never with root.
 * The peer is the network: every wait has a deadline (pop3_timeout), a
 * line is bounded before it is kept, and replies are flushed only when
 * the client has nothing more buffered for us (RFC 2449 PIPELINING) or
 * before we block on it.
 *
 * The transport is two function pointers, so that STLS can put a TLS
 * layer under the same reader.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "pop3d.h"

/* Message text is pushed out in blocks of about this size. */
#define POP3_IO_OUTBLOCK	(64 * 1024)
/* The ceiling only stops a runaway writer: we flush long before. */
#define POP3_IO_OUTMAX		(1024 * 1024)

static ssize_t
plain_read(struct pop3_io *io, void *p, size_t n)
{
	return recv(io->fd, p, n, MSG_DONTWAIT);
}

static ssize_t
plain_write(struct pop3_io *io, const void *p, size_t n)
{
	/* MSG_NOSIGNAL: a vanished client is an error return, not SIGPIPE. */
	return send(io->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void
pop3_io_init(struct pop3_io *io, int fd, time_t timeout)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->read = plain_read;
	io->write = plain_write;
	io->timeout = timeout;
	buf_init(&io->out, POP3_IO_OUTMAX);
}

void
pop3_io_free(struct pop3_io *io)
{
	buf_free(&io->out);
	/* The buffer may have held a password. */
	explicit_bzero(io->in, sizeof(io->in));
}

size_t
pop3_io_buffered(const struct pop3_io *io)
{
	return io->inlen - io->inpos;
}

const unsigned char *
pop3_io_pending(const struct pop3_io *io)
{
	return io->in + io->inpos;
}

int
pop3_io_preload(struct pop3_io *io, const void *p, size_t n)
{
	if (n > sizeof(io->in) - io->inlen)
		return -1;
	memcpy(io->in + io->inlen, p, n);
	io->inlen += n;
	return 0;
}

static int
ms_left(const struct timespec *deadline)
{
	struct timespec	now;
	long long	ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	    (deadline->tv_nsec - now.tv_nsec) / 1000000;
	if (ms < 0)
		return 0;
	return ms > 86400000 ? 86400000 : (int)ms;
}

static void
deadline_in(struct timespec *d, time_t seconds)
{
	clock_gettime(CLOCK_MONOTONIC, d);
	d->tv_sec += seconds;
}

/* 0 ready, -1 error, -2 deadline passed. */
static int
io_wait(struct pop3_io *io, short events, const struct timespec *deadline)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = io->fd;
	pfd.events = events;
	for (;;) {
		r = poll(&pfd, 1, ms_left(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		return r == 0 ? -2 : 0;
	}
}

int
pop3_io_flush(struct pop3_io *io)
{
	struct timespec	deadline;
	ssize_t		n;
	int		r;

	if (io->broken)
		return -1;
	deadline_in(&deadline, io->timeout);
	while (io->out.len > 0) {
		n = io->write(io, io->out.data, io->out.len);
		if (n > 0) {
			buf_consume(&io->out, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if ((r = io_wait(io, POLLOUT, &deadline)) == 0)
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
pop3_io_write(struct pop3_io *io, const void *p, size_t n)
{
	if (io->broken)
		return -1;
	if (io->out.len + n > POP3_IO_OUTBLOCK && pop3_io_flush(io) == -1)
		return -1;
	if (buf_append(&io->out, p, n) == -1) {
		io->broken = 1;
		return -1;
	}
	return 0;
}

int
pop3_io_printf(struct pop3_io *io, const char *fmt, ...)
{
	va_list	ap;
	char	line[POP3_LINE_MAX + 64];
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;	/* a reply line is ours: cut it */
	return pop3_io_write(io, line, (size_t)n);
}

/* Reads more input, flushing replies first: the client may wait for them. */
static enum pop3_io_status
pop3_io_fill(struct pop3_io *io, const struct timespec *deadline)
{
	ssize_t	n;
	int	r;

	if (io->out.len > 0 && pop3_io_flush(io) == -1)
		return POP3_IO_ERROR;
	if (io->inpos > 0) {
		memmove(io->in, io->in + io->inpos, io->inlen - io->inpos);
		io->inlen -= io->inpos;
		io->inpos = 0;
	}
	if (io->inlen == sizeof(io->in))
		return POP3_IO_OK;
	for (;;) {
		n = io->read(io, io->in + io->inlen, sizeof(io->in) - io->inlen);
		if (n > 0) {
			io->inlen += (size_t)n;
			return POP3_IO_OK;
		}
		if (n == 0)
			return POP3_IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return POP3_IO_ERROR;
		if ((r = io_wait(io, POLLIN, deadline)) == -2)
			return POP3_IO_TIMEOUT;
		if (r == -1)
			return POP3_IO_ERROR;
	}
}

enum pop3_io_status
pop3_io_getline(struct pop3_io *io, char *line, size_t *len)
{
	struct timespec	 deadline;
	size_t		 n = 0, avail, take;
	unsigned char	*start, *lf;
	int		 toolong = 0;
	enum pop3_io_status st;

	/* One deadline for the whole line: dribbling bytes does not extend it. */
	deadline_in(&deadline, io->timeout);
	for (;;) {
		start = io->in + io->inpos;
		avail = io->inlen - io->inpos;
		lf = memchr(start, '\n', avail);
		take = lf != NULL ? (size_t)(lf - start) : avail;
		/* Keep at most POP3_LINE_MAX - 2 bytes: the limit counts CRLF. */
		if (!toolong) {
			if (n + take > POP3_LINE_MAX - 1) {
				toolong = 1;
			} else {
				memcpy(line + n, start, take);
				n += take;
			}
		}
		io->inpos += take;
		if (lf != NULL) {
			io->inpos++;	/* the LF */
			if (!toolong && n > 0 && line[n - 1] == '\r')
				n--;
			if (!toolong && n > POP3_LINE_MAX - 2)
				toolong = 1;
			if (toolong) {
				explicit_bzero(line, POP3_LINE_MAX);
				return POP3_IO_TOOLONG;
			}
			line[n] = '\0';
			*len = n;
			return POP3_IO_OK;
		}
		if (ms_left(&deadline) == 0)
			return POP3_IO_TIMEOUT;
		if ((st = pop3_io_fill(io, &deadline)) != POP3_IO_OK)
			return st;
	}
}
