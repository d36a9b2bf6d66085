/*
 * imap_fetch.c - FETCH and UID FETCH (RFC 3501 6.4.5, 7.4.2), with
 * CONDSTORE's MODSEQ item and CHANGEDSINCE modifier and QRESYNC's
 * VANISHED modifier (RFC 7162 3.1.4, 3.2.6).
 *
 * What the index holds (flags, UID, RFC822.SIZE, INTERNALDATE, MODSEQ)
 * is answered from it without opening a file; ENVELOPE and
 * BODYSTRUCTURE from the index's cached strings when there, else from
 * the message parsed once (imap_body.h) and then cached; sections from
 * the message itself. A body fetched without PEEK sets \Seen first, so
 * the FLAGS sent with it are the new ones.
 *
 * Runs in the mail process, chrooted in the user's directory as
 * mail_user; the files are the user's, parsed as untrusted input.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "imap_blobs.h"
#include "imap_body.h"
#include "imap_seqset.h"
#include "imap_sess.h"
#include "log.h"
#include "maildir.h"
#include "mime.h"

/* Records read at once (one range read when dense): 128 of ~300 B. */
#define FETCH_BATCH	128

struct fetch {
	struct imap_fetch_att	 att[IMAP_FETCH_MAX];
	size_t			 natt;
	int			 uid;		/* UID FETCH: UID always */
	int			 flags;		/* FLAGS asked or \Seen set */
	int			 modseq;
	int			 sets_seen;
	uint64_t		 changedsince;	/* 0: none */
	int			 vanished;
	struct imap_blobs	*blobs;		/* NULL: store each at once */
};

/*
 * The message in CRLF form, or NULL (gone, or too big: logged). Read
 * into one buffer the session keeps, not mapped: a mapping per message
 * costs an munmap and its TLB flush on every CPU, which was half of a
 * cold FETCH 1:* (tests/bench/README, IMAP).
 */
static struct imap_msg *
load_msg(struct imap_sess *s, const struct mailindex_msg *m)
{
	struct imap_msg	*msg;
	struct stat	 st;
	ssize_t		 got;
	uint32_t	 uid = m->uid;
	void		*p;
	int		 fd;

	if ((fd = mailindex_open_rec(s->sel, m)) == -1)
		return NULL;
	if (fstat(fd, &st) == -1) {
		close(fd);
		return NULL;
	}
	if ((uint64_t)st.st_size > IMAP_MSG_READ_MAX) {
		close(fd);
		errno = EFBIG;
		log_warn("user=<%s>: message %u", s->user, uid);
		return NULL;
	}
	if ((size_t)st.st_size + 1 > s->rcap) {
		if ((p = realloc(s->rbuf, (size_t)st.st_size + 1)) == NULL) {
			close(fd);
			return NULL;
		}
		s->rbuf = p;
		s->rcap = (size_t)st.st_size + 1;
	}
	got = fs_pread_full(fd, s->rbuf, (size_t)st.st_size, 0);
	close(fd);
	if (got == -1) {
		log_warn("user=<%s>: read message %u", s->user, uid);
		return NULL;
	}
	msg = imap_msg_new(s->rbuf, (size_t)got, 0);
	if (msg == NULL)
		log_warn("user=<%s>: parse message %u", s->user, uid);
	/* A big one's buffer is not kept for the session's life. */
	if (s->rcap > IMAP_RBUF_KEEP) {
		free(s->rbuf);
		s->rbuf = NULL;
		s->rcap = 0;
	}
	return msg;
}

/*
 * ENVELOPE needs the header only: the file's first bytes, read into the
 * session's buffer, answer it when the header ends there, without the
 * whole file's copy and MIME parse (most of a cold FETCH 1:* ENVELOPE).
 * 1 appended, 0 not in those bytes, -1 gone or unreadable (logged).
 */
static int
envelope_from_start(struct imap_sess *s, const struct mailindex_msg *m,
    struct buf *out)
{
	ssize_t		 got;
	uint64_t	 size = 0;
	size_t		 hlen;
	void		*p;
	int		 fd;

	if (s->rcap < IMAP_HEADER_READ + 1) {
		if ((p = realloc(s->rbuf, IMAP_HEADER_READ + 1)) == NULL)
			return -1;
		s->rbuf = p;
		s->rcap = IMAP_HEADER_READ + 1;
	}
	if ((fd = mailindex_open_rec(s->sel, m)) == -1)
		return -1;
	/* The name's S=: a small message is read in one call, to its end. */
	(void)maildir_name_size(m->name, &size);
	got = mime_read_header(fd, size, s->rbuf, IMAP_HEADER_READ_FIRST,
	    IMAP_HEADER_READ, &hlen);
	close(fd);
	if (got == -1) {
		log_warn("user=<%s>: read message %u", s->user, m->uid);
		return -1;
	}
	s->envscratch.len = 0;
	return imap_envelope_of_prefix(s->rbuf, (size_t)got, &s->envscratch,
	    out);
}

