/*
 * smtpd.h - smtpd's private interfaces: the session, its backends, the
 * session process and the listener (client I/O is libcommon/netio, the
 * command parser and the DATA state machine libcommon/smtp_cmd and
 * smtp_data, the command loop and replies libcommon/smtp_tx).
 *
 * Only smtpd's own files and its unit tests include this header.
 */
#ifndef POSTERN_SMTPD_H
#define POSTERN_SMTPD_H

#include <sys/socket.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"
#include "buf.h"
#include "cidr.h"
#include "conf.h"
#include "netio.h"
#include "ipc.h"
#include "qid.h"
#include "smtp_cmd.h"
#include "smtp_data.h"
#include "smtp_tx.h"

/*
 * The command parser, the DATA state machine and the command handling
 * are libcommon's (smtp_cmd.h, smtp_data.h, smtp_tx.h): sendmail -bs
 * serves SMTP with them too.
 */

/* The client connection is libcommon's netio. */


struct tls_server;

/*
 * What a listener serves: SMTP on 25 (STARTTLS offered when a
 * certificate is configured), submission on 587 (the same, for mail
 * clients), or SMTP under implicit TLS on 465 (RFC 8314). Its name is
 * the "-s NAME:FD" master hands the socket over with.
 */
enum smtp_listener {
	SMTP_LISTEN_MX = 0,
	SMTP_LISTEN_SUBMISSION,
	SMTP_LISTEN_SMTPS,
};

/*
 * The session (smtp_session.c), run in the child that owns one client.
 */
struct smtp_env {
	const struct conf *conf;
	const char	  *confpath;	/* for the session processes; NULL: defaults */
	int		   conffd;	/* what sessions read (daemon_conf_snapshot) */
	const struct cidr *mynetworks;
	size_t		   nmynetworks;
	/*
	 * The TLS contexts, loaded by a session process before it drops
	 * privileges; NULL: no certificate configured, or it failed to
	 * load (tls_error says why: STARTTLS then answers 454).
	 */
	struct tls_server *tls;
	const char	  *tls_error;
};

/* Whether an address is in mynetworks (relay allowed, limits waived). */
int	smtp_in_mynetworks(const struct smtp_env *, const struct sockaddr *);

/* The internal services (smtp_backend.c), each connected lazily. */
struct smtp_backend {
	struct ipc_conn	 conn;
	int		 connected;
	uint32_t	 nextid;
	const char	*path;
	int		 fixed;		/* adopted: never reconnected */
};

/* A session process's connections: they serve every session it runs. */
struct smtp_backends {
	struct smtp_backend	queue;
	struct smtp_backend	resolver;
	/* authd, bound to the client's address by the listener; or none. */
	struct smtp_backend	auth;
};

/* authfd: the listener's bound connection to authd, -1 for none. */
void	smtp_backends_init(struct smtp_backends *, int authfd);
void	smtp_backends_close(struct smtp_backends *);
/*
 * Serves one client on fd until QUIT, error or timeout; closes fd. Returns
 * 1 if the process may serve another client of the same address (once the
 * caller has wiped its stack), 0 if it must exit.
 */
int	smtp_session_run(const struct smtp_env *, struct smtp_backends *,
	    int fd, const struct sockaddr *peer, socklen_t peerlen,
	    enum smtp_listener);
/* What a session process sends its listener when it is ready for more. */
#define SMTP_WORKER_IDLE	'I'
/*
 * The life of a session process (smtp_worker.c): serves fd, then, while
 * smtpd_max_use allows, tells the listener on ctl that it is idle and
 * serves the next connection it hands over. ctl -1: one session only.
 * Never returns.
 */
void	smtp_worker_run(const struct smtp_env *, int fd,
	    const struct sockaddr *peer, socklen_t peerlen, int ctl,
	    enum smtp_listener, int authfd)
	    __attribute__((__noreturn__));

void	smtp_backend_init(struct smtp_backend *, const char *path);
/*
 * A backend on a connection made for us (fd), that cannot be made
 * again from here: once lost, calls fail.
 */
void	smtp_backend_adopt(struct smtp_backend *, int fd, const char *name);
void	smtp_backend_close(struct smtp_backend *);
/* Drops a kept connection that the other side has closed meanwhile. */
void	smtp_backend_check(struct smtp_backend *);
/*
 * Sends req and waits for the reply with the same id. 0, or -1 with the
 * connection dropped (the next call reconnects).
 */
int	smtp_backend_call(struct smtp_backend *, struct ipc_msg *req,
	    struct ipc_msg *reply);
/* Sends a message that has no reply. */
int	smtp_backend_send(struct smtp_backend *, struct ipc_msg *);

/*
 * A request to the session template (main.c): its descriptors are the
 * client, then the control socket and the authd connection when set.
 */
struct smtp_spawn {
	int	kind;		/* enum smtp_listener */
	int	has_ctl;
	int	has_auth;
};

/*
 * The listener process (smtp_server.c): fds[i] serves kinds[i]. Only a
 * plain port-25 connection may go to a process that served another.
 */
int	smtp_server_run(const struct smtp_env *, const int *fds,
	    const enum smtp_listener *kinds, size_t nfds);

#endif
