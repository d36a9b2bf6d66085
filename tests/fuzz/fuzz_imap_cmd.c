/*
 * fuzz_imap_cmd.c - fuzz target: what an IMAP client sends, end to end
 * through imapd's input side: the command reader (imapd/imap_reader.c,
 * with netio_read) over an in-memory transport, the tokenizer
 * (imap_parse.c) and every typed reader (imap_args.c: numbers, astrings,
 * mailboxes, flags, dates, FETCH attributes with their sections), with
 * small limits so that refusals are reached. The first input byte picks
 * the literal mode (LITERAL+, LITERAL-, none).
 *
 * Beyond "no crash": strings carry no NUL and have the length said; a
 * list's n is its count of elements; section field names are non-empty
 * and inside the command; a string written back by imap_write_string
 * (quoted or literal) reads and parses back to the same bytes; a LIST
 * pattern matches itself when it has no wildcard, "*" matches anything.
 */
#include <errno.h>
#include <string.h>

#include "fuzz.h"
#include "buf.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_write.h"
#include "netio.h"

#include "fuzz_memio.h"

/* Reads and parses one command from wire: 0, or -1 if either failed. */
static int
reparse(const char *wire, size_t len, struct imap_cmd *cmd,
    struct imap_request *req)
{
	struct imap_limits	lim;
	struct imap_reader	rd;
	struct netio		io;
	struct fuzz_mem		m;
	int			rc = -1;

	fuzz_memio(&io, &m, wire, len, 1);
	imap_limits_default(&lim);
	lim.timeout = 10;
	if (imap_reader_init(&rd, &io, &lim, NULL, NULL) == -1)
		return -1;
	if (imap_read_command(&rd, cmd) == IMAP_RD_OK)
		rc = imap_parse(req, cmd);
	imap_reader_free(&rd);
	netio_free(&io);
	return rc;
}

static void
check_roundtrip(const char *s, size_t len)
{
	struct imap_request	req;
	struct imap_cmd		cmd;
	struct buf		b;

	buf_init(&b, 0);
	FUZZ_CHECK(buf_puts(&b, "T X ") == 0);
	FUZZ_CHECK(imap_write_string(&b, s, len) == 0);
	FUZZ_CHECK(buf_puts(&b, "\r\n") == 0);
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	FUZZ_CHECK(reparse(b.data, b.len, &cmd, &req) == 0);
	FUZZ_CHECK(req.nargs == 1);
	FUZZ_CHECK(req.args->len == len && memcmp(req.args->s, s, len) == 0);
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	buf_free(&b);
}

static int
in_cmd(const char *p, const struct imap_request *req,
    const struct imap_cmd *cmd)
{
	return (p >= req->str && p < req->str + req->nstr) ||
	    (p >= cmd->buf && p < cmd->buf + cmd->len);
}

static void
check_args(const struct imap_arg *a, size_t n, const struct imap_request *req,
    const struct imap_cmd *cmd, int depth)
{
	struct imap_fetch_att	att[IMAP_FETCH_MAX];
	struct imap_flags	f;
	const struct imap_arg	*e;
	const char		*s;
	size_t			 i, k, len, cnt;
	uint32_t		 u;
	uint64_t		 m;
	time_t			 t;
	int			 zone;

	FUZZ_CHECK(depth <= IMAP_PARSE_DEPTH);
	for (i = 0; i < n; i++, a = a->next) {
		FUZZ_CHECK(a != NULL);
		if (a->type == IMAP_ARG_LIST) {
			for (cnt = 0, e = a->list; e != NULL; e = e->next)
				cnt++;
			FUZZ_CHECK(cnt == a->n);
			check_args(a->list, a->n, req, cmd, depth + 1);
			(void)imap_flaglist_parse(a, &f);
			(void)imap_fetch_parse(a, att, IMAP_FETCH_MAX, &k);
			continue;
		}
		FUZZ_CHECK(strlen(a->s) == a->len);
		FUZZ_CHECK(in_cmd(a->s, req, cmd) || a->len == 0);
		if (imap_fetch_parse(a, att, IMAP_FETCH_MAX, &k) == 0) {
			FUZZ_CHECK(k >= 1 && k <= 5);
			if (att[0].item == IMAP_FETCH_SECTION) {
				FUZZ_CHECK(att[0].sec.nparts <=
				    IMAP_SECTION_DEPTH);
				for (k = 0; k < att[0].sec.nfields; k++) {
					FUZZ_CHECK(att[0].sec.field_len[k] > 0);
					FUZZ_CHECK(in_cmd(att[0].sec.field[k],
					    req, cmd));
				}
				FUZZ_CHECK(!att[0].sec.partial ||
				    att[0].sec.count > 0);
			}
		}
		(void)imap_arg_number(a, &u);
		(void)imap_arg_modseq(a, &m, 1);
		(void)imap_arg_date(a, &t);
		(void)imap_arg_datetime(a, &t, &zone);
		(void)imap_flags_parse(a, 1, &f);
		if (imap_arg_mailbox(a, &s, &len) == 0)
			FUZZ_CHECK(len == a->len);
		if (imap_arg_seqset(a, &s, &len) == 0)
			FUZZ_CHECK(a->type == IMAP_ARG_ATOM);
		if (imap_arg_list_mailbox(a, &s, &len) == 0 &&
		    len <= IMAP_PATTERN_MAX) {
			FUZZ_CHECK(imap_list_match("*", s, '.') == 1);
			if (strpbrk(s, "%*") == NULL)
				FUZZ_CHECK(imap_list_match(s, s, '/') == 1);
		}
		if (a->type != IMAP_ARG_ATOM || a->len < 256)
			check_roundtrip(a->s, a->len);
	}
	FUZZ_CHECK(a == NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_limits	lim;
	struct imap_reader	rd;
	struct imap_request	req;
	struct imap_cmd		cmd;
	struct netio		io;
	struct fuzz_mem		m;
	enum imap_rd_status	st;
	int			rounds = 0;

	if (size < 1 || size > 64 * 1024)
		return 0;
	fuzz_memio(&io, &m, data + 1, size - 1, 1);
	imap_limits_default(&lim);
	lim.line_max = 1024;
	lim.literal_max = 2048;
	lim.command_max = 8192;
	lim.literals_max = 8;
	lim.discard_max = 4096;
	lim.nonsync_max = data[0] % 3 == 0 ? SIZE_MAX :
	    data[0] % 3 == 1 ? IMAP_LITERAL_MINUS_MAX : 0;
	lim.timeout = 10;
	FUZZ_CHECK(imap_reader_init(&rd, &io, &lim, NULL, NULL) == 0);
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	while (rounds++ < 1000) {
		st = imap_read_command(&rd, &cmd);
		if (st == IMAP_RD_REJECT) {
			FUZZ_CHECK(rd.resp[0] != '\0');
			continue;
		}
		if (st != IMAP_RD_OK)
			break;
		FUZZ_CHECK(cmd.len <= lim.command_max);
		FUZZ_CHECK(cmd.nlit <= lim.literals_max);
		FUZZ_CHECK(cmd.buf[cmd.len] == '\0');
		if (imap_parse(&req, &cmd) == -1) {
			FUZZ_CHECK(req.err[0] != '\0');
			continue;
		}
		FUZZ_CHECK(req.tag != NULL && req.name[0] != '\0');
		check_args(req.args, req.nargs, &req, &cmd, 0);
	}
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	imap_reader_free(&rd);
	netio_free(&io);
	return 0;
}
