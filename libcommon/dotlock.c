/*
 * dotlock.c - Dovecot-compatible dot-locks and the whole-file replace
 * done under one.
 *
 * Runs in the mail processes (later imapd's, perhaps pop3d's) as the
 * mail-store uid, confined to one user's directory; dirfd is a Maildir
 * folder there. It trusts nothing it finds: a lock file may have been
 * left by Dovecot, by a crashed Postern process, or planted, so it is
 * read with O_NOFOLLOW, at most a few bytes, and only to decide whether
 * its owner still lives.
 *
 * Why a dot-lock and not flock/fcntl: Dovecot, which may share the
 * Maildir, locks dovecot-uidlist and dovecot-keywords this way (and so
 * works over NFS). Writers exclude each other with the lock; readers
 * never lock, because a writer never changes the file in place (we
 * don't; Dovecot only appends whole lines under the lock) but renames a
 * complete new file over it.
 *
 * Order of a replace, and why: the new text goes to <name>.tmp (the lock
 * makes the fixed name ours, as in Dovecot), is fdatasync'd before the
 * rename so that a crash never leaves a renamed but empty file, and the
 * directory is fsync'd after so that the rename itself survives.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dotlock.h"
#include "fsutil.h"

#define DOTLOCK_POLL_NS		(100 * 1000 * 1000)
#define DOTLOCK_BREAK_TRIES	8	/* a lock broken, retaken by another */

static int
names(const char *name, char *lock, char *tmp)
{
	size_t len = strlen(name);

	if (len == 0 || len + sizeof(".lock") > DOTLOCK_NAME_MAX ||
	    strchr(name, '/') != NULL) {
		errno = EINVAL;
		return -1;
	}
	if (lock != NULL)
		snprintf(lock, DOTLOCK_NAME_MAX, "%s.lock", name);
	if (tmp != NULL)
		snprintf(tmp, DOTLOCK_NAME_MAX, "%s.tmp", name);
	return 0;
}

