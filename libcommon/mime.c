/*
 * mime.c - the streaming MIME parser (see mime.h): splits the bytes fed
 * into lines, finds the boundaries of multiparts and the ends of headers,
 * and builds the tree of parts with their offsets and line counts. What a
 * Content-* field says is read in mime_field.c.
 *
 * Runs in whichever process reads messages (imapd's mail process, as the
 * mail user); the message is anybody's bytes, trusted for nothing. Why
 * streaming: a message can be far bigger than what a process should hold,
 * and the mail process reads it once from disk while it fetches or
 * indexes it; so the parser keeps only the current line's first bytes
 * (the whole of it only in a header, up to limits.field), the Content-*
 * field being read and the tree, each bounded by a limit in mime.h.
 *
 * Lines end at LF; a CR just before the LF belongs to the line end, so a
 * message with bare LF line ends gets the same tree, and offsets always
 * count the bytes as they were fed. A line that starts with "--" is
 * compared with the boundary of every open multipart, innermost first
 * (an outer delimiter also ends the parts inside, RFC 2046 5.1.2); it
 * matches when the boundary is followed by "--" (the close) or not, then
 * only by spaces and tabs (transport padding).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"

/* Kept of a body line: "--", a boundary, "--" and some padding. */
#define MIME_BODY_KEEP		(2 + MIME_BOUNDARY_MAX + 2 + 6)

struct mime_parser *
mime_parser_new(const struct mime_limits *lim)
{
	struct mime_parser	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	if (lim != NULL)
		p->lim = *lim;
	else {
		p->lim.depth = MIME_DEPTH_MAX;
		p->lim.parts = MIME_PARTS_MAX;
		p->lim.field = MIME_FIELD_MAX;
		p->lim.header = MIME_HEADER_MAX;
		p->lim.mem = MIME_MEM_MAX;
	}
	/* A header line shorter than a boundary line would lose matches. */
	if (p->lim.field < MIME_BODY_KEEP)
		p->lim.field = MIME_BODY_KEEP;
	if (p->lim.parts == 0)
		p->lim.parts = 1;
	p->line_cap = p->lim.field;
	if ((p->line = malloc(p->line_cap)) == NULL ||
	    (p->root = calloc(1, sizeof(*p->root))) == NULL) {
		free(p->line);
		free(p);
		return NULL;
	}
	buf_init(&p->field, 0);
	p->nparts = 1;
	p->cur = p->root;
	p->root->state = MIME_ST_HEADER;
	p->line_keep = p->lim.field;
	p->line_last = -1;
	p->line_tail_ws = 1;
	return p;
}

static void
mime_part_free(struct mime_part *x)
{
	struct mime_part	*c, *n;

	/* Iterative over siblings, recursive over depth (bounded). */
	for (c = x->children; c != NULL; c = n) {
		n = c->next;
		mime_part_free(c);
	}
	mime_part_strings_free(x);
	free(x);
}

void
mime_parser_free(struct mime_parser *p)
{
	if (p == NULL)
		return;
	if (p->root != NULL)
		mime_part_free(p->root);
	buf_free(&p->field);
	free(p->line);
	free(p);
}

struct mime_part *
mime_root(struct mime_parser *p)
{
	return p->root;
}

size_t
mime_nparts(const struct mime_parser *p)
{
	return p->nparts;
}

unsigned
mime_hits(const struct mime_parser *p)
{
	return p->hits;
}

/* A new last child of x whose header starts at off; NULL at a limit. */
static struct mime_part *
mime_child(struct mime_parser *p, struct mime_part *x, size_t off)
{
	struct mime_part	*c;

	if (x->depth >= p->lim.depth) {
		p->hits |= MIME_HIT_DEPTH;
		x->flags |= MIME_PART_DEPTH;
		return NULL;
	}
	if (p->nparts >= p->lim.parts) {
		p->hits |= MIME_HIT_PARTS;
		return NULL;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		p->nomem = 1;
		return NULL;
	}
	p->nparts++;
	p->hdr_bytes = 0;
	c->parent = x;
	c->depth = x->depth + 1;
	c->hdr_off = off;
	c->state = MIME_ST_HEADER;
	if (x->last_child != NULL)
		x->last_child->next = c;
	else
		x->children = c;
	x->last_child = c;
	x->nchildren++;
	return c;
}

/* The Content-* field being read is complete: apply it to x. */
static void
mime_field_done(struct mime_parser *p, struct mime_part *x)
{
	if (p->field_on && p->field.len > 0)
		mime_field_apply(p, x, p->field.data, p->field.len);
	p->field_on = 0;
	buf_reset(&p->field);
}

