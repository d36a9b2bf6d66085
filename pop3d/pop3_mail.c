/*
 * pop3_mail.c - the mail process: confinement to one user's directory,
 * then the TRANSACTION and UPDATE states (RFC 1939 5, 6).
 *
 * Started by the root parent (libcommon's login layer) after authd
 * accepted the credentials, with the client and the client's input the
 * login process had read but not processed. login_post_confine builds
 * <mail_store>/<domain>/<user> from the canonical address authd
 * returned, creates the Maildir if missing, chroots there and drops to
 * mail_user for good before it reads a byte from the client. From then
 * on it trusts nothing the client sends and only
 * reads and unlinks inside Maildir/, and writes one file beside it, the
 * last-login record (libcommon/lastlogin) that "postern user show" reads.
 *
 * Deletions happen only at QUIT: a dropped connection or a timeout
 * leaves the maildrop as it was.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "lastlogin.h"
#include "log.h"
#include "maildir.h"
#include "login.h"
#include "pop3d.h"

#define POP3_FILE_BUF	65536

struct pop3_msess {
	const struct login_env	*env;
	struct netio		 io;
	struct pop3_mailbox	 mb;
	const char		*user;
	const char		*ip;
	int			 errors;
	unsigned long		 nretr, ndele;
};

static void __attribute__((__noreturn__))
mail_exit(struct pop3_msess *s, const char *why, size_t deleted)
{
	(void)netio_flush(&s->io);
	log_info("logout: user=<%s>, client=[%s], retr=%lu, dele=%lu, "
	    "deleted=%zu, reason=%s", s->user, s->ip, s->nretr, s->ndele,
	    deleted, why);
	netio_free(&s->io);
	pop3_mailbox_free(&s->mb);
	_exit(0);
}

static void __attribute__((format(printf, 3, 0)))
mail_verr(struct pop3_msess *s, int bad, const char *fmt, va_list ap)
{
	char	text[POP3_LINE_MAX];

	vsnprintf(text, sizeof(text), fmt, ap);
	netio_printf(&s->io, "-ERR %s\r\n", text);
	if (bad && ++s->errors >= POP3_ERRORS_MAX) {
		netio_printf(&s->io, "-ERR too many errors; closing\r\n");
		mail_exit(s, "errors", 0);
	}
}

/*
 * A command we could not make sense of (unknown, malformed, wrong
 * state): these count towards POP3_ERRORS_MAX, as in Dovecot, since a
 * client sending them is confused or probing.
 */
static void __attribute__((format(printf, 2, 3)))
mail_err(struct pop3_msess *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	mail_verr(s, 1, fmt, ap);
	va_end(ap);
}

/*
 * A well-formed request we cannot grant (a deleted or absent message, a
 * file that went away, a temporary failure): an ordinary client asks
 * these, so they never end the session.
 */
static void __attribute__((format(printf, 2, 3)))
mail_no(struct pop3_msess *s, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	mail_verr(s, 0, fmt, ap);
	va_end(ap);
}

static int
msg_arg(struct pop3_msess *s, const char *arg, size_t *i)
{
	uint32_t n;

	if (arg[0] == '\0' || strspn(arg, "0123456789") != strlen(arg)) {
		mail_err(s, "bad arguments: not a message number");
		return -1;
	}
	if (pop3_parse_msgnum(arg, &n) == -1 || n > s->mb.n) {
		mail_no(s, "no such message");
		return -1;
	}
	if (s->mb.m[n - 1].deleted) {
		mail_no(s, "message %u is deleted", n);
		return -1;
	}
	*i = n - 1;
	return 0;
}

static void
mb_counts(const struct pop3_mailbox *mb, size_t *n, uint64_t *size)
{
	size_t i;

	*n = 0;
	*size = 0;
	for (i = 0; i < mb->n; i++)
		if (!mb->m[i].deleted) {
			(*n)++;
			*size += mb->m[i].vsize;
		}
}

