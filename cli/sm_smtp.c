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
 * The client is trusted for nothing. Its input is read as smtpd reads
 * it, by the same code: lines through netio (bounded to SMTP_LINE_MAX),
 * commands and paths through smtp_cmd, the message through the
 * smtp_data state machine (dot unstuffing, bare LF and bare CR as smtpd
 * treats them, smtpd_max_line_length, NUL refused), every wait under
 * smtpd_timeout or smtpd_data_timeout. The message is held in memory up
 * to message_size_limit (past it the rest is read and dropped), as the
 * command line mode holds it, because the header we add needs all of
 * the header section first.
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
#include "smtp_cmd.h"
#include "smtp_data.h"

struct sm_smtp {
	const struct conf	*conf;
	int			 helo_seen;
	long			 errors;
	int			 lost;		/* a message's data ended early */
	char			 fullname[128];

	/* The transaction: from MAIL to the end of DATA, RSET or HELO. */
	int			 mail;
	char			 sender[ADDR_MAX + 1];
	int			 smtputf8;
	struct mailhdr_addrs	 rcpt;
	size_t			 rcpt_wire;	/* their share of Q_COMMIT */
	int			 rcpt_tried;

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

static void __attribute__((format(printf, 2, 3)))
sm_reply(struct sm_smtp *s, const char *fmt, ...)
{
	char	text[SMTP_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* smtpd_error_limit counts the same replies as smtpd's. */
	if (text[0] == '4' || text[0] == '5')
		s->errors++;
	netio_printf(&s->io, "%s\r\n", text);
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

static void
sm_txn_reset(struct sm_smtp *s)
{
	mailhdr_addrs_free(&s->rcpt);
	s->rcpt_wire = 0;
	s->rcpt_tried = 0;
	s->mail = 0;
	s->sender[0] = '\0';
	s->smtputf8 = 0;
}

static void
sm_cmd_helo(struct sm_smtp *s, const char *arg, int esmtp)
{
	const struct conf *c = s->conf;

	if (arg[0] == '\0') {
		sm_reply(s, "501 5.5.4 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	s->helo_seen = 1;
	sm_txn_reset(s);
	if (!esmtp) {
		sm_reply(s, "250 %s", c->myhostname);
		return;
	}
	/* What smtpd offers; no STARTTLS or AUTH: the user is known. */
	netio_printf(&s->io, "250-%s\r\n", c->myhostname);
	netio_printf(&s->io, "250-PIPELINING\r\n");
	netio_printf(&s->io, "250-SIZE %llu\r\n",
	    (unsigned long long)c->message_size_limit);
	netio_printf(&s->io, "250-8BITMIME\r\n");
	netio_printf(&s->io, "250-ENHANCEDSTATUSCODES\r\n");
	netio_printf(&s->io, "250 SMTPUTF8\r\n");
}

static int
sm_parse_error(struct sm_smtp *s, enum smtp_perr rc,
    const struct smtp_path *p, const char *syntax_reply)
{
	char text[SMTP_LINE_MAX];

	if (rc == SMTP_PERR_OK)
		return 0;
	smtp_perr_reply(rc, p, syntax_reply, text, sizeof(text));
	sm_reply(s, "%s", text);
	return 1;
}

static void
sm_cmd_mail(struct sm_smtp *s, const char *arg)
{
	struct smtp_path p;

	if (!s->helo_seen && s->conf->smtpd_helo_required) {
		sm_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->mail) {
		sm_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (sm_parse_error(s, smtp_parse_mail(arg, &p), &p,
	    "501 5.1.7 Bad sender address syntax"))
		return;
	if (p.has_size && p.size > s->conf->message_size_limit) {
		sm_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	s->mail = 1;
	strlcpy(s->sender, p.addr, sizeof(s->sender));
	s->smtputf8 = p.smtputf8;
	sm_reply(s, "250 2.1.0 Ok");
}

static void
sm_cmd_rcpt(struct sm_smtp *s, const char *arg)
{
	const struct conf	*c = s->conf;
	struct smtp_path	 p;
	char			 addr[ADDR_MAX + 1];
	size_t			 before;

	if (!s->mail) {
		sm_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (sm_parse_error(s, smtp_parse_rcpt(arg, s->smtputf8, &p), &p,
	    "501 5.1.3 Bad recipient address syntax"))
		return;
	s->rcpt_tried = 1;
	/* Checked before anything is kept, as smtpd checks them. */
	if (s->rcpt.n >= (size_t)c->smtpd_recipient_limit ||
	    s->rcpt_wire + 4 + ADDR_MAX + 2048 > IPC_MAX_PAYLOAD) {
		sm_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	/*
	 * No lookup: like a recipient on the command line, any address
	 * is taken, and queued routes or bounces it. <postmaster> alone is
	 * ours (RFC 5321 4.5.1).
	 */
	if (p.postmaster)
		snprintf(addr, sizeof(addr), "postmaster@%s",
		    conf_default_domain(c));
	else
		strlcpy(addr, p.addr, sizeof(addr));
	before = s->rcpt.n;
	if (mailhdr_addrs_add(&s->rcpt, addr) == -1) {
		sm_reply(s, "452 4.3.1 Error: insufficient system storage");
		return;
	}
	if (s->rcpt.n > before)
		s->rcpt_wire += 4 + strlen(addr);
	sm_reply(s, "250 2.1.5 Ok");
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
		sm_reply(s, "552 5.3.4 Error: message file too big");
		return;
	case SM_Q_TOOMANY:
		sm_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	default:
		code = 451;
		break;
	}
	if (q->refused && q->text[0] == (char)('0' + code / 100) &&
	    q->text[1] == '.')
		sm_reply(s, "%d %s", code, q->text);
	else
		sm_reply(s, "%d %d.3.0 Error: %s", code, code / 100, q->text);
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

	if (mailhdr_parse(text, msg->len, &hdr, err, sizeof(err)) == -1) {
		sm_reply(s, "554 5.6.0 Error: %s", err);
		return;
	}
	memset(&st, 0, sizeof(st));
	st.now = time(NULL);
	st.sender = s->sender;
	st.fullname = s->fullname;
	if (sm_queue_write(q, s->conf, &hdr, text, msg->len, &st,
	    &size) == -1 ||
	    sm_queue_commit(q, s->sender, &s->rcpt, size) == -1)
		sm_reply_queue(s, q);
	else
		sm_reply(s, "250 2.0.0 Ok: queued as %s", q->qid);
	mailhdr_free(&hdr);
}

enum sm_end {
	SM_END_NONE = 0,
	SM_END_QUIT,
	SM_END_EOF,		/* input ended */
	SM_END_EOF_DATA,	/* input ended inside the message */
	SM_END_TIMEOUT,
	SM_END_ERRORS,
	SM_END_IOERR,		/* input unreadable, or replies unwritable */
};

static enum sm_end
sm_cmd_data(struct sm_smtp *s, const char *arg)
{
	const struct conf	*c = s->conf;
	struct sm_queue		 q;
	struct smtp_data	 d;
	struct buf		 msg;
	unsigned char		 out[NETIO_INBUF + SMTP_DATA_SLACK];
	size_t			 n, olen;
	int			 toobig = 0, nomem = 0;
	enum netio_status	 st = NETIO_OK;
	enum sm_end		 end = SM_END_NONE;

	if (!s->mail) {
		sm_reply(s, "503 5.5.1 Error: need MAIL command");
		return SM_END_NONE;
	}
	if (s->rcpt.n == 0) {
		if (s->rcpt_tried)
			sm_reply(s, "554 5.5.1 Error: no valid recipients");
		else
			sm_reply(s, "503 5.5.1 Error: need RCPT command");
		return SM_END_NONE;
	}
	if (arg[0] != '\0') {
		sm_reply(s, "501 5.5.4 Syntax: DATA");
		return SM_END_NONE;
	}
	/* queued says here, before the data, whether this user may submit. */
	sm_queue_init(&q);
	if (sm_queue_begin(&q, c) == -1) {
		sm_reply_queue(s, &q);
		sm_queue_end(&q);
		return SM_END_NONE;
	}
	sm_reply(s, "354 End data with <CR><LF>.<CR><LF>");

	buf_init(&msg, (size_t)c->message_size_limit);
	smtp_data_init(&d);
	d.line_max = c->smtpd_max_line_length;
	while (!smtp_data_done(&d)) {
		if (netio_buffered(&s->io) == 0 &&
		    (st = netio_fill(&s->io, c->smtpd_data_timeout)) !=
		    NETIO_OK)
			break;
		n = smtp_data_feed(&d, s->io.in + s->io.inpos,
		    netio_buffered(&s->io), out, &olen);
		s->io.inpos += n;
		/* Past the limit we read on to the end, but keep nothing. */
		if (d.received > c->message_size_limit)
			toobig = 1;
		if (!toobig && !d.long_line && !d.nul && !nomem &&
		    buf_append(&msg, out, olen) == -1) {
			if (errno == E2BIG)
				toobig = 1;	/* LF ends make it no larger */
			else
				nomem = 1;
		}
	}

	if (!smtp_data_done(&d)) {
		s->lost = 1;
		if (st == NETIO_TIMEOUT) {
			sm_reply(s, "421 4.4.2 %s Error: timeout exceeded",
			    c->myhostname);
			end = SM_END_TIMEOUT;
		} else
			end = st == NETIO_EOF ? SM_END_EOF_DATA : SM_END_IOERR;
	} else if (toobig)
		sm_reply(s, "552 5.3.4 Error: message file too big");
	else if (d.nul)
		sm_reply(s, "554 5.6.0 Error: NUL byte in message");
	else if (d.long_line)
		sm_reply(s, "554 5.6.0 Error: message line longer than %llu "
		    "octets", (unsigned long long)d.line_max);
	else if (nomem)
		sm_reply(s, "451 4.3.1 Error: insufficient system storage");
	else
		sm_data_submit(s, &q, &msg);
	sm_queue_end(&q);	/* aborts what was not committed */
	buf_free(&msg);
	sm_txn_reset(s);
	return end;
}

static enum sm_end
sm_smtp_session(struct sm_smtp *s)
{
	const struct conf	*c = s->conf;
	char			 line[SMTP_LINE_MAX];
	size_t			 len;
	struct smtp_cmd		 cmd;
	enum netio_status	 st;
	enum sm_end		 end = SM_END_NONE;

	sm_reply(s, "220 %s %s", c->myhostname, c->smtpd_banner);
	while (end == SM_END_NONE) {
		if (s->io.broken)
			return SM_END_IOERR;
		if (s->errors >= c->smtpd_error_limit) {
			sm_reply(s, "421 4.7.0 %s Error: too many errors",
			    c->myhostname);
			return SM_END_ERRORS;
		}
		st = netio_getline(&s->io, line, SMTP_LINE_MAX, &len,
		    c->smtpd_timeout);
		if (st == NETIO_TIMEOUT) {
			sm_reply(s, "421 4.4.2 %s Error: timeout exceeded",
			    c->myhostname);
			return SM_END_TIMEOUT;
		}
		if (st == NETIO_EOF)
			return SM_END_EOF;
		if (st == NETIO_ERROR)
			return SM_END_IOERR;
		if (st == NETIO_TOOLONG) {
			sm_reply(s, "500 5.5.2 Error: line too long");
			continue;
		}
		smtp_cmd_parse(line, len, &cmd);
		switch (cmd.verb) {
		case SMTP_CMD_NUL:
			sm_reply(s, "500 5.5.2 Error: NUL byte in command");
			break;
		case SMTP_CMD_UNKNOWN:
			sm_reply(s, "500 5.5.2 Error: command not recognized");
			break;
		case SMTP_CMD_HELO:
			sm_cmd_helo(s, cmd.arg, 0);
			break;
		case SMTP_CMD_EHLO:
			sm_cmd_helo(s, cmd.arg, 1);
			break;
		case SMTP_CMD_MAIL:
			sm_cmd_mail(s, cmd.arg);
			break;
		case SMTP_CMD_RCPT:
			sm_cmd_rcpt(s, cmd.arg);
			break;
		case SMTP_CMD_DATA:
			end = sm_cmd_data(s, cmd.arg);
			break;
		case SMTP_CMD_RSET:
			sm_txn_reset(s);
			sm_reply(s, "250 2.0.0 Ok");
			break;
		case SMTP_CMD_NOOP:
			sm_reply(s, "250 2.0.0 Ok");
			break;
		case SMTP_CMD_VRFY:
			/* No lookups here; "postern address" tells where. */
			sm_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to "
			    "attempt delivery");
			break;
		case SMTP_CMD_HELP:
			sm_reply(s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT "
			    "DATA RSET NOOP VRFY HELP QUIT");
			break;
		case SMTP_CMD_QUIT:
			sm_reply(s, "221 2.0.0 Bye");
			end = SM_END_QUIT;
			break;
		}
	}
	return end;
}

int
sm_smtp_run(const struct conf *conf, const struct sm_opts *o)
{
	struct sm_smtp	*s;
	enum sm_end	 end;
	int		 open_txn, rc = 0;

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

	end = sm_smtp_session(s);
	open_txn = s->mail || s->lost;
	(void)netio_flush(&s->io);
	if (s->io.broken && end != SM_END_EOF_DATA)
		end = SM_END_IOERR;
	switch (end) {
	case SM_END_QUIT:
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
		    "ended%s", open_txn ? ", the message in progress was not sent" : "");
		rc = EX_IOERR;
		break;
	}
	sm_txn_reset(s);
	netio_free(&s->io);
	free(s);
	return rc;
}
