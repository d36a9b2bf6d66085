/*
 * text.h - copies of untrusted text that are safe to put in a log line,
 * a reply, a header or a path: no control bytes; and the line and word
 * splitting of the administrator's small text files (maps, lists).
 */
#ifndef POSTERN_TEXT_H
#define POSTERN_TEXT_H

#include <stddef.h>

struct buf;

enum text_flags {
	TEXT_ASCII = 1,		/* bytes above 0x7e are replaced too */
};

/*
 * Copies src into dst (always NUL-terminated, truncated to fit) with
 * every byte below 0x20 and 0x7f (and, with TEXT_ASCII, above 0x7e)
 * replaced by repl. Returns the length copied.
 */
size_t	text_sanitize(char *dst, size_t dstsz, const char *src, char repl,
	    int flags);
/* The same, appended to b: 0, or -1 when b cannot grow. */
int	text_sanitize_buf(struct buf *b, const char *src, char repl,
	    int flags);

/*
 * Configuration-file lines: the next line of [*pp, end) into line
 * (linesz bytes, NUL-terminated, its LF and any CR before it dropped),
 * *pp moved past it and *lineno counted up. 1: a line; 0: no more;
 * -1: the line is longer than linesz - 1 or holds a NUL byte (a file
 * that is not text), *lineno naming it.
 */
int	text_next_line(const char **pp, const char *end, char *line,
	    size_t linesz, int *lineno);
/*
 * The next blank-separated (space, tab) word of *pp, NUL-terminated in
 * place; *pp moves past it. NULL when none is left.
 */
char	*text_next_word(char **pp);

/* A hex digit's value (either case), or -1. */
int	text_hex_digit(int c);
/* A base64 digit's value (RFC 4648 4: A-Z a-z 0-9 + /), or -1 ('=' too). */
int	text_base64_digit(int c);

#endif
