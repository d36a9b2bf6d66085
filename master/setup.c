/*
 * setup.c - master's preparation of the spool and of every listening
 * socket, before any daemon starts.
 *
 * Runs in master, as root (or as the invoking user in development mode).
 * It alone creates sockets, so it alone decides who may connect to what:
 * the permissions below are the access-control list of the whole suite.
 * Everything that can fail fails here, before anything starts: the suite
 * never half-starts.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "master.h"
#include "sock.h"

static int
lookup(const char *key, const char *name, struct priv_user *u, char *err,
    size_t errlen)
{
	if (priv_lookup(name, u) == 0)
		return 0;
	if (errno == EPERM)
		snprintf(err, errlen, "%s = %s: a daemon user must not be "
		    "root", key, name);
	else
		snprintf(err, errlen, "%s = %s: no such user (run \"postern "
		    "setup\" to create the suite's users)", key, name);
	return -1;
}

int
setup_users(struct master *m, char *err, size_t errlen)
{
	if (lookup("smtpd_user", m->conf.smtpd_user, &m->smtpd_u, err,
	    errlen) == -1 ||
	    lookup("queue_user", m->conf.queue_user, &m->queue_u, err,
	    errlen) == -1 ||
	    lookup("resolver_user", m->conf.resolver_user, &m->resolver_u,
	    err, errlen) == -1 ||
	    lookup("auth_user", m->conf.auth_user, &m->auth_u, err,
	    errlen) == -1 ||
	    lookup("key_user", m->conf.key_user, &m->key_u, err,
	    errlen) == -1 ||
	    lookup("mail_user", m->conf.mail_user, &m->mail_u, err,
	    errlen) == -1 ||
	    lookup("login_user", m->conf.login_user, &m->login_u, err,
	    errlen) == -1 ||
	    lookup("relay_user", m->conf.relay_user, &m->relay_u, err,
	    errlen) == -1)
		return -1;
	return 0;
}

/*
 * base/sub as a directory owned by uid:gid with mode, whoever made it
 * and whatever it was: the spool may be writable by a daemon user that
 * planted a symlink there, so nothing is followed or changed by path.
 */
