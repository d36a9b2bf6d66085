/*
 * smtp_tx.c - the SMTP server's command handling, written once for
 * both of the suite's SMTP servers: the session loop (greeting, error
 * limit, command timeout), the state checks of each command and their
 * replies, the EHLO capability list, what MAIL and RCPT accept (sizes,
 * the recipient limit, the Q_COMMIT frame ceiling, <postmaster>), and
 * the DATA reader. A reply's wording here is the wording of smtpd and
 * of sendmail -bs alike, so the two cannot drift apart.
 *
 * Runs in smtpd's session processes (unprivileged, chrooted, possibly
 * reused for the next client of the same address) and in sendmail -bs
 * (as the invoking user). The client is trusted for nothing: lines come
 * bounded from netio, commands and paths from smtp_cmd, the message
 * from the smtp_data state machine, and every limit is checked before
 * anything is kept. The callbacks (smtp_tx.h) are the caller's and
 * trusted: they decide about recipients and where a message goes.
 *
 * smtpd's session is the hot path (its ingest rate is measured): the
 * commands here allocate nothing but the recipient strings, make no
 * system call but netio's, and keep nothing outside struct smtp_tx,
 * which its owner wipes between clients (doc/DESIGN.md, "Reuse").
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ipc.h"
#include "sasl.h"
#include "smtp_tx.h"
#include "text.h"

void
smtp_tx_init(struct smtp_tx *tx, const struct conf *conf, struct netio *io,
    const struct smtp_tx_ops *ops, void *ctx)
{
	memset(tx, 0, sizeof(*tx));
	tx->conf = conf;
	tx->io = io;
	tx->ops = ops;
	tx->ctx = ctx;
	tx->last_cmd = "CONNECT";
}

void
smtp_tx_reset(struct smtp_tx *tx)
{
	uint32_t i;

	/* Wiped, not just freed: a reused process must not keep them. */
	for (i = 0; i < tx->nrcpt; i++) {
		explicit_bzero(tx->rcpt[i], strlen(tx->rcpt[i]));
		free(tx->rcpt[i]);
		if (tx->orcpt[i] != NULL) {
			explicit_bzero(tx->orcpt[i], strlen(tx->orcpt[i]));
			free(tx->orcpt[i]);
		}
	}
	free(tx->rcpt);
	free(tx->orcpt);
	free(tx->notify);
	tx->rcpt = NULL;
	tx->orcpt = NULL;
	tx->notify = NULL;
	tx->nrcpt = 0;
	tx->rcpt_wire = 0;
	tx->rcpt_tried = 0;
	tx->data_begun = 0;
	tx->mail = 0;
	tx->sender[0] = '\0';
	tx->smtputf8 = 0;
	tx->body = SMTP_BODY_NONE;
	tx->ret = ENV_RET_NONE;
	explicit_bzero(tx->envid, sizeof(tx->envid));
}

void
smtp_tx_reply(struct smtp_tx *tx, const char *fmt, ...)
{
	char	text[SMTP_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	/* smtpd_error_limit of these end the session. */
	if (text[0] == '4' || text[0] == '5')
		tx->errors++;
	netio_printf(tx->io, "%s\r\n", text);
}

const char *
smtp_tx_proto(const struct smtp_tx *tx)
{
	int a = tx->auth_user[0] != '\0';

	if (!tx->esmtp)
		return tx->tls ? "SMTPS" : "SMTP";
	if (tx->smtputf8)
		return tx->tls ? (a ? "UTF8SMTPSA" : "UTF8SMTPS") :
		    (a ? "UTF8SMTPA" : "UTF8SMTP");
	return tx->tls ? (a ? "ESMTPSA" : "ESMTPS") : (a ? "ESMTPA" : "ESMTP");
}

void
smtp_tx_printable(char *dst, size_t dstsz, const char *src)
{
	size_t i = text_sanitize(dst, dstsz, src, '?', 0);

	while (i > 0 && dst[i - 1] == ' ')
		dst[--i] = '\0';
}

static const char *
tx_verb_name(enum smtp_verb v)
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
	case SMTP_CMD_STARTTLS: return "STARTTLS";
	case SMTP_CMD_AUTH: return "AUTH";
	default: return "UNKNOWN";
	}
}

