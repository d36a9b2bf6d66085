/*
 * mailhdr.h - RFC 5322 header sections as the sendmail injector sees them:
 * split into fields, unfolded, address lists extracted, fields removed.
 */
#ifndef POSTERN_MAILHDR_H
#define POSTERN_MAILHDR_H

#include <stddef.h>

#include "addr.h"
#include "buf.h"

#define MAILHDR_SECTION_MAX	(1024 * 1024)	/* whole header section */
#define MAILHDR_FIELDS_MAX	10000
#define MAILHDR_NAME_MAX	256		/* longer is not a field name */
#define MAILHDR_ADDRS_MAX	10000		/* addresses in one list */
#define MAILHDR_NEST_MAX	64		/* comment nesting */

struct mailhdr_field {
	char	*name;		/* as written, without the colon */
	char	*value;		/* unfolded, leading white space dropped */
	size_t	 off;		/* raw bytes in the message: off..off+len */
	size_t	 len;		/* including the final LF */
	int	 deleted;
};

struct mailhdr {
	size_t			 n;
	struct mailhdr_field	*f;
	size_t			 body_off;	/* first byte after the header */
	int			 has_blank;	/* a blank line ended the header */
};

struct mailhdr_addrs {
	size_t	  n;
	char	**v;
};

/*
 * Splits msg (LF line ends) into header fields. The section ends at the
 * first blank line, or at the first line that is not a header field (that
 * line starts the body, as in Postfix's cleanup). Fails, with a reason in
 * err, on a NUL byte in the header or a section or field count past the
 * limits above.
 */
int	mailhdr_parse(const char *msg, size_t len, struct mailhdr *,
	    char *err, size_t errlen);
void	mailhdr_free(struct mailhdr *);
/* First field with this name (case-insensitive), or NULL. */
struct mailhdr_field *mailhdr_find(struct mailhdr *, const char *name);
/* Marks every field with this name deleted; returns how many. */
size_t	mailhdr_delete(struct mailhdr *, const char *name);
/*
 * Appends the raw bytes of every field not deleted, in order, to out
 * (without the blank line that ends the section).
 */
int	mailhdr_write(const struct mailhdr *, const char *msg, struct buf *out);

/*
 * Extracts the addresses of an RFC 5322 address list ("a@b, Name <c@d>,
 * "Q, N" <e@f> (comment), group: g@h, i@j;") and appends them to out:
 * display names, comments, group names and source routes are dropped,
 * quoted local parts are kept as written. An entry without '@' is
 * returned as is (the caller decides what a bare name means). Fails on
 * unterminated quotes, comments, brackets or angle brackets, on an
 * address longer than ADDR_MAX and past MAILHDR_ADDRS_MAX addresses.
 */
int	mailhdr_addrlist(const char *value, struct mailhdr_addrs *out,
	    char *err, size_t errlen);
/* Appends one copy of addr unless out already has it (case-insensitive). */
int	mailhdr_addrs_add(struct mailhdr_addrs *, const char *addr);
void	mailhdr_addrs_free(struct mailhdr_addrs *);

#endif
