/*
 * imap_cmd_folder.c - the IMAP commands on the user's folder tree: LIST
 * (RFC 3501 6.3.8, with LIST-EXTENDED RFC 5258, CHILDREN RFC 3348,
 * SPECIAL-USE RFC 6154 and LIST-STATUS RFC 5819), LSUB, CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE, NAMESPACE (RFC 2342). Answers as
 * Dovecot 2.3 answers over Maildir++, where the RFCs leave a choice.
 *
 * Runs in imapd's mail process as the mail-store uid, chrooted in the
 * user's directory. The arguments come from the client through
 * imap_parse's typed readers; names reach the file system only through
 * imap_folder.c (imap_folder_path). Each command writes its untagged
 * lines into the caller's buffer and says what the tagged reply is; it
 * never writes to the client itself.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "imap_folder.h"
#include "imap_parse.h"
#include "imap_write.h"
#include "log.h"

#define SERVERBUG	"[SERVERBUG] Internal error occurred. " \
			"Refer to server log for more information."
/* LIST-EXTENDED: patterns in one LIST (a mailbox list of them). */
#define LIST_PATTERNS_MAX	8

static void
reply_set(struct imap_reply *r, enum imap_status_code code,
    const char *fmt, ...)
{
	va_list ap;

	r->code = code;
	va_start(ap, fmt);
	vsnprintf(r->text, sizeof(r->text), fmt, ap);
	va_end(ap);
}

/*
 * A mailbox argument into name: 0; -1 with a BAD reply for what is not a
 * mailbox at all; -2 with a NO reply for a name no folder may have (too
 * long, or refused by mailbox_name_ok when check is set).
 */
static int
mailbox_arg(const struct imap_arg *a, char *name, size_t sz, int check,
    struct imap_reply *r)
{
	const char	*s;
	size_t		 len;

	if (a == NULL || imap_arg_mailbox(a, &s, &len) == -1) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return -1;
	}
	if (len == 0 || len >= sz || strlen(s) != len ||
	    (check && !mailbox_name_ok(s))) {
		reply_set(r, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
		return -2;
	}
	memcpy(name, s, len + 1);
	return 0;
}

static void
reply_err(struct imap_reply *r, enum imap_folder_err e, const char *done)
{
	switch (e) {
	case IMAP_FOLDER_OK:
		reply_set(r, IMAP_RES_OK, "%s", done);
		break;
	case IMAP_FOLDER_ERR_NAME:
		reply_set(r, IMAP_RES_NO, "[CANNOT] Invalid mailbox name");
		break;
	case IMAP_FOLDER_ERR_EXISTS:
		reply_set(r, IMAP_RES_NO,
		    "[ALREADYEXISTS] Mailbox already exists");
		break;
	case IMAP_FOLDER_ERR_NONEXISTENT:
		reply_set(r, IMAP_RES_NO,
		    "[NONEXISTENT] Mailbox doesn't exist");
		break;
	case IMAP_FOLDER_ERR_INBOX:
		reply_set(r, IMAP_RES_NO, "[CANNOT] INBOX can't be deleted.");
		break;
	case IMAP_FOLDER_ERR_CHILD:
		reply_set(r, IMAP_RES_NO,
		    "[CANNOT] Can't rename mailbox under its own child.");
		break;
	case IMAP_FOLDER_ERR_LIMIT:
		reply_set(r, IMAP_RES_NO, "[LIMIT] Too many mailboxes");
		break;
	default:
		reply_set(r, IMAP_RES_NO, "%s", SERVERBUG);
		break;
	}
}

/* Two names of one folder ("inbox" and "INBOX", "Inbox.x", "INBOX.x"). */
static int
same_folder(const char *a, const char *b)
{
	char pa[IMAP_FOLDER_PATH_MAX], pb[IMAP_FOLDER_PATH_MAX];

	return imap_folder_path(a, pa, sizeof(pa)) == 0 &&
	    imap_folder_path(b, pb, sizeof(pb)) == 0 && strcmp(pa, pb) == 0;
}

/* --- LIST and LSUB --- */

#define SEL_SUBSCRIBED	0x01
#define SEL_REMOTE	0x02
#define SEL_RECURSIVE	0x04
#define SEL_SPECIAL	0x08
#define RET_SUBSCRIBED	0x10
#define RET_CHILDREN	0x20
#define RET_SPECIAL	0x40
#define RET_STATUS	0x80

