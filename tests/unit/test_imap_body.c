/*
 * test_imap_body.c - imapd/imap_body: ENVELOPE, BODY, BODYSTRUCTURE and
 * BODY[section]<partial> of real-shaped messages (the corpus in
 * data/imap_body, which test_dovecot_imap_body.py checks against Dovecot
 * as well), with exact strings: multipart alternative with attachments,
 * nested message/rfc822, broken and missing boundaries, missing headers,
 * encoded words, groups, bare LF and mixed line ends; part numbers that do
 * not exist; partial cuts; and hostile input (deep nesting, thousands of
 * addresses, unterminated quotes and comments, NULs) for well-formed,
 * bounded output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "imap_body.h"

static struct imap_msg *
msg_str(const char *s)
{
	struct imap_msg	*m;

	m = imap_msg_new(s, strlen(s), 0);
	assert_non_null(m);
	return m;
}

static struct imap_msg *
msg_file(const char *name)
{
	char		 path[512], *data;
	struct imap_msg	*m;
	FILE		*f;
	long		 n;

	snprintf(path, sizeof(path), "%s/imap_body/%s", POSTERN_UNIT_DATA,
	    name);
	f = fopen(path, "rb");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	m = imap_msg_new(data, (size_t)n, 0);
	assert_non_null(m);
	free(data);
	return m;
}

/* out as a C string (the tests compare whole answers). */
static const char *
str(struct buf *b)
{
	assert_int_equal(buf_cstr(b), 0);
	return b->data;
}

static void
assert_envelope(struct imap_msg *m, const char *want)
{

	struct buf	b, scratch;
	int		rc;

	buf_init(&b, 0);
	assert_int_equal(imap_msg_envelope(m, &b), 0);
	assert_string_equal(str(&b), want);
	/* FETCH's header-only path gives the same answer, or none. */
	buf_reset(&b);
	buf_init(&scratch, 0);
	rc = imap_envelope_of_prefix(imap_msg_data(m), imap_msg_size(m),
	    &scratch, &b);
	assert_true(rc == 0 || rc == 1);
	if (rc == 1)
		assert_string_equal(str(&b), want);
	buf_free(&scratch);
	buf_free(&b);
}

static void
assert_structure(struct imap_msg *m, int ext, const char *want)
{
	struct buf	b;

	buf_init(&b, 0);
	assert_int_equal(imap_msg_bodystructure(m, ext, &b), 0);
	assert_string_equal(str(&b), want);
	buf_free(&b);
}

/* A section written as in FETCH: "1.2.MIME", "HEADER.FIELDS (A B)". */
static void
section(const char *spec, struct imap_section *s)
{
	const char	*p = spec;

	memset(s, 0, sizeof(*s));
	while (*p >= '0' && *p <= '9') {
		s->part[s->nparts++] = (uint32_t)strtoul(p, (char **)&p, 10);
		if (*p == '.')
			p++;
	}
	if (strncmp(p, "HEADER.FIELDS.NOT (", 19) == 0) {
		s->text = IMAP_SEC_HEADER_FIELDS_NOT;
		p += 19;
	} else if (strncmp(p, "HEADER.FIELDS (", 15) == 0) {
		s->text = IMAP_SEC_HEADER_FIELDS;
		p += 15;
	} else if (strcmp(p, "HEADER") == 0)
		s->text = IMAP_SEC_HEADER;
	else if (strcmp(p, "TEXT") == 0)
		s->text = IMAP_SEC_TEXT;
	else if (strcmp(p, "MIME") == 0)
		s->text = IMAP_SEC_MIME;
	else
		assert_true(*p == '\0');
	if (s->text == IMAP_SEC_HEADER_FIELDS ||
	    s->text == IMAP_SEC_HEADER_FIELDS_NOT) {
		while (*p != ')') {
			s->field[s->nfields] = p;
			while (*p != ' ' && *p != ')')
				p++;
			s->field_len[s->nfields] =
			    (size_t)(p - s->field[s->nfields]);
			s->nfields++;
			if (*p == ' ')
				p++;
		}
	}
}

