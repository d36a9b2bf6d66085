/*
 * login_postmain.c - a post-login process's start-up ("-m
 * CLIENT:LEFTFD:USER:IP"): the state and pipelined input the parent
 * passed on LEFTFD, then the protocol's post_run, which confines itself
 * with login_post_confine before it reads a byte from the client.
 *
 * Most are not exec'd but forked by a template ("-T CTL", the same
 * binary: libcommon/forkserver.h), which loaded the configuration and
 * the libraries once: an idle session then shares every page it does
 * not write with the template's other sessions (the libraries'
 * relocations, the configuration), where an exec'd one had about 110
 * KiB of them to itself, and a login costs a fork, not an exec. The
 * request carries the client and the pipe's descriptors and USER and IP;
 * the forked session rewrites its command line to the -m one an exec'd
 * session has (proctitle.h).
 *
 * Its own file, and login_post_daemon_main its own entry, so that a
 * protocol's mail binary (imapd-mail, pop3d-mail) links nothing of the
 * login processes: no OpenSSL, whose relocated tables (about 460 KiB of
 * private pages) every idle logged-in session would otherwise carry.
 * The parent execs that binary when it is installed beside its own
 * (login_parent.c), else its own with -m, which gets here too.
 *
 * Runs as root until post_run drops; trusts the parent for the -m
 * argument, parsed strictly anyway. "postern who" reads that argument
 * from /proc (cli/cmd_who.c): its shape is an interface.
 */
#include <sys/prctl.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "forkserver.h"
#include "log.h"
#include "login.h"
#include "priv.h"
#include "proctitle.h"

static int
spec_fd(const char *s, const char *what)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < 3 || v > 65535)
		fatalx("bad %s argument", what);
	return (int)v;
}

/* Exactly n bytes, or fewer at the pipe's end. */
static size_t
read_full(int fd, unsigned char *p, size_t n)
{
	size_t	got = 0;
	ssize_t	r;

	while (got < n && ((r = read(fd, p + got, n - got)) > 0 ||
	    (r == -1 && errno == EINTR)))
		if (r > 0)
			got += (size_t)r;
	return got;
}

/* The state and the client's bytes from leftfd, then the protocol. */
static void __attribute__((__noreturn__))
post_start(const struct login_service *svc, const struct login_env *env,
    int client, int leftfd, const char *user, const char *ip)
{
	static unsigned char	 left[NETIO_INBUF + 1];
	static unsigned char	 state[LOGIN_STATE_MAX];
	size_t			 leftlen;
	uint32_t		 statelen;

	/* The state's length, the state, then the client's bytes. */
	if (read_full(leftfd, (unsigned char *)&statelen,
	    sizeof(statelen)) != sizeof(statelen) ||
	    statelen > sizeof(state) ||
	    read_full(leftfd, state, statelen) != statelen)
		fatalx("bad state from the parent");
	/* One byte more than the parent may send: more is a broken parent. */
	if ((leftlen = read_full(leftfd, left, sizeof(left))) > NETIO_INBUF)
		fatalx("too much input from the parent");
	close(leftfd);
	svc->post_run(env, client, user, ip, statelen > 0 ? state : NULL,
	    statelen, leftlen > 0 ? left : NULL, leftlen);
	fatalx("%s: the post-login protocol returned", svc->ident);
}

/* What every session needs, loaded once per process (or template). */
static void
post_load(struct login_env *env, const struct conf *conf)
{
	env->conf = conf;
	if (priv_lookup(conf->mail_user, &env->mail_u) == -1)
		fatal("mail_user %s", conf->mail_user);
	tzset();
}

void
login_post_main(const struct login_service *svc, struct login_env *env,
    const struct conf *conf, char *spec)
{
	static char	 copy[ADDR_MAX + 128];
	char		*f[4], *p = copy;
	int		 i;

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
	post_load(env, conf);
	post_start(svc, env, spec_fd(f[0], "-m"), spec_fd(f[1], "-m"), f[2],
	    f[3]);
}

/* ---- the template ---- */

struct post_template {
	const struct login_service	*svc;
	struct login_env		*env;
	/* Copied: the command line they were read from is rewritten. */
	char				 confpath[PATH_MAX];
	int				 has_conf;
};

