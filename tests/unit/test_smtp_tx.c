/*
 * test_smtp_tx.c - the SMTP server command handling that smtpd and
 * sendmail -bs share, driven over a socketpair as a client drives it:
 * each command's state checks and replies, the EHLO list, what MAIL and
 * RCPT accept (SIZE, the recipient limit, duplicates, <postmaster>),
 * the callbacks (recipient checks, DATA, VRFY, bad UTF-8), the DATA
 * reader's results and the transaction's end, the error limit and the
 * command timeout.
 */
#include <sys/socket.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "ipc.h"
#include "netio.h"
#include "smtp_tx.h"

#define T_OUT_MAX	(64 * 1024)

/* One server session and what its callbacks saw. */
struct t {
	struct conf		 c;
	struct smtp_tx		 tx;
	int			 peer;
	struct smtp_tx_ops	 ops;

	int			 rcpt_calls;
	char			 rcpt_last[ADDR_MAX + 1];
	const char		*rcpt_refuse;	/* this address is refused */
	int			 utf8_calls;
	int			 vrfy_calls;
	char			 vrfy_arg[64];

	int			 data_calls;
	int			 data_refuse;	/* refuse before the 354 */
	uint32_t		 data_nrcpt;	/* recipients DATA saw */
	char			 data_sender[ADDR_MAX + 1];
	int			 put_errno;	/* the sink fails with this */
	enum smtp_tx_data	 data_res;
	char			 got[4096];	/* what the sink was given */
	size_t			 gotlen;

	int			 tls_calls;
	int			 tls_rc;	/* what starttls returns */
	const char		*after_tls;	/* the client's next lines */

	char			 out[T_OUT_MAX];	/* the replies */
	struct netio		 io;			/* last: large */
};

static int
t_rcpt(void *ctx, const char *addr)
{
	struct t *t = ctx;

	t->rcpt_calls++;
	snprintf(t->rcpt_last, sizeof(t->rcpt_last), "%s", addr);
	if (t->rcpt_refuse != NULL && strcmp(addr, t->rcpt_refuse) == 0) {
		smtp_tx_reply(&t->tx, "550 5.1.1 <%s>: no", addr);
		return -1;
	}
	return 0;
}

static void
t_bad_utf8(void *ctx)
{
	struct t *t = ctx;

	t->utf8_calls++;
}

static void
t_vrfy(void *ctx, const char *arg)
{
	struct t *t = ctx;

	t->vrfy_calls++;
	snprintf(t->vrfy_arg, sizeof(t->vrfy_arg), "%s", arg);
	smtp_tx_reply(&t->tx, "250 2.0.0 <%s>", arg);
}

static int
t_put(void *arg, const void *p, size_t n)
{
	struct t *t = arg;

	if (t->put_errno != 0) {
		errno = t->put_errno;
		return -1;
	}
	assert_true(t->gotlen + n < sizeof(t->got));
	memcpy(t->got + t->gotlen, p, n);
	t->gotlen += n;
	t->got[t->gotlen] = '\0';
	return 0;
}

static int
t_data(void *ctx)
{
	struct t		*t = ctx;
	struct smtp_data	 d;
	struct smtp_tx_sink	 sink = { t_put, t };

	t->data_calls++;
	if (t->data_refuse) {
		smtp_tx_reply(&t->tx, "451 4.3.0 Error: not now");
		return 0;
	}
	t->data_nrcpt = t->tx.nrcpt;
	snprintf(t->data_sender, sizeof(t->data_sender), "%s",
	    t->tx.sender);
	t->data_res = smtp_tx_data_read(&t->tx, &d, &sink);
	smtp_tx_data_reply(&t->tx, t->data_res, &d);
	if (t->data_res == SMTP_TX_DATA_OK)
		smtp_tx_reply(&t->tx, "250 2.0.0 Ok: queued as T");
	return t->data_res >= SMTP_TX_DATA_TIMEOUT ? -1 : 0;
}

static ssize_t
t_plain_read(struct netio *io, void *p, size_t n)
{
	return recv(io->fd, p, n, MSG_DONTWAIT);
}

