/*
 * test_dsn.c - libcommon/dsn: the RFC 3464 notice. The report's fields
 * are where a reader (and a program) looks for them; RET and the size
 * limit decide between the whole message and its headers; and text
 * from outside (reasons, diagnostics, addresses, the returned message)
 * can neither add a field nor end a MIME part.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dsn.h"
#include "envelope.h"

static const char original[] =
    "Received: from x\n"
    "From: Alice <alice@example.org>\n"
    "Subject: hello\n"
    "\n"
    "body line 1\n"
    "SECRET BODY\n";

static void
report_init(struct dsn_report *r, struct dsn_rcpt *rc, size_t n)
{
	memset(r, 0, sizeof(*r));
	r->kind = DSN_KIND_FAILURE;
	r->reporting_mta = "mx.example.org";
	r->to = "alice@example.org";
	r->qid = "0123456789ABCDEF";
	r->orig_qid = "FEDCBA9876543210";
	r->orig_sender = "alice@example.org";
	r->arrival = 1700000000;
	r->now = 1700000100;
	r->retry_until = 1700432000;
	r->rcpt = rc;
	r->nrcpt = n;
	r->ret = ENV_RET_NONE;
	r->msg = original;
	r->msglen = strlen(original);
	r->msgsize = strlen(original);
	r->size_limit = 50000;
}

static char *
build(const struct dsn_report *r, int *eight)
{
	struct buf	b;
	int		e = -1;

	buf_init(&b, 0);
	assert_int_equal(dsn_build(r, &b, &e), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_true(e == 0 || e == 1);
	if (eight != NULL)
		*eight = e;
	/* no raw control byte but LF and the folding tab anywhere */
	for (size_t i = 0; i < b.len; i++) {
		unsigned char c = (unsigned char)b.data[i];
		if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7f)
			fail_msg("control byte 0x%02x at %zu", c, i);
	}
	return b.data;	/* buf_free is free(data) */
}

/* The boundary from the Content-Type, and the count of its lines. */
static void
boundary_lines(const char *text, char *bnd, size_t bndsz, int *delims,
    int *closes)
{
	const char	*p = strstr(text, "boundary=\""), *q, *line;
	char		 d[128], c[128];

	assert_non_null(p);
	p += strlen("boundary=\"");
	assert_non_null(q = strchr(p, '"'));
	assert_true((size_t)(q - p) < bndsz && q - p <= 70);
	memcpy(bnd, p, (size_t)(q - p));
	bnd[q - p] = '\0';
	snprintf(d, sizeof(d), "--%s", bnd);
	snprintf(c, sizeof(c), "--%s--", bnd);
	*delims = *closes = 0;
	for (line = text; *line != '\0'; line = strchr(line, '\n') + 1) {
		size_t len = strcspn(line, "\n");

		if (len == strlen(c) && memcmp(line, c, len) == 0)
			(*closes)++;
		else if (len == strlen(d) && memcmp(line, d, len) == 0)
			(*delims)++;
		else if (len >= 2 && line[0] == '-' && line[1] == '-' &&
		    strncmp(line + 2, bnd, strlen(bnd)) == 0)
			fail_msg("a line that begins with the boundary: %.*s",
			    (int)len, line);
		if (line[len] == '\0')
			break;
	}
}

static void
assert_three_parts(const char *text)
{
	char	bnd[128];
	int	delims, closes;

	boundary_lines(text, bnd, sizeof(bnd), &delims, &closes);
	assert_int_equal(delims, 3);
	assert_int_equal(closes, 1);
}

