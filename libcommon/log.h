/*
 * log.h - one line per event, to syslog or (foreground) to stderr.
 */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stdnoreturn.h>

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
void	log_set_ident(const char *ident);
const char *log_ident(void);
enum log_dest log_dest(void);
void	log_debug_enable(int on);
/*
 * Also sends every error line (log_errx, fatal, fatalx) as one datagram
 * to fd, never blocking: master hands each daemon such a socket (-e) and
 * shows the last line in "postern status". -1: none.
 */
void	log_set_errfd(int fd);

void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warn appends ": strerror(errno)". */
void	log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Only for broken internal invariants or start-up failures: logs and exits 1. */
noreturn void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
