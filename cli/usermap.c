/*
 * usermap.c - the two user maps, kept in step by "postern user" and
 * "postern setup":
 *   users.db   "user@domain" -> "" (or PASSWD_LOCKED: locked, still
 *              receives mail). What resolverd needs to accept and
 *              deliver mail, and "user list/show": no secret.
 *              0640 root:<resolver_user's group>.
 *   passwd.db  "user@domain" -> the password hash ("" for none;
 *              PASSWD_LOCKED before it for a locked user: the lock is
 *              in both maps, since each reader needs it). Only authd
 *              reads it: 0600 auth_user.
 * Under one development uid both are 0600, the invoker's.
 *
 * Runs in the postern command as root (or the development user), under
 * the lock that cmd_user.c takes. Each map is rebuilt whole and renamed
 * into place (map_build_*): a reader never sees half a map. The order
 * of the two renames is chosen so that a crash between them leaves a
 * user who can log in only if users.db has them: passwd.db first when a
 * user or a password comes, users.db first when one goes.
 *
 * Until this split, users.db held the hashes. usermap_migrate moves them
 * (passwd.db written first, then users.db rewritten without them), so
 * nobody's password is lost; it runs at "postern setup" (which a
 * package's postinst runs) and before every "postern user" change, and
 * is idempotent, so a migration cut short is finished by the next run.
 */
#include <sys/file.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "map.h"
#include "passwd.h"
#include "priv.h"

struct usermap_copy {
	struct map_builder	*b;
	const char		*skip;	/* key to leave out, or NULL */
	int			 skipped;
	int			 flags;	/* users.db: values become flags */
	struct map		*have;	/* migration: passwd.db as it was */
	unsigned		 n;
};

int
cli_usermap_path(struct cli *c, const char *name, char *out, size_t outsz)
{
	if (fs_path(out, outsz, c->conf.map_directory, name) == -1) {
		cli_err(c, "map_directory is too long");
		return -1;
	}
	return 0;
}

/* What users.db keeps of a passwd.db value. */
static const char *
usermap_flags(const char *val)
{
	return val[0] == PASSWD_LOCKED ? "!" : "";
}

/* An old-layout users.db value: a hash, not just the lock flag. */
static int
usermap_is_hash(const char *val)
{
	return strcmp(val, "") != 0 && strcmp(val, "!") != 0;
}

static int
usermap_copy_cb(const char *key, const char *val, void *arg)
{
	struct usermap_copy *uc = arg;

	if (uc->skip != NULL && strcmp(key, uc->skip) == 0) {
		uc->skipped = 1;
		return 0;
	}
	return map_build_put(uc->b, key, uc->flags ? usermap_flags(val) :
	    val) == -1 ? -1 : 0;
}

/* The owner and mode of a map (users.db or passwd.db). */
static int
usermap_owner(struct cli *c, int secret, mode_t *mode, uid_t *uid,
    gid_t *gid)
{
	struct passwd	*pw;
	const char	*who = secret ? c->conf.auth_user :
			    c->conf.resolver_user;

	*mode = 0600;
	*uid = (uid_t)-1;
	*gid = (gid_t)-1;
	if (!priv_is_root())
		return 0;
	if ((pw = getpwnam(who)) == NULL) {
		cli_err(c, "%s \"%s\" does not exist (run \"postern setup\")",
		    secret ? "auth_user" : "resolver_user", who);
		return -1;
	}
	if (secret) {
		/* authd's alone. */
		*uid = pw->pw_uid;
		*gid = pw->pw_gid;
	} else {
		/* Root's, readable by resolverd's group. */
		*uid = 0;
		*gid = pw->pw_gid;
		*mode = 0640;
	}
	return 0;
}

/*
 * Rebuilds one map from its old self (or from src, another map, when
 * not NULL), without skip and with add -> val. secret: passwd.db.
 */
