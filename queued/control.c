/*
 * control.c - queued's control socket (private/control.sock, root only):
 * queue listing, flush, and the administrator's operations on messages
 * (delete, hold, release, requeue, flush) for the postern command. The
 * listing is also answered on inject.sock to queue_list_users
 * (submit.c asks control_list).
 *
 * Runs in queued. The socket's permissions admit root alone; requests are
 * still decoded strictly (every id must be a queue id, at most
 * Q_CTL_OP_MAX per frame), and a malformed one closes the connection.
 * An operation is answered once the envelopes it changed are durable;
 * they are written off the loop, so the answer waits in a ctl_req.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "peer.h"
#include "queued.h"

static void
reply_ok(struct peer *p, uint32_t id)
{
	struct ipc_msg r;

	ipc_msg_init(&r, Q_OK, id);
	proto_enc_q_ok(&r, "");
	(void)peer_send(p, &r);
	ipc_msg_free(&r);
}

/*
 * A listing in progress. A queue of a million messages is listed a
 * batch per loop turn, and a batch goes out only once the client has
 * read the last (peer_on_drain): neither the loop nor queued's memory
 * waits on a slow reader. The place in Q->msgs is a marker entry, so
 * messages may come and go meanwhile: each one there from the start to
 * the end is listed once, one that comes meanwhile may be.
 */
#define LIST_BATCH	256		/* entries per loop turn */
#define LIST_OUT_HIGH	(256 * 1024)	/* then wait for the client */

struct ctl_list {
	TAILQ_ENTRY(ctl_list)	 entry;
	struct peer		*p;
	uint32_t		 id;
	struct qmsg		 mark;		/* the place in Q->msgs */
	struct ev_timer		*next;		/* the next batch, or NULL */
	struct buf		 b;
	int			 stepping;	/* in list_step: free at its end */
	int			 cancelled;	/* the client went meanwhile */
};

static TAILQ_HEAD(, ctl_list) listings = TAILQ_HEAD_INITIALIZER(listings);

static void
list_free(struct ctl_list *l)
{
	TAILQ_REMOVE(&listings, l, entry);
	TAILQ_REMOVE(&Q->msgs, &l->mark, entry);
	if (l->next != NULL)
		evloop_timer_cancel(Q->loop, l->next);
	/* A drain waiter may be left on the peer: it is closing. */
	buf_free(&l->b);
	free(l);
}

/* One message's entry; 0, or -1 when it cannot be listed (logged). */
static int
list_entry(struct ctl_list *l, struct qmsg *m)
{
	struct envelope	 env;
	struct ipc_msg	 r;
	uint64_t	 size = m->size;
	int		 has_envfile, rc;

	buf_reset(&l->b);
	if (m->parked) {
		/* As it is on disk: a parked message is not changed. */
		if (spool_read(m->env.id, &env, &size, &has_envfile) !=
		    SPOOL_READ_OK)
			return -1;
		rc = env_write(&env, &l->b);
		env_free(&env);
	} else
		rc = env_write(&m->env, &l->b);
	if (rc == -1 || buf_cstr(&l->b) == -1)
		return -1;
	ipc_msg_init(&r, Q_CTL_ENTRY, l->id);
	if (proto_enc_q_ctl_entry(&r, l->b.data, size) == 0)
		(void)peer_send(l->p, &r);
	ipc_msg_free(&r);
	return 0;
}

static void list_step(void *);

static void
list_drained(struct peer *p, void *arg)
{
	(void)p;
	list_step(arg);
}

/*
 * Sends what may go now: 1 when the listing is complete, 0 when it goes
 * on later (a timer or the client's reading), -1 when the client is gone.
 */
