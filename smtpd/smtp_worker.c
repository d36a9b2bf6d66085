/*
 * smtp_worker.c - the life of an smtpd session process: one connection,
 * then, while smtpd_max_use allows, further connections that the
 * listener hands over, one at a time, each from the same client address
 * as the one before (the listener guarantees that, not this process).
 *
 * Runs unprivileged and chrooted, in the process forked for a client.
 * Why reuse at all: a fork and an exit per connection cost about 0.25 ms
 * of CPU per message on the benchmark machine, twice what the rest of
 * the session costs. Why only for the same address: a bug that reads
 * stale memory could otherwise show one client another client's mail.
 * And before a process waits for its next connection, nothing of the
 * last one is left in it: buffers wipe what they free, the session
 * clears its state, and the stack the session used is wiped here.
 *
 * The protocol on ctl (a SOCK_SEQPACKET pair with the listener): we send
 * one byte, SMTP_WORKER_IDLE, after each session; the listener answers
 * with a connection (its descriptor, and the peer address as payload), or
 * closes ctl, which ends this process. We never leave while idle on our
 * own: the listener might be handing us a client at that very moment.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "smtpd.h"
#include "sock.h"

/*
 * Deeper than any session goes: its state (~18 KiB), DATA's output
 * buffer (16 KiB), an IPC read (64 KiB), a log line (~7 KiB) and frames.
 * A test reads a reused process's memory for the last client's bytes.
 */
#define SMTP_WORKER_STACK_WIPE	(160 * 1024)

static void __attribute__((noinline))
wipe_stack(void)
{
	unsigned char pad[SMTP_WORKER_STACK_WIPE];

	explicit_bzero(pad, sizeof(pad));
}

/* The next connection from the listener: 0, or -1 when we should exit. */
static int
next_connection(int ctl, int *fd, struct sockaddr_storage *ss,
    socklen_t *sslen)
{
	ssize_t	n;
	char	idle = SMTP_WORKER_IDLE;

	if (send(ctl, &idle, 1, MSG_NOSIGNAL) != 1)
		return -1;
	do
		n = sock_recv_fd(ctl, ss, sizeof(*ss), fd, 0);
	while (n == -1 && errno == EINTR);
	if (n > 0 && *fd != -1) {
		*sslen = (socklen_t)n;
		return 0;
	}
	if (n != 0)
		log_warnx("bad hand-over from the listener");
	if (*fd != -1)
		close(*fd);
	return -1;	/* closed: the listener retired us */
}

void
smtp_worker_run(const struct smtp_env *env, int fd,
    const struct sockaddr *peer, socklen_t peerlen, int ctl,
    enum smtp_listener kind, int authfd)
{
	struct smtp_backends	 be;
	struct sockaddr_storage	 ss;
	socklen_t		 sslen;
	long			 served = 0;
	int			 again;

	smtp_backends_init(&be, authfd);
	if (peerlen > sizeof(ss))
		peerlen = sizeof(ss);
	memcpy(&ss, peer, peerlen);
	sslen = peerlen;
	for (;;) {
		again = smtp_session_run(env, &be, fd, (struct sockaddr *)&ss,
		    sslen, kind);
		/* The listener hands over plain port-25 connections only. */
		kind = SMTP_LISTEN_MX;
		served++;
		if (!again || ctl == -1 || served >= env->conf->smtpd_max_use)
			break;
		/*
		 * Only before another client: wiping a stack that dies with
		 * the process costs ~40 page faults and nothing is gained.
		 */
		wipe_stack();
		explicit_bzero(&ss, sizeof(ss));
		if (next_connection(ctl, &fd, &ss, &sslen) == -1)
			break;
	}
	smtp_backends_close(&be);
	_exit(0);
}
