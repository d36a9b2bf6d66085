/*
 * mailindex_int.h - what the mailindex_*.c files share and nobody else
 * sees: the handle structures, the record layout in the database, and
 * the database primitives of mailindex_db.c.
 *
 * The database (one B-tree, mailindex.db, in the caller's directory)
 * holds, for the folder whose path is P ("Maildir/.Sent"), under keys
 * that begin "f" P "\0" and one letter:
 *   H                     the folder: UIDVALIDITY, next UID, HIGHESTMODSEQ,
 *                         how many expunges are kept and since when;
 *   M <uid, 4 bytes BE>   a message: MODSEQ, size, INTERNALDATE, flags,
 *                         new/ or cur/, its file name;
 *   E|B <uid>             the cached ENVELOPE or BODYSTRUCTURE string;
 *   X <modseq, 8 BE> <uid> an expunge, in MODSEQ order, so that the
 *                         oldest go first when the history is bounded
 *                         and "expunged since" is one range scan.
 * and, once, the key "\0version". Numbers inside records are in host
 * order: the index is a local cache of this machine. Every record
 * carries a checksum: one that does not match is corruption, and the
 * index is thrown away and rebuilt.
 */
#ifndef POSTERN_MAILINDEX_INT_H
#define POSTERN_MAILINDEX_INT_H

#include <sys/types.h>
#include <limits.h>
#include <stdint.h>

#include <db.h>

#include "keywords.h"
#include "mailindex.h"

#define MI_KEY_MAX	(PATH_MAX + 16)

/* Above this many records a folder's uidlist is not kept between syncs. */
#define MI_UIDLIST_KEEP_MAX	100000

struct uidlist;

/*
 * The quick check (mailindex_quick.c): new/ and cur/ mtimes and the folder
 * record's MODSEQ as of the last full sync, or of the session's own
 * change since (mi_quick_pre/_post), trusted while on and until verify
 * (CLOCK_REALTIME ns; 0: no limit): a directory whose mtime is within
 * its timestamps' grain of the listing may have changed again unseen,
 * so the folder is listed again once that grain has passed (and synced
 * in full only if the listing's digest is not the one expected).
 */
/*
 * A listing's digest (mailindex_quick.c): the sum of its names' keyed
 * hashes and their count, so that a change is added or taken out
 * without the names being kept. Not valid: unknown.
 */
struct mi_digest {
	uint64_t	 sum;
	uint32_t	 n;
	int		 valid;
};

/*
 * What a full sync's listing leaves the quick check: the mtimes read
 * just before it (when the listing held still: have), when they were
 * read (CLOCK_REALTIME ns), and the listing's digest.
 */
struct mi_listing {
	int		 have;
	struct timespec	 mtimes[2];
	int64_t		 read_at;
	struct mi_digest digest;
};

struct mi_quick {
	int		 on;
	int		 flags;
	struct timespec	 mtimes[2];
	uint64_t	 modseq;
	int64_t		 verify;
	struct mi_digest digest;	/* of new/ and cur/ as they should be */
	struct mi_digest change;	/* the own change under way */
};

struct mailindex {
	char		 dir[PATH_MAX];
	DB_ENV		*env;
	DB		*db;
	dev_t		 dev;		/* mailindex.db as opened: one that */
	ino_t		 ino;		/* changed was rebuilt by another */
	unsigned	 rebuilds;
	unsigned	 full_syncs;
	int		 lock_wait;	/* seconds, for a dot-lock */
	int		 corrupt;	/* a database error since the last reset */
	struct timespec	 checked;	/* the last stat of mailindex.db */
	/*
	 * The quick state of the folder closed last, for its next open (a
	 * SELECT of the folder selected already, an APPEND elsewhere).
	 */
	char		 quick_path[PATH_MAX];
	struct mi_quick	 quick_saved;
};