/* Whether EHLO lists AUTH: enabled, and TLS or a trusted network. */
static int
tx_auth_offered(const struct smtp_tx *tx)
{
	return tx->ops->auth != NULL && tx->auth_enabled &&
	    (tx->tls || tx->auth_plain_ok) && tx->auth_user[0] == '\0';
}

static void
tx_helo(struct smtp_tx *tx, const char *arg, int esmtp)
{
	const struct conf *c = tx->conf;

	if (arg[0] == '\0') {
		smtp_tx_reply(tx, "501 5.5.4 Syntax: %s hostname",
		    esmtp ? "EHLO" : "HELO");
		return;
	}
	smtp_tx_printable(tx->helo, sizeof(tx->helo), arg);
	tx->helo_seen = 1;
	tx->esmtp = esmtp;
	smtp_tx_reset(tx);
	if (!esmtp) {
		smtp_tx_reply(tx, "250 %s", c->myhostname);
		return;
	}
	netio_printf(tx->io, "250-%s\r\n", c->myhostname);
	netio_printf(tx->io, "250-PIPELINING\r\n");
	if (tx->starttls_offer && !tx->tls && tx->ops->starttls != NULL)
		netio_printf(tx->io, "250-STARTTLS\r\n");
	if (tx_auth_offered(tx))
		netio_printf(tx->io, "250-AUTH PLAIN LOGIN\r\n");
	netio_printf(tx->io, "250-SIZE %llu\r\n",
	    (unsigned long long)c->message_size_limit);
	netio_printf(tx->io, "250-8BITMIME\r\n");
	netio_printf(tx->io, "250-DSN\r\n");
	netio_printf(tx->io, "250-ENHANCEDSTATUSCODES\r\n");
	netio_printf(tx->io, "250 SMTPUTF8\r\n");
}

/* Replies for a MAIL/RCPT parse failure; 1 if there was one. */
static int
tx_parse_error(struct smtp_tx *tx, enum smtp_perr rc,
    const struct smtp_path *p, const char *syntax_reply)
{
	char text[SMTP_LINE_MAX];

	if (rc == SMTP_PERR_OK)
		return 0;
	smtp_perr_reply(rc, p, syntax_reply, text, sizeof(text));
	smtp_tx_reply(tx, "%s", text);
	if (rc == SMTP_PERR_UTF8 && tx->ops->bad_utf8 != NULL)
		tx->ops->bad_utf8(tx->ctx);
	return 1;
}

static void
tx_mail(struct smtp_tx *tx, const char *arg)
{
	struct smtp_path p;

	/*
	 * Postfix's default (smtpd_helo_required = no) takes MAIL without
	 * a greeting: monitoring probes and simple scripts send none.
	 */
	if (!tx->helo_seen && tx->conf->smtpd_helo_required) {
		smtp_tx_reply(tx, "503 5.5.1 Error: send HELO/EHLO first");
		return;
	}
	if (tx->mail) {
		smtp_tx_reply(tx, "503 5.5.1 Error: nested MAIL command");
		return;
	}
	/* Submission (RFC 6409 4.3): nothing without a login. */
	if (tx->auth_required && tx->auth_user[0] == '\0') {
		smtp_tx_reply(tx, "530 5.7.0 Authentication required");
		return;
	}
	if (tx_parse_error(tx, smtp_parse_mail(arg, &p), &p,
	    "501 5.1.7 Bad sender address syntax"))
		return;
	if (p.has_size && p.size > tx->conf->message_size_limit) {
		smtp_tx_reply(tx, "552 5.3.4 Message size exceeds fixed limit");
		return;
	}
	if (tx->ops->mail != NULL && tx->ops->mail(tx->ctx, p.addr) == -1)
		return;
	tx->mail = 1;
	strlcpy(tx->sender, p.addr, sizeof(tx->sender));
	tx->smtputf8 = p.smtputf8;
	tx->body = p.body;
	tx->ret = p.ret;
	strlcpy(tx->envid, p.envid, sizeof(tx->envid));
	smtp_tx_reply(tx, "250 2.1.0 Ok");
}

