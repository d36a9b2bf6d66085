/*
 * submit.c - queued's submission service: smtpd sessions (smtpd/queue.sock)
 * and local injection by any user (public/inject.sock).
 *
 * Runs in queued. Clients are untrusted: a local user on inject.sock, or
 * an smtpd that may have been compromised. Each gets an empty spool file
 * to write into and can do nothing else to the spool; its claimed size is
 * checked, its addresses are parsed again here, and for local injection
 * the identity comes from SO_PEERCRED, never from the client's words.
 *
 * smtpd writes straight into the spool file it is handed (its data fsyncs
 * then run in parallel, one per session process); smtpd is already
 * trusted with the bytes of the messages it receives. A local user is not:
 * sendmail gets a memory file (memfd) instead, and at commit queued copies
 * it into the spool file that only queued can write, so nothing a local
 * user holds can change a message after it was acknowledged.
 *
 * Group commit: commits prepared during one loop turn are made durable by
 * one fsync of queue/ in the idle callback, and only then answered.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fsutil.h"
#include "log.h"
#include "peer.h"
#include "queued.h"

enum client_state {
	CL_IDLE,
	CL_RECEIVING,	/* has an incoming file */
	CL_COMMITTING,	/* waiting for the batch fsync */
};

struct client {
	struct peer		*peer;
	int			 local;		/* came in on inject.sock */
	uid_t			 uid;
	enum client_state	 state;
	char			 qid[QID_LEN + 1];
	int			 fd;		/* the spool file */
	int			 memfd;		/* local clients write here */
};

struct pending_commit {
	struct client		*client;	/* NULL once it went away */
	struct qmsg		*msg;
	uint32_t		 reqid;		/* to answer with */
	struct pending_commit	*next;
};

static struct pending_commit *batch, **batch_tail = &batch;

static void
client_reply_err(struct client *c, uint32_t id, uint32_t status,
    const char *text)
{
	struct ipc_msg m;

	ipc_msg_init(&m, Q_ERR, id);
	if (proto_enc_q_err(&m, status, text) == 0)
		(void)peer_send(c->peer, &m);
	ipc_msg_free(&m);
}

static void
client_reset(struct client *c)
{
	if (c->state == CL_RECEIVING) {
		close(c->fd);
		spool_discard(c->qid);
	}
	if (c->memfd != -1)
		close(c->memfd);
	c->fd = c->memfd = -1;
	if (c->state != CL_COMMITTING)
		c->state = CL_IDLE;
}

static void
client_closed(struct peer *p)
{
	struct client		*c = p->ctx;
	struct pending_commit	*pc;

	for (pc = batch; pc != NULL; pc = pc->next)
		if (pc->client == c)
			pc->client = NULL;
	client_reset(c);
	free(c);
}

static void
handle_begin(struct client *c, struct ipc_msg *m)
{
	struct ipc_msg	r;
	int		fd;

	if (c->state != CL_IDLE || m->body.len != 0) {
		log_warnx("submission client: Q_BEGIN out of order");
		peer_close(c->peer);
		return;
	}
	if ((c->fd = spool_create(c->qid)) == -1) {
		client_reply_err(c, m->id, ST_TEMP,
		    "4.3.0 queue file write error");
		return;
	}
	c->state = CL_RECEIVING;
	if (c->local)
		c->memfd = memfd_create("postern-inject", MFD_CLOEXEC);
	if ((c->local && c->memfd == -1) ||
	    (fd = dup(c->local ? c->memfd : c->fd)) == -1) {
		log_warn("%s: no descriptor for the client", c->qid);
		client_reset(c);
		client_reply_err(c, m->id, ST_TEMP, "4.3.0 out of resources");
		return;
	}
	ipc_msg_init(&r, Q_FILE, m->id);
	if (proto_enc_q_file(&r, c->qid, fd) == -1) {
		ipc_msg_free(&r);
		peer_close(c->peer);
		return;
	}
	(void)peer_send(c->peer, &r);
	ipc_msg_free(&r);
}

