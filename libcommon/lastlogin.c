/*
 * lastlogin.c - writing and reading a user's last-login record.
 *
 * Written in a mail process (pop3d's, later imapd's): as mail_user,
 * confined to that one user's directory, after the login succeeded, so
 * a process can only ever record logins of its own user. Read by the
 * postern command, often as root, in a directory the mail user owns:
 * opened with O_NOFOLLOW and only as a regular file, at most a few
 * bytes, and the text is parsed strictly (digits, a word, an address of
 * printable bytes) so that a planted file can neither steer root to
 * another file nor put control bytes on a terminal.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "lastlogin.h"

#define LASTLOGIN_MAX	128

int
lastlogin_format(const struct lastlogin *l, char *out, size_t outsz)
{
	int n = snprintf(out, outsz, "%" PRId64 " %s %s\n", l->when, l->proto,
	    l->ip);

	return n < 0 || (size_t)n >= outsz ? -1 : n;
}

/* A field of bytes 0x21..0x7e, at most max - 1 of them. */
static int
field(const char **p, const char *end, char *out, size_t max, char stop)
{
	size_t n = 0;

	while (*p < end && **p != stop) {
		unsigned char c = (unsigned char)**p;

		if (c < 0x21 || c > 0x7e || n + 1 >= max)
			return -1;
		out[n++] = (char)c;
		(*p)++;
	}
	if (*p >= end || n == 0)
		return -1;
	out[n] = '\0';
	(*p)++;		/* the stop byte */
	return 0;
}

int
lastlogin_parse(const char *text, size_t len, struct lastlogin *l)
{
	const char	*p = text, *end = text + len;
	char		 num[24], *e;
	long long	 v;

	memset(l, 0, sizeof(*l));
	if (field(&p, end, num, sizeof(num), ' ') == -1 ||
	    field(&p, end, l->proto, sizeof(l->proto), ' ') == -1 ||
	    field(&p, end, l->ip, sizeof(l->ip), '\n') == -1 || p != end)
		return -1;
	if (num[0] < '0' || num[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(num, &e, 10);
	if (errno != 0 || *e != '\0' || v < 0)
		return -1;
	l->when = v;
	return 0;
}

int
lastlogin_write(const char *proto, const char *ip, int64_t when)
{
	struct lastlogin	l;
	char			text[LASTLOGIN_MAX], tmp[64];
	int			fd, n, saved;

	memset(&l, 0, sizeof(l));
	l.when = when;
	if (strlcpy(l.proto, proto, sizeof(l.proto)) >= sizeof(l.proto) ||
	    strlcpy(l.ip, ip, sizeof(l.ip)) >= sizeof(l.ip) ||
	    (n = lastlogin_format(&l, text, sizeof(text))) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	snprintf(tmp, sizeof(tmp), LASTLOGIN_FILE ".tmp.%ld", (long)getpid());
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1)
		return -1;
	if (fs_write_all(fd, text, (size_t)n) == -1 || close(fd) == -1 ||
	    rename(tmp, LASTLOGIN_FILE) == -1) {
		saved = errno;
		(void)unlink(tmp);
		errno = saved;
		return -1;
	}
	return 0;
}

int
lastlogin_read(int dirfd, struct lastlogin *l)
{
	struct stat	st;
	char		text[LASTLOGIN_MAX];
	ssize_t		n;
	int		fd;

	if ((fd = openat(dirfd, LASTLOGIN_FILE, O_RDONLY | O_NOFOLLOW |
	    O_NONBLOCK | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size >= (off_t)sizeof(text)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	n = fs_pread_full(fd, text, sizeof(text), 0);
	close(fd);
	if (n == -1)
		return -1;
	if (lastlogin_parse(text, (size_t)n, l) == -1) {
		errno = EINVAL;
		return -1;
	}
	return 1;
}
