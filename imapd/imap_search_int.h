/*
 * imap_search_int.h - what imap_search.c (the program parser and the
 * answer), imap_search_match.c (evaluation) and imap_search_text.c
 * (decoding and case folding) share.
 */
#ifndef POSTERN_IMAP_SEARCH_INT_H
#define POSTERN_IMAP_SEARCH_INT_H

#include "imap_search.h"
#include "imap_seqset.h"
#include "mime.h"

enum imap_skind {
	IMAP_SK_ALL,
	IMAP_SK_AND,		/* kids; a parenthesised group, the program */
	IMAP_SK_OR,		/* two kids */
	IMAP_SK_NOT,		/* one kid */
	IMAP_SK_SEQ,		/* set: sequence numbers */
	IMAP_SK_UID,		/* set: UIDs */
	IMAP_SK_FLAG,		/* flag set (KEYWORDS_* bit) */
	IMAP_SK_UNFLAG,		/* flag not set */
	IMAP_SK_KEYWORD,	/* str */
	IMAP_SK_UNKEYWORD,
	IMAP_SK_RECENT,
	IMAP_SK_BEFORE,		/* date: INTERNALDATE, the server's zone */
	IMAP_SK_ON,
	IMAP_SK_SINCE,
	IMAP_SK_SENTBEFORE,	/* date: the Date header's, its own zone */
	IMAP_SK_SENTON,
	IMAP_SK_SENTSINCE,
	IMAP_SK_LARGER,		/* num */
	IMAP_SK_SMALLER,
	IMAP_SK_MODSEQ,		/* num: at least */
	IMAP_SK_OLDER,		/* num seconds (RFC 5032) */
	IMAP_SK_YOUNGER,
	IMAP_SK_HEADER,		/* str the field name, text the folded needle */
	IMAP_SK_BODY,		/* text */
	IMAP_SK_TEXT,		/* text */
};

/* What of the file a key needs (bits, or-ed up the tree). */
#define IMAP_NEEDS_HEADER	0x01	/* HEADER, FROM, SENTON, ... */
#define IMAP_NEEDS_WHOLE	0x02	/* BODY, TEXT */

struct imap_snode {
	enum imap_skind		 kind;
	int			 needs_msg;	/* IMAP_NEEDS_*: it or below */
	uint32_t		 flag;
	uint64_t		 num;
	time_t			 date;		/* 00:00 UTC of the day */
	char			*str;
	char			*text;		/* folded, NUL-terminated */
	size_t			 textlen;
	/* A set as sent, and as read against the last "*" it met. */
	char			*set;
	size_t			 setlen;
	struct imap_seqset	 rs;
	uint32_t		 rs_star;
	int			 rs_ok;
	struct imap_snode	*kids;
	struct imap_snode	*next;
};

struct imap_search {
	struct imap_snode	*root;		/* an AND */
	size_t			 nkeys;
	unsigned		 ret;		/* IMAP_SEARCH_RET_* */
	int			 uid;
	int			 modseq;
	int			 needs_msg;
};

/*
 * One message opened for the header and text keys of one match, read
 * and parsed at most once.
 */
struct imap_search_msg {
	int			 gone;		/* ENOENT: not a match */
	int			 failed;	/* error: the match is -1 */
	char			*data;		/* the file, or its start */
	size_t			 len;
	size_t			 hdr_len;	/* the header: data[0, hdr_len) */
	struct mime_parser	*parser;
	struct mime_part	*root;		/* NULL: the header only */
	struct buf		 tmp, tmp2, fold;
	/* The Date header, read at most once. */
	int			 date_done;
	int			 date_ok;
	time_t			 date;		/* local time of its zone */
};

void	imap_search_msg_init(struct imap_search_msg *);
void	imap_search_msg_free(struct imap_search_msg *);
/*
 * Reads the message: the header at least, and all of it parsed when
 * whole (the body keys). 0, or -1 (gone or failed set).
 */
#define IMAP_SEARCH_HEADER_READ	16384	/* read at most for the header */
#define IMAP_SEARCH_HEADER_FIRST 4096	/* read first: most headers fit */
int	imap_search_msg_load(struct imap_search_msg *,
	    struct imap_search_ctx *, uint32_t uid, int whole);
/* The key's text in the message: 1, 0, -1 no memory. */
int	imap_search_msg_header(struct imap_search_msg *,
	    const struct imap_snode *);
int	imap_search_msg_body(struct imap_search_msg *,
	    const struct imap_snode *, int with_headers);
/* The Date header as local time of its own zone: 1, 0 none or bad. */
int	imap_search_msg_date(struct imap_search_msg *, time_t *);
/* An RFC 5322 date-time: 0 and its wall clock (its own zone) as if
 * it were UTC, or -1. */
int	imap_search_rfc5322_date(const char *, size_t, time_t *);

#endif
