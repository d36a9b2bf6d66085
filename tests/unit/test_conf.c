/*
 * test_conf.c - libcommon/conf: postern.conf loading. The defaults alone
 * must load; a good file with comments and continuation lines must load;
 * every kind of mistake must be refused with "name:LINE:" naming the line
 * that holds it, so "postern check" can point at it.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "confedit.h"

static char tmpdir[4096];

static int
setup_tmpdir(void **state)
{
	const char *base = getenv("POSTERN_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/conf.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_tmpdir(void **state)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/postern.conf", tmpdir);
	unlink(path);
	return rmdir(tmpdir);
}

/* Writes len bytes of text to <tmpdir>/postern.conf; returns the path. */
static const char *
write_conf(const char *text, size_t len)
{
	static char	 path[4200];
	FILE		*fp;

	snprintf(path, sizeof(path), "%s/postern.conf", tmpdir);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

/* Loading text must fail with an error that starts with "name:line:". */
static void
assert_error_at(const char *text, int line, const char *what)
{
	struct conf	c;
	char		err[512], want[64];

	memset(err, 0, sizeof(err));
	if (conf_load_string(&c, "t.conf", text, err, sizeof(err)) != -1)
		fail_msg("accepted: %s", text);
	snprintf(want, sizeof(want), "t.conf:%d: ", line);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	if (what != NULL && strstr(err, what) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err, what);
}

static void
test_null_path_loads_builtin_defaults(void **state)
{
	struct conf	c;
	char		err[256] = "";

	assert_int_equal(conf_load(&c, NULL, err, sizeof(err)), 0);
	assert_string_equal(c.myhostname, "localhost");
	assert_int_equal(c.local_domains.n, 1);
	assert_string_equal(c.local_domains.v[0], "localhost");
	assert_int_equal(c.mynetworks.n, 2);
	assert_string_equal(c.mynetworks.v[0], "127.0.0.0/8");
	assert_string_equal(c.mynetworks.v[1], "::1/128");
	assert_int_equal(c.smtp_listen.n, 2);
	assert_string_equal(c.smtp_listen.v[1], "[::1]:2525");
	assert_string_equal(c.spool_directory, "/var/spool/postern");
	assert_int_equal(c.message_size_limit, 50ULL * 1024 * 1024);
	/* As Postfix: lines of any length, MAIL before HELO. */
	assert_int_equal(c.smtpd_max_line_length, 0);
	assert_int_equal(c.smtpd_helo_required, 0);
	assert_int_equal(c.smtpd_recipient_limit, 1000);
	assert_int_equal(c.smtpd_timeout, 300);
	assert_int_equal(c.queue_lifetime, 5 * 86400);
	assert_int_equal(c.restart_backoff_max, 30);
	assert_int_equal(c.smtpd_chroot, 1);
	assert_int_equal(c.smtpd_vrfy, 0);
	assert_int_equal(c.group_commit, 1);
	assert_int_equal(c.allow_alias_commands, 0);
	assert_int_equal(c.local_delivery_concurrency, 4);
	conf_free(&c);
}

static void
test_file_with_comments_blank_lines_and_continuations_loads(void **state)
{
	static const char text[] =
	    "# Postern test configuration\n"
	    "\n"
	    "myhostname = mx.example.org\n"
	    "   \t\n"
	    "local_domains = example.org,\n"
	    "    example.net\n"
	    "\texample.com\n"
	    "# a comment between keys\n"
	    "mynetworks = 10.0.0.0/8 192.0.2.0/24\r\n"
	    "message_size_limit = 10M\n"
	    "smtpd_max_line_length = 64k\n"
	    "smtpd_helo_required = yes\n"
	    "smtpd_recipient_limit=50\n"
	    "smtpd_timeout = 2m\n"
	    "queue_lifetime = 1w\n"
	    "smtpd_vrfy = yes\n"
	    "group_commit = off\n"
	    "smtpd_banner = ESMTP  Postern   test\n"
	    "spool_directory = /tmp/postern spool\n"
	    "local_delivery_concurrency = 256";	/* no final newline */
	struct conf	c;
	char		err[256] = "";
	const char	*path = write_conf(text, sizeof(text) - 1);

	if (conf_load(&c, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.path, path);
	assert_string_equal(c.myhostname, "mx.example.org");
	assert_int_equal(c.local_domains.n, 3);
	assert_string_equal(c.local_domains.v[0], "example.org");
	assert_string_equal(c.local_domains.v[1], "example.net");
	assert_string_equal(c.local_domains.v[2], "example.com");
	assert_int_equal(c.mynetworks.n, 2);
	assert_string_equal(c.mynetworks.v[1], "192.0.2.0/24");
	assert_int_equal(c.message_size_limit, 10ULL * 1024 * 1024);
	assert_int_equal(c.smtpd_max_line_length, 64 * 1024);
	assert_int_equal(c.smtpd_helo_required, 1);
	assert_int_equal(c.smtpd_recipient_limit, 50);
	assert_int_equal(c.smtpd_timeout, 120);
	assert_int_equal(c.queue_lifetime, 7 * 86400);
	assert_int_equal(c.smtpd_vrfy, 1);
	assert_int_equal(c.group_commit, 0);
	assert_string_equal(c.smtpd_banner, "ESMTP  Postern   test");
	assert_string_equal(c.spool_directory, "/tmp/postern spool");
	assert_int_equal(c.local_delivery_concurrency, 256);
	/* keys not in the file keep their defaults */
	assert_string_equal(c.queue_user, "postern-queue");
	assert_int_equal(c.smtpd_data_timeout, 600);
	conf_free(&c);
}

static void
test_missing_file_is_an_error_naming_the_file(void **state)
{
	struct conf	c;
	char		err[512] = "", path[4200];

	snprintf(path, sizeof(path), "%s/does-not-exist.conf", tmpdir);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void
test_unknown_key_reports_its_line(void **state)
{
	assert_error_at("myhostname = a\n\n# c\nno_such_key = 1\n", 4,
	    "unknown key");
}

static void
test_malformed_key_name_reports_its_line(void **state)
{
	assert_error_at("\nMyHostname = a\n", 2, NULL);
	assert_error_at("my-hostname = a\n", 1, NULL);
	assert_error_at(" = a\n", 1, "continuation");	/* leading blank */
	assert_error_at("= a\n", 1, NULL);
}

static void
test_repeated_key_reports_second_line(void **state)
{
	assert_error_at("myhostname = a\nsmtpd_vrfy = no\nmyhostname = b\n", 3,
	    "more than once");
}

static void
test_missing_equals_reports_its_line(void **state)
{
	assert_error_at("myhostname = a\nsmtpd_vrfy yes\n", 2, "key = value");
}

static void
test_continued_line_error_reports_the_key_line(void **state)
{
	/* the logical line starts on line 2; its error is reported there */
	assert_error_at("myhostname = a\nsmtpd_recipient_limit = 1\n  0x\n"
	    "smtpd_vrfy = no\n", 2, "smtpd_recipient_limit");
}

static void
test_bad_number_reports_its_line(void **state)
{
	assert_error_at("\nsmtpd_recipient_limit = lots\n", 2, "number");
	assert_error_at("\n\nsmtpd_recipient_limit = 0\n", 3, "number");
	assert_error_at("smtpd_recipient_limit = 100001\n", 1, "number");
	assert_error_at("smtpd_recipient_limit = 10x\n", 1, "number");
	assert_error_at("smtpd_recipient_limit =\n", 1, "number");
	assert_error_at("smtpd_recipient_limit = 99999999999999999999999\n", 1,
	    "number");
}

static void
test_bad_size_reports_its_line(void **state)
{
	assert_error_at("#\nmessage_size_limit = big\n", 2, "size");
	assert_error_at("message_size_limit = 10T\n", 1, "size");
	assert_error_at("message_size_limit = -1\n", 1, "size");
	assert_error_at("message_size_limit = 99999999999G\n", 1, "size");
}

static void
test_bad_duration_reports_its_line(void **state)
{
	assert_error_at("\n\n\nsmtpd_timeout = 5 minutes\n", 4, "duration");
	assert_error_at("smtpd_timeout = 5y\n", 1, "duration");
	assert_error_at("smtpd_timeout = m\n", 1, "duration");
}

static void
test_bad_bool_reports_its_line(void **state)
{
	assert_error_at("myhostname = a\nsmtpd_vrfy = maybe\n", 2, "yes or no");
	assert_error_at("smtpd_vrfy = 2\n", 1, "yes or no");
	assert_error_at("smtpd_vrfy =\n", 1, "yes or no");
}

static void
test_relative_path_reports_its_line(void **state)
{
	assert_error_at("myhostname = a\n\nspool_directory = var/spool\n", 3,
	    "absolute");
	assert_error_at("pid_file = ./postern.pid\n", 1, "absolute");
	assert_error_at("map_directory =\n", 1, "absolute");
}

static void
test_continuation_without_key_reports_its_line(void **state)
{
	assert_error_at("  myhostname = a\n", 1, "continuation");
	assert_error_at("# comment\n\n\tlocal_domains = a\n", 3, "continuation");
}

static void
test_value_of_255_bytes_loads_and_256_reports_its_line(void **state)
{
	char		text[600], err[512];
	struct conf	c;
	int		n;

	n = snprintf(text, sizeof(text), "smtpd_banner = %0255d\n", 0);
	assert_true(n > 0);
	assert_int_equal(conf_load_string(&c, "t.conf", text, err,
	    sizeof(err)), 0);
	assert_int_equal(strlen(c.smtpd_banner), 255);
	conf_free(&c);
	snprintf(text, sizeof(text), "myhostname = a\nsmtpd_banner = %0256d\n",
	    0);
	assert_error_at(text, 2, "longer");
	/* a path gets the same limit */
	snprintf(text, sizeof(text), "\nspool_directory = /%0300d\n", 0);
	assert_error_at(text, 2, "longer");
	/* and a value made long by continuation lines */
	snprintf(text, sizeof(text), "smtpd_banner = %0200d\n %0200d\n", 0, 0);
	assert_error_at(text, 1, "longer");
}

static void
test_nul_byte_in_file_reports_its_line(void **state)
{
	static const char text[] = "myhostname = a\nsmtpd_banner = x\0y\nz = 1\n";
	struct conf	c;
	char		err[512] = "", want[4300];
	const char	*path = write_conf(text, sizeof(text) - 1);

	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s:2: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", err, want);
	assert_non_null(strstr(err, "NUL"));
}

static void
test_semantic_checks_reject_empty_domains_and_bad_retry(void **state)
{
	struct conf	c;
	char		err[512];

	assert_int_equal(conf_load_string(&c, "t.conf", "local_domains = , ,\n",
	    err, sizeof(err)), -1);
	assert_non_null(strstr(err, "local_domains"));
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "queue_retry_min = 2h\nqueue_retry_max = 1h\n", err, sizeof(err)),
	    -1);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "queue_retry_min = 0\n", err, sizeof(err)), -1);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "message_size_limit = 1023\n", err, sizeof(err)), -1);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "message_size_limit = 1k\n", err, sizeof(err)), 0);
	conf_free(&c);
}

