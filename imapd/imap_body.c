/*
 * imap_body.c - one message as IMAP shows it (see imap_body.h): the CRLF
 * form, its MIME tree (libcommon/mime), BODY/BODYSTRUCTURE and the bytes
 * of BODY[section]<partial>.
 *
 * Runs in imapd's mail process, as the mail user; the message is
 * anybody's bytes. The tree is bounded by mime.h's limits, the output by
 * the tree (one line of structure per part) and by the caller's buffer
 * ceiling. Where RFC 3501 leaves room, Dovecot's answers are the model
 * (imap-bodystructure.c, imap-msgpart.c): clients moving from it must see
 * the same structure and the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_body_int.h"

/* What Dovecot writes for a multipart without parts (RFC 3501 requires
 * at least one). */
#define IMAP_EMPTY_PART \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)"
#define IMAP_EMPTY_PART_EXT \
	"(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0" \
	" NIL NIL NIL NIL)"

size_t
imap_crlf_size(const void *data, size_t len)
{
	const char	*s = data, *p = s, *e = s + len;
	size_t		 n = len;

	while ((p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		if (p == s || p[-1] != '\r')
			n++;
		p++;
	}
	return n;
}

/* The CRLF form of s[0, len) into dst, imap_crlf_size(s, len) bytes. */
static size_t
crlf_copy(char *dst, const char *s, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r'))
			dst[o++] = '\r';
		/* RFC 3501 literals hold no NUL: 0x80 instead, as Dovecot
		 * serves it (the size stays). */
		dst[o++] = s[i] != '\0' ? s[i] : (char)0x80;
	}
	return o;
}

int
imap_envelope_of_prefix(const void *data, size_t len, struct buf *scratch,
    struct buf *out)
{
	size_t	raw, n;

	/* The header alone is copied into CRLF form, not the whole start. */
	if (!mime_header_length(data, len, &raw))
		return 0;
	n = imap_crlf_size(data, raw);
	buf_reset(scratch);
	if (buf_reserve(scratch, n) == -1)
		return -1;
	n = crlf_copy(scratch->data, data, raw);
	return imap_envelope_append(scratch->data, n, out) == -1 ? -1 : 1;
}

struct imap_msg *
imap_msg_new(const void *data, size_t len, size_t max)
{
	struct imap_msg	*m;
	size_t		 n;

	n = imap_crlf_size(data, len);
	if (n < len || (max != 0 && n > max)) {
		errno = EFBIG;
		return NULL;
	}
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	/* One byte more: never malloc(0). */
	if ((m->data = malloc(n + 1)) == NULL)
		goto fail;
	m->len = crlf_copy(m->data, data, len);
	if ((m->parser = mime_parser_new(NULL)) == NULL ||
	    mime_feed(m->parser, m->data, m->len) == -1 ||
	    mime_end(m->parser) == -1)
		goto fail;
	m->root = mime_root(m->parser);
	return m;
fail:
	imap_msg_free(m);
	errno = ENOMEM;
	return NULL;
}

void
imap_msg_free(struct imap_msg *m)
{
	if (m == NULL)
		return;
	if (m->parser != NULL)
		mime_parser_free(m->parser);
	free(m->data);
	free(m);
}

size_t
imap_msg_size(const struct imap_msg *m)
{
	return m->len;
}

const char *
imap_msg_data(const struct imap_msg *m)
{
	return m->data;
}

int
imap_msg_envelope(const struct imap_msg *m, struct buf *out)
{
	return imap_envelope_append(m->data, m->root->body_off, out);
}

static int
is_type(const struct mime_part *x, const char *type, const char *subtype)
{
	return strcmp(x->type, type) == 0 &&
	    (subtype == NULL || strcmp(x->subtype, subtype) == 0);
}

/* An encapsulated message the parser looked into (not base64 and the
 * like: then it is a leaf, as in Dovecot). */
static const struct mime_part *
encapsulated(const struct mime_part *x)
{
	if (is_type(x, "message", "rfc822") && x->children != NULL)
		return x->children;
	return NULL;
}

/*
 * Where a part's body ends as Dovecot counts it. mime.c gives the line end
 * before a delimiter to the delimiter (RFC 2046 5.1.1); Dovecot, for a
 * multipart inside a multipart, keeps its close delimiter's own line end
 * in it even when that is the line end before the next delimiter
 * ("--in--\r\n--out": BODY[1] ends "--in--\r\n"), so such a part ends
 * there.
 */
