/*
 * uidlist.c - reading and writing Dovecot's dovecot-uidlist.
 *
 * Runs in the mail processes (imapd's, later perhaps pop3d's) as the
 * mail-store uid, confined to one user's directory. The file is the
 * user's and may have been written by Dovecot, by us, or by anything
 * else with the uid: every byte is checked, every limit (file size,
 * line length, name length, record count, UID range) is checked before
 * the memory is taken, and a file that is not exactly the format is
 * refused whole -- never half used -- so the caller rebuilds the list.
 *
 * Dovecot's habits that shape the reader (maildir-uidlist.c):
 *  - it appends new records to the file in place, under its lock,
 *    without rewriting the header, so a record's UID may reach or pass
 *    the header's N: the next UID is then the last UID + 1;
 *  - a base listed twice means the message was moved back after an
 *    expunge; the later record wins, as in Dovecot;
 *  - it writes only the base of a name, but older versions wrote the
 *    whole name; we keep what we read and compare bases.
 */
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "uidlist.h"

#define UIDLIST_MODE	0600

static void
seterr(struct uidlist_error *err, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(struct uidlist_error *err, unsigned line, const char *fmt, ...)
{
	char	msg[128];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	err->line = line;
	if (line > 0)
		snprintf(err->msg, sizeof(err->msg), "line %u: %s", line, msg);
	else
		strlcpy(err->msg, msg, sizeof(err->msg));
	errno = EINVAL;
}

/* The base's length: the name up to its ':' info separator. */
static size_t
baselen(const char *name)
{
	return strcspn(name, ":");
}

static uint32_t
basehash(const char *name, size_t len)
{
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < len; i++)
		h = (h ^ (unsigned char)name[i]) * 16777619u;
	return h;
}

/*
 * A Maildir file name as we accept it: 1..UIDLIST_NAME_MAX bytes, a
 * base before any ':', no '/', no control byte (a name with a newline
 * would break the file; one with '/' could point outside the folder).
 */
static int
name_ok(const char *name, size_t len)
{
	size_t i;

	if (len == 0 || len > UIDLIST_NAME_MAX || name[0] == ':')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c < 0x20 || c == 0x7f || c == '/')
			return 0;
	}
	/* The base is what gets written back: it must pass on its own. */
	len = (size_t)((const char *)memchr(name, ':', len) != NULL ?
	    (const char *)memchr(name, ':', len) - name : (ptrdiff_t)len);
	return !(len == 1 && name[0] == '.') &&
	    !(len == 2 && name[0] == '.' && name[1] == '.');
}

static int
rehash(struct uidlist *l)
{
	size_t	 cap = 64, i;
	uint32_t *h;

	while (cap < 2 * l->n)
		cap *= 2;
	if ((h = calloc(cap, sizeof(*h))) == NULL)
		return -1;
	for (i = 0; i < l->n; i++) {
		const char *nm = l->recs[i].name;
		size_t bl, j;

		if (nm == NULL)
			continue;
		bl = baselen(nm);
		j = basehash(nm, bl) & (cap - 1);
		while (h[j] != 0)
			j = (j + 1) & (cap - 1);
		h[j] = (uint32_t)i + 1;
	}
	free(l->hash);
	l->hash = h;
	l->hcap = cap;
	return 0;
}

/* The record index of a base, or -1 (also when the hash can't be built). */
static ssize_t
find_base(struct uidlist *l, const char *base, size_t bl)
{
	size_t j;

	if (l->hcap == 0 && rehash(l) == -1)
		return -1;
	j = basehash(base, bl) & (l->hcap - 1);
	while (l->hash[j] != 0) {
		const char *nm = l->recs[l->hash[j] - 1].name;

		if (nm != NULL && baselen(nm) == bl && memcmp(nm, base, bl) == 0)
			return (ssize_t)l->hash[j] - 1;
		j = (j + 1) & (l->hcap - 1);
	}
	return -1;
}

