/*
 * imap_login.c - the not-authenticated state of one IMAP session (RFC
 * 3501 6.1, 6.2): greeting, CAPABILITY, NOOP, LOGOUT, ID (RFC 2971),
 * STARTTLS, LOGIN, AUTHENTICATE PLAIN with SASL-IR (RFC 4959). On an
 * implicit-TLS listener (imaps_listen, RFC 8314) the layer has done the
 * handshake before the greeting. Without TLS, a client outside
 * plaintext_auth_networks sees LOGINDISABLED and its LOGIN and
 * AUTHENTICATE get "NO [PRIVACYREQUIRED]" (the policy is the login
 * layer's: libcommon/login_policy.c).
 *
 * Runs in a login process (libcommon/login_proc.c set it up): as
 * login_user, chrooted in an empty directory, holding only the client
 * socket and a socketpair to the parent. Commands are read whole, with
 * their literals (imap_reader, limits small enough for a user name and
 * a password), and tokenized (imap_parse). It cannot check a password:
 * login_ask hands the credentials to the parent with the command's tag
 * as the state, and either returns why the login failed, or the process
 * is ended while the parent starts the mail process, which answers the
 * tag itself. The client is trusted for nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_parse.h"
#include "imap_reader.h"
#include "imapd.h"
#include "log.h"
#include "login.h"
#include "proto.h"
#include "sasl.h"
#include "tls.h"

/* Dovecot's words, which clients and log watchers already know. */
#define IMAP_PLAINTEXT_REFUSED	"[PRIVACYREQUIRED] Plaintext " \
	"authentication disallowed on non-secure (SSL/TLS) connections."

struct imap_lsess {
	struct login_sess	*ls;
	struct netio		*io;
	struct imap_reader	 rd;
	struct imap_cmd		 cmd;
	struct imap_request	 req;
};

static void __attribute__((__noreturn__))
lsess_exit(struct imap_lsess *s)
{
	imap_request_free(&s->req);
	imap_cmd_free(&s->cmd);
	imap_reader_free(&s->rd);
	login_exit(s->ls);
}

/* A command we could not make sense of: counted, as in the mail state. */
static void __attribute__((format(printf, 3, 4)))
lsess_bad(struct imap_lsess *s, const char *tag, const char *fmt, ...)
{
	char	text[256];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	netio_printf(s->io, "%s BAD %s\r\n", tag, text);
	if (++s->ls->errors >= IMAP_ERRORS_MAX) {
		netio_printf(s->io, "* BYE Too many invalid IMAP commands.\r\n");
		lsess_exit(s);
	}
}

static int
starttls_offered(const struct login_sess *ls)
{
	return ls->transport == LOGIN_TRANSPORT_PLAIN &&
	    tls_server_configured(ls->env->conf);
}

static void
write_capability(struct imap_lsess *s, const char *prefix,
    const char *suffix)
{
	struct buf b;

	buf_init(&b, 1024);
	imap_capability(&b, IMAP_CAP_PRELOGIN, login_plaintext_ok(s->ls),
	    starttls_offered(s->ls));
	if (buf_cstr(&b) == 0)
		netio_printf(s->io, "%s%s%s", prefix, b.data, suffix);
	buf_free(&b);
}

/*
 * Asks the parent. Returns only on failure (the parent ends us on
 * success, and the mail process answers the tag); the reply is ours.
 */
