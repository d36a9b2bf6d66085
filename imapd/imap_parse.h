/*
 * imap_parse.h - the IMAP tokenizer (imap_parse.c: one command, as
 * imap_reader assembled it, into tag, name and an argument tree) and the
 * typed readers of its arguments (imap_args.c: numbers, astrings,
 * mailboxes, LIST patterns, flags, dates, FETCH attributes with their
 * BODY[section]<partial>), RFC 3501 9.
 *
 * The tokenizer is liberal where the grammar's shapes need context (a
 * number, NIL and a mailbox called NIL are all atoms) and strict on
 * bytes: no CR, LF, NUL or CTL outside literals, 8-bit only in quoted
 * strings and literals, no NUL in literals, lists nested at most
 * IMAP_PARSE_DEPTH deep. The typed readers check each shape exactly.
 */
#ifndef POSTERN_IMAP_PARSE_H
#define POSTERN_IMAP_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "imap_reader.h"
#include "imap_section.h"

/* Parenthesised lists nested deeper are BAD. */
#define IMAP_PARSE_DEPTH	16
/* Arguments (list elements included) in one command. */
#define IMAP_PARSE_ARGS		10000
/* Command names are short: longer is an unknown command. */
#define IMAP_NAME_MAX		32

enum imap_arg_type {
	IMAP_ARG_ATOM,		/* also numbers, NIL, \Flags, BODY[...]<..> */
	IMAP_ARG_QUOTED,	/* unescaped */
	IMAP_ARG_LITERAL,
	IMAP_ARG_LIST,
};

struct imap_arg {
	enum imap_arg_type	 type;
	/*
	 * ATOM, QUOTED, LITERAL: the bytes, NUL-terminated (none inside:
	 * the tokenizer refuses NUL), owned by the imap_request (atoms and
	 * quoted strings) or by the imap_cmd (literals).
	 */
	const char		*s;
	size_t			 len;
	struct imap_arg		*list;	/* LIST: first element, or NULL */
	size_t			 n;	/* LIST: its number of elements */
	struct imap_arg		*next;	/* the next sibling, or NULL */
};

struct imap_request {
	const char	*tag;
	char		 name[IMAP_NAME_MAX + 1];	/* upper case */
	int		 uid;		/* "UID FETCH": name FETCH, uid 1 */
	struct imap_arg	*args;		/* after the name; NULL if none */
	size_t		 nargs;		/* top-level arguments */
	/* Why it is BAD ("BAD" not included), when imap_parse fails. */
	char		 err[96];
	/* Storage: one arena each, sized from the command, freed whole. */
	struct imap_arg	*pool;
	size_t		 npool, poolcap;
	char		*str;
	size_t		 nstr, strcap;
};

void	imap_request_init(struct imap_request *);
void	imap_request_free(struct imap_request *);
/*
 * Tokenizes cmd into req (whose earlier content is dropped): 0, or -1
 * with req->err (answer "<tag> BAD <err>"; req->tag is set if the tag
 * was valid, else NULL: answer "* BAD"). The args point into req and
 * into cmd: keep both while they are used.
 */
int	imap_parse(struct imap_request *, const struct imap_cmd *);

/* The i-th (0-based) top-level argument, or NULL. */
const struct imap_arg *imap_req_arg(const struct imap_request *, size_t i);

