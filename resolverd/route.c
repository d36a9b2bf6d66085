/*
 * route.c - resolverd's route service: R_ROUTE ("where does mail for
 * this domain go?") answered from the DNS module (dns_route.c) on the
 * event loop, for the remote delivery agents.
 *
 * Runs in resolverd's loop thread, as resolver_user. Its clients are
 * the relayd processes (relay_user, on <spool>/relay/route.sock, which
 * master made for them alone); they are not trusted further than the
 * decoder lets them: a bad frame closes that client. A lookup never
 * blocks the loop: each request becomes a dns_route job whose answer
 * is sent when its queries end; a client that leaves first cancels its
 * jobs. The DNS client is made once, at start, from dns_servers (or
 * /etc/resolv.conf, read before anything else could want it), and
 * serves every request after.
 *
 * DNSSEC: resolverd validates nothing itself. When DANE may be used
 * (smtp_tls_security_level = dane, or a smtp_tls_policy_map) and every
 * server is on loopback, it asks with EDNS0, DO and AD and believes the
 * AD bit, as Postfix does with smtp_dns_support_level = dnssec: a
 * validating resolver on this host is trusted, the path to it cannot
 * be spoofed from outside. A remote resolver's AD bit is ignored.
 */
#include <sys/queue.h>

#include <arpa/inet.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"
#include "peer.h"
#include "resolverd.h"
#include "tls.h"

/* Requests one client may have in flight: beyond, it is not reading. */
#define ROUTE_PER_CLIENT_MAX	64
#define ROUTE_RESOLV_CONF	"/etc/resolv.conf"
#define ROUTE_RESOLV_MAX	(64 * 1024)

struct route_req {
	TAILQ_ENTRY(route_req)	 entry;
	struct peer		*peer;
	uint32_t		 id;
	char			 domain[R_HOST_MAX + 1];
	struct dns_route_job	*job;
};
TAILQ_HEAD(route_reqs, route_req);

static struct dns_client	*route_dns;
static struct route_reqs	 route_pending =
    TAILQ_HEAD_INITIALIZER(route_pending);

static int
route_servers(const struct conf *cf, struct dns_servers *out, char *err,
    size_t errsz)
{
	char	buf[ROUTE_RESOLV_MAX + 1], why[128];
	size_t	i, n;
	FILE	*f;

	memset(out, 0, sizeof(*out));
	if (cf->dns_servers.n > DNS_SERVERS_MAX) {
		snprintf(err, errsz, "dns_servers: at most %d servers",
		    DNS_SERVERS_MAX);
		return -1;
	}
	for (i = 0; i < cf->dns_servers.n; i++) {
		if (dns_server_parse(cf->dns_servers.v[i], &out->s[i], why,
		    sizeof(why)) == -1) {
			snprintf(err, errsz, "dns_servers: %s: %s",
			    cf->dns_servers.v[i], why);
			return -1;
		}
		out->n++;
	}
	if (out->n > 0)
		return 0;
	/* RFC-less but universal: no file or no nameserver is 127.0.0.1. */
	n = 0;
	if ((f = fopen(ROUTE_RESOLV_CONF, "re")) != NULL) {
		n = fread(buf, 1, ROUTE_RESOLV_MAX, f);
		fclose(f);
	}
	buf[n] = '\0';
	return dns_servers_from_resolv(buf, out) == -1 ? -1 : 0;
}

/* Whether a server is on this host (127/8, ::1). */
static int
route_server_local(const struct dns_server *s)
{
	const struct sockaddr_in	*sin = (const void *)&s->ss;
	const struct sockaddr_in6	*sin6 = (const void *)&s->ss;

	if (s->ss.ss_family == AF_INET)
		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	return s->ss.ss_family == AF_INET6 &&
	    IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr);
}

/* DNSSEC mode: DANE may be used, and only loopback resolvers answer. */
static int
route_dnssec(const struct conf *cf, const struct dns_servers *sv)
{
	enum tls_level	level;
	size_t		i;

	if ((tls_level_parse(cf->smtp_tls_security_level, &level) == -1 ||
	    level != TLS_LEVEL_DANE) && cf->smtp_tls_policy_map[0] == '\0')
		return 0;
	for (i = 0; i < sv->n; i++)
		if (!route_server_local(&sv->s[i])) {
			log_warnx("DNS server %zu is not on loopback: its AD "
			    "bit is not trusted, so no DANE", i + 1);
			return 0;
		}
	return sv->n > 0;
}

int
route_init(struct evloop *loop, const struct conf *cf, char *err,
    size_t errsz)
{
	struct dns_client_conf	dc;
	char			s[128];
	size_t			i, len = 0;

	memset(&dc, 0, sizeof(dc));
	if (route_servers(cf, &dc.servers, err, errsz) == -1)
		return -1;
	dc.try_ms = (uint64_t)cf->dns_timeout * 1000;
	dc.attempts = (unsigned)cf->dns_attempts;
	dc.max_outstanding = 1000;
	dc.cache_entries = 10000;
	dc.dnssec = route_dnssec(cf, &dc.servers);
	if ((route_dns = dns_client_new(loop, &dc)) == NULL) {
		snprintf(err, errsz, "DNS client: %s", strerror(errno));
		return -1;
	}
	err[0] = '\0';
	for (i = 0; i < dc.servers.n; i++) {
		dns_server_str(&dc.servers.s[i], s, sizeof(s));
		len += (size_t)snprintf(err + len, errsz > len ? errsz - len :
		    0, "%s%s", i ? ", " : "", s);
		if (len >= errsz)
			break;
	}
	log_info("DNS servers: %s%s%s", err, cf->dns_servers.n ? "" :
	    " (from " ROUTE_RESOLV_CONF ")", dc.dnssec ? "; DNSSEC: their "
	    "AD bit is trusted, for DANE" : "");
	return 0;
}

