/*
 * tls_policy.c - the outbound TLS policy (smtp_tls_security_level and
 * smtp_tls_policy_map): the level names and the policy file, one
 * "domain level [match=name1:name2]" a line, as Postfix's
 * smtp_tls_policy_maps. Pure: no OpenSSL, no network.
 *
 * Runs in relayd as root before its privilege drop (the file is the
 * administrator's), in master and `postern check` (which refuse a start
 * or reload with a broken file). The file is trusted to be the
 * administrator's but not to be well formed: every line is checked,
 * and the whole is bounded (TLS_POLICY_FILE_MAX bytes, TLS_POLICY_MAX
 * entries, each field's length) before anything is kept.
 *
 * A domain "example.org" matches only itself, ".example.org" every
 * name below it (not itself), as in Postfix; the exact entry wins, then
 * the nearest parent. Entries are sorted once, each lookup is a binary
 * search per label: O(labels * log n).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "tls.h"

static const char *const level_names[] = {
	[TLS_LEVEL_NONE] = "none",
	[TLS_LEVEL_MAY] = "may",
	[TLS_LEVEL_ENCRYPT] = "encrypt",
	[TLS_LEVEL_DANE] = "dane",
	[TLS_LEVEL_VERIFY] = "verify",
};

int
tls_level_parse(const char *s, enum tls_level *out)
{
	size_t i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum tls_level)i;
			return 0;
		}
	return -1;
}

const char *
tls_level_name(enum tls_level l)
{
	if ((size_t)l >= sizeof(level_names) / sizeof(level_names[0]))
		return "?";
	return level_names[l];
}

void
tls_policy_free(struct tls_policy *p)
{
	free(p->v);
	p->v = NULL;
	p->n = 0;
}

/* A domain, or ".domain": LDH labels, no empty label; lower-cased. */
static int
domain_ok(char *d)
{
	char	*p = d[0] == '.' ? d + 1 : d;
	size_t	 len = strlen(p);

	if (len == 0 || len > 253 || p[0] == '.' || p[len - 1] == '.')
		return 0;
	for (; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_')
			return 0;
		if (*p == '.' && p[1] == '.')
			return 0;
		*p = (char)tolower((unsigned char)*p);
	}
	return 1;
}

/* match=: names (or the words hostname, nexthop), colon-separated. */
static int
match_ok(char *m)
{
	char	*p;
	size_t	 n = 0;

	if (m[0] == '\0' || m[0] == ':' || m[strlen(m) - 1] == ':')
		return 0;
	for (p = m; *p != '\0'; p++) {
		if (*p == ':') {
			if (p[1] == ':' || ++n >= TLS_MATCH_NAMES)
				return 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.' &&
		    *p != '_' && *p != '*')
			return 0;
		*p = (char)tolower((unsigned char)*p);
	}
	return 1;
}

static char *
next_word(char **pp)
{
	char *p = *pp, *w;

	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0')
		return NULL;
	w = p;
	while (*p != '\0' && *p != ' ' && *p != '\t')
		p++;
	if (*p != '\0')
		*p++ = '\0';
	*pp = p;
	return w;
}

static int
policy_line(const char *name, int lineno, char *line, struct tls_policy *pl,
    size_t *cap, char *err, size_t errlen)
{
	struct tls_policy_entry	*e, *nv;
	char			*p = line, *dom, *lev, *w;
	enum tls_level		 level;
	const char		*match = "";

	if ((dom = next_word(&p)) == NULL || dom[0] == '#')
		return 0;
	if ((lev = next_word(&p)) == NULL) {
		snprintf(err, errlen, "%s:%d: expected \"domain level "
		    "[match=name:...]\"", name, lineno);
		return -1;
	}
	if (!domain_ok(dom)) {
		snprintf(err, errlen, "%s:%d: \"%.64s\" is not a domain or "
		    ".domain", name, lineno, dom);
		return -1;
	}
	if (tls_level_parse(lev, &level) == -1) {
		snprintf(err, errlen, "%s:%d: unknown level \"%.32s\" (none, "
		    "may, encrypt, dane, verify)", name, lineno, lev);
		return -1;
	}
	while ((w = next_word(&p)) != NULL) {
		if (strncmp(w, "match=", 6) != 0 || match[0] != '\0') {
			snprintf(err, errlen, "%s:%d: unexpected \"%.64s\" "
			    "(only one match=name:...)", name, lineno, w);
			return -1;
		}
		match = w + 6;
		if (strlen(match) >= TLS_MATCH_MAX || !match_ok(w + 6)) {
			snprintf(err, errlen, "%s:%d: match= wants at most %d "
			    "host names separated by \":\", under %d bytes",
			    name, lineno, TLS_MATCH_NAMES, TLS_MATCH_MAX);
			return -1;
		}
		if (level != TLS_LEVEL_VERIFY && level != TLS_LEVEL_DANE) {
			snprintf(err, errlen, "%s:%d: match= needs level "
			    "verify or dane", name, lineno);
			return -1;
		}
	}
	if (pl->n >= TLS_POLICY_MAX) {
		snprintf(err, errlen, "%s:%d: more than %d entries", name,
		    lineno, TLS_POLICY_MAX);
		return -1;
	}
	if (pl->n == *cap) {
		size_t ncap = *cap == 0 ? 16 : *cap * 2;

		if ((nv = reallocarray(pl->v, ncap, sizeof(*nv))) == NULL) {
			snprintf(err, errlen, "%s: out of memory", name);
			return -1;
		}
		pl->v = nv;
		*cap = ncap;
	}
	e = &pl->v[pl->n++];
	memset(e, 0, sizeof(*e));
	strlcpy(e->domain, dom, sizeof(e->domain));
	e->level = level;
	strlcpy(e->match, match, sizeof(e->match));
	e->line = lineno;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	const struct tls_policy_entry *x = a, *y = b;

	return strcmp(x->domain, y->domain);
}

