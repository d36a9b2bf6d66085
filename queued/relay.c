/*
 * relay.c - queued's remote deliveries: recipients in other domains,
 * gathered per message and next hop (the recipient's domain) into jobs
 * of up to destination_recipient_limit recipients, queued per
 * destination, and handed to the remote agents (relayd, on
 * relay/relay.sock) round-robin between destinations, each within
 * a concurrency window of its own.
 *
 * Runs in queued. A destination's window starts at
 * initial_destination_concurrency, grows by one with every job that
 * reached a server, up to destination_concurrency_limit, and halves with
 * every job that reached none (no exchanger answered, DNS failed for
 * now). When such a failure leaves nothing of the destination in flight,
 * the destination is dead for queue_retry_min: every job waiting for it,
 * and every new one, is deferred at once with the failure's text
 * (Postfix's "delivery temporarily suspended"), so a site that is down
 * costs one connection attempt per retry period rather than one per
 * message. `postern queue flush DOMAIN` revives it.
 *
 * Remote agents run under their own uid and are trusted with the
 * recipients of the job they are given, nothing else: a result is taken
 * only for the agent's current job, with exactly one result per
 * recipient; anything else drops the agent, and its job is retried.
 */
#include <sys/queue.h>
#ifndef __unused	/* tree.h's RB_GENERATE_STATIC wants BSD's spelling */
#define __unused	__attribute__((unused))
#endif
#include <sys/tree.h>

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "queued.h"

/*
 * A remote job's deadline in queued. The agent bounds every step by RFC
 * 5321's timeouts; this only catches an agent that hangs anyway.
 */
#define RELAY_JOB_DEADLINE_S	3600

struct rref {
	struct rcpt_job	*job;
	size_t		 target;
};

struct rdest;

struct rbatch {
	TAILQ_ENTRY(rbatch)	 entry;
	struct qmsg		*msg;
	struct rdest		*dest;
	size_t			 n, cap;
	struct rref		*ref;	/* grows to the recipient limit */
};
TAILQ_HEAD(rbatch_list, rbatch);

/* The jobs of one round of one message, before the round closes them. */
struct relay_open {
	struct rbatch_list	 batches;
};

struct rdest {
	RB_ENTRY(rdest)		 node;
	TAILQ_ENTRY(rdest)	 ring;
	int			 in_ring;
	char			 name[D_NEXTHOP_MAX + 1];
	struct rbatch_list	 queue;
	size_t			 nqueued;
	size_t			 active;
	size_t			 window;
	time_t			 dead_until;
	char			 dead_text[PROTO_TEXT_MAX];
};
RB_HEAD(rdest_tree, rdest);
TAILQ_HEAD(rdest_ring, rdest);

static int
rdest_cmp(const struct rdest *a, const struct rdest *b)
{
	return strcmp(a->name, b->name);
}
RB_GENERATE_STATIC(rdest_tree, rdest, node, rdest_cmp)

struct ragent {
	TAILQ_ENTRY(ragent)	 entry;
	struct peer		*peer;
	int			 ready;
	struct rbatch		*busy;
	uint32_t		 jobid;
	struct ev_timer		*timer;
	char			 last_dest[D_NEXTHOP_MAX + 1];
	uint64_t		 last_done_ms;
};
TAILQ_HEAD(ragent_list, ragent);

static struct rdest_tree	 dests = RB_INITIALIZER(&dests);
static struct rdest_ring	 ring = TAILQ_HEAD_INITIALIZER(ring);
static struct ragent_list	 ragents = TAILQ_HEAD_INITIALIZER(ragents);
static int			 relay_enabled;
static uint32_t			 next_jobid = 1;

