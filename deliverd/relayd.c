/*
 * relayd.c - the remote delivery agent: takes remote jobs (D_RJOB: one
 * message, up to 100 recipients of one domain) from queued, asks
 * resolverd where that domain's mail goes (R_ROUTE), offers the message
 * to the exchangers in order over SMTP (smtp_client.c) and answers one
 * result per recipient (D_RRESULT), logging one Postfix-shaped line
 * for each.
 *
 * A program of its own, not a mode of deliverd: the local agent runs as
 * the mail store's owner and forks a command runner as root first; this
 * one never holds either. Started by master (remote_delivery_concurrency
 * copies) as root, it reads postern.conf, the outbound TLS policy
 * (smtp_tls_policy_map) and the CA certificates (smtp_tls_CAfile),
 * gathers the addresses that are ours (the loop check), then drops for
 * good to relay_user,
 * chrooted into <spool>/relay, which holds only the two sockets it
 * talks to (relay.sock: queued; route.sock: resolverd), so it can
 * reconnect to either from inside. It opens no file: the message comes
 * as the descriptor queued hands it, and it has no path to the mail
 * store or the spool. It parses what remote servers send (replies,
 * bounded, in smtp_reply.c) and trusts queued and resolverd only as
 * far as their frames decode.
 *
 * Synchronous, one job at a time, a deadline on every wait. A session
 * that ended well is kept open (RSET) for smtp_connection_cache_time
 * and used first for the next job to the same domain; it is closed
 * (QUIT) when that time passes or a job for another domain comes.
 * Signals are read between jobs: a job is never abandoned halfway, and
 * a result queued did not receive is retried by queued. A reload
 * replaces the agents (master's SIGTERM, between jobs): only a fresh
 * one, before its chroot, can read a changed policy map.
 *
 * Outbound TLS: each job's level comes from the policy map or
 * smtp_tls_security_level; the SMTP client says STARTTLS as it asks
 * (smtp_client.c), and a level that needs TLS and did not get it defers
 * with 4.7.5, never sending in plaintext. For dane the route comes with
 * DNSSEC's facts (R_ROUTE_DANE) and each exchanger gets its level from
 * them (rl_hop_tls, RFC 7672 2.2).
 */
#include <sys/socket.h>
#include <sys/types.h>

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "agent_life.h"
#include "conf.h"
#include "daemon.h"
#include "evloop.h"
#include "fsutil.h"
#include "ipc.h"
#include "log.h"
#include "priv.h"
#include "proto.h"
#include "remote.h"
#include "sock.h"
#include "tls.h"

#define RL_RECONNECT_MS	200
/* A job frame: 100 recipients of three addresses each, and a little. */
#define RL_FRAME_MAX	(256 * 1024)
#define RL_ROUTE_FRAME_MAX (64 * 1024)

static struct conf		 rl_conf;
static struct agent_life	 rl_life;
static struct smtp_client_conf	 rl_smtp;
static struct relay_self	 rl_self;
static struct ipc_conn		 rl_route;	/* fd -1: not connected */
static uint32_t			 rl_route_id;

/* The connection cache: one session, for one next hop. */
static struct smtp_session	*rl_cached;
static char			 rl_cached_hop[D_NEXTHOP_MAX + 1];
static uint64_t			 rl_cached_until;	/* monotonic ms */
static enum tls_level		 rl_cached_level;	/* it was opened for */

/* Outbound TLS: read before the chroot, fixed until the next start. */
static struct tls_client	*rl_tls;	/* NULL: no TLS engine */
static struct tls_policy	 rl_policy;	/* smtp_tls_policy_map */
static enum tls_level		 rl_level;	/* smtp_tls_security_level */

