/*
 * test_tls_policy.c - the outbound TLS policy: level names, the policy
 * map's syntax (what it refuses and why), its bounds, and lookups
 * (exact, then the nearest ".parent").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "conf.h"
#include "tls.h"

static void
test_levels(void **state)
{
	enum tls_level l;

	(void)state;
	assert_int_equal(tls_level_parse("none", &l), 0);
	assert_int_equal(l, TLS_LEVEL_NONE);
	assert_int_equal(tls_level_parse("MAY", &l), 0);
	assert_int_equal(l, TLS_LEVEL_MAY);
	assert_int_equal(tls_level_parse("encrypt", &l), 0);
	assert_int_equal(tls_level_parse("dane", &l), 0);
	assert_int_equal(l, TLS_LEVEL_DANE);
	assert_int_equal(tls_level_parse("verify", &l), 0);
	assert_int_equal(l, TLS_LEVEL_VERIFY);
	assert_int_equal(tls_level_parse("secure", &l), -1);
	assert_int_equal(tls_level_parse("", &l), -1);
	assert_string_equal(tls_level_name(TLS_LEVEL_ENCRYPT), "encrypt");
}

static void
test_default_level_is_may(void **state)
{
	struct conf	c;
	char		err[256];
	enum tls_level	l;

	(void)state;
	assert_int_equal(conf_load_string(&c, "t.conf", "", err,
	    sizeof(err)), 0);
	assert_int_equal(tls_level_parse(c.smtp_tls_security_level, &l), 0);
	assert_int_equal(l, TLS_LEVEL_MAY);
	assert_string_equal(c.smtp_tls_policy_map, "");
	assert_string_equal(c.smtp_tls_CAfile, "");
	conf_free(&c);
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "smtp_tls_CAfile = /etc/ssl/ca.pem\n", err, sizeof(err)), 0);
	assert_string_equal(c.smtp_tls_CAfile, "/etc/ssl/ca.pem");
	conf_free(&c);
}

static void
test_parse_and_find(void **state)
{
	struct tls_policy		 pl;
	const struct tls_policy_entry	*e;
	char				 err[256];
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "Example.ORG\tverify match=hostname:nexthop:mx.example.org\n"
	    ".example.org encrypt\r\n"
	    "plain.test none\n"
	    "  dane.test   dane  \n"
	    "may.test may";

	(void)state;
	assert_int_equal(tls_policy_parse("p", text, sizeof(text) - 1, &pl,
	    err, sizeof(err)), 0);
	assert_int_equal(pl.n, 5);
	e = tls_policy_find(&pl, "example.org");
	assert_non_null(e);
	assert_int_equal(e->level, TLS_LEVEL_VERIFY);
	assert_string_equal(e->match, "hostname:nexthop:mx.example.org");
	assert_int_equal(e->line, 3);
	/* Below: the ".parent" entry, at any depth; case does not matter. */
	e = tls_policy_find(&pl, "A.b.Example.org");
	assert_non_null(e);
	assert_int_equal(e->level, TLS_LEVEL_ENCRYPT);
	assert_null(tls_policy_find(&pl, "xexample.org"));
	assert_null(tls_policy_find(&pl, "org"));
	assert_int_equal(tls_policy_find(&pl, "plain.test")->level,
	    TLS_LEVEL_NONE);
	assert_int_equal(tls_policy_find(&pl, "dane.test")->level,
	    TLS_LEVEL_DANE);
	assert_int_equal(tls_policy_find(&pl, "may.test")->level,
	    TLS_LEVEL_MAY);
	/* "plain.test" is not ".plain.test": its subdomains are not it. */
	assert_null(tls_policy_find(&pl, "a.plain.test"));
	tls_policy_free(&pl);

	/* Empty: nothing found. */
	assert_int_equal(tls_policy_parse("p", "", 0, &pl, err, sizeof(err)),
	    0);
	assert_null(tls_policy_find(&pl, "example.org"));
	tls_policy_free(&pl);
}

