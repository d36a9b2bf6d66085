/*
 * confcheck.c - the checks a loaded postern.conf must pass before the
 * suite runs with it, and the installation it needs.
 *
 * Runs in the postern command (check, start, reload, config -e), as the
 * administrator, and in master (at start and on SIGHUP), as root or as
 * the developer who started it. conf_load has already refused what the
 * syntax and the types refuse; here are the checks that need more than
 * one key, a parser of another module (cidr, addresses, listeners) or a
 * look at the host (programs, users, directories, the aliases map). They read and
 * never change anything, so master may run them on every reload. The
 * config is trusted; the maps are read through libcommon/map only.
 *
 * An error is something the suite cannot run with: master refuses to
 * start or to reload. A warning is something it can run with but
 * probably should not. Every finding names the file and line of the key
 * it is about, since the administrator will look there first.
 */
#include <sys/stat.h>
#include <sys/socket.h>

#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "cidr.h"
#include "confcheck.h"
#include "daemon.h"
#include "fsutil.h"
#include "priv.h"
#include "sock.h"
#include "tls.h"

/* master's room for the listening sockets of one *_listen key. */
#define CONFCHECK_LISTEN_MAX	16

struct cc {
	const struct conf	*cf;
	confcheck_report_fn	*report;
	void			*arg;
	struct confcheck_result	*res;
};

static void	cc_say(struct cc *, enum confcheck_level, const char *key,
		    const char *, ...) __attribute__((format(printf, 4, 5)));

/* key NULL: a finding about no one key (the maps, the host). */
static void
cc_say(struct cc *k, enum confcheck_level level, const char *key,
    const char *fmt, ...)
{
	va_list	ap;
	char	msg[1024], where[CONF_PATH_MAX + 96];
	int	line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key == NULL)
		where[0] = '\0';
	else if ((line = conf_key_line(k->cf, key)) > 0)
		snprintf(where, sizeof(where), "%s:%d: %s: ", k->cf->path, line,
		    key);
	else
		snprintf(where, sizeof(where), "%s: %s (default): ",
		    k->cf->path, key);
	if (level == CONFCHECK_ERROR)
		k->res->errors++;
	else
		k->res->warnings++;
	if (k->report != NULL) {
		char full[sizeof(msg) + sizeof(where)];

		snprintf(full, sizeof(full), "%s%s", where, msg);
		k->report(k->arg, level, full);
	}
}

static void
cc_daemons(struct cc *k)
{
	static const char *const names[] = { "master", "smtpd", "queued",
	    "resolverd", "authd", "keyd", "deliverd", "relayd", "pop3d", "imapd",
	    NULL };
	char	path[PATH_MAX];
	size_t	i;

	for (i = 0; names[i] != NULL; i++) {
		if (strcmp(names[i], "pop3d") == 0 &&
		    k->cf->pop3_listen.n + k->cf->pop3s_listen.n == 0)
			continue;
		if (strcmp(names[i], "imapd") == 0 &&
		    k->cf->imap_listen.n + k->cf->imaps_listen.n == 0)
			continue;
		if (fs_path(path, sizeof(path), k->cf->daemon_directory,
		    names[i]) == -1 || access(path, X_OK) == -1)
			cc_say(k, CONFCHECK_ERROR, "daemon_directory", "%s is "
			    "missing or not executable", path);
	}
}

