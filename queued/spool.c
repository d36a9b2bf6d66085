/*
 * spool.c - queued's spool: the only code that creates, commits, rewrites
 * or removes queue files.
 *
 * Runs in queued as the queue user, with the spool directory as its
 * working directory. It trusts the spool (nobody else writes there) but
 * not the bytes a client wrote into a queue file, nor the size the client
 * claims: the commit checks it against the file.
 *
 * A queue file is queue/ID: a fixed header, the message, then the
 * envelope it was committed with. The header holds the envelope's offset,
 * 0 while the message is being received, and a MAC of the envelope under
 * a key only queued holds (queue/.key): neither message text nor smtpd,
 * which holds a writable descriptor of the file, can make an envelope
 * that the scan at start takes. Later states of the envelope go to
 * queue/ID.env, replaced atomically, which then overrides the embedded
 * one.
 *
 * Order of operations, and why:
 *   commit:  append the envelope, set the header's offset, fsync the file
 *            (on syncer threads, concurrently with other commits), fsync
 *            queue/ (shared by a batch), then reply. One file and one
 *            journal commit per message: the entry was created in queue/
 *            at Q_BEGIN, so nothing is renamed.
 *   rewrite: the envelope is serialised in the loop, then a syncer
 *            thread writes ID.env.tmp.PID, fsyncs it, renames it to
 *            ID.env and fsyncs queue/; what the state allows (the next
 *            round, the administrator's answer, a removal) happens only
 *            in the callback. One write per message at a time: states
 *            asked for meanwhile are coalesced into one later write.
 *   start:   queue/ is listed (names only) before anyone is served, so
 *            no file made after the start is judged; the files are
 *            then read a batch per loop turn. A header still at 0, or an
 *            offset past the end of the file, is an interrupted commit
 *            that nobody was told about: removed; a MAC that does not
 *            match moves the file to corrupt/.
 *   remove:  message first, then ID.env: a crash in between leaves an
 *            envelope without a message, which the next start removes;
 *            the other order could revive the original envelope.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


#include "fsutil.h"
#include "qfile.h"
#include "log.h"
#include "qid.h"
#include "queued.h"

#define SPOOL_KEY_FILE	"queue/" QFILE_KEY_NAME

/* The key of the headers' MACs: queued's alone (queue/ is 0700). */
static unsigned char spool_key[QFILE_KEY_LEN];

/* Reads the key, or makes one for an empty queue. */
static int
spool_key_load(void)
{
	ssize_t	n;
	int	fd;

	if ((fd = open(SPOOL_KEY_FILE, O_RDONLY | O_CLOEXEC)) != -1) {
		n = fs_pread_full(fd, spool_key, sizeof(spool_key), 0);
		close(fd);
		if (n == (ssize_t)sizeof(spool_key))
			return 0;
		log_warnx("%s/%s is not a queue key", Q->conf.spool_directory,
		    SPOOL_KEY_FILE);
		return -1;
	}
	if (errno != ENOENT) {
		log_warn("open %s", SPOOL_KEY_FILE);
		return -1;
	}
	if (getentropy(spool_key, sizeof(spool_key)) == -1 ||
	    fs_atomic_write(SPOOL_KEY_FILE, spool_key, sizeof(spool_key),
	    0600) == -1) {
		log_warn("create %s", SPOOL_KEY_FILE);
		return -1;
	}
	log_info("created a new queue key (%s/%s)", Q->conf.spool_directory,
	    SPOOL_KEY_FILE);
	return 0;
}

