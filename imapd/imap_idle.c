/*
 * imap_idle.c - IDLE (RFC 2177): the session waits for the client's
 * DONE and reports changes to the selected folder as they happen.
 *
 * How a change is noticed: inotify on the folder's new/ and cur/ (a
 * delivery, a flag change by another session or by Dovecot, an
 * expunge: each is a file created, renamed or removed) and on the
 * folder itself (its dovecot-uidlist and dovecot-keywords). Every mail
 * process runs as the one mail_user, and the kernel allows a user 128
 * inotify instances by default (fs.inotify.max_user_instances): an
 * IDLE session that cannot have one looks every IMAP_IDLE_POLL seconds
 * instead, which a sync makes cheap (two directory stats when nothing
 * changed). Either way a change shows within 2 seconds.
 *
 * Runs in the mail process, chrooted in the user's directory as
 * mail_user.
 */
#include <sys/inotify.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "deadline.h"
#include "imap_sess.h"
#include "log.h"
#include "login.h"

/* With inotify, a sync anyway this often (a missed event, NFS). */
#define IMAP_IDLE_SAFETY	30

static int
idle_watch(struct imap_sess *s)
{
	static const char *const sub[] = { "", "/new", "/cur" };
	char	path[IMAP_PATH_MAX + 8];
	size_t	i;
	int	fd;

	if (s->sel == NULL)
		return -1;
	if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		if (errno != EMFILE)
			log_warn("user=<%s>: inotify", s->user);
		return -1;
	}
	for (i = 0; i < sizeof(sub) / sizeof(sub[0]); i++) {
		snprintf(path, sizeof(path), "%s%s", s->selpath, sub[i]);
		if (inotify_add_watch(fd, path, IN_CREATE | IN_DELETE |
		    IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE |
		    IN_ONLYDIR) == -1) {
			close(fd);
			return -1;
		}
	}
	return fd;
}

static void
drain(int fd)
{
	char buf[4096];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

void
imap_cmd_idle(struct imap_sess *s)
{
	struct pollfd		 pfd[2];
	char			 line[64];
	size_t			 len;
	enum netio_status	 st;
	int			 ifd, wait_s, rc, timeout, due;
	int64_t			 end;

	if (s->req.nargs != 0) {
		imap_bad(s, "IDLE takes no arguments");
		return;
	}
	if (imap_sess_sync(s) == -1) {
		imap_no(s, "[SERVERBUG] Cannot read the mailbox");
		return;
	}
	netio_printf(&s->io, "+ idling\r\n");
	if (netio_flush(&s->io) == -1)
		imap_sess_exit(s, NULL, "connection error");
	ifd = idle_watch(s);
	wait_s = ifd != -1 ? IMAP_IDLE_SAFETY : IMAP_IDLE_POLL;
	/* The client renews IDLE within imap_timeout (RFC 2177: 29 min). */
	end = (int64_t)deadline_now_ms() + (int64_t)s->env->conf->imap_timeout *
	    1000;
	for (;;) {
		if (netio_buffered(&s->io) == 0) {
			pfd[0].fd = s->io.fd;
			pfd[0].events = POLLIN;
			pfd[1].fd = ifd;
			pfd[1].events = POLLIN;
			timeout = s->sel != NULL ? wait_s * 1000 : 60000;
			/* A change the quick check may not see: looked for. */
			if (s->sel != NULL &&
			    (due = mailindex_quick_due_ms(s->sel)) >= 0 &&
			    due < timeout)
				timeout = due;
			rc = poll(pfd, ifd != -1 ? 2 : 1, timeout);
			if (rc == -1 && errno != EINTR)
				imap_sess_exit(s, NULL, "poll error");
			if (rc == -1)
				continue;
			if ((int64_t)deadline_now_ms() >= end) {
				if (ifd != -1)
					close(ifd);
				imap_sess_exit(s, "Disconnected for "
				    "inactivity.", "idle");
			}
			if (rc <= 0 || !(pfd[0].revents & (POLLIN | POLLHUP |
			    POLLERR))) {
				if (ifd != -1 && rc > 0)
					drain(ifd);
				if (imap_sess_sync(s) == -1) {
					if (ifd != -1)
						close(ifd);
					imap_sess_exit(s, "[SERVERBUG] Cannot "
					    "read the mailbox", "sync error");
				}
				continue;
			}
		}
		st = netio_getline(&s->io, line, sizeof(line), &len, 60);
		if (st == NETIO_OK && strcasecmp(line, "DONE") == 0)
			break;
		if (ifd != -1)
			close(ifd);
		if (st == NETIO_EOF || st == NETIO_ERROR)
			imap_sess_exit(s, NULL, "disconnected");
		if (st == NETIO_TIMEOUT)
			imap_sess_exit(s, "Disconnected for inactivity.",
			    "idle");
		imap_bad(s, "Expected DONE");
		return;
	}
	if (ifd != -1)
		close(ifd);
	imap_ok(s, "Idle completed.");
}