/* Adds a record at the end (the caller keeps UIDs increasing). */
static int
push(struct uidlist *l, uint32_t uid, const char *name, size_t nlen,
    const char *ext, size_t elen)
{
	struct uidlist_rec *r;

	if (l->n >= UIDLIST_RECORDS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 64;

		if (cap > UIDLIST_RECORDS_MAX)
			cap = UIDLIST_RECORDS_MAX;
		r = reallocarray(l->recs, cap, sizeof(*r));
		if (r == NULL)
			return -1;
		l->recs = r;
		l->cap = cap;
	}
	r = &l->recs[l->n];
	r->uid = uid;
	r->ext = NULL;
	if ((r->name = strndup(name, nlen)) == NULL)
		return -1;
	if (elen > 0 && (r->ext = strndup(ext, elen)) == NULL) {
		free(r->name);
		return -1;
	}
	l->n++;
	/* The hash grows by rebuilding; below half full it takes the new one. */
	if (l->hcap != 0 && 2 * l->n <= l->hcap) {
		size_t j = basehash(name, baselen(r->name)) & (l->hcap - 1);

		while (l->hash[j] != 0)
			j = (j + 1) & (l->hcap - 1);
		l->hash[j] = (uint32_t)l->n;
	} else
		l->hcap = 0;
	return 0;
}

static void
drop(struct uidlist *l, size_t i)
{
	free(l->recs[i].name);
	free(l->recs[i].ext);
	memmove(&l->recs[i], &l->recs[i + 1],
	    (l->n - i - 1) * sizeof(l->recs[0]));
	l->n--;
	l->hcap = 0;		/* indexes moved: rebuilt on the next lookup */
}

/* Drops the tombstones that repeated names left. */
static void
compact(struct uidlist *l)
{
	size_t i, j;

	for (i = j = 0; i < l->n; i++)
		if (l->recs[i].name != NULL)
			l->recs[j++] = l->recs[i];
	if (j != l->n) {
		l->n = j;
		l->hcap = 0;
	}
}

static int
guid_new(char *out)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char	  raw[UIDLIST_GUID_LEN / 2];
	size_t		  i;

	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
		return -1;
	for (i = 0; i < sizeof(raw); i++) {
		out[2 * i] = hex[raw[i] >> 4];
		out[2 * i + 1] = hex[raw[i] & 15];
	}
	out[UIDLIST_GUID_LEN] = '\0';
	return 0;
}

struct uidlist *
uidlist_new(uint32_t uidvalidity)
{
	struct uidlist *l;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if (uidvalidity == 0) {
		time_t now = time(NULL);

		uidvalidity = now > 0 && (uint64_t)now < UINT32_MAX ?
		    (uint32_t)now : 1;
	}
	l->uidvalidity = uidvalidity;
	l->nextuid = 1;
	if (guid_new(l->guid) == -1) {
		free(l);
		return NULL;
	}
	return l;
}

void
uidlist_free(struct uidlist *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++) {
		free(l->recs[i].name);	/* a tombstone's are NULL */
		free(l->recs[i].ext);
	}
	free(l->recs);
	free(l->hash);
	free(l->hdr_ext);
	free(l);
}

/* Decimal 1..max without sign, spaces or leading zeros; -1 if not. */
static int
number(const char *s, size_t len, uint32_t max, uint32_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (len == 0 || len > 10 || s[0] == '0')
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = (uint32_t)v;
	return 0;
}

/* A field of printable ASCII without spaces. */
static int
token_ok(const char *s, size_t len)
{
	size_t i;

	if (len < 2)		/* a key and at least one byte of value */
		return 0;
	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
			return 0;
	return 1;
}

static int
append_field(char **dst, const char *s, size_t len)
{
	size_t	 old = *dst ? strlen(*dst) : 0;
	char	*p;

	if ((p = realloc(*dst, old + (old ? 1 : 0) + len + 1)) == NULL)
		return -1;
	if (old)
		p[old++] = ' ';
	memcpy(p + old, s, len);
	p[old + len] = '\0';
	*dst = p;
	return 0;
}

static int
parse_header(struct uidlist *l, const char *s, size_t len,
    struct uidlist_error *err)
{
	const char	*end = s + len, *t;
	int		 have_v = 0, have_n = 0;
	size_t		 i;

