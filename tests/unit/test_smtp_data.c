/*
 * test_smtp_data.c - the DATA state machine: end of data, dot
 * unstuffing, line ends, bare CRs (stored as spaces), the line limit,
 * and the SMTP smuggling payloads that must never end a message, fed
 * whole and split at every offset.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_data.h"

struct run {
	unsigned char	out[8192];
	size_t		outlen;
	size_t		consumed;
	int		done;
	struct smtp_data d;
};

/*
 * Feeds in as chunks of at most chunk bytes (0: all at once), with
 * lines limited to line_max octets (0: no limit).
 */
static void
run_feed_max(struct run *r, const char *in, size_t len, size_t chunk,
    uint64_t line_max)
{
	unsigned char	tmp[8192 + SMTP_DATA_SLACK];
	size_t		off = 0, n, c, olen;

	memset(r, 0, sizeof(*r));
	smtp_data_init(&r->d);
	r->d.line_max = line_max;
	if (chunk == 0)
		chunk = len ? len : 1;
	while (off < len && !smtp_data_done(&r->d)) {
		c = len - off < chunk ? len - off : chunk;
		n = smtp_data_feed(&r->d, (const unsigned char *)in + off, c,
		    tmp, &olen);
		assert_true(n <= c);
		assert_true(olen <= c + SMTP_DATA_SLACK);
		assert_true(r->outlen + olen <= sizeof(r->out));
		memcpy(r->out + r->outlen, tmp, olen);
		r->outlen += olen;
		off += n;
		if (n < c)
			assert_true(smtp_data_done(&r->d));
	}
	r->consumed = off;
	r->done = smtp_data_done(&r->d);
}

static void
run_feed(struct run *r, const char *in, size_t len, size_t chunk)
{
	run_feed_max(r, in, len, chunk, 0);
}

/* Same result whether fed whole, byte by byte, or split at any point. */
static void
check_all_splits(const char *in, size_t len, int want_done,
    const char *want_out, size_t want_outlen, size_t want_consumed)
{
	struct run	r;
	size_t		split, chunk;

	for (chunk = 0; chunk <= 3; chunk++) {
		run_feed(&r, in, len, chunk);
		assert_int_equal(r.done, want_done);
		assert_int_equal(r.outlen, want_outlen);
		assert_memory_equal(r.out, want_out, want_outlen);
		assert_int_equal(r.consumed, want_consumed);
	}
	/* Two chunks, split at every offset. */
	for (split = 0; split <= len; split++) {
		unsigned char	tmp[8192 + SMTP_DATA_SLACK];
		unsigned char	out[8192];
		size_t		o = 0, n, olen, off = 0;
		struct smtp_data d;

		smtp_data_init(&d);
		n = smtp_data_feed(&d, (const unsigned char *)in, split, tmp,
		    &olen);
		memcpy(out, tmp, olen);
		o = olen;
		off = n;
		if (!smtp_data_done(&d)) {
			n = smtp_data_feed(&d, (const unsigned char *)in + off,
			    len - off, tmp, &olen);
			memcpy(out + o, tmp, olen);
			o += olen;
			off += n;
		}
		assert_int_equal(smtp_data_done(&d), want_done);
		assert_int_equal(o, want_outlen);
		assert_memory_equal(out, want_out, want_outlen);
		assert_int_equal(off, want_consumed);
	}
}

#define S(x)	x, sizeof(x) - 1

static void
test_normal_end_converts_crlf_to_lf(void **state)
{
	const char in[] = "Subject: hi\r\n\r\nbody\r\n.\r\n";

	check_all_splits(S(in), 1, S("Subject: hi\n\nbody\n"), sizeof(in) - 1);
}

static void
test_empty_message_ends_at_once(void **state)
{
	/* Right after the 354 counts as a line start. */
	check_all_splits(S(".\r\n"), 1, "", 0, 3);
}

static void
test_bytes_after_end_are_not_consumed(void **state)
{
	const char in[] = "a\r\n.\r\nQUIT\r\n";

	check_all_splits(S(in), 1, S("a\n"), 6);
}

