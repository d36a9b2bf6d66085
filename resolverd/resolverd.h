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
