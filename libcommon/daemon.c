/*
 * daemon.c - common start-up of the daemons master runs.
 *
 * Runs in every daemon, before it drops privileges. Its input is master's
 * command line, so a malformed one is master's bug and fatal. It sets
 * NO_NEW_PRIVS and RLIMIT_CORE 0 first (proc_harden): every process but
 * master runs with them, and every exec'd session inherits them.
 */
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon.h"
#include "evloop.h"
#include "log.h"
#include "proc.h"
#include "sock.h"

static void
daemon_usage(const char *ident)
{
	fprintf(stderr, "usage: %s [-c config] [-f] [-e fd] [-s name:fd ...]"
	    "\n", ident);
	exit(64);
}

static int
name_allowed(const char *const *names, const char *name)
{
	for (; names != NULL && *names != NULL; names++)
		if (strcmp(*names, name) == 0)
			return 1;
	return 0;
}

/* A descriptor number from the command line, or -1. */
static int
daemon_fd_arg(const char *s)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v > INT_MAX)
		return -1;
	return (int)v;
}

static void
add_socket(struct daemon_args *a, const char *const *names, const char *spec)
{
	struct daemon_socket	*s;
	const char		*colon = strchr(spec, ':');
	int			 fd;
	int			 on = 0;
	socklen_t		 len = sizeof(on);

	if (colon == NULL || (size_t)(colon - spec) >= sizeof(s->name))
		fatalx("bad -s argument \"%s\"", spec);
	if (a->nsocks == DAEMON_MAX_SOCKETS)
		fatalx("more than %d -s arguments", DAEMON_MAX_SOCKETS);
	s = &a->socks[a->nsocks];
	memcpy(s->name, spec, (size_t)(colon - spec));
	s->name[colon - spec] = '\0';
	if (!name_allowed(names, s->name))
		fatalx("unknown socket name in -s %s", spec);
	if ((fd = daemon_fd_arg(colon + 1)) == -1)
		fatalx("bad descriptor in -s %s", spec);
	if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1 ||
	    !on)
		fatalx("-s %s: not a listening socket", spec);
	if (sock_set_nonblock((int)fd, 1) == -1 ||
	    sock_set_cloexec((int)fd, 1) == -1)
		fatal("-s %s", spec);
	s->fd = (int)fd;
	a->nsocks++;
}

/*
 * -e FD: master's socket for our error lines (libcommon/log.h). Checked
 * like the listening sockets: it must be what master makes, a datagram
 * socket, and no exec'd session may inherit it.
 */
static void
daemon_errfd(const char *spec)
{
	int		 fd, type = 0;
	socklen_t	 len = sizeof(type);

	if ((fd = daemon_fd_arg(spec)) == -1)
		fatalx("bad descriptor in -e %s", spec);
	if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) == -1 ||
	    type != SOCK_DGRAM)
		fatalx("-e %s: not a datagram socket", spec);
	if (sock_set_cloexec((int)fd, 1) == -1)
		fatal("-e %s", spec);
	log_set_errfd((int)fd);
}

/* Descriptors for the logs, maps, loops and the odd file at any time. */
#define DAEMON_FDS_RESERVE	64

unsigned long
daemon_fds_needed(const struct conf *cf)
{
	unsigned long smtpd, resolverd, pop3d, imapd;

	/* A control socket per session process, busy or idle. */
	smtpd = 2 * (unsigned long)cf->smtpd_max_sessions;
	resolverd = (unsigned long)cf->smtpd_max_sessions +
	    DAEMON_RESOLVER_CHECK_SPARE + 2 * DAEMON_RESOLVER_PRIV_CLIENTS;
	/* The client and the login process's socket per connection. */
	pop3d = 2 * (unsigned long)cf->pop3_max_sessions;
	imapd = 2 * (unsigned long)cf->imap_max_sessions;
	if (imapd > pop3d)
		pop3d = imapd;
	if (resolverd > smtpd)
		smtpd = resolverd;
	if (pop3d > smtpd)
		smtpd = pop3d;
	return smtpd + DAEMON_FDS_RESERVE;
}

unsigned long
daemon_fds_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return 1024;
	return rl.rlim_max == RLIM_INFINITY ? ~0UL : (unsigned long)rl.rlim_max;
}

static void
raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

void
daemon_init(const char *ident, const char *const *names, int argc,
    char **argv, struct daemon_args *a, struct conf *conf)
{
	const char	*specs[DAEMON_MAX_SOCKETS], *errspec = NULL;
	const char	*snapshot = NULL;
	char		 err[1024], snappath[64];
	int		 snapfd;
	size_t		 nspecs = 0, i;
	int		 ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt(argc, argv, "c:C:fe:s:")) != -1) {
		switch (ch) {
		case 'C':
			snapshot = optarg;
			break;
		case 'e':
			errspec = optarg;
			break;
		case 'c':
			a->confpath = optarg;
			break;
		case 'f':
			a->foreground = 1;
			break;
		case 's':
			if (nspecs == DAEMON_MAX_SOCKETS)
				daemon_usage(ident);
			specs[nspecs++] = optarg;	/* once logging is up */
			break;
		default:
			daemon_usage(ident);
		}
	}
	if (optind != argc)
		daemon_usage(ident);
	log_init(ident, a->foreground ? LOG_DEST_STDERR : LOG_DEST_SYSLOG);
	/*
	 * Session processes are exec'd through /proc/self/exe, which would
	 * name them "exe" in ps, top and pkill: name every daemon for what
	 * it is.
	 */
	(void)prctl(PR_SET_NAME, ident, 0, 0, 0);
	/* Before anything else: no exec below here can gain privileges. */
	proc_harden(0);
	raise_fd_limit();
	if (errspec != NULL)
		daemon_errfd(errspec);
	for (i = 0; i < nspecs; i++)
		add_socket(a, names, specs[i]);
	if (snapshot != NULL) {
		/* The parent's running configuration (daemon_conf_snapshot). */
		if ((snapfd = daemon_fd_arg(snapshot)) == -1)
			daemon_usage(ident);
		snprintf(snappath, sizeof(snappath), "/proc/self/fd/%d", snapfd);
		if (conf_load(conf, snappath, err, sizeof(err)) == -1)
			fatalx("the configuration passed by the parent: %s", err);
		close(snapfd);
	} else if (conf_load(conf, a->confpath, err, sizeof(err)) == -1)
		fatalx("%s", err);
	daemon_log_setup(conf);
}

