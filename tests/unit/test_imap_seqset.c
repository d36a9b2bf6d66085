/*
 * test_imap_seqset.c - sequence sets against a mailbox: "*" as the
 * largest number in use, reversed ranges, sorting and merging,
 * membership, iteration, the range cap, and a hostile 100,000-range
 * set that must stay cheap (sorted once, looked up by binary search).
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

#include "imap_seqset.h"

static void
parse_ok(struct imap_seqset *set, const char *s, uint32_t star)
{
	if (imap_seqset_parse(set, s, strlen(s), star, IMAP_SEQSET_MAX) != 0)
		fail_msg("refused %s", s);
}

/* The set's ranges as "lo:hi,lo:hi". */
static void
ranges(const struct imap_seqset *set, char *out, size_t max)
{
	size_t i, n = 0;

	out[0] = '\0';
	for (i = 0; i < set->n; i++)
		n += (size_t)snprintf(out + n, max - n, "%s%u:%u",
		    i ? "," : "", set->r[i].lo, set->r[i].hi);
}

static void
test_rfc_example_normalised(void **state)
{
	struct imap_seqset	set = { 0 };
	char			r[256];

	(void)state;
	/* RFC 3501 9: "2,4:7,9,12:*" on 15 messages. */
	parse_ok(&set, "2,4:7,9,12:*", 15);
	ranges(&set, r, sizeof(r));
	assert_string_equal(r, "2:2,4:7,9:9,12:15");
	assert_int_equal(imap_seqset_count(&set), 10);
	/* "*:4" with 3 messages is "3:4" (RFC 3501 6.4.8: order unimportant). */
	parse_ok(&set, "*:4", 3);
	ranges(&set, r, sizeof(r));
	assert_string_equal(r, "3:4");
	/* The brief's example: overlapping and adjacent ranges merge. */
	parse_ok(&set, "1:5,7,*:3,9:*", 10);
	ranges(&set, r, sizeof(r));
	assert_string_equal(r, "1:10");
	parse_ok(&set, "5:1,7,6,20:30,8", 100);
	ranges(&set, r, sizeof(r));
	assert_string_equal(r, "1:8,20:30");
	assert_int_equal(imap_seqset_max(&set), 30);
	imap_seqset_free(&set);
}

static void
test_membership_and_iteration(void **state)
{
	struct imap_seqset	set = { 0 };
	struct imap_seqset_iter	it = { 0, 0 };
	uint32_t		v, got[16];
	size_t			n = 0;

	(void)state;
	parse_ok(&set, "9,2:4,4294967295,*", 7);
	assert_false(imap_seqset_has(&set, 0));
	assert_false(imap_seqset_has(&set, 1));
	assert_true(imap_seqset_has(&set, 2));
	assert_true(imap_seqset_has(&set, 4));
	assert_false(imap_seqset_has(&set, 5));
	assert_true(imap_seqset_has(&set, 7));
	assert_false(imap_seqset_has(&set, 8));
	assert_true(imap_seqset_has(&set, 9));
	assert_true(imap_seqset_has(&set, 4294967295U));
	while (n < 16 && imap_seqset_next(&set, &it, &v))
		got[n++] = v;
	assert_int_equal(n, 6);
	assert_int_equal(got[0], 2);
	assert_int_equal(got[2], 4);
	assert_int_equal(got[3], 7);
	assert_int_equal(got[4], 9);
	assert_int_equal(got[5], 4294967295U);
	assert_int_equal(imap_seqset_next(&set, &it, &v), 0);
	imap_seqset_free(&set);
}

static void
test_empty_mailbox_star(void **state)
{
	struct imap_seqset set = { 0 };

	(void)state;
	/* UID FETCH 1:* in an empty mailbox: no UID 0 message exists. */
	parse_ok(&set, "*", 0);
	assert_false(imap_seqset_has(&set, 1));
	assert_int_equal(imap_seqset_max(&set), 0);
	imap_seqset_free(&set);
}

static void
test_bad_sets_refused(void **state)
{
	static const char *const bad[] = {
		"", "0", "1:0", "1:", ":1", "1,,2", "1,", ",1", "1:2:3", "a",
		"01", "4294967296", "$", "1 2", "*:*:*", "1,*x",
	};
	struct imap_seqset	set = { 0 };
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_seqset_parse(&set, bad[i], strlen(bad[i]), 10,
		    IMAP_SEQSET_MAX) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
		assert_int_equal(set.n, 0);
		assert_null(set.r);
	}
}

static void
test_range_cap(void **state)
{
	struct imap_seqset set = { 0 };

	(void)state;
	assert_int_equal(imap_seqset_parse(&set, "1,2,3", 5, 10, 3), 0);
	assert_int_equal(imap_seqset_parse(&set, "1,2,3,4", 7, 10, 3), -1);
	imap_seqset_free(&set);
}

static void
test_hostile_100000_ranges_stay_cheap(void **state)
{
	struct imap_seqset	 set = { 0 };
	struct imap_seqset_iter	 it = { 0, 0 };
	size_t			 i, n = 0, cap = 100000 * 12;
	char			*s = malloc(cap);
	uint32_t		 v;
	uint64_t		 seen = 0;
	clock_t			 t0;

	(void)state;
	/* Descending odd numbers: the worst order for an insertion sort. */
	for (i = 0; i < 100000; i++)
		n += (size_t)snprintf(s + n, cap - n, "%s%zu", i ? "," : "",
		    2 * (100000 - i) + 1);
	t0 = clock();
	assert_int_equal(imap_seqset_parse(&set, s, n, 4000000, 100000), 0);
	assert_int_equal(set.n, 100000);
	for (i = 0; i < 1000000; i++)
		if (imap_seqset_has(&set, (uint32_t)i))
			seen++;
	assert_int_equal(seen, 100000);
	seen = 0;
	while (imap_seqset_next(&set, &it, &v))
		seen++;
	assert_int_equal(seen, 100000);
	/* Quadratic work would be 10^10 steps: minutes, not this. */
	assert_true((clock() - t0) / CLOCKS_PER_SEC < 5);
	/* One range more than the cap is refused before any allocation. */
	assert_int_equal(imap_seqset_parse(&set, s, n, 4000000, 99999), -1);
	free(s);
	imap_seqset_free(&set);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example_normalised),
		cmocka_unit_test(test_membership_and_iteration),
		cmocka_unit_test(test_empty_mailbox_star),
		cmocka_unit_test(test_bad_sets_refused),
		cmocka_unit_test(test_range_cap),
		cmocka_unit_test(test_hostile_100000_ranges_stay_cheap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
