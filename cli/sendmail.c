/*
 * sendmail.c - the sendmail-compatible injector: reads a message from
 * standard input and hands it to queued over <spool>/public/inject.sock.
 *
 * Runs as the invoking user (cron, a web application, a shell user); it
 * is not setuid and needs no privilege: the inject socket is open to
 * every local user, and queued, not this program, decides what to accept
 * and records who submitted (it sees our uid on the socket). Nothing the
 * caller passes is trusted: options go through sm_args.c, the message
 * through the size cap in sm_msg.c and the header parser in mailhdr.c,
 * every address through addr_parse. Exit codes are sysexits(3), which is
 * what callers of sendmail act on (75 means "try again later").
 */
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "cli.h"
#include "daemon.h"
#include "fsutil.h"
#include "ipc.h"
#include "log.h"
#include "mailhdr.h"
#include "proto.h"
#include "sendmail.h"
#include "text.h"

struct sm_job {
	struct conf		 conf;
	struct sm_opts		 opts;
	char			 sender[ADDR_MAX + 1];
	const char		*fullname;
	char			 gecos[128];
	struct mailhdr_addrs	 rcpt;
	struct sm_input		 in;
	const char		*text;	/* the message read: in.msg, or "" */
	struct mailhdr		 hdr;
};

static void	sm_err(const char *, ...) __attribute__((format(printf, 1, 2)));

static void
sm_err(const char *fmt, ...)
{
	char	msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "sendmail: %s\n", msg);
	/* The mail log too, as postern/sendmail: a failing cron job says why. */
	log_errx("%s", msg);
}

/* The envelope sender: -f, else the invoking user at the default domain. */
static int
sm_sender(struct sm_job *j)
{
	struct passwd	*pw;
	struct mailaddr	 a;
	const char	*f = j->opts.sender;
	char		*comma;

	pw = getpwuid(getuid());
	if (pw != NULL && pw->pw_gecos != NULL) {
		/* The GECOS full name is the first comma-separated field. */
		strlcpy(j->gecos, pw->pw_gecos, sizeof(j->gecos));
		if ((comma = strchr(j->gecos, ',')) != NULL)
			*comma = '\0';
	}
	j->fullname = j->opts.fullname != NULL ? j->opts.fullname : j->gecos;
	if (f == NULL) {
		if (pw == NULL) {
			sm_err("no login name for uid %lu: use -f",
			    (unsigned long)getuid());
			return EX_NOUSER;
		}
		f = pw->pw_name;
	}
	if (strcmp(f, "<>") == 0 || f[0] == '\0') {
		j->sender[0] = '\0';	/* the null sender: never bounced */
		return 0;
	}
	if (sm_addr_complete(f, conf_default_domain(&j->conf), j->sender,
	    sizeof(j->sender)) == -1 || addr_parse(j->sender, &a, 0) == -1) {
		sm_err("bad sender address syntax: %s", f);
		return EX_NOUSER;
	}
	return 0;
}

/* Adds one list of addresses (a command line word or a header value). */
static int
sm_add_list(struct sm_job *j, struct mailhdr_addrs *list)
{
	struct mailaddr	a;
	char		full[ADDR_MAX + 1];
	size_t		i;

	for (i = 0; i < list->n; i++) {
		if (sm_addr_complete(list->v[i], conf_default_domain(&j->conf), full,
		    sizeof(full)) == -1 || full[0] == '\0' ||
		    addr_parse(full, &a, 0) == -1) {
			sm_err("bad recipient address syntax: %s", list->v[i]);
			return EX_NOUSER;
		}
		if (mailhdr_addrs_add(&j->rcpt, full) == -1) {
			sm_err("too many recipients");
			return EX_DATAERR;
		}
	}
	return 0;
}

static int
sm_recipients(struct sm_job *j)
{
	struct mailhdr_addrs	list = { 0, NULL };
	char			err[256];
	size_t			i;
	int			rc;

	for (i = 0; i < j->opts.nrcpt; i++) {
		if (mailhdr_addrlist(j->opts.rcpt[i], &list, err,
		    sizeof(err)) == -1) {
			sm_err("bad recipient address syntax: %s: %s",
			    j->opts.rcpt[i], err);
			mailhdr_addrs_free(&list);
			return EX_NOUSER;
		}
	}
	if (j->opts.extract &&
	    sm_header_recipients(&j->hdr, &list, err, sizeof(err)) == -1) {
		sm_err("bad recipient address syntax: %s", err);
		mailhdr_addrs_free(&list);
		return EX_NOUSER;
	}
	rc = sm_add_list(j, &list);
	mailhdr_addrs_free(&list);
	if (rc != 0)
		return rc;
	if (j->rcpt.n == 0) {
		sm_err("no recipients (name them as arguments, or use -t to "
		    "take them from To:, Cc: and Bcc:)");
		return EX_DATAERR;
	}
	if (j->rcpt.n > (size_t)j->conf.smtpd_recipient_limit) {
		sm_err("%zu recipients: more than smtpd_recipient_limit (%ld)",
		    j->rcpt.n, j->conf.smtpd_recipient_limit);
		return EX_DATAERR;
	}
	return 0;
}

