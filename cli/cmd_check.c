/*
 * cmd_check.c - postern check: loads the config and runs the checks
 * that start and reload run (libcommon/confcheck), then where the
 * postmaster@ and abuse@ addresses lead (cmd_address.c), so mistakes show
 * up here rather than as a refused start or a bounced message.
 *
 * Runs as the administrator. Reads the config, the daemon directory, the
 * password database and the maps; changes nothing. An error is something
 * the suite cannot run with (exit 1); a warning is something it can run
 * with but probably should not (exit 0).
 */
#include <stdio.h>

#include "cli.h"
#include "confcheck.h"

static void
cli_check_report(void *arg, enum confcheck_level level, const char *msg)
{
	struct cli *c = arg;

	if (level == CONFCHECK_ERROR)
		cli_err(c, "error: %s", msg);
	else
		cli_warn(c, "%s", msg);
}

int
cli_check_conf(struct cli *c, const struct conf *cf)
{
	struct confcheck_result res;

	return confcheck_run(cf, cli_check_report, c, &res) > 0 ? -1 : 0;
}

int
cli_cmd_check(struct cli *c, int argc, char **argv)
{
	struct confcheck_result	res;
	char			err[512];

	if (argc != 1) {
		cli_err(c, "usage: postern check");
		return EX_USAGE;
	}
	if (conf_load(&c->conf, c->confpath, err, sizeof(err)) == -1) {
		cli_err(c, "error: %s", err);
		return 1;
	}
	confcheck_run(&c->conf, cli_check_report, c, &res);
	/*
	 * Where postmaster@ and abuse@ of every local domain lead, by the
	 * expansion delivery runs (cli/verify.c): warnings, so start and
	 * reload need not wait for them.
	 */
	cli_check_addresses(c, &res.errors, &res.warnings);
	printf("postern: %s: %d error%s, %d warning%s\n",
	    c->confpath != NULL ? c->confpath : "(built-in defaults)",
	    res.errors, res.errors == 1 ? "" : "s", res.warnings,
	    res.warnings == 1 ? "" : "s");
	conf_free(&c->conf);
	return res.errors > 0 ? 1 : 0;
}