int
spool_open(struct queued *q)
{
	const char *dirs[] = { "queue", "corrupt" };
	size_t i;

	if (chdir(q->conf.spool_directory) == -1) {
		log_warn("chdir %s", q->conf.spool_directory);
		return -1;
	}
	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
		if (mkdir(dirs[i], 0700) == -1 && errno != EEXIST) {
			log_warn("mkdir %s/%s", q->conf.spool_directory,
			    dirs[i]);
			return -1;
		}
	if ((q->queuefd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("open spool directories");
		return -1;
	}
	return spool_key_load();
}

int
spool_create(char qid[QID_LEN + 1])
{
	char	hdr[QFILE_HDR_LEN];
	int	fd, tries, saved;

	qfile_header_format(hdr, 0, NULL);
	for (tries = 0; tries < 10; tries++) {
		/* EXCL: an id repeated after a clock step never replaces one. */
		qid_new(qid);
		fd = openat(Q->queuefd, qid, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd != -1)
			break;
		if (errno != EEXIST) {
			log_warn("create queue/%s", qid);
			return -1;
		}
	}
	if (fd == -1) {
		log_warnx("create queue file: no free queue id");
		return -1;
	}
	/* Clients write from here on: the offset is shared with them. */
	if (fs_write_all(fd, hdr, sizeof(hdr)) == -1) {
		saved = errno;
		close(fd);
		(void)unlinkat(Q->queuefd, qid, 0);
		errno = saved;
		log_warn("write queue/%s", qid);
		return -1;
	}
	return fd;
}

void
spool_discard(const char *qid)
{
	(void)unlinkat(Q->queuefd, qid, 0);
}

void
spool_uncommit(const char *qid)
{
	char	hdr[QFILE_HDR_LEN];
	int	fd;

	/*
	 * The header may already point at the envelope, and an unlink that
	 * no fsync made durable can be undone by a crash: a message whose
	 * client was told 4xx would then be delivered after all.
	 */
	qfile_header_format(hdr, 0, NULL);
	if ((fd = openat(Q->queuefd, qid, O_WRONLY | O_CLOEXEC)) != -1) {
		if (fs_pwrite_all(fd, hdr, sizeof(hdr), 0) == -1 ||
		    fsync(fd) == -1)
			log_warn("%s: mark uncommitted", qid);
		close(fd);
	}
	spool_discard(qid);
}

int
spool_commit_begin(int fd, struct envelope *env, uint64_t size, char *why,
    size_t whylen)
{
	struct stat	 st;
	struct buf	 b;
	char		 hdr[QFILE_HDR_LEN];
	unsigned char	 mac[QFILE_MAC_LEN];
	uint64_t	 envoff = QFILE_HDR_LEN + size;

	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != envoff ||
	    size > UINT64_MAX / 2) {
		snprintf(why, whylen, "4.3.0 queue file size mismatch");
		spool_discard(env->id);
		return -1;
	}
	buf_init(&b, ENV_MAX_SIZE);
	if (env_write(env, &b) == -1) {
		snprintf(why, whylen, "4.3.0 envelope too large");
		goto fail;
	}
	if (qfile_mac(spool_key, env->id, envoff, b.data, b.len, mac) == -1) {
		log_warnx("%s: cannot compute the header's MAC", env->id);
		snprintf(why, whylen, "4.3.0 queue file write error");
		goto fail;
	}
	qfile_header_format(hdr, envoff, mac);
	if (fs_pwrite_all(fd, b.data, b.len, (off_t)envoff) == -1 ||
	    fs_pwrite_all(fd, hdr, sizeof(hdr), 0) == -1) {
		log_warn("%s: write envelope", env->id);
		snprintf(why, whylen, "4.3.0 queue file write error");
		goto fail;
	}
	buf_free(&b);
	return 0;
fail:
	buf_free(&b);
	spool_discard(env->id);
	return -1;
}

int
spool_commit_prepare(int fd, struct envelope *env, uint64_t size, char *why,
    size_t whylen)
{
	if (spool_commit_begin(fd, env, size, why, whylen) == -1)
		return -1;
	if (fsync(fd) == -1) {
		log_warn("%s: fsync", env->id);
		snprintf(why, whylen, "4.3.0 queue file write error");
		spool_uncommit(env->id);
		return -1;
	}
	return 0;
}

int
spool_commit_sync(void)
{
	if (fsync(Q->queuefd) == -1) {
		log_warn("fsync queue directory");
		return -1;
	}
	return 0;
}

/* Someone waiting for an envelope write to make a state durable. */
struct env_waiter {
	spool_env_cb		 done;
	void			*arg;
	struct env_waiter	*next;
};

/* The one write in flight for a message, and what is asked after it. */
struct env_wr {
	struct qmsg		*m;
	struct buf		 data;		/* the state being written */
	char			 path[64];
	int			 err;		/* 0 or errno, from the thread */
	int			 rc;
	struct env_waiter	*now;		/* answered by this write */
	struct env_waiter	*later;		/* by the next one */
	int			 again;		/* a newer state to write */
};

/* Serialises m's current state into wr->data; logs a failure. */
static int
env_wr_fill(struct env_wr *wr)
{
	buf_reset(&wr->data);
	if (env_write(&wr->m->env, &wr->data) == -1) {
		log_warnx("%s: envelope too large to rewrite", wr->m->env.id);
		return -1;
	}
	return 0;
}

