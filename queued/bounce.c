/*
 * bounce.c - the notices a message's delivery results owe: delivery
 * status notifications (RFC 3464) to its sender for recipients that
 * failed, that were delivered when NOTIFY=SUCCESS asked to be told, or
 * that have waited delay_warning_time; and, for mail from the null
 * sender that fails, a notice to the postmaster (double_bounce).
 *
 * Runs in queued, as the queue user. At the end of each round,
 * bounce_failed gathers what the round's results owe into one notice
 * (RFC 3464 lets one report carry recipients with different actions),
 * builds it with libcommon/dsn (which flattens every text that came from
 * outside), and queues it with the null sender. Its commit is made
 * durable on a syncer thread (the file, then queue/); only once it is on
 * disk are the recipients marked: failed ones become bounced, the others
 * get their ENV_DSN_SENT_* bit, and the caller writes the envelope, so a
 * crash in between sends a notice twice, never not at all.
 *
 * NOTIFY (RFC 3461): not given means FAILURE (and DELAY, when delay
 * warnings are on), as in Postfix; NEVER or a list without FAILURE means
 * no failure notice; SUCCESS asks for one on delivery. A notice is never
 * sent to the null sender: a notice that fails (its sender is <>) goes
 * to the postmaster, once (ENV_BOUNCE_POSTMASTER), or is dropped.
 */
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "dsn.h"
#include "fsutil.h"
#include "log.h"
#include "queued.h"

/*
 * Whether recipient r is owed a notice now, and with which action. A
 * failure with NOTIFY that refuses it is owed nothing (it is marked
 * bounced all the same).
 */
static int
owed(const struct qmsg *m, const struct env_rcpt *r, time_t now,
    enum dsn_action *action)
{
	const struct envelope *e = &m->env;

	switch (r->state) {
	case RCPT_FAILED:
		if (e->sender[0] == '\0') {
			/* <>: never to the sender; maybe to the postmaster */
			*action = DSN_ACTION_FAILED;
			return e->is_bounce != ENV_BOUNCE_POSTMASTER &&
			    strcmp(Q->conf.double_bounce, "postmaster") == 0;
		}
		*action = DSN_ACTION_FAILED;
		return r->notify == 0 || (r->notify & ENV_NOTIFY_FAILURE);
	case RCPT_DONE:
		*action = r->mta != NULL ? DSN_ACTION_RELAYED :
		    DSN_ACTION_DELIVERED;
		return e->sender[0] != '\0' &&
		    (r->notify & ENV_NOTIFY_SUCCESS) &&
		    !(r->dsn_sent & ENV_DSN_SENT_SUCCESS);
	case RCPT_DEFERRED:
		*action = DSN_ACTION_DELAYED;
		return e->sender[0] != '\0' && Q->conf.delay_warning_time > 0 &&
		    now - e->created >= Q->conf.delay_warning_time &&
		    (r->notify == 0 || (r->notify & ENV_NOTIFY_DELAY)) &&
		    !(r->dsn_sent & ENV_DSN_SENT_DELAY);
	default:
		return 0;
	}
}

/*
 * After the notice is on disk (or when none was owed): failures are
 * reported and become bounced; the others are not reported again.
 */
static void
mark_sent(struct qmsg *m, time_t now)
{
	enum dsn_action	a;
	size_t		i;

	for (i = 0; i < m->env.nrcpt; i++) {
		struct env_rcpt *r = &m->env.rcpt[i];
		int due = owed(m, r, now, &a);

		if (r->state == RCPT_FAILED) {
			r->state = RCPT_BOUNCED;
			m->dirty = 1;
		} else if (due && a == DSN_ACTION_DELAYED) {
			r->dsn_sent |= ENV_DSN_SENT_DELAY;
			m->dirty = 1;
		} else if (due) {
			r->dsn_sent |= ENV_DSN_SENT_SUCCESS;
			m->dirty = 1;
		}
	}
}

/*
 * The original as the notice returns it: all of it for RET=FULL within
 * bounce_size_limit, else enough for its header section. NULL (and
 * *len 0) when it cannot be read: the notice goes without it.
 */
static char *
read_original(const struct qmsg *m, size_t *len)
{
	uint64_t	 want = m->size;
	char		*text;
	ssize_t		 n;
	int		 fd;

	*len = 0;
	if (m->env.ret != ENV_RET_FULL || want > Q->conf.bounce_size_limit)
		want = want < DSN_HEADERS_MAX ? want : DSN_HEADERS_MAX;
	if ((fd = spool_open_message(m->env.id)) == -1)
		return NULL;
	if ((text = malloc((size_t)want + 1)) == NULL) {
		close(fd);
		return NULL;
	}
	n = fs_pread_full(fd, text, (size_t)want, SPOOL_HDR_LEN);
	close(fd);
	*len = n > 0 ? (size_t)n : 0;
	return text;
}

