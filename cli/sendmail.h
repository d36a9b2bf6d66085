/*
 * sendmail.h - the sendmail-compatible injector: its command line,
 * reading the message, the header it adds, the client of queued's
 * submission socket (sm_queue.c) and SMTP on standard input (sm_smtp.c).
 */
#ifndef POSTERN_SENDMAIL_H
#define POSTERN_SENDMAIL_H

#include <stddef.h>
#include <time.h>

#include <stdint.h>

#include "buf.h"
#include "conf.h"
#include "ipc.h"
#include "mailhdr.h"
#include "proto.h"
#include "qid.h"

enum sm_mode {
	SM_MODE_DELIVER,	/* -bm: read a message, queue it (default) */
	SM_MODE_SMTP,		/* -bs: SMTP on standard input (sm_smtp.c) */
	SM_MODE_MAILQ,		/* -bp, mailq: runs postern queue list */
	SM_MODE_NEWALIASES,	/* -bi, -I, newaliases: runs postern alias */
	SM_MODE_VERIFY,		/* -bv: where each goes (verify.c) */
	SM_MODE_FLUSH,		/* -q, -qI, -qR: runs postern queue flush */
	SM_MODE_NOTHING,	/* -q<interval>, -bh, -bH: nothing to do */
};

struct sm_opts {
	enum sm_mode	  mode;
	int		  extract;	/* -t */
	int		  ignore_dots;	/* -i, -oi */
	const char	 *sender;	/* -f, -r; NULL: the invoking user */
	const char	 *fullname;	/* -F */
	const char	 *config;	/* -C */
	const char	 *flush;	/* -qIid, -qRsite: what to flush */
	/* DSN (RFC 3461), as Postfix's sendmail: -N, -R, -V; and -B. */
	uint32_t	  notify;	/* -N: ENV_NOTIFY_*; 0: not given */
	int		  ret;		/* -R: ENV_RET_* */
	const char	 *envid;	/* -V, or NULL */
	int		  body;		/* -B: ENV_BODY_* */
	size_t		  nrcpt;
	char		**rcpt;		/* points into argv; free the array */
};

/*
 * Parses sendmail's command line (argv[0] is the program name: invoked
 * as mailq or newaliases, that is the default mode). Options may come
 * before or between recipients, as with Postfix on GNU systems; "--"
 * ends them. Returns 0, or -1 with a usage error in err.
 */
int	sm_args_parse(int argc, char **argv, struct sm_opts *, char *err,
	    size_t errlen);
void	sm_args_free(struct sm_opts *);

/*
 * Reads a message in pieces: CRLF becomes LF, any other CR a space, a
 * leading "From " line is dropped, a line with a single "." ends the
 * message unless ignore_dots, and the text is capped at limit bytes.
 */
struct sm_input {
	struct buf	msg;
	struct buf	line;
	size_t		limit;
	int		ignore_dots;
	int		first;
	int		done;
};

void	sm_input_init(struct sm_input *, size_t limit, int ignore_dots);
/* 0 more wanted, 1 a "." line ended the message, -1 (errno E2BIG: too big). */
int	sm_input_feed(struct sm_input *, const char *, size_t);
/* Takes a last line without LF; 0 or -1 as above. */
int	sm_input_finish(struct sm_input *);
void	sm_input_free(struct sm_input *);

/*
 * Completes a recipient or sender from the command line: strips one pair
 * of angle brackets and appends "@domain" to a bare name. 0, or -1 when
 * it does not fit.
 */
int	sm_addr_complete(const char *in, const char *domain, char *out,
	    size_t outsz);

/*
 * The full name for an added From: header: opt (-F) if given, else the
 * invoking user's, from the password database; "" if none.
 */
void	sm_fullname(const char *opt, char *out, size_t outsz);

/*
 * The recipients of -t: Resent-To/Cc/Bcc when the message has any of
 * them (it is being re-sent), else To/Cc/Bcc. Appends to out; 0, or -1
 * with the header's name and the parse error in err.
 */
int	sm_header_recipients(struct mailhdr *, struct mailhdr_addrs *out,
	    char *err, size_t errlen);

struct sm_stamp {
	const char	*myhostname;	/* sm_queue_write fills these two */
	const char	*qid;
	time_t		 now;
	const char	*sender;	/* "" for the null sender */
	const char	*fullname;	/* NULL or "": none */
};

/*
 * The header section to queue, ending with its blank line: the message's
 * own fields (Bcc and Resent-Bcc removed), then Date, Message-ID and From
 * where the message has none. The trace line is queued's to write.
 */
int	sm_header_build(struct mailhdr *, const char *msg,
	    const struct sm_stamp *, struct buf *out);

/*
 * Submission through queued's inject.sock (sm_queue.c): sm_queue_begin,
 * then, on the file it hands over, sm_queue_write and sm_queue_commit;
 * sm_queue_end aborts whatever was not committed and disconnects. Each
 * returns 0, or -1 with status and text saying what went wrong.
 */
enum sm_qstatus {
	SM_Q_OK = 0,
	SM_Q_TEMP,	/* not queued, try later: unreachable, temporary refusal */
	SM_Q_PERM,	/* queued refused it for good ("5.4.6 too many hops") */
	SM_Q_NOPERM,	/* 5.7.x: this user or this sender may not submit */
	SM_Q_TOOBIG,	/* with the added header, past message_size_limit */
	SM_Q_TOOMANY,	/* recipients do not fit one commit */
	SM_Q_SOFTWARE,	/* queued answered something unexpected */
	SM_Q_CONFIG,	/* spool_directory unusable */
};

struct sm_queue {
	struct ipc_conn	 conn;
	int		 open;
	int		 fd;		/* our copy of the file, -1 */
	int		 committed;
	int		 refused;	/* text is queued's ("5.7.1 ...") */
	char		 when[16];	/* "at the start" / "at commit" */
	char		 qid[QID_LEN + 1];
	enum sm_qstatus	 status;
	char		 text[PROTO_TEXT_MAX + 128];
};

void	sm_queue_init(struct sm_queue *);
int	sm_queue_begin(struct sm_queue *, const struct conf *);
/* The header (sm_header_build) and body of text, len bytes, LF ends. */
int	sm_queue_write(struct sm_queue *, const struct conf *,
	    struct mailhdr *, const char *text, size_t len,
	    const struct sm_stamp *, uint64_t *size);
/*
 * qc: size, sender, recipients and their DSN options; client is set
 * here ("localhost": queued records the uid itself).
 */
int	sm_queue_commit(struct sm_queue *, struct q_commit *qc);
void	sm_queue_end(struct sm_queue *);

/*
 * sendmail -bs (sm_smtp.c): an SMTP server on standard input and output
 * for the invoking user, each message submitted as above. Returns the
 * exit status.
 */
int	sm_smtp_run(const struct conf *, const struct sm_opts *);

#endif
