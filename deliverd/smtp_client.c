/*
 * smtp_client.c - sessions with remote SMTP servers (RFC 5321) and the
 * mail transactions on them, for the remote transport (relayd). One
 * session may carry several transactions, RSET between them (the
 * connection cache); smtp_client_try is one whole session for one.
 *
 * Runs in the remote delivery process: its own uid, no access to any
 * mailbox, blocking I/O with a deadline on every wait (the timeouts of
 * RFC 5321 4.5.3.2). Trusts nothing the server sends (replies are read
 * by smtp_reply.c, bounded). What it sends is built only from the
 * envelope, which smtpd and queued validated, and the message text,
 * which goes through the stuffer: CRLF line ends, dot-stuffing, no lone
 * CR or LF, lines no longer than line_length_limit. EHLO first, HELO
 * when EHLO is refused; PIPELINING, SIZE, 8BITMIME and SMTPUTF8 when
 * offered; the RFC 3461 parameters (RET, ENVID, NOTIFY, ORCPT) only to
 * a server that offers DSN, xtext-encoded. The texts of failures are
 * Postfix's, which administrators search for: "host H[A] said: 550 ...
 * (in reply to RCPT TO command)". STARTTLS (RFC 3207) right after EHLO,
 * as the policy relayd passes says (struct smtp_tls): the netio's
 * transport becomes TLS (libcommon/tls_client.c; whatever the server
 * sent after its 220 is discarded unread), the client forgets what the
 * first EHLO said and says EHLO again. A session that TLS was required
 * for and did not get sends nothing: not a MAIL FROM in plaintext.
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "deadline.h"
#include "netio.h"
#include "proto.h"
#include "remote.h"

#define SMTP_CHUNK	8192	/* message text read per step */

struct smtp_session {
	const struct smtp_client_conf *conf;
	char		 host[256];
	char		 peer[320];	/* "host[addr]" */
	int		 fd;
	int		 broken;	/* no further command on it */
	struct netio	*io;
	struct netio	 io_store;
	struct smtp_ext	 ext;
	struct smtp_reply reply;
	char		*reason;
	size_t		 reasonsz;
	unsigned char	*accepted;	/* per recipient: RCPT got 2xx */
	int		 tls;		/* the transport is TLS */
	struct tls_peer	 tls_peer;
};

void
smtp_client_conf_defaults(struct smtp_client_conf *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->helo_name, "localhost", sizeof(c->helo_name));
	c->port = 25;
	c->connect_timeout = 30;
	c->helo_timeout = 300;
	c->mail_timeout = 300;
	c->rcpt_timeout = 300;
	c->data_init_timeout = 120;
	c->data_xfer_timeout = 180;
	c->data_done_timeout = 600;
	c->quit_timeout = 300;
	c->line_length_limit = 998;
}

static void
why(struct smtp_session *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->reason, c->reasonsz, fmt, ap);
	va_end(ap);
}

static void
peer_name(struct smtp_session *c, const struct sockaddr *sa)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET)
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
		    addr, sizeof(addr));
	else if (sa->sa_family == AF_INET6)
		inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)sa)->sin6_addr, addr,
		    sizeof(addr));
	snprintf(c->peer, sizeof(c->peer), "%s[%s]", c->host, addr);
}

/* A non-blocking connection, made within connect_timeout; -1 and why. */
static int
smtp_connect(struct smtp_session *c, const struct sockaddr *sa, socklen_t len)
{
	struct pollfd pfd;
	const struct sockaddr_storage *src;
	int fd, err = 0, r;
	socklen_t elen = sizeof(err);
	uint64_t deadline;

	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0);
	if (fd == -1) {
		why(c, "connect to %s:%u: %s", c->peer, c->conf->port,
		    strerror(errno));
		return -1;
	}
	/* smtp_bind_address: the address the receiver sees (and SPF). */
	src = sa->sa_family == AF_INET6 ? &c->conf->bind6 : &c->conf->bind4;
	if (src->ss_family == sa->sa_family && bind(fd,
	    (const struct sockaddr *)src, src->ss_family == AF_INET6 ?
	    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) == -1) {
		err = errno;
		goto fail;
	}
	if (connect(fd, sa, len) == -1 && errno != EINPROGRESS) {
		err = errno;
		goto fail;
	}
	deadline = deadline_in_ms((uint64_t)c->conf->connect_timeout * 1000);
	pfd.fd = fd;
	pfd.events = POLLOUT;
	for (;;) {
		r = poll(&pfd, 1, deadline_left_ms(deadline));
		if (r == -1 && errno == EINTR)
			continue;
		break;
	}
	if (r == 0) {
		err = ETIMEDOUT;
		goto fail;
	}
	if (r == -1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1)
		err = errno;
	if (err != 0)
		goto fail;
	return fd;
