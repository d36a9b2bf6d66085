/*
 * test_proto_route.c - libcommon/proto: R_ROUTE and R_ROUTE_REPLY, the
 * remote agent's question to resolverd and its answer. The answer comes
 * from the process that parses DNS, so the agent's decoder is a trust
 * boundary: every truncation, extra byte, bad count, family, preference
 * or host name must be refused, and a valid reply must round trip.
 */
#include <arpa/inet.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "proto.h"

static void
sample(struct r_route *rt)
{
	memset(rt, 0, sizeof(*rt));
	rt->status = ST_OK;
	rt->n = 3;
	strlcpy(rt->hop[0].host, "mx1.example.net", sizeof(rt->hop[0].host));
	rt->hop[0].pref = 10;
	rt->hop[0].family = 4;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.7", rt->hop[0].addr), 1);
	rt->hop[1] = rt->hop[0];
	rt->hop[1].family = 6;
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::7", rt->hop[1].addr),
	    1);
	strlcpy(rt->hop[2].host, "mx2.example.net", sizeof(rt->hop[2].host));
	rt->hop[2].pref = 65535;
	rt->hop[2].family = 4;
	assert_int_equal(inet_pton(AF_INET, "198.51.100.1", rt->hop[2].addr),
	    1);
}

static int
dec_prefix(const struct ipc_msg *m, size_t len, struct r_route *out)
{
	struct ipc_msg	v;
	int		rc;

	ipc_msg_init(&v, m->type, 0);
	assert_int_equal(buf_append(&v.body, m->body.data, len), 0);
	rc = proto_dec_r_route_reply(&v, out);
	ipc_msg_free(&v);
	return rc;
}

static void
test_r_route_reply_round_trips_every_truncation_and_extra_byte_refused(
    void **state)
{
	struct r_route	rt, back;
	struct ipc_msg	m;
	size_t		len;

	sample(&rt);
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	assert_int_equal(back.n, 3);
	assert_string_equal(back.hop[2].host, "mx2.example.net");
	assert_int_equal(back.hop[2].pref, 65535);
	assert_int_equal(back.hop[1].family, 6);
	assert_memory_equal(back.hop[1].addr, rt.hop[1].addr, 16);
	assert_memory_equal(back.hop[0].addr, rt.hop[0].addr, 4);
	for (len = 0; len < m.body.len; len++)
		assert_int_equal(dec_prefix(&m, len, &back), -1);
	assert_int_equal(buf_append(&m.body, "x", 1), 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
test_r_route_reply_failure_carries_dsn_and_text_and_no_hop(void **state)
{
	struct r_route	rt, back;
	struct ipc_msg	m;

	memset(&rt, 0, sizeof(rt));
	rt.status = ST_PERM;
	strlcpy(rt.dsn, "5.1.10", sizeof(rt.dsn));
	strlcpy(rt.text, "Domain example.net does not accept mail (nullMX)",
	    sizeof(rt.text));
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	assert_int_equal(back.status, ST_PERM);
	assert_string_equal(back.dsn, "5.1.10");
	assert_string_equal(back.text, rt.text);
	ipc_msg_free(&m);
	/* A failure with hops, or success without, says two things. */
	rt.n = 1;
	strlcpy(rt.hop[0].host, "mx.example.net", sizeof(rt.hop[0].host));
	rt.hop[0].family = 4;
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), -1);
	ipc_msg_free(&m);
	rt.n = 0;
	rt.status = ST_OK;
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), -1);
	ipc_msg_free(&m);
}

/* Encodes rt without the encoder's checks: what a broken resolverd sends. */
static void
raw_reply(struct ipc_msg *m, uint32_t status, uint32_t implicit, uint32_t n,
    const char *host, uint32_t pref, uint32_t family, uint32_t words)
{
	uint32_t i, k;

	ipc_msg_init(m, R_ROUTE_REPLY, 1);
	assert_int_equal(ipc_put_u32(m, status), 0);
	assert_int_equal(ipc_put_str(m, ""), 0);
	assert_int_equal(ipc_put_str(m, ""), 0);
	assert_int_equal(ipc_put_u32(m, implicit), 0);
	assert_int_equal(ipc_put_u32(m, n), 0);
	for (i = 0; i < n; i++) {
		assert_int_equal(ipc_put_str(m, host), 0);
		assert_int_equal(ipc_put_u32(m, pref), 0);
		assert_int_equal(ipc_put_u32(m, family), 0);
		for (k = 0; k < words; k++)
			assert_int_equal(ipc_put_u32(m, 0x0100007f), 0);
		assert_int_equal(ipc_put_u32(m, R_DANE_NONE), 0);
		assert_int_equal(ipc_put_u32(m, 0), 0);
	}
}

