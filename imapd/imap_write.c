/*
 * imap_write.c - IMAP strings as imapd writes them, and the LIST
 * pattern matcher.
 *
 * Runs in imapd's mail process, never as root. What is written comes
 * from the user's mail and mailbox names, so nothing is assumed about
 * it: any byte that a quoted string cannot carry makes a literal, whose
 * length is counted, never delimited. The matcher takes patterns from
 * the client; it is an NFA walk over the pattern (a set of positions,
 * one pass over the name), so a pattern like "*a*a*a*a*b" cannot make
 * it backtrack exponentially.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_write.h"

static int
quotable(const char *s, size_t len)
{
	size_t		i;
	unsigned char	c;

	if (len > IMAP_QUOTED_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c == '"' ||
		    c == '\\' || c >= 0x80)
			return 0;
	}
	return 1;
}

int
imap_write_string(struct buf *b, const char *s, size_t len)
{
	if (quotable(s, len)) {
		if (buf_append(b, "\"", 1) == -1 ||
		    buf_append(b, s, len) == -1 || buf_append(b, "\"", 1) == -1)
			return -1;
		return 0;
	}
	if (buf_printf(b, "{%zu}\r\n", len) == -1)
		return -1;
	return buf_append(b, s, len);
}

int
imap_write_nstring(struct buf *b, const char *s, size_t len)
{
	if (s == NULL)
		return buf_append(b, "NIL", 3);
	return imap_write_string(b, s, len);
}

/* RFC 3501 atom-specials besides controls and space (CTL, SP). */
static const unsigned char atom_specials[256] = {
	['('] = 1, [')'] = 1, ['{'] = 1, ['%'] = 1, ['*'] = 1, ['"'] = 1,
	['\\'] = 1,
};

int
imap_write_astring(struct buf *b, const char *s, size_t len)
{
	size_t		i;
	unsigned char	c;

	if (len == 0 || len > IMAP_QUOTED_MAX ||
	    (len == 3 && strncasecmp(s, "NIL", 3) == 0))
		return imap_write_string(b, s, len);
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c <= 0x20 || c >= 0x7f || atom_specials[c])
			return imap_write_string(b, s, len);
	}
	return buf_append(b, s, len);
}

/* The length of a leading "INBOX" that compares without case, or 0. */
static size_t
inbox_prefix(const char *s, char delim)
{
	return strncasecmp(s, "INBOX", 5) == 0 &&
	    (s[5] == '\0' || s[5] == delim) ? 5 : 0;
}

int
imap_list_match(const char *pattern, const char *name, char delim)
{
	/* state[i]: the pattern's first i characters match so far. */
	unsigned char	 st[IMAP_PATTERN_MAX + 1], nx[IMAP_PATTERN_MAX + 1];
	size_t		 plen = strlen(pattern), i, k, pin, nin;
	unsigned char	 c, p;
	int		 any;

	if (plen > IMAP_PATTERN_MAX)
		return -1;
	pin = inbox_prefix(pattern, delim);
	nin = inbox_prefix(name, delim);
	memset(st, 0, plen + 1);
	st[0] = 1;
	/* Wildcards match the empty string: close over them. */
	for (i = 0; i < plen && st[i] &&
	    (pattern[i] == '*' || pattern[i] == '%'); i++)
		st[i + 1] = 1;
	for (k = 0; name[k] != '\0'; k++) {
		c = (unsigned char)name[k];
		memset(nx, 0, plen + 1);
		any = 0;
		for (i = 0; i < plen; i++) {
			if (!st[i])
				continue;
			p = (unsigned char)pattern[i];
			if (p == '*' || (p == '%' && c != (unsigned char)delim))
				nx[i] = 1;	/* the wildcard eats c */
			else if (p == c || (i < pin && k < nin && i == k &&
			    toupper(p) == toupper(c)))
				nx[i + 1] = 1;
		}
		for (i = 0; i <= plen; i++) {
			if (nx[i] && i < plen &&
			    (pattern[i] == '*' || pattern[i] == '%'))
				nx[i + 1] = 1;
			any |= nx[i];
		}
		if (!any)
			return 0;
		memcpy(st, nx, plen + 1);
	}
	return st[plen];
}
