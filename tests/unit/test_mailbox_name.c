/*
 * test_mailbox_name.c - libcommon/mailbox_name: modified UTF-7 (RFC
 * 3501 section 5.1.3) both ways with its one spelling, and IMAP names
 * to Maildir++ folders as Dovecot lays them out (the folders Dovecot
 * 2.3 made for data/dovecot), with every name that could leave the
 * Maildir refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mailbox_name.h"

static void
roundtrip(const char *mutf7, const char *utf8)
{
	char out[1024];

	assert_int_equal(mutf7_decode(mutf7, strlen(mutf7), out, sizeof(out)),
	    0);
	assert_string_equal(out, utf8);
	assert_int_equal(mutf7_encode(utf8, strlen(utf8), out, sizeof(out)),
	    0);
	assert_string_equal(out, mutf7);
}

static void
test_rfc3501_examples(void **state)
{
	(void)state;
	/* RFC 3501 5.1.3: "~peter/mail/台北/日本語". */
	roundtrip("~peter/mail/&U,BTFw-/&ZeVnLIqe-",
	    "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
	    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	roundtrip("&-", "&");
	roundtrip("Tom &- Jerry", "Tom & Jerry");
	roundtrip("Entw&APw-rfe", "Entw\xc3\xbc" "rfe");	/* Dovecot's */
	roundtrip("&AOkA6QDp-", "\xc3\xa9\xc3\xa9\xc3\xa9");
	/* Outside the BMP: a surrogate pair (U+1F600). */
	roundtrip("&2D3eAA-", "\xf0\x9f\x98\x80");
	roundtrip("", "");
}