/* 0 added (or already there), -1 out of memory. */
static int
tx_rcpt_add(struct smtp_tx *tx, const char *addr, const struct smtp_path *p)
{
	char	**nv, **no;
	uint32_t *nn;
	uint32_t  i;
	size_t	  n = (size_t)tx->nrcpt + 1;

	for (i = 0; i < tx->nrcpt; i++)
		/*
		 * The store folds case: ALICE@ and alice@ are one mailbox,
		 * one copy is enough, and the first RCPT's DSN options win.
		 */
		if (strcasecmp(tx->rcpt[i], addr) == 0)
			return 0;
	if ((nv = reallocarray(tx->rcpt, n, sizeof(*nv))) == NULL)
		return -1;
	tx->rcpt = nv;
	if ((no = reallocarray(tx->orcpt, n, sizeof(*no))) == NULL)
		return -1;
	tx->orcpt = no;
	if ((nn = reallocarray(tx->notify, n, sizeof(*nn))) == NULL)
		return -1;
	tx->notify = nn;
	tx->notify[tx->nrcpt] = p->notify;
	tx->orcpt[tx->nrcpt] = NULL;
	if (p->orcpt[0] != '\0' &&
	    (tx->orcpt[tx->nrcpt] = strdup(p->orcpt)) == NULL)
		return -1;
	if ((tx->rcpt[tx->nrcpt] = strdup(addr)) == NULL) {
		free(tx->orcpt[tx->nrcpt]);
		return -1;
	}
	tx->nrcpt++;
	/* Q_COMMIT's share: address, notify, orcpt, with their lengths. */
	tx->rcpt_wire += 4 + strlen(addr) + 4 + 4 + strlen(p->orcpt);
	return 0;
}

void
smtp_tx_commit_fill(const struct smtp_tx *tx, struct q_commit *qc)
{
	qc->body = tx->body == SMTP_BODY_8BITMIME ? ENV_BODY_8BITMIME :
	    ENV_BODY_7BIT;
	qc->smtputf8 = tx->smtputf8 ? 1 : 0;
	qc->ret = (uint32_t)tx->ret;
	strlcpy(qc->envid, tx->envid, sizeof(qc->envid));
	qc->nrcpt = tx->nrcpt;
	qc->rcpt = tx->rcpt;
	qc->notify = tx->notify;
	qc->orcpt = tx->orcpt;
}

static void
tx_rcpt(struct smtp_tx *tx, const char *arg)
{
	const struct conf	*c = tx->conf;
	struct smtp_path	 p;
	char			 addr[ADDR_MAX + 1];

	if (!tx->mail) {
		smtp_tx_reply(tx, "503 5.5.1 Error: need MAIL command");
		return;
	}
	if (tx_parse_error(tx, smtp_parse_rcpt(arg, tx->smtputf8, &p), &p,
	    "501 5.1.3 Bad recipient address syntax"))
		return;
	tx->rcpt_tried = 1;
	/*
	 * The limit is checked before anything is kept; so is the size of
	 * the Q_COMMIT frame the list must fit in (a frame has a ceiling,
	 * and a large recipient limit must not make queued refuse it).
	 */
	if (tx->nrcpt >= (uint64_t)c->smtpd_recipient_limit ||
	    tx->rcpt_wire + 4 + ADDR_MAX + 8 + ENV_ORCPT_MAX + 2048 >
	    IPC_MAX_PAYLOAD) {
		smtp_tx_reply(tx, "452 4.5.3 Error: too many recipients");
		return;
	}
	/* Bare <postmaster> is ours (RFC 5321 4.5.1): no lookup. */
	if (p.postmaster) {
		if (snprintf(addr, sizeof(addr), "postmaster@%s",
		    conf_default_domain(c)) >= (int)sizeof(addr)) {
			smtp_tx_reply(tx, "451 4.3.0 Error: internal error");
			return;
		}
	} else {
		strlcpy(addr, p.addr, sizeof(addr));
		if (tx->ops->rcpt != NULL && tx->ops->rcpt(tx->ctx, addr) == -1)
			return;
	}
	if (tx_rcpt_add(tx, addr, &p) == -1) {
		smtp_tx_reply(tx, "452 4.3.1 Error: insufficient system "
		    "storage");
		return;
	}
	smtp_tx_reply(tx, "250 2.1.5 Ok");
}

