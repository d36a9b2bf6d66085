/*
 * local.c - the local transport: one message into one user's Maildir.
 *
 * Runs in deliverd as mail_user, the owner of the whole mail store. The
 * job comes from queued (more privileged, trusted to frame correctly),
 * but the recipient began as a string from the network: it becomes two
 * path components only after lowercasing and addr_is_store_safe (no '/',
 * no leading dot, no ".."), so no address can name a path outside
 * <store>/<domain>/<user>/. The store directory itself must already
 * exist: creating it would hide an unmounted file system by filling the
 * disk underneath it.
 *
 * A message that already carries the Delivered-To this delivery would
 * add is refused for good (5.4.6, a loop): the check reads only the
 * header section, bounded (libcommon/msghdr).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "addr.h"
#include "buf.h"
#include "deliverd.h"
#include "fsutil.h"
#include "log.h"
#include "maildir.h"
#include "msghdr.h"

static void
local_status(struct d_result *res, uint32_t status, const char *text)
{
	res->status = status;
	strlcpy(res->text, text, sizeof(res->text));
}

/* A failure of ours (disk, permissions): the queue keeps it and retries. */
static void
local_errno(struct d_result *res, int err)
{
	res->status = ST_TEMP;
	if (err == ENOSPC || err == EDQUOT)
		strlcpy(res->text, "4.2.2 mailbox full or disk full",
		    sizeof(res->text));
	else
		snprintf(res->text, sizeof(res->text), "4.3.0 %s",
		    strerror(err));
}

static int
local_has_ctl(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

/*
 * Creates what is missing of <store>/<domain>/<user>/Maildir; 0, or -1
 * with res filled in.
 */
static int
local_create(const char *store, const char *domain, const char *user,
    const char *md, struct d_result *res)
{
	int saved;

	if (maildir_create_user(store, domain, user, 0, 0, 0, NULL) == -1) {
		saved = errno;
		if (saved == ENOENT || saved == ENOTDIR)
			log_warnx("mail_store %s is missing or not a directory",
			    store);
		else
			log_warn("create %s", md);
		local_errno(res, saved);
		return -1;
	}
	return 0;
}

/*
 * A message that already carries the Delivered-To this delivery would
 * write has been here before: it is looping (an alias or a forward that
 * leads back), and delivering it again would only feed the loop. Refused
 * for good, as Postfix's local(8) and qmail-local do, so the loop ends in
 * one bounce. Only the header section is read, at most MSGHDR_SCAN_MAX
 * bytes of it. 0 (no loop), or -1 with res filled in.
 */
int
local_loop(int fd, const struct d_job *j, const char *mbox,
    struct d_result *res)
{
	struct buf		 b;
	struct msghdr_iter	 m;
	struct msghdr_field	 f;
	const char		*v;
	size_t			 vlen;
	int			 whole, saved, loop = 0;

	buf_init(&b, MSGHDR_SCAN_MAX);
	if (msghdr_read(fd, j->offset, j->size, MSGHDR_SCAN_MAX, &b,
	    &whole) == -1) {
		saved = errno;
		log_warn("%s: read the message's header", j->qid);
		buf_free(&b);
		local_errno(res, saved);
		return -1;
	}
	msghdr_init(&m, b.data, b.len, whole);
	while (!loop && msghdr_next(&m, &f) == 1) {
		if (!msghdr_is(&f, "Delivered-To") || f.truncated)
			continue;
		v = f.value;
		vlen = f.valuelen;
		if (vlen >= 2 && v[0] == '<' && v[vlen - 1] == '>') {
			v++;
			vlen -= 2;
		}
		loop = vlen == strlen(mbox) && strncasecmp(v, mbox, vlen) == 0;
	}
	buf_free(&b);
	if (!loop)
		return 0;
	res->status = ST_PERM;
	snprintf(res->text, sizeof(res->text),
	    "5.4.6 mail forwarding loop for %s", mbox);
	return -1;
}

void
local_deliver(const char *store, const struct d_job *j, int fd,
    struct d_result *res, char *where, size_t wheresz)
{
	char		 rcpt[ADDR_MAX + 1], *at, *user, *domain;
	char		 ddir[PATH_MAX], udir[PATH_MAX], md[PATH_MAX];
	char		 name[MAILDIR_NAME_MAX], mbox[ADDR_MAX + 1];
	struct buf	 hdr;
	int		 saved, rc;

	where[0] = '\0';
	if (strlcpy(rcpt, j->rcpt, sizeof(rcpt)) >= sizeof(rcpt) ||
	    (at = strrchr(rcpt, '@')) == NULL) {
		local_status(res, ST_PERM, "5.1.3 bad mailbox name");
		return;
	}
	*at = '\0';
	user = rcpt;
	domain = at + 1;
	addr_lower(user);
	addr_lower(domain);
	if (!addr_is_store_safe(user) || !addr_is_store_safe(domain)) {
		local_status(res, ST_PERM, "5.1.3 bad mailbox name");
		return;
	}
	/* The sender becomes a header line: it must not be able to add one. */
	if (local_has_ctl(j->sender)) {
		local_status(res, ST_PERM, "5.1.7 bad sender address");
		return;
	}
	if (fs_path(ddir, sizeof(ddir), store, domain) == -1 ||
	    fs_path(udir, sizeof(udir), ddir, user) == -1 ||
	    fs_path(md, sizeof(md), udir, "Maildir") == -1) {
		local_status(res, ST_PERM, "5.1.3 bad mailbox name");
		return;
	}
	/* Exactly what Delivered-To says below: the loop check compares it. */
	if (strlcpy(mbox, user, sizeof(mbox)) >= sizeof(mbox) ||
	    strlcat(mbox, "@", sizeof(mbox)) >= sizeof(mbox) ||
	    strlcat(mbox, domain, sizeof(mbox)) >= sizeof(mbox)) {
		local_status(res, ST_PERM, "5.1.3 bad mailbox name");
		return;
	}
	if (local_loop(fd, j, mbox, res) == -1)
		return;

	buf_init(&hdr, 2 * ADDR_MAX + 64);
	if (buf_printf(&hdr, "Return-Path: <%s>\nDelivered-To: %s\n",
	    j->sender, mbox) == -1) {
		buf_free(&hdr);
		local_errno(res, ENOMEM);
		return;
	}
	/* The mailbox usually exists: only a missing part costs the mkdirs. */
	rc = maildir_deliver(md, hdr.data, hdr.len, fd, (off_t)j->offset,
	    j->size, name, sizeof(name));
	if (rc == -1 && errno == ENOENT) {
		if (local_create(store, domain, user, md, res) == -1) {
			buf_free(&hdr);
			return;
		}
		rc = maildir_deliver(md, hdr.data, hdr.len, fd,
		    (off_t)j->offset, j->size, name, sizeof(name));
	}
	if (rc == -1) {
		saved = errno;
		buf_free(&hdr);
		log_warn("%s: deliver into %s", j->qid, md);
		local_errno(res, saved);
		return;
	}
	buf_free(&hdr);
	snprintf(where, wheresz, "%s/new/%s", md, name);
	local_status(res, ST_OK, "2.0.0 delivered to maildir");
}
