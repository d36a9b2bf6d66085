/*
 * test_map.c - libcommon/map: Berkeley DB maps (users, aliases). A map is
 * built beside its path and renamed into place, so a reader sees the old
 * map or the new one; an aborted build leaves nothing; a value that does
 * not fit the caller's buffer is an error, never a truncated answer.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "map.h"

static char tmpdir[PATH_MAX];

static int
setup(void **state)
{
	const char *base = getenv("POSTERN_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/map.XXXXXX",
	    base != NULL && base[0] != '\0' ? base : "/tmp");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
tpath(const char *name)
{
	static char p[PATH_MAX + 64];

	assert_true(strlen(tmpdir) + 1 + strlen(name) < sizeof(p));
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	return p;
}

static int
dir_entries(void)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	assert_non_null(d = opendir(tmpdir));
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

/* Builds path from NULL-terminated key, value pairs. */
static void
build(const char *path, const char *const *kv)
{
	struct map_builder *b;

	assert_non_null(b = map_build_begin(path));
	for (; kv[0] != NULL; kv += 2)
		assert_int_equal(map_build_put(b, kv[0], kv[1]), 0);
	assert_int_equal(map_build_commit(b), 0);
}

struct seen {
	int	n;
	int	mask;
	int	stop_after;
};

static int
collect(const char *key, const char *val, void *arg)
{
	static const char *want[][2] = {
		{ "alice@example.org", "" },
		{ "bob@example.org", "$6$salt$hash" },
		{ "postmaster@example.org", "alice@example.org, bob" },
	};
	struct seen	*s = arg;
	size_t		 i;

	for (i = 0; i < 3; i++)
		if (strcmp(key, want[i][0]) == 0) {
			assert_string_equal(val, want[i][1]);
			assert_int_equal(s->mask & (1 << i), 0);
			s->mask |= 1 << i;
		}
	s->n++;
	return s->stop_after != 0 && s->n == s->stop_after ? 42 : 0;
}

static const char *const users[] = {
	"alice@example.org", "",
	"bob@example.org", "$6$salt$hash",
	"postmaster@example.org", "alice@example.org, bob",
	NULL,
};

static void
test_built_map_reads_back_every_pair(void **state)
{
	struct map	*m;
	char		 val[MAP_VALUE_MAX];
	struct seen	 s = { 0, 0, 0 };

	build(tpath("users.db"), users);
	assert_non_null(m = map_open(tpath("users.db")));
	assert_int_equal(map_get(m, "bob@example.org", val, sizeof(val)), 1);
	assert_string_equal(val, "$6$salt$hash");
	assert_int_equal(map_get(m, "postmaster@example.org", val, sizeof(val)),
	    1);
	assert_string_equal(val, "alice@example.org, bob");
	assert_int_equal(map_foreach(m, collect, &s), 0);
	assert_int_equal(s.n, 3);
	assert_int_equal(s.mask, 7);
	map_close(m);
}

static void
test_empty_value_reads_back_as_empty_string(void **state)
{
	struct map	*m;
	char		 val[8] = "junk";

	build(tpath("empty.db"), users);
	assert_non_null(m = map_open(tpath("empty.db")));
	assert_int_equal(map_get(m, "alice@example.org", val, sizeof(val)), 1);
	assert_string_equal(val, "");
	map_close(m);
}

static void
test_missing_key_is_absent_not_an_error(void **state)
{
	struct map	*m;
	char		 val[64];

	build(tpath("missing.db"), users);
	assert_non_null(m = map_open(tpath("missing.db")));
	assert_int_equal(map_get(m, "carol@example.org", val, sizeof(val)), 0);
	/* keys are exact: no case folding, no prefix match */
	assert_int_equal(map_get(m, "Bob@example.org", val, sizeof(val)), 0);
	assert_int_equal(map_get(m, "bob@example.or", val, sizeof(val)), 0);
	assert_int_equal(map_get(m, "", val, sizeof(val)), 0);
	map_close(m);
}