fail:
	why(c, "connect to %s:%u: %s", c->peer, c->conf->port,
	    err == ETIMEDOUT ? "Connection timed out" : strerror(err));
	close(fd);
	return -1;
}

/*
 * Reads one whole reply into c->reply within timeout; 0, or -1 with why
 * ("lost connection with H[A] while receiving the initial server
 * greeting", "conversation ... timed out", or a malformed reply).
 */
static int
smtp_read_reply(struct smtp_session *c, time_t timeout, const char *stage)
{
	char line[SMTP_REPLY_LINE_MAX + 3];
	size_t len;
	enum netio_status st;
	uint64_t deadline = deadline_in_ms((uint64_t)timeout * 1000);

	smtp_reply_init(&c->reply);
	for (;;) {
		time_t left = (time_t)((deadline_left_ms(deadline) + 999) / 1000);

		st = netio_getline(c->io, line, sizeof(line), &len,
		    left > 0 ? left : 0);
		if (st == NETIO_TIMEOUT) {
			why(c, "conversation with %s timed out while %s",
			    c->peer, stage);
			return -1;
		}
		if (st == NETIO_EOF || st == NETIO_ERROR) {
			why(c, "lost connection with %s while %s", c->peer,
			    stage);
			return -1;
		}
		if (st == NETIO_OK && len > 0 && line[len - 1] == '\r')
			len--;	/* a bare LF ending is taken too */
		if (st != NETIO_OK ||
		    smtp_reply_feed(&c->reply, line, len) == SMTP_REPLY_BAD) {
			why(c, "malformed reply from %s while %s", c->peer,
			    stage);
			return -1;
		}
		if (c->reply.done)
			return 0;
	}
}

static int
smtp_send(struct smtp_session *c, time_t timeout, const char *fmt, ...)
{
	va_list ap;
	char line[1200];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		return -1;	/* our own command: the envelope is bounded */
	line[n++] = '\r';
	line[n++] = '\n';
	c->io->timeout = timeout;
	return netio_write(c->io, line, (size_t)n);
}

/* One recipient's (or every recipient's) outcome from c->reply. */
static void
result_from_reply(struct smtp_session *c, struct smtp_rcpt_result *r,
    const char *command)
{
	char said[SMTP_REPLY_TEXT_MAX];
	int cls = c->reply.code / 100;

	r->status = cls == 2 ? ST_OK : cls == 5 ? ST_PERM : ST_TEMP;
	if (c->reply.dsn[0] != '\0')
		strlcpy(r->dsn, c->reply.dsn, sizeof(r->dsn));
	else
		snprintf(r->dsn, sizeof(r->dsn), "%d.0.0",
		    cls == 2 || cls == 5 ? cls : 4);
	/* Room for the frame around it: the reply text is what gets cut. */
	smtp_reply_str(&c->reply, said, sizeof(r->text) - 200);
	strlcpy(r->reply, said, sizeof(r->reply));
	if (r->status == ST_OK)
		strlcpy(r->text, said, sizeof(r->text));
	else if (snprintf(r->text, sizeof(r->text), "host %s said: %s (in "
	    "reply to %s command)", c->peer, said, command) < 0)
		r->text[0] = '\0';
}

static void
result_all(const struct smtp_tx *tx, struct smtp_rcpt_result *res,
    uint32_t status, const char *dsn, const char *text)
{
	size_t i;

	for (i = 0; i < tx->nrcpt; i++) {
		res[i].status = status;
		strlcpy(res[i].dsn, dsn, sizeof(res[i].dsn));
		strlcpy(res[i].text, text, sizeof(res[i].text));
	}
}

