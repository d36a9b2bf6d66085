/*
 * login_parent.c - a login daemon's parent (pop3d's now, imapd's next):
 * accepts clients, starts a login process for each, checks the
 * credentials a login process hands over with authd (which paces
 * failures per client address and per account, for every protocol at
 * once: the client address from accept(2) goes with each request),
 * delays every refusal by auth_failure_delay, and on success hands the
 * session over to a post-login process confined to the user's
 * directory.
 *
 * Runs as root (it must chroot and setuid its children, and only root
 * may use private/auth.sock) and therefore never parses a byte from the
 * network: its only inputs are accept(2), frames from its login
 * processes (less privileged and possibly under a client's control:
 * decoded field by field, a malformed or untimely frame kills that
 * process, and so does a password in the clear from a client outside
 * plaintext_auth_networks, which it matched at accept: login_policy.c),
 * and authd's answers. The only things it writes to a client
 * are the protocol's fixed lines (struct login_service): the refusal
 * when one address holds client_connection_limit sessions or every
 * session has logged in, the notice to the connection it closes to make
 * room, and the apology when no post-login process could start. Those
 * lines are plaintext: a connection from an implicit-TLS listener, or
 * one whose login process said it starts TLS (LOGIN_MSG_TLS, which it
 * waits to see echoed before it answers STLS), is closed without a
 * line, since a line in the clear would only be garbage inside TLS. It
 * is a
 * single-threaded event loop: failure delays are timers, never sleeps,
 * and a slow authd costs one deadline.
 *
 * Sessions are counted here, not by processes alive: a connection not
 * yet logged in is a login_conn (from accept until its login process
 * goes), a logged-in one a login_postproc (from fork until reaped). When
 * max_sessions are taken, the oldest connection not logged in is closed
 * to make room (Dovecot's model: a crowd of idle connections must not
 * lock out a user who has a password), and only when every session has
 * logged in is the newcomer refused.
 *
 * The hand-over (handover()) is where TLS crosses: a session in the
 * clear gives the post-login process the client socket itself, one
 * under TLS keeps its login process as the TLS end, relaying plaintext
 * over a socketpair (login_proxy.c).
 *
 * Each child is forked from this process, so before it does anything
 * else it closes every descriptor but its own (other clients, the
 * listeners, auth.sock) and execs a fresh image; passwords pass through
 * here only in buffers that are wiped after use. Post-login processes
 * are forked by a template instead when one is ready (a fresh image
 * too, that never saw a password: libcommon/forkserver.h), which
 * reports their ends; those it could not are reaped here, as its
 * orphans come to this process (a child subreaper).
 */
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "daemon.h"
#include "evloop.h"
#include "forkserver.h"
#include "log.h"
#include "peer.h"
#include "login.h"
#include "login_auth.h"
#include "login_msg.h"
#include "proc.h"
#include "text.h"
#include "sock.h"

struct login_conn {
	int			 fd;		/* the client; our copy */
	struct peer		*peer;		/* socketpair to the login process */
	pid_t			 pid;		/* the login process */
	char			 ip[64];
	char			 user[ADDR_MAX + 1];	/* as typed, for logs */
	struct login_authreq	*req;
	struct ev_timer		*delay;
	uint32_t		 fail;		/* sent when delay fires */
	uint32_t		 transport;	/* an enum login_transport */
	int			 tls;		/* past plaintext */
	int			 plain_net;	/* in plaintext_auth_networks */
	unsigned char		*state;		/* for the post-login process */
	size_t			 statelen;
	unsigned char		*left;		/* client input, likewise */
	size_t			 leftlen;
	struct login_conn	*prev, *next;
};

/*
 * A logged-in session: its post-login process, until reaped (ours, gen
 * 0) or its end reported by template gen (or reaped here, an orphan).
 */
struct login_postproc {
	pid_t			 pid;
	unsigned		 gen;
	int			 orphan;
	char			 ip[64];
	char			 user[ADDR_MAX + 1];	/* canonical, authd's */
	LIST_ENTRY(login_postproc) entry;
};

static LIST_HEAD(, login_postproc) postprocs =
    LIST_HEAD_INITIALIZER(postprocs);

static struct {
	const struct login_service *svc;
	struct login_env	*env;
	struct conf		 conf;
	struct login_limits	 lim;		/* from conf */
	const char		*confpath;
	/* What the session processes read: this configuration (snapshot). */
	int			 snapfd;
	char			 post_path[PATH_MAX];	/* "": none */
	struct evloop		*loop;
	struct login_auth	*auth;
	struct login_conn	*conns;		/* newest first */
	size_t			 nconns;	/* not logged in */
	size_t			 npost;		/* logged in */
	const int		*lfds;
	size_t			 nlfds;
	int			 sigfd;
	/* The post-login processes' templates, watched through the loop. */
	struct forkserver_pool	 pool;
	unsigned		 pool_epoch;
	int			 pool_fds[1 + FORKSERVER_OLD_MAX];
	size_t			 npool_fds;
	struct ev_timer		*pool_timer;
} pp;

