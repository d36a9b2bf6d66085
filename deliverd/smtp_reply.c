/*
 * smtp_reply.c - what a remote SMTP server says, and what we send it
 * as message text.
 *
 * Pure; runs in deliverd's remote transport. A server is a stranger:
 * a reply line must be three digits (2xx..5xx) and a space, a hyphen or
 * nothing, every line of a reply the same code (RFC 5321 4.2.1), and at
 * most SMTP_REPLY_LINES_MAX lines of it are kept, in a bounded buffer.
 * Anything else is a protocol error the caller treats as a temporary
 * failure. The text we keep goes into logs and DSNs only through
 * smtp_reply_str, which replaces control bytes.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "remote.h"

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
}

/* "x.y.z" at the start of text (RFC 3463): its length, or 0. */
static size_t
enhanced_code(const char *s, size_t len)
{
	size_t i = 0, part, digits;

	if (len < 5 || (s[0] != '2' && s[0] != '4' && s[0] != '5') ||
	    s[1] != '.')
		return 0;
	i = 2;
	for (part = 0; part < 2; part++) {
		for (digits = 0; i < len && isdigit((unsigned char)s[i]) &&
		    digits < 3; i++)
			digits++;
		if (digits == 0)
			return 0;
		if (part == 0) {
			if (i >= len || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (i < len && s[i] != ' ')
		return 0;
	return i;
}

enum smtp_reply_feed
smtp_reply_feed(struct smtp_reply *r, const char *line, size_t len)
{
	int code;
	size_t room, n, dl;
	const char *text;

	if (r->done || len < 3 || len > SMTP_REPLY_LINE_MAX ||
	    !isdigit((unsigned char)line[0]) ||
	    !isdigit((unsigned char)line[1]) ||
	    !isdigit((unsigned char)line[2]) ||
	    (len > 3 && line[3] != ' ' && line[3] != '-') ||
	    memchr(line, '\0', len) != NULL)
		return SMTP_REPLY_BAD;
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code < 200 || code > 599 || (r->nlines > 0 && code != r->code))
		return SMTP_REPLY_BAD;
	r->code = code;
	text = len > 4 ? line + 4 : "";
	n = len > 4 ? len - 4 : 0;
	if (r->nlines == 0 && (dl = enhanced_code(text, n)) != 0 &&
	    text[0] == line[0])
		snprintf(r->dsn, sizeof(r->dsn), "%.*s", (int)dl, text);
	if (r->nlines < SMTP_REPLY_LINES_MAX &&
	    r->textlen < sizeof(r->text)) {
		room = sizeof(r->text) - r->textlen - 1;
		if (n > room)
			n = room;
		r->line_off[r->nlines++] = r->textlen;
		memcpy(r->text + r->textlen, text, n);
		r->textlen += n;
		r->text[r->textlen++] = '\0';
	}
	if (len > 3 && line[3] == '-')
		return SMTP_REPLY_MORE;
	r->done = 1;
	return SMTP_REPLY_DONE;
}

const char *
smtp_reply_line(const struct smtp_reply *r, size_t i)
{
	return i < r->nlines ? r->text + r->line_off[i] : "";
}

void
smtp_reply_str(const struct smtp_reply *r, char *out, size_t outsz)
{
	size_t i, o = 0;
	int w;

	if (outsz == 0)
		return;
	w = snprintf(out, outsz, "%03d", r->code);
	o = w > 0 && (size_t)w < outsz ? (size_t)w : outsz - 1;
	for (i = 0; i < r->nlines && o + 1 < outsz; i++) {
		const char *t = smtp_reply_line(r, i);

		out[o++] = ' ';
		for (; *t != '\0' && o + 1 < outsz; t++)
			out[o++] = (unsigned char)*t < 0x20 ||
			    (unsigned char)*t >= 0x7f ? '?' : *t;
	}
	out[o] = '\0';
}

void
smtp_ext_parse(const struct smtp_reply *r, struct smtp_ext *e)
{
	size_t i;

	memset(e, 0, sizeof(*e));
	/* Line 0 is the greeting part ("mx.example Hello ..."). */
	for (i = 1; i < r->nlines; i++) {
		const char *t = smtp_reply_line(r, i);
		char kw[32];
		size_t k;

		for (k = 0; t[k] != '\0' && t[k] != ' ' && k < sizeof(kw) - 1;
		    k++)
			kw[k] = (char)toupper((unsigned char)t[k]);
		kw[k] = '\0';
		if (strcmp(kw, "PIPELINING") == 0)
			e->pipelining = 1;
		else if (strcmp(kw, "8BITMIME") == 0)
			e->eightbitmime = 1;
		else if (strcmp(kw, "SMTPUTF8") == 0)
			e->smtputf8 = 1;
		else if (strcmp(kw, "STARTTLS") == 0)
			e->starttls = 1;
		else if (strcmp(kw, "DSN") == 0)
			e->dsn = 1;
		else if (strcmp(kw, "SIZE") == 0) {
			char *end;
			unsigned long long v = 0;

			e->has_size = 1;
			if (t[k] == ' ') {
				v = strtoull(t + k + 1, &end, 10);
				if (!isdigit((unsigned char)t[k + 1]) ||
				    (*end != '\0' && *end != ' '))
					v = 0;	/* garbage: no known limit */
			}
			e->size = v;
		}
	}
}

void
smtp_stuffer_init(struct smtp_stuffer *st, size_t line_max)
{
	memset(st, 0, sizeof(*st));
	st->line_max = line_max;
}

size_t
smtp_stuff(struct smtp_stuffer *st, const char *in, size_t len, char *out,
    size_t outsz)
{
	size_t i, o = 0;

	if (len > (SIZE_MAX - 8) / 4 || outsz < 4 * len)
		return (size_t)-1;
	for (i = 0; i < len; i++) {
		char c = in[i];

		if (c == '\n') {
			out[o++] = '\r';
			out[o++] = '\n';
			st->col = 0;
			continue;
		}
		if (st->line_max > 0 && st->col == st->line_max) {
			/* CRLF SPACE: a folded header or an indented line. */
			out[o++] = '\r';
			out[o++] = '\n';
			out[o++] = ' ';
			st->col = 1;
			st->broke = 1;
		}
		if (st->col == 0 && c == '.') {
			out[o++] = '.';	/* counts: the limit is on the wire */
			st->col++;
		}
		out[o++] = c == '\r' ? ' ' : c;
		st->col++;
	}
	return o;
}

size_t
smtp_stuff_end(struct smtp_stuffer *st, char *out, size_t outsz)
{
	size_t o = 0;

	if (outsz < 5)
		return 0;
	if (st->col != 0) {
		out[o++] = '\r';
		out[o++] = '\n';
	}
	out[o++] = '.';
	out[o++] = '\r';
	out[o++] = '\n';
	st->col = 0;
	return o;
}
