/*
 * mailindex.h - the per-user IMAP index: a Berkeley DB cache, beside a
 * user's Maildir++ folders, of what IMAP needs per message and per
 * folder and the Maildir cannot answer cheaply (RFC822.SIZE,
 * INTERNALDATE, MODSEQ, the expunges QRESYNC reports as VANISHED, and
 * the ENVELOPE and BODYSTRUCTURE strings the caller computes once).
 *
 * The Maildir and each folder's dovecot-uidlist stay the truth: the
 * index is rebuilt from them whenever it is missing, corrupt or from
 * another version, and nothing but cached values is lost. UIDs and
 * UIDVALIDITY always come from the uidlist (libcommon/uidlist.h), so
 * they survive the loss of the index; a uidlist lost while the index
 * lives is written back from the index with the same UIDVALIDITY and
 * UIDs (see mailindex_sync).
 *
 * One struct mailindex is one process's handle on one user's index
 * directory; one struct mailindex_folder is a session's view of one
 * folder through it: the UIDs in sequence order as of its last sync,
 * and the MODSEQ of each, so that a sync reports what changed since
 * (whoever changed it: this session, another, Dovecot, a delivery).
 *
 * Concurrency (doc/DESIGN.md, "The IMAP index"): Berkeley DB's
 * Concurrent Data Store: many readers, one writer at a time, no
 * deadlocks and no recovery; every change is one locked group. One
 * handle per process (an imapd session is a process): two handles in
 * one process must not be used at once from two threads.
 */
#ifndef POSTERN_MAILINDEX_H
#define POSTERN_MAILINDEX_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "keywords.h"

#define MAILINDEX_DB_FILE	"mailindex.db"
#define MAILINDEX_VERSION	2	/* 2: mi_crc by words */
/* Expunges remembered per folder for VANISHED; older ones are dropped. */
#define MAILINDEX_EXPUNGED_MAX	10000
/* A blob (ENVELOPE, BODYSTRUCTURE) is a cache entry, not a message. */
#define MAILINDEX_BLOB_MAX	(1024u * 1024)
/* How long a sync waits for another's dovecot-uidlist.lock. */
#define MAILINDEX_LOCK_WAIT	10

struct mailindex;
struct mailindex_folder;

/* One message as the index knows it. */
struct mailindex_msg {
	uint32_t		uid;
	uint64_t		modseq;
	uint64_t		size;		/* RFC822.SIZE */
	time_t			idate;		/* INTERNALDATE */
	struct keywords_flags	flags;
	int			in_new;		/* in new/, else cur/ */
	char			name[256];	/* the file name, with info */
};

/* What a sync found changed since the folder view's previous sync. */
struct mailindex_changes {
	uint32_t	*added;		/* new UIDs, ascending: EXISTS */
	size_t		 nadded;
	uint32_t	*changed;	/* MODSEQ moved (flags): FETCH */
	size_t		 nchanged;
	uint32_t	*expunged;	/* UIDs gone, ascending */
	uint32_t	*expunged_seq;	/* their sequence numbers in the old
					   view: send EXPUNGE for them from
					   the last to the first */
	size_t		 nexpunged;
	uint32_t	*recent;	/* moved from new/ by this sync, with
					   MAILINDEX_SYNC_NEW_TO_CUR: this
					   session's \Recent, ascending */
	size_t		 nrecent;
	int		 uidvalidity_changed; /* the view restarted */
};

enum mailindex_flag_op {
	MAILINDEX_FLAGS_SET,
	MAILINDEX_FLAGS_ADD,
	MAILINDEX_FLAGS_REMOVE,
};

/*
 * Move new/ files to cur/ (with an empty ":2,"), as the session that
 * takes them as \Recent does; which it moved comes back in recent.
 */
#define MAILINDEX_SYNC_NEW_TO_CUR	0x01

enum mailindex_blob {
	MAILINDEX_BLOB_ENVELOPE = 'E',
	MAILINDEX_BLOB_BODYSTRUCTURE = 'B',
	MAILINDEX_BLOB_HEADER = 'R',	/* the raw header, for SEARCH */
};

/*
 * Opens (creating what is missing, mode 0700/0600) the index in dir, a
 * directory the caller chose (local disk: see DESIGN.md on NFS). A
 * database that will not open, or holds another version, is removed
 * and made again. NULL with errno (and a logged reason) on failure.
 */
