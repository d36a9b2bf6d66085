/*
 * smtp_tx.h - the SMTP server's side of a session, shared by smtpd's
 * sessions and sendmail -bs: the session and transaction state, the
 * command loop, and what each command (HELO, EHLO, MAIL, RCPT, DATA,
 * RSET, NOOP, VRFY, HELP, QUIT) accepts and answers, in one wording.
 * What differs between the two servers comes in through struct
 * smtp_tx_ops: smtpd asks resolverd about recipients, answers VRFY and
 * spools DATA through queued; sendmail -bs takes any recipient and
 * submits through the injector's socket. Logging is the caller's too.
 */
#ifndef POSTERN_SMTP_TX_H
#define POSTERN_SMTP_TX_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "conf.h"
#include "netio.h"
#include "proto.h"
#include "smtp_cmd.h"
#include "smtp_data.h"

/* VRFY's answer where no lookup is made (RFC 5321 3.5.3). */
#define SMTP_TX_CANNOT_VRFY \
	"252 2.5.2 Cannot VRFY user; try RCPT to attempt delivery"

/* Why smtp_tx_serve returned (never NONE: that is "go on"). */
enum smtp_tx_end {
	SMTP_TX_END_NONE = 0,
	SMTP_TX_END_QUIT,
	SMTP_TX_END_EOF,	/* input ended between commands */
	SMTP_TX_END_TIMEOUT,	/* no command within smtpd_timeout */
	SMTP_TX_END_ERRORS,	/* smtpd_error_limit error replies sent */
	SMTP_TX_END_IOERR,	/* reading a command failed */
	SMTP_TX_END_BROKEN,	/* writing a reply failed (netio broken) */
	SMTP_TX_END_DATA,	/* the data callback ended the session */
	SMTP_TX_END_TLS,	/* the TLS handshake failed (starttls said why) */
};

/* STARTTLS's go-ahead (RFC 3207): the last plaintext the client gets. */
#define SMTP_TX_STARTTLS_READY	"220 2.0.0 Ready to start TLS"
/* ... and the refusal when TLS cannot be had now (RFC 3207, 4). */
#define SMTP_TX_STARTTLS_UNAVAILABLE \
	"454 4.7.0 TLS not available due to local problem"

/*
 * What the server adds to the shared commands; ctx is smtp_tx_init's.
 * No callback may end the transaction or the session by itself: it
 * replies, and returns what the loop should do.
 */
struct smtp_tx_ops {
	/*
	 * RCPT of addr, well-formed and within the limits (never
	 * <postmaster>, which is always ours): 0 takes it; -1 refuses it,
	 * the callback having replied. NULL takes every address.
	 */
	int	(*rcpt)(void *ctx, const char *addr);
	/*
	 * DATA with a sender, a recipient and no argument (required, never
	 * NULL): reads the message (smtp_tx_data_read), disposes of it and
	 * replies. 0, or -1 when the session is over (input ended or timed
	 * out inside the message). Once smtp_tx_data_read has sent the 354
	 * the loop ends the transaction; a refusal before it leaves the
	 * transaction open, and the client may send DATA again.
	 */
	int	(*data)(void *ctx);
	/* VRFY with its argument; NULL: "252" to every VRFY. */
	void	(*vrfy)(void *ctx, const char *arg);
	/* A MAIL or RCPT path that is not UTF-8 was refused; NULL: nothing. */
	void	(*bad_utf8)(void *ctx);
	/*
	 * STARTTLS, when smtp_tx.starttls_offer is set and the state allows
	 * it: replies SMTP_TX_STARTTLS_UNAVAILABLE and returns 1, or
	 * replies SMTP_TX_STARTTLS_READY, switches io to TLS (netio_starttls
	 * drops what the client pipelined) and handshakes: 0, or -1 when
	 * that failed and the session is over. On 0 smtp_tx forgets the
	 * session's state, as RFC 3207 4.2 requires: the client says EHLO
	 * again. NULL: STARTTLS is not a command here (500); not offered:
	 * 502.
	 */
	int	(*starttls)(void *ctx);
	/*
	 * AUTH's credentials, decoded (smtp_tx ran the SASL exchange):
	 * an a_auth_verdict, with the canonical login in login on
	 * A_AUTH_OK. The callback logs; smtp_tx replies. NULL: AUTH is no
	 * command here (503, "not enabled").
	 */
	uint32_t (*auth)(void *ctx, const char *mech, const char *user,
	    const char *pass, char *login, size_t loginsz);
	/*
	 * MAIL of sender, well-formed, before it is taken: 0 takes it; -1
	 * refuses it, the callback having replied. NULL takes every one.
	 */
	int	(*mail)(void *ctx, const char *sender);
};

/* AUTH's answers (RFC 4954), Postfix's words where it has some. */
#define SMTP_TX_AUTH_OK		"235 2.7.0 Authentication successful"
#define SMTP_TX_AUTH_FAILED \
	"535 5.7.8 Error: authentication failed: authentication failure"
#define SMTP_TX_AUTH_TEMPFAIL	"454 4.7.0 Temporary authentication failure"

/*
 * One session's state. It holds client data (the HELO name, the
 * sender, the recipients), so a process that serves the next client
 * wipes it: smtp_tx_reset wipes and frees the recipients, and the
 * struct itself is plain memory for the caller to clear. Bounded: at
 * most smtpd_recipient_limit recipients, and no more than one Q_COMMIT
 * frame can carry (rcpt_wire).
 */
struct smtp_tx {
	const struct conf	*conf;
	struct netio		*io;
	const struct smtp_tx_ops *ops;
	void			*ctx;
	long			 errors;	/* 4xx and 5xx sent */
	const char		*last_cmd;	/* "after RCPT" in logs */

