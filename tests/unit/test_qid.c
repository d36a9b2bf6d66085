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
		cmocka_unit_test(test_valid_accepts_sixteen_uppercase_hex_digits),
		cmocka_unit_test(test_valid_rejects_wrong_length_case_and_characters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
