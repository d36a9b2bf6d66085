/*
 * mailindex_view.c - a session's view of a folder: the UIDs in sequence
 * order and the MODSEQ of each as of its last sync, the difference a
 * sync reports (EXISTS, FETCH, EXPUNGE), and the queries IMAP asks of it
 * (sequence numbers, records by UID, changed or expunged since a MODSEQ).
 *
 * Runs in the mail process as the mail-store uid, chrooted in the
 * user's directory. It reads only the index, whose records are checked
 * (length, checksum) before use; a bad one marks the index damaged.
 */
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mailindex_int.h"
#include "uidlist.h"

struct viewarg {
	uint32_t	*uids;
	uint64_t	*modseqs;
	size_t		 n, cap;
	size_t		 keylen;
	struct mailindex *ix;
};

static int
view_one(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	struct viewarg		*v = arg;
	struct mailindex_msg	 m;
	uint32_t		 uid;

	if (klen != v->keylen + 5)
		goto bad;
	uid = (uint32_t)k[klen - 4] << 24 | (uint32_t)k[klen - 3] << 16 |
	    (uint32_t)k[klen - 2] << 8 | k[klen - 1];
	if (mi_msg_decode(d, dlen, uid, &m) == -1)
		goto bad;
	if (v->n == v->cap) {
		size_t	  cap = v->cap ? v->cap * 2 : 256;
		uint32_t *u;
		uint64_t *ms;

		if ((u = reallocarray(v->uids, cap, sizeof(*u))) == NULL)
			return -1;
		v->uids = u;
		if ((ms = reallocarray(v->modseqs, cap, sizeof(*ms))) == NULL)
			return -1;
		v->modseqs = ms;
		v->cap = cap;
	}
	v->uids[v->n] = uid;
	v->modseqs[v->n] = m.modseq;
	v->n++;
	return 0;
bad:
	v->ix->corrupt = 1;
	errno = EIO;
	return -1;
}

int
mi_push32(uint32_t **a, size_t *n, uint32_t v)
{
	uint32_t *p;

	/* Grown by powers of two: n is the count, the capacity implied. */
	if ((*n & (*n - 1)) == 0) {
		if ((p = reallocarray(*a, *n ? *n * 2 : 1, sizeof(*p))) == NULL)
			return -1;
		*a = p;
	}
	(*a)[(*n)++] = v;
	return 0;
}

int
mi_view_load(struct mailindex_folder *f, struct mi_group *g,
    struct mailindex_changes *ch)
{
	struct viewarg	v;
	struct mi_fhdr	h;
	unsigned char	key[MI_KEY_MAX + 16];
	size_t		i, j, ne = 0;
	int		r;

	memset(&v, 0, sizeof(v));
	v.keylen = f->keylen;
	v.ix = f->ix;
	if ((r = mi_fhdr_get(f, g, &h)) != 1) {
		if (r == 0)
			memset(&h, 0, sizeof(h));
		else
			return -1;
	}
	if (mi_scan(f->ix, g, key, mi_key(f, key, 'M', 0) - 4, NULL, 0,
	    view_one, &v) == -1)
		goto fail;
	if (ch != NULL) {
		if (f->uidvalidity != 0 && f->uidvalidity != h.uidvalidity)
			ch->uidvalidity_changed = 1;
		for (i = j = 0; i < f->n || j < v.n;) {
			if (j == v.n || (i < f->n && f->uids[i] < v.uids[j])) {
				size_t ns = ne;

				if (mi_push32(&ch->expunged, &ne, f->uids[i]) ==
				    -1 || mi_push32(&ch->expunged_seq, &ns,
				    (uint32_t)(i + 1)) == -1)
					goto fail;
				ch->nexpunged = ne;
				i++;
			} else if (i == f->n || v.uids[j] < f->uids[i]) {
				if (mi_push32(&ch->added, &ch->nadded,
				    v.uids[j]) == -1)
					goto fail;
				j++;
			} else {
				if (f->modseqs[i] != v.modseqs[j] &&
				    mi_push32(&ch->changed, &ch->nchanged,
				    v.uids[j]) == -1)
					goto fail;
				i++;
				j++;
			}
		}
	}
	free(f->uids);
	free(f->modseqs);
	f->uids = v.uids;
	f->modseqs = v.modseqs;
	f->n = v.n;
	f->cap = v.cap;
	f->uidvalidity = h.uidvalidity;
	f->uidnext = h.nextuid;
	f->highestmodseq = h.highestmodseq;
	return 0;
fail:
	free(v.uids);
	free(v.modseqs);
	return -1;
}