struct list_req {
	unsigned		 opts;		/* SEL_*, RET_* */
	int			 extended;	/* options or RETURN given */
	int			 lsub;
	const struct imap_arg	*status;	/* RETURN STATUS's items */
	char			 pat[LIST_PATTERNS_MAX][IMAP_PATTERN_MAX + 1];
	char			 upat[LIST_PATTERNS_MAX][IMAP_PATTERN_MAX + 1];
	size_t			 npat;
};

static int
match_any(const struct list_req *q, const char *name)
{
	size_t i;

	for (i = 0; i < q->npat; i++) {
		if (imap_list_match(q->pat[i], name, MAILBOX_SEP) == 1)
			return 1;
		/*
		 * INBOX is INBOX in any case, so the whole pattern matches
		 * it without case ("In%", "*b*"), as Dovecot matches it.
		 */
		if (strcmp(name, "INBOX") == 0 &&
		    imap_list_match(q->upat[i], name, MAILBOX_SEP) == 1)
			return 1;
	}
	return 0;
}

/*
 * Whether a subscribed name below entry i is one the patterns do not
 * reach: then i stands for it (LSUB's \Noselect parent, RFC 3501
 * 6.3.9; LIST-EXTENDED's CHILDINFO, RFC 5258 3.5). Descendants follow
 * i in the table's tree order.
 */
static int
hidden_sub_below(const struct imap_folder_list *l, size_t i,
    const struct list_req *q)
{
	const char	*p = l->v[i].name;
	size_t		 pl = strlen(p), j;

	for (j = i + 1; j < l->n; j++) {
		const struct imap_folder *f = &l->v[j];

		if (strncmp(f->name, p, pl) != 0 || f->name[pl] != MAILBOX_SEP)
			break;
		if ((f->flags & IMAP_FOLDER_SUBSCRIBED) &&
		    !match_any(q, f->name))
			return 1;
	}
	return 0;
}

static int
attr(struct buf *b, int *first, const char *a)
{
	int rc = buf_printf(b, "%s%s", *first ? "" : " ", a);

	*first = 0;
	return rc;
}

/* One "* LIST" or "* LSUB" line, and its STATUS; 1 if it was listed. */
static int
list_one(struct imap_folder_ctx *ctx, const struct list_req *q,
    const struct imap_folder *f, int childinfo, int noselect,
    struct buf *out)
{
	const char	*sp = imap_special_attr(f->special);
	unsigned	 o = q->opts;
	int		 first = 1, exists = f->flags & IMAP_FOLDER_EXISTS;

	if (buf_printf(out, "* %s (", q->lsub ? "LSUB" : "LIST") == -1)
		return -1;
	if (q->lsub) {
		if (noselect && attr(out, &first, "\\Noselect") == -1)
			return -1;
	} else {
		if ((o & (SEL_SUBSCRIBED | RET_SUBSCRIBED)) &&
		    (f->flags & IMAP_FOLDER_SUBSCRIBED) &&
		    attr(out, &first, "\\Subscribed") == -1)
			return -1;
		if (!exists && attr(out, &first, q->extended ?
		    "\\NonExistent" : "\\Noselect") == -1)
			return -1;
		if ((!q->extended || (o & RET_CHILDREN)) &&
		    attr(out, &first, (f->flags & IMAP_FOLDER_PARENT) ?
		    "\\HasChildren" : "\\HasNoChildren") == -1)
			return -1;
	}
	if (sp != NULL && exists && (!q->extended || q->lsub ||
	    (o & (RET_SPECIAL | SEL_SPECIAL))) && attr(out, &first, sp) == -1)
		return -1;
	if (buf_printf(out, ") \"%c\" ", MAILBOX_SEP) == -1 ||
	    imap_write_astring(out, f->name, strlen(f->name)) == -1)
		return -1;
	if (childinfo && buf_puts(out, " (CHILDINFO (\"SUBSCRIBED\"))") == -1)
		return -1;
	if (buf_puts(out, "\r\n") == -1)
		return -1;
	/* RFC 5819: STATUS for the selectable ones; failures leave it out. */
	if ((o & RET_STATUS) && exists && ctx->status != NULL) {
		size_t mark = out->len;

		if (ctx->status(ctx->status_arg, f->name, q->status, out) ==
		    -1)
			out->len = mark;
	}
	return 0;
}

