/*
 * test_mime.c - libcommon/mime: the trees of real-shaped messages (text,
 * multipart/mixed with an attachment, alternative inside mixed,
 * message/rfc822, digest) with their offsets and line counts checked
 * exactly; RFC 2231 parameters, RFC 2047 words, the header-field reader;
 * broken input (missing boundaries, a cut message, bare LF, NUL bytes,
 * huge headers) and every limit; and chunking: a message fed one byte at
 * a time, or in random pieces, gives the same tree as fed whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mime.h"

/* Parses msg fed in pieces of chunk bytes (0: whole). */
static struct mime_parser *
parse_lim(const char *msg, size_t len, size_t chunk,
    const struct mime_limits *lim)
{
	struct mime_parser	*p;
	size_t			 i, n;

	p = mime_parser_new(lim);
	assert_non_null(p);
	if (chunk == 0)
		chunk = len > 0 ? len : 1;
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		assert_int_equal(mime_feed(p, msg + i, n), 0);
	}
	assert_int_equal(mime_end(p), 0);
	return p;
}

static struct mime_parser *
parse(const char *msg, size_t chunk)
{
	return parse_lim(msg, strlen(msg), chunk, NULL);
}

static void
dump_params(struct buf *b, const struct mime_params *ps)
{
	size_t	i;

	for (i = 0; i < ps->n; i++)
		buf_printf(b, " %s=[%s]", ps->v[i].name, ps->v[i].value);
}

/* Everything the tree holds, as text, to compare two trees. */
static void
dump(struct buf *b, const struct mime_part *x)
{
	const struct mime_part	*c;

	buf_printf(b, "%u %zu %zu %zu %zu %s/%s", x->depth, x->hdr_off,
	    x->body_off, x->end_off, x->lines, x->type, x->subtype);
	dump_params(b, &x->params);
	buf_printf(b, " enc=%s id=%s desc=%s disp=%s",
	    x->encoding ? x->encoding : "-", x->id ? x->id : "-",
	    x->description ? x->description : "-",
	    x->disposition ? x->disposition : "-");
	dump_params(b, &x->disp_params);
	buf_printf(b, " lang=%s loc=%s md5=%s flags=%x n=%zu {\n",
	    x->language ? x->language : "-", x->location ? x->location : "-",
	    x->md5 ? x->md5 : "-", x->flags, x->nchildren);
	for (c = x->children; c != NULL; c = c->next)
		dump(b, c);
	buf_puts(b, "}\n");
}

static char *
tree_text(const char *msg, size_t len, size_t chunk)
{
	struct mime_parser	*p = parse_lim(msg, len, chunk, NULL);
	struct buf		 b;

	buf_init(&b, 0);
	dump(&b, mime_root(p));
	buf_printf(&b, "parts=%zu hits=%x\n", mime_nparts(p), mime_hits(p));
	buf_cstr(&b);
	mime_parser_free(p);
	return b.data;
}

/* The offset of the first s in msg (it must be there). */
static size_t
at(const char *msg, const char *s)
{
	const char	*f = strstr(msg, s);

	assert_non_null(f);
	return (size_t)(f - msg);
}

/* Checks that [off, end) of msg is exactly s. */
static void
assert_bytes(const char *msg, size_t off, size_t end, const char *s)
{
	assert_int_equal(end - off, strlen(s));
	assert_memory_equal(msg + off, s, strlen(s));
}

static const char text_msg[] =
    "From: Alice <alice@example.org>\r\n"
    "Subject: hello\r\n"
    "\r\n"
    "Hello,\r\n"
    "\r\n"
    "world.\r\n";

static void
test_simple_text(void **state)
{
	struct mime_parser	*p = parse(text_msg, 0);
	struct mime_part	*r = mime_root(p);

	(void)state;
	assert_int_equal(r->hdr_off, 0);
	assert_int_equal(r->body_off, at(text_msg, "Hello"));
	assert_int_equal(r->end_off, strlen(text_msg));
	assert_int_equal(r->lines, 3);
	assert_string_equal(r->type, "text");
	assert_string_equal(r->subtype, "plain");
	assert_string_equal(mime_param_get(&r->params, "charset"),
	    "us-ascii");
	assert_null(r->encoding);
	assert_null(r->children);
	assert_int_equal(mime_nparts(p), 1);
	assert_int_equal(mime_hits(p), 0);
	assert_int_equal(r->flags, 0);
	mime_parser_free(p);
}

static const char mixed_msg[] =
    "From: a@example.org\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: multipart/mixed;\r\n"
    "\tboundary=\"=_outer\"\r\n"
    "\r\n"
    "This is a preamble.\r\n"
    "--=_outer\r\n"
    "Content-Type: text/plain; charset=UTF-8\r\n"
    "Content-Transfer-Encoding: 8bit\r\n"
    "\r\n"
    "Line one\r\n"
    "Line two\r\n"
    "\r\n"
    "--=_outer\r\n"
    "Content-Type: application/pdf; name=\"report.pdf\"\r\n"
    "Content-Transfer-Encoding: BASE64\r\n"
    "Content-Disposition: attachment; filename=\"report.pdf\";\r\n"
    " size=12\r\n"
    "Content-ID: <part2@example.org>\r\n"
    "Content-Description: The report\r\n"
    "Content-Language: en\r\n"
    "Content-Location: http://example.org/r.pdf\r\n"
    "Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
    "\r\n"
    "JVBERi0xLjQK\r\n"
    "AAAA\r\n"
    "--=_outer--\r\n"
    "epilogue\r\n";