/* The client's bytes and state: wiped when they are no longer needed. */
static void
conn_forget_input(struct login_conn *c)
{
	if (c->left != NULL) {
		explicit_bzero(c->left, c->leftlen);
		free(c->left);
		c->left = NULL;
	}
	if (c->state != NULL) {
		explicit_bzero(c->state, c->statelen);
		free(c->state);
		c->state = NULL;
	}
	c->leftlen = c->statelen = 0;
}

static void
conn_close(struct login_conn *c)
{
	if (c->req != NULL)
		login_auth_cancel(pp.auth, c->req);
	if (c->delay != NULL)
		evloop_timer_cancel(pp.loop, c->delay);
	conn_forget_input(c);
	if (c->fd != -1)
		close(c->fd);
	if (c->peer != NULL) {
		/* Its close callback may run later: it must not find c. */
		c->peer->ctx = NULL;
		peer_close(c->peer);
	}
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		pp.conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	pp.nconns--;
	free(c);
}

/* The login process broke the protocol: it may be a client's puppet. */
static void
conn_kill(struct login_conn *c, const char *why)
{
	log_warnx("login process %ld for [%s]: %s; killing it", (long)c->pid,
	    c->ip, why);
	if (c->pid > 0)
		(void)kill(c->pid, SIGKILL);
	conn_close(c);
}

/*
 * In a fresh child: every descriptor but keep[] closed, signals back to
 * their defaults, syslog reopened (its socket was closed with the rest,
 * and a chroot has no /dev/log).
 */
static void
child_setup(const int *keep, size_t nkeep)
{
	sigset_t	all;
	char		ident[32];

	sigemptyset(&all);
	(void)sigprocmask(SIG_SETMASK, &all, NULL);
	proc_close_except(keep, nkeep);
	if (log_dest() == LOG_DEST_SYSLOG) {
		strlcpy(ident, log_ident(), sizeof(ident));
		closelog();
		log_init(ident, LOG_DEST_SYSLOG);
	}
}

/*
 * Session processes start from a fresh image (exec), not from a copy of
 * this one: the parent has handled other users' passwords, and the
 * processes exposed to the network must not inherit its memory.
 * "-l SPEC" makes a login process, "-m SPEC" a post-login process.
 */
static void __attribute__((__noreturn__))
exec_self(const char *flag, const char *spec)
{
	/* child_setup kept it; it must also outlive the exec. */
	if (sock_set_cloexec(pp.snapfd, 0) == -1)
		_exit(1);
	/* A post-login process: the mail binary when there is one. */
	if (strcmp(flag, "-m") == 0 && pp.post_path[0] != '\0')
		daemon_exec(pp.post_path, pp.svc->ident, pp.confpath,
		    pp.snapfd, flag, spec);
	daemon_exec_self(pp.svc->ident, pp.confpath, pp.snapfd, flag, spec);
	_exit(1);
}

/*
 * The protocol's mail binary beside ours (login_postmain.c says why it
 * exists), found once at start; without it, post-login processes are
 * our own binary with -m, as they always could be.
 */
static void
find_post_binary(void)
{
	char	dir[PATH_MAX], *slash;
	ssize_t	n;
	int	len;

	pp.post_path[0] = '\0';
	if (pp.svc->post_binary == NULL ||
	    (n = readlink("/proc/self/exe", dir, sizeof(dir) - 1)) <= 0)
		return;
	dir[n] = '\0';
	if ((slash = strrchr(dir, '/')) == NULL)
		return;
	*slash = '\0';
	len = snprintf(pp.post_path, sizeof(pp.post_path), "%s/%s", dir,
	    pp.svc->post_binary);
	if (len < 0 || (size_t)len >= sizeof(pp.post_path) ||
	    access(pp.post_path, X_OK) == -1) {
		log_warnx("%s/%s is missing: mail processes run as %s -m, "
		    "with the login processes' libraries", dir,
		    pp.svc->post_binary, pp.svc->ident);
		pp.post_path[0] = '\0';
	}
}

/* kind: LOGIN_KIND_* bits. */
static void __attribute__((__noreturn__))
exec_login(int client, int parent, int kind, const char *ip)
{
	char spec[128];

	if (sock_set_cloexec(client, 0) == -1 ||
	    sock_set_cloexec(parent, 0) == -1)
		_exit(1);
	snprintf(spec, sizeof(spec), "%d:%d:%d:%s", client, parent, kind, ip);
	exec_self("-l", spec);
}

