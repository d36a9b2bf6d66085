/*
 * smtp_io.c - the client connection of one SMTP session: buffered input,
 * the one SMTP command line reader, and buffered replies.
 *
 * Runs in the smtpd session child, unprivileged. The peer is the
 * network: every wait has a deadline, a line is bounded before it is
 * kept, and replies are only flushed when the client has nothing more
 * buffered for us (RFC 2920 pipelining) or before we block on it.
 *
 * The transport is two function pointers, so that STARTTLS and
 * implicit TLS can put a TLS layer under the same reader.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"

/* Replies are short; this ceiling only stops a runaway writer. */
#define SMTP_IO_OUTMAX	(256 * 1024)

static ssize_t
plain_read(struct smtp_io *io, void *p, size_t n)
{
	return recv(io->fd, p, n, MSG_DONTWAIT);
}

static ssize_t
plain_write(struct smtp_io *io, const void *p, size_t n)
{
	/* MSG_NOSIGNAL: a vanished client is an error return, not SIGPIPE. */
	return send(io->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

void
smtp_io_init(struct smtp_io *io, int fd, time_t write_timeout)
{
	memset(io, 0, sizeof(*io));
	io->fd = fd;
	io->read = plain_read;
	io->write = plain_write;
	io->pending = NULL;
	io->write_timeout = write_timeout;
	buf_init(&io->out, SMTP_IO_OUTMAX);
}

void
smtp_io_free(struct smtp_io *io)
{
	buf_free(&io->out);
}

size_t
smtp_io_buffered(const struct smtp_io *io)
{
	return io->inlen - io->inpos;
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
io_wait(struct smtp_io *io, short events, const struct timespec *deadline)
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
smtp_io_flush(struct smtp_io *io)
{
	struct timespec	deadline;
	ssize_t		n;
	int		r;

	if (io->broken)
		return -1;
	deadline_in(&deadline, io->write_timeout);
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
smtp_io_printf(struct smtp_io *io, const char *fmt, ...)
{
	va_list	ap;
	char	line[SMTP_LINE_MAX + 64];
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;	/* a reply line is ours: cut it */
	if (buf_append(&io->out, line, (size_t)n) == 0)
		return 0;
	/* Full: the client is not reading its replies. Push, then retry. */
	if (smtp_io_flush(io) == -1)
		return -1;
	return buf_append(&io->out, line, (size_t)n);
}

enum smtp_io_status
smtp_io_fill(struct smtp_io *io, time_t timeout)
{
	struct timespec	deadline;
	ssize_t		n;
	int		r;

	if (io->out.len > 0 && smtp_io_flush(io) == -1)
		return SMTP_IO_ERROR;
	if (io->inpos > 0) {
		memmove(io->in, io->in + io->inpos, io->inlen - io->inpos);
		io->inlen -= io->inpos;
		io->inpos = 0;
	}
	if (io->inlen == sizeof(io->in))
		return SMTP_IO_OK;
	deadline_in(&deadline, timeout);
	for (;;) {
		n = io->read(io, io->in + io->inlen, sizeof(io->in) - io->inlen);
		if (n > 0) {
			io->inlen += (size_t)n;
			return SMTP_IO_OK;
		}
		if (n == 0)
			return SMTP_IO_EOF;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return SMTP_IO_ERROR;
		if ((r = io_wait(io, POLLIN, &deadline)) == -2)
			return SMTP_IO_TIMEOUT;
		if (r == -1)
			return SMTP_IO_ERROR;
	}
}

enum smtp_io_status
smtp_io_getline(struct smtp_io *io, char *line, size_t *len, time_t timeout)
{
	struct timespec	 deadline;
	size_t		 n = 0, avail, take;
	unsigned char	*start, *lf;
	int		 toolong = 0;
	enum smtp_io_status st;
	time_t		 left;
	struct timespec	 now;

	/* One deadline for the whole line: dribbling bytes does not extend it. */
	deadline_in(&deadline, timeout);
	for (;;) {
		start = io->in + io->inpos;
		avail = io->inlen - io->inpos;
		lf = memchr(start, '\n', avail);
		take = lf != NULL ? (size_t)(lf - start) : avail;
		/* Keep at most SMTP_LINE_MAX - 2 bytes: the limit counts CRLF. */
		if (!toolong) {
			if (n + take > SMTP_LINE_MAX - 1) {
				/* One more byte is allowed if it is the CR. */
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
			if (!toolong && n > SMTP_LINE_MAX - 2)
				toolong = 1;
			if (toolong)
				return SMTP_IO_TOOLONG;
			line[n] = '\0';
			*len = n;
			return SMTP_IO_OK;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = deadline.tv_sec - now.tv_sec;
		if (left <= 0)
			return SMTP_IO_TIMEOUT;
		if ((st = smtp_io_fill(io, left)) != SMTP_IO_OK)
			return st;
	}
}
