/*
 * test_evloop.c - libcommon/evloop: the epoll loop under queued and
 * resolverd. Timers fire in deadline order (ties in the order they were
 * armed) and never early; a cancelled timer never fires; descriptor
 * callbacks see readiness, hang-up and removal; evloop_stop ends the run,
 * and that run only.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "evloop.h"

struct rec {
	struct evloop	*l;
	int		 order[16];
	int		 n;
	uint64_t	 at[16];
	int		 stop_at;	/* stop after this many records */
};

struct tick {
	struct rec	*r;
	int		 id;
};

static void
record(struct rec *r, int id)
{
	assert_true(r->n < 16);
	r->at[r->n] = evloop_now_ms();
	r->order[r->n++] = id;
	if (r->n == r->stop_at)
		evloop_stop(r->l);
}

static void
on_timer(void *arg)
{
	struct tick *t = arg;

	record(t->r, t->id);
}

static void
test_timers_fire_in_deadline_order_and_not_early(void **state)
{
	struct rec	r = { 0 };
	struct tick	t[5];
	uint64_t	start;
	int		i;

	assert_non_null(r.l = evloop_new());
	r.stop_at = 5;
	for (i = 0; i < 5; i++)
		t[i] = (struct tick){ &r, i };
	start = evloop_now_ms();
	assert_non_null(evloop_timer(r.l, 60, on_timer, &t[0]));
	assert_non_null(evloop_timer(r.l, 20, on_timer, &t[1]));
	assert_non_null(evloop_timer(r.l, 40, on_timer, &t[2]));
	assert_non_null(evloop_timer(r.l, 0, on_timer, &t[3]));
	assert_non_null(evloop_timer(r.l, 20, on_timer, &t[4]));
	assert_int_equal(evloop_run(r.l), 0);
	assert_int_equal(r.n, 5);
	assert_int_equal(r.order[0], 3);
	assert_int_equal(r.order[1], 1);	/* equal deadlines: armed first */
	assert_int_equal(r.order[2], 4);
	assert_int_equal(r.order[3], 2);
	assert_int_equal(r.order[4], 0);
	assert_true(r.at[1] - start >= 20);
	assert_true(r.at[3] - start >= 40);
	assert_true(r.at[4] - start >= 60);
	evloop_free(r.l);
}

static void
test_cancelled_timer_never_fires(void **state)
{
	struct rec	 r = { 0 };
	struct tick	 a, b, c;
	struct ev_timer	*ta, *tc;

	assert_non_null(r.l = evloop_new());
	r.stop_at = 1;
	a = (struct tick){ &r, 1 };
	b = (struct tick){ &r, 2 };
	c = (struct tick){ &r, 3 };
	assert_non_null(ta = evloop_timer(r.l, 5, on_timer, &a));
	assert_non_null(evloop_timer(r.l, 30, on_timer, &b));
	assert_non_null(tc = evloop_timer(r.l, 10, on_timer, &c));
	evloop_timer_cancel(r.l, ta);
	evloop_timer_cancel(r.l, tc);
	evloop_timer_cancel(r.l, NULL);
	assert_int_equal(evloop_run(r.l), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 2);
	evloop_free(r.l);
}

struct canceller {
	struct rec	*r;
	struct ev_timer	*victim;
};

static void
on_cancel_other(void *arg)
{
	struct canceller *c = arg;

	record(c->r, 10);
	evloop_timer_cancel(c->r->l, c->victim);
}

static void
test_timer_cancelled_earlier_in_its_turn_never_fires(void **state)
{
	struct rec		r = { 0 };
	struct canceller	c;
	struct tick		v, end;

	assert_non_null(r.l = evloop_new());
	r.stop_at = 2;
	c.r = &r;
	v = (struct tick){ &r, 20 };
	end = (struct tick){ &r, 30 };
	assert_non_null(evloop_timer(r.l, 10, on_cancel_other, &c));
	/* same deadline: due in the same turn, after the canceller */
	assert_non_null(c.victim = evloop_timer(r.l, 10, on_timer, &v));
	assert_non_null(evloop_timer(r.l, 40, on_timer, &end));
	assert_int_equal(evloop_run(r.l), 0);
	assert_int_equal(r.n, 2);
	assert_int_equal(r.order[0], 10);
	assert_int_equal(r.order[1], 30);
	evloop_free(r.l);
}

static void
on_rearm(void *arg)
{
	struct tick *t = arg;

	record(t->r, t->id);
	if (t->r->n < 3)
		assert_non_null(evloop_timer(t->r->l, 5, on_rearm, t));
}

