/*
 * login.h - the machinery every login daemon (pop3d now, imapd next)
 * shares, as Dovecot's login-common serves its login daemons: the root
 * parent that accepts and never parses (login_parent.c), the pre-login
 * process's deadlines and its request to the parent (login_proc.c), the
 * post-login process's confinement to one user's directory
 * (login_post.c), and the start-up that decides which of the three a
 * process is (login_main.c). A daemon supplies a struct login_service:
 * its names, its limits, the fixed lines the layer writes for it, and
 * the two halves of its protocol (before and after login).
 *
 * Three processes per connection (see doc/DESIGN.md, "The login layer"):
 *	parent (root)          accepts, counts, asks authd, starts the others
 *	login process          login_user, chrooted in <spool>/empty:
 *	    ("-l CLIENT:PARENT:KIND:IP") greeting, capabilities, credentials,
 *	    TLS (and after a TLS login, the relay); KIND is LOGIN_KIND_* bits;
 *	    a fresh image of the daemon's binary
 *	post-login process     mail_user, chrooted in the user's directory:
 *	    ("-m CLIENT:LEFTFD:USER:IP") the mailbox; forked by a template
 *	    ("-T CTL", a fresh image of the mail binary that never reads a
 *	    client: libcommon/forkserver.h), or exec'd when none is ready
 */
#ifndef POSTERN_LOGIN_H
#define POSTERN_LOGIN_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "conf.h"
#include "ipc.h"
#include "netio.h"
#include "priv.h"

/* Commands a connection may send before it has logged in. */
#define LOGIN_COMMANDS_MAX	30
/* Failed logins one connection may try before it is closed. */
#define LOGIN_TRIES		3

/* The settings of one login daemon, read afresh from each config. */
struct login_limits {
	long	max_sessions;		/* logged in or not */
	long	client_connection_limit; /* per client address; 0: none */
	long	user_session_limit;	/* logged in, per user; 0: none */
	time_t	login_timeout;		/* the whole pre-login state */
	time_t	timeout;		/* one idle read */
};

/*
 * What the processes share: the config (the parent's is swapped on
 * SIGHUP), the two users and the directories.
 */
struct tls_server;

struct login_env {
	const struct conf	*conf;
	/*
	 * A login process's TLS contexts, loaded before its privilege drop
	 * (keyd signs for the key); NULL when no certificate is configured
	 * (tls_error NULL) or it failed to load (tls_error says why).
	 */
	struct tls_server	*tls;
	const char		*tls_error;
	struct priv_user	 login_u;
	struct priv_user	 mail_u;
	char			 empty_dir[CONF_PATH_MAX];
	char			 private_dir[CONF_PATH_MAX];
};

struct login_sess;

/*
 * How a session's bytes travel, which decides the hand-over to the
 * post-login process (login_parent.c): in the clear the client socket
 * itself goes to it; under TLS the login process stays as the TLS end
 * and relays plaintext over a socketpair (login_proxy.c; doc/DESIGN.md
 * says why not kernel TLS). STLS/implicit TLS set it in the login
 * process.
 */
enum login_transport {
	LOGIN_TRANSPORT_PLAIN = 0,
	LOGIN_TRANSPORT_TLS,
};

/*
 * A protocol's part. The lines are complete, CRLF included: the parent
 * writes its own without parsing anything, and the login process writes
 * them where only the layer knows the moment (a deadline, a lost parent).
 */
struct login_service {
	const char	*ident;		/* binary and log tag: "pop3d" */
	const char	*socket_name;	/* master's "-s NAME:FD": "pop3" */
	/* The implicit-TLS listeners' (RFC 8314): "pop3s"; NULL: none. */
	const char	*tls_socket_name;
	const char	*proto;		/* authd's protocol name: "pop3" */
	/*
	 * The post-login processes' binary, beside the daemon's own
	 * ("pop3d-mail"); NULL, or not installed: the daemon's with -m.
	 */
	const char	*post_binary;
	void		(*limits)(const struct conf *, struct login_limits *);

	/*
	 * The parent's lines (before any process of the client's exists).
	 * Written in the clear, so never to an implicit-TLS connection nor
	 * to one that has started STLS: those are closed without a line.
	 */
	const char	*line_busy;	/* every session logged in */
	const char	*line_addr_busy; /* the client's address at its limit */
	const char	*line_full;	/* to the connection closed for room */
	const char	*line_no_session; /* the post-login process failed */

	/* The login process's lines. */
	const char	*line_idle;	/* one read waited login_limits.timeout */
	const char	*line_late;	/* past login_timeout */
	const char	*line_gone;	/* the parent is gone (shutting down) */

