/*
 * mime.h - the one MIME parser (RFC 5322, 2045, 2046, 2047, 2231): a
 * streaming parser that turns a message, fed in chunks of any size, into
 * the tree of parts IMAP needs for BODYSTRUCTURE, section fetches and
 * SEARCH, plus the header-field reader and the encoded-word decoder.
 *
 * Pure code: no I/O, no logging, no globals. Every input byte is
 * untrusted; every limit below bounds memory or work, and hitting one is
 * never an error, only a flag on the tree (the message is still served).
 */
#ifndef POSTERN_MIME_H
#define POSTERN_MIME_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

/*
 * Limits. The defaults are what mime_parser_new(NULL) uses; a caller may
 * lower (or raise) them with struct mime_limits.
 */
#define MIME_DEPTH_MAX		20	/* parts deeper are leaves */
#define MIME_PARTS_MAX		10000	/* parts past this are not made */
#define MIME_FIELD_MAX		16384	/* bytes kept of one unfolded field */
#define MIME_HEADER_MAX		262144	/* header bytes of one part read */
#define MIME_MEM_MAX		(8 * 1024 * 1024) /* strings of a tree */
#define MIME_BOUNDARY_MAX	70	/* RFC 2046 5.1.1 */
#define MIME_PARAMS_MAX		32	/* parameters of one field */
#define MIME_PARAM_NAME_MAX	64
#define MIME_PARAM_VALUE_MAX	2048	/* a joined RFC 2231 value */
#define MIME_PARAM_SECTIONS_MAX	100	/* RFC 2231 name*0 .. name*99 */
#define MIME_VALUE_MAX		1024	/* Content-ID, -Description, ... */
#define MIME_DECODE_MAX		65536	/* UTF-8 out of mime_decode_words */

struct mime_limits {
	unsigned	depth;		/* MIME_DEPTH_MAX */
	unsigned	parts;		/* MIME_PARTS_MAX */
	size_t		field;		/* MIME_FIELD_MAX */
	size_t		header;		/* MIME_HEADER_MAX */
	size_t		mem;		/* MIME_MEM_MAX */
};

/*
 * A parameter (Content-Type, Content-Disposition). Names are lower-cased.
 * RFC 2231 continuations (name*0, name*1*, ...) are joined into one; when
 * the value is extended (charset'language'%XX...) the name keeps its
 * trailing "*" and the value is kept raw, as IMAP clients expect to see it
 * in BODYSTRUCTURE (mime_param_decode turns it into UTF-8).
 */
struct mime_param {
	char	*name;
	char	*value;
};

struct mime_params {
	struct mime_param	*v;
	size_t			 n;
};

/* mime_part.flags */
#define MIME_PART_HDR_TRUNC	0x01	/* header past limits.header */
#define MIME_PART_STR_TRUNC	0x02	/* a value or parameter cut/dropped */
#define MIME_PART_NO_END	0x04	/* multipart: its close never came */
#define MIME_PART_DEPTH		0x08	/* a container left a leaf: depth */
#define MIME_PART_NO_HDR_END	0x10	/* the header had no empty line */

/*
 * One part. Offsets are in the bytes fed, counting every byte (CR, LF,
 * NUL alike): the header is [hdr_off, body_off), the body [body_off,
 * end_off). A multipart child's body ends before the line end that
 * precedes its delimiter (that line end belongs to the delimiter, RFC
 * 2046 5.1.1). lines counts the body's lines: its line ends, plus one for
 * a last line without one.
 *
 * A message/rfc822 part (not base64 or quoted-printable) has one child,
 * the embedded message, whose header starts at the part's body_off. A
 * multipart has its body parts as children; one whose boundary is missing
 * or never appears has none (its body is one leaf to its end).
 */
struct mime_part {
	struct mime_part	*parent;
	struct mime_part	*children;	/* first child */
	struct mime_part	*next;		/* next sibling */
	size_t			 nchildren;
	unsigned		 depth;		/* the message is 0 */
	unsigned		 flags;

	size_t			 hdr_off;
	size_t			 body_off;
	size_t			 end_off;
	size_t			 lines;

	/* Never NULL: defaults per RFC 2045 5.2 / 2046 5.1.5. Lower-cased. */
	char			*type;
	char			*subtype;
	struct mime_params	 params;	/* charset=us-ascii by default */
	char			*encoding;	/* lower-cased, NULL: 7bit */
	char			*id;		/* raw values, unfolded, trimmed */
	char			*description;
	char			*disposition;	/* lower-cased */
	struct mime_params	 disp_params;
	char			*language;
	char			*location;
	char			*md5;

