/*
 * ipc.c - framing, typed payload fields and descriptor passing for every
 * internal socket.
 *
 * Runs in every process. The peer may be less privileged than we are
 * (smtpd talking to queued), so nothing here trusts a length: the header
 * length is checked against the connection's ceiling before any byte is
 * buffered, and every field read is bounds-checked.
 */
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "ipc.h"
#include "sock.h"

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;
	uint32_t	id;
	uint32_t	flags;
};

void
ipc_msg_init(struct ipc_msg *m, uint32_t type, uint32_t id)
{
	m->type = type;
	m->id = id;
	m->fd = -1;
	buf_init(&m->body, IPC_MAX_PAYLOAD);
}

void
ipc_msg_free(struct ipc_msg *m)
{
	if (m->fd != -1)
		close(m->fd);
	m->fd = -1;
	buf_free(&m->body);
}

int
ipc_put_u32(struct ipc_msg *m, uint32_t v)
{
	return buf_append(&m->body, &v, sizeof(v));
}

int
ipc_put_u64(struct ipc_msg *m, uint64_t v)
{
	return buf_append(&m->body, &v, sizeof(v));
}

int
ipc_put_strn(struct ipc_msg *m, const char *s, size_t n)
{
	if (memchr(s, '\0', n) != NULL || n > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (ipc_put_u32(m, (uint32_t)n) == -1)
		return -1;
	return buf_append(&m->body, s, n);
}

int
ipc_put_bytes(struct ipc_msg *m, const void *p, size_t n)
{
	if (n > UINT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (ipc_put_u32(m, (uint32_t)n) == -1)
		return -1;
	return n == 0 ? 0 : buf_append(&m->body, p, n);
}

int
ipc_put_str(struct ipc_msg *m, const char *s)
{
	return ipc_put_strn(m, s, strlen(s));
}

void
ipc_reader_init(struct ipc_reader *r, const struct ipc_msg *m)
{
	r->p = (const unsigned char *)m->body.data;
	r->left = m->body.len;
	r->failed = 0;
}

static int
reader_take(struct ipc_reader *r, void *out, size_t n)
{
	if (r->failed || r->left < n) {
		r->failed = 1;
		return -1;
	}
	memcpy(out, r->p, n);
	r->p += n;
	r->left -= n;
	return 0;
}

int
ipc_get_u32(struct ipc_reader *r, uint32_t *v)
{
	return reader_take(r, v, sizeof(*v));
}

int
ipc_get_u64(struct ipc_reader *r, uint64_t *v)
{
	return reader_take(r, v, sizeof(*v));
}

static int
reader_strspan(struct ipc_reader *r, const unsigned char **p, uint32_t *n)
{
	if (ipc_get_u32(r, n) == -1)
		return -1;
	if (*n > r->left || memchr(r->p, '\0', *n) != NULL) {
		r->failed = 1;
		return -1;
	}
	*p = r->p;
	r->p += *n;
	r->left -= *n;
	return 0;
}

int
ipc_get_str(struct ipc_reader *r, char *out, size_t outsz)
{
	const unsigned char	*p;
	uint32_t		 n;

	if (reader_strspan(r, &p, &n) == -1)
		return -1;
	if (n >= outsz) {
		r->failed = 1;
		return -1;
	}
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int
ipc_get_strdup(struct ipc_reader *r, char **out, size_t max)
{
	const unsigned char	*p;
	uint32_t		 n;

	if (reader_strspan(r, &p, &n) == -1)
		return -1;
	if (n > max || (*out = strndup((const char *)p, n)) == NULL) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

int
ipc_get_bytes(struct ipc_reader *r, void *out, size_t outsz, size_t *n)
{
	uint32_t len;

	if (ipc_get_u32(r, &len) == -1)
		return -1;
	if (len > outsz || len > r->left) {
		r->failed = 1;
		return -1;
	}
	memcpy(out, r->p, len);
	r->p += len;
	r->left -= len;
	*n = len;
	return 0;
}

int
ipc_reader_end(struct ipc_reader *r)
{
	return (r->failed || r->left != 0) ? -1 : 0;
}

void
ipc_conn_init(struct ipc_conn *c, int fd, size_t maxlen)
{
	memset(c, 0, sizeof(*c));
	c->fd = fd;
	c->maxlen = maxlen > IPC_MAX_PAYLOAD ? IPC_MAX_PAYLOAD : maxlen;
	buf_init(&c->in, c->maxlen + IPC_HDR_LEN + 65536);
	buf_init(&c->out, 0);
}

void
ipc_conn_close(struct ipc_conn *c)
{
	size_t i;

	if (c->fd != -1)
		close(c->fd);
	c->fd = -1;
	for (i = 0; i < c->nrfds; i++)
		close(c->rfds[i]);
	for (i = 0; i < c->nwfds; i++)
		close(c->wfds[i].fd);
	c->nrfds = c->nwfds = 0;
	buf_free(&c->in);
	buf_free(&c->out);
}

int
ipc_conn_queue(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ipc_hdr	h;
	size_t		off = c->out.len;

	if (m->body.len > IPC_MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	if (m->fd != -1 && c->nwfds == IPC_MAX_PENDING_FDS) {
		errno = ENOBUFS;
		return -1;
	}
	h.type = m->type;
	h.len = (uint32_t)m->body.len;
	h.id = m->id;
	h.flags = m->fd != -1 ? IPC_F_FD : 0;
	if (buf_append(&c->out, &h, sizeof(h)) == -1 ||
	    buf_append(&c->out, m->body.data, m->body.len) == -1) {
		c->out.len = off;
		return -1;
	}
	if (m->fd != -1) {
		c->wfds[c->nwfds].off = off;
		c->wfds[c->nwfds].fd = m->fd;
		c->nwfds++;
		m->fd = -1;
	}
	return 0;
}

int
ipc_conn_flush(struct ipc_conn *c)
{
	while (c->out.len > 0) {
		size_t		 chunk = c->out.len;
		int		 sendfd = -1;
		ssize_t		 n;
		size_t		 i;

		if (c->nwfds > 0) {
			if (c->wfds[0].off == 0) {
				sendfd = c->wfds[0].fd;
				if (c->nwfds > 1)
					chunk = c->wfds[1].off;
			} else
				chunk = c->wfds[0].off;
		}
		n = sock_send_fd(c->fd, c->out.data, chunk, sendfd,
		    MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 1;
			return -1;
		}
		if (sendfd != -1) {
			close(sendfd);
			memmove(&c->wfds[0], &c->wfds[1],
			    (c->nwfds - 1) * sizeof(c->wfds[0]));
			c->nwfds--;
		}
		buf_consume(&c->out, (size_t)n);
		for (i = 0; i < c->nwfds; i++)
			c->wfds[i].off -= (size_t)n;
	}
	return 0;
}

int
ipc_conn_read(struct ipc_conn *c)
{
	char		 tmp[65536];
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int) * 8)];
	} cm;
	struct cmsghdr	*cmsg;
	ssize_t		 n;

	for (;;) {
		memset(&mh, 0, sizeof(mh));
		iov.iov_base = tmp;
		iov.iov_len = sizeof(tmp);
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		n = recvmsg(c->fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return 0;
			return -1;
		}
		for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
		    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
			size_t nfd, i;
			int fds[8];

			if (cmsg->cmsg_level != SOL_SOCKET ||
			    cmsg->cmsg_type != SCM_RIGHTS)
				continue;
			nfd = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
			if (nfd > 8)
				nfd = 8;
			memcpy(fds, CMSG_DATA(cmsg), nfd * sizeof(int));
			for (i = 0; i < nfd; i++) {
				if (c->nrfds == IPC_MAX_PENDING_FDS) {
					/* Close the rest too, or they leak. */
					for (; i < nfd; i++)
						close(fds[i]);
					errno = EPROTO;
					return -1;
				}
				c->rfds[c->nrfds++] = fds[i];
			}
		}
		if (mh.msg_flags & MSG_CTRUNC) {
			errno = EPROTO;
			return -1;
		}
		if (n == 0) {
			c->eof = 1;
			return 0;
		}
		if (buf_append(&c->in, tmp, (size_t)n) == -1) {
			explicit_bzero(tmp, (size_t)n);
			errno = EPROTO;
			return -1;
		}
		explicit_bzero(tmp, (size_t)n);
		/* One read per call: the event loop calls again while readable. */
		return 0;
	}
}

