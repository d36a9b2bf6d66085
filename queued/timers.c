/*
 * timers.c - queued's deadlines: when each waiting message is next due.
 *
 * Runs in queued (queue user), in the loop's thread; trusts its callers
 * (sched.c). One entry per message that waits for a retry, in a binary
 * min-heap (libcommon/heap) ordered by (deadline, queue id), with the
 * heap position kept in the message itself: setting, moving and
 * clearing a deadline are O(log n), with no allocation per message (a
 * million deferred messages cost the heap's array, 8 bytes each, and 16
 * bytes in each struct qmsg). The event loop holds a single timer, for
 * the nearest deadline.
 *
 * Why at most TIMERS_BATCH per loop turn: a flush, or a start after a
 * long stop, makes every deferred message due at once; starting all
 * their rounds in one turn would keep submissions waiting behind them.
 * The rest are taken in the next turns, earliest first. A turn also
 * stops after TIMERS_BATCH_MS: a parked message is read from the spool
 * before its round starts, and a slow disk must not stretch the turn.
 */
#include <stddef.h>
#include <string.h>
#include <time.h>

#include "heap.h"
#include "log.h"
#include "queued.h"

#define TIMERS_BATCH	256
#define TIMERS_BATCH_MS	10

static struct heap	 timers;
static struct ev_timer	*armed;		/* the loop's timer, or NULL */
static time_t		 armed_at;	/* the deadline it was armed for */
static int		 ready;

static int
due_before(const void *a, const void *b)
{
	const struct qmsg *x = a, *y = b;

	if (x->due != y->due)
		return x->due < y->due;
	return strcmp(x->env.id, y->env.id) < 0;
}

static void timers_fire(void *);

/* The loop's one timer follows the heap's first deadline. */
static void
rearm(int now_too)
{
	struct qmsg	*top = heap_top(&timers);
	time_t		 now;
	uint64_t	 ms;

	if (top == NULL) {
		if (armed != NULL)
			evloop_timer_cancel(Q->loop, armed);
		armed = NULL;
		return;
	}
	if (armed != NULL && armed_at == top->due && !now_too)
		return;
	if (armed != NULL)
		evloop_timer_cancel(Q->loop, armed);
	now = time(NULL);
	ms = now_too || top->due <= now ? 0 : (uint64_t)(top->due - now) * 1000;
	armed_at = top->due;
	/* No memory for the one timer: the next set or fire tries again. */
	if ((armed = evloop_timer(Q->loop, ms, timers_fire, NULL)) == NULL)
		log_warn("deadline timer");
}

static void
timers_fire(void *arg)
{
	struct qmsg	*m;
	time_t		 now = time(NULL);
	uint64_t	 until = evloop_now_ms() + TIMERS_BATCH_MS;
	int		 n = 0;

	(void)arg;
	armed = NULL;

	while ((m = heap_top(&timers)) != NULL && m->due <= now &&
	    n++ < TIMERS_BATCH && (n % 16 != 0 || evloop_now_ms() < until)) {
		if (Q->rounds >= Q->conf.queue_active_limit)
			return;	/* full: timers_kick when a round ends */
		heap_remove(&timers, m);
		sched_run(m);	/* may set m's deadline again */
	}
	m = heap_top(&timers);
	rearm(m != NULL && m->due <= now);
}

void
timers_init(void)
{
	heap_init(&timers, due_before, offsetof(struct qmsg, tidx));
	ready = 1;
}

void
timers_set(struct qmsg *m, time_t when)
{
	if (heap_contains(&timers, m)) {
		if (m->due == when)
			return;
		m->due = when;
		heap_update(&timers, m);
	} else {
		m->due = when;
		if (heap_insert(&timers, m) == -1) {
			/* Retried by the next round's end or a flush. */
			log_warn("%s: no memory for its deadline", m->env.id);
			return;
		}
	}
	rearm(0);
}

void
timers_kick(void)
{
	if (ready)
		rearm(1);
}

void
timers_clear(struct qmsg *m)
{
	if (!ready || !heap_contains(&timers, m))
		return;
	heap_remove(&timers, m);
	rearm(0);
}

size_t
timers_count(void)
{
	return heap_len(&timers);
}

void
timers_shutdown(void)
{
	if (armed != NULL)
		evloop_timer_cancel(Q->loop, armed);
	armed = NULL;
	heap_free(&timers);
}
