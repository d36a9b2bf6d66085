/*
 * imap_append.c - APPEND (RFC 3501 6.3.11, LITERAL+ of RFC 7888,
 * APPENDUID of UIDPLUS, RFC 4315): one message, with its flags and
 * INTERNALDATE, into a folder's cur/ with a UID.
 *
 * Runs in the mail process, chrooted in the user's directory as
 * mail_user. imap_reader has already read the literal whole (at most
 * message_size_limit, refused at its announcement); the bytes are the
 * client's and stored as they came.
 */
#include <errno.h>
#include <string.h>

#include "imap_folder.h"
#include "imap_sess.h"
#include "log.h"

void
imap_cmd_append(struct imap_sess *s)
{
	const struct imap_arg	*a = imap_req_arg(&s->req, 1), *msg;
	struct mailindex_folder	*f;
	struct imap_flags	 in;
	struct keywords_flags	 fl;
	const char		*name;
	size_t			 len;
	char			 path[IMAP_PATH_MAX], nm[MAILBOX_NAME_MAX + 1];
	time_t			 idate = 0;
	int			 zone, own = 0;
	uint32_t		 uid;

	memset(&in, 0, sizeof(in));
	if (a != NULL && a->type == IMAP_ARG_LIST) {
		if (imap_flaglist_parse(a, &in) == -1) {
			imap_bad(s, "Invalid flags in APPEND");
			return;
		}
		a = a->next;
	}
	if (a != NULL && a->type == IMAP_ARG_QUOTED && a->next != NULL) {
		if (imap_arg_datetime(a, &idate, &zone) == -1) {
			imap_bad(s, "Invalid date-time in APPEND");
			return;
		}
		a = a->next;
	}
	msg = a;
	if (msg == NULL || msg->next != NULL ||
	    (msg->type != IMAP_ARG_LITERAL && msg->type != IMAP_ARG_QUOTED)) {
		imap_bad(s, "APPEND needs a mailbox and a message literal");
		return;
	}
	if (msg->len == 0) {
		imap_no(s, "Cannot save an empty message");
		return;
	}
	if (imap_arg_mailbox(imap_req_arg(&s->req, 0), &name, &len) == 0 &&
	    imap_folder_path(name, path, sizeof(path)) == 0 &&
	    s->sel != NULL && strcmp(path, s->selpath) == 0) {
		own = 1;
		f = s->sel;
	} else if ((f = imap_folder_open_arg(s, imap_req_arg(&s->req, 0), 1,
	    nm, path)) == NULL)
		return;
	else if (mailindex_sync(f, 0, NULL) == -1) {
		mailindex_folder_close(f);
		imap_no(s, "[SERVERBUG] Cannot open the mailbox");
		return;
	}
	if (imap_flags_to_index(s, f, &in, &fl, 1) == -1)
		goto out;
	if (mailindex_append(f, msg->s, msg->len, &fl, idate, &uid) == -1) {
		int e = errno;

		log_warn("user=<%s>: APPEND to %s", s->user, path);
		imap_no(s, e == ENOSPC || e == EDQUOT ?
		    "[OVERQUOTA] Not enough disk space" :
		    "[SERVERBUG] Cannot save the message");
		goto out;
	}
	s->nappend++;
	/* 0: saved, but numbered at the next sync (no uidlist lock now). */
	if (uid != 0)
		imap_ok(s, "[APPENDUID %u %u] Append completed.",
		    mailindex_uidvalidity(f), uid);
	else
		imap_ok(s, "Append completed.");
out:
	if (!own)
		mailindex_folder_close(f);
}
