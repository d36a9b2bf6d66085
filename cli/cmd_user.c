/*
 * cmd_user.c - postern user add | passwd | del | list | show | lock |
 * unlock | rename: the user maps (<map_directory>/users.db, who exists
 * and who is locked, and passwd.db, the password hashes: usermap.c) and
 * each user's Maildir.
 *
 * Runs as root (or the development user). The argument is an address
 * typed by the administrator, but it becomes a path below the mail
 * store, so it goes through the one address parser and the store-safe
 * check before any directory is made. The map is rebuilt whole and
 * renamed into place (map_build_*): no daemon reads half a map.
 * A lock file serialises concurrent "postern user" runs, which would
 * otherwise each rebuild from the same old map and lose one another's
 * change; under it, an old users.db that still holds hashes is migrated
 * first (cli_usermap_migrate). passwd.db is 0600 auth_user (authd alone
 * reads it), users.db 0640 root:<resolver_user's group>; both 0600 when
 * the suite runs under one development uid. A password is read
 * before the lock is taken (a prompt must not hold up other runs),
 * hashed at once, and wiped; only its hash reaches the map, and "user
 * list" and "user show" never print hashes.
 *
 * "user show" and "user rename" work in the mail store as root, in
 * directories the mail user owns: every step below mail_store is an
 * openat with O_NOFOLLOW (a planted symbolic link cannot steer root
 * elsewhere), files are only stat'ed, and the one file read (the
 * last-login record) is parsed strictly by libcommon/lastlogin.
 */
#include <sys/file.h>
#include <sys/stat.h>

#include <dirent.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "cli.h"
#include "fsutil.h"
#include "lastlogin.h"
#include "maildir.h"
#include "map.h"
#include "passwd.h"
#include "priv.h"
#include "text.h"

struct user_keys {
	size_t	  n;
	char	**v;
};

static int
user_map_path(struct cli *c, char *out, size_t outsz)
{
	if (fs_path(out, outsz, c->conf.map_directory, "users.db") == -1) {
		cli_err(c, "map_directory is too long");
		return -1;
	}
	return 0;
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
 * key's value in the map at path into val: 1 found, 0 not, -1 after
 * saying why. The value may be a hash: the caller wipes val.
 */
static int
user_value(struct cli *c, const char *path, const char *key, char *val,
    size_t valsz)
{
	struct map	*m;
	int		 rc;

	val[0] = '\0';
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
	    cli_usermap_lock(c) == -1 || user_expect(c, path, key, want) == -1)
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
	if (cli_usermap_rebuild(c, NULL, key, hash, NULL) == -1)
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
	char		 hash[PASSWD_HASH_MAX + 1], old[MAP_VALUE_MAX];
	int		 rc, locked = 0;

	if ((rc = user_prepare(c, arg, 1, how, &a, key, path, hash)) != 0)
		return rc;
	/* A new password does not lift a lock: "user unlock" does. */
	if ((rc = user_value(c, path, key, old, sizeof(old))) == 1 &&
	    old[0] == PASSWD_LOCKED) {
		memmove(hash + 1, hash, strnlen(hash, PASSWD_HASH_MAX - 1) + 1);
		hash[0] = PASSWD_LOCKED;
		locked = 1;
	}
	explicit_bzero(old, sizeof(old));
	if (rc == -1 || cli_usermap_rebuild(c, key, key, hash, NULL) == -1) {
		explicit_bzero(hash, sizeof(hash));
		return 1;
	}
	explicit_bzero(hash, sizeof(hash));
	printf("postern: password of %s set%s\n", key, locked ?
	    " (the user stays locked)" : "");
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
	    cli_usermap_lock(c) == -1)
		return 1;
	if (access(path, F_OK) == -1) {
		cli_err(c, "no such user: %s (there is no %s)", key, path);
		return 1;
	}
	if (cli_usermap_rebuild(c, key, NULL, NULL, &skipped) == -1)
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

