/*
 * smtp_server.c - smtpd's listener process: accepts clients on the
 * sockets master handed over and gives each to a session process.
 *
 * Runs as root, unchrooted (it must start session processes that chroot
 * and drop privileges themselves), and never reads a byte from the
 * network: the only thing it writes to a client is the fixed 421 when
 * smtpd_max_sessions are busy. Each session runs in a process of its
 * own, so a crash costs one connection. A session process that finished
 * may be handed the next connection from the same client address (see
 * smtp_worker.c); a connection from any other address gets a fresh
 * process, which shares no memory with this one or any other.
 * Connections from the submission and implicit-TLS listeners always get
 * a fresh process (told its listener's kind), since they will hold one
 * client's secrets. A fresh process is forked by the session template
 * (libcommon/forkserver.h) when one is ready, else forked here and at
 * once exec'ed as "smtpd -S";
 * the template's sessions are its children, so it reports their ends,
 * and those it leaves behind when it goes are reaped here (this process
 * is a child subreaper). What a session process tells us is one byte
 * ("idle"); anything else retires it. SIGCHLD and SIGTERM reach the poll
 * loop through a self-pipe, so no work happens in signal handlers.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon.h"
#include "forkserver.h"
#include "fsutil.h"
#include "ipc.h"
#include "proto.h"
#include "log.h"
#include "proc.h"
#include "smtpd.h"
#include "sock.h"

/*
 * A session process: busy with a client (counted against
 * smtpd_max_sessions until it is reaped), idle and waiting for the next
 * one, or leaving (retired while idle: its control socket is closed).
 */
enum child_state { CH_BUSY, CH_IDLE, CH_LEAVING };

struct child {
	TAILQ_ENTRY(child)	 entry;
	pid_t			 pid;
	enum child_state	 state;
	int			 ctl;		/* our end; -1 once closed */
	struct sockaddr_storage	 client;	/* its last client's address */
	time_t			 idle_since;	/* CLOCK_MONOTONIC seconds */
	unsigned		 gen;		/* its template's; 0: exec'd */
	int			 orphan;	/* its template reaped: ours */
};
TAILQ_HEAD(child_list, child);

static struct child_list children = TAILQ_HEAD_INITIALIZER(children);
static size_t		 nbusy, nidle;
static struct forkserver_pool templates;

static int		 sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t sig_term;

static void
sig_handler(int sig)
{
	int	saved = errno;
	char	c = (char)sig;

	if (sig == SIGTERM || sig == SIGINT)
		sig_term = 1;
	(void)!write(sig_pipe[1], &c, 1);
	errno = saved;
}

static void
signals_setup(void)
{
	struct sigaction sa;

	if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		fatal("pipe2");
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = sig_handler;
	sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) == -1 ||
	    sigaction(SIGTERM, &sa, NULL) == -1 ||
	    sigaction(SIGINT, &sa, NULL) == -1)
		fatal("sigaction");
	sa.sa_handler = SIG_IGN;
	sa.sa_flags = 0;
	if (sigaction(SIGPIPE, &sa, NULL) == -1 ||
	    sigaction(SIGHUP, &sa, NULL) == -1)
		fatal("sigaction");
}

static time_t
now_sec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/*
 * Closes our end: an idle process sees it and exits; a busy one finishes
 * its session first, and stays counted until it is reaped.
 */
static void
child_retire(struct child *c)
{
	if (c->ctl != -1) {
		close(c->ctl);
		c->ctl = -1;
	}
	if (c->state == CH_IDLE) {
		c->state = CH_LEAVING;
		nidle--;
	}
}

/* A session of template gen crashed: none of that layout serves again. */
static void
retire_gen(unsigned gen)
{
	struct child	*c;

	forkserver_pool_crashed(&templates, gen);
	TAILQ_FOREACH(c, &children, entry)
		if (c->gen == gen)
			child_retire(c);
}

static void
child_ended(struct child *c, int status)
{
	unsigned	gen = c->gen;
	int		crashed = 0;

	if (WIFSIGNALED(status)) {
		log_warnx("session process %ld killed by signal %d",
		    (long)c->pid, WTERMSIG(status));
		/* Not a crash: what master or an administrator sends. */
		crashed = WTERMSIG(status) != SIGKILL &&
		    WTERMSIG(status) != SIGTERM;
	}
	child_retire(c);
	if (c->state == CH_BUSY)
		nbusy--;
	TAILQ_REMOVE(&children, c, entry);
	free(c);
	if (crashed && gen != 0)
		retire_gen(gen);
}

