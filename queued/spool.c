/*
 * spool.c - queued's spool: the only code that creates, commits, rewrites
 * or removes queue files.
 *
 * Runs in queued as the queue user, with the spool directory as its
 * working directory. It trusts the spool (nobody else writes there) but
 * not the bytes a client wrote into an incoming file, nor the size the
 * client claims: the commit checks it against the file.
 *
 * Order of operations, and why:
 *   commit:  write the envelope, fsync message and envelope (on syncer
 *            threads, concurrently with other commits), rename message,
 *            rename envelope, fsync queue/ (shared by a batch), then reply.
 *            The envelope is renamed last, so a message without one is an
 *            interrupted commit that nobody was told about.
 *   remove:  envelope first, then message, for the same reason.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "qid.h"
#include "queued.h"

int
spool_open(struct queued *q)
{
	const char *dirs[] = { "incoming", "queue", "corrupt" };
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
	if ((q->queuefd = open("queue", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    (q->incomingfd = open("incoming", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_warn("open spool directories");
		return -1;
	}
	return 0;
}

int
spool_create(char qid[QID_LEN + 1])
{
	int fd, tries;

	for (tries = 0; tries < 10; tries++) {
		qid_new(qid);
		fd = openat(Q->incomingfd, qid, O_RDWR | O_CREAT | O_EXCL |
		    O_CLOEXEC, 0600);
		if (fd != -1)
			return fd;
		if (errno != EEXIST)
			break;
	}
	log_warn("create incoming/%s", qid);
	return -1;
}

void
spool_discard(const char *qid)
{
	char envname[QID_LEN + 8];

	snprintf(envname, sizeof(envname), "%s.env", qid);
	(void)unlinkat(Q->incomingfd, envname, 0);
	(void)unlinkat(Q->incomingfd, qid, 0);
}

int
spool_commit_begin(int fd, struct envelope *env, uint64_t size, int *envfd,
    char *why, size_t whylen)
{
	struct stat	 st;
	struct buf	 b;
	char		 envname[QID_LEN + 8];
	int		 efd = -1;

	if (fstat(fd, &st) == -1 || (uint64_t)st.st_size != size) {
		snprintf(why, whylen, "4.3.0 queue file size mismatch");
		spool_discard(env->id);
		return -1;
	}
	buf_init(&b, ENV_MAX_SIZE);
	snprintf(envname, sizeof(envname), "%s.env", env->id);
	if (env_write(env, &b) == -1) {
		snprintf(why, whylen, "4.3.0 envelope too large");
		goto fail;
	}
	efd = openat(Q->incomingfd, envname, O_WRONLY | O_CREAT | O_EXCL |
	    O_CLOEXEC, 0600);
	if (efd == -1 || fs_write_all(efd, b.data, b.len) == -1) {
		log_warn("%s: write envelope", env->id);
		snprintf(why, whylen, "4.3.0 queue file write error");
		goto fail;
	}
	buf_free(&b);
	*envfd = efd;
	return 0;
fail:
	if (efd != -1)
		close(efd);
	buf_free(&b);
	spool_discard(env->id);
	return -1;
}

int
spool_commit_finish(const char *qid, char *why, size_t whylen)
{
	char envname[QID_LEN + 8];

	snprintf(envname, sizeof(envname), "%s.env", qid);
	/*
	 * NOREPLACE: an id can repeat after the clock stepped back and queued
	 * restarted; a plain rename would silently replace a queued message.
	 * The envelope goes last: a message without one was never committed.
	 */
	if (renameat2(Q->incomingfd, qid, Q->queuefd, qid,
	    RENAME_NOREPLACE) == -1) {
		log_warn("%s: rename into queue", qid);
		goto fail;
	}
	if (renameat2(Q->incomingfd, envname, Q->queuefd, envname,
	    RENAME_NOREPLACE) == -1) {
		log_warn("%s: rename envelope into queue", qid);
		(void)unlinkat(Q->queuefd, qid, 0);
		goto fail;
	}
	return 0;
fail:
	snprintf(why, whylen, "4.3.0 queue file write error");
	spool_discard(qid);
	return -1;
}

