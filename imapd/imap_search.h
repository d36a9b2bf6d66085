/*
 * imap_search.h - SEARCH and UID SEARCH (RFC 3501 6.4.4, every key),
 * with CHARSET UTF-8 / US-ASCII, CONDSTORE's MODSEQ key (RFC 7162
 * 3.1.5), ESEARCH's RETURN (MIN MAX ALL COUNT, RFC 4731) and WITHIN's
 * OLDER / YOUNGER (RFC 5032).
 *
 * A program is parsed once from the tokenizer's arguments into a tree
 * (imap_search.c), then asked of each message in turn (imap_search_match.c)
 * against what the caller knows of it: its index record, and a lazy
 * "open the message" that only header and text keys call, so that a
 * search on flags, sizes, dates or sets never reads a file. Header and
 * text keys compare decoded text (RFC 2047 words, quoted-printable,
 * base64, charsets to UTF-8) with Unicode simple case folding, as
 * Dovecot does (imap_search_text.c).
 *
 * Bounds: a program has at most IMAP_SEARCH_KEYS keys nested at most
 * IMAP_SEARCH_DEPTH deep (OR and NOT count as levels, as parentheses
 * do), so evaluation recursion is bounded; matching one message costs
 * O(keys) plus, for header and text keys, one read and one MIME parse
 * of the message and O(size) per key.
 *
 * A session runs one as: imap_search_parse (BAD / NO [BADCHARSET] on
 * failure; with imap_search_needs_modseq, CONDSTORE is on from now),
 * then for each message of the view in sequence order its record
 * (mailindex_get, or mailindex_scan's, skipping UIDs not in the view)
 * into imap_search_match, each match into imap_search_result_add (its
 * sequence number, or UID for UID SEARCH), then imap_search_result_write
 * and "<tag> OK". open_msg is called from inside imap_search_match: a
 * caller inside mailindex_scan's callback must not have it change the
 * index. No EXPUNGE may be sent meanwhile (RFC 3501 7.4.1).
 */
#ifndef POSTERN_IMAP_SEARCH_H
#define POSTERN_IMAP_SEARCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"
#include "imap_parse.h"
#include "mailindex.h"

/* Keys (each OR, NOT and parenthesised group counts) in one program. */
#define IMAP_SEARCH_KEYS	2000
/* Nesting of groups, OR and NOT. */
#define IMAP_SEARCH_DEPTH	64
/* A message read for header or text keys is refused past this. */
#define IMAP_SEARCH_MSG_MAX	(256u * 1024 * 1024)

/* RETURN options (RFC 4731); 0 from imap_search_return: plain SEARCH. */
#define IMAP_SEARCH_RET_MIN	0x01
#define IMAP_SEARCH_RET_MAX	0x02
#define IMAP_SEARCH_RET_ALL	0x04
#define IMAP_SEARCH_RET_COUNT	0x08

struct imap_search;

/*
 * args: the first argument after SEARCH (RETURN and CHARSET included).
 * 0 and *out; -1 BAD, err the text ("<tag> BAD <err>"); -2 an unknown
 * charset, err "[BADCHARSET (UTF-8 US-ASCII)] ..." ("<tag> NO <err>").
 */
int	imap_search_parse(const struct imap_arg *args, int uid_cmd,
	    struct imap_search **out, char *err, size_t errsz);
void	imap_search_free(struct imap_search *);
/* 1 if the program has a MODSEQ key (it enables CONDSTORE, RFC 7162 3.1). */
int	imap_search_needs_modseq(const struct imap_search *);
/* 1 if some key needs the message itself (header, body, text, sent date). */
int	imap_search_needs_msg(const struct imap_search *);
/* IMAP_SEARCH_RET_* given with RETURN (ESEARCH answer), or 0. */
unsigned imap_search_return(const struct imap_search *);

struct imap_search_ctx {
	uint32_t	 nmsgs;		/* "*" of a sequence set */
	uint32_t	 maxuid;	/* "*" of a UID set */
	/*
	 * The keyword letter (0..25) of name, -1 none: then KEYWORD
	 * matches nothing and UNKEYWORD everything.
	 */
	int		(*keyword)(void *arg, const char *name);
	/* A read-only fd on the message's file, -1 (errno) if gone. */
	int		(*open_msg)(void *arg, uint32_t uid);
	/* 1 if the message is \Recent in this session; NULL: none is. */
	int		(*recent)(void *arg, uint32_t uid);
	/*
	 * A cache of raw headers for the header keys, optional: get gives
	 * one (1 and a malloc'd copy, 0 none); put offers one just read
	 * from the file (a header of at most IMAP_SEARCH_HEADER_READ).
	 */
	int		(*header_get)(void *arg, uint32_t uid, char **data,
			    size_t *len);
	void		(*header_put)(void *arg, uint32_t uid,
			    const char *data, size_t len);
	void		*arg;
	time_t		 now;		/* OLDER, YOUNGER */
	long		 tz_offset_s;	/* the server's zone, east of UTC */
	/*
	 * 1: the server's zone is the process's (localtime_r, so that a
	 * summer INTERNALDATE gets the summer offset); tz_offset_s unused.
	 */
	int		 local_zone;
};

/*
 * Does message seq (record m) match? 1, 0, or -1 (read error or no
 * memory: answer NO). A message whose file is gone (ENOENT: expunged by
 * someone else) does not match.
 */
int	imap_search_match(const struct imap_search *,
	    struct imap_search_ctx *, uint32_t seq,
	    const struct mailindex_msg *);

/*
 * The answer. Add matches in increasing order (sequence numbers, or UIDs
 * for UID SEARCH) with their MODSEQ; then write "* SEARCH ...\r\n" (with
 * "(MODSEQ n)" when the program had a MODSEQ key and something matched,
 * RFC 7162 3.1.5) or, with RETURN, "* ESEARCH (TAG "t") [UID] ...\r\n".
 */
struct imap_search_result {
	uint32_t	*v;
	size_t		 n, cap;
	uint64_t	 modseq_max;	/* of all matches */
	uint64_t	 modseq_first;	/* of the smallest */
	uint64_t	 modseq_last;	/* of the largest */
};

void	imap_search_result_init(struct imap_search_result *);
void	imap_search_result_free(struct imap_search_result *);
/* 0, or -1 (no memory, or not increasing: EINVAL). */
int	imap_search_result_add(struct imap_search_result *, uint32_t num,
	    uint64_t modseq);
/* 0, or -1 when out cannot grow. */
int	imap_search_result_write(const struct imap_search *,
	    const struct imap_search_result *, const char *tag,
	    struct buf *out);

/*
 * Text comparison (imap_search_text.c), also for the tests: s folded
 * (Unicode simple case folding of UTF-8; bytes that are no UTF-8 become
 * U+FFFD) appended to out. 0 or -1 (no memory).
 */
int	imap_search_fold(const char *s, size_t len, struct buf *out);

#endif