static void
cmd_stat(struct pop3_msess *s, const char *arg)
{
	size_t		n;
	uint64_t	size;

	if (arg[0] != '\0') {
		mail_err(s, "bad arguments: usage: STAT");
		return;
	}
	mb_counts(&s->mb, &n, &size);
	netio_printf(&s->io, "+OK %zu %llu\r\n", n,
	    (unsigned long long)size);
}

/* LIST and UIDL share their shape: one message, or all not deleted. */
static void
cmd_list(struct pop3_msess *s, const char *arg, int uidl)
{
	char		 words[POP3_LINE_MAX];
	const char	*v[1];
	size_t		 i, n;
	uint64_t	 size;
	int		 nw;

	if ((nw = pop3_cmd_words(arg, words, sizeof(words), v, 1)) == -1) {
		mail_err(s, "bad arguments: usage: %s [msg]",
		    uidl ? "UIDL" : "LIST");
		return;
	}
	if (nw == 1) {
		if (msg_arg(s, v[0], &i) == -1)
			return;
		if (uidl)
			netio_printf(&s->io, "+OK %zu %s\r\n", i + 1,
			    s->mb.m[i].uidl);
		else
			netio_printf(&s->io, "+OK %zu %llu\r\n", i + 1,
			    (unsigned long long)s->mb.m[i].vsize);
		return;
	}
	mb_counts(&s->mb, &n, &size);
	if (uidl)
		netio_printf(&s->io, "+OK unique-id listing follows\r\n");
	else
		netio_printf(&s->io, "+OK %zu messages (%llu octets)\r\n", n,
		    (unsigned long long)size);
	for (i = 0; i < s->mb.n; i++) {
		if (s->mb.m[i].deleted)
			continue;
		if (uidl)
			netio_printf(&s->io, "%zu %s\r\n", i + 1,
			    s->mb.m[i].uidl);
		else
			netio_printf(&s->io, "%zu %llu\r\n", i + 1,
			    (unsigned long long)s->mb.m[i].vsize);
	}
	netio_printf(&s->io, ".\r\n");
}

/* RETR (top == 0) or TOP (lines + 1 == top). */
static void
send_msg(struct pop3_msess *s, size_t i, int top, uint32_t lines)
{
	struct pop3_stuff	 st;
	unsigned char		*in = NULL, *out = NULL;
	size_t			 len, pos, used, olen;
	ssize_t			 n;
	int			 fd;

	if ((fd = pop3_mailbox_open(&s->mb, i)) == -1) {
		if (errno == ENOENT)
			mail_no(s, "message %zu is no longer in the mailbox",
			    i + 1);
		else {
			log_warn("open message %zu (%s)", i + 1,
			    s->mb.m[i].name);
			mail_no(s, "[SYS/TEMP] cannot read message %zu", i + 1);
		}
		return;
	}
	if ((in = malloc(POP3_FILE_BUF)) == NULL ||
	    (out = malloc(2 * POP3_FILE_BUF + POP3_STUFF_SLACK)) == NULL) {
		free(in);
		close(fd);
		mail_no(s, "[SYS/TEMP] out of memory");
		return;
	}
	if (top)
		pop3_stuff_init_top(&st, lines);
	else
		pop3_stuff_init(&st);
	if (top)
		netio_printf(&s->io, "+OK top of message follows\r\n");
	else
		netio_printf(&s->io, "+OK %llu octets\r\n",
		    (unsigned long long)s->mb.m[i].vsize);
	while (!st.done) {
		n = read(fd, in, POP3_FILE_BUF);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			/* Half a message is out: the response cannot be fixed. */
			log_warn("read message %zu (%s)", i + 1,
			    s->mb.m[i].name);
			free(in);
			free(out);
			close(fd);
			mail_exit(s, "read error", 0);
		}
		if (n == 0)
			break;
		len = (size_t)n;
		for (pos = 0; pos < len && !st.done; pos += used) {
			used = pop3_stuff_feed(&st, in + pos, len - pos, out,
			    &olen);
			if (netio_write(&s->io, out, olen) == -1)
				break;
		}
		if (s->io.broken)
			break;
	}
	olen = pop3_stuff_end(&st, out);
	netio_write(&s->io, out, olen);
	netio_write(&s->io, ".\r\n", 3);
	free(in);
	free(out);
	close(fd);
	if (!top)
		s->nretr++;
}

