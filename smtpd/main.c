/*
 * main.c - smtpd start-up: arguments, configuration, privilege drop,
 * then the listener loop.
 *
 *	smtpd [-c CONFIG] [-f] -s smtp:FD [-s smtp:FD ...]
 *
 * Started by master, as root in production. Everything that needs root
 * or the full file system (the config, the user database, the time zone,
 * the syslog socket) is done here, before priv_drop; after it we are the
 * smtpd user, chrooted (smtpd_chroot) or at least chdir'ed into
 * <spool>/smtpd, where queue.sock and resolver.sock are found by their
 * relative names. Trusts master for the listening descriptors and the
 * config path; checks that each descriptor really is a listening socket.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "conf.h"
#include "fsutil.h"
#include "log.h"
#include "priv.h"
#include "smtpd.h"

#define SMTPD_MAX_LISTENERS	64

static noreturn void
usage(void)
{
	fprintf(stderr, "usage: smtpd [-c config] [-f] -s smtp:fd "
	    "[-s smtp:fd ...]\n");
	exit(2);
}

/* "name:fd"; -1 on bad syntax. */
static int
parse_sock_arg(const char *arg, char *name, size_t namesz, int *fd)
{
	const char	*colon = strrchr(arg, ':');
	char		*end;
	long		 v;
	size_t		 n;

	if (colon == NULL || colon == arg)
		return -1;
	n = (size_t)(colon - arg);
	if (n >= namesz)
		return -1;
	memcpy(name, arg, n);
	name[n] = '\0';
	errno = 0;
	v = strtol(colon + 1, &end, 10);
	if (errno != 0 || end == colon + 1 || *end != '\0' || v < 0 ||
	    v > INT_MAX)
		return -1;
	*fd = (int)v;
	return 0;
}

static void
check_listener(int fd)
{
	int		on = 0;
	socklen_t	len = sizeof(on);

	if (fcntl(fd, F_GETFD) == -1)
		fatal("smtp listener fd %d", fd);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == -1)
		fatal("smtp listener fd %d", fd);
	if (!on)
		fatalx("smtp listener fd %d is not listening", fd);
}

int
main(int argc, char *argv[])
{
	static struct conf	 conf;
	struct smtp_env		 env;
	struct cidr		*nets = NULL;
	struct priv_user	 u;
	int			 fds[SMTPD_MAX_LISTENERS];
	size_t			 nfds = 0, i;
	const char		*confpath = NULL;
	char			 err[512], name[32], dir[CONF_PATH_MAX];
	int			 ch, fg = 0, fd, was_root;

	while ((ch = getopt(argc, argv, "c:fs:")) != -1) {
		switch (ch) {
		case 'c':
			confpath = optarg;
			break;
		case 'f':
			fg = 1;
			break;
		case 's':
			break;	/* after the log is set up */
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	log_init("smtpd", fg ? LOG_DEST_STDERR : LOG_DEST_SYSLOG);

	optind = 1;
	while ((ch = getopt(argc, argv, "c:fs:")) != -1) {
		if (ch != 's')
			continue;
		if (parse_sock_arg(optarg, name, sizeof(name), &fd) == -1)
			fatalx("bad -s argument: %s", optarg);
		if (strcmp(name, "smtp") != 0) {
			log_warnx("ignoring socket %s: smtpd knows only \"smtp\"",
			    optarg);
			continue;
		}
		if (nfds == SMTPD_MAX_LISTENERS)
			fatalx("more than %d smtp listeners",
			    SMTPD_MAX_LISTENERS);
		check_listener(fd);
		fds[nfds++] = fd;
	}
	if (nfds == 0)
		fatalx("no smtp listening socket given (-s smtp:FD)");

	if (conf_load(&conf, confpath, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (conf.mynetworks.n > 0 &&
	    (nets = calloc(conf.mynetworks.n, sizeof(*nets))) == NULL)
		fatal("calloc");
	for (i = 0; i < conf.mynetworks.n; i++)
		if (cidr_parse(conf.mynetworks.v[i], &nets[i]) == -1)
			fatalx("mynetworks: bad entry \"%s\"",
			    conf.mynetworks.v[i]);
	if (fs_path(dir, sizeof(dir), conf.spool_directory, "smtpd") == -1)
		fatalx("spool_directory too long");

	/* Loaded now: the chroot has no /etc/localtime. */
	tzset();
	if (priv_lookup(conf.smtpd_user, &u) == -1)
		fatal("smtpd_user %s", conf.smtpd_user);
	was_root = priv_is_root();
	if (was_root && !conf.smtpd_chroot) {
		/* priv_drop only changes directory when it chroots. */
		if (chdir(dir) == -1)
			fatal("chdir %s", dir);
		priv_drop(&u, NULL);
	} else
		priv_drop(&u, dir);
	if (!was_root)
		log_info("not started as root: running as %s in %s, no chroot",
		    u.name, dir);
	else
		log_info("running as %s %s %s", u.name,
		    conf.smtpd_chroot ? "chrooted in" : "in", dir);

	env.conf = &conf;
	env.mynetworks = nets;
	env.nmynetworks = conf.mynetworks.n;
	return smtp_server_run(&env, fds, nfds);
}