/* A greeting or HELO that is not 2xx: -1, with the server's words. */
static int
refused_to_talk(struct smtp_session *c)
{
	char said[SMTP_REPLY_TEXT_MAX];

	smtp_reply_str(&c->reply, said, sizeof(said));
	why(c, "host %s refused to talk to me: %s", c->peer, said);
	return -1;
}

/* EHLO or HELO sent and answered: 0, or -1 with why. */
static int
smtp_greet(struct smtp_session *c, const char *verb)
{
	char stage[64];

	snprintf(stage, sizeof(stage), "receiving the %s reply", verb);
	if (smtp_send(c, c->conf->helo_timeout, "%s %s", verb,
	    c->conf->helo_name) == -1) {
		why(c, "lost connection with %s while sending %s", c->peer,
		    verb);
		return -1;
	}
	return smtp_read_reply(c, c->conf->helo_timeout, stage);
}

static int
smtp_hello(struct smtp_session *c)
{
	if (smtp_read_reply(c, c->conf->helo_timeout,
	    "receiving the initial server greeting") == -1)
		return -1;
	/* Postfix's smtp_skip_5xx_greeting: the next exchanger. */
	if (c->reply.code / 100 != 2)
		return refused_to_talk(c);
	if (smtp_greet(c, "EHLO") == -1)
		return -1;
	if (c->reply.code / 100 == 2) {
		smtp_ext_parse(&c->reply, &c->ext);
		return 0;
	}
	/* RFC 5321 3.2: a server that does not know EHLO knows HELO. */
	memset(&c->ext, 0, sizeof(c->ext));
	if (smtp_greet(c, "HELO") == -1)
		return -1;
	return c->reply.code / 100 == 2 ? 0 : refused_to_talk(c);
}

/* The text, stuffed, then ".": 0, or -1 with why. */
static int
smtp_send_text(struct smtp_session *c, const struct smtp_tx *tx)
{
	struct smtp_stuffer st;
	char in[SMTP_CHUNK], out[4 * SMTP_CHUNK];
	uint64_t done = 0;
	size_t n;
	ssize_t r;

	smtp_stuffer_init(&st, c->conf->line_length_limit);
	c->io->timeout = c->conf->data_xfer_timeout;
	while (done < tx->size) {
		size_t want = tx->size - done < sizeof(in) ?
		    (size_t)(tx->size - done) : sizeof(in);

		r = pread(tx->fd, in, want, (off_t)(tx->offset + done));
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			why(c, "cannot read the queued message: %s",
			    r == 0 ? "it is shorter than its envelope says" :
			    strerror(errno));
			return -2;
		}
		done += (uint64_t)r;
		n = smtp_stuff(&st, in, (size_t)r, out, sizeof(out));
		if (netio_write(c->io, out, n) == -1)
			goto lost;
	}
	n = smtp_stuff_end(&st, out, sizeof(out));
	if (netio_write(c->io, out, n) == -1 || netio_flush(c->io) == -1)
		goto lost;
	return 0;
lost:
	why(c, "lost connection with %s while sending message body", c->peer);
	return -1;
}

/* Recipient i's RCPT reply: its result, and whether it was accepted. */
static int
rcpt_reply(struct smtp_session *c, struct smtp_rcpt_result *res, size_t i)
{
	if (smtp_read_reply(c, c->conf->rcpt_timeout,
	    "receiving the RCPT TO reply") == -1)
		return -1;
	result_from_reply(c, &res[i], "RCPT TO");
	c->accepted[i] = res[i].status == ST_OK;
	return 0;
}

/*
 * MAIL, every RCPT and DATA; with PIPELINING in one write, then the
 * replies in order (RFC 2920). Returns the number of accepted
 * recipients, or -1 (connection-level failure: why is set).
 */
