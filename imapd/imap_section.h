/*
 * imap_section.h - a parsed BODY[section]<partial> (RFC 3501 6.4.5,
 * 9: "section", "section-spec", "partial"), the one shape the command
 * parser (imap_parse) produces and the body fetcher (imap_body) reads.
 */
#ifndef POSTERN_IMAP_SECTION_H
#define POSTERN_IMAP_SECTION_H

#include <stddef.h>
#include <stdint.h>

/* Deeper part numbers than any real message; the parser refuses more. */
#define IMAP_SECTION_DEPTH	32
/* Field names in one HEADER.FIELDS (...) list. */
#define IMAP_SECTION_FIELDS	64

enum imap_section_text {
	IMAP_SEC_ALL = 0,	/* BODY[] or BODY[1.2]: the whole (part) */
	IMAP_SEC_HEADER,	/* HEADER */
	IMAP_SEC_HEADER_FIELDS,	/* HEADER.FIELDS (...) */
	IMAP_SEC_HEADER_FIELDS_NOT, /* HEADER.FIELDS.NOT (...) */
	IMAP_SEC_TEXT,		/* TEXT */
	IMAP_SEC_MIME,		/* MIME (only after a part number) */
};

struct imap_section {
	uint32_t		 part[IMAP_SECTION_DEPTH]; /* 1-based */
	size_t			 nparts;	/* 0: the message itself */
	enum imap_section_text	 text;
	/* For HEADER.FIELDS(.NOT): names as sent (the fetcher compares
	 * case-insensitively), pointing into the command's buffer. */
	const char		*field[IMAP_SECTION_FIELDS];
	size_t			 field_len[IMAP_SECTION_FIELDS];
	size_t			 nfields;
	int			 partial;	/* <origin.count> given */
	uint32_t		 origin;
	uint32_t		 count;		/* > 0 (RFC 3501: nz-number) */
	int			 peek;		/* BODY.PEEK: no \Seen */
};

#endif
