/*
 * test_lastlogin.c - libcommon/lastlogin: the last-login record that a
 * mail process writes and "postern user show" reads (often as root, in
 * a directory the mail user owns): it reads back what was written, and
 * refuses a link, a huge file and any text it did not write.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lastlogin.h"

static char dir[4096];
static int dfd = -1;

static int
setup(void **state)
{
	const char *tmp = getenv("POSTERN_TEST_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/lastlogin.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL || chdir(dir) == -1 ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlink(LASTLOGIN_FILE);
	(void)unlink("other");
	close(dfd);
	return rmdir(dir);
}

static void
put(const char *text)
{
	FILE *f;

	(void)unlink(LASTLOGIN_FILE);
	assert_non_null(f = fopen(LASTLOGIN_FILE, "w"));
	fputs(text, f);
	fclose(f);
}

static void
test_written_record_reads_back(void **state)
{
	struct lastlogin l;

	(void)state;
	(void)unlink(LASTLOGIN_FILE);
	assert_int_equal(lastlogin_read(dfd, &l), 0);
	assert_int_equal(lastlogin_write("pop3", "2001:db8::1", 1700000000),
	    0);
	assert_int_equal(lastlogin_read(dfd, &l), 1);
	assert_int_equal(l.when, 1700000000);
	assert_string_equal(l.proto, "pop3");
	assert_string_equal(l.ip, "2001:db8::1");
	/* A second login replaces it. */
	assert_int_equal(lastlogin_write("pop3", "192.0.2.7", 1700000001), 0);
	assert_int_equal(lastlogin_read(dfd, &l), 1);
	assert_int_equal(l.when, 1700000001);
	assert_string_equal(l.ip, "192.0.2.7");
}

static void
test_anything_it_did_not_write_is_refused(void **state)
{
	static const char *bad[] = {
		"", "\n", "1700000000\n", "1700000000 pop3\n",
		"1700000000 pop3 192.0.2.1", "1700000000 pop3 192.0.2.1\nx",
		"-1 pop3 192.0.2.1\n", "17x pop3 192.0.2.1\n",
		"1700000000 pop3 192.0.2.1 extra\n",
		"1700000000 pop3 \x1b[31m\n", "1700000000 pop3  192.0.2.1\n",
		"1700000000 averyveryverylongprotocol 1\n",
		"99999999999999999999999 pop3 1\n",
	};
	struct lastlogin	l;
	size_t			i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(bad[i]);
		if (lastlogin_read(dfd, &l) != -1)
			fail_msg("took \"%s\"", bad[i]);
	}
}

static void
test_a_link_or_a_large_file_is_not_read(void **state)
{
	struct lastlogin	l;
	char			big[4096];

	(void)state;
	put("1700000000 pop3 192.0.2.1\n");
	assert_int_equal(rename(LASTLOGIN_FILE, "other"), 0);
	assert_int_equal(symlink("other", LASTLOGIN_FILE), 0);
	assert_int_equal(lastlogin_read(dfd, &l), -1);
	assert_int_equal(unlink(LASTLOGIN_FILE), 0);
	memset(big, '1', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put(big);
	assert_int_equal(lastlogin_read(dfd, &l), -1);
	(void)unlink(LASTLOGIN_FILE);
	assert_int_equal(mkdir(LASTLOGIN_FILE, 0700), 0);
	assert_int_equal(lastlogin_read(dfd, &l), -1);
	assert_int_equal(rmdir(LASTLOGIN_FILE), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_written_record_reads_back),
		cmocka_unit_test(test_anything_it_did_not_write_is_refused),
		cmocka_unit_test(test_a_link_or_a_large_file_is_not_read),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
