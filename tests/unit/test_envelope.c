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
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL)
		assert_null(got);
	else {
		assert_non_null(got);
		assert_string_equal(got, want);
	}
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
	e->body = ENV_BODY_8BITMIME;
	e->smtputf8 = 1;
	e->ret = ENV_RET_HDRS;
	e->envid = strdup("id\r\nend\n\t\\x41");
	e->auth = strdup("alice@example.org");
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
	/* The v2 recipient fields, hostile where a remote chooses them. */
	e->rcpt[0].notify = ENV_NOTIFY_NEVER;
	e->rcpt[1].notify = ENV_NOTIFY_SUCCESS | ENV_NOTIFY_FAILURE |
	    ENV_NOTIFY_DELAY;
	e->rcpt[2].notify = ENV_NOTIFY_DELAY;
	e->rcpt[1].dsn_sent = ENV_DSN_SENT_DELAY;
	e->rcpt[3].dsn_sent = ENV_DSN_SENT_MASK;
	assert_int_equal(env_set_str(&e->rcpt[1].dsn_orcpt,
	    "rfc822;Bob+x@Example.NET"), 0);
	assert_int_equal(env_set_str(&e->rcpt[3].dsn_orcpt, "x\ty\n"), 0);
	assert_int_equal(env_set_str(&e->rcpt[1].mta, "mx.example.net"), 0);
	assert_int_equal(env_set_str(&e->rcpt[3].mta, "mx\n\tend"), 0);
	assert_int_equal(env_set_str(&e->rcpt[3].diag,
	    "550 5.1.1 no\r\nrcpt evil@x\tdone\t0\t0\t0\t"), 0);
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
		assert_str_or_null(r->reason, a->reason);
		assert_int_equal(r->notify, a->notify);
		assert_int_equal(r->dsn_sent, a->dsn_sent);
		assert_str_or_null(r->dsn_orcpt, a->dsn_orcpt);
		assert_str_or_null(r->mta, a->mta);
		assert_str_or_null(r->diag, a->diag);
	}
	assert_int_equal(back.body, ENV_BODY_8BITMIME);
	assert_int_equal(back.smtputf8, 1);
	assert_int_equal(back.ret, ENV_RET_HDRS);
	assert_string_equal(back.envid, e.envid);
	assert_string_equal(back.auth, e.auth);
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
		/* tab only as the rcpt field separator: 11 per rcpt line */
		if (c == '\t')
			continue;
		if (c < 0x20 || c == 0x7f)
			fail_msg("raw byte 0x%02x at offset %zu", c, i);
	}
	/* 13 header lines (8 of v1, 5 of v2), one per recipient, "end" */
	assert_int_equal(lines, 13 + e.nrcpt + 1);
	for (i = 0, lines = 0; i < b.len; i++)
		if (b.data[i] == '\t')
			lines++;
	assert_int_equal(lines, 11 * e.nrcpt);
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
		{ 1, "version 3\n" }, { 1, "version 0\n" }, { 1, "version\n" },
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

static const char v2_head[] =
    "version 2\n"
    "id " GOOD_ID "\n"
    "created 1700000000\n"
    "sender alice@example.org\n"
    "origin smtp\n"
    "client 192.0.2.1\n"
    "helo mx.example.org\n"
    "bounce 0\n"
    "body 8bitmime\n"
    "smtputf8 1\n"
    "ret full\n"
    "envid QQ+1\n";
static const char v2_rcpt[] =
    "rcpt bob@example.net\tBob@Example.NET\tdeferred\t3\t1700003600\t0\t"
    "success,failure\t1\trfc822;Bob@Example.NET\tmx.example.net\t"
    "450 4.2.2 mailbox full\t4.2.2 mailbox full\n";

