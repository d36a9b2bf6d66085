/*
 * dns_route.c - where mail for a domain goes: its exchangers in order
 * of preference (random among equals, RFC 5321 section 5.1), the
 * domain itself when it has no MX (implicit MX), nothing at all for a
 * null MX (RFC 7505), and the addresses of each.
 *
 * Runs in resolverd's loop thread, on dns_client's queries. Which
 * failures are permanent is decided here, once, for every transport:
 * a domain that does not exist, a null MX, or exchangers none of which
 * has an address (all lookups answered definitively); anything a retry
 * could change (a timeout, SERVFAIL) is temporary. The texts follow
 * Postfix's, which administrators already search for.
 *
 * For DANE (dns_route_resolve_dane, RFC 7672 2.2): when the MX answer
 * (or the no-MX answer, for an implicit MX) was validated, each
 * exchanger whose address answers were validated too has its TLSA
 * records looked up at _25._tcp.HOST. A validated answer with records
 * gives them to the hop; no records, or an answer that was not
 * validated, means no DANE for it; a failed lookup (SERVFAIL: bogus or
 * unreachable) marks it DNS_DANE_FAIL, which the agent must not
 * deliver to at all (it could be an attacker's downgrade).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"
#include "log.h"

struct hop_result {
	enum dns_status st[2];	/* [0] A, [1] AAAA */
	int	 secure[2];
	size_t	 naddr[2];
	struct dns_addr addr[2][DNS_ADDR_MAX];
	enum dns_dane dane;
	size_t	 ntlsa;
	struct dns_tlsa tlsa[DNS_TLSA_MAX];
};

struct dns_route_job {
	struct dns_client *c;
	char	 domain[DNS_NAME_MAX];
	int	 want_v4, want_v6;
	dns_route_cb cb;
	void	*arg;
	size_t	 pending;
	int	 dane;		/* look TLSA records up */
	int	 mx_secure;	/* the MX (or no-MX) answer was validated */
	size_t	 nmx;
	struct dns_mx mx[DNS_HOPS_MAX];
	struct hop_result res[DNS_HOPS_MAX];
	struct dns_route route;
};

struct addr_ctx {
	struct dns_route_job *job;
	size_t	 hop;
	int	 v6;
};

void
dns_route_cancel(struct dns_route_job *job)
{
	job->cb = NULL;
}

static void
job_done(struct dns_route_job *job)
{
	if (job->cb != NULL)
		job->cb(&job->route, job->arg);
	free(job);
}

enum route_why {
	WHY_NOT_FOUND,		/* the name does not exist */
	WHY_TRY_AGAIN,		/* no definitive answer */
	WHY_NO_ADDRESS,		/* exchangers, none with an address */
	WHY_NULL_MX,		/* RFC 7505 */
};

static void
route_fail(struct dns_route_job *job, enum route_why why, const char *name,
    const char *type)
{
	struct dns_route *r = &job->route;

	r->status = why == WHY_TRY_AGAIN ? DNS_ROUTE_TEMP : DNS_ROUTE_PERM;
	switch (why) {
	case WHY_NOT_FOUND:
		strlcpy(r->dsn, "5.4.4", sizeof(r->dsn));
		snprintf(r->text, sizeof(r->text), "Host or domain name not "
		    "found. Name service error for name=%s type=%s: Host not "
		    "found", name, type);
		break;
	case WHY_TRY_AGAIN:
		strlcpy(r->dsn, "4.4.3", sizeof(r->dsn));
		snprintf(r->text, sizeof(r->text), "Host or domain name not "
		    "found. Name service error for name=%s type=%s: Host not "
		    "found, try again", name, type);
		break;
	case WHY_NO_ADDRESS:
		strlcpy(r->dsn, "5.4.4", sizeof(r->dsn));
		snprintf(r->text, sizeof(r->text), "No address for any mail "
		    "exchanger of %s", name);
		break;
	case WHY_NULL_MX:
		strlcpy(r->dsn, "5.1.10", sizeof(r->dsn));
		snprintf(r->text, sizeof(r->text), "Domain %s does not accept "
		    "mail (nullMX)", name);
		break;
	}
}