static int
list_walk(struct imap_folder_ctx *ctx, const struct list_req *q,
    const struct imap_folder_list *l, struct buf *out)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		const struct imap_folder *f = &l->v[i];
		unsigned	fl = f->flags;
		int		sel, childinfo = 0, noselect = 0;

		if (!match_any(q, f->name))
			continue;
		if (q->lsub) {
			sel = (fl & IMAP_FOLDER_SUBSCRIBED) != 0;
			if (!sel && (fl & IMAP_FOLDER_SUBPARENT) &&
			    hidden_sub_below(l, i, q))
				sel = noselect = 1;
		} else if (q->opts & (SEL_SUBSCRIBED | SEL_SPECIAL)) {
			sel = 1;
			if ((q->opts & SEL_SUBSCRIBED) &&
			    !(fl & IMAP_FOLDER_SUBSCRIBED))
				sel = 0;
			if ((q->opts & SEL_SPECIAL) &&
			    (f->special == IMAP_SPECIAL_NONE ||
			    !(fl & IMAP_FOLDER_EXISTS)))
				sel = 0;
			/*
			 * RECURSIVEMATCH, as Dovecot answers it: a selected
			 * name with a subscribed one below gets CHILDINFO;
			 * one not selected is listed for it only when the
			 * patterns do not reach the subscribed one.
			 */
			if ((q->opts & SEL_RECURSIVE) &&
			    (q->opts & SEL_SUBSCRIBED) &&
			    (fl & IMAP_FOLDER_SUBPARENT) &&
			    (sel || hidden_sub_below(l, i, q)))
				sel = childinfo = 1;
		} else
			sel = (fl & (IMAP_FOLDER_EXISTS |
			    IMAP_FOLDER_PARENT)) != 0;
		if (sel && list_one(ctx, q, f, childinfo, noselect, out) ==
		    -1)
			return -1;
	}
	return 0;
}

/* reference + pattern (RFC 3501 6.3.8: Dovecot joins them as they are). */
static int
add_pattern(struct list_req *q, const char *ref, const struct imap_arg *a,
    struct imap_reply *r)
{
	const char	*s;
	size_t		 len;
	int		 n;

	if (imap_arg_list_mailbox(a, &s, &len) == -1 || strlen(s) != len) {
		reply_set(r, IMAP_RES_BAD, "Invalid pattern.");
		return -1;
	}
	if (q->npat >= LIST_PATTERNS_MAX) {
		reply_set(r, IMAP_RES_BAD, "Too many patterns.");
		return -1;
	}
	n = snprintf(q->pat[q->npat], sizeof(q->pat[0]), "%s%s", ref, s);
	if (n < 0 || (size_t)n >= sizeof(q->pat[0])) {
		reply_set(r, IMAP_RES_BAD, "Pattern too long.");
		return -1;
	}
	for (n = 0; q->pat[q->npat][n] != '\0'; n++)
		q->upat[q->npat][n] = (char)toupper(
		    (unsigned char)q->pat[q->npat][n]);
	q->upat[q->npat][n] = '\0';
	q->npat++;
	return 0;
}

static int
list_options(struct list_req *q, const struct imap_arg *sel,
    const struct imap_arg *ret, struct imap_reply *r)
{
	const struct imap_arg *a;

	for (a = sel != NULL ? sel->list : NULL; a != NULL; a = a->next) {
		if (imap_arg_is(a, "SUBSCRIBED"))
			q->opts |= SEL_SUBSCRIBED;
		else if (imap_arg_is(a, "REMOTE"))
			q->opts |= SEL_REMOTE;
		else if (imap_arg_is(a, "RECURSIVEMATCH"))
			q->opts |= SEL_RECURSIVE;
		else if (imap_arg_is(a, "SPECIAL-USE"))
			q->opts |= SEL_SPECIAL;
		else {
			/* RFC 5258 3: an unknown selection option is BAD. */
			reply_set(r, IMAP_RES_BAD,
			    "Unknown LIST selection option.");
			return -1;
		}
	}
	if ((q->opts & SEL_RECURSIVE) &&
	    !(q->opts & (SEL_SUBSCRIBED | SEL_SPECIAL))) {
		reply_set(r, IMAP_RES_BAD,
		    "RECURSIVEMATCH must not be the only selection.");
		return -1;
	}
	for (a = ret != NULL ? ret->list : NULL; a != NULL; a = a->next) {
		if (imap_arg_is(a, "SUBSCRIBED"))
			q->opts |= RET_SUBSCRIBED;
		else if (imap_arg_is(a, "CHILDREN"))
			q->opts |= RET_CHILDREN;
		else if (imap_arg_is(a, "SPECIAL-USE"))
			q->opts |= RET_SPECIAL;
		else if (imap_arg_is(a, "STATUS") && a->next != NULL &&
		    a->next->type == IMAP_ARG_LIST && a->next->n > 0 &&
		    q->status == NULL) {
			q->opts |= RET_STATUS;
			q->status = a->next;
			a = a->next;
		} else {
			reply_set(r, IMAP_RES_BAD,
			    "Unknown LIST return option.");
			return -1;
		}
	}
	return 0;
}

