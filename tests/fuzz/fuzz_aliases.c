/*
 * fuzz_aliases.c - fuzz target: the aliases file compiler
 * (libcommon/aliases.c) and alias expansion over what it built
 * (libcommon/expand.c).
 *
 * The aliases file is root's, but a mistake in it must come out as a
 * reported line, never a crash; and expansion runs in resolverd on
 * addresses a remote sender picks, over whatever the file held. Checks:
 * a failed compile reported at least one error and left the old map; a
 * compiled map's every key expands to ST_OK with targets that are well
 * formed addresses (each once), or to a failure with none; and so does
 * a plus address and a catch-all probe in each local domain. Unlike the
 * other targets it touches the disk (a scratch directory under /tmp):
 * the compiler's job is to read one file and build another.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "addr.h"
#include "aliases.h"
#include "expand.h"
#include "fsutil.h"
#include "fuzz.h"
#include "map.h"

static char	dir[64], src[128], db[128];
static int	errors;

static void
fz_cleanup(void)
{
	unlink(src);
	unlink(db);
	rmdir(dir);
}

/* The compiler reads a file and builds one: both in a scratch directory. */
int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	strlcpy(dir, "/tmp/fuzz_aliases.XXXXXX", sizeof(dir));
	FUZZ_CHECK(mkdtemp(dir) != NULL);
	snprintf(src, sizeof(src), "%s/aliases", dir);
	snprintf(db, sizeof(db), "%s/aliases.db", dir);
	FUZZ_CHECK(atexit(fz_cleanup) == 0);
	return 0;
}

static void
report(int error, const char *msg, void *arg)
{
	FUZZ_CHECK(msg[0] != '\0');
	if (error)
		errors++;
}

static int
fz_alias(const char *key, char *val, size_t valsz, void *arg)
{
	return map_get(arg, key, val, valsz);
}

/* A few users, so that expansions end somewhere. */
static int
fz_user(const char *addr, void *arg)
{
	return strncmp(addr, "u", 1) == 0;
}

static int
fz_is_local(const char *domain, void *arg)
{
	return strcmp(domain, "example.org") == 0 ||
	    strcmp(domain, "alias.example") == 0;
}

static void
fz_quiet(int depth, const char *line, void *arg)
{
	FUZZ_CHECK(depth >= 0 && depth <= EXPAND_DEPTH_MAX + 1);
}

static void
fz_expand(struct map *m, const char *addr)
{
	struct expand_ops	ops;
	struct r_expansion	x;
	struct mailaddr		a;
	uint32_t		i, j;

	memset(&ops, 0, sizeof(ops));
	ops.alias = fz_alias;
	ops.user = fz_user;
	ops.is_local = fz_is_local;
	ops.arg = m;
	ops.default_domain = "example.org";
	ops.delimiter = "+-";
	ops.trace = fz_quiet;
	expand_address(&ops, addr, &x);
	FUZZ_CHECK(x.status <= ST_PERM && x.text[0] != '\0');
	if (x.status != ST_OK) {
		FUZZ_CHECK(x.n == 0 && x.t == NULL);
		return;
	}
	FUZZ_CHECK(x.n > 0 && x.n <= R_EXPAND_MAX);
	for (i = 0; i < x.n; i++) {
		FUZZ_CHECK(x.t[i].kind <= R_KIND_REMOTE);
		FUZZ_CHECK(addr_parse(x.t[i].addr, &a, 1) == 0);
		if (x.t[i].kind == R_KIND_MAILBOX)
			FUZZ_CHECK(fz_is_local(a.domain, NULL) == 1);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(x.t[j].kind != x.t[i].kind ||
			    strcmp(x.t[j].addr, x.t[i].addr) != 0);
	}
	proto_r_expansion_free(&x);
}

static int
fz_key(const char *key, const char *val, void *arg)
{
	char addr[ADDR_MAX + 64];

	if (key[0] == '@')
		snprintf(addr, sizeof(addr), "nobody%s", key);
	else if (strchr(key, '@') == NULL)
		snprintf(addr, sizeof(addr), "%s+tag@alias.example", key);
	else
		snprintf(addr, sizeof(addr), "%s", key);
	fz_expand(arg, addr);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct map	*m;
	int		 n;

	/* The old map: one alias that must survive a failed compile. */
	FUZZ_CHECK(fs_atomic_write(src, "old: u1\n", 8, 0600) == 0);
	FUZZ_CHECK(aliases_compile(src, db, 1, report, NULL) == 1);
	FUZZ_CHECK(fs_atomic_write(src, (const char *)data, size, 0600) == 0);
	errors = 0;
	n = aliases_compile(src, db, size > 0 && data[0] == '|', report, NULL);
	FUZZ_CHECK((n == -1) == (errors > 0));
	FUZZ_CHECK((m = map_open(db)) != NULL);
	if (n == -1) {
		char val[MAP_VALUE_MAX];

		FUZZ_CHECK(map_get(m, "old", val, sizeof(val)) == 1 &&
		    strcmp(val, "u1") == 0);
	} else {
		FUZZ_CHECK(map_foreach(m, fz_key, m) == 0);
		fz_expand(m, "nobody@example.org");
		fz_expand(m, "u2+x@alias.example");
		fz_expand(m, "Postmaster");
	}
	map_close(m);
	return 0;
}
