/*
 * imap_select.c - the commands that open, close and empty folders:
 * SELECT and EXAMINE (RFC 3501 6.3.1-2, with CONDSTORE and QRESYNC's
 * parameters, RFC 7162 3.1.8, 3.2.5), CLOSE, UNSELECT (RFC 3691),
 * EXPUNGE and UID EXPUNGE (RFC 4315), and STATUS (RFC 3501 6.3.10,
 * HIGHESTMODSEQ of RFC 7162).
 *
 * Runs in the mail process (imap_mail.c), chrooted in the user's
 * directory as mail_user. Mailbox names come from the client and
 * become paths only through imap_folder_path (imap_folder.c).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap_folder.h"
#include "imap_seqset.h"
#include "imap_sess.h"
#include "imap_write.h"
#include "log.h"

/* The letters of the selected folder's keywords, as a mask. */
static uint32_t
keyword_mask(struct imap_sess *s)
{
	uint32_t	kw = 0;
	int		i;

	for (i = 0; i < KEYWORDS_MAX; i++)
		if (mailindex_keyword_name(s->sel, i) != NULL)
			kw |= 1u << i;
	return kw;
}

static void
write_flag_lists(struct imap_sess *s, struct buf *b)
{
	struct keywords_flags	all = { KEYWORDS_SEEN | KEYWORDS_REPLIED |
	    KEYWORDS_FLAGGED | KEYWORDS_TRASHED | KEYWORDS_DRAFT, 0 };

	all.kw = s->kwmask = keyword_mask(s);
	(void)buf_puts(b, "* FLAGS ");
	imap_write_flags(b, s->sel, &all, 0);
	(void)buf_puts(b, "\r\n* OK [PERMANENTFLAGS ");
	if (s->readonly)
		(void)buf_puts(b, "()");
	else {
		imap_write_flags(b, s->sel, &all, 0);
		/* "\*" inside the list: new keywords may be made. */
		b->len--;
		(void)buf_puts(b, all.sys || all.kw ? " \\*)" : "\\*)");
	}
	(void)buf_puts(b, "] Flags permitted.\r\n");
}

void
imap_flags_announce(struct imap_sess *s, struct buf *b)
{
	/* RFC 3501 7.2.6: a keyword new to the folder changes FLAGS. */
	if (s->sel != NULL && keyword_mask(s) != s->kwmask)
		write_flag_lists(s, b);
}

struct qresync_arg {
	int		 given;
	uint32_t	 uidvalidity;
	uint64_t	 modseq;
	const char	*known;		/* known-uids, or NULL */
	size_t		 knownlen;
};

/* SELECT's optional parameters: (CONDSTORE) and (QRESYNC (...)). */
static int
select_params(struct imap_sess *s, const struct imap_arg *a,
    struct qresync_arg *q)
{
	const struct imap_arg *p, *v;

	memset(q, 0, sizeof(*q));
	if (a == NULL)
		return 0;
	if (a->type != IMAP_ARG_LIST || a->next != NULL) {
		imap_bad(s, "Invalid SELECT parameters");
		return -1;
	}
	for (p = a->list; p != NULL; p = p->next) {
		if (imap_arg_is(p, "CONDSTORE")) {
			s->condstore = 1;
			continue;
		}
		if (!imap_arg_is(p, "QRESYNC") || (v = p->next) == NULL ||
		    v->type != IMAP_ARG_LIST) {
			imap_bad(s, "Unknown SELECT parameter");
			return -1;
		}
		if (!s->qresync) {
			imap_bad(s, "QRESYNC is not enabled (ENABLE QRESYNC)");
			return -1;
		}
		p = v;
		v = v->list;
		if (v == NULL || imap_arg_nznumber(v, &q->uidvalidity) == -1 ||
		    v->next == NULL ||
		    imap_arg_modseq(v->next, &q->modseq, 0) == -1 ||
		    (v->next->next != NULL &&
		    imap_arg_seqset(v->next->next, &q->known,
		    &q->knownlen) == -1)) {
			imap_bad(s, "Invalid QRESYNC parameters");
			return -1;
		}
		/* The sequence-match pair is an optimisation: ignored. */
		q->given = 1;
	}
	return 0;
}