/* The bytes of BODY[spec], as a C string (no NULs in these tests). */
static void
assert_section(struct imap_msg *m, const char *spec, const char *want)
{
	struct imap_section	 s;
	struct buf		 scratch;
	const char		*p;
	size_t			 n;

	section(spec, &s);
	buf_init(&scratch, 0);
	assert_int_equal(imap_section_bytes(m, &s, &scratch, &p, &n), 0);
	if (n != strlen(want) || memcmp(p, want, n) != 0)
		fail_msg("BODY[%s]: got \"%.*s\", want \"%s\"", spec, (int)n,
		    p, want);
	buf_free(&scratch);
}

static void
test_crlf_size(void **state)
{
	struct imap_msg	*m;

	(void)state;
	assert_int_equal(imap_crlf_size("a\nb\r\nc\n", 7), 9);
	assert_int_equal(imap_crlf_size("\n\n", 2), 4);
	/* A bare CR is no line end: it stays, and counts once. */
	assert_int_equal(imap_crlf_size("a\rb", 3), 3);
	assert_int_equal(imap_crlf_size("", 0), 0);

	m = msg_file("19_mixed_line_ends.eml");
	assert_int_equal(imap_msg_size(m), 105);
	assert_memory_equal(imap_msg_data(m),
	    "From: mixed@example.com\r\nTo: ends@example.com\r\n"
	    "Subject: mixed line ends\r\n\r\nline one\r\nline two\r\n"
	    "line three", 105);
	/* Three lines, the last without an end: 2 LFs, as Dovecot counts. */
	assert_structure(m, 0, "(\"text\" \"plain\" (\"charset\" \"us-ascii\")"
	    " NIL NIL \"7bit\" 30 2)");
	imap_msg_free(m);

	/* NUL: 0x80, as Dovecot serves it; the size is the same. */
	m = imap_msg_new("S: a\0\n\nb\0\n", 9, 0);
	assert_non_null(m);
	assert_int_equal(imap_msg_size(m), 11);
	assert_memory_equal(imap_msg_data(m), "S: a\x80\r\n\r\nb\x80\r\n", 11);
	imap_msg_free(m);

	/* A ceiling on the CRLF form, not on the file. */
	assert_null(imap_msg_new("a\nb\n", 4, 5));
	m = imap_msg_new("a\nb\n", 4, 6);
	assert_non_null(m);
	imap_msg_free(m);
	m = imap_msg_new("", 0, 0);
	assert_non_null(m);
	assert_int_equal(imap_msg_size(m), 0);
	assert_envelope(m, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_structure(m, 1, "(\"text\" \"plain\" (\"charset\" \"us-ascii\")"
	    " NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	assert_section(m, "", "");
	assert_section(m, "1", "");
	imap_msg_free(m);
}

static void
test_envelope_full(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("02_full_headers_crlf.eml");
	assert_envelope(m, "(\"Wed, 02 Dec 2026 09:15:22 +0100 (CET)\" "
	    "\"Re: [list] Quarterly numbers\" "
	    "((\"Smith, John\" NIL \"john.smith\" \"example.com\")) "
	    "((\"Mailing List\" NIL \"list-bounces\" \"lists.example.com\")) "
	    "((NIL NIL \"list\" \"lists.example.com\")) "
	    "((\"Carol\" NIL \"carol\" \"example.net\")"
	    "(NIL NIL \"dave\" \"example.net\")) "
	    "((\"Eve \\\"the eavesdropper\\\" E.\" NIL \"eve\" "
	    "\"example.org\")) "
	    "((NIL NIL \"secret\" \"example.org\")) "
	    "\"<orig-42@example.com>\" \"<reply-43@example.com>\")");
	imap_msg_free(m);

	/* Sender and Reply-To default to From; absent fields are NIL. */
	m = msg_str("From: Alice Example <alice@example.org>\n\nx\n");
	assert_envelope(m, "(NIL NIL "
	    "((\"Alice Example\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice Example\" NIL \"alice\" \"example.org\")) "
	    "((\"Alice Example\" NIL \"alice\" \"example.org\")) "
	    "NIL NIL NIL NIL NIL)");
	imap_msg_free(m);

	/* An empty Subject is "", a folded one unfolded; blanks after a
	 * fold stay (Message-ID), trailing ones too (Date), as Dovecot. */
	m = msg_file("21_folded_empty.eml");
	assert_envelope(m, "(\"Thu, 10 Dec 2026 10:00:00 +0000   \" \"\" "
	    "((NIL NIL \"a\" \"example.com\")) "
	    "((NIL NIL \"a\" \"example.com\")) "
	    "((NIL NIL \"a\" \"example.com\")) "
	    "((NIL NIL \"one\" \"example.com\")"
	    "(NIL NIL \"two\" \"example.com\")"
	    "(NIL NIL \"three\" \"example.com\")) NIL NIL "
	    "\"<a@b> <c@d>\" \"   <folded-id@example.com>\")");
	imap_msg_free(m);
}

static void
test_envelope_encoded_words_stay(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("10_encoded_words.eml");
	assert_envelope(m, "(\"Mon, 07 Dec 2026 08:00:00 +0100\" "
	    "\"=?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?= "
	    "=?UTF-8?Q?_und_Z=C3=BCrich?=\" "
	    "((\"=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=\" NIL \"juergen\" "
	    "\"example.de\")) "
	    "((\"=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=\" NIL \"juergen\" "
	    "\"example.de\")) "
	    "((\"=?UTF-8?B?SsO8cmdlbiBNw7xsbGVy?=\" NIL \"juergen\" "
	    "\"example.de\")) "
	    "((\"=?iso-8859-1?q?Fran=E7ois?=\" NIL \"francois\" "
	    "\"example.fr\")(\"=?utf-8?q?Zo=C3=AB?=\" NIL \"zoe\" "
	    "\"example.org\")) NIL NIL NIL NIL)");
	imap_msg_free(m);

	/* 8-bit, raw: a literal (RFC 3501 quoted strings are 7-bit). */
	m = msg_str("Subject: Gr\xc3\xbc\xc3\x9f \"q\"\n\n");
	assert_envelope(m, "(NIL {10}\r\nGr\xc3\xbc\xc3\x9f \"q\" "
	    "NIL NIL NIL NIL NIL NIL NIL NIL)");
	imap_msg_free(m);
}

static void
test_envelope_groups(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("11_groups.eml");
	assert_envelope(m, "(\"Tue, 08 Dec 2026 09:00:00 +0000\" \"groups\" "
	    "((\"Organizer\" NIL \"org\" \"example.com\")) "
	    "((\"Organizer\" NIL \"org\" \"example.com\")) "
	    "((\"Organizer\" NIL \"org\" \"example.com\")) "
	    "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) "
	    "((NIL NIL \"Friends\" NIL)(NIL NIL \"ann\" \"example.com\")"
	    "(\"Bob Jones\" NIL \"bob\" \"example.com\")(NIL NIL NIL NIL)"
	    "(NIL NIL \"solo\" \"example.com\")) "
	    "((NIL NIL \"Empty Group\" NIL)(NIL NIL NIL NIL)) NIL NIL)");
	imap_msg_free(m);

	/* A group never closed is closed at the end. */
	m = msg_str("To: g: a@b, c@d\n\n");
	assert_envelope(m, "(NIL NIL NIL NIL NIL ((NIL NIL \"g\" NIL)"
	    "(NIL NIL \"a\" \"b\")(NIL NIL \"c\" \"d\")(NIL NIL NIL NIL)) "
	    "NIL NIL NIL NIL)");
	imap_msg_free(m);
}

static void
test_envelope_odd_addresses(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("20_odd_addresses.eml");
	assert_envelope(m, "(\"Wed, 09 Dec 2026 23:59:59 -1200\" "
	    "\"odd addresses\" "
	    "((\"Quoted Name\" NIL \"odd local\" \"example.com\")"
	    "(\"plain\" NIL \"real\" \"example.com\")) "
	    "((NIL NIL \"nodomain\" \"MISSING_DOMAIN\")) "
	    "((NIL \"@relay1.example,@relay2.example\" \"routed\" "
	    "\"example.com\")) "
	    "((NIL NIL \"user\" \"[192.0.2.5]\")"
	    "(\"Mary Smith\" NIL \"mary\" \"x.test\")"
	    "(\"John Doe\" NIL \"jdoe\" \"one.test\")"
	    "(NIL NIL \"angle-only\" \"example.com\")"
	    "(\"Comment\" NIL \"c\" \"example.com\")) "
	    "((\"John Q. Public\" NIL \"JQP\" \"example.com\")) NIL NIL NIL)");
	imap_msg_free(m);

	/*
	 * Where Dovecot's parser gives up or invents, ours goes on: it
	 * stops at "a@b@c" (only (NIL NIL "a" "b")) and makes an empty
	 * MISSING_MAILBOX address of each empty list element; we skip
	 * the junk after an address and the empty elements (RFC 5322
	 * obs-addr-list allows them) and keep every real address.
	 */
	m = msg_str("To: a@b@c, t@example.com junk, ,,last@example.com,,\n\n");
	assert_envelope(m, "(NIL NIL NIL NIL NIL ((NIL NIL \"a\" \"b\")"
	    "(NIL NIL \"t\" \"example.com\")"
	    "(NIL NIL \"last\" \"example.com\")) NIL NIL NIL NIL)");
	imap_msg_free(m);

	/* Broken: unterminated quote, comment, angle; an empty <>. */
	m = msg_str("From: \"open <a@b>\nTo: x@y (open\nCc: <c@d\n"
	    "Bcc: <>, @, ;;,,\n\n");
	assert_envelope(m, "(NIL NIL ((NIL NIL \"open <a@b>\" "
	    "\"MISSING_DOMAIN\")) ((NIL NIL \"open <a@b>\" "
	    "\"MISSING_DOMAIN\")) ((NIL NIL \"open <a@b>\" "
	    "\"MISSING_DOMAIN\")) ((\"open\" NIL \"x\" \"y\")) "
	    "((NIL NIL \"c\" \"d\")) "
	    "((NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")"
	    "(NIL NIL \"MISSING_MAILBOX\" \"MISSING_DOMAIN\")) NIL NIL)");
	imap_msg_free(m);
}

static void
test_structure_alternative_attachments(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("04_mixed_attachments.eml");
	assert_structure(m, 1,
	    "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	    " 26 1 NIL NIL NIL NIL)"
	    "(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	    " 33 1 NIL NIL NIL NIL) \"alternative\""
	    " (\"boundary\" \"inner-b\") NIL NIL NIL)"
	    "(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL"
	    " \"Q3 report\" \"base64\" 192 NIL (\"attachment\""
	    " (\"filename\" \"report.pdf\" \"size\" \"120\")) NIL NIL)"
	    "(\"image\" \"png\" NIL \"<photo1@example.com>\" NIL \"base64\""
	    " 98 NIL (\"inline\" NIL) NIL NIL) \"mixed\""
	    " (\"boundary\" \"outer-b\") NIL NIL NIL)");
	assert_structure(m, 0,
	    "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	    " 26 1)(\"text\" \"html\" (\"charset\" \"us-ascii\") NIL NIL"
	    " \"7bit\" 33 1) \"alternative\")"
	    "(\"application\" \"pdf\" (\"name\" \"report.pdf\") NIL"
	    " \"Q3 report\" \"base64\" 192)"
	    "(\"image\" \"png\" NIL \"<photo1@example.com>\" NIL \"base64\""
	    " 98) \"mixed\")");
	assert_section(m, "1.1", "See the report attached.\r\n");
	assert_section(m, "1.2.MIME",
	    "Content-Type: text/html; charset=us-ascii\r\n\r\n");
	assert_section(m, "3.MIME", "Content-Type: image/png\r\n"
	    "Content-ID: <photo1@example.com>\r\n"
	    "Content-Disposition: inline\r\n"
	    "Content-Transfer-Encoding: base64\r\n\r\n");
	/* The nested multipart keeps its close delimiter's line end. */
	assert_section(m, "1", "--inner-b\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "See the report attached.\r\n\r\n--inner-b\r\n"
	    "Content-Type: text/html; charset=us-ascii\r\n\r\n"
	    "<p>See the report attached.</p>\r\n\r\n--inner-b--\r\n");
	assert_section(m, "4", "");
	assert_section(m, "1.3", "");
	/* A leaf's part 1 is itself, and nothing is below it. */
	assert_section(m, "3.1.1", "");
	assert_section(m, "2.2", "");
	imap_msg_free(m);
}

