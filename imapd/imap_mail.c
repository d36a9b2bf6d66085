/*
 * imap_mail.c - the mail process of one IMAP session: confinement to
 * one user's directory, the command loop of the authenticated and
 * selected states (RFC 3501 6.3, 6.4), and what every command shares:
 * the answers, the untagged updates after a command, flags, sets, dates.
 * The commands themselves are in imap_select.c, imap_fetch.c,
 * imap_store.c, imap_append.c and imap_idle.c; the folder commands in
 * imap_cmd_folder.c; SEARCH in imap_cmd_search.c (on imap_search.c).
 *
 * Started by the root parent (libcommon's login layer) after authd
 * accepted the credentials, with the client, the bytes the login process
 * had read past the login command, and that command's tag. It chroots in
 * <mail_store>/<domain>/<user> and drops to mail_user for good before it
 * reads a byte (login_post_confine); from then on it trusts nothing the
 * client sends, and touches only the Maildir, its index (IMAP_INDEX_DIR)
 * and the last-login record. Messages are read from the Maildir; the
 * index is a cache (libcommon/mailindex.h) and the folders'
 * dovecot-uidlist files hold the UIDs.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imap_folder.h"
#include "imap_seqset.h"
#include "imap_sess.h"
#include "imapd.h"
#include "lastlogin.h"
#include "log.h"
#include "login.h"

static void __attribute__((format(printf, 3, 0)))
answer(struct imap_sess *s, const char *kind, const char *fmt, va_list ap)
{
	/* No ceiling: a COPYUID or MODIFIED set may be long. */
	char *text = NULL;

	if (vasprintf(&text, fmt, ap) == -1)
		text = NULL;
	/* What changed meanwhile, before the command's completion. */
	if (s->sync_ok && strcmp(kind, "OK") == 0) {
		s->sync_ok = 0;
		(void)imap_sess_sync(s);
	}
	if (netio_printf(&s->io, "%s %s ", s->req.tag != NULL ? s->req.tag :
	    "*", kind) == -1 || netio_write(&s->io, text != NULL ? text :
	    "[SERVERBUG] Out of memory", text != NULL ? strlen(text) : 25) ==
	    -1 || netio_write(&s->io, "\r\n", 2) == -1)
		s->io.broken = 1;
	free(text);
}

void
imap_ok(struct imap_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	answer(s, "OK", fmt, ap);
	va_end(ap);
}

void
imap_no(struct imap_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	answer(s, "NO", fmt, ap);
	va_end(ap);
}

/* A command we could not make sense of: a confused or probing client. */
void
imap_bad(struct imap_sess *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	answer(s, "BAD", fmt, ap);
	va_end(ap);
	if (++s->errors >= IMAP_ERRORS_MAX)
		imap_sess_exit(s, "Too many invalid IMAP commands.", "errors");
}

void
imap_sess_exit(struct imap_sess *s, const char *bye, const char *why)
{
	if (bye != NULL)
		netio_printf(&s->io, "* BYE %s\r\n", bye);
	(void)netio_flush(&s->io);
	log_info("logout: user=<%s>, client=[%s], fetch=%lu, store=%lu, "
	    "expunged=%lu, append=%lu, reason=%s", s->user, s->ip, s->nfetch,
	    s->nstore, s->nexpunged, s->nappend, why);
	imap_sess_unselect(s);
	if (s->ix != NULL)
		mailindex_close(s->ix);
	imap_request_free(&s->req);
	imap_cmd_free(&s->cmd);
	imap_reader_free(&s->rd);
	free(s->rbuf);
	buf_free(&s->envscratch);
	netio_free(&s->io);
	_exit(0);
}

void
imap_send(struct imap_sess *s, struct buf *b)
{
	if (b->len > 0 && netio_write(&s->io, b->data, b->len) == -1)
		imap_sess_exit(s, NULL, "connection error");
	buf_reset(b);
	if (netio_flush(&s->io) == -1)
		imap_sess_exit(s, NULL, "connection error");
}

