/*
 * keywords.c - Dovecot's dovecot-keywords file and the flag letters of
 * Maildir file names.
 *
 * Runs in the mail processes (imapd's) as the mail-store uid, confined
 * to one user's directory. The file and the names are the user's and
 * may come from Dovecot or any Maildir tool: the file is read with
 * O_NOFOLLOW and a size limit, parsed strictly, and a keyword must be
 * an IMAP atom so that it can go back to a client as it is. The file is
 * replaced whole under dovecot-keywords.lock (dotlock.c), as Dovecot
 * does, so readers never lock.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsutil.h"
#include "keywords.h"
#include "maildir.h"

#define KEYWORDS_MODE	0600

void
keywords_init(struct keywords *k)
{
	memset(k, 0, sizeof(*k));
}

void
keywords_clear(struct keywords *k)
{
	int i;

	for (i = 0; i < KEYWORDS_MAX; i++) {
		free(k->name[i]);
		k->name[i] = NULL;
	}
}

/* RFC 3501 atom: printable ASCII but atom-specials; not a \System flag. */
static int
name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > KEYWORDS_NAME_MAX || s[0] == '\\')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	return 1;
}

int
keywords_name_ok(const char *name)
{
	return name_ok(name, strlen(name));
}

int
keywords_find(const struct keywords *k, const char *name)
{
	int i;

	for (i = 0; i < KEYWORDS_MAX; i++)
		if (k->name[i] != NULL && strcasecmp(k->name[i], name) == 0)
			return i;
	return -1;
}

int
keywords_add(struct keywords *k, const char *name)
{
	int i;

	if (!keywords_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if ((i = keywords_find(k, name)) >= 0)
		return i;
	for (i = 0; i < KEYWORDS_MAX; i++)
		if (k->name[i] == NULL) {
			if ((k->name[i] = strdup(name)) == NULL)
				return -1;
			return i;
		}
	errno = ENOSPC;
	return -1;
}

int
keywords_parse(const char *text, size_t len, struct keywords *k, char *err,
    size_t errsz)
{
	const char	*s = text, *end = text + len, *nl, *sp;
	unsigned	 line = 0;
	char		 name[KEYWORDS_NAME_MAX + 1];

	keywords_init(k);
	err[0] = '\0';
	if (len > KEYWORDS_FILE_MAX) {
		snprintf(err, errsz, "larger than %d bytes", KEYWORDS_FILE_MAX);
		goto bad;
	}
	while (s < end) {
		int idx;

		line++;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL) {
			snprintf(err, errsz, "line %u: no newline at the end "
			    "(truncated)", line);
			goto bad;
		}
		sp = memchr(s, ' ', (size_t)(nl - s));
		if (sp == NULL || sp - s < 1 || sp - s > 2 ||
		    (sp - s == 2 && s[0] == '0') ||
		    strspn(s, "0123456789") != (size_t)(sp - s) ||
		    (idx = atoi(s)) >= KEYWORDS_MAX) {
			snprintf(err, errsz, "line %u: bad index", line);
			goto bad;
		}
		if (!name_ok(sp + 1, (size_t)(nl - sp - 1))) {
			snprintf(err, errsz, "line %u: bad keyword", line);
			goto bad;
		}
		memcpy(name, sp + 1, (size_t)(nl - sp - 1));
		name[nl - sp - 1] = '\0';
		if (k->name[idx] != NULL || keywords_find(k, name) >= 0) {
			snprintf(err, errsz, "line %u: repeated index or "
			    "keyword", line);
			goto bad;
		}
		if ((k->name[idx] = strdup(name)) == NULL) {
			keywords_clear(k);
			return -1;
		}
		s = nl + 1;
	}
	return 0;
bad:
	keywords_clear(k);
	errno = EINVAL;
	return -1;
}

int
keywords_read(int dirfd, struct keywords *k, char *err, size_t errsz)
{
	char		text[KEYWORDS_FILE_MAX + 1];
	struct stat	st;
	ssize_t		n;
	int		fd, e;

	keywords_init(k);
	err[0] = '\0';
	fd = openat(dirfd, KEYWORDS_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		e = errno;
		snprintf(err, errsz, "open: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > KEYWORDS_FILE_MAX) {
		close(fd);
		snprintf(err, errsz, "not a regular file of at most %d bytes",
		    KEYWORDS_FILE_MAX);
		errno = EINVAL;
		return -1;
	}
	n = fs_pread_full(fd, text, (size_t)st.st_size, 0);
	e = errno;
	close(fd);
	if (n == -1) {
		snprintf(err, errsz, "read: %s", strerror(e));
		errno = e;
		return -1;
	}
	return keywords_parse(text, (size_t)n, k, err, errsz) == 0 ? 1 : -1;
}

int
keywords_format(const struct keywords *k, struct buf *b)
{
	int i;

	for (i = 0; i < KEYWORDS_MAX; i++)
		if (k->name[i] != NULL &&
		    buf_printf(b, "%d %s\n", i, k->name[i]) == -1)
			return -1;
	return 0;
}

int
keywords_lock(int dirfd, int wait_secs, struct dotlock *lk)
{
	return dotlock_take(dirfd, KEYWORDS_FILE, DOTLOCK_STALE_SECS,
	    wait_secs, lk);
}

int
keywords_write(struct dotlock *lk, const struct keywords *k)
{
	struct buf	b;
	int		rc, e;

	if (strcmp(lk->name, KEYWORDS_FILE) != 0) {
		errno = EINVAL;
		return -1;
	}
	buf_init(&b, KEYWORDS_FILE_MAX + 1);
	if (keywords_format(k, &b) == -1) {
		buf_free(&b);
		return -1;
	}
	rc = dotlock_replace(lk, b.data ? b.data : "", b.len, KEYWORDS_MODE);
	e = errno;
	buf_free(&b);
	errno = e;
	return rc;
}

int
keywords_flags_parse(const char *filename, struct keywords_flags *f)
{
	char	letters[64];
	size_t	bl, i;

	f->sys = f->kw = 0;
	if (maildir_info_parse(filename, &bl, letters, sizeof(letters)) == -1)
		return -1;
	for (i = 0; letters[i] != '\0'; i++) {
		char c = letters[i];

		if (c >= 'A' && c <= 'Z')
			f->sys |= KEYWORDS_SYS(c);
		else if (c >= 'a' && c <= 'z')
			f->kw |= 1u << (c - 'a');
		else {
			errno = EINVAL;
			return -1;
		}
	}
	return 0;
}

int
keywords_flags_letters(const struct keywords_flags *f, char *out,
    size_t outsz)
{
	size_t	n = 0;
	int	i;

	/* Capitals sort before small letters in ASCII, as Maildir wants. */
	for (i = 0; i < 26; i++)
		if (f->sys & (1u << i)) {
			if (n + 1 >= outsz)
				return -1;
			out[n++] = (char)('A' + i);
		}
	for (i = 0; i < KEYWORDS_MAX; i++)
		if (f->kw & (1u << i)) {
			if (n + 1 >= outsz)
				return -1;
			out[n++] = (char)('a' + i);
		}
	if (n >= outsz)
		return -1;
	out[n] = '\0';
	return 0;
}

int
keywords_flags_name(char *out, size_t outsz, const char *filename,
    const struct keywords_flags *f)
{
	char letters[64];

	if (keywords_flags_letters(f, letters, sizeof(letters)) == -1)
		return -1;
	return maildir_info_build(out, outsz, filename, letters);
}
