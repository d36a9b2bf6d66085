/*
 * test_smtp_reply.c - deliverd/smtp_reply.c: a server's replies are
 * read strictly and kept bounded; EHLO keywords are found; the message
 * text goes out with CRLF, dot-stuffed, no lone CR, lines broken at the
 * limit, the same whatever the chunking.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "remote.h"

static enum smtp_reply_feed
feed(struct smtp_reply *r, const char *line)
{
	return smtp_reply_feed(r, line, strlen(line));
}

static void
test_a_multiline_reply_is_one_reply(void **state)
{
	struct smtp_reply r;
	char s[256];

	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-mx.example.test Hello"), SMTP_REPLY_MORE);
	assert_int_equal(feed(&r, "250-PIPELINING"), SMTP_REPLY_MORE);
	assert_int_equal(feed(&r, "250 SIZE 1000"), SMTP_REPLY_DONE);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(smtp_reply_line(&r, 1), "PIPELINING");
	smtp_reply_str(&r, s, sizeof(s));
	assert_string_equal(s, "250 mx.example.test Hello PIPELINING SIZE 1000");
	/* A bare code is a whole reply too. */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "354"), SMTP_REPLY_DONE);
	assert_int_equal(r.code, 354);
}

static void
test_enhanced_codes_are_taken_only_when_they_fit(void **state)
{
	struct smtp_reply r;

	smtp_reply_init(&r);
	feed(&r, "550 5.1.1 <x@y>: Recipient address rejected");
	assert_string_equal(r.dsn, "5.1.1");
	smtp_reply_init(&r);
	feed(&r, "550 4.1.1 class differs from the code");
	assert_string_equal(r.dsn, "");
	smtp_reply_init(&r);
	feed(&r, "451 4.7.650 greylisted");
	assert_string_equal(r.dsn, "4.7.650");
	smtp_reply_init(&r);
	feed(&r, "250 2.0.0Ok: no space after");
	assert_string_equal(r.dsn, "");
	smtp_reply_init(&r);
	feed(&r, "250 Ok");
	assert_string_equal(r.dsn, "");
}

static void
test_what_is_not_a_reply_is_refused(void **state)
{
	struct smtp_reply r;
	static const char *const bad[] = { "25", "2x0 ok", "250x", "199 no",
	    "600 no", "", "hello", NULL };
	size_t i;
	char line[SMTP_REPLY_LINE_MAX + 10];

	for (i = 0; bad[i] != NULL; i++) {
		smtp_reply_init(&r);
		if (feed(&r, bad[i]) != SMTP_REPLY_BAD)
			fail_msg("took \"%s\"", bad[i]);
	}
	/* Every line of one reply has the same code. */
	smtp_reply_init(&r);
	assert_int_equal(feed(&r, "250-first"), SMTP_REPLY_MORE);
	assert_int_equal(feed(&r, "550 second"), SMTP_REPLY_BAD);
	/* A NUL inside a line. */
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, "250 a\0b", 7), SMTP_REPLY_BAD);
	/* A line over the limit. */
	memset(line, 'a', sizeof(line));
	memcpy(line, "250 ", 4);
	smtp_reply_init(&r);
	assert_int_equal(smtp_reply_feed(&r, line, SMTP_REPLY_LINE_MAX + 1),
	    SMTP_REPLY_BAD);
	/* Nothing after the last line. */
	smtp_reply_init(&r);
	feed(&r, "250 done");
	assert_int_equal(feed(&r, "250 more"), SMTP_REPLY_BAD);
}

static void
test_a_huge_reply_is_kept_bounded(void **state)
{
	struct smtp_reply r;
	char line[600], s[SMTP_REPLY_TEXT_MAX * 2];
	int i;

	smtp_reply_init(&r);
	memset(line, 'x', sizeof(line));
	memcpy(line, "250-", 4);
	for (i = 0; i < 1000; i++)
		assert_int_equal(smtp_reply_feed(&r, line, sizeof(line)),
		    SMTP_REPLY_MORE);
	assert_int_equal(feed(&r, "250 end"), SMTP_REPLY_DONE);
	assert_true(r.nlines <= SMTP_REPLY_LINES_MAX);
	assert_true(r.textlen <= sizeof(r.text));
	smtp_reply_str(&r, s, sizeof(s));
	assert_true(strlen(s) < sizeof(s));
}