static void
cc_users(struct cc *k)
{
	const struct conf *cf = k->cf;
	const char	*roles[] = { "smtpd_user", "queue_user",
			    "resolver_user", "auth_user", "mail_user",
			    "login_user", "relay_user", "key_user" };
	const char	*names[] = { cf->smtpd_user, cf->queue_user,
			    cf->resolver_user, cf->auth_user, cf->mail_user,
			    cf->login_user, cf->relay_user, cf->key_user };
	struct passwd	*pw;
	size_t		 i;

	/* The SMTP client faces every server on the net: no mailbox for it. */
	if (strcmp(cf->relay_user, cf->mail_user) == 0)
		cc_say(k, CONFCHECK_ERROR, "relay_user", "relay_user and "
		    "mail_user are both \"%s\": the remote delivery agents "
		    "must not be able to read the mail store", cf->relay_user);
	if (!priv_is_root()) {
		/* Not root: the suite will run as us, so users do not matter. */
		return;
	}
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((pw = getpwnam(names[i])) == NULL)
			cc_say(k, CONFCHECK_ERROR, roles[i], "no user \"%s\" "
			    "(run \"postern setup\")", names[i]);
		else if (pw->pw_uid == 0)
			cc_say(k, CONFCHECK_ERROR, roles[i], "\"%s\" is root; "
			    "a daemon user must not be", names[i]);
	}
	/* The point of authd's own uid: no other daemon reads the hashes. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] != cf->auth_user &&
		    strcmp(names[i], cf->auth_user) == 0)
			cc_say(k, CONFCHECK_WARNING, "auth_user", "auth_user "
			    "and %s are both \"%s\": that daemon could read "
			    "every password hash", roles[i], cf->auth_user);
	/* The point of keyd's own uid: no other daemon reads the keys. */
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i] != cf->key_user &&
		    strcmp(names[i], cf->key_user) == 0)
			cc_say(k, CONFCHECK_WARNING, "key_user", "key_user "
			    "and %s are both \"%s\": that daemon could read "
			    "the TLS private keys", roles[i], cf->key_user);
	if (strcmp(cf->smtpd_user, cf->mail_user) == 0)
		cc_say(k, CONFCHECK_WARNING, "smtpd_user", "smtpd_user and "
		    "mail_user are both \"%s\": a compromised smtpd could "
		    "read every mailbox", cf->smtpd_user);
}

/*
 * Each address must be one master can bind: host:port with a literal
 * address (no DNS at start) and a numeric port; none may appear twice.
 */
static void
cc_listen(struct cc *k, const char *key, const struct conf_list *l)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[32];
	size_t		 i, j;
	int		 rc;

	if (l->n > CONFCHECK_LISTEN_MAX)
		cc_say(k, CONFCHECK_ERROR, key, "%zu addresses; at most %d",
		    l->n, CONFCHECK_LISTEN_MAX);
	for (i = 0; i < l->n; i++) {
		if (sock_split_hostport(l->v[i], host, sizeof(host), port,
		    sizeof(port)) == -1) {
			cc_say(k, CONFCHECK_ERROR, key, "\"%s\" is not "
			    "host:port or [v6]:port", l->v[i]);
			continue;
		}
		memset(&hints, 0, sizeof(hints));
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
		if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints,
		    &res)) != 0) {
			cc_say(k, CONFCHECK_ERROR, key, "\"%s\": %s (an IP "
			    "address and a port number)", l->v[i],
			    gai_strerror(rc));
			continue;
		}
		freeaddrinfo(res);
		for (j = 0; j < i; j++)
			if (strcmp(l->v[j], l->v[i]) == 0)
				cc_say(k, CONFCHECK_ERROR, key, "\"%s\" is "
				    "listed twice", l->v[i]);
	}
}

/* Every *_listen key: an address in two of them would fail to bind. */
static void
cc_listeners(struct cc *k)
{
	const struct conf *cf = k->cf;
	const struct {
		const char		*key;
		const struct conf_list	*l;
	} keys[] = {
		{ "smtp_listen", &cf->smtp_listen },
		{ "smtps_listen", &cf->smtps_listen },
		{ "submission_listen", &cf->submission_listen },
		{ "pop3_listen", &cf->pop3_listen },
		{ "pop3s_listen", &cf->pop3s_listen },
		{ "imap_listen", &cf->imap_listen },
		{ "imaps_listen", &cf->imaps_listen },
	};
	size_t i, j, a, b;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		cc_listen(k, keys[i].key, keys[i].l);
		for (j = 0; j < i; j++)
			for (a = 0; a < keys[i].l->n; a++)
				for (b = 0; b < keys[j].l->n; b++)
					if (strcmp(keys[i].l->v[a],
					    keys[j].l->v[b]) == 0)
						cc_say(k, CONFCHECK_ERROR,
						    keys[i].key, "\"%s\" is "
						    "also in %s",
						    keys[i].l->v[a],
						    keys[j].key);
	}
}

