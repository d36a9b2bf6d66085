/*
 * dns_client.c - DNS queries from resolverd's event loop.
 *
 * Runs in resolverd's loop thread; never blocks it: every socket is
 * non-blocking, every wait is a loop event with a timer. A query goes
 * over UDP from a fresh socket (a random source port from the kernel and
 * a random id: two guesses an off-path spoofer must make together) to
 * one server at a time, then to the next, for `attempts` rounds; an
 * answer with TC set is asked again over TCP. A packet that is not an
 * answer to our exact question is ignored and the wait goes on, so a
 * spoofed reply cannot end a query early. At most max_outstanding
 * queries are in flight; beyond that, and when no server answers, the
 * caller gets DNS_TEMPFAIL (mail is deferred, never bounced, for it).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "log.h"

/* No EDNS0: a longer answer comes by TCP; with it (dnssec), 1232 bytes. */
#define DNS_UDP_MAX	1232

struct dns_waiter {
	dns_answer_cb	 cb;
	void		*arg;
	struct dns_waiter *next;
};

struct dns_q {
	TAILQ_ENTRY(dns_q) link;
	struct dns_client *c;
	char		 name[DNS_NAME_MAX];
	uint16_t	 type;
	uint16_t	 id;
	int		 fd;
	int		 tcp;		/* TC seen: TCP from now on */
	unsigned	 sent;		/* servers tried so far */
	struct ev_timer	*timer;
	uint8_t		 query[DNS_UDP_MAX];
	size_t		 qlen;
	/* TCP: the length-prefixed query going out, the answer coming in */
	size_t		 tsent;
	uint8_t		 tlen[2];	/* the answer's length prefix */
	size_t		 tlengot;
	uint8_t		*tbuf;
	size_t		 tgot, twant;
	struct dns_waiter *waiters;
};

TAILQ_HEAD(dns_qlist, dns_q);

struct dns_client {
	struct evloop	*loop;
	struct dns_client_conf conf;
	struct dns_cache *cache;
	struct dns_qlist inflight;
	size_t		 n;
};

/* An answer handed over on the next loop turn, never from dns_query. */
struct dns_later {
	struct dns_answer a;
	dns_answer_cb	 cb;
	void		*arg;
};

static void	q_try(struct dns_q *);

struct dns_client *
dns_client_new(struct evloop *loop, const struct dns_client_conf *conf)
{
	struct dns_client *c;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	c->loop = loop;
	c->conf = *conf;
	if (c->conf.attempts == 0)
		c->conf.attempts = 1;
	if ((c->cache = dns_cache_new(conf->cache_entries)) == NULL) {
		free(c);
		return NULL;
	}
	TAILQ_INIT(&c->inflight);
	return c;
}

static void
q_close(struct dns_q *q)
{
	if (q->fd != -1) {
		evloop_io_del(q->c->loop, q->fd);
		close(q->fd);
		q->fd = -1;
	}
	if (q->timer != NULL) {
		evloop_timer_cancel(q->c->loop, q->timer);
		q->timer = NULL;
	}
	free(q->tbuf);
	q->tbuf = NULL;
	q->tgot = q->twant = q->tsent = q->tlengot = 0;
}

static void
q_free(struct dns_q *q)
{
	struct dns_waiter *w;

	q_close(q);
	while ((w = q->waiters) != NULL) {
		q->waiters = w->next;
		free(w);
	}
	TAILQ_REMOVE(&q->c->inflight, q, link);
	q->c->n--;
	free(q);
}

void
dns_client_free(struct dns_client *c)
{
	if (c == NULL)
		return;
	while (!TAILQ_EMPTY(&c->inflight))
		q_free(TAILQ_FIRST(&c->inflight));
	dns_cache_free(c->cache);
	free(c);
}

size_t
dns_client_outstanding(const struct dns_client *c)
{
	return c->n;
}

static uint64_t
now_s(void)
{
	return evloop_now_ms() / 1000;
}

/* Every waiter gets the answer; the query is gone afterwards. */
static void
q_finish(struct dns_q *q, const struct dns_answer *a)
{
	struct dns_waiter *w = q->waiters;

	dns_cache_put(q->c->cache, q->name, q->type, now_s(), a);
	q->waiters = NULL;
	q_free(q);
	while (w != NULL) {
		struct dns_waiter *next = w->next;

		w->cb(a, w->arg);
		free(w);
		w = next;
	}
}

