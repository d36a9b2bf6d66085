/*
 * mailindex_sync.c - a folder's sync: reading new/ and cur/, giving new
 * files UIDs in dovecot-uidlist, bringing the index up to date with what
 * the files say, then the session's view (mailindex_view.c) with the
 * index.
 *
 * Runs in the mail process as the mail-store uid, chrooted in the
 * user's directory. The Maildir and its uidlist may be written at the
 * same time by other sessions, Dovecot, mutt or a delivery agent: they
 * are the truth, and names read from them are checked (length, no '/')
 * before use.
 *
 * Order of operations, and why:
 *  1. new/ (moved to cur/ if asked) and cur/ are listed, with their
 *     mtimes taken before and after: a directory that changed while it
 *     was read may have hidden a file being renamed, so its listing is
 *     not trusted for expunges (they wait for the next sync);
 *  2. the uidlist is read without a lock; only when a file has no UID
 *     (or the list is missing or damaged) is it locked, read again and
 *     rewritten, as Dovecot does, so that UIDs are given in one place;
 *  3. the index is changed in one CDB write group, so two sessions
 *     syncing at once apply their findings one after the other, and
 *     the second finds nothing left to do.
 * A uidlist that is missing or refused while the index still knows the
 * folder is written back from the index (same UIDVALIDITY, same UIDs):
 * the clients' caches stay right. Only with both gone does the folder
 * get a new UIDVALIDITY, as Dovecot would give it.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "maildir.h"
#include "mailindex_int.h"
#include "uidlist.h"

#define SCAN_TRIES	3

struct ent {
	char		*name;
	uint32_t	 uid;
	uint8_t		 in_new;
	uint8_t		 sized;		/* size counted before the group */
	uint64_t	 size;
};

struct scan {
	struct ent	*e;
	size_t		 n, cap;
	int		 stable;
	int		 fresh;		/* files just made: none has a UID */
	struct timespec	 mtimes[2];	/* before the listing, when stable */
	int64_t		 read_at;	/* when they were read */
	int		 skipped;	/* a file listed but not indexed */
};

static void
scan_free(struct scan *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->e[i].name);
	free(s->e);
	memset(s, 0, sizeof(*s));
}

/* A name we may use: not ".", "..", a dot file, or with control bytes. */
static int
name_ok(const char *name)
{
	size_t len = strlen(name);

	size_t i;

	if (len == 0 || len >= 256 || name[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return 0;
	return 1;
}

static int
list_dir(int dirfd, const char *sub, int in_new,
    int (*fn)(void *, int, const char *), void *arg)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, r = 0, e;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	for (;;) {
		/* A listing cut short by an error must not pass for whole. */
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0)
				r = -1;
			break;
		}
		if (name_ok(de->d_name) && (r = fn(arg, in_new,
		    de->d_name)) != 0)
			break;
	}
	e = errno;
	closedir(d);
	errno = e;
	return r == -1 ? -1 : 0;
}

static int
scan_one(void *arg, int in_new, const char *name)
{
	struct scan	*s = arg;

	if (s->n == s->cap) {
		size_t	    cap = s->cap ? s->cap * 2 : 256;
		struct ent *e;

		if ((e = reallocarray(s->e, cap, sizeof(*e))) == NULL)
			return -1;
		s->e = e;
		s->cap = cap;
	}
	if ((s->e[s->n].name = strdup(name)) == NULL)
		return -1;
	s->e[s->n].uid = 0;
	s->e[s->n].in_new = (uint8_t)in_new;
	s->e[s->n].sized = 0;
	s->e[s->n].size = 0;
	s->n++;
	return 0;
}

/*
 * Moves every file of new/ to cur/, with an empty ":2," info; the names
 * it moved (if moved is not NULL) go in moved, for \Recent.
 */