/* Every address lookup is in: the route, in exchanger order. */
static void
route_assemble(struct dns_route_job *job)
{
	struct dns_route *r = &job->route;
	size_t i, j, fam;
	int temp = 0;
	const char *failed_host = job->domain, *failed_type = "A";

	for (i = 0; i < job->nmx; i++) {
		struct hop_result *h = &job->res[i];

		for (fam = 0; fam < 2; fam++)
			if (h->st[fam] == DNS_TEMPFAIL) {
				temp = 1;
				failed_host = job->mx[i].host;
				failed_type = fam ? "AAAA" : "A";
			}
		/* IPv4 first: broken IPv6 paths are still the commoner. */
		for (fam = 0; fam < 2; fam++)
			for (j = 0; j < h->naddr[fam] &&
			    r->n < sizeof(r->hop) / sizeof(r->hop[0]); j++) {
				strlcpy(r->hop[r->n].host, job->mx[i].host,
				    sizeof(r->hop[r->n].host));
				r->hop[r->n].pref = job->mx[i].pref;
				r->hop[r->n].addr = h->addr[fam][j];
				r->hop[r->n].dane = h->dane;
				r->hop[r->n].ntlsa = h->ntlsa;
				memcpy(r->hop[r->n].tlsa, h->tlsa,
				    h->ntlsa * sizeof(h->tlsa[0]));
				r->n++;
			}
	}
	if (r->n > 0) {
		r->status = DNS_ROUTE_OK;
		return;
	}
	if (temp)
		route_fail(job, WHY_TRY_AGAIN, failed_host, failed_type);
	else if (job->route.implicit)
		route_fail(job, WHY_NOT_FOUND, job->domain, "A");
	else
		route_fail(job, WHY_NO_ADDRESS, job->domain, "");
}

/* Whether an exchanger's addresses all came in validated answers. */
static int
hop_secure(const struct hop_result *h)
{
	return h->naddr[0] + h->naddr[1] > 0 &&
	    (h->naddr[0] == 0 || h->secure[0]) &&
	    (h->naddr[1] == 0 || h->secure[1]);
}

static void
tlsa_done(const struct dns_answer *a, void *arg)
{
	struct addr_ctx *ctx = arg;
	struct dns_route_job *job = ctx->job;
	struct hop_result *h = &job->res[ctx->hop];

	switch (a->status) {
	case DNS_OK:
		if (a->secure && a->ntlsa > 0) {
			h->dane = DNS_DANE_TLSA;
			h->ntlsa = a->ntlsa;
			memcpy(h->tlsa, a->tlsa, a->ntlsa * sizeof(a->tlsa[0]));
		}
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		break;
	default:
		h->dane = DNS_DANE_FAIL;
		break;
	}
	free(ctx);
	if (--job->pending == 0) {
		route_assemble(job);
		job_done(job);
	}
}

/* The address lookups are in: TLSA for the secure exchangers, if DANE. */
static void
lookup_tlsa(struct dns_route_job *job)
{
	char	name[DNS_NAME_MAX];
	size_t	i;

	job->pending = 1;	/* as in lookup_addresses */
	for (i = 0; job->dane && job->mx_secure && i < job->nmx; i++) {
		struct addr_ctx *ctx;

		if (!hop_secure(&job->res[i]) || (size_t)snprintf(name,
		    sizeof(name), "_25._tcp.%s", job->mx[i].host) >=
		    sizeof(name))
			continue;
		if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
			fatal("dns: out of memory");
		ctx->job = job;
		ctx->hop = i;
		job->pending++;
		dns_query(job->c, name, DNS_T_TLSA, tlsa_done, ctx);
	}
	if (--job->pending == 0) {
		route_assemble(job);
		job_done(job);
	}
}

static void
addr_done(const struct dns_answer *a, void *arg)
{
	struct addr_ctx *ctx = arg;
	struct dns_route_job *job = ctx->job;
	struct hop_result *h = &job->res[ctx->hop];
	size_t i;

	h->st[ctx->v6] = a->status;
	h->secure[ctx->v6] = a->status == DNS_OK && a->secure;
	for (i = 0; a->status == DNS_OK && i < a->naddr &&
	    h->naddr[ctx->v6] < DNS_ADDR_MAX; i++)
		h->addr[ctx->v6][h->naddr[ctx->v6]++] = a->addr[i];
	free(ctx);
	if (--job->pending == 0)
		lookup_tlsa(job);
}

