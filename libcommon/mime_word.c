/*
 * mime_word.c - header text to UTF-8 for SEARCH and display: RFC 2047
 * encoded words (B and Q) and RFC 2231 extended parameter values, in the
 * charsets mail mostly uses (UTF-8, US-ASCII, ISO-8859-1, ISO-8859-15,
 * Windows-1252), converted by tables here rather than iconv so that the
 * result does not depend on the locale or on what iconv modules exist.
 *
 * Same process and trust as mime.c: the text is anybody's. A word that
 * is malformed or in another charset stays as it was written; whatever
 * comes out is well-formed UTF-8 (a bad byte becomes U+FFFD) and bounded
 * by MIME_DECODE_MAX.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mime_int.h"
#include "text.h"
#include "utf8.h"

enum mime_cs {
	MIME_CS_NONE,
	MIME_CS_UTF8,
	MIME_CS_ASCII,
	MIME_CS_LATIN1,
	MIME_CS_LATIN9,
	MIME_CS_CP1252
};

/* Windows-1252 0x80..0x9F; 0: unassigned. */
static const uint16_t mime_cp1252[32] = {
	0x20AC, 0, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021,
	0x02C6, 0x2030, 0x0160, 0x2039, 0x0152, 0, 0x017D, 0,
	0, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
	0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0, 0x017E, 0x0178
};

/* The charset named by the n bytes at s ("*language" stripped). */
static enum mime_cs
mime_charset(const char *s, size_t n)
{
	static const struct {
		const char	*name;
		enum mime_cs	 cs;
	} names[] = {
		{ "utf-8", MIME_CS_UTF8 }, { "utf8", MIME_CS_UTF8 },
		{ "us-ascii", MIME_CS_ASCII }, { "ascii", MIME_CS_ASCII },
		{ "iso-8859-1", MIME_CS_LATIN1 },
		{ "iso8859-1", MIME_CS_LATIN1 },
		{ "latin1", MIME_CS_LATIN1 },
		{ "iso-8859-15", MIME_CS_LATIN9 },
		{ "iso8859-15", MIME_CS_LATIN9 },
		{ "windows-1252", MIME_CS_CP1252 },
		{ "cp1252", MIME_CS_CP1252 },
	};
	const char	*star;
	size_t		 i;

	if ((star = memchr(s, '*', n)) != NULL)
		n = (size_t)(star - s);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i].name) == n &&
		    strncasecmp(names[i].name, s, n) == 0)
			return names[i].cs;
	return MIME_CS_NONE;
}

/* Appends code point u as UTF-8, within MIME_DECODE_MAX from base. */
static int
mime_put_cp(struct buf *out, size_t base, uint32_t u)
{
	char	c[4];
	size_t	n;

	if (u == 0)
		u = 0xFFFD;	/* a NUL would cut the C strings of callers */
	if (u < 0x80) {
		c[0] = (char)u;
		n = 1;
	} else if (u < 0x800) {
		c[0] = (char)(0xC0 | (u >> 6));
		c[1] = (char)(0x80 | (u & 0x3F));
		n = 2;
	} else {
		c[0] = (char)(0xE0 | (u >> 12));
		c[1] = (char)(0x80 | ((u >> 6) & 0x3F));
		c[2] = (char)(0x80 | (u & 0x3F));
		n = 3;
	}
	if (out->len - base + n > MIME_DECODE_MAX)
		return 0;	/* full: the rest is silently cut */
	return buf_append(out, c, n);
}

/* The length of the UTF-8 sequence a lead byte announces, or 0. */
static size_t
mime_u8len(unsigned char c)
{
	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		return 2;
	if (c >= 0xE0 && c <= 0xEF)
		return 3;
	if (c >= 0xF0 && c <= 0xF4)
		return 4;
	return 0;
}

/* n bytes in charset cs appended as UTF-8. */
static int
mime_convert(enum mime_cs cs, const unsigned char *s, size_t n,
    struct buf *out, size_t base)
{
	size_t		 i, k;
	unsigned char	 c;
	uint32_t	 u;

