/*
 * test_qid.c - libcommon/qid: queue ids are unique, sort in creation order
 * as plain strings (the queue is listed with strcmp), and qid_valid accepts
 * exactly 16 upper-case hex digits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "qid.h"

#define NIDS 10000

static void
test_new_ids_are_valid_unique_and_strictly_increasing(void **state)
{
	char	(*ids)[QID_LEN + 1];
	size_t	 i;

	ids = calloc(NIDS, sizeof(*ids));
	assert_non_null(ids);
	for (i = 0; i < NIDS; i++) {
		qid_new(ids[i]);
		assert_int_equal(strlen(ids[i]), QID_LEN);
		assert_true(qid_valid(ids[i]));
		/* strictly increasing implies unique */
		if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
			fail_msg("id %zu (%s) not above id %zu (%s)", i, ids[i],
			    i - 1, ids[i - 1]);
	}
	free(ids);
}

/* Strictly increasing ids from g at each of the clock readings in t[]. */
static void
assert_increasing(struct qid_gen *g, const uint64_t *t, size_t n,
    char last[QID_LEN + 1])
{
	char	id[QID_LEN + 1];
	size_t	i;

	for (i = 0; i < n; i++) {
		qid_next(g, t[i], id);
		assert_true(qid_valid(id));
		if (last[0] != '\0' && strcmp(last, id) >= 0)
			fail_msg("id %s at t=%llu not above %s", id,
			    (unsigned long long)t[i], last);
		memcpy(last, id, QID_LEN + 1);
	}
}

static void
test_a_clock_stepped_back_an_hour_never_waits_and_ids_keep_rising(
    void **state)
{
	struct qid_gen	g = { 0, 0 };
	const uint64_t	now = 1790000000ULL * 1000000, hour = 3600ULL * 1000000;
	uint64_t	t[10000];
	char		last[QID_LEN + 1] = "";
	size_t		i;

	t[0] = now;
	assert_increasing(&g, t, 1, last);
	/* One hour back, and 10,000 ids there: none waits for the clock. */
	for (i = 0; i < 10000; i++)
		t[i] = now - hour + i;
	assert_increasing(&g, t, 10000, last);
	/* Logical time ran only as far ahead as the ids needed. */
	assert_true(g.last_us >= now && g.last_us <= now + 3);
	/* Once the wall clock passes the logical one, it leads again. */
	t[0] = now + hour;
	assert_increasing(&g, t, 1, last);
	assert_true(g.last_us == now + hour && g.counter == 0);
}

static void
test_a_full_counter_moves_logical_time_on_by_a_microsecond(void **state)
{
	struct qid_gen	g = { 0, 0 };
	uint64_t	t[5000];
	char		last[QID_LEN + 1] = "";
	size_t		i;

	/* 5,000 ids within one frozen microsecond: 0x1000 per microsecond. */
	for (i = 0; i < 5000; i++)
		t[i] = 1000;
	assert_increasing(&g, t, 5000, last);
	assert_int_equal(g.last_us, 1001);
	assert_int_equal(g.counter, 5000 - 0x1000 - 1);
}

static void
test_valid_accepts_sixteen_uppercase_hex_digits(void **state)
{
	assert_true(qid_valid("0123456789ABCDEF"));
	assert_true(qid_valid("0000000000000000"));
	assert_true(qid_valid("FFFFFFFFFFFFFFFF"));
}

static void
test_valid_rejects_wrong_length_case_and_characters(void **state)
{
	assert_false(qid_valid(""));
	assert_false(qid_valid("0123456789ABCDE"));	/* 15 */
	assert_false(qid_valid("0123456789ABCDEF0"));	/* 17 */
	assert_false(qid_valid("0123456789abcdef"));	/* lower case */
	assert_false(qid_valid("0123456789ABCDEG"));
	assert_false(qid_valid("0123456789ABCDE "));
	assert_false(qid_valid(" 0123456789ABCDE"));
	assert_false(qid_valid("../../etc/passwd"));
	assert_false(qid_valid("0123456789ABCDE/"));
	assert_false(qid_valid("0123456789ABCDE\n"));
	assert_false(qid_valid("0123456789ABCDEF\n"));
	assert_false(qid_valid("\xff" "123456789ABCDEF"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_ids_are_valid_unique_and_strictly_increasing),
		cmocka_unit_test(test_a_clock_stepped_back_an_hour_never_waits_and_ids_keep_rising),
		cmocka_unit_test(test_a_full_counter_moves_logical_time_on_by_a_microsecond),
		cmocka_unit_test(test_valid_accepts_sixteen_uppercase_hex_digits),
		cmocka_unit_test(test_valid_rejects_wrong_length_case_and_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
