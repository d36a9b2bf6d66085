/*
 * test_imap_folder.c - the user's folder tree (imapd/imap_folder*.c) and
 * its commands (imap_cmd_folder.c), on a Maildir in a temp directory
 * (the working directory, as the chrooted mail process has it): names
 * to paths and the names that must never become one, CREATE's layout,
 * nested folders and the parents LIST shows \Noselect, LIST patterns
 * with % and *, LIST-EXTENDED selection and RETURN options (STATUS
 * through the caller's callback), LSUB's parents, DELETE as Dovecot does
 * it, RENAME with children and subscriptions, RENAME INBOX, the
 * subscriptions file in Dovecot's format, the default folders, and the
 * index records a DELETE or RENAME drops (mailindex_folder_forget).
 * Every command goes through imap_reader and imap_parse, as a client's.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "fsutil.h"
#include "imap_folder.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "imap_write.h"
#include "mailindex.h"

static char	root[PATH_MAX];
static char	home[PATH_MAX];

/* The answer to one command. */
struct ans {
	struct buf		out;	/* untagged lines, NUL-terminated */
	struct imap_reply	r;
};

static struct imap_folder_ctx ctx;

static int
no_cont(struct netio *io, size_t n, void *arg)
{
	(void)io;
	(void)n;
	(void)arg;
	return 0;
}

/* Runs "t <line>\r\n" through the reader, the parser and the command. */
static void
run(struct ans *a, const char *line)
{
	struct netio		io;
	struct imap_reader	rd;
	struct imap_limits	lim;
	struct imap_cmd		cmd;
	struct imap_request	req;
	char			wire[2048];
	int			sv[2], n;

	n = snprintf(wire, sizeof(wire), "t %s\r\n", line);
	assert_true(n > 0 && (size_t)n < sizeof(wire));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], wire, (size_t)n), n);
	close(sv[1]);
	netio_init(&io, sv[0], 2);
	imap_limits_default(&lim);
	lim.timeout = 2;
	assert_int_equal(imap_reader_init(&rd, &io, &lim, no_cont, NULL), 0);
	imap_cmd_init(&cmd);
	imap_request_init(&req);
	assert_int_equal(imap_read_command(&rd, &cmd), IMAP_RD_OK);
	assert_int_equal(imap_parse(&req, &cmd), 0);
	buf_init(&a->out, 0);
	imap_folder_command(&ctx, &req, &a->out, &a->r);
	assert_int_equal(buf_cstr(&a->out), 0);
	imap_request_free(&req);
	imap_cmd_free(&cmd);
	imap_reader_free(&rd);
	close(io.fd);
	netio_free(&io);
}

static void
done(struct ans *a)
{
	buf_free(&a->out);
}

/* The command's tagged reply is code and starts with text. */
static void
expect(const char *line, enum imap_status_code code, const char *text)
{
	struct ans a;

	run(&a, line);
	if (a.r.code != code || strncmp(a.r.text, text, strlen(text)) != 0)
		fail_msg("%s: got %d \"%s\", want %d \"%s\"", line, a.r.code,
		    a.r.text, code, text);
	done(&a);
}

/* The untagged lines of an OK command, exactly. */
static void
expect_out(const char *line, const char *want)
{
	struct ans a;

	run(&a, line);
	if (a.r.code != IMAP_RES_OK)
		fail_msg("%s: %s", line, a.r.text);
	if (strcmp(a.out.data, want) != 0)
		fail_msg("%s:\n got:\n%s want:\n%s", line, a.out.data, want);
	done(&a);
}

static void
mkmaildir(const char *path)
{
	char p[PATH_MAX];

	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(p, sizeof(p), "%s/cur", path);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/new", path);
	assert_int_equal(mkdir(p, 0700), 0);
	snprintf(p, sizeof(p), "%s/tmp", path);
	assert_int_equal(mkdir(p, 0700), 0);
}

static void
put(const char *path, const char *data)
{
	assert_int_equal(fs_atomic_write(path, data, strlen(data), 0600), 0);
}