static void
test_failure_report_has_every_field(void **state)
{
	struct dsn_rcpt		rc[2] = {
		{ .final = "bob@example.net", .orig = "Bob@example.net",
		  .dsn_orcpt = "rfc822;Bob+x@example.net",
		  .action = DSN_ACTION_FAILED,
		  .reason = "host mx.example.net said: 550 5.1.1 no",
		  .mta = "mx.example.net", .diag = "550 5.1.1 <bob>: no such user" },
		{ .final = "carol@example.org", .orig = "list@example.org",
		  .action = DSN_ACTION_FAILED, .reason = "5.2.2 mailbox full" },
	};
	struct dsn_report	r;
	char			*t;
	int			 eight;

	(void)state;
	report_init(&r, rc, 2);
	r.envid = "QQ314159";
	t = build(&r, &eight);
	assert_int_equal(eight, 0);
	assert_true(strncmp(t, "Date: ", 6) == 0);
	assert_non_null(strstr(t, "\nFrom: Mail Delivery System "
	    "<MAILER-DAEMON@mx.example.org>\n"));
	assert_non_null(strstr(t, "\nTo: <alice@example.org>\n"));
	assert_non_null(strstr(t, "\nSubject: Undelivered Mail Returned to "
	    "Sender\n"));
	assert_non_null(strstr(t, "\nAuto-Submitted: auto-replied\n"));
	assert_non_null(strstr(t, "\nContent-Type: multipart/report; "
	    "report-type=delivery-status;\n\tboundary=\""));
	assert_non_null(strstr(t, "\nContent-Type: message/delivery-status\n"
	    "\nReporting-MTA: dns; mx.example.org\n"
	    "Original-Envelope-Id: QQ314159\n"
	    "X-Postern-Queue-ID: FEDCBA9876543210\n"
	    "X-Postern-Sender: rfc822; alice@example.org\n"
	    "Arrival-Date: "));
	assert_non_null(strstr(t, "\n\nOriginal-Recipient: rfc822;"
	    "Bob+x@example.net\n"
	    "Final-Recipient: rfc822; bob@example.net\n"
	    "Action: failed\n"
	    "Status: 5.1.1\n"
	    "Remote-MTA: dns; mx.example.net\n"
	    "Diagnostic-Code: smtp; 550 5.1.1 <bob>: no such user\n"
	    "Last-Attempt-Date: "));
	/* without ORCPT: the address before aliases, since it differs */
	assert_non_null(strstr(t, "\n\nOriginal-Recipient: rfc822; "
	    "list@example.org\n"
	    "Final-Recipient: rfc822; carol@example.org\n"
	    "Action: failed\n"
	    "Status: 5.2.2\n"
	    "Diagnostic-Code: X-Postern; 5.2.2 mailbox full\n"));
	assert_null(strstr(t, "Will-Retry-Until"));
	/* the human part names each recipient as the sender wrote it */
	assert_non_null(strstr(t, "<Bob@example.net>: host mx.example.net "
	    "said: 550 5.1.1 <bob>: no such user\n"));
	assert_non_null(strstr(t, "<list@example.org>: 5.2.2 mailbox full\n"));
	/* RET not given: the headers only */
	assert_non_null(strstr(t, "Content-Type: text/rfc822-headers\n\n"
	    "Received: from x\nFrom: Alice <alice@example.org>\n"
	    "Subject: hello\n\n--"));
	assert_null(strstr(t, "SECRET BODY"));
	assert_three_parts(t);
	free(t);
}

static void
test_ret_full_returns_the_message_within_the_size_limit(void **state)
{
	struct dsn_rcpt		rc = { .final = "b@x.example",
	    .action = DSN_ACTION_FAILED, .reason = "5.1.1 no" };
	struct dsn_report	r;
	char			*t;

	(void)state;
	report_init(&r, &rc, 1);
	r.ret = ENV_RET_FULL;
	t = build(&r, NULL);
	assert_non_null(strstr(t, "Content-Type: message/rfc822\n\n"
	    "Received: from x\n"));
	assert_non_null(strstr(t, "SECRET BODY\n\n--"));
	assert_null(strstr(t, "text/rfc822-headers"));
	assert_null(strstr(t, "only its headers"));
	assert_three_parts(t);
	free(t);

	/* RET=HDRS: headers, whatever the size */
	r.ret = ENV_RET_HDRS;
	t = build(&r, NULL);
	assert_non_null(strstr(t, "text/rfc822-headers"));
	assert_null(strstr(t, "SECRET BODY"));
	free(t);

	/* over the limit: headers, and the reader is told why */
	r.ret = ENV_RET_FULL;
	r.size_limit = r.msgsize - 1;
	t = build(&r, NULL);
	assert_non_null(strstr(t, "text/rfc822-headers"));
	assert_null(strstr(t, "SECRET BODY"));
	assert_non_null(strstr(t, "larger than"));
	free(t);

	/* only part of it read (the caller read the headers): headers */
	r.size_limit = 50000;
	r.msglen = 40;
	t = build(&r, NULL);
	assert_non_null(strstr(t, "text/rfc822-headers"));
	assert_null(strstr(t, "SECRET"));
	free(t);
}

