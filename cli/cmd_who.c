/*
 * cmd_who.c - postern who: the sessions logged in now (doveadm who):
 * user, protocol, client address, since when, process id.
 *
 * Runs as root (or the development user), reading /proc. A logged-in
 * POP3 or IMAP session is exactly one mail process, exec'd by pop3d's
 * or imapd's root parent as "pop3d -c CONFIG -m CLIENT:LEFT:USER:IP"
 * (libcommon/login_parent.c): so the kernel's process table is the session table. Nothing has to be
 * recorded or cleaned up -- a table kept by pop3d's parent would go
 * stale when the parent restarts, since its mail processes outlive it
 * -- and pop3d costs nothing more per login. Only this suite's sessions
 * are listed (the process's -c names our config file). "since" is the
 * process's start, which is the login. What the process's memory says
 * is not trusted alone: in a root suite each mail process is chrooted
 * into its user's directory, and that (/proc/PID/root, kept by the
 * kernel) names the user; a process whose command line disagrees is
 * shown with "?". Every field is sanitised before it is printed.
 */
#include <sys/stat.h>

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fsutil.h"
#include "text.h"

#define WHO_CMDLINE_MAX	4096

struct who_session {
	long		 pid;
	const char	*proto;		/* "pop3", "imap" */
	char	user[ADDR_MAX + 1];
	char	ip[64];
	time_t	since;
};

/* Reads a small /proc file; the length, or -1. */
static ssize_t
who_read(const char *path, char *buf, size_t bufsz)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = fs_pread_full(fd, buf, bufsz - 1, 0);
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* The boot time (btime in /proc/stat), for process start times. */
static time_t
who_boot_time(void)
{
	static char	buf[16384];
	char		*p;

	if (who_read("/proc/stat", buf, sizeof(buf)) <= 0 ||
	    (p = strstr(buf, "\nbtime ")) == NULL)
		return 0;
	return (time_t)strtoll(p + 7, NULL, 10);
}

/* When pid started, from field 22 of /proc/PID/stat. */
static time_t
who_start_time(long pid, time_t boot)
{
	char		 path[64], buf[1024], *p;
	long		 hz = sysconf(_SC_CLK_TCK);
	unsigned long long ticks;
	int		 field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	/* The name in parentheses may hold spaces: count after its end. */
	if (who_read(path, buf, sizeof(buf)) <= 0 || hz <= 0 ||
	    (p = strrchr(buf, ')')) == NULL)
		return 0;
	for (field = 2; field < 22 && p != NULL; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL)
		return 0;
	ticks = strtoull(p + 1, NULL, 10);
	return boot + (time_t)(ticks / (unsigned long long)hz);
}

/*
 * In a chroot below mail_store: the user the kernel confined pid to
 * ("local@domain"), 1; 0 when not chrooted (a development suite).
 */
static int
who_chroot_user(struct cli *c, long pid, char *out, size_t outsz)
{
	char	path[64], root[PATH_MAX], *dom, *loc;
	size_t	sl = strlen(c->conf.mail_store);
	ssize_t	n;

	snprintf(path, sizeof(path), "/proc/%ld/root", pid);
	if ((n = readlink(path, root, sizeof(root) - 1)) <= 0)
		return 0;
	root[n] = '\0';
	if (strcmp(root, "/") == 0 || strncmp(root, c->conf.mail_store, sl) !=
	    0 || root[sl] != '/')
		return 0;
	dom = root + sl + 1;
	if ((loc = strchr(dom, '/')) == NULL)
		return 0;
	*loc++ = '\0';
	snprintf(out, outsz, "%s@%s", loc, dom);
	return 1;
}

/* 1 and s filled if pid is one of our suite's POP3 mail processes. */
static int
who_session(struct cli *c, const char *conf, long pid,
    struct who_session *s)
{
	static char	 buf[WHO_CMDLINE_MAX];
	char		 path[64], kuser[ADDR_MAX + 16], *argv[8], *p, *spec;
	char		*user, *ip;
	ssize_t		 n;
	int		 argc = 0, i, ours = 0;