static void
test_mixed_attachment(void **state)
{
	struct mime_parser	*p = parse(mixed_msg, 0);
	struct mime_part	*r = mime_root(p), *t, *a;
	const char		*m = mixed_msg;

	(void)state;
	assert_string_equal(r->type, "multipart");
	assert_string_equal(r->subtype, "mixed");
	assert_string_equal(mime_param_get(&r->params, "boundary"),
	    "=_outer");
	assert_int_equal(r->nchildren, 2);
	assert_int_equal(r->body_off, at(m, "This is"));
	assert_int_equal(r->end_off, strlen(m));
	assert_int_equal(r->lines, 23);

	t = r->children;
	assert_int_equal(t->depth, 1);
	assert_int_equal(t->hdr_off, at(m, "Content-Type: text/plain"));
	assert_int_equal(t->body_off, at(m, "Line one"));
	/* The CRLF before the delimiter is the delimiter's. */
	assert_bytes(m, t->body_off, t->end_off, "Line one\r\nLine two\r\n");
	assert_int_equal(t->lines, 2);
	assert_string_equal(t->type, "text");
	assert_string_equal(mime_param_get(&t->params, "charset"), "UTF-8");
	assert_string_equal(t->encoding, "8bit");

	a = t->next;
	assert_non_null(a);
	assert_null(a->next);
	assert_int_equal(a->hdr_off, at(m, "Content-Type: application"));
	assert_bytes(m, a->body_off, a->end_off, "JVBERi0xLjQK\r\nAAAA");
	assert_int_equal(a->lines, 2);
	assert_string_equal(a->type, "application");
	assert_string_equal(a->subtype, "pdf");
	assert_string_equal(mime_param_get(&a->params, "name"), "report.pdf");
	assert_string_equal(a->encoding, "base64");
	assert_string_equal(a->disposition, "attachment");
	assert_int_equal(a->disp_params.n, 2);
	assert_string_equal(mime_param_get(&a->disp_params, "filename"),
	    "report.pdf");
	assert_string_equal(mime_param_get(&a->disp_params, "SIZE"), "12");
	assert_string_equal(a->id, "<part2@example.org>");
	assert_string_equal(a->description, "The report");
	assert_string_equal(a->language, "en");
	assert_string_equal(a->location, "http://example.org/r.pdf");
	assert_string_equal(a->md5, "Q2hlY2sgSW50ZWdyaXR5IQ==");
	assert_int_equal(mime_nparts(p), 3);
	assert_int_equal(r->flags | t->flags | a->flags, 0);
	mime_parser_free(p);
}

static const char alt_msg[] =
    "Content-Type: multipart/mixed; boundary=A\n"
    "\n"
    "--A\n"
    "Content-Type: multipart/alternative; boundary=\"B\"\n"
    "\n"
    "--B\n"
    "\n"
    "plain\n"
    "--B\n"
    "Content-Type: text/html\n"
    "\n"
    "<p>html</p>\n"
    "--B--\n"
    "--A\n"
    "Content-Type: image/png\n"
    "\n"
    "PNG\n"
    "--A--\n";

static void
test_alternative_in_mixed(void **state)
{
	struct mime_parser	*p = parse(alt_msg, 0);
	struct mime_part	*r = mime_root(p), *alt, *pl, *html, *img;
	const char		*m = alt_msg;

	(void)state;
	assert_int_equal(mime_nparts(p), 5);
	alt = r->children;
	assert_string_equal(alt->subtype, "alternative");
	assert_int_equal(alt->nchildren, 2);
	pl = alt->children;
	html = pl->next;
	img = alt->next;
	/* An empty header: the body starts just after the empty line. */
	assert_int_equal(pl->hdr_off, at(m, "\nplain"));
	assert_bytes(m, pl->body_off, pl->end_off, "plain");
	assert_int_equal(pl->lines, 1);
	assert_string_equal(pl->type, "text");
	assert_string_equal(pl->subtype, "plain");
	assert_string_equal(html->subtype, "html");
	assert_bytes(m, html->body_off, html->end_off, "<p>html</p>");
	/* alt ends before the LF that precedes "--A" (its epilogue is
	 * empty): the body is "--B\n ... --B--". */
	assert_int_equal(alt->body_off, at(m, "--B\n"));
	assert_int_equal(alt->end_off, at(m, "--B--") + 5);
	assert_int_equal(alt->lines, 8);
	assert_string_equal(img->type, "image");
	assert_bytes(m, img->body_off, img->end_off, "PNG");
	assert_int_equal(img->depth, 1);
	assert_int_equal(html->depth, 2);
	mime_parser_free(p);
}

