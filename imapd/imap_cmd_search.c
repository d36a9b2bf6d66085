/*
 * imap_cmd_search.c - SEARCH and UID SEARCH in the session: the program
 * parsed by imap_search.h, asked of every message of the selected
 * folder's view in sequence order, answered with "* SEARCH" or, with
 * RETURN, "* ESEARCH" (RFC 3501 6.4.4, RFC 4731, RFC 7162 3.1.5).
 *
 * Runs in the mail process, chrooted in the user's directory as
 * mail_user. The index record answers flags, sizes, dates and MODSEQ;
 * message files are opened (read-only, through the index's name for
 * them) only for text keys, and for header keys the first time (the
 * headers read are cached in the index). Nothing else here changes the
 * index, and no untagged EXPUNGE goes out while the view is searched (imap_ok
 * syncs after, when the command allows it: UID SEARCH only, 7.4.1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap_blobs.h"
#include "imap_search.h"
#include "imap_sess.h"
#include "log.h"

/* Records read at once for keys that read messages (see FETCH_BATCH). */
#define SEARCH_BATCH	128

/*
 * What the callbacks get: the session, the command's cache batch, and
 * the record of the message being asked about (its file is opened from
 * it, without another lookup).
 */
struct search_arg {
	struct imap_sess		*s;
	struct imap_blobs		*bb;
	const struct mailindex_msg	*cur;
};

static int
search_keyword(void *arg, const char *name)
{
	struct search_arg *a = arg;

	return mailindex_keyword(a->s->sel, name, 0);
}

static int
search_open(void *arg, uint32_t uid)
{
	struct search_arg *a = arg;

	if (a->cur != NULL && a->cur->uid == uid)
		return mailindex_open_rec(a->s->sel, a->cur);
	return mailindex_open_msg(a->s->sel, uid);
}

static int
search_recent(void *arg, uint32_t uid)
{
	struct search_arg *a = arg;

	return imap_sess_recent(a->s, uid);
}

/*
 * Header keys (FROM, SUBJECT, HEADER, SENT*) read each message's header
 * once and then from the index: a client's repeated SEARCH FROM opens
 * no file (Dovecot caches the fields it was asked for in the same way).
 */
static int
search_header_get(void *arg, uint32_t uid, char **data, size_t *len)
{
	struct search_arg *a = arg;

	return mailindex_blob_get(a->s->sel, uid, MAILINDEX_BLOB_HEADER,
	    data, len);
}

static void
search_header_put(void *arg, uint32_t uid, const char *data, size_t len)
{
	struct search_arg *a = arg;

	imap_blobs_keep(a->bb, a->s->sel, uid, MAILINDEX_BLOB_HEADER, data,
	    len);
}

/* One pass over the view's messages, asking prog of each. */
struct search_pass {
	struct imap_search		*prog;
	struct imap_search_ctx		*ctx;
	struct imap_search_result	*res;
	struct imap_sess		*s;
	struct search_arg		*arg;
	const uint32_t			*uids;	/* the view's */
	size_t				 n, next;
	int				 uid;	/* answer UIDs, not numbers */
	int				 failed;
};

/* m is view message seq (1-based): 0, or -1 (logged, failed set). */
static int
search_ask(struct search_pass *p, uint32_t seq, const struct mailindex_msg *m)
{
	int rc;

	p->arg->cur = m;
	rc = imap_search_match(p->prog, p->ctx, seq, m);
	p->arg->cur = NULL;
	if (rc == -1) {
		log_warn("user=<%s>: SEARCH: message %u of %s could not be "
		    "read", p->s->user, m->uid, p->s->selname);
		p->failed = 1;
		return -1;
	}
	if (rc == 1 && imap_search_result_add(p->res, p->uid ? m->uid : seq,
	    m->modseq) == -1) {
		p->failed = 1;
		return -1;
	}
	return 0;
}

/* mailindex_scan's callback: records in UID order, merged with the view. */
static int
search_scanned(void *arg, const struct mailindex_msg *m)
{
	struct search_pass *p = arg;

	while (p->next < p->n && p->uids[p->next] < m->uid)
		p->next++;	/* gone from the index since the view */
	if (p->next == p->n)
		return 1;
	if (p->uids[p->next] != m->uid)
		return 0;	/* newer than the view */
	p->next++;
	return search_ask(p, (uint32_t)p->next, m);
}

