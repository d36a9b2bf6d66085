/*
 * fuzz_dns_answer.c - fuzz target: resolverd's DNS answer parser
 * (resolverd/dns_wire.c, dns_answer_parse, on ldns's wire2pkt) and the
 * cache that keeps what it returns.
 *
 * Every byte of a DNS answer is chosen by whoever can send a UDP packet
 * to resolverd's port. Input: a type selector (A, AAAA, MX, TLSA), the query
 * id (big-endian), then the packet, answering "example.test". Beyond
 * "no crash": what the parser keeps obeys its limits, every kept name
 * is a normalized host name, and the cache gives back what it was given.
 */
#include <string.h>

#include "dns.h"
#include "fuzz.h"

static struct dns_answer a, back;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint16_t types[] = { DNS_T_A, DNS_T_AAAA, DNS_T_MX,
	    DNS_T_TLSA };
	struct dns_cache *cache;
	char norm[DNS_NAME_MAX];
	uint16_t type, id;
	size_t i;

	if (size < 3)
		return 0;
	type = types[data[0] % 4];
	id = (uint16_t)(data[1] << 8 | data[2]);
	dns_answer_parse(data + 3, size - 3, id, "example.test", type, &a);
	FUZZ_CHECK(a.status >= DNS_OK && a.status <= DNS_BADREPLY);
	FUZZ_CHECK(a.nmx <= DNS_MX_MAX && a.naddr <= DNS_ADDR_MAX);
	FUZZ_CHECK(a.status != DNS_OK || a.nmx + a.naddr + a.ntlsa > 0);
	FUZZ_CHECK(type == DNS_T_MX || a.nmx == 0);
	FUZZ_CHECK(a.ntlsa <= DNS_TLSA_MAX);
	FUZZ_CHECK(type == DNS_T_TLSA || a.ntlsa == 0);
	for (i = 0; i < a.ntlsa; i++)
		FUZZ_CHECK(a.tlsa[i].len <= DNS_TLSA_DATA_MAX);
	for (i = 0; i < a.nmx; i++) {
		FUZZ_CHECK(dns_name_normalize(a.mx[i].host, norm,
		    sizeof(norm)) == 0);
		FUZZ_CHECK(strcmp(norm, a.mx[i].host) == 0);
	}
	for (i = 0; i < a.naddr; i++)
		FUZZ_CHECK(a.addr[i].family == (type == DNS_T_A ? AF_INET :
		    AF_INET6));
	if ((cache = dns_cache_new(4)) == NULL)
		return 0;
	dns_cache_put(cache, "example.test", type, 1000, &a);
	if (dns_cache_get(cache, "example.test", type, 1000, &back)) {
		FUZZ_CHECK(type != DNS_T_TLSA);	/* never cached */
		FUZZ_CHECK(back.status == a.status);
		FUZZ_CHECK(back.secure == a.secure);
		FUZZ_CHECK(back.nmx == a.nmx && back.naddr == a.naddr);
		FUZZ_CHECK(memcmp(back.mx, a.mx, a.nmx * sizeof(a.mx[0])) == 0);
		FUZZ_CHECK(memcmp(back.addr, a.addr,
		    a.naddr * sizeof(a.addr[0])) == 0);
	} else
		FUZZ_CHECK(a.status != DNS_OK || a.ttl == 0 ||
		    type == DNS_T_TLSA);
	dns_cache_free(cache);
	return 0;
}
