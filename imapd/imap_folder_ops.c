/*
 * imap_folder_ops.c - what changes the user's folder tree: CREATE,
 * DELETE, RENAME (with INBOX's, RFC 3501 6.3.5), and the default
 * folders of a new user.
 *
 * Runs in imapd's mail process as the mail-store uid, chrooted in the
 * user's directory; every path is relative to the working directory
 * ("Maildir", "Maildir/.Sent"). Trusts nothing a client sends: a name
 * becomes a path only through imap_folder_path (mailbox_name_ok: no
 * "/", no "..", no empty component, no control, raw or encoded), so
 * whatever is made or removed is one directory entry of the Maildir.
 * Trusts the Maildir's entries no more: one that is not a name we could
 * have made is not listed, and is never a target.
 *
 * Order of operations, and why:
 *   CREATE makes ".name" first and its cur/, new/, tmp/ inside it: a
 *     crash leaves at worst a folder that Dovecot and we both repair
 *     (the missing subdirectories are made at its first delivery or
 *     sync), never a half-named one.
 *   DELETE renames ".name" to "..postern-deleted.<pid>.<n>" (a name no
 *     one lists: its mailbox would start with ".") and only then removes
 *     it file by file, so a DELETE cut short leaves an invisible
 *     directory, never a folder with half its messages.
 *   RENAME moves each directory with RENAME_NOREPLACE: a folder another
 *     session made meanwhile is never replaced; one that fails puts back
 *     those already moved.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsutil.h"
#include "imap_folder.h"
#include "imap_folder_int.h"
#include "log.h"
#include "mailbox_name.h"
#include "mailindex.h"

/* How deep DELETE follows directories inside a folder (Dovecot: 1). */
#define RM_DEPTH	4
/* dovecot-keywords is 26 short lines; a bigger one is not copied. */
#define KW_FILE_MAX	(64 * 1024)

static unsigned	 deleted_seq;	/* names the DELETE staging directories */

