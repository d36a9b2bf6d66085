/*
 * main.c - pop3d start-up: arguments, configuration, the empty
 * directory that login children are chrooted in, then the parent loop.
 *
 *	pop3d [-c CONFIG] [-f] -s pop3:FD [-s pop3:FD ...]
 *
 * Started by master as root, and stays root: the parent must chroot and
 * setuid the processes it forks for each client (see pop3_parent.c; the
 * parent itself never reads from a client). Trusts master for the
 * listening descriptors and the config path; checks that each
 * descriptor really is a listening socket.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "fsutil.h"
#include "log.h"
#include "pop3d.h"
#include "priv.h"
#include "proc.h"

#define POP3D_MAX_LISTENERS	DAEMON_MAX_SOCKETS

/*
 * <spool>/empty: root-owned, 0755, and empty, so a login child chrooted
 * there finds nothing to read and nowhere to write.
 */
static void
make_empty_dir(const char *dir)
{
	struct stat	 st;
	DIR		*d;
	struct dirent	*e;

	if (mkdir(dir, 0755) == -1 && errno != EEXIST)
		fatal("mkdir %s", dir);
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode))
		fatalx("%s is not a directory", dir);
	if (priv_is_root() && (st.st_uid != 0 || st.st_gid != 0) &&
	    chown(dir, 0, 0) == -1)
		fatal("chown %s", dir);
	if ((st.st_mode & 07777) != 0755 && chmod(dir, 0755) == -1)
		fatal("chmod %s", dir);
	if ((d = opendir(dir)) == NULL)
		fatal("opendir %s", dir);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			fatalx("%s must be empty (found \"%s\")", dir,
			    e->d_name);
	closedir(d);
}

/*
 * "-l CLIENT:PARENT:IP" makes this process a login process and
 * "-m CLIENT:LEFTFD:USER:IP" a mail process: the root parent forks and
 * execs them (see exec_login, exec_mail).
 */
static void __attribute__((__noreturn__))
login_main(struct pop3_env *env, const struct conf *conf, char *spec)
{
	char	*p1, *p2, *end;
	long	 client, parent;

	if ((p1 = strchr(spec, ':')) == NULL ||
	    (p2 = strchr(p1 + 1, ':')) == NULL)
		fatalx("bad -l argument");
	*p1 = *p2 = '\0';
	client = strtol(spec, &end, 10);
	if (*end != '\0' || client < 3)
		fatalx("bad -l argument");
	parent = strtol(p1 + 1, &end, 10);
	if (*end != '\0' || parent < 3)
		fatalx("bad -l argument");
	env->conf = conf;
	if (fs_path(env->empty_dir, sizeof(env->empty_dir),
	    conf->spool_directory, "empty") == -1)
		fatalx("spool_directory too long");
	if (priv_lookup(conf->login_user, &env->login_u) == -1)
		fatal("login_user %s", conf->login_user);
	tzset();
	/* Before a byte from the client: no mailbox, no root. */
	priv_drop(&env->login_u, env->empty_dir);
	proc_harden(PROC_NOFORK);
	pop3_login_run(env, (int)client, (int)parent, p2 + 1);
}

static int
spec_fd(const char *s)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < 3 || v > 65535)
		fatalx("bad -m argument");
	return (int)v;
}

static void __attribute__((__noreturn__))
mail_main(struct pop3_env *env, const struct conf *conf, char *spec)
{
	static unsigned char	 left[NETIO_INBUF];
	static char		 copy[ADDR_MAX + 128];
	char			*f[4], *p = copy;
	size_t			 leftlen = 0;
	ssize_t			 n;
	int			 i, client, leftfd;

	/*
	 * Split a copy: the command line stays as the parent wrote it,
	 * and "postern who" reads the session from it (/proc/PID/cmdline).
	 */
	if (strlcpy(copy, spec, sizeof(copy)) >= sizeof(copy))
		fatalx("bad -m argument");
	/* CLIENT:LEFTFD:USER:IP (the IP last: IPv6 has colons). */
	for (i = 0; i < 3; i++) {
		f[i] = p;
		if ((p = strchr(p, ':')) == NULL)
			fatalx("bad -m argument");
		*p++ = '\0';
	}
	f[3] = p;
	client = spec_fd(f[0]);
	leftfd = spec_fd(f[1]);
	while (leftlen < sizeof(left) &&
	    (n = read(leftfd, left + leftlen, sizeof(left) - leftlen)) > 0)
		leftlen += (size_t)n;
	close(leftfd);
	env->conf = conf;
	if (priv_lookup(conf->mail_user, &env->mail_u) == -1)
		fatal("mail_user %s", conf->mail_user);
	tzset();
	pop3_mail_run(env, client, f[2], f[3], leftlen > 0 ? left : NULL,
	    leftlen);
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "pop3", NULL };
	static struct conf	 conf;
	static struct pop3_env	 env;
	struct daemon_args	 args;
	int			 fds[POP3D_MAX_LISTENERS];
	size_t			 nfds;
	char			*login_spec, *mail_spec;

	login_spec = daemon_take_arg(&argc, argv, "-l");
	mail_spec = daemon_take_arg(&argc, argv, "-m");
	daemon_init("pop3d", names, argc, argv, &args, &conf);
	if (login_spec != NULL)
		login_main(&env, &conf, login_spec);
	if (mail_spec != NULL)
		mail_main(&env, &conf, mail_spec);
	if ((nfds = daemon_sockets(&args, "pop3", fds, POP3D_MAX_LISTENERS)) ==
	    0)
		fatalx("no pop3 listening socket given (-s pop3:FD)");
	if (fs_path(env.empty_dir, sizeof(env.empty_dir),
	    conf.spool_directory, "empty") == -1 ||
	    fs_path(env.private_dir, sizeof(env.private_dir),
	    conf.spool_directory, "private") == -1)
		fatalx("spool_directory too long");
	make_empty_dir(env.empty_dir);
	/* Loaded now: the chroots have no /etc/localtime. */
	tzset();
	if (!priv_is_root())
		log_info("not started as root: sessions run as this user, "
		    "without chroot");
	return pop3_parent_run(&env, &conf, args.confpath, fds, nfds);
}
