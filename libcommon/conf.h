/*
 * conf.h - postern.conf: "key = value" lines, every key typed and known.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define CONF_PATH_MAX	256
#define CONF_STR_MAX	256
#define CONF_KEYS_MAX	128	/* room in key_line; conf.c checks it */

struct conf_list {
	size_t	  n;
	char	**v;
};

struct conf {
	char	 path[CONF_PATH_MAX];	/* file it came from, "" = built-in */
	/* where each key was set (conf_key_line), 0: its default */
	int	 key_line[CONF_KEYS_MAX];

	/* identity and policy */
	char	 myhostname[CONF_STR_MAX];
	struct conf_list local_domains;
	struct conf_list mynetworks;

	/* where things live */
	char	 spool_directory[CONF_PATH_MAX];
	char	 map_directory[CONF_PATH_MAX];
	char	 mail_store[CONF_PATH_MAX];
	char	 aliases_file[CONF_PATH_MAX];
	char	 daemon_directory[CONF_PATH_MAX];
	char	 pid_file[CONF_PATH_MAX];

	/* who runs what (ignored when started by a non-root user) */
	char	 smtpd_user[CONF_STR_MAX];
	char	 queue_user[CONF_STR_MAX];
	char	 resolver_user[CONF_STR_MAX];
	char	 auth_user[CONF_STR_MAX];	/* authd: the password map */
	char	 key_user[CONF_STR_MAX];	/* keyd: the TLS private keys */
	char	 mail_user[CONF_STR_MAX];
	char	 relay_user[CONF_STR_MAX];	/* the remote delivery agents */
	int	 smtpd_chroot;

	/* smtpd */
	struct conf_list smtp_listen;
	uint64_t message_size_limit;
	uint64_t smtpd_max_line_length;	/* with its CRLF; 0: no limit */
	long	 smtpd_recipient_limit;
	long	 smtpd_max_sessions;
	long	 smtpd_client_connection_limit;	/* per address; 0: none */
	long	 smtpd_max_use;		/* connections per session process */
	time_t	 smtpd_max_idle;	/* how long one waits for the next */
	long	 smtpd_error_limit;
	time_t	 smtpd_timeout;
	time_t	 smtpd_data_timeout;
	int	 smtpd_vrfy;
	int	 smtpd_helo_required;	/* MAIL before HELO/EHLO: 503 */
	char	 smtpd_banner[CONF_STR_MAX];
	/* SMTP AUTH: always offered on submission and smtps */
	int	 smtpd_auth_enable;	/* offered on smtp_listen (25) too */
	char	 sender_login_map[CONF_PATH_MAX];	/* more owners of senders */
	int	 smtpd_sasl_authenticated_header;	/* login in Received */

	/* TLS (libcommon/tls.c): the server side of smtpd (and pop3d) */
	struct conf_list smtps_listen;		/* implicit TLS (465) */
	struct conf_list submission_listen;	/* 587: STARTTLS */
	char	 tls_cert_file[CONF_PATH_MAX];	/* "": no TLS */
	char	 tls_key_file[CONF_PATH_MAX];	/* its own file: keyd's */
	char	 tls_sni_map[CONF_PATH_MAX];	/* "name cert key" lines */
	struct conf_list tls_protocols;		/* TLSv1.2, TLSv1.3 */
	char	 tls_ciphers[CONF_STR_MAX];	/* TLS 1.2; "": intermediate */
	char	 tls_ciphersuites[CONF_STR_MAX];	/* TLS 1.3; "": OpenSSL's */
	char	 tls_groups[CONF_STR_MAX];
	time_t	 tls_ticket_lifetime;	/* key rotation; 0: no tickets */

	/* queue */
	time_t	 queue_retry_min;
	time_t	 queue_retry_max;
	time_t	 queue_lifetime;
	long	 local_delivery_concurrency;
	time_t	 delivery_timeout;
	long	 queue_active_limit;
	long	 initial_destination_concurrency;
	long	 destination_concurrency_limit;
	long	 destination_recipient_limit;	/* at most D_RJOB_RCPT_MAX */
	int	 group_commit;
	long	 hopcount_limit;	/* Received fields that refuse a message */
	struct conf_list authorized_submit_users;	/* local submitters */
	struct conf_list queue_list_users;	/* besides root: queue list */
	char	 local_sender_policy[CONF_STR_MAX];	/* "any" or "own" */
	uint64_t bounce_size_limit;	/* RET=FULL returns at most this */
	time_t	 delay_warning_time;	/* 0: no delay warnings */
	char	 double_bounce[CONF_STR_MAX];	/* "postmaster" or "drop" */

	/* remote delivery (relayd, the SMTP client) */
	long	 remote_delivery_concurrency;
	char	 smtp_helo_name[CONF_STR_MAX];	/* "": myhostname */
	char	 smtp_bind_address[CONF_STR_MAX];	/* "": the kernel's */
	char	 smtp_bind_address6[CONF_STR_MAX];
	time_t	 smtp_connect_timeout;
	time_t	 smtp_helo_timeout;
	time_t	 smtp_mail_timeout;
	time_t	 smtp_rcpt_timeout;
	time_t	 smtp_data_init_timeout;
	time_t	 smtp_data_xfer_timeout;
	time_t	 smtp_data_done_timeout;
	time_t	 smtp_quit_timeout;
	time_t	 smtp_connection_cache_time;	/* 0: no connection cache */
	/* outbound TLS (tls_client.c, tls_policy.c) */
	char	 smtp_tls_security_level[CONF_STR_MAX];	/* none may encrypt dane verify */
	char	 smtp_tls_policy_map[CONF_PATH_MAX];	/* "": none */
	char	 smtp_tls_CAfile[CONF_PATH_MAX];	/* "": the system's bundle */