	if (len < 1 || s[0] != '3' || (len > 1 && s[1] != ' ')) {
		seterr(err, 1, "not a version 3 dovecot-uidlist header");
		return -1;
	}
	s++;
	while (s < end) {
		if (*s != ' ' || s + 1 >= end || s[1] == ' ') {
			seterr(err, 1, "header fields not separated by one space");
			return -1;
		}
		s++;
		t = memchr(s, ' ', (size_t)(end - s));
		if (t == NULL)
			t = end;
		if (!token_ok(s, (size_t)(t - s))) {
			seterr(err, 1, "bad header field");
			return -1;
		}
		switch (*s) {
		case 'V':
			if (have_v++ || number(s + 1, (size_t)(t - s - 1),
			    UINT32_MAX, &l->uidvalidity) == -1) {
				seterr(err, 1, "bad or repeated UIDVALIDITY");
				return -1;
			}
			break;
		case 'N':
			if (have_n++ || number(s + 1, (size_t)(t - s - 1),
			    UINT32_MAX, &l->nextuid) == -1) {
				seterr(err, 1, "bad or repeated next UID");
				return -1;
			}
			break;
		case 'G':
			if (l->guid[0] != '\0' ||
			    t - s - 1 != UIDLIST_GUID_LEN) {
				seterr(err, 1, "bad or repeated mailbox GUID");
				return -1;
			}
			for (i = 0; i < UIDLIST_GUID_LEN; i++) {
				char c = s[1 + i];

				if (!((c >= '0' && c <= '9') ||
				    (c >= 'a' && c <= 'f') ||
				    (c >= 'A' && c <= 'F'))) {
					seterr(err, 1, "bad mailbox GUID");
					return -1;
				}
			}
			memcpy(l->guid, s + 1, UIDLIST_GUID_LEN);
			l->guid[UIDLIST_GUID_LEN] = '\0';
			break;
		default:	/* kept for whoever wrote it */
			if (append_field(&l->hdr_ext, s, (size_t)(t - s)) ==
			    -1)
				return -1;
		}
		s = t;
	}
	if (!have_v || !have_n) {
		seterr(err, 1, "header without %s",
		    have_v ? "next UID" : "UIDVALIDITY");
		return -1;
	}
	return 0;
}

static int
parse_record(struct uidlist *l, const char *s, size_t len, unsigned lineno,
    uint32_t *prev, struct uidlist_error *err)
{
	const char	*end = s + len, *p, *ext, *t, *colon;
	uint32_t	 uid;
	ssize_t		 old;

	p = memchr(s, ' ', len);
	if (p == NULL || number(s, (size_t)(p - s), UINT32_MAX - 1, &uid) ==
	    -1) {
		seterr(err, lineno, "bad UID");
		return -1;
	}
	if (uid <= *prev) {
		seterr(err, lineno, "UIDs not increasing (%" PRIu32
		    " after %" PRIu32 ")", uid, *prev);
		return -1;
	}
	*prev = uid;
	while (p < end && *p == ' ')
		p++;
	ext = p;
	/* Extensions: a capital letter and a value each, up to the ':'. */
	while (p < end && *p != ':') {
		t = memchr(p, ' ', (size_t)(end - p));
		if (t == NULL || *p < 'A' || *p > 'Z' ||
		    !token_ok(p, (size_t)(t - p))) {
			seterr(err, lineno, "bad extension field");
			return -1;
		}
		p = t;
		while (p < end && *p == ' ')
			p++;
	}
	if (p >= end) {
		seterr(err, lineno, "no file name");
		return -1;
	}
	t = p;				/* the ':' */
	while (t > ext && t[-1] == ' ')
		t--;
	p++;
	if (!name_ok(p, (size_t)(end - p))) {
		seterr(err, lineno, "bad file name");
		return -1;
	}
	colon = memchr(p, ':', (size_t)(end - p));
	old = find_base(l, p, (size_t)((colon ? colon : end) - p));
	if (old >= 0) {
		/*
		 * Listed again: the later record wins. A tombstone now,
		 * compacted once at the end, so that a file of repeats
		 * costs O(n), not O(n^2).
		 */
		free(l->recs[old].name);
		free(l->recs[old].ext);
		l->recs[old].name = NULL;
		l->recs[old].ext = NULL;
	} else if (l->hcap == 0) {
		seterr(err, lineno, "out of memory");
		return -1;
	}
	if (push(l, uid, p, (size_t)(end - p), ext, (size_t)(t - ext)) == -1) {
		if (errno == E2BIG)
			seterr(err, lineno, "more than %u records",
			    UIDLIST_RECORDS_MAX);
		return -1;
	}
	if (uid >= l->nextuid)
		l->nextuid = uid + 1;
	return 0;
}