static int
mkfolder(const char *path)
{
	static const char *const subs[] = { "cur", "new", "tmp" };
	int	dfd, fd;
	size_t	i;

	if ((dfd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < 3; i++)
		if (mkdirat(dfd, subs[i], 0700) == -1 && errno != EEXIST)
			goto fail;
	/* Courier's mark of a Maildir++ folder; Dovecot writes it too. */
	if ((fd = openat(dfd, "maildirfolder", O_WRONLY | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1)
		goto fail;
	close(fd);
	if (fsync(dfd) == -1)
		goto fail;
	close(dfd);
	return 0;
fail:
	i = (size_t)errno;
	close(dfd);
	errno = (int)i;
	return -1;
}

static enum imap_folder_err
sys_err(const char *what, const char *name)
{
	log_warn("folder %s: %s", name, what);
	return IMAP_FOLDER_ERR;
}

/* How many folders there are, to keep the table under its bound. */
static int
folders_full(void)
{
	struct imap_folder_list	l;
	int			full;

	if (imap_folder_list(&l) == -1)
		return errno == E2BIG ? 1 : -1;
	/* Room for the new name's parents too. */
	full = l.n >= IMAP_FOLDERS_MAX - MAILBOX_NAME_MAX / 2;
	imap_folder_list_free(&l);
	return full;
}

static int	rm_tree(int dirfd, const char *name, int depth);

enum imap_folder_err
imap_folder_create(const char *mutf7name)
{
	char	name[MAILBOX_NAME_MAX + 1];
	char	path[IMAP_FOLDER_PATH_MAX];
	size_t	len = strlen(mutf7name);
	int	full, save;

	if (len == 0 || len > MAILBOX_NAME_MAX)
		return IMAP_FOLDER_ERR_NAME;
	memcpy(name, mutf7name, len + 1);
	if (len > 1 && name[len - 1] == MAILBOX_SEP)
		name[len - 1] = '\0';
	if (imap_folder_path(name, path, sizeof(path)) == -1)
		return IMAP_FOLDER_ERR_NAME;
	if (strcmp(path, IMAP_FOLDER_ROOT) == 0)
		return IMAP_FOLDER_ERR_EXISTS;
	if ((full = folders_full()) == -1)
		return sys_err("list", name);
	if (full)
		return IMAP_FOLDER_ERR_LIMIT;
	if (mkdir(path, 0700) == -1) {
		if (errno == EEXIST)
			return IMAP_FOLDER_ERR_EXISTS;
		return sys_err("mkdir", name);
	}
	if (mkfolder(path) == -1) {
		save = errno;
		(void)rm_tree(AT_FDCWD, path, 0);
		errno = save;
		return sys_err("create", name);
	}
	if (fs_fsync_dir(IMAP_FOLDER_ROOT) == -1)
		return sys_err("fsync", name);
	return IMAP_FOLDER_OK;
}

/*
 * Removes name below dirfd and everything in it, never through a
 * symlink (one inside is removed as a link), at most RM_DEPTH deep.
 */
static int
rm_tree(int dirfd, const char *name, int depth)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, found;

	if (depth > RM_DEPTH) {
		errno = ELOOP;
		return -1;
	}
	if ((fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	/* Passes until one finds nothing: removing while reading may skip. */
	do {
		found = 0;
		rewinddir(d);
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			found = 1;
			if (unlinkat(fd, de->d_name, 0) == 0)
				continue;
			if ((errno != EISDIR && errno != EPERM) ||
			    rm_tree(fd, de->d_name, depth + 1) == -1) {
				closedir(d);
				return -1;
			}
		}
	} while (found);
	closedir(d);
	return unlinkat(dirfd, name, AT_REMOVEDIR);
}

static void
forget(struct mailindex *ix, const char *path)
{
	if (ix != NULL && mailindex_folder_forget(ix, path) == -1)
		log_warn("folder %s: index", path);
}

enum imap_folder_err
imap_folder_delete(struct mailindex *ix, const char *name)
{
	char	path[IMAP_FOLDER_PATH_MAX];
	char	gone[64];
	int	r;

	if (imap_folder_path(name, path, sizeof(path)) == -1)
		return IMAP_FOLDER_ERR_NAME;
	if (strcmp(path, IMAP_FOLDER_ROOT) == 0)
		return IMAP_FOLDER_ERR_INBOX;
	if ((r = folder_is_dir(path)) == -1)
		return sys_err("stat", name);
	if (r == 0)
		return IMAP_FOLDER_ERR_NONEXISTENT;
	snprintf(gone, sizeof(gone), "%s/..postern-deleted.%ld.%u",
	    IMAP_FOLDER_ROOT, (long)getpid(), deleted_seq++);
	if (rename(path, gone) == -1) {
		if (errno == ENOENT)
			return IMAP_FOLDER_ERR_NONEXISTENT;
		return sys_err("rename", name);
	}
	if (fs_fsync_dir(IMAP_FOLDER_ROOT) == -1)
		log_warn("folder %s: fsync", name);
	/* The folder is gone for everyone now; what is left is ours. */
	/* A folder that was a symlink: the link goes, never its target. */
	if (rm_tree(AT_FDCWD, gone, 0) == -1 &&
	    ((errno != ELOOP && errno != ENOTDIR) || unlink(gone) == -1))
		log_warn("folder %s: removing %s", name, gone);
	forget(ix, path);
	return IMAP_FOLDER_OK;
}

/* INBOX's messages into a new folder; INBOX stays, empty. */
static enum imap_folder_err
rename_inbox(struct mailindex *ix, const char *to)
{
	static const char *const subs[] = { "cur", "new" };
	char			 path[IMAP_FOLDER_PATH_MAX];
	char			 sp[IMAP_FOLDER_PATH_MAX + 8];
	char			*kw;
	size_t			 kwlen, i;
	enum imap_folder_err	 e;

	if (imap_folder_path(to, path, sizeof(path)) == -1)
		return IMAP_FOLDER_ERR_NAME;
	if ((e = imap_folder_create(to)) != IMAP_FOLDER_OK)
		return e;
	forget(ix, path);
	/* Keyword letters in file names mean what INBOX's file says. */
	if (fs_read_file(IMAP_FOLDER_ROOT "/dovecot-keywords", KW_FILE_MAX,
	    &kw, &kwlen) == 0) {
		if (fs_path(sp, sizeof(sp), path, "dovecot-keywords") == -1 ||
		    fs_atomic_write(sp, kw, kwlen, 0600) == -1)
			log_warn("folder %s: dovecot-keywords", to);
		free(kw);
	}
	for (i = 0; i < 2; i++) {
		DIR		*d;
		struct dirent	*de;
		int		 sfd, dfd;

		snprintf(sp, sizeof(sp), "%s/%s", IMAP_FOLDER_ROOT, subs[i]);
		if ((d = opendir(sp)) == NULL) {
			if (errno == ENOENT)
				continue;
			return sys_err("opendir", "INBOX");
		}
		sfd = dirfd(d);
		snprintf(sp, sizeof(sp), "%s/%s", path, subs[i]);
		if ((dfd = open(sp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
		    -1) {
			closedir(d);
			return sys_err("open", to);
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.')
				continue;
			/* Gone meanwhile (expunged, moved): not ours now. */
			if (renameat2(sfd, de->d_name, dfd, de->d_name,
			    RENAME_NOREPLACE) == -1 && errno != ENOENT)
				log_warn("INBOX rename: %s", de->d_name);
		}
		if (fsync(dfd) == -1 || fsync(sfd) == -1)
			log_warn("INBOX rename: fsync");
		close(dfd);
		closedir(d);
	}
	return IMAP_FOLDER_OK;
}

enum imap_folder_err
imap_folder_rename(struct mailindex *ix, const char *from, const char *to)
{
	struct imap_folder_list	 l;
	char			 f[MAILBOX_NAME_MAX + 1], t[MAILBOX_NAME_MAX + 1];
	char			 op[IMAP_FOLDER_PATH_MAX], np[IMAP_FOLDER_PATH_MAX];
	size_t			 fl, tl, i, lo, hi, done;
	enum imap_folder_err	 e = IMAP_FOLDER_OK;

	if (imap_folder_path(from, op, sizeof(op)) == -1 ||
	    imap_folder_path(to, np, sizeof(np)) == -1)
		return IMAP_FOLDER_ERR_NAME;
	if (strcmp(np, IMAP_FOLDER_ROOT) == 0)
		return IMAP_FOLDER_ERR_EXISTS;
	if (strcmp(op, IMAP_FOLDER_ROOT) == 0)
		return rename_inbox(ix, to);
	/* The spellings of the paths: "inbox.x" is "INBOX.x". */
	strlcpy(f, op + sizeof(IMAP_FOLDER_ROOT) + 1, sizeof(f));
	strlcpy(t, np + sizeof(IMAP_FOLDER_ROOT) + 1, sizeof(t));
	fl = strlen(f);
	tl = strlen(t);
	if (strncmp(t, f, fl) == 0 && (t[fl] == '\0' || t[fl] == MAILBOX_SEP))
		return IMAP_FOLDER_ERR_CHILD;
	if (imap_folder_list(&l) == -1)
		return sys_err("list", from);
	/* f and its descendants: one run of the table in tree order. */
	for (lo = 0; lo < l.n && folder_name_cmp(l.v[lo].name, f) < 0; lo++)
		;
	for (hi = lo; hi < l.n; hi++) {
		const char *s = l.v[hi].name;

		if (strncmp(s, f, fl) != 0 ||
		    (s[fl] != '\0' && s[fl] != MAILBOX_SEP))
			break;
	}
	if (lo == hi || !(l.v[lo].flags & (IMAP_FOLDER_EXISTS |
	    IMAP_FOLDER_PARENT))) {
		e = IMAP_FOLDER_ERR_NONEXISTENT;
		goto out;
	}
	for (i = lo; i < hi; i++) {
		const struct imap_folder *x;
		char n[MAILBOX_NAME_MAX + 2];

		if (!(l.v[i].flags & IMAP_FOLDER_EXISTS))
			continue;
		if (tl + strlen(l.v[i].name) - fl > MAILBOX_NAME_MAX) {
			e = IMAP_FOLDER_ERR_NAME;
			goto out;
		}
		snprintf(n, sizeof(n), "%s%s", t, l.v[i].name + fl);
		if ((x = imap_folder_find(&l, n)) != NULL &&
		    (x->flags & IMAP_FOLDER_EXISTS)) {
			e = IMAP_FOLDER_ERR_EXISTS;
			goto out;
		}
	}
	for (i = lo, done = 0; i < hi; i++) {
		char o[IMAP_FOLDER_PATH_MAX], n[IMAP_FOLDER_PATH_MAX + 2];

		if (!(l.v[i].flags & IMAP_FOLDER_EXISTS))
			continue;
		snprintf(o, sizeof(o), "%s/.%s", IMAP_FOLDER_ROOT, l.v[i].name);
		snprintf(n, sizeof(n), "%s/.%s%s", IMAP_FOLDER_ROOT, t,
		    l.v[i].name + fl);
		if (renameat2(AT_FDCWD, o, AT_FDCWD, n, RENAME_NOREPLACE) ==
		    -1) {
			e = errno == EEXIST ? IMAP_FOLDER_ERR_EXISTS :
			    errno == ENOENT ? IMAP_FOLDER_ERR_NONEXISTENT :
			    sys_err("rename", l.v[i].name);
			goto undo;
		}
		done++;
		forget(ix, o);
		forget(ix, n);
	}
	if (fs_fsync_dir(IMAP_FOLDER_ROOT) == -1)
		log_warn("folder %s: fsync", from);
	if (folder_subs_rename(f, t) == -1)
		log_warnx("folder %s: subscriptions not renamed", from);
	goto out;
undo:
	/* Put back what moved, so the tree is as the client last saw it. */
	for (i = lo; i < hi && done > 0; i++) {
		char o[IMAP_FOLDER_PATH_MAX], n[IMAP_FOLDER_PATH_MAX + 2];

		if (!(l.v[i].flags & IMAP_FOLDER_EXISTS))
			continue;
		snprintf(o, sizeof(o), "%s/.%s", IMAP_FOLDER_ROOT, l.v[i].name);
		snprintf(n, sizeof(n), "%s/.%s%s", IMAP_FOLDER_ROOT, t,
		    l.v[i].name + fl);
		if (renameat2(AT_FDCWD, n, AT_FDCWD, o, RENAME_NOREPLACE) ==
		    -1)
			log_warn("folder %s: undoing the rename", o);
		done--;
	}
out:
	imap_folder_list_free(&l);
	return e;
}

/* --- the default folders --- */

int
imap_folder_defaults(void)
{
	static const char *const names[] = {
		"Sent", "Drafts", "Trash", "Junk", "Archive",
	};
	const char	*mark = IMAP_FOLDER_ROOT "/" IMAP_FOLDER_DEFAULTS_MARK;
	struct stat	 st;
	size_t		 i;
	int		 fd, rc = 0;

	if (stat(mark, &st) == 0)
		return 0;
	if (errno != ENOENT)
		return -1;
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum imap_folder_err e = imap_folder_create(names[i]);

		if (e != IMAP_FOLDER_OK && e != IMAP_FOLDER_ERR_EXISTS) {
			rc = -1;
			continue;
		}
		if (imap_folder_subscribe(names[i], 1) == -1)
			rc = -1;
	}
	/* Not marked when something failed: the next login tries again. */
	if (rc == 0) {
		if ((fd = open(mark, O_WRONLY | O_CREAT | O_NOFOLLOW |
		    O_CLOEXEC, 0600)) == -1)
			return -1;
		close(fd);
	}
	return rc;
}
