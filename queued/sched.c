/*
 * sched.c - queued's schedule: which recipient is due, what happened to
 * each delivery attempt, when to try again, when a message is finished.
 *
 * Runs in queued (queue user). Work on a message proceeds in rounds: a
 * round starts every due recipient at once (expansion, then one job per
 * mailbox) and ends when every answer is in; only then is the envelope
 * rewritten, so the recipient array never changes under a job that
 * refers to it by index. Memory holds nothing the spool does not: after a
 * crash, the scan rebuilds the same schedule.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "queued.h"

struct queued *Q;

/* Per-message round bookkeeping, kept beside the message. */
struct round {
	struct rcpt_job		**jobs;
	size_t			  njobs;
	size_t			 *rcpt_index;
	size_t			  unexpanded;	/* jobs not yet expanded */
	int			  starting;	/* sched_run is starting it */
	struct relay_open	 *relay;	/* remote jobs being gathered */
};

static struct round *
rounds_for(struct qmsg *m)
{
	if (m->round == NULL)
		m->round = calloc(1, sizeof(*m->round));
	return m->round;
}

static void
round_forget(struct qmsg *m)
{
	struct round	*rd = m->round;
	size_t		 i, j;

	if (rd == NULL)
		return;
	m->round = NULL;
	relay_discard(&rd->relay);
	for (i = 0; i < rd->njobs; i++) {
		for (j = 0; j < rd->jobs[i]->ntargets; j++) {
			free(rd->jobs[i]->targets[j].mta);
			free(rd->jobs[i]->targets[j].diag);
		}
		free(rd->jobs[i]->addr);
		free(rd->jobs[i]->orcpt);
		free(rd->jobs[i]->targets);
		free(rd->jobs[i]);
	}
	free(rd->jobs);
	free(rd->rcpt_index);
	free(rd);
}

struct qmsg *
sched_new_msg(struct envelope *env, uint64_t size)
{
	struct qmsg *m;

	if ((m = calloc(1, sizeof(*m))) == NULL) {
		log_warn("%s: out of memory", env->id);
		return NULL;
	}
	m->env = *env;		/* takes ownership of the strings */
	env_init(env);
	m->size = size;
	m->tidx = HEAP_NONE;
	return m;
}

void
sched_free_msg(struct qmsg *m)
{
	env_free(&m->env);
	free(m);
}

void
sched_add(struct qmsg *m)
{
	TAILQ_INSERT_TAIL(&Q->msgs, m, entry);
	msgtab_add(m);
	Q->nmsgs++;
	sched_run(m);
}

struct qmsg *
sched_find(const char *qid)
{
	struct qmsg *m;

	if ((m = msgtab_find(qid)) != NULL)
		return m;
	/* Not read yet by the start-up scan: read it now. */
	return spool_scan_find(qid);
}

static void msg_free(struct qmsg *);

struct qmsg *
sched_get(const char *qid)
{
	struct qmsg *m;

	if ((m = sched_find(qid)) == NULL)
		return NULL;
	switch (park_load(m)) {
	case SPOOL_READ_OK:
		return m;
	case SPOOL_READ_ERROR:
		return NULL;	/* logged; it stays, parked */
	default:
		msg_free(m);	/* nothing in flight for a parked message */
		return NULL;
	}
}

static void
msg_free(struct qmsg *m)
{
	timers_clear(m);
	park_forget(m);
	msgtab_del(m);
	TAILQ_REMOVE(&Q->msgs, m, entry);
	Q->nmsgs--;
	env_free(&m->env);
	free(m);
}

static void
arm_timer(struct qmsg *m)
{
	time_t	 next = 0;
	size_t	 i;

	if (m->env.held) {
		/* Nothing is due while held: release arms it again. */
		timers_clear(m);
		park_msg(m);
		return;
	}
	for (i = 0; i < m->env.nrcpt; i++) {
		struct env_rcpt *r = &m->env.rcpt[i];
		if (r->state == RCPT_DEFERRED &&
		    (next == 0 || r->next_try < next))
			next = r->next_try;
	}
	if (next == 0) {
		timers_clear(m);
		return;
	}
	timers_set(m, next);
	park_msg(m);	/* if nothing else refers to its envelope */
}

