/*
 * smtp_session.c - one SMTP session, top to bottom: greeting, commands,
 * recipient checks through resolverd, and DATA into a spool file that
 * queued hands us.
 *
 * Runs in a session process exec'd for this client (or reused for the
 * next client from the same address), unprivileged and (when
 * configured) chrooted in <spool>/smtpd. The client is trusted for
 * nothing: every line is bounded by netio, parsed by smtp_cmd, and
 * every limit (line, errors, recipients, message size) is checked
 * before anything is kept. queued and resolverd are trusted to answer
 * honestly but not to be up: their absence is a 4xx, never a 250.
 *
 * The one promise that matters: "250 Ok: queued" is sent only after
 * queued said Q_OK, i.e. after the message and its envelope are durable.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "proto.h"
#include "smtpd.h"
#include "sock.h"
#include "text.h"

/* Spool file writes are gathered into blocks of this size. */
#define SMTP_FILE_BUF	(64 * 1024)

struct smtp_session {
	const struct smtp_env	*env;
	const struct conf	*conf;
	struct sockaddr_storage	 peer;
	char			 ip[INET6_ADDRSTRLEN];
	char			 client[INET6_ADDRSTRLEN + 2];	/* "[ip]" */
	/* "name[ip]" in log lines; "unknown": no reverse DNS yet (Postfix). */
	char			 logname[INET6_ADDRSTRLEN + 16];
	char			 helo[256];
	int			 helo_seen;
	int			 esmtp;
	long			 errors;
	const char		*last_cmd;
	/*
	 * Set by whatever gives this session one client's secrets (STARTTLS,
	 * AUTH): the process then ends with the session instead of serving
	 * the next client from the same address (smtp_worker.c).
	 */
	int			 holds_secrets;

	/* The transaction: from MAIL to the end of DATA, RSET or EHLO. */
	int			 mail;
	char			 sender[ADDR_MAX + 1];
	int			 smtputf8;
	enum smtp_body		 body;
	char			**rcpt;
	uint32_t		 nrcpt;
	size_t			 rcpt_wire;	/* their share of the Q_COMMIT frame */
	int			 rcpt_tried;

	struct smtp_backends	*be;		/* outlive the session */

	/* Last: netio_init leaves its input buffer untouched (see netio.h). */
	struct netio		 io;
};

/* The spool file being written during DATA. */
struct smtp_spool {
	int		fd;
	char		qid[QID_LEN + 1];
	unsigned char	buf[SMTP_FILE_BUF];
	size_t		fill;
	size_t		high;		/* buf bytes ever used: what to wipe */
	uint64_t	written;
	int		failed;
};

static int
reply_is_error(const char *text)
{
	return text[0] == '4' || text[0] == '5';
}

/*
 * Every reply goes through here so that errors are counted in one
 * place: smtpd_error_limit of them ends the session.
 */
static void __attribute__((format(printf, 2, 3)))
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char	text[SMTP_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (reply_is_error(text))
		s->errors++;
	netio_printf(&s->io, "%s\r\n", text);
}

static const char *
smtp_proto(const struct smtp_session *s)
{
	if (!s->esmtp)
		return "SMTP";
	return s->smtputf8 ? "UTF8SMTP" : "ESMTP";
}

static void
txn_reset(struct smtp_session *s)
{
	uint32_t i;

	for (i = 0; i < s->nrcpt; i++) {
		explicit_bzero(s->rcpt[i], strlen(s->rcpt[i]));
		free(s->rcpt[i]);
	}
	free(s->rcpt);
	s->rcpt = NULL;
	s->nrcpt = 0;
	s->rcpt_wire = 0;
	s->rcpt_tried = 0;
	s->mail = 0;
	s->sender[0] = '\0';
	s->smtputf8 = 0;
	s->body = SMTP_BODY_NONE;
}

/* Control bytes never reach a reply, a header or a log line. */
static void
copy_printable(char *dst, size_t dstsz, const char *src)
{
	size_t i = text_sanitize(dst, dstsz, src, '?', 0);

	/* Trailing blanks are the client's padding, not the name. */
	while (i > 0 && dst[i - 1] == ' ')
		dst[--i] = '\0';
}

