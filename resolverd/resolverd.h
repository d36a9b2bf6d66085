/*
 * resolverd.h - resolverd's private interfaces: alias expansion (pure,
 * driven by lookup callbacks) and the map-backed lookups.
 */
#ifndef POSTERN_RESOLVERD_H
#define POSTERN_RESOLVERD_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "proto.h"

#define EXPAND_DEPTH_MAX	10	/* alias nesting levels */
#define EXPAND_NODES_MAX	(4 * R_EXPAND_MAX) /* addresses one expansion visits */

/*
 * What expansion needs to know about the world. Each lookup returns 1
 * found, 0 absent, -1 error (the whole expansion then fails temporarily).
 * Keys are lowercase: "user@domain" or, for alias, a bare local part.
 */
struct expand_ops {
	int	(*alias)(const char *key, char *val, size_t valsz, void *arg);
	int	(*user)(const char *addr, void *arg);
	int	(*is_local)(const char *domain, void *arg);
	void	*arg;
	/* A domain for a bare "postmaster" (RFC 5321 4.5.1). */
	const char *default_domain;
	int	 allow_commands;
};

/*
 * Expands one recipient into mailbox and remote targets (out->t is
 * allocated; free with proto_r_expansion_free). Always fills a status:
 * ST_OK with at least one target, or ST_TEMP / ST_PERM with a text.
 */
void	expand_address(const struct expand_ops *, const char *addr,
	    struct r_expansion *out);

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

/* R_CHECK: an r_verdict, and a text for the caller's reply. */
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

#endif