static void relay_dispatch(void);

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The next hop of a remote address: its domain, lower case. */
static int
nexthop_of(const char *addr, char out[D_NEXTHOP_MAX + 1])
{
	const char	*at = strrchr(addr, '@');
	size_t		 i;

	if (at == NULL || at[1] == '\0' ||
	    strlcpy(out, at + 1, D_NEXTHOP_MAX + 1) > D_NEXTHOP_MAX)
		return -1;
	for (i = 0; out[i] != '\0'; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			out[i] = (char)(out[i] - 'A' + 'a');
	return 0;
}

static struct rdest *
dest_get(const char *name)
{
	struct rdest key, *d;

	strlcpy(key.name, name, sizeof(key.name));
	if ((d = RB_FIND(rdest_tree, &dests, &key)) != NULL)
		return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	strlcpy(d->name, name, sizeof(d->name));
	TAILQ_INIT(&d->queue);
	d->window = (size_t)Q->conf.initial_destination_concurrency;
	RB_INSERT(rdest_tree, &dests, d);
	return d;
}

/* A destination with nothing queued, in flight or to remember goes. */
static void
dest_gc(struct rdest *d)
{
	if (d->nqueued > 0 || d->active > 0 || d->dead_until > time(NULL))
		return;
	if (d->in_ring)
		TAILQ_REMOVE(&ring, d, ring);
	RB_REMOVE(rdest_tree, &dests, d);
	free(d);
}

static struct rbatch *
batch_new(struct qmsg *msg, struct rdest *d)
{
	struct rbatch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->ref = calloc(1, sizeof(*b->ref))) == NULL)
		fatal("calloc");
	b->cap = 1;
	b->msg = msg;
	b->dest = d;
	return b;
}

static void
batch_free(struct rbatch *b)
{
	free(b->ref);
	free(b);
}

static void
batch_push(struct rbatch *b, struct rcpt_job *job, size_t target)
{
	if (b->n == b->cap) {
		size_t cap = b->cap * 2 > D_RJOB_RCPT_MAX ? D_RJOB_RCPT_MAX :
		    b->cap * 2;
		struct rref *r = reallocarray(b->ref, cap, sizeof(*r));

		if (r == NULL)
			fatal("reallocarray");
		b->ref = r;
		b->cap = cap;
	}
	b->ref[b->n].job = job;
	b->ref[b->n].target = target;
	b->n++;
}

/* Each recipient of b gets this outcome, decided here (no agent). */
static void
batch_fail(struct rbatch *b, uint32_t status, const char *text,
    const char *logtext, int internal)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		struct rcpt_job		*job = b->ref[i].job;
		struct rcpt_target	*t = &job->targets[b->ref[i].target];
		struct log_delivery	 ld;

		memset(&ld, 0, sizeof(ld));
		ld.qid = b->msg->env.id;
		ld.to = t->addr;
		ld.orig_to = job->orcpt;
		ld.relay = "none";
		ld.status = status == ST_PERM ? "bounced" : "deferred";
		ld.text = logtext != NULL ? logtext : text;
		ld.arrival_us = (int64_t)qid_time_us(b->msg->env.id);
		ld.active_us = job->active_us;
		ld.done_us = log_now_us();
		log_delivery(&ld);
		t->internal = internal;
		sched_delivered(job, b->ref[i].target, status, text);
	}
	batch_free(b);
}

/* A dead destination defers what it is given at once. */
static int
dest_dead(struct rdest *d)
{
	if (d->dead_until == 0)
		return 0;
	if (d->dead_until > time(NULL))
		return 1;
	d->dead_until = 0;
	d->dead_text[0] = '\0';
	return 0;
}

static void
dest_defer_batch(struct rdest *d, struct rbatch *b)
{
	char		 logtext[PROTO_TEXT_MAX + 48];
	const char	*t = d->dead_text, *sp = strchr(t, ' ');
	int		 coded = t[0] == '4' && t[1] == '.' && sp != NULL;

	/* Postfix's shape: "4.4.1 delivery temporarily suspended: why". */
	snprintf(logtext, sizeof(logtext), "%.*s%sdelivery temporarily "
	    "suspended: %s", coded ? (int)(sp - t) : 0, t, coded ? " " : "",
	    coded ? sp + 1 : t);
	batch_fail(b, ST_TEMP, logtext, NULL, 0);
}

static void
dest_enqueue(struct rdest *d, struct rbatch *b)
{
	if (dest_dead(d)) {
		dest_defer_batch(d, b);
		dest_gc(d);
		return;
	}
	TAILQ_INSERT_TAIL(&d->queue, b, entry);
	d->nqueued++;
	if (!d->in_ring) {
		TAILQ_INSERT_TAIL(&ring, d, ring);
		d->in_ring = 1;
	}
}