struct mailindex_folder {
	struct mailindex *ix;
	char		 path[PATH_MAX];
	int		 dirfd;
	unsigned char	 key[MI_KEY_MAX];	/* "f" path "\0" */
	size_t		 keylen;
	uint32_t	 uidvalidity, uidnext;
	uint64_t	 highestmodseq;
	uint32_t	*uids;		/* the view, in sequence order */
	uint64_t	*modseqs;
	size_t		 n, cap;
	struct keywords	 kw;
	int		 kw_loaded;
	struct mi_quick	 q;
	int		 unnumbered;	/* the last sync left a file without UID */
	/*
	 * The uidlist as a full sync last read it, while the file is that
	 * one (device, inode, size: Dovecot and we only append in place or
	 * rename a new file over it), so that the next full sync finding
	 * no new file need not read and parse it again.
	 */
	struct uidlist	*ul;
};

/* The folder record (H). */
struct mi_fhdr {
	uint64_t	highestmodseq;
	uint64_t	floor;		/* expunges above it are all kept */
	uint32_t	uidvalidity;
	uint32_t	nextuid;
	uint32_t	nexpunged;
	uint32_t	crc;
};

/* A message record (M) as stored: this, then namelen bytes of name. */
struct mi_mrec {
	uint64_t	modseq;
	uint64_t	size;
	int64_t		idate;
	uint32_t	sys, kw;
	uint32_t	crc;
	uint16_t	namelen;
	uint8_t		in_new;
	uint8_t		pad;
};

/*
 * A group of changes: a CDB locker holding a write cursor for the
 * group's length. The cursor is what serialises writers (CDB allows
 * one write cursor per database at a time; other writers wait when
 * they open theirs), so that a read-modify-write of the folder record
 * is never interleaved with another's. The group's own reads and
 * writes go through the same locker and do not wait for it.
 */
struct mi_group {
	DB_TXN		*txn;
	DBC		*wc;
};

uint32_t mi_crc(const void *, size_t);
size_t	 mi_key(const struct mailindex_folder *, unsigned char *out,
	    char type, uint32_t uid);
size_t	 mi_xkey(const struct mailindex_folder *, unsigned char *out,
	    uint64_t modseq, uint32_t uid);

/*
 * Reopens the handle when another process replaced mailindex.db: at
 * each sync (mi_check_now), and at most once a second between (a stat
 * per record read was a fifth of a busy session's system calls; until
 * the next look the replaced file, still open, answers as before).
 */
int	mi_check(struct mailindex *);
int	mi_check_now(struct mailindex *);
/* Throws the database away and makes a new one (corruption). */
int	mi_reset(struct mailindex *);
int	mi_begin(struct mailindex *, struct mi_group *);
int	mi_end(struct mailindex *, struct mi_group *, int ok);

/* 1 found, 0 none, -1 error (errno; ix->corrupt on a database error). */
int	mi_get(struct mailindex *, struct mi_group *, const void *key,
	    size_t klen, void **data, size_t *len);
int	mi_put(struct mailindex *, struct mi_group *, const void *key,
	    size_t klen, const void *data, size_t len);
int	mi_del(struct mailindex *, struct mi_group *, const void *key,
	    size_t klen);
/* Deletes every key that starts with prefix. */
int	mi_del_prefix(struct mailindex *, struct mi_group *,
	    const void *prefix, size_t plen);
/*
 * Calls fn for each key beginning with prefix, from the first one at
 * or after start (NULL: the prefix itself), in key order, until fn
 * returns non-zero (1: stop, -1: error).
 */
int	mi_scan(struct mailindex *, struct mi_group *, const void *prefix,
	    size_t plen, const void *start, size_t slen,
	    int (*fn)(void *, const unsigned char *, size_t, const void *,
	    size_t), void *arg);

int	mi_fhdr_get(struct mailindex_folder *, struct mi_group *,
	    struct mi_fhdr *);
int	mi_fhdr_put(struct mailindex_folder *, struct mi_group *,
	    struct mi_fhdr *);
