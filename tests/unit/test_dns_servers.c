/*
 * test_dns_servers.c - resolverd/dns_servers.c: a nameserver is an
 * address and a port, in postern.conf's form or resolv.conf's.
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

static void
server_str(const char *spec, const char *want)
{
	struct dns_server s;
	char err[128], got[80];

	assert_int_equal(dns_server_parse(spec, &s, err, sizeof(err)), 0);
	dns_server_str(&s, got, sizeof(got));
	assert_string_equal(got, want);
}

static void
test_a_nameserver_is_an_address_and_a_port(void **state)
{
	struct dns_server s;
	char err[128];

	server_str("192.0.2.1", "192.0.2.1#53");
	server_str("127.0.0.1:5353", "127.0.0.1#5353");
	server_str("::1", "::1#53");
	server_str("[::1]:5353", "::1#5353");
	assert_int_equal(dns_server_parse("ns.example.test", &s, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not an IP address"));
	assert_int_equal(dns_server_parse("127.0.0.1:0", &s, err,
	    sizeof(err)), -1);
	assert_int_equal(dns_server_parse("127.0.0.1:65536", &s, err,
	    sizeof(err)), -1);
	assert_int_equal(dns_server_parse("127.0.0.1:5x", &s, err,
	    sizeof(err)), -1);
	assert_int_equal(dns_server_parse("[::1", &s, err, sizeof(err)), -1);
	assert_int_equal(dns_server_parse("[::1]x", &s, err, sizeof(err)), -1);
	assert_int_equal(dns_server_parse("", &s, err, sizeof(err)), -1);
}

static void
test_resolv_conf_gives_at_most_three_nameservers(void **state)
{
	struct dns_servers sv;
	char got[80];

	assert_int_equal(dns_servers_from_resolv(
	    "# comment\n"
	    "search example.test\n"
	    "nameserver 192.0.2.53\n"
	    "options ndots:2 timeout:1\n"
	    "nameserver fe80::1%eth0\n"
	    "nameserver\tbogus\n"
	    "nameserver 2001:db8::53\n"
	    "nameserver 192.0.2.54\n"
	    "nameserver 192.0.2.55\n", &sv), 0);
	assert_int_equal(sv.n, 3);
	dns_server_str(&sv.s[0], got, sizeof(got));
	assert_string_equal(got, "192.0.2.53#53");
	dns_server_str(&sv.s[1], got, sizeof(got));
	assert_string_equal(got, "2001:db8::53#53");
	dns_server_str(&sv.s[2], got, sizeof(got));
	assert_string_equal(got, "192.0.2.54#53");
	assert_int_equal(dns_servers_from_resolv("search x\n", &sv), 0);
	assert_int_equal(sv.n, 1);
	dns_server_str(&sv.s[0], got, sizeof(got));
	assert_string_equal(got, "127.0.0.1#53");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_nameserver_is_an_address_and_a_port),
		cmocka_unit_test(test_resolv_conf_gives_at_most_three_nameservers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
