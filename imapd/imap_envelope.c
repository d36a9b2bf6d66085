/*
 * imap_envelope.c - ENVELOPE (RFC 3501 7.4.2) of a message's header:
 * the unstructured fields as they are written, the address fields parsed
 * into (name adl mailbox host) lists, and IMAP string output.
 *
 * Runs in imapd's mail process, as the mail user, on a message that is
 * anybody's bytes: nothing here trusts the header. Every loop is bounded
 * by the field's length, and a field is read at most MIME_FIELD_MAX bytes
 * (as mime_header_get reads it), so the output of one envelope is bounded.
 *
 * The address parser is forgiving the way Dovecot's message-address.c is
 * (clients compare our answers with what they saw from it): a mailbox
 * without a domain gets host "MISSING_DOMAIN", one without a local part
 * "MISSING_MAILBOX"; an address without a display name takes its comment
 * as the name; groups are (NIL NIL "name" NIL) ... (NIL NIL NIL NIL), an
 * unclosed group closed at the end. RFC 2047 words stay encoded: RFC 3501
 * leaves decoding them to the client.
 */
#include <string.h>
#include <strings.h>

#include "imap_body_int.h"

/* Quoted strings longer than this go as literals (clients cope better). */
#define IMAP_QUOTED_MAX		1024

int
imap_append_string(struct buf *b, const char *s, size_t n)
{
	size_t	i;
	int	quoted = n <= IMAP_QUOTED_MAX;

	for (i = 0; i < n && quoted; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			quoted = 0;
	}
	if (!quoted) {
		if (buf_printf(b, "{%zu}\r\n", n) == -1)
			return -1;
		return buf_append(b, s, n);
	}
	if (buf_append(b, "\"", 1) == -1)
		return -1;
	/* Runs up to each byte to escape, each in one append. */
	for (i = 0; i < n; ) {
		size_t	j = i;

		while (j < n && s[j] != '"' && s[j] != '\\')
			j++;
		if (j > i && buf_append(b, s + i, j - i) == -1)
			return -1;
		if (j < n && (buf_append(b, "\\", 1) == -1 ||
		    buf_append(b, s + j, 1) == -1))
			return -1;
		i = j + 1;
	}
	return buf_append(b, "\"", 1);
}

int
imap_append_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		return buf_puts(b, "NIL");
	return imap_append_string(b, s, strlen(s));
}

/*
 * The first field called name, unfolded (CR and LF dropped, the
 * whitespace after them kept, as Dovecot's envelope does), the first
 * line's leading blanks skipped (trailing kept, as in Dovecot), NULs
 * dropped, at most MIME_FIELD_MAX bytes, into out. 0, or -1 if absent.
 */
static int
env_field(const char *hdr, size_t len, const char *name, struct buf *out)
{
	struct mime_field	 f;
	size_t			 pos = 0, i, end, nl = strlen(name);

	buf_reset(out);
	while (mime_header_next(hdr, len, &pos, &f) == 1) {
		if (f.name_len != nl || strncasecmp(hdr + f.off, name, nl) != 0)
			continue;
		end = f.off + f.len;
		i = f.value_off;
		/* Only the first line's: "Message-ID:\n <x>" keeps the
		 * continuation's blanks in Dovecot. */
		while (i < end && (hdr[i] == ' ' || hdr[i] == '\t'))
			i++;
		/* Runs between the bytes dropped, each in one append. */
		while (i < end && out->len < MIME_FIELD_MAX) {
			size_t	j = i, take;

			while (j < end && hdr[j] != '\r' && hdr[j] != '\n' &&
			    hdr[j] != '\0')
				j++;
			take = j - i;
			if (take > MIME_FIELD_MAX - out->len)
				take = MIME_FIELD_MAX - out->len;
			if (take > 0 && buf_append(out, hdr + i, take) == -1)
				return -1;
			i = j + 1;
		}
		return buf_cstr(out);
	}
	return -1;
}