static void
rl_client_conf(void)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)&rl_smtp.bind4;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)&rl_smtp.bind6;

	smtp_client_conf_defaults(&rl_smtp);
	strlcpy(rl_smtp.helo_name, rl_conf.smtp_helo_name[0] != '\0' ?
	    rl_conf.smtp_helo_name : rl_conf.myhostname,
	    sizeof(rl_smtp.helo_name));
	rl_smtp.connect_timeout = rl_conf.smtp_connect_timeout;
	rl_smtp.helo_timeout = rl_conf.smtp_helo_timeout;
	rl_smtp.mail_timeout = rl_conf.smtp_mail_timeout;
	rl_smtp.rcpt_timeout = rl_conf.smtp_rcpt_timeout;
	rl_smtp.data_init_timeout = rl_conf.smtp_data_init_timeout;
	rl_smtp.data_xfer_timeout = rl_conf.smtp_data_xfer_timeout;
	rl_smtp.data_done_timeout = rl_conf.smtp_data_done_timeout;
	rl_smtp.quit_timeout = rl_conf.smtp_quit_timeout;
	/* confcheck refused anything but literals of the right family. */
	if (rl_conf.smtp_bind_address[0] != '\0' && inet_pton(AF_INET,
	    rl_conf.smtp_bind_address, &sin->sin_addr) == 1)
		sin->sin_family = AF_INET;
	if (rl_conf.smtp_bind_address6[0] != '\0' && inet_pton(AF_INET6,
	    rl_conf.smtp_bind_address6, &sin6->sin6_addr) == 1)
		sin6->sin6_family = AF_INET6;
	rl_smtp.tls = rl_tls;
}