/*
 * QRESYNC (RFC 7162 3.2.5.2): what vanished and what changed since the
 * client's MODSEQ, when its UIDVALIDITY is still ours.
 */
static void
qresync_report(struct imap_sess *s, const struct qresync_arg *q,
    struct buf *b)
{
	struct imap_seqset	 known = { NULL, 0 };
	uint32_t		*u = NULL;
	size_t			 n = 0, i, k;
	int			 complete = 1;

	if (!q->given || q->uidvalidity != mailindex_uidvalidity(s->sel))
		return;
	if (q->known != NULL && imap_seqset_parse(&known, q->known,
	    q->knownlen, mailindex_uidnext(s->sel), IMAP_SEQSET_MAX) == -1)
		return;
	if (mailindex_expunged_since(s->sel, q->modseq, &u, &n,
	    &complete) == 0) {
		size_t mark = b->len;

		if (!complete) {
			/*
			 * History lost: every UID the client may know that
			 * we no longer have (3.2.5.1 allows it).
			 */
			(void)buf_puts(b, "* VANISHED (EARLIER) ");
			if (imap_write_missing(b, q->known != NULL ? &known :
			    NULL, s->sel))
				(void)buf_puts(b, "\r\n");
			else
				b->len = mark;
		} else {
			for (i = k = 0; i < n; i++)
				if (q->known == NULL ||
				    imap_seqset_has(&known, u[i]))
					u[k++] = u[i];
			if (k > 0) {
				(void)buf_puts(b, "* VANISHED (EARLIER) ");
				imap_write_uidset(b, u, k);
				(void)buf_puts(b, "\r\n");
			}
		}
	}
	free(u);
	u = NULL;
	if (mailindex_changed_since(s->sel, q->modseq, &u, &n) == 0)
		for (i = 0; i < n; i++) {
			struct mailindex_msg m;

			if (mailindex_get(s->sel, u[i], &m) != 1)
				continue;
			(void)buf_printf(b, "* %zu FETCH (UID %u FLAGS ",
			    mailindex_uid_seq(s->sel, u[i]), u[i]);
			imap_write_flags(b, s->sel, &m.flags,
			    imap_sess_recent(s, u[i]));
			(void)buf_printf(b, " MODSEQ (%llu))\r\n",
			    (unsigned long long)m.modseq);
		}
	free(u);
	imap_seqset_free(&known);
}

void
imap_cmd_select(struct imap_sess *s, int examine)
{
	struct mailindex_changes ch;
	struct mailindex_folder	*f;
	struct qresync_arg	 q;
	char			 name[MAILBOX_NAME_MAX + 1];
	char			 path[IMAP_PATH_MAX];
	struct buf		 b;
	int			 had = s->sel != NULL;

	if (s->req.nargs < 1 || s->req.nargs > 2) {
		imap_bad(s, "%s needs a mailbox name", s->req.name);
		return;
	}
	/* RFC 3501 6.3.1: a failed SELECT leaves none selected, too. */
	imap_sess_unselect(s);
	if (had && s->qresync)
		netio_printf(&s->io, "* OK [CLOSED] Previous mailbox closed.\r\n");
	if (select_params(s, imap_req_arg(&s->req, 1), &q) == -1)
		return;
	if ((f = imap_folder_open_arg(s, imap_req_arg(&s->req, 0), 0, name,
	    path)) == NULL)
		return;
	memset(&ch, 0, sizeof(ch));
	if (mailindex_sync(f, examine ? 0 : MAILINDEX_SYNC_NEW_TO_CUR,
	    &ch) == -1) {
		log_warn("user=<%s>: sync %s", s->user, path);
		mailindex_folder_close(f);
		imap_no(s, errno == ENOENT ? "[NONEXISTENT] Mailbox doesn't "
		    "exist: %s" : "[SERVERBUG] Cannot read the mailbox %s",
		    name);
		return;
	}
	s->sel = f;
	s->readonly = examine;
	strlcpy(s->selname, name, sizeof(s->selname));
	strlcpy(s->selpath, path, sizeof(s->selpath));
	if (ch.nrecent > 0 && (s->recent = reallocarray(NULL, ch.nrecent,
	    sizeof(*s->recent))) != NULL) {
		memcpy(s->recent, ch.recent, ch.nrecent * sizeof(*s->recent));
		s->nrecent = ch.nrecent;
	}
	mailindex_changes_free(&ch);
	buf_init(&b, 0);
	write_flag_lists(s, &b);
	(void)buf_printf(&b, "* %zu EXISTS\r\n* %zu RECENT\r\n",
	    mailindex_count(f), s->nrecent);
	(void)buf_printf(&b, "* OK [UIDVALIDITY %u] UIDs valid\r\n"
	    "* OK [UIDNEXT %u] Predicted next UID\r\n"
	    "* OK [HIGHESTMODSEQ %llu] Highest\r\n",
	    mailindex_uidvalidity(f), mailindex_uidnext(f),
	    (unsigned long long)mailindex_highestmodseq(f));
	qresync_report(s, &q, &b);
	imap_send(s, &b);
	buf_free(&b);
	imap_ok(s, "[%s] %s completed.", examine ? "READ-ONLY" : "READ-WRITE",
	    examine ? "Examine" : "Select");
}

