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

#include "daemon.h"
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
drain_timeout(void *arg)
{
	log_warnx("stopping with %d delivery round(s) unfinished: they are "
	    "tried again at the next start", Q->rounds);
	evloop_stop(Q->loop);
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
		if (Q->stopping)
			continue;
		Q->stopping = 1;	/* no new round starts from now on */
		if (Q->rounds == 0 && Q->writes == 0) {
			log_info("stopping on signal %u", si.ssi_signo);
			evloop_stop(Q->loop);
			continue;
		}
		log_info("stopping on signal %u once %d delivery round(s) in "
		    "flight end", si.ssi_signo, Q->rounds);
		if (evloop_timer(Q->loop, QUEUED_DRAIN_MS, drain_timeout,
		    NULL) == NULL)
			evloop_stop(Q->loop);
	}
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "submit", "inject", "deliver",
	    "relay", "control", NULL };
	static struct queued	 q;
	struct daemon_args	 args;
	struct priv_user	 u;
	int			 sfd, submit, inject, deliver, relay, control;

	Q = &q;
	TAILQ_INIT(&q.msgs);
	daemon_init("queued", names, argc, argv, &args, &q.conf);
	q.confpath = args.confpath;
	submit = daemon_socket(&args, "submit");
	inject = daemon_socket(&args, "inject");
	deliver = daemon_socket(&args, "deliver");
	/* Without it (no remote agents configured) remote mail waits. */
	relay = daemon_socket(&args, "relay");
	control = daemon_socket(&args, "control");
	if (submit == -1 || deliver == -1)
		fatalx("master must pass the submit and deliver sockets");
	if (priv_lookup(q.conf.queue_user, &u) == -1)
		fatal("user %s", q.conf.queue_user);
	priv_drop(&u, NULL);
	if (spool_open(&q) == -1)
		fatalx("cannot use the spool %s", q.conf.spool_directory);

	if ((q.loop = evloop_new()) == NULL)
		fatal("evloop");
	sfd = daemon_signalfd(0);
	if (evloop_io(q.loop, sfd, EV_READ, on_signal, NULL) == -1)
		fatal("evloop_io");
	evloop_on_idle(q.loop, on_idle, NULL);

	syncer_init(QUEUED_SYNC_THREADS);
	timers_init();
	submit_init(submit, inject);
	agents_init(deliver);
	relay_init(relay);
	control_init(control);
	if (spool_scan(&q) == -1)
		fatal("scan spool");
	log_info("started");
	if (evloop_run(q.loop) == -1)
		fatal("event loop");
	submit_commit_batch();
	agents_shutdown();
	relay_shutdown();
	control_shutdown();
	sched_shutdown();
	return 0;
}
