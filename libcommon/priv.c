/*
 * priv.c - privilege drop.
 *
 * Runs in each daemon right after start-up, as root (or as the invoking
 * user in development mode, where it only changes directory). The order
 * matters: chroot needs root, groups must go before the gid, the gid
 * before the uid; at the end we prove we cannot get root back.
 *
 * In a POSTERN_SANITIZE build only, a chroot directory holding an empty
 * "proc" directory gets the host's /proc bound onto it, in a mount
 * namespace of the process's own (gone when it exits, never seen by the
 * host): LeakSanitizer's exit-time check lists /proc/<pid>/task to stop
 * the process's threads, and without it a chrooted daemon ends with
 * "LeakSanitizer has encountered a fatal error" instead of a leak check.
 * Nothing is created here (a user's mail directory or pop3d's empty
 * directory must not grow entries): whoever makes the chroot directory for
 * a sanitizer run (the test harness) makes <dir>/proc. This widens what a
 * chrooted process sees, and is why it is confined to sanitizer builds.
 */
#include <sys/types.h>
#ifdef POSTERN_SANITIZE
#include <sys/mount.h>
#include <sys/stat.h>

#include <sanitizer/lsan_interface.h>

#include <limits.h>
#include <sched.h>
#endif

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "priv.h"

int
priv_is_root(void)
{
	return geteuid() == 0;
}

int
priv_lookup(const char *name, struct priv_user *out)
{
	struct passwd *pw;

	if (!priv_is_root()) {
		out->uid = geteuid();
		out->gid = getegid();
		pw = getpwuid(out->uid);
		strlcpy(out->name, pw ? pw->pw_name : "self",
		    sizeof(out->name));
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(name)) == NULL) {
		if (errno == 0)
			errno = ENOENT;
		return -1;
	}
	if (pw->pw_uid == 0) {
		errno = EPERM;	/* a daemon user must not be root */
		return -1;
	}
	out->uid = pw->pw_uid;
	out->gid = pw->pw_gid;
	strlcpy(out->name, pw->pw_name, sizeof(out->name));
	return 0;
}

#ifdef POSTERN_SANITIZE
/* Sanitizer builds: /proc inside the chroot for LeakSanitizer (see top). */
static void
priv_san_proc(const char *chroot_dir)
{
	char		p[PATH_MAX];
	struct stat	st;

	if (snprintf(p, sizeof(p), "%s/proc", chroot_dir) >= (int)sizeof(p) ||
	    lstat(p, &st) == -1 || !S_ISDIR(st.st_mode))
		return;
	/* Private first: a bind under a shared / would reach the host. */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount("/proc", p, NULL, MS_BIND, NULL) == -1) {
		/*
		 * No mount namespace (a unit whose capabilities lack
		 * CAP_SYS_ADMIN): check for leaks now, while /proc is still
		 * in sight; LeakSanitizer then skips the exit check it could
		 * not make.
		 */
		log_warn("sanitizer build: no /proc in the chroot %s; "
		    "LeakSanitizer checks now instead of at exit", chroot_dir);
		__lsan_do_leak_check();
	}
}
#endif

void
priv_drop(const struct priv_user *u, const char *chroot_dir)
{
	uid_t	r, e, s;
	gid_t	rg, eg, sg;

	if (!priv_is_root()) {
		if (chroot_dir != NULL && chdir(chroot_dir) == -1)
			fatal("chdir %s", chroot_dir);
		return;
	}
	if (chroot_dir != NULL) {
#ifdef POSTERN_SANITIZE
		priv_san_proc(chroot_dir);
#endif
		if (chroot(chroot_dir) == -1)
			fatal("chroot %s", chroot_dir);
		if (chdir("/") == -1)
			fatal("chdir / in chroot");
	}
	if (setgroups(1, &u->gid) == -1)
		fatal("setgroups");
	if (setresgid(u->gid, u->gid, u->gid) == -1)
		fatal("setresgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) == -1)
		fatal("setresuid %u", (unsigned)u->uid);

	if (getresuid(&r, &e, &s) == -1 || r != u->uid || e != u->uid ||
	    s != u->uid)
		fatalx("privilege drop: uid did not stick");
	if (getresgid(&rg, &eg, &sg) == -1 || rg != u->gid || eg != u->gid ||
	    sg != u->gid)
		fatalx("privilege drop: gid did not stick");
	if (setuid(0) != -1 || seteuid(0) != -1)
		fatalx("privilege drop: root could be regained");
}