/*
 * Keys the index record answers (flags, sizes, dates, UIDs) take one
 * range read of the records; keys that read messages take them a batch
 * at a time, since they read files (and cache) as they go.
 */
static void
search_pass_run(struct search_pass *p)
{
	struct mailindex_msg	*recs;
	size_t			 i, k;

	if (p->n == 0)
		return;
	if (!imap_search_needs_msg(p->prog)) {
		if (mailindex_scan(p->s->sel, p->uids[0], p->uids[p->n - 1],
		    search_scanned, p) == -1)
			p->failed = 1;
		return;
	}
	/* Read a batch at a time, so no cursor is held while files are. */
	if ((recs = reallocarray(NULL, SEARCH_BATCH, sizeof(*recs))) == NULL) {
		p->failed = 1;
		return;
	}
	for (i = 0; i < p->n && !p->failed; i += k) {
		k = p->n - i < SEARCH_BATCH ? p->n - i : SEARCH_BATCH;
		if (mailindex_get_many(p->s->sel, p->uids + i, k, recs) == -1) {
			p->failed = 1;
			break;
		}
		for (size_t j = 0; j < k && !p->failed; j++)
			/* Gone from the index since the view: no match. */
			if (recs[j].uid != 0)
				(void)search_ask(p, (uint32_t)(i + j + 1),
				    &recs[j]);
	}
	free(recs);
}

void
imap_cmd_search(struct imap_sess *s, int uid)
{
	struct imap_search_result	 res;
	struct imap_search_ctx		 ctx;
	struct search_arg		 arg;
	struct imap_search		*prog;
	struct search_pass		 pass;
	const uint32_t			*view;
	uint32_t			*uids;
	struct buf			 b;
	char				 err[256];
	size_t				 n;
	int				 rc, failed = 0;

	rc = imap_search_parse(s->req.args, uid, &prog, err, sizeof(err));
	if (rc == -1) {
		imap_bad(s, "%s", err);
		return;
	}
	if (rc == -2) {
		imap_no(s, "%s", err);
		return;
	}
	/* RFC 7162 3.1: a MODSEQ search key enables CONDSTORE. */
	if (imap_search_needs_modseq(prog))
		s->condstore = 1;
	/* The view's UIDs, copied: the callbacks read the index. */
	view = mailindex_uids(s->sel, &n);
	if ((uids = reallocarray(NULL, n > 0 ? n : 1, sizeof(*uids))) ==
	    NULL) {
		imap_search_free(prog);
		imap_no(s, "[SERVERBUG] Out of memory");
		return;
	}
	if (n > 0)
		memcpy(uids, view, n * sizeof(*uids));

	memset(&ctx, 0, sizeof(ctx));
	ctx.nmsgs = (uint32_t)n;
	ctx.maxuid = n > 0 ? uids[n - 1] : 0;
	ctx.keyword = search_keyword;
	ctx.open_msg = search_open;
	ctx.recent = search_recent;
	ctx.header_get = search_header_get;
	ctx.header_put = search_header_put;
	arg.s = s;
	arg.bb = imap_search_needs_msg(prog) ? imap_blobs_new() : NULL;
	arg.cur = NULL;
	ctx.arg = &arg;
	ctx.now = time(NULL);
	/* The zone read before the chroot (tzset in imap_mail_run), with
	 * each INTERNALDATE's own offset (summer time). */
	ctx.local_zone = 1;
	imap_search_result_init(&res);
	memset(&pass, 0, sizeof(pass));
	pass.prog = prog;
	pass.ctx = &ctx;
	pass.res = &res;
	pass.s = s;
	pass.arg = &arg;
	pass.uids = uids;
	pass.n = n;
	pass.uid = uid;
	search_pass_run(&pass);
	failed = pass.failed;
	free(uids);
	imap_blobs_done(arg.bb, s->sel, s->user);
	if (failed) {
		imap_search_result_free(&res);
		imap_search_free(prog);
		imap_no(s, "[SERVERBUG] Search failed; try again later");
		return;
	}
	buf_init(&b, 0);
	if (imap_search_result_write(prog, &res, s->req.tag, &b) == -1) {
		buf_free(&b);
		imap_search_result_free(&res);
		imap_search_free(prog);
		imap_no(s, "[SERVERBUG] Out of memory");
		return;
	}
	imap_send(s, &b);
	buf_free(&b);
	imap_search_result_free(&res);
	imap_search_free(prog);
	imap_ok(s, "Search completed.");
}
