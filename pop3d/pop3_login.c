/*
 * pop3_login.c - the AUTHORIZATION state of one POP3 session: greeting,
 * CAPA, STLS (RFC 2595), USER/PASS, AUTH PLAIN (RFC 5034), QUIT. On an
 * implicit-TLS listener (pop3s_listen, RFC 8314) the layer has done the
 * handshake before the greeting. Without TLS, a client outside
 * plaintext_auth_networks is offered no login and USER, PASS and AUTH
 * are refused with RFC 3206's [AUTH] (the policy is the login layer's:
 * libcommon/login_policy.c).
 *
 * Runs in a login process (libcommon/login_proc.c set it up): as
 * login_user, chrooted in an empty directory, holding only the client
 * socket and a socketpair to the parent. It never sees a mailbox and
 * cannot check a password: login_ask hands the credentials to the
 * parent with the client's unprocessed input, and either returns why
 * the login failed, or the process is ended while the parent starts the
 * mail process, which answers the PASS/AUTH itself. The client is
 * trusted for nothing.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "login.h"
#include "pop3d.h"
#include "proto.h"
#include "sasl.h"
#include "tls.h"

/* Dovecot's words, which clients and log watchers already know. */
#define POP3_PLAINTEXT_REFUSED	"[AUTH] Plaintext authentication " \
	"disallowed on non-secure (SSL/TLS) connections."

/* What POP3 keeps beside the layer's session. */
struct pop3_lsess {
	struct login_sess	*ls;
	struct netio		*io;
	char			 user[ADDR_MAX + 1];
	int			 have_user;
};

