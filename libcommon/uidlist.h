/*
 * uidlist.h - Dovecot's dovecot-uidlist (version 3): a Maildir folder's
 * IMAP UIDVALIDITY, next UID and message UIDs, in the file Dovecot keeps,
 * so that Postern and Dovecot can serve the same Maildir and a mailbox
 * moved between them keeps its UIDs.
 *
 * The file:
 *   3 V<uidvalidity> N<nextuid> G<mailbox guid, 32 hex> [other fields]
 *   <uid> [<ext> ...] :<filename>
 * Header fields may come in any order; unknown ones are kept and written
 * back. Record extensions (W<vsize>, S<size>, G<guid>: a capital letter
 * and a value) are kept as they are. UIDs strictly increase. The
 * filename is what Dovecot calls the base: the Maildir name before its
 * ":2,<flags>" info, which changes with the flags.
 *
 * In memory: an array in UID order plus a hash of the bases, so a
 * lookup by name is O(1) and by UID O(log n); both bounded by
 * UIDLIST_RECORDS_MAX.
 */
#ifndef POSTERN_UIDLIST_H
#define POSTERN_UIDLIST_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dotlock.h"

#define UIDLIST_FILE		"dovecot-uidlist"
#define UIDLIST_LINE_MAX	1024		/* one line, with its newline */
#define UIDLIST_NAME_MAX	255		/* a Maildir file name (NAME_MAX) */
#define UIDLIST_RECORDS_MAX	4000000		/* messages in one folder */
#define UIDLIST_FILE_MAX	(256u * 1024 * 1024)
#define UIDLIST_GUID_LEN	32

struct uidlist_rec {
	uint32_t	 uid;
	char		*name;	/* as read; lookups compare its base */
	char		*ext;	/* "W123 S120", or NULL */
};

struct uidlist {
	uint32_t		 uidvalidity;
	uint32_t		 nextuid;
	char			 guid[UIDLIST_GUID_LEN + 1];	/* "" if none */
	char			*hdr_ext;	/* unknown header fields, or NULL */
	struct uidlist_rec	*recs;		/* in UID order */
	size_t			 n, cap;
	uint32_t		*hash;		/* record index + 1; 0 empty */
	size_t			 hcap;		/* a power of two, or 0: stale */
	/* The file it was read from (uidlist_read); ino 0: none. */
	struct dotlock_file	 file;
};

/* Why a file was refused: "line 3: UIDs not increasing (5 after 7)". */
struct uidlist_error {
	unsigned	line;		/* 1-based; 0: the file as a whole */
	int		truncated;	/* the last line has no newline */
	char		msg[160];
};

/*
 * A new, empty list: UIDVALIDITY the current time (as Dovecot picks it)
 * unless uidvalidity is not 0, next UID 1, a fresh random GUID. NULL
 * on allocation failure.
 */
struct uidlist	*uidlist_new(uint32_t uidvalidity);
void		 uidlist_free(struct uidlist *);
/*
 * Parses a whole file. Strict: a file that is not exactly the format
 * is refused with err set, and the caller rebuilds the list (new
 * UIDVALIDITY) from the Maildir. A last line without its newline sets
 * err->truncated: Dovecot appends lines in place under its lock, so a
 * reader that does not hold the lock may catch one half written, and
 * should read again under the lock before giving up on the file.
 * 0, or -1 (err set; errno EINVAL, or ENOMEM).
 */
int	uidlist_parse(const char *text, size_t len, struct uidlist **,
	    struct uidlist_error *err);
/*
 * Reads dirfd's dovecot-uidlist (never through a symbolic link, at most
 * UIDLIST_FILE_MAX bytes) and parses it. 1 read, 0 there is none, -1
 * unreadable or refused (err says why).
 */
int	uidlist_read(int dirfd, struct uidlist **, struct uidlist_error *err);
/*
 * The same under the list's lock, where no writer can be midway: a last
 * line without its newline is a write a crash cut short, dropped (err
 * says so, with 1 returned) rather than the whole file refused; the
 * list is then rewritten whole, never appended to.
 */
int	uidlist_read_locked(int dirfd, struct uidlist **,
	    struct uidlist_error *err);
/* The UID of a Maildir file name (its ":2," info ignored), or 0. */
uint32_t uidlist_lookup(struct uidlist *, const char *filename);
/* The index of uid in recs, or -1. */
ssize_t	uidlist_find_uid(const struct uidlist *, uint32_t uid);
/*
 * Gives filename (its base) the next UID unless it has one. 1 added, 0
 * it was there; *uid (if not NULL) is its UID either way. -1: EINVAL
 * not a Maildir name, EOVERFLOW no UID left in this UIDVALIDITY (start
 * a new list), E2BIG UIDLIST_RECORDS_MAX reached, ENOMEM.
 */
int	uidlist_append(struct uidlist *, const char *filename, uint32_t *uid);
/* Drops an expunged message's record. 1 dropped, 0 no such UID. */
int	uidlist_remove(struct uidlist *, uint32_t uid);
/* The file's text (records keep their extensions; names their base). */
int	uidlist_format(const struct uidlist *, struct buf *);
/*
 * Appends the records from index first on (those added since the list
 * was read under the lock) to the file in place, as Dovecot adds new
 * mail: its header's next UID goes stale, which readers allow for (the
 * next UID is past the last record's either way). ESTALE when the file
 * is not the one read, or the list has no GUID yet: then uidlist_write.
 * 0 or -1 (errno).
 */
int	uidlist_write_tail(struct dotlock *, const struct uidlist *,
	    size_t first);
/* Takes dovecot-uidlist.lock in dirfd (dotlock_take). 1, 0 held, -1. */
int	uidlist_lock(int dirfd, int wait_secs, struct dotlock *);
/*
 * Writes the list over dovecot-uidlist under the lock (dotlock_replace),
 * giving it a GUID first if it had none. 0 or -1 (errno).
 */
int	uidlist_write(struct dotlock *, struct uidlist *);

/* uidlist_assign's flags. */
#define UIDLIST_COMPLETE	1	/* the names are the whole folder */
#define UIDLIST_FRESH		2	/* the names were just made */

/*
 * Gives each of the n names (a folder's files, dirfd the folder) its UID
 * in the folder's dovecot-uidlist: names the list lacks are added under
 * its dot-lock (waiting at most lock_wait seconds) in delivery order
 * (maildir_name_cmp), as Dovecot numbers them, and the list is
 * written; with UIDLIST_COMPLETE (the listing missed nothing), records
 * of files gone are dropped, as Dovecot drops them (by a listing of new/
 * and cur/ under the lock: files numbered since the caller's are kept);
 * with UIDLIST_FRESH (an APPEND's, a COPY's) the list is not read
 * before the lock is taken, since none can have a UID. A list missing or
 * refused is made by restore(arg) when given (imapd's index remembers
 * it), else anew. uids[i] gets 0 for a name the list cannot hold, or
 * one left for later when the lock could not be had. Returns the list
 * (free it), or NULL with errno (EAGAIN: no lock and no list). label
 * names the folder in the log.
 */
struct uidlist	*uidlist_assign(int dirfd, const char *label, int lock_wait,
		    char *const *names, size_t n, int flags,
		    uint32_t *uids, struct uidlist *(*restore)(void *),
		    void *arg);

/*
 * Drops the records of uids (messages removed by other means than a
 * sync, such as POP3's QUIT) under the list's dot-lock. 0, or -1.
 */
int	uidlist_forget(int dirfd, const char *label, int lock_wait,
	    const uint32_t *uids, size_t n);

#endif
