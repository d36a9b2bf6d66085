/*
 * test_pop3_cmd.c - pop3d's command parser: keywords, arguments and
 * message numbers, with hostile inputs (base64 and the SASL PLAIN
 * response are libcommon's: test_sasl.c; the frames between the parent
 * and a login process the login layer's: test_login.c).
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

static void
parse(const char *line, struct pop3_cmd *c)
{
	pop3_cmd_parse(line, strlen(line), c);
}

static void
test_keywords_are_case_insensitive_and_split_at_one_space(void **state)
{
	struct pop3_cmd c;

	parse("user alice@example.test", &c);
	assert_int_equal(c.verb, POP3_CMD_USER);
	assert_string_equal(c.name, "USER");
	assert_string_equal(c.arg, "alice@example.test");
	parse("STAT", &c);
	assert_int_equal(c.verb, POP3_CMD_STAT);
	assert_string_equal(c.arg, "");
	parse("Top 1 10", &c);
	assert_int_equal(c.verb, POP3_CMD_TOP);
	assert_string_equal(c.arg, "1 10");
	/* PASS keeps everything after the first space, spaces included. */
	parse("PASS  secret with spaces ", &c);
	assert_int_equal(c.verb, POP3_CMD_PASS);
	assert_string_equal(c.arg, " secret with spaces ");
	parse("LIST ", &c);
	assert_int_equal(c.verb, POP3_CMD_LIST);
	assert_string_equal(c.arg, "");
}

static void
test_unknown_empty_and_nul_lines(void **state)
{
	struct pop3_cmd	c;
	const char	nul[] = "STAT\0x";

	parse("", &c);
	assert_int_equal(c.verb, POP3_CMD_EMPTY);
	parse("STATX", &c);
	assert_int_equal(c.verb, POP3_CMD_UNKNOWN);
	parse("STA", &c);
	assert_int_equal(c.verb, POP3_CMD_UNKNOWN);
	parse("ST", &c);
	assert_int_equal(c.verb, POP3_CMD_UNKNOWN);
	parse(" STAT", &c);
	assert_int_equal(c.verb, POP3_CMD_UNKNOWN);
	parse("STAT\t1", &c);
	assert_int_equal(c.verb, POP3_CMD_UNKNOWN);
	parse("XTND XMIT", &c);
	assert_int_equal(c.verb, POP3_CMD_UNKNOWN);
	pop3_cmd_parse(nul, sizeof(nul) - 1, &c);
	assert_int_equal(c.verb, POP3_CMD_NUL);
}

static void
test_words_refuse_empty_and_extra_arguments(void **state)
{
	char		 w[64];
	const char	*v[2];

	assert_int_equal(pop3_cmd_words("", w, sizeof(w), v, 2), 0);
	assert_int_equal(pop3_cmd_words("1 10", w, sizeof(w), v, 2), 2);
	assert_string_equal(v[0], "1");
	assert_string_equal(v[1], "10");
	assert_int_equal(pop3_cmd_words("1 10 x", w, sizeof(w), v, 2), -1);
	assert_int_equal(pop3_cmd_words("1  10", w, sizeof(w), v, 2), -1);
	assert_int_equal(pop3_cmd_words("1 ", w, sizeof(w), v, 2), -1);
	assert_int_equal(pop3_cmd_words(" 1", w, sizeof(w), v, 2), -1);
	assert_int_equal(pop3_cmd_words("1 2", w, 3, v, 2), -1);
}

static void
test_message_numbers_are_strict(void **state)
{
	uint32_t n;

	assert_int_equal(pop3_parse_msgnum("1", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pop3_parse_msgnum("0001", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pop3_parse_msgnum("1000000", &n), 0);
	assert_int_equal(pop3_parse_msgnum("1000001", &n), -1);
	assert_int_equal(pop3_parse_msgnum("0", &n), -1);
	assert_int_equal(pop3_parse_msgnum("", &n), -1);
	assert_int_equal(pop3_parse_msgnum("-1", &n), -1);
	assert_int_equal(pop3_parse_msgnum("+1", &n), -1);
	assert_int_equal(pop3_parse_msgnum("1x", &n), -1);
	assert_int_equal(pop3_parse_msgnum("4294967297", &n), -1);
	assert_int_equal(pop3_parse_msgnum("99999999999999999999", &n), -1);
	assert_int_equal(pop3_parse_count("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(pop3_parse_count("4294967295", &n), 0);
	assert_int_equal(n, UINT32_MAX);
	assert_int_equal(pop3_parse_count("4294967296", &n), -1);
}

static void
test_uidl_is_the_unique_part_or_a_digest(void **state)
{
	char	u[POP3_UIDL_MAX + 1], v[POP3_UIDL_MAX + 1];
	char	longname[200];

	pop3_uidl("1700000000.M1P2Q3.mx", 20, u);
	assert_string_equal(u, "1700000000.M1P2Q3.mx");
	memset(longname, 'a', sizeof(longname));
	pop3_uidl(longname, 71, u);
	assert_true(strncmp(u, "sha256-", 7) == 0);
	assert_true(strlen(u) <= POP3_UIDL_MAX);
	pop3_uidl(longname, 71, v);
	assert_string_equal(u, v);	/* stable */
	pop3_uidl("a b", 3, v);		/* a space is not allowed */
	/* The first 24 bytes of SHA-256("a b"): the same UIDL as ever. */
	assert_string_equal(v,
	    "sha256-c8687a08aa5d6ed2044328fa6a697ab8e96dc34291e8c203");
	assert_string_not_equal(u, v);
	pop3_uidl("\x80x", 2, v);
	assert_true(strncmp(v, "sha256-", 7) == 0);
}

static void
test_names_sort_by_delivery_time(void **state)
{
	assert_true(maildir_name_cmp("9.M1P1Q1.h", "10.M1P1Q1.h") < 0);
	assert_true(maildir_name_cmp("10.M2P1Q1.h", "10.M10P1Q1.h") < 0);
	assert_true(maildir_name_cmp("10.M10P1Q1.h", "10.M10P1Q2.h") < 0);
	assert_true(maildir_name_cmp("x", "x") == 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_keywords_are_case_insensitive_and_split_at_one_space),
		cmocka_unit_test(test_unknown_empty_and_nul_lines),
		cmocka_unit_test(test_words_refuse_empty_and_extra_arguments),
		cmocka_unit_test(test_message_numbers_are_strict),
		cmocka_unit_test(test_uidl_is_the_unique_part_or_a_digest),
		cmocka_unit_test(test_names_sort_by_delivery_time),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
