/*
 * sendmail.c - the sendmail-compatible injector: reads a message from
 * standard input and hands it to queued over <spool>/public/inject.sock
 * (sm_queue.c); with -bs it speaks SMTP on standard input and output
 * instead (sm_smtp.c). -bp, -bi and -q run the postern command, as
 * Postfix's sendmail runs postqueue and postalias; invoked as mailq or
 * newaliases it is -bp or -bi. -bv prints, in sendmail's words, where
 * each recipient goes (verify.c, the expansion resolverd runs).
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
#include "log.h"
#include "mailhdr.h"
#include "sendmail.h"
#include "verify.h"

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

	sm_fullname(j->opts.fullname, j->gecos, sizeof(j->gecos));
	j->fullname = j->gecos;
	if (f == NULL) {
		if ((pw = getpwuid(getuid())) == NULL) {
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

/* Says what went wrong with the submission; the exit status for it. */
static int
sm_submit_exit(const struct sm_queue *q)
{
	if (q->refused)
		sm_err("the queue refused the message %s: %s", q->when,
		    q->text);
	else
		sm_err("%s: message not sent", q->text);
	switch (q->status) {
	case SM_Q_OK:
		return 0;
	case SM_Q_TEMP:
		return EX_TEMPFAIL;
	case SM_Q_PERM:
		return EX_UNAVAILABLE;
	case SM_Q_NOPERM:
		return EX_NOPERM;
	case SM_Q_TOOBIG:
	case SM_Q_TOOMANY:
		return EX_DATAERR;
	case SM_Q_CONFIG:
		return EX_CONFIG;
	case SM_Q_SOFTWARE:
		break;
	}
	return EX_SOFTWARE;
}

/* The recipients, and the command line's DSN options for each. */
static int
sm_submit_commit(struct sm_job *j, struct sm_queue *q, uint64_t size)
{
	struct q_commit	 qc;
	size_t		 i;
	int		 rc;

	memset(&qc, 0, sizeof(qc));
	qc.size = size;
	strlcpy(qc.sender, j->sender, sizeof(qc.sender));
	qc.body = (uint32_t)j->opts.body;
	qc.ret = (uint32_t)j->opts.ret;
	if (j->opts.envid != NULL)
		strlcpy(qc.envid, j->opts.envid, sizeof(qc.envid));
	qc.nrcpt = (uint32_t)j->rcpt.n;
	qc.rcpt = j->rcpt.v;
	if (j->opts.notify != 0) {
		/* The count was checked against smtpd_recipient_limit. */
		if ((qc.notify = calloc(j->rcpt.n, sizeof(*qc.notify))) ==
		    NULL) {
			q->status = SM_Q_TEMP;
			strlcpy(q->text, "out of memory", sizeof(q->text));
			return -1;
		}
		for (i = 0; i < j->rcpt.n; i++)
			qc.notify[i] = j->opts.notify;
	}
	rc = sm_queue_commit(q, &qc);
	free(qc.notify);
	return rc;
}

static int
sm_submit(struct sm_job *j)
{
	struct sm_queue	q;
	struct sm_stamp	st;
	uint64_t	size;
	int		rc = 0;

	memset(&st, 0, sizeof(st));
	st.now = time(NULL);
	st.sender = j->sender;
	st.fullname = j->fullname;
	sm_queue_init(&q);
	if (sm_queue_begin(&q, &j->conf) == -1 ||
	    sm_queue_write(&q, &j->conf, &j->hdr, j->text, j->in.msg.len, &st,
	    &size) == -1 ||
	    sm_submit_commit(j, &q, size) == -1)
		rc = sm_submit_exit(&q);
	sm_queue_end(&q);
	return rc;
}

/*
 * -bp, -bi and -q are the postern command's work: run it, as
 * Postfix's sendmail runs postqueue and postalias. It runs as the
 * invoking user, as we do, so this grants nothing. Returns only on
 * failure.
 */
static int
sm_run_postern(const struct sm_opts *o, const char *const *args,
    size_t nargs, int with_rcpt)
{
	char		 path[PATH_MAX];
	const char	**av;
	size_t		 n = 0, i;

	if (cli_sibling_path("postern", path, sizeof(path)) == -1) {
		sm_err("cannot find the postern command");
		return EX_OSFILE;
	}
	if ((av = calloc(nargs + o->nrcpt + 4, sizeof(*av))) == NULL) {
		sm_err("out of memory");
		return EX_TEMPFAIL;
	}
	av[n++] = "postern";
	if (o->config != NULL) {
		av[n++] = "-c";
		av[n++] = o->config;
	}
	for (i = 0; i < nargs; i++)
		av[n++] = args[i];
	for (i = 0; with_rcpt && i < o->nrcpt; i++)
		av[n++] = o->rcpt[i];
	av[n] = NULL;
	fflush(NULL);
	execv(path, (char *const *)av);
	sm_err("cannot run %s: %s", path, strerror(errno));
	free(av);
	return EX_OSFILE;
}

static int
sm_mode_run(const struct sm_opts *o)
{
	static const char *const mailq[] = { "queue", "list" };
	static const char *const alias[] = { "alias" };
	const char	*flush[] = { "queue", "flush", o->flush };

	switch (o->mode) {
	case SM_MODE_MAILQ:
		return sm_run_postern(o, mailq, 2, 0);
	case SM_MODE_NEWALIASES:
		return sm_run_postern(o, alias, 1, 0);
	case SM_MODE_FLUSH:
		return sm_run_postern(o, flush, o->flush != NULL ? 3 : 2, 0);
	case SM_MODE_NOTHING:
		/* -q30m, -bh: queued keeps its own schedule; no host db. */
		return 0;
	case SM_MODE_DELIVER:
	case SM_MODE_SMTP:
	case SM_MODE_VERIFY:
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
		    "[-F name] [-C config] [option ...] [--] [recipient ...]\n"
		    "       sendmail -bs | -bp | -bi | -bv address ... | -q\n");
		return EX_USAGE;
	}
	if ((rc = sm_mode_run(&j.opts)) != -1)
		goto done_args;
	confpath = cli_config_path(j.opts.config);
	if (conf_load(&j.conf, confpath, err, sizeof(err)) == -1) {
		sm_err("%s", err);
		rc = EX_CONFIG;
		goto done_args;
	}
	daemon_log_setup(&j.conf);
	if (j.opts.mode == SM_MODE_SMTP) {
		rc = sm_smtp_run(&j.conf, &j.opts);
		goto done_conf;
	}
	/*
	 * -bv reads no message: sendmail's lines for where each recipient
	 * goes (verify.c: resolverd's expansion over the maps on disk).
	 */
	if (j.opts.mode == SM_MODE_VERIFY) {
		rc = sm_verify(&j.conf, j.opts.rcpt, j.opts.nrcpt);
		goto done_conf;
	}
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
