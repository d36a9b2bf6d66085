/*
 * fsutil.h - file system steps whose order carries durability.
 */
#ifndef POSTERN_FSUTIL_H
#define POSTERN_FSUTIL_H

#include <sys/types.h>
#include <stddef.h>

/* write(2) until done; -1 on error (EINTR retried). */
int	fs_write_all(int fd, const void *, size_t);
/* pwrite(2) until done, at off; the descriptor's offset is untouched. */
int	fs_pwrite_all(int fd, const void *, size_t, off_t off);
/*
 * pread(2) until len bytes or end of file; returns the bytes read (fewer
 * than len only at end of file) or -1. EINTR is retried.
 */
ssize_t	fs_pread_full(int fd, void *, size_t len, off_t off);
/* fsync a directory so that renames and creations in it are durable. */
int	fs_fsync_dir(const char *path);
int	fs_fsync_dirat(int dirfd);
/*
 * Atomic replace: write path.tmp.PID, fsync it, rename over path, fsync
 * the directory. Readers see the old file or the new one, never a part.
 */
int	fs_atomic_write(const char *path, const void *, size_t, mode_t);
enum fs_dir_flags {
	FS_DIR_CHOWN_NEW = 1,	/* a directory made here goes to uid:gid */
	FS_DIR_ENFORCE = 2,	/* owner and mode set, whoever made it */
};

/*
 * Opens the directory name below dirfd, creating it with mode if it is
 * missing, and never through a symlink: a planted one, or a file in its
 * place, fails with ENOTDIR. Ownership and mode are changed
 * through the descriptor (fchown, fchmod), never by path, so nothing
 * swapped in between the checks is touched. Returns the directory's
 * descriptor (close-on-exec) or -1 with errno; *made (if not NULL) is
 * set when it was created here.
 */
int	fs_dir_ensure(int dirfd, const char *name, mode_t mode, uid_t uid,
	    gid_t gid, int flags, int *made);
/* mkdir -p with a mode for the directories it creates. */
int	fs_mkdirs(const char *path, mode_t);
/* Reads a whole small file (at most max bytes) into a new NUL-ended buffer. */
int	fs_read_file(const char *path, size_t max, char **out, size_t *len);
/* The directory part of path ("." if none, "/" for the root). */
int	fs_dirname(const char *path, char *out, size_t outsz);
/* Joins dir and name, failing on truncation. */
int	fs_path(char *out, size_t outsz, const char *dir, const char *name);

#endif
