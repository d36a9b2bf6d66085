/*
 * log.c - logging for every Postern process.
 *
 * Runs in every process, whatever its privilege. Each event is formatted
 * into one buffer and emitted with a single write(2) (stderr) or syslog(3)
 * call, so concurrent processes never interleave halves of lines. Control
 * characters in messages are escaped: log lines often carry text that a
 * remote peer chose.
 */
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"

/* Room for glibc's "<pri>timestamp ident[pid]: " in its 1 KiB buffer. */
#define LOG_SYSLOG_MAX	900

static char log_ident_buf[32] = "postern";
static enum log_dest log_destination = LOG_DEST_STDERR;
static int log_debug_on;
static int log_err_fd = -1;
/* getpid(2) is a system call each time: remembered, and forgotten in a child. */
static pid_t log_pid;

static void
log_forget_pid(void)
{
	log_pid = 0;
}

static pid_t
log_getpid(void)
{
	static int registered;

	if (log_pid == 0) {
		/* Registered before the first value can be inherited. */
		if (!registered &&
		    pthread_atfork(NULL, NULL, log_forget_pid) == 0)
			registered = 1;
		if (!registered)
			return getpid();
		log_pid = getpid();
	}
	return log_pid;
}

void
log_init(const char *ident, enum log_dest dest)
{
	log_set_ident(ident);
	log_destination = dest;
	if (dest == LOG_DEST_SYSLOG)
		openlog(log_ident_buf, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_set_ident(const char *ident)
{
	strlcpy(log_ident_buf, ident, sizeof(log_ident_buf));
}

const char *
log_ident(void)
{
	return log_ident_buf;
}

enum log_dest
log_dest(void)
{
	return log_destination;
}

void
log_set_errfd(int fd)
{
	log_err_fd = fd;
}

void
log_debug_enable(int on)
{
	log_debug_on = on;
}

static void
log_emit(int prio, const char *fmt, va_list ap, int with_errno)
{
	char	 raw[2048], line[2200];
	size_t	 i, o;
	int	 saved = errno;
	int	 n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if (with_errno) {
		size_t len = strlen(raw);
		snprintf(raw + len, sizeof(raw) - len, ": %s", strerror(saved));
	}

	o = 0;
	for (i = 0; raw[i] != '\0' && o < sizeof(line) - 5; i++) {
		unsigned char c = (unsigned char)raw[i];
		if (c < 0x20 || c == 0x7f) {
			o += snprintf(line + o, sizeof(line) - o, "\\x%02x", c);
		} else
			line[o++] = (char)c;
	}
	line[o] = '\0';

	/* A master that is slow or gone must not hold a daemon up. */
	if (log_err_fd != -1 && prio <= LOG_ERR)
		(void)send(log_err_fd, line, o, MSG_DONTWAIT | MSG_NOSIGNAL);

	if (log_destination == LOG_DEST_SYSLOG) {
		/*
		 * glibc formats a syslog line in a 1 KiB stack buffer and
		 * mallocs (and frees unwiped) a longer one: a reused session
		 * process must leave no client's text in freed memory, so
		 * lines stay under that, cut short where they would not.
		 */
		if (o > LOG_SYSLOG_MAX)
			memcpy(line + LOG_SYSLOG_MAX - 3, "...", 4);
		syslog(prio, "%s", line);
	} else {
		char	 out[2300];
		const char *lvl = "";
		int	 len;

		if (prio == LOG_WARNING)
			lvl = "warning: ";
		else if (prio <= LOG_ERR)
			lvl = "error: ";
		if (log_destination == LOG_DEST_TERMINAL)
			len = snprintf(out, sizeof(out), "%s: %s%s\n",
			    log_ident_buf, lvl, line);
		else
			len = snprintf(out, sizeof(out),
			    "postern/%s[%ld]: %s%s\n", log_ident_buf,
			    (long)log_getpid(), lvl, line);
		if (len > (int)sizeof(out) - 1)
			len = sizeof(out) - 1;
		(void)!write(STDERR_FILENO, out, (size_t)len);
	}
	errno = saved;
}

#define LOG_FN(name, prio, err)				\
	void						\
	name(const char *fmt, ...)			\
	{						\
		va_list ap;				\
		va_start(ap, fmt);			\
		log_emit(prio, fmt, ap, err);		\
		va_end(ap);				\
	}

LOG_FN(log_info, LOG_INFO, 0)
LOG_FN(log_warnx, LOG_WARNING, 0)
LOG_FN(log_warn, LOG_WARNING, 1)
LOG_FN(log_errx, LOG_ERR, 0)

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_debug_on)
		return;
	va_start(ap, fmt);
	log_emit(LOG_DEBUG, fmt, ap, 0);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, 1);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit(LOG_CRIT, fmt, ap, 0);
	va_end(ap);
	exit(1);
}
