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
#include "daemon.h"
#include "log.h"
#include "priv.h"
#include "smtpd.h"

#define SMTPD_MAX_LISTENERS	64

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "smtp", NULL };
	static struct conf	 conf;
	struct daemon_args	 args;
	struct smtp_env		 env;
	struct cidr		*nets = NULL;
	struct priv_user	 u;
	int			 fds[SMTPD_MAX_LISTENERS];
	size_t			 nfds, i;
	char			 dir[CONF_PATH_MAX];
	int			 was_root, rc;

	daemon_init("smtpd", names, argc, argv, &args, &conf);
	if ((nfds = daemon_sockets(&args, "smtp", fds, SMTPD_MAX_LISTENERS)) == 0)
		fatalx("no smtp listening socket given (-s smtp:FD)");
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
	rc = smtp_server_run(&env, fds, nfds);
	free(nets);
	return rc;
}