/* Dovecot's letters for the system flags, and IMAP's names for them. */
static const struct {
	uint32_t	 bit;
	unsigned	 imap;
	const char	*name;
} sysflags[] = {
	{ KEYWORDS_SEEN, IMAP_FLAG_SEEN, "\\Seen" },
	{ KEYWORDS_REPLIED, IMAP_FLAG_ANSWERED, "\\Answered" },
	{ KEYWORDS_FLAGGED, IMAP_FLAG_FLAGGED, "\\Flagged" },
	{ KEYWORDS_TRASHED, IMAP_FLAG_DELETED, "\\Deleted" },
	{ KEYWORDS_DRAFT, IMAP_FLAG_DRAFT, "\\Draft" },
};
#define NSYSFLAGS	(sizeof(sysflags) / sizeof(sysflags[0]))

void
imap_write_flags(struct buf *b, struct mailindex_folder *f,
    const struct keywords_flags *fl, int recent)
{
	const char	*sep = "";
	const char	*kw;
	size_t		 i;

	(void)buf_puts(b, "(");
	for (i = 0; i < NSYSFLAGS; i++)
		if (fl->sys & sysflags[i].bit) {
			(void)buf_printf(b, "%s%s", sep, sysflags[i].name);
			sep = " ";
		}
	for (i = 0; i < KEYWORDS_MAX; i++)
		if ((fl->kw & (1u << i)) &&
		    (kw = mailindex_keyword_name(f, (int)i)) != NULL) {
			(void)buf_printf(b, "%s%s", sep, kw);
			sep = " ";
		}
	if (recent)
		(void)buf_printf(b, "%s\\Recent", sep);
	(void)buf_puts(b, ")");
}

int
imap_flags_to_index(struct imap_sess *s, struct mailindex_folder *f,
    const struct imap_flags *in, struct keywords_flags *out, int create)
{
	size_t	i;
	int	k;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < NSYSFLAGS; i++)
		if (in->sys & sysflags[i].imap)
			out->sys |= sysflags[i].bit;
	for (i = 0; i < in->nkw; i++) {
		if ((k = mailindex_keyword(f, in->kw[i], create)) >= 0) {
			out->kw |= 1u << k;
			continue;
		}
		if (errno == ENOENT)	/* removing one nobody has */
			continue;
		if (errno == ENOSPC)
			imap_no(s, "[LIMIT] Too many keywords in this mailbox "
			    "(at most %d)", KEYWORDS_MAX);
		else if (errno == EINVAL)
			imap_no(s, "Invalid keyword %s", in->kw[i]);
		else
			imap_no(s, "[SERVERBUG] Cannot update the keywords");
		return -1;
	}
	return 0;
}

struct mailindex_folder *
imap_folder_open_arg(struct imap_sess *s, const struct imap_arg *a,
    int trycreate, char name[MAILBOX_NAME_MAX + 1], char path[IMAP_PATH_MAX])
{
	struct mailindex_folder	*f;
	const char		*n;
	size_t			 len;

	if (a == NULL || imap_arg_mailbox(a, &n, &len) == -1) {
		imap_bad(s, "Invalid mailbox name");
		return NULL;
	}
	if (len > MAILBOX_NAME_MAX || memchr(n, '\0', len) != NULL ||
	    imap_folder_path(n, path, IMAP_PATH_MAX) == -1) {
		imap_no(s, "[CANNOT] Invalid mailbox name");
		return NULL;
	}
	memcpy(name, n, len);
	name[len] = '\0';
	if ((f = mailindex_folder_open(s->ix, path)) != NULL)
		return f;
	if (errno == ENOENT || errno == ENOTDIR)
		imap_no(s, "[%s] Mailbox doesn't exist: %s", trycreate ?
		    "TRYCREATE" : "NONEXISTENT", name);
	else {
		log_warn("user=<%s>: open %s", s->user, path);
		imap_no(s, "[SERVERBUG] Cannot open the mailbox %s", name);
	}
	return NULL;
}

