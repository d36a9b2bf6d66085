/*
 * maildir.h - Maildir delivery and file names, shared by deliverd (writes
 * new mail) and the mailbox daemons (read names, change flags).
 *
 * File names follow Dovecot, so a store can move between the two:
 *   <sec>.M<usec>P<pid>Q<n>.<host>,S=<size>,W=<vsize>[:2,<flags>]
 * where <size> is the file's size on disk, <vsize> its size as POP3 and
 * IMAP clients receive it (maildir_vsize_*), and <flags> are sorted.
 */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#define MAILDIR_NAME_MAX	256	/* a file name, with info suffix */
#define MAILDIR_HOST_MAX	64	/* encoded host part, after truncation */
#define MAILDIR_FLAGS_MAX	(26 + 26 + 1)	/* A-Z, a-z, NUL */

/*
 * The one way a user's mailbox comes to exist (deliverd, pop3d, the
 * CLI): creates what is missing of <store>/<domain>/<local>/Maildir and
 * its tmp, new and cur, mode 0700, below the existing directory store.
 * Each level is opened relative to the one above with O_NOFOLLOW, so a
 * symlink planted anywhere in the path fails (ENOTDIR) instead of leading
 * elsewhere; domain and local must be store-safe (EINVAL otherwise).
 * With chown_new (the CLI, as root), what it creates goes to uid:gid;
 * the daemons run as the mail-store user already. Whatever it creates
 * is made durable in its parent (fsync) before it returns, so a delivery
 * into a fresh Maildir cannot lose its directory in a crash. *created
 * (if not NULL) counts the directories made. 0, or -1 with errno.
 */
int	maildir_create_user(const char *store, const char *domain,
	    const char *local, uid_t uid, gid_t gid, int chown_new,
	    int *created);

/*
 * Writes "host" for use in a file name: '/' becomes "\057" and ':'
 * "\072" (Dovecot's escapes), truncated at MAILDIR_HOST_MAX bytes.
 */
void	maildir_host_encode(const char *host, char *out, size_t outsz);

/* "<sec>.M<usec>P<pid>Q<n>.<host>" with host already encoded. */
int	maildir_name_base(char *out, size_t outsz, long long sec, long usec,
	    long pid, unsigned long counter, const char *host);

/*
 * Delivers hdr (hdrlen bytes, may be 0) followed by srclen bytes of srcfd
 * from srcoff, read with pread (the descriptor's offset is left alone, so
 * one descriptor serves many deliveries; a source shorter than srclen is
 * EIO). Writes tmp/<base>, fsyncs it, moves it to
 * new/<base>,S=<size>,W=<vsize> without ever replacing a file, fsyncs
 * new/, and only then returns 0 with the new file's name in name. On any
 * failure nothing is left behind and -1 is returned with errno from the
 * step that failed.
 */
int	maildir_deliver(const char *path, const void *hdr, size_t hdrlen,
	    int srcfd, off_t srcoff, uint64_t srclen, char *name,
	    size_t namesz);
/*
 * The same into cur/ as <base>,S=<size>,W=<vsize>:2,<letters> (the
 * flags an IMAP APPEND or COPY stores the message with: one rename, not
 * a second one through new/), with mtime (its INTERNALDATE) when not 0;
 * cur/ is what is fsynced.
 */
int	maildir_deliver_cur(const char *path, const void *hdr, size_t hdrlen,
	    int srcfd, off_t srcoff, uint64_t srclen, const char *letters,
	    time_t mtime, char *name, size_t namesz);

/*
 * The ",S=<size>" field of a name; 0 and *size, or -1 when it has none.
 */
int	maildir_name_size(const char *name, uint64_t *size);
/* The ",W=<vsize>" field (Dovecot's "virtual size"), the same way. */
int	maildir_name_vsize(const char *name, uint64_t *vsize);

/*
 * The virtual size of a message: its octets with every bare LF counted
 * as CRLF (a CRLF stays two octets), plus 2 when it does not end in LF
 * (the CRLF a POP3 server adds to the last line). Feed the bytes in any
 * chunks.
 */
struct maildir_vsize {
	uint64_t	size;
	unsigned char	last;
	int		any;
};

void	maildir_vsize_init(struct maildir_vsize *);
void	maildir_vsize_feed(struct maildir_vsize *, const void *, size_t);
uint64_t maildir_vsize_end(const struct maildir_vsize *);

/*
 * Splits a name at its info suffix: *baselen is the length before ":2,",
 * flags receives the flags (sorted, without duplicates). A name without
 * info has baselen strlen(name) and no flags. -1 (EINVAL) when the info
 * is not ":2," followed by flag letters (A-Z, a-z), or flags is too small.
 */
int	maildir_info_parse(const char *name, size_t *baselen, char *flags,
	    size_t flagssz);

/*
 * Builds "<base>:2,<flags>" from a name (its old info, if any, dropped)
 * and a flag set in any order; flags are sorted and deduplicated.
 */
int	maildir_info_build(char *out, size_t outsz, const char *name,
	    const char *flags);

/* Sorts and deduplicates a flag string in place; -1 on a non-flag byte. */
int	maildir_flags_normalize(char *flags);
/* 1 if flag is set in flags. */
int	maildir_flags_has(const char *flags, char flag);
/* Adds or removes one flag, keeping the string sorted; -1 if not a flag. */
int	maildir_flags_set(char *flags, size_t flagssz, char flag, int on);

/*
 * Orders Maildir names by delivery time ("<sec>.M<usec>...", numbers
 * compared as numbers), then by name: the order POP3 lists messages in
 * and new files get their UIDs in (Dovecot's maildir_filename_sort_cmp).
 */
int	maildir_name_cmp(const char *, const char *);

#endif