/* DANE's facts of one hop, as dns_route found them. */
static void
route_hop_dane(struct r_hop *h, const struct dns_hop *d)
{
	size_t i;

	h->dane = d->dane == DNS_DANE_FAIL ? R_DANE_FAIL : R_DANE_NONE;
	if (d->dane != DNS_DANE_TLSA || d->ntlsa == 0)
		return;
	h->dane = R_DANE_TLSA;
	for (i = 0; i < d->ntlsa && i < R_TLSA_MAX; i++) {
		h->tlsa[i].usage = d->tlsa[i].usage;
		h->tlsa[i].selector = d->tlsa[i].selector;
		h->tlsa[i].mtype = d->tlsa[i].mtype;
		h->tlsa[i].len = d->tlsa[i].len;
		memcpy(h->tlsa[i].data, d->tlsa[i].data, d->tlsa[i].len);
	}
	h->ntlsa = i;
}

static void
route_answer(struct route_req *rq, const struct dns_route *r)
{
	static struct r_route	rt;
	struct ipc_msg		m;
	size_t			i;

	memset(&rt, 0, sizeof(rt));
	rt.status = r->status == DNS_ROUTE_OK ? ST_OK :
	    r->status == DNS_ROUTE_TEMP ? ST_TEMP : ST_PERM;
	rt.implicit = r->implicit ? 1 : 0;
	if (rt.status != ST_OK) {
		strlcpy(rt.dsn, r->dsn, sizeof(rt.dsn));
		strlcpy(rt.text, r->text, sizeof(rt.text));
	}
	for (i = 0; rt.status == ST_OK && i < r->n &&
	    rt.n < R_ROUTE_HOPS_MAX; i++) {
		struct r_hop *h = &rt.hop[rt.n];

		/* dns_wire normalised it; the check costs nothing. */
		if (strlcpy(h->host, r->hop[i].host, sizeof(h->host)) >=
		    sizeof(h->host) || !proto_hostname_ok(h->host))
			continue;
		h->pref = r->hop[i].pref;
		h->family = r->hop[i].addr.family == AF_INET6 ? 6 : 4;
		memcpy(h->addr, r->hop[i].addr.a, h->family == 6 ? 16 : 4);
		route_hop_dane(h, &r->hop[i]);
		rt.n++;
	}
	if (rt.status == ST_OK && rt.n == 0) {
		rt.status = ST_TEMP;
		strlcpy(rt.dsn, "4.4.3", sizeof(rt.dsn));
		snprintf(rt.text, sizeof(rt.text), "No usable address for "
		    "any mail exchanger of %s", rq->domain);
	}
	log_debug("route %s: status %u, %u hops %s", rq->domain, rt.status,
	    rt.n, rt.text);
	ipc_msg_init(&m, R_ROUTE_REPLY, rq->id);
	if (proto_enc_r_route_reply(&m, &rt) == -1) {
		log_warnx("route %s: cannot encode the answer", rq->domain);
		ipc_msg_free(&m);
		peer_close(rq->peer);
		return;
	}
	if (peer_send(rq->peer, &m) == -1)
		log_warn("route %s: answer the agent", rq->domain);
	ipc_msg_free(&m);
}

static void
route_done(const struct dns_route *r, void *arg)
{
	struct route_req *rq = arg;

	TAILQ_REMOVE(&route_pending, rq, entry);
	/* The job frees itself after this callback. */
	rq->job = NULL;
	route_answer(rq, r);
	free(rq);
}

int
route_request(struct peer *p, struct ipc_msg *m)
{
	struct route_req	*rq;
	size_t			 n = 0;

	TAILQ_FOREACH(rq, &route_pending, entry)
		n += rq->peer == p;
	if (n >= ROUTE_PER_CLIENT_MAX) {
		log_warnx("a route client has %zu requests in flight; "
		    "closing it", n);
		return -1;
	}
	if ((rq = calloc(1, sizeof(*rq))) == NULL) {
		static struct r_route rt;
		struct ipc_msg r;

		/* Out of memory here is a temporary failure, never fatal. */
		memset(&rt, 0, sizeof(rt));
		rt.status = ST_TEMP;
		strlcpy(rt.dsn, "4.3.0", sizeof(rt.dsn));
		strlcpy(rt.text, "resolver out of memory", sizeof(rt.text));
		ipc_msg_init(&r, R_ROUTE_REPLY, m->id);
		if (proto_enc_r_route_reply(&r, &rt) == 0)
			(void)peer_send(p, &r);
		ipc_msg_free(&r);
		return 0;
	}
	if (proto_dec_r_route(m, rq->domain) == -1) {
		free(rq);
		return -1;
	}
	rq->peer = p;
	rq->id = m->id;
	TAILQ_INSERT_TAIL(&route_pending, rq, entry);
	/* Answered on a later loop turn, even from the cache. */
	rq->job = m->type == R_ROUTE_DANE ?
	    dns_route_resolve_dane(route_dns, rq->domain, 1, 1, route_done,
	    rq) :
	    dns_route_resolve(route_dns, rq->domain, 1, 1, route_done, rq);
	return 0;
}

void
route_client_gone(struct peer *p)
{
	struct route_req *rq, *next;

	for (rq = TAILQ_FIRST(&route_pending); rq != NULL; rq = next) {
		next = TAILQ_NEXT(rq, entry);
		if (rq->peer != p)
			continue;
		TAILQ_REMOVE(&route_pending, rq, entry);
		if (rq->job != NULL)
			dns_route_cancel(rq->job);
		free(rq);
	}
}
