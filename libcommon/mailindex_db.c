/*
 * mailindex_db.c - the Berkeley DB side of the IMAP index: opening the
 * environment and database, noticing a broken one and starting again,
 * the locked write groups, and the record encodings.
 *
 * Runs in the mail process (imapd's, one per session) as the mail-store
 * uid, chrooted in the user's directory; the index directory is the
 * caller's choice. Nothing in the database is trusted more than a
 * cache: every record is length- and checksum-checked before use, and
 * anything that fails is corruption, answered by throwing the index
 * away (the Maildir and the uidlists rebuild it).
 *
 * Why Concurrent Data Store (DB_INIT_CDB) and not transactions: CDB
 * gives one writer and many readers per environment, with no deadlock
 * to detect and no log, so no recovery, which needs exclusive access to
 * the environment and so would need every session of the user stopped.
 * A crash in the middle of a write can leave the B-tree damaged; for a
 * cache that is fine, because we detect it (page checksums, record
 * checksums, DB_RUNRECOVERY from failchk when a writer died holding the
 * lock) and rebuild. Each handle calls failchk when it opens and before
 * each write group, with an is-alive check by pid, so a session killed
 * while writing does not leave its lock held for the others.
 */
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "mailindex_int.h"

#define MI_VERSION_KEY		"\0version"
#define MI_VERSION_KEYLEN	8
#define MI_CACHE_BYTES		(1024 * 1024)

/*
 * Berkeley DB would print to stderr; its messages go to our log, a few
 * per opening: a garbage file makes it complain once per page.
 */
static unsigned mi_db_errors;

static void
mi_db_error(const DB_ENV *env, const char *prefix, const char *msg)
{
	(void)env;
	(void)prefix;
	if (mi_db_errors++ < 3)
		log_warnx("mail index: berkeley db: %s", msg);
}

static void
mi_db_msg(const DB_ENV *env, const char *msg)
{
	mi_db_error(env, NULL, msg);
}

/* failchk asks whether a process that held locks still exists. */
static int
mi_isalive(DB_ENV *env, pid_t pid, db_threadid_t tid, u_int32_t flags)
{
	(void)env;
	(void)tid;
	(void)flags;
	return kill(pid, 0) == 0 || errno == EPERM;
}

static uint64_t
rd64(const unsigned char *p)
{
	uint64_t w;

	memcpy(&w, p, sizeof(w));	/* host order: a local cache */
	return w;
}

/*
 * A record's checksum. Not a defence against anyone (Berkeley DB's page
 * checksums catch the disk): it catches a record a bug or another
 * layout wrote. Four independent lanes; each word goes in as xxHash64's
 * round does (multiplied, added, rotated, multiplied: a bijection of the
 * lane for a given word, so a change to any one word changes its lane
 * for good, and a difference moves out of the top bit, where a plain
 * multiply would leave it for a second flip to cancel). The lanes are
 * folded and mixed (MurmurHash3's finaliser) down to 32 bits. Byte at a
 * time (FNV-1a) it was a quarter of a SEARCH FROM's CPU over cached
 * headers.
 */
static uint64_t
crc_round(uint64_t lane, uint64_t w)
{
	lane += w * 0xc2b2ae3d27d4eb4fULL;
	lane = lane << 31 | lane >> 33;
	return lane * 0x9e3779b185ebca87ULL;
}

uint32_t
mi_crc(const void *p, size_t len)
{
	const unsigned char	*s = p;
	uint64_t		 l[4] = { 0x243f6a8885a308d3ULL,
				    0x13198a2e03707344ULL,
				    0xa4093822299f31d0ULL,
				    0x082efa98ec4e6c89ULL };
	uint64_t		 h, w;
	size_t			 i, left = len;

	for (; left >= 32; s += 32, left -= 32)
		for (i = 0; i < 4; i++)
			l[i] = crc_round(l[i], rd64(s + 8 * i));
	for (i = 0; left >= 8; s += 8, left -= 8, i++)
		l[i] = crc_round(l[i], rd64(s));
	if (left > 0) {
		w = 0;
		memcpy(&w, s, left);
		l[i] = crc_round(l[i], w);
	}
	h = l[0] ^ (l[1] << 16 | l[1] >> 48) ^ (l[2] << 32 | l[2] >> 32) ^
	    (l[3] << 48 | l[3] >> 16) ^ (uint64_t)len;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	h ^= h >> 33;
	return (uint32_t)h;
}