static void
lookup_addresses(struct dns_route_job *job)
{
	size_t i;
	int v6;

	job->pending = job->nmx * (size_t)(job->want_v4 + job->want_v6);
	/* Counted first: an answer may not finish the job mid-loop. */
	job->pending++;
	for (i = 0; i < job->nmx; i++) {
		job->res[i].st[0] = job->res[i].st[1] = DNS_NODATA;
		for (v6 = 0; v6 < 2; v6++) {
			struct addr_ctx *ctx;

			if (!(v6 ? job->want_v6 : job->want_v4))
				continue;
			if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
				fatal("dns: out of memory");
			ctx->job = job;
			ctx->hop = i;
			ctx->v6 = v6;
			dns_query(job->c, job->mx[i].host,
			    v6 ? DNS_T_AAAA : DNS_T_A, addr_done, ctx);
		}
	}
	if (--job->pending == 0)
		lookup_tlsa(job);
}

static int
mx_cmp(const void *a, const void *b)
{
	const struct dns_mx *x = a, *y = b;

	return (int)x->pref - (int)y->pref;
}

/* RFC 5321 5.1: equal preferences in random order (load sharing). */
static void
shuffle_equal(struct dns_mx *mx, size_t n)
{
	size_t start = 0, end, i;

	while (start < n) {
		for (end = start + 1; end < n && mx[end].pref == mx[start].pref;
		    end++)
			;
		for (i = end - 1; i > start; i--) {
			size_t j = start + arc4random_uniform(
			    (uint32_t)(i - start + 1));
			struct dns_mx t = mx[i];

			mx[i] = mx[j];
			mx[j] = t;
		}
		start = end;
	}
}

static void
mx_done(const struct dns_answer *a, void *arg)
{
	struct dns_route_job *job = arg;
	size_t i, n = 0, nulls = 0;

	switch (a->status) {
	case DNS_NXDOMAIN:
		route_fail(job, WHY_NOT_FOUND, job->domain, "MX");
		job_done(job);
		return;
	case DNS_NODATA:	/* RFC 5321 5.1: the domain is its own MX */
		job->mx_secure = a->secure;
		job->route.implicit = 1;
		strlcpy(job->mx[0].host, job->domain, sizeof(job->mx[0].host));
		job->mx[0].pref = 0;
		job->nmx = 1;
		lookup_addresses(job);
		return;
	case DNS_OK:
		job->mx_secure = a->secure;
		break;
	default:
		route_fail(job, WHY_TRY_AGAIN, job->domain, "MX");
		job_done(job);
		return;
	}
	struct dns_mx *all = calloc(a->nmx, sizeof(*all));

	if (all == NULL)
		fatal("dns: out of memory");
	for (i = 0; i < a->nmx; i++) {
		if (a->mx[i].host[0] == '\0')
			nulls++;	/* "." : RFC 7505 null MX */
		else
			all[n++] = a->mx[i];
	}
	if (n == 0 && nulls > 0) {
		free(all);
		route_fail(job, WHY_NULL_MX, job->domain, "");
		job_done(job);
		return;
	}
	qsort(all, n, sizeof(*all), mx_cmp);
	shuffle_equal(all, n);
	job->nmx = n < DNS_HOPS_MAX ? n : DNS_HOPS_MAX;
	memcpy(job->mx, all, job->nmx * sizeof(*all));
	free(all);
	lookup_addresses(job);
}

static struct dns_route_job *
route_resolve(struct dns_client *c, const char *domain, int want_v4,
    int want_v6, int dane, dns_route_cb cb, void *arg)
{
	struct dns_route_job *job;

	if ((job = calloc(1, sizeof(*job))) == NULL)
		fatal("dns: out of memory");
	job->c = c;
	job->dane = dane;
	job->want_v4 = want_v4;
	job->want_v6 = want_v6;
	job->cb = cb;
	job->arg = arg;
	if (dns_name_normalize(domain, job->domain, sizeof(job->domain)) == -1)
		strlcpy(job->domain, "", sizeof(job->domain));
	dns_query(c, job->domain, DNS_T_MX, mx_done, job);
	return job;
}

struct dns_route_job *
dns_route_resolve(struct dns_client *c, const char *domain, int want_v4,
    int want_v6, dns_route_cb cb, void *arg)
{
	return route_resolve(c, domain, want_v4, want_v6, 0, cb, arg);
}

struct dns_route_job *
dns_route_resolve_dane(struct dns_client *c, const char *domain,
    int want_v4, int want_v6, dns_route_cb cb, void *arg)
{
	return route_resolve(c, domain, want_v4, want_v6, 1, cb, arg);
}
