/*
 * test_uidlist.c - libcommon/uidlist and libcommon/dotlock: Dovecot's
 * dovecot-uidlist read as Dovecot wrote it (files Dovecot 2.3 made, in
 * data/dovecot), written back so that it reads the same, new names
 * given fresh UIDs, broken files refused with a reason, and the
 * dovecot-uidlist.lock dot-lock: taken, refused while held, broken
 * when stale or when its owner is gone.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "dotlock.h"
#include "fsutil.h"
#include "uidlist.h"

static char dir[4096];
static int dfd = -1;

static int
setup(void **state)
{
	const char *tmp = getenv("POSTERN_TEST_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/uidlist.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlinkat(dfd, UIDLIST_FILE, 0);
	(void)unlinkat(dfd, UIDLIST_FILE ".lock", 0);
	(void)unlinkat(dfd, UIDLIST_FILE ".tmp", 0);
	close(dfd);
	return rmdir(dir);
}

static char *
fixture(const char *name, size_t *len)
{
	char	path[4096], *text;

	snprintf(path, sizeof(path), "%s/dovecot/%s", POSTERN_UNIT_DATA, name);
	assert_int_equal(fs_read_file(path, 65536, &text, len), 0);
	return text;
}

static void
put(const char *text)
{
	int fd = openat(dfd, UIDLIST_FILE, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, text, strlen(text)), 0);
	close(fd);
}

/* The text uidlist_format gives, as a C string the caller frees. */
static char *
format(const struct uidlist *l)
{
	struct buf b;

	buf_init(&b, 0);
	assert_int_equal(uidlist_format(l, &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	return b.data;
}

static void
test_dovecot_file_reads(void **state)
{
	struct uidlist		*l;
	struct uidlist_error	 err;
	size_t			 len;
	char			*text = fixture("inbox-uidlist", &len), *out;

	(void)state;
	assert_int_equal(uidlist_parse(text, len, &l, &err), 0);
	assert_int_equal(l->uidvalidity, 1796255446);
	assert_int_equal(l->nextuid, 5);
	assert_string_equal(l->guid, "1a88a112d6ae106b9e09000083ecc375");
	assert_int_equal(l->n, 3);
	/* Looked up by the name on disk, flags and all. */
	assert_int_equal(uidlist_lookup(l,
	    "1796255446.M512140P2487.vm,S=30,W=34:2,Sab"), 2);
	assert_int_equal(uidlist_lookup(l,
	    "1796255446.M688710P2499.vm,S=30,W=34:2,Fc"), 3);
	assert_int_equal(uidlist_lookup(l,
	    "1796255447.M603662P2609.vm,S=20,W=23"), 4);
	assert_int_equal(uidlist_lookup(l,
	    "1796255447.M603662P2609.vm,S=20,W=23:2,S"), 4);
	/* Expunged (uid 1), and a prefix of a name: not there. */
	assert_int_equal(uidlist_lookup(l, "1796255446.M512140P2487.vm"), 0);
	assert_int_equal(uidlist_find_uid(l, 3), 1);
	assert_int_equal(uidlist_find_uid(l, 1), -1);
	/* Written back byte for byte. */
	out = format(l);
	assert_string_equal(out, text);
	free(out);
	uidlist_free(l);
	free(text);
}

static void
test_dovecot_appended_record_raises_next_uid(void **state)
{
	struct uidlist		*l;
	struct uidlist_error	 err;
	size_t			 len;
	char			*text = fixture("sent-uidlist", &len);
	uint32_t		 uid;

	(void)state;
	/* Dovecot appended uid 1 without rewriting "N1" in the header. */
	assert_non_null(strstr(text, " N1 "));
	assert_int_equal(uidlist_parse(text, len, &l, &err), 0);
	assert_int_equal(l->nextuid, 2);
	assert_int_equal(uidlist_append(l, "1796255500.M1P1.vm,S=5,W=6",
	    &uid), 1);
	assert_int_equal(uid, 2);
	uidlist_free(l);
	free(text);
}

static void
test_extensions_and_unknown_fields_kept(void **state)
{
	const char *in =
	    "3 N10 X7 G0123456789abcdef0123456789ABCDEF V42 Zsomething\n"
	    "3 W1394 S1355 :1275660208.M109046P27315.host,S=1355,W=1394\n"
	    "7 :1275660209.M1P2.host\n";
	const char *want =
	    "3 V42 N10 G0123456789abcdef0123456789ABCDEF X7 Zsomething\n"
	    "3 W1394 S1355 :1275660208.M109046P27315.host,S=1355,W=1394\n"
	    "7 :1275660209.M1P2.host\n";
	struct uidlist		*l, *l2;
	struct uidlist_error	 err;
	char			*out, *out2;

	(void)state;
	assert_int_equal(uidlist_parse(in, strlen(in), &l, &err), 0);
	assert_string_equal(l->recs[0].ext, "W1394 S1355");
	assert_null(l->recs[1].ext);
	out = format(l);
	assert_string_equal(out, want);
	/* And that reads back to the same. */
	assert_int_equal(uidlist_parse(out, strlen(out), &l2, &err), 0);
	out2 = format(l2);
	assert_string_equal(out2, want);
	free(out);
	free(out2);
	uidlist_free(l);
	uidlist_free(l2);
}

static void
test_old_full_names_and_repeats(void **state)
{
	/* An older Dovecot wrote whole names; a repeat: the later wins. */
	const char *in =
	    "3 V1 N9\n"
	    "1 :a.host:2,S\n"
	    "2 :b.host\n"
	    "5 :a.host:2,RS\n";
	struct uidlist		*l;
	struct uidlist_error	 err;
	char			*out;

	(void)state;
	assert_int_equal(uidlist_parse(in, strlen(in), &l, &err), 0);
	assert_int_equal(l->n, 2);
	assert_int_equal(uidlist_lookup(l, "a.host:2,"), 5);
	assert_int_equal(uidlist_lookup(l, "b.host:2,T"), 2);
	out = format(l);
	assert_string_equal(out, "3 V1 N9\n2 :b.host\n5 :a.host\n");
	free(out);
	uidlist_free(l);
}

static void
test_append_gives_fresh_uids(void **state)
{
	struct uidlist	*l = uidlist_new(0);
	uint32_t	 uid = 0;
	time_t		 now = time(NULL);
	char		 name[64];
	int		 i;

	(void)state;
	assert_non_null(l);
	/* UIDVALIDITY of a new list: the time, as Dovecot picks it. */
	assert_true(l->uidvalidity >= now - 5 && l->uidvalidity <= now + 5);
	assert_int_equal(strlen(l->guid), UIDLIST_GUID_LEN);
	assert_int_equal(uidlist_append(l, "100.M1P1.h:2,S", &uid), 1);
	assert_int_equal(uid, 1);
	/* The same message under other flags is not new. */
	assert_int_equal(uidlist_append(l, "100.M1P1.h:2,RS", &uid), 0);
	assert_int_equal(uid, 1);
	assert_string_equal(l->recs[0].name, "100.M1P1.h");
	/* Many: the hash grows and every name still finds its UID. */
	for (i = 0; i < 5000; i++) {
		snprintf(name, sizeof(name), "%d.M%dP9.h", 200 + i, i);
		assert_int_equal(uidlist_append(l, name, &uid), 1);
		assert_int_equal(uid, (uint32_t)i + 2);
	}
	for (i = 0; i < 5000; i += 7) {
		snprintf(name, sizeof(name), "%d.M%dP9.h:2,F", 200 + i, i);
		assert_int_equal(uidlist_lookup(l, name), (uint32_t)i + 2);
	}
	/* An expunge: the UID is gone for good, the next one moves on. */
	assert_int_equal(uidlist_remove(l, 3), 1);
	assert_int_equal(uidlist_remove(l, 3), 0);
	assert_int_equal(uidlist_lookup(l, "201.M1P9.h"), 0);
	assert_int_equal(uidlist_lookup(l, "202.M2P9.h"), 4);
	assert_int_equal(uidlist_append(l, "201.M1P9.h", &uid), 1);
	assert_int_equal(uid, 5002);
	/* Names that are no Maildir names. */
	assert_int_equal(uidlist_append(l, "../../etc/passwd", NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(uidlist_append(l, "a\nb", NULL), -1);
	assert_int_equal(uidlist_append(l, "", NULL), -1);
	assert_int_equal(uidlist_append(l, ":2,S", NULL), -1);
	assert_int_equal(uidlist_append(l, "..", NULL), -1);
	uidlist_free(l);
}

static void
test_uids_run_out(void **state)
{
	const char		*in = "3 V1 N4294967294\n4294967294 :x\n";
	struct uidlist		*l;
	struct uidlist_error	 err;

	(void)state;
	assert_int_equal(uidlist_parse(in, strlen(in), &l, &err), 0);
	assert_int_equal(l->nextuid, 4294967295u);
	assert_int_equal(uidlist_append(l, "y", NULL), -1);
	assert_int_equal(errno, EOVERFLOW);
	uidlist_free(l);
}

struct bad {
	const char	*text;
	unsigned	 line;
	const char	*why;
};

static void
test_broken_files_refused(void **state)
{
	static const struct bad bad[] = {
		{ "", 0, "empty" },
		{ "3 V1 N2\n1 :a", 2, "truncated" },
		{ "3 V1 N2", 1, "truncated" },
		{ "1 1275660208 5\n", 1, "version 3" },
		{ "2 V1 N2\n", 1, "version 3" },
		{ "3 N2\n", 1, "UIDVALIDITY" },
		{ "3 V1\n", 1, "next UID" },
		{ "3 V0 N2\n", 1, "UIDVALIDITY" },
		{ "3 V1 V2 N2\n", 1, "repeated" },
		{ "3 V1 N2 Gxyz\n", 1, "GUID" },
		{ "3 V1 N2 G0123456789abcdef0123456789abcdeg\n", 1, "GUID" },
		{ "3 V1  N2\n", 1, "one space" },
		{ "3 V1 N2 \n", 1, "one space" },
		{ "3 V1 N2 X\n", 1, "header field" },
		{ "3 V99999999999 N2\n", 1, "UIDVALIDITY" },
		{ "3 V1 N2\n0 :a\n", 2, "bad UID" },
		{ "3 V1 N2\n01 :a\n", 2, "bad UID" },
		{ "3 V1 N2\n-1 :a\n", 2, "bad UID" },
		{ "3 V1 N2\n4294967295 :a\n", 2, "bad UID" },
		{ "3 V1 N9\n2 :a\n2 :b\n", 3, "not increasing" },
		{ "3 V1 N9\n5 :a\n3 :b\n", 3, "not increasing (3 after 5)" },
		{ "3 V1 N9\n1 w12 :a\n", 2, "extension" },
		{ "3 V1 N9\n1 W12\n", 2, "extension" },
		{ "3 V1 N9\n1 W12 \n", 2, "no file name" },
		{ "3 V1 N9\n1 :\n", 2, "file name" },
		{ "3 V1 N9\n1 :../cur/x\n", 2, "file name" },
		{ "3 V1 N9\n1 :..\n", 2, "file name" },
		{ "3 V1 N9\n1 :.:2,S\n", 2, "file name" },
		{ "3 V1 N9\n1 :a\rb\n", 2, "file name" },
		{ "3 V1 N9\n1 a\n", 2, "extension" },
		{ "3 V1 N9\n\n", 2, "bad UID" },
	};
	struct uidlist		*l;
	struct uidlist_error	 err;
	size_t			 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = (struct uidlist *)1;
		if (uidlist_parse(bad[i].text, strlen(bad[i].text), &l,
		    &err) != -1)
			fail_msg("accepted: %s", bad[i].text);
		assert_null(l);
		assert_int_equal(errno, EINVAL);
		if (err.line != bad[i].line || strstr(err.msg, bad[i].why) ==
		    NULL)
			fail_msg("%s: got line %u \"%s\"", bad[i].text,
			    err.line, err.msg);
	}
	/* A half-written append is told apart: read again under the lock. */
	assert_int_equal(uidlist_parse("3 V1 N2\n1 :a", 12, &l, &err), -1);
	assert_true(err.truncated);
	assert_int_equal(uidlist_parse("3 V1 N2\n1 :/\n", 13, &l, &err), -1);
	assert_false(err.truncated);
	/* A NUL byte. */
	assert_int_equal(uidlist_parse("3 V1 N2\n1 :a\0b\n", 15, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "NUL"));
}

static void
test_limits(void **state)
{
	struct uidlist		*l;
	struct uidlist_error	 err;
	char			*big;
	size_t			 n;

	(void)state;
	/* A line past UIDLIST_LINE_MAX, with and without its newline. */
	big = malloc(UIDLIST_LINE_MAX + 64);
	assert_non_null(big);
	n = (size_t)snprintf(big, 64, "3 V1 N2\n1 :");
	memset(big + n, 'a', UIDLIST_LINE_MAX);
	assert_int_equal(uidlist_parse(big, n + UIDLIST_LINE_MAX, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "too long"));
	big[n + UIDLIST_LINE_MAX - 1] = '\n';
	assert_int_equal(uidlist_parse(big, n + UIDLIST_LINE_MAX, &l, &err),
	    -1);
	assert_non_null(strstr(err.msg, "too long"));
	/* A name over NAME_MAX in a line that fits. */
	n = (size_t)snprintf(big, 64, "3 V1 N2\n1 :");
	memset(big + n, 'a', UIDLIST_NAME_MAX + 1);
	big[n + UIDLIST_NAME_MAX + 1] = '\n';
	assert_int_equal(uidlist_parse(big, n + UIDLIST_NAME_MAX + 2, &l,
	    &err), -1);
	assert_non_null(strstr(err.msg, "file name"));
	free(big);
	/* Over the size limit: refused before anything is read. */
	assert_int_equal(uidlist_parse("3", (size_t)UIDLIST_FILE_MAX + 1, &l,
	    &err), -1);
	assert_non_null(strstr(err.msg, "larger than"));
}

static void
test_written_file_reads_back(void **state)
{
	struct uidlist		*l, *r;
	struct uidlist_error	 err;
	struct dotlock		 lk;
	struct stat		 st;
	uint32_t		 uid;

	(void)state;
	assert_int_equal(uidlist_read(dfd, &r, &err), 0);	/* none yet */
	assert_non_null(l = uidlist_new(1234));
	assert_int_equal(uidlist_append(l, "1.M1P1.h:2,S", &uid), 1);
	assert_int_equal(uidlist_append(l, "2.M2P2.h", &uid), 1);
	/* Without the lock: refused. */
	memset(&lk, 0, sizeof(lk));
	assert_int_equal(uidlist_write(&lk, l), -1);
	assert_int_equal(uidlist_lock(dfd, 0, &lk), 1);
	assert_int_equal(uidlist_write(&lk, l), 0);
	dotlock_release(&lk);
	/* Lock and temporary file gone; the list in place. */
	assert_int_equal(fstatat(dfd, UIDLIST_FILE ".lock", &st, 0), -1);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE ".tmp", &st, 0), -1);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE, &st, 0), 0);
	assert_int_equal(uidlist_read(dfd, &r, &err), 1);
	assert_int_equal(r->uidvalidity, 1234);
	assert_int_equal(r->nextuid, 3);
	assert_string_equal(r->guid, l->guid);
	assert_int_equal(uidlist_lookup(r, "2.M2P2.h:2,T"), 2);
	uidlist_free(r);
	uidlist_free(l);
}

