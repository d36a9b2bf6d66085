/*
 * aliases.c - the aliases file compiler and the stored value splitter.
 *
 * aliases_compile runs in the CLI ("postern alias", as root or the map
 * owner); aliases_split runs in resolverd (unprivileged). The source file
 * is the administrator's, so it is trusted not to be hostile but expected
 * to be wrong: every bad line is reported with file and line (all of
 * them, not just the first), and one bad line leaves the old map in
 * place: building the rest would silently reroute the bad line's mail
 * (to a catch-all, or to a bounce), where the old map still does what
 * the administrator last meant. Nothing half-built reaches the map
 * either (map_build_* renames a complete file into place).
 * Delivery to files, includes and (unless explicitly allowed) commands is
 * refused here, at compile time, so that resolverd never has to decide
 * whether a target in the map may run something.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "aliases.h"
#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "map.h"

#define ALIASES_FILE_MAX	(64 * 1024 * 1024)
#define ALIASES_TARGET_MAX	(MAP_VALUE_MAX - 1)

struct alias_entry {
	char	*key;
	char	*value;
	int	 line;
};

struct alias_set {
	struct alias_entry *v;
	size_t		 n;
	size_t		 cap;
};

static char *
alias_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

/*
 * Splits s (modified in place) at commas outside double quotes and calls
 * cb on each trimmed, non-empty piece with one level of enclosing quotes
 * removed, so a quoted command may hold a comma.
 */
static int
alias_split_inplace(char *s, int (*cb)(const char *, void *), void *arg)
{
	char	*p = s, *start = s, *t;
	int	 inq = 0, count = 0, last;

	for (;;) {
		last = (*p == '\0');
		if (!last && *p == '"')
			inq = !inq;
		if (last || (*p == ',' && !inq)) {
			*p = '\0';
			t = alias_trim(start);
			if (t[0] == '"' && strlen(t) >= 2 &&
			    t[strlen(t) - 1] == '"' &&
			    strchr(t + 1, '"') == t + strlen(t) - 1) {
				t[strlen(t) - 1] = '\0';
				t = alias_trim(t + 1);
			}
			if (t[0] != '\0') {
				if (cb(t, arg) == -1)
					return -1;
				count++;
			}
			if (last)
				break;
			start = p + 1;
		}
		p++;
	}
	return count;
}

int
aliases_split(const char *value, int (*cb)(const char *target, void *arg),
    void *arg)
{
	char	*copy;
	int	 rc;

	if ((copy = strdup(value)) == NULL)
		return -1;
	rc = alias_split_inplace(copy, cb, arg);
	free(copy);
	return rc;
}

/* Where problems go: the caller's report callback, else the log. */
struct compile_report {
	void	(*fn)(int error, const char *msg, void *arg);
	void	*arg;
	int	 errors;
};

