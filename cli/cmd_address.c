/*
 * cmd_address.c - postern address ADDRESS: where mail to an address goes
 * (aliases, plus address, catch-all, domain alias, the final Maildir, or
 * why it bounces), and the address checks of "postern check": the
 * postmaster@ (RFC 5321 4.5.1) and abuse@ of every local domain, and
 * every alias, must reach a mailbox or a remote address.
 *
 * Runs as the administrator (root, or the development user: users.db is
 * not world-readable). Both go through verify.c, that is through
 * resolverd's own expansion code over the maps on disk: what is printed
 * is what delivery and the RCPT check will do. Changes nothing.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "addr.h"
#include "cli.h"
#include "map.h"
#include "priv.h"
#include "text.h"
#include "verify.h"

static void
address_trace(int depth, const char *line, void *arg)
{
	printf("%*s%s\n", 2 * (depth + 1), "", line);
}

static int
address_show(struct cli *c, struct verify *v, const char *addr)
{
	struct r_expansion	 x;
	char			 md[PATH_MAX];
	uint32_t		 i;

	printf("%s\n", addr);
	verify_expand(v, addr, address_trace, NULL, &x);
	if (x.status == ST_TEMP) {
		printf("deferred: %s\n", x.text);
		return EX_TEMPFAIL;
	}
	if (x.status != ST_OK) {
		printf("bounced: %s\n", x.text);
		return 1;
	}
	printf("delivered to:\n");
	for (i = 0; i < x.n; i++) {
		if (x.t[i].kind == R_KIND_REMOTE) {
			printf("  remote %s\n", x.t[i].addr);
			continue;
		}
		if (x.t[i].kind == R_KIND_COMMAND) {
			printf("  command %s (run as %s)\n", x.t[i].addr + 1,
			    c->conf.default_privs);
			continue;
		}
		if (verify_maildir(&c->conf, x.t[i].addr, md, sizeof(md)) == -1)
			strlcpy(md, "(not a valid mailbox path)", sizeof(md));
		printf("  mailbox %s: %s", x.t[i].addr, md);
		/* Folders by detail wait for IMAP: say where it lands now. */
		if (x.t[i].detail[0] != '\0')
			printf(" (detail \"%s\": delivered to the inbox; "
			    "delivery into a folder of that name is not "
			    "implemented yet)", x.t[i].detail);
		printf("\n");
	}
	proto_r_expansion_free(&x);
	return 0;
}

int
cli_cmd_address(struct cli *c, int argc, char **argv)
{
	struct verify	v;
	char		err[PATH_MAX + 128];
	int		i, r, rc = 0;

	if (argc < 2) {
		cli_err(c, "usage: postern address ADDRESS ...");
		return EX_USAGE;
	}
	if (verify_open(&v, &c->conf, err, sizeof(err)) == -1) {
		cli_err(c, "cannot read the maps: %s", err);
		return EX_NOPERM;
	}
	for (i = 1; i < argc; i++) {
		if (i > 1)
			printf("\n");
		if ((r = address_show(c, &v, argv[i])) != 0 && rc != 1)
			rc = r;
	}
	verify_close(&v);
	return rc;
}

struct check_aliases {
	struct cli	*c;
	struct verify	*v;
	int		*warnings;
};

/* An alias whose expansion bounces: each is mail lost or refused. */
static int
check_alias_cb(const char *key, const char *val, void *arg)
{
	struct check_aliases	*ca = arg;
	struct r_expansion	 x;
	char			 addr[ADDR_MAX + 2];

	/*
	 * An alias in a domain that is not ours is never consulted: smtpd
	 * refuses (or relays) its mail before any alias is looked at.
	 */
	if (strchr(key, '@') != NULL &&
	    !conf_is_local_domain(&ca->c->conf, strrchr(key, '@') + 1)) {
		cli_warn(ca->c, "alias %s is never used: %s is not in "
		    "local_domains", key, strrchr(key, '@') + 1);
		(*ca->warnings)++;
		return 0;
	}
	/* A catch-all takes what nothing else takes: no address of its own. */
	if (key[0] == '@')
		return 0;
	if (strchr(key, '@') != NULL)
		strlcpy(addr, key, sizeof(addr));
	else if (snprintf(addr, sizeof(addr), "%s@%s", key,
	    conf_default_domain(&ca->c->conf)) >= (int)sizeof(addr))
		return 0;
	verify_expand(ca->v, addr, NULL, NULL, &x);
	if (x.status == ST_PERM) {
		cli_warn(ca->c, "alias %s leads nowhere: %s (see \"postern "
		    "address %s\")", key, x.text, addr);
		(*ca->warnings)++;
	}
	proto_r_expansion_free(&x);
	return 0;
}

void
cli_check_addresses(struct cli *c, int *errors, int *warnings)
{
	static const char *const names[] = { "postmaster", "abuse" };
	struct check_aliases	 ca;
	struct verify		 v;
	struct r_expansion	 x;
	char			 err[PATH_MAX + 128], addr[ADDR_MAX + 1];
	char			 val[MAP_VALUE_MAX];
	size_t			 i, j;

	if (verify_open(&v, &c->conf, err, sizeof(err)) == -1) {
		/* Only root may read users.db: anyone else is just told. */
		if (priv_is_root()) {
			fprintf(stderr, "postern: error: cannot check the "
			    "addresses: %s\n", err);
			(*errors)++;
		} else {
			cli_warn(c, "cannot check the addresses: %s (run "
			    "\"postern check\" as root)", err);
			(*warnings)++;
		}
		return;
	}
	for (i = 0; i < c->conf.local_domains.n; i++) {
		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			if (snprintf(addr, sizeof(addr), "%s@%s", names[j],
			    c->conf.local_domains.v[i]) >= (int)sizeof(addr))
				continue;
			/* abuse@ is checked where the aliases promise one. */
			if (j > 0 && (v.aliases == NULL ||
			    (map_get(v.aliases, names[j], val,
			    sizeof(val)) != 1 && map_get(v.aliases, addr, val,
			    sizeof(val)) != 1)))
				continue;
			verify_expand(&v, addr, NULL, NULL, &x);
			if (x.status != ST_OK) {
				cli_warn(c, "%s does not reach a mailbox: %s "
				    "(%s; see \"postern address %s\")", addr,
				    x.text, j == 0 ? "RFC 5321 requires "
				    "postmaster" : "the aliases promise it",
				    addr);
				(*warnings)++;
			}
			proto_r_expansion_free(&x);
		}
	}
	if (v.aliases != NULL) {
		ca.c = c;
		ca.v = &v;
		ca.warnings = warnings;
		if (map_foreach(v.aliases, check_alias_cb, &ca) == -1) {
			fprintf(stderr, "postern: error: cannot read the "
			    "aliases map\n");
			(*errors)++;
		}
	}
	verify_close(&v);
}
