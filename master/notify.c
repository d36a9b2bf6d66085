/*
 * notify.c - tells systemd that master is ready or stopping (a unit of
 * Type=notify), by hand: one datagram of "READY=1" or "STOPPING=1" to the
 * socket named in NOTIFY_SOCKET, as sd_notify(3) does, without linking
 * libsystemd for two lines of protocol.
 *
 * Runs in master (root). NOTIFY_SOCKET comes from the service manager
 * that started us; it is read before the environment is reset, so that
 * no daemon inherits it (a daemon that could speak for master could
 * claim readiness). Without it every call is a no-op. A failure to send
 * is logged and otherwise ignored: systemd then times the start out,
 * which says more than a master that refused to run.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "master.h"

static struct sockaddr_un	notify_sa;
static socklen_t		notify_salen;

void
master_notify_init(void)
{
	const char	*p = getenv("NOTIFY_SOCKET");
	size_t		 len;

	if (p == NULL || (p[0] != '/' && p[0] != '@') ||
	    (len = strlen(p)) >= sizeof(notify_sa.sun_path))
		return;
	memset(&notify_sa, 0, sizeof(notify_sa));
	notify_sa.sun_family = AF_UNIX;
	memcpy(notify_sa.sun_path, p, len);
	/* "@name": Linux's abstract namespace, a leading NUL. */
	if (p[0] == '@')
		notify_sa.sun_path[0] = '\0';
	notify_salen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
	    len);
}

void
master_notify(const char *state)
{
	int fd;

	if (notify_salen == 0)
		return;
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1) {
		log_warn("notify the service manager");
		return;
	}
	if (sendto(fd, state, strlen(state), MSG_NOSIGNAL,
	    (struct sockaddr *)&notify_sa, notify_salen) == -1)
		log_warn("notify the service manager (NOTIFY_SOCKET)");
	close(fd);
}