/* -1: the data callback ended the session. */
static int
tx_data(struct smtp_tx *tx, const char *arg)
{
	int rc;

	if (!tx->mail) {
		smtp_tx_reply(tx, "503 5.5.1 Error: need MAIL command");
		return 0;
	}
	if (tx->nrcpt == 0) {
		if (tx->rcpt_tried)
			smtp_tx_reply(tx, "554 5.5.1 Error: no valid "
			    "recipients");
		else
			smtp_tx_reply(tx, "503 5.5.1 Error: need RCPT command");
		return 0;
	}
	if (arg[0] != '\0') {
		smtp_tx_reply(tx, "501 5.5.4 Syntax: DATA");
		return 0;
	}
	/*
	 * A DATA refused before its 354 (queued unreachable, this user may
	 * not submit) leaves the transaction open for another try; once the
	 * text was read, whatever became of it, the transaction is over.
	 */
	tx->data_begun = 0;
	rc = tx->ops->data(tx->ctx);
	if (tx->data_begun)
		smtp_tx_reset(tx);
	return rc;
}

/*
 * STARTTLS (RFC 3207). What the client pipelined after it is dropped
 * by netio_starttls, so it is never answered, in plaintext or under
 * TLS; what the session knew (HELO, the transaction) is forgotten here.
 */
static enum smtp_tx_end
tx_starttls(struct smtp_tx *tx, const char *arg)
{
	int rc;

	/* sendmail -bs: no such command, as before STARTTLS existed. */
	if (tx->ops->starttls == NULL) {
		smtp_tx_reply(tx, "500 5.5.2 Error: command not recognized");
		return SMTP_TX_END_NONE;
	}
	if (tx->tls) {
		smtp_tx_reply(tx, "503 5.5.1 Error: TLS already active");
		return SMTP_TX_END_NONE;
	}
	/* smtpd without a certificate: Postfix's words. */
	if (!tx->starttls_offer) {
		smtp_tx_reply(tx, "502 5.5.1 Error: command not implemented");
		return SMTP_TX_END_NONE;
	}
	if (arg[0] != '\0') {
		smtp_tx_reply(tx, "501 5.5.4 Syntax: STARTTLS");
		return SMTP_TX_END_NONE;
	}
	if (tx->mail) {
		smtp_tx_reply(tx, "503 5.5.1 Error: MAIL transaction in "
		    "progress");
		return SMTP_TX_END_NONE;
	}
	if ((rc = tx->ops->starttls(tx->ctx)) == -1)
		return SMTP_TX_END_TLS;
	if (rc == 0) {
		tx->tls = 1;
		smtp_tx_reset(tx);
		tx->helo_seen = 0;
		tx->esmtp = 0;
		explicit_bzero(tx->helo, sizeof(tx->helo));
		/* A login before TLS is knowledge from the client too. */
		explicit_bzero(tx->auth_user, sizeof(tx->auth_user));
		explicit_bzero(tx->auth_mech, sizeof(tx->auth_mech));
	}
	return SMTP_TX_END_NONE;
}

/*
 * One SASL response line (RFC 4954 4), base64-decoded into out (NUL-
 * terminated). 0; 1 when refused (replied: "*" cancels, bad base64, too
 * long); -1 when the session is over (timeout, EOF, error).
 */
static int
tx_auth_response(struct smtp_tx *tx, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	char			line[SMTP_AUTH_LINE_MAX];
	size_t			len;
	enum netio_status	st;
	int			rc = 0;

	netio_flush(tx->io);
	st = netio_getline(tx->io, line, sizeof(line), &len,
	    tx->conf->smtpd_timeout);
	if (st == NETIO_TOOLONG) {
		smtp_tx_reply(tx, "500 5.5.6 Authentication Exchange line is "
		    "too long");
		rc = 1;
	} else if (st != NETIO_OK)
		rc = -1;
	else if (strcmp(line, "*") == 0) {
		smtp_tx_reply(tx, "501 5.7.0 Authentication aborted");
		rc = 1;
	} else if (memchr(line, '\0', len) != NULL ||
	    sasl_base64_decode(line, out, outsz - 1, outlen) == -1) {
		smtp_tx_reply(tx, "501 5.5.2 Cannot decode response");
		rc = 1;
	} else
		out[*outlen] = '\0';
	explicit_bzero(line, sizeof(line));
	return rc;
}

/*
 * AUTH PLAIN [initial-response] or AUTH LOGIN [initial-response] (RFC
 * 4954, 4616; LOGIN as every client and server implements it: the user
 * name, then the password, each prompted and base64-encoded). The
 * credentials go to ops->auth; every copy here is wiped before return.
 */
