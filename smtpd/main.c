/*
 * main.c - smtpd start-up: the listener, the session template (-T), or
 * one exec'd session process (-S).
 *
 *	smtpd [-c CONFIG] [-f] -s smtp:FD [-s smtps:FD] [-s submission:FD] ...
 *								the listener
 *	smtpd [-c CONFIG] [-f] -T CTL				the session template
 *	smtpd [-c CONFIG] [-f] -S CLIENT:CTL[:KIND[:AUTH]]	a session
 *
 * Started by master as root. The listener stays root and unchrooted, as
 * pop3d's parent does, because it starts every session process: it
 * never reads a byte from a client (smtp_server.c). Sessions are forked
 * by the session template, an exec of this binary that loaded
 * postern.conf, the time zone, the TLS contexts and the ticket keys
 * (libcommon/tls.c) while it could read them, and is replaced after a
 * bounded number of sessions, or at once when one of them crashes
 * (libcommon/forkserver.h: what sharing its layout gives up and why that
 * bound holds). When no template is ready, the listener execs a session
 * with -S, which loads the same itself. Either way the session then
 * drops for good to smtpd_user, chrooted (smtpd_chroot) or at least
 * chdir'ed into <spool>/smtpd, where queue.sock and resolver.sock are
 * found by their relative names, before it reads from its client.
 * Trusts master for the listening descriptors
 * and the config path, and the listener for the session's descriptors.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cidr.h"
#include "conf.h"
#include "forkserver.h"
#include "fsutil.h"
#include "daemon.h"
#include "log.h"
#include "priv.h"
#include "proc.h"
#include "smtpd.h"
#include "tls.h"

#define SMTPD_MAX_LISTENERS	64

static int
spec_fd(const char *s, const char **end, int allow_none)
{
	char	*e;
	long	 v;

	errno = 0;
	v = strtol(s, &e, 10);
	if (e == s || errno != 0 ||
	    !((v >= 3 && v <= INT_MAX) || (allow_none && v == -1)))
		fatalx("bad -S argument");
	*end = e;
	return (int)v;
}

/*
 * The TLS contexts, while the files can still be read. A failure is
 * logged here, once, and leaves env->tls NULL: STARTTLS answers 454,
 * an implicit-TLS client is dropped.
 */
static void
session_tls(struct smtp_env *env)
{
	static char	err[512];
	char		tickets[CONF_PATH_MAX + 64];
	const char	*tp = tickets;

	if (!tls_server_configured(env->conf))
		return;
	if (fs_path(tickets, sizeof(tickets), env->conf->spool_directory,
	    TLS_TICKET_FILE) == -1)
		tp = NULL;
	if ((env->tls = tls_server_new(env->conf, tp, err, sizeof(err))) ==
	    NULL) {
		log_warnx("TLS is not available: %s", err);
		env->tls_error = err;
	}
}

/*
 * The session's own start, in an exec'd session process or a template's
 * child: drops to smtpd_user in dir for good and serves client.
 */
static void __attribute__((__noreturn__))
session_run(struct smtp_env *env, const struct priv_user *u,
    const char *dir, int client, int ctl, int kind, int authfd)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sslen = sizeof(ss);

	if (getpeername(client, (struct sockaddr *)&ss, &sslen) == -1) {
		/* Gone before we started: nothing to serve. */
		log_debug("getpeername: %s", strerror(errno));
		_exit(0);
	}
	/* A vanished client is an error return, never a death. */
	signal(SIGPIPE, SIG_IGN);
	if (priv_is_root() && !env->conf->smtpd_chroot) {
		/* priv_drop only changes directory when it chroots. */
		if (chdir(dir) == -1)
			fatal("chdir %s", dir);
		priv_drop(u, NULL);
	} else
		priv_drop(u, dir);
	proc_harden(PROC_NOFORK);
	smtp_worker_run(env, client, (struct sockaddr *)&ss, sslen, ctl,
	    (enum smtp_listener)kind, authfd);
}

/*
 * "-S CLIENT:CTL[:KIND[:AUTH]]": one session process (CTL -1: no reuse;
 * AUTH: the listener's bound connection to authd, -1 for none).
 */
static void __attribute__((__noreturn__))
session_main(struct smtp_env *env, const char *spec, const char *dir)
{
	struct priv_user	 u;
	const char		*p;
	int			 client, ctl, kind = SMTP_LISTEN_MX;
	int			 authfd = -1;

	client = spec_fd(spec, &p, 0);
	if (*p != ':')
		fatalx("bad -S argument");
	ctl = spec_fd(p + 1, &p, 1);
	if (*p == ':') {
		if (p[1] < '0' || p[1] > '0' + SMTP_LISTEN_SMTPS)
			fatalx("bad -S argument");
		kind = p[1] - '0';
		p += 2;
		if (*p == ':')
			authfd = spec_fd(p + 1, &p, 1);
	}
	if (*p != '\0' || (authfd != -1 && (authfd == client ||
	    authfd == ctl || authfd == env->conffd)))
		fatalx("bad -S argument");
	if (priv_lookup(env->conf->smtpd_user, &u) == -1)
		fatal("smtpd_user %s", env->conf->smtpd_user);
	session_tls(env);
	session_run(env, &u, dir, client, ctl, kind, authfd);
}

