/*
 * proc.c - process hygiene shared by master and every daemon.
 *
 * master resets its own environment and closes what its invoker left
 * open before it starts anything, so no daemon inherits a descriptor or
 * a variable from whoever ran `postern start` (a shell's writable pipe
 * was once seen at fd 251 in chrooted smtpd sessions). Every exec in the
 * suite goes through proc_exec_prepare, so a child holds exactly the
 * descriptors it was handed. proc_harden runs in every daemon right
 * after start-up, and again with PROC_NOFORK in session processes once
 * they dropped privileges: NO_NEW_PRIVS is inherited across fork and
 * exec and cannot be cleared, so nothing below master can ever gain
 * privileges through a set-id program or file capabilities.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "proc.h"

#define PROC_KEEP_MAX	64

void
proc_env_reset(void)
{
	static const char *const keep[] = {
		"TZ",
#ifdef POSTERN_SANITIZE
		"ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
#endif
	};
	char	*saved[sizeof(keep) / sizeof(keep[0])];
	size_t	 i;

	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		const char *v = getenv(keep[i]);

		saved[i] = v != NULL ? strdup(v) : NULL;
	}
	if (clearenv() != 0)
		fatalx("clearenv failed");
	for (i = 0; i < sizeof(keep) / sizeof(keep[0]); i++)
		if (saved[i] != NULL) {
			if (setenv(keep[i], saved[i], 1) == -1)
				fatal("setenv %s", keep[i]);
			free(saved[i]);
		}
	if (setenv("PATH", PROC_PATH, 1) == -1 ||
	    setenv("LANG", "C", 1) == -1)
		fatal("setenv");
}

static int
int_cmp(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

void
proc_close_except(const int *keep, size_t n)
{
	int		k[PROC_KEEP_MAX + 1];
	unsigned int	lo = 3;
	size_t		i;

	if (n > PROC_KEEP_MAX)
		fatalx("proc_close_except: %zu descriptors to keep", n);
	/* keep may be NULL with n 0: no memcpy from NULL (UBSan). */
	for (i = 0; i < n; i++)
		k[i] = keep[i];
	/*
	 * The log socket stays, so a child can still log until it execs
	 * (it is close-on-exec: the new image connects for itself).
	 */
	if (log_fd() >= 3)
		k[n++] = log_fd();
	qsort(k, n, sizeof(*k), int_cmp);
	for (i = 0; i < n; i++) {
		if (k[i] < 3)
			continue;
		if ((unsigned int)k[i] > lo)
			(void)close_range(lo, (unsigned int)k[i] - 1, 0);
		lo = (unsigned int)k[i] + 1;
	}
	(void)close_range(lo, ~0U, 0);
}

int
proc_exec_prepare(const int *keep, size_t n)
{
	static const int sigs[] = { SIGCHLD, SIGTERM, SIGINT, SIGHUP,
	    SIGPIPE, SIGALRM, SIGUSR1, SIGUSR2 };
	struct sigaction	sa;
	sigset_t		none;
	size_t			i;
	int			fl;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = SIG_DFL;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
	sigemptyset(&none);
	(void)sigprocmask(SIG_SETMASK, &none, NULL);
	proc_close_except(keep, n);
	for (i = 0; i < n; i++) {
		if ((fl = fcntl(keep[i], F_GETFD)) == -1 ||
		    fcntl(keep[i], F_SETFD, fl & ~FD_CLOEXEC) == -1)
			return -1;
	}
	return 0;
}

void
proc_harden(int flags)
{
	struct rlimit zero = { 0, 0 };

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
		fatal("prctl(PR_SET_NO_NEW_PRIVS)");
	if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1)
		fatalx("no_new_privs did not stick");
	if (setrlimit(RLIMIT_CORE, &zero) == -1)
		fatal("setrlimit(RLIMIT_CORE)");
	if ((flags & PROC_NOFORK) && setrlimit(RLIMIT_NPROC, &zero) == -1)
		fatal("setrlimit(RLIMIT_NPROC)");
}