static void
login_try(struct imap_lsess *s, const char *tag, enum login_mech mech,
    const char *user, char *pass)
{
	enum login_fail why;

	why = login_ask(s->ls, mech, user, pass, tag, strlen(tag));
	switch (why) {
	case LOGIN_FAIL_PLAINTEXT:
		/* Only if a command forgot plaintext_refused: the guard. */
		lsess_bad(s, tag, "%s", IMAP_PLAINTEXT_REFUSED);
		return;
	case LOGIN_FAIL_TEMP:
		netio_printf(s->io, "%s NO [UNAVAILABLE] Authentication "
		    "service unavailable; try later.\r\n", tag);
		return;
	case LOGIN_FAIL_USER_BUSY:
		netio_printf(s->io, "%s NO [LIMIT] Too many sessions for "
		    "this user (imap_user_session_limit).\r\n", tag);
		return;
	case LOGIN_FAIL_LIMIT:
		netio_printf(s->io, "%s NO [AUTHENTICATIONFAILED] Too many "
		    "failed logins; try later.\r\n", tag);
		lsess_exit(s);
	case LOGIN_FAIL_AUTH:
	case LOGIN_FAIL_TOOLONG:
		break;
	}
	if (++s->ls->failures >= LOGIN_TRIES) {
		netio_printf(s->io, "* BYE Too many failed logins.\r\n%s NO "
		    "[AUTHENTICATIONFAILED] Authentication failed.\r\n", tag);
		lsess_exit(s);
	}
	netio_printf(s->io, "%s NO [AUTHENTICATIONFAILED] Authentication "
	    "failed.\r\n", tag);
}

/*
 * The plaintext policy, before anything else a login command would do:
 * -1 (answered NO, counted as an error, logged by the layer) if refused.
 */
static int
plaintext_refused(struct imap_lsess *s, const char *tag, const char *cmd)
{
	if (login_plaintext_check(s->ls, cmd) == 0)
		return 0;
	netio_printf(s->io, "%s NO %s\r\n", tag, IMAP_PLAINTEXT_REFUSED);
	if (++s->ls->errors >= IMAP_ERRORS_MAX) {
		netio_printf(s->io, "* BYE Too many invalid IMAP commands.\r\n");
		lsess_exit(s);
	}
	return -1;
}

static void
cmd_login(struct imap_lsess *s, const char *tag)
{
	const char	*user, *pass;
	size_t		 ulen, plen;
	char		 u[ADDR_MAX + 1], p[A_AUTH_SECRET_MAX + 1];

	if (plaintext_refused(s, tag, "LOGIN") == -1)
		return;
	if (s->req.nargs != 2 ||
	    imap_arg_astring(imap_req_arg(&s->req, 0), &user, &ulen) == -1 ||
	    imap_arg_astring(imap_req_arg(&s->req, 1), &pass, &plen) == -1) {
		lsess_bad(s, tag, "LOGIN needs a user name and a password");
		return;
	}
	if (ulen >= sizeof(u) || plen >= sizeof(p) ||
	    memchr(user, '\0', ulen) != NULL) {
		netio_printf(s->io, "%s NO [AUTHENTICATIONFAILED] "
		    "Authentication failed.\r\n", tag);
		s->ls->failures++;
		return;
	}
	memcpy(u, user, ulen);
	u[ulen] = '\0';
	memcpy(p, pass, plen);
	p[plen] = '\0';
	login_try(s, tag, LOGIN_MECH_PLAINTEXT, u, p);
	explicit_bzero(p, sizeof(p));
}