	/*
	 * The pre-login protocol, confined already: greeting, commands,
	 * login_ask for each set of credentials. Never returns.
	 */
	void		(*login_run)(struct login_sess *);
	/*
	 * The post-login protocol, in a fresh image still as root: it calls
	 * login_post_confine before it reads a byte. left holds the client
	 * bytes the login process had read but not processed, state what
	 * that process said for this one (see login_ask). Never returns.
	 */
	void		(*post_run)(const struct login_env *, int client,
			    const char *user, const char *ip,
			    const unsigned char *state, size_t statelen,
			    const unsigned char *left, size_t leftlen);
};

/*
 * The daemon's main(): a parent (the default), or with "-l SPEC" a login
 * process, or with "-m SPEC" a post-login process, each as the parent
 * started it.
 */
int	login_daemon_main(const struct login_service *, int argc,
	    char *argv[]);
/*
 * The main() of a protocol's mail binary (post_binary): "-m SPEC" only,
 * no login machinery linked. login_post_main is that process's start,
 * shared with login_daemon_main's -m.
 */
int	login_post_daemon_main(const struct login_service *, int argc,
	    char *argv[]) __attribute__((__noreturn__));
void	login_post_main(const struct login_service *, struct login_env *,
	    const struct conf *, char *spec) __attribute__((__noreturn__));
/*
 * "-T CTL" (with blanks after CTL: the room for the sessions' command
 * lines): the template that forks post-login processes on the parent's
 * requests (libcommon/forkserver.h), serving on CTL.
 */
void	login_post_template(const struct login_service *, struct login_env *,
	    const struct conf *, const char *confpath, const char *spec)
	    __attribute__((__noreturn__));
/*
 * Room for a session's "-m CLIENT:LEFTFD:USER:IP" over the template's
 * "-T CTL" and "-C FD": the blanks the parent appends to CTL.
 */
#define LOGIN_TITLE_ROOM	(ADDR_MAX + 64 + 32)

/*
 * The login process. The layer has confined it, set up the client
 * connection (io, timeout login_limits.timeout) and the deadline; the
 * protocol's login_run keeps its own state and may use failures and
 * errors as its counters.
 */
struct login_sess {
	const struct login_service	*svc;
	const struct login_env		*env;
	struct netio			 io;
	struct ipc_conn			 parent;
	const char			*ip;	/* from accept(2), via the parent */
	struct login_limits		 lim;
	int64_t				 deadline; /* monotonic ms: log in by then */
	enum login_transport		 transport;
	int				 implicit; /* pop3s-like */
	/* The parent found accept(2)'s address in plaintext_auth_networks. */
	int				 plain_net;
	int				 failures;
	int				 errors;
	int				 read_late; /* login_read_timeout's limit */
};

/*
 * The next line (without its line end, NUL-terminated, linemax counting
 * the CRLF), or the end of the session: past the login deadline it
 * writes line_late, after an idle read line_idle, and exits; at EOF or
 * an error it exits. Returns NETIO_OK or NETIO_TOOLONG.
 */
enum netio_status login_getline(struct login_sess *, char *line,
	    size_t linemax, size_t *len);
/*
 * For a protocol with its own reader (IMAP's literals): the timeout of
 * the next read (the idle timeout or what is left before the login
 * deadline, whichever is sooner; past the deadline it writes line_late
 * and exits), and what to do when that read timed out (line_late or
 * line_idle, as login_getline, and exit).
 */
time_t	login_read_timeout(struct login_sess *);
void	login_timed_out(struct login_sess *) __attribute__((__noreturn__));

/* Why a login did not happen. */
enum login_fail {
	LOGIN_FAIL_AUTH = 0,	/* wrong credentials */
	LOGIN_FAIL_LIMIT,	/* too many failures (authd's pacing) */
	LOGIN_FAIL_TEMP,	/* authd unavailable */
	LOGIN_FAIL_TOOLONG,	/* user or password over the limit: not asked */
	LOGIN_FAIL_PLAINTEXT,	/* login_plaintext_ok said no: not asked */
	/* The right credentials, but the user has user_session_limit. */
	LOGIN_FAIL_USER_BUSY,
};

/*
 * How the client was authenticated: the parent checks it is one it
 * knows; authd is asked the same question either way.
 */
enum login_mech {
	LOGIN_MECH_PLAINTEXT = 0,	/* USER/PASS, IMAP LOGIN */
	LOGIN_MECH_SASL_PLAIN,		/* AUTH PLAIN, AUTHENTICATE PLAIN */
};

/* Bytes a login process may pass on to the post-login process. */
#define LOGIN_STATE_MAX	256

