/*
 * mime_field.c - what the MIME parser reads out of a part's header: the
 * Content-* fields (RFC 2045, 2183, 3282, 2557, 1864) with their
 * parameters (RFC 2045 5.1, RFC 2231 continuations), the defaults where a
 * field is missing or broken, and the header-field reader that IMAP's
 * ENVELOPE and HEADER.FIELDS use on a part's raw header.
 *
 * Same process and trust as mime.c: the field text is anybody's. Broken
 * syntax is read leniently where the intent is plain (a missing closing
 * quote, spaces around "="), and dropped where it is not; nothing here
 * fails a message. Every string kept is bounded (mime.h) and charged to
 * the tree's memory budget.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "mime_int.h"

/* A parameter as written, before RFC 2231 joins its sections. */
struct mime_rawp {
	char	 name[MIME_PARAM_NAME_MAX + 2];	/* base name, room for "*" */
	int	 section;			/* -1: none */
	int	 ext;				/* ends in "*" */
	char	*value;
	size_t	 vlen;
};

#define MIME_RAWP_MAX	(MIME_PARAMS_MAX * 4)

char *
mime_strndup(struct mime_parser *p, struct mime_part *x, const char *s,
    size_t n)
{
	char	*c;

	if (n > p->lim.mem || p->mem > p->lim.mem - n - 1) {
		p->hits |= MIME_HIT_MEM;
		x->flags |= MIME_PART_STR_TRUNC;
		return NULL;
	}
	if ((c = malloc(n + 1)) == NULL) {
		p->nomem = 1;
		return NULL;
	}
	memcpy(c, s, n);
	c[n] = '\0';
	p->mem += n + 1;
	return c;
}

static void
mime_params_free(struct mime_params *ps)
{
	size_t	i;

	for (i = 0; i < ps->n; i++) {
		free(ps->v[i].name);
		free(ps->v[i].value);
	}
	free(ps->v);
	ps->v = NULL;
	ps->n = 0;
}

void
mime_part_strings_free(struct mime_part *x)
{
	free(x->type);
	free(x->subtype);
	mime_params_free(&x->params);
	free(x->encoding);
	free(x->id);
	free(x->description);
	free(x->disposition);
	mime_params_free(&x->disp_params);
	free(x->language);
	free(x->location);
	free(x->md5);
	free(x->boundary);
}

const char *
mime_param_get(const struct mime_params *ps, const char *name)
{
	size_t	i;

	for (i = 0; i < ps->n; i++)
		if (strcasecmp(ps->v[i].name, name) == 0)
			return ps->v[i].value;
	return NULL;
}

