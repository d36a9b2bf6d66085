/*
 * test_relay_self.c - deliverd/relay_self.c: which exchangers the remote
 * agent may try. An exchanger that is this host (myhostname, or one of
 * our addresses) as the best one is a loop (nothing to try); one lower
 * down cuts the list to the exchangers strictly preferred over it.
 */
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "remote.h"

static void
hop(struct r_route *rt, const char *host, uint32_t pref, const char *addr)
{
	struct r_hop *h = &rt->hop[rt->n++];

	memset(h, 0, sizeof(*h));
	strlcpy(h->host, host, sizeof(h->host));
	h->pref = pref;
	if (inet_pton(AF_INET, addr, h->addr) == 1)
		h->family = 4;
	else {
		assert_int_equal(inet_pton(AF_INET6, addr, h->addr), 1);
		h->family = 6;
	}
	rt->status = ST_OK;
}

static void
self(struct relay_self *s, const char *addr)
{
	uint8_t a[16];

	if (inet_pton(AF_INET, addr, a) == 1)
		assert_int_equal(relay_self_add(s, 4, a), 0);
	else {
		assert_int_equal(inet_pton(AF_INET6, addr, a), 1);
		assert_int_equal(relay_self_add(s, 6, a), 0);
	}
}

static void
test_no_exchanger_is_us_all_are_tried(void **state)
{
	struct relay_self	s;
	struct r_route		rt;

	memset(&s, 0, sizeof(s));
	memset(&rt, 0, sizeof(rt));
	strlcpy(s.myhostname, "mx.here.test", sizeof(s.myhostname));
	self(&s, "192.0.2.1");
	hop(&rt, "mx1.there.test", 10, "198.51.100.1");
	hop(&rt, "mx2.there.test", 20, "198.51.100.2");
	assert_int_equal(relay_usable_hops(&s, &rt), 2);
}

static void
test_our_address_as_the_best_exchanger_is_a_loop(void **state)
{
	struct relay_self	s;
	struct r_route		rt;

	memset(&s, 0, sizeof(s));
	memset(&rt, 0, sizeof(rt));
	self(&s, "192.0.2.1");
	hop(&rt, "mx1.there.test", 10, "192.0.2.1");
	hop(&rt, "mx2.there.test", 20, "198.51.100.2");
	assert_int_equal(relay_usable_hops(&s, &rt), 0);
}

static void
test_our_name_as_the_best_exchanger_is_a_loop_whatever_its_address(
    void **state)
{
	struct relay_self	s;
	struct r_route		rt;

	memset(&s, 0, sizeof(s));
	memset(&rt, 0, sizeof(rt));
	strlcpy(s.myhostname, "mx.here.test", sizeof(s.myhostname));
	hop(&rt, "MX.Here.test", 5, "203.0.113.9");
	assert_int_equal(relay_usable_hops(&s, &rt), 0);
}

static void
test_only_exchangers_preferred_over_us_are_tried(void **state)
{
	struct relay_self	s;
	struct r_route		rt;

	memset(&s, 0, sizeof(s));
	memset(&rt, 0, sizeof(rt));
	self(&s, "2001:db8::25");
	hop(&rt, "mx1.there.test", 10, "198.51.100.1");
	hop(&rt, "mx1.there.test", 10, "2001:db8::1");
	hop(&rt, "peer.there.test", 20, "198.51.100.3");
	hop(&rt, "backup.here.test", 20, "2001:db8::25");
	hop(&rt, "last.there.test", 30, "198.51.100.4");
	/* Our peer at our own preference is not preferred over us. */
	assert_int_equal(relay_usable_hops(&s, &rt), 2);
}

static void
test_an_address_of_the_other_family_with_the_same_bytes_is_not_us(
    void **state)
{
	struct relay_self	s;
	struct r_route		rt;
	uint8_t			a[16];

	memset(&s, 0, sizeof(s));
	memset(&rt, 0, sizeof(rt));
	memset(a, 0, sizeof(a));
	a[0] = 192;
	a[2] = 2;
	a[3] = 1;
	assert_int_equal(relay_self_add(&s, 6, a), 0);
	hop(&rt, "mx1.there.test", 10, "192.0.2.1");
	assert_int_equal(relay_usable_hops(&s, &rt), 1);
}

static void
test_the_address_set_is_bounded_and_has_no_duplicates(void **state)
{
	struct relay_self	s;
	uint8_t			a[4] = { 10, 0, 0, 0 };
	int			i;

	memset(&s, 0, sizeof(s));
	for (i = 0; i < RELAY_SELF_MAX; i++) {
		a[3] = (uint8_t)i;
		assert_int_equal(relay_self_add(&s, 4, a), 0);
		assert_int_equal(relay_self_add(&s, 4, a), 0);
	}
	assert_int_equal(s.n, RELAY_SELF_MAX);
	a[2] = 1;
	assert_int_equal(relay_self_add(&s, 4, a), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_exchanger_is_us_all_are_tried),
		cmocka_unit_test(test_our_address_as_the_best_exchanger_is_a_loop),
		cmocka_unit_test(test_our_name_as_the_best_exchanger_is_a_loop_whatever_its_address),
		cmocka_unit_test(test_only_exchangers_preferred_over_us_are_tried),
		cmocka_unit_test(test_an_address_of_the_other_family_with_the_same_bytes_is_not_us),
		cmocka_unit_test(test_the_address_set_is_bounded_and_has_no_duplicates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