static void
be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

size_t
mi_key(const struct mailindex_folder *f, unsigned char *out, char type,
    uint32_t uid)
{
	memcpy(out, f->key, f->keylen);
	out[f->keylen] = (unsigned char)type;
	if (type == 'H')
		return f->keylen + 1;
	be32(out + f->keylen + 1, uid);
	return f->keylen + 5;
}

size_t
mi_xkey(const struct mailindex_folder *f, unsigned char *out,
    uint64_t modseq, uint32_t uid)
{
	memcpy(out, f->key, f->keylen);
	out[f->keylen] = 'X';
	be32(out + f->keylen + 1, (uint32_t)(modseq >> 32));
	be32(out + f->keylen + 5, (uint32_t)modseq);
	be32(out + f->keylen + 9, uid);
	return f->keylen + 13;
}

uint64_t
mi_modseq_base(void)
{
	struct timeval tv;

	gettimeofday(&tv, NULL);
	return (uint64_t)tv.tv_sec * 1000000u + (uint64_t)tv.tv_usec;
}

static void
mi_shut(struct mailindex *ix)
{
	if (ix->db != NULL)
		ix->db->close(ix->db, 0);
	if (ix->env != NULL)
		ix->env->close(ix->env, 0);
	ix->db = NULL;
	ix->env = NULL;
}

/* A Berkeley DB return code as errno; a database error marks corruption. */
static int
mi_fail(struct mailindex *ix, int rc)
{
	if (rc == ENOMEM) {
		errno = ENOMEM;
		return -1;
	}
	ix->corrupt = 1;
	errno = EIO;
	return -1;
}

/*
 * Berkeley DB maps its region files (__db.001...) and touches them at
 * their full size: one cut short (a damaged disk, a hand that truncated
 * it) would be a SIGBUS in every process that joins it, not an error.
 * BDB makes none below REGION_MIN, but one another session is creating
 * right now is short for a moment: only a short file untouched for
 * REGION_SETTLE seconds is taken for damage. Those are unlinked before
 * the open, which then makes the environment again (the index follows,
 * if need be, as for any damage). A garbled file of a plausible size
 * fails BDB's own checks and is handled as damage by the caller.
 */
#define REGION_MIN	8192
#define REGION_SETTLE	60

static void
mi_regions_check(struct mailindex *ix)
{
	char		path[PATH_MAX], name[16];
	struct stat	st;
	int		i, bad = 0;

	for (i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "__db.%03d", i);
		if (fs_path(path, sizeof(path), ix->dir, name) == -1)
			return;
		if (lstat(path, &st) == -1)
			continue;
		if (!S_ISREG(st.st_mode) || (st.st_size < REGION_MIN &&
		    time(NULL) - st.st_mtime > REGION_SETTLE))
			bad = 1;
	}
	if (!bad)
		return;
	log_warnx("mail index %s: a region file is cut short; made again",
	    ix->dir);
	for (i = 1; i <= 9; i++) {
		snprintf(name, sizeof(name), "__db.%03d", i);
		if (fs_path(path, sizeof(path), ix->dir, name) == 0)
			(void)unlink(path);
	}
}

