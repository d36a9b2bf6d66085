/*
 * daemon.h - what every daemon does first: read the command line master
 * gives it, set up logging, load postern.conf, take its listening sockets
 * and its signals.
 */
#ifndef POSTERN_DAEMON_H
#define POSTERN_DAEMON_H

#include <stddef.h>

#include "conf.h"

#define DAEMON_MAX_SOCKETS	32

/*
 * resolverd's client budgets: the check socket (smtpd's sessions) gets
 * smtpd_max_sessions plus this spare; the privileged socket (expand)
 * gets this many, never shared with the check socket.
 */
#define DAEMON_RESOLVER_CHECK_SPARE	64
#define DAEMON_RESOLVER_PRIV_CLIENTS	64

struct daemon_socket {
	char	name[32];
	int	fd;
};

struct daemon_args {
	const char		*confpath;	/* NULL: built-in defaults */
	int			 foreground;	/* log to stderr */
	struct daemon_socket	 socks[DAEMON_MAX_SOCKETS];
	size_t			 nsocks;
};

/*
 * Parses "[-c config] [-f] [-s name:fd ...]", starts logging as ident and
 * loads the configuration into conf. Every -s name must be in names (a
 * NULL-terminated list) and its descriptor a listening socket (made
 * non-blocking and close-on-exec). Misuse exits 64; anything else wrong
 * is fatal: a daemon must not start half-configured.
 */
void	daemon_init(const char *ident, const char *const *names, int argc,
	    char **argv, struct daemon_args *, struct conf *);
/* The descriptors passed under name, in order; returns how many. */
size_t	daemon_sockets(const struct daemon_args *, const char *name, int *fds,
	    size_t max);
/* The first descriptor passed under name, or -1. */
int	daemon_socket(const struct daemon_args *, const char *name);
/*
 * The descriptors the busiest daemon needs with these settings (smtpd's
 * listener, resolverd or pop3d's parent, whichever is largest), and the
 * limit every daemon gets: daemon_init raises its soft RLIMIT_NOFILE to
 * the hard one. postern check refuses settings whose need exceeds it.
 */
unsigned long	daemon_fds_needed(const struct conf *);
/*
 * The log tag's syslog_name and, with maillog_file set, a connection to
 * the log process's socket: before any chroot (daemon_init calls it;
 * master, sendmail and postern call it once they have their config).
 */
void	daemon_log_setup(const struct conf *);
unsigned long	daemon_fds_limit(void);

/*
 * Session processes are the daemon's own binary started afresh with
 * "FLAG SPEC" on its command line (pop3d -l/-m, smtpd -S): a fresh
 * address-space layout and stack canary for every one, nothing of the
 * parent's memory. daemon_take_arg removes "FLAG SPEC" from argv before
 * daemon_init sees it and returns SPEC, or NULL when FLAG is absent.
 */
char	*daemon_take_arg(int *argc, char *argv[], const char *flag);
/*
 * The running configuration for the session processes a daemon execs: a
 * memfd holding conf_dump's text, passed with daemon_exec_self (-C FD;
 * keep the descriptor in proc_exec_prepare's list). The file on disk may
 * have been edited since (a reload that master refused, one not made
 * yet): a session must run on what its parent runs, not on that. A new
 * snapshot after each reload of the parent; the descriptor, or -1
 * (logged).
 */
int	daemon_conf_snapshot(const struct conf *);
/*
 * In a child prepared with proc_exec_prepare: execs this binary as a
 * session process (with -c confpath, which names the configuration in
 * ps and the logs, -C conffd when not -1, which it is read from, and -f
 * when logging to stderr). Returns only on failure, which it logs.
 */
/* The same with another binary of the suite's (path); NULL: this one. */
void	daemon_exec(const char *path, const char *ident, const char *confpath,
	    int conffd, const char *flag, const char *spec);
void	daemon_exec_self(const char *ident, const char *confpath,
	    int conffd, const char *flag, const char *spec);
/*
 * Blocks SIGTERM, SIGINT, SIGHUP (and extra, if not 0) and returns a
 * non-blocking signalfd for them; SIGPIPE is ignored: a vanished peer is
 * an error return, not a death.
 */
int	daemon_signalfd(int extra);
/*
 * SIGHUP's reload: the configuration at path replaces *conf (the old one
 * freed) and 0 is returned; one that does not load leaves *conf as it
 * is, logged, and -1 is returned.
 */
int	daemon_conf_reload(struct conf *conf, const char *path);
/*
 * An evloop daemon's signals, from daemon_signalfd(0): SIGTERM and
 * SIGINT stop the loop (logged), SIGHUP calls reload (NULL: nothing).
 * 0, or -1 when the loop cannot watch them.
 */
struct evloop;
int	daemon_loop_signals(struct evloop *, int sigfd, void (*reload)(void));

#endif