static int
list_batch(struct ctl_list *l)
{
	struct qmsg	*m;
	int		 n = 0;

	while ((m = TAILQ_NEXT(&l->mark, entry)) != NULL) {
		TAILQ_REMOVE(&Q->msgs, &l->mark, entry);
		TAILQ_INSERT_AFTER(&Q->msgs, m, &l->mark, entry);
		if (m->marker || m->deleted)
			continue;
		(void)list_entry(l, m);
		if (l->cancelled || l->p->dead)
			return -1;
		if (l->p->c.out.len >= LIST_OUT_HIGH) {
			peer_on_drain(l->p, list_drained, l);
			return 0;
		}
		if (++n == LIST_BATCH) {
			if ((l->next = evloop_timer(Q->loop, 0, list_step,
			    l)) != NULL)
				return 0;
			n = 0;	/* no timer: go on in this turn */
		}
	}
	reply_ok(l->p, l->id);
	return 1;
}

static void
list_step(void *arg)
{
	struct ctl_list	*l = arg;
	int		 rc;

	l->next = NULL;
	/* A failed send may close the peer, and cancel l, from in here. */
	l->stepping = 1;
	rc = list_batch(l);
	l->stepping = 0;
	if (l->cancelled || rc == 1)
		list_free(l);
}

void
control_list(struct peer *p, uint32_t id)
{
	struct ctl_list *l;

	TAILQ_FOREACH(l, &listings, entry)
		if (l->p == p) {
			log_warnx("control: a second listing on one "
			    "connection; closing it");
			peer_close(p);
			return;
		}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		struct ipc_msg r;

		log_warn("queue listing");
		ipc_msg_init(&r, Q_ERR, id);
		proto_enc_q_err(&r, ST_TEMP, "4.3.0 out of memory");
		(void)peer_send(p, &r);
		ipc_msg_free(&r);
		return;
	}
	l->p = p;
	l->id = id;
	l->mark.marker = 1;
	l->mark.tidx = HEAP_NONE;
	buf_init(&l->b, ENV_MAX_SIZE);
	TAILQ_INSERT_TAIL(&listings, l, entry);
	TAILQ_INSERT_HEAD(&Q->msgs, &l->mark, entry);
	list_step(l);
}

void
control_list_cancel(struct peer *p)
{
	struct ctl_list *l;

	TAILQ_FOREACH(l, &listings, entry)
		if (l->p == p && !l->cancelled) {
			/* The peer is freed next: l no longer refers to it. */
			l->cancelled = 1;
			l->p = NULL;
			if (l->next != NULL) {
				evloop_timer_cancel(Q->loop, l->next);
				l->next = NULL;
			}
			if (!l->stepping)
				list_free(l);
			return;
		}
}

void
control_shutdown(void)
{
	while (!TAILQ_EMPTY(&listings))
		list_free(TAILQ_FIRST(&listings));
}

/*
 * A connection, kept while answers are owed on it: the peer may close
 * before the envelope writes that an operation waits for have ended.
 */
struct ctl_conn {
	struct peer	*p;		/* NULL once closed */
	int		 owed;		/* requests not yet answered */
};

/* One Q_CTL_OP request, answered once every change in it is durable. */
struct ctl_req {
	struct ctl_conn		*c;
	uint32_t		 id;
	uint32_t		 done;
	int			 waiting;	/* writes not yet ended, + 1 */
	struct q_ctl_ids	 missing;
};

static void
ctl_conn_release(struct ctl_conn *c)
{
	if (--c->owed == 0 && c->p == NULL)
		free(c);
}

static void
ctl_req_step(void *arg, int rc)
{
	struct ctl_req	*q = arg;
	struct ipc_msg	 r;

	(void)rc;	/* logged; the operation holds until a restart */
	if (--q->waiting > 0)
		return;
	if (q->c->p != NULL) {
		ipc_msg_init(&r, Q_CTL_DONE, q->id);
		if (proto_enc_q_ctl_done(&r, q->done, &q->missing) == 0)
			(void)peer_send(q->c->p, &r);
		else
			peer_close(q->c->p);
		ipc_msg_free(&r);
	}
	ctl_conn_release(q->c);
	proto_q_ctl_ids_free(&q->missing);
	free(q);
}

