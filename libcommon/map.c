/*
 * map.c - Berkeley DB maps (users, aliases).
 *
 * Readers (resolverd, unprivileged) open read-only without a DB
 * environment: that is only safe because writers never touch a file that
 * is open elsewhere. The CLI builds a complete new file beside the old one
 * and renames it into place; a reader notices (map_changed) and reopens.
 * Keys and values are stored without a terminating NUL.
 */
#include <sys/stat.h>

#include <db.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"
#include "map.h"

struct map {
	DB	*db;
	char	 path[PATH_MAX];
	dev_t	 dev;
	ino_t	 ino;
	struct timespec mtime;
};

struct map_builder {
	DB	*db;
	char	 path[PATH_MAX];
	char	 tmp[PATH_MAX];
};

/* Berkeley DB would print straight to stderr; route it to our log. */
static void
map_db_error(const DB_ENV *env, const char *prefix, const char *msg)
{
	log_warnx("berkeley db: %s", msg);
}

struct map *
map_open(const char *path)
{
	struct map	*m;
	struct stat	 st;
	int		 rc;

	if (stat(path, &st) == -1)
		return NULL;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if (strlcpy(m->path, path, sizeof(m->path)) >= sizeof(m->path)) {
		free(m);
		errno = ENAMETOOLONG;
		return NULL;
	}
	if ((rc = db_create(&m->db, NULL, 0)) != 0) {
		free(m);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	m->db->set_errcall(m->db, map_db_error);
	if ((rc = m->db->open(m->db, NULL, path, NULL, DB_UNKNOWN,
	    DB_RDONLY, 0)) != 0) {
		m->db->close(m->db, 0);
		free(m);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	m->dev = st.st_dev;
	m->ino = st.st_ino;
	m->mtime = st.st_mtim;
	return m;
}

void
map_close(struct map *m)
{
	if (m == NULL)
		return;
	m->db->close(m->db, 0);
	free(m);
}

int
map_changed(struct map *m)
{
	struct stat st;

	if (stat(m->path, &st) == -1)
		return 1;
	return st.st_dev != m->dev || st.st_ino != m->ino ||
	    st.st_mtim.tv_sec != m->mtime.tv_sec ||
	    st.st_mtim.tv_nsec != m->mtime.tv_nsec;
}

int
map_get(struct map *m, const char *key, char *val, size_t valsz)
{
	DBT	k, v;
	int	rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	rc = m->db->get(m->db, NULL, &k, &v, 0);
	if (rc == DB_NOTFOUND)
		return 0;
	if (rc != 0 || v.size >= valsz ||
	    (v.size > 0 && memchr(v.data, '\0', v.size) != NULL)) {
		errno = rc > 0 ? rc : EIO;
		return -1;
	}
	if (v.size > 0)
		memcpy(val, v.data, v.size);
	val[v.size] = '\0';
	return 1;
}

int
map_foreach(struct map *m, int (*cb)(const char *, const char *, void *),
    void *arg)
{
	DBC	*cur;
	DBT	 k, v;
	char	 kb[1024], vb[MAP_VALUE_MAX];
	int	 rc, r = 0;

	if (m->db->cursor(m->db, NULL, &cur, 0) != 0)
		return -1;
	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	while ((rc = cur->get(cur, &k, &v, DB_NEXT)) == 0) {
		if (k.size >= sizeof(kb) || v.size >= sizeof(vb))
			continue;
		if (k.size > 0)
			memcpy(kb, k.data, k.size);
		kb[k.size] = '\0';
		if (v.size > 0)
			memcpy(vb, v.data, v.size);
		vb[v.size] = '\0';
		if ((r = cb(kb, vb, arg)) != 0)
			break;
	}
	cur->close(cur);
	if (rc != 0 && rc != DB_NOTFOUND)
		return -1;
	return r;
}

struct map_builder *
map_build_begin(const char *path)
{
	return map_build_begin_mode(path, 0644, (uid_t)-1, (gid_t)-1);
}

struct map_builder *
map_build_begin_mode(const char *path, mode_t mode, uid_t uid, gid_t gid)
{
	struct map_builder	*b;
	int			 rc, fd, saved;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (strlcpy(b->path, path, sizeof(b->path)) >= sizeof(b->path) ||
	    snprintf(b->tmp, sizeof(b->tmp), "%s.tmp.%ld", path,
	    (long)getpid()) >= (int)sizeof(b->tmp)) {
		free(b);
		errno = ENAMETOOLONG;
		return NULL;
	}
	(void)unlink(b->tmp);
	if ((rc = db_create(&b->db, NULL, 0)) != 0) {
		free(b);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	b->db->set_errcall(b->db, map_db_error);
	/*
	 * Created for its creator alone, and given its owner and its mode
	 * only then: a reader that opened it while it was wider than meant
	 * (the creator's group, say) would keep that descriptor and see
	 * every password hash written afterwards.
	 */
	if ((rc = b->db->open(b->db, NULL, b->tmp, NULL, DB_HASH,
	    DB_CREATE | DB_EXCL, mode & 0600)) != 0) {
		b->db->close(b->db, 0);
		free(b);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	if ((rc = b->db->fd(b->db, &fd)) != 0) {
		map_build_abort(b);
		errno = rc > 0 ? rc : EIO;
		return NULL;
	}
	/*
	 * Exactly mode, after the owner (chown may clear bits): a root
	 * umask of 077 must not hide aliases.db from resolverd.
	 */
	if (((uid != (uid_t)-1 || gid != (gid_t)-1) &&
	    fchown(fd, uid, gid) == -1) || fchmod(fd, mode) == -1) {
		saved = errno;
		map_build_abort(b);
		errno = saved;
		return NULL;
	}
	return b;
}

int
map_build_put(struct map_builder *b, const char *key, const char *val)
{
	DBT	k, v;
	int	rc;

	memset(&k, 0, sizeof(k));
	memset(&v, 0, sizeof(v));
	k.data = (void *)key;
	k.size = (u_int32_t)strlen(key);
	v.data = (void *)val;
	v.size = (u_int32_t)strlen(val);
	if (v.size >= MAP_VALUE_MAX) {
		errno = E2BIG;
		return -1;
	}
	if ((rc = b->db->put(b->db, NULL, &k, &v, 0)) != 0) {
		errno = rc > 0 ? rc : EIO;
		return -1;
	}
	return 0;
}

int
map_build_commit(struct map_builder *b)
{
	char	 dir[PATH_MAX];
	int	 fd, rc, saved;

	rc = b->db->close(b->db, 0);	/* close flushes the pages */
	b->db = NULL;
	if (rc != 0)
		goto fail;
	/* Berkeley DB does not fsync on close: do it before the rename. */
	if ((fd = open(b->tmp, O_RDONLY | O_CLOEXEC)) == -1)
		goto fail;
	if (fsync(fd) == -1) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (rename(b->tmp, b->path) == -1)
		goto fail;
	rc = fs_dirname(b->path, dir, sizeof(dir)) == -1 ? -1 :
	    fs_fsync_dir(dir);
	free(b);
	return rc;
fail:
	saved = errno;
	(void)unlink(b->tmp);
	free(b);
	errno = saved;
	return -1;
}

void
map_build_abort(struct map_builder *b)
{
	if (b == NULL)
		return;
	if (b->db != NULL)
		b->db->close(b->db, 0);
	(void)unlink(b->tmp);
	free(b);
}