int
imap_cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
imap_set_uids(struct imap_sess *s, const struct imap_arg *a, int uid,
    uint32_t **uidsp, size_t *np)
{
	struct imap_seqset	 set = { NULL, 0 };
	struct imap_seqset_iter	 it = { 0, 0 };
	const uint32_t		*view;
	const char		*p;
	size_t			 len, nview, i, n = 0;
	uint32_t		*uids, v;

	*uidsp = NULL;
	*np = 0;
	view = mailindex_uids(s->sel, &nview);
	if (a == NULL || imap_arg_seqset(a, &p, &len) == -1 ||
	    imap_seqset_parse(&set, p, len, uid ? (nview > 0 ? view[nview - 1] :
	    0) : (uint32_t)nview, IMAP_SEQSET_MAX) == -1) {
		imap_bad(s, "Invalid message set");
		return -1;
	}
	if (!uid && imap_seqset_max(&set) > nview) {
		imap_seqset_free(&set);
		imap_bad(s, "No such message (the mailbox has %zu)", nview);
		return -1;
	}
	if ((uids = reallocarray(NULL, nview > 0 ? nview : 1,
	    sizeof(*uids))) == NULL) {
		imap_seqset_free(&set);
		imap_no(s, "[SERVERBUG] Out of memory");
		return -1;
	}
	if (uid) {
		/* The smaller side drives: a huge set on a small mailbox. */
		if (imap_seqset_count(&set) < nview) {
			while (imap_seqset_next(&set, &it, &v))
				if (mailindex_uid_seq(s->sel, v) != 0)
					uids[n++] = v;
		} else {
			for (i = 0; i < nview; i++)
				if (imap_seqset_has(&set, view[i]))
					uids[n++] = view[i];
		}
	} else {
		/* "*" of an empty mailbox is 0: no message. */
		while (imap_seqset_next(&set, &it, &v))
			if (v >= 1 && v <= nview)
				uids[n++] = view[v - 1];
	}
	imap_seqset_free(&set);
	qsort(uids, n, sizeof(*uids), imap_cmp_u32);
	*uidsp = uids;
	*np = n;
	return 0;
}

void
imap_write_uidset(struct buf *b, const uint32_t *u, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i = j + 1) {
		for (j = i; j + 1 < n && u[j + 1] == u[j] + 1; j++)
			;
		if (j == i)
			(void)buf_printf(b, "%s%u", i ? "," : "", u[i]);
		else
			(void)buf_printf(b, "%s%u:%u", i ? "," : "", u[i],
			    u[j]);
	}
}

/* Appends lo:hi (or lo) to a set being written. */
static void
put_range(struct buf *b, int *first, uint32_t lo, uint32_t hi)
{
	if (lo == hi)
		(void)buf_printf(b, "%s%u", *first ? "" : ",", lo);
	else
		(void)buf_printf(b, "%s%u:%u", *first ? "" : ",", lo, hi);
	*first = 0;
}

int
imap_write_missing(struct buf *b, const struct imap_seqset *within,
    struct mailindex_folder *f)
{
	const uint32_t	*v;
	size_t		 n, i, j = 0;
	uint32_t	 glo, ghi, lo, hi, next = mailindex_uidnext(f);
	int		 first = 1;

	v = mailindex_uids(f, &n);
	/* Gap i is the UIDs below v[i] and above v[i - 1]; then the tail. */
	for (i = 0; i <= n; i++) {
		glo = i == 0 ? 1 : v[i - 1] + 1;
		if (i < n)
			ghi = v[i] - 1;
		else if (next > 1)
			ghi = next - 1;
		else
			break;
		if (glo > ghi)
			continue;
		if (within == NULL) {
			put_range(b, &first, glo, ghi);
			continue;
		}
		/* Both sorted: walk the client's ranges alongside. */
		while (j < within->n && within->r[j].hi < glo)
			j++;
		for (; j < within->n && within->r[j].lo <= ghi; j++) {
			lo = within->r[j].lo > glo ? within->r[j].lo : glo;
			hi = within->r[j].hi < ghi ? within->r[j].hi : ghi;
			put_range(b, &first, lo, hi);
			if (within->r[j].hi > ghi)
				break;
		}
	}
	return !first;
}

void
imap_write_datetime(struct buf *b, time_t t)
{
	struct tm	tm;
	char		out[64];

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(out, sizeof(out), "%d-%b-%Y %H:%M:%S %z", &tm) == 0)
		strlcpy(out, "01-Jan-1970 00:00:00 +0000", sizeof(out));
	(void)buf_printf(b, "\"%s\"", out);
}

int
imap_sess_recent(const struct imap_sess *s, uint32_t uid)
{
	return s->nrecent > 0 && bsearch(&uid, s->recent, s->nrecent,
	    sizeof(uid), imap_cmp_u32) != NULL;
}