static void
test_structure_nested_rfc822(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("05_nested_rfc822.eml");
	assert_structure(m, 0,
	    "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\""
	    " 29 1)(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 571 "
	    "(\"Fri, 04 Dec 2026 17:00:00 +0200\" \"Meeting notes\" "
	    "((\"Judy\" NIL \"judy\" \"example.org\")) "
	    "((\"Judy\" NIL \"judy\" \"example.org\")) "
	    "((\"Judy\" NIL \"judy\" \"example.org\")) "
	    "((\"Heidi\" NIL \"heidi\" \"example.org\")) "
	    "((NIL NIL \"team\" NIL)(NIL NIL \"kim\" \"example.org\")"
	    "(\"Lee, Mallory\" NIL \"mallory\" \"example.org\")"
	    "(NIL NIL NIL NIL)) NIL NIL \"<notes-1@example.org>\") "
	    "((\"text\" \"plain\" (\"charset\" \"iso-8859-1\") NIL NIL"
	    " \"quoted-printable\" 32 1)(\"text\" \"csv\" (\"name\""
	    " \"budget.csv\" \"charset\" \"us-ascii\") NIL NIL \"7bit\" 20 1)"
	    " \"mixed\") 22) \"mixed\")");
	/* HEADER and TEXT of the message/rfc822 part are its message's. */
	assert_section(m, "2.HEADER.FIELDS (subject Cc)",
	    "Cc: team: kim@example.org, \"Lee, Mallory\" "
	    "<mallory@example.org>;\r\nSubject: Meeting notes\r\n\r\n");
	assert_section(m, "2.1", "Notes: caf=E9 budget approved.\r\n");
	assert_section(m, "2.2.MIME", "Content-Type: text/csv; "
	    "name=budget.csv\r\nContent-Disposition: attachment; "
	    "filename=budget.csv\r\n\r\n");
	assert_section(m, "2.2", "item,cost\r\ncoffee,12");
	assert_section(m, "2.MIME", "Content-Type: message/rfc822\r\n"
	    "Content-Disposition: inline\r\n\r\n");
	/* HEADER of a part that holds no message: empty, as in Dovecot. */
	assert_section(m, "1.HEADER", "");
	assert_section(m, "1.TEXT", "");
	assert_section(m, "2.2.HEADER", "");
	assert_section(m, "2.1.1", "Notes: caf=E9 budget approved.\r\n");
	assert_section(m, "2.1.1.1", "");
	assert_section(m, "1.1", "Forwarding the notes below.\r\n");
	assert_section(m, "1.1.1", "");
	imap_msg_free(m);

	/* A non-multipart message: part 1 is its body, 2 is nothing. */
	m = msg_file("01_plain_lf.eml");
	assert_section(m, "1", "Hi Bob,\r\n\r\nare you free for lunch "
	    "tomorrow?\r\n\r\nAlice\r\n");
	assert_section(m, "2", "");
	assert_section(m, "1.2", "");
	assert_section(m, "TEXT", "Hi Bob,\r\n\r\nare you free for lunch "
	    "tomorrow?\r\n\r\nAlice\r\n");
	imap_msg_free(m);

	/* A top-level message/rfc822: 1 its body, 1.1 the inner body. */
	m = msg_file("23_toplevel_rfc822_8bit.eml");
	assert_section(m, "1.1", "original body\r\n");
	assert_section(m, "1.HEADER", "From: sender@example.org\r\n"
	    "To: gone@example.com\r\nSubject: original\r\n\r\n");
	imap_msg_free(m);
}

