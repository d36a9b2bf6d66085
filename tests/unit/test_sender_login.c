/*
 * test_sender_login.c - sender_login_map's parser and matcher
 * (resolverd/sender_login.c): addresses and @domain keys, owners
 * separated by commas or blanks, comments, case, and the errors a bad
 * file gets (with its line).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "resolverd.h"

static int
parse(const char *text, struct sender_login *sl, char *err, size_t errlen)
{
	return sender_login_parse(text, strlen(text), sl, err, errlen);
}

static void
test_keys_owners_and_case(void **state)
{
	struct sender_login	sl;
	char			err[256];

	(void)state;
	assert_int_equal(parse("# grants\n\n"
	    "Sales@Example.ORG  alice@example.org, bob@example.org\r\n"
	    "@partner.test\tcarol@example.org # all of partner\n"
	    "ceo@example.org alice@example.org dave@example.org\n",
	    &sl, err, sizeof(err)), 0);
	assert_int_equal(sl.n, 5);
	assert_true(sender_login_match(&sl, "sales@example.org",
	    "ALICE@example.org"));
	assert_true(sender_login_match(&sl, "SALES@example.org",
	    "bob@example.org"));
	assert_false(sender_login_match(&sl, "sales@example.org",
	    "carol@example.org"));
	assert_true(sender_login_match(&sl, "anyone@partner.test",
	    "carol@example.org"));
	assert_false(sender_login_match(&sl, "anyone@sub.partner.test",
	    "carol@example.org"));
	assert_true(sender_login_match(&sl, "ceo@example.org",
	    "dave@example.org"));
	assert_false(sender_login_match(&sl, "other@example.org",
	    "alice@example.org"));
	sender_login_free(&sl);
}

static void
test_bad_files_say_where(void **state)
{
	struct sender_login	sl;
	char			err[256];
	char			big[5000];

	(void)state;
	assert_int_equal(parse("a@b.test c@d.test\nlonely@b.test\n", &sl,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "line 2"));
	assert_non_null(strstr(err, "no owner"));
	assert_int_equal(parse("not an address x@y.test\n", &sl, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "line 1"));
	assert_int_equal(parse("a@b.test bob\n", &sl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a login"));
	assert_int_equal(parse("@bad_domain! x@y.test\n", &sl, err,
	    sizeof(err)), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(parse(big, &sl, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too long"));
	assert_int_equal(sender_login_parse("a@b.test\0 x@y.test\n", 19, &sl,
	    err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys_owners_and_case),
		cmocka_unit_test(test_bad_files_say_where),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
