/*
 * proto.h - the messages that cross Postern's internal sockets, and the
 * one encoder and decoder for each. Every daemon speaks through these:
 * no daemon lays out a payload of its own.
 *
 * Sockets (all created by master, which keeps the listening ends so that a
 * restarted daemon finds its clients' connections waiting in the backlog):
 *   <spool>/smtpd/queue.sock      smtpd -> queued     (submission)
 *   <spool>/smtpd/resolver.sock   smtpd -> resolverd  (recipient checks)
 *   <spool>/public/inject.sock    sendmail -> queued  (submission, any user)
 *   <spool>/private/deliver.sock  deliverd -> queued  (jobs and results)
 *   <spool>/private/resolver.sock queued -> resolverd (alias expansion)
 *   <spool>/private/control.sock  postern -> queued   (queue list, flush,
 *                                 delete, hold, release, requeue)
 *   (public/inject.sock also answers Q_CTL_LIST, to queue_list_users)
 *   <spool>/private/auth.sock     pop3d, imapd (root parents), postern
 *                                 auth test -> authd (password checks;
 *                                 root's alone, 0600: smtpd's sessions
 *                                 will ask through a root parent too)
 *   <spool>/relay/route.sock      relayd -> resolverd (R_ROUTE: where mail
 *                                 for a domain goes, R_ROUTE_DANE: and
 *                                 what DNSSEC says for DANE; relay_user
 *                                 only)
 *   <spool>/relay/relay.sock      relayd -> queued    (remote jobs and
 *                                 results; relay_user only)
 *   <spool>/private/key.sock      smtpd sessions, pop3d login processes
 *                                 (before they drop privileges), the TLS
 *                                 test tool -> keyd (K_SIGN: signatures
 *                                 with a key they never see; root 0600)
 *   <spool>/public/log.sock       every process -> logd (maillog_file only;
 *                                 SOCK_SEQPACKET, one record per log line,
 *                                 "<P>TAG: TEXT" as log.c sends it, not
 *                                 the framing below)
 */
#ifndef POSTERN_PROTO_H
#define POSTERN_PROTO_H

#include <stdint.h>

#include "addr.h"
#include "envelope.h"
#include "ipc.h"
#include "qid.h"

#define PROTO_TEXT_MAX	512	/* reply and reason texts */
#define PROTO_TIMEOUT_MS 30000	/* internal request deadline */

enum proto_type {
	/* submission (smtpd, sendmail -> queued) */
	Q_BEGIN = 1,	/* -> Q_FILE (with the fd of an empty spool file) | Q_ERR */
	Q_FILE,
	Q_COMMIT,	/* -> Q_OK | Q_ERR */
	Q_ABORT,	/* no reply */
	Q_OK,
	Q_ERR,
	/* control (postern -> queued) */
	Q_CTL_LIST = 20, /* -> Q_CTL_ENTRY*, Q_OK */
	Q_CTL_ENTRY,
	Q_CTL_FLUSH,	/* [domain] -> Q_OK */
	Q_CTL_DELETE,	/* -> Q_OK | Q_ERR */
	Q_CTL_OP,	/* op and queue ids -> Q_CTL_DONE */
	Q_CTL_DONE,
	/* resolver */
	R_CHECK = 40,	/* -> R_CHECK_REPLY */
	R_CHECK_REPLY,
	R_EXPAND,	/* -> R_EXPAND_REPLY */
	R_EXPAND_REPLY,
	R_ROUTE = 46,	/* -> R_ROUTE_REPLY; only on relay/route.sock */
	R_ROUTE_REPLY,
	R_OWNER = 48,	/* -> R_OWNER_REPLY: may a login use a sender? */
	R_OWNER_REPLY,
	/* authd (private/auth.sock only) */
	A_AUTH = 50,	/* -> A_AUTH_REPLY */
	A_AUTH_REPLY,
	A_BIND,		/* first frame only: the connection's proto, client */
	A_RATE,		/* -> A_RATE_REPLY; bound, authenticated only */
	A_RATE_REPLY,
	A_RATE_LIST,	/* -> A_RATE_LIST_REPLY; unbound (postern) only */
	A_RATE_LIST_REPLY,
	/* delivery agents */
	D_HELLO = 60,	/* agent -> queued: which transport it serves */
	D_JOB,		/* queued -> agent, with the message fd */
	D_RESULT,	/* agent -> queued */
	D_BYE,		/* queued -> idle agent, no payload: queued is stopping */
	D_RJOB,		/* queued -> remote agent, with the message fd */
	D_RRESULT,	/* remote agent -> queued: one result per recipient */
	/* keyd (private/key.sock only) */
	K_SIGN = 80,	/* -> K_SIGN_REPLY */
	K_SIGN_REPLY,
	/* resolver, for outbound TLS */
	R_ROUTE_DANE = 90,	/* as R_ROUTE, with TLSA: -> R_ROUTE_REPLY */
};

