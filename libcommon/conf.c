/*
 * conf.c - the postern.conf parser.
 *
 * Runs in master, every daemon (before it drops privileges) and the CLI.
 * The file is trusted (root-owned) but may be wrong: every key is known
 * and typed, an unknown or repeated key is an error, and each error names
 * file and line, so "postern check" can point at it. The built-in defaults
 * alone run the demo domain on localhost.
 *
 * A comment is a line of its own. A "#" after white space inside a value
 * ("myhostname = mx.example.org   # our MX") is refused, not stripped:
 * kept, it went into the SMTP greeting; stripped silently, it would cut
 * a banner or a list that means the "#". The line is kept per key
 * (key_line) so that checks made after loading can name it too.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cidr.h"
#include "conf.h"

#ifndef POSTERN_LIBEXECDIR
#define POSTERN_LIBEXECDIR "/usr/local/libexec/postern"
#endif
#ifndef POSTERN_SYSCONFDIR
#define POSTERN_SYSCONFDIR "/etc/postern"
#endif

enum conf_type {
	CT_STR,
	CT_PATH,
	CT_LONG,
	CT_SIZE,
	CT_DURATION,
	CT_BOOL,
	CT_LIST,
};

struct conf_key {
	const char	*name;
	enum conf_type	 type;
	size_t		 off;
	const char	*def;
	long		 min;	/* for CT_LONG */
	long		 max;
};

#define K(n, t, d) { #n, t, offsetof(struct conf, n), d, 0, 0 }
#define KL(n, d, lo, hi) { #n, CT_LONG, offsetof(struct conf, n), d, lo, hi }