static void
cmd_helo(struct smtp_session *s, const char *arg, int esmtp)
{
	const struct conf *c = s->conf;

	if (arg[0] == '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	copy_printable(s->helo, sizeof(s->helo), arg);
	s->helo_seen = 1;
	s->esmtp = esmtp;
	txn_reset(s);
	if (!esmtp) {
		smtp_reply(s, "250 %s", c->myhostname);
		return;
	}
	netio_printf(&s->io, "250-%s\r\n", c->myhostname);
	netio_printf(&s->io, "250-PIPELINING\r\n");
	netio_printf(&s->io, "250-SIZE %llu\r\n",
	    (unsigned long long)c->message_size_limit);
	netio_printf(&s->io, "250-8BITMIME\r\n");
	netio_printf(&s->io, "250-ENHANCEDSTATUSCODES\r\n");
	netio_printf(&s->io, "250 SMTPUTF8\r\n");
}

/* Replies for a MAIL/RCPT parse failure; 1 if there was one. */
static int
reply_parse_error(struct smtp_session *s, enum smtp_perr rc,
    const struct smtp_path *p, const char *syntax_reply)
{
	char text[SMTP_LINE_MAX];

	if (rc == SMTP_PERR_OK)
		return 0;
	smtp_perr_reply(rc, p, syntax_reply, text, sizeof(text));
	smtp_reply(s, "%s", text);
	if (rc == SMTP_PERR_UTF8)
		log_info("reject: bad UTF-8 in %s from %s", s->last_cmd,
		    s->logname);
	return 1;
}

static void
cmd_mail(struct smtp_session *s, const char *arg)
{
	struct smtp_path p;

	/*
	 * Postfix's default (smtpd_helo_required = no) takes MAIL without
	 * a greeting: monitoring probes and simple scripts send none.
	 */
	if (!s->helo_seen && s->conf->smtpd_helo_required) {
		smtp_reply(s, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (s->mail) {
		smtp_reply(s, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	if (reply_parse_error(s, smtp_parse_mail(arg, &p), &p,
	    "501 5.1.7 Bad sender address syntax"))
		return;
	if (p.has_size && p.size > s->conf->message_size_limit) {
		smtp_reply(s, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	s->mail = 1;
	strlcpy(s->sender, p.addr, sizeof(s->sender));
	s->smtputf8 = p.smtputf8;
	s->body = p.body;
	smtp_reply(s, "250 2.1.0 Ok");
}

/* A RCPT refusal, replied and logged the way Postfix logs it. */
static void __attribute__((format(printf, 3, 4)))
rcpt_reject(struct smtp_session *s, const char *rcpt, const char *fmt, ...)
{
	char	text[SMTP_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_reply(s, "%s", text);
	log_info("NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> "
	    "proto=%s helo=<%s>", s->logname, text, s->sender, rcpt,
	    smtp_proto(s), s->helo);
}

/*
 * Asks resolverd; -1 when it cannot answer (down, slow, garbled). text
 * (PROTO_TEXT_MAX) gets resolverd's reason, "" for a plain unknown user.
 */
static int
resolver_check(struct smtp_session *s, const char *addr, uint32_t *verdict,
    char *text)
{
	struct ipc_msg	req, rep;
	int		rc = -1;

	ipc_msg_init(&req, R_CHECK, 0);
	if (proto_enc_r_check(&req, addr) == -1) {
		ipc_msg_free(&req);
		return -1;
	}
	if (smtp_backend_call(&s->be->resolver, &req, &rep) == -1) {
		ipc_msg_free(&req);
		return -1;
	}
	ipc_msg_free(&req);
	if (rep.type == R_CHECK_REPLY &&
	    proto_dec_r_check_reply(&rep, verdict, text, PROTO_TEXT_MAX) == 0)
		rc = 0;
	else {
		log_warnx("resolver.sock: malformed reply (type %u)",
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->resolver);
	}
	ipc_msg_free(&rep);
	return rc;
}

int
smtp_in_mynetworks(const struct smtp_env *env, const struct sockaddr *sa)
{
	size_t i;

	for (i = 0; i < env->nmynetworks; i++)
		if (cidr_match(&env->mynetworks[i], sa))
			return 1;
	return 0;
}

static int
in_mynetworks(const struct smtp_session *s)
{
	return smtp_in_mynetworks(s->env, (const struct sockaddr *)&s->peer);
}

/* The domain that bare <postmaster> means: ours (RFC 5321 4.5.1). */

/* 0 added (or already there), -1 out of memory. */
static int
rcpt_add(struct smtp_session *s, const char *addr)
{
	char	**nv;
	uint32_t  i;

	for (i = 0; i < s->nrcpt; i++)
		/* The store folds case: ALICE@ and alice@ are one mailbox. */
		if (strcasecmp(s->rcpt[i], addr) == 0)
			return 0;	/* one copy is enough for delivery */
	if ((nv = reallocarray(s->rcpt, s->nrcpt + 1, sizeof(*nv))) == NULL)
		return -1;
	s->rcpt = nv;
	if ((s->rcpt[s->nrcpt] = strdup(addr)) == NULL)
		return -1;
	s->nrcpt++;
	s->rcpt_wire += 4 + strlen(addr);
	return 0;
}

static void
cmd_rcpt(struct smtp_session *s, const char *arg)
{
	const struct conf	*c = s->conf;
	struct smtp_path	 p;
	char			 addr[ADDR_MAX + 1], why[PROTO_TEXT_MAX];
	uint32_t		 verdict;

	if (!s->mail) {
		smtp_reply(s, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (reply_parse_error(s, smtp_parse_rcpt(arg, s->smtputf8, &p), &p,
	    "501 5.1.3 Bad recipient address syntax"))
		return;
	s->rcpt_tried = 1;
	/*
	 * The limit is checked before anything is kept; so is the size of
	 * the Q_COMMIT frame the list must fit in (a frame has a ceiling,
	 * and a large recipient limit must not make queued refuse it).
	 */
	if (s->nrcpt >= (uint64_t)c->smtpd_recipient_limit ||
	    s->rcpt_wire + 4 + ADDR_MAX + 2048 > IPC_MAX_PAYLOAD) {
		smtp_reply(s, "452 4.5.3 Error: too many recipients");
		return;
	}
	if (p.postmaster) {
		if (snprintf(addr, sizeof(addr), "postmaster@%s",
		    conf_default_domain(c)) >= (int)sizeof(addr)) {
			smtp_reply(s, "451 4.3.0 Error: internal error");
			return;
		}
	} else {
		strlcpy(addr, p.addr, sizeof(addr));
		if (resolver_check(s, addr, &verdict, why) == -1) {
			rcpt_reject(s, addr, "451 4.3.0 <%s>: Temporary lookup "
			    "failure", addr);
			return;
		}
		switch (verdict) {
		case R_LOCAL_OK:
			break;
		case R_LOCAL_UNKNOWN:
			/* An alias that leads nowhere says so (resolverd). */
			if (why[0] == '5' && why[1] == '.')
				rcpt_reject(s, addr, "550 %s", why);
			else
				rcpt_reject(s, addr, "550 5.1.1 <%s>: "
				    "Recipient address rejected: User unknown "
				    "in local recipient table", addr);
			return;
		case R_NOT_LOCAL:
			if (in_mynetworks(s))
				break;
			rcpt_reject(s, addr, "554 5.7.1 <%s>: Relay access denied",
			    addr);
			return;
		default:
			rcpt_reject(s, addr, "451 4.3.0 <%s>: Temporary lookup "
			    "failure", addr);
			return;
		}
	}
	if (rcpt_add(s, addr) == -1) {
		smtp_reply(s, "452 4.3.1 Error: insufficient system storage");
		return;
	}
	smtp_reply(s, "250 2.1.5 Ok");
}

static void
cmd_vrfy(struct smtp_session *s, const char *arg)
{
	struct smtp_path p;
	char		 path[SMTP_LINE_MAX + 8], why[PROTO_TEXT_MAX];
	uint32_t	 verdict;

	if (arg[0] == '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	if (!s->conf->smtpd_vrfy) {
		smtp_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to attempt "
		    "delivery");
		return;
	}
	/* "VRFY <a@b>" or "VRFY a@b", through the one path parser. */
	snprintf(path, sizeof(path), arg[0] == '<' ? "TO:%s" : "TO:<%s>", arg);
	if (smtp_parse_rcpt(path, 0, &p) != SMTP_PERR_OK || p.postmaster) {
		smtp_reply(s, "501 5.1.3 Bad recipient address syntax");
		return;
	}
	if (resolver_check(s, p.addr, &verdict, why) == -1 ||
	    verdict == R_TEMPFAIL)
		smtp_reply(s, "451 4.3.0 <%s>: Temporary lookup failure",
		    p.addr);
	else if (verdict == R_LOCAL_OK)
		smtp_reply(s, "250 2.0.0 <%s>", p.addr);
	else if (verdict == R_LOCAL_UNKNOWN)
		smtp_reply(s, "550 5.1.1 <%s>: Recipient address rejected: "
		    "User unknown in local recipient table", p.addr);
	else
		smtp_reply(s, "252 2.5.2 Cannot VRFY user; try RCPT to "
		    "attempt delivery");
}

/*
 * A queued status text starts with its enhanced code ("4.3.0 ..."); one
 * that does not gets ours.
 */
static void
reply_from_queue(struct smtp_session *s, int code, const char *text)
{
	char clean[PROTO_TEXT_MAX];

	copy_printable(clean, sizeof(clean), text);
	if (clean[0] == (char)('0' + code / 100) && clean[1] == '.')
		smtp_reply(s, "%d %s", code, clean);
	else
		smtp_reply(s, "%d %d.3.0 %s", code, code / 100,
		    clean[0] != '\0' ? clean : "Error: queue failure");
}

/* Q_BEGIN -> Q_FILE: the descriptor of a new, empty spool file. */
static int
queue_begin(struct smtp_session *s, struct smtp_spool *sp)
{
	struct ipc_msg	req, rep;
	struct q_err	qe;
	int		rc = -1;

	ipc_msg_init(&req, Q_BEGIN, 0);
	if (smtp_backend_call(&s->be->queue, &req, &rep) == -1) {
		ipc_msg_free(&req);
		smtp_reply(s, "451 4.3.0 Error: queue file write error");
		return -1;
	}
	ipc_msg_free(&req);
	if (rep.type == Q_FILE && proto_dec_q_file(&rep, sp->qid) == 0) {
		sp->fd = rep.fd;
		rep.fd = -1;
		rc = 0;
	} else if (rep.type == Q_ERR && proto_dec_q_err(&rep, &qe) == 0) {
		reply_from_queue(s, 451, qe.text);
	} else {
		log_warnx("queue.sock: malformed reply to Q_BEGIN (type %u)",
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->queue);
		smtp_reply(s, "451 4.3.0 Error: queue file write error");
	}
	ipc_msg_free(&rep);
	return rc;
}

/* Nothing from this transaction may be queued. Best effort: no reply. */
static void
queue_abort(struct smtp_session *s, struct smtp_spool *sp)
{
	struct ipc_msg m;

	if (sp->fd != -1) {
		close(sp->fd);
		sp->fd = -1;
	}
	if (!s->be->queue.connected)
		return;
	ipc_msg_init(&m, Q_ABORT, 0);
	/* If even this fails, the closed connection tells queued the same. */
	(void)smtp_backend_send(&s->be->queue, &m);
	ipc_msg_free(&m);
}

static void
spool_flush(struct smtp_spool *sp)
{
	if (sp->fill == 0 || sp->failed)
		return;
	if (fs_write_all(sp->fd, sp->buf, sp->fill) == -1) {
		log_warn("%s: write to queue file", sp->qid);
		sp->failed = 1;
	} else
		sp->written += sp->fill;
	sp->fill = 0;
}

static void
spool_put(struct smtp_spool *sp, const void *p, size_t n)
{
	if (sp->failed)
		return;
	if (sp->fill + n > sizeof(sp->buf))
		spool_flush(sp);
	if (n >= sizeof(sp->buf)) {
		if (fs_write_all(sp->fd, p, n) == -1) {
			log_warn("%s: write to queue file", sp->qid);
			sp->failed = 1;
		} else
			sp->written += n;
		return;
	}
	memcpy(sp->buf + sp->fill, p, n);
	sp->fill += n;
	if (sp->fill > sp->high)
		sp->high = sp->fill;
}

static void
spool_received(struct smtp_session *s, struct smtp_spool *sp)
{
	char		hdr[2048], date[64], forpart[ADDR_MAX + 16];
	struct tm	tm;
	time_t		now = time(NULL);
	int		n;

	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		strlcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", sizeof(date));
	/* "for" names the recipient only when that reveals no other one. */
	if (s->nrcpt == 1)
		snprintf(forpart, sizeof(forpart), "\n\tfor <%s>", s->rcpt[0]);
	else
		forpart[0] = '\0';
	/* No HELO (smtpd_helo_required = no): the address, as Postfix does. */
	n = snprintf(hdr, sizeof(hdr), "Received: from %s ([%s])\n"
	    "\tby %s (Postern) with %s id %s%s; %s\n",
	    s->helo_seen ? s->helo : s->client, s->ip, s->conf->myhostname,
	    smtp_proto(s), sp->qid, forpart, date);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		sp->failed = 1;
		return;
	}
	spool_put(sp, hdr, (size_t)n);
}

/* Q_COMMIT -> Q_OK: only now is the message the queue's. */
static void
queue_commit(struct smtp_session *s, struct smtp_spool *sp)
{
	struct ipc_msg	 req, rep;
	struct q_commit	 qc;
	struct q_err	 qe;
	char		 qid[QID_LEN + 1];

	memset(&qc, 0, sizeof(qc));
	qc.size = sp->written;
	strlcpy(qc.sender, s->sender, sizeof(qc.sender));
	strlcpy(qc.client, s->client, sizeof(qc.client));
	strlcpy(qc.helo, s->helo, sizeof(qc.helo));
	qc.nrcpt = s->nrcpt;
	qc.rcpt = s->rcpt;
	ipc_msg_init(&req, Q_COMMIT, 0);
	if (proto_enc_q_commit(&req, &qc) == -1) {
		ipc_msg_free(&req);
		log_warnx("%s: cannot encode the commit", sp->qid);
		queue_abort(s, sp);
		smtp_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	if (smtp_backend_call(&s->be->queue, &req, &rep) == -1) {
		ipc_msg_free(&req);
		smtp_reply(s, "451 4.3.0 Error: queue file write error");
		return;
	}
	ipc_msg_free(&req);
	if (rep.type == Q_OK && proto_dec_q_ok(&rep, qid) == 0 &&
	    qid_valid(qid)) {
		if (strcmp(qid, sp->qid) != 0)
			log_warnx("%s: queued answered for %s", sp->qid, qid);
		log_info("%s: from=<%s>, size=%llu, nrcpt=%u (queued)", qid,
		    s->sender, (unsigned long long)sp->written,
		    (unsigned)s->nrcpt);
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", qid);
	} else if (rep.type == Q_ERR && proto_dec_q_err(&rep, &qe) == 0) {
		log_info("%s: commit refused: %s", sp->qid, qe.text);
		reply_from_queue(s, qe.status == ST_PERM ? 554 : 451, qe.text);
	} else {
		log_warnx("%s: malformed reply to Q_COMMIT (type %u)", sp->qid,
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->queue);
		smtp_reply(s, "451 4.3.0 Error: queue file write error");
	}
	ipc_msg_free(&rep);
}

/* Returns -1 when the session must end (client gone or timed out). */
static int
cmd_data(struct smtp_session *s, const char *arg)
{
	const struct conf	*c = s->conf;
	struct smtp_spool	*sp;
	struct smtp_data	 d;
	unsigned char		 out[NETIO_INBUF + SMTP_DATA_SLACK];
	size_t			 n, olen;
	int			 toobig = 0, rc = 0;
	enum netio_status	 st = NETIO_OK;

	if (!s->mail) {
		smtp_reply(s, "503 5.5.1 Error: need MAIL command");
		return 0;
	}
	if (s->nrcpt == 0) {
		if (s->rcpt_tried)
			smtp_reply(s, "554 5.5.1 Error: no valid recipients");
		else
			smtp_reply(s, "503 5.5.1 Error: need RCPT command");
		return 0;
	}
	if (arg[0] != '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: DATA");
		return 0;
	}
	/* Not calloc: only the part of buf that the message fills is touched. */
	if ((sp = malloc(sizeof(*sp))) == NULL) {
		smtp_reply(s, "451 4.3.0 Error: insufficient system storage");
		return 0;
	}
	sp->fd = -1;
	sp->qid[0] = '\0';
	sp->fill = sp->high = 0;
	sp->written = 0;
	sp->failed = 0;
	if (queue_begin(s, sp) == -1) {
		free(sp);
		return 0;
	}
	log_info("%s: client=%s", sp->qid, s->logname);
	spool_received(s, sp);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");

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
		if (!toobig && !d.long_line && !d.nul)
			spool_put(sp, out, olen);
	}

	if (!smtp_data_done(&d)) {
		queue_abort(s, sp);
		if (st == NETIO_TIMEOUT) {
			log_info("timeout after DATA (%llu bytes) from %s",
			    (unsigned long long)d.received, s->logname);
			smtp_reply(s, "421 4.4.2 %s Error: timeout exceeded",
			    c->myhostname);
		} else
			log_info("lost connection after DATA (%llu bytes) "
			    "from %s", (unsigned long long)d.received,
			    s->logname);
		rc = -1;
	} else if (toobig || d.long_line || d.nul) {
		queue_abort(s, sp);
		if (toobig) {
			log_info("%s: reject: message of %llu+ bytes from %s "
			    "exceeds message_size_limit", sp->qid,
			    (unsigned long long)d.received, s->logname);
			smtp_reply(s, "552 5.3.4 Error: message file too big");
		} else if (d.nul) {
			log_info("%s: reject: NUL byte in message from %s",
			    sp->qid, s->logname);
			smtp_reply(s, "554 5.6.0 Error: NUL byte in message");
		} else {
			log_info("%s: reject: message line longer than %llu "
			    "octets from %s", sp->qid,
			    (unsigned long long)d.line_max, s->logname);
			smtp_reply(s, "554 5.6.0 Error: message line longer "
			    "than %llu octets",
			    (unsigned long long)d.line_max);
		}
	} else {
		spool_flush(sp);
		/*
		 * No fsync here: queued fsyncs the message and its envelope
		 * together on its sync threads, so they share one journal
		 * commit; an fsync of our own would be one more, in series.
		 */
		if (sp->failed) {
			queue_abort(s, sp);
			smtp_reply(s, "451 4.3.0 Error: queue file write error");
		} else
			queue_commit(s, sp);
	}
	if (sp->fd != -1)
		close(sp->fd);
	/* The buffer held message text; out[] is wiped with the stack. */
	explicit_bzero(sp->buf, sp->high);
	free(sp);
	txn_reset(s);
	return rc;
}

static void
session_init(struct smtp_session *s, const struct smtp_env *env,
    struct smtp_backends *be, int fd, const struct sockaddr *peer,
    socklen_t peerlen)
{
	int port;

	memset(s, 0, offsetof(struct smtp_session, io));
	s->env = env;
	s->conf = env->conf;
	if (peerlen > sizeof(s->peer))
		peerlen = sizeof(s->peer);
	memcpy(&s->peer, peer, peerlen);
	sock_ntop(peer, s->ip, sizeof(s->ip), &port);
	/* An IPv4 client on a v6 socket is logged as the v4 address. */
	if (strncmp(s->ip, "::ffff:", 7) == 0 && strchr(s->ip + 7, ':') == NULL)
		memmove(s->ip, s->ip + 7, strlen(s->ip + 7) + 1);
	snprintf(s->client, sizeof(s->client), "[%s]", s->ip);
	snprintf(s->logname, sizeof(s->logname), "unknown[%s]", s->ip);
	netio_init(&s->io, fd, s->conf->smtpd_timeout);
	s->be = be;
	smtp_backend_check(&be->queue);
	smtp_backend_check(&be->resolver);
	s->last_cmd = "CONNECT";
}

static const char *
verb_name(enum smtp_verb v)
{
	switch (v) {
	case SMTP_CMD_HELO: return "HELO";
	case SMTP_CMD_EHLO: return "EHLO";
	case SMTP_CMD_MAIL: return "MAIL";
	case SMTP_CMD_RCPT: return "RCPT";
	case SMTP_CMD_DATA: return "DATA";
	case SMTP_CMD_RSET: return "RSET";
	case SMTP_CMD_NOOP: return "NOOP";
	case SMTP_CMD_VRFY: return "VRFY";
	case SMTP_CMD_HELP: return "HELP";
	case SMTP_CMD_QUIT: return "QUIT";
	default: return "UNKNOWN";
	}
}

void
smtp_backends_init(struct smtp_backends *be)
{
	smtp_backend_init(&be->queue, "queue.sock");
	smtp_backend_init(&be->resolver, "resolver.sock");
}

void
smtp_backends_close(struct smtp_backends *be)
{
	smtp_backend_close(&be->queue);
	smtp_backend_close(&be->resolver);
}

int
smtp_session_run(const struct smtp_env *env, struct smtp_backends *be,
    int fd, const struct sockaddr *peer, socklen_t peerlen)
{
	struct smtp_session	s;
	const struct conf	*c = env->conf;
	char			line[SMTP_LINE_MAX];
	size_t			len;
	struct smtp_cmd		cmd;
	enum netio_status	st;
	int			done = 0, reusable;

	session_init(&s, env, be, fd, peer, peerlen);
	log_info("connect from %s", s.logname);
	smtp_reply(&s, "220 %s %s", c->myhostname, c->smtpd_banner);

	while (!done && !s.io.broken) {
		if (s.errors >= c->smtpd_error_limit) {
			log_info("too many errors after %s from %s", s.last_cmd,
			    s.logname);
			smtp_reply(&s, "421 4.7.0 %s Error: too many errors",
			    c->myhostname);
			break;
		}
		st = netio_getline(&s.io, line, SMTP_LINE_MAX, &len,
		    c->smtpd_timeout);
		if (st == NETIO_TIMEOUT) {
			log_info("timeout after %s from %s", s.last_cmd,
			    s.logname);
			smtp_reply(&s, "421 4.4.2 %s Error: timeout exceeded",
			    c->myhostname);
			break;
		}
		if (st == NETIO_EOF || st == NETIO_ERROR) {
			log_info("lost connection after %s from %s",
			    s.last_cmd, s.logname);
			break;
		}
		if (st == NETIO_TOOLONG) {
			smtp_reply(&s, "500 5.5.2 Error: line too long");
			continue;
		}
		smtp_cmd_parse(line, len, &cmd);
		s.last_cmd = verb_name(cmd.verb);
		switch (cmd.verb) {
		case SMTP_CMD_NUL:
			smtp_reply(&s, "500 5.5.2 Error: NUL byte in command");
			break;
		case SMTP_CMD_UNKNOWN:
			smtp_reply(&s, "500 5.5.2 Error: command not "
			    "recognized");
			break;
		case SMTP_CMD_HELO:
			cmd_helo(&s, cmd.arg, 0);
			break;
		case SMTP_CMD_EHLO:
			cmd_helo(&s, cmd.arg, 1);
			break;
		case SMTP_CMD_MAIL:
			cmd_mail(&s, cmd.arg);
			break;
		case SMTP_CMD_RCPT:
			cmd_rcpt(&s, cmd.arg);
			break;
		case SMTP_CMD_DATA:
			if (cmd_data(&s, cmd.arg) == -1)
				done = 1;
			break;
		case SMTP_CMD_RSET:
			txn_reset(&s);
			smtp_reply(&s, "250 2.0.0 Ok");
			break;
		case SMTP_CMD_NOOP:
			smtp_reply(&s, "250 2.0.0 Ok");
			break;
		case SMTP_CMD_VRFY:
			cmd_vrfy(&s, cmd.arg);
			break;
		case SMTP_CMD_HELP:
			smtp_reply(&s, "214 2.0.0 Commands: HELO EHLO MAIL RCPT "
			    "DATA RSET NOOP VRFY HELP QUIT");
			break;
		case SMTP_CMD_QUIT:
			smtp_reply(&s, "221 2.0.0 Bye");
			done = 1;
			break;
		}
	}
	(void)netio_flush(&s.io);
	log_info("disconnect from %s", s.logname);
	txn_reset(&s);
	netio_free(&s.io);
	close(fd);
	/*
	 * Everything of this client is gone from the heap (buffers wipe what
	 * they free); the caller wipes the stack. A session that held one
	 * client's secrets is not reused at all.
	 */
	reusable = !s.holds_secrets;
	explicit_bzero(&s, offsetof(struct smtp_session, io));
	return reusable;
}
