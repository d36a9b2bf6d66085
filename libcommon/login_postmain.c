/*
 * login_postmain.c - a post-login process's start-up ("-m
 * CLIENT:LEFTFD:USER:IP"): the state and pipelined input the parent
 * passed on LEFTFD, then the protocol's post_run, which confines itself
 * with login_post_confine before it reads a byte from the client.
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
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "log.h"
#include "login.h"
#include "priv.h"

static int
spec_fd(const char *s)
{
	char	*end;
	long	 v = strtol(s, &end, 10);

	if (end == s || *end != '\0' || v < 3 || v > 65535)
		fatalx("bad -m argument");
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

void
login_post_main(const struct login_service *svc, struct login_env *env,
    const struct conf *conf, char *spec)
{
	static unsigned char	 left[NETIO_INBUF + 1];
	static unsigned char	 state[LOGIN_STATE_MAX];
	static char		 copy[ADDR_MAX + 128];
	char			*f[4], *p = copy;
	size_t			 leftlen;
	uint32_t		 statelen;
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
	env->conf = conf;
	if (priv_lookup(conf->mail_user, &env->mail_u) == -1)
		fatal("mail_user %s", conf->mail_user);
	tzset();
	svc->post_run(env, client, f[2], f[3], statelen > 0 ? state : NULL,
	    statelen, leftlen > 0 ? left : NULL, leftlen);
	fatalx("%s: the post-login protocol returned", svc->ident);
}

int
login_post_daemon_main(const struct login_service *svc, int argc,
    char *argv[])
{
	const char *const	 names[] = { NULL };
	static struct conf	 conf;
	static struct login_env	 env;
	struct daemon_args	 args;
	char			*post_spec;

	/* Named as the service's other processes are, not "imapd-mail". */
	(void)prctl(PR_SET_NAME, svc->ident, 0, 0, 0);
	if ((post_spec = daemon_take_arg(&argc, argv, "-m")) == NULL)
		fatalx("%s: the mail process needs -m", svc->ident);
	daemon_init(svc->ident, names, argc, argv, &args, &conf);
	login_post_main(svc, &env, &conf, post_spec);
}