static ssize_t
t_plain_write(struct netio *io, const void *p, size_t n)
{
	return send(io->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
}

/*
 * STARTTLS as smtpd does it, with a transport that is no cipher: the
 * go-ahead, the switch (which drops what was pipelined), and then what
 * the client says "under TLS" (after_tls), written only now.
 */
static int
t_starttls(void *ctx)
{
	struct t *t = ctx;

	t->tls_calls++;
	if (t->tls_rc == 1) {
		smtp_tx_reply(&t->tx, "%s", SMTP_TX_STARTTLS_UNAVAILABLE);
		return 1;
	}
	smtp_tx_reply(&t->tx, "%s", SMTP_TX_STARTTLS_READY);
	if (t->tls_rc == -1)
		return -1;
	assert_true(netio_starttls(&t->io, t_plain_read, t_plain_write, NULL,
	    NULL) >= 0);
	if (t->after_tls != NULL) {
		assert_int_equal(write(t->peer, t->after_tls,
		    strlen(t->after_tls)), (ssize_t)strlen(t->after_tls));
		t->after_tls = NULL;
	}
	assert_int_equal(shutdown(t->peer, SHUT_WR), 0);
	return 0;
}

/* A session with smtpd's defaults but for the lines of conf. */
static struct t *
t_open(const char *conf)
{
	struct t	*t;
	char		 err[256], text[1024];
	int		 sv[2];

	assert_non_null(t = calloc(1, sizeof(*t)));
	snprintf(text, sizeof(text), "myhostname = mx.example.org\n"
	    "local_domains = example.org\n%s", conf != NULL ? conf : "");
	if (conf_load_string(&t->c, "test", text, err, sizeof(err)) == -1)
		fail_msg("%s", err);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	netio_init(&t->io, sv[0], 2);
	t->peer = sv[1];
	t->ops.rcpt = t_rcpt;
	t->ops.data = t_data;
	t->ops.bad_utf8 = t_bad_utf8;
	t->ops.starttls = t_starttls;
	smtp_tx_init(&t->tx, &t->c, &t->io, &t->ops, t);
	return t;
}

static void
t_close(struct t *t)
{
	smtp_tx_reset(&t->tx);
	close(t->io.fd);
	close(t->peer);
	netio_free(&t->io);
	conf_free(&t->c);
	free(t);
}

/*
 * The client sends script and hangs up; the server serves it to the
 * end; t->out gets every reply, the 220 and any 421 included.
 */
static enum smtp_tx_end
t_serve(struct t *t)
{
	enum smtp_tx_end	end;
	size_t			n = 0;
	ssize_t			r;

	end = smtp_tx_serve(&t->tx);
	smtp_tx_end_reply(&t->tx, end);
	assert_int_equal(netio_flush(&t->io), 0);
	assert_int_equal(shutdown(t->io.fd, SHUT_WR), 0);
	while ((r = read(t->peer, t->out + n, sizeof(t->out) - 1 - n)) > 0)
		n += (size_t)r;
	assert_true(r == 0);
	t->out[n] = '\0';
	return end;
}

static enum smtp_tx_end
t_run(struct t *t, const char *script, size_t len)
{
	assert_int_equal(write(t->peer, script, len), (ssize_t)len);
	assert_int_equal(shutdown(t->peer, SHUT_WR), 0);
	return t_serve(t);
}

static enum smtp_tx_end
t_script(struct t *t, const char *script)
{
	return t_run(t, script, strlen(script));
}

#define GREETING	"220 mx.example.org ESMTP Postern\r\n"

static void
test_mail_without_helo_is_taken_unless_helo_is_required(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	assert_int_equal(t_script(t, "MAIL FROM:<a@b.example>\r\nQUIT\r\n"),
	    SMTP_TX_END_QUIT);
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "221 2.0.0 Bye\r\n");
	assert_string_equal(t->tx.sender, "a@b.example");
	t_close(t);

	t = t_open("smtpd_helo_required = yes\n");
	assert_int_equal(t_script(t, "MAIL FROM:<a@b.example>\r\n"
	    "HELO c.example\r\nMAIL FROM:<a@b.example>\r\n"), SMTP_TX_END_EOF);
	assert_string_equal(t->out, GREETING
	    "503 5.5.1 Error: send HELO/EHLO first\r\n"
	    "250 mx.example.org\r\n"
	    "250 2.1.0 Ok\r\n");
	assert_int_equal(t->tx.errors, 1);
	t_close(t);
}

