/*
 * expand.c - alias expansion: one recipient into the mailboxes and
 * remote addresses it stands for.
 *
 * Runs in resolverd (unprivileged). It sees the world only through the
 * lookup callbacks in struct expand_ops, so it is tested without map
 * files. The aliases map is the administrator's, but a recipient address
 * is the sender's choice: every expansion is bounded in depth (nesting),
 * in the addresses it may visit (work) and in the targets it may return
 * (R_EXPAND_MAX), and a loop ends the branch it is found in instead of
 * the whole expansion.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "aliases.h"
#include "log.h"
#include "map.h"
#include "resolverd.h"

enum xstate {
	XS_ACTIVE = 1,	/* being expanded: meeting it again is a loop */
	XS_DONE,	/* expanded: its targets are already in the result */
	XS_EMITTED,	/* a target key ("M:addr", "R:addr") in the result */
};

struct xslot {
	char	*key;
	int	 state;
};

/* A string set with open addressing; small, and freed after one query. */
struct expand_set {
	struct xslot	*v;
	size_t		 cap;	/* a power of two */
	size_t		 n;
};

struct xctx {
	const struct expand_ops	*ops;
	struct r_expansion	*out;
	size_t			 cap;
	struct expand_set		 seen;
	size_t			 nodes;
	int			 stop;		/* a failure that ends it all */
	int			 tempfail;
	int			 command;	/* a command too long to run */
	int			 toomany;
	int			 loop;
	int			 deep;
	int			 skipped;
	int			 postmaster;	/* postmaster had no mailbox */
	char			 unknown[ADDR_MAX + 1];
};

struct xtarget_arg {
	struct xctx	*x;
	const char	*self;		/* the alias's own address */
	const char	*domain;	/* for bare targets */
	int		 depth;
};

static void	expand_visit(struct xctx *, const char *addr, int depth);

static uint64_t
expand_set_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static struct xslot *
expand_set_slot(struct xslot *v, size_t cap, const char *key)
{
	size_t i = (size_t)expand_set_hash(key) & (cap - 1);

	while (v[i].key != NULL && strcmp(v[i].key, key) != 0)
		i = (i + 1) & (cap - 1);
	return &v[i];
}

static int
expand_set_get(const struct expand_set *s, const char *key)
{
	struct xslot *sl;

	if (s->cap == 0)
		return 0;
	sl = expand_set_slot(s->v, s->cap, key);
	return sl->key != NULL ? sl->state : 0;
}

static int
expand_set_put(struct expand_set *s, const char *key, int state)
{
	struct xslot	*sl, *nv;
	size_t		 i, ncap;

	if (s->cap == 0 || (s->n + 1) * 2 > s->cap) {
		ncap = s->cap ? s->cap * 2 : 64;
		if ((nv = calloc(ncap, sizeof(*nv))) == NULL)
			return -1;
		for (i = 0; i < s->cap; i++)
			if (s->v[i].key != NULL)
				*expand_set_slot(nv, ncap, s->v[i].key) =
				    s->v[i];
		free(s->v);
		s->v = nv;
		s->cap = ncap;
	}
	sl = expand_set_slot(s->v, s->cap, key);
	if (sl->key == NULL) {
		if ((sl->key = strdup(key)) == NULL)
			return -1;
		s->n++;
	}
	sl->state = state;
	return 0;
}

static void
expand_set_free(struct expand_set *s)
{
	size_t i;

	for (i = 0; i < s->cap; i++)
		free(s->v[i].key);
	free(s->v);
	memset(s, 0, sizeof(*s));
}

static void
expand_fail_temp(struct xctx *x)
{
	x->tempfail = 1;
	x->stop = 1;
}

/* Adds a target once; "M:" and "R:" keep the two kinds apart. */
static void
expand_emit(struct xctx *x, uint32_t kind, const char *addr)
{
	struct r_target	*nt;
	char		 key[ADDR_MAX + 3];

	snprintf(key, sizeof(key), "%c:%s", kind == R_KIND_MAILBOX ? 'M' :
	    kind == R_KIND_COMMAND ? 'C' : 'R', addr);
	if (expand_set_get(&x->seen, key) == XS_EMITTED)
		return;
	if (x->out->n == R_EXPAND_MAX) {
		x->toomany = 1;
		x->stop = 1;
		return;
	}
	if (x->out->n == x->cap) {
		size_t ncap = x->cap ? x->cap * 2 : 8;

		if (ncap > R_EXPAND_MAX)
			ncap = R_EXPAND_MAX;
		if ((nt = reallocarray(x->out->t, ncap, sizeof(*nt))) == NULL) {
			expand_fail_temp(x);
			return;
		}
		x->out->t = nt;
		x->cap = ncap;
	}
	if (expand_set_put(&x->seen, key, XS_EMITTED) == -1) {
		expand_fail_temp(x);
		return;
	}
	nt = &x->out->t[x->out->n++];
	memset(nt, 0, sizeof(*nt));
	nt->kind = kind;
	strlcpy(nt->addr, addr, sizeof(nt->addr));
}

