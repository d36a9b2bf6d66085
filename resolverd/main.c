/*
 * main.c - resolverd: answers "is this address ours, and would mail to
 * it reach someone?" (R_CHECK, from smtpd and queued: the same alias
 * expansion as delivery's), "where does it go?" (R_EXPAND, from queued
 * only) and "is this password right?" (R_AUTH, from pop3d and imapd only).
 *
 * Started by master as root, it reads postern.conf and drops to
 * resolver_user at once; from then on it holds nothing but the listening
 * sockets master handed down and the maps, read-only. Its clients are not
 * trusted: smtpd's session processes face the network, so a malformed
 * frame closes that client, and the expand socket (private/, reachable
 * only by queued) is the only one that answers R_EXPAND, which reveals
 * alias targets. R_ROUTE (route.c: the domain's exchangers, over DNS)
 * is answered only on the route socket, relay_user's alone. Likewise
 * only the auth socket (private/, root's alone:
 * the login daemons' parents) answers R_AUTH, and it answers nothing else.
 * One epoll loop: every answer is a few map lookups, never worth a
 * thread -- except R_AUTH, which costs one deliberately slow password
 * hash (yescrypt: tens of milliseconds and 16 MiB). The loop looks the
 * user up and hands the hash to one auth thread (workq), so address
 * checks never wait behind logins; one thread, because each hash takes
 * its 16 MiB, and logins queue in order.
 */
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "evloop.h"
#include "ipc.h"
#include "daemon.h"
#include "log.h"
#include "map.h"
#include "peer.h"
#include "priv.h"
#include "proto.h"
#include "resolverd.h"
#include "sock.h"
#include "workq.h"

/*
 * Each listener kind has its own budget of clients, so the many
 * unprivileged smtpd sessions on the check socket can never lock out
 * queued (expand) or the login daemons (auth): those are a few
 * long-lived connections from trusted processes, and their budget is
 * theirs alone. The check socket gets smtpd_max_sessions plus spare
 * (the sessions of a replaced smtpd finish beside the new one's), and
 * its clients are closed when idle for resolver_idle_timeout; smtpd
 * reconnects on its next request.
 */
#define RD_PRIVILEGED_CLIENTS	DAEMON_RESOLVER_PRIV_CLIENTS
#define RD_CHECK_SPARE		DAEMON_RESOLVER_CHECK_SPARE
#define RD_SWEEP_MS		1000
/* A client that asks without reading its answers is cut off here. */
#define RD_OUT_MAX	(1024 * 1024)
/* Requests carry one address; anything larger is not a request. */
#define RD_FRAME_MAX	4096

enum rd_kind {
	RD_CHECK,
	RD_EXPAND,
	RD_AUTH,	/* password checks: private/auth.sock, root clients only */
	RD_ROUTE,	/* R_ROUTE: relay/route.sock, the remote agents only */
};

struct rd_client;
TAILQ_HEAD(rd_clients, rd_client);

struct rd_listener {
	int			fd;
	enum rd_kind		kind;
	int			paused;
	size_t			nclients;
	size_t			max;
	/* Least recently active first: the idle sweep stops early. */
	struct rd_clients	clients;
};

struct rd_client {
	TAILQ_ENTRY(rd_client)	 entry;
	struct rd_listener	*l;
	struct peer		*peer;
	uint64_t		 last_ms;	/* last request */
};

/* An R_AUTH between the lookup and its answer. */
struct rd_authjob {
	TAILQ_ENTRY(rd_authjob)	 entry;
	struct peer		*peer;		/* NULL once it went away */
	/* Set by the loop when the client left: the hash is skipped. */
	_Atomic int		 gone;
	int			 skipped;	/* gone before the hash began */
	uint32_t		 id;
	char			 user[ADDR_MAX + 1];	/* as typed, for the log */
	char			 key[ADDR_MAX + 1];
	char			 hash[MAP_VALUE_MAX];
	char			 password[R_AUTH_SECRET_MAX + 1];
	uint32_t		 verdict;
	int			 locked;	/* postern user lock */
};
TAILQ_HEAD(rd_authjobs, rd_authjob);