/*
 * The session of this pid that the listener itself reaps: exec'd, or
 * orphaned by its template. A template's session whose end the template
 * has not reported yet could carry a reused pid: it comes last.
 */
static struct child *
reaped_child(pid_t pid)
{
	struct child	*c, *any = NULL;

	TAILQ_FOREACH(c, &children, entry) {
		if (c->pid != pid)
			continue;
		if (c->gen == 0 || c->orphan ||
		    !forkserver_pool_reporting(&templates, c->gen))
			return c;
		any = c;
	}
	return any;
}

static void
reap(void)
{
	struct child	*c;
	pid_t		 pid;
	int		 status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (forkserver_pool_reaped(&templates, pid, status))
			continue;
		if ((c = reaped_child(pid)) != NULL)
			child_ended(c, status);
	}
}

/* A template reported the end of one of its sessions. */
static void
template_ended(void *arg, unsigned gen, pid_t pid, int status)
{
	struct child	*c;

	(void)arg;
	TAILQ_FOREACH(c, &children, entry)
		if (c->pid == pid && c->gen == gen && !c->orphan) {
			child_ended(c, status);
			return;
		}
}

/*
 * Template gen was reaped: its sessions are the listener's children now.
 * One that is not (ECHILD) ended before and went unreported.
 */
static void
template_lost(void *arg, unsigned gen)
{
	struct child	*c, *next;
	pid_t		 r;
	int		 status;

	(void)arg;
	for (c = TAILQ_FIRST(&children); c != NULL; c = next) {
		/* child_ended may retire others, never free them. */
		next = TAILQ_NEXT(c, entry);
		if (c->gen != gen || c->orphan)
			continue;
		r = waitpid(c->pid, &status, WNOHANG);
		if (r == c->pid)
			child_ended(c, status);
		else if (r == -1 && errno == ECHILD)
			child_ended(c, 0);
		else
			c->orphan = 1;
	}
}

/* In the listener's child: exec the template with its control socket. */
static void
template_exec(void *arg, int ctl)
{
	const struct smtp_env	*env = arg;
	int			 keep[2];
	size_t			 n = 0;
	char			 spec[16];

	keep[n++] = ctl;
	if (env->conffd != -1)
		keep[n++] = env->conffd;
	if (proc_exec_prepare(keep, n) == -1)
		return;
	snprintf(spec, sizeof(spec), "%d", ctl);
	daemon_exec_self("smtpd", env->confpath, env->conffd, "-T", spec);
}

/* The same client address (the port does not matter). */
static int
same_address(const struct sockaddr_storage *a, const struct sockaddr *b)
{
	if (a->ss_family != b->sa_family)
		return 0;
	if (b->sa_family == AF_INET)
		return memcmp(&((const struct sockaddr_in *)a)->sin_addr,
		    &((const struct sockaddr_in *)b)->sin_addr,
		    sizeof(struct in_addr)) == 0;
	if (b->sa_family == AF_INET6)
		/* A link-local address names a host only with its link. */
		return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
		    &((const struct sockaddr_in6 *)b)->sin6_addr,
		    sizeof(struct in6_addr)) == 0 &&
		    ((const struct sockaddr_in6 *)a)->sin6_scope_id ==
		    ((const struct sockaddr_in6 *)b)->sin6_scope_id;
	return 0;
}

/* Hands fd to an idle process of the same address; 0, or -1 if none took it. */
static int
hand_over(const struct sockaddr *ss, socklen_t sslen, int fd)
{
	struct child	*c;

	TAILQ_FOREACH(c, &children, entry) {
		if (c->state != CH_IDLE || !same_address(&c->client, ss))
			continue;
		if (sock_send_fd(c->ctl, ss, sslen, fd,
		    MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)sslen) {
			/* Gone, or not listening: never hand it another. */
			child_retire(c);
			continue;
		}
		c->state = CH_BUSY;
		nidle--;
		nbusy++;
		/* Most recently used last: the oldest idle ones retire first. */
		TAILQ_REMOVE(&children, c, entry);
		TAILQ_INSERT_TAIL(&children, c, entry);
		return 0;
	}
	return -1;
}