static void
test_v1_record_reads_with_v2_defaults_and_is_rewritten_as_v2(void **state)
{
	struct envelope	 e, back;
	struct buf	 b;
	char		 text[1024], err[256];

	(void)state;
	snprintf(text, sizeof(text), "%s%send\n", good_head, good_rcpt);
	if (parse_exact(text, strlen(text), &e, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(e.body, ENV_BODY_7BIT);
	assert_int_equal(e.smtputf8, 0);
	assert_int_equal(e.ret, ENV_RET_NONE);
	assert_null(e.envid);
	assert_null(e.auth);
	assert_int_equal(e.rcpt[0].notify, 0);
	assert_int_equal(e.rcpt[0].dsn_sent, 0);
	assert_null(e.rcpt[0].dsn_orcpt);
	assert_null(e.rcpt[0].mta);
	assert_null(e.rcpt[0].diag);
	assert_string_equal(e.rcpt[0].reason, "4.2.2 mailbox full");
	buf_init(&b, ENV_MAX_SIZE);
	assert_int_equal(env_write(&e, &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_true(strncmp(b.data, "version 2\n", 10) == 0);
	assert_non_null(strstr(b.data, "\nbody 7bit\nsmtputf8 0\nret none\n"));
	/* envid and auth are written only when set */
	assert_null(strstr(b.data, "envid"));
	assert_null(strstr(b.data, "auth"));
	if (parse_exact(b.data, b.len, &back, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(back.rcpt[0].orcpt, "Bob@Example.NET");
	assert_int_equal(back.rcpt[0].tries, 3);
	assert_string_equal(back.rcpt[0].reason, "4.2.2 mailbox full");
	assert_null(back.rcpt[0].diag);
	env_free(&back);
	env_free(&e);
	buf_free(&b);
}

static void
test_v2_record_parses_every_field(void **state)
{
	struct envelope	 e;
	char		 text[1024], err[256];

	(void)state;
	snprintf(text, sizeof(text), "%sauth alice\\x40example.org\n%send\n",
	    v2_head, v2_rcpt);
	if (parse_exact(text, strlen(text), &e, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(e.body, ENV_BODY_8BITMIME);
	assert_int_equal(e.smtputf8, 1);
	assert_int_equal(e.ret, ENV_RET_FULL);
	assert_string_equal(e.envid, "QQ+1");
	assert_string_equal(e.auth, "alice@example.org");
	assert_int_equal(e.rcpt[0].notify,
	    ENV_NOTIFY_SUCCESS | ENV_NOTIFY_FAILURE);
	assert_int_equal(e.rcpt[0].dsn_sent, ENV_DSN_SENT_DELAY);
	assert_string_equal(e.rcpt[0].dsn_orcpt, "rfc822;Bob@Example.NET");
	assert_string_equal(e.rcpt[0].mta, "mx.example.net");
	assert_string_equal(e.rcpt[0].diag, "450 4.2.2 mailbox full");
	assert_string_equal(e.rcpt[0].reason, "4.2.2 mailbox full");
	env_free(&e);
}

static void
test_v2_keys_and_fields_are_refused_where_they_do_not_belong(void **state)
{
	static const char *v2keys[] = { "body 7bit\n", "smtputf8 0\n",
	    "ret none\n", "envid x\n", "auth x\n" };
	char	 text[2048];
	size_t	 i;
	char	*t;

	(void)state;
	/* a version 1 record knows none of the v2 keys */
	for (i = 0; i < sizeof(v2keys) / sizeof(v2keys[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%send\n", good_head,
		    v2keys[i], good_rcpt);
		assert_rejected(text, "unknown key");
	}
	/* nor the v2 recipient line; and a v2 record not the v1 one */
	snprintf(text, sizeof(text), "%s%send\n", good_head, v2_rcpt);
	assert_rejected(text, "bad recipient");
	snprintf(text, sizeof(text), "%s%send\n", v2_head, good_rcpt);
	assert_rejected(text, "bad recipient");
	/* the version comes first */
	t = with_head_line(1, "");
	snprintf(text, sizeof(text), "%sversion 1\n", t);
	free(t);
	assert_rejected(text, "first");
	snprintf(text, sizeof(text), "\n%s%send\n", good_head, good_rcpt);
	assert_rejected(text, "first");
	assert_rejected("end\n", "first");
}

static void
test_v2_repeated_missing_and_bad_values_are_refused(void **state)
{
	static const char *again[] = { "body 7bit\n", "smtputf8 0\n",
	    "ret hdrs\n", "envid y\n" };
	static const char *required[] = { "body", "smtputf8", "ret" };
	static const char *badhead[] = {
		"body 8BITMIME", "body binarymime", "body ", "body 7bit ",
		"smtputf8 2", "smtputf8 ", "smtputf8 01", "smtputf8 yes",
		"ret FULL", "ret headers", "ret ", "envid a\\x00",
		"envid a\x01", "auth a\\x4",
	};
	static const char *badnotify[] = {
		"failure,success", "SUCCESS", "never,delay", "delay,never",
		"success,,failure", "success,", ",success", "bogus",
		"success,success", "never,never", " success",
	};
	static const char *badsent[] = { "", "4", "01", "-1", "x", "1 " };
	char	 text[2048], line[512], *hd;
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(again) / sizeof(again[0]); i++) {
		snprintf(text, sizeof(text), "%s%s%send\n", v2_head, again[i],
		    v2_rcpt);
		assert_rejected(text, "repeated");
	}
	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char	*at;
		size_t		 off;

		snprintf(line, sizeof(line), "\n%s ", required[i]);
		assert_non_null(at = strstr(v2_head, line));
		off = (size_t)(at - v2_head) + 1;
		hd = strdup(v2_head);
		memmove(hd + off, strchr(hd + off, '\n') + 1,
		    strlen(strchr(hd + off, '\n') + 1) + 1);
		snprintf(text, sizeof(text), "%s%send\n", hd, v2_rcpt);
		free(hd);
		assert_rejected(text, required[i]);
	}
	for (i = 0; i < sizeof(badhead) / sizeof(badhead[0]); i++) {
		snprintf(text, sizeof(text), "version 2\nid " GOOD_ID
		    "\ncreated 1\nsender a\norigin smtp\nclient c\nhelo h\n"
		    "bounce 0\n%s\n%send\n", badhead[i], v2_rcpt);
		/* the bad line replaces nothing: a second body/ret/... */
		assert_rejected(text, NULL);
	}
	for (i = 0; i < sizeof(badnotify) / sizeof(badnotify[0]); i++) {
		snprintf(text, sizeof(text), "%srcpt a@x\tb\tpending\t0\t0\t0"
		    "\t%s\t0\t\t\t\t\nend\n", v2_head, badnotify[i]);
		assert_rejected(text, "bad recipient");
	}
	for (i = 0; i < sizeof(badsent) / sizeof(badsent[0]); i++) {
		snprintf(text, sizeof(text), "%srcpt a@x\tb\tpending\t0\t0\t0"
		    "\t\t%s\t\t\t\t\nend\n", v2_head, badsent[i]);
		assert_rejected(text, "bad recipient");
	}
	/* eleven and thirteen fields */
	snprintf(text, sizeof(text), "%srcpt a@x\tb\tpending\t0\t0\t0"
	    "\t\t0\t\t\t\nend\n", v2_head);
	assert_rejected(text, "bad recipient");
	snprintf(text, sizeof(text), "%srcpt a@x\tb\tpending\t0\t0\t0"
	    "\t\t0\t\t\t\t\t\nend\n", v2_head);
	assert_rejected(text, "bad recipient");
	/* the smallest good v2 recipient line, for contrast */
	snprintf(text, sizeof(text), "%srcpt a@x\tb\tpending\t0\t0\t0"
	    "\t\t0\t\t\t\t\nend\n", v2_head);
	{
		struct envelope	e;
		char		err[256];

		if (parse_exact(text, strlen(text), &e, err, sizeof(err)) != 0)
			fail_msg("%s", err);
		assert_int_equal(e.rcpt[0].notify, 0);
		assert_null(e.rcpt[0].dsn_orcpt);
		env_free(&e);
	}
}

static void
test_notify_lists_parse_and_print(void **state)
{
	static const struct { const char *in; unsigned want; } good[] = {
		{ "NEVER", ENV_NOTIFY_NEVER },
		{ "never", ENV_NOTIFY_NEVER },
		{ "SUCCESS", ENV_NOTIFY_SUCCESS },
		{ "Delay,Failure", ENV_NOTIFY_DELAY | ENV_NOTIFY_FAILURE },
		{ "FAILURE,DELAY,SUCCESS", ENV_NOTIFY_FAILURE |
		    ENV_NOTIFY_DELAY | ENV_NOTIFY_SUCCESS },
	};
	static const char *bad[] = { "", ",", "NEVER,SUCCESS",
	    "SUCCESS,NEVER", "SUCCESS,SUCCESS", "SUCCESS,", ",DELAY", "FAIL",
	    "FAILURES", "SUCCESS DELAY", "SUCCESS,,DELAY" };
	unsigned v;
	char	 out[ENV_NOTIFY_STRLEN];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 0;
		assert_int_equal(env_notify_parse(good[i].in,
		    strlen(good[i].in), &v), 0);
		assert_int_equal(v, good[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (env_notify_parse(bad[i], strlen(bad[i]), &v) != -1)
			fail_msg("accepted NOTIFY=%s", bad[i]);
	env_notify_str(ENV_NOTIFY_MASK & ~ENV_NOTIFY_NEVER, out, sizeof(out));
	assert_string_equal(out, "success,failure,delay");
	env_notify_str(ENV_NOTIFY_NEVER, out, sizeof(out));
	assert_string_equal(out, "never");
	env_notify_str(0, out, sizeof(out));
	assert_string_equal(out, "");
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
		cmocka_unit_test(test_v1_record_reads_with_v2_defaults_and_is_rewritten_as_v2),
		cmocka_unit_test(test_v2_record_parses_every_field),
		cmocka_unit_test(test_v2_keys_and_fields_are_refused_where_they_do_not_belong),
		cmocka_unit_test(test_v2_repeated_missing_and_bad_values_are_refused),
		cmocka_unit_test(test_notify_lists_parse_and_print),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
