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

void
cli_sanitize(char *out, size_t outsz, const char *s)
{
	size_t i;

	if (outsz == 0)
		return;
	for (i = 0; s[i] != '\0' && i + 1 < outsz; i++)
		out[i] = ((unsigned char)s[i] < 0x20 ||
		    (unsigned char)s[i] == 0x7f) ? '?' : s[i];
	out[i] = '\0';
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
cli_mkdirs_below(const char *base, const char *const *comps, size_t ncomps,
    mode_t mode, uid_t uid, gid_t gid, int chown_new, int *created)
{
	size_t	 i;
	int	 dfd, nfd, made, saved;

	if ((dfd = open(base, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < ncomps; i++) {
		made = 0;
		if (mkdirat(dfd, comps[i], mode) == 0)
			made = 1;
		else if (errno != EEXIST)
			goto fail;
		/* O_NOFOLLOW: a planted symlink fails here with ELOOP. */
		nfd = openat(dfd, comps[i], O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		if (nfd == -1)
			goto fail;
		if (made && chown_new && fchown(nfd, uid, gid) == -1) {
			saved = errno;
			close(nfd);
			errno = saved;
			goto fail;
		}
		if (made && created != NULL)
			(*created)++;
		close(dfd);
		dfd = nfd;
	}
	close(dfd);
	return 0;
fail:
	saved = errno;
	close(dfd);
	errno = saved;
	return -1;
}
