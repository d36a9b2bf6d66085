/*
 * test_inject.c - queued/inject.c: who may submit local mail
 * (authorized_submit_users), with which sender (local_sender_policy), and
 * the Received line queued writes from the socket's uid.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "queued.h"

/* uids that are neither root nor this process (both always pass). */
#define U1	4001
#define U2	4002

static void
load(struct conf *c, const char *text)
{
	char err[256];

	assert_int_equal(geteuid() != U1 && geteuid() != U2, 1);
	if (conf_load_string(c, "test", text, err, sizeof(err)) == -1)
		fail_msg("%s", err);
}

static void
test_default_authorizes_everyone(void **state)
{
	struct conf c;

	load(&c, "");
	assert_true(inject_authorized(&c, U1, "alice"));
	assert_true(inject_authorized(&c, U2, "unknown"));
	conf_free(&c);
}

static void
test_first_matching_entry_decides_and_no_match_refuses(void **state)
{
	struct conf c;

	load(&c, "authorized_submit_users = !www-data, 4002, alice\n");
	assert_true(inject_authorized(&c, U1, "alice"));
	assert_false(inject_authorized(&c, U1, "www-data"));
	assert_true(inject_authorized(&c, U2, "bob"));	/* by uid */
	assert_false(inject_authorized(&c, U1, "bob"));	/* not listed */
	assert_false(inject_authorized(&c, U1, "Alice")); /* names are exact */
	conf_free(&c);
	load(&c, "authorized_submit_users = !4001, anyone\n");
	assert_false(inject_authorized(&c, U1, "alice"));
	assert_true(inject_authorized(&c, U2, "bob"));
	conf_free(&c);
}

static void
test_root_and_the_mail_system_are_always_authorized(void **state)
{
	struct conf c;

	load(&c, "authorized_submit_users = !anyone\n");
	assert_false(inject_authorized(&c, U1, "alice"));
	assert_true(inject_authorized(&c, 0, "root"));
	assert_true(inject_authorized(&c, geteuid(), "postern-queue"));
	conf_free(&c);
}

static void
test_own_sender_policy_allows_only_login_at_a_local_domain(void **state)
{
	struct conf c;

	load(&c, "local_domains = example.test, other.test\n"
	    "local_sender_policy = own\n");
	assert_true(inject_sender_ok(&c, U1, "alice", "alice@example.test"));
	assert_true(inject_sender_ok(&c, U1, "alice", "ALICE@Other.Test"));
	assert_false(inject_sender_ok(&c, U1, "alice", "bob@example.test"));
	assert_false(inject_sender_ok(&c, U1, "alice", "alice@remote.test"));
	assert_false(inject_sender_ok(&c, U1, "alice", ""));
	assert_false(inject_sender_ok(&c, U1, "alice", "alice"));
	/* No passwd entry: no address of its own. */
	assert_false(inject_sender_ok(&c, U1, "unknown",
	    "unknown@example.test"));
	assert_true(inject_sender_ok(&c, 0, "root", "bob@remote.test"));
	conf_free(&c);
	load(&c, "");
	assert_true(inject_sender_ok(&c, U1, "alice", "bob@remote.test"));
	assert_true(inject_sender_ok(&c, U1, "alice", ""));
	conf_free(&c);
}

static void
test_sender_policy_must_be_any_or_own(void **state)
{
	struct conf	c;
	char		err[256];

	assert_int_equal(conf_load_string(&c, "t",
	    "local_sender_policy = mine\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "local_sender_policy must be any or own"));
}

static void
test_received_line_names_host_uid_and_queue_id(void **state)
{
	struct conf	c;
	struct buf	b;

	load(&c, "myhostname = mx.example.test\n");
	buf_init(&b, 0);
	assert_int_equal(inject_received(&c, 33, "0123456789ABCDEF",
	    100000000, &b), 0);
	assert_int_equal(buf_cstr(&b), 0);
	assert_true(strncmp(b.data, "Received: by mx.example.test (Postern, "
	    "from userid 33)\n\tid 0123456789ABCDEF; ", 70) == 0);
	assert_non_null(strstr(b.data, " 1973 "));
	assert_int_equal(b.data[b.len - 1], '\n');
	buf_free(&b);
	conf_free(&c);
}

static void
test_queue_list_users_default_is_root_and_the_mail_system_only(void **state)
{
	struct conf c;

	(void)state;
	load(&c, "");
	assert_false(inject_may_list(&c, U1, "alice"));
	assert_true(inject_may_list(&c, 0, "root"));
	assert_true(inject_may_list(&c, geteuid(), "postern-queue"));
	conf_free(&c);
	load(&c, "queue_list_users = !alice, 4002, bob\n");
	assert_false(inject_may_list(&c, U1, "alice"));
	assert_true(inject_may_list(&c, U2, "carol"));
	assert_true(inject_may_list(&c, U1, "bob"));
	/* Submitting and listing are separate rights. */
	assert_true(inject_authorized(&c, U1, "alice"));
	conf_free(&c);
	load(&c, "queue_list_users = anyone\n");
	assert_true(inject_may_list(&c, U1, "alice"));
	conf_free(&c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_authorizes_everyone),
		cmocka_unit_test(test_first_matching_entry_decides_and_no_match_refuses),
		cmocka_unit_test(test_root_and_the_mail_system_are_always_authorized),
		cmocka_unit_test(test_own_sender_policy_allows_only_login_at_a_local_domain),
		cmocka_unit_test(test_sender_policy_must_be_any_or_own),
		cmocka_unit_test(test_received_line_names_host_uid_and_queue_id),
		cmocka_unit_test(test_queue_list_users_default_is_root_and_the_mail_system_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
