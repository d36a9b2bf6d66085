/*
 * qid.c - queue id generation, in queued only (one generator per host
 * keeps ids unique without locking).
 *
 * The generator is a logical clock: an id is the later of the wall
 * clock and the last id's time, plus a counter for ids within one
 * microsecond. When the counter runs out, or the wall clock stepped
 * back, the logical time moves ahead of the wall clock by a microsecond
 * instead of waiting for it: queued never stalls (a one-hour step back
 * once froze it for an hour), ids stay strictly increasing within a
 * run, and the wall clock catches up on its own. Ids that repeat across
 * a restart after a step back are refused by queue file creation
 * (O_EXCL), never overwrite a message.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "qid.h"

#define QID_COUNTER_MAX	0xFFF		/* three hex digits */
#define QID_TIME_MASK	0xFFFFFFFFFFFFFULL	/* thirteen hex digits */

void
qid_next(struct qid_gen *g, uint64_t now_us, char out[QID_LEN + 1])
{
	if (now_us > g->last_us) {
		g->last_us = now_us;
		g->counter = 0;
	} else if (g->counter < QID_COUNTER_MAX)
		g->counter++;
	else {
		g->last_us++;
		g->counter = 0;
	}
	snprintf(out, QID_LEN + 1, "%013llX%03X",
	    (unsigned long long)(g->last_us & QID_TIME_MASK), g->counter);
}

void
qid_new(char out[QID_LEN + 1])
{
	static struct qid_gen	g;
	struct timespec		ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	qid_next(&g, (uint64_t)ts.tv_sec * 1000000 +
	    (uint64_t)ts.tv_nsec / 1000, out);
}

int
qid_valid(const char *s)
{
	size_t i;

	for (i = 0; i < QID_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'A' && s[i] <= 'F')))
			return 0;
	return s[QID_LEN] == '\0';
}

uint64_t
qid_time_us(const char *s)
{
	uint64_t	t = 0;
	size_t		i;

	if (!qid_valid(s))
		return 0;
	for (i = 0; i < QID_LEN - 3; i++)
		t = t * 16 + (uint64_t)(s[i] <= '9' ? s[i] - '0' :
		    s[i] - 'A' + 10);
	return t;
}
