/*
 * smtp_cmd.h - the SMTP command parser: a command line split into verb
 * and argument, MAIL FROM / RCPT TO paths and their ESMTP parameters.
 * Pure functions, shared by smtpd's sessions and sendmail -bs, so that
 * SMTP commands are parsed in one place.
 */
#ifndef POSTERN_SMTP_CMD_H
#define POSTERN_SMTP_CMD_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "envelope.h"

/* RFC 5321 4.5.3.1.4: 512 octets including the CRLF. */
#define SMTP_LINE_MAX		512
/*
 * AUTH's command line and its responses (RFC 4954 4 allows 12288): room
 * for SASL PLAIN with the longest login and password authd takes.
 */
#define SMTP_AUTH_LINE_MAX	4096
/*
 * Commands (smtp_cmd.c).
 */
enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO,
	SMTP_CMD_EHLO,
	SMTP_CMD_MAIL,
	SMTP_CMD_RCPT,
	SMTP_CMD_DATA,
	SMTP_CMD_RSET,
	SMTP_CMD_NOOP,
	SMTP_CMD_VRFY,
	SMTP_CMD_HELP,
	SMTP_CMD_QUIT,
	SMTP_CMD_STARTTLS,
	SMTP_CMD_AUTH,
	SMTP_CMD_NUL,		/* the line held a NUL byte */
};

struct smtp_cmd {
	enum smtp_verb	 verb;
	const char	*arg;	/* into the line: what follows the verb, "" if none */
};

/*
 * Splits a command line (without its line end; len bytes, may hold
 * NULs, which give SMTP_CMD_NUL) into verb and argument. The line must
 * be NUL-terminated at line[len].
 */
void	smtp_cmd_parse(const char *line, size_t len, struct smtp_cmd *);

enum smtp_body {
	SMTP_BODY_NONE = 0,
	SMTP_BODY_7BIT,
	SMTP_BODY_8BITMIME,
};

struct smtp_path {
	char		addr[ADDR_MAX + 1];	/* "" for the null sender */
	int		postmaster;		/* RCPT TO:<postmaster> */
	int		has_size;
	uint64_t	size;			/* SIZE=, clamped at UINT64_MAX */
	enum smtp_body	body;
	int		smtputf8;
	/* RFC 3461 (DSN): RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT. */
	int		ret;			/* ENV_RET_* */
	int		has_envid;
	char		envid[ENV_ENVID_MAX + 1];	/* xtext-decoded */
	unsigned	notify;			/* ENV_NOTIFY_*; 0: not given */
	char		orcpt[ENV_ORCPT_MAX + 1];	/* "type;addr", decoded; "" */
	char		param[64];		/* the parameter an error names */
	const char	*why;			/* and why, or NULL */
};

enum smtp_perr {
	SMTP_PERR_OK = 0,
	SMTP_PERR_SYNTAX,	/* bad path or address: 501 5.1.7 / 5.1.3 */
	SMTP_PERR_PARAM,	/* a parameter we do not know: 555 5.5.4 */
	SMTP_PERR_PARAM_SYNTAX,	/* a known one with a bad value: 501 5.5.4 */
	SMTP_PERR_UTF8,		/* SMTPUTF8 path not UTF-8: 501 5.5.2 */
};

/*
 * Decodes RFC 3461 xtext (in[0..len)) into out, NUL-terminated: "+HH"
 * is the byte HH, other bytes stand for themselves and must be '!'..'~'
 * but '+' and '='. A decoded byte outside ' '..'~' (a control byte, an
 * 8-bit byte) is refused: the value goes into DSN header fields. The
 * length, or -1 (also when it does not fit outsz).
 */
int	smtp_xtext_decode(const char *in, size_t len, char *out, size_t outsz);

/* arg is what follows "MAIL": "FROM:<path> [params]". */
enum smtp_perr smtp_parse_mail(const char *arg, struct smtp_path *);
/* arg is what follows "RCPT": "TO:<path>"; utf8 from the MAIL command. */
enum smtp_perr smtp_parse_rcpt(const char *arg, int utf8, struct smtp_path *);

/*
 * The reply for a MAIL or RCPT parse failure (rc != SMTP_PERR_OK) into
 * out: syntax_reply for SMTP_PERR_SYNTAX, the standard text otherwise.
 * One wording for every SMTP server of the suite.
 */
void	smtp_perr_reply(enum smtp_perr rc, const struct smtp_path *,
	    const char *syntax_reply, char *out, size_t outsz);

#endif
