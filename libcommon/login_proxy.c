/*
 * login_proxy.c - the relay a TLS session's login process becomes after
 * the login: it stays the TLS end (the keys and record state cannot move
 * to another process; doc/DESIGN.md, "The login layer", says why not
 * kernel TLS) and moves plaintext between the client's transport (netio:
 * TLS, or the plain socket) and the socketpair whose other end is the
 * post-login process's client.
 *
 * Runs in the login process: login_user, chrooted in the empty
 * directory, holding the client, the relay's end and nothing else (its
 * socket to the parent is closed first). It parses nothing: bytes go
 * through unchanged, so it trusts neither side and needs to. Both
 * directions are buffered (netio's input and output buffers) and the
 * relay's end is non-blocking, so a client that pipelines while the
 * post-login process writes a long response cannot wedge the two
 * processes against each other: the client is read only while there is
 * room, and the post-login process is read whenever the client takes
 * what we write.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "login.h"
#include "netio.h"

/*
 * The post-login process ends an idle session itself (with its goodbye
 * line); the relay waits this much longer, so it never cuts that line.
 */
#define LOGIN_PROXY_GRACE	60

int
login_proxy_relay(struct netio *io, int inner, time_t timeout)
{
	static unsigned char	 buf[NETIO_INBUF];
	struct pollfd		 pfd[2];
	enum netio_status	 st;
	size_t			 held;
	ssize_t			 n;
	int			 fl, r, decoded, client_eof = 0, shut = 0;
	int			 wait_ms = (int)(timeout + LOGIN_PROXY_GRACE) *
				    1000;

	if ((fl = fcntl(inner, F_GETFL)) == -1 ||
	    fcntl(inner, F_SETFL, fl | O_NONBLOCK) == -1)
		return -1;
	/* What netio holds went with the login already: not twice. */
	io->inpos = io->inlen;
	for (;;) {
		held = netio_buffered(io);
		if (client_eof && held == 0 && !shut) {
			/* The post-login process reads what came, then EOF. */
			(void)shutdown(inner, SHUT_WR);
			shut = 1;
		}
		/* Bytes the transport already decoded are never waited for. */
		decoded = !client_eof && held < sizeof(io->in) &&
		    io->pending != NULL && io->pending(io) > 0;
		/* Not at all (a hang-up would wake us for ever) when it
		 * ended or there is no room. */
		pfd[0].fd = !client_eof && held < sizeof(io->in) ? io->fd : -1;
		pfd[0].events = POLLIN;
		pfd[0].revents = 0;
		pfd[1].fd = inner;
		pfd[1].events = POLLIN | (held > 0 ? POLLOUT : 0);
		r = poll(pfd, 2, decoded ? 0 : wait_ms);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			return -1;
		if (r == 0 && !decoded)
			return 0;	/* idle past the post-login's own limit */

		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			n = read(inner, buf, sizeof(buf));
			if (n == 0)
				return netio_flush(io);	/* session over */
			if (n > 0 && (netio_write(io, buf, (size_t)n) == -1 ||
			    netio_flush(io) == -1))
				return -1;	/* the client is gone */
			if (n == -1 && errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (held > 0 && (pfd[1].revents & POLLOUT)) {
			n = write(inner, netio_pending(io), held);
			if (n > 0)
				io->inpos += (size_t)n;
			else if (n == -1 && errno != EAGAIN && errno != EINTR)
				return -1;
		}
		if (decoded || (pfd[0].fd != -1 &&
		    (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)))) {
			/* Output is flushed: netio_fill reads at once. */
			st = netio_fill(io, 0);
			if (st == NETIO_EOF)
				client_eof = 1;
			else if (st == NETIO_ERROR)
				return -1;
		}
	}
}