static void
test_dot_stuffing_removes_first_dot(void **state)
{
	const char in[] = "..hidden\r\n...\r\n..\r\n.x\r\nmid.dle\r\n.\r\n";

	check_all_splits(S(in), 1, S(".hidden\n..\n.\nx\nmid.dle\n"),
	    sizeof(in) - 1);
}

static void
test_dot_stuffing_at_message_start(void **state)
{
	check_all_splits(S("..\r\n.\r\n"), 1, S(".\n"), 7);
}

static void
test_smuggling_lf_dot_lf_never_ends(void **state)
{
	const char in[] = "a\n.\nMAIL FROM:<x@evil>\r\n";

	check_all_splits(S(in), 0, S("a\n.\nMAIL FROM:<x@evil>\n"),
	    sizeof(in) - 1);
}

static void
test_smuggling_lf_dot_crlf_never_ends(void **state)
{
	const char in[] = "a\n.\r\nRCPT TO:<y@evil>\r\n";

	check_all_splits(S(in), 0, S("a\n.\nRCPT TO:<y@evil>\n"),
	    sizeof(in) - 1);
}

static void
test_smuggling_cr_dot_cr_never_ends(void **state)
{
	const char in[] = "a\r.\rDATA\r\n";

	check_all_splits(S(in), 0, S("a . DATA\n"), sizeof(in) - 1);
}

static void
test_smuggling_crlf_dot_lf_never_ends(void **state)
{
	/* A stuffed line ending in a bare LF: its dot goes, nothing ends. */
	const char in[] = "a\r\n.\nQUIT\r\n";

	check_all_splits(S(in), 0, S("a\n\nQUIT\n"), sizeof(in) - 1);
}

static void
test_smuggling_cr_dot_crlf_never_ends(void **state)
{
	const char in[] = "a\r.\r\nb\r\n";

	/* Stored as " .": no line of the stored copy is a lone dot. */
	check_all_splits(S(in), 0, S("a .\nb\n"), sizeof(in) - 1);
}

static void
test_smuggled_end_then_real_end(void **state)
{
	const char in[] = "a\n.\r\nMAIL FROM:<x@evil>\r\n.\r\nNOOP\r\n";

	check_all_splits(S(in), 1, S("a\n.\nMAIL FROM:<x@evil>\n"),
	    sizeof(in) - 1 - 6);
}

static void
test_bare_cr_is_a_space_and_bare_lf_a_line_end(void **state)
{
	/* "z\r\r\n": a mailer that converted line ends twice. */
	const char in[] = "x\ry\nz\r\r\nw\r\n.\r\n";

	check_all_splits(S(in), 1, S("x y\nz \nw\n"), sizeof(in) - 1);
}

static void
test_bare_cr_in_every_position_is_a_space(void **state)
{
	/* First byte, runs, before a dot, after a stuffed dot, last. */
	const char in[] = "\rH: v\r\r\r\n\r\n\r.\r\r\n..\r\rb\r\n.\r\n";

	check_all_splits(S(in), 1, S(" H: v  \n\n . \n.  b\n"),
	    sizeof(in) - 1);
	/* A bare CR left at the end of what was sent so far waits. */
	check_all_splits(S("ab\r"), 0, S("ab"), 3);
}

static void
test_dot_cr_cr_is_stuffing_then_a_space(void **state)
{
	/* "\r\n.\r\r\n": stuffing dot, a bare CR, then a line end. */
	const char in[] = "a\r\n.\r\r\n.\r\n";

	check_all_splits(S(in), 1, S("a\n \n"), sizeof(in) - 1);
}

static void
test_dot_cr_text_is_stuffing_then_a_space(void **state)
{
	const char in[] = "\r\n.\rX\r\n.\r\n";

	check_all_splits(S(in), 1, S("\n X\n"), sizeof(in) - 1);
}

static void
test_end_split_at_every_offset(void **state)
{
	/* A longer message whose end marker falls across every boundary. */
	char	 in[600];
	char	 want[600];
	size_t	 i, n = 0, w = 0;

	for (i = 0; i < 50; i++) {
		memcpy(in + n, "line.\r\n", 7);
		n += 7;
		memcpy(want + w, "line.\n", 6);
		w += 6;
	}
	memcpy(in + n, ".\r\n", 3);
	n += 3;
	check_all_splits(in, n, 1, want, w, n);
}

