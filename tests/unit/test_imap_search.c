/*
 * test_imap_search.c - imapd's SEARCH (imap_search.c, _match.c, _text.c,
 * _date.c): programs parsed from real command bytes through the reader
 * and tokenizer, refused with a precise BAD, matched against index
 * records and message files of tests/unit/data/imap_body and
 * imap_search; flag searches that never open a file; the answer lines.
 * (test_dovecot_imap_search.py compares whole answers with Dovecot's.)
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_search.h"
#include "mime.h"

struct prog {
	struct netio		io;
	struct imap_reader	rd;
	struct imap_cmd		cmd;
	struct imap_request	req;
	struct imap_search	*s;
	char			err[256];
	int			rc;
};

/* "T SEARCH <text>" (or UID SEARCH) read, tokenized and parsed. */
static void
prog_parse(struct prog *p, const char *text, int uid)
{
	struct imap_limits	lim;
	struct buf		b;
	int			sv[2];

	memset(p, 0, sizeof(*p));
	buf_init(&b, 0);
	assert_int_equal(buf_printf(&b, "T %sSEARCH %s\r\n",
	    uid ? "UID " : "", text), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], b.data, b.len), (ssize_t)b.len);
	close(sv[1]);
	buf_free(&b);
	netio_init(&p->io, sv[0], 2);
	imap_limits_default(&lim);
	lim.timeout = 2;
	assert_int_equal(imap_reader_init(&p->rd, &p->io, &lim, NULL, NULL),
	    0);
	imap_cmd_init(&p->cmd);
	imap_request_init(&p->req);
	assert_int_equal(imap_read_command(&p->rd, &p->cmd), IMAP_RD_OK);
	assert_int_equal(imap_parse(&p->req, &p->cmd), 0);
	p->rc = imap_search_parse(p->req.args, uid, &p->s, p->err,
	    sizeof(p->err));
}

static void
prog_done(struct prog *p)
{
	imap_search_free(p->s);
	imap_request_free(&p->req);
	imap_cmd_free(&p->cmd);
	imap_reader_free(&p->rd);
	close(p->io.fd);
	netio_free(&p->io);
}

static void
expect_bad(const char *text, const char *err)
{
	struct prog p;

	prog_parse(&p, text, 0);
	assert_int_equal(p.rc, -1);
	assert_null(p.s);
	if (strstr(p.err, err) == NULL)
		fail_msg("%s: \"%s\" has no \"%s\"", text, p.err, err);
	prog_done(&p);
}

static void
test_bad_programs(void **state)
{
	(void)state;
	expect_bad("FOO", "Unknown search key FOO");
	expect_bad("SEEN BOGUS", "Unknown search key BOGUS");
	expect_bad("SINCE", "Missing argument to SINCE");
	expect_bad("SINCE 31-Feb-x", "SINCE needs a date");
	expect_bad("BEFORE 1-Foo-2026", "BEFORE needs a date");
	expect_bad("SENTON 2026-12-01", "SENTON needs a date");
	expect_bad("ON 32-Dec-2026", "ON needs a date");
	expect_bad("LARGER x", "LARGER needs a number");
	expect_bad("SMALLER 99999999999", "SMALLER needs a number");
	expect_bad("LARGER (1)", "LARGER needs a number");
	expect_bad("OR SEEN", "Missing second search key after OR");
	expect_bad("NOT", "Missing search key after NOT");
	expect_bad("UID", "Missing argument to UID");
	expect_bad("UID 1:x", "Invalid sequence set in UID");
	expect_bad("1,,2", "Invalid sequence set");
	expect_bad("0", "Invalid sequence set");
	expect_bad("KEYWORD", "Missing argument to KEYWORD");
	expect_bad("KEYWORD (a)", "KEYWORD needs a flag keyword");
	expect_bad("KEYWORD \"a b\"", "KEYWORD needs a flag keyword");
	expect_bad("SUBJECT", "Missing argument to SUBJECT");
	expect_bad("SUBJECT (x)", "SUBJECT needs a string");
	expect_bad("HEADER", "Missing argument to HEADER");
	expect_bad("HEADER \"\" x", "HEADER needs a field name");
	expect_bad("HEADER \"a:b\" x", "HEADER needs a field name");
	expect_bad("HEADER Subject", "Missing argument to HEADER");
	expect_bad("BODY \"\xc3\"", "not valid UTF-8");
	expect_bad("()", "Empty search key list");
	expect_bad("\"SEEN\"", "Search key expected");
	expect_bad("RETURN", "RETURN needs a list");
	expect_bad("RETURN (SAVE) ALL", "Unknown RETURN option SAVE");
	expect_bad("RETURN (MIN)", "Missing search program");
	expect_bad("CHARSET", "CHARSET needs a charset name");
	expect_bad("CHARSET UTF-8", "Missing search program");
	expect_bad("MODSEQ", "MODSEQ needs a mod-sequence value");
	expect_bad("MODSEQ 0x1", "MODSEQ needs a mod-sequence value");
	expect_bad("MODSEQ \"/flags/\\\\Seen\" bogus 5",
	    "entry type must be");
	expect_bad("MODSEQ \"/other\" all 5", "bad entry name");
	expect_bad("OLDER 0", "OLDER needs a number above 0");
}