/* On a syncer thread: touches nothing but wr's path and bytes. */
static void
env_wr_work(void *arg)
{
	struct env_wr *wr = arg;

	wr->err = fs_atomic_write(wr->path, wr->data.data, wr->data.len,
	    0600) == -1 ? errno : 0;
}

static void env_wr_done(void *);

/* Starts wr's write of the state now in wr->data. */
static void
env_wr_start(struct env_wr *wr)
{
	/* Even a failed write may have left the file: remove it with m. */
	wr->m->envfile = 1;
	if (syncer_run(env_wr_work, env_wr_done, wr) == 0)
		return;
	/* No memory for a job: write it here rather than not at all. */
	env_wr_work(wr);
	env_wr_done(wr);
}

/* In the loop: answers this write's waiters, starts the next if asked. */
static void
env_wr_done(void *arg)
{
	struct env_wr		*wr = arg;
	struct qmsg		*m = wr->m;
	struct env_waiter	*w, *list = wr->now;
	int			 rc = wr->rc;

	if (rc == 0 && wr->err != 0) {
		errno = wr->err;
		log_warn("%s: rewrite envelope", m->env.id);
		rc = -1;
	}
	wr->now = wr->later;
	wr->later = NULL;
	if (wr->again) {
		/* The latest state goes next; it carries every later change. */
		wr->again = 0;
		wr->rc = env_wr_fill(wr);
		wr->err = 0;
		if (wr->rc == 0)
			env_wr_start(wr);
		else
			env_wr_done(wr);
	} else {
		m->wr = NULL;
		if (rc == 0)
			m->dirty = 0;
		buf_free(&wr->data);
		free(wr);
		Q->writes--;
	}
	if (rc == -1)
		m->dirty = 1;
	/* Waiters may free m, but only once m->wr is NULL (see queued.h). */
	while ((w = list) != NULL) {
		list = w->next;
		w->done(m, rc, w->arg);
		free(w);
	}
	if (Q->stopping && Q->rounds == 0 && Q->writes == 0)
		evloop_stop(Q->loop);	/* the drain of a stop is over */
}

void
spool_write_env(struct qmsg *m, spool_env_cb done, void *arg)
{
	struct env_waiter	*w;
	struct env_wr		*wr = m->wr;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warn("%s: rewrite envelope", m->env.id);
		m->dirty = 1;
		done(m, -1, arg);
		return;
	}
	w->done = done;
	w->arg = arg;
	m->dirty = 1;
	if (wr != NULL) {
		/* Coalesced: written (latest state) when this one ends. */
		w->next = wr->later;
		wr->later = w;
		wr->again = 1;
		return;
	}
	if ((wr = calloc(1, sizeof(*wr))) == NULL) {
		log_warn("%s: rewrite envelope", m->env.id);
		free(w);
		done(m, -1, arg);
		return;
	}
	wr->m = m;
	wr->now = w;
	buf_init(&wr->data, ENV_MAX_SIZE);
	snprintf(wr->path, sizeof(wr->path), "queue/%s.env", m->env.id);
	m->wr = wr;
	Q->writes++;
	wr->rc = env_wr_fill(wr);
	if (wr->rc == 0)
		env_wr_start(wr);
	else
		env_wr_done(wr);
}

void
spool_remove(const char *qid, int envfile)
{
	char envname[QID_LEN + 8];

	if (unlinkat(Q->queuefd, qid, 0) == -1 && errno != ENOENT)
		log_warn("%s: remove message", qid);
	if (!envfile)
		return;
	snprintf(envname, sizeof(envname), "%s.env", qid);
	if (unlinkat(Q->queuefd, envname, 0) == -1 && errno != ENOENT)
		log_warn("%s: remove envelope", qid);
}

int
spool_open_message(const char *qid)
{
	int fd = openat(Q->queuefd, qid, O_RDONLY | O_CLOEXEC);

	if (fd == -1)
		log_warn("%s: open message", qid);
	return fd;
}

static void
spool_quarantine(const char *name, const char *why)
{
	char to[512];

	snprintf(to, sizeof(to), "corrupt/%s", name);
	log_errx("queue/%s: %s; moved to corrupt/ for inspection", name, why);
	if (renameat(Q->queuefd, name, AT_FDCWD, to) == -1)
		log_warn("move queue/%s", name);
}