static void
test_ehlo_lists_the_capabilities_and_ends_the_transaction(void **state)
{
	struct t *t;

	(void)state;
	t = t_open("message_size_limit = 1k\n");
	t_script(t, "MAIL FROM:<a@b.example>\r\nEHLO c.example\r\n"
	    "RCPT TO:<x@example.org>\r\n");
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "250-mx.example.org\r\n"
	    "250-PIPELINING\r\n"
	    "250-SIZE 1024\r\n"
	    "250-8BITMIME\r\n"
	    "250-DSN\r\n"
	    "250-ENHANCEDSTATUSCODES\r\n"
	    "250 SMTPUTF8\r\n"
	    "503 5.5.1 Error: need MAIL command\r\n");
	assert_true(t->tx.esmtp);
	assert_string_equal(smtp_tx_proto(&t->tx), "ESMTP");
	t_close(t);
}

static void
test_helo_needs_a_name_and_keeps_it_printable(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t_script(t, "HELO\r\nEHLO\r\nHELO a\033b.example   \r\n");
	assert_string_equal(t->out, GREETING
	    "501 5.5.4 Syntax: HELO hostname\r\n"
	    "501 5.5.4 Syntax: EHLO hostname\r\n"
	    "250 mx.example.org\r\n");
	/* The escape is no longer one, the client's padding is gone. */
	assert_string_equal(t->tx.helo, "a?b.example");
	assert_false(t->tx.esmtp);
	assert_string_equal(smtp_tx_proto(&t->tx), "SMTP");
	t_close(t);
}

static void
test_mail_refuses_nesting_bad_paths_and_a_size_over_the_limit(void **state)
{
	struct t *t;

	(void)state;
	t = t_open("message_size_limit = 1k\n");
	t_script(t, "EHLO c.example\r\n"
	    "MAIL FROM:a@b.example\r\n"
	    "MAIL FROM:<a@b.example> SIZE=1025\r\n"
	    "MAIL FROM:<a@b.example> FOO=1\r\n"
	    "MAIL FROM:<a@b.example> SIZE=1024\r\n"
	    "MAIL FROM:<c@b.example>\r\n");
	assert_non_null(strstr(t->out, "250 SMTPUTF8\r\n"
	    "501 5.1.7 Bad sender address syntax\r\n"
	    "552 5.3.4 Message size exceeds fixed limit\r\n"
	    "555 5.5.4 Unsupported option: FOO\r\n"
	    "250 2.1.0 Ok\r\n"
	    "503 5.5.1 Error: nested MAIL command\r\n"));
	assert_string_equal(t->tx.sender, "a@b.example");
	t_close(t);
}

static void
test_bad_utf8_is_refused_and_reported_to_the_caller(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t_script(t, "EHLO c.example\r\n"
	    "MAIL FROM:<j\xc3rg@b.example> SMTPUTF8\r\n"
	    "MAIL FROM:<j\xc3\xb6rg@b.example> SMTPUTF8\r\n"
	    "RCPT TO:<\xff@example.org>\r\n");
	assert_non_null(strstr(t->out, "250 SMTPUTF8\r\n"
	    "501 5.5.2 Error: bad UTF-8 syntax\r\n"
	    "250 2.1.0 Ok\r\n"
	    "501 5.5.2 Error: bad UTF-8 syntax\r\n"));
	assert_int_equal(t->utf8_calls, 2);
	assert_string_equal(smtp_tx_proto(&t->tx), "UTF8SMTP");
	assert_string_equal(t->tx.last_cmd, "RCPT");
	t_close(t);
}

static void
test_rcpt_asks_the_caller_and_keeps_one_copy_of_each(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t->rcpt_refuse = "nobody@example.org";
	t_script(t, "MAIL FROM:<>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "RCPT TO:<ALICE@example.org>\r\n"
	    "RCPT TO:<nobody@example.org>\r\n"
	    "RCPT TO:<bob@example.org> XNOTIFY=NEVER\r\n"
	    "RCPT TO:bob@example.org\r\n");
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "550 5.1.1 <nobody@example.org>: no\r\n"
	    "555 5.5.4 Unsupported option: XNOTIFY\r\n"
	    "501 5.1.3 Bad recipient address syntax\r\n");
	assert_int_equal(t->rcpt_calls, 3);
	assert_int_equal(t->tx.nrcpt, 1);
	assert_string_equal(t->tx.rcpt[0], "alice@example.org");
	/* Each kept address: its length, notify, an empty orcpt, framing. */
	assert_int_equal(t->tx.rcpt_wire, 4 + strlen("alice@example.org") + 8);
	t_close(t);
}

