/*
 * confedit.c - sets one key in the text of a postern.conf.
 *
 * Runs in the postern command (config -e), as the administrator, on the
 * text of the file it is about to replace. Pure text work: the result is
 * loaded and checked (conf_load_string, confcheck) before anything is
 * written, so this only has to find the right lines. The line rules are
 * conf.c's: a line that begins with white space continues the logical
 * line before it, a line whose first non-blank is "#" is a comment and
 * does not end a logical line.
 */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "confedit.h"

/* Whether line (len bytes, no newline) is a comment or blank. */
static int
confedit_blank(const char *line, size_t len)
{
	size_t i = 0;

	while (i < len && (line[i] == ' ' || line[i] == '\t' ||
	    line[i] == '\r'))
		i++;
	return i == len || line[i] == '#';
}

/* Whether line sets key: "key" then white space or "=" (and an "="). */
static int
confedit_sets(const char *line, size_t len, const char *key)
{
	size_t klen = strlen(key), i = 0;

	if (len < klen || memcmp(line, key, klen) != 0)
		return 0;
	/* conf.c trims these around a key */
	for (i = klen; i < len && (line[i] == ' ' || line[i] == '\t' ||
	    line[i] == '\r'); i++)
		;
	return i < len && line[i] == '=';
}

/*
 * Whether the logical line starting at p sets key: "key =" on its first
 * line, or "key" alone there and "=" first on its first continuation
 * line (conf.c joins them with a space; comments and blank lines in
 * between do not end the logical line).
 */
static int
confedit_sets_logical(const char *p, const char *key)
{
	const char	*e = strchr(p, '\n'), *q;
	size_t		 len = e != NULL ? (size_t)(e - p) : strlen(p);
	size_t		 klen = strlen(key), i;

	if (confedit_sets(p, len, key))
		return 1;
	if (len < klen || memcmp(p, key, klen) != 0)
		return 0;
	for (i = klen; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r')
			return 0;
	while (e != NULL) {
		q = e + 1;
		e = strchr(q, '\n');
		len = e != NULL ? (size_t)(e - q) : strlen(q);
		if (confedit_blank(q, len))
			continue;
		if (q[0] != ' ' && q[0] != '\t')
			return 0;
		for (i = 0; i < len && (q[i] == ' ' || q[i] == '\t'); i++)
			;
		return i < len && q[i] == '=';
	}
	return 0;
}

static int
confedit_key_ok(const char *key)
{
	size_t i;

	if (key[0] == '\0')
		return 0;
	for (i = 0; key[i] != '\0'; i++)
		if (!islower((unsigned char)key[i]) && key[i] != '_' &&
		    !isdigit((unsigned char)key[i]))
			return 0;
	return 1;
}

char *
confedit_set(const char *text, const char *key, const char *value)
{
	const char	*p = text, *e;
	size_t		 len, tlen = strlen(text), cap;
	char		*out;
	size_t		 o = 0;
	int		 in_key = 0, done = 0;

	if (!confedit_key_ok(key) || strpbrk(value, "\r\n") != NULL) {
		errno = EINVAL;
		return NULL;
	}
	/* The new line once, plus a newline we may add: never more. */
	cap = tlen + strlen(key) + strlen(value) + 8;
	if (cap < tlen || (out = malloc(cap)) == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	while (*p != '\0') {
		e = strchr(p, '\n');
		len = e != NULL ? (size_t)(e - p) : strlen(p);
		if (in_key && len > 0 && (p[0] == ' ' || p[0] == '\t') &&
		    !confedit_blank(p, len)) {
			/* A continuation of the line being replaced. */
			p += len + (e != NULL);
			continue;
		}
		if (!confedit_blank(p, len))
			in_key = 0;
		if (!done && !in_key && len > 0 && p[0] != ' ' &&
		    p[0] != '\t' && confedit_sets_logical(p, key)) {
			o += (size_t)snprintf(out + o, cap - o, "%s = %s\n",
			    key, value);
			in_key = done = 1;
			p += len + (e != NULL);
			continue;
		}
		memcpy(out + o, p, len);
		o += len;
		if (e != NULL)
			out[o++] = '\n';
		p += len + (e != NULL);
	}
	if (!done) {
		if (o > 0 && out[o - 1] != '\n')
			out[o++] = '\n';
		o += (size_t)snprintf(out + o, cap - o, "%s = %s\n", key,
		    value);
	}
	out[o] = '\0';
	return out;
}
