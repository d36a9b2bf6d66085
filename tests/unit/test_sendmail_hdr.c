/*
 * test_sendmail_hdr.c - the sendmail injector's header handling
 * (cli/mailhdr.c, cli/sm_msg.c) and command line (cli/sm_args.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mailhdr.h"
#include "envelope.h"
#include "sendmail.h"

static const char *
msg_buf_str(struct buf *b)
{
	assert_int_equal(buf_cstr(b), 0);
	return b->data;
}

/* Parses list and checks it yields exactly the expected addresses. */
static void
expect_addrs(const char *list, const char *const *want, size_t nwant)
{
	struct mailhdr_addrs	a = { 0, NULL };
	char			err[128];
	size_t			i;

	assert_int_equal(mailhdr_addrlist(list, &a, err, sizeof(err)), 0);
	assert_int_equal(a.n, nwant);
	for (i = 0; i < nwant; i++)
		assert_string_equal(a.v[i], want[i]);
	mailhdr_addrs_free(&a);
}

static void
expect_addr_error(const char *list, const char *why)
{
	struct mailhdr_addrs	a = { 0, NULL };
	char			err[128];

	assert_int_equal(mailhdr_addrlist(list, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, why));
	mailhdr_addrs_free(&a);
}

static void
test_header_fields_are_split_and_unfolded(void **state)
{
	const char	*m = "Subject: a long\n\tfolded  subject\nTo: x@y\n"
			    "\nbody line\nSecond: not a header\n";
	struct mailhdr	 h;
	char		 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 2);
	assert_string_equal(h.f[0].name, "Subject");
	assert_string_equal(h.f[0].value, "a long\tfolded  subject");
	assert_string_equal(h.f[1].value, "x@y");
	assert_true(h.has_blank);
	assert_string_equal(m + h.body_off, "body line\nSecond: not a header\n");
	mailhdr_free(&h);
}

static void
test_non_header_line_starts_the_body(void **state)
{
	const char	*m = "To: a@b\nthis is text\nFrom: not@header\n";
	struct mailhdr	 h;
	char		 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 1);
	assert_false(h.has_blank);
	assert_string_equal(m + h.body_off, "this is text\nFrom: not@header\n");
	mailhdr_free(&h);
}

static void
test_header_without_final_newline(void **state)
{
	const char	*m = "Subject: hi\nTo: a@b";
	struct mailhdr	 h;
	struct buf	 out;
	char		 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 2);
	assert_int_equal(h.body_off, strlen(m));
	buf_init(&out, 0);
	assert_int_equal(mailhdr_write(&h, m, &out), 0);
	assert_string_equal(msg_buf_str(&out), "Subject: hi\nTo: a@b\n");
	buf_free(&out);
	mailhdr_free(&h);
}

static void
test_nul_in_header_is_refused(void **state)
{
	const char	 m[] = "Subject: a\0b\nTo: x@y\n\nbody";
	struct mailhdr	 h;
	char		 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, sizeof(m) - 1, &h, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
}

static void
test_nul_in_body_is_not_a_header_matter(void **state)
{
	const char	 m[] = "Subject: a\n\nbo\0dy";
	struct mailhdr	 h;
	char		 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, sizeof(m) - 1, &h, err,
	    sizeof(err)), 0);
	assert_int_equal(h.body_off, strlen("Subject: a\n\n"));
	mailhdr_free(&h);
}