static int
mime_wsp(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* RFC 2045 5.1 tspecials. */
static const unsigned char mime_tspecials[128] = {
	['('] = 1, [')'] = 1, ['<'] = 1, ['>'] = 1, ['@'] = 1, [','] = 1,
	[';'] = 1, [':'] = 1, ['\\'] = 1, ['"'] = 1, ['/'] = 1, ['['] = 1,
	[']'] = 1, ['?'] = 1, ['='] = 1,
};

/* RFC 2045 5.1 token characters. */
static int
mime_tokenc(int c)
{
	return c > 32 && c < 127 && !mime_tspecials[c];
}

/* Skips whitespace and (nested) comments from *i. */
static void
mime_cfws(const char *s, size_t n, size_t *i)
{
	unsigned	depth = 0;

	while (*i < n) {
		if (depth == 0 && mime_wsp((unsigned char)s[*i]))
			(*i)++;
		else if (s[*i] == '(') {
			depth++;
			(*i)++;
		} else if (depth > 0) {
			if (s[*i] == '\\' && *i + 1 < n)
				(*i)++;
			else if (s[*i] == ')')
				depth--;
			(*i)++;
		} else
			break;
	}
}

/* A token at *i, lower-cased into out (size outsz); its length or 0. */
static size_t
mime_token(const char *s, size_t n, size_t *i, char *out, size_t outsz)
{
	size_t	k = 0;

	while (*i < n && mime_tokenc((unsigned char)s[*i])) {
		if (k + 1 < outsz)
			out[k++] = (char)tolower((unsigned char)s[*i]);
		else
			k = outsz;	/* too long: refused below */
		(*i)++;
	}
	if (k >= outsz)
		return 0;
	out[k] = '\0';
	return k;
}

/*
 * A value at *i: a quoted-string (unquoted into v) or else everything up
 * to ";" or a comment, less trailing whitespace (lenient: 8-bit bytes,
 * spaces, "/", "=" and "@" are common in the wild). Its length; *trunc
 * if cut at max.
 */
static size_t
mime_value(const char *s, size_t n, size_t *i, char *v, size_t max,
    int *trunc)
{
	size_t	k = 0;

	if (*i < n && s[*i] == '"') {
		for ((*i)++; *i < n && s[*i] != '"'; (*i)++) {
			if (s[*i] == '\\' && *i + 1 < n)
				(*i)++;
			if (s[*i] == '\r' || s[*i] == '\n')
				continue;
			if (k < max)
				v[k++] = s[*i];
			else
				*trunc = 1;
		}
		if (*i < n)
			(*i)++;
		return k;
	}
	while (*i < n && s[*i] != ';') {
		/* RFC 2045's own example: "charset=us-ascii (Plain text)". */
		if (s[*i] == '(' && k > 0 && mime_wsp((unsigned char)v[k - 1]))
			break;
		if (k < max)
			v[k++] = s[*i];
		else
			*trunc = 1;
		(*i)++;
	}
	while (k > 0 && mime_wsp((unsigned char)v[k - 1]))
		k--;
	return k;
}

/* Splits a parameter name into its RFC 2231 base, section and "*". */
static int
mime_rawp_name(struct mime_rawp *r, const char *name)
{
	const char	*star;
	char		*end;
	long		 sec;

	r->section = -1;
	r->ext = 0;
	if ((star = strchr(name, '*')) == NULL) {
		strlcpy(r->name, name, sizeof(r->name));
		return 0;
	}
	if (star == name)
		return -1;
	memcpy(r->name, name, (size_t)(star - name));
	r->name[star - name] = '\0';
	star++;
	if (*star == '\0') {
		r->ext = 1;
		return 0;
	}
	if (!isdigit((unsigned char)*star) || (star[0] == '0' &&
	    isdigit((unsigned char)star[1])))
		return -1;
	sec = strtol(star, &end, 10);
	if (sec < 0 || sec >= MIME_PARAM_SECTIONS_MAX)
		return -1;
	r->section = (int)sec;
	if (*end == '*') {
		r->ext = 1;
		end++;
	}
	return *end == '\0' ? 0 : -1;
}

static struct mime_rawp *
mime_rawp_find(struct mime_rawp *r, size_t n, const char *name, int section)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (r[i].section == section && strcmp(r[i].name, name) == 0)
			return &r[i];
	return NULL;
}

/* Appends a section to the joined value; percent-encodes if asked. */
static void
mime_join(char *v, size_t *k, const struct mime_rawp *r, int pct, int *trunc)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 i;
	unsigned char		 c;

	for (i = 0; i < r->vlen; i++) {
		c = (unsigned char)r->value[i];
		if (pct && (!mime_tokenc(c) || c == '*' || c == '\'' ||
		    c == '%')) {
			if (*k + 3 > MIME_PARAM_VALUE_MAX) {
				*trunc = 1;
				return;
			}
			v[(*k)++] = '%';
			v[(*k)++] = hex[c >> 4];
			v[(*k)++] = hex[c & 15];
		} else if (*k < MIME_PARAM_VALUE_MAX)
			v[(*k)++] = (char)c;
		else {
			*trunc = 1;
			return;
		}
	}
}

/* Adds name=value to ps unless ps is full or has name already. */
static void
mime_param_add(struct mime_parser *p, struct mime_part *x,
    struct mime_params *ps, const char *name, const char *v, size_t vlen)
{
	struct mime_param	*nv;
	char			*n, *val;