int
ipc_conn_next(struct ipc_conn *c, struct ipc_msg *m)
{
	struct ipc_hdr h;

	if (c->in.len < IPC_HDR_LEN)
		return 0;
	memcpy(&h, c->in.data, sizeof(h));
	if (h.len > c->maxlen || (h.flags & ~IPC_F_FD) != 0)
		return -1;
	if (c->in.len < IPC_HDR_LEN + h.len)
		return 0;
	ipc_msg_init(m, h.type, h.id);
	if (h.flags & IPC_F_FD) {
		/* The descriptor travels with the frame's first byte. */
		if (c->nrfds == 0)
			return -1;
		m->fd = c->rfds[0];
		memmove(&c->rfds[0], &c->rfds[1],
		    (c->nrfds - 1) * sizeof(int));
		c->nrfds--;
	}
	if (buf_append(&m->body, c->in.data + IPC_HDR_LEN, h.len) == -1) {
		ipc_msg_free(m);
		return -1;
	}
	buf_consume(&c->in, IPC_HDR_LEN + h.len);
	return 1;
}

static int
wait_fd(int fd, short ev, uint64_t deadline, int timeout_ms)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = fd;
	pfd.events = ev;
	for (;;) {
		r = poll(&pfd, 1, timeout_ms < 0 ? -1 : deadline_left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		return r < 0 ? -1 : 0;
	}
}

int
ipc_send_wait(struct ipc_conn *c, struct ipc_msg *m, int timeout_ms)
{
	uint64_t	deadline = 0;
	int		r;

	if (timeout_ms >= 0)
		deadline = deadline_in_ms((uint64_t)timeout_ms);
	if (ipc_conn_queue(c, m) == -1)
		return -1;
	while ((r = ipc_conn_flush(c)) == 1)
		if (wait_fd(c->fd, POLLOUT, deadline, timeout_ms) == -1)
			return -1;
	if (r == -1 && (errno == ECONNRESET || errno == ENOTCONN))
		errno = EPIPE;
	return r;
}

int
ipc_recv_wait(struct ipc_conn *c, struct ipc_msg *m, int timeout_ms)
{
	uint64_t	deadline = 0;
	int		r;

	if (timeout_ms >= 0)
		deadline = deadline_in_ms((uint64_t)timeout_ms);
	for (;;) {
		r = ipc_conn_next(c, m);
		if (r == 1)
			return 0;
		if (r == -1) {
			errno = EPROTO;
			return -1;
		}
		if (c->eof) {
			errno = EPIPE;
			return -1;
		}
		if (wait_fd(c->fd, POLLIN, deadline, timeout_ms) == -1)
			return -1;
		if (ipc_conn_read(c) == -1) {
			if (errno == ECONNRESET)
				errno = EPIPE;
			return -1;
		}
	}
}
