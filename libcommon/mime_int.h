/*
 * mime_int.h - what the files of the MIME parser (mime.c, mime_field.c,
 * mime_word.c) share and nobody else sees.
 */
#ifndef POSTERN_MIME_INT_H
#define POSTERN_MIME_INT_H

#include "mime.h"

/* mime_part.state */
#define MIME_ST_HEADER		0	/* reading the part's header */
#define MIME_ST_BODY		1	/* body; a multipart: before its close */
#define MIME_ST_EPILOGUE	2	/* a multipart after its close */

/* Longest type or subtype token kept (RFC 6838 4.2: 127). */
#define MIME_TOKEN_MAX		127

struct mime_parser {
	struct mime_limits	 lim;
	struct mime_part	*root;
	struct mime_part	*cur;		/* innermost open part */
	size_t			 nparts;
	size_t			 mem;		/* string bytes of the tree */
	unsigned		 hits;		/* MIME_HIT_* */
	int			 nomem;
	int			 ended;

	size_t			 off;		/* bytes fed so far */
	size_t			 eols;		/* line ends so far */
	size_t			 prev_eol;	/* line end of the last line */
	size_t			 prev_len;	/* its length without it */

	/* The line being read: its start, a kept prefix, all its length. */
	char			*line;
	size_t			 line_cap;
	size_t			 line_keep;
	size_t			 line_start;
	size_t			 line_len;	/* kept */
	size_t			 line_total;	/* all, CR included */
	int			 line_tail_ws;	/* dropped bytes all WSP/CR */
	int			 line_last;	/* last byte of it, or -1 */

	/* The Content-* field being read, unfolded (others are skipped). */
	struct buf		 field;
	int			 field_on;
	size_t			 hdr_bytes;
};

/* A copy of n bytes at s, NUL-terminated, charged to p->mem. */
char	*mime_strndup(struct mime_parser *, struct mime_part *,
	    const char *, size_t);
/* The unfolded field "Name: value" (n bytes) applied to part x. */
void	mime_field_apply(struct mime_parser *, struct mime_part *,
	    const char *, size_t);
/* Frees the strings of a part (not the part). */
void	mime_part_strings_free(struct mime_part *);
/* The defaults of RFC 2045 5.2 and 2046 5.1.5 where no field said. */
int	mime_part_defaults(struct mime_parser *, struct mime_part *);

#endif
