/*
 * pop3_login.c - the AUTHORIZATION state of one POP3 session: greeting,
 * CAPA, USER/PASS, AUTH PLAIN (RFC 5034), QUIT.
 *
 * Runs in a login child forked by the parent for this one client: as
 * login_user, chrooted in an empty directory, holding only the client
 * socket and a socketpair to the parent. It never sees a mailbox and
 * cannot check a password: it hands the credentials to the parent
 * (P_LOGIN) with the client's unprocessed input, and either hears P_FAIL
 * or is killed while the parent starts the mail process, which answers
 * the PASS/AUTH itself. The client is trusted for nothing; the parent is
 * trusted to answer.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <strings.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "pop3d.h"

/* The parent answers within its authd deadline plus the delay. */
#define POP3_LOGIN_WAIT_MS	(5 * 60 * 1000)

struct pop3_lsess {
	const struct pop3_env	*env;
	struct netio		 io;
	struct ipc_conn		 parent;
	const char		*ip;
	char			 user[ADDR_MAX + 1];
	int			 have_user;
	int			 failures;
	int			 errors;
	int64_t			 deadline;	/* monotonic ms: log in by then */
};

static void __attribute__((__noreturn__))
login_exit(struct pop3_lsess *s)
{
	(void)netio_flush(&s->io);
	netio_free(&s->io);
	ipc_conn_close(&s->parent);
	explicit_bzero(s, sizeof(*s));
	_exit(0);
}

static void __attribute__((format(printf, 2, 3)))
login_err(struct pop3_lsess *s, const char *fmt, ...)
{
	char	text[POP3_LINE_MAX];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	netio_printf(&s->io, "-ERR %s\r\n", text);
	if (++s->errors >= POP3_ERRORS_MAX) {
		netio_printf(&s->io, "-ERR too many errors; closing\r\n");
		login_exit(s);
	}
}

void
pop3_capa(struct netio *io, int authorization)
{
	netio_printf(io, "+OK capability list follows\r\n");
	netio_printf(io, "TOP\r\n");
	if (authorization)
		netio_printf(io, "USER\r\n");
	netio_printf(io, "UIDL\r\n");
	netio_printf(io, "RESP-CODES\r\n");
	netio_printf(io, "PIPELINING\r\n");
	netio_printf(io, "AUTH-RESP-CODE\r\n");
	if (authorization)
		netio_printf(io, "SASL PLAIN\r\n");
	netio_printf(io, "IMPLEMENTATION Postern\r\n");
	netio_printf(io, ".\r\n");
}

/*
 * Asks the parent. Returns only on failure (the parent kills us on
 * success); the reply to the client is ours then.
 */
static void
login_try(struct pop3_lsess *s, uint32_t mech, const char *user, char *pass)
{
	struct pop3_login	l;
	struct ipc_msg		m;
	uint32_t		why;

	/* Replies to earlier pipelined commands go out before the mail
	 * process writes its first: the client must see them in order. */
	if (netio_flush(&s->io) == -1)
		login_exit(s);
	memset(&l, 0, sizeof(l));
	l.mech = mech;
	if (strlcpy(l.user, user, sizeof(l.user)) >= sizeof(l.user) ||
	    strlcpy(l.pass, pass, sizeof(l.pass)) >= sizeof(l.pass)) {
		explicit_bzero(&l, sizeof(l));
		explicit_bzero(pass, strlen(pass));
		login_err(s, "[AUTH] authentication failed");
		return;
	}
	explicit_bzero(pass, strlen(pass));
	l.left = (unsigned char *)netio_pending(&s->io);
	l.leftlen = netio_buffered(&s->io);
	ipc_msg_init(&m, P_LOGIN, 0);
	if (pop3_enc_login(&m, &l) == -1 ||
	    ipc_send_wait(&s->parent, &m, POP3_LOGIN_WAIT_MS) == -1) {
		explicit_bzero(&l.pass, sizeof(l.pass));
		explicit_bzero(m.body.data, m.body.len);
		ipc_msg_free(&m);
		netio_printf(&s->io, "-ERR [SYS/TEMP] server shutting down\r\n");
		login_exit(s);
	}
	explicit_bzero(&l.pass, sizeof(l.pass));
	explicit_bzero(m.body.data, m.body.len);
	ipc_msg_free(&m);

	if (ipc_recv_wait(&s->parent, &m, POP3_LOGIN_WAIT_MS) == -1 ||
	    m.type != P_FAIL || pop3_dec_fail(&m, &why) == -1) {
		ipc_msg_free(&m);
		netio_printf(&s->io, "-ERR [SYS/TEMP] server shutting down\r\n");
		login_exit(s);
	}
	ipc_msg_free(&m);
	s->have_user = 0;
	switch (why) {
	case POP3_FAIL_TEMP:
		netio_printf(&s->io, "-ERR [SYS/TEMP] authentication "
		    "service unavailable; try later\r\n");
		return;
	case POP3_FAIL_LIMIT:
		netio_printf(&s->io, "-ERR [AUTH] too many failed logins; "
		    "try later\r\n");
		login_exit(s);
	default:
		break;
	}
	if (++s->failures >= POP3_LOGIN_TRIES) {
		netio_printf(&s->io, "-ERR [AUTH] authentication failed; "
		    "closing\r\n");
		login_exit(s);
	}
	netio_printf(&s->io, "-ERR [AUTH] authentication failed\r\n");
}

