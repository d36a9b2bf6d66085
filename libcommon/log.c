/*
 * log.c - logging for every Postern process.
 *
 * Runs in every process, whatever its privilege, and in the commands
 * (sendmail, postern). Each event is formatted into one buffer and emitted
 * with a single call (write(2) to stderr, send(2) to the log process,
 * syslog(3)), so concurrent processes never interleave halves of lines.
 * Control characters in messages are escaped: log lines often carry text
 * that a remote peer chose.
 *
 * Lines are tagged "<syslog_name>/<process>[pid]" (Postfix's
 * "postfix/smtpd[pid]"), so log readers (pflogsumm, fail2ban, grep) tell
 * the suite's processes apart from another MTA's. With maillog_file set,
 * each line goes as one record (SOCK_SEQPACKET: kept whole, and buffered
 * by the socket's send buffer, not by a datagram queue of ten) to the log
 * process over a connection made before any chroot. Sending never
 * blocks: a line that does not fit (the log process is slow or down) is
 * counted and the count logged with the next line that does, so a slow
 * disk costs lines, never a stalled or dead daemon. A connection the log
 * process closed (it restarted) is made again, at most once a second,
 * where the path is still reachable (not from inside a chroot). In the
 * foreground (-f) lines also go to stderr, with the timestamp and host a
 * log file has.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <unistd.h>

#include "log.h"
#include "sock.h"

/* Room for glibc's "<pri>timestamp ident[pid]: " in its 1 KiB buffer. */
#define LOG_SYSLOG_MAX	900

static char log_ident_buf[32] = "postern";
static char log_name_buf[32] = "postern";
static char log_tag_buf[LOG_TAG_MAX] = "postern/postern";
static enum log_dest log_destination = LOG_DEST_STDERR;
static int log_debug_on;
static int log_err_fd = -1;
static int log_sock = -1;
static char log_sock_path[4096];
static time_t log_sock_retry;
static atomic_uint log_dropped;
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

static void
log_make_tag(char *out, size_t outsz, const char *ident)
{
	snprintf(out, outsz, "%s/%s", log_name_buf, ident);
}

void
log_init(const char *ident, enum log_dest dest)
{
	log_set_ident(ident);
	log_destination = dest;
	/* openlog keeps the pointer: a later log_configure renames in place. */
	if (dest == LOG_DEST_SYSLOG)
		openlog(log_tag_buf, LOG_PID | LOG_NDELAY, LOG_MAIL);
}

void
log_configure(const char *syslog_name, const char *socket_path)
{
	int fd;

	if (syslog_name != NULL && syslog_name[0] != '\0')
		strlcpy(log_name_buf, syslog_name, sizeof(log_name_buf));
	log_make_tag(log_tag_buf, sizeof(log_tag_buf), log_ident_buf);
	if (log_sock != -1) {
		close(log_sock);
		log_sock = -1;
	}
	log_sock_path[0] = '\0';
	if (socket_path == NULL)
		return;
	strlcpy(log_sock_path, socket_path, sizeof(log_sock_path));
	if ((fd = sock_unix_seqpacket_connect(socket_path)) == -1) {
		log_warn("maillog_file: cannot reach the log process at %s; "
		    "logging to %s", socket_path,
		    log_destination == LOG_DEST_SYSLOG ? "syslog" : "stderr");
		return;
	}
	log_sock = fd;
}

void
log_set_ident(const char *ident)
{
	strlcpy(log_ident_buf, ident, sizeof(log_ident_buf));
	log_make_tag(log_tag_buf, sizeof(log_tag_buf), log_ident_buf);
}

const char *
log_ident(void)
{
	return log_ident_buf;
}

const char *
log_tag(void)
{
	return log_tag_buf;
}

enum log_dest
log_dest(void)
{
	return log_destination;
}

