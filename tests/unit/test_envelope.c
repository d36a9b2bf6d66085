/*
 * test_envelope.c - libcommon/envelope: the queue's envelope record. What
 * queued writes must read back identically; text chosen by a remote peer
 * (failure reasons, HELO names, addresses) must never put a raw control
 * byte in the file, so it can never start a line of its own; and a record
 * that is truncated, extended or malformed in any field must be refused.
 */
#include <sys/mman.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "envelope.h"

#define GOOD_ID "0123456789ABCDEF"

static const char good_head[] =
    "version 1\n"
    "id " GOOD_ID "\n"
    "created 1700000000\n"
    "sender alice@example.org\n"
    "origin smtp\n"
    "client 192.0.2.1\n"
    "helo mx.example.org\n"
    "bounce 0\n";
static const char good_rcpt[] =
    "rcpt bob@example.net\tBob@Example.NET\tdeferred\t3\t1700003600\t0\t"
    "4.2.2 mailbox full\n";

/*
 * Parses exactly len bytes from a heap copy with no terminator after it,
 * so that any read past the record's end is caught by the sanitizers.
 */
static int
parse_exact(const char *text, size_t len, struct envelope *e, char *err,
    size_t errlen)
{
	char	*copy = malloc(len > 0 ? len : 1);
	int	 rc;

	assert_non_null(copy);
	memcpy(copy, text, len);
	rc = env_parse(copy, len, e, err, errlen);
	free(copy);
	return rc;
}

static void
assert_rejected_len(const char *text, size_t len, const char *what)
{
	struct envelope	e;
	char		err[256] = "";

	if (parse_exact(text, len, &e, err, sizeof(err)) != -1) {
		env_free(&e);
		fail_msg("accepted: %.*s", (int)len, text);
	}
	assert_true(err[0] != '\0');
	if (what != NULL && strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, what);
	/* a failed parse leaves an empty envelope behind */
	assert_int_equal(e.nrcpt, 0);
	assert_null(e.rcpt);
	assert_null(e.sender);
}

static void
assert_rejected(const char *text, const char *what)
{
	assert_rejected_len(text, strlen(text), what);
}

/* good_head with line `line` (1-based) replaced by repl; then rcpt + end. */
static char *
with_head_line(int line, const char *repl)
{
	char		*out;
	size_t		 cap = sizeof(good_head) + sizeof(good_rcpt) + 256;
	const char	*p = good_head;
	int		 i;

	assert_non_null(out = calloc(1, cap));
	for (i = 1; *p != '\0'; i++) {
		const char *nl = strchr(p, '\n');
		size_t n = (size_t)(nl - p) + 1;

		if (i == line)
			strlcat(out, repl, cap);
		else
			strncat(out, p, n);
		p += n;
	}
	strlcat(out, good_rcpt, cap);
	strlcat(out, "end\n", cap);
	return out;
}

static void
build_full(struct envelope *e)
{
	static const char *reasons[] = {
		NULL,
		"5.1.1 <x@y>: no such user\r\nrcpt evil@example\tdone\t0\t0\t0\t",
		"4.4.1 tab\there, backslash \\ and \\x41, bell \a, esc \x1b[0m",
		"del \x7f, utf-8 \xc3\xa9, high \xff, \x01\x02\x1f end",
	};
	size_t i;

	env_init(e);
	memcpy(e->id, GOOD_ID, QID_LEN + 1);
	e->created = 1700000000;
	e->sender = strdup("");
	e->origin = strdup("smtp");
	e->client = strdup("[192.0.2.1]\nend\n");
	e->helo = strdup("evil\r\nbounce 1\\");
	e->is_bounce = 1;
	assert_int_equal(env_add_rcpt(e, "pend@example.org", NULL, 0), 0);
	assert_int_equal(env_add_rcpt(e, "def@example.org", "Orig\\@x", 1), 0);
	assert_int_equal(env_add_rcpt(e, "done@example.org", "d\te", 0), 0);
	assert_int_equal(env_add_rcpt(e, "fail@example.org", NULL,
	    ENV_FINAL_COMMAND), 0);
	for (i = 0; i < e->nrcpt; i++) {
		e->rcpt[i].state = (enum rcpt_state)i;
		e->rcpt[i].tries = (uint32_t)(i == 3 ? UINT32_MAX : i * 7);
		e->rcpt[i].next_try = i == 1 ? INT64_MAX : (int64_t)(i * 1000);
		assert_int_equal(env_set_reason(&e->rcpt[i], reasons[i]), 0);
	}
}