int
spool_commit_prepare(int fd, struct envelope *env, uint64_t size, char *why,
    size_t whylen)
{
	int efd, rc;

	if (spool_commit_begin(fd, env, size, &efd, why, whylen) == -1)
		return -1;
	rc = fsync(fd) == -1 || fsync(efd) == -1 ? -1 : 0;
	if (rc == -1) {
		log_warn("%s: fsync", env->id);
		snprintf(why, whylen, "4.3.0 queue file write error");
		spool_discard(env->id);
	}
	close(efd);
	if (rc == -1)
		return -1;
	return spool_commit_finish(env->id, why, whylen);
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

int
spool_write_env(const struct envelope *env)
{
	struct buf	b;
	char		path[64];
	int		rc;

	buf_init(&b, ENV_MAX_SIZE);
	if (env_write(env, &b) == -1) {
		buf_free(&b);
		log_warnx("%s: envelope too large to rewrite", env->id);
		return -1;
	}
	snprintf(path, sizeof(path), "queue/%s.env", env->id);
	rc = fs_atomic_write(path, b.data, b.len, 0600);
	if (rc == -1)
		log_warn("%s: rewrite envelope", env->id);
	buf_free(&b);
	return rc;
}

void
spool_remove(const char *qid)
{
	char envname[QID_LEN + 8];

	snprintf(envname, sizeof(envname), "%s.env", qid);
	if (unlinkat(Q->queuefd, envname, 0) == -1 && errno != ENOENT)
		log_warn("%s: remove envelope", qid);
	if (unlinkat(Q->queuefd, qid, 0) == -1 && errno != ENOENT)
		log_warn("%s: remove message", qid);
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

static int
spool_load(const char *qid)
{
	struct envelope	 env;
	struct stat	 st;
	char		 envname[QID_LEN + 8], err[256], *text;
	char		 path[64];
	size_t		 len;
	struct qmsg	*m;

	snprintf(envname, sizeof(envname), "%s.env", qid);
	if (fstatat(Q->queuefd, qid, &st, 0) == -1) {
		spool_quarantine(envname, "envelope without message");
		return -1;
	}
	snprintf(path, sizeof(path), "queue/%s", envname);
	if (fs_read_file(path, ENV_MAX_SIZE, &text, &len) == -1) {
		log_warn("read %s", path);
		return -1;
	}
	if (env_parse(text, len, &env, err, sizeof(err)) == -1 ||
	    strcmp(env.id, qid) != 0) {
		free(text);
		spool_quarantine(envname, err);
		spool_quarantine(qid, "its envelope is unreadable");
		return -1;
	}
	free(text);
	if ((m = sched_new_msg(&env, (uint64_t)st.st_size)) == NULL) {
		env_free(&env);
		return -1;
	}
	sched_add(m);
	return 0;
}

int
spool_scan(struct queued *q)
{
	DIR		*d;
	struct dirent	*de;
	size_t		 loaded = 0, removed = 0;

	/* Nothing in incoming/ was ever acknowledged. */
	if ((d = opendir("incoming")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (unlinkat(q->incomingfd, de->d_name, 0) == 0)
			removed++;
	}
	closedir(d);

	if ((d = opendir("queue")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		char	name[QID_LEN + 1];
		size_t	nl = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		if (nl == QID_LEN + 4 && strcmp(de->d_name + QID_LEN, ".env") == 0) {
			memcpy(name, de->d_name, QID_LEN);
			name[QID_LEN] = '\0';
			if (qid_valid(name) && spool_load(name) == 0)
				loaded++;
			continue;
		}
		if (nl == QID_LEN && qid_valid(de->d_name)) {
			struct stat st;
			char envname[sizeof(de->d_name) + 8];

			snprintf(envname, sizeof(envname), "%s.env", de->d_name);
			if (fstatat(q->queuefd, envname, &st, 0) == -1 &&
			    errno == ENOENT) {
				/* An interrupted commit: never acknowledged. */
				(void)unlinkat(q->queuefd, de->d_name, 0);
				removed++;
			}
			continue;
		}
		if (strstr(de->d_name, ".tmp.") != NULL) {
			(void)unlinkat(q->queuefd, de->d_name, 0);
			continue;
		}
		log_warnx("queue/%s: unexpected file left alone", de->d_name);
	}
	closedir(d);
	log_info("queue scanned: %zu messages loaded, %zu unacknowledged "
	    "files removed", loaded, removed);
	return 0;
}