static int
mi_open_db(struct mailindex *ix)
{
	char		 path[PATH_MAX];
	struct stat	 st;
	DBT		 k, d;
	char		 want[32];
	int		 rc, n;

	mi_db_errors = 0;
	mi_regions_check(ix);
	if ((rc = db_env_create(&ix->env, 0)) != 0) {
		ix->env = NULL;
		errno = rc > 0 ? rc : EIO;
		return -1;
	}
	ix->env->set_errcall(ix->env, mi_db_error);
	ix->env->set_msgcall(ix->env, mi_db_msg);
	ix->env->set_cachesize(ix->env, 0, MI_CACHE_BYTES, 1);
	ix->env->set_thread_count(ix->env, 64);
	ix->env->set_isalive(ix->env, mi_isalive);
	if ((rc = ix->env->open(ix->env, ix->dir, DB_CREATE | DB_INIT_CDB |
	    DB_INIT_MPOOL, 0600)) != 0)
		goto fail;
	if ((rc = ix->env->failchk(ix->env, 0)) != 0)
		goto fail;
	if ((rc = db_create(&ix->db, ix->env, 0)) != 0) {
		ix->db = NULL;
		goto fail;
	}
	ix->db->set_flags(ix->db, DB_CHKSUM);
	if ((rc = ix->db->open(ix->db, NULL, MAILINDEX_DB_FILE, NULL,
	    DB_BTREE, DB_CREATE, 0600)) != 0)
		goto fail;
	n = snprintf(want, sizeof(want), "postern-mailindex %d",
	    MAILINDEX_VERSION);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)MI_VERSION_KEY;
	k.size = MI_VERSION_KEYLEN;
	rc = ix->db->get(ix->db, NULL, &k, &d, 0);
	if (rc == DB_NOTFOUND) {
		d.data = want;
		d.size = (u_int32_t)n;
		if ((rc = ix->db->put(ix->db, NULL, &k, &d, 0)) != 0)
			goto fail;
	} else if (rc != 0)
		goto fail;
	else if (d.size != (u_int32_t)n || memcmp(d.data, want, d.size) != 0) {
		log_warnx("mail index %s: another version, rebuilt", ix->dir);
		rc = EINVAL;
		goto fail;
	}
	if (fs_path(path, sizeof(path), ix->dir, MAILINDEX_DB_FILE) == -1 ||
	    stat(path, &st) == -1) {
		rc = errno;
		goto fail;
	}
	ix->dev = st.st_dev;
	ix->ino = st.st_ino;
	ix->corrupt = 0;
	return 0;
fail:
	mi_shut(ix);
	errno = rc > 0 ? rc : EIO;
	return -1;
}

/* Removes the database and the environment's region files. */
static void
mi_remove(struct mailindex *ix)
{
	char	 path[PATH_MAX];
	DB_ENV	*env;

	if (fs_path(path, sizeof(path), ix->dir, MAILINDEX_DB_FILE) == 0)
		(void)unlink(path);
	if (db_env_create(&env, 0) == 0)
		(void)env->remove(env, ix->dir, DB_FORCE);
}

int
mi_reset(struct mailindex *ix)
{
	mi_shut(ix);
	mi_remove(ix);
	ix->rebuilds++;
	log_warnx("mail index %s: damaged, rebuilt from the Maildir",
	    ix->dir);
	return mi_open_db(ix);
}

int
mi_check(struct mailindex *ix)
{
	struct timespec	now;

	if (ix->db != NULL && !ix->corrupt &&
	    clock_gettime(CLOCK_MONOTONIC_COARSE, &now) == 0 &&
	    (now.tv_sec - ix->checked.tv_sec) * 1000000000LL +
	    (now.tv_nsec - ix->checked.tv_nsec) < 1000000000LL)
		return 0;
	return mi_check_now(ix);
}

int
mi_check_now(struct mailindex *ix)
{
	char		path[PATH_MAX];
	struct stat	st;

	if (ix->db == NULL || ix->corrupt)
		return mi_reset(ix);
	if (fs_path(path, sizeof(path), ix->dir, MAILINDEX_DB_FILE) == -1)
		return -1;
	(void)clock_gettime(CLOCK_MONOTONIC_COARSE, &ix->checked);
	if (stat(path, &st) == 0 && st.st_dev == ix->dev &&
	    st.st_ino == ix->ino)
		return 0;
	/* Replaced or deleted under us: start from what is there now. */
	mi_shut(ix);
	if (mi_open_db(ix) == 0)
		return 0;
	return mi_reset(ix);
}