/* lock (on = 1) or unlock: the hash stays, behind PASSWD_LOCKED or not. */
static int
user_set_lock(struct cli *c, const char *arg, int on)
{
	struct mailaddr	a;
	char		key[ADDR_MAX + 1], path[PATH_MAX];
	char		val[MAP_VALUE_MAX + 1];
	int		rc, locked;

	if (user_parse(c, arg, &a, key, sizeof(key)) == -1)
		return EX_DATAERR;
	if (user_map_path(c, path, sizeof(path)) == -1 ||
	    cli_usermap_lock(c) == -1)
		return 1;
	if ((rc = user_expect(c, path, key, 1)) == -1 ||
	    (rc = cli_usermap_hash(c, key, val + 1, sizeof(val) - 1)) == -1)
		return 1;
	locked = val[1] == PASSWD_LOCKED;
	if (locked == on) {
		explicit_bzero(val, sizeof(val));
		printf("postern: %s is already %s\n", key, on ? "locked" :
		    "unlocked");
		return 0;
	}
	val[0] = PASSWD_LOCKED;
	rc = cli_usermap_rebuild(c, key, key, on ? val : val + 2, NULL);
	explicit_bzero(val, sizeof(val));
	if (rc == -1)
		return 1;
	if (on)
		printf("postern: locked %s: it cannot log in (POP3, IMAP, SMTP "
		    "AUTH) but still receives mail; sessions already logged in "
		    "run until they end\n", key);
	else
		printf("postern: unlocked %s\n", key);
	return 0;
}