static void
recent_add(struct imap_sess *s, const uint32_t *u, size_t n)
{
	uint32_t *r;

	if (n == 0 ||
	    (r = reallocarray(s->recent, s->nrecent + n, sizeof(*r))) == NULL)
		return;	/* \Recent is advisory (RFC 9051 drops it) */
	memcpy(r + s->nrecent, u, n * sizeof(*u));
	s->recent = r;
	s->nrecent += n;
	qsort(s->recent, s->nrecent, sizeof(*r), imap_cmp_u32);
}

/* Expunged UIDs are \Recent no more: RECENT counts what exists. */
static void
recent_drop(struct imap_sess *s, const uint32_t *u, size_t n)
{
	uint32_t	*gone;
	size_t		 i, j = 0, k = 0;

	/* Both sorted, then one merge walk. */
	if ((gone = reallocarray(NULL, n, sizeof(*gone))) == NULL)
		return;		/* advisory, as recent_add says */
	memcpy(gone, u, n * sizeof(*gone));
	qsort(gone, n, sizeof(*gone), imap_cmp_u32);
	for (i = 0; i < s->nrecent; i++) {
		while (j < n && gone[j] < s->recent[i])
			j++;
		if (j == n || gone[j] != s->recent[i])
			s->recent[k++] = s->recent[i];
	}
	s->nrecent = k;
	free(gone);
}

void
imap_sess_unselect(struct imap_sess *s)
{
	if (s->sel != NULL)
		mailindex_folder_close(s->sel);
	s->sel = NULL;
	s->selname[0] = '\0';
	free(s->recent);
	s->recent = NULL;
	s->nrecent = 0;
}

/* "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])" for one changed message. */
static void
write_flag_update(struct imap_sess *s, struct buf *b, uint32_t uid)
{
	struct mailindex_msg	m;
	size_t			seq = mailindex_uid_seq(s->sel, uid);

	if (seq == 0 || mailindex_get(s->sel, uid, &m) != 1)
		return;
	(void)buf_printf(b, "* %zu FETCH (UID %u FLAGS ", seq, uid);
	imap_write_flags(b, s->sel, &m.flags, imap_sess_recent(s, uid));
	if (s->condstore)
		(void)buf_printf(b, " MODSEQ (%llu)",
		    (unsigned long long)m.modseq);
	(void)buf_puts(b, ")\r\n");
}

int
imap_sess_sync(struct imap_sess *s)
{
	struct mailindex_changes ch;
	struct buf		 b;
	size_t			 i;

	if (s->sel == NULL)
		return 0;
	memset(&ch, 0, sizeof(ch));
	if (mailindex_sync(s->sel, s->readonly ? 0 : MAILINDEX_SYNC_NEW_TO_CUR,
	    &ch) == -1) {
		log_warn("user=<%s>: sync %s", s->user, s->selpath);
		return -1;
	}
	if (ch.uidvalidity_changed) {
		mailindex_changes_free(&ch);
		imap_sess_exit(s, "Mailbox UIDVALIDITY changed", "uidvalidity");
	}
	buf_init(&b, 0);
	imap_flags_announce(s, &b);
	if (ch.nexpunged > 0 && s->qresync) {
		(void)buf_puts(&b, "* VANISHED ");
		imap_write_uidset(&b, ch.expunged, ch.nexpunged);
		(void)buf_puts(&b, "\r\n");
	} else
		for (i = ch.nexpunged; i-- > 0;)
			(void)buf_printf(&b, "* %u EXPUNGE\r\n",
			    ch.expunged_seq[i]);
	if (s->nrecent > 0 && ch.nexpunged > 0)
		recent_drop(s, ch.expunged, ch.nexpunged);
	recent_add(s, ch.recent, ch.nrecent);
	if (ch.nadded > 0 || ch.nexpunged > 0)
		(void)buf_printf(&b, "* %zu EXISTS\r\n",
		    mailindex_count(s->sel));
	if (ch.nadded > 0 || ch.nrecent > 0)
		(void)buf_printf(&b, "* %zu RECENT\r\n", s->nrecent);
	for (i = 0; i < ch.nchanged; i++)
		write_flag_update(s, &b, ch.changed[i]);
	s->nexpunged += ch.nexpunged;
	mailindex_changes_free(&ch);
	imap_send(s, &b);
	buf_free(&b);
	return 0;
}

