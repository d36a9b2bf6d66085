/*
 * test_auth_pace.c - authd's failed-login tables (auth_pace.c) under a
 * fake clock. Per address: a blocked address is never evicted to make
 * room for others, a table full of blocked addresses fails closed,
 * addresses whose window has passed make room, and a success clears the
 * address. Per account: past the limit guesses take turns, delay apart,
 * from any address but those the owner logged in from; an attempt whose
 * turn is too far off is refused; unknown users make no entry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "authd.h"

#define LIMIT	3
#define WINDOW	600

/* The i-th address of a /52: each /64 is one key of the table. */
static void
addr6(unsigned i, char *out, size_t outsz)
{
	snprintf(out, outsz, "2001:db8:0:%x::1", i);
}

/* One login from ip that fails; the return of auth_pace_addr_begin. */
static int
fail_once(struct auth_pace *p, const char *ip, time_t now)
{
	int r = auth_pace_addr_begin(p, ip, now, LIMIT, WINDOW);

	if (r == 0)
		auth_pace_addr_end(p, ip, now, WINDOW, 1, 0);
	return r;
}

static void
block(struct auth_pace *p, const char *ip, time_t now)
{
	int i;

	for (i = 0; i < LIMIT; i++)
		assert_int_equal(fail_once(p, ip, now), 0);
	assert_int_equal(auth_pace_addr_begin(p, ip, now, LIMIT, WINDOW), -1);
}

static void
test_blocked_address_survives_a_flood_of_single_failures(void **state)
{
	struct auth_pace	*p = auth_pace_new(AUTH_PACE_ADDR_SLOTS, AUTH_PACE_ACCT_SLOTS);
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
	assert_true(5000 > AUTH_PACE_ADDR_SLOTS);
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.7", t + 60, LIMIT,
	    WINDOW), -1);
	/* Its window passing, and only that, forgives it. */
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.7", t + WINDOW, LIMIT,
	    WINDOW), 0);
	auth_pace_free(p);
}

static void
test_table_full_of_blocked_addresses_fails_closed(void **state)
{
	struct auth_pace	*p = auth_pace_new(AUTH_PACE_ADDR_SLOTS, AUTH_PACE_ACCT_SLOTS);
	char			 ip[64];
	unsigned		 i;
	time_t			 t = 1000;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < AUTH_PACE_ADDR_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		block(p, ip, t);
	}
	/* A new address: refused as a temporary failure, not checked. */
	assert_int_equal(auth_pace_addr_begin(p, "198.51.100.1", t + 1, LIMIT,
	    WINDOW), -2);
	assert_int_equal(auth_pace_addr_begin(p, "198.51.100.1", t + WINDOW - 1,
	    LIMIT, WINDOW), -2);
	/* Every blocked address is still blocked. */
	for (i = 0; i < AUTH_PACE_ADDR_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(auth_pace_addr_begin(p, ip, t + 2, LIMIT, WINDOW),
		    -1);
	}
	auth_pace_free(p);
}

static void
test_checks_in_flight_fill_the_table_and_fail_closed(void **state)
{
	struct auth_pace	*p = auth_pace_new(AUTH_PACE_ADDR_SLOTS, AUTH_PACE_ACCT_SLOTS);
	char			 ip[64];
	unsigned		 i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < AUTH_PACE_ADDR_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(auth_pace_addr_begin(p, ip, 10, LIMIT, WINDOW), 0);
	}
	assert_int_equal(auth_pace_addr_begin(p, "198.51.100.1", 10 + WINDOW,
	    LIMIT, WINDOW), -2);
	/* One check ending frees its slot. */
	addr6(7, ip, sizeof(ip));
	auth_pace_addr_end(p, ip, 11, WINDOW, 0, 0);
	assert_int_equal(auth_pace_addr_begin(p, "198.51.100.1", 11, LIMIT,
	    WINDOW), 0);
	auth_pace_free(p);
}