/* Removes m from the spool and from memory (nothing in flight for it). */
static void
msg_remove(struct qmsg *m, const char *why)
{
	spool_remove(m->env.id, m->envfile);
	log_info("%s: removed%s", m->env.id, why);
	msg_free(m);
}

/*
 * What a message waits for once its envelope is durable: removal if the
 * administrator deleted it meanwhile, a requeue asked meanwhile, else
 * its next round (at once if due, or its deadline).
 */
static void
msg_settled(struct qmsg *m)
{
	if (m->wr != NULL || m->inflight > 0 || m->bouncing)
		return;		/* whoever is in flight settles it */
	if (m->deleted) {
		msg_remove(m, " (deleted by the administrator)");
		return;
	}
	if (m->requeue) {
		m->requeue = 0;
		sched_requeue(m, NULL, NULL);
		return;
	}
	sched_run(m);
}

/* A round's results are durable: the next round may be planned. */
static void
round_written(struct qmsg *m, int rc, void *arg)
{
	(void)rc;	/* a failure is logged; the next change writes again */
	(void)arg;
	msg_settled(m);
}

/* All final, but the bounce could not be queued: tried again later. */
static void
bounce_wait_written(struct qmsg *m, int rc, void *arg)
{
	(void)rc;
	(void)arg;
	if (m->deleted || m->requeue)
		msg_settled(m);
	else if (m->wr == NULL && m->inflight == 0 && !m->bouncing)
		timers_set(m, time(NULL) + 60);
}

static void round_bounced(struct qmsg *, int);
static void sched_flush_due(struct qmsg *);

static time_t
backoff(uint32_t tries)
{
	time_t d = Q->conf.queue_retry_min;

	while (tries > 1 && d < Q->conf.queue_retry_max) {
		d *= 2;
		tries--;
	}
	return d > Q->conf.queue_retry_max ? Q->conf.queue_retry_max : d;
}

/*
 * An outcome decided here, with no delivery agent (expansion failed, no
 * transport for a remote domain): the same line an agent would log.
 */
static void
log_status(struct rcpt_job *job, const char *addr, const char *status,
    const char *text)
{
	struct log_delivery d;

	memset(&d, 0, sizeof(d));
	d.qid = job->msg->env.id;
	d.to = addr;
	d.orig_to = job->orcpt;
	d.relay = "none";
	d.status = status;
	d.text = text;
	d.arrival_us = (int64_t)qid_time_us(job->msg->env.id);
	d.active_us = job->active_us;
	d.done_us = log_now_us();
	log_delivery(&d);
}

/* Applies one outcome to recipient r. */
static void
rcpt_apply(struct qmsg *m, struct env_rcpt *r, uint32_t status,
    const char *text, int internal)
{
	time_t now = time(NULL);

	m->dirty = 1;
	switch (status) {
	case ST_OK:
		r->state = RCPT_DONE;
		env_set_reason(r, NULL);
		return;
	case ST_PERM:
		r->state = RCPT_FAILED;
		env_set_reason(r, text);
		return;
	default:
		r->tries++;
		env_set_reason(r, text);
		/* A requeue restarts the lifetime, as Postfix's postsuper -r. */
		if (now - (m->env.requeued > m->env.created ?
		    m->env.requeued : m->env.created) >=
		    Q->conf.queue_lifetime) {
			char why[PROTO_TEXT_MAX + 64];

			snprintf(why, sizeof(why), "4.4.7 message expired in "
			    "queue; last error: %s", text);
			r->state = RCPT_FAILED;
			env_set_reason(r, why);
			/* Postfix's qmgr line; the deferral itself is logged. */
			log_info("%s: to=<%s>, status=expired, %s", m->env.id,
			    r->addr, m->env.sender[0] != '\0' ?
			    "returned to sender" : "discarded (null sender)");
			return;
		}
		r->state = RCPT_DEFERRED;
		/* A crashed agent is our fault, not the recipient's: retry soon. */
		r->next_try = now + ((internal && r->tries <= 3) ? 1 :
		    backoff(r->tries));
	}
}

/*
 * The server and reply behind a remote outcome, for the DSN's Remote-MTA
 * and Diagnostic-Code; a local outcome clears what an earlier remote try
 * left.
 */
