/*
 * main.c - master: the supervisor of the Postern suite.
 *
 * Runs as root (or as the invoking user for development and tests). It
 * reads the configuration, creates the spool, binds every listening
 * socket, then starts each daemon under its own user and restarts any
 * that dies. It speaks no protocol and parses nothing from the network.
 * SIGHUP reloads (reload.c), SIGTERM/SIGINT stop the suite, SIGUSR1 has
 * the log process reopen maillog_file (`postern log reopen`, after
 * logrotate).
 *
 * Before it starts anything it runs every check "postern check" runs
 * (libcommon/confcheck): a configuration with an error is refused, each
 * error named by file and line, and nothing is started. Started by
 * "postern start" (-t), it reports to that terminal as the command does
 * ("postern: ...", no log prefixes), logs to syslog from the first line,
 * and the command returns once the suite is up, saying what it started.
 */
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "confcheck.h"
#include "daemon.h"
#include "log.h"
#include "master.h"
#include "proc.h"

#define STOP_GRACE_MS	10000

struct master *M;
static int pidfd = -1;

static void
usage(void)
{
	fprintf(stderr, "usage: master [-c config] [-f] [-d] [-t]\n");
	exit(64);
}

static void	master_say(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
static noreturn void master_fail(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/* To the terminal of "postern start", in its words; -t only. */
static void
master_say(const char *fmt, ...)
{
	va_list	ap;
	char	msg[1200];

	if (!M->plain)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "postern: %s\n", msg);
}

/*
 * A start that cannot go on: said once, to the log and (-t) to the
 * terminal, and nothing is left behind (the pid file is ours only once
 * it is locked).
 */
static void
master_fail(const char *fmt, ...)
{
	va_list	ap;
	char	msg[1200];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	master_say("%s", msg);
	if (pidfd != -1)
		(void)unlink(M->conf.pid_file);
	fatalx("%s", msg);
}

static void
master_check_report(void *arg, enum confcheck_level level, const char *msg)
{
	if (level == CONFCHECK_ERROR) {
		master_say("error: %s", msg);
		log_errx("%s", msg);
	} else {
		master_say("warning: %s", msg);
		log_warnx("%s", msg);
	}
}

/* Takes the pid file's lock: a second master must not start. */
static void
master_pidfile_lock(const char *path)
{
	char	buf[32];
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) == -1)
		master_fail("pid file %s: %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (M->plain) {
			/* LSB: starting a running service succeeds. */
			master_say("already running (pid %s)",
			    buf[0] ? buf : "?");
			exit(0);
		}
		fatalx("postern is already running (pid %s, pid file %s)",
		    buf[0] ? buf : "?", path);
	}
	pidfd = fd;
}

static void
master_pidfile_write(void)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(pidfd, 0) == -1 || pwrite(pidfd, buf, (size_t)n, 0) != n)
		log_warn("write pid file");
}

static void stop_timeout(void *);

/*
 * Phase by phase: what takes mail in (1), then what serves it (2), then
 * the log process (3), so every process's last line is written.
 */
static void
stop_next_phase(struct master *m)
{
	int phase;

	for (phase = 1; phase <= 2; phase++)
		if (services_stop_phase(m, phase) > 0)
			return;
	/* Master's last line, while the log process still writes it. */
	if (services_running_phase(m, 3) > 0 && !m->said_stopped) {
		m->said_stopped = 1;
		log_info("stopped");
	}
	(void)services_stop_phase(m, 3);
}

static void
begin_stop(struct master *m)
{
	if (m->stopping)
		return;
	m->stopping = 1;
	master_notify("STOPPING=1");
	log_info("stopping: terminating %d processes", services_running(m));
	stop_next_phase(m);
	if (services_running(m) == 0)
		evloop_stop(m->loop);
	else
		(void)evloop_timer(m->loop, STOP_GRACE_MS, stop_timeout, m);
}

static void
stop_timeout(void *arg)
{
	struct master *m = arg;

	log_warnx("%d processes ignored SIGTERM; killing them",
	    services_running(m));
	services_kill_all(m);
}

static void
log_reopen(struct master *m)
{
	char err[512];

	if (m->log_fd == -1) {
		log_info("log reopen: maillog_file is not set; nothing to do");
		return;
	}
	if (setup_maillog(m, err, sizeof(err)) == -1)
		log_warnx("log reopen: %s", err);
	services_log_reopen(m);
}