void
daemon_log_setup(const struct conf *conf)
{
	char path[4096];

	if (conf->maillog_file[0] == '\0') {
		log_configure(conf->syslog_name, NULL);
		return;
	}
	if (snprintf(path, sizeof(path), "%s/%s/%s", conf->spool_directory,
	    LOG_SOCKET_DIR, LOG_SOCKET_NAME) >= (int)sizeof(path))
		path[0] = '\0';
	log_configure(conf->syslog_name, path);
}

char *
daemon_take_arg(int *argc, char *argv[], const char *flag)
{
	char	*spec = NULL;
	int	 i, j;

	for (i = 1; i < *argc; i++) {
		if (strcmp(argv[i], flag) != 0 || i + 1 >= *argc)
			continue;
		spec = argv[i + 1];
		for (j = i; j + 2 <= *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		break;
	}
	return spec;
}

void
daemon_exec_self(const char *ident, const char *confpath, int conffd,
    const char *flag, const char *spec)
{
	daemon_exec(NULL, ident, confpath, conffd, flag, spec);
}

void
daemon_exec(const char *path, const char *ident, const char *confpath,
    int conffd, const char *flag, const char *spec)
{
	char	*argv[10], fdarg[16];
	int	 a = 0;

	argv[a++] = (char *)ident;
	if (confpath != NULL) {
		argv[a++] = "-c";
		argv[a++] = (char *)confpath;
	}
	if (conffd != -1) {
		snprintf(fdarg, sizeof(fdarg), "%d", conffd);
		argv[a++] = "-C";
		argv[a++] = fdarg;
	}
	if (log_dest() == LOG_DEST_STDERR)
		argv[a++] = "-f";
	argv[a++] = (char *)flag;
	argv[a++] = (char *)spec;
	argv[a] = NULL;
	/* The running image, even if the file was replaced since. */
	execv(path != NULL ? path : "/proc/self/exe", argv);
	log_warn("exec %s %s", path != NULL ? path : ident, flag);
}

size_t
daemon_sockets(const struct daemon_args *a, const char *name, int *fds,
    size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < a->nsocks && n < max; i++)
		if (strcmp(a->socks[i].name, name) == 0)
			fds[n++] = a->socks[i].fd;
	return n;
}

int
daemon_socket(const struct daemon_args *a, const char *name)
{
	int fd;

	return daemon_sockets(a, name, &fd, 1) == 1 ? fd : -1;
}

int
daemon_signalfd(int extra)
{
	sigset_t	mask;
	int		fd;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	if (extra != 0)
		sigaddset(&mask, extra);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) == -1)
		fatal("sigprocmask");
	if ((fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) == -1)
		fatal("signalfd");
	signal(SIGPIPE, SIG_IGN);
	return fd;
}

int
daemon_conf_reload(struct conf *conf, const char *path)
{
	struct conf	nc;
	char		err[1024];

	if (conf_load(&nc, path, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return -1;
	}
	conf_free(conf);
	*conf = nc;
	return 0;
}

struct daemon_loop_sig {
	struct evloop	*loop;
	void		(*reload)(void);
};

static void
daemon_loop_signal(int fd, int events, void *arg)
{
	struct daemon_loop_sig	*ls = arg;
	struct signalfd_siginfo	 si;
	ssize_t			 n;

	(void)events;
	while ((n = read(fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("terminating on signal %u", si.ssi_signo);
			evloop_stop(ls->loop);
			break;
		case SIGHUP:
			if (ls->reload != NULL)
				ls->reload();
			break;
		}
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		fatal("read signalfd");
}

int
daemon_loop_signals(struct evloop *loop, int sigfd, void (*reload)(void))
{
	/* One per process, for its life. */
	static struct daemon_loop_sig ls;

	ls.loop = loop;
	ls.reload = reload;
	return evloop_io(loop, sigfd, EV_READ, daemon_loop_signal, &ls);
}

int
daemon_conf_snapshot(const struct conf *c)
{
	FILE	*fp;
	int	 fd, wfd;

	if ((fd = memfd_create("postern.conf", MFD_CLOEXEC)) == -1) {
		log_warn("configuration snapshot");
		return -1;
	}
	if ((wfd = dup(fd)) == -1 || (fp = fdopen(wfd, "w")) == NULL) {
		log_warn("configuration snapshot");
		if (wfd != -1)
			close(wfd);
		close(fd);
		return -1;
	}
	conf_dump(c, fp);
	if (fclose(fp) == EOF) {
		log_warn("configuration snapshot");
		close(fd);
		return -1;
	}
	return fd;
}
