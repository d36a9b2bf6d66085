/*
 * fuzz_imap_seqset.c - fuzz target: IMAP sequence sets
 * (imapd/imap_seqset.c) and their syntax check (imap_arg_seqset in
 * imapd/imap_args.c). The first 2 input bytes are the value of "*", the
 * rest the set. Beyond "no crash": both agree on what is a set; the
 * ranges come out sorted, disjoint and not adjacent; membership and
 * iteration agree with a plain re-reading of the text (a bitmap over
 * the small numbers), and the count is the sum of the ranges.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "imap_parse.h"
#include "imap_seqset.h"

#define SMALL	70000	/* numbers the plain re-reading keeps a bit for */

static unsigned char	 plain[SMALL / 8 + 1];

static void
mark(uint64_t a, uint64_t b)
{
	uint64_t v, t;

	if (a > b) {
		t = a;
		a = b;
		b = t;
	}
	for (v = a; v <= b && v < SMALL; v++)
		plain[v / 8] |= (unsigned char)(1 << (v % 8));
}

/* The obvious reading of a set that imap_arg_seqset accepted. */
static void
reread(const char *s, size_t len, uint32_t star)
{
	size_t		i = 0;
	uint64_t	a, b;

	memset(plain, 0, sizeof(plain));
	while (i < len) {
		a = 0;
		if (s[i] == '*') {
			a = star;
			i++;
		} else
			while (i < len && s[i] >= '0' && s[i] <= '9')
				a = a * 10 + (uint64_t)(s[i++] - '0');
		b = a;
		if (i < len && s[i] == ':') {
			i++;
			b = 0;
			if (s[i] == '*') {
				b = star;
				i++;
			} else
				while (i < len && s[i] >= '0' && s[i] <= '9')
					b = b * 10 + (uint64_t)(s[i++] - '0');
		}
		mark(a, b);
		i++;	/* the comma */
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_seqset	 set = { 0 };
	struct imap_seqset_iter	 it = { 0, 0 };
	struct imap_arg		 a;
	const char		*s, *str;
	size_t			 i, len;
	uint32_t		 star, v, prev = 0;
	uint64_t		 count = 0, n = 0;
	char			*copy;
	int			 ok, syn;

	if (size < 2 || size > 8192)
		return 0;
	star = (uint32_t)data[0] << 8 | data[1];
	len = size - 2;
	if ((copy = malloc(len + 1)) == NULL)
		return 0;
	memcpy(copy, data + 2, len);
	copy[len] = '\0';

	ok = imap_seqset_parse(&set, copy, len, star, IMAP_SEQSET_MAX) == 0;
	memset(&a, 0, sizeof(a));
	a.type = IMAP_ARG_ATOM;
	a.s = copy;
	a.len = len;
	syn = imap_arg_seqset(&a, &str, &len) == 0;
	FUZZ_CHECK(ok == syn);
	if (!ok) {
		FUZZ_CHECK(set.n == 0 && set.r == NULL);
		free(copy);
		return 0;
	}
	FUZZ_CHECK(set.n > 0);
	for (i = 0; i < set.n; i++) {
		FUZZ_CHECK(set.r[i].lo <= set.r[i].hi);
		if (i > 0)
			FUZZ_CHECK(set.r[i].lo > set.r[i - 1].hi + 1ULL);
		count += (uint64_t)set.r[i].hi - set.r[i].lo + 1;
	}
	FUZZ_CHECK(count == imap_seqset_count(&set));
	FUZZ_CHECK(imap_seqset_max(&set) == set.r[set.n - 1].hi);
	reread(copy, a.len, star);
	for (v = 0; v < SMALL; v++)
		FUZZ_CHECK(imap_seqset_has(&set, v) ==
		    !!(plain[v / 8] & (1 << (v % 8))));
	while (n < 200000 && imap_seqset_next(&set, &it, &v)) {
		FUZZ_CHECK(n == 0 || v > prev);
		FUZZ_CHECK(imap_seqset_has(&set, v));
		prev = v;
		n++;
	}
	FUZZ_CHECK(n == 200000 || n == count);
	(void)s;
	imap_seqset_free(&set);
	free(copy);
	return 0;
}