/* Case-insensitive atom comparison ("NIL", "FLAGS.SILENT", ...). */
int	imap_arg_is(const struct imap_arg *, const char *atom);
int	imap_arg_nil(const struct imap_arg *);
/* number (0..4294967295) and nz-number; 0 or -1. */
int	imap_arg_number(const struct imap_arg *, uint32_t *);
int	imap_arg_nznumber(const struct imap_arg *, uint32_t *);
/* mod-sequence-value (RFC 7162: 1..2^63-1); allow0 for "0" too. */
int	imap_arg_modseq(const struct imap_arg *, uint64_t *, int allow0);
/* astring: an atom of ASTRING-CHARs, a quoted string or a literal. */
int	imap_arg_astring(const struct imap_arg *, const char **, size_t *);
/* nstring: NIL (*s NULL) or a string (quoted or literal). */
int	imap_arg_nstring(const struct imap_arg *, const char **, size_t *);
/* mailbox: an astring; any case of "INBOX" is returned as "INBOX". */
int	imap_arg_mailbox(const struct imap_arg *, const char **, size_t *);
/* list-mailbox: atom of list-chars (with % and *), or a string. */
int	imap_arg_list_mailbox(const struct imap_arg *, const char **,
	    size_t *);
/* A sequence set's syntax (imap_seqset.h reads it against a mailbox). */
int	imap_arg_seqset(const struct imap_arg *, const char **, size_t *);

/* System flags (RFC 3501 2.3.2); \Recent cannot be set by a client. */
#define IMAP_FLAG_SEEN		0x01
#define IMAP_FLAG_ANSWERED	0x02
#define IMAP_FLAG_FLAGGED	0x04
#define IMAP_FLAG_DELETED	0x08
#define IMAP_FLAG_DRAFT		0x10
/* Keywords in one flag list (Dovecot's dovecot-keywords holds 26). */
#define IMAP_KEYWORDS_MAX	64

struct imap_flags {
	unsigned	 sys;		/* IMAP_FLAG_* */
	const char	*kw[IMAP_KEYWORDS_MAX];	/* atoms, as sent */
	size_t		 nkw;
};

/*
 * Flags from n arguments starting at first (a flag list's elements, or
 * STORE's "+FLAGS \Seen \Flagged"): \Seen... any case, keywords as
 * atoms. Unknown \System flags, \Recent, \* and non-atoms are -1.
 */
int	imap_flags_parse(const struct imap_arg *first, size_t n,
	    struct imap_flags *);
/* A parenthesised flag list (APPEND, STORE FLAGS (...)). */
int	imap_flaglist_parse(const struct imap_arg *, struct imap_flags *);

/* date "1-Feb-1994" (atom or quoted): 00:00:00 UTC of that day. */
int	imap_arg_date(const struct imap_arg *, time_t *);
/*
 * date-time "17-Jul-1996 02:44:25 -0700" (quoted): the instant, and the
 * zone in minutes east of UTC (-420 here).
 */
int	imap_arg_datetime(const struct imap_arg *, time_t *, int *zone);
int	imap_datetime_parse(const char *, size_t, time_t *, int *zone);

enum imap_fetch_item {
	IMAP_FETCH_UID,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,		/* BODY alone: BODYSTRUCTURE without ext */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_RFC822,		/* = BODY[] (sets \Seen) */
	IMAP_FETCH_RFC822_HEADER,	/* = BODY.PEEK[HEADER] */
	IMAP_FETCH_RFC822_TEXT,		/* = BODY[TEXT] */
	IMAP_FETCH_MODSEQ,		/* RFC 7162 */
	IMAP_FETCH_SECTION,		/* BODY[...] / BODY.PEEK[...]: sec */
};

/* Attributes one FETCH may ask for; more is BAD. */
#define IMAP_FETCH_MAX		64

struct imap_fetch_att {
	enum imap_fetch_item	item;
	struct imap_section	sec;	/* IMAP_FETCH_SECTION only */
};

/* One fetch-att atom. */
int	imap_fetch_att_parse(const struct imap_arg *, struct imap_fetch_att *);
/*
 * FETCH's argument: ALL, FAST, FULL, one fetch-att, or a list of them;
 * into att[0..max), *n of them.
 */
int	imap_fetch_parse(const struct imap_arg *, struct imap_fetch_att *,
	    size_t max, size_t *n);
/* "[section]<partial>" text, from the "[" on (the atom's tail). */
int	imap_section_parse(const char *, size_t, struct imap_section *);

#endif