struct mailindex *
mailindex_open(const char *dir)
{
	struct mailindex	*ix;
	int			 e;

	if ((ix = calloc(1, sizeof(*ix))) == NULL)
		return NULL;
	ix->lock_wait = MAILINDEX_LOCK_WAIT;
	if (strlcpy(ix->dir, dir, sizeof(ix->dir)) >= sizeof(ix->dir)) {
		free(ix);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		e = errno;
		log_warn("mail index %s: mkdir", dir);
		free(ix);
		errno = e;
		return NULL;
	}
	if (mi_open_db(ix) == -1) {
		log_warnx("mail index %s: will not open (%s), rebuilt", dir,
		    db_strerror(errno));
		if (mi_reset(ix) == -1) {
			e = errno;
			log_warnx("mail index %s: %s", dir, db_strerror(e));
			free(ix);
			errno = e;
			return NULL;
		}
	}
	return ix;
}

void
mailindex_close(struct mailindex *ix)
{
	if (ix == NULL)
		return;
	mi_shut(ix);
	free(ix);
}

void
mailindex_set_lock_wait(struct mailindex *ix, int secs)
{
	ix->lock_wait = secs < 0 ? 0 : secs;
}

unsigned
mailindex_rebuilds(const struct mailindex *ix)
{
	return ix->rebuilds;
}

unsigned
mailindex_full_syncs(const struct mailindex *ix)
{
	return ix->full_syncs;
}

int
mi_begin(struct mailindex *ix, struct mi_group *g)
{
	int rc;

	g->txn = NULL;
	g->wc = NULL;
	if ((rc = ix->env->failchk(ix->env, 0)) != 0)
		return mi_fail(ix, rc);
	if ((rc = ix->env->cdsgroup_begin(ix->env, &g->txn)) != 0) {
		g->txn = NULL;
		return mi_fail(ix, rc);
	}
	if ((rc = ix->db->cursor(ix->db, g->txn, &g->wc, DB_WRITECURSOR)) !=
	    0) {
		g->wc = NULL;
		(void)g->txn->commit(g->txn, 0);
		g->txn = NULL;
		return mi_fail(ix, rc);
	}
	return 0;
}

int
mi_end(struct mailindex *ix, struct mi_group *g, int ok)
{
	int rc;

	if (g->txn == NULL)
		return ok ? 0 : -1;
	if (g->wc != NULL)
		(void)g->wc->close(g->wc);
	g->wc = NULL;
	/* A CDB group has nothing to undo: commit only releases the lock. */
	rc = g->txn->commit(g->txn, 0);
	g->txn = NULL;
	if (rc != 0)
		return mi_fail(ix, rc);
	return ok ? 0 : -1;
}

static DB_TXN *
txn(struct mi_group *g)
{
	return g != NULL ? g->txn : NULL;
}

int
mi_get(struct mailindex *ix, struct mi_group *g, const void *key,
    size_t klen, void **data, size_t *len)
{
	DBT	k, d;
	int	rc;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	d.flags = DB_DBT_MALLOC;
	rc = ix->db->get(ix->db, txn(g), &k, &d, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0)
		return mi_fail(ix, rc);
	*data = d.data;
	*len = d.size;
	return 1;
}

int
mi_put(struct mailindex *ix, struct mi_group *g, const void *key,
    size_t klen, const void *data, size_t len)
{
	DBT	k, d;
	int	rc;

	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	d.data = (void *)data;
	d.size = (u_int32_t)len;
	if ((rc = ix->db->put(ix->db, txn(g), &k, &d, 0)) != 0)
		return mi_fail(ix, rc);
	return 0;
}

int
mi_del(struct mailindex *ix, struct mi_group *g, const void *key,
    size_t klen)
{
	DBT	k;
	int	rc;

	memset(&k, 0, sizeof(k));
	k.data = (void *)key;
	k.size = (u_int32_t)klen;
	rc = ix->db->del(ix->db, txn(g), &k, 0);
	if (rc != 0 && rc != DB_NOTFOUND)
		return mi_fail(ix, rc);
	return 0;
}