/* All of it, or -1. */
static int
write_all(int fd, const void *p, size_t n)
{
	return n == 0 || write(fd, p, n) == (ssize_t)n ? 0 : -1;
}

/*
 * The protocol's state and the client bytes that followed the login
 * (pipelined commands) reach the post-login process through a pipe: the
 * state's length (4 bytes, host order), the state, then the bytes
 * (login_postmain.c reads it). At most LOGIN_STATE_MAX + NETIO_INBUF,
 * below a pipe's usual capacity; nonblock (the parent's) refuses to wait
 * on a smaller one. The read end (close-on-exec), or -1.
 */
static int
left_pipe(const struct login_conn *c, int nonblock)
{
	uint32_t	n = (uint32_t)c->statelen;
	int		p[2];

	if (pipe2(p, O_CLOEXEC) == -1)
		return -1;
	if ((nonblock && sock_set_nonblock(p[1], 1) == -1) ||
	    write_all(p[1], &n, sizeof(n)) == -1 ||
	    write_all(p[1], c->state, c->statelen) == -1 ||
	    write_all(p[1], c->left, c->leftlen) == -1) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	close(p[1]);
	return p[0];
}

/*
 * The post-login process, likewise, starts from a fresh image, with
 * client as its client (the socket itself, or the relay's end), when
 * no template forks it.
 */
static void __attribute__((__noreturn__))
exec_post(struct login_conn *c, int client, const char *user)
{
	char	spec[ADDR_MAX + 128];
	int	left, keep[3];

	if ((left = left_pipe(c, 0)) == -1)
		_exit(1);
	keep[0] = client;
	keep[1] = left;
	keep[2] = pp.snapfd;
	child_setup(keep, 3);
	if (sock_set_cloexec(client, 0) == -1 ||
	    sock_set_cloexec(left, 0) == -1)
		_exit(1);
	snprintf(spec, sizeof(spec), "%d:%d:%s:%s", client, left, user,
	    c->ip);
	exec_self("-m", spec);
}

/* In the pool's forked child: exec the template, serving on ctl. */
static void
template_exec(void *arg, int ctl)
{
	char	spec[24 + LOGIN_TITLE_ROOM];
	int	keep[2], n;

	(void)arg;
	keep[0] = ctl;
	keep[1] = pp.snapfd;
	if (proc_exec_prepare(keep, 2) == -1)
		return;
	/* The blanks are the room for its sessions' command lines. */
	n = snprintf(spec, sizeof(spec), "%d", ctl);
	memset(spec + n, ' ', LOGIN_TITLE_ROOM);
	spec[n + LOGIN_TITLE_ROOM] = '\0';
	daemon_exec(pp.post_path[0] != '\0' ? pp.post_path : NULL,
	    pp.svc->ident, pp.confpath, pp.snapfd, "-T", spec);
}

static void	pool_sync(void);

static void
pool_readable(int fd, int events, void *arg)
{
	struct pollfd	pfd;

	(void)events;
	(void)arg;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = POLLIN;
	forkserver_pool_events(&pp.pool, &pfd, 1);
	pool_sync();
}

static void
pool_timer_fired(void *arg)
{
	(void)arg;
	pp.pool_timer = NULL;
	pool_sync();
}

/*
 * After every call into the pool, before anything else may open a
 * descriptor: the loop watches the templates' sockets as they are now
 * (one closed may have come back as a new one under the same number),
 * and a timer starts the next template when a failed one's pause ends.
 */
static void
pool_sync(void)
{
	struct pollfd	pfd[1 + FORKSERVER_OLD_MAX];
	size_t		i, n;
	int		t;

	t = forkserver_pool_timeout(&pp.pool);
	if (pp.pool_epoch != pp.pool.fds_epoch) {
		for (i = 0; i < pp.npool_fds; i++)
			evloop_io_del(pp.loop, pp.pool_fds[i]);
		n = forkserver_pool_pollfds(&pp.pool, pfd);
		for (i = 0; i < n; i++) {
			if (evloop_io(pp.loop, pfd[i].fd, EV_READ,
			    pool_readable, NULL) == -1)
				fatal("evloop_io");
			pp.pool_fds[i] = pfd[i].fd;
		}
		pp.npool_fds = n;
		pp.pool_epoch = pp.pool.fds_epoch;
	}
	if (t != -1 && pp.pool_timer == NULL && (pp.pool_timer =
	    evloop_timer(pp.loop, t > 10 ? (uint64_t)t : 10, pool_timer_fired,
	    NULL)) == NULL)
		log_warn("evloop_timer");
}

/*
 * The templates' reports heard now, before sessions are counted: a
 * session gone from the process table is then gone from the count too
 * (forkserver_pool_drain), as one this process reaped itself is.
 */
