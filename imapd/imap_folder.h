/*
 * imap_folder.h - the user's folder tree (imap_folder.c: names to paths,
 * the table of folders with their attributes, subscriptions;
 * imap_folder_ops.c: CREATE, DELETE, RENAME, the default folders) and the
 * IMAP commands that work on it (imap_cmd_folder.c: LIST with
 * LIST-EXTENDED, LIST-STATUS and SPECIAL-USE, LSUB, CREATE, DELETE,
 * RENAME, SUBSCRIBE, UNSUBSCRIBE, NAMESPACE).
 *
 * The mail process runs chrooted in the user's directory: every path
 * here is relative to the working directory, which holds "Maildir"
 * (INBOX, Maildir++ as Dovecot lays it out: libcommon/mailbox_name.h).
 * Names are modified UTF-7, as clients send them, hierarchy delimiter
 * ".". imap_folder_path is the one place a client's mailbox name
 * becomes a path.
 */
#ifndef POSTERN_IMAP_FOLDER_H
#define POSTERN_IMAP_FOLDER_H

#include <stddef.h>

#include "buf.h"
#include "mailbox_name.h"

struct imap_arg;
struct imap_request;
struct mailindex;

#define IMAP_FOLDER_ROOT	"Maildir"
/* Dovecot's subscriptions file, at the top of the Maildir. */
#define IMAP_FOLDER_SUBS	"subscriptions"
/* Written once the default folders were made (never again after). */
#define IMAP_FOLDER_DEFAULTS_MARK "postern-default-folders"
/*
 * Folders (and subscriptions) one user may have: LIST builds its table
 * in memory, so the table is bounded; CREATE past it is NO [LIMIT].
 */
#define IMAP_FOLDERS_MAX	10000
/* Longest subscriptions file read (10000 names of 100 bytes). */
#define IMAP_FOLDER_SUBS_MAX	(1024 * 1024)
/* Longest path imap_folder_path makes: "Maildir/." and a name. */
#define IMAP_FOLDER_PATH_MAX	(sizeof(IMAP_FOLDER_ROOT) + 2 + \
				 MAILBOX_NAME_MAX)

/*
 * "Maildir" for INBOX (any case), "Maildir/.Sent" for "Sent". 0, or -1:
 * EINVAL for a name mailbox_name_ok refuses (so nothing that leaves the
 * Maildir: no "/", no "..", no empty component, no control), ENAMETOOLONG.
 */
int	imap_folder_path(const char *mutf7name, char *path, size_t sz);

/* Attributes of a folder table entry (struct imap_folder.flags). */
#define IMAP_FOLDER_EXISTS	0x01	/* a folder (INBOX always) */
#define IMAP_FOLDER_PARENT	0x02	/* a folder exists below it */
#define IMAP_FOLDER_SUBSCRIBED	0x04	/* in the subscriptions file */
#define IMAP_FOLDER_SUBPARENT	0x08	/* a subscribed name is below it */

/* SPECIAL-USE (RFC 6154), by Dovecot's default folder names. */
enum imap_special {
	IMAP_SPECIAL_NONE,
	IMAP_SPECIAL_SENT,
	IMAP_SPECIAL_DRAFTS,
	IMAP_SPECIAL_TRASH,
	IMAP_SPECIAL_JUNK,
	IMAP_SPECIAL_ARCHIVE,
};

struct imap_folder {
	char		 name[MAILBOX_NAME_MAX + 1];	/* modified UTF-7 */
	unsigned	 flags;		/* IMAP_FOLDER_* */
	enum imap_special special;
};

/*
 * Every name LIST or LSUB can show, sorted by name (strcmp), INBOX
 * spelled "INBOX": the folders of the Maildir, INBOX, the parents
 * Maildir++ implies without a directory ("a" for ".a.b"; not EXISTS),
 * and the subscribed names, existing or not. At most IMAP_FOLDERS_MAX
 * entries: O(n log n) to build, O(n * depth) memory.
 */
struct imap_folder_list {
	struct imap_folder	*v;
	size_t			 n, cap;
};

/* 0, or -1 with errno (E2BIG: past IMAP_FOLDERS_MAX). */
int	imap_folder_list(struct imap_folder_list *);
void	imap_folder_list_free(struct imap_folder_list *);
/* The entry of name (INBOX any case), or NULL: a binary search. */
const struct imap_folder *imap_folder_find(const struct imap_folder_list *,
	    const char *name);
/* The SPECIAL-USE of a name ("Sent" is \Sent), and its attribute text. */
enum imap_special imap_folder_special(const char *name);
const char *imap_special_attr(enum imap_special);

/* 1 if the folder exists (INBOX: the Maildir), 0 if not, -1 error. */
int	imap_folder_exists(const char *mutf7name);

/*
 * Results of the file-system operations: 0 done, or one of these
 * (errno set too for IMAP_FOLDER_ERR, already logged).
 */