/*
 * The command line an exec'd session would have (login_parent.c's
 * exec_post, less the -C that only an exec needs), so that "postern
 * who" and ps see one shape.
 */
static void
post_title(const struct post_template *t, const char *flag, const char *spec)
{
	const char	*args[6];
	size_t		 n = 0;

	args[n++] = t->svc->ident;
	if (t->has_conf) {
		args[n++] = "-c";
		args[n++] = t->confpath;
	}
	if (log_dest() == LOG_DEST_STDERR)
		args[n++] = "-f";
	args[n++] = flag;
	args[n++] = spec;
	if (proctitle_set(args, n) == -1)
		log_warnx("no room for the command line %s %s", args[n - 2],
		    args[n - 1]);
}

/*
 * A session: the request's descriptors (the client, the pipe) and
 * "USER\0IP\0", checked as strictly as a -m argument.
 */
static void
template_child(void *arg, const int *fds, size_t nfds, const void *payload,
    size_t len)
{
	static char		 user[ADDR_MAX + 1], ip[64], spec[ADDR_MAX + 128];
	struct post_template	*t = arg;
	const char		*p = payload, *nul;

	/* Both strings inside len: the IP's NUL is the payload's last byte. */
	if (nfds != 2 || len < 3 || p[len - 1] != '\0' ||
	    (nul = memchr(p, '\0', len)) == NULL || nul == p ||
	    nul >= p + len - 2 || (size_t)(nul - p) >= sizeof(user) ||
	    memchr(nul + 1, '\0', len - (size_t)(nul - p) - 1) !=
	    p + len - 1 || strlcpy(ip, nul + 1, sizeof(ip)) >= sizeof(ip))
		fatalx("session template: a bad request");
	memcpy(user, p, (size_t)(nul - p) + 1);
	snprintf(spec, sizeof(spec), "%d:%d:%s:%s", fds[0], fds[1], user, ip);
	post_title(t, "-m", spec);
	post_start(t->svc, t->env, fds[0], fds[1], user, ip);
}

void
login_post_template(const struct login_service *svc, struct login_env *env,
    const struct conf *conf, const char *confpath, const char *spec)
{
	static struct post_template	 t;
	char				 own[24];
	char				*end;
	long				 ctl;

	/* CTL, then the blanks that make the room for the sessions' titles. */
	ctl = strtol(spec, &end, 10);
	if (end == spec || ctl < 3 || ctl > 65535 ||
	    end[strspn(end, " ")] != '\0')
		fatalx("bad -T argument");
	t.svc = svc;
	t.env = env;
	if (confpath != NULL) {
		if (strlcpy(t.confpath, confpath, sizeof(t.confpath)) >=
		    sizeof(t.confpath))
			fatalx("config path too long");
		t.has_conf = 1;
	}
	post_load(env, conf);
	/* Its own line without the blanks. */
	snprintf(own, sizeof(own), "%ld", ctl);
	post_title(&t, "-T", own);
	/*
	 * The heap consolidated here, once: a session's first malloc would
	 * otherwise merge the free lists, writing (so copying) the
	 * template's heap pages.
	 */
	(void)malloc_trim(0);
	forkserver_serve((int)ctl, template_child, &t);
}

int
login_post_daemon_main(const struct login_service *svc, int argc,
    char *argv[])
{
	const char *const	 names[] = { NULL };
	static struct conf	 conf;
	static struct login_env	 env;
	struct daemon_args	 args;
	char			*post_spec, *tmpl_spec;

	proctitle_init(argc, argv);
	/* Named as the service's other processes are, not "imapd-mail". */
	(void)prctl(PR_SET_NAME, svc->ident, 0, 0, 0);
	post_spec = daemon_take_arg(&argc, argv, "-m");
	tmpl_spec = daemon_take_arg(&argc, argv, "-T");
	if (post_spec == NULL && tmpl_spec == NULL)
		fatalx("%s: the mail process needs -m or -T", svc->ident);
	daemon_init(svc->ident, names, argc, argv, &args, &conf);
	if (tmpl_spec != NULL)
		login_post_template(svc, &env, &conf, args.confpath,
		    tmpl_spec);
	login_post_main(svc, &env, &conf, post_spec);
}
