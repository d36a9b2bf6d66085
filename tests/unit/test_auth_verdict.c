/*
 * test_auth_verdict.c - authd's credential verdict: the right
 * password of a known user passes; a locked user (postern user lock:
 * PASSWD_LOCKED before the hash) fails with the right password too, and
 * unlocking (dropping that byte) restores the same password.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "passwd.h"
#include "authd.h"

static void
test_a_locked_user_fails_with_the_right_password(void **state)
{
	char hash[PASSWD_HASH_MAX], locked[PASSWD_HASH_MAX + 1];

	(void)state;
	assert_int_equal(passwd_hash("s3cret", hash, sizeof(hash)), 0);
	assert_int_equal(auth_verdict("a@example.test", hash,
	    "s3cret"), A_AUTH_OK);
	assert_int_equal(auth_verdict("a@example.test", hash,
	    "wrong"), A_AUTH_FAIL);
	locked[0] = PASSWD_LOCKED;
	strlcpy(locked + 1, hash, sizeof(locked) - 1);
	assert_true(auth_locked(locked));
	assert_false(auth_locked(hash));
	assert_int_equal(auth_verdict("a@example.test", locked,
	    "s3cret"), A_AUTH_FAIL);
	assert_int_equal(auth_verdict("a@example.test", locked + 1,
	    "s3cret"), A_AUTH_OK);
	/* Locked without a password, and unknown users, fail too. */
	assert_int_equal(auth_verdict("a@example.test", "!", "x"),
	    A_AUTH_FAIL);
	assert_int_equal(auth_verdict("", "", "s3cret"), A_AUTH_FAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_locked_user_fails_with_the_right_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