static size_t
part_end(const struct imap_msg *m, const struct mime_part *x)
{
	const struct mime_part	*up = x->parent;
	const char		*b, *line, *body = m->data + x->body_off;
	size_t			 blen, n = x->end_off - x->body_off;

	if (up == NULL || !is_type(x, "multipart", NULL) ||
	    !is_type(up, "multipart", NULL) || x->children == NULL ||
	    (x->flags & MIME_PART_NO_END) ||
	    (b = mime_param_get(&x->params, "boundary")) == NULL ||
	    x->end_off + 2 > up->end_off ||
	    m->data[x->end_off] != '\r' || m->data[x->end_off + 1] != '\n')
		return x->end_off;
	/* The body's last line: is it the close delimiter? */
	for (line = body + n; line > body && line[-1] != '\n'; line--)
		;
	blen = strlen(b);
	if ((size_t)(body + n - line) >= blen + 4 && line[0] == '-' &&
	    line[1] == '-' && memcmp(line + 2, b, blen) == 0 &&
	    line[2 + blen] == '-' && line[3 + blen] == '-')
		return x->end_off + 2;
	return x->end_off;
}

/* Lines as Dovecot counts them: the body's LFs. */
static size_t
body_lines(const struct imap_msg *m, const struct mime_part *x)
{
	const char	*p = m->data + x->body_off, *e = m->data + x->end_off;
	size_t		 n = 0;

	while (p < e && (p = memchr(p, '\n', (size_t)(e - p))) != NULL) {
		n++;
		p++;
	}
	return n;
}

/*
 * text: charset, when the part names none, is us-ascii (RFC 2045 5.2)
 * and Dovecot says so, after the parameters given.
 */
static int
params_append(struct buf *out, const struct mime_params *ps, int text)
{
	size_t	i;

	if (text && mime_param_get(ps, "charset") == NULL) {
		if (buf_puts(out, "(") == -1)
			return -1;
	} else if (ps->n == 0)
		return buf_puts(out, "NIL");
	else if (buf_puts(out, "(") == -1)
		return -1;
	for (i = 0; i < ps->n; i++) {
		if ((i > 0 && buf_puts(out, " ") == -1) ||
		    imap_append_nstring(out, ps->v[i].name) == -1 ||
		    buf_puts(out, " ") == -1 ||
		    imap_append_nstring(out, ps->v[i].value) == -1)
			return -1;
	}
	if (text && mime_param_get(ps, "charset") == NULL &&
	    buf_puts(out, i > 0 ? " \"charset\" \"us-ascii\"" :
	    "\"charset\" \"us-ascii\"") == -1)
		return -1;
	return buf_puts(out, ")");
}

/* Content-Language: a list of the tags (Dovecot writes a list always). */
static int
language_append(struct buf *out, const char *v)
{
	const char	*p = v, *e;
	int		 n = 0;

	if (v == NULL)
		return buf_puts(out, "NIL");
	if (buf_puts(out, "(") == -1)
		return -1;
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		for (e = p; *e != '\0' && *e != ',' && *e != ' ' && *e != '\t';
		    e++)
			;
		if ((n++ > 0 && buf_puts(out, " ") == -1) ||
		    imap_append_string(out, p, (size_t)(e - p)) == -1)
			return -1;
		p = e;
	}
	if (n == 0) {
		out->len--;
		return buf_puts(out, "NIL");
	}
	return buf_puts(out, ")");
}

/* body-ext-1part after md5, and body-ext-mpart after its parameters. */
static int
ext_append(struct buf *out, const struct mime_part *x)
{
	if (buf_puts(out, " ") == -1)
		return -1;
	if (x->disposition == NULL) {
		if (buf_puts(out, "NIL") == -1)
			return -1;
	} else if (buf_puts(out, "(") == -1 ||
	    imap_append_nstring(out, x->disposition) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    params_append(out, &x->disp_params, 0) == -1 ||
	    buf_puts(out, ")") == -1)
		return -1;
	if (buf_puts(out, " ") == -1 ||
	    language_append(out, x->language) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, x->location) == -1)
		return -1;
	return 0;
}