static void
cmd_capability(struct imap_sess *s)
{
	struct buf b;

	buf_init(&b, 1024);
	(void)buf_puts(&b, "* CAPABILITY ");
	imap_capability(&b, IMAP_CAP_AUTH, 0, 0);
	(void)buf_puts(&b, "\r\n");
	imap_send(s, &b);
	buf_free(&b);
	imap_ok(s, "Capability completed.");
}

/* ENABLE (RFC 5161): CONDSTORE and QRESYNC (which implies CONDSTORE). */
static void
cmd_enable(struct imap_sess *s)
{
	const struct imap_arg	*a;
	struct buf		 b;

	if (s->req.nargs == 0) {
		imap_bad(s, "ENABLE needs a capability");
		return;
	}
	buf_init(&b, 256);
	(void)buf_puts(&b, "* ENABLED");
	for (a = s->req.args; a != NULL; a = a->next) {
		if (a->type != IMAP_ARG_ATOM) {
			buf_free(&b);
			imap_bad(s, "ENABLE takes capability names");
			return;
		}
		if (imap_arg_is(a, "CONDSTORE") && !s->condstore) {
			s->condstore = 1;
			(void)buf_puts(&b, " CONDSTORE");
		} else if (imap_arg_is(a, "QRESYNC") && !s->qresync) {
			s->qresync = 1;
			s->condstore = 1;
			(void)buf_puts(&b, " QRESYNC");
		}
	}
	(void)buf_puts(&b, "\r\n");
	imap_send(s, &b);
	buf_free(&b);
	imap_ok(s, "Enabled.");
}

/* LIST, LSUB, CREATE, DELETE, RENAME, (UN)SUBSCRIBE, NAMESPACE. */
void
imap_cmd_folder(struct imap_sess *s)
{
	struct imap_folder_ctx	 ctx;
	struct imap_reply	 reply;
	struct buf		 b;

	memset(&ctx, 0, sizeof(ctx));
	memset(&reply, 0, sizeof(reply));
	ctx.ix = s->ix;
	ctx.selected = s->sel != NULL ? s->selname : NULL;
	ctx.status = imap_status_cb;
	ctx.status_arg = s;
	buf_init(&b, 0);
	imap_folder_command(&ctx, &s->req, &b, &reply);
	imap_send(s, &b);
	buf_free(&b);
	if (ctx.deleted_selected) {
		/* Its messages are gone with it: nothing is selected now. */
		imap_sess_unselect(s);
		s->sync_ok = 0;
		netio_printf(&s->io, "* OK [CLOSED] Selected mailbox was "
		    "deleted.\r\n");
	}
	switch (reply.code) {
	case IMAP_RES_OK:
		imap_ok(s, "%s", reply.text);
		break;
	case IMAP_RES_NO:
		imap_no(s, "%s", reply.text);
		break;
	case IMAP_RES_BAD:
		imap_bad(s, "%s", reply.text);
		break;
	}
}

static int
needs_selected(struct imap_sess *s)
{
	if (s->sel != NULL)
		return 0;
	imap_bad(s, "No mailbox selected");
	return -1;
}