	for (i = 0; i < n; i += k) {
		/* ASCII runs (not NUL), the same in every charset, at once. */
		for (k = 0; i + k < n && s[i + k] != 0 && s[i + k] < 0x80; k++)
			;
		if (k > 0) {
			if (out->len - base + k > MIME_DECODE_MAX)
				k = MIME_DECODE_MAX - (out->len - base);
			if (k == 0)
				return 0;	/* full: the rest is cut */
			if (buf_append(out, s + i, k) == -1)
				return -1;
			continue;
		}
		c = s[i];
		k = 1;
		if (c == 0 || (c < 0x80 && cs != MIME_CS_UTF8)) {
			u = c;
		} else if (cs == MIME_CS_UTF8) {
			k = mime_u8len(c);
			if (k > 1 && k <= n - i && utf8_valid(s + i, k)) {
				if (out->len - base + k > MIME_DECODE_MAX)
					return 0;
				if (buf_append(out, s + i, k) == -1)
					return -1;
				continue;
			}
			if (k != 1)
				u = 0xFFFD;
			else
				u = c;
			k = 1;
		} else if (cs == MIME_CS_ASCII)
			u = 0xFFFD;
		else if (cs == MIME_CS_CP1252 && c < 0xA0)
			u = mime_cp1252[c - 0x80] ? mime_cp1252[c - 0x80] :
			    0xFFFD;
		else if (cs == MIME_CS_LATIN9) {
			switch (c) {
			case 0xA4: u = 0x20AC; break;
			case 0xA6: u = 0x0160; break;
			case 0xA8: u = 0x0161; break;
			case 0xB4: u = 0x017D; break;
			case 0xB8: u = 0x017E; break;
			case 0xBC: u = 0x0152; break;
			case 0xBD: u = 0x0153; break;
			case 0xBE: u = 0x0178; break;
			default: u = c; break;
			}
		} else
			u = c;
		if (mime_put_cp(out, base, u) == -1)
			return -1;
	}
	return 0;
}

/*
 * The encoded text [s, s + n) decoded (B or Q) into d, which has room for
 * n bytes (decoding never grows). Its length, or -1 if malformed.
 */
static long
mime_word_text(int enc, const char *s, size_t n, unsigned char *d)
{
	size_t		 i, k = 0;
	uint32_t	 acc = 0;
	int		 bits = 0, v, h, l;

	for (i = 0; i < n; i++) {
		if (enc == 'Q') {
			if (s[i] == '_')
				d[k++] = ' ';
			else if (s[i] == '=') {
				if (i + 2 >= n)
					return -1;
				if ((h = text_hex_digit(s[i + 1])) < 0 ||
				    (l = text_hex_digit(s[i + 2])) < 0)
					return -1;
				d[k++] = (unsigned char)(h << 4 | l);
				i += 2;
			} else
				d[k++] = (unsigned char)s[i];
			continue;
		}
		if (s[i] == '=')
			break;	/* padding: the rest is ignored */
		if ((v = text_base64_digit((unsigned char)s[i])) < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			d[k++] = (unsigned char)((acc >> bits) & 0xFF);
		}
	}
	return (long)k;
}

/*
 * An encoded word "=?cs?e?text?=" at s (n bytes available): its length,
 * with its charset, encoding and text, or 0 if there is none there.
 */
static size_t
mime_word_at(const char *s, size_t n, const char **cs, size_t *csl,
    int *enc, const char **t, size_t *tl)
{
	size_t	i, q;

	if (n < 8 || s[0] != '=' || s[1] != '?')
		return 0;
	for (i = 2; i < n && s[i] != '?'; i++)
		if (s[i] <= ' ' || s[i] >= 127 || i - 2 >= 64)
			return 0;
	if (i == 2 || i + 3 >= n || s[i + 2] != '?')
		return 0;
	*cs = s + 2;
	*csl = i - 2;
	switch (s[i + 1]) {
	case 'B': case 'b': *enc = 'B'; break;
	case 'Q': case 'q': *enc = 'Q'; break;
	default: return 0;
	}
	q = i + 3;
	for (i = q; i + 1 < n && !(s[i] == '?' && s[i + 1] == '='); i++)
		if (s[i] <= ' ' || s[i] >= 127 || s[i] == '?')
			return 0;
	if (i + 1 >= n)
		return 0;
	*t = s + q;
	*tl = i - q;
	return i + 2;
}

