/*
 * test_pop3_stuff.c - pop3d's LF -> CRLF and dot-stuffing filter (a
 * bare CR goes out as a space) and TOP's line counting, fed in every
 * possible chunking; the sizes LIST reports (maildir_vsize) must match
 * what the filter sends.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "maildir.h"
#include "pop3d.h"

/* Runs text through the filter in pieces of chunk bytes. */
static char *
stuff(const char *text, size_t len, size_t chunk, int top, uint32_t lines)
{
	struct pop3_stuff	 s;
	unsigned char		*out, *tmp;
	size_t			 o = 0, i = 0, n, used, olen;

	out = malloc(2 * len + 16);
	tmp = malloc(2 * chunk + POP3_STUFF_SLACK);
	assert_non_null(out);
	assert_non_null(tmp);
	if (top)
		pop3_stuff_init_top(&s, lines);
	else
		pop3_stuff_init(&s);
	while (i < len && !s.done) {
		n = len - i < chunk ? len - i : chunk;
		used = pop3_stuff_feed(&s, (const unsigned char *)text + i, n,
		    tmp, &olen);
		assert_true(olen <= 2 * n + POP3_STUFF_SLACK);
		assert_true(used <= n);
		memcpy(out + o, tmp, olen);
		o += olen;
		i += used;
		if (used < n)
			assert_true(s.done);
	}
	o += pop3_stuff_end(&s, out + o);
	out[o] = '\0';
	free(tmp);
	return (char *)out;
}

/* The same result for every chunk size from 1 to the whole text. */
static void
expect(const char *text, int top, uint32_t lines, const char *want)
{
	size_t	len = strlen(text), chunk;
	char	*got;

	for (chunk = 1; chunk <= len + 1; chunk++) {
		got = stuff(text, len, chunk, top, lines);
		assert_string_equal(got, want);
		free(got);
	}
}

static uint64_t
vsize(const char *text)
{
	struct maildir_vsize v;

	maildir_vsize_init(&v);
	maildir_vsize_feed(&v, text, strlen(text));
	return maildir_vsize_end(&v);
}

static void
test_lf_becomes_crlf_and_crlf_stays(void **state)
{
	expect("a\nb\n", 0, 0, "a\r\nb\r\n");
	expect("a\r\nb\r\n", 0, 0, "a\r\nb\r\n");
	expect("a\r\nb\nc\r\n", 0, 0, "a\r\nb\r\nc\r\n");
	expect("\n\n", 0, 0, "\r\n\r\n");
	expect("bare\rcr\n", 0, 0, "bare cr\r\n");
	expect("", 0, 0, "");
}

static void
test_dot_lines_are_stuffed(void **state)
{
	expect(".\n", 0, 0, "..\r\n");
	expect("a\n.\nb\n", 0, 0, "a\r\n..\r\nb\r\n");
	expect("..x\n", 0, 0, "...x\r\n");
	expect("a.b\n.c\r\n", 0, 0, "a.b\r\n..c\r\n");
	/* Only a line start counts: not after a bare CR. */
	expect("a\r.b\n", 0, 0, "a .b\r\n");
	expect(".", 0, 0, "..\r\n");
}

static void
test_last_line_without_lf_gets_crlf(void **state)
{
	expect("a\nno end", 0, 0, "a\r\nno end\r\n");
	expect("a\r", 0, 0, "a \r\n");
	expect("a\n\r", 0, 0, "a\r\n \r\n");
}

/*
 * No bare CR leaves the server, wherever it is in the file: a client
 * that takes CR for a line end must see the same lines as one that
 * does not, and never a lone dot that is not the terminator.
 */
static void
test_bare_cr_goes_out_as_a_space(void **state)
{
	expect("x\r.\r\n", 0, 0, "x .\r\n");
	expect("x\r.\rMAIL FROM:<e@vil>\r\n", 0, 0,
	    "x . MAIL FROM:<e@vil>\r\n");
	expect("\r.\n", 0, 0, " .\r\n");
	expect("a\n\r\r\n.\r\r\n", 0, 0, "a\r\n \r\n.. \r\n");
	expect("S: x\r\r\nT: y\r\n\r\nb\r\n", 0, 0,
	    "S: x \r\nT: y\r\n\r\nb\r\n");
	/* "\r\r\n" ends no header: the space line is not the blank one. */
	expect("S: x\n\r\r\nT: y\n\nb1\nb2\n", 1, 1,
	    "S: x\r\n \r\nT: y\r\n\r\nb1\r\n");
}