static void
test_control_bytes_never_reach_a_log_line(void **state)
{
	struct smtp_reply r;
	char s[128];

	smtp_reply_init(&r);
	feed(&r, "550 bad\x1b[31m\x7f\xff text");
	smtp_reply_str(&r, s, sizeof(s));
	assert_string_equal(s, "550 bad?[31m?? text");
}

static void
test_ehlo_keywords(void **state)
{
	struct smtp_reply r;
	struct smtp_ext e;

	smtp_reply_init(&r);
	feed(&r, "250-mx Hello SIZE PIPELINING");	/* not keywords: line 0 */
	feed(&r, "250-pipelining");
	feed(&r, "250-SIZE 10240000");
	feed(&r, "250-8BITMIME");
	feed(&r, "250-STARTTLS");
	feed(&r, "250-AUTH PLAIN LOGIN");
	feed(&r, "250 SMTPUTF8");
	smtp_ext_parse(&r, &e);
	assert_true(e.pipelining && e.eightbitmime && e.starttls &&
	    e.smtputf8);
	assert_false(e.dsn);
	assert_true(e.has_size);
	assert_int_equal(e.size, 10240000);
	smtp_reply_init(&r);
	feed(&r, "250-mx");
	feed(&r, "250 SIZE 12ab");
	smtp_ext_parse(&r, &e);
	assert_true(e.has_size);
	assert_int_equal(e.size, 0);
	assert_false(e.pipelining);
}

/* The whole text through the stuffer in chunks of n bytes. */
static char *
stuff(const char *text, size_t n, size_t line_max)
{
	struct smtp_stuffer st;
	size_t len = strlen(text), i, o = 0, k;
	char *out = malloc(4 * len + 16);

	assert_non_null(out);
	smtp_stuffer_init(&st, line_max);
	for (i = 0; i < len; i += k) {
		k = len - i < n ? len - i : n;
		o += smtp_stuff(&st, text + i, k, out + o, 4 * k);
	}
	o += smtp_stuff_end(&st, out + o, 16);
	out[o] = '\0';
	return out;
}

static void
test_the_text_goes_out_crlf_and_dot_stuffed(void **state)
{
	static const char in[] = "Subject: x\n\n.\n..two\nmid.dle\n.\r\nend";
	static const char want[] = "Subject: x\r\n\r\n..\r\n...two\r\n"
	    "mid.dle\r\n.. \r\nend\r\n.\r\n";
	size_t n;

	for (n = 1; n <= sizeof(in); n++) {
		char *out = stuff(in, n, 0);

		if (strcmp(out, want) != 0)
			fail_msg("chunks of %zu: got \"%s\"", n, out);
		free(out);
	}
}

static void
test_no_lone_cr_leaves_and_no_early_end_of_data(void **state)
{
	/* A smuggling payload in the text: "\r.\r" must not end the data. */
	char *out = stuff("a\r.\rMAIL FROM:<x>\n", 3, 0);

	assert_string_equal(out, "a . MAIL FROM:<x>\r\n.\r\n");
	free(out);
}

static void
test_long_lines_are_broken_with_crlf_space(void **state)
{
	char *out = stuff("abcdefghij\n.2345\n", 4, 4);

	assert_string_equal(out, "abcd\r\n efg\r\n hij\r\n..23\r\n 45\r\n.\r\n");
	free(out);
	/* Without the limit nothing is broken. */
	out = stuff("abcdefghij\n", 4, 0);
	assert_string_equal(out, "abcdefghij\r\n.\r\n");
	free(out);
}

static void
test_too_small_an_output_is_refused(void **state)
{
	struct smtp_stuffer st;
	char out[8];

	smtp_stuffer_init(&st, 0);
	assert_int_equal(smtp_stuff(&st, "abc", 3, out, sizeof(out)),
	    (size_t)-1);
	assert_int_equal(smtp_stuff(&st, "ab", 2, out, sizeof(out)), 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_multiline_reply_is_one_reply),
		cmocka_unit_test(test_enhanced_codes_are_taken_only_when_they_fit),
		cmocka_unit_test(test_what_is_not_a_reply_is_refused),
		cmocka_unit_test(test_a_huge_reply_is_kept_bounded),
		cmocka_unit_test(test_control_bytes_never_reach_a_log_line),
		cmocka_unit_test(test_ehlo_keywords),
		cmocka_unit_test(test_the_text_goes_out_crlf_and_dot_stuffed),
		cmocka_unit_test(test_no_lone_cr_leaves_and_no_early_end_of_data),
		cmocka_unit_test(test_long_lines_are_broken_with_crlf_space),
		cmocka_unit_test(test_too_small_an_output_is_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