static void
test_timer_armed_from_a_timer_callback_fires(void **state)
{
	struct rec	r = { 0 };
	struct tick	t;

	assert_non_null(r.l = evloop_new());
	r.stop_at = 3;
	t = (struct tick){ &r, 7 };
	assert_non_null(evloop_timer(r.l, 1, on_rearm, &t));
	assert_int_equal(evloop_run(r.l), 0);
	assert_int_equal(r.n, 3);
	evloop_free(r.l);
}

struct pipe_io {
	struct rec	*r;
	int		 id;
	char		 got[64];
	size_t		 len;
	int		 events;
	int		 other;		/* an fd to drop on first call, or -1 */
};

static void
on_readable(int fd, int events, void *arg)
{
	struct pipe_io	*p = arg;
	ssize_t		 n;

	p->events |= events;
	if (p->other != -1) {
		evloop_io_del(p->r->l, p->other);
		p->other = -1;
	}
	n = read(fd, p->got + p->len, sizeof(p->got) - 1 - p->len);
	if (n > 0)
		p->len += (size_t)n;
	if (n == 0)
		evloop_io_del(p->r->l, fd);
	record(p->r, p->id);
}

static void
on_write_once(int fd, int events, void *arg)
{
	struct pipe_io *p = arg;

	assert_true(events & EV_WRITE);
	assert_int_equal(write(fd, "ping", 4), 4);
	evloop_io_del(p->r->l, fd);
	record(p->r, p->id);
}

static void
test_io_callbacks_carry_data_through_a_pipe(void **state)
{
	struct rec	r = { 0 };
	struct pipe_io	rd = { 0 }, wr = { 0 };
	int		p[2];

	assert_non_null(r.l = evloop_new());
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	r.stop_at = 2;
	rd = (struct pipe_io){ .r = &r, .id = 1, .other = -1 };
	wr = (struct pipe_io){ .r = &r, .id = 2, .other = -1 };
	assert_int_equal(evloop_io(r.l, p[0], EV_READ, on_readable, &rd), 0);
	assert_int_equal(evloop_io(r.l, p[1], EV_WRITE, on_write_once, &wr), 0);
	assert_int_equal(evloop_run(r.l), 0);
	assert_int_equal(r.order[0], 2);	/* written first */
	assert_int_equal(r.order[1], 1);	/* then read */
	assert_int_equal(rd.len, 4);
	assert_memory_equal(rd.got, "ping", 4);
	assert_true(rd.events & EV_READ);
	evloop_free(r.l);
	close(p[0]);
	close(p[1]);
}

static void
test_hangup_is_reported_as_readable(void **state)
{
	struct rec	r = { 0 };
	struct pipe_io	rd;
	int		p[2];

	assert_non_null(r.l = evloop_new());
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	r.stop_at = 1;
	rd = (struct pipe_io){ .r = &r, .id = 1, .other = -1 };
	assert_int_equal(evloop_io(r.l, p[0], EV_READ, on_readable, &rd), 0);
	close(p[1]);
	assert_int_equal(evloop_run(r.l), 0);
	assert_true(rd.events & EV_READ);
	assert_int_equal(rd.len, 0);
	evloop_free(r.l);
	close(p[0]);
}

static void
on_stop_timer(void *arg)
{
	struct rec *r = arg;

	record(r, 99);
	evloop_stop(r->l);
}