/* Every address of every local interface: ours when we listen on all. */
static void
rl_self_interfaces(void)
{
	struct ifaddrs *ifa, *i;

	if (getifaddrs(&ifa) == -1) {
		log_warn("getifaddrs: the loop check knows only smtp_listen");
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next) {
		if (i->ifa_addr == NULL)
			continue;
		if (i->ifa_addr->sa_family == AF_INET)
			(void)relay_self_add(&rl_self, 4,
			    &((struct sockaddr_in *)i->ifa_addr)->sin_addr);
		else if (i->ifa_addr->sa_family == AF_INET6)
			(void)relay_self_add(&rl_self, 6,
			    &((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr);
	}
	freeifaddrs(ifa);
}

/*
 * Which exchangers are this host: myhostname, the smtp_listen
 * addresses, and every interface address if one of those is a
 * wildcard. Gathered once, before the chroot (getifaddrs needs no file,
 * but a reload cannot reach master's listeners anyway).
 */
static void
rl_self_init(void)
{
	char		host[256], port[32];
	uint8_t		a[16];
	size_t		i;
	int		wildcard = 0;

	memset(&rl_self, 0, sizeof(rl_self));
	strlcpy(rl_self.myhostname, rl_conf.myhostname,
	    sizeof(rl_self.myhostname));
	for (i = 0; i < rl_conf.smtp_listen.n; i++) {
		if (sock_split_hostport(rl_conf.smtp_listen.v[i], host,
		    sizeof(host), port, sizeof(port)) == -1)
			continue;
		if (host[0] == '\0' || strcmp(host, "0.0.0.0") == 0 ||
		    strcmp(host, "::") == 0 || strcmp(host, "*") == 0)
			wildcard = 1;
		else if (inet_pton(AF_INET, host, a) == 1)
			(void)relay_self_add(&rl_self, 4, a);
		else if (inet_pton(AF_INET6, host, a) == 1)
			(void)relay_self_add(&rl_self, 6, a);
	}
	if (wildcard)
		rl_self_interfaces();
}

/*
 * The TLS engine, the CA certificates and the policy map, read as root
 * before the chroot (after it no file can be opened). A map that does
 * not load is fatal: going on without it could send in plaintext what
 * it says must be encrypted (master checked it, so this is a race with
 * an edit; master restarts us).
 */
static void
rl_tls_init(void)
{
	char err[512];

	if (tls_level_parse(rl_conf.smtp_tls_security_level, &rl_level) == -1)
		fatalx("smtp_tls_security_level \"%s\" is not none, may, "
		    "encrypt, dane or verify", rl_conf.smtp_tls_security_level);
	if (rl_conf.smtp_tls_policy_map[0] != '\0' &&
	    tls_policy_load(rl_conf.smtp_tls_policy_map, &rl_policy, err,
	    sizeof(err)) == -1)
		fatalx("smtp_tls_policy_map: %s", err);
	if ((rl_tls = tls_client_new(&rl_conf, err, sizeof(err))) == NULL)
		log_warnx("no TLS for outbound mail: %s; level may sends in "
		    "plaintext, the others defer", err);
	rl_smtp.tls = rl_tls;
}

static void
rl_cache_drop(int quit)
{
	if (rl_cached == NULL)
		return;
	smtp_session_close(rl_cached, quit);
	rl_cached = NULL;
	rl_cached_hop[0] = '\0';
}

static void
rl_route_fail(struct r_route *rt, const char *why)
{
	memset(rt, 0, sizeof(*rt));
	rt->status = ST_TEMP;
	strlcpy(rt->dsn, "4.3.0", sizeof(rt->dsn));
	snprintf(rt->text, sizeof(rt->text), "cannot ask resolverd for the "
	    "mail exchangers: %s", why);
}

/* One R_ROUTE exchange on the (lazily made) route connection. */
static int
rl_route_once(const char *domain, int dane, struct r_route *rt)
{
	struct ipc_msg	m;
	int		fd, rc = -1;

	if (rl_route.fd == -1) {
		if ((fd = sock_unix_connect_in(".", "route.sock")) == -1)
			return -1;
		ipc_conn_init(&rl_route, fd, RL_ROUTE_FRAME_MAX);
	}
	ipc_msg_init(&m, dane ? R_ROUTE_DANE : R_ROUTE, ++rl_route_id);
	if (proto_enc_r_route(&m, domain) == -1) {
		ipc_msg_free(&m);
		errno = EINVAL;
		return -2;
	}
	if (ipc_send_wait(&rl_route, &m, PROTO_TIMEOUT_MS) == -1) {
		ipc_msg_free(&m);
		goto broken;
	}
	ipc_msg_free(&m);
	/* DNS has its own timeouts; resolverd always answers before ours. */
	if (ipc_recv_wait(&rl_route, &m, PROTO_TIMEOUT_MS) == -1)
		goto broken;
	if (m.type == R_ROUTE_REPLY && m.id == rl_route_id &&
	    proto_dec_r_route_reply(&m, rt) == 0)
		rc = 0;
	else
		log_warnx("malformed route answer (type %u) from resolverd",
		    m.type);
	ipc_msg_free(&m);
	if (rc == 0)
		return 0;
broken:
	ipc_conn_close(&rl_route);
	ipc_conn_init(&rl_route, -1, RL_ROUTE_FRAME_MAX);
	return -1;
}

/*
 * The route for domain: resolverd's answer, or a temporary failure if
 * it cannot be asked (once more on a fresh connection: resolverd may
 * have been restarted since the last job).
 */
static void
rl_route_get(const char *domain, int dane, struct r_route *rt)
{
	int r;

	if ((r = rl_route_once(domain, dane, rt)) == 0)
		return;
	if (r == -2) {
		rl_route_fail(rt, "the next hop is not a host name");
		rt->status = ST_PERM;
		strlcpy(rt->dsn, "5.1.2", sizeof(rt->dsn));
		return;
	}
	if (rl_route_once(domain, dane, rt) == 0)
		return;
	log_warn("resolverd's route.sock");
	rl_route_fail(rt, errno == ETIMEDOUT ? "timed out" :
	    "no connection");
}

static void
rl_hop_sockaddr(const struct r_hop *h, struct sockaddr_storage *ss,
    socklen_t *len)
{
	struct sockaddr_in	*sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6	*sin6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (h->family == 6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(rl_smtp.port);
		memcpy(&sin6->sin6_addr, h->addr, 16);
		*len = sizeof(*sin6);
	} else {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(rl_smtp.port);
		memcpy(&sin->sin_addr, h->addr, 4);
		*len = sizeof(*sin);
	}
}

/* What one job's recipients ended with, before it becomes a D_RRESULT. */
struct rl_outcome {
	struct smtp_rcpt_result	*res;
	char			 relay[400];	/* "host[addr]:25", "none" */
	char			 mta[D_MTA_MAX + 1];
	int64_t			 conn_us;
};

static void
rl_all(const struct d_rjob *j, struct rl_outcome *o, uint32_t status,
    const char *dsn, const char *text)
{
	uint32_t i;

	for (i = 0; i < j->nrcpt; i++) {
		o->res[i].status = status;
		strlcpy(o->res[i].dsn, dsn, sizeof(o->res[i].dsn));
		strlcpy(o->res[i].text, text, sizeof(o->res[i].text));
		o->res[i].reply[0] = '\0';
	}
}

static void
rl_session_done(struct smtp_session *s, const char *nexthop,
    enum tls_level level)
{
	if (rl_conf.smtp_connection_cache_time > 0 &&
	    smtp_session_usable(s) && smtp_session_rset(s) == 0) {
		rl_cached = s;
		rl_cached_level = level;
		strlcpy(rl_cached_hop, nexthop, sizeof(rl_cached_hop));
		rl_cached_until = evloop_now_ms() +
		    (uint64_t)rl_conf.smtp_connection_cache_time * 1000;
		return;
	}
	smtp_session_close(s, 1);
}

static void
rl_outcome_from(struct rl_outcome *o, struct smtp_session *s)
{
	snprintf(o->relay, sizeof(o->relay), "%s:%u", smtp_session_peer(s),
	    rl_smtp.port);
	strlcpy(o->mta, smtp_session_host(s), sizeof(o->mta));
}

/* The level for a next hop: its policy map entry, else the default. */
static enum tls_level
rl_tls_level(const char *nexthop, const char **match)
{
	const struct tls_policy_entry *e;

	*match = "";
	if ((e = tls_policy_find(&rl_policy, nexthop)) == NULL)
		return rl_level;
	*match = e->match;
	return e->level;
}

/*
 * What TLS asks of one exchanger. dane follows RFC 7672 2.2 on what
 * resolverd found: no validated TLSA records (an insecure MX or
 * address answer, or none published): may, as Postfix's dane; records
 * of which DANE can use one: dane; records, none usable: encrypt
 * (TLS, unauthenticated). -1: the TLSA lookup of a validated host
 * failed: that host must not get the mail, in plaintext or otherwise.
 */
static int
rl_hop_tls(enum tls_level level, const char *match, const char *nexthop,
    const struct r_hop *h, struct smtp_tls *t)
{
	static struct tls_tlsa	tlsa[R_TLSA_MAX];
	uint32_t		i;
	int			usable = 0;

	memset(t, 0, sizeof(*t));
	t->req.level = level;
	t->req.host = h->host;
	t->req.nexthop = nexthop;
	t->req.match = match;
	if (level != TLS_LEVEL_DANE)
		return 0;
	if (h->dane == R_DANE_FAIL)
		return -1;
	if (h->dane != R_DANE_TLSA) {
		t->req.level = TLS_LEVEL_MAY;
		return 0;
	}
	for (i = 0; i < h->ntlsa && i < R_TLSA_MAX; i++) {
		tlsa[i].usage = (uint8_t)h->tlsa[i].usage;
		tlsa[i].selector = (uint8_t)h->tlsa[i].selector;
		tlsa[i].mtype = (uint8_t)h->tlsa[i].mtype;
		tlsa[i].len = (uint8_t)h->tlsa[i].len;
		memcpy(tlsa[i].data, h->tlsa[i].data, h->tlsa[i].len);
		usable += tls_tlsa_usable(&tlsa[i]);
	}
	t->req.tlsa = tlsa;
	t->req.ntlsa = i;
	if (usable == 0)
		t->req.level = TLS_LEVEL_ENCRYPT;
	return 0;
}

/* relay=host[addr]:25 for an exchanger that answered without a session. */
static void
rl_hop_relay(struct rl_outcome *o, const struct r_hop *h)
{
	char addr[INET6_ADDRSTRLEN] = "?";

	inet_ntop(h->family == 6 ? AF_INET6 : AF_INET, h->addr, addr,
	    sizeof(addr));
	snprintf(o->relay, sizeof(o->relay), "%s[%s]:%u", h->host, addr,
	    rl_smtp.port);
}

/* Postfix's line, which log tools look for; once per delivery. */
static void
rl_log_tls(const char *qid, struct smtp_session *s)
{
	const struct tls_peer *p = smtp_session_tls(s);

	if (p == NULL)
		return;
	log_info("%s: %s TLS connection established to %s:%u: %s with "
	    "cipher %s (%d/%d bits)%s", qid, p->trust, smtp_session_peer(s),
	    rl_smtp.port, p->info.version, p->info.cipher, p->info.bits,
	    p->info.alg_bits, p->info.resumed ? " (resumed)" : "");
}

/*
 * The exchangers in turn, from the cached session if it serves this
 * next hop. Fills o for every recipient.
 */
static void
rl_deliver(const struct d_rjob *j, const struct smtp_tx *tx,
    struct rl_outcome *o)
{
	static struct r_route	 rt;
	struct sockaddr_storage	 ss;
	struct smtp_session	*s;
	socklen_t		 sslen;
	char			 reason[SMTP_RESULT_TEXT_MAX], text[1200];
	struct smtp_tls		 tls;
	const char		*match;
	enum tls_level		 level;
	size_t			 i, usable;
	int			 maybe_sent, tls_failed = 0;

	strlcpy(o->relay, "none", sizeof(o->relay));
	level = rl_tls_level(j->nexthop, &match);
	/* A cached session serves only the level it was opened for. */
	if (rl_cached != NULL && strcmp(rl_cached_hop, j->nexthop) == 0 &&
	    rl_cached_level == level) {
		s = rl_cached;
		rl_cached = NULL;
		o->conn_us = log_now_us();
		rl_outcome_from(o, s);
		rl_log_tls(j->qid, s);
		if (smtp_session_tx(s, tx, o->res, reason, sizeof(reason),
		    &maybe_sent) == SMTP_ATTEMPT_DONE) {
			rl_session_done(s, j->nexthop, level);
			return;
		}
		smtp_session_close(s, 0);
		if (maybe_sent) {
			rl_all(j, o, ST_TEMP, "4.4.2", reason);
			return;
		}
		/* The server closed the idle session: a fresh one. */
		log_debug("cached session to %s unusable: %s", j->nexthop,
		    reason);
		strlcpy(o->relay, "none", sizeof(o->relay));
		o->mta[0] = '\0';
	}
	rl_cache_drop(1);

	rl_route_get(j->nexthop, level == TLS_LEVEL_DANE, &rt);
	if (rt.status != ST_OK) {
		rl_all(j, o, rt.status, rt.dsn, rt.text);
		return;
	}
	if ((usable = relay_usable_hops(&rl_self, &rt)) == 0) {
		snprintf(text, sizeof(text), "mail for %s loops back to "
		    "myself", j->nexthop);
		rl_all(j, o, ST_PERM, "5.4.6", text);
		return;
	}
	strlcpy(reason, "no exchanger could be tried", sizeof(reason));
	for (i = 0; i < usable; i++) {
		rl_hop_sockaddr(&rt.hop[i], &ss, &sslen);
		if (rl_hop_tls(level, match, j->nexthop, &rt.hop[i],
		    &tls) == -1) {
			/* Postfix's words. */
			snprintf(reason, sizeof(reason), "TLSA lookup error "
			    "for %s:%u", rt.hop[i].host, rl_smtp.port);
			log_info("%s: %s", j->qid, reason);
			tls_failed = 1;
			continue;
		}
		s = smtp_session_open(&rl_smtp, rt.hop[i].host,
		    (struct sockaddr *)&ss, sslen, &tls, reason,
		    sizeof(reason));
		if (tls.fell_back)
			log_info("%s: TLS handshake with %s:%u failed: %s; "
			    "trying again in plaintext (TLS level may)",
			    j->qid, rt.hop[i].host, rl_smtp.port, tls.fail);
		if (s == NULL) {
			/* Postfix logs each exchanger it could not use. */
			log_info("%s: %s", j->qid, reason);
			tls_failed = tls.tls_failed;
			/* It answered (Postfix's relay=); TLS failed. */
			if (tls_failed)
				rl_hop_relay(o, &rt.hop[i]);
			continue;
		}
		tls_failed = 0;
		o->conn_us = log_now_us();
		rl_outcome_from(o, s);
		rl_log_tls(j->qid, s);
		if (smtp_session_tx(s, tx, o->res, reason, sizeof(reason),
		    &maybe_sent) == SMTP_ATTEMPT_DONE) {
			rl_session_done(s, j->nexthop, level);
			return;
		}
		smtp_session_close(s, 0);
		log_info("%s: %s", j->qid, reason);
		/* It may have the message: another copy waits for a retry. */
		if (maybe_sent)
			break;
	}
	/*
	 * Postfix's codes: no connection 4.4.1, a broken one 4.4.2; TLS
	 * required and not had (not offered, failed, not verified: RFC
	 * 7672's "cryptographic failure") 4.7.5. Never a bounce: the
	 * receiver may fix it.
	 */
	rl_all(j, o, ST_TEMP, tls_failed ? "4.7.5" :
	    strncmp(reason, "connect to ", 11) == 0 ? "4.4.1" : "4.4.2",
	    reason);
}

static void
rl_log(const struct d_rjob *j, const struct rl_outcome *o, int64_t handoff)
{
	struct log_delivery	ld;
	char			text[PROTO_TEXT_MAX + 32];
	uint32_t		i;

	for (i = 0; i < j->nrcpt; i++) {
		memset(&ld, 0, sizeof(ld));
		ld.qid = j->qid;
		ld.to = j->rcpt[i].addr;
		ld.orig_to = j->rcpt[i].orcpt[0] != '\0' ? j->rcpt[i].orcpt :
		    NULL;
		ld.relay = o->relay;
		ld.arrival_us = (int64_t)j->arrival_us;
		ld.active_us = (int64_t)j->active_us;
		ld.handoff_us = handoff;
		ld.conn_us = o->conn_us;
		ld.done_us = log_now_us();
		ld.status = o->res[i].status == ST_OK ? "sent" :
		    o->res[i].status == ST_TEMP ? "deferred" : "bounced";
		/* A server's long reply is cut here, as in the result. */
		if (snprintf(text, sizeof(text), "%s %s", o->res[i].dsn,
		    o->res[i].text) < 0)
			text[0] = '\0';
		ld.text = text;
		log_delivery(&ld);
	}
}

static int
rl_non_ascii(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return 1;
	return 0;
}

/* One job: route, deliver, log; fills r (one result per recipient). */
static int
rl_job(const struct d_rjob *j, int fd, struct d_rresult *r)
{
	struct smtp_tx		 tx;
	struct rl_outcome	 o;
	const char		**rcpt = NULL, **orcpt = NULL;
	uint32_t		*notify = NULL, i;
	int64_t			 handoff = log_now_us();

	memset(&o, 0, sizeof(o));
	r->nrcpt = j->nrcpt;
	if ((r->r = calloc(j->nrcpt, sizeof(*r->r))) == NULL ||
	    (o.res = calloc(j->nrcpt, sizeof(*o.res))) == NULL ||
	    (rcpt = calloc(j->nrcpt, sizeof(*rcpt))) == NULL ||
	    (orcpt = calloc(j->nrcpt, sizeof(*orcpt))) == NULL ||
	    (notify = calloc(j->nrcpt, sizeof(*notify))) == NULL) {
		free(r->r);
		r->r = NULL;
		free(o.res);
		free(rcpt);
		free(orcpt);
		return -1;
	}
	for (i = 0; i < j->nrcpt; i++) {
		rcpt[i] = j->rcpt[i].addr;
		orcpt[i] = j->rcpt[i].dsn_orcpt;
		notify[i] = j->rcpt[i].notify;
	}
	memset(&tx, 0, sizeof(tx));
	tx.sender = j->sender;
	tx.nrcpt = j->nrcpt;
	tx.rcpt = rcpt;
	tx.fd = fd;
	tx.offset = j->offset;
	tx.size = j->size;
	tx.eightbit = (j->flags & D_RJOB_8BITMIME) != 0;
	/* A UTF-8 address needs SMTPUTF8 whatever the job's flag says. */
	tx.smtputf8 = (j->flags & D_RJOB_SMTPUTF8) != 0 ||
	    rl_non_ascii(j->sender);
	for (i = 0; i < j->nrcpt; i++)
		tx.smtputf8 |= rl_non_ascii(j->rcpt[i].addr);
	tx.ret = j->ret;
	tx.envid = j->envid;
	tx.notify = notify;
	tx.orcpt = orcpt;

	rl_deliver(j, &tx, &o);
	rl_log(j, &o, handoff);
	for (i = 0; i < j->nrcpt; i++) {
		struct d_rrcpt_result *x = &r->r[i];

		x->status = o.res[i].status;
		/* The DSN code leads, as in the local agents' texts. */
		if (snprintf(x->text, sizeof(x->text), "%s %s", o.res[i].dsn,
		    o.res[i].text) < 0)
			x->text[0] = '\0';
		if (o.res[i].reply[0] != '\0') {
			strlcpy(x->mta, o.mta, sizeof(x->mta));
			strlcpy(x->diag, o.res[i].reply, sizeof(x->diag));
		}
	}
	free(o.res);
	free(rcpt);
	free(orcpt);
	free(notify);
	return 0;
}

/* Serves one connection to queued; returns when it breaks or we stop. */
static void
rl_serve(int fd)
{
	struct ipc_conn		c;
	struct ipc_msg		m, reply;
	struct d_rjob		j;
	struct d_rresult	r;
	int			timeout, rc;

	ipc_conn_init(&c, fd, RL_FRAME_MAX);
	ipc_msg_init(&m, D_HELLO, 0);
	if (proto_enc_d_hello(&m, D_TRANSPORT_REMOTE) == -1 ||
	    ipc_send_wait(&c, &m, PROTO_TIMEOUT_MS) == -1) {
		log_warn("send D_HELLO");
		ipc_msg_free(&m);
		ipc_conn_close(&c);
		return;
	}
	ipc_msg_free(&m);

	while (!rl_life.terminate) {
		if (c.in.len < IPC_HDR_LEN && !c.eof) {
			timeout = -1;
			if (rl_cached != NULL) {
				uint64_t now = evloop_now_ms();

				if (now >= rl_cached_until) {
					log_debug("closing the cached session "
					    "to %s", rl_cached_hop);
					rl_cache_drop(1);
					continue;
				}
				timeout = (int)(rl_cached_until - now);
			}
			/* Idle: a signal may end us here, and only here. */
			if (!agent_life_wait(&rl_life, c.fd, timeout))
				continue;
		}
		if (ipc_recv_wait(&c, &m, PROTO_TIMEOUT_MS) == -1) {
			if (errno == EPIPE)
				log_warnx("queued closed the connection");
			else
				log_warn("receive from queued");
			break;
		}
		if (m.type == D_BYE && m.body.len == 0 && m.fd == -1) {
			log_debug("queued is stopping");
			ipc_msg_free(&m);
			rl_life.terminate = 1;
			break;
		}
		if (m.type != D_RJOB || proto_dec_d_rjob(&m, &j) == -1) {
			log_warnx("malformed frame (type %u) from queued; "
			    "reconnecting", m.type);
			ipc_msg_free(&m);
			break;
		}
		memset(&r, 0, sizeof(r));
		rc = rl_job(&j, m.fd, &r);
		ipc_msg_init(&reply, D_RRESULT, m.id);
		ipc_msg_free(&m);	/* closes the message descriptor */
		if (rc == -1) {
			/* No memory for the results: queued retries the job. */
			log_warnx("%s: out of memory; the job is left to "
			    "queued's retry", j.qid);
			proto_d_rjob_free(&j);
			ipc_msg_free(&reply);
			break;
		}
		if (proto_enc_d_rresult(&reply, &r) == -1 ||
		    ipc_send_wait(&c, &reply, PROTO_TIMEOUT_MS) == -1) {
			log_warn("%s: send result to queued", j.qid);
			proto_d_rjob_free(&j);
			proto_d_rresult_free(&r);
			ipc_msg_free(&reply);
			break;
		}
		proto_d_rjob_free(&j);
		proto_d_rresult_free(&r);
		ipc_msg_free(&reply);
	}
	ipc_conn_close(&c);
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { NULL };
	struct daemon_args	args;
	struct priv_user	u;
	char			dir[PATH_MAX];
	int			fd;

	daemon_init("relayd", names, argc, argv, &args, &rl_conf);
	if (priv_lookup(rl_conf.relay_user, &u) == -1)
		fatal("user %s", rl_conf.relay_user);
	if (fs_path(dir, sizeof(dir), rl_conf.spool_directory, "relay") == -1)
		fatalx("spool_directory too long");
	rl_client_conf();
	rl_tls_init();
	rl_self_init();
	/* The chroot has no /etc/localtime: the log's time zone now. */
	tzset();
	priv_drop(&u, dir);
	agent_life_init(&rl_life, &rl_conf, args.confpath, rl_client_conf);
	ipc_conn_init(&rl_route, -1, RL_ROUTE_FRAME_MAX);

	log_info("started as %s in %s, helo %s", u.name, dir,
	    rl_smtp.helo_name);
	while (!rl_life.terminate) {
		/* Our cwd is <spool>/relay. */
		if ((fd = agent_life_connect(&rl_life, ".", "relay.sock",
		    RL_RECONNECT_MS)) == -1)
			break;
		rl_serve(fd);
		if (!rl_life.terminate)
			(void)agent_life_wait(&rl_life, -1, RL_RECONNECT_MS);
	}
	rl_cache_drop(1);
	ipc_conn_close(&rl_route);
	tls_client_free(rl_tls);
	tls_policy_free(&rl_policy);
	conf_free(&rl_conf);
	log_info("terminating");
	return 0;
}
