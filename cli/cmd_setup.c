/*
 * cmd_setup.c - postern setup: prepares a host for the configured suite,
 * as a package's postinst would. Writes the shipped postern.conf and
 * aliases where they are missing (never over a file that is there),
 * creates the missing system users, the map directory and the mail
 * store, and builds the aliases map. Safe to run again: each step checks
 * first and says what it did. master creates the spool itself at start.
 *
 * Runs as root (as another user it does only the directory steps). The
 * user names come from the trusted config, yet they are checked before
 * they reach useradd, which is run with execve and an argument vector
 * and a fixed environment: no shell ever sees them.
 *
 * Several setups may run at once (parallel test runs, a package script
 * and an admin). useradd alone does not make that safe: it checks the
 * name before it locks /etc/passwd, so two at once both "succeed" and the
 * second rewrites the first one's entry with another uid. The user step
 * therefore runs under an exclusive lock on SETUP_LOCK (root's alone),
 * and a user that appeared anyway (an admin's useradd, an older setup) is
 * success, found again by name; a group of the user's name that already
 * exists becomes the user's group instead of failing useradd. The
 * directories and the aliases map need no lock (mkdir's EEXIST, a
 * per-process temporary map renamed into place).
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "priv.h"

static int	setup_run(struct cli *, int, char **);

/* System-wide, as the users are: not under any configured directory. */
#define SETUP_LOCK	"/run/postern-setup.lock"

static const char *const setup_useradd_paths[] = {
	"/usr/sbin/useradd", "/sbin/useradd", NULL,
};

/* The portable user name set (useradd's own default rule). */
static int
setup_name_ok(const char *n)
{
	size_t i;

	if (n[0] == '\0' || strlen(n) > 32 ||
	    !(islower((unsigned char)n[0]) || n[0] == '_'))
		return 0;
	for (i = 1; n[i] != '\0'; i++)
		if (!islower((unsigned char)n[i]) &&
		    !isdigit((unsigned char)n[i]) && n[i] != '_' && n[i] != '-')
			return 0;
	return 1;
}

/*
 * Runs useradd for name, with the existing group of that name as its
 * group if with_group. Returns useradd's exit status (0 on success), or
 * -1 if it could not be run (already reported).
 */
static int
setup_useradd(struct cli *c, const char *name, int with_group)
{
	char		*const envp[] = { "PATH=/usr/sbin:/usr/bin:/sbin:/bin",
			    NULL };
	const char	*prog = NULL;
	char		*av[12];
	pid_t		 pid;
	int		 i, status;

	for (i = 0; setup_useradd_paths[i] != NULL; i++)
		if (access(setup_useradd_paths[i], X_OK) == 0) {
			prog = setup_useradd_paths[i];
			break;
		}
	if (prog == NULL) {
		cli_err(c, "useradd not found: create the user \"%s\" by "
		    "hand", name);
		return -1;
	}
	i = 0;
	av[i++] = (char *)prog;
	av[i++] = "--system";
	av[i++] = "--no-create-home";
	av[i++] = "--home-dir";
	av[i++] = "/nonexistent";
	av[i++] = "--shell";
	av[i++] = "/usr/sbin/nologin";
	if (with_group) {
		av[i++] = "--gid";
		av[i++] = (char *)name;
	}
	av[i++] = (char *)name;
	av[i] = NULL;
	fflush(NULL);
	if ((pid = fork()) == -1) {
		cli_err(c, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		execve(prog, av, envp);
		fprintf(stderr, "postern: cannot execute %s: %s\n", prog,
		    strerror(errno));
		_exit(127);
	}
	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR) {
			cli_err(c, "waitpid: %s", strerror(errno));
			return -1;
		}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	cli_err(c, "useradd %s killed by signal %d", name, WTERMSIG(status));
	return -1;
}

/*
 * Makes sure the system user name exists. useradd failing because a
 * concurrent setup made the user (exit 9, or a lock it waited for too
 * long) is no failure: what counts is that the user is there afterwards.
 */
static int
setup_user(struct cli *c, const char *name)
{
	struct passwd	*pw;
	int		 with_group, st, tries;

	for (tries = 0; tries < 2; tries++) {
		with_group = getgrnam(name) != NULL;
		if ((st = setup_useradd(c, name, with_group)) == 0) {
			printf("postern: created system user %s\n", name);
			return 0;
		}
		if (st == -1)
			return -1;
		if ((pw = getpwnam(name)) != NULL) {
			if (pw->pw_uid == 0) {
				cli_err(c, "user %s has uid 0: a daemon user "
				    "must not be root", name);
				return -1;
			}
			printf("postern: system user %s was created "
			    "meanwhile (by another setup)\n", name);
			return 0;
		}
		/* Once more only if the group appeared meanwhile. */
		if (with_group || getgrnam(name) == NULL)
			break;
	}
	cli_err(c, "useradd %s failed (exit status %d)", name, st);
	return -1;
}

