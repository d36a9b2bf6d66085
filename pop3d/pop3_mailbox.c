/*
 * pop3_mailbox.c - one user's Maildir as a POP3 session sees it: the
 * exclusive POP3 lock, new/ moved into cur/, a snapshot of cur/ sorted
 * by delivery time, sizes as the client receives them, UIDLs, and the
 * deletions of the UPDATE state.
 *
 * Runs in the mail process as the mail-store uid, chrooted (or at least
 * chdir'ed) into the user's directory: every path is relative,
 * "Maildir/...". File names may come from any Maildir tool, so each one
 * is checked before use; contents are only counted here, never parsed.
 *
 * POP3 wants the maildrop to itself (RFC 1939 8): a second POP3 session
 * finds the flock taken and is refused. IMAP sessions do not take it and
 * may rename (flag changes) or remove files under us; a message is then
 * found again by its unique part, or reported as gone.
 */
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sha2.h>

#include "fsutil.h"
#include "log.h"
#include "maildir.h"
#include "uidlist.h"
#include "pop3d.h"

static void	uidls_from_uidlist(struct pop3_mailbox *);
static void	uidlist_forget_deleted(struct pop3_mailbox *);

#define POP3_LOCK_FILE	"Maildir/.postern-pop3.lock"
#define POP3_READ_BUF	65536

int
pop3_mailbox_lock(struct pop3_mailbox *mb)
{
	memset(mb, 0, sizeof(*mb));
	mb->lockfd = open(POP3_LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW |
	    O_CLOEXEC, 0600);
	if (mb->lockfd == -1) {
		log_warn("open %s", POP3_LOCK_FILE);
		return -1;
	}
	if (flock(mb->lockfd, LOCK_EX | LOCK_NB) == -1) {
		int busy = errno == EWOULDBLOCK;

		if (!busy)
			log_warn("flock %s", POP3_LOCK_FILE);
		close(mb->lockfd);
		mb->lockfd = -1;
		return busy ? 1 : -1;
	}
	return 0;
}

/* The unique part: up to the first ',' (fields) or ':' (info). */
static size_t
name_base_len(const char *name)
{
	return strcspn(name, ",:");
}

void
pop3_uidl(const char *base, size_t len, char out[POP3_UIDL_MAX + 1])
{
	char		hex[SHA256_DIGEST_STRING_LENGTH];
	size_t		i;
	int		ok = len > 0 && len <= POP3_UIDL_MAX;

	for (i = 0; ok && i < len; i++)
		if ((unsigned char)base[i] < 0x21 ||
		    (unsigned char)base[i] > 0x7e)
			ok = 0;
	if (ok) {
		memcpy(out, base, len);
		out[len] = '\0';
		return;
	}
	/*
	 * RFC 1939 7 allows 1-70 printable characters. Anything else gets
	 * a digest of its name: as stable as the name, and it cannot
	 * collide with a real Maildir name (those start with a digit).
	 */
	/* libmd's, not OpenSSL's: pop3d-mail loads no OpenSSL. */
	SHA256Data((const uint8_t *)base, len, hex);
	/* "sha256-" and the first 24 bytes in hex. */
	snprintf(out, POP3_UIDL_MAX + 1, "sha256-%.48s", hex);
}

static int
msg_cmp(const void *a, const void *b)
{
	return maildir_name_cmp(((const struct pop3_msg *)a)->name,
	    ((const struct pop3_msg *)b)->name);
}

/* A name we will list: no dot-file, a unique part, no path tricks. */
static int
name_ok(const char *name)
{
	return name[0] != '.' && name_base_len(name) > 0 &&
	    strchr(name, '/') == NULL &&
	    strlen(name) < MAILDIR_NAME_MAX;
}

/*
 * Moves new/ into cur/ as Maildir readers do: "name" becomes "name:2,",
 * a name that already has info keeps it. A message another reader moved
 * first is simply gone from new/.
 */
static void
move_new(void)
{
	DIR		*d;
	struct dirent	*e;
	char		 from[MAILDIR_NAME_MAX + 16], to[MAILDIR_NAME_MAX + 16];
	int		 n;

	if ((d = opendir("Maildir/new")) == NULL) {
		if (errno != ENOENT)
			log_warn("opendir Maildir/new");
		return;
	}
	while ((e = readdir(d)) != NULL) {
		if (!name_ok(e->d_name))
			continue;
		snprintf(from, sizeof(from), "Maildir/new/%s", e->d_name);
		n = snprintf(to, sizeof(to), "Maildir/cur/%s%s", e->d_name,
		    strchr(e->d_name, ':') != NULL ? "" : ":2,");
		if (n < 0 || (size_t)n >= sizeof(to))
			continue;
		/* NOREPLACE: a clash must never cost a message. */
		if (renameat2(AT_FDCWD, from, AT_FDCWD, to,
		    RENAME_NOREPLACE) == -1 && errno != ENOENT)
			log_warn("rename %s", from);
	}
	closedir(d);
}