/* The selected folder's UIDs with \Deleted, among only (NULL: all). */
static int
deleted_uids(struct imap_sess *s, const uint32_t *only, size_t nonly,
    uint32_t **out, size_t *nout)
{
	const uint32_t		*view;
	size_t			 nview, i;
	struct mailindex_msg	 m;
	uint32_t		*u;

	*out = NULL;
	*nout = 0;
	if (only == NULL)
		only = view = mailindex_uids(s->sel, &nview);
	else
		nview = nonly;
	if ((u = reallocarray(NULL, nview > 0 ? nview : 1, sizeof(*u))) == NULL)
		return -1;
	for (i = 0; i < nview; i++)
		if (mailindex_get(s->sel, only[i], &m) == 1 &&
		    (m.flags.sys & KEYWORDS_TRASHED))
			u[(*nout)++] = only[i];
	*out = u;
	return 0;
}

static int
expunge_deleted(struct imap_sess *s, const uint32_t *only, size_t nonly)
{
	uint32_t	*u;
	size_t		 n;
	int		 rc;

	if (deleted_uids(s, only, nonly, &u, &n) == -1)
		return -1;
	rc = n > 0 ? mailindex_expunge_deleted(s->sel, u, n) : 0;
	free(u);
	return rc;
}

void
imap_cmd_close(struct imap_sess *s, int expunge)
{
	if (s->req.nargs != 0) {
		imap_bad(s, "%s takes no arguments", s->req.name);
		return;
	}
	/* CLOSE expunges silently (RFC 3501 6.4.2); EXAMINE never. */
	if (expunge && !s->readonly && expunge_deleted(s, NULL, 0) == -1)
		log_warn("user=<%s>: CLOSE: expunge in %s", s->user,
		    s->selpath);
	imap_sess_unselect(s);
	s->sync_ok = 0;
	imap_ok(s, "%s completed.", s->req.name);
}