/*
 * "alice: alice, archive": alice's own mailbox, not a loop. Only a user
 * has a mailbox: without one the target is as unknown as any other, or
 * mail would pile up in a Maildir that nobody can log in to.
 */
static void
expand_self(struct xctx *x, const char *addr)
{
	int r;

	if ((r = x->ops->user(addr, x->ops->arg)) == -1)
		expand_fail_temp(x);
	else if (r == 1)
		expand_emit(x, R_KIND_MAILBOX, addr);
	else if (strncmp(addr, "postmaster@", 11) == 0)
		x->postmaster = 1;
	else if (x->unknown[0] == '\0')
		strlcpy(x->unknown, addr, sizeof(x->unknown));
}

static int
expand_target(const char *target, void *arg)
{
	struct xtarget_arg	*ta = arg;
	struct xctx		*x = ta->x;
	struct mailaddr		 a;
	char			 t[ADDR_MAX + 1];
	int			 n;

	if (x->stop)
		return -1;
	if (target[0] == '|') {
		/*
		 * aliases_compile only stores commands when they are allowed;
		 * the setting is asked again here so that turning it off
		 * takes effect before the map is rebuilt. The command goes to
		 * deliverd's pipe agent as it stands ("|" included): it runs
		 * for the alias being expanded, whose address queued hands
		 * along as the recipient.
		 */
		if (x->ops->allow_commands) {
			if (strlen(target) > ADDR_MAX) {
				log_warnx("alias %s: command longer than %d "
				    "bytes ignored", ta->self, ADDR_MAX);
				x->command = 1;
				x->skipped = 1;
				return 0;
			}
			expand_emit(x, R_KIND_COMMAND, target);
			return x->stop ? -1 : 0;
		}
		log_warnx("alias %s: command target ignored "
		    "(allow_alias_commands = no)", ta->self);
		x->skipped = 1;
		return 0;
	}
	if (target[0] == '/' || strncasecmp(target, ":include:", 9) == 0) {
		log_warnx("alias %s: file or include target ignored", ta->self);
		x->skipped = 1;
		return 0;
	}
	if (strchr(target, '@') == NULL)
		n = snprintf(t, sizeof(t), "%s@%s", target, ta->domain);
	else
		n = snprintf(t, sizeof(t), "%s", target);
	if (n < 0 || (size_t)n >= sizeof(t) || addr_parse(t, &a, 1) == -1 ||
	    addr_format(&a, t, sizeof(t)) == -1) {
		log_warnx("alias %s: bad target \"%s\" ignored", ta->self,
		    target);
		x->skipped = 1;
		return 0;
	}
	switch (x->ops->is_local(a.domain, x->ops->arg)) {
	case 0:
		/* Not ours: the local part's case is the other side's business. */
		expand_emit(x, R_KIND_REMOTE, t);
		break;
	case 1:
		addr_lower(t);
		if (strcmp(t, ta->self) == 0)
			expand_self(x, t);
		else
			expand_visit(x, t, ta->depth + 1);
		break;
	default:
		expand_fail_temp(x);
		break;
	}
	return x->stop ? -1 : 0;
}