static void
retire_oldest_idle(void)
{
	struct child *c;

	TAILQ_FOREACH(c, &children, entry)
		if (c->state == CH_IDLE) {
			child_retire(c);
			return;
		}
}

/* One byte from a session process: idle, or it is retired. */
static void
child_says(struct child *c, short revents)
{
	char	buf[8];
	ssize_t	n;

	n = (revents & POLLIN) ? recv(c->ctl, buf, sizeof(buf), MSG_DONTWAIT) :
	    0;
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n == 1 && buf[0] == SMTP_WORKER_IDLE && c->state == CH_BUSY) {
		c->state = CH_IDLE;
		c->idle_since = now_sec();
		nbusy--;
		nidle++;
		return;
	}
	if (n > 0)
		log_warnx("session process %ld said something unexpected; "
		    "retiring it", (long)c->pid);
	child_retire(c);
}

/* Idle processes past smtpd_max_idle retire; returns poll's timeout. */
static int
expire_idle(const struct smtp_env *env)
{
	struct child	*c, *next;
	time_t		 now = now_sec(), left, soonest = -1;

	for (c = TAILQ_FIRST(&children); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->state != CH_IDLE)
			continue;
		left = c->idle_since + env->conf->smtpd_max_idle - now;
		if (left <= 0) {
			child_retire(c);
			continue;
		}
		if (soonest == -1 || left < soonest)
			soonest = left;
	}
	if (soonest == -1)
		return -1;
	/* A very long smtpd_max_idle: wake now and then, never overflow. */
	return soonest > 3600 ? 3600 * 1000 : (int)(soonest * 1000);
}

/* Whether sessions of this listener may take SMTP AUTH. */
static int
auth_offered(const struct smtp_env *env, enum smtp_listener kind)
{
	return kind != SMTP_LISTEN_MX || env->conf->smtpd_auth_enable;
}

/* One small frame on a fresh socket: it goes whole at once, or not. */
static int
send_frame_now(int fd, struct ipc_msg *m)
{
	struct ipc_conn	c;
	int		rc;

	ipc_conn_init(&c, fd, 0);
	rc = ipc_conn_queue(&c, m) == 0 && ipc_conn_flush(&c) == 0 ? 0 : -1;
	c.fd = -1;		/* the caller's */
	ipc_conn_close(&c);
	return rc;
}

/*
 * A connection to authd for one session that may take SMTP AUTH, bound
 * (A_BIND) to the client address we accepted, so the session process,
 * which faces the network, can neither name another address to escape
 * the failure pacing nor count its limits against another user (authd's
 * main.c). Non-blocking all along: a busy or absent authd costs that
 * session its AUTH (454), never the listener a stall. -1: none.
 */
static int
auth_connect_bound(const struct smtp_env *env, const struct sockaddr *ss)
{
	struct ipc_msg	m;
	struct a_bind	b;
	char		dir[CONF_PATH_MAX + 16];
	int		fd, port, ok;

	memset(&b, 0, sizeof(b));
	strlcpy(b.proto, "smtp", sizeof(b.proto));
	sock_ntop(ss, b.client, sizeof(b.client), &port);
	/* An IPv4 client on a v6 socket is paced as the v4 address. */
	if (strncmp(b.client, "::ffff:", 7) == 0 &&
	    strchr(b.client + 7, ':') == NULL)
		memmove(b.client, b.client + 7, strlen(b.client + 7) + 1);
	if (fs_path(dir, sizeof(dir), env->conf->spool_directory,
	    "private") == -1)
		return -1;
	if ((fd = sock_unix_connect_nb_in(dir, "auth.sock")) == -1) {
		log_warn("connect %s/auth.sock: SMTP AUTH unavailable to "
		    "[%s]", dir, b.client);
		return -1;
	}
	ipc_msg_init(&m, A_BIND, 0);
	ok = proto_enc_a_bind(&m, &b) == 0 &&
	    send_frame_now(fd, &m) == 0 && sock_set_nonblock(fd, 0) == 0;
	ipc_msg_free(&m);
	if (!ok) {
		log_warn("bind the auth connection for [%s]", b.client);
		close(fd);
		return -1;
	}
	return fd;
}