static void
test_value_too_long_for_callers_buffer_is_an_error(void **state)
{
	struct map	*m;
	char		 val[13];

	build(tpath("small.db"), users);
	assert_non_null(m = map_open(tpath("small.db")));
	/* "$6$salt$hash" is 12 bytes: 12 + NUL fits, 12 does not */
	assert_int_equal(map_get(m, "bob@example.org", val, 12), -1);
	assert_int_equal(map_get(m, "bob@example.org", val, 13), 1);
	assert_string_equal(val, "$6$salt$hash");
	map_close(m);
}

static void
test_later_put_of_same_key_replaces_earlier(void **state)
{
	static const char *const kv[] = { "k", "first", "k", "second", NULL };
	struct map	*m;
	char		 val[64];
	struct seen	 s = { 0, 0, 0 };

	build(tpath("dup.db"), kv);
	assert_non_null(m = map_open(tpath("dup.db")));
	assert_int_equal(map_get(m, "k", val, sizeof(val)), 1);
	assert_string_equal(val, "second");
	assert_int_equal(map_foreach(m, collect, &s), 0);
	assert_int_equal(s.n, 1);
	map_close(m);
}

static void
test_value_of_map_value_max_bytes_is_refused(void **state)
{
	struct map_builder	*b;
	struct map		*m;
	char			*v, val[MAP_VALUE_MAX];

	assert_non_null(v = malloc(MAP_VALUE_MAX + 1));
	memset(v, 'v', MAP_VALUE_MAX);
	v[MAP_VALUE_MAX] = '\0';
	assert_non_null(b = map_build_begin(tpath("big.db")));
	errno = 0;
	assert_int_equal(map_build_put(b, "k", v), -1);
	assert_int_equal(errno, E2BIG);
	v[MAP_VALUE_MAX - 1] = '\0';
	assert_int_equal(map_build_put(b, "k", v), 0);
	assert_int_equal(map_build_commit(b), 0);
	assert_non_null(m = map_open(tpath("big.db")));
	assert_int_equal(map_get(m, "k", val, sizeof(val)), 1);
	assert_int_equal(strlen(val), MAP_VALUE_MAX - 1);
	map_close(m);
	free(v);
}

static void
test_foreach_stops_when_callback_returns_nonzero(void **state)
{
	struct map	*m;
	struct seen	 s = { 0, 0, 2 };

	build(tpath("stop.db"), users);
	assert_non_null(m = map_open(tpath("stop.db")));
	assert_int_equal(map_foreach(m, collect, &s), 42);
	assert_int_equal(s.n, 2);
	map_close(m);
}

static void
test_map_changed_after_rebuild_and_old_reader_keeps_old_map(void **state)
{
	static const char *const v2[] = { "bob@example.org", "new", NULL };
	struct map	*m, *m2;
	char		 val[64];

	build(tpath("aliases.db"), users);
	assert_non_null(m = map_open(tpath("aliases.db")));
	assert_int_equal(map_changed(m), 0);
	build(tpath("aliases.db"), v2);
	assert_int_equal(map_changed(m), 1);
	/* the open handle still reads the map it opened, whole */
	assert_int_equal(map_get(m, "bob@example.org", val, sizeof(val)), 1);
	assert_string_equal(val, "$6$salt$hash");
	assert_int_equal(map_get(m, "alice@example.org", val, sizeof(val)), 1);
	/* reopening reads the new one */
	assert_non_null(m2 = map_open(tpath("aliases.db")));
	assert_int_equal(map_changed(m2), 0);
	assert_int_equal(map_get(m2, "bob@example.org", val, sizeof(val)), 1);
	assert_string_equal(val, "new");
	assert_int_equal(map_get(m2, "alice@example.org", val, sizeof(val)), 0);
	map_close(m2);
	map_close(m);
}

static void
test_map_changed_when_file_removed(void **state)
{
	struct map *m;

	build(tpath("gone.db"), users);
	assert_non_null(m = map_open(tpath("gone.db")));
	assert_int_equal(unlink(tpath("gone.db")), 0);
	assert_int_equal(map_changed(m), 1);
	map_close(m);
}

