/*
 * buf.h - a growable byte buffer with a hard ceiling.
 */
#ifndef POSTERN_BUF_H
#define POSTERN_BUF_H

#include <stddef.h>

struct buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* appends that would pass this fail; 0: no ceiling */
};

void	buf_init(struct buf *, size_t max);
void	buf_free(struct buf *);
void	buf_reset(struct buf *);
/* Returns 0, or -1 (errno E2BIG past the ceiling, ENOMEM) with buf unchanged. */
int	buf_append(struct buf *, const void *, size_t);
int	buf_puts(struct buf *, const char *);
int	buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Room for extra more bytes (and a NUL) without growing; 0 or -1 as above. */
int	buf_reserve(struct buf *, size_t extra);
/* Drops the first n bytes. */
void	buf_consume(struct buf *, size_t n);
/* NUL-terminates without counting the NUL in len; -1 on failure. */
int	buf_cstr(struct buf *);

#endif