/* Q_ERR / D_RESULT status, and R_EXPAND_REPLY status. */
enum proto_status {
	ST_OK = 0,
	ST_TEMP = 1,
	ST_PERM = 2,
};

struct q_err {
	uint32_t	status;			/* ST_TEMP or ST_PERM */
	char		text[PROTO_TEXT_MAX];	/* "4.3.0 queue file write error" */
};

/*
 * On the wire: size, sender, client, helo, body, smtputf8, ret, envid,
 * nrcpt, then per recipient its address, notify and orcpt. The decoder
 * checks every value the envelope takes (body, ret, notify, envid and
 * orcpt as smtp_cmd accepts them), so queued never records what smtpd
 * would have refused.
 */
struct q_commit {
	uint64_t	 size;		/* bytes the client wrote to the file */
	char		 sender[ADDR_MAX + 1];
	char		 client[128];
	char		 helo[256];
	uint32_t	 body;		/* ENV_BODY_* */
	uint32_t	 smtputf8;	/* 0 or 1 */
	uint32_t	 ret;		/* ENV_RET_* */
	char		 envid[ENV_ENVID_MAX + 1];	/* "": none */
	uint32_t	 nrcpt;
	char		**rcpt;
	/* Per recipient; either array may be NULL when none was given. */
	uint32_t	*notify;	/* ENV_NOTIFY_*; 0: not given */
	char		**orcpt;	/* "type;addr", or NULL / "": none */
	/* The SMTP AUTH login (canonical user@domain), "" if none. */
	char		 auth[ADDR_MAX + 1];
};

enum r_verdict {
	R_LOCAL_OK = 0,		/* a user or alias of a local domain */
	R_LOCAL_UNKNOWN,	/* local domain, no such user */
	R_NOT_LOCAL,		/* not one of ours: relay decision is smtpd's */
	R_TEMPFAIL,		/* maps unreadable: try later */
};

enum r_kind {
	R_KIND_MAILBOX = 0,	/* user@domain in the mail store */
	R_KIND_REMOTE,		/* hand to the remote transport */
	R_KIND_COMMAND,		/* "|command" of an alias: deliverd's pipe */
};

struct r_target {
	uint32_t	kind;
	char		addr[ADDR_MAX + 1];
	/*
	 * The recipient_delimiter detail ("tag" of user+tag@) when a
	 * plus-address reached this mailbox, else "": kept for delivery
	 * into a folder of that name later; nothing uses it yet.
	 */
	char		detail[ADDR_LOCAL_MAX + 1];
};

#define R_EXPAND_MAX	1000	/* targets one recipient may expand to */

struct r_expansion {
	uint32_t	 status;	/* ST_OK, ST_TEMP, ST_PERM */
	char		 text[PROTO_TEXT_MAX];
	uint32_t	 n;
	struct r_target	*t;
};

enum a_auth_verdict {
	A_AUTH_OK = 0,		/* user exists and the password matches */
	A_AUTH_FAIL,		/* no such user, no password set, or mismatch */
	A_AUTH_TEMPFAIL,	/* maps unreadable, table full: try later */
	A_AUTH_LIMIT,		/* refused unchecked: too many failures */
};

#define A_AUTH_SECRET_MAX	1024
#define A_AUTH_PROTO_MAX	15	/* "pop3", "imap", "smtp", "admin" */
#define A_AUTH_CLIENT_MAX	63	/* a numeric IPv4 or IPv6 address */

/*
 * The client address is the login daemon's, from accept(2), never from
 * the client's bytes; failures are paced per address and per account
 * across every protocol. An empty address (postern auth test, root at
 * the console) is paced by nothing.
 */
struct a_auth {
	char	proto[A_AUTH_PROTO_MAX + 1];	/* lower case, for the log */
	char	client[A_AUTH_CLIENT_MAX + 1];
	char	user[ADDR_MAX + 1];		/* as the client typed it */
	char	password[A_AUTH_SECRET_MAX + 1];
};

struct a_auth_reply {
	uint32_t verdict;
	char	 user[ADDR_MAX + 1];	/* canonical "user@domain" on A_AUTH_OK */
};

