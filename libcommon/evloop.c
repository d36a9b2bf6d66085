/*
 * evloop.c - epoll event loop with timers.
 *
 * Runs inside queued, resolverd and master. Timers live in a binary
 * min-heap (libcommon/heap) ordered by (deadline, creation): adding,
 * cancelling and firing one are O(log n) and finding the nearest is
 * O(1); timers with the same deadline fire in the order they were made.
 * The heap's only bound is memory: one pointer per timer in the heap
 * array plus the timer itself (a malloc each: queued keeps its
 * per-message deadlines in a heap of its own and arms one timer here).
 * Signals are expected to arrive through a signalfd or a self-pipe
 * registered as an ordinary descriptor.
 */
#include <sys/epoll.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "evloop.h"
#include "heap.h"
#include "log.h"

struct ev_io {
	int	 fd;
	int	 events;
	ev_io_cb cb;
	void	*arg;
};

struct ev_timer {
	uint64_t	 when;
	uint64_t	 seq;		/* creation order, for equal deadlines */
	size_t		 idx;		/* position in the heap */
	ev_timer_cb	 cb;
	void		*arg;
};

struct evloop {
	int		 epfd;
	struct ev_io	**ios;		/* indexed by fd */
	size_t		 nios;
	struct heap	 timers;	/* the nearest first */
	uint64_t	 seq;
	void		(*idle_cb)(void *);
	void		*idle_arg;
	int		 stop;
};

static int
timer_before(const void *a, const void *b)
{
	const struct ev_timer *x = a, *y = b;

	return x->when < y->when || (x->when == y->when && x->seq < y->seq);
}

uint64_t
evloop_now_ms(void)
{
	return deadline_now_ms();
}

struct evloop *
evloop_new(void)
{
	struct evloop *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1) {
		free(l);
		return NULL;
	}
	heap_init(&l->timers, timer_before, offsetof(struct ev_timer, idx));
	return l;
}

void
evloop_free(struct evloop *l)
{
	struct ev_timer	*t;
	size_t		 i;

	while ((t = heap_pop(&l->timers)) != NULL)
		free(t);
	heap_free(&l->timers);
	for (i = 0; i < l->nios; i++)
		free(l->ios[i]);
	free(l->ios);
	close(l->epfd);
	free(l);
}

int
evloop_io(struct evloop *l, int fd, int events, ev_io_cb cb, void *arg)
{
	struct epoll_event	 ee;
	struct ev_io		*io;
	int			 op;

	if (events == 0) {
		evloop_io_del(l, fd);
		return 0;
	}
	if ((size_t)fd >= l->nios) {
		size_t n = (size_t)fd + 64;
		struct ev_io **nv = reallocarray(l->ios, n, sizeof(*nv));
		if (nv == NULL)
			return -1;
		memset(nv + l->nios, 0, (n - l->nios) * sizeof(*nv));
		l->ios = nv;
		l->nios = n;
	}
	io = l->ios[fd];
	op = io ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (io == NULL && (io = calloc(1, sizeof(*io))) == NULL)
		return -1;
	memset(&ee, 0, sizeof(ee));
	ee.events = ((events & EV_READ) ? EPOLLIN : 0) |
	    ((events & EV_WRITE) ? EPOLLOUT : 0);
	ee.data.fd = fd;
	if (op == EPOLL_CTL_ADD || io->events != events) {
		if (epoll_ctl(l->epfd, op, fd, &ee) == -1) {
			if (op == EPOLL_CTL_ADD)
				free(io);
			return -1;
		}
	}
	io->fd = fd;
	io->events = events;
	io->cb = cb;
	io->arg = arg;
	l->ios[fd] = io;
	return 0;
}

void
evloop_io_del(struct evloop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nios || l->ios[fd] == NULL)
		return;
	(void)epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
	free(l->ios[fd]);
	l->ios[fd] = NULL;
}

struct ev_timer *
evloop_timer(struct evloop *l, uint64_t ms, ev_timer_cb cb, void *arg)
{
	struct ev_timer *t;

	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->when = evloop_now_ms() + ms;
	t->seq = l->seq++;
	t->cb = cb;
	t->arg = arg;
	if (heap_insert(&l->timers, t) == -1) {
		free(t);
		return NULL;
	}
	return t;
}

void
evloop_timer_cancel(struct evloop *l, struct ev_timer *t)
{
	if (t == NULL)
		return;
	heap_remove(&l->timers, t);
	free(t);
}

void
evloop_on_idle(struct evloop *l, void (*cb)(void *), void *arg)
{
	l->idle_cb = cb;
	l->idle_arg = arg;
}

void
evloop_stop(struct evloop *l)
{
	l->stop = 1;
}

int
evloop_run(struct evloop *l)
{
	struct epoll_event evs[64];

	while (!l->stop) {
		int		timeout = -1, n, i;
		uint64_t	now, mark;

		if (heap_len(&l->timers) > 0) {
			uint64_t when = ((struct ev_timer *)
			    heap_top(&l->timers))->when;

			now = evloop_now_ms();
			/* Past INT_MAX the cast would go negative: wait forever. */
			if (when <= now)
				timeout = 0;
			else if (when - now > INT_MAX)
				timeout = INT_MAX;
			else
				timeout = (int)(when - now);
		}
		n = epoll_wait(l->epfd, evs, 64, timeout);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (i = 0; i < n; i++) {
			int fd = evs[i].data.fd, ev = 0;
			struct ev_io *io;

			/* An earlier callback in this batch may have closed it. */
			if ((size_t)fd >= l->nios || (io = l->ios[fd]) == NULL)
				continue;
			if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR))
				ev |= EV_READ;
			if (evs[i].events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
				ev |= EV_WRITE;
			io->cb(fd, ev & (io->events | EV_READ), io->arg);
		}
		/*
		 * Only timers that existed before this pass: one armed by a
		 * timer's callback (a batch that re-arms itself at 0 ms) waits
		 * for the next turn, after the descriptors, so it cannot
		 * starve them.
		 */
		now = evloop_now_ms();
		mark = l->seq;
		while (heap_len(&l->timers) > 0 && ((struct ev_timer *)
		    heap_top(&l->timers))->when <= now &&
		    ((struct ev_timer *)heap_top(&l->timers))->seq < mark) {
			struct ev_timer *t = heap_pop(&l->timers);

			t->cb(t->arg);
			free(t);
		}
		if (l->idle_cb != NULL)
			l->idle_cb(l->idle_arg);
	}
	/* A stop ends this run only: the loop may be run again (tests). */
	l->stop = 0;
	return 0;
}
