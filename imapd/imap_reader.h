/*
 * imap_reader.h - reads one whole IMAP command from the client: its
 * lines and the literals between them (RFC 3501 4.3 and 7.5, LITERAL+
 * and LITERAL- of RFC 7888), with every size checked at the literal's
 * announcement, before the client sends it.
 */
#ifndef POSTERN_IMAP_READER_H
#define POSTERN_IMAP_READER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "netio.h"

/* RFC 7888 5: LITERAL- takes non-synchronising literals up to this. */
#define IMAP_LITERAL_MINUS_MAX	4096
/* Tags we echo back; longer ones are BAD. */
#define IMAP_TAG_MAX		64

struct imap_limits {
	size_t	line_max;	/* one line, CRLF counted (netio's limit) */
	size_t	literal_max;	/* one literal (APPEND: the message size) */
	size_t	command_max;	/* lines + literals of one command */
	size_t	literals_max;	/* literals in one command */
	/*
	 * Largest non-synchronising literal taken: SIZE_MAX for LITERAL+,
	 * IMAP_LITERAL_MINUS_MAX for LITERAL-, 0 when neither is offered.
	 */
	size_t	nonsync_max;
	/*
	 * A refused literal that is already coming (non-synchronising) is
	 * read and dropped, up to this many bytes in one command; past it
	 * the session ends (RFC 7888 4: reject, or read and discard).
	 */
	size_t	discard_max;
	time_t	timeout;	/* for a line; a literal adds 1 s per 64 KiB */
};

/* Where a literal's bytes are in imap_cmd.buf. */
struct imap_lit {
	size_t	off;
	size_t	len;
};

/*
 * One command as read. buf holds its first line, then for each literal
 * the literal's bytes, one NUL (not counted in its len), and the line
 * that follows, and so on; every line without its CRLF, each ending in
 * its literal's announcement "{N}" or "{N+}" except the last. buf[len]
 * is NUL. The parser (imap_parse.h) reads it.
 */
struct imap_cmd {
	char		*buf;
	size_t		 len;
	size_t		 cap;
	struct imap_lit	*lit;
	size_t		 nlit;
	size_t		 litcap;
};

enum imap_rd_status {
	IMAP_RD_OK = 0,	/* one command in the imap_cmd */
	/*
	 * The command is refused and consumed whole: answer
	 * "<rd->tag> <rd->resp>" and read the next one.
	 */
	IMAP_RD_REJECT,
	/*
	 * The input can no longer be followed (an overlong line, a refused
	 * literal too big to drop): answer "* BYE <rd->resp>" and close.
	 */
	IMAP_RD_CLOSE,
	IMAP_RD_EOF,	/* EOF, even in the middle of a command */
	IMAP_RD_TIMEOUT,
	IMAP_RD_ERROR,	/* transport error, or out of memory (resp says) */
};

/*
 * Called when a synchronising literal of n bytes has been accepted,
 * before its bytes are read: the caller answers "+ ..." through the
 * same netio (the next read flushes it). Returning -1 ends the read
 * with IMAP_RD_ERROR.
 */
typedef int (*imap_rd_cont_fn)(struct netio *, size_t n, void *arg);

struct imap_reader {
	struct netio		*io;
	struct imap_limits	 lim;
	imap_rd_cont_fn		 cont;
	void			*arg;
	char			*line;		/* lim.line_max bytes */
	char			 tag[IMAP_TAG_MAX + 1];	/* "*" if none */
	char			 resp[128];	/* "BAD ...", "NO [TOOBIG] ..." */
};

/* Limits a session starts from (LITERAL+; the caller tunes them). */
void	imap_limits_default(struct imap_limits *);
/* 0, or -1 (out of memory). cont may be NULL: "+ OK" is written. */
int	imap_reader_init(struct imap_reader *, struct netio *,
	    const struct imap_limits *, imap_rd_cont_fn cont, void *arg);
void	imap_reader_free(struct imap_reader *);
/* The command buffer is wiped on reuse and free: it may hold a password. */
void	imap_cmd_init(struct imap_cmd *);
void	imap_cmd_free(struct imap_cmd *);
/* Reads the next command into cmd (its old content is dropped). */
enum imap_rd_status imap_read_command(struct imap_reader *, struct imap_cmd *);
/*
 * The literal announced at the end of line[0..len): 1 and *n and
 * *nonsync, or 0 if the line does not end in "{N}" / "{N+}" (N up to
 * 4294967295, RFC 3501 "number").
 */
int	imap_literal_announced(const char *line, size_t len, uint32_t *n,
	    int *nonsync);

#endif