static void
test_mutf7_refused(void **state)
{
	static const char *bad[] = {
		"&U,BTFw",		/* run not ended */
		"&",
		"&U,BTF-",		/* leftover bits not zero */
		"&U,BTFwA-",		/* a whole spare character */
		"&AGE-",		/* "a" shifted: ASCII is never */
		"&ACY-",		/* "&" shifted */
		"&AAA-",		/* NUL */
		"&AAo-",		/* newline */
		"&AOk-&AOk-",		/* two runs side by side */
		"&2D0-",		/* lone high surrogate */
		"&3gA-",		/* lone low surrogate */
		"&2D3YPQ-",		/* high surrogate twice */
		"&A/k-",		/* '/' is not modified base64 */
		"&A=k-",
		"a\tb",
		"a\nb",
		"caf\xc3\xa9",		/* raw 8-bit */
		"\x7f",
	};
	char	out[256];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mutf7_decode(bad[i], strlen(bad[i]), out, sizeof(out)) !=
		    -1)
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(errno, EINVAL);
	}
	/* Too small an output is its own error. */
	assert_int_equal(mutf7_decode("abcdef", 6, out, 4), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(mutf7_encode("\xc3\xa9\xc3\xa9", 4, out, 5), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	/* Not UTF-8, or a control, cannot be encoded. */
	assert_int_equal(mutf7_encode("\xc3(", 2, out, sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(mutf7_encode("\xed\xa0\x80", 3, out, sizeof(out)),
	    -1);
	assert_int_equal(mutf7_encode("a\x01", 2, out, sizeof(out)), -1);
}

static void
test_folders_as_dovecot_lays_them_out(void **state)
{
	char out[300];

	(void)state;
	assert_int_equal(mailbox_name_to_dir("INBOX", out, sizeof(out)), 0);
	assert_string_equal(out, ".");
	assert_int_equal(mailbox_name_to_dir("inBox", out, sizeof(out)), 0);
	assert_string_equal(out, ".");
	assert_int_equal(mailbox_name_to_dir("Sent", out, sizeof(out)), 0);
	assert_string_equal(out, ".Sent");
	assert_int_equal(mailbox_name_to_dir("Entw&APw-rfe", out,
	    sizeof(out)), 0);
	assert_string_equal(out, ".Entw&APw-rfe");
	assert_int_equal(mailbox_name_to_dir("a.b", out, sizeof(out)), 0);
	assert_string_equal(out, ".a.b");
	assert_int_equal(mailbox_name_to_dir("inbox.x", out, sizeof(out)), 0);
	assert_string_equal(out, ".INBOX.x");
	assert_int_equal(mailbox_name_to_dir("inboxes", out, sizeof(out)), 0);
	assert_string_equal(out, ".inboxes");
	/* The folders Dovecot made (data/dovecot/README) name mailboxes. */
	assert_int_equal(mailbox_dir_to_name(".Entw&APw-rfe", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "Entw&APw-rfe");
	assert_int_equal(mailbox_dir_to_name(".a.b", out, sizeof(out)), 0);
	assert_string_equal(out, "a.b");
	assert_int_equal(mailbox_dir_to_name(".Sent", out, sizeof(out)), 0);
	assert_string_equal(out, "Sent");
	assert_int_equal(mailbox_dir_to_name(".", out, sizeof(out)), 0);
	assert_string_equal(out, "INBOX");
	/* What else lives in a Maildir is no folder. */
	assert_int_equal(mailbox_dir_to_name("..", out, sizeof(out)), -1);
	assert_int_equal(mailbox_dir_to_name("cur", out, sizeof(out)), -1);
	assert_int_equal(mailbox_dir_to_name("dovecot-uidlist", out,
	    sizeof(out)), -1);
	assert_int_equal(mailbox_dir_to_name(".INBOX", out, sizeof(out)), -1);
	assert_int_equal(mailbox_dir_to_name(".Sent", out, 4), -1);
	assert_int_equal(errno, ENAMETOOLONG);
}

static void
test_hostile_names_refused(void **state)
{
	static const char *bad[] = {
		"",
		"..",
		"../x",
		"a/../../etc",
		"/etc",
		"a/b",
		".hidden",
		"Sent.",
		"a..b",
		".",
		"a.",
		"*",
		"a%",
		"a\nb",
		"a\rb",
		"a\x1b[2J",
		"a\x7f",
		"\xc3\xa9t\xc3\xa9",	/* raw UTF-8: not modified UTF-7 */
		"&AC8-etc",		/* "/" shifted */
		"&AC4ALg-",		/* ".." shifted */
		"&AAo-",		/* newline shifted */
		"&AIU-",		/* U+0085, a C1 control */
		"&ICg-",		/* U+2028 line separator */
		"x&",
	};
	char	out[600], longname[MAILBOX_NAME_MAX + 2];
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (mailbox_name_ok(bad[i]))
			fail_msg("accepted: %s", bad[i]);
		assert_int_equal(mailbox_name_to_dir(bad[i], out,
		    sizeof(out)), -1);
		assert_int_equal(errno, EINVAL);
		if (bad[i][0] == '\0')
			continue;	/* "." is the Maildir: INBOX */
		snprintf(out, sizeof(out), ".%s", bad[i]);
		assert_int_equal(mailbox_dir_to_name(out, out, sizeof(out)),
		    -1);
	}
	/* MAILBOX_NAME_MAX bytes fit one directory name; one more not. */
	memset(longname, 'a', MAILBOX_NAME_MAX);
	longname[MAILBOX_NAME_MAX] = '\0';
	assert_true(mailbox_name_ok(longname));
	assert_int_equal(mailbox_name_to_dir(longname, out, sizeof(out)), 0);
	assert_int_equal(strlen(out), 255);
	longname[MAILBOX_NAME_MAX] = 'a';
	longname[MAILBOX_NAME_MAX + 1] = '\0';
	assert_false(mailbox_name_ok(longname));
	/* Fine names. */
	assert_true(mailbox_name_ok("Sent"));
	assert_true(mailbox_name_ok("a b.c&-d"));
	assert_true(mailbox_name_ok("~peter"));
	assert_true(mailbox_name_ok("&ZeVnLIqe-"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc3501_examples),
		cmocka_unit_test(test_mutf7_refused),
		cmocka_unit_test(test_folders_as_dovecot_lays_them_out),
		cmocka_unit_test(test_hostile_names_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