static void
test_delay_and_success_reports(void **state)
{
	struct dsn_rcpt		rc = { .final = "b@x.example",
	    .action = DSN_ACTION_DELAYED, .reason = "4.4.1 connection refused" };
	struct dsn_report	r;
	char			*t;

	(void)state;
	report_init(&r, &rc, 1);
	r.kind = DSN_KIND_DELAY;
	t = build(&r, NULL);
	assert_non_null(strstr(t, "Subject: Delayed Mail (still being "
	    "retried)\n"));
	assert_non_null(strstr(t, "Action: delayed\nStatus: 4.4.1\n"));
	assert_non_null(strstr(t, "\nWill-Retry-Until: "));
	free(t);

	/* a delayed status must be 4.x.x, whatever the text says */
	rc.reason = "5.1.1 odd";
	t = build(&r, NULL);
	assert_non_null(strstr(t, "Action: delayed\nStatus: 4.0.0\n"));
	free(t);

	rc.action = DSN_ACTION_DELIVERED;
	rc.reason = NULL;
	r.kind = DSN_KIND_SUCCESS;
	t = build(&r, NULL);
	assert_non_null(strstr(t, "Subject: Successful Mail Delivery "
	    "Report\n"));
	assert_non_null(strstr(t, "Action: delivered\nStatus: 2.0.0\n"));
	assert_null(strstr(t, "Diagnostic-Code"));
	free(t);

	rc.action = DSN_ACTION_RELAYED;
	rc.mta = "mx.x.example";
	rc.diag = "250 2.0.0 Ok: queued as X";
	t = build(&r, NULL);
	assert_non_null(strstr(t, "Action: relayed\nStatus: 2.0.0\n"
	    "Remote-MTA: dns; mx.x.example\n"
	    "Diagnostic-Code: smtp; 250 2.0.0 Ok: queued as X\n"));
	free(t);
}

static void
test_hostile_texts_cannot_add_fields_or_parts(void **state)
{
	static char evil_msg[] =
	    "Subject: x\n"
	    "X-Evil: --0123456789ABCDEF/mx.example.org\n"
	    "\n"
	    "--0123456789ABCDEF/mx.example.org\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Action: delivered\n"
	    "--0123456789ABCDEF/mx.example.org.1--\n";
	struct dsn_rcpt		rc = {
		.final = "b@x.example\nAction: delivered",
		.orig = "b@x.example\r\n\r\n--0123456789ABCDEF/mx.example.org",
		.dsn_orcpt = "rfc822;a\nStatus: 2.0.0",
		.action = DSN_ACTION_FAILED,
		.reason = "5.1.1 no\r\nAction: delivered\n\n--x",
		.mta = "mx\nRemote-MTA: dns; other",
		.diag = "550 5.1.1 no\r\nStatus: 2.0.0",
	};
	struct dsn_report	r;
	char			*t, bnd[128];
	int			 delims, closes;

	(void)state;
	report_init(&r, &rc, 1);
	r.envid = "id\nX-Injected: 1";
	r.to = "alice@example.org>\nBcc: <victim@example.net";
	r.ret = ENV_RET_FULL;
	r.msg = evil_msg;
	r.msglen = r.msgsize = strlen(evil_msg);
	t = build(&r, NULL);
	boundary_lines(t, bnd, sizeof(bnd), &delims, &closes);
	assert_int_equal(delims, 3);
	assert_int_equal(closes, 1);
	/* the message holds .../mx.example.org and its ".1": the next one */
	assert_string_equal(bnd, "0123456789ABCDEF/mx.example.org.2");
	/* the report part ends where the original's part begins */
	{
		char *rep = strstr(t, "message/delivery-status\n");
		char *end;

		assert_non_null(rep);
		assert_non_null(end = strstr(rep, "\n--0123456789ABCDEF/"));
		*end = '\0';
		assert_null(strstr(rep, "\nAction: delivered"));
		assert_null(strstr(rep, "\nStatus: 2.0.0"));
		assert_null(strstr(rep, "\nRemote-MTA: dns; other"));
		assert_null(strstr(rep, "\nX-Injected"));
		assert_non_null(strstr(rep, "\nAction: failed\nStatus: 5.1.1\n"));
	}
	assert_null(strstr(t, "\nBcc:"));
	free(t);
}

