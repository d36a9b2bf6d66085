/*
 * dns_wire.c - DNS queries built and answers parsed, with ldns.
 *
 * Runs in resolverd (unprivileged, no secrets). Trusts nothing in an
 * answer: ldns parses the packet, and this file then accepts only an
 * answer to exactly the question asked (id, QR, opcode, one question
 * with our name, type and class), follows CNAMEs only from that name
 * and only inside the answer, and keeps only names that are host names
 * (LDH labels): an exchanger named with a control byte or a space never
 * reaches a log line or an SMTP command.
 */
#include <ctype.h>
#include <string.h>

#include <ldns/ldns.h>

#include "dns.h"

const char *
dns_status_name(enum dns_status s)
{
	switch (s) {
	case DNS_OK:		return "ok";
	case DNS_NODATA:	return "no data";
	case DNS_NXDOMAIN:	return "host not found";
	case DNS_TEMPFAIL:	return "temporary failure";
	case DNS_TRUNCATED:	return "truncated";
	case DNS_BADREPLY:	return "bad reply";
	}
	return "?";
}

/*
 * Host names as RFC 952/1123 have them, plus "_" (seen in real MX
 * targets): labels of 1-63 letters, digits, '-' and '_', 253 bytes in
 * all. One trailing dot is dropped; "." alone becomes "" (null MX).
 */
int
dns_name_normalize(const char *in, char *out, size_t outsz)
{
	size_t n = strlen(in), i, label = 0;

	if (n > 0 && in[n - 1] == '.')
		n--;
	if (n > 253 || n + 1 > outsz)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else
			return -1;
		out[i] = (char)tolower(c);
	}
	if (n > 0 && label == 0)
		return -1;
	out[n] = '\0';
	return 0;
}

static int
query_build(const char *name, uint16_t type, uint16_t id, int dnssec,
    uint8_t *out, size_t outsz)
{
	char norm[DNS_NAME_MAX];
	ldns_rdf *qname;
	ldns_pkt *pkt;
	uint8_t *wire = NULL;
	size_t len = 0;
	int rc = -1;

	if (dns_name_normalize(name, norm, sizeof(norm)) == -1 ||
	    norm[0] == '\0')
		return -1;
	if ((qname = ldns_dname_new_frm_str(norm)) == NULL)
		return -1;
	pkt = ldns_pkt_query_new(qname, (ldns_rr_type)type, LDNS_RR_CLASS_IN,
	    LDNS_RD);
	if (pkt == NULL) {
		ldns_rdf_deep_free(qname);
		return -1;
	}
	ldns_pkt_set_id(pkt, id);
	if (dnssec) {
		ldns_pkt_set_edns_udp_size(pkt, 1232);
		ldns_pkt_set_edns_do(pkt, 1);
		ldns_pkt_set_ad(pkt, 1);
	}
	if (ldns_pkt2wire(&wire, pkt, &len) == LDNS_STATUS_OK &&
	    len <= outsz) {
		memcpy(out, wire, len);
		rc = (int)len;
	}
	free(wire);
	ldns_pkt_free(pkt);
	return rc;
}

int
dns_query_build(const char *name, uint16_t type, uint16_t id, uint8_t *out,
    size_t outsz)
{
	return query_build(name, type, id, 0, out, outsz);
}

int
dns_query_build_dnssec(const char *name, uint16_t type, uint16_t id,
    uint8_t *out, size_t outsz)
{
	return query_build(name, type, id, 1, out, outsz);
}

/* The owner or target name of a record, normalized; -1 if not a host. */
static int
rdf_name(const ldns_rdf *rdf, char *out, size_t outsz)
{
	char *s;
	int rc;

	if (rdf == NULL || ldns_rdf_get_type(rdf) != LDNS_RDF_TYPE_DNAME)
		return -1;
	if ((s = ldns_rdf2str(rdf)) == NULL)
		return -1;
	rc = dns_name_normalize(s, out, outsz);
	free(s);
	return rc;
}

