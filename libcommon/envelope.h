/*
 * envelope.h - the queue's envelope record: sender, recipients and each
 * recipient's delivery state, as a versioned text file.
 */
#ifndef POSTERN_ENVELOPE_H
#define POSTERN_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "qid.h"

/*
 * Version 2 adds the ESMTP facts a relay needs and the DSN state (RFC 3461);
 * writers always write 2, the parser reads 1 (those fields default) and 2.
 */
#define ENV_VERSION	2
#define ENV_MAX_SIZE	(8 * 1024 * 1024)

enum rcpt_state {
	RCPT_PENDING,	/* not tried yet, or due */
	RCPT_DEFERRED,	/* temporary failure; retry at next_try */
	RCPT_DONE,	/* delivered */
	RCPT_FAILED,	/* permanent failure; the sender is owed a bounce */
	RCPT_BOUNCED,	/* failed, and the bounce is queued (or not owed) */
};

struct env_rcpt {
	char		*addr;		/* where to deliver */
	char		*orcpt;		/* as the client gave it (for DSNs) */
	enum rcpt_state	 state;
	uint32_t	 tries;
	int64_t		 next_try;	/* unix time */
	int		 final;		/* already alias-expanded (ENV_FINAL_*) */
	char		*reason;	/* last failure text, or NULL */
	/* Version 2: */
	unsigned	 notify;	/* ENV_NOTIFY_*; 0 = not given */
	char		*dsn_orcpt;	/* ORCPT "type;addr" (xtext-decoded), or NULL */
	char		*mta;		/* remote MTA of the last attempt, or NULL */
	char		*diag;		/* the remote's last reply ("550 5.1.1 ..."), or NULL */
	unsigned	 dsn_sent;	/* ENV_DSN_SENT_*: notices already queued */
};

/* RCPT TO's NOTIFY= (RFC 3461 4.1); NEVER is never combined with another. */
#define ENV_NOTIFY_NEVER	0x1
#define ENV_NOTIFY_SUCCESS	0x2
#define ENV_NOTIFY_FAILURE	0x4
#define ENV_NOTIFY_DELAY	0x8
#define ENV_NOTIFY_MASK		0xf

/*
 * Notices already queued for a recipient, persisted so that a crash never
 * sends a delay warning or a success notice twice.
 */
#define ENV_DSN_SENT_DELAY	0x1
#define ENV_DSN_SENT_SUCCESS	0x2
#define ENV_DSN_SENT_MASK	0x3

#define ENV_BODY_7BIT		0	/* default: BODY= not given, or 7BIT */
#define ENV_BODY_8BITMIME	1

#define ENV_RET_NONE		0	/* RET= not given */
#define ENV_RET_FULL		1
#define ENV_RET_HDRS		2

/*
 * A final recipient is delivered as it stands: an address, or (written
 * when an alias's command must be retried on its own) a "|command"
 * run for orcpt. The kind is kept here, never guessed from the text: "|"
 * may begin a local part.
 */
#define ENV_FINAL_ADDRESS	1
#define ENV_FINAL_COMMAND	2

struct envelope {
	char		 id[QID_LEN + 1];
	int64_t		 created;
	char		*sender;	/* "" for the null sender <> */
	char		*origin;	/* "smtp" or "local" */
	char		*client;	/* client address or "uid N" */
	char		*helo;
	int		 is_bounce;	/* a DSN we made: never bounce it */
	/*
	 * Optional keys, written only when set (so older records read the
	 * same): held is when the administrator put the message on hold
	 * (0: not held), requeued when it was last requeued (0: never);
	 * the queue lifetime counts from the later of created and requeued.
	 */
	int64_t		 held;
	int64_t		 requeued;
	/* Version 2 (a version 1 record reads with these at 0 / NULL): */
	int		 body;		/* ENV_BODY_* */
	int		 smtputf8;	/* SMTPUTF8 given at MAIL */
	int		 ret;		/* ENV_RET_* */
	char		*envid;		/* ENVID, xtext-decoded, or NULL */
	char		*auth;		/* authenticated identity, or NULL */
	size_t		 nrcpt;
	struct env_rcpt	*rcpt;
};

void	env_init(struct envelope *);
void	env_free(struct envelope *);
/* Copies the strings. orcpt NULL means the same as addr. */
int	env_add_rcpt(struct envelope *, const char *addr, const char *orcpt,
	    int final);
/* Drops recipient i, keeping order. */
void	env_del_rcpt(struct envelope *, size_t i);
int	env_set_reason(struct env_rcpt *, const char *);
/* Replaces *dst with a copy of s (NULL clears it); -1 when out of memory. */
int	env_set_str(char **dst, const char *s);
/* Serialises; values are escaped so no byte below 0x20 reaches the file. */
int	env_write(const struct envelope *, struct buf *out);
/*
 * Parses; rejects unknown or repeated keys, bad escapes, a missing end
 * marker (a truncated file) and anything after it.
 */
int	env_parse(const char *text, size_t len, struct envelope *,
	    char *err, size_t errlen);
const char *env_state_name(enum rcpt_state);
/*
 * NOTIFY as the record (and RFC 3461) spells it: "never", or a comma list
 * of "success", "failure", "delay" in that order; "" for 0. Writes into
 * out (at least ENV_NOTIFY_STRLEN bytes).
 */
#define ENV_NOTIFY_STRLEN	24
void	env_notify_str(unsigned notify, char *out, size_t outlen);
/*
 * Parses such a list, without case, in any order; -1 for an empty list,
 * an unknown or repeated word, or NEVER with another.
 */
int	env_notify_parse(const char *s, size_t len, unsigned *out);
/* 1 when no recipient is pending or deferred. */
int	env_all_final(const struct envelope *);

#endif