static void
rcpt_remote_detail(struct env_rcpt *r, const struct rcpt_target *t)
{
	if (env_set_str(&r->mta, t->mta) == -1 ||
	    env_set_str(&r->diag, t->diag) == -1)
		log_warn("out of memory: a DSN will lack the remote reply");
}

/*
 * Puts job i's outcome into the envelope. Recipients are only appended
 * (an alias's targets that must be retried on their own), never moved,
 * so the other jobs' indexes stay good while the round goes on.
 */
static void
job_apply(struct qmsg *m, struct round *rd, size_t i)
{
	struct rcpt_job	*job = rd->jobs[i];
	size_t		 ri = rd->rcpt_index[i], j, nok = 0, ntemp = 0,
			 nperm = 0;
	char		*orcpt;

	if (job->applied || ri >= m->env.nrcpt)
		return;
	job->applied = 1;
	for (j = 0; j < job->ntargets; j++) {
		uint32_t st = job->targets[j].status;
		nok += st == ST_OK;
		ntemp += st == ST_TEMP;
		nperm += st == ST_PERM;
	}
	if (job->ntargets == 1) {
		rcpt_apply(m, &m->env.rcpt[ri], job->targets[0].status,
		    job->targets[0].text, job->targets[0].internal);
		rcpt_remote_detail(&m->env.rcpt[ri], &job->targets[0]);
		return;
	}
	if (ntemp == 0 && nperm == 0) {
		rcpt_apply(m, &m->env.rcpt[ri], ST_OK, NULL, 0);
		return;
	}
	if (nok == 0 && nperm == 0) {
		rcpt_apply(m, &m->env.rcpt[ri], ST_TEMP,
		    job->targets[0].text, 0);
		return;
	}
	/*
	 * Some targets got it: the rest become recipients of their
	 * own, already expanded, so a retry cannot deliver twice.
	 */
	if ((orcpt = strdup(m->env.rcpt[ri].orcpt)) == NULL) {
		job->applied = 0;	/* retried whole later */
		return;
	}
	m->env.rcpt[ri].state = RCPT_DONE;
	for (j = 0; j < job->ntargets; j++) {
		struct rcpt_target *t = &job->targets[j];
		struct env_rcpt *nr;

		if (t->status == ST_OK)
			continue;
		if (env_add_rcpt(&m->env, t->addr, orcpt,
		    t->kind == R_KIND_COMMAND ? ENV_FINAL_COMMAND :
		    ENV_FINAL_ADDRESS) == -1) {
			log_warn("%s: out of memory", m->env.id);
			m->env.rcpt[ri].state = RCPT_DEFERRED;
			continue;
		}
		nr = &m->env.rcpt[m->env.nrcpt - 1];
		/* The sender's DSN wishes were for the recipient as given. */
		nr->notify = m->env.rcpt[ri].notify;
		if (env_set_str(&nr->dsn_orcpt, m->env.rcpt[ri].dsn_orcpt) ==
		    -1)
			log_warn("%s: out of memory", m->env.id);
		rcpt_apply(m, nr, t->status, t->text, 0);
		rcpt_remote_detail(nr, t);
	}
	free(orcpt);
	m->dirty = 1;
}

static void
round_finish(struct qmsg *m)
{
	struct round	*rd = m->round;
	size_t		 i;

	for (i = 0; rd != NULL && i < rd->njobs; i++)
		job_apply(m, rd, i);
	round_forget(m);

	if (m->requeue && !m->deleted) {
		m->requeue = 0;
		sched_requeue(m, NULL, NULL);	/* writes, then runs it */
		return;
	}
	if (m->deleted) {
		/* A write in flight (mid-round, or a hold) removes it at its end. */
		if (m->wr == NULL)
			msg_remove(m, " (deleted by the administrator)");
		return;
	}
	/*
	 * A write may be in flight (a success made durable mid-round, an
	 * administrator's hold): what follows coalesces with it, and removes
	 * nothing before it has ended (round_bounced).
	 */
	/*
	 * Failures are reported at the end of the round they happen in, not
	 * when the slowest other recipient is done.
	 */
	switch (bounce_failed(m, round_bounced)) {
	case 1:
		return;		/* round_bounced goes on once it is durable */
	case 0:
		round_bounced(m, 0);
		break;
	default:
		round_bounced(m, -1);
	}
}

