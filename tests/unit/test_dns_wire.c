/*
 * test_dns_wire.c - resolverd/dns_wire.c: queries built as asked, and
 * only an answer to exactly the question asked is taken, with its
 * limits (names, record counts, CNAME chains) and its negative TTL.
 * Answers are built here with ldns, the way a server would send them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dns.h"

static uint8_t wire[65536];
static size_t wire_len;
static struct dns_answer ans;
static int make_ad;	/* the AD bit of the next answers made */

/* An answer packet: the question, then each "section|record" line. */
static void
make_answer(uint16_t id, const char *qname, ldns_rr_type qtype,
    ldns_pkt_rcode rcode, int tc, const char *const *records)
{
	ldns_pkt *pkt = ldns_pkt_new();
	ldns_rr *q = NULL, *rr;
	uint8_t *out = NULL;
	char qs[300];
	size_t i;

	assert_non_null(pkt);
	ldns_pkt_set_id(pkt, id);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_rd(pkt, true);
	ldns_pkt_set_ra(pkt, true);
	ldns_pkt_set_tc(pkt, tc);
	ldns_pkt_set_rcode(pkt, rcode);
	ldns_pkt_set_ad(pkt, make_ad);
	snprintf(qs, sizeof(qs), "%s IN %s", qname,
	    qtype == LDNS_RR_TYPE_TLSA ? "TLSA" :
	    qtype == LDNS_RR_TYPE_MX ? "MX" :
	    qtype == LDNS_RR_TYPE_AAAA ? "AAAA" : "A");
	assert_int_equal(ldns_rr_new_question_frm_str(&q, qs, NULL, NULL),
	    LDNS_STATUS_OK);
	ldns_pkt_push_rr(pkt, LDNS_SECTION_QUESTION, q);
	for (i = 0; records != NULL && records[i] != NULL; i++) {
		ldns_pkt_section sec = records[i][0] == 'U' ?
		    LDNS_SECTION_AUTHORITY : LDNS_SECTION_ANSWER;

		assert_int_equal(ldns_rr_new_frm_str(&rr, records[i] + 2, 0,
		    NULL, NULL), LDNS_STATUS_OK);
		ldns_pkt_push_rr(pkt, sec, rr);
	}
	assert_int_equal(ldns_pkt2wire(&out, pkt, &wire_len), LDNS_STATUS_OK);
	assert_true(wire_len <= sizeof(wire));
	memcpy(wire, out, wire_len);
	free(out);
	ldns_pkt_free(pkt);
}

static enum dns_status
parse(uint16_t id, const char *name, uint16_t type)
{
	return dns_answer_parse(wire, wire_len, id, name, type, &ans);
}