	snprintf(path, sizeof(path), "/proc/%ld/cmdline", pid);
	if ((n = who_read(path, buf, sizeof(buf))) <= 0)
		return 0;
	for (p = buf; p < buf + n && argc < 8; p += strlen(p) + 1)
		argv[argc++] = p;
	if (argc < 3 || (strcmp(argv[0], "pop3d") != 0 &&
	    strcmp(argv[0], "imapd") != 0))
		return 0;
	spec = NULL;
	for (i = 1; i + 1 < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && conf != NULL &&
		    strcmp(argv[i + 1], conf) == 0)
			ours = 1;
		if (strcmp(argv[i], "-m") == 0)
			spec = argv[i + 1];
	}
	if (conf == NULL)
		ours = 1;
	for (i = 1; conf == NULL && i < argc; i++)
		if (strcmp(argv[i], "-c") == 0)
			ours = 0;	/* another suite's, with a config */
	if (!ours || spec == NULL)
		return 0;
	/* CLIENT:LEFT:USER:IP; an IPv6 address holds colons of its own. */
	if ((p = strchr(spec, ':')) == NULL ||
	    (user = strchr(p + 1, ':')) == NULL ||
	    (ip = strchr(user + 1, ':')) == NULL)
		return 0;
	user++;
	*ip++ = '\0';
	memset(s, 0, sizeof(*s));
	s->pid = pid;
	s->proto = argv[0][0] == 'i' ? "imap" : "pop3";
	(void)text_sanitize(s->user, sizeof(s->user), user, '?', 0);
	(void)text_sanitize(s->ip, sizeof(s->ip), ip, '?', 0);
	if (who_chroot_user(c, pid, kuser, sizeof(kuser)) &&
	    strcasecmp(kuser, user) != 0)
		snprintf(s->user, sizeof(s->user), "?");
	return 1;
}

static int
who_cmp(const void *a, const void *b)
{
	const struct who_session *x = a, *y = b;
	int r = strcmp(x->user, y->user);

	return r != 0 ? r : (x->since < y->since ? -1 : x->since > y->since);
}

int
cli_cmd_who(struct cli *c, int argc, char **argv)
{
	struct who_session	*v = NULL, *nv, s;
	struct dirent		*de;
	struct tm		 tm;
	char			 conf[PATH_MAX], when[32];
	const char		*confp = NULL;
	size_t			 n = 0, i;
	time_t			 boot = who_boot_time();
	DIR			*d;

	(void)argv;
	if (argc != 1) {
		cli_err(c, "usage: postern who");
		return EX_USAGE;
	}
	/* master makes the path absolute for the daemons: compare that. */
	if (c->confpath != NULL) {
		if (realpath(c->confpath, conf) == NULL) {
			cli_err(c, "%s: %s", c->confpath, strerror(errno));
			return EX_CONFIG;
		}
		confp = conf;
	}
	if ((d = opendir("/proc")) == NULL) {
		cli_err(c, "cannot read /proc: %s", strerror(errno));
		return EX_OSERR;
	}
	while ((de = readdir(d)) != NULL) {
		char	*end;
		long	 pid = strtol(de->d_name, &end, 10);

		if (!isdigit((unsigned char)de->d_name[0]) || *end != '\0' ||
		    !who_session(c, confp, pid, &s))
			continue;
		s.since = who_start_time(pid, boot);
		if ((nv = reallocarray(v, n + 1, sizeof(*v))) == NULL) {
			cli_err(c, "out of memory");
			free(v);
			closedir(d);
			return EX_OSERR;
		}
		v = nv;
		v[n++] = s;
	}
	closedir(d);
	if (n > 0)
		qsort(v, n, sizeof(*v), who_cmp);
	printf("%-32s %-6s %-20s %-19s %s\n", "USER", "PROTO", "CLIENT",
	    "SINCE", "PID");
	for (i = 0; i < n; i++) {
		time_t t = v[i].since;

		if (t == 0 || localtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm) == 0)
			strlcpy(when, "?", sizeof(when));
		printf("%-32s %-6s %-20s %-19s %ld\n", v[i].user, v[i].proto,
		    v[i].ip, when, v[i].pid);
	}
	free(v);
	return 0;
}