/* ENVELOPE or BODYSTRUCTURE: the cache, else computed and cached. */
static int
cached_item(struct imap_sess *s, struct imap_blobs *bb,
    const struct mailindex_msg *m, enum mailindex_blob kind,
    struct imap_msg **msg, struct buf *out)
{
	uint32_t uid = m->uid;

	char	*data;
	size_t	 len, start;

	if (mailindex_blob_get(s->sel, uid, kind, &data, &len) == 1) {
		(void)buf_append(out, data, len);
		free(data);
		return 0;
	}
	start = out->len;
	if (kind == MAILINDEX_BLOB_ENVELOPE && *msg == NULL) {
		switch (envelope_from_start(s, m, out)) {
		case 1:
			goto cache;
		case -1:
			return -1;
		}
		out->len = start;	/* what a failed try may have left */
	}
	if (*msg == NULL && (*msg = load_msg(s, m)) == NULL)
		return -1;
	if ((kind == MAILINDEX_BLOB_ENVELOPE ? imap_msg_envelope(*msg, out) :
	    imap_msg_bodystructure(*msg, 1, out)) == -1)
		return -1;
cache:
	imap_blobs_keep(bb, s->sel, uid, kind, out->data + start,
	    out->len - start);
	return 0;
}

/* One message's "* n FETCH (...)"; -1 when its file is gone. */
static int
fetch_one(struct imap_sess *s, const struct fetch *f, size_t seq,
    const struct mailindex_msg *m, struct buf *b)
{
	struct imap_msg		*msg = NULL;
	struct imap_section	 sec;
	const char		*sep = "";
	size_t			 i;
	int			 rc = -1, e;

	(void)buf_printf(b, "* %zu FETCH (", seq);
	if (f->uid) {
		(void)buf_printf(b, "UID %u", m->uid);
		sep = " ";
	}
	if (f->flags) {
		(void)buf_printf(b, "%sFLAGS ", sep);
		imap_write_flags(b, s->sel, &m->flags,
		    imap_sess_recent(s, m->uid));
		sep = " ";
	}
	if (f->modseq) {
		(void)buf_printf(b, "%sMODSEQ (%llu)", sep,
		    (unsigned long long)m->modseq);
		sep = " ";
	}
	for (i = 0; i < f->natt; i++) {
		const struct imap_fetch_att *a = &f->att[i];

		switch (a->item) {
		case IMAP_FETCH_UID:
		case IMAP_FETCH_FLAGS:
		case IMAP_FETCH_MODSEQ:
			continue;	/* above, once */
		case IMAP_FETCH_INTERNALDATE:
			(void)buf_printf(b, "%sINTERNALDATE ", sep);
			imap_write_datetime(b, m->idate);
			break;
		case IMAP_FETCH_RFC822_SIZE:
			(void)buf_printf(b, "%sRFC822.SIZE %llu", sep,
			    (unsigned long long)m->size);
			break;
		case IMAP_FETCH_ENVELOPE:
			(void)buf_printf(b, "%sENVELOPE ", sep);
			if (cached_item(s, f->blobs, m,
			    MAILINDEX_BLOB_ENVELOPE, &msg, b) == -1)
				goto out;
			break;
		case IMAP_FETCH_BODYSTRUCTURE:
			(void)buf_printf(b, "%sBODYSTRUCTURE ", sep);
			if (cached_item(s, f->blobs, m,
			    MAILINDEX_BLOB_BODYSTRUCTURE, &msg, b) == -1)
				goto out;
			break;
		case IMAP_FETCH_BODY:
			(void)buf_printf(b, "%sBODY ", sep);
			if ((msg == NULL && (msg = load_msg(s, m)) ==
			    NULL) || imap_msg_bodystructure(msg, 0, b) == -1)
				goto out;
			break;
		case IMAP_FETCH_RFC822:
		case IMAP_FETCH_RFC822_HEADER:
		case IMAP_FETCH_RFC822_TEXT:
		case IMAP_FETCH_SECTION:
			if (msg == NULL && (msg = load_msg(s, m)) == NULL)
				goto out;
			(void)buf_puts(b, sep);
			if (a->item == IMAP_FETCH_SECTION) {
				if (imap_msg_fetch_section(msg, &a->sec,
				    b) == -1)
					goto out;
				break;
			}
			memset(&sec, 0, sizeof(sec));
			sec.text = a->item == IMAP_FETCH_RFC822_HEADER ?
			    IMAP_SEC_HEADER : a->item ==
			    IMAP_FETCH_RFC822_TEXT ? IMAP_SEC_TEXT :
			    IMAP_SEC_ALL;
			(void)buf_puts(b, a->item == IMAP_FETCH_RFC822 ?
			    "RFC822 " : a->item == IMAP_FETCH_RFC822_HEADER ?
			    "RFC822.HEADER " : "RFC822.TEXT ");
			{
				const char	*p;
				size_t		 n;
				struct buf	 scratch;

				buf_init(&scratch, 0);
				if (imap_section_bytes(msg, &sec, &scratch,
				    &p, &n) == -1) {
					buf_free(&scratch);
					goto out;
				}
				/* Both or neither: a literal's count without
				 * its bytes would desync the stream. */
				if (buf_printf(b, "{%zu}\r\n", n) == -1 ||
				    buf_append(b, p, n) == -1) {
					buf_free(&scratch);
					goto out;
				}
				buf_free(&scratch);
			}
			break;
		}
		sep = " ";
	}
	(void)buf_puts(b, ")\r\n");
	rc = 0;
out:
	e = errno;	/* the caller tells ENOENT (expunged) apart */
	imap_msg_free(msg);
	errno = e;
	return rc;
}