	if (mime_param_get(ps, name) != NULL)
		return;
	if (ps->n >= MIME_PARAMS_MAX) {
		x->flags |= MIME_PART_STR_TRUNC;
		return;
	}
	if ((n = mime_strndup(p, x, name, strlen(name))) == NULL)
		return;
	if ((val = mime_strndup(p, x, v, vlen)) == NULL) {
		free(n);
		return;
	}
	if ((nv = reallocarray(ps->v, ps->n + 1, sizeof(*nv))) == NULL) {
		p->nomem = 1;
		free(n);
		free(val);
		return;
	}
	ps->v = nv;
	ps->v[ps->n].name = n;
	ps->v[ps->n].value = val;
	ps->n++;
}

/* The parameters "; a=b; c*0=d ..." of s[*i..n) into ps. */
static void
mime_params_read(struct mime_parser *p, struct mime_part *x,
    struct mime_params *ps, const char *s, size_t n, size_t i)
{
	struct mime_rawp	*r;
	char			 name[MIME_PARAM_NAME_MAX + 1], *v = NULL;
	size_t			 nr = 0, k, j, vlen;
	int			 trunc = 0, sec;

	if ((r = calloc(MIME_RAWP_MAX, sizeof(*r))) == NULL ||
	    (v = malloc(MIME_PARAM_VALUE_MAX + 1)) == NULL) {
		p->nomem = 1;
		free(r);
		return;
	}
	while (i < n) {
		/* Up to the next ";": bytes that are no parameter go. */
		while (i < n && s[i] != ';')
			i++;
		if (i >= n)
			break;
		i++;
		mime_cfws(s, n, &i);
		if (mime_token(s, n, &i, name, sizeof(name)) == 0)
			continue;
		mime_cfws(s, n, &i);
		if (i >= n || s[i] != '=')
			continue;
		i++;
		mime_cfws(s, n, &i);
		vlen = mime_value(s, n, &i, v, MIME_PARAM_VALUE_MAX, &trunc);
		if (nr >= MIME_RAWP_MAX) {
			trunc = 1;
			continue;
		}
		if (mime_rawp_name(&r[nr], name) == -1 ||
		    mime_rawp_find(r, nr, r[nr].name, r[nr].section) != NULL)
			continue;
		if ((r[nr].value = malloc(vlen + 1)) == NULL) {
			p->nomem = 1;
			break;
		}
		memcpy(r[nr].value, v, vlen);
		r[nr].value[vlen] = '\0';
		r[nr].vlen = vlen;
		nr++;
	}
	/* In the order written; sections join from 0 while they follow. */
	for (j = 0; j < nr; j++) {
		struct mime_rawp	*q;
		int			 ext;

		if (r[j].section > 0)
			continue;
		ext = r[j].ext;
		k = 0;
		if (r[j].section == -1)
			mime_join(v, &k, &r[j], 0, &trunc);
		else
			for (sec = 0; (q = mime_rawp_find(r, nr, r[j].name,
			    sec)) != NULL; sec++)
				mime_join(v, &k, q, ext && !q->ext, &trunc);
		if (ext)
			(void)strlcat(r[j].name, "*", sizeof(r[j].name));
		mime_param_add(p, x, ps, r[j].name, v, k);
	}
	if (trunc)
		x->flags |= MIME_PART_STR_TRUNC;
	for (j = 0; j < nr; j++)
		free(r[j].value);
	free(r);
	free(v);
}

