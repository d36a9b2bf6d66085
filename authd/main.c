/*
 * main.c - authd: answers "is this password right?" (A_AUTH on
 * <spool>/private/auth.sock) for every protocol, and paces failures per
 * client address and per account for all of them at once.
 *
 * Started by master as root, it reads postern.conf and drops to
 * auth_user at once; from then on it holds the listening socket master
 * handed down and the password map (passwd.db, 0600 auth_user), read-
 * only. It is the only process that can read a password hash. Its
 * clients are root's (the socket is 0600 root): the login daemons'
 * parents, which take the client address from accept(2), and postern
 * auth test. They are trusted to say honestly where a login came from,
 * not to send well-formed frames: every field is decoded and checked,
 * and a malformed frame closes that client.
 *
 * One epoll loop; the hashes (yescrypt: tens of milliseconds and 16 MiB
 * each) run on auth_workers threads (workq), each given a copy of one
 * request and nothing else. The order of a request, and why:
 *   1. the address pacing (auth_pace.c): a blocked address is refused
 *      before anything else, so a crowd of guessers costs no hash and
 *      no worker that a good login needs;
 *   2. the map lookup (the canonical key and the stored hash);
 *   3. the cache of recent good logins (auth_cache.c): a hit answers at
 *      once, without a hash;
 *   4. the account pacing: past its limit, an attempt on the account
 *      waits its turn on a timer (never a sleep, never a worker);
 *   5. the hash on a worker; its verdict updates both pacing tables
 *      and, on success, the cache.
 * Every copy of the password (the frame, the input buffer, the request)
 * is wiped when the request ends, whatever the outcome.
 *
 * The pacing state and the cache live in this process: a restart of a
 * login daemon keeps them; a restart of authd forgets them (nothing is
 * written to disk, which would need a writable directory for a process
 * whose only other access is one read-only file).
 */
#include <sys/queue.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "authd.h"
#include "conf.h"
#include "daemon.h"
#include "evloop.h"
#include "ipc.h"
#include "log.h"
#include "map.h"
#include "peer.h"
#include "priv.h"
#include "proc.h"
#include "proto.h"
#include "workq.h"

/*
 * The login daemons' parents and the odd postern: these many, plus one
 * bound connection per smtpd session that may authenticate
 * (smtpd_max_sessions).
 */
#define AD_CLIENTS	64
/* A client that asks without reading its answers is cut off here. */
#define AD_OUT_MAX	(1024 * 1024)
/* One request: a few names and a password. */
#define AD_FRAME_MAX	4096

enum ad_state {
	AD_NEW,
	AD_WAIT_ADDR,	/* in ad_waitq: attempts in flight from its address */
	AD_WAIT_ACCT,	/* on a timer: its account's turn */
	AD_HASHING,	/* on a worker */
};

/*
 * A connection. One that smtpd's listener bound (A_BIND, its first
 * frame) serves one SMTP session: the protocol and client address are
 * the binding's, and A_RATE counts for the user who logged in on it.
 */
struct ad_client {
	struct peer	*peer;
	int		 framed;	/* a frame came: too late to bind */
	int		 bound;
	char		 proto[A_AUTH_PROTO_MAX + 1];
	char		 client[A_AUTH_CLIENT_MAX + 1];
	char		 login[ADDR_MAX + 1];	/* canonical; "" none yet */
};

struct ad_req {
	TAILQ_ENTRY(ad_req)	 entry;		/* ad_reqs, or ad_waitq */
	struct peer		*peer;		/* NULL once it went away */
	enum ad_state		 state;
	/* Set by the loop when the client left: the hash is skipped. */
	_Atomic int		 gone;
	int			 skipped;
	int			 paced;		/* counted in flight (address) */
	int			 acct_counted;	/* counted in flight (account) */
	unsigned		 wait_round;
	struct ev_timer		*timer;
	uint32_t		 id;
	uint32_t		 verdict;
	char			 proto[A_AUTH_PROTO_MAX + 1];
	char			 client[A_AUTH_CLIENT_MAX + 1];
	char			 user[ADDR_MAX + 1];	/* as typed, for the log */
	char			 key[ADDR_MAX + 1];
	char			 hash[MAP_VALUE_MAX];
	char			 password[A_AUTH_SECRET_MAX + 1];
};
TAILQ_HEAD(ad_reqs, ad_req);