static void
pool_hear(void)
{
	forkserver_pool_drain(&pp.pool);
	pool_sync();
}

/*
 * The post-login process forked by the template: its pid and *gen, or
 * -1 with EAGAIN when none took it (then it is exec'd), another errno
 * when it may have been forked and did not answer.
 */
static pid_t
spawn_post(struct login_conn *c, int client, const char *user,
    unsigned *gen)
{
	char		payload[ADDR_MAX + 1 + sizeof(c->ip)];
	size_t		ulen = strlen(user), len;
	int		fds[2];
	pid_t		pid;

	len = ulen + 1 + strlen(c->ip) + 1;
	if (len > sizeof(payload) || len > FORKSERVER_PAYLOAD_MAX) {
		errno = EAGAIN;
		return -1;
	}
	memcpy(payload, user, ulen + 1);
	memcpy(payload + ulen + 1, c->ip, strlen(c->ip) + 1);
	if ((fds[1] = left_pipe(c, 1)) == -1) {
		errno = EAGAIN;
		return -1;
	}
	fds[0] = client;
	pid = forkserver_pool_spawn(&pp.pool, fds, 2, payload, len, gen);
	close(fds[1]);
	pool_sync();
	return pid;
}

static void
send_fail(struct login_conn *c, uint32_t why)
{
	struct ipc_msg m;

	/* No post-login process will take them now. */
	conn_forget_input(c);
	ipc_msg_init(&m, LOGIN_MSG_FAIL, 0);
	if (login_enc_fail(&m, why) == 0 && c->peer != NULL)
		(void)peer_send(c->peer, &m);	/* a failure closes c */
	ipc_msg_free(&m);
}

static void
delay_done(void *arg)
{
	struct login_conn *c = arg;

	c->delay = NULL;
	send_fail(c, c->fail);
}

/* Every refusal waits auth_failure_delay: guessing costs time. */
static void
fail_later(struct login_conn *c, uint32_t why)
{
	uint64_t ms = (uint64_t)pp.conf.auth_failure_delay * 1000;

	conn_forget_input(c);
	c->fail = why;
	if (ms == 0 || (c->delay = evloop_timer(pp.loop, ms, delay_done,
	    c)) == NULL)
		send_fail(c, why);
}

/*
 * Sends the login process its end of the relay (fd, which this takes)
 * and closes our socket to it: it has nothing more to say to us. The
 * frame is a few bytes to a process blocked waiting for them, so it
 * goes at once; one that could not (-1) would be lost in the close.
 */
static int
send_relay(struct login_conn *c, int fd)
{
	struct peer	*lp = c->peer;
	struct ipc_msg	 m;
	int		 rc = -1;

	ipc_msg_init(&m, LOGIN_MSG_PROXY, 0);
	m.fd = fd;
	c->peer = NULL;
	if (lp != NULL) {
		/* A failed send closes lp, whose callback must not free c. */
		lp->ctx = NULL;
		if (peer_send(lp, &m) == 0) {
			rc = lp->c.out.len == 0 ? 0 : -1;
			peer_close(lp);
		}
	}
	ipc_msg_free(&m);
	return rc;
}

/*
 * The post-login process is started; c goes. In the clear it takes the
 * client socket and the login process ends: it is blocked waiting for
 * us and has flushed its replies, so nothing it could still say would
 * be in order. Under TLS the session's keys and record state live in
 * the login process and no other process can take them over
 * (doc/DESIGN.md, "The login layer", says why not kernel TLS): it stays
 * as the TLS end and relays plaintext between the client and a
 * socketpair, whose other end the post-login process gets as its client
 * (LOGIN_MSG_PROXY carries the relay's end to it).
 */
static void
handover(struct login_conn *c, const char *user)
{
	struct login_postproc	*mp = NULL;
	pid_t			 pid = -1;
	unsigned		 gen = 0;
	int			 sp[2] = { -1, -1 }, client = c->fd;

	if (c->transport == LOGIN_TRANSPORT_PLAIN) {
		if (c->pid > 0)
			(void)kill(c->pid, SIGKILL);
	} else if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sp) == -1) {
		log_warn("socketpair");
		goto fail;
	} else
		client = sp[0];
	if ((mp = calloc(1, sizeof(*mp))) == NULL) {
		log_warn("calloc");
		goto fail;
	}
	if ((pid = spawn_post(c, client, user, &gen)) == -1) {
		if (errno != EAGAIN) {
			log_warn("session template");
			goto fail;
		}
		gen = 0;
		if ((pid = fork()) == -1) {
			log_warn("fork");
			goto fail;
		}
		if (pid == 0)
			exec_post(c, client, user);
	}
	mp->pid = pid;
	mp->gen = gen;
	strlcpy(mp->ip, c->ip, sizeof(mp->ip));
	strlcpy(mp->user, user, sizeof(mp->user));
	LIST_INSERT_HEAD(&postprocs, mp, entry);
	pp.npost++;
	if (sp[0] != -1) {
		close(sp[0]);
		if (send_relay(c, sp[1]) == -1) {
			log_warnx("login process %ld for [%s]: cannot hand "
			    "it the relay; ending the session", (long)c->pid,
			    c->ip);
			(void)kill(pid, SIGKILL);
			if (c->pid > 0)
				(void)kill(c->pid, SIGKILL);
		}
		/* The login process lives on as the relay, part of the
		 * session the post-login process counts for. */
		c->pid = -1;
	}
	conn_close(c);
	return;
