/*
 * login_proc.c - the login process's half of the login layer: the
 * session it hands to the protocol's login_run, the deadlines of the
 * pre-login state, and the request to the parent (login_ask).
 *
 * Runs in a login process started by the parent for this one client:
 * as login_user, chrooted in an empty directory, holding only the client
 * socket and a socketpair to the parent. It never sees a mailbox and
 * cannot check a password: it hands the credentials to the parent
 * (LOGIN_MSG_AUTH; only those the plaintext policy allows, see
 * login_policy.c) with the client's unprocessed input, and either hears
 * LOGIN_MSG_FAIL, or is killed while the parent starts the post-login
 * process (which answers the login itself), or, under TLS, hears
 * LOGIN_MSG_PROXY and becomes the session's relay. It is the session's
 * TLS end (STLS, or implicit TLS before the greeting): the contexts were
 * loaded and keyd connected before the privilege drop (login_main.c), so
 * it signs handshakes through keyd and never holds a private key. The
 * client is trusted for nothing; the parent is trusted to answer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "log.h"
#include "login.h"
#include "login_msg.h"
#include "tls.h"

/* The parent answers within its authd deadline plus the delay. */
#define LOGIN_WAIT_MS	(5 * 60 * 1000)

void
login_exit(struct login_sess *s)
{
	(void)netio_flush(&s->io);
	tls_session_end(&s->io);
	netio_free(&s->io);
	ipc_conn_close(&s->parent);
	explicit_bzero(s, sizeof(*s));
	_exit(0);
}

/*
 * Every read (and the flush before it) waits at most until the login
 * deadline: a client that says nothing, or trickles a byte at a time,
 * must not hold a login process longer than one that keeps sending
 * commands.
 */
enum netio_status
login_getline(struct login_sess *s, char *line, size_t linemax, size_t *len)
{
	enum netio_status st;

	st = netio_getline(&s->io, line, linemax, len, login_read_timeout(s));
	if (st == NETIO_TIMEOUT)
		login_timed_out(s);
	if (st == NETIO_EOF || st == NETIO_ERROR)
		login_exit(s);
	return st;
}

time_t
login_read_timeout(struct login_sess *s)
{
	int64_t	left_ms = s->deadline - (int64_t)deadline_now_ms();
	time_t	left, idle = s->lim.timeout;

	if (left_ms <= 0) {
		s->read_late = 1;
		login_timed_out(s);
	}
	/* netio counts whole seconds: round up (at most 1 s late). */
	left = (time_t)((left_ms + 999) / 1000);
	/* Which limit a timeout met, not the clock: poll rounds. */
	s->read_late = left <= idle;
	s->io.timeout = idle < left ? idle : left;
	return s->io.timeout;
}

void
login_timed_out(struct login_sess *s)
{
	if (!s->read_late) {
		netio_printf(&s->io, "%s", s->svc->line_idle);
		login_exit(s);
	}
	log_info("login: client=[%s]: not logged in within %lds; closing",
	    s->ip, (long)s->lim.login_timeout);
	netio_printf(&s->io, "%s", s->svc->line_late);
	login_exit(s);
}

/*
 * Plaintext stops: the parent must know before the client does, so that
 * it never writes its fixed lines into a TLS stream (drop_oldest_login).
 */
static void
tell_parent_tls(struct login_sess *s)
{
	struct ipc_msg m;

	ipc_msg_init(&m, LOGIN_MSG_TLS, 0);
	if (ipc_send_wait(&s->parent, &m, LOGIN_WAIT_MS) == -1)
		goto gone;
	ipc_msg_free(&m);
	if (ipc_recv_wait(&s->parent, &m, LOGIN_WAIT_MS) == -1 ||
	    m.type != LOGIN_MSG_TLS || m.body.len != 0 || m.fd != -1)
		goto gone;
	ipc_msg_free(&m);
	return;
gone:
	ipc_msg_free(&m);
	netio_printf(&s->io, "%s", s->svc->line_gone);
	login_exit(s);
}

int
login_starttls(struct login_sess *s, const char *goahead)
{
	struct tls_info	 ti;
	const char	*after = goahead != NULL ? "STARTTLS" : "connect";
	char		 err[512];
	size_t		 dropped = 0;
	int64_t		 left_ms;
	time_t		 limit;

	if (s->env->tls == NULL)
		return -1;
	if (goahead != NULL) {
		tell_parent_tls(s);
		netio_printf(&s->io, "%s", goahead);
	}
	/* The handshake counts against the login deadline too. */
	left_ms = s->deadline - (int64_t)deadline_now_ms();
	limit = (time_t)(left_ms > 0 ? (left_ms + 999) / 1000 : 1);
	if (s->lim.timeout > 0 && s->lim.timeout < limit)
		limit = s->lim.timeout;
	if (tls_server_start(s->env->tls, &s->io, limit, &dropped,
	    err, sizeof(err)) == -1) {
		if (dropped > 0)
			log_info("improper command pipelining after %s from "
			    "[%s]: %zu byte(s) discarded", after, s->ip,
			    dropped);
		log_info("SSL_accept error from [%s]: %s", s->ip, err);
		netio_free(&s->io);
		ipc_conn_close(&s->parent);
		explicit_bzero(s, sizeof(*s));
		_exit(0);
	}
	if (dropped > 0)
		log_info("improper command pipelining after %s from [%s]: "
		    "%zu byte(s) discarded", after, s->ip, dropped);
	s->transport = LOGIN_TRANSPORT_TLS;
	if (tls_session_info(&s->io, &ti) == 0)
		log_info("Anonymous TLS connection established from [%s]: "
		    "%s with cipher %s (%d/%d bits)%s%s%s", s->ip, ti.version,
		    ti.cipher, ti.bits, ti.alg_bits,
		    ti.servername[0] ? " sni=" : "", ti.servername,
		    ti.resumed ? " (resumed)" : "");
	return 0;
}