/*
 * A_BIND: what smtpd's root listener writes on a connection it opens
 * to authd for one SMTP session, before it hands the connection to the
 * session process. From then on authd takes the protocol and the client
 * address from the binding, never from the session's A_AUTH, so a
 * session process (which faces the network) cannot escape the pacing by
 * naming another address; and A_RATE counts for the user that logged
 * in on that connection, never for a name the session gives.
 */
struct a_bind {
	char	proto[A_AUTH_PROTO_MAX + 1];
	char	client[A_AUTH_CLIENT_MAX + 1];
};

/* A_RATE's operations: the per-account outbound limits (authd/auth_rate.c). */
enum a_rate_op {
	A_RATE_MAIL = 0,	/* MAIL: is the message allowance used up? */
	A_RATE_RCPT,		/* RCPT: count n recipients, if within */
	A_RATE_SENT,		/* a message was queued: count it */
};

enum a_rate_verdict {
	A_RATE_OK = 0,
	A_RATE_OVER,		/* over a limit: 451 4.7.1 */
	A_RATE_TEMPFAIL,	/* no login on the connection, table full */
};

enum a_rate_which {
	A_RATE_MESSAGES = 0,	/* auth_messages_per_day */
	A_RATE_RECIPIENTS,	/* auth_recipients_per_hour */
};

struct a_rate {
	uint32_t op;
	uint32_t n;
};

struct a_rate_reply {
	uint32_t verdict;
	uint32_t which;		/* the limit reached (A_RATE_OVER) */
	uint32_t used;		/* of that limit, in its window */
	uint32_t limit;
};

/* A_RATE_LIST_REPLY: the accounts nearest their limits, nearest first. */
#define A_RATE_LIST_MAX	200

struct a_rate_entry {
	char		user[ADDR_MAX + 1];
	uint32_t	messages;	/* in the last 24 hours */
	uint32_t	recipients;	/* in the last hour */
};

struct a_rate_list {
	uint32_t		messages_limit;		/* 0: none */
	uint32_t		recipients_limit;
	uint32_t		accounts;		/* counted in all */
	uint32_t		n;
	struct a_rate_entry	e[A_RATE_LIST_MAX];
};

enum r_owner_verdict {
	R_OWNER_YES = 0,
	R_OWNER_NO,
	R_OWNER_TEMPFAIL,
};

struct d_job {
	char		qid[QID_LEN + 1];
	char		sender[ADDR_MAX + 1];
	char		rcpt[ADDR_MAX + 1];	/* mailbox: user@domain;
						   command: "|command" */
	char		orcpt[ADDR_MAX + 1];	/* the recipient being tried */
	uint64_t	offset;		/* the message's bytes in the fd */
	uint64_t	size;
	/* For the log line's delays: wall-clock microseconds. */
	uint64_t	arrival_us;	/* the queue file was made */
	uint64_t	active_us;	/* queued began this delivery round */
	uint32_t	kind;		/* R_KIND_MAILBOX or R_KIND_COMMAND */
};

struct d_result {
	uint32_t	status;		/* ST_OK, ST_TEMP, ST_PERM */
	char		text[PROTO_TEXT_MAX];	/* "2.0.0 delivered to maildir" */
};

#define D_TRANSPORT_LOCAL	1
#define D_TRANSPORT_REMOTE	2

/*
 * A remote job: one message for up to D_RJOB_RCPT_MAX recipients of one
 * next hop (the recipients' domain, lower case), delivered in one SMTP
 * transaction where the server allows. The answer, D_RRESULT, has one
 * result per recipient, in the job's order.
 */
#define D_RJOB_RCPT_MAX		100
#define D_NEXTHOP_MAX		255

#define D_RJOB_8BITMIME		0x1	/* BODY=8BITMIME */
#define D_RJOB_SMTPUTF8		0x2	/* needs the server's SMTPUTF8 */

struct d_rrcpt {
	char		addr[ADDR_MAX + 1];	/* where to deliver */
	char		orcpt[ADDR_MAX + 1];	/* for logs: before aliases */
	char		dsn_orcpt[ENV_ORCPT_MAX + 1]; /* ORCPT "rfc822;a@b", or "" */
	uint32_t	notify;		/* ENV_NOTIFY_* bits, 0: not given */
};

