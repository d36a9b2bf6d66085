/*
 * proc.h - process hygiene: what a process of the suite may inherit
 * (descriptors, environment) and what it may never regain (privileges
 * through exec, forks, core dumps).
 */
#ifndef POSTERN_PROC_H
#define POSTERN_PROC_H

#include <stddef.h>

/* The PATH every process of the suite gets. */
#define PROC_PATH	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/*
 * Replaces this process's environment with the allowlist: TZ (kept if
 * set), PATH (fixed), LANG=C, and in sanitizer builds the sanitizers'
 * own option variables. Everything the suite execs inherits only that.
 */
void	proc_env_reset(void);
/* Closes every descriptor above stderr except keep[0..n-1]. */
void	proc_close_except(const int *keep, size_t n);
/*
 * In a child about to exec: signal mask and the handlers of the usual
 * signals back to their defaults, every descriptor but keep[] (and 0-2)
 * closed, and keep[] made inheritable. 0, or -1 with errno.
 */
int	proc_exec_prepare(const int *keep, size_t n);

enum proc_limit {
	PROC_NOFORK = 1,	/* RLIMIT_NPROC 0: this process never forks */
};

/*
 * No way back up: PR_SET_NO_NEW_PRIVS (verified: an exec can never gain
 * privileges again), RLIMIT_CORE 0 (a crash does not write secrets to
 * disk), and with PROC_NOFORK RLIMIT_NPROC 0. Fatal if the kernel
 * refuses: a process must not go on weaker than it asked to be.
 */
void	proc_harden(int flags);

#endif
