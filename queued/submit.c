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
 * smtpd writes straight into the spool file it is handed (queued fsyncs
 * it, with the envelope, at commit); smtpd is already
 * trusted with the bytes of the messages it receives. A local user is not:
 * sendmail gets a memory file (memfd) instead, and at commit queued copies
 * it into the spool file that only queued can write, so nothing a local
 * user holds can change a message after it was acknowledged. The copy
 * starts with queued's own Received line, built from SO_PEERCRED (who
 * may submit, and with which sender, is inject.c's).
 *
 * Every commit, from either socket, counts the Received fields of the
 * message it is about to queue (hopcount_limit): the one place a looping
 * message is stopped before it is queued.
 *
 * Group commit: commits prepared during one loop turn are made durable by
 * one fsync of queue/ in the idle callback, and only then answered.
 */
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fsutil.h"
#include "log.h"
#include "msghdr.h"
#include "peer.h"
#include "queued.h"

enum client_state {
	CL_IDLE,
	CL_RECEIVING,	/* has a queue file, not committed */
	CL_COMMITTING,	/* waiting for the batch fsync */
};

struct client {
	struct peer		*peer;
	int			 local;		/* came in on inject.sock */
	uid_t			 uid;		/* SO_PEERCRED at connect */
	char			 user[64];	/* its login name, or "unknown" */
	enum client_state	 state;
	char			 qid[QID_LEN + 1];
	int			 fd;		/* the spool file */
	int			 memfd;		/* local clients write here */
};

/*
 * A commit on its way: the file's fsync in flight (SYNCING), waiting for
 * the directory fsync (READY), or inside the batch whose directory fsync
 * is in flight (DIRSYNC).
 */
struct pending_commit {
	TAILQ_ENTRY(pending_commit) entry;	/* in commits */
	TAILQ_ENTRY(pending_commit) stage;	/* in ready or dirsync */
	struct client		*client;	/* NULL once it went away */
	struct qmsg		*msg;
	uint32_t		 reqid;		/* to answer with */
	int			 fd;		/* the queue file */
};
TAILQ_HEAD(commit_list, pending_commit);