static void
new_to_cur(int dirfd, struct scan *moved)
{
	struct dirent	*de;
	DIR		*d;
	int		 nfd, cfd;
	char		 to[300];

	if ((nfd = openat(dirfd, "new", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return;
	if ((cfd = openat(dirfd, "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1) {
		close(nfd);
		return;
	}
	if ((d = fdopendir(nfd)) == NULL) {
		close(nfd);
		close(cfd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (!name_ok(de->d_name))
			continue;
		if (snprintf(to, sizeof(to), "%s%s", de->d_name,
		    strchr(de->d_name, ':') ? "" : ":2,") >= 256)
			continue;
		/* ENOENT: someone else moved it first; it is theirs. */
		if (renameat2(nfd, de->d_name, cfd, to, RENAME_NOREPLACE) ==
		    -1 || moved == NULL)
			continue;
		if (moved->n == moved->cap) {
			size_t	    cap = moved->cap ? moved->cap * 2 : 64;
			struct ent *e;

			if ((e = reallocarray(moved->e, cap, sizeof(*e))) ==
			    NULL)
				continue;	/* only \Recent is lost */
			moved->e = e;
			moved->cap = cap;
		}
		if ((moved->e[moved->n].name = strdup(to)) != NULL)
			moved->n++;
	}
	closedir(d);
	close(cfd);
}

int
mi_dir_mtimes(int dirfd, struct timespec t[2])
{
	struct stat st;

	if (fstatat(dirfd, "new", &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	t[0] = st.st_mtim;
	if (fstatat(dirfd, "cur", &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	t[1] = st.st_mtim;
	return 0;
}

int
mi_list_folder(int dirfd, int (*fn)(void *, int, const char *), void *arg,
    struct timespec mtimes[2], int64_t *read_at)
{
	struct timespec	b[2];

	/* Before the listing: a change after it is newer. */
	*read_at = mi_now_ns();
	if (mi_dir_mtimes(dirfd, mtimes) == -1 ||
	    list_dir(dirfd, "new", 1, fn, arg) == -1 ||
	    list_dir(dirfd, "cur", 0, fn, arg) == -1 ||
	    mi_dir_mtimes(dirfd, b) == -1)
		return -1;
	return memcmp(mtimes, b, sizeof(b)) == 0;
}

static int
scan(struct mailindex_folder *f, struct scan *s)
{
	int	try, r;

	for (try = 0; try < SCAN_TRIES; try++) {
		scan_free(s);
		r = mi_list_folder(f->dirfd, scan_one, s, s->mtimes,
		    &s->read_at);
		if (r == -1) {
			scan_free(s);
			return -1;
		}
		if (r == 1) {
			s->stable = 1;
			return 0;
		}
	}
	return 0;
}

static int
cmp_uid(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int
cmp32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

struct restore {
	struct uidlist	*l;
	size_t		 keylen;
};

static int
restore_one(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	struct restore		*r = arg;
	struct mailindex_msg	 m;
	uint32_t		 uid;

	if (klen != r->keylen + 5)
		return 0;
	uid = (uint32_t)k[klen - 4] << 24 | (uint32_t)k[klen - 3] << 16 |
	    (uint32_t)k[klen - 2] << 8 | k[klen - 1];
	if (mi_msg_decode(d, dlen, uid, &m) == -1 || uid < r->l->nextuid)
		return 0;
	r->l->nextuid = uid;
	return uidlist_append(r->l, m.name, NULL) == -1 ? -1 : 0;
}

/*
 * The uidlist as the index remembers it, for a folder whose file is
 * gone or damaged. NULL (and no error) when the index does not know the
 * folder.
 */
static struct uidlist *
restore_uidlist(struct mailindex_folder *f)
{
	struct mi_fhdr	 h;
	struct restore	 r;
	unsigned char	 key[MI_KEY_MAX + 16];

	if (mi_fhdr_get(f, NULL, &h) != 1 || h.uidvalidity == 0)
		return NULL;
	if ((r.l = uidlist_new(h.uidvalidity)) == NULL)
		return NULL;
	r.keylen = f->keylen;
	if (mi_scan(f->ix, NULL, key, mi_key(f, key, 'M', 0) - 4, NULL, 0,
	    restore_one, &r) == -1) {
		uidlist_free(r.l);
		return NULL;
	}
	if (r.l->nextuid < h.nextuid)
		r.l->nextuid = h.nextuid;
	return r.l;
}

static struct uidlist *
restore_cb(void *arg)
{
	return restore_uidlist(arg);
}

/*
 * The uidlist with a UID for every listed file (those it could not give
 * one keep UID 0 and wait for the next sync). NULL with errno.
 */
/*
 * The UIDs of s's files from the uidlist the last full sync read (f->ul),
 * if the file is still that one and every file has one: 1, else 0.
 */
static int
uids_kept(struct mailindex_folder *f, struct scan *s)
{
	struct stat	st;
	size_t		i;

	if (f->ul == NULL || fstatat(f->dirfd, UIDLIST_FILE, &st,
	    AT_SYMLINK_NOFOLLOW) == -1 || st.st_dev != f->ul->file.dev ||
	    st.st_ino != f->ul->file.ino || st.st_size != f->ul->file.size)
		return 0;
	for (i = 0; i < s->n; i++)
		if ((s->e[i].uid = uidlist_lookup(f->ul, s->e[i].name)) == 0)
			return 0;
	f->unnumbered = 0;
	return 1;
}

/* Keeps l (the list sync_once used) as f->ul, or frees it. */
static void
uids_keep(struct mailindex_folder *f, struct uidlist *l)
{
	if (l == f->ul)
		return;
	uidlist_free(f->ul);
	f->ul = NULL;
	if (l->file.ino != 0 && l->n <= MI_UIDLIST_KEEP_MAX)
		f->ul = l;
	else
		uidlist_free(l);
}

static struct uidlist *
uids_assign(struct mailindex_folder *f, struct scan *s)
{
	struct uidlist	*l;
	char		**names;
	uint32_t	*uids;
	size_t		 i;
	int		 e;

	if (!s->fresh && uids_kept(f, s))
		return f->ul;

	names = calloc(s->n ? s->n : 1, sizeof(*names));
	uids = calloc(s->n ? s->n : 1, sizeof(*uids));
	if (names == NULL || uids == NULL) {
		free(names);
		free(uids);
		return NULL;
	}
	for (i = 0; i < s->n; i++)
		names[i] = s->e[i].name;
	l = uidlist_assign(f->dirfd, f->path, f->ix->lock_wait, names, s->n,
	    (s->stable ? UIDLIST_COMPLETE : 0) | (s->fresh ? UIDLIST_FRESH : 0),
	    uids, restore_cb, f);
	e = errno;
	f->unnumbered = l == NULL;
	for (i = 0; l != NULL && i < s->n; i++)
		if ((s->e[i].uid = uids[i]) == 0)
			f->unnumbered = 1;
	free(names);
	free(uids);
	errno = e;
	return l;
}

struct loadarg {
	struct mailindex_msg	*m;
	size_t			 n, cap;
	size_t			 keylen;
	struct mailindex	*ix;
};

static int
load_one(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	struct loadarg	*a = arg;
	uint32_t	 uid;

	if (klen != a->keylen + 5)
		goto bad;
	uid = (uint32_t)k[klen - 4] << 24 | (uint32_t)k[klen - 3] << 16 |
	    (uint32_t)k[klen - 2] << 8 | k[klen - 1];
	if (a->n == a->cap) {
		size_t			 cap = a->cap ? a->cap * 2 : 256;
		struct mailindex_msg	*m;

		if ((m = reallocarray(a->m, cap, sizeof(*m))) == NULL)
			return -1;
		a->m = m;
		a->cap = cap;
	}
	if (mi_msg_decode(d, dlen, uid, &a->m[a->n]) == -1)
		goto bad;
	a->n++;
	return 0;
bad:
	a->ix->corrupt = 1;
	errno = EIO;
	return -1;
}

/* A file without W=, counted as clients will receive it (CRLF ends). */
static int
file_vsize(struct mailindex_folder *f, const char *path, uint64_t *size)
{
	struct maildir_vsize	v;
	char			buf[65536];
	ssize_t			r;
	int			fd;

	if ((fd = openat(f->dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return -1;
	maildir_vsize_init(&v);
	while ((r = read(fd, buf, sizeof(buf))) > 0)
		maildir_vsize_feed(&v, buf, (size_t)r);
	close(fd);
	if (r < 0)
		return -1;
	*size = maildir_vsize_end(&v);
	return 0;
}

/*
 * RFC822.SIZE and INTERNALDATE of a file new to the index. -1 with
 * errno: ENOENT gone, EINVAL not a message (a directory, a link), else
 * unreadable for now.
 */
static int
msg_fill(struct mailindex_folder *f, const struct ent *e,
    struct mailindex_msg *m)
{
	char		path[300];
	struct stat	st;

	snprintf(path, sizeof(path), "%s/%s", e->in_new ? "new" : "cur",
	    e->name);
	if (fstatat(f->dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return -1;
	if (!S_ISREG(st.st_mode)) {
		errno = EINVAL;
		return -1;
	}
	memset(m, 0, sizeof(*m));
	m->uid = e->uid;
	m->in_new = e->in_new;
	strlcpy(m->name, e->name, sizeof(m->name));
	m->idate = st.st_mtim.tv_sec;
	if (keywords_flags_parse(e->name, &m->flags) == -1)
		memset(&m->flags, 0, sizeof(m->flags));
	if (e->sized) {
		m->size = e->size;
		return 0;
	}
	if (maildir_name_vsize(e->name, &m->size) == 0)
		return 0;
	return file_vsize(f, path, &m->size);
}

/* The UIDs the index has, ascending. */
struct uidarr {
	uint32_t	*u;
	size_t		 n, cap, keylen;
};

static int
uid_one(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	struct uidarr	*a = arg;
	uint32_t	*u;

	(void)d;
	(void)dlen;
	if (klen != a->keylen + 5)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 256;

		if ((u = reallocarray(a->u, cap, sizeof(*u))) == NULL)
			return -1;
		a->u = u;
		a->cap = cap;
	}
	a->u[a->n++] = (uint32_t)k[klen - 4] << 24 |
	    (uint32_t)k[klen - 3] << 16 | (uint32_t)k[klen - 2] << 8 |
	    k[klen - 1];
	return 0;
}

/*
 * Counts, before the write group, the sizes of files new to the index
 * that have no W= (reading them: a migrated mailbox may have thousands),
 * so that the other sessions' writes do not wait for the reads.
 * Best effort: what it does not count, the group counts.
 */
static void
presize(struct mailindex_folder *f, struct scan *s)
{
	struct uidarr	 a;
	unsigned char	 key[MI_KEY_MAX + 16];
	char		 path[300];
	uint64_t	 w;
	size_t		 i, lo, hi;
	int		 any = 0;

	for (i = 0; i < s->n && !any; i++)
		any = s->e[i].uid != 0 && maildir_name_vsize(s->e[i].name,
		    &w) == -1;
	if (!any)
		return;
	memset(&a, 0, sizeof(a));
	a.keylen = f->keylen;
	if (mi_scan(f->ix, NULL, key, mi_key(f, key, 'M', 0) - 4, NULL, 0,
	    uid_one, &a) == -1) {
		free(a.u);
		return;
	}
	for (i = 0; i < s->n; i++) {
		struct ent *e = &s->e[i];

		if (e->uid == 0 || maildir_name_vsize(e->name, &w) == 0)
			continue;
		for (lo = 0, hi = a.n; lo < hi;) {	/* in the index? */
			size_t mid = lo + (hi - lo) / 2;

			if (a.u[mid] < e->uid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < a.n && a.u[lo] == e->uid)
			continue;
		snprintf(path, sizeof(path), "%s/%s", e->in_new ? "new" : "cur",
		    e->name);
		if (file_vsize(f, path, &e->size) == 0)
			e->sized = 1;
	}
	free(a.u);
}

/*
 * After msg_fill failed: a file unreadable for now is tried again by the
 * next sync (no quick state may hide it); one gone since the listing, or
 * no message at all, is not worth a full sync each time.
 */
static void
skipped(struct scan *s)
{
	if (errno != ENOENT && errno != EINVAL)
		s->skipped = 1;
}

static int
same_base(const char *a, const char *b)
{
	size_t la = strcspn(a, ":"), lb = strcspn(b, ":");

	return la == lb && memcmp(a, b, la) == 0;
}

static int
sync_index(struct mailindex_folder *f, struct scan *s, struct uidlist *l,
    int view, struct mailindex_changes *ch)
{
	struct mi_group		 g;
	struct mi_fhdr		 h;
	struct loadarg		 a;
	struct mailindex_msg	 m;
	unsigned char		 key[MI_KEY_MAX + 16];
	size_t			 i, j;
	int			 r, ok = 0;

	memset(&a, 0, sizeof(a));
	a.keylen = f->keylen;
	a.ix = f->ix;
	if (mi_begin(f->ix, &g) == -1)
		return -1;
	if ((r = mi_fhdr_get(f, &g, &h)) == -1)
		goto out;
	if (r == 0 || h.uidvalidity != l->uidvalidity) {
		if (r == 1)
			log_warnx("%s: UIDVALIDITY %u became %u: index of the "
			    "folder restarted", f->path, h.uidvalidity,
			    l->uidvalidity);
		if (mi_del_prefix(f->ix, &g, f->key, f->keylen) == -1)
			goto out;
		memset(&h, 0, sizeof(h));
		h.uidvalidity = l->uidvalidity;
		h.highestmodseq = h.floor = mi_modseq_base();
	}
	if (mi_scan(f->ix, &g, key, mi_key(f, key, 'M', 0) - 4, NULL, 0,
	    load_one, &a) == -1)
		goto out;
	if (s->n > 1)
		qsort(s->e, s->n, sizeof(*s->e), cmp_uid);
	for (i = j = 0; i < s->n || j < a.n;) {
		struct ent		*e = i < s->n ? &s->e[i] : NULL;
		struct mailindex_msg	*x = j < a.n ? &a.m[j] : NULL;

		if (e != NULL && e->uid == 0) {		/* no UID yet */
			i++;
			continue;
		}
		if (e != NULL && i + 1 < s->n && s->e[i + 1].uid == e->uid) {
			/* In new/ and cur/ at once, mid-move: take one. */
			i++;
			continue;
		}
		if (x != NULL && (e == NULL || x->uid < e->uid)) {
			if (s->stable && mi_msg_expunge(f, &g, &h, x->uid) ==
			    -1)
				goto out;
			j++;
			continue;
		}
		if (x == NULL || e->uid < x->uid) {
			if (msg_fill(f, e, &m) == 0) {
				m.modseq = ++h.highestmodseq;
				if (mi_msg_put(f, &g, &m) == -1)
					goto out;
			} else
				skipped(s);
			i++;
			continue;
		}
		/* Both: the file's name says its flags now. */
		if (strcmp(x->name, e->name) != 0 || x->in_new != e->in_new) {
			struct keywords_flags fl;

			if (!same_base(x->name, e->name)) {
				/* Another message under an old UID: replace. */
				if (mi_msg_expunge(f, &g, &h, x->uid) == -1 ||
				    msg_fill(f, e, &m) == -1) {
					skipped(s);
					goto next;
				}
				m.modseq = ++h.highestmodseq;
				if (mi_msg_put(f, &g, &m) == -1)
					goto out;
				goto next;
			}
			if (keywords_flags_parse(e->name, &fl) == -1)
				memset(&fl, 0, sizeof(fl));
			if (fl.sys != x->flags.sys || fl.kw != x->flags.kw) {
				x->flags = fl;
				x->modseq = ++h.highestmodseq;
			}
			strlcpy(x->name, e->name, sizeof(x->name));
			x->in_new = e->in_new;
			if (mi_msg_put(f, &g, x) == -1)
				goto out;
		}
next:
		i++;
		j++;
	}
	h.nextuid = l->nextuid;
	if (mi_fhdr_put(f, &g, &h) == -1)
		goto out;
	if (view && mi_view_load(f, &g, ch) == -1)
		goto out;
	ok = 1;
out:
	free(a.m);
	return mi_end(f->ix, &g, ok);
}


/*
 * listed (if not NULL) gets what the listing leaves the quick check
 * (mailindex_quick.c): taken after new/ was moved to cur/, so that a
 * SELECT that moved new mail leaves a state the next sync can trust.
 */
static int
sync_once(struct mailindex_folder *f, int flags, int view,
    struct mailindex_changes *ch, struct mi_listing *listed)
{
	struct scan	 s, moved;
	struct uidlist	*l;
	size_t		 i;
	int		 r;

	memset(&s, 0, sizeof(s));
	memset(&moved, 0, sizeof(moved));
	f->ix->full_syncs++;
	if (flags & MAILINDEX_SYNC_NEW_TO_CUR)
		new_to_cur(f->dirfd, ch != NULL ? &moved : NULL);
	if (scan(f, &s) == -1) {
		log_warn("%s: reading the folder", f->path);
		scan_free(&moved);
		return -1;
	}
	if (listed != NULL) {
		memset(listed, 0, sizeof(*listed));
		memcpy(listed->mtimes, s.mtimes, sizeof(listed->mtimes));
		listed->read_at = s.read_at;
		listed->digest.valid = s.stable;
		for (i = 0; i < s.n; i++)
			mi_digest_name(&listed->digest, s.e[i].in_new,
			    s.e[i].name, 1);
	}
	if ((l = uids_assign(f, &s)) == NULL) {
		r = errno;
		scan_free(&s);
		scan_free(&moved);
		errno = r;
		return -1;
	}
	presize(f, &s);
	r = sync_index(f, &s, l, view, ch);
	/*
	 * A file the index could not take (unreadable for now) is in the
	 * listing's digest: a quick state would hide it for good.
	 */
	if (listed != NULL)
		listed->have = s.stable && !s.skipped;
	if (r == 0 && ch != NULL && moved.n > 0) {
		uint32_t uid;

		for (i = 0; i < moved.n; i++)
			if ((uid = uidlist_lookup(l, moved.e[i].name)) != 0 &&
			    mi_push32(&ch->recent, &ch->nrecent, uid) == -1)
				break;
		if (ch->nrecent > 1)
			qsort(ch->recent, ch->nrecent, sizeof(*ch->recent),
			    cmp32);
	}
	uids_keep(f, l);
	scan_free(&s);
	scan_free(&moved);
	return r;
}

int
mailindex_sync(struct mailindex_folder *f, int flags,
    struct mailindex_changes *ch)
{
	struct mi_fhdr		h;
	struct mi_listing	listed;
	int			try;

	if (ch != NULL)
		memset(ch, 0, sizeof(*ch));
	if (mi_check_now(f->ix) == -1)
		return -1;
	if (mi_quick_check(f, flags, &h) && h.highestmodseq == f->q.modseq) {
		/* The records changed only as this session changed them. */
		if (h.highestmodseq == f->highestmodseq &&
		    h.uidvalidity == f->uidvalidity)
			return 0;
		if (mi_view_load(f, NULL, ch) == 0)
			return 0;
		mailindex_changes_free(ch);
	}
	/* Another process may have named a new keyword: read it again. */
	f->kw_loaded = 0;
	for (try = 0; try < 2; try++) {
		if (mi_check_now(f->ix) == -1)
			return -1;
		if (sync_once(f, flags, 1, ch, &listed) == 0) {
			/* A file left without a UID is tried again next time. */
			mi_quick_note(f, flags, &listed, !f->unnumbered);
			return 0;
		}
		if (!f->ix->corrupt)
			return -1;
		/* A damaged index: thrown away, made again from the files. */
		mailindex_changes_free(ch);
	}
	return -1;
}

int
mi_rebuild(struct mailindex_folder *f)
{
	if (mi_reset(f->ix) == -1)
		return -1;
	/* The session's view stays: its next sync reports the difference. */
	return sync_once(f, 0, 0, NULL, NULL);
}

int
mi_assign(struct mailindex_folder *f, char **names, size_t n, uint32_t *uids)
{
	struct scan	 s;
	struct uidlist	*l;
	size_t		 i;

	memset(&s, 0, sizeof(s));
	if ((s.e = calloc(n ? n : 1, sizeof(*s.e))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		s.e[i].name = names[i];
	s.n = n;
	s.stable = 0;		/* a partial listing: it must prune nothing */
	s.fresh = 1;		/* files just put in place */
	l = uids_assign(f, &s);
	for (i = 0; i < n; i++)
		uids[i] = s.e[i].uid;
	free(s.e);
	if (l == NULL)
		return -1;
	uidlist_free(l);
	return 0;
}

int
mi_index_add(struct mailindex_folder *f, char **names, const uint32_t *uids,
    size_t n, int dirs)
{
	struct mi_group		g;
	struct mi_fhdr		h;
	struct mailindex_msg	m;
	struct ent		e;
	size_t			i;
	int			r, ok = 0, quick = 0;

	memset(&h, 0, sizeof(h));
	if (mi_begin(f->ix, &g) == -1)
		return -1;
	if ((r = mi_fhdr_get(f, &g, &h)) != 1) {
		/* A folder never synced: its first sync adds them. */
		ok = r == 0;
		goto out;
	}
	quick = dirs && f->q.on && h.highestmodseq == f->q.modseq;
	mi_quick_begin(f);
	for (i = 0; i < n; i++) {
		/* One left out waits for a full sync: the next is one. */
		if (uids[i] == 0) {
			quick = 0;
			continue;
		}
		memset(&e, 0, sizeof(e));
		e.name = names[i];
		e.uid = uids[i];
		if (msg_fill(f, &e, &m) == -1) {
			quick = 0;
			continue;
		}
		mi_quick_name(f, 0, names[i], 1);
		m.modseq = ++h.highestmodseq;
		if (mi_msg_put(f, &g, &m) == -1)
			goto out;
		if (uids[i] >= h.nextuid)
			h.nextuid = uids[i] + 1;
	}
	if (mi_fhdr_put(f, &g, &h) == -1)
		goto out;
	ok = 1;
out:
	if (mi_end(f->ix, &g, ok) == -1)
		return -1;
	mi_quick_post(f, quick && ok, h.highestmodseq);
	return 0;
}