/* Forked by the session template; -1 with EAGAIN when none is ready. */
static pid_t
spawn_forked(int fd, int ctl, int authfd, enum smtp_listener kind,
    unsigned *gen)
{
	struct smtp_spawn	sp;
	int			fds[3];
	size_t			n = 0;

	memset(&sp, 0, sizeof(sp));
	sp.kind = (int)kind;
	fds[n++] = fd;
	if ((sp.has_ctl = ctl != -1))
		fds[n++] = ctl;
	if ((sp.has_auth = authfd != -1))
		fds[n++] = authfd;
	return forkserver_pool_spawn(&templates, fds, n, &sp, sizeof(sp), gen);
}

/*
 * A fresh session process for fd. With reuse, it gets a control socket
 * to tell us when it is idle; when it may take AUTH, a bound connection
 * to authd. 0, or -1 if the client was refused.
 */
static int
spawn(const struct smtp_env *env, int fd, const struct sockaddr *ss,
    socklen_t sslen, enum smtp_listener kind)
{
	struct child	*c;
	int		 sv[2] = { -1, -1 }, keep[4], authfd = -1;
	size_t		 n;
	char		 spec[64];
	pid_t		 pid;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("calloc");
		return -1;
	}
	if (auth_offered(env, kind))
		authfd = auth_connect_bound(env, ss);
	if (env->conf->smtpd_max_use > 1 &&
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == -1) {
		log_warn("socketpair");
		sv[0] = sv[1] = -1;	/* serves this one connection only */
	}
	/* EAGAIN: no template ready; any other failure may have forked. */
	if ((pid = spawn_forked(fd, sv[1], authfd, kind, &c->gen)) == -1 &&
	    (errno != EAGAIN || (pid = fork()) == -1)) {
		if (errno != EIO)
			log_warn("fork");
		if (sv[0] != -1) {
			close(sv[0]);
			close(sv[1]);
		}
		if (authfd != -1)
			close(authfd);
		free(c);
		return -1;
	}
	if (pid == 0) {
		/*
		 * Only the client, the configuration snapshot, the control
		 * socket and the authd connection survive the exec.
		 */
		n = 0;
		keep[n++] = fd;
		if (env->conffd != -1)
			keep[n++] = env->conffd;
		if (sv[1] != -1)
			keep[n++] = sv[1];
		if (authfd != -1)
			keep[n++] = authfd;
		if (proc_exec_prepare(keep, n) == -1)
			_exit(1);
		snprintf(spec, sizeof(spec), "%d:%d:%d:%d", fd, sv[1],
		    (int)kind, authfd);
		daemon_exec_self("smtpd", env->confpath, env->conffd, "-S",
		    spec);
		_exit(1);
	}
	if (sv[1] != -1)
		close(sv[1]);
	if (authfd != -1)
		close(authfd);
	c->pid = pid;
	c->state = CH_BUSY;
	c->ctl = sv[0];
	memcpy(&c->client, ss, sslen < sizeof(c->client) ? sslen :
	    sizeof(c->client));
	TAILQ_INSERT_TAIL(&children, c, entry);
	nbusy++;
	return 0;
}

/* Sessions running for clients at the address of ss. */
static size_t
busy_from(const struct sockaddr *ss)
{
	struct child	*c;
	size_t		 n = 0;

	TAILQ_FOREACH(c, &children, entry)
		n += c->state == CH_BUSY && same_address(&c->client, ss);
	return n;
}

static void
refuse_busy(const struct smtp_env *env, int fd, const char *from,
    enum smtp_listener kind)
{
	char	msg[CONF_STR_MAX + 128];
	int	n;