static int
mime_all_wsp(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!(s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n'))
			return 0;
	return 1;
}

int
mime_decode_words(const char *in, size_t len, struct buf *out)
{
	unsigned char	 d[256];
	struct buf	 run;		/* decoded bytes of adjacent words */
	const char	*cs, *t, *plain = in;
	size_t		 i = 0, w, csl, tl, gap, base = out->len;
	long		 dl;
	int		 enc, rc = -1;
	enum mime_cs	 c, runcs = MIME_CS_NONE;

	buf_init(&run, MIME_DECODE_MAX);
	while (i < len) {
		w = mime_word_at(in + i, len - i, &cs, &csl, &enc, &t, &tl);
		if (w == 0) {
			i++;
			continue;
		}
		if (tl > sizeof(d) ||
		    (c = mime_charset(cs, csl)) == MIME_CS_NONE ||
		    (dl = mime_word_text(enc, t, tl, d)) < 0) {
			i += w;	/* left as written: plain text */
			continue;
		}
		/* Only space between two words goes (RFC 2047 6.2). */
		gap = (size_t)(in + i - plain);
		if (runcs == MIME_CS_NONE || !mime_all_wsp(plain, gap) ||
		    c != runcs) {
			/* A character may straddle words of one charset:
			 * so their bytes convert together. */
			if (mime_convert(runcs, (unsigned char *)run.data,
			    run.len, out, base) == -1)
				goto out;
			buf_reset(&run);
			if (runcs == MIME_CS_NONE || !mime_all_wsp(plain, gap))
				if (mime_convert(MIME_CS_UTF8,
				    (const unsigned char *)plain, gap, out,
				    base) == -1)
					goto out;
		}
		/* Past MIME_DECODE_MAX the output is cut anyway. */
		(void)buf_append(&run, d, (size_t)dl);
		runcs = c;
		i += w;
		plain = in + i;
	}
	if (mime_convert(runcs, (unsigned char *)run.data, run.len, out,
	    base) == -1 || mime_convert(MIME_CS_UTF8,
	    (const unsigned char *)plain, (size_t)(in + len - plain), out,
	    base) == -1)
		goto out;
	rc = 0;
out:
	buf_free(&run);
	return rc;
}

int
mime_param_decode(const char *v, struct buf *out)
{
	const char	*q1, *q2, *s;
	enum mime_cs	 c;
	unsigned char	 b;
	size_t		 base = out->len, n = 0;
	unsigned char	*d;
	int		 h, l, rc;

	if ((q1 = strchr(v, '\'')) == NULL ||
	    (q2 = strchr(q1 + 1, '\'')) == NULL)
		return -1;
	if ((c = mime_charset(v, (size_t)(q1 - v))) == MIME_CS_NONE)
		return -1;
	s = q2 + 1;
	if ((d = malloc(strlen(s) + 1)) == NULL)
		return -1;
	for (; *s != '\0'; s++) {
		b = (unsigned char)*s;
		if (b == '%' && (h = text_hex_digit(s[1])) >= 0 &&
		    (l = text_hex_digit(s[2])) >= 0) {
			b = (unsigned char)(h << 4 | l);
			s += 2;
		}
		d[n++] = b;
	}
	rc = mime_convert(c, d, n, out, base);
	free(d);
	return rc;
}

int
mime_charset_decode(const char *charset, const void *in, size_t len,
    struct buf *out)
{
	const unsigned char	*s = in;
	enum mime_cs		 c = MIME_CS_NONE;
	size_t			 n, k;

	if (charset != NULL)
		c = mime_charset(charset, strlen(charset));
	if (c == MIME_CS_NONE)
		c = MIME_CS_UTF8;
	/*
	 * mime_convert stops at MIME_DECODE_MAX bytes of output: a body
	 * goes through in pieces that cannot pass it (3 bytes out per byte
	 * in at most), each cut before a UTF-8 lead byte so that no
	 * character is split between two pieces.
	 */
	while (len > 0) {
		n = len < MIME_DECODE_MAX / 4 ? len : MIME_DECODE_MAX / 4;
		if (n < len && c == MIME_CS_UTF8) {
			for (k = 0; k < 3 && n > 1 && (s[n] & 0xC0) == 0x80;
			    k++)
				n--;
		}
		if (mime_convert(c, s, n, out, out->len) == -1)
			return -1;
		s += n;
		len -= n;
	}
	return 0;
}
