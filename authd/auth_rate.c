/*
 * auth_rate.c - the per-account outbound limits of SMTP AUTH users:
 * messages per day (auth_messages_per_day) and recipients per hour
 * (auth_recipients_per_hour), so that a leaked password cannot become a
 * spam run of 100,000 messages.
 *
 * Runs in authd, on its loop, as auth_user. The users counted are
 * authd's canonical keys of logins that succeeded on a bound connection
 * (main.c), never a name a session process chose. Each account keeps
 * two rings of counters: 24 hours and 60 minutes, each slot stamped
 * with the hour or minute it counts, so a count is the sum of the slots
 * whose stamp lies inside the window (a sliding window to one slot's
 * precision) and nothing needs a timer. Bounded: at most max accounts
 * (about 700 bytes each); an account whose slots have all expired is
 * reused first; when every slot holds a live account, a new account is
 * refused (temporary failure): fail closed, never uncounted.
 *
 * The counts live in memory: a restart of authd starts them afresh
 * (authd has no writable path; see doc/DESIGN.md).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "authd.h"

#define HOURS	24
#define MINUTES	60

struct rate_acct {
	struct rate_acct	*next;		/* hash chain */
	uint32_t		 hour_stamp[HOURS];
	uint32_t		 hour_msgs[HOURS];
	uint32_t		 min_stamp[MINUTES];
	uint32_t		 min_rcpts[MINUTES];
	char			 user[ADDR_MAX + 1];
};

struct auth_rate {
	struct rate_acct	**bucket;
	size_t			  nbuckets;
	size_t			  n, max;
};

static uint32_t
hash_user(const char *s)
{
	uint32_t h = 2166136261u;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

struct auth_rate *
auth_rate_new(size_t max)
{
	struct auth_rate *r;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->max = max;
	r->nbuckets = 1024;
	if ((r->bucket = calloc(r->nbuckets, sizeof(*r->bucket))) == NULL) {
		free(r);
		return NULL;
	}
	return r;
}

void
auth_rate_free(struct auth_rate *r)
{
	struct rate_acct	*a, *next;
	size_t			 i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nbuckets; i++)
		for (a = r->bucket[i]; a != NULL; a = next) {
			next = a->next;
			free(a);
		}
	free(r->bucket);
	free(r);
}

static uint32_t
msgs_of(const struct rate_acct *a, time_t now)
{
	uint32_t	hour = (uint32_t)(now / 3600), sum = 0;
	size_t		i;

	for (i = 0; i < HOURS; i++)
		if (a->hour_stamp[i] + HOURS > hour)
			sum += a->hour_msgs[i];
	return sum;
}

static uint32_t
rcpts_of(const struct rate_acct *a, time_t now)
{
	uint32_t	min = (uint32_t)(now / 60), sum = 0;
	size_t		i;

	for (i = 0; i < MINUTES; i++)
		if (a->min_stamp[i] + MINUTES > min)
			sum += a->min_rcpts[i];
	return sum;
}

static int
expired(const struct rate_acct *a, time_t now)
{
	return msgs_of(a, now) == 0 && rcpts_of(a, now) == 0;
}

/* Drops every account with nothing left in either window. */
static void
sweep(struct auth_rate *r, time_t now)
{
	struct rate_acct	**pp, *a;
	size_t			  i;

	for (i = 0; i < r->nbuckets; i++)
		for (pp = &r->bucket[i]; (a = *pp) != NULL;) {
			if (expired(a, now)) {
				*pp = a->next;
				free(a);
				r->n--;
			} else
				pp = &a->next;
		}
}

