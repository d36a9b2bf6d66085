/*
 * cmd_user.c - postern user add | passwd | del | list: the users map
 * (<map_directory>/users.db: "user@domain" -> password hash, empty for a
 * user who cannot log in) and each user's Maildir.
 *
 * Runs as root (or the development user). The argument is an address
 * typed by the administrator, but it becomes a path below the mail
 * store, so it goes through the one address parser and the store-safe
 * check before any directory is made. The map is rebuilt whole and
 * renamed into place (map_build_*): resolverd never reads half a map.
 * A lock file serialises concurrent "postern user" runs, which would
 * otherwise each rebuild from the same old map and lose one another's
 * change. The map holds password hashes, so it is never world-readable:
 * 0640 root:<resolver_user's group> (resolverd alone reads it), or 0600
 * when the suite runs under one development uid. A password is read
 * before the lock is taken (a prompt must not hold up other runs),
 * hashed at once, and wiped; only its hash reaches the map, and "user
 * list" never prints hashes.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "fsutil.h"
#include "maildir.h"
#include "map.h"
#include "passwd.h"
#include "priv.h"
#include "text.h"

struct user_copy {
	struct map_builder	*b;
	const char		*skip;	/* key to leave out, or NULL */
	int			 skipped;
};

struct user_keys {
	size_t	  n;
	char	**v;
};

static int
user_copy_cb(const char *key, const char *val, void *arg)
{
	struct user_copy *uc = arg;

	if (uc->skip != NULL && strcmp(key, uc->skip) == 0) {
		uc->skipped = 1;
		return 0;
	}
	return map_build_put(uc->b, key, val) == -1 ? -1 : 0;
}

static int
user_map_path(struct cli *c, char *out, size_t outsz)
{
	if (fs_path(out, outsz, c->conf.map_directory, "users.db") == -1) {
		cli_err(c, "map_directory is too long");
		return -1;
	}
	return 0;
}

