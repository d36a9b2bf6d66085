/*
 * postern.c - the postern admin command: picks the config, then hands
 * the command line to one cmd_*.c module.
 *
 * Runs as the administrator who typed it, usually root; nothing here is
 * setuid and nothing reads input from the network. The config file is
 * trusted (root-owned); what comes back from queued over the control
 * socket is printed only after it is sanitised. Also answers to the
 * names "newaliases" and "mailq" when installed under them.
 */
#include <sys/stat.h>

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"

struct cli_command {
	const char	*name;
	int		 (*run)(struct cli *, int, char **);
	int		 needs_conf;	/* CONF_LENIENT: works on a broken file */
};

/*
 * status and stop must work while postern.conf is broken (a daemon may be
 * crash-looping because of it), and config -e must be able to mend it:
 * they take what parses and say the rest.
 */
#define CONF_LENIENT	2

static const struct cli_command cli_commands[] = {
	{ "check",	cli_cmd_check,	0 },	/* loads and reports itself */
	{ "config",	cli_cmd_config,	CONF_LENIENT },	/* -e mends it */
	{ "start",	cli_cmd_start,	1 },
	{ "stop",	cli_cmd_stop,	CONF_LENIENT },
	{ "reload",	cli_cmd_reload,	1 },
	{ "log",	cli_cmd_log,	1 },
	{ "status",	cli_cmd_status,	CONF_LENIENT },
	{ "queue",	cli_cmd_queue,	1 },
	{ "user",	cli_cmd_user,	1 },
	{ "alias",	cli_cmd_alias,	1 },
	{ "newaliases",	cli_cmd_alias,	1 },
	{ "setup",	cli_cmd_setup,	0 },	/* writes a missing config first */
	{ "demo",	cli_cmd_demo,	1 },
	{ "auth",	cli_cmd_auth,	1 },
	{ "who",	cli_cmd_who,	1 },
	{ "address",	cli_cmd_address, 1 },
};

static void
usage(FILE *fp)
{
	fprintf(fp,
	    "usage: postern [-c config] command [argument ...]\n"
	    "\n"
	    "  check                 check the configuration and installation\n"
	    "  config [-n | -d] [KEY ...]\n"
	    "                        print the configuration (-n: what differs\n"
	    "                        from the defaults, -d: the defaults)\n"
	    "  config -e KEY=VALUE ...\n"
	    "                        change postern.conf, checked first\n"
	    "  start [-f]            start the mail system (-f: foreground)\n"
	    "  stop                  stop it and wait until it is gone\n"
	    "  reload                make it re-read the configuration\n"
	    "  log reopen            reopen maillog_file (after logrotate)\n"
	    "  status                tell whether it is running\n"
	    "  queue list [--json]   list the queued messages\n"
	    "  queue show ID         print a message and its envelope\n"
	    "  queue flush [ID ... | DOMAIN]\n"
	    "                        retry deferred messages now\n"
	    "  queue delete | hold | release | requeue\n"
	    "        [--active] [--deferred] [--hold] [--from ADDR] [--to ADDR]\n"
	    "        [ID ... | ALL | -]\n"
	    "                        act on messages (-: ids from stdin)\n"
	    "  user add ADDRESS [-p | --password-stdin]\n"
	    "                        add a mailbox user (user@domain), with a\n"
	    "                        password asked on the terminal or read\n"
	    "                        from stdin, or none (cannot log in)\n"
	    "  user passwd ADDRESS [--password-stdin]\n"
	    "                        set or change a user's password\n"
	    "  user del ADDRESS      remove a user (the Maildir is kept)\n"
	    "  user list             list the users\n"
	    "  user show ADDRESS     password, lock, Maildir size, last login\n"
	    "  user lock | unlock ADDRESS\n"
	    "                        refuse or allow the user's logins\n"
	    "  user rename OLD NEW   rename a user and move the Maildir\n"
	    "  auth test ADDRESS [--password-stdin]\n"
	    "                        check a login as POP3 would\n"
	    "  who                   list the sessions logged in now\n"
	    "  alias                 rebuild the aliases map from aliases_file\n"
	    "  address ADDRESS ...   show where mail to an address goes\n"
	    "  setup                 create the system users and directories\n"
	    "  setup --sendmail-link [--force] [--root DIR]\n"
	    "                        make /usr/sbin/sendmail, mailq and\n"
	    "                        newaliases Postern's\n"
	    "  demo                  show how to send and read a first mail\n"
	    "  help                  show this text\n"
	    "  --version             show the version\n"
	    "\n"
	    "The config is -c, else $POSTERN_CONFIG, else %s\n"
	    "if it exists, else the built-in defaults.\n",
	    POSTERN_SYSCONFDIR_TEXT);
}

