/*
 * cmd_demo.c - postern demo: after "postern setup", "postern user add
 * demo@localhost" and "postern start", says how to send a first mail and
 * where to read it, using the addresses and paths of this config.
 *
 * Runs as anyone; only reads the config, the pid file and the users map.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "fsutil.h"
#include "map.h"

int
cli_cmd_demo(struct cli *c, int argc, char **argv)
{
	const char	*domain = c->conf.local_domains.v[0];
	const char	*listen = c->conf.smtp_listen.n > 0 ?
			    c->conf.smtp_listen.v[0] : NULL;
	char		 key[512], path[PATH_MAX], val[MAP_VALUE_MAX];
	struct map	*m;
	pid_t		 pid;
	int		 running, have_user = 0;

	if (argc != 1) {
		cli_err(c, "usage: postern demo");
		return EX_USAGE;
	}
	running = cli_read_pid(c->conf.pid_file, &pid) == 0 &&
	    (kill(pid, 0) == 0 || errno == EPERM);
	snprintf(key, sizeof(key), "demo@%s", domain);
	if (fs_path(path, sizeof(path), c->conf.map_directory,
	    "users.db") == 0 && (m = map_open(path)) != NULL) {
		have_user = map_get(m, key, val, sizeof(val)) == 1;
		map_close(m);
	}
	printf("Postern demo for the domain \"%s\"\n\n", domain);
	if (!running)
		printf("  postern is not running: start it with "
		    "\"postern start\"\n\n");
	if (!have_user)
		printf("  there is no user %s yet: add it with "
		    "\"postern user add %s\"\n\n", key, key);
	if (listen != NULL)
		printf("Send a test mail over SMTP (smtp_listen = %s):\n\n"
		    "    swaks --server %s --from you@example.org --to %s\n\n",
		    listen, listen, key);
	printf("or with the local injector, as any user:\n\n"
	    "    printf 'Subject: hello\\n\\nfirst mail\\n' | sendmail %s\n\n"
	    "Read it back:\n\n"
	    "    ls %s/%s/demo/Maildir/new/\n"
	    "    cat %s/%s/demo/Maildir/new/*\n\n"
	    "See what is queued with \"postern queue list\"; the log is in "
	    "syslog (facility mail).\n",
	    key, c->conf.mail_store, domain, c->conf.mail_store, domain);
	if (c->conf.pop3_listen.n > 0)
		printf("\nOr over POP3 (pop3_listen = %s), once the user has a "
		    "password:\n\n"
		    "    postern user passwd %s\n"
		    "    curl pop3://%s/1 -u %s:PASSWORD\n",
		    c->conf.pop3_listen.v[0], key, c->conf.pop3_listen.v[0],
		    key);
	if (c->conf.imap_listen.n > 0)
		printf("\nOr over IMAP (imap_listen = %s), with the same "
		    "password:\n\n"
		    "    curl 'imap://%s/INBOX;UID=1' -u %s:PASSWORD\n",
		    c->conf.imap_listen.v[0], c->conf.imap_listen.v[0], key);
	return running && have_user ? 0 : 1;
}
