/*
 * inject.c - what queued decides about a local client (sendmail or postern
 * on public/inject.sock): who may submit (authorized_submit_users), with
 * which envelope senders (local_sender_policy), the Received line that
 * records who it was, and who may list the queue (queue_list_users).
 *
 * Runs in queued, as queue_user. The only identity trusted here is the
 * uid the kernel gave with the connection (SO_PEERCRED, taken when the
 * client connected); the user name is looked up from it, never taken
 * from the client. Root and the mail system (the uid queued runs as)
 * may always submit, with any sender, as in Postfix.
 */
#include <sys/types.h>

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "queued.h"

void
inject_user_name(uid_t uid, char *out, size_t outsz)
{
	struct passwd	 pw, *res = NULL;
	char		 tmp[4096];

	/* Postfix's name for a uid without a passwd entry. */
	if (getpwuid_r(uid, &pw, tmp, sizeof(tmp), &res) != 0 ||
	    res == NULL || strlcpy(out, pw.pw_name, outsz) >= outsz)
		strlcpy(out, "unknown", outsz);
}

static int
inject_exempt(uid_t uid)
{
	return uid == 0 || uid == geteuid();
}

static int
inject_is_number(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

/* The first entry of list that matches decides; none matching refuses. */
static int
inject_in_list(const struct conf_list *l, uid_t uid, const char *user)
{
	const char	*e;
	char		 num[32];
	size_t		 i;
	int		 neg;

	snprintf(num, sizeof(num), "%lu", (unsigned long)uid);
	for (i = 0; i < l->n; i++) {
		e = l->v[i];
		if ((neg = e[0] == '!'))
			e++;
		if (strcmp(e, "anyone") == 0 ||
		    (inject_is_number(e) ? strcmp(e, num) == 0 :
		    strcmp(e, user) == 0))
			return !neg;
	}
	return 0;
}

int
inject_authorized(const struct conf *c, uid_t uid, const char *user)
{
	if (inject_exempt(uid))
		return 1;
	return inject_in_list(&c->authorized_submit_users, uid, user);
}

int
inject_may_list(const struct conf *c, uid_t uid, const char *user)
{
	if (inject_exempt(uid))
		return 1;
	return inject_in_list(&c->queue_list_users, uid, user);
}

int
inject_sender_ok(const struct conf *c, uid_t uid, const char *user,
    const char *sender)
{
	struct mailaddr	a;

	if (inject_exempt(uid) || strcmp(c->local_sender_policy, "any") == 0)
		return 1;
	/*
	 * "own": the user's login name at one of our domains, nothing else
	 * (not the null sender either: its mail could never be returned).
	 */
	if (sender[0] == '\0' || addr_parse(sender, &a, 1) == -1)
		return 0;
	return strcmp(user, "unknown") != 0 &&
	    strcasecmp(a.local, user) == 0 &&
	    conf_is_local_domain(c, a.domain);
}

int
inject_received(const struct conf *c, uid_t uid, const char *qid,
    time_t now, struct buf *out)
{
	struct tm	tm;
	char		date[64];

	if (localtime_r(&now, &tm) == NULL ||
	    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S %z", &tm) == 0)
		return -1;
	/* Postfix's pickup line; the queue stores LF line ends. */
	return buf_printf(out, "Received: by %s (Postern, from userid %lu)\n"
	    "\tid %s; %s\n", c->myhostname, (unsigned long)uid, qid, date);
}