/* A round's failures are reported (rc 0), or could not be (-1). */
static void
round_bounced(struct qmsg *m, int rc)
{
	if (env_all_final(&m->env) && m->wr == NULL) {
		if (rc == -1) {
			/* Keep the message until its bounce can be queued. */
			if (m->dirty)
				spool_write_env(m, bounce_wait_written, NULL);
			else
				timers_set(m, time(NULL) + 60);
			return;
		}
		msg_remove(m, "");
		return;
	}
	if (rc == -1)
		log_warnx("%s: bounce postponed to the next round", m->env.id);
	/*
	 * The next round is planned only once these results are durable:
	 * a crash before then must find the state this round began with
	 * or the one it ended with, never a later round's on top of an
	 * unwritten one.
	 */
	if (m->dirty || m->wr != NULL)
		spool_write_env(m, round_written, NULL);
	else
		arm_timer(m);
}

/* m's last outstanding job or expansion came back. */
static void
round_ended(struct qmsg *m)
{
	Q->rounds--;
	round_finish(m);
	/* Room again in the active set: what waited for it may start. */
	if (Q->rounds + 1 == Q->conf.queue_active_limit)
		timers_kick();
	if (Q->stopping && Q->rounds == 0 && Q->writes == 0)
		evloop_stop(Q->loop);	/* the drain of a stop is over */
}

static int
job_succeeded_somewhere(const struct rcpt_job *job)
{
	size_t i;

	for (i = 0; i < job->ntargets; i++)
		if (job->targets[i].status == ST_OK)
			return 1;
	return 0;
}

/*
 * A success made durable mid-round. Nothing to settle here: the round's
 * end, if it comes while this write is out, queues a write of its own
 * whose waiter (round_written) settles the message; two waiters that
 * both settled could free it under each other.
 */
static void
success_written(struct qmsg *m, int rc, void *arg)
{
	(void)m;
	(void)rc;
	(void)arg;
}

static void
job_done(struct rcpt_job *job)
{
	struct qmsg	*m = job->msg;
	struct round	*rd = m->round;

	/*
	 * While the round goes on (a slow remote server, a long alias
	 * command), a delivery that succeeded is made durable now: a crash
	 * before the round ends must not deliver it again. Failures wait
	 * for the round's end (trying one again costs nothing), and so does
	 * the last job of a round: round_finish writes once.
	 */
	if (m->inflight > 1 && rd != NULL && !rd->starting &&
	    job_succeeded_somewhere(job)) {
		job_apply(m, rd, job->round_index);
		/* Off the loop too; the round's end waits for it (m->wr). */
		if (m->dirty)
			spool_write_env(m, success_written, NULL);
	}
	if (--m->inflight == 0)
		round_ended(m);
}

void
sched_delivered(struct rcpt_job *job, size_t i, uint32_t status,
    const char *text)
{
	struct rcpt_target *t = &job->targets[i];

	if (t->done)
		return;
	t->done = 1;
	t->status = status;
	strlcpy(t->text, text, sizeof(t->text));
	if (--job->pending == 0)
		job_done(job);
}

void
sched_remote_detail(struct rcpt_job *job, size_t i, const char *mta,
    const char *diag)
{
	struct rcpt_target *t = &job->targets[i];

	free(t->mta);
	free(t->diag);
	t->mta = mta[0] != '\0' ? strdup(mta) : NULL;
	t->diag = diag[0] != '\0' ? strdup(diag) : NULL;
}

void
sched_remote_params(const struct qmsg *m, struct d_rjob *j)
{
	j->flags = (m->env.body == ENV_BODY_8BITMIME ? D_RJOB_8BITMIME : 0) |
	    (m->env.smtputf8 ? D_RJOB_SMTPUTF8 : 0);
	j->ret = (uint32_t)m->env.ret;
	strlcpy(j->envid, m->env.envid != NULL ? m->env.envid : "",
	    sizeof(j->envid));
}

void
sched_remote_rcpt_params(const struct rcpt_job *job, struct d_rrcpt *rc)
{
	const struct qmsg	*m = job->msg;
	const struct env_rcpt	*r;
	size_t			 ri;

	rc->dsn_orcpt[0] = '\0';
	rc->notify = 0;
	if (m->round == NULL ||
	    (ri = m->round->rcpt_index[job->round_index]) >= m->env.nrcpt)
		return;
	r = &m->env.rcpt[ri];
	rc->notify = r->notify & ENV_NOTIFY_MASK;
	if (r->dsn_orcpt != NULL)
		strlcpy(rc->dsn_orcpt, r->dsn_orcpt, sizeof(rc->dsn_orcpt));
}