/*
 * Takes SETUP_LOCK, waiting for another setup that holds it. Returns the
 * descriptor (closing it lets go), or -1 if there is no lock to take
 * (no /run): then the users are made unlocked, as before.
 */
static int
setup_lock(struct cli *c)
{
	struct stat	st;
	int		fd;

	if ((fd = open(SETUP_LOCK, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
	    0600)) == -1) {
		fprintf(stderr, "postern: cannot open %s (%s): users are "
		    "created without the lock\n", SETUP_LOCK, strerror(errno));
		return -1;
	}
	/* Root's own file, or another user could hold us off with it. */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_uid != 0) {
		fprintf(stderr, "postern: %s is not root's regular file: "
		    "users are created without the lock\n", SETUP_LOCK);
		close(fd);
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	printf("postern: waiting for another postern setup to finish\n");
	fflush(stdout);
	while (flock(fd, LOCK_EX) == -1)
		if (errno != EINTR) {
			cli_err(c, "flock %s: %s", SETUP_LOCK, strerror(errno));
			close(fd);
			return -1;
		}
	return fd;
}

static int
setup_users(struct cli *c)
{
	const char	*names[] = { c->conf.smtpd_user, c->conf.queue_user,
			    c->conf.resolver_user, c->conf.auth_user,
			    c->conf.key_user, c->conf.mail_user,
			    c->conf.login_user, c->conf.relay_user };
	struct passwd	*pw;
	size_t		 i, j;
	int		 rc = 0;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		for (j = 0; j < i; j++)
			if (strcmp(names[i], names[j]) == 0)
				break;
		if (j < i)
			continue;	/* one user for several roles */
		if ((pw = getpwnam(names[i])) != NULL) {
			if (pw->pw_uid == 0) {
				cli_err(c, "user %s has uid 0: a daemon user "
				    "must not be root", names[i]);
				rc = -1;
			}
			continue;
		}
		if (!setup_name_ok(names[i])) {
			cli_err(c, "\"%s\" is not a user name useradd should "
			    "be given: fix the config", names[i]);
			rc = -1;
			continue;
		}
		if (setup_user(c, names[i]) == -1)
			rc = -1;
	}
	return rc;
}

static int
setup_dirs(struct cli *c, int root)
{
	struct passwd	*pw = NULL;
	struct stat	 st;

	if (access(c->conf.map_directory, F_OK) == -1) {
		if (fs_mkdirs(c->conf.map_directory, 0755) == -1) {
			cli_err(c, "cannot create %s: %s",
			    c->conf.map_directory, strerror(errno));
			return -1;
		}
		printf("postern: created map_directory %s\n",
		    c->conf.map_directory);
	}
	if (root && (pw = getpwnam(c->conf.mail_user)) == NULL) {
		cli_err(c, "mail_user %s does not exist", c->conf.mail_user);
		return -1;
	}
	if (lstat(c->conf.mail_store, &st) == -1) {
		if (fs_mkdirs(c->conf.mail_store, 0750) == -1) {
			cli_err(c, "cannot create %s: %s", c->conf.mail_store,
			    strerror(errno));
			return -1;
		}
		printf("postern: created mail_store %s\n", c->conf.mail_store);
		if (lstat(c->conf.mail_store, &st) == -1) {
			cli_err(c, "%s: %s", c->conf.mail_store,
			    strerror(errno));
			return -1;
		}
	}
	if (!S_ISDIR(st.st_mode)) {
		cli_err(c, "mail_store %s is not a directory",
		    c->conf.mail_store);
		return -1;
	}
	/* deliverd runs as mail_user and must own the top of the store. */
	if (root && (st.st_uid != pw->pw_uid || st.st_gid != pw->pw_gid)) {
		if (chown(c->conf.mail_store, pw->pw_uid, pw->pw_gid) == -1) {
			cli_err(c, "cannot give %s to %s: %s",
			    c->conf.mail_store, c->conf.mail_user,
			    strerror(errno));
			return -1;
		}
		printf("postern: mail_store %s now belongs to %s\n",
		    c->conf.mail_store, c->conf.mail_user);
	}
	return 0;
}

/*
 * The TLS private key files belong to keyd's user, mode 0600, which
 * keyd demands: nobody else may read them (keyd runs as key_user and
 * refuses a key its group or others can read). Nothing is followed: a
 * link where a key should be is left alone, and keyd refuses it too.
 */