static int
parse_modifiers(struct imap_sess *s, const struct imap_arg *a,
    struct fetch *f)
{
	const struct imap_arg *p;

	if (a == NULL)
		return 0;
	if (a->type != IMAP_ARG_LIST || a->next != NULL)
		goto bad;
	for (p = a->list; p != NULL; p = p->next) {
		if (imap_arg_is(p, "CHANGEDSINCE") && p->next != NULL &&
		    imap_arg_modseq(p->next, &f->changedsince, 1) == 0) {
			p = p->next;
			continue;
		}
		if (imap_arg_is(p, "VANISHED")) {
			if (!s->qresync || !f->uid) {
				imap_bad(s, "VANISHED needs UID FETCH and "
				    "ENABLE QRESYNC");
				return -1;
			}
			f->vanished = 1;
			continue;
		}
		goto bad;
	}
	/* RFC 7162 3.2.6: VANISHED only with CHANGEDSINCE. */
	if (f->vanished && f->changedsince == 0)
		goto bad;
	return 0;
bad:
	imap_bad(s, "Invalid FETCH modifiers");
	return -1;
}

/* UID FETCH (VANISHED): the UIDs in the set expunged since CHANGEDSINCE. */
static void
report_vanished(struct imap_sess *s, const struct fetch *f,
    const struct imap_arg *setarg)
{
	uint32_t	*u = NULL;
	size_t		 n = 0, i, k;
	int		 complete;
	const char	*p;
	size_t		 len;
	struct buf	 b;
	struct imap_seqset set = { NULL, 0 };

	if (imap_arg_seqset(setarg, &p, &len) == -1 ||
	    imap_seqset_parse(&set, p, len, mailindex_uidnext(s->sel),
	    IMAP_SEQSET_MAX) == -1)
		return;
	if (mailindex_expunged_since(s->sel, f->changedsince, &u, &n,
	    &complete) == -1) {
		imap_seqset_free(&set);
		return;
	}
	buf_init(&b, 0);
	(void)buf_puts(&b, "* VANISHED (EARLIER) ");
	if (!complete) {
		/* History lost: every UID of the set we no longer have. */
		if (!imap_write_missing(&b, &set, s->sel))
			buf_reset(&b);
	} else {
		for (i = k = 0; i < n; i++)
			if (imap_seqset_has(&set, u[i]))
				u[k++] = u[i];
		if (k > 0)
			imap_write_uidset(&b, u, k);
		else
			buf_reset(&b);
	}
	if (b.len > 0) {
		(void)buf_puts(&b, "\r\n");
		imap_send(s, &b);
	}
	buf_free(&b);
	free(u);
	imap_seqset_free(&set);
}

