/*
 * pop3d.h - pop3d's private interfaces: the command parser, the
 * LF -> CRLF and dot-stuffing filter, the login and mail sessions
 * (client I/O is libcommon/netio; the parent, the processes and authd's
 * client are libcommon's login layer), and the mailbox.
 *
 * Only pop3d's own files and its unit tests include this header.
 */
#ifndef POSTERN_POP3D_H
#define POSTERN_POP3D_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "conf.h"
#include "netio.h"

/*
 * RFC 2449 allows 255 octets for a command with its arguments; we take
 * up to 512 with the CRLF, as smtpd does, so that long user names and
 * AUTH PLAIN responses fit, and discard anything longer.
 */
#define POP3_LINE_MAX		512
/* Bad commands (unknown, wrong state, bad arguments) before we close. */
#define POP3_ERRORS_MAX		20
/* RFC 1939 message numbers are positive; we bound the mailbox too. */
#define POP3_MESSAGES_MAX	1000000
/* How long a login waits for another's dovecot-uidlist.lock (s). */
#define POP3_UIDLIST_WAIT	5
/* A UIDL is 1 to 70 characters in 0x21..0x7E (RFC 1939 7). */
#define POP3_UIDL_MAX		70

/*
 * Commands (pop3_cmd.c).
 */
enum pop3_verb {
	POP3_CMD_UNKNOWN = 0,
	POP3_CMD_EMPTY,		/* an empty line */
	POP3_CMD_NUL,		/* the line held a NUL byte */
	POP3_CMD_USER,
	POP3_CMD_PASS,
	POP3_CMD_APOP,
	POP3_CMD_AUTH,
	POP3_CMD_CAPA,
	POP3_CMD_STLS,
	POP3_CMD_QUIT,
	POP3_CMD_STAT,
	POP3_CMD_LIST,
	POP3_CMD_UIDL,
	POP3_CMD_RETR,
	POP3_CMD_TOP,
	POP3_CMD_DELE,
	POP3_CMD_RSET,
	POP3_CMD_NOOP,
	POP3_CMD_LAST,
};

struct pop3_cmd {
	enum pop3_verb	 verb;
	const char	*name;	/* canonical upper-case keyword, "" if unknown */
	const char	*arg;	/* into the line: after "VERB ", "" if none */
};

/*
 * Splits a command line (without its line end; len bytes, NUL-terminated
 * at line[len]) into keyword and argument. Keywords are case-insensitive
 * and end at a single space or the end of the line.
 */
void	pop3_cmd_parse(const char *line, size_t len, struct pop3_cmd *);
/*
 * Splits arg at single spaces into at most max words (pointers into
 * words, a copy of arg of wsz bytes). Returns the count, or -1 when arg
 * has more than max words, an empty word or does not fit.
 */
int	pop3_cmd_words(const char *arg, char *words, size_t wsz,
	    const char **v, int max);
/* A message number: 1..POP3_MESSAGES_MAX, decimal digits only. */
int	pop3_parse_msgnum(const char *, uint32_t *);
/* A TOP line count: 0..UINT32_MAX, decimal digits only. */
int	pop3_parse_count(const char *, uint32_t *);

/*
 * LF -> CRLF and dot-stuffing (pop3_stuff.c), one byte at a time so that
 * chunk boundaries never matter. A CRLF stays CRLF, a bare LF becomes
 * CRLF, a bare CR becomes a space, a line starting with '.' gets another
 * '.', and a last line without LF gets a CRLF (pop3_stuff_end). With a
 * TOP limit, output stops after the header, the blank line and that
 * many body lines.
 */
struct pop3_stuff {
	int		bol;		/* at the start of a line */
	int		cr;		/* a CR was read, not yet written */
	int		nonblank;	/* the line so far has a non-CR byte */
	int		in_body;	/* the blank line after the header passed */
	int		limited;	/* TOP: stop after lines body lines */
	uint32_t	lines;
	uint32_t	body_lines;
	int		done;		/* the TOP limit was reached */
	int		any;		/* at least one byte was seen */
};

/* Output of one feed is at most twice its input plus this. */
#define POP3_STUFF_SLACK	2

void	pop3_stuff_init(struct pop3_stuff *);
void	pop3_stuff_init_top(struct pop3_stuff *, uint32_t lines);
/*
 * Consumes up to len bytes of in (less when the TOP limit is reached),
 * writing the converted bytes to out, which holds 2 * len +
 * POP3_STUFF_SLACK; *outlen is how many. Returns the bytes consumed.
 */
size_t	pop3_stuff_feed(struct pop3_stuff *, const unsigned char *in,
	    size_t len, unsigned char *out, size_t *outlen);
/*
 * What a message's end needs: the space for a last bare CR and the CRLF
 * a last line without LF needs (0 to 3 bytes into out[POP3_STUFF_END]).
 */
#define POP3_STUFF_END	3
size_t	pop3_stuff_end(struct pop3_stuff *, unsigned char *out);

/* The client connection is libcommon's netio. */

/*
 * The two halves of the protocol on the login layer (libcommon/login.h):
 * the AUTHORIZATION state in the login process, and the mail process,
 * which confines itself (login_post_confine) before its first read.
 * Neither returns.
 */
struct login_sess;
struct login_env;

void	pop3_login_run(struct login_sess *) __attribute__((__noreturn__));
void	pop3_mail_run(const struct login_env *, int client, const char *user,
	    const char *ip, const unsigned char *state, size_t statelen,
	    const unsigned char *left, size_t leftlen)
	    __attribute__((__noreturn__));

/*
 * CAPA lines (pop3_login.c): USER and SASL PLAIN if logins (in the
 * AUTHORIZATION state, when the plaintext policy allows them), STLS if
 * stls.
 */
void	pop3_capa(struct netio *, int logins, int stls);

/*
 * The mailbox (pop3_mailbox.c): a snapshot of cur/ taken at login.
 */
struct pop3_msg {
	char		*name;		/* file name in Maildir/cur */
	size_t		 baselen;	/* its unique part */
	uint64_t	 vsize;		/* octets the client receives */
	int		 deleted;
	int		 removed;	/* its file is gone (QUIT) */
	uint32_t	 uid;		/* in dovecot-uidlist, or 0 */
	char		 uidl[POP3_UIDL_MAX + 1];
};

struct pop3_mailbox {
	struct pop3_msg	*m;
	size_t		 n;
	uint64_t	 total;
	int		 lockfd;
};

/* 0 locked, 1 busy (another POP3 session), -1 error. */
int	pop3_mailbox_lock(struct pop3_mailbox *);
/* Moves new/ into cur/, lists cur/. 0 or -1. */
int	pop3_mailbox_load(struct pop3_mailbox *);
/*
 * Opens message i (0-based) for reading, following a rename by another
 * session (flag change). -1 with errno ENOENT when it is gone.
 */
int	pop3_mailbox_open(struct pop3_mailbox *, size_t i);
/* Unlinks the deleted messages; returns how many went. */
size_t	pop3_mailbox_expunge(struct pop3_mailbox *, size_t *failed);
void	pop3_mailbox_free(struct pop3_mailbox *);
/* The UIDL of a unique name (base bytes). */
void	pop3_uidl(const char *base, size_t len, char out[POP3_UIDL_MAX + 1]);

#endif
