/*
 * test_msghdr.c - libcommon/msghdr: the header fields of a message, read
 * with unfolding and within bounds, for the hop count and the
 * Delivered-To loop check.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "msghdr.h"

/* Collects "name=value|" for every field. */
static size_t
fields(const char *msg, size_t len, int whole, char *out, size_t outsz)
{
	struct msghdr_iter	m;
	struct msghdr_field	f;
	size_t			n = 0, o = 0;

	out[0] = '\0';
	msghdr_init(&m, msg, len, whole);
	while (msghdr_next(&m, &f) == 1) {
		o += (size_t)snprintf(out + o, outsz - o, "%.*s=%s|",
		    (int)f.namelen, f.name, f.value);
		n++;
	}
	return n;
}

static void
test_fields_end_at_the_blank_line(void **state)
{
	const char	*msg = "Received: a\nSubject: hi\n\nReceived: body\n";
	char		 out[256];

	assert_int_equal(fields(msg, strlen(msg), 1, out, sizeof(out)), 2);
	assert_string_equal(out, "Received=a|Subject=hi|");
}

static void
test_folded_lines_are_unfolded_and_trimmed(void **state)
{
	const char	*msg = "Received: from x\r\n\tby y;\r\n  date\r\n"
			    "To:   \r\n bob@example.test  \r\n\r\nbody";
	char		 out[256];

	assert_int_equal(fields(msg, strlen(msg), 1, out, sizeof(out)), 2);
	assert_string_equal(out,
	    "Received=from x\tby y;  date|To=bob@example.test|");
}

static void
test_name_match_is_case_insensitive_and_exact(void **state)
{
	const char		*msg = "DELIVERED-TO: a@b\nDelivered-To-X: c\n"
				    "Delivered-To : d@e\n\n";
	struct msghdr_iter	 m;
	struct msghdr_field	 f;
	int			 hits = 0;

	msghdr_init(&m, msg, strlen(msg), 1);
	while (msghdr_next(&m, &f) == 1)
		hits += msghdr_is(&f, "delivered-to");
	/* The obsolete "name WSP :" form is the same field. */
	assert_int_equal(hits, 2);
}

static void
test_a_line_that_is_no_field_ends_the_section(void **state)
{
	const char	*msg = "Subject: a\nthis is body text\nReceived: x\n";
	const char	*cont = " leading continuation\nReceived: x\n\n";
	char		 out[256];

	assert_int_equal(fields(msg, strlen(msg), 1, out, sizeof(out)), 1);
	assert_int_equal(fields(cont, strlen(cont), 1, out, sizeof(out)), 0);
	assert_int_equal(fields("\nReceived: x\n", 13, 1, out, sizeof(out)), 0);
	assert_int_equal(fields(": x\n\n", 5, 1, out, sizeof(out)), 0);
}

static void
test_a_field_cut_by_a_prefix_is_not_returned(void **state)
{
	const char	*msg = "Received: a\nReceived: b\n\tmore";
	char		 out[256];

	/* A prefix: "b" might go on past the bytes held. */
	assert_int_equal(fields(msg, strlen(msg), 0, out, sizeof(out)), 1);
	assert_int_equal(fields(msg, 24, 0, out, sizeof(out)), 1);
	/* The whole message: its end ends the last field. */
	assert_int_equal(fields(msg, strlen(msg), 1, out, sizeof(out)), 2);
	assert_string_equal(out, "Received=a|Received=b\tmore|");
}

static void
test_long_values_are_cut_and_marked(void **state)
{
	char			msg[3 * MSGHDR_VALUE_MAX];
	struct msghdr_iter	m;
	struct msghdr_field	f;

	memcpy(msg, "X: ", 3);
	memset(msg + 3, 'v', sizeof(msg) - 5);
	memcpy(msg + sizeof(msg) - 2, "\n\n", 2);
	msghdr_init(&m, msg, sizeof(msg), 1);
	assert_int_equal(msghdr_next(&m, &f), 1);
	assert_int_equal(f.truncated, 1);
	assert_int_equal(f.valuelen, MSGHDR_VALUE_MAX);
	assert_int_equal(strlen(f.value), MSGHDR_VALUE_MAX);
	assert_int_equal(msghdr_next(&m, &f), 0);
}

static int
memfd_with(const char *s, size_t len)
{
	int fd = memfd_create("test", 0);

	assert_true(fd != -1);
	assert_int_equal(write(fd, s, len), (ssize_t)len);
	return fd;
}

static void
test_read_stops_at_the_blank_line_across_chunks(void **state)
{
	static char	msg[40000];
	struct buf	b;
	size_t		hlen;
	int		fd, whole;

	/* The header section ends past the first 16 KiB chunk. */
	memset(msg, 'b', sizeof(msg));
	hlen = 20000;
	memcpy(msg, "PREFIX..", 8);
	memcpy(msg + 8, "X: ", 3);
	memset(msg + 11, 'h', hlen - 11);
	memcpy(msg + 8 + hlen - 3, "\r\n\r\n", 4);
	fd = memfd_with(msg, sizeof(msg));
	buf_init(&b, 0);
	assert_int_equal(msghdr_read(fd, 8, sizeof(msg) - 8, MSGHDR_SCAN_MAX,
	    &b, &whole), 0);
	assert_int_equal(whole, 0);
	assert_true(b.len >= hlen + 1 && b.len < sizeof(msg) - 8);
	assert_memory_equal(b.data, "X: hhh", 6);
	buf_free(&b);
	close(fd);
}

static void
test_read_is_bounded_and_says_whether_it_holds_all(void **state)
{
	const char	*msg = "Received: a\nReceived: b\n";
	struct buf	 b;
	int		 fd, whole;

	fd = memfd_with(msg, strlen(msg));
	buf_init(&b, 0);
	assert_int_equal(msghdr_read(fd, 0, strlen(msg), 5, &b, &whole), 0);
	assert_int_equal(b.len, 5);
	assert_int_equal(whole, 0);
	assert_int_equal(msghdr_read(fd, 0, strlen(msg), MSGHDR_SCAN_MAX, &b,
	    &whole), 0);
	assert_int_equal(b.len, strlen(msg));
	assert_int_equal(whole, 1);
	/* A file shorter than the size it was given is an error. */
	errno = 0;
	assert_int_equal(msghdr_read(fd, 0, strlen(msg) + 10,
	    MSGHDR_SCAN_MAX, &b, &whole), -1);
	assert_int_equal(errno, EIO);
	buf_free(&b);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields_end_at_the_blank_line),
		cmocka_unit_test(test_folded_lines_are_unfolded_and_trimmed),
		cmocka_unit_test(test_name_match_is_case_insensitive_and_exact),
		cmocka_unit_test(test_a_line_that_is_no_field_ends_the_section),
		cmocka_unit_test(test_a_field_cut_by_a_prefix_is_not_returned),
		cmocka_unit_test(test_long_values_are_cut_and_marked),
		cmocka_unit_test(test_read_stops_at_the_blank_line_across_chunks),
		cmocka_unit_test(test_read_is_bounded_and_says_whether_it_holds_all),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