static int
mkdir_owned(int basefd, const char *base, const char *sub, uid_t uid,
    gid_t gid, mode_t mode, char *err, size_t errlen)
{
	int fd;

	if ((fd = fs_dir_ensure(basefd, sub, mode, uid, gid, FS_DIR_ENFORCE,
	    NULL)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", base, sub, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

int
setup_spool(struct master *m, char *err, size_t errlen)
{
	const char	*sp = m->conf.spool_directory;
	uid_t		 root = priv_is_root() ? 0 : geteuid();
	gid_t		 rootg = priv_is_root() ? 0 : getegid();
	int		 fd, rc;

	if (fs_mkdirs(sp, 0755) == -1) {
		snprintf(err, errlen, "mkdir %s: %s", sp, strerror(errno));
		return -1;
	}
	if ((fd = open(sp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1 || fchmod(fd, 0755) == -1) {
		snprintf(err, errlen, "%s: %s", sp, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	/* smtpd's chroot: only root and the smtpd group may enter. */
	rc = mkdir_owned(fd, sp, "smtpd", root, m->smtpd_u.gid, 0750, err,
	    errlen) == -1 ||
	    /*
	     * relayd's chroot: its two sockets and nothing else, so that it
	     * can reconnect to queued and resolverd from inside.
	     */
	    mkdir_owned(fd, sp, "relay", root, m->relay_u.gid, 0750, err,
	    errlen) == -1 ||
	    mkdir_owned(fd, sp, "public", root, rootg, 0755, err, errlen) ==
	    -1 ||
	    mkdir_owned(fd, sp, "private", root, rootg, 0711, err, errlen) ==
	    -1 ||
	    mkdir_owned(fd, sp, "queue", m->queue_u.uid, m->queue_u.gid, 0700,
	    err, errlen) == -1 ||
	    mkdir_owned(fd, sp, "corrupt", m->queue_u.uid, m->queue_u.gid,
	    0700, err, errlen) == -1 ? -1 : 0;
	close(fd);
	return rc;
}

static int
unix_listener(const char *dir, const char *name, uid_t uid, gid_t gid,
    mode_t mode, char *err, size_t errlen)
{
	char	path[4096];
	int	fd;

	if ((fd = sock_unix_listen_in(dir, name, mode, 1024)) == -1) {
		snprintf(err, errlen, "bind %s/%s: %s", dir, name,
		    strerror(errno));
		return -1;
	}
	/* lchown: whatever is at the path now, no link is followed. */
	if (priv_is_root() && (fs_path(path, sizeof(path), dir, name) == -1 ||
	    lchown(path, uid, gid) == -1)) {
		snprintf(err, errlen, "chown %s/%s: %s", dir, name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/* Binds every address of one *_listen key; fds has room for 16. */
static int
tcp_listeners(const char *key, const struct conf_list *l, int *fds,
    size_t *n, char *err, size_t errlen)
{
	size_t i;

	if (l->n > 16) {
		snprintf(err, errlen, "%s: at most 16 addresses", key);
		return -1;
	}
	for (i = 0; i < l->n; i++) {
		char why[512];

		if ((fds[i] = sock_tcp_listen(l->v[i], 1024, why,
		    sizeof(why))) == -1) {
			snprintf(err, errlen, "%s: %s", key, why);
			return -1;
		}
		(*n)++;
	}
	return 0;
}

int
setup_sockets(struct master *m, char *err, size_t errlen)
{
	char			 smtpd[4096], public[4096], private[4096];
	char			 relay[4096];
	const char		*sp = m->conf.spool_directory;

	size_t			 i;

	if (tcp_listeners("smtp_listen", &m->conf.smtp_listen, m->smtp_fds,
	    &m->nsmtp, err, errlen) == -1 ||
	    tcp_listeners("smtps_listen", &m->conf.smtps_listen, m->smtps_fds,
	    &m->nsmtps, err, errlen) == -1 ||
	    tcp_listeners("submission_listen", &m->conf.submission_listen,
	    m->sub_fds, &m->nsub, err, errlen) == -1)
		return -1;
	for (i = 0; i < MASTER_LOGINDS; i++) {
		struct master_logind *d = &m->logind[i];

		if (tcp_listeners(d->key, logind_list(&m->conf, i, 0), d->fds,
		    &d->n, err, errlen) == -1 ||
		    tcp_listeners(d->tls_key, logind_list(&m->conf, i, 1),
		    d->tls_fds, &d->ntls, err, errlen) == -1)
			return -1;
	}
	if (fs_path(smtpd, sizeof(smtpd), sp, "smtpd") == -1 ||
	    fs_path(public, sizeof(public), sp, "public") == -1 ||
	    fs_path(private, sizeof(private), sp, "private") == -1 ||
	    fs_path(relay, sizeof(relay), sp, "relay") == -1) {
		snprintf(err, errlen, "%s: path too long", sp);
		return -1;
	}
	/* The smtpd/ directory (0750, smtpd's group) is the fence for these. */
	if ((m->submit_fd = unix_listener(smtpd, "queue.sock", 0, 0, 0666, err,
	    errlen)) == -1 ||
	    (m->check_fd = unix_listener(smtpd, "resolver.sock", 0, 0, 0666,
	    err, errlen)) == -1 ||
	    (m->inject_fd = unix_listener(public, "inject.sock", 0, 0, 0666,
	    err, errlen)) == -1 ||
	    (m->deliver_fd = unix_listener(private, "deliver.sock",
	    m->mail_u.uid, m->mail_u.gid, 0600, err, errlen)) == -1 ||
	    (m->expand_fd = unix_listener(private, "resolver.sock",
	    m->queue_u.uid, m->queue_u.gid, 0600, err, errlen)) == -1 ||
	    (m->control_fd = unix_listener(private, "control.sock", 0, 0, 0600,
	    err, errlen)) == -1 ||
	    (m->auth_fd = unix_listener(private, "auth.sock", 0, 0, 0600,
	    err, errlen)) == -1 ||
	    /*
	     * Root's alone: the TLS session processes connect while still
	     * root, before they chroot and drop privileges.
	     */
	    (m->key_fd = unix_listener(private, "key.sock", 0, 0, 0600,
	    err, errlen)) == -1 ||
	    (m->relay_fd = unix_listener(relay, "relay.sock", m->relay_u.uid,
	    m->relay_u.gid, 0600, err, errlen)) == -1 ||
	    (m->route_fd = unix_listener(relay, "route.sock", m->relay_u.uid,
	    m->relay_u.gid, 0600, err, errlen)) == -1)
		return -1;
	/*
	 * logd's socket is public, as /dev/log is: every daemon and the
	 * commands (sendmail runs as any user) log through it.
	 */
	m->log_fd = -1;
	if (m->conf.maillog_file[0] != '\0' &&
	    (m->log_fd = sock_unix_seqpacket_listen_in(public, LOG_SOCKET_NAME,
	    0666, 4096)) == -1) {
		snprintf(err, errlen, "bind %s/%s: %s", public,
		    LOG_SOCKET_NAME, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The sockets for the addresses of nl: an address also in old keeps its
 * socket (connections waiting in its backlog are not lost, and nothing
 * else can take the port meanwhile); a new one is bound now. On failure
 * the sockets bound here are closed and nothing changes: the reload is
 * refused. The caller closes the old sockets no longer used.
 */
int
setup_listeners_reload(const char *key, const struct conf_list *old,
    const int *oldfds, const struct conf_list *nl, int *newfds, int *changed,
    char *err, size_t errlen)
{
	char	why[512];
	size_t	i, j;

	*changed = old->n != nl->n;
	if (nl->n > 16) {
		snprintf(err, errlen, "%s: at most 16 addresses", key);
		return -1;
	}
	for (i = 0; i < nl->n; i++) {
		for (j = 0; j < old->n; j++)
			if (strcmp(old->v[j], nl->v[i]) == 0)
				break;
		if (j < old->n) {
			newfds[i] = oldfds[j];
			if (j != i)
				*changed = 1;
			continue;
		}
		*changed = 1;
		if ((newfds[i] = sock_tcp_listen(nl->v[i], 1024, why,
		    sizeof(why))) == -1) {
			snprintf(err, errlen, "%s: %s", key, why);
			while (i-- > 0)
				if (!setup_fd_in(newfds[i], oldfds, old->n))
					close(newfds[i]);
			return -1;
		}
	}
	return 0;
}

int
setup_maillog(struct master *m, char *err, size_t errlen)
{
	const char	*path = m->conf.maillog_file;
	struct stat	 st;
	int		 fd;

	if (path[0] == '\0' || strcmp(path, "/dev/stdout") == 0 ||
	    strcmp(path, "/dev/stderr") == 0)
		return 0;
	/* No link is followed: a rotated-away name may have been replaced. */
	if ((fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW |
	    O_NOCTTY | O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "maillog_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || (S_ISREG(st.st_mode) && priv_is_root() &&
	    (st.st_uid != m->login_u.uid || st.st_gid != m->login_u.gid) &&
	    fchown(fd, m->login_u.uid, m->login_u.gid) == -1)) {
		snprintf(err, errlen, "maillog_file %s: %s", path,
		    strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int
setup_fd_in(int fd, const int *fds, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (fds[i] == fd)
			return 1;
	return 0;
}

int
setup_syslog_reachable(void)
{
	struct sockaddr_un	sun;
	int			fd, ok;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strlcpy(sun.sun_path, "/dev/log", sizeof(sun.sun_path));
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0;
	close(fd);
	return ok;
}
