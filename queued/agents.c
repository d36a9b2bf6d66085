/*
 * agents.c - queued's side of resolverd (alias expansion) and of the
 * delivery agents (deliverd workers).
 *
 * Runs in queued. Workers connect to private/deliver.sock and announce
 * their transport; each gets one job at a time. A worker that vanishes or
 * overruns delivery_timeout turns its job into a temporary failure that is
 * retried soon, on our account rather than the recipient's. Everything a
 * worker sends is decoded by proto.c; a malformed frame drops the worker.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "queued.h"
#include "sock.h"

struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	struct rcpt_job		*job;
	size_t			 target;
};
TAILQ_HEAD(delivery_list, delivery);

struct agent {
	TAILQ_ENTRY(agent)	 entry;
	struct peer		*peer;
	int			 ready;		/* said hello */
	struct delivery		*busy;		/* current job */
	uint32_t		 jobid;
	struct ev_timer		*timer;
};
TAILQ_HEAD(agent_list, agent);

struct expansion {
	TAILQ_ENTRY(expansion)	 entry;
	uint32_t		 id;
	struct rcpt_job		*job;
	struct ev_timer		*timer;
};
TAILQ_HEAD(expansion_list, expansion);

static struct agent_list	 agents = TAILQ_HEAD_INITIALIZER(agents);
static struct delivery_list	 waiting = TAILQ_HEAD_INITIALIZER(waiting);
static struct expansion_list	 expanding = TAILQ_HEAD_INITIALIZER(expanding);
static struct expansion_list	 exp_waiting = TAILQ_HEAD_INITIALIZER(exp_waiting);
static size_t			 nexpanding;

/*
 * Expansions in flight at once: resolverd answers in order, and a bounded
 * window keeps its replies to us (and ours to it) bounded too.
 */
#define EXPAND_WINDOW	64
static struct peer		*resolver;
static uint32_t			 next_id = 1;

static void dispatch(void);

/* ---- resolverd ---- */

static void expansion_send_waiting(void);

static void
expansion_fail(struct expansion *e, uint32_t status, const char *why,
    int internal)
{
	struct r_expansion x;

	memset(&x, 0, sizeof(x));
	x.status = status;
	strlcpy(x.text, why, sizeof(x.text));
	if (e->timer != NULL)
		evloop_timer_cancel(Q->loop, e->timer);
	e->job->internal = internal;
	sched_expanded(e->job, &x);
	free(e);
}

/* Fails every expansion sent on the connection that just went away. */
static void
expansion_fail_all(const char *why)
{
	struct expansion_list	 gone;
	struct expansion	*e;

	/* Detached first: failing one may start new ones. */
	TAILQ_INIT(&gone);
	TAILQ_CONCAT(&gone, &expanding, entry);
	nexpanding = 0;
	while ((e = TAILQ_FIRST(&gone)) != NULL) {
		TAILQ_REMOVE(&gone, e, entry);
		expansion_fail(e, ST_TEMP, why, 1);
	}
}

static int agents_stopping;

static void
resolver_closed(struct peer *p)
{
	resolver = NULL;
	/* A close at a stop (ours or resolverd's) is no news. */
	if (!agents_stopping && !Q->stopping)
		log_warnx("connection to resolverd lost");
	expansion_fail_all("4.3.0 resolver unavailable");
	expansion_send_waiting();
}

static void
expansion_timeout(void *arg)
{
	struct expansion *e = arg;

	e->timer = NULL;
	log_warnx("resolverd did not answer within %d ms; reconnecting",
	    PROTO_TIMEOUT_MS);
	if (resolver != NULL)
		peer_close(resolver);
}

static void
resolver_msg(struct peer *p, struct ipc_msg *m)
{
	struct expansion	*e;
	struct r_expansion	 x;

	TAILQ_FOREACH(e, &expanding, entry)
		if (e->id == m->id)
			break;
	if (m->type != R_EXPAND_REPLY || e == NULL ||
	    proto_dec_r_expansion(m, &x) == -1) {
		log_warnx("bad reply from resolverd; reconnecting");
		ipc_msg_free(m);
		peer_close(p);
		return;
	}
	ipc_msg_free(m);
	TAILQ_REMOVE(&expanding, e, entry);
	nexpanding--;
	if (e->timer != NULL)
		evloop_timer_cancel(Q->loop, e->timer);
	sched_expanded(e->job, &x);
	proto_r_expansion_free(&x);
	free(e);
	expansion_send_waiting();
}

static int
resolver_connect(void)
{
	int fd;

	if (resolver != NULL)
		return 0;
	if ((fd = sock_unix_connect("private/resolver.sock")) == -1) {
		log_warn("connect to resolverd");
		return -1;
	}
	resolver = peer_new(Q->loop, fd, IPC_MAX_PAYLOAD, resolver_msg,
	    resolver_closed, NULL);
	return resolver ? 0 : -1;
}