int
log_fd(void)
{
	return log_sock;
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

int64_t
log_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
log_format_time(char *out, size_t outsz, const struct timespec *ts)
{
	struct tm	tm;
	char		date[32];
	long		off;

	if (localtime_r(&ts->tv_sec, &tm) == NULL ||
	    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
		snprintf(out, outsz, "%lld", (long long)ts->tv_sec);
		return;
	}
	off = tm.tm_gmtoff / 60;
	snprintf(out, outsz, "%s.%06ld%c%02ld:%02ld", date,
	    (long)(ts->tv_nsec / 1000), off < 0 ? '-' : '+',
	    labs(off) / 60, labs(off) % 60);
}

/* The host as syslog names it: the first label of the kernel's name. */
static const char *
log_host(void)
{
	static char host[256];

	if (host[0] == '\0') {
		if (gethostname(host, sizeof(host)) == -1)
			strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		host[strcspn(host, ".")] = '\0';
		if (host[0] == '\0')
			strlcpy(host, "localhost", sizeof(host));
	}
	return host;
}

static const char *
log_level_word(int prio)
{
	if (prio == LOG_WARNING)
		return "warning: ";
	if (prio <= LOG_CRIT)
		return "fatal: ";
	if (prio <= LOG_ERR)
		return "error: ";
	return "";
}

/* The log process went away (restarted): connect again, once a second. */
static void
log_reconnect(void)
{
	time_t	now = time(NULL);
	int	fd;

	if (log_sock_path[0] == '\0' || now == log_sock_retry)
		return;
	log_sock_retry = now;
	if ((fd = sock_unix_seqpacket_connect(log_sock_path)) == -1)
		return;
	/* The same number: a forked child shares nothing it must track. */
	if (dup3(fd, log_sock, O_CLOEXEC) == -1) {
		close(fd);
		return;
	}
	close(fd);
}

/* One record; 0 if the log process's socket took it. Never blocks. */
static int
log_send(int prio, const char *tag, const char *lvl, const char *line)
{
	char	 rec[LOG_RECORD_MAX];
	int	 len, tries;

	len = snprintf(rec, sizeof(rec), "<%d>%s: %s%s", prio, tag, lvl, line);
	if (len < 0)
		return -1;
	if (len > (int)sizeof(rec) - 1)
		len = sizeof(rec) - 1;
	for (tries = 0; tries < 2; tries++) {
		if (send(log_sock, rec, (size_t)len, MSG_DONTWAIT |
		    MSG_NOSIGNAL) == len)
			return 0;
		if (errno != EPIPE && errno != ECONNRESET && errno != ENOTCONN)
			return -1;
		log_reconnect();
	}
	return -1;
}

static void
log_emit_as(const char *ident, int prio, const char *fmt, va_list ap,
    int with_errno)
{
	char		 raw[2048], line[2200], tagbuf[LOG_TAG_MAX];
	const char	*lvl = log_level_word(prio), *tag = log_tag_buf;
	size_t		 i, o;
	int		 saved = errno;
	int		 n;

	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	if (n < 0)
		return;
	if (with_errno) {
		size_t len = strlen(raw);
		snprintf(raw + len, sizeof(raw) - len, ": %s", strerror(saved));
	}
	if (ident != NULL) {
		log_make_tag(tagbuf, sizeof(tagbuf), ident);
		tag = tagbuf;
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

	if (log_sock != -1) {
		unsigned lost = atomic_exchange(&log_dropped, 0);
		char	 note[128];

		if (lost > 0) {
			snprintf(note, sizeof(note), "%u log lines lost: the "
			    "log process was busy or down", lost);
			/* Still no room: the count waits for the next line. */
			if (log_send(LOG_WARNING, log_tag_buf, "warning: ",
			    note) == 0)
				lost = 0;
		}
		if (log_send(prio, tag, lvl, line) == -1)
			lost++;
		if (lost > 0)
			atomic_fetch_add(&log_dropped, lost);
	} else if (log_destination == LOG_DEST_SYSLOG) {
		/*
		 * glibc formats a syslog line in a 1 KiB stack buffer and
		 * mallocs (and frees unwiped) a longer one: a reused session
		 * process must leave no client's text in freed memory, so
		 * lines stay under that, cut short where they would not.
		 */
		if (o > LOG_SYSLOG_MAX)
			memcpy(line + LOG_SYSLOG_MAX - 3, "...", 4);
		if (tag != log_tag_buf)
			openlog(tag, LOG_PID | LOG_NDELAY, LOG_MAIL);
		syslog(prio, "%s%s", lvl, line);
		if (tag != log_tag_buf)
			openlog(log_tag_buf, LOG_PID | LOG_NDELAY, LOG_MAIL);
	}
	if (log_destination == LOG_DEST_STDERR) {
		char		 out[2400], ts[LOG_TIME_MAX];
		struct timespec	 now;
		int		 len;

		clock_gettime(CLOCK_REALTIME, &now);
		log_format_time(ts, sizeof(ts), &now);
		len = snprintf(out, sizeof(out), "%s %s %s[%ld]: %s%s\n", ts,
		    log_host(), tag, (long)log_getpid(), lvl, line);
		if (len > (int)sizeof(out) - 1) {
			len = sizeof(out) - 1;
			out[len - 1] = '\n';
		}
		(void)!write(STDERR_FILENO, out, (size_t)len);
	}
	if (log_destination == LOG_DEST_TERMINAL) {
		char	out[2400];
		int	len;

		/* A command's own words: no tag, pid or time stamp. */
		len = snprintf(out, sizeof(out), "%s: %s%s\n", log_ident_buf,
		    lvl, line);
		if (len > (int)sizeof(out) - 1) {
			len = sizeof(out) - 1;
			out[len - 1] = '\n';
		}
		(void)!write(STDERR_FILENO, out, (size_t)len);
	}
	errno = saved;
}

static void
log_emit(int prio, const char *fmt, va_list ap, int with_errno)
{
	log_emit_as(NULL, prio, fmt, ap, with_errno);
}

void
log_info_as(const char *ident, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_emit_as(ident, LOG_INFO, fmt, ap, 0);
	va_end(ap);
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

void
log_format_delay(char *out, size_t outsz, int64_t us)
{
	long long v;

	if (us < 0)
		us = 0;
	if (us >= 9950000) {
		snprintf(out, outsz, "%lld", (long long)((us + 500000) / 1000000));
	} else if (us >= 995000) {
		v = (us + 50000) / 100000;
		if (v % 10 == 0)
			snprintf(out, outsz, "%lld", v / 10);
		else
			snprintf(out, outsz, "%lld.%lld", v / 10, v % 10);
	} else {
		v = (us + 5000) / 10000;
		if (v == 0)
			snprintf(out, outsz, "0");
		else if (v % 10 == 0)
			snprintf(out, outsz, "0.%lld", v / 10);
		else
			snprintf(out, outsz, "0.%02lld", v);
	}
}

/* "X.Y.Z rest": the enhanced status code (RFC 3463) at the start, if any. */
static size_t
log_dsn_len(const char *t)
{
	size_t i = 0, part, digits;

	if (t[0] != '2' && t[0] != '4' && t[0] != '5')
		return 0;
	i = 1;
	for (part = 0; part < 2; part++) {
		if (t[i++] != '.')
			return 0;
		for (digits = 0; t[i] >= '0' && t[i] <= '9' && digits < 3;
		    digits++)
			i++;
		if (digits == 0)
			return 0;
	}
	return t[i] == ' ' || t[i] == '\0' ? i : 0;
}

int
log_format_delivery(char *out, size_t outsz, const struct log_delivery *d)
{
	char		 orig[600], delay[16], a[16], b[16], c[16], x[16];
	char		 dsn[16];
	const char	*reason = d->text != NULL ? d->text : "";
	int64_t		 now = d->done_us, pa, pb = 0, pc = 0, pd = 0;
	size_t		 dl;
	int		 n;

	orig[0] = '\0';
	if (d->orig_to != NULL && d->orig_to[0] != '\0' &&
	    strcasecmp(d->orig_to, d->to) != 0)
		snprintf(orig, sizeof(orig), ", orig_to=<%s>", d->orig_to);
	/* The stages that happened, each up to the next one that did. */
	if (d->active_us > 0) {
		pa = d->active_us - d->arrival_us;
		if (d->handoff_us > 0) {
			pb = d->handoff_us - d->active_us;
			if (d->conn_us > 0) {
				pc = d->conn_us - d->handoff_us;
				pd = now - d->conn_us;
			} else
				pd = now - d->handoff_us;
		} else
			pb = now - d->active_us;
	} else
		pa = now - d->arrival_us;
	log_format_delay(delay, sizeof(delay), now - d->arrival_us);
	log_format_delay(a, sizeof(a), pa);
	log_format_delay(b, sizeof(b), pb);
	log_format_delay(c, sizeof(c), pc);
	log_format_delay(x, sizeof(x), pd);
	if ((dl = log_dsn_len(reason)) > 0) {
		snprintf(dsn, sizeof(dsn), "%.*s", (int)dl, reason);
		reason += dl;
		while (*reason == ' ')
			reason++;
	} else
		snprintf(dsn, sizeof(dsn), "%s",
		    strcmp(d->status, "sent") == 0 ? "2.0.0" :
		    strcmp(d->status, "deferred") == 0 ? "4.0.0" : "5.0.0");
	n = snprintf(out, outsz, "%s: to=<%s>%s, relay=%s, delay=%s, "
	    "delays=%s/%s/%s/%s, dsn=%s, status=%s (%s)", d->qid, d->to, orig,
	    d->relay, delay, a, b, c, x, dsn, d->status, reason);
	return n < 0 || (size_t)n >= outsz ? -1 : 0;
}

void
log_delivery(const struct log_delivery *d)
{
	char line[2048];

	(void)log_format_delivery(line, sizeof(line), d);
	log_info("%s", line);
}
