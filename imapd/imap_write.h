/*
 * imap_write.h - what imapd writes as IMAP strings (RFC 3501 4.3, 4.5,
 * 9: astring, string, nstring), and the LIST/LSUB pattern matcher
 * (RFC 3501 6.3.8: "*" and "%").
 */
#ifndef POSTERN_IMAP_WRITE_H
#define POSTERN_IMAP_WRITE_H

#include <stddef.h>

#include "buf.h"

/* Longer strings go as literals even when they could be quoted. */
#define IMAP_QUOTED_MAX		1024
/* Longer LIST patterns are refused (a mailbox name is shorter). */
#define IMAP_PATTERN_MAX	1024

/*
 * A string: quoted when it is short, 7-bit, and has no CR, LF, NUL,
 * '"' or '\' (clients differ on escapes), a literal {N} otherwise.
 * 0, or -1 (the buffer's ceiling or memory).
 */
int	imap_write_string(struct buf *, const char *, size_t);
/* An nstring: NIL for s == NULL, else imap_write_string. */
int	imap_write_nstring(struct buf *, const char *, size_t);
/*
 * An astring (a mailbox name in LIST, STATUS): a bare atom when every
 * byte is an ASTRING-CHAR and it is not "NIL", else a string.
 */
int	imap_write_astring(struct buf *, const char *, size_t);

/*
 * Does the mailbox name match the LIST pattern? "*" matches anything,
 * "%" anything but the hierarchy delimiter delim; the leading "INBOX"
 * of both compares without case (RFC 3501 5.1). 1, 0, or -1 (pattern
 * over IMAP_PATTERN_MAX). O(len(name) * len(pattern)), no recursion.
 */
int	imap_list_match(const char *pattern, const char *name, char delim);

#endif