static int
dispatched_in_round(struct qmsg *m, uint32_t kind, const char *addr)
{
	struct round	*rd = m->round;
	size_t		 i, j;

	for (i = 0; rd != NULL && i < rd->njobs; i++)
		for (j = 0; j < rd->jobs[i]->ntargets; j++)
			if (rd->jobs[i]->targets[j].dispatched &&
			    rd->jobs[i]->targets[j].kind == kind &&
			    (kind == R_KIND_COMMAND ?
			    strcmp(rd->jobs[i]->targets[j].addr, addr) :
			    strcasecmp(rd->jobs[i]->targets[j].addr, addr)) == 0)
				return 1;
	return 0;
}

static void expanded_targets(struct rcpt_job *, const struct r_expansion *);

void
sched_expanded(struct rcpt_job *job, const struct r_expansion *x)
{
	struct qmsg	*m = job->msg;
	struct round	*rd = m->round;

	/*
	 * Held while the targets go out: an answer that comes at once
	 * could otherwise end the round, and free it, job and all, before
	 * the round's bookkeeping below.
	 */
	m->inflight++;
	expanded_targets(job, x);
	/*
	 * Every recipient of the round expanded: its remote targets are
	 * gathered, one job per next hop, and go.
	 */
	if (rd != NULL && rd->unexpanded > 0 && --rd->unexpanded == 0)
		relay_close(&rd->relay);
	if (--m->inflight == 0)
		round_ended(m);
}

static void
expanded_targets(struct rcpt_job *job, const struct r_expansion *x)
{
	struct qmsg	*m = job->msg;
	size_t		 i;

	if (x->status != ST_OK || x->n == 0) {
		const char *text = x->text[0] ? x->text :
		    "4.3.0 empty alias expansion";

		if ((job->targets = calloc(1, sizeof(*job->targets))) == NULL)
			fatal("calloc");
		job->ntargets = 1;
		job->pending = 1;
		strlcpy(job->targets[0].addr, job->addr,
		    sizeof(job->targets[0].addr));
		job->targets[0].internal = job->internal;
		log_status(job, job->addr, x->status == ST_PERM ?
		    "bounced" : "deferred", text);
		sched_delivered(job, 0, x->status == ST_OK ? ST_PERM :
		    x->status, text);
		return;
	}
	if ((job->targets = calloc(x->n, sizeof(*job->targets))) == NULL)
		fatal("calloc");
	job->ntargets = x->n;
	job->pending = x->n;
	for (i = 0; i < x->n; i++) {
		strlcpy(job->targets[i].addr, x->t[i].addr,
		    sizeof(job->targets[i].addr));
		job->targets[i].kind = x->t[i].kind;
	}
	for (i = 0; i < x->n; i++) {
		if (dispatched_in_round(m, job->targets[i].kind,
		    job->targets[i].addr)) {
			/* Two recipients of one message, one mailbox: one copy. */
			sched_delivered(job, i, ST_OK,
			    "2.0.0 duplicate suppressed");
			continue;
		}
		job->targets[i].dispatched = 1;
		if (job->targets[i].kind == R_KIND_REMOTE) {
			relay_add(&m->round->relay, job, i);
			continue;
		}
		agents_deliver(job, i);
	}
}