static const char rfc822_msg[] =
    "Subject: outer\r\n"
    "Content-Type: multipart/mixed; boundary=\"x\"\r\n"
    "\r\n"
    "--x\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "see the forwarded message\r\n"
    "--x\r\n"
    "Content-Type: message/rfc822\r\n"
    "\r\n"
    "From: Bob <bob@example.net>\r\n"
    "Subject: inner\r\n"
    " folded\r\n"
    "Content-Type: multipart/alternative; boundary=y\r\n"
    "\r\n"
    "--y\r\n"
    "\r\n"
    "inner text\r\n"
    "--y--\r\n"
    "\r\n"
    "--x--\r\n";

static void
test_rfc822_nested(void **state)
{
	struct mime_parser	*p = parse(rfc822_msg, 0);
	struct mime_part	*r = mime_root(p), *fw, *msg, *in;
	const char		*m = rfc822_msg;
	struct buf		 b;

	(void)state;
	assert_int_equal(mime_nparts(p), 5);
	fw = r->children->next;
	assert_string_equal(fw->type, "message");
	assert_string_equal(fw->subtype, "rfc822");
	assert_int_equal(fw->nchildren, 1);
	msg = fw->children;
	assert_int_equal(msg->depth, 2);
	assert_int_equal(msg->hdr_off, fw->body_off);
	assert_int_equal(msg->hdr_off, at(m, "From: Bob"));
	assert_int_equal(msg->body_off, at(m, "--y"));
	assert_int_equal(msg->end_off, fw->end_off);
	assert_int_equal(fw->end_off, at(m, "--y--") + 7);
	assert_int_equal(fw->lines, 9);
	assert_int_equal(msg->lines, 4);
	assert_string_equal(msg->subtype, "alternative");
	in = msg->children;
	assert_int_equal(in->depth, 3);
	assert_bytes(m, in->body_off, in->end_off, "inner text");

	/* The embedded header is the envelope's source. */
	buf_init(&b, 0);
	assert_int_equal(mime_header_get(m + msg->hdr_off,
	    msg->body_off - msg->hdr_off, "subject", 0, &b), 0);
	assert_string_equal(b.data, "inner folded");
	assert_int_equal(mime_header_get(m + r->hdr_off,
	    r->body_off - r->hdr_off, "Subject", 0, &b), 0);
	assert_string_equal(b.data, "outer");
	buf_free(&b);
	mime_parser_free(p);
}

static void
test_rfc822_base64_is_leaf(void **state)
{
	static const char m[] =
	    "Content-Type: message/rfc822\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "\r\n"
	    "U3ViamVjdDogeAoKeQo=\r\n";
	struct mime_parser	*p = parse(m, 0);

	(void)state;
	assert_null(mime_root(p)->children);
	assert_int_equal(mime_nparts(p), 1);
	mime_parser_free(p);
}

static void
test_digest_default(void **state)
{
	static const char m[] =
	    "Content-Type: multipart/digest; boundary=d\r\n"
	    "\r\n"
	    "--d\r\n"
	    "\r\n"
	    "Subject: one\r\n"
	    "\r\n"
	    "body one\r\n"
	    "--d\r\n"
	    "Content-Type: text/plain\r\n"
	    "\r\n"
	    "plain\r\n"
	    "--d--\r\n";
	struct mime_parser	*p = parse(m, 0);
	struct mime_part	*d1, *d2;

	(void)state;
	d1 = mime_root(p)->children;
	d2 = d1->next;
	assert_string_equal(d1->type, "message");
	assert_string_equal(d1->subtype, "rfc822");
	assert_int_equal(d1->params.n, 0);
	assert_int_equal(d1->nchildren, 1);
	assert_bytes(m, d1->children->body_off, d1->children->end_off,
	    "body one");
	assert_string_equal(d2->type, "text");
	assert_int_equal(mime_nparts(p), 4);
	mime_parser_free(p);
}

static void
test_rfc2231(void **state)
{
	static const char m[] =
	    "Content-Type: application/x-stuff;\r\n"
	    " title*0*=us-ascii'en'This%20is%20even%20more%20;\r\n"
	    " title*1*=%2A%2A%2Afun%2A%2A%2A%20;\r\n"
	    " title*2=\"isn't it!\"; Plain*1=\"def\"; plain*0=abc;\r\n"
	    " orphan*1=x; plain=dup; bad*01=y\r\n"
	    "Content-Disposition: attachment;\r\n"
	    " filename*=utf-8''%E2%82%AC%20rates.txt\r\n"
	    "\r\n";
	struct mime_parser	*p = parse(m, 0);
	struct mime_part	*r = mime_root(p);
	struct buf		 b;

	(void)state;
	assert_string_equal(mime_param_get(&r->params, "title*"),
	    "us-ascii'en'This%20is%20even%20more%20%2A%2A%2Afun%2A%2A%2A%20"
	    "isn%27t%20it!");
	assert_null(mime_param_get(&r->params, "title"));
	assert_string_equal(mime_param_get(&r->params, "plain"), "abcdef");
	assert_null(mime_param_get(&r->params, "orphan"));
	assert_null(mime_param_get(&r->params, "bad"));
	assert_int_equal(r->params.n, 2);
	assert_string_equal(r->disp_params.v[0].name, "filename*");
	buf_init(&b, 0);
	assert_int_equal(mime_param_decode(mime_param_get(&r->disp_params,
	    "filename*"), &b), 0);
	assert_int_equal(b.len, strlen("\xe2\x82\xac rates.txt"));
	assert_memory_equal(b.data, "\xe2\x82\xac rates.txt", b.len);
	buf_reset(&b);
	assert_int_equal(mime_param_decode(mime_param_get(&r->params,
	    "title*"), &b), 0);
	buf_cstr(&b);
	assert_string_equal(b.data, "This is even more ***fun*** isn't it!");
	buf_reset(&b);
	assert_int_equal(mime_param_decode("koi8-r''%C1", &b), -1);
	assert_int_equal(mime_param_decode("no quotes", &b), -1);
	buf_free(&b);
	mime_parser_free(p);
}

