/*
 * sm_smtp.c - sendmail -bs: a minimal SMTP server on standard input and
 * output (EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, VRFY, HELP, QUIT),
 * the mode Symfony Mailer and Laravel use by default. Several messages
 * may follow one another in one session.
 *
 * Runs in sendmail, as the invoking user (a web application's user,
 * typically), unprivileged and not set-user-ID. Each message goes to
 * queued through sm_queue.c exactly as a message given on the command
 * line does: queued takes the uid from the socket, applies
 * authorized_submit_users (at DATA, before the 354) and
 * local_sender_policy (at the end of the data) and writes the trace
 * line. So -bs gives a local user nothing that plain sendmail does not:
 * any recipient, as on the command line, and the sender only as the
 * policy allows.
 *
 * The client is trusted for nothing. It is served as smtpd serves its
 * clients, by the same code: libcommon/smtp_tx runs the session (the
 * command loop, each command's state checks, limits and replies, the
 * EHLO list, smtpd_error_limit), lines come through netio (bounded to
 * SMTP_LINE_MAX), commands and paths through smtp_cmd, the message
 * through the smtp_data state machine (dot unstuffing, bare LF and bare
 * CR as smtpd treats them, smtpd_max_line_length, NUL refused), every
 * wait under smtpd_timeout or smtpd_data_timeout. What is ours alone:
 * no recipient lookups, VRFY says 252, and DATA goes to queued through
 * sm_queue.c. The message is held in memory up to message_size_limit
 * (past it the rest is read and dropped), as the command line mode
 * holds it, because the header we add needs all of the header section
 * first.
 *
 * Nothing is queued unless the data ended with <CRLF>.<CRLF> and queued
 * answered Q_OK; only then is "250" sent. Input that ends mid-message
 * queues nothing and says so on standard error (the exit status too).
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "deadline.h"
#include "netio.h"
#include "sendmail.h"
#include "smtp_tx.h"

struct sm_smtp {
	const struct conf	*conf;
	int			 lost;		/* a message cut short */
	enum smtp_tx_data	 data_end;	/* how, if it did */
	char			 fullname[128];
	struct smtp_tx		 tx;		/* HELO, the transaction */
	struct netio		 io;		/* last: it is large */
};

/*
 * The transport under netio: standard input and output are two
 * descriptors, and may be pipes, a terminal or a socket. Neither is
 * switched to non-blocking mode (the caller shares them), so a read is
 * made only when poll says it will not block, and a write waits for
 * room under the session's timeout, at most PIPE_BUF bytes at a time.
 */
static ssize_t
sm_stdin_read(struct netio *io, void *p, size_t n)
{
	struct pollfd	pfd;
	int		r;

	pfd.fd = io->fd;
	pfd.events = POLLIN;
	if ((r = poll(&pfd, 1, 0)) == -1)
		return -1;
	if (r == 0) {
		errno = EAGAIN;
		return -1;
	}
	return read(io->fd, p, n);
}

