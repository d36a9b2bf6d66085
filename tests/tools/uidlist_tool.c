/*
 * uidlist_tool.c - drives libcommon/uidlist and keywords on a real
 * Maildir for test_dovecot_maildir.py, which checks them against
 * Dovecot's doveadm on the same folder. Test code, not installed; runs
 * as whoever the test makes it (the Maildir's owner).
 *
 *   uidlist-tool sync DIR [UIDVALIDITY]   every file in cur/ and new/
 *       gets a UID (a new list, if none, takes UIDVALIDITY or the time);
 *       written under dovecot-uidlist.lock
 *   uidlist-tool show DIR                 "V <uidvalidity>", then per
 *       file "<uid> <base> <system flag letters or -> <keywords or ->"
 *   uidlist-tool keyword DIR NAME         NAME's letter index, added to
 *       dovecot-keywords under its lock if new
 */
#include <sys/types.h>

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keywords.h"
#include "uidlist.h"

#define MAXFILES	100000

static char	*names[MAXFILES];
static size_t	 nnames;

static int
cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
scan(const char *dir)
{
	static const char *sub[] = { "cur", "new" };
	char		 path[4096];
	DIR		*d;
	struct dirent	*e;
	size_t		 i;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, sub[i]);
		if ((d = opendir(path)) == NULL)
			continue;
		while ((e = readdir(d)) != NULL && nnames < MAXFILES)
			if (e->d_name[0] != '.' &&
			    (names[nnames] = strdup(e->d_name)) != NULL)
				nnames++;
		closedir(d);
	}
	qsort(names, nnames, sizeof(names[0]), cmp);
}

static int
die(const char *what, const char *why)
{
	fprintf(stderr, "uidlist-tool: %s: %s\n", what, why);
	return 1;
}

int
main(int argc, char **argv)
{
	struct uidlist		*l = NULL;
	struct uidlist_error	 err;
	struct keywords		 k;
	struct dotlock		 lk;
	char			 kerr[160];
	size_t			 i;
	int			 dfd, rc;

	if (argc < 3)
		return die("usage", "sync|show|keyword DIR [ARG]");
	if ((dfd = open(argv[2], O_RDONLY | O_DIRECTORY)) == -1)
		return die(argv[2], "cannot open");
	if (strcmp(argv[1], "keyword") == 0 && argc == 4) {
		if (keywords_lock(dfd, 10, &lk) != 1)
			return die("lock", "not taken");
		if (keywords_read(dfd, &k, kerr, sizeof(kerr)) == -1)
			return die("dovecot-keywords", kerr);
		if ((rc = keywords_add(&k, argv[3])) == -1 ||
		    keywords_write(&lk, &k) == -1)
			return die("keyword", "not added");
		dotlock_release(&lk);
		keywords_clear(&k);
		printf("%d\n", rc);
		return 0;
	}
	scan(argv[2]);
	if (strcmp(argv[1], "sync") == 0) {
		if (uidlist_lock(dfd, 10, &lk) != 1)
			return die("lock", "not taken");
		if ((rc = uidlist_read(dfd, &l, &err)) == -1)
			return die("dovecot-uidlist", err.msg);
		if (rc == 0 && (l = uidlist_new(argc > 3 ?
		    (uint32_t)strtoul(argv[3], NULL, 10) : 0)) == NULL)
			return die("uidlist", "no memory");
		for (i = 0; i < nnames; i++)
			if (uidlist_append(l, names[i], NULL) == -1)
				return die(names[i], "no UID");
		if (uidlist_write(&lk, l) == -1)
			return die("dovecot-uidlist", "not written");
		dotlock_release(&lk);
		uidlist_free(l);
		return 0;
	}
	if (strcmp(argv[1], "show") != 0)
		return die("usage", "sync|show|keyword DIR [ARG]");
	if (uidlist_read(dfd, &l, &err) != 1)
		return die("dovecot-uidlist", err.msg[0] ? err.msg : "none");
	if (keywords_read(dfd, &k, kerr, sizeof(kerr)) == -1)
		return die("dovecot-keywords", kerr);
	printf("V %" PRIu32 "\n", l->uidvalidity);
	for (i = 0; i < nnames; i++) {
		struct keywords_flags	f;
		char			sys[32];
		int			j, any = 0;

		if (keywords_flags_parse(names[i], &f) == -1)
			return die(names[i], "bad flags");
		f.kw &= 0;		/* letters only, keywords below */
		if (keywords_flags_letters(&f, sys, sizeof(sys)) == -1)
			return die(names[i], "flags");
		keywords_flags_parse(names[i], &f);
		printf("%" PRIu32 " %.*s %s ", uidlist_lookup(l, names[i]),
		    (int)strcspn(names[i], ":"), names[i], sys[0] ? sys : "-");
		for (j = 0; j < KEYWORDS_MAX; j++)
			if ((f.kw & (1u << j)) && k.name[j] != NULL) {
				printf("%s%s", any ? "," : "", k.name[j]);
				any = 1;
			}
		printf("%s\n", any ? "" : "-");
	}
	keywords_clear(&k);
	uidlist_free(l);
	return 0;
}