/* Every text over CR, LF, '.' and 'a': CR only in CRLF, sizes exact. */
static void
test_random_texts_send_no_bare_cr(void **state)
{
	static const char alphabet[] = { '\r', '\n', '.', 'a' };
	char		 text[24];
	unsigned	 seed = 4242;
	size_t		 len, i, j, dots;
	int		 iter;
	char		*got;

	for (iter = 0; iter < 20000; iter++) {
		len = (seed >> 16) % sizeof(text);
		for (i = 0; i < len; i++) {
			seed = seed * 1103515245 + 12345;
			text[i] = alphabet[(seed >> 16) % sizeof(alphabet)];
		}
		text[len] = '\0';
		got = stuff(text, len, 1 + iter % 5, 0, 0);
		for (dots = 0, j = 0; got[j] != '\0'; j++) {
			if (got[j] == '\r')
				assert_int_equal(got[j + 1], '\n');
			if (got[j] == '\n')
				assert_true(j > 0 && got[j - 1] == '\r');
			if (got[j] == '.' && (j == 0 || got[j - 1] == '\n'))
				dots++;
		}
		assert_int_equal(strlen(got) - dots, vsize(text));
		free(got);
	}
}

static void
test_top_counts_body_lines(void **state)
{
	const char *msg = "Subject: x\nFrom: y\n\nl1\n.l2\nl3\n";

	expect(msg, 1, 0, "Subject: x\r\nFrom: y\r\n\r\n");
	expect(msg, 1, 1, "Subject: x\r\nFrom: y\r\n\r\nl1\r\n");
	expect(msg, 1, 2, "Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\n");
	/* More lines than the body has: the whole message. */
	expect(msg, 1, 3, "Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	expect(msg, 1, 99, "Subject: x\r\nFrom: y\r\n\r\nl1\r\n..l2\r\nl3\r\n");
	/* CRLF header end. */
	expect("S: x\r\n\r\nb1\r\nb2\r\n", 1, 1, "S: x\r\n\r\nb1\r\n");
	/* No blank line: all of it is header. */
	expect("S: x\nT: y\n", 1, 0, "S: x\r\nT: y\r\n");
	/* A body whose last line has no LF, cut or not. */
	expect("S: x\n\nb1\nb2", 1, 5, "S: x\r\n\r\nb1\r\nb2\r\n");
	expect("S: x\n\nb1\nb2", 1, 1, "S: x\r\n\r\nb1\r\n");
	/* A line of spaces is not the blank line. */
	expect("S: x\n \nb\n\nc\n", 1, 0, "S: x\r\n \r\nb\r\n\r\n");
}

/* Everything but the stuffed dots: what LIST promised arrives. */
static void
test_sizes_match_what_is_sent(void **state)
{
	static const char *texts[] = {
		"", "a", "a\n", "a\r\n", "a\nb", "a\r", "\n\n\r\n", ".x\n",
		"Subject: x\n\nbody\r\nmore\nend", "\r", "\r\r\n", "x\r.\r\n",
		"a\r\rb\r",
	};
	size_t	i, dots, j;
	char	*got;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		got = stuff(texts[i], strlen(texts[i]), 3, 0, 0);
		for (dots = 0, j = 0; got[j] != '\0'; j++)
			if (got[j] == '.' && (j == 0 || got[j - 1] == '\n'))
				dots++;
		assert_int_equal(strlen(got) - dots, vsize(texts[i]));
		free(got);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lf_becomes_crlf_and_crlf_stays),
		cmocka_unit_test(test_dot_lines_are_stuffed),
		cmocka_unit_test(test_last_line_without_lf_gets_crlf),
		cmocka_unit_test(test_bare_cr_goes_out_as_a_space),
		cmocka_unit_test(test_random_texts_send_no_bare_cr),
		cmocka_unit_test(test_top_counts_body_lines),
		cmocka_unit_test(test_sizes_match_what_is_sent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
