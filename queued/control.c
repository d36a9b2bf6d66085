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

void
control_list(struct peer *p, uint32_t id)
{
	struct qmsg	*m;
	struct buf	 b;

	buf_init(&b, ENV_MAX_SIZE);
	TAILQ_FOREACH(m, &Q->msgs, entry) {
		struct ipc_msg r;

		buf_reset(&b);
		if (env_write(&m->env, &b) == -1 || buf_cstr(&b) == -1)
			continue;
		ipc_msg_init(&r, Q_CTL_ENTRY, id);
		if (proto_enc_q_ctl_entry(&r, b.data, m->size) == 0)
			(void)peer_send(p, &r);
		ipc_msg_free(&r);
		if (p->dead)
			break;
	}
	buf_free(&b);
	if (!p->dead)
		reply_ok(p, id);
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
	if ((m = sched_find(qid)) == NULL || m->deleted)
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
