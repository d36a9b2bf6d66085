/*
 * imap_search_text.c - the text side of SEARCH: one message read and
 * parsed (libcommon/mime) for the header and text keys of one match,
 * its header fields and text parts decoded to UTF-8 (RFC 2047 words,
 * quoted-printable, base64, the part's charset), case-folded and
 * searched for the key's substring; and the Date header read for
 * SENTBEFORE, SENTON and SENTSINCE.
 *
 * Runs in imapd's mail process, as the mail user, on a read-only fd the
 * caller opened; the message is anybody's bytes. It is read whole, up to
 * IMAP_SEARCH_MSG_MAX (checked against fstat before allocating), parsed
 * under mime.h's limits, and every decoded copy is at most a few times
 * its size; all of it is freed when the match ends.
 *
 * As Dovecot: comparison is a substring match after Unicode simple case
 * folding (Dovecot also decomposes, so "e" finds "é" there and not here);
 * BODY searches the decoded text of the text parts (type text, or no
 * Content-Type), not attachments; TEXT adds the header fields of the
 * message and of every part, each as "Name: decoded value".
 */
#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "imap_search_int.h"
#include "text.h"

/* Unicode simple case folding (CaseFolding.txt, status C and S) of the
 * scripts mail is mostly written in; others are left as they are. */
static uint32_t
fold_cp(uint32_t u)
{
	if (u < 0x80)
		return u >= 'A' && u <= 'Z' ? u + 32 : u;
	if (u < 0x100) {
		if (u == 0xB5)
			return 0x3BC;
		if (u >= 0xC0 && u <= 0xDE && u != 0xD7)
			return u + 32;
		return u;
	}
	if (u < 0x250) {
		if ((u <= 0x12F) || (u >= 0x132 && u <= 0x137) ||
		    (u >= 0x14A && u <= 0x177) || (u >= 0x1DE && u <= 0x1EF) ||
		    (u >= 0x1F8 && u <= 0x21F) || (u >= 0x222 && u <= 0x233))
			return (u & 1) == 0 ? u + 1 : u;
		if ((u >= 0x139 && u <= 0x148) || (u >= 0x179 && u <= 0x17E) ||
		    (u >= 0x1CD && u <= 0x1DC))
			return (u & 1) == 1 ? u + 1 : u;
		if (u == 0x178)
			return 0xFF;
		if (u == 0x17F)
			return 's';
		return u;
	}
	if (u >= 0x370 && u < 0x400) {
		if (u == 0x386)
			return 0x3AC;
		if (u >= 0x388 && u <= 0x38A)
			return u + 37;
		if (u == 0x38C)
			return 0x3CC;
		if (u == 0x38E || u == 0x38F)
			return u + 63;
		if (u >= 0x391 && u <= 0x3AB && u != 0x3A2)
			return u + 32;
		if (u == 0x3C2)
			return 0x3C3;
		if (u >= 0x3D8 && u <= 0x3EF)
			return (u & 1) == 0 ? u + 1 : u;
		return u;
	}
	if (u >= 0x400 && u < 0x530) {
		if (u <= 0x40F)
			return u + 80;
		if (u <= 0x42F)
			return u + 32;
		if ((u >= 0x460 && u <= 0x481) || (u >= 0x48A && u <= 0x4BF) ||
		    (u >= 0x4D0 && u <= 0x52F))
			return (u & 1) == 0 ? u + 1 : u;
		if (u == 0x4C0)
			return 0x4CF;
		if (u >= 0x4C1 && u <= 0x4CE)
			return (u & 1) == 1 ? u + 1 : u;
		return u;
	}
	if (u >= 0x531 && u <= 0x556)
		return u + 48;
	if (u >= 0x10A0 && u <= 0x10C5)
		return u + 0x1C60;
	if ((u >= 0x1E00 && u <= 0x1E95) || (u >= 0x1EA0 && u <= 0x1EFF))
		return (u & 1) == 0 ? u + 1 : u;
	if (u == 0x1E9E)
		return 0xDF;
	if (u >= 0x2160 && u <= 0x216F)
		return u + 16;
	if (u >= 0x24B6 && u <= 0x24CF)
		return u + 26;
	if (u >= 0xFF21 && u <= 0xFF3A)
		return u + 32;
	if (u >= 0x10400 && u <= 0x10427)
		return u + 40;
	return u;
}

