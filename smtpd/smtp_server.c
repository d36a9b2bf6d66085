/*
 * smtp_server.c - smtpd's listener process: accepts clients on the
 * sockets master handed over and forks one child per session.
 *
 * Runs unprivileged (after priv_drop) and never parses a byte from the
 * network: the only thing it writes to a client is the fixed 421 when
 * smtpd_max_sessions are busy. Each session lives in its own process,
 * so a bug in one cannot see another's data, and a crash costs one
 * connection. SIGCHLD and SIGTERM reach the poll loop through a
 * self-pipe, so no work happens in signal handlers.
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"
#include "sock.h"

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

/* The child serves its client with default signal handling. */
static void
signals_child(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	(void)sigaction(SIGCHLD, &sa, NULL);
	(void)sigaction(SIGTERM, &sa, NULL);
	(void)sigaction(SIGINT, &sa, NULL);
	close(sig_pipe[0]);
	close(sig_pipe[1]);
}

static size_t
reap(void)
{
	size_t	n = 0;
	pid_t	pid;
	int	status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		n++;
		if (WIFSIGNALED(status))
			log_warnx("session process %ld killed by signal %d",
			    (long)pid, WTERMSIG(status));
	}
	return n;
}

static void
refuse_busy(const struct smtp_env *env, int fd)
{
	char	msg[CONF_STR_MAX + 64];
	int	n;

	/* Best effort and non-blocking: a full socket buffer just loses it. */
	n = snprintf(msg, sizeof(msg), "421 4.7.0 %s Error: too many "
	    "connections\r\n", env->conf->myhostname);
	if (n > 0 && (size_t)n < sizeof(msg))
		(void)!send(fd, msg, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL);
	close(fd);
}

int
smtp_server_run(const struct smtp_env *env, const int *fds, size_t nfds)
{
	struct pollfd		*pfd;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	size_t			 i, nsessions = 0, done;
	long			 max = env->conf->smtpd_max_sessions;
	pid_t			 pid;
	char			 drain[64], host[64];
	int			 fd, port;

	signals_setup();
	if ((pfd = calloc(nfds + 1, sizeof(*pfd))) == NULL)
		fatal("calloc");
	pfd[0].fd = sig_pipe[0];
	pfd[0].events = POLLIN;
	for (i = 0; i < nfds; i++) {
		/* Several processes may share a listener: never block in accept. */
		if (sock_set_nonblock(fds[i], 1) == -1)
			fatal("listener %d", fds[i]);
		(void)sock_set_cloexec(fds[i], 1);
		pfd[i + 1].fd = fds[i];
		pfd[i + 1].events = POLLIN;
	}
	log_info("ready: %zu listener(s), at most %ld sessions", nfds, max);

	while (!sig_term) {
		if (poll(pfd, nfds + 1, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			while (read(sig_pipe[0], drain, sizeof(drain)) > 0)
				;
		done = reap();
		nsessions = done > nsessions ? 0 : nsessions - done;
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
			if (nsessions >= (size_t)max) {
				sock_ntop((struct sockaddr *)&ss, host,
				    sizeof(host), &port);
				log_warnx("too many sessions (%ld): refusing "
				    "[%s]", max, host);
				refuse_busy(env, fd);
				continue;
			}
			if ((pid = fork()) == -1) {
				log_warn("fork");
				refuse_busy(env, fd);
				continue;
			}
			if (pid == 0) {
				size_t j;

				signals_child();
				for (j = 0; j < nfds; j++)
					close(fds[j]);
				smtp_session_run(env, fd,
				    (struct sockaddr *)&ss, sslen);
				_exit(0);
			}
			close(fd);
			nsessions++;
		}
	}
	/* Running sessions finish on their own; we only stop accepting. */
	log_info("terminating on signal; %zu session(s) still running",
	    nsessions);
	for (i = 0; i < nfds; i++)
		close(fds[i]);
	free(pfd);
	return 0;
}
