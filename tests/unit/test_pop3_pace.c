/*
 * test_pop3_pace.c - pop3d's failed-login table (pop3_pace.c) under a
 * fake clock: a blocked address is never evicted to make room for
 * others, a table full of blocked addresses fails closed, and addresses
 * whose window has passed make room as before.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pop3d.h"

#define LIMIT	3
#define WINDOW	600

/* The i-th address of a /52: each /64 is one key of the table. */
static void
addr6(unsigned i, char *out, size_t outsz)
{
	snprintf(out, outsz, "2001:db8:0:%x::1", i);
}

/* One login from ip that fails; the return of pop3_pace_begin. */
static int
fail_once(struct pop3_pace *p, const char *ip, time_t now)
{
	int r = pop3_pace_begin(p, ip, now, LIMIT, WINDOW);

	if (r == 0)
		pop3_pace_end(p, ip, now, WINDOW, 1);
	return r;
}

static void
block(struct pop3_pace *p, const char *ip, time_t now)
{
	int i;

	for (i = 0; i < LIMIT; i++)
		assert_int_equal(fail_once(p, ip, now), 0);
	assert_int_equal(pop3_pace_begin(p, ip, now, LIMIT, WINDOW), -1);
}

static void
test_blocked_address_survives_a_flood_of_single_failures(void **state)
{
	struct pop3_pace	*p = pop3_pace_new();
	char			 ip[64];
	unsigned		 i;
	time_t			 t = 1000;

	(void)state;
	assert_non_null(p);
	block(p, "192.0.2.7", t);
	/* 5,000 other addresses (more than the table holds) fail once. */
	for (i = 0; i < 5000; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(fail_once(p, ip, t + 1 + i / 100), 0);
	}
	assert_true(5000 > POP3_PACE_SLOTS);
	assert_int_equal(pop3_pace_begin(p, "192.0.2.7", t + 60, LIMIT,
	    WINDOW), -1);
	/* Its window passing, and only that, forgives it. */
	assert_int_equal(pop3_pace_begin(p, "192.0.2.7", t + WINDOW, LIMIT,
	    WINDOW), 0);
	pop3_pace_free(p);
}

static void
test_table_full_of_blocked_addresses_fails_closed(void **state)
{
	struct pop3_pace	*p = pop3_pace_new();
	char			 ip[64];
	unsigned		 i;
	time_t			 t = 1000;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		block(p, ip, t);
	}
	/* A new address: refused as a temporary failure, not checked. */
	assert_int_equal(pop3_pace_begin(p, "198.51.100.1", t + 1, LIMIT,
	    WINDOW), -2);
	assert_int_equal(pop3_pace_begin(p, "198.51.100.1", t + WINDOW - 1,
	    LIMIT, WINDOW), -2);
	/* Every blocked address is still blocked. */
	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(pop3_pace_begin(p, ip, t + 2, LIMIT, WINDOW),
		    -1);
	}
	pop3_pace_free(p);
}

static void
test_checks_in_flight_fill_the_table_and_fail_closed(void **state)
{
	struct pop3_pace	*p = pop3_pace_new();
	char			 ip[64];
	unsigned		 i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(pop3_pace_begin(p, ip, 10, LIMIT, WINDOW), 0);
	}
	assert_int_equal(pop3_pace_begin(p, "198.51.100.1", 10 + WINDOW,
	    LIMIT, WINDOW), -2);
	/* One check ending frees its slot. */
	addr6(7, ip, sizeof(ip));
	pop3_pace_end(p, ip, 11, WINDOW, 0);
	assert_int_equal(pop3_pace_begin(p, "198.51.100.1", 11, LIMIT,
	    WINDOW), 0);
	pop3_pace_free(p);
}

static void
test_entries_past_their_window_are_evicted(void **state)
{
	struct pop3_pace	*p = pop3_pace_new();
	char			 ip[64];
	unsigned		 i;
	time_t			 t = 1000;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		block(p, ip, t);
	}
	/* The windows pass: every slot may be reused. */
	t += WINDOW;
	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		snprintf(ip, sizeof(ip), "10.0.%u.%u", i / 256, i % 256);
		assert_int_equal(fail_once(p, ip, t), 0);
	}
	/* The newcomers are remembered, the old ones forgotten. */
	assert_int_equal(fail_once(p, "10.0.0.5", t), 0);
	assert_int_equal(fail_once(p, "10.0.0.5", t), 0);
	assert_int_equal(pop3_pace_begin(p, "10.0.0.5", t, LIMIT, WINDOW),
	    -1);
	addr6(3, ip, sizeof(ip));
	assert_int_equal(pop3_pace_begin(p, ip, t, LIMIT, WINDOW), 0);
	pop3_pace_free(p);
}

static void
test_addresses_under_the_limit_make_room_oldest_first(void **state)
{
	struct pop3_pace	*p = pop3_pace_new();
	char			 ip[64];
	unsigned		 i;

	(void)state;
	assert_non_null(p);
	/* Slot 0 failed twice first (under the limit), the rest later. */
	assert_int_equal(fail_once(p, "192.0.2.1", 100), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 100), 0);
	for (i = 1; i < POP3_PACE_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(fail_once(p, ip, 200), 0);
	}
	/* A newcomer takes the oldest slot: 192.0.2.1 starts afresh. */
	assert_int_equal(fail_once(p, "198.51.100.1", 300), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 300), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 300), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 300), 0);
	assert_int_equal(pop3_pace_begin(p, "192.0.2.1", 300, LIMIT, WINDOW),
	    -1);
	pop3_pace_free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_blocked_address_survives_a_flood_of_single_failures),
		cmocka_unit_test(
		    test_table_full_of_blocked_addresses_fails_closed),
		cmocka_unit_test(
		    test_checks_in_flight_fill_the_table_and_fail_closed),
		cmocka_unit_test(test_entries_past_their_window_are_evicted),
		cmocka_unit_test(
		    test_addresses_under_the_limit_make_room_oldest_first),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
