/*
 * test_maildir.c - libcommon/maildir (names, flags, the tmp -> new
 * delivery) and deliverd's local transport on top of it.
 */
#include <sys/stat.h>
#include <sys/types.h>

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

#include "deliverd.h"
#include "fsutil.h"
#include "maildir.h"

static char scratch[1024];	/* short enough that every path built on it fits */

/* A fresh directory under POSTERN_TEST_TMP for each test. */
static int
setup_dir(void **state)
{
	static int	 n;
	const char	*base = getenv("POSTERN_TEST_TMP");
	char		 cmd[PATH_MAX + 16];

	if (base == NULL)
		base = "/tmp";
	snprintf(scratch, sizeof(scratch), "%s/test_maildir.%ld.%d", base,
	    (long)getpid(), n++);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	if (system(cmd) != 0)
		return -1;
	return fs_mkdirs(scratch, 0700);
}

static int
teardown_dir(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * A message file as queued hands it over: a header before the message and
 * its envelope after it, which must never reach a mailbox.
 */
#define MSG_PREFIX	"PQ1 header, not part of the message\n"
#define MSG_SUFFIX	"envelope, not part of the message\n"
static off_t	msg_off;
static uint64_t	msg_len;

static int
make_message(const char *text)
{
	char	path[PATH_MAX];
	int	fd;

	snprintf(path, sizeof(path), "%s/msg", scratch);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(fs_write_all(fd, MSG_PREFIX, strlen(MSG_PREFIX)), 0);
	assert_int_equal(fs_write_all(fd, text, strlen(text)), 0);
	assert_int_equal(fs_write_all(fd, MSG_SUFFIX, strlen(MSG_SUFFIX)), 0);
	unlink(path);
	msg_off = (off_t)strlen(MSG_PREFIX);
	msg_len = strlen(text);
	return fd;
}

static int
count_entries(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static char *
slurp(const char *path, size_t *len)
{
	char *p;

	assert_int_equal(fs_read_file(path, 1 << 20, &p, len), 0);
	return p;
}

static void
test_host_escapes_slash_and_colon(void **state)
{
	char out[MAILDIR_HOST_MAX + 1];

	maildir_host_encode("mx1.example.test", out, sizeof(out));
	assert_string_equal(out, "mx1.example.test");
	maildir_host_encode("a/b:c", out, sizeof(out));
	assert_string_equal(out, "a\\057b\\072c");
}

static void
test_host_truncation_never_splits_an_escape(void **state)
{
	char	host[200], out[MAILDIR_HOST_MAX + 1];
	size_t	i;

	for (i = 0; i < 62; i++)
		host[i] = 'h';
	host[62] = '/';
	host[63] = '\0';
	maildir_host_encode(host, out, sizeof(out));
	/* 62 + 4 would pass 64: the escape is left out entirely. */
	assert_int_equal(strlen(out), 62);
	assert_null(strchr(out, '\\'));
}

static void
test_name_base_has_dovecot_shape(void **state)
{
	char out[MAILDIR_NAME_MAX];

	assert_int_equal(maildir_name_base(out, sizeof(out), 1700000000,
	    123456, 4242, 7, "mx"), 0);
	assert_string_equal(out, "1700000000.M123456P4242Q7.mx");
	assert_int_equal(maildir_name_base(out, 10, 1700000000, 1, 1, 1,
	    "mx"), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_size_field_is_read_from_names(void **state)
{
	uint64_t s = 0;

	assert_int_equal(maildir_name_size("1.M2P3Q4.h,S=1234", &s), 0);
	assert_int_equal(s, 1234);
	assert_int_equal(maildir_name_size("1.M2P3Q4.h,S=99,W=120:2,S", &s), 0);
	assert_int_equal(s, 99);
	assert_int_equal(maildir_name_size("1.M2P3Q4.h,W=5,S=7:2,", &s), 0);
	assert_int_equal(s, 7);
	assert_int_equal(maildir_name_size("1.M2P3Q4.h", &s), -1);
	assert_int_equal(maildir_name_size("1.M2P3Q4.h,S=:2,", &s), -1);
	assert_int_equal(maildir_name_size("1.M2P3Q4.h,S=12x", &s), -1);
}

static void
test_vsize_field_is_read_from_names(void **state)
{
	uint64_t v = 0;

	assert_int_equal(maildir_name_vsize("1.M2P3Q4.h,S=99,W=120:2,S", &v),
	    0);
	assert_int_equal(v, 120);
	assert_int_equal(maildir_name_vsize("1.M2P3Q4.h,S=99", &v), -1);
	/* A field after the info suffix is flag text, not a size. */
	assert_int_equal(maildir_name_vsize("1.M2P3Q4.h:2,W=5", &v), -1);
}

static uint64_t
vsize_of(const char *text, size_t chunk)
{
	struct maildir_vsize	v;
	size_t			len = strlen(text), i, n;

	maildir_vsize_init(&v);
	for (i = 0; i < len; i += n) {
		n = len - i < chunk ? len - i : chunk;
		maildir_vsize_feed(&v, text + i, n);
	}
	return maildir_vsize_end(&v);
}

static void
test_vsize_counts_crlf_line_ends_in_any_chunks(void **state)
{
	static const struct {
		const char	*text;
		uint64_t	 vsize;
	} cases[] = {
		{ "", 0 },
		{ "a\n", 3 },
		{ "a\r\n", 3 },		/* CRLF stays two octets */
		{ "a\nb\r\nc\n", 9 },
		{ "abc", 5 },			/* a CRLF is added to the last line */
		{ "a\nb", 6 },
		{ "\n\n\n", 6 },
		{ "a\r", 4 },			/* bare CR, then the added CRLF */
		{ "a\r\r\n", 4 },
	};
	size_t i, chunk;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		for (chunk = 1; chunk <= 8; chunk++)
			assert_int_equal(vsize_of(cases[i].text, chunk),
			    cases[i].vsize);
}

static void
test_flags_are_sorted_and_deduplicated(void **state)
{
	char f[MAILDIR_FLAGS_MAX] = "SRFaS";

	assert_int_equal(maildir_flags_normalize(f), 0);
	assert_string_equal(f, "FRSa");
	strlcpy(f, "S1", sizeof(f));
	assert_int_equal(maildir_flags_normalize(f), -1);
}

static void
test_flags_set_and_clear_keep_order(void **state)
{
	char f[MAILDIR_FLAGS_MAX] = "";

	assert_int_equal(maildir_flags_set(f, sizeof(f), 'S', 1), 0);
	assert_int_equal(maildir_flags_set(f, sizeof(f), 'F', 1), 0);
	assert_int_equal(maildir_flags_set(f, sizeof(f), 'R', 1), 0);
	assert_int_equal(maildir_flags_set(f, sizeof(f), 'S', 1), 0);
	assert_string_equal(f, "FRS");
	assert_true(maildir_flags_has(f, 'R'));
	assert_int_equal(maildir_flags_set(f, sizeof(f), 'R', 0), 0);
	assert_string_equal(f, "FS");
	assert_false(maildir_flags_has(f, 'R'));
	assert_int_equal(maildir_flags_set(f, sizeof(f), ':', 1), -1);
	assert_int_equal(maildir_flags_set(f, 3, 'T', 1), -1);
}

static void
test_info_parse_splits_base_and_flags(void **state)
{
	char	f[MAILDIR_FLAGS_MAX];
	size_t	bl;

	assert_int_equal(maildir_info_parse("1.M2P3Q4.h,S=5:2,SRF", &bl, f,
	    sizeof(f)), 0);
	assert_int_equal(bl, strlen("1.M2P3Q4.h,S=5"));
	assert_string_equal(f, "FRS");
	assert_int_equal(maildir_info_parse("1.M2P3Q4.h,S=5", &bl, f,
	    sizeof(f)), 0);
	assert_int_equal(bl, strlen("1.M2P3Q4.h,S=5"));
	assert_string_equal(f, "");
	assert_int_equal(maildir_info_parse("1.M2P3Q4.h:2,", &bl, f,
	    sizeof(f)), 0);
	assert_string_equal(f, "");
	/* Experimental ":1," info and junk are not flags we can trust. */
	assert_int_equal(maildir_info_parse("x:1,abc", &bl, f, sizeof(f)), -1);
	assert_int_equal(maildir_info_parse("x:2,S!", &bl, f, sizeof(f)), -1);
}

static void
test_info_build_replaces_old_flags(void **state)
{
	char out[MAILDIR_NAME_MAX];

	assert_int_equal(maildir_info_build(out, sizeof(out),
	    "1.M2P3Q4.h,S=5", "SF"), 0);
	assert_string_equal(out, "1.M2P3Q4.h,S=5:2,FS");
	assert_int_equal(maildir_info_build(out, sizeof(out),
	    "1.M2P3Q4.h,S=5:2,FS", "RSS"), 0);
	assert_string_equal(out, "1.M2P3Q4.h,S=5:2,RS");
	assert_int_equal(maildir_info_build(out, sizeof(out), "x", ""), 0);
	assert_string_equal(out, "x:2,");
	assert_int_equal(maildir_info_build(out, 4, "xyz", "S"), -1);
}

static void
test_create_makes_every_level_private_and_durable(void **state)
{
	char		md[PATH_MAX], sub[PATH_MAX];
	struct stat	st;
	const char	*names[] = { "/d.test", "/d.test/u", "/d.test/u/Maildir",
	    "/d.test/u/Maildir/tmp", "/d.test/u/Maildir/new",
	    "/d.test/u/Maildir/cur" };
	size_t		i;
	int		created = 0;

	assert_int_equal(maildir_create_user(scratch, "d.test", "u", 0, 0, 0,
	    &created), 0);
	assert_int_equal(created, 6);
	created = 0;
	assert_int_equal(maildir_create_user(scratch, "d.test", "u", 0, 0, 0,
	    &created), 0);		/* idempotent */
	assert_int_equal(created, 0);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(sub, sizeof(sub), "%s%s", scratch, names[i]);
		assert_int_equal(lstat(sub, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0700);
	}
	snprintf(md, sizeof(md), "%s/missing", scratch);
	assert_int_equal(maildir_create_user(md, "d.test", "u", 0, 0, 0,
	    NULL), -1);
	assert_int_equal(errno, ENOENT);
}

static void
test_create_never_follows_a_planted_symlink(void **state)
{
	char	link[PATH_MAX], target[PATH_MAX], probe[PATH_MAX + 16];

	/* A user directory that is a symlink to somewhere else. */
	snprintf(target, sizeof(target), "%s/elsewhere", scratch);
	assert_int_equal(mkdir(target, 0700), 0);
	snprintf(link, sizeof(link), "%s/d.test", scratch);
	assert_int_equal(mkdir(link, 0700), 0);
	snprintf(link, sizeof(link), "%s/d.test/victim", scratch);
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(maildir_create_user(scratch, "d.test", "victim", 0,
	    0, 0, NULL), -1);
	/* O_NOFOLLOW | O_DIRECTORY on a symlink: ENOTDIR (or ELOOP). */
	assert_true(errno == ENOTDIR || errno == ELOOP);
	snprintf(probe, sizeof(probe), "%s/Maildir", target);
	assert_int_equal(access(probe, F_OK), -1);
	/* Names that would leave the store are refused outright. */
	assert_int_equal(maildir_create_user(scratch, "..", "u", 0, 0, 0,
	    NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(maildir_create_user(scratch, "d.test", "a/b", 0, 0,
	    0, NULL), -1);
	assert_int_equal(errno, EINVAL);
}

/* The Maildir of u@d.test below scratch, created. */
static void
make_maildir(char *md, size_t mdsz)
{
	assert_int_equal(maildir_create_user(scratch, "d.test", "u", 0, 0, 0,
	    NULL), 0);
	snprintf(md, mdsz, "%s/d.test/u/Maildir", scratch);
}

static void
test_deliver_writes_header_and_body_with_size(void **state)
{
	const char	*body = "Subject: hi\n\nhello\n";
	const char	*hdr = "Return-Path: <a@b.test>\n";
	char		 md[2048], name[MAILDIR_NAME_MAX], path[PATH_MAX];
	char		 expect[256], *got, sz[32];
	size_t		 len;
	struct stat	 st;
	uint64_t	 s;
	off_t		 off;
	int		 fd;

	make_maildir(md, sizeof(md));
	fd = make_message(body);
	off = lseek(fd, 0, SEEK_CUR);
	assert_int_equal(maildir_deliver(md, hdr, strlen(hdr), fd, msg_off,
	    msg_len, name, sizeof(name)), 0);
	/* The shared descriptor's offset is left where it was. */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), off);

	snprintf(path, sizeof(path), "%s/new/%s", md, name);
	got = slurp(path, &len);
	snprintf(expect, sizeof(expect), "%s%s", hdr, body);
	assert_string_equal(got, expect);
	free(got);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	snprintf(sz, sizeof(sz), ",S=%zu", len);
	assert_non_null(strstr(name, sz));
	assert_int_equal(maildir_name_size(name, &s), 0);
	assert_int_equal(s, (uint64_t)st.st_size);
	/* ",W=" is the size with CRLF line ends: one more octet per LF. */
	{
		size_t	 i, lf = 0;
		uint64_t w;

		for (i = 0; expect[i] != '\0'; i++)
			lf += expect[i] == '\n';
		assert_int_equal(maildir_name_vsize(name, &w), 0);
		assert_int_equal(w, (uint64_t)len + lf);
		assert_non_null(strstr(name, ",W="));
		assert_true(strstr(name, ",S=") < strstr(name, ",W="));
	}
	assert_null(strchr(name, '/'));
	assert_null(strchr(name, ':'));

	snprintf(path, sizeof(path), "%s/tmp", md);
	assert_int_equal(count_entries(path), 0);

	/* The same descriptor serves a second delivery, under a new name. */
	{
		char name2[MAILDIR_NAME_MAX];

		assert_int_equal(maildir_deliver(md, NULL, 0, fd, msg_off,
		    msg_len, name2, sizeof(name2)), 0);
		assert_string_not_equal(name, name2);
		snprintf(path, sizeof(path), "%s/new/%s", md, name2);
		got = slurp(path, &len);
		assert_string_equal(got, body);
		free(got);
	}
	snprintf(path, sizeof(path), "%s/new", md);
	assert_int_equal(count_entries(path), 2);
	close(fd);
}

static void
test_deliver_failure_leaves_nothing_and_keeps_errno(void **state)
{
	char	md[2048], name[MAILDIR_NAME_MAX], path[PATH_MAX];
	int	fd;

	make_maildir(md, sizeof(md));
	/* A descriptor that cannot be read: the copy fails midway. */
	fd = open("/dev/null", O_WRONLY);
	assert_true(fd != -1);
	assert_int_equal(maildir_deliver(md, "X: y\n", 5, fd, 0, 10, name,
	    sizeof(name)), -1);
	assert_int_equal(errno, EBADF);
	close(fd);
	snprintf(path, sizeof(path), "%s/tmp", md);
	assert_int_equal(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/new", md);
	assert_int_equal(count_entries(path), 0);

	snprintf(md, sizeof(md), "%s/nonexistent", scratch);
	fd = make_message("x\n");
	assert_int_equal(maildir_deliver(md, NULL, 0, fd, msg_off, msg_len,
	    name, sizeof(name)), -1);
	assert_int_equal(errno, ENOENT);
	close(fd);

	/* A source shorter than its stated size is never delivered cut short. */
	snprintf(md, sizeof(md), "%s/d.test/u/Maildir", scratch);
	fd = make_message("x\n");
	assert_int_equal(maildir_deliver(md, NULL, 0, fd, msg_off, 4096, name,
	    sizeof(name)), -1);
	assert_int_equal(errno, EIO);
	close(fd);
	snprintf(path, sizeof(path), "%s/tmp", md);
	assert_int_equal(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/new", md);
	assert_int_equal(count_entries(path), 0);
}

/*
 * An IMAP APPEND's delivery: straight into cur/ with its flags and its
 * INTERNALDATE as mtime, the sizes in the name, nothing in new/ or tmp/.
 */
static void
test_deliver_cur_takes_flags_and_mtime(void **state)
{
	char		md[2048], name[MAILDIR_NAME_MAX], path[PATH_MAX];
	const char	*text = "Subject: a\r\n\r\nbody\r\n";
	struct stat	st;
	char		*info;

	make_maildir(md, sizeof(md));
	assert_int_equal(maildir_deliver_cur(md, text, strlen(text), -1, 0,
	    0, "FSa", 1600000000, name, sizeof(name)), 0);
	assert_non_null(info = strstr(name, ":2,"));
	assert_string_equal(info, ":2,FSa");
	assert_non_null(strstr(name, ",S=20,W=20:"));
	snprintf(path, sizeof(path), "%s/cur/%s", md, name);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, strlen(text));
	assert_int_equal(st.st_mtime, 1600000000);
	snprintf(path, sizeof(path), "%s/new", md);
	assert_int_equal(count_entries(path), 0);
	snprintf(path, sizeof(path), "%s/tmp", md);
	assert_int_equal(count_entries(path), 0);
	/* No flags: ":2," all the same, the mtime the delivery's own. */
	assert_int_equal(maildir_deliver_cur(md, text, strlen(text), -1, 0,
	    0, "", 0, name, sizeof(name)), 0);
	assert_string_equal(strstr(name, ":2,"), ":2,");
	snprintf(path, sizeof(path), "%s/cur/%s", md, name);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_mtime > 1600000000);
	(void)state;
}

static void
local_job(struct d_job *j, const char *rcpt, const char *sender)
{
	memset(j, 0, sizeof(*j));
	strlcpy(j->qid, "0123456789ABCDEF", sizeof(j->qid));
	strlcpy(j->rcpt, rcpt, sizeof(j->rcpt));
	strlcpy(j->orcpt, rcpt, sizeof(j->orcpt));
	strlcpy(j->sender, sender, sizeof(j->sender));
	j->offset = (uint64_t)msg_off;
	j->size = msg_len;
}

static void
test_local_delivery_creates_mailbox_and_adds_headers(void **state)
{
	struct d_job	 j;
	struct d_result	 res;
	char		 where[PATH_MAX * 2], *got, dir[PATH_MAX];
	size_t		 len;
	int		 fd;

	fd = make_message("Subject: x\n\nbody\n");
	local_job(&j, "Alice@Example.TEST", "bob@remote.test");
	local_deliver(scratch, &j, fd, &res, where, sizeof(where));
	assert_int_equal(res.status, ST_OK);
	assert_string_equal(res.text, "2.0.0 delivered to maildir");
	snprintf(dir, sizeof(dir), "%s/example.test/alice/Maildir/new/",
	    scratch);
	assert_memory_equal(where, dir, strlen(dir));
	got = slurp(where, &len);
	assert_string_equal(got, "Return-Path: <bob@remote.test>\n"
	    "Delivered-To: alice@example.test\nSubject: x\n\nbody\n");
	free(got);

	/* The null sender is written as <>. */
	local_job(&j, "alice@example.test", "");
	local_deliver(scratch, &j, fd, &res, where, sizeof(where));
	assert_int_equal(res.status, ST_OK);
	got = slurp(where, &len);
	assert_memory_equal(got, "Return-Path: <>\n", 16);
	free(got);
	close(fd);
}

static void
test_local_delivery_refuses_unsafe_mailbox_names(void **state)
{
	const char	*bad[] = { "../x@example.test", "a@..", ".a@example.test",
	    "a/b@example.test", "nodomain", "a@exa/mple.test", "x@.hidden" };
	struct d_job	 j;
	struct d_result	 res;
	char		 where[PATH_MAX * 2];
	size_t		 i;
	int		 fd;

	fd = make_message("x\n");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		local_job(&j, bad[i], "s@x.test");
		local_deliver(scratch, &j, fd, &res, where, sizeof(where));
		if (res.status != ST_PERM)
			fail_msg("%s was not refused", bad[i]);
		assert_string_equal(res.text, "5.1.3 bad mailbox name");
	}
	/* A sender that could start a header line of its own. */
	local_job(&j, "a@example.test", "x@y\nX-Evil: 1");
	local_deliver(scratch, &j, fd, &res, where, sizeof(where));
	assert_int_equal(res.status, ST_PERM);
	/* Refused before any directory was made. */
	assert_int_equal(count_entries(scratch), 0);
	close(fd);
}

static void
test_local_delivery_without_store_is_temporary(void **state)
{
	struct d_job	 j;
	struct d_result	 res;
	char		 store[PATH_MAX], where[PATH_MAX * 2];
	int		 fd;

	snprintf(store, sizeof(store), "%s/no-store", scratch);
	fd = make_message("x\n");
	local_job(&j, "a@example.test", "s@x.test");
	local_deliver(store, &j, fd, &res, where, sizeof(where));
	assert_int_equal(res.status, ST_TEMP);
	assert_memory_equal(res.text, "4.3.0 ", 6);
	/* It did not create the store: an unmounted disk stays visible. */
	assert_int_equal(access(store, F_OK), -1);
	close(fd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_host_escapes_slash_and_colon),
		cmocka_unit_test(test_host_truncation_never_splits_an_escape),
		cmocka_unit_test(test_name_base_has_dovecot_shape),
		cmocka_unit_test(test_size_field_is_read_from_names),
		cmocka_unit_test(test_vsize_field_is_read_from_names),
		cmocka_unit_test(test_vsize_counts_crlf_line_ends_in_any_chunks),
		cmocka_unit_test(test_flags_are_sorted_and_deduplicated),
		cmocka_unit_test(test_flags_set_and_clear_keep_order),
		cmocka_unit_test(test_info_parse_splits_base_and_flags),
		cmocka_unit_test(test_info_build_replaces_old_flags),
		cmocka_unit_test_setup_teardown(
		    test_create_makes_every_level_private_and_durable,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_create_never_follows_a_planted_symlink, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_deliver_writes_header_and_body_with_size, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_deliver_failure_leaves_nothing_and_keeps_errno,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_deliver_cur_takes_flags_and_mtime, setup_dir,
		    teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_local_delivery_creates_mailbox_and_adds_headers,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_local_delivery_refuses_unsafe_mailbox_names,
		    setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(
		    test_local_delivery_without_store_is_temporary, setup_dir,
		    teardown_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
