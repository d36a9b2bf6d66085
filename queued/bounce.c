/*
 * bounce.c - delivery status notifications (RFC 3464) for recipients that
 * failed permanently or expired.
 *
 * Runs in queued. The failure texts may come from remote servers: every
 * control byte is flattened before it goes into the report, so a reason
 * can neither break the MIME structure nor the header block. A bounce is
 * queued with the null sender and never bounces itself. Its commit is
 * made durable on a syncer thread (the file, then queue/), and only then
 * are the failures marked bounced: a crash in between finds them failed
 * and bounces them again, never not at all.
 */
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "fsutil.h"
#include "log.h"
#include "text.h"
#include "queued.h"

#define BOUNCE_HEADERS_MAX	(64 * 1024)

static void
rfc5322_date(time_t t, char *out, size_t outsz)
{
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, outsz, "%a, %d %b %Y %H:%M:%S %z", &tm);
}

/* Appends s with control bytes turned into spaces. */
static int
put_flat(struct buf *b, const char *s)
{
	return text_sanitize_buf(b, s, ' ', 0);
}

/* "5.1.1 user unknown" -> "5.1.1"; anything else -> the default. */
static void
status_code(const char *text, const char *def, char *out, size_t outsz)
{
	size_t n = 0;

	while (text != NULL && (isdigit((unsigned char)text[n]) ||
	    text[n] == '.'))
		n++;
	if (text != NULL && n >= 5 && n < outsz && (text[0] == '4' ||
	    text[0] == '5') && text[1] == '.') {
		memcpy(out, text, n);
		out[n] = '\0';
	} else
		strlcpy(out, def, outsz);
}

/* Copies the original's header block (up to its first empty line). */
static int
put_original_headers(struct buf *b, const char *qid, uint64_t size)
{
	char	*head, *end;
	ssize_t	 n;
	size_t	 len;
	int	 fd;

	if ((fd = spool_open_message(qid)) == -1)
		return buf_puts(b, "(original message unavailable)\n");
	if ((head = malloc(BOUNCE_HEADERS_MAX + 1)) == NULL) {
		close(fd);
		return -1;
	}
	n = fs_pread_full(fd, head, size < BOUNCE_HEADERS_MAX ?
	    (size_t)size : BOUNCE_HEADERS_MAX, SPOOL_HDR_LEN);
	close(fd);
	len = n > 0 ? (size_t)n : 0;
	head[len] = '\0';
	if (len > 0 && head[0] == '\n')
		len = 0;
	else if ((end = memmem(head, len, "\n\n", 2)) != NULL)
		len = (size_t)(end - head) + 1;
	if (buf_append(b, head, len) == -1) {
		free(head);
		return -1;
	}
	free(head);
	/* A header block cut short by the limit still ends its last line. */
	if (len > 0 && b->data[b->len - 1] != '\n')
		return buf_puts(b, "\n");
	return 0;
}

static int
build(struct qmsg *m, const char *bqid, struct buf *b)
{
	const struct envelope	*e = &m->env;
	const char		*host = Q->conf.myhostname;
	char			 date[64], arrival[64], code[16];
	size_t			 i;

	rfc5322_date(time(NULL), date, sizeof(date));
	rfc5322_date((time_t)e->created, arrival, sizeof(arrival));
	if (buf_printf(b, "Date: %s\n"
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\n"
	    "To: <%s>\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "Auto-Submitted: auto-replied\n"
	    "Message-ID: <%s.bounce@%s>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"%s/%s\"\n"
	    "\n"
	    "This is a MIME-encapsulated message.\n"
	    "\n"
	    "--%s/%s\n"
	    "Content-Description: Notification\n"
	    "Content-Type: text/plain; charset=us-ascii\n"
	    "\n"
	    "This is the mail system at host %s.\n"
	    "\n"
	    "Your message could not be delivered to one or more recipients.\n"
	    "The reasons are given below.\n"
	    "\n", date, host, e->sender, bqid, host, bqid, host, bqid, host,
	    host) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		if (r->state != RCPT_FAILED)
			continue;
		if (buf_printf(b, "<%s>: ", r->orcpt) == -1 ||
		    put_flat(b, r->reason ? r->reason : "unknown error") == -1 ||
		    buf_puts(b, "\n") == -1)
			return -1;
	}
	if (buf_printf(b, "\n--%s/%s\n"
	    "Content-Description: Delivery report\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; %s\n"
	    "X-Postern-Queue-ID: %s\n"
	    "Arrival-Date: %s\n", bqid, host, host, e->id, arrival) == -1)
		return -1;
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		if (r->state != RCPT_FAILED)
			continue;
		status_code(r->reason, "5.0.0", code, sizeof(code));
		if (buf_printf(b, "\nFinal-Recipient: rfc822; %s\n", r->addr) == -1 ||
		    (strcmp(r->orcpt, r->addr) != 0 && buf_printf(b,
		    "Original-Recipient: rfc822; %s\n", r->orcpt) == -1) ||
		    buf_printf(b, "Action: failed\nStatus: %s\n"
		    "Diagnostic-Code: X-Postern; ", code) == -1 ||
		    put_flat(b, r->reason ? r->reason : "unknown error") == -1 ||
		    buf_puts(b, "\n") == -1)
			return -1;
	}
	if (buf_printf(b, "\n--%s/%s\n"
	    "Content-Description: Undelivered Message Headers\n"
	    "Content-Type: text/rfc822-headers\n"
	    "\n", bqid, host) == -1 ||
	    put_original_headers(b, e->id, m->size) == -1 ||
	    buf_printf(b, "--%s/%s--\n", bqid, host) == -1)
		return -1;
	return 0;
}

