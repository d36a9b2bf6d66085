/*
 * test_fsutil.c - libcommon/fsutil: the steps that make mail durable.
 * An atomic write must replace the whole file and leave no temporary
 * behind, even when it fails; fs_mkdirs must leave a directory or fail;
 * fs_read_file must refuse a file over its limit before reading it.
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

#include "fsutil.h"

static char tmpdir[PATH_MAX];

static int
rm_rf(const char *path)
{
	char	 cmd[PATH_MAX + 32];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", path);
	return system(cmd) == 0 ? 0 : -1;
}

static int
setup(void **state)
{
	const char *base = getenv("POSTERN_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/fsutil.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	return rm_rf(tmpdir);
}

static const char *
tpath(const char *name)
{
	static char p[PATH_MAX];

	assert_int_equal(fs_path(p, sizeof(p), tmpdir, name), 0);
	return p;
}

/* Number of entries in dir whose name contains part. */
static int
count_named(const char *dir, const char *part)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir(dir));
	while ((de = readdir(d)) != NULL)
		if (strstr(de->d_name, part) != NULL)
			n++;
	closedir(d);
	return n;
}

static void
assert_file_holds(const char *path, const char *want, size_t wantlen)
{
	char	*got = NULL;
	size_t	 len = 0;

	assert_int_equal(fs_read_file(path, 16 << 20, &got, &len), 0);
	assert_int_equal(len, wantlen);
	assert_memory_equal(got, want, wantlen);
	free(got);
}

static void
test_atomic_write_creates_file_with_contents_and_mode(void **state)
{
	char		path[PATH_MAX];
	struct stat	st;
	mode_t		old = umask(022);

	strlcpy(path, tpath("new.env"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "hello\n", 6, 0640), 0);
	umask(old);
	assert_file_holds(path, "hello\n", 6);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_int_equal(count_named(tmpdir, ".tmp"), 0);
}

static void
test_atomic_write_replaces_whole_contents_and_leaves_no_tmp(void **state)
{
	char		path[PATH_MAX];
	struct stat	before, after;

	strlcpy(path, tpath("replace.env"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "a much longer first version\n",
	    28, 0600), 0);
	assert_int_equal(stat(path, &before), 0);
	assert_int_equal(fs_atomic_write(path, "short", 5, 0600), 0);
	assert_file_holds(path, "short", 5);
	/* a new inode renamed into place, not the old one rewritten */
	assert_int_equal(stat(path, &after), 0);
	assert_true(before.st_ino != after.st_ino);
	assert_int_equal(fs_atomic_write(path, "", 0, 0600), 0);
	assert_file_holds(path, "", 0);
	assert_int_equal(count_named(tmpdir, ".tmp"), 0);
}

static void
test_atomic_write_keeps_readers_of_the_old_file_whole(void **state)
{
	char	path[PATH_MAX], got[32];
	int	fd;
	ssize_t	n;

	strlcpy(path, tpath("reader.env"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "old contents", 12, 0600), 0);
	assert_true((fd = open(path, O_RDONLY)) != -1);
	assert_int_equal(fs_atomic_write(path, "new", 3, 0600), 0);
	n = read(fd, got, sizeof(got));
	assert_int_equal(n, 12);
	assert_memory_equal(got, "old contents", 12);
	close(fd);
}

static void
test_atomic_write_handles_binary_and_large_contents(void **state)
{
	char	path[PATH_MAX], *data;
	size_t	i, n = 3 * 1024 * 1024 + 17;

	assert_non_null(data = malloc(n));
	for (i = 0; i < n; i++)
		data[i] = (char)(i * 31 + 7);
	strlcpy(path, tpath("big"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, data, n, 0600), 0);
	assert_file_holds(path, data, n);
	free(data);
}

static void
test_atomic_write_with_relative_path_uses_current_directory(void **state)
{
	char	cwd[PATH_MAX];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(tmpdir), 0);
	assert_int_equal(fs_atomic_write("relative.env", "rel", 3, 0600), 0);
	assert_int_equal(chdir(cwd), 0);
	assert_file_holds(tpath("relative.env"), "rel", 3);
	assert_int_equal(count_named(tmpdir, ".tmp"), 0);
}

