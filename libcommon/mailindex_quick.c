/*
 * mailindex_quick.c - the quick check: whether a folder may have
 * changed since the session last listed it, so that most syncs cost two
 * stats and a read of the folder record instead of two directory
 * listings and a pass over every record.
 *
 * Runs in the mail process as the mail-store uid, chrooted in the
 * user's directory. It trusts nothing of the folder but the kernel's
 * mtimes and what it lists itself.
 *
 * What it keeps (struct mi_quick, one per open folder): new/'s and
 * cur/'s mtimes and the folder record's MODSEQ as of the last full
 * sync, and a digest of that sync's listing. The session's own changes
 * (STORE's renames, EXPUNGE's unlinks, APPEND's and COPY's new files)
 * move cur/'s mtime, the MODSEQ and the digest forward, inside their
 * write group, when nothing else changed the folder first
 * (mi_quick_pre); new/'s mtime only ever comes from a full sync.
 *
 * Why the digest: an mtime has a grain (a kernel tick; a second on
 * file systems without nanoseconds), and a change within the grain of
 * one that was seen leaves the mtime as it was. So once the grain is
 * over, the folder is listed again (the "verify"): when the listing's
 * digest is the one expected, nothing was hidden, and the index need
 * not be read. The digest is a sum of keyed hashes (SipHash, with a
 * key random per process, so no file name can be chosen to cancel
 * another): order does not matter, and a change is added or taken out
 * without the names being kept.
 */
#include <sys/types.h>

#include <sys/random.h>

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include "mailindex_int.h"
#include "siphash.h"

static int64_t
ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int64_t
mi_now_ns(void)
{
	struct timespec	now;

	if (clock_gettime(CLOCK_REALTIME, &now) == -1)
		return INT64_MAX;	/* no clock: nothing is trusted */
	return ts_ns(&now);
}

/*
 * A kernel tick of the coarse clock that gives nanosecond time stamps:
 * at most 10 ms (HZ 100), and that clock lags the real-time one by at
 * most a tick. Time stamps without nanoseconds are whole seconds.
 */
#define QUICK_GRAIN_NS		10000000LL
#define QUICK_GRAIN_COARSE_NS	1000000000LL

/*
 * When mtimes t, read at time ref (CLOCK_REALTIME ns), may no longer
 * hide a change: two grains past the newer, since a change made until
 * then may still get that same mtime. 0 when that was over by ref (a
 * change after ref gets a later mtime; INT64_MIN: never 0); when it is
 * due already, now: the next sync lists the folder.
 */
static int64_t
quick_verify_at(const struct timespec t[2], int64_t ref, int64_t now)
{
	int64_t	grain = 2 * (t[0].tv_nsec != 0 || t[1].tv_nsec != 0 ?
		    QUICK_GRAIN_NS : QUICK_GRAIN_COARSE_NS);
	int64_t	newer = ts_ns(&t[0]) > ts_ns(&t[1]) ? ts_ns(&t[0]) :
		    ts_ns(&t[1]);

	/* No clock: due at once, every time (1 is before any now). */
	if (ref == INT64_MAX || now == INT64_MAX)
		return 1;
	if (newer + grain <= ref)
		return 0;
	return newer + grain > now ? newer + grain : now;
}

void
mi_digest_name(struct mi_digest *d, int in_new, const char *name, int sign)
{
	static unsigned char	key[SIPHASH_KEY_LEN];
	static int		keyed;	/* 1 keyed, -1 no randomness */
	unsigned char		buf[1 + 256];
	size_t			len = strlen(name);
	uint64_t		h;

	if (keyed == 0)
		keyed = getrandom(key, sizeof(key), 0) == (ssize_t)sizeof(key) ?
		    1 : -1;
	if (keyed == -1 || len >= sizeof(buf) - 1) {
		d->valid = 0;	/* the next verify is a full sync */
		return;
	}
	/* Where the file is counts: a move between new/ and cur/ shows. */
	buf[0] = in_new ? 'n' : 'c';
	memcpy(buf + 1, name, len);
	h = siphash24(key, buf, len + 1);
	if (sign > 0) {
		d->sum += h;
		d->n++;
	} else {
		d->sum -= h;
		d->n--;
	}
}

static int
digest_one(void *arg, int in_new, const char *name)
{
	mi_digest_name(arg, in_new, name, 1);
	return 0;
}

