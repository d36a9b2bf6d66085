/*
 * cliutil.c - helpers shared by the postern command and sendmail
 * (cli_core): finding the config, reaching the spool's sockets, pid files,
 * making mail store directories.
 *
 * Runs as whoever invoked the command: root for postern's management
 * commands, any local user for sendmail. The config file is trusted;
 * texts that come back from the queue are not, and are sanitised before
 * they reach a terminal. Directories are created with *at() calls that
 * never follow a symbolic link, because the mail store is writable by
 * the mail user and root must not be steered out of it.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "sock.h"

const char *
cli_config_path(const char *explicit)
{
	const char *env;

	if (explicit != NULL)
		return explicit;
	if ((env = getenv("POSTERN_CONFIG")) != NULL && env[0] != '\0')
		return env;
	if (access(POSTERN_SYSCONFDIR_TEXT, F_OK) == 0)
		return POSTERN_SYSCONFDIR_TEXT;
	return NULL;
}

int
cli_connect(const char *dir, const char *name)
{
	return sock_unix_connect_in(dir, name);
}

int
cli_read_pid(const char *path, pid_t *pid)
{
	char	 buf[32], *end;
	ssize_t	 n;
	long	 v;
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0) {
		errno = EINVAL;
		return -1;
	}
	buf[n] = '\0';
	errno = 0;
	v = strtol(buf, &end, 10);
	while (*end == '\n' || *end == ' ')
		end++;
	if (errno != 0 || end == buf || *end != '\0' || v <= 1 ||
	    v > INT_MAX) {
		errno = EINVAL;
		return -1;
	}
	*pid = (pid_t)v;
	return 0;
}

int
cli_sibling_path(const char *name, char *out, size_t outsz)
{
	char	self[PATH_MAX];
	char	*slash;
	ssize_t	n;
	int	r;

	/*
	 * The kernel's name for our own file, links resolved: a sendmail
	 * reached through /usr/sbin/sendmail -> /usr/local/sbin/sendmail
	 * finds the postern installed beside it, and a build tree's
	 * commands find each other.
	 */
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		if ((slash = strrchr(self, '/')) != NULL) {
			*slash = '\0';
			r = snprintf(out, outsz, "%s/%s", self, name);
			if (r > 0 && (size_t)r < outsz && access(out, X_OK) == 0)
				return 0;
		}
	}
	/* No /proc (a chroot): where the install put it. */
	r = snprintf(out, outsz, "%s/%s", POSTERN_SBINDIR, name);
	return (r < 0 || (size_t)r >= outsz) ? -1 : 0;
}

/* Messages for the user: "prog: text", never the daemons' log format. */
static void
cli_vmsg(struct cli *c, const char *level, const char *fmt, va_list ap)
{
	fflush(stdout);
	fprintf(stderr, "%s: %s", c->prog, level);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void
cli_err(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg(c, "", fmt, ap);
	va_end(ap);
}

void
cli_warn(struct cli *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	cli_vmsg(c, "warning: ", fmt, ap);
	va_end(ap);
}
