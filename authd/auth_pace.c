/*
 * auth_pace.c - failed logins counted per client address and per
 * account, for every protocol at once, so that a password guesser is
 * refused or slowed without costing a hash per guess.
 *
 * Runs in authd's loop thread, unprivileged. Its keys are client
 * addresses that the login daemons' root parents took from accept(2),
 * and canonical user keys from the password map: never bytes a client
 * chose freely (an unknown user name makes no account entry, so a flood
 * of invented names cannot fill the account table).
 *
 * Both tables are fixed arrays allocated at start: a flood of addresses
 * costs memory we fixed then, never more. The lookups are linear scans
 * of AUTH_PACE_*_SLOTS entries (4096: a few microseconds, far below one
 * hash).
 *
 * The address table keeps pop3d's old rules: when full, a new address
 * takes the slot of one whose window has passed, else of the idle one
 * whose window started longest ago among those still under the limit.
 * An address that is blocked or being checked is never evicted: failing
 * once from each of the table's size in other addresses (one IPv6 /52
 * holds 4096 /64s) must not unblock a guesser. When every slot holds
 * such an address, new addresses are refused (fail closed) until a
 * window passes or a check ends.
 *
 * The account table delays rather than blocks (a guesser must not lock
 * the owner out): past the limit, attempts from addresses the account
 * has not logged in from take turns, delay apart. An account entry that
 * is slowing guesses is never evicted either; when every slot holds
 * one, an account without an entry is treated as one past its limit
 * (slowed, not refused: fail closed without locking anyone out).
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "addr.h"
#include "authd.h"

/* A good login's address is remembered this long for its account. */
#define AUTH_PACE_KNOWN_SECS	(30 * 24 * 3600)

struct pace_addr {
	char	key[AUTH_PACE_KEY_MAX];
	time_t	start;		/* first failure of the current window */
	long	count;		/* failures in the window */
	long	inflight;	/* attempts being checked right now */
};

struct pace_known {
	char	key[AUTH_PACE_KEY_MAX];
	time_t	when;
};

struct pace_acct {
	char			key[ADDR_MAX + 1];	/* "" : free */
	time_t			start;
	long			count;
	long			inflight;	/* counted attempts being checked */
	uint64_t		next_ms;	/* the next delayed attempt's turn */
	struct pace_known	known[AUTH_PACE_KNOWN];
};

struct auth_pace {
	struct pace_addr	*a;
	size_t			 na;
	struct pace_acct	*u;
	size_t			 nu;
};

