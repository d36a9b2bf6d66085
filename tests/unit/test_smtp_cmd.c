/*
 * test_smtp_cmd.c - the SMTP command parser against well-formed and
 * hostile command lines: verbs, MAIL FROM / RCPT TO paths, parameters.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "smtp_cmd.h"

static enum smtp_verb
verb_of(const char *line)
{
	struct smtp_cmd c;

	smtp_cmd_parse(line, strlen(line), &c);
	return c.verb;
}

static void
test_verbs_are_case_insensitive(void **state)
{
	assert_int_equal(verb_of("HELO x"), SMTP_CMD_HELO);
	assert_int_equal(verb_of("ehlo x"), SMTP_CMD_EHLO);
	assert_int_equal(verb_of("MaIl FROM:<>"), SMTP_CMD_MAIL);
	assert_int_equal(verb_of("rcpt TO:<a@b>"), SMTP_CMD_RCPT);
	assert_int_equal(verb_of("data"), SMTP_CMD_DATA);
	assert_int_equal(verb_of("Rset"), SMTP_CMD_RSET);
	assert_int_equal(verb_of("NOOP"), SMTP_CMD_NOOP);
	assert_int_equal(verb_of("vrfy a"), SMTP_CMD_VRFY);
	assert_int_equal(verb_of("help"), SMTP_CMD_HELP);
	assert_int_equal(verb_of("QUIT"), SMTP_CMD_QUIT);
}

static void
test_unknown_and_prefix_verbs(void **state)
{
	assert_int_equal(verb_of(""), SMTP_CMD_UNKNOWN);
	assert_int_equal(verb_of("DATAX"), SMTP_CMD_UNKNOWN);
	assert_int_equal(verb_of("DAT"), SMTP_CMD_UNKNOWN);
	assert_int_equal(verb_of("MAILFROM:<a@b>"), SMTP_CMD_UNKNOWN);
	assert_int_equal(verb_of("GET / HTTP/1.0"), SMTP_CMD_UNKNOWN);
	assert_int_equal(verb_of(" HELO x"), SMTP_CMD_UNKNOWN);
}

static void
test_argument_follows_the_verb(void **state)
{
	struct smtp_cmd c;
	const char	line[] = "EHLO   client.example";

	smtp_cmd_parse(line, sizeof(line) - 1, &c);
	assert_int_equal(c.verb, SMTP_CMD_EHLO);
	assert_string_equal(c.arg, "client.example");
	smtp_cmd_parse("QUIT", 4, &c);
	assert_string_equal(c.arg, "");
}

static void
test_nul_in_command_is_refused(void **state)
{
	struct smtp_cmd c;
	const char	line[] = "MAIL FROM:<a@b>\0RCPT TO:<c@d>";

	smtp_cmd_parse(line, sizeof(line) - 1, &c);
	assert_int_equal(c.verb, SMTP_CMD_NUL);
	smtp_cmd_parse("\0", 1, &c);
	assert_int_equal(c.verb, SMTP_CMD_NUL);
}

static void
test_mail_plain_path(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<User@Example.COM>", &p),
	    SMTP_PERR_OK);
	/* The domain is lowercased, the local part kept. */
	assert_string_equal(p.addr, "User@example.com");
	assert_false(p.has_size);
	assert_int_equal(p.body, SMTP_BODY_NONE);
	assert_false(p.smtputf8);
}

static void
test_mail_space_after_colon_and_case(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("from: <a@b.example>", &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "a@b.example");
	assert_int_equal(smtp_parse_mail("From:<a@b.example>  ", &p),
	    SMTP_PERR_OK);
}

static void
test_mail_null_sender(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<>", &p), SMTP_PERR_OK);
	assert_string_equal(p.addr, "");
	assert_int_equal(smtp_parse_mail("FROM:<> SIZE=100", &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "");
	assert_int_equal(p.size, 100);
}

static void
test_mail_params(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> size=12345 "
	    "BODY=8bitmime SMTPUTF8", &p), SMTP_PERR_OK);
	assert_true(p.has_size);
	assert_int_equal(p.size, 12345);
	assert_int_equal(p.body, SMTP_BODY_8BITMIME);
	assert_true(p.smtputf8);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> BODY=7BIT", &p),
	    SMTP_PERR_OK);
	assert_int_equal(p.body, SMTP_BODY_7BIT);
}

static void
test_mail_huge_size_clamps(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> "
	    "SIZE=99999999999999999999999999999", &p), SMTP_PERR_OK);
	assert_true(p.size == UINT64_MAX);
}