static int
structure_append(const struct imap_msg *m, const struct mime_part *x,
    int ext, struct buf *out)
{
	const struct mime_part	*c, *inner;

	if (buf_puts(out, "(") == -1)
		return -1;
	if (is_type(x, "multipart", NULL)) {
		if (x->children == NULL && buf_puts(out, ext ?
		    IMAP_EMPTY_PART_EXT : IMAP_EMPTY_PART) == -1)
			return -1;
		for (c = x->children; c != NULL; c = c->next)
			if (structure_append(m, c, ext, out) == -1)
				return -1;
		if (buf_puts(out, " ") == -1 ||
		    imap_append_nstring(out, x->subtype) == -1)
			return -1;
		if (ext && (buf_puts(out, " ") == -1 ||
		    params_append(out, &x->params, 0) == -1 ||
		    ext_append(out, x) == -1))
			return -1;
		return buf_puts(out, ")");
	}
	if (imap_append_nstring(out, x->type) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, x->subtype) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    params_append(out, &x->params, is_type(x, "text", NULL)) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, x->id) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, x->description) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, x->encoding != NULL ? x->encoding :
	    "7bit") == -1 ||
	    buf_printf(out, " %zu", x->end_off - x->body_off) == -1)
		return -1;
	if ((inner = encapsulated(x)) != NULL) {
		if (buf_puts(out, " ") == -1 ||
		    imap_envelope_append(m->data + inner->hdr_off,
		    inner->body_off - inner->hdr_off, out) == -1 ||
		    buf_puts(out, " ") == -1 ||
		    structure_append(m, inner, ext, out) == -1 ||
		    buf_printf(out, " %zu", body_lines(m, x)) == -1)
			return -1;
	} else if (is_type(x, "message", "rfc822")) {
		/*
		 * Encoded (base64...): no message we can see into, but RFC
		 * 3501's grammar wants an envelope and a body here, and
		 * clients parse by it. Dovecot's empty ones.
		 */
		if (buf_printf(out, " (NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)"
		    " %s %zu", ext ? IMAP_EMPTY_PART_EXT : IMAP_EMPTY_PART,
		    body_lines(m, x)) == -1)
			return -1;
	} else if (is_type(x, "text", NULL) &&
	    buf_printf(out, " %zu", body_lines(m, x)) == -1)
		return -1;
	/* Content-MD5 as written (nobody checks it; Dovecot sends it). */
	if (ext && (buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, x->md5) == -1 ||
	    ext_append(out, x) == -1))
		return -1;
	return buf_puts(out, ")");
}

int
imap_msg_bodystructure(const struct imap_msg *m, int extended,
    struct buf *out)
{
	return structure_append(m, m->root, extended, out);
}

/*
 * The part a section's numbers name, or NULL: Dovecot's imap_msgpart_find.
 * A multipart's n is its nth part; anything else has only part 1, itself,
 * and nothing below it unless it is an encapsulated message, whose
 * numbers go on inside the message it holds.
 */
static const struct mime_part *
section_part(const struct imap_msg *m, const struct imap_section *s)
{
	const struct mime_part	*x = m->root, *inner;
	size_t			 i;
	uint32_t		 n;

	for (i = 0; i < s->nparts && x != NULL; i++) {
		n = s->part[i];
		if (is_type(x, "multipart", NULL)) {
			for (x = x->children; x != NULL && n > 1; n--)
				x = x->next;
			if (n == 0)
				x = NULL;
		} else if (n != 1 || (i + 1 < s->nparts &&
		    !is_type(x, "message", "rfc822")))
			x = NULL;
		if (x != NULL && i + 1 < s->nparts &&
		    is_type(x, "message", "rfc822")) {
			inner = encapsulated(x);
			x = inner;
		}
	}
	return x;
}

static int
field_listed(const struct imap_section *s, const char *name, size_t len)
{
	size_t	i;

	for (i = 0; i < s->nfields; i++)
		if (s->field_len[i] == len &&
		    strncasecmp(s->field[i], name, len) == 0)
			return 1;
	return 0;
}

/* HEADER.FIELDS(.NOT): the fields kept, raw, then the empty line. */
static int
header_fields(const char *hdr, size_t len, int has_end,
    const struct imap_section *s, struct buf *out)
{
	struct mime_field	f;
	size_t			pos = 0;
	int			want = s->text == IMAP_SEC_HEADER_FIELDS;

	buf_reset(out);
	while (mime_header_next(hdr, len, &pos, &f) == 1) {
		if (field_listed(s, hdr + f.off, f.name_len) != want)
			continue;
		if (buf_append(out, hdr + f.off, f.len) == -1)
			return -1;
		/* A field cut by the header's end still ends its line. */
		if (f.len < 2 || hdr[f.off + f.len - 1] != '\n')
			if (buf_append(out, "\r\n", 2) == -1)
				return -1;
	}
	/* The empty line: HEADER.FIELDS always ends with one, .NOT only
	 * if the header had one (Dovecot's filter passes it through). */
	if (want || has_end)
		return buf_append(out, "\r\n", 2);
	return 0;
}

int
imap_section_bytes(const struct imap_msg *m, const struct imap_section *s,
    struct buf *scratch, const char **p, size_t *n)
{
	const struct mime_part	*x, *msg;
	size_t			 from, to;

