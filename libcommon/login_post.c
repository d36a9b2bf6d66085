/*
 * login_post.c - the post-login process's confinement: from the
 * canonical address authd returned it builds
 * <mail_store>/<domain>/<user> (each part store-safe), creates the
 * Maildir as mail_user if it is missing, chroots there and drops to
 * mail_user for good (priv_drop) before the protocol reads a byte from
 * the client.
 *
 * Runs in the post-login process, still as root when the suite is (it
 * needs root for the chroot), freshly exec'd by the parent. A daemon
 * may ask for a directory of the user's elsewhere (imapd's index on
 * local disk, imap_index_directory) to be bound into the user's
 * directory first, in the process's own mount namespace. Trusts the
 * parent for the address (authd's canonical form), and checks it
 * anyway: a part that could climb out of the store is refused.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "fsutil.h"
#include "log.h"
#include "login.h"
#include "maildir.h"
#include "proc.h"

/*
 * The user's directory, created (as mail_user when we are root, so the
 * store stays hers) if this is the first contact.
 */
static int
post_prepare(const struct login_env *env, const char *user, char *udir,
    size_t udirsz, const struct login_bind *bind, char *bsrc, size_t bsrcsz)
{
	char		 addr[ADDR_MAX + 1], *at, *local, *domain;
	char		 ddir[PATH_MAX], md[PATH_MAX];
	const char	*store = env->conf->mail_store;
	struct stat	 st;
	int		 root = priv_is_root(), rc = 0, saved;

	if (strlcpy(addr, user, sizeof(addr)) >= sizeof(addr) ||
	    (at = strrchr(addr, '@')) == NULL)
		return -1;
	*at = '\0';
	local = addr;
	domain = at + 1;
	addr_lower(local);
	addr_lower(domain);
	if (!addr_is_store_safe(local) || !addr_is_store_safe(domain)) {
		log_warnx("login: user=<%s>: not a safe mailbox name", user);
		return -1;
	}
	if (fs_path(ddir, sizeof(ddir), store, domain) == -1 ||
	    fs_path(udir, udirsz, ddir, local) == -1 ||
	    fs_path(md, sizeof(md), udir, "Maildir") == -1)
		return -1;
	if (stat(store, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("mail_store %s is missing or not a directory", store);
		return -1;
	}
	/* The bind's top, if the administrator has not made it: mail_user's. */
	if (bind != NULL && mkdir(bind->root, 0700) == 0 &&
	    chown(bind->root, env->mail_u.uid, env->mail_u.gid) == -1)
		log_warn("chown %s", bind->root);
	if (root && (setgroups(1, &env->mail_u.gid) == -1 ||
	    setegid(env->mail_u.gid) == -1 || seteuid(env->mail_u.uid) == -1))
		fatal("become mail_user to create %s", md);
	if (maildir_create_user(store, domain, local, 0, 0, 0, NULL) == -1) {
		log_warn("create %s", md);
		rc = -1;
	}
	/* The bind's source and its mount point, likewise mail_user's. */
	if (rc == 0 && bind != NULL && (fs_path(ddir, sizeof(ddir),
	    bind->root, domain) == -1 ||
	    fs_path(bsrc, bsrcsz, ddir, local) == -1 ||
	    fs_path(md, sizeof(md), udir, bind->name) == -1 ||
	    fs_mkdirs(bsrc, 0700) == -1 ||
	    (mkdir(md, 0700) == -1 && errno != EEXIST))) {
		log_warn("login: user=<%s>: prepare %s for %s", user,
		    bind->root, bind->name);
		rc = -1;
	}
	saved = errno;
	if (root && (seteuid(0) == -1 || setegid(0) == -1))
		fatal("back to root");
	errno = saved;
	return rc;
}

/*
 * bsrc on udir/name, in a mount namespace of this process's own (private,
 * so nothing propagates to the host's): the chroot below then holds it.
 */
static int
post_bind(const char *bsrc, const char *udir, const char *name)
{
	char		target[PATH_MAX];
	struct stat	st;

	if (fs_path(target, sizeof(target), udir, name) == -1)
		return -1;
	/* The user's directory is the user's: never follow a link there. */
	if (lstat(target, &st) == -1 || !S_ISDIR(st.st_mode)) {
		log_warnx("bind on %s: not a directory", target);
		return -1;
	}
	/* A bind takes its flags only from a remount of it. */
	if (unshare(CLONE_NEWNS) == -1 ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == -1 ||
	    mount(bsrc, target, NULL, MS_BIND, NULL) == -1 ||
	    mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID |
	    MS_NODEV | MS_NOEXEC, NULL) == -1) {
		log_warn("bind %s on %s", bsrc, target);
		return -1;
	}
	return 0;
}

int
login_post_confine(const struct login_env *env, const char *user)
{
	return login_post_confine_bind(env, user, NULL);
}

int
login_post_confine_bind(const struct login_env *env, const char *user,
    const struct login_bind *bind)
{
	char udir[PATH_MAX], bsrc[PATH_MAX];

	if (bind != NULL && (bind->root[0] == '\0' || !priv_is_root()))
		bind = NULL;
	if (post_prepare(env, user, udir, sizeof(udir), bind, bsrc,
	    sizeof(bsrc)) == -1)
		return -1;
	if (bind != NULL && post_bind(bsrc, udir, bind->name) == -1)
		return -1;
	/* From here on: the user's directory only, as mail_user, for good. */
	priv_drop(&env->mail_u, udir);
	proc_harden(PROC_NOFORK);
	return 0;
}