int	mi_msg_get(struct mailindex_folder *, struct mi_group *, uint32_t,
	    struct mailindex_msg *);
int	mi_msg_put(struct mailindex_folder *, struct mi_group *,
	    const struct mailindex_msg *);
int	mi_msg_decode(const void *, size_t, uint32_t uid,
	    struct mailindex_msg *);
/* Deletes a message's records and remembers its expunge. */
int	mi_msg_expunge(struct mailindex_folder *, struct mi_group *,
	    struct mi_fhdr *, uint32_t uid);
/* A MODSEQ never issued before in a fresh folder record: now in us. */
uint64_t mi_modseq_base(void);

/* Appends to an array grown by powers of two (n is its count). */
int	mi_push32(uint32_t **, size_t *n, uint32_t);
/* mailindex_view.c: the view replaced by the index's current UIDs. */
int	mi_view_load(struct mailindex_folder *, struct mi_group *,
	    struct mailindex_changes *);
/* mailindex_sync.c: new/'s and cur/'s mtimes, in t[0] and t[1]. */
int	mi_dir_mtimes(int dirfd, struct timespec t[2]);
/*
 * Lists new/ then cur/, calling fn for each file a sync would take (not
 * dot files, no control bytes) until it returns non-zero, between two
 * reads of their mtimes: those before in mtimes, the time they were
 * read (CLOCK_REALTIME ns) in *read_at. 1 when the mtimes held still
 * (the listing can be trusted for what is gone), 0 when they moved, -1
 * on an error (a read error too: a short listing never passes).
 */
int	mi_list_folder(int dirfd, int (*fn)(void *, int in_new,
	    const char *name), void *arg, struct timespec mtimes[2],
	    int64_t *read_at);

/* mailindex_quick.c: CLOCK_REALTIME in ns (INT64_MAX without a clock). */
int64_t	mi_now_ns(void);
/* Adds (sign 1) or takes out (-1) a file of new/ or cur/. */
void	mi_digest_name(struct mi_digest *, int in_new, const char *name,
	    int sign);
/*
 * Whether the folder is as the quick state says (listing it again when
 * the grain of its mtimes is over): 1 with its record in h, else 0 and
 * a full sync is due.
 */
int	mi_quick_check(struct mailindex_folder *, int flags, struct mi_fhdr *);
/* After a full sync and its listing (ok: one to trust): may be quick. */
void	mi_quick_note(struct mailindex_folder *, int flags,
	    const struct mi_listing *, int ok);
/*
 * Around the session's own change to a folder's files and records,
 * inside its write group: pre (with the group's MODSEQ before) says
 * whether the quick state still describes the folder; mi_quick_name
 * tells it each file the change adds or takes out; post (with the
 * MODSEQ the group ends with) then makes it describe the folder with
 * the change, so that the next sync need not list it again.
 */
int	mi_quick_pre(struct mailindex_folder *, uint64_t modseq);
/* The start of pre alone, for a change whose files came before. */
void	mi_quick_begin(struct mailindex_folder *);
void	mi_quick_name(struct mailindex_folder *, int in_new,
	    const char *name, int sign);
/* The directories half of pre, for a change made before the group. */
int	mi_quick_dirs(struct mailindex_folder *);
void	mi_quick_post(struct mailindex_folder *, int pre, uint64_t modseq);
/* Throws the index away and rebuilds the folder's part, view untouched. */
int	mi_rebuild(struct mailindex_folder *);
/* UIDs for files of cur/ (0 for one that could not get one now). */
int	mi_assign(struct mailindex_folder *, char **names, size_t n,
	    uint32_t *uids);
/*
 * Records for files of cur/ that have UIDs; dirs: mi_quick_dirs before
 * the caller put them there.
 */
int	mi_index_add(struct mailindex_folder *, char **names,
	    const uint32_t *uids, size_t n, int dirs);

#endif
