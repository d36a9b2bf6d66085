/*
 * imap_search_match.c - a parsed SEARCH program asked of one message:
 * flags, keywords, sizes, dates, sets and MODSEQ from the caller's index
 * record; header, body and text keys (and the sent date) from the
 * message itself, which is opened and parsed only when one of those keys
 * is reached, at most once per message.
 *
 * Runs in imapd's mail process, as the mail user. The program is
 * trusted here (imap_search.c checked it); the message is not
 * (imap_search_text.c reads it under mime.h's limits). Inside AND and OR
 * the keys that need no file go first, so "SEEN BODY x" reads no file
 * for an unseen message.
 *
 * Dates, as RFC 3501 6.4.4 says and Dovecot does: BEFORE, ON and SINCE
 * compare the day of INTERNALDATE in the server's zone; SENTBEFORE,
 * SENTON and SENTSINCE the day of the Date header in the header's own
 * zone, ignoring the time. A message without a usable Date header has
 * the sent date 0 (1 Jan 1970), as in Dovecot.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "imap_search_int.h"

#define DAY	86400

struct mctx {
	struct imap_search_ctx		*ctx;
	uint32_t			 seq;
	const struct mailindex_msg	*m;
	struct imap_search_msg		 msg;
	int				 whole;	/* a key needs the body */
};

/* The day (00:00 as a UTC time) of local time t. */
static time_t
day_of(time_t t)
{
	time_t d = t / DAY * DAY;

	if (d > t)
		d -= DAY;
	return d;
}

/* The day of INTERNALDATE t in the server's zone. */
static time_t
server_day(const struct imap_search_ctx *ctx, time_t t)
{
	struct tm tm;

	if (ctx->local_zone && localtime_r(&t, &tm) != NULL)
		return day_of(t + tm.tm_gmtoff);
	return day_of(t + ctx->tz_offset_s);
}

static int
date_cmp(enum imap_skind kind, time_t day, time_t key)
{
	switch (kind) {
	case IMAP_SK_BEFORE:
	case IMAP_SK_SENTBEFORE:
		return day < key;
	case IMAP_SK_ON:
	case IMAP_SK_SENTON:
		return day == key;
	default:
		return day >= key;
	}
}

static int
in_set(struct imap_snode *n, uint32_t star, uint32_t v)
{
	/* "*" changes with the mailbox: read the set again when it did. */
	if (!n->rs_ok || n->rs_star != star) {
		n->rs_ok = 0;
		if (imap_seqset_parse(&n->rs, n->set, n->setlen, star,
		    IMAP_SEQSET_MAX) == -1)
			return -1;
		n->rs_star = star;
		n->rs_ok = 1;
	}
	return imap_seqset_has(&n->rs, v);
}

static int eval(struct mctx *, struct imap_snode *);

/* AND (all) or OR (any) of the kids, those needing no file first. */
static int
eval_list(struct mctx *c, struct imap_snode *kids, int any)
{
	struct imap_snode	*k;
	int			 pass, r;

	for (pass = 0; pass < 2; pass++)
		for (k = kids; k != NULL; k = k->next) {
			if ((k->needs_msg != 0) != pass)
				continue;
			if ((r = eval(c, k)) == -1)
				return -1;
			if (r == any)
				return any;
		}
	return !any;
}

/* Loads the message (whole, or its header) for a key: 0, or -1 (msg). */
static int
need_msg(struct mctx *c, int whole)
{
	/* One read per match: the whole file at once if any key needs it. */
	return imap_search_msg_load(&c->msg, c->ctx, c->m->uid,
	    whole || c->whole);
}

static int
eval(struct mctx *c, struct imap_snode *n)
{
	const struct mailindex_msg	*m = c->m;
	struct imap_search_ctx		*ctx = c->ctx;
	time_t				 t;
	int				 r;

	switch (n->kind) {
	case IMAP_SK_ALL:
		return 1;
	case IMAP_SK_AND:
		return eval_list(c, n->kids, 0);
	case IMAP_SK_OR:
		return eval_list(c, n->kids, 1);
	case IMAP_SK_NOT:
		if ((r = eval(c, n->kids)) == -1)
			return -1;
		return !r;
	case IMAP_SK_SEQ:
		return in_set(n, ctx->nmsgs, c->seq);
	case IMAP_SK_UID:
		return in_set(n, ctx->maxuid, m->uid);
	case IMAP_SK_FLAG:
		return (m->flags.sys & n->flag) != 0;
	case IMAP_SK_UNFLAG:
		return (m->flags.sys & n->flag) == 0;
	case IMAP_SK_KEYWORD:
	case IMAP_SK_UNKEYWORD:
		r = ctx->keyword != NULL ? ctx->keyword(ctx->arg, n->str) : -1;
		r = r >= 0 && r < KEYWORDS_MAX &&
		    (m->flags.kw & (1u << r)) != 0;
		return n->kind == IMAP_SK_KEYWORD ? r : !r;
	case IMAP_SK_RECENT:
		return ctx->recent != NULL && ctx->recent(ctx->arg, m->uid) > 0;
	case IMAP_SK_BEFORE:
	case IMAP_SK_ON:
	case IMAP_SK_SINCE:
		return date_cmp(n->kind, server_day(ctx, m->idate), n->date);
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		if (need_msg(c, 0) == -1)
			return -1;
		if (!imap_search_msg_date(&c->msg, &t))
			t = 0;
		return date_cmp(n->kind, day_of(t), n->date);
	case IMAP_SK_LARGER:
		return m->size > n->num;
	case IMAP_SK_SMALLER:
		return m->size < n->num;
	case IMAP_SK_MODSEQ:
		return m->modseq >= n->num;
	case IMAP_SK_OLDER:
		/* RFC 5032: INTERNALDATE at least n seconds before now. */
		return ctx->now - m->idate >= (time_t)n->num;
	case IMAP_SK_YOUNGER:
		return ctx->now - m->idate <= (time_t)n->num;
	case IMAP_SK_HEADER:
		if (need_msg(c, 0) == -1)
			return -1;
		return imap_search_msg_header(&c->msg, n);
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
		if (need_msg(c, 1) == -1)
			return -1;
		return imap_search_msg_body(&c->msg, n,
		    n->kind == IMAP_SK_TEXT);
	}
	return -1;
}

int
imap_search_match(const struct imap_search *s, struct imap_search_ctx *ctx,
    uint32_t seq, const struct mailindex_msg *m)
{
	struct mctx	c;
	int		r;

	c.ctx = ctx;
	c.seq = seq;
	c.m = m;
	c.whole = (s->root->needs_msg & IMAP_NEEDS_WHOLE) != 0;
	imap_search_msg_init(&c.msg);
	r = eval(&c, s->root);
	/* A file gone since the index listed it: expunged, no match. */
	if (r == -1 && c.msg.gone && !c.msg.failed)
		r = 0;
	imap_search_msg_free(&c.msg);
	return r;
}
