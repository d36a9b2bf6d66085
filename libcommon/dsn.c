/*
 * dsn.c - builds delivery status notifications (RFC 3464, RFC 6522's
 * multipart/report) from facts gathered by queued's bounce.c.
 *
 * Runs in queued, as the queue user; pure (no I/O), so that
 * tests/unit/test_dsn.c parses what it writes. Nearly everything in a
 * notice came from outside: addresses and the ENVID from the client,
 * reasons and diagnostics from remote servers, the returned message from
 * its sender. So every text that goes into a header or a DSN field is
 * flattened (control bytes become spaces) and cut at DSN_FIELD_MAX, so
 * it can neither start a field nor a MIME part of its own; and the
 * boundary is chosen so that it appears nowhere in the returned message,
 * so no line of the original can end a part early (a sender could
 * otherwise forge parts of the report, or of the notice a postmaster
 * reads).
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "dsn.h"
#include "envelope.h"
#include "text.h"

static void
dsn_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	localtime_r(&t, &tm);
	if (strftime(out, outsz, "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		strlcpy(out, "Thu, 01 Jan 1970 00:00:00 +0000", outsz);
}

/* Appends s flattened and cut at DSN_FIELD_MAX; ascii: 8-bit bytes too. */
static int
put_text(struct buf *b, const char *s, int ascii)
{
	char tmp[DSN_FIELD_MAX + 1];

	text_sanitize(tmp, sizeof(tmp), s != NULL ? s : "", ' ',
	    ascii ? TEXT_ASCII : 0);
	return buf_puts(b, tmp);
}

static int
has_8bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0x80)
			return 1;
	return 0;
}

/* 1 to 3 digits at p; their count, or 0. */
static size_t
digits(const char *p)
{
	size_t n = 0;

	while (n < 4 && isdigit((unsigned char)p[n]))
		n++;
	return n >= 1 && n <= 3 ? n : 0;
}

void
dsn_status(const char *text, const char *def, char *out, size_t outsz)
{
	const char	*p = text;
	size_t		 a, b;

	if (p == NULL)
		goto none;
	if (isdigit((unsigned char)p[0]) && isdigit((unsigned char)p[1]) &&
	    isdigit((unsigned char)p[2]) && (p[3] == ' ' || p[3] == '-'))
		p += 4;		/* the reply code of "550 5.1.1 ..." */
	if ((p[0] != '2' && p[0] != '4' && p[0] != '5') || p[1] != '.' ||
	    (a = digits(p + 2)) == 0 || p[2 + a] != '.' ||
	    (b = digits(p + 3 + a)) == 0 ||
	    (p[3 + a + b] != '\0' && p[3 + a + b] != ' ') ||
	    3 + a + b >= outsz)
		goto none;
	memcpy(out, p, 3 + a + b);
	out[3 + a + b] = '\0';
	return;
none:
	strlcpy(out, def, outsz);
}

/* The part of msg that is its header section, ending with its LF. */
static size_t
header_len(const char *msg, size_t len)
{
	const char *end;

	if (len > DSN_HEADERS_MAX)
		len = DSN_HEADERS_MAX;
	if (len > 0 && msg[0] == '\n')
		return 0;
	if ((end = memmem(msg, len, "\n\n", 2)) != NULL)
		return (size_t)(end - msg) + 1;
	return len;
}

/*
 * "<qid>/<host>", or with ".N" added until it occurs nowhere in the
 * returned text: a finite text holds finitely many of them. At most
 * 16 + 1 + 32 + 21 bytes: RFC 2046 allows 70.
 */
#define BOUNDARY_MAX	80

static void
pick_boundary(const struct dsn_report *r, const char *inc, size_t inclen,
    char *out, size_t outsz)
{
	unsigned long n = 0;

	snprintf(out, outsz, "%.16s/%.32s", r->qid, r->reporting_mta);
	while (memmem(inc, inclen, out, strlen(out)) != NULL)
		snprintf(out, outsz, "%.16s/%.32s.%lu", r->qid,
		    r->reporting_mta, ++n);
}

static const char *
action_name(enum dsn_action a)
{
	switch (a) {
	case DSN_ACTION_FAILED:		return "failed";
	case DSN_ACTION_DELAYED:	return "delayed";
	case DSN_ACTION_DELIVERED:	return "delivered";
	case DSN_ACTION_RELAYED:	return "relayed";
	}
	return "failed";
}

static const char *
action_default_status(enum dsn_action a)
{
	switch (a) {
	case DSN_ACTION_FAILED:		return "5.0.0";
	case DSN_ACTION_DELAYED:	return "4.0.0";
	case DSN_ACTION_DELIVERED:
	case DSN_ACTION_RELAYED:	return "2.0.0";
	}
	return "5.0.0";
}

