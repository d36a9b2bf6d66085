/*
 * pop3_pace.c - failed logins counted per client address, so that a
 * password guesser is refused for a while without costing resolverd a
 * hash per guess.
 *
 * Runs in pop3d's root parent. Its keys are addresses from accept(2),
 * not from the client's bytes. The table is bounded, so a flood of
 * addresses costs memory we fixed at start, never more. When it is full
 * a new address takes the slot of one whose window has passed, else of
 * the idle one whose window started longest ago among those still under
 * the limit. An address that is blocked (limit failures inside its
 * window) or being checked is never evicted: otherwise failing once from
 * each of POP3_PACE_SLOTS other addresses (a single IPv6 /52 holds that
 * many /64s) would unblock a guesser. When every slot holds such an
 * address, logins from new addresses are refused as a temporary failure
 * (fail closed) until a window passes or a check ends.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "pop3d.h"

struct pop3_pace_ent {
	char	key[64];
	time_t	start;		/* first failure of the current window */
	long	count;		/* failures in the window */
	long	inflight;	/* attempts being checked right now */
};

struct pop3_pace {
	struct pop3_pace_ent e[POP3_PACE_SLOTS];
};

struct pop3_pace *
pop3_pace_new(void)
{
	return calloc(1, sizeof(struct pop3_pace));
}

void
pop3_pace_free(struct pop3_pace *p)
{
	free(p);
}

/*
 * The key: an IPv4 address, or an IPv6 /64 (one site's hosts get a
 * whole /64; counting each address alone would let a guesser spread
 * over it).
 */
static void
pace_key(const char *ip, char *key, size_t keysz)
{
	struct in6_addr a;

	if (strchr(ip, ':') != NULL && inet_pton(AF_INET6, ip, &a) == 1 &&
	    !IN6_IS_ADDR_V4MAPPED(&a)) {
		memset(a.s6_addr + 8, 0, 8);
		if (inet_ntop(AF_INET6, &a, key, (socklen_t)keysz) != NULL)
			return;
	}
	strlcpy(key, ip, keysz);
}

static int
ent_used(const struct pop3_pace_ent *e)
{
	return e->count > 0 || e->inflight > 0;
}

static struct pop3_pace_ent *
pace_find(struct pop3_pace *p, const char *key, time_t now, time_t window)
{
	size_t i;

	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		struct pop3_pace_ent *e = &p->e[i];

		if (!ent_used(e) || strcmp(e->key, key) != 0)
			continue;
		if (e->count > 0 && now - e->start >= window)
			e->count = 0;	/* the window passed: forgiven */
		return ent_used(e) ? e : NULL;
	}
	return NULL;
}

/*
 * A slot for key: a free or expired one, else the oldest idle one that
 * is not blocked; NULL when there is none.
 */
static struct pop3_pace_ent *
pace_slot(struct pop3_pace *p, const char *key, time_t now, long limit,
    time_t window)
{
	struct pop3_pace_ent	*e, *victim = NULL;
	size_t			 i;

	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		e = &p->e[i];
		if (!ent_used(e) ||
		    (e->inflight == 0 && now - e->start >= window)) {
			victim = e;
			break;
		}
		/* Never evict an address that is blocked or being checked. */
		if (e->inflight == 0 && e->count < limit &&
		    (victim == NULL || e->start < victim->start))
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strlcpy(victim->key, key, sizeof(victim->key));
	victim->start = now;
	return victim;
}

int
pop3_pace_begin(struct pop3_pace *p, const char *ip, time_t now, long limit,
    time_t window)
{
	struct pop3_pace_ent	*e;
	char			 key[64];

	pace_key(ip, key, sizeof(key));
	if ((e = pace_find(p, key, now, window)) == NULL &&
	    (e = pace_slot(p, key, now, limit, window)) == NULL)
		return -2;	/* every slot busy: refuse rather than forget */
	if (e->count >= limit)
		return -1;
	/*
	 * Attempts in flight count against the limit: guesses sent in
	 * parallel must not all be checked before the first one fails. They
	 * wait their turn rather than fail: a burst of good logins from one
	 * address (an office behind NAT, a webmail host) is no attack.
	 */
	if (e->count + e->inflight >= limit)
		return 1;
	e->inflight++;
	return 0;
}

void
pop3_pace_end(struct pop3_pace *p, const char *ip, time_t now, time_t window,
    int failed)
{
	struct pop3_pace_ent	*e;
	char			 key[64];

	pace_key(ip, key, sizeof(key));
	if ((e = pace_find(p, key, now, window)) == NULL)
		return;
	if (e->inflight > 0)
		e->inflight--;
	if (failed) {
		if (e->count == 0)
			e->start = now;
		e->count++;
	}
}