void
relay_add(struct relay_open **op, struct rcpt_job *job, size_t target)
{
	struct relay_open	*o = *op;
	struct rbatch		*b;
	char			 hop[D_NEXTHOP_MAX + 1];
	size_t			 limit =
			    (size_t)Q->conf.destination_recipient_limit;

	if (!relay_enabled || nexthop_of(job->targets[target].addr, hop) ==
	    -1) {
		b = batch_new(job->msg, NULL);
		batch_push(b, job, target);
		if (!relay_enabled)
			batch_fail(b, ST_TEMP, "4.4.0 remote delivery is not "
			    "available", NULL, 0);
		else
			batch_fail(b, ST_PERM, "5.1.2 bad destination domain",
			    NULL, 0);
		return;
	}
	if (o == NULL) {
		if ((o = calloc(1, sizeof(*o))) == NULL)
			fatal("calloc");
		TAILQ_INIT(&o->batches);
		*op = o;
	}
	TAILQ_FOREACH(b, &o->batches, entry)
		if (strcmp(b->dest->name, hop) == 0 && b->n < limit)
			break;
	if (b == NULL) {
		struct rdest *d;

		if ((d = dest_get(hop)) == NULL)
			fatal("calloc");
		b = batch_new(job->msg, d);
		/* Counted as queued now, so no gc takes it meanwhile. */
		d->nqueued++;
		TAILQ_INSERT_TAIL(&o->batches, b, entry);
	}
	batch_push(b, job, target);
}

void
relay_close(struct relay_open **op)
{
	struct relay_open	*o = *op;
	struct rbatch		*b;

	if (o == NULL)
		return;
	*op = NULL;
	while ((b = TAILQ_FIRST(&o->batches)) != NULL) {
		TAILQ_REMOVE(&o->batches, b, entry);
		b->dest->nqueued--;
		dest_enqueue(b->dest, b);
	}
	free(o);
	relay_dispatch();
}

void
relay_discard(struct relay_open **op)
{
	struct relay_open	*o = *op;
	struct rbatch		*b;

	if (o == NULL)
		return;
	*op = NULL;
	while ((b = TAILQ_FIRST(&o->batches)) != NULL) {
		TAILQ_REMOVE(&o->batches, b, entry);
		b->dest->nqueued--;
		dest_gc(b->dest);
		batch_free(b);
	}
	free(o);
}

/* ---- the agents ---- */

static void
dest_feedback(struct rdest *d, const struct d_rresult *res)
{
	uint32_t	i;
	int		reached = 0;

	for (i = 0; i < res->nrcpt; i++)
		if (res->r[i].status != ST_TEMP || res->r[i].mta[0] != '\0')
			reached = 1;
	if (reached) {
		if (d->window < (size_t)Q->conf.destination_concurrency_limit)
			d->window++;
		return;
	}
	if (d->window > 1)
		d->window /= 2;
	if (d->active > 0)
		return;
	/* Nothing of it in flight and the last try reached no server. */
	d->dead_until = time(NULL) + Q->conf.queue_retry_min;
	strlcpy(d->dead_text, res->r[0].text, sizeof(d->dead_text));
	d->window = 1;
	log_info("%s: destination deferred for %llds: %s", d->name,
	    (long long)Q->conf.queue_retry_min, d->dead_text);
	while (!TAILQ_EMPTY(&d->queue)) {
		struct rbatch *b = TAILQ_FIRST(&d->queue);

		TAILQ_REMOVE(&d->queue, b, entry);
		d->nqueued--;
		dest_defer_batch(d, b);
	}
}

static void
ragent_finish(struct ragent *a, const struct d_rresult *res,
    const char *failtext)
{
	struct rbatch	*b = a->busy;
	struct rdest	*d;
	size_t		 i;

	a->busy = NULL;
	if (a->timer != NULL) {
		evloop_timer_cancel(Q->loop, a->timer);
		a->timer = NULL;
	}
	if (b == NULL)
		return;
	d = b->dest;
	d->active--;
	strlcpy(a->last_dest, d->name, sizeof(a->last_dest));
	a->last_done_ms = now_ms();
	if (res == NULL) {
		/* The agent is gone: ours to retry soon, not the domain's. */
		a->last_dest[0] = '\0';
		batch_fail(b, ST_TEMP, failtext, NULL, 1);
	} else {
		for (i = 0; i < b->n; i++) {
			struct rcpt_job		*job = b->ref[i].job;
			struct rcpt_target	*t =
			    &job->targets[b->ref[i].target];

			t->internal = 0;
			sched_remote_detail(job, b->ref[i].target,
			    res->r[i].mta, res->r[i].diag);
			sched_delivered(job, b->ref[i].target,
			    res->r[i].status, res->r[i].text);
		}
		dest_feedback(d, res);
		batch_free(b);
	}
	dest_gc(d);
}

