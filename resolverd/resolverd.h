/*
 * resolverd.h - resolverd's private interfaces: the map-backed lookups
 * that feed alias expansion (libcommon/expand.h).
 */
#ifndef POSTERN_RESOLVERD_H
#define POSTERN_RESOLVERD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "expand.h"
#include "proto.h"

/* A map that may be missing (empty) and is reopened when rebuilt. */
struct resolver_map {
	char		 path[PATH_MAX];
	struct map	*m;
	uint64_t	 checked_ms;	/* last look at the file, monotonic */
	int		 broken;	/* open failed other than ENOENT */
};

struct resolver {
	const struct conf *conf;
	struct resolver_map	 users;
	struct resolver_map	 aliases;
};

/* Points the maps at conf's map_directory; nothing is opened yet. */
int	resolver_init(struct resolver *, const struct conf *);
void	resolver_close(struct resolver *);
/* Reopens a map whose file changed since (one stat per map per call). */
void	resolver_refresh(struct resolver *, int force);

/*
 * R_CHECK: an r_verdict, and a text for the caller's reply ("" for a
 * plain unknown user). The address is expanded in full, as for
 * delivery: an alias that leads nowhere is R_LOCAL_UNKNOWN.
 */
uint32_t resolver_check(struct resolver *, const char *addr, char *text,
	    size_t textsz);
/* R_EXPAND. */
void	resolver_expand(struct resolver *, const char *addr,
	    struct r_expansion *out);
/*
 * R_AUTH in two steps, so that the slow one can run off the loop. The
 * lookup (loop thread: the maps are not shared): -1 if users.db cannot
 * be read (R_AUTH_TEMPFAIL), else 0 with key the user's key in users.db
 * ("user@domain", lowercase; user as the client typed it, in any case,
 * or a bare "user" in the default domain) and hash its password hash,
 * both "" for an unknown user. The verdict (any thread): one password
 * hash computation whatever the answer, so that its time does not tell
 * who exists; R_AUTH_OK or R_AUTH_FAIL.
 */
int	resolver_auth_lookup(struct resolver *, const char *user, char *key,
	    size_t keysz, char *hash, size_t hashsz);
uint32_t resolver_auth_verdict(const char *key, const char *hash,
	    const char *password);
/* 1 if the users.db value marks a locked user (PASSWD_LOCKED). */
int	resolver_auth_locked(const char *hash);

/*
 * route.c: R_ROUTE over DNS. _init makes the DNS client (dns_servers,
 * else /etc/resolv.conf): -1 with err. _request decodes and starts one
 * lookup, answered later on p: -1 for a frame that closes the client.
 * _client_gone cancels what p still waits for (call before it is freed).
 */
struct evloop;
struct peer;
int	route_init(struct evloop *, const struct conf *, char *err,
	    size_t errsz);
int	route_request(struct peer *, struct ipc_msg *);
void	route_client_gone(struct peer *);

#endif
