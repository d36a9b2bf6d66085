/*
 * pop3_pace.c - failed logins counted per client address, so that a
 * password guesser is refused for a while without costing resolverd a
 * hash per guess.
 *
 * Runs in pop3d's root parent. Its keys are addresses from accept(2),
 * not from the client's bytes. The table is bounded: when it is full
 * the entry whose window started longest ago makes room, so a flood of
 * addresses costs memory we fixed at start, never more.
 */
#include <stdlib.h>
#include <string.h>

#include "pop3d.h"

#define POP3_PACE_SLOTS	4096

struct pop3_pace_ent {
	char	ip[64];
	time_t	start;		/* first failure of the current window */
	long	count;
};

struct pop3_pace {
	struct pop3_pace_ent e[POP3_PACE_SLOTS];
};

struct pop3_pace *
pop3_pace_new(void)
{
	return calloc(1, sizeof(struct pop3_pace));
}

void
pop3_pace_free(struct pop3_pace *p)
{
	free(p);
}

static struct pop3_pace_ent *
pace_find(struct pop3_pace *p, const char *ip, time_t now, time_t window)
{
	size_t i;

	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		struct pop3_pace_ent *e = &p->e[i];

		if (e->count == 0 || strcmp(e->ip, ip) != 0)
			continue;
		if (now - e->start >= window) {
			e->count = 0;	/* the window passed: forgiven */
			return NULL;
		}
		return e;
	}
	return NULL;
}

int
pop3_pace_blocked(struct pop3_pace *p, const char *ip, time_t now,
    long limit, time_t window)
{
	struct pop3_pace_ent *e = pace_find(p, ip, now, window);

	return e != NULL && e->count >= limit;
}

void
pop3_pace_fail(struct pop3_pace *p, const char *ip, time_t now,
    time_t window)
{
	struct pop3_pace_ent	*e, *victim = NULL;
	size_t			 i;

	if ((e = pace_find(p, ip, now, window)) != NULL) {
		e->count++;
		return;
	}
	for (i = 0; i < POP3_PACE_SLOTS; i++) {
		e = &p->e[i];
		if (e->count == 0 || now - e->start >= window) {
			victim = e;
			break;
		}
		if (victim == NULL || e->start < victim->start)
			victim = e;
	}
	strlcpy(victim->ip, ip, sizeof(victim->ip));
	victim->start = now;
	victim->count = 1;
}
