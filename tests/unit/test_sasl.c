/*
 * test_sasl.c - the SASL PLAIN response every protocol decodes: strict
 * base64 and the three fields, with hostile inputs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"
#include "sasl.h"

static void
test_base64_is_strict(void **state)
{
	unsigned char	out[64];
	size_t		len;

	assert_int_equal(sasl_base64_decode("aGVsbG8=", out, sizeof(out),
	    &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(sasl_base64_decode("=", out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(sasl_base64_decode("aGk", out, sizeof(out), &len),
	    -1);
	assert_int_equal(sasl_base64_decode("a=Vs", out, sizeof(out), &len),
	    -1);
	assert_int_equal(sasl_base64_decode("aGVsbG8=aGVs", out, sizeof(out),
	    &len), -1);
	assert_int_equal(sasl_base64_decode("aGVs bG8=", out, sizeof(out),
	    &len), -1);
	/* Non-zero bits under the padding: not the canonical encoding. */
	assert_int_equal(sasl_base64_decode("aGVsbG9=", out, sizeof(out),
	    &len), -1);
	assert_int_equal(sasl_base64_decode("aGVsbG8=", out, 4, &len), -1);
	assert_int_equal(sasl_base64_decode("", out, sizeof(out), &len), -1);
}

static void
test_sasl_plain_fields(void **state)
{
	char user[ADDR_MAX + 1], pass[64];

	assert_int_equal(sasl_plain((const unsigned char *)
	    "\0alice@example.test\0s3cret", 26, user, sizeof(user), pass,
	    sizeof(pass)), 0);
	assert_string_equal(user, "alice@example.test");
	assert_string_equal(pass, "s3cret");
	/* authzid equal to authcid is the same user. */
	assert_int_equal(sasl_plain((const unsigned char *)
	    "a@b\0a@b\0pw", 10, user, sizeof(user), pass, sizeof(pass)), 0);
	/* Acting for somebody else is refused. */
	assert_int_equal(sasl_plain((const unsigned char *)
	    "root@b\0a@b\0pw", 13, user, sizeof(user), pass, sizeof(pass)),
	    -1);
	assert_int_equal(sasl_plain((const unsigned char *)
	    "\0a@b", 4, user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(sasl_plain((const unsigned char *)
	    "\0\0pw", 4, user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(sasl_plain((const unsigned char *)
	    "\0a@b\0p\0w", 8, user, sizeof(user), pass, 2), -1);
	assert_int_equal(sasl_plain((const unsigned char *)"", 0, user,
	    sizeof(user), pass, sizeof(pass)), -1);
}

/* Found by tests/fuzz/fuzz_pop3_cmd (then in pop3d): "\0user\0pass\0junk" logged in as pass. */
static void
test_sasl_plain_refuses_a_nul_in_the_password(void **state)
{
	char user[ADDR_MAX + 1], pass[64];

	assert_int_equal(sasl_plain((const unsigned char *)
	    "\0a@b\0p\0w", 8, user, sizeof(user), pass, sizeof(pass)), -1);
	assert_int_equal(sasl_plain((const unsigned char *)
	    "a@b\0a@b\0pw\0", 11, user, sizeof(user), pass, sizeof(pass)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_is_strict),
		cmocka_unit_test(test_sasl_plain_fields),
		cmocka_unit_test(test_sasl_plain_refuses_a_nul_in_the_password),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