int
mi_scan(struct mailindex *ix, struct mi_group *g, const void *prefix,
    size_t plen, const void *start, size_t slen,
    int (*fn)(void *, const unsigned char *, size_t, const void *, size_t),
    void *arg)
{
	DBC	*c;
	DBT	 k, d;
	int	 rc, r = 0;

	if ((rc = ix->db->cursor(ix->db, txn(g), &c, 0)) != 0)
		return mi_fail(ix, rc);
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)(start != NULL ? start : prefix);
	k.size = (u_int32_t)(start != NULL ? slen : plen);
	rc = c->get(c, &k, &d, DB_SET_RANGE);
	while (rc == 0) {
		if (k.size < plen || memcmp(k.data, prefix, plen) != 0)
			break;
		if ((r = fn(arg, k.data, k.size, d.data, d.size)) != 0)
			break;
		rc = c->get(c, &k, &d, DB_NEXT);
	}
	c->close(c);
	if (r < 0)
		return -1;
	if (rc != 0 && rc != DB_NOTFOUND)
		return mi_fail(ix, rc);
	return 0;
}

int
mi_del_prefix(struct mailindex *ix, struct mi_group *g, const void *prefix,
    size_t plen)
{
	DBC	*c;
	DBT	 k, d;
	int	 rc;

	/* In CDB only a write cursor deletes as it walks: the group's. */
	if (g == NULL || g->wc == NULL) {
		errno = EINVAL;
		return -1;
	}
	c = g->wc;
	memset(&k, 0, sizeof(k));
	memset(&d, 0, sizeof(d));
	k.data = (void *)prefix;
	k.size = (u_int32_t)plen;
	rc = c->get(c, &k, &d, DB_SET_RANGE);
	while (rc == 0 && k.size >= plen && memcmp(k.data, prefix, plen) == 0) {
		if ((rc = c->del(c, 0)) != 0)
			break;
		rc = c->get(c, &k, &d, DB_NEXT);
	}
	if (rc != 0 && rc != DB_NOTFOUND)
		return mi_fail(ix, rc);
	return 0;
}

int
mi_fhdr_get(struct mailindex_folder *f, struct mi_group *g,
    struct mi_fhdr *h)
{
	unsigned char	 key[MI_KEY_MAX + 16];
	void		*data;
	size_t		 len;
	uint32_t	 crc;
	int		 r;

	r = mi_get(f->ix, g, key, mi_key(f, key, 'H', 0), &data, &len);
	if (r != 1)
		return r;
	if (len != sizeof(*h)) {
		free(data);
		f->ix->corrupt = 1;
		errno = EIO;
		return -1;
	}
	memcpy(h, data, sizeof(*h));
	free(data);
	crc = h->crc;
	h->crc = 0;
	if (mi_crc(h, sizeof(*h)) != crc) {
		f->ix->corrupt = 1;
		errno = EIO;
		return -1;
	}
	return 1;
}

int
mi_fhdr_put(struct mailindex_folder *f, struct mi_group *g,
    struct mi_fhdr *h)
{
	unsigned char key[MI_KEY_MAX + 16];

	h->crc = 0;
	h->crc = mi_crc(h, sizeof(*h));
	return mi_put(f->ix, g, key, mi_key(f, key, 'H', 0), h, sizeof(*h));
}

int
mi_msg_decode(const void *data, size_t len, uint32_t uid,
    struct mailindex_msg *m)
{
	struct mi_mrec	r;
	unsigned char	buf[sizeof(r) + 256];
	uint32_t	crc;

	if (len < sizeof(r) || len > sizeof(buf))
		goto bad;
	memcpy(buf, data, len);
	memcpy(&r, buf, sizeof(r));
	if (r.namelen == 0 || r.namelen >= sizeof(m->name) ||
	    len != sizeof(r) + r.namelen)
		goto bad;
	crc = r.crc;
	r.crc = 0;
	memcpy(buf, &r, sizeof(r));
	if (mi_crc(buf, len) != crc)
		goto bad;
	memset(m, 0, sizeof(*m));
	m->uid = uid;
	m->modseq = r.modseq;
	m->size = r.size;
	m->idate = (time_t)r.idate;
	m->flags.sys = r.sys;
	m->flags.kw = r.kw;
	m->in_new = r.in_new;
	memcpy(m->name, buf + sizeof(r), r.namelen);
	m->name[r.namelen] = '\0';
	if (memchr(m->name, '/', r.namelen) != NULL ||
	    strlen(m->name) != r.namelen)
		goto bad;
	return 0;
bad:
	errno = EIO;
	return -1;
}

