/*
 * imap_folder_tool.c - a pre-authenticated IMAP session that knows only
 * the folder commands, run over stdin/stdout through imapd's reader,
 * parser and imap_cmd_folder, in the directory given (which holds
 * "Maildir"), as the caller. test_dovecot_folders.py drives it with
 * imaplib.IMAP4_stream, exactly as it drives Dovecot's imap binary, and
 * compares the two. Test code, not installed.
 *
 *   imap-folder-tool [-d] DIR
 *
 * -d makes the default folders first (imap_folder_defaults), as a login
 * does. Commands: CAPABILITY, NOOP, LOGOUT, SELECT (only to say which
 * folder a DELETE may hit) and what imap_folder_command takes. LIST
 * RETURN (STATUS (MESSAGES)) counts the files in cur/ and new/.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "imap_folder.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_write.h"
#include "netio.h"

#define CAPS	"IMAP4rev1 LIST-EXTENDED LIST-STATUS CHILDREN " \
		"SPECIAL-USE NAMESPACE"

static void
out(struct buf *b)
{
	if (fs_write_all(1, b->data, b->len) == -1)
		exit(1);
	buf_reset(b);
}

static long
count(const char *path, const char *sub)
{
	char		 p[IMAP_FOLDER_PATH_MAX + 8];
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	snprintf(p, sizeof(p), "%s/%s", path, sub);
	if ((d = opendir(p)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int
status(void *arg, const char *name, const struct imap_arg *items,
    struct buf *b)
{
	char			 path[IMAP_FOLDER_PATH_MAX];
	const struct imap_arg	*a;

	(void)arg;
	if (imap_folder_path(name, path, sizeof(path)) == -1)
		return -1;
	for (a = items->list; a != NULL; a = a->next)
		if (!imap_arg_is(a, "MESSAGES"))
			return -1;
	if (buf_puts(b, "* STATUS ") == -1 ||
	    imap_write_astring(b, name, strlen(name)) == -1 ||
	    buf_printf(b, " (MESSAGES %ld)\r\n", count(path, "cur") +
	    count(path, "new")) == -1)
		return -1;
	return 0;
}

/* stdin is a pipe (imaplib's IMAP4_stream): netio's recv wants a socket. */
static ssize_t
pipe_read(struct netio *io, void *p, size_t n)
{
	return read(io->fd, p, n);
}

/* The continuation goes to stdout: stdin is only read. */
static int
cont(struct netio *io, size_t n, void *arg)
{
	(void)io;
	(void)n;
	(void)arg;
	return fs_write_all(1, "+ OK\r\n", 6);
}

int
main(int argc, char **argv)
{
	struct netio		io;
	struct imap_reader	rd;
	struct imap_limits	lim;
	struct imap_cmd		cmd;
	struct imap_request	req;
	struct imap_folder_ctx	ctx;
	struct imap_reply	r;
	struct buf		b;
	char			selected[MAILBOX_NAME_MAX + 1] = "";
	int			defaults = 0;

	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		defaults = 1;
		argc--;
		argv++;
	}
	if (argc != 2 || chdir(argv[1]) == -1) {
		fprintf(stderr, "usage: imap-folder-tool [-d] DIR\n");
		return 2;
	}
	if (defaults && imap_folder_defaults() == -1)
		fprintf(stderr, "imap-folder-tool: default folders failed\n");
	netio_init(&io, 0, 60);
	io.read = pipe_read;
	imap_limits_default(&lim);
	lim.nonsync_max = 0;
	if (imap_reader_init(&rd, &io, &lim, cont, NULL) == -1)
		return 1;
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	buf_init(&b, 0);
	memset(&ctx, 0, sizeof(ctx));
	ctx.status = status;
	buf_puts(&b, "* PREAUTH [CAPABILITY " CAPS "] Logged in\r\n");
	out(&b);
	for (;;) {
		enum imap_rd_status st = imap_read_command(&rd, &cmd);

		if (st == IMAP_RD_REJECT) {
			buf_printf(&b, "%s %s\r\n", rd.tag, rd.resp);
			out(&b);
			continue;
		}
		if (st != IMAP_RD_OK)
			break;
		if (imap_parse(&req, &cmd) == -1) {
			buf_printf(&b, "%s BAD %s\r\n",
			    req.tag != NULL ? req.tag : "*", req.err);
			out(&b);
			continue;
		}
		r.code = IMAP_RES_OK;
		snprintf(r.text, sizeof(r.text), "%s completed.", req.name);
		if (strcmp(req.name, "CAPABILITY") == 0)
			buf_puts(&b, "* CAPABILITY " CAPS "\r\n");
		else if (strcmp(req.name, "LOGOUT") == 0) {
			buf_printf(&b, "* BYE Logging out\r\n%s OK %s\r\n",
			    req.tag, r.text);
			out(&b);
			break;
		} else if (strcmp(req.name, "SELECT") == 0) {
			const char	*s;
			size_t		 len;

			if (imap_arg_mailbox(imap_req_arg(&req, 0), &s,
			    &len) == -1 || len >= sizeof(selected))
				r.code = IMAP_RES_BAD;
			else
				memcpy(selected, s, len + 1);
		} else if (strcmp(req.name, "NOOP") != 0) {
			ctx.selected = selected[0] != '\0' ? selected : NULL;
			ctx.deleted_selected = 0;
			imap_folder_command(&ctx, &req, &b, &r);
			if (ctx.deleted_selected) {
				selected[0] = '\0';
				buf_puts(&b, "* OK [CLOSED] Selected folder "
				    "deleted\r\n");
			}
		}
		buf_printf(&b, "%s %s %s\r\n", req.tag, r.code ==
		    IMAP_RES_OK ? "OK" : r.code == IMAP_RES_NO ? "NO" : "BAD",
		    r.text);
		out(&b);
	}
	buf_free(&b);
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	imap_reader_free(&rd);
	netio_free(&io);
	return 0;
}
