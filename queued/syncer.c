/*
 * syncer.c - fsync(2) off the event loop, several at once.
 *
 * Runs in queued, as a few threads that do nothing but fsync descriptors
 * they are handed and report back through an eventfd; every callback runs
 * in the loop's thread, so the rest of queued stays single-threaded.
 *
 * Why: one fsync waits for a journal commit. Done one after another in the
 * loop, they cap the queue at one message per commit latency; issued
 * together from several threads, concurrent commits share journal
 * transactions (the file system's own group commit) and the loop keeps
 * accepting while they run.
 */
#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "queued.h"

struct sync_job {
	STAILQ_ENTRY(sync_job)	 entry;
	int			 fd;
	int			 err;	/* 0 or errno */
	sync_done_cb		 done;
	void			*arg;
};
STAILQ_HEAD(sync_list, sync_job);

static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 work = PTHREAD_COND_INITIALIZER;
static struct sync_list	 todo = STAILQ_HEAD_INITIALIZER(todo);
static struct sync_list	 done = STAILQ_HEAD_INITIALIZER(done);
static int		 donefd = -1;

static void *
syncer_thread(void *unused)
{
	struct sync_job	*j;
	uint64_t	 one = 1;

	for (;;) {
		pthread_mutex_lock(&lock);
		while ((j = STAILQ_FIRST(&todo)) == NULL)
			pthread_cond_wait(&work, &lock);
		STAILQ_REMOVE_HEAD(&todo, entry);
		pthread_mutex_unlock(&lock);

		j->err = fsync(j->fd) == -1 ? errno : 0;

		pthread_mutex_lock(&lock);
		STAILQ_INSERT_TAIL(&done, j, entry);
		pthread_mutex_unlock(&lock);
		/* An eventfd write only fails when the counter is full. */
		(void)!write(donefd, &one, sizeof(one));
	}
	return NULL;
}

static void
syncer_io(int fd, int events, void *arg)
{
	struct sync_list	 ready;
	struct sync_job		*j;
	uint64_t		 n;

	(void)!read(donefd, &n, sizeof(n));
	STAILQ_INIT(&ready);
	pthread_mutex_lock(&lock);
	STAILQ_CONCAT(&ready, &done);
	pthread_mutex_unlock(&lock);
	while ((j = STAILQ_FIRST(&ready)) != NULL) {
		STAILQ_REMOVE_HEAD(&ready, entry);
		j->done(j->arg, j->err);
		free(j);
	}
}

void
syncer_init(int nthreads)
{
	pthread_t	t;
	sigset_t	all, old;
	int		i;

	if ((donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	if (evloop_io(Q->loop, donefd, EV_READ, syncer_io, NULL) == -1)
		fatal("evloop_io");
	/* Signals belong to the loop's signalfd, never to these threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&t, NULL, syncer_thread, NULL)) != 0)
			fatal("pthread_create");
		else
			pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void
syncer_fsync(int fd, sync_done_cb cb, void *arg)
{
	struct sync_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		/* No memory for a job: do it here rather than not at all. */
		cb(arg, fsync(fd) == -1 ? errno : 0);
		return;
	}
	j->fd = fd;
	j->done = cb;
	j->arg = arg;
	pthread_mutex_lock(&lock);
	STAILQ_INSERT_TAIL(&todo, j, entry);
	pthread_cond_signal(&work);
	pthread_mutex_unlock(&lock);
}