static struct conf		 rd_conf;
static struct rd_authjobs	 rd_auths = TAILQ_HEAD_INITIALIZER(rd_auths);
static struct workq		*rd_authq;
static const char		*rd_conf_path;
static struct resolver		 rd_res;
static struct evloop		*rd_loop;
static struct rd_listener	 rd_listeners[4];
static size_t			 rd_nlisteners;

static void	rd_accept(int fd, int events, void *arg);

static void
rd_listen(struct rd_listener *l, int on)
{
	if (on && l->paused) {
		if (evloop_io(rd_loop, l->fd, EV_READ, rd_accept, l) == -1)
			fatal("evloop_io");
		l->paused = 0;
	} else if (!on && !l->paused) {
		evloop_io_del(rd_loop, l->fd);
		l->paused = 1;
	}
}

/* Every listener on (those below their budget) or off. */
static void
rd_listen_all(int on)
{
	size_t i;

	for (i = 0; i < rd_nlisteners; i++)
		rd_listen(&rd_listeners[i], on &&
		    rd_listeners[i].nclients < rd_listeners[i].max);
}

static void
rd_resume(void *arg)
{
	rd_listen_all(1);
}

static void
rd_client_closed(struct peer *p)
{
	struct rd_client	*cl = p->ctx;
	struct rd_listener	*l = cl->l;
	struct rd_authjob	*j;

	route_client_gone(p);
	TAILQ_FOREACH(j, &rd_auths, entry)
		if (j->peer == p) {
			j->peer = NULL;
			j->gone = 1;
		}
	TAILQ_REMOVE(&l->clients, cl, entry);
	free(cl);
	if (l->nclients-- == l->max)
		rd_listen(l, 1);
}

static size_t
rd_budget(enum rd_kind kind)
{
	if (kind == RD_CHECK)
		return (size_t)rd_conf.smtpd_max_sessions + RD_CHECK_SPARE;
	/* One connection per remote agent, and a restarted one's spare. */
	if (kind == RD_ROUTE)
		return (size_t)rd_conf.remote_delivery_concurrency * 2;
	return RD_PRIVILEGED_CLIENTS;
}

/* smtpd's connections that sat idle too long are closed. */
static void
rd_sweep(void *arg)
{
	struct rd_listener	*l;
	struct rd_client	*cl, *next;
	uint64_t		 now = evloop_now_ms();
	uint64_t		 idle = (uint64_t)rd_conf.resolver_idle_timeout *
	    1000;
	size_t			 i, n = 0;

	for (i = 0; i < rd_nlisteners; i++) {
		l = &rd_listeners[i];
		if (l->kind != RD_CHECK)
			continue;
		for (cl = TAILQ_FIRST(&l->clients); cl != NULL; cl = next) {
			next = TAILQ_NEXT(cl, entry);
			if (now - cl->last_ms < idle)
				break;
			peer_close(cl->peer);	/* frees cl */
			n++;
		}
	}
	if (n > 0)
		log_info("closed %zu idle client(s) on the check socket", n);
	if (evloop_timer(rd_loop, RD_SWEEP_MS, rd_sweep, NULL) == NULL)
		fatal("evloop_timer");
}

static void
rd_reply(struct peer *p, struct ipc_msg *reply)
{
	if (peer_send(p, reply) == -1)
		log_warn("reply to a client");
	ipc_msg_free(reply);
}

static const char *
rd_kind_name(enum rd_kind kind)
{
	switch (kind) {
	case RD_CHECK:
		return "check";
	case RD_EXPAND:
		return "expand";
	case RD_AUTH:
		return "auth";
	case RD_ROUTE:
		return "route";
	}
	return "?";
}