int
tls_policy_parse(const char *name, const char *text, size_t len,
    struct tls_policy *pl, char *err, size_t errlen)
{
	char		 line[TLS_MATCH_MAX + 512];
	const char	*p = text, *end = text + len, *nl;
	size_t		 n, i, cap = 0;
	int		 lineno = 0;

	pl->v = NULL;
	pl->n = 0;
	if (len > TLS_POLICY_FILE_MAX) {
		snprintf(err, errlen, "%s: over %d bytes", name,
		    TLS_POLICY_FILE_MAX);
		return -1;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		if (n >= sizeof(line) || memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "%s:%d: line too long or not "
			    "text", name, lineno);
			goto fail;
		}
		memcpy(line, p, n);
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		if (policy_line(name, lineno, line, pl, &cap, err,
		    errlen) == -1)
			goto fail;
		p = nl != NULL ? nl + 1 : end;
	}
	if (pl->n > 1)
		qsort(pl->v, pl->n, sizeof(*pl->v), entry_cmp);
	for (i = 1; i < pl->n; i++)
		if (strcmp(pl->v[i - 1].domain, pl->v[i].domain) == 0) {
			snprintf(err, errlen, "%s:%d: \"%s\" is listed again "
			    "(first at line %d)", name, pl->v[i].line >
			    pl->v[i - 1].line ? pl->v[i].line :
			    pl->v[i - 1].line, pl->v[i].domain,
			    pl->v[i].line > pl->v[i - 1].line ?
			    pl->v[i - 1].line : pl->v[i].line);
			goto fail;
		}
	return 0;
fail:
	tls_policy_free(pl);
	return -1;
}

int
tls_policy_load(const char *path, struct tls_policy *pl, char *err,
    size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	pl->v = NULL;
	pl->n = 0;
	if (fs_read_file(path, TLS_POLICY_FILE_MAX, &text, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "too big" : strerror(errno));
		return -1;
	}
	rc = tls_policy_parse(path, text, len, pl, err, errlen);
	free(text);
	return rc;
}

static const struct tls_policy_entry *
policy_get(const struct tls_policy *pl, const char *key)
{
	struct tls_policy_entry k;

	if (pl->n == 0 || strlcpy(k.domain, key, sizeof(k.domain)) >=
	    sizeof(k.domain))
		return NULL;
	return bsearch(&k, pl->v, pl->n, sizeof(*pl->v), entry_cmp);
}

const struct tls_policy_entry *
tls_policy_find(const struct tls_policy *pl, const char *domain)
{
	const struct tls_policy_entry	*e;
	char				 lower[256];
	const char			*dot;
	size_t				 i;

	for (i = 0; domain[i] != '\0' && i < sizeof(lower) - 1; i++)
		lower[i] = (char)tolower((unsigned char)domain[i]);
	if (domain[i] != '\0')
		return NULL;
	lower[i] = '\0';
	if ((e = policy_get(pl, lower)) != NULL)
		return e;
	/* ".example.org" for a.example.org and a.b.example.org: nearest. */
	for (dot = strchr(lower, '.'); dot != NULL; dot = strchr(dot + 1, '.'))
		if ((e = policy_get(pl, dot)) != NULL)
			return e;
	return NULL;
}
