/*
 * expand.h - alias expansion: one recipient into the mailboxes and remote
 * addresses it stands for. Pure: it sees the maps only through lookup
 * callbacks, so resolverd (for delivery and for the RCPT check) and the
 * CLI ("postern address", "postern check", "sendmail -bv") run the same
 * code over the same maps.
 *
 * Where local@domain goes, the first that matches (Postfix's
 * virtual_alias_maps order, with the users map as exact matches):
 *   1. the alias "local@domain";
 *   2. the alias "local" (a bare name: that name in every local domain);
 *   3. the user "local@domain" (a mailbox);
 *   4. with recipient_delimiter and local = base+detail: 1 to 3 for
 *      base (the detail is kept with the mailbox it reaches, for later
 *      folder delivery; an alias of base drops it);
 *   5. the alias "@domain": a catch-all, or with an "@other" target a
 *      domain alias (local@domain becomes local@other, whole);
 *   6. nothing: unknown.
 * A user comes before the catch-all (unlike Postfix, where a catch-all
 * swallows mailboxes without an identity alias): a catch-all only takes
 * what would otherwise bounce. A bare target is a user of the default
 * domain (conf_default_domain), as in /etc/aliases, whatever domain the
 * mail was for: "root: admin" means one admin for every domain.
 */
#ifndef POSTERN_EXPAND_H
#define POSTERN_EXPAND_H

#include <stddef.h>

#include "conf.h"
#include "proto.h"

#define EXPAND_DEPTH_MAX	10	/* alias nesting levels */
#define EXPAND_NODES_MAX	(4 * R_EXPAND_MAX) /* addresses one expansion visits */

/*
 * What expansion needs to know about the world. Each lookup returns 1
 * found, 0 absent, -1 error (the whole expansion then fails temporarily).
 * Keys are lowercase: "user@domain", or for alias also a bare local part
 * or "@domain" (a catch-all or domain alias).
 */
struct expand_ops {
	int	(*alias)(const char *key, char *val, size_t valsz, void *arg);
	int	(*user)(const char *addr, void *arg);
	int	(*is_local)(const char *domain, void *arg);
	void	*arg;
	/*
	 * The domain of a bare target ("root: admin") and of a bare
	 * "postmaster" (RFC 5321 4.5.1): conf_default_domain. NULL: a
	 * bare target takes the domain of the alias it is in.
	 */
	const char *default_domain;
	/* recipient_delimiter: any of these splits user+detail; "": none. */
	const char *delimiter;
	int	 allow_commands;
	/*
	 * NULL, or called with each step (an alias used, a plus address, a
	 * mailbox, an unknown address), indented by depth: "postern
	 * address". With a trace, what would be logged goes there instead.
	 */
	void	(*trace)(int depth, const char *line, void *arg);
	void	*trace_arg;
};

/*
 * Fills ops's settings from the configuration (default_domain,
 * delimiter, allow_commands; they point into conf): resolverd and the
 * CLI both take them from here, so they expand alike.
 */
void	expand_ops_conf(struct expand_ops *, const struct conf *);

/*
 * Expands one recipient into mailbox and remote targets (out->t is
 * allocated; free with proto_r_expansion_free). Always fills a status:
 * ST_OK with at least one target, or ST_TEMP / ST_PERM with a text.
 */
void	expand_address(const struct expand_ops *, const char *addr,
	    struct r_expansion *out);
/*
 * The failure text for an address that is itself unknown (no alias,
 * user or catch-all), as expand_address words it: resolverd tells it
 * from an alias that leads nowhere.
 */
void	expand_unknown_text(const char *addr, char *text, size_t textsz);

#endif