static void
test_mail_unknown_param(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> XRET=HDRS", &p),
	    SMTP_PERR_PARAM);
	assert_string_equal(p.param, "XRET");
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> AUTH=<>", &p),
	    SMTP_PERR_PARAM);
	/* RCPT's DSN parameters mean nothing on MAIL */
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> NOTIFY=NEVER",
	    &p), SMTP_PERR_PARAM);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> "
	    "ORCPT=rfc822;a@b", &p), SMTP_PERR_PARAM);
}

static void
test_mail_dsn_params_are_kept(void **state)
{
	struct smtp_path p;

	(void)state;
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example>", &p),
	    SMTP_PERR_OK);
	assert_int_equal(p.ret, ENV_RET_NONE);
	assert_int_equal(p.has_envid, 0);
	assert_string_equal(p.envid, "");
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> RET=HDRS "
	    "ENVID=QQ314159", &p), SMTP_PERR_OK);
	assert_int_equal(p.ret, ENV_RET_HDRS);
	assert_string_equal(p.envid, "QQ314159");
	assert_int_equal(smtp_parse_mail("FROM:<> ret=full envid=a+2Bb+3Dc+20d "
	    "BODY=8BITMIME", &p), SMTP_PERR_OK);
	assert_int_equal(p.ret, ENV_RET_FULL);
	assert_string_equal(p.envid, "a+b=c d");
	assert_int_equal(p.body, SMTP_BODY_8BITMIME);
}

static void
test_mail_bad_dsn_params_are_501_with_a_reason(void **state)
{
	static const char *bad[] = {
		"RET=", "RET", "RET=BOTH", "RET=FULL RET=FULL",
		"RET=HDRS RET=FULL", "ENVID=", "ENVID", "ENVID=a=b",
		"ENVID=a+", "ENVID=a+4", "ENVID=a+4G", "ENVID=a+0A",
		"ENVID=a+0d+0aX", "ENVID=a+7F", "ENVID=+C3+A9", "ENVID=x ENVID=y",
		"ENVID=\xc3\xa9",
	};
	struct smtp_path p;
	char		 arg[SMTP_LINE_MAX], reply[SMTP_LINE_MAX], id[120];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "FROM:<a@b.example> %s", bad[i]);
		if (smtp_parse_mail(arg, &p) != SMTP_PERR_PARAM_SYNTAX)
			fail_msg("not 501: %s", bad[i]);
		smtp_perr_reply(SMTP_PERR_PARAM_SYNTAX, &p, "x", reply,
		    sizeof(reply));
		assert_true(strncmp(reply, "501 5.5.4 Bad ", 14) == 0);
		assert_non_null(p.why);
		assert_non_null(strstr(reply, p.why));
	}
	/* ENVID: 100 characters, not 101 */
	memset(id, 'e', 100);
	id[100] = '\0';
	snprintf(arg, sizeof(arg), "FROM:<a@b.example> ENVID=%s", id);
	assert_int_equal(smtp_parse_mail(arg, &p), SMTP_PERR_OK);
	snprintf(arg, sizeof(arg), "FROM:<a@b.example> ENVID=%se", id);
	assert_int_equal(smtp_parse_mail(arg, &p), SMTP_PERR_PARAM_SYNTAX);
}

static void
test_rcpt_dsn_params_are_kept(void **state)
{
	struct smtp_path p;

	(void)state;
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example>", 0, &p),
	    SMTP_PERR_OK);
	assert_int_equal(p.notify, 0);
	assert_string_equal(p.orcpt, "");
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example> NOTIFY=NEVER", 0,
	    &p), SMTP_PERR_OK);
	assert_int_equal(p.notify, ENV_NOTIFY_NEVER);
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example> "
	    "notify=delay,Success ORCPT=rfc822;X+2By@Y.example", 0, &p),
	    SMTP_PERR_OK);
	assert_int_equal(p.notify, ENV_NOTIFY_DELAY | ENV_NOTIFY_SUCCESS);
	assert_string_equal(p.orcpt, "rfc822;X+y@Y.example");
	assert_int_equal(smtp_parse_rcpt("TO:<postmaster> NOTIFY=FAILURE", 0,
	    &p), SMTP_PERR_OK);
	assert_int_equal(p.postmaster, 1);
	assert_int_equal(p.notify, ENV_NOTIFY_FAILURE);
}

