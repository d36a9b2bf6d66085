/*
 * imap_folder.c - the read side of the user's folder tree and its
 * subscriptions: a client's mailbox name to a path, the table LIST and
 * LSUB read (folders, the parents Maildir++ implies, subscribed names),
 * and Dovecot's subscriptions file. CREATE, DELETE and RENAME are in
 * imap_folder_ops.c.
 *
 * Runs in imapd's mail process as the mail-store uid, chrooted in the
 * user's directory; every path is relative to the working directory
 * ("Maildir", "Maildir/.Sent"). Trusts nothing a client sends: a name
 * becomes a path only through imap_folder_path (mailbox_name_ok: no
 * "/", no "..", no empty component, no control, raw or encoded), so
 * whatever is named is one directory entry of the Maildir. Trusts the
 * Maildir's entries no more: one that is not a name we could have made
 * is not listed, and a subscriptions line that names no mailbox is kept
 * in the file but never shown.
 *
 * The subscriptions file is read, changed and written whole under
 * Dovecot's dot-lock ("subscriptions.lock") and renamed into place:
 * readers never lock and never see half a file.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "dotlock.h"
#include "fsutil.h"
#include "imap_folder.h"
#include "imap_folder_int.h"
#include "log.h"
#include "mailbox_name.h"

/* How long SUBSCRIBE waits for another's subscriptions.lock. */
#define SUBS_LOCK_WAIT	10

static const struct {
	const char		*name;
	enum imap_special	 special;
	const char		*attr;
} specials[] = {
	{ "Sent",	IMAP_SPECIAL_SENT,	"\\Sent" },
	{ "Drafts",	IMAP_SPECIAL_DRAFTS,	"\\Drafts" },
	{ "Trash",	IMAP_SPECIAL_TRASH,	"\\Trash" },
	{ "Junk",	IMAP_SPECIAL_JUNK,	"\\Junk" },
	{ "Archive",	IMAP_SPECIAL_ARCHIVE,	"\\Archive" },
};
#define NSPECIALS	(sizeof(specials) / sizeof(specials[0]))