static void
test_size_counts_rfc1870_octets(void **state)
{
	struct run r;

	run_feed(&r, S("ab\r\n..c\r\n.\r\n"), 0);
	assert_true(r.done);
	/*
	 * RFC 1870: the message is "ab\r\n.c\r\n"; neither the stuffing dot
	 * nor the final ".\r\n" counts.
	 */
	assert_int_equal(r.d.received, 8);
	run_feed(&r, S("ab\r\n..c\r\n.\r\n"), 1);
	assert_int_equal(r.d.received, 8);
	/* A stuffed dot before a bare CR: "ab\r\n\r.x\r\n". */
	run_feed(&r, S("ab\r\n.\r.x\r\n.\r\n"), 0);
	assert_true(r.done);
	assert_int_equal(r.d.received, 9);
	/* The space that replaces a bare CR is one octet, as the CR was. */
	assert_int_equal(r.outlen, 7);
	assert_memory_equal(r.out, "ab\n .x\n", 7);
	run_feed(&r, S("ab\r\n"), 0);
	assert_false(r.done);
	assert_int_equal(r.d.received, 4);
}

static void
test_line_at_the_limit_is_fine(void **state)
{
	static char	in[1100];
	struct run	r;

	/* The limit counts the CRLF: 998 + 2 = 1000. */
	memset(in, 'x', 998);
	memcpy(in + 998, "\r\n.\r\n", 5);
	run_feed_max(&r, in, 1003, 0, 1000);
	assert_true(r.done);
	assert_false(r.d.long_line);
}

static void
test_line_one_over_the_limit_is_long(void **state)
{
	static char	in[1100];
	struct run	r;

	memset(in, 'x', 999);
	memcpy(in + 999, "\r\n.\r\n", 5);
	run_feed_max(&r, in, 1004, 7, 1000);
	assert_true(r.done);
	assert_true(r.d.long_line);
}

static void
test_long_line_split_by_bare_cr_is_long(void **state)
{
	/* A bare CR does not end a line. */
	static char	in[2100];
	struct run	r;

	memset(in, 'x', 2000);
	in[700] = '\r';
	memcpy(in + 2000, "\r\n.\r\n", 5);
	run_feed_max(&r, in, 2005, 0, 1000);
	assert_true(r.done);
	assert_true(r.d.long_line);
}

static void
test_short_lines_with_bare_lf_are_fine(void **state)
{
	static char	in[2100];
	struct run	r;

	memset(in, 'x', 2000);
	in[700] = '\n';
	in[1400] = '\n';
	memcpy(in + 2000, "\r\n.\r\n", 5);
	run_feed_max(&r, in, 2005, 0, 1000);
	assert_true(r.done);
	assert_false(r.d.long_line);
}

/*
 * Without a limit (the default) a line of any length streams through
 * byte-exact in pieces no larger than what was fed: nothing is held.
 */
static void
test_no_limit_streams_a_long_line_exactly(void **state)
{
	const size_t	 n = 3 * 1000 * 1000;
	char		*in = malloc(n + 5);
	unsigned char	 out[4096 + SMTP_DATA_SLACK];
	struct smtp_data d;
	size_t		 i, off = 0, used, olen, stored = 0;

	assert_non_null(in);
	for (i = 0; i < n; i++)
		in[i] = (char)('a' + i % 26);
	memcpy(in + n, "\r\n.\r\n", 5);
	smtp_data_init(&d);
	assert_int_equal(d.line_max, 0);
	while (!smtp_data_done(&d)) {
		size_t c = n + 5 - off < 4096 ? n + 5 - off : 4096;

		used = smtp_data_feed(&d, (unsigned char *)in + off, c, out,
		    &olen);
		assert_true(olen <= c + SMTP_DATA_SLACK);
		/* What comes out is the line itself, in order. */
		for (i = 0; i < olen; i++, stored++)
			assert_int_equal(out[i], stored < n ?
			    (unsigned char)('a' + stored % 26) : '\n');
		off += used;
	}
	assert_int_equal(stored, n + 1);
	assert_int_equal(off, n + 5);
	assert_false(d.long_line);
	assert_int_equal(d.received, n + 2);
	free(in);
}

