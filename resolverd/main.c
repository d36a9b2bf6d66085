/*
 * main.c - resolverd: answers "is this address ours, and would mail to
 * it reach someone?" (R_CHECK, from smtpd and queued: the same alias
 * expansion as delivery's) and "where does it go?" (R_EXPAND, from
 * queued only). Passwords are authd's: resolverd never opens the
 * password map, so no parser here (DNS answers included) can reach a
 * hash.
 *
 * Started by master as root, it reads postern.conf and drops to
 * resolver_user at once; from then on it holds nothing but the listening
 * sockets master handed down and the maps, read-only. Its clients are not
 * trusted: smtpd's session processes face the network, so a malformed
 * frame closes that client, and the expand socket (private/, reachable
 * only by queued) is the only one that answers R_EXPAND, which reveals
 * alias targets. R_ROUTE (route.c: the domain's exchangers, over DNS)
 * is answered only on the route socket, relay_user's alone. One epoll
 * loop: every answer is a few map lookups or a DNS query in flight,
 * never worth a thread.
 */
#include <sys/queue.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
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

/*
 * Each listener kind has its own budget of clients, so the many
 * unprivileged smtpd sessions on the check socket can never lock out
 * queued (expand): those are a few
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

static struct conf		 rd_conf;
static const char		*rd_conf_path;
static struct resolver		 rd_res;
static struct evloop		*rd_loop;
	static struct rd_listener	 rd_listeners[3];
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

	route_client_gone(p);
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
	case RD_ROUTE:
		return "route";
	}
	return "?";
}

static void
rd_client_msg(struct peer *p, struct ipc_msg *m)
{
	struct rd_client	*cl = p->ctx;
	const struct rd_listener *l = cl->l;
	struct ipc_msg		 reply;
	struct r_expansion	 x;
	char			 addr[1024], text[PROTO_TEXT_MAX];
	char			 login[ADDR_MAX + 1];
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
	case R_OWNER:
		if (proto_dec_r_owner(m, addr, sizeof(addr), login,
		    sizeof(login)) == -1)
			goto malformed;
		verdict = resolver_owner(&rd_res, addr, login);
		log_debug("owner %s of %s: verdict %u", login, addr, verdict);
		ipc_msg_init(&reply, R_OWNER_REPLY, m->id);
		if (proto_enc_r_owner_reply(&reply, verdict) == -1) {
			ipc_msg_free(&reply);
			log_warn("encode R_OWNER_REPLY");
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
	case R_ROUTE:
	case R_ROUTE_DANE:
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
	if (daemon_conf_reload(&rd_conf, rd_conf_path) == -1)
		return;
	resolver_close(&rd_res);
	if (resolver_init(&rd_res, &rd_conf) == -1)
		fatalx("map_directory %s: path too long",
		    rd_conf.map_directory);
	resolver_refresh(&rd_res, 1);
	rd_set_budgets();
	log_info("configuration reloaded");
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
	static const char *const names[] = { "check", "expand", "route",
	    NULL };
	char			err[512];
	struct daemon_args	args;
	struct priv_user	u;
	int			sigfd;

	daemon_init("resolverd", names, argc, argv, &args, &rd_conf);
	rd_conf_path = args.confpath;
	rd_add_listener(RD_CHECK, daemon_socket(&args, "check"));
	rd_add_listener(RD_EXPAND, daemon_socket(&args, "expand"));
	rd_add_listener(RD_ROUTE, daemon_socket(&args, "route"));
	if (rd_nlisteners == 0)
		fatalx("master passed no socket (-s check:FD, -s expand:FD)");
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
	if (daemon_loop_signals(rd_loop, sigfd, rd_reload) == -1)
		fatal("evloop_io");
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