	/* Parser state, private. */
	struct mime_part	*last_child;
	char			*boundary;
	size_t			 eol_base;
	int			 state;
};

/* mime_tree.flags: which limits the message hit */
#define MIME_HIT_DEPTH		0x01
#define MIME_HIT_PARTS		0x02
#define MIME_HIT_MEM		0x04
#define MIME_HIT_HEADER		0x08

struct mime_parser;

/* NULL on allocation failure; limits NULL: the defaults. */
struct mime_parser *mime_parser_new(const struct mime_limits *);
/* 0, or -1 on allocation failure or after mime_end (the tree so far
 * stays usable). */
int	mime_feed(struct mime_parser *, const void *, size_t);
/* Ends the input: every open part ends at the last byte fed. */
int	mime_end(struct mime_parser *);
/* The tree; valid until mime_parser_free. Complete after mime_end. */
struct mime_part *mime_root(struct mime_parser *);
size_t	mime_nparts(const struct mime_parser *);
unsigned mime_hits(const struct mime_parser *);
void	mime_parser_free(struct mime_parser *);

/* The value of parameter name (case-insensitive) or NULL. */
const char *mime_param_get(const struct mime_params *, const char *name);

/*
 * The header-field reader, over the raw bytes of one header section (say
 * [hdr_off, body_off) of a part), for ENVELOPE and HEADER.FIELDS.
 *
 * mime_header_next steps through the fields from *pos: a field's raw bytes
 * are [off, off + len), its continuation lines and final line end
 * included; its name is [off, off + name_len). Lines that are no field
 * (no colon, or a name with bytes RFC 5322 forbids) are skipped. 1: a
 * field, 0: the end.
 */
struct mime_field {
	size_t	off;
	size_t	len;
	size_t	name_len;
	size_t	value_off;	/* just past the colon */
};

int	mime_header_next(const char *hdr, size_t len, size_t *pos,
	    struct mime_field *);
/*
 * Where the header of a message's first n bytes d ends, past its empty
 * line, as the parser takes it (a line ends in LF, with CR before it or
 * not): 1 and *end, or 0 when those bytes hold no empty line. Lets a
 * reader of the header alone stop at it.
 */
int	mime_header_length(const char *d, size_t n, size_t *end);
/*
 * Reads the start of the message on fd into buf (cap bytes) for its
 * header alone: first bytes (fewer when size, if not 0, says the file
 * is shorter), and up to cap only when the header did not end in them.
 * The bytes read, or -1 (errno); *hdr_len the header's length with its
 * empty line (mime_header_length) when it ended in them, else 0: a
 * header longer than cap, or a file with no empty line (all header when
 * it was read whole).
 */
ssize_t	mime_read_header(int fd, uint64_t size, char *buf, size_t first,
	    size_t cap, size_t *hdr_len);
/*
 * The nth (0-based) field called name: its value unfolded (line ends
 * before whitespace removed), leading and trailing whitespace trimmed,
 * NUL bytes dropped, at most MIME_FIELD_MAX bytes, into out (reset,
 * NUL-terminated). 0 if found, -1 if not (or no memory).
 */
int	mime_header_get(const char *hdr, size_t len, const char *name,
	    size_t nth, struct buf *out);

/*
 * RFC 2047: the text of an unstructured field (or a phrase) with its
 * encoded words decoded to UTF-8, appended to out. B and Q; charsets
 * utf-8, us-ascii, iso-8859-1, iso-8859-15 and windows-1252 (with an RFC
 * 2231 "*language" suffix or not); a word in another charset, or a
 * malformed one, is left as it is. Whitespace between two encoded words
 * goes (RFC 2047 6.2). Bytes that are no valid UTF-8 become U+FFFD.
 * At most MIME_DECODE_MAX bytes are appended. 0, or -1 on no memory.
 */
int	mime_decode_words(const char *in, size_t len, struct buf *out);

/*
 * An RFC 2231 extended value (charset'language'%XX..., as a parameter
 * named "name*" holds it) decoded to UTF-8, appended to out; the same
 * charsets as above. -1 if the charset is another or out of memory.
 */
int	mime_param_decode(const char *value, struct buf *out);

/*
 * A body's text in charset (a MIME charset name; NULL, or one not among
 * those above, is read as UTF-8) appended to out as UTF-8, with no
 * MIME_DECODE_MAX cut (SEARCH BODY reads whole parts). 0, or -1 on no
 * memory.
 */
int	mime_charset_decode(const char *charset, const void *in, size_t len,
	    struct buf *out);

#endif