/* The list file's text, as a C string the caller frees. */
static char *
file_text(void)
{
	char	path[4200], *text;
	size_t	len;

	snprintf(path, sizeof(path), "%s/%s", dir, UIDLIST_FILE);
	assert_int_equal(fs_read_file(path, 65536, &text, &len), 0);
	return text;
}

/*
 * New mail only: its records are appended to the file in place, as
 * Dovecot appends them (same inode, the header's N left as it was).
 * Anything else -- a list without GUID, a file changed since it was
 * read -- is rewritten whole.
 */
static void
test_new_records_are_appended_in_place(void **state)
{
	const char		*old = "3 V7 N3 G0123456789abcdef0123456789abcdef\n"
				    "1 :1.M1P1.h\n2 :2.M2P2.h\n";
	char			*names[] = { "3.M3P3.h:2,S", "1.M1P1.h:2,S" };
	char			*text;
	uint32_t		 uids[2];
	struct uidlist		*l;
	struct uidlist_error	 err;
	struct dotlock		 lk;
	struct dotlock_file	 f;
	struct stat		 a, b;

	(void)state;
	put(old);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE, &a, 0), 0);
	assert_non_null(l = uidlist_assign(dfd, "t", 0, names, 2, 0, uids,
	    NULL, NULL));
	assert_int_equal(uids[0], 3);
	assert_int_equal(uids[1], 1);
	uidlist_free(l);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE, &b, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	text = file_text();
	assert_int_equal(strncmp(text, old, strlen(old)), 0);
	assert_string_equal(text + strlen(old), "3 :3.M3P3.h\n");
	free(text);
	assert_int_equal(uidlist_read(dfd, &l, &err), 1);
	assert_int_equal(l->nextuid, 4);	/* past N3: the last record */
	assert_int_equal(uidlist_lookup(l, "3.M3P3.h"), 3);
	uidlist_free(l);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE ".lock", &a, 0), -1);

	/* Nothing new: nothing written. */
	assert_non_null(l = uidlist_assign(dfd, "t", 0, names, 1, 0, uids,
	    NULL, NULL));
	uidlist_free(l);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE, &a, 0), 0);
	assert_int_equal(a.st_ino, b.st_ino);
	assert_int_equal(a.st_size, b.st_size);

	/* No GUID yet: the header changes, so the file is rewritten. */
	put("3 V7 N2\n1 :1.M1P1.h\n");
	assert_non_null(l = uidlist_assign(dfd, "t", 0, names, 1, 0, uids,
	    NULL, NULL));
	uidlist_free(l);
	text = file_text();
	assert_non_null(strstr(text, " G"));
	assert_non_null(strstr(text, "\n2 :3.M3P3.h\n"));
	free(text);

	/* A file that is not the one read: refused, left as it is. */
	assert_int_equal(fstatat(dfd, UIDLIST_FILE, &a, 0), 0);
	assert_int_equal(uidlist_lock(dfd, 0, &lk), 1);
	f.dev = a.st_dev;
	f.ino = a.st_ino;
	f.size = a.st_size - 1;
	assert_int_equal(dotlock_append(&lk, &f, "9 :x\n", 5), -1);
	assert_int_equal(errno, ESTALE);
	f.size = a.st_size;
	assert_int_equal(dotlock_append(&lk, &f, "9 :x\n", 5), 0);
	dotlock_release(&lk);
	assert_int_equal(fstatat(dfd, UIDLIST_FILE, &b, 0), 0);
	assert_int_equal(b.st_size, a.st_size + 5);
	/* Without the lock: refused. */
	assert_int_equal(dotlock_append(&lk, &f, "9 :x\n", 5), -1);
	assert_int_equal(errno, EPERM);
}

