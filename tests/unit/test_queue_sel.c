/*
 * test_queue_sel.c - cli/queue_sel.c: queue ids as an administrator types
 * or pipes them (either case, mailq's markers; nothing that could name a
 * path), the queue a message is in, the selectors of postern queue
 * delete/hold/release/requeue, and the JSON strings of queue list --json.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cli.h"

static void
test_ids_in_either_case_and_with_mailq_markers(void **state)
{
	char out[QID_LEN + 1];

	(void)state;
	assert_int_equal(cli_qid_parse("0123456789abcdef", out), 0);
	assert_string_equal(out, "0123456789ABCDEF");
	assert_int_equal(cli_qid_parse("0123456789ABCDEF*", out), 0);
	assert_string_equal(out, "0123456789ABCDEF");
	assert_int_equal(cli_qid_parse("0123456789aBcDeF!", out), 0);
	assert_string_equal(out, "0123456789ABCDEF");
}

static void
test_anything_else_is_not_an_id(void **state)
{
	static const char *bad[] = {
		"", "0123456789ABCDE", "0123456789ABCDEF0", "0123456789ABCDEG",
		"../../etc/passwd", "0123456789ABCDE/", "/123456789ABCDEF",
		"0123456789ABCDEF**", "0123456789ABCDEF?", " 123456789ABCDEF",
		"0123456789ABCDE\n", ".key", "0123456789ABCDEF.env", "ALL",
		"0123456789ABCD\xc3\xa9",
	};
	char	out[QID_LEN + 1];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cli_qid_parse(bad[i], out) != -1)
			fail_msg("took \"%s\"", bad[i]);
}

/* A message from sender with one recipient per addr, in state st. */
static void
mkenv(struct envelope *e, const char *sender, const char *addr,
    enum rcpt_state st)
{
	env_init(e);
	strlcpy(e->id, "0123456789ABCDEF", sizeof(e->id));
	e->sender = strdup(sender);
	assert_non_null(e->sender);
	assert_int_equal(env_add_rcpt(e, addr, NULL, 0), 0);
	e->rcpt[0].state = st;
}

static void
test_queue_state_follows_hold_then_pending_then_deferred(void **state)
{
	struct envelope e;

	(void)state;
	mkenv(&e, "a@x.test", "b@y.test", RCPT_DEFERRED);
	assert_int_equal(cli_queue_state(&e), CLI_QS_DEFERRED);
	assert_int_equal(env_add_rcpt(&e, "c@y.test", NULL, 0), 0);
	assert_int_equal(cli_queue_state(&e), CLI_QS_ACTIVE);
	e.held = 1700000000;
	assert_int_equal(cli_queue_state(&e), CLI_QS_HOLD);
	assert_string_equal(cli_queue_state_name(CLI_QS_HOLD), "hold");
	assert_string_equal(cli_queue_state_name(CLI_QS_DEFERRED), "deferred");
	assert_string_equal(cli_queue_state_name(CLI_QS_ACTIVE), "active");
	env_free(&e);
}

static void
test_selectors_by_state_sender_and_recipient(void **state)
{
	struct envelope	e, bounce;
	struct cli_qsel	s;

	(void)state;
	mkenv(&e, "Alice@Example.test", "bob@far.test", RCPT_DEFERRED);
	mkenv(&bounce, "", "alice@example.test", RCPT_PENDING);
	memset(&s, 0, sizeof(s));
	assert_true(cli_qsel_is_empty(&s));
	assert_true(cli_qsel_match(&s, &e));

	s.states = CLI_QS_HOLD;
	assert_false(cli_qsel_is_empty(&s));
	assert_false(cli_qsel_match(&s, &e));
	s.states = CLI_QS_HOLD | CLI_QS_DEFERRED;
	assert_true(cli_qsel_match(&s, &e));

	memset(&s, 0, sizeof(s));
	s.from = "alice@EXAMPLE.test";
	assert_true(cli_qsel_match(&s, &e));
	assert_false(cli_qsel_match(&s, &bounce));
	s.from = "<>";
	assert_false(cli_qsel_match(&s, &e));
	assert_true(cli_qsel_match(&s, &bounce));
	s.from = "@example.test";
	assert_true(cli_qsel_match(&s, &e));
	s.from = "alice";
	assert_false(cli_qsel_match(&s, &e));

	memset(&s, 0, sizeof(s));
	s.to = "@FAR.test";
	assert_true(cli_qsel_match(&s, &e));
	assert_false(cli_qsel_match(&s, &bounce));
	s.to = "bob@far.test";
	assert_true(cli_qsel_match(&s, &e));
	s.to = "bob@far.test.evil";
	assert_false(cli_qsel_match(&s, &e));
	/* Every selector must match. */
	s.from = "alice@example.test";
	s.states = CLI_QS_ACTIVE;
	assert_false(cli_qsel_match(&s, &e));
	env_free(&e);
	env_free(&bounce);
}

static void
test_selector_matches_the_original_recipient_too(void **state)
{
	struct envelope	e;
	struct cli_qsel	s;

	(void)state;
	env_init(&e);
	e.sender = strdup("a@x.test");
	assert_int_equal(env_add_rcpt(&e, "alice@example.test",
	    "sales@example.test", 1), 0);
	memset(&s, 0, sizeof(s));
	s.to = "sales@example.test";
	assert_true(cli_qsel_match(&s, &e));
	env_free(&e);
}

static void
test_json_strings_escape_quotes_controls_and_stray_bytes(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(cli_json_str(&b, "a\"b\\c\n\x01\x7f"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data,
	    "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\"");
	buf_reset(&b);
	/* Well-formed UTF-8 stays as it is; other 8-bit bytes are escaped. */
	assert_int_equal(cli_json_str(&b, "j\xc3\xb6rg"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, "\"j\xc3\xb6rg\"");
	buf_reset(&b);
	assert_int_equal(cli_json_str(&b, "j\xf6rg"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, "\"j\\u00f6rg\"");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ids_in_either_case_and_with_mailq_markers),
		cmocka_unit_test(test_anything_else_is_not_an_id),
		cmocka_unit_test(test_queue_state_follows_hold_then_pending_then_deferred),
		cmocka_unit_test(test_selectors_by_state_sender_and_recipient),
		cmocka_unit_test(test_selector_matches_the_original_recipient_too),
		cmocka_unit_test(test_json_strings_escape_quotes_controls_and_stray_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