void
imap_cmd_expunge(struct imap_sess *s, int uid)
{
	uint32_t	*only = NULL;
	size_t		 nonly = 0;

	if (s->readonly) {
		imap_no(s, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (uid ? s->req.nargs != 1 : s->req.nargs != 0) {
		imap_bad(s, uid ? "UID EXPUNGE needs a UID set" :
		    "EXPUNGE takes no arguments");
		return;
	}
	if (uid && imap_set_uids(s, imap_req_arg(&s->req, 0), 1, &only,
	    &nonly) == -1)
		return;
	if ((!uid || nonly > 0) && expunge_deleted(s, only, nonly) == -1) {
		free(only);
		log_warn("user=<%s>: EXPUNGE in %s", s->user, s->selpath);
		imap_no(s, "[SERVERBUG] Expunge failed");
		return;
	}
	free(only);
	/* imap_ok syncs first: the EXPUNGE responses, then the OK. */
	imap_ok(s, "Expunge completed.");
}

static int
status_item_ok(const struct imap_arg *a)
{
	return imap_arg_is(a, "MESSAGES") || imap_arg_is(a, "RECENT") ||
	    imap_arg_is(a, "UIDNEXT") || imap_arg_is(a, "UIDVALIDITY") ||
	    imap_arg_is(a, "UNSEEN") || imap_arg_is(a, "HIGHESTMODSEQ");
}

/*
 * "* STATUS name (...)" of the folder f (opened, not synced) into out;
 * -1 when it cannot be read (nothing written). Closes f.
 */
static int
status_write(struct mailindex_folder *f, const char *name,
    const struct imap_arg *items, struct buf *out)
{
	const struct imap_arg	*a;
	const uint32_t		*view;
	size_t			 n, i, unseen = 0, recent = 0;
	struct mailindex_msg	 m;
	const char		*sep = "";

	if (mailindex_sync(f, 0, NULL) == -1) {
		mailindex_folder_close(f);
		return -1;
	}
	view = mailindex_uids(f, &n);
	for (i = 0; i < n; i++)
		if (mailindex_get(f, view[i], &m) == 1) {
			unseen += !(m.flags.sys & KEYWORDS_SEEN);
			recent += m.in_new;
		}
	(void)buf_puts(out, "* STATUS ");
	(void)imap_write_astring(out, name, strlen(name));
	(void)buf_puts(out, " (");
	for (a = items->list; a != NULL; a = a->next, sep = " ") {
		if (imap_arg_is(a, "MESSAGES"))
			(void)buf_printf(out, "%sMESSAGES %zu", sep, n);
		else if (imap_arg_is(a, "RECENT"))
			(void)buf_printf(out, "%sRECENT %zu", sep, recent);
		else if (imap_arg_is(a, "UIDNEXT"))
			(void)buf_printf(out, "%sUIDNEXT %u", sep,
			    mailindex_uidnext(f));
		else if (imap_arg_is(a, "UIDVALIDITY"))
			(void)buf_printf(out, "%sUIDVALIDITY %u", sep,
			    mailindex_uidvalidity(f));
		else if (imap_arg_is(a, "UNSEEN"))
			(void)buf_printf(out, "%sUNSEEN %zu", sep, unseen);
		else
			(void)buf_printf(out, "%sHIGHESTMODSEQ %llu", sep,
			    (unsigned long long)mailindex_highestmodseq(f));
	}
	(void)buf_puts(out, ")\r\n");
	mailindex_folder_close(f);
	return 0;
}

int
imap_status_cb(void *arg, const char *name, const struct imap_arg *items,
    struct buf *out)
{
	struct imap_sess	*s = arg;
	struct mailindex_folder	*f;
	const struct imap_arg	*a;
	char			 path[IMAP_PATH_MAX];

	if (items == NULL || items->type != IMAP_ARG_LIST || items->n == 0)
		return -1;
	for (a = items->list; a != NULL; a = a->next)
		if (!status_item_ok(a))
			return -1;
	if (imap_folder_path(name, path, sizeof(path)) == -1 ||
	    (f = mailindex_folder_open(s->ix, path)) == NULL)
		return -1;
	return status_write(f, name, items, out);
}

/* STATUS (RFC 3501 6.3.10): the items of one folder. */
void
imap_cmd_status(struct imap_sess *s)
{
	const struct imap_arg	*items = imap_req_arg(&s->req, 1), *a;
	struct mailindex_folder	*f;
	char			 name[MAILBOX_NAME_MAX + 1];
	char			 path[IMAP_PATH_MAX];
	struct buf		 b;

	if (s->req.nargs != 2 || items->type != IMAP_ARG_LIST ||
	    items->n == 0) {
		imap_bad(s, "STATUS needs a mailbox and a list of items");
		return;
	}
	for (a = items->list; a != NULL; a = a->next)
		if (!status_item_ok(a)) {
			imap_bad(s, "Unknown STATUS item");
			return;
		}
	/* Names the folder, or answers why not. */
	if ((f = imap_folder_open_arg(s, imap_req_arg(&s->req, 0), 0, name,
	    path)) == NULL)
		return;
	buf_init(&b, 0);
	if (status_write(f, name, items, &b) == -1) {
		buf_free(&b);
		imap_no(s, "[SERVERBUG] Cannot read the mailbox %s", name);
		return;
	}
	imap_send(s, &b);
	buf_free(&b);
	imap_ok(s, "Status completed.");
}
