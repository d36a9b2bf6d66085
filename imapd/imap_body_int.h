/*
 * imap_body_int.h - what imap_body.c and imap_envelope.c share.
 */
#ifndef POSTERN_IMAP_BODY_INT_H
#define POSTERN_IMAP_BODY_INT_H

#include "imap_body.h"
#include "mime.h"

struct imap_msg {
	char			*data;	/* the CRLF form */
	size_t			 len;
	struct mime_parser	*parser;
	struct mime_part	*root;
};

/* ENVELOPE of the header section hdr[0, len). */
int	imap_envelope_append(const char *hdr, size_t len, struct buf *out);

#endif
