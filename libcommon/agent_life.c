/*
 * agent_life.c - a delivery agent's life between jobs (agent_life.h).
 *
 * Runs in deliverd (mail user) and relayd (relay user), after their
 * privilege drop. Signals go to a signalfd read only here, between
 * jobs: a delivery is never cut in the middle by a reload or a stop. A
 * configuration that fails to load on SIGHUP leaves the running one.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include "agent_life.h"
#include "daemon.h"
#include "log.h"
#include "sock.h"

void
agent_life_init(struct agent_life *al, struct conf *conf,
    const char *conf_path, void (*reloaded)(void))
{
	al->conf = conf;
	al->conf_path = conf_path;
	al->reloaded = reloaded;
	al->terminate = 0;
	al->sigfd = daemon_signalfd(0);
}

static void
agent_life_reload(struct agent_life *al)
{
	if (daemon_conf_reload(al->conf, al->conf_path) == -1)
		return;
	if (al->reloaded != NULL)
		al->reloaded();
	log_info("configuration reloaded");
}

static void
agent_life_signals(struct agent_life *al)
{
	struct signalfd_siginfo si;

	while (read(al->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT)
			al->terminate = 1;
		else if (si.ssi_signo == SIGHUP)
			agent_life_reload(al);
	}
}

int
agent_life_wait(struct agent_life *al, int fd, int timeout_ms)
{
	struct pollfd	pfd[2];
	int		n;

	pfd[0].fd = al->sigfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = fd;
	pfd[1].events = POLLIN;
	n = poll(pfd, fd == -1 ? 1 : 2, timeout_ms);
	if (n == -1) {
		if (errno != EINTR)
			fatal("poll");
		return 0;
	}
	if (pfd[0].revents != 0)
		agent_life_signals(al);
	return fd != -1 && pfd[1].revents != 0;
}

int
agent_life_connect(struct agent_life *al, const char *dir, const char *name,
    int retry_ms)
{
	int	fd, complained = 0;

	while (!al->terminate) {
		if ((fd = sock_unix_connect_in(dir, name)) != -1) {
			if (complained)
				log_info("connected to %s/%s", dir, name);
			return fd;
		}
		if (!complained)
			log_warn("connect %s/%s (retrying every %d ms)", dir,
			    name, retry_ms);
		complained = 1;
		(void)agent_life_wait(al, -1, retry_ms);
	}
	return -1;
}