/* One operation on one message; 0, or -1 if it is not in the queue. */
static int
control_apply(uint32_t op, const char *qid, struct ctl_req *q)
{
	struct qmsg *m;

	if (op == Q_OP_DELETE)
		return sched_delete(qid);
	if ((m = sched_get(qid)) == NULL || m->deleted)
		return -1;
	switch (op) {
	case Q_OP_HOLD:
		q->waiting++;
		sched_hold(m, ctl_req_step, q);
		break;
	case Q_OP_RELEASE:
		q->waiting++;
		sched_release(m, ctl_req_step, q);
		break;
	case Q_OP_REQUEUE:
		q->waiting++;
		sched_requeue(m, ctl_req_step, q);
		break;
	case Q_OP_FLUSH:
		sched_flush(m);
		break;
	}
	return 0;
}

static void
control_op(struct peer *p, struct ipc_msg *m)
{
	struct ctl_conn		*c = p->ctx;
	struct q_ctl_ids	 ids;
	struct ctl_req		*q;
	struct ipc_msg		 r;
	uint32_t		 op, i;

	if (proto_dec_q_ctl_op(m, &op, &ids) == -1) {
		log_warnx("control: malformed request; closing");
		peer_close(p);
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL || (ids.n > 0 &&
	    (q->missing.id = calloc(ids.n, sizeof(*q->missing.id))) == NULL)) {
		free(q);
		proto_q_ctl_ids_free(&ids);
		ipc_msg_init(&r, Q_ERR, m->id);
		proto_enc_q_err(&r, ST_TEMP, "4.3.0 out of memory");
		(void)peer_send(p, &r);
		ipc_msg_free(&r);
		return;
	}
	q->c = c;
	q->id = m->id;
	q->waiting = 1;		/* until every operation is started */
	c->owed++;
	for (i = 0; i < ids.n; i++) {
		if (control_apply(op, ids.id[i], q) == 0)
			q->done++;
		else
			memcpy(q->missing.id[q->missing.n++], ids.id[i],
			    QID_LEN + 1);
	}
	proto_q_ctl_ids_free(&ids);
	ctl_req_step(q, 0);
}

static void
control_msg(struct peer *p, struct ipc_msg *m)
{
	char qid[QID_LEN + 1], domain[Q_CTL_DOMAIN_MAX + 1];

	switch (m->type) {
	case Q_CTL_LIST:
		if (m->body.len == 0)
			control_list(p, m->id);
		else
			peer_close(p);
		break;
	case Q_CTL_FLUSH:
		if (proto_dec_q_ctl_flush(m, domain) == -1) {
			peer_close(p);
			break;
		}
		if (domain[0] != '\0')
			log_info("queue flush requested for %s", domain);
		else
			log_info("queue flush requested");
		sched_flush_all(domain[0] != '\0' ? domain : NULL);
		reply_ok(p, m->id);
		break;
	case Q_CTL_DELETE:
		if (proto_dec_q_ctl_delete(m, qid) == -1) {
			peer_close(p);
			break;
		}
		if (sched_delete(qid) == 0)
			reply_ok(p, m->id);
		else {
			struct ipc_msg r;

			ipc_msg_init(&r, Q_ERR, m->id);
			proto_enc_q_err(&r, ST_PERM, "no such message in the "
			    "queue");
			(void)peer_send(p, &r);
			ipc_msg_free(&r);
		}
		break;
	case Q_CTL_OP:
		control_op(p, m);
		break;
	default:
		peer_close(p);
	}
	ipc_msg_free(m);
}

static void
control_closed(struct peer *p)
{
	struct ctl_conn *c = p->ctx;

	control_list_cancel(p);
	c->p = NULL;
	if (c->owed == 0)
		free(c);
}

static void
control_accept(int fd, void *arg)
{
	struct ctl_conn *c;

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		log_warn("control connection");
		close(fd);
		return;
	}
	/* A frame of Q_CTL_OP_MAX ids is about 80 KiB. */
	if ((c->p = peer_new(Q->loop, fd, IPC_MAX_PAYLOAD, control_msg,
	    control_closed, c)) == NULL)
		free(c);
}

void
control_init(int control_fd)
{
	if (control_fd != -1)
		listener_register(control_fd, control_accept, NULL);
}