static int
sm_read(struct sm_job *j)
{
	char	buf[65536];
	ssize_t	n;
	int	r = 0;

	sm_input_init(&j->in, (size_t)j->conf.message_size_limit,
	    j->opts.ignore_dots);
	for (;;) {
		n = read(STDIN_FILENO, buf, sizeof(buf));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			sm_err("reading the message: %s", strerror(errno));
			return EX_IOERR;
		}
		if (n == 0) {
			r = sm_input_finish(&j->in);
			break;
		}
		if ((r = sm_input_feed(&j->in, buf, (size_t)n)) != 0)
			break;
	}
	if (r == -1) {
		if (errno == E2BIG) {
			sm_err("message is larger than message_size_limit "
			    "(%llu bytes): not sent",
			    (unsigned long long)j->conf.message_size_limit);
			return EX_DATAERR;
		}
		sm_err("reading the message: out of memory");
		return EX_TEMPFAIL;
	}
	return 0;
}

/* Maps a Q_ERR from queued to an exit code, after saying what it was. */
static int
sm_queue_error(const struct ipc_msg *m, const char *when)
{
	struct q_err	e;
	char		text[PROTO_TEXT_MAX];

	if (m->type != Q_ERR || proto_dec_q_err(m, &e) == -1) {
		sm_err("unexpected reply from the queue %s", when);
		return EX_SOFTWARE;
	}
	(void)text_sanitize(text, sizeof(text), e.text, '?', 0);
	sm_err("the queue refused the message %s: %s", when, text);
	if (e.status == ST_TEMP)
		return EX_TEMPFAIL;
	/* 5.7.x: this user, or this sender, is not allowed (postern.conf). */
	return strncmp(e.text, "5.7.", 4) == 0 ? EX_NOPERM : EX_UNAVAILABLE;
}

static int
sm_recv(struct ipc_conn *conn, struct ipc_msg *m, const char *when)
{
	if (ipc_recv_wait(conn, m, PROTO_TIMEOUT_MS) == -1) {
		sm_err("no answer from the queue %s: %s", when,
		    errno == EPIPE ? "connection closed" : strerror(errno));
		return -1;
	}
	return 0;
}

static void
sm_abort(struct ipc_conn *conn)
{
	struct ipc_msg m;

	/* Best effort: queued also drops the file when we disconnect. */
	ipc_msg_init(&m, Q_ABORT, 0);
	(void)ipc_send_wait(conn, &m, 1000);
	ipc_msg_free(&m);
}

/* Writes header and body into the spool file queued gave us. */
static int
sm_write(struct sm_job *j, int fd, const char *qid, uint64_t *size)
{
	struct sm_stamp	 st;
	struct buf	 h;
	const char	*body = j->text + j->hdr.body_off;
	size_t		 blen = j->in.msg.len - j->hdr.body_off;
	int		 rc = 0;

	memset(&st, 0, sizeof(st));
	st.myhostname = j->conf.myhostname;
	st.qid = qid;
	st.now = time(NULL);
	st.sender = j->sender;
	st.fullname = j->fullname;
	buf_init(&h, MAILHDR_SECTION_MAX + 65536);
	if (sm_header_build(&j->hdr, j->text, &st, &h) == -1) {
		sm_err("cannot build the message header");
		buf_free(&h);
		return EX_SOFTWARE;
	}
	if ((uint64_t)h.len + blen > j->conf.message_size_limit) {
		sm_err("message with its added header is larger than "
		    "message_size_limit (%llu bytes): not sent",
		    (unsigned long long)j->conf.message_size_limit);
		rc = EX_DATAERR;
	} else if (fs_write_all(fd, h.data, h.len) == -1 ||
	    (blen > 0 && fs_write_all(fd, body, blen) == -1) ||
	    fsync(fd) == -1) {
		sm_err("writing the queue file: %s", strerror(errno));
		rc = EX_TEMPFAIL;
	}
	*size = (uint64_t)h.len + blen;
	buf_free(&h);
	return rc;
}