enum spool_read
spool_read(const char *qid, struct envelope *env, uint64_t *size,
    int *has_envfile)
{
	char envname[QID_LEN + 8], why[512];

	snprintf(envname, sizeof(envname), "%s.env", qid);
	switch (qfile_load(Q->queuefd, qid, spool_key, env, size,
	    has_envfile, why, sizeof(why))) {
	case QFILE_OK:
		return SPOOL_READ_OK;
	case QFILE_GONE:
		return SPOOL_READ_GONE;
	case QFILE_UNCOMMITTED:
		(void)unlinkat(Q->queuefd, qid, 0);
		return SPOOL_READ_GONE;
	case QFILE_BAD_HEADER:
		spool_quarantine(qid, why);
		/* Its state file goes along: never deleted as an orphan. */
		if (*has_envfile)
			spool_quarantine(envname, "its message has a bad header");
		return SPOOL_READ_BAD;
	case QFILE_BAD_MAC:
		spool_quarantine(qid, why);
		if (*has_envfile)
			spool_quarantine(envname, "its message's MAC does "
			    "not match");
		return SPOOL_READ_BAD;
	case QFILE_BAD_ENVELOPE:
		if (*has_envfile)
			spool_quarantine(envname, why);
		spool_quarantine(qid, "its envelope is unreadable");
		return SPOOL_READ_BAD;
	case QFILE_ERROR:
	default:
		log_warnx("queue/%s: %s", qid, why);
		return SPOOL_READ_ERROR;
	}
}

enum load_result { LOAD_OK, LOAD_REMOVED, LOAD_BAD };

/*
 * One queue file at start: what spool_read found decides whether the
 * file is loaded, or was removed (an interrupted commit nobody was told
 * about) or moved aside.
 */
static enum load_result
spool_load(const char *qid, struct qmsg **loaded)
{
	struct envelope	 env;
	uint64_t	 size;
	struct qmsg	*m;
	int		 has_envfile;

	switch (spool_read(qid, &env, &size, &has_envfile)) {
	case SPOOL_READ_OK:
		break;
	case SPOOL_READ_GONE:
		return LOAD_REMOVED;
	default:
		return LOAD_BAD;
	}
	if ((m = sched_new_msg(&env, size)) == NULL) {
		env_free(&env);
		return LOAD_BAD;
	}
	m->envfile = has_envfile;
	if (loaded != NULL)
		*loaded = m;
	sched_add(m);
	return LOAD_OK;
}

/*
 * The start-up scan. The directory is listed once, before the loop
 * serves anyone: names only (16 bytes and a kind each, freed when the
 * scan ends), so every file in the list existed before this start and
 * none that a submission creates from now on (a file still being
 * received would look like an interrupted commit) can be taken for one.
 * The files are then read SCAN_BATCH at a time, one batch per loop
 * turn, so submissions and deliveries are served in between. Each name
 * is taken once: a message is loaded once, never skipped, and an
 * operation on one not read yet reads it first (spool_scan_find).
 */
#define SCAN_BATCH	256
#define SCAN_BATCH_MS	20

enum { SCAN_MSG = 'm', SCAN_ENV = 'e', SCAN_TAKEN = 'x' };

struct spool_scan {
	char		(*names)[QID_LEN + 1];	/* the id, then the kind */
	size_t		  n;
	size_t		  cap;
	size_t		  next;
	size_t		  loaded;
	size_t		  removed;
	uint64_t	  started_ms;
};

static int
scan_list_add(struct spool_scan *sc, const char *qid, char kind)
{
	char	(*nv)[QID_LEN + 1];
	size_t	  ncap;

	if (sc->n == sc->cap) {
		ncap = sc->cap ? sc->cap * 2 : 4096;
		if ((nv = reallocarray(sc->names, ncap, sizeof(*nv))) == NULL)
			return -1;
		sc->names = nv;
		sc->cap = ncap;
	}
	memcpy(sc->names[sc->n], qid, QID_LEN);
	sc->names[sc->n][QID_LEN] = kind;
	sc->n++;
	return 0;
}

