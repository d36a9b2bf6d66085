/*
 * confcheck.h - every check a configuration must pass before the suite
 * runs with it: one implementation for "postern check", "postern start",
 * "postern reload", "postern config -e" and master itself (at start and
 * on SIGHUP, so that a kill -HUP cannot bypass them).
 */
#ifndef POSTERN_CONFCHECK_H
#define POSTERN_CONFCHECK_H

#include "conf.h"

enum confcheck_level {
	CONFCHECK_ERROR,	/* the suite cannot run with it: refused */
	CONFCHECK_WARNING,	/* it can, but probably should not */
};

/*
 * Called once per finding with the whole message, which names the file
 * and line of the key it is about ("FILE:LINE: key: what"; "FILE: key:
 * what" for a key left at its default).
 */
typedef void	confcheck_report_fn(void *arg, enum confcheck_level,
		    const char *msg);

struct confcheck_result {
	int	errors;
	int	warnings;
};

/*
 * Checks the values (host names, networks, listener addresses, limits
 * against RLIMIT_NOFILE), the installation (daemon_directory, the daemon
 * users when run as root, the directories) and the aliases map (not
 * older than aliases_file). Where postmaster@ leads is postern check's
 * (cli/cmd_address.c).
 * Reads files, changes nothing. Returns the number of errors.
 */
int	confcheck_run(const struct conf *, confcheck_report_fn *, void *arg,
	    struct confcheck_result *);

#endif