static void
test_removed_descriptor_gets_no_callback(void **state)
{
	struct rec	r = { 0 };
	struct pipe_io	rd;
	int		p[2];

	assert_non_null(r.l = evloop_new());
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	rd = (struct pipe_io){ .r = &r, .id = 1, .other = -1 };
	assert_int_equal(evloop_io(r.l, p[0], EV_READ, on_readable, &rd), 0);
	assert_int_equal(evloop_io(r.l, p[0], 0, NULL, NULL), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	assert_non_null(evloop_timer(r.l, 30, on_stop_timer, &r));
	assert_int_equal(evloop_run(r.l), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 99);
	/* removing twice, or an fd never added, is harmless */
	evloop_io_del(r.l, p[0]);
	evloop_io_del(r.l, 1000);
	evloop_io_del(r.l, -1);
	evloop_free(r.l);
	close(p[0]);
	close(p[1]);
}

static void
test_fd_removed_earlier_in_the_same_batch_is_skipped(void **state)
{
	struct rec	r = { 0 };
	struct pipe_io	a, b;
	int		pa[2], pb[2];

	assert_non_null(r.l = evloop_new());
	assert_int_equal(pipe2(pa, O_NONBLOCK | O_CLOEXEC), 0);
	assert_int_equal(pipe2(pb, O_NONBLOCK | O_CLOEXEC), 0);
	a = (struct pipe_io){ .r = &r, .id = 1, .other = pb[0] };
	b = (struct pipe_io){ .r = &r, .id = 2, .other = pa[0] };
	assert_int_equal(evloop_io(r.l, pa[0], EV_READ, on_readable, &a), 0);
	assert_int_equal(evloop_io(r.l, pb[0], EV_READ, on_readable, &b), 0);
	/* both ready before the loop runs: one batch */
	assert_int_equal(write(pa[1], "a", 1), 1);
	assert_int_equal(write(pb[1], "b", 1), 1);
	assert_non_null(evloop_timer(r.l, 30, on_stop_timer, &r));
	assert_int_equal(evloop_run(r.l), 0);
	/* whichever ran first removed the other: one io record, then stop */
	assert_int_equal(r.n, 2);
	assert_true(r.order[0] == 1 || r.order[0] == 2);
	assert_int_equal(r.order[1], 99);
	evloop_free(r.l);
	close(pa[0]);
	close(pa[1]);
	close(pb[0]);
	close(pb[1]);
}

static void
on_idle(void *arg)
{
	int *n = arg;

	(*n)++;
}

static void
test_idle_callback_runs_once_per_turn(void **state)
{
	struct rec	r = { 0 };
	struct tick	t1, t2;
	int		idles = 0;

	assert_non_null(r.l = evloop_new());
	r.stop_at = 2;
	t1 = (struct tick){ &r, 1 };
	t2 = (struct tick){ &r, 2 };
	evloop_on_idle(r.l, on_idle, &idles);
	assert_non_null(evloop_timer(r.l, 10, on_timer, &t1));
	assert_non_null(evloop_timer(r.l, 40, on_timer, &t2));
	assert_int_equal(evloop_run(r.l), 0);
	/* at least one turn per timer; never more turns than the wakeups */
	assert_true(idles >= 2);
	assert_true(idles <= 10);
	evloop_free(r.l);
}

static void
test_stop_before_run_returns_at_once(void **state)
{
	struct evloop	*l;
	struct rec	 r = { 0 };
	struct tick	 t;

	assert_non_null(l = evloop_new());
	r.l = l;
	t = (struct tick){ &r, 1 };
	assert_non_null(evloop_timer(l, 0, on_timer, &t));
	evloop_stop(l);
	assert_int_equal(evloop_run(l), 0);
	assert_int_equal(r.n, 0);
	/* The stop ended that run only: the next runs the timer. */
	r.stop_at = 1;
	assert_int_equal(evloop_run(l), 0);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.order[0], 1);
	/* unfired timers are freed with the loop */
	assert_non_null(evloop_timer(l, 1000, on_timer, &t));
	evloop_free(l);
}

static void
test_registering_a_bad_descriptor_fails(void **state)
{
	struct evloop	*l;
	struct pipe_io	 rd = { 0 };

	assert_non_null(l = evloop_new());
	assert_int_equal(evloop_io(l, 987, EV_READ, on_readable, &rd), -1);
	/* a failed registration leaves nothing behind to fire */
	evloop_io_del(l, 987);
	evloop_free(l);
}

/* Many timers: each records its deadline slot and creation number. */
#define MANY	20000

struct many {
	struct evloop	*l;
	int		 fired[MANY];
	int		 order[MANY];
	int		 slot[MANY];
	int64_t		 due[MANY];	/* -1: not known to the millisecond */
	int		 n;
	int		 expect;
};

struct many_tick {
	struct many	*m;
	int		 id;
};

static void
on_many(void *arg)
{
	struct many_tick *t = arg;

	t->m->fired[t->id]++;
	t->m->order[t->m->n++] = t->id;
	if (t->m->n == t->m->expect)
		evloop_stop(t->m->l);
}

static void
test_many_timers_fire_in_order_and_cancelled_ones_never(void **state)
{
	static struct many	 m;
	static struct many_tick	 t[MANY];
	static struct ev_timer	*h[MANY];
	int			 i, a, b, checked = 0;
	uint64_t		 before;

	memset(&m, 0, sizeof(m));
	assert_non_null(m.l = evloop_new());
	srandom(7);
	for (i = 0; i < MANY; i++) {
		t[i].m = &m;
		t[i].id = i;
		m.slot[i] = (int)(random() % 40);
		before = evloop_now_ms();
		assert_non_null(h[i] = evloop_timer(m.l, (uint64_t)m.slot[i],
		    on_many, &t[i]));
		m.due[i] = evloop_now_ms() == before ?
		    (int64_t)(before + (uint64_t)m.slot[i]) : -1;
	}
	/* Cancel every third one: from the middle of the heap, too. */
	for (i = 0; i < MANY; i += 3) {
		evloop_timer_cancel(m.l, h[i]);
		h[i] = NULL;
	}
	m.expect = MANY - (MANY + 2) / 3;
	assert_int_equal(evloop_run(m.l), 0);
	assert_int_equal(m.n, m.expect);
	for (i = 0; i < MANY; i++)
		assert_int_equal(m.fired[i], i % 3 == 0 ? 0 : 1);
	/* In deadline order; equal deadlines in creation order. */
	for (i = 1; i < m.n; i++) {
		a = m.order[i - 1];
		b = m.order[i];
		if (m.due[a] == -1 || m.due[b] == -1)
			continue;
		assert_true(m.due[a] <= m.due[b]);
		if (m.due[a] == m.due[b])
			assert_true(a < b);
		checked++;
	}
	assert_true(checked > m.n / 2);
	evloop_free(m.l);
}

