/*
 * syncer.c - fsync(2) off the event loop, several at once, on libcommon's
 * workq threads.
 *
 * Runs in queued. Why: one fsync waits for a journal commit. Done one
 * after another in the loop, they cap the queue at one message per commit
 * latency; issued together from several threads, concurrent commits share
 * journal transactions (the file system's own group commit) and the loop
 * keeps accepting while they run. Envelope rewrites (spool.c: temp
 * file, fsync, rename, fsync of queue/) and bounces' commits run on a
 * second, smaller pool of their own: a retry wave queues one rewrite per
 * message, and a new message's commit, which a client is waiting for,
 * must not wait behind that backlog in the same queue.
 */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "queued.h"
#include "workq.h"

struct sync_job {
	int		 fd;
	int		 err;	/* 0 or errno */
	sync_done_cb	 done;
	void		*arg;
};

static struct workq *syncq;	/* commits' fsyncs: a client waits */
static struct workq *writeq;	/* envelope rewrites, bounces */

static void
sync_work(void *arg)
{
	struct sync_job *j = arg;

	j->err = fsync(j->fd) == -1 ? errno : 0;
}

static void
sync_done(void *arg)
{
	struct sync_job *j = arg;

	j->done(j->arg, j->err);
	free(j);
}

void
syncer_init(int nthreads)
{
	syncq = workq_new(Q->loop, nthreads);
	writeq = workq_new(Q->loop, QUEUED_WRITE_THREADS);
}

void
syncer_fsync(int fd, sync_done_cb cb, void *arg)
{
	struct sync_job *j;

	if ((j = calloc(1, sizeof(*j))) != NULL) {
		j->fd = fd;
		j->done = cb;
		j->arg = arg;
		if (workq_run(syncq, sync_work, sync_done, j) == 0)
			return;
		free(j);
	}
	/* No memory for a job: do it here rather than not at all. */
	cb(arg, fsync(fd) == -1 ? errno : 0);
}

int
syncer_run(workq_fn work, workq_fn done, void *arg)
{
	return workq_run(writeq, work, done, arg);
}