static void
cmd_list(struct imap_folder_ctx *ctx, const struct imap_request *req,
    int lsub, struct buf *out, struct imap_reply *r)
{
	struct list_req		 q;
	struct imap_folder_list	 l;
	const struct imap_arg	*a, *sel = NULL, *ret = NULL, *pat;
	const char		*ref;
	size_t			 rlen, i = 0;

	memset(&q, 0, sizeof(q));
	q.lsub = lsub;
	if (!lsub && (a = imap_req_arg(req, 0)) != NULL &&
	    a->type == IMAP_ARG_LIST) {
		sel = a;
		i++;
	}
	if ((a = imap_req_arg(req, i)) == NULL ||
	    imap_arg_mailbox(a, &ref, &rlen) == -1 || strlen(ref) != rlen ||
	    (pat = imap_req_arg(req, i + 1)) == NULL) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return;
	}
	if ((a = imap_req_arg(req, i + 2)) != NULL) {
		if (lsub || !imap_arg_is(a, "RETURN") || a->next == NULL ||
		    a->next->type != IMAP_ARG_LIST || a->next->next != NULL) {
			reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
			return;
		}
		ret = a->next;
	}
	/* A list of patterns is LIST-EXTENDED syntax too (RFC 5258 3). */
	q.extended = sel != NULL || ret != NULL ||
	    (!lsub && pat->type == IMAP_ARG_LIST);
	if (list_options(&q, sel, ret, r) == -1)
		return;
	if ((q.opts & RET_STATUS) && ctx->status == NULL) {
		reply_set(r, IMAP_RES_BAD, "STATUS is not supported here.");
		return;
	}
	if (pat->type == IMAP_ARG_LIST && !lsub) {
		/* RFC 5258: a list of patterns, each joined with ref. */
		if (pat->n == 0) {
			reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
			return;
		}
		for (a = pat->list; a != NULL; a = a->next)
			if (add_pattern(&q, ref, a, r) == -1)
				return;
	} else if (add_pattern(&q, ref, pat, r) == -1)
		return;
	/* LIST "" "": the delimiter and the root of the reference. */
	if (!lsub && q.npat == 1 && pat->type != IMAP_ARG_LIST &&
	    strcmp(q.pat[0], ref) == 0) {
		if (buf_printf(out, "* LIST (\\Noselect) \"%c\" \"\"\r\n",
		    MAILBOX_SEP) == -1)
			reply_set(r, IMAP_RES_NO, "%s", SERVERBUG);
		else
			reply_set(r, IMAP_RES_OK, "List completed.");
		return;
	}
	if (imap_folder_list(&l) == -1) {
		if (errno == E2BIG) {
			reply_set(r, IMAP_RES_NO, "[LIMIT] Too many mailboxes");
			return;
		}
		log_warn("LIST: folders");
		reply_set(r, IMAP_RES_NO, "%s", SERVERBUG);
		return;
	}
	i = out->len;
	if (list_walk(ctx, &q, &l, out) == -1) {
		/* Never half a list: the client would take it as all. */
		out->len = i;
		log_warn("%s: output", lsub ? "LSUB" : "LIST");
		reply_set(r, IMAP_RES_NO, "[LIMIT] Too many mailboxes");
	} else
		reply_set(r, IMAP_RES_OK, "%s completed.",
		    lsub ? "Lsub" : "List");
	imap_folder_list_free(&l);
}

/* --- the rest --- */

static void
cmd_create(const struct imap_request *req, struct imap_reply *r)
{
	char name[MAILBOX_NAME_MAX + 2];

	if (req->nargs != 1) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return;
	}
	/* Not checked here: a trailing "." is allowed (see create). */
	if (mailbox_arg(imap_req_arg(req, 0), name, sizeof(name), 0, r) < 0)
		return;
	reply_err(r, imap_folder_create(name), "Create completed.");
}

