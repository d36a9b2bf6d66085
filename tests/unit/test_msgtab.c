/*
 * test_msgtab.c - queued/msgtab.c: every message added is found by its
 * id through the table's growth, none that was removed or never added
 * is, and removal in any order leaves the others findable.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "queued.h"

struct queued	*Q;

#define NMSG	5000	/* past several doublings of the first table */

static struct qmsg msgs[NMSG];

static void
name(struct qmsg *m, size_t i)
{
	snprintf(m->env.id, sizeof(m->env.id), "%016zX", i * 7919 + 13);
}

static void
test_found_through_growth_and_removal(void **state)
{
	char	other[QID_LEN + 1];
	size_t	i;

	(void)state;
	for (i = 0; i < NMSG; i++) {
		name(&msgs[i], i);
		msgtab_add(&msgs[i]);
		/* An earlier one is still there after each growth. */
		assert_ptr_equal(msgtab_find(msgs[i / 2].env.id), &msgs[i / 2]);
	}
	for (i = 0; i < NMSG; i++)
		assert_ptr_equal(msgtab_find(msgs[i].env.id), &msgs[i]);
	snprintf(other, sizeof(other), "%016X", 1u);
	assert_null(msgtab_find(other));
	assert_null(msgtab_find(""));

	/* Every third one goes, from the end: the rest stay. */
	for (i = NMSG; i-- > 0;)
		if (i % 3 == 0)
			msgtab_del(&msgs[i]);
	for (i = 0; i < NMSG; i++) {
		if (i % 3 == 0)
			assert_null(msgtab_find(msgs[i].env.id));
		else
			assert_ptr_equal(msgtab_find(msgs[i].env.id), &msgs[i]);
	}
	/* Removing one that is not there changes nothing. */
	msgtab_del(&msgs[0]);
	assert_ptr_equal(msgtab_find(msgs[1].env.id), &msgs[1]);
	msgtab_shutdown();
	assert_null(msgtab_find(msgs[1].env.id));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_found_through_growth_and_removal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