	int			 helo_seen;
	int			 esmtp;
	int			 starttls_offer; /* the caller's: EHLO says STARTTLS */
	int			 tls;		/* the session is under TLS */
	char			 helo[256];	/* printable, "" if none */
	/*
	 * SMTP AUTH, the caller's settings: whether this listener offers
	 * it at all, whether the client may send a password before TLS
	 * (plaintext_auth_networks), and whether MAIL needs it
	 * (submission). AUTH is offered when enabled and (TLS or plain_ok).
	 */
	int			 auth_enabled;
	int			 auth_plain_ok;
	int			 auth_required;
	/* Who logged in ("" nobody) and how; STARTTLS forgets it. */
	char			 auth_user[ADDR_MAX + 1];
	char			 auth_mech[16];

	/* The transaction: from MAIL to the end of DATA, RSET or HELO. */
	int			 mail;
	char			 sender[ADDR_MAX + 1];	/* "" is <> */
	int			 smtputf8;
	enum smtp_body		 body;
	int			 ret;		/* RET=: ENV_RET_* */
	char			 envid[ENV_ENVID_MAX + 1];	/* "": none */
	char			**rcpt;		/* no two alike (case) */
	uint32_t		*notify;	/* per rcpt: NOTIFY=, 0 none */
	char			**orcpt;	/* per rcpt: ORCPT=, NULL none */
	uint32_t		 nrcpt;
	size_t			 rcpt_wire;	/* their Q_COMMIT share */
	int			 rcpt_tried;	/* a RCPT got this far */
	int			 data_begun;	/* its DATA got a 354 */
};

/* Sets up a session on io (which the caller owns); allocates nothing. */
void	smtp_tx_init(struct smtp_tx *, const struct conf *, struct netio *,
	    const struct smtp_tx_ops *, void *ctx);
/* Ends the transaction: recipients wiped and freed, sender cleared. */
void	smtp_tx_reset(struct smtp_tx *);
/*
 * Sends one reply line (CRLF added). Every reply goes through here, so
 * that error replies (4xx, 5xx) are counted in one place.
 */
void	smtp_tx_reply(struct smtp_tx *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Greets the client and serves commands until the session ends; the
 * reason is returned before anything is said about it, so the caller
 * can log it first and then send smtp_tx_end_reply's words.
 */
enum smtp_tx_end smtp_tx_serve(struct smtp_tx *);
/* The 421 that a timeout or too many errors end with; else nothing. */
void	smtp_tx_end_reply(struct smtp_tx *, enum smtp_tx_end);

/*
 * One parsed command, as smtp_tx_serve runs it: SMTP_TX_END_NONE, or
 * QUIT or DATA when the session is over.
 */
enum smtp_tx_end smtp_tx_command(struct smtp_tx *, const struct smtp_cmd *);

/* What became of a message's text (smtp_tx_data_read). */
enum smtp_tx_data {
	SMTP_TX_DATA_OK = 0,	/* whole, and all of it given to the sink */
	SMTP_TX_DATA_TOOBIG,	/* past message_size_limit (or sink E2BIG) */
	SMTP_TX_DATA_NUL,	/* a NUL byte in the text */
	SMTP_TX_DATA_LONG_LINE,	/* a line past smtpd_max_line_length */
	SMTP_TX_DATA_SINK,	/* the sink failed otherwise (memory) */
	/* The session is over, nothing after the 354 can be trusted: */
	SMTP_TX_DATA_TIMEOUT,	/* no input within smtpd_data_timeout */
	SMTP_TX_DATA_EOF,	/* input ended before <CRLF>.<CRLF> */
	SMTP_TX_DATA_IOERR,	/* reading failed */
};

/*
 * Where smtp_tx_data_read puts the text (LF line ends, unstuffed): 0,
 * or -1 to be given no more (errno E2BIG: the message is too big).
 */
struct smtp_tx_sink {
	int	(*put)(void *arg, const void *p, size_t n);
	void	*arg;
};

/*
 * Sends the 354 and reads the message text to its <CRLF>.<CRLF>, under
 * smtpd_data_timeout, with smtpd_max_line_length. Past a limit it reads
 * on to the end but keeps nothing more, so the session stays in step.
 * d gets the counts (received, line_max) for the caller's log lines.
 * Replies nothing after the 354: see smtp_tx_data_reply.
 */
enum smtp_tx_data smtp_tx_data_read(struct smtp_tx *, struct smtp_data *d,
	    const struct smtp_tx_sink *);
/* The refusal for a result (421, 552, 554, 451); nothing for OK, EOF, IOERR. */
void	smtp_tx_data_reply(struct smtp_tx *, enum smtp_tx_data,
	    const struct smtp_data *);

/*
 * Fills what the transaction gave into a commit: body, smtputf8, ret,
 * envid, and the recipients with their notify and orcpt (pointing into
 * tx, valid until smtp_tx_reset). The caller sets size, sender, client.
 */
void	smtp_tx_commit_fill(const struct smtp_tx *, struct q_commit *);

/*
 * "SMTP", "ESMTP" or "UTF8SMTP", with an "S" under TLS and an "A" after
 * AUTH (RFC 3848, 6531): the Received header's and logs' "with".
 */
const char *smtp_tx_proto(const struct smtp_tx *);
/*
 * Copies client text for a reply, a header or a log line: control
 * bytes replaced by '?', trailing blanks (the client's padding) cut.
 */
void	smtp_tx_printable(char *dst, size_t dstsz, const char *src);

#endif
