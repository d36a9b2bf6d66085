/*
 * expand.h - alias expansion: one recipient into the mailboxes and remote
 * addresses it stands for. Pure: it sees the maps only through lookup
 * callbacks, so resolverd (for delivery and for the RCPT check) and the
 * CLI ("postern address", "postern check", "sendmail -bv") run the same
 * code over the same maps.
 */
#ifndef POSTERN_EXPAND_H
#define POSTERN_EXPAND_H

#include <stddef.h>

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

#endif