static void
test_dsn_parameters_reach_the_commit_and_reset_clears_them(void **state)
{
	struct t	*t;
	struct q_commit	 qc;

	(void)state;
	t = t_open(NULL);
	t_script(t, "EHLO c.example\r\n"
	    "MAIL FROM:<a@b.example> RET=HDRS ENVID=QQ+2B1 BODY=8BITMIME\r\n"
	    "RCPT TO:<alice@example.org> NOTIFY=SUCCESS,FAILURE "
	    "ORCPT=rfc822;Alice@Example.ORG\r\n"
	    "RCPT TO:<ALICE@example.org> NOTIFY=NEVER\r\n"
	    "RCPT TO:<bob@example.org>\r\n"
	    "RCPT TO:<carol@example.org> NOTIFY=NEVER,DELAY\r\n"
	    "RCPT TO:<carol@example.org> ORCPT=rfc822\r\n"
	    "MAIL FROM:<a@b.example> RET=FULL RET=HDRS\r\n");
	assert_non_null(strstr(t->out, "250-DSN\r\n"));
	assert_non_null(strstr(t->out, "501 5.5.4 Bad NOTIFY parameter "
	    "syntax: NEVER, or a list of SUCCESS, FAILURE, DELAY\r\n"
	    "501 5.5.4 Bad ORCPT parameter syntax: addr-type;xtext "
	    "expected\r\n"
	    "503 5.5.1 Error: nested MAIL command\r\n"));
	assert_int_equal(t->tx.nrcpt, 2);
	memset(&qc, 0, sizeof(qc));
	smtp_tx_commit_fill(&t->tx, &qc);
	assert_int_equal(qc.body, ENV_BODY_8BITMIME);
	assert_int_equal(qc.ret, ENV_RET_HDRS);
	assert_string_equal(qc.envid, "QQ+1");
	assert_int_equal(qc.nrcpt, 2);
	/* one copy of alice: the first RCPT's options */
	assert_int_equal(qc.notify[0], ENV_NOTIFY_SUCCESS | ENV_NOTIFY_FAILURE);
	assert_string_equal(qc.orcpt[0], "rfc822;Alice@Example.ORG");
	assert_int_equal(qc.notify[1], 0);
	assert_null(qc.orcpt[1]);
	assert_int_equal(t->tx.rcpt_wire,
	    4 + strlen("alice@example.org") + 8 +
	    strlen("rfc822;Alice@Example.ORG") +
	    4 + strlen("bob@example.org") + 8);
	smtp_tx_reset(&t->tx);
	assert_int_equal(t->tx.ret, ENV_RET_NONE);
	assert_string_equal(t->tx.envid, "");
	assert_null(t->tx.notify);
	assert_null(t->tx.orcpt);
	t_close(t);
}

static void
test_postmaster_is_ours_without_asking(void **state)
{
	struct t *t;

	(void)state;
	/* myhostname is no local domain: the first local domain is meant. */
	t = t_open(NULL);
	t_script(t, "MAIL FROM:<a@b.example>\r\nRCPT TO:<Postmaster>\r\n");
	assert_non_null(strstr(t->out, "250 2.1.5 Ok\r\n"));
	assert_int_equal(t->rcpt_calls, 0);
	assert_int_equal(t->tx.nrcpt, 1);
	assert_string_equal(t->tx.rcpt[0], "postmaster@example.org");
	t_close(t);
}

static void
test_rcpt_limit_refuses_before_keeping_or_asking(void **state)
{
	struct t *t;

	(void)state;
	t = t_open("smtpd_recipient_limit = 2\n");
	t_script(t, "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<r1@example.org>\r\n"
	    "RCPT TO:<r2@example.org>\r\n"
	    "RCPT TO:<r3@example.org>\r\n"
	    "RCPT TO:<postmaster>\r\n");
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "452 4.5.3 Error: too many recipients\r\n"
	    "452 4.5.3 Error: too many recipients\r\n");
	assert_int_equal(t->rcpt_calls, 2);
	assert_int_equal(t->tx.nrcpt, 2);
	t_close(t);
}