/* Logged in under TLS: this process is the session's relay from now on. */
static void __attribute__((__noreturn__))
become_relay(struct login_sess *s, int inner)
{
	int rc;

	ipc_conn_close(&s->parent);
	rc = login_proxy_relay(&s->io, inner, s->lim.timeout);
	close(inner);
	netio_free(&s->io);
	explicit_bzero(s, sizeof(*s));
	_exit(rc == 0 ? 0 : 1);
}

enum login_fail
login_ask(struct login_sess *s, enum login_mech mech, const char *user,
    char *pass, const void *state, size_t statelen)
{
	struct login_msg_auth	a;
	struct ipc_msg		m;
	uint32_t		why;

	/* Replies to earlier pipelined commands go out before the
	 * post-login process writes its first: the client must see them in
	 * order. */
	if (netio_flush(&s->io) == -1)
		login_exit(s);
	/*
	 * The layer's own guard: a protocol that forgot the policy still
	 * sends no password the parent would refuse (and kill us for).
	 */
	if (login_plaintext_check(s, "login") == -1) {
		explicit_bzero(pass, strlen(pass));
		return LOGIN_FAIL_PLAINTEXT;
	}
	memset(&a, 0, sizeof(a));
	a.mech = mech;
	a.transport = s->transport;
	if (strlcpy(a.user, user, sizeof(a.user)) >= sizeof(a.user) ||
	    strlcpy(a.pass, pass, sizeof(a.pass)) >= sizeof(a.pass) ||
	    statelen > LOGIN_STATE_MAX) {
		explicit_bzero(&a, sizeof(a));
		explicit_bzero(pass, strlen(pass));
		return LOGIN_FAIL_TOOLONG;
	}
	explicit_bzero(pass, strlen(pass));
	a.state = (unsigned char *)(uintptr_t)state;
	a.statelen = state != NULL ? statelen : 0;
	a.left = (unsigned char *)netio_pending(&s->io);
	a.leftlen = netio_buffered(&s->io);
	ipc_msg_init(&m, LOGIN_MSG_AUTH, 0);
	if (login_enc_auth(&m, &a) == -1 ||
	    ipc_send_wait(&s->parent, &m, LOGIN_WAIT_MS) == -1) {
		explicit_bzero(&a.pass, sizeof(a.pass));
		explicit_bzero(m.body.data, m.body.len);
		ipc_msg_free(&m);
		netio_printf(&s->io, "%s", s->svc->line_gone);
		login_exit(s);
	}
	explicit_bzero(&a.pass, sizeof(a.pass));
	explicit_bzero(m.body.data, m.body.len);
	ipc_msg_free(&m);

	if (ipc_recv_wait(&s->parent, &m, LOGIN_WAIT_MS) == -1)
		goto gone;
	if (m.type == LOGIN_MSG_PROXY && s->transport != LOGIN_TRANSPORT_PLAIN &&
	    m.fd != -1 && m.body.len == 0) {
		int inner = m.fd;

		m.fd = -1;
		ipc_msg_free(&m);
		become_relay(s, inner);
	}
	if (m.type != LOGIN_MSG_FAIL || login_dec_fail(&m, &why) == -1)
		goto gone;
	ipc_msg_free(&m);
	return (enum login_fail)why;
gone:
	ipc_msg_free(&m);
	netio_printf(&s->io, "%s", s->svc->line_gone);
	login_exit(s);
}

void
login_proc_run(const struct login_service *svc, const struct login_env *env,
    int client, int parent, int kind, const char *ip)
{
	static struct login_sess s;
	time_t			 limit;

	memset(&s, 0, sizeof(s));
	s.svc = svc;
	s.env = env;
	s.ip = ip;
	svc->limits(env->conf, &s.lim);
	netio_init(&s.io, client, s.lim.timeout);
	ipc_conn_init(&s.parent, parent, 4096);
	/*
	 * A budget for the whole login, not only per line: a client that
	 * asks for capabilities every few seconds, or says nothing at all,
	 * must not hold a login process for ever.
	 */
	limit = s.lim.login_timeout > 0 ? s.lim.login_timeout : 1;
	s.deadline = (int64_t)deadline_now_ms() + (int64_t)limit * 1000;
	/* Implicit TLS (RFC 8314): the handshake comes before the greeting. */
	s.implicit = (kind & LOGIN_KIND_IMPLICIT) != 0;
	/* The parent's verdict on accept(2)'s address (login_policy.c). */
	s.plain_net = (kind & LOGIN_KIND_PLAIN_NET) != 0;
	if (s.implicit && login_starttls(&s, NULL) == -1) {
		log_warnx("TLS is not available: dropping [%s] on the %s "
		    "listener: %s", ip, svc->tls_socket_name != NULL ?
		    svc->tls_socket_name : "implicit-TLS", env->tls_error !=
		    NULL ? env->tls_error : "no certificate");
		login_exit(&s);
	}
	svc->login_run(&s);
	login_exit(&s);
}