/*
 * The grain of the mtimes the quick state holds is over: lists the
 * folder, and when the listing is the one expected (digest and count)
 * and the mtimes held still, trusts them (until another change or,
 * if the listing came within their grain, another verify): 1. 0 when
 * the full sync must look.
 */
static int
quick_verify(struct mailindex_folder *f)
{
	struct timespec		a[2];
	struct mi_digest	d;
	int64_t			read_at;

	if (!f->q.digest.valid)
		return 0;
	memset(&d, 0, sizeof(d));
	d.valid = 1;
	if (mi_list_folder(f->dirfd, digest_one, &d, a, &read_at) != 1 ||
	    memcmp(a, f->q.mtimes, sizeof(a)) != 0)
		return 0;
	if (!d.valid || d.sum != f->q.digest.sum || d.n != f->q.digest.n)
		return 0;
	f->q.verify = quick_verify_at(a, read_at, mi_now_ns());
	return 1;
}

int
mi_quick_check(struct mailindex_folder *f, int flags, struct mi_fhdr *h)
{
	struct timespec	t[2];

	if (!f->q.on || flags != f->q.flags ||
	    mi_dir_mtimes(f->dirfd, t) == -1 ||
	    memcmp(t, f->q.mtimes, sizeof(t)) != 0)
		return 0;
	if (f->q.verify != 0 && mi_now_ns() >= f->q.verify &&
	    !quick_verify(f))
		return 0;
	return mi_fhdr_get(f, NULL, h) == 1;
}

void
mi_quick_note(struct mailindex_folder *f, int flags,
    const struct mi_listing *l, int ok)
{
	struct mi_fhdr	h;

	f->q.on = 0;
	if (!ok || !l->have || mi_fhdr_get(f, NULL, &h) != 1)
		return;
	memcpy(f->q.mtimes, l->mtimes, sizeof(f->q.mtimes));
	f->q.modseq = h.highestmodseq;
	f->q.flags = flags;
	f->q.digest = l->digest;
	/* Measured from when the mtimes were read, not from now. */
	f->q.verify = quick_verify_at(l->mtimes, l->read_at, mi_now_ns());
	f->q.on = 1;
}

int
mi_quick_dirs(struct mailindex_folder *f)
{
	struct timespec	t[2];

	return f->q.on && mi_dir_mtimes(f->dirfd, t) == 0 &&
	    memcmp(t, f->q.mtimes, sizeof(t)) == 0;
}

void
mi_quick_begin(struct mailindex_folder *f)
{
	memset(&f->q.change, 0, sizeof(f->q.change));
	f->q.change.valid = 1;
}

int
mi_quick_pre(struct mailindex_folder *f, uint64_t modseq)
{
	mi_quick_begin(f);
	return f->q.on && modseq == f->q.modseq && mi_quick_dirs(f);
}

void
mi_quick_name(struct mailindex_folder *f, int in_new, const char *name,
    int sign)
{
	mi_digest_name(&f->q.change, in_new, name, sign);
}

void
mi_quick_post(struct mailindex_folder *f, int pre, uint64_t modseq)
{
	struct timespec	t[2];
	int64_t		v;

	if (!pre)
		return;		/* the next sync lists the folder anyway */
	if (mi_dir_mtimes(f->dirfd, t) == -1) {
		f->q.on = 0;
		return;
	}
	/*
	 * Another program's change to cur/ between the check and now
	 * hides behind ours, whenever it came: a verify is always due,
	 * once the grain of what was read is over (at once if it is). An
	 * earlier one still due stays first: changes that keep coming
	 * must not put it off.
	 */
	v = quick_verify_at(t, INT64_MIN, mi_now_ns());
	/*
	 * cur/ as the change left it. new/ only if the change left it as
	 * it was: a delivery meanwhile must not hide behind our change (a
	 * STORE or EXPUNGE that touched new/ then costs a full sync).
	 */
	f->q.mtimes[1] = t[1];
	f->q.modseq = modseq;
	f->q.digest.sum += f->q.change.sum;
	f->q.digest.n += f->q.change.n;
	f->q.digest.valid &= f->q.change.valid;
	if (v != 0 && (f->q.verify == 0 || v < f->q.verify))
		f->q.verify = v;
}

int
mailindex_quick_due_ms(const struct mailindex_folder *f)
{
	int64_t	left;

	if (!f->q.on || f->q.verify == 0)
		return -1;
	left = (f->q.verify - mi_now_ns()) / 1000000 + 1;
	return left < 0 ? 0 : left > INT32_MAX ? INT32_MAX : (int)left;
}