static void
test_recipient_delimiter_default_empty_and_refused(void **state)
{
	struct conf	c;
	char		err[512];

	assert_int_equal(conf_load_string(&c, "t.conf", "", err,
	    sizeof(err)), 0);
	assert_string_equal(c.recipient_delimiter, "+");
	conf_free(&c);
	/* Empty: plus addressing off. */
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "recipient_delimiter =\n", err, sizeof(err)), 0);
	assert_string_equal(c.recipient_delimiter, "");
	conf_free(&c);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "recipient_delimiter = +-_=\n", err, sizeof(err)), 0);
	conf_free(&c);
	/* A character a mailbox name could not hold, or "." and "@". */
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "recipient_delimiter = .\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "recipient_delimiter"));
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "recipient_delimiter = +@\n", err, sizeof(err)), -1);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "recipient_delimiter = %\n", err, sizeof(err)), -1);
}

static void
test_size_parser_scales_and_rejects_overflow(void **state)
{
	uint64_t v;

	assert_int_equal(conf_parse_size("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(conf_parse_size("10485760", &v), 0);
	assert_int_equal(v, 10485760);
	assert_int_equal(conf_parse_size("512k", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(conf_parse_size("512K", &v), 0);
	assert_int_equal(v, 512 * 1024);
	assert_int_equal(conf_parse_size("50M", &v), 0);
	assert_int_equal(v, 50ULL << 20);
	assert_int_equal(conf_parse_size("50m", &v), 0);
	assert_int_equal(v, 50ULL << 20);
	assert_int_equal(conf_parse_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(conf_parse_size("18446744073709551615", &v), 0);
	assert_int_equal(v, UINT64_MAX);
	/* the largest G that fits, then one more */
	assert_int_equal(conf_parse_size("17179869183G", &v), 0);
	assert_int_equal(v, 17179869183ULL << 30);
	assert_int_equal(conf_parse_size("17179869184G", &v), -1);
	assert_int_equal(conf_parse_size("18014398509481984k", &v), -1);
	assert_int_equal(conf_parse_size("18446744073709551616", &v), -1);
	assert_int_equal(conf_parse_size("", &v), -1);
	assert_int_equal(conf_parse_size("k", &v), -1);
	assert_int_equal(conf_parse_size("-1", &v), -1);
	assert_int_equal(conf_parse_size("+1", &v), -1);
	assert_int_equal(conf_parse_size(" 1", &v), -1);
	assert_int_equal(conf_parse_size("1 k", &v), -1);
	assert_int_equal(conf_parse_size("1kk", &v), -1);
	assert_int_equal(conf_parse_size("1kb", &v), -1);
	assert_int_equal(conf_parse_size("1T", &v), -1);
	assert_int_equal(conf_parse_size("1.5M", &v), -1);
	assert_int_equal(conf_parse_size("0x10", &v), -1);
}

static void
test_duration_parser_scales_and_rejects_overflow(void **state)
{
	time_t t;

	assert_int_equal(conf_parse_duration("0", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(conf_parse_duration("45", &t), 0);
	assert_int_equal(t, 45);
	assert_int_equal(conf_parse_duration("30s", &t), 0);
	assert_int_equal(t, 30);
	assert_int_equal(conf_parse_duration("5m", &t), 0);
	assert_int_equal(t, 300);
	assert_int_equal(conf_parse_duration("2h", &t), 0);
	assert_int_equal(t, 7200);
	assert_int_equal(conf_parse_duration("5d", &t), 0);
	assert_int_equal(t, 432000);
	assert_int_equal(conf_parse_duration("2w", &t), 0);
	assert_int_equal(t, 1209600);
	assert_int_equal(conf_parse_duration("2147483647", &t), 0);
	assert_int_equal(t, 2147483647);
	assert_int_equal(conf_parse_duration("2147483648", &t), -1);
	assert_int_equal(conf_parse_duration("3550w", &t), 0);
	assert_int_equal(t, 3550 * 604800);
	assert_int_equal(conf_parse_duration("3551w", &t), -1);
	assert_int_equal(conf_parse_duration("99999999999999999999w", &t), -1);
	assert_int_equal(conf_parse_duration("30503505929505949w", &t), -1);
	assert_int_equal(conf_parse_duration("", &t), -1);
	assert_int_equal(conf_parse_duration("s", &t), -1);
	assert_int_equal(conf_parse_duration("1S", &t), -1);
	assert_int_equal(conf_parse_duration("1M", &t), -1);
	assert_int_equal(conf_parse_duration("1y", &t), -1);
	assert_int_equal(conf_parse_duration("1ms", &t), -1);
	assert_int_equal(conf_parse_duration("-5m", &t), -1);
	assert_int_equal(conf_parse_duration("5 m", &t), -1);
}

static void
test_bool_parser_accepts_yes_no_spellings_only(void **state)
{
	static const char *yes[] = { "yes", "YES", "true", "True", "1", "on",
	    "ON" };
	static const char *no[] = { "no", "No", "false", "FALSE", "0", "off" };
	static const char *bad[] = { "", "y", "n", "2", "yess", "enable",
	    " yes", "01" };
	size_t	i;
	int	v;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		v = -1;
		assert_int_equal(conf_parse_bool(yes[i], &v), 0);
		assert_int_equal(v, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		v = -1;
		assert_int_equal(conf_parse_bool(no[i], &v), 0);
		assert_int_equal(v, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (conf_parse_bool(bad[i], &v) != -1)
			fail_msg("\"%s\" parsed as a bool", bad[i]);
}

static void
test_lists_split_on_commas_and_white_space(void **state)
{
	struct conf	c;
	char		err[256];

	assert_int_equal(conf_load_string(&c, "t.conf",
	    "local_domains = ,a.example,, b.example\t,c.example  d.example,\n",
	    err, sizeof(err)), 0);
	assert_int_equal(c.local_domains.n, 4);
	assert_string_equal(c.local_domains.v[0], "a.example");
	assert_string_equal(c.local_domains.v[1], "b.example");
	assert_string_equal(c.local_domains.v[2], "c.example");
	assert_string_equal(c.local_domains.v[3], "d.example");
	conf_free(&c);
}

static void
test_local_domain_match_is_case_insensitive_and_exact(void **state)
{
	struct conf	c;
	char		err[256];

	assert_int_equal(conf_load_string(&c, "t.conf",
	    "local_domains = Example.ORG, mail.example.net\n", err,
	    sizeof(err)), 0);
	assert_true(conf_is_local_domain(&c, "example.org"));
	assert_true(conf_is_local_domain(&c, "EXAMPLE.org"));
	assert_true(conf_is_local_domain(&c, "MAIL.example.NET"));
	assert_false(conf_is_local_domain(&c, "example.net"));
	assert_false(conf_is_local_domain(&c, "sub.example.org"));
	assert_false(conf_is_local_domain(&c, "example.org."));
	assert_false(conf_is_local_domain(&c, ""));
	assert_false(conf_is_local_domain(&c, "localhost"));
	conf_free(&c);
}

static void
test_dump_prints_every_key_in_loadable_form(void **state)
{
	struct conf	 c, c2;
	char		 err[256], *text = NULL;
	size_t		 len = 0;
	FILE		*fp;

	assert_int_equal(conf_load_string(&c, "t.conf",
	    "local_domains = a.example b.example\nsmtpd_timeout = 2m\n", err,
	    sizeof(err)), 0);
	assert_non_null(fp = open_memstream(&text, &len));
	conf_dump(&c, fp);
	assert_int_equal(fclose(fp), 0);
	assert_non_null(strstr(text, "local_domains = a.example, b.example\n"));
	/* durations and sizes in their largest exact unit */
	assert_non_null(strstr(text, "smtpd_timeout = 2m\n"));
	assert_non_null(strstr(text, "message_size_limit = 50M\n"));
	/* the dump is itself a valid configuration with the same values */
	if (conf_load_string(&c2, "dump", text, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c2.smtpd_timeout, 120);
	assert_int_equal(c2.local_domains.n, 2);
	assert_int_equal(c2.message_size_limit, c.message_size_limit);
	conf_free(&c2);
	conf_free(&c);
	free(text);
}


/*
 * "myhostname = mx.example.org   # our MX" once put "# our MX" into the
 * SMTP greeting: a "#" after white space in a value is refused, naming
 * the line and saying what to do.
 */
static void
test_comment_after_a_value_is_refused_with_its_line(void **state)
{
	assert_error_at("myhostname = mx.example.org   # our MX\n", 1,
	    "comment must be on a line of its own");
	assert_error_at("# ok\nmyhostname = mx.example.org\t#tab\n", 2,
	    "\"#tab\"");
	assert_error_at("smtpd_banner = # nothing but a comment\n", 1,
	    "line above");
	/* In a continued list the error names the key's line. */
	assert_error_at("\nmynetworks = 10.0.0.0/8,\n  192.0.2.0/24 # lab\n",
	    2, "mynetworks");
	/* After a list's comma, too: a word never begins with "#". */
	assert_error_at("mynetworks = 10.0.0.0/8,#lab\n", 1, "\"#lab\"");
	/* A number with a comment was refused before too, now saying why. */
	assert_error_at("smtpd_recipient_limit = 50 # enough\n", 1,
	    "comment");
}

static void
test_hash_inside_a_word_is_part_of_the_value(void **state)
{
	struct conf	c;
	char		err[256];

	if (conf_load_string(&c, "t.conf", "smtpd_banner = ESMTP Postern#1\n"
	    "# a comment line\n  # an indented comment line\n", err,
	    sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.smtpd_banner, "ESMTP Postern#1");
	conf_free(&c);
}

static void
test_key_line_names_where_each_key_was_set(void **state)
{
	struct conf	c;
	char		err[256];

	assert_int_equal(conf_load_string(&c, "t.conf", "# first\n\n"
	    "mynetworks = 10.0.0.0/8,\n  192.0.2.0/24\nmyhostname = a.example\n",
	    err, sizeof(err)), 0);
	assert_int_equal(conf_key_line(&c, "mynetworks"), 3);
	assert_int_equal(conf_key_line(&c, "myhostname"), 5);
	assert_int_equal(conf_key_line(&c, "smtp_listen"), 0);
	assert_int_equal(conf_key_line(&c, "no_such_key"), 0);
	assert_true(conf_key_known("pop3_listen"));
	assert_false(conf_key_known("pop3_listen "));
	assert_string_equal(conf_key_name(0), "myhostname");
	conf_free(&c);
}

static void
test_value_spells_each_type_as_the_file_takes_it(void **state)
{
	struct conf	 c;
	char		 err[256], *v;

	assert_int_equal(conf_load_string(&c, "t.conf",
	    "queue_lifetime = 172800\nmessage_size_limit = 1025\n"
	    "smtpd_max_line_length = 2048\nsmtpd_max_idle = 90\n"
	    "mynetworks = 10.0.0.0/8 ::1/128\n", err, sizeof(err)), 0);
	assert_non_null(v = conf_value(&c, "queue_lifetime"));
	assert_string_equal(v, "2d");
	free(v);
	assert_non_null(v = conf_value(&c, "message_size_limit"));
	assert_string_equal(v, "1025");
	free(v);
	assert_non_null(v = conf_value(&c, "smtpd_max_line_length"));
	assert_string_equal(v, "2k");
	free(v);
	assert_non_null(v = conf_value(&c, "smtpd_max_idle"));
	assert_string_equal(v, "90s");
	free(v);
	assert_non_null(v = conf_value(&c, "mynetworks"));
	assert_string_equal(v, "10.0.0.0/8, ::1/128");
	free(v);
	assert_non_null(v = conf_value(&c, "smtpd_vrfy"));
	assert_string_equal(v, "no");
	free(v);
	assert_null(conf_value(&c, "nope"));
	conf_free(&c);
}

/* postern status and stop read what they can of a broken file. */
static void
test_lenient_load_skips_bad_lines_and_keeps_the_rest(void **state)
{
	static const char text[] = "pid_file = /tmp/x.pid\nbogus = 1\n"
	    "spool_directory = relative\nmyhostname = a.example\n";
	struct conf	c;
	char		err[256] = "";
	const char	*path = write_conf(text, sizeof(text) - 1);

	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -1);
	assert_int_equal(conf_load_lenient(&c, path, err, sizeof(err)), 1);
	assert_non_null(strstr(err, ":2: unknown key"));
	assert_string_equal(c.pid_file, "/tmp/x.pid");
	assert_string_equal(c.myhostname, "a.example");
	assert_string_equal(c.spool_directory, "/var/spool/postern");
	conf_free(&c);
	path = write_conf("myhostname = b.example\n", 23);
	assert_int_equal(conf_load_lenient(&c, path, err, sizeof(err)), 0);
	conf_free(&c);
}

static void
assert_edit(const char *text, const char *key, const char *value,
    const char *want)
{
	char *out = confedit_set(text, key, value);

	assert_non_null(out);
	if (strcmp(out, want) != 0)
		fail_msg("edit of \"%s\" gave \"%s\", want \"%s\"", text, out,
		    want);
	free(out);
}

static void
test_edit_replaces_the_key_line_and_keeps_the_rest(void **state)
{
	/* the line, in place; comments and other keys untouched */
	assert_edit("# top\nmyhostname = a\n# after\nsmtpd_vrfy = no\n",
	    "myhostname", "mx.example.org",
	    "# top\nmyhostname = mx.example.org\n# after\nsmtpd_vrfy = no\n");
	/* continuation lines go with it; a comment among them stays */
	assert_edit("mynetworks = 10.0.0.0/8,\n  # lab\n\t192.0.2.0/24\n"
	    "myhostname = a\n", "mynetworks", "127.0.0.0/8",
	    "mynetworks = 127.0.0.0/8\n  # lab\nmyhostname = a\n");
	/* a key that is only a prefix of another is another key */
	assert_edit("smtpd_timeout = 1m\n", "smtpd_time", "x",
	    "smtpd_timeout = 1m\nsmtpd_time = x\n");
	/* a commented-out key is not set: append */
	assert_edit("#myhostname = old\n", "myhostname", "new",
	    "#myhostname = old\nmyhostname = new\n");
	/* no final newline, an empty file, an empty value */
	assert_edit("smtpd_vrfy = no", "myhostname", "a",
	    "smtpd_vrfy = no\nmyhostname = a\n");
	assert_edit("", "myhostname", "a", "myhostname = a\n");
	assert_edit("pop3_listen=x\n", "pop3_listen", "", "pop3_listen = \n");
	/* the last line, without its newline */
	assert_edit("myhostname = a", "myhostname", "b", "myhostname = b\n");
	/* the key alone, "=" on its continuation (found by fuzz_conf) */
	assert_edit("myhostname\n  # note\n = old\nsmtpd_vrfy = no\n",
	    "myhostname", "new",
	    "myhostname = new\n  # note\nsmtpd_vrfy = no\n");
	/* the key alone with no "=" after it is no setting of it */
	assert_edit("myhostname\nsmtpd_vrfy = no\n", "myhostname", "new",
	    "myhostname\nsmtpd_vrfy = no\nmyhostname = new\n");
}

static void
test_edit_refuses_a_line_break_or_a_bad_key(void **state)
{
	assert_null(confedit_set("", "myhostname", "a\nbogus = 1"));
	assert_null(confedit_set("", "myhostname", "a\rb"));
	assert_null(confedit_set("", "My_Host", "a"));
	assert_null(confedit_set("", "", "a"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_null_path_loads_builtin_defaults),
		cmocka_unit_test(test_file_with_comments_blank_lines_and_continuations_loads),
		cmocka_unit_test(test_missing_file_is_an_error_naming_the_file),
		cmocka_unit_test(test_unknown_key_reports_its_line),
		cmocka_unit_test(test_malformed_key_name_reports_its_line),
		cmocka_unit_test(test_repeated_key_reports_second_line),
		cmocka_unit_test(test_missing_equals_reports_its_line),
		cmocka_unit_test(test_continued_line_error_reports_the_key_line),
		cmocka_unit_test(test_bad_number_reports_its_line),
		cmocka_unit_test(test_bad_size_reports_its_line),
		cmocka_unit_test(test_bad_duration_reports_its_line),
		cmocka_unit_test(test_bad_bool_reports_its_line),
		cmocka_unit_test(test_relative_path_reports_its_line),
		cmocka_unit_test(test_continuation_without_key_reports_its_line),
		cmocka_unit_test(test_value_of_255_bytes_loads_and_256_reports_its_line),
		cmocka_unit_test(test_nul_byte_in_file_reports_its_line),
		cmocka_unit_test(test_semantic_checks_reject_empty_domains_and_bad_retry),
		cmocka_unit_test(test_recipient_delimiter_default_empty_and_refused),
		cmocka_unit_test(test_size_parser_scales_and_rejects_overflow),
		cmocka_unit_test(test_duration_parser_scales_and_rejects_overflow),
		cmocka_unit_test(test_bool_parser_accepts_yes_no_spellings_only),
		cmocka_unit_test(test_lists_split_on_commas_and_white_space),
		cmocka_unit_test(test_local_domain_match_is_case_insensitive_and_exact),
		cmocka_unit_test(test_dump_prints_every_key_in_loadable_form),
		cmocka_unit_test(test_comment_after_a_value_is_refused_with_its_line),
		cmocka_unit_test(test_hash_inside_a_word_is_part_of_the_value),
		cmocka_unit_test(test_key_line_names_where_each_key_was_set),
		cmocka_unit_test(test_value_spells_each_type_as_the_file_takes_it),
		cmocka_unit_test(test_lenient_load_skips_bad_lines_and_keeps_the_rest),
		cmocka_unit_test(test_edit_replaces_the_key_line_and_keeps_the_rest),
		cmocka_unit_test(test_edit_refuses_a_line_break_or_a_bad_key),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