fail:
	free(mp);
	if (sp[0] != -1) {
		close(sp[0]);
		close(sp[1]);
	}
	if (c->pid > 0)
		(void)kill(c->pid, SIGKILL);
	/* Under TLS a line in the clear would only garble the session. */
	if (c->transport == LOGIN_TRANSPORT_PLAIN && !c->tls)
		(void)!send(c->fd, pp.svc->line_no_session,
		    strlen(pp.svc->line_no_session),
		    MSG_DONTWAIT | MSG_NOSIGNAL);
	conn_close(c);
}

/* Logged-in sessions of one user (a linear walk: at most max_sessions). */
static long
sessions_of(const char *user)
{
	struct login_postproc	*mp;
	long			 n = 0;

	LIST_FOREACH(mp, &postprocs, entry)
		n += strcmp(mp->user, user) == 0;
	return n;
}

static void
auth_done(void *arg, uint32_t verdict, const char *user)
{
	struct login_conn *c = arg;

	c->req = NULL;
	switch (verdict) {
	case A_AUTH_OK:
		if (pp.lim.user_session_limit > 0)
			pool_hear();
		if (pp.lim.user_session_limit > 0 &&
		    sessions_of(user) >= pp.lim.user_session_limit) {
			log_info("login refused: user=<%s>, client=[%s]: %ld "
			    "sessions already (user_session_limit)", user,
			    c->ip, pp.lim.user_session_limit);
			send_fail(c, LOGIN_FAIL_USER_BUSY);
			return;
		}
		handover(c, user);
		return;
	case A_AUTH_FAIL:
		log_info("auth failed: user=<%s>, client=[%s]", c->user, c->ip);
		fail_later(c, LOGIN_FAIL_AUTH);
		return;
	case A_AUTH_LIMIT:
		log_info("auth refused: user=<%s>, client=[%s]: too many "
		    "failed logins", c->user, c->ip);
		fail_later(c, LOGIN_FAIL_LIMIT);
		return;
	default:
		log_warnx("auth unavailable: user=<%s>, client=[%s]: authd "
		    "did not answer or cannot check now", c->user, c->ip);
		send_fail(c, LOGIN_FAIL_TEMP);
		return;
	}
}

static void
login_msg(struct peer *p, struct ipc_msg *m)
{
	struct login_conn	*c = p->ctx;
	struct login_msg_auth	 l;

	if (c == NULL) {
		ipc_msg_free(m);
		return;
	}
	if (m->type == LOGIN_MSG_TLS && !c->tls && c->req == NULL &&
	    c->delay == NULL && m->body.len == 0 && m->fd == -1) {
		/* From now on no line of ours may reach this client. */
		ipc_msg_free(m);
		c->tls = 1;
		ipc_msg_init(m, LOGIN_MSG_TLS, 0);
		(void)peer_send(p, m);	/* a failure closes c */
		ipc_msg_free(m);
		return;
	}
	if (m->type != LOGIN_MSG_AUTH || c->req != NULL || c->delay != NULL ||
	    login_dec_auth(m, &l) == -1) {
		if (m->body.data != NULL)
			explicit_bzero(m->body.data, m->body.len);
		ipc_msg_free(m);
		conn_kill(c, "unexpected or malformed frame");
		return;
	}
	explicit_bzero(m->body.data, m->body.len);
	ipc_msg_free(m);

	/*
	 * The transport is ours to know: a session that started TLS must
	 * not have its client socket handed over to speak in the clear.
	 */
	if ((l.transport == LOGIN_TRANSPORT_TLS) != c->tls) {
		login_msg_auth_clear(&l);
		conn_kill(c, "its transport is not the one it started");
		return;
	}
	/*
	 * The plaintext policy (login_policy.c) as we know it: a login
	 * process refuses such a password itself, so one that hands it
	 * over anyway is not the code we started.
	 */
	if (l.transport == LOGIN_TRANSPORT_PLAIN && !c->plain_net) {
		login_msg_auth_clear(&l);
		conn_kill(c, "it sent a password without TLS from outside "
		    "plaintext_auth_networks");
		return;
	}
	/* What the client typed reaches the log only as printable text. */
	(void)text_sanitize(c->user, sizeof(c->user), l.user, '?', TEXT_ASCII);
	c->transport = l.transport;
	c->left = l.left;
	c->leftlen = l.leftlen;
	l.left = NULL;
	c->state = l.state;
	c->statelen = l.statelen;
	l.state = NULL;

	/* authd paces, and may keep the request until its turn comes. */
	c->req = login_auth_start(pp.auth, c->ip, l.user, l.pass, auth_done,
	    c);
	login_msg_auth_clear(&l);
	if (c->req == NULL) {
		log_warnx("auth unavailable: user=<%s>, client=[%s]", c->user,
		    c->ip);
		send_fail(c, LOGIN_FAIL_TEMP);
	}
}