static void	alias_report(struct compile_report *, int error,
		    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
alias_report(struct compile_report *r, int error, const char *fmt, ...)
{
	char	msg[1024];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		r->errors++;
	if (r->fn != NULL)
		r->fn(error, msg, r->arg);
	else if (error)
		log_errx("%s", msg);
	else
		log_warnx("%s", msg);
}

struct compile_line {
	const char	*src;
	int		 line;
	const char	*name;
	int		 allow_commands;
	struct buf	 value;
	struct compile_report *rep;
	int		 failed;
};

/* A target as resolverd will read it back: quoted if it holds a comma. */
static int
alias_store_target(struct compile_line *cl, const char *t)
{
	int quote = strchr(t, ',') != NULL;

	if (quote && strchr(t, '"') != NULL) {
		alias_report(cl->rep, 0, "%s:%d: alias %s: target \"%s\" holds "
		    "both a comma and a quote and cannot be stored; skipped",
		    cl->src, cl->line, cl->name, t);
		return 0;
	}
	if ((cl->value.len > 0 && buf_puts(&cl->value, ", ") == -1) ||
	    (quote && buf_puts(&cl->value, "\"") == -1) ||
	    buf_puts(&cl->value, t) == -1 ||
	    (quote && buf_puts(&cl->value, "\"") == -1)) {
		alias_report(cl->rep, 1, "%s:%d: alias %s: target list longer "
		    "than %d bytes", cl->src, cl->line, cl->name,
		    ALIASES_TARGET_MAX);
		cl->failed = 1;
		return -1;
	}
	return 0;
}

static int
alias_compile_target(const char *target, void *arg)
{
	struct compile_line	*cl = arg;
	struct mailaddr		 a;
	char			 t[ADDR_MAX + 1], full[ADDR_MAX + 16];

	if (target[0] == '|') {
		if (!cl->allow_commands) {
			alias_report(cl->rep, 0, "%s:%d: alias %s: delivery "
			    "to a command (%s) is refused "
			    "(allow_alias_commands = no); target skipped",
			    cl->src, cl->line, cl->name, target);
			return 0;
		}
		return alias_store_target(cl, target);
	}
	if (target[0] == '/') {
		alias_report(cl->rep, 0, "%s:%d: alias %s: delivery to a file "
		    "(%s) is not supported; target skipped", cl->src, cl->line,
		    cl->name, target);
		return 0;
	}
	if (strncasecmp(target, ":include:", 9) == 0) {
		alias_report(cl->rep, 0, "%s:%d: alias %s: :include: is not "
		    "supported; target skipped", cl->src, cl->line, cl->name);
		return 0;
	}
	/* sendmail's "\user" (do not alias again) is what a self reference does. */
	if (target[0] == '\\')
		target++;
	if (strlcpy(t, target, sizeof(t)) >= sizeof(t)) {
		alias_report(cl->rep, 1, "%s:%d: alias %s: target is too long",
		    cl->src, cl->line, cl->name);
		cl->failed = 1;
		return -1;
	}
	if (t[0] == '@') {
		/*
		 * "@alias.example: @example.net": the same local part in
		 * another domain. Only a whole domain can be mapped onto a
		 * domain; for one address the target would be a guess.
		 */
		if (cl->name[0] != '@') {
			alias_report(cl->rep, 1, "%s:%d: alias %s: bad target "
			    "\"%s\": a domain target belongs only to a domain "
			    "alias (@alias.example: @example.net)", cl->src,
			    cl->line, cl->name, target);
			cl->failed = 1;
			return -1;
		}
		if (!addr_valid_domain(t + 1))
			goto bad;
		addr_lower(t);
		return alias_store_target(cl, t);
	}
	/* A bare local part is checked as if it had a domain. */
	if (strchr(t, '@') == NULL) {
		snprintf(full, sizeof(full), "%s@localhost", t);
		if (addr_parse(full, &a, 1) == -1)
			goto bad;
		addr_lower(t);
	} else {
		if (addr_parse(t, &a, 1) == -1 ||
		    addr_format(&a, t, sizeof(t)) == -1)
			goto bad;
	}
	return alias_store_target(cl, t);
bad:
	alias_report(cl->rep, 1, "%s:%d: alias %s: bad target address \"%s\"",
	    cl->src, cl->line, cl->name, target);
	cl->failed = 1;
	return -1;
}

/*
 * Checks and lowercases an alias name: a local part, a full address, or
 * "@domain" (a catch-all or domain alias).
 */
static int
alias_check_name(char *name)
{
	struct mailaddr	a;
	char		full[ADDR_MAX + 16];

	if (name[0] == '@') {
		if (!addr_valid_domain(name + 1))
			return -1;
	} else if (strchr(name, '@') == NULL) {
		if (snprintf(full, sizeof(full), "%s@localhost", name) >=
		    (int)sizeof(full) || addr_parse(full, &a, 1) == -1)
			return -1;
	} else if (addr_parse(name, &a, 1) == -1)
		return -1;
	addr_lower(name);
	return 0;
}

static int
alias_set_add(struct alias_set *s, const char *key, const char *value,
    int line)
{
	struct alias_entry *nv;

	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;

		if ((nv = reallocarray(s->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		s->v = nv;
		s->cap = ncap;
	}
	s->v[s->n].key = strdup(key);
	s->v[s->n].value = strdup(value);
	s->v[s->n].line = line;
	if (s->v[s->n].key == NULL || s->v[s->n].value == NULL) {
		free(s->v[s->n].key);
		free(s->v[s->n].value);
		return -1;
	}
	s->n++;
	return 0;
}

static void
alias_set_free(struct alias_set *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->v[i].key);
		free(s->v[i].value);
	}
	free(s->v);
}

static int
alias_entry_cmp(const void *a, const void *b)
{
	const struct alias_entry *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c != 0)
		return c;
	return (x->line > y->line) - (x->line < y->line);
}

