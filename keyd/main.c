/*
 * main.c - keyd: holds the TLS private keys and answers K_SIGN on
 * <spool>/private/key.sock, so that no process that parses bytes from
 * the network can read a private key (OpenSMTPD's "ca" process).
 *
 * Started by master as root, it reads postern.conf and drops to key_user
 * at once; it then reads the key files (keyd_keys.c refuses one that its
 * group or others may read) and reads them again on SIGHUP, keeping a
 * key whose file no longer reads, so a reload drops nothing. Its clients
 * are the processes that speak TLS as servers (smtpd's sessions, pop3d's
 * login processes): they connect while still root, before their chroot
 * (the socket is root's, 0600), and keep the connection. They are not
 * trusted: each may have been taken over by its client. What one can do
 * through keyd is have handshake-shaped data signed (a digest, or for
 * Ed25519 a message of at most K_TBS_MAX bytes); it cannot have anything
 * decrypted and never sees a key. A malformed frame closes that client,
 * logged once; a well-formed request for a key keyd does not hold gets
 * K_NOKEY, logged once per connection.
 *
 * One epoll loop, no threads: an RSA-2048 signature costs about a
 * millisecond, an ECDSA one a few hundredths, and the requests of one
 * client are answered in order. It parses nothing but its own frames.
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "daemon.h"
#include "evloop.h"
#include "ipc.h"
#include "keyd.h"
#include "log.h"
#include "peer.h"
#include "priv.h"
#include "proc.h"
#include "proto.h"

/* A client that asks without reading its answers is cut off here. */
#define KD_OUT_MAX	(256 * 1024)
/* One request: a name, a digest name and at most K_TBS_MAX bytes. */
#define KD_FRAME_MAX	(K_TBS_MAX + K_NAME_MAX + K_MD_MAX + 64)

struct kd_client {
	struct peer	*peer;
	int		 nokey_logged;
};

static struct conf	 kd_conf;
static const char	*kd_conf_path;
static struct evloop	*kd_loop;
static struct keyd_keys	 kd_keys;
static uid_t		 kd_uid;
static int		 kd_lfd = -1;
static int		 kd_listening;
static size_t		 kd_nclients;
static size_t		 kd_max_clients;

static void	kd_accept(int fd, int events, void *arg);

static void
kd_listen(int on)
{
	if (on && !kd_listening) {
		if (evloop_io(kd_loop, kd_lfd, EV_READ, kd_accept, NULL) == -1)
			fatal("evloop_io");
		kd_listening = 1;
	} else if (!on && kd_listening) {
		evloop_io_del(kd_loop, kd_lfd);
		kd_listening = 0;
	}
}

static void
kd_resume(void *arg)
{
	kd_listen(kd_nclients < kd_max_clients);
}

static void
kd_client_msg(struct peer *p, struct ipc_msg *m)
{
	struct kd_client	*cl = p->ctx;
	struct k_sign		 req;
	struct k_sign_reply	 rep;
	struct ipc_msg		 out;
	EVP_PKEY		*key;

	if (p->c.out.len > KD_OUT_MAX) {
		log_warnx("a client does not read its answers; closing it");
		goto drop;
	}
	if (m->type != K_SIGN || proto_dec_k_sign(m, &req) == -1) {
		log_warnx("malformed or unexpected frame (type %u) on the key "
		    "socket; closing the client", m->type);
		goto drop;
	}
	memset(&rep, 0, sizeof(rep));
	if ((key = keyd_keys_find(&kd_keys, req.name)) == NULL)
		rep.status = K_NOKEY;
	else
		rep.status = keyd_sign(key, &req, &rep);
	if (rep.status != K_OK && !cl->nokey_logged) {
		/* Once per connection: a client cannot fill the log. */
		cl->nokey_logged = 1;
		log_warnx("sign request for key %s (algorithm %u): %s",
		    req.name, req.alg, rep.status == K_NOKEY ? (key == NULL ?
		    "no such key" : "the algorithm does not fit the key") :
		    "signature failed");
	}
	ipc_msg_init(&out, K_SIGN_REPLY, m->id);
	if (proto_enc_k_sign_reply(&out, &rep) == -1) {
		ipc_msg_free(&out);
		log_warnx("encode K_SIGN_REPLY");
		goto drop;
	}
	if (peer_send(p, &out) == -1)
		log_warn("reply to a client");
	ipc_msg_free(&out);
	explicit_bzero(&req, sizeof(req));
	ipc_msg_free(m);
	return;
drop:
	ipc_msg_free(m);
	peer_close(p);
}