static struct conf	 ad_conf;
static const char	*ad_conf_path;
static struct evloop	*ad_loop;
static struct workq	*ad_workq;
static struct auth_map	 ad_map;
static struct auth_pace	*ad_pace;
static struct auth_cache *ad_cache;
static struct auth_rate	*ad_rate;
static size_t		 ad_max_clients = AD_CLIENTS;
/* Requests past the address check; ad_waitq those waiting for it. */
static struct ad_reqs	 ad_reqs = TAILQ_HEAD_INITIALIZER(ad_reqs);
static struct ad_reqs	 ad_waitq = TAILQ_HEAD_INITIALIZER(ad_waitq);
static unsigned		 ad_wait_round;
static int		 ad_lfd = -1;
static int		 ad_listening;
static size_t		 ad_nclients;
static time_t		 ad_full_logged = -60;

static void	ad_accept(int fd, int events, void *arg);
static void	ad_try(struct ad_req *);

static time_t
ad_now(void)
{
	return (time_t)(evloop_now_ms() / 1000);
}

static void
ad_listen(int on)
{
	if (on && !ad_listening) {
		if (evloop_io(ad_loop, ad_lfd, EV_READ, ad_accept, NULL) == -1)
			fatal("evloop_io");
		ad_listening = 1;
	} else if (!on && ad_listening) {
		evloop_io_del(ad_loop, ad_lfd);
		ad_listening = 0;
	}
}

static void
ad_resume(void *arg)
{
	ad_listen(ad_nclients < ad_max_clients);
}

static void
ad_req_free(struct ad_req *r)
{
	if (r->timer != NULL)
		evloop_timer_cancel(ad_loop, r->timer);
	explicit_bzero(r, sizeof(*r));
	free(r);
}

static const char *
ad_result_name(uint32_t verdict)
{
	switch (verdict) {
	case A_AUTH_OK:
		return "ok";
	case A_AUTH_FAIL:
		return "fail";
	case A_AUTH_LIMIT:
		return "refused";
	default:
		return "tempfail";
	}
}

/* Logs a verdict and answers it; nothing if the client went away. */
static void
ad_answer(struct ad_req *r, uint32_t verdict, const char *why)
{
	struct a_auth_reply	 ar;
	struct ipc_msg		 reply;

	/* Never the password; the user name is escaped by log_info. */
	if (r->peer == NULL) {
		log_info("auth: user=<%s> client gone, %s", r->user,
		    r->skipped ? "not checked" : "not answered");
		return;
	}
	log_info("auth: user=<%s> result=%s%s%s, proto=%s, client=[%s]",
	    r->user, ad_result_name(verdict), why[0] != '\0' ? " " : "", why,
	    r->proto, r->client);
	memset(&ar, 0, sizeof(ar));
	ar.verdict = verdict;
	if (verdict == A_AUTH_OK) {
		struct ad_client *cl = r->peer->ctx;

		strlcpy(ar.user, r->key, sizeof(ar.user));
		/* What A_RATE counts against on this connection from now. */
		if (cl->bound)
			strlcpy(cl->login, r->key, sizeof(cl->login));
	}
	ipc_msg_init(&reply, A_AUTH_REPLY, r->id);
	if (proto_enc_a_auth_reply(&reply, &ar) == -1) {
		ipc_msg_free(&reply);
		log_warn("encode A_AUTH_REPLY");
		peer_close(r->peer);
		return;
	}
	if (peer_send(r->peer, &reply) == -1)
		log_warn("reply to a client");
	ipc_msg_free(&reply);
}

/*
 * Requests that waited for attempts in flight try again, oldest first;
 * any address's attempt ending may be the one they waited for (IPv6
 * counts per /64), and trying is cheap. Each waiter once per round: one
 * that must wait again goes to the back, marked with this round.
 */
static void
ad_wake(void)
{
	static int	 waking, again;
	struct ad_req	*r;
	unsigned	 round;

	if (waking) {
		again = 1;
		return;
	}
	waking = 1;
	do {
		again = 0;
		round = ++ad_wait_round;
		for (;;) {
			TAILQ_FOREACH(r, &ad_waitq, entry)
				if (r->wait_round != round)
					break;
			if (r == NULL)
				break;
			TAILQ_REMOVE(&ad_waitq, r, entry);
			r->wait_round = round;
			ad_try(r);
		}
	} while (again);
	waking = 0;
}

/*
 * The end of a request past the address check: both tables learn its
 * verdict (a refusal or temporary failure teaches them nothing), and
 * requests waiting for its address may go.
 */
