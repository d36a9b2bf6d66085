/*
 * lookup.c - resolverd's answers from the users and aliases maps.
 *
 * Runs in resolverd as resolver_user, with the maps open read-only. The
 * addresses it is asked about come from smtpd (that is, from the
 * network) and from queued: each is parsed by addr_parse before it
 * becomes a key. The maps are built by the CLI and renamed into place;
 * we look at their files at most once a second and reopen a rebuilt one.
 * A missing map is an empty one (a fresh install has no users yet); a map
 * that exists but cannot be opened makes lookups fail temporarily, so
 * that mail is retried rather than bounced.
 *
 * users.db maps "user@domain" to "" (or PASSWD_LOCKED for a locked
 * user, who still receives mail): existence is all resolverd needs. The
 * password hashes are in passwd.db, which only authd can read.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "evloop.h"
#include "fsutil.h"
#include "log.h"
#include "map.h"
#include "resolverd.h"

static void
resolver_map_close(struct resolver_map *rm)
{
	map_close(rm->m);
	rm->m = NULL;
}

static void
resolver_map_refresh(struct resolver_map *rm, uint64_t now, int force)
{
	struct map *nm;

	/*
	 * One stat(2) per lookup: cheap beside the IPC round trip, and a user
	 * added a moment ago is known at once.
	 */
	rm->checked_ms = now ? now : 1;
	if (rm->m != NULL && !map_changed(rm->m))
		return;
	if ((nm = map_open(rm->path)) == NULL) {
		if (errno == ENOENT) {
			if (rm->m != NULL)
				log_info("%s is gone: treating it as empty",
				    rm->path);
			resolver_map_close(rm);
			rm->broken = 0;
			return;
		}
		/* A rebuilt map we cannot read: the old one still answers. */
		if (rm->m == NULL) {
			if (!rm->broken)
				log_warn("open %s", rm->path);
			rm->broken = 1;
		} else
			log_warn("reopen %s (still using the old one)",
			    rm->path);
		return;
	}
	if (rm->m != NULL)
		log_info("%s changed: reopened", rm->path);
	resolver_map_close(rm);
	rm->m = nm;
	rm->broken = 0;
}

static int
resolver_map_get(struct resolver_map *rm, const char *key, char *val,
    size_t valsz)
{
	int r;

	if (rm->m == NULL)
		return rm->broken ? -1 : 0;
	if ((r = map_get(rm->m, key, val, valsz)) == -1)
		log_warn("%s: lookup of %s", rm->path, key);
	return r;
}

int
resolver_init(struct resolver *r, const struct conf *c)
{
	memset(r, 0, sizeof(*r));
	r->conf = c;
	if (fs_path(r->users.path, sizeof(r->users.path), c->map_directory,
	    "users.db") == -1 || fs_path(r->aliases.path,
	    sizeof(r->aliases.path), c->map_directory, "aliases.db") == -1)
		return -1;
	return 0;
}

void
resolver_close(struct resolver *r)
{
	resolver_map_close(&r->users);
	resolver_map_close(&r->aliases);
	sender_login_free(&r->senders.table);
	r->senders.loaded = 0;
}

void
resolver_refresh(struct resolver *r, int force)
{
	uint64_t now = evloop_now_ms();

	resolver_map_refresh(&r->users, now, force);
	resolver_map_refresh(&r->aliases, now, force);
}

static int
resolver_alias(const char *key, char *val, size_t valsz, void *arg)
{
	struct resolver *r = arg;

	return resolver_map_get(&r->aliases, key, val, valsz);
}

static int
resolver_user(const char *addr, void *arg)
{
	struct resolver	*r = arg;
	char		 val[MAP_VALUE_MAX];

	return resolver_map_get(&r->users, addr, val, sizeof(val));
}

static int
resolver_is_local(const char *domain, void *arg)
{
	struct resolver *r = arg;

	return conf_is_local_domain(r->conf, domain);
}