int
main(int argc, char **argv)
{
	struct cli			 c;
	const struct cli_command	*cmd = NULL;
	const char			*base, *explicit = NULL;
	char				 err[512];
	char				*alias_argv[] = { "alias", NULL };
	char				*mailq_argv[] = { "queue", "list", NULL };
	size_t				 i;
	int				 ch, rc;

	memset(&c, 0, sizeof(c));
	c.prog = "postern";
	/* What libcommon logs (alias warnings, map errors) reads as ours. */
	log_init("postern", LOG_DEST_TERMINAL);
	/* Maps and Maildirs we create must not inherit a careless umask. */
	umask(022);

	base = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (strcmp(base, "newaliases") == 0 || strcmp(base, "mailq") == 0) {
		c.prog = base;
		log_set_ident(base);
		if (argc > 1) {
			fprintf(stderr, "usage: %s\n", base);
			return EX_USAGE;
		}
		if (strcmp(base, "newaliases") == 0) {
			argc = 1;
			argv = alias_argv;
		} else {
			argc = 2;
			argv = mailq_argv;
		}
	} else {
		/* getopt takes "--version" for "-" "-v": look first. */
		for (i = 1; i < (size_t)argc && argv[i][0] == '-'; i++)
			if (strcmp(argv[i], "--version") == 0) {
				printf("postern %s\n", POSTERN_VERSION);
				return 0;
			} else if (strcmp(argv[i], "--help") == 0) {
				usage(stdout);
				return 0;
			} else if (strcmp(argv[i], "-c") == 0)
				i++;
		while ((ch = getopt(argc, argv, "+c:h")) != -1) {
			switch (ch) {
			case 'c':
				explicit = optarg;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return EX_USAGE;
			}
		}
		argc -= optind;
		argv += optind;
		if (argc < 1) {
			usage(stderr);
			return EX_USAGE;
		}
		if (strcmp(argv[0], "help") == 0 ||
		    strcmp(argv[0], "--help") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(argv[0], "version") == 0) {
			printf("postern %s\n", POSTERN_VERSION);
			return 0;
		}
	}

	for (i = 0; i < sizeof(cli_commands) / sizeof(cli_commands[0]); i++)
		if (strcmp(argv[0], cli_commands[i].name) == 0)
			cmd = &cli_commands[i];
	if (cmd == NULL) {
		cli_err(&c, "unknown command \"%s\" (try \"postern help\")",
		    argv[0]);
		return EX_USAGE;
	}

	c.confpath = cli_config_path(explicit);
	if (cmd->needs_conf == CONF_LENIENT) {
		if ((rc = conf_load_lenient(&c.conf, c.confpath, err,
		    sizeof(err))) == -1) {
			cli_err(&c, "%s", err);
			return EX_CONFIG;
		}
		if (rc == 1)
			cli_warn(&c, "%s (the rest of the file is used; see "
			    "postern check)", err);
	} else if (cmd->needs_conf &&
	    conf_load(&c.conf, c.confpath, err, sizeof(err)) == -1) {
		cli_err(&c, "%s", err);
		return EX_CONFIG;
	}
	rc = cmd->run(&c, argc, argv);
	if (cmd->needs_conf)
		conf_free(&c.conf);
	return rc;
}
