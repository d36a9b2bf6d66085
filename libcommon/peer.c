/*
 * peer.c - evloop-driven framed connections for the internal services
 * (queued, resolverd).
 *
 * The peer at the other end may be less privileged and hostile: a
 * malformed stream (oversize frame, bad flags, missing fd) closes the
 * connection, and nothing here grows without the ipc ceilings.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "sock.h"

static void peer_io(int fd, int events, void *arg);

static void
peer_free(struct peer *p)
{
	evloop_io_del(p->loop, p->c.fd);
	ipc_conn_close(&p->c);
	free(p);
}

/*
 * Inside the peer's own callback the close is only marked: on_close (which
 * usually frees the peer's context) runs when the callback has returned,
 * so no handler ever finds its context freed under it.
 */
void
peer_close(struct peer *p)
{
	if (p->dead)
		return;
	p->dead = 1;
	if (p->in_callback)
		return;
	if (p->on_close != NULL)
		p->on_close(p);
	peer_free(p);
}

struct peer *
peer_new(struct evloop *loop, int fd, size_t maxlen, peer_msg_cb on_msg,
    peer_close_cb on_close, void *ctx)
{
	struct peer *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		close(fd);
		return NULL;
	}
	sock_set_nonblock(fd, 1);
	ipc_conn_init(&p->c, fd, maxlen);
	p->loop = loop;
	p->on_msg = on_msg;
	p->on_close = on_close;
	p->ctx = ctx;
	if (evloop_io(loop, fd, EV_READ, peer_io, p) == -1) {
		ipc_conn_close(&p->c);
		free(p);
		return NULL;
	}
	return p;
}

static void
peer_want_write(struct peer *p, int on)
{
	(void)evloop_io(p->loop, p->c.fd, EV_READ | (on ? EV_WRITE : 0),
	    peer_io, p);
}

int
peer_send(struct peer *p, struct ipc_msg *m)
{
	int r;

	if (p->dead)
		return -1;
	if (ipc_conn_queue(&p->c, m) == -1) {
		peer_close(p);
		return -1;
	}
	if ((r = ipc_conn_flush(&p->c)) == -1) {
		peer_close(p);
		return -1;
	}
	if (r == 1)
		peer_want_write(p, 1);
	return 0;
}

/* The output is written: the one drain waiter, if any, goes on. */
static void
peer_drained(struct peer *p)
{
	peer_drain_cb	 cb = p->on_drain;

	if (cb == NULL || p->dead)
		return;
	p->on_drain = NULL;
	cb(p, p->drain_arg);
}

void
peer_on_drain(struct peer *p, peer_drain_cb cb, void *arg)
{
	p->on_drain = cb;
	p->drain_arg = arg;
}

static void
peer_io(int fd, int events, void *arg)
{
	struct peer	*p = arg;
	struct ipc_msg	 m;
	int		 r;

	/* Closes below only mark the peer: it is closed once, at the end. */
	p->in_callback = 1;
	if (events & EV_WRITE) {
		r = ipc_conn_flush(&p->c);
		if (r == -1)
			p->dead = 1;
		else if (r == 0) {
			peer_want_write(p, 0);
			peer_drained(p);
		}
	}
	if (!p->dead && (events & EV_READ)) {
		if (ipc_conn_read(&p->c) == -1)
			p->dead = 1;
		while (!p->dead && (r = ipc_conn_next(&p->c, &m)) != 0) {
			if (r == -1) {
				log_warnx("malformed frame from a peer; "
				    "closing it");
				p->dead = 1;
				break;
			}
			p->on_msg(p, &m);
		}
		if (!p->dead && p->c.eof)
			p->dead = 1;
	}
	p->in_callback = 0;
	if (p->dead) {
		if (p->on_close != NULL)
			p->on_close(p);
		peer_free(p);
	}
}

struct peer_listener {
	int		 fd;
	struct evloop	*loop;
	peer_accept_cb	 cb;
	void		*arg;
};

static void peer_listener_io(int, int, void *);

static void
peer_listener_resume(void *arg)
{
	struct peer_listener *l = arg;

	if (evloop_io(l->loop, l->fd, EV_READ, peer_listener_io, l) == -1)
		log_warn("resume listening");
}

static void
peer_listener_io(int fd, int events, void *arg)
{
	struct peer_listener	*l = arg;
	int			 c, n;

	/* Bounded, so one busy listener cannot starve the loop. */
	for (n = 0; n < 64; n++) {
		c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/*
				 * The listener stays readable: without a pause
				 * the loop would spin. The backlog holds the
				 * connections meanwhile.
				 */
				log_warn("accept (pausing this listener for 1s)");
				evloop_io_del(l->loop, l->fd);
				if (evloop_timer(l->loop, 1000,
				    peer_listener_resume, l) == NULL)
					log_warn("evloop_timer");
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		l->cb(c, l->arg);
	}
}

int
peer_listen(struct evloop *loop, int lfd, peer_accept_cb cb, void *arg)
{
	struct peer_listener *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	l->fd = lfd;
	l->loop = loop;
	l->cb = cb;
	l->arg = arg;
	sock_set_nonblock(lfd, 1);
	if (evloop_io(loop, lfd, EV_READ, peer_listener_io, l) == -1) {
		free(l);
		return -1;
	}
	return 0;
}