/*
 * One logical entry (continuations joined) that starts at line. A bad
 * entry is reported and returns 0, so that the next ones are checked
 * too; -1 only when nothing further can be done (out of memory).
 */
static int
alias_compile_entry(const char *src, int line, char *entry,
    int allow_commands, struct alias_set *set, struct compile_report *rep)
{
	struct compile_line	 cl;
	char			*colon, *name;
	int			 n;

	if ((colon = strchr(entry, ':')) == NULL) {
		alias_report(rep, 1, "%s:%d: expected \"name: target, ...\"",
		    src, line);
		return 0;
	}
	*colon = '\0';
	name = alias_trim(entry);
	if (name[0] == '\0' || strpbrk(name, " \t\"") != NULL ||
	    alias_check_name(name) == -1) {
		alias_report(rep, 1, "%s:%d: bad alias name \"%s\" (a local "
		    "part, user@domain, or @domain)", src, line, name);
		return 0;
	}
	memset(&cl, 0, sizeof(cl));
	cl.src = src;
	cl.line = line;
	cl.name = name;
	cl.allow_commands = allow_commands;
	cl.rep = rep;
	buf_init(&cl.value, ALIASES_TARGET_MAX);
	n = alias_split_inplace(colon + 1, alias_compile_target, &cl);
	if (n == -1 || cl.failed) {
		buf_free(&cl.value);
		return 0;
	}
	if (n == 0) {
		alias_report(rep, 1, "%s:%d: alias %s has no targets", src,
		    line, name);
		buf_free(&cl.value);
		return 0;
	}
	if (cl.value.len == 0) {
		alias_report(rep, 0, "%s:%d: alias %s: every target was "
		    "skipped; the alias is left out", src, line, name);
		buf_free(&cl.value);
		return 0;
	}
	if (buf_cstr(&cl.value) == -1 ||
	    alias_set_add(set, name, cl.value.data, line) == -1) {
		alias_report(rep, 1, "%s: out of memory", src);
		buf_free(&cl.value);
		return -1;
	}
	buf_free(&cl.value);
	return 0;
}

/*
 * Reads and parses the whole file into set, reporting every bad entry.
 * -1 when the file cannot be read (or memory ran out); the caller counts
 * the reported errors.
 */
static int
alias_parse_file(const char *src, int allow_commands, struct alias_set *set,
    struct compile_report *rep)
{
	char		*text, *p, *eol;
	struct buf	 entry;
	size_t		 len;
	int		 lineno = 0, start = 0, rc = 0, toolong = 0;