static void
test_structure_broken(void **state)
{
	struct imap_msg	*m;

	(void)state;
	/* A boundary that never comes: Dovecot's empty part. */
	m = msg_file("06_broken_boundary.eml");
	assert_structure(m, 1, "((\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL) \"mixed\" "
	    "(\"boundary\" \"never-used\") NIL NIL NIL)");
	assert_section(m, "1", "");
	imap_msg_free(m);

	m = msg_file("07_no_close_delimiter.eml");
	assert_structure(m, 0, "((\"text\" \"plain\" (\"charset\" "
	    "\"us-ascii\") NIL NIL \"7bit\" 10 0)(\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 63 1) \"mixed\")");
	assert_section(m, "2", "second part, and the message ends without "
	    "the close delimiter\r\n");
	imap_msg_free(m);

	/* No header: all NIL; header only: an empty body. */
	m = msg_file("08_no_header.eml");
	assert_envelope(m, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	assert_section(m, "HEADER", "\r\n");
	imap_msg_free(m);
	m = msg_file("09_header_only.eml");
	assert_section(m, "TEXT", "");
	assert_section(m, "HEADER.FIELDS (From X-None)",
	    "From: x@example.com\r\n\r\n");
	assert_section(m, "HEADER.FIELDS.NOT (From)",
	    "Subject: header only\r\nX-Flag: 1\r\n");
	imap_msg_free(m);

	/* Encoded message/rfc822: a leaf, with the empty envelope and
	 * body the grammar still wants. */
	m = msg_file("14_rfc822_base64.eml");
	assert_structure(m, 0, "((\"message\" \"rfc822\" NIL NIL NIL "
	    "\"base64\" 60 (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL) "
	    "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" "
	    "0 0) 0) \"mixed\")");
	imap_msg_free(m);
}

static void
test_structure_params(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_file("12_rfc2231.eml");
	assert_structure(m, 1, "((\"application\" \"octet-stream\" "
	    "(\"name*\" \"utf-8''%E2%82%AC%20rates.txt\") NIL NIL \"7bit\" 4 "
	    "NIL (\"attachment\" (\"filename*\" \"utf-8''%E2%82%AC%20very%20"
	    "long%20file%20name.txt\")) NIL NIL)(\"text\" \"plain\" "
	    "(\"title*\" \"us-ascii'en-us'This%20is%20%2A%2A%2Afun%2A%2A%2A\""
	    " \"charset\" \"us-ascii\") NIL NIL \"7bit\" 15 0 NIL "
	    "(\"attachment\" (\"filename\" \"plain continued.txt\")) NIL NIL)"
	    " \"mixed\" (\"boundary\" \"2231\") NIL NIL NIL)");
	imap_msg_free(m);

	m = msg_file("17_extensions.eml");
	assert_structure(m, 1, "((\"text\" \"html\" (\"charset\" "
	    "\"us-ascii\") \"<root@example.com>\" \"the page\" \"7bit\" 31 0 "
	    "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" (\"filename\" "
	    "\"index.html\" \"creation-date\" \"Wed, 12 Feb 1997 16:29:51 "
	    "-0500\")) (\"en-GB\") \"http://example.com/index.html\")"
	    "(\"image\" \"gif\" NIL \"<img@example.com>\" NIL \"base64\" 56 "
	    "NIL NIL NIL NIL) \"related\" (\"boundary\" \"rel\" \"type\" "
	    "\"text/html\") NIL (\"de\") \"http://example.com/root\")");
	imap_msg_free(m);

	m = msg_file("13_digest.eml");
	assert_structure(m, 0, "((\"message\" \"rfc822\" NIL NIL NIL "
	    "\"7bit\" 54 (NIL \"first\" ((NIL NIL \"one\" \"example.org\")) "
	    "((NIL NIL \"one\" \"example.org\")) ((NIL NIL \"one\" "
	    "\"example.org\")) NIL NIL NIL NIL NIL) (\"text\" \"plain\" "
	    "(\"charset\" \"us-ascii\") NIL NIL \"7bit\" 13 0) 3)"
	    "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 56 (NIL \"second\" "
	    "((NIL NIL \"two\" \"example.org\")) ((NIL NIL \"two\" "
	    "\"example.org\")) ((NIL NIL \"two\" \"example.org\")) NIL NIL NIL"
	    " NIL NIL) (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL"
	    " \"7bit\" 14 0) 3) \"digest\")");
	imap_msg_free(m);
}

static void
fetch(struct imap_msg *m, const char *spec, int partial, uint32_t origin,
    uint32_t count, const char *want, size_t want_len)
{
	struct imap_section	s;
	struct buf		b;

	section(spec, &s);
	s.partial = partial;
	s.origin = origin;
	s.count = count;
	buf_init(&b, 0);
	assert_int_equal(imap_msg_fetch_section(m, &s, &b), 0);
	assert_int_equal(b.len, want_len);
	assert_memory_equal(b.data, want, want_len);
	buf_free(&b);
}

#define FETCH(m, spec, p, o, c, want) \
	fetch(m, spec, p, o, c, want, sizeof(want) - 1)

static void
test_fetch_items(void **state)
{
	struct imap_msg	*m;

	(void)state;
	m = msg_str("From: a@b\nSubject: s\nTo: c@d\n\nline1\nline2\n");
	FETCH(m, "", 0, 0, 0, "BODY[] {48}\r\nFrom: a@b\r\nSubject: s\r\n"
	    "To: c@d\r\n\r\nline1\r\nline2\r\n");
	FETCH(m, "", 1, 5, 4, "BODY[]<5> {4}\r\n a@b");
	FETCH(m, "TEXT", 1, 3, 100, "BODY[TEXT]<3> {11}\r\ne1\r\nline2\r\n");
	/* An origin past the end: an empty literal, the origin echoed. */
	FETCH(m, "1", 1, 14, 1, "BODY[1]<14> {0}\r\n");
	FETCH(m, "1", 1, 13, 9, "BODY[1]<13> {1}\r\n\n");
	FETCH(m, "7.MIME", 0, 0, 0, "BODY[7.MIME] {0}\r\n");
	FETCH(m, "HEADER.FIELDS (subject x-none)", 0, 0, 0,
	    "BODY[HEADER.FIELDS (SUBJECT X-NONE)] {14}\r\nSubject: s\r\n\r\n");
	FETCH(m, "HEADER.FIELDS.NOT (From to)", 0, 0, 0,
	    "BODY[HEADER.FIELDS.NOT (FROM TO)] {14}\r\nSubject: s\r\n\r\n");
	FETCH(m, "HEADER", 1, 0, 4, "BODY[HEADER]<0> {4}\r\nFrom");
	imap_msg_free(m);
}

static void
test_strings(void **state)
{
	struct buf	b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(imap_append_string(&b, "a\"b\\c", 5), 0);
	assert_int_equal(imap_append_nstring(&b, NULL), 0);
	assert_int_equal(imap_append_string(&b, "x\ny", 3), 0);
	assert_int_equal(imap_append_string(&b, "", 0), 0);
	assert_string_equal(str(&b), "\"a\\\"b\\\\c\"NIL{3}\r\nx\ny\"\"");
	buf_free(&b);
}

/* Every output a single well-formed value: balanced, literals exact. */
static size_t
value_end(const char *s, size_t n, size_t i)
{
	size_t	len;

	assert_true(i < n);
	if (s[i] == '(') {
		for (i++; s[i] != ')'; ) {
			i = value_end(s, n, i);
			assert_true(i < n);
			if (s[i] == ' ')
				i++;
		}
		return i + 1;
	}
	if (s[i] == '"') {
		for (i++; s[i] != '"'; i++) {
			assert_true(i < n && s[i] != '\r' && s[i] != '\n');
			if (s[i] == '\\')
				i++;
		}
		return i + 1;
	}
	if (s[i] == '{') {
		len = strtoul(s + i + 1, NULL, 10);
		while (s[i] != '}')
			i++;
		assert_memory_equal(s + i, "}\r\n", 3);
		assert_true(i + 3 + len <= n);
		return i + 3 + len;
	}
	if (strncmp(s + i, "NIL", 3) == 0)
		return i + 3;
	assert_true(s[i] >= '0' && s[i] <= '9');
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++;
	return i;
}

static void
assert_well_formed(struct imap_msg *m)
{
	struct buf	b;
	int		ext;

	buf_init(&b, 0);
	assert_int_equal(imap_msg_envelope(m, &b), 0);
	assert_int_equal(value_end(b.data, b.len, 0), b.len);
	for (ext = 0; ext < 2; ext++) {
		buf_reset(&b);
		assert_int_equal(imap_msg_bodystructure(m, ext, &b), 0);
		assert_int_equal(value_end(b.data, b.len, 0), b.len);
	}
	buf_free(&b);
}

static void
test_hostile(void **state)
{
	struct imap_msg	*m;
	struct buf	 msg;
	int		 i;

	(void)state;
	/* Multiparts nested far past the parser's depth limit. */
	buf_init(&msg, 0);
	for (i = 0; i < 2000; i++)
		buf_printf(&msg, "Content-Type: multipart/mixed; "
		    "boundary=b%d\n\n--b%d\n", i, i);
	buf_puts(&msg, "\ntext\n");
	m = imap_msg_new(msg.data, msg.len, 0);
	assert_non_null(m);
	assert_well_formed(m);
	assert_section(m, "1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1.1",
	    "");
	imap_msg_free(m);

	/* Thousands of addresses, quotes and comments never closed, NULs. */
	buf_reset(&msg);
	buf_puts(&msg, "To: ");
	for (i = 0; i < 3000; i++)
		buf_printf(&msg, "\"n%d\" <u%d@h%d>, (c%d) g%d:;", i, i, i, i,
		    i);
	buf_puts(&msg, "\nFrom: \"\\\n Cc: ((((\n Bcc: \\\n");
	buf_append(&msg, "Subject: a\0b\n\nx\0y\n", 19);
	m = imap_msg_new(msg.data, msg.len, 0);
	assert_non_null(m);
	assert_well_formed(m);
	imap_msg_free(m);

	/* Every corpus message. */
	m = msg_file("22_padding_preamble.eml");
	assert_well_formed(m);
	assert_section(m, "1", "padded delimiter above");
	imap_msg_free(m);
	m = msg_file("18_deep_nesting.eml");
	assert_well_formed(m);
	assert_section(m, "1.1.2", "<p>deep html</p>");
	assert_section(m, "1.2", "/9j/4AAQSkZJRgABAQEASABIAAD/");
	imap_msg_free(m);
	buf_free(&msg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crlf_size),
		cmocka_unit_test(test_envelope_full),
		cmocka_unit_test(test_envelope_encoded_words_stay),
		cmocka_unit_test(test_envelope_groups),
		cmocka_unit_test(test_envelope_odd_addresses),
		cmocka_unit_test(test_structure_alternative_attachments),
		cmocka_unit_test(test_structure_nested_rfc822),
		cmocka_unit_test(test_structure_broken),
		cmocka_unit_test(test_structure_params),
		cmocka_unit_test(test_fetch_items),
		cmocka_unit_test(test_strings),
		cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