static int
mime_is_container_enc(const struct mime_part *x)
{
	/* A message/rfc822 body in base64 is no message we can see into. */
	return x->encoding == NULL || strcmp(x->encoding, "7bit") == 0 ||
	    strcmp(x->encoding, "8bit") == 0 ||
	    strcmp(x->encoding, "binary") == 0;
}

/* x's header ended with the empty line before body; its body starts. */
static void
mime_header_end(struct mime_parser *p, struct mime_part *x, size_t body)
{
	const char	*b;
	size_t		 blen;

	mime_field_done(p, x);
	x->body_off = body;
	x->eol_base = p->eols + 1;	/* the empty line's end is header */
	x->state = MIME_ST_BODY;
	if (mime_part_defaults(p, x) == -1)
		return;
	if (strcmp(x->type, "multipart") == 0) {
		b = mime_param_get(&x->params, "boundary");
		blen = b != NULL ? strlen(b) : 0;
		if (blen == 0 || blen > MIME_BOUNDARY_MAX)
			return;
		if (x->depth >= p->lim.depth) {
			p->hits |= MIME_HIT_DEPTH;
			x->flags |= MIME_PART_DEPTH;
			return;
		}
		/* Not charged to mem: a boundary is at most 70 bytes. */
		if ((x->boundary = strdup(b)) == NULL)
			p->nomem = 1;
	} else if (strcmp(x->type, "message") == 0 &&
	    strcmp(x->subtype, "rfc822") == 0 && mime_is_container_enc(x)) {
		struct mime_part *c;

		if ((c = mime_child(p, x, body)) != NULL)
			p->cur = c;
	}
}

/*
 * Ends x, whose bytes stop where the line at line_start begins, less the
 * line end before it (that belongs to a delimiter, or x is the message
 * and the line end is its last byte: then prev_eol is passed as 0).
 */
static void
mime_part_end(struct mime_parser *p, struct mime_part *x, size_t at,
    size_t prev_eol, size_t prev_len)
{
	size_t	end, n;

	end = at - prev_eol;
	/* An empty last child starts past that line end (its delimiter's):
	 * a part never ends before its children. Parts end innermost first. */
	if (x->last_child != NULL && x->last_child->end_off > end)
		end = x->last_child->end_off;
	if (x->state == MIME_ST_HEADER) {
		mime_field_done(p, x);
		if (end < x->hdr_off)
			end = x->hdr_off;
		x->body_off = x->end_off = end;
		x->lines = 0;
		x->flags |= MIME_PART_NO_HDR_END;
		(void)mime_part_defaults(p, x);
		return;
	}
	if (end < x->body_off)
		end = x->body_off;
	x->end_off = end;
	n = p->eols - x->eol_base;
	if (prev_eol == 0)	/* the end of the input, not a delimiter */
		x->lines = n + (prev_len > 0 ? 1 : 0);
	else
		x->lines = n == 0 ? 0 : n - 1 + (prev_len > 0 ? 1 : 0);
	if (x->boundary != NULL && x->state == MIME_ST_BODY)
		x->flags |= MIME_PART_NO_END;
}

/*
 * The line at line_start starts with "--", and its first clen bytes are
 * kept (without CR): 1 and *close if it is a delimiter of multipart q.
 */
static int
mime_boundary_match(const struct mime_parser *p, const struct mime_part *q,
    size_t clen, int *close)
{
	const char	*l = p->line;
	size_t		 blen, i;

	blen = strlen(q->boundary);
	if (clen < 2 + blen || memcmp(l + 2, q->boundary, blen) != 0)
		return 0;
	i = 2 + blen;
	*close = 0;
	if (clen - i >= 2 && l[i] == '-' && l[i + 1] == '-') {
		*close = 1;
		i += 2;
	}
	for (; i < clen; i++)
		if (l[i] != ' ' && l[i] != '\t')
			return 0;
	return p->line_tail_ws;
}

