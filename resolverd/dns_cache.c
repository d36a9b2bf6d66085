/*
 * dns_cache.c - answers kept for their TTL, negative ones included.
 *
 * Runs in resolverd's loop thread. Bounded: at most max_entries
 * answers, the least recently used one goes first, and an entry stores
 * only the records it has, not a whole struct dns_answer (8 KiB). TTLs are clamped (DNS_TTL_MAX,
 * DNS_NEG_TTL_MAX) so that a hostile or broken zone cannot pin an answer
 * for years; temporary failures are never cached.
 */
#include <sys/queue.h>
#ifndef __unused	/* tree.h's RB_GENERATE_STATIC wants BSD's spelling */
#define __unused	__attribute__((unused))
#endif
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>

#include "dns.h"

struct dns_entry {
	RB_ENTRY(dns_entry) node;
	TAILQ_ENTRY(dns_entry) lru;
	uint16_t type;
	enum dns_status status;
	uint16_t rcode;
	int	 secure;
	uint64_t expires;	/* seconds, the caller's clock */
	size_t	 nmx, naddr;
	struct dns_mx *mx;
	struct dns_addr *addr;
	char	 name[];
};

RB_HEAD(dns_tree, dns_entry);
TAILQ_HEAD(dns_lru, dns_entry);

struct dns_cache {
	struct dns_tree tree;
	struct dns_lru	lru;	/* most recently used first */
	size_t		n, max;
};

static int
entry_cmp(const struct dns_entry *a, const struct dns_entry *b)
{
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	return strcmp(a->name, b->name);
}

RB_GENERATE_STATIC(dns_tree, dns_entry, node, entry_cmp)

struct dns_cache *
dns_cache_new(size_t max_entries)
{
	struct dns_cache *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	RB_INIT(&c->tree);
	TAILQ_INIT(&c->lru);
	c->max = max_entries;
	return c;
}

static void
entry_drop(struct dns_cache *c, struct dns_entry *e)
{
	RB_REMOVE(dns_tree, &c->tree, e);
	TAILQ_REMOVE(&c->lru, e, lru);
	c->n--;
	free(e->mx);
	free(e->addr);
	free(e);
}

void
dns_cache_free(struct dns_cache *c)
{
	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->lru))
		entry_drop(c, TAILQ_FIRST(&c->lru));
	free(c);
}

size_t
dns_cache_count(const struct dns_cache *c)
{
	return c->n;
}

static struct dns_entry *
entry_find(struct dns_cache *c, const char *name, uint16_t type)
{
	size_t len = strlen(name);
	struct dns_entry *key, *e;

	/* A key on the stack: name[] is a flexible member. */
	if (len >= DNS_NAME_MAX)
		return NULL;
	union {
		struct dns_entry e;
		char	 space[sizeof(struct dns_entry) + DNS_NAME_MAX];
	} k;
	key = &k.e;
	key->type = type;
	memcpy(key->name, name, len + 1);
	e = RB_FIND(dns_tree, &c->tree, key);
	return e;
}

int
dns_cache_get(struct dns_cache *c, const char *name, uint16_t type,
    uint64_t now_s, struct dns_answer *out)
{
	struct dns_entry *e = entry_find(c, name, type);

	if (e == NULL)
		return 0;
	if (e->expires <= now_s) {
		entry_drop(c, e);
		return 0;
	}
	memset(out, 0, sizeof(*out));
	out->status = e->status;
	out->rcode = e->rcode;
	out->secure = e->secure;
	out->ttl = (uint32_t)(e->expires - now_s);
	out->nmx = e->nmx;
	out->naddr = e->naddr;
	if (e->nmx)
		memcpy(out->mx, e->mx, e->nmx * sizeof(*e->mx));
	if (e->naddr)
		memcpy(out->addr, e->addr, e->naddr * sizeof(*e->addr));
	TAILQ_REMOVE(&c->lru, e, lru);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	return 1;
}

void
dns_cache_put(struct dns_cache *c, const char *name, uint16_t type,
    uint64_t now_s, const struct dns_answer *a)
{
	struct dns_entry *e, *old;
	size_t len = strlen(name);
	uint32_t ttl = a->ttl;

	/* TLSA records are asked once per delivery to a DANE host: not kept. */
	if (type == DNS_T_TLSA)
		return;
	switch (a->status) {
	case DNS_OK:
		if (ttl > DNS_TTL_MAX)
			ttl = DNS_TTL_MAX;
		break;
	case DNS_NODATA:
	case DNS_NXDOMAIN:
		if (ttl > DNS_NEG_TTL_MAX)
			ttl = DNS_NEG_TTL_MAX;
		break;
	default:
		return;
	}
	if (ttl == 0 || c->max == 0 || len >= DNS_NAME_MAX ||
	    a->nmx > DNS_MX_MAX || a->naddr > DNS_ADDR_MAX)
		return;
	if ((old = entry_find(c, name, type)) != NULL)
		entry_drop(c, old);
	if ((e = calloc(1, sizeof(*e) + len + 1)) == NULL)
		return;		/* a cache that cannot grow just forgets */
	if ((a->nmx && (e->mx = calloc(a->nmx, sizeof(*e->mx))) == NULL) ||
	    (a->naddr &&
	    (e->addr = calloc(a->naddr, sizeof(*e->addr))) == NULL)) {
		free(e->mx);
		free(e);
		return;
	}
	memcpy(e->name, name, len + 1);
	e->type = type;
	e->status = a->status;
	e->rcode = a->rcode;
	e->secure = a->secure;
	e->expires = now_s + ttl;
	e->nmx = a->nmx;
	e->naddr = a->naddr;
	if (a->nmx)
		memcpy(e->mx, a->mx, a->nmx * sizeof(*e->mx));
	if (a->naddr)
		memcpy(e->addr, a->addr, a->naddr * sizeof(*e->addr));
	while (c->n >= c->max)
		entry_drop(c, TAILQ_LAST(&c->lru, dns_lru));
	RB_INSERT(dns_tree, &c->tree, e);
	TAILQ_INSERT_HEAD(&c->lru, e, lru);
	c->n++;
}
