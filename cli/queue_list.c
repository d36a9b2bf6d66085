/*
 * queue_list.c - the queue listing: "postern queue list [--json]", and
 * sendmail's -bp / mailq, which call cli_queue_list.
 *
 * Runs as whoever typed it. Root (or the development suite's user)
 * asks queued on private/control.sock; anyone else asks on
 * public/inject.sock, where queued answers only queue_list_users (as
 * Postfix's showq answers authorized_mailq_users). When queued is not
 * running, root reads the spool itself, read-only, through qfile_load:
 * the one reader of queue files, the same code queued loads them with
 * (with the MAC checked when the key is readable). queued is trusted to
 * speak the protocol but not for the text it relays: sender, recipients
 * and reasons came from clients and remote servers, so they are
 * sanitised before they reach a terminal and escaped in JSON.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "fsutil.h"
#include "ipc.h"
#include "proto.h"
#include "qfile.h"
#include "text.h"

/* Where the sender column starts: id and marker, size, arrival time. */
#define QUEUE_INDENT	(QID_LEN + 1 + 9 + 21 + 1)

void
cli_qlist_free(struct cli_qlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		env_free(&l->v[i].env);
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

/* Takes e's strings. */
static int
qlist_add(struct cli_qlist *l, struct envelope *e, uint64_t size)
{
	struct cli_qentry	*nv;
	size_t			 ncap;

	/* Doubling: a million entries must not be copied a million times. */
	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 256;
		if ((nv = reallocarray(l->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	l->v[l->n].env = *e;
	l->v[l->n].size = size;
	env_init(e);
	l->n++;
	return 0;
}

static int
qentry_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cli_qentry *)a)->env.id,
	    ((const struct cli_qentry *)b)->env.id);
}

/*
 * Connects to dir/name below the spool; -1 with errno. The whole path
 * never goes into sun_path (cli_connect).
 */
static int
queue_sock(struct cli *c, const char *sub, const char *name)
{
	char dir[PATH_MAX];

	if (fs_path(dir, sizeof(dir), c->conf.spool_directory, sub) == -1) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return cli_connect(dir, name);
}

int
cli_queue_connect(struct cli *c, struct ipc_conn *conn, int quiet)
{
	int fd, saved;

	if ((fd = queue_sock(c, "private", "control.sock")) != -1) {
		ipc_conn_init(conn, fd, IPC_MAX_PAYLOAD);
		return 0;
	}
	saved = errno;
	if (!quiet)
		cli_err(c, "cannot reach the queue at %s/private/control.sock: "
		    "%s%s", c->conf.spool_directory, strerror(saved),
		    saved == ENOENT || saved == ECONNREFUSED ?
		    " (is postern running?)" : saved == EACCES ?
		    " (run as root)" : "");
	errno = saved;
	return -1;
}

/* Reads Q_CTL_ENTRY frames until Q_OK. 0, or an exit status. */
static int
queue_fetch_online(struct cli *c, struct ipc_conn *conn, struct cli_qlist *l)
{
	struct ipc_msg	 m;
	struct envelope	 e;
	struct q_err	 qe;
	char		*text, err[256], safe[PROTO_TEXT_MAX];
	uint64_t	 size;

	ipc_msg_init(&m, Q_CTL_LIST, 0);
	if (ipc_send_wait(conn, &m, PROTO_TIMEOUT_MS) == -1) {
		ipc_msg_free(&m);
		cli_err(c, "sending to the queue: %s", strerror(errno));
		return EX_TEMPFAIL;
	}
	ipc_msg_free(&m);
	for (;;) {
		if (ipc_recv_wait(conn, &m, PROTO_TIMEOUT_MS) == -1) {
			cli_err(c, "no answer from the queue: %s",
			    errno == EPIPE ? "it closed the connection" :
			    strerror(errno));
			return EX_TEMPFAIL;
		}
		if (m.type == Q_OK)
			break;
		if (m.type == Q_ERR && proto_dec_q_err(&m, &qe) == 0) {
			(void)text_sanitize(safe, sizeof(safe), qe.text, '?', 0);
			cli_err(c, "%s", safe);
			ipc_msg_free(&m);
			return qe.status == ST_PERM ? EX_NOPERM : EX_TEMPFAIL;
		}
		if (m.type != Q_CTL_ENTRY ||
		    proto_dec_q_ctl_entry(&m, &text, &size) == -1) {
			cli_err(c, "malformed reply from the queue");
			ipc_msg_free(&m);
			return EX_PROTOCOL;
		}
		ipc_msg_free(&m);
		if (env_parse(text, strlen(text), &e, err, sizeof(err)) == -1) {
			/* One bad record should not hide the rest. */
			cli_warn(c, "unreadable envelope in the listing: %s",
			    err);
			free(text);
			continue;
		}
		free(text);
		if (qlist_add(l, &e, size) == -1) {
			env_free(&e);
			cli_err(c, "out of memory");
			return EX_OSERR;
		}
	}
	ipc_msg_free(&m);
	return 0;
}

