/*
 * test_auth_rate.c - authd's per-account outbound limits (auth_rate.c)
 * under a fake clock: recipients per hour and messages per day slide
 * with time, a refused RCPT counts nothing, accounts are apart, a full
 * table refuses new accounts (fail closed) but makes room from expired
 * ones, and the list puts the accounts nearest a limit first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authd.h"

#define T0	((time_t)1800000000)	/* a whole hour */

static uint32_t
rcpt(struct auth_rate *r, const char *u, time_t now, uint32_t n, long lim)
{
	struct a_rate_reply ar;

	auth_rate_rcpt(r, u, now, n, lim, &ar);
	return ar.verdict;
}

static uint32_t
mail(struct auth_rate *r, const char *u, time_t now, long lim)
{
	struct a_rate_reply ar;

	auth_rate_mail(r, u, now, lim, &ar);
	return ar.verdict;
}

static void
test_recipients_slide_over_the_hour(void **state)
{
	struct auth_rate	*r = auth_rate_new(10);
	struct a_rate_reply	 ar;

	(void)state;
	assert_non_null(r);
	assert_int_equal(rcpt(r, "a@x.test", T0, 2, 3), A_RATE_OK);
	assert_int_equal(rcpt(r, "a@x.test", T0 + 600, 1, 3), A_RATE_OK);
	/* A refused RCPT counts nothing: one more still fits later. */
	auth_rate_rcpt(r, "a@x.test", T0 + 601, 1, 3, &ar);
	assert_int_equal(ar.verdict, A_RATE_OVER);
	assert_int_equal(ar.which, A_RATE_RECIPIENTS);
	assert_int_equal(ar.used, 3);
	assert_int_equal(ar.limit, 3);
	/* Others are not slowed. */
	assert_int_equal(rcpt(r, "b@x.test", T0 + 601, 3, 3), A_RATE_OK);
	/* The first two leave the window an hour later; the third stays. */
	assert_int_equal(rcpt(r, "a@x.test", T0 + 3599, 1, 3), A_RATE_OVER);
	assert_int_equal(rcpt(r, "a@x.test", T0 + 3600, 2, 3), A_RATE_OK);
	assert_int_equal(rcpt(r, "a@x.test", T0 + 3600, 1, 3), A_RATE_OVER);
	/* No limit: nothing refused. */
	assert_int_equal(rcpt(r, "a@x.test", T0 + 3600, 1000, 0), A_RATE_OK);
	auth_rate_free(r);
}

static void
test_messages_slide_over_the_day(void **state)
{
	struct auth_rate *r = auth_rate_new(10);

	(void)state;
	assert_int_equal(mail(r, "a@x.test", T0, 2), A_RATE_OK);
	auth_rate_sent(r, "a@x.test", T0, 2);
	auth_rate_sent(r, "a@x.test", T0 + 7200, 2);
	assert_int_equal(mail(r, "a@x.test", T0 + 7200, 2), A_RATE_OVER);
	assert_int_equal(mail(r, "c@x.test", T0 + 7200, 2), A_RATE_OK);
	assert_int_equal(mail(r, "a@x.test", T0 + 86399, 2), A_RATE_OVER);
	assert_int_equal(mail(r, "a@x.test", T0 + 86400, 2), A_RATE_OK);
	auth_rate_free(r);
}

static void
test_a_full_table_fails_closed_and_reuses_expired_accounts(void **state)
{
	struct auth_rate	*r = auth_rate_new(2);
	struct a_rate_list	 l;

	(void)state;
	assert_int_equal(rcpt(r, "a@x.test", T0, 1, 10), A_RATE_OK);
	assert_int_equal(rcpt(r, "b@x.test", T0, 1, 10), A_RATE_OK);
	assert_int_equal(rcpt(r, "c@x.test", T0, 1, 10), A_RATE_TEMPFAIL);
	/* An hour on, a and b have nothing left: c takes a slot. */
	assert_int_equal(rcpt(r, "c@x.test", T0 + 3600, 1, 10), A_RATE_OK);
	assert_int_equal(auth_rate_list(r, T0 + 3600, 0, 10, &l), 0);
	assert_int_equal(l.accounts, 1);
	auth_rate_free(r);
}

static void
test_the_list_puts_the_nearest_first(void **state)
{
	struct auth_rate	*r = auth_rate_new(10);
	struct a_rate_list	 l;

	(void)state;
	assert_int_equal(rcpt(r, "low@x.test", T0, 1, 100), A_RATE_OK);
	assert_int_equal(rcpt(r, "high@x.test", T0, 90, 100), A_RATE_OK);
	auth_rate_sent(r, "mid@x.test", T0, 10);
	auth_rate_sent(r, "mid@x.test", T0, 10);
	assert_int_equal(auth_rate_list(r, T0 + 60, 10, 100, &l), 0);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.messages_limit, 10);
	assert_string_equal(l.e[0].user, "high@x.test");
	assert_int_equal(l.e[0].recipients, 90);
	assert_string_equal(l.e[1].user, "mid@x.test");
	assert_int_equal(l.e[1].messages, 2);
	assert_string_equal(l.e[2].user, "low@x.test");
	auth_rate_free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_recipients_slide_over_the_hour),
		cmocka_unit_test(test_messages_slide_over_the_day),
		cmocka_unit_test(
		    test_a_full_table_fails_closed_and_reuses_expired_accounts),
		cmocka_unit_test(test_the_list_puts_the_nearest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