/* The PLAIN response (RFC 4616), base64; "=" is an empty one (4959). */
static void
auth_plain(struct imap_lsess *s, const char *tag, const char *resp)
{
	unsigned char	dec[IMAP_LOGIN_LINE_MAX];
	char		user[ADDR_MAX + 1], pass[A_AUTH_SECRET_MAX + 1];
	size_t		declen;

	if (strcmp(resp, "=") == 0)
		resp = "";
	if (sasl_base64_decode(resp, dec, sizeof(dec), &declen) == -1) {
		lsess_bad(s, tag, "Invalid base64 data in AUTHENTICATE "
		    "response");
		return;
	}
	if (sasl_plain(dec, declen, user, sizeof(user), pass,
	    sizeof(pass)) == -1) {
		explicit_bzero(dec, sizeof(dec));
		netio_printf(s->io, "%s NO [AUTHENTICATIONFAILED] Invalid "
		    "PLAIN response.\r\n", tag);
		s->ls->failures++;
		return;
	}
	explicit_bzero(dec, sizeof(dec));
	login_try(s, tag, LOGIN_MECH_SASL_PLAIN, user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void
cmd_authenticate(struct imap_lsess *s, const char *tag)
{
	const struct imap_arg	*mech = imap_req_arg(&s->req, 0);
	const struct imap_arg	*ir = imap_req_arg(&s->req, 1);
	char			 line[IMAP_LOGIN_LINE_MAX];
	size_t			 len;
	enum netio_status	 st;

	if (mech == NULL || mech->type != IMAP_ARG_ATOM || s->req.nargs > 2 ||
	    (ir != NULL && ir->type != IMAP_ARG_ATOM)) {
		lsess_bad(s, tag, "AUTHENTICATE needs a mechanism");
		return;
	}
	/* Refused before a response is asked for or decoded. */
	if (plaintext_refused(s, tag, "AUTHENTICATE") == -1)
		return;
	if (!imap_arg_is(mech, "PLAIN")) {
		netio_printf(s->io, "%s NO Unsupported authentication "
		    "mechanism.\r\n", tag);
		return;
	}
	if (ir != NULL) {
		auth_plain(s, tag, ir->s);
		return;
	}
	netio_printf(s->io, "+ \r\n");
	st = netio_getline(s->io, line, sizeof(line), &len,
	    login_read_timeout(s->ls));
	if (st == NETIO_TIMEOUT)
		login_timed_out(s->ls);
	if (st == NETIO_EOF || st == NETIO_ERROR)
		lsess_exit(s);
	if (st == NETIO_TOOLONG) {
		lsess_bad(s, tag, "AUTHENTICATE response too long");
		return;
	}
	if (strcmp(line, "*") == 0)
		lsess_bad(s, tag, "Authentication cancelled");
	else if (memchr(line, '\0', len) != NULL)
		lsess_bad(s, tag, "Invalid base64 data in AUTHENTICATE "
		    "response");
	else
		auth_plain(s, tag, line);
	explicit_bzero(line, sizeof(line));
}

/*
 * STARTTLS (RFC 3501 6.2.1): the layer discards whatever the client
 * pipelined after it; the client must ask CAPABILITY again.
 */
static void
cmd_starttls(struct imap_lsess *s, const char *tag)
{
	char goahead[IMAP_TAG_MAX + 64];

	if (s->ls->transport != LOGIN_TRANSPORT_PLAIN) {
		lsess_bad(s, tag, "TLS is already active");
		return;
	}
	if (!tls_server_configured(s->ls->env->conf)) {
		lsess_bad(s, tag, "TLS support isn't enabled");
		return;
	}
	snprintf(goahead, sizeof(goahead), "%s OK Begin TLS negotiation "
	    "now.\r\n", tag);
	if (login_starttls(s->ls, goahead) == -1) {
		log_warnx("STARTTLS from [%s]: TLS is not available: %s",
		    s->ls->ip, s->ls->env->tls_error != NULL ?
		    s->ls->env->tls_error : "no certificate");
		netio_printf(s->io, "%s NO [UNAVAILABLE] TLS not available "
		    "now.\r\n", tag);
	}
}

/* Commands of the other states, named so the answer can say why. */
static int
authenticated_command(const char *name)
{
	static const char *const names[] = { "SELECT", "EXAMINE", "CREATE",
	    "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB",
	    "STATUS", "APPEND", "CHECK", "CLOSE", "EXPUNGE", "SEARCH",
	    "FETCH", "STORE", "COPY", "MOVE", "UID", "IDLE", "NAMESPACE",
	    "ENABLE", "UNSELECT", NULL };
	size_t i;

	for (i = 0; names[i] != NULL; i++)
		if (strcmp(names[i], name) == 0)
			return 1;
	return 0;
}

static void
dispatch(struct imap_lsess *s)
{
	const char *tag = s->req.tag, *name = s->req.name;

	if (strcmp(name, "CAPABILITY") == 0) {
		write_capability(s, "* CAPABILITY ", "\r\n");
		netio_printf(s->io, "%s OK Capability completed.\r\n", tag);
	} else if (strcmp(name, "NOOP") == 0)
		netio_printf(s->io, "%s OK NOOP completed.\r\n", tag);
	else if (strcmp(name, "LOGOUT") == 0) {
		netio_printf(s->io, "* BYE Logging out\r\n%s OK Logout "
		    "completed.\r\n", tag);
		lsess_exit(s);
	} else if (strcmp(name, "ID") == 0)
		netio_printf(s->io, "* ID (\"name\" \"Postern\")\r\n%s OK ID "
		    "completed.\r\n", tag);
	else if (strcmp(name, "STARTTLS") == 0)
		cmd_starttls(s, tag);
	else if (strcmp(name, "LOGIN") == 0)
		cmd_login(s, tag);
	else if (strcmp(name, "AUTHENTICATE") == 0)
		cmd_authenticate(s, tag);
	else if (authenticated_command(name))
		lsess_bad(s, tag, "%s not allowed now: log in first", name);
	else
		lsess_bad(s, tag, "Unknown command %s", name);
}

void
imap_login_run(struct login_sess *ls)
{
	static struct imap_lsess s;
	struct imap_limits	 lim;
	enum imap_rd_status	 st;
	int			 ncmds;

	memset(&s, 0, sizeof(s));
	s.ls = ls;
	s.io = &ls->io;
	imap_limits_default(&lim);
	lim.line_max = IMAP_LOGIN_LINE_MAX;
	lim.literal_max = IMAP_LOGIN_LITERAL_MAX;
	lim.command_max = 2 * IMAP_LOGIN_LITERAL_MAX + IMAP_LOGIN_LINE_MAX;
	lim.literals_max = 2;
	lim.discard_max = 2 * IMAP_LOGIN_LITERAL_MAX;
	imap_cmd_init(&s.cmd);
	imap_request_init(&s.req);
	if (imap_reader_init(&s.rd, s.io, &lim, NULL, NULL) == -1) {
		netio_printf(s.io, "* BYE [UNAVAILABLE] Out of memory\r\n");
		login_exit(ls);
	}
	write_capability(&s, "* OK [CAPABILITY ", "] Postern IMAP ready.\r\n");
	for (ncmds = 0;; ncmds++) {
		if (ncmds >= LOGIN_COMMANDS_MAX) {
			netio_printf(s.io, "* BYE [UNAVAILABLE] Too many "
			    "commands without logging in\r\n");
			lsess_exit(&s);
		}
		s.rd.lim.timeout = login_read_timeout(ls);
		st = imap_read_command(&s.rd, &s.cmd);
		switch (st) {
		case IMAP_RD_OK:
			break;
		case IMAP_RD_REJECT:
			netio_printf(s.io, "%s %s\r\n", s.rd.tag, s.rd.resp);
			if (++ls->errors >= IMAP_ERRORS_MAX)
				lsess_exit(&s);
			continue;
		case IMAP_RD_CLOSE:
			netio_printf(s.io, "* BYE %s\r\n", s.rd.resp);
			lsess_exit(&s);
		case IMAP_RD_TIMEOUT:
			login_timed_out(ls);
		case IMAP_RD_EOF:
		case IMAP_RD_ERROR:
			lsess_exit(&s);
		}
		if (imap_parse(&s.req, &s.cmd) == -1) {
			lsess_bad(&s, s.req.tag != NULL ? s.req.tag : "*", "%s",
			    s.req.err);
			continue;
		}
		dispatch(&s);
		/* A password may be in either; neither is needed any more. */
		imap_request_free(&s.req);
		imap_cmd_free(&s.cmd);
	}
}