struct d_rjob {
	char		 qid[QID_LEN + 1];
	char		 sender[ADDR_MAX + 1];
	char		 nexthop[D_NEXTHOP_MAX + 1];
	uint64_t	 offset;	/* the message's bytes in the fd */
	uint64_t	 size;
	uint64_t	 arrival_us;
	uint64_t	 active_us;
	uint32_t	 flags;		/* D_RJOB_* */
	uint32_t	 ret;		/* ENV_RET_*, 0: not given */
	char		 envid[ADDR_MAX + 1];	/* ENVID, or "" */
	uint32_t	 nrcpt;		/* 1..D_RJOB_RCPT_MAX */
	struct d_rrcpt	*rcpt;
};

#define D_MTA_MAX	255

struct d_rrcpt_result {
	uint32_t	status;		/* ST_OK, ST_TEMP, ST_PERM */
	/* For logs and the envelope: "host H[A] said: 550 5.1.1 ... (in
	   reply to RCPT TO command)", or why no server was reached. */
	char		text[PROTO_TEXT_MAX];
	char		mta[D_MTA_MAX + 1];	/* the server's name, or "" */
	char		diag[PROTO_TEXT_MAX];	/* its reply as sent, or "" */
};

struct d_rresult {
	uint32_t		 nrcpt;
	struct d_rrcpt_result	*r;
};

/*
 * R_ROUTE asks resolverd where mail for a domain goes; R_ROUTE_REPLY
 * answers with its exchangers' addresses in the order to try them
 * (preference, random among equals; IPv4 before IPv6 of one exchanger),
 * or why there is none: ST_TEMP (DNS did not answer: defer) or ST_PERM
 * (no such domain, null MX, no address: bounce), with the enhanced
 * status code and the text in Postfix's words.
 */
#define R_ROUTE_HOPS_MAX	40	/* addresses of one route */
#define R_HOST_MAX		255
/*
 * R_ROUTE_DANE (the same request) asks for DANE's facts too (RFC 7672
 * 2.2): per hop whether DNSSEC validated its MX and address answers
 * and what TLSA records it has; R_ROUTE's hops say R_DANE_NONE.
 */
#define R_TLSA_MAX		8	/* records of one hop */
#define R_TLSA_DATA_MAX		64	/* digests; 0 bytes: too long to keep */

enum r_dane {
	R_DANE_NONE = 0,	/* no validated TLSA records: no DANE */
	R_DANE_TLSA,		/* validated, with tlsa[] */
	R_DANE_FAIL,		/* validated host, TLSA lookup failed */
};

struct r_tlsa {
	uint32_t	usage, selector, mtype;	/* 0..255 each */
	uint32_t	len;			/* 0..R_TLSA_DATA_MAX */
	uint8_t		data[R_TLSA_DATA_MAX];
};

struct r_hop {
	char		host[R_HOST_MAX + 1];	/* LDH labels, lowercase */
	uint32_t	pref;			/* 0..65535 */
	uint32_t	family;			/* 4 or 6 */
	uint8_t		addr[16];		/* network order; v4: 4 bytes */
	uint32_t	dane;			/* enum r_dane */
	uint32_t	ntlsa;			/* R_DANE_TLSA: 1..R_TLSA_MAX */
	struct r_tlsa	tlsa[R_TLSA_MAX];
};

struct r_route {
	uint32_t	status;			/* ST_OK, ST_TEMP, ST_PERM */
	char		dsn[16];		/* "5.1.10"; "" with ST_OK */
	char		text[PROTO_TEXT_MAX];
	uint32_t	implicit;		/* no MX: the domain itself */
	uint32_t	n;			/* ST_OK: 1..R_ROUTE_HOPS_MAX */
	struct r_hop	hop[R_ROUTE_HOPS_MAX];
};

/*
 * K_SIGN: one signature with one of keyd's keys, named as the config
 * names its file. A request carries a digest (RSA, ECDSA: the client
 * hashed the message; keyd pads and signs it and never performs a raw
 * private-key operation on bytes of the client's choosing) or, for
 * Ed25519, which signs the message itself, the message: a TLS 1.3
 * CertificateVerify input is under 200 bytes and a TLS 1.2 key exchange
 * under K_TBS_MAX. The reply carries the signature or why there is none.
 */
enum k_alg {
	K_ALG_RSA_PKCS1 = 1,	/* PKCS#1 v1.5 over a DigestInfo */
	K_ALG_RSA_PSS,		/* PSS, MGF1 with the same digest */
	K_ALG_ECDSA,		/* DER ECDSA-Sig-Value */
	K_ALG_ED25519,		/* pure EdDSA over the message */
};