/* One hop with DANE's facts as given, unchecked. */
static void
raw_dane(struct ipc_msg *m, uint32_t dane, uint32_t ntlsa, uint32_t fields,
    size_t len)
{
	uint8_t		data[100];
	uint32_t	i;

	memset(data, 0xab, sizeof(data));
	ipc_msg_init(m, R_ROUTE_REPLY, 1);
	assert_int_equal(ipc_put_u32(m, ST_OK), 0);
	assert_int_equal(ipc_put_str(m, ""), 0);
	assert_int_equal(ipc_put_str(m, ""), 0);
	assert_int_equal(ipc_put_u32(m, 0), 0);
	assert_int_equal(ipc_put_u32(m, 1), 0);
	assert_int_equal(ipc_put_str(m, "mx.example.net"), 0);
	assert_int_equal(ipc_put_u32(m, 10), 0);
	assert_int_equal(ipc_put_u32(m, 4), 0);
	assert_int_equal(ipc_put_u32(m, 0x0100007f), 0);
	assert_int_equal(ipc_put_u32(m, dane), 0);
	assert_int_equal(ipc_put_u32(m, ntlsa), 0);
	for (i = 0; i < ntlsa; i++) {
		assert_int_equal(ipc_put_u32(m, fields), 0);
		assert_int_equal(ipc_put_bytes(m, data, len), 0);
	}
}

