/*
 * fuzz_imap_search.c - fuzz target: a SEARCH program as a client sends
 * it, through the command reader and the tokenizer into imapd's program
 * parser (imapd/imap_search.c), then matched (imap_search_match.c,
 * imap_search_text.c, imap_search_date.c) against a message made of the
 * rest of the input, and the answer written.
 *
 * Input: "<mode byte><program bytes>\0<message bytes>"; the program
 * follows "T SEARCH " (or "T UID SEARCH " when the mode byte is odd) on
 * the wire, so literals and every tokenizer path reach the parser; the
 * mode byte also picks the server's zone.
 *
 * Beyond "no crash": a program either parses or says why (BAD or NO
 * [BADCHARSET] with a text); a parsed one answers 0 or 1 for each of a
 * few records, never -1 (the message is always there); NOT of a program
 * answers the opposite; the answer line is one CRLF-terminated line.
 */
#include <sys/mman.h>

#include <errno.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fuzz.h"
#include "buf.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_search.h"
#include "keywords.h"
#include "netio.h"

#include "fuzz_memio.h"

static const uint8_t	*msg_data;
static size_t		 msg_len;

static int
f_open(void *arg, uint32_t uid)
{
	int fd;

	(void)arg;
	(void)uid;
	if ((fd = memfd_create("msg", 0)) == -1)
		return -1;
	if (msg_len > 0 && write(fd, msg_data, msg_len) != (ssize_t)msg_len) {
		close(fd);
		return -1;
	}
	if (lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
f_keyword(void *arg, const char *name)
{
	(void)arg;
	return strcasecmp(name, "work") == 0 ? 1 : -1;
}

static int
f_recent(void *arg, uint32_t uid)
{
	(void)arg;
	return uid % 2;
}

/* Reads and tokenizes one command; 0 with req filled, or -1. */
static int
read_cmd(const char *wire, size_t len, struct imap_cmd *cmd,
    struct imap_request *req)
{
	struct imap_limits	lim;
	struct imap_reader	rd;
	struct netio		io;
	struct fuzz_mem		m;
	int			rc = -1;

	fuzz_memio(&io, &m, wire, len, 0);
	imap_limits_default(&lim);
	lim.timeout = 10;
	if (imap_reader_init(&rd, &io, &lim, NULL, NULL) == -1)
		return -1;
	if (imap_read_command(&rd, cmd) == IMAP_RD_OK &&
	    imap_parse(req, cmd) == 0)
		rc = 0;
	imap_reader_free(&rd);
	netio_free(&io);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_search_result	 res;
	struct imap_search_ctx		 ctx;
	struct imap_request		 req, nreq;
	struct imap_cmd			 cmd, ncmd;
	struct imap_search		*s, *ns;
	struct mailindex_msg		 m;
	const uint8_t			*nul, *prog;
	struct buf			 wire, out;
	char				 err[128];
	size_t				 plen;
	uint32_t			 i;
	int				 uid, rc, r, nr;

	if (size < 2 || size > 64 * 1024)
		return 0;
	uid = data[0] & 1;
	prog = data + 1;
	nul = memchr(prog, '\0', size - 1);
	plen = nul != NULL ? (size_t)(nul - prog) : size - 1;
	msg_data = nul != NULL ? nul + 1 : data + size;
	msg_len = nul != NULL ? size - 1 - plen - 1 : 0;

	buf_init(&wire, 0);
	FUZZ_CHECK(buf_puts(&wire, uid ? "T UID SEARCH " : "T SEARCH ") == 0);
	FUZZ_CHECK(buf_append(&wire, prog, plen) == 0);
	FUZZ_CHECK(buf_puts(&wire, "\r\n") == 0);
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	if (read_cmd(wire.data, wire.len, &cmd, &req) == -1)
		goto out;
	err[0] = '\0';
	rc = imap_search_parse(req.args, uid, &s, err, sizeof(err));
	if (rc != 0) {
		FUZZ_CHECK(rc == -1 || rc == -2);
		FUZZ_CHECK(s == NULL && err[0] != '\0');
		goto out;
	}
	FUZZ_CHECK(s != NULL);

	/*
	 * The same program under NOT ( ... ), when it has no RETURN or
	 * CHARSET in front (those cannot go inside a group) and is one line
	 * (a line end or literal could make the wrapped bytes another
	 * command).
	 */
	ns = NULL;
	imap_cmd_init(&ncmd);
	imap_request_init(&nreq);
	if (imap_search_return(s) == 0 && req.args != NULL &&
	    !imap_arg_is(req.args, "CHARSET") &&
	    memchr(prog, '\r', plen) == NULL &&
	    memchr(prog, '\n', plen) == NULL &&
	    memchr(prog, '{', plen) == NULL) {
		buf_reset(&wire);
		FUZZ_CHECK(buf_puts(&wire, "T SEARCH NOT (") == 0);
		FUZZ_CHECK(buf_append(&wire, prog, plen) == 0);
		FUZZ_CHECK(buf_puts(&wire, ")\r\n") == 0);
		if (read_cmd(wire.data, wire.len, &ncmd, &nreq) == 0 &&
		    imap_search_parse(nreq.args, uid, &ns, err,
		    sizeof(err)) != 0)
			ns = NULL;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.nmsgs = 5;
	ctx.maxuid = 9;
	ctx.keyword = f_keyword;
	ctx.open_msg = f_open;
	ctx.recent = f_recent;
	ctx.now = 1796083200;
	ctx.tz_offset_s = (long)(data[0] % 5) * 3600 - 7200;
	imap_search_result_init(&res);
	for (i = 1; i <= 5; i++) {
		memset(&m, 0, sizeof(m));
		m.uid = i * 2 - 1;
		m.modseq = 10 - i;
		m.size = msg_len + i * 100;
		m.idate = 1796083200 - (time_t)i * 40000;
		m.flags.sys = i * 0x1111;
		m.flags.kw = i;
		r = imap_search_match(s, &ctx, i, &m);
		FUZZ_CHECK(r == 0 || r == 1);
		if (ns != NULL) {
			nr = imap_search_match(ns, &ctx, i, &m);
			FUZZ_CHECK(nr == !r);
		}
		if (r == 1)
			FUZZ_CHECK(imap_search_result_add(&res,
			    uid ? m.uid : i, m.modseq) == 0);
	}
	buf_init(&out, 0);
	FUZZ_CHECK(imap_search_result_write(s, &res, "T", &out) == 0);
	FUZZ_CHECK(out.len >= 2 && memcmp(out.data + out.len - 2, "\r\n",
	    2) == 0);
	FUZZ_CHECK(memchr(out.data, '\n', out.len) == out.data + out.len - 1);
	buf_free(&out);
	imap_search_result_free(&res);
	imap_search_free(ns);
	imap_search_free(s);
	imap_request_free(&nreq);
	imap_cmd_free(&ncmd);
out:
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	buf_free(&wire);
	return 0;
}
