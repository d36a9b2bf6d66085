/*
 * auth_cache.c - the logins authd verified lately, so that a client
 * that reconnects every minute (a phone polling POP3) does not cost a
 * yescrypt hash each time.
 *
 * Runs in authd's loop thread, unprivileged. Nothing in it is a
 * password or a password hash: an entry is HMAC-SHA256(k, user NUL
 * stored-hash NUL password) under k, 32 random bytes drawn when authd
 * starts and never written anywhere, so a copy of authd's memory tells
 * nothing that the password map does not (and a guess cannot be checked
 * against it without k). The stored hash is part of the input: a new
 * password, a lock or an unlock changes it, and the old entry simply
 * never matches again.
 *
 * Only successes are cached; a failure is never remembered, so a wrong
 * password always costs its hash (and its pacing). The table is a fixed
 * array of slots, 4-way set-associative on the digest's first bytes: a
 * lookup reads 4 entries, and a new entry replaces the oldest of its
 * set. Entries expire after the caller's TTL.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "authd.h"
#include "map.h"

#define AUTH_CACHE_WAYS	4
#define AUTH_CACHE_MD	32

struct cache_ent {
	unsigned char	md[AUTH_CACHE_MD];
	uint64_t	when_ms;	/* 0: empty */
};

struct auth_cache {
	unsigned char		 key[AUTH_CACHE_KEYLEN];
	size_t			 nsets;
	struct cache_ent	*e;
};

struct auth_cache *
auth_cache_new(size_t slots, const unsigned char key[AUTH_CACHE_KEYLEN])
{
	struct auth_cache *c;

	if (slots < AUTH_CACHE_WAYS || (c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->nsets = slots / AUTH_CACHE_WAYS;
	if ((c->e = calloc(c->nsets * AUTH_CACHE_WAYS, sizeof(*c->e))) ==
	    NULL) {
		free(c);
		return NULL;
	}
	memcpy(c->key, key, sizeof(c->key));
	return c;
}

void
auth_cache_free(struct auth_cache *c)
{
	if (c == NULL)
		return;
	explicit_bzero(c->key, sizeof(c->key));
	free(c->e);
	free(c);
}

/*
 * The message is user NUL hash NUL password: the NULs keep ("ab", "c")
 * and ("a", "bc") apart. Each part is bounded by what authd accepts, so
 * the buffer is too; it holds the password and is wiped.
 */
static int
cache_digest(const struct auth_cache *c, const char *user, const char *hash,
    const char *password, unsigned char md[AUTH_CACHE_MD])
{
	unsigned char	 msg[ADDR_MAX + 1 + MAP_VALUE_MAX + 1 +
			    A_AUTH_SECRET_MAX];
	size_t		 ul = strlen(user), hl = strlen(hash);
	size_t		 pl = strlen(password);
	unsigned int	 len = 0;
	int		 ok;

	if (ul > ADDR_MAX || hl >= MAP_VALUE_MAX || pl > A_AUTH_SECRET_MAX)
		return -1;
	memcpy(msg, user, ul + 1);
	memcpy(msg + ul + 1, hash, hl + 1);
	memcpy(msg + ul + 1 + hl + 1, password, pl);
	ok = HMAC(EVP_sha256(), c->key, (int)sizeof(c->key), msg,
	    ul + 1 + hl + 1 + pl, md, &len) != NULL && len == AUTH_CACHE_MD;
	explicit_bzero(msg, sizeof(msg));
	return ok ? 0 : -1;
}

static struct cache_ent *
cache_set(const struct auth_cache *c, const unsigned char *md)
{
	uint32_t i;

	memcpy(&i, md, sizeof(i));
	return &c->e[(i % c->nsets) * AUTH_CACHE_WAYS];
}

int
auth_cache_hit(struct auth_cache *c, const char *user, const char *hash,
    const char *password, uint64_t now_ms, uint64_t ttl_ms)
{
	unsigned char		 md[AUTH_CACHE_MD];
	struct cache_ent	*s;
	size_t			 i;
	int			 hit = 0;

	if (c == NULL || ttl_ms == 0 ||
	    cache_digest(c, user, hash, password, md) == -1)
		return 0;
	s = cache_set(c, md);
	for (i = 0; i < AUTH_CACHE_WAYS; i++) {
		if (s[i].when_ms == 0 || now_ms - s[i].when_ms >= ttl_ms)
			continue;
		/* Not secret (only a key holder can make one): memcmp. */
		if (memcmp(s[i].md, md, sizeof(md)) == 0) {
			hit = 1;
			break;
		}
	}
	explicit_bzero(md, sizeof(md));
	return hit;
}

void
auth_cache_put(struct auth_cache *c, const char *user, const char *hash,
    const char *password, uint64_t now_ms)
{
	unsigned char		 md[AUTH_CACHE_MD];
	struct cache_ent	*s, *victim;
	size_t			 i;

	if (c == NULL || cache_digest(c, user, hash, password, md) == -1)
		return;
	s = cache_set(c, md);
	victim = &s[0];
	for (i = 0; i < AUTH_CACHE_WAYS; i++) {
		if (memcmp(s[i].md, md, sizeof(md)) == 0) {
			victim = &s[i];
			break;
		}
		if (s[i].when_ms < victim->when_ms)
			victim = &s[i];
	}
	memcpy(victim->md, md, sizeof(md));
	/* 0 marks an empty slot. */
	victim->when_ms = now_ms ? now_ms : 1;
	explicit_bzero(md, sizeof(md));
}

size_t
auth_cache_count(const struct auth_cache *c, uint64_t now_ms,
    uint64_t ttl_ms)
{
	size_t i, n = 0;

	for (i = 0; i < c->nsets * AUTH_CACHE_WAYS; i++)
		if (c->e[i].when_ms != 0 && now_ms - c->e[i].when_ms < ttl_ms)
			n++;
	return n;
}
