/*
 * cmd_alias.c - postern alias (also run as "newaliases"): compiles
 * aliases_file into <map_directory>/aliases.db.
 *
 * Runs as root (or the development user). The aliases file is the
 * administrator's and trusted to be theirs, not to be right: the
 * compiler in libcommon reports each bad line with its number, and the
 * map is replaced whole, so resolverd keeps the old map until the new one
 * is complete.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "aliases.h"
#include "cli.h"
#include "fsutil.h"

int
cli_build_aliases(struct cli *c)
{
	char	path[PATH_MAX], err[512];
	int	n;

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
	err[0] = '\0';
	if ((n = aliases_compile(c->conf.aliases_file, path,
	    c->conf.allow_alias_commands, err, sizeof(err))) == -1) {
		cli_err(c, "%s", err[0] != '\0' ? err : "cannot build the "
		    "aliases map");
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