static void
login_closed(struct peer *p)
{
	struct login_conn *c = p->ctx;

	if (c == NULL)
		return;
	c->peer = NULL;
	conn_close(c);
}

/* msg NULL: an implicit-TLS client, closed without a line. */
static void
refuse_busy(int fd, const char *msg)
{
	/* Best effort and non-blocking: a full socket buffer just loses it. */
	if (msg != NULL)
		(void)!send(fd, msg, strlen(msg), MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

/* Sessions, logged in or not, from ip. */
static size_t
sessions_from(const char *ip)
{
	struct login_conn	*c;
	struct login_postproc	*mp;
	size_t			 n = 0;

	for (c = pp.conns; c != NULL; c = c->next)
		n += strcmp(c->ip, ip) == 0;
	LIST_FOREACH(mp, &postprocs, entry)
		n += strcmp(mp->ip, ip) == 0;
	return n;
}

/*
 * mynetworks is parsed afresh each time: it is asked only of an address
 * already over its limit, and a reload (SIGHUP) needs nothing more.
 */
static int
in_mynetworks(const struct sockaddr *sa)
{
	struct cidr	net;
	size_t		i;

	for (i = 0; i < pp.conf.mynetworks.n; i++)
		if (cidr_parse(pp.conf.mynetworks.v[i], &net) == 0 &&
		    cidr_match(&net, sa))
			return 1;
	return 0;
}

/*
 * Every session is taken: closes the oldest connection not logged in
 * (preferring one whose login is not being checked), to make room for
 * a new client. 0, or -1 when every session has logged in.
 */
static int
drop_oldest_login(const char *newcomer)
{
	const char		*msg = pp.svc->line_full;
	struct login_conn	*c, *idle = NULL, *any = NULL;

	/* Newest first: the last match is the oldest. */
	for (c = pp.conns; c != NULL; c = c->next) {
		any = c;
		if (c->req == NULL && c->delay == NULL)
			idle = c;
	}
	if ((c = idle != NULL ? idle : any) == NULL)
		return -1;
	log_info("too many sessions (%ld): closing [%s], the oldest not "
	    "logged in, to make room for [%s]", pp.lim.max_sessions,
	    c->ip, newcomer);
	/* Dead before we write: its own output must not follow ours. */
	if (c->pid > 0)
		(void)kill(c->pid, SIGKILL);
	/* Under TLS (or past STLS) a line in the clear is only garbage. */
	if (!c->tls)
		(void)!send(c->fd, msg, strlen(msg), MSG_DONTWAIT |
		    MSG_NOSIGNAL);
	conn_close(c);
	return 0;
}

/* arg is non-NULL for an implicit-TLS listener (login_parent_run). */
static void
on_accept(int fd, void *arg)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);
	struct login_conn	*c;
	int			 sp[2], port, keep[3], plain_net;
	int			 implicit = arg != NULL;
	pid_t			 pid;
	char			 ip[64] = "unknown";

	if (getpeername(fd, (struct sockaddr *)&ss, &sslen) == -1) {
		/* Gone already (a reset): nothing to count it by. */
		close(fd);
		return;
	}
	sock_ntop((struct sockaddr *)&ss, ip, sizeof(ip), &port);
	pool_hear();
	/*
	 * One address may not take every session. mynetworks is exempt, as
	 * for smtpd: a webmail host or an office behind NAT is one address
	 * for many users, and it is ours.
	 */
	if (pp.lim.client_connection_limit > 0 &&
	    sessions_from(ip) >= (size_t)pp.lim.client_connection_limit &&
	    !in_mynetworks((struct sockaddr *)&ss)) {
		log_warnx("too many sessions from [%s] (%ld): refusing", ip,
		    pp.lim.client_connection_limit);
		refuse_busy(fd, implicit ? NULL : pp.svc->line_addr_busy);
		return;
	}
	if (pp.nconns + pp.npost >= (size_t)pp.lim.max_sessions &&
	    drop_oldest_login(ip) == -1) {
		log_warnx("too many sessions (%ld), all logged in: refusing "
		    "[%s]", pp.lim.max_sessions, ip);
		refuse_busy(fd, implicit ? NULL : pp.svc->line_busy);
		return;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		refuse_busy(fd, implicit ? NULL : pp.svc->line_busy);
		return;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair");
		free(c);
		refuse_busy(fd, implicit ? NULL : pp.svc->line_busy);
		return;
	}
	/* The address is ours, from accept(2), not anything the client says. */
	plain_net = login_plaintext_net(&pp.conf, (struct sockaddr *)&ss);
	if ((pid = fork()) == -1) {
		log_warn("fork");
		close(sp[0]);
		close(sp[1]);
		free(c);
		refuse_busy(fd, implicit ? NULL : pp.svc->line_busy);
		return;
	}
	if (pid == 0) {
		keep[0] = fd;
		keep[1] = sp[1];
		keep[2] = pp.snapfd;
		child_setup(keep, 3);
		exec_login(fd, sp[1], (implicit ? LOGIN_KIND_IMPLICIT : 0) |
		    (plain_net ? LOGIN_KIND_PLAIN_NET : 0), ip);
	}
	close(sp[1]);
	c->fd = fd;
	c->tls = implicit;
	c->plain_net = plain_net;
	c->pid = pid;
	strlcpy(c->ip, ip, sizeof(c->ip));
	c->next = pp.conns;
	if (pp.conns != NULL)
		pp.conns->prev = c;
	pp.conns = c;
	pp.nconns++;
	/* LOGIN_MSG_AUTH: at most a line's worth of strings, the state
	 * and the buffer. */
	if ((c->peer = peer_new(pp.loop, sp[0], 2 * NETIO_INBUF +
	    A_AUTH_SECRET_MAX + LOGIN_STATE_MAX + 1024, login_msg, login_closed,
	    c)) == NULL) {
		conn_kill(c, "cannot watch its socket");
		return;
	}
}

