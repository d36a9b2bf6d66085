/*
 * test_confcheck.c - libcommon/confcheck: the checks start, reload and
 * "postern check" share. Each finding names "file:line: key:" of the
 * key it is about, so master's refusal points where check's does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "confcheck.h"

struct seen {
	char	errors[4096];
	char	warnings[4096];
};

static void
collect(void *arg, enum confcheck_level level, const char *msg)
{
	struct seen	*s = arg;
	char		*to = level == CONFCHECK_ERROR ? s->errors : s->warnings;
	size_t		 len = strlen(to);

	snprintf(to + len, 4096 - len, "%s\n", msg);
}

/* Checks text; returns the error count, findings in *s. */
static int
check_text(const char *text, struct seen *s)
{
	struct conf		c;
	struct confcheck_result	res;
	char			err[512];

	memset(s, 0, sizeof(*s));
	if (conf_load_string(&c, "t.conf", text, err, sizeof(err)) != 0)
		fail_msg("did not load: %s", err);
	confcheck_run(&c, collect, s, &res);
	conf_free(&c);
	return res.errors;
}

static void
test_bad_network_is_an_error_naming_its_line(void **state)
{
	struct seen s;

	/* The reload that crash-looped smtpd ten times: /33. */
	assert_int_not_equal(check_text("# x\nmynetworks = 127.0.0.0/8, "
	    "10.0.0.0/33\n", &s), 0);
	assert_non_null(strstr(s.errors, "t.conf:2: mynetworks: "
	    "\"10.0.0.0/33\" is not an address or network"));
}

static void
test_listener_addresses_must_be_literal_and_distinct(void **state)
{
	struct seen s;

	check_text("smtp_listen = mail.example:25\npop3_listen = "
	    "127.0.0.1:110, 127.0.0.1:110\n", &s);
	assert_non_null(strstr(s.errors, "t.conf:1: smtp_listen: "
	    "\"mail.example:25\""));
	assert_non_null(strstr(s.errors, "t.conf:2: pop3_listen: "
	    "\"127.0.0.1:110\" is listed twice"));
	check_text("smtp_listen = 127.0.0.1:2525\npop3_listen = "
	    "127.0.0.1:2525\n", &s);
	assert_non_null(strstr(s.errors, "t.conf:2: pop3_listen: "
	    "\"127.0.0.1:2525\" is also in smtp_listen"));
	check_text("pop3s_listen = 127.0.0.1:993\nimaps_listen = "
	    "127.0.0.1:993\n", &s);
	assert_non_null(strstr(s.errors, "t.conf:2: imaps_listen: "
	    "\"127.0.0.1:993\" is also in pop3s_listen"));
	check_text("smtp_listen = 127.0.0.1:smtp\n", &s);
	assert_non_null(strstr(s.errors, "smtp_listen"));
	check_text("smtp_listen = 127.0.0.1\n", &s);
	assert_non_null(strstr(s.errors, "not host:port"));
}

static void
test_defaults_are_named_as_defaults(void **state)
{
	struct seen s;

	/* myhostname left at its default but broken elsewhere: no line. */
	check_text("smtp_listen =\n", &s);
	assert_non_null(strstr(s.warnings, "t.conf:1: smtp_listen: empty"));
	check_text("myhostname = -bad-\n", &s);
	assert_non_null(strstr(s.errors, "t.conf:1: myhostname: \"-bad-\" is "
	    "not a host name"));
	check_text("daemon_directory = /nonexistent/postern\n", &s);
	assert_non_null(strstr(s.errors, "t.conf:1: daemon_directory: "
	    "/nonexistent/postern/master is missing"));
	/* A key at its default has no line to name (a host with a real
	 * /var/lib/postern/mail has nothing to warn about). */
	check_text("\n", &s);
	if (access("/var/lib/postern/mail", F_OK) == -1)
		assert_non_null(strstr(s.warnings,
		    "t.conf: mail_store (default): "));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_network_is_an_error_naming_its_line),
		cmocka_unit_test(test_listener_addresses_must_be_literal_and_distinct),
		cmocka_unit_test(test_defaults_are_named_as_defaults),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