static void
ad_finish(struct ad_req *r, uint32_t verdict, const char *why)
{
	int failed = verdict == A_AUTH_FAIL, ok = verdict == A_AUTH_OK;

	TAILQ_REMOVE(&ad_reqs, r, entry);
	ad_answer(r, verdict, why);
	if (r->paced) {
		auth_pace_addr_end(ad_pace, r->client, ad_now(),
		    ad_conf.auth_failure_window, failed, ok);
		auth_pace_acct_end(ad_pace, r->key, r->client, evloop_now_ms(),
		    ad_conf.auth_account_failure_limit,
		    ad_conf.auth_failure_window, r->acct_counted,
		    failed ? AUTH_PACE_FAILED : ok ? AUTH_PACE_OK :
		    AUTH_PACE_OTHER);
		ad_wake();
	}
	ad_req_free(r);
}

/* On a worker: the hash, and nothing of the request outlives it. */
static void
ad_work(void *arg)
{
	struct ad_req *r = arg;

	/* Nobody would hear the answer: a backlog of those delays others. */
	if ((r->skipped = r->gone))
		r->verdict = A_AUTH_TEMPFAIL;
	else
		r->verdict = auth_verdict(r->key, r->hash, r->password);
}

static void
ad_work_done(void *arg)
{
	struct ad_req *r = arg;

	if (r->verdict == A_AUTH_OK)
		auth_cache_put(ad_cache, r->key, r->hash, r->password,
		    evloop_now_ms());
	if (r->key[0] != '\0' && auth_locked(r->hash))
		log_info("auth: user=<%s> is locked", r->key);
	/* Skipped: neither a failure nor a success, the pacing ignores it. */
	if (r->skipped)
		r->verdict = A_AUTH_TEMPFAIL;
	ad_finish(r, r->verdict, "");
}

static void
ad_hash(struct ad_req *r)
{
	r->state = AD_HASHING;
	if (workq_run(ad_workq, ad_work, ad_work_done, r) == -1)
		ad_finish(r, A_AUTH_TEMPFAIL, "(out of memory)");
}

static void
ad_acct_turn(void *arg)
{
	struct ad_req *r = arg;

	r->timer = NULL;
	ad_hash(r);
}

/* Steps 2 to 5: the address let this request go (or there is none). */
static void
ad_check(struct ad_req *r)
{
	long wait;

	TAILQ_INSERT_TAIL(&ad_reqs, r, entry);
	if (auth_map_lookup(&ad_map, r->user, r->key, sizeof(r->key),
	    r->hash, sizeof(r->hash)) == -1) {
		ad_finish(r, A_AUTH_TEMPFAIL, "(the password map cannot be "
		    "read)");
		return;
	}
	if (r->key[0] != '\0' && !auth_locked(r->hash) &&
	    auth_cache_hit(ad_cache, r->key, r->hash, r->password,
	    evloop_now_ms(), (uint64_t)ad_conf.auth_cache_ttl * 1000)) {
		ad_finish(r, A_AUTH_OK, "(cached)");
		return;
	}
	if (r->client[0] == '\0')
		wait = 0;
	else
		wait = auth_pace_acct_wait(ad_pace, r->key, r->client,
		    evloop_now_ms(), ad_conf.auth_account_failure_limit,
		    ad_conf.auth_failure_window,
		    (long)ad_conf.auth_account_delay * 1000, &r->acct_counted);
	if (wait < 0) {
		ad_finish(r, A_AUTH_LIMIT, "(too many failed logins for the "
		    "account)");
		return;
	}
	if (wait > 0) {
		log_info("auth: user=<%s> has %ld failed logins: checked in "
		    "%ld ms", r->key, auth_pace_acct_failures(ad_pace, r->key,
		    evloop_now_ms(), ad_conf.auth_failure_window), wait);
		r->state = AD_WAIT_ACCT;
		if ((r->timer = evloop_timer(ad_loop, (uint64_t)wait,
		    ad_acct_turn, r)) == NULL)
			ad_finish(r, A_AUTH_TEMPFAIL, "(out of memory)");
		return;
	}
	ad_hash(r);
}