static void
test_rcpt_list_stops_where_one_commit_frame_would_not_hold_it(void **state)
{
	struct t	*t;
	char		 script[1024];
	size_t		 i, n;

	(void)state;
	t = t_open("smtpd_recipient_limit = 100000\n");
	/* Pretend long addresses filled most of the frame already. */
	t->tx.rcpt_wire = IPC_MAX_PAYLOAD - (4 + ADDR_MAX + 8 + ENV_ORCPT_MAX +
	    2048);
	n = (size_t)snprintf(script, sizeof(script),
	    "MAIL FROM:<a@b.example>\r\n");
	for (i = 0; i < 2; i++)
		n += (size_t)snprintf(script + n, sizeof(script) - n,
		    "RCPT TO:<r%zu@example.org>\r\n", i);
	t_run(t, script, n);
	/* The one that still fits is taken; after it, none. */
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "452 4.5.3 Error: too many recipients\r\n");
	assert_int_equal(t->tx.nrcpt, 1);
	t_close(t);
}

static void
test_data_needs_mail_recipients_and_no_argument(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t->rcpt_refuse = "nobody@example.org";
	t_script(t, "DATA\r\n"
	    "MAIL FROM:<a@b.example>\r\n"
	    "DATA\r\n"
	    "RCPT TO:<nobody@example.org>\r\n"
	    "DATA\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "DATA now\r\n");
	assert_string_equal(t->out, GREETING
	    "503 5.5.1 Error: need MAIL command\r\n"
	    "250 2.1.0 Ok\r\n"
	    "503 5.5.1 Error: need RCPT command\r\n"
	    "550 5.1.1 <nobody@example.org>: no\r\n"
	    "554 5.5.1 Error: no valid recipients\r\n"
	    "250 2.1.5 Ok\r\n"
	    "501 5.5.4 Syntax: DATA\r\n");
	assert_int_equal(t->data_calls, 0);
	t_close(t);
}

static void
test_data_reads_the_message_and_ends_the_transaction(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t_script(t, "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "DATA\r\n"
	    "Subject: x\r\n\r\n..dot\r\nbare\nlf\r\n.\r\n"
	    "RCPT TO:<bob@example.org>\r\n"
	    "QUIT\r\n");
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "250 2.0.0 Ok: queued as T\r\n"
	    "503 5.5.1 Error: need MAIL command\r\n"
	    "221 2.0.0 Bye\r\n");
	assert_int_equal(t->data_res, SMTP_TX_DATA_OK);
	assert_int_equal(t->data_nrcpt, 1);
	assert_string_equal(t->data_sender, "a@b.example");
	assert_string_equal(t->got, "Subject: x\n\n.dot\nbare\nlf\n");
	assert_int_equal(t->tx.nrcpt, 0);
	assert_false(t->tx.mail);
	t_close(t);
}

static void
test_data_refused_before_354_leaves_the_transaction_open(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t->data_refuse = 1;
	t_script(t, "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\n"
	    "DATA\r\n"
	    "RCPT TO:<bob@example.org>\r\n");
	assert_string_equal(t->out, GREETING
	    "250 2.1.0 Ok\r\n"
	    "250 2.1.5 Ok\r\n"
	    "451 4.3.0 Error: not now\r\n"
	    "250 2.1.5 Ok\r\n");
	assert_int_equal(t->data_calls, 1);
	assert_true(t->tx.mail);
	assert_int_equal(t->tx.nrcpt, 2);
	t_close(t);
}

static void
test_data_past_the_size_limit_is_read_to_its_end_and_refused(void **state)
{
	struct t	*t;
	char		 script[8192];
	size_t		 n;

	(void)state;
	t = t_open("message_size_limit = 1k\n");
	n = (size_t)snprintf(script, sizeof(script), "MAIL FROM:<a@b.example>"
	    "\r\nRCPT TO:<alice@example.org>\r\nDATA\r\n");
	memset(script + n, 'x', 4000);
	n += 4000;
	n += (size_t)snprintf(script + n, sizeof(script) - n,
	    "\r\n.\r\nNOOP\r\n");
	t_run(t, script, n);
	/* The session is still in step: NOOP is a command, not text. */
	assert_non_null(strstr(t->out, "354 End data with <CR><LF>.<CR><LF>\r\n"
	    "552 5.3.4 Error: message file too big\r\n"
	    "250 2.0.0 Ok\r\n"));
	assert_int_equal(t->data_res, SMTP_TX_DATA_TOOBIG);
	assert_int_equal(t->gotlen, 0);
	assert_int_equal(t->tx.nrcpt, 0);
	t_close(t);
}