/*
 * The next line from the client, or the end of the session. Every read
 * (and the flush before it) waits at most until the login deadline: a
 * client that says nothing, or trickles a byte at a time, must not hold
 * a login process longer than one that keeps sending commands.
 */
static enum netio_status
login_getline(struct pop3_lsess *s, char *line, size_t *len)
{
	enum netio_status	st;
	int64_t			left_ms = s->deadline - (int64_t)deadline_now_ms();
	time_t			left, idle = s->env->conf->pop3_timeout;

	if (left_ms <= 0)
		goto late;
	/* netio counts whole seconds: round up (at most 1 s late). */
	left = (time_t)((left_ms + 999) / 1000);
	s->io.timeout = idle < left ? idle : left;
	st = netio_getline(&s->io, line, POP3_LINE_MAX, len, s->io.timeout);
	if (st == NETIO_TIMEOUT) {
		/* Which limit we waited for, not the clock: poll rounds. */
		if (left <= idle)
			goto late;
		netio_printf(&s->io, "-ERR autologout; idle for too long\r\n");
		login_exit(s);
	}
	if (st == NETIO_EOF || st == NETIO_ERROR)
		login_exit(s);
	return st;
late:
	log_info("login: client=[%s]: not logged in within %lds; closing",
	    s->ip, (long)s->env->conf->pop3_login_timeout);
	netio_printf(&s->io, "-ERR [SYS/TEMP] too long without logging in\r\n");
	login_exit(s);
}

static void
cmd_user(struct pop3_lsess *s, const char *arg)
{
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
	netio_printf(&s->io, "+OK send PASS\r\n");
}

static void
cmd_pass(struct pop3_lsess *s, char *arg)
{
	if (!s->have_user) {
		login_err(s, "send USER first");
		return;
	}
	login_try(s, POP3_MECH_USER, s->user, arg);
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
	if (pop3_base64_decode(resp, dec, sizeof(dec), &declen) == -1) {
		login_err(s, "bad base64 in AUTH response");
		return;
	}
	if (pop3_sasl_plain(dec, declen, user, sizeof(user), pass,
	    sizeof(pass)) == -1) {
		explicit_bzero(dec, sizeof(dec));
		login_err(s, "[AUTH] bad PLAIN response");
		return;
	}
	explicit_bzero(dec, sizeof(dec));
	login_try(s, POP3_MECH_PLAIN, user, pass);
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
		/* Pre-RFC 5034 clients ask for the list this way. */
		netio_printf(&s->io, "+OK\r\nPLAIN\r\n.\r\n");
		return;
	}
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
	netio_printf(&s->io, "+ \r\n");
	if (login_getline(s, line, &len) == NETIO_TOOLONG) {
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
pop3_login_run(const struct pop3_env *env, int client, int parent,
    const char *ip)
{
	static struct pop3_lsess s;
	char			 line[POP3_LINE_MAX];
	size_t			 len;
	struct pop3_cmd		 c;
	time_t			 limit;
	int			 ncmds;

	memset(&s, 0, sizeof(s));
	s.env = env;
	s.ip = ip;
	netio_init(&s.io, client, env->conf->pop3_timeout);
	ipc_conn_init(&s.parent, parent, 4096);
	netio_printf(&s.io, "+OK Postern POP3 ready\r\n");
	/*
	 * A budget for the whole login, not only per line: a client that
	 * says CAPA every few seconds, or nothing at all, must not hold a
	 * login process for ever.
	 */
	limit = env->conf->pop3_login_timeout > 0 ?
	    env->conf->pop3_login_timeout : 1;
	s.deadline = (int64_t)deadline_now_ms() + (int64_t)limit * 1000;
	for (ncmds = 0;; ncmds++) {
		if (ncmds >= POP3_LOGIN_COMMANDS_MAX) {
			netio_printf(&s.io, "-ERR [SYS/TEMP] too long without "
			    "logging in\r\n");
			login_exit(&s);
		}
		if (login_getline(&s, line, &len) == NETIO_TOOLONG) {
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
			pop3_capa(&s.io, 1);
			break;
		case POP3_CMD_QUIT:
			netio_printf(&s.io, "+OK Postern POP3 signing off\r\n");
			login_exit(&s);
		case POP3_CMD_APOP:
			login_err(&s, "APOP not supported; use USER/PASS or "
			    "AUTH PLAIN");
			break;
		case POP3_CMD_STLS:
			login_err(&s, "STLS not available");
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
