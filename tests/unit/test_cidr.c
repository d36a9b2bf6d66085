/*
 * test_cidr.c - libcommon/cidr: the mynetworks prefixes that decide who may
 * relay. A wrong match here is an open relay, so boundaries are tested on
 * both sides and malformed prefixes must not parse.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"

/* Matches the textual client address (v4 or v6) against the prefix. */
static int
match(const char *prefix, const char *client)
{
	struct cidr		 c;
	struct sockaddr_in	 sin;
	struct sockaddr_in6	 sin6;

	if (cidr_parse(prefix, &c) == -1)
		fail_msg("prefix %s did not parse", prefix);
	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (inet_pton(AF_INET, client, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		return cidr_match(&c, (struct sockaddr *)&sin);
	}
	if (inet_pton(AF_INET6, client, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		return cidr_match(&c, (struct sockaddr *)&sin6);
	}
	fail_msg("client %s did not parse", client);
	return -1;
}

static void
test_parse_v4_prefix_and_bare_host(void **state)
{
	struct cidr	c;
	uint8_t		want[4] = { 10, 0, 0, 0 };

	assert_int_equal(cidr_parse("10.0.0.0/8", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 8);
	assert_memory_equal(c.addr, want, 4);
	assert_int_equal(cidr_parse("192.0.2.7", &c), 0);
	assert_int_equal(c.family, AF_INET);
	assert_int_equal(c.prefix, 32);
}

static void
test_parse_v6_prefix_with_and_without_brackets(void **state)
{
	struct cidr	c;
	uint8_t		one[16] = { 0 };

	one[15] = 1;
	assert_int_equal(cidr_parse("::1/128", &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_int_equal(c.prefix, 128);
	assert_memory_equal(c.addr, one, 16);
	assert_int_equal(cidr_parse("[::1]/128", &c), 0);
	assert_int_equal(c.family, AF_INET6);
	assert_memory_equal(c.addr, one, 16);
	assert_int_equal(cidr_parse("[2001:db8::]/32", &c), 0);
	assert_int_equal(c.prefix, 32);
	assert_int_equal(cidr_parse("2001:db8::5", &c), 0);
	assert_int_equal(c.prefix, 128);
}

static void
test_v4_prefix_matches_inside_and_not_just_outside(void **state)
{
	assert_true(match("192.0.2.0/24", "192.0.2.0"));
	assert_true(match("192.0.2.0/24", "192.0.2.255"));
	assert_false(match("192.0.2.0/24", "192.0.3.0"));
	assert_false(match("192.0.2.0/24", "192.0.1.255"));
	/* a prefix that is not a multiple of 8 */
	assert_true(match("10.0.0.0/9", "10.127.255.255"));
	assert_false(match("10.0.0.0/9", "10.128.0.0"));
	assert_true(match("172.16.0.0/12", "172.31.255.255"));
	assert_false(match("172.16.0.0/12", "172.32.0.0"));
	assert_false(match("172.16.0.0/12", "172.15.255.255"));
}

static void
test_v4_host_and_slash32_match_only_that_address(void **state)
{
	assert_true(match("192.0.2.7", "192.0.2.7"));
	assert_false(match("192.0.2.7", "192.0.2.6"));
	assert_false(match("192.0.2.7", "192.0.2.8"));
	assert_true(match("192.0.2.7/32", "192.0.2.7"));
	assert_false(match("192.0.2.7/32", "192.0.2.71"));
	assert_true(match("192.0.2.6/31", "192.0.2.7"));
	assert_false(match("192.0.2.6/31", "192.0.2.8"));
}

static void
test_slash0_matches_every_address_of_its_family_only(void **state)
{
	assert_true(match("0.0.0.0/0", "0.0.0.0"));
	assert_true(match("0.0.0.0/0", "255.255.255.255"));
	assert_false(match("0.0.0.0/0", "2001:db8::1"));
	assert_true(match("::/0", "2001:db8::1"));
	assert_true(match("::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(match("::/0", "192.0.2.1"));
}

static void
test_v6_prefix_boundaries(void **state)
{
	assert_true(match("::1/128", "::1"));
	assert_false(match("::1/128", "::2"));
	assert_false(match("::1/128", "::"));
	assert_true(match("2001:db8::/32", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
	assert_false(match("2001:db8::/32", "2001:db9::"));
	assert_false(match("2001:db8::/32", "2001:db7:ffff::"));
	assert_true(match("2001:db8::/33", "2001:db8:7fff::1"));
	assert_false(match("2001:db8::/33", "2001:db8:8000::"));
	assert_true(match("2001:db8::/127", "2001:db8::1"));
	assert_false(match("2001:db8::/127", "2001:db8::2"));
}

static void
test_v4_mapped_v6_client_matches_v4_prefix(void **state)
{
	assert_true(match("127.0.0.0/8", "::ffff:127.0.0.1"));
	assert_true(match("192.0.2.0/24", "::ffff:192.0.2.200"));
	assert_false(match("192.0.2.0/24", "::ffff:192.0.3.1"));
	assert_true(match("0.0.0.0/0", "::ffff:8.8.8.8"));
	/* Only the mapped form: a compatible or embedding address is not IPv4. */
	assert_false(match("127.0.0.0/8", "::127.0.0.1"));
	assert_false(match("127.0.0.0/8", "64:ff9b::127.0.0.1"));
	assert_false(match("0.0.0.0/0", "2001:db8::1"));
}

static void
test_v4_client_does_not_match_v6_prefix(void **state)
{
	assert_false(match("::/0", "127.0.0.1"));
	assert_false(match("::1/128", "0.0.0.1"));
}

static void
test_other_address_families_never_match(void **state)
{
	struct cidr	c;
	struct sockaddr	sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_family = AF_UNIX;
	assert_int_equal(cidr_parse("0.0.0.0/0", &c), 0);
	assert_false(cidr_match(&c, &sa));
	assert_int_equal(cidr_parse("::/0", &c), 0);
	assert_false(cidr_match(&c, &sa));
}

static void
test_malformed_prefixes_are_rejected(void **state)
{
	static const char *bad[] = {
		"", "/", "/8", "10.0.0.0/", "10.0.0.0/33", "10.0.0.0/-1",
		"10.0.0.0/8x", "10.0.0.0/8/8", "10.0.0/8", "10.0.0.256/8",
		"10.0.0.0.0", "::1/129", "::1/", "[::1", "::1]", "[]", "[",
		"example.com", "10.0.0.0 /8", "2001:db8:::1", "1.2.3.4/999999999999999999999",
		"::1/0x10", "localhost",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	struct cidr	c;
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cidr_parse(bad[i], &c) != -1)
			fail_msg("\"%s\" parsed", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_v4_prefix_and_bare_host),
		cmocka_unit_test(test_parse_v6_prefix_with_and_without_brackets),
		cmocka_unit_test(test_v4_prefix_matches_inside_and_not_just_outside),
		cmocka_unit_test(test_v4_host_and_slash32_match_only_that_address),
		cmocka_unit_test(test_slash0_matches_every_address_of_its_family_only),
		cmocka_unit_test(test_v6_prefix_boundaries),
		cmocka_unit_test(test_v4_mapped_v6_client_matches_v4_prefix),
		cmocka_unit_test(test_v4_client_does_not_match_v6_prefix),
		cmocka_unit_test(test_other_address_families_never_match),
		cmocka_unit_test(test_malformed_prefixes_are_rejected),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
