/*
 * maildir.c - Maildir delivery, unique names and info flags.
 *
 * Runs in deliverd (local transport) as the mail-store uid, and later in
 * imapd and pop3d after login as the same uid. It trusts the directory
 * it is given (deliverd built it from store-safe components) and the
 * source descriptor (queued's spool file), and nothing else: a name read
 * from a Maildir may have been made by any Maildir tool.
 *
 * The order of a delivery is what makes it safe: the file is complete and
 * fsynced in tmp/ before it appears in new/ (readers never see a partial
 * message), and new/ is fsynced before we report success (a message that
 * queued was told is delivered survives a power cut). link() rather than
 * rename() so that a name collision fails instead of replacing someone's
 * mail.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "addr.h"
#include "fsutil.h"
#include "maildir.h"

#define MAILDIR_COPY_BUF	65536

static const char *const maildir_subdirs[] = { "tmp", "new", "cur" };

/*
 * Opens (creating if missing) name below dfd and closes dfd; a created
 * directory is fsynced into its parent first. The new descriptor, or -1.
 */
static int
maildir_step(int dfd, const char *name, uid_t uid, gid_t gid, int flags,
    int *created)
{
	int	fd, made = 0, saved;

	fd = fs_dir_ensure(dfd, name, 0700, uid, gid, flags, &made);
	if (fd != -1 && made) {
		(*created)++;
		if (fsync(dfd) == -1) {
			saved = errno;
			close(fd);
			fd = -1;
			errno = saved;
		}
	}
	saved = errno;
	close(dfd);
	errno = saved;
	return fd;
}