static int
sm_submit(struct sm_job *j)
{
	struct ipc_conn	 conn;
	struct ipc_msg	 m;
	struct q_commit	 qc;
	char		 dir[PATH_MAX], qid[QID_LEN + 1];
	int		 fd, rc;

	if (fs_path(dir, sizeof(dir), j->conf.spool_directory,
	    "public") == -1) {
		sm_err("spool_directory is too long");
		return EX_CONFIG;
	}
	if ((fd = cli_connect(dir, "inject.sock")) == -1) {
		sm_err("cannot reach the queue at %s/inject.sock: %s (is "
		    "postern running?); message not sent", dir,
		    strerror(errno));
		return EX_TEMPFAIL;
	}
	ipc_conn_init(&conn, fd, IPC_MAX_PAYLOAD);

	ipc_msg_init(&m, Q_BEGIN, 0);
	rc = ipc_send_wait(&conn, &m, PROTO_TIMEOUT_MS);
	ipc_msg_free(&m);
	if (rc == -1) {
		sm_err("talking to the queue: %s", strerror(errno));
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (sm_recv(&conn, &m, "at the start") == -1) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (m.type != Q_FILE || proto_dec_q_file(&m, qid) == -1) {
		rc = m.type == Q_ERR ? sm_queue_error(&m, "at the start") :
		    EX_SOFTWARE;
		if (rc == EX_SOFTWARE)
			sm_err("malformed reply from the queue");
		ipc_msg_free(&m);
		goto out;
	}

	memset(&qc, 0, sizeof(qc));
	rc = sm_write(j, m.fd, qid, &qc.size);
	ipc_msg_free(&m);	/* closes our copy of the spool file */
	if (rc != 0) {
		sm_abort(&conn);
		goto out;
	}

	strlcpy(qc.sender, j->sender, sizeof(qc.sender));
	strlcpy(qc.client, "localhost", sizeof(qc.client));
	qc.helo[0] = '\0';
	qc.nrcpt = (uint32_t)j->rcpt.n;
	qc.rcpt = j->rcpt.v;
	ipc_msg_init(&m, Q_COMMIT, 0);
	if (proto_enc_q_commit(&m, &qc) == -1) {
		ipc_msg_free(&m);
		sm_err("too many recipients for one submission");
		sm_abort(&conn);
		rc = EX_DATAERR;
		goto out;
	}
	rc = ipc_send_wait(&conn, &m, PROTO_TIMEOUT_MS);
	ipc_msg_free(&m);
	if (rc == -1) {
		sm_err("talking to the queue: %s", strerror(errno));
		rc = EX_TEMPFAIL;
		goto out;
	}
	/* Only Q_OK means the message is on disk and ours no longer. */
	if (sm_recv(&conn, &m, "at commit") == -1) {
		rc = EX_TEMPFAIL;
		goto out;
	}
	if (m.type == Q_OK)
		rc = 0;
	else
		rc = sm_queue_error(&m, "at commit");
	ipc_msg_free(&m);
out:
	ipc_conn_close(&conn);
	return rc;
}

static int
sm_mode_refuse(enum sm_mode mode)
{
	switch (mode) {
	case SM_MODE_SMTP:
		sm_err("-bs (SMTP on standard input) is not supported: "
		    "connect to the SMTP service instead");
		return EX_USAGE;
	case SM_MODE_MAILQ:
		sm_err("-bp is not supported: use \"postern queue list\" "
		    "(as root)");
		return EX_USAGE;
	case SM_MODE_NEWALIASES:
		sm_err("-bi is not supported: use \"postern alias\" (as root)");
		return EX_USAGE;
	case SM_MODE_QUEUE_RUN:
		/* Harmless to accept: the queue retries on its own. */
		sm_err("-q ignored: queued retries deferred mail itself "
		    "(\"postern queue flush\" forces a retry)");
		return 0;
	case SM_MODE_DELIVER:
		break;
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct sm_job	 j;
	const char	*confpath;
	char		 err[512];
	int		 rc;

	memset(&j, 0, sizeof(j));
	/* Our own lines go to the mail log, never to the caller's stderr. */
	log_init("sendmail", LOG_DEST_SYSLOG);
	/* A queued that goes away must give us EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (sm_args_parse(argc, argv, &j.opts, err, sizeof(err)) == -1) {
		sm_err("%s", err);
		fprintf(stderr, "usage: sendmail [-t] [-i] [-f sender] "
		    "[-F name] [-C config] [--] [recipient ...]\n");
		return EX_USAGE;
	}
	if ((rc = sm_mode_refuse(j.opts.mode)) != -1)
		goto done_args;
	confpath = cli_config_path(j.opts.config);
	if (conf_load(&j.conf, confpath, err, sizeof(err)) == -1) {
		sm_err("%s", err);
		rc = EX_CONFIG;
		goto done_args;
	}
	daemon_log_setup(&j.conf);
	if ((rc = sm_sender(&j)) != 0)
		goto done_conf;
	if ((rc = sm_read(&j)) != 0)
		goto done_input;
	j.text = j.in.msg.data != NULL ? j.in.msg.data : "";
	if (mailhdr_parse(j.text, j.in.msg.len, &j.hdr, err,
	    sizeof(err)) == -1) {
		sm_err("%s", err);
		rc = EX_DATAERR;
		goto done_input;
	}
	if ((rc = sm_recipients(&j)) == 0)
		rc = sm_submit(&j);
	mailhdr_free(&j.hdr);
	mailhdr_addrs_free(&j.rcpt);
done_input:
	sm_input_free(&j.in);
done_conf:
	conf_free(&j.conf);
done_args:
	sm_args_free(&j.opts);
	return rc;
}
