/*
 * mailhdr.c - header section splitting and address list extraction for
 * the sendmail injector (cli_core).
 *
 * Runs in sendmail, as the invoking user, with no privilege. The message
 * comes from any local program (a cron job, a web application relaying a
 * form), so it is not trusted: every length is checked before it is
 * copied, a NUL in the header is refused, and the address list parser is
 * a single pass over the text with no recursion, whatever the nesting.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mailhdr.h"

static void
seterr(char *err, size_t errlen, const char *what)
{
	if (errlen > 0)
		strlcpy(err, what, errlen);
}

/*
 * A field name is printable US-ASCII other than ':' (RFC 5322 3.6.8);
 * white space before the colon is the obsolete form and still accepted.
 * Returns the name length, or 0 when the line is not a header field.
 */
static size_t
field_name_len(const char *line, size_t len)
{
	size_t	i, n;

	for (i = 0; i < len && line[i] != ':'; i++)
		;
	if (i == len || i == 0)
		return 0;
	n = i;
	while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
		n--;
	if (n == 0 || n > MAILHDR_NAME_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)line[i] < 33 || (unsigned char)line[i] > 126)
			return 0;
	return n;
}

/* Unfolds: removing each LF keeps the white space that followed it. */
static char *
field_unfold(const char *p, size_t len)
{
	char	*v, *o;
	size_t	 i;

	while (len > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		len--;
	}
	if ((v = malloc(len + 1)) == NULL)
		return NULL;
	o = v;
	for (i = 0; i < len; i++)
		if (p[i] != '\n')
			*o++ = p[i];
	while (o > v && (o[-1] == ' ' || o[-1] == '\t' || o[-1] == '\r'))
		o--;
	*o = '\0';
	return v;
}

static int
field_add(struct mailhdr *h, const char *msg, size_t off, size_t len,
    size_t namelen)
{
	struct mailhdr_field	*nf, *f;
	const char		*colon;

	if (h->n >= MAILHDR_FIELDS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if ((nf = reallocarray(h->f, h->n + 1, sizeof(*nf))) == NULL)
		return -1;
	h->f = nf;
	f = &h->f[h->n];
	memset(f, 0, sizeof(*f));
	f->off = off;
	f->len = len;
	colon = memchr(msg + off, ':', len);
	f->name = strndup(msg + off, namelen);
	f->value = field_unfold(colon + 1,
	    len - (size_t)(colon + 1 - (msg + off)));
	if (f->name == NULL || f->value == NULL) {
		free(f->name);
		free(f->value);
		return -1;
	}
	h->n++;
	return 0;
}

int
mailhdr_parse(const char *msg, size_t len, struct mailhdr *h, char *err,
    size_t errlen)
{
	size_t		 p = 0, fstart = 0, fname = 0, l;
	const char	*nl;
	int		 infield = 0, cont;

	memset(h, 0, sizeof(*h));
	for (;;) {
		if (p >= len) {
			h->body_off = len;
			break;
		}
		nl = memchr(msg + p, '\n', len - p);
		l = nl ? (size_t)(nl - (msg + p)) + 1 : len - p;
		cont = msg[p] == ' ' || msg[p] == '\t';
		if (cont && !infield) {
			/* A folded line with nothing to fold onto: body. */
			h->body_off = p;
			return 0;
		}
		if (!cont) {
			if (infield && field_add(h, msg, fstart, p - fstart,
			    fname) == -1)
				goto nomem;
			infield = 0;
			if (msg[p] == '\n' ||
			    (msg[p] == '\r' && l == 2 && nl != NULL)) {
				h->has_blank = 1;
				h->body_off = p + l;
				return 0;
			}
			if ((fname = field_name_len(msg + p, l)) == 0) {
				/* Not a field: the body starts here. */
				h->body_off = p;
				return 0;
			}
			fstart = p;
			infield = 1;
		}
		/* Limits apply to header lines only, before any is kept. */
		if (p + l > MAILHDR_SECTION_MAX) {
			seterr(err, errlen, "message header is larger than "
			    "1 MiB");
			goto fail;
		}
		if (memchr(msg + p, '\0', l) != NULL) {
			seterr(err, errlen, "message header contains a NUL "
			    "byte");
			goto fail;
		}
		p += l;
	}
	if (infield && field_add(h, msg, fstart, p - fstart, fname) == -1)
		goto nomem;
	return 0;
nomem:
	seterr(err, errlen, errno == E2BIG ? "too many header fields" :
	    "out of memory");
fail:
	mailhdr_free(h);
	return -1;
}

void
mailhdr_free(struct mailhdr *h)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		free(h->f[i].name);
		free(h->f[i].value);
	}
	free(h->f);
	memset(h, 0, sizeof(*h));
}