static void
test_nul_is_flagged(void **state)
{
	struct run r;

	run_feed(&r, "a\0b\r\n.\r\n", 8, 0);
	assert_true(r.done);
	assert_true(r.d.nul);
	run_feed(&r, S("ab\r\n.\r\n"), 0);
	assert_false(r.d.nul);
}

static void
test_no_end_without_final_crlf(void **state)
{
	check_all_splits(S("a\r\n."), 0, S("a\n"), 4);
	check_all_splits(S("a\r\n.\r"), 0, S("a\n"), 5);
}

/*
 * Random texts over the bytes that matter: the message ends exactly at
 * the first "\r\n.\r\n" (counting the 354's CRLF as the first one),
 * and feeding byte by byte gives the same bytes as feeding it whole.
 */
static void
test_random_texts_end_only_at_crlf_dot_crlf(void **state)
{
	static const char alphabet[] = { '\r', '\n', '.', 'a', '\0' };
	char		 in[64], ref[66];
	struct run	 whole, bytes;
	unsigned	 seed = 12345;
	size_t		 i, len, want;
	int		 iter;
	const char	*hit;

	for (iter = 0; iter < 200000; iter++) {
		len = 1 + (seed >> 16) % sizeof(in);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			in[i] = alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		ref[0] = '\r';
		ref[1] = '\n';
		memcpy(ref + 2, in, len);
		hit = memmem(ref, len + 2, "\r\n.\r\n", 5);
		want = hit != NULL ? (size_t)(hit - ref) + 5 - 2 : len;
		run_feed(&whole, in, len, 0);
		run_feed(&bytes, in, len, 1);
		assert_int_equal(whole.done, hit != NULL);
		assert_int_equal(whole.consumed, want);
		assert_int_equal(bytes.done, whole.done);
		assert_int_equal(bytes.consumed, whole.consumed);
		assert_int_equal(bytes.outlen, whole.outlen);
		assert_memory_equal(bytes.out, whole.out, whole.outlen);
		/* No CR is ever stored: a line end is LF, a bare CR a space. */
		assert_null(memchr(whole.out, '\r', whole.outlen));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normal_end_converts_crlf_to_lf),
		cmocka_unit_test(test_empty_message_ends_at_once),
		cmocka_unit_test(test_bytes_after_end_are_not_consumed),
		cmocka_unit_test(test_dot_stuffing_removes_first_dot),
		cmocka_unit_test(test_dot_stuffing_at_message_start),
		cmocka_unit_test(test_smuggling_lf_dot_lf_never_ends),
		cmocka_unit_test(test_smuggling_lf_dot_crlf_never_ends),
		cmocka_unit_test(test_smuggling_cr_dot_cr_never_ends),
		cmocka_unit_test(test_smuggling_crlf_dot_lf_never_ends),
		cmocka_unit_test(test_smuggling_cr_dot_crlf_never_ends),
		cmocka_unit_test(test_smuggled_end_then_real_end),
		cmocka_unit_test(test_bare_cr_is_a_space_and_bare_lf_a_line_end),
		cmocka_unit_test(test_bare_cr_in_every_position_is_a_space),
		cmocka_unit_test(test_dot_cr_cr_is_stuffing_then_a_space),
		cmocka_unit_test(test_dot_cr_text_is_stuffing_then_a_space),
		cmocka_unit_test(test_end_split_at_every_offset),
		cmocka_unit_test(test_size_counts_rfc1870_octets),
		cmocka_unit_test(test_line_at_the_limit_is_fine),
		cmocka_unit_test(test_line_one_over_the_limit_is_long),
		cmocka_unit_test(test_no_limit_streams_a_long_line_exactly),
		cmocka_unit_test(test_long_line_split_by_bare_cr_is_long),
		cmocka_unit_test(test_short_lines_with_bare_lf_are_fine),
		cmocka_unit_test(test_nul_is_flagged),
		cmocka_unit_test(test_no_end_without_final_crlf),
		cmocka_unit_test(test_random_texts_end_only_at_crlf_dot_crlf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
