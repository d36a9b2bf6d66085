/*
 * cmd_check.c - postern check: loads the config and looks at the host
 * the way the suite will, so that mistakes show up here rather than as
 * a refused start or a bounced message.
 *
 * Runs as the administrator. Reads the config, the daemon directory, the
 * password database and the maps; changes nothing. An error is something
 * the suite cannot run with (exit 1); a warning is something it can run
 * with but probably should not (exit 0).
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cidr.h"
#include "cli.h"
#include "daemon.h"
#include "fsutil.h"
#include "map.h"
#include "priv.h"
#include "sock.h"

struct check {
	struct cli	*c;
	int		 errors;
	int		 warnings;
};

static void	check_error(struct check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));
static void	check_warn(struct check *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
check_error(struct check *k, const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "postern: error: %s\n", msg);
	k->errors++;
}

static void
check_warn(struct check *k, const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "postern: warning: %s\n", msg);
	k->warnings++;
}

static void
check_daemons(struct check *k, const struct conf *cf)
{
	static const char *const names[] = { "master", "smtpd", "queued",
	    "resolverd", "deliverd", NULL };
	char	path[PATH_MAX];
	size_t	i;

	for (i = 0; names[i] != NULL; i++) {
		if (fs_path(path, sizeof(path), cf->daemon_directory,
		    names[i]) == -1 || access(path, X_OK) == -1)
			check_error(k, "daemon_directory: %s is missing or not "
			    "executable", path);
	}
}

static void
check_users(struct check *k, const struct conf *cf)
{
	const char	*roles[] = { "smtpd_user", "queue_user",
			    "resolver_user", "mail_user", "login_user" };
	const char	*names[] = { cf->smtpd_user, cf->queue_user,
			    cf->resolver_user, cf->mail_user, cf->login_user };
	struct passwd	*pw;
	size_t		 i;

	if (!priv_is_root()) {
		/* Not root: the suite will run as us, so users do not matter. */
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((pw = getpwnam(names[i])) == NULL)
			check_error(k, "%s: no user \"%s\" (run \"postern "
			    "setup\")", roles[i], names[i]);
		else if (pw->pw_uid == 0)
			check_error(k, "%s: \"%s\" is root; a daemon user "
			    "must not be", roles[i], names[i]);
	}
	if (strcmp(cf->smtpd_user, cf->mail_user) == 0)
		check_warn(k, "smtpd_user and mail_user are both \"%s\": a "
		    "compromised smtpd could read every mailbox",
		    cf->smtpd_user);
}

static void
check_values(struct check *k, const struct conf *cf)
{
	struct cidr	cidr;
	char		host[256], port[32];
	size_t		i;

	if (!addr_valid_domain(cf->myhostname))
		check_error(k, "myhostname: \"%s\" is not a host name",
		    cf->myhostname);
	for (i = 0; i < cf->local_domains.n; i++)
		if (!addr_valid_domain(cf->local_domains.v[i]) ||
		    !addr_is_store_safe(cf->local_domains.v[i]))
			check_error(k, "local_domains: \"%s\" is not a "
			    "lower-case domain name", cf->local_domains.v[i]);
	for (i = 0; i < cf->mynetworks.n; i++)
		if (cidr_parse(cf->mynetworks.v[i], &cidr) == -1)
			check_error(k, "mynetworks: \"%s\" is not an address "
			    "or network", cf->mynetworks.v[i]);
	if (daemon_fds_needed(cf) > daemon_fds_limit())
		check_error(k, "smtpd_max_sessions %ld and pop3_max_sessions "
		    "%ld need %lu descriptors in one daemon; the hard "
		    "RLIMIT_NOFILE here is %lu: lower them or raise the limit",
		    cf->smtpd_max_sessions, cf->pop3_max_sessions,
		    daemon_fds_needed(cf), daemon_fds_limit());
	if (cf->smtp_listen.n == 0)
		check_warn(k, "smtp_listen is empty: no SMTP service");
	for (i = 0; i < cf->smtp_listen.n; i++)
		if (sock_split_hostport(cf->smtp_listen.v[i], host,
		    sizeof(host), port, sizeof(port)) == -1)
			check_error(k, "smtp_listen: \"%s\" is not host:port",
			    cf->smtp_listen.v[i]);
}

/* The map is older than its source; postmaster@: cli_check_addresses. */
static void
check_postmaster(struct check *k, const struct conf *cf)
{
	char		 apath[PATH_MAX];
	struct stat	 src, db;
	int		 have_aliases;

	if (fs_path(apath, sizeof(apath), cf->map_directory,
	    "aliases.db") == -1) {
		check_error(k, "map_directory is too long");
		return;
	}
	have_aliases = access(apath, R_OK) == 0;
	if (stat(cf->aliases_file, &src) == -1)
		check_warn(k, "aliases_file %s: %s", cf->aliases_file,
		    strerror(errno));
	else if (!have_aliases)
		check_warn(k, "%s does not exist: run \"postern alias\"",
		    apath);
	else if (stat(apath, &db) == 0 && src.st_mtime > db.st_mtime)
		check_warn(k, "%s is newer than %s: run \"postern alias\"",
		    cf->aliases_file, apath);
}

static void
check_dirs(struct check *k, const struct conf *cf)
{
	if (access(cf->mail_store, F_OK) == -1)
		check_warn(k, "mail_store %s does not exist (run \"postern "
		    "setup\")", cf->mail_store);
	if (access(cf->map_directory, F_OK) == -1)
		check_warn(k, "map_directory %s does not exist (run \"postern "
		    "setup\")", cf->map_directory);
}

int
cli_cmd_check(struct cli *c, int argc, char **argv)
{
	struct check	k = { c, 0, 0 };
	char		err[512];

	if (argc != 1) {
		cli_err(c, "usage: postern check");
		return EX_USAGE;
	}
	if (conf_load(&c->conf, c->confpath, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	check_values(&k, &c->conf);
	check_daemons(&k, &c->conf);
	check_users(&k, &c->conf);
	check_dirs(&k, &c->conf);
	check_postmaster(&k, &c->conf);
	cli_check_addresses(c, &k.errors, &k.warnings);
	printf("postern: %s: %d error%s, %d warning%s\n",
	    c->confpath != NULL ? c->confpath : "(built-in defaults)",
	    k.errors, k.errors == 1 ? "" : "s", k.warnings,
	    k.warnings == 1 ? "" : "s");
	conf_free(&c->conf);
	return k.errors > 0 ? 1 : 0;
}