struct mailindex *mailindex_open(const char *dir);
void		 mailindex_close(struct mailindex *);
/*
 * How long to wait for another's dovecot-uidlist.lock or
 * dovecot-keywords.lock (default MAILINDEX_LOCK_WAIT; 0: one try). A
 * sync that cannot have the lock carries on without numbering new
 * files; they wait for the next sync.
 */
void		 mailindex_set_lock_wait(struct mailindex *, int secs);
/* How many times this handle threw a broken index away (for tests). */
unsigned	 mailindex_rebuilds(const struct mailindex *);
/* How many syncs through this handle read every record (for tests). */
unsigned	 mailindex_full_syncs(const struct mailindex *);

/*
 * A view of the folder whose Maildir is path ("Maildir" or
 * "Maildir/.Sent", relative to the working directory, as the chrooted
 * mail process sees it). The folder's index key is path itself, so one
 * user's folders must be opened through one spelling of their paths.
 * The view is empty until the first mailindex_sync.
 */
struct mailindex_folder *mailindex_folder_open(struct mailindex *,
	    const char *path);
void		 mailindex_folder_close(struct mailindex_folder *);
/*
 * Drops every record of the folder whose path is path (its messages,
 * cached strings, expunge history and folder record), as after a
 * DELETE or a RENAME: the next view of that path starts from the
 * Maildir and its uidlist. Only that path, not its Maildir++ children
 * (".a.b" is another folder than ".a"). 0, or -1 with errno.
 */
int		 mailindex_folder_forget(struct mailindex *, const char *path);

/*
 * Milliseconds until a sync must list the folder again although nothing
 * it can see changed (the grain of an mtime its quick check trusts:
 * mailindex_quick.c); -1 when none is due. A waiting session (IDLE)
 * syncs by then.
 */
int	mailindex_quick_due_ms(const struct mailindex_folder *);
/*
 * Brings the index up to date with the Maildir and the uidlist, then
 * the view up to date with the index, and reports the difference
 * (ch may be NULL; free it with mailindex_changes_free). Files without
 * a UID get one in dovecot-uidlist (under its dot-lock); files gone
 * become expunges; a file renamed with other flags gets a new MODSEQ.
 * When the directories change while they are read, expunges are left
 * for the next sync rather than guessed. 0, or -1 with errno.
 */
int	mailindex_sync(struct mailindex_folder *, int flags,
	    struct mailindex_changes *ch);
void	mailindex_changes_free(struct mailindex_changes *);

/* The view: as of the last sync, and this session's own changes. */
uint32_t mailindex_uidvalidity(const struct mailindex_folder *);
uint32_t mailindex_uidnext(const struct mailindex_folder *);
uint64_t mailindex_highestmodseq(const struct mailindex_folder *);
size_t	 mailindex_count(const struct mailindex_folder *);
/* The UID of sequence number seq (1-based), or 0. */
uint32_t mailindex_seq_uid(const struct mailindex_folder *, size_t seq);
/* The sequence number of uid, or 0. */
size_t	 mailindex_uid_seq(const struct mailindex_folder *, uint32_t uid);
/* The view's UIDs in order (count of them); valid until the next call. */
const uint32_t *mailindex_uids(const struct mailindex_folder *, size_t *n);
/*
 * A message's record from the index (it may be newer than the view).
 * 1 found, 0 no such UID (expunged), -1 error.
 */
int	mailindex_get(struct mailindex_folder *, uint32_t uid,
	    struct mailindex_msg *);
/*
 * The records of uids[0..n-1] into out[] (out[i].uid 0: expunged), in
 * one range read when the UIDs ascend and lie close together, else one
 * lookup each. 0 or -1.
 */
int	mailindex_get_many(struct mailindex_folder *, const uint32_t *uids,
	    size_t n, struct mailindex_msg *out);
/*
 * Calls fn with each record of UIDs lo..hi in UID order (one range
 * read: FETCH 1:* without a lookup per message), until fn returns
 * non-zero (1 stops, -1 fails). Records may be newer than the view and
 * include UIDs it does not have yet: the caller skips those. fn must
 * not call back into the index to change it: under CDB a process that
 * holds a read cursor and asks for the write lock waits for itself.
 * 0 or -1.
 */
int	mailindex_scan(struct mailindex_folder *, uint32_t lo, uint32_t hi,
	    int (*fn)(void *, const struct mailindex_msg *), void *arg);