static void
test_data_sink_failures_are_too_big_or_out_of_storage(void **state)
{
	const char *script = "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\nhello\r\n.\r\n";
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t->put_errno = E2BIG;
	t_script(t, script);
	assert_int_equal(t->data_res, SMTP_TX_DATA_TOOBIG);
	assert_non_null(strstr(t->out,
	    "552 5.3.4 Error: message file too big"));
	t_close(t);

	t = t_open(NULL);
	t->put_errno = ENOMEM;
	t_script(t, script);
	assert_int_equal(t->data_res, SMTP_TX_DATA_SINK);
	assert_non_null(strstr(t->out,
	    "451 4.3.1 Error: insufficient system storage"));
	t_close(t);
}

static void
test_data_nul_and_long_lines_are_refused_after_the_end(void **state)
{
	static const char nul[] = "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\nab\0c\r\n.\r\nNOOP\r\n";
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t_run(t, nul, sizeof(nul) - 1);
	assert_int_equal(t->data_res, SMTP_TX_DATA_NUL);
	assert_non_null(strstr(t->out, "554 5.6.0 Error: NUL byte in message"
	    "\r\n250 2.0.0 Ok\r\n"));
	t_close(t);

	t = t_open("smtpd_max_line_length = 10\n");
	t_script(t, "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\n0123456789\r\n.\r\n");
	assert_int_equal(t->data_res, SMTP_TX_DATA_LONG_LINE);
	assert_non_null(strstr(t->out, "554 5.6.0 Error: message line longer "
	    "than 10 octets\r\n"));
	t_close(t);
}

static void
test_input_ending_inside_the_message_ends_the_session(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	assert_int_equal(t_script(t, "MAIL FROM:<a@b.example>\r\n"
	    "RCPT TO:<alice@example.org>\r\nDATA\r\nhalf a mess"),
	    SMTP_TX_END_DATA);
	assert_int_equal(t->data_res, SMTP_TX_DATA_EOF);
	/* Nothing after the 354: no 250, and no reply at all. */
	assert_non_null(strstr(t->out, "354 End data with "
	    "<CR><LF>.<CR><LF>\r\n"));
	assert_null(strstr(t->out, "queued"));
	assert_int_equal(t->tx.nrcpt, 0);
	t_close(t);
}

static void
test_vrfy_goes_to_the_caller_or_gets_252(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t_script(t, "VRFY alice\r\nVRFY\r\n");
	assert_string_equal(t->out, GREETING SMTP_TX_CANNOT_VRFY "\r\n"
	    SMTP_TX_CANNOT_VRFY "\r\n");
	t_close(t);

	t = t_open(NULL);
	t->ops.vrfy = t_vrfy;
	t_script(t, "VRFY alice\r\n");
	assert_string_equal(t->out, GREETING "250 2.0.0 <alice>\r\n");
	assert_int_equal(t->vrfy_calls, 1);
	t_close(t);
}

static void
test_other_commands_and_bad_lines(void **state)
{
	static const char script[] = "NOOP\r\nHELP\r\nMAIL FROM:<a@b.example>"
	    "\r\nRSET\r\nRCPT TO:<x@example.org>\r\nFROB\r\nNO\0OP\r\n";
	struct t	*t;
	char		 lines[4096];
	size_t		 n;

	(void)state;
	t = t_open(NULL);
	n = sizeof(script) - 1;
	memcpy(lines, script, n);
	/* One line past 512 octets with its CRLF. */
	memset(lines + n, 'a', 600);
	n += 600;
	memcpy(lines + n, "\r\nQUIT\r\n", 8);
	n += 8;
	assert_int_equal(t_run(t, lines, n), SMTP_TX_END_QUIT);
	assert_string_equal(t->out, GREETING
	    "250 2.0.0 Ok\r\n"
	    "214 2.0.0 Commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY "
	    "HELP QUIT\r\n"
	    "250 2.1.0 Ok\r\n"
	    "250 2.0.0 Ok\r\n"
	    "503 5.5.1 Error: need MAIL command\r\n"
	    "500 5.5.2 Error: command not recognized\r\n"
	    "500 5.5.2 Error: NUL byte in command\r\n"
	    "500 5.5.2 Error: line too long\r\n"
	    "221 2.0.0 Bye\r\n");
	assert_int_equal(t->tx.errors, 4);
	t_close(t);
}