static ssize_t
sm_stdout_write(struct netio *io, const void *p, size_t n)
{
	struct pollfd	pfd;
	uint64_t	deadline;
	ssize_t		w;
	int		r;

	deadline = deadline_in_ms((uint64_t)io->timeout * 1000);
	for (;;) {
		pfd.fd = STDOUT_FILENO;
		pfd.events = POLLOUT;
		r = poll(&pfd, 1, deadline_left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		w = write(STDOUT_FILENO, p, n > PIPE_BUF ? PIPE_BUF : n);
		if (w == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		return w;
	}
}

static void __attribute__((format(printf, 1, 2)))
sm_smtp_err(const char *fmt, ...)
{
	va_list ap;

	fputs("sendmail: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * A failed submission step as an SMTP reply: queued's own text where it
 * refused ("5.7.1 user is not allowed ..."), ours otherwise.
 */
static void
sm_reply_queue(struct sm_smtp *s, const struct sm_queue *q)
{
	int code;

	switch (q->status) {
	case SM_Q_PERM:
	case SM_Q_NOPERM:
		code = 554;
		break;
	case SM_Q_TOOBIG:
		smtp_tx_reply(&s->tx, "552 5.3.4 Error: message file too big");
		return;
	case SM_Q_TOOMANY:
		smtp_tx_reply(&s->tx, "452 4.5.3 Error: too many recipients");
		return;
	default:
		code = 451;
		break;
	}
	if (q->refused && q->text[0] == (char)('0' + code / 100) &&
	    q->text[1] == '.')
		smtp_tx_reply(&s->tx, "%d %s", code, q->text);
	else
		smtp_tx_reply(&s->tx, "%d %d.3.0 Error: %s", code, code / 100,
		    q->text);
}

/* smtp_tx's lists, as sm_queue_commit takes them: no copy. */
static int
sm_data_commit(struct sm_smtp *s, struct sm_queue *q, struct q_commit *qc,
    uint64_t size)
{
	memset(qc, 0, sizeof(*qc));
	qc->size = size;
	strlcpy(qc->sender, s->tx.sender, sizeof(qc->sender));
	smtp_tx_commit_fill(&s->tx, qc);
	return sm_queue_commit(q, qc);
}

/* The message is in msg: queue it, and answer for it. */
static void
sm_data_submit(struct sm_smtp *s, struct sm_queue *q, struct buf *msg)
{
	struct mailhdr	 hdr;
	struct sm_stamp	 st;
	const char	*text = msg->data != NULL ? msg->data : "";
	char		 err[256];
	uint64_t	 size;
	struct q_commit	 qc;

	if (mailhdr_parse(text, msg->len, &hdr, err, sizeof(err)) == -1) {
		smtp_tx_reply(&s->tx, "554 5.6.0 Error: %s", err);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.now = time(NULL);
	st.sender = s->tx.sender;
	st.fullname = s->fullname;
	if (sm_queue_write(q, s->conf, &hdr, text, msg->len, &st,
	    &size) == -1 ||
	    sm_data_commit(s, q, &qc, size) == -1)
		sm_reply_queue(s, q);
	else
		smtp_tx_reply(&s->tx, "250 2.0.0 Ok: queued as %s", q->qid);
	mailhdr_free(&hdr);
}

/* smtp_tx_data_read's sink: the message in memory. */
static int
sm_data_put(void *arg, const void *p, size_t n)
{
	return buf_append(arg, p, n);	/* E2BIG past message_size_limit */
}

/*
 * DATA (smtp_tx has checked MAIL, RCPT and the syntax). -1 when the
 * session is over: the input ended, failed or timed out in the message.
 */
static int
sm_data(void *ctx)
{
	struct sm_smtp		*s = ctx;
	const struct conf	*c = s->conf;
	struct sm_queue		 q;
	struct smtp_data	 d;
	struct smtp_tx_sink	 sink;
	struct buf		 msg;
	enum smtp_tx_data	 res;
	int			 rc = 0;

	/* queued says here, before the data, whether this user may submit. */
	sm_queue_init(&q);
	if (sm_queue_begin(&q, c) == -1) {
		sm_reply_queue(s, &q);
		sm_queue_end(&q);
		return 0;
	}
	buf_init(&msg, (size_t)c->message_size_limit);
	sink.put = sm_data_put;
	sink.arg = &msg;
	res = smtp_tx_data_read(&s->tx, &d, &sink);
	smtp_tx_data_reply(&s->tx, res, &d);
	switch (res) {
	case SMTP_TX_DATA_OK:
		sm_data_submit(s, &q, &msg);
		break;
	case SMTP_TX_DATA_TIMEOUT:
	case SMTP_TX_DATA_EOF:
	case SMTP_TX_DATA_IOERR:
		s->lost = 1;
		s->data_end = res;
		rc = -1;
		break;
	case SMTP_TX_DATA_TOOBIG:
	case SMTP_TX_DATA_NUL:
	case SMTP_TX_DATA_LONG_LINE:
	case SMTP_TX_DATA_SINK:
		break;
	}
	sm_queue_end(&q);	/* aborts what was not committed */
	buf_free(&msg);
	return rc;
}

static const struct smtp_tx_ops sm_tx_ops = {
	.rcpt = NULL,		/* any recipient, as on the command line */
	.data = sm_data,
	.vrfy = NULL,		/* 252: "postern address" tells where */
	.bad_utf8 = NULL,
};

enum sm_end {
	SM_END_NONE = 0,
	SM_END_EOF,		/* input ended */
	SM_END_EOF_DATA,	/* input ended inside the message */
	SM_END_TIMEOUT,
	SM_END_ERRORS,
	SM_END_IOERR,		/* input unreadable, or replies unwritable */
};

/* What the exit status and the message on standard error speak of. */
static enum sm_end
sm_end_of(const struct sm_smtp *s, enum smtp_tx_end end)
{
	switch (end) {
	case SMTP_TX_END_NONE:
	case SMTP_TX_END_QUIT:
		return SM_END_NONE;
	case SMTP_TX_END_EOF:
		return SM_END_EOF;
	case SMTP_TX_END_TIMEOUT:
		return SM_END_TIMEOUT;
	case SMTP_TX_END_ERRORS:
		return SM_END_ERRORS;
	case SMTP_TX_END_IOERR:
	case SMTP_TX_END_BROKEN:
	case SMTP_TX_END_TLS:		/* sendmail -bs offers no STARTTLS */
		return SM_END_IOERR;
	case SMTP_TX_END_DATA:
		if (s->data_end == SMTP_TX_DATA_TIMEOUT)
			return SM_END_TIMEOUT;
		if (s->data_end == SMTP_TX_DATA_EOF)
			return SM_END_EOF_DATA;
		return SM_END_IOERR;
	}
	return SM_END_IOERR;
}

int
sm_smtp_run(const struct conf *conf, const struct sm_opts *o)
{
	struct sm_smtp		*s;
	enum smtp_tx_end	 txend;
	enum sm_end		 end;
	int			 open_txn, rc = 0;

	/* Not on the stack: netio's input buffer is large. */
	if ((s = malloc(sizeof(*s))) == NULL) {
		sm_smtp_err("out of memory");
		return EX_TEMPFAIL;
	}
	memset(s, 0, offsetof(struct sm_smtp, io));
	s->conf = conf;
	sm_fullname(o->fullname, s->fullname, sizeof(s->fullname));
	netio_init(&s->io, STDIN_FILENO, conf->smtpd_timeout);
	s->io.read = sm_stdin_read;
	s->io.write = sm_stdout_write;
	smtp_tx_init(&s->tx, conf, &s->io, &sm_tx_ops, s);

	txend = smtp_tx_serve(&s->tx);
	smtp_tx_end_reply(&s->tx, txend);
	end = sm_end_of(s, txend);
	open_txn = s->tx.mail || s->lost;
	(void)netio_flush(&s->io);
	if (s->io.broken && end != SM_END_EOF_DATA)
		end = SM_END_IOERR;
	switch (end) {
	case SM_END_NONE:
		break;
	case SM_END_EOF:
		/* A client may hang up after its last message: no loss. */
		if (open_txn) {
			sm_smtp_err("standard input ended after MAIL, before "
			    "DATA: that message was not sent");
			rc = EX_DATAERR;
		}
		break;
	case SM_END_EOF_DATA:
		sm_smtp_err("standard input ended in the middle of a message "
		    "(no <CRLF>.<CRLF> after DATA): that message was not "
		    "sent");
		rc = EX_DATAERR;
		break;
	case SM_END_TIMEOUT:
		sm_smtp_err("no input for too long (smtpd_timeout, "
		    "smtpd_data_timeout): session ended%s",
		    open_txn ? ", the message in progress was not sent" : "");
		rc = EX_TEMPFAIL;
		break;
	case SM_END_ERRORS:
		sm_smtp_err("too many errors (smtpd_error_limit = %ld): "
		    "session ended", conf->smtpd_error_limit);
		rc = EX_PROTOCOL;
		break;
	case SM_END_IOERR:
		sm_smtp_err("standard input or output failed: session "
		    "ended%s", open_txn ? ", the message in progress was not "
		    "sent" : "");
		rc = EX_IOERR;
		break;
	}
	smtp_tx_reset(&s->tx);
	netio_free(&s->io);
	free(s);
	return rc;
}