/* NOTIFY and ORCPT of recipient i, for a server with DSN. */
static void
rcpt_params(const struct smtp_session *c, const struct smtp_tx *tx, size_t i,
    char *out, size_t outsz)
{
	static const struct { uint32_t bit; const char *word; } words[] = {
		{ SMTP_NOTIFY_SUCCESS, "SUCCESS" },
		{ SMTP_NOTIFY_FAILURE, "FAILURE" },
		{ SMTP_NOTIFY_DELAY, "DELAY" },
	};
	char	x[3 * 300];
	size_t	k, len = 0;
	int	first = 1;

	out[0] = '\0';
	if (!c->ext.dsn)
		return;
	if (tx->notify != NULL && tx->notify[i] != 0) {
		strlcat(out, " NOTIFY=", outsz);
		if (tx->notify[i] & SMTP_NOTIFY_NEVER)
			strlcat(out, "NEVER", outsz);
		else
			for (k = 0; k < sizeof(words) / sizeof(words[0]); k++)
				if (tx->notify[i] & words[k].bit) {
					if (!first)
						strlcat(out, ",", outsz);
					strlcat(out, words[k].word, outsz);
					first = 0;
				}
	}
	len = strlen(out);
	/* "rfc822;addr": the type is an atom, the address is xtext. */
	if (tx->orcpt != NULL && tx->orcpt[i] != NULL &&
	    tx->orcpt[i][0] != '\0') {
		const char *semi = strchr(tx->orcpt[i], ';');

		if (semi != NULL && semi > tx->orcpt[i] &&
		    smtp_xtext(semi + 1, x, sizeof(x)) == 0)
			snprintf(out + len, outsz - len, " ORCPT=%.*s;%s",
			    (int)(semi - tx->orcpt[i]), tx->orcpt[i], x);
	}
}

static int
smtp_envelope(struct smtp_session *c, const struct smtp_tx *tx,
    struct smtp_rcpt_result *res, int *data_ok)
{
	char params[3 * 300 + 128] = "", rparams[3 * 300 + 64];
	size_t i, plen = 0;
	int accepted = 0, pipelined = c->ext.pipelining;

	*data_ok = 0;
	if (c->ext.has_size)
		plen += (size_t)snprintf(params + plen, sizeof(params) - plen,
		    " SIZE=%llu", (unsigned long long)tx->size);
	if (tx->eightbit && c->ext.eightbitmime)
		plen += (size_t)snprintf(params + plen, sizeof(params) - plen,
		    " BODY=8BITMIME");
	if (tx->smtputf8)
		plen += (size_t)snprintf(params + plen, sizeof(params) - plen,
		    " SMTPUTF8");
	if (c->ext.dsn && (tx->ret == SMTP_RET_FULL || tx->ret == SMTP_RET_HDRS))
		plen += (size_t)snprintf(params + plen, sizeof(params) - plen,
		    " RET=%s", tx->ret == SMTP_RET_FULL ? "FULL" : "HDRS");
	if (c->ext.dsn && tx->envid != NULL && tx->envid[0] != '\0') {
		char x[3 * 300];

		if (smtp_xtext(tx->envid, x, sizeof(x)) == 0)
			snprintf(params + plen, sizeof(params) - plen,
			    " ENVID=%s", x);
	}
	if (smtp_send(c, c->conf->mail_timeout, "MAIL FROM:<%s>%s",
	    tx->sender != NULL ? tx->sender : "", params) == -1)
		goto lost;
	if (!pipelined) {
		if (smtp_read_reply(c, c->conf->mail_timeout,
		    "receiving the MAIL FROM reply") == -1)
			return -1;
		if (c->reply.code / 100 != 2)
			goto mail_refused;
	}
	for (i = 0; i < tx->nrcpt; i++) {
		rcpt_params(c, tx, i, rparams, sizeof(rparams));
		if (smtp_send(c, c->conf->rcpt_timeout, "RCPT TO:<%s>%s",
		    tx->rcpt[i], rparams) == -1)
			goto lost;
		if (pipelined)
			continue;
		if (rcpt_reply(c, res, i) == -1)
			return -1;
		accepted += c->accepted[i];
	}
	if (!pipelined && accepted == 0)
		return 0;
	if (smtp_send(c, c->conf->data_init_timeout, "DATA") == -1)
		goto lost;
	if (pipelined) {
		if (smtp_read_reply(c, c->conf->mail_timeout,
		    "receiving the MAIL FROM reply") == -1)
			return -1;
		if (c->reply.code / 100 != 2)
			goto mail_refused_pipelined;
		for (i = 0; i < tx->nrcpt; i++) {
			if (rcpt_reply(c, res, i) == -1)
				return -1;
			accepted += c->accepted[i];
		}
	}
	if (smtp_read_reply(c, c->conf->data_init_timeout,
	    "receiving the DATA reply") == -1)
		return -1;
	if (c->reply.code == 354) {
		*data_ok = 1;
		return accepted;
	}
	/* DATA refused: every accepted recipient gets that answer. */
	for (i = 0; i < tx->nrcpt; i++)
		if (c->accepted[i])
			result_from_reply(c, &res[i], "DATA");
	return 0;
mail_refused_pipelined:
	/* The RCPT and DATA replies still come; read them off the wire. */
	{
		struct smtp_reply mail = c->reply;

		for (i = 0; i <= tx->nrcpt; i++)
			if (smtp_read_reply(c, c->conf->rcpt_timeout,
			    "receiving the RCPT TO reply") == -1)
				break;
		c->reply = mail;
	}
mail_refused:
	for (i = 0; i < tx->nrcpt; i++)
		result_from_reply(c, &res[i], "MAIL FROM");
	return 0;
lost:
	why(c, "lost connection with %s while sending the envelope", c->peer);
	return -1;
}