static void
test_failed_atomic_write_leaves_no_tmp_and_target_intact(void **state)
{
	char path[PATH_MAX];

	/* the directory does not exist */
	strlcpy(path, tpath("no/such/dir/file"), sizeof(path));
	errno = 0;
	assert_int_equal(fs_atomic_write(path, "x", 1, 0600), -1);
	assert_int_equal(errno, ENOENT);

	/* the rename fails: the target is a non-empty directory */
	strlcpy(path, tpath("isdir"), sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(mkdir(tpath("isdir/inner"), 0700), 0);
	strlcpy(path, tpath("isdir"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "x", 1, 0600), -1);
	assert_int_equal(count_named(tmpdir, ".tmp"), 0);
}

static void
test_mkdirs_creates_every_missing_level_with_mode(void **state)
{
	char		path[PATH_MAX];
	struct stat	st;
	mode_t		old = umask(0);

	strlcpy(path, tpath("a/b/c/d"), sizeof(path));
	assert_int_equal(fs_mkdirs(path, 0750), 0);
	umask(old);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(stat(tpath("a/b"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
}

static void
test_mkdirs_accepts_existing_dirs_and_redundant_slashes(void **state)
{
	char		path[PATH_MAX];
	struct stat	st;

	strlcpy(path, tpath("x/y"), sizeof(path));
	assert_int_equal(fs_mkdirs(path, 0700), 0);
	assert_int_equal(fs_mkdirs(path, 0700), 0);
	strlcpy(path, tpath("x//y/z/"), sizeof(path));
	assert_int_equal(fs_mkdirs(path, 0700), 0);
	assert_int_equal(stat(tpath("x/y/z"), &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(fs_mkdirs("/", 0700), 0);
}

static void
test_mkdirs_fails_when_a_level_is_a_file(void **state)
{
	char path[PATH_MAX];

	strlcpy(path, tpath("plainfile"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "f", 1, 0600), 0);
	strlcpy(path, tpath("plainfile/sub"), sizeof(path));
	assert_int_equal(fs_mkdirs(path, 0700), -1);
	/* the last level existing as a file is not a directory either */
	strlcpy(path, tpath("plainfile"), sizeof(path));
	errno = 0;
	assert_int_equal(fs_mkdirs(path, 0700), -1);
	assert_int_equal(errno, ENOTDIR);
}

static void
test_read_file_returns_nul_terminated_contents(void **state)
{
	char	path[PATH_MAX], *got = NULL;
	size_t	len = 99;

	strlcpy(path, tpath("read"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "ab\0cd", 5, 0600), 0);
	assert_int_equal(fs_read_file(path, 5, &got, &len), 0);
	assert_int_equal(len, 5);
	assert_memory_equal(got, "ab\0cd", 5);
	assert_int_equal(got[5], '\0');
	free(got);
	/* len is optional */
	assert_int_equal(fs_read_file(path, 5, &got, NULL), 0);
	free(got);
}

static void
test_read_file_refuses_one_byte_over_the_limit(void **state)
{
	char	path[PATH_MAX], *got = NULL;
	size_t	len = 0;

	strlcpy(path, tpath("limit"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "123456", 6, 0600), 0);
	errno = 0;
	assert_int_equal(fs_read_file(path, 5, &got, &len), -1);
	assert_int_equal(errno, EFBIG);
	assert_null(got);
	assert_int_equal(fs_read_file(path, 0, &got, &len), -1);
	assert_int_equal(fs_read_file(path, 6, &got, &len), 0);
	assert_int_equal(len, 6);
	free(got);
}

static void
test_read_file_of_empty_and_missing_files(void **state)
{
	char	path[PATH_MAX], *got = NULL;
	size_t	len = 99;

	strlcpy(path, tpath("empty"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "", 0, 0600), 0);
	assert_int_equal(fs_read_file(path, 0, &got, &len), 0);
	assert_int_equal(len, 0);
	assert_string_equal(got, "");
	free(got);
	got = NULL;
	errno = 0;
	assert_int_equal(fs_read_file(tpath("absent"), 10, &got, &len), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(got);
}

static void
test_path_join_fails_on_truncation(void **state)
{
	char out[8];

	assert_int_equal(fs_path(out, sizeof(out), "ab", "cdef"), 0);
	assert_string_equal(out, "ab/cdef");		/* 7 + NUL: fits */
	errno = 0;
	assert_int_equal(fs_path(out, sizeof(out), "ab", "cdefg"), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_write_all_writes_everything_to_a_pipe(void **state)
{
	int	p[2];
	char	got[16];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(fs_write_all(p[1], "0123456789", 10), 0);
	close(p[1]);
	assert_int_equal(read(p[0], got, sizeof(got)), 10);
	assert_memory_equal(got, "0123456789", 10);
	close(p[0]);
	assert_int_equal(fs_write_all(p[1], "x", 1), -1);
}

static void
test_fsync_dir_needs_a_directory(void **state)
{
	char path[PATH_MAX];

	assert_int_equal(fs_fsync_dir(tmpdir), 0);
	strlcpy(path, tpath("notadir"), sizeof(path));
	assert_int_equal(fs_atomic_write(path, "f", 1, 0600), 0);
	assert_int_equal(fs_fsync_dir(path), -1);
	assert_int_equal(fs_fsync_dir(tpath("absent-dir")), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_atomic_write_creates_file_with_contents_and_mode),
		cmocka_unit_test(test_atomic_write_replaces_whole_contents_and_leaves_no_tmp),
		cmocka_unit_test(test_atomic_write_keeps_readers_of_the_old_file_whole),
		cmocka_unit_test(test_atomic_write_handles_binary_and_large_contents),
		cmocka_unit_test(test_atomic_write_with_relative_path_uses_current_directory),
		cmocka_unit_test(test_failed_atomic_write_leaves_no_tmp_and_target_intact),
		cmocka_unit_test(test_mkdirs_creates_every_missing_level_with_mode),
		cmocka_unit_test(test_mkdirs_accepts_existing_dirs_and_redundant_slashes),
		cmocka_unit_test(test_mkdirs_fails_when_a_level_is_a_file),
		cmocka_unit_test(test_read_file_returns_nul_terminated_contents),
		cmocka_unit_test(test_read_file_refuses_one_byte_over_the_limit),
		cmocka_unit_test(test_read_file_of_empty_and_missing_files),
		cmocka_unit_test(test_path_join_fails_on_truncation),
		cmocka_unit_test(test_write_all_writes_everything_to_a_pipe),
		cmocka_unit_test(test_fsync_dir_needs_a_directory),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