static void
on_signal(int fd, int events, void *arg)
{
	struct master		*m = arg;
	struct signalfd_siginfo	 si;
	pid_t			 pid;
	int			 status;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
				services_reaped(m, pid, status);
			if (m->stopping)
				stop_next_phase(m);
			if (m->stopping && services_running(m) == 0)
				evloop_stop(m->loop);
			break;
		case SIGHUP:
			if (!m->stopping)
				master_reload(m);
			break;
		case SIGUSR1:
			if (!m->stopping)
				log_reopen(m);
			break;
		default:
			begin_stop(m);
		}
	}
}

/* daemon_signalfd's set, with SIGCHLD and SIGUSR1 (log reopen). */
static int
master_signalfd(void)
{
	sigset_t	mask;
	int		fd = daemon_signalfd(SIGCHLD);

	sigemptyset(&mask);
	sigaddset(&mask, SIGUSR1);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1 ||
	    sigprocmask(SIG_BLOCK, NULL, &mask) == -1 ||
	    signalfd(fd, &mask, 0) == -1)
		fatal("signalfd");
	return fd;
}

/*
 * Detaches, but the command that started us returns only once the suite
 * is up (pid file written, every daemon started) or master gave up: the
 * parent waits for one byte on a pipe and exits 0 on it, 1 on EOF. So
 * `postern start && postern demo` never finds a suite half started.
 * With -t the parent also says what was started (started, composed
 * before the fork), or that master gave up.
 */
static int
daemonize(const char *started)
{
	int	fd, ready[2];
	ssize_t	n;
	char	c;
	pid_t	pid;

	if (pipe2(ready, O_CLOEXEC) == -1)
		fatal("pipe2");
	switch (pid = fork()) {
	case -1:
		fatal("fork");
	case 0:
		break;
	default:
		close(ready[1]);
		do
			n = read(ready[0], &c, 1);
		while (n == -1 && errno == EINTR);
		if (n == 1 && c == 'R') {
			if (M->plain)
				printf("postern: started (pid %ld): %s\n",
				    (long)pid, started);
			fflush(stdout);
			_exit(0);
		}
		master_say("master (pid %ld) exited before the suite was up; "
		    "its reason is in the mail log", (long)pid);
		_exit(1);
	}
	close(ready[0]);
	if (setsid() == -1)
		fatal("setsid");
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		dup2(fd, STDERR_FILENO);
		if (fd > 2)
			close(fd);
	}
	return ready[1];
}

/*
 * "smtpd on A, B; [smtps on D; submission on E; ]pop3d on C; [pop3s on
 * F; ][imapd on G; imaps on H; ]queued, resolverd, authd, 4 deliverd[,
 * logd]".
 */
static void
master_started_text(const struct master *m, char *out, size_t len)
{
	size_t i, d;

	out[0] = '\0';
	if (m->conf.smtp_listen.n > 0) {
		strlcat(out, "smtpd on ", len);
		for (i = 0; i < m->conf.smtp_listen.n; i++) {
			strlcat(out, m->conf.smtp_listen.v[i], len);
			strlcat(out, i + 1 < m->conf.smtp_listen.n ? ", " :
			    "; ", len);
		}
	}
	for (i = 0; i < m->conf.smtps_listen.n; i++) {
		strlcat(out, i == 0 ? "smtps on " : "", len);
		strlcat(out, m->conf.smtps_listen.v[i], len);
		strlcat(out, i + 1 < m->conf.smtps_listen.n ? ", " : "; ",
		    len);
	}
	for (i = 0; i < m->conf.submission_listen.n; i++) {
		strlcat(out, i == 0 ? "submission on " : "", len);
		strlcat(out, m->conf.submission_listen.v[i], len);
		strlcat(out, i + 1 < m->conf.submission_listen.n ? ", " :
		    "; ", len);
	}
	for (d = 0; d < MASTER_LOGINDS; d++) {
		const struct conf_list *l = logind_list(&m->conf, d, 0);
		const struct conf_list *t = logind_list(&m->conf, d, 1);

		for (i = 0; i < l->n; i++) {
			if (i == 0) {
				strlcat(out, m->logind[d].svc, len);
				strlcat(out, " on ", len);
			}
			strlcat(out, l->v[i], len);
			strlcat(out, i + 1 < l->n ? ", " : "; ", len);
		}
		for (i = 0; i < t->n; i++) {
			if (i == 0) {
				strlcat(out, m->logind[d].tls_sock, len);
				strlcat(out, " on ", len);
			}
			strlcat(out, t->v[i], len);
			strlcat(out, i + 1 < t->n ? ", " : "; ", len);
		}
	}
	i = strlen(out);
	snprintf(out + i, len - i, "queued, resolverd, authd, %ld deliverd, "
	    "%ld relayd%s", m->conf.local_delivery_concurrency,
	    m->conf.remote_delivery_concurrency, m->log_fd != -1 ?
	    ", logd" : "");
}

