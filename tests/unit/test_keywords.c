/*
 * test_keywords.c - libcommon/keywords: Dovecot's dovecot-keywords (a
 * file Dovecot 2.3 wrote, in data/dovecot) read and written back, and
 * the flag letters of Maildir names mapped to system flags and keyword
 * letters and back, sorted as Maildir wants.
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

#include "buf.h"
#include "dotlock.h"
#include "fsutil.h"
#include "keywords.h"

static char dir[4096];
static int dfd = -1;

static int
setup(void **state)
{
	const char *tmp = getenv("POSTERN_TEST_TMP");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/keywords.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlinkat(dfd, KEYWORDS_FILE, 0);
	(void)unlinkat(dfd, KEYWORDS_FILE ".lock", 0);
	close(dfd);
	return rmdir(dir);
}

static void
test_dovecot_file(void **state)
{
	struct keywords	 k, r;
	struct buf	 b;
	struct dotlock	 lk;
	char		 path[4096], *text, err[160];
	size_t		 len;

	(void)state;
	snprintf(path, sizeof(path), "%s/dovecot/keywords", POSTERN_UNIT_DATA);
	assert_int_equal(fs_read_file(path, 65536, &text, &len), 0);
	assert_int_equal(keywords_parse(text, len, &k, err, sizeof(err)), 0);
	assert_string_equal(k.name[0], "$Forwarded");
	assert_string_equal(k.name[1], "Junk");
	assert_string_equal(k.name[2], "NonJunk");
	assert_null(k.name[3]);
	assert_int_equal(keywords_find(&k, "junk"), 1);
	assert_int_equal(keywords_find(&k, "$Label1"), -1);
	buf_init(&b, 0);
	assert_int_equal(keywords_format(&k, &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_string_equal(b.data, text);
	buf_free(&b);
	/* A new keyword takes the first free letter; an old one keeps its. */
	assert_int_equal(keywords_add(&k, "$Label1"), 3);
	assert_int_equal(keywords_add(&k, "NONJUNK"), 2);
	/* Written under the lock, and read back. */
	assert_int_equal(keywords_read(dfd, &r, err, sizeof(err)), 0);
	assert_int_equal(keywords_lock(dfd, 0, &lk), 1);
	assert_int_equal(keywords_write(&lk, &k), 0);
	dotlock_release(&lk);
	assert_int_equal(keywords_read(dfd, &r, err, sizeof(err)), 1);
	assert_string_equal(r.name[3], "$Label1");
	assert_string_equal(r.name[0], "$Forwarded");
	keywords_clear(&r);
	keywords_clear(&k);
	free(text);
}

static void
test_dovecot_names_map_to_flags(void **state)
{
	struct keywords_flags	f;
	char			out[300];

	(void)state;
	/* The names Dovecot gave the fixture's messages (data/dovecot). */
	assert_int_equal(keywords_flags_parse(
	    "1796255446.M512140P2487.vm,S=30,W=34:2,Sab", &f), 0);
	assert_int_equal(f.sys, KEYWORDS_SEEN);
	assert_int_equal(f.kw, 0x3);	/* $Forwarded, Junk */
	assert_int_equal(keywords_flags_parse(
	    "1796255446.M688710P2499.vm,S=30,W=34:2,Fc", &f), 0);
	assert_int_equal(f.sys, KEYWORDS_FLAGGED);
	assert_int_equal(f.kw, 0x4);	/* NonJunk */
	assert_int_equal(keywords_flags_parse(
	    "1796255447.M603662P2609.vm,S=20,W=23", &f), 0);
	assert_int_equal(f.sys, 0);
	assert_int_equal(f.kw, 0);
	/* Back: sorted, capitals first, whatever order we set them in. */
	f.sys = KEYWORDS_SEEN | KEYWORDS_DRAFT | KEYWORDS_REPLIED |
	    KEYWORDS_TRASHED | KEYWORDS_PASSED | KEYWORDS_FLAGGED;
	f.kw = (1u << 25) | (1u << 0) | (1u << 2);
	assert_int_equal(keywords_flags_name(out, sizeof(out),
	    "1.M2P3.h,S=5:2,S", &f), 0);
	assert_string_equal(out, "1.M2P3.h,S=5:2,DFPRSTacz");
	/* An unsorted name from another tool reads the same. */
	assert_int_equal(keywords_flags_parse("x:2,zcaTSRPFD", &f), 0);
	assert_int_equal(keywords_flags_letters(&f, out, sizeof(out)), 0);
	assert_string_equal(out, "DFPRSTacz");
	/* A flag we have no name for is kept, not lost. */
	assert_int_equal(keywords_flags_parse("x:2,KS", &f), 0);
	assert_int_equal(f.sys, KEYWORDS_SEEN | KEYWORDS_SYS('K'));
	/* Not flags. */
	assert_int_equal(keywords_flags_parse("x:2,S1", &f), -1);
	assert_int_equal(keywords_flags_parse("x:1,S", &f), -1);
	assert_int_equal(keywords_flags_parse("x:2,S-", &f), -1);
	/* Too small a buffer. */
	assert_int_equal(keywords_flags_parse("x:2,KS", &f), 0);
	assert_int_equal(keywords_flags_letters(&f, out, 2), -1);
	assert_int_equal(keywords_flags_letters(&f, out, 3), 0);
}

static void
test_broken_files_refused(void **state)
{
	static const char *bad[] = {
		"0 a",				/* truncated */
		"26 a\n",			/* past z */
		"00 a\n",
		"-1 a\n",
		"0\n",
		"0 \n",
		"0 a b\n",
		"0 \\Seen\n",			/* a system flag */
		"0 a(b\n",
		"0 a\n0 b\n",			/* index twice */
		"0 a\n1 A\n",			/* keyword twice */
		"0 a\r\n",
		"x a\n",
		"\n",
	};
	struct keywords	k;
	char		err[160], want[16];
	size_t		i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (keywords_parse(bad[i], strlen(bad[i]), &k, err,
		    sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(errno, EINVAL);
		/* The repeats are found on their second line. */
		snprintf(want, sizeof(want), "line %d:",
		    strchr(bad[i], '\n') != strrchr(bad[i], '\n') ? 2 : 1);
		if (strncmp(err, want, strlen(want)) != 0)
			fail_msg("%s: %s", bad[i], err);
	}
	assert_int_equal(keywords_parse("0 a\n1 b", 7, &k, err, sizeof(err)),
	    -1);
	assert_string_equal(err, "line 2: no newline at the end (truncated)");
	assert_int_equal(keywords_parse("", 0, &k, err, sizeof(err)), 0);
	assert_null(k.name[0]);
}

static void
test_all_letters_taken(void **state)
{
	struct keywords	k;
	char		name[16];
	int		i;

	(void)state;
	keywords_init(&k);
	for (i = 0; i < KEYWORDS_MAX; i++) {
		snprintf(name, sizeof(name), "kw%d", i);
		assert_int_equal(keywords_add(&k, name), i);
	}
	assert_int_equal(keywords_add(&k, "one-more"), -1);
	assert_int_equal(errno, ENOSPC);
	assert_int_equal(keywords_add(&k, "kw7"), 7);
	assert_int_equal(keywords_add(&k, "bad name"), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(keywords_add(&k, "\\Seen"), -1);
	keywords_clear(&k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dovecot_file),
		cmocka_unit_test(test_dovecot_names_map_to_flags),
		cmocka_unit_test(test_broken_files_refused),
		cmocka_unit_test(test_all_letters_taken),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