	/* Under implicit TLS a plaintext 421 would be noise: just close. */
	if (kind == SMTP_LISTEN_SMTPS) {
		close(fd);
		return;
	}
	/* Best effort and non-blocking: a full socket buffer just loses it. */
	n = snprintf(msg, sizeof(msg), "421 4.7.0 %s Error: too many "
	    "connections%s\r\n", env->conf->myhostname, from);
	if (n > 0 && (size_t)n < sizeof(msg))
		(void)!send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

int
smtp_server_run(const struct smtp_env *env, const int *fds,
    const enum smtp_listener *kinds, size_t nfds)
{
	struct pollfd		*pfd = NULL;
	struct child		**who = NULL, *c, *next;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	size_t			 i, n, nctl, cap = 0;
	size_t			 max = (size_t)env->conf->smtpd_max_sessions;
	size_t			 perip =
	    (size_t)env->conf->smtpd_client_connection_limit;
	char			 drain[64], host[64];
	int			 fd, port, timeout, t;

	signals_setup();
	forkserver_pool_init(&templates, template_exec, template_ended,
	    template_lost, (void *)env);
	for (i = 0; i < nfds; i++) {
		/* Several processes may share a listener: never block in accept. */
		if (sock_set_nonblock(fds[i], 1) == -1)
			fatal("listener %d", fds[i]);
		(void)sock_set_cloexec(fds[i], 1);
	}
	log_info("ready: %zu listener(s), at most %zu sessions, %ld "
	    "connection(s) per session process", nfds, max,
	    env->conf->smtpd_max_use);

	while (!sig_term) {
		timeout = expire_idle(env);
		t = forkserver_pool_timeout(&templates);
		if (t != -1 && (timeout == -1 || t < timeout))
			timeout = t;
		/*
		 * The signal pipe, the listeners, every control socket, and
		 * the templates' sockets last.
		 */
		n = 1 + nfds + forkserver_pool_nfds(&templates);
		TAILQ_FOREACH(c, &children, entry)
			n += c->ctl != -1;
		if (n > cap) {
			cap = n + 64;
			free(pfd);
			free(who);
			if ((pfd = calloc(cap, sizeof(*pfd))) == NULL ||
			    (who = calloc(cap, sizeof(*who))) == NULL)
				fatal("calloc");
		}
		pfd[0].fd = sig_pipe[0];
		pfd[0].events = POLLIN;
		for (i = 0; i < nfds; i++) {
			pfd[i + 1].fd = fds[i];
			pfd[i + 1].events = POLLIN;
		}
		n = 1 + nfds;
		TAILQ_FOREACH(c, &children, entry)
			if (c->ctl != -1) {
				pfd[n].fd = c->ctl;
				pfd[n].events = POLLIN;
				who[n++] = c;
			}
		nctl = n;
		n += forkserver_pool_pollfds(&templates, pfd + n);
		if (poll(pfd, n, timeout) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
				;
		/* Before reaping: a message may come from a process that died. */
		for (i = 1 + nfds; i < nctl; i++)
			if (pfd[i].revents != 0 && who[i]->ctl == pfd[i].fd)
				child_says(who[i], pfd[i].revents);
		forkserver_pool_events(&templates, pfd + nctl, n - nctl);
		reap();
		if (sig_term)
			break;
		for (i = 1; i <= nfds; i++) {
			if (!(pfd[i].revents & (POLLIN | POLLERR | POLLHUP)))
				continue;
			sslen = sizeof(ss);
			fd = accept4(pfd[i].fd, (struct sockaddr *)&ss, &sslen,
			    SOCK_CLOEXEC);
			if (fd == -1) {
				if (errno != EAGAIN && errno != EWOULDBLOCK &&
				    errno != EINTR && errno != ECONNABORTED)
					log_warn("accept");
				continue;
			}
			if (nbusy >= max) {
				sock_ntop((struct sockaddr *)&ss, host,
				    sizeof(host), &port);
				log_warnx("too many sessions (%zu): refusing "
				    "[%s]", max, host);
				refuse_busy(env, fd, "", kinds[i - 1]);
				continue;
			}
			if (perip > 0 && busy_from((struct sockaddr *)&ss) >=
			    perip && !smtp_in_mynetworks(env,
			    (struct sockaddr *)&ss)) {
				sock_ntop((struct sockaddr *)&ss, host,
				    sizeof(host), &port);
				log_warnx("too many sessions from [%s] (%zu): "
				    "refusing", host, perip);
				refuse_busy(env, fd, " from your address",
				    kinds[i - 1]);
				continue;
			}
			if (kinds[i - 1] == SMTP_LISTEN_MX &&
			    hand_over((struct sockaddr *)&ss, sslen, fd) == 0) {
				close(fd);
				continue;
			}
			/* Idle processes give way to new clients. */
			if (nbusy + nidle >= max)
				retire_oldest_idle();
			if (spawn(env, fd, (struct sockaddr *)&ss, sslen,
			    kinds[i - 1]) == -1)
				refuse_busy(env, fd, "", kinds[i - 1]);
			else
				close(fd);
		}
	}
	/* Running sessions finish on their own; idle ones leave now. */
	log_info("terminating on signal; %zu session(s) still running", nbusy);
	forkserver_pool_stop(&templates);
	for (c = TAILQ_FIRST(&children); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		child_retire(c);
	}
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	free(pfd);
	free(who);
	return 0;
}