void
sched_run(struct qmsg *m)
{
	struct round	*rd;
	time_t		 now = time(NULL);
	int64_t		 active_us = log_now_us();
	size_t		 i, due = 0;

	/*
	 * A held message starts no round: it neither delivers nor expires.
	 * Nor does one whose envelope is being written: that write's end
	 * runs it (msg_settled).
	 */
	if (m->inflight > 0 || m->wr != NULL || m->bouncing || m->deleted ||
	    Q->stopping ||
	    m->env.held)
		return;
	if (m->parked) {
		/* Read back only once a round may start (the bound below). */
		if (Q->rounds >= Q->conf.queue_active_limit) {
			timers_set(m, now);
			return;
		}
		switch (park_load(m)) {
		case SPOOL_READ_OK:
			break;
		case SPOOL_READ_ERROR:
			timers_set(m, now + Q->conf.queue_retry_min);
			return;
		default:
			msg_free(m);
			return;
		}
	}
	for (i = 0; i < m->env.nrcpt; i++) {
		struct env_rcpt *r = &m->env.rcpt[i];
		if (r->state == RCPT_PENDING ||
		    (r->state == RCPT_DEFERRED && r->next_try <= now))
			due++;
	}
	if (due == 0) {
		if (env_all_final(&m->env)) {
			/* Loaded from disk already finished (crash before removal). */
			round_finish(m);
		} else
			arm_timer(m);
		return;
	}
	/*
	 * The active set is bounded: at queue_active_limit rounds in
	 * flight, a due message waits in the deadline heap, due now, and
	 * starts when a round ends (timers_kick), earliest first.
	 */
	if (Q->rounds >= Q->conf.queue_active_limit) {
		timers_set(m, time(NULL));
		return;
	}
	if ((rd = rounds_for(m)) == NULL ||
	    (rd->jobs = calloc(due, sizeof(*rd->jobs))) == NULL ||
	    (rd->rcpt_index = calloc(due, sizeof(size_t))) == NULL) {
		log_warn("%s: out of memory; retrying later", m->env.id);
		round_forget(m);
		return;
	}
	/* One extra reference held while starting: answers may come at once. */
	m->inflight = (int)due + 1;
	Q->rounds++;
	for (i = 0; i < m->env.nrcpt; i++) {
		struct env_rcpt	*r = &m->env.rcpt[i];
		struct rcpt_job	*job;

		if (!(r->state == RCPT_PENDING ||
		    (r->state == RCPT_DEFERRED && r->next_try <= now)))
			continue;
		if ((job = calloc(1, sizeof(*job))) == NULL ||
		    (job->addr = strdup(r->addr)) == NULL ||
		    (job->orcpt = strdup(r->orcpt != NULL ? r->orcpt :
		    r->addr)) == NULL)
			fatal("calloc");
		job->active_us = active_us;
		job->msg = m;
		job->round_index = rd->njobs;
		rd->jobs[rd->njobs] = job;
		rd->rcpt_index[rd->njobs] = i;
		rd->njobs++;
	}
	/* Start them only now: an answer may complete the round at once. */
	rd->unexpanded = rd->njobs;
	rd->starting = 1;
	for (i = 0; i < rd->njobs; i++) {
		struct rcpt_job *job = rd->jobs[i];
		struct env_rcpt *r = &m->env.rcpt[rd->rcpt_index[i]];

		if (r->final) {
			struct r_expansion x;
			struct r_target t;

			memset(&x, 0, sizeof(x));
			memset(&t, 0, sizeof(t));
			const char *at = strrchr(r->addr, '@');

			strlcpy(t.addr, r->addr, sizeof(t.addr));
			if (r->final == ENV_FINAL_COMMAND)
				t.kind = R_KIND_COMMAND;
			else
				t.kind = (at != NULL && conf_is_local_domain(
				    &Q->conf, at + 1)) ? R_KIND_MAILBOX :
				    R_KIND_REMOTE;
			x.status = ST_OK;
			x.n = 1;
			x.t = &t;
			sched_expanded(job, &x);
		} else
			agents_expand(job);
	}
	rd->starting = 0;
	if (--m->inflight == 0)
		round_ended(m);
}

/* 1 if addr's domain is domain (any case). */
static int
rcpt_in_domain(const char *addr, const char *domain)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, domain) == 0;
}

void
sched_flush_all(const char *domain)
{
	struct qmsg	*m, *next;
	size_t		 i;

	time_t		 now = time(NULL);
	int		 due;

	/*
	 * Made due, not run here: the deadline heap starts them a batch per
	 * loop turn, so a flush of a million messages stalls nothing.
	 */
	for (m = TAILQ_FIRST(&Q->msgs); m != NULL; m = next) {
		next = TAILQ_NEXT(m, entry);
		if (m->marker || m->env.held)
			continue;
		if (m->parked) {
			/* Its recipients are read, and made due, when it is. */
			park_flush_mark(m);
			timers_set(m, now);
			continue;
		}
		for (i = 0, due = 0; i < m->env.nrcpt; i++)
			if (m->env.rcpt[i].state == RCPT_DEFERRED &&
			    (domain == NULL ||
			    rcpt_in_domain(m->env.rcpt[i].addr, domain))) {
				m->env.rcpt[i].next_try = 0;
				due = 1;
			}
		if (due)
			timers_set(m, now);
	}
	park_flush_note(domain);
	relay_revive(domain);
}

