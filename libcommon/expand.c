/*
 * expand.c - alias expansion: one recipient into the mailboxes, remote
 * addresses and (with allow_alias_commands) "|commands" it stands for.
 *
 * Runs in resolverd (unprivileged) and in the CLI ("postern address",
 * "postern check"): both see the world only through the lookup callbacks
 * in struct expand_ops, so it is tested without map files. The aliases
 * map is the administrator's, but a recipient address is the sender's
 * choice: every expansion is bounded in depth (nesting), in the
 * addresses it may visit (work) and in the targets it may return
 * (R_EXPAND_MAX), and a loop ends the branch it is found in instead of
 * the whole expansion.
 *
 * The order of lookups and what bare targets mean: expand.h.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "aliases.h"
#include "expand.h"
#include "log.h"
#include "map.h"

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
	const char	*local;		/* the local part "@domain" keeps */
	const char	*domain;	/* for bare targets, if no default */
	int		 depth;
};

static void	expand_visit(struct xctx *, const char *addr, int depth);
static void	expand_note(struct xctx *, int depth, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

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

/*
 * A step of the expansion: to the trace when someone asked for one
 * ("postern address"), else, for what the administrator must fix, to
 * the log.
 */
static void
expand_note(struct xctx *x, int depth, const char *fmt, ...)
{
	char	line[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (x->ops->trace != NULL)
		x->ops->trace(depth, line, x->ops->trace_arg);
	else
		log_warnx("%s", line);
}

/* Only to the trace: the normal steps, which the log need not hear of. */
static void	expand_step(struct xctx *, int depth, const char *fmt, ...)
		    __attribute__((format(printf, 3, 4)));

static void
expand_step(struct xctx *x, int depth, const char *fmt, ...)
{
	char	line[MAP_VALUE_MAX + 1024];	/* a whole alias value */
	va_list	ap;

	if (x->ops->trace == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	x->ops->trace(depth, line, x->ops->trace_arg);
}

/* Adds a target once; "M:", "R:" and "C:" keep the kinds apart. */
static void
expand_emit(struct xctx *x, uint32_t kind, const char *addr,
    const char *detail)
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
	if (detail != NULL)
		strlcpy(nt->detail, detail, sizeof(nt->detail));
}

static void
expand_unknown(struct xctx *x, const char *addr, int depth)
{
	expand_step(x, depth, "%s: unknown (no alias, user or catch-all)",
	    addr);
	if (strncmp(addr, "postmaster@", 11) == 0)
		x->postmaster = 1;
	else if (x->unknown[0] == '\0')
		strlcpy(x->unknown, addr, sizeof(x->unknown));
}

/*
 * The user addr, if there is one: 1 (a mailbox, with its detail), 0, or
 * -1 (the expansion has failed).
 */
static int
expand_user(struct xctx *x, const char *addr, const char *detail, int depth)
{
	int r;

	if ((r = x->ops->user(addr, x->ops->arg)) == -1) {
		expand_fail_temp(x);
		return -1;
	}
	if (r == 1) {
		if (detail != NULL)
			expand_step(x, depth, "%s: mailbox (detail \"%s\")",
			    addr, detail);
		else
			expand_step(x, depth, "%s: mailbox", addr);
		expand_emit(x, R_KIND_MAILBOX, addr, detail);
	}
	return r;
}

/*
 * "alice: alice, archive": alice's own mailbox, not a loop. Only a user
 * has a mailbox: without one the target is as unknown as any other, or
 * mail would pile up in a Maildir that nobody can log in to.
 */
static void
expand_self(struct xctx *x, const char *addr, int depth)
{
	if (expand_user(x, addr, NULL, depth) == 0)
		expand_unknown(x, addr, depth);
}

static int
expand_target(const char *target, void *arg)
{
	struct xtarget_arg	*ta = arg;
	struct xctx		*x = ta->x;
	struct mailaddr		 a;
	char			 t[ADDR_MAX + 1];
	const char		*dom;
	int			 n;

	if (x->stop)
		return -1;
	if (target[0] == '|') {
		/*
		 * aliases_compile only stores commands when they are allowed;
		 * the setting is asked again here so that turning it off
		 * takes effect before the map is rebuilt. The command goes to
		 * deliverd's pipe transport as it stands ("|" included), run
		 * for the envelope recipient being expanded.
		 */
		if (x->ops->allow_commands) {
			if (strlen(target) > ADDR_MAX) {
				expand_note(x, ta->depth + 1, "alias %s: "
				    "command longer than %d bytes ignored",
				    ta->self, ADDR_MAX);
				x->command = 1;
				x->skipped = 1;
				return 0;
			}
			expand_step(x, ta->depth + 1, "%s: command", target);
			expand_emit(x, R_KIND_COMMAND, target, NULL);
			return x->stop ? -1 : 0;
		}
		expand_note(x, ta->depth + 1, "alias %s: command target "
		    "ignored (allow_alias_commands = no)", ta->self);
		x->skipped = 1;
		return 0;
	}
	if (target[0] == '/' || strncasecmp(target, ":include:", 9) == 0) {
		expand_note(x, ta->depth + 1, "alias %s: file or include "
		    "target ignored", ta->self);
		x->skipped = 1;
		return 0;
	}
	dom = x->ops->default_domain != NULL ? x->ops->default_domain :
	    ta->domain;
	if (target[0] == '@') {
		/* A domain alias: the same local part in the other domain. */
		n = snprintf(t, sizeof(t), "%s%s", ta->local, target);
		if (n > 0 && (size_t)n < sizeof(t))
			expand_step(x, ta->depth + 1, "domain alias: %s", t);
	} else if (strchr(target, '@') == NULL)
		n = snprintf(t, sizeof(t), "%s@%s", target, dom);
	else
		n = snprintf(t, sizeof(t), "%s", target);
	if (n < 0 || (size_t)n >= sizeof(t) || addr_parse(t, &a, 1) == -1 ||
	    addr_format(&a, t, sizeof(t)) == -1) {
		expand_note(x, ta->depth + 1, "alias %s: bad target \"%s\" "
		    "ignored", ta->self, target);
		x->skipped = 1;
		return 0;
	}
	switch (x->ops->is_local(a.domain, x->ops->arg)) {
	case 0:
		/* Not ours: the local part's case is the other side's business. */
		expand_step(x, ta->depth + 1, "%s: remote", t);
		expand_emit(x, R_KIND_REMOTE, t, NULL);
		break;
	case 1:
		addr_lower(t);
		if (strcmp(t, ta->self) == 0)
			expand_self(x, t, ta->depth + 1);
		else
			expand_visit(x, t, ta->depth + 1);
		break;
	default:
		expand_fail_temp(x);
		break;
	}
	return x->stop ? -1 : 0;
}

/*
 * The alias key, if there is one, expanded as self's: 1, 0 (none), or
 * -1 (the expansion has failed).
 */
static int
expand_alias(struct xctx *x, const char *key, const char *self,
    const char *local, const char *domain, int depth)
{
	struct xtarget_arg	 ta;
	char			 val[MAP_VALUE_MAX];
	int			 r;

	if ((r = x->ops->alias(key, val, sizeof(val), x->ops->arg)) == -1) {
		expand_fail_temp(x);
		return -1;
	}
	if (r == 0)
		return 0;
	expand_step(x, depth, "%s: %s %s -> %s", self,
	    key[0] == '@' ? "catch-all" : "alias", key, val);
	ta.x = x;
	ta.self = self;
	ta.local = local;
	ta.domain = domain;
	ta.depth = depth;
	if (aliases_split(val, expand_target, &ta) == 0)
		x->skipped = 1;
	return x->stop ? -1 : 1;
}

/*
 * Splits local at the first recipient_delimiter character into base and
 * detail; 0 when there is none (or nothing before or after it).
 */
static int
expand_split(const struct expand_ops *ops, const char *local, char *base,
    size_t basesz, const char **detail)
{
	size_t n;

	if (ops->delimiter == NULL || ops->delimiter[0] == '\0')
		return 0;
	n = strcspn(local, ops->delimiter);
	if (n == 0 || local[n] == '\0' || local[n + 1] == '\0' || n >= basesz)
		return 0;
	memcpy(base, local, n);
	base[n] = '\0';
	*detail = local + n + 1;
	return 1;
}

/* addr: lowercase "local@domain" of a local domain. */
static void
expand_visit(struct xctx *x, const char *addr, int depth)
{
	char		 local[ADDR_MAX + 1], base[ADDR_MAX + 1];
	char		 baddr[ADDR_MAX + 1], key[ADDR_MAX + 2];
	const char	*domain, *detail;
	char		*at;
	int		 r, state;

	if (x->stop)
		return;
	if (depth > EXPAND_DEPTH_MAX) {
		expand_step(x, depth, "%s: nested too deep; branch dropped",
		    addr);
		x->deep = 1;
		return;
	}
	state = expand_set_get(&x->seen, addr);
	if (state == XS_ACTIVE) {
		expand_step(x, depth, "%s: alias loop; branch dropped", addr);
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
	domain = at + 1;

	/* The full address wins over the bare local part (every domain's). */
	if ((r = expand_alias(x, addr, addr, local, domain, depth)) == 0 &&
	    (r = expand_alias(x, local, addr, local, domain, depth)) == 0 &&
	    (r = expand_user(x, addr, NULL, depth)) == 0 &&
	    expand_split(x->ops, local, base, sizeof(base), &detail) &&
	    snprintf(baddr, sizeof(baddr), "%s@%s", base, domain) <
	    (int)sizeof(baddr)) {
		expand_step(x, depth, "%s: plus address: %s, detail \"%s\"",
		    addr, baddr, detail);
		if ((r = expand_alias(x, baddr, baddr, base, domain,
		    depth)) == 0 &&
		    (r = expand_alias(x, base, baddr, base, domain,
		    depth)) == 0)
			r = expand_user(x, baddr, detail, depth);
	}
	if (r == 0) {
		if (snprintf(key, sizeof(key), "@%s", domain) >=
		    (int)sizeof(key) || (r = expand_alias(x, key, addr, local,
		    domain, depth)) == 0)
			expand_unknown(x, addr, depth);
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
expand_ops_conf(struct expand_ops *ops, const struct conf *c)
{
	ops->default_domain = conf_default_domain(c);
	ops->delimiter = c->recipient_delimiter;
	ops->allow_commands = c->allow_alias_commands;
}

void
expand_unknown_text(const char *addr, char *text, size_t textsz)
{
	snprintf(text, textsz, "5.1.1 <%s>: user unknown", addr);
}

void
expand_address(const struct expand_ops *ops, const char *addr,
    struct r_expansion *out)
{
	struct xctx	x;
	struct mailaddr	a;
	char		full[ADDR_MAX + 1], text[PROTO_TEXT_MAX];
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
	if (!local) {
		expand_step(&x, 0, "%s: remote (not a local domain)", full);
		expand_emit(&x, R_KIND_REMOTE, full, NULL);
	} else {
		addr_lower(full);
		expand_visit(&x, full, 0);
	}
	expand_set_free(&x.seen);

	if (x.tempfail)
		expand_result(out, ST_TEMP, "4.3.0 lookup failure");
	else if (x.toomany) {
		snprintf(text, sizeof(text), "5.3.0 <%s>: alias expands to too "
		    "many recipients", full);
		expand_result(out, ST_PERM, text);
	} else if (out->n > 0) {
		/* Part of it is deliverable: deliver that, tell the admin. */
		if (x.loop)
			expand_note(&x, 0, "%s: alias loop; the looping "
			    "branch is dropped", full);
		if (x.deep)
			expand_note(&x, 0, "%s: aliases nested deeper than "
			    "%d; the deepest branch is dropped", full,
			    EXPAND_DEPTH_MAX);
		if (x.unknown[0] != '\0')
			expand_note(&x, 0, "%s: alias target %s is unknown; "
			    "dropped", full, x.unknown);
		if (x.postmaster)
			expand_note(&x, 0, "%s: alias target postmaster has "
			    "no mailbox: add an alias", full);
		expand_result(out, ST_OK, "2.1.5 ok");
	} else if (x.postmaster) {
		if (ops->trace == NULL)
			log_errx("%s: postmaster has no mailbox: add an alias "
			    "(RFC 5321 4.5.1 requires one)", full);
		expand_result(out, ST_PERM, "5.1.1 postmaster has no mailbox: "
		    "add an alias");
	} else if (x.command) {
		snprintf(text, sizeof(text), "5.3.5 <%s>: alias command is "
		    "longer than the delivery agent takes", full);
		expand_result(out, ST_PERM, text);
	} else if (x.loop) {
		snprintf(text, sizeof(text), "5.4.6 <%s>: alias loop", full);
		expand_result(out, ST_PERM, text);
	} else if (x.deep) {
		snprintf(text, sizeof(text), "5.4.6 <%s>: aliases nested too "
		    "deep", full);
		expand_result(out, ST_PERM, text);
	} else {
		/*
		 * The sender learns that the address is dead, not which
		 * alias target is: that is the administrator's to know.
		 */
		if (strcmp(x.unknown, full) == 0)
			expand_unknown_text(full, text, sizeof(text));
		else {
			if (x.unknown[0] != '\0')
				expand_note(&x, 0, "%s: alias target %s is "
				    "unknown", full, x.unknown);
			snprintf(text, sizeof(text), "5.1.1 <%s>: alias has "
			    "no deliverable target", full);
		}
		expand_result(out, ST_PERM, text);
	}
}