static void
dispatch(struct imap_sess *s)
{
	const char	*name = s->req.name;
	int		 uid = s->req.uid;

	if (strcmp(name, "CAPABILITY") == 0)
		cmd_capability(s);
	else if (strcmp(name, "NOOP") == 0 || strcmp(name, "CHECK") == 0) {
		if (strcmp(name, "CHECK") == 0 && needs_selected(s) == -1)
			return;
		imap_ok(s, "%s completed.", name);
		return;
	} else if (strcmp(name, "LOGOUT") == 0) {
		netio_printf(&s->io, "* BYE Logging out\r\n");
		imap_ok(s, "Logout completed.");
		imap_sess_exit(s, NULL, "logout");
	} else if (strcmp(name, "ID") == 0) {
		netio_printf(&s->io, "* ID (\"name\" \"Postern\")\r\n");
		imap_ok(s, "ID completed.");
	} else if (strcmp(name, "ENABLE") == 0)
		cmd_enable(s);
	else if (strcmp(name, "SELECT") == 0 || strcmp(name, "EXAMINE") == 0) {
		imap_cmd_select(s, name[0] == 'E');
		return;
	} else if (strcmp(name, "STATUS") == 0)
		imap_cmd_status(s);
	else if (strcmp(name, "LIST") == 0 || strcmp(name, "LSUB") == 0 ||
	    strcmp(name, "CREATE") == 0 || strcmp(name, "DELETE") == 0 ||
	    strcmp(name, "RENAME") == 0 || strcmp(name, "SUBSCRIBE") == 0 ||
	    strcmp(name, "UNSUBSCRIBE") == 0 ||
	    strcmp(name, "NAMESPACE") == 0)
		imap_cmd_folder(s);
	else if (strcmp(name, "APPEND") == 0)
		imap_cmd_append(s);
	else if (strcmp(name, "IDLE") == 0) {
		imap_cmd_idle(s);
		return;
	} else if (strcmp(name, "LOGIN") == 0 ||
	    strcmp(name, "AUTHENTICATE") == 0 ||
	    strcmp(name, "STARTTLS") == 0)
		imap_bad(s, "Already logged in");
	else if (strcmp(name, "CLOSE") == 0 || strcmp(name, "UNSELECT") == 0) {
		if (needs_selected(s) == 0)
			imap_cmd_close(s, name[0] == 'C');
		return;
	} else if (strcmp(name, "EXPUNGE") == 0) {
		if (needs_selected(s) == 0)
			imap_cmd_expunge(s, uid);
		return;
	} else if (strcmp(name, "FETCH") == 0) {
		if (needs_selected(s) == 0)
			imap_cmd_fetch(s, uid);
		return;
	} else if (strcmp(name, "STORE") == 0) {
		if (needs_selected(s) == 0)
			imap_cmd_store(s, uid);
		return;
	} else if (strcmp(name, "SEARCH") == 0) {
		if (needs_selected(s) == 0)
			imap_cmd_search(s, uid);
		return;
	} else if (strcmp(name, "COPY") == 0 || strcmp(name, "MOVE") == 0) {
		if (needs_selected(s) == 0)
			imap_cmd_copy(s, uid, name[0] == 'M');
		return;
	} else
		imap_bad(s, "Unknown command %s", name);
}

/*
 * Whether the command's completion may come after untagged updates:
 * not FETCH, STORE or SEARCH by sequence number, which must not see
 * EXPUNGE (RFC 3501 7.4.1), nor the commands that report themselves.
 */
static int
updates_allowed(const struct imap_request *req)
{
	if (!req->uid && (strcmp(req->name, "FETCH") == 0 ||
	    strcmp(req->name, "STORE") == 0 ||
	    strcmp(req->name, "SEARCH") == 0))
		return 0;
	return strcmp(req->name, "SELECT") != 0 &&
	    strcmp(req->name, "EXAMINE") != 0 &&
	    strcmp(req->name, "IDLE") != 0 && strcmp(req->name, "LOGOUT") != 0;
}

/* The UID prefix only goes with these (RFC 3501 6.4.8, UIDPLUS, MOVE). */
static int
uid_allowed(const char *name)
{
	return strcmp(name, "FETCH") == 0 || strcmp(name, "STORE") == 0 ||
	    strcmp(name, "COPY") == 0 || strcmp(name, "MOVE") == 0 ||
	    strcmp(name, "SEARCH") == 0 || strcmp(name, "EXPUNGE") == 0;
}

static void
mail_loop(struct imap_sess *s)
{
	enum imap_rd_status st;

	for (;;) {
		st = imap_read_command(&s->rd, &s->cmd);
		switch (st) {
		case IMAP_RD_OK:
			break;
		case IMAP_RD_REJECT:
			netio_printf(&s->io, "%s %s\r\n", s->rd.tag, s->rd.resp);
			if (++s->errors >= IMAP_ERRORS_MAX)
				imap_sess_exit(s, "Too many invalid IMAP "
				    "commands.", "errors");
			continue;
		case IMAP_RD_CLOSE:
			imap_sess_exit(s, s->rd.resp, "protocol error");
		case IMAP_RD_TIMEOUT:
			imap_sess_exit(s, "Disconnected for inactivity.",
			    "idle");
		case IMAP_RD_EOF:
			imap_sess_exit(s, NULL, "disconnected");
		case IMAP_RD_ERROR:
			imap_sess_exit(s, NULL, "connection error");
		}
		if (imap_parse(&s->req, &s->cmd) == -1) {
			if (s->req.tag == NULL)
				netio_printf(&s->io, "* BAD %s\r\n", s->req.err);
			else
				imap_bad(s, "%s", s->req.err);
			continue;
		}
		if (s->req.uid && !uid_allowed(s->req.name)) {
			imap_bad(s, "UID %s is not a command", s->req.name);
			continue;
		}
		s->sync_ok = s->sel != NULL && updates_allowed(&s->req);
		dispatch(s);
		s->sync_ok = 0;
		if (netio_flush(&s->io) == -1)
			imap_sess_exit(s, NULL, "connection error");
	}
}

