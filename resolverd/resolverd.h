/*
 * resolverd.h - resolverd's private interfaces: the map-backed lookups
 * that feed alias expansion (libcommon/expand.h).
 */
#ifndef POSTERN_RESOLVERD_H
#define POSTERN_RESOLVERD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

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

/*
 * sender_login_map (sender_login.c): logins that may use a sender
 * address besides their own and their aliases'.
 */
#define SENDER_LOGIN_MAX	100000
#define SENDER_LOGIN_FILE_MAX	(16 * 1024 * 1024)

struct sender_login_entry {
	char	key[ADDR_MAX + 1];	/* "local@domain" or "@domain" */
	char	owner[ADDR_MAX + 1];	/* a login */
};

struct sender_login {
	struct sender_login_entry	*v;
	size_t				 n, cap;
};

struct sender_login_file {
	struct sender_login	 table;
	int			 loaded;
	int			 failed_logged;
	uint64_t		 checked_ms;
	struct timespec		 mtime;
	off_t			 size;
};

/* Parses a file's text: 0, or -1 with err ("line N: what"). */
int	sender_login_parse(const char *text, size_t len,
	    struct sender_login *, char *err, size_t errlen);
void	sender_login_free(struct sender_login *);
/* Whether login may use addr (an entry for addr, or for @its domain). */
int	sender_login_match(const struct sender_login *, const char *addr,
	    const char *login);
/*
 * Rereads path if it changed (at most one stat a second): 0, or -1
 * when no table could ever be loaded (lookups fail temporarily).
 * path "": no map, 0.
 */
int	sender_login_refresh(struct sender_login_file *, const char *path);

struct resolver {
	const struct conf *conf;
	struct resolver_map	 users;
	struct resolver_map	 aliases;
	struct sender_login_file senders;
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
/*
 * R_OWNER: may login (authd's canonical user@domain) send as addr? Its
 * own address (with any +detail), an alias whose expansion reaches its
 * mailbox, or an entry of sender_login_map: R_OWNER_YES, else
 * R_OWNER_NO; R_OWNER_TEMPFAIL when a map cannot be read.
 */
uint32_t resolver_owner(struct resolver *, const char *addr,
	    const char *login);
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
