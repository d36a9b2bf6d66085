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

#define MASTER_MAX_FDS	32

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
	int		 retired;	/* do not restart (reload shrank the pool) */
	int		 reloading;	/* stopped on purpose by a reload */
	int		 stop_phase;	/* 1: stopped first (takes mail in), 2: after,
					   3: logd, once the others said their last */
};

struct master {
	struct conf	 conf;
	const char	*confpath;
	int		 foreground;
	struct evloop	*loop;
	struct priv_user smtpd_u, queue_u, resolver_u, mail_u, login_u;
	/* listening sockets, kept open for the suite's life */
	int		 smtp_fds[16];
	size_t		 nsmtp;
	int		 pop3_fds[16];
	size_t		 npop3;
	int		 submit_fd, inject_fd, deliver_fd, control_fd;
	int		 check_fd, expand_fd, auth_fd;
	int		 log_fd;	/* logd's datagram socket, or -1 */
	struct service	*svcs;
	size_t		 nsvcs;
	int		 stopping;
	int		 said_stopped;	/* "stopped" logged before logd went */
};

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

/* service.c */
void	services_init(struct master *);
void	services_start_all(struct master *);
void	services_reaped(struct master *, pid_t, int status);
void	services_signal_all(struct master *, int sig);
/* SIGTERM to the services of one stop phase; returns how many run. */
int	services_stop_phase(struct master *, int phase);
int	services_running_phase(struct master *, int phase);
void	services_reload(struct master *);
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