int
uidlist_parse(const char *text, size_t len, struct uidlist **out,
    struct uidlist_error *err)
{
	struct uidlist	*l;
	const char	*s = text, *end = text + len, *nl;
	unsigned	 lineno = 0;
	uint32_t	 prev = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	if (len > UIDLIST_FILE_MAX) {
		seterr(err, 0, "larger than %u bytes", UIDLIST_FILE_MAX);
		return -1;
	}
	if (len == 0) {
		err->truncated = 1;
		seterr(err, 0, "empty");
		return -1;
	}
	if (memchr(text, '\0', len) != NULL) {
		seterr(err, 0, "holds a NUL byte");
		return -1;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		return -1;
	while (s < end) {
		lineno++;
		nl = memchr(s, '\n', (size_t)(end - s));
		if (nl == NULL) {
			if (end - s >= UIDLIST_LINE_MAX)
				seterr(err, lineno, "line too long");
			else {
				err->truncated = 1;
				seterr(err, lineno, "no newline at the end "
				    "(truncated)");
			}
			goto fail;
		}
		if (nl - s + 1 > UIDLIST_LINE_MAX) {
			seterr(err, lineno, "line too long");
			goto fail;
		}
		if (lineno == 1) {
			if (parse_header(l, s, (size_t)(nl - s), err) == -1)
				goto fail;
		} else if (parse_record(l, s, (size_t)(nl - s), lineno, &prev,
		    err) == -1)
			goto fail;
		s = nl + 1;
	}
	compact(l);
	*out = l;
	return 0;
fail:
	if (err->msg[0] == '\0')
		seterr(err, lineno, "out of memory");
	uidlist_free(l);
	return -1;
}

static int	read_file(int, struct uidlist **, struct uidlist_error *, int);

int
uidlist_read(int dirfd, struct uidlist **out, struct uidlist_error *err)
{
	return read_file(dirfd, out, err, 0);
}

int
uidlist_read_locked(int dirfd, struct uidlist **out, struct uidlist_error *err)
{
	return read_file(dirfd, out, err, 1);
}

/*
 * uidlist_read's work; with drop_partial (under the lock, where no
 * writer can be midway), a last record line without its newline (a
 * write cut short by a crash) is dropped instead of the whole file,
 * and the list is marked to be rewritten whole (file.ino 0).
 */
static int
read_file(int dirfd, struct uidlist **out, struct uidlist_error *err,
    int drop_partial)
{
	struct stat	 st;
	char		*text, *nl;
	ssize_t		 n;
	int		 fd, e, cut = 0;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	fd = openat(dirfd, UIDLIST_FILE, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT)
			return 0;
		e = errno;
		snprintf(err->msg, sizeof(err->msg), "open: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		snprintf(err->msg, sizeof(err->msg), "fstat: %s", strerror(e));
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > (off_t)UIDLIST_FILE_MAX) {
		close(fd);
		if (!S_ISREG(st.st_mode))
			seterr(err, 0, "not a regular file");
		else
			seterr(err, 0, "larger than %u bytes", UIDLIST_FILE_MAX);
		return -1;
	}
	if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
		close(fd);
		return -1;
	}
	n = fs_pread_full(fd, text, (size_t)st.st_size, 0);
	e = errno;
	close(fd);
	if (n == -1) {
		free(text);
		snprintf(err->msg, sizeof(err->msg), "read: %s", strerror(e));
		errno = e;
		return -1;
	}
	e = uidlist_parse(text, (size_t)n, out, err);
	if (e != 0 && drop_partial && err->truncated && err->line > 1 &&
	    (nl = memrchr(text, '\n', (size_t)n)) != NULL) {
		e = uidlist_parse(text, (size_t)(nl - text) + 1, out, err);
		cut = 1;
	}
	free(text);
	if (e != 0)
		return -1;
	(*out)->file.dev = st.st_dev;
	(*out)->file.ino = cut ? 0 : st.st_ino;
	(*out)->file.size = (off_t)n;
	if (cut)
		seterr(err, 0, "a last line cut short (dropped)");
	return 1;
}

uint32_t
uidlist_lookup(struct uidlist *l, const char *filename)
{
	ssize_t i = find_base(l, filename, baselen(filename));

	return i < 0 ? 0 : l->recs[i].uid;
}