/* The lock we made is still the one on disk. */
static int
ours(const struct dotlock *l, const char *lockname)
{
	struct stat st;

	return fstatat(l->dirfd, lockname, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	    st.st_dev == l->dev && st.st_ino == l->ino &&
	    st.st_mtim.tv_sec == l->mtime.tv_sec &&
	    st.st_mtim.tv_nsec == l->mtime.tv_nsec;
}

/*
 * Before writing under the lock: held (EPERM otherwise) and not broken
 * and retaken by someone else since (ESTALE); lockname (room for
 * DOTLOCK_NAME_MAX) gets the lock file's name, tmp (if not NULL) the
 * temporary file's. 0 or -1.
 */
static int
still_held(const struct dotlock *l, char *lockname, char *tmp)
{
	if (!l->held) {
		errno = EPERM;
		return -1;
	}
	if (names(l->name, lockname, tmp) == -1)
		return -1;
	if (!ours(l, lockname)) {
		errno = ESTALE;
		return -1;
	}
	return 0;
}

/*
 * "<pid>:<host>" names a process of this host that is gone. Anything
 * else (another host, text we do not understand) counts as alive: only
 * the mtime can then make it stale.
 */
static int
owner_gone(int dirfd, const char *lockname)
{
	char	 text[256], host[256], *colon, *end;
	ssize_t	 n;
	long	 pid;
	int	 fd;

	fd = openat(dirfd, lockname, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1)
		return 0;
	n = read(fd, text, sizeof(text) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	if ((colon = strchr(text, ':')) == NULL)
		return 0;
	*colon = '\0';
	errno = 0;
	pid = strtol(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || pid <= 0 ||
	    pid > 0x7fffffffL)
		return 0;
	if (gethostname(host, sizeof(host)) == -1)
		return 0;
	host[sizeof(host) - 1] = '\0';
	colon++;
	colon[strcspn(colon, "\r\n")] = '\0';
	if (strcmp(colon, host) != 0)
		return 0;
	return kill((pid_t)pid, 0) == -1 && errno == ESRCH;
}

int
dotlock_append(struct dotlock *l, const struct dotlock_file *f,
    const void *data, size_t len)
{
	char		lockname[DOTLOCK_NAME_MAX];
	struct stat	st;
	int		fd, e;

	if (still_held(l, lockname, NULL) == -1)
		return -1;
	if ((fd = openat(l->dirfd, l->name, O_WRONLY | O_APPEND | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	/* Not the file the caller read: it must be rewritten whole. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_dev != f->dev || st.st_ino != f->ino ||
	    st.st_size != f->size) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	if (fs_write_all(fd, data, len) == -1 || fdatasync(fd) == -1) {
		e = errno;
		/* A half line would make the file unreadable: taken back. */
		(void)!ftruncate(fd, f->size);
		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

int
dotlock_is_stale(int dirfd, const char *lockname, int stale_secs, time_t now)
{
	struct stat st;

	if (fstatat(dirfd, lockname, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT;	/* gone: just try again */
	if (now - st.st_mtime >= stale_secs || st.st_mtime - now > stale_secs)
		return 1;	/* untouched, or from a clock far ahead */
	return owner_gone(dirfd, lockname);
}

int
dotlock_take(int dirfd, const char *name, int stale_secs, int wait_secs,
    struct dotlock *l)
{
	char		lockname[DOTLOCK_NAME_MAX], text[300], host[256];
	struct stat	st;
	struct timespec	poll = { 0, DOTLOCK_POLL_NS };
	time_t		start = time(NULL);
	int		fd, n, broken = 0;

	memset(l, 0, sizeof(*l));
	l->dirfd = dirfd;
	if (names(name, lockname, NULL) == -1)
		return -1;
	strlcpy(l->name, name, sizeof(l->name));
	for (;;) {
		fd = openat(dirfd, lockname, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1)
			break;
		if (errno != EEXIST)
			return -1;
		if (dotlock_is_stale(dirfd, lockname, stale_secs,
		    time(NULL))) {
			if (++broken > DOTLOCK_BREAK_TRIES)
				return 0;
			if (unlinkat(dirfd, lockname, 0) == -1 &&
			    errno != ENOENT)
				return -1;
			continue;
		}
		if (time(NULL) - start >= wait_secs)
			return 0;
		nanosleep(&poll, NULL);
	}
	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	n = snprintf(text, sizeof(text), "%ld:%s", (long)getpid(), host);
	if (n < 0 || (size_t)n >= sizeof(text) ||
	    fs_write_all(fd, text, (size_t)n) == -1 || fstat(fd, &st) == -1) {
		int e = errno;

		close(fd);
		(void)unlinkat(dirfd, lockname, 0);
		errno = e;
		return -1;
	}
	close(fd);
	l->dev = st.st_dev;
	l->ino = st.st_ino;
	l->mtime = st.st_mtim;
	l->held = 1;
	return 1;
}

int
dotlock_touch(struct dotlock *l)
{
	char		lockname[DOTLOCK_NAME_MAX];
	struct stat	st;

	if (still_held(l, lockname, NULL) == -1)
		return -1;
	if (utimensat(l->dirfd, lockname, NULL, AT_SYMLINK_NOFOLLOW) == -1 ||
	    fstatat(l->dirfd, lockname, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	l->mtime = st.st_mtim;
	return 0;
}

void
dotlock_release(struct dotlock *l)
{
	char lockname[DOTLOCK_NAME_MAX];

	if (!l->held)
		return;
	l->held = 0;
	if (names(l->name, lockname, NULL) == 0 && ours(l, lockname))
		(void)unlinkat(l->dirfd, lockname, 0);
}

int
dotlock_replace(struct dotlock *l, const void *data, size_t len, mode_t mode)
{
	char	lockname[DOTLOCK_NAME_MAX], tmp[DOTLOCK_NAME_MAX];
	int	fd, e;

	if (still_held(l, lockname, tmp) == -1)
		return -1;
	fd = openat(l->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, mode);
	if (fd == -1)
		return -1;
	if (fs_write_all(fd, data, len) == -1 || fdatasync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (renameat(l->dirfd, tmp, l->dirfd, l->name) == -1)
		goto fail;
	return fs_fsync_dirat(l->dirfd);
fail:
	e = errno;
	if (fd != -1)
		close(fd);
	(void)unlinkat(l->dirfd, tmp, 0);
	errno = e;
	return -1;
}