static enum smtp_tx_end
tx_auth(struct smtp_tx *tx, const char *arg)
{
	unsigned char	 buf[SMTP_AUTH_LINE_MAX];
	char		 mech[16], user[ADDR_MAX + 1], pass[A_AUTH_SECRET_MAX + 1];
	char		 login[ADDR_MAX + 1];
	const char	*init;
	size_t		 n, len;
	uint32_t	 verdict;
	int		 rc = 0;

	if (tx->ops->auth == NULL || !tx->auth_enabled) {
		smtp_tx_reply(tx, "503 5.5.1 Error: authentication not "
		    "enabled");
		return SMTP_TX_END_NONE;
	}
	if (!tx->tls && !tx->auth_plain_ok) {
		smtp_tx_reply(tx, "530 5.7.0 Must issue a STARTTLS command "
		    "first");
		return SMTP_TX_END_NONE;
	}
	if (!tx->esmtp) {
		smtp_tx_reply(tx, "503 5.5.1 Error: send HELO/EHLO first");
		return SMTP_TX_END_NONE;
	}
	if (tx->auth_user[0] != '\0') {
		smtp_tx_reply(tx, "503 5.5.1 Error: already authenticated");
		return SMTP_TX_END_NONE;
	}
	if (tx->mail) {
		smtp_tx_reply(tx, "503 5.5.1 Error: MAIL transaction in "
		    "progress");
		return SMTP_TX_END_NONE;
	}
	n = strcspn(arg, " \t");
	if (n == 0 || n >= sizeof(mech)) {
		smtp_tx_reply(tx, "501 5.5.4 Syntax: AUTH mechanism");
		return SMTP_TX_END_NONE;
	}
	memcpy(mech, arg, n);
	mech[n] = '\0';
	for (len = 0; len < n; len++)
		mech[len] = (char)toupper((unsigned char)mech[len]);
	init = arg + n;
	while (*init == ' ' || *init == '\t')
		init++;
	user[0] = pass[0] = '\0';
	if (strcmp(mech, "PLAIN") == 0) {
		if (*init == '\0') {
			smtp_tx_reply(tx, "334 ");
			rc = tx_auth_response(tx, buf, sizeof(buf), &len);
		} else if (sasl_base64_decode(init, buf, sizeof(buf) - 1,
		    &len) == -1) {
			smtp_tx_reply(tx, "501 5.5.2 Cannot decode response");
			rc = 1;
		}
		if (rc == 0 && sasl_plain(buf, len, user, sizeof(user), pass,
		    sizeof(pass)) == -1) {
			smtp_tx_reply(tx, "%s", SMTP_TX_AUTH_FAILED);
			rc = 1;
		}
	} else if (strcmp(mech, "LOGIN") == 0) {
		if (*init != '\0') {
			if (sasl_base64_decode(init, buf, sizeof(buf) - 1,
			    &len) == -1) {
				smtp_tx_reply(tx, "501 5.5.2 Cannot decode "
				    "response");
				rc = 1;
			} else
				buf[len] = '\0';
		} else {
			smtp_tx_reply(tx, "334 VXNlcm5hbWU6");	/* Username: */
			rc = tx_auth_response(tx, buf, sizeof(buf), &len);
		}
		if (rc == 0 && (len >= sizeof(user) ||
		    memchr(buf, '\0', len) != NULL)) {
			smtp_tx_reply(tx, "%s", SMTP_TX_AUTH_FAILED);
			rc = 1;
		} else if (rc == 0) {
			memcpy(user, buf, len + 1);
			smtp_tx_reply(tx, "334 UGFzc3dvcmQ6");	/* Password: */
			rc = tx_auth_response(tx, buf, sizeof(buf), &len);
			if (rc == 0 && (len >= sizeof(pass) ||
			    memchr(buf, '\0', len) != NULL)) {
				smtp_tx_reply(tx, "%s", SMTP_TX_AUTH_FAILED);
				rc = 1;
			} else if (rc == 0)
				memcpy(pass, buf, len + 1);
		}
	} else {
		smtp_tx_reply(tx, "504 5.5.4 Unrecognized authentication "
		    "type");
		rc = 1;
	}
	explicit_bzero(buf, sizeof(buf));
	if (rc != 0) {
		explicit_bzero(pass, sizeof(pass));
		return rc == -1 ? SMTP_TX_END_EOF : SMTP_TX_END_NONE;
	}
	login[0] = '\0';
	verdict = tx->ops->auth(tx->ctx, mech, user, pass, login,
	    sizeof(login));
	explicit_bzero(pass, sizeof(pass));
	switch (verdict) {
	case A_AUTH_OK:
		strlcpy(tx->auth_user, login, sizeof(tx->auth_user));
		strlcpy(tx->auth_mech, mech, sizeof(tx->auth_mech));
		smtp_tx_reply(tx, "%s", SMTP_TX_AUTH_OK);
		break;
	case A_AUTH_FAIL:
		smtp_tx_reply(tx, "%s", SMTP_TX_AUTH_FAILED);
		break;
	default:
		smtp_tx_reply(tx, "%s", SMTP_TX_AUTH_TEMPFAIL);
		break;
	}
	return SMTP_TX_END_NONE;
}