static void
check_words(const char *in, const char *want)
{
	struct buf	b;

	buf_init(&b, 0);
	assert_int_equal(mime_decode_words(in, strlen(in), &b), 0);
	buf_cstr(&b);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
test_rfc2047(void **state)
{
	(void)state;
	check_words("plain text", "plain text");
	check_words("=?utf-8?Q?caf=C3=A9_au_lait?=", "caf\xc3\xa9 au lait");
	check_words("=?ISO-8859-1?B?SuRyZw==?= Smith", "J\xc3\xa4rg Smith");
	/* RFC 2047 section 8's examples: space between words goes. */
	check_words("(=?ISO-8859-1?Q?a?= b)", "(a b)");
	check_words("(=?ISO-8859-1?Q?a?= =?ISO-8859-1?Q?b?=)", "(ab)");
	check_words("(=?ISO-8859-1?Q?a?=  \r\n  =?ISO-8859-1?Q?b?=)", "(ab)");
	check_words("(=?ISO-8859-1?Q?a_b?=)", "(a b)");
	check_words("(=?ISO-8859-1?Q?a?= =?ISO-8859-2?Q?_b?=)",
	    "(a =?ISO-8859-2?Q?_b?=)");
	/* A character split over two words of one charset. */
	check_words("=?UTF-8?B?4oI=?= =?UTF-8?B?rA==?=", "\xe2\x82\xac");
	check_words("=?utf-8*en?q?x?=", "x");
	check_words("=?iso-8859-15?q?=A4?= =?windows-1252?q?=80=93?=",
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x80\x9c");
	check_words("=?us-ascii?q?=E9?=", "\xef\xbf\xbd");
	check_words("=?utf-8?q?=00?=", "\xef\xbf\xbd");
	/* Malformed words stay as they are. */
	check_words("=?utf-8?x?abc?=", "=?utf-8?x?abc?=");
	check_words("=?utf-8?q?a=?= b", "=?utf-8?q?a=?= b");
	check_words("=?utf-8?b?!!!?=", "=?utf-8?b?!!!?=");
	check_words("=?utf-8?q?open", "=?utf-8?q?open");
	check_words("=??q?x?=", "=??q?x?=");
	/* Raw 8-bit: UTF-8 kept, garbage replaced. */
	check_words("J\xc3\xb6rg \xff", "J\xc3\xb6rg \xef\xbf\xbd");
}

static const char fields_hdr[] =
    "Received: from a\r\n"
    "\tby b\r\n"
    "To: x@example.org,\r\n"
    "  y@example.org\r\n"
    "no colon here\r\n"
    "Bad Name: skipped\r\n"
    "To : z@example.org\r\n"
    "Subject:\r\n"
    "\r\n"
    "Body: not a field\r\n";

static void
test_header_reader(void **state)
{
	struct mime_field	 f;
	struct buf		 b;
	size_t			 pos = 0, n = strlen(fields_hdr);
	const char		*h = fields_hdr;

	(void)state;
	assert_int_equal(mime_header_next(h, n, &pos, &f), 1);
	assert_int_equal(f.off, 0);
	assert_int_equal(f.name_len, 8);
	assert_int_equal(f.len, at(h, "To:"));
	assert_int_equal(mime_header_next(h, n, &pos, &f), 1);
	assert_bytes(h, f.off, f.off + f.len,
	    "To: x@example.org,\r\n  y@example.org\r\n");
	assert_int_equal(mime_header_next(h, n, &pos, &f), 1);
	assert_int_equal(f.off, at(h, "To : z"));
	assert_int_equal(f.name_len, 2);
	assert_int_equal(mime_header_next(h, n, &pos, &f), 1);
	assert_int_equal(f.off, at(h, "Subject"));
	assert_int_equal(mime_header_next(h, n, &pos, &f), 0);

	buf_init(&b, 0);
	assert_int_equal(mime_header_get(h, n, "to", 0, &b), 0);
	assert_string_equal(b.data, "x@example.org,  y@example.org");
	assert_int_equal(mime_header_get(h, n, "TO", 1, &b), 0);
	assert_string_equal(b.data, "z@example.org");
	assert_int_equal(mime_header_get(h, n, "to", 2, &b), -1);
	assert_int_equal(mime_header_get(h, n, "received", 0, &b), 0);
	assert_string_equal(b.data, "from a\tby b");
	assert_int_equal(mime_header_get(h, n, "subject", 0, &b), 0);
	assert_string_equal(b.data, "");
	assert_int_equal(mime_header_get(h, n, "body", 0, &b), -1);
	assert_int_equal(mime_header_get(h, n, "bad name", 0, &b), -1);
	buf_free(&b);
}

static void
test_missing_boundary(void **state)
{
	static const char never[] =
	    "Content-Type: multipart/mixed; boundary=zzz\r\n"
	    "\r\n"
	    "--yyy\r\n"
	    "text\r\n"
	    "--zzzz\r\n"
	    "--zzz-- trailing\r\n";
	static const char nobound[] =
	    "Content-Type: multipart/mixed\r\n"
	    "\r\n"
	    "--zzz\r\n"
	    "text\r\n";
	static const char toolong[] =
	    "Content-Type: multipart/mixed; boundary="
	    "12345678901234567890123456789012345678901234567890123456789012"
	    "345678901\r\n"
	    "\r\n"
	    "--12345678901234567890123456789012345678901234567890123456789012"
	    "345678901\r\n"
	    "\r\n"
	    "text\r\n";
	struct mime_parser	*p;
	struct mime_part	*r;

	(void)state;
	/* The boundary never appears: one body to the end. */
	p = parse(never, 0);
	r = mime_root(p);
	assert_int_equal(r->nchildren, 0);
	assert_int_equal(r->end_off, strlen(never));
	assert_int_equal(r->lines, 4);
	assert_true(r->flags & MIME_PART_NO_END);
	mime_parser_free(p);

	p = parse(nobound, 0);
	r = mime_root(p);
	assert_string_equal(r->type, "multipart");
	assert_int_equal(r->nchildren, 0);
	assert_int_equal(r->end_off, strlen(nobound));
	mime_parser_free(p);

	p = parse(toolong, 0);
	assert_int_equal(mime_root(p)->nchildren, 0);
	assert_int_equal(mime_nparts(p), 1);
	mime_parser_free(p);
}

static void
test_truncated(void **state)
{
	/* Cut in the attachment's body, then in its header, then in the
	 * middle of a delimiter. */
	size_t			 cut_body = at(mixed_msg, "AAAA") + 2;
	size_t			 cut_hdr = at(mixed_msg, "Content-ID") + 5;
	size_t			 cut_delim = at(mixed_msg, "--=_outer--") + 5;
	struct mime_parser	*p;
	struct mime_part	*r, *a;

	(void)state;
	p = parse_lim(mixed_msg, cut_body, 0, NULL);
	r = mime_root(p);
	a = r->children->next;
	assert_int_equal(a->end_off, cut_body);
	assert_int_equal(r->end_off, cut_body);
	assert_int_equal(a->lines, 2);
	assert_true(r->flags & MIME_PART_NO_END);
	assert_false(a->flags & MIME_PART_NO_HDR_END);
	mime_parser_free(p);

	p = parse_lim(mixed_msg, cut_hdr, 0, NULL);
	a = mime_root(p)->children->next;
	assert_int_equal(a->body_off, cut_hdr);
	assert_int_equal(a->end_off, cut_hdr);
	assert_int_equal(a->lines, 0);
	assert_true(a->flags & MIME_PART_NO_HDR_END);
	/* The fields read before the cut count. */
	assert_string_equal(a->disposition, "attachment");
	mime_parser_free(p);

	p = parse_lim(mixed_msg, cut_delim, 0, NULL);
	a = mime_root(p)->children->next;
	assert_bytes(mixed_msg, a->body_off, a->end_off,
	    "JVBERi0xLjQK\r\nAAAA\r\n--=_o");
	assert_int_equal(a->lines, 3);
	mime_parser_free(p);

	/* A header cut before its empty line, a close delimiter with no
	 * line end: the last byte still counts. */
	p = parse_lim("Subject: x", 10, 0, NULL);
	r = mime_root(p);
	assert_int_equal(r->body_off, 10);
	assert_int_equal(r->end_off, 10);
	mime_parser_free(p);
	p = parse("Content-Type: multipart/mixed; boundary=b\n\n--b\n\nx\n--b--",
	    0);
	r = mime_root(p);
	assert_int_equal(r->nchildren, 1);
	assert_false(r->flags & MIME_PART_NO_END);
	assert_int_equal(r->lines, 4);
	assert_int_equal(r->children->lines, 1);
	mime_parser_free(p);
}

static void
test_empty_child_inside_parent(void **state)
{
	/* An empty part just before an outer delimiter starts past the line
	 * end its parent stops at: the parent is stretched to hold it. */
	static const char m[] =
	    "Content-Type: multipart/mixed; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: multipart/mixed; boundary=c\n"
	    "\n"
	    "--c\n"
	    "--b--\n";
	struct mime_parser	*p = parse(m, 0);
	struct mime_part	*c, *c1;

	(void)state;
	c = mime_root(p)->children;
	c1 = c->children;
	assert_non_null(c1);
	assert_int_equal(c1->hdr_off, at(m, "--b--"));
	assert_int_equal(c1->end_off, c1->hdr_off);
	assert_int_equal(c->end_off, c1->end_off);
	assert_true(c->end_off <= mime_root(p)->end_off);
	mime_parser_free(p);
}

static void
test_bare_lf_and_crlf(void **state)
{
	struct buf	 lf;
	const char	*s;
	char		*a, *b;

	(void)state;
	/* The same message with LF alone: same shape and line counts. */
	buf_init(&lf, 0);
	for (s = rfc822_msg; *s != '\0'; s++)
		if (*s != '\r')
			buf_append(&lf, s, 1);
	buf_cstr(&lf);
	{
		struct mime_parser *p1 = parse(rfc822_msg, 0);
		struct mime_parser *p2 = parse(lf.data, 0);
		struct mime_part *x1 = mime_root(p1)->children->next->children;
		struct mime_part *x2 = mime_root(p2)->children->next->children;

		assert_int_equal(x1->lines, x2->lines);
		assert_int_equal(x2->hdr_off, at(lf.data, "From: Bob"));
		assert_bytes(lf.data, x2->children->body_off,
		    x2->children->end_off, "inner text");
		mime_parser_free(p1);
		mime_parser_free(p2);
	}
	a = tree_text(lf.data, lf.len, 0);
	b = tree_text(lf.data, lf.len, 1);
	assert_string_equal(a, b);
	free(a);
	free(b);
	buf_free(&lf);
}

static void
test_nul_and_garbage(void **state)
{
	static const char m[] =
	    "Content-Type: multi\0part/mixed; boundary=\"b\xff\"\r\n"
	    "Content-Type: text/html\r\n"
	    "Content-Description: a\0b\r\n"
	    "Content-Transfer-Encoding: \x80\x81\r\n"
	    "\r\n"
	    "--b\xff\r\n"
	    "\0\0\0\r\n"
	    "\r\n"
	    "\xfe\xff\0\r\n"
	    "--b\xff--\r\n";
	struct mime_parser	*p;
	struct mime_part	*r;

	(void)state;
	p = parse_lim(m, sizeof(m) - 1, 0, NULL);
	r = mime_root(p);
	/* NUL bytes are dropped from fields, counted in offsets. */
	assert_string_equal(r->type, "multipart");
	assert_string_equal(mime_param_get(&r->params, "boundary"), "b\xff");
	assert_string_equal(r->description, "ab");
	assert_null(r->encoding);
	assert_int_equal(r->nchildren, 1);
	assert_int_equal(r->children->body_off, (size_t)((const char *)
	    memmem(m, sizeof(m) - 1, "--b\xff\r\n", 6) - m) + 13);
	assert_int_equal(r->children->end_off, sizeof(m) - 1 - 10);
	assert_int_equal(r->end_off, sizeof(m) - 1);
	mime_parser_free(p);
}

static void
test_broken_content_type(void **state)
{
	static const char m[] =
	    "Content-Type: text\r\n"
	    "\r\n"
	    "x\r\n";
	static const char m2[] =
	    "content-type :  (comment) Text / HTML (c) ; CharSet = "
	    "\"iso-8859-1\" ; ; junk ; format=flowed\r\n"
	    "\r\n";
	struct mime_parser	*p;
	struct mime_part	*r;

	(void)state;
	p = parse(m, 0);
	r = mime_root(p);
	assert_string_equal(r->type, "text");
	assert_string_equal(r->subtype, "plain");
	assert_string_equal(mime_param_get(&r->params, "charset"),
	    "us-ascii");
	mime_parser_free(p);
	p = parse("Content-type: text/plain; charset=us-ascii (Plain text)"
	    "\r\n\r\n", 0);
	assert_string_equal(mime_param_get(&mime_root(p)->params, "charset"),
	    "us-ascii");
	mime_parser_free(p);
	p = parse("Content-Type: application/octet-stream; name=my file.bin\r\n"
	    "\r\n", 0);
	assert_string_equal(mime_param_get(&mime_root(p)->params, "name"),
	    "my file.bin");
	mime_parser_free(p);
	p = parse(m2, 0);
	r = mime_root(p);
	assert_string_equal(r->type, "text");
	assert_string_equal(r->subtype, "html");
	assert_string_equal(mime_param_get(&r->params, "charset"),
	    "iso-8859-1");
	assert_string_equal(mime_param_get(&r->params, "format"), "flowed");
	assert_int_equal(r->params.n, 2);
	mime_parser_free(p);
}

/* n nested multiparts, each with boundary bN, then a text leaf. */
static char *
nested(unsigned n, size_t *len)
{
	struct buf	b;
	unsigned	i;

	buf_init(&b, 0);
	for (i = 0; i < n; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%u\r\n"
		    "\r\n--b%u\r\n", i, i);
	buf_puts(&b, "\r\ndeep\r\n");
	for (i = n; i-- > 0;)
		buf_printf(&b, "--b%u--\r\n", i);
	buf_cstr(&b);
	*len = b.len;
	return b.data;
}

static void
test_depth_limit(void **state)
{
	struct mime_parser	*p;
	struct mime_part	*x;
	struct mime_limits	 lim = { 5, MIME_PARTS_MAX, MIME_FIELD_MAX,
	    MIME_HEADER_MAX, MIME_MEM_MAX };
	size_t			 len;
	char			*m = nested(30, &len);
	char			*rfc = NULL;
	struct buf		 b;
	unsigned		 i;

	(void)state;
	p = parse_lim(m, len, 0, NULL);
	assert_true(mime_hits(p) & MIME_HIT_DEPTH);
	for (x = mime_root(p); x->children != NULL; x = x->children)
		;
	assert_int_equal(x->depth, MIME_DEPTH_MAX);
	assert_true(x->flags & MIME_PART_DEPTH);
	/* Parts deeper are text of the deepest one. */
	assert_string_equal(x->type, "multipart");
	assert_true(x->end_off > x->body_off);
	assert_int_equal(mime_nparts(p), MIME_DEPTH_MAX + 1);
	mime_parser_free(p);

	p = parse_lim(m, len, 7, &lim);
	for (x = mime_root(p); x->children != NULL; x = x->children)
		;
	assert_int_equal(x->depth, 5);
	mime_parser_free(p);
	free(m);

	/* message/rfc822 nesting hits it too. */
	buf_init(&b, 0);
	for (i = 0; i < 100; i++)
		buf_puts(&b, "Content-Type: message/rfc822\r\n\r\n");
	buf_puts(&b, "end\r\n");
	buf_cstr(&b);
	rfc = b.data;
	p = parse(rfc, 3);
	assert_true(mime_hits(p) & MIME_HIT_DEPTH);
	assert_int_equal(mime_nparts(p), MIME_DEPTH_MAX + 1);
	for (x = mime_root(p); x->children != NULL; x = x->children)
		assert_int_equal(x->end_off, b.len);
	assert_int_equal(x->depth, MIME_DEPTH_MAX);
	mime_parser_free(p);
	buf_free(&b);
}

static void
test_part_limit(void **state)
{
	struct mime_limits	 lim = { MIME_DEPTH_MAX, 10, MIME_FIELD_MAX,
	    MIME_HEADER_MAX, MIME_MEM_MAX };
	struct mime_parser	*p;
	struct mime_part	*c;
	struct buf		 b;
	unsigned		 i;
	size_t			 n = 0;

	(void)state;
	buf_init(&b, 0);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < 50; i++)
		buf_printf(&b, "--p\r\n\r\npart %u\r\n", i);
	buf_puts(&b, "--p--\r\n");
	p = parse_lim(b.data, b.len, 0, &lim);
	assert_int_equal(mime_nparts(p), 10);
	assert_true(mime_hits(p) & MIME_HIT_PARTS);
	for (c = mime_root(p)->children; c != NULL; c = c->next) {
		n++;
		assert_int_equal(c->lines, 1);
		assert_true(c->end_off - c->body_off == 6);
	}
	assert_int_equal(n, 9);
	assert_int_equal(mime_root(p)->end_off, b.len);
	mime_parser_free(p);

	/* The default: 10,000 parts and no more. */
	buf_reset(&b);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (i = 0; i < 12000; i++)
		buf_puts(&b, "--p\r\n");
	p = parse_lim(b.data, b.len, 4096, NULL);
	assert_int_equal(mime_nparts(p), MIME_PARTS_MAX);
	mime_parser_free(p);
	buf_free(&b);
}

static void
test_header_limits(void **state)
{
	struct mime_limits	 lim = { MIME_DEPTH_MAX, MIME_PARTS_MAX, 200,
	    4096, 100 };
	struct mime_parser	*p;
	struct mime_part	*r;
	struct buf		 b;
	unsigned		 i;

	(void)state;
	/* A Content-Type line longer than the field limit: cut, flagged,
	 * and its boundary (early on the line) still found. */
	buf_init(&b, 0);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=q; x=\"");
	for (i = 0; i < 1000; i++)
		buf_puts(&b, "x");
	buf_puts(&b, "\"\r\nContent-Description: long description\r\n\r\n"
	    "--q\r\n\r\nbody\r\n--q--\r\n");
	p = parse_lim(b.data, b.len, 0, &lim);
	r = mime_root(p);
	assert_true(r->flags & MIME_PART_STR_TRUNC);
	assert_int_equal(r->nchildren, 1);
	/* mem is 100 bytes: a string that would pass it is dropped. */
	assert_true(mime_hits(p) & MIME_HIT_MEM);
	mime_parser_free(p);

	/* A header block past the limit: fields after it are not read,
	 * the empty line still ends it. */
	buf_reset(&b);
	for (i = 0; i < 400; i++)
		buf_puts(&b, "X-Filler: 0123456789\r\n");
	buf_puts(&b, "Content-Type: text/html\r\n\r\nbody\r\n");
	p = parse_lim(b.data, b.len, 13, &lim);
	r = mime_root(p);
	assert_true(mime_hits(p) & MIME_HIT_HEADER);
	assert_true(r->flags & MIME_PART_HDR_TRUNC);
	assert_string_equal(r->subtype, "plain");
	assert_int_equal(r->body_off, b.len - 6);
	assert_int_equal(r->lines, 1);
	mime_parser_free(p);

	/* A body line of a megabyte costs no memory. */
	buf_reset(&b);
	buf_puts(&b, "Content-Type: multipart/mixed; boundary=q\r\n\r\n--q\r\n"
	    "\r\n");
	for (i = 0; i < 1024 * 1024; i++)
		buf_append(&b, "a", 1);
	buf_puts(&b, "\r\n--q    \t  \r\n\r\nx\r\n--q--\r\n");
	p = parse_lim(b.data, b.len, 65536, NULL);
	assert_int_equal(mime_root(p)->nchildren, 2);
	assert_int_equal(mime_root(p)->children->end_off -
	    mime_root(p)->children->body_off, 1024 * 1024);
	mime_parser_free(p);
	buf_free(&b);
}

