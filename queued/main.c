/*
 * main.c - queued: the queue manager. Sole owner of the spool.
 *
 * Started by master with its listening sockets; drops to queue_user
 * (no chroot: it needs the spool and the private sockets) and runs one
 * event loop. See doc/DESIGN.md for the commit protocol.
 */
#include <sys/signalfd.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"
#include "queued.h"
#include "sock.h"

static void
on_idle(void *arg)
{
	submit_commit_batch();
}

static void
on_signal(int fd, int events, void *arg)
{
	struct signalfd_siginfo si;
	char	err[512];

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			struct conf nc;

			if (conf_load(&nc, Q->confpath, err, sizeof(err)) == -1) {
				log_errx("reload refused: %s", err);
				continue;
			}
			conf_free(&Q->conf);
			Q->conf = nc;
			log_info("configuration reloaded");
			continue;
		}
		log_info("stopping on signal %u", si.ssi_signo);
		Q->stopping = 1;
		evloop_stop(Q->loop);
	}
}

static void
usage(void)
{
	fprintf(stderr, "usage: queued [-c config] [-f] -s name:fd ...\n");
	exit(64);
}

int
main(int argc, char *argv[])
{
	struct priv_user	 u;
	sigset_t		 mask;
	char			 err[512];
	int			 ch, fg = 0, sfd;
	int			 submit = -1, inject = -1, deliver = -1,
				 control = -1;
	static struct queued	 q;

	Q = &q;
	TAILQ_INIT(&q.msgs);
	while ((ch = getopt(argc, argv, "c:fs:")) != -1) {
		switch (ch) {
		case 'c':
			q.confpath = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 's': {
			char *colon = strchr(optarg, ':');
			int fd;

			if (colon == NULL)
				usage();
			*colon = '\0';
			fd = atoi(colon + 1);
			if (strcmp(optarg, "submit") == 0)
				submit = fd;
			else if (strcmp(optarg, "inject") == 0)
				inject = fd;
			else if (strcmp(optarg, "deliver") == 0)
				deliver = fd;
			else if (strcmp(optarg, "control") == 0)
				control = fd;
			break;
		}
		default:
			usage();
		}
	}
	log_init("queued", fg ? LOG_DEST_STDERR : LOG_DEST_SYSLOG);
	if (conf_load(&q.conf, q.confpath, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (submit == -1 || deliver == -1)
		fatalx("master must pass the submit and deliver sockets");
	if (priv_lookup(q.conf.queue_user, &u) == -1)
		fatal("user %s", q.conf.queue_user);
	priv_drop(&u, NULL);
	if (spool_open(&q) == -1)
		fatalx("cannot use the spool %s", q.conf.spool_directory);

	if ((q.loop = evloop_new()) == NULL)
		fatal("evloop");
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1 ||
	    evloop_io(q.loop, sfd, EV_READ, on_signal, NULL) == -1)
		fatal("signalfd");
	evloop_on_idle(q.loop, on_idle, NULL);

	submit_init(submit, inject);
	agents_init(deliver);
	control_init(control);
	if (spool_scan(&q) == -1)
		fatal("scan spool");
	log_info("started");
	if (evloop_run(q.loop) == -1)
		fatal("event loop");
	submit_commit_batch();
	agents_shutdown();
	sched_shutdown();
	return 0;
}