static void
test_entries_past_their_window_are_evicted(void **state)
{
	struct auth_pace	*p = auth_pace_new(AUTH_PACE_ADDR_SLOTS, AUTH_PACE_ACCT_SLOTS);
	char			 ip[64];
	unsigned		 i;
	time_t			 t = 1000;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < AUTH_PACE_ADDR_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		block(p, ip, t);
	}
	/* The windows pass: every slot may be reused. */
	t += WINDOW;
	for (i = 0; i < AUTH_PACE_ADDR_SLOTS; i++) {
		snprintf(ip, sizeof(ip), "10.0.%u.%u", i / 256, i % 256);
		assert_int_equal(fail_once(p, ip, t), 0);
	}
	/* The newcomers are remembered, the old ones forgotten. */
	assert_int_equal(fail_once(p, "10.0.0.5", t), 0);
	assert_int_equal(fail_once(p, "10.0.0.5", t), 0);
	assert_int_equal(auth_pace_addr_begin(p, "10.0.0.5", t, LIMIT, WINDOW),
	    -1);
	addr6(3, ip, sizeof(ip));
	assert_int_equal(auth_pace_addr_begin(p, ip, t, LIMIT, WINDOW), 0);
	auth_pace_free(p);
}

static void
test_addresses_under_the_limit_make_room_oldest_first(void **state)
{
	struct auth_pace	*p = auth_pace_new(AUTH_PACE_ADDR_SLOTS, AUTH_PACE_ACCT_SLOTS);
	char			 ip[64];
	unsigned		 i;

	(void)state;
	assert_non_null(p);
	/* Slot 0 failed twice first (under the limit), the rest later. */
	assert_int_equal(fail_once(p, "192.0.2.1", 100), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 100), 0);
	for (i = 1; i < AUTH_PACE_ADDR_SLOTS; i++) {
		addr6(i, ip, sizeof(ip));
		assert_int_equal(fail_once(p, ip, 200), 0);
	}
	/* A newcomer takes the oldest slot: 192.0.2.1 starts afresh. */
	assert_int_equal(fail_once(p, "198.51.100.1", 300), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 300), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 300), 0);
	assert_int_equal(fail_once(p, "192.0.2.1", 300), 0);
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.1", 300, LIMIT, WINDOW),
	    -1);
	auth_pace_free(p);
}

static void
test_a_success_clears_the_address(void **state)
{
	struct auth_pace *p = auth_pace_new(16, 16);

	(void)state;
	assert_non_null(p);
	assert_int_equal(fail_once(p, "192.0.2.9", 10), 0);
	assert_int_equal(fail_once(p, "192.0.2.9", 10), 0);
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.9", 10, LIMIT,
	    WINDOW), 0);
	auth_pace_addr_end(p, "192.0.2.9", 10, WINDOW, 0, 1);
	/* LIMIT more failures before the block, not one. */
	assert_int_equal(fail_once(p, "192.0.2.9", 11), 0);
	assert_int_equal(fail_once(p, "192.0.2.9", 11), 0);
	assert_int_equal(fail_once(p, "192.0.2.9", 11), 0);
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.9", 11, LIMIT,
	    WINDOW), -1);
	auth_pace_free(p);
}

static void
test_parallel_attempts_wait_for_those_in_flight(void **state)
{
	struct auth_pace	*p = auth_pace_new(16, 16);
	int			 i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < LIMIT; i++)
		assert_int_equal(auth_pace_addr_begin(p, "192.0.2.3", 5, LIMIT,
		    WINDOW), AUTH_PACE_GO);
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.3", 5, LIMIT,
	    WINDOW), AUTH_PACE_WAIT);
	auth_pace_addr_end(p, "192.0.2.3", 5, WINDOW, 0, 1);
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.3", 5, LIMIT,
	    WINDOW), AUTH_PACE_GO);
	auth_pace_free(p);
}

#define ALIMIT	3
#define DELAY	2000

/* A failure of an attempt that was not counted in flight. */
static void
acct_fail(struct auth_pace *p, const char *ip, uint64_t ms)
{
	auth_pace_acct_end(p, "bob@example.test", ip, ms, ALIMIT, WINDOW, 0,
	    AUTH_PACE_FAILED);
}

static int last_counted;

static long
acct_wait(struct auth_pace *p, const char *ip, uint64_t ms)
{
	return auth_pace_acct_wait(p, "bob@example.test", ip, ms, ALIMIT,
	    WINDOW, DELAY, &last_counted);
}