/* Bare "postmaster" (RFC 5321 4.1.1.3) is ours: completed as smtpd does. */
static int
qualify(const char *in, char *out, size_t outsz)
{
	struct mailaddr a;

	if (strcasecmp(in, "postmaster") == 0)
		return snprintf(out, outsz, "postmaster@%s",
		    conf_default_domain(&Q->conf)) < (int)outsz ? 0 : -1;
	if (addr_parse(in, &a, 1) == -1)
		return -1;
	return strlcpy(out, in, outsz) < outsz ? 0 : -1;
}

/* Copies a local client's memory file into its spool file. */
static int
copy_local(struct client *c, uint64_t size, char *why, size_t whylen)
{
	struct stat	st;
	char		chunk[65536];
	uint64_t	off = 0;
	ssize_t		n;

	if (fstat(c->memfd, &st) == -1 || (uint64_t)st.st_size != size) {
		snprintf(why, whylen, "4.3.0 queue file size mismatch");
		return -1;
	}
	if (size > Q->conf.message_size_limit) {
		snprintf(why, whylen, "5.3.4 message file too big");
		return -1;
	}
	while (off < size) {
		n = pread(c->memfd, chunk, sizeof(chunk), (off_t)off);
		if (n <= 0 || fs_write_all(c->fd, chunk, (size_t)n) == -1) {
			log_warn("%s: copy local submission", c->qid);
			snprintf(why, whylen, "4.3.0 queue file write error");
			return -1;
		}
		off += (uint64_t)n;
	}
	close(c->memfd);
	c->memfd = -1;
	return 0;
}

static void
handle_commit(struct client *c, struct ipc_msg *m)
{
	struct q_commit		 qc;
	struct envelope		 env;
	struct mailaddr		 a;
	struct qmsg		*msg;
	struct pending_commit	*pc;
	char			 why[PROTO_TEXT_MAX], addr[ADDR_MAX + 1];
	char			 client[160];
	uint32_t		 i;

	if (c->state != CL_RECEIVING || m->fd != -1 ||
	    proto_dec_q_commit(m, &qc, (uint32_t)Q->conf.smtpd_recipient_limit) == -1) {
		log_warnx("submission client: bad or misplaced Q_COMMIT");
		ipc_msg_free(m);
		peer_close(c->peer);
		return;
	}
	env_init(&env);
	strlcpy(env.id, c->qid, sizeof(env.id));
	env.created = time(NULL);
	if (qc.sender[0] != '\0' && addr_parse(qc.sender, &a, 1) == -1) {
		client_reply_err(c, m->id, ST_PERM,
		    "5.1.7 bad sender address syntax");
		goto reject;
	}
	if (c->local)
		snprintf(client, sizeof(client), "local uid %u",
		    (unsigned)c->uid);
	else
		strlcpy(client, qc.client, sizeof(client));
	if ((env.sender = strdup(qc.sender)) == NULL ||
	    (env.origin = strdup(c->local ? "local" : "smtp")) == NULL ||
	    (env.client = strdup(client)) == NULL ||
	    (env.helo = strdup(qc.helo)) == NULL)
		goto nomem;
	for (i = 0; i < qc.nrcpt; i++) {
		if (qualify(qc.rcpt[i], addr, sizeof(addr)) == -1) {
			client_reply_err(c, m->id, ST_PERM,
			    "5.1.3 bad recipient address syntax");
			goto reject;
		}
		if (env_add_rcpt(&env, addr, NULL, 0) == -1)
			goto nomem;
	}
	if ((c->local && copy_local(c, qc.size, why, sizeof(why)) == -1) ||
	    spool_commit_prepare(c->fd, &env, qc.size, why, sizeof(why)) == -1) {
		/* spool_commit_prepare removed the files; copy_local did not. */
		client_reset(c);
		client_reply_err(c, m->id, why[0] == '5' ? ST_PERM : ST_TEMP,
		    why);
		env_free(&env);
		proto_q_commit_free(&qc);
		ipc_msg_free(m);
		return;
	}
	close(c->fd);
	c->fd = -1;
	proto_q_commit_free(&qc);
	if ((msg = sched_new_msg(&env, qc.size)) == NULL ||
	    (pc = calloc(1, sizeof(*pc))) == NULL)
		fatal("out of memory after a commit");
	pc->client = c;
	pc->msg = msg;
	c->state = CL_COMMITTING;
	pc->reqid = m->id;
	*batch_tail = pc;
	batch_tail = &pc->next;
	ipc_msg_free(m);
	/* Without group commit every message pays its own directory fsync. */
	if (!Q->conf.group_commit)
		submit_commit_batch();
	return;
nomem:
	client_reply_err(c, m->id, ST_TEMP, "4.3.0 out of memory");
reject:
	env_free(&env);
	proto_q_commit_free(&qc);
	client_reset(c);
	ipc_msg_free(m);
}

