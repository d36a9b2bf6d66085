/*
 * park.c - deferred messages as compact entries.
 *
 * Runs in queued (queue user), in the loop's thread; trusts its callers
 * (sched.c) and the spool (spool_read checks the MAC). A queue that
 * waits for a dead destination holds mostly messages that do nothing
 * until a deadline hours away. Such a message is parked: its
 * envelope's strings and recipient array are freed and the struct qmsg
 * (with id, created, held, requeued) stays for the deadline heap and the
 * index, about 250 bytes in all; the envelope is read from the spool
 * again when it is due, or an operation needs it. Postfix keeps its
 * deferred queue on disk the same way, and reads a message again for
 * each retry.
 *
 * Only a message whose envelope on disk is the one in memory is parked
 * (nothing in flight, no write pending, nothing changed since the last
 * write), so reading it back gives the same state. The one change made
 * to messages in memory only, a flush, is kept for parked ones here: the
 * marked messages and the domains (or all) they were flushed for, until
 * every marked message has been read back or has left.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "queued.h"

#define PARK_FLUSH_DOMAINS_MAX	64

static struct {
	char	*domain[PARK_FLUSH_DOMAINS_MAX];
	size_t	 ndomain;
	int	 all;		/* a flush of every domain (or too many) */
	size_t	 marked;	/* parked messages with m->flushed */
} pending;

static void
pending_clear(void)
{
	size_t i;

	for (i = 0; i < pending.ndomain; i++)
		free(pending.domain[i]);
	memset(&pending, 0, sizeof(pending));
}

static int
parkable(const struct qmsg *m)
{
	return !m->parked && !m->marker && m->inflight == 0 &&
	    m->wr == NULL && !m->bouncing && !m->dirty && m->round == NULL &&
	    !m->deleted && !m->requeue;
}

void
park_msg(struct qmsg *m)
{
	struct envelope keep;

	if (!parkable(m))
		return;
	env_init(&keep);
	memcpy(keep.id, m->env.id, sizeof(keep.id));
	keep.created = m->env.created;
	keep.held = m->env.held;
	keep.requeued = m->env.requeued;
	keep.is_bounce = m->env.is_bounce;
	env_free(&m->env);
	m->env = keep;
	m->parked = 1;
}

static int
in_domain(const char *addr, const char *domain)
{
	const char *at = strrchr(addr, '@');

	return at != NULL && strcasecmp(at + 1, domain) == 0;
}

/* A flush that came while m was parked: its recipients due now. */
static void
apply_flush(struct qmsg *m)
{
	struct env_rcpt	*r;
	size_t		 i, j;

	for (i = 0; i < m->env.nrcpt; i++) {
		r = &m->env.rcpt[i];
		if (r->state != RCPT_DEFERRED)
			continue;
		for (j = 0; !pending.all && j < pending.ndomain; j++)
			if (in_domain(r->addr, pending.domain[j]))
				break;
		if (pending.all || j < pending.ndomain)
			r->next_try = 0;
	}
}

void
park_forget(struct qmsg *m)
{
	if (!m->flushed)
		return;
	m->flushed = 0;
	if (--pending.marked == 0)
		pending_clear();
}

enum spool_read
park_load(struct qmsg *m)
{
	struct envelope	 env;
	uint64_t	 size;
	int		 has_envfile;
	enum spool_read	 r;

	if (!m->parked)
		return SPOOL_READ_OK;
	r = spool_read(m->env.id, &env, &size, &has_envfile);
	if (r == SPOOL_READ_GONE)
		log_warnx("%s: its queue file is gone; forgotten",
		    m->env.id);
	if (r != SPOOL_READ_OK)
		return r;
	if (strcmp(env.id, m->env.id) != 0) {
		/* qfile_load checks it too: a second look costs nothing. */
		log_warnx("%s: the spool holds %s under its name; forgotten",
		    m->env.id, env.id);
		env_free(&env);
		return SPOOL_READ_BAD;
	}
	env_free(&m->env);
	m->env = env;
	m->size = size;
	m->envfile = has_envfile;
	m->parked = 0;
	if (m->flushed) {
		apply_flush(m);
		park_forget(m);
	}
	return SPOOL_READ_OK;
}

void
park_flush_mark(struct qmsg *m)
{
	if (!m->parked || m->flushed)
		return;
	m->flushed = 1;
	pending.marked++;
}

/* Every deferred recipient of the marked messages. */
static void
flush_every_domain(void)
{
	size_t i;

	for (i = 0; i < pending.ndomain; i++)
		free(pending.domain[i]);
	pending.ndomain = 0;
	pending.all = 1;
}

void
park_flush_note(const char *domain)
{
	size_t i;

	if (pending.marked == 0 || pending.all)
		return;
	if (domain == NULL) {
		flush_every_domain();
		return;
	}
	for (i = 0; i < pending.ndomain; i++)
		if (strcasecmp(pending.domain[i], domain) == 0)
			return;
	/* Past the table, or no memory: more is tried than asked, never less. */
	if (pending.ndomain == PARK_FLUSH_DOMAINS_MAX ||
	    (pending.domain[pending.ndomain] = strdup(domain)) == NULL) {
		flush_every_domain();
		return;
	}
	pending.ndomain++;
}

void
park_shutdown(void)
{
	pending_clear();
}