/*
 * A post-login process ended. One of a template's that died by a
 * signal (not SIGKILL or SIGTERM, which are an administrator's or
 * master's) has that template replaced: its layout is never reused.
 */
static void
post_ended(struct login_postproc *mp, int status)
{
	unsigned	gen = mp->gen;
	int		sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;

	if (sig != 0 && sig != SIGKILL)
		log_warnx("session process %ld killed by signal %d",
		    (long)mp->pid, sig);
	LIST_REMOVE(mp, entry);
	free(mp);
	pp.npost--;
	if (gen != 0 && sig != 0 && sig != SIGKILL && sig != SIGTERM)
		forkserver_pool_crashed(&pp.pool, gen);
}

/* Template gen reported the end of its session pid. */
static void
template_ended(void *arg, unsigned gen, pid_t pid, int status)
{
	struct login_postproc	*mp;

	(void)arg;
	LIST_FOREACH(mp, &postprocs, entry)
		if (mp->pid == pid && mp->gen == gen && !mp->orphan) {
			post_ended(mp, status);
			return;
		}
}

/*
 * Template gen is gone: its sessions still running are our children
 * now, reaped here; one that is not (ECHILD) ended unreported.
 */
static void
template_lost(void *arg, unsigned gen)
{
	struct login_postproc	*mp, *next;
	pid_t			 r;
	int			 status;

	(void)arg;
	for (mp = LIST_FIRST(&postprocs); mp != NULL; mp = next) {
		next = LIST_NEXT(mp, entry);
		if (mp->gen != gen || mp->orphan)
			continue;
		r = waitpid(mp->pid, &status, WNOHANG);
		if (r == mp->pid)
			post_ended(mp, status);
		else if (r == -1 && errno == ECHILD)
			post_ended(mp, 0);
		else
			mp->orphan = 1;
	}
}

/*
 * The session of a pid reaped here: exec'd by us, or orphaned by its
 * template. A template's session whose end is still to be reported
 * could carry a reused pid: it comes last.
 */
static struct login_postproc *
reaped_post(pid_t pid)
{
	struct login_postproc	*mp, *any = NULL;

	LIST_FOREACH(mp, &postprocs, entry) {
		if (mp->pid != pid)
			continue;
		if (mp->gen == 0 || mp->orphan ||
		    !forkserver_pool_reporting(&pp.pool, mp->gen))
			return mp;
		any = mp;
	}
	return any;
}

static void
reap(void)
{
	struct login_conn	*c;
	struct login_postproc	*mp;
	pid_t			 pid;
	int			 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (forkserver_pool_reaped(&pp.pool, pid, status))
			continue;
		if ((mp = reaped_post(pid)) != NULL) {
			post_ended(mp, status);
			continue;
		}
		/* A reaped pid may be reused: never signal it again. */
		for (c = pp.conns; c != NULL; c = c->next)
			if (c->pid == pid)
				c->pid = -1;
		/* SIGKILL is ours: a login process replaced by a post-login one. */
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGKILL)
			log_warnx("session process %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
	}
	pool_sync();
}