static void
q_fail(struct dns_q *q)
{
	struct dns_answer *a;

	/* dns_answer is large (names of 32 exchangers): not on the stack. */
	if ((a = calloc(1, sizeof(*a))) == NULL)
		fatal("dns: out of memory");
	a->status = DNS_TEMPFAIL;
	q_finish(q, a);
	free(a);
}

/* This server did not answer usefully: the next one, or give up. */
static void
q_next(struct dns_q *q)
{
	q_close(q);
	if (q->sent >= q->c->conf.attempts * q->c->conf.servers.n)
		q_fail(q);
	else
		q_try(q);
}

static void
q_timeout(void *arg)
{
	struct dns_q *q = arg;

	q->timer = NULL;
	q_next(q);
}

/* The answer is in buf: done, unless it is not ours (keep waiting). */
static int
q_answer(struct dns_q *q, const uint8_t *buf, size_t len)
{
	struct dns_answer *a;
	enum dns_status st;

	if ((a = malloc(sizeof(*a))) == NULL)
		fatal("dns: out of memory");
	st = dns_answer_parse(buf, len, q->id, q->name, q->type, a);
	/* AD means something only from a resolver we chose to believe. */
	if (!q->c->conf.dnssec)
		a->secure = 0;
	if (st == DNS_BADREPLY) {
		free(a);
		return 0;
	}
	if (st == DNS_TRUNCATED && !q->tcp) {
		free(a);
		q->tcp = 1;
		q->sent--;	/* the same server, over TCP */
		q_close(q);
		q_try(q);
		return 1;
	}
	if (st == DNS_TRUNCATED)	/* truncated over TCP: broken */
		a->status = DNS_TEMPFAIL;
	q_finish(q, a);
	free(a);
	return 1;
}

static void
udp_readable(int fd, int events, void *arg)
{
	struct dns_q *q = arg;
	uint8_t buf[DNS_UDP_MAX];
	ssize_t n;
	int i;

	/* A few datagrams per turn: spoofed ones cannot starve the loop. */
	for (i = 0; i < 8; i++) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n == -1) {	/* ECONNREFUSED: nobody on that port */
			q_next(q);
			return;
		}
		if (q_answer(q, buf, (size_t)n))
			return;
	}
}

static void
tcp_io(int fd, int events, void *arg)
{
	struct dns_q *q = arg;
	uint8_t out[DNS_UDP_MAX + 2];
	ssize_t n;
	int err = 0;
	socklen_t elen = sizeof(err);

	if (q->tsent < q->qlen + 2) {
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == -1 ||
		    err != 0) {
			q_next(q);
			return;
		}
		out[0] = (uint8_t)(q->qlen >> 8);
		out[1] = (uint8_t)q->qlen;
		memcpy(out + 2, q->query, q->qlen);
		n = send(fd, out + q->tsent, q->qlen + 2 - q->tsent,
		    MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			q_next(q);
			return;
		}
		q->tsent += (size_t)n;
		if (q->tsent == q->qlen + 2 &&
		    evloop_io(q->c->loop, fd, EV_READ, tcp_io, q) == -1)
			q_next(q);
		return;
	}
	if (q->twant == 0) {	/* the two-byte length first */
		n = recv(fd, q->tlen + q->tlengot, 2 - q->tlengot, 0);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			q_next(q);
			return;
		}
		if ((q->tlengot += (size_t)n) < 2)
			return;
		q->twant = (size_t)q->tlen[0] << 8 | q->tlen[1];
		if (q->twant == 0) {
			q_next(q);
			return;
		}
		if ((q->tbuf = malloc(q->twant)) == NULL)
			fatal("dns: out of memory");
		return;
	}
	n = recv(fd, q->tbuf + q->tgot, q->twant - q->tgot, 0);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		q_next(q);
		return;
	}
	q->tgot += (size_t)n;
	if (q->tgot == q->twant && !q_answer(q, q->tbuf, q->tgot))
		q_next(q);	/* over TCP a wrong answer ends the try */
}

