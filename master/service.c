/*
 * service.c - starting, watching and restarting the daemons.
 *
 * Runs in master (root). Each daemon is exec'ed from daemon_directory with
 * its listening sockets as inherited descriptors; master keeps its own
 * copies, so a restarted daemon finds the connections that arrived while
 * it was down waiting in the backlog. A daemon that keeps dying is
 * restarted with a doubling delay, capped by restart_backoff_max; one that
 * ran for a while starts again from the shortest delay.
 *
 * Each daemon also gets, as -e, one end of a datagram socketpair whose
 * other end master reads: the daemon's error lines (and fatal's last
 * words) arrive there, one per datagram, so "postern status" can say why
 * a daemon keeps dying even when its log goes to syslog. The daemon
 * sends without blocking; master keeps only the last line.
 */
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "master.h"
#include "proc.h"
#include "sock.h"

#define BACKOFF_MIN_MS	100

static void
svc_add_fd(struct service *s, const char *name, int fd)
{
	if (s->nfds == MASTER_MAX_FDS)
		fatalx("too many sockets for %s", s->name);
	s->fds[s->nfds].name = name;
	s->fds[s->nfds].fd = fd;
	s->nfds++;
}

/* Printable, one line, no tabs: it goes into the status file. */
static void
svc_clean(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static void
svc_errline(int fd, int events, void *arg)
{
	struct service	*s = arg;
	extern struct master *M;
	char		 buf[1024];
	ssize_t		 n;
	int		 got = 0;

	while ((n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT)) > 0) {
		while (n > 0 && buf[n - 1] == '\n')
			n--;
		buf[n] = '\0';
		strlcpy(s->last_error, buf, sizeof(s->last_error));
		svc_clean(s->last_error);
		got = 1;
	}
	if (got)
		status_write(M);
}

static struct service *
svc_new(struct master *m, const char *name, int instance)
{
	struct service *s;

	if ((s = reallocarray(m->svcs, m->nsvcs + 1, sizeof(*s))) == NULL)
		fatal("reallocarray");
	m->svcs = s;
	s = &m->svcs[m->nsvcs++];
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->instance = instance;
	s->backoff_ms = BACKOFF_MIN_MS;
	/*
	 * smtpd and queued stop first, so nothing is still asking resolverd
	 * or handing jobs to deliverd when those go.
	 */
	s->stop_phase = (strcmp(name, "smtpd") == 0 ||
	    strcmp(name, "queued") == 0 || strcmp(name, "pop3d") == 0 ||
	    strcmp(name, "imapd") == 0) ? 1 : 2;
	/* The log process goes last: it writes what the others said. */
	if (strcmp(name, "logd") == 0)
		s->stop_phase = 3;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, s->errfd) == -1 ||
	    sock_set_nonblock(s->errfd[0], 1) == -1 ||
	    sock_set_nonblock(s->errfd[1], 1) == -1)
		fatal("socketpair for %s", name);
	return s;
}

/* After services_init: the array no longer moves, so s may be an arg. */
static void
svc_watch(struct master *m, struct service *s)
{
	if (evloop_io(m->loop, s->errfd[0], EV_READ, svc_errline, s) == -1)
		fatal("evloop_io");
}

void
services_init(struct master *m)
{
	struct service	*s;
	size_t		 i, d;
	long		 n;

	/* First: the others' first lines wait in its socket until it reads. */
	if (m->log_fd != -1) {
		s = svc_new(m, "logd", 0);
		svc_add_fd(s, "log", m->log_fd);
	}
	s = svc_new(m, "resolverd", 0);
	svc_add_fd(s, "check", m->check_fd);
	svc_add_fd(s, "expand", m->expand_fd);
	svc_add_fd(s, "route", m->route_fd);
	s = svc_new(m, "authd", 0);
	svc_add_fd(s, "auth", m->auth_fd);
	/* Before smtpd and the login daemons, whose sessions ask it for signatures. */
	s = svc_new(m, "keyd", 0);
	svc_add_fd(s, "key", m->key_fd);
	s = svc_new(m, "queued", 0);
	svc_add_fd(s, "submit", m->submit_fd);
	svc_add_fd(s, "inject", m->inject_fd);
	svc_add_fd(s, "deliver", m->deliver_fd);
	svc_add_fd(s, "control", m->control_fd);
	svc_add_fd(s, "relay", m->relay_fd);
	for (n = 0; n < m->conf.local_delivery_concurrency; n++)
		(void)svc_new(m, "deliverd", (int)n);
	for (n = 0; n < m->conf.remote_delivery_concurrency; n++)
		(void)svc_new(m, "relayd", (int)n);
	s = svc_new(m, "smtpd", 0);
	for (i = 0; i < m->nsmtp; i++)
		svc_add_fd(s, "smtp", m->smtp_fds[i]);
	for (i = 0; i < m->nsmtps; i++)
		svc_add_fd(s, "smtps", m->smtps_fds[i]);
	for (i = 0; i < m->nsub; i++)
		svc_add_fd(s, "submission", m->sub_fds[i]);
	s->retired = m->nsmtp + m->nsmtps + m->nsub == 0;
	/* Always there, so a reload can add pop3_listen to a suite without. */
	for (d = 0; d < MASTER_LOGINDS; d++) {
		const struct master_logind *l = &m->logind[d];

		s = svc_new(m, l->svc, 0);
		for (i = 0; i < l->n; i++)
			svc_add_fd(s, l->sock, l->fds[i]);
		for (i = 0; i < l->ntls; i++)
			svc_add_fd(s, l->tls_sock, l->tls_fds[i]);
		s->retired = l->n + l->ntls == 0;
	}
	for (i = 0; i < m->nsvcs; i++)
		svc_watch(m, &m->svcs[i]);
}

