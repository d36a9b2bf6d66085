/*
 * control.c - queued's control socket (private/control.sock, root only):
 * queue listing, flush and delete for the postern command.
 *
 * Runs in queued. The socket's permissions admit root alone; requests are
 * still decoded strictly.
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

static void
do_list(struct peer *p, uint32_t id)
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

static void
control_msg(struct peer *p, struct ipc_msg *m)
{
	char qid[QID_LEN + 1];

	switch (m->type) {
	case Q_CTL_LIST:
		if (m->body.len == 0)
			do_list(p, m->id);
		break;
	case Q_CTL_FLUSH:
		log_info("queue flush requested");
		sched_flush_all();
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
	default:
		peer_close(p);
	}
	ipc_msg_free(m);
}

static void
control_accept(int fd, void *arg)
{
	(void)peer_new(Q->loop, fd, 4096, control_msg, NULL, NULL);
}

void
control_init(int control_fd)
{
	if (control_fd != -1)
		listener_register(control_fd, control_accept, NULL);
}