/* Logs a verdict and answers it. */
static void
rd_auth_answer(struct peer *p, uint32_t id, const char *user,
    uint32_t verdict, const char *key)
{
	static const char *const results[] = { "ok", "fail", "tempfail" };
	struct r_auth_reply	 ar;
	struct ipc_msg		 reply;

	memset(&ar, 0, sizeof(ar));
	ar.verdict = verdict;
	if (verdict == R_AUTH_OK)
		strlcpy(ar.user, key, sizeof(ar.user));
	/* Never the password; the user name is escaped by log_info. */
	log_info("auth: user=<%s> result=%s", user,
	    verdict < sizeof(results) / sizeof(results[0]) ?
	    results[verdict] : "?");
	ipc_msg_init(&reply, R_AUTH_REPLY, id);
	if (proto_enc_r_auth_reply(&reply, &ar) == -1) {
		ipc_msg_free(&reply);
		log_warn("encode R_AUTH_REPLY");
		peer_close(p);
		return;
	}
	rd_reply(p, &reply);
}

/* On the auth thread: the hash, and nothing of the job outlives it. */
static void
rd_auth_work(void *arg)
{
	struct rd_authjob *j = arg;

	/* Nobody would hear the answer: a backlog of those delays others. */
	if ((j->skipped = j->gone))
		j->verdict = R_AUTH_TEMPFAIL;
	else
		j->verdict = resolver_auth_verdict(j->key, j->hash,
		    j->password);
	explicit_bzero(j->password, sizeof(j->password));
	explicit_bzero(j->hash, sizeof(j->hash));
}

static void
rd_auth_done(void *arg)
{
	struct rd_authjob *j = arg;

	TAILQ_REMOVE(&rd_auths, j, entry);
	if (j->locked)
		log_info("auth: user=<%s> is locked", j->user);
	if (j->peer != NULL)
		rd_auth_answer(j->peer, j->id, j->user, j->verdict, j->key);
	else
		log_info("auth: user=<%s> client gone, %s", j->user,
		    j->skipped ? "not checked" : "not answered");
	explicit_bzero(j, sizeof(*j));
	free(j);
}

/*
 * R_AUTH. The password is in the frame, in the decoded request and in
 * what is left of the connection's input buffer: all three are wiped
 * before we return, whatever the outcome; the job's copy is wiped on the
 * auth thread right after the hash.
 */
static int
rd_auth(struct peer *p, struct ipc_msg *m)
{
	struct r_auth		 a;
	struct rd_authjob	*j = NULL;
	int			 rc = -1;

	if (proto_dec_r_auth(m, &a) == -1)
		goto done;
	rc = 0;
	if ((j = calloc(1, sizeof(*j))) == NULL) {
		rd_auth_answer(p, m->id, a.user, R_AUTH_TEMPFAIL, "");
		goto done;
	}
	j->peer = p;
	j->id = m->id;
	strlcpy(j->user, a.user, sizeof(j->user));
	if (resolver_auth_lookup(&rd_res, a.user, j->key, sizeof(j->key),
	    j->hash, sizeof(j->hash)) == -1) {
		rd_auth_answer(p, m->id, a.user, R_AUTH_TEMPFAIL, "");
		goto done;
	}
	j->locked = resolver_auth_locked(j->hash);
	strlcpy(j->password, a.password, sizeof(j->password));
	TAILQ_INSERT_TAIL(&rd_auths, j, entry);
	if (workq_run(rd_authq, rd_auth_work, rd_auth_done, j) == -1) {
		TAILQ_REMOVE(&rd_auths, j, entry);
		rd_auth_answer(p, m->id, a.user, R_AUTH_TEMPFAIL, "");
		goto done;
	}
	j = NULL;	/* the auth thread's now */
done:
	if (j != NULL) {
		explicit_bzero(j, sizeof(*j));
		free(j);
	}
	explicit_bzero(&a, sizeof(a));
	if (m->body.data != NULL)
		explicit_bzero(m->body.data, m->body.cap);
	/* The frame's bytes may linger past the end of the input buffer. */
	if (p->c.in.data != NULL && p->c.in.cap > p->c.in.len)
		explicit_bzero(p->c.in.data + p->c.in.len,
		    p->c.in.cap - p->c.in.len);
	return rc;
}