/* A value trimmed, at most MIME_VALUE_MAX bytes, as a string. */
static char *
mime_trimmed(struct mime_parser *p, struct mime_part *x, const char *s,
    size_t n, int lower)
{
	char	*c;
	size_t	 i;

	while (n > 0 && mime_wsp((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n > 0 && mime_wsp((unsigned char)s[n - 1]))
		n--;
	if (n > MIME_VALUE_MAX) {
		n = MIME_VALUE_MAX;
		x->flags |= MIME_PART_STR_TRUNC;
	}
	if ((c = mime_strndup(p, x, s, n)) != NULL && lower)
		for (i = 0; i < n; i++)
			c[i] = (char)tolower((unsigned char)c[i]);
	return c;
}

static void
mime_content_type(struct mime_parser *p, struct mime_part *x, const char *s,
    size_t n)
{
	char	 t[MIME_TOKEN_MAX + 1], st[MIME_TOKEN_MAX + 1];
	size_t	 i = 0, tl, sl;

	mime_cfws(s, n, &i);
	if ((tl = mime_token(s, n, &i, t, sizeof(t))) == 0)
		return;
	mime_cfws(s, n, &i);
	if (i >= n || s[i] != '/')
		return;
	i++;
	mime_cfws(s, n, &i);
	if ((sl = mime_token(s, n, &i, st, sizeof(st))) == 0)
		return;
	/* Not charged to mem: bounded by MIME_TOKEN_MAX and parts. */
	if ((x->type = strdup(t)) == NULL ||
	    (x->subtype = strdup(st)) == NULL) {
		free(x->type);
		x->type = NULL;
		p->nomem = 1;
		return;
	}
	mime_params_read(p, x, &x->params, s, n, i);
}

void
mime_field_apply(struct mime_parser *p, struct mime_part *x, const char *f,
    size_t n)
{
	const char	*colon, *v;
	size_t		 nl, vn, i;
	char		 tok[MIME_TOKEN_MAX + 1];

	if ((colon = memchr(f, ':', n)) == NULL)
		return;
	nl = (size_t)(colon - f);
	while (nl > 0 && (f[nl - 1] == ' ' || f[nl - 1] == '\t'))
		nl--;
	v = colon + 1;
	vn = n - (size_t)(v - f);

#define IS(name)	(nl == sizeof(name) - 1 && \
			    strncasecmp(f, name, nl) == 0)
	/* The first of each field counts, as in Dovecot and Thunderbird. */
	if (IS("content-type")) {
		if (x->type == NULL)
			mime_content_type(p, x, v, vn);
	} else if (IS("content-transfer-encoding")) {
		i = 0;
		mime_cfws(v, vn, &i);
		if (x->encoding == NULL &&
		    mime_token(v, vn, &i, tok, sizeof(tok)) > 0)
			x->encoding = mime_strndup(p, x, tok, strlen(tok));
	} else if (IS("content-disposition")) {
		i = 0;
		mime_cfws(v, vn, &i);
		if (x->disposition == NULL &&
		    mime_token(v, vn, &i, tok, sizeof(tok)) > 0) {
			x->disposition = mime_strndup(p, x, tok, strlen(tok));
			if (x->disposition != NULL)
				mime_params_read(p, x, &x->disp_params, v, vn,
				    i);
		}
	} else if (IS("content-id")) {
		if (x->id == NULL)
			x->id = mime_trimmed(p, x, v, vn, 0);
	} else if (IS("content-description")) {
		if (x->description == NULL)
			x->description = mime_trimmed(p, x, v, vn, 0);
	} else if (IS("content-language")) {
		if (x->language == NULL)
			x->language = mime_trimmed(p, x, v, vn, 0);
	} else if (IS("content-location")) {
		if (x->location == NULL)
			x->location = mime_trimmed(p, x, v, vn, 0);
	} else if (IS("content-md5")) {
		if (x->md5 == NULL)
			x->md5 = mime_trimmed(p, x, v, vn, 0);
	}
#undef IS
}

int
mime_part_defaults(struct mime_parser *p, struct mime_part *x)
{
	const struct mime_part	*d = x->parent;
	int			 digest;

	if (x->type != NULL)
		return 0;
	/* RFC 2046 5.1.5: in a digest, a part is a message by default. */
	digest = d != NULL && strcmp(d->type, "multipart") == 0 &&
	    strcmp(d->subtype, "digest") == 0;
	mime_params_free(&x->params);
	if ((x->type = strdup(digest ? "message" : "text")) == NULL ||
	    (x->subtype = strdup(digest ? "rfc822" : "plain")) == NULL) {
		free(x->type);
		x->type = NULL;
		p->nomem = 1;
		return -1;
	}
	/* RFC 2045 5.2: a broken Content-Type loses its parameters too. */
	if (!digest)
		mime_param_add(p, x, &x->params, "charset", "us-ascii", 8);
	return 0;
}

int
mime_header_length(const char *d, size_t n, size_t *end)
{
	const char	*p, *e = d + n;

	if (n >= 1 && d[0] == '\n') {
		*end = 1;
		return 1;
	}
	if (n >= 2 && d[0] == '\r' && d[1] == '\n') {
		*end = 2;
		return 1;
	}
	for (p = d; (p = memchr(p, '\n', (size_t)(e - p))) != NULL; p++) {
		if (e - p > 1 && p[1] == '\n') {
			*end = (size_t)(p - d) + 2;
			return 1;
		}
		if (e - p > 2 && p[1] == '\r' && p[2] == '\n') {
			*end = (size_t)(p - d) + 3;
			return 1;
		}
	}
	return 0;
}

/* The end of the line at i: the index of its LF, or n. */
static size_t
mime_eol(const char *s, size_t n, size_t i)
{
	const char	*nl;

	nl = memchr(s + i, '\n', n - i);
	return nl != NULL ? (size_t)(nl - s) : n;
}

int
mime_header_next(const char *h, size_t n, size_t *pos, struct mime_field *f)
{
	size_t	i, e, k;

	while ((i = *pos) < n) {
		e = mime_eol(h, n, i);
		*pos = e < n ? e + 1 : n;
		if (h[i] == '\n' || (h[i] == '\r' && i + 1 < n &&
		    h[i + 1] == '\n')) {
			*pos = n;	/* the empty line: the header ends */
			return 0;
		}
		if (h[i] == ' ' || h[i] == '\t')
			continue;	/* a continuation of no field */
		for (k = i; k < e && h[k] > 32 && h[k] < 127 && h[k] != ':';
		    k++)
			;
		f->name_len = k - i;
		while (k < e && (h[k] == ' ' || h[k] == '\t'))
			k++;	/* RFC 5322 4.5.3: obsolete space */
		if (f->name_len == 0 || k >= e || h[k] != ':')
			continue;
		f->off = i;
		f->value_off = k + 1;
		while (*pos < n && (h[*pos] == ' ' || h[*pos] == '\t')) {
			e = mime_eol(h, n, *pos);
			*pos = e < n ? e + 1 : n;
		}
		f->len = *pos - i;
		return 1;
	}
	return 0;
}

int
mime_header_get(const char *h, size_t n, const char *name, size_t nth,
    struct buf *out)
{
	struct mime_field	 f;
	size_t			 pos = 0, i, end, nlen = strlen(name);
	size_t			 start;

	buf_reset(out);
	while (mime_header_next(h, n, &pos, &f) == 1) {
		if (f.name_len != nlen || strncasecmp(h + f.off, name,
		    nlen) != 0 || nth-- > 0)
			continue;
		end = f.off + f.len;
		for (i = f.value_off; i < end && (h[i] == ' ' ||
		    h[i] == '\t' || h[i] == '\r' || h[i] == '\n'); i++)
			;
		start = out->len;
		for (; i < end && out->len - start < MIME_FIELD_MAX; i++) {
			if (h[i] == '\r' || h[i] == '\n' || h[i] == '\0')
				continue;
			if (buf_append(out, h + i, 1) == -1)
				return -1;
		}
		while (out->len > 0 && (out->data[out->len - 1] == ' ' ||
		    out->data[out->len - 1] == '\t'))
			out->len--;
		return buf_cstr(out);
	}
	return -1;
}

ssize_t
mime_read_header(int fd, uint64_t size, char *buf, size_t first, size_t cap,
    size_t *hdr_len)
{
	size_t	want = first < cap ? first : cap, got;
	ssize_t	r;

	*hdr_len = 0;
	if (size != 0 && size < want)
		want = (size_t)size;
	if ((r = fs_pread_full(fd, buf, want, 0)) == -1)
		return -1;
	got = (size_t)r;
	/* Ended, or nothing more to read (the end of the file, or cap). */
	if (mime_header_length(buf, got, hdr_len) || got < want ||
	    want == cap || (size != 0 && got == size))
		return (ssize_t)got;
	want = size != 0 && size < cap ? (size_t)size : cap;
	if ((r = fs_pread_full(fd, buf + got, want - got, (off_t)got)) == -1)
		return -1;
	got += (size_t)r;
	(void)mime_header_length(buf, got, hdr_len);
	return (ssize_t)got;
}
