/*
 * workq.h - blocking work (fsync, password hashes) on a few threads, its
 * completion back in the event loop's thread.
 */
#ifndef POSTERN_WORKQ_H
#define POSTERN_WORKQ_H

#include "evloop.h"

typedef void (*workq_fn)(void *arg);

struct workq;

/* Starts nthreads threads that block every signal; fatal on failure. */
struct workq	*workq_new(struct evloop *, int nthreads);
/*
 * Runs work(arg) on one of the threads, then done(arg) in the loop's
 * thread, in the order the works finish. work must touch nothing but arg
 * (the rest of the process is single-threaded). 0, or -1 (no memory)
 * with nothing queued.
 */
int		 workq_run(struct workq *, workq_fn work, workq_fn done,
		    void *arg);

#endif
