/*
 * sendmail.h - the sendmail-compatible injector's testable parts: its
 * command line, reading the message, and the header it adds.
 */
#ifndef POSTERN_SENDMAIL_H
#define POSTERN_SENDMAIL_H

#include <stddef.h>
#include <time.h>

#include "buf.h"
#include "mailhdr.h"

enum sm_mode {
	SM_MODE_DELIVER,	/* -bm: read a message, queue it (default) */
	SM_MODE_SMTP,		/* -bs: refused */
	SM_MODE_MAILQ,		/* -bp: refused, points at postern queue list */
	SM_MODE_NEWALIASES,	/* -bi: refused, points at postern alias */
	SM_MODE_QUEUE_RUN,	/* -q: refused, points at postern queue flush */
	SM_MODE_VERIFY,		/* -bv: where each recipient goes (verify.c) */
};

struct sm_opts {
	enum sm_mode	  mode;
	int		  extract;	/* -t */
	int		  ignore_dots;	/* -i, -oi */
	const char	 *sender;	/* -f; NULL: the invoking user */
	const char	 *fullname;	/* -F */
	const char	 *config;	/* -C */
	size_t		  nrcpt;
	char		**rcpt;		/* points into argv; free the array */
};

/*
 * Parses sendmail's command line (argv[0] is the program name). Options
 * may come before or between recipients, as with Postfix on GNU systems;
 * "--" ends them. Returns 0, or -1 with a usage error in err.
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
 * The recipients of -t: Resent-To/Cc/Bcc when the message has any of
 * them (it is being re-sent), else To/Cc/Bcc. Appends to out; 0, or -1
 * with the header's name and the parse error in err.
 */
int	sm_header_recipients(struct mailhdr *, struct mailhdr_addrs *out,
	    char *err, size_t errlen);

struct sm_stamp {
	const char	*myhostname;
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

#endif
