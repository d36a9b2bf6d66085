/*
 * fuzz_imap_folder.c - fuzz target: the folder commands (imapd's
 * imap_cmd_folder.c and imap_folder*.c) on a real Maildir in a scratch
 * directory, with a subscriptions file the input writes. The first byte
 * says how many of the following bytes (times 4) are the subscriptions
 * file; the rest are IMAP commands, read and parsed as imapd reads them
 * and given to imap_folder_command (CREATE, DELETE, RENAME, LIST, ...).
 *
 * Beyond "no crash": nothing is ever made outside the Maildir (the
 * scratch directory holds "Maildir" alone) and every directory the
 * Maildir holds is INBOX's own, a folder whose name mailbox_name_ok
 * takes, or one of ours; untagged output is whole "* " lines; a reply
 * other than OK says why.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "buf.h"
#include "fsutil.h"
#include "imap_folder.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "mailbox_name.h"
#include "netio.h"

#include "fuzz_memio.h"

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static char	scratch[PATH_MAX];

/* The scratch directory goes with the process. */
static void
cleanup(void)
{
	if (chdir("/") == 0)
		(void)nftw(scratch, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char		*dir = scratch;
	const char	*tmp = getenv("TMPDIR");

	(void)argc;
	(void)argv;
	snprintf(dir, sizeof(scratch), "%s/fuzz_imap_folder.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	FUZZ_CHECK(chdir(dir) == 0);
	atexit(cleanup);
	return 0;
}

static void
fresh_maildir(void)
{
	static const char *const dirs[] = {
		"Maildir", "Maildir/cur", "Maildir/new", "Maildir/tmp",
		"Maildir/.a.b", "Maildir/.a.b/cur", "Maildir/.Sent",
		"Maildir/.Sent/cur",
	};
	size_t i;

	(void)nftw("Maildir", rm_one, 16, FTW_DEPTH | FTW_PHYS);
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		FUZZ_CHECK(mkdir(dirs[i], 0700) == 0);
}

/* Only Maildir beside us; only folders we could have made inside it. */
static void
check_tree(void)
{
	DIR		*d;
	struct dirent	*de;
	char		 name[MAILBOX_NAME_MAX + 1];

	FUZZ_CHECK((d = opendir(".")) != NULL);
	while ((de = readdir(d)) != NULL)
		FUZZ_CHECK(strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0 ||
		    strcmp(de->d_name, "Maildir") == 0);
	closedir(d);
	FUZZ_CHECK((d = opendir("Maildir")) != NULL);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		FUZZ_CHECK(mailbox_dir_to_name(de->d_name, name,
		    sizeof(name)) == 0);
	}
	closedir(d);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_folder_ctx	ctx;
	struct imap_reply	r;
	struct imap_limits	lim;
	struct imap_reader	rd;
	struct imap_request	req;
	struct imap_cmd		cmd;
	struct netio		io;
	struct fuzz_mem		m;
	struct buf		out;
	size_t			subs;
	int			rounds = 0;

	if (size < 1 || size > 16 * 1024)
		return 0;
	fresh_maildir();
	subs = (size_t)data[0] * 4;
	if (subs > size - 1)
		subs = size - 1;
	if (subs > 0)
		FUZZ_CHECK(fs_atomic_write("Maildir/subscriptions", data + 1,
		    subs, 0600) == 0);
	fuzz_memio(&io, &m, data + 1 + subs, size - 1 - subs, 0);
	imap_limits_default(&lim);
	lim.line_max = 1024;
	lim.literal_max = 1024;
	lim.command_max = 4096;
	lim.nonsync_max = SIZE_MAX;
	FUZZ_CHECK(imap_reader_init(&rd, &io, &lim, NULL, NULL) == 0);
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	buf_init(&out, 1024 * 1024);
	memset(&ctx, 0, sizeof(ctx));
	ctx.selected = "a.b";
	while (rounds++ < 64) {
		enum imap_rd_status st = imap_read_command(&rd, &cmd);

		if (st == IMAP_RD_REJECT)
			continue;
		if (st != IMAP_RD_OK)
			break;
		if (imap_parse(&req, &cmd) == -1)
			continue;
		buf_reset(&out);
		imap_folder_command(&ctx, &req, &out, &r);
		FUZZ_CHECK(r.code == IMAP_RES_OK || r.text[0] != '\0');
		if (out.len > 0) {
			FUZZ_CHECK(out.len >= 4 && memcmp(out.data, "* ", 2) ==
			    0);
			FUZZ_CHECK(memcmp(out.data + out.len - 2, "\r\n", 2) ==
			    0);
		}
		check_tree();
	}
	buf_free(&out);
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	imap_reader_free(&rd);
	netio_free(&io);
	return 0;
}
