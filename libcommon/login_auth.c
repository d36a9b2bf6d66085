/*
 * login_auth.c - a root parent's client of authd's credential checks
 * (A_AUTH over <spool>/private/auth.sock, which only root may open).
 *
 * Runs in a login daemon's root parent, inside its event loop: one connection,
 * opened when first needed and again after a loss, carries every
 * request, each with its own id and a PROTO_TIMEOUT_MS deadline. A
 * request that times out drops the connection (authd is wedged or
 * gone; the next request reconnects), and every request still pending
 * then fails as A_AUTH_TEMPFAIL: a dead authd costs a clear
 * temporary error, never a hang. authd is trusted to answer
 * honestly, its frames are still decoded field by field.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "evloop.h"
#include "log.h"
#include "peer.h"
#include "login_auth.h"
#include "proto.h"
#include "sock.h"

struct login_authreq {
	struct login_auth	*a;
	uint32_t		 id;
	login_auth_cb		 cb;
	void			*arg;
	struct ev_timer		*timer;
	struct login_authreq	*next;
};

struct login_auth {
	struct evloop		*loop;
	char			 dir[CONF_PATH_MAX];
	char			 proto[A_AUTH_PROTO_MAX + 1];	/* for authd */
	struct peer		*peer;
	uint32_t		 nextid;
	struct login_authreq	*reqs;
};

static void
req_unlink(struct login_auth *a, struct login_authreq *r)
{
	struct login_authreq **pp;

	for (pp = &a->reqs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	if (r->timer != NULL)
		evloop_timer_cancel(a->loop, r->timer);
	free(r);
}

/* Completes r: unlinked before the callback, which may start another. */
static void
req_done(struct login_authreq *r, uint32_t verdict, const char *user)
{
	login_auth_cb	 cb = r->cb;
	void		*arg = r->arg;

	req_unlink(r->a, r);
	cb(arg, verdict, user);
}

static void
auth_on_close(struct peer *p)
{
	struct login_auth *a = p->ctx;

	a->peer = NULL;
	while (a->reqs != NULL)
		req_done(a->reqs, A_AUTH_TEMPFAIL, "");
}

static void
auth_on_msg(struct peer *p, struct ipc_msg *m)
{
	struct login_auth	*a = p->ctx;
	struct login_authreq	*r;
	struct a_auth_reply	 rep;

	for (r = a->reqs; r != NULL && r->id != m->id; r = r->next)
		;
	if (m->type != A_AUTH_REPLY || proto_dec_a_auth_reply(m, &rep) == -1) {
		log_warnx("auth.sock: malformed reply (type %u); reconnecting",
		    m->type);
		ipc_msg_free(m);
		peer_close(p);
		return;
	}
	ipc_msg_free(m);
	if (r == NULL)
		return;		/* it timed out or its client went away */
	if (rep.verdict == A_AUTH_OK && rep.user[0] == '\0')
		rep.verdict = A_AUTH_TEMPFAIL;
	req_done(r, rep.verdict, rep.user);
}

static void
req_timeout(void *arg)
{
	struct login_authreq	*r = arg;
	struct login_auth	*a = r->a;

	r->timer = NULL;
	log_warnx("auth.sock: no answer in %d s; reconnecting",
	    PROTO_TIMEOUT_MS / 1000);
	req_done(r, A_AUTH_TEMPFAIL, "");
	/* Whatever authd still owes on this connection is lost too. */
	if (a->peer != NULL)
		peer_close(a->peer);
}

struct login_auth *
login_auth_new(struct evloop *loop, const char *private_dir,
    const char *proto)
{
	struct login_auth *a;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	a->loop = loop;
	strlcpy(a->dir, private_dir, sizeof(a->dir));
	strlcpy(a->proto, proto, sizeof(a->proto));
	return a;
}

void
login_auth_free(struct login_auth *a)
{
	if (a == NULL)
		return;
	if (a->peer != NULL)
		peer_close(a->peer);
	while (a->reqs != NULL)
		req_unlink(a, a->reqs);
	free(a);
}

static int
auth_connect(struct login_auth *a)
{
	int fd;

	if (a->peer != NULL)
		return 0;
	if ((fd = sock_unix_connect_in(a->dir, "auth.sock")) == -1) {
		log_warn("connect %s/auth.sock", a->dir);
		return -1;
	}
	a->peer = peer_new(a->loop, fd, 64 * 1024, auth_on_msg,
	    auth_on_close, a);
	return a->peer != NULL ? 0 : -1;
}

struct login_authreq *
login_auth_start(struct login_auth *a, const char *ip, const char *user,
    const char *pass, login_auth_cb cb, void *arg)
{
	struct login_authreq	*r;
	struct a_auth		*ra;
	struct ipc_msg		 m;
	int			 rc;

	if (auth_connect(a) == -1)
		return NULL;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (ra = calloc(1, sizeof(*ra))) == NULL) {
		free(r);
		return NULL;
	}
	if (++a->nextid == 0)
		a->nextid = 1;
	r->a = a;
	r->id = a->nextid;
	r->cb = cb;
	r->arg = arg;
	strlcpy(ra->proto, a->proto, sizeof(ra->proto));
	strlcpy(ra->client, ip, sizeof(ra->client));
	strlcpy(ra->user, user, sizeof(ra->user));
	strlcpy(ra->password, pass, sizeof(ra->password));
	ipc_msg_init(&m, A_AUTH, r->id);
	rc = proto_enc_a_auth(&m, ra);
	explicit_bzero(ra, sizeof(*ra));
	free(ra);
	/* Sent before r is linked: a failed send closes the peer, and its
	 * close must not fail r as well as our NULL does. */
	if (rc == 0)
		rc = peer_send(a->peer, &m);
	if (m.body.data != NULL)
		explicit_bzero(m.body.data, m.body.len);
	ipc_msg_free(&m);
	if (rc == -1) {
		free(r);
		return NULL;
	}
	r->timer = evloop_timer(a->loop, PROTO_TIMEOUT_MS, req_timeout, r);
	r->next = a->reqs;
	a->reqs = r;
	return r;
}

void
login_auth_cancel(struct login_auth *a, struct login_authreq *r)
{
	if (r != NULL)
		req_unlink(a, r);
}