enum imap_folder_err {
	IMAP_FOLDER_OK = 0,
	IMAP_FOLDER_ERR_NAME,		/* refused name */
	IMAP_FOLDER_ERR_EXISTS,		/* target exists */
	IMAP_FOLDER_ERR_NONEXISTENT,	/* no such folder */
	IMAP_FOLDER_ERR_INBOX,		/* not for INBOX */
	IMAP_FOLDER_ERR_CHILD,		/* RENAME a to a.b */
	IMAP_FOLDER_ERR_LIMIT,		/* IMAP_FOLDERS_MAX */
	IMAP_FOLDER_ERR,		/* a system error */
};

/*
 * CREATE: ".name/{cur,new,tmp}" and an empty "maildirfolder" (as Dovecot
 * and Courier make them), mode 0700. A trailing "." (RFC 3501: the
 * client means to put folders below) is dropped. Missing parents are not
 * made: Maildir++ needs none, and LIST shows them \Noselect.
 */
enum imap_folder_err imap_folder_create(const char *mutf7name);
/*
 * DELETE, as Dovecot 2.3 does with Maildir++: the folder's directory
 * goes (renamed out of sight first, so a half-deleted folder is never
 * listed), its children stay (the name is then listed \Noselect, as
 * RFC 3501 6.3.4 asks), its subscription stays (6.3.6). ix (may be
 * NULL) forgets the folder's index records.
 */
enum imap_folder_err imap_folder_delete(struct mailindex *ix,
	    const char *mutf7name);
/*
 * RENAME, with every child ("a.x" to "b.x") and the subscriptions of
 * all of them. A name that is only a parent of folders renames its
 * children (Dovecot does the same). INBOX (RFC 3501 6.3.5): a new folder
 * gets every message of INBOX's cur/ and new/, and INBOX stays, empty;
 * the new folder gets INBOX's dovecot-keywords and no dovecot-uidlist,
 * so its first sync gives the messages UIDs under a fresh UIDVALIDITY.
 * ix (may be NULL) forgets the records of the old and new paths.
 */
enum imap_folder_err imap_folder_rename(struct mailindex *ix,
	    const char *from, const char *to);

/*
 * The subscriptions file: Dovecot 2.3's "V\t2\n\n" and one name a line,
 * hierarchy delimiter written as TAB (version 1: no header, "." kept).
 * Read whole (at most IMAP_FOLDER_SUBS_MAX); changed under a dot-lock,
 * written whole and renamed into place, so readers never lock.
 */
int	imap_folder_subscriptions(char ***names, size_t *n);
void	imap_folder_subscriptions_free(char **names, size_t n);
/* on: 1 subscribe, 0 unsubscribe. Idempotent. 0 or -1. */
int	imap_folder_subscribe(const char *mutf7name, int on);

/*
 * The default folders of a new user: Sent, Drafts, Trash, Junk and
 * Archive, created and subscribed once (a marker file says it was
 * done, so a folder the user deleted stays deleted); one stat when
 * done. 0, or -1 (logged; the session goes on without them).
 */
int	imap_folder_defaults(void);

/* --- the commands (imap_cmd_folder.c) --- */

enum imap_status_code { IMAP_RES_OK, IMAP_RES_NO, IMAP_RES_BAD };

struct imap_reply {
	enum imap_status_code	code;
	/*
	 * The tagged line's text after "OK "/"NO "/"BAD ", with any
	 * response code: "[ALREADYEXISTS] Mailbox exists" (RFC 5530 codes
	 * as Dovecot uses them: ALREADYEXISTS, NONEXISTENT, CANNOT,
	 * SERVERBUG, LIMIT, INUSE).
	 */
	char			text[256];
};

struct imap_folder_ctx {
	struct mailindex *ix;		/* may be NULL */
	const char	*selected;	/* mutf7 name of the selected folder */
	/*
	 * LIST ... RETURN (STATUS (items)) (RFC 5819): called for each
	 * selectable mailbox listed, after its LIST line; items is the
	 * parenthesised list of status items as the client sent it (the
	 * same shape as STATUS's second argument). Writes the "* STATUS"
	 * line to out. -1 leaves the mailbox's STATUS out (RFC 5819 2).
	 * NULL: STATUS in RETURN is BAD.
	 */
	int		(*status)(void *, const char *, const struct imap_arg *,
			    struct buf *);
	void		*status_arg;
	/*
	 * Set by a DELETE of the selected folder: Dovecot allows it; the
	 * caller then treats the folder as gone (its messages expunged).
	 */
	int		 deleted_selected;
};

/*
 * req->name one of LIST LSUB CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE
 * NAMESPACE; untagged gets the complete "* ..." lines (CRLF), the caller
 * writes them, then the tagged reply.
 */
void	imap_folder_command(struct imap_folder_ctx *,
	    const struct imap_request *req, struct buf *untagged,
	    struct imap_reply *reply);

#endif
