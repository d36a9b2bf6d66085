/*
 * main.c - logd, the log process behind maillog_file (Postfix's
 * postlogd): it reads one datagram per log line from every Postern
 * process and appends it to the mail log file.
 *
 * Started by master, first and stopped last, only when maillog_file is
 * set. Master binds the socket (<spool>/public/log.sock, mode 0666: the
 * commands log through it too, as any user may log through /dev/log) and
 * keeps it, so datagrams sent while logd restarts wait in the socket;
 * every process connected to it before any chroot, so chrooted sessions
 * reach it. Senders never block on it (log.c): a slow disk here costs
 * lines, counted and reported, never a stalled daemon. Master creates the
 * file and gives it to login_user; logd drops to login_user (it reads
 * bytes any local user may send, so it runs with nothing to protect but
 * the log) and is not chrooted: it reopens the file by name on SIGHUP
 * (`postern reload`, `postern log reopen`), after logrotate moved it.
 * SIGTERM: it writes what is waiting and exits.
 */
#include <sys/socket.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "logd.h"
#include "priv.h"

/* Lines gathered before one write(2); a burst costs few system calls. */
#define LOGD_BATCH	(64 * 1024)

static struct conf	 logd_conf;
static const char	*logd_conf_path;
static int		 logd_out = -1;
static char		 logd_host[256];
static unsigned long	 logd_lost;

/* The file, by name; /dev/stdout and /dev/stderr are master's own. */
static int
logd_open(void)
{
	const char	*path = logd_conf.maillog_file;
	int		 fd;

	if (strcmp(path, "/dev/stdout") == 0)
		fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
	else if (strcmp(path, "/dev/stderr") == 0)
		fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3);
	else
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY |
		    O_CLOEXEC, 0640);
	if (fd == -1) {
		log_warn("maillog_file %s", path);
		return -1;
	}
	if (logd_out != -1)
		close(logd_out);
	logd_out = fd;
	return 0;
}

static void
logd_write(const char *buf, size_t len)
{
	ssize_t n;

	while (len > 0) {
		n = write(logd_out, buf, len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* A full disk loses lines; logd stays to log the rest. */
			logd_lost++;
			return;
		}
		buf += n;
		len -= (size_t)n;
	}
}

/* Reads what is waiting (at most a batch's worth of rounds); 0 when idle. */
static int
logd_drain(int sock)
{
	static char	 batch[LOGD_BATCH];
	char		 dg[LOG_DGRAM_MAX], line[LOGD_LINE_MAX];
	char		 cbuf[CMSG_SPACE(sizeof(struct ucred))];
	size_t		 used = 0, n;
	int		 got = 0;

	for (;;) {
		struct iovec	 iov = { dg, sizeof(dg) };
		struct msghdr	 mh;
		struct cmsghdr	*cm;
		struct timespec	 now;
		pid_t		 pid = 0;
		ssize_t		 len;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		len = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (len == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		got = 1;
		for (cm = CMSG_FIRSTHDR(&mh); cm != NULL;
		    cm = CMSG_NXTHDR(&mh, cm)) {
			if (cm->cmsg_level == SOL_SOCKET &&
			    cm->cmsg_type == SCM_CREDENTIALS) {
				struct ucred uc;

				memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
				pid = uc.pid;
			}
		}
		clock_gettime(CLOCK_REALTIME, &now);
		n = logd_format(line, sizeof(line), dg, (size_t)len, pid, &now,
		    logd_host, logd_conf.syslog_name);
		if (used + n > sizeof(batch)) {
			logd_write(batch, used);
			used = 0;
		}
		memcpy(batch + used, line, n);
		used += n;
	}
	if (used > 0)
		logd_write(batch, used);
	if (logd_lost > 0) {
		log_warnx("%lu writes to %s failed; lines were lost", logd_lost,
		    logd_conf.maillog_file);
		logd_lost = 0;
	}
	return got;
}

static void
logd_reload(void)
{
	struct conf	nc;
	char		err[1024];

	if (conf_load(&nc, logd_conf_path, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration",
		    err);
	} else if (nc.maillog_file[0] == '\0') {
		log_warnx("reload: maillog_file was unset; logging to %s "
		    "until the next start", logd_conf.maillog_file);
		conf_free(&nc);
	} else {
		conf_free(&logd_conf);
		logd_conf = nc;
	}
	if (logd_open() == 0)
		log_info("reopened %s", logd_conf.maillog_file);
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "log", NULL };
	struct daemon_args	 args;
	struct priv_user	 u;
	struct pollfd		 pfd[2];
	int			 sock, sigfd, on = 1, stop = 0;

	daemon_init("logd", names, argc, argv, &args, &logd_conf);
	logd_conf_path = args.confpath;
	if ((sock = daemon_socket(&args, "log")) == -1)
		fatalx("no log socket (-s log:FD)");
	/* The sender's pid from the kernel, not from what it wrote. */
	if (setsockopt(sock, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == -1)
		fatal("SO_PASSCRED");
	if (logd_conf.maillog_file[0] == '\0')
		fatalx("maillog_file is not set");
	if (gethostname(logd_host, sizeof(logd_host)) == -1)
		strlcpy(logd_host, "localhost", sizeof(logd_host));
	logd_host[sizeof(logd_host) - 1] = '\0';
	logd_host[strcspn(logd_host, ".")] = '\0';
	if (priv_lookup(logd_conf.login_user, &u) == -1)
		fatal("user %s", logd_conf.login_user);
	priv_drop(&u, NULL);
	umask(027);
	if (logd_open() == -1)
		fatalx("cannot open maillog_file %s", logd_conf.maillog_file);
	sigfd = daemon_signalfd(0);
	log_info("started: writing %s", logd_conf.maillog_file);

	pfd[0].fd = sock;
	pfd[0].events = POLLIN;
	pfd[1].fd = sigfd;
	pfd[1].events = POLLIN;
	while (!stop) {
		struct signalfd_siginfo si;

		if (poll(pfd, 2, -1) == -1) {
			if (errno == EINTR)
				continue;
			fatal("poll");
		}
		if (pfd[0].revents & POLLIN)
			(void)logd_drain(sock);
		while (read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGHUP)
				logd_reload();
			else
				stop = 1;
		}
	}
	/* Whatever the other processes said before they stopped. */
	log_info("stopping");
	while (logd_drain(sock))
		;
	return 0;
}
