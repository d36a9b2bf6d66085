/*
 * sanexit.c - sanitizer builds with POSTERN_SANITIZE_EXIT only: _exit
 * checks for leaks first.
 *
 * Postern's short-lived processes (smtpd's session workers, pop3d's login
 * and mail processes, a child whose exec failed) end with _exit, which
 * skips LeakSanitizer's exit-time check: their leaks were never looked
 * for. -DPOSTERN_SANITIZE=ON -DPOSTERN_SANITIZE_EXIT=ON links every
 * program with -Wl,--wrap=_exit, so each _exit in Postern's own code
 * comes here and runs the check before it leaves. The check stops the
 * process's threads by listing /proc/<pid>/task: where that cannot be
 * read (a chroot without the /proc that priv_drop binds in sanitizer
 * builds) it is skipped, as it would only fail. Same privilege and trust
 * as the caller.
 *
 * Off by default, and to stay so: a child forked without exec (smtpd's
 * sessions, forked by the session template, libcommon/forkserver.c)
 * still holds allocations of its parent that only the parent's frames
 * pointed to, and the check reports them. Useful for pop3d's processes,
 * which are exec'd.
 */
#if defined(POSTERN_SANITIZE) && defined(POSTERN_SANITIZE_EXIT)
#include <sanitizer/lsan_interface.h>

#include <stdio.h>
#include <unistd.h>

void	__real__exit(int) __attribute__((__noreturn__));
void	__wrap__exit(int) __attribute__((__noreturn__));

void
__wrap__exit(int status)
{
	char	task[64];

	snprintf(task, sizeof(task), "/proc/%ld/task", (long)getpid());
	if (access(task, R_OK | X_OK) == 0)
		__lsan_do_leak_check();	/* reports and exits if it finds any */
	__real__exit(status);
}
#endif