int
smtp_xtext(const char *in, char *out, size_t outsz)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p;
	size_t n = 0;

	for (p = (const unsigned char *)in; *p != '\0'; p++) {
		if (*p >= 33 && *p <= 126 && *p != '+' && *p != '=') {
			if (n + 1 >= outsz)
				return -1;
			out[n++] = (char)*p;
		} else {
			if (n + 3 >= outsz)
				return -1;
			out[n++] = '+';
			out[n++] = hex[*p >> 4];
			out[n++] = hex[*p & 0xf];
		}
	}
	if (n >= outsz)
		return -1;
	out[n] = '\0';
	return 0;
}

static void
smtp_quit(struct smtp_session *c)
{
	if (smtp_send(c, c->conf->quit_timeout, "QUIT") == 0)
		(void)smtp_read_reply(c, c->conf->quit_timeout,
		    "receiving the QUIT reply");
}

/* Connects, reads the greeting, says EHLO: a session, or NULL and why. */
static struct smtp_session *
session_connect(const struct smtp_client_conf *conf, const char *host,
    const struct sockaddr *sa, socklen_t salen, char *reason,
    size_t reasonsz)
{
	struct smtp_session *c;

	reason[0] = '\0';
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(reason, reasonsz, "out of memory");
		return NULL;
	}
	c->conf = conf;
	strlcpy(c->host, host, sizeof(c->host));
	c->reason = reason;
	c->reasonsz = reasonsz;
	peer_name(c, sa);
	if ((c->fd = smtp_connect(c, sa, salen)) == -1) {
		free(c);
		return NULL;
	}
	c->io = &c->io_store;
	netio_init(c->io, c->fd, conf->helo_timeout);
	if (smtp_hello(c) == -1) {
		/* Refused to talk (a whole reply came): goodbye, politely. */
		if (!c->reply.done || c->reply.code == 0)
			c->broken = 1;
		smtp_session_close(c, 1);
		return NULL;
	}
	return c;
}

/*
 * STARTTLS on c as t asks. 0: go on (TLS, or plaintext where MAY
 * allows it); 1: MAY, and the handshake failed (c is unusable: try
 * again in plaintext); -1: c cannot be used, why says why (t->tls_failed
 * when TLS was required and not had).
 */