/* Offsets in order, inside the parent and the input; depths right. */
static void
check_ordered(const struct mime_part *x, size_t len)
{
	const struct mime_part	*c;
	size_t			 prev = x->body_off, n = 0;

	assert_true(x->hdr_off <= x->body_off);
	assert_true(x->body_off <= x->end_off);
	assert_true(x->end_off <= len);
	assert_true(x->lines <= x->end_off - x->body_off);
	for (c = x->children; c != NULL; c = c->next) {
		assert_ptr_equal(c->parent, x);
		assert_int_equal(c->depth, x->depth + 1);
		assert_true(c->hdr_off >= prev);
		assert_true(c->end_off <= x->end_off);
		prev = c->end_off;
		check_ordered(c, len);
		n++;
	}
	assert_int_equal(n, x->nchildren);
}

static void
test_chunking_same_tree(void **state)
{
	const char	*msgs[] = { text_msg, mixed_msg, alt_msg, rfc822_msg };
	size_t		 i, chunk, len;
	char		*whole, *other;
	char		*deep;

	(void)state;
	for (i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
		len = strlen(msgs[i]);
		whole = tree_text(msgs[i], len, 0);
		for (chunk = 1; chunk < 12; chunk++) {
			other = tree_text(msgs[i], len, chunk);
			assert_string_equal(whole, other);
			free(other);
		}
		free(whole);
		/* And cut at every length: ordered offsets within the cut. */
		for (chunk = 0; chunk <= len; chunk++) {
			struct mime_parser *p = parse_lim(msgs[i], chunk, 3,
			    NULL);

			check_ordered(mime_root(p), chunk);
			mime_parser_free(p);
		}
	}
	deep = nested(25, &len);
	whole = tree_text(deep, len, 0);
	other = tree_text(deep, len, 1);
	assert_string_equal(whole, other);
	free(whole);
	free(other);
	free(deep);
}