/* The literal's "+" (RFC 3501 7.5), after checking it fits. */
static int
literal_go(struct netio *io, size_t n, void *arg)
{
	(void)n;
	(void)arg;
	return netio_printf(io, "+ OK\r\n") == -1 ? -1 : 0;
}

void
imap_mail_run(const struct login_env *env, int client, const char *user,
    const char *ip, const unsigned char *state, size_t statelen,
    const unsigned char *left, size_t leftlen)
{
	static struct imap_sess	 s;
	const struct login_bind	 bind = { env->conf->imap_index_directory,
	    IMAP_INDEX_DIR };
	struct imap_limits	 lim;
	char			 tag[IMAP_TAG_MAX + 1];
	struct buf		 b;

	/*
	 * Static, so zero already: no memset, which would dirty every page
	 * of the session's buffers (netio's 16 KiB input) in every idle
	 * session; a page the session never touches is never allocated.
	 */
	s.env = env;
	s.user = user;
	s.ip = ip;
	/* The login command's tag, which this process answers. */
	if (statelen == 0 || statelen > IMAP_TAG_MAX)
		statelen = 1, state = (const unsigned char *)"*";
	memcpy(tag, state, statelen);
	tag[statelen] = '\0';
	s.req.tag = tag;
	netio_init(&s.io, client, env->conf->imap_timeout);
	/* INTERNALDATE in the server's zone: read before the chroot. */
	tzset();
	if (login_post_confine_bind(env, user, &bind) == -1) {
		imap_no(&s, "[UNAVAILABLE] Mailbox unavailable; try later.");
		imap_sess_exit(&s, NULL, "no mailbox");
	}
	if (netio_preload(&s.io, left, leftlen) == -1)
		imap_sess_exit(&s, "[SERVERBUG] Internal error", "memory");
	imap_limits_default(&lim);
	lim.timeout = env->conf->imap_timeout;
	if (env->conf->message_size_limit > 0 &&
	    env->conf->message_size_limit < lim.literal_max)
		lim.literal_max = (size_t)env->conf->message_size_limit;
	imap_cmd_init(&s.cmd);
	if (imap_reader_init(&s.rd, &s.io, &lim, literal_go, &s) == -1)
		imap_sess_exit(&s, "[SERVERBUG] Internal error", "memory");
	if (mkdir(IMAP_INDEX_DIR, 0700) == -1 && errno != EEXIST)
		log_warn("user=<%s>: mkdir %s", user, IMAP_INDEX_DIR);
	if ((s.ix = mailindex_open(IMAP_INDEX_DIR)) == NULL) {
		imap_no(&s, "[UNAVAILABLE] Mailbox index unavailable; try "
		    "later.");
		imap_sess_exit(&s, NULL, "index error");
	}
	/* Sent, Drafts, Trash, Junk, Archive for a new user (RFC 6154). */
	(void)imap_folder_defaults();
	/* For "postern user show"; a failure costs only the record. */
	if (lastlogin_write("imap", ip, (int64_t)time(NULL)) == -1)
		log_warn("login: user=<%s>: record the last login", user);
	log_info("login: user=<%s>, client=[%s], proto=imap", user, ip);
	buf_init(&b, 1024);
	imap_capability(&b, IMAP_CAP_AUTH, 0, 0);
	if (buf_cstr(&b) == 0)
		imap_ok(&s, "[CAPABILITY %s] Logged in", b.data);
	buf_free(&b);
	s.req.tag = NULL;
	imap_request_init(&s.req);
	mail_loop(&s);
	imap_sess_exit(&s, NULL, "logout");
}