static void
test_account_guesses_from_many_addresses_take_turns(void **state)
{
	struct auth_pace	*p = auth_pace_new(16, 16);
	uint64_t		 t = 1000000;
	char			 ip[64];
	int			 i;

	(void)state;
	assert_non_null(p);
	/* Under the limit: nobody waits. */
	for (i = 0; i < ALIMIT; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i);
		assert_int_equal(acct_wait(p, ip, t), 0);
		assert_true(last_counted);
		auth_pace_acct_end(p, "bob@example.test", ip, t, ALIMIT, WINDOW,
		    1, AUTH_PACE_FAILED);
	}
	assert_int_equal(auth_pace_acct_failures(p, "bob@example.test", t,
	    WINDOW), ALIMIT);
	/* Past it: one guess per DELAY, whoever sends them. */
	assert_int_equal(acct_wait(p, "203.0.113.50", t), 0);
	assert_int_equal(acct_wait(p, "203.0.113.51", t), DELAY);
	assert_int_equal(acct_wait(p, "203.0.113.52", t), 2 * DELAY);
	assert_int_equal(acct_wait(p, "203.0.113.53", t + 1000),
	    3 * DELAY - 1000);
	/* A turn more than AUTH_PACE_WAIT_MAX_MS away is refused. */
	for (i = 0; i < 10 && acct_wait(p, "203.0.113.60", t) >= 0; i++)
		;
	assert_int_equal(acct_wait(p, "203.0.113.61", t), -1);
	/* Time passing brings turns back; the window passing forgets. */
	assert_true(acct_wait(p, "203.0.113.62", t + 30000) >= 0);
	assert_int_equal(acct_wait(p, "203.0.113.63",
	    t + (uint64_t)WINDOW * 1000 + 30000), 0);
	/* Another account was never slowed. */
	assert_int_equal(auth_pace_acct_wait(p, "carol@example.test",
	    "203.0.113.50", t, ALIMIT, WINDOW, DELAY, &last_counted), 0);
	auth_pace_free(p);
}

static void
test_the_owners_address_is_not_slowed_by_a_guesser(void **state)
{
	struct auth_pace	*p = auth_pace_new(16, 16);
	uint64_t		 t = 1000000;
	int			 i;

	(void)state;
	assert_non_null(p);
	/* bob logs in from home, then a guesser gets past the limit. */
	auth_pace_acct_end(p, "bob@example.test", "198.51.100.7", t, ALIMIT,
	    WINDOW, 0, AUTH_PACE_OK);
	for (i = 0; i < ALIMIT + 5; i++)
		acct_fail(p, "203.0.113.1", t + 1);
	(void)acct_wait(p, "203.0.113.1", t + 2);
	assert_true(acct_wait(p, "203.0.113.2", t + 2) > 0);
	/* Home is never slowed (an IPv6 home is its /64). */
	assert_int_equal(acct_wait(p, "198.51.100.7", t + 2), 0);
	auth_pace_acct_end(p, "bob@example.test", "2001:db8:1:2::5", t + 3,
	    ALIMIT, WINDOW, 0, AUTH_PACE_OK);
	assert_int_equal(acct_wait(p, "2001:db8:1:2::99", t + 4), 0);
	assert_true(acct_wait(p, "2001:db8:1:3::5", t + 4) > 0);
	auth_pace_free(p);
}

static void
test_account_table_full_of_slowed_accounts_slows_new_ones(void **state)
{
	struct auth_pace	*p = auth_pace_new(16, 4);
	uint64_t		 t = 1000000;
	char			 acct[64];
	int			 i, j;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < 4; i++) {
		snprintf(acct, sizeof(acct), "u%d@example.test", i);
		for (j = 0; j < ALIMIT; j++)
			auth_pace_acct_end(p, acct, "203.0.113.1", t, ALIMIT,
			    WINDOW, 0, AUTH_PACE_FAILED);
	}
	/* A fifth account cannot be recorded: it is slowed, not refused. */
	auth_pace_acct_end(p, "new@example.test", "203.0.113.1", t, ALIMIT,
	    WINDOW, 0, AUTH_PACE_FAILED);
	assert_int_equal(auth_pace_acct_wait(p, "new@example.test",
	    "192.0.2.1", t, ALIMIT, WINDOW, DELAY, &last_counted), DELAY);
	assert_false(last_counted);
	/* And the slowed ones kept their entries. */
	for (i = 0; i < 4; i++) {
		snprintf(acct, sizeof(acct), "u%d@example.test", i);
		assert_int_equal(auth_pace_acct_failures(p, acct, t, WINDOW),
		    ALIMIT);
	}
	/* Account pacing off (limit 0): nothing waits, nothing is kept. */
	assert_int_equal(auth_pace_acct_wait(p, "u0@example.test",
	    "192.0.2.1", t, 0, WINDOW, DELAY, &last_counted), 0);
	auth_pace_free(p);
}