/* A numeric address of family (AF_UNSPEC: either), port allowed or not. */
static int
cc_numeric(const char *host, const char *port, int family)
{
	struct addrinfo	 hints, *res;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = family;
	hints.ai_socktype = SOCK_DGRAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(host, port, &hints, &res) != 0)
		return -1;
	freeaddrinfo(res);
	return 0;
}

/*
 * dns_servers: "ADDR", "ADDR:PORT" or "[ADDR6]:PORT", at most three (as
 * resolv.conf's MAXNS); the SMTP client's source addresses: literals of
 * their family.
 */
static void
cc_remote(struct cc *k)
{
	const struct conf *cf = k->cf;
	char		 host[256], port[32];
	size_t		 i;

	if (cf->dns_servers.n > 3)
		cc_say(k, CONFCHECK_ERROR, "dns_servers", "%zu servers; at "
		    "most 3", cf->dns_servers.n);
	for (i = 0; i < cf->dns_servers.n; i++) {
		const char *v = cf->dns_servers.v[i];

		if (cc_numeric(v, NULL, AF_UNSPEC) == 0)
			continue;
		if (sock_split_hostport(v, host, sizeof(host), port,
		    sizeof(port)) == -1 || host[0] == '\0' ||
		    cc_numeric(host, port, AF_UNSPEC) == -1)
			cc_say(k, CONFCHECK_ERROR, "dns_servers", "\"%s\" is "
			    "not ADDR, ADDR:PORT or [ADDR6]:PORT", v);
	}
	if (cf->smtp_bind_address[0] != '\0' &&
	    cc_numeric(cf->smtp_bind_address, NULL, AF_INET) == -1)
		cc_say(k, CONFCHECK_ERROR, "smtp_bind_address", "\"%s\" is "
		    "not an IPv4 address", cf->smtp_bind_address);
	if (cf->smtp_bind_address6[0] != '\0' &&
	    cc_numeric(cf->smtp_bind_address6, NULL, AF_INET6) == -1)
		cc_say(k, CONFCHECK_ERROR, "smtp_bind_address6", "\"%s\" is "
		    "not an IPv6 address", cf->smtp_bind_address6);
	if (cf->smtp_helo_name[0] != '\0' &&
	    !addr_valid_domain(cf->smtp_helo_name))
		cc_say(k, CONFCHECK_ERROR, "smtp_helo_name", "\"%s\" is not a "
		    "host name", cf->smtp_helo_name);
}

/*
 * What TLS needs: the files load and match (read here as root: master
 * and postern check parse nothing from the network), and a certificate
 * for an implicit-TLS listener.
 */
/*
 * Whether clients from outside plaintext_auth_networks can reach one of
 * list's addresses: a wildcard, or an address outside the networks (a
 * listener on 127.0.0.1 is reached from loopback only).
 */
static int
cc_reaches_outside(const struct conf *cf, const struct conf_list *list)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[16];
	size_t		 i;
	int		 outside;

	for (i = 0; i < list->n; i++) {
		if (sock_split_hostport(list->v[i], host, sizeof(host), port,
		    sizeof(port)) == -1 || host[0] == '\0')
			return 1;
		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_NUMERICHOST;
		if (getaddrinfo(host, NULL, &hints, &res) != 0)
			return 1;
		outside = !cidr_match_list(cf->plaintext_auth_networks.v,
		    cf->plaintext_auth_networks.n, res->ai_addr);
		freeaddrinfo(res);
		if (outside)
			return 1;
	}
	return 0;
}

