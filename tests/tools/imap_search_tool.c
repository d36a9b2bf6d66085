/*
 * imap_search_tool.c - runs imapd's imap_search over a Maildir folder,
 * for test_dovecot_imap_search.py to compare with what Dovecot answers
 * for the same folder. Test code, not installed.
 *
 *   imap-search-tool DIR [UID] PROGRAM
 *
 * The messages are DIR/cur's files sorted by name, UIDs 1..n in that
 * order (the test writes the same dovecot-uidlist for Dovecot); flags
 * and keywords from the file names and DIR/dovecot-keywords, INTERNALDATE
 * the file's mtime, RFC822.SIZE its CRLF size, MODSEQ its UID. PROGRAM is
 * what follows "SEARCH " in a command (literals not needed: quoted
 * strings carry UTF-8). Prints the untagged answer, or "BAD text" / "NO
 * text" when the program is refused.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "imap_body.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_search.h"
#include "keywords.h"
#include "netio.h"

#define MAXFILES	10000

static char		*names[MAXFILES];
static size_t		 nnames;
static int		 curfd;
static struct keywords	 kws;

static int
cmp_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
kw_letter(void *arg, const char *name)
{
	(void)arg;
	return keywords_find(&kws, name);
}

static int
open_msg(void *arg, uint32_t uid)
{
	(void)arg;
	if (uid == 0 || uid > nnames) {
		errno = ENOENT;
		return -1;
	}
	return openat(curfd, names[uid - 1], O_RDONLY);
}

static void
fail(const char *what)
{
	perror(what);
	exit(1);
}

int
main(int argc, char **argv)
{
	struct imap_search_result	 res;
	struct imap_search_ctx		 ctx;
	struct imap_limits		 lim;
	struct imap_reader		 rd;
	struct imap_request		 req;
	struct imap_search		*s;
	struct mailindex_msg		 m;
	struct imap_cmd			 cmd;
	struct netio			 io;
	struct buf			 wire, out;
	struct dirent			*de;
	struct stat			 st;
	struct tm			 tm;
	char				 path[4096], err[256], *data;
	DIR				*dir;
	size_t				 i;
	ssize_t				 r;
	int				 sv[2], fd, dirfd, uid = 0, rc;

	if (argc == 4 && strcmp(argv[2], "UID") == 0)
		uid = 1;
	else if (argc != 3) {
		fprintf(stderr, "usage: imap-search-tool DIR [UID] PROGRAM\n");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/cur", argv[1]);
	if ((dir = opendir(path)) == NULL || (curfd = open(path,
	    O_RDONLY | O_DIRECTORY)) == -1)
		fail(path);
	while ((de = readdir(dir)) != NULL && nnames < MAXFILES)
		if (de->d_name[0] != '.' &&
		    (names[nnames++] = strdup(de->d_name)) == NULL)
			fail("strdup");
	closedir(dir);
	qsort(names, nnames, sizeof(names[0]), cmp_name);
	keywords_init(&kws);
	if ((dirfd = open(argv[1], O_RDONLY | O_DIRECTORY)) == -1 ||
	    keywords_read(dirfd, &kws, err, sizeof(err)) == -1)
		fail("dovecot-keywords");

	/* The program through the real reader and tokenizer. */
	buf_init(&wire, 0);
	if (buf_printf(&wire, "T SEARCH %s\r\n", argv[argc - 1]) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		fail("setup");
	if (write(sv[1], wire.data, wire.len) != (ssize_t)wire.len)
		fail("write");
	close(sv[1]);
	netio_init(&io, sv[0], 5);
	imap_limits_default(&lim);
	if (imap_reader_init(&rd, &io, &lim, NULL, NULL) == -1)
		fail("reader");
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	buf_init(&out, 0);
	imap_search_result_init(&res);
	s = NULL;
	if (imap_read_command(&rd, &cmd) != IMAP_RD_OK) {
		printf("BAD %s\n", rd.resp);
		goto done;
	}
	if (imap_parse(&req, &cmd) == -1) {
		printf("BAD %s\n", req.err);
		goto done;
	}
	rc = imap_search_parse(req.args, uid, &s, err, sizeof(err));
	if (rc < 0) {
		printf("%s %s\n", rc == -2 ? "NO" : "BAD", err);
		goto done;
	}

	memset(&ctx, 0, sizeof(ctx));
	ctx.nmsgs = (uint32_t)nnames;
	ctx.maxuid = (uint32_t)nnames;
	ctx.keyword = kw_letter;
	ctx.open_msg = open_msg;
	ctx.now = time(NULL);
	localtime_r(&ctx.now, &tm);
	ctx.tz_offset_s = tm.tm_gmtoff;
	for (i = 0; i < nnames; i++) {
		memset(&m, 0, sizeof(m));
		m.uid = (uint32_t)i + 1;
		m.modseq = m.uid;
		if ((fd = openat(curfd, names[i], O_RDONLY)) == -1 ||
		    fstat(fd, &st) == -1 ||
		    (data = malloc((size_t)st.st_size + 1)) == NULL)
			fail(names[i]);
		if ((r = read(fd, data, (size_t)st.st_size)) != st.st_size)
			fail(names[i]);
		close(fd);
		m.size = imap_crlf_size(data, (size_t)r);
		free(data);
		m.idate = st.st_mtime;
		if (keywords_flags_parse(names[i], &m.flags) == -1)
			fail(names[i]);
		if ((rc = imap_search_match(s, &ctx, m.uid, &m)) == -1)
			fail("imap_search_match");
		if (rc == 1 && imap_search_result_add(&res, m.uid,
		    m.modseq) == -1)
			fail("result");
	}
	if (imap_search_result_write(s, &res, "T", &out) == -1)
		fail("write");
	fwrite(out.data, 1, out.len, stdout);
done:
	/* Freed on every path, so a sanitizer build sees no leak. */
	imap_search_result_free(&res);
	imap_search_free(s);
	buf_free(&out);
	buf_free(&wire);
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	imap_reader_free(&rd);
	netio_free(&io);
	keywords_clear(&kws);
	for (i = 0; i < nnames; i++)
		free(names[i]);
	return 0;
}