void
services_set_listeners(struct master *m, const char *svc,
    const char *sockname, const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < m->nsvcs; i++)
		if (strcmp(m->svcs[i].name, svc) == 0) {
			m->svcs[i].nfds = 0;
			m->svcs[i].retired = 1;
		}
	services_add_listeners(m, svc, sockname, fds, n);
}

void
services_add_listeners(struct master *m, const char *svc,
    const char *sockname, const int *fds, size_t n)
{
	struct service	*s;
	size_t		 i, j;

	for (i = 0; i < m->nsvcs; i++) {
		s = &m->svcs[i];
		if (strcmp(s->name, svc) != 0)
			continue;
		for (j = 0; j < n; j++)
			svc_add_fd(s, sockname, fds[j]);
		if (n > 0)
			s->retired = 0;
	}
}

/* The daemon outlived MASTER_STABLE_MS: it is no longer failing. */
static void
stable_fired(void *arg)
{
	struct service	*s = arg;
	extern struct master *M;

	s->stable = NULL;
	if (s->pid <= 0)
		return;
	s->failures = 0;
	s->backoff_ms = BACKOFF_MIN_MS;
	status_write(M);
}

static void
svc_start(struct master *m, struct service *s)
{
	char		 path[4096], fdspec[MASTER_MAX_FDS][64], errspec[32];
	char		*argv[10 + 2 * MASTER_MAX_FDS];
	int		 keep[MASTER_MAX_FDS + 1];
	size_t		 i, a = 0;
	pid_t		 pid;

	if (fs_path(path, sizeof(path), m->conf.daemon_directory,
	    s->name) == -1)
		fatalx("daemon_directory too long");
	argv[a++] = (char *)s->name;
	if (m->confpath != NULL) {
		argv[a++] = "-c";
		argv[a++] = (char *)m->confpath;
	}
	if (m->foreground)
		argv[a++] = "-f";
	snprintf(errspec, sizeof(errspec), "%d", s->errfd[1]);
	argv[a++] = "-e";
	argv[a++] = errspec;
	for (i = 0; i < s->nfds; i++) {
		snprintf(fdspec[i], sizeof(fdspec[i]), "%s:%d", s->fds[i].name,
		    s->fds[i].fd);
		argv[a++] = "-s";
		argv[a++] = fdspec[i];
	}
	argv[a] = NULL;

	switch (pid = fork()) {
	case -1:
		log_warn("fork for %s", s->name);
		s->pid = 0;
		return;
	case 0:
		for (i = 0; i < s->nfds; i++)
			keep[i] = s->fds[i].fd;
		keep[i] = s->errfd[1];
		if (proc_exec_prepare(keep, s->nfds + 1) == -1)
			_exit(127);
		execv(path, argv);
		/* The daemon's own error, as far as status is concerned. */
		log_set_errfd(s->errfd[1]);
		log_errx("cannot execute %s: %s", path, strerror(errno));
		_exit(127);
	}
	s->pid = pid;
	s->started_ms = evloop_now_ms();
	if (s->failures > 0 && s->stable == NULL)
		s->stable = evloop_timer(m->loop, MASTER_STABLE_MS,
		    stable_fired, s);
	log_debug("started %s (pid %ld)", s->name, (long)pid);
}

void
services_start_all(struct master *m)
{
	size_t i;

	for (i = 0; i < m->nsvcs; i++)
		if (!m->svcs[i].retired)
			svc_start(m, &m->svcs[i]);
	status_write(m);
}

static void
restart_fired(void *arg)
{
	struct service	*s = arg;
	extern struct master *M;

	s->restart = NULL;
	if (!M->stopping && !s->retired) {
		svc_start(M, s);
		status_write(M);
	}
}