static void
ragent_closed(struct peer *p)
{
	struct ragent *a = p->ctx;

	if (a->busy != NULL) {
		if (Q->stopping)
			log_info("%s: remote agent stopped before delivery "
			    "to %s; will retry", a->busy->msg->env.id,
			    a->busy->dest->name);
		else
			log_warnx("%s: remote agent went away during "
			    "delivery to %s; will retry", a->busy->msg->env.id,
			    a->busy->dest->name);
		ragent_finish(a, NULL, "4.3.0 delivery agent died");
	}
	TAILQ_REMOVE(&ragents, a, entry);
	free(a);
	if (Q->stopping && agents_all_gone()) {
		evloop_stop(Q->loop);
		return;
	}
	relay_dispatch();
}

static void
ragent_timeout(void *arg)
{
	struct ragent *a = arg;

	a->timer = NULL;
	log_warnx("remote agent took over %ds for one job; dropping it",
	    RELAY_JOB_DEADLINE_S);
	peer_close(a->peer);
}

static void
ragent_msg(struct peer *p, struct ipc_msg *m)
{
	struct ragent		*a = p->ctx;
	struct d_rresult	 res;

	if (!a->ready) {
		if (agent_hello(p, m, D_TRANSPORT_REMOTE, "remote agent") == 0) {
			a->ready = 1;
			relay_dispatch();
		}
		return;
	}
	if (m->type != D_RRESULT || a->busy == NULL || m->id != a->jobid ||
	    proto_dec_d_rresult(m, &res) == -1) {
		log_warnx("remote agent sent an unexpected frame");
		ipc_msg_free(m);
		peer_close(p);
		return;
	}
	ipc_msg_free(m);
	if (res.nrcpt != a->busy->n) {
		log_warnx("remote agent answered %u recipients of %zu",
		    res.nrcpt, a->busy->n);
		proto_d_rresult_free(&res);
		peer_close(p);
		return;
	}
	ragent_finish(a, &res, NULL);
	proto_d_rresult_free(&res);
	relay_dispatch();
}

static void
ragent_accept(int fd, void *arg)
{
	struct ragent *a;

	(void)arg;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		close(fd);
		return;
	}
	/* Results of a full job: D_RJOB_RCPT_MAX texts, mtas and replies. */
	if ((a->peer = peer_new(Q->loop, fd, IPC_MAX_PAYLOAD, ragent_msg,
	    ragent_closed, a)) == NULL) {
		free(a);
		return;
	}
	TAILQ_INSERT_TAIL(&ragents, a, entry);
}

/* An idle agent, preferring one that has just served d (its connection). */
static struct ragent *
idle_agent(const struct rdest *d)
{
	struct ragent	*a, *any = NULL;
	uint64_t	 now = now_ms();

	TAILQ_FOREACH(a, &ragents, entry) {
		if (!a->ready || a->busy != NULL)
			continue;
		/* Its connection is still open while relayd caches it. */
		if (strcmp(a->last_dest, d->name) == 0 &&
		    now - a->last_done_ms <
		    (uint64_t)Q->conf.smtp_connection_cache_time * 1000)
			return a;
		if (any == NULL)
			any = a;
	}
	return any;
}