enum smtp_tx_end
smtp_tx_command(struct smtp_tx *tx, const struct smtp_cmd *cmd)
{
	tx->last_cmd = tx_verb_name(cmd->verb);
	switch (cmd->verb) {
	case SMTP_CMD_NUL:
		smtp_tx_reply(tx, "500 5.5.2 Error: NUL byte in command");
		break;
	case SMTP_CMD_UNKNOWN:
		smtp_tx_reply(tx, "500 5.5.2 Error: command not recognized");
		break;
	case SMTP_CMD_HELO:
		tx_helo(tx, cmd->arg, 0);
		break;
	case SMTP_CMD_EHLO:
		tx_helo(tx, cmd->arg, 1);
		break;
	case SMTP_CMD_MAIL:
		tx_mail(tx, cmd->arg);
		break;
	case SMTP_CMD_RCPT:
		tx_rcpt(tx, cmd->arg);
		break;
	case SMTP_CMD_DATA:
		if (tx_data(tx, cmd->arg) == -1)
			return SMTP_TX_END_DATA;
		break;
	case SMTP_CMD_RSET:
		smtp_tx_reset(tx);
		smtp_tx_reply(tx, "250 2.0.0 Ok");
		break;
	case SMTP_CMD_NOOP:
		smtp_tx_reply(tx, "250 2.0.0 Ok");
		break;
	case SMTP_CMD_VRFY:
		if (tx->ops->vrfy != NULL)
			tx->ops->vrfy(tx->ctx, cmd->arg);
		else
			smtp_tx_reply(tx, "%s", SMTP_TX_CANNOT_VRFY);
		break;
	case SMTP_CMD_HELP:
		smtp_tx_reply(tx, "214 2.0.0 Commands: HELO EHLO MAIL RCPT "
		    "DATA RSET NOOP VRFY HELP QUIT");
		break;
	case SMTP_CMD_QUIT:
		smtp_tx_reply(tx, "221 2.0.0 Bye");
		return SMTP_TX_END_QUIT;
	case SMTP_CMD_STARTTLS:
		return tx_starttls(tx, cmd->arg);
	case SMTP_CMD_AUTH:
		return tx_auth(tx, cmd->arg);
	}
	return SMTP_TX_END_NONE;
}

enum smtp_tx_end
smtp_tx_serve(struct smtp_tx *tx)
{
	const struct conf	*c = tx->conf;
	char			 line[SMTP_AUTH_LINE_MAX];
	size_t			 len;
	struct smtp_cmd		 cmd;
	enum netio_status	 st;
	enum smtp_tx_end	 end = SMTP_TX_END_NONE;

	smtp_tx_reply(tx, "220 %s %s", c->myhostname, c->smtpd_banner);
	while (end == SMTP_TX_END_NONE) {
		if (tx->io->broken)
			return SMTP_TX_END_BROKEN;
		if (tx->errors >= c->smtpd_error_limit)
			return SMTP_TX_END_ERRORS;
		/* Room for AUTH's; every other command keeps RFC 5321's. */
		st = netio_getline(tx->io, line, sizeof(line), &len,
		    c->smtpd_timeout);
		if (st == NETIO_TIMEOUT)
			return SMTP_TX_END_TIMEOUT;
		if (st == NETIO_EOF)
			return SMTP_TX_END_EOF;
		if (st == NETIO_ERROR)
			return SMTP_TX_END_IOERR;
		if (st == NETIO_TOOLONG) {
			smtp_tx_reply(tx, "500 5.5.2 Error: line too long");
			continue;
		}
		smtp_cmd_parse(line, len, &cmd);
		if (cmd.verb != SMTP_CMD_AUTH && len + 2 > SMTP_LINE_MAX) {
			smtp_tx_reply(tx, "500 5.5.2 Error: line too long");
			continue;
		}
		end = smtp_tx_command(tx, &cmd);
		/* An AUTH line held a password. */
		if (cmd.verb == SMTP_CMD_AUTH)
			explicit_bzero(line, sizeof(line));
	}
	return end;
}

