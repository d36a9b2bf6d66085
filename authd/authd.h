/*
 * authd.h - authd's private interfaces: the password map, the failure
 * pacing tables and the cache of recent good logins. The pacing and the
 * cache take the caller's clock, so the unit tests drive them with their
 * own.
 */
#ifndef POSTERN_AUTHD_H
#define POSTERN_AUTHD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "proto.h"

/*
 * The password map (auth_lookup.c): <map_directory>/passwd.db,
 * "user@domain" -> hash (PASSWD_LOCKED before it for a locked user, ""
 * for none). authd alone reads it; it is reopened when rebuilt.
 */
struct auth_map {
	const struct conf	*conf;
	char			 path[PATH_MAX];
	struct map		*m;
	int			 broken;	/* open failed other than ENOENT */
};

int	auth_map_init(struct auth_map *, const struct conf *);
void	auth_map_close(struct auth_map *);
/* Reopens the map if its file changed (one stat). */
void	auth_map_refresh(struct auth_map *);
/*
 * The user's key ("user@domain", lowercase; a bare name takes the
 * default domain) into key, "" for a name that cannot be one of our
 * users; then its stored value into hash, "" for an unknown user. -1 if
 * the map cannot be read (A_AUTH_TEMPFAIL).
 */
int	auth_map_lookup(struct auth_map *, const char *user, char *key,
	    size_t keysz, char *hash, size_t hashsz);
/*
 * One password hash computation whatever the answer (any thread):
 * A_AUTH_OK or A_AUTH_FAIL. A locked or unknown user fails.
 */
uint32_t auth_verdict(const char *key, const char *hash,
	    const char *password);
/* 1 if the stored value marks a locked user (postern user lock). */
int	auth_locked(const char *hash);

/*
 * Failure pacing (auth_pace.c), two bounded tables.
 *
 * Per client address (an IPv4 address, an IPv6 /64): limit failures in
 * window block the address until the window passes; no hash is spent on
 * a blocked address. A success from the address clears its count (a
 * user who mistyped, an office behind one NAT address). A blocked or
 * busy entry is never evicted; when every slot holds one, new addresses
 * are refused (fail closed).
 *
 * Per account: past limit failures in window (from any address; those
 * being checked count too), each further attempt waits for its turn,
 * delay apart (one guess per delay for the whole world), unless it
 * comes from an address that logged in
 * to this account successfully (the owner's usual addresses are never
 * slowed by a guesser elsewhere). An attempt whose turn is more than
 * AUTH_PACE_WAIT_MAX_MS away is refused: the login daemon's request
 * deadline must not pass while it waits. Unknown users have no entry:
 * their failures count against the address only.
 */
#define AUTH_PACE_ADDR_SLOTS	4096
#define AUTH_PACE_ACCT_SLOTS	4096
#define AUTH_PACE_KNOWN		4	/* good addresses kept per account */
#define AUTH_PACE_WAIT_MAX_MS	10000
#define AUTH_PACE_KEY_MAX	64

enum auth_pace_verdict {
	AUTH_PACE_GO = 0,	/* go on; counted in flight until _end */
	AUTH_PACE_WAIT = 1,	/* ask again after the next _end */
	AUTH_PACE_BLOCKED = -1,	/* too many failures from this address */
	AUTH_PACE_FULL = -2,	/* new address, table full: refuse */
};

struct auth_pace;

struct auth_pace *auth_pace_new(size_t addr_slots, size_t acct_slots);
void	auth_pace_free(struct auth_pace *);
/* The address key of ip (an IPv6 address becomes its /64). */
void	auth_pace_addr_key(const char *ip, char *key, size_t keysz);
int	auth_pace_addr_begin(struct auth_pace *, const char *ip, time_t now,
	    long limit, time_t window);
/* failed: the attempt failed; else it succeeded (or never ran: ok = 0). */
void	auth_pace_addr_end(struct auth_pace *, const char *ip, time_t now,
	    time_t window, int failed, int ok);
/*
 * Before the hash of an attempt on account (a canonical key): the
 * milliseconds to wait first (0: none), or -1 to refuse (A_AUTH_LIMIT).
 * Attempts in flight count against the limit like failures; *counted
 * says whether this one was counted, for _end. Every attempt that got
 * a wait of 0 or more ends with _end, whatever became of it (result:
 * AUTH_PACE_OK, AUTH_PACE_FAILED, or AUTH_PACE_OTHER when it was never
 * decided: the client left, the map could not be read).
 */
enum auth_pace_result {
	AUTH_PACE_OTHER = -1,
	AUTH_PACE_FAILED = 0,
	AUTH_PACE_OK = 1,
};

long	auth_pace_acct_wait(struct auth_pace *, const char *account,
	    const char *ip, uint64_t now_ms, long limit, time_t window,
	    long delay_ms, int *counted);
void	auth_pace_acct_end(struct auth_pace *, const char *account,
	    const char *ip, uint64_t now_ms, long limit, time_t window,
	    int counted, int result);
/* Failures the account has in its window (for the log and the tests). */
long	auth_pace_acct_failures(struct auth_pace *, const char *account,
	    uint64_t now_ms, time_t window);

/*
 * The cache of recent good logins (auth_cache.c): an entry is an
 * HMAC-SHA256, under a key that is random per process, of the user's
 * key, its stored hash and the password; never the password itself. A
 * changed password or lock changes the stored value and so misses.
 * Bounded: AUTH_CACHE_SLOTS entries, the oldest replaced.
 */
#define AUTH_CACHE_SLOTS	4096
#define AUTH_CACHE_KEYLEN	32

struct auth_cache;

struct auth_cache *auth_cache_new(size_t slots,
		    const unsigned char key[AUTH_CACHE_KEYLEN]);
void	auth_cache_free(struct auth_cache *);
/* 1 if user/hash/password verified within ttl_ms of now_ms. */
int	auth_cache_hit(struct auth_cache *, const char *user, const char *hash,
	    const char *password, uint64_t now_ms, uint64_t ttl_ms);
void	auth_cache_put(struct auth_cache *, const char *user,
	    const char *hash, const char *password, uint64_t now_ms);
/* Entries in use (tests). */
size_t	auth_cache_count(const struct auth_cache *, uint64_t now_ms,
	    uint64_t ttl_ms);

/*
 * The per-account outbound limits (auth_rate.c), on the caller's clock.
 * A limit <= 0 is no limit. At most max accounts are counted.
 */
#define AUTH_RATE_ACCOUNTS	50000

struct auth_rate;

struct auth_rate *auth_rate_new(size_t max);
void	auth_rate_free(struct auth_rate *);
/* MAIL: OVER once user sent limit messages in the last 24 hours. */
void	auth_rate_mail(struct auth_rate *, const char *user, time_t now,
	    long limit, struct a_rate_reply *);
/* RCPT: counts n more recipients in the last hour unless that passes limit. */
void	auth_rate_rcpt(struct auth_rate *, const char *user, time_t now,
	    uint32_t n, long limit, struct a_rate_reply *);
/* A message was queued. */
void	auth_rate_sent(struct auth_rate *, const char *user, time_t now,
	    long limit);
/* The accounts nearest a limit first, at most A_RATE_LIST_MAX. 0 or -1. */
int	auth_rate_list(struct auth_rate *, time_t now, long mlimit,
	    long rlimit, struct a_rate_list *);

#endif
