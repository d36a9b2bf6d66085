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
#include <sys/queue.h>
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
#include "evloop.h"
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

/* The pid of a record's sender: the kernel's word, else the connecter's. */
static pid_t
logd_sender(struct msghdr *mh, pid_t fallback)
{
	struct cmsghdr	*cm;
	struct ucred	 uc;

	for (cm = CMSG_FIRSTHDR(mh); cm != NULL; cm = CMSG_NXTHDR(mh, cm))
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_CREDENTIALS &&
		    cm->cmsg_len >= CMSG_LEN(sizeof(uc))) {
			memcpy(&uc, CMSG_DATA(cm), sizeof(uc));
			return uc.pid;
		}
	return fallback;
}

/*
 * Reads every record waiting on one connection and writes them in one
 * go; -1 when the sender has gone (or broke the connection).
 */
static int
logd_drain(int fd, pid_t peer)
{
	static char	 batch[LOGD_BATCH];
	char		 rec[LOG_RECORD_MAX], line[LOGD_LINE_MAX];
	char		 cbuf[CMSG_SPACE(sizeof(struct ucred))];
	size_t		 used = 0, n;
	int		 rc = 0;

	for (;;) {
		struct iovec	 iov = { rec, sizeof(rec) };
		struct msghdr	 mh;
		struct timespec	 now;
		ssize_t		 len;

		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		len = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (len == -1 && errno == EINTR)
			continue;
		if (len == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (len <= 0) {
			rc = -1;
			break;
		}
		clock_gettime(CLOCK_REALTIME, &now);
		n = logd_format(line, sizeof(line), rec, (size_t)len,
		    logd_sender(&mh, peer), &now, logd_host,
		    logd_conf.syslog_name);
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
	return rc;
}

/* One connected process; a list of at most one per process that logs. */
struct logd_client {
	TAILQ_ENTRY(logd_client) entry;
	int	fd;
	pid_t	pid;
};

static TAILQ_HEAD(, logd_client) logd_clients =
    TAILQ_HEAD_INITIALIZER(logd_clients);
static struct evloop	*logd_loop;

static void
logd_client_io(int fd, int events, void *arg)
{
	struct logd_client *c = arg;

	if (logd_drain(fd, c->pid) == -1) {
		evloop_io_del(logd_loop, fd);
		close(fd);
		TAILQ_REMOVE(&logd_clients, c, entry);
		free(c);
	}
}

static void
logd_accept(int lfd, int events, void *arg)
{
	struct logd_client	*c;
	struct ucred		 uc;
	socklen_t		 len;
	int			 fd, on = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK |
	    SOCK_CLOEXEC)) != -1) {
		len = sizeof(uc);
		if ((c = calloc(1, sizeof(*c))) == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == 0)
			c->pid = uc.pid;
		(void)setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof(on));
		if (evloop_io(logd_loop, fd, EV_READ, logd_client_io, c) == -1) {
			close(fd);
			free(c);
			continue;
		}
		TAILQ_INSERT_TAIL(&logd_clients, c, entry);
		/* Records may be waiting already. */
		logd_client_io(fd, EV_READ, c);
	}
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

static void
logd_signal(int fd, int events, void *arg)
{
	struct signalfd_siginfo si;

	while (read(fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			logd_reload();
		else {
			evloop_stop(logd_loop);
		}
	}
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "log", NULL };
	struct daemon_args	 args;
	struct priv_user	 u;
	int			 sock, sigfd, on = 1;

	daemon_init("logd", names, argc, argv, &args, &logd_conf);
	logd_conf_path = args.confpath;
	if ((sock = daemon_socket(&args, "log")) == -1)
		fatalx("no log socket (-s log:FD)");
	/* Accepted connections inherit it: each record's pid is the kernel's. */
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
	if ((logd_loop = evloop_new()) == NULL ||
	    evloop_io(logd_loop, sock, EV_READ, logd_accept, NULL) == -1 ||
	    evloop_io(logd_loop, sigfd, EV_READ, logd_signal, NULL) == -1)
		fatal("event loop");
	log_info("started: writing %s", logd_conf.maillog_file);
	if (evloop_run(logd_loop) == -1)
		fatal("event loop");
	/*
	 * Master stops logd last: what the others said is waiting. Its own
	 * last line goes straight to the file, its connection is read first.
	 */
	log_info("stopping");
	logd_accept(sock, EV_READ, NULL);
	while (!TAILQ_EMPTY(&logd_clients)) {
		struct logd_client *c = TAILQ_FIRST(&logd_clients);

		(void)logd_drain(c->fd, c->pid);
		TAILQ_REMOVE(&logd_clients, c, entry);
		close(c->fd);
		free(c);
	}
	return 0;
}
