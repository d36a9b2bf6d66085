/*
 * msghdr.h - the header section of a stored message, field by field:
 * bounded, with folded lines unfolded. Used where a daemon must look at
 * a message's own header fields (queued's hop count, deliverd's
 * Delivered-To loop check) without parsing the message.
 */
#ifndef POSTERN_MSGHDR_H
#define POSTERN_MSGHDR_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * How much of a message's start the loop checks read. Trace fields
 * (Received, Delivered-To) are prepended by each hop, so a looping
 * message carries them at the top: padding below them cannot hide them.
 */
#define MSGHDR_SCAN_MAX		(256 * 1024)
/* A value longer than this is cut (and marked truncated). */
#define MSGHDR_VALUE_MAX	1024

struct msghdr_field {
	const char	*name;		/* into the message; not NUL-ended */
	size_t		 namelen;
	char		 value[MSGHDR_VALUE_MAX + 1];	/* unfolded, trimmed */
	size_t		 valuelen;
	int		 truncated;
};

/* An iterator over the header fields at the start of bytes in memory. */
struct msghdr_iter {
	const char	*p;
	size_t		 len;
	size_t		 pos;
	int		 whole;	/* p holds the whole message */
	int		 done;
};

/*
 * whole: the bytes are the whole message, so their end ends the last
 * field; otherwise they are a prefix, and a field cut at their end is
 * not returned.
 */
void	msghdr_init(struct msghdr_iter *, const char *p, size_t len, int whole);
/*
 * 1 with the next field in f; 0 at the end of the header section: an
 * empty line, a line that is neither a field nor a continuation (the
 * body began without its blank line), or the end of the bytes. Lines
 * may end in LF or CRLF.
 */
int	msghdr_next(struct msghdr_iter *, struct msghdr_field *f);
/* Whether f is named name (case-insensitive). */
int	msghdr_is(const struct msghdr_field *f, const char *name);
/*
 * Reads the start of the message at [off, off + size) of fd into b
 * (reset first): up to the end of its header section, or max bytes,
 * whichever comes first. *whole says whether b holds the whole message.
 * 0, or -1 with errno (EIO: the file is shorter than off + size).
 */
int	msghdr_read(int fd, uint64_t off, uint64_t size, size_t max,
	    struct buf *b, int *whole);

#endif
