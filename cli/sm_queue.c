/*
 * sm_queue.c - sendmail's client of queued's submission socket
 * (<spool>/public/inject.sock): one message per Q_BEGIN / write /
 * Q_COMMIT, for the command line mode and for each message of -bs alike.
 *
 * Runs in sendmail, as the invoking user, unprivileged (cli_core). queued
 * decides who may submit and with which sender, from the uid the kernel
 * gives it with this connection; nothing here can claim another identity,
 * so the rules are the same whichever mode of sendmail submitted. queued
 * is trusted to speak the protocol, not for its texts: they are
 * sanitised before they reach a terminal or an SMTP reply.
 *
 * Order of operations, and why: the header is built only once queued has
 * handed over the file (the Message-ID we add carries its queue id); the
 * size limit is checked again with that header counted; and only Q_OK
 * means the message is the queue's. Anything short of it ends in Q_ABORT
 * (and a closed connection, which tells queued the same).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "proto.h"
#include "sendmail.h"
#include "text.h"

static int __attribute__((format(printf, 3, 4)))
sm_queue_fail(struct sm_queue *q, enum sm_qstatus st, const char *fmt, ...)
{
	va_list ap;

	q->status = st;
	va_start(ap, fmt);
	vsnprintf(q->text, sizeof(q->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* A Q_ERR from queued: its own text ("5.7.1 ..."), sanitised. */
static int
sm_queue_refused(struct sm_queue *q, const struct ipc_msg *m,
    const char *when)
{
	struct q_err	e;
	char		text[PROTO_TEXT_MAX];

	if (m->type != Q_ERR || proto_dec_q_err(m, &e) == -1)
		return sm_queue_fail(q, SM_Q_SOFTWARE, "unexpected reply from "
		    "the queue %s", when);
	(void)text_sanitize(text, sizeof(text), e.text, '?', 0);
	q->refused = 1;
	strlcpy(q->when, when, sizeof(q->when));
	if (e.status == ST_TEMP)
		q->status = SM_Q_TEMP;
	/* 5.7.x: this user, or this sender, is not allowed (postern.conf). */
	else if (strncmp(text, "5.7.", 4) == 0)
		q->status = SM_Q_NOPERM;
	else
		q->status = SM_Q_PERM;
	strlcpy(q->text, text, sizeof(q->text));
	return -1;
}

/*
 * Sends m (and frees it), then reads queued's answer into m: 0, or -1
 * with the failure in q.
 */
static int
sm_queue_call(struct sm_queue *q, struct ipc_msg *m, const char *when)
{
	int rc;

	rc = ipc_send_wait(&q->conn, m, PROTO_TIMEOUT_MS);
	ipc_msg_free(m);
	if (rc == -1)
		return sm_queue_fail(q, SM_Q_TEMP, "talking to the queue: %s",
		    strerror(errno));
	if (ipc_recv_wait(&q->conn, m, PROTO_TIMEOUT_MS) == -1)
		return sm_queue_fail(q, SM_Q_TEMP, "no answer from the queue "
		    "%s: %s", when, errno == EPIPE ? "connection closed" :
		    strerror(errno));
	return 0;
}

void
sm_queue_init(struct sm_queue *q)
{
	memset(q, 0, sizeof(*q));
	q->fd = -1;
}

int
sm_queue_begin(struct sm_queue *q, const struct conf *conf)
{
	struct ipc_msg	m;
	char		dir[PATH_MAX];
	int		fd, rc;

	sm_queue_end(q);
	if (fs_path(dir, sizeof(dir), conf->spool_directory, "public") == -1)
		return sm_queue_fail(q, SM_Q_CONFIG, "spool_directory is too "
		    "long");
	if ((fd = cli_connect(dir, "inject.sock")) == -1)
		return sm_queue_fail(q, SM_Q_TEMP, "cannot reach the queue at "
		    "%s/inject.sock: %s (is postern running?)", dir,
		    strerror(errno));
	ipc_conn_init(&q->conn, fd, IPC_MAX_PAYLOAD);
	q->open = 1;

	ipc_msg_init(&m, Q_BEGIN, 0);
	if (sm_queue_call(q, &m, "at the start") == -1)
		return -1;
	if (m.type == Q_FILE && proto_dec_q_file(&m, q->qid) == 0) {
		q->fd = m.fd;
		m.fd = -1;
		rc = 0;
	} else if (m.type == Q_ERR)
		rc = sm_queue_refused(q, &m, "at the start");
	else
		rc = sm_queue_fail(q, SM_Q_SOFTWARE, "malformed reply from "
		    "the queue");
	ipc_msg_free(&m);
	return rc;
}

int
sm_queue_write(struct sm_queue *q, const struct conf *conf,
    struct mailhdr *hdr, const char *text, size_t len,
    const struct sm_stamp *stamp_in, uint64_t *size)
{
	struct sm_stamp	 st = *stamp_in;
	struct buf	 h;
	const char	*body = text + hdr->body_off;
	size_t		 blen = len - hdr->body_off;
	int		 rc = 0;

	st.myhostname = conf->myhostname;
	st.qid = q->qid;
	buf_init(&h, MAILHDR_SECTION_MAX + 65536);
	if (sm_header_build(hdr, text, &st, &h) == -1)
		rc = sm_queue_fail(q, SM_Q_SOFTWARE, "cannot build the "
		    "message header");
	else if ((uint64_t)h.len + blen > conf->message_size_limit)
		rc = sm_queue_fail(q, SM_Q_TOOBIG, "message with its added "
		    "header is larger than message_size_limit (%llu bytes)",
		    (unsigned long long)conf->message_size_limit);
	else if (fs_write_all(q->fd, h.data, h.len) == -1 ||
	    (blen > 0 && fs_write_all(q->fd, body, blen) == -1) ||
	    fsync(q->fd) == -1)
		rc = sm_queue_fail(q, SM_Q_TEMP, "writing the queue file: %s",
		    strerror(errno));
	*size = (uint64_t)h.len + blen;
	buf_free(&h);
	/* Ours is only a copy: queued holds the file. */
	close(q->fd);
	q->fd = -1;
	return rc;
}

int
sm_queue_commit(struct sm_queue *q, struct q_commit *qc)
{
	struct ipc_msg	 m;
	char		 qid[QID_LEN + 1];
	int		 rc;

	strlcpy(qc->client, "localhost", sizeof(qc->client));
	ipc_msg_init(&m, Q_COMMIT, 0);
	if (proto_enc_q_commit(&m, qc) == -1) {
		ipc_msg_free(&m);
		return sm_queue_fail(q, SM_Q_TOOMANY, "too many recipients "
		    "for one submission");
	}
	if (sm_queue_call(q, &m, "at commit") == -1)
		return -1;
	if (m.type == Q_OK && proto_dec_q_ok(&m, qid) == 0) {
		q->committed = 1;
		rc = 0;
	} else
		rc = sm_queue_refused(q, &m, "at commit");
	ipc_msg_free(&m);
	return rc;
}

void
sm_queue_end(struct sm_queue *q)
{
	struct ipc_msg m;

	if (q->fd != -1) {
		close(q->fd);
		q->fd = -1;
	}
	if (q->open) {
		if (!q->committed) {
			/* Best effort: queued drops the file when we go too. */
			ipc_msg_init(&m, Q_ABORT, 0);
			(void)ipc_send_wait(&q->conn, &m, 1000);
			ipc_msg_free(&m);
		}
		ipc_conn_close(&q->conn);
	}
	q->open = 0;
	q->committed = 0;
	q->refused = 0;
}
