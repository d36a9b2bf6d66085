/*
 * test_dns_cache.c - resolverd/dns_cache.c: answers live for their
 * (clamped) TTL, failures are never kept, the cache holds at most its
 * size and drops the least recently used.
 */
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"

static struct dns_answer in, out;

static void
answer(enum dns_status st, uint32_t ttl, uint8_t last_octet)
{
	memset(&in, 0, sizeof(in));
	in.status = st;
	in.ttl = ttl;
	if (st == DNS_OK) {
		in.naddr = 1;
		in.addr[0].family = AF_INET;
		in.addr[0].a[0] = 192;
		in.addr[0].a[3] = last_octet;
	}
}

static void
test_an_answer_lives_for_its_ttl(void **state)
{
	struct dns_cache *c = dns_cache_new(10);

	answer(DNS_OK, 300, 1);
	dns_cache_put(c, "a.test", DNS_T_A, 1000, &in);
	assert_int_equal(dns_cache_get(c, "a.test", DNS_T_A, 1299, &out), 1);
	assert_int_equal(out.naddr, 1);
	assert_int_equal(out.addr[0].a[3], 1);
	assert_int_equal(out.ttl, 1);	/* what is left of it */
	assert_int_equal(dns_cache_get(c, "a.test", DNS_T_AAAA, 1000, &out),
	    0);
	assert_int_equal(dns_cache_get(c, "a.test", DNS_T_A, 1300, &out), 0);
	assert_int_equal(dns_cache_count(c), 0);	/* expired: gone */
	dns_cache_free(c);
}

static void
test_ttls_are_clamped_and_failures_not_kept(void **state)
{
	struct dns_cache *c = dns_cache_new(10);

	answer(DNS_OK, 10 * DNS_TTL_MAX, 1);
	dns_cache_put(c, "long.test", DNS_T_A, 0, &in);
	assert_int_equal(dns_cache_get(c, "long.test", DNS_T_A, DNS_TTL_MAX,
	    &out), 0);
	answer(DNS_NXDOMAIN, 86400, 0);
	dns_cache_put(c, "nx.test", DNS_T_MX, 0, &in);
	assert_int_equal(dns_cache_get(c, "nx.test", DNS_T_MX,
	    DNS_NEG_TTL_MAX - 1, &out), 1);
	assert_int_equal(out.status, DNS_NXDOMAIN);
	assert_int_equal(dns_cache_get(c, "nx.test", DNS_T_MX, DNS_NEG_TTL_MAX,
	    &out), 0);
	answer(DNS_TEMPFAIL, 300, 0);
	dns_cache_put(c, "t.test", DNS_T_A, 0, &in);
	answer(DNS_TRUNCATED, 300, 0);
	dns_cache_put(c, "tc.test", DNS_T_A, 0, &in);
	answer(DNS_OK, 0, 1);
	dns_cache_put(c, "zero.test", DNS_T_A, 0, &in);
	assert_int_equal(dns_cache_count(c), 0);
	dns_cache_free(c);
}

static void
test_the_least_recently_used_answer_goes_first(void **state)
{
	struct dns_cache *c = dns_cache_new(2);

	answer(DNS_OK, 300, 1);
	dns_cache_put(c, "a.test", DNS_T_A, 0, &in);
	answer(DNS_OK, 300, 2);
	dns_cache_put(c, "b.test", DNS_T_A, 0, &in);
	assert_int_equal(dns_cache_get(c, "a.test", DNS_T_A, 1, &out), 1);
	answer(DNS_OK, 300, 3);
	dns_cache_put(c, "c.test", DNS_T_A, 0, &in);
	assert_int_equal(dns_cache_count(c), 2);
	assert_int_equal(dns_cache_get(c, "b.test", DNS_T_A, 1, &out), 0);
	assert_int_equal(dns_cache_get(c, "a.test", DNS_T_A, 1, &out), 1);
	assert_int_equal(dns_cache_get(c, "c.test", DNS_T_A, 1, &out), 1);
	/* A newer answer replaces the old one. */
	answer(DNS_OK, 300, 4);
	dns_cache_put(c, "c.test", DNS_T_A, 5, &in);
	assert_int_equal(dns_cache_get(c, "c.test", DNS_T_A, 6, &out), 1);
	assert_int_equal(out.addr[0].a[3], 4);
	assert_int_equal(dns_cache_count(c), 2);
	dns_cache_free(c);
}

static void
test_exchangers_are_kept_whole(void **state)
{
	struct dns_cache *c = dns_cache_new(4);

	memset(&in, 0, sizeof(in));
	in.status = DNS_OK;
	in.ttl = 60;
	in.nmx = 2;
	in.mx[0].pref = 10;
	strlcpy(in.mx[0].host, "mx1.test", sizeof(in.mx[0].host));
	in.mx[1].pref = 20;
	strlcpy(in.mx[1].host, "mx2.test", sizeof(in.mx[1].host));
	dns_cache_put(c, "test", DNS_T_MX, 0, &in);
	assert_int_equal(dns_cache_get(c, "test", DNS_T_MX, 1, &out), 1);
	assert_int_equal(out.nmx, 2);
	assert_string_equal(out.mx[1].host, "mx2.test");
	assert_int_equal(out.mx[1].pref, 20);
	dns_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_an_answer_lives_for_its_ttl),
		cmocka_unit_test(test_ttls_are_clamped_and_failures_not_kept),
		cmocka_unit_test(test_the_least_recently_used_answer_goes_first),
		cmocka_unit_test(test_exchangers_are_kept_whole),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
