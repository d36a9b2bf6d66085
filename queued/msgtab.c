/*
 * msgtab.c - queued's index of messages by queue id.
 *
 * Runs in queued (queue user), in the loop's thread; trusts its callers
 * (sched.c). The administrator's operations name messages by id, up to
 * Q_CTL_OP_MAX at a time, on a queue of up to a million: a linear search
 * of the list would cost a second per request. A chained hash table: the
 * chain link lives in the message (no allocation per message), the
 * bucket array doubles when the table is full, so a million messages
 * cost 8 to 16 bytes each here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "queued.h"

#define MSGTAB_MIN	1024

static struct qmsg	**bucket;
static size_t		  nbucket;	/* a power of two, or 0 */
static size_t		  count;

/* FNV-1a: queue ids are spread enough for it, and it is cheap. */
static size_t
msgtab_hash(const char *qid)
{
	uint64_t h = 14695981039346656037ULL;

	for (; *qid != '\0'; qid++) {
		h ^= (unsigned char)*qid;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 32));
}

/* Doubles the table; left as it is, only slower, without memory. */
static void
msgtab_grow(void)
{
	struct qmsg	**nb, *m, *next;
	size_t		  nn = nbucket ? nbucket * 2 : MSGTAB_MIN, i, h;

	if ((nb = calloc(nn, sizeof(*nb))) == NULL) {
		log_warn("message index: staying at %zu buckets", nbucket);
		return;
	}
	for (i = 0; i < nbucket; i++)
		for (m = bucket[i]; m != NULL; m = next) {
			next = m->hnext;
			h = msgtab_hash(m->env.id) & (nn - 1);
			m->hnext = nb[h];
			nb[h] = m;
		}
	free(bucket);
	bucket = nb;
	nbucket = nn;
}

void
msgtab_add(struct qmsg *m)
{
	size_t h;

	if (nbucket == 0 && (msgtab_grow(), nbucket == 0))
		fatalx("message index: out of memory");
	if (count >= nbucket)
		msgtab_grow();
	h = msgtab_hash(m->env.id) & (nbucket - 1);
	m->hnext = bucket[h];
	bucket[h] = m;
	count++;
}

void
msgtab_del(struct qmsg *m)
{
	struct qmsg **pp;

	if (nbucket == 0)
		return;
	for (pp = &bucket[msgtab_hash(m->env.id) & (nbucket - 1)];
	    *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == m) {
			*pp = m->hnext;
			m->hnext = NULL;
			count--;
			return;
		}
}

struct qmsg *
msgtab_find(const char *qid)
{
	struct qmsg *m;

	if (nbucket == 0)
		return NULL;
	for (m = bucket[msgtab_hash(qid) & (nbucket - 1)]; m != NULL;
	    m = m->hnext)
		if (strcmp(m->env.id, qid) == 0)
			return m;
	return NULL;
}

void
msgtab_shutdown(void)
{
	free(bucket);
	bucket = NULL;
	nbucket = count = 0;
}
