/*
 * sock.c - socket set-up shared by master (which alone binds listeners)
 * and the daemons (which connect to each other over Unix sockets).
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sock.h"

int
sock_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}

int
sock_set_cloexec(int fd, int on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	return fcntl(fd, F_SETFD, fl);
}

static int
unix_addr(struct sockaddr_un *sun, const char *path)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (strlcpy(sun->sun_path, path, sizeof(sun->sun_path)) >=
	    sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Binds path and listens on it (a stream or seqpacket socket). */
static int
unix_bind(const char *path, int type, mode_t mode, int backlog)
{
	struct sockaddr_un	sun;
	int			fd, saved;
	mode_t			old;

	if (unix_addr(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	(void)unlink(path);
	old = umask(0777 & ~mode);
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		umask(old);
		close(fd);
		errno = saved;
		return -1;
	}
	umask(old);
	if (chmod(path, mode) == -1 || listen(fd, backlog) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_unix_listen(const char *path, mode_t mode, int backlog)
{
	return unix_bind(path, SOCK_STREAM, mode, backlog);
}

static int
unix_connect(const char *path, int type)
{
	struct sockaddr_un	sun;
	int			fd, saved;

	if (unix_addr(&sun, path) == -1)
		return -1;
	if ((fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

int
sock_unix_connect(const char *path)
{
	return unix_connect(path, SOCK_STREAM);
}

int
sock_unix_seqpacket_connect(const char *path)
{
	return unix_connect(path, SOCK_SEQPACKET | SOCK_NONBLOCK);
}

/* Runs bind or connect for dir/name from inside dir. */
static int
unix_in(const char *dir, const char *name, int listening, mode_t mode,
    int backlog)
{
	int here, fd, saved;

	if ((here = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if (chdir(dir) == -1) {
		saved = errno;
		close(here);
		errno = saved;
		return -1;
	}
	if (listening == 2)
		fd = unix_bind(name, SOCK_SEQPACKET, mode, backlog);
	else if (listening == 3)
		fd = unix_connect(name, SOCK_STREAM | SOCK_NONBLOCK);
	else
		fd = listening ? sock_unix_listen(name, mode, backlog) :
		    sock_unix_connect(name);
	saved = errno;
	if (fchdir(here) == -1) {
		saved = errno;
		if (fd != -1)
			close(fd);
		fd = -1;
	}
	close(here);
	errno = saved;
	return fd;
}

int
sock_unix_listen_in(const char *dir, const char *name, mode_t mode,
    int backlog)
{
	return unix_in(dir, name, 1, mode, backlog);
}

int
sock_unix_connect_in(const char *dir, const char *name)
{
	return unix_in(dir, name, 0, 0, 0);
}

int
sock_unix_connect_nb_in(const char *dir, const char *name)
{
	return unix_in(dir, name, 3, 0, 0);
}

int
sock_unix_seqpacket_listen_in(const char *dir, const char *name, mode_t mode,
    int backlog)
{
	return unix_in(dir, name, 2, mode, backlog);
}

int
sock_split_hostport(const char *spec, char *host, size_t hostsz, char *port,
    size_t portsz)
{
	const char *colon;

	if (spec[0] == '[') {
		const char *rb = strchr(spec, ']');
		if (rb == NULL || rb[1] != ':')
			return -1;
		if ((size_t)(rb - spec - 1) >= hostsz)
			return -1;
		memcpy(host, spec + 1, (size_t)(rb - spec - 1));
		host[rb - spec - 1] = '\0';
		colon = rb + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return -1;
		if ((size_t)(colon - spec) >= hostsz)
			return -1;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		if (strcmp(host, "*") == 0)
			host[0] = '\0';
	}
	if (colon[1] == '\0' || strlcpy(port, colon + 1, portsz) >= portsz)
		return -1;
	return 0;
}

int
sock_tcp_listen(const char *spec, int backlog, char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 host[256], port[32];
	int		 fd, on = 1, rc;

	if (sock_split_hostport(spec, host, sizeof(host), port,
	    sizeof(port)) == -1) {
		snprintf(err, errlen, "%s: expected host:port or [v6]:port",
		    spec);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	/* Listener addresses are literals: no DNS at start-up. */
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", spec, gai_strerror(rc));
		return -1;
	}
	fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	    res->ai_protocol);
	if (fd == -1) {
		snprintf(err, errlen, "%s: socket: %s", spec, strerror(errno));
		freeaddrinfo(res);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
	if (res->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &on, sizeof(on));
	if (bind(fd, res->ai_addr, res->ai_addrlen) == -1 ||
	    listen(fd, backlog) == -1) {
		snprintf(err, errlen, "%s: %s", spec, strerror(errno));
		close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	return fd;
}

void
sock_ntop(const struct sockaddr *sa, char *host, size_t hostsz, int *port)
{
	const void *a = NULL;

	*port = 0;
	if (sa->sa_family == AF_INET) {
		a = &((const struct sockaddr_in *)sa)->sin_addr;
		*port = ntohs(((const struct sockaddr_in *)sa)->sin_port);
	} else if (sa->sa_family == AF_INET6) {
		a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		*port = ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	}
	if (a == NULL || inet_ntop(sa->sa_family, a, host, (socklen_t)hostsz) == NULL)
		strlcpy(host, "unknown", hostsz);
}

/* One data buffer and room for SOCK_FDS_MAX descriptors. */
union sock_fd_cmsg {
	struct cmsghdr	hdr;
	char		buf[CMSG_SPACE(SOCK_FDS_MAX * sizeof(int))];
};

static void
sock_msg_init(struct msghdr *mh, struct iovec *iov, const void *p,
    size_t len, union sock_fd_cmsg *cm)
{
	memset(mh, 0, sizeof(*mh));
	memset(cm, 0, sizeof(*cm));
	iov->iov_base = (void *)p;
	iov->iov_len = len;
	mh->msg_iov = iov;
	mh->msg_iovlen = 1;
	mh->msg_control = cm->buf;
	mh->msg_controllen = sizeof(cm->buf);
}

ssize_t
sock_send_fds(int sock, const void *p, size_t len, const int *fds,
    size_t nfds, int flags)
{
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	union sock_fd_cmsg	 cm;

	if (nfds > SOCK_FDS_MAX) {
		errno = EINVAL;
		return -1;
	}
	sock_msg_init(&mh, &iov, p, len, &cm);
	if (nfds == 0) {
		mh.msg_control = NULL;
		mh.msg_controllen = 0;
	} else {
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	return sendmsg(sock, &mh, flags);
}

ssize_t
sock_send_fd(int sock, const void *p, size_t len, int fd, int flags)
{
	return sock_send_fds(sock, p, len, &fd, fd == -1 ? 0 : 1, flags);
}

ssize_t
sock_recv_fds(int sock, void *p, size_t len, int *fds, size_t maxfds,
    size_t *nfds, int flags)
{
	struct msghdr		 mh;
	struct iovec		 iov;
	struct cmsghdr		*cmsg;
	union sock_fd_cmsg	 cm;
	ssize_t			 n;
	size_t			 k, i;
	int			 got, extra = 0;

	*nfds = 0;
	sock_msg_init(&mh, &iov, p, len, &cm);
	if ((n = recvmsg(sock, &mh, flags | MSG_CMSG_CLOEXEC)) == -1)
		return -1;
	for (cmsg = CMSG_FIRSTHDR(&mh); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&mh, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < k; i++) {
			memcpy(&got, CMSG_DATA(cmsg) + i * sizeof(int),
			    sizeof(int));
			if (*nfds < maxfds)
				fds[(*nfds)++] = got;
			else {
				close(got);
				extra = 1;
			}
		}
	}
	if (extra || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		while (*nfds > 0)
			close(fds[--(*nfds)]);
		errno = EPROTO;
		return -1;
	}
	return n;
}

ssize_t
sock_recv_fd(int sock, void *p, size_t len, int *fd, int flags)
{
	size_t	n;
	ssize_t	rc;

	*fd = -1;
	rc = sock_recv_fds(sock, p, len, fd, 1, &n, flags);
	return rc;
}
