/*
 * cmd_queue.c - postern queue list | show | delete | hold | release |
 * requeue | flush: Postfix's postqueue, postsuper and postcat in one
 * verb. The listing is queue_list.c; the choice of messages (ids,
 * selectors) is queue_sel.c.
 *
 * Runs as root (the control socket is root's, mode 0600), or as the user
 * who runs a development suite. Operations go to queued over
 * private/control.sock (queued alone writes the spool, so they need it
 * running); "show" reads the queue file itself, read-only, through
 * qfile_load (with the MAC checked when the key is readable, so it shows
 * only what queued would load), so it works with the suite stopped. Ids come from the
 * command line or standard input, possibly from a pipe of anything:
 * each passes cli_qid_parse (16 hex digits, nothing else) before it is
 * used, a line longer than a few ids is refused, and the ids stream to
 * queued in frames of Q_CTL_OP_MAX, so a list of any length costs
 * constant memory. Text from the queue is sanitised before it reaches a
 * terminal.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "ipc.h"
#include "proto.h"
#include "qfile.h"
#include "text.h"

#define QUEUE_LINE_MAX	1024	/* one line of ids on standard input */
#define QUEUE_MISSING_SHOWN 20	/* unknown ids named one by one */

static const struct queue_verb {
	const char	*name;
	uint32_t	 op;
	const char	*done;		/* "3 messages deleted" */
} queue_verbs[] = {
	{ "delete",	Q_OP_DELETE,	"deleted" },
	{ "hold",	Q_OP_HOLD,	"placed on hold" },
	{ "release",	Q_OP_RELEASE,	"released from hold" },
	{ "requeue",	Q_OP_REQUEUE,	"requeued" },
	{ "flush",	Q_OP_FLUSH,	"flushed" },
};

/* A batch of ids on its way to queued, and what came back. */
struct queue_batch {
	struct cli		*c;
	struct ipc_conn		 conn;
	uint32_t		 op;
	struct q_ctl_ids	 ids;
	unsigned long		 done, missing, bad;
	int			 failed;
};

static void
queue_usage(struct cli *c)
{
	cli_err(c, "usage: postern queue list [--json] | show ID | "
	    "flush [ID ... | DOMAIN] |\n"
	    "    delete | hold | release | requeue "
	    "[--active] [--deferred] [--hold] [--from ADDR] [--to ADDR] "
	    "[ID ... | ALL | -]");
}

/* Sends the batch and counts the answer; the batch is empty after. */
static int
batch_send(struct queue_batch *qb)
{
	struct ipc_msg		m;
	struct q_ctl_ids	missing;
	struct q_err		qe;
	char			safe[PROTO_TEXT_MAX];
	uint32_t		ndone, i;

	if (qb->ids.n == 0 || qb->failed)
		return qb->failed ? -1 : 0;
	ipc_msg_init(&m, Q_CTL_OP, 0);
	if (proto_enc_q_ctl_op(&m, qb->op, &qb->ids) == -1 ||
	    ipc_send_wait(&qb->conn, &m, PROTO_TIMEOUT_MS) == -1) {
		cli_err(qb->c, "sending to the queue: %s", strerror(errno));
		ipc_msg_free(&m);
		qb->failed = 1;
		return -1;
	}
	ipc_msg_free(&m);
	qb->ids.n = 0;
	if (ipc_recv_wait(&qb->conn, &m, PROTO_TIMEOUT_MS) == -1) {
		cli_err(qb->c, "no answer from the queue: %s",
		    errno == EPIPE ? "it closed the connection" :
		    strerror(errno));
		qb->failed = 1;
		return -1;
	}
	if (m.type == Q_ERR && proto_dec_q_err(&m, &qe) == 0) {
		(void)text_sanitize(safe, sizeof(safe), qe.text, '?', 0);
		cli_err(qb->c, "%s", safe);
		ipc_msg_free(&m);
		qb->failed = 1;
		return -1;
	}
	if (m.type != Q_CTL_DONE ||
	    proto_dec_q_ctl_done(&m, &ndone, &missing) == -1) {
		cli_err(qb->c, "malformed reply from the queue");
		ipc_msg_free(&m);
		qb->failed = 1;
		return -1;
	}
	ipc_msg_free(&m);
	qb->done += ndone;
	for (i = 0; i < missing.n; i++, qb->missing++)
		if (qb->missing < QUEUE_MISSING_SHOWN)
			cli_err(qb->c, "%s: no such message in the queue",
			    missing.id[i]);
	proto_q_ctl_ids_free(&missing);
	return 0;
}