/* addr: lowercase "local@domain" of a local domain. */
static void
expand_visit(struct xctx *x, const char *addr, int depth)
{
	struct xtarget_arg	 ta;
	char			 local[ADDR_MAX + 1], val[MAP_VALUE_MAX];
	char			*at;
	int			 r, state;

	if (x->stop)
		return;
	if (depth > EXPAND_DEPTH_MAX) {
		x->deep = 1;
		return;
	}
	state = expand_set_get(&x->seen, addr);
	if (state == XS_ACTIVE) {
		x->loop = 1;
		return;
	}
	if (state == XS_DONE)
		return;		/* reached twice: delivered once */
	if (++x->nodes > EXPAND_NODES_MAX) {
		x->toomany = 1;
		x->stop = 1;
		return;
	}
	if (expand_set_put(&x->seen, addr, XS_ACTIVE) == -1) {
		expand_fail_temp(x);
		return;
	}
	strlcpy(local, addr, sizeof(local));
	if ((at = strrchr(local, '@')) == NULL) {
		expand_fail_temp(x);	/* callers always pass a full address */
		return;
	}
	*at = '\0';

	/* The full address wins over the bare local part (every domain's). */
	r = x->ops->alias(addr, val, sizeof(val), x->ops->arg);
	if (r == 0)
		r = x->ops->alias(local, val, sizeof(val), x->ops->arg);
	if (r == -1) {
		expand_fail_temp(x);
		return;
	}
	if (r == 1) {
		ta.x = x;
		ta.self = addr;
		ta.domain = at + 1;
		ta.depth = depth;
		if (aliases_split(val, expand_target, &ta) == 0)
			x->skipped = 1;
	} else {
		r = x->ops->user(addr, x->ops->arg);
		if (r == -1) {
			expand_fail_temp(x);
			return;
		}
		if (r == 1)
			expand_emit(x, R_KIND_MAILBOX, addr);
		else if (strcmp(local, "postmaster") == 0)
			x->postmaster = 1;
		else if (x->unknown[0] == '\0')
			strlcpy(x->unknown, addr, sizeof(x->unknown));
	}
	if (!x->stop && expand_set_put(&x->seen, addr, XS_DONE) == -1)
		expand_fail_temp(x);
}

static void
expand_result(struct r_expansion *out, uint32_t status, const char *text)
{
	out->status = status;
	strlcpy(out->text, text, sizeof(out->text));
	if (status != ST_OK)
		proto_r_expansion_free(out);
}

void
expand_address(const struct expand_ops *ops, const char *addr,
    struct r_expansion *out)
{
	struct xctx	x;
	struct mailaddr	a;
	char		full[ADDR_MAX + 1];
	int		local;

	memset(out, 0, sizeof(*out));
	memset(&x, 0, sizeof(x));
	x.ops = ops;
	x.out = out;

	if (strchr(addr, '@') == NULL && strcasecmp(addr, "postmaster") == 0 &&
	    ops->default_domain != NULL)
		snprintf(full, sizeof(full), "postmaster@%s",
		    ops->default_domain);
	else if (strlcpy(full, addr, sizeof(full)) >= sizeof(full))
		full[0] = '\0';
	if (full[0] == '\0' || addr_parse(full, &a, 1) == -1 ||
	    addr_format(&a, full, sizeof(full)) == -1) {
		expand_result(out, ST_PERM, "5.1.3 bad recipient address "
		    "syntax");
		return;
	}
	if ((local = ops->is_local(a.domain, ops->arg)) == -1) {
		expand_result(out, ST_TEMP, "4.3.0 lookup failure");
		return;
	}
	if (!local)
		expand_emit(&x, R_KIND_REMOTE, full);
	else {
		addr_lower(full);
		expand_visit(&x, full, 0);
	}
	expand_set_free(&x.seen);

	if (x.tempfail)
		expand_result(out, ST_TEMP, "4.3.0 lookup failure");
	else if (x.toomany)
		expand_result(out, ST_PERM, "5.3.0 alias expands to too many "
		    "recipients");
	else if (out->n > 0) {
		/* Part of it is deliverable: deliver that, tell the admin. */
		if (x.loop)
			log_warnx("%s: alias loop; the looping branch is "
			    "dropped", full);
		if (x.deep)
			log_warnx("%s: aliases nested deeper than %d; the "
			    "deepest branch is dropped", full,
			    EXPAND_DEPTH_MAX);
		if (x.unknown[0] != '\0')
			log_warnx("%s: alias target %s is unknown; dropped",
			    full, x.unknown);
		if (x.postmaster)
			log_errx("%s: alias target postmaster has no mailbox: "
			    "add an alias", full);
		expand_result(out, ST_OK, "2.1.5 ok");
	} else if (x.postmaster) {
		log_errx("%s: postmaster has no mailbox: add an alias "
		    "(RFC 5321 4.5.1 requires one)", full);
		expand_result(out, ST_PERM, "5.1.1 postmaster has no mailbox: "
		    "add an alias");
	} else if (x.command)
		expand_result(out, ST_PERM, "5.3.5 alias command is longer "
		    "than the delivery agent takes");
	else if (x.loop)
		expand_result(out, ST_PERM, "5.4.6 alias loop");
	else if (x.deep)
		expand_result(out, ST_PERM, "5.4.6 aliases nested too deep");
	else {
		char text[PROTO_TEXT_MAX];

		if (x.unknown[0] != '\0')
			snprintf(text, sizeof(text), "5.1.1 <%s>: user unknown",
			    x.unknown);
		else
			snprintf(text, sizeof(text), "5.1.1 <%s>: alias has "
			    "no deliverable target", full);
		expand_result(out, ST_PERM, text);
	}
}