/* The address lexer (RFC 5322 3.2, 3.4), over one unfolded value. */
enum env_tok {
	ENV_END,
	ENV_WORD,	/* atom (dots included), quoted string, [literal] */
	ENV_SPECIAL,	/* one of < > @ , ; : */
};

struct env_lex {
	const char	*s;
	size_t		 n;
	size_t		 i;
	struct buf	*word;		/* the word's text, unquoted */
	struct buf	*comment;	/* the first comment since reset */
	int		 has_comment;
	char		 c;		/* the special */
};

/*
 * RFC 5322 specials, and the NUL byte: a separator dropped like a stray
 * ',' inside <> (what its first strchr version made of it).
 */
static const unsigned char env_specials[256] = {
	['\0'] = 1, ['('] = 1, [')'] = 1, ['<'] = 1, ['>'] = 1, ['@'] = 1,
	[','] = 1, [';'] = 1, [':'] = 1, ['\\'] = 1, ['"'] = 1, ['['] = 1,
	[']'] = 1,
};

static int
env_is_special(char c)
{
	return env_specials[(unsigned char)c];
}

static void
env_skip_comment(struct env_lex *l)
{
	int	depth = 0, keep = !l->has_comment;

	if (keep)
		buf_reset(l->comment);
	for (; l->i < l->n; l->i++) {
		char c = l->s[l->i];

		if (c == '\\' && l->i + 1 < l->n) {
			l->i++;
			if (keep && depth == 1)
				buf_append(l->comment, l->s + l->i, 1);
			continue;
		}
		if (c == '(') {
			if (depth++ == 0)
				continue;
		} else if (c == ')') {
			if (--depth == 0) {
				l->i++;
				break;
			}
		}
		if (keep)
			buf_append(l->comment, &c, 1);
	}
	if (keep) {
		l->has_comment = 1;
		buf_cstr(l->comment);
	}
}

static enum env_tok
env_next(struct env_lex *l)
{
	size_t	start;
	char	c;

	for (;;) {
		while (l->i < l->n && (l->s[l->i] == ' ' || l->s[l->i] == '\t'))
			l->i++;
		if (l->i >= l->n)
			return ENV_END;
		if (l->s[l->i] != '(')
			break;
		env_skip_comment(l);
	}
	buf_reset(l->word);
	c = l->s[l->i];
	if (c == '"') {
		for (l->i++; l->i < l->n && l->s[l->i] != '"';) {
			size_t run = l->i;

			if (l->s[l->i] == '\\' && l->i + 1 < l->n)
				run = ++l->i;	/* the escaped byte, as is */
			l->i++;
			while (l->i < l->n && l->s[l->i] != '"' &&
			    l->s[l->i] != '\\')
				l->i++;
			buf_append(l->word, l->s + run, l->i - run);
		}
		if (l->i < l->n)
			l->i++;
		buf_cstr(l->word);
		return ENV_WORD;
	}
	if (c == '[') {
		while (l->i < l->n && l->s[l->i] != ']')
			buf_append(l->word, l->s + l->i++, 1);
		if (l->i < l->n)
			buf_append(l->word, l->s + l->i++, 1);
		buf_cstr(l->word);
		return ENV_WORD;
	}
	if (env_specials[(unsigned char)c] && c != '(' && c != ')' &&
	    c != '\\' && c != '"' && c != '[' && c != ']') {
		l->c = c;
		l->i++;
		return ENV_SPECIAL;
	}
	if (c == ')' || c == ']' || c == '\\') {
		/* Stray: part of no token; an atom of its own. */
		buf_append(l->word, &c, 1);
		l->i++;
		buf_cstr(l->word);
		return ENV_WORD;
	}
	start = l->i;
	while (l->i < l->n && l->s[l->i] != ' ' && l->s[l->i] != '\t' &&
	    !env_is_special(l->s[l->i]))
		l->i++;
	buf_append(l->word, l->s + start, l->i - start);
	buf_cstr(l->word);
	return ENV_WORD;
}