/* Tells the command that started us that the suite is up. */
static void
daemonize_done(int fd)
{
	char c = 'R';

	if (fd == -1)
		return;
	(void)!write(fd, &c, 1);
	close(fd);
}

int
main(int argc, char *argv[])
{
	static struct master	 m;
	struct confcheck_result	 res;
	char			 err[1024], started[1024];
	int			 ch, sfd, debug = 0, ready = -1;

	M = &m;
	logind_init(&m);
	/*
	 * Nothing of the invoker's reaches a daemon: not its descriptors
	 * (a shell's pipe, a terminal's extra fds), not its environment,
	 * not its working directory.
	 */
	proc_close_except(NULL, 0);
	master_notify_init();
	proc_env_reset();
	while ((ch = getopt(argc, argv, "c:fdt")) != -1) {
		switch (ch) {
		case 'c':
			m.confpath = optarg;
			break;
		case 'f':
			m.foreground = 1;
			break;
		case 'd':
			debug = 1;
			break;
		case 't':
			m.plain = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	if (m.foreground)
		m.plain = 0;	/* the terminal gets the log itself */
	if (m.confpath != NULL) {
		/* A relative path would stop working after the chdir. */
		if ((m.confpath = realpath(m.confpath, NULL)) == NULL) {
			fprintf(stderr, "%s: %s: %s\n", m.plain ? "postern" :
			    "master", argv[optind - 1], strerror(errno));
			exit(78);
		}
	}
	if (chdir("/") == -1) {
		fprintf(stderr, "master: chdir /: %s\n", strerror(errno));
		exit(71);
	}
	/*
	 * Until we detach, problems go to the terminal that started us: as
	 * the log with -f, in the postern command's words with -t.
	 */
	log_init("master", m.plain ? LOG_DEST_SYSLOG : LOG_DEST_STDERR);
	log_debug_enable(debug);
	umask(022);
	if (conf_load(&m.conf, m.confpath, err, sizeof(err)) == -1) {
		master_say("error: %s", err);
		fatalx("%s", err);
	}
	if (confcheck_run(&m.conf, master_check_report, &m, &res) > 0)
		master_fail("not started: %d error%s in the configuration",
		    res.errors, res.errors == 1 ? "" : "s");
	if (!priv_is_root())
		log_info("not started as root: every daemon runs as uid %ld, "
		    "without chroot (development mode)", (long)geteuid());
	master_pidfile_lock(m.conf.pid_file);
	if (setup_users(&m, err, sizeof(err)) == -1 ||
	    setup_spool(&m, err, sizeof(err)) == -1 ||
	    setup_sockets(&m, err, sizeof(err)) == -1 ||
	    setup_maillog(&m, err, sizeof(err)) == -1)
		master_fail("cannot start: %s", err);
	/* Said on the terminal, the one place it can still be read. */
	if (!m.foreground && m.log_fd == -1 && !setup_syslog_reachable()) {
		master_say("warning: no syslog daemon listens on /dev/log and "
		    "maillog_file is not set: the suite's log goes nowhere "
		    "(set maillog_file, or start a syslog daemon)");
		log_warnx("no syslog daemon listens on /dev/log and "
		    "maillog_file is not set: the suite's log goes nowhere "
		    "(set maillog_file, or start a syslog daemon)");
	}

	if (!m.foreground) {
		master_started_text(&m, started, sizeof(started));
		ready = daemonize(started);
		log_init("master", LOG_DEST_SYSLOG);
	}
	daemon_log_setup(&m.conf);
	master_pidfile_write();
	/* Sessions orphaned by an smtpd restart are reaped here. */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 1);

	sfd = master_signalfd();
	if ((m.loop = evloop_new()) == NULL)
		fatal("evloop");
	if (evloop_io(m.loop, sfd, EV_READ, on_signal, &m) == -1)
		fatal("evloop_io");

	m.reload_ok = 1;
	strlcpy(m.reload_msg, "none since the start", sizeof(m.reload_msg));
	/* Before smtpd's first session reads them. */
	master_tickets_check(&m);
	services_init(&m);
	services_start_all(&m);
	log_info("started (pid %ld, config %s)", (long)getpid(),
	    m.confpath ? m.confpath : "built-in defaults");
	daemonize_done(ready);
	master_notify("READY=1");
	if (evloop_run(m.loop) == -1)
		fatal("event loop");
	if (conf_status_path(&m.conf, err, sizeof(err)) == 0)
		(void)unlink(err);
	(void)unlink(m.conf.pid_file);
	if (!m.said_stopped)
		log_info("stopped");
	return 0;
}