void
smtp_tx_end_reply(struct smtp_tx *tx, enum smtp_tx_end end)
{
	if (end == SMTP_TX_END_TIMEOUT)
		smtp_tx_reply(tx, "421 4.4.2 %s Error: timeout exceeded",
		    tx->conf->myhostname);
	else if (end == SMTP_TX_END_ERRORS)
		smtp_tx_reply(tx, "421 4.7.0 %s Error: too many errors",
		    tx->conf->myhostname);
}

enum smtp_tx_data
smtp_tx_data_read(struct smtp_tx *tx, struct smtp_data *d,
    const struct smtp_tx_sink *sink)
{
	const struct conf	*c = tx->conf;
	struct netio		*io = tx->io;
	unsigned char		 out[NETIO_INBUF + SMTP_DATA_SLACK];
	size_t			 n, olen;
	int			 toobig = 0, failed = 0;
	enum netio_status	 st = NETIO_OK;

	smtp_tx_reply(tx, "354 End data with <CR><LF>.<CR><LF>");
	tx->data_begun = 1;
	smtp_data_init(d);
	d->line_max = c->smtpd_max_line_length;
	while (!smtp_data_done(d)) {
		if (netio_buffered(io) == 0 &&
		    (st = netio_fill(io, c->smtpd_data_timeout)) != NETIO_OK)
			break;
		n = smtp_data_feed(d, io->in + io->inpos, netio_buffered(io),
		    out, &olen);
		io->inpos += n;
		/* Past the limit we read on to the end, but keep nothing. */
		if (d->received > c->message_size_limit)
			toobig = 1;
		if (!toobig && !d->long_line && !d->nul && !failed &&
		    sink->put(sink->arg, out, olen) == -1) {
			if (errno == E2BIG)
				toobig = 1;
			else
				failed = 1;
		}
	}
	/*
	 * out[] held message text. Not wiped here, once per message on the
	 * hot path: smtpd wipes the stack before a reused process serves
	 * its next client, and sendmail -bs serves one and exits.
	 */

	if (!smtp_data_done(d)) {
		if (st == NETIO_TIMEOUT)
			return SMTP_TX_DATA_TIMEOUT;
		return st == NETIO_EOF ? SMTP_TX_DATA_EOF : SMTP_TX_DATA_IOERR;
	}
	if (toobig)
		return SMTP_TX_DATA_TOOBIG;
	if (d->nul)
		return SMTP_TX_DATA_NUL;
	if (d->long_line)
		return SMTP_TX_DATA_LONG_LINE;
	if (failed)
		return SMTP_TX_DATA_SINK;
	return SMTP_TX_DATA_OK;
}

void
smtp_tx_data_reply(struct smtp_tx *tx, enum smtp_tx_data res,
    const struct smtp_data *d)
{
	switch (res) {
	case SMTP_TX_DATA_TIMEOUT:
		smtp_tx_end_reply(tx, SMTP_TX_END_TIMEOUT);
		break;
	case SMTP_TX_DATA_TOOBIG:
		smtp_tx_reply(tx, "552 5.3.4 Error: message file too big");
		break;
	case SMTP_TX_DATA_NUL:
		smtp_tx_reply(tx, "554 5.6.0 Error: NUL byte in message");
		break;
	case SMTP_TX_DATA_LONG_LINE:
		smtp_tx_reply(tx, "554 5.6.0 Error: message line longer than "
		    "%llu octets", (unsigned long long)d->line_max);
		break;
	case SMTP_TX_DATA_SINK:
		smtp_tx_reply(tx, "451 4.3.1 Error: insufficient system "
		    "storage");
		break;
	case SMTP_TX_DATA_OK:
	case SMTP_TX_DATA_EOF:
	case SMTP_TX_DATA_IOERR:
		break;
	}
}