static void
test_two_hundred_thousand_timers_arm_and_cancel_quickly(void **state)
{
	struct evloop		*l;
	static struct ev_timer	*h[200000];
	struct timespec		 t0, t1;
	double			 secs;
	int			 i;

	assert_non_null(l = evloop_new());
	clock_gettime(CLOCK_MONOTONIC, &t0);
	srandom(11);
	for (i = 0; i < 200000; i++)
		assert_non_null(h[i] = evloop_timer(l,
		    3600000 + (uint64_t)(random() % 3600000), on_many, NULL));
	for (i = 0; i < 200000; i += 2)
		evloop_timer_cancel(l, h[i]);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	secs = (double)(t1.tv_sec - t0.tv_sec) +
	    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	/* A sorted list took minutes here; the heap takes milliseconds. */
	assert_true(secs < 5.0);
	evloop_free(l);
}

/* Re-arms itself at 0 ms until the descriptor has been served. */
static int	 zero_served;
static int	 zero_fires_before;
static int	 zero_wfd;

static void
on_zero_rearm(void *arg)
{
	struct rec *r = arg;

	if (zero_served) {
		evloop_stop(r->l);
		return;
	}
	/* The descriptor becomes ready while the batch goes on. */
	if (zero_fires_before++ == 0)
		assert_int_equal(write(zero_wfd, "x", 1), 1);
	assert_true(zero_fires_before < 100000);
	assert_non_null(evloop_timer(r->l, 0, on_zero_rearm, r));
}

static void
on_ready_once(int fd, int events, void *arg)
{
	struct rec *r = arg;

	(void)events;
	zero_served = 1;
	evloop_io_del(r->l, fd);
}

/*
 * A timer armed at 0 ms from a timer's callback (a batch that goes on)
 * waits for the next turn: a ready descriptor is served in between.
 */
static void
test_a_zero_timer_rearmed_from_its_callback_lets_descriptors_in(void **state)
{
	struct rec	r = { 0 };
	int		p[2];

	(void)state;
	zero_served = zero_fires_before = 0;
	assert_non_null(r.l = evloop_new());
	assert_int_equal(pipe2(p, O_NONBLOCK | O_CLOEXEC), 0);
	zero_wfd = p[1];
	assert_non_null(evloop_timer(r.l, 0, on_zero_rearm, &r));
	assert_int_equal(evloop_io(r.l, p[0], EV_READ, on_ready_once, &r), 0);
	assert_int_equal(evloop_run(r.l), 0);
	assert_true(zero_served);
	/* Served in the turn after the write, not a spin later. */
	assert_int_equal(zero_fires_before, 1);
	evloop_free(r.l);
	close(p[0]);
	close(p[1]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timers_fire_in_deadline_order_and_not_early),
		cmocka_unit_test(test_cancelled_timer_never_fires),
		cmocka_unit_test(test_timer_cancelled_earlier_in_its_turn_never_fires),
		cmocka_unit_test(test_timer_armed_from_a_timer_callback_fires),
		cmocka_unit_test(
		    test_a_zero_timer_rearmed_from_its_callback_lets_descriptors_in),
		cmocka_unit_test(test_many_timers_fire_in_order_and_cancelled_ones_never),
		cmocka_unit_test(test_two_hundred_thousand_timers_arm_and_cancel_quickly),
		cmocka_unit_test(test_io_callbacks_carry_data_through_a_pipe),
		cmocka_unit_test(test_hangup_is_reported_as_readable),
		cmocka_unit_test(test_removed_descriptor_gets_no_callback),
		cmocka_unit_test(test_fd_removed_earlier_in_the_same_batch_is_skipped),
		cmocka_unit_test(test_idle_callback_runs_once_per_turn),
		cmocka_unit_test(test_stop_before_run_returns_at_once),
		cmocka_unit_test(test_registering_a_bad_descriptor_fails),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