/* One listed name, taken: loaded, removed or moved aside. */
static struct qmsg *
scan_take(struct spool_scan *sc, size_t i)
{
	char		 qid[QID_LEN + 1], envname[QID_LEN + 8];
	struct stat	 st;
	struct qmsg	*m = NULL;
	char		 kind = sc->names[i][QID_LEN];

	sc->names[i][QID_LEN] = SCAN_TAKEN;
	memcpy(qid, sc->names[i], QID_LEN);
	qid[QID_LEN] = '\0';
	if (kind == SCAN_MSG) {
		switch (spool_load(qid, &m)) {
		case LOAD_OK:
			sc->loaded++;
			break;
		case LOAD_REMOVED:
			sc->removed++;
			break;
		case LOAD_BAD:
			break;
		}
	} else if (kind == SCAN_ENV) {
		snprintf(envname, sizeof(envname), "%s.env", qid);
		/*
		 * Left by a removal that a crash cut short. A message removed
		 * since the listing took its ID.env along (ENOENT here).
		 */
		if (fstatat(Q->queuefd, qid, &st, 0) == -1 &&
		    errno == ENOENT &&
		    unlinkat(Q->queuefd, envname, 0) == 0)
			sc->removed++;
	}
	return m;
}

static void
scan_end(struct spool_scan *sc)
{
	log_info("queue scanned: %zu messages loaded, %zu files of "
	    "interrupted commits or removals deleted (%.1f s)", sc->loaded,
	    sc->removed, (double)(evloop_now_ms() - sc->started_ms) / 1000);
	free(sc->names);
	free(sc);
	Q->scan = NULL;
}

static void
scan_step(void *arg)
{
	struct spool_scan	*sc = arg;
	uint64_t		 until = evloop_now_ms() + SCAN_BATCH_MS;
	size_t			 n = 0;

	if (Q->stopping) {
		/* What is not read stays on disk for the next start. */
		log_info("queue scan stopped with %zu of %zu files read",
		    sc->next, sc->n);
		free(sc->names);
		free(sc);
		Q->scan = NULL;
		return;
	}
	while (sc->next < sc->n && n++ < SCAN_BATCH &&
	    (n % 32 != 0 || evloop_now_ms() < until))
		(void)scan_take(sc, sc->next++);
	if (sc->next == sc->n) {
		scan_end(sc);
		return;
	}
	if (evloop_timer(Q->loop, 0, scan_step, sc) == NULL) {
		/* No memory for a timer: finish here rather than never. */
		while (sc->next < sc->n)
			(void)scan_take(sc, sc->next++);
		scan_end(sc);
	}
}

struct qmsg *
spool_scan_find(const char *qid)
{
	struct spool_scan	*sc = Q->scan;
	size_t			 i;

	if (sc == NULL || strlen(qid) != QID_LEN)
		return NULL;
	/* A linear search: only an administrator's operation comes here. */
	for (i = sc->next; i < sc->n; i++)
		if (sc->names[i][QID_LEN] == SCAN_MSG &&
		    memcmp(sc->names[i], qid, QID_LEN) == 0)
			return scan_take(sc, i);
	return NULL;
}

int
spool_scan(struct queued *q)
{
	struct spool_scan	*sc;
	DIR			*d;
	struct dirent		*de;

	if ((sc = calloc(1, sizeof(*sc))) == NULL)
		return -1;
	sc->started_ms = evloop_now_ms();
	if ((d = opendir("queue")) == NULL) {
		free(sc);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		size_t nl = strlen(de->d_name);
		char kind = 0;

		if (de->d_name[0] == '.')
			continue;
		if (nl == QID_LEN && qid_valid(de->d_name))
			kind = SCAN_MSG;
		else if (nl == QID_LEN + 4 &&
		    strcmp(de->d_name + QID_LEN, ".env") == 0) {
			char name[QID_LEN + 1];

			memcpy(name, de->d_name, QID_LEN);
			name[QID_LEN] = '\0';
			if (qid_valid(name))
				kind = SCAN_ENV;
		}
		if (kind != 0) {
			if (scan_list_add(sc, de->d_name, kind) == -1) {
				log_warn("queue scan");
				closedir(d);
				free(sc->names);
				free(sc);
				return -1;
			}
			continue;
		}
		/* A rewrite cut short by the last stop; none runs yet. */
		if (strstr(de->d_name, ".tmp.") != NULL) {
			(void)unlinkat(q->queuefd, de->d_name, 0);
			continue;
		}
		log_warnx("queue/%s: unexpected file left alone", de->d_name);
	}
	closedir(d);
	log_info("queue scan: %zu files listed in %.1f s; read while "
	    "serving", sc->n, (double)(evloop_now_ms() - sc->started_ms) / 1000);
	q->scan = sc;
	if (sc->n == 0) {
		scan_end(sc);
		return 0;
	}
	if (evloop_timer(q->loop, 0, scan_step, sc) == NULL) {
		q->scan = NULL;
		free(sc->names);
		free(sc);
		return -1;
	}
	return 0;
}