	if (fs_read_file(src, ALIASES_FILE_MAX, &text, &len) == -1) {
		alias_report(rep, 1, "%s: %s", src, errno == EFBIG ?
		    "larger than 64 MiB" : strerror(errno));
		return -1;
	}
	if (strlen(text) != len) {
		alias_report(rep, 1, "%s: contains a NUL byte", src);
		free(text);
		return -1;
	}
	/* An entry may not outgrow what one map value can hold, plus names. */
	buf_init(&entry, MAP_VALUE_MAX * 4);
	for (p = text; rc == 0 && *p != '\0'; p = eol) {
		char	*line, *t;

		line = p;
		if ((eol = strchr(p, '\n')) != NULL)
			*eol++ = '\0';
		else
			eol = p + strlen(p);
		lineno++;
		t = alias_trim(line);
		/* Comments may sit between continuation lines, as in sendmail. */
		if (t[0] == '\0' || t[0] == '#')
			continue;
		if (line[0] == ' ' || line[0] == '\t') {
			if (start == 0) {
				alias_report(rep, 1, "%s:%d: continuation "
				    "line without an alias before it", src,
				    lineno);
				continue;
			}
			if (!toolong && (buf_puts(&entry, " ") == -1 ||
			    buf_puts(&entry, t) == -1)) {
				alias_report(rep, 1, "%s:%d: alias entry too "
				    "long", src, start);
				toolong = 1;
			}
			continue;
		}
		/* A new entry: the one before it is complete. */
		if (start != 0 && !toolong) {
			if (buf_cstr(&entry) == -1)
				alias_report(rep, 1, "%s:%d: alias entry too "
				    "long", src, start);
			else
				rc = alias_compile_entry(src, start,
				    entry.data, allow_commands, set, rep);
		}
		buf_reset(&entry);
		toolong = 0;
		start = lineno;
		if (buf_puts(&entry, t) == -1) {
			alias_report(rep, 1, "%s:%d: alias entry too long",
			    src, start);
			toolong = 1;
		}
	}
	if (rc == 0 && start != 0 && !toolong) {
		if (buf_cstr(&entry) == -1)
			alias_report(rep, 1, "%s:%d: alias entry too long",
			    src, start);
		else
			rc = alias_compile_entry(src, start, entry.data,
			    allow_commands, set, rep);
	}
	buf_free(&entry);
	free(text);
	return rc;
}

int
aliases_compile(const char *srcpath, const char *dbpath, int allow_commands,
    void (*report)(int error, const char *msg, void *arg), void *arg)
{
	struct compile_report	 rep = { report, arg, 0 };
	struct alias_set	 set;
	struct map_builder	*b;
	size_t			 i;
	int			 written = 0;

	memset(&set, 0, sizeof(set));
	if (alias_parse_file(srcpath, allow_commands, &set, &rep) == -1 ||
	    rep.errors > 0) {
		alias_set_free(&set);
		return -1;
	}
	/*
	 * A name given twice is almost always a slip; the first one wins,
	 * as in sendmail and Postfix, and the later one is reported.
	 */
	if (set.n > 1)		/* qsort(NULL, 0, ...) is undefined */
		qsort(set.v, set.n, sizeof(*set.v), alias_entry_cmp);
	if ((b = map_build_begin(dbpath)) == NULL) {
		alias_report(&rep, 1, "%s: %s", dbpath, strerror(errno));
		alias_set_free(&set);
		return -1;
	}
	for (i = 0; i < set.n; i++) {
		if (i > 0 && strcmp(set.v[i].key, set.v[i - 1].key) == 0) {
			alias_report(&rep, 0, "%s:%d: duplicate alias %s "
			    "ignored (first given at line %d)", srcpath,
			    set.v[i].line, set.v[i].key, set.v[i - 1].line);
			/* Keep the first line for the next comparison. */
			set.v[i].line = set.v[i - 1].line;
			continue;
		}
		if (map_build_put(b, set.v[i].key, set.v[i].value) == -1) {
			alias_report(&rep, 1, "%s: %s", dbpath,
			    strerror(errno));
			map_build_abort(b);
			alias_set_free(&set);
			return -1;
		}
		written++;
	}
	alias_set_free(&set);
	if (map_build_commit(b) == -1) {
		alias_report(&rep, 1, "%s: %s", dbpath, strerror(errno));
		return -1;
	}
	return written;
}