static int
smtp_starttls(struct smtp_session *c, struct smtp_tls *t)
{
	char	said[SMTP_REPLY_TEXT_MAX], err[256];
	int	required = t->req.level != TLS_LEVEL_MAY, r;

	if (c->conf->tls == NULL || !c->ext.starttls) {
		if (!required)
			return 0;
		t->tls_failed = 1;
		if (c->conf->tls == NULL)
			why(c, "TLS is required, but our TLS engine is "
			    "unavailable");
		else
			why(c, "TLS is required, but was not offered by host "
			    "%s", c->peer);
		return -1;
	}
	if (smtp_send(c, c->conf->helo_timeout, "STARTTLS") == -1) {
		why(c, "lost connection with %s while sending STARTTLS",
		    c->peer);
		c->broken = 1;
		return -1;
	}
	if (smtp_read_reply(c, c->conf->helo_timeout,
	    "receiving the STARTTLS reply") == -1) {
		c->broken = 1;
		return -1;
	}
	if (c->reply.code != 220) {
		if (!required)
			return 0;	/* Postfix too goes on in plaintext */
		smtp_reply_str(&c->reply, said, sizeof(said));
		why(c, "TLS is required, but host %s refused to start TLS: %s",
		    c->peer, said);
		t->tls_failed = 1;
		return -1;
	}
	c->tls = 1;	/* from here on, whatever happens, no plaintext */
	r = tls_client_start(c->conf->tls, c->io, &t->req,
	    c->conf->helo_timeout, &t->peer, err, sizeof(err));
	if (r == -1) {
		c->broken = 1;
		if (!required) {
			snprintf(t->fail, sizeof(t->fail), "%s", err);
			return 1;
		}
		why(c, "Cannot start TLS: handshake failure with %s: %s",
		    c->peer, err);
		t->tls_failed = 1;
		return -1;
	}
	if (r == -2) {
		/* A sound session we will not use: QUIT over it. */
		why(c, "TLS with %s: %s", c->peer, err);
		t->tls_failed = 1;
		return -1;
	}
	c->tls_peer = t->peer;
	t->used = 1;
	/* RFC 3207 4.2: forget what the server said before TLS. */
	memset(&c->ext, 0, sizeof(c->ext));
	if (smtp_greet(c, "EHLO") == -1) {
		c->broken = 1;
		return -1;
	}
	if (c->reply.code / 100 != 2)
		return refused_to_talk(c);
	smtp_ext_parse(&c->reply, &c->ext);
	return 0;
}

struct smtp_session *
smtp_session_open(const struct smtp_client_conf *conf, const char *host,
    const struct sockaddr *sa, socklen_t salen, struct smtp_tls *tls,
    char *reason, size_t reasonsz)
{
	struct smtp_session	*c;
	int			 r;

	if ((c = session_connect(conf, host, sa, salen, reason,
	    reasonsz)) == NULL)
		return NULL;
	if (tls == NULL || tls->req.level == TLS_LEVEL_NONE)
		return c;
	if ((r = smtp_starttls(c, tls)) == 0)
		return c;
	smtp_session_close(c, 1);
	if (r == -1)
		return NULL;
	/*
	 * MAY, and the handshake failed: this exchanger again, in
	 * plaintext, as Postfix does (a server with a broken TLS stack
	 * still gets its mail; nothing was promised about encryption).
	 */
	tls->fell_back = 1;
	return session_connect(conf, host, sa, salen, reason, reasonsz);
}

const char *
smtp_session_peer(const struct smtp_session *c)
{
	return c->peer;
}

const char *
smtp_session_host(const struct smtp_session *c)
{
	return c->host;
}

int
smtp_session_usable(const struct smtp_session *c)
{
	return !c->broken;
}

const struct tls_peer *
smtp_session_tls(const struct smtp_session *c)
{
	return c->tls && !c->broken ? &c->tls_peer : NULL;
}

int
smtp_session_rset(struct smtp_session *c)
{
	char scratch[SMTP_RESULT_TEXT_MAX];

	if (c->broken)
		return -1;
	c->reason = scratch;
	c->reasonsz = sizeof(scratch);
	if (smtp_send(c, c->conf->helo_timeout, "RSET") == -1 ||
	    smtp_read_reply(c, c->conf->helo_timeout,
	    "receiving the RSET reply") == -1 || c->reply.code / 100 != 2) {
		c->broken = 1;
		return -1;
	}
	return 0;
}

void
smtp_session_close(struct smtp_session *c, int quit)
{
	char scratch[SMTP_RESULT_TEXT_MAX];

	if (c == NULL)
		return;
	c->reason = scratch;
	c->reasonsz = sizeof(scratch);
	if (quit && !c->broken)
		smtp_quit(c);
	if (c->io != NULL) {
		if (c->tls)
			tls_session_end(c->io);
		netio_free(c->io);
	}
	if (c->fd != -1)
		close(c->fd);
	free(c->accepted);
	free(c);
}