static void
test_names_are_normalized_or_refused(void **state)
{
	char out[DNS_NAME_MAX], long_label[80], long_name[300];

	assert_int_equal(dns_name_normalize("MX1.Example.ORG.", out,
	    sizeof(out)), 0);
	assert_string_equal(out, "mx1.example.org");
	assert_int_equal(dns_name_normalize(".", out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(dns_name_normalize("_dmarc.x-y.test", out,
	    sizeof(out)), 0);
	assert_int_equal(dns_name_normalize("a..b", out, sizeof(out)), -1);
	assert_int_equal(dns_name_normalize(".a", out, sizeof(out)), -1);
	assert_int_equal(dns_name_normalize("bad name.test", out,
	    sizeof(out)), -1);
	assert_int_equal(dns_name_normalize("ctl\x01.test", out,
	    sizeof(out)), -1);
	assert_int_equal(dns_name_normalize("caf\xc3\xa9.test", out,
	    sizeof(out)), -1);
	memset(long_label, 'a', 64);
	long_label[64] = '\0';
	assert_int_equal(dns_name_normalize(long_label, out, sizeof(out)), -1);
	long_label[63] = '\0';
	assert_int_equal(dns_name_normalize(long_label, out, sizeof(out)), 0);
	/* 254 bytes: one more than a name may have. */
	memset(long_name, 'b', 254);	/* labels of 63, 63, 63 and 62 */
	long_name[63] = long_name[127] = long_name[191] = '.';
	long_name[254] = '\0';
	assert_int_equal(strlen(long_name), 254);
	assert_int_equal(dns_name_normalize(long_name, out, sizeof(out)), -1);
	long_name[253] = '\0';
	assert_int_equal(dns_name_normalize(long_name, out, sizeof(out)), 0);
}

static void
test_a_query_asks_recursively_for_one_name_and_type(void **state)
{
	uint8_t q[512];
	ldns_pkt *pkt = NULL;
	const ldns_rr *rr;
	char *owner;
	int len;

	len = dns_query_build("Example.TEST", DNS_T_MX, 0xbeef, q, sizeof(q));
	assert_true(len > 12);
	assert_int_equal(ldns_wire2pkt(&pkt, q, (size_t)len), LDNS_STATUS_OK);
	assert_int_equal(ldns_pkt_id(pkt), 0xbeef);
	assert_true(ldns_pkt_rd(pkt));
	assert_false(ldns_pkt_qr(pkt));
	assert_int_equal(ldns_rr_list_rr_count(ldns_pkt_question(pkt)), 1);
	rr = ldns_rr_list_rr(ldns_pkt_question(pkt), 0);
	assert_int_equal(ldns_rr_get_type(rr), LDNS_RR_TYPE_MX);
	owner = ldns_rdf2str(ldns_rr_owner(rr));
	assert_string_equal(owner, "example.test.");
	free(owner);
	ldns_pkt_free(pkt);
	assert_int_equal(dns_query_build("bad name", DNS_T_A, 1, q,
	    sizeof(q)), -1);
	assert_int_equal(dns_query_build(".", DNS_T_A, 1, q, sizeof(q)), -1);
	assert_int_equal(dns_query_build("example.test", DNS_T_A, 1, q, 10),
	    -1);
}

static void
test_an_mx_answer_keeps_every_exchanger_and_the_smallest_ttl(void **state)
{
	static const char *const rr[] = {
		"A|example.test. 300 IN MX 20 MX2.example.test.",
		"A|example.test. 120 IN MX 10 mx1.example.test.",
		NULL };

	make_answer(7, "example.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0,
	    rr);
	assert_int_equal(parse(7, "EXAMPLE.test", DNS_T_MX), DNS_OK);
	assert_int_equal(ans.nmx, 2);
	assert_int_equal(ans.mx[0].pref, 20);
	assert_string_equal(ans.mx[0].host, "mx2.example.test");
	assert_string_equal(ans.mx[1].host, "mx1.example.test");
	assert_int_equal(ans.ttl, 120);
}

static void
test_only_an_answer_to_our_question_is_taken(void **state)
{
	static const char *const rr[] = {
		"A|example.test. 300 IN A 192.0.2.1", NULL };

	make_answer(7, "example.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0,
	    rr);
	assert_int_equal(parse(7, "example.test", DNS_T_A), DNS_OK);
	assert_int_equal(parse(8, "example.test", DNS_T_A), DNS_BADREPLY);
	assert_int_equal(parse(7, "other.test", DNS_T_A), DNS_BADREPLY);
	assert_int_equal(parse(7, "example.test", DNS_T_MX), DNS_BADREPLY);
	/* A query echoed back is not an answer (QR clear). */
	wire[2] &= 0x7f;
	assert_int_equal(parse(7, "example.test", DNS_T_A), DNS_BADREPLY);
	/* Nor are bytes that are not a packet. */
	assert_int_equal(dns_answer_parse((const uint8_t *)"\x00\x07\x81",
	    3, 7, "example.test", DNS_T_A, &ans), DNS_BADREPLY);
}

static void
test_records_of_other_names_are_not_taken(void **state)
{
	/* An A record for another name slipped into the answer. */
	static const char *const rr[] = {
		"A|victim.test. 300 IN A 203.0.113.66",
		"A|example.test. 300 IN A 192.0.2.1", NULL };

	make_answer(1, "example.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0,
	    rr);
	assert_int_equal(parse(1, "example.test", DNS_T_A), DNS_OK);
	assert_int_equal(ans.naddr, 1);
	assert_int_equal(ans.addr[0].a[3], 1);
}

static void
test_nxdomain_is_permanent_and_cached_by_the_soa(void **state)
{
	static const char *const rr[] = {
		"U|test. 900 IN SOA ns.test. admin.test. 1 3600 600 86400 120",
		NULL };

	make_answer(3, "nosuch.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN, 0,
	    rr);
	assert_int_equal(parse(3, "nosuch.test", DNS_T_MX), DNS_NXDOMAIN);
	assert_int_equal(ans.ttl, 120);	/* min(SOA TTL, MINIMUM) */
	make_answer(3, "nosuch.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NXDOMAIN, 0,
	    NULL);
	assert_int_equal(parse(3, "nosuch.test", DNS_T_MX), DNS_NXDOMAIN);
	assert_int_equal(ans.ttl, 0);	/* no SOA: not cached */
}

static void
test_no_data_servfail_and_truncation(void **state)
{
	static const char *const soa[] = {
		"U|test. 60 IN SOA ns.test. admin.test. 1 3600 600 86400 300",
		NULL };

	make_answer(4, "a.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0, soa);
	assert_int_equal(parse(4, "a.test", DNS_T_MX), DNS_NODATA);
	assert_int_equal(ans.ttl, 60);
	make_answer(4, "a.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_SERVFAIL, 0,
	    NULL);
	assert_int_equal(parse(4, "a.test", DNS_T_MX), DNS_TEMPFAIL);
	make_answer(4, "a.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_REFUSED, 0,
	    NULL);
	assert_int_equal(parse(4, "a.test", DNS_T_MX), DNS_TEMPFAIL);
	make_answer(4, "a.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 1,
	    NULL);
	assert_int_equal(parse(4, "a.test", DNS_T_MX), DNS_TRUNCATED);
}

static void
test_cname_chains_are_followed_within_bounds(void **state)
{
	static const char *const chain[] = {
		"A|www.test. 300 IN CNAME mid.test.",
		"A|mid.test. 60 IN CNAME end.test.",
		"A|end.test. 300 IN A 192.0.2.9", NULL };
	static const char *const loop[] = {
		"A|www.test. 300 IN CNAME mid.test.",
		"A|mid.test. 300 IN CNAME www.test.", NULL };

	make_answer(5, "www.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0,
	    chain);
	assert_int_equal(parse(5, "www.test", DNS_T_A), DNS_OK);
	assert_int_equal(ans.naddr, 1);
	assert_int_equal(ans.addr[0].a[3], 9);
	assert_int_equal(ans.ttl, 60);
	make_answer(5, "www.test.", LDNS_RR_TYPE_A, LDNS_RCODE_NOERROR, 0,
	    loop);
	assert_int_equal(parse(5, "www.test", DNS_T_A), DNS_TEMPFAIL);
}

static void
test_null_mx_and_bad_exchanger_names(void **state)
{
	static const char *const null_mx[] = {
		"A|n.test. 300 IN MX 0 .", NULL };
	static const char *const bad[] = {
		"A|b.test. 300 IN MX 10 bad\\032name.test.",
		"A|b.test. 300 IN MX 20 good.test.", NULL };
	static const char *const only_bad[] = {
		"A|b.test. 300 IN MX 10 bad\\010name.test.", NULL };

	make_answer(6, "n.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0,
	    null_mx);
	assert_int_equal(parse(6, "n.test", DNS_T_MX), DNS_OK);
	assert_int_equal(ans.nmx, 1);
	assert_string_equal(ans.mx[0].host, "");
	make_answer(6, "b.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0, bad);
	assert_int_equal(parse(6, "b.test", DNS_T_MX), DNS_OK);
	assert_int_equal(ans.nmx, 1);
	assert_string_equal(ans.mx[0].host, "good.test");
	assert_int_equal(ans.skipped, 1);
	/* Refused records are not "no such data": try again later. */
	make_answer(6, "b.test.", LDNS_RR_TYPE_MX, LDNS_RCODE_NOERROR, 0,
	    only_bad);
	assert_int_equal(parse(6, "b.test", DNS_T_MX), DNS_TEMPFAIL);
}

static void
test_records_beyond_the_limit_are_dropped(void **state)
{
	static char lines[40][64];
	static const char *rr[41];
	size_t i;

	for (i = 0; i < 40; i++) {
		snprintf(lines[i], sizeof(lines[i]),
		    "A|big.test. 300 IN AAAA 2001:db8::%zx", i + 1);
		rr[i] = lines[i];
	}
	rr[40] = NULL;
	make_answer(9, "big.test.", LDNS_RR_TYPE_AAAA, LDNS_RCODE_NOERROR, 0,
	    rr);
	assert_int_equal(parse(9, "big.test", DNS_T_AAAA), DNS_OK);
	assert_int_equal(ans.naddr, DNS_ADDR_MAX);
	assert_int_equal(ans.skipped, 40 - DNS_ADDR_MAX);
	assert_int_equal(ans.addr[0].family, AF_INET6);
	assert_int_equal(ans.addr[0].a[15], 1);
}

static void
test_a_dnssec_query_says_edns0_do_and_ad(void **state)
{
	uint8_t		 q[512];
	ldns_pkt	*pkt = NULL;
	int		 len;

	(void)state;
	len = dns_query_build_dnssec("_25._tcp.MX.example.test", DNS_T_TLSA,
	    7, q, sizeof(q));
	assert_true(len > 0);
	assert_int_equal(ldns_wire2pkt(&pkt, q, (size_t)len), LDNS_STATUS_OK);
	assert_true(ldns_pkt_edns(pkt));
	assert_true(ldns_pkt_edns_do(pkt));
	assert_true(ldns_pkt_ad(pkt));
	assert_true(ldns_pkt_rd(pkt));
	assert_int_equal(ldns_pkt_edns_udp_size(pkt), 1232);
	ldns_pkt_free(pkt);
	/* The plain one says none of it. */
	len = dns_query_build("example.test", DNS_T_MX, 7, q, sizeof(q));
	assert_int_equal(ldns_wire2pkt(&pkt, q, (size_t)len), LDNS_STATUS_OK);
	assert_false(ldns_pkt_edns(pkt));
	assert_false(ldns_pkt_ad(pkt));
	ldns_pkt_free(pkt);
}

#define H32 "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"

static void
test_tlsa_records_are_parsed_bounded_and_the_ad_bit_kept(void **state)
{
	static const char *const recs[] = {
		"A|_25._tcp.mx.example.test. 300 IN TLSA 3 1 1 " H32,
		"A|_25._tcp.mx.example.test. 300 IN TLSA 2 0 2 " H32 H32,
		/* A whole "certificate" of 96 bytes: present, not kept. */
		"A|_25._tcp.mx.example.test. 300 IN TLSA 3 0 0 " H32 H32 H32,
		"A|_25._tcp.mx.example.test. 300 IN TLSA 1 1 1 " H32,
		/* Another owner's: not ours. */
		"A|_25._tcp.other.example.test. 300 IN TLSA 3 1 1 " H32,
		NULL,
	};
	static const char *many[DNS_TLSA_MAX + 3];
	size_t i;

	(void)state;
	make_ad = 1;
	make_answer(9, "_25._tcp.mx.example.test", LDNS_RR_TYPE_TLSA,
	    LDNS_RCODE_NOERROR, 0, recs);
	assert_int_equal(parse(9, "_25._tcp.MX.example.test", DNS_T_TLSA),
	    DNS_OK);
	assert_true(ans.secure);
	assert_int_equal(ans.ntlsa, 4);
	assert_int_equal(ans.tlsa[0].usage, 3);
	assert_int_equal(ans.tlsa[0].selector, 1);
	assert_int_equal(ans.tlsa[0].mtype, 1);
	assert_int_equal(ans.tlsa[0].len, 32);
	assert_int_equal(ans.tlsa[0].data[31], 0x5a);
	assert_int_equal(ans.tlsa[1].usage, 2);
	assert_int_equal(ans.tlsa[1].mtype, 2);
	assert_int_equal(ans.tlsa[1].len, 64);
	assert_int_equal(ans.tlsa[2].mtype, 0);
	assert_int_equal(ans.tlsa[2].len, 0);
	assert_int_equal(ans.tlsa[3].usage, 1);

	/* Without AD: the same records, not validated. */
	make_ad = 0;
	make_answer(9, "_25._tcp.mx.example.test", LDNS_RR_TYPE_TLSA,
	    LDNS_RCODE_NOERROR, 0, recs);
	assert_int_equal(parse(9, "_25._tcp.mx.example.test", DNS_T_TLSA),
	    DNS_OK);
	assert_false(ans.secure);

	/* More than DNS_TLSA_MAX: the first kept, the rest counted. */
	for (i = 0; i < DNS_TLSA_MAX + 2; i++)
		many[i] = recs[0];
	many[i] = NULL;
	make_answer(9, "_25._tcp.mx.example.test", LDNS_RR_TYPE_TLSA,
	    LDNS_RCODE_NOERROR, 0, many);
	assert_int_equal(parse(9, "_25._tcp.mx.example.test", DNS_T_TLSA),
	    DNS_OK);
	assert_int_equal(ans.ntlsa, DNS_TLSA_MAX);
	assert_int_equal(ans.skipped, 2);

	/* A validated denial: no records, secure. */
	make_ad = 1;
	make_answer(9, "_25._tcp.mx.example.test", LDNS_RR_TYPE_TLSA,
	    LDNS_RCODE_NXDOMAIN, 0, NULL);
	assert_int_equal(parse(9, "_25._tcp.mx.example.test", DNS_T_TLSA),
	    DNS_NXDOMAIN);
	assert_true(ans.secure);
	make_answer(9, "_25._tcp.mx.example.test", LDNS_RR_TYPE_TLSA,
	    LDNS_RCODE_SERVFAIL, 0, NULL);
	assert_int_equal(parse(9, "_25._tcp.mx.example.test", DNS_T_TLSA),
	    DNS_TEMPFAIL);
	make_ad = 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_dnssec_query_says_edns0_do_and_ad),
		cmocka_unit_test(
		    test_tlsa_records_are_parsed_bounded_and_the_ad_bit_kept),
		cmocka_unit_test(test_names_are_normalized_or_refused),
		cmocka_unit_test(test_a_query_asks_recursively_for_one_name_and_type),
		cmocka_unit_test(test_an_mx_answer_keeps_every_exchanger_and_the_smallest_ttl),
		cmocka_unit_test(test_only_an_answer_to_our_question_is_taken),
		cmocka_unit_test(test_records_of_other_names_are_not_taken),
		cmocka_unit_test(test_nxdomain_is_permanent_and_cached_by_the_soa),
		cmocka_unit_test(test_no_data_servfail_and_truncation),
		cmocka_unit_test(test_cname_chains_are_followed_within_bounds),
		cmocka_unit_test(test_null_mx_and_bad_exchanger_names),
		cmocka_unit_test(test_records_beyond_the_limit_are_dropped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