static void
test_r_route_reply_carries_tlsa_records_bounded(void **state)
{
	struct r_route	rt, back;
	struct ipc_msg	m;

	(void)state;
	memset(&rt, 0, sizeof(rt));
	rt.status = ST_OK;
	rt.n = 2;
	strlcpy(rt.hop[0].host, "mx.example.net", sizeof(rt.hop[0].host));
	rt.hop[0].family = 4;
	rt.hop[0].dane = R_DANE_TLSA;
	rt.hop[0].ntlsa = 2;
	rt.hop[0].tlsa[0].usage = 3;
	rt.hop[0].tlsa[0].selector = 1;
	rt.hop[0].tlsa[0].mtype = 1;
	rt.hop[0].tlsa[0].len = 32;
	memset(rt.hop[0].tlsa[0].data, 0x5a, 32);
	rt.hop[0].tlsa[1].usage = 2;
	rt.hop[0].tlsa[1].mtype = 0;	/* a whole certificate: not kept */
	strlcpy(rt.hop[1].host, "mx2.example.net", sizeof(rt.hop[1].host));
	rt.hop[1].family = 6;
	rt.hop[1].dane = R_DANE_FAIL;
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	ipc_msg_free(&m);
	assert_int_equal(back.hop[0].dane, R_DANE_TLSA);
	assert_int_equal(back.hop[0].ntlsa, 2);
	assert_int_equal(back.hop[0].tlsa[0].usage, 3);
	assert_int_equal(back.hop[0].tlsa[0].selector, 1);
	assert_int_equal(back.hop[0].tlsa[0].mtype, 1);
	assert_int_equal(back.hop[0].tlsa[0].len, 32);
	assert_memory_equal(back.hop[0].tlsa[0].data, rt.hop[0].tlsa[0].data,
	    32);
	assert_int_equal(back.hop[0].tlsa[1].usage, 2);
	assert_int_equal(back.hop[0].tlsa[1].len, 0);
	assert_int_equal(back.hop[1].dane, R_DANE_FAIL);
	assert_int_equal(back.hop[1].ntlsa, 0);

	/* The encoder refuses what the decoder would. */
	rt.hop[0].tlsa[0].len = R_TLSA_DATA_MAX + 1;
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), -1);
	ipc_msg_free(&m);
	rt.hop[0].tlsa[0].len = 32;
	rt.hop[0].ntlsa = 0;
	ipc_msg_init(&m, R_ROUTE_REPLY, 1);
	assert_int_equal(proto_enc_r_route_reply(&m, &rt), -1);
	ipc_msg_free(&m);

	raw_dane(&m, R_DANE_TLSA, 1, 0x010103, 32);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	assert_int_equal(back.hop[0].tlsa[0].usage, 3);
	assert_int_equal(back.hop[0].tlsa[0].mtype, 1);
	ipc_msg_free(&m);
	raw_dane(&m, R_DANE_TLSA, R_TLSA_MAX, 0x010103, 64);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	ipc_msg_free(&m);
	/* More records, longer data, fields over a byte, a state unknown. */
	raw_dane(&m, R_DANE_TLSA, R_TLSA_MAX + 1, 0x010103, 32);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_dane(&m, R_DANE_TLSA, 1, 0x010103, 65);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_dane(&m, R_DANE_TLSA, 1, 0x1010103, 32);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_dane(&m, R_DANE_TLSA, 0, 0, 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_dane(&m, R_DANE_NONE, 1, 0x010103, 32);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_dane(&m, R_DANE_FAIL + 1, 0, 0, 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
}

static void
test_r_route_reply_refuses_bad_counts_families_prefs_and_names(void **state)
{
	struct r_route	back;
	struct ipc_msg	m;

	raw_reply(&m, ST_OK, 0, 1, "mx.example.net", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 0, R_ROUTE_HOPS_MAX, "mx.example.net", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 0, R_ROUTE_HOPS_MAX + 1, "mx.example.net", 10, 4,
	    1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, 3, 0, 1, "mx.example.net", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 2, 1, "mx.example.net", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 0, 1, "mx.example.net", 65536, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 0, 1, "mx.example.net", 10, 5, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	/* An IPv6 family with an IPv4 address's length. */
	raw_reply(&m, ST_OK, 0, 1, "mx.example.net", 10, 6, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	/* Names that would reach a log line or a HELO: never. */
	raw_reply(&m, ST_OK, 0, 1, "mx.example.net\r\nRCPT", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 0, 1, "mx..example.net", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, ST_OK, 0, 1, "", 10, 4, 1);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), -1);
	ipc_msg_free(&m);
	raw_reply(&m, ST_TEMP, 0, 0, "", 0, 0, 0);
	assert_int_equal(proto_dec_r_route_reply(&m, &back), 0);
	ipc_msg_free(&m);
}

static void
test_r_route_carries_one_host_name(void **state)
{
	struct ipc_msg	m;
	char		d[R_HOST_MAX + 1], big[300];

	ipc_msg_init(&m, R_ROUTE, 1);
	assert_int_equal(proto_enc_r_route(&m, "Example.NET"), 0);
	assert_int_equal(proto_dec_r_route(&m, d), 0);
	assert_string_equal(d, "Example.NET");
	ipc_msg_free(&m);
	ipc_msg_init(&m, R_ROUTE, 1);
	assert_int_equal(proto_enc_r_route(&m, "[192.0.2.1]"), -1);
	assert_int_equal(proto_enc_r_route(&m, "a b"), -1);
	assert_int_equal(proto_enc_r_route(&m, ""), -1);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(proto_enc_r_route(&m, big), -1);
	ipc_msg_free(&m);
	ipc_msg_init(&m, R_ROUTE, 1);
	assert_int_equal(ipc_put_str(&m, "x/y"), 0);
	assert_int_equal(proto_dec_r_route(&m, d), -1);
	ipc_msg_free(&m);
	assert_true(proto_hostname_ok("a-b.c_d.example"));
	assert_false(proto_hostname_ok(".example"));
	assert_false(proto_hostname_ok("ex\xc3\xa9.example"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_r_route_reply_round_trips_every_truncation_and_extra_byte_refused),
		cmocka_unit_test(test_r_route_reply_failure_carries_dsn_and_text_and_no_hop),
		cmocka_unit_test(test_r_route_reply_refuses_bad_counts_families_prefs_and_names),
		cmocka_unit_test(test_r_route_carries_one_host_name),
		cmocka_unit_test(test_r_route_reply_carries_tlsa_records_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
