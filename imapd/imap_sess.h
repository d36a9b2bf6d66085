/*
 * imap_sess.h - the mail process's session (imap_mail.c and the command
 * files beside it: imap_select.c, imap_fetch.c, imap_store.c,
 * imap_append.c, imap_idle.c): one logged-in user, chrooted in the
 * user's directory, with at most one folder selected.
 */
#ifndef POSTERN_IMAP_SESS_H
#define POSTERN_IMAP_SESS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "imap_parse.h"
#include "imap_reader.h"
#include "keywords.h"
#include "mailbox_name.h"
#include "mailindex.h"
#include "netio.h"

/* Where the index lives, relative to the user's directory (the root). */
#define IMAP_INDEX_DIR		".postern-index"
/* A folder's path: "Maildir" or "Maildir/.<name>". */
#define IMAP_PATH_MAX		(MAILBOX_NAME_MAX + 16)
/* Messages FETCH reads whole: larger ones are refused (logged). */
#define IMAP_MSG_READ_MAX	(1024ull * 1024 * 1024)
/* The read buffer kept between messages, at most. */
#define IMAP_RBUF_KEEP		(1024 * 1024)
/* What ENVELOPE reads of a file first: a header longer than this (rare)
 * makes it parse the whole message. */
#define IMAP_HEADER_READ	16384
#define IMAP_HEADER_READ_FIRST	4096
/* How often an IDLE session looks without inotify (seconds). */
#define IMAP_IDLE_POLL		1

struct login_env;

struct imap_sess {
	const struct login_env	*env;
	struct netio		 io;
	struct imap_reader	 rd;
	struct imap_cmd		 cmd;
	struct imap_request	 req;
	const char		*user;
	const char		*ip;
	struct mailindex	*ix;

	/* The selected folder, or sel NULL. */
	struct mailindex_folder	*sel;
	char			 selname[MAILBOX_NAME_MAX + 1];
	char			 selpath[IMAP_PATH_MAX];
	int			 readonly;	/* EXAMINE */
	uint32_t		 kwmask;	/* keywords last sent in FLAGS */
	uint32_t		*recent;	/* this session's \Recent UIDs */
	size_t			 nrecent;

	/* imap_ok syncs first: the command allows untagged updates. */
	int			 sync_ok;
	int			 condstore;	/* enabled (RFC 7162 3.1) */
	int			 qresync;
	int			 errors;
	unsigned long		 nfetch, nstore, nexpunged, nappend;
	char			*rbuf;		/* FETCH's read buffer */
	size_t			 rcap;
	/* ENVELOPE from a header's scratch space, kept between messages. */
	struct buf		 envscratch;
};

/* Answers (imap_mail.c); each counts towards IMAP_ERRORS_MAX if BAD. */
void	imap_ok(struct imap_sess *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	imap_no(struct imap_sess *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	imap_bad(struct imap_sess *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Ends the session: "* BYE why" (NULL: nothing), logged. */
void	imap_sess_exit(struct imap_sess *, const char *bye, const char *why)
	    __attribute__((__noreturn__));

/*
 * Brings the selected folder up to date and tells the client what
 * changed: EXPUNGE (or VANISHED under QRESYNC), EXISTS, RECENT, FETCH
 * of changed flags. Never called within FETCH, STORE or SEARCH by
 * sequence number (RFC 3501 7.4.1). 0, or -1 (answered: the caller
 * says NO).
 */
int	imap_sess_sync(struct imap_sess *);
/* Whether uid is \Recent in this session. */
int	imap_sess_recent(const struct imap_sess *, uint32_t uid);
void	imap_sess_unselect(struct imap_sess *);
/* "* FLAGS" and PERMANENTFLAGS again into b if the keywords changed. */
void	imap_flags_announce(struct imap_sess *, struct buf *);

/*
 * "(\Seen \Answered kw ...)" of f (keywords by the selected folder's
 * names), with \Recent if recent.
 */
void	imap_write_flags(struct buf *, struct mailindex_folder *,
	    const struct keywords_flags *, int recent);
/* The session's flags from a parsed flag list, keywords given letters
 * (created when create). -1: NO written ([LIMIT] too many keywords). */
int	imap_flags_to_index(struct imap_sess *, struct mailindex_folder *,
	    const struct imap_flags *, struct keywords_flags *, int create);
/*
 * The folder a command's mailbox argument names, opened (not synced):
 * NULL when answered (BAD syntax; NO [CANNOT] refused name; NO
 * [TRYCREATE] or [NONEXISTENT] missing, as trycreate says). name and
 * path receive the name and the folder's path.
 */
struct mailindex_folder *imap_folder_open_arg(struct imap_sess *,
	    const struct imap_arg *, int trycreate,
	    char name[MAILBOX_NAME_MAX + 1], char path[IMAP_PATH_MAX]);
/* The sequence set argument read against the view: UIDs, sorted. */
int	imap_set_uids(struct imap_sess *, const struct imap_arg *, int uid,
	    uint32_t **uids, size_t *n);
/* qsort/bsearch order of uint32_t. */
int	imap_cmp_u32(const void *, const void *);
/* Writes "a:b,c" of sorted UIDs. */
void	imap_write_uidset(struct buf *, const uint32_t *, size_t);
/*
 * The UIDs below UIDNEXT the folder's view lacks, within the set (NULL:
 * all), as a UID set: what VANISHED must say when the index no longer
 * remembers every expunge (RFC 7162 3.2.5.1). Returns whether it wrote
 * anything. Linear in the view, whatever the set's size.
 */
struct imap_seqset;
int	imap_write_missing(struct buf *, const struct imap_seqset *within,
	    struct mailindex_folder *);
/* INTERNALDATE "17-Jul-1996 02:44:25 -0700" (server's zone). */
void	imap_write_datetime(struct buf *, time_t);
/* Writes and flushes b, then empties it; a broken client ends us. */
void	imap_send(struct imap_sess *, struct buf *);

/* The commands (each file one group). */
void	imap_cmd_select(struct imap_sess *, int examine);
void	imap_cmd_close(struct imap_sess *, int expunge);
void	imap_cmd_expunge(struct imap_sess *, int uid);
void	imap_cmd_status(struct imap_sess *);
/* LIST's RETURN (STATUS ...) (imap_folder_ctx.status): arg the session. */
int	imap_status_cb(void *, const char *name, const struct imap_arg *items,
	    struct buf *);
void	imap_cmd_folder(struct imap_sess *);
void	imap_cmd_fetch(struct imap_sess *, int uid);
void	imap_cmd_store(struct imap_sess *, int uid);
void	imap_cmd_search(struct imap_sess *, int uid);
void	imap_cmd_copy(struct imap_sess *, int uid, int move);
void	imap_cmd_append(struct imap_sess *);
void	imap_cmd_idle(struct imap_sess *);

#endif