void
imap_cmd_fetch(struct imap_sess *s, int uid)
{
	struct fetch		 f;
	struct mailindex_msg	 one, *recs, *m;
	struct keywords_flags	 seen = { KEYWORDS_SEEN, 0 };
	uint32_t		*uids, *unseen = NULL;
	size_t			 n, i, nunseen = 0, gone = 0, seq;
	size_t			 unreadable = 0;
	struct buf		 b;
	int			 failed = 0;

	memset(&f, 0, sizeof(f));
	f.uid = uid;
	if (s->req.nargs < 2 || s->req.nargs > 3 ||
	    imap_fetch_parse(imap_req_arg(&s->req, 1), f.att, IMAP_FETCH_MAX,
	    &f.natt) == -1) {
		imap_bad(s, "Invalid FETCH arguments");
		return;
	}
	if (parse_modifiers(s, imap_req_arg(&s->req, 2), &f) == -1)
		return;
	for (i = 0; i < f.natt; i++) {
		switch (f.att[i].item) {
		case IMAP_FETCH_UID:
			f.uid = 1;
			break;
		case IMAP_FETCH_FLAGS:
			f.flags = 1;
			break;
		case IMAP_FETCH_MODSEQ:
			f.modseq = 1;
			break;
		case IMAP_FETCH_RFC822:
		case IMAP_FETCH_RFC822_TEXT:
			f.sets_seen = 1;
			break;
		case IMAP_FETCH_SECTION:
			if (!f.att[i].sec.peek)
				f.sets_seen = 1;
			break;
		default:
			break;
		}
	}
	if (f.modseq || f.changedsince != 0) {
		/* RFC 7162 3.1: these enable CONDSTORE. */
		s->condstore = 1;
		f.modseq = 1;
	}
	if (s->readonly)
		f.sets_seen = 0;
	if (imap_set_uids(s, imap_req_arg(&s->req, 0), uid, &uids, &n) == -1)
		return;
	if (f.vanished)
		report_vanished(s, &f, imap_req_arg(&s->req, 0));
	if (f.sets_seen) {
		if ((unseen = reallocarray(NULL, n > 0 ? n : 1,
		    sizeof(*unseen))) == NULL) {
			free(uids);
			imap_no(s, "[SERVERBUG] Out of memory");
			return;
		}
		for (i = 0; i < n; i++)
			if (mailindex_get(s->sel, uids[i], &one) == 1 &&
			    !(one.flags.sys & KEYWORDS_SEEN))
				unseen[nunseen++] = uids[i];
		if (nunseen > 0 && mailindex_store(s->sel, unseen, nunseen,
		    MAILINDEX_FLAGS_ADD, &seen, 0, NULL, NULL) == -1)
			log_warn("user=<%s>: FETCH: set \\Seen", s->user);
		/* RFC 3501 6.4.5: the changed flags come with the data. */
		if (nunseen > 0)
			f.flags = 1;
	}
	if ((recs = reallocarray(NULL, FETCH_BATCH, sizeof(*recs))) == NULL) {
		free(unseen);
		free(uids);
		imap_no(s, "[SERVERBUG] Out of memory");
		return;
	}
	/* Many messages: their computed items are stored in batches. */
	if (n > 1)
		f.blobs = imap_blobs_new();
	buf_init(&b, 0);
	for (i = 0; i < n; i++) {
		/* The records come a batch at a time, in one read if it can. */
		if (i % FETCH_BATCH == 0 && mailindex_get_many(s->sel,
		    uids + i, n - i < FETCH_BATCH ? n - i : FETCH_BATCH,
		    recs) == -1) {
			failed = 1;
			break;
		}
		m = &recs[i % FETCH_BATCH];
		if (m->uid == 0) {
			/*
			 * Expunged by another session: UID FETCH just leaves
			 * it out (its VANISHED or EXPUNGE follows); FETCH by
			 * number cannot, and says so.
			 */
			gone += !uid;
			continue;
		}
		if (f.changedsince != 0 && m->modseq <= f.changedsince)
			continue;
		seq = mailindex_uid_seq(s->sel, uids[i]);
		if (fetch_one(s, &f, seq, m, &b) == -1) {
			/*
			 * Its file went meanwhile (expunged since the batch
			 * was read: as above), or cannot be read (logged).
			 */
			if (errno == ENOENT)
				gone += !uid;
			else
				unreadable++;
			buf_reset(&b);
			continue;
		}
		if (netio_write(&s->io, b.data, b.len) == -1)
			imap_sess_exit(s, NULL, "connection error");
		buf_reset(&b);
	}
	buf_free(&b);
	imap_blobs_done(f.blobs, s->sel, s->user);
	free(recs);
	free(unseen);
	free(uids);
	s->nfetch++;
	if (failed) {
		log_warn("user=<%s>: FETCH: reading the index", s->user);
		imap_no(s, "[SERVERBUG] Fetch failed; try again later");
	} else if (gone > 0 || unreadable > 0)
		imap_no(s, gone > 0 ? "[EXPUNGEISSUED] Some messages were "
		    "expunged" : "[SERVERBUG] Some messages could not be read");
	else
		imap_ok(s, "Fetch completed.");
}