/* Step 1: the address. r is in no list. */
static void
ad_try(struct ad_req *r)
{
	if (r->client[0] == '\0') {
		ad_check(r);
		return;
	}
	switch (auth_pace_addr_begin(ad_pace, r->client, ad_now(),
	    ad_conf.auth_failure_limit, ad_conf.auth_failure_window)) {
	case AUTH_PACE_BLOCKED:
		ad_answer(r, A_AUTH_LIMIT, "(too many failed logins from the "
		    "address)");
		ad_req_free(r);
		return;
	case AUTH_PACE_FULL:
		/* Failing closed is the point; one line a minute says so. */
		if (ad_now() - ad_full_logged >= 60) {
			ad_full_logged = ad_now();
			log_warnx("the failed-login table is full of blocked "
			    "addresses: refusing logins from new addresses");
		}
		ad_answer(r, A_AUTH_TEMPFAIL, "(failed-login table full)");
		ad_req_free(r);
		return;
	case AUTH_PACE_WAIT:
		r->state = AD_WAIT_ADDR;
		TAILQ_INSERT_TAIL(&ad_waitq, r, entry);
		return;
	}
	r->paced = 1;
	ad_check(r);
}

/* Whether s is a protocol name: a few lower-case letters or digits. */
static int
ad_proto_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9')))
			return 0;
	return 1;
}

/* Whether s could be a numeric address (it is logged and a key). */
static int
ad_client_ok(const char *s)
{
	for (; *s != '\0'; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		    (*s >= 'A' && *s <= 'F') || *s == '.' || *s == ':'))
			return 0;
	return 1;
}

/*
 * A_AUTH. The password is in the frame, in the decoded request and in
 * what is left of the connection's input buffer: the first two are
 * wiped before we return, the request's copy when it ends.
 */
static int
ad_request(struct peer *p, struct ipc_msg *m)
{
	struct ad_client *cl = p->ctx;
	struct a_auth	 a;
	struct ad_req	*r;
	int		 rc = -1;

	if (proto_dec_a_auth(m, &a) == -1)
		goto done;
	/* A bound session says nothing of where it is: the binding does. */
	if (cl->bound) {
		strlcpy(a.proto, cl->proto, sizeof(a.proto));
		strlcpy(a.client, cl->client, sizeof(a.client));
	}
	if (!ad_proto_ok(a.proto) || !ad_client_ok(a.client))
		goto done;
	rc = 0;
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		/* No memory: a temporary error, from a request of our own. */
		static struct ad_req oom;

		log_warn("new request");
		memset(&oom, 0, sizeof(oom));
		oom.peer = p;
		oom.id = m->id;
		strlcpy(oom.proto, a.proto, sizeof(oom.proto));
		strlcpy(oom.client, a.client, sizeof(oom.client));
		strlcpy(oom.user, a.user, sizeof(oom.user));
		ad_answer(&oom, A_AUTH_TEMPFAIL, "(out of memory)");
		goto done;
	}
	r->peer = p;
	r->id = m->id;
	r->wait_round = ad_wait_round;
	strlcpy(r->proto, a.proto, sizeof(r->proto));
	strlcpy(r->client, a.client, sizeof(r->client));
	strlcpy(r->user, a.user, sizeof(r->user));
	strlcpy(r->password, a.password, sizeof(r->password));
	ad_try(r);
done:
	explicit_bzero(&a, sizeof(a));
	if (m->body.data != NULL)
		explicit_bzero(m->body.data, m->body.cap);
	return rc;
}

/* A_BIND: smtpd's listener, before the session has the connection. */
static int
ad_bind(struct ad_client *cl, struct ipc_msg *m)
{
	struct a_bind b;

	if (cl->framed || proto_dec_a_bind(m, &b) == -1 ||
	    !ad_proto_ok(b.proto) || b.client[0] == '\0' ||
	    !ad_client_ok(b.client))
		return -1;
	cl->bound = 1;
	strlcpy(cl->proto, b.proto, sizeof(cl->proto));
	strlcpy(cl->client, b.client, sizeof(cl->client));
	return 0;
}

static void
ad_rate_log(const struct ad_client *cl, const struct a_rate_reply *ar)
{
	log_info("limit: user=<%s> reached %s (%u of %u), proto=%s, "
	    "client=[%s]", cl->login, ar->which == A_RATE_MESSAGES ?
	    "auth_messages_per_day" : "auth_recipients_per_hour", ar->used,
	    ar->limit, cl->proto, cl->client);
}

