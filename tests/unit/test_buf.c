/*
 * test_buf.c - libcommon/buf: the ceiling that keeps every process's
 * allocations bounded, formatted appends, and consuming from the front.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"

static void
test_append_within_ceiling_succeeds(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "abcd", 4), 0);
	assert_int_equal(buf_append(&b, "efgh", 4), 0);
	assert_int_equal(b.len, 8);
	assert_memory_equal(b.data, "abcdefgh", 8);
	buf_free(&b);
}

static void
test_append_past_ceiling_fails_e2big_and_leaves_buffer_unchanged(void **state)
{
	struct buf b;

	buf_init(&b, 8);
	assert_int_equal(buf_append(&b, "abcdef", 6), 0);
	errno = 0;
	assert_int_equal(buf_append(&b, "xyz", 3), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(b.len, 6);
	assert_memory_equal(b.data, "abcdef", 6);
	/* What still fits is still accepted. */
	assert_int_equal(buf_append(&b, "gh", 2), 0);
	assert_int_equal(b.len, 8);
	errno = 0;
	assert_int_equal(buf_append(&b, "i", 1), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(b.len, 8);
	buf_free(&b);
}

static void
test_huge_append_length_is_refused_without_overflow(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "a", 1), 0);
	errno = 0;
	assert_int_equal(buf_append(&b, "x", SIZE_MAX), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(b.len, 1);
	buf_free(&b);
}

static void
test_printf_formats_and_appends(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "x="), 0);
	assert_int_equal(buf_printf(&b, "%d,%s,%05.1f", 42, "str", 3.14159), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, "x=42,str,003.1");
	assert_int_equal(b.len, strlen("x=42,str,003.1"));
	buf_free(&b);
}

static void
test_printf_grows_past_initial_capacity(void **state)
{
	struct buf	b;
	char		big[1000];

	memset(big, 'q', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "<%s>", big), 0);
	assert_int_equal(b.len, 1001);
	assert_int_equal(b.data[0], '<');
	assert_int_equal(b.data[1000], '>');
	buf_free(&b);
}

static void
test_printf_past_ceiling_fails_e2big_and_leaves_buffer_unchanged(void **state)
{
	struct buf b;

	buf_init(&b, 10);
	assert_int_equal(buf_puts(&b, "12345"), 0);
	errno = 0;
	assert_int_equal(buf_printf(&b, "%s", "abcdef"), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "12345", 5);
	assert_int_equal(buf_printf(&b, "%d", 67890), 0);
	assert_int_equal(b.len, 10);
	assert_memory_equal(b.data, "1234567890", 10);
	buf_free(&b);
}

static void
test_cstr_at_ceiling_terminates_without_counting_nul(void **state)
{
	struct buf b;

	buf_init(&b, 4);
	assert_int_equal(buf_append(&b, "abcd", 4), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_int_equal(b.len, 4);
	assert_string_equal(b.data, "abcd");
	buf_free(&b);
}

static void
test_consume_drops_prefix_and_keeps_rest(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "headerbody"), 0);
	buf_consume(&b, 6);
	assert_int_equal(b.len, 4);
	assert_memory_equal(b.data, "body", 4);
	buf_consume(&b, 0);
	assert_int_equal(b.len, 4);
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	/* The buffer is reusable after being emptied. */
	assert_int_equal(buf_puts(&b, "again"), 0);
	assert_memory_equal(b.data, "again", 5);
	buf_free(&b);
}

static void
test_consume_frees_room_under_ceiling(void **state)
{
	struct buf b;

	buf_init(&b, 6);
	assert_int_equal(buf_puts(&b, "abcdef"), 0);
	assert_int_equal(buf_puts(&b, "g"), -1);
	buf_consume(&b, 2);
	assert_int_equal(buf_puts(&b, "gh"), 0);
	assert_memory_equal(b.data, "cdefgh", 6);
	buf_free(&b);
}

static void
test_reset_empties_and_free_is_idempotent(void **state)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "abc"), 0);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_puts(&b, "z"), 0);
	assert_memory_equal(b.data, "z", 1);
	buf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_within_ceiling_succeeds),
		cmocka_unit_test(test_append_past_ceiling_fails_e2big_and_leaves_buffer_unchanged),
		cmocka_unit_test(test_huge_append_length_is_refused_without_overflow),
		cmocka_unit_test(test_printf_formats_and_appends),
		cmocka_unit_test(test_printf_grows_past_initial_capacity),
		cmocka_unit_test(test_printf_past_ceiling_fails_e2big_and_leaves_buffer_unchanged),
		cmocka_unit_test(test_cstr_at_ceiling_terminates_without_counting_nul),
		cmocka_unit_test(test_consume_drops_prefix_and_keeps_rest),
		cmocka_unit_test(test_consume_frees_room_under_ceiling),
		cmocka_unit_test(test_reset_empties_and_free_is_idempotent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
