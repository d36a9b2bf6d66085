/*
 * imap_store.c - the commands that change messages of the selected
 * folder: STORE and UID STORE (RFC 3501 6.4.6, with CONDSTORE's
 * UNCHANGEDSINCE, RFC 7162 3.1.3), COPY and UID COPY (6.4.7, with
 * UIDPLUS's COPYUID, RFC 4315), MOVE and UID MOVE (RFC 6851).
 *
 * Runs in the mail process, chrooted in the user's directory as
 * mail_user. Flags become file names through libcommon/mailindex
 * (Dovecot's letters and dovecot-keywords); copies are hard links.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "imap_sess.h"
#include "log.h"

static int
store_item(const struct imap_arg *a, enum mailindex_flag_op *op,
    int *silent)
{
	const char	*n;
	size_t		 len;

	if (a == NULL || a->type != IMAP_ARG_ATOM)
		return -1;
	n = a->s;
	len = a->len;
	*op = MAILINDEX_FLAGS_SET;
	if (n[0] == '+' || n[0] == '-') {
		*op = n[0] == '+' ? MAILINDEX_FLAGS_ADD : MAILINDEX_FLAGS_REMOVE;
		n++;
		len--;
	}
	if (len == 5 && strncasecmp(n, "FLAGS", 5) == 0)
		*silent = 0;
	else if (len == 12 && strncasecmp(n, "FLAGS.SILENT", 12) == 0)
		*silent = 1;
	else
		return -1;
	return 0;
}

void
imap_cmd_store(struct imap_sess *s, int uid)
{
	const struct imap_arg	*a = imap_req_arg(&s->req, 1), *p;
	struct imap_flags	 in;
	struct keywords_flags	 fl;
	enum mailindex_flag_op	 op;
	uint64_t		 unchangedsince = 0;
	uint32_t		*uids, *failed = NULL;
	size_t			 n, nfailed = 0, i, nflags;
	struct mailindex_msg	 m;
	struct buf		 b;
	int			 silent;

	if (a != NULL && a->type == IMAP_ARG_LIST) {
		/* (UNCHANGEDSINCE n), RFC 7162 3.1.3 */
		if (a->n != 2 || !imap_arg_is(a->list, "UNCHANGEDSINCE") ||
		    imap_arg_modseq(a->list->next, &unchangedsince, 1) == -1) {
			imap_bad(s, "Invalid STORE modifiers");
			return;
		}
		s->condstore = 1;
		a = a->next;
	}
	for (p = a != NULL ? a->next : NULL, nflags = 0; p != NULL;
	    p = p->next)
		nflags++;
	if (store_item(a, &op, &silent) == -1 || nflags == 0 ||
	    (a->next->type == IMAP_ARG_LIST ? (nflags != 1 ||
	    imap_flaglist_parse(a->next, &in) == -1) :
	    imap_flags_parse(a->next, nflags, &in) == -1)) {
		imap_bad(s, "Invalid STORE arguments");
		return;
	}
	if (s->readonly) {
		imap_no(s, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (imap_set_uids(s, imap_req_arg(&s->req, 0), uid, &uids, &n) == -1)
		return;
	if (imap_flags_to_index(s, s->sel, &in, &fl,
	    op != MAILINDEX_FLAGS_REMOVE) == -1) {
		free(uids);
		return;
	}
	/* UNCHANGEDSINCE 0 fails every message (RFC 7162 3.1.3). */
	if (mailindex_store(s->sel, uids, n, op, &fl, unchangedsince,
	    unchangedsince ? &failed : NULL, &nfailed) == -1) {
		free(uids);
		log_warn("user=<%s>: STORE in %s", s->user, s->selpath);
		imap_no(s, "[SERVERBUG] Cannot change the flags");
		return;
	}
	s->nstore++;
	buf_init(&b, 0);
	/* Before the FETCHes that show a keyword the client never saw. */
	imap_flags_announce(s, &b);
	for (i = 0; i < n; i++) {
		if (failed != NULL && nfailed > 0 &&
		    bsearch(&uids[i], failed, nfailed, sizeof(*failed),
		    imap_cmp_u32) != NULL)
			continue;
		/* CONDSTORE: the new MODSEQ is sent even when silent. */
		if ((silent && !s->condstore) ||
		    mailindex_get(s->sel, uids[i], &m) != 1)
			continue;
		(void)buf_printf(&b, "* %zu FETCH (",
		    mailindex_uid_seq(s->sel, uids[i]));
		if (uid)
			(void)buf_printf(&b, "UID %u ", uids[i]);
		if (!silent) {
			(void)buf_puts(&b, "FLAGS ");
			imap_write_flags(&b, s->sel, &m.flags,
			    imap_sess_recent(s, uids[i]));
		}
		if (s->condstore)
			(void)buf_printf(&b, "%sMODSEQ (%llu)", silent ? "" :
			    " ", (unsigned long long)m.modseq);
		(void)buf_puts(&b, ")\r\n");
	}
	imap_send(s, &b);
	if (nfailed > 0) {
		(void)buf_puts(&b, "[MODIFIED ");
		if (uid)
			imap_write_uidset(&b, failed, nfailed);
		else {
			uint32_t *seqs = failed;

			for (i = 0; i < nfailed; i++)
				seqs[i] = (uint32_t)mailindex_uid_seq(s->sel,
				    failed[i]);
			imap_write_uidset(&b, seqs, nfailed);
		}
		(void)buf_puts(&b, "] Conditional STORE failed");
		if (buf_cstr(&b) == 0)
			imap_ok(s, "%s", b.data);
	} else
		imap_ok(s, "Store completed.");
	buf_free(&b);
	free(failed);
	free(uids);
}

void
imap_cmd_copy(struct imap_sess *s, int uid, int move)
{
	struct mailindex_folder	*dst;
	size_t			 n, i, k;
	char			 path[IMAP_PATH_MAX], nm[MAILBOX_NAME_MAX + 1];
	uint32_t		*uids, *duids;
	struct buf		 b;

	if (s->req.nargs != 2) {
		imap_bad(s, "%s needs a message set and a mailbox",
		    s->req.name);
		return;
	}
	if (move && s->readonly) {
		imap_no(s, "[READ-ONLY] Mailbox is read-only");
		return;
	}
	if (imap_set_uids(s, imap_req_arg(&s->req, 0), uid, &uids, &n) == -1)
		return;
	if ((dst = imap_folder_open_arg(s, imap_req_arg(&s->req, 1), 1, nm,
	    path)) == NULL || mailindex_sync(dst, 0, NULL) == -1) {
		if (dst != NULL) {
			mailindex_folder_close(dst);
			imap_no(s, "[SERVERBUG] Cannot open the mailbox %s", nm);
		}
		free(uids);
		return;
	}
	if ((duids = calloc(n > 0 ? n : 1, sizeof(*duids))) == NULL ||
	    (n > 0 && mailindex_copy(s->sel, uids, n, dst, duids,
	    move) == -1)) {
		log_warn("user=<%s>: %s to %s", s->user, s->req.name, path);
		free(duids);
		free(uids);
		mailindex_folder_close(dst);
		imap_no(s, "[SERVERBUG] %s failed", s->req.name);
		return;
	}
	/* COPYUID pairs only the messages that were copied. */
	for (i = k = 0; i < n; i++)
		if (duids[i] != 0) {
			uids[k] = uids[i];
			duids[k++] = duids[i];
		}
	buf_init(&b, 0);
	if (k > 0) {
		(void)buf_printf(&b, "[COPYUID %u ",
		    mailindex_uidvalidity(dst));
		imap_write_uidset(&b, uids, k);
		(void)buf_puts(&b, " ");
		imap_write_uidset(&b, duids, k);
		(void)buf_puts(&b, "] ");
	}
	(void)buf_puts(&b, move ? "Move completed." : "Copy completed.");
	mailindex_folder_close(dst);
	if (buf_cstr(&b) == -1)
		imap_no(s, "[SERVERBUG] Out of memory");
	else if (move) {
		/* RFC 6851 4.3: COPYUID untagged, then the expunges. */
		netio_printf(&s->io, "* OK %s\r\n", b.data);
		imap_ok(s, "Move completed.");
	} else
		imap_ok(s, "%s", b.data);
	buf_free(&b);
	free(duids);
	free(uids);
}
