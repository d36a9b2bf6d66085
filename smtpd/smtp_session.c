/*
 * smtp_session.c - one SMTP session: smtpd's part of it. The command
 * loop, the state checks and the replies are libcommon/smtp_tx's (shared
 * with sendmail -bs); here are what only smtpd does: recipient and VRFY
 * checks through resolverd, DATA into a spool file that queued hands
 * us, the Received header, the log lines, and TLS: STARTTLS's switch
 * and implicit TLS on the smtps listener (libcommon/tls.c does the
 * handshake; netio_starttls drops what was pipelined behind STARTTLS).
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
#include "tls.h"

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
	/*
	 * Set by whatever gives this session one client's secrets (STARTTLS,
	 * AUTH): the process then ends with the session instead of serving
	 * the next client from the same address (smtp_worker.c).
	 */
	int			 holds_secrets;
	enum smtp_listener	 kind;
	struct tls_info		 tls;		/* valid when tx.tls */

	/* HELO, errors, the transaction; wiped with the rest on reuse. */
	struct smtp_tx		 tx;

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

static void
bad_utf8(void *ctx)
{
	struct smtp_session *s = ctx;

	log_info("reject: bad UTF-8 in %s from %s", s->tx.last_cmd,
	    s->logname);
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
	smtp_tx_reply(&s->tx, "%s", text);
	log_info("NOQUEUE: reject: RCPT from %s: %s; from=<%s> to=<%s> "
	    "proto=%s helo=<%s>", s->logname, text, s->tx.sender, rcpt,
	    smtp_tx_proto(&s->tx), s->tx.helo);
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

/*
 * One A_RATE on the session's bound authd connection: 0 with the
 * reply, -1 when authd cannot answer (no connection, down, garbled).
 */
static int
rate_call(struct smtp_session *s, uint32_t op, uint32_t n,
    struct a_rate_reply *ar)
{
	struct ipc_msg	req, rep;
	struct a_rate	a;
	int		rc = -1;

	a.op = op;
	a.n = n;
	ipc_msg_init(&req, A_RATE, 0);
	if (proto_enc_a_rate(&req, &a) == -1 ||
	    smtp_backend_call(&s->be->auth, &req, &rep) == -1) {
		ipc_msg_free(&req);
		return -1;
	}
	ipc_msg_free(&req);
	if (rep.type == A_RATE_REPLY && proto_dec_a_rate_reply(&rep, ar) == 0)
		rc = 0;
	else {
		log_warnx("auth.sock: malformed reply (type %u)",
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->auth);
	}
	ipc_msg_free(&rep);
	return rc;
}

/*
 * A login's recipients count against auth_recipients_per_hour (authd
 * keeps the count for every session of the account); a hijacked
 * account's run stops at the limit with a 451, which a real client
 * retries later and a spam run gives up on.
 */
static int
rcpt_count(struct smtp_session *s, const char *addr)
{
	struct a_rate_reply ar;

	if (s->tx.auth_user[0] == '\0' ||
	    s->conf->auth_recipients_per_hour == 0)
		return 0;
	if (rate_call(s, A_RATE_RCPT, 1, &ar) == -1 ||
	    ar.verdict == A_RATE_TEMPFAIL) {
		rcpt_reject(s, addr, "451 4.3.0 <%s>: Temporary lookup "
		    "failure", addr);
		return -1;
	}
	if (ar.verdict == A_RATE_OVER) {
		rcpt_reject(s, addr, "451 4.7.1 <%s>: Recipient address "
		    "rejected: this account sent to %u recipients in the "
		    "last hour, its limit; try again later", addr, ar.used);
		return -1;
	}
	return 0;
}

/* A MAIL refusal, replied and logged the way Postfix logs it. */
static void __attribute__((format(printf, 3, 4)))
mail_reject(struct smtp_session *s, const char *sender, const char *fmt, ...)
{
	char	text[SMTP_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtp_tx_reply(&s->tx, "%s", text);
	log_info("NOQUEUE: reject: MAIL from %s: %s; from=<%s> proto=%s "
	    "helo=<%s> sasl_username=%s", s->logname, text, sender,
	    smtp_tx_proto(&s->tx), s->tx.helo, s->tx.auth_user);
}

/* Asks resolverd whether the login may use sender: an r_owner_verdict. */
static uint32_t
owner_check(struct smtp_session *s, const char *sender)
{
	struct ipc_msg	req, rep;
	uint32_t	verdict = R_OWNER_TEMPFAIL;

	ipc_msg_init(&req, R_OWNER, 0);
	if (proto_enc_r_owner(&req, sender, s->tx.auth_user) == -1 ||
	    smtp_backend_call(&s->be->resolver, &req, &rep) == -1) {
		ipc_msg_free(&req);
		return R_OWNER_TEMPFAIL;
	}
	ipc_msg_free(&req);
	if (rep.type != R_OWNER_REPLY ||
	    proto_dec_r_owner_reply(&rep, &verdict) == -1) {
		log_warnx("resolver.sock: malformed reply (type %u)",
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->resolver);
		verdict = R_OWNER_TEMPFAIL;
	}
	ipc_msg_free(&rep);
	return verdict;
}

/*
 * MAIL after AUTH: the account's daily message allowance, then the
 * sender must be the login's (its address, an alias that reaches it,
 * or sender_login_map's grant: Postfix's reject_sender_login_mismatch).
 * The null sender (bounces, read receipts) belongs to everyone. Without
 * a login nothing is checked here: port 25 takes any sender.
 */
static int
check_mail(void *ctx, const char *sender)
{
	struct smtp_session	*s = ctx;
	struct a_rate_reply	 ar;

	if (s->tx.auth_user[0] == '\0')
		return 0;
	if (s->conf->auth_messages_per_day > 0) {
		if (rate_call(s, A_RATE_MAIL, 0, &ar) == -1 ||
		    ar.verdict == A_RATE_TEMPFAIL) {
			mail_reject(s, sender, "451 4.3.0 <%s>: Temporary "
			    "lookup failure", sender);
			return -1;
		}
		if (ar.verdict == A_RATE_OVER) {
			mail_reject(s, sender, "451 4.7.1 <%s>: Sender "
			    "address rejected: this account sent %u messages "
			    "in the last 24 hours, its limit; try again later",
			    sender, ar.used);
			return -1;
		}
	}
	if (sender[0] == '\0')
		return 0;
	switch (owner_check(s, sender)) {
	case R_OWNER_YES:
		return 0;
	case R_OWNER_NO:
		mail_reject(s, sender, "553 5.7.1 <%s>: Sender address "
		    "rejected: not owned by user %s", sender,
		    s->tx.auth_user);
		return -1;
	default:
		mail_reject(s, sender, "451 4.3.0 <%s>: Temporary lookup "
		    "failure", sender);
		return -1;
	}
}

/*
 * AUTH's credentials to authd, on the connection the listener bound to
 * this client's address. Failures are logged in Postfix's words, which
 * fail2ban's postfix-sasl filter reads; never the password.
 */
static uint32_t
check_auth(void *ctx, const char *mech, const char *user, const char *pass,
    char *login, size_t loginsz)
{
	struct smtp_session	*s = ctx;
	struct ipc_msg		 req, rep;
	struct a_auth		 a;
	struct a_auth_reply	 ar;
	uint32_t		 verdict = A_AUTH_TEMPFAIL;
	int			 sent;

	/* From the first password on, this process holds a secret. */
	s->holds_secrets = 1;
	memset(&a, 0, sizeof(a));
	strlcpy(a.proto, "smtp", sizeof(a.proto));
	strlcpy(a.user, user, sizeof(a.user));
	strlcpy(a.password, pass, sizeof(a.password));
	ipc_msg_init(&req, A_AUTH, 0);
	sent = proto_enc_a_auth(&req, &a) == 0 &&
	    smtp_backend_call(&s->be->auth, &req, &rep) == 0;
	explicit_bzero(&a, sizeof(a));
	if (req.body.data != NULL)
		explicit_bzero(req.body.data, req.body.cap);
	ipc_msg_free(&req);
	if (!sent) {
		log_warnx("%s: SASL %s authentication failed: authd cannot "
		    "be reached, sasl_username=%s", s->logname, mech, user);
		return A_AUTH_TEMPFAIL;
	}
	if (rep.type == A_AUTH_REPLY && proto_dec_a_auth_reply(&rep, &ar) == 0)
		verdict = ar.verdict;
	else {
		log_warnx("auth.sock: malformed reply (type %u)",
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->auth);
	}
	ipc_msg_free(&rep);
	switch (verdict) {
	case A_AUTH_OK:
		strlcpy(login, ar.user, loginsz);
		log_info("%s: sasl_method=%s, sasl_username=%s", s->logname,
		    mech, login);
		break;
	case A_AUTH_FAIL:
		log_warnx("%s: SASL %s authentication failed: authentication "
		    "failure, sasl_username=%s", s->logname, mech, user);
		break;
	case A_AUTH_LIMIT:
		log_warnx("%s: SASL %s authentication failed: too many "
		    "failed logins, sasl_username=%s", s->logname, mech, user);
		break;
	default:
		log_warnx("%s: SASL %s authentication failed: temporary "
		    "failure, sasl_username=%s", s->logname, mech, user);
		break;
	}
	return verdict;
}

/*
 * RCPT of addr (smtp_tx has checked the state, the syntax and the
 * limits): a local user, an alias, or a relay from mynetworks or a
 * login; a login's recipients are counted (rcpt_count).
 */
static int
check_rcpt(void *ctx, const char *addr)
{
	struct smtp_session	*s = ctx;
	char			 why[PROTO_TEXT_MAX];
	uint32_t		 verdict;

	/*
	 * user%remote@here, remote!user@here, "user@remote"@here: Postern
	 * does not route by them, but another MTA down the line might, so
	 * only mynetworks may send them, as Postfix's reject_unauth_
	 * destination refuses them (its percent hack, bang paths and
	 * resolve_dequoted_address make them remote addresses). Source
	 * routes (@a,@b:user@here) were dropped by the parser, and address
	 * literals are no local domain unless listed in local_domains.
	 */
	if (addr_has_route(addr) && !in_mynetworks(s)) {
		rcpt_reject(s, addr, "554 5.7.1 <%s>: Relay access denied",
		    addr);
		return -1;
	}
	if (resolver_check(s, addr, &verdict, why) == -1) {
		rcpt_reject(s, addr, "451 4.3.0 <%s>: Temporary lookup "
		    "failure", addr);
		return -1;
	}
	switch (verdict) {
	case R_LOCAL_OK:
		return rcpt_count(s, addr);
	case R_LOCAL_UNKNOWN:
		/* An alias that leads nowhere says so (resolverd). */
		if (why[0] == '5' && why[1] == '.')
			rcpt_reject(s, addr, "550 %s", why);
		else
			rcpt_reject(s, addr, "550 5.1.1 <%s>: Recipient "
			    "address rejected: User unknown in local "
			    "recipient table", addr);
		return -1;
	case R_NOT_LOCAL:
		/* mynetworks, or a login (RFC 6409: submission relays). */
		if (in_mynetworks(s) || s->tx.auth_user[0] != '\0')
			return rcpt_count(s, addr);
		rcpt_reject(s, addr, "554 5.7.1 <%s>: Relay access denied",
		    addr);
		return -1;
	default:
		rcpt_reject(s, addr, "451 4.3.0 <%s>: Temporary lookup "
		    "failure", addr);
		return -1;
	}
}

/* VRFY: a real answer only with smtpd_vrfy = yes (Postfix's default is no). */
static void
cmd_vrfy(void *ctx, const char *arg)
{
	struct smtp_session	*s = ctx;
	struct smtp_path	 p;
	char			 path[SMTP_LINE_MAX + 8], why[PROTO_TEXT_MAX];
	uint32_t		 verdict;

	if (arg[0] == '\0') {
		smtp_tx_reply(&s->tx, "501 5.5.4 Syntax: VRFY address");
		return;
	}
	if (!s->conf->smtpd_vrfy) {
		smtp_tx_reply(&s->tx, "%s", SMTP_TX_CANNOT_VRFY);
		return;
	}
	/* "VRFY <a@b>" or "VRFY a@b", through the one path parser. */
	snprintf(path, sizeof(path), arg[0] == '<' ? "TO:%s" : "TO:<%s>", arg);
	if (smtp_parse_rcpt(path, 0, &p) != SMTP_PERR_OK || p.postmaster) {
		smtp_tx_reply(&s->tx, "501 5.1.3 Bad recipient address "
		    "syntax");
		return;
	}
	if (resolver_check(s, p.addr, &verdict, why) == -1 ||
	    verdict == R_TEMPFAIL)
		smtp_tx_reply(&s->tx, "451 4.3.0 <%s>: Temporary lookup "
		    "failure", p.addr);
	else if (verdict == R_LOCAL_OK)
		smtp_tx_reply(&s->tx, "250 2.0.0 <%s>", p.addr);
	else if (verdict == R_LOCAL_UNKNOWN)
		smtp_tx_reply(&s->tx, "550 5.1.1 <%s>: Recipient address "
		    "rejected: User unknown in local recipient table", p.addr);
	else
		smtp_tx_reply(&s->tx, "%s", SMTP_TX_CANNOT_VRFY);
}

/*
 * A queued status text starts with its enhanced code ("4.3.0 ..."); one
 * that does not gets ours.
 */
static void
reply_from_queue(struct smtp_session *s, int code, const char *text)
{
	char clean[PROTO_TEXT_MAX];

	smtp_tx_printable(clean, sizeof(clean), text);
	if (clean[0] == (char)('0' + code / 100) && clean[1] == '.')
		smtp_tx_reply(&s->tx, "%d %s", code, clean);
	else
		smtp_tx_reply(&s->tx, "%d %d.3.0 %s", code, code / 100,
		    clean[0] != '\0' ? clean : "Error: queue failure");
}

static void
reply_write_error(struct smtp_session *s)
{
	smtp_tx_reply(&s->tx, "451 4.3.0 Error: queue file write error");
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
		reply_write_error(s);
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
		reply_write_error(s);
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
	char		tlspart[256], authpart[ADDR_MAX + 64];
	struct tm	tm;
	time_t		now = time(NULL);
	int		n;

	localtime_r(&now, &tm);
	if (strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		strlcpy(date, "Thu, 01 Jan 1970 00:00:00 +0000", sizeof(date));
	/* "for" names the recipient only when that reveals no other one. */
	if (s->tx.nrcpt == 1)
		snprintf(forpart, sizeof(forpart), "\n\tfor <%s>",
		    s->tx.rcpt[0]);
	else
		forpart[0] = '\0';
	/* Under TLS, what was negotiated, in Postfix's words. */
	if (s->tx.tls)
		snprintf(tlspart, sizeof(tlspart), "\t(using %s with cipher %s "
		    "(%d/%d bits))\n\t(No client certificate requested)\n",
		    s->tls.version, s->tls.cipher, s->tls.bits,
		    s->tls.alg_bits);
	else
		tlspart[0] = '\0';
	/* The login only when asked (Postfix's default keeps it private). */
	if (s->tx.auth_user[0] != '\0' &&
	    s->conf->smtpd_sasl_authenticated_header)
		snprintf(authpart, sizeof(authpart), "\t(Authenticated "
		    "sender: %s)\n", s->tx.auth_user);
	else
		authpart[0] = '\0';
	/* No HELO (smtpd_helo_required = no): the address, as Postfix does. */
	n = snprintf(hdr, sizeof(hdr), "Received: from %s ([%s])\n"
	    "%s%s\tby %s (Postern) with %s id %s%s; %s\n",
	    s->tx.helo_seen ? s->tx.helo : s->client, s->ip, tlspart, authpart,
	    s->conf->myhostname, smtp_tx_proto(&s->tx), sp->qid, forpart,
	    date);
	if (n < 0 || (size_t)n >= sizeof(hdr)) {
		sp->failed = 1;
		return;
	}
	spool_put(sp, hdr, (size_t)n);
}

/* A queued message counts against the login's daily allowance. */
static void
rate_sent(struct smtp_session *s)
{
	struct a_rate_reply ar;

	if (rate_call(s, A_RATE_SENT, 1, &ar) == -1)
		log_warnx("could not count a message of %s against "
		    "auth_messages_per_day", s->tx.auth_user);
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
	strlcpy(qc.sender, s->tx.sender, sizeof(qc.sender));
	strlcpy(qc.client, s->client, sizeof(qc.client));
	strlcpy(qc.helo, s->tx.helo, sizeof(qc.helo));
	strlcpy(qc.auth, s->tx.auth_user, sizeof(qc.auth));
	smtp_tx_commit_fill(&s->tx, &qc);
	ipc_msg_init(&req, Q_COMMIT, 0);
	if (proto_enc_q_commit(&req, &qc) == -1) {
		ipc_msg_free(&req);
		log_warnx("%s: cannot encode the commit", sp->qid);
		queue_abort(s, sp);
		reply_write_error(s);
		return;
	}
	if (smtp_backend_call(&s->be->queue, &req, &rep) == -1) {
		ipc_msg_free(&req);
		reply_write_error(s);
		return;
	}
	ipc_msg_free(&req);
	if (rep.type == Q_OK && proto_dec_q_ok(&rep, qid) == 0 &&
	    qid_valid(qid)) {
		if (strcmp(qid, sp->qid) != 0)
			log_warnx("%s: queued answered for %s", sp->qid, qid);
		log_info("%s: from=<%s>, size=%llu, nrcpt=%u (queued)", qid,
		    s->tx.sender, (unsigned long long)sp->written,
		    (unsigned)s->tx.nrcpt);
		smtp_tx_reply(&s->tx, "250 2.0.0 Ok: queued as %s", qid);
		if (s->tx.auth_user[0] != '\0' &&
		    s->conf->auth_messages_per_day > 0)
			rate_sent(s);
	} else if (rep.type == Q_ERR && proto_dec_q_err(&rep, &qe) == 0) {
		log_info("%s: commit refused: %s", sp->qid, qe.text);
		reply_from_queue(s, qe.status == ST_PERM ? 554 : 451, qe.text);
	} else {
		log_warnx("%s: malformed reply to Q_COMMIT (type %u)", sp->qid,
		    (unsigned)rep.type);
		smtp_backend_close(&s->be->queue);
		reply_write_error(s);
	}
	ipc_msg_free(&rep);
}

/* smtp_tx_data_read's sink: the spool file's buffer. */
static int
data_put(void *arg, const void *p, size_t n)
{
	spool_put(arg, p, n);	/* a write error is kept in sp->failed */
	return 0;
}

/*
 * DATA (smtp_tx has checked MAIL, RCPT and the syntax). Returns -1 when
 * the session must end (client gone or timed out).
 */
static int
cmd_data(void *ctx)
{
	struct smtp_session	*s = ctx;
	struct smtp_spool	*sp;
	struct smtp_data	 d;
	struct smtp_tx_sink	 sink;
	enum smtp_tx_data	 res;
	int			 rc = 0;

	/* Not calloc: only the part of buf the message fills is touched. */
	if ((sp = malloc(sizeof(*sp))) == NULL) {
		smtp_tx_reply(&s->tx, "451 4.3.0 Error: insufficient system "
		    "storage");
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
	if (s->tx.auth_user[0] != '\0')
		log_info("%s: client=%s, sasl_method=%s, sasl_username=%s",
		    sp->qid, s->logname, s->tx.auth_mech, s->tx.auth_user);
	else
		log_info("%s: client=%s", sp->qid, s->logname);
	spool_received(s, sp);

	sink.put = data_put;
	sink.arg = sp;
	res = smtp_tx_data_read(&s->tx, &d, &sink);
	switch (res) {
	case SMTP_TX_DATA_TIMEOUT:
		queue_abort(s, sp);
		log_info("timeout after DATA (%llu bytes) from %s",
		    (unsigned long long)d.received, s->logname);
		rc = -1;
		break;
	case SMTP_TX_DATA_EOF:
	case SMTP_TX_DATA_IOERR:
		queue_abort(s, sp);
		log_info("lost connection after DATA (%llu bytes) from %s",
		    (unsigned long long)d.received, s->logname);
		rc = -1;
		break;
	case SMTP_TX_DATA_TOOBIG:
		queue_abort(s, sp);
		log_info("%s: reject: message of %llu+ bytes from %s exceeds "
		    "message_size_limit", sp->qid,
		    (unsigned long long)d.received, s->logname);
		break;
	case SMTP_TX_DATA_NUL:
		queue_abort(s, sp);
		log_info("%s: reject: NUL byte in message from %s", sp->qid,
		    s->logname);
		break;
	case SMTP_TX_DATA_LONG_LINE:
		queue_abort(s, sp);
		log_info("%s: reject: message line longer than %llu octets "
		    "from %s", sp->qid, (unsigned long long)d.line_max,
		    s->logname);
		break;
	case SMTP_TX_DATA_SINK:		/* data_put never fails */
	case SMTP_TX_DATA_OK:
		spool_flush(sp);
		/*
		 * No fsync here: queued fsyncs the message and its envelope
		 * together on its sync threads, so they share one journal
		 * commit; an fsync of our own would be one more, in series.
		 */
		if (sp->failed) {
			queue_abort(s, sp);
			reply_write_error(s);
		} else
			queue_commit(s, sp);
		break;
	}
	/* The refusals' words (421, 552, 554) are smtp_tx's. */
	smtp_tx_data_reply(&s->tx, res, &d);
	if (sp->fd != -1)
		close(sp->fd);
	/* The buffer held message text; smtp_tx's out[] goes with the stack. */
	explicit_bzero(sp->buf, sp->high);
	free(sp);
	return rc;
}

/*
 * The handshake, for STARTTLS and for implicit TLS alike. 0, or -1 with
 * the failure logged: the session is over, nothing more is said.
 */
static int
tls_begin(struct smtp_session *s, const char *after)
{
	char	err[512];
	size_t	dropped;
	int	rc;

	/* From the first TLS byte on, this process holds a client's secrets. */
	s->holds_secrets = 1;
	rc = tls_server_start(s->env->tls, &s->io, s->conf->smtpd_timeout,
	    &dropped, err, sizeof(err));
	if (dropped > 0)
		log_info("improper command pipelining after %s from %s: "
		    "%zu byte(s) discarded", after, s->logname, dropped);
	if (rc == -1) {
		log_info("SSL_accept error from %s: %s", s->logname, err);
		return -1;
	}
	(void)tls_session_info(&s->io, &s->tls);
	log_info("Anonymous TLS connection established from %s: %s with "
	    "cipher %s (%d/%d bits)%s%s%s", s->logname, s->tls.version,
	    s->tls.cipher, s->tls.bits, s->tls.alg_bits,
	    s->tls.servername[0] ? " sni=" : "", s->tls.servername,
	    s->tls.resumed ? " (resumed)" : "");
	return 0;
}

/* STARTTLS (smtp_tx has checked the state and the syntax). */
static int
cmd_starttls(void *ctx)
{
	struct smtp_session *s = ctx;

	if (s->env->tls == NULL) {
		log_warnx("STARTTLS from %s: TLS is not available: %s",
		    s->logname, s->env->tls_error != NULL ?
		    s->env->tls_error : "no certificate");
		smtp_tx_reply(&s->tx, "%s", SMTP_TX_STARTTLS_UNAVAILABLE);
		return 1;
	}
	smtp_tx_reply(&s->tx, "%s", SMTP_TX_STARTTLS_READY);
	return tls_begin(s, "STARTTLS");
}

static const struct smtp_tx_ops smtpd_tx_ops = {
	.rcpt = check_rcpt,
	.data = cmd_data,
	.vrfy = cmd_vrfy,
	.bad_utf8 = bad_utf8,
	.starttls = cmd_starttls,
	.auth = check_auth,
	.mail = check_mail,
};

static void
session_init(struct smtp_session *s, const struct smtp_env *env,
    struct smtp_backends *be, int fd, const struct sockaddr *peer,
    socklen_t peerlen, enum smtp_listener kind)
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
	smtp_tx_init(&s->tx, s->conf, &s->io, &smtpd_tx_ops, s);
	s->kind = kind;
	/* Offered whenever a certificate is configured; 454 if it broke. */
	s->tx.starttls_offer = kind != SMTP_LISTEN_SMTPS &&
	    tls_server_configured(s->conf);
	/*
	 * AUTH: always on submission and smtps, which require it (RFC
	 * 6409, 8314); on port 25 only with smtpd_auth_enable. A password
	 * may come before TLS only from plaintext_auth_networks.
	 */
	s->tx.auth_enabled = kind != SMTP_LISTEN_MX ||
	    s->conf->smtpd_auth_enable;
	s->tx.auth_required = kind != SMTP_LISTEN_MX;
	s->tx.auth_plain_ok = cidr_match_list(s->conf->plaintext_auth_networks.v,
	    s->conf->plaintext_auth_networks.n, peer);
	s->be = be;
	smtp_backend_check(&be->queue);
	smtp_backend_check(&be->resolver);
	smtp_backend_check(&be->auth);
}

void
smtp_backends_init(struct smtp_backends *be, int authfd)
{
	smtp_backend_init(&be->queue, "queue.sock");
	smtp_backend_init(&be->resolver, "resolver.sock");
	smtp_backend_adopt(&be->auth, authfd, "auth.sock");
}

void
smtp_backends_close(struct smtp_backends *be)
{
	smtp_backend_close(&be->queue);
	smtp_backend_close(&be->resolver);
	smtp_backend_close(&be->auth);
}

int
smtp_session_run(const struct smtp_env *env, struct smtp_backends *be,
    int fd, const struct sockaddr *peer, socklen_t peerlen,
    enum smtp_listener kind)
{
	struct smtp_session	s;
	enum smtp_tx_end	end;
	int			reusable;

	session_init(&s, env, be, fd, peer, peerlen, kind);
	log_info("connect from %s", s.logname);
	/* Implicit TLS (RFC 8314): the handshake comes before the greeting. */
	if (kind == SMTP_LISTEN_SMTPS) {
		if (env->tls == NULL) {
			log_warnx("TLS is not available: dropping %s on the "
			    "smtps listener: %s", s.logname, env->tls_error !=
			    NULL ? env->tls_error : "no certificate");
			end = SMTP_TX_END_TLS;
		} else if (tls_begin(&s, "connect") == -1)
			end = SMTP_TX_END_TLS;
		else {
			s.tx.tls = 1;
			end = smtp_tx_serve(&s.tx);
		}
	} else
		end = smtp_tx_serve(&s.tx);
	/* Logged before the 421 goes out, as Postfix does. */
	switch (end) {
	case SMTP_TX_END_ERRORS:
		log_info("too many errors after %s from %s", s.tx.last_cmd,
		    s.logname);
		break;
	case SMTP_TX_END_TIMEOUT:
		log_info("timeout after %s from %s", s.tx.last_cmd, s.logname);
		break;
	case SMTP_TX_END_EOF:
	case SMTP_TX_END_IOERR:
		log_info("lost connection after %s from %s", s.tx.last_cmd,
		    s.logname);
		break;
	case SMTP_TX_END_NONE:
	case SMTP_TX_END_QUIT:
	case SMTP_TX_END_BROKEN:
	case SMTP_TX_END_DATA:		/* cmd_data logged it */
	case SMTP_TX_END_TLS:		/* tls_begin logged it */
		break;
	}
	smtp_tx_end_reply(&s.tx, end);
	(void)netio_flush(&s.io);
	log_info("disconnect from %s", s.logname);
	smtp_tx_reset(&s.tx);
	tls_session_end(&s.io);
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