static void
test_error_limit_ends_the_session_with_421(void **state)
{
	struct t *t;

	(void)state;
	t = t_open("smtpd_error_limit = 3\n");
	assert_int_equal(t_script(t, "FROB\r\nRCPT TO:<a@b>\r\nFROB\r\n"
	    "NOOP\r\n"), SMTP_TX_END_ERRORS);
	/* The NOOP after the third error is never answered. */
	assert_string_equal(t->out, GREETING
	    "500 5.5.2 Error: command not recognized\r\n"
	    "503 5.5.1 Error: need MAIL command\r\n"
	    "500 5.5.2 Error: command not recognized\r\n"
	    "421 4.7.0 mx.example.org Error: too many errors\r\n");
	assert_string_equal(t->tx.last_cmd, "UNKNOWN");
	t_close(t);
}

static void
test_silence_ends_the_session_with_421(void **state)
{
	struct t *t;

	(void)state;
	t = t_open("smtpd_timeout = 1s\n");
	assert_int_equal(write(t->peer, "NOOP\r\n", 6), 6);
	/* The client says no more, and does not hang up either. */
	assert_int_equal(t_serve(t), SMTP_TX_END_TIMEOUT);
	assert_string_equal(t->out, GREETING "250 2.0.0 Ok\r\n"
	    "421 4.4.2 mx.example.org Error: timeout exceeded\r\n");
	assert_string_equal(t->tx.last_cmd, "NOOP");
	t_close(t);
}

static void
test_reset_forgets_the_transaction_but_not_the_greeting(void **state)
{
	struct t *t;

	(void)state;
	t = t_open(NULL);
	t_script(t, "EHLO c.example\r\nMAIL FROM:<a@b.example> SMTPUTF8 "
	    "BODY=8BITMIME\r\nRCPT TO:<x@example.org>\r\n");
	assert_true(t->tx.mail);
	assert_int_equal(t->tx.body, SMTP_BODY_8BITMIME);
	smtp_tx_reset(&t->tx);
	assert_false(t->tx.mail);
	assert_null(t->tx.rcpt);
	assert_int_equal(t->tx.nrcpt, 0);
	assert_int_equal(t->tx.rcpt_wire, 0);
	assert_string_equal(t->tx.sender, "");
	assert_false(t->tx.smtputf8);
	assert_int_equal(t->tx.body, SMTP_BODY_NONE);
	assert_true(t->tx.helo_seen);
	assert_string_equal(t->tx.helo, "c.example");
	t_close(t);
}

#define EHLO_LIST(tls) \
	"250-mx.example.org\r\n" \
	"250-PIPELINING\r\n" \
	tls \
	"250-SIZE 52428800\r\n" \
	"250-8BITMIME\r\n" \
	"250-DSN\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n" \
	"250 SMTPUTF8\r\n"

static void
test_starttls_is_a_command_only_where_offered(void **state)
{
	struct t *t;

	(void)state;
	/* sendmail -bs: no such command. */
	t = t_open(NULL);
	t->ops.starttls = NULL;
	t->tx.starttls_offer = 1;
	t_script(t, "EHLO c.example\r\nSTARTTLS\r\n");
	assert_string_equal(t->out, GREETING EHLO_LIST("")
	    "500 5.5.2 Error: command not recognized\r\n");
	t_close(t);

	/* smtpd without a certificate: not offered, not implemented. */
	t = t_open(NULL);
	t_script(t, "EHLO c.example\r\nSTARTTLS\r\n");
	assert_string_equal(t->out, GREETING EHLO_LIST("")
	    "502 5.5.1 Error: command not implemented\r\n");
	assert_int_equal(t->tls_calls, 0);
	t_close(t);

	/* Offered: syntax, and never inside a transaction. */
	t = t_open(NULL);
	t->tx.starttls_offer = 1;
	t->tls_rc = 1;
	t_script(t, "EHLO c.example\r\nSTARTTLS now\r\n"
	    "MAIL FROM:<a@b.example>\r\nSTARTTLS\r\nRSET\r\nSTARTTLS\r\n");
	assert_string_equal(t->out, GREETING EHLO_LIST("250-STARTTLS\r\n")
	    "501 5.5.4 Syntax: STARTTLS\r\n"
	    "250 2.1.0 Ok\r\n"
	    "503 5.5.1 Error: MAIL transaction in progress\r\n"
	    "250 2.0.0 Ok\r\n"
	    "454 4.7.0 TLS not available due to local problem\r\n");
	assert_int_equal(t->tls_calls, 1);
	assert_false(t->tx.tls);
	t_close(t);
}

