/*
 * dotlock.h - Dovecot-compatible dot-locks ("<file>.lock" beside the
 * file) and the whole-file replace (or append) done under one, for the Maildir
 * control files that Postern and Dovecot may both rewrite
 * (dovecot-uidlist, dovecot-keywords).
 */
#ifndef POSTERN_DOTLOCK_H
#define POSTERN_DOTLOCK_H

#include <sys/types.h>
#include <stddef.h>
#include <time.h>

/*
 * Dovecot breaks a uidlist or keywords lock that has not been touched
 * for two minutes (MAILDIR_UIDLIST_LOCK_STALE_TIMEOUT); so do we, with
 * the same figure, so that neither side breaks a lock the other still
 * considers live.
 */
#define DOTLOCK_STALE_SECS	120
#define DOTLOCK_NAME_MAX	64	/* the locked file's name */

struct dotlock {
	int	dirfd;			/* borrowed, not closed */
	char	name[DOTLOCK_NAME_MAX];	/* the locked file, "dovecot-uidlist" */
	dev_t	dev;			/* our lock file, to delete only ours: */
	ino_t	ino;			/* an inode number comes back soon */
	struct timespec mtime;		/* after a delete, the mtime tells */
	int	held;
};

/*
 * Takes <name>.lock in dirfd: O_CREAT|O_EXCL, holding "<pid>:<host>"
 * as Dovecot's dotlocks do. A lock untouched for stale_secs, or one
 * made on this host by a process that no longer exists, is broken.
 * Waits up to wait_secs (0: one try) for a live lock to go. 1 taken,
 * 0 held by someone else, -1 error (errno).
 */
int	dotlock_take(int dirfd, const char *name, int stale_secs,
	    int wait_secs, struct dotlock *);
/* Refreshes the lock's mtime during a long job so it does not go stale. */
int	dotlock_touch(struct dotlock *);
/* Deletes the lock if it is still ours (not broken and retaken). */
void	dotlock_release(struct dotlock *);
/*
 * Replaces the locked file with data: <name>.tmp written, fdatasync'd,
 * renamed over <name>, and the directory fsync'd. Readers never lock:
 * they see the old file or the new one. The lock must be held (EPERM
 * otherwise) and still ours (ESTALE if it was broken meanwhile: the
 * file is left alone, since someone else may be writing it).
 */
int	dotlock_replace(struct dotlock *, const void *data, size_t len,
	    mode_t mode);
/* A locked file as it was read under the lock. */
struct dotlock_file {
	dev_t	dev;
	ino_t	ino;
	off_t	size;
};
/*
 * Appends data to the locked file in place (Dovecot adds new lines to
 * its uidlist so), fdatasync'd: readers that do not lock may see a last
 * line half written, and read it again later. Only if the file is still
 * f, the one read under the lock (ESTALE otherwise, and if the lock was
 * broken: the caller rewrites it whole); a failed write is truncated
 * back to f's size. 0 or -1.
 */
int	dotlock_append(struct dotlock *, const struct dotlock_file *f,
	    const void *data, size_t len);
/* Whether the lock file st, now, is stale: exposed for the tests. */
int	dotlock_is_stale(int dirfd, const char *lockname, int stale_secs,
	    time_t now);

#endif