int
imap_folder_path(const char *name, char *path, size_t sz)
{
	char	dir[MAILBOX_NAME_MAX + 2];
	int	n;

	if (mailbox_name_to_dir(name, dir, sizeof(dir)) == -1)
		return -1;
	if (strcmp(dir, ".") == 0)
		n = snprintf(path, sz, "%s", IMAP_FOLDER_ROOT);
	else
		n = snprintf(path, sz, "%s/%s", IMAP_FOLDER_ROOT, dir);
	if (n < 0 || (size_t)n >= sz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

enum imap_special
imap_folder_special(const char *name)
{
	size_t i;

	for (i = 0; i < NSPECIALS; i++)
		if (strcmp(name, specials[i].name) == 0)
			return specials[i].special;
	return IMAP_SPECIAL_NONE;
}

const char *
imap_special_attr(enum imap_special sp)
{
	size_t i;

	for (i = 0; i < NSPECIALS; i++)
		if (specials[i].special == sp)
			return specials[i].attr;
	return NULL;
}

int
folder_is_dir(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		return errno == ENOENT || errno == ENOTDIR ? 0 : -1;
	return S_ISDIR(st.st_mode) ? 1 : 0;
}

int
imap_folder_exists(const char *name)
{
	char path[IMAP_FOLDER_PATH_MAX];

	if (imap_folder_path(name, path, sizeof(path)) == -1)
		return -1;
	return folder_is_dir(path);
}

/* --- the table --- */

/*
 * Tree order: component by component, so that a name's descendants
 * follow it together ("a", "a.b", "a-x": '.' sorts before any byte a
 * name may hold). The table is built by one walk in this order.
 */
int
folder_name_cmp(const char *a, const char *b)
{
	const unsigned char	*p = (const unsigned char *)a;
	const unsigned char	*q = (const unsigned char *)b;
	unsigned		 x, y;

	for (; *p != '\0' && *p == *q; p++, q++)
		;
	x = *p == MAILBOX_SEP ? 1 : *p;
	y = *q == MAILBOX_SEP ? 1 : *q;
	return (int)x - (int)y;
}

static int
folder_cmp(const void *a, const void *b)
{
	return folder_name_cmp(((const struct imap_folder *)a)->name,
	    ((const struct imap_folder *)b)->name);
}

/* A first component "inbox" in any case is INBOX (RFC 3501 5.1). */
static void
inbox_case(char *name)
{
	size_t k = strcspn(name, ".");

	if (k == 5 && strncasecmp(name, "INBOX", 5) == 0)
		memcpy(name, "INBOX", 5);
}

static int
push(struct imap_folder_list *l, const char *name, unsigned flags)
{
	struct imap_folder	*f;
	size_t			 len = strlen(name);

	if (len == 0 || len > MAILBOX_NAME_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (l->n >= l->cap) {
		size_t	 ncap = l->cap == 0 ? 32 : l->cap * 2;
		void	*nv;

		/* The table's bound, checked before it grows. */
		if (l->n >= IMAP_FOLDERS_MAX) {
			errno = E2BIG;
			return -1;
		}
		if (ncap > IMAP_FOLDERS_MAX)
			ncap = IMAP_FOLDERS_MAX;
		if ((nv = reallocarray(l->v, ncap, sizeof(*l->v))) == NULL)
			return -1;
		l->v = nv;
		l->cap = ncap;
	}
	f = &l->v[l->n++];
	memcpy(f->name, name, len + 1);
	inbox_case(f->name);
	f->flags = flags;
	f->special = IMAP_SPECIAL_NONE;
	return 0;
}

static int
read_folders(struct imap_folder_list *l)
{
	DIR		*d;
	struct dirent	*de;
	char		 name[MAILBOX_NAME_MAX + 1];
	int		 dfd, rc = 0;

	if ((d = opendir(IMAP_FOLDER_ROOT)) == NULL)
		return errno == ENOENT ? 0 : -1;
	dfd = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		struct stat st;

		if (de->d_name[0] != '.' ||
		    mailbox_dir_to_name(de->d_name, name, sizeof(name)) == -1)
			continue;
		if (de->d_type != DT_DIR) {
			/* A symlink to a folder is one (the chroot holds it). */
			if (de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
				continue;
			if (fstatat(dfd, de->d_name, &st, 0) == -1 ||
			    !S_ISDIR(st.st_mode))
				continue;
		}
		if ((rc = push(l, name, IMAP_FOLDER_EXISTS)) == -1)
			break;
	}
	closedir(d);
	return rc;
}

/*
 * Builds the table from the pushed entries (folders and subscribed
 * names): sorts them in tree order, merges duplicates, and adds in the
 * same walk each missing ancestor with PARENT (an existing folder is
 * below) or SUBPARENT (a subscribed name is below). The walk keeps the
 * indices of the current name's ancestors in the output, so every
 * ancestor is found or made in O(depth).
 */
static int
build(struct imap_folder_list *l)
{
	struct imap_folder	*in = l->v;
	size_t			 nin = l->n, i;
	size_t			 stack[MAILBOX_NAME_MAX / 2 + 1];
	size_t			 depth = 0;

	qsort(in, nin, sizeof(*in), folder_cmp);
	l->v = NULL;
	l->n = l->cap = 0;
	for (i = 0; i < nin; i++) {
		const char	*name = in[i].name;
		unsigned	 up = 0;
		size_t		 k, comp, start;

		if (in[i].flags & IMAP_FOLDER_EXISTS)
			up |= IMAP_FOLDER_PARENT;
		if (in[i].flags & IMAP_FOLDER_SUBSCRIBED)
			up |= IMAP_FOLDER_SUBPARENT;
		/* A second entry of the last name: the stack ends with it. */
		if (l->n > 0 && strcmp(l->v[l->n - 1].name, name) == 0) {
			l->v[l->n - 1].flags |= in[i].flags;
			for (k = 0; k + 1 < depth; k++)
				l->v[stack[k]].flags |= up;
			continue;
		}
		/*
		 * Pop the stack to the deepest entry that is an ancestor
		 * of name: its name followed by "." starts name.
		 */
		while (depth > 0) {
			const char *a = l->v[stack[depth - 1]].name;
			size_t	    al = strlen(a);

			if (strncmp(a, name, al) == 0 &&
			    name[al] == MAILBOX_SEP)
				break;
			depth--;
		}
		/* Every ancestor on the stack gains what this one adds. */
		for (k = 0; k < depth; k++)
			l->v[stack[k]].flags |= up;
		/* Then the ancestors below the stack's deepest are made. */
		start = depth > 0 ? strlen(l->v[stack[depth - 1]].name) + 1 :
		    0;
		for (comp = start; name[comp] != '\0'; comp++) {
			char a[MAILBOX_NAME_MAX + 1];

			if (name[comp] != MAILBOX_SEP)
				continue;
			memcpy(a, name, comp);
			a[comp] = '\0';
			if (push(l, a, up) == -1)
				goto fail;
			stack[depth++] = l->n - 1;
		}
		if (push(l, name, in[i].flags) == -1)
			goto fail;
		stack[depth++] = l->n - 1;
	}
	free(in);
	for (i = 0; i < l->n; i++)
		l->v[i].special = imap_folder_special(l->v[i].name);
	return 0;
fail:
	free(in);
	return -1;
}

int
imap_folder_list(struct imap_folder_list *l)
{
	char	**subs = NULL;
	size_t	  nsubs = 0, i;
	int	  save;

	l->v = NULL;
	l->n = l->cap = 0;
	if (push(l, "INBOX", IMAP_FOLDER_EXISTS) == -1 ||
	    read_folders(l) == -1 ||
	    imap_folder_subscriptions(&subs, &nsubs) == -1)
		goto fail;
	for (i = 0; i < nsubs; i++) {
		/* Lines that name no mailbox we could have are kept, unseen. */
		if (!mailbox_name_ok(subs[i]))
			continue;
		if (push(l, subs[i], IMAP_FOLDER_SUBSCRIBED) == -1)
			goto fail;
	}
	imap_folder_subscriptions_free(subs, nsubs);
	subs = NULL;
	if (build(l) == -1)
		goto fail;
	return 0;
fail:
	save = errno;
	imap_folder_subscriptions_free(subs, nsubs);
	imap_folder_list_free(l);
	errno = save;
	return -1;
}

void
imap_folder_list_free(struct imap_folder_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = l->cap = 0;
}

const struct imap_folder *
imap_folder_find(const struct imap_folder_list *l, const char *name)
{
	struct imap_folder	key;
	size_t			len = strlen(name);

	if (len > MAILBOX_NAME_MAX)
		return NULL;
	memcpy(key.name, name, len + 1);
	inbox_case(key.name);
	return bsearch(&key, l->v, l->n, sizeof(*l->v), folder_cmp);
}

/* --- subscriptions --- */

void
imap_folder_subscriptions_free(char **names, size_t n)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

/* Parses Dovecot's file: version 2 writes the delimiter as TAB. */
static int
subs_parse(char *data, size_t len, char ***names, size_t *n)
{
	char	**v = NULL;
	char	 *p = data, *end = data + len;
	size_t	  nv = 0, cap = 0;
	int	  v2 = 0;

	if (len >= 2 && p[0] == 'V' && p[1] == '\t') {
		v2 = 1;
		p = memchr(p, '\n', len);
		p = p == NULL ? end : p + 1;
	}
	while (p < end) {
		char	*nl = memchr(p, '\n', (size_t)(end - p));
		size_t	 ll = (nl != NULL ? nl : end) - p;
		char	*s;

		if (ll > 0 && p[ll - 1] == '\r')
			ll--;
		if (ll > 0 && ll <= MAILBOX_NAME_MAX) {
			if (nv >= IMAP_FOLDERS_MAX) {
				errno = E2BIG;
				goto fail;
			}
			if (nv == cap) {
				void *nvv;

				cap = cap == 0 ? 16 : cap * 2;
				if ((nvv = reallocarray(v, cap, sizeof(*v))) ==
				    NULL)
					goto fail;
				v = nvv;
			}
			if ((s = strndup(p, ll)) == NULL)
				goto fail;
			if (v2)
				for (char *t = s; *t != '\0'; t++)
					if (*t == '\t')
						*t = MAILBOX_SEP;
			v[nv++] = s;
		}
		p = nl != NULL ? nl + 1 : end;
	}
	*names = v;
	*n = nv;
	return 0;
fail:
	imap_folder_subscriptions_free(v, nv);
	return -1;
}

int
imap_folder_subscriptions(char ***names, size_t *n)
{
	char	*data;
	size_t	 len;
	int	 rc;

	*names = NULL;
	*n = 0;
	if (fs_read_file(IMAP_FOLDER_ROOT "/" IMAP_FOLDER_SUBS,
	    IMAP_FOLDER_SUBS_MAX, &data, &len) == -1)
		return errno == ENOENT ? 0 : -1;
	rc = subs_parse(data, len, names, n);
	free(data);
	return rc;
}

static int
subs_write(struct dotlock *lk, char **names, size_t n)
{
	struct buf	b;
	size_t		i;
	int		rc;

	buf_init(&b, IMAP_FOLDER_SUBS_MAX);
	if (buf_puts(&b, "V\t2\n\n") == -1)
		goto fail;
	for (i = 0; i < n; i++) {
		size_t start = b.len;

		if (names[i] == NULL)
			continue;
		if (buf_puts(&b, names[i]) == -1 || buf_puts(&b, "\n") == -1)
			goto fail;
		for (size_t k = start; k < b.len; k++)
			if (b.data[k] == MAILBOX_SEP)
				b.data[k] = '\t';
	}
	rc = dotlock_replace(lk, b.data, b.len, 0600);
	buf_free(&b);
	return rc;
fail:
	buf_free(&b);
	return -1;
}

/*
 * Changes the subscriptions under the lock: edit gets the names (it may
 * set entries to NULL to drop them, or replace them) and returns 1 to
 * have them written, 0 for no change, -1 on error.
 */
static int
subs_edit(int (*edit)(void *, char ***, size_t *), void *arg)
{
	struct dotlock	  lk;
	char		**names = NULL;
	size_t		  n = 0;
	int		  dfd, r, rc = -1;

	if ((dfd = open(IMAP_FOLDER_ROOT, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return -1;
	if (dotlock_take(dfd, IMAP_FOLDER_SUBS, DOTLOCK_STALE_SECS,
	    SUBS_LOCK_WAIT, &lk) == -1) {
		log_warn("subscriptions: lock");
		close(dfd);
		return -1;
	}
	if (imap_folder_subscriptions(&names, &n) == -1)
		log_warn("subscriptions: read");
	else if ((r = edit(arg, &names, &n)) == 0)
		rc = 0;
	else if (r == 1 && (rc = subs_write(&lk, names, n)) == -1)
		log_warn("subscriptions: write");
	dotlock_release(&lk);
	close(dfd);
	imap_folder_subscriptions_free(names, n);
	return rc;
}

struct sub_one {
	const char	*name;
	int		 on;
};

/* Two spellings of one subscription: INBOX in any case is one. */
static int
sub_same(const char *a, const char *b)
{
	char x[MAILBOX_NAME_MAX + 1], y[MAILBOX_NAME_MAX + 1];

	if (strlcpy(x, a, sizeof(x)) >= sizeof(x) ||
	    strlcpy(y, b, sizeof(y)) >= sizeof(y))
		return 0;
	inbox_case(x);
	inbox_case(y);
	return strcmp(x, y) == 0;
}

static int
sub_one_edit(void *arg, char ***names, size_t *n)
{
	struct sub_one	*s = arg;
	size_t		 i;
	int		 found = 0;
	void		*nv;

	for (i = 0; i < *n; i++) {
		if (!sub_same((*names)[i], s->name))
			continue;
		found = 1;
		if (!s->on) {
			free((*names)[i]);
			(*names)[i] = NULL;
		}
	}
	if (s->on == found)
		return 0;
	if (!s->on)
		return 1;
	if (*n >= IMAP_FOLDERS_MAX) {
		errno = E2BIG;
		return -1;
	}
	if ((nv = reallocarray(*names, *n + 1, sizeof(**names))) == NULL)
		return -1;
	*names = nv;
	if (((*names)[*n] = strdup(s->name)) == NULL)
		return -1;
	inbox_case((*names)[*n]);
	(*n)++;
	return 1;
}

int
imap_folder_subscribe(const char *name, int on)
{
	struct sub_one s = { name, on };

	if (!mailbox_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	return subs_edit(sub_one_edit, &s);
}

struct sub_rename {
	const char	*from, *to;
};

/* "from" and "from.*" become "to" and "to.*". */
static int
sub_rename_edit(void *arg, char ***names, size_t *n)
{
	struct sub_rename	*r = arg;
	size_t			 fl = strlen(r->from), i;
	int			 changed = 0;

	for (i = 0; i < *n; i++) {
		char	*s = (*names)[i], *t;
		size_t	 sl;
		char	 tmp[MAILBOX_NAME_MAX + 1];

		if (s == NULL || strlcpy(tmp, s, sizeof(tmp)) >= sizeof(tmp))
			continue;
		inbox_case(tmp);
		if (strncmp(tmp, r->from, fl) != 0 ||
		    (tmp[fl] != '\0' && tmp[fl] != MAILBOX_SEP))
			continue;
		sl = strlen(r->to) + strlen(tmp + fl) + 1;
		if (sl > MAILBOX_NAME_MAX + 1 || (t = malloc(sl)) == NULL)
			continue;
		if ((size_t)snprintf(t, sl, "%s%s", r->to, tmp + fl) >= sl) {
			free(t);
			continue;
		}
		free(s);
		(*names)[i] = t;
		changed = 1;
	}
	return changed;
}

int
folder_subs_rename(const char *from, const char *to)
{
	struct sub_rename sr = { from, to };

	return subs_edit(sub_rename_edit, &sr);
}