static void
test_write_parse_round_trip_keeps_every_field_and_state(void **state)
{
	struct envelope	e, back;
	struct buf	b;
	char		err[256] = "";
	size_t		i;

	build_full(&e);
	buf_init(&b, ENV_MAX_SIZE);
	assert_int_equal(env_write(&e, &b), 0);
	if (parse_exact(b.data, b.len, &back, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(back.id, e.id);
	assert_int_equal(back.created, e.created);
	assert_string_equal(back.sender, "");
	assert_string_equal(back.origin, e.origin);
	assert_string_equal(back.client, e.client);
	assert_string_equal(back.helo, e.helo);
	assert_int_equal(back.is_bounce, 1);
	assert_int_equal(back.nrcpt, e.nrcpt);
	for (i = 0; i < e.nrcpt; i++) {
		const struct env_rcpt *a = &e.rcpt[i], *r = &back.rcpt[i];

		assert_string_equal(r->addr, a->addr);
		assert_string_equal(r->orcpt, a->orcpt);
		assert_int_equal(r->state, a->state);
		assert_int_equal(r->tries, a->tries);
		assert_true(r->next_try == a->next_try);
		assert_int_equal(r->final, a->final);
		if (a->reason == NULL)
			assert_null(r->reason);
		else
			assert_string_equal(r->reason, a->reason);
	}
	assert_int_equal(back.rcpt[0].state, RCPT_PENDING);
	assert_int_equal(back.rcpt[1].state, RCPT_DEFERRED);
	assert_int_equal(back.rcpt[2].state, RCPT_DONE);
	assert_int_equal(back.rcpt[3].state, RCPT_FAILED);
	env_free(&back);
	env_free(&e);
	buf_free(&b);
}

static void
test_write_escapes_control_bytes_so_fields_keep_their_lines(void **state)
{
	struct envelope	e;
	struct buf	b;
	size_t		i, lines = 0;

	build_full(&e);
	buf_init(&b, ENV_MAX_SIZE);
	assert_int_equal(env_write(&e, &b), 0);
	for (i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];

		if (c == '\n') {
			lines++;
			continue;
		}
		/* tab only as the rcpt field separator: 6 per rcpt line */
		if (c == '\t')
			continue;
		if (c < 0x20 || c == 0x7f)
			fail_msg("raw byte 0x%02x at offset %zu", c, i);
	}
	/* 8 header lines, one per recipient, "end" */
	assert_int_equal(lines, 8 + e.nrcpt + 1);
	for (i = 0, lines = 0; i < b.len; i++)
		if (b.data[i] == '\t')
			lines++;
	assert_int_equal(lines, 6 * e.nrcpt);
	assert_true(b.len >= 4);
	assert_memory_equal(b.data + b.len - 4, "end\n", 4);
	assert_int_equal(buf_cstr(&b), 0);
	assert_non_null(strstr(b.data, "\\x0d\\x0a"));
	assert_non_null(strstr(b.data, "\\x09"));
	assert_non_null(strstr(b.data, "\\x5c"));
	assert_non_null(strstr(b.data, "\\x7f"));
	assert_non_null(strstr(b.data, "\\x1b"));
	env_free(&e);
	buf_free(&b);
}

static void
test_every_truncation_of_a_record_is_rejected(void **state)
{
	struct envelope	e;
	struct buf	b;
	size_t		len;

	build_full(&e);
	buf_init(&b, ENV_MAX_SIZE);
	assert_int_equal(env_write(&e, &b), 0);
	for (len = 0; len < b.len; len++)
		assert_rejected_len(b.data, len, NULL);
	assert_rejected_len(b.data, b.len - 4, "truncated");
	env_free(&e);
	buf_free(&b);
}

static void
test_minimal_record_without_recipients_parses(void **state)
{
	char		 text[512];
	struct envelope	 e;
	char		 err[256];

	snprintf(text, sizeof(text), "%send\n", good_head);
	if (parse_exact(text, strlen(text), &e, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(e.nrcpt, 0);
	assert_string_equal(e.sender, "alice@example.org");
	assert_true(env_all_final(&e));
	env_free(&e);
}

static void
test_data_after_end_is_rejected(void **state)
{
	char text[1024];

	snprintf(text, sizeof(text), "%s%send\nrcpt x\n", good_head, good_rcpt);
	assert_rejected(text, "after end");
	snprintf(text, sizeof(text), "%s%send\nend\n", good_head, good_rcpt);
	assert_rejected(text, "after end");
	snprintf(text, sizeof(text), "%s%send\n\n", good_head, good_rcpt);
	assert_rejected(text, "after end");
	snprintf(text, sizeof(text), "%s%send\nx", good_head, good_rcpt);
	assert_rejected(text, NULL);
}

static void
test_unknown_key_is_rejected(void **state)
{
	char text[1024];

	snprintf(text, sizeof(text), "%spriority 1\n%send\n", good_head,
	    good_rcpt);
	assert_rejected(text, "unknown key");
	snprintf(text, sizeof(text), "%sSender x\n%send\n", good_head,
	    good_rcpt);
	assert_rejected(text, "unknown key");
	snprintf(text, sizeof(text), "%s%s\nend\n", good_head, good_rcpt);
	assert_rejected(text, NULL);		/* an empty line */
	snprintf(text, sizeof(text), "%s%send \n", good_head, good_rcpt);
	assert_rejected(text, NULL);		/* "end " is not the marker */
}

static void
test_repeated_key_is_rejected(void **state)
{
	static const char *again[] = { "version 1\n", "id " GOOD_ID "\n",
	    "created 1\n", "sender x@y\n", "origin local\n", "client uid 0\n",
	    "helo h\n", "bounce 0\n" };
	char	text[1024];
	size_t	i;

	for (i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%send\n", good_head, again[i],
		    good_rcpt);
		assert_rejected(text, "repeated");
	}
}

static void
test_missing_required_key_is_rejected(void **state)
{
	char	*t;
	int	 line;

	for (line = 1; line <= 8; line++) {
		t = with_head_line(line, "");
		assert_rejected(t, NULL);
		free(t);
	}
}

static void
test_bad_id_is_rejected(void **state)
{
	static const char *bad[] = {
		"id 0123456789abcdef\n", "id 0123456789ABCDE\n",
		"id 0123456789ABCDEF0\n", "id ../../../etc/pw\n", "id \n",
		"id 0123456789ABCDE\\x46\n", "id 0123456789ABCDEG\n",
	};
	size_t	 i;
	char	*t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = with_head_line(2, bad[i]);
		assert_rejected(t, "bad id");
		free(t);
	}
}

static void
test_bad_escapes_are_rejected(void **state)
{
	static const char *bad[] = {
		"sender a\\\n",		/* backslash at end */
		"sender a\\x\n",
		"sender a\\x4\n",
		"sender a\\x4g\n",
		"sender a\\y41\n",
		"sender a\\X41\n",
		"sender a\\\\\n",
		"sender a\\x00b\n",	/* NUL */
		"sender a\tb\n",	/* raw control byte */
		"sender a\rb\n",
		"sender a\x7f" "b\n",
		"sender a\x01\n",
	};
	size_t	 i;
	char	*t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = with_head_line(4, bad[i]);
		assert_rejected(t, "bad value");
		free(t);
	}
}

