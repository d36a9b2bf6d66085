/*
 * test_text.c - libcommon/text: no control byte survives a sanitised
 * copy, the copy always fits and is terminated, and TEXT_ASCII also
 * replaces bytes above 0x7e.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "text.h"

static void
test_control_bytes_are_replaced_and_the_rest_kept(void **state)
{
	char	out[64];

	assert_int_equal(text_sanitize(out, sizeof(out),
	    "a\r\nb\tc\x7f" "d\x1b[0m\xc3\xa9", '?', 0), 14);
	assert_string_equal(out, "a??b?c?d?[0m\xc3\xa9");
	assert_int_equal(text_sanitize(out, sizeof(out), "\xc3\xa9\x80", '?',
	    TEXT_ASCII), 3);
	assert_string_equal(out, "???");
}

static void
test_the_copy_is_truncated_and_terminated(void **state)
{
	char	out[4];

	memset(out, 'X', sizeof(out));
	assert_int_equal(text_sanitize(out, sizeof(out), "abcdef", '?', 0), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(text_sanitize(out, 1, "abc", '?', 0), 0);
	assert_string_equal(out, "");
	out[0] = 'Z';
	assert_int_equal(text_sanitize(out, 0, "abc", '?', 0), 0);
	assert_int_equal(out[0], 'Z');
}

static void
test_buf_variant_appends(void **state)
{
	struct buf	b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "x:", 2), 0);
	assert_int_equal(text_sanitize_buf(&b, "1\n2\r\n3", ' ', 0), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "x:1 2  3", 8);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_control_bytes_are_replaced_and_the_rest_kept),
		cmocka_unit_test(test_the_copy_is_truncated_and_terminated),
		cmocka_unit_test(test_buf_variant_appends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