/* Sends waiting expansions while the window has room. */
static void
expansion_send_waiting(void)
{
	struct expansion	*e;
	struct ipc_msg		 m;

	while (nexpanding < EXPAND_WINDOW &&
	    (e = TAILQ_FIRST(&exp_waiting)) != NULL) {
		TAILQ_REMOVE(&exp_waiting, e, entry);
		if (resolver_connect() == -1) {
			expansion_fail(e, ST_TEMP, "4.3.0 resolver unavailable",
			    1);
			continue;
		}
		ipc_msg_init(&m, R_EXPAND, e->id);
		if (proto_enc_r_expand(&m, e->job->addr) == -1) {
			ipc_msg_free(&m);
			expansion_fail(e, ST_PERM,
			    "5.1.3 unusable recipient address", 0);
			continue;
		}
		TAILQ_INSERT_TAIL(&expanding, e, entry);
		nexpanding++;
		e->timer = evloop_timer(Q->loop, PROTO_TIMEOUT_MS,
		    expansion_timeout, e);
		/* On failure the close callback fails every expansion sent. */
		(void)peer_send(resolver, &m);
		ipc_msg_free(&m);
	}
}

void
agents_expand(struct rcpt_job *job)
{
	struct expansion *e;

	job->started_ms = evloop_now_ms();
	if ((e = calloc(1, sizeof(*e))) == NULL)
		fatal("out of memory");
	e->id = next_id++;
	e->job = job;
	TAILQ_INSERT_TAIL(&exp_waiting, e, entry);
	expansion_send_waiting();
}

/* ---- delivery agents ---- */

static void
agent_finish(struct agent *a, uint32_t status, const char *text, int internal)
{
	struct delivery *d = a->busy;

	a->busy = NULL;
	if (a->timer != NULL) {
		evloop_timer_cancel(Q->loop, a->timer);
		a->timer = NULL;
	}
	if (d == NULL)
		return;
	d->job->targets[d->target].internal = internal;
	sched_delivered(d->job, d->target, status, text);
	free(d);
}

static void
agent_closed(struct peer *p)
{
	struct agent *a = p->ctx;

	if (a->busy != NULL) {
		struct rcpt_job		*job = a->busy->job;
		struct log_delivery	 ld;

		/*
		 * deliverd finishes a job it began before it obeys a stop, so
		 * one that leaves during a stop had not begun this one.
		 */
		if (Q->stopping)
			log_info("%s: delivery agent stopped before delivery "
			    "to <%s>; will retry", job->msg->env.id,
			    job->targets[a->busy->target].addr);
		else
			log_warnx("%s: delivery agent went away during "
			    "delivery to <%s>; will retry", job->msg->env.id,
			    job->targets[a->busy->target].addr);
		memset(&ld, 0, sizeof(ld));
		ld.qid = job->msg->env.id;
		ld.to = job->targets[a->busy->target].addr;
		ld.orig_to = job->orcpt;
		ld.relay = "local";
		ld.status = "deferred";
		ld.text = "4.3.0 delivery agent died";
		ld.arrival_us = (int64_t)qid_time_us(job->msg->env.id);
		ld.active_us = job->active_us;
		ld.done_us = log_now_us();
		log_delivery(&ld);
		agent_finish(a, ST_TEMP, "4.3.0 delivery agent died", 1);
	}
	TAILQ_REMOVE(&agents, a, entry);
	free(a);
	/* A stop whose agents are all gone has nothing left to wait for. */
	if (Q->stopping && agents_all_gone()) {
		evloop_stop(Q->loop);
		return;
	}
	dispatch();
}

static void
agent_timeout(void *arg)
{
	struct agent *a = arg;

	a->timer = NULL;
	log_warnx("delivery agent exceeded delivery_timeout; dropping it");
	peer_close(a->peer);
}

static void
agent_msg(struct peer *p, struct ipc_msg *m)
{
	struct agent	*a = p->ctx;
	struct d_result	 res;

	if (!a->ready) {
		if (agent_hello(p, m, D_TRANSPORT_LOCAL, "delivery agent") == 0) {
			a->ready = 1;
			dispatch();
		}
		return;
	}
	if (m->type != D_RESULT || a->busy == NULL || m->id != a->jobid ||
	    proto_dec_d_result(m, &res) == -1) {
		log_warnx("delivery agent sent an unexpected frame");
		ipc_msg_free(m);
		peer_close(p);
		return;
	}
	ipc_msg_free(m);
	agent_finish(a, res.status, res.text, 0);
	dispatch();
}

static void
agent_accept(int fd, void *arg)
{
	struct agent *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		return;
	}
	if ((a->peer = peer_new(Q->loop, fd, 4096, agent_msg, agent_closed,
	    a)) == NULL) {
		free(a);
		return;
	}
	TAILQ_INSERT_TAIL(&agents, a, entry);
}

static void dispatch_once(void);

/*
 * A command may take command_time_limit, after which deliverd kills it
 * and still owes us an answer: its job is given that much and a margin,
 * or a slow but legitimate command would cost the agent.
 */