static int
question_matches(const ldns_pkt *pkt, const char *name, uint16_t type)
{
	const ldns_rr_list *q = ldns_pkt_question(pkt);
	const ldns_rr *rr;
	char owner[DNS_NAME_MAX];

	if (q == NULL || ldns_rr_list_rr_count(q) != 1)
		return 0;
	rr = ldns_rr_list_rr(q, 0);
	return ldns_rr_get_type(rr) == type &&
	    ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN &&
	    rdf_name(ldns_rr_owner(rr), owner, sizeof(owner)) == 0 &&
	    strcmp(owner, name) == 0;
}

static uint32_t
min_ttl(uint32_t a, uint32_t b)
{
	return a < b ? a : b;
}

/*
 * The name the answer's records of the asked type should carry: the
 * question's, or where its CNAME chain inside the answer ends. ttl
 * drops to the chain's smallest.
 */
static int
follow_cnames(const ldns_rr_list *ans, const char *name, char *target,
    size_t targetsz, uint32_t *ttl)
{
	size_t i, hops;
	char owner[DNS_NAME_MAX];
	int moved;

	if (strlcpy(target, name, targetsz) >= targetsz)
		return -1;
	for (hops = 0; hops <= DNS_CNAME_MAX; hops++) {
		moved = 0;
		for (i = 0; i < ldns_rr_list_rr_count(ans); i++) {
			const ldns_rr *rr = ldns_rr_list_rr(ans, i);

			if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_CNAME ||
			    rdf_name(ldns_rr_owner(rr), owner,
			    sizeof(owner)) == -1 || strcmp(owner, target) != 0)
				continue;
			if (rdf_name(ldns_rr_rdf(rr, 0), target, targetsz) == -1)
				return -1;
			*ttl = min_ttl(*ttl, ldns_rr_ttl(rr));
			moved = 1;
			break;
		}
		if (!moved)
			return 0;
	}
	return -1;	/* a chain longer than we follow, or a loop */
}

static void
take_mx(const ldns_rr *rr, struct dns_answer *out)
{
	const ldns_rdf *pref = ldns_rr_rdf(rr, 0);
	struct dns_mx *mx;

	if (out->nmx == DNS_MX_MAX || pref == NULL ||
	    ldns_rdf_size(pref) != 2) {
		out->skipped++;
		return;
	}
	mx = &out->mx[out->nmx];
	if (rdf_name(ldns_rr_rdf(rr, 1), mx->host, sizeof(mx->host)) == -1) {
		out->skipped++;
		return;
	}
	mx->pref = ldns_rdf2native_int16(pref);
	out->nmx++;
}

static void
take_addr(const ldns_rr *rr, int family, size_t size, struct dns_answer *out)
{
	const ldns_rdf *rdf = ldns_rr_rdf(rr, 0);

	if (out->naddr == DNS_ADDR_MAX || rdf == NULL ||
	    ldns_rdf_size(rdf) != size) {
		out->skipped++;
		return;
	}
	out->addr[out->naddr].family = family;
	memset(out->addr[out->naddr].a, 0, sizeof(out->addr[0].a));
	memcpy(out->addr[out->naddr].a, ldns_rdf_data(rdf), size);
	out->naddr++;
}

/* Usage, selector, matching type: one byte each; then the data. */
static void
take_tlsa(const ldns_rr *rr, struct dns_answer *out)
{
	const ldns_rdf	*f[4];
	struct dns_tlsa	*t;
	size_t		 i;

	if (out->ntlsa == DNS_TLSA_MAX || ldns_rr_rd_count(rr) != 4) {
		out->skipped++;
		return;
	}
	for (i = 0; i < 4; i++)
		if ((f[i] = ldns_rr_rdf(rr, i)) == NULL ||
		    (i < 3 && ldns_rdf_size(f[i]) != 1) ||
		    (i == 3 && ldns_rdf_size(f[i]) == 0)) {
			out->skipped++;
			return;
		}
	t = &out->tlsa[out->ntlsa++];
	memset(t, 0, sizeof(*t));
	t->usage = ldns_rdf_data(f[0])[0];
	t->selector = ldns_rdf_data(f[1])[0];
	t->mtype = ldns_rdf_data(f[2])[0];
	if (ldns_rdf_size(f[3]) <= DNS_TLSA_DATA_MAX) {
		t->len = (uint8_t)ldns_rdf_size(f[3]);
		memcpy(t->data, ldns_rdf_data(f[3]), t->len);
	}
}