static void
test_overlong_header_section_is_refused(void **state)
{
	size_t		 len = MAILHDR_SECTION_MAX + 4096, i;
	char		*m = malloc(len);
	struct mailhdr	 h;
	char		 err[128];

	(void)state;
	assert_non_null(m);
	/* One field folded forever: never a blank line. */
	memcpy(m, "X-Long: a\n", 10);
	for (i = 10; i < len; i++)
		m[i] = (i % 100 == 99) ? '\n' :
		    ((i % 100 == 0 || i == 10) ? ' ' : 'x');
	assert_int_equal(mailhdr_parse(m, len, &h, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
	free(m);
}

static void
test_long_body_line_is_not_a_header(void **state)
{
	size_t		 len = MAILHDR_SECTION_MAX * 2;
	char		*m = malloc(len);
	struct mailhdr	 h;
	char		 err[128];

	(void)state;
	assert_non_null(m);
	/* No header at all; the first line is body text, NULs and all. */
	memset(m, 'b', len);
	m[5] = '\0';
	assert_int_equal(mailhdr_parse(m, len, &h, err, sizeof(err)), 0);
	assert_int_equal(h.n, 0);
	assert_int_equal(h.body_off, 0);
	mailhdr_free(&h);
	free(m);
}

static void
test_addresses_plain_and_named(void **state)
{
	static const char *const want[] = { "a@b.example", "c@d.example",
	    "e@f.example" };

	(void)state;
	expect_addrs("a@b.example, Carl <c@d.example>,e@f.example", want, 3);
}

static void
test_addresses_with_comments(void **state)
{
	static const char *const want[] = { "a@b.example", "c@d.example" };

	(void)state;
	expect_addrs("a@b.example (Alice, \"the first\"), c(x)@(y)d.example "
	    "(nested (comment) here)", want, 2);
}

static void
test_addresses_with_quoted_names(void **state)
{
	static const char *const want[] = { "a@b.example", "c@d.example" };

	(void)state;
	expect_addrs("\"Smith, John <boss>\" <a@b.example>, "
	    "\"q\\\"uote, x\" <c@d.example>", want, 2);
}

static void
test_quoted_local_part_is_kept(void **state)
{
	static const char *const want[] = { "\"john doe\"@b.example" };

	(void)state;
	expect_addrs("\"john doe\"@b.example", want, 1);
}

static void
test_groups(void **state)
{
	static const char *const want[] = { "a@b.example", "c@d.example",
	    "e@f.example" };

	(void)state;
	expect_addrs("Team: a@b.example, Carl <c@d.example>;, e@f.example",
	    want, 3);
	expect_addrs("undisclosed-recipients:;", NULL, 0);
}

static void
test_source_route_is_dropped(void **state)
{
	static const char *const want[] = { "a@b.example" };

	(void)state;
	expect_addrs("<@relay.example,@other.example:a@b.example>", want, 1);
}

static void
test_bare_name_and_duplicates(void **state)
{
	static const char *const want[] = { "root", "A@b.example" };

	(void)state;
	expect_addrs("root, A@b.example, a@B.example", want, 2);
}

static void
test_two_words_without_angle_stay_invalid(void **state)
{
	static const char *const want[] = { "John a@b.example" };

	(void)state;
	/* Kept with its space so that addr_parse rejects it later. */
	expect_addrs("John a@b.example", want, 1);
}

static void
test_long_display_name_is_fine(void **state)
{
	char	list[2048];
	static const char *const want[] = { "a@b.example" };

	(void)state;
	memset(list, 'n', 1000);
	memcpy(list + 1000, " <a@b.example>", 15);
	expect_addrs(list, want, 1);
}

static void
test_hostile_address_lists(void **state)
{
	char	big[1024];
	char	deep[200];
	size_t	i;

	(void)state;
	expect_addr_error("\"unterminated@x", "quoted string");
	expect_addr_error("a@b (unterminated", "comment");
	expect_addr_error("Name <a@b", "angle");
	expect_addr_error("a@b>", "'>'");
	expect_addr_error("<a<b>>", "'<'");
	expect_addr_error("a@[1.2.3.4", "domain literal");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	big[10] = '@';
	expect_addr_error(big, "longer");
	for (i = 0; i < sizeof(deep) - 1; i++)
		deep[i] = i < 100 ? '(' : ')';
	deep[sizeof(deep) - 1] = '\0';
	expect_addr_error(deep, "nested");
}

static void
test_too_many_addresses(void **state)
{
	struct mailhdr_addrs	 a = { 0, NULL };
	size_t			 n = MAILHDR_ADDRS_MAX + 1, i, o = 0;
	char			*list = malloc(n * 16), err[128];

	(void)state;
	assert_non_null(list);
	for (i = 0; i < n; i++)
		o += (size_t)snprintf(list + o, n * 16 - o, "u%zu@x,", i);
	assert_int_equal(mailhdr_addrlist(list, &a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "too many"));
	mailhdr_addrs_free(&a);
	free(list);
}

static void
test_recipients_from_headers_and_bcc_removed(void **state)
{
	const char	*m = "From: me@x\nTo: a@b.example,\n b@b.example\n"
			    "CC: Carl <c@b.example>\nBcc: secret@b.example\n"
			    "Subject: s\n\nbody\n";
	struct mailhdr		 h;
	struct mailhdr_addrs	 r = { 0, NULL };
	struct sm_stamp		 st;
	struct buf		 out;
	char			 err[128];
	const char		*s;

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	assert_int_equal(sm_header_recipients(&h, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 4);
	assert_string_equal(r.v[0], "a@b.example");
	assert_string_equal(r.v[1], "b@b.example");
	assert_string_equal(r.v[2], "c@b.example");
	assert_string_equal(r.v[3], "secret@b.example");

	memset(&st, 0, sizeof(st));
	st.myhostname = "host.example";
	st.qid = "0123456789ABCDEF";
	st.now = 1700000000;
	st.sender = "me@x";
	buf_init(&out, 0);
	assert_int_equal(sm_header_build(&h, m, &st, &out), 0);
	s = msg_buf_str(&out);
	assert_null(strstr(s, "Bcc"));
	assert_null(strstr(s, "secret"));
	/* The trace is queued's to write, from the socket's credentials. */
	assert_null(strstr(s, "Received:"));
	assert_true(strncmp(s, "From: me@x\n", 11) == 0);
	assert_non_null(strstr(s, "\nDate: "));
	assert_non_null(strstr(s, "\nMessage-ID: <20231114221320."
	    "0123456789ABCDEF@host.example>\n"));
	/* The message has a From: of its own; none is added. */
	assert_non_null(strstr(s, "From: me@x\n"));
	assert_null(strstr(s, "From: me@x\nFrom"));
	assert_true(strstr(s, "\n\n") == s + out.len - 2);
	buf_free(&out);
	mailhdr_addrs_free(&r);
	mailhdr_free(&h);
}

static void
test_resent_headers_win(void **state)
{
	const char	*m = "To: old@b.example\nResent-To: new@b.example\n"
			    "Resent-Bcc: hidden@b.example\n\n";
	struct mailhdr		 h;
	struct mailhdr_addrs	 r = { 0, NULL };
	char			 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	assert_int_equal(sm_header_recipients(&h, &r, err, sizeof(err)), 0);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0], "new@b.example");
	assert_string_equal(r.v[1], "hidden@b.example");
	mailhdr_addrs_free(&r);
	mailhdr_free(&h);
}

static void
test_bad_header_address_names_the_field(void **state)
{
	const char	*m = "Cc: \"oops <a@b>\n\n";
	struct mailhdr		 h;
	struct mailhdr_addrs	 r = { 0, NULL };
	char			 err[128];

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	assert_int_equal(sm_header_recipients(&h, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "Cc header"));
	mailhdr_addrs_free(&r);
	mailhdr_free(&h);
}

static void
test_missing_headers_are_added(void **state)
{
	const char	*m = "Subject: cron\n\nout\n";
	struct mailhdr	 h;
	struct sm_stamp	 st;
	struct buf	 out;
	char		 err[128];
	const char	*s;

	(void)state;
	assert_int_equal(mailhdr_parse(m, strlen(m), &h, err, sizeof(err)), 0);
	memset(&st, 0, sizeof(st));
	st.myhostname = "h.example";
	st.qid = "0123456789ABCDEF";
	st.now = 1700000000;
	st.sender = "cron@h.example";
	st.fullname = "Cron \"Daemon\"\x01";
	buf_init(&out, 0);
	assert_int_equal(sm_header_build(&h, m, &st, &out), 0);
	s = msg_buf_str(&out);
	/* The message's own headers come first: no trace line above them. */
	assert_true(strncmp(s, "Subject: cron\nDate: ", 20) == 0);
	assert_non_null(strstr(s, "\nFrom: \"Cron \\\"Daemon\\\"\" "
	    "<cron@h.example>\n\n"));
	buf_free(&out);

	st.sender = "";
	st.fullname = NULL;
	buf_init(&out, 0);
	assert_int_equal(sm_header_build(&h, m, &st, &out), 0);
	assert_non_null(strstr(msg_buf_str(&out),
	    "\nFrom: MAILER-DAEMON@h.example\n"));
	buf_free(&out);
	mailhdr_free(&h);
}

static void
feed_all(struct sm_input *in, const char *s, size_t chunk)
{
	size_t	len = strlen(s), i, n;
	int	r = 0;

	for (i = 0; i < len && r == 0; i += n) {
		n = len - i < chunk ? len - i : chunk;
		r = sm_input_feed(in, s + i, n);
	}
	if (r == 0)
		assert_int_equal(sm_input_finish(in), 0);
}

static void
test_input_crlf_and_dot(void **state)
{
	struct sm_input	in;
	size_t		chunk;

	(void)state;
	/* Any chunking gives the same result: CR and LF may be split. */
	for (chunk = 1; chunk < 8; chunk++) {
		sm_input_init(&in, 1024, 0);
		feed_all(&in, "From someone Mon\r\nA: b\r\n\r\nx\r\n.\r\n"
		    "after\n", chunk);
		assert_true(in.done);
		assert_int_equal(in.msg.len, 8);
		assert_memory_equal(in.msg.data, "A: b\n\nx\n", 8);
		sm_input_free(&in);
	}
	sm_input_init(&in, 1024, 1);
	feed_all(&in, "a\n.\n..\nlast", 3);
	assert_false(in.done);
	assert_int_equal(in.msg.len, 12);
	assert_memory_equal(in.msg.data, "a\n.\n..\nlast\n", 12);
	sm_input_free(&in);
}

/* A CR that is not part of the line end becomes a space, as in smtpd. */
static void
test_input_bare_cr_is_a_space(void **state)
{
	static const char want[] = "S: x \n .\n . MAIL\n..\n. \nend \n";
	struct sm_input	in;
	size_t		chunk;

	(void)state;
	for (chunk = 1; chunk < 8; chunk++) {
		sm_input_init(&in, 1024, 0);
		/* "\r\r\n", "\r.\r\n", "\r.\r" mid-line, ".\r\r\n", last. */
		feed_all(&in, "S: x\r\r\n\r.\r\n\r.\rMAIL\r\n..\n.\r\r\n"
		    "end\r", chunk);
		assert_false(in.done);
		assert_int_equal(in.msg.len, sizeof(want) - 1);
		assert_memory_equal(in.msg.data, want, sizeof(want) - 1);
		assert_null(memchr(in.msg.data, '\r', in.msg.len));
		sm_input_free(&in);
	}
}

static void
test_input_size_limit(void **state)
{
	struct sm_input	in;
	char		big[3000];

	(void)state;
	memset(big, 'x', sizeof(big));
	sm_input_init(&in, 2048, 1);
	assert_int_equal(sm_input_feed(&in, big, sizeof(big)), -1);
	sm_input_free(&in);
	sm_input_init(&in, 2048, 1);
	assert_int_equal(sm_input_feed(&in, big, 2047), 0);
	assert_int_equal(sm_input_finish(&in), 0);	/* 2047 + LF fits */
	sm_input_free(&in);
}

static void
test_args(void **state)
{
	char		*av1[] = { "sendmail", "-ti", "-f", "<me@x>", "-FCron",
			    "-oem", "-B8BITMIME", "-v", "a", "-oi", "--", "-b",
			    NULL };
	char		*av2[] = { "sendmail", "-j", NULL };
	char		*av3[] = { "sendmail", "-f", NULL };
	char		*av4[] = { "sendmail", "-bs", NULL };
	struct sm_opts	 o;
	char		 err[128];

	(void)state;
	assert_int_equal(sm_args_parse(12, av1, &o, err, sizeof(err)), 0);
	assert_true(o.extract);
	assert_true(o.ignore_dots);
	assert_string_equal(o.sender, "<me@x>");
	assert_string_equal(o.fullname, "Cron");
	assert_int_equal(o.nrcpt, 2);
	assert_string_equal(o.rcpt[0], "a");
	assert_string_equal(o.rcpt[1], "-b");
	sm_args_free(&o);
	assert_int_equal(sm_args_parse(2, av2, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-j"));
	assert_int_equal(sm_args_parse(2, av3, &o, err, sizeof(err)), -1);
	assert_int_equal(sm_args_parse(2, av4, &o, err, sizeof(err)), 0);
	assert_int_equal(o.mode, SM_MODE_SMTP);
	sm_args_free(&o);
}

/* Parses a NULL-ended argv; returns the mode, or -1 with err set. */
static int
mode_of(char **av, struct sm_opts *o, char *err, size_t errlen)
{
	int argc = 0;

	while (av[argc] != NULL)
		argc++;
	if (sm_args_parse(argc, av, o, err, errlen) == -1)
		return -1;
	return (int)o->mode;
}

static void
test_args_dsn_options(void **state)
{
	char		*ok[] = { "sendmail", "-N", "delay, Failure", "-R",
			    "HDRS", "-V", "id 1", "-B", "8BITMIME", "a@b", NULL };
	char		*never[] = { "sendmail", "-Nnever", "-Rfull", "a@b",
			    NULL };
	char		*bad[][5] = {
		{ "sendmail", "-N", "never,success", "a@b", NULL },
		{ "sendmail", "-N", "sometimes", "a@b", NULL },
		{ "sendmail", "-N", "", "a@b", NULL },
		{ "sendmail", "-R", "most", "a@b", NULL },
		{ "sendmail", "-V", "a\tb", "a@b", NULL },
		{ "sendmail", "-V", "", "a@b", NULL },
		{ "sendmail", "-V", "caf\xc3\xa9", "a@b", NULL },
	};
	struct sm_opts	 o;
	char		 err[128];
	size_t		 i;

	(void)state;
	assert_int_equal(mode_of(ok, &o, err, sizeof(err)), SM_MODE_DELIVER);
	assert_int_equal(o.notify, ENV_NOTIFY_DELAY | ENV_NOTIFY_FAILURE);
	assert_int_equal(o.ret, ENV_RET_HDRS);
	assert_string_equal(o.envid, "id 1");
	assert_int_equal(o.body, ENV_BODY_8BITMIME);
	sm_args_free(&o);
	assert_int_equal(mode_of(never, &o, err, sizeof(err)), SM_MODE_DELIVER);
	assert_int_equal(o.notify, ENV_NOTIFY_NEVER);
	assert_int_equal(o.ret, ENV_RET_FULL);
	assert_null(o.envid);
	sm_args_free(&o);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (mode_of(bad[i], &o, err, sizeof(err)) != -1)
			fail_msg("accepted %s %s", bad[i][1], bad[i][2]);
		assert_non_null(strstr(err, bad[i][1]));
	}
}

static void
test_args_modes_and_postfix_options(void **state)
{
	char		*mailq[] = { "/usr/bin/mailq", NULL };
	char		*newal[] = { "newaliases", "-bp", NULL };
	char		*r[] = { "sendmail", "-r", "a@b", "-Am", "-G", "-odi",
			    "-N", "never", "-V", "id", "-X", "/dev/null", "-c",
			    "x@y", NULL };
	char		*big_i[] = { "sendmail", "-I", NULL };
	char		*bv[] = { "sendmail", "-bv", "a@b", NULL };
	char		*bv0[] = { "sendmail", "-bv", NULL };
	char		*q[] = { "sendmail", "-q", NULL };
	char		*qi[] = { "sendmail", "-qIABC", NULL };
	char		*q30[] = { "sendmail", "-q30m", NULL };
	char		*qs[] = { "sendmail", "-qSsite", NULL };
	char		*n[] = { "sendmail", "-n", "a@b", NULL };
	char		*b[] = { "sendmail", "-BBINARY", "a@b", NULL };
	char		*bsr[] = { "sendmail", "-bs", "a@b", NULL };
	char		*bst[] = { "sendmail", "-bs", "-t", NULL };
	char		*bsi[] = { "sendmail", "-bs", "-i", NULL };
	char		*bpr[] = { "mailq", "x", NULL };
	struct sm_opts	 o;
	char		 err[128];

	(void)state;
	assert_int_equal(mode_of(mailq, &o, err, sizeof(err)), SM_MODE_MAILQ);
	sm_args_free(&o);
	assert_int_equal(mode_of(newal, &o, err, sizeof(err)), SM_MODE_MAILQ);
	sm_args_free(&o);
	assert_int_equal(mode_of(r, &o, err, sizeof(err)), SM_MODE_DELIVER);
	assert_string_equal(o.sender, "a@b");
	assert_int_equal(o.nrcpt, 1);
	assert_string_equal(o.rcpt[0], "x@y");
	sm_args_free(&o);
	assert_int_equal(mode_of(big_i, &o, err, sizeof(err)),
	    SM_MODE_NEWALIASES);
	sm_args_free(&o);
	assert_int_equal(mode_of(bv, &o, err, sizeof(err)), SM_MODE_VERIFY);
	sm_args_free(&o);
	assert_int_equal(mode_of(bv0, &o, err, sizeof(err)), -1);
	assert_int_equal(mode_of(q, &o, err, sizeof(err)), SM_MODE_FLUSH);
	assert_null(o.flush);
	sm_args_free(&o);
	assert_int_equal(mode_of(qi, &o, err, sizeof(err)), SM_MODE_FLUSH);
	assert_string_equal(o.flush, "ABC");
	sm_args_free(&o);
	assert_int_equal(mode_of(q30, &o, err, sizeof(err)), SM_MODE_NOTHING);
	sm_args_free(&o);
	assert_int_equal(mode_of(qs, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-qS is not implemented"));
	assert_int_equal(mode_of(n, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-n"));
	assert_int_equal(mode_of(b, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "8BITMIME"));
	assert_int_equal(mode_of(bsr, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "takes no recipient"));
	assert_int_equal(mode_of(bst, &o, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "-t can be used only"));
	/* Laravel passes -bs -i: -i means nothing to SMTP, and is taken. */
	assert_int_equal(mode_of(bsi, &o, err, sizeof(err)), SM_MODE_SMTP);
	sm_args_free(&o);
	assert_int_equal(mode_of(bpr, &o, err, sizeof(err)), -1);
}

static void
test_addr_complete(void **state)
{
	char out[ADDR_MAX + 1];

	(void)state;
	assert_int_equal(sm_addr_complete("root", "h.example", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "root@h.example");
	assert_int_equal(sm_addr_complete("<a@b>", "h", out, sizeof(out)), 0);
	assert_string_equal(out, "a@b");
	assert_int_equal(sm_addr_complete("<>", "h", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(sm_addr_complete("abcdef", "h", out, 5), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_fields_are_split_and_unfolded),
		cmocka_unit_test(test_non_header_line_starts_the_body),
		cmocka_unit_test(test_header_without_final_newline),
		cmocka_unit_test(test_nul_in_header_is_refused),
		cmocka_unit_test(test_nul_in_body_is_not_a_header_matter),
		cmocka_unit_test(test_overlong_header_section_is_refused),
		cmocka_unit_test(test_long_body_line_is_not_a_header),
		cmocka_unit_test(test_addresses_plain_and_named),
		cmocka_unit_test(test_addresses_with_comments),
		cmocka_unit_test(test_addresses_with_quoted_names),
		cmocka_unit_test(test_quoted_local_part_is_kept),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_args_modes_and_postfix_options),
		cmocka_unit_test(test_source_route_is_dropped),
		cmocka_unit_test(test_bare_name_and_duplicates),
		cmocka_unit_test(test_two_words_without_angle_stay_invalid),
		cmocka_unit_test(test_long_display_name_is_fine),
		cmocka_unit_test(test_hostile_address_lists),
		cmocka_unit_test(test_too_many_addresses),
		cmocka_unit_test(test_recipients_from_headers_and_bcc_removed),
		cmocka_unit_test(test_resent_headers_win),
		cmocka_unit_test(test_bad_header_address_names_the_field),
		cmocka_unit_test(test_missing_headers_are_added),
		cmocka_unit_test(test_input_crlf_and_dot),
		cmocka_unit_test(test_input_bare_cr_is_a_space),
		cmocka_unit_test(test_input_size_limit),
		cmocka_unit_test(test_args),
		cmocka_unit_test(test_args_dsn_options),
		cmocka_unit_test(test_addr_complete),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
