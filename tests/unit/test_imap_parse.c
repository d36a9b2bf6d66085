/*
 * test_imap_parse.c - the IMAP tokenizer and the typed argument readers,
 * on commands as real clients send them (Thunderbird, mutt, imaplib,
 * Apple Mail), read through imap_reader from a socketpair so that the
 * literals are laid out as the reader lays them out; plus what they must
 * refuse: bad escapes, CTLs, 8-bit atoms, NUL in literals, lists nested
 * deeper than 16, stray "{N}", bad sections, dates and flags. And the
 * output side (imap_write): strings, nstrings, astrings, LIST matching.
 */
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_write.h"

struct parsed {
	struct netio		io;
	int			peer;
	struct imap_reader	rd;
	struct imap_cmd		cmd;
	struct imap_request	req;
	int			rc;
};

static int
no_cont(struct netio *io, size_t n, void *arg)
{
	(void)io;
	(void)n;
	(void)arg;
	return 0;
}

/* Reads one command from the wire bytes and parses it: p->rc is 0 / -1. */
static void
parse_n(struct parsed *p, const char *wire, size_t len)
{
	struct imap_limits	lim;
	int			sv[2];

	memset(p, 0, sizeof(*p));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], wire, len), (ssize_t)len);
	close(sv[1]);
	netio_init(&p->io, sv[0], 2);
	imap_limits_default(&lim);
	lim.timeout = 2;
	assert_int_equal(imap_reader_init(&p->rd, &p->io, &lim, no_cont, p),
	    0);
	imap_cmd_init(&p->cmd);
	imap_request_init(&p->req);
	assert_int_equal(imap_read_command(&p->rd, &p->cmd), IMAP_RD_OK);
	p->rc = imap_parse(&p->req, &p->cmd);
}

static void
parse(struct parsed *p, const char *wire)
{
	parse_n(p, wire, strlen(wire));
}

static void
done(struct parsed *p)
{
	imap_request_free(&p->req);
	imap_cmd_free(&p->cmd);
	imap_reader_free(&p->rd);
	close(p->io.fd);
	netio_free(&p->io);
}

static const struct imap_arg *
arg(struct parsed *p, size_t i)
{
	const struct imap_arg *a = imap_req_arg(&p->req, i);

	assert_non_null(a);
	return a;
}

static void
test_thunderbird_uid_fetch_with_header_fields(void **state)
{
	struct parsed		p;
	struct imap_fetch_att	att[IMAP_FETCH_MAX];
	size_t			n;
	uint32_t		u;

	(void)state;
	parse(&p, "A003 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK["
	    "HEADER.FIELDS (From To Cc Bcc Subject Date Message-ID Priority "
	    "X-Priority References Newsgroups In-Reply-To Content-Type "
	    "Reply-To)])\r\n");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.req.tag, "A003");
	assert_string_equal(p.req.name, "FETCH");
	assert_int_equal(p.req.uid, 1);
	assert_int_equal(p.req.nargs, 2);
	assert_int_equal(arg(&p, 0)->type, IMAP_ARG_ATOM);
	assert_string_equal(arg(&p, 0)->s, "1:*");
	assert_int_equal(arg(&p, 1)->type, IMAP_ARG_LIST);
	assert_int_equal(arg(&p, 1)->n, 4);
	assert_int_equal(imap_fetch_parse(arg(&p, 1), att, IMAP_FETCH_MAX, &n),
	    0);
	assert_int_equal(n, 4);
	assert_int_equal(att[0].item, IMAP_FETCH_UID);
	assert_int_equal(att[1].item, IMAP_FETCH_RFC822_SIZE);
	assert_int_equal(att[2].item, IMAP_FETCH_FLAGS);
	assert_int_equal(att[3].item, IMAP_FETCH_SECTION);
	assert_int_equal(att[3].sec.peek, 1);
	assert_int_equal(att[3].sec.text, IMAP_SEC_HEADER_FIELDS);
	assert_int_equal(att[3].sec.nparts, 0);
	assert_int_equal(att[3].sec.nfields, 14);
	assert_int_equal(att[3].sec.field_len[0], 4);
	assert_memory_equal(att[3].sec.field[0], "From", 4);
	assert_int_equal(att[3].sec.field_len[13], 8);
	assert_memory_equal(att[3].sec.field[13], "Reply-To", 8);
	assert_int_equal(att[3].sec.partial, 0);
	/* A sequence set is not a number. */
	assert_int_equal(imap_arg_number(arg(&p, 0), &u), -1);
	done(&p);
}