static void
refused_n(const char *text, size_t len, const char *want)
{
	struct tls_policy	pl;
	char			err[256];

	assert_int_equal(tls_policy_parse("p", text, len, &pl, err,
	    sizeof(err)), -1);
	if (strstr(err, want) == NULL)
		fail_msg("\"%s\": got \"%s\", want \"%s\"", text, err, want);
	assert_null(pl.v);
	assert_int_equal(pl.n, 0);
}

static void
refused(const char *text, const char *want)
{
	refused_n(text, strlen(text), want);
}

static void
test_refusals(void **state)
{
	char *big;

	(void)state;
	refused("example.org\n", "p:1: expected \"domain level");
	refused("example.org sometimes\n", "p:1: unknown level \"sometimes\"");
	refused("exa mple.org may x\n", "p:1: unknown level \"mple.org\"");
	refused("# ok\nexample..org may\n", "p:2: \"example..org\" is not a "
	    "domain");
	refused("ex\xc3\xa4mple.org may\n", "is not a domain");
	refused("example.org. may\n", "is not a domain");
	refused("example.org may match=a.org\n", "p:1: match= needs level "
	    "verify or dane");
	refused("example.org verify match=\n", "match= wants");
	refused("example.org verify match=a::b\n", "match= wants");
	refused("example.org verify match=a:\n", "match= wants");
	refused("example.org verify match=a\rb\n", "match= wants");
	refused("example.org verify match=a match=b\n", "only one match=");
	refused("example.org verify protocols=TLSv1.3\n", "unexpected "
	    "\"protocols=TLSv1.3\"");
	refused("b.org may\na.org may\nB.ORG encrypt\n", "p:3: \"b.org\" is "
	    "listed again (first at line 1)");
	refused_n("a.org\0 may\n", 11, "p:1: line too long or not text");
	refused("a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q:r", "expected");
	/* Seventeen names: over TLS_MATCH_NAMES. */
	refused("a.org verify match=a:b:c:d:e:f:g:h:i:j:k:l:m:n:o:p:q\n",
	    "match= wants at most 16");

	/* A line over the limit, and more entries than allowed. */
	assert_non_null(big = malloc(TLS_POLICY_MAX * 16 + 4096));
	memset(big, 'a', 3000);
	memcpy(big + 3000, ".org may\n", 10);
	refused(big, "p:1: line too long");
	big[0] = '\0';
	for (int i = 0; i <= TLS_POLICY_MAX; i++) {
		char line[32];

		snprintf(line, sizeof(line), "d%d.org may\n", i);
		strcat(big, line);
	}
	refused(big, "more than 10000 entries");
	free(big);
}

static void
test_tlsa_usable(void **state)
{
	struct tls_tlsa r;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.usage = 3;
	r.selector = 1;
	r.mtype = 1;
	r.len = 32;
	assert_true(tls_tlsa_usable(&r));
	r.usage = 2;
	assert_true(tls_tlsa_usable(&r));
	/* PKIX-TA(0) and PKIX-EE(1) are not for SMTP (RFC 7672 3.1.3). */
	r.usage = 1;
	assert_false(tls_tlsa_usable(&r));
	r.usage = 0;
	assert_false(tls_tlsa_usable(&r));
	r.usage = 3;
	r.mtype = 2;
	assert_false(tls_tlsa_usable(&r));	/* SHA-512 is 64 bytes */
	r.len = 64;
	assert_true(tls_tlsa_usable(&r));
	r.mtype = 0;				/* the full certificate */
	assert_false(tls_tlsa_usable(&r));
	r.mtype = 1;
	r.len = 32;
	r.selector = 2;
	assert_false(tls_tlsa_usable(&r));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_default_level_is_may),
		cmocka_unit_test(test_parse_and_find),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_tlsa_usable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
