/*
 * test_timers.c - queued/timers.c: due messages are handed to sched_run
 * earliest first (ties by queue id), at most a batch per loop turn, and
 * only once; a cleared deadline never fires, a moved one fires at its new
 * time, a deadline in the future does not fire now, and a full active
 * set (queue_active_limit) holds due messages until timers_kick. sched_run and Q
 * are this test's own (timers.c needs nothing else of queued).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "queued.h"

struct queued	*Q;
static struct queued q;

#define NMSG	1000

static struct qmsg	 msgs[NMSG];
static struct qmsg	*ran[NMSG * 2];
static size_t		 nran, turns, ran_at_turn[64], expect;

void
sched_run(struct qmsg *m)
{
	assert_true(nran < NMSG * 2);
	ran[nran++] = m;
	if (nran == expect)
		evloop_stop(Q->loop);
}

static void
on_idle(void *arg)
{
	(void)arg;
	if (turns < 64)
		ran_at_turn[turns] = nran;
	turns++;
}

static void
stop_now(void *arg)
{
	(void)arg;
	evloop_stop(Q->loop);
}

static int
setup(void **state)
{
	size_t i;

	(void)state;
	Q = &q;
	memset(&q, 0, sizeof(q));
	q.conf.queue_active_limit = 20000;
	assert_non_null(q.loop = evloop_new());
	evloop_on_idle(q.loop, on_idle, NULL);
	timers_init();
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < NMSG; i++) {
		/* Ids in reverse order of their index: ties go by id. */
		snprintf(msgs[i].env.id, sizeof(msgs[i].env.id), "%016zX",
		    (size_t)(NMSG - i));
		msgs[i].tidx = HEAP_NONE;
	}
	nran = turns = expect = 0;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	timers_shutdown();
	evloop_free(q.loop);
	return 0;
}

static void
test_due_messages_run_earliest_first_a_batch_per_turn(void **state)
{
	time_t	now = time(NULL);
	size_t	i;

	(void)state;
	srandom(4);
	/* All in the past, in random order, many sharing a deadline. */
	for (i = 0; i < NMSG; i++)
		timers_set(&msgs[i], now - 1000 + random() % 50);
	assert_int_equal(timers_count(), NMSG);
	expect = NMSG;
	assert_int_equal(evloop_run(q.loop), 0);
	assert_int_equal(nran, NMSG);
	assert_int_equal(timers_count(), 0);
	for (i = 1; i < NMSG; i++) {
		assert_true(ran[i - 1]->due <= ran[i]->due);
		if (ran[i - 1]->due == ran[i]->due)
			assert_true(strcmp(ran[i - 1]->env.id,
			    ran[i]->env.id) < 0);
	}
	/* Never more than a batch (256) between two turns' ends. */
	assert_true(turns >= NMSG / 256);
	for (i = 0; i < turns && i < 64; i++)
		assert_true(ran_at_turn[i] - (i ? ran_at_turn[i - 1] : 0) <=
		    256);
}

static void
test_cleared_moved_and_future_deadlines(void **state)
{
	time_t	now = time(NULL);
	size_t	i;

	(void)state;
	for (i = 0; i < 10; i++)
		timers_set(&msgs[i], now - 10);
	/* Cleared: never runs; cleared twice: nothing. */
	timers_clear(&msgs[3]);
	timers_clear(&msgs[3]);
	/* Moved to the future, and one set again to a later past time. */
	timers_set(&msgs[5], now + 3600);
	timers_set(&msgs[7], now - 5);
	/* A message never set is not in the heap: clearing it is harmless. */
	timers_clear(&msgs[20]);
	assert_int_equal(timers_count(), 9);
	expect = 8;
	assert_int_equal(evloop_run(q.loop), 0);
	assert_int_equal(nran, 8);
	for (i = 0; i < nran; i++) {
		assert_ptr_not_equal(ran[i], &msgs[3]);
		assert_ptr_not_equal(ran[i], &msgs[5]);
	}
	/* The moved one came last: its deadline was the latest past one. */
	assert_ptr_equal(ran[7], &msgs[7]);
	/* The future one stays, and does not fire in the next turns. */
	assert_int_equal(timers_count(), 1);
	assert_non_null(evloop_timer(q.loop, 50, stop_now, NULL));
	assert_int_equal(evloop_run(q.loop), 0);
	assert_int_equal(nran, 8);
	assert_int_equal(timers_count(), 1);
}

static size_t ran_before_kick = (size_t)-1;

/* A round ends after a while: the set has room again. */
static void
round_ends(void *arg)
{
	(void)arg;
	ran_before_kick = nran;
	q.rounds = 0;
	timers_kick();
}

static void
test_a_full_active_set_holds_due_messages_until_a_kick(void **state)
{
	time_t	now = time(NULL);
	size_t	i;

	(void)state;
	q.conf.queue_active_limit = 2;
	q.rounds = 2;
	for (i = 0; i < 5; i++)
		timers_set(&msgs[i], now - 10 + (time_t)i);
	/* Loop turns pass for 50 ms; nothing starts while the set is full. */
	assert_non_null(evloop_timer(q.loop, 50, round_ends, NULL));
	expect = 5;
	assert_int_equal(evloop_run(q.loop), 0);
	assert_int_equal(ran_before_kick, 0);
	assert_true(turns > 1);
	/* Then the waiting ones start, earliest first. */
	assert_int_equal(nran, 5);
	for (i = 0; i < 5; i++)
		assert_ptr_equal(ran[i], &msgs[i]);
	assert_int_equal(timers_count(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_due_messages_run_earliest_first_a_batch_per_turn,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_cleared_moved_and_future_deadlines, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_a_full_active_set_holds_due_messages_until_a_kick,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