enum k_status {
	K_OK = 0,
	K_NOKEY,		/* no key of that name and kind */
	K_FAIL,			/* the signature could not be made */
};

#define K_NAME_MAX	255		/* a key file's path */
#define K_MD_MAX	15		/* "SHA256", "SHA384", "SHA512", ... */
#define K_TBS_MAX	4096		/* a digest, or Ed25519's message */
#define K_SIG_MAX	1024		/* RSA 8192 */

struct k_sign {
	uint32_t	alg;		/* K_ALG_* */
	char		name[K_NAME_MAX + 1];
	char		md[K_MD_MAX + 1];	/* "" for Ed25519 */
	uint32_t	saltlen;	/* PSS only: the salt's bytes */
	size_t		len;
	unsigned char	data[K_TBS_MAX];
};

struct k_sign_reply {
	uint32_t	status;		/* K_OK, K_NOKEY, K_FAIL */
	size_t		len;
	unsigned char	sig[K_SIG_MAX];
};

/* Each encoder fills an initialised message; each decoder checks every byte. */
int	proto_enc_q_err(struct ipc_msg *, uint32_t status, const char *text);
int	proto_dec_q_err(const struct ipc_msg *, struct q_err *);
int	proto_enc_q_file(struct ipc_msg *, const char *qid, int fd);
int	proto_dec_q_file(const struct ipc_msg *, char qid[QID_LEN + 1]);
int	proto_enc_q_commit(struct ipc_msg *, const struct q_commit *);
/* Allocates c->rcpt, notify, orcpt; free with proto_q_commit_free. */
int	proto_dec_q_commit(const struct ipc_msg *, struct q_commit *,
	    uint32_t max_rcpt);
void	proto_q_commit_free(struct q_commit *);
int	proto_enc_q_ok(struct ipc_msg *, const char *qid);
int	proto_dec_q_ok(const struct ipc_msg *, char qid[QID_LEN + 1]);

/*
 * Q_CTL_ENTRY: one queued message as its envelope record (envelope.h text)
 * and the size of its message file. Q_CTL_DELETE carries a queue id.
 */
int	proto_enc_q_ctl_entry(struct ipc_msg *, const char *envtext,
	    uint64_t size);
/* Allocates *envtext. */
int	proto_dec_q_ctl_entry(const struct ipc_msg *, char **envtext,
	    uint64_t *size);
int	proto_enc_q_ctl_delete(struct ipc_msg *, const char *qid);
int	proto_dec_q_ctl_delete(const struct ipc_msg *, char qid[QID_LEN + 1]);

/*
 * Q_CTL_FLUSH: an empty body retries every deferred recipient now; a
 * domain (lower case) only the deferred recipients in that domain.
 */
#define Q_CTL_DOMAIN_MAX	255
int	proto_enc_q_ctl_flush(struct ipc_msg *, const char *domain);
int	proto_dec_q_ctl_flush(const struct ipc_msg *,
	    char domain[Q_CTL_DOMAIN_MAX + 1]);

/*
 * Q_CTL_OP: one operation on up to Q_CTL_OP_MAX queue ids (the command
 * sends longer lists in several frames). Q_CTL_DONE answers with how many
 * were done and the ids that are not in the queue.
 */
enum q_ctl_opcode {
	Q_OP_DELETE = 1,
	Q_OP_HOLD,
	Q_OP_RELEASE,
	Q_OP_REQUEUE,
	Q_OP_FLUSH,
};
#define Q_CTL_OP_MAX	4096

struct q_ctl_ids {
	uint32_t	  n;
	char		(*id)[QID_LEN + 1];
};

int	proto_enc_q_ctl_op(struct ipc_msg *, uint32_t op,
	    const struct q_ctl_ids *);
/* Allocates ids->id; free with proto_q_ctl_ids_free. */
int	proto_dec_q_ctl_op(const struct ipc_msg *, uint32_t *op,
	    struct q_ctl_ids *);
int	proto_enc_q_ctl_done(struct ipc_msg *, uint32_t ndone,
	    const struct q_ctl_ids *missing);
int	proto_dec_q_ctl_done(const struct ipc_msg *, uint32_t *ndone,
	    struct q_ctl_ids *missing);
void	proto_q_ctl_ids_free(struct q_ctl_ids *);

int	proto_enc_r_check(struct ipc_msg *, const char *addr);
int	proto_dec_r_check(const struct ipc_msg *, char *addr, size_t);
int	proto_enc_r_check_reply(struct ipc_msg *, uint32_t verdict,
	    const char *text);
