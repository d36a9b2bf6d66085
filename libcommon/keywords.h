/*
 * keywords.h - IMAP keywords kept as Dovecot keeps them in a Maildir:
 * the letters a..z in a file name's flags (":2,FSab") stand for the
 * keywords numbered 0..25 in the folder's dovecot-keywords file, one
 * "<index> <name>" line each. System flags are the capital letters (D
 * draft, F flagged, P passed, R replied, S seen, T trashed; others,
 * which some Maildir tools set, are kept). Letters are written sorted.
 */
#ifndef POSTERN_KEYWORDS_H
#define POSTERN_KEYWORDS_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "dotlock.h"

#define KEYWORDS_FILE		"dovecot-keywords"
#define KEYWORDS_MAX		26	/* the letters a..z */
#define KEYWORDS_NAME_MAX	128	/* bytes in one keyword */
#define KEYWORDS_FILE_MAX	(KEYWORDS_MAX * (KEYWORDS_NAME_MAX + 4))

/* One bit per capital letter: bit (c - 'A'). */
#define KEYWORDS_SYS(c)		(1u << ((c) - 'A'))
#define KEYWORDS_DRAFT		KEYWORDS_SYS('D')
#define KEYWORDS_FLAGGED	KEYWORDS_SYS('F')
#define KEYWORDS_PASSED		KEYWORDS_SYS('P')
#define KEYWORDS_REPLIED	KEYWORDS_SYS('R')
#define KEYWORDS_SEEN		KEYWORDS_SYS('S')
#define KEYWORDS_TRASHED	KEYWORDS_SYS('T')

/* A message's flags: system flags, and keyword letters (bit c - 'a'). */
struct keywords_flags {
	uint32_t	sys;
	uint32_t	kw;
};

/* A folder's keyword table: name[i] is letter 'a' + i, or NULL. */
struct keywords {
	char	*name[KEYWORDS_MAX];
};

void	keywords_init(struct keywords *);
void	keywords_clear(struct keywords *);
/*
 * Parses a dovecot-keywords file, strictly: a line that is not "<0..25>
 * <keyword>\n", a repeated index or keyword, refuse it (err says which
 * line). A refused file must not be rewritten: the caller leaves it for
 * whoever wrote it and treats the letters as unknown keywords.
 * 0 or -1 (errno EINVAL, ENOMEM).
 */
int	keywords_parse(const char *text, size_t len, struct keywords *,
	    char *err, size_t errsz);
/* Reads dirfd's dovecot-keywords (no links). 1, 0 none, -1 (err). */
int	keywords_read(int dirfd, struct keywords *, char *err, size_t errsz);
int	keywords_format(const struct keywords *, struct buf *);
/* Takes dovecot-keywords.lock in dirfd. 1, 0 held, -1. */
int	keywords_lock(int dirfd, int wait_secs, struct dotlock *);
/* Replaces dovecot-keywords under the lock (dotlock_replace). */
int	keywords_write(struct dotlock *, const struct keywords *);
/* 1 if name is an IMAP keyword (an atom, not a \System flag). */
int	keywords_name_ok(const char *name);
/* The letter index of a keyword (compared without case), or -1. */
int	keywords_find(const struct keywords *, const char *name);
/*
 * The index of a keyword, added in the first free slot if new. -1:
 * EINVAL not a keyword, ENOSPC all 26 letters taken, ENOMEM.
 */
int	keywords_add(struct keywords *, const char *name);
/*
 * A Maildir file name's flags (its ":2," info; none without one). -1
 * (EINVAL) when the info holds anything but letters.
 */
int	keywords_flags_parse(const char *filename, struct keywords_flags *);
/* The flag letters, sorted ("FSab"), without ":2,". -1 if too small. */
int	keywords_flags_letters(const struct keywords_flags *, char *out,
	    size_t outsz);
/* filename with its info replaced: "<base>:2,<letters>". 0 or -1. */
int	keywords_flags_name(char *out, size_t outsz, const char *filename,
	    const struct keywords_flags *);

#endif