/* A header line of x: content [l, l + len), the whole clen, eol bytes. */
static void
mime_header_line(struct mime_parser *p, struct mime_part *x, size_t len,
    size_t clen, size_t eol)
{
	const char	*l = p->line;
	size_t		 i;

	if (clen == 0) {
		mime_header_end(p, x, p->line_start + eol);
		return;
	}
	if (x->flags & MIME_PART_HDR_TRUNC)
		return;
	p->hdr_bytes += clen + eol;
	if (p->hdr_bytes > p->lim.header) {
		/* Past the limit, fields are not read; the empty line is. */
		mime_field_done(p, x);
		x->flags |= MIME_PART_HDR_TRUNC;
		p->hits |= MIME_HIT_HEADER;
		return;
	}
	if (len < clen)
		x->flags |= MIME_PART_STR_TRUNC;
	if (l[0] == ' ' || l[0] == '\t') {
		if (!p->field_on)
			return;
		for (i = 0; i < len; i++) {
			/* Unfolding drops the line end only (RFC 5322 2.2.3). */
			if (l[i] == '\0')
				continue;
			if (p->field.len >= p->lim.field) {
				x->flags |= MIME_PART_STR_TRUNC;
				break;
			}
			if (buf_append(&p->field, l + i, 1) == -1) {
				p->nomem = 1;
				break;
			}
		}
		return;
	}
	mime_field_done(p, x);
	if (len < 8 || strncasecmp(l, "content-", 8) != 0 ||
	    memchr(l, ':', len) == NULL)
		return;
	p->field_on = 1;
	for (i = 0; i < len; i++) {
		if (l[i] == '\0')
			continue;
		if (buf_append(&p->field, l + i, 1) == -1) {
			p->nomem = 1;
			p->field_on = 0;
			break;
		}
	}
}

/* One whole line (without its eol bytes of line end) was read. */
static void
mime_line(struct mime_parser *p, size_t eol)
{
	struct mime_part	*q, *x;
	size_t			 len, clen, next;
	int			 close;

	clen = p->line_total - (eol == 2 ? 1 : 0);
	len = p->line_len < clen ? p->line_len : clen;
	next = p->line_start + p->line_total + (eol > 0 ? 1 : 0);
	if (clen >= 2 && len >= 2 && p->line[0] == '-' && p->line[1] == '-') {
		for (q = p->cur; q != NULL; q = q->parent) {
			if (q->boundary == NULL || q->state != MIME_ST_BODY ||
			    !mime_boundary_match(p, q, len, &close))
				continue;
			for (x = p->cur; x != q; x = x->parent)
				mime_part_end(p, x, p->line_start,
				    p->prev_eol, p->prev_len);
			p->cur = q;
			if (close)
				q->state = MIME_ST_EPILOGUE;
			else if ((x = mime_child(p, q, next)) != NULL)
				p->cur = x;
			goto done;
		}
	}
	if (p->cur->state == MIME_ST_HEADER)
		mime_header_line(p, p->cur, len, clen, eol);
done:
	if (eol > 0)
		p->eols++;
	p->prev_eol = eol;
	p->prev_len = clen;
}

/* The next line starts at p->off: how much of it to keep. */
static void
mime_line_start(struct mime_parser *p)
{
	p->line_start = p->off;
	p->line_len = 0;
	p->line_total = 0;
	p->line_tail_ws = 1;
	p->line_last = -1;
	p->line_keep = p->cur->state == MIME_ST_HEADER ? p->lim.field :
	    MIME_BODY_KEEP;
}

/* Bytes of the current line, none of them LF. */
static void
mime_line_add(struct mime_parser *p, const char *s, size_t n)
{
	size_t	k, i;

	if (n == 0)
		return;
	if (p->line_len < p->line_keep) {
		k = p->line_keep - p->line_len;
		if (k > n)
			k = n;
		memcpy(p->line + p->line_len, s, k);
		p->line_len += k;
	} else
		k = 0;
	for (i = k; i < n && p->line_tail_ws; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
			p->line_tail_ws = 0;
	p->line_total += n;
	p->line_last = (unsigned char)s[n - 1];
}

int
mime_feed(struct mime_parser *p, const void *data, size_t len)
{
	const char	*s = data, *nl;
	size_t		 n;

	if (p->nomem || p->ended)
		return -1;
	while (len > 0) {
		if (p->line_total == 0)
			mime_line_start(p);
		nl = memchr(s, '\n', len);
		n = nl != NULL ? (size_t)(nl - s) : len;
		mime_line_add(p, s, n);
		p->off += n;
		s += n;
		len -= n;
		if (nl == NULL)
			break;
		p->off++;
		s++;
		len--;
		mime_line(p, p->line_last == '\r' ? 2 : 1);
		p->line_total = 0;
		if (p->nomem)
			return -1;
	}
	return 0;
}

int
mime_end(struct mime_parser *p)
{
	struct mime_part	*x;

	if (p->ended)
		return p->nomem ? -1 : 0;
	if (p->line_total > 0 && !p->nomem) {
		/* A last line without line end: its CR is content. */
		p->line_last = -1;
		mime_line(p, 0);
		p->line_total = 0;
	}
	for (x = p->cur; x != NULL; x = x->parent)
		mime_part_end(p, x, p->off, 0, p->prev_eol > 0 ? 0 :
		    p->prev_len);
	p->ended = 1;
	return p->nomem ? -1 : 0;
}
