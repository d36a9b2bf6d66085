/*
 * test_auth_cache.c - authd's cache of good logins (auth_cache.c) under
 * a fake clock: a verified login hits until its TTL passes; a different
 * password, a changed or locked stored hash, or another process's key
 * misses; a TTL of 0 disables it; and the table is bounded.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "authd.h"

static const unsigned char key1[AUTH_CACHE_KEYLEN] = "0123456789abcdef0123456789abcde";
static const unsigned char key2[AUTH_CACHE_KEYLEN] = "fedcba9876543210fedcba987654321";

#define U	"alice@example.test"
#define H	"$y$j9T$salt$hashhashhash"
#define TTL	60000

static void
test_a_good_login_hits_until_its_ttl(void **state)
{
	struct auth_cache *c = auth_cache_new(64, key1);

	(void)state;
	assert_non_null(c);
	assert_false(auth_cache_hit(c, U, H, "pw", 1000, TTL));
	auth_cache_put(c, U, H, "pw", 1000);
	assert_true(auth_cache_hit(c, U, H, "pw", 1000, TTL));
	assert_true(auth_cache_hit(c, U, H, "pw", 1000 + TTL - 1, TTL));
	assert_false(auth_cache_hit(c, U, H, "pw", 1000 + TTL, TTL));
	/* TTL 0: off. */
	assert_false(auth_cache_hit(c, U, H, "pw", 1000, 0));
	auth_cache_free(c);
}

static void
test_anything_changed_misses(void **state)
{
	struct auth_cache	*c = auth_cache_new(64, key1);
	struct auth_cache	*other = auth_cache_new(64, key2);
	char			 locked[64];

	(void)state;
	assert_non_null(c);
	assert_non_null(other);
	auth_cache_put(c, U, H, "pw", 5);
	auth_cache_put(other, U, H, "pw", 5);
	assert_false(auth_cache_hit(c, U, H, "pw2", 5, TTL));
	assert_false(auth_cache_hit(c, U, H, "p", 5, TTL));
	assert_false(auth_cache_hit(c, "bob@example.test", H, "pw", 5, TTL));
	/* A new password or a lock changes the stored value. */
	assert_false(auth_cache_hit(c, U, "$y$j9T$salt$other", "pw", 5, TTL));
	snprintf(locked, sizeof(locked), "!%s", H);
	assert_false(auth_cache_hit(c, U, locked, "pw", 5, TTL));
	/* The parts are kept apart: ("alice@example.tes", "t$y..."). */
	assert_false(auth_cache_hit(c, "alice@example.tes", "t" H, "pw", 5,
	    TTL));
	auth_cache_free(c);
	/* A fresh process (another key) knows nothing of the first. */
	c = auth_cache_new(64, key2);
	assert_false(auth_cache_hit(c, U, H, "pw", 5, TTL));
	assert_true(auth_cache_hit(other, U, H, "pw", 5, TTL));
	auth_cache_free(c);
	auth_cache_free(other);
}

static void
test_the_table_is_bounded(void **state)
{
	struct auth_cache	*c = auth_cache_new(16, key1);
	char			 user[64];
	int			 i, hits = 0;

	(void)state;
	assert_non_null(c);
	for (i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "u%d@example.test", i);
		auth_cache_put(c, user, H, "pw", 100 + (uint64_t)i);
	}
	assert_int_equal(auth_cache_count(c, 2000, TTL), 16);
	for (i = 0; i < 1000; i++) {
		snprintf(user, sizeof(user), "u%d@example.test", i);
		hits += auth_cache_hit(c, user, H, "pw", 2000, TTL);
	}
	assert_int_equal(hits, 16);
	/* The newest of each set stayed: the last one put is there. */
	assert_true(auth_cache_hit(c, "u999@example.test", H, "pw", 2000,
	    TTL));
	auth_cache_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_good_login_hits_until_its_ttl),
		cmocka_unit_test(test_anything_changed_misses),
		cmocka_unit_test(test_the_table_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
