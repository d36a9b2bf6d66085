/*
 * verify.c - address verification for the CLI: "postern address",
 * "postern check" (postmaster@ and abuse@ of every local domain) and
 * "sendmail -bv".
 *
 * Runs as whoever typed the command. It reads the maps read-only, as
 * resolverd does, and runs the very expansion resolverd runs
 * (libcommon/expand.c, with the settings from expand_ops_conf), so what
 * it prints is what delivery will do with the maps as they are now.
 * users.db (who exists; no hash since authd) is readable by root and
 * resolverd only: an ordinary user's "sendmail -bv" is told so rather than shown
 * a guess. Nothing is printed that the maps' reader could not see.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sysexits.h>

#include "addr.h"
#include "expand.h"
#include "fsutil.h"
#include "map.h"
#include "sendmail.h"
#include "verify.h"

static int
verify_map_open(const char *dir, const char *name, struct map **m, char *err,
    size_t errlen)
{
	char path[PATH_MAX];

	*m = NULL;
	if (fs_path(path, sizeof(path), dir, name) == -1) {
		snprintf(err, errlen, "%s: map_directory is too long", dir);
		return -1;
	}
	if ((*m = map_open(path)) == NULL && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int
verify_open(struct verify *v, const struct conf *c, char *err, size_t errlen)
{
	memset(v, 0, sizeof(*v));
	v->conf = c;
	if (verify_map_open(c->map_directory, "users.db", &v->users, err,
	    errlen) == -1 || verify_map_open(c->map_directory, "aliases.db",
	    &v->aliases, err, errlen) == -1) {
		verify_close(v);
		return -1;
	}
	return 0;
}

void
verify_close(struct verify *v)
{
	map_close(v->users);
	map_close(v->aliases);
	v->users = v->aliases = NULL;
}

static int
verify_alias(const char *key, char *val, size_t valsz, void *arg)
{
	struct verify *v = arg;

	return v->aliases == NULL ? 0 : map_get(v->aliases, key, val, valsz);
}

static int
verify_user(const char *addr, void *arg)
{
	struct verify	*v = arg;
	char		 val[MAP_VALUE_MAX];

	return v->users == NULL ? 0 : map_get(v->users, addr, val,
	    sizeof(val));
}

static int
verify_is_local(const char *domain, void *arg)
{
	struct verify *v = arg;

	return conf_is_local_domain(v->conf, domain);
}

/* Without a trace the expansion would log, in the daemons' format. */
static void
verify_quiet(int depth, const char *line, void *arg)
{
}

void
verify_expand(struct verify *v, const char *addr,
    void (*trace)(int, const char *, void *), void *trace_arg,
    struct r_expansion *out)
{
	struct expand_ops	ops;
	char			full[ADDR_MAX + 1];

	memset(&ops, 0, sizeof(ops));
	ops.alias = verify_alias;
	ops.user = verify_user;
	ops.is_local = verify_is_local;
	ops.arg = v;
	expand_ops_conf(&ops, v->conf);
	ops.trace = trace != NULL ? trace : verify_quiet;
	ops.trace_arg = trace_arg;
	/* "postmaster" alone is the expansion's own (RFC 5321 4.5.1). */
	if (strcasecmp(addr, "postmaster") == 0 ||
	    sm_addr_complete(addr, conf_default_domain(v->conf), full,
	    sizeof(full)) == -1)
		expand_address(&ops, addr, out);
	else
		expand_address(&ops, full, out);
}

int
verify_maildir(const struct conf *c, const char *mailbox, char *out,
    size_t outsz)
{
	char	 user[ADDR_MAX + 1], ddir[PATH_MAX], udir[PATH_MAX];
	char	*at;

	if (strlcpy(user, mailbox, sizeof(user)) >= sizeof(user) ||
	    (at = strrchr(user, '@')) == NULL)
		return -1;
	*at = '\0';
	if (!addr_is_store_safe(user) || !addr_is_store_safe(at + 1) ||
	    fs_path(ddir, sizeof(ddir), c->mail_store, at + 1) == -1 ||
	    fs_path(udir, sizeof(udir), ddir, user) == -1 ||
	    fs_path(out, outsz, udir, "Maildir") == -1)
		return -1;
	return 0;
}

/*
 * sendmail's -bv lines: "addr... deliverable: mailer local, user x" for
 * each target, or "addr... User unknown" (the reason). EX_NOUSER when
 * some address would bounce, EX_TEMPFAIL when one cannot be told now.
 */
int
sm_verify(const struct conf *c, char **addrs, size_t n)
{
	struct verify		v;
	struct r_expansion	x;
	char			err[PATH_MAX + 128], *at;
	size_t			i;
	uint32_t		j;
	int			rc = 0;

	if (n == 0) {
		fprintf(stderr, "sendmail: -bv needs an address\n");
		return EX_USAGE;
	}
	if (verify_open(&v, c, err, sizeof(err)) == -1) {
		fprintf(stderr, "sendmail: cannot verify addresses: %s "
		    "(the users map is readable by root only)\n", err);
		return EX_NOPERM;
	}
	for (i = 0; i < n; i++) {
		verify_expand(&v, addrs[i], NULL, NULL, &x);
		if (x.status != ST_OK) {
			printf("%s... %s\n", addrs[i], x.text);
			if (x.status == ST_TEMP && rc == 0)
				rc = EX_TEMPFAIL;
			else if (x.status == ST_PERM)
				rc = EX_NOUSER;
			continue;
		}
		for (j = 0; j < x.n; j++) {
			if (x.t[j].kind == R_KIND_MAILBOX)
				printf("%s... deliverable: mailer local, user "
				    "%s\n", addrs[i], x.t[j].addr);
			else if (x.t[j].kind == R_KIND_COMMAND)
				printf("%s... deliverable: mailer prog, user "
				    "\"%s\"\n", addrs[i], x.t[j].addr);
			else {
				at = strrchr(x.t[j].addr, '@');
				printf("%s... deliverable: mailer esmtp, host "
				    "%s, user %s\n", addrs[i], at != NULL ?
				    at + 1 : "?", x.t[j].addr);
			}
		}
		proto_r_expansion_free(&x);
	}
	verify_close(&v);
	return rc;
}