/* What a template's child needs besides the descriptors. */
struct template_arg {
	struct smtp_env		*env;
	struct priv_user	 u;
	const char		*dir;
};

/* In a child of the template: the request's session (smtp_server.c). */
static void
template_child(void *arg, const int *fds, size_t nfds, const void *payload,
    size_t len)
{
	struct template_arg	*ta = arg;
	struct smtp_spawn	 sp;
	size_t			 i = 1;
	int			 ctl = -1, authfd = -1;

	if (len != sizeof(sp) || nfds < 1)
		fatalx("session template: a bad request");
	memcpy(&sp, payload, sizeof(sp));
	if (sp.kind < SMTP_LISTEN_MX || sp.kind > SMTP_LISTEN_SMTPS ||
	    nfds != (size_t)(1 + (sp.has_ctl != 0) + (sp.has_auth != 0)))
		fatalx("session template: a bad request");
	if (sp.has_ctl)
		ctl = fds[i++];
	if (sp.has_auth)
		authfd = fds[i++];
	if (tls_server_after_fork(ta->env->tls, ta->env->conf) == -1) {
		/* Its handshakes could not sign: no TLS in this session. */
		tls_server_free(ta->env->tls);
		ta->env->tls = NULL;
		ta->env->tls_error = "cannot reach keyd";
	}
	session_run(ta->env, &ta->u, ta->dir, fds[0], ctl, sp.kind, authfd);
}

/*
 * "-T CTL": the session template (libcommon/forkserver.h): loads what a
 * session loads, then forks sessions on the listener's requests.
 */
static void __attribute__((__noreturn__))
template_main(struct smtp_env *env, const char *spec, const char *dir)
{
	static struct template_arg ta;
	const char		*p;
	int			 ctl;

	ctl = spec_fd(spec, &p, 0);
	if (*p != '\0')
		fatalx("bad -T argument");
	if (priv_lookup(env->conf->smtpd_user, &ta.u) == -1)
		fatal("smtpd_user %s", env->conf->smtpd_user);
	session_tls(env);
	if (tls_server_warm(env->tls) == -1)
		log_debug("session template: the warm-up handshake failed");
	/*
	 * The heap consolidated once here, not in every session: a child's
	 * first malloc would otherwise merge the free lists, writing (and so
	 * copying) pages all over the template's heap.
	 */
	(void)malloc_trim(0);
	ta.env = env;
	ta.dir = dir;
	forkserver_serve(ctl, template_child, &ta);
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "smtp", "submission", "smtps",
	    NULL };
	static const char *const kindname[] = { "smtp", "submission",
	    "smtps" };
	static struct conf	 conf;
	struct daemon_args	 args;
	struct smtp_env		 env;
	struct cidr		*nets = NULL;
	struct priv_user	 u;
	int			 fds[SMTPD_MAX_LISTENERS];
	enum smtp_listener	 kinds[SMTPD_MAX_LISTENERS];
	size_t			 nfds = 0, n, i, k;
	char			 dir[CONF_PATH_MAX];
	char			*session, *template;
	int			 rc;

	session = daemon_take_arg(&argc, argv, "-S");
	template = daemon_take_arg(&argc, argv, "-T");
	daemon_init("smtpd", names, argc, argv, &args, &conf);
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
	env.conf = &conf;
	env.confpath = args.confpath;
	env.conffd = -1;
	env.mynetworks = nets;
	env.nmynetworks = conf.mynetworks.n;
	env.tls = NULL;
	env.tls_error = NULL;
	if (session != NULL)
		session_main(&env, session, dir);
	if (template != NULL)
		template_main(&env, template, dir);

	for (k = 0; k <= SMTP_LISTEN_SMTPS; k++) {
		n = daemon_sockets(&args, kindname[k], fds + nfds,
		    SMTPD_MAX_LISTENERS - nfds);
		for (i = 0; i < n; i++)
			kinds[nfds + i] = (enum smtp_listener)k;
		nfds += n;
	}
	if (nfds == 0)
		fatalx("no smtp listening socket given (-s smtp:FD)");
	/* Sessions run on this configuration, whatever the file says now. */
	if ((env.conffd = daemon_conf_snapshot(&conf)) == -1)
		fatalx("cannot hand the configuration to sessions");
	/* Found now rather than by every session. */
	if (priv_lookup(conf.smtpd_user, &u) == -1)
		fatal("smtpd_user %s", conf.smtpd_user);
	if (!priv_is_root())
		log_info("not started as root: sessions run as %s in %s, no "
		    "chroot", u.name, dir);
	else
		log_info("sessions run as %s, %s %s", u.name,
		    conf.smtpd_chroot ? "chrooted in" : "in", dir);
	rc = smtp_server_run(&env, fds, kinds, nfds);
	free(nets);
	return rc;
}
