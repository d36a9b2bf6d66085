/*
 * forkserver.h - session processes forked from a ready template process
 * instead of exec'd one by one.
 *
 * A daemon's listener (root, never reading a client's byte) keeps a
 * template: a process exec'd from the daemon's own binary that loaded
 * what every session needs (the configuration, the TLS contexts, the
 * time zone) and then waits. On request it forks a session process,
 * which drops its privileges and serves the client handed over with the
 * request. An exec per session costs 15 to 25 ms of CPU with OpenSSL
 * loaded (the loader's relocations, SSL_CTX set-up); a fork of the
 * template costs a fraction of a millisecond.
 *
 * What fork gives up against exec: sessions of one template share its
 * address-space layout and stack canary. So a template serves at most
 * FORKSERVER_MAX_SPAWNS sessions or FORKSERVER_MAX_AGE seconds, and is
 * replaced at once when one of its sessions dies by a signal: a crash
 * bug is never retried against a layout that crashed, and a layout
 * learned through a leak is good for a bounded number of sessions (the
 * caller retires the idle sessions of a crashed template too, or reuse
 * would stretch that bound). Memory is never shared: the template never
 * served a client, and the requests carry no client data (descriptors
 * and the listener's kind of session).
 *
 * The session processes are the template's children; it reports each
 * one's end to the listener (pid and wait status). The listener, a child
 * subreaper, reaps those orphaned by a template that went away, so every
 * end is seen once, by one of the two ways. A request waits at most 2 s
 * for the template's answer, the one time the listener blocks on it.
 */
#ifndef POSTERN_FORKSERVER_H
#define POSTERN_FORKSERVER_H

#include <sys/types.h>

#include <poll.h>
#include <stddef.h>
#include <time.h>

#define FORKSERVER_MAX_SPAWNS	100
#define FORKSERVER_MAX_AGE	300	/* seconds */
#define FORKSERVER_PAYLOAD_MAX	512
#define FORKSERVER_FDS_MAX	4
#define FORKSERVER_OLD_MAX	64	/* retired, not yet reaped */

/* In the template: runs one session (never returns). */
typedef void (*forkserver_child_fn)(void *arg, const int *fds, size_t nfds,
    const void *payload, size_t len);
/* In the listener's forked child: exec the template with ctl (returns on failure). */
typedef void (*forkserver_exec_fn)(void *arg, int ctl);
/* In the listener: a session process of template gen ended with status. */
typedef void (*forkserver_ended_fn)(void *arg, unsigned gen, pid_t pid,
    int status);
/*
 * In the listener: template gen was reaped; its sessions still running
 * are the listener's children now, and one that is not ended unreported.
 */
typedef void (*forkserver_lost_fn)(void *arg, unsigned gen);

struct forkserver {
	int		 ctl;		/* -1: none */
	pid_t		 pid;
	unsigned	 gen;
	int		 ready;
	int		 ever_ready;
	unsigned	 spawned;
	time_t		 started;	/* CLOCK_MONOTONIC seconds */
};

struct forkserver_pool {
	struct forkserver	 cur;		/* pid -1: none */
	/* Retired or lost ones, until the listener reaps them. */
	struct forkserver	 old[FORKSERVER_OLD_MAX];
	size_t			 nold;
	unsigned		 gen;
	time_t			 next_start;	/* after a failed start */
	unsigned		 failures;	/* in a row, never ready */
	int			 stopped;
	int			 in_spawn;
	unsigned		 crashed_gen;	/* reported during a spawn */
	/*
	 * Counts every control socket opened or closed: a listener that
	 * watches them through an event loop re-registers them when it
	 * moves (a closed descriptor's number may come back as a new one).
	 */
	unsigned		 fds_epoch;
	forkserver_exec_fn	 exec;
	forkserver_ended_fn	 ended;
	forkserver_lost_fn	 lost;
	void			*arg;
};

/* Starts the first template. */
void	forkserver_pool_init(struct forkserver_pool *, forkserver_exec_fn,
	    forkserver_ended_fn, forkserver_lost_fn, void *arg);
/*
 * A session process forked by the ready template with fds (the caller
 * still owns its copies) and payload: its pid and *gen. -1 with EAGAIN
 * when no template took the request (none ready, or it went away): the
 * caller may start the session another way. -1 with another errno when
 * it may have forked (it did not answer and was killed) or could not:
 * the client is best refused. Starts and replaces templates as needed.
 */
pid_t	forkserver_pool_spawn(struct forkserver_pool *, const int *fds,
	    size_t nfds, const void *payload, size_t len, unsigned *gen);
/* A session of gen died by a signal: that template is replaced. */
void	forkserver_pool_crashed(struct forkserver_pool *, unsigned gen);
/*
 * Starts a template if none runs and the pause after a failed one is
 * over; returns poll's timeout until it may (-1: no need).
 */
int	forkserver_pool_timeout(struct forkserver_pool *);
/* Room for the pool's descriptors in a poll set, and what they said. */
size_t	forkserver_pool_nfds(const struct forkserver_pool *);
size_t	forkserver_pool_pollfds(const struct forkserver_pool *,
	    struct pollfd *);
void	forkserver_pool_events(struct forkserver_pool *,
	    const struct pollfd *, size_t n);
/* The listener reaped pid: 1 if it was a template (forgotten now). */
int	forkserver_pool_reaped(struct forkserver_pool *, pid_t pid,
	    int status);
/*
 * Hears every report the templates have sent (their sessions' ends):
 * before a decision on the number of sessions. A template reports a
 * session's end before it reaps it, so one gone from the process table
 * is not counted after this.
 */
void	forkserver_pool_drain(struct forkserver_pool *);
/*
 * The current template goes (its sessions go on) and a fresh one takes
 * over: after a reload, so that sessions start with the new settings.
 */
void	forkserver_pool_renew(struct forkserver_pool *);
/* Whether template gen still reports its sessions' ends. */
int	forkserver_pool_reporting(const struct forkserver_pool *,
	    unsigned gen);
/* Every template told to go; their sessions go on. */
void	forkserver_pool_stop(struct forkserver_pool *);

/* The template's loop, on ctl (never returns). */
void	forkserver_serve(int ctl, forkserver_child_fn, void *arg)
	    __attribute__((__noreturn__));

#endif