/* Holds an exclusive lock on users.db.lock for the life of the process. */
static int
user_lock(struct cli *c, const char *mappath)
{
	char	lock[PATH_MAX];
	int	fd;

	if (fs_mkdirs(c->conf.map_directory, 0755) == -1) {
		cli_err(c, "cannot create %s: %s", c->conf.map_directory,
		    strerror(errno));
		return -1;
	}
	if (snprintf(lock, sizeof(lock), "%s.lock", mappath) >=
	    (int)sizeof(lock) ||
	    (fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		cli_err(c, "cannot open the lock file %s.lock: %s", mappath,
		    strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX) == -1) {
		cli_err(c, "cannot lock %s: %s", lock, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;	/* closed at exit, which releases the lock */
}

/*
 * Rebuilds the map from the old one, without skip and with add -> val
 * (skip and add may be NULL, or the same key to replace its value).
 * *skipped says whether skip was there.
 */
static int
user_rebuild(struct cli *c, const char *path, const char *skip,
    const char *add, const char *val, int *skipped)
{
	struct user_copy	 uc;
	struct map		*old;
	struct passwd		*pw;
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;
	mode_t			 mode = 0600;

	memset(&uc, 0, sizeof(uc));
	uc.skip = skip;
	/* Readable by resolverd's group, nobody else. */
	if (priv_is_root()) {
		if ((pw = getpwnam(c->conf.resolver_user)) == NULL) {
			cli_err(c, "resolver_user \"%s\" does not exist (run "
			    "\"postern setup\")", c->conf.resolver_user);
			return -1;
		}
		uid = 0;
		gid = pw->pw_gid;
		mode = 0640;
	}
	if ((old = map_open(path)) == NULL && errno != ENOENT) {
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if ((uc.b = map_build_begin_mode(path, mode, uid, gid)) == NULL) {
		cli_err(c, "cannot create a new %s: %s", path, strerror(errno));
		map_close(old);
		return -1;
	}
	if (old != NULL && map_foreach(old, user_copy_cb, &uc) != 0) {
		cli_err(c, "cannot copy %s: %s", path, strerror(errno));
		goto fail;
	}
	if (add != NULL && map_build_put(uc.b, add, val) == -1) {
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

/* Parses and normalises the address; fills key (user@domain, lowercase). */
static int
user_parse(struct cli *c, const char *arg, struct mailaddr *a, char *key,
    size_t keysz)
{
	const char *why;

	if (addr_parse(arg, a, 0) == -1) {
		cli_err(c, "\"%s\" is not a valid address (user@domain)", arg);
		return -1;
	}
	addr_lower(a->local);
	if ((why = addr_store_unsafe_why(a->local)) != NULL ||
	    (why = addr_store_unsafe_why(a->domain)) != NULL) {
		/* Both halves become directories below the mail store. */
		cli_err(c, "\"%s\" cannot be a mailbox: %s. A mailbox name "
		    "may use a-z, 0-9 and . - _ + = ' (not starting with a "
		    "dot, no \"..\"); see postern(8)", arg, why);
		return -1;
	}
	if (addr_format(a, key, keysz) == -1) {
		cli_err(c, "\"%s\" is too long", arg);
		return -1;
	}
	return 0;
}

static int
user_make_maildir(struct cli *c, const struct mailaddr *a)
{
	struct passwd	*pw = NULL;
	char		 maildir[PATH_MAX];
	int		 root = priv_is_root(), created = 0, n;
	uid_t		 uid = 0;
	gid_t		 gid = 0;

	if (root) {
		if ((pw = getpwnam(c->conf.mail_user)) == NULL) {
			cli_err(c, "mail_user \"%s\" does not exist (run "
			    "\"postern setup\")", c->conf.mail_user);
			return -1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	if (access(c->conf.mail_store, F_OK) == -1) {
		if (fs_mkdirs(c->conf.mail_store, 0750) == -1 ||
		    (root && chown(c->conf.mail_store, uid, gid) == -1)) {
			cli_err(c, "cannot create mail_store %s: %s",
			    c->conf.mail_store, strerror(errno));
			return -1;
		}
		printf("postern: created mail_store %s\n", c->conf.mail_store);
	}
	n = snprintf(maildir, sizeof(maildir), "%s/%s/%s/Maildir",
	    c->conf.mail_store, a->domain, a->local);
	if (n < 0 || (size_t)n >= sizeof(maildir)) {
		cli_err(c, "the Maildir path is too long");
		return -1;
	}
	if (maildir_create_user(c->conf.mail_store, a->domain, a->local, uid,
	    gid, root, &created) == -1) {
		cli_err(c, "cannot create %s: %s", maildir, strerror(errno));
		return -1;
	}
	if (created > 0)
		printf("postern: created %s\n", maildir);
	else
		printf("postern: %s already exists, kept\n", maildir);
	return 0;
}

/* 1 if key is in the map at path, 0 if not, -1 if it cannot be read. */
static int
user_exists(struct cli *c, const char *path, const char *key)
{
	struct map	*m;
	char		 val[MAP_VALUE_MAX];
	int		 rc;

	if ((m = map_open(path)) == NULL) {
		if (errno == ENOENT)
			return 0;
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	if ((rc = map_get(m, key, val, sizeof(val))) == -1)
		cli_err(c, "cannot read %s: %s", path, strerror(errno));
	explicit_bzero(val, sizeof(val));
	map_close(m);
	return rc;
}

/*
 * Reads and hashes a new password (how: PW_NONE, PW_TTY, PW_STDIN) into
 * hash; "" for none. The password itself never leaves this function.
 */
enum user_pw {
	PW_NONE,
	PW_TTY,
	PW_STDIN,
};

static int
user_new_hash(struct cli *c, enum user_pw how, char *hash, size_t hashsz)
{
	char	pw[PASSWD_LEN_MAX + 1];
	int	rc = 0;

	hash[0] = '\0';
	if (how == PW_NONE)
		return 0;
	if (cli_password_read(c, how == PW_STDIN, pw, sizeof(pw)) == -1)
		rc = -1;
	else if (passwd_hash(pw, hash, hashsz) == -1) {
		cli_err(c, "cannot hash the password: %s", strerror(errno));
		rc = -1;
	}
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

/*
 * 0 when key's existence is as wanted (1 exists, 0 absent), else says
 * why not. Asked before the password prompt, so nobody types one in vain,
 * and again under the lock: the map may have changed while we prompted.
 */
static int
user_expect(struct cli *c, const char *path, const char *key, int want)
{
	int rc = user_exists(c, path, key);

	if (rc == want)
		return 0;
	if (rc == 1)
		cli_err(c, "user %s already exists", key);
	else if (rc == 0)
		cli_err(c, "no such user: %s", key);
	return -1;
}

/*
 * What add and passwd share: the address, the map, the new hash, and the
 * lock; whether the user exists (want) is checked before the password
 * prompt and again under the lock. 0, or the exit status.
 */
static int
user_prepare(struct cli *c, const char *arg, int want, enum user_pw how,
    struct mailaddr *a, char key[ADDR_MAX + 1], char path[PATH_MAX],
    char hash[PASSWD_HASH_MAX])
{
	if (user_parse(c, arg, a, key, ADDR_MAX + 1) == -1)
		return EX_DATAERR;
	if (user_map_path(c, path, PATH_MAX) == -1 ||
	    user_expect(c, path, key, want) == -1 ||
	    user_new_hash(c, how, hash, PASSWD_HASH_MAX) == -1 ||
	    user_lock(c, path) == -1 || user_expect(c, path, key, want) == -1)
		return 1;
	return 0;
}

static int
user_add(struct cli *c, const char *arg, enum user_pw how)
{
	struct mailaddr	 a;
	char		 key[ADDR_MAX + 1], path[PATH_MAX];
	char		 hash[PASSWD_HASH_MAX];
	int		 rc;

	if ((rc = user_prepare(c, arg, 0, how, &a, key, path, hash)) != 0)
		return rc;
	if (!conf_is_local_domain(&c->conf, a.domain))
		cli_warn(c, "%s is not in local_domains: mail for %s will "
		    "not be accepted until it is", a.domain, key);
	/* Maildir first: a user in the map always has somewhere to go. */
	if (user_make_maildir(c, &a) == -1)
		return 1;
	/* An empty hash: the user receives mail but cannot log in. */
	if (user_rebuild(c, path, NULL, key, hash, NULL) == -1)
		return 1;
	printf("postern: added user %s%s\n", key, hash[0] != '\0' ?
	    " with a password" : " (no password: cannot log in until "
	    "\"postern user passwd\")");
	return 0;
}

static int
user_passwd(struct cli *c, const char *arg, enum user_pw how)
{
	struct mailaddr	 a;
	char		 key[ADDR_MAX + 1], path[PATH_MAX];
	char		 hash[PASSWD_HASH_MAX];
	int		 rc;

	if ((rc = user_prepare(c, arg, 1, how, &a, key, path, hash)) != 0)
		return rc;
	if (user_rebuild(c, path, key, key, hash, NULL) == -1)
		return 1;
	printf("postern: password of %s set\n", key);
	return 0;
}

static int
user_del(struct cli *c, const char *arg)
{
	struct mailaddr	a;
	char		key[ADDR_MAX + 1], path[PATH_MAX];
	int		skipped = 0;

	if (user_parse(c, arg, &a, key, sizeof(key)) == -1)
		return EX_DATAERR;
	if (user_map_path(c, path, sizeof(path)) == -1 ||
	    user_lock(c, path) == -1)
		return 1;
	if (access(path, F_OK) == -1) {
		cli_err(c, "no such user: %s (there is no %s)", key, path);
		return 1;
	}
	if (user_rebuild(c, path, key, NULL, NULL, &skipped) == -1)
		return 1;
	if (!skipped) {
		cli_err(c, "no such user: %s", key);
		return 1;
	}
	printf("postern: removed user %s; the mail in %s/%s/%s/Maildir "
	    "is kept (remove it by hand if it should go)\n", key,
	    c->conf.mail_store, a.domain, a.local);
	return 0;
}

static int
user_key_cb(const char *key, const char *val, void *arg)
{
	struct user_keys	*k = arg;
	char			**nv;

	if ((nv = reallocarray(k->v, k->n + 1, sizeof(char *))) == NULL)
		return -1;
	k->v = nv;
	if ((k->v[k->n] = strdup(key)) == NULL)
		return -1;
	k->n++;
	return 0;
}

static int
user_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
user_list(struct cli *c)
{
	struct user_keys	 k = { 0, NULL };
	struct map		*m;
	char			 path[PATH_MAX], safe[ADDR_MAX + 1];
	size_t			 i;
	int			 rc = 0;

	if (user_map_path(c, path, sizeof(path)) == -1)
		return 1;
	if ((m = map_open(path)) == NULL) {
		if (errno == ENOENT)
			return 0;	/* no map yet: no users */
		cli_err(c, "cannot open %s: %s", path, strerror(errno));
		return 1;
	}
	if (map_foreach(m, user_key_cb, &k) != 0) {
		cli_err(c, "cannot read %s: %s", path, strerror(errno));
		rc = 1;
	} else {
		qsort(k.v, k.n, sizeof(char *), user_cmp);
		for (i = 0; i < k.n; i++) {
			(void)text_sanitize(safe, sizeof(safe), k.v[i], '?', 0);
			printf("%s\n", safe);
		}
	}
	for (i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	map_close(m);
	return rc;
}

/*
 * The options of add and passwd: a password source, before or after the
 * address. 0, or -1 for a usage error.
 */
static int
user_args(int argc, char **argv, int passwd, const char **addr,
    enum user_pw *how)
{
	int i;

	*addr = NULL;
	*how = passwd ? PW_TTY : PW_NONE;
	for (i = 2; i < argc; i++) {
		if (!passwd && strcmp(argv[i], "-p") == 0 && *how == PW_NONE)
			*how = PW_TTY;
		else if (strcmp(argv[i], passwd ? "--stdin" :
		    "--password-stdin") == 0 && *how != PW_STDIN &&
		    (passwd || *how == PW_NONE))
			*how = PW_STDIN;
		else if (argv[i][0] != '-' && *addr == NULL)
			*addr = argv[i];
		else
			return -1;
	}
	return *addr == NULL ? -1 : 0;
}

int
cli_cmd_user(struct cli *c, int argc, char **argv)
{
	const char	*addr;
	enum user_pw	 how;

	if (argc >= 3 && strcmp(argv[1], "add") == 0 &&
	    user_args(argc, argv, 0, &addr, &how) == 0)
		return user_add(c, addr, how);
	if (argc >= 3 && strcmp(argv[1], "passwd") == 0 &&
	    user_args(argc, argv, 1, &addr, &how) == 0)
		return user_passwd(c, addr, how);
	if (argc == 3 && (strcmp(argv[1], "del") == 0 ||
	    strcmp(argv[1], "delete") == 0))
		return user_del(c, argv[2]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return user_list(c);
	cli_err(c, "usage: postern user add ADDRESS [-p | --password-stdin] | "
	    "passwd ADDRESS [--stdin] | del ADDRESS | list");
	return EX_USAGE;
}
