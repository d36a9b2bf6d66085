/*
 * imap_body.h - the IMAP view of one message (RFC 3501 7.4.2): ENVELOPE,
 * BODY and BODYSTRUCTURE, BODY[section]<partial> and RFC822.SIZE, built
 * on libcommon/mime.h. Pure code: no I/O, no logging, no globals.
 *
 * Sizes and offsets are those of the message's CRLF form, as Dovecot
 * counts them: a Maildir file with bare LF line ends (what deliverd and
 * Dovecot's LDA write) has RFC822.SIZE = file size + number of bare LFs
 * (Dovecot's ",W=" in the file name), and every BODY[...] is served with
 * CRLF line ends. imap_msg_new therefore keeps the message in that form
 * (each LF not preceded by CR gets one; a bare CR stays as it is; a NUL,
 * which no IMAP string may hold, becomes 0x80 as in Dovecot) and
 * parses that copy, so every part's offsets, sizes and partial origins
 * are offsets in the CRLF form and nothing maps back to the file.
 */
#ifndef POSTERN_IMAP_BODY_H
#define POSTERN_IMAP_BODY_H

#include <stddef.h>

#include "buf.h"
#include "imap_section.h"

struct imap_msg;

/*
 * The message's bytes as read from the file (LF or CRLF line ends).
 * NULL when out of memory (errno ENOMEM) or when its CRLF form would pass
 * max bytes (errno EFBIG; max 0: no ceiling).
 */
struct imap_msg *imap_msg_new(const void *data, size_t len, size_t max);
void	imap_msg_free(struct imap_msg *);

/* RFC822.SIZE: the size of the CRLF form. */
size_t	imap_msg_size(const struct imap_msg *);
/* The same, of bytes not parsed (a file's size as IMAP counts it). */
size_t	imap_crlf_size(const void *data, size_t len);
/* The CRLF form itself (BODY[], RFC822). */
const char *imap_msg_data(const struct imap_msg *);

/*
 * Each appends one FETCH data item's value to out (no item name):
 * "(date subject from ...)" for ENVELOPE, the body structure for BODY
 * (extended 0) or BODYSTRUCTURE (extended 1). 0, or -1 when out cannot
 * grow (its ceiling, or no memory).
 */
int	imap_msg_envelope(const struct imap_msg *, struct buf *out);
/*
 * ENVELOPE from the first len bytes of a file, which need not be all of
 * it: the header in CRLF form (built in scratch) up to its empty line,
 * the same answer imap_msg_envelope gives for the whole message. 1 when
 * appended, 0 when the empty line is not in those bytes (the caller
 * parses the whole message), -1 when scratch or out cannot grow.
 */
int	imap_envelope_of_prefix(const void *data, size_t len,
	    struct buf *scratch, struct buf *out);
int	imap_msg_bodystructure(const struct imap_msg *, int extended,
	    struct buf *out);

/*
 * BODY[section]<partial>: the bytes the section names, before the
 * partial cut, into *p and *n. They point into the message, or into
 * scratch (reset first) for HEADER.FIELDS(.NOT). A part that does not
 * exist gives no bytes (Dovecot answers an empty string, not NIL or NO).
 * -1 only when scratch cannot grow.
 */
int	imap_section_bytes(const struct imap_msg *, const struct imap_section *,
	    struct buf *scratch, const char **p, size_t *n);

/*
 * The whole FETCH item: "BODY[1.2.HEADER.FIELDS (A B)]<origin> {n}\r\n"
 * and the bytes (a literal always, as Dovecot sends; "{0}\r\n" when
 * empty). RFC 3501 6.4.5: the origin is echoed, the count is not; an
 * origin past the end gives an empty literal. Field names are echoed in
 * upper case, as Dovecot does. 0 or -1 as above.
 */
int	imap_msg_fetch_section(const struct imap_msg *,
	    const struct imap_section *, struct buf *out);

/*
 * IMAP strings (RFC 3501 4.3): quoted when short and 7-bit without CR,
 * LF or NUL ('"' and '\' escaped), a literal otherwise. nstring: NIL for
 * NULL.
 */
int	imap_append_string(struct buf *, const char *, size_t);
int	imap_append_nstring(struct buf *, const char *);

#endif