/* A file holding text, open for reading at offset 0 (unlinked). */
static int
text_file(const char *text, size_t len)
{
	char	path[] = "/tmp/test_mime.XXXXXX";
	int	fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	return fd;
}

/*
 * A header read alone: the first bytes when it ends in them, up to the
 * cap when it does not, never past a size the caller knows, and a file
 * without an empty line read to its end (or the cap).
 */
static void
test_read_header(void **state)
{
	char	 buf[64], big[200];
	size_t	 hl;
	int	 fd;

	(void)state;
	fd = text_file("A: 1\r\n\r\nbody\r\n", 14);
	assert_int_equal(mime_read_header(fd, 0, buf, 16, 64, &hl), 14);
	assert_int_equal(hl, 8);
	/* A size known: no read past it. */
	assert_int_equal(mime_read_header(fd, 10, buf, 16, 64, &hl), 10);
	assert_int_equal(hl, 8);
	close(fd);
	/* Longer than first: read on up to cap, where it ends. */
	memset(big, 'x', sizeof(big));
	memcpy(big, "Subject: ", 9);
	memcpy(big + 40, "\n\nbody", 6);
	fd = text_file(big, sizeof(big));
	assert_int_equal(mime_read_header(fd, 0, buf, 16, 64, &hl), 64);
	assert_int_equal(hl, 42);
	/* Past the cap: no end found. */
	assert_int_equal(mime_read_header(fd, 0, buf, 16, 32, &hl), 32);
	assert_int_equal(hl, 0);
	close(fd);
	/* No empty line at all: the whole (short) file. */
	fd = text_file("A: 1\r\nB: 2\r\n", 12);
	assert_int_equal(mime_read_header(fd, 0, buf, 8, 64, &hl), 12);
	assert_int_equal(hl, 0);
	assert_int_equal(mime_read_header(fd, 12, buf, 8, 64, &hl), 12);
	close(fd);
	assert_int_equal(mime_read_header(-1, 0, buf, 8, 64, &hl), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_text),
		cmocka_unit_test(test_mixed_attachment),
		cmocka_unit_test(test_alternative_in_mixed),
		cmocka_unit_test(test_rfc822_nested),
		cmocka_unit_test(test_rfc822_base64_is_leaf),
		cmocka_unit_test(test_digest_default),
		cmocka_unit_test(test_rfc2231),
		cmocka_unit_test(test_rfc2047),
		cmocka_unit_test(test_header_reader),
		cmocka_unit_test(test_missing_boundary),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_empty_child_inside_parent),
		cmocka_unit_test(test_bare_lf_and_crlf),
		cmocka_unit_test(test_nul_and_garbage),
		cmocka_unit_test(test_broken_content_type),
		cmocka_unit_test(test_depth_limit),
		cmocka_unit_test(test_part_limit),
		cmocka_unit_test(test_header_limits),
		cmocka_unit_test(test_chunking_same_tree),
		cmocka_unit_test(test_read_header),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