/*
 * A last line cut short (a crash during an append): refused without the
 * lock (a writer may be midway), dropped under it, and the list then
 * rewritten whole rather than appended to after the fragment.
 */
static void
test_cut_last_line_dropped_under_the_lock(void **state)
{
	char			*names[] = { "9.M9P9.h" }, *text;
	uint32_t		 uids[1];
	struct uidlist		*l;
	struct uidlist_error	 err;

	(void)state;
	put("3 V7 N3 G0123456789abcdef0123456789abcdef\n1 :1.M1P1.h\n"
	    "2 :2.M2");
	assert_int_equal(uidlist_read(dfd, &l, &err), -1);
	assert_true(err.truncated);
	assert_int_equal(uidlist_read_locked(dfd, &l, &err), 1);
	assert_int_equal(l->n, 1);
	assert_int_equal(l->file.ino, 0);
	uidlist_free(l);
	assert_non_null(l = uidlist_assign(dfd, "t", 0, names, 1, 0, uids,
	    NULL, NULL));
	uidlist_free(l);
	assert_int_equal(uids[0], 3);
	text = file_text();
	assert_string_equal(text, "3 V7 N4 G0123456789abcdef0123456789abcdef\n"
	    "1 :1.M1P1.h\n3 :9.M9P9.h\n");
	free(text);
	/* A header cut short is no list at all. */
	put("3 V7 N3");
	assert_int_equal(uidlist_read_locked(dfd, &l, &err), -1);
}