static const struct conf_key conf_keys[] = {
	K(myhostname, CT_STR, "localhost"),
	K(local_domains, CT_LIST, "localhost"),
	K(mynetworks, CT_LIST, "127.0.0.0/8, ::1/128"),
	K(spool_directory, CT_PATH, "/var/spool/postern"),
	K(map_directory, CT_PATH, "/var/lib/postern/maps"),
	K(mail_store, CT_PATH, "/var/lib/postern/mail"),
	K(aliases_file, CT_PATH, POSTERN_SYSCONFDIR "/aliases"),
	K(daemon_directory, CT_PATH, POSTERN_LIBEXECDIR),
	K(pid_file, CT_PATH, "/run/postern.pid"),
	K(smtpd_user, CT_STR, "postern-smtpd"),
	K(queue_user, CT_STR, "postern-queue"),
	K(resolver_user, CT_STR, "postern-resolver"),
	K(auth_user, CT_STR, "postern-auth"),
	K(key_user, CT_STR, "postern-key"),
	K(mail_user, CT_STR, "postern-mail"),
	K(relay_user, CT_STR, "postern-relay"),
	K(smtpd_chroot, CT_BOOL, "yes"),
	K(smtp_listen, CT_LIST, "127.0.0.1:2525, [::1]:2525"),
	K(message_size_limit, CT_SIZE, "50M"),
	K(smtpd_max_line_length, CT_SIZE, "0"),
	KL(smtpd_recipient_limit, "1000", 1, 100000),
	KL(smtpd_max_sessions, "200", 1, 100000),
	KL(smtpd_client_connection_limit, "50", 0, 100000),
	KL(smtpd_max_use, "100", 1, 100000),
	K(smtpd_max_idle, CT_DURATION, "10s"),
	KL(smtpd_error_limit, "20", 1, 10000),
	K(smtpd_timeout, CT_DURATION, "5m"),
	K(smtpd_data_timeout, CT_DURATION, "10m"),
	K(smtpd_vrfy, CT_BOOL, "no"),
	K(smtpd_helo_required, CT_BOOL, "no"),
	K(smtpd_banner, CT_STR, "ESMTP Postern"),
	/* SMTP AUTH (smtpd, authd): always on submission and smtps. */
	K(smtpd_auth_enable, CT_BOOL, "no"),
	K(sender_login_map, CT_PATH, ""),
	K(smtpd_sasl_authenticated_header, CT_BOOL, "no"),
	/* TLS: libcommon/tls.c; "" certificate: no TLS at all. */
	K(smtps_listen, CT_LIST, ""),
	K(submission_listen, CT_LIST, ""),
	K(tls_cert_file, CT_PATH, ""),
	K(tls_key_file, CT_PATH, ""),
	K(tls_sni_map, CT_PATH, ""),
	K(tls_protocols, CT_LIST, "TLSv1.2, TLSv1.3"),
	K(tls_ciphers, CT_STR, ""),
	K(tls_ciphersuites, CT_STR, ""),
	K(tls_groups, CT_STR, "X25519:prime256v1:secp384r1"),
	K(tls_ticket_lifetime, CT_DURATION, "1h"),
	K(queue_retry_min, CT_DURATION, "5m"),
	K(queue_retry_max, CT_DURATION, "1h"),
	K(queue_lifetime, CT_DURATION, "5d"),
	KL(local_delivery_concurrency, "4", 1, 256),
	K(delivery_timeout, CT_DURATION, "10m"),
	KL(queue_active_limit, "20000", 1, 10000000),
	KL(initial_destination_concurrency, "5", 1, 1000),
	KL(destination_concurrency_limit, "20", 1, 1000),
	KL(destination_recipient_limit, "50", 1, 100),
	K(group_commit, CT_BOOL, "yes"),
	KL(hopcount_limit, "50", 1, 100000),
	K(authorized_submit_users, CT_LIST, "anyone"),
	K(queue_list_users, CT_LIST, ""),
	K(local_sender_policy, CT_STR, "any"),
	K(bounce_size_limit, CT_SIZE, "50k"),
	K(delay_warning_time, CT_DURATION, "0"),
	K(double_bounce, CT_STR, "postmaster"),
	KL(remote_delivery_concurrency, "20", 1, 200),
	K(smtp_helo_name, CT_STR, ""),
	K(smtp_bind_address, CT_STR, ""),
	K(smtp_bind_address6, CT_STR, ""),
	K(smtp_connect_timeout, CT_DURATION, "30s"),
	K(smtp_helo_timeout, CT_DURATION, "300s"),
	K(smtp_mail_timeout, CT_DURATION, "300s"),
	K(smtp_rcpt_timeout, CT_DURATION, "300s"),
	K(smtp_data_init_timeout, CT_DURATION, "120s"),
	K(smtp_data_xfer_timeout, CT_DURATION, "180s"),
	K(smtp_data_done_timeout, CT_DURATION, "600s"),
	K(smtp_quit_timeout, CT_DURATION, "300s"),
	K(smtp_connection_cache_time, CT_DURATION, "2s"),
	K(smtp_tls_security_level, CT_STR, "may"),
	K(smtp_tls_policy_map, CT_PATH, ""),
	K(smtp_tls_CAfile, CT_PATH, ""),
	K(allow_alias_commands, CT_BOOL, "no"),
	K(default_privs, CT_STR, "nobody"),
	K(command_time_limit, CT_DURATION, "1000s"),
	K(recipient_delimiter, CT_STR, "+"),
	K(resolver_idle_timeout, CT_DURATION, "60s"),
	K(dns_servers, CT_LIST, ""),
	K(dns_timeout, CT_DURATION, "5s"),
	KL(dns_attempts, "2", 1, 5),
	K(pop3_listen, CT_LIST, "127.0.0.1:1100, [::1]:1100"),
	K(pop3s_listen, CT_LIST, ""),
	K(login_user, CT_STR, "postern-login"),
	K(pop3_timeout, CT_DURATION, "10m"),
	KL(pop3_max_sessions, "500", 1, 100000),
	K(pop3_login_timeout, CT_DURATION, "2m"),
	KL(pop3_client_connection_limit, "50", 0, 100000),
	K(imap_listen, CT_LIST, "127.0.0.1:1430, [::1]:1430"),
	K(imaps_listen, CT_LIST, ""),
	K(imap_timeout, CT_DURATION, "30m"),
	KL(imap_max_sessions, "1000", 1, 100000),
	K(imap_login_timeout, CT_DURATION, "2m"),
	KL(imap_client_connection_limit, "50", 0, 100000),
	KL(imap_user_session_limit, "20", 0, 100000),
	K(auth_failure_delay, CT_DURATION, "2s"),
	KL(auth_failure_limit, "10", 1, 1000000),
	K(auth_failure_window, CT_DURATION, "10m"),
	KL(auth_account_failure_limit, "10", 0, 1000000),
	K(auth_account_delay, CT_DURATION, "2s"),
	KL(auth_workers, "0", 0, 64),
	K(auth_cache_ttl, CT_DURATION, "60s"),
	K(plaintext_auth_networks, CT_LIST, "127.0.0.0/8, ::1/128"),
	KL(auth_messages_per_day, "1000", 0, 100000000),
	KL(auth_recipients_per_hour, "500", 0, 100000000),
	K(restart_backoff_max, CT_DURATION, "30s"),
	K(syslog_name, CT_STR, "postern"),
	K(maillog_file, CT_PATH, ""),
};
#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
_Static_assert(NKEYS <= CONF_KEYS_MAX, "raise CONF_KEYS_MAX in conf.h");