static int
batch_add(struct queue_batch *qb, const char *qid)
{
	memcpy(qb->ids.id[qb->ids.n++], qid, QID_LEN + 1);
	if (qb->ids.n == Q_CTL_OP_MAX)
		return batch_send(qb);
	return 0;
}

/*
 * Ids from standard input, as postsuper -d - reads them: whitespace
 * separated, any number per line (mailq's '*' and '!' markers allowed).
 * A token that is not an id is reported and skipped.
 */
static int
batch_stdin(struct queue_batch *qb)
{
	char		 line[QUEUE_LINE_MAX + 2], qid[QID_LEN + 1], *tok, *sp;
	unsigned long	 lineno = 0;
	size_t		 len;

	while (fgets(line, sizeof(line), stdin) != NULL) {
		lineno++;
		len = strlen(line);
		if (len > QUEUE_LINE_MAX && line[len - 1] != '\n') {
			int ch;

			cli_err(qb->c, "standard input, line %lu: longer than "
			    "%d bytes; skipped", lineno, QUEUE_LINE_MAX);
			while ((ch = getchar()) != EOF && ch != '\n')
				;
			qb->bad++;
			continue;
		}
		for (tok = strtok_r(line, " \t\r\n", &sp); tok != NULL;
		    tok = strtok_r(NULL, " \t\r\n", &sp)) {
			if (cli_qid_parse(tok, qid) == -1) {
				char safe[48];

				(void)text_sanitize(safe, sizeof(safe), tok,
				    '?', 0);
				if (qb->bad++ < QUEUE_MISSING_SHOWN)
					cli_err(qb->c, "standard input, line "
					    "%lu: \"%s\" is not a queue id",
					    lineno, safe);
				continue;
			}
			if (batch_add(qb, qid) == -1)
				return -1;
		}
	}
	if (ferror(stdin)) {
		cli_err(qb->c, "reading standard input: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* The selected messages of the listing (ids NULL: all of it). */
static int
batch_selected(struct queue_batch *qb, const struct cli_qsel *sel,
    char **ids, int nids)
{
	struct cli_qlist	l;
	char			qid[QID_LEN + 1];
	size_t			i;
	int			j, rc, want;

	if ((rc = cli_queue_fetch(qb->c, &l, 0)) != 0)
		return rc;
	for (i = 0; i < l.n; i++) {
		if (!cli_qsel_match(sel, &l.v[i].env))
			continue;
		want = ids == NULL;
		for (j = 0; !want && j < nids; j++)
			want = cli_qid_parse(ids[j], qid) == 0 &&
			    strcmp(qid, l.v[i].env.id) == 0;
		if (want && batch_add(qb, l.v[i].env.id) == -1)
			break;
	}
	cli_qlist_free(&l);
	return qb->failed ? 1 : 0;
}

static int
queue_op(struct cli *c, const struct queue_verb *v, int argc, char **argv)
{
	struct queue_batch	 qb;
	struct cli_qsel		 sel;
	char			 qid[QID_LEN + 1];
	int			 i, nids = 0, all = 0, from_stdin = 0, rc = 0;
	char			**ids;

	memset(&sel, 0, sizeof(sel));
	if ((ids = calloc((size_t)argc + 1, sizeof(char *))) == NULL) {
		cli_err(c, "out of memory");
		return EX_OSERR;
	}
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--active") == 0)
			sel.states |= CLI_QS_ACTIVE;
		else if (strcmp(argv[i], "--deferred") == 0)
			sel.states |= CLI_QS_DEFERRED;
		else if (strcmp(argv[i], "--hold") == 0)
			sel.states |= CLI_QS_HOLD;
		else if (strcmp(argv[i], "--from") == 0 && i + 1 < argc)
			sel.from = argv[++i];
		else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
			sel.to = argv[++i];
		else if (strcmp(argv[i], "ALL") == 0)
			all = 1;
		else if (strcmp(argv[i], "-") == 0)
			from_stdin = 1;
		else if (argv[i][0] == '-') {
			free(ids);
			queue_usage(c);
			return EX_USAGE;
		} else if (cli_qid_parse(argv[i], qid) == -1) {
			char safe[64];

			(void)text_sanitize(safe, sizeof(safe), argv[i], '?', 0);
			cli_err(c, "\"%s\" is not a queue id (16 hex digits, "
			    "as \"postern queue list\" shows)", safe);
			free(ids);
			return EX_USAGE;
		} else
			ids[nids++] = argv[i];
	}
	/* Nothing named is not everything: ALL must be said. */
	if ((nids == 0 && !all && !from_stdin && cli_qsel_is_empty(&sel)) ||
	    (all && (nids > 0 || from_stdin)) ||
	    (from_stdin && (nids > 0 || !cli_qsel_is_empty(&sel)))) {
		free(ids);
		queue_usage(c);
		return EX_USAGE;
	}
	memset(&qb, 0, sizeof(qb));
	qb.c = c;
	qb.op = v->op;
	if ((qb.ids.id = calloc(Q_CTL_OP_MAX, sizeof(*qb.ids.id))) == NULL) {
		free(ids);
		cli_err(c, "out of memory");
		return EX_OSERR;
	}
	if (cli_queue_connect(c, &qb.conn, 0) == -1) {
		free(ids);
		free(qb.ids.id);
		return EX_UNAVAILABLE;
	}
	if (!cli_qsel_is_empty(&sel) || all)
		rc = batch_selected(&qb, &sel, nids > 0 ? ids : NULL, nids);
	else if (from_stdin)
		rc = batch_stdin(&qb) == -1 ? 1 : 0;
	else
		for (i = 0; i < nids && rc == 0; i++) {
			(void)cli_qid_parse(ids[i], qid);
			if (batch_add(&qb, qid) == -1)
				rc = 1;
		}
	if (rc == 0 && batch_send(&qb) == -1)
		rc = 1;
	ipc_conn_close(&qb.conn);
	free(qb.ids.id);
	free(ids);
	if (qb.missing > QUEUE_MISSING_SHOWN)
		cli_err(c, "%lu more ids not in the queue",
		    qb.missing - QUEUE_MISSING_SHOWN);
	if (qb.bad > QUEUE_MISSING_SHOWN)
		cli_err(c, "%lu more tokens were not queue ids",
		    qb.bad - QUEUE_MISSING_SHOWN);
	if (rc != 0 || qb.failed)
		return rc != 0 ? rc : 1;
	printf("postern: %lu message%s %s\n", qb.done, qb.done == 1 ? "" : "s",
	    v->done);
	/* Named ids that were not there fail the command, as a script needs. */
	return qb.missing > 0 || qb.bad > 0 ? 1 : 0;
}

/* queue flush [ID ... | DOMAIN] */
static int
queue_flush(struct cli *c, int argc, char **argv)
{
	struct ipc_conn	 conn;
	struct ipc_msg	 m;
	char		 qid[QID_LEN + 1], domain[Q_CTL_DOMAIN_MAX + 1];
	size_t		 i;
	int		 rc;

	domain[0] = '\0';
	if (argc >= 3 && cli_qid_parse(argv[2], qid) == 0)
		return queue_op(c, &queue_verbs[4], argc, argv);
	if (argc > 3) {
		queue_usage(c);
		return EX_USAGE;
	}
	if (argc == 3) {
		/* A domain: lower case, and nothing a path or a log dislikes. */
		if (strlcpy(domain, argv[2], sizeof(domain)) >= sizeof(domain) ||
		    domain[0] == '\0' || domain[0] == '-') {
			cli_err(c, "\"%s\" is neither a queue id nor a domain",
			    argv[2]);
			return EX_USAGE;
		}
		for (i = 0; domain[i] != '\0'; i++) {
			unsigned char ch = (unsigned char)domain[i];

			if (ch <= 0x20 || ch == 0x7f || ch == '/' || ch == '@') {
				cli_err(c, "\"%s\" is neither a queue id nor "
				    "a domain", argv[2]);
				return EX_USAGE;
			}
			if (ch >= 'A' && ch <= 'Z')
				domain[i] = (char)(ch - 'A' + 'a');
		}
	}
	if (cli_queue_connect(c, &conn, 0) == -1)
		return EX_UNAVAILABLE;
	ipc_msg_init(&m, Q_CTL_FLUSH, 0);
	if (proto_enc_q_ctl_flush(&m, domain) == -1 ||
	    ipc_send_wait(&conn, &m, PROTO_TIMEOUT_MS) == -1 ||
	    (ipc_msg_free(&m), ipc_recv_wait(&conn, &m,
	    PROTO_TIMEOUT_MS)) == -1) {
		cli_err(c, "talking to the queue: %s", strerror(errno));
		ipc_msg_free(&m);
		ipc_conn_close(&conn);
		return EX_TEMPFAIL;
	}
	rc = m.type == Q_OK ? 0 : 1;
	if (rc != 0)
		cli_err(c, "the queue refused the flush");
	else if (domain[0] != '\0')
		printf("postern: queue flush requested for %s\n", domain);
	else
		printf("postern: queue flush requested\n");
	ipc_msg_free(&m);
	ipc_conn_close(&conn);
	return rc;
}

/* Writes s to stdout; on a terminal, control bytes but TAB and LF as '?'. */
static void
show_bytes(const char *s, size_t n, int tty)
{
	size_t i;

	if (!tty) {
		fwrite(s, 1, n, stdout);
		return;
	}
	for (i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		putchar((ch < 0x20 && ch != '\t' && ch != '\n') || ch == 0x7f ?
		    '?' : ch);
	}
}

/*
 * queue show ID: the envelope and the message, as postcat -q does,
 * straight from the spool (read-only), so it works while the suite is
 * stopped; root's (or the development user's) only.
 */
static int
queue_show(struct cli *c, const char *arg)
{
	struct envelope	 e;
	struct buf	 b;
	char		 qid[QID_LEN + 1], qdir[PATH_MAX], why[512];
	char		 chunk[65536];
	unsigned char	 key[QFILE_KEY_LEN];
	uint64_t	 size, off = 0;
	ssize_t		 n;
	size_t		 i;
	int		 dfd, fd, has_envfile, has_key, rc;
	int		 tty = isatty(STDOUT_FILENO);

	if (cli_qid_parse(arg, qid) == -1) {
		(void)text_sanitize(why, sizeof(why), arg, '?', 0);
		cli_err(c, "\"%s\" is not a queue id (16 hex digits, as "
		    "\"postern queue list\" shows)", why);
		return EX_USAGE;
	}
	if (fs_path(qdir, sizeof(qdir), c->conf.spool_directory, "queue") ==
	    -1 || (dfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		cli_err(c, "cannot read the queue in %s/queue: %s%s",
		    c->conf.spool_directory, strerror(errno),
		    errno == EACCES ? " (run as root)" : "");
		return errno == EACCES ? EX_NOPERM : EX_OSERR;
	}
	has_key = cli_queue_key(dfd, key);
	rc = qfile_load(dfd, qid, has_key ? key : NULL, &e, &size,
	    &has_envfile, why, sizeof(why));
	explicit_bzero(key, sizeof(key));
	switch (rc) {
	case QFILE_OK:
		break;
	case QFILE_GONE:
	case QFILE_UNCOMMITTED:
		close(dfd);
		cli_err(c, "%s: no such message in the queue", qid);
		return 1;
	default:
		close(dfd);
		cli_err(c, "%s: %s", qid, why);
		return 1;
	}
	buf_init(&b, ENV_MAX_SIZE);
	if (env_write(&e, &b) == 0) {
		printf("*** ENVELOPE RECORDS %s ***\n", qid);
		show_bytes(b.data, b.len, tty);
	}
	buf_free(&b);
	env_free(&e);
	printf("*** MESSAGE CONTENTS %s ***\n", qid);
	if ((fd = openat(dfd, qid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		close(dfd);
		cli_err(c, "%s: %s", qid, strerror(errno));
		return 1;
	}
	close(dfd);
	while (off < size) {
		i = size - off < sizeof(chunk) ? (size_t)(size - off) :
		    sizeof(chunk);
		if ((n = fs_pread_full(fd, chunk, i, (off_t)(QFILE_HDR_LEN +
		    off))) <= 0)
			break;
		show_bytes(chunk, (size_t)n, tty);
		off += (uint64_t)n;
	}
	close(fd);
	printf("*** END OF MESSAGE %s ***\n", qid);
	if (off < size) {
		cli_err(c, "%s: the message ends early (removed while being "
		    "read?)", qid);
		return 1;
	}
	return fflush(stdout) == EOF ? EX_IOERR : 0;
}

int
cli_cmd_queue(struct cli *c, int argc, char **argv)
{
	size_t i;

	if (argc >= 2 && strcmp(argv[1], "list") == 0) {
		if (argc == 2)
			return cli_queue_list(c, 0);
		if (argc == 3 && (strcmp(argv[2], "--json") == 0 ||
		    strcmp(argv[2], "-j") == 0))
			return cli_queue_list(c, 1);
	} else if (argc == 3 && strcmp(argv[1], "show") == 0)
		return queue_show(c, argv[2]);
	else if (argc >= 2 && strcmp(argv[1], "flush") == 0)
		return queue_flush(c, argc, argv);
	else if (argc >= 2)
		for (i = 0; i < sizeof(queue_verbs) / sizeof(queue_verbs[0]);
		    i++)
			if (strcmp(argv[1], queue_verbs[i].name) == 0 &&
			    queue_verbs[i].op != Q_OP_FLUSH)
				return queue_op(c, &queue_verbs[i], argc, argv);
	queue_usage(c);
	return EX_USAGE;
}