static char *
slurp(const char *path)
{
	char	*d;
	size_t	 len;

	if (fs_read_file(path, 1 << 20, &d, &len) == -1)
		return NULL;
	return d;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Entries of Maildir/ that are folders or ours, sorted, space-separated. */
static void
maildir_entries(char *out, size_t sz)
{
	struct dirent	**v;
	int		  n, i;

	out[0] = '\0';
	n = scandir("Maildir", &v, NULL, alphasort);
	assert_true(n >= 0);
	for (i = 0; i < n; i++) {
		if (v[i]->d_name[0] == '.' && strcmp(v[i]->d_name, ".") != 0 &&
		    strcmp(v[i]->d_name, "..") != 0) {
			if (out[0] != '\0')
				strlcat(out, " ", sz);
			strlcat(out, v[i]->d_name, sz);
		}
		free(v[i]);
	}
	free(v);
}

static int
setup(void **state)
{
	const char *tmp = getenv("POSTERN_TEST_TMP");

	(void)state;
	snprintf(root, sizeof(root), "%s/imapfolder.XXXXXX",
	    tmp ? tmp : "/tmp");
	if (mkdtemp(root) == NULL)
		return -1;
	if (getcwd(home, sizeof(home)) == NULL || chdir(root) == -1)
		return -1;
	mkmaildir("Maildir");
	memset(&ctx, 0, sizeof(ctx));
	return 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	(void)state;
	if (chdir(home) == -1)
		return -1;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

/* --- names and paths --- */

static void
test_path_of_names(void **state)
{
	char	p[IMAP_FOLDER_PATH_MAX];

	(void)state;
	assert_int_equal(imap_folder_path("INBOX", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir");
	assert_int_equal(imap_folder_path("iNbOx", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir");
	assert_int_equal(imap_folder_path("Sent", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir/.Sent");
	assert_int_equal(imap_folder_path("inbox.x", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir/.INBOX.x");
	assert_int_equal(imap_folder_path("a.b", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir/.a.b");
	/* "~" is an ordinary byte: the path stays inside the Maildir. */
	assert_int_equal(imap_folder_path("~root", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir/.~root");
	assert_int_equal(imap_folder_path("&ZeVnLIqe-", p, sizeof(p)), 0);
	assert_string_equal(p, "Maildir/.&ZeVnLIqe-");
	assert_int_equal(imap_folder_path("Sent", p, 8), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_path_refuses_escapes(void **state)
{
	static const char *const bad[] = {
		"", "..", "../x", "a/../../x", "/etc", "a/b", ".a", "a.",
		"a..b", ".", "...", "*", "a%", "a\tb", "a\x01", "a\x7f",
		"caf\xc3\xa9",		/* 8-bit: not modified UTF-7 */
		"&AC8-etc",		/* "/" spelled in modified UTF-7 */
		"x&AC4-y",		/* "." spelled in modified UTF-7 */
		"&AC4ALg-",		/* ".." spelled so */
		"&AAo-",		/* LF encoded */
		"&-&AC8-",		/* "&" then an encoded "/" */
		"&Jjo",			/* unterminated shift */
	};
	char	p[IMAP_FOLDER_PATH_MAX];
	char	longname[MAILBOX_NAME_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		if (imap_folder_path(bad[i], p, sizeof(p)) != -1)
			fail_msg("\"%s\" became %s", bad[i], p);
		assert_int_equal(errno, EINVAL);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(imap_folder_path(longname, p, sizeof(p)), -1);
	longname[MAILBOX_NAME_MAX] = '\0';
	assert_int_equal(imap_folder_path(longname, p, sizeof(p)), 0);
}

static void
test_hostile_names_create_nothing(void **state)
{
	static const char *const bad[] = {
		"\"../x\"", "\"a/b\"", "\"/tmp/x\"", "\"a..b\"", "\".a\"",
		"\"&AC8-etc\"", "\"x&AC4-y\"", "\"caf\xc3\xa9\"", "\"&AAo-\"",
		"\"*\"", "\"a%\"", "\"..\"",
	};
	char	names[512], line[400];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(line, sizeof(line), "CREATE %s", bad[i]);
		expect(line, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
		snprintf(line, sizeof(line), "DELETE %s", bad[i]);
		expect(line, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
		snprintf(line, sizeof(line), "RENAME %s y", bad[i]);
		expect(line, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
		snprintf(line, sizeof(line), "RENAME INBOX %s", bad[i]);
		expect(line, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
		snprintf(line, sizeof(line), "SUBSCRIBE %s", bad[i]);
		expect(line, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
	}
	/* An overlong name, a literal one too. */
	memset(line, 'a', 300);
	memcpy(line, "CREATE ", 7);
	line[300] = '\0';
	expect(line, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
	/* Nothing was made, inside the Maildir or beside it. */
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, "");
	assert_false(exists("x"));
	assert_false(exists("Maildir/x"));
	/* Not a mailbox at all: BAD. */
	expect("CREATE", IMAP_RES_BAD, "");
	expect("CREATE (a)", IMAP_RES_BAD, "");
	expect("CREATE a b", IMAP_RES_BAD, "");
	expect("RENAME a", IMAP_RES_BAD, "");
	expect("NAMESPACE x", IMAP_RES_BAD, "");
	expect("FETCH 1 FLAGS", IMAP_RES_BAD, "");
}

/* --- CREATE and LIST --- */

static void
test_create_layout(void **state)
{
	struct stat st;

	(void)state;
	expect("CREATE Sent", IMAP_RES_OK, "Create completed");
	assert_int_equal(stat("Maildir/.Sent", &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_true(exists("Maildir/.Sent/cur"));
	assert_true(exists("Maildir/.Sent/new"));
	assert_true(exists("Maildir/.Sent/tmp"));
	assert_int_equal(stat("Maildir/.Sent/maildirfolder", &st), 0);
	assert_true(S_ISREG(st.st_mode) && st.st_size == 0);
	expect("CREATE Sent", IMAP_RES_NO, "[ALREADYEXISTS]");
	expect("CREATE INBOX", IMAP_RES_NO, "[ALREADYEXISTS]");
	expect("CREATE inbox", IMAP_RES_NO, "[ALREADYEXISTS]");
	/* A trailing delimiter: the client will put folders below. */
	expect("CREATE foo.", IMAP_RES_OK, "");
	assert_true(exists("Maildir/.foo/cur"));
	expect("CREATE ~root", IMAP_RES_OK, "");
	assert_true(exists("Maildir/.~root/cur"));
	/* A literal name, UTF-8 spelled in modified UTF-7. */
	expect("CREATE {10}\r\n&ZeVnLIqe-", IMAP_RES_OK, "");
	assert_true(exists("Maildir/.&ZeVnLIqe-/cur"));
}

static void
test_nested_parents_noselect(void **state)
{
	char names[256];

	(void)state;
	/* Maildir++ makes no parents: "a" and "a.b" are implied. */
	expect("CREATE a.b.c", IMAP_RES_OK, "");
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".a.b.c");
	expect_out("LIST \"\" *",
	    "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	    "* LIST (\\Noselect \\HasChildren) \".\" a\r\n"
	    "* LIST (\\Noselect \\HasChildren) \".\" a.b\r\n"
	    "* LIST (\\HasNoChildren) \".\" a.b.c\r\n");
	expect_out("LIST \"\" %",
	    "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	    "* LIST (\\Noselect \\HasChildren) \".\" a\r\n");
	/* Creating the parent later makes it selectable. */
	expect("CREATE a", IMAP_RES_OK, "");
	expect_out("LIST \"\" a",
	    "* LIST (\\HasChildren) \".\" a\r\n");
	/* The extended form says \NonExistent, as Dovecot does. */
	expect_out("LIST \"\" a.% RETURN (CHILDREN)",
	    "* LIST (\\NonExistent \\HasChildren) \".\" a.b\r\n");
	expect_out("LIST \"\" a.% RETURN ()",
	    "* LIST (\\NonExistent) \".\" a.b\r\n");
}

static void
test_list_patterns(void **state)
{
	(void)state;
	expect("CREATE Sent", IMAP_RES_OK, "");
	expect("CREATE a.b", IMAP_RES_OK, "");
	expect("CREATE a-x", IMAP_RES_OK, "");
	expect("CREATE INBOX.kid", IMAP_RES_OK, "");
	expect("CREATE Bob", IMAP_RES_OK, "");
	/* The delimiter and root. */
	expect_out("LIST \"\" \"\"", "* LIST (\\Noselect) \".\" \"\"\r\n");
	/* Tree order: "a" then its children, then "a-x". */
	expect_out("LIST \"\" *",
	    "* LIST (\\HasNoChildren) \".\" Bob\r\n"
	    "* LIST (\\HasChildren) \".\" INBOX\r\n"
	    "* LIST (\\HasNoChildren) \".\" INBOX.kid\r\n"
	    "* LIST (\\HasNoChildren \\Sent) \".\" Sent\r\n"
	    "* LIST (\\Noselect \\HasChildren) \".\" a\r\n"
	    "* LIST (\\HasNoChildren) \".\" a.b\r\n"
	    "* LIST (\\HasNoChildren) \".\" a-x\r\n");
	expect_out("LIST \"\" a%",
	    "* LIST (\\Noselect \\HasChildren) \".\" a\r\n"
	    "* LIST (\\HasNoChildren) \".\" a-x\r\n");
	expect_out("LIST \"\" %.%",
	    "* LIST (\\HasNoChildren) \".\" INBOX.kid\r\n"
	    "* LIST (\\HasNoChildren) \".\" a.b\r\n");
	/* The reference is joined to the pattern as it is. */
	expect_out("LIST a. %", "* LIST (\\HasNoChildren) \".\" a.b\r\n");
	expect_out("LIST a %",
	    "* LIST (\\Noselect \\HasChildren) \".\" a\r\n"
	    "* LIST (\\HasNoChildren) \".\" a-x\r\n");
	/* INBOX in any case; the whole pattern without case for it. */
	expect_out("LIST \"\" inbox", "* LIST (\\HasChildren) \".\" INBOX\r\n");
	expect_out("LIST \"\" In%", "* LIST (\\HasChildren) \".\" INBOX\r\n");
	expect_out("LIST \"\" *b*",
	    "* LIST (\\HasNoChildren) \".\" Bob\r\n"
	    "* LIST (\\HasChildren) \".\" INBOX\r\n"
	    "* LIST (\\HasNoChildren) \".\" a.b\r\n");
	expect_out("LIST \"\" inbox.*",
	    "* LIST (\\HasNoChildren) \".\" INBOX.kid\r\n");
	expect_out("LIST \"\" nothing*", "");
	/* Hostile patterns match nothing and touch nothing. */
	expect_out("LIST \"\" ../*", "");
	expect_out("LIST \"/\" *", "");
	expect_out("LIST \"\" \"*/*\"", "");
	expect_out("NAMESPACE", "* NAMESPACE ((\"\" \".\")) NIL NIL\r\n");
}

static int
fake_status(void *arg, const char *name, const struct imap_arg *items,
    struct buf *out)
{
	int *calls = arg;

	(*calls)++;
	assert_int_equal(items->type, IMAP_ARG_LIST);
	assert_true(imap_arg_is(items->list, "MESSAGES"));
	if (strcmp(name, "Junk") == 0)
		return -1;	/* left out, the LIST goes on */
	buf_printf(out, "* STATUS %s (MESSAGES 7)\r\n", name);
	return 0;
}

static void
test_list_extended(void **state)
{
	int calls = 0;

	(void)state;
	expect("CREATE Sent", IMAP_RES_OK, "");
	expect("CREATE Junk", IMAP_RES_OK, "");
	expect("CREATE a.b.c", IMAP_RES_OK, "");
	expect("CREATE x.y", IMAP_RES_OK, "");
	expect("SUBSCRIBE Sent", IMAP_RES_OK, "");
	expect("SUBSCRIBE a.b.c", IMAP_RES_OK, "");
	expect("SUBSCRIBE x.y", IMAP_RES_OK, "");
	expect("DELETE x.y", IMAP_RES_OK, "");
	/* SUBSCRIBED: subscribed names, gone ones \NonExistent. */
	expect_out("LIST (SUBSCRIBED) \"\" *",
	    "* LIST (\\Subscribed) \".\" Sent\r\n"
	    "* LIST (\\Subscribed) \".\" a.b.c\r\n"
	    "* LIST (\\Subscribed \\NonExistent) \".\" x.y\r\n");
	/* RECURSIVEMATCH: the parent stands for what % cannot reach. */
	expect_out("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" %",
	    "* LIST (\\Subscribed) \".\" Sent\r\n"
	    "* LIST (\\NonExistent) \".\" a (CHILDINFO (\"SUBSCRIBED\"))\r\n"
	    "* LIST (\\NonExistent) \".\" x (CHILDINFO (\"SUBSCRIBED\"))\r\n");
	expect_out("LIST (SUBSCRIBED RECURSIVEMATCH) \"\" a* "
	    "RETURN (CHILDREN)",
	    "* LIST (\\Subscribed \\HasNoChildren) \".\" a.b.c\r\n");
	expect("LIST (RECURSIVEMATCH) \"\" %", IMAP_RES_BAD,
	    "RECURSIVEMATCH");
	expect("LIST (REMOTE RECURSIVEMATCH) \"\" %", IMAP_RES_BAD, "");
	expect("LIST (BOGUS) \"\" %", IMAP_RES_BAD, "");
	expect("LIST \"\" % RETURN (BOGUS)", IMAP_RES_BAD, "");
	expect("LIST \"\" % RETURN CHILDREN", IMAP_RES_BAD, "");
	expect("LIST \"\" % EXTRA (CHILDREN)", IMAP_RES_BAD, "");
	expect("LIST \"\" ()", IMAP_RES_BAD, "");
	expect("LSUB \"\" % RETURN (CHILDREN)", IMAP_RES_BAD, "");
	/* REMOTE is ignored; no CHILDREN unless asked. */
	expect_out("LIST (REMOTE) \"\" %",
	    "* LIST () \".\" INBOX\r\n"
	    "* LIST () \".\" Junk\r\n"
	    "* LIST () \".\" Sent\r\n"
	    "* LIST (\\NonExistent) \".\" a\r\n");
	/* SPECIAL-USE, as a selection and as a return option. */
	expect_out("LIST (SPECIAL-USE) \"\" *",
	    "* LIST (\\Junk) \".\" Junk\r\n"
	    "* LIST (\\Sent) \".\" Sent\r\n");
	expect_out("LIST \"\" % RETURN (SPECIAL-USE SUBSCRIBED)",
	    "* LIST () \".\" INBOX\r\n"
	    "* LIST (\\Junk) \".\" Junk\r\n"
	    "* LIST (\\Subscribed \\Sent) \".\" Sent\r\n"
	    "* LIST (\\NonExistent) \".\" a\r\n");
	/* Several patterns: each once, the extended form. */
	expect_out("LIST \"\" (Sent a.* Sent)",
	    "* LIST () \".\" Sent\r\n"
	    "* LIST (\\NonExistent) \".\" a.b\r\n"
	    "* LIST () \".\" a.b.c\r\n");
	/* STATUS (RFC 5819) through the caller, for selectable ones. */
	expect("LIST \"\" % RETURN (STATUS (MESSAGES))", IMAP_RES_BAD,
	    "STATUS");
	ctx.status = fake_status;
	ctx.status_arg = &calls;
	expect_out("LIST \"\" % RETURN (STATUS (MESSAGES) CHILDREN)",
	    "* LIST (\\HasNoChildren) \".\" INBOX\r\n"
	    "* STATUS INBOX (MESSAGES 7)\r\n"
	    "* LIST (\\HasNoChildren) \".\" Junk\r\n"
	    "* LIST (\\HasNoChildren) \".\" Sent\r\n"
	    "* STATUS Sent (MESSAGES 7)\r\n"
	    "* LIST (\\NonExistent \\HasChildren) \".\" a\r\n");
	assert_int_equal(calls, 3);
	expect("LIST \"\" % RETURN (STATUS)", IMAP_RES_BAD, "");
	expect("LIST \"\" % RETURN (STATUS ())", IMAP_RES_BAD, "");
}

static void
test_lsub(void **state)
{
	(void)state;
	expect("CREATE Sent", IMAP_RES_OK, "");
	expect("CREATE x.y", IMAP_RES_OK, "");
	expect("CREATE a", IMAP_RES_OK, "");
	expect("SUBSCRIBE x.y", IMAP_RES_OK, "");
	expect("SUBSCRIBE Sent", IMAP_RES_OK, "");
	expect("SUBSCRIBE inbox", IMAP_RES_OK, "");
	expect_out("LSUB \"\" *",
	    "* LSUB () \".\" INBOX\r\n"
	    "* LSUB (\\Sent) \".\" Sent\r\n"
	    "* LSUB () \".\" x.y\r\n");
	/* An unsubscribed parent of what % cannot reach: \Noselect. */
	expect_out("LSUB \"\" %",
	    "* LSUB () \".\" INBOX\r\n"
	    "* LSUB (\\Sent) \".\" Sent\r\n"
	    "* LSUB (\\Noselect) \".\" x\r\n");
	expect_out("LSUB \"\" a", "");
}

/* --- DELETE --- */

static void
test_delete(void **state)
{
	char names[256];

	(void)state;
	expect("DELETE INBOX", IMAP_RES_NO, "[CANNOT] INBOX");
	expect("DELETE inbox", IMAP_RES_NO, "[CANNOT] INBOX");
	expect("DELETE nosuch", IMAP_RES_NO, "[NONEXISTENT]");
	expect("CREATE a", IMAP_RES_OK, "");
	expect("CREATE a.b", IMAP_RES_OK, "");
	expect("SUBSCRIBE a", IMAP_RES_OK, "");
	/* Messages, Dovecot's files, and a stray directory inside. */
	put("Maildir/.a/cur/1.M1P1.h:2,S", "Subject: x\n\nx\n");
	put("Maildir/.a/new/2.M2P2.h", "Subject: y\n\ny\n");
	put("Maildir/.a/dovecot-uidlist", "3 V1 N3\n");
	assert_int_equal(mkdir("Maildir/.a/odd", 0700), 0);
	put("Maildir/.a/odd/f", "f");
	assert_int_equal(symlink("../../..", "Maildir/.a/cur/link"), 0);
	/* As Dovecot 2.3 with Maildir++: the children stay. */
	expect("DELETE a", IMAP_RES_OK, "Delete completed");
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".a.b");
	/* The symlink went as a link: what it pointed to is untouched. */
	assert_true(exists("Maildir/cur"));
	expect_out("LIST \"\" a*",
	    "* LIST (\\Noselect \\HasChildren) \".\" a\r\n"
	    "* LIST (\\HasNoChildren) \".\" a.b\r\n");
	/* Its subscription stays (RFC 3501 6.3.6). */
	expect_out("LSUB \"\" a", "* LSUB () \".\" a\r\n");
	/* A parent that is only a prefix is no folder to delete. */
	expect("DELETE a", IMAP_RES_NO, "[NONEXISTENT]");
	/* The selected folder: allowed, and the caller is told. */
	ctx.selected = "a.b";
	ctx.deleted_selected = 0;
	expect("DELETE a.b", IMAP_RES_OK, "");
	assert_int_equal(ctx.deleted_selected, 1);
	ctx.selected = "Sent";
	ctx.deleted_selected = 0;
	expect("CREATE x", IMAP_RES_OK, "");
	expect("DELETE x", IMAP_RES_OK, "");
	assert_int_equal(ctx.deleted_selected, 0);
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, "");
	ctx.selected = NULL;
	/* A folder that is a symlink: the link goes, not what it names. */
	expect("CREATE real", IMAP_RES_OK, "");
	put("Maildir/.real/cur/1.M1P1.h:2,", "x");
	assert_int_equal(symlink(".real", "Maildir/.link"), 0);
	expect_out("LIST \"\" link", "* LIST (\\HasNoChildren) \".\" link\r\n");
	expect("DELETE link", IMAP_RES_OK, "");
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".real");
	assert_true(exists("Maildir/.real/cur/1.M1P1.h:2,"));
}

static void
test_limits_and_depth(void **state)
{
	char	deep[MAILBOX_NAME_MAX + 1], line[MAILBOX_NAME_MAX + 16];
	struct ans a;
	struct buf b;
	size_t	i, n;

	(void)state;
	/* 127 levels in one name: its 126 parents are listed. */
	for (i = 0; i < 127; i++) {
		deep[2 * i] = 'a';
		deep[2 * i + 1] = '.';
	}
	deep[253] = '\0';
	snprintf(line, sizeof(line), "CREATE %s", deep);
	expect(line, IMAP_RES_OK, "");
	run(&a, "LIST \"\" *");
	assert_int_equal(a.r.code, IMAP_RES_OK);
	for (n = 0, i = 0; i < a.out.len; i++)
		n += a.out.data[i] == '\n';
	assert_int_equal(n, 128);
	assert_non_null(strstr(a.out.data, "(\\HasNoChildren) \".\" a.a."));
	done(&a);
	expect("DELETE a", IMAP_RES_NO, "[NONEXISTENT]");
	/* Past IMAP_FOLDERS_MAX names: NO [LIMIT], never a cut list. */
	buf_init(&b, 0);
	buf_puts(&b, "V\t2\n\n");
	for (i = 0; i <= IMAP_FOLDERS_MAX; i++)
		buf_printf(&b, "n%zu\n", i);
	assert_int_equal(fs_atomic_write("Maildir/subscriptions", b.data,
	    b.len, 0600), 0);
	buf_free(&b);
	run(&a, "LSUB \"\" *");
	assert_int_equal(a.r.code, IMAP_RES_NO);
	assert_string_equal(a.r.text, "[LIMIT] Too many mailboxes");
	assert_int_equal(a.out.len, 0);
	done(&a);
	expect("LIST \"\" *", IMAP_RES_NO, "[LIMIT]");
	expect("CREATE one-more", IMAP_RES_NO, "[LIMIT]");
	assert_false(exists("Maildir/.one-more"));
	/* Back under it, CREATE works again. */
	assert_int_equal(unlink("Maildir/subscriptions"), 0);
	expect("CREATE one-more", IMAP_RES_OK, "");
}

/* --- RENAME --- */

static void
test_rename_with_children(void **state)
{
	char	 names[256];
	char	*subs;

	(void)state;
	expect("CREATE a", IMAP_RES_OK, "");
	expect("CREATE a.b", IMAP_RES_OK, "");
	expect("CREATE a.b.c", IMAP_RES_OK, "");
	expect("CREATE ab", IMAP_RES_OK, "");
	expect("SUBSCRIBE a", IMAP_RES_OK, "");
	expect("SUBSCRIBE a.b.c", IMAP_RES_OK, "");
	expect("SUBSCRIBE ab", IMAP_RES_OK, "");
	put("Maildir/.a.b/cur/1.M1P1.h:2,S", "Subject: x\n\nx\n");
	expect("RENAME a a.b.d", IMAP_RES_NO, "[CANNOT]");
	expect("RENAME a a", IMAP_RES_NO, "[CANNOT]");
	expect("RENAME a ab", IMAP_RES_NO, "[ALREADYEXISTS]");
	expect("RENAME a INBOX", IMAP_RES_NO, "[ALREADYEXISTS]");
	expect("RENAME nosuch z", IMAP_RES_NO, "[NONEXISTENT]");
	expect("RENAME a x.y", IMAP_RES_OK, "Rename completed");
	maildir_entries(names, sizeof(names));
	/* "ab" is no child of "a": it stays. */
	assert_string_equal(names, ".ab .x.y .x.y.b .x.y.b.c");
	assert_true(exists("Maildir/.x.y.b/cur/1.M1P1.h:2,S"));
	subs = slurp("Maildir/subscriptions");
	assert_non_null(subs);
	assert_string_equal(subs, "V\t2\n\nx\ty\nx\ty\tb\tc\nab\n");
	free(subs);
	/* A name that is only a parent renames its children (Dovecot). */
	expect("RENAME x q", IMAP_RES_OK, "");
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".ab .q.y .q.y.b .q.y.b.c");
	/* A child whose new name exists: nothing moves. */
	expect("CREATE p", IMAP_RES_OK, "");
	expect("CREATE p.b", IMAP_RES_OK, "");
	expect("RENAME q.y p", IMAP_RES_NO, "[ALREADYEXISTS]");
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".ab .p .p.b .q.y .q.y.b .q.y.b.c");
}

static void
test_rename_inbox(void **state)
{
	char	 names[256];
	char	*kw;

	(void)state;
	put("Maildir/cur/1.M1P1.h:2,Sa", "Subject: x\n\nx\n");
	put("Maildir/cur/2.M2P2.h:2,", "Subject: y\n\ny\n");
	put("Maildir/new/3.M3P3.h", "Subject: z\n\nz\n");
	put("Maildir/dovecot-keywords", "0 $Label1\n");
	put("Maildir/dovecot-uidlist", "3 V5 N4\n1 :1.M1P1.h\n");
	expect("CREATE INBOX.kid", IMAP_RES_OK, "");
	expect("RENAME inbox Old", IMAP_RES_OK, "Rename completed");
	assert_true(exists("Maildir/.Old/cur/1.M1P1.h:2,Sa"));
	assert_true(exists("Maildir/.Old/cur/2.M2P2.h:2,"));
	assert_true(exists("Maildir/.Old/new/3.M3P3.h"));
	assert_true(exists("Maildir/.Old/maildirfolder"));
	/* Keyword letters keep their meaning; UIDs start afresh. */
	kw = slurp("Maildir/.Old/dovecot-keywords");
	assert_non_null(kw);
	assert_string_equal(kw, "0 $Label1\n");
	free(kw);
	assert_false(exists("Maildir/.Old/dovecot-uidlist"));
	/* INBOX stays, empty; its children are not moved (6.3.5). */
	assert_false(exists("Maildir/cur/1.M1P1.h:2,Sa"));
	assert_false(exists("Maildir/new/3.M3P3.h"));
	assert_true(exists("Maildir/cur"));
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".INBOX.kid .Old");
	expect("RENAME INBOX Old", IMAP_RES_NO, "[ALREADYEXISTS]");
	expect("RENAME INBOX INBOX", IMAP_RES_NO, "[ALREADYEXISTS]");
	/* An empty INBOX renames to an empty folder. */
	expect("RENAME INBOX Empty", IMAP_RES_OK, "");
	assert_true(exists("Maildir/.Empty/cur"));
}

/* --- subscriptions --- */

static void
test_subscriptions_file(void **state)
{
	char	 *s, **names;
	size_t	  n;

	(void)state;
	expect("SUBSCRIBE nosuch", IMAP_RES_NO, "[NONEXISTENT]");
	assert_false(exists("Maildir/subscriptions"));
	expect("CREATE Sent", IMAP_RES_OK, "");
	expect("CREATE a.b", IMAP_RES_OK, "");
	expect("SUBSCRIBE Sent", IMAP_RES_OK, "Subscribe completed");
	expect("SUBSCRIBE Sent", IMAP_RES_OK, "");
	expect("SUBSCRIBE a.b", IMAP_RES_OK, "");
	expect("SUBSCRIBE a", IMAP_RES_NO, "[NONEXISTENT]");
	expect("SUBSCRIBE Inbox", IMAP_RES_OK, "");
	/* Dovecot 2.3's format: version 2, the delimiter as TAB. */
	s = slurp("Maildir/subscriptions");
	assert_non_null(s);
	assert_string_equal(s, "V\t2\n\nSent\na\tb\nINBOX\n");
	free(s);
	assert_false(exists("Maildir/subscriptions.lock"));
	expect("UNSUBSCRIBE Sent", IMAP_RES_OK, "Unsubscribe completed");
	expect("UNSUBSCRIBE Sent", IMAP_RES_OK, "");
	expect("UNSUBSCRIBE nosuch", IMAP_RES_OK, "");
	expect("UNSUBSCRIBE inbox", IMAP_RES_OK, "");
	s = slurp("Maildir/subscriptions");
	assert_string_equal(s, "V\t2\n\na\tb\n");
	free(s);
	/*
	 * Dovecot's version 1 (no header, "." kept) and lines that name no
	 * mailbox: read, not listed, kept when the file is written again.
	 */
	put("Maildir/subscriptions", "a.b\n../etc\n\nSent\r\n");
	assert_int_equal(imap_folder_subscriptions(&names, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(names[0], "a.b");
	assert_string_equal(names[1], "../etc");
	assert_string_equal(names[2], "Sent");
	imap_folder_subscriptions_free(names, n);
	expect_out("LSUB \"\" *",
	    "* LSUB (\\Sent) \".\" Sent\r\n"
	    "* LSUB () \".\" a.b\r\n");
	expect("UNSUBSCRIBE a.b", IMAP_RES_OK, "");
	s = slurp("Maildir/subscriptions");
	assert_string_equal(s, "V\t2\n\n\t\t/etc\nSent\n");
	free(s);
	/* A stale lock (a crashed writer) is broken; a fresh one waits. */
	put("Maildir/subscriptions.lock", "");
	{
		struct timespec old[2] = { { 1000, 0 }, { 1000, 0 } };

		assert_int_equal(utimensat(AT_FDCWD,
		    "Maildir/subscriptions.lock", old, 0), 0);
	}
	expect("SUBSCRIBE a.b", IMAP_RES_OK, "");
	/* A file over the bound is an error, not a truncated list. */
	{
		int	fd = open("Maildir/subscriptions", O_WRONLY | O_TRUNC);
		char	line[128];

		assert_true(fd >= 0);
		memset(line, 'x', sizeof(line) - 1);
		line[sizeof(line) - 1] = '\n';
		for (int i = 0; i < IMAP_FOLDER_SUBS_MAX / 128 + 1; i++)
			assert_int_equal(write(fd, line, sizeof(line)), 128);
		close(fd);
	}
	expect("LSUB \"\" *", IMAP_RES_NO, "[SERVERBUG]");
}

static void
test_default_folders(void **state)
{
	char	names[256];
	char	*s;

	(void)state;
	expect("CREATE Sent", IMAP_RES_OK, "");	/* one exists already */
	assert_int_equal(imap_folder_defaults(), 0);
	maildir_entries(names, sizeof(names));
	assert_string_equal(names, ".Archive .Drafts .Junk .Sent .Trash");
	assert_true(exists("Maildir/.Junk/cur"));
	s = slurp("Maildir/subscriptions");
	assert_string_equal(s,
	    "V\t2\n\nSent\nDrafts\nTrash\nJunk\nArchive\n");
	free(s);
	expect_out("LIST \"\" % RETURN (SPECIAL-USE)",
	    "* LIST (\\Archive) \".\" Archive\r\n"
	    "* LIST (\\Drafts) \".\" Drafts\r\n"
	    "* LIST () \".\" INBOX\r\n"
	    "* LIST (\\Junk) \".\" Junk\r\n"
	    "* LIST (\\Sent) \".\" Sent\r\n"
	    "* LIST (\\Trash) \".\" Trash\r\n");
	/* Once: what the user deletes stays deleted. */
	expect("DELETE Junk", IMAP_RES_OK, "");
	assert_int_equal(imap_folder_defaults(), 0);
	assert_false(exists("Maildir/.Junk"));
	/* Only the exact names are special. */
	expect("CREATE sent.x", IMAP_RES_OK, "");
	expect("CREATE Sent.x", IMAP_RES_OK, "");
	expect_out("LIST \"\" *ent.x",
	    "* LIST (\\HasNoChildren) \".\" Sent.x\r\n"
	    "* LIST (\\HasNoChildren) \".\" sent.x\r\n");
}

/* --- the index --- */

static void
test_index_forgets(void **state)
{
	struct mailindex	*ix;
	struct mailindex_folder	*f;
	struct mailindex_msg	 m;

	(void)state;
	assert_int_equal(mkdir("index", 0700), 0);
	ix = mailindex_open("index");
	assert_non_null(ix);
	ctx.ix = ix;
	expect("CREATE a", IMAP_RES_OK, "");
	expect("CREATE b", IMAP_RES_OK, "");
	put("Maildir/.a/cur/1.M1P1.h:2,S", "Subject: x\n\nx\n");
	put("Maildir/.b/cur/1.M1P1.h:2,S", "Subject: x\n\nx\n");
	f = mailindex_folder_open(ix, "Maildir/.a");
	assert_non_null(f);
	assert_int_equal(mailindex_sync(f, 0, NULL), 0);
	assert_int_equal(mailindex_get(f, 1, &m), 1);
	mailindex_folder_close(f);
	f = mailindex_folder_open(ix, "Maildir/.b");
	assert_int_equal(mailindex_sync(f, 0, NULL), 0);
	mailindex_folder_close(f);
	/* RENAME: the old path's records go (and the new path has none). */
	expect("RENAME a c", IMAP_RES_OK, "");
	assert_int_equal(mkdir("Maildir/.a", 0700), 0);
	f = mailindex_folder_open(ix, "Maildir/.a");
	assert_non_null(f);
	assert_int_equal(mailindex_get(f, 1, &m), 0);
	mailindex_folder_close(f);
	assert_int_equal(rmdir("Maildir/.a"), 0);
	/* DELETE too; another folder's records stay. */
	f = mailindex_folder_open(ix, "Maildir/.b");
	assert_int_equal(mailindex_get(f, 1, &m), 1);
	mailindex_folder_close(f);
	expect("CREATE b.kid", IMAP_RES_OK, "");
	expect("DELETE b", IMAP_RES_OK, "");
	assert_int_equal(mkdir("Maildir/.b", 0700), 0);
	f = mailindex_folder_open(ix, "Maildir/.b");
	assert_int_equal(mailindex_get(f, 1, &m), 0);
	mailindex_folder_close(f);
	/* Forgetting a path never seen is no error. */
	assert_int_equal(mailindex_folder_forget(ix, "Maildir/.none"), 0);
	ctx.ix = NULL;
	mailindex_close(ix);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_path_of_names, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_path_refuses_escapes,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hostile_names_create_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_create_layout, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_nested_parents_noselect,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_list_patterns, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_list_extended, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_lsub, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_limits_and_depth, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_rename_with_children,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_rename_inbox, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_subscriptions_file, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_default_folders, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_index_forgets, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