static void
test_append_with_flags_date_and_literal(void **state)
{
	struct parsed		p;
	struct imap_flags	f;
	const char		*s;
	size_t			len;
	time_t			t;
	int			zone;
	static const char	msg[] = "From: a@example.org\r\n\r\nbody\r\n";
	char			wire[256];

	(void)state;
	snprintf(wire, sizeof(wire), "A5 APPEND \"Sent\" (\\Seen $Forwarded) "
	    "\"17-Jul-1996 02:44:25 -0700\" {%zu}\r\n%s\r\n", sizeof(msg) - 1,
	    msg);
	parse(&p, wire);
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.req.name, "APPEND");
	assert_int_equal(p.req.nargs, 4);
	assert_int_equal(imap_arg_mailbox(arg(&p, 0), &s, &len), 0);
	assert_string_equal(s, "Sent");
	assert_int_equal(imap_flaglist_parse(arg(&p, 1), &f), 0);
	assert_int_equal(f.sys, IMAP_FLAG_SEEN);
	assert_int_equal(f.nkw, 1);
	assert_string_equal(f.kw[0], "$Forwarded");
	assert_int_equal(imap_arg_datetime(arg(&p, 2), &t, &zone), 0);
	assert_int_equal(zone, -420);
	assert_int_equal(t, 837596665);	/* 1996-07-17T09:44:25Z */
	assert_int_equal(arg(&p, 3)->type, IMAP_ARG_LITERAL);
	assert_int_equal(arg(&p, 3)->len, sizeof(msg) - 1);
	assert_string_equal(arg(&p, 3)->s, msg);
	done(&p);
}

