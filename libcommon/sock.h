/*
 * sock.h - socket helpers: Unix sockets for the daemons, TCP listeners
 * for master.
 */
#ifndef POSTERN_SOCK_H
#define POSTERN_SOCK_H

#include <sys/socket.h>
#include <sys/types.h>
#include <stddef.h>

/* Binds a Unix stream socket (removing a stale one) with the given mode. */
int	sock_unix_listen(const char *path, mode_t mode, int backlog);
/* Connects to a Unix stream socket; path may be relative (chroot). */
int	sock_unix_connect(const char *path);
/*
 * The same for name inside dir: the call runs with dir as the working
 * directory, so a long dir does not run into sun_path's 108 bytes. The
 * caller's working directory is restored (or the call fails).
 */
int	sock_unix_listen_in(const char *dir, const char *name, mode_t mode,
	    int backlog);
int	sock_unix_connect_in(const char *dir, const char *name);
/*
 * The same, non-blocking: a listener whose backlog is full fails it at
 * once (EAGAIN) instead of stopping the caller.
 */
int	sock_unix_connect_nb_in(const char *dir, const char *name);
/* A Unix seqpacket listener at dir/name (stale one removed), as above. */
int	sock_unix_seqpacket_listen_in(const char *dir, const char *name,
	    mode_t mode, int backlog);
/* A non-blocking seqpacket socket connected to path. */
int	sock_unix_seqpacket_connect(const char *path);
/*
 * Binds and listens on "host:port", "[v6]:port" or "*:port"; -1 with a
 * reason in err.
 */
int	sock_tcp_listen(const char *spec, int backlog, char *err, size_t errlen);
/* Splits "host:port" / "[v6]:port"; host "" means any. */
int	sock_split_hostport(const char *spec, char *host, size_t hostsz,
	    char *port, size_t portsz);
/* Text form of an address, and its port. */
void	sock_ntop(const struct sockaddr *, char *host, size_t hostsz, int *port);
/*
 * sendmsg(2) of len bytes with fd (unless -1) attached by SCM_RIGHTS, the
 * one way a descriptor changes hands; returns what sendmsg returns.
 */
ssize_t	sock_send_fd(int sock, const void *, size_t len, int fd, int flags);
/*
 * recvmsg(2) of at most len bytes and at most one descriptor (close-on-
 * exec, in *fd, else -1). Returns what recvmsg returns; a message or
 * control data cut short, or more than one descriptor, is EPROTO (any
 * descriptor received is closed).
 */
ssize_t	sock_recv_fd(int sock, void *, size_t len, int *fd, int flags);
/* The same with up to SOCK_FDS_MAX descriptors, in order. */
#define SOCK_FDS_MAX	4
ssize_t	sock_send_fds(int sock, const void *, size_t len, const int *fds,
	    size_t nfds, int flags);
ssize_t	sock_recv_fds(int sock, void *, size_t len, int *fds, size_t maxfds,
	    size_t *nfds, int flags);
int	sock_set_nonblock(int fd, int on);
int	sock_set_cloexec(int fd, int on);

#endif
