/*
 * fuzz_uidlist.c - fuzz target: Dovecot's dovecot-uidlist
 * (libcommon/uidlist.c, uidlist_parse) and dovecot-keywords
 * (libcommon/keywords.c, keywords_parse), files in the user's Maildir
 * that Dovecot or anything with the mail uid may have written. Beyond
 * "no crash": a list that parses has strictly increasing UIDs below its
 * next UID, names that stay in the folder, finds every record by its
 * name, and what it formats parses back to itself; a refused file says
 * why. Keywords: what parses formats and parses back to the same table.
 */
#include <string.h>

#include "buf.h"
#include "fuzz.h"
#include "keywords.h"
#include "uidlist.h"

static void
check_uidlist(const uint8_t *data, size_t size)
{
	struct uidlist		*l, *l2;
	struct uidlist_error	 err;
	struct buf		 a, b;
	size_t			 i;

	if (uidlist_parse((const char *)data, size, &l, &err) == -1) {
		FUZZ_CHECK(l == NULL && err.msg[0] != '\0');
		return;
	}
	FUZZ_CHECK(l->uidvalidity != 0 && l->nextuid != 0);
	for (i = 0; i < l->n; i++) {
		const struct uidlist_rec *r = &l->recs[i];

		FUZZ_CHECK(r->uid != 0 && r->uid < l->nextuid);
		FUZZ_CHECK(i == 0 || r->uid > l->recs[i - 1].uid);
		FUZZ_CHECK(r->name[0] != '\0' && r->name[0] != ':');
		FUZZ_CHECK(strchr(r->name, '/') == NULL);
		FUZZ_CHECK(strchr(r->name, '\n') == NULL);
		FUZZ_CHECK(uidlist_lookup(l, r->name) == r->uid);
		FUZZ_CHECK(uidlist_find_uid(l, r->uid) == (ssize_t)i);
	}
	buf_init(&a, 0);
	buf_init(&b, 0);
	FUZZ_CHECK(uidlist_format(l, &a) == 0);
	FUZZ_CHECK(uidlist_parse(a.data, a.len, &l2, &err) == 0);
	FUZZ_CHECK(l2->n == l->n && l2->nextuid == l->nextuid &&
	    l2->uidvalidity == l->uidvalidity);
	FUZZ_CHECK(uidlist_format(l2, &b) == 0);
	FUZZ_CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	/* A new name takes the next UID and is found. */
	if (l->nextuid < UINT32_MAX && uidlist_lookup(l, "fuzz.new") == 0) {
		uint32_t uid, next = l->nextuid;

		FUZZ_CHECK(uidlist_append(l, "fuzz.new:2,S", &uid) == 1);
		FUZZ_CHECK(uid == next && uidlist_lookup(l, "fuzz.new") == uid);
	}
	buf_free(&a);
	buf_free(&b);
	uidlist_free(l);
	uidlist_free(l2);
}

static void
check_keywords(const uint8_t *data, size_t size)
{
	struct keywords	k, k2;
	struct buf	a, b;
	char		err[160];
	int		i;

	if (keywords_parse((const char *)data, size, &k, err,
	    sizeof(err)) == -1) {
		FUZZ_CHECK(err[0] != '\0');
		return;
	}
	buf_init(&a, 0);
	buf_init(&b, 0);
	FUZZ_CHECK(keywords_format(&k, &a) == 0);
	FUZZ_CHECK(keywords_parse(a.data ? a.data : "", a.len, &k2, err,
	    sizeof(err)) == 0);
	for (i = 0; i < KEYWORDS_MAX; i++) {
		FUZZ_CHECK((k.name[i] == NULL) == (k2.name[i] == NULL));
		if (k.name[i] != NULL) {
			FUZZ_CHECK(strcmp(k.name[i], k2.name[i]) == 0);
			FUZZ_CHECK(keywords_find(&k, k.name[i]) == i);
		}
	}
	FUZZ_CHECK(keywords_format(&k2, &b) == 0);
	FUZZ_CHECK(a.len == b.len && (a.len == 0 ||
	    memcmp(a.data, b.data, a.len) == 0));
	buf_free(&a);
	buf_free(&b);
	keywords_clear(&k);
	keywords_clear(&k2);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_uidlist(data, size);
	check_keywords(data, size);
	return 0;
}
