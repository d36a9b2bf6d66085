/*
 * uidlist_assign.c - giving a folder's files their UIDs in its
 * dovecot-uidlist: the one procedure imapd's index sync and pop3d's
 * UIDLs share, so that both number a new message the same way Dovecot
 * does (under the list's dot-lock, in delivery order; new records
 * appended to the file in place when nothing else changed, as Dovecot
 * appends them, else the list rewritten whole and renamed into place).
 *
 * Runs in the mail processes (imapd's, pop3d's) as the mail-store uid,
 * confined to one user's directory; the list is parsed by uidlist.c,
 * which trusts nothing in it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "uidlist.h"

static int
cmp_name(const void *a, const void *b)
{
	return maildir_name_cmp(*(char *const *)a, *(char *const *)b);
}

/* Marks the records of the files in dirfd's sub/: 0, or -1. */
static int
mark_present(int dirfd, const char *sub, struct uidlist *l, uint8_t *seen)
{
	struct dirent	*e;
	DIR		*d;
	uint32_t	 uid;
	ssize_t		 x;
	int		 fd;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if ((uid = uidlist_lookup(l, e->d_name)) != 0 &&
		    (x = uidlist_find_uid(l, uid)) >= 0)
			seen[x] = 1;
	}
	closedir(d);
	return 0;
}

/*
 * Drops the records of files gone, as Dovecot drops them. The caller's
 * listing is older than the lock: another session may have numbered
 * files delivered since, which it never saw. So the folder is listed
 * again here, under the lock, and only what that listing lacks goes.
 */
static size_t
drop_gone(int dirfd, struct uidlist *l)
{
	uint8_t	*seen;
	size_t	 i, dropped = 0;

	if ((seen = calloc(l->n ? l->n : 1, 1)) == NULL)
		return 0;
	if (mark_present(dirfd, "new", l, seen) == 0 &&
	    mark_present(dirfd, "cur", l, seen) == 0)
		for (i = l->n; i-- > 0;)
			if (!seen[i])
				dropped += uidlist_remove(l,
				    l->recs[i].uid) == 1;
	free(seen);
	return dropped;
}

struct uidlist *
uidlist_assign(int dirfd, const char *label, int lock_wait,
    char *const *names, size_t n, int flags, uint32_t *uids,
    struct uidlist *(*restore)(void *), void *arg)
{
	struct uidlist		*l = NULL;
	struct uidlist_error	 err;
	struct dotlock		 lk;
	char			**missing = NULL;
	size_t			 i, nmiss = 0, nread = 0, dropped = 0;
	int			 r, need = 0;

	/* Names just made have no UID: the list is read once, locked. */
	if (!(flags & UIDLIST_FRESH)) {
		r = uidlist_read(dirfd, &l, &err);
		if (r != 1)
			need = 1;
		for (i = 0; i < n && !need; i++)
			if ((uids[i] = uidlist_lookup(l, names[i])) == 0)
				need = 1;
		if (!need)
			return l;
	}
	r = uidlist_lock(dirfd, lock_wait, &lk);
	if (r != 1) {
		if (r == 0)
			log_warnx("%s: %s.lock held too long: new mail waits",
			    label, UIDLIST_FILE);
		if (l != NULL) {
			/* Every file that has a UID keeps it meanwhile. */
			for (i = 0; i < n; i++)
				uids[i] = uidlist_lookup(l, names[i]);
			return l;
		}
		errno = r == 0 ? EAGAIN : errno;
		return NULL;
	}
	uidlist_free(l);
	l = NULL;
	r = uidlist_read_locked(dirfd, &l, &err);
	if (r == 1 && err.msg[0] != '\0')
		log_warnx("%s/%s: %s", label, UIDLIST_FILE, err.msg);
	if (r != 1) {
		if (r == -1 && errno != EINVAL)
			goto fail;
		if (r == -1)
			log_warnx("%s/%s: %s: rewritten", label, UIDLIST_FILE,
			    err.msg);
		if (restore != NULL && (l = restore(arg)) != NULL)
			log_warnx("%s/%s: %s, written back from the index "
			    "(UIDVALIDITY %u kept)", label, UIDLIST_FILE,
			    r == 0 ? "missing" : "damaged", l->uidvalidity);
		else if ((l = uidlist_new(0)) == NULL)
			goto fail;
	} else
		nread = l->n;	/* as the file has them: appended after */
	if ((missing = calloc(n ? n : 1, sizeof(*missing))) == NULL)
		goto fail;
	for (i = 0; i < n; i++)
		if ((uids[i] = uidlist_lookup(l, names[i])) == 0)
			missing[nmiss++] = names[i];
	/* Dovecot gives new files UIDs in delivery order: so do we. */
	qsort(missing, nmiss, sizeof(*missing), cmp_name);
	for (i = 0; i < nmiss; i++) {
		uint32_t uid;

		if (uidlist_append(l, missing[i], &uid) == -1) {
			/* A name the uidlist cannot hold: left without UID. */
			if (errno != EINVAL)
				goto fail;
			log_warnx("%s: file name not usable, ignored", label);
		}
	}
	for (i = 0; i < n; i++)
		uids[i] = uidlist_lookup(l, names[i]);
	if (flags & UIDLIST_COMPLETE)
		dropped = drop_gone(dirfd, l);
	/*
	 * Only records added, to the file read under this lock: they are
	 * appended (no new inode, nothing rewritten). Anything else, or a
	 * file that will not take them so, is rewritten whole.
	 */
	if (l->file.ino != 0 && dropped == 0 &&
	    uidlist_write_tail(&lk, l, nread) == 0) {
		dotlock_release(&lk);
		free(missing);
		return l;
	}
	if (uidlist_write(&lk, l) == -1) {
		log_warn("%s/%s: write", label, UIDLIST_FILE);
		goto fail;
	}
	dotlock_release(&lk);
	free(missing);
	return l;
fail:
	r = errno;
	dotlock_release(&lk);
	free(missing);
	uidlist_free(l);
	errno = r;
	return NULL;
}

int
uidlist_forget(int dirfd, const char *label, int lock_wait,
    const uint32_t *uids, size_t n)
{
	struct uidlist		*l = NULL;
	struct uidlist_error	 err;
	struct dotlock		 lk;
	size_t			 i;
	int			 r, e;

	if ((r = uidlist_lock(dirfd, lock_wait, &lk)) != 1) {
		if (r == 0)
			errno = EAGAIN;
		return -1;
	}
	if ((r = uidlist_read_locked(dirfd, &l, &err)) != 1) {
		/* Nothing to forget in a list that is not there. */
		dotlock_release(&lk);
		if (r == -1)
			log_warnx("%s/%s: %s", label, UIDLIST_FILE, err.msg);
		return 0;
	}
	for (i = 0; i < n; i++)
		(void)uidlist_remove(l, uids[i]);
	r = uidlist_write(&lk, l);
	e = errno;
	dotlock_release(&lk);
	uidlist_free(l);
	errno = e;
	return r;
}
