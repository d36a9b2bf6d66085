/*
 * master.h - the supervisor's private interfaces: spool and socket set-up
 * (setup.c), the services it runs (service.c), systemd's notifications
 * (notify.c).
 */
#ifndef POSTERN_MASTER_H
#define POSTERN_MASTER_H

#include <sys/types.h>
#include <time.h>

#include "conf.h"
#include "evloop.h"
#include "priv.h"

#define MASTER_MAX_FDS	64

/* A socket handed to a daemon as "-s name:fd". */
struct svc_fd {
	const char	*name;
	int		 fd;
};

struct service {
	const char	*name;		/* program in daemon_directory */
	int		 instance;
	struct svc_fd	 fds[MASTER_MAX_FDS];
	size_t		 nfds;
	pid_t		 pid;
	uint64_t	 started_ms;
	uint64_t	 backoff_ms;
	struct ev_timer	*restart;
	int		 retired;	/* do not start (pop3d without listeners) */
	int		 reloading;	/* stopped on purpose by a reload */
	int		 stop_phase;	/* 1: stopped first (takes mail in), 2: after,
					   3: logd, once the others said their last */
	/* 1: stopped first (takes mail in), 2: after */
	/*
	 * What "postern status" shows: the daemon's error lines arrive as
	 * datagrams on errfd[0] (it has errfd[1] as -e); restarts counts
	 * unexpected exits, failures those in a row that came before the
	 * daemon ran STABLE_MS (reset by the stable timer).
	 */
	int		 errfd[2];
	unsigned long	 restarts;
	unsigned long	 failures;
	struct ev_timer	*stable;
	char		 last_exit[64];
	char		 last_error[256];
};

/*
 * A login daemon's listeners (logind.c): pop3d, imapd. Each has a
 * plaintext set and an implicit-TLS set, kept open for the suite's life.
 */
enum { MASTER_POP3 = 0, MASTER_IMAP, MASTER_LOGINDS };

struct master_logind {
	const char	*svc;		/* "pop3d" */
	const char	*sock;		/* its sockets' name: "pop3" */
	const char	*tls_sock;	/* "pop3s" */
	const char	*key;		/* "pop3_listen" */
	const char	*tls_key;	/* "pop3s_listen" */
	int		 fds[16];
	size_t		 n;
	int		 tls_fds[16];
	size_t		 ntls;
};

struct master {
	struct conf	 conf;
	const char	*confpath;
	int		 foreground;
	struct evloop	*loop;
	struct priv_user smtpd_u, queue_u, resolver_u, auth_u, mail_u, login_u;
	struct priv_user key_u;
	struct priv_user relay_u;
	/* listening sockets, kept open for the suite's life */
	int		 smtp_fds[16];
	size_t		 nsmtp;
	int		 smtps_fds[16];		/* smtps_listen */
	size_t		 nsmtps;
	struct master_logind logind[MASTER_LOGINDS];
	int		 sub_fds[16];		/* submission_listen */
	size_t		 nsub;
	struct ev_timer	*ticket_timer;		/* tickets.c */
	int		 submit_fd, inject_fd, deliver_fd, control_fd;
	int		 check_fd, expand_fd, auth_fd;
	int		 key_fd;		/* private/key.sock, keyd's */
	int		 relay_fd, route_fd;	/* in <spool>/relay/ */
	int		 log_fd;	/* logd's datagram socket, or -1 */
	struct service	*svcs;
	size_t		 nsvcs;
	int		 stopping;
	int		 plain;		/* started by "postern start": tell it plainly */
	/* the last reload's outcome, for "postern reload" (status.c) */
	unsigned long	 reload_gen;
	int		 reload_ok;
	char		 reload_msg[1024];
	int		 said_stopped;	/* "stopped" logged before logd went */
};

/* A daemon that ran this long is no longer failing (service.c). */
#define MASTER_STABLE_MS	10000

/* logind.c: the names of each login daemon's listeners and keys. */
void	logind_init(struct master *);
const struct conf_list *logind_list(const struct conf *, size_t i, int tls);

/* setup.c */
int	setup_users(struct master *, char *err, size_t errlen);
int	setup_spool(struct master *, char *err, size_t errlen);
int	setup_sockets(struct master *, char *err, size_t errlen);
/*
 * maillog_file exists and belongs to logd's user (login_user); run again
 * before logd reopens it (the file may have been rotated away).
 */
int	setup_maillog(struct master *, char *err, size_t errlen);
/* Whether a syslog daemon listens on /dev/log. */
int	setup_syslog_reachable(void);

/* Binds one *_listen key, reusing the sockets of addresses in old. */
int	setup_listeners_reload(const char *key, const struct conf_list *old,
	    const int *oldfds, const struct conf_list *nl, int *newfds,
	    int *changed, char *err, size_t errlen);

/* Whether fd is one of fds[0..n). */
int	setup_fd_in(int fd, const int *fds, size_t n);

/* reload.c: SIGHUP. */
void	master_reload(struct master *);

/* status.c: beside pid_file, read by "postern status" and "reload". */
void	status_write(struct master *);

/* service.c */
void	services_init(struct master *);
void	services_start_all(struct master *);
void	services_reaped(struct master *, pid_t, int status);
void	services_signal_all(struct master *, int sig);
/* SIGTERM to the services of one stop phase; returns how many run. */
int	services_stop_phase(struct master *, int phase);
int	services_running_phase(struct master *, int phase);
/*
 * logind_changed[i]: that login daemon's listeners changed and it is
 * replaced too.
 */
void	services_reload(struct master *, const int *logind_changed);
/* Gives smtpd or a login daemon (by the name of its sockets) a new socket set. */
void	services_set_listeners(struct master *, const char *svc,
	    const char *sockname, const int *fds, size_t n);
/* Adds sockets of another name (smtpd's smtps, submission) to that set. */
void	services_add_listeners(struct master *, const char *svc,
	    const char *sockname, const int *fds, size_t n);

/*
 * tickets.c: the TLS session-ticket keys. Rotates them now and starts
 * the rotation timer if TLS is configured and it is not running yet
 * (at start, and after a reload that turned TLS on).
 */
void	master_tickets_check(struct master *);
int	services_running(struct master *);
void	services_kill_all(struct master *);
/* SIGHUP to logd (if it runs): reopen maillog_file. */
void	services_log_reopen(struct master *);

/*
 * notify.c: systemd's readiness protocol. _init reads NOTIFY_SOCKET (call
 * it before the environment is reset); master_notify sends one state
 * ("READY=1", "STOPPING=1"), a no-op without NOTIFY_SOCKET.
 */
void	master_notify_init(void);
void	master_notify(const char *state);

#endif