/* The failures just reported are not reported again. */
static void
mark_bounced(struct qmsg *m)
{
	size_t i;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->env.rcpt[i].state == RCPT_FAILED) {
			m->env.rcpt[i].state = RCPT_BOUNCED;
			m->dirty = 1;
		}
}

/* A bounce being made durable on a syncer thread. */
struct bounce_commit {
	struct qmsg	*m;		/* the original */
	struct envelope	 env;		/* the bounce's */
	uint64_t	 size;
	int		 fd;
	int		 err;		/* 0 or errno, from the thread */
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

/* In the loop: only now is the failure reported as bounced. */
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
		log_warn("%s: fsync bounce %s", m->env.id, bqid);
		/* Tried again later: this copy must not come back too. */
		spool_uncommit(bqid);
		log_warnx("%s: cannot queue bounce", m->env.id);
		env_free(&bc->env);
		rc = -1;
	} else {
		mark_bounced(m);
		log_info("%s: sender non-delivery notification: %s", m->env.id,
		    bqid);
		log_info("%s: message-id=<%s.bounce@%s>", bqid, bqid,
		    Q->conf.myhostname);
		log_info("%s: from=<>, size=%llu, nrcpt=1 (queue active)", bqid,
		    (unsigned long long)bc->size);
		/* NULL: on disk all the same; the next start picks it up. */
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

int
bounce_failed(struct qmsg *m, bounce_done_cb done)
{
	struct bounce_commit	*bc = NULL;
	struct envelope		 env;
	struct buf		 b;
	char			 bqid[QID_LEN + 1], why[PROTO_TEXT_MAX];
	size_t			 i, nfailed = 0;
	int			 fd;

	for (i = 0; i < m->env.nrcpt; i++)
		nfailed += m->env.rcpt[i].state == RCPT_FAILED;
	if (nfailed == 0)
		return 0;
	if (m->env.sender[0] == '\0' || m->env.is_bounce) {
		log_info("%s: undeliverable message with null sender: no "
		    "notification", m->env.id);
		mark_bounced(m);
		return 0;
	}
	if ((fd = spool_create(bqid)) == -1)
		return -1;
	buf_init(&b, 0);
	env_init(&env);
	strlcpy(env.id, bqid, sizeof(env.id));
	env.created = time(NULL);
	env.is_bounce = 1;
	if (build(m, bqid, &b) == -1 || fs_write_all(fd, b.data, b.len) == -1 ||
	    (env.sender = strdup("")) == NULL ||
	    (env.origin = strdup("local")) == NULL ||
	    (env.client = strdup("queued")) == NULL ||
	    (env.helo = strdup("")) == NULL ||
	    env_add_rcpt(&env, m->env.sender, NULL, 0) == -1 ||
	    (bc = calloc(1, sizeof(*bc))) == NULL) {
		log_warn("%s: cannot write bounce", m->env.id);
		close(fd);
		spool_discard(bqid);
		goto fail;
	}
	if (spool_commit_begin(fd, &env, b.len, why, sizeof(why)) == -1) {
		/* spool_commit_begin removed the file. */
		close(fd);
		log_warnx("%s: cannot queue bounce: %s", m->env.id, why);
		goto fail;
	}
	/*
	 * The fsyncs go to a syncer thread; the failures are marked bounced
	 * (and the original's envelope rewritten or removed) only once the
	 * bounce is durable, in bounce_sync_done.
	 */
	bc->m = m;
	bc->env = env;
	bc->size = b.len;
	bc->fd = fd;
	bc->done = done;
	buf_free(&b);
	m->bouncing = 1;
	Q->writes++;
	if (syncer_run(bounce_sync_work, bounce_sync_done, bc) == -1) {
		/* No memory for a job: here rather than not at all. */
		bounce_sync_work(bc);
		bounce_sync_done(bc);
	}
	return 1;
fail:
	free(bc);
	buf_free(&b);
	env_free(&env);
	return -1;
}