ssize_t
uidlist_find_uid(const struct uidlist *l, uint32_t uid)
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->recs[mid].uid == uid)
			return (ssize_t)mid;
		if (l->recs[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
uidlist_append(struct uidlist *l, const char *filename, uint32_t *uidp)
{
	size_t	bl = baselen(filename);
	ssize_t	i;

	if (!name_ok(filename, strlen(filename)) || bl == 0) {
		errno = EINVAL;
		return -1;
	}
	if ((i = find_base(l, filename, bl)) >= 0) {
		if (uidp != NULL)
			*uidp = l->recs[i].uid;
		return 0;
	}
	if (l->hcap == 0) {
		errno = ENOMEM;	/* find_base could not build the hash */
		return -1;
	}
	/* UID 4294967295 is not valid in IMAP, so the last usable is one less. */
	if (l->nextuid == 0 || l->nextuid == UINT32_MAX) {
		errno = EOVERFLOW;
		return -1;
	}
	if (push(l, l->nextuid, filename, bl, NULL, 0) == -1)
		return -1;
	if (uidp != NULL)
		*uidp = l->nextuid;
	l->nextuid++;
	return 1;
}

int
uidlist_remove(struct uidlist *l, uint32_t uid)
{
	ssize_t i = uidlist_find_uid(l, uid);

	if (i < 0)
		return 0;
	drop(l, (size_t)i);
	return 1;
}

/* Records first.. of l, one line each. */
static int
format_records(const struct uidlist *l, size_t first, struct buf *b)
{
	size_t i;

	for (i = first; i < l->n; i++) {
		const struct uidlist_rec *r = &l->recs[i];

		if (buf_printf(b, "%" PRIu32 "%s%s :%.*s\n", r->uid,
		    r->ext ? " " : "", r->ext ? r->ext : "",
		    (int)baselen(r->name), r->name) == -1)
			return -1;
	}
	return 0;
}

int
uidlist_format(const struct uidlist *l, struct buf *b)
{
	if (buf_printf(b, "3 V%" PRIu32 " N%" PRIu32, l->uidvalidity,
	    l->nextuid) == -1)
		return -1;
	if (l->guid[0] != '\0' && buf_printf(b, " G%s", l->guid) == -1)
		return -1;
	if (l->hdr_ext != NULL && buf_printf(b, " %s", l->hdr_ext) == -1)
		return -1;
	if (buf_puts(b, "\n") == -1)
		return -1;
	return format_records(l, 0, b);
}

int
uidlist_write_tail(struct dotlock *lk, const struct uidlist *l, size_t first)
{
	struct buf	b;
	int		rc, e;

	if (strcmp(lk->name, UIDLIST_FILE) != 0 || first > l->n) {
		errno = EINVAL;
		return -1;
	}
	if (l->file.ino == 0 || l->guid[0] == '\0') {
		errno = ESTALE;
		return -1;
	}
	if (first == l->n)
		return 0;
	buf_init(&b, UIDLIST_FILE_MAX);
	if (format_records(l, first, &b) == -1 ||
	    (uint64_t)l->file.size + b.len > UIDLIST_FILE_MAX) {
		buf_free(&b);
		errno = ESTALE;		/* rewritten whole, or refused there */
		return -1;
	}
	rc = dotlock_append(lk, &l->file, b.data, b.len);
	e = errno;
	buf_free(&b);
	errno = e;
	return rc;
}

int
uidlist_lock(int dirfd, int wait_secs, struct dotlock *lk)
{
	return dotlock_take(dirfd, UIDLIST_FILE, DOTLOCK_STALE_SECS, wait_secs,
	    lk);
}

int
uidlist_write(struct dotlock *lk, struct uidlist *l)
{
	struct buf	b;
	int		rc, e;

	if (strcmp(lk->name, UIDLIST_FILE) != 0) {
		errno = EINVAL;
		return -1;
	}
	if (l->guid[0] == '\0' && guid_new(l->guid) == -1)
		return -1;
	buf_init(&b, UIDLIST_FILE_MAX);
	if (uidlist_format(l, &b) == -1) {
		e = errno;
		buf_free(&b);
		errno = e;
		return -1;
	}
	rc = dotlock_replace(lk, b.data, b.len, UIDLIST_MODE);
	e = errno;
	buf_free(&b);
	errno = e;
	return rc;
}