static void
cc_tls(struct cc *k)
{
	const struct conf *cf = k->cf;
	char		 err[512];

	if (tls_conf_check(cf, err, sizeof(err)) == -1)
		cc_say(k, CONFCHECK_ERROR, cf->tls_cert_file[0] != '\0' ?
		    "tls_cert_file" : "tls_protocols", "%s", err);
	if (cf->smtps_listen.n > 0 && !tls_server_configured(cf))
		cc_say(k, CONFCHECK_ERROR, "smtps_listen", "implicit TLS "
		    "needs a certificate: set tls_cert_file and tls_key_file");
	if (cf->pop3s_listen.n > 0 && !tls_server_configured(cf))
		cc_say(k, CONFCHECK_ERROR, "pop3s_listen", "implicit TLS "
		    "needs a certificate: set tls_cert_file and tls_key_file");
	if (cf->imaps_listen.n > 0 && !tls_server_configured(cf))
		cc_say(k, CONFCHECK_ERROR, "imaps_listen", "implicit TLS "
		    "needs a certificate: set tls_cert_file and tls_key_file");
	if (cf->submission_listen.n > 0 && !tls_server_configured(cf))
		cc_say(k, CONFCHECK_WARNING, "submission_listen", "no "
		    "tls_cert_file: mail clients cannot use STARTTLS, and "
		    "only those in plaintext_auth_networks can log in");
	if (!tls_server_configured(cf) && cc_reaches_outside(cf,
	    &cf->pop3_listen))
		cc_say(k, CONFCHECK_WARNING, "pop3_listen", "no "
		    "tls_cert_file: only clients in plaintext_auth_networks "
		    "can log in");
	if (!tls_server_configured(cf) && cc_reaches_outside(cf,
	    &cf->imap_listen))
		cc_say(k, CONFCHECK_WARNING, "imap_listen", "no "
		    "tls_cert_file: only clients in plaintext_auth_networks "
		    "can log in");
}

/*
 * The outbound TLS policy: a known level, a policy map that parses, a
 * CA file that loads (all read as relayd will read them, before its
 * chroot). A broken map would silently weaken "encrypt": refused.
 */
static void
cc_smtp_tls(struct cc *k)
{
	const struct conf	*cf = k->cf;
	struct tls_policy	 pl;
	struct tls_client	*cl;
	enum tls_level		 level;
	char			 err[512];

	if (tls_level_parse(cf->smtp_tls_security_level, &level) == -1)
		cc_say(k, CONFCHECK_ERROR, "smtp_tls_security_level", "\"%s\" "
		    "is not none, may, encrypt, dane or verify",
		    cf->smtp_tls_security_level);
	if (cf->smtp_tls_policy_map[0] != '\0') {
		if (tls_policy_load(cf->smtp_tls_policy_map, &pl, err,
		    sizeof(err)) == -1)
			cc_say(k, CONFCHECK_ERROR, "smtp_tls_policy_map", "%s",
			    err);
		else
			tls_policy_free(&pl);
	}
	if (cf->smtp_tls_CAfile[0] != '\0') {
		if ((cl = tls_client_new(cf, err, sizeof(err))) == NULL)
			cc_say(k, CONFCHECK_ERROR, "smtp_tls_CAfile", "%s", err);
		tls_client_free(cl);
	}
}

