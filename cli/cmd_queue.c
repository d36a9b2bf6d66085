/*
 * cmd_queue.c - postern queue list | flush | delete ID, over queued's
 * control socket (<spool>/private/control.sock).
 *
 * Runs as root (the control socket is root's, mode 0600), or as the user
 * who runs a development suite. queued is trusted to speak the protocol
 * but not for the text it relays: sender, recipient and failure reason
 * came from mail clients and remote servers, so each is sanitised before
 * it reaches the terminal, and each frame goes through the one decoder in
 * proto.c and the one envelope parser in envelope.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "envelope.h"
#include "fsutil.h"
#include "ipc.h"
#include "proto.h"
#include "text.h"

static int
queue_connect(struct cli *c, struct ipc_conn *conn)
{
	char	dir[PATH_MAX];
	int	fd;

	if (fs_path(dir, sizeof(dir), c->conf.spool_directory,
	    "private") == -1) {
		cli_err(c, "spool_directory is too long");
		return -1;
	}
	if ((fd = cli_connect(dir, "control.sock")) == -1) {
		int saved = errno;

		if (saved == ENOENT || saved == ECONNREFUSED)
			cli_err(c, "cannot reach the queue at "
			    "%s/control.sock: %s (is postern running?)", dir,
			    strerror(saved));
		else if (saved == EACCES)
			cli_err(c, "cannot reach the queue at "
			    "%s/control.sock: %s (run as root)", dir,
			    strerror(saved));
		else
			cli_err(c, "cannot reach the queue at "
			    "%s/control.sock: %s", dir, strerror(saved));
		return -1;
	}
	ipc_conn_init(conn, fd, IPC_MAX_PAYLOAD);
	return 0;
}

static int
queue_send(struct cli *c, struct ipc_conn *conn, struct ipc_msg *m)
{
	int rc = ipc_send_wait(conn, m, PROTO_TIMEOUT_MS);

	ipc_msg_free(m);
	if (rc == -1)
		cli_err(c, "sending to the queue: %s", strerror(errno));
	return rc;
}

static int
queue_recv(struct cli *c, struct ipc_conn *conn, struct ipc_msg *m)
{
	if (ipc_recv_wait(conn, m, PROTO_TIMEOUT_MS) == -1) {
		cli_err(c, "no answer from the queue: %s",
		    errno == EPIPE ? "it closed the connection" :
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* Reports a Q_ERR (or an unexpected frame); always returns 1. */
static int
queue_report_error(struct cli *c, const struct ipc_msg *m)
{
	struct q_err	e;
	char		text[PROTO_TEXT_MAX];

	if (m->type != Q_ERR) {
		cli_err(c, "unexpected reply %u from the queue",
		    (unsigned)m->type);
		return 1;
	}
	if (proto_dec_q_err(m, &e) == -1) {
		cli_err(c, "malformed error reply from the queue");
		return 1;
	}
	(void)text_sanitize(text, sizeof(text), e.text, '?', 0);
	cli_err(c, "%s", text);
	return 1;
}

static void
queue_fmt_time(int64_t t, char *out, size_t outsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;

	if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
	    strftime(out, outsz, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		strlcpy(out, "-", outsz);
}

static void
queue_print_entry(const struct envelope *e, uint64_t size)
{
	char	 when[32], a[ADDR_MAX * 2 + 8], why[PROTO_TEXT_MAX];
	size_t	 i;

	queue_fmt_time(e->created, when, sizeof(when));
	(void)text_sanitize(a, sizeof(a), e->sender != NULL ? e->sender : "",
	    '?', 0);
	printf("%-16s %10llu  %s  <%s>%s\n", e->id, (unsigned long long)size,
	    when, a, e->is_bounce ? " (bounce)" : "");
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		(void)text_sanitize(a, sizeof(a), r->addr, '?', 0);
		printf("    <%s>  %s", a, env_state_name(r->state));
		if (r->tries > 0)
			printf(", %u %s", r->tries,
			    r->tries == 1 ? "try" : "tries");
		if (r->state == RCPT_DEFERRED) {
			queue_fmt_time(r->next_try, when, sizeof(when));
			printf(", next %s", when);
		}
		putchar('\n');
		if (r->orcpt != NULL && strcmp(r->orcpt, r->addr) != 0) {
			(void)text_sanitize(a, sizeof(a), r->orcpt, '?', 0);
			printf("        (for <%s>)\n", a);
		}
		if (r->reason != NULL && r->reason[0] != '\0') {
			(void)text_sanitize(why, sizeof(why), r->reason, '?', 0);
			printf("        %s\n", why);
		}
	}
}

