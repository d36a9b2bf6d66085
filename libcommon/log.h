/*
 * log.h - one line per event, tagged "<syslog_name>/<process>[pid]" as
 * Postfix's are, to syslog, to the log process (maillog_file) and, in
 * the foreground, to stderr with a timestamp.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdnoreturn.h>
#include <time.h>

/* Where master binds the log process's seqpacket socket, under the spool. */
#define LOG_SOCKET_DIR	"public"
#define LOG_SOCKET_NAME	"log.sock"
/* A record: "<P>" (syslog priority digit), the tag, ": ", the text. */
#define LOG_RECORD_MAX	2400
#define LOG_TAG_MAX	64
/* "2026-12-02T09:43:08.123456+00:00" */
#define LOG_TIME_MAX	40

enum log_dest {
	LOG_DEST_SYSLOG,
	LOG_DEST_STDERR,
	/*
	 * A command at a terminal (postern): "ident: warning: what" on
	 * stderr, as the command's own messages, never the daemon format.
	 */
	LOG_DEST_TERMINAL,
};

void	log_init(const char *ident, enum log_dest dest);
/*
 * Once the configuration is read (before any chroot): the first part of
 * the tag (syslog_name), and the log process's socket when maillog_file
 * is set (NULL: syslog or stderr only). A socket that cannot be reached
 * leaves syslog as it was.
 */
void	log_configure(const char *syslog_name, const char *socket_path);
void	log_set_ident(const char *ident);
const char *log_ident(void);
/* "<syslog_name>/<ident>" */
const char *log_tag(void);
enum log_dest log_dest(void);
/* The log socket (close-on-exec), or -1: proc_close_except keeps it. */
int	log_fd(void);
void	log_debug_enable(int on);
/*
 * Also sends every error line (log_errx, fatal, fatalx) as one datagram
 * to fd, never blocking: master hands each daemon such a socket (-e) and
 * shows the last line in "postern status". -1: none.
 */
void	log_set_errfd(int fd);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/*
 * An info line under another process name (queued's local submissions
 * are logged as Postfix's "pickup" logs them, which log readers count).
 */
void	log_info_as(const char *ident, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)". */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Only for broken internal invariants or start-up failures: logs and exits 1. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * One delivery outcome, in Postfix's shape:
 *   QID: to=<..>[, orig_to=<..>], relay=R, delay=D, delays=a/b/c/d,
 *   dsn=X.Y.Z, status=S (reason)
 * Times are wall-clock microseconds since the epoch; 0 means the stage
 * never happened (no queue manager, no agent, no connection), as in
 * Postfix's log_adhoc: a is arrival to the queue manager's round, b the
 * round to the agent's hand-off, c the connection set-up, d the rest.
 */
struct log_delivery {
	const char	*qid;
	const char	*to;
	const char	*orig_to;	/* NULL, or the same: not shown */
	const char	*relay;		/* "local", "none", "host[addr]:port" */
	const char	*status;	/* sent, deferred, bounced, expired */
	const char	*text;		/* "X.Y.Z reason", or just a reason */
	int64_t		 arrival_us;
	int64_t		 active_us;
	int64_t		 handoff_us;
	int64_t		 conn_us;
	int64_t		 done_us;
};

int	log_format_delivery(char *, size_t, const struct log_delivery *);
void	log_delivery(const struct log_delivery *);
/* Two significant digits, at most two decimals, whole seconds from 10 s. */
void	log_format_delay(char *, size_t, int64_t us);
/* RFC 3339 local time with microseconds (what pflogsumm reads). */
void	log_format_time(char *, size_t, const struct timespec *);
int64_t	log_now_us(void);

#endif
