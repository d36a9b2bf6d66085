/*
 * dsn.h - the delivery status notification (RFC 3464) as text: a
 * multipart/report with a human-readable part, a message/delivery-status
 * part and the original's headers (text/rfc822-headers) or the whole
 * original (message/rfc822). Pure: queued's bounce.c gathers the facts
 * and the original's bytes, this builds the message.
 */
#ifndef POSTERN_DSN_H
#define POSTERN_DSN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "buf.h"

enum dsn_action {
	DSN_ACTION_FAILED,
	DSN_ACTION_DELAYED,
	DSN_ACTION_DELIVERED,	/* into a mailbox (or a command) here */
	DSN_ACTION_RELAYED,	/* handed to a server that sends no DSN back */
};

/* What kind of notice: its subject and its words to the reader. */
enum dsn_kind {
	DSN_KIND_FAILURE,	/* to the sender: undeliverable */
	DSN_KIND_DELAY,		/* to the sender: still being retried */
	DSN_KIND_SUCCESS,	/* to the sender: NOTIFY=SUCCESS */
	DSN_KIND_POSTMASTER,	/* to the postmaster: a notice that failed */
};

struct dsn_rcpt {
	const char	*final;		/* the address tried (Final-Recipient) */
	const char	*orig;		/* as the client gave it, or NULL */
	const char	*dsn_orcpt;	/* ORCPT "type;addr", or NULL */
	enum dsn_action	 action;
	const char	*reason;	/* "5.1.1 no such user", or NULL */
	const char	*mta;		/* remote MTA, or NULL */
	const char	*diag;		/* its reply "550 5.1.1 ...", or NULL */
};

struct dsn_report {
	enum dsn_kind	 kind;
	const char	*reporting_mta;	/* myhostname */
	const char	*to;		/* who gets the notice */
	const char	*qid;		/* the notice's own queue id */
	const char	*orig_qid;	/* the message it reports on */
	const char	*orig_sender;	/* "" for <> */
	const char	*envid;		/* ENVID, or NULL */
	time_t		 arrival;
	time_t		 now;
	time_t		 retry_until;	/* DELAY: when it will give up */
	const struct dsn_rcpt *rcpt;
	size_t		 nrcpt;
	int		 ret;		/* ENV_RET_*: NONE and HDRS give headers */
	/*
	 * The original's bytes as read from the queue (LF line ends): all
	 * of it, or at least its header section; msgsize is its full size.
	 * The whole is returned only for RET=FULL and msgsize at most
	 * size_limit (and when all of it is in msg).
	 */
	const char	*msg;
	size_t		 msglen;
	uint64_t	 msgsize;
	uint64_t	 size_limit;
};

/* The most of the original's header section a notice returns. */
#define DSN_HEADERS_MAX		(64 * 1024)
/* A DSN field's value is cut here, well inside RFC 5322's 998. */
#define DSN_FIELD_MAX		900

/*
 * Appends the notice (header section, blank line, body; LF line ends)
 * to out. *eightbit is set when it holds bytes above 0x7f (the original
 * did): the notice must then travel as 8BITMIME. 0, or -1 when out
 * cannot grow.
 */
int	dsn_build(const struct dsn_report *, struct buf *out, int *eightbit);

/*
 * The enhanced status code (RFC 3463) that text carries, as "5.1.1",
 * either first ("5.1.1 ...") or after a reply code ("550 5.1.1 ..."),
 * with a class of 2, 4 or 5; else def. out holds at least 16 bytes.
 */
void	dsn_status(const char *text, const char *def, char *out, size_t outsz);

#endif