static int
queue_list(struct cli *c, struct ipc_conn *conn)
{
	struct ipc_msg	 m;
	struct envelope	 e;
	char		*text, err[256];
	uint64_t	 size, total = 0;
	unsigned long	 n = 0;

	ipc_msg_init(&m, Q_CTL_LIST, 0);
	if (queue_send(c, conn, &m) == -1)
		return 1;
	for (;;) {
		if (queue_recv(c, conn, &m) == -1)
			return 1;
		if (m.type == Q_OK)
			break;
		if (m.type != Q_CTL_ENTRY) {
			queue_report_error(c, &m);
			ipc_msg_free(&m);
			return 1;
		}
		if (proto_dec_q_ctl_entry(&m, &text, &size) == -1) {
			cli_err(c, "malformed queue entry from the queue");
			ipc_msg_free(&m);
			return 1;
		}
		ipc_msg_free(&m);
		if (n == 0)
			printf("%-16s %10s  %-19s  %s\n", "QUEUE ID", "SIZE",
			    "ARRIVED", "SENDER / RECIPIENTS");
		env_init(&e);
		if (env_parse(text, strlen(text), &e, err, sizeof(err)) == -1) {
			/* One bad record should not hide the rest. */
			cli_warn(c, "unreadable envelope in the listing: %s",
			    err);
			free(text);
			continue;
		}
		free(text);
		queue_print_entry(&e, size);
		env_free(&e);
		n++;
		total += size;
	}
	ipc_msg_free(&m);
	if (n == 0)
		printf("Mail queue is empty\n");
	else
		printf("-- %llu KiB in %lu message%s\n",
		    (unsigned long long)((total + 1023) / 1024), n,
		    n == 1 ? "" : "s");
	return 0;
}

static int
queue_simple(struct cli *c, struct ipc_conn *conn, uint32_t type,
    const char *qid)
{
	struct ipc_msg	m;
	int		rc;

	ipc_msg_init(&m, type, 0);
	if (qid != NULL && proto_enc_q_ctl_delete(&m, qid) == -1) {
		ipc_msg_free(&m);
		cli_err(c, "cannot encode the request");
		return 1;
	}
	if (queue_send(c, conn, &m) == -1 || queue_recv(c, conn, &m) == -1)
		return 1;
	rc = m.type == Q_OK ? 0 : queue_report_error(c, &m);
	ipc_msg_free(&m);
	return rc;
}

int
cli_cmd_queue(struct cli *c, int argc, char **argv)
{
	struct ipc_conn	conn;
	const char	*qid = NULL;
	uint32_t	type;
	int		rc;

	if (argc == 2 && strcmp(argv[1], "list") == 0)
		type = Q_CTL_LIST;
	else if (argc == 2 && strcmp(argv[1], "flush") == 0)
		type = Q_CTL_FLUSH;
	else if (argc == 3 && strcmp(argv[1], "delete") == 0) {
		type = Q_CTL_DELETE;
		qid = argv[2];
		if (!qid_valid(qid)) {
			cli_err(c, "\"%s\" is not a queue id (16 upper-case "
			    "hex digits, as \"postern queue list\" shows)",
			    qid);
			return EX_USAGE;
		}
	} else {
		cli_err(c, "usage: postern queue list | flush | delete ID");
		return EX_USAGE;
	}
	if (queue_connect(c, &conn) == -1)
		return EX_TEMPFAIL;
	if (type == Q_CTL_LIST)
		rc = queue_list(c, &conn);
	else {
		rc = queue_simple(c, &conn, type, qid);
		if (rc == 0)
			printf(type == Q_CTL_FLUSH ?
			    "postern: queue flush requested\n" :
			    "postern: message deleted\n");
	}
	ipc_conn_close(&conn);
	return rc;
}
