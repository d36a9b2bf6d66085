/*
 * login_post.c - the post-login process's confinement: from the
 * canonical address authd returned it builds
 * <mail_store>/<domain>/<user> (each part store-safe), creates the
 * Maildir as mail_user if it is missing, chroots there and drops to
 * mail_user for good (priv_drop) before the protocol reads a byte from
 * the client.
 *
 * Runs in the post-login process, still as root when the suite is (it
 * needs root for the chroot), freshly exec'd by the parent. Trusts the
 * parent for the address (authd's canonical form), and checks it
 * anyway: a part that could climb out of the store is refused.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
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
    size_t udirsz)
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
	if (root && (setgroups(1, &env->mail_u.gid) == -1 ||
	    setegid(env->mail_u.gid) == -1 || seteuid(env->mail_u.uid) == -1))
		fatal("become mail_user to create %s", md);
	if (maildir_create_user(store, domain, local, 0, 0, 0, NULL) == -1) {
		log_warn("create %s", md);
		rc = -1;
	}
	saved = errno;
	if (root && (seteuid(0) == -1 || setegid(0) == -1))
		fatal("back to root");
	errno = saved;
	return rc;
}

int
login_post_confine(const struct login_env *env, const char *user)
{
	char udir[PATH_MAX];

	if (post_prepare(env, user, udir, sizeof(udir)) == -1)
		return -1;
	/* From here on: the user's directory only, as mail_user, for good. */
	priv_drop(&env->mail_u, udir);
	proc_harden(PROC_NOFORK);
	return 0;
}
