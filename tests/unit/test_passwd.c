/*
 * test_passwd.c - libcommon/passwd: password hashes. A hash made here
 * verifies with its password and no other; stored values that mean "no
 * password" (empty, "*", "!...") never match, and cost about as much
 * time as a wrong password; hashes made by other tools (openssl passwd
 * -6) verify; an overlong password is refused when hashing and never
 * matches when verifying.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "passwd.h"

/* openssl passwd -6 -salt posternTestSalt 'correct horse' */
static const char openssl_sha512[] =
    "$6$posternTestSalt$7yLoHP2lQgIHD50CvMw342Way3IdVkR3LT4rZWLZc/0VBcJaO9J2"
    "P2X7rlLPwkM.4W0Ws6Jb/Qy9ge7iv37Q5.";

static void
test_hash_then_verify_round_trips(void **state)
{
	char h[PASSWD_HASH_MAX];

	assert_int_equal(passwd_hash("correct horse battery", h, sizeof(h)),
	    0);
	/* Debian 12's libxcrypt has yescrypt: the modern KDF is used. */
	assert_memory_equal(h, "$y$", 3);
	assert_int_equal(passwd_verify("correct horse battery", h), 1);
}

static void
test_wrong_password_does_not_match(void **state)
{
	char h[PASSWD_HASH_MAX];

	assert_int_equal(passwd_hash("s3cret", h, sizeof(h)), 0);
	assert_int_equal(passwd_verify("s3cret!", h), 0);
	assert_int_equal(passwd_verify("s3cre", h), 0);
	assert_int_equal(passwd_verify("S3cret", h), 0);
	assert_int_equal(passwd_verify("", h), 0);
}

static void
test_each_hash_has_its_own_salt(void **state)
{
	char h1[PASSWD_HASH_MAX], h2[PASSWD_HASH_MAX];

	assert_int_equal(passwd_hash("same", h1, sizeof(h1)), 0);
	assert_int_equal(passwd_hash("same", h2, sizeof(h2)), 0);
	assert_string_not_equal(h1, h2);
	assert_int_equal(passwd_verify("same", h1), 1);
	assert_int_equal(passwd_verify("same", h2), 1);
}

static void
test_empty_and_locked_hashes_never_match(void **state)
{
	char h[PASSWD_HASH_MAX], locked[PASSWD_HASH_MAX + 1];

	assert_int_equal(passwd_verify("", ""), 0);
	assert_int_equal(passwd_verify("x", ""), 0);
	assert_int_equal(passwd_verify("*", "*"), 0);
	assert_int_equal(passwd_verify("x", "*LK*"), 0);
	assert_int_equal(passwd_verify("!", "!"), 0);
	/* usermod -L style: a valid hash behind a "!" stays locked. */
	assert_int_equal(passwd_hash("pw", h, sizeof(h)), 0);
	snprintf(locked, sizeof(locked), "!%s", h);
	assert_int_equal(passwd_verify("pw", locked), 0);
}

static void
test_malformed_hashes_never_match(void **state)
{
	assert_int_equal(passwd_verify("x", "$6$"), 0);
	assert_int_equal(passwd_verify("x", "$y$"), 0);
	assert_int_equal(passwd_verify("x", "$y$garbage"), 0);
	assert_int_equal(passwd_verify("x", "$nonsense$abc$def"), 0);
	/* A bare setting hashes to something longer than itself. */
	assert_int_equal(passwd_verify("correct horse", "$6$posternTestSalt"),
	    0);
}

static void
test_sha512_crypt_from_openssl_verifies(void **state)
{
	assert_int_equal(passwd_verify("correct horse", openssl_sha512), 1);
	assert_int_equal(passwd_verify("correct horsE", openssl_sha512), 0);
	assert_int_equal(passwd_verify("correct horse ", openssl_sha512), 0);
}

static void
test_overlong_password_is_refused(void **state)
{
	char	pw[2048], h[PASSWD_HASH_MAX];

	memset(pw, 'a', sizeof(pw));
	pw[PASSWD_LEN_MAX] = '\0';
	assert_int_equal(passwd_hash(pw, h, sizeof(h)), 0);
	assert_int_equal(passwd_verify(pw, h), 1);
	/* One byte more: refused, and never taken for its prefix. */
	pw[PASSWD_LEN_MAX] = 'a';
	pw[PASSWD_LEN_MAX + 1] = '\0';
	errno = 0;
	assert_int_equal(passwd_hash(pw, h, sizeof(h)), -1);
	assert_int_equal(errno, ERANGE);
	pw[PASSWD_LEN_MAX] = '\0';
	assert_int_equal(passwd_hash(pw, h, sizeof(h)), 0);
	pw[PASSWD_LEN_MAX] = 'a';
	assert_int_equal(passwd_verify(pw, h), 0);
	pw[sizeof(pw) - 1] = '\0';
	assert_int_equal(passwd_verify(pw, h), 0);
}

static void
test_empty_password_is_refused(void **state)
{
	char h[PASSWD_HASH_MAX];

	errno = 0;
	assert_int_equal(passwd_hash("", h, sizeof(h)), -1);
	assert_int_equal(errno, EINVAL);
	assert_string_equal(h, "");
}

static void
test_small_output_buffer_is_an_error(void **state)
{
	char h[16];

	errno = 0;
	assert_int_equal(passwd_hash("pw", h, sizeof(h)), -1);
	assert_int_equal(errno, ERANGE);
	assert_string_equal(h, "");
}

static double
verify_seconds(const char *pw, const char *hash)
{
	struct timespec	a, b;
	double		best = 1e9, t;
	int		i;

	/* The best of three: a busy machine only ever makes a run slower. */
	for (i = 0; i < 3; i++) {
		clock_gettime(CLOCK_MONOTONIC, &a);
		(void)passwd_verify(pw, hash);
		clock_gettime(CLOCK_MONOTONIC, &b);
		t = (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		if (t < best)
			best = t;
	}
	return best;
}

static void
test_no_password_costs_a_hash_too(void **state)
{
	char	h[PASSWD_HASH_MAX], pw[PASSWD_LEN_MAX + 2];
	double	wrong;

	assert_int_equal(passwd_hash("right", h, sizeof(h)), 0);
	wrong = verify_seconds("wrong", h);
	/*
	 * Loose bounds: the dummy hash has libcrypt's default cost, like h,
	 * so the ratios are near 1; a quarter still tells "computed a hash"
	 * from "returned at once".
	 */
	assert_true(verify_seconds("wrong", "") > wrong / 4);
	assert_true(verify_seconds("wrong", "*") > wrong / 4);
	assert_true(verify_seconds("wrong", "!locked") > wrong / 4);
	assert_true(verify_seconds("wrong", "$y$garbage") > wrong / 4);
	memset(pw, 'a', sizeof(pw) - 1);
	pw[sizeof(pw) - 1] = '\0';
	assert_true(verify_seconds(pw, h) > wrong / 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_then_verify_round_trips),
		cmocka_unit_test(test_wrong_password_does_not_match),
		cmocka_unit_test(test_each_hash_has_its_own_salt),
		cmocka_unit_test(test_empty_and_locked_hashes_never_match),
		cmocka_unit_test(test_malformed_hashes_never_match),
		cmocka_unit_test(test_sha512_crypt_from_openssl_verifies),
		cmocka_unit_test(test_overlong_password_is_refused),
		cmocka_unit_test(test_empty_password_is_refused),
		cmocka_unit_test(test_small_output_buffer_is_an_error),
		cmocka_unit_test(test_no_password_costs_a_hash_too),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