/* Counts the octets a client receives, for a name without ",W=". */
static int
file_vsize(int fd, uint64_t *vsize)
{
	struct maildir_vsize	 v;
	unsigned char		*b;
	ssize_t			 n;

	if ((b = malloc(POP3_READ_BUF)) == NULL)
		return -1;
	maildir_vsize_init(&v);
	while ((n = read(fd, b, POP3_READ_BUF)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			free(b);
			return -1;
		}
		maildir_vsize_feed(&v, b, (size_t)n);
	}
	free(b);
	*vsize = maildir_vsize_end(&v);
	return 0;
}

static int
add_msg(struct pop3_mailbox *mb, size_t *cap, const char *name)
{
	struct pop3_msg	*m;
	char		 path[MAILDIR_NAME_MAX + 16];
	struct stat	 st;
	int		 fd;

	if (mb->n == POP3_MESSAGES_MAX) {
		errno = EFBIG;
		return -1;
	}
	if (mb->n == *cap) {
		size_t	 ncap = *cap ? *cap * 2 : 64;
		void	*p;

		if (ncap > POP3_MESSAGES_MAX)
			ncap = POP3_MESSAGES_MAX;
		if ((p = reallocarray(mb->m, ncap, sizeof(*mb->m))) == NULL)
			return -1;
		mb->m = p;
		*cap = ncap;
	}
	m = &mb->m[mb->n];
	memset(m, 0, sizeof(*m));
	if (maildir_name_vsize(name, &m->vsize) == -1) {
		snprintf(path, sizeof(path), "Maildir/cur/%s", name);
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_CLOEXEC)) == -1)
			return errno == ENOENT || errno == ELOOP ? 0 : -1;
		if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
		    file_vsize(fd, &m->vsize) == -1) {
			close(fd);
			return 0;	/* not a message we can serve: skip */
		}
		close(fd);
	}
	if ((m->name = strdup(name)) == NULL)
		return -1;
	m->baselen = name_base_len(name);
	pop3_uidl(name, m->baselen, m->uidl);
	mb->total += m->vsize;
	mb->n++;
	return 0;
}

int
pop3_mailbox_load(struct pop3_mailbox *mb)
{
	DIR		*d;
	struct dirent	*e;
	size_t		 cap = 0;

	move_new();
	if ((d = opendir("Maildir/cur")) == NULL) {
		log_warn("opendir Maildir/cur");
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (!name_ok(e->d_name))
			continue;
		if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)
			continue;
		if (add_msg(mb, &cap, e->d_name) == -1) {
			log_warn("listing Maildir/cur");
			closedir(d);
			return -1;
		}
	}
	closedir(d);
	if (mb->n > 0)
		qsort(mb->m, mb->n, sizeof(*mb->m), msg_cmp);
	uidls_from_uidlist(mb);
	return 0;
}

/*
 * UIDLs as Dovecot makes them by default (pop3_uidl_format %08Xu%08Xv:
 * the UID, then UIDVALIDITY, in hex), from the dovecot-uidlist imapd
 * numbers messages in: a mailbox moved from Dovecot keeps its UIDLs, so
 * POP3 clients that leave mail on the server download nothing again,
 * and POP3 and IMAP agree on what a message is. Not complete: new/ was
 * not listed, and an IMAP session's records of it must stay. A message
 * the list cannot number now (the lock held by another for long) keeps
 * the name-based UIDL add_msg gave it.
 */
