/*
 * workq.c - a few threads that run blocking calls and report back
 * through an eventfd, so that every completion runs in the loop's thread
 * and the daemon's own code stays single-threaded.
 *
 * Used by queued (fsync: issued together from several threads,
 * concurrent commits share journal transactions, the file system's own
 * group commit, and the loop keeps accepting while they run) and by
 * authd (password hashes: tens of milliseconds each, on auth_workers
 * threads, during which the loop keeps pacing and answering).
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
#include "workq.h"

struct workq_job {
	STAILQ_ENTRY(workq_job)	 entry;
	workq_fn		 work;
	workq_fn		 done;
	void			*arg;
};
STAILQ_HEAD(workq_list, workq_job);

struct workq {
	pthread_mutex_t		 lock;
	pthread_cond_t		 cond;
	struct workq_list	 todo;
	struct workq_list	 finished;
	int			 donefd;
};

static void *
workq_thread(void *arg)
{
	struct workq		*q = arg;
	struct workq_job	*j;
	uint64_t		 one = 1;

	for (;;) {
		pthread_mutex_lock(&q->lock);
		while ((j = STAILQ_FIRST(&q->todo)) == NULL)
			pthread_cond_wait(&q->cond, &q->lock);
		STAILQ_REMOVE_HEAD(&q->todo, entry);
		pthread_mutex_unlock(&q->lock);

		j->work(j->arg);

		pthread_mutex_lock(&q->lock);
		STAILQ_INSERT_TAIL(&q->finished, j, entry);
		pthread_mutex_unlock(&q->lock);
		/* An eventfd write only fails when the counter is full. */
		(void)!write(q->donefd, &one, sizeof(one));
	}
	return NULL;
}

static void
workq_io(int fd, int events, void *arg)
{
	struct workq		*q = arg;
	struct workq_list	 ready;
	struct workq_job	*j;
	uint64_t		 n;

	(void)fd;
	(void)events;
	(void)!read(q->donefd, &n, sizeof(n));
	STAILQ_INIT(&ready);
	pthread_mutex_lock(&q->lock);
	STAILQ_CONCAT(&ready, &q->finished);
	pthread_mutex_unlock(&q->lock);
	while ((j = STAILQ_FIRST(&ready)) != NULL) {
		STAILQ_REMOVE_HEAD(&ready, entry);
		j->done(j->arg);
		free(j);
	}
}

struct workq *
workq_new(struct evloop *loop, int nthreads)
{
	struct workq	*q;
	pthread_t	 t;
	sigset_t	 all, old;
	int		 i;

	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("calloc");
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	STAILQ_INIT(&q->todo);
	STAILQ_INIT(&q->finished);
	if ((q->donefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		fatal("eventfd");
	if (evloop_io(loop, q->donefd, EV_READ, workq_io, q) == -1)
		fatal("evloop_io");
	/* Signals belong to the loop's signalfd, never to these threads. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (i = 0; i < nthreads; i++)
		if ((errno = pthread_create(&t, NULL, workq_thread, q)) != 0)
			fatal("pthread_create");
		else
			pthread_detach(t);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return q;
}

int
workq_run(struct workq *q, workq_fn work, workq_fn done, void *arg)
{
	struct workq_job *j;

	if ((j = malloc(sizeof(*j))) == NULL)
		return -1;
	j->work = work;
	j->done = done;
	j->arg = arg;
	pthread_mutex_lock(&q->lock);
	STAILQ_INSERT_TAIL(&q->todo, j, entry);
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	return 0;
}
