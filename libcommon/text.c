/*
 * text.c - the one place that turns untrusted text into printable text.
 *
 * Runs in every process that writes a client's, a peer's or a user's
 * words where a control byte would change the meaning: a CR or LF would
 * start a new log line, header or reply, a NUL would cut a string short.
 * Trusts nothing about src but that it is NUL-terminated.
 */
#include "buf.h"
#include <string.h>

#include "text.h"

static char
text_byte(unsigned char c, char repl, int flags)
{
	if (c < 0x20 || c == 0x7f || ((flags & TEXT_ASCII) && c > 0x7e))
		return repl;
	return (char)c;
}

size_t
text_sanitize(char *dst, size_t dstsz, const char *src, char repl, int flags)
{
	size_t i;

	if (dstsz == 0)
		return 0;
	for (i = 0; src[i] != '\0' && i + 1 < dstsz; i++)
		dst[i] = text_byte((unsigned char)src[i], repl, flags);
	dst[i] = '\0';
	return i;
}

int
text_sanitize_buf(struct buf *b, const char *src, char repl, int flags)
{
	char c;

	for (; *src != '\0'; src++) {
		c = text_byte((unsigned char)*src, repl, flags);
		if (buf_append(b, &c, 1) == -1)
			return -1;
	}
	return 0;
}

int
text_next_line(const char **pp, const char *end, char *line, size_t linesz,
    int *lineno)
{
	const char	*p = *pp, *nl;
	size_t		 n;

	if (p >= end)
		return 0;
	(*lineno)++;
	nl = memchr(p, '\n', (size_t)(end - p));
	n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
	if (n >= linesz || memchr(p, '\0', n) != NULL)
		return -1;
	memcpy(line, p, n);
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	*pp = nl != NULL ? nl + 1 : end;
	return 1;
}

char *
text_next_word(char **pp)
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

int
text_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
text_base64_digit(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}