/* The code point at s (n bytes left): its length, or 0 if no UTF-8. */
static size_t
utf8_get(const unsigned char *s, size_t n, uint32_t *u)
{
	size_t	k, i;
	uint32_t v;

	if (s[0] < 0x80) {
		*u = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		k = 2;
		v = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		k = 3;
		v = s[0] & 0x0F;
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		k = 4;
		v = s[0] & 0x07;
	} else
		return 0;
	if (k > n)
		return 0;
	for (i = 1; i < k; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	/* Overlong forms, surrogates, past U+10FFFF. */
	if ((k == 3 && v < 0x800) || (k == 4 && v < 0x10000) ||
	    (v >= 0xD800 && v <= 0xDFFF) || v > 0x10FFFF)
		return 0;
	*u = v;
	return k;
}

int
imap_search_fold(const char *in, size_t len, struct buf *out)
{
	const unsigned char	*s = (const unsigned char *)in;
	unsigned char		 c[4];
	size_t			 i, k, n;
	uint32_t		 u;

	for (i = 0; i < len; i += k) {
		/* ASCII runs, the common case, lower-cased in one step. */
		for (k = 0; i + k < len && s[i + k] < 0x80; k++)
			;
		if (k > 0) {
			char	*d;
			size_t	 j;

			if (buf_reserve(out, k) == -1)
				return -1;
			d = out->data + out->len;
			for (j = 0; j < k; j++)
				d[j] = (char)(s[i + j] >= 'A' && s[i + j] <= 'Z' ?
				    s[i + j] + 32 : s[i + j]);
			out->len += k;
			continue;
		}
		if ((k = utf8_get(s + i, len - i, &u)) == 0) {
			u = 0xFFFD;
			k = 1;
		}
		u = fold_cp(u);
		if (u < 0x80) {
			c[0] = (unsigned char)u;
			n = 1;
		} else if (u < 0x800) {
			c[0] = (unsigned char)(0xC0 | u >> 6);
			c[1] = (unsigned char)(0x80 | (u & 0x3F));
			n = 2;
		} else if (u < 0x10000) {
			c[0] = (unsigned char)(0xE0 | u >> 12);
			c[1] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
			c[2] = (unsigned char)(0x80 | (u & 0x3F));
			n = 3;
		} else {
			c[0] = (unsigned char)(0xF0 | u >> 18);
			c[1] = (unsigned char)(0x80 | (u >> 12 & 0x3F));
			c[2] = (unsigned char)(0x80 | (u >> 6 & 0x3F));
			c[3] = (unsigned char)(0x80 | (u & 0x3F));
			n = 4;
		}
		if (buf_append(out, c, n) == -1)
			return -1;
	}
	return 0;
}

void
imap_search_msg_init(struct imap_search_msg *m)
{
	memset(m, 0, sizeof(*m));
	buf_init(&m->tmp, 0);
	buf_init(&m->tmp2, 0);
	buf_init(&m->fold, 0);
}

void
imap_search_msg_free(struct imap_search_msg *m)
{
	if (m->parser != NULL)
		mime_parser_free(m->parser);
	free(m->data);
	buf_free(&m->tmp);
	buf_free(&m->tmp2);
	buf_free(&m->fold);
	memset(m, 0, sizeof(*m));
}

/* Up to max bytes of fd from its start into m->data; 0 or -1. */
static int
read_start(struct imap_search_msg *m, int fd, size_t max)
{
	ssize_t	r;

	free(m->data);
	m->len = 0;
	/* One byte more: never malloc(0). */
	if ((m->data = malloc(max + 1)) == NULL)
		return -1;
	while (m->len < max && (r = pread(fd, m->data + m->len,
	    max - m->len, (off_t)m->len)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		m->len += (size_t)r;
	}
	return 0;
}

int
imap_search_msg_load(struct imap_search_msg *m, struct imap_search_ctx *ctx,
    uint32_t uid, int whole)
{
	struct stat	st;
	size_t		size;
	int		fd;

	if (m->gone || m->failed)
		return -1;
	if (m->root != NULL || (m->data != NULL && !whole))
		return 0;
	if (!whole && ctx->header_get != NULL &&
	    ctx->header_get(ctx->arg, uid, &m->data, &m->len) == 1) {
		m->hdr_len = m->len;
		return 0;
	}
	if (ctx->open_msg == NULL ||
	    (fd = ctx->open_msg(ctx->arg, uid)) == -1) {
		if (ctx->open_msg != NULL && errno == ENOENT)
			m->gone = 1;
		else
			m->failed = 1;
		return -1;
	}
	if (fstat(fd, &st) == -1 || st.st_size < 0 ||
	    (uint64_t)st.st_size > IMAP_SEARCH_MSG_MAX) {
		close(fd);
		m->failed = 1;
		errno = EFBIG;
		return -1;
	}
	/* A file growing under us is read to the size it had. */
	size = (size_t)st.st_size;
	/*
	 * Header keys need the header only: the file's start, when the
	 * header ends there (or it is all of the file), not the whole
	 * message and its MIME parse (SEARCH FROM on a big folder).
	 */
	if (!whole) {
		ssize_t got;

		free(m->data);
		m->len = 0;
		/* One byte more: never malloc(0). */
		if ((m->data = malloc(IMAP_SEARCH_HEADER_READ + 1)) == NULL ||
		    (got = mime_read_header(fd, size, m->data,
		    IMAP_SEARCH_HEADER_FIRST, IMAP_SEARCH_HEADER_READ,
		    &m->hdr_len)) == -1) {
			close(fd);
			m->failed = 1;
			return -1;
		}
		m->len = (size_t)got;
		if (m->hdr_len != 0 || m->len == size) {
			if (m->hdr_len == 0)
				m->hdr_len = m->len;	/* all header */
			close(fd);
			if (ctx->header_put != NULL)
				ctx->header_put(ctx->arg, uid, m->data,
				    m->hdr_len);
			return 0;
		}
		/* A longer header: the whole message after all. */
	}
	if (read_start(m, fd, size) == -1) {
		close(fd);
		m->failed = 1;
		return -1;
	}
	close(fd);
	if ((m->parser = mime_parser_new(NULL)) == NULL ||
	    mime_feed(m->parser, m->data, m->len) == -1 ||
	    mime_end(m->parser) == -1) {
		m->failed = 1;
		return -1;
	}
	m->root = mime_root(m->parser);
	m->hdr_len = m->root->body_off - m->root->hdr_off;
	return 0;
}

/* A field's value (after the colon) unfolded and trimmed into out. */
static int
unfold(const char *v, size_t n, struct buf *out)
{
	size_t i;

	buf_reset(out);
	while (n > 0 && (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n')) {
		v++;
		n--;
	}
	while (n > 0 && (v[n - 1] == ' ' || v[n - 1] == '\t' ||
	    v[n - 1] == '\r' || v[n - 1] == '\n'))
		n--;
	/* Room for all of it; the bytes dropped are skipped in place. */
	if (buf_reserve(out, n) == -1)
		return -1;
	for (i = 0; i < n; i++)
		if (v[i] != '\r' && v[i] != '\n' && v[i] != '\0')
			out->data[out->len++] = v[i];
	return 0;
}

/* The field at f decoded to UTF-8 (RFC 2047) and folded into fold. */
static int
field_text(struct imap_search_msg *m, const char *hdr,
    const struct mime_field *f, int with_name)
{
	if (unfold(hdr + f->value_off, f->off + f->len - f->value_off,
	    &m->tmp) == -1)
		return -1;
	buf_reset(&m->tmp2);
	if (with_name && (buf_append(&m->tmp2, hdr + f->off,
	    f->name_len) == -1 || buf_puts(&m->tmp2, ": ") == -1))
		return -1;
	if (mime_decode_words(m->tmp.data != NULL ? m->tmp.data : "",
	    m->tmp.len, &m->tmp2) == -1)
		return -1;
	if (with_name && buf_puts(&m->tmp2, "\n") == -1)
		return -1;
	return imap_search_fold(m->tmp2.data != NULL ? m->tmp2.data : "",
	    m->tmp2.len, &m->fold);
}

static int
found(const struct buf *hay, const struct imap_snode *n)
{
	return memmem(hay->data != NULL ? hay->data : "", hay->len,
	    n->text, n->textlen) != NULL;
}

int
imap_search_msg_header(struct imap_search_msg *m, const struct imap_snode *n)
{
	const char		*hdr = m->data;
	size_t			 len = m->hdr_len;
	size_t			 pos = 0, nlen = strlen(n->str);
	struct mime_field	 f;

	while (mime_header_next(hdr, len, &pos, &f) == 1) {
		if (f.name_len != nlen || strncasecmp(hdr + f.off, n->str,
		    nlen) != 0)
			continue;
		buf_reset(&m->fold);
		if (field_text(m, hdr, &f, 0) == -1)
			return -1;
		if (found(&m->fold, n))
			return 1;
	}
	return 0;
}

/* Every field of a part's header, "Name: value\n" each, into fold. */
static int
header_text(struct imap_search_msg *m, const struct mime_part *p)
{
	const char		*hdr = m->data + p->hdr_off;
	size_t			 len = p->body_off - p->hdr_off, pos = 0;
	struct mime_field	 f;

	buf_reset(&m->fold);
	while (mime_header_next(hdr, len, &pos, &f) == 1)
		if (field_text(m, hdr, &f, 1) == -1)
			return -1;
	return 0;
}

/* The body s[0..n) without its transfer encoding, into out (reset). */
static int
undo_encoding(const char *enc, const char *s, size_t n, struct buf *out)
{
	unsigned char	 b;
	unsigned	 acc = 0;
	size_t		 i, bits = 0;
	int		 v, h, l;

	buf_reset(out);
	/* Decoding never grows: room for n bytes, written in place. */
	if (enc != NULL && (strcmp(enc, "base64") == 0 ||
	    strcmp(enc, "quoted-printable") == 0) &&
	    buf_reserve(out, n) == -1)
		return -1;
	if (enc != NULL && strcmp(enc, "base64") == 0) {
		for (i = 0; i < n; i++) {
			if (s[i] == '=')
				break;
			if ((v = text_base64_digit((unsigned char)s[i])) < 0)
				continue;	/* line ends, junk */
			acc = (acc << 6 | (unsigned)v) & 0xFFFFFF;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				b = (unsigned char)(acc >> bits);
				out->data[out->len++] = (char)b;
			}
		}
		return 0;
	}
	if (enc != NULL && strcmp(enc, "quoted-printable") == 0) {
		for (i = 0; i < n; i++) {
			b = (unsigned char)s[i];
			if (b == '=' && i + 1 < n && s[i + 1] == '\n') {
				i++;		/* soft line break */
				continue;
			}
			if (b == '=' && i + 2 < n && s[i + 1] == '\r' &&
			    s[i + 2] == '\n') {
				i += 2;
				continue;
			}
			if (b == '=' && i + 2 < n &&
			    (h = text_hex_digit((unsigned char)s[i + 1])) >= 0 &&
			    (l = text_hex_digit((unsigned char)s[i + 2])) >= 0) {
				b = (unsigned char)(h << 4 | l);
				i += 2;
			}
			out->data[out->len++] = (char)b;
		}
		return 0;
	}
	return buf_append(out, s, n);
}

/* The decoded text of a leaf text part, folded, into fold. */
static int
part_text(struct imap_search_msg *m, const struct mime_part *p)
{
	if (undo_encoding(p->encoding, m->data + p->body_off,
	    p->end_off - p->body_off, &m->tmp) == -1)
		return -1;
	buf_reset(&m->tmp2);
	if (mime_charset_decode(mime_param_get(&p->params, "charset"),
	    m->tmp.data != NULL ? m->tmp.data : "", m->tmp.len,
	    &m->tmp2) == -1)
		return -1;
	buf_reset(&m->fold);
	return imap_search_fold(m->tmp2.data != NULL ? m->tmp2.data : "",
	    m->tmp2.len, &m->fold);
}

/* Part p and those below it (depth bounded by MIME_DEPTH_MAX). */
static int
search_part(struct imap_search_msg *m, const struct mime_part *p,
    const struct imap_snode *n, int with_headers)
{
	const struct mime_part	*k;
	int			 r;

	if (with_headers) {
		if (header_text(m, p) == -1)
			return -1;
		if (found(&m->fold, n))
			return 1;
	}
	if (p->children != NULL) {
		for (k = p->children; k != NULL; k = k->next)
			if ((r = search_part(m, k, n, with_headers)) != 0)
				return r;
		return 0;
	}
	if (strcmp(p->type, "text") != 0)
		return 0;
	if (part_text(m, p) == -1)
		return -1;
	return found(&m->fold, n);
}

int
imap_search_msg_body(struct imap_search_msg *m, const struct imap_snode *n,
    int with_headers)
{
	if (n->textlen == 0)
		return 1;
	return search_part(m, m->root, n, with_headers);
}

int
imap_search_msg_date(struct imap_search_msg *m, time_t *t)
{
	const char	*hdr = m->data;
	size_t		 len = m->hdr_len;

	if (!m->date_done) {
		m->date_done = 1;
		if (mime_header_get(hdr, len, "Date", 0, &m->tmp) == 0 &&
		    imap_search_rfc5322_date(m->tmp.data, m->tmp.len,
		    &m->date) == 0)
			m->date_ok = 1;
	}
	*t = m->date;
	return m->date_ok;
}