/*
 * The plaintext-login policy (login_policy.c), decided here once for
 * every login daemon: pop3d's USER/PASS and AUTH PLAIN now, and imapd's
 * LOGIN and AUTHENTICATE PLAIN next (which will answer LOGINDISABLED in
 * its CAPABILITY and "NO [PRIVACYREQUIRED]", as pop3d answers "-ERR
 * [AUTH]"); smtpd's AUTH follows the same key. A password may travel
 * only under TLS, as this login process really has it (STLS done, or
 * the handshake of an implicit-TLS listener), or from a client whose
 * address, as the parent took it from accept(2), is in
 * plaintext_auth_networks (plain_net). Nothing the client says counts.
 *
 * login_plaintext_ok: 1 when a password may be sent now (the protocol
 * offers its plaintext mechanisms: CAPA's USER and SASL PLAIN), else 0.
 */
int	login_plaintext_ok(const struct login_sess *);
/*
 * For a command that carries or announces a password (cmd: its name,
 * never its arguments): 0 when login_plaintext_ok; otherwise logs the
 * refusal once, with the client's address, and returns -1: the
 * protocol then wipes any password it was given, answers with its own
 * code and counts a protocol error. login_ask applies the same check
 * (LOGIN_FAIL_PLAINTEXT, nothing sent), and the parent kills a login
 * process that hands it a password the policy refuses.
 */
int	login_plaintext_check(struct login_sess *, const char *cmd);
/* The parent's half: whether accept(2)'s sa is in plaintext_auth_networks. */
struct sockaddr;
int	login_plaintext_net(const struct conf *, const struct sockaddr *);

/* The -l argument's KIND: bits. */
#define LOGIN_KIND_IMPLICIT	1	/* from an implicit-TLS listener */
#define LOGIN_KIND_PLAIN_NET	2	/* login_plaintext_net said yes */
#define LOGIN_KIND_MAX		3

/*
 * Hands the credentials to the parent with the client's unprocessed
 * input and the protocol's state (for IMAP, the tag the post-login
 * process must answer; up to LOGIN_STATE_MAX bytes, may be NULL). It
 * flushes our replies first: the post-login process writes next. Wipes
 * pass. Returns only when the login failed (the parent ends this process
 * when it succeeds), after auth_failure_delay; when the parent is gone
 * it writes line_gone and exits. LOGIN_FAIL_PLAINTEXT at once, nothing
 * sent, when login_plaintext_check refuses (and logs).
 */
enum login_fail login_ask(struct login_sess *, enum login_mech,
	    const char *user, char *pass, const void *state, size_t statelen);

/*
 * STLS/STARTTLS, or implicit TLS (goahead NULL): tells the parent that
 * plaintext stops here (it waits for the parent's word, so from then on
 * the parent never writes a line to this client in the clear), writes
 * goahead, and starts TLS (tls_server_start: what the client pipelined
 * after the command is discarded). Returns 0 once the session is under
 * TLS (transport LOGIN_TRANSPORT_TLS, logged as Postfix logs it); a
 * failed handshake ends the process, logged, since nothing more may be
 * said in plaintext. -1 without anything written when TLS is not
 * available (env->tls NULL): the protocol answers. The protocol resets
 * its own state on 0 (RFC 2595 4, RFC 3207 4.2).
 */
int	login_starttls(struct login_sess *, const char *goahead);

/* Flushes, wipes and ends the login process. */
void	login_exit(struct login_sess *) __attribute__((__noreturn__));

/*
 * The post-login process: builds <mail_store>/<domain>/<user> from the
 * canonical address (each part store-safe), creates the Maildir as
 * mail_user if missing, chroots there and drops to mail_user for good.
 * -1 (logged) when it cannot: the caller answers the client and exits.
 * Does not return 0 without having dropped.
 */
int	login_post_confine(const struct login_env *, const char *user);
/*
 * The same, with <root>/<domain>/<user> (created as mail_user) bound on
 * <user's directory>/<name> before the chroot, in a private mount
 * namespace of the process's own. root "" (or a suite not run as root,
 * which has no chroot: then name is used in place): no bind.
 */
struct login_bind {
	const char	*root;
	const char	*name;
};
int	login_post_confine_bind(const struct login_env *, const char *user,
	    const struct login_bind *);

/*
 * Inside the layer: login_main.c starts one of these. Each takes over
 * what it is given and does not return but for the parent's SIGTERM.
 */
int	login_parent_run(const struct login_service *, struct login_env *,
	    struct conf *, const char *confpath, const int *fds,
	    const int *implicit, size_t nfds);
void	login_proc_run(const struct login_service *, const struct login_env *,
	    int client, int parent, int kind, const char *ip)
	    __attribute__((__noreturn__));
/*
 * The relay of a TLS session after login (login_proxy.c): moves bytes
 * between io's transport and inner until either side ends or idles
 * past timeout seconds (plus a grace: the post-login process ends an
 * idle session itself), then returns. What io held already went to the
 * post-login process with the login and is not relayed again. 0 on a
 * clean end, -1 on an error.
 */
int	login_proxy_relay(struct netio *io, int inner, time_t timeout);

#endif