static void
test_badcharset(void **state)
{
	struct prog p;

	(void)state;
	prog_parse(&p, "CHARSET KOI8-R SUBJECT x", 0);
	assert_int_equal(p.rc, -2);
	assert_string_equal(p.err,
	    "[BADCHARSET (UTF-8 US-ASCII)] Unsupported charset");
	prog_done(&p);
	prog_parse(&p, "CHARSET utf-8 SUBJECT x", 0);
	assert_int_equal(p.rc, 0);
	prog_done(&p);
	prog_parse(&p, "RETURN (COUNT) CHARSET \"US-ASCII\" ALL", 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_search_return(p.s), IMAP_SEARCH_RET_COUNT);
	prog_done(&p);
}

/* Deep nesting and long chains: BAD with the limit, never the stack. */
static void
test_hostile_sizes(void **state)
{
	struct prog	p;
	struct buf	b;
	int		i;

	(void)state;
	buf_init(&b, 0);
	for (i = 0; i < 200; i++)
		assert_int_equal(buf_puts(&b, "NOT "), 0);
	assert_int_equal(buf_puts(&b, "SEEN"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	expect_bad(b.data, "nested too deeply");

	/* OR OR OR ... : depth through OR's first operand. */
	buf_reset(&b);
	for (i = 0; i < 100; i++)
		assert_int_equal(buf_puts(&b, "OR "), 0);
	for (i = 0; i < 101; i++)
		assert_int_equal(buf_puts(&b, "SEEN "), 0);
	assert_int_equal(buf_cstr(&b), 0);
	expect_bad(b.data, "nested too deeply");

	/* A flat program of many keys: over the limit is BAD. */
	buf_reset(&b);
	for (i = 0; i < IMAP_SEARCH_KEYS + 10; i++)
		assert_int_equal(buf_puts(&b, "SEEN "), 0);
	assert_int_equal(buf_cstr(&b), 0);
	expect_bad(b.data, "Search program too large");

	/* ... and at a depth the limit allows, it parses. */
	buf_reset(&b);
	for (i = 0; i < 40; i++)
		assert_int_equal(buf_puts(&b, "NOT "), 0);
	assert_int_equal(buf_puts(&b, "SEEN"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	prog_parse(&p, b.data, 0);
	assert_int_equal(p.rc, 0);
	prog_done(&p);
	buf_free(&b);
}

/* --- matching --- */

struct world {
	const char	*dir;		/* files are <dir>/<uid>.eml */
	const char	*files[40];
	int		 opened;
	int		 recent_uid;
	int		 fail_errno;	/* open_msg fails with it */
};

static int
w_keyword(void *arg, const char *name)
{
	(void)arg;
	if (strcasecmp(name, "$Label1") == 0)
		return 0;
	if (strcasecmp(name, "Work") == 0)
		return 3;
	return -1;
}

static int
w_open(void *arg, uint32_t uid)
{
	struct world	*w = arg;
	char		 path[1024];

	w->opened++;
	if (w->fail_errno != 0) {
		errno = w->fail_errno;
		return -1;
	}
	if (uid >= 40 || w->files[uid] == NULL) {
		errno = ENOENT;
		return -1;
	}
	if (w->files[uid][0] == '/')
		return open(w->files[uid], O_RDONLY);
	snprintf(path, sizeof(path), "%s/%s", POSTERN_UNIT_DATA,
	    w->files[uid]);
	return open(path, O_RDONLY);
}

static int
w_recent(void *arg, uint32_t uid)
{
	struct world *w = arg;

	return (int)uid == w->recent_uid;
}

static void
ctx_init(struct imap_search_ctx *ctx, struct world *w)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->nmsgs = 10;
	ctx->maxuid = 20;
	ctx->keyword = w_keyword;
	ctx->open_msg = w_open;
	ctx->recent = w_recent;
	ctx->arg = w;
	ctx->now = 1796083200 + 10 * 86400;	/* 11-Dec-2026 00:00 UTC */
}

static void
rec(struct mailindex_msg *m, uint32_t uid, uint32_t sys, uint32_t kw,
    uint64_t size, time_t idate, uint64_t modseq)
{
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->flags.sys = sys;
	m->flags.kw = kw;
	m->size = size;
	m->idate = idate;
	m->modseq = modseq;
}

/* Does text match record m (sequence number seq)? */
static int
matches(const char *text, struct imap_search_ctx *ctx, uint32_t seq,
    const struct mailindex_msg *m)
{
	struct prog	p;
	int		r;

	prog_parse(&p, text, 0);
	if (p.rc != 0)
		fail_msg("%s: %s", text, p.err);
	r = imap_search_match(p.s, ctx, seq, m);
	prog_done(&p);
	return r;
}

/* Flags, keywords, sizes, sets and dates never open the message. */
static void
test_index_keys_read_no_file(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;
	time_t			dec4 = 1796083200 + 3 * 86400;

	(void)state;
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	rec(&m, 7, KEYWORDS_SEEN | KEYWORDS_FLAGGED, 1u << 3, 1234,
	    dec4 + 3600, 42);
	assert_int_equal(matches("SEEN FLAGGED UNANSWERED UNDELETED UNDRAFT",
	    &ctx, 3, &m), 1);
	assert_int_equal(matches("OR ANSWERED DRAFT", &ctx, 3, &m), 0);
	assert_int_equal(matches("UNSEEN", &ctx, 3, &m), 0);
	assert_int_equal(matches("KEYWORD Work UNKEYWORD $Label1", &ctx, 3,
	    &m), 1);
	assert_int_equal(matches("KEYWORD unknown", &ctx, 3, &m), 0);
	assert_int_equal(matches("UNKEYWORD unknown", &ctx, 3, &m), 1);
	assert_int_equal(matches("LARGER 1233 SMALLER 1235", &ctx, 3, &m),
	    1);
	assert_int_equal(matches("LARGER 1234", &ctx, 3, &m), 0);
	assert_int_equal(matches("SMALLER 1234", &ctx, 3, &m), 0);
	assert_int_equal(matches("3", &ctx, 3, &m), 1);
	assert_int_equal(matches("1:2,4:*", &ctx, 3, &m), 0);
	assert_int_equal(matches("UID 7", &ctx, 3, &m), 1);
	assert_int_equal(matches("UID 1:6,8:*", &ctx, 3, &m), 0);
	assert_int_equal(matches("(SEEN (FLAGGED (UID 7)))", &ctx, 3, &m), 1);
	assert_int_equal(matches("ON 4-Dec-2026", &ctx, 3, &m), 1);
	assert_int_equal(matches("SINCE 4-Dec-2026 BEFORE 5-Dec-2026", &ctx,
	    3, &m), 1);
	assert_int_equal(matches("BEFORE 4-Dec-2026", &ctx, 3, &m), 0);
	assert_int_equal(matches("SINCE 5-Dec-2026", &ctx, 3, &m), 0);
	assert_int_equal(matches("MODSEQ 42", &ctx, 3, &m), 1);
	assert_int_equal(matches("MODSEQ 43", &ctx, 3, &m), 0);
	assert_int_equal(matches("MODSEQ \"/flags/\\\\Seen\" all 40", &ctx, 3,
	    &m), 1);
	/* 11-Dec 00:00 now, the message 4-Dec 01:00: 7 days minus 1 h. */
	assert_int_equal(matches("OLDER 600000", &ctx, 3, &m), 1);
	assert_int_equal(matches("YOUNGER 600000", &ctx, 3, &m), 0);
	assert_int_equal(matches("YOUNGER 700000", &ctx, 3, &m), 1);
	/* A text key behind a false index key is never reached. */
	assert_int_equal(matches("UNSEEN BODY x", &ctx, 3, &m), 0);
	assert_int_equal(matches("BODY x UNSEEN", &ctx, 3, &m), 0);
	assert_int_equal(matches("OR SEEN SUBJECT x", &ctx, 3, &m), 1);
	assert_int_equal(w.opened, 0);
}

/* INTERNALDATE's day is the server's: 23:30 UTC is the next day at +0100. */
static void
test_internaldate_zone(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;

	(void)state;
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	/* 3-Dec-2026 23:30:00 UTC */
	rec(&m, 1, 0, 0, 1, 1796083200 + 2 * 86400 + 84600, 1);
	assert_int_equal(matches("ON 3-Dec-2026", &ctx, 1, &m), 1);
	ctx.tz_offset_s = 3600;
	assert_int_equal(matches("ON 3-Dec-2026", &ctx, 1, &m), 0);
	assert_int_equal(matches("ON 4-Dec-2026", &ctx, 1, &m), 1);
	ctx.tz_offset_s = -12 * 3600;
	assert_int_equal(matches("ON 3-Dec-2026", &ctx, 1, &m), 1);
	/* Before the epoch's day boundary too (a negative local time). */
	rec(&m, 1, 0, 0, 1, 3600, 1);
	assert_int_equal(matches("ON 31-Dec-1969", &ctx, 1, &m), 1);
}

/* The process's zone, each date with its own offset (summer time). */
static void
test_internaldate_local_zone(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;
	char			*old = getenv("TZ");

	(void)state;
	old = old != NULL ? strdup(old) : NULL;
	setenv("TZ", "Europe/Berlin", 1);
	tzset();
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	/* 1-Jul-2026 22:30 UTC: 2 Jul at +0200 (summer), 1 Jul at +0100. */
	rec(&m, 1, 0, 0, 1, 1782945000, 1);
	ctx.tz_offset_s = 3600;
	assert_int_equal(matches("ON 1-Jul-2026", &ctx, 1, &m), 1);
	ctx.local_zone = 1;
	assert_int_equal(matches("ON 2-Jul-2026", &ctx, 1, &m), 1);
	assert_int_equal(matches("BEFORE 2-Jul-2026", &ctx, 1, &m), 0);
	/* 1-Dec-2026 23:30 UTC: 2 Dec at +0100. */
	rec(&m, 1, 0, 0, 1, 1796167800, 1);
	assert_int_equal(matches("ON 2-Dec-2026", &ctx, 1, &m), 1);
	if (old != NULL) {
		setenv("TZ", old, 1);
		free(old);
	} else
		unsetenv("TZ");
	tzset();
}

static void
test_recent_new_old(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;

	(void)state;
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	w.recent_uid = 5;
	rec(&m, 5, 0, 0, 1, 0, 1);
	assert_int_equal(matches("RECENT", &ctx, 1, &m), 1);
	assert_int_equal(matches("NEW", &ctx, 1, &m), 1);
	assert_int_equal(matches("OLD", &ctx, 1, &m), 0);
	m.flags.sys = KEYWORDS_SEEN;
	assert_int_equal(matches("NEW", &ctx, 1, &m), 0);
	rec(&m, 6, 0, 0, 1, 0, 1);
	assert_int_equal(matches("RECENT", &ctx, 2, &m), 0);
	assert_int_equal(matches("OLD", &ctx, 2, &m), 1);
	ctx.recent = NULL;
	rec(&m, 5, 0, 0, 1, 0, 1);
	assert_int_equal(matches("RECENT", &ctx, 1, &m), 0);
}

/* "*" is the mailbox's now: one parsed program, a mailbox that grows. */
static void
test_star_follows_mailbox(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;
	struct prog		p;

	(void)state;
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	prog_parse(&p, "OR * UID 15:*", 0);
	assert_int_equal(p.rc, 0);
	rec(&m, 9, 0, 0, 1, 0, 1);
	assert_int_equal(imap_search_match(p.s, &ctx, 10, &m), 1);
	ctx.nmsgs = 11;
	assert_int_equal(imap_search_match(p.s, &ctx, 10, &m), 0);
	/* UID 15:* with 20 the largest UID; then 8 (15:* is 8:15). */
	rec(&m, 12, 0, 0, 1, 0, 1);
	assert_int_equal(imap_search_match(p.s, &ctx, 10, &m), 0);
	ctx.maxuid = 8;
	assert_int_equal(imap_search_match(p.s, &ctx, 10, &m), 1);
	prog_done(&p);
}

static void
test_text_keys(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.files[1] = "imap_body/10_encoded_words.eml";
	w.files[2] = "imap_search/s01_qp_latin1.eml";
	w.files[3] = "imap_search/s02_base64_utf8.eml";
	w.files[4] = "imap_body/04_mixed_attachments.eml";
	w.files[5] = "imap_body/05_nested_rfc822.eml";
	w.files[6] = "imap_search/s03_cp1252.eml";
	w.files[7] = "imap_body/08_no_header.eml";
	ctx_init(&ctx, &w);

	rec(&m, 1, 0, 0, 1, 0, 1);
	/* RFC 2047, case-folded beyond ASCII. */
	assert_int_equal(matches("FROM \"J\xc3\x9cRGEN M\xc3\x9cLLER\"", &ctx,
	    1, &m), 1);
	assert_int_equal(matches("SUBJECT \"gr\xc3\xbc\xc3\x9f""e aus\"",
	    &ctx, 1, &m), 1);
	assert_int_equal(matches("TO \"FRAN\xc3\x87OIS\"", &ctx, 1, &m), 1);
	assert_int_equal(matches("SUBJECT \"=?UTF-8\"", &ctx, 1, &m), 0);
	assert_int_equal(matches("HEADER content-transfer-encoding 8BIT",
	    &ctx, 1, &m), 1);
	assert_int_equal(matches("HEADER X-Absent \"\"", &ctx, 1, &m), 0);
	assert_int_equal(matches("CC x", &ctx, 1, &m), 0);

	/* Quoted-printable Latin-1, soft line breaks joined. */
	rec(&m, 2, 0, 0, 1, 0, 1);
	assert_int_equal(matches("BODY \"CAF\xc3\x89 EST PR\xc3\x8aT\"", &ctx,
	    2, &m), 1);
	assert_int_equal(matches("BODY anticonstitutionnellement", &ctx, 2,
	    &m), 1);
	assert_int_equal(matches("BODY \"coup\xc3\xa9 en\"", &ctx, 2, &m), 1);
	assert_int_equal(matches("BODY =E9", &ctx, 2, &m), 0);
	assert_int_equal(matches("SUBJECT \"caf\xc3\xa9 CR\xc3\x88ME\"",
	    &ctx, 2, &m), 1);
	/* BODY is not the header; TEXT is both. */
	assert_int_equal(matches("BODY team@example", &ctx, 2, &m), 0);
	assert_int_equal(matches("TEXT team@example", &ctx, 2, &m), 1);
	assert_int_equal(matches("TEXT \"subject: caf\xc3\xa9\"", &ctx, 2,
	    &m), 1);

	/* Base64 UTF-8: Cyrillic and Greek folding (final sigma too);
	 * the base64 attachment is not text. */
	rec(&m, 3, 0, 0, 1, 0, 1);
	assert_int_equal(matches("BODY \"\xd0\xb2\xd1\x81\xd1\x82\xd1\x80"
	    "\xd0\xb5\xd1\x87\xd0\xb0 \xd0\xb2\"", &ctx, 3, &m), 1);
	assert_int_equal(matches("BODY \"\xcf\x83\xcf\x85\xce\xbd\xce\xb1"
	    "\xce\xbd\xcf\x84\xce\xb7\xcf\x83\xce\xb7\"", &ctx, 3, &m), 1);
	assert_int_equal(matches("BODY hidden-attachment-word", &ctx, 3, &m),
	    0);
	assert_int_equal(matches("TEXT data.bin", &ctx, 3, &m), 1);

	/* Multipart: text parts found, the PDF's base64 not decoded. */
	rec(&m, 4, 0, 0, 1, 0, 1);
	assert_int_equal(matches("BODY \"<P>SEE THE REPORT\"", &ctx, 4, &m),
	    1);
	assert_int_equal(matches("BODY JVBERi0x", &ctx, 4, &m), 0);
	assert_int_equal(matches("TEXT \"q3 report\"", &ctx, 4, &m), 1);

	/* Windows-1252: the euro sign and curly quotes. */
	rec(&m, 6, 0, 0, 1, 0, 1);
	assert_int_equal(matches("BODY \"12 \xe2\x82\xac \xe2\x80\x9cQUOTED"
	    "\xe2\x80\x9d\"", &ctx, 6, &m), 1);
	assert_int_equal(matches("BODY \"\xc3\xa9t\xc3\xa9\"", &ctx, 6, &m),
	    1);

	/* No header at all: no Subject, the body still searched. */
	rec(&m, 7, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SUBJECT \"\"", &ctx, 7, &m), 0);
	assert_int_equal(matches("NOT SUBJECT \"\"", &ctx, 7, &m), 1);
	assert_int_equal(w.opened > 0, 1);
}

/* One message is read once per match, however many text keys. */
static void
test_message_read_once(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.files[1] = "imap_body/04_mixed_attachments.eml";
	ctx_init(&ctx, &w);
	rec(&m, 1, 0, 0, 1, 0, 1);
	assert_int_equal(matches("FROM frank TO grace SUBJECT report "
	    "BODY attached TEXT q3 SENTON 4-Dec-2026", &ctx, 1, &m), 1);
	assert_int_equal(w.opened, 1);
}

/* A message written to a temp file for one test; the path in path. */
static void
temp_msg(char *path, size_t size, const char *head, size_t pad,
    const char *tail)
{
	const char	*tmp = getenv("POSTERN_TEST_TMP");
	FILE		*f;
	size_t		 i;
	int		 fd;

	snprintf(path, size, "%s/search-XXXXXX", tmp != NULL ? tmp : "/tmp");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs(head, f);
	/* Folded filler lines of one long field. */
	for (i = 0; i < pad; i++)
		fputs(" filler filler filler filler filler filler\n", f);
	fputs(tail, f);
	assert_int_equal(fclose(f), 0);
}

/*
 * Header keys read the file's start only; a header longer than that
 * start, or a file with no empty line, gives the same answers as the
 * whole message's parse.
 */
static void
test_header_keys_past_the_start(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;
	char			long_hdr[512], no_end[512], lf[512];

	(void)state;
	/* 600 filler lines: about 26 KiB of header before Subject. */
	temp_msg(long_hdr, sizeof(long_hdr), "From: Ann <ann@a.test>\n"
	    "X-Filler: start\n", 600, "Subject: needle in the end\n\n"
	    "body words\n");
	temp_msg(no_end, sizeof(no_end), "From: Bob <bob@b.test>\n", 2,
	    "Subject: headless\n");
	temp_msg(lf, sizeof(lf), "Subject: short\r\n", 0,
	    "\r\nSubject: in the body\r\n");
	memset(&w, 0, sizeof(w));
	w.files[1] = long_hdr;
	w.files[2] = no_end;
	w.files[3] = lf;
	ctx_init(&ctx, &w);
	rec(&m, 1, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SUBJECT needle", &ctx, 1, &m), 1);
	assert_int_equal(matches("FROM ann SUBJECT \"in the end\"", &ctx, 1,
	    &m), 1);
	assert_int_equal(matches("SUBJECT \"body words\"", &ctx, 1, &m), 0);
	assert_int_equal(matches("BODY \"body words\"", &ctx, 1, &m), 1);
	rec(&m, 2, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SUBJECT headless", &ctx, 2, &m), 1);
	assert_int_equal(matches("FROM bob", &ctx, 2, &m), 1);
	rec(&m, 3, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SUBJECT short", &ctx, 3, &m), 1);
	assert_int_equal(matches("SUBJECT \"in the body\"", &ctx, 3, &m), 0);
	assert_int_equal(matches("TEXT \"in the body\"", &ctx, 3, &m), 1);
	unlink(long_hdr);
	unlink(no_end);
	unlink(lf);
}

static void
test_sent_dates(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;

	(void)state;
	memset(&w, 0, sizeof(w));
	/* 09 Dec 2026 23:59:59 -1200: 10 Dec in UTC, 9 Dec in its zone. */
	w.files[1] = "imap_body/20_odd_addresses.eml";
	/* "Date: 14 Dec 2026 08:30 -0800": no weekday, no seconds. */
	w.files[2] = "imap_search/s01_qp_latin1.eml";
	/* "Fri, 1 Jan 99 12:00:00 GMT" */
	w.files[3] = "imap_search/s05_two_digit_year.eml";
	/* No Date: the sent date is 0, as Dovecot has it. */
	w.files[4] = "imap_body/08_no_header.eml";
	ctx_init(&ctx, &w);
	ctx.tz_offset_s = 5 * 3600;	/* the server's zone is not used */
	rec(&m, 1, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SENTON 9-Dec-2026", &ctx, 1, &m), 1);
	assert_int_equal(matches("SENTBEFORE 10-Dec-2026", &ctx, 1, &m), 1);
	assert_int_equal(matches("SENTSINCE 10-Dec-2026", &ctx, 1, &m), 0);
	rec(&m, 2, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SENTON 14-Dec-2026", &ctx, 2, &m), 1);
	rec(&m, 3, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SENTON 1-Jan-1999", &ctx, 3, &m), 1);
	rec(&m, 4, 0, 0, 1, 0, 1);
	assert_int_equal(matches("SENTON 1-Jan-1970", &ctx, 4, &m), 1);
	assert_int_equal(matches("SENTSINCE 2-Jan-1970", &ctx, 4, &m), 0);
}

static const char *abs_file;

static int
abs_open(void *arg, uint32_t uid)
{
	(void)arg;
	(void)uid;
	return open(abs_file, O_RDONLY);
}

static int
match_file(const char *content, const char *program)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;
	char			path[1024];
	FILE			*f;
	int			r;

	snprintf(path, sizeof(path), "%s/search-msg.eml",
	    getenv("POSTERN_TEST_TMP") != NULL ?
	    getenv("POSTERN_TEST_TMP") : "/tmp");
	assert_non_null(f = fopen(path, "w"));
	fputs(content, f);
	fclose(f);
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	abs_file = path;
	ctx.open_msg = abs_open;
	rec(&m, 1, 0, 0, 1, 0, 1);
	r = matches(program, &ctx, 1, &m);
	unlink(path);
	return r;
}

static void
test_date_header_shapes(void **state)
{
	(void)state;
	assert_int_equal(match_file("Date: Tue, 01 Dec 2026 10:00:00 +0100\n"
	    "\nx\n", "SENTON 1-Dec-2026"), 1);
	assert_int_equal(match_file("Date: 1 Dec 2026 23:10 EST\n\nx\n",
	    "SENTON 1-Dec-2026"), 1);
	assert_int_equal(match_file("Date: (c) Tue , 1 (x) Dec 2026 "
	    "10:00:00 -0000 (UTC)\n\nx\n", "SENTON 1-Dec-2026"), 1);
	/* Unusable dates are no date: 1 Jan 1970. */
	assert_int_equal(match_file("Date: Tue, 01 Dec 2026\n\nx\n",
	    "SENTON 1-Jan-1970"), 1);
	assert_int_equal(match_file("Date: 01 Dec 2026 25:00:00 +0000\n\nx\n",
	    "SENTON 1-Jan-1970"), 1);
	assert_int_equal(match_file("Date: 01 Dez 2026 10:00:00 +0000\n\nx\n",
	    "SENTON 1-Jan-1970"), 1);
	assert_int_equal(match_file("Date: ((((\n\nx\n",
	    "SENTON 1-Jan-1970"), 1);
	assert_int_equal(match_file("Date: 1 Dec 49 10:00 +0000\n\nx\n",
	    "SENTON 1-Dec-2049"), 1);
	assert_int_equal(match_file("Date: 1 Dec 50 10:00 +0000\n\nx\n",
	    "SENTON 1-Dec-1950"), 1);
}

/* A body past the converter's piece size, a needle across the seam. */
static void
test_long_body(void **state)
{
	struct buf	b;
	int		i;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "Subject: long\n"
	    "Content-Type: text/plain; charset=utf-8\n\n"), 0);
	for (i = 0; i < 60000; i++)
		assert_int_equal(buf_puts(&b, "\xc3\xa9"), 0);
	assert_int_equal(buf_puts(&b, "NEEDLE\n"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_int_equal(match_file(b.data, "BODY \"\xc3\x89\xc3\x89needle\""),
	    1);
	assert_int_equal(match_file(b.data, "BODY \"\xef\xbf\xbd\""), 0);
	buf_free(&b);
}

/* Hostile message shapes: the search answers, never crashes. */
static void
test_hostile_messages(void **state)
{
	struct buf	b;
	int		i;

	(void)state;
	assert_int_equal(match_file("", "BODY x"), 0);
	assert_int_equal(match_file("", "TEXT \"\""), 1);
	assert_int_equal(match_file("Subject: =?utf-8?b?////?=\n\n",
	    "SUBJECT \"\xef\xbf\xbd\""), 1);
	assert_int_equal(match_file("Content-Transfer-Encoding: base64\n\n"
	    "!!!!====", "BODY \"!\""), 0);
	assert_int_equal(match_file("Content-Transfer-Encoding: "
	    "quoted-printable\n\nab=\n=ZZ=4", "BODY \"ab=zz=4\""), 1);
	assert_int_equal(match_file("Content-Type: text/plain; charset=utf-8\n"
	    "\n\xff\xfe\xc3", "BODY \"\xef\xbf\xbd\xef\xbf\xbd\""), 1);
	buf_init(&b, 0);
	assert_int_equal(buf_puts(&b, "Content-Type: multipart/mixed; "
	    "boundary=b\n\n"), 0);
	for (i = 0; i < 60; i++)
		assert_int_equal(buf_puts(&b, "--b\nContent-Type: multipart/"
		    "mixed; boundary=b\n\n"), 0);
	assert_int_equal(buf_puts(&b, "--b\n\ndeepword\n"), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_int_equal(match_file(b.data, "BODY deepword") >= 0, 1);
	buf_free(&b);
}

/* A file gone under the search does not match; other errors are -1. */
static void
test_gone_and_errors(void **state)
{
	struct imap_search_ctx	ctx;
	struct mailindex_msg	m;
	struct world		w;

	(void)state;
	memset(&w, 0, sizeof(w));
	ctx_init(&ctx, &w);
	rec(&m, 30, 0, 0, 1, 0, 1);
	assert_int_equal(matches("BODY x", &ctx, 1, &m), 0);
	assert_int_equal(matches("NOT BODY x", &ctx, 1, &m), 0);
	assert_int_equal(matches("SEEN", &ctx, 1, &m), 0);
	assert_int_equal(matches("UNSEEN", &ctx, 1, &m), 1);
	w.fail_errno = EACCES;
	assert_int_equal(matches("BODY x", &ctx, 1, &m), -1);
	assert_int_equal(matches("SUBJECT x", &ctx, 1, &m), -1);
	assert_int_equal(matches("OR SEEN SENTON 1-Jan-2000", &ctx, 1, &m),
	    -1);
	/* ... unless no key needs the file. */
	assert_int_equal(matches("OR UNSEEN BODY x", &ctx, 1, &m), 1);
}

/* --- the answer --- */

static void
answer(const char *text, int uid, const uint32_t *v, const uint64_t *ms,
    size_t n, const char *want)
{
	struct imap_search_result	r;
	struct prog			p;
	struct buf			out;
	size_t				i;

	prog_parse(&p, text, uid);
	assert_int_equal(p.rc, 0);
	imap_search_result_init(&r);
	for (i = 0; i < n; i++)
		assert_int_equal(imap_search_result_add(&r, v[i], ms[i]), 0);
	buf_init(&out, 0);
	assert_int_equal(imap_search_result_write(p.s, &r, "A282", &out), 0);
	assert_int_equal(buf_cstr(&out), 0);
	assert_string_equal(out.data, want);
	buf_free(&out);
	imap_search_result_free(&r);
	prog_done(&p);
}

static void
test_answers(void **state)
{
	static const uint32_t	v[] = { 2, 3, 4, 7, 9, 10 };
	static const uint64_t	ms[] = { 5, 90, 7, 8, 6, 11 };
	struct imap_search_result r;

	(void)state;
	answer("ALL", 0, v, ms, 6, "* SEARCH 2 3 4 7 9 10\r\n");
	answer("ALL", 0, v, ms, 0, "* SEARCH\r\n");
	/* RFC 7162 3.1.5: the highest MODSEQ, only with a MODSEQ key. */
	answer("MODSEQ 5", 0, v, ms, 6, "* SEARCH 2 3 4 7 9 10 (MODSEQ 90)\r\n");
	answer("MODSEQ 5", 0, v, ms, 0, "* SEARCH\r\n");
	/* RFC 4731. */
	answer("RETURN (MIN MAX COUNT ALL) ALL", 0, v, ms, 6,
	    "* ESEARCH (TAG \"A282\") MIN 2 MAX 10 COUNT 6 ALL 2:4,7,9:10\r\n");
	answer("RETURN () ALL", 1, v, ms, 6,
	    "* ESEARCH (TAG \"A282\") UID ALL 2:4,7,9:10\r\n");
	answer("RETURN (MIN MAX ALL) ALL", 1, v, ms, 0,
	    "* ESEARCH (TAG \"A282\") UID\r\n");
	answer("RETURN (COUNT) ALL", 0, v, ms, 0,
	    "* ESEARCH (TAG \"A282\") COUNT 0\r\n");
	answer("RETURN (MIN) MODSEQ 1", 0, v, ms, 6,
	    "* ESEARCH (TAG \"A282\") MIN 2 MODSEQ 5\r\n");
	answer("RETURN (MAX MIN) MODSEQ 1", 0, v, ms, 6,
	    "* ESEARCH (TAG \"A282\") MIN 2 MAX 10 MODSEQ 11\r\n");
	answer("RETURN (COUNT) MODSEQ 1", 0, v, ms, 6,
	    "* ESEARCH (TAG \"A282\") COUNT 6 MODSEQ 90\r\n");

	/* Matches go in increasing order. */
	imap_search_result_init(&r);
	assert_int_equal(imap_search_result_add(&r, 5, 1), 0);
	assert_int_equal(imap_search_result_add(&r, 5, 1), -1);
	assert_int_equal(imap_search_result_add(&r, 4, 1), -1);
	imap_search_result_free(&r);
}

static void
test_flags_of_program(void **state)
{
	struct prog p;

	(void)state;
	prog_parse(&p, "SEEN 1:* UID 5 LARGER 3", 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_search_needs_msg(p.s), 0);
	assert_int_equal(imap_search_needs_modseq(p.s), 0);
	assert_int_equal(imap_search_return(p.s), 0);
	prog_done(&p);
	prog_parse(&p, "OR SEEN (NOT MODSEQ 4 SENTON 1-Jan-2000)", 0);
	assert_int_equal(p.rc, 0);
	assert_int_equal(imap_search_needs_msg(p.s), 1);
	assert_int_equal(imap_search_needs_modseq(p.s), 1);
	prog_done(&p);
}

static void
fold_is(const char *in, const char *want)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(imap_search_fold(in, strlen(in), &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, want);
	buf_free(&b);
}

static void
test_fold(void **state)
{
	(void)state;
	fold_is("ABC xyz 123", "abc xyz 123");
	/* Latin-1, Latin Extended-A, Greek (with final sigma), Cyrillic,
	 * Armenian, full-width; ß stays (simple folding), ẞ becomes it. */
	fold_is("\xc3\x80\xc3\x89\xc3\x96\xc3\x9e\xc3\x97\xc3\x9f",
	    "\xc3\xa0\xc3\xa9\xc3\xb6\xc3\xbe\xc3\x97\xc3\x9f");
	fold_is("\xc5\x81\xc5\xbd\xc5\xb8\xc5\x92", "\xc5\x82\xc5\xbe\xc3\xbf"
	    "\xc5\x93");
	fold_is("\xce\xa3\xce\x86\xcf\x82", "\xcf\x83\xce\xac\xcf\x83");
	fold_is("\xd0\x81\xd0\x96\xd0\xaf\xd1\x91", "\xd1\x91\xd0\xb6\xd1\x8f"
	    "\xd1\x91");
	fold_is("\xd4\xb1", "\xd5\xa1");
	fold_is("\xef\xbc\xa1", "\xef\xbd\x81");
	fold_is("\xe1\xba\x9e", "\xc3\x9f");
	fold_is("\xc2\xb5", "\xce\xbc");
	/* Not UTF-8: each bad byte is U+FFFD; a 4-byte character kept. */
	fold_is("a\xff" "b\xc3", "a\xef\xbf\xbd" "b\xef\xbf\xbd");
	fold_is("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80");
	fold_is("\xf0\x90\x90\x80", "\xf0\x90\x90\xa8");
	fold_is("\xe0\x80\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
}

static void
test_charset_decode(void **state)
{
	struct buf	b;

	(void)state;
	buf_init(&b, 0);
	assert_int_equal(mime_charset_decode("ISO-8859-1", "caf\xe9", 4, &b),
	    0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, "caf\xc3\xa9");
	buf_reset(&b);
	assert_int_equal(mime_charset_decode("iso-8859-15", "\xa4", 1, &b),
	    0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, "\xe2\x82\xac");
	buf_reset(&b);
	/* Unknown: read as UTF-8, bad bytes replaced. */
	assert_int_equal(mime_charset_decode("x-unknown", "\xc3\xa9\xff", 3,
	    &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, "\xc3\xa9\xef\xbf\xbd");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_programs),
		cmocka_unit_test(test_badcharset),
		cmocka_unit_test(test_hostile_sizes),
		cmocka_unit_test(test_index_keys_read_no_file),
		cmocka_unit_test(test_internaldate_zone),
		cmocka_unit_test(test_internaldate_local_zone),
		cmocka_unit_test(test_recent_new_old),
		cmocka_unit_test(test_star_follows_mailbox),
		cmocka_unit_test(test_text_keys),
		cmocka_unit_test(test_message_read_once),
		cmocka_unit_test(test_header_keys_past_the_start),
		cmocka_unit_test(test_sent_dates),
		cmocka_unit_test(test_date_header_shapes),
		cmocka_unit_test(test_long_body),
		cmocka_unit_test(test_hostile_messages),
		cmocka_unit_test(test_gone_and_errors),
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_flags_of_program),
		cmocka_unit_test(test_fold),
		cmocka_unit_test(test_charset_decode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