static void
test_imaplib_login_with_quoted_escapes(void **state)
{
	struct parsed	p;
	const char	*s;
	size_t		len;

	(void)state;
	parse(&p, "JJJJ1 login alice \"p\\\"w\\\\d\"\r\n");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.req.name, "LOGIN");
	assert_int_equal(imap_arg_astring(arg(&p, 0), &s, &len), 0);
	assert_string_equal(s, "alice");
	assert_int_equal(imap_arg_astring(arg(&p, 1), &s, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(s, "p\"w\\d");
	done(&p);
}

static void
test_login_literals_with_8bit_password(void **state)
{
	struct parsed	p;
	const char	*s;
	size_t		len;

	(void)state;
	parse(&p, "a1 LOGIN {5}\r\nalice {7}\r\np\xc3\xa4ss\"(\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_arg_astring(arg(&p, 0), &s, &len), 0);
	assert_string_equal(s, "alice");
	assert_int_equal(imap_arg_astring(arg(&p, 1), &s, &len), 0);
	assert_int_equal(len, 7);
	assert_memory_equal(s, "p\xc3\xa4ss\"(", 7);
	done(&p);
}

static void
test_mutt_and_apple_commands(void **state)
{
	struct parsed		p;
	struct imap_flags	f;
	const char		*s;
	size_t			len;

	(void)state;
	parse(&p, "a0007 UID STORE 3:5,9 +FLAGS.SILENT (\\Deleted \\seen)\r\n");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.req.name, "STORE");
	assert_true(imap_arg_is(arg(&p, 1), "+flags.silent"));
	assert_int_equal(imap_arg_seqset(arg(&p, 0), &s, &len), 0);
	assert_int_equal(imap_flaglist_parse(arg(&p, 2), &f), 0);
	assert_int_equal(f.sys, IMAP_FLAG_DELETED | IMAP_FLAG_SEEN);
	done(&p);
	/* STORE's flags without parentheses. */
	parse(&p, "a8 STORE 1 FLAGS \\Answered \\Flagged Junk\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_flags_parse(arg(&p, 2), 3, &f), 0);
	assert_int_equal(f.sys, IMAP_FLAG_ANSWERED | IMAP_FLAG_FLAGGED);
	assert_string_equal(f.kw[0], "Junk");
	done(&p);
	parse(&p, "a0004 select inbox\r\n");
	assert_int_equal(p.rc, 0);
	assert_string_equal(p.req.name, "SELECT");
	assert_int_equal(imap_arg_mailbox(arg(&p, 0), &s, &len), 0);
	assert_string_equal(s, "INBOX");
	done(&p);
	parse(&p, "8 LIST \"\" \"*\" RETURN (SPECIAL-USE SUBSCRIBED)\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.req.nargs, 4);
	assert_int_equal(imap_arg_list_mailbox(arg(&p, 0), &s, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(imap_arg_list_mailbox(arg(&p, 1), &s, &len), 0);
	assert_string_equal(s, "*");
	assert_int_equal(arg(&p, 3)->n, 2);
	done(&p);
	parse(&p, "9 LSUB \"\" INBOX.%\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_arg_list_mailbox(arg(&p, 1), &s, &len), 0);
	assert_string_equal(s, "INBOX.%");
	/* An astring has no wildcards. */
	assert_int_equal(imap_arg_astring(arg(&p, 1), &s, &len), -1);
	done(&p);
	parse(&p, "A1 SEARCH CHARSET UTF-8 SUBJECT \"caf\xc3\xa9\" SINCE "
	    "1-Feb-1994 NOT DELETED\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(p.req.nargs, 8);
	assert_int_equal(arg(&p, 3)->type, IMAP_ARG_QUOTED);
	assert_string_equal(arg(&p, 3)->s, "caf\xc3\xa9");
	done(&p);
}

static void
test_fetch_sections_and_partials(void **state)
{
	struct parsed		p;
	struct imap_fetch_att	att[IMAP_FETCH_MAX];
	size_t			n;

	(void)state;
	parse(&p, "A1 FETCH 2 (BODY[] BODY.PEEK[1.2.MIME] body[TEXT]<0.2048> "
	    "BODY[2.HEADER.FIELDS.NOT (\"Received\" X-Spam)] BODY[3] "
	    "RFC822.HEADER BODYSTRUCTURE ENVELOPE INTERNALDATE MODSEQ "
	    "BODY[4.1]<100.1>)\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_fetch_parse(arg(&p, 1), att, IMAP_FETCH_MAX, &n),
	    0);
	assert_int_equal(n, 11);
	assert_int_equal(att[0].item, IMAP_FETCH_SECTION);
	assert_int_equal(att[0].sec.text, IMAP_SEC_ALL);
	assert_int_equal(att[0].sec.nparts, 0);
	assert_int_equal(att[0].sec.peek, 0);
	assert_int_equal(att[1].sec.peek, 1);
	assert_int_equal(att[1].sec.nparts, 2);
	assert_int_equal(att[1].sec.part[0], 1);
	assert_int_equal(att[1].sec.part[1], 2);
	assert_int_equal(att[1].sec.text, IMAP_SEC_MIME);
	assert_int_equal(att[2].sec.text, IMAP_SEC_TEXT);
	assert_int_equal(att[2].sec.partial, 1);
	assert_int_equal(att[2].sec.origin, 0);
	assert_int_equal(att[2].sec.count, 2048);
	assert_int_equal(att[3].sec.text, IMAP_SEC_HEADER_FIELDS_NOT);
	assert_int_equal(att[3].sec.nparts, 1);
	assert_int_equal(att[3].sec.nfields, 2);
	assert_int_equal(att[3].sec.field_len[0], 8);
	assert_memory_equal(att[3].sec.field[0], "Received", 8);
	assert_memory_equal(att[3].sec.field[1], "X-Spam", 6);
	assert_int_equal(att[4].sec.nparts, 1);
	assert_int_equal(att[4].sec.text, IMAP_SEC_ALL);
	assert_int_equal(att[5].item, IMAP_FETCH_RFC822_HEADER);
	assert_int_equal(att[6].item, IMAP_FETCH_BODYSTRUCTURE);
	assert_int_equal(att[9].item, IMAP_FETCH_MODSEQ);
	assert_int_equal(att[10].sec.origin, 100);
	assert_int_equal(att[10].sec.count, 1);
	done(&p);
	parse(&p, "A2 FETCH 1:3 all\r\n");
	assert_int_equal(imap_fetch_parse(arg(&p, 1), att, IMAP_FETCH_MAX, &n),
	    0);
	assert_int_equal(n, 4);
	assert_int_equal(att[3].item, IMAP_FETCH_ENVELOPE);
	done(&p);
}

static void
test_bad_sections_are_refused(void **state)
{
	static const char *const bad[] = {
		"BODY[", "BODY[]<", "BODY[]<1>", "BODY[]<0.0>", "BODY[]<.1>",
		"BODY[0]", "BODY[1.]", "BODY[.1]", "BODY[01]", "BODY[MIME]",
		"BODY[HEADER.FIELDS]", "BODY[HEADER.FIELDS ()]",
		"BODY[HEADER.FIELDS (A:B)]", "BODY[HEADER.FIELDS (\"a\\b\")]",
		"BODY[HEADER.FIELDS (A  B)]", "BODY[TEXTX]", "BODY[1.TEXT.2]",
		"BODY[]<4294967296.1>", "BODY[4294967296]", "BODY.PEEK",
		"BODY[]x", "BODY[]<1.2>x", "BODYX[]", "BINARY[1]",
		"BODY[1.2.3.4.5.6.7.8.9.10.11.12.13.14.15.16.17.18.19.20.21."
		    "22.23.24.25.26.27.28.29.30.31.32.33]",
	};
	struct imap_fetch_att	att;
	struct imap_arg		a;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0, sizeof(a));
		a.type = IMAP_ARG_ATOM;
		a.s = bad[i];
		a.len = strlen(bad[i]);
		if (imap_fetch_att_parse(&a, &att) != -1)
			fail_msg("accepted %s", bad[i]);
	}
}

static void
expect_bad(const char *wire, size_t len, const char *why)
{
	struct parsed p;

	parse_n(&p, wire, len);
	if (p.rc != -1)
		fail_msg("accepted %s", wire);
	assert_string_equal(p.req.err, why);
	done(&p);
}

#define BAD(s, why)	expect_bad((s), sizeof(s) - 1, (why))

static void
test_hostile_commands_are_bad(void **state)
{
	struct parsed	p;
	char		deep[128];
	size_t		i, n, depth;

	(void)state;
	BAD("A1 LOGIN \"a\\b\" c\r\n", "Invalid escape in quoted string");
	BAD("A1 LOGIN \"abc\r\n", "Missing \" at the end of a quoted string");
	BAD("A1 SELECT a\rb\r\n", "Invalid character in command");
	BAD("A1 SELECT \"a\rb\"\r\n", "Invalid character in quoted string");
	BAD("A1 SELECT caf\xc3\xa9\r\n", "8-bit character in atom");
	BAD("A1 SELECT a\tb\r\n", "Invalid character in command");
	BAD("A1 LOGIN {3}\r\na\0b x\r\n", "NUL in literal");
	BAD("A1 LOGIN {3} x\r\n", "Invalid literal");
	BAD("A1 LOGIN {a{3}\r\nabc\r\n", "Invalid literal");
	BAD("A1 LOGIN {+{3}\r\nabc\r\n", "Invalid literal");
	BAD("A1 LOGIN {3}}{3}\r\nabc\r\n", "Invalid literal");
	BAD("A1 FETCH 1 (FLAGS\r\n", "Missing )");
	BAD("A1 FETCH 1 FLAGS)\r\n", "Unexpected )");
	BAD("A1 FETCH 1 (FLAGS)UID\r\n", "Missing space between arguments");
	BAD("A1 LOGIN {1}\r\nx{1}\r\ny\r\n", "Missing space between arguments");
	BAD("A1 FETCH 1 BODY[TEXT\r\n", "Missing ]");
	BAD("+ NOOP\r\n", "Invalid tag");
	BAD("A1\r\n", "Missing command");
	BAD("A1 UID\r\n", "Missing command");
	BAD("A1 (NOOP)\r\n", "Invalid command");
	BAD("\r\n", "Empty command");
	BAD("\xff\xfe garbage \x80\r\n", "Invalid tag");
	/* 16 levels are fine, 17 are BAD. */
	for (depth = 16; depth <= 17; depth++) {
		n = 0;
		n += (size_t)snprintf(deep, sizeof(deep), "A1 X ");
		for (i = 0; i < depth; i++)
			deep[n++] = '(';
		deep[n++] = 'x';
		for (i = 0; i < depth; i++)
			deep[n++] = ')';
		memcpy(deep + n, "\r\n", 2);
		n += 2;
		parse_n(&p, deep, n);
		assert_int_equal(p.rc, depth == 16 ? 0 : -1);
		if (depth == 17)
			assert_string_equal(p.req.err, "Lists nested too deep");
		done(&p);
	}
}

static void
test_argument_count_is_capped(void **state)
{
	struct parsed	p;
	char		*wire;
	size_t		i, n = 3 + 2 * (IMAP_PARSE_ARGS + 1) + 2;

	(void)state;
	wire = malloc(n + 1);
	memcpy(wire, "A1 ", 3);
	for (i = 0; i < IMAP_PARSE_ARGS + 1; i++)
		memcpy(wire + 3 + 2 * i, "x ", 2);
	memcpy(wire + n - 2, "\r\n", 2);
	parse_n(&p, wire, n);
	assert_int_equal(p.rc, -1);
	assert_string_equal(p.req.err, "Too many arguments");
	done(&p);
	free(wire);
}

static void
test_numbers_nil_and_nstrings(void **state)
{
	struct parsed	p;
	uint32_t	u;
	uint64_t	m;
	const char	*s;
	size_t		len;

	(void)state;
	parse(&p, "A1 X 0 4294967295 4294967296 NIL nil \"NIL\" 007 "
	    "9223372036854775807 9223372036854775808\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_arg_number(arg(&p, 0), &u), 0);
	assert_int_equal(u, 0);
	assert_int_equal(imap_arg_nznumber(arg(&p, 0), &u), -1);
	assert_int_equal(imap_arg_number(arg(&p, 1), &u), 0);
	assert_int_equal(u, 4294967295U);
	assert_int_equal(imap_arg_number(arg(&p, 2), &u), -1);
	assert_true(imap_arg_nil(arg(&p, 3)));
	assert_true(imap_arg_nil(arg(&p, 4)));
	assert_false(imap_arg_nil(arg(&p, 5)));
	assert_int_equal(imap_arg_nstring(arg(&p, 3), &s, &len), 0);
	assert_null(s);
	assert_int_equal(imap_arg_nstring(arg(&p, 5), &s, &len), 0);
	assert_string_equal(s, "NIL");
	/* A mailbox called NIL is an atom astring. */
	assert_int_equal(imap_arg_mailbox(arg(&p, 3), &s, &len), 0);
	assert_string_equal(s, "NIL");
	assert_int_equal(imap_arg_number(arg(&p, 6), &u), 0);
	assert_int_equal(u, 7);
	assert_int_equal(imap_arg_modseq(arg(&p, 7), &m, 0), 0);
	assert_true(m == 9223372036854775807ULL);
	assert_int_equal(imap_arg_modseq(arg(&p, 8), &m, 0), -1);
	assert_int_equal(imap_arg_modseq(arg(&p, 0), &m, 0), -1);
	assert_int_equal(imap_arg_modseq(arg(&p, 0), &m, 1), 0);
	done(&p);
}

static void
test_flags_refused(void **state)
{
	static const char *const bad[] = {
		"(\\Recent)", "(\\*)", "(\\Unknown)", "((\\Seen))", "(\"kw\")",
		"(k%w)", "(k]w)", "(\\)",
	};
	struct imap_flags	f;
	struct parsed		p;
	char			wire[64];
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(wire, sizeof(wire), "A1 STORE 1 FLAGS %s\r\n", bad[i]);
		parse(&p, wire);
		assert_int_equal(p.rc, 0);
		if (imap_flaglist_parse(arg(&p, 2), &f) != -1)
			fail_msg("accepted %s", bad[i]);
		done(&p);
	}
	/* Keywords compare without case: one of each. */
	parse(&p, "A1 STORE 1 FLAGS (Junk junk $label1 \\SEEN)\r\n");
	assert_int_equal(imap_flaglist_parse(arg(&p, 2), &f), 0);
	assert_int_equal(f.nkw, 2);
	assert_int_equal(f.sys, IMAP_FLAG_SEEN);
	done(&p);
}

static void
test_dates(void **state)
{
	struct parsed	p;
	time_t		t;
	int		zone;

	(void)state;
	parse(&p, "A1 SEARCH SINCE 1-Feb-1994 BEFORE \"29-feb-2000\" ON "
	    "29-Feb-1900 ON 31-Apr-2001 ON 1-Feb-94 ON 001-Feb-1994\r\n");
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_arg_date(arg(&p, 1), &t), 0);
	assert_int_equal(t, 760060800);
	assert_int_equal(imap_arg_date(arg(&p, 3), &t), 0);
	assert_int_equal(t, 951782400);
	assert_int_equal(imap_arg_date(arg(&p, 5), &t), -1);
	assert_int_equal(imap_arg_date(arg(&p, 7), &t), -1);
	assert_int_equal(imap_arg_date(arg(&p, 9), &t), -1);
	assert_int_equal(imap_arg_date(arg(&p, 11), &t), -1);
	done(&p);
	assert_int_equal(imap_datetime_parse(" 1-Jan-2000 00:00:00 +0000", 26,
	    &t, &zone), 0);
	assert_int_equal(t, 946684800);
	assert_int_equal(imap_datetime_parse("01-Jan-2000 01:30:00 +0130", 26,
	    &t, &zone), 0);
	assert_int_equal(t, 946684800);
	assert_int_equal(zone, 90);
	assert_int_equal(imap_datetime_parse("01-Jan-2000 24:00:00 +0000", 26,
	    &t, &zone), -1);
	assert_int_equal(imap_datetime_parse("01-Jan-2000 00:00:00 0000", 25,
	    &t, &zone), -1);
	assert_int_equal(imap_datetime_parse("01-Jan-2000 00:00:00 +0000x",
	    27, &t, &zone), -1);
	assert_int_equal(imap_datetime_parse("01-Jan-2000", 11, &t, &zone),
	    -1);
	/* date-time is quoted: an atom is no date-time. */
	parse(&p, "A1 X 01-Jan-2000\r\n");
	assert_int_equal(imap_arg_datetime(arg(&p, 0), &t, &zone), -1);
	done(&p);
}

static void
test_seqset_syntax(void **state)
{
	static const char *const good[] = {
		"1", "*", "1:*", "*:3", "1:5,7,*:3,9:*", "4294967295",
	};
	static const char *const bad[] = {
		"0", "1:", ":1", "1,,2", "1,", ",1", "1:2:3", "a", "01",
		"4294967296", "$", "1 2",
	};
	struct imap_arg	a;
	const char	*s;
	size_t		i, len;

	(void)state;
	memset(&a, 0, sizeof(a));
	a.type = IMAP_ARG_ATOM;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		a.s = good[i];
		a.len = strlen(good[i]);
		if (imap_arg_seqset(&a, &s, &len) != 0)
			fail_msg("refused %s", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		a.s = bad[i];
		a.len = strlen(bad[i]);
		if (imap_arg_seqset(&a, &s, &len) != -1)
			fail_msg("accepted %s", bad[i]);
	}
}

static void
expect_written(int (*fn)(struct buf *, const char *, size_t),
    const char *in, size_t len, const char *out, size_t outlen)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(fn(&b, in, len), 0);
	assert_int_equal(b.len, outlen);
	assert_memory_equal(b.data, out, outlen);
	buf_free(&b);
}

static void
test_write_strings(void **state)
{
	struct buf	b;
	char		big[IMAP_QUOTED_MAX + 1];
	char		want[IMAP_QUOTED_MAX + 16];
	int		n;

	(void)state;
	expect_written(imap_write_string, "Hello world", 11,
	    "\"Hello world\"", 13);
	expect_written(imap_write_string, "", 0, "\"\"", 2);
	expect_written(imap_write_string, "a\"b", 3, "{3}\r\na\"b", 8);
	expect_written(imap_write_string, "a\\b", 3, "{3}\r\na\\b", 8);
	expect_written(imap_write_string, "a\r\nb", 4, "{4}\r\na\r\nb", 9);
	expect_written(imap_write_string, "caf\xc3\xa9", 5,
	    "{5}\r\ncaf\xc3\xa9", 10);
	expect_written(imap_write_string, "a\0b", 3, "{3}\r\na\0b", 8);
	memset(big, 'x', sizeof(big));
	n = snprintf(want, sizeof(want), "{%zu}\r\n", sizeof(big));
	memcpy(want + n, big, sizeof(big));
	expect_written(imap_write_string, big, sizeof(big), want,
	    (size_t)n + sizeof(big));
	expect_written(imap_write_astring, "INBOX", 5, "INBOX", 5);
	expect_written(imap_write_astring, "Sent Items", 10,
	    "\"Sent Items\"", 12);
	expect_written(imap_write_astring, "nil", 3, "\"nil\"", 5);
	expect_written(imap_write_astring, "a%b", 3, "\"a%b\"", 5);
	expect_written(imap_write_astring, "", 0, "\"\"", 2);
	expect_written(imap_write_astring, "x]y", 3, "x]y", 3);
	expect_written(imap_write_nstring, "x", 1, "\"x\"", 3);
	buf_init(&b, 0);
	assert_int_equal(imap_write_nstring(&b, NULL, 0), 0);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "NIL", 3);
	buf_free(&b);
}

static void
test_list_match(void **state)
{
	char	pat[IMAP_PATTERN_MAX + 2], name[200];

	(void)state;
	assert_int_equal(imap_list_match("*", "INBOX", '.'), 1);
	assert_int_equal(imap_list_match("*", "a.b.c", '.'), 1);
	assert_int_equal(imap_list_match("%", "a.b", '.'), 0);
	assert_int_equal(imap_list_match("%", "a", '.'), 1);
	assert_int_equal(imap_list_match("a.%", "a.b", '.'), 1);
	assert_int_equal(imap_list_match("a.%", "a.b.c", '.'), 0);
	assert_int_equal(imap_list_match("a.*", "a.b.c", '.'), 1);
	assert_int_equal(imap_list_match("a/%", "a/b", '/'), 1);
	assert_int_equal(imap_list_match("a/%", "a/b/c", '/'), 0);
	assert_int_equal(imap_list_match("%", "a.b", '/'), 1);
	assert_int_equal(imap_list_match("%/%", "a/b", '/'), 1);
	assert_int_equal(imap_list_match("%.b", "a.b", '.'), 1);
	assert_int_equal(imap_list_match("*b", "a.b", '.'), 1);
	assert_int_equal(imap_list_match("*c", "a.b", '.'), 0);
	assert_int_equal(imap_list_match("", "", '.'), 1);
	assert_int_equal(imap_list_match("", "a", '.'), 0);
	assert_int_equal(imap_list_match("a", "A", '.'), 0);
	/* INBOX compares without case, and only INBOX. */
	assert_int_equal(imap_list_match("inbox", "INBOX", '.'), 1);
	assert_int_equal(imap_list_match("Inbox.%", "INBOX.Sent", '.'), 1);
	assert_int_equal(imap_list_match("inbox.sent", "INBOX.Sent", '.'),
	    0);
	assert_int_equal(imap_list_match("inboxes", "INBOXES", '.'), 0);
	assert_int_equal(imap_list_match("In%", "INBOX", '.'), 0);
	/* A pattern that makes a backtracking matcher exponential. */
	memset(name, 'a', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(imap_list_match("*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b",
	    name, '.'), 0);
	assert_int_equal(imap_list_match("%a%a%a%a%a%a%a%a%a%a%a%a%a%a%b",
	    name, '.'), 0);
	memset(pat, '*', sizeof(pat) - 1);
	pat[sizeof(pat) - 1] = '\0';
	assert_int_equal(imap_list_match(pat, "a", '.'), -1);
	pat[IMAP_PATTERN_MAX] = '\0';
	assert_int_equal(imap_list_match(pat, name, '.'), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_thunderbird_uid_fetch_with_header_fields),
		cmocka_unit_test(test_append_with_flags_date_and_literal),
		cmocka_unit_test(test_imaplib_login_with_quoted_escapes),
		cmocka_unit_test(test_login_literals_with_8bit_password),
		cmocka_unit_test(test_mutt_and_apple_commands),
		cmocka_unit_test(test_fetch_sections_and_partials),
		cmocka_unit_test(test_bad_sections_are_refused),
		cmocka_unit_test(test_hostile_commands_are_bad),
		cmocka_unit_test(test_argument_count_is_capped),
		cmocka_unit_test(test_numbers_nil_and_nstrings),
		cmocka_unit_test(test_flags_refused),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_seqset_syntax),
		cmocka_unit_test(test_write_strings),
		cmocka_unit_test(test_list_match),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
