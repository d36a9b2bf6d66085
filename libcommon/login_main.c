/*
 * login_main.c - a login daemon's start-up: arguments, configuration,
 * then which of its three processes this one is. Without "-l"/"-m" it
 * is the parent (it makes the empty directory login processes are
 * chrooted in, then runs login_parent.c's loop); with "-l
 * CLIENT:PARENT:KIND:IP" a login process (KIND: LOGIN_KIND_* bits, from
 * an implicit-TLS listener, from plaintext_auth_networks), which loads
 * the TLS contexts and connects to keyd while it is root, then confines
 * itself before the first byte from the client (login_proc.c); with "-m
 * CLIENT:LEFTFD:USER:IP" a post-login process, which reads the state and
 * pipelined input the parent passed and runs the protocol's post_run
 * (which confines itself with login_post_confine).
 *
 * Started by master as root (the parent), or by the parent (the other
 * two, still root until they drop). Trusts master for the listening
 * descriptors and the config path, and checks that each descriptor
 * really is a listening socket; trusts the parent for the -l and -m
 * arguments, which it parses strictly anyway. "postern who" reads the
 * -m argument from /proc (cli/cmd_who.c): its shape is an interface.
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
#include "login.h"
#include "priv.h"
#include "proc.h"
#include "proctitle.h"
#include "tls.h"

/*
 * <spool>/empty: root-owned, 0755, and empty, so a login process chrooted
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
 * The TLS contexts and the connection to keyd, while this process can
 * still read the certificates and reach key.sock (root). A failure is
 * logged here, once: STLS answers that TLS is unavailable, an
 * implicit-TLS client is dropped.
 */
static void
login_tls(struct login_env *env, const struct conf *conf)
{
	static char	err[512];
	char		tickets[CONF_PATH_MAX + 64];
	const char	*tp = tickets;

	if (!tls_server_configured(conf))
		return;
	if (fs_path(tickets, sizeof(tickets), conf->spool_directory,
	    TLS_TICKET_FILE) == -1)
		tp = NULL;
	if ((env->tls = tls_server_new(conf, tp, err, sizeof(err))) == NULL) {
		log_warnx("TLS is not available: %s", err);
		env->tls_error = err;
	}
}

/*
 * "-l CLIENT:PARENT:KIND:IP" makes this process a login process and
 * "-m CLIENT:LEFTFD:USER:IP" a post-login process: the root parent forks
 * and execs them (login_parent.c: exec_login, exec_post).
 */
static void __attribute__((__noreturn__))
login_main(const struct login_service *svc, struct login_env *env,
    const struct conf *conf, char *spec)
{
	char	*p1, *p2, *end;
	long	 client, parent;
	int	 kind;

	/* CLIENT:PARENT:KIND:IP (the IP last: IPv6 has colons). */
	if ((p1 = strchr(spec, ':')) == NULL ||
	    (p2 = strchr(p1 + 1, ':')) == NULL ||
	    p2[1] < '0' || p2[1] > '0' + LOGIN_KIND_MAX || p2[2] != ':')
		fatalx("bad -l argument");
	*p1 = *p2 = '\0';
	client = strtol(spec, &end, 10);
	if (*end != '\0' || client < 3)
		fatalx("bad -l argument");
	parent = strtol(p1 + 1, &end, 10);
	if (*end != '\0' || parent < 3)
		fatalx("bad -l argument");
	kind = p2[1] - '0';
	env->conf = conf;
	if (fs_path(env->empty_dir, sizeof(env->empty_dir),
	    conf->spool_directory, "empty") == -1)
		fatalx("spool_directory too long");
	if (priv_lookup(conf->login_user, &env->login_u) == -1)
		fatal("login_user %s", conf->login_user);
	tzset();
	login_tls(env, conf);
	/* Before a byte from the client: no mailbox, no root. */
	priv_drop(&env->login_u, env->empty_dir);
	proc_harden(PROC_NOFORK);
	login_proc_run(svc, env, (int)client, (int)parent, kind, p2 + 3);
}

int
login_daemon_main(const struct login_service *svc, int argc, char *argv[])
{
	const char *const	 names[] = { svc->socket_name,
				    svc->tls_socket_name, NULL };
	static struct conf	 conf;
	static struct login_env	 env;
	struct daemon_args	 args;
	static int		 fds[DAEMON_MAX_SOCKETS];
	static int		 implicit[DAEMON_MAX_SOCKETS];
	size_t			 nfds, n, i;
	char			*login_spec, *post_spec, *tmpl_spec;

	proctitle_init(argc, argv);
	login_spec = daemon_take_arg(&argc, argv, "-l");
	post_spec = daemon_take_arg(&argc, argv, "-m");
	tmpl_spec = daemon_take_arg(&argc, argv, "-T");
	daemon_init(svc->ident, names, argc, argv, &args, &conf);
	if (login_spec != NULL)
		login_main(svc, &env, &conf, login_spec);
	if (post_spec != NULL)
		login_post_main(svc, &env, &conf, post_spec);
	if (tmpl_spec != NULL)
		login_post_template(svc, &env, &conf, args.confpath,
		    tmpl_spec);
	nfds = daemon_sockets(&args, svc->socket_name, fds,
	    DAEMON_MAX_SOCKETS);
	if (svc->tls_socket_name != NULL) {
		n = daemon_sockets(&args, svc->tls_socket_name, fds + nfds,
		    DAEMON_MAX_SOCKETS - nfds);
		for (i = 0; i < n; i++)
			implicit[nfds + i] = 1;
		nfds += n;
	}
	if (nfds == 0)
		fatalx("no %s listening socket given (-s %s:FD)",
		    svc->socket_name, svc->socket_name);
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
	return login_parent_run(svc, &env, &conf, args.confpath, fds,
	    implicit, nfds);
}
