/*
 * test_workq.c - libcommon/workq: work runs on the worker threads, and
 * every completion runs in the loop's thread, once per job, with what the
 * work left in its argument.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "evloop.h"
#include "workq.h"

#define NJOBS	200

struct job {
	int		 n;
	int		 squared;	/* written by the work */
	pthread_t	 worker;
	int		 done;
};

static pthread_t	 loop_thread;
static struct evloop	*loop;
static int		 ndone, in_loop_thread, right_results;

static void
work(void *arg)
{
	struct job	*j = arg;
	struct timespec	 ts = { 0, 100000 };	/* let threads overlap */

	nanosleep(&ts, NULL);
	j->worker = pthread_self();
	j->squared = j->n * j->n;
}

static void
done(void *arg)
{
	struct job *j = arg;

	j->done++;
	in_loop_thread += pthread_equal(pthread_self(), loop_thread) != 0;
	right_results += j->squared == j->n * j->n;
	if (++ndone == NJOBS)
		evloop_stop(loop);
}

static void
test_work_on_threads_completions_in_the_loop(void **state)
{
	static struct job	 jobs[NJOBS];
	struct workq		*q;
	int			 i, off_loop = 0;

	loop_thread = pthread_self();
	loop = evloop_new();
	assert_non_null(loop);
	q = workq_new(loop, 4);
	assert_non_null(q);
	for (i = 0; i < NJOBS; i++) {
		jobs[i].n = i;
		assert_int_equal(workq_run(q, work, done, &jobs[i]), 0);
	}
	assert_int_equal(evloop_run(loop), 0);
	assert_int_equal(ndone, NJOBS);
	assert_int_equal(in_loop_thread, NJOBS);
	assert_int_equal(right_results, NJOBS);
	for (i = 0; i < NJOBS; i++) {
		assert_int_equal(jobs[i].done, 1);
		off_loop += !pthread_equal(jobs[i].worker, loop_thread);
	}
	assert_int_equal(off_loop, NJOBS);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_work_on_threads_completions_in_the_loop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