/*
 * Login pacing: failures close an address for the window; attempts in
 * flight make the next ones wait (never fail) until they end.
 */
static void
test_pace_refuses_after_failures_and_makes_parallel_attempts_wait(
    void **state)
{
	struct auth_pace	*p = auth_pace_new(16, 16);
	const char		*ip = "192.0.2.7";
	time_t			 t = 1000;

	assert_non_null(p);
	/* Limit 2: two attempts at once, the third waits its turn. */
	assert_int_equal(auth_pace_addr_begin(p, ip, t, 2, 60), 0);
	assert_int_equal(auth_pace_addr_begin(p, ip, t, 2, 60), 0);
	assert_int_equal(auth_pace_addr_begin(p, ip, t, 2, 60), 1);
	/* Another address is not held up. */
	assert_int_equal(auth_pace_addr_begin(p, "192.0.2.8", t, 2, 60), 0);
	/* One succeeds: the waiting one may go. */
	auth_pace_addr_end(p, ip, t, 60, 0, 1);
	assert_int_equal(auth_pace_addr_begin(p, ip, t, 2, 60), 0);
	/* Both in flight fail: the address is closed, not merely busy. */
	auth_pace_addr_end(p, ip, t, 60, 1, 0);
	auth_pace_addr_end(p, ip, t, 60, 1, 0);
	assert_int_equal(auth_pace_addr_begin(p, ip, t + 59, 2, 60), -1);
	/* The window passed: forgiven. */
	assert_int_equal(auth_pace_addr_begin(p, ip, t + 60, 2, 60), 0);
	/* An IPv6 /64 counts as one address. */
	assert_int_equal(auth_pace_addr_begin(p, "2001:db8::1", t, 1, 60), 0);
	assert_int_equal(auth_pace_addr_begin(p, "2001:db8::2", t, 1, 60), 1);
	assert_int_equal(auth_pace_addr_begin(p, "2001:db8:0:1::2", t, 1, 60), 0);
	auth_pace_free(p);
}

/*
 * A crowd's guesses sent at once: only as many as the limit allows are
 * checked at once; the rest take turns, although no failure is known yet.
 * An attempt that ends undecided (client gone) frees its place unheard.
 */
static void
test_parallel_guesses_cannot_outrun_the_account_limit(void **state)
{
	struct auth_pace	*p = auth_pace_new(16, 16);
	uint64_t		 t = 1000000;
	long			 w[6];
	int			 c[6], i;

	(void)state;
	assert_non_null(p);
	for (i = 0; i < 6; i++) {
		w[i] = auth_pace_acct_wait(p, "bob@example.test", "203.0.113.9",
		    t, ALIMIT, WINDOW, DELAY, &c[i]);
		assert_true(c[i]);
	}
	assert_int_equal(w[0], 0);
	assert_int_equal(w[1], 0);
	assert_int_equal(w[2], 0);
	assert_int_equal(w[3], 0);		/* the first turn is now */
	assert_int_equal(w[4], DELAY);
	assert_int_equal(w[5], 2 * DELAY);
	/* Two end undecided: their places count no more, nor as failures. */
	auth_pace_acct_end(p, "bob@example.test", "203.0.113.9", t, ALIMIT,
	    WINDOW, 1, AUTH_PACE_OTHER);
	auth_pace_acct_end(p, "bob@example.test", "203.0.113.9", t, ALIMIT,
	    WINDOW, 1, AUTH_PACE_OTHER);
	assert_int_equal(auth_pace_acct_failures(p, "bob@example.test", t,
	    WINDOW), 0);
	auth_pace_free(p);
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
		cmocka_unit_test(test_a_success_clears_the_address),
		cmocka_unit_test(
		    test_pace_refuses_after_failures_and_makes_parallel_attempts_wait),
		cmocka_unit_test(
		    test_parallel_attempts_wait_for_those_in_flight),
		cmocka_unit_test(
		    test_account_guesses_from_many_addresses_take_turns),
		cmocka_unit_test(
		    test_the_owners_address_is_not_slowed_by_a_guesser),
		cmocka_unit_test(
		    test_account_table_full_of_slowed_accounts_slows_new_ones),
		cmocka_unit_test(
		    test_parallel_guesses_cannot_outrun_the_account_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