void
services_reaped(struct master *m, pid_t pid, int status)
{
	struct service	*s = NULL;
	char		 how[64];
	uint64_t	 ran;
	size_t		 i;

	for (i = 0; i < m->nsvcs; i++)
		if (m->svcs[i].pid == pid)
			s = &m->svcs[i];
	if (s == NULL)
		return;		/* an orphaned session we adopted */
	s->pid = 0;
	if (s->stable != NULL) {
		evloop_timer_cancel(m->loop, s->stable);
		s->stable = NULL;
	}
	/* Its last words may still be queued on errfd: take them first. */
	svc_errline(s->errfd[0], EV_READ, s);
	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	if (m->stopping) {
		log_debug("%s (pid %ld) %s", s->name, (long)pid, how);
		return;
	}
	if (s->reloading) {
		s->reloading = 0;
		if (s->retired) {
			log_info("%s (pid %ld) stopped: it has no listeners "
			    "in the new configuration", s->name, (long)pid);
			status_write(m);
			return;
		}
		log_info("%s (pid %ld) replaced for the new configuration",
		    s->name, (long)pid);
		svc_start(m, s);
		status_write(m);
		return;
	}
	if (s->retired) {
		log_debug("%s (pid %ld) %s", s->name, (long)pid, how);
		return;
	}
	ran = evloop_now_ms() - s->started_ms;
	if (ran >= MASTER_STABLE_MS) {
		s->backoff_ms = BACKOFF_MIN_MS;
		s->failures = 0;
	}
	s->restarts++;
	s->failures++;
	strlcpy(s->last_exit, how, sizeof(s->last_exit));
	log_warnx("%s (pid %ld) %s; restarting in %llu ms", s->name,
	    (long)pid, how, (unsigned long long)s->backoff_ms);
	s->restart = evloop_timer(m->loop, s->backoff_ms, restart_fired, s);
	s->backoff_ms *= 2;
	if (s->backoff_ms > (uint64_t)m->conf.restart_backoff_max * 1000)
		s->backoff_ms = (uint64_t)m->conf.restart_backoff_max * 1000;
	if (s->backoff_ms < BACKOFF_MIN_MS)
		s->backoff_ms = BACKOFF_MIN_MS;
	status_write(m);
}

void
services_signal_all(struct master *m, int sig)
{
	size_t i;

	for (i = 0; i < m->nsvcs; i++) {
		if (m->svcs[i].restart != NULL) {
			evloop_timer_cancel(m->loop, m->svcs[i].restart);
			m->svcs[i].restart = NULL;
		}
		if (m->svcs[i].pid > 0)
			kill(m->svcs[i].pid, sig);
	}
}

/*
 * smtpd is chrooted and cannot read the new configuration: it is replaced
 * (its running sessions finish under the old settings). So are the relayd
 * agents (chrooted too; they read the TLS policy map and CA file before
 * it; each ends between jobs). So is a login daemon (pop3d, imapd) when
 * its listeners changed (its sessions finish too; the new one takes the
 * new set). The others reread postern.conf on SIGHUP.
 */
void
services_reload(struct master *m, const int *logind_changed)
{
	size_t i, d;

	for (i = 0; i < m->nsvcs; i++) {
		struct service *s = &m->svcs[i];
		int replace = strcmp(s->name, "smtpd") == 0 ||
		    strcmp(s->name, "relayd") == 0;

		for (d = 0; d < MASTER_LOGINDS; d++)
			if (logind_changed[d] &&
			    strcmp(s->name, m->logind[d].svc) == 0)
				replace = 1;

		if (s->pid <= 0) {
			/*
			 * Waiting for a restart, it starts with the new
			 * settings; a login daemon that had no listeners
			 * starts now.
			 */
			if (replace && s->restart == NULL && !s->retired)
				svc_start(m, s);
			continue;
		}
		if (replace) {
			s->reloading = 1;
			kill(s->pid, SIGTERM);
		} else
			kill(s->pid, SIGHUP);
	}
	status_write(m);
}

int
services_running_phase(struct master *m, int phase)
{
	size_t i;
	int n = 0;

	for (i = 0; i < m->nsvcs; i++)
		n += m->svcs[i].pid > 0 && m->svcs[i].stop_phase == phase;
	return n;
}

int
services_stop_phase(struct master *m, int phase)
{
	size_t i;

	for (i = 0; i < m->nsvcs; i++) {
		struct service *s = &m->svcs[i];

		if (s->stop_phase != phase)
			continue;
		if (s->restart != NULL) {
			evloop_timer_cancel(m->loop, s->restart);
			s->restart = NULL;
		}
		if (s->pid > 0)
			kill(s->pid, SIGTERM);
	}
	return services_running_phase(m, phase);
}

int
services_running(struct master *m)
{
	size_t i;
	int n = 0;

	for (i = 0; i < m->nsvcs; i++)
		n += m->svcs[i].pid > 0;
	return n;
}

void
services_kill_all(struct master *m)
{
	services_signal_all(m, SIGKILL);
}

void
services_log_reopen(struct master *m)
{
	size_t i;

	for (i = 0; i < m->nsvcs; i++)
		if (strcmp(m->svcs[i].name, "logd") == 0 && m->svcs[i].pid > 0)
			kill(m->svcs[i].pid, SIGHUP);
}