static int
put_head(const struct dsn_report *r, const char *boundary, struct buf *b)
{
	static const char *subjects[] = {
		[DSN_KIND_FAILURE] = "Undelivered Mail Returned to Sender",
		[DSN_KIND_DELAY] = "Delayed Mail (still being retried)",
		[DSN_KIND_SUCCESS] = "Successful Mail Delivery Report",
		[DSN_KIND_POSTMASTER] =
		    "Undeliverable Delivery Status Notification",
	};
	char date[64];

	dsn_date(r->now, date, sizeof(date));
	if (buf_printf(b, "Date: %s\n"
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <", date, r->reporting_mta) == -1 ||
	    put_text(b, r->to, 0) == -1 ||
	    buf_printf(b, ">\n"
	    "Subject: %s\n"
	    "Auto-Submitted: auto-replied\n"
	    "Message-ID: <%s.dsn@%s>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n", subjects[r->kind], r->qid, r->reporting_mta,
	    boundary) == -1)
		return -1;
	return 0;
}

static int
put_human(const struct dsn_report *r, const char *boundary, int headers_only,
    struct buf *b)
{
	char	 until[64];
	size_t	 i;
	int	 eight = 0;

	for (i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *p = &r->rcpt[i];
		const char *shown = p->orig != NULL ? p->orig : p->final;

		eight |= has_8bit(shown, strlen(shown));
	}
	if (buf_printf(b, "--%s\n"
	    "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=%s\n", boundary,
	    eight ? "utf-8" : "us-ascii") == -1 ||
	    (eight && buf_puts(b, "Content-Transfer-Encoding: 8bit\n") == -1) ||
	    buf_printf(b, "\nThis is the mail system at host %s.\n\n",
	    r->reporting_mta) == -1)
		return -1;
	switch (r->kind) {
	case DSN_KIND_FAILURE:
		if (buf_puts(b, "Your message could not be delivered to one "
		    "or more recipients.\nThe reasons are given below.\n") ==
		    -1)
			return -1;
		break;
	case DSN_KIND_DELAY:
		dsn_date(r->retry_until, until, sizeof(until));
		if (buf_printf(b, "Your message could not be delivered yet "
		    "to the recipients below.\nThe mail system will go on "
		    "trying until %s;\nyou need not send it again. The "
		    "reasons are given below.\n", until) == -1)
			return -1;
		break;
	case DSN_KIND_SUCCESS:
		if (buf_puts(b, "Your message was delivered to the "
		    "recipients below, as you asked\nto be told.\n") == -1)
			return -1;
		break;
	case DSN_KIND_POSTMASTER:
		if (buf_puts(b, "A delivery status notification could not be "
		    "delivered to its recipient.\nIt was not returned "
		    "(a notification is never answered by another);\n"
		    "the report and its headers follow.\n") == -1)
			return -1;
		break;
	}
	if (headers_only && r->ret == ENV_RET_FULL && buf_printf(b,
	    "\nThe message was larger than %" PRIu64 " bytes: only its "
	    "headers are returned.\n", r->size_limit) == -1)
		return -1;
	if (buf_puts(b, "\n") == -1)
		return -1;
	for (i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *p = &r->rcpt[i];
		const char *why = p->diag != NULL ? p->diag : p->reason;

		if (buf_puts(b, "<") == -1 ||
		    put_text(b, p->orig != NULL ? p->orig : p->final, 0) == -1 ||
		    buf_puts(b, ">: ") == -1)
			return -1;
		if (p->mta != NULL && (buf_puts(b, "host ") == -1 ||
		    put_text(b, p->mta, 1) == -1 ||
		    buf_puts(b, " said: ") == -1))
			return -1;
		if (put_text(b, why != NULL ? why :
		    p->action == DSN_ACTION_FAILED ? "unknown error" :
		    p->action == DSN_ACTION_DELAYED ? "temporary failure" :
		    "delivered", 1) == -1 || buf_puts(b, "\n") == -1)
			return -1;
	}
	return 0;
}

/* "rfc822; addr": the type is given by the address itself in ORCPT. */
static int
put_addr_field(struct buf *b, const char *field, const char *addr)
{
	if (buf_printf(b, "%s: rfc822; ", field) == -1 ||
	    put_text(b, addr, 0) == -1)
		return -1;
	return buf_puts(b, "\n");
}

static int
put_status(const struct dsn_report *r, const char *boundary, struct buf *b)
{
	char	 arrival[64], now[64], until[64], code[16];
	size_t	 i;

	dsn_date(r->arrival, arrival, sizeof(arrival));
	dsn_date(r->now, now, sizeof(now));
	dsn_date(r->retry_until, until, sizeof(until));
	if (buf_printf(b, "\n--%s\n"
	    "Content-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; %s\n", boundary, r->reporting_mta) == -1)
		return -1;
	if (r->envid != NULL && (buf_puts(b, "Original-Envelope-Id: ") == -1 ||
	    put_text(b, r->envid, 1) == -1 || buf_puts(b, "\n") == -1))
		return -1;
	if (buf_printf(b, "X-Postern-Queue-ID: %s\n", r->orig_qid) == -1 ||
	    put_addr_field(b, "X-Postern-Sender", r->orig_sender) == -1 ||
	    buf_printf(b, "Arrival-Date: %s\n", arrival) == -1)
		return -1;
	for (i = 0; i < r->nrcpt; i++) {
		const struct dsn_rcpt *p = &r->rcpt[i];
		const char *semi;

		if (buf_puts(b, "\n") == -1)
			return -1;
		/*
		 * ORCPT as the client gave it ("type;addr"); without one, the
		 * address before aliases when it differs, as Postfix does.
		 */
		if (p->dsn_orcpt != NULL &&
		    (semi = strchr(p->dsn_orcpt, ';')) != NULL) {
			if (buf_puts(b, "Original-Recipient: ") == -1 ||
			    buf_append(b, p->dsn_orcpt,
			    (size_t)(semi - p->dsn_orcpt) + 1) == -1 ||
			    put_text(b, semi + 1, 1) == -1 ||
			    buf_puts(b, "\n") == -1)
				return -1;
		} else if (p->orig != NULL && strcmp(p->orig, p->final) != 0 &&
		    put_addr_field(b, "Original-Recipient", p->orig) == -1)
			return -1;
		dsn_status(p->diag != NULL ? p->diag : p->reason,
		    action_default_status(p->action), code, sizeof(code));
		/* The status's class must agree with the action. */
		if ((p->action == DSN_ACTION_DELIVERED ||
		    p->action == DSN_ACTION_RELAYED) && code[0] != '2')
			strlcpy(code, "2.0.0", sizeof(code));
		if (p->action == DSN_ACTION_DELAYED && code[0] != '4')
			strlcpy(code, "4.0.0", sizeof(code));
		if (p->action == DSN_ACTION_FAILED && code[0] == '2')
			strlcpy(code, "5.0.0", sizeof(code));
		if (put_addr_field(b, "Final-Recipient", p->final) == -1 ||
		    buf_printf(b, "Action: %s\nStatus: %s\n",
		    action_name(p->action), code) == -1)
			return -1;
		if (p->mta != NULL && (buf_puts(b, "Remote-MTA: dns; ") == -1 ||
		    put_text(b, p->mta, 1) == -1 || buf_puts(b, "\n") == -1))
			return -1;
		if (p->diag != NULL) {
			if (buf_puts(b, "Diagnostic-Code: smtp; ") == -1 ||
			    put_text(b, p->diag, 1) == -1 ||
			    buf_puts(b, "\n") == -1)
				return -1;
		} else if (p->reason != NULL) {
			if (buf_puts(b, "Diagnostic-Code: X-Postern; ") == -1 ||
			    put_text(b, p->reason, 1) == -1 ||
			    buf_puts(b, "\n") == -1)
				return -1;
		}
		if (buf_printf(b, "Last-Attempt-Date: %s\n", now) == -1)
			return -1;
		if (p->action == DSN_ACTION_DELAYED &&
		    buf_printf(b, "Will-Retry-Until: %s\n", until) == -1)
			return -1;
	}
	return 0;
}

int
dsn_build(const struct dsn_report *r, struct buf *b, int *eightbit)
{
	char		 boundary[BOUNDARY_MAX];
	const char	*inc = r->msg != NULL ? r->msg : "";
	size_t		 inclen = r->msg != NULL ? r->msglen : 0;
	int		 full, eight;

	full = r->ret == ENV_RET_FULL && r->msgsize <= r->size_limit &&
	    (uint64_t)inclen == r->msgsize;
	if (!full)
		inclen = header_len(inc, inclen);
	eight = has_8bit(inc, inclen);
	pick_boundary(r, inc, inclen, boundary, sizeof(boundary));
	if (put_head(r, boundary, b) == -1 ||
	    put_human(r, boundary, !full, b) == -1 ||
	    put_status(r, boundary, b) == -1)
		return -1;
	if (buf_printf(b, "\n--%s\n"
	    "Content-Description: %s\n"
	    "Content-Type: %s\n", boundary,
	    full ? "Undelivered Message" : "Undelivered Message Headers",
	    full ? "message/rfc822" : "text/rfc822-headers") == -1 ||
	    (eight && buf_puts(b, "Content-Transfer-Encoding: 8bit\n") == -1) ||
	    buf_puts(b, "\n") == -1 || buf_append(b, inc, inclen) == -1)
		return -1;
	/* A part cut short (or a message without a last LF) ends its line. */
	if (inclen > 0 && inc[inclen - 1] != '\n' && buf_puts(b, "\n") == -1)
		return -1;
	if (buf_printf(b, "\n--%s--\n", boundary) == -1)
		return -1;
	*eightbit = eight || has_8bit(b->data, b->len);
	return 0;
}