static int
usermap_rebuild_one(struct cli *c, const char *name, int secret,
    const char *skip, const char *add, const char *val, int *skipped)
{
	struct usermap_copy	 uc;
	struct map		*old;
	char			 path[PATH_MAX];
	mode_t			 mode;
	uid_t			 uid;
	gid_t			 gid;

	memset(&uc, 0, sizeof(uc));
	uc.skip = skip;
	uc.flags = !secret;
	if (cli_usermap_path(c, name, path, sizeof(path)) == -1 ||
	    usermap_owner(c, secret, &mode, &uid, &gid) == -1)
		return -1;
	if ((old = map_open(path)) == NULL && errno != ENOENT) {
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if ((uc.b = map_build_begin_mode(path, mode, uid, gid)) == NULL) {
		cli_err(c, "cannot create a new %s: %s", path, strerror(errno));
		map_close(old);
		return -1;
	}
	if (old != NULL && map_foreach(old, usermap_copy_cb, &uc) != 0) {
		cli_err(c, "cannot copy %s: %s", path, strerror(errno));
		goto fail;
	}
	if (add != NULL && map_build_put(uc.b, add, secret ? val :
	    usermap_flags(val)) == -1) {
		cli_err(c, "cannot write %s: %s", path, strerror(errno));
		goto fail;
	}
	map_close(old);
	if (map_build_commit(uc.b) == -1) {
		cli_err(c, "cannot install the new %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (skipped != NULL)
		*skipped = uc.skipped;
	return 0;
fail:
	map_build_abort(uc.b);
	map_close(old);
	return -1;
}

int
cli_usermap_rebuild(struct cli *c, const char *skip, const char *add,
    const char *hash, int *skipped)
{
	/* A user or a password coming: the secret first (see above). */
	if (add != NULL)
		return usermap_rebuild_one(c, "passwd.db", 1, skip, add, hash,
		    NULL) == -1 || usermap_rebuild_one(c, "users.db", 0, skip,
		    add, hash, skipped) == -1 ? -1 : 0;
	return usermap_rebuild_one(c, "users.db", 0, skip, NULL, NULL,
	    skipped) == -1 || usermap_rebuild_one(c, "passwd.db", 1, skip,
	    NULL, NULL, NULL) == -1 ? -1 : 0;
}

int
cli_usermap_hash(struct cli *c, const char *key, char *val, size_t valsz)
{
	struct map	*m;
	char		 path[PATH_MAX];
	int		 rc;

	val[0] = '\0';
	if (cli_usermap_path(c, "passwd.db", path, sizeof(path)) == -1)
		return -1;
	if ((m = map_open(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if ((rc = map_get(m, key, val, valsz)) == -1)
		cli_err(c, "cannot read %s: %s", path, strerror(errno));
	map_close(m);
	return rc;
}

static int
usermap_old_cb(const char *key, const char *val, void *arg)
{
	return usermap_is_hash(val) ? 1 : 0;
}

/*
 * Migration, passwd.db's part: what it had, then every users.db value
 * that is a hash (the old layout's truth), and the lock flag of users
 * passwd.db does not know yet.
 */
static int
usermap_migrate_cb(const char *key, const char *val, void *arg)
{
	struct usermap_copy	*uc = arg;
	char			 have[MAP_VALUE_MAX];
	int			 known = 0;

	if (!usermap_is_hash(val)) {
		if (uc->have != NULL)
			known = map_get(uc->have, key, have, sizeof(have));
		explicit_bzero(have, sizeof(have));
		if (known == -1)
			return -1;
		if (known == 1)
			return 0;
	} else
		uc->n++;
	return map_build_put(uc->b, key, val) == -1 ? -1 : 0;
}

int
cli_usermap_migrate(struct cli *c)
{
	struct usermap_copy	 uc;
	struct map		*users;
	char			 upath[PATH_MAX], ppath[PATH_MAX];
	mode_t			 mode;
	uid_t			 uid;
	gid_t			 gid;
	int			 rc;

	if (cli_usermap_path(c, "users.db", upath, sizeof(upath)) == -1 ||
	    cli_usermap_path(c, "passwd.db", ppath, sizeof(ppath)) == -1)
		return -1;
	if ((users = map_open(upath)) == NULL) {
		if (errno == ENOENT)
			return 0;
		cli_err(c, "cannot open %s: %s", upath, strerror(errno));
		return -1;
	}
	if ((rc = map_foreach(users, usermap_old_cb, NULL)) != 1) {
		map_close(users);
		if (rc == -1) {
			cli_err(c, "cannot read %s: %s", upath,
			    strerror(errno));
			return -1;
		}
		return 0;	/* no hash in users.db: nothing to move */
	}
	memset(&uc, 0, sizeof(uc));
	if (usermap_owner(c, 1, &mode, &uid, &gid) == -1 ||
	    ((uc.have = map_open(ppath)) == NULL && errno != ENOENT) ||
	    (uc.b = map_build_begin_mode(ppath, mode, uid, gid)) == NULL) {
		cli_err(c, "cannot write %s: %s", ppath, strerror(errno));
		goto fail;
	}
	uc.flags = 0;
	if ((uc.have != NULL && map_foreach(uc.have, usermap_copy_cb,
	    &uc) != 0) ||
	    map_foreach(users, usermap_migrate_cb, &uc) != 0) {
		cli_err(c, "cannot move the hashes to %s: %s", ppath,
		    strerror(errno));
		goto fail;
	}
	map_close(uc.have);
	uc.have = NULL;
	map_close(users);
	users = NULL;
	if (map_build_commit(uc.b) == -1) {
		uc.b = NULL;
		cli_err(c, "cannot install %s: %s", ppath, strerror(errno));
		return -1;
	}
	/* Only now may users.db forget them. */
	if (usermap_rebuild_one(c, "users.db", 0, NULL, NULL, NULL, NULL) ==
	    -1)
		return -1;
	printf("postern: moved the password hashes of %u user%s from "
	    "users.db to passwd.db (readable by %s only)\n", uc.n,
	    uc.n == 1 ? "" : "s", priv_is_root() ? c->conf.auth_user :
	    "this user");
	return 0;
fail:
	if (uc.b != NULL)
		map_build_abort(uc.b);
	map_close(uc.have);
	map_close(users);
	return -1;
}

/*
 * Holds an exclusive lock on users.db.lock for the life of the process
 * (the descriptor is closed at exit), then migrates an old users.db.
 */
int
cli_usermap_lock(struct cli *c)
{
	char	path[PATH_MAX], lock[PATH_MAX];
	int	fd;

	if (fs_mkdirs(c->conf.map_directory, 0755) == -1) {
		cli_err(c, "cannot create %s: %s", c->conf.map_directory,
		    strerror(errno));
		return -1;
	}
	if (cli_usermap_path(c, "users.db", path, sizeof(path)) == -1)
		return -1;
	if (snprintf(lock, sizeof(lock), "%s.lock", path) >=
	    (int)sizeof(lock) ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		cli_err(c, "cannot open the lock file %s.lock: %s", path,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) == -1) {
		cli_err(c, "cannot lock %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	/* Hashes an older version left in users.db go first. */
	if (cli_usermap_migrate(c) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}
