/*
 * text.h - copies of untrusted text that are safe to put in a log line,
 * a reply, a header or a path: no control bytes.
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

#endif