static void
test_rcpt_bad_dsn_params_are_501_and_unknown_555(void **state)
{
	static const char *bad[] = {
		"NOTIFY", "NOTIFY=", "NOTIFY=NEVER,SUCCESS", "NOTIFY=SUCCESS,NEVER",
		"NOTIFY=SOMETIMES", "NOTIFY=SUCCESS,", "NOTIFY=SUCCESS,SUCCESS",
		"NOTIFY=NEVER NOTIFY=NEVER", "NOTIFY=DELAY NOTIFY=FAILURE",
		"ORCPT", "ORCPT=", "ORCPT=a@b", "ORCPT=;a@b", "ORCPT=rfc822;",
		"ORCPT=rfc_822;a@b", "ORCPT=rfc822;a+0D+0Ab",
		"ORCPT=rfc822;a=b", "ORCPT=rfc822;a@b ORCPT=rfc822;a@b",
		"ORCPT=rfc822;\xc3\xa9@b",
		"ORCPT=abcdefghijklmnopqrstuvwxyz0123456;a@b",
	};
	struct smtp_path p;
	char		 arg[SMTP_LINE_MAX];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(arg, sizeof(arg), "TO:<x@y.example> %s", bad[i]);
		if (smtp_parse_rcpt(arg, 1, &p) != SMTP_PERR_PARAM_SYNTAX)
			fail_msg("not 501: %s", bad[i]);
		assert_non_null(p.why);
	}
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example> XNOTIFY=NEVER", 0,
	    &p), SMTP_PERR_PARAM);
	assert_string_equal(p.param, "XNOTIFY");
}

static void
test_xtext_decodes_and_refuses_what_rfc_3461_does_not_allow(void **state)
{
	char	out[16];

	(void)state;
	assert_int_equal(smtp_xtext_decode("abc", 3, out, sizeof(out)), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(smtp_xtext_decode("+2B+3d+20", 9, out, sizeof(out)),
	    3);
	assert_string_equal(out, "+= ");
	assert_int_equal(smtp_xtext_decode("", 0, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	/* only the given length is read */
	assert_int_equal(smtp_xtext_decode("ab+41", 2, out, sizeof(out)), 2);
	assert_string_equal(out, "ab");
	assert_int_equal(smtp_xtext_decode("ab+4", 4, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("ab+", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a=b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("a b", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+00", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+0A", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+7F", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+FF", 3, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("\x80", 1, out, sizeof(out)), -1);
	assert_int_equal(smtp_xtext_decode("+g0", 3, out, sizeof(out)), -1);
	/* it must fit, with its NUL */
	assert_int_equal(smtp_xtext_decode("abcd", 4, out, 5), 4);
	assert_int_equal(smtp_xtext_decode("abcde", 5, out, 5), -1);
	assert_int_equal(smtp_xtext_decode("", 0, out, 0), -1);
}

static void
test_mail_bad_param_values(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> SIZE=", &p),
	    SMTP_PERR_PARAM_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> SIZE=12k", &p),
	    SMTP_PERR_PARAM_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> SIZE", &p),
	    SMTP_PERR_PARAM_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> SIZE=1 SIZE=2",
	    &p), SMTP_PERR_PARAM_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> BODY=BINARYMIME",
	    &p), SMTP_PERR_PARAM_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example> SMTPUTF8=yes",
	    &p), SMTP_PERR_PARAM_SYNTAX);
}

static void
test_mail_missing_brackets(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:a@b.example", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:a@b.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:", &p), SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("", &p), SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("TO:<a@b.example>", &p),
	    SMTP_PERR_SYNTAX);
}

static void
test_mail_junk_after_bracket(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<a@b.example>junk", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example>>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@b.example><c@d.example>",
	    &p), SMTP_PERR_SYNTAX);
}

static void
test_mail_bad_addresses(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<nodomain>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<@b.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@>", &p), SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a b@c.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a..b@c.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@-c.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<a@c.example\r>", &p),
	    SMTP_PERR_SYNTAX);
	/* postmaster without a domain is only a recipient. */
	assert_int_equal(smtp_parse_mail("FROM:<postmaster>", &p),
	    SMTP_PERR_SYNTAX);
}

static void
test_mail_quoted_local_part(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<\"a>b c\"@d.example>", &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "\"a>b c\"@d.example");
	assert_int_equal(smtp_parse_mail("FROM:<\"unterminated@d.example>",
	    &p), SMTP_PERR_SYNTAX);
}