#define AGENT_COMMAND_MARGIN_S	30

static uint64_t
agent_deadline_ms(uint32_t kind)
{
	uint64_t s = (uint64_t)Q->conf.delivery_timeout;

	if (kind == R_KIND_COMMAND &&
	    (uint64_t)Q->conf.command_time_limit + AGENT_COMMAND_MARGIN_S > s)
		s = (uint64_t)Q->conf.command_time_limit +
		    AGENT_COMMAND_MARGIN_S;
	return s * 1000;
}

static struct dispatcher local_dispatcher = { dispatch_once, 0, 0 };

static void
dispatch(void)
{
	dispatcher_run(&local_dispatcher);
}

void
dispatcher_run(struct dispatcher *d)
{
	if (d->running) {
		d->again = 1;
		return;
	}
	d->running = 1;
	do {
		d->again = 0;
		d->pass();
	} while (d->again);
	d->running = 0;
}

int
agent_hello(struct peer *p, struct ipc_msg *m, uint32_t transport,
    const char *what)
{
	uint32_t got;
	int	 ok = m->type == D_HELLO && proto_dec_d_hello(m, &got) == 0 &&
		     got == transport;

	ipc_msg_free(m);
	if (ok)
		return 0;
	log_warnx("%s sent a bad hello", what);
	peer_close(p);
	return -1;
}

void
agent_close(struct peer *p, int idle)
{
	struct ipc_msg m;

	if (idle) {
		ipc_msg_init(&m, D_BYE, 0);
		(void)peer_send(p, &m);
		ipc_msg_free(&m);
	}
	peer_close(p);
}

static void
dispatch_once(void)
{
	struct agent	*a, *next;
	struct delivery	*d;

	for (a = TAILQ_FIRST(&agents); a != NULL; a = next) {
		next = TAILQ_NEXT(a, entry);
		struct ipc_msg	 m;
		struct d_job	 j;
		struct qmsg	*msg;
		int		 fd;

		if (!a->ready || a->busy != NULL)
			continue;
		if ((d = TAILQ_FIRST(&waiting)) == NULL)
			return;
		TAILQ_REMOVE(&waiting, d, entry);
		msg = d->job->msg;
		memset(&j, 0, sizeof(j));
		strlcpy(j.qid, msg->env.id, sizeof(j.qid));
		strlcpy(j.sender, msg->env.sender, sizeof(j.sender));
		strlcpy(j.rcpt, d->job->targets[d->target].addr,
		    sizeof(j.rcpt));
		/* A command, also one retried on its own, runs for it. */
		strlcpy(j.orcpt, d->job->orcpt, sizeof(j.orcpt));
		j.arrival_us = qid_time_us(msg->env.id);
		j.active_us = (uint64_t)d->job->active_us;
		j.kind = d->job->targets[d->target].kind;
		j.offset = SPOOL_HDR_LEN;
		j.size = msg->size;
		/* Opened only now: a backlog of jobs holds no descriptors. */
		if ((fd = spool_open_message(msg->env.id)) == -1) {
			sched_delivered(d->job, d->target, ST_TEMP,
			    "4.3.0 queue file unreadable");
			free(d);
			continue;
		}
		a->busy = d;
		a->jobid = next_id++;
		ipc_msg_init(&m, D_JOB, a->jobid);
		if (proto_enc_d_job(&m, &j, fd) == -1) {
			ipc_msg_free(&m);
			agent_finish(a, ST_PERM, "5.1.3 unusable address", 0);
			continue;
		}
		a->timer = evloop_timer(Q->loop, agent_deadline_ms(j.kind),
		    agent_timeout, a);
		if (peer_send(a->peer, &m) == -1) {
			ipc_msg_free(&m);
			return;	/* agent_closed re-dispatches */
		}
		ipc_msg_free(&m);
	}
}

void
agents_deliver(struct rcpt_job *job, size_t i)
{
	struct delivery *d;

	if ((d = calloc(1, sizeof(*d))) == NULL) {
		sched_delivered(job, i, ST_TEMP, "4.3.0 out of memory");
		return;
	}
	d->job = job;
	d->target = i;
	TAILQ_INSERT_TAIL(&waiting, d, entry);
	dispatch();
}

int
agents_all_gone(void)
{
	return TAILQ_EMPTY(&agents) && relay_agents_gone();
}

void
agents_init(int deliver_listen_fd)
{
	listener_register(deliver_listen_fd, agent_accept, NULL);
}

void
agents_shutdown(void)
{
	struct agent	*a;

	agents_stopping = 1;
	/*
	 * An idle agent is told, so it knows the close is a stop and not a
	 * crash; one in the middle of a job learns it when its result
	 * cannot be sent (the job is retried at the next start).
	 */
	while ((a = TAILQ_FIRST(&agents)) != NULL)
		agent_close(a->peer, a->ready && a->busy == NULL);
	if (resolver != NULL)
		peer_close(resolver);
}