/* A notice being made durable on a syncer thread. */
struct bounce_commit {
	struct qmsg	*m;		/* the original */
	struct envelope	 env;		/* the notice's */
	uint64_t	 size;
	int		 fd;
	int		 err;		/* 0 or errno, from the thread */
	time_t		 now;		/* when what it reports was chosen */
	const char	*what;		/* for the log line */
	bounce_done_cb	 done;
};

/* On a syncer thread: the file, then queue/ (a new entry). */
static void
bounce_sync_work(void *arg)
{
	struct bounce_commit *bc = arg;

	bc->err = 0;
	if (fsync(bc->fd) == -1 || fsync(Q->queuefd) == -1)
		bc->err = errno;
}

/* In the loop: only now are the recipients marked as reported. */
static void
bounce_sync_done(void *arg)
{
	struct bounce_commit	*bc = arg;
	struct qmsg		*m = bc->m, *bm;
	char			 bqid[QID_LEN + 1];
	int			 rc = 0;

	Q->writes--;
	m->bouncing = 0;
	strlcpy(bqid, bc->env.id, sizeof(bqid));
	if (bc->err != 0) {
		errno = bc->err;
		log_warn("%s: fsync notice %s", m->env.id, bqid);
		/* Tried again later: this copy must not come back too. */
		spool_uncommit(bqid);
		log_warnx("%s: cannot queue notice", m->env.id);
		env_free(&bc->env);
		rc = -1;
	} else {
		log_info("%s: %s: %s", m->env.id, bc->what, bqid);
		mark_sent(m, bc->now);
		log_info("%s: message-id=<%s.dsn@%s>", bqid, bqid,
		    Q->conf.myhostname);
		log_info("%s: from=<>, size=%llu, nrcpt=1 (queue active)", bqid,
		    (unsigned long long)bc->size);
		/* NULL: it is on disk all the same; the next start picks it up. */
		if ((bm = sched_new_msg(&bc->env, bc->size)) == NULL)
			env_free(&bc->env);
		else
			sched_add(bm);
	}
	close(bc->fd);
	bc->done(m, rc);
	free(bc);
	if (Q->stopping && Q->rounds == 0 && Q->writes == 0)
		evloop_stop(Q->loop);	/* the drain of a stop is over */
}

/*
 * Queues the notice in b for rcpt: 1 when its commit is on its way to
 * disk (bounce_sync_done goes on), or -1 (logged) with nothing queued.
 */
static int
notice_queue(struct qmsg *m, const char *bqid, int fd, struct buf *b,
    const char *rcpt, int kind, int eightbit, time_t now, const char *what,
    bounce_done_cb done)
{
	struct bounce_commit	*bc;
	struct envelope		 env;
	char			 why[PROTO_TEXT_MAX];

	env_init(&env);
	strlcpy(env.id, bqid, sizeof(env.id));
	env.created = time(NULL);
	env.is_bounce = kind;
	env.body = eightbit ? ENV_BODY_8BITMIME : ENV_BODY_7BIT;
	/* To a sender who gave an address that needs it. */
	env.smtputf8 = m->env.smtputf8 && kind == ENV_BOUNCE_DSN;
	if ((bc = calloc(1, sizeof(*bc))) == NULL ||
	    fs_write_all(fd, b->data, b->len) == -1 ||
	    (env.sender = strdup("")) == NULL ||
	    (env.origin = strdup("local")) == NULL ||
	    (env.client = strdup("queued")) == NULL ||
	    (env.helo = strdup("")) == NULL ||
	    env_add_rcpt(&env, rcpt, NULL, 0) == -1) {
		log_warn("%s: cannot write notice", m->env.id);
		close(fd);
		spool_discard(bqid);
		env_free(&env);
		free(bc);
		return -1;
	}
	if (spool_commit_begin(fd, &env, b->len, why, sizeof(why)) == -1) {
		/* spool_commit_begin removed the file. */
		close(fd);
		env_free(&env);
		free(bc);
		log_warnx("%s: cannot queue notice: %s", m->env.id, why);
		return -1;
	}
	bc->m = m;
	bc->env = env;
	bc->size = b->len;
	bc->fd = fd;
	bc->now = now;
	bc->what = what;
	bc->done = done;
	m->bouncing = 1;
	Q->writes++;
	if (syncer_run(bounce_sync_work, bounce_sync_done, bc) == -1) {
		/* No memory for a job: here rather than not at all. */
		bounce_sync_work(bc);
		bounce_sync_done(bc);
	}
	return 1;
}

