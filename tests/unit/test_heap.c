/*
 * test_heap.c - libcommon/heap: elements come out in order whatever the
 * order they went in, removal and re-keying anywhere keep the order, an
 * element knows whether it is in the heap, and a million deadlines go in
 * and come out in order (the times are printed: the figures in
 * doc/DESIGN.md come from here).
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

#include "heap.h"

struct el {
	uint64_t	key;
	uint32_t	tie;
	size_t		idx;
};

static int
el_before(const void *a, const void *b)
{
	const struct el *x = a, *y = b;

	return x->key < y->key || (x->key == y->key && x->tie < y->tie);
}

/* Pops everything and checks the order; returns how many came out. */
static size_t
drain_in_order(struct heap *h)
{
	struct el	*e, *prev = NULL;
	size_t		 n = 0;

	while ((e = heap_pop(h)) != NULL) {
		assert_int_equal(e->idx, HEAP_NONE);
		if (prev != NULL)
			assert_false(el_before(e, prev));
		prev = e;
		n++;
	}
	return n;
}

static void
test_pops_in_order_with_ties_by_tie(void **state)
{
	struct heap	h;
	struct el	e[200];
	size_t		i;

	(void)state;
	heap_init(&h, el_before, offsetof(struct el, idx));
	assert_null(heap_top(&h));
	assert_null(heap_pop(&h));
	srandom(1);
	for (i = 0; i < 200; i++) {
		e[i].key = (uint64_t)(random() % 20);
		e[i].tie = (uint32_t)i;
		assert_int_equal(heap_insert(&h, &e[i]), 0);
	}
	assert_int_equal(heap_len(&h), 200);
	assert_int_equal(drain_in_order(&h), 200);
	heap_free(&h);
}

static void
test_remove_and_update_anywhere(void **state)
{
	struct heap	h;
	struct el	e[500];
	size_t		i, in = 0;

	(void)state;
	heap_init(&h, el_before, offsetof(struct el, idx));
	srandom(2);
	for (i = 0; i < 500; i++) {
		e[i].key = (uint64_t)random() % 1000;
		e[i].tie = (uint32_t)i;
		e[i].idx = HEAP_NONE;
		assert_false(heap_contains(&h, &e[i]));
		assert_int_equal(heap_insert(&h, &e[i]), 0);
		assert_true(heap_contains(&h, &e[i]));
	}
	/* Every third out, every other one re-keyed up or down. */
	for (i = 0; i < 500; i++) {
		if (i % 3 == 0) {
			heap_remove(&h, &e[i]);
			assert_false(heap_contains(&h, &e[i]));
			assert_int_equal(e[i].idx, HEAP_NONE);
			heap_remove(&h, &e[i]);	/* twice: nothing */
		} else if (i % 2 == 0) {
			e[i].key = (uint64_t)random() % 1000;
			heap_update(&h, &e[i]);
		}
	}
	for (i = 0; i < 500; i++)
		in += heap_contains(&h, &e[i]);
	assert_int_equal(heap_len(&h), in);
	assert_int_equal(drain_in_order(&h), in);
	heap_free(&h);
}

static void
test_free_leaves_elements_outside(void **state)
{
	struct heap	h, other;
	struct el	a = { 1, 0, HEAP_NONE }, b = { 2, 1, HEAP_NONE };

	(void)state;
	heap_init(&h, el_before, offsetof(struct el, idx));
	heap_init(&other, el_before, offsetof(struct el, idx));
	assert_int_equal(heap_insert(&h, &a), 0);
	assert_int_equal(heap_insert(&h, &b), 0);
	/* An element of another heap is not in this one. */
	assert_false(heap_contains(&other, &a));
	heap_remove(&other, &a);
	assert_int_equal(heap_len(&h), 2);
	heap_free(&h);
	assert_int_equal(a.idx, HEAP_NONE);
	assert_int_equal(b.idx, HEAP_NONE);
	assert_int_equal(heap_len(&h), 0);
	heap_free(&other);
}

static double
secs(const struct timespec *a, const struct timespec *b)
{
	return (double)(b->tv_sec - a->tv_sec) +
	    (double)(b->tv_nsec - a->tv_nsec) / 1e9;
}

/* n deadlines within five days, in random order: in, then all out. */
static void
scale(size_t n)
{
	struct heap	 h;
	struct el	*e;
	struct timespec	 t0, t1, t2;
	size_t		 i;

	assert_non_null(e = calloc(n, sizeof(*e)));
	heap_init(&h, el_before, offsetof(struct el, idx));
	srandom(3);
	for (i = 0; i < n; i++) {
		e[i].key = (uint64_t)random() % (5 * 86400);
		e[i].tie = (uint32_t)i;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (i = 0; i < n; i++)
		assert_int_equal(heap_insert(&h, &e[i]), 0);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	/* A tenth re-keyed (a retry's next deadline), a tenth removed. */
	for (i = 0; i < n; i += 10) {
		e[i].key += 3600;
		heap_update(&h, &e[i]);
		heap_remove(&h, &e[i + 5]);
	}
	clock_gettime(CLOCK_MONOTONIC, &t2);
	print_message("heap: %zu inserts %.3f s; %zu updates + %zu removes "
	    "%.3f s\n", n, secs(&t0, &t1), n / 10, n / 10, secs(&t1, &t2));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(drain_in_order(&h), n - n / 10);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("heap: %zu pops %.3f s\n", n - n / 10, secs(&t0, &t1));
	heap_free(&h);
	free(e);
}

static void
test_hundred_thousand_deadlines(void **state)
{
	(void)state;
	scale(100000);
}

static void
test_a_million_deadlines(void **state)
{
	(void)state;
	scale(1000000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pops_in_order_with_ties_by_tie),
		cmocka_unit_test(test_remove_and_update_anywhere),
		cmocka_unit_test(test_free_leaves_elements_outside),
		cmocka_unit_test(test_hundred_thousand_deadlines),
		cmocka_unit_test(test_a_million_deadlines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