/* A_RATE: a bound connection's login, and nobody else's counts. */
static int
ad_rate_request(struct peer *p, struct ipc_msg *m)
{
	struct ad_client	*cl = p->ctx;
	struct a_rate		 a;
	struct a_rate_reply	 ar;
	struct ipc_msg		 reply;
	time_t			 now = time(NULL);
	int			 rc = 0;

	if (!cl->bound || proto_dec_a_rate(m, &a) == -1)
		return -1;
	memset(&ar, 0, sizeof(ar));
	if (cl->login[0] == '\0')
		ar.verdict = A_RATE_TEMPFAIL;
	else if (a.op == A_RATE_MAIL)
		auth_rate_mail(ad_rate, cl->login, now,
		    ad_conf.auth_messages_per_day, &ar);
	else if (a.op == A_RATE_RCPT)
		auth_rate_rcpt(ad_rate, cl->login, now, a.n,
		    ad_conf.auth_recipients_per_hour, &ar);
	else
		auth_rate_sent(ad_rate, cl->login, now,
		    ad_conf.auth_messages_per_day);
	if (ar.verdict == A_RATE_OVER)
		ad_rate_log(cl, &ar);
	else if (ar.verdict == A_RATE_TEMPFAIL && cl->login[0] != '\0')
		log_warnx("limit: user=<%s> cannot be counted: %d accounts "
		    "are counted already", cl->login, AUTH_RATE_ACCOUNTS);
	ipc_msg_init(&reply, A_RATE_REPLY, m->id);
	if (proto_enc_a_rate_reply(&reply, &ar) == -1 ||
	    peer_send(p, &reply) == -1)
		rc = -1;
	ipc_msg_free(&reply);
	return rc;
}

/* A_RATE_LIST: postern's view of who is near a limit. */
static int
ad_rate_list(struct peer *p, struct ipc_msg *m)
{
	struct ad_client	*cl = p->ctx;
	struct a_rate_list	*l;
	struct ipc_msg		 reply;
	int			 rc = -1;

	if (cl->bound || m->body.len != 0 ||
	    (l = malloc(sizeof(*l))) == NULL)
		return -1;
	if (auth_rate_list(ad_rate, time(NULL), ad_conf.auth_messages_per_day,
	    ad_conf.auth_recipients_per_hour, l) == 0) {
		ipc_msg_init(&reply, A_RATE_LIST_REPLY, m->id);
		if (proto_enc_a_rate_list(&reply, l) == 0 &&
		    peer_send(p, &reply) == 0)
			rc = 0;
		ipc_msg_free(&reply);
	}
	free(l);
	return rc;
}

static int
ad_dispatch(struct peer *p, struct ipc_msg *m)
{
	struct ad_client	*cl = p->ctx;
	int			 first = !cl->framed;

	cl->framed = 1;
	switch (m->type) {
	case A_AUTH:
		return ad_request(p, m);
	case A_BIND:
		cl->framed = !first;
		if (ad_bind(cl, m) == -1)
			return -1;
		cl->framed = 1;
		return 0;
	case A_RATE:
		return ad_rate_request(p, m);
	case A_RATE_LIST:
		return ad_rate_list(p, m);
	default:
		return -1;
	}
}

static void
ad_client_msg(struct peer *p, struct ipc_msg *m)
{
	if (p->c.out.len > AD_OUT_MAX) {
		log_warnx("a client does not read its answers; closing it");
		goto drop;
	}
	if (ad_dispatch(p, m) == -1) {
		log_warnx("malformed or unexpected frame (type %u) on the "
		    "auth socket; closing the client", m->type);
		goto drop;
	}
	/* The frame's bytes may linger past the end of the input buffer. */
	if (p->c.in.data != NULL && p->c.in.cap > p->c.in.len)
		explicit_bzero(p->c.in.data + p->c.in.len,
		    p->c.in.cap - p->c.in.len);
	ipc_msg_free(m);
	return;
drop:
	/* Whatever it was, it may have carried a password. */
	if (m->body.data != NULL)
		explicit_bzero(m->body.data, m->body.cap);
	ipc_msg_free(m);
	peer_close(p);
}

/* The client's requests end unanswered; a hash under way is skipped. */
static void
ad_client_closed(struct peer *p)
{
	struct ad_client	*cl = p->ctx;
	struct ad_req		*r, *next;

	for (r = TAILQ_FIRST(&ad_waitq); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->peer == p) {
			TAILQ_REMOVE(&ad_waitq, r, entry);
			ad_req_free(r);
		}
	}
	for (r = TAILQ_FIRST(&ad_reqs); r != NULL; r = next) {
		next = TAILQ_NEXT(r, entry);
		if (r->peer != p)
			continue;
		r->peer = NULL;
		r->gone = 1;
		if (r->state == AD_WAIT_ACCT)
			ad_finish(r, A_AUTH_TEMPFAIL, "(client gone)");
	}
	explicit_bzero(cl, sizeof(*cl));
	free(cl);
	if (ad_nclients-- == ad_max_clients)
		ad_listen(1);
}

