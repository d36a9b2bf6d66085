/*
 * setup_link.c - postern setup --sendmail-link: makes /usr/sbin/sendmail,
 * /usr/lib/sendmail, /usr/bin/mailq and /usr/bin/newaliases Postern's,
 * as symbolic links to the sendmail installed beside this postern.
 *
 * Runs as root (as another user only under --root, in a tree it may
 * write). Local programs find the mail system only by these names (cron,
 * PHP's mail(), bsd-mailx, mutt), and Debian has no alternatives for
 * them: each MTA package ships its own /usr/sbin/sendmail, and the
 * packages conflict through mail-transport-agent. So a file that is not
 * ours belongs to another MTA, and is replaced only with --force, kept
 * beside as NAME.pre-postern so that nothing is lost.
 *
 * "Ours" means the name leads (through any links) to the very file
 * (device and inode) of our sendmail: an install with --prefix /usr
 * already put it there, and a second run finds its own links; both are
 * left alone. Each link is made under a temporary name and renamed over
 * the old one, so /usr/sbin/sendmail never goes missing for a cron job
 * that runs meanwhile. Nothing is changed unless every name can be.
 *
 * --root DIR makes the links under DIR (for tests, images and chroots);
 * they still point at our sendmail's real path.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"

#define LINK_SAVED	".pre-postern"

/* Where local programs look; /usr/lib/sendmail is the historical name. */
static const char *const link_names[] = {
	"/usr/sbin/sendmail",
	"/usr/lib/sendmail",
	"/usr/bin/mailq",
	"/usr/bin/newaliases",
};
#define LINK_N	(sizeof(link_names) / sizeof(link_names[0]))

enum link_state {
	LINK_MISSING,
	LINK_OURS,
	LINK_FOREIGN,
};

struct link_plan {
	char		path[PATH_MAX];
	char		saved[PATH_MAX];
	char		what[PATH_MAX + 64];	/* a foreign file, described */
	enum link_state	state;
};

static enum link_state
link_classify(const char *path, const struct stat *ours, char *what,
    size_t whatlen)
{
	struct stat	st;
	char		target[PATH_MAX];
	ssize_t		n;

	if (lstat(path, &st) == -1)
		return LINK_MISSING;
	if (stat(path, &st) == 0 && st.st_dev == ours->st_dev &&
	    st.st_ino == ours->st_ino)
		return LINK_OURS;
	if ((n = readlink(path, target, sizeof(target) - 1)) >= 0) {
		target[n] = '\0';
		snprintf(what, whatlen, "a link to %s%s", target,
		    access(path, F_OK) == 0 ? "" : ", which does not exist");
	} else if (S_ISREG(st.st_mode))
		snprintf(what, whatlen, "a file that is not Postern's");
	else
		snprintf(what, whatlen, "not a program");
	return LINK_FOREIGN;
}