static void
rd_client_msg(struct peer *p, struct ipc_msg *m)
{
	struct rd_client	*cl = p->ctx;
	const struct rd_listener *l = cl->l;
	struct ipc_msg		 reply;
	struct r_expansion	 x;
	char			 addr[1024], text[PROTO_TEXT_MAX];
	uint32_t		 verdict;

	cl->last_ms = evloop_now_ms();
	TAILQ_REMOVE(&cl->l->clients, cl, entry);
	TAILQ_INSERT_TAIL(&cl->l->clients, cl, entry);
	if (p->c.out.len > RD_OUT_MAX) {
		log_warnx("a client does not read its answers; closing it");
		goto drop;
	}
	switch (m->type) {
	case R_CHECK:
		/* The auth socket is for passwords only. */
		if (l->kind == RD_AUTH)
			goto malformed;
		if (proto_dec_r_check(m, addr, sizeof(addr)) == -1)
			goto malformed;
		verdict = resolver_check(&rd_res, addr, text, sizeof(text));
		log_debug("check %s: verdict %u %s", addr, verdict, text);
		ipc_msg_init(&reply, R_CHECK_REPLY, m->id);
		if (proto_enc_r_check_reply(&reply, verdict, text) == -1) {
			ipc_msg_free(&reply);
			log_warn("encode R_CHECK_REPLY");
			goto drop;
		}
		rd_reply(p, &reply);
		break;
	case R_EXPAND:
		/* Alias targets are private: only queued's socket may ask. */
		if (l->kind != RD_EXPAND)
			goto malformed;
		if (proto_dec_r_expand(m, addr, sizeof(addr)) == -1)
			goto malformed;
		resolver_expand(&rd_res, addr, &x);
		log_debug("expand %s: status %u, %u targets, %s", addr,
		    x.status, x.n, x.text);
		ipc_msg_init(&reply, R_EXPAND_REPLY, m->id);
		if (proto_enc_r_expansion(&reply, &x) == -1) {
			ipc_msg_free(&reply);
			proto_r_expansion_free(&x);
			log_warn("encode R_EXPAND_REPLY");
			goto drop;
		}
		proto_r_expansion_free(&x);
		rd_reply(p, &reply);
		break;
	case R_AUTH:
		/*
		 * Only root's login daemons reach the auth socket; anyone
		 * else asking is probing for passwords.
		 */
		if (l->kind != RD_AUTH)
			goto malformed;
		if (rd_auth(p, m) == -1)
			goto malformed;
		break;
	case R_ROUTE:
		if (l->kind != RD_ROUTE || route_request(p, m) == -1)
			goto malformed;
		break;
	default:
		goto malformed;
	}
	ipc_msg_free(m);
	return;
malformed:
	log_warnx("malformed or unexpected frame (type %u) on the %s socket; "
	    "closing the client", m->type, rd_kind_name(l->kind));
drop:
	/* Whatever it was, it may have carried a password. */
	if (m->body.data != NULL)
		explicit_bzero(m->body.data, m->body.cap);
	ipc_msg_free(m);
	peer_close(p);
}

static void
rd_accept(int fd, int events, void *arg)
{
	struct rd_listener	*l = arg;
	struct rd_client	*cl;
	int			 c;

	while (l->nclients < l->max) {
		c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/*
			 * Out of descriptors: the listener would stay readable
			 * and spin the loop, so stop listening for a second.
			 */
			log_warn("accept");
			rd_listen_all(0);
			if (evloop_timer(rd_loop, 1000, rd_resume, NULL) == NULL)
				fatal("evloop_timer");
			return;
		}
		if ((cl = calloc(1, sizeof(*cl))) == NULL) {
			log_warn("new client");
			close(c);
			continue;
		}
		cl->l = l;
		cl->last_ms = evloop_now_ms();
		if ((cl->peer = peer_new(rd_loop, c, RD_FRAME_MAX,
		    rd_client_msg, rd_client_closed, cl)) == NULL) {
			log_warn("new client");
			free(cl);
			continue;
		}
		TAILQ_INSERT_TAIL(&l->clients, cl, entry);
		l->nclients++;
	}
	/* At the limit: the backlog holds the rest until a client leaves. */
	log_warnx("%zu clients on the %s socket: not accepting more there "
	    "for now", l->max, rd_kind_name(l->kind));
	rd_listen(l, 0);
}