static void
test_mail_overlong_address(void **state)
{
	struct smtp_path p;
	char		 line[SMTP_LINE_MAX * 2];
	size_t		 n;

	/* 65-octet local part: one over RFC 5321's limit. */
	n = (size_t)snprintf(line, sizeof(line), "FROM:<");
	memset(line + n, 'a', 65);
	n += 65;
	snprintf(line + n, sizeof(line) - n, "@b.example>");
	assert_int_equal(smtp_parse_mail(line, &p), SMTP_PERR_SYNTAX);

	/* 64 is fine. */
	n = (size_t)snprintf(line, sizeof(line), "FROM:<");
	memset(line + n, 'a', 64);
	n += 64;
	snprintf(line + n, sizeof(line) - n, "@b.example>");
	assert_int_equal(smtp_parse_mail(line, &p), SMTP_PERR_OK);

	/* A path longer than a whole command line never fits the buffer. */
	n = (size_t)snprintf(line, sizeof(line), "FROM:<a@");
	memset(line + n, 'b', sizeof(line) - n - 3);
	n = sizeof(line) - 3;
	snprintf(line + n, sizeof(line) - n, ">");
	assert_int_equal(smtp_parse_mail(line, &p), SMTP_PERR_SYNTAX);
}

static void
test_mail_utf8_needs_smtputf8(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_mail("FROM:<j\xc3\xb6rg@b.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<jo@b\xc3\xb6.example>", &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_mail("FROM:<j\xc3\xb6rg@b.example> "
	    "SMTPUTF8", &p), SMTP_PERR_OK);
	assert_string_equal(p.addr, "j\xc3\xb6rg@b.example");
}

/* RFC 6531 paths must be UTF-8: each kind of malformed sequence. */
static const char *const bad_utf8[] = {
	"\xff\xfe",			/* bytes that never occur */
	"\xc0\xaf",			/* overlong '/' */
	"\xe0\x80\xc0",		/* overlong, and a bad continuation */
	"\xc1\x80",			/* overlong '@' */
	"\xed\xa0\x80",		/* surrogate U+D800 */
	"\xc3",				/* cut short */
	"\xf0\x9f\x93",		/* cut short */
	"\xf4\x90\x80\x80",		/* above U+10FFFF */
	"\xf8\x88\x80\x80\x80",	/* five bytes */
};

static void
test_mail_and_rcpt_refuse_malformed_utf8(void **state)
{
	struct smtp_path p;
	char		 line[256];
	size_t		 i;

	for (i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
		/* In the local part, the domain, a quoted local part. */
		snprintf(line, sizeof(line), "FROM:<j%srg@b.example> SMTPUTF8",
		    bad_utf8[i]);
		assert_int_equal(smtp_parse_mail(line, &p), SMTP_PERR_UTF8);
		snprintf(line, sizeof(line), "FROM:<jo@b%s.example> SMTPUTF8",
		    bad_utf8[i]);
		assert_int_equal(smtp_parse_mail(line, &p), SMTP_PERR_UTF8);
		snprintf(line, sizeof(line), "TO:<\"%s\"@y.example>",
		    bad_utf8[i]);
		assert_int_equal(smtp_parse_rcpt(line, 1, &p), SMTP_PERR_UTF8);
		snprintf(line, sizeof(line), "TO:<@r%s.example:x@y.example>",
		    bad_utf8[i]);
		assert_int_equal(smtp_parse_rcpt(line, 1, &p), SMTP_PERR_UTF8);
		/* Without SMTPUTF8 any 8-bit byte is bad syntax, as before. */
		snprintf(line, sizeof(line), "FROM:<j%srg@b.example>",
		    bad_utf8[i]);
		assert_int_equal(smtp_parse_mail(line, &p), SMTP_PERR_SYNTAX);
		snprintf(line, sizeof(line), "TO:<j%srg@y.example>",
		    bad_utf8[i]);
		assert_int_equal(smtp_parse_rcpt(line, 0, &p), SMTP_PERR_SYNTAX);
	}
	/* The good neighbours of those sequences still pass. */
	assert_int_equal(smtp_parse_mail("FROM:<\xf4\x8f\xbf\xbf@b.example> "
	    "SMTPUTF8", &p), SMTP_PERR_OK);
	assert_int_equal(smtp_parse_rcpt("TO:<\xed\x9f\xbf@y.example>", 1,
	    &p), SMTP_PERR_OK);
}