/* The account of user; create: make it if missing. NULL: none, or full. */
static struct rate_acct *
find(struct auth_rate *r, const char *user, time_t now, int create)
{
	struct rate_acct	*a;
	size_t			 b = hash_user(user) % r->nbuckets;

	for (a = r->bucket[b]; a != NULL; a = a->next)
		if (strcasecmp(a->user, user) == 0)
			return a;
	if (!create)
		return NULL;
	if (r->n >= r->max)
		sweep(r, now);
	if (r->n >= r->max || (a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	strlcpy(a->user, user, sizeof(a->user));
	a->next = r->bucket[b];
	r->bucket[b] = a;
	r->n++;
	return a;
}

static void
over(struct a_rate_reply *out, uint32_t which, uint32_t used, long limit)
{
	out->verdict = A_RATE_OVER;
	out->which = which;
	out->used = used;
	out->limit = (uint32_t)limit;
}

void
auth_rate_mail(struct auth_rate *r, const char *user, time_t now,
    long limit, struct a_rate_reply *out)
{
	struct rate_acct	*a;
	uint32_t		 used;

	memset(out, 0, sizeof(*out));
	out->which = A_RATE_MESSAGES;
	out->limit = (uint32_t)limit;
	if (limit <= 0)
		return;
	if ((a = find(r, user, now, 0)) == NULL)
		return;
	out->used = used = msgs_of(a, now);
	if (used >= (uint32_t)limit)
		over(out, A_RATE_MESSAGES, used, limit);
}

void
auth_rate_rcpt(struct auth_rate *r, const char *user, time_t now,
    uint32_t n, long limit, struct a_rate_reply *out)
{
	struct rate_acct	*a;
	uint32_t		 used, min = (uint32_t)(now / 60);
	size_t			 i = min % MINUTES;

	memset(out, 0, sizeof(*out));
	out->which = A_RATE_RECIPIENTS;
	out->limit = (uint32_t)limit;
	if (limit <= 0)
		return;
	if ((a = find(r, user, now, 1)) == NULL) {
		out->verdict = A_RATE_TEMPFAIL;
		return;
	}
	used = rcpts_of(a, now);
	if ((uint64_t)used + n > (uint64_t)limit) {
		over(out, A_RATE_RECIPIENTS, used, limit);
		return;
	}
	if (a->min_stamp[i] != min) {
		a->min_stamp[i] = min;
		a->min_rcpts[i] = 0;
	}
	a->min_rcpts[i] += n;
	out->used = used + n;
}

void
auth_rate_sent(struct auth_rate *r, const char *user, time_t now,
    long limit)
{
	struct rate_acct	*a;
	uint32_t		 hour = (uint32_t)(now / 3600);
	size_t			 i = hour % HOURS;

	/* Counted even past the limit: MAIL refuses the next one. */
	if (limit <= 0 || (a = find(r, user, now, 1)) == NULL)
		return;
	if (a->hour_stamp[i] != hour) {
		a->hour_stamp[i] = hour;
		a->hour_msgs[i] = 0;
	}
	a->hour_msgs[i]++;
}

/* The larger of an account's two shares of its limits, in 1/1000. */
static uint64_t
nearness(const struct a_rate_entry *e, long mlimit, long rlimit)
{
	uint64_t m = 0, q = 0;

	if (mlimit > 0)
		m = (uint64_t)e->messages * 1000 / (uint64_t)mlimit;
	if (rlimit > 0)
		q = (uint64_t)e->recipients * 1000 / (uint64_t)rlimit;
	return m > q ? m : q;
}

static long	sort_mlimit, sort_rlimit;

static int
cmp_nearness(const void *x, const void *y)
{
	uint64_t a = nearness(x, sort_mlimit, sort_rlimit);
	uint64_t b = nearness(y, sort_mlimit, sort_rlimit);

	if (a != b)
		return a > b ? -1 : 1;
	return strcmp(((const struct a_rate_entry *)x)->user,
	    ((const struct a_rate_entry *)y)->user);
}

int
auth_rate_list(struct auth_rate *r, time_t now, long mlimit, long rlimit,
    struct a_rate_list *out)
{
	struct a_rate_entry	*all;
	struct rate_acct	*a;
	size_t			 i, n = 0;

	memset(out, 0, sizeof(*out));
	out->messages_limit = mlimit > 0 ? (uint32_t)mlimit : 0;
	out->recipients_limit = rlimit > 0 ? (uint32_t)rlimit : 0;
	sweep(r, now);
	if (r->n == 0)
		return 0;
	if ((all = calloc(r->n, sizeof(*all))) == NULL)
		return -1;
	for (i = 0; i < r->nbuckets; i++)
		for (a = r->bucket[i]; a != NULL && n < r->n; a = a->next) {
			strlcpy(all[n].user, a->user, sizeof(all[n].user));
			all[n].messages = msgs_of(a, now);
			all[n].recipients = rcpts_of(a, now);
			n++;
		}
	sort_mlimit = mlimit;
	sort_rlimit = rlimit;
	qsort(all, n, sizeof(*all), cmp_nearness);
	out->accounts = (uint32_t)n;
	out->n = n < A_RATE_LIST_MAX ? (uint32_t)n : A_RATE_LIST_MAX;
	memcpy(out->e, all, out->n * sizeof(*all));
	free(all);
	return 0;
}
