/*
 * map.h - read-only key/value maps in Berkeley DB files, and building
 * them so readers never see a half-written map.
 */
#ifndef POSTERN_MAP_H
#define POSTERN_MAP_H

#include <sys/types.h>

#include <stddef.h>

#define MAP_VALUE_MAX	4096

struct map;
struct map_builder;

/* Opens a map read-only; NULL with errno ENOENT if the file is absent. */
struct map	*map_open(const char *path);
void		 map_close(struct map *);
/* 1 found (value copied, NUL-ended), 0 absent, -1 error or value too long. */
int		 map_get(struct map *, const char *key, char *val, size_t valsz);
/* Calls cb for every pair until it returns non-zero; returns that or -1. */
int		 map_foreach(struct map *,
		    int (*cb)(const char *key, const char *val, void *), void *);
/* 1 when the file on disk is no longer the one we opened (rebuilt). */
int		 map_changed(struct map *);

/*
 * Builds path.tmp, then map_build_commit renames it over path. The new
 * file gets exactly mode (the umask does not apply) and, with
 * map_build_begin_mode, the owner uid:gid ((uid_t)-1 / (gid_t)-1 keep
 * the creator's) before anything is written to it. map_build_begin
 * makes 0644 files of the creator's, for maps anyone may read (aliases).
 */
struct map_builder *map_build_begin(const char *path);
struct map_builder *map_build_begin_mode(const char *path, mode_t mode,
		    uid_t uid, gid_t gid);
/* Later puts of the same key replace earlier ones. */
int		 map_build_put(struct map_builder *, const char *key,
		    const char *val);
int		 map_build_commit(struct map_builder *);
void		 map_build_abort(struct map_builder *);

#endif