void
mailindex_changes_free(struct mailindex_changes *ch)
{
	if (ch == NULL)
		return;
	free(ch->added);
	free(ch->changed);
	free(ch->expunged);
	free(ch->expunged_seq);
	free(ch->recent);
	memset(ch, 0, sizeof(*ch));
}

struct mailindex_folder *
mailindex_folder_open(struct mailindex *ix, const char *path)
{
	struct mailindex_folder	*f;
	size_t			 len = strlen(path);

	if (len == 0 || len + 2 > sizeof(f->key) - 16) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	f->ix = ix;
	strlcpy(f->path, path, sizeof(f->path));
	f->key[0] = 'f';
	memcpy(f->key + 1, path, len);
	f->key[len + 1] = '\0';
	f->keylen = len + 2;
	keywords_init(&f->kw);
	if ((f->dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		free(f);
		return NULL;
	}
	/* Closed last and opened again (a second SELECT): still quick. */
	if (strcmp(ix->quick_path, path) == 0)
		f->q = ix->quick_saved;
	return f;
}

void
mailindex_folder_close(struct mailindex_folder *f)
{
	if (f == NULL)
		return;
	if (f->q.on) {
		strlcpy(f->ix->quick_path, f->path, sizeof(f->ix->quick_path));
		f->ix->quick_saved = f->q;
	}
	close(f->dirfd);
	keywords_clear(&f->kw);
	uidlist_free(f->ul);
	free(f->uids);
	free(f->modseqs);
	free(f);
}

int
mailindex_folder_forget(struct mailindex *ix, const char *path)
{
	struct mi_group	 g;
	unsigned char	 key[MI_KEY_MAX];
	size_t		 len = strlen(path);
	int		 ok;

	/* A folder made again under this path starts without it. */
	if (strcmp(ix->quick_path, path) == 0)
		ix->quick_path[0] = '\0';
	/* The same bound as mailindex_folder_open: the same keys. */
	if (len == 0 || len + 2 > MI_KEY_MAX - 16) {
		errno = ENAMETOOLONG;
		return -1;
	}
	key[0] = 'f';
	memcpy(key + 1, path, len);
	key[len + 1] = '\0';
	if (mi_check(ix) == -1 || mi_begin(ix, &g) == -1)
		return -1;
	ok = mi_del_prefix(ix, &g, key, len + 2) == 0;
	if (mi_end(ix, &g, ok) == 0)
		return 0;
	/* A damaged index forgets everything: every folder is rebuilt. */
	if (ix->corrupt)
		return mi_reset(ix);
	return -1;
}

uint32_t
mailindex_uidvalidity(const struct mailindex_folder *f)
{
	return f->uidvalidity;
}

uint32_t
mailindex_uidnext(const struct mailindex_folder *f)
{
	return f->uidnext;
}

uint64_t
mailindex_highestmodseq(const struct mailindex_folder *f)
{
	return f->highestmodseq;
}

size_t
mailindex_count(const struct mailindex_folder *f)
{
	return f->n;
}

uint32_t
mailindex_seq_uid(const struct mailindex_folder *f, size_t seq)
{
	return seq >= 1 && seq <= f->n ? f->uids[seq - 1] : 0;
}

size_t
mailindex_uid_seq(const struct mailindex_folder *f, uint32_t uid)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->uids[mid] == uid)
			return mid + 1;
		if (f->uids[mid] < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

const uint32_t *
mailindex_uids(const struct mailindex_folder *f, size_t *n)
{
	*n = f->n;
	return f->uids;
}

int
mailindex_get(struct mailindex_folder *f, uint32_t uid,
    struct mailindex_msg *m)
{
	if (mi_check(f->ix) == -1)
		return -1;
	return mi_msg_get(f, NULL, uid, m);
}

struct scanarg {
	int		(*fn)(void *, const struct mailindex_msg *);
	void		*arg;
	uint32_t	 hi;
	size_t		 keylen;
	struct mailindex *ix;
};

static int
scan_one(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	struct scanarg		*a = arg;
	struct mailindex_msg	 m;
	uint32_t		 uid;

	if (klen != a->keylen + 5)
		return 0;
	uid = (uint32_t)k[klen - 4] << 24 | (uint32_t)k[klen - 3] << 16 |
	    (uint32_t)k[klen - 2] << 8 | k[klen - 1];
	if (uid > a->hi)
		return 1;
	if (mi_msg_decode(d, dlen, uid, &m) == -1) {
		a->ix->corrupt = 1;
		errno = EIO;
		return -1;
	}
	return a->fn(a->arg, &m);
}

int
mailindex_scan(struct mailindex_folder *f, uint32_t lo, uint32_t hi,
    int (*fn)(void *, const struct mailindex_msg *), void *arg)
{
	struct scanarg	a;
	unsigned char	pfx[MI_KEY_MAX + 16], start[MI_KEY_MAX + 16];
	size_t		plen, slen;

	if (mi_check(f->ix) == -1)
		return -1;
	a.fn = fn;
	a.arg = arg;
	a.hi = hi;
	a.keylen = f->keylen;
	a.ix = f->ix;
	plen = mi_key(f, pfx, 'M', 0) - 4;
	slen = mi_key(f, start, 'M', lo);
	return mi_scan(f->ix, NULL, pfx, plen, start, slen, scan_one, &a);
}

struct manyarg {
	const uint32_t		*uids;
	size_t			 n, next;
	struct mailindex_msg	*out;
};

static int
many_one(void *arg, const struct mailindex_msg *m)
{
	struct manyarg *a = arg;

	while (a->next < a->n && a->uids[a->next] < m->uid)
		a->out[a->next++].uid = 0;	/* not in the index */
	if (a->next == a->n)
		return 1;
	if (a->uids[a->next] == m->uid)
		a->out[a->next++] = *m;
	return 0;
}

/* A range read walks every record between: worth it when few are skipped. */
#define MANY_SPREAD	4

int
mailindex_get_many(struct mailindex_folder *f, const uint32_t *uids,
    size_t n, struct mailindex_msg *out)
{
	struct manyarg	a;
	size_t		i;
	int		r, ascending = 1;

	for (i = 1; i < n && ascending; i++)
		ascending = uids[i - 1] < uids[i];
	if (n > 1 && ascending && uids[n - 1] - uids[0] < MANY_SPREAD * n) {
		a.uids = uids;
		a.n = n;
		a.next = 0;
		a.out = out;
		if (mailindex_scan(f, uids[0], uids[n - 1], many_one, &a) == -1)
			return -1;
		for (; a.next < n; a.next++)
			out[a.next].uid = 0;
		return 0;
	}
	for (i = 0; i < n; i++) {
		if ((r = mailindex_get(f, uids[i], &out[i])) == -1)
			return -1;
		if (r == 0)
			out[i].uid = 0;
	}
	return 0;
}

int
mailindex_changed_since(const struct mailindex_folder *f, uint64_t since,
    uint32_t **uids, size_t *n)
{
	size_t i, k = 0;

	*n = 0;
	if ((*uids = calloc(f->n ? f->n : 1, sizeof(**uids))) == NULL)
		return -1;
	for (i = 0; i < f->n; i++)
		if (f->modseqs[i] > since)
			(*uids)[k++] = f->uids[i];
	*n = k;
	return 0;
}

struct xarg {
	uint32_t	*uids;
	size_t		 n, cap;
	size_t		 keylen;
};

static int
x_one(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	struct xarg	*a = arg;
	uint32_t	*u;

	(void)d;
	(void)dlen;
	if (klen != a->keylen + 13)
		return 0;
	if (a->n == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 64;

		if ((u = reallocarray(a->uids, cap, sizeof(*u))) == NULL)
			return -1;
		a->uids = u;
		a->cap = cap;
	}
	a->uids[a->n++] = (uint32_t)k[klen - 4] << 24 |
	    (uint32_t)k[klen - 3] << 16 | (uint32_t)k[klen - 2] << 8 |
	    k[klen - 1];
	return 0;
}

static int
cmp32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
mailindex_expunged_since(struct mailindex_folder *f, uint64_t since,
    uint32_t **uids, size_t *n, int *complete)
{
	struct mi_fhdr	h;
	struct xarg	a;
	unsigned char	pfx[MI_KEY_MAX + 16], start[MI_KEY_MAX + 16];
	size_t		plen, slen, i, k;
	int		r;

	*uids = NULL;
	*n = 0;
	*complete = 0;
	if (mi_check(f->ix) == -1 || (r = mi_fhdr_get(f, NULL, &h)) == -1)
		return -1;
	if (r == 0)
		return 0;
	*complete = since >= h.floor;
	memset(&a, 0, sizeof(a));
	a.keylen = f->keylen;
	plen = mi_key(f, pfx, 'X', 0) - 4;
	slen = mi_xkey(f, start, since + 1, 0);
	if (mi_scan(f->ix, NULL, pfx, plen, start, slen, x_one, &a) == -1) {
		free(a.uids);
		return -1;
	}
	/* In MODSEQ order in the index; VANISHED wants UIDs, unique. */
	if (a.n > 0) {
		qsort(a.uids, a.n, sizeof(*a.uids), cmp32);
		for (i = k = 1; i < a.n; i++)
			if (a.uids[i] != a.uids[k - 1])
				a.uids[k++] = a.uids[i];
		a.n = k;
	}
	*uids = a.uids;
	*n = a.n;
	return 0;
}