static struct commit_list commits = TAILQ_HEAD_INITIALIZER(commits);
static struct commit_list ready = TAILQ_HEAD_INITIALIZER(ready);
static struct commit_list dirsync = TAILQ_HEAD_INITIALIZER(dirsync);
static int dirsync_running;

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

	control_list_cancel(p);
	TAILQ_FOREACH(pc, &commits, entry)
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
	if (c->local && !inject_authorized(&Q->conf, c->uid, c->user)) {
		log_info("reject: local submission from uid=%lu (%s): not in "
		    "authorized_submit_users", (unsigned long)c->uid, c->user);
		client_reply_err(c, m->id, ST_PERM, "5.7.1 user is not "
		    "allowed to submit mail (authorized_submit_users)");
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

/*
 * Copies a local client's memory file into its spool file, under the
 * Received line that says who submitted it (added: its length). Our own
 * line does not count against message_size_limit, as smtpd's does not.
 */
static int
copy_local(struct client *c, uint64_t size, uint64_t *added, char *why,
    size_t whylen)
{
	struct stat	st;
	struct buf	trace;
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
	buf_init(&trace, 1024);
	if (inject_received(&Q->conf, c->uid, c->qid, time(NULL),
	    &trace) == -1 || fs_write_all(c->fd, trace.data, trace.len) == -1) {
		log_warn("%s: write the Received line", c->qid);
		snprintf(why, whylen, "4.3.0 queue file write error");
		buf_free(&trace);
		return -1;
	}
	*added = trace.len;
	buf_free(&trace);
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

/*
 * The hop count, with Postfix's cleanup semantics: every Received field
 * of the message's header section counts, the one smtpd (or queued, for
 * a local submission) added included, and the message is refused when
 * the count reaches hopcount_limit. The file was just written: it is
 * read back from the page cache. 0, or -1 with a reason in why.
 */
static int
hops_check(struct client *c, const char *client, const char *sender,
    uint64_t size, char *msgid, size_t msgidlen, char *why, size_t whylen)
{
	struct buf		 b;
	struct msghdr_iter	 m;
	struct msghdr_field	 f;
	long			 hops = 0;
	int			 whole;

	msgid[0] = '\0';
	buf_init(&b, MSGHDR_SCAN_MAX);
	if (msghdr_read(c->fd, SPOOL_HDR_LEN, size, MSGHDR_SCAN_MAX, &b,
	    &whole) == -1) {
		log_warn("%s: read the message's header", c->qid);
		buf_free(&b);
		snprintf(why, whylen, "4.3.0 queue file read error");
		return -1;
	}
	msghdr_init(&m, b.data, b.len, whole);
	/* The same pass finds the Message-ID for the log (Postfix's cleanup). */
	while (hops < Q->conf.hopcount_limit && msghdr_next(&m, &f) == 1) {
		if (msghdr_is(&f, "Received"))
			hops++;
		else if (msgid[0] == '\0' && msghdr_is(&f, "Message-ID"))
			strlcpy(msgid, f.value, msgidlen);
	}
	buf_free(&b);
	if (hops < Q->conf.hopcount_limit)
		return 0;
	log_info("%s: reject: too many hops (%ld Received header fields, "
	    "hopcount_limit = %ld) from %s; from=<%s>", c->qid, hops,
	    Q->conf.hopcount_limit, client, sender);
	snprintf(why, whylen, "5.4.6 too many hops");
	return -1;
}

/* Answers one commit and hands a durable message to the schedule. */
static void
commit_answer(struct client *c, uint32_t reqid, struct qmsg *msg, int ok)
{
	struct ipc_msg r;

	if (c != NULL) {
		c->state = CL_IDLE;
		if (ok) {
			ipc_msg_init(&r, Q_OK, reqid);
			proto_enc_q_ok(&r, msg->env.id);
			(void)peer_send(c->peer, &r);
			ipc_msg_free(&r);
		} else
			client_reply_err(c, reqid, ST_TEMP,
			    "4.3.0 queue file write error");
	}
	if (!ok) {
		sched_free_msg(msg);
		return;
	}
	log_info("%s: from=<%s>, size=%llu, nrcpt=%zu (queue active)",
	    msg->env.id, msg->env.sender, (unsigned long long)msg->size,
	    msg->env.nrcpt);
	sched_add(msg);
}

static void dirsync_kick(void);

static void
commit_done(struct pending_commit *pc, int ok)
{
	struct client	*c = pc->client;
	struct qmsg	*msg = pc->msg;
	uint32_t	 reqid = pc->reqid;

	TAILQ_REMOVE(&commits, pc, entry);
	free(pc);
	commit_answer(c, reqid, msg, ok);
}

static void
dirsync_done(void *arg, int err)
{
	struct commit_list	 batch;
	struct pending_commit	*pc;

	if (err != 0) {
		errno = err;
		log_warn("fsync queue directory");
	}
	/* Detached first: answers can start new commits. */
	TAILQ_INIT(&batch);
	TAILQ_CONCAT(&batch, &dirsync, stage);
	dirsync_running = 0;
	while ((pc = TAILQ_FIRST(&batch)) != NULL) {
		TAILQ_REMOVE(&batch, pc, stage);
		/* The client was told no: it must not arrive twice. */
		if (err != 0)
			spool_uncommit(pc->msg->env.id);
		commit_done(pc, err == 0);
	}
	dirsync_kick();
}

/*
 * One directory fsync at a time; commits that become ready meanwhile
 * wait and share the next one.
 */
static void
dirsync_kick(void)
{
	if (dirsync_running || TAILQ_EMPTY(&ready))
		return;
	TAILQ_CONCAT(&dirsync, &ready, stage);
	dirsync_running = 1;
	syncer_fsync(Q->queuefd, dirsync_done, NULL);
}

static void
commit_synced(void *arg, int err)
{
	struct pending_commit	*pc = arg;

	close(pc->fd);
	if (err != 0) {
		errno = err;
		log_warn("%s: fsync", pc->msg->env.id);
		spool_uncommit(pc->msg->env.id);
		commit_done(pc, 0);
		return;
	}
	TAILQ_INSERT_TAIL(&ready, pc, stage);
	dirsync_kick();
}

/* group_commit = no: every step inline, one message at a time. */
static void
commit_alone(struct client *c, uint32_t reqid, struct envelope *env,
    uint64_t size)
{
	struct qmsg	*msg;
	char		 why[PROTO_TEXT_MAX];
	int		 ok;

	ok = spool_commit_prepare(c->fd, env, size, why, sizeof(why)) == 0;
	close(c->fd);
	c->fd = -1;
	c->state = CL_IDLE;
	if (ok && spool_commit_sync() == -1) {
		spool_uncommit(env->id);
		ok = 0;
	}
	if ((msg = sched_new_msg(env, size)) == NULL)
		fatal("out of memory during a commit");
	commit_answer(c, reqid, msg, ok);
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
	char			 msgid[MSGHDR_VALUE_MAX + 1];
	char			 client[160];
	uint64_t		 size, added = 0;
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
		strlcpy(why, "5.1.7 bad sender address syntax", sizeof(why));
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
	/* The decoder checked every value: they go in as they are. */
	env.body = (int)qc.body;
	env.smtputf8 = (int)qc.smtputf8;
	env.ret = (int)qc.ret;
	if (qc.envid[0] != '\0' && env_set_str(&env.envid, qc.envid) == -1)
		goto nomem;
	/*
	 * The SMTP AUTH login, from smtpd only (a local submitter has its
	 * uid, not a login); authd's canonical form, so it parses.
	 */
	if (qc.auth[0] != '\0' && !c->local) {
		if (addr_parse(qc.auth, &a, 0) == -1) {
			strlcpy(why, "5.5.4 bad login name", sizeof(why));
			goto reject;
		}
		if (env_set_str(&env.auth, qc.auth) == -1)
			goto nomem;
	}
	for (i = 0; i < qc.nrcpt; i++) {
		struct env_rcpt *r;

		if (qualify(qc.rcpt[i], addr, sizeof(addr)) == -1) {
			strlcpy(why, "5.1.3 bad recipient address syntax", sizeof(why));
			goto reject;
		}
		if (env_add_rcpt(&env, addr, NULL, 0) == -1)
			goto nomem;
		r = &env.rcpt[env.nrcpt - 1];
		r->notify = qc.notify[i];
		if (qc.orcpt[i][0] != '\0' &&
		    env_set_str(&r->dsn_orcpt, qc.orcpt[i]) == -1)
			goto nomem;
	}
	if (c->local && !inject_sender_ok(&Q->conf, c->uid, c->user,
	    qc.sender)) {
		log_info("%s: reject: uid=%lu (%s) may not use the sender "
		    "<%s> (local_sender_policy = %s)", c->qid,
		    (unsigned long)c->uid, c->user, qc.sender,
		    Q->conf.local_sender_policy);
		strlcpy(why, "5.7.1 sender address not owned by the user "
		    "(local_sender_policy)", sizeof(why));
		goto reject;
	}
	if (c->local && copy_local(c, qc.size, &added, why,
	    sizeof(why)) == -1) {
		client_reset(c);
		goto refuse;
	}
	size = qc.size + added;
	if (hops_check(c, client, qc.sender, size, msgid, sizeof(msgid), why,
	    sizeof(why)) == -1) {
		client_reset(c);
		goto refuse;
	}
	/*
	 * Postfix pickup's line, under pickup's name (log readers count
	 * received mail by it): who handed in a local submission.
	 */
	if (c->local)
		log_info_as("pickup", "%s: uid=%lu from=<%s> user=%s", c->qid,
		    (unsigned long)c->uid, qc.sender, c->user);
	/* Postfix's cleanup line: the id admins grep for. */
	log_info("%s: message-id=%s", c->qid, msgid[0] ? msgid : "<>");
	if (!Q->conf.group_commit) {
		commit_alone(c, m->id, &env, size);
		proto_q_commit_free(&qc);
		ipc_msg_free(m);
		return;
	}
	if ((pc = calloc(1, sizeof(*pc))) == NULL)
		goto nomem;
	if (spool_commit_begin(c->fd, &env, size, why, sizeof(why)) == -1) {
		/* spool_commit_begin removed the queue file. */
		free(pc);
		close(c->fd);
		c->fd = -1;
		c->state = CL_IDLE;
		client_reset(c);
		goto refuse;
	}
	if ((msg = sched_new_msg(&env, size)) == NULL)
		fatal("out of memory during a commit");
	proto_q_commit_free(&qc);
	pc->client = c;
	pc->msg = msg;
	pc->reqid = m->id;
	pc->fd = c->fd;	/* the commit owns the queue file now */
	c->fd = -1;
	c->state = CL_COMMITTING;
	TAILQ_INSERT_TAIL(&commits, pc, entry);
	ipc_msg_free(m);
	syncer_fsync(pc->fd, commit_synced, pc);
	return;
refuse:
	client_reply_err(c, m->id, why[0] == '5' ? ST_PERM : ST_TEMP, why);
	env_free(&env);
	proto_q_commit_free(&qc);
	ipc_msg_free(m);
	return;
nomem:
	strlcpy(why, "4.3.0 out of memory", sizeof(why));
reject:
	/*
	 * The queue file goes before the answer: a client told "refused"
	 * must find nothing of its message left in the queue.
	 */
	env_free(&env);
	proto_q_commit_free(&qc);
	client_reset(c);
	client_reply_err(c, m->id, why[0] == '5' ? ST_PERM : ST_TEMP, why);
	ipc_msg_free(m);
}

void
submit_commit_batch(void)
{
	dirsync_kick();
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
	case Q_CTL_LIST:
		/*
		 * mailq for local users (Postfix's showq): only on
		 * inject.sock, between messages, to queue_list_users.
		 */
		if (!c->local || c->state != CL_IDLE || m->body.len != 0) {
			log_warnx("submission client sent a listing request "
			    "out of place; closing");
			peer_close(p);
			break;
		}
		if (inject_may_list(&Q->conf, c->uid, c->user)) {
			control_list(p, m->id);
			break;
		}
		log_info("reject: queue listing for uid=%lu (%s): not in "
		    "queue_list_users", (unsigned long)c->uid, c->user);
		{
			struct ipc_msg r;

			ipc_msg_init(&r, Q_ERR, m->id);
			proto_enc_q_err(&r, ST_PERM, "5.7.1 you may not list "
			    "the queue (queue_list_users)");
			(void)peer_send(p, &r);
			ipc_msg_free(&r);
		}
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
		inject_user_name(c->uid, c->user, sizeof(c->user));
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