/* One try at server number q->sent % n. */
static void
q_try(struct dns_q *q)
{
	struct dns_client *c = q->c;
	const struct dns_server *srv =
	    &c->conf.servers.s[q->sent % c->conf.servers.n];
	int type = (q->tcp ? SOCK_STREAM : SOCK_DGRAM) | SOCK_NONBLOCK |
	    SOCK_CLOEXEC;

	q->sent++;
	q->fd = socket(srv->ss.ss_family, type, 0);
	if (q->fd == -1) {
		log_warn("dns: socket");
		goto failed;
	}
	if (connect(q->fd, (const struct sockaddr *)&srv->ss, srv->len) == -1 &&
	    !(q->tcp && errno == EINPROGRESS))
		goto failed;
	if (!q->tcp) {
		if (send(q->fd, q->query, q->qlen, 0) != (ssize_t)q->qlen)
			goto failed;
		if (evloop_io(c->loop, q->fd, EV_READ, udp_readable, q) == -1)
			goto failed;
	} else if (evloop_io(c->loop, q->fd, EV_WRITE, tcp_io, q) == -1)
		goto failed;
	q->timer = evloop_timer(c->loop, c->conf.try_ms, q_timeout, q);
	if (q->timer != NULL)
		return;
failed:
	/*
	 * Not this server (unreachable network, no route): the next one on
	 * the next loop turn, so a list of dead servers cannot recurse.
	 */
	if (q->fd != -1) {
		evloop_io_del(c->loop, q->fd);
		close(q->fd);
		q->fd = -1;
	}
	q->timer = evloop_timer(c->loop, 0, q_timeout, q);
	if (q->timer == NULL)
		fatal("dns: cannot arm a timer");
}

static void
later_fire(void *arg)
{
	struct dns_later *l = arg;

	l->cb(&l->a, l->arg);
	free(l);
}

static void
answer_later(struct dns_client *c, const struct dns_answer *a,
    enum dns_status st, dns_answer_cb cb, void *arg)
{
	struct dns_later *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		fatal("dns: out of memory");
	if (a != NULL)
		l->a = *a;
	else
		l->a.status = st;
	l->cb = cb;
	l->arg = arg;
	if (evloop_timer(c->loop, 0, later_fire, l) == NULL)
		fatal("dns: cannot arm a timer");
}

void
dns_query(struct dns_client *c, const char *name, uint16_t type,
    dns_answer_cb cb, void *arg)
{
	struct dns_answer *hit;
	struct dns_waiter *w;
	struct dns_q *q;
	char norm[DNS_NAME_MAX];
	int len;

	if (dns_name_normalize(name, norm, sizeof(norm)) == -1 ||
	    norm[0] == '\0') {
		/* Not a name DNS could hold: no such host, permanently. */
		answer_later(c, NULL, DNS_NXDOMAIN, cb, arg);
		return;
	}
	if ((hit = malloc(sizeof(*hit))) == NULL)
		fatal("dns: out of memory");
	if (dns_cache_get(c->cache, norm, type, now_s(), hit)) {
		answer_later(c, hit, hit->status, cb, arg);
		free(hit);
		return;
	}
	free(hit);
	if ((w = calloc(1, sizeof(*w))) == NULL)
		fatal("dns: out of memory");
	w->cb = cb;
	w->arg = arg;
	TAILQ_FOREACH(q, &c->inflight, link)
		if (q->type == type && strcmp(q->name, norm) == 0) {
			w->next = q->waiters;
			q->waiters = w;
			return;
		}
	if (c->n >= c->conf.max_outstanding || c->conf.servers.n == 0) {
		free(w);
		answer_later(c, NULL, DNS_TEMPFAIL, cb, arg);
		return;
	}
	if ((q = calloc(1, sizeof(*q))) == NULL)
		fatal("dns: out of memory");
	q->c = c;
	q->fd = -1;
	q->type = type;
	q->id = (uint16_t)arc4random_uniform(65536);
	strlcpy(q->name, norm, sizeof(q->name));
	len = c->conf.dnssec ?
	    dns_query_build_dnssec(norm, type, q->id, q->query,
	    sizeof(q->query)) :
	    dns_query_build(norm, type, q->id, q->query, sizeof(q->query));
	q->waiters = w;
	TAILQ_INSERT_TAIL(&c->inflight, q, link);
	c->n++;
	if (len <= 0) {
		q_close(q);
		q->timer = evloop_timer(c->loop, 0, q_timeout, q);
		q->sent = c->conf.attempts * c->conf.servers.n;
		return;
	}
	q->qlen = (size_t)len;
	q_try(q);
}
