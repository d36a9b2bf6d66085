/*
 * fsutil.c - durable file operations shared by queued, deliverd and the CLI.
 *
 * Every step that makes mail durable goes through here: a rename is not
 * durable until its directory is fsynced, and a file is not durable until
 * it is fsynced itself, whatever the file system's habits.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"

int
fs_write_all(int fd, const void *p, size_t n)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = write(fd, c, n);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int
fs_fsync_dirat(int dirfd)
{
	return fsync(dirfd);
}

int
fs_pwrite_all(int fd, const void *p, size_t n, off_t off)
{
	const char *c = p;
	ssize_t w;

	while (n > 0) {
		w = pwrite(fd, c, n, off);
		if (w == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		c += w;
		n -= (size_t)w;
		off += w;
	}
	return 0;
}

ssize_t
fs_pread_full(int fd, void *p, size_t len, off_t off)
{
	char	*c = p;
	size_t	 got = 0;
	ssize_t	 r;

	while (got < len) {
		r = pread(fd, c + got, len - got, off + (off_t)got);
		if (r == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int
fs_fsync_dir(const char *path)
{
	int fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

int
fs_path(char *out, size_t outsz, const char *dir, const char *name)
{
	int n = snprintf(out, outsz, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

int
fs_dirname(const char *path, char *out, size_t outsz)
{
	char *slash;

	if (strlcpy(out, path, outsz) >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if ((slash = strrchr(out, '/')) == NULL)
		strlcpy(out, ".", outsz);
	else if (slash == out)
		out[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

int
fs_atomic_write(const char *path, const void *p, size_t n, mode_t mode)
{
	char	 tmp[PATH_MAX], dir[PATH_MAX];
	int	 fd, saved;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp) || fs_dirname(path, dir, sizeof(dir)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}

	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)) == -1)
		return -1;
	if (fs_write_all(fd, p, n) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		return -1;
	}
	return fs_fsync_dir(dir);
}

int
fs_mkdirs(const char *path, mode_t mode)
{
	char	 p[PATH_MAX];
	size_t	 i;

	if (strlcpy(p, path, sizeof(p)) >= sizeof(p)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 1; p[i] != '\0'; i++) {
		if (p[i] != '/')
			continue;
		p[i] = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			return -1;
		p[i] = '/';
	}
	if (mkdir(p, mode) == -1) {
		struct stat st;

		/* EEXIST is success only if what exists is a directory. */
		if (errno != EEXIST || stat(p, &st) == -1)
			return -1;
		if (!S_ISDIR(st.st_mode)) {
			errno = ENOTDIR;
			return -1;
		}
	}
	return 0;
}

int
fs_read_file(const char *path, size_t max, char **out, size_t *len)
{
	struct stat	 st;
	char		*b;
	ssize_t		 r;
	size_t		 got = 0;
	int		 fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if ((size_t)st.st_size > max) {
		errno = EFBIG;
		goto fail;
	}
	if ((b = malloc((size_t)st.st_size + 1)) == NULL)
		goto fail;
	while (got < (size_t)st.st_size) {
		r = read(fd, b + got, (size_t)st.st_size - got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			saved = r == 0 ? EIO : errno;
			free(b);
			close(fd);
			errno = saved;
			return -1;
		}
		got += (size_t)r;
	}
	b[got] = '\0';
	close(fd);
	*out = b;
	if (len != NULL)
		*len = got;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

int
fs_dir_ensure(int dirfd, const char *name, mode_t mode, uid_t uid, gid_t gid,
    int flags, int *made)
{
	struct stat	st;
	int		fd, new = 0, saved;

	if (mkdirat(dirfd, name, mode) == 0)
		new = 1;
	else if (errno != EEXIST)
		return -1;
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1)
		goto fail;
	if (((flags & FS_DIR_ENFORCE) || (new && (flags & FS_DIR_CHOWN_NEW)))
	    && (st.st_uid != uid || st.st_gid != gid) &&
	    fchown(fd, uid, gid) == -1)
		goto fail;
	/* mkdir's mode went through the umask; an existing one may differ. */
	if (((flags & FS_DIR_ENFORCE) || new) && (st.st_mode & 07777) != mode &&
	    fchmod(fd, mode) == -1)
		goto fail;
	if (made != NULL)
		*made = new;
	return fd;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}