static void __attribute__((format(printf, 2, 3)))
login_err(struct pop3_lsess *s, const char *fmt, ...)
{
	char	text[POP3_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	netio_printf(s->io, "-ERR %s\r\n", text);
	if (++s->ls->errors >= POP3_ERRORS_MAX) {
		netio_printf(s->io, "-ERR too many errors; closing\r\n");
		login_exit(s->ls);
	}
}

/*
 * Asks the parent. Returns only on failure (the parent ends us on
 * success); the reply to the client is ours then.
 */
static void
login_try(struct pop3_lsess *s, enum login_mech mech, const char *user,
    char *pass)
{
	enum login_fail why;

	why = login_ask(s->ls, mech, user, pass, NULL, 0);
	if (why == LOGIN_FAIL_TOOLONG) {
		login_err(s, "[AUTH] authentication failed");
		return;
	}
	/* Only if a command forgot plaintext_refused: the layer's guard. */
	if (why == LOGIN_FAIL_PLAINTEXT) {
		s->have_user = 0;
		login_err(s, "%s", POP3_PLAINTEXT_REFUSED);
		return;
	}
	s->have_user = 0;
	switch (why) {
	case LOGIN_FAIL_USER_BUSY:	/* pop3d sets no user_session_limit */
	case LOGIN_FAIL_TEMP:
		netio_printf(s->io, "-ERR [SYS/TEMP] authentication "
		    "service unavailable; try later\r\n");
		return;
	case LOGIN_FAIL_LIMIT:
		netio_printf(s->io, "-ERR [AUTH] too many failed logins; "
		    "try later\r\n");
		login_exit(s->ls);
	default:
		break;
	}
	if (++s->ls->failures >= LOGIN_TRIES) {
		netio_printf(s->io, "-ERR [AUTH] authentication failed; "
		    "closing\r\n");
		login_exit(s->ls);
	}
	netio_printf(s->io, "-ERR [AUTH] authentication failed\r\n");
}

/* The next line (login_getline ends the session at a deadline). */
static enum netio_status
pop3_getline(struct pop3_lsess *s, char *line, size_t *len)
{
	return login_getline(s->ls, line, POP3_LINE_MAX, len);
}

/*
 * STLS (RFC 2595 4): offered while the session is plain and a
 * certificate is configured. The layer discards whatever the client
 * pipelined after it; once under TLS the client starts afresh (no USER
 * is remembered), and may ask CAPA again.
 */
static void
cmd_stls(struct pop3_lsess *s)
{
	const struct login_env *env = s->ls->env;

	if (s->ls->transport != LOGIN_TRANSPORT_PLAIN) {
		login_err(s, "STLS not allowed: TLS is already active");
		return;
	}
	if (s->have_user) {
		login_err(s, "STLS not allowed after USER");
		return;
	}
	if (!tls_server_configured(env->conf)) {
		login_err(s, "STLS not available");
		return;
	}
	if (login_starttls(s->ls, "+OK Begin TLS negotiation\r\n") == -1) {
		log_warnx("STLS from [%s]: TLS is not available: %s",
		    s->ls->ip, env->tls_error != NULL ? env->tls_error :
		    "no certificate");
		login_err(s, "[SYS/TEMP] TLS not available now");
		return;
	}
	s->have_user = 0;
	explicit_bzero(s->user, sizeof(s->user));
}

/*
 * The plaintext policy, before anything else a login command would do:
 * -1 (answered, counted as an error, logged by the layer) when refused.
 */
static int
plaintext_refused(struct pop3_lsess *s, const char *cmd)
{
	if (login_plaintext_check(s->ls, cmd) == 0)
		return 0;
	s->have_user = 0;
	login_err(s, "%s", POP3_PLAINTEXT_REFUSED);
	return -1;
}

static void
cmd_user(struct pop3_lsess *s, const char *arg)
{
	if (plaintext_refused(s, "USER") == -1)
		return;
	if (arg[0] == '\0') {
		login_err(s, "USER needs a user name");
		return;
	}
	if (strlcpy(s->user, arg, sizeof(s->user)) >= sizeof(s->user)) {
		s->have_user = 0;
		login_err(s, "user name too long");
		return;
	}
	s->have_user = 1;
	netio_printf(s->io, "+OK send PASS\r\n");
}

static void
cmd_pass(struct pop3_lsess *s, char *arg)
{
	if (plaintext_refused(s, "PASS") == -1) {
		/* Never asked about, never logged; gone now. */
		explicit_bzero(arg, strlen(arg));
		return;
	}
	if (!s->have_user) {
		login_err(s, "send USER first");
		return;
	}
	login_try(s, LOGIN_MECH_PLAINTEXT, s->user, arg);
}

/* The PLAIN response: base64, "*" cancels (RFC 5034 4). */
static void
auth_plain(struct pop3_lsess *s, const char *resp)
{
	unsigned char	dec[POP3_LINE_MAX];
	char		user[ADDR_MAX + 1], pass[A_AUTH_SECRET_MAX + 1];
	size_t		declen;

	if (strcmp(resp, "*") == 0) {
		login_err(s, "authentication cancelled");
		return;
	}
	if (sasl_base64_decode(resp, dec, sizeof(dec), &declen) == -1) {
		login_err(s, "bad base64 in AUTH response");
		return;
	}
	if (sasl_plain(dec, declen, user, sizeof(user), pass,
	    sizeof(pass)) == -1) {
		explicit_bzero(dec, sizeof(dec));
		login_err(s, "[AUTH] bad PLAIN response");
		return;
	}
	explicit_bzero(dec, sizeof(dec));
	login_try(s, LOGIN_MECH_SASL_PLAIN, user, pass);
	explicit_bzero(pass, sizeof(pass));
}

static void
cmd_auth(struct pop3_lsess *s, const char *arg)
{
	char			 words[POP3_LINE_MAX], line[POP3_LINE_MAX];
	const char		*v[2];
	size_t			 len;
	int			 n;

	if (arg[0] == '\0') {
		/*
		 * Pre-RFC 5034 clients ask for the list this way: the
		 * mechanisms they may use now, as CAPA's SASL line.
		 */
		netio_printf(s->io, "+OK\r\n%s.\r\n",
		    login_plaintext_ok(s->ls) ? "PLAIN\r\n" : "");
		return;
	}
	/* Refused before a response is asked for or decoded. */
	if (plaintext_refused(s, "AUTH") == -1)
		return;
	if ((n = pop3_cmd_words(arg, words, sizeof(words), v, 2)) < 1) {
		login_err(s, "AUTH needs a mechanism");
		return;
	}
	if (strcasecmp(v[0], "PLAIN") != 0) {
		explicit_bzero(words, sizeof(words));
		login_err(s, "unsupported authentication mechanism");
		return;
	}
	if (n == 2) {
		auth_plain(s, v[1]);
		explicit_bzero(words, sizeof(words));
		return;
	}
	netio_printf(s->io, "+ \r\n");
	if (pop3_getline(s, line, &len) == NETIO_TOOLONG) {
		login_err(s, "line too long");
		return;
	}
	if (memchr(line, '\0', len) != NULL)
		login_err(s, "bad base64 in AUTH response");
	else
		auth_plain(s, line);
	explicit_bzero(line, sizeof(line));
}

void
pop3_login_run(struct login_sess *ls)
{
	static struct pop3_lsess s;
	char			 line[POP3_LINE_MAX];
	size_t			 len;
	struct pop3_cmd		 c;
	int			 ncmds;

	memset(&s, 0, sizeof(s));
	s.ls = ls;
	s.io = &ls->io;
	netio_printf(s.io, "+OK Postern POP3 ready\r\n");
	for (ncmds = 0;; ncmds++) {
		if (ncmds >= LOGIN_COMMANDS_MAX) {
			netio_printf(s.io, "-ERR [SYS/TEMP] too long without "
			    "logging in\r\n");
			login_exit(ls);
		}
		if (pop3_getline(&s, line, &len) == NETIO_TOOLONG) {
			login_err(&s, "line too long");
			continue;
		}
		pop3_cmd_parse(line, len, &c);
		switch (c.verb) {
		case POP3_CMD_USER:
			cmd_user(&s, c.arg);
			break;
		case POP3_CMD_PASS:
			cmd_pass(&s, line + (c.arg - line));
			break;
		case POP3_CMD_AUTH:
			cmd_auth(&s, c.arg);
			break;
		case POP3_CMD_CAPA:
			pop3_capa(s.io, login_plaintext_ok(ls),
			    ls->transport == LOGIN_TRANSPORT_PLAIN &&
			    tls_server_configured(ls->env->conf));
			break;
		case POP3_CMD_QUIT:
			netio_printf(s.io, "+OK Postern POP3 signing off\r\n");
			login_exit(ls);
		case POP3_CMD_APOP:
			login_err(&s, "APOP not supported; use USER/PASS or "
			    "AUTH PLAIN");
			break;
		case POP3_CMD_STLS:
			cmd_stls(&s);
			break;
		case POP3_CMD_STAT: case POP3_CMD_LIST: case POP3_CMD_UIDL:
		case POP3_CMD_RETR: case POP3_CMD_TOP: case POP3_CMD_DELE:
		case POP3_CMD_RSET: case POP3_CMD_NOOP: case POP3_CMD_LAST:
			login_err(&s, "%s not allowed in this state; log in "
			    "first", c.name);
			break;
		case POP3_CMD_NUL:
			login_err(&s, "NUL byte in command");
			break;
		case POP3_CMD_EMPTY:
		case POP3_CMD_UNKNOWN:
			login_err(&s, "unknown command");
			break;
		}
		explicit_bzero(line, sizeof(line));
	}
}