static void
test_abort_leaves_no_file(void **state)
{
	struct map_builder	*b;
	int			 before = dir_entries();

	assert_non_null(b = map_build_begin(tpath("aborted.db")));
	assert_int_equal(map_build_put(b, "k", "v"), 0);
	map_build_abort(b);
	assert_int_equal(dir_entries(), before);
	errno = 0;
	assert_null(map_open(tpath("aborted.db")));
	assert_int_equal(errno, ENOENT);
	map_build_abort(NULL);
}

static void
test_abort_of_rebuild_keeps_old_map(void **state)
{
	struct map_builder	*b;
	struct map		*m;
	char			 val[64];
	int			 before;

	build(tpath("keep.db"), users);
	before = dir_entries();
	assert_non_null(b = map_build_begin(tpath("keep.db")));
	assert_int_equal(map_build_put(b, "bob@example.org", "other"), 0);
	map_build_abort(b);
	assert_int_equal(dir_entries(), before);
	assert_non_null(m = map_open(tpath("keep.db")));
	assert_int_equal(map_get(m, "bob@example.org", val, sizeof(val)), 1);
	assert_string_equal(val, "$6$salt$hash");
	map_close(m);
}

static void
test_commit_leaves_only_the_map(void **state)
{
	int before = dir_entries();

	build(tpath("only.db"), users);
	assert_int_equal(dir_entries(), before + 1);
}

static void
test_open_of_absent_or_non_db_file_fails(void **state)
{
	FILE *fp;

	errno = 0;
	assert_null(map_open(tpath("absent.db")));
	assert_int_equal(errno, ENOENT);
	assert_non_null(fp = fopen(tpath("text.db"), "w"));
	fputs("this is not a berkeley db file\n", fp);
	fclose(fp);
	assert_null(map_open(tpath("text.db")));
}

static mode_t
file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

static void
test_built_map_has_exactly_the_mode_asked_for(void **state)
{
	struct map_builder	*b;
	mode_t			 old = umask(077);

	/* A careless umask must not hide aliases.db from resolverd... */
	assert_non_null(b = map_build_begin(tpath("public.db")));
	assert_int_equal(map_build_commit(b), 0);
	assert_int_equal(file_mode(tpath("public.db")), 0644);
	umask(022);
	/* ... nor widen users.db, which holds password hashes. */
	assert_non_null(b = map_build_begin_mode(tpath("secret.db"), 0640,
	    (uid_t)-1, (gid_t)-1));
	assert_int_equal(map_build_put(b, "k", "$y$hash"), 0);
	assert_int_equal(map_build_commit(b), 0);
	assert_int_equal(file_mode(tpath("secret.db")), 0640);
	assert_non_null(b = map_build_begin_mode(tpath("secret.db"), 0600,
	    getuid(), getgid()));
	assert_int_equal(map_build_commit(b), 0);
	assert_int_equal(file_mode(tpath("secret.db")), 0600);
	umask(old);
}

static void
test_build_in_missing_directory_fails(void **state)
{
	assert_null(map_build_begin(tpath("no/such/dir/x.db")));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_built_map_reads_back_every_pair),
		cmocka_unit_test(test_empty_value_reads_back_as_empty_string),
		cmocka_unit_test(test_missing_key_is_absent_not_an_error),
		cmocka_unit_test(test_value_too_long_for_callers_buffer_is_an_error),
		cmocka_unit_test(test_later_put_of_same_key_replaces_earlier),
		cmocka_unit_test(test_value_of_map_value_max_bytes_is_refused),
		cmocka_unit_test(test_foreach_stops_when_callback_returns_nonzero),
		cmocka_unit_test(test_map_changed_after_rebuild_and_old_reader_keeps_old_map),
		cmocka_unit_test(test_map_changed_when_file_removed),
		cmocka_unit_test(test_abort_leaves_no_file),
		cmocka_unit_test(test_built_map_has_exactly_the_mode_asked_for),
		cmocka_unit_test(test_abort_of_rebuild_keeps_old_map),
		cmocka_unit_test(test_commit_leaves_only_the_map),
		cmocka_unit_test(test_open_of_absent_or_non_db_file_fails),
		cmocka_unit_test(test_build_in_missing_directory_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
