/*
 * priv.h - dropping privileges, the one way every daemon does it.
 */
#ifndef POSTERN_PRIV_H
#define POSTERN_PRIV_H

#include <sys/types.h>

struct priv_user {
	uid_t	uid;
	gid_t	gid;
	char	name[64];
};

/*
 * Looks up a user by name. When the process is not root, the lookup is
 * skipped and the invoking user is returned: the suite then runs under one
 * uid, for development and tests.
 */
int	priv_lookup(const char *name, struct priv_user *out);
/*
 * chroot (when root and dir != NULL), chdir, setgroups, setresgid,
 * setresuid, then checks that none of it can be undone. Any failure is
 * fatal: a daemon must never go on with more privilege than it asked for.
 */
void	priv_drop(const struct priv_user *, const char *chroot_dir);
int	priv_is_root(void);

#endif