	/* resolver */
	int	 allow_alias_commands;
	char	 default_privs[CONF_STR_MAX];	/* who alias commands run as */
	time_t	 command_time_limit;	/* then the command is killed */
	char	 recipient_delimiter[CONF_STR_MAX];	/* "" : none */
	time_t	 resolver_idle_timeout;	/* smtpd's connections, when idle */
	struct conf_list dns_servers;	/* empty: /etc/resolv.conf's */
	time_t	 dns_timeout;		/* one server's answer to one query */
	long	 dns_attempts;		/* rounds over every server */

	/* pop3d */
	struct conf_list pop3_listen;
	struct conf_list pop3s_listen;		/* implicit TLS (995) */
	char	 login_user[CONF_STR_MAX];	/* pre-login POP3/IMAP processes */
	time_t	 pop3_timeout;
	long	 pop3_max_sessions;
	time_t	 pop3_login_timeout;	/* the whole AUTHORIZATION state */
	long	 pop3_client_connection_limit;	/* per address; 0: none */

	/* imapd (the login layer's settings, as pop3d's) */
	struct conf_list imap_listen;
	struct conf_list imaps_listen;		/* implicit TLS (993) */
	time_t	 imap_timeout;		/* RFC 3501 5.4: at least 30 minutes */
	long	 imap_max_sessions;
	time_t	 imap_login_timeout;	/* the whole not-authenticated state */
	long	 imap_client_connection_limit;	/* per address; 0: none */
	long	 imap_user_session_limit;	/* per user; 0: none */

	/* authentication (authd checks and paces; the login daemons delay) */
	time_t	 auth_failure_delay;
	long	 auth_failure_limit;	/* failures per client address ... */
	time_t	 auth_failure_window;	/* ... within this window */
	long	 auth_account_failure_limit;	/* per account; 0: off */
	time_t	 auth_account_delay;	/* spacing of guesses past it */
	long	 auth_workers;		/* hash threads; 0: one per CPU */
	time_t	 auth_cache_ttl;	/* good logins remembered; 0: off */
	/* where passwords may travel without TLS (USER/PASS, AUTH PLAIN) */
	struct conf_list plaintext_auth_networks;
	long	 auth_messages_per_day;		/* per account; 0: no limit */
	long	 auth_recipients_per_hour;	/* per account; 0: no limit */

	/* master */
	time_t	 restart_backoff_max;

	/* logging */
	char	 syslog_name[CONF_STR_MAX];	/* the tag's "postern" */
	char	 maillog_file[CONF_PATH_MAX];	/* "": syslog */
};

/*
 * Loads defaults, then the file (path NULL: defaults only). On error
 * fills err with "file:line: what" and returns -1.
 */
int	conf_load(struct conf *, const char *path, char *err, size_t errlen);
/*
 * For commands that must work while the file is broken (postern status,
 * stop): a line in error is skipped and the rest applies. 0 clean, 1
 * loaded with errors (the first in err), -1 the file cannot be read.
 */
int	conf_load_lenient(struct conf *, const char *path, char *err,
	    size_t errlen);
/* The same for text in memory; name is used in messages. */
int	conf_load_string(struct conf *, const char *name, const char *text,
	    char *err, size_t errlen);
void	conf_free(struct conf *);
int	conf_is_local_domain(const struct conf *, const char *domain);
/*
 * The domain that completes a bare local name (sendmail's "root", SMTP's
 * "<postmaster>"): myhostname when it is a local domain, else the first
 * local domain, so such mail stays local.
 */
const char *conf_default_domain(const struct conf *);
/* Prints every key with its current value, as "key = value" lines. */
void	conf_dump(const struct conf *, FILE *);

/*
 * master's status file (master/status.c), beside pid_file: its name with
 * ".pid" replaced by ".status" (or ".status" appended). -1 if too long.
 */
int	conf_status_path(const struct conf *, char *buf, size_t len);

/*
 * The key table, for postern config and the checks: conf_key_name(i) is
 * the i-th key (NULL past the last), conf_key_known says whether a name
 * is a key, conf_key_line the line of c->path that set it (0: it has
 * its default, or no such key).
 */
const char *conf_key_name(size_t i);
int	conf_key_known(const char *key);
int	conf_key_line(const struct conf *, const char *key);
/*
 * key's value spelled as postern.conf takes it back (durations and sizes
 * in their largest exact unit, lists joined by ", "), in a string the
 * caller frees; NULL for an unknown key (errno ENOENT) or no memory.
 */
char	*conf_value(const struct conf *, const char *key);

/* Value parsers, exposed for tests and for the CLI. */
int	conf_parse_size(const char *, uint64_t *);
int	conf_parse_duration(const char *, time_t *);
int	conf_parse_bool(const char *, int *);

#endif