static void
cmd_retr(struct pop3_msess *s, const char *arg)
{
	char		 words[POP3_LINE_MAX];
	const char	*v[1];
	size_t		 i;

	if (pop3_cmd_words(arg, words, sizeof(words), v, 1) != 1) {
		mail_err(s, "bad arguments: usage: RETR msg");
		return;
	}
	if (msg_arg(s, v[0], &i) == 0)
		send_msg(s, i, 0, 0);
}

static void
cmd_top(struct pop3_msess *s, const char *arg)
{
	char		 words[POP3_LINE_MAX];
	const char	*v[2];
	size_t		 i;
	uint32_t	 lines;

	if (pop3_cmd_words(arg, words, sizeof(words), v, 2) != 2) {
		mail_err(s, "bad arguments: usage: TOP msg lines");
		return;
	}
	if (pop3_parse_count(v[1], &lines) == -1) {
		mail_err(s, "bad arguments: lines must be a number");
		return;
	}
	if (msg_arg(s, v[0], &i) == 0)
		send_msg(s, i, 1, lines);
}

static void
cmd_dele(struct pop3_msess *s, const char *arg)
{
	char		 words[POP3_LINE_MAX];
	const char	*v[1];
	size_t		 i;

	if (pop3_cmd_words(arg, words, sizeof(words), v, 1) != 1) {
		mail_err(s, "bad arguments: usage: DELE msg");
		return;
	}
	if (msg_arg(s, v[0], &i) == -1)
		return;
	s->mb.m[i].deleted = 1;
	s->ndele++;
	netio_printf(&s->io, "+OK message %zu deleted\r\n", i + 1);
}

static void
cmd_rset(struct pop3_msess *s, const char *arg)
{
	size_t		i, n;
	uint64_t	size;

	if (arg[0] != '\0') {
		mail_err(s, "bad arguments: usage: RSET");
		return;
	}
	for (i = 0; i < s->mb.n; i++)
		s->mb.m[i].deleted = 0;
	mb_counts(&s->mb, &n, &size);
	netio_printf(&s->io, "+OK maildrop has %zu messages (%llu "
	    "octets)\r\n", n, (unsigned long long)size);
}

static void __attribute__((__noreturn__))
cmd_quit(struct pop3_msess *s)
{
	size_t	deleted, failed;

	/* The UPDATE state (RFC 1939 6): only a QUIT deletes. */
	deleted = pop3_mailbox_expunge(&s->mb, &failed);
	if (failed > 0)
		netio_printf(&s->io, "-ERR [SYS/TEMP] %zu deleted message(s) "
		    "could not be removed\r\n", failed);
	else
		netio_printf(&s->io, "+OK Postern POP3 signing off (%zu "
		    "messages deleted)\r\n", deleted);
	mail_exit(s, "QUIT", deleted);
}