/*
 * RFC 2308 section 5: a negative answer lives as long as the smaller of
 * the SOA record's TTL and its MINIMUM field; without an SOA it is not
 * cached.
 */
static uint32_t
negative_ttl(const ldns_pkt *pkt)
{
	const ldns_rr_list *auth = ldns_pkt_authority(pkt);
	size_t i;

	for (i = 0; auth != NULL && i < ldns_rr_list_rr_count(auth); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(auth, i);
		const ldns_rdf *minimum;

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_SOA)
			continue;
		minimum = ldns_rr_rdf(rr, 6);
		if (minimum == NULL || ldns_rdf_size(minimum) != 4)
			return 0;
		return min_ttl(ldns_rr_ttl(rr),
		    ldns_rdf2native_int32(minimum));
	}
	return 0;
}

enum dns_status
dns_answer_parse(const uint8_t *wire, size_t len, uint16_t id,
    const char *name, uint16_t type, struct dns_answer *out)
{
	char qname[DNS_NAME_MAX], target[DNS_NAME_MAX], owner[DNS_NAME_MAX];
	const ldns_rr_list *ans;
	ldns_pkt *pkt = NULL;
	uint32_t ttl = DNS_TTL_MAX;
	size_t i;

	memset(out, 0, sizeof(*out));
	out->status = DNS_BADREPLY;
	if (dns_name_normalize(name, qname, sizeof(qname)) == -1)
		return out->status;
	if (ldns_wire2pkt(&pkt, wire, len) != LDNS_STATUS_OK)
		return out->status;
	if (ldns_pkt_id(pkt) != id || !ldns_pkt_qr(pkt) ||
	    ldns_pkt_get_opcode(pkt) != LDNS_PACKET_QUERY ||
	    !question_matches(pkt, qname, type))
		goto done;
	out->rcode = ldns_pkt_get_rcode(pkt);
	if (ldns_pkt_tc(pkt)) {
		out->status = DNS_TRUNCATED;
		goto done;
	}
	switch (out->rcode) {
	case LDNS_RCODE_NOERROR:
		break;
	case LDNS_RCODE_NXDOMAIN:
		out->status = DNS_NXDOMAIN;
		out->ttl = negative_ttl(pkt);
		out->secure = ldns_pkt_ad(pkt);
		goto done;
	default:	/* SERVFAIL, REFUSED, NOTIMP, FORMERR: not the name's fault */
		out->status = DNS_TEMPFAIL;
		goto done;
	}
	ans = ldns_pkt_answer(pkt);
	if (follow_cnames(ans, qname, target, sizeof(target), &ttl) == -1) {
		out->status = DNS_TEMPFAIL;
		goto done;
	}
	for (i = 0; ans != NULL && i < ldns_rr_list_rr_count(ans); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(ans, i);

		if (ldns_rr_get_type(rr) != type ||
		    ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN ||
		    rdf_name(ldns_rr_owner(rr), owner, sizeof(owner)) == -1 ||
		    strcmp(owner, target) != 0)
			continue;
		if (type == DNS_T_MX)
			take_mx(rr, out);
		else if (type == DNS_T_A)
			take_addr(rr, AF_INET, 4, out);
		else if (type == DNS_T_AAAA)
			take_addr(rr, AF_INET6, 16, out);
		else if (type == DNS_T_TLSA)
			take_tlsa(rr, out);
		else
			continue;
		ttl = min_ttl(ttl, ldns_rr_ttl(rr));
	}
	/* Only the caller knows whether the resolver is to be believed. */
	out->secure = ldns_pkt_ad(pkt);
	if (out->nmx + out->naddr + out->ntlsa > 0) {
		out->status = DNS_OK;
		out->ttl = ttl;
	} else {
		/* Records of the type that we refused are not "no data". */
		out->status = out->skipped ? DNS_TEMPFAIL : DNS_NODATA;
		out->ttl = out->skipped ? 0 : negative_ttl(pkt);
	}
done:
	ldns_pkt_free(pkt);
	return out->status;
}