static int
env_addr(struct buf *out, const char *name, const char *adl,
    const char *mailbox, const char *host)
{
	if (buf_puts(out, "(") == -1 ||
	    imap_append_nstring(out, name != NULL && *name != '\0' ? name :
	    NULL) == -1 || buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, adl != NULL && *adl != '\0' ? adl :
	    NULL) == -1 || buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, mailbox) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    imap_append_nstring(out, host) == -1)
		return -1;
	return buf_puts(out, ")");
}

struct env_addr_bufs {
	struct buf	word, comment, phrase, route, local, domain;
};

/* After '<': [route ':'] local '@' domain '>'. */
static void
env_angle(struct env_lex *l, struct env_addr_bufs *a)
{
	enum env_tok	t;
	struct buf	*to = &a->local;

	for (;;) {
		t = env_next(l);
		if (t == ENV_END)
			break;
		if (t == ENV_SPECIAL) {
			if (l->c == '>')
				break;
			if (l->c == '@') {
				/* "@" first: a route (RFC 5322 obs-route). */
				if ((to == &a->local && a->local.len == 0) ||
				    to == &a->route) {
					to = &a->route;
					if (a->route.len > 0)
						buf_append(to, ",", 1);
					buf_append(to, "@", 1);
				} else if (to == &a->local)
					to = &a->domain;
				continue;
			}
			if (l->c == ':' && to == &a->route) {
				to = &a->local;
				continue;
			}
			/* Others (',' ';' '<' ':') inside <>: dropped;
			 * a ',' between route domains is written above. */
			continue;
		}
		buf_append(to, a->word.data, a->word.len);
	}
}

/*
 * An address-list (RFC 5322 3.4, with obsolete forms and what real mail
 * gets wrong) appended as an IMAP list of addresses, or NIL if none.
 */
static int
env_addr_list(const char *v, size_t n, struct buf *out)
{
	struct env_addr_bufs	 a;
	struct env_lex		 l;
	enum env_tok		 t;
	size_t			 start = out->len;
	int			 any = 0, in_group = 0, words, rc = -1;
	const char		*name;

	memset(&a, 0, sizeof(a));
	buf_init(&a.word, MIME_FIELD_MAX + 1);
	buf_init(&a.comment, MIME_FIELD_MAX + 1);
	buf_init(&a.phrase, 2 * MIME_FIELD_MAX + 1);
	buf_init(&a.route, MIME_FIELD_MAX + 1);
	buf_init(&a.local, MIME_FIELD_MAX + 1);
	buf_init(&a.domain, MIME_FIELD_MAX + 1);
	memset(&l, 0, sizeof(l));
	l.s = v;
	l.n = n;
	l.word = &a.word;
	l.comment = &a.comment;
	if (buf_puts(out, "(") == -1)
		goto out;
	for (;;) {
		buf_reset(&a.phrase);
		buf_reset(&a.route);
		buf_reset(&a.local);
		buf_reset(&a.domain);
		l.has_comment = 0;
		words = 0;
		while ((t = env_next(&l)) == ENV_WORD) {
			if (words++ > 0)
				buf_append(&a.phrase, " ", 1);
			buf_append(&a.phrase, a.word.data, a.word.len);
		}
		buf_cstr(&a.phrase);
		if (t == ENV_END || (t == ENV_SPECIAL && (l.c == ',' ||
		    l.c == ';'))) {
			if (words > 0) {
				/* A bare word: a mailbox without a domain. */
				if (env_addr(out, NULL, NULL, a.phrase.data,
				    "MISSING_DOMAIN") == -1)
					goto out;
				any = 1;
			}
			if (t == ENV_SPECIAL && l.c == ';' && in_group) {
				if (env_addr(out, NULL, NULL, NULL, NULL) == -1)
					goto out;
				in_group = 0;
			}
			if (t == ENV_END)
				break;
			continue;
		}
		if (l.c == ':') {
			if (in_group && env_addr(out, NULL, NULL, NULL,
			    NULL) == -1)
				goto out;
			if (env_addr(out, NULL, NULL, a.phrase.data,
			    NULL) == -1)
				goto out;
			any = in_group = 1;
			continue;
		}
		if (l.c == '<') {
			env_angle(&l, &a);
			name = words > 0 ? a.phrase.data : NULL;
		} else if (l.c == '@') {
			buf_append(&a.local, a.phrase.data, a.phrase.len);
			/* The domain is one word (dots are in it); words
			 * after it are junk, skipped below. */
			if ((t = env_next(&l)) == ENV_WORD)
				buf_append(&a.domain, a.word.data, a.word.len);
			else if (t == ENV_SPECIAL)
				l.i--;	/* give back what ended it */
			name = NULL;
		} else
			continue;	/* a stray '>' */
		buf_cstr(&a.route);
		buf_cstr(&a.local);
		buf_cstr(&a.domain);
		/* Up to the next ',' or ';' (a comment after counts). */
		while ((t = env_next(&l)) != ENV_END &&
		    !(t == ENV_SPECIAL && (l.c == ',' || l.c == ';')))
			;
		if (name == NULL && l.has_comment && a.comment.len > 0)
			name = a.comment.data;
		if (env_addr(out, name, a.route.data, a.local.len > 0 ?
		    a.local.data : "MISSING_MAILBOX", a.domain.len > 0 ?
		    a.domain.data : "MISSING_DOMAIN") == -1)
			goto out;
		any = 1;
		if (t == ENV_SPECIAL && l.c == ';' && in_group) {
			if (env_addr(out, NULL, NULL, NULL, NULL) == -1)
				goto out;
			in_group = 0;
		}
		if (t == ENV_END)
			break;
	}
	if (in_group && env_addr(out, NULL, NULL, NULL, NULL) == -1)
		goto out;
	if (!any) {
		out->len = start;
		rc = buf_puts(out, "NIL");
		goto out;
	}
	rc = buf_puts(out, ")");
out:
	buf_free(&a.word);
	buf_free(&a.comment);
	buf_free(&a.phrase);
	buf_free(&a.route);
	buf_free(&a.local);
	buf_free(&a.domain);
	return rc;
}