/* The view's UIDs whose MODSEQ is above since, ascending (malloc'd). */
int	mailindex_changed_since(const struct mailindex_folder *,
	    uint64_t since, uint32_t **uids, size_t *n);
/*
 * The UIDs expunged with a MODSEQ above since, ascending (malloc'd).
 * *complete is 0 when the index no longer remembers every expunge that
 * far back (bounded history, or a rebuilt index): the caller then
 * reports as VANISHED every UID the client may know that is not in the
 * view (RFC 7162 3.2.5.1 allows it).
 */
int	mailindex_expunged_since(struct mailindex_folder *, uint64_t since,
	    uint32_t **uids, size_t *n, int *complete);

/*
 * Opens a message's file read-only, finding it under its new name when
 * someone renamed it. An fd, or -1 (ENOENT: expunged).
 */
int	mailindex_open_msg(struct mailindex_folder *, uint32_t uid);
/* The same from a record already read (no lookup by UID). */
int	mailindex_open_rec(struct mailindex_folder *,
	    const struct mailindex_msg *);

/*
 * Changes the flags of the messages uids (n of them): renames each file
 * to its new ":2,<letters>", gives it a new MODSEQ, and updates the
 * view. With unchangedsince (not 0: CONDSTORE), a message whose MODSEQ
 * is above it is left alone and listed in *failed (malloc'd, may be
 * NULL). A UID that no longer exists is skipped. 0 or -1.
 */
int	mailindex_store(struct mailindex_folder *, const uint32_t *uids,
	    size_t n, enum mailindex_flag_op, const struct keywords_flags *,
	    uint64_t unchangedsince, uint32_t **failed, size_t *nfailed);
/*
 * Deletes the files of uids and records their expunges (their view
 * entries go at the next sync, which reports them). 0 or -1.
 */
int	mailindex_expunge(struct mailindex_folder *, const uint32_t *uids,
	    size_t n);
/*
 * IMAP's EXPUNGE: the same, but only for the messages that still have
 * \Deleted when the lock is held (another session, Dovecot or mutt may
 * have taken it off since the caller looked). 0 or -1.
 */
int	mailindex_expunge_deleted(struct mailindex_folder *,
	    const uint32_t *uids, size_t n);
/*
 * Delivers the len bytes at data into cur/ with flags and INTERNALDATE
 * idate (0: now) and gives it a UID (APPENDUID). 0 or -1.
 */
int	mailindex_append(struct mailindex_folder *, const void *data,
	    size_t len, const struct keywords_flags *, time_t idate,
	    uint32_t *uid);
/*
 * Copies the messages uids of src into dst (hard links where the file
 * system allows, else copies), keeping flags (keywords by name) and
 * INTERNALDATE; dst_uids (n of them, the caller's) gets the UID each
 * got in dst, 0 for one that was gone (COPYUID). With move, the
 * sources are expunged afterwards. 0 or -1.
 */
int	mailindex_copy(struct mailindex_folder *src, const uint32_t *uids,
	    size_t n, struct mailindex_folder *dst, uint32_t *dst_uids,
	    int move);

/*
 * Cached strings: stored by the caller once computed, dropped with the
 * message. get: 1 and a malloc'd copy, 0 none, -1 error.
 */
int	mailindex_blob_put(struct mailindex_folder *, uint32_t uid,
	    enum mailindex_blob, const void *data, size_t len);
/*
 * Many at once, in one write group: a FETCH 1:* that computes thousands
 * stores them together rather than taking the write lock for each.
 * Those of messages expunged meanwhile are dropped. 0 or -1.
 */
struct mailindex_blob_item {
	uint32_t		 uid;
	enum mailindex_blob	 kind;
	const void		*data;
	size_t			 len;
};
int	mailindex_blob_put_many(struct mailindex_folder *,
	    const struct mailindex_blob_item *, size_t n);
int	mailindex_blob_get(struct mailindex_folder *, uint32_t uid,
	    enum mailindex_blob, char **data, size_t *len);

/*
 * The folder's keyword letter (0..25) of name from dovecot-keywords,
 * added there (under its lock) with create. -1: errno ENOENT none,
 * ENOSPC all 26 taken, EINVAL not a keyword.
 */
int	mailindex_keyword(struct mailindex_folder *, const char *name,
	    int create);
/* The keyword of letter i, or NULL; valid until the next call. */
const char *mailindex_keyword_name(struct mailindex_folder *, int i);

#endif