int
maildir_create_user(const char *store, const char *domain, const char *local,
    uid_t uid, gid_t gid, int chown_new, int *created)
{
	const char	*path[] = { domain, local, "Maildir" };
	int		 fd, sub, flags = chown_new ? FS_DIR_CHOWN_NEW : 0;
	int		 made = 0, before, saved;
	size_t		 i;

	if (!addr_is_store_safe(domain) || !addr_is_store_safe(local)) {
		errno = EINVAL;
		return -1;
	}
	if ((fd = open(store, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	for (i = 0; i < sizeof(path) / sizeof(path[0]); i++)
		if ((fd = maildir_step(fd, path[i], uid, gid, flags,
		    &made)) == -1)
			return -1;
	before = made;
	for (i = 0; i < sizeof(maildir_subdirs) / sizeof(maildir_subdirs[0]);
	    i++) {
		if ((sub = fs_dir_ensure(fd, maildir_subdirs[i], 0700, uid,
		    gid, flags, &saved)) == -1)
			goto fail;
		made += saved;
		close(sub);
	}
	if (made > before && fsync(fd) == -1)
		goto fail;
	close(fd);
	if (created != NULL)
		*created += made;
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

void
maildir_host_encode(const char *host, char *out, size_t outsz)
{
	size_t	o = 0, lim = outsz;
	const char *p;

	if (outsz == 0)
		return;
	if (lim > MAILDIR_HOST_MAX + 1)
		lim = MAILDIR_HOST_MAX + 1;
	for (p = host; *p != '\0'; p++) {
		const char *rep = NULL;
		size_t	    n = 1;

		if (*p == '/')
			rep = "\\057";
		else if (*p == ':')
			rep = "\\072";
		if (rep != NULL)
			n = 4;
		/* Never cut an escape in half: a reader would misparse it. */
		if (o + n >= lim)
			break;
		if (rep != NULL)
			memcpy(out + o, rep, n);
		else
			out[o] = *p;
		o += n;
	}
	out[o] = '\0';
}

int
maildir_name_base(char *out, size_t outsz, long long sec, long usec,
    long pid, unsigned long counter, const char *host)
{
	int n;

	n = snprintf(out, outsz, "%lld.M%ldP%ldQ%lu.%s", sec, usec, pid,
	    counter, host);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* The host part of every name this process makes, encoded once. */
static const char *
maildir_host(void)
{
	static char	encoded[MAILDIR_HOST_MAX + 1];
	char		raw[256];

	if (encoded[0] == '\0') {
		if (gethostname(raw, sizeof(raw)) == -1 || raw[0] == '\0')
			strlcpy(raw, "localhost", sizeof(raw));
		raw[sizeof(raw) - 1] = '\0';
		maildir_host_encode(raw, encoded, sizeof(encoded));
	}
	return encoded;
}

void
maildir_vsize_init(struct maildir_vsize *v)
{
	memset(v, 0, sizeof(*v));
}

void
maildir_vsize_feed(struct maildir_vsize *v, const void *p, size_t n)
{
	const unsigned char	*b = p;
	size_t			 i;

	if (n == 0)
		return;
	for (i = 0; i < n; i++)
		if (b[i] == '\n' && !(i > 0 ? b[i - 1] == '\r' : v->last == '\r'))
			v->size++;	/* a bare LF becomes CRLF */
	v->size += n;
	v->last = b[n - 1];
	v->any = 1;
}

uint64_t
maildir_vsize_end(const struct maildir_vsize *v)
{
	/* A last line without LF is sent with a CRLF added. */
	return v->size + (v->any && v->last != '\n' ? 2 : 0);
}

/*
 * Copies hdr and then srclen bytes of srcfd from srcoff into dst; *size
 * gets the bytes written, *vsize their size with CRLF line ends. pread
 * keeps the shared descriptor's offset untouched. A source shorter than
 * srclen is an error (EIO): a message is never delivered cut short.
 */
static int
maildir_copy(int dst, const void *hdr, size_t hdrlen, int srcfd,
    off_t srcoff, uint64_t srclen, uint64_t *size, uint64_t *vsize)
{
	struct maildir_vsize v;

	char	*b;
	ssize_t	 n;
	size_t	 want;
	int	 saved;

	*size = 0;
	maildir_vsize_init(&v);
	if (hdrlen > 0 && fs_write_all(dst, hdr, hdrlen) == -1)
		return -1;
	maildir_vsize_feed(&v, hdr, hdrlen);
	*size = hdrlen;
	if (srclen == 0) {
		*vsize = maildir_vsize_end(&v);
		return 0;
	}
	if ((b = malloc(MAILDIR_COPY_BUF)) == NULL)
		return -1;
	while (srclen > 0) {
		want = srclen < MAILDIR_COPY_BUF ? (size_t)srclen :
		    MAILDIR_COPY_BUF;
		if ((n = fs_pread_full(srcfd, b, want, srcoff)) == -1)
			goto fail;
		if ((size_t)n != want) {
			errno = EIO;
			goto fail;
		}
		if (fs_write_all(dst, b, want) == -1)
			goto fail;
		maildir_vsize_feed(&v, b, want);
		srcoff += n;
		srclen -= want;
		*size += want;
	}
	free(b);
	*vsize = maildir_vsize_end(&v);
	return 0;
fail:
	saved = errno;
	free(b);
	errno = saved;
	return -1;
}

/*
 * Moves tmp/base to new/final without ever replacing a file: rename with
 * RENAME_NOREPLACE (one directory operation), else link and unlink (the
 * Maildir way, for file systems such as NFS without the flag), else a
 * plain rename (file systems without hard links).
 */
static int
maildir_publish(int tmpfd, const char *base, int newfd, const char *final)
{
	if (renameat2(tmpfd, base, newfd, final, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (linkat(tmpfd, base, newfd, final, 0) == 0) {
		(void)unlinkat(tmpfd, base, 0);
		return 0;
	}
	if (errno != EPERM && errno != ENOSYS && errno != EOPNOTSUPP)
		return -1;
	return renameat(tmpfd, base, newfd, final);
}

/*
 * maildir_deliver's work, into new/ (letters NULL) or into cur/ with
 * ":2,<letters>" and, when mtime is not 0, that mtime.
 */
static int
deliver(const char *path, const void *hdr, size_t hdrlen, int srcfd,
    off_t srcoff, uint64_t srclen, const char *letters, time_t mtime,
    char *name, size_t namesz)
{
	static unsigned long counter;
	char		 base[MAILDIR_NAME_MAX], final[MAILDIR_NAME_MAX];
	char		 sized[MAILDIR_NAME_MAX];
	struct timespec	 ts, times[2];
	uint64_t	 size, vsize;
	int		 mdfd = -1, tmpfd = -1, newfd = -1, fd = -1;
	int		 saved, made = 0, linked = 0, attempt;

	if ((mdfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((tmpfd = openat(mdfd, "tmp", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (newfd = openat(mdfd, letters == NULL ?
	    "new" : "cur", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		goto fail;

	/*
	 * Time, pid and a per-process counter make the name unique on this
	 * host; the host name makes it unique on shared storage. A clash
	 * (clock stepped back and a pid reused) is retried with a new name.
	 */
	for (attempt = 0;; attempt++) {
		clock_gettime(CLOCK_REALTIME, &ts);
		if (maildir_name_base(base, sizeof(base), (long long)ts.tv_sec,
		    ts.tv_nsec / 1000, (long)getpid(), ++counter,
		    maildir_host()) == -1)
			goto fail;
		fd = openat(tmpfd, base, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd != -1) {
			made = 1;
			break;
		}
		/* Someone else's file: never ours to remove. */
		if (errno != EEXIST || attempt == 3)
			goto fail;
	}
	if (mtime != 0) {
		times[0].tv_sec = times[1].tv_sec = mtime;
		times[0].tv_nsec = times[1].tv_nsec = 0;
	}
	if (maildir_copy(fd, hdr, hdrlen, srcfd, srcoff, srclen, &size,
	    &vsize) == -1 ||
	    (mtime != 0 && futimens(fd, times) == -1) ||
	    fsync(fd) == -1)
		goto fail;
	/* close reports late write errors on NFS: it is part of the write. */
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (snprintf(sized, sizeof(sized), "%s,S=%" PRIu64 ",W=%" PRIu64,
	    base, size, vsize) >= (int)sizeof(sized) ||
	    (letters == NULL ? strlcpy(final, sized, sizeof(final)) >=
	    sizeof(final) : maildir_info_build(final, sizeof(final), sized,
	    letters) == -1)) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	if (maildir_publish(tmpfd, base, newfd, final) == -1)
		goto fail;
	linked = 1;
	if (fsync(newfd) == -1)
		goto fail;
	if (strlcpy(name, final, namesz) >= namesz) {
		errno = ENAMETOOLONG;
		goto fail;
	}
	close(newfd);
	close(tmpfd);
	close(mdfd);
	return 0;
fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (made)
		(void)unlinkat(tmpfd, base, 0);
	/*
	 * A message in new/ that we report as failed would be delivered
	 * again on the retry: take it back.
	 */
	if (linked) {
		(void)unlinkat(newfd, final, 0);
		(void)fsync(newfd);
	}
	if (newfd != -1)
		close(newfd);
	if (tmpfd != -1)
		close(tmpfd);
	close(mdfd);
	errno = saved;
	return -1;
}

int
maildir_deliver(const char *path, const void *hdr, size_t hdrlen, int srcfd,
    off_t srcoff, uint64_t srclen, char *name, size_t namesz)
{
	return deliver(path, hdr, hdrlen, srcfd, srcoff, srclen, NULL, 0,
	    name, namesz);
}

int
maildir_deliver_cur(const char *path, const void *hdr, size_t hdrlen,
    int srcfd, off_t srcoff, uint64_t srclen, const char *letters,
    time_t mtime, char *name, size_t namesz)
{
	return deliver(path, hdr, hdrlen, srcfd, srcoff, srclen, letters,
	    mtime, name, namesz);
}

/* The numeric field ",<key>=<n>" between the base and the info suffix. */
static int
maildir_name_field(const char *name, char key, uint64_t *out)
{
	const char	*p, *end;
	uint64_t	 v = 0;
	char		 pat[4] = { ',', key, '=', '\0' };

	/* Fields sit between the base and the info suffix, after commas. */
	end = strchr(name, ':');
	if (end == NULL)
		end = name + strlen(name);
	for (p = name; (p = strstr(p, pat)) != NULL && p < end; p += 3) {
		const char *d = p + 3;

		if (d >= end || *d < '0' || *d > '9')
			continue;
		for (v = 0; d < end && *d >= '0' && *d <= '9'; d++) {
			if (v > (UINT64_MAX - 9) / 10)
				return -1;
			v = v * 10 + (uint64_t)(*d - '0');
		}
		if (d != end && *d != ',')
			continue;
		*out = v;
		return 0;
	}
	return -1;
}

int
maildir_name_size(const char *name, uint64_t *size)
{
	return maildir_name_field(name, 'S', size);
}

int
maildir_name_vsize(const char *name, uint64_t *vsize)
{
	return maildir_name_field(name, 'W', vsize);
}

static int
maildir_is_flag(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int
maildir_flags_normalize(char *flags)
{
	unsigned char	seen[128];
	size_t		i, o = 0;
	int		c;

	memset(seen, 0, sizeof(seen));
	for (i = 0; flags[i] != '\0'; i++) {
		if (!maildir_is_flag(flags[i])) {
			errno = EINVAL;
			return -1;
		}
		seen[(unsigned char)flags[i]] = 1;
	}
	/* ASCII order: capitals (standard flags) before keyword letters. */
	for (c = 'A'; c <= 'z'; c++)
		if (seen[c])
			flags[o++] = (char)c;
	flags[o] = '\0';
	return 0;
}

int
maildir_flags_has(const char *flags, char flag)
{
	return maildir_is_flag(flag) && strchr(flags, flag) != NULL;
}

int
maildir_flags_set(char *flags, size_t flagssz, char flag, int on)
{
	size_t	len = strlen(flags);
	char	*p;

	if (!maildir_is_flag(flag)) {
		errno = EINVAL;
		return -1;
	}
	if ((p = strchr(flags, flag)) != NULL) {
		if (!on)
			memmove(p, p + 1, strlen(p + 1) + 1);
		return 0;
	}
	if (!on)
		return 0;
	if (len + 2 > flagssz) {
		errno = ENOSPC;
		return -1;
	}
	flags[len] = flag;
	flags[len + 1] = '\0';
	return maildir_flags_normalize(flags);
}

int
maildir_info_parse(const char *name, size_t *baselen, char *flags,
    size_t flagssz)
{
	const char	*info;
	size_t		 n;

	if ((info = strrchr(name, ':')) == NULL) {
		*baselen = strlen(name);
		if (flagssz > 0)
			flags[0] = '\0';
		return 0;
	}
	if (info[1] != '2' || info[2] != ',') {
		errno = EINVAL;
		return -1;
	}
	n = strlen(info + 3);
	if (n >= flagssz) {
		errno = EINVAL;
		return -1;
	}
	memcpy(flags, info + 3, n + 1);
	if (maildir_flags_normalize(flags) == -1)
		return -1;
	*baselen = (size_t)(info - name);
	return 0;
}

int
maildir_info_build(char *out, size_t outsz, const char *name,
    const char *flags)
{
	char	 f[MAILDIR_FLAGS_MAX];
	const char *info;
	size_t	 baselen;
	int	 n;

	if (strlcpy(f, flags, sizeof(f)) >= sizeof(f) ||
	    maildir_flags_normalize(f) == -1) {
		errno = EINVAL;
		return -1;
	}
	/* Any old info goes, whatever it was: the new flags replace it. */
	info = strrchr(name, ':');
	baselen = info != NULL ? (size_t)(info - name) : strlen(name);
	if (baselen > INT_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	n = snprintf(out, outsz, "%.*s:2,%s", (int)baselen, name, f);
	if (n < 0 || (size_t)n >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* "<sec>.M<usec>..." -> (sec, usec); names from other tools may lack M. */
static void
name_time(const char *name, unsigned long long *sec, unsigned long *usec)
{
	char *end;

	*sec = strtoull(name, &end, 10);
	*usec = 0;
	if (end[0] == '.' && end[1] == 'M')
		*usec = strtoul(end + 2, NULL, 10);
}

int
maildir_name_cmp(const char *a, const char *b)
{
	unsigned long long	sa, sb;
	unsigned long		ua, ub;

	name_time(a, &sa, &ua);
	name_time(b, &sb, &ub);
	if (sa != sb)
		return sa < sb ? -1 : 1;
	if (ua != ub)
		return ua < ub ? -1 : 1;
	return strcmp(a, b);
}