static void
cmd_delete(struct imap_folder_ctx *ctx, const struct imap_request *req,
    struct imap_reply *r)
{
	char			name[MAILBOX_NAME_MAX + 1];
	enum imap_folder_err	e;

	if (req->nargs != 1) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return;
	}
	if (mailbox_arg(imap_req_arg(req, 0), name, sizeof(name), 1, r) < 0)
		return;
	e = imap_folder_delete(ctx->ix, name);
	if (e == IMAP_FOLDER_OK && ctx->selected != NULL &&
	    same_folder(ctx->selected, name))
		ctx->deleted_selected = 1;
	reply_err(r, e, "Delete completed.");
}

static void
cmd_rename(struct imap_folder_ctx *ctx, const struct imap_request *req,
    struct imap_reply *r)
{
	char	from[MAILBOX_NAME_MAX + 1], to[MAILBOX_NAME_MAX + 1];

	if (req->nargs != 2) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return;
	}
	if (mailbox_arg(imap_req_arg(req, 0), from, sizeof(from), 1, r) < 0 ||
	    mailbox_arg(imap_req_arg(req, 1), to, sizeof(to), 1, r) < 0)
		return;
	reply_err(r, imap_folder_rename(ctx->ix, from, to),
	    "Rename completed.");
}

static void
cmd_subscribe(const struct imap_request *req, int on, struct imap_reply *r)
{
	char	name[MAILBOX_NAME_MAX + 1];
	int	x;

	if (req->nargs != 1) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return;
	}
	if (mailbox_arg(imap_req_arg(req, 0), name, sizeof(name), 1, r) < 0)
		return;
	/*
	 * RFC 3501 6.3.6 lets the server check that it exists; Dovecot
	 * does. UNSUBSCRIBE takes any name: a deleted folder's stays.
	 */
	if (on && (x = imap_folder_exists(name)) != 1) {
		if (x == 0)
			reply_err(r, IMAP_FOLDER_ERR_NONEXISTENT, "");
		else
			reply_err(r, IMAP_FOLDER_ERR, "");
		return;
	}
	if (imap_folder_subscribe(name, on) == -1) {
		reply_err(r, errno == E2BIG ? IMAP_FOLDER_ERR_LIMIT :
		    IMAP_FOLDER_ERR, "");
		return;
	}
	reply_set(r, IMAP_RES_OK, "%s completed.",
	    on ? "Subscribe" : "Unsubscribe");
}

static void
cmd_namespace(const struct imap_request *req, struct buf *out,
    struct imap_reply *r)
{
	if (req->nargs != 0) {
		reply_set(r, IMAP_RES_BAD, "Invalid arguments.");
		return;
	}
	/* One personal namespace, no prefix: Dovecot's default. */
	if (buf_printf(out, "* NAMESPACE ((\"\" \"%c\")) NIL NIL\r\n",
	    MAILBOX_SEP) == -1) {
		reply_set(r, IMAP_RES_NO, "%s", SERVERBUG);
		return;
	}
	reply_set(r, IMAP_RES_OK, "Namespace completed.");
}

void
imap_folder_command(struct imap_folder_ctx *ctx,
    const struct imap_request *req, struct buf *out, struct imap_reply *r)
{
	r->code = IMAP_RES_OK;
	r->text[0] = '\0';
	if (strcmp(req->name, "LIST") == 0)
		cmd_list(ctx, req, 0, out, r);
	else if (strcmp(req->name, "LSUB") == 0)
		cmd_list(ctx, req, 1, out, r);
	else if (strcmp(req->name, "CREATE") == 0)
		cmd_create(req, r);
	else if (strcmp(req->name, "DELETE") == 0)
		cmd_delete(ctx, req, r);
	else if (strcmp(req->name, "RENAME") == 0)
		cmd_rename(ctx, req, r);
	else if (strcmp(req->name, "SUBSCRIBE") == 0)
		cmd_subscribe(req, 1, r);
	else if (strcmp(req->name, "UNSUBSCRIBE") == 0)
		cmd_subscribe(req, 0, r);
	else if (strcmp(req->name, "NAMESPACE") == 0)
		cmd_namespace(req, out, r);
	else
		reply_set(r, IMAP_RES_BAD, "Unknown command.");
}