struct auth_pace *
auth_pace_new(size_t addr_slots, size_t acct_slots)
{
	struct auth_pace *p;

	if (addr_slots == 0 || acct_slots == 0 ||
	    (p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->a = calloc(addr_slots, sizeof(*p->a));
	p->u = calloc(acct_slots, sizeof(*p->u));
	if (p->a == NULL || p->u == NULL) {
		auth_pace_free(p);
		return NULL;
	}
	p->na = addr_slots;
	p->nu = acct_slots;
	return p;
}

void
auth_pace_free(struct auth_pace *p)
{
	if (p == NULL)
		return;
	free(p->a);
	free(p->u);
	free(p);
}

/*
 * An IPv4 address, or an IPv6 /64: one site's hosts get a whole /64, and
 * counting each address alone would let a guesser spread over it.
 */
void
auth_pace_addr_key(const char *ip, char *key, size_t keysz)
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
addr_used(const struct pace_addr *e)
{
	return e->count > 0 || e->inflight > 0;
}

static struct pace_addr *
addr_find(struct auth_pace *p, const char *key, time_t now, time_t window)
{
	size_t i;

	for (i = 0; i < p->na; i++) {
		struct pace_addr *e = &p->a[i];

		if (!addr_used(e) || strcmp(e->key, key) != 0)
			continue;
		if (e->count > 0 && now - e->start >= window)
			e->count = 0;	/* the window passed: forgiven */
		return addr_used(e) ? e : NULL;
	}
	return NULL;
}

static struct pace_addr *
addr_slot(struct auth_pace *p, const char *key, time_t now, long limit,
    time_t window)
{
	struct pace_addr	*e, *victim = NULL;
	size_t			 i;

	for (i = 0; i < p->na; i++) {
		e = &p->a[i];
		if (!addr_used(e) ||
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
auth_pace_addr_begin(struct auth_pace *p, const char *ip, time_t now,
    long limit, time_t window)
{
	struct pace_addr	*e;
	char			 key[AUTH_PACE_KEY_MAX];

	auth_pace_addr_key(ip, key, sizeof(key));
	if ((e = addr_find(p, key, now, window)) == NULL &&
	    (e = addr_slot(p, key, now, limit, window)) == NULL)
		return AUTH_PACE_FULL;	/* refuse rather than forget */
	if (e->count >= limit)
		return AUTH_PACE_BLOCKED;
	/*
	 * Attempts in flight count against the limit: guesses sent in
	 * parallel must not all be checked before the first one fails. They
	 * wait their turn rather than fail: a burst of good logins from one
	 * address (an office behind NAT, a webmail host) is no attack.
	 */
	if (e->count + e->inflight >= limit)
		return AUTH_PACE_WAIT;
	e->inflight++;
	return AUTH_PACE_GO;
}

void
auth_pace_addr_end(struct auth_pace *p, const char *ip, time_t now,
    time_t window, int failed, int ok)
{
	struct pace_addr	*e;
	char			 key[AUTH_PACE_KEY_MAX];

	auth_pace_addr_key(ip, key, sizeof(key));
	if ((e = addr_find(p, key, now, window)) == NULL)
		return;
	if (e->inflight > 0)
		e->inflight--;
	if (failed) {
		if (e->count == 0)
			e->start = now;
		e->count++;
	} else if (ok)
		e->count = 0;
}

static struct pace_acct *
acct_find(struct auth_pace *p, const char *account, time_t now,
    time_t window)
{
	size_t i;

	for (i = 0; i < p->nu; i++) {
		struct pace_acct *e = &p->u[i];

		if (e->key[0] == '\0' || strcmp(e->key, account) != 0)
			continue;
		if (e->count > 0 && now - e->start >= window)
			e->count = 0;
		return e;
	}
	return NULL;
}

/* An entry slowing guesses, or with attempts in flight: never evicted. */
static int
acct_busy(const struct pace_acct *e, time_t now, long limit, time_t window)
{
	return e->inflight > 0 || (e->count >= limit &&
	    now - e->start < window);
}

static struct pace_acct *
acct_slot(struct auth_pace *p, const char *account, time_t now, long limit,
    time_t window)
{
	struct pace_acct	*e, *victim = NULL;
	size_t			 i;

	for (i = 0; i < p->nu; i++) {
		e = &p->u[i];
		if (e->key[0] == '\0') {
			victim = e;
			break;
		}
		if (acct_busy(e, now, limit, window))
			continue;
		if (victim == NULL || e->start < victim->start)
			victim = e;
	}
	if (victim == NULL)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	strlcpy(victim->key, account, sizeof(victim->key));
	victim->start = now;
	return victim;
}

static int
acct_knows(const struct pace_acct *e, const char *akey, time_t now)
{
	size_t i;

	for (i = 0; i < AUTH_PACE_KNOWN; i++)
		if (e->known[i].key[0] != '\0' &&
		    now - e->known[i].when < AUTH_PACE_KNOWN_SECS &&
		    strcmp(e->known[i].key, akey) == 0)
			return 1;
	return 0;
}

long
auth_pace_acct_wait(struct auth_pace *p, const char *account, const char *ip,
    uint64_t now_ms, long limit, time_t window, long delay_ms, int *counted)
{
	struct pace_acct	*e;
	char			 akey[AUTH_PACE_KEY_MAX];
	time_t			 now = (time_t)(now_ms / 1000);
	uint64_t		 turn;

	*counted = 0;
	if (limit <= 0 || account[0] == '\0')
		return 0;
	if ((e = acct_find(p, account, now, window)) == NULL &&
	    (e = acct_slot(p, account, now, limit, window)) == NULL)
		return delay_ms;	/* full of busy entries: slowed */
	auth_pace_addr_key(ip, akey, sizeof(akey));
	if (acct_knows(e, akey, now))
		return 0;
	/*
	 * Attempts in flight count as possible failures: a crowd's guesses
	 * sent at once must not all be checked before the first one fails.
	 * Past the limit they take turns rather than fail.
	 */
	if (e->count + e->inflight < limit) {
		e->inflight++;
		*counted = 1;
		return 0;
	}
	turn = e->next_ms > now_ms ? e->next_ms : now_ms;
	if (turn - now_ms > AUTH_PACE_WAIT_MAX_MS)
		return -1;
	e->next_ms = turn + (uint64_t)delay_ms;
	e->inflight++;
	*counted = 1;
	return (long)(turn - now_ms);
}

void
auth_pace_acct_end(struct auth_pace *p, const char *account, const char *ip,
    uint64_t now_ms, long limit, time_t window, int counted, int result)
{
	struct pace_acct	*e;
	struct pace_known	*k, *old;
	char			 akey[AUTH_PACE_KEY_MAX];
	time_t			 now = (time_t)(now_ms / 1000);
	size_t			 i;

	if (account[0] == '\0')
		return;
	if (limit <= 0)
		return;
	if ((e = acct_find(p, account, now, window)) != NULL && counted &&
	    e->inflight > 0)
		e->inflight--;
	if (result == AUTH_PACE_OTHER)
		return;
	if (e == NULL &&
	    (e = acct_slot(p, account, now, limit, window)) == NULL)
		return;		/* full of busy entries: _wait slows the rest */
	if (result == AUTH_PACE_FAILED) {
		if (e->count == 0)
			e->start = now;
		e->count++;
		return;
	}
	if (ip[0] == '\0')
		return;
	auth_pace_addr_key(ip, akey, sizeof(akey));
	old = &e->known[0];
	for (i = 0; i < AUTH_PACE_KNOWN; i++) {
		k = &e->known[i];
		if (strcmp(k->key, akey) == 0) {
			old = k;
			break;
		}
		if (k->when < old->when)
			old = k;
	}
	strlcpy(old->key, akey, sizeof(old->key));
	old->when = now;
}

long
auth_pace_acct_failures(struct auth_pace *p, const char *account,
    uint64_t now_ms, time_t window)
{
	struct pace_acct *e;

	e = acct_find(p, account, (time_t)(now_ms / 1000), window);
	return e != NULL ? e->count : 0;
}
