/*
 * cmd_alias.c - postern alias (also run as "newaliases"): compiles
 * aliases_file into <map_directory>/aliases.db.
 *
 * Runs as root (or the development user). The aliases file is the
 * administrator's and trusted to be theirs, not to be right: the
 * compiler in libcommon reports every bad line with its number, and the
 * map is replaced whole and only from a file without errors, so
 * resolverd keeps the old map until a new one is complete and right.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "aliases.h"
#include "cli.h"
#include "fsutil.h"

struct alias_run {
	struct cli	*c;
	int		 errors;
};

static void
alias_report(int error, const char *msg, void *arg)
{
	struct alias_run *r = arg;

	if (error) {
		r->errors++;
		cli_err(r->c, "error: %s", msg);
	} else
		cli_warn(r->c, "%s", msg);
}

int
cli_build_aliases(struct cli *c)
{
	struct alias_run	r = { c, 0 };
	char			path[PATH_MAX];
	int			n;

	if (fs_path(path, sizeof(path), c->conf.map_directory,
	    "aliases.db") == -1) {
		cli_err(c, "map_directory is too long");
		return 1;
	}
	if (fs_mkdirs(c->conf.map_directory, 0755) == -1) {
		cli_err(c, "cannot create %s: %s", c->conf.map_directory,
		    strerror(errno));
		return 1;
	}
	if ((n = aliases_compile(c->conf.aliases_file, path,
	    c->conf.allow_alias_commands, alias_report, &r)) == -1) {
		cli_err(c, "%d error%s in %s: the aliases map was not changed",
		    r.errors, r.errors == 1 ? "" : "s", c->conf.aliases_file);
		return 1;
	}
	printf("%s: %d alias%s from %s written to %s\n", c->prog, n,
	    n == 1 ? "" : "es", c->conf.aliases_file, path);
	return 0;
}

int
cli_cmd_alias(struct cli *c, int argc, char **argv)
{
	if (argc != 1) {
		cli_err(c, "usage: postern alias");
		return EX_USAGE;
	}
	return cli_build_aliases(c);
}
