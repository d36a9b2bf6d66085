/*
 * evloop.h - a single-threaded epoll loop with one-shot timers, for the
 * internal services (queued, resolverd).
 */
#ifndef POSTERN_EVLOOP_H
#define POSTERN_EVLOOP_H

#include <stdint.h>

#define EV_READ		0x1
#define EV_WRITE	0x2

struct evloop;
struct ev_timer;

typedef void (*ev_io_cb)(int fd, int events, void *arg);
typedef void (*ev_timer_cb)(void *arg);

struct evloop	*evloop_new(void);
void		 evloop_free(struct evloop *);
/* Registers or changes interest in fd; events 0 removes it. */
int		 evloop_io(struct evloop *, int fd, int events, ev_io_cb, void *arg);
void		 evloop_io_del(struct evloop *, int fd);
/* A one-shot timer; returns a handle that evloop_timer_cancel takes. */
struct ev_timer	*evloop_timer(struct evloop *, uint64_t ms, ev_timer_cb, void *arg);
void		 evloop_timer_cancel(struct evloop *, struct ev_timer *);
/* Called once per loop turn after all ready events ran (group commit). */
void		 evloop_on_idle(struct evloop *, void (*)(void *), void *arg);
/*
 * Runs until evloop_stop (one made before the run ends it at once);
 * returns 0, or -1 on an epoll failure. It may be run again after.
 */
int		 evloop_run(struct evloop *);
void		 evloop_stop(struct evloop *);
/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t	 evloop_now_ms(void);

#endif