static int
setup_keys(struct cli *c, int root)
{
	const char	*path = c->conf.tls_key_file;
	struct passwd	*pw = NULL;
	struct stat	 st;
	int		 fd;

	if (path[0] == '\0')
		return 0;
	if (root && (pw = getpwnam(c->conf.key_user)) == NULL) {
		cli_err(c, "key_user %s does not exist", c->conf.key_user);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT)
			return 0;
		cli_err(c, "tls_key_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cli_err(c, "tls_key_file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((root && (st.st_uid != pw->pw_uid || st.st_gid != pw->pw_gid) &&
	    fchown(fd, pw->pw_uid, pw->pw_gid) == -1) ||
	    ((st.st_mode & 07777) != 0600 && fchmod(fd, 0600) == -1)) {
		cli_err(c, "tls_key_file %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if ((root && (st.st_uid != pw->pw_uid || st.st_gid != pw->pw_gid)) ||
	    (st.st_mode & 07777) != 0600)
		printf("postern: tls_key_file %s now belongs to %s, mode 0600\n",
		    path, root ? c->conf.key_user : "the invoking user");
	return 0;
}

/*
 * Writes a shipped file where none is (never over one, edited or not:
 * O_EXCL, so a file that appears meanwhile wins too), with its directory.
 * 0 (written or already there), or -1 after saying why.
 */
static int
setup_default_file(struct cli *c, const char *path, const char *what,
    const unsigned char *bytes, size_t len)
{
	char	dir[PATH_MAX], *slash;
	int	fd;

	if (access(path, F_OK) == 0)
		return 0;
	if (errno != ENOENT) {
		cli_err(c, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		cli_err(c, "%s: path too long", path);
		return -1;
	}
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (fs_mkdirs(dir, 0755) == -1) {
			cli_err(c, "cannot create %s: %s", dir,
			    strerror(errno));
			return -1;
		}
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0644)) == -1) {
		if (errno == EEXIST)
			return 0;
		cli_err(c, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	if (write(fd, bytes, len) != (ssize_t)len || fsync(fd) == -1) {
		cli_err(c, "cannot write %s: %s", path, strerror(errno));
		close(fd);
		(void)unlink(path);
		return -1;
	}
	close(fd);
	printf("postern: wrote the default %s to %s\n", what, path);
	return 0;
}

/*
 * A package's postinst ships a config: so does setup, where postern
 * looks for one (-c, $POSTERN_CONFIG, else the default path) and finds
 * none, and then loads it. 0, or -1 after saying why.
 */
static int
setup_config(struct cli *c, int write_default)
{
	char err[512];

	if (write_default) {
		if (c->confpath == NULL)
			c->confpath = POSTERN_SYSCONFDIR_TEXT;
		if (setup_default_file(c, c->confpath, "configuration",
		    cli_default_conf, cli_default_conf_len) == -1)
			return -1;
	}
	if (conf_load(&c->conf, c->confpath, err, sizeof(err)) == -1) {
		cli_err(c, "%s", err);
		return -1;
	}
	return 0;
}

int
cli_cmd_setup(struct cli *c, int argc, char **argv)
{
	int rc, i, link = 0;

	/* --sendmail-link is a step of its own: it writes no config. */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--sendmail-link") == 0)
			link = 1;
	if (!link && argc != 1)
		return setup_run(c, argc, argv);	/* the usage, nothing else */
	if (setup_config(c, !link) == -1)
		return EX_CONFIG;
	rc = setup_run(c, argc, argv);
	conf_free(&c->conf);
	return rc;
}

static int
setup_run(struct cli *c, int argc, char **argv)
{
	int root = priv_is_root(), rc = 0, i;

	/* A step of its own, not part of every setup (setup_link.c). */
	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--sendmail-link") == 0)
			return cli_setup_sendmail_link(c, argc, argv);
	if (argc != 1) {
		cli_err(c, "usage: postern setup [--sendmail-link [--force] "
		    "[--root DIR]]");
		return EX_USAGE;
	}
	if (root) {
		int lock = setup_lock(c);

		if (setup_users(c) == -1)
			rc = 1;
		if (lock != -1)
			close(lock);
	} else
		printf("postern: not root: no system users are created; the "
		    "suite will run as the invoking user\n");
	if (rc == 0 && setup_dirs(c, root) == -1)
		rc = 1;
	if (rc == 0 && setup_keys(c, root) == -1)
		rc = 1;
	/* A users.db of an older version gives its hashes to passwd.db. */
	if (rc == 0) {
		int ulock = cli_usermap_lock(c);

		if (ulock == -1)
			rc = 1;
		else
			close(ulock);
	}
	if (rc == 0 && setup_default_file(c, c->conf.aliases_file,
	    "aliases file", cli_default_aliases, cli_default_aliases_len) == -1)
		rc = 1;
	if (rc == 0) {
		if (access(c->conf.aliases_file, R_OK) == 0)
			rc = cli_build_aliases(c);
		else
			printf("postern: no readable aliases_file %s: aliases "
			    "map not built\n", c->conf.aliases_file);
	}
	if (rc == 0)
		printf("postern: setup complete (see \"postern check\")\n");
	return rc;
}