static void
test_eight_bit_original_is_declared(void **state)
{
	static const char msg8[] = "Subject: caf\xc3\xa9\n\nna\xc3\xafve\n";
	struct dsn_rcpt		rc = { .final = "b@x.example",
	    .action = DSN_ACTION_FAILED, .reason = "5.1.1 n\xc3\xa9" };
	struct dsn_report	r;
	char			*t;
	int			 eight;

	(void)state;
	report_init(&r, &rc, 1);
	r.msg = msg8;
	r.msglen = r.msgsize = strlen(msg8);
	r.ret = ENV_RET_FULL;
	t = build(&r, &eight);
	assert_int_equal(eight, 1);
	assert_non_null(strstr(t, "Content-Type: message/rfc822\n"
	    "Content-Transfer-Encoding: 8bit\n\nSubject: caf\xc3\xa9\n"));
	/* a reason's 8-bit bytes go (DSN fields are ASCII) */
	assert_non_null(strstr(t, "X-Postern; 5.1.1 n  \n"));
	free(t);
	/* ASCII throughout: nothing declared */
	r.msg = original;
	r.msglen = r.msgsize = strlen(original);
	t = build(&r, &eight);
	assert_int_equal(eight, 0);
	assert_null(strstr(t, "Content-Transfer-Encoding"));
	free(t);
}

static void
test_headers_without_a_body_or_without_an_end(void **state)
{
	static char big[DSN_HEADERS_MAX + 100];
	struct dsn_rcpt		rc = { .final = "b@x.example",
	    .action = DSN_ACTION_FAILED };
	struct dsn_report	r;
	char			*t;

	(void)state;
	report_init(&r, &rc, 1);
	r.msg = "Subject: no body and no LF";
	r.msglen = r.msgsize = strlen(r.msg);
	t = build(&r, NULL);
	assert_non_null(strstr(t, "\n\nSubject: no body and no LF\n\n--"));
	assert_non_null(strstr(t, "<b@x.example>: unknown error\n"));
	free(t);
	/* a header section that never ends is cut, its last line closed */
	memset(big, 'h', sizeof(big) - 1);
	memcpy(big, "X-Long: ", 8);
	r.msg = big;
	r.msglen = r.msgsize = sizeof(big) - 1;
	t = build(&r, NULL);
	assert_true(strlen(t) < DSN_HEADERS_MAX + 4096);
	assert_three_parts(t);
	free(t);
	/* an empty message */
	r.msg = "";
	r.msglen = r.msgsize = 0;
	t = build(&r, NULL);
	assert_three_parts(t);
	free(t);
}

static void
test_status_codes_are_found_or_defaulted(void **state)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "5.1.1 no such user", "5.1.1" },
		{ "550 5.1.1 no", "5.1.1" },
		{ "550-5.7.1 policy", "5.7.1" },
		{ "4.4.7 message expired", "4.4.7" },
		{ "2.0.0", "2.0.0" },
		{ "5.123.456 x", "5.123.456" },
		{ "5.1234.1 x", "d" },
		{ "5.1 x", "d" },
		{ "5..1 x", "d" },
		{ "6.1.1 x", "d" },
		{ "5.1.1x", "d" },
		{ "550 no code", "d" },
		{ "55 5.1.1", "d" },
		{ "", "d" },
		{ NULL, "d" },
	};
	char	out[16];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dsn_status(cases[i].in, "d", out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("\"%s\" gave %s", cases[i].in ? cases[i].in :
			    "(null)", out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failure_report_has_every_field),
		cmocka_unit_test(test_ret_full_returns_the_message_within_the_size_limit),
		cmocka_unit_test(test_delay_and_success_reports),
		cmocka_unit_test(test_hostile_texts_cannot_add_fields_or_parts),
		cmocka_unit_test(test_eight_bit_original_is_declared),
		cmocka_unit_test(test_headers_without_a_body_or_without_an_end),
		cmocka_unit_test(test_status_codes_are_found_or_defaulted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