	*p = m->data;
	*n = 0;
	if (s->nparts == 0)
		msg = m->root;
	else {
		if ((x = section_part(m, s)) == NULL)
			return 0;
		switch (s->text) {
		case IMAP_SEC_ALL:
			*p = m->data + x->body_off;
			*n = part_end(m, x) - x->body_off;
			return 0;
		case IMAP_SEC_MIME:
			*p = m->data + x->hdr_off;
			*n = x->body_off - x->hdr_off;
			return 0;
		default:
			/* HEADER and TEXT of an encapsulated message only. */
			if ((msg = encapsulated(x)) == NULL)
				return 0;
			break;
		}
	}
	switch (s->text) {
	case IMAP_SEC_ALL:
		from = msg->hdr_off;
		to = msg->end_off;
		break;
	case IMAP_SEC_HEADER:
	case IMAP_SEC_MIME:	/* the parser refuses MIME without a part */
		from = msg->hdr_off;
		to = msg->body_off;
		break;
	case IMAP_SEC_TEXT:
		from = msg->body_off;
		to = msg->end_off;
		break;
	case IMAP_SEC_HEADER_FIELDS:
	case IMAP_SEC_HEADER_FIELDS_NOT:
		if (header_fields(m->data + msg->hdr_off,
		    msg->body_off - msg->hdr_off,
		    !(msg->flags & MIME_PART_NO_HDR_END), s, scratch) == -1)
			return -1;
		*p = scratch->data;
		*n = scratch->len;
		return 0;
	default:
		return 0;
	}
	*p = m->data + from;
	*n = to - from;
	return 0;
}

static const char *
section_text_name(enum imap_section_text t)
{
	switch (t) {
	case IMAP_SEC_HEADER:
		return "HEADER";
	case IMAP_SEC_HEADER_FIELDS:
		return "HEADER.FIELDS";
	case IMAP_SEC_HEADER_FIELDS_NOT:
		return "HEADER.FIELDS.NOT";
	case IMAP_SEC_TEXT:
		return "TEXT";
	case IMAP_SEC_MIME:
		return "MIME";
	default:
		return NULL;
	}
}

static int
section_name(const struct imap_section *s, struct buf *out)
{
	const char	*t;
	size_t		 i, j;

	if (buf_puts(out, "BODY[") == -1)
		return -1;
	for (i = 0; i < s->nparts; i++)
		if (buf_printf(out, "%s%u", i > 0 ? "." : "",
		    (unsigned)s->part[i]) == -1)
			return -1;
	if ((t = section_text_name(s->text)) != NULL &&
	    buf_printf(out, "%s%s", s->nparts > 0 ? "." : "", t) == -1)
		return -1;
	if (s->text == IMAP_SEC_HEADER_FIELDS ||
	    s->text == IMAP_SEC_HEADER_FIELDS_NOT) {
		if (buf_puts(out, " (") == -1)
			return -1;
		for (i = 0; i < s->nfields; i++) {
			if (i > 0 && buf_puts(out, " ") == -1)
				return -1;
			/* Field names are atoms or strings as the client
			 * sent them; echoed as atoms when they are. */
			for (j = 0; j < s->field_len[i]; j++) {
				unsigned char c = (unsigned char)s->field[i][j];

				if (c <= ' ' || c >= 0x7f ||
				    strchr("(){%*\"\\]", c) != NULL)
					break;
			}
			if (j < s->field_len[i]) {
				if (imap_append_string(out, s->field[i],
				    s->field_len[i]) == -1)
					return -1;
				continue;
			}
			for (j = 0; j < s->field_len[i]; j++) {
				char c = s->field[i][j];

				if (c >= 'a' && c <= 'z')
					c = (char)(c - 'a' + 'A');
				if (buf_append(out, &c, 1) == -1)
					return -1;
			}
		}
		if (buf_puts(out, ")") == -1)
			return -1;
	}
	return buf_puts(out, "]");
}

int
imap_msg_fetch_section(const struct imap_msg *m,
    const struct imap_section *s, struct buf *out)
{
	struct buf	 scratch;
	const char	*p;
	size_t		 n;
	int		 rc = -1;

	buf_init(&scratch, 0);
	if (imap_section_bytes(m, s, &scratch, &p, &n) == -1 ||
	    section_name(s, out) == -1)
		goto out;
	if (s->partial) {
		if (buf_printf(out, "<%u>", (unsigned)s->origin) == -1)
			goto out;
		if (s->origin >= n)
			n = 0;
		else {
			p += s->origin;
			n -= s->origin;
			if (n > s->count)
				n = s->count;
		}
	}
	if (buf_printf(out, " {%zu}\r\n", n) == -1 ||
	    buf_append(out, p, n) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&scratch);
	return rc;
}