/* Puts a link to ours at p->path, keeping a foreign file beside it. */
static int
link_make(struct cli *c, struct link_plan *p, const char *ours)
{
	char	tmp[PATH_MAX], dir[PATH_MAX];

	if (fs_dirname(p->path, dir, sizeof(dir)) == -1 ||
	    snprintf(tmp, sizeof(tmp), "%s.postern-new.%ld", p->path,
	    (long)getpid()) >= (int)sizeof(tmp)) {
		cli_err(c, "%s: path too long", p->path);
		return -1;
	}
	if (access(dir, F_OK) == -1) {
		if (fs_mkdirs(dir, 0755) == -1) {
			cli_err(c, "cannot create %s: %s", dir,
			    strerror(errno));
			return -1;
		}
		printf("postern: created %s\n", dir);
	}
	(void)unlink(tmp);	/* a leftover of an interrupted run */
	if (symlink(ours, tmp) == -1) {
		cli_err(c, "cannot create a link in %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	/*
	 * The old file stays reachable under its saved name before the new
	 * link replaces it: a second name (link(2) does not follow a
	 * symbolic link), else a rename, which leaves a moment without it.
	 */
	if (p->state == LINK_FOREIGN &&
	    link(p->path, p->saved) == -1 &&
	    rename(p->path, p->saved) == -1) {
		cli_err(c, "cannot keep %s as %s: %s", p->path, p->saved,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	if (rename(tmp, p->path) == -1) {
		cli_err(c, "cannot put the link at %s: %s", p->path,
		    strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	if (p->state == LINK_FOREIGN)
		printf("postern: %s -> %s (it was %s; kept as %s)\n", p->path,
		    ours, p->what, p->saved);
	else
		printf("postern: %s -> %s\n", p->path, ours);
	return 0;
}

static void
link_usage(struct cli *c)
{
	cli_err(c, "usage: postern setup --sendmail-link [--force] "
	    "[--root DIR]");
}

int
cli_setup_sendmail_link(struct cli *c, int argc, char **argv)
{
	struct link_plan	 plan[LINK_N];
	struct stat		 ours_st, st;
	const char		*root = "";
	char			 ours[PATH_MAX], top[PATH_MAX];
	size_t			 len;
	size_t			 i, foreign = 0;
	int			 force = 0, a, rc = 0;

	for (a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--sendmail-link") == 0)
			continue;
		if (strcmp(argv[a], "--force") == 0)
			force = 1;
		else if (strcmp(argv[a], "--root") == 0 && a + 1 < argc)
			root = argv[++a];
		else {
			link_usage(c);
			return EX_USAGE;
		}
	}
	if (root[0] != '\0' && (stat(root, &st) == -1 || !S_ISDIR(st.st_mode))) {
		cli_err(c, "--root %s: not a directory", root);
		return EX_USAGE;
	}
	/* Trailing slashes go: "/" is the live system, as no --root is. */
	if ((len = strlcpy(top, root, sizeof(top))) >= sizeof(top)) {
		cli_err(c, "--root %s: path too long", root);
		return EX_USAGE;
	}
	while (len > 0 && top[len - 1] == '/')
		top[--len] = '\0';
	if (cli_sibling_path("sendmail", ours, sizeof(ours)) == -1 ||
	    stat(ours, &ours_st) == -1 || access(ours, X_OK) == -1) {
		cli_err(c, "no sendmail program beside postern (%s): install "
		    "Postern first", ours);
		return EX_OSFILE;
	}

	memset(plan, 0, sizeof(plan));
	for (i = 0; i < LINK_N; i++) {
		struct link_plan *p = &plan[i];

		if (snprintf(p->path, sizeof(p->path), "%s%s", top,
		    link_names[i]) >= (int)sizeof(p->path) ||
		    snprintf(p->saved, sizeof(p->saved), "%s%s" LINK_SAVED,
		    top, link_names[i]) >= (int)sizeof(p->saved)) {
			cli_err(c, "--root %s: path too long", root);
			return EX_USAGE;
		}
		p->state = link_classify(p->path, &ours_st, p->what,
		    sizeof(p->what));
		if (p->state != LINK_FOREIGN)
			continue;
		foreign++;
		if (!force)
			cli_err(c, "%s is %s: another mail system's? Not "
			    "replaced", p->path, p->what);
		else if (lstat(p->saved, &st) == 0) {
			cli_err(c, "%s is %s, and %s exists already: move one "
			    "of them away first", p->path, p->what, p->saved);
			rc = 1;
		}
	}
	if (foreign > 0 && !force) {
		fprintf(stderr, "postern: nothing changed. Remove the other "
		    "mail system first (on Debian: apt-get remove it), or run "
		    "again with --force to replace its files (each is kept "
		    "as NAME%s)\n", LINK_SAVED);
		return 1;
	}
	if (rc != 0) {
		fprintf(stderr, "postern: nothing changed\n");
		return rc;
	}

	for (i = 0; i < LINK_N; i++) {
		if (plan[i].state == LINK_OURS) {
			printf("postern: %s is Postern's already\n",
			    plan[i].path);
			continue;
		}
		if (link_make(c, &plan[i], ours) == -1)
			rc = 1;
	}
	if (rc == 0)
		printf("postern: sendmail, mailq and newaliases are Postern's "
		    "(%s)\n", ours);
	return rc;
}