int
conf_parse_bool(const char *s, int *out)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcmp(s, "1") || !strcasecmp(s, "on"))
		*out = 1;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
	    !strcmp(s, "0") || !strcasecmp(s, "off"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int
parse_scaled(const char *s, const char *units, const uint64_t *mult,
    uint64_t *out)
{
	char		*end;
	unsigned long long v;
	const char	*u;

	if (!isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	if (*end == '\0') {
		*out = v * mult[0];
		return v > UINT64_MAX / mult[0] ? -1 : 0;
	}
	if (end[1] != '\0' || (u = strchr(units, *end)) == NULL)
		return -1;
	if (v > UINT64_MAX / mult[u - units + 1])
		return -1;
	*out = v * mult[u - units + 1];
	return 0;
}

int
conf_parse_size(const char *s, uint64_t *out)
{
	static const uint64_t mult[] = { 1, 1024, 1024, 1024ULL * 1024,
	    1024ULL * 1024, 1024ULL * 1024 * 1024, 1024ULL * 1024 * 1024 };

	return parse_scaled(s, "kKmMgG", mult, out);
}

int
conf_parse_duration(const char *s, time_t *out)
{
	static const uint64_t mult[] = { 1, 1, 60, 3600, 86400, 604800 };
	uint64_t v;

	if (parse_scaled(s, "smhdw", mult, &v) == -1 || v > INT32_MAX)
		return -1;
	*out = (time_t)v;
	return 0;
}

static void
list_free(struct conf_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int
list_parse(struct conf_list *l, const char *s)
{
	const char	*p = s, *e;
	char		**nv;

	list_free(l);
	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '\0')
			break;
		e = p;
		while (*e != '\0' && *e != ' ' && *e != '\t' && *e != ',')
			e++;
		if ((nv = reallocarray(l->v, l->n + 1, sizeof(char *))) == NULL)
			return -1;
		l->v = nv;
		if ((l->v[l->n] = strndup(p, (size_t)(e - p))) == NULL)
			return -1;
		l->n++;
		p = e;
	}
	return 0;
}

static int
conf_set(struct conf *c, const struct conf_key *k, const char *val,
    char *why, size_t whylen)
{
	void	*field = (char *)c + k->off;
	char	*end;
	long	 lv;

	switch (k->type) {
	case CT_PATH:
		/* A path whose default is empty may be unset again. */
		if (val[0] != '/' && !(val[0] == '\0' && k->def[0] == '\0')) {
			snprintf(why, whylen, "%s must be an absolute path",
			    k->name);
			return -1;
		}
		/* FALLTHROUGH */
	case CT_STR:
		if (strlcpy(field, val, CONF_STR_MAX) >= CONF_STR_MAX) {
			snprintf(why, whylen, "%s is longer than %d bytes",
			    k->name, CONF_STR_MAX - 1);
			return -1;
		}
		return 0;
	case CT_LONG:
		errno = 0;
		lv = strtol(val, &end, 10);
		if (errno || end == val || *end != '\0' || lv < k->min ||
		    lv > k->max) {
			snprintf(why, whylen, "%s must be a number from %ld "
			    "to %ld", k->name, k->min, k->max);
			return -1;
		}
		*(long *)field = lv;
		return 0;
	case CT_SIZE:
		if (conf_parse_size(val, field) == -1) {
			snprintf(why, whylen, "%s must be a size such as "
			    "10485760, 512k or 50M", k->name);
			return -1;
		}
		return 0;
	case CT_DURATION:
		if (conf_parse_duration(val, field) == -1) {
			snprintf(why, whylen, "%s must be a duration such as "
			    "30s, 5m, 1h or 5d", k->name);
			return -1;
		}
		return 0;
	case CT_BOOL:
		if (conf_parse_bool(val, field) == -1) {
			snprintf(why, whylen, "%s must be yes or no", k->name);
			return -1;
		}
		return 0;
	case CT_LIST:
		if (list_parse(field, val) == -1) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		return 0;
	}
	return -1;
}

static const struct conf_key *
conf_find(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	return NULL;
}

static void
conf_defaults(struct conf *c)
{
	char	 why[256];
	size_t	 i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < NKEYS; i++)
		if (conf_set(c, &conf_keys[i], conf_keys[i].def, why,
		    sizeof(why)) == -1)
			abort();	/* a built-in default is broken */
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
	    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

/*
 * Where a value holds what can only be a comment: a "#" that begins it
 * or a word in it (after white space, or after a list's comma, since
 * conf_dump writes "a, #b" for "a,#b"). A "#" inside a word ("a#b",
 * "Postern#1") is data.
 */
static const char *
conf_inline_comment(const char *val)
{
	const char *p;

	if (val[0] == '#')
		return val;
	if (val[0] == '\0')
		return NULL;
	for (p = val + 1; (p = strchr(p, '#')) != NULL; p++)
		if (p[-1] == ' ' || p[-1] == '\t' || p[-1] == ',')
			return p;
	return NULL;
}

/*
 * A logical line is one "key = value" line plus any following lines that
 * begin with white space (Postfix's continuation rule).
 */
static int
conf_apply(struct conf *c, const char *name, int lineno, char *line,
    unsigned char *seen, char *err, size_t errlen)
{
	const struct conf_key	*k;
	char			*eq, *key, *val, why[256];
	const char		*hash;
	size_t			 i;

	if ((eq = strchr(line, '=')) == NULL) {
		snprintf(err, errlen, "%s:%d: expected \"key = value\"",
		    name, lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(line);
	val = trim(eq + 1);
	/* Upper case too: Postfix's smtp_tls_CAfile keeps its spelling. */
	for (i = 0; key[i] != '\0'; i++)
		if (!isalpha((unsigned char)key[i]) && key[i] != '_' &&
		    !isdigit((unsigned char)key[i]))
			break;
	if (key[0] == '\0' || key[i] != '\0') {
		snprintf(err, errlen, "%s:%d: malformed key name \"%.64s\"",
		    name, lineno, key);
		return -1;
	}
	if ((k = conf_find(key)) == NULL) {
		snprintf(err, errlen, "%s:%d: unknown key \"%.64s\"", name,
		    lineno, key);
		return -1;
	}
	if (seen[k - conf_keys]) {
		snprintf(err, errlen, "%s:%d: \"%s\" is set more than once",
		    name, lineno, key);
		return -1;
	}
	seen[k - conf_keys] = 1;
	c->key_line[k - conf_keys] = lineno;
	if ((hash = conf_inline_comment(val)) != NULL) {
		snprintf(err, errlen, "%s:%d: %s: a comment must be on a line "
		    "of its own (\"%.40s\" follows the value): move it to the "
		    "line above", name, lineno, key, hash);
		return -1;
	}
	if (conf_set(c, k, val, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s:%d: %s", name, lineno, why);
		return -1;
	}
	return 0;
}

/* "name:line: " for a key set in the file, "name: " for a default. */
static void
conf_where(const struct conf *c, const char *name, const char *key,
    char *out, size_t outlen)
{
	int line = conf_key_line(c, key);

	if (line > 0)
		snprintf(out, outlen, "%s:%d: ", name, line);
	else
		snprintf(out, outlen, "%s: ", name);
}

static int
conf_validate(struct conf *c, const char *name, char *err, size_t errlen)
{
	char		where[CONF_PATH_MAX + 32];
	struct cidr	net;
	size_t		i;

	if (c->local_domains.n == 0) {
		conf_where(c, name, "local_domains", where, sizeof(where));
		snprintf(err, errlen, "%slocal_domains is empty", where);
		return -1;
	}
	if (c->queue_retry_min == 0 || c->queue_retry_max < c->queue_retry_min) {
		conf_where(c, name, conf_key_line(c, "queue_retry_max") > 0 ?
		    "queue_retry_max" : "queue_retry_min", where, sizeof(where));
		snprintf(err, errlen, "%squeue_retry_max must be at least "
		    "queue_retry_min, which must be above zero", where);
		return -1;
	}
	/* The tag is "<syslog_name>/<process>[pid]": log readers split it. */
	if (c->syslog_name[0] == '\0' || strlen(c->syslog_name) > 24 ||
	    strspn(c->syslog_name, "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	    strlen(c->syslog_name)) {
		snprintf(err, errlen, "%s: syslog_name must be 1 to 24 "
		    "letters, digits, '.', '_' or '-'", name);
		return -1;
	}
	if (strcmp(c->local_sender_policy, "any") != 0 &&
	    strcmp(c->local_sender_policy, "own") != 0) {
		conf_where(c, name, "local_sender_policy", where, sizeof(where));
		snprintf(err, errlen, "%slocal_sender_policy must be any "
		    "or own", where);
		return -1;
	}
	for (i = 0; i < c->plaintext_auth_networks.n; i++)
		if (cidr_parse(c->plaintext_auth_networks.v[i], &net) == -1) {
			conf_where(c, name, "plaintext_auth_networks", where,
			    sizeof(where));
			snprintf(err, errlen, "%splaintext_auth_networks: bad "
			    "network \"%s\"", where,
			    c->plaintext_auth_networks.v[i]);
			return -1;
		}
	if (strcmp(c->double_bounce, "postmaster") != 0 &&
	    strcmp(c->double_bounce, "drop") != 0) {
		conf_where(c, name, "double_bounce", where, sizeof(where));
		snprintf(err, errlen, "%sdouble_bounce must be postmaster "
		    "or drop", where);
		return -1;
	}
	if (c->command_time_limit == 0) {
		snprintf(err, errlen, "%s: command_time_limit must be above "
		    "zero", name);
		return -1;
	}
	/* A delimiter must not split where a mailbox name could not. */
	if (strspn(c->recipient_delimiter, "+-_=") !=
	    strlen(c->recipient_delimiter)) {
		snprintf(err, errlen, "%s: recipient_delimiter may hold only "
		    "the characters + - _ = (or be empty)", name);
		return -1;
	}
	if (c->message_size_limit < 1024) {
		conf_where(c, name, "message_size_limit", where, sizeof(where));
		snprintf(err, errlen, "%smessage_size_limit is below 1k",
		    where);
		return -1;
	}
	return 0;
}

/*
 * lenient: a line in error is skipped (the first error is kept in err)
 * and the rest still applies; returns 1 then instead of -1.
 */
static int
conf_parse(struct conf *c, const char *name, const char *text, int lenient,
    char *err, size_t errlen)
{
	unsigned char	 seen[NKEYS];
	char		*logical = NULL, *nl, lerr[512];
	size_t		 llen = 0;
	const char	*p = text;
	int		 lineno = 0, startline = 0, rc = 0, bad = 0;

	conf_defaults(c);
	memset(seen, 0, sizeof(seen));
	strlcpy(c->path, name, sizeof(c->path));

	for (;;) {
		const char	*eol;
		size_t		 len;
		int		 cont, blank;
		char		*line;

		if (*p == '\0')
			eol = NULL;
		else
			eol = p;
		if (eol != NULL) {
			const char *e = strchr(p, '\n');
			len = e ? (size_t)(e - p) : strlen(p);
			lineno++;
			if ((line = strndup(p, len)) == NULL)
				goto nomem;
			p += len + (e ? 1 : 0);
			if (memchr(line, '\0', len) != NULL || strlen(line) != len) {
				free(line);
				snprintf(err, errlen, "%s:%d: NUL byte", name,
				    lineno);
				rc = -1;
				break;
			}
			cont = (line[0] == ' ' || line[0] == '\t');
			blank = (trim(line)[0] == '\0' || trim(line)[0] == '#');
		} else {
			line = NULL;
			cont = blank = 0;
		}

		if (line != NULL && blank) {
			free(line);
			continue;
		}
		if (line != NULL && cont) {
			if (logical == NULL) {
				free(line);
				snprintf(err, errlen, "%s:%d: continuation "
				    "line without a key before it", name,
				    lineno);
				rc = -1;
				break;
			}
			char *t = trim(line);
			size_t tl = strlen(t);
			if ((nl = realloc(logical, llen + tl + 2)) == NULL) {
				free(line);
				goto nomem;
			}
			logical = nl;
			logical[llen++] = ' ';
			memcpy(logical + llen, t, tl + 1);
			llen += tl;
			free(line);
			continue;
		}
		if (logical != NULL) {
			rc = conf_apply(c, name, startline, logical, seen,
			    lerr, sizeof(lerr));
			free(logical);
			logical = NULL;
			if (rc == -1) {
				if (!bad)
					strlcpy(err, lerr, errlen);
				bad = 1;
				rc = 0;
				if (!lenient) {
					rc = -1;
					free(line);
					break;
				}
			}
		}
		if (line == NULL)
			break;
		logical = line;
		llen = strlen(line);
		startline = lineno;
	}
	free(logical);
	if (rc == 0 && !bad && conf_validate(c, name, err, errlen) == -1) {
		bad = 1;
		rc = lenient ? 0 : -1;
	}
	if (rc == -1 && lenient) {
		/* The NUL and continuation errors: keep what came before. */
		return 1;
	}
	if (rc == -1) {
		conf_free(c);
		return -1;
	}
	return bad ? 1 : 0;
nomem:
	free(logical);
	conf_free(c);
	snprintf(err, errlen, "%s: out of memory", name);
	return -1;
}

int
conf_load_string(struct conf *c, const char *name, const char *text,
    char *err, size_t errlen)
{
	return conf_parse(c, name, text, 0, err, errlen);
}

static int
conf_read(struct conf *c, const char *path, int lenient, char *err,
    size_t errlen)
{
	FILE	*fp;
	char	*text;
	long	 sz;
	size_t	 got;
	int	 rc;

	if (path == NULL)
		return conf_load_string(c, "(built-in defaults)", "", err,
		    errlen);
	if ((fp = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fseek(fp, 0, SEEK_END) == -1 || (sz = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		fclose(fp);
		return -1;
	}
	if (sz > 1024 * 1024) {
		snprintf(err, errlen, "%s: larger than 1 MiB", path);
		fclose(fp);
		return -1;
	}
	if ((text = malloc((size_t)sz + 1)) == NULL) {
		fclose(fp);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	got = fread(text, 1, (size_t)sz, fp);
	fclose(fp);
	text[got] = '\0';
	if (strlen(text) != got) {
		/* Name the line that holds the first NUL. */
		const char *q;
		int nulline = 1;

		for (q = text; *q != '\0'; q++)
			if (*q == '\n')
				nulline++;
		free(text);
		snprintf(err, errlen, "%s:%d: NUL byte", path, nulline);
		return -1;
	}
	rc = conf_parse(c, path, text, lenient, err, errlen);
	free(text);
	return rc;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	return conf_read(c, path, 0, err, errlen);
}

int
conf_load_lenient(struct conf *c, const char *path, char *err, size_t errlen)
{
	return conf_read(c, path, 1, err, errlen);
}

void
conf_free(struct conf *c)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (conf_keys[i].type == CT_LIST)
			list_free((struct conf_list *)((char *)c +
			    conf_keys[i].off));
}

int
conf_is_local_domain(const struct conf *c, const char *domain)
{
	size_t i;

	for (i = 0; i < c->local_domains.n; i++)
		if (strcasecmp(c->local_domains.v[i], domain) == 0)
			return 1;
	return 0;
}

const char *
conf_default_domain(const struct conf *c)
{
	if (conf_is_local_domain(c, c->myhostname) || c->local_domains.n == 0)
		return c->myhostname;
	return c->local_domains.v[0];
}

/* A duration or size in its largest exact unit: 300 -> "5m". */
static void
conf_print_scaled(FILE *fp, uint64_t v, const char *units,
    const uint64_t *mult, size_t nunits)
{
	size_t i;

	for (i = nunits; i-- > 0;)
		if (v != 0 && v % mult[i] == 0) {
			fprintf(fp, "%llu%c", (unsigned long long)(v / mult[i]),
			    units[i]);
			return;
		}
	fprintf(fp, "%llu", (unsigned long long)v);
}

static void
conf_print_value(const struct conf *c, const struct conf_key *k, FILE *fp)
{
	static const uint64_t dmult[] = { 1, 60, 3600, 86400, 604800 };
	static const uint64_t smult[] = { 1024, 1024ULL * 1024,
	    1024ULL * 1024 * 1024 };
	const void	*field = (const char *)c + k->off;
	size_t		 j;

	switch (k->type) {
	case CT_STR:
	case CT_PATH:
		fputs((const char *)field, fp);
		break;
	case CT_LONG:
		fprintf(fp, "%ld", *(const long *)field);
		break;
	case CT_SIZE:
		conf_print_scaled(fp, *(const uint64_t *)field, "kMG", smult, 3);
		break;
	case CT_DURATION:
		if (*(const time_t *)field == 0)
			fputs("0s", fp);
		else
			conf_print_scaled(fp, (uint64_t)*(const time_t *)field,
			    "smhdw", dmult, 5);
		break;
	case CT_BOOL:
		fputs(*(const int *)field ? "yes" : "no", fp);
		break;
	case CT_LIST: {
		const struct conf_list *l = field;

		for (j = 0; j < l->n; j++)
			fprintf(fp, "%s%s", j ? ", " : "", l->v[j]);
		break;
	}
	}
}

void
conf_dump(const struct conf *c, FILE *fp)
{
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		fprintf(fp, "%s = ", conf_keys[i].name);
		conf_print_value(c, &conf_keys[i], fp);
		fputc('\n', fp);
	}
}

const char *
conf_key_name(size_t i)
{
	return i < NKEYS ? conf_keys[i].name : NULL;
}

int
conf_key_known(const char *key)
{
	return conf_find(key) != NULL;
}

int
conf_key_line(const struct conf *c, const char *key)
{
	const struct conf_key *k;

	if ((k = conf_find(key)) == NULL)
		return 0;
	return c->key_line[k - conf_keys];
}

char *
conf_value(const struct conf *c, const char *key)
{
	const struct conf_key	*k;
	FILE			*fp;
	char			*out = NULL;
	size_t			 len = 0;

	if ((k = conf_find(key)) == NULL) {
		errno = ENOENT;
		return NULL;
	}
	if ((fp = open_memstream(&out, &len)) == NULL)
		return NULL;
	conf_print_value(c, k, fp);
	if (fclose(fp) != 0) {
		free(out);
		return NULL;
	}
	return out;
}

int
conf_status_path(const struct conf *c, char *buf, size_t len)
{
	size_t n = strlen(c->pid_file);

	if (n > 4 && strcmp(c->pid_file + n - 4, ".pid") == 0)
		n -= 4;
	if (snprintf(buf, len, "%.*s.status", (int)n, c->pid_file) >=
	    (int)len)
		return -1;
	return 0;
}