static void
kd_client_closed(struct peer *p)
{
	free(p->ctx);
	if (kd_nclients-- == kd_max_clients)
		kd_listen(1);
}

static void
kd_accept(int fd, int events, void *arg)
{
	struct kd_client	*cl;
	int			 c;

	while (kd_nclients < kd_max_clients) {
		c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors: do not spin on the listener. */
			log_warn("accept");
			kd_listen(0);
			if (evloop_timer(kd_loop, 1000, kd_resume, NULL) ==
			    NULL)
				fatal("evloop_timer");
			return;
		}
		if ((cl = calloc(1, sizeof(*cl))) == NULL ||
		    (cl->peer = peer_new(kd_loop, c, KD_FRAME_MAX,
		    kd_client_msg, kd_client_closed, cl)) == NULL) {
			log_warn("new client");
			free(cl);
			close(c);
			continue;
		}
		kd_nclients++;
	}
	log_warnx("%zu clients on the key socket: not accepting more for now",
	    kd_max_clients);
	kd_listen(0);
}

/*
 * Every session process that may speak TLS holds a connection: room for
 * all of smtpd's and pop3d's, within the descriptors keyd may open.
 */
static size_t
kd_client_budget(const struct conf *c)
{
	unsigned long	lim = daemon_fds_limit();
	size_t		n = (size_t)c->smtpd_max_sessions +
			    (size_t)c->pop3_max_sessions + 64;

	if (lim > 32 && n > lim - 32)
		n = lim - 32;
	return n;
}

static void
kd_log_keys(const char *what)
{
	size_t i;

	for (i = 0; i < kd_keys.n; i++)
		log_info("%s key %s (%s, %d bits)", what, kd_keys.v[i].name,
		    EVP_PKEY_get0_type_name(kd_keys.v[i].pkey),
		    EVP_PKEY_get_bits(kd_keys.v[i].pkey));
}

static void
kd_reload(void)
{
	struct keyd_keys nk;

	if (daemon_conf_reload(&kd_conf, kd_conf_path) == -1)
		return;
	/* A key that no longer loads is kept as it was read before. */
	keyd_keys_load(&nk, &kd_conf, kd_uid, &kd_keys);
	keyd_keys_free(&kd_keys);
	kd_keys = nk;
	kd_log_keys("holding");
	log_info("configuration reloaded, %zu key%s", kd_keys.n,
	    kd_keys.n == 1 ? "" : "s");
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "key", NULL };
	struct daemon_args	args;
	struct priv_user	u;
	int			sigfd;

	daemon_init("keyd", names, argc, argv, &args, &kd_conf);
	kd_conf_path = args.confpath;
	if ((kd_lfd = daemon_socket(&args, "key")) == -1)
		fatalx("master passed no socket (-s key:FD)");
	if (priv_lookup(kd_conf.key_user, &u) == -1)
		fatal("user %s", kd_conf.key_user);
	priv_drop(&u, NULL);
	kd_uid = geteuid();
	/* Signals arrive as loop events, never in the middle of a request. */
	sigfd = daemon_signalfd(0);

	keyd_keys_load(&kd_keys, &kd_conf, kd_uid, NULL);
	kd_max_clients = kd_client_budget(&kd_conf);
	if ((kd_loop = evloop_new()) == NULL)
		fatal("evloop_new");
	if (daemon_loop_signals(kd_loop, sigfd, kd_reload) == -1)
		fatal("evloop_io");
#ifndef POSTERN_SANITIZE
	proc_harden(PROC_NOFORK);
#endif
	kd_listen(1);
	kd_log_keys("holding");
	log_info("started as %s, %zu key%s", u.name, kd_keys.n,
	    kd_keys.n == 1 ? "" : "s");
	if (evloop_run(kd_loop) == -1)
		fatal("evloop_run");
	keyd_keys_free(&kd_keys);
	conf_free(&kd_conf);
	return 0;
}
