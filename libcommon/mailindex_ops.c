/*
 * mailindex_ops.c - what a session does to a folder through the index:
 * STORE (renaming files to their new flags), EXPUNGE, APPEND, COPY and
 * MOVE, opening a message's file, the cached ENVELOPE/BODYSTRUCTURE
 * strings, and the folder's keyword letters.
 *
 * Runs in the mail process as the mail-store uid, chrooted in the
 * user's directory. File names come from the index (checked: no '/')
 * or from our own making. The file system is changed before the index,
 * so a crash between the two leaves a file the next sync reads right:
 * a renamed file is a flag change, a deleted one an expunge, a new one
 * a new message.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "maildir.h"
#include "mailindex_int.h"
#include "uidlist.h"

static int	keywords_load(struct mailindex_folder *);

/*
 * Finds the file whose base is that of name, in cur/ then new/, after
 * someone renamed it: 0 and its name, or -1 (ENOENT).
 */
static int
find_file(struct mailindex_folder *f, const char *name, char *out,
    size_t outsz, int *in_new)
{
	static const char *const sub[2] = { "cur", "new" };
	size_t		 bl = strcspn(name, ":");
	struct dirent	*de;
	DIR		*d;
	int		 i, fd;

	for (i = 0; i < 2; i++) {
		if ((fd = openat(f->dirfd, sub[i], O_RDONLY | O_DIRECTORY |
		    O_CLOEXEC | O_NOFOLLOW)) == -1)
			continue;
		if ((d = fdopendir(fd)) == NULL) {
			close(fd);
			continue;
		}
		while ((de = readdir(d)) != NULL)
			if (strncmp(de->d_name, name, bl) == 0 &&
			    (de->d_name[bl] == '\0' || de->d_name[bl] == ':') &&
			    strlen(de->d_name) < outsz) {
				strlcpy(out, de->d_name, outsz);
				*in_new = i == 1;
				closedir(d);
				return 0;
			}
		closedir(d);
	}
	errno = ENOENT;
	return -1;
}

static void
msg_path(char *out, size_t outsz, int in_new, const char *name)
{
	snprintf(out, outsz, "%s/%s", in_new ? "new" : "cur", name);
}

/*
 * O_NOATIME: reading mail is no reason to write its inode (the mail
 * process owns the files, which the flag requires; nothing in a Maildir
 * reads atime).
 */