static void
ad_accept(int fd, int events, void *arg)
{
	struct ad_client	*cl;
	int			 c;

	while (ad_nclients < ad_max_clients) {
		c = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (c == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				return;
			/* Out of descriptors: do not spin on the listener. */
			log_warn("accept");
			ad_listen(0);
			if (evloop_timer(ad_loop, 1000, ad_resume, NULL) ==
			    NULL)
				fatal("evloop_timer");
			return;
		}
		if ((cl = calloc(1, sizeof(*cl))) == NULL ||
		    (cl->peer = peer_new(ad_loop, c, AD_FRAME_MAX,
		    ad_client_msg, ad_client_closed, cl)) == NULL) {
			log_warn("new client");
			free(cl);
			close(c);
			continue;
		}
		ad_nclients++;
	}
	log_warnx("%zu clients on the auth socket: not accepting more for "
	    "now", ad_max_clients);
	ad_listen(0);
}

static void
ad_reload(void)
{
	if (daemon_conf_reload(&ad_conf, ad_conf_path) == -1)
		return;
	auth_map_close(&ad_map);
	if (auth_map_init(&ad_map, &ad_conf) == -1)
		fatalx("map_directory %s: path too long",
		    ad_conf.map_directory);
	auth_map_refresh(&ad_map);
	/* The workers stay as they are: auth_workers needs a restart. */
	log_info("configuration reloaded");
}

static int
ad_nworkers(const struct conf *c)
{
	long n = c->auth_workers;

	if (n == 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	if (n > 64)
		n = 64;
	return (int)n;
}

int
main(int argc, char *argv[])
{
	static const char *const names[] = { "auth", NULL };
	unsigned char		key[AUTH_CACHE_KEYLEN];
	struct daemon_args	args;
	struct priv_user	u;
	int			sigfd, nworkers;

	daemon_init("authd", names, argc, argv, &args, &ad_conf);
	ad_conf_path = args.confpath;
	if ((ad_lfd = daemon_socket(&args, "auth")) == -1)
		fatalx("master passed no socket (-s auth:FD)");
	if (priv_lookup(ad_conf.auth_user, &u) == -1)
		fatal("user %s", ad_conf.auth_user);
	priv_drop(&u, NULL);
	/* Signals arrive as loop events, never in the middle of a check. */
	sigfd = daemon_signalfd(0);

	if (auth_map_init(&ad_map, &ad_conf) == -1)
		fatalx("map_directory %s: path too long",
		    ad_conf.map_directory);
	auth_map_refresh(&ad_map);
	if (getrandom(key, sizeof(key), 0) != (ssize_t)sizeof(key))
		fatal("getrandom");
	if ((ad_pace = auth_pace_new(AUTH_PACE_ADDR_SLOTS,
	    AUTH_PACE_ACCT_SLOTS)) == NULL ||
	    (ad_cache = auth_cache_new(AUTH_CACHE_SLOTS, key)) == NULL ||
	    (ad_rate = auth_rate_new(AUTH_RATE_ACCOUNTS)) == NULL)
		fatal("pacing, cache and limit tables");
	/* smtpd_max_sessions does not change until a restart either. */
	ad_max_clients = AD_CLIENTS + (size_t)ad_conf.smtpd_max_sessions;
	explicit_bzero(key, sizeof(key));

	if ((ad_loop = evloop_new()) == NULL)
		fatal("evloop_new");
	if (daemon_loop_signals(ad_loop, sigfd, ad_reload) == -1)
		fatal("evloop_io");
	nworkers = ad_nworkers(&ad_conf);
	ad_workq = workq_new(ad_loop, nworkers);
	/*
	 * Every thread is made: from now on nothing forks or clones. Not in
	 * a sanitizer build, whose leak check at exit clones a tracer.
	 */
#ifndef POSTERN_SANITIZE
	proc_harden(PROC_NOFORK);
#endif
	ad_listen(1);
	log_info("started as %s, %d hash worker%s, passwords in %s", u.name,
	    nworkers, nworkers == 1 ? "" : "s", ad_map.path);
	if (evloop_run(ad_loop) == -1)
		fatal("evloop_run");
	auth_map_close(&ad_map);
	auth_pace_free(ad_pace);
	auth_cache_free(ad_cache);
	auth_rate_free(ad_rate);
	conf_free(&ad_conf);
	return 0;
}