enum smtp_attempt
smtp_session_tx(struct smtp_session *c, const struct smtp_tx *tx,
    struct smtp_rcpt_result *res, char *reason, size_t reasonsz,
    int *maybe_sent)
{
	int accepted, data_ok, r;
	size_t i;

	c->reason = reason;
	c->reasonsz = reasonsz;
	*maybe_sent = 0;
	reason[0] = '\0';
	memset(res, 0, tx->nrcpt * sizeof(*res));
	for (i = 0; i < tx->nrcpt; i++)
		res[i].status = ST_TEMP;
	free(c->accepted);
	if ((c->accepted = calloc(tx->nrcpt + 1, 1)) == NULL) {
		why(c, "out of memory");
		c->broken = 1;
		return SMTP_ATTEMPT_NEXT;
	}
	if (c->broken) {
		why(c, "lost connection with %s", c->peer);
		return SMTP_ATTEMPT_NEXT;
	}
	/* What this server cannot carry is refused for good, here. */
	if (tx->smtputf8 && !c->ext.smtputf8) {
		result_all(tx, res, ST_PERM, "5.6.7", "SMTPUTF8 is required, "
		    "but was not offered by host");
		return SMTP_ATTEMPT_DONE;
	}
	if (tx->eightbit && !c->ext.eightbitmime) {
		char t[SMTP_RESULT_TEXT_MAX];

		snprintf(t, sizeof(t), "host %s does not offer 8BITMIME, and "
		    "the message has 8-bit content", c->peer);
		result_all(tx, res, ST_PERM, "5.6.3", t);
		return SMTP_ATTEMPT_DONE;
	}
	if (c->ext.has_size && c->ext.size > 0 && tx->size > c->ext.size) {
		char t[SMTP_RESULT_TEXT_MAX];

		snprintf(t, sizeof(t), "message size %llu exceeds size limit "
		    "%llu of server %s", (unsigned long long)tx->size,
		    (unsigned long long)c->ext.size, c->peer);
		result_all(tx, res, ST_PERM, "5.3.4", t);
		return SMTP_ATTEMPT_DONE;
	}
	if ((accepted = smtp_envelope(c, tx, res, &data_ok)) == -1)
		goto broken;
	if (!data_ok)
		return SMTP_ATTEMPT_DONE;
	if (accepted == 0) {
		/* 354 with nobody to deliver to (RFC 2920 3.1): end it empty. */
		if (netio_write(c->io, ".\r\n", 3) == -1 ||
		    netio_flush(c->io) == -1 ||
		    smtp_read_reply(c, c->conf->data_done_timeout,
		    "sending end of data") == -1)
			c->broken = 1;
		return SMTP_ATTEMPT_DONE;
	}
	if ((r = smtp_send_text(c, tx)) == -2) {
		/*
		 * Our file, not their fault, and no next exchanger will do
		 * better. Closing without the final "." makes the server
		 * drop the text.
		 */
		for (i = 0; i < tx->nrcpt; i++)
			if (c->accepted[i]) {
				res[i].status = ST_TEMP;
				strlcpy(res[i].dsn, "4.3.0", sizeof(res[i].dsn));
				strlcpy(res[i].text, reason,
				    sizeof(res[i].text));
			}
		c->broken = 1;
		return SMTP_ATTEMPT_DONE;
	}
	if (r == -1)
		goto broken;
	if (smtp_read_reply(c, c->conf->data_done_timeout,
	    "sending end of data") == -1) {
		*maybe_sent = 1;
		strlcat(reason, " -- message may be sent more than once",
		    reasonsz);
		goto broken;
	}
	for (i = 0; i < tx->nrcpt; i++)
		if (c->accepted[i])
			result_from_reply(c, &res[i], "end of DATA");
	return SMTP_ATTEMPT_DONE;
broken:
	c->broken = 1;
	return SMTP_ATTEMPT_NEXT;
}

enum smtp_attempt
smtp_client_try(const struct smtp_client_conf *conf, const char *host,
    const struct sockaddr *sa, socklen_t salen, const struct smtp_tx *tx,
    struct smtp_rcpt_result *res, char *reason, size_t reasonsz,
    int *maybe_sent)
{
	struct smtp_session *c;
	enum smtp_attempt rc;
	size_t i;

	*maybe_sent = 0;
	memset(res, 0, tx->nrcpt * sizeof(*res));
	for (i = 0; i < tx->nrcpt; i++)
		res[i].status = ST_TEMP;
	if ((c = smtp_session_open(conf, host, sa, salen, NULL, reason,
	    reasonsz)) == NULL)
		return SMTP_ATTEMPT_NEXT;
	rc = smtp_session_tx(c, tx, res, reason, reasonsz, maybe_sent);
	smtp_session_close(c, rc == SMTP_ATTEMPT_DONE);
	return rc;
}