static int
open_ro(struct mailindex_folder *f, const char *path)
{
	int fd;

	fd = openat(f->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NOATIME);
	if (fd == -1 && errno == EPERM)	/* another owner's file */
		fd = openat(f->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	return fd;
}

int
mailindex_open_rec(struct mailindex_folder *f, const struct mailindex_msg *m)
{
	char	path[300], name[sizeof(m->name)];
	int	fd, in_new;

	msg_path(path, sizeof(path), m->in_new, m->name);
	fd = open_ro(f, path);
	if (fd == -1 && errno == ENOENT &&
	    find_file(f, m->name, name, sizeof(name), &in_new) == 0) {
		msg_path(path, sizeof(path), in_new, name);
		fd = open_ro(f, path);
	}
	return fd;
}

int
mailindex_open_msg(struct mailindex_folder *f, uint32_t uid)
{
	struct mailindex_msg	m;
	int			r;

	if ((r = mailindex_get(f, uid, &m)) != 1) {
		if (r == 0)
			errno = ENOENT;
		return -1;
	}
	return mailindex_open_rec(f, &m);
}

static void
apply(enum mailindex_flag_op op, const struct keywords_flags *cur,
    const struct keywords_flags *arg, struct keywords_flags *out)
{
	switch (op) {
	case MAILINDEX_FLAGS_SET:
		*out = *arg;
		break;
	case MAILINDEX_FLAGS_ADD:
		out->sys = cur->sys | arg->sys;
		out->kw = cur->kw | arg->kw;
		break;
	case MAILINDEX_FLAGS_REMOVE:
		out->sys = cur->sys & ~arg->sys;
		out->kw = cur->kw & ~arg->kw;
		break;
	}
}

/*
 * Renames m's file to carry flags (op applied to what the file says,
 * should someone have renamed it meanwhile), into cur/. 1 done, 2 done
 * from a name another program gave it (its flags are in the result),
 * 0 the file is gone, -1 error.
 */
static int
rename_flags(struct mailindex_folder *f, struct mailindex_msg *m,
    enum mailindex_flag_op op, const struct keywords_flags *arg)
{
	struct keywords_flags	nf;
	char			from[300], to[300], nn[256];
	int			try;

	for (try = 0; try < 2; try++) {
		apply(op, &m->flags, arg, &nf);
		if (keywords_flags_name(nn, sizeof(nn), m->name, &nf) == -1) {
			errno = ENAMETOOLONG;
			return -1;
		}
		msg_path(from, sizeof(from), m->in_new, m->name);
		msg_path(to, sizeof(to), 0, nn);
		if (strcmp(from, to) == 0 ||
		    renameat(f->dirfd, from, f->dirfd, to) == 0) {
			mi_quick_name(f, m->in_new, m->name, -1);
			mi_quick_name(f, 0, nn, 1);
			strlcpy(m->name, nn, sizeof(m->name));
			m->in_new = 0;
			m->flags = nf;
			return try == 0 ? 1 : 2;
		}
		if (errno != ENOENT)
			return -1;
		if (find_file(f, m->name, m->name, sizeof(m->name),
		    &m->in_new) == -1)
			return 0;
		if (keywords_flags_parse(m->name, &m->flags) == -1)
			memset(&m->flags, 0, sizeof(m->flags));
	}
	return 0;
}

static int
store_once(struct mailindex_folder *f, const uint32_t *uids, size_t n,
    enum mailindex_flag_op op, const struct keywords_flags *arg,
    uint64_t unchangedsince, uint32_t **failed, size_t *nfailed)
{
	struct mi_group		g;
	struct mi_fhdr		h;
	struct mailindex_msg	m;
	struct keywords_flags	nf = { 0, 0 };
	struct view_update {
		size_t		seq;
		uint64_t	modseq;
	}			*upd;
	size_t			i, seq, nupd = 0, put = 0;
	int			r, ok = 0, quick = 0, current = 0, e;

	/* The view takes our changes only once they are all in. */
	if ((upd = calloc(n ? n : 1, sizeof(*upd))) == NULL)
		return -1;
	memset(&h, 0, sizeof(h));
	if (mi_begin(f->ix, &g) == -1) {
		free(upd);
		return -1;
	}
	if ((r = mi_fhdr_get(f, &g, &h)) != 1) {
		if (r == 0)
			errno = ENOENT;	/* never synced: nothing to store */
		goto out;
	}
	quick = mi_quick_pre(f, h.highestmodseq);
	/* The view is the index: with only our changes it stays so. */
	current = h.highestmodseq == f->highestmodseq &&
	    h.uidvalidity == f->uidvalidity;
	for (i = 0; i < n; i++) {
		if ((r = mi_msg_get(f, &g, uids[i], &m)) == -1)
			goto out;
		if (r == 0)
			continue;
		if (unchangedsince != 0 && m.modseq > unchangedsince) {
			if (failed != NULL)
				(*failed)[(*nfailed)++] = uids[i];
			continue;
		}
		apply(op, &m.flags, arg, &nf);
		if (nf.sys == m.flags.sys && nf.kw == m.flags.kw)
			continue;	/* no change, no new MODSEQ */
		if ((r = rename_flags(f, &m, op, arg)) == -1) {
			log_warn("%s: uid %u: rename", f->path, uids[i]);
			goto out;
		}
		if (r == 0)
			continue;	/* expunged by someone else */
		/*
		 * Our own change is not reported back to us by the next sync,
		 * unless another session or program changed the message
		 * since we last looked: then the next sync sends its FETCH,
		 * with the flags both made (RFC 3501 6.4.6: even after STORE
		 * .SILENT).
		 */
		seq = r == 1 ? mailindex_uid_seq(f, uids[i]) : 0;
		if (seq == 0 || f->modseqs[seq - 1] != m.modseq) {
			seq = 0;
			current = 0;
		}
		m.modseq = ++h.highestmodseq;
		if (mi_msg_put(f, &g, &m) == -1)
			goto out;
		put++;
		if (seq != 0) {
			upd[nupd].seq = seq;
			upd[nupd++].modseq = m.modseq;
		}
	}
	if (mi_fhdr_put(f, &g, &h) == -1)
		goto out;
	ok = 1;
out:
	/*
	 * A CDB group undoes nothing: records written before a failure
	 * stay, and HIGHESTMODSEQ must still cover their MODSEQs (a later
	 * change reusing one would hide from CONDSTORE clients).
	 */
	e = errno;
	if (!ok && put > 0)
		(void)mi_fhdr_put(f, &g, &h);
	if (mi_end(f->ix, &g, ok) == -1) {
		free(upd);
		errno = ok ? errno : e;
		return -1;
	}
	for (i = 0; i < nupd; i++)
		f->modseqs[upd[i].seq - 1] = upd[i].modseq;
	free(upd);
	/* The next sync need not load the view again. */
	if (current)
		f->highestmodseq = h.highestmodseq;
	mi_quick_post(f, quick, h.highestmodseq);
	return 0;
}

int
mailindex_store(struct mailindex_folder *f, const uint32_t *uids, size_t n,
    enum mailindex_flag_op op, const struct keywords_flags *arg,
    uint64_t unchangedsince, uint32_t **failed, size_t *nfailed)
{
	int try;

	if (failed != NULL) {
		*nfailed = 0;
		if ((*failed = calloc(n ? n : 1, sizeof(**failed))) == NULL)
			return -1;
	}
	for (try = 0; try < 2; try++) {
		if (mi_check(f->ix) == -1)
			break;
		if (store_once(f, uids, n, op, arg, unchangedsince, failed,
		    nfailed) == 0)
			return 0;
		if (!f->ix->corrupt || mi_rebuild(f) == -1)
			break;
		if (failed != NULL)
			*nfailed = 0;
	}
	if (failed != NULL) {
		free(*failed);
		*failed = NULL;
	}
	return -1;
}

/* Drops expunged UIDs from dovecot-uidlist; the next sync would too. */
static void
uidlist_drop(struct mailindex_folder *f, const uint32_t *uids, size_t n)
{
	struct uidlist		*l;
	struct uidlist_error	 err;
	struct dotlock		 lk;
	size_t			 i;

	if (uidlist_lock(f->dirfd, f->ix->lock_wait, &lk) != 1)
		return;
	if (uidlist_read_locked(f->dirfd, &l, &err) == 1) {
		for (i = 0; i < n; i++)
			(void)uidlist_remove(l, uids[i]);
		if (uidlist_write(&lk, l) == -1)
			log_warn("%s/%s: write", f->path, UIDLIST_FILE);
		uidlist_free(l);
	}
	dotlock_release(&lk);
}

/*
 * With deleted_only (IMAP's EXPUNGE), a message is removed only if it
 * still has \Deleted (T) under the lock: in its record, and in its
 * file's name when another program renamed it meanwhile (an undelete
 * in Dovecot or mutt); done gets the UIDs removed (*ndone of them).
 */
static int
expunge_once(struct mailindex_folder *f, const uint32_t *uids, size_t n,
    int deleted_only, uint32_t *done, size_t *ndone)
{
	struct mi_group		g;
	struct mi_fhdr		h;
	struct mailindex_msg	m;
	struct keywords_flags	now;
	char			path[300];
	size_t			i;
	int			r, ok = 0, quick = 0;

	*ndone = 0;
	memset(&h, 0, sizeof(h));
	if (mi_begin(f->ix, &g) == -1)
		return -1;
	if ((r = mi_fhdr_get(f, &g, &h)) != 1) {
		ok = r == 0;
		goto out;
	}
	quick = mi_quick_pre(f, h.highestmodseq);
	for (i = 0; i < n; i++) {
		if ((r = mi_msg_get(f, &g, uids[i], &m)) == -1)
			goto out;
		if (r == 0)
			continue;
		if (deleted_only && !(m.flags.sys & KEYWORDS_TRASHED))
			continue;
		msg_path(path, sizeof(path), m.in_new, m.name);
		if (unlinkat(f->dirfd, path, 0) == 0)
			mi_quick_name(f, m.in_new, m.name, -1);
		else {
			if (errno != ENOENT)
				goto fail;
			/* Renamed by another program: the verify fails. */
			if (find_file(f, m.name, m.name, sizeof(m.name),
			    &m.in_new) == 0) {
				if (deleted_only && (keywords_flags_parse(m.name,
				    &now) == -1 || !(now.sys & KEYWORDS_TRASHED)))
					continue;
				msg_path(path, sizeof(path), m.in_new, m.name);
				if (unlinkat(f->dirfd, path, 0) == -1 &&
				    errno != ENOENT)
					goto fail;
			}
		}
		if (mi_msg_expunge(f, &g, &h, uids[i]) == -1)
			goto out;
		done[(*ndone)++] = uids[i];
	}
	if (mi_fhdr_put(f, &g, &h) == -1)
		goto out;
	ok = 1;
	goto out;
fail:
	log_warn("%s: uid %u: unlink", f->path, uids[i]);
out:
	if (mi_end(f->ix, &g, ok) == -1)
		return -1;
	mi_quick_post(f, quick && ok, h.highestmodseq);
	return 0;
}

static int
expunge(struct mailindex_folder *f, const uint32_t *uids, size_t n,
    int deleted_only)
{
	uint32_t	*done;
	size_t		 ndone;
	int		 try, rc = -1;

	if ((done = calloc(n ? n : 1, sizeof(*done))) == NULL)
		return -1;
	for (try = 0; try < 2; try++) {
		if (mi_check(f->ix) == -1)
			break;
		if (expunge_once(f, uids, n, deleted_only, done, &ndone) ==
		    0) {
			uidlist_drop(f, done, ndone);
			rc = 0;
			break;
		}
		if (!f->ix->corrupt || mi_rebuild(f) == -1)
			break;
	}
	free(done);
	return rc;
}

int
mailindex_expunge(struct mailindex_folder *f, const uint32_t *uids, size_t n)
{
	return expunge(f, uids, n, 0);
}

int
mailindex_expunge_deleted(struct mailindex_folder *f, const uint32_t *uids,
    size_t n)
{
	return expunge(f, uids, n, 1);
}

/*
 * Delivers data (or len bytes of srcfd from off) into f's cur/ with fl's
 * letters and mtime idate (0: now); *out its name.
 */
static int
deliver_cur(struct mailindex_folder *f, const void *data, int srcfd,
    off_t off, uint64_t len, const struct keywords_flags *fl, time_t idate,
    char *out, size_t outsz)
{
	char	letters[64];

	if (keywords_flags_letters(fl, letters, sizeof(letters)) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return maildir_deliver_cur(f->path, data, data != NULL ? len : 0,
	    srcfd, off, data != NULL ? 0 : len, letters, idate, out, outsz);
}

/*
 * UIDs and index records for files just put in cur/ (dirs: mi_quick_dirs
 * before).
 */
static int
add_files(struct mailindex_folder *f, char **names, size_t n, uint32_t *uids,
    int dirs)
{
	if (mi_check(f->ix) == -1 || mi_assign(f, names, n, uids) == -1)
		return -1;
	if (mi_index_add(f, names, uids, n, dirs) == 0)
		return 0;
	/* The files and UIDs are safe; a damaged index is only rebuilt. */
	if (f->ix->corrupt)
		(void)mi_rebuild(f);
	return 0;
}

int
mailindex_append(struct mailindex_folder *f, const void *data, size_t len,
    const struct keywords_flags *fl, time_t idate, uint32_t *uid)
{
	struct keywords_flags	none = { 0, 0 };
	char			final[256], *names[1];
	int			dirs = mi_quick_dirs(f);

	*uid = 0;
	if (deliver_cur(f, data, -1, 0, len, fl != NULL ? fl : &none, idate,
	    final, sizeof(final)) == -1) {
		log_warn("%s: append", f->path);
		return -1;
	}
	names[0] = final;
	/*
	 * The message is in place: from here on a failure only means no
	 * UID yet (0: no APPENDUID); the next sync gives it one.
	 */
	(void)add_files(f, names, 1, uid, dirs);
	return 0;
}

/* A name for a copy: a new base, the source's sizes, the new flags. */
static int
copy_name(char *out, size_t outsz, const struct mailindex_msg *m,
    uint64_t size, const struct keywords_flags *fl)
{
	static unsigned long	counter;
	char			host[256], ehost[MAILDIR_HOST_MAX + 1];
	char			base[256], full[300];
	struct timeval		tv;

	if (gethostname(host, sizeof(host)) == -1)
		strlcpy(host, "localhost", sizeof(host));
	host[sizeof(host) - 1] = '\0';
	maildir_host_encode(host, ehost, sizeof(ehost));
	gettimeofday(&tv, NULL);
	if (maildir_name_base(base, sizeof(base), (long long)tv.tv_sec,
	    (long)tv.tv_usec, (long)getpid(), ++counter, ehost) == -1)
		return -1;
	if (snprintf(full, sizeof(full), "%s,S=%llu,W=%llu", base,
	    (unsigned long long)size, (unsigned long long)m->size) >=
	    (int)sizeof(full) - 40)
		return -1;
	return keywords_flags_name(out, outsz, full, fl);
}

/* The copy's keyword letters: the same names in dst's table. */
static void
map_keywords(struct mailindex_folder *src, struct mailindex_folder *dst,
    const struct keywords_flags *in, struct keywords_flags *out)
{
	int i, j;

	out->sys = in->sys;
	out->kw = 0;
	for (i = 0; i < KEYWORDS_MAX; i++) {
		const char *nm;
		char	    copy[KEYWORDS_NAME_MAX + 1];

		if (!(in->kw & (1u << i)) ||
		    (nm = mailindex_keyword_name(src, i)) == NULL)
			continue;
		strlcpy(copy, nm, sizeof(copy));
		if ((j = mailindex_keyword(dst, copy, 1)) >= 0)
			out->kw |= 1u << j;
	}
}

/* Copies one file when it cannot be linked (another file system). */
static int
copy_file(struct mailindex_folder *dst, int fd, const struct stat *st,
    const struct keywords_flags *fl, char *out, size_t outsz)
{
	return deliver_cur(dst, NULL, fd, 0, (uint64_t)st->st_size, fl,
	    st->st_mtim.tv_sec, out, outsz);
}

int
mailindex_copy(struct mailindex_folder *src, const uint32_t *uids, size_t n,
    struct mailindex_folder *dst, uint32_t *dst_uids, int move)
{
	struct mailindex_msg	 m;
	struct keywords_flags	 fl;
	struct stat		 st;
	char			**names = NULL, nn[256], from[300], to[300];
	uint32_t		*got = NULL, *moved = NULL;
	size_t			 i, k = 0, *pos = NULL;
	int			 fd, rc = -1, numbered = 0;
	int			 dirs = mi_quick_dirs(dst);

	/* Fresh letters: another session may have added keywords. */
	(void)keywords_load(src);
	if ((names = calloc(n ? n : 1, sizeof(*names))) == NULL ||
	    (pos = calloc(n ? n : 1, sizeof(*pos))) == NULL ||
	    (got = calloc(n ? n : 1, sizeof(*got))) == NULL)
		goto out;
	for (i = 0; i < n; i++) {
		dst_uids[i] = 0;
		if (mailindex_get(src, uids[i], &m) != 1)
			continue;
		msg_path(from, sizeof(from), m.in_new, m.name);
		fd = openat(src->dirfd, from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd == -1 && errno == ENOENT && find_file(src, m.name,
		    m.name, sizeof(m.name), &m.in_new) == 0) {
			msg_path(from, sizeof(from), m.in_new, m.name);
			fd = openat(src->dirfd, from, O_RDONLY | O_NOFOLLOW |
			    O_CLOEXEC);
		}
		if (fd == -1 && errno == ENOENT)
			continue;	/* expunged meanwhile */
		if (fd == -1) {
			log_warn("%s: copy of uid %u", src->path, uids[i]);
			goto out;
		}
		if (fstat(fd, &st) == -1) {
			close(fd);
			goto out;
		}
		map_keywords(src, dst, &m.flags, &fl);
		if (copy_name(nn, sizeof(nn), &m, (uint64_t)st.st_size,
		    &fl) == -1) {
			close(fd);
			errno = ENAMETOOLONG;
			goto out;
		}
		/*
		 * A hard link, as Dovecot copies: the same inode, so the
		 * same bytes and INTERNALDATE (its mtime), and no space.
		 * (By name: the chroot has no /proc for linking the fd; a
		 * rename in between fails the link, and we copy the fd.)
		 */
		msg_path(to, sizeof(to), 0, nn);
		if (linkat(src->dirfd, from, dst->dirfd, to, 0) == -1 &&
		    copy_file(dst, fd, &st, &fl, nn, sizeof(nn)) == -1) {
			log_warn("%s: copy of uid %u to %s", src->path,
			    uids[i], dst->path);
			close(fd);
			goto out;
		}
		close(fd);
		if ((names[k] = strdup(nn)) == NULL) {
			msg_path(to, sizeof(to), 0, nn);
			(void)unlinkat(dst->dirfd, to, 0);
			goto out;
		}
		pos[k++] = i;
	}
	if (k > 0 && add_files(dst, names, k, got, dirs) == -1)
		goto out;
	numbered = 1;
	for (i = 0; i < k; i++) {
		char	*blob;
		size_t	 blen;
		int	 t;
		static const enum mailindex_blob kinds[3] = {
			MAILINDEX_BLOB_ENVELOPE, MAILINDEX_BLOB_BODYSTRUCTURE,
			MAILINDEX_BLOB_HEADER };

		dst_uids[pos[i]] = got[i];
		/* The cached strings go along: the bytes are the same. */
		for (t = 0; t < 3 && got[i] != 0; t++)
			if (mailindex_blob_get(src, uids[pos[i]], kinds[t],
			    &blob, &blen) == 1) {
				(void)mailindex_blob_put(dst, got[i], kinds[t],
				    blob, blen);
				free(blob);
			}
	}
	if (move && k > 0) {
		if ((moved = calloc(k, sizeof(*moved))) == NULL)
			goto out;
		for (i = 0; i < k; i++)
			moved[i] = uids[pos[i]];
		if (mailindex_expunge(src, moved, k) == -1)
			goto out;
	}
	rc = 0;
out:
	/*
	 * A failed COPY leaves the target as it was (RFC 3501 6.4.7), so a
	 * client's retry makes no duplicates: the copies made so far go,
	 * as expunges once they have UIDs (a MOVE whose sources could not
	 * be expunged too).
	 */
	if (rc == -1 && k > 0) {
		if (numbered)
			(void)mailindex_expunge(dst, got, k);
		for (i = 0; i < k; i++)
			if (!numbered || got[i] == 0) {
				msg_path(to, sizeof(to), 0, names[i]);
				(void)unlinkat(dst->dirfd, to, 0);
			}
		for (i = 0; i < k; i++)
			dst_uids[pos[i]] = 0;
	}
	for (i = 0; names != NULL && i < k; i++)
		free(names[i]);
	free(names);
	free(pos);
	free(got);
	free(moved);
	return rc;
}

int
mailindex_blob_put(struct mailindex_folder *f, uint32_t uid,
    enum mailindex_blob kind, const void *data, size_t len)
{
	struct mailindex_blob_item it = { uid, kind, data, len };

	return mailindex_blob_put_many(f, &it, 1);
}

int
mailindex_blob_put_many(struct mailindex_folder *f,
    const struct mailindex_blob_item *v, size_t n)
{
	struct mi_group		 g;
	struct mailindex_msg	 m;
	unsigned char		 key[MI_KEY_MAX + 16];
	unsigned char		*buf = NULL, *p;
	uint32_t		 crc;
	size_t			 i, cap = 0;
	int			 r, ok = 1;

	for (i = 0; i < n; i++)
		if (v[i].len > MAILINDEX_BLOB_MAX ||
		    (v[i].kind != MAILINDEX_BLOB_ENVELOPE &&
		    v[i].kind != MAILINDEX_BLOB_BODYSTRUCTURE &&
		    v[i].kind != MAILINDEX_BLOB_HEADER)) {
			errno = EINVAL;
			return -1;
		}
	if (n == 0)
		return 0;
	if (mi_check(f->ix) == -1 || mi_begin(f->ix, &g) == -1)
		return -1;
	for (i = 0; i < n && ok; i++) {
		if (v[i].len + 4 > cap) {
			cap = v[i].len + 4 > 1024 ? v[i].len + 4 : 1024;
			if ((p = realloc(buf, cap)) == NULL) {
				ok = 0;
				break;
			}
			buf = p;
		}
		crc = mi_crc(v[i].data, v[i].len);
		memcpy(buf, &crc, 4);
		memcpy(buf + 4, v[i].data, v[i].len);
		/* Only for a message still there: an expunge drops its blobs. */
		if ((r = mi_msg_get(f, &g, v[i].uid, &m)) == 1)
			ok = mi_put(f->ix, &g, key, mi_key(f, key,
			    (char)v[i].kind, v[i].uid), buf, v[i].len + 4) == 0;
		else
			ok = r == 0;
	}
	free(buf);
	return mi_end(f->ix, &g, ok);
}

int
mailindex_blob_get(struct mailindex_folder *f, uint32_t uid,
    enum mailindex_blob kind, char **data, size_t *len)
{
	unsigned char	 key[MI_KEY_MAX + 16];
	void		*d;
	size_t		 dl;
	uint32_t	 crc;
	int		 r;

	*data = NULL;
	*len = 0;
	if (mi_check(f->ix) == -1)
		return -1;
	r = mi_get(f->ix, NULL, key, mi_key(f, key, (char)kind, uid), &d, &dl);
	if (r != 1)
		return r;
	if (dl < 4 || dl - 4 > MAILINDEX_BLOB_MAX) {
		free(d);
		return 0;	/* damaged: recomputed by the caller */
	}
	memcpy(&crc, d, 4);
	if (mi_crc((char *)d + 4, dl - 4) != crc) {
		free(d);
		return 0;
	}
	/* NUL-terminated for the caller's convenience, not counted. */
	if ((*data = malloc(dl - 4 + 1)) == NULL) {
		free(d);
		return -1;
	}
	memcpy(*data, (char *)d + 4, dl - 4);
	(*data)[dl - 4] = '\0';
	*len = dl - 4;
	free(d);
	return 1;
}

static int
keywords_load(struct mailindex_folder *f)
{
	char err[160];

	keywords_clear(&f->kw);
	keywords_init(&f->kw);
	f->kw_loaded = 0;
	if (keywords_read(f->dirfd, &f->kw, err, sizeof(err)) == -1) {
		log_warnx("%s/%s: %s", f->path, KEYWORDS_FILE, err);
		return -1;
	}
	f->kw_loaded = 1;
	return 0;
}

int
mailindex_keyword(struct mailindex_folder *f, const char *name, int create)
{
	struct dotlock	lk;
	int		i, r;

	if (!keywords_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if (keywords_load(f) == -1)
		return -1;
	if ((i = keywords_find(&f->kw, name)) >= 0 || !create) {
		if (i < 0)
			errno = ENOENT;
		return i;
	}
	if ((r = keywords_lock(f->dirfd, f->ix->lock_wait, &lk)) != 1) {
		if (r == 0)
			errno = EAGAIN;
		return -1;
	}
	/* Read again under the lock: another may have added it. */
	if (keywords_load(f) == -1 ||
	    ((i = keywords_find(&f->kw, name)) < 0 &&
	    ((i = keywords_add(&f->kw, name)) < 0 ||
	    keywords_write(&lk, &f->kw) == -1)))
		i = -1;
	r = errno;
	dotlock_release(&lk);
	errno = r;
	return i;
}

const char *
mailindex_keyword_name(struct mailindex_folder *f, int i)
{
	if (i < 0 || i >= KEYWORDS_MAX)
		return NULL;
	if (!f->kw_loaded && keywords_load(f) == -1)
		return NULL;
	return f->kw.name[i];
}