/* Opens store/domain/local (each step without following a link). */
static int
user_dir_open(struct cli *c, const struct mailaddr *a)
{
	int sfd, dfd, ufd = -1;

	if ((sfd = open(c->conf.mail_store, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if ((dfd = openat(sfd, a->domain, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) != -1) {
		ufd = openat(dfd, a->local, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC);
		close(dfd);
	}
	close(sfd);
	return ufd;
}

/* Messages and bytes in dirfd/sub (new/ or cur/); regular files only. */
static void
user_count_sub(int dirfd, const char *sub, unsigned long long *n,
    unsigned long long *bytes)
{
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	int		 fd;

	if ((fd = openat(dirfd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' ||
		    fstatat(fd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISREG(st.st_mode))
			continue;
		(*n)++;
		*bytes += (unsigned long long)st.st_size;
	}
	closedir(d);
}

/*
 * The Maildir's messages and bytes: INBOX and every Maildir++ folder
 * (".Sent", ...), new/ and cur/ alike. -1 when there is no Maildir.
 */
static int
user_count(int ufd, unsigned long long *n, unsigned long long *bytes,
    unsigned *folders)
{
	struct dirent	*de;
	DIR		*d;
	int		 md, fd, ffd;

	*n = *bytes = 0;
	*folders = 0;
	if ((md = openat(ufd, "Maildir", O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return -1;
	user_count_sub(md, "new", n, bytes);
	user_count_sub(md, "cur", n, bytes);
	if ((fd = dup(md)) != -1 && (d = fdopendir(fd)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			if ((ffd = openat(md, de->d_name, O_RDONLY |
			    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1)
				continue;
			(*folders)++;
			user_count_sub(ffd, "new", n, bytes);
			user_count_sub(ffd, "cur", n, bytes);
			close(ffd);
		}
		closedir(d);
	} else if (fd != -1)
		close(fd);
	close(md);
	return 0;
}

/* user show ADDRESS: what doveadm user and mailbox status would say. */
static int
user_show(struct cli *c, const char *arg)
{
	struct mailaddr		 a;
	struct lastlogin	 ll;
	struct tm		 tm;
	time_t			 t;
	char			 key[ADDR_MAX + 1], path[PATH_MAX];
	char			 val[MAP_VALUE_MAX], when[64];
	unsigned long long	 n, bytes;
	unsigned		 folders;
	int			 rc, ufd, locked, haspw;

	if (user_parse(c, arg, &a, key, sizeof(key)) == -1)
		return EX_DATAERR;
	if (user_map_path(c, path, sizeof(path)) == -1)
		return 1;
	if ((rc = user_value(c, path, key, val, sizeof(val))) != 1) {
		if (rc == 0)
			cli_err(c, "no such user: %s", key);
		return 1;
	}
	locked = val[0] == PASSWD_LOCKED;
	/* The hash is in passwd.db (root's to read here). */
	if ((haspw = cli_usermap_hash(c, key, val, sizeof(val))) == 1)
		haspw = val[locked ? 1 : 0] != '\0';
	explicit_bzero(val, sizeof(val));
	printf("user:        %s\n", key);
	printf("password:    %s\n", haspw == -1 ? "unknown (run as root)" :
	    haspw ? "set" : "none (cannot log in)");
	printf("locked:      %s\n", locked ? "yes (cannot log in; still "
	    "receives mail)" : "no");
	printf("maildir:     %s/%s/%s/Maildir\n", c->conf.mail_store,
	    a.domain, a.local);
	if ((ufd = user_dir_open(c, &a)) == -1 ||
	    user_count(ufd, &n, &bytes, &folders) == -1) {
		if (errno == EACCES)
			printf("messages:    unknown (%s; run as root)\n",
			    strerror(errno));
		else
			printf("messages:    0 (no Maildir yet: made at the "
			    "first delivery or login)\n");
	} else
		printf("messages:    %llu (%llu bytes, %u folder%s besides "
		    "INBOX)\n", n, bytes, folders, folders == 1 ? "" : "s");
	if (ufd == -1 || (rc = lastlogin_read(ufd, &ll)) == 0)
		printf("last login:  never\n");
	else if (rc == -1)
		printf("last login:  unknown (unreadable record: %s)\n",
		    strerror(errno));
	else {
		t = (time_t)ll.when;
		if (localtime_r(&t, &tm) == NULL ||
		    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S %z",
		    &tm) == 0)
			strlcpy(when, "?", sizeof(when));
		printf("last login:  %s (%s from %s)\n", when, ll.proto, ll.ip);
	}
	if (ufd != -1)
		close(ufd);
	return 0;
}

/* What user_rename_aliases looks for, and how many it found. */
struct user_alias_scan {
	struct cli		*c;
	const struct mailaddr	*old;
	const char		*oldkey;
	const char		*keydomain;	/* the alias's own, or NULL */
	int			 hit;
	unsigned		 n;
};

static int
user_alias_target_cb(const char *target, void *arg)
{
	struct user_alias_scan	*s = arg;

	/* A bare target takes the domain of the mail it expands. */
	if (strchr(target, '@') != NULL ? strcasecmp(target, s->oldkey) == 0 :
	    strcasecmp(target, s->old->local) == 0 &&
	    (s->keydomain == NULL ||
	    strcasecmp(s->keydomain, s->old->domain) == 0))
		s->hit = 1;
	return 0;
}

static int
user_alias_cb(const char *key, const char *val, void *arg)
{
	struct user_alias_scan	*s = arg;
	const char		*at = strrchr(key, '@');
	char			 safe[ADDR_MAX + 1], vsafe[512];

	s->hit = 0;
	s->keydomain = at != NULL ? at + 1 : NULL;
	if (aliases_split(val, user_alias_target_cb, s) == -1 || !s->hit)
		return 0;
	(void)text_sanitize(safe, sizeof(safe), key, '?', 0);
	(void)text_sanitize(vsafe, sizeof(vsafe), val, '?', 0);
	if (s->n++ == 0)
		cli_warn(s->c, "aliases still pointing at %s (edit %s and "
		    "run \"postern alias\"):", s->oldkey,
		    s->c->conf.aliases_file);
	fprintf(stderr, "    %s: %s\n", safe, vsafe);
	return 0;
}

/*
 * user rename OLD NEW: the Maildir moves with one rename (the mail is
 * never in two places, nor in none), then the map is rebuilt with NEW in
 * OLD's place and OLD's password; a failed rebuild moves the Maildir
 * back. Aliases are the administrator's file: those that still point at
 * OLD are listed, not rewritten.
 */
static int
user_rename(struct cli *c, const char *oldarg, const char *newarg)
{
	struct mailaddr		 o, n;
	struct user_alias_scan	 scan;
	struct passwd		*pw;
	struct map		*am;
	char			 okey[ADDR_MAX + 1], nkey[ADDR_MAX + 1];
	char			 path[PATH_MAX], apath[PATH_MAX];
	char			 val[MAP_VALUE_MAX];
	int			 rc, sfd = -1, ofd = -1, nfd = -1, moved = 0;
	uid_t			 uid = (uid_t)-1;
	gid_t			 gid = (gid_t)-1;

	if (user_parse(c, oldarg, &o, okey, sizeof(okey)) == -1 ||
	    user_parse(c, newarg, &n, nkey, sizeof(nkey)) == -1)
		return EX_DATAERR;
	if (strcmp(okey, nkey) == 0) {
		cli_err(c, "%s and %s are the same user", okey, nkey);
		return EX_USAGE;
	}
	if (user_map_path(c, path, sizeof(path)) == -1 ||
	    cli_usermap_lock(c) == -1)
		return 1;
	if (user_expect(c, path, okey, 1) == -1 ||
	    cli_usermap_hash(c, okey, val, sizeof(val)) == -1) {
		explicit_bzero(val, sizeof(val));
		return 1;
	}
	if ((rc = user_exists(c, path, nkey)) != 0) {
		explicit_bzero(val, sizeof(val));
		if (rc == 1)
			cli_err(c, "user %s already exists", nkey);
		return 1;
	}
	if (!conf_is_local_domain(&c->conf, n.domain))
		cli_warn(c, "%s is not in local_domains: mail for %s will not "
		    "be accepted until it is", n.domain, nkey);
	if (priv_is_root()) {
		if ((pw = getpwnam(c->conf.mail_user)) == NULL) {
			explicit_bzero(val, sizeof(val));
			cli_err(c, "mail_user \"%s\" does not exist",
			    c->conf.mail_user);
			return 1;
		}
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	/* The directories, each opened without following a link. */
	if ((sfd = open(c->conf.mail_store, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		cli_err(c, "cannot open mail_store %s: %s", c->conf.mail_store,
		    strerror(errno));
		goto fail;
	}
	ofd = openat(sfd, o.domain, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	/* Even with nothing to move: NEW must not inherit someone's mail. */
	if ((nfd = openat(sfd, n.domain, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) != -1) {
		if (faccessat(nfd, n.local, F_OK, AT_SYMLINK_NOFOLLOW) == 0) {
			cli_err(c, "%s/%s/%s exists (remove or move it first)",
			    c->conf.mail_store, n.domain, n.local);
			goto fail;
		}
		close(nfd);
		nfd = -1;
	}
	if (ofd != -1 && faccessat(ofd, o.local, F_OK, AT_SYMLINK_NOFOLLOW) ==
	    0) {
		if ((nfd = fs_dir_ensure(sfd, n.domain, 0750, uid, gid,
		    priv_is_root() ? FS_DIR_CHOWN_NEW : 0, NULL)) == -1) {
			cli_err(c, "cannot create %s/%s: %s",
			    c->conf.mail_store, n.domain, strerror(errno));
			goto fail;
		}
		/* Never over an existing directory: it may hold mail. */
		if (renameat2(ofd, o.local, nfd, n.local, RENAME_NOREPLACE) ==
		    -1) {
			cli_err(c, "cannot move %s/%s/%s to %s/%s/%s: %s",
			    c->conf.mail_store, o.domain, o.local,
			    c->conf.mail_store, n.domain, n.local,
			    errno == EEXIST ? "the new directory exists "
			    "(remove or move it first)" : strerror(errno));
			goto fail;
		}
		moved = 1;
		if (fs_fsync_dirat(nfd) == -1 || fs_fsync_dirat(ofd) == -1)
			cli_warn(c, "fsync of the mail store directories: %s",
			    strerror(errno));
	}
	rc = cli_usermap_rebuild(c, okey, nkey, val, NULL);
	explicit_bzero(val, sizeof(val));
	if (rc == -1) {
		if (moved && renameat2(nfd, n.local, ofd, o.local,
		    RENAME_NOREPLACE) == -1)
			cli_err(c, "and cannot move the Maildir back to "
			    "%s/%s/%s: %s", c->conf.mail_store, o.domain,
			    o.local, strerror(errno));
		goto fail;
	}
	printf("postern: renamed %s to %s%s\n", okey, nkey, moved ?
	    " (Maildir moved)" : " (it had no Maildir yet)");
	/* A delivery between the move and the new map made a new one. */
	if (ofd != -1 && faccessat(ofd, o.local, F_OK, AT_SYMLINK_NOFOLLOW) ==
	    0)
		cli_warn(c, "%s/%s/%s appeared again during the rename (mail "
		    "delivered meanwhile); move its messages to %s by hand",
		    c->conf.mail_store, o.domain, o.local, nkey);
	memset(&scan, 0, sizeof(scan));
	scan.old = &o;
	scan.oldkey = okey;
	scan.c = c;
	if (fs_path(apath, sizeof(apath), c->conf.map_directory,
	    "aliases.db") == 0 && (am = map_open(apath)) != NULL) {
		(void)map_foreach(am, user_alias_cb, &scan);
		map_close(am);
	}
	rc = 0;
	goto out;
fail:
	explicit_bzero(val, sizeof(val));
	rc = 1;
out:
	if (sfd != -1)
		close(sfd);
	if (ofd != -1)
		close(ofd);
	if (nfd != -1)
		close(nfd);
	return rc;
}

/*
 * The options of add and passwd: a password source, before or after the
 * address. --password-stdin is the one spelling for both; passwd's old
 * --stdin is still taken (scripts use it), documented as deprecated.
 * 0, or -1 for a usage error.
 */
static int
user_args(struct cli *c, int argc, char **argv, int passwd,
    const char **addr, enum user_pw *how)
{
	int i;

	*addr = NULL;
	*how = passwd ? PW_TTY : PW_NONE;
	for (i = 2; i < argc; i++) {
		if (!passwd && strcmp(argv[i], "-p") == 0 && *how == PW_NONE)
			*how = PW_TTY;
		else if ((strcmp(argv[i], "--password-stdin") == 0 ||
		    (passwd && strcmp(argv[i], "--stdin") == 0)) &&
		    *how != PW_STDIN && (passwd || *how == PW_NONE)) {
			if (strcmp(argv[i], "--stdin") == 0)
				cli_warn(c, "--stdin is deprecated: use "
				    "--password-stdin");
			*how = PW_STDIN;
		} else if (argv[i][0] != '-' && *addr == NULL)
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
	    user_args(c, argc, argv, 0, &addr, &how) == 0)
		return user_add(c, addr, how);
	if (argc >= 3 && strcmp(argv[1], "passwd") == 0 &&
	    user_args(c, argc, argv, 1, &addr, &how) == 0)
		return user_passwd(c, addr, how);
	if (argc == 3 && strcmp(argv[1], "show") == 0)
		return user_show(c, argv[2]);
	if (argc == 3 && strcmp(argv[1], "lock") == 0)
		return user_set_lock(c, argv[2], 1);
	if (argc == 3 && strcmp(argv[1], "unlock") == 0)
		return user_set_lock(c, argv[2], 0);
	if (argc == 4 && strcmp(argv[1], "rename") == 0)
		return user_rename(c, argv[2], argv[3]);
	if (argc == 3 && (strcmp(argv[1], "del") == 0 ||
	    strcmp(argv[1], "delete") == 0))
		return user_del(c, argv[2]);
	if (argc == 2 && strcmp(argv[1], "list") == 0)
		return user_list(c);
	cli_err(c, "usage: postern user add ADDRESS [-p | --password-stdin] | "
	    "passwd ADDRESS [--password-stdin] | del ADDRESS | list |\n"
	    "    show ADDRESS | lock ADDRESS | unlock ADDRESS | "
	    "rename OLD NEW");
	return EX_USAGE;
}