int
mi_msg_get(struct mailindex_folder *f, struct mi_group *g, uint32_t uid,
    struct mailindex_msg *m)
{
	unsigned char	 key[MI_KEY_MAX + 16];
	void		*data;
	size_t		 len;
	int		 r;

	r = mi_get(f->ix, g, key, mi_key(f, key, 'M', uid), &data, &len);
	if (r != 1)
		return r;
	r = mi_msg_decode(data, len, uid, m);
	free(data);
	if (r == -1) {
		f->ix->corrupt = 1;
		return -1;
	}
	return 1;
}

int
mi_msg_put(struct mailindex_folder *f, struct mi_group *g,
    const struct mailindex_msg *m)
{
	unsigned char	key[MI_KEY_MAX + 16];
	unsigned char	buf[sizeof(struct mi_mrec) + 256];
	struct mi_mrec	r;
	size_t		nl = strlen(m->name);

	if (nl == 0 || nl >= sizeof(m->name)) {
		errno = EINVAL;
		return -1;
	}
	memset(&r, 0, sizeof(r));
	r.modseq = m->modseq;
	r.size = m->size;
	r.idate = (int64_t)m->idate;
	r.sys = m->flags.sys;
	r.kw = m->flags.kw;
	r.namelen = (uint16_t)nl;
	r.in_new = m->in_new ? 1 : 0;
	memcpy(buf, &r, sizeof(r));
	memcpy(buf + sizeof(r), m->name, nl);
	r.crc = mi_crc(buf, sizeof(r) + nl);
	memcpy(buf, &r, sizeof(r));
	return mi_put(f->ix, g, key, mi_key(f, key, 'M', m->uid), buf,
	    sizeof(r) + nl);
}

/* The oldest expunge, dropped to keep the history bounded. */
static int
first_x(void *arg, const unsigned char *k, size_t klen, const void *d,
    size_t dlen)
{
	unsigned char *out = arg;

	(void)d;
	(void)dlen;
	if (klen > MI_KEY_MAX + 16)
		return -1;
	out[0] = (unsigned char)klen;
	out[1] = (unsigned char)(klen >> 8);
	memcpy(out + 2, k, klen);
	return 1;
}

int
mi_msg_expunge(struct mailindex_folder *f, struct mi_group *g,
    struct mi_fhdr *h, uint32_t uid)
{
	unsigned char	key[MI_KEY_MAX + 16];
	unsigned char	old[MI_KEY_MAX + 32];
	size_t		klen;

	if (mi_del(f->ix, g, key, mi_key(f, key, 'M', uid)) == -1 ||
	    mi_del(f->ix, g, key, mi_key(f, key, 'E', uid)) == -1 ||
	    mi_del(f->ix, g, key, mi_key(f, key, 'B', uid)) == -1 ||
	    mi_del(f->ix, g, key, mi_key(f, key, 'R', uid)) == -1)
		return -1;
	h->highestmodseq++;
	if (mi_put(f->ix, g, key, mi_xkey(f, key, h->highestmodseq, uid), "",
	    0) == -1)
		return -1;
	h->nexpunged++;
	while (h->nexpunged > MAILINDEX_EXPUNGED_MAX) {
		const unsigned char *k = old + 2;

		klen = mi_key(f, key, 'X', 0) - 4;
		old[0] = old[1] = 0;
		if (mi_scan(f->ix, g, key, klen, NULL, 0, first_x, old) == -1)
			return -1;
		klen = (size_t)old[0] | (size_t)old[1] << 8;
		if (klen != f->keylen + 13)
			break;
		/* Everything up to this one's MODSEQ is now unknown. */
		h->floor = (uint64_t)k[f->keylen + 1] << 56 |
		    (uint64_t)k[f->keylen + 2] << 48 |
		    (uint64_t)k[f->keylen + 3] << 40 |
		    (uint64_t)k[f->keylen + 4] << 32 |
		    (uint64_t)k[f->keylen + 5] << 24 |
		    (uint64_t)k[f->keylen + 6] << 16 |
		    (uint64_t)k[f->keylen + 7] << 8 |
		    (uint64_t)k[f->keylen + 8];
		if (mi_del(f->ix, g, k, klen) == -1)
			return -1;
		h->nexpunged--;
	}
	return 0;
}