static int
batch_send(struct ragent *a, struct rbatch *b)
{
	/* 100 KiB at most: kept off the stack (one loop, one job at a time). */
	static struct d_rrcpt rc[D_RJOB_RCPT_MAX];
	struct d_rjob	 j;
	struct ipc_msg	 m;
	struct qmsg	*msg = b->msg;
	size_t		 i;
	int		 fd;

	memset(&j, 0, sizeof(j));
	strlcpy(j.qid, msg->env.id, sizeof(j.qid));
	strlcpy(j.sender, msg->env.sender, sizeof(j.sender));
	strlcpy(j.nexthop, b->dest->name, sizeof(j.nexthop));
	j.offset = SPOOL_HDR_LEN;
	j.size = msg->size;
	j.arrival_us = qid_time_us(msg->env.id);
	j.active_us = (uint64_t)b->ref[0].job->active_us;
	sched_remote_params(msg, &j);
	for (i = 0; i < b->n; i++) {
		struct rcpt_job *job = b->ref[i].job;

		memset(&rc[i], 0, sizeof(rc[i]));
		strlcpy(rc[i].addr, job->targets[b->ref[i].target].addr,
		    sizeof(rc[i].addr));
		strlcpy(rc[i].orcpt, job->orcpt, sizeof(rc[i].orcpt));
		sched_remote_rcpt_params(job, &rc[i]);
	}
	j.nrcpt = (uint32_t)b->n;
	j.rcpt = rc;
	if ((fd = spool_open_message(msg->env.id)) == -1) {
		batch_fail(b, ST_TEMP, "4.3.0 queue file unreadable", NULL, 1);
		return 0;
	}
	a->busy = b;
	a->jobid = next_jobid++;
	b->dest->active++;
	ipc_msg_init(&m, D_RJOB, a->jobid);
	if (proto_enc_d_rjob(&m, &j, fd) == -1) {
		ipc_msg_free(&m);
		b->dest->active--;
		a->busy = NULL;
		batch_fail(b, ST_PERM, "5.1.3 unusable address", NULL, 0);
		return 0;
	}
	a->timer = evloop_timer(Q->loop, RELAY_JOB_DEADLINE_S * 1000ULL,
	    ragent_timeout, a);
	if (peer_send(a->peer, &m) == -1) {
		ipc_msg_free(&m);
		return -1;	/* ragent_closed retries the job */
	}
	ipc_msg_free(&m);
	return 0;
}

/* One job per destination in turn, while agents and windows allow. */
static void
dispatch_once(void)
{
	struct rdest	*d, *next;
	struct ragent	*a;
	int		 sent;

	do {
		sent = 0;
		for (d = TAILQ_FIRST(&ring); d != NULL; d = next) {
			struct rbatch *b;

			next = TAILQ_NEXT(d, ring);
			if (TAILQ_EMPTY(&d->queue)) {
				TAILQ_REMOVE(&ring, d, ring);
				d->in_ring = 0;
				dest_gc(d);
				continue;
			}
			if (d->active >= d->window)
				continue;
			if ((a = idle_agent(d)) == NULL)
				return;
			b = TAILQ_FIRST(&d->queue);
			TAILQ_REMOVE(&d->queue, b, entry);
			d->nqueued--;
			/* Round robin: this destination goes to the back. */
			TAILQ_REMOVE(&ring, d, ring);
			TAILQ_INSERT_TAIL(&ring, d, ring);
			if (b->msg->deleted) {
				batch_fail(b, ST_TEMP, "4.3.0 message deleted",
				    NULL, 1);
				sent = 1;
				break;
			}
			if (batch_send(a, b) == -1)
				return;
			sent = 1;
			break;	/* the ring changed under us: start over */
		}
	} while (sent);
}

static struct dispatcher relay_dispatcher = { dispatch_once, 0, 0 };

static void
relay_dispatch(void)
{
	dispatcher_run(&relay_dispatcher);
}

void
relay_revive(const char *domain)
{
	struct rdest *d, *next;

	/* Forgotten at once if nothing else keeps it (dest_gc). */
	RB_FOREACH_SAFE(d, rdest_tree, &dests, next)
		if (domain == NULL || strcmp(d->name, domain) == 0) {
			d->dead_until = 0;
			d->dead_text[0] = '\0';
			dest_gc(d);
		}
}

void
relay_init(int relay_listen_fd)
{
	if (relay_listen_fd == -1)
		return;
	relay_enabled = 1;
	listener_register(relay_listen_fd, ragent_accept, NULL);
}

void
relay_shutdown(void)
{
	struct ragent *a;

	while ((a = TAILQ_FIRST(&ragents)) != NULL)
		agent_close(a->peer, a->ready && a->busy == NULL);
}

int
relay_agents_gone(void)
{
	return TAILQ_EMPTY(&ragents);
}