static int
env_string_field(const char *hdr, size_t len, const char *name,
    struct buf *tmp, struct buf *out)
{
	if (env_field(hdr, len, name, tmp) == -1)
		return buf_puts(out, "NIL");
	return imap_append_string(out, tmp->data, tmp->len);
}

static int
env_addr_field(const char *hdr, size_t len, const char *name,
    const char *dflt, struct buf *tmp, struct buf *out)
{
	size_t	start = out->len;

	if (env_field(hdr, len, name, tmp) == -1 ||
	    env_addr_list(tmp->data, tmp->len, out) == -1 ||
	    (out->len == start + 3 && memcmp(out->data + start, "NIL",
	    3) == 0)) {
		/* RFC 3501: sender and reply-to default to from. */
		out->len = start;
		if (dflt != NULL && env_field(hdr, len, dflt, tmp) == 0)
			return env_addr_list(tmp->data, tmp->len, out);
		return buf_puts(out, "NIL");
	}
	return 0;
}

int
imap_envelope_append(const char *hdr, size_t len, struct buf *out)
{
	struct buf	tmp;
	int		rc = -1;

	buf_init(&tmp, MIME_FIELD_MAX + 1);
	if (buf_puts(out, "(") == -1 ||
	    env_string_field(hdr, len, "date", &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_string_field(hdr, len, "subject", &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_addr_field(hdr, len, "from", NULL, &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_addr_field(hdr, len, "sender", "from", &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_addr_field(hdr, len, "reply-to", "from", &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_addr_field(hdr, len, "to", NULL, &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_addr_field(hdr, len, "cc", NULL, &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_addr_field(hdr, len, "bcc", NULL, &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_string_field(hdr, len, "in-reply-to", &tmp, out) == -1 ||
	    buf_puts(out, " ") == -1 ||
	    env_string_field(hdr, len, "message-id", &tmp, out) == -1 ||
	    buf_puts(out, ")") == -1)
		goto out;
	rc = 0;
out:
	buf_free(&tmp);
	return rc;
}