int
bounce_failed(struct qmsg *m, bounce_done_cb done)
{
	const struct envelope	*e = &m->env;
	struct dsn_rcpt		*dr = NULL;
	struct dsn_report	 rep;
	struct buf		 b;
	enum dsn_action		 a;
	char			 bqid[QID_LEN + 1], pm[ADDR_MAX + 1];
	char			*orig = NULL;
	const char		*to, *what;
	time_t			 now = time(NULL);
	size_t			 i, n = 0, nfail = 0, ndelay = 0, ndropped = 0;
	int			 fd, eightbit, kind, rc = -1;

	for (i = 0; i < e->nrcpt; i++) {
		if (owed(m, &e->rcpt[i], now, &a)) {
			n++;
			nfail += a == DSN_ACTION_FAILED;
			ndelay += a == DSN_ACTION_DELAYED;
		} else if (e->rcpt[i].state == RCPT_FAILED)
			ndropped++;
	}
	if (ndropped > 0) {
		if (e->sender[0] == '\0')
			log_info("%s: undeliverable mail from <>: %s", e->id,
			    e->is_bounce == ENV_BOUNCE_POSTMASTER ?
			    "a notice to the postmaster, dropped" :
			    "dropped (double_bounce = drop)");
		else
			log_info("%s: %zu failed recipient(s) asked for no "
			    "notice (NOTIFY)", e->id, ndropped);
	}
	if (n == 0) {
		mark_sent(m, now);
		return 0;
	}
	if (e->sender[0] == '\0') {
		snprintf(pm, sizeof(pm), "postmaster@%s",
		    conf_default_domain(&Q->conf));
		to = pm;
		kind = ENV_BOUNCE_POSTMASTER;
		what = "postmaster non-delivery notification";
		log_info("%s: undeliverable mail from <>: to the postmaster",
		    e->id);
	} else {
		to = e->sender;
		kind = ENV_BOUNCE_DSN;
		what = nfail > 0 ? "sender non-delivery notification" :
		    ndelay > 0 ? "sender delay notification" :
		    "sender delivery status notification";
	}
	if ((dr = calloc(n, sizeof(*dr))) == NULL) {
		log_warn("%s: cannot build notice", e->id);
		return -1;
	}
	for (i = 0, n = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		if (!owed(m, r, now, &a))
			continue;
		dr[n].final = r->addr;
		dr[n].orig = r->orcpt;
		dr[n].dsn_orcpt = r->dsn_orcpt;
		dr[n].action = a;
		/* A success's last reason is an old deferral's: not shown. */
		dr[n].reason = a == DSN_ACTION_FAILED ||
		    a == DSN_ACTION_DELAYED ? r->reason : NULL;
		dr[n].mta = r->mta;
		dr[n].diag = r->diag;
		n++;
	}
	memset(&rep, 0, sizeof(rep));
	rep.kind = kind == ENV_BOUNCE_POSTMASTER ? DSN_KIND_POSTMASTER :
	    nfail > 0 ? DSN_KIND_FAILURE : ndelay > 0 ? DSN_KIND_DELAY :
	    DSN_KIND_SUCCESS;
	rep.reporting_mta = Q->conf.myhostname;
	rep.to = to;
	rep.orig_qid = e->id;
	rep.orig_sender = e->sender;
	rep.envid = e->envid;
	rep.arrival = (time_t)e->created;
	rep.now = now;
	rep.retry_until = (time_t)(e->requeued > e->created ? e->requeued :
	    e->created) + Q->conf.queue_lifetime;
	rep.rcpt = dr;
	rep.nrcpt = n;
	/* The postmaster gets a failed notice's headers, not its text. */
	rep.ret = kind == ENV_BOUNCE_POSTMASTER ? ENV_RET_HDRS : e->ret;
	rep.msgsize = m->size;
	rep.size_limit = Q->conf.bounce_size_limit;
	rep.msg = orig = read_original(m, &rep.msglen);
	buf_init(&b, 0);
	if ((fd = spool_create(bqid)) == -1)
		goto out;
	rep.qid = bqid;
	if (dsn_build(&rep, &b, &eightbit) == -1) {
		log_warn("%s: cannot build notice", e->id);
		close(fd);
		spool_discard(bqid);
		goto out;
	}
	rc = notice_queue(m, bqid, fd, &b, to, kind, eightbit, now, what,
	    done);
out:
	buf_free(&b);
	free(orig);
	free(dr);
	return rc;
}
