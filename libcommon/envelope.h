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

#define ENV_VERSION	1
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
};

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
/* Serialises; values are escaped so no byte below 0x20 reaches the file. */
int	env_write(const struct envelope *, struct buf *out);
/*
 * Parses; rejects unknown or repeated keys, bad escapes, a missing end
 * marker (a truncated file) and anything after it.
 */
int	env_parse(const char *text, size_t len, struct envelope *,
	    char *err, size_t errlen);
const char *env_state_name(enum rcpt_state);
/* 1 when no recipient is pending or deferred. */
int	env_all_final(const struct envelope *);

#endif