static void
test_escapes_decode_in_either_hex_case(void **state)
{
	char		*t;
	struct envelope	 e;
	char		 err[256];

	t = with_head_line(4, "sender a\\x5C\\x5cb\\x41\n");
	if (parse_exact(t, strlen(t), &e, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(e.sender, "a\\\\bA");
	env_free(&e);
	free(t);
}

static void
test_parse_reads_nothing_past_the_given_length(void **state)
{
	char		*t, *page, *rec;
	long		 pagesz = sysconf(_SC_PAGESIZE);
	size_t		 len;
	struct envelope	 e;
	char		 err[256];

	/* a record that ends right before an unreadable page, no NUL after */
	t = with_head_line(7, "helo a\\x41\\x5c\\x7e\n");
	len = strlen(t);
	assert_true(len < (size_t)pagesz);
	page = mmap(NULL, (size_t)pagesz * 2, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(page != MAP_FAILED);
	assert_int_equal(mprotect(page + pagesz, (size_t)pagesz, PROT_NONE), 0);
	rec = page + pagesz - len;
	memcpy(rec, t, len);
	if (env_parse(rec, len, &e, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(e.helo, "aA\\~");
	env_free(&e);
	munmap(page, (size_t)pagesz * 2);
	free(t);
}

static void
test_nul_escape_is_rejected_in_recipient_fields(void **state)
{
	static const char *bad[] = {
		"rcpt a\\x00@x\tb\tpending\t0\t0\t0\t\n",
		"rcpt a@x\tb\\x00\tpending\t0\t0\t0\t\n",
		"rcpt a@x\tb\tpending\t0\t0\t0\twhy\\x00\n",
	};
	char	text[1024];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%send\n", good_head, bad[i]);
		assert_rejected(text, "bad recipient");
	}
}

static void
test_malformed_recipient_lines_are_rejected(void **state)
{
	static const char *bad[] = {
		"rcpt a@x\tb\tpending\t0\t0\t0\n",		/* 6 fields */
		"rcpt a@x\tb\tpending\t0\t0\t0\tr\textra\n",	/* 8 fields */
		"rcpt a@x\tb\tpending\t0\t0\t0\t\t\n",
		"rcpt a@x\tb\tPENDING\t0\t0\t0\t\n",
		"rcpt a@x\tb\tpend\t0\t0\t0\t\n",
		"rcpt a@x\tb\tpending \t0\t0\t0\t\n",
		"rcpt a@x\tb\tpending\t-1\t0\t0\t\n",
		"rcpt a@x\tb\tpending\t4294967296\t0\t0\t\n",
		"rcpt a@x\tb\tpending\tx\t0\t0\t\n",
		"rcpt a@x\tb\tpending\t\t0\t0\t\n",
		"rcpt a@x\tb\tpending\t0\t-5\t0\t\n",
		"rcpt a@x\tb\tpending\t0\t9223372036854775808\t0\t\n",
		"rcpt a@x\tb\tpending\t0\t0\t3\t\n",
		"rcpt a@x\tb\tpending\t0\t0\tyes\t\n",
		"rcpt a@x\tb\tpending\t0\t0\t0\tr\x01\n",
		"rcpt \n",
		"rcpt\n",
	};
	char	text[1024];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "%s%send\n", good_head, bad[i]);
		assert_rejected(text, NULL);
	}
}

static void
test_raw_nul_inside_a_numeric_field_is_rejected(void **state)
{
	static const char created[] = "created 5\0junk\n";
	static const char tries[] = "rcpt a@x\tb\tpending\t1\0" "9\t0\t0\t\n";
	char	 text[1024];
	size_t	 n;
	char	*t;

	t = with_head_line(3, "@");	/* placeholder, replaced below */
	n = strcspn(t, "@");
	memcpy(text, t, n);
	memcpy(text + n, created, sizeof(created) - 1);
	memcpy(text + n + sizeof(created) - 1, t + n + 1, strlen(t + n + 1));
	assert_rejected_len(text, n + sizeof(created) - 1 + strlen(t + n + 1),
	    NULL);
	free(t);

	n = strlen(good_head);
	memcpy(text, good_head, n);
	memcpy(text + n, tries, sizeof(tries) - 1);
	memcpy(text + n + sizeof(tries) - 1, "end\n", 4);
	assert_rejected_len(text, n + sizeof(tries) - 1 + 4, NULL);
}

static void
test_bad_header_values_are_rejected(void **state)
{
	static const struct { int line; const char *repl; } bad[] = {
		{ 1, "version 2\n" }, { 1, "version 0\n" }, { 1, "version\n" },
		{ 1, "version x\n" }, { 3, "created -1\n" }, { 3, "created\n" },
		{ 3, "created 1e9\n" }, { 8, "bounce 2\n" }, { 8, "bounce\n" },
		{ 8, "bounce yes\n" },
	};
	size_t	 i;
	char	*t;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		t = with_head_line(bad[i].line, bad[i].repl);
		assert_rejected(t, NULL);
		free(t);
	}
}

static void
test_oversize_record_is_rejected_before_parsing(void **state)
{
	struct envelope	e;
	char		err[256] = "";

	/* the length alone decides: the bytes are never looked at */
	assert_int_equal(env_parse(good_head, (size_t)ENV_MAX_SIZE + 1, &e,
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "larger"));
}

static void
test_add_del_and_all_final_track_recipients(void **state)
{
	struct envelope e;

	env_init(&e);
	assert_true(env_all_final(&e));
	assert_int_equal(env_add_rcpt(&e, "a@x", NULL, 0), 0);
	assert_int_equal(env_add_rcpt(&e, "b@x", "B@X", 1), 0);
	assert_int_equal(env_add_rcpt(&e, "c@x", NULL, 0), 0);
	assert_string_equal(e.rcpt[0].orcpt, "a@x");
	assert_string_equal(e.rcpt[1].orcpt, "B@X");
	assert_int_equal(e.rcpt[1].final, 1);
	assert_false(env_all_final(&e));
	e.rcpt[0].state = RCPT_DONE;
	e.rcpt[1].state = RCPT_FAILED;
	assert_false(env_all_final(&e));
	e.rcpt[2].state = RCPT_DEFERRED;
	assert_false(env_all_final(&e));
	env_del_rcpt(&e, 2);
	assert_int_equal(e.nrcpt, 2);
	assert_true(env_all_final(&e));
	env_del_rcpt(&e, 0);
	assert_int_equal(e.nrcpt, 1);
	assert_string_equal(e.rcpt[0].addr, "b@x");
	assert_int_equal(env_set_reason(&e.rcpt[0], "x"), 0);
	assert_int_equal(env_set_reason(&e.rcpt[0], NULL), 0);
	assert_null(e.rcpt[0].reason);
	env_free(&e);
	assert_int_equal(e.nrcpt, 0);
}

static void
test_state_names_match_the_file_format(void **state)
{
	assert_string_equal(env_state_name(RCPT_PENDING), "pending");
	assert_string_equal(env_state_name(RCPT_DEFERRED), "deferred");
	assert_string_equal(env_state_name(RCPT_DONE), "done");
	assert_string_equal(env_state_name(RCPT_FAILED), "failed");
	assert_string_equal(env_state_name((enum rcpt_state)17), "?");
}

static void
test_hold_and_requeue_times_round_trip_and_are_optional(void **state)
{
	struct envelope	 e, back;
	struct buf	 b;
	char		 text[1024], err[256];

	(void)state;
	/* Absent: 0, and a record without them is written as before. */
	snprintf(text, sizeof(text), "%s%send\n", good_head, good_rcpt);
	if (parse_exact(text, strlen(text), &e, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(e.held, 0);
	assert_int_equal(e.requeued, 0);
	buf_init(&b, ENV_MAX_SIZE);
	assert_int_equal(env_write(&e, &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_null(strstr(b.data, "held"));
	assert_null(strstr(b.data, "requeued"));
	/* Set: written, and read back. */
	e.held = 1700000100;
	e.requeued = 1700000200;
	buf_reset(&b);
	assert_int_equal(env_write(&e, &b), 0);
	if (parse_exact(b.data, b.len, &back, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(back.held, 1700000100);
	assert_int_equal(back.requeued, 1700000200);
	env_free(&back);
	env_free(&e);
	buf_free(&b);
	/* 0 is never written, so it is refused; so is a repeat or junk. */
	snprintf(text, sizeof(text), "%sheld 0\n%send\n", good_head, good_rcpt);
	assert_rejected_len(text, strlen(text), "bad time");
	snprintf(text, sizeof(text), "%sheld 5\nheld 6\nend\n", good_head);
	assert_rejected_len(text, strlen(text), "repeated");
	snprintf(text, sizeof(text), "%srequeued -1\nend\n", good_head);
	assert_rejected_len(text, strlen(text), "bad time");
	snprintf(text, sizeof(text), "%srequeued 12x\nend\n", good_head);
	assert_rejected_len(text, strlen(text), "bad time");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_parse_round_trip_keeps_every_field_and_state),
		cmocka_unit_test(test_write_escapes_control_bytes_so_fields_keep_their_lines),
		cmocka_unit_test(test_every_truncation_of_a_record_is_rejected),
		cmocka_unit_test(test_minimal_record_without_recipients_parses),
		cmocka_unit_test(test_data_after_end_is_rejected),
		cmocka_unit_test(test_unknown_key_is_rejected),
		cmocka_unit_test(test_repeated_key_is_rejected),
		cmocka_unit_test(test_missing_required_key_is_rejected),
		cmocka_unit_test(test_bad_id_is_rejected),
		cmocka_unit_test(test_bad_escapes_are_rejected),
		cmocka_unit_test(test_escapes_decode_in_either_hex_case),
		cmocka_unit_test(test_parse_reads_nothing_past_the_given_length),
		cmocka_unit_test(test_nul_escape_is_rejected_in_recipient_fields),
		cmocka_unit_test(test_malformed_recipient_lines_are_rejected),
		cmocka_unit_test(test_raw_nul_inside_a_numeric_field_is_rejected),
		cmocka_unit_test(test_bad_header_values_are_rejected),
		cmocka_unit_test(test_oversize_record_is_rejected_before_parsing),
		cmocka_unit_test(test_add_del_and_all_final_track_recipients),
		cmocka_unit_test(test_state_names_match_the_file_format),
		cmocka_unit_test(test_hold_and_requeue_times_round_trip_and_are_optional),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