static void
uidls_from_uidlist(struct pop3_mailbox *mb)
{
	struct uidlist	*l;
	char		**names;
	uint32_t	*uids;
	size_t		 i;
	int		 dirfd;

	if (mb->n == 0)
		return;
	names = calloc(mb->n, sizeof(*names));
	uids = calloc(mb->n, sizeof(*uids));
	if (names == NULL || uids == NULL ||
	    (dirfd = open("Maildir", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_warn("UIDLs from %s", UIDLIST_FILE);
		free(names);
		free(uids);
		return;
	}
	for (i = 0; i < mb->n; i++)
		names[i] = mb->m[i].name;
	if ((l = uidlist_assign(dirfd, "Maildir", POP3_UIDLIST_WAIT, names,
	    mb->n, 0, uids, NULL, NULL)) == NULL)
		log_warn("UIDLs from %s", UIDLIST_FILE);
	for (i = 0; l != NULL && i < mb->n; i++)
		if ((mb->m[i].uid = uids[i]) != 0)
			snprintf(mb->m[i].uidl, sizeof(mb->m[i].uidl),
			    "%08X%08X", uids[i], l->uidvalidity);
	uidlist_free(l);
	close(dirfd);
	free(names);
	free(uids);
}

/*
 * The records of the messages QUIT removed leave dovecot-uidlist too (as
 * an IMAP expunge does); one that cannot be had now goes at the next
 * IMAP sync of the folder.
 */
static void
uidlist_forget_deleted(struct pop3_mailbox *mb)
{
	uint32_t	*uids;
	size_t		 i, n = 0;
	int		 dirfd;

	if ((uids = calloc(mb->n, sizeof(*uids))) == NULL)
		return;
	for (i = 0; i < mb->n; i++)
		if (mb->m[i].removed && mb->m[i].uid != 0)
			uids[n++] = mb->m[i].uid;
	if (n > 0 && (dirfd = open("Maildir", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) != -1) {
		if (uidlist_forget(dirfd, "Maildir", POP3_UIDLIST_WAIT, uids,
		    n) == -1)
			log_warn("forget deleted messages in %s", UIDLIST_FILE);
		close(dirfd);
	}
	free(uids);
}

/* Finds message i again after another session renamed it. */
static int
refind(struct pop3_msg *m)
{
	DIR		*d;
	struct dirent	*e;
	char		*name = NULL;

	if ((d = opendir("Maildir/cur")) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		if (name_ok(e->d_name) &&
		    name_base_len(e->d_name) == m->baselen &&
		    strncmp(e->d_name, m->name, m->baselen) == 0) {
			name = strdup(e->d_name);
			break;
		}
	}
	closedir(d);
	if (name == NULL) {
		errno = ENOENT;
		return -1;
	}
	free(m->name);
	m->name = name;
	return 0;
}

int
pop3_mailbox_open(struct pop3_mailbox *mb, size_t i)
{
	struct pop3_msg	*m = &mb->m[i];
	char		 path[MAILDIR_NAME_MAX + 16];
	int		 fd, tries;

	for (tries = 0; tries < 3; tries++) {
		snprintf(path, sizeof(path), "Maildir/cur/%s", m->name);
		/*
		 * O_NONBLOCK and the type check: a FIFO or device someone
		 * left in cur/ must not hang the session in open or read.
		 */
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd != -1) {
			struct stat st;

			if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
				close(fd);
				errno = EINVAL;
				return -1;
			}
			return fd;
		}
		if (errno != ENOENT)
			return fd;
		if (refind(m) == -1)
			return -1;
	}
	errno = ENOENT;
	return -1;
}

size_t
pop3_mailbox_expunge(struct pop3_mailbox *mb, size_t *failed)
{
	char	path[MAILDIR_NAME_MAX + 16];
	size_t	i, n = 0;
	int	tries, gone;

	*failed = 0;
	for (i = 0; i < mb->n; i++) {
		if (!mb->m[i].deleted)
			continue;
		for (tries = 0, gone = 0; tries < 3 && !gone; tries++) {
			snprintf(path, sizeof(path), "Maildir/cur/%s",
			    mb->m[i].name);
			if (unlink(path) == 0) {
				n++;
				gone = 1;
			} else if (errno != ENOENT || refind(&mb->m[i]) == -1)
				break;
		}
		/* Gone, by us or by another reader: its UID goes too. */
		mb->m[i].removed = gone || errno == ENOENT;
		if (!gone && errno != ENOENT) {
			log_warn("unlink %s", path);
			(*failed)++;
		}
	}
	/* The deletions are what the client asked for: make them durable. */
	if (n > 0 && fs_fsync_dir("Maildir/cur") == -1)
		log_warn("fsync Maildir/cur");
	uidlist_forget_deleted(mb);
	return n;
}

void
pop3_mailbox_free(struct pop3_mailbox *mb)
{
	size_t i;

	for (i = 0; i < mb->n; i++)
		free(mb->m[i].name);
	free(mb->m);
	if (mb->lockfd != -1)
		close(mb->lockfd);
	memset(mb, 0, sizeof(*mb));
	mb->lockfd = -1;
}