/* Every deferred recipient of m due now (nothing started). */
static void
sched_flush_due(struct qmsg *m)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpt[i].state == RCPT_DEFERRED)
			m->env.rcpt[i].next_try = 0;
}

void
sched_flush(struct qmsg *m)
{
	sched_flush_due(m);
	sched_run(m);
}

/* An administrator's operation, and who waits for it to be durable. */
struct persist {
	const char	*what;
	int		 flush;		/* then try it at once (release) */
	sched_done_cb	 done;
	void		*arg;
};

static void
persist_written(struct qmsg *m, int rc, void *arg)
{
	struct persist *p = arg;

	if (rc == 0)
		log_info("%s: %s", m->env.id, p->what);
	else
		log_warnx("%s: %s, but only until queued restarts (the "
		    "envelope could not be rewritten)", m->env.id, p->what);
	if (p->done != NULL)
		p->done(p->arg, rc);
	if (m->env.held && !m->deleted && !m->requeue)
		arm_timer(m);	/* cancels it */
	else {
		if (p->flush)
			sched_flush_due(m);
		msg_settled(m);
	}
	free(p);
}

/*
 * The envelope on disk first: a hold that a restart forgot would let
 * the message go. A failed write leaves the change in memory only, and
 * says so; the next state change writes it again. done (may be NULL)
 * hears when the change is durable.
 */
static void
sched_persist(struct qmsg *m, const char *what, int flush, sched_done_cb done,
    void *arg)
{
	struct persist *p;

	if ((p = calloc(1, sizeof(*p))) == NULL) {
		log_warn("%s: %s", m->env.id, what);
		if (done != NULL)
			done(arg, -1);
		return;
	}
	p->what = what;
	p->flush = flush;
	p->done = done;
	p->arg = arg;
	spool_write_env(m, persist_written, p);
}

void
sched_hold(struct qmsg *m, sched_done_cb done, void *arg)
{
	if (m->env.held) {
		if (done != NULL)
			done(arg, 0);
		return;
	}
	m->env.held = time(NULL);
	timers_clear(m);
	sched_persist(m, "placed on hold", 0, done, arg);
}

void
sched_release(struct qmsg *m, sched_done_cb done, void *arg)
{
	if (!m->env.held) {
		if (done != NULL)
			done(arg, 0);
		return;
	}
	m->env.held = 0;
	/* Its retries were due while it was held: it is tried at once. */
	sched_persist(m, "released from hold", 1, done, arg);
}

void
sched_requeue(struct qmsg *m, sched_done_cb done, void *arg)
{
	size_t i;

	if (m->inflight > 0 || m->bouncing) {
		/* The round (or bounce) in flight still refers to them. */
		m->requeue = 1;
		if (done != NULL)
			done(arg, 0);
		return;
	}
	for (i = 0; i < m->env.nrcpt; i++) {
		struct env_rcpt *r = &m->env.rcpt[i];

		if (r->state != RCPT_PENDING && r->state != RCPT_DEFERRED)
			continue;
		r->state = RCPT_PENDING;
		r->tries = 0;
		r->next_try = 0;
		env_set_reason(r, NULL);
	}
	m->env.held = 0;
	m->env.requeued = time(NULL);
	sched_persist(m, "requeued", 0, done, arg);
}

int
sched_delete(const char *qid)
{
	struct qmsg *m = sched_find(qid);

	if (m == NULL)
		return -1;
	m->deleted = 1;
	msg_settled(m);
	return 0;
}

void
sched_shutdown(void)
{
	/* control_shutdown took the listings' markers out first. */
	while (!TAILQ_EMPTY(&Q->msgs)) {
		struct qmsg *m = TAILQ_FIRST(&Q->msgs);
		round_forget(m);
		msg_free(m);
	}
	timers_shutdown();
	msgtab_shutdown();
	park_shutdown();
}