static void
test_read_refuses_links_and_broken(void **state)
{
	struct uidlist		*r;
	struct uidlist_error	 err;

	(void)state;
	put("3 V1 N2\n1 :a\n2 :b\n");	/* 2 >= N2: fine, N becomes 3 */
	assert_int_equal(uidlist_read(dfd, &r, &err), 1);
	uidlist_free(r);
	put("3 V1 N2\n1 :a\n1 :b\n");
	assert_int_equal(uidlist_read(dfd, &r, &err), -1);
	assert_null(r);
	assert_string_equal(err.msg, "line 3: UIDs not increasing (1 after 1)");
	assert_int_equal(unlinkat(dfd, UIDLIST_FILE, 0), 0);
	assert_int_equal(symlinkat("/etc/passwd", dfd, UIDLIST_FILE), 0);
	assert_int_equal(uidlist_read(dfd, &r, &err), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(unlinkat(dfd, UIDLIST_FILE, 0), 0);
	assert_int_equal(mkdirat(dfd, UIDLIST_FILE, 0700), 0);
	assert_int_equal(uidlist_read(dfd, &r, &err), -1);
	assert_string_equal(err.msg, "not a regular file");
	assert_int_equal(unlinkat(dfd, UIDLIST_FILE, AT_REMOVEDIR), 0);
}

static void
test_lock_refused_while_held(void **state)
{
	struct dotlock	a, b;
	char		text[300], host[256];
	ssize_t		n;
	int		fd;
	time_t		start;

	(void)state;
	assert_int_equal(uidlist_lock(dfd, 0, &a), 1);
	/* The lock says who holds it, as Dovecot's do: "pid:host". */
	fd = openat(dfd, UIDLIST_FILE ".lock", O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	assert_true(n > 0);
	text[n] = '\0';
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	assert_int_equal(atol(text), (long)getpid());
	assert_string_equal(strchr(text, ':') + 1, host);
	/* Held (by a live process, recently): refused, now and after 1 s. */
	assert_int_equal(uidlist_lock(dfd, 0, &b), 0);
	start = time(NULL);
	assert_int_equal(uidlist_lock(dfd, 1, &b), 0);
	assert_true(time(NULL) - start >= 1);
	/* Touching keeps it ours; released, it can be taken again. */
	assert_int_equal(dotlock_touch(&a), 0);
	dotlock_release(&a);
	assert_int_equal(uidlist_lock(dfd, 0, &b), 1);
	/* A's stale handle does not delete B's lock. */
	a.held = 1;
	dotlock_release(&a);
	assert_int_equal(uidlist_lock(dfd, 0, &a), 0);
	dotlock_release(&b);
}

static void
test_stale_lock_broken(void **state)
{
	struct dotlock	 a, b;
	struct timespec	 old[2];
	struct uidlist	*l;
	pid_t		 pid;
	int		 fd, status;
	char		 text[300], host[256];

	(void)state;
	/* Untouched for DOTLOCK_STALE_SECS, even by a live owner: broken. */
	assert_int_equal(uidlist_lock(dfd, 0, &a), 1);
	old[0].tv_sec = old[1].tv_sec = time(NULL) - DOTLOCK_STALE_SECS - 1;
	old[0].tv_nsec = old[1].tv_nsec = 0;
	assert_int_equal(utimensat(dfd, UIDLIST_FILE ".lock", old, 0), 0);
	assert_int_equal(uidlist_lock(dfd, 0, &b), 1);
	/* The old holder finds out: its write is refused, not done. */
	assert_non_null(l = uidlist_new(7));
	assert_int_equal(uidlist_write(&a, l), -1);
	assert_int_equal(errno, ESTALE);
	assert_int_equal(dotlock_touch(&a), -1);
	assert_int_equal(uidlist_write(&b, l), 0);
	dotlock_release(&b);
	uidlist_free(l);

	/* A fresh lock of a process of this host that is gone: broken. */
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_int_equal(gethostname(host, sizeof(host)), 0);
	snprintf(text, sizeof(text), "%ld:%s", (long)pid, host);
	fd = openat(dfd, UIDLIST_FILE ".lock", O_WRONLY | O_CREAT | O_EXCL,
	    0600);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, text, strlen(text)), 0);
	close(fd);
	assert_int_equal(uidlist_lock(dfd, 0, &b), 1);
	dotlock_release(&b);

	/* The same from another host, or unreadable: only time breaks it. */
	fd = openat(dfd, UIDLIST_FILE ".lock", O_WRONLY | O_CREAT | O_EXCL,
	    0600);
	assert_true(fd >= 0);
	snprintf(text, sizeof(text), "%ld:not-%s", (long)pid, host);
	assert_int_equal(fs_write_all(fd, text, strlen(text)), 0);
	close(fd);
	assert_int_equal(uidlist_lock(dfd, 0, &b), 0);
	assert_int_equal(unlinkat(dfd, UIDLIST_FILE ".lock", 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot_file_reads),
		cmocka_unit_test(test_dovecot_appended_record_raises_next_uid),
		cmocka_unit_test(test_extensions_and_unknown_fields_kept),
		cmocka_unit_test(test_old_full_names_and_repeats),
		cmocka_unit_test(test_append_gives_fresh_uids),
		cmocka_unit_test(test_uids_run_out),
		cmocka_unit_test(test_broken_files_refused),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_written_file_reads_back),
		cmocka_unit_test(test_new_records_are_appended_in_place),
		cmocka_unit_test(test_cut_last_line_dropped_under_the_lock),
		cmocka_unit_test(test_read_refuses_links_and_broken),
		cmocka_unit_test(test_lock_refused_while_held),
		cmocka_unit_test(test_stale_lock_broken),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