static void
test_rcpt_plain_and_space(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example>", 0, &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "x@y.example");
	assert_false(p.postmaster);
	assert_int_equal(smtp_parse_rcpt("to: <x@Y.example>", 0, &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "x@y.example");
}

static void
test_rcpt_null_path_refused(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:<>", 0, &p), SMTP_PERR_SYNTAX);
}

static void
test_rcpt_postmaster(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:<postmaster>", 0, &p),
	    SMTP_PERR_OK);
	assert_true(p.postmaster);
	assert_int_equal(smtp_parse_rcpt("TO:<PostMaster>", 0, &p),
	    SMTP_PERR_OK);
	assert_true(p.postmaster);
	assert_int_equal(smtp_parse_rcpt("TO:<postmasterx>", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<postmaster@x.example>", 0, &p),
	    SMTP_PERR_OK);
	assert_false(p.postmaster);
}

static void
test_rcpt_source_route_stripped(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:<@a.example,@b.example:u@d.example>",
	    0, &p), SMTP_PERR_OK);
	assert_string_equal(p.addr, "u@d.example");
	assert_int_equal(smtp_parse_rcpt("TO:<@a.example:u@d.example>", 0, &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "u@d.example");
	assert_int_equal(smtp_parse_mail("FROM:<@a.example:u@d.example>", &p),
	    SMTP_PERR_OK);
	assert_string_equal(p.addr, "u@d.example");
}

static void
test_rcpt_bad_source_routes(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:<@:u@d.example>", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<@a.example,u@d.example>", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<@a.example,b.example:u@d.example>",
	    0, &p), SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<@a.example:>", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<@a_b:u@d.example>", 0, &p),
	    SMTP_PERR_SYNTAX);
}

static void
test_rcpt_params_refused(void **state)
{
	struct smtp_path p;

	/* MAIL's parameters mean nothing on RCPT. */
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example> SIZE=1", 0, &p),
	    SMTP_PERR_PARAM);
	assert_string_equal(p.param, "SIZE");
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example> RET=FULL", 0, &p),
	    SMTP_PERR_PARAM);
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example> ENVID=x", 0, &p),
	    SMTP_PERR_PARAM);
}

static void
test_rcpt_utf8_follows_mail(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:<\xc3\xa9@y.example>", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<\xc3\xa9@y.example>", 1, &p),
	    SMTP_PERR_OK);
}

static void
test_rcpt_junk_and_missing_brackets(void **state)
{
	struct smtp_path p;

	assert_int_equal(smtp_parse_rcpt("TO:x@y.example", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO:<x@y.example>x", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("TO<x@y.example>", 0, &p),
	    SMTP_PERR_SYNTAX);
	assert_int_equal(smtp_parse_rcpt("FROM:<x@y.example>", 0, &p),
	    SMTP_PERR_SYNTAX);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verbs_are_case_insensitive),
		cmocka_unit_test(test_unknown_and_prefix_verbs),
		cmocka_unit_test(test_argument_follows_the_verb),
		cmocka_unit_test(test_nul_in_command_is_refused),
		cmocka_unit_test(test_mail_plain_path),
		cmocka_unit_test(test_mail_space_after_colon_and_case),
		cmocka_unit_test(test_mail_null_sender),
		cmocka_unit_test(test_mail_params),
		cmocka_unit_test(test_mail_huge_size_clamps),
		cmocka_unit_test(test_mail_unknown_param),
		cmocka_unit_test(test_mail_dsn_params_are_kept),
		cmocka_unit_test(test_mail_bad_dsn_params_are_501_with_a_reason),
		cmocka_unit_test(test_rcpt_dsn_params_are_kept),
		cmocka_unit_test(test_rcpt_bad_dsn_params_are_501_and_unknown_555),
		cmocka_unit_test(test_xtext_decodes_and_refuses_what_rfc_3461_does_not_allow),
		cmocka_unit_test(test_mail_bad_param_values),
		cmocka_unit_test(test_mail_missing_brackets),
		cmocka_unit_test(test_mail_junk_after_bracket),
		cmocka_unit_test(test_mail_bad_addresses),
		cmocka_unit_test(test_mail_quoted_local_part),
		cmocka_unit_test(test_mail_overlong_address),
		cmocka_unit_test(test_mail_utf8_needs_smtputf8),
		cmocka_unit_test(test_mail_and_rcpt_refuse_malformed_utf8),
		cmocka_unit_test(test_rcpt_plain_and_space),
		cmocka_unit_test(test_rcpt_null_path_refused),
		cmocka_unit_test(test_rcpt_postmaster),
		cmocka_unit_test(test_rcpt_source_route_stripped),
		cmocka_unit_test(test_rcpt_bad_source_routes),
		cmocka_unit_test(test_rcpt_params_refused),
		cmocka_unit_test(test_rcpt_utf8_follows_mail),
		cmocka_unit_test(test_rcpt_junk_and_missing_brackets),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