int	proto_dec_r_check_reply(const struct ipc_msg *, uint32_t *verdict,
	    char *text, size_t);
int	proto_enc_r_expand(struct ipc_msg *, const char *addr);
int	proto_dec_r_expand(const struct ipc_msg *, char *addr, size_t);
int	proto_enc_r_expansion(struct ipc_msg *, const struct r_expansion *);
int	proto_dec_r_expansion(const struct ipc_msg *, struct r_expansion *);
void	proto_r_expansion_free(struct r_expansion *);

int	proto_enc_a_auth(struct ipc_msg *, const struct a_auth *);
int	proto_dec_a_auth(const struct ipc_msg *, struct a_auth *);
int	proto_enc_a_auth_reply(struct ipc_msg *, const struct a_auth_reply *);
int	proto_dec_a_auth_reply(const struct ipc_msg *, struct a_auth_reply *);
int	proto_enc_a_bind(struct ipc_msg *, const struct a_bind *);
int	proto_dec_a_bind(const struct ipc_msg *, struct a_bind *);
int	proto_enc_a_rate(struct ipc_msg *, const struct a_rate *);
int	proto_dec_a_rate(const struct ipc_msg *, struct a_rate *);
int	proto_enc_a_rate_reply(struct ipc_msg *, const struct a_rate_reply *);
int	proto_dec_a_rate_reply(const struct ipc_msg *, struct a_rate_reply *);
int	proto_enc_a_rate_list(struct ipc_msg *, const struct a_rate_list *);
int	proto_dec_a_rate_list(const struct ipc_msg *, struct a_rate_list *);
/* R_OWNER: may login (canonical user@domain) use addr as its sender? */
int	proto_enc_r_owner(struct ipc_msg *, const char *addr, const char *login);
int	proto_dec_r_owner(const struct ipc_msg *, char *addr, size_t addrsz,
	    char *login, size_t loginsz);
int	proto_enc_r_owner_reply(struct ipc_msg *, uint32_t verdict);
int	proto_dec_r_owner_reply(const struct ipc_msg *, uint32_t *verdict);

/* R_ROUTE carries a domain (a host name, at most R_HOST_MAX bytes). */
int	proto_enc_r_route(struct ipc_msg *, const char *domain);
int	proto_dec_r_route(const struct ipc_msg *, char domain[R_HOST_MAX + 1]);
int	proto_enc_r_route_reply(struct ipc_msg *, const struct r_route *);
int	proto_dec_r_route_reply(const struct ipc_msg *, struct r_route *);
/* A name fit for R_ROUTE and r_hop: LDH labels and dots, 1..255 bytes. */
int	proto_hostname_ok(const char *);

/*
 * K_SIGN's decoder checks the algorithm, the name's and digest name's
 * characters (printable, no space), the sizes (a digest 20..64 bytes
 * with a digest name; Ed25519 1..K_TBS_MAX bytes without one; a salt
 * no longer than 64 bytes). The reply's: status, and a signature only
 * with K_OK.
 */
int	proto_enc_k_sign(struct ipc_msg *, const struct k_sign *);
int	proto_dec_k_sign(const struct ipc_msg *, struct k_sign *);
int	proto_enc_k_sign_reply(struct ipc_msg *, const struct k_sign_reply *);
int	proto_dec_k_sign_reply(const struct ipc_msg *, struct k_sign_reply *);

int	proto_enc_d_hello(struct ipc_msg *, uint32_t transport);
int	proto_dec_d_hello(const struct ipc_msg *, uint32_t *transport);
int	proto_enc_d_job(struct ipc_msg *, const struct d_job *, int fd);
int	proto_dec_d_job(const struct ipc_msg *, struct d_job *);
int	proto_enc_d_result(struct ipc_msg *, const struct d_result *);
int	proto_dec_d_result(const struct ipc_msg *, struct d_result *);
int	proto_enc_d_rjob(struct ipc_msg *, const struct d_rjob *, int fd);
/* Allocates j->rcpt; free with proto_d_rjob_free. */
int	proto_dec_d_rjob(const struct ipc_msg *, struct d_rjob *);
void	proto_d_rjob_free(struct d_rjob *);
int	proto_enc_d_rresult(struct ipc_msg *, const struct d_rresult *);
/* Allocates d->r; free with proto_d_rresult_free. */
int	proto_dec_d_rresult(const struct ipc_msg *, struct d_rresult *);
void	proto_d_rresult_free(struct d_rresult *);

#endif