static void
rd_set_budgets(void)
{
	size_t i;

	for (i = 0; i < rd_nlisteners; i++) {
		rd_listeners[i].max = rd_budget(rd_listeners[i].kind);
		if (rd_loop != NULL)
			rd_listen(&rd_listeners[i],
			    rd_listeners[i].nclients < rd_listeners[i].max);
	}
}

static void
rd_reload(void)
{
	struct conf	nc;
	char		err[512];

	if (conf_load(&nc, rd_conf_path, err, sizeof(err)) == -1) {
		log_warnx("reload: %s; keeping the running configuration", err);
		return;
	}
	resolver_close(&rd_res);
	conf_free(&rd_conf);
	rd_conf = nc;
	if (resolver_init(&rd_res, &rd_conf) == -1)
		fatalx("map_directory %s: path too long",
		    rd_conf.map_directory);
	resolver_refresh(&rd_res, 1);
	rd_set_budgets();
	log_info("configuration reloaded");
}

static void
rd_signal(int fd, int events, void *arg)
{
	struct signalfd_siginfo	si;
	ssize_t			n;

	while ((n = read(fd, &si, sizeof(si))) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_info("terminating on signal %u", si.ssi_signo);
			evloop_stop(rd_loop);
			break;
		case SIGHUP:
			rd_reload();
			break;
		}
	}
	if (n == -1 && errno != EAGAIN && errno != EINTR)
		fatal("read signalfd");
}

static void
rd_add_listener(enum rd_kind kind, int fd)
{
	struct rd_listener *l;

	if (fd == -1)
		return;
	l = &rd_listeners[rd_nlisteners++];
	l->kind = kind;
	l->fd = fd;
	l->paused = 1;
	TAILQ_INIT(&l->clients);
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "check", "expand", "auth",
	    "route", NULL };
	char			err[512];
	struct daemon_args	args;
	struct priv_user	u;
	int			sigfd;

	daemon_init("resolverd", names, argc, argv, &args, &rd_conf);
	rd_conf_path = args.confpath;
	rd_add_listener(RD_CHECK, daemon_socket(&args, "check"));
	rd_add_listener(RD_EXPAND, daemon_socket(&args, "expand"));
	rd_add_listener(RD_AUTH, daemon_socket(&args, "auth"));
	rd_add_listener(RD_ROUTE, daemon_socket(&args, "route"));
	if (rd_nlisteners == 0)
		fatalx("master passed no socket (-s check:FD, -s expand:FD, "
		    "-s auth:FD)");
	if (priv_lookup(rd_conf.resolver_user, &u) == -1)
		fatal("user %s", rd_conf.resolver_user);
	priv_drop(&u, NULL);
	/* Signals arrive as loop events, never in the middle of a lookup. */
	sigfd = daemon_signalfd(0);

	if (resolver_init(&rd_res, &rd_conf) == -1)
		fatalx("map_directory %s: path too long",
		    rd_conf.map_directory);
	resolver_refresh(&rd_res, 1);

	if ((rd_loop = evloop_new()) == NULL)
		fatal("evloop_new");
	if (evloop_io(rd_loop, sigfd, EV_READ, rd_signal, NULL) == -1)
		fatal("evloop_io");
	rd_authq = workq_new(rd_loop, 1);
	if (route_init(rd_loop, &rd_conf, err, sizeof(err)) == -1)
		fatalx("%s", err);
	rd_set_budgets();
	if (evloop_timer(rd_loop, RD_SWEEP_MS, rd_sweep, NULL) == NULL)
		fatal("evloop_timer");
	log_info("started as %s, maps in %s", u.name, rd_conf.map_directory);
	if (evloop_run(rd_loop) == -1)
		fatal("evloop_run");
	resolver_close(&rd_res);
	conf_free(&rd_conf);
	return 0;
}