static void
resolver_expand_ops(struct resolver *r, struct expand_ops *ops)
{
	memset(ops, 0, sizeof(*ops));
	ops->alias = resolver_alias;
	ops->user = resolver_user;
	ops->is_local = resolver_is_local;
	ops->arg = r;
	expand_ops_conf(ops, r->conf);
}

/*
 * The RCPT check expands the address in full, as delivery will: an
 * alias that leads nowhere (unknown targets, a loop, only refused
 * targets) is refused here with 550 rather than accepted and bounced,
 * which would send backscatter to a forged sender. The cost is bounded
 * by the expansion's own limits (EXPAND_NODES_MAX lookups).
 */
uint32_t
resolver_check(struct resolver *r, const char *addr, char *text,
    size_t textsz)
{
	struct expand_ops	ops;
	struct r_expansion	x;
	struct mailaddr		a;
	char			plain[PROTO_TEXT_MAX], key[ADDR_MAX + 1];
	uint32_t		verdict;

	text[0] = '\0';
	/* RFC 5321 4.5.1: "RCPT TO:<Postmaster>" needs no domain. */
	if (strcasecmp(addr, "postmaster") != 0) {
		if (addr_parse(addr, &a, 1) == -1) {
			snprintf(text, textsz, "5.1.3 bad recipient address "
			    "syntax");
			return R_LOCAL_UNKNOWN;
		}
		if (!conf_is_local_domain(r->conf, a.domain))
			return R_NOT_LOCAL;
	}
	resolver_refresh(r, 0);
	resolver_expand_ops(r, &ops);
	expand_address(&ops, addr, &x);
	switch (x.status) {
	case ST_OK:
		verdict = R_LOCAL_OK;
		break;
	case ST_TEMP:
		verdict = R_TEMPFAIL;
		strlcpy(text, x.text, textsz);
		break;
	default:
		verdict = R_LOCAL_UNKNOWN;
		/*
		 * A plain unknown user gets smtpd's usual wording (an empty
		 * text); anything else says why the address is dead.
		 */
		if (strlcpy(key, addr, sizeof(key)) < sizeof(key) &&
		    addr_parse(key, &a, 1) == 0 &&
		    addr_format(&a, key, sizeof(key)) == 0) {
			addr_lower(key);
			expand_unknown_text(key, plain, sizeof(plain));
			if (strcmp(plain, x.text) == 0)
				break;
		}
		strlcpy(text, x.text, textsz);
		break;
	}
	proto_r_expansion_free(&x);
	return verdict;
}

void
resolver_expand(struct resolver *r, const char *addr, struct r_expansion *out)
{
	struct expand_ops ops;

	resolver_refresh(r, 0);
	resolver_expand_ops(r, &ops);
	expand_address(&ops, addr, out);
}

uint32_t
resolver_owner(struct resolver *r, const char *addr, const char *login)
{
	struct expand_ops	ops;
	struct r_expansion	x;
	struct mailaddr		a;
	uint32_t		verdict = R_OWNER_NO, i;
	int			maprc;

	if (addr_parse(addr, &a, 1) == -1)
		return R_OWNER_NO;
	maprc = sender_login_refresh(&r->senders, r->conf->sender_login_map);
	if (maprc == 0 && r->senders.loaded &&
	    sender_login_match(&r->senders.table, addr, login))
		return R_OWNER_YES;
	/* Only our own domains' addresses can be a login's or an alias. */
	if (conf_is_local_domain(r->conf, a.domain)) {
		resolver_refresh(r, 0);
		resolver_expand_ops(r, &ops);
		expand_address(&ops, addr, &x);
		for (i = 0; i < x.n; i++)
			if (x.t[i].kind == R_KIND_MAILBOX &&
			    strcasecmp(x.t[i].addr, login) == 0) {
				verdict = R_OWNER_YES;
				break;
			}
		if (verdict == R_OWNER_NO && x.status == ST_TEMP)
			verdict = R_OWNER_TEMPFAIL;
		proto_r_expansion_free(&x);
	}
	if (verdict == R_OWNER_NO && maprc == -1)
		verdict = R_OWNER_TEMPFAIL;
	return verdict;
}