int
cli_queue_key(int qdirfd, unsigned char key[QFILE_KEY_LEN])
{
	ssize_t	n;
	int	fd;

	if ((fd = openat(qdirfd, QFILE_KEY_NAME, O_RDONLY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		return 0;
	n = fs_pread_full(fd, key, QFILE_KEY_LEN, 0);
	close(fd);
	if (n != QFILE_KEY_LEN) {
		explicit_bzero(key, QFILE_KEY_LEN);
		return 0;
	}
	return 1;
}

/*
 * The spool, read as queued would load it, changing nothing: files
 * being received are skipped, damaged ones reported (queued moves them
 * to corrupt/ at its next start).
 */
static int
queue_fetch_spool(struct cli *c, struct cli_qlist *l)
{
	unsigned char	 key[QFILE_KEY_LEN];
	char		 qdir[PATH_MAX], why[512];
	struct envelope	 e;
	struct dirent	*de;
	DIR		*d;
	uint64_t	 size;
	int		 dfd, has_key, has_envfile;

	if (fs_path(qdir, sizeof(qdir), c->conf.spool_directory, "queue") ==
	    -1) {
		cli_err(c, "spool_directory is too long");
		return EX_CONFIG;
	}
	if ((dfd = open(qdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;	/* never started: nothing queued */
		cli_err(c, "cannot read the queue in %s: %s%s", qdir,
		    strerror(errno), errno == EACCES ? " (run as root)" : "");
		return errno == EACCES ? EX_NOPERM : EX_OSERR;
	}
	/* With the key, only what queued itself would load is listed. */
	has_key = cli_queue_key(dfd, key);
	if ((d = fdopendir(dfd)) == NULL) {
		cli_err(c, "cannot read %s: %s", qdir, strerror(errno));
		close(dfd);
		return EX_OSERR;
	}
	while ((de = readdir(d)) != NULL) {
		if (strlen(de->d_name) != QID_LEN || !qid_valid(de->d_name))
			continue;
		switch (qfile_load(dfd, de->d_name, has_key ? key : NULL, &e,
		    &size, &has_envfile, why, sizeof(why))) {
		case QFILE_OK:
			if (qlist_add(l, &e, size) == -1) {
				env_free(&e);
				closedir(d);
				explicit_bzero(key, sizeof(key));
				cli_err(c, "out of memory");
				return EX_OSERR;
			}
			break;
		case QFILE_GONE:
		case QFILE_UNCOMMITTED:
			break;
		default:
			cli_warn(c, "%s/%s: %s", qdir, de->d_name, why);
		}
	}
	closedir(d);
	explicit_bzero(key, sizeof(key));
	l->offline = 1;
	return 0;
}

int
cli_queue_fetch(struct cli *c, struct cli_qlist *l, int offline_ok)
{
	struct ipc_conn	conn;
	int		fd, rc;

	memset(l, 0, sizeof(*l));
	if (cli_queue_connect(c, &conn, 1) == 0) {
		rc = queue_fetch_online(c, &conn, l);
		ipc_conn_close(&conn);
	} else if (errno == EACCES) {
		/* Not root: queued decides (queue_list_users). */
		if ((fd = queue_sock(c, "public", "inject.sock")) == -1) {
			cli_err(c, "cannot reach the queue at "
			    "%s/public/inject.sock: %s (is postern running?)",
			    c->conf.spool_directory, strerror(errno));
			return EX_UNAVAILABLE;
		}
		ipc_conn_init(&conn, fd, IPC_MAX_PAYLOAD);
		rc = queue_fetch_online(c, &conn, l);
		ipc_conn_close(&conn);
	} else if (offline_ok &&
	    (errno == ENOENT || errno == ECONNREFUSED)) {
		rc = queue_fetch_spool(c, l);
	} else {
		(void)cli_queue_connect(c, &conn, 0);	/* says why */
		return EX_UNAVAILABLE;
	}
	if (rc != 0) {
		cli_qlist_free(l);
		return rc;
	}
	if (l->n > 1)
		qsort(l->v, l->n, sizeof(l->v[0]), qentry_cmp);
	return 0;
}

/* long: mailq's arrival time; else the time of day. */
static void
fmt_time(int64_t t, int full, char *out, size_t outsz)
{
	struct tm	tm;
	time_t		tt = (time_t)t;
	size_t		n = 0;

	if (t > 0 && localtime_r(&tt, &tm) != NULL)
		n = full ? strftime(out, outsz, "%a %b %e %H:%M:%S", &tm) :
		    strftime(out, outsz, "%H:%M:%S", &tm);
	if (n == 0)
		strlcpy(out, "-", outsz);
}

/*
 * Postfix's mailq layout, so that habits and scripts carry over: the id
 * marked '*' while being delivered and '!' on hold, size, arrival time,
 * sender; then each recipient, after its last reason in parentheses,
 * with its state.
 */
static void
print_text_entry(const struct cli_qentry *q)
{
	const struct envelope	*e = &q->env;
	char			 when[64], a[ADDR_MAX * 2 + 8];
	char			 why[PROTO_TEXT_MAX + 8];
	enum cli_qstate		 st = cli_queue_state(e);
	size_t			 i;

	fmt_time(e->created, 1, when, sizeof(when));
	(void)text_sanitize(a, sizeof(a), e->sender != NULL ? e->sender : "",
	    '?', 0);
	printf("%s%c %8llu %-20s %s\n", e->id,
	    st == CLI_QS_HOLD ? '!' : st == CLI_QS_ACTIVE ? '*' : ' ',
	    (unsigned long long)q->size, when, a[0] != '\0' ? a :
	    "MAILER-DAEMON");
	for (i = 0; i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		if (r->reason != NULL && r->reason[0] != '\0') {
			(void)text_sanitize(why, sizeof(why), r->reason, '?',
			    0);
			printf("%*s(%s)\n", QUEUE_INDENT, "", why);
		}
		(void)text_sanitize(a, sizeof(a), r->addr, '?', 0);
		printf("%*s%s  [%s", QUEUE_INDENT, "", a,
		    env_state_name(r->state));
		if (r->tries > 0)
			printf(", %u %s", r->tries, r->tries == 1 ? "try" :
			    "tries");
		if (r->state == RCPT_DEFERRED && !e->held) {
			fmt_time(r->next_try, 0, when, sizeof(when));
			printf(", next %s", when);
		}
		printf("]\n");
	}
	putchar('\n');
}

/*
 * One JSON object per line and message, as Postfix's postqueue -j, with
 * the same names where Postfix has the field (man/postern.8 documents
 * every field; new fields may be added, none renamed or removed).
 */
static int
print_json_entry(const struct cli_qentry *q)
{
	const struct envelope	*e = &q->env;
	struct buf		 b;
	size_t			 i;
	int			 rc = 0;

	buf_init(&b, ENV_MAX_SIZE * 2);
	if (buf_printf(&b, "{\"queue_name\": \"%s\", \"queue_id\": \"%s\", "
	    "\"arrival_time\": %lld, \"message_size\": %llu, \"sender\": ",
	    cli_queue_state_name(cli_queue_state(e)), e->id,
	    (long long)e->created, (unsigned long long)q->size) == -1 ||
	    cli_json_str(&b, e->sender != NULL ? e->sender : "") == -1 ||
	    buf_printf(&b, ", \"held_since\": %lld, \"requeued\": %lld, "
	    "\"bounce\": %s, \"recipients\": [", (long long)e->held,
	    (long long)e->requeued, e->is_bounce ? "true" : "false") == -1)
		rc = -1;
	for (i = 0; rc == 0 && i < e->nrcpt; i++) {
		const struct env_rcpt *r = &e->rcpt[i];

		if (buf_printf(&b, "%s{\"address\": ", i ? ", " : "") == -1 ||
		    cli_json_str(&b, r->addr) == -1 ||
		    buf_puts(&b, ", \"orig_address\": ") == -1 ||
		    cli_json_str(&b, r->orcpt != NULL ? r->orcpt : r->addr) ==
		    -1 ||
		    buf_printf(&b, ", \"state\": \"%s\", \"tries\": %u, "
		    "\"next_try\": %lld", env_state_name(r->state), r->tries,
		    (long long)r->next_try) == -1 ||
		    (r->reason != NULL && r->reason[0] != '\0' &&
		    (buf_puts(&b, ", \"delay_reason\": ") == -1 ||
		    cli_json_str(&b, r->reason) == -1)) ||
		    buf_puts(&b, "}") == -1)
			rc = -1;
	}
	if (rc == 0 && buf_puts(&b, "]}\n") == 0)
		fwrite(b.data, 1, b.len, stdout);
	buf_free(&b);
	return rc;
}

int
cli_queue_list(struct cli *c, int json)
{
	struct cli_qlist	 l;
	uint64_t		 total = 0;
	size_t			 i;
	int			 rc;

	if ((rc = cli_queue_fetch(c, &l, 1)) != 0)
		return rc;
	if (l.offline)
		cli_warn(c, "the queue is not running: listed from the spool");
	if (!json && l.n > 0)
		printf("%-17s --Size-- ----Arrival Time---- "
		    "-Sender/Recipient-------\n", "-Queue ID-");
	for (i = 0; i < l.n; i++) {
		total += l.v[i].size;
		if (!json)
			print_text_entry(&l.v[i]);
		else if (print_json_entry(&l.v[i]) == -1)
			cli_warn(c, "%s: too large to list as JSON",
			    l.v[i].env.id);
	}
	if (!json) {
		if (l.n == 0)
			printf("Mail queue is empty\n");
		else
			printf("-- %llu Kbytes in %zu Request%s.\n",
			    (unsigned long long)((total + 1023) / 1024), l.n,
			    l.n == 1 ? "" : "s");
	}
	cli_qlist_free(&l);
	if (fflush(stdout) == EOF || ferror(stdout)) {
		cli_err(c, "writing the listing: %s", strerror(errno));
		return EX_IOERR;
	}
	return 0;
}