static int
load_users(struct login_env *env, const struct conf *cf)
{
	if (priv_lookup(cf->login_user, &env->login_u) == -1) {
		log_warn("login_user %s", cf->login_user);
		return -1;
	}
	if (priv_lookup(cf->mail_user, &env->mail_u) == -1) {
		log_warn("mail_user %s", cf->mail_user);
		return -1;
	}
	return 0;
}

/*
 * The configuration the session processes get: this one, whatever the
 * file says now. A failed new snapshot keeps the old one (logged).
 */
static void
conf_snapshot_take(void)
{
	int fd;

	if ((fd = daemon_conf_snapshot(&pp.conf)) == -1)
		return;
	if (pp.snapfd != -1)
		close(pp.snapfd);
	pp.snapfd = fd;
}

static void
reload(void)
{
	static struct conf	nc;
	struct login_env	ne = *pp.env;
	char			err[1024];

	memset(&nc, 0, sizeof(nc));
	if (conf_load(&nc, pp.confpath, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the old configuration", err);
		conf_free(&nc);
		return;
	}
	if (load_users(&ne, &nc) == -1) {
		log_warnx("reload: keeping the old configuration");
		conf_free(&nc);
		return;
	}
	conf_free(&pp.conf);
	pp.conf = nc;
	conf_snapshot_take();
	pp.svc->limits(&pp.conf, &pp.lim);
	pp.env->login_u = ne.login_u;
	pp.env->mail_u = ne.mail_u;
	/* Sessions forked from now on start with the new settings. */
	forkserver_pool_renew(&pp.pool);
	pool_sync();
	log_info("configuration reloaded");
}

static void
on_signal(int fd, int events, void *arg)
{
	struct signalfd_siginfo	si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap();
			break;
		case SIGHUP:
			reload();
			break;
		case SIGTERM:
		case SIGINT:
			/*
			 * Running sessions finish on their own; the loop
			 * stops before it accepts again, and master keeps
			 * the listeners for our successor.
			 */
			log_info("terminating on signal; %zu session(s) "
			    "still running", pp.nconns + pp.npost);
			evloop_stop(pp.loop);
			break;
		}
	}
}

int
login_parent_run(const struct login_service *svc, struct login_env *env,
    struct conf *conf, const char *confpath, const int *fds,
    const int *implicit, size_t nfds)
{
	static int	tag;	/* on_accept's arg: implicit TLS */
	size_t		i;

	pp.svc = svc;
	pp.env = env;
	pp.confpath = confpath;
	/* The parent owns the configuration from now on (SIGHUP swaps it). */
	pp.conf = *conf;
	memset(conf, 0, sizeof(*conf));
	env->conf = &pp.conf;
	pp.snapfd = -1;
	conf_snapshot_take();
	if (pp.snapfd == -1)
		fatalx("cannot hand the configuration to sessions");
	svc->limits(&pp.conf, &pp.lim);
	find_post_binary();
	if (load_users(env, &pp.conf) == -1)
		fatalx("cannot look up the %s users", svc->ident);
	pp.lfds = fds;
	pp.nlfds = nfds;
	if ((pp.loop = evloop_new()) == NULL ||
	    (pp.auth = login_auth_new(pp.loop, env->private_dir,
	    svc->proto)) == NULL)
		fatal("start-up");
	pp.sigfd = daemon_signalfd(SIGCHLD);
	if (evloop_io(pp.loop, pp.sigfd, EV_READ, on_signal, NULL) == -1)
		fatal("evloop_io");
	forkserver_pool_init(&pp.pool, template_exec, template_ended,
	    template_lost, NULL);
	pool_sync();
	for (i = 0; i < nfds; i++)
		if (peer_listen(pp.loop, fds[i], on_accept,
		    implicit[i] ? &tag : NULL) == -1)
			fatal("listen");
	log_info("ready: %zu listener(s), at most %ld sessions", nfds,
	    pp.lim.max_sessions);
	if (evloop_run(pp.loop) == -1)
		fatal("evloop_run");
	/* The templates go; the sessions they forked run on. */
	forkserver_pool_stop(&pp.pool);
	while (pp.conns != NULL)
		conn_close(pp.conns);
	while (!LIST_EMPTY(&postprocs)) {
		struct login_postproc *mp = LIST_FIRST(&postprocs);

		LIST_REMOVE(mp, entry);
		free(mp);
	}
	login_auth_free(pp.auth);
	return 0;
}