static void
cc_values(struct cc *k)
{
	const struct conf *cf = k->cf;
	struct cidr	cidr;
	size_t		i;

	if (!addr_valid_domain(cf->myhostname))
		cc_say(k, CONFCHECK_ERROR, "myhostname", "\"%s\" is not a host "
		    "name", cf->myhostname);
	for (i = 0; i < cf->local_domains.n; i++)
		if (!addr_valid_domain(cf->local_domains.v[i]) ||
		    !addr_is_store_safe(cf->local_domains.v[i]))
			cc_say(k, CONFCHECK_ERROR, "local_domains", "\"%s\" is "
			    "not a lower-case domain name",
			    cf->local_domains.v[i]);
	for (i = 0; i < cf->mynetworks.n; i++)
		if (cidr_parse(cf->mynetworks.v[i], &cidr) == -1)
			cc_say(k, CONFCHECK_ERROR, "mynetworks", "\"%s\" is not "
			    "an address or network", cf->mynetworks.v[i]);
	if (daemon_fds_needed(cf) > daemon_fds_limit())
		cc_say(k, CONFCHECK_ERROR, conf_key_line(cf,
		    "imap_max_sessions") > 0 ? "imap_max_sessions" :
		    conf_key_line(cf, "pop3_max_sessions") > 0 ?
		    "pop3_max_sessions" : "smtpd_max_sessions",
		    "smtpd_max_sessions %ld, pop3_max_sessions %ld and "
		    "imap_max_sessions %ld need %lu descriptors in one daemon; "
		    "the hard RLIMIT_NOFILE here is %lu: lower them or raise "
		    "the limit", cf->smtpd_max_sessions, cf->pop3_max_sessions,
		    cf->imap_max_sessions, daemon_fds_needed(cf),
		    daemon_fds_limit());
	if (cf->imap_timeout < 30 * 60)
		cc_say(k, CONFCHECK_WARNING, "imap_timeout", "%lds: RFC 3501 "
		    "5.4 asks for at least 30 minutes, and clients in IDLE "
		    "renew only every 29", (long)cf->imap_timeout);
	if (cf->smtp_listen.n == 0)
		cc_say(k, CONFCHECK_WARNING, "smtp_listen", "empty: no SMTP "
		    "service");
	cc_listeners(k);
	cc_tls(k);
	cc_remote(k);
	cc_smtp_tls(k);
}

/*
 * The aliases map against its source. Where postmaster@ leads is
 * checked by "postern check" through the expansion delivery runs
 * (cli/cmd_address.c): warnings only, which start and reload can do
 * without.
 */
static void
cc_aliases(struct cc *k)
{
	const struct conf *cf = k->cf;
	char		 apath[PATH_MAX];
	struct stat	 src, db;

	if (fs_path(apath, sizeof(apath), cf->map_directory,
	    "aliases.db") == -1) {
		cc_say(k, CONFCHECK_ERROR, "map_directory", "too long");
		return;
	}
	if (stat(cf->aliases_file, &src) == -1)
		cc_say(k, CONFCHECK_WARNING, "aliases_file", "%s: %s",
		    cf->aliases_file, strerror(errno));
	else if (access(apath, R_OK) == -1)
		cc_say(k, CONFCHECK_WARNING, NULL, "%s does not exist: run "
		    "\"postern alias\"", apath);
	else if (stat(apath, &db) == 0 && src.st_mtime > db.st_mtime)
		cc_say(k, CONFCHECK_WARNING, NULL, "%s is newer than %s: run "
		    "\"postern alias\"", cf->aliases_file, apath);
}

static void
cc_dirs(struct cc *k)
{
	if (access(k->cf->mail_store, F_OK) == -1)
		cc_say(k, CONFCHECK_WARNING, "mail_store", "%s does not exist "
		    "(run \"postern setup\")", k->cf->mail_store);
	if (access(k->cf->map_directory, F_OK) == -1)
		cc_say(k, CONFCHECK_WARNING, "map_directory", "%s does not "
		    "exist (run \"postern setup\")", k->cf->map_directory);
}

int
confcheck_run(const struct conf *cf, confcheck_report_fn *report, void *arg,
    struct confcheck_result *res)
{
	struct cc k = { cf, report, arg, res };

	memset(res, 0, sizeof(*res));
	cc_values(&k);
	cc_daemons(&k);
	cc_users(&k);
	cc_dirs(&k);
	cc_aliases(&k);
	return res->errors;
}