static void
test_starttls_drops_the_pipelined_and_forgets_the_session(void **state)
{
	struct t *t;

	(void)state;
	t = t_open("smtpd_helo_required = yes\n");
	t->tx.starttls_offer = 1;
	t->after_tls = "MAIL FROM:<a@b.example>\r\nEHLO d.example\r\n"
	    "STARTTLS\r\nMAIL FROM:<a@b.example>\r\nQUIT\r\n";
	/* RSET and NOOP ride behind STARTTLS: they are never answered. */
	assert_int_equal(write(t->peer, "EHLO c.example\r\nSTARTTLS\r\n"
	    "RSET\r\nNOOP\r\n", 38), 38);
	assert_int_equal(t_serve(t), SMTP_TX_END_QUIT);
	assert_string_equal(t->out, GREETING EHLO_LIST("250-STARTTLS\r\n")
	    "220 2.0.0 Ready to start TLS\r\n"
	    /* The EHLO before counts for nothing now. */
	    "503 5.5.1 Error: send HELO/EHLO first\r\n"
	    EHLO_LIST("")
	    "503 5.5.1 Error: TLS already active\r\n"
	    "250 2.1.0 Ok\r\n"
	    "221 2.0.0 Bye\r\n");
	assert_true(t->tx.tls);
	assert_string_equal(t->tx.helo, "d.example");
	assert_string_equal(smtp_tx_proto(&t->tx), "ESMTPS");
	t_close(t);

	/* A failed handshake ends the session at once. */
	t = t_open(NULL);
	t->tx.starttls_offer = 1;
	t->tls_rc = -1;
	assert_int_equal(t_script(t, "STARTTLS\r\nNOOP\r\n"),
	    SMTP_TX_END_TLS);
	assert_string_equal(t->out, GREETING
	    "220 2.0.0 Ready to start TLS\r\n");
	t_close(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_starttls_is_a_command_only_where_offered),
		cmocka_unit_test(
		    test_starttls_drops_the_pipelined_and_forgets_the_session),
		cmocka_unit_test(test_mail_without_helo_is_taken_unless_helo_is_required),
		cmocka_unit_test(test_ehlo_lists_the_capabilities_and_ends_the_transaction),
		cmocka_unit_test(test_helo_needs_a_name_and_keeps_it_printable),
		cmocka_unit_test(test_mail_refuses_nesting_bad_paths_and_a_size_over_the_limit),
		cmocka_unit_test(test_bad_utf8_is_refused_and_reported_to_the_caller),
		cmocka_unit_test(test_rcpt_asks_the_caller_and_keeps_one_copy_of_each),
		cmocka_unit_test(test_dsn_parameters_reach_the_commit_and_reset_clears_them),
		cmocka_unit_test(test_postmaster_is_ours_without_asking),
		cmocka_unit_test(test_rcpt_limit_refuses_before_keeping_or_asking),
		cmocka_unit_test(test_rcpt_list_stops_where_one_commit_frame_would_not_hold_it),
		cmocka_unit_test(test_data_needs_mail_recipients_and_no_argument),
		cmocka_unit_test(test_data_reads_the_message_and_ends_the_transaction),
		cmocka_unit_test(test_data_refused_before_354_leaves_the_transaction_open),
		cmocka_unit_test(test_data_past_the_size_limit_is_read_to_its_end_and_refused),
		cmocka_unit_test(test_data_sink_failures_are_too_big_or_out_of_storage),
		cmocka_unit_test(test_data_nul_and_long_lines_are_refused_after_the_end),
		cmocka_unit_test(test_input_ending_inside_the_message_ends_the_session),
		cmocka_unit_test(test_vrfy_goes_to_the_caller_or_gets_252),
		cmocka_unit_test(test_other_commands_and_bad_lines),
		cmocka_unit_test(test_error_limit_ends_the_session_with_421),
		cmocka_unit_test(test_silence_ends_the_session_with_421),
		cmocka_unit_test(test_reset_forgets_the_transaction_but_not_the_greeting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