static void __attribute__((__noreturn__))
mail_loop(struct pop3_msess *s)
{
	char			line[POP3_LINE_MAX];
	size_t			len;
	struct pop3_cmd		c;
	enum netio_status	st;

	for (;;) {
		if (s->io.broken)
			mail_exit(s, "write error", 0);
		st = netio_getline(&s->io, line, POP3_LINE_MAX, &len,
		    s->io.timeout);
		if (st == NETIO_TIMEOUT) {
			netio_printf(&s->io, "-ERR autologout; idle for too "
			    "long\r\n");
			mail_exit(s, "timeout", 0);
		}
		if (st == NETIO_EOF)
			mail_exit(s, "disconnected", 0);
		if (st == NETIO_ERROR)
			mail_exit(s, "connection error", 0);
		if (st == NETIO_TOOLONG) {
			mail_err(s, "line too long");
			continue;
		}
		pop3_cmd_parse(line, len, &c);
		switch (c.verb) {
		case POP3_CMD_STAT:
			cmd_stat(s, c.arg);
			break;
		case POP3_CMD_LIST:
			cmd_list(s, c.arg, 0);
			break;
		case POP3_CMD_UIDL:
			cmd_list(s, c.arg, 1);
			break;
		case POP3_CMD_RETR:
			cmd_retr(s, c.arg);
			break;
		case POP3_CMD_TOP:
			cmd_top(s, c.arg);
			break;
		case POP3_CMD_DELE:
			cmd_dele(s, c.arg);
			break;
		case POP3_CMD_RSET:
			cmd_rset(s, c.arg);
			break;
		case POP3_CMD_NOOP:
			if (c.arg[0] != '\0')
				mail_err(s, "bad arguments: usage: NOOP");
			else
				netio_printf(&s->io, "+OK\r\n");
			break;
		case POP3_CMD_CAPA:
			pop3_capa(&s->io, 0, 0);
			break;
		case POP3_CMD_QUIT:
			cmd_quit(s);
		case POP3_CMD_LAST:
			mail_err(s, "LAST is obsolete (RFC 1939); use UIDL");
			break;
		case POP3_CMD_USER: case POP3_CMD_PASS: case POP3_CMD_APOP:
		case POP3_CMD_AUTH: case POP3_CMD_STLS:
			mail_err(s, "%s not allowed in this state; already "
			    "logged in", c.name);
			break;
		case POP3_CMD_NUL:
			mail_err(s, "NUL byte in command");
			break;
		case POP3_CMD_EMPTY:
		case POP3_CMD_UNKNOWN:
			mail_err(s, "unknown command");
			break;
		}
	}
}

void
pop3_mail_run(const struct login_env *env, int client, const char *user,
    const char *ip, const unsigned char *state, size_t statelen,
    const unsigned char *left, size_t leftlen)
{
	static struct pop3_msess s;
	size_t			 n;
	uint64_t		 size;
	int			 r;

	/*
	 * Static, so zero already: no memset, which would dirty every page
	 * of the session's buffers (netio's 16 KiB input) in every idle
	 * session; a page the session never touches is never allocated.
	 */
	s.env = env;
	s.user = user;
	s.ip = ip;
	s.mb.lockfd = -1;
	/* POP3's login process passes no state: the PASS/AUTH is all. */
	(void)state;
	(void)statelen;
	netio_init(&s.io, client, env->conf->pop3_timeout);
	/* From here on: the user's directory only, as mail_user, for good. */
	if (login_post_confine(env, user) == -1) {
		netio_printf(&s.io, "-ERR [SYS/TEMP] mailbox unavailable; "
		    "try later\r\n");
		mail_exit(&s, "no mailbox", 0);
	}
	if (netio_preload(&s.io, left, leftlen) == -1)
		mail_exit(&s, "internal error", 0);

	if ((r = pop3_mailbox_lock(&s.mb)) == 1) {
		log_info("login refused: user=<%s>, client=[%s]: mailbox in "
		    "use", user, ip);
		netio_printf(&s.io, "-ERR [IN-USE] mailbox locked by another "
		    "POP3 session\r\n");
		mail_exit(&s, "in use", 0);
	}
	if (r == -1 || pop3_mailbox_load(&s.mb) == -1) {
		netio_printf(&s.io, "-ERR [SYS/TEMP] mailbox unavailable; "
		    "try later\r\n");
		mail_exit(&s, "mailbox error", 0);
	}
	/* For "postern user show"; a failure costs only the record. */
	if (lastlogin_write("pop3", ip, (int64_t)time(NULL)) == -1)
		log_warn("login: user=<%s>: record the last login", user);
	mb_counts(&s.mb, &n, &size);
	log_info("login: user=<%s>, client=[%s], messages=%zu, size=%llu",
	    user, ip, n, (unsigned long long)size);
	netio_printf(&s.io, "+OK maildrop locked and ready: %zu messages "
	    "(%llu octets)\r\n", n, (unsigned long long)size);
	mail_loop(&s);
}
