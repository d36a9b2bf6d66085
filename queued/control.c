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

/* One operation on one message; 0, or -1 if it is not in the queue. */
static int
control_apply(uint32_t op, const char *qid)
{
	struct qmsg *m;

	if (op == Q_OP_DELETE)
		return sched_delete(qid);
	if ((m = sched_find(qid)) == NULL || m->deleted)
		return -1;
	switch (op) {
	case Q_OP_HOLD:
		sched_hold(m);
		break;
	case Q_OP_RELEASE:
		sched_release(m);
		break;
	case Q_OP_REQUEUE:
		sched_requeue(m);
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
	struct q_ctl_ids	 ids, missing;
	struct ipc_msg		 r;
	uint32_t		 op, i, done = 0;

	if (proto_dec_q_ctl_op(m, &op, &ids) == -1) {
		log_warnx("control: malformed request; closing");
		peer_close(p);
		return;
	}
	missing.n = 0;
	if (ids.n > 0 &&
	    (missing.id = calloc(ids.n, sizeof(*missing.id))) == NULL) {
		proto_q_ctl_ids_free(&ids);
		ipc_msg_init(&r, Q_ERR, m->id);
		proto_enc_q_err(&r, ST_TEMP, "4.3.0 out of memory");
		(void)peer_send(p, &r);
		ipc_msg_free(&r);
		return;
	}
	for (i = 0; i < ids.n; i++) {
		if (control_apply(op, ids.id[i]) == 0)
			done++;
		else
			memcpy(missing.id[missing.n++], ids.id[i],
			    QID_LEN + 1);
	}
	ipc_msg_init(&r, Q_CTL_DONE, m->id);
	if (proto_enc_q_ctl_done(&r, done, &missing) == 0)
		(void)peer_send(p, &r);
	else
		peer_close(p);
	ipc_msg_free(&r);
	proto_q_ctl_ids_free(&ids);
	proto_q_ctl_ids_free(&missing);
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
control_accept(int fd, void *arg)
{
	/* A frame of Q_CTL_OP_MAX ids is about 80 KiB. */
	(void)peer_new(Q->loop, fd, IPC_MAX_PAYLOAD, control_msg, NULL, NULL);
}

void
control_init(int control_fd)
{
	if (control_fd != -1)
		listener_register(control_fd, control_accept, NULL);
}