void
submit_commit_batch(void)
{
	struct pending_commit	*list, *pc, *next;
	int			 ok;

	if (batch == NULL)
		return;
	/* Detached first: a reply that fails closes a client, which walks batch. */
	list = batch;
	batch = NULL;
	batch_tail = &batch;
	ok = spool_commit_sync() == 0;
	for (pc = list; pc != NULL; pc = next) {
		struct qmsg	*msg = pc->msg;
		struct client	*c = pc->client;

		next = pc->next;
		if (c != NULL) {
			struct ipc_msg r;

			c->state = CL_IDLE;
			if (ok) {
				ipc_msg_init(&r, Q_OK, pc->reqid);
				proto_enc_q_ok(&r, msg->env.id);
				(void)peer_send(c->peer, &r);
				ipc_msg_free(&r);
			} else
				client_reply_err(c, pc->reqid, ST_TEMP,
				    "4.3.0 queue file write error");
		}
		free(pc);
		if (!ok) {
			/* The client was told no: it must not arrive twice. */
			spool_remove(msg->env.id);
			sched_free_msg(msg);
			continue;
		}
		log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)",
		    msg->env.id, msg->env.sender,
		    (unsigned long long)msg->size, msg->env.nrcpt);
		sched_add(msg);
	}
}

static void
client_msg(struct peer *p, struct ipc_msg *m)
{
	struct client *c = p->ctx;

	if (c->state == CL_COMMITTING) {
		/* Nothing may be said before the commit is answered. */
		log_warnx("submission client spoke during its commit; closing");
		ipc_msg_free(m);
		peer_close(p);
		return;
	}
	switch (m->type) {
	case Q_BEGIN:
		handle_begin(c, m);
		break;
	case Q_COMMIT:
		handle_commit(c, m);
		return;		/* it freed m */
	case Q_ABORT:
		client_reset(c);
		break;
	default:
		log_warnx("submission client sent frame type %u; closing",
		    m->type);
		peer_close(p);
	}
	ipc_msg_free(m);
}

static void
accept_client(int fd, void *arg)
{
	struct client	*c;
	struct ucred	 cred;
	socklen_t	 len = sizeof(cred);

	if ((c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	c->local = arg != NULL;
	c->fd = c->memfd = -1;
	if (c->local) {
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == -1) {
			log_warn("SO_PEERCRED");
			close(fd);
			free(c);
			return;
		}
		c->uid = cred.uid;
	}
	if ((c->peer = peer_new(Q->loop, fd, 1024 * 1024 / 4, client_msg,
	    client_closed, c)) == NULL)
		free(c);
}

void
submit_init(int submit_fd, int inject_fd)
{
	static int local_marker = 1;

	if (submit_fd != -1)
		listener_register(submit_fd, accept_client, NULL);
	if (inject_fd != -1)
		listener_register(inject_fd, accept_client, &local_marker);
}
