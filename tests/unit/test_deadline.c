/*
 * test_deadline.c - libcommon/deadline: a passed deadline leaves 0 ms,
 * a far one is capped for poll(2) instead of overflowing, and a near
 * one leaves about what was asked.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "deadline.h"

static void
test_passed_deadline_leaves_nothing(void **state)
{
	uint64_t now = deadline_now_ms();

	assert_int_equal(deadline_left_ms(now), 0);
	assert_int_equal(deadline_left_ms(now - 5000), 0);
	assert_int_equal(deadline_left_ms(0), 0);
}

static void
test_far_deadlines_are_capped_not_wrapped(void **state)
{
	assert_int_equal(deadline_left_ms(deadline_in_ms(UINT64_MAX)), INT_MAX);
	assert_int_equal(deadline_left_ms(deadline_in_ms(
	    (uint64_t)INT_MAX * 4)), INT_MAX);
	assert_true(deadline_in_ms(UINT64_MAX - 1) == UINT64_MAX);
}

static void
test_near_deadline_leaves_what_was_asked(void **state)
{
	int left = deadline_left_ms(deadline_in_ms(10000));

	assert_true(left > 9000 && left <= 10000);
	assert_true(deadline_now_ms() <= deadline_in_ms(0));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passed_deadline_leaves_nothing),
		cmocka_unit_test(test_far_deadlines_are_capped_not_wrapped),
		cmocka_unit_test(test_near_deadline_leaves_what_was_asked),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