struct mailhdr_field *
mailhdr_find(struct mailhdr *h, const char *name)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		if (!h->f[i].deleted && strcasecmp(h->f[i].name, name) == 0)
			return &h->f[i];
	return NULL;
}

size_t
mailhdr_delete(struct mailhdr *h, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < h->n; i++)
		if (!h->f[i].deleted && strcasecmp(h->f[i].name, name) == 0) {
			h->f[i].deleted = 1;
			n++;
		}
	return n;
}

int
mailhdr_write(const struct mailhdr *h, const char *msg, struct buf *out)
{
	const struct mailhdr_field	*f;
	size_t				 i;

	for (i = 0; i < h->n; i++) {
		f = &h->f[i];
		if (f->deleted)
			continue;
		if (buf_append(out, msg + f->off, f->len) == -1)
			return -1;
		/* The last field of a message with no body may lack its LF. */
		if (msg[f->off + f->len - 1] != '\n' &&
		    buf_append(out, "\n", 1) == -1)
			return -1;
	}
	return 0;
}

/* Address lists. */

int
mailhdr_addrs_add(struct mailhdr_addrs *a, const char *addr)
{
	char	**nv;
	size_t	  i;

	for (i = 0; i < a->n; i++)
		if (strcasecmp(a->v[i], addr) == 0)
			return 0;
	if (a->n >= MAILHDR_ADDRS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if ((nv = reallocarray(a->v, a->n + 1, sizeof(char *))) == NULL)
		return -1;
	a->v = nv;
	if ((a->v[a->n] = strdup(addr)) == NULL)
		return -1;
	a->n++;
	return 0;
}

void
mailhdr_addrs_free(struct mailhdr_addrs *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
	a->v = NULL;
	a->n = 0;
}

/* One list entry being collected: the bare text, or what was in <...>. */
struct mailhdr_item {
	char	plain[ADDR_MAX + 1];
	size_t	plen;
	char	angle[ADDR_MAX + 1];
	size_t	alen;
	int	has_angle;
	int	in_angle;
	int	space;		/* white space or a comment since the last byte */
	int	plain_over;	/* plain text too long: fine if it was a name */
};

static int
item_put(struct mailhdr_item *it, char c)
{
	if (it->in_angle) {
		if (it->alen >= ADDR_MAX)
			return -1;
		it->angle[it->alen++] = c;
		return 0;
	}
	/*
	 * White space may sit around the dots and the '@' of an addr-spec;
	 * anywhere else it separates words, which a bare address cannot
	 * have: keep one space so that the result fails addr_parse.
	 */
	if (it->space && it->plen > 0 && c != '.' && c != '@' &&
	    it->plain[it->plen - 1] != '.' && it->plain[it->plen - 1] != '@') {
		if (it->plen >= ADDR_MAX)
			it->plain_over = 1;
		else
			it->plain[it->plen++] = ' ';
	}
	it->space = 0;
	if (it->plen >= ADDR_MAX) {
		/*
		 * A long display name before <...> is fine; a long bare
		 * address is an error, known only at the end of the entry.
		 */
		it->plain_over = 1;
		return 0;
	}
	it->plain[it->plen++] = c;
	return 0;
}

/* 0, -1 (errno set by mailhdr_addrs_add), or -2: the address is too long. */
static int
item_flush(struct mailhdr_item *it, struct mailhdr_addrs *out)
{
	const char	*a = NULL;
	char		*colon;
	int		 rc = 0;

	if (!it->has_angle && it->plain_over)
		return -2;
	if (it->has_angle) {
		it->angle[it->alen] = '\0';
		a = it->angle;
		/* Drop an obsolete source route: <@relay,@relay:user@dom>. */
		if (a[0] == '@' && (colon = strchr(it->angle, ':')) != NULL)
			a = colon + 1;
	} else {
		it->plain[it->plen] = '\0';
		a = it->plain;
	}
	if (*a != '\0')
		rc = mailhdr_addrs_add(out, a);
	memset(it, 0, sizeof(*it));
	return rc;
}

/* Copies a quoted string or domain literal verbatim; returns its end. */
static const char *
copy_delimited(struct mailhdr_item *it, const char *p, char close, int *toolong)
{
	char	open = *p;

	if (item_put(it, open) == -1)
		goto toolong;
	for (p++; *p != '\0' && *p != close; p++) {
		if (*p == '\\' && p[1] != '\0') {
			if (item_put(it, *p++) == -1)
				goto toolong;
		}
		if (item_put(it, *p) == -1)
			goto toolong;
	}
	if (*p == '\0')
		return NULL;
	if (item_put(it, close) == -1)
		goto toolong;
	return p;
toolong:
	*toolong = 1;
	return NULL;
}

int
mailhdr_addrlist(const char *value, struct mailhdr_addrs *out, char *err,
    size_t errlen)
{
	struct mailhdr_item	 it;
	const char		*p, *q;
	int			 depth, rc, toolong = 0;

	memset(&it, 0, sizeof(it));
	for (p = value; *p != '\0'; p++) {
		switch (*p) {
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			it.space = 1;
			break;
		case '(':
			for (depth = 1, p++; *p != '\0' && depth > 0; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(' && ++depth > MAILHDR_NEST_MAX) {
					seterr(err, errlen, "comments nested "
					    "too deep");
					return -1;
				} else if (*p == ')')
					depth--;
			}
			if (depth > 0) {
				seterr(err, errlen, "unterminated comment");
				return -1;
			}
			p--;
			it.space = 1;
			break;
		case '"':
		case '[':
			q = copy_delimited(&it, p, *p == '"' ? '"' : ']',
			    &toolong);
			if (q == NULL) {
				if (toolong)
					goto toolong;
				seterr(err, errlen, *p == '"' ?
				    "unterminated quoted string" :
				    "unterminated domain literal");
				return -1;
			}
			p = q;
			break;
		case '<':
			if (it.in_angle) {
				seterr(err, errlen, "'<' inside an angle "
				    "address");
				return -1;
			}
			it.in_angle = it.has_angle = 1;
			it.alen = 0;
			break;
		case '>':
			if (!it.in_angle) {
				seterr(err, errlen, "'>' without '<'");
				return -1;
			}
			it.in_angle = 0;
			break;
		case ',':
			if (it.in_angle) {	/* inside a source route */
				if (item_put(&it, *p) == -1)
					goto toolong;
				break;
			}
			if ((rc = item_flush(&it, out)) != 0)
				goto flushfail;
			break;
		case ':':
			if (it.in_angle) {
				if (item_put(&it, *p) == -1)
					goto toolong;
				break;
			}
			/* Group start: what came before is its display name. */
			memset(&it, 0, sizeof(it));
			break;
		case ';':
			if (it.in_angle) {
				seterr(err, errlen, "';' inside an angle "
				    "address");
				return -1;
			}
			if ((rc = item_flush(&it, out)) != 0)
				goto flushfail;
			break;
		default:
			/* Words after <...> are noise; the angle address wins. */
			if (it.has_angle && !it.in_angle)
				break;
			if (item_put(&it, *p) == -1)
				goto toolong;
			break;
		}
	}
	if (it.in_angle) {
		seterr(err, errlen, "unterminated angle address");
		return -1;
	}
	if ((rc = item_flush(&it, out)) != 0)
		goto flushfail;
	return 0;
toolong:
	seterr(err, errlen, "address longer than 320 bytes");
	return -1;
flushfail:
	if (rc == -2)
		goto toolong;
	seterr(err, errlen, errno == E2BIG ? "too many addresses" :
	    "out of memory");
	return -1;
}
