/*
 * imap_seqset.c - IMAP sequence sets against a mailbox: parsed once into
 * sorted disjoint ranges, then asked "is n in it" (binary search) or
 * walked in order.
 *
 * Runs in imapd's mail process, never as root; the set is the client's.
 * A hostile set ("1,3,5,...", 100,000 ranges) costs one allocation of
 * its count of ranges (checked against the limit before allocating) and
 * one sort: nothing in here is quadratic.
 */
#include <stdlib.h>
#include <string.h>

#include "imap_seqset.h"

void
imap_seqset_free(struct imap_seqset *set)
{
	free(set->r);
	set->r = NULL;
	set->n = 0;
}

static int
cmp_range(const void *a, const void *b)
{
	const struct imap_range *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	return x->hi < y->hi ? -1 : x->hi > y->hi;
}

/* nz-number or "*" at s[*i]: 0, or -1. */
static int
seq_number(const char *s, size_t len, size_t *i, uint32_t star, uint32_t *v)
{
	uint64_t x = 0;

	if (*i < len && s[*i] == '*') {
		(*i)++;
		*v = star;
		return 0;
	}
	if (*i >= len || s[*i] < '1' || s[*i] > '9')
		return -1;
	while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
		x = x * 10 + (uint64_t)(s[*i] - '0');
		if (x > UINT32_MAX)
			return -1;
		(*i)++;
	}
	*v = (uint32_t)x;
	return 0;
}

int
imap_seqset_parse(struct imap_seqset *set, const char *s, size_t len,
    uint32_t star, size_t max)
{
	size_t		i, n = 1, out;
	uint32_t	a, b;

	imap_seqset_free(set);
	for (i = 0; i < len; i++)
		if (s[i] == ',')
			n++;
	if (len == 0 || n > max ||
	    (set->r = calloc(n, sizeof(*set->r))) == NULL)
		return -1;
	for (i = 0;; i++) {
		if (seq_number(s, len, &i, star, &a) == -1)
			goto bad;
		b = a;
		if (i < len && s[i] == ':') {
			i++;
			if (seq_number(s, len, &i, star, &b) == -1)
				goto bad;
		}
		/* Each range is followed by a comma or the end: n is enough. */
		set->r[set->n].lo = a < b ? a : b;
		set->r[set->n].hi = a < b ? b : a;
		set->n++;
		if (i == len)
			break;
		if (s[i] != ',')
			goto bad;
	}
	qsort(set->r, set->n, sizeof(*set->r), cmp_range);
	/* Merge overlapping and adjacent ranges ("1:3,4" is "1:4"). */
	for (out = 0, i = 1; i < set->n; i++) {
		if (set->r[i].lo <= set->r[out].hi ||
		    set->r[i].lo - 1 == set->r[out].hi) {
			if (set->r[i].hi > set->r[out].hi)
				set->r[out].hi = set->r[i].hi;
		} else
			set->r[++out] = set->r[i];
	}
	set->n = out + 1;
	return 0;
bad:
	imap_seqset_free(set);
	return -1;
}

int
imap_seqset_has(const struct imap_seqset *set, uint32_t v)
{
	size_t lo = 0, hi = set->n, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (v < set->r[mid].lo)
			hi = mid;
		else if (v > set->r[mid].hi)
			lo = mid + 1;
		else
			return 1;
	}
	return 0;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t	c = 0;
	size_t		i;

	for (i = 0; i < set->n; i++)
		c += (uint64_t)set->r[i].hi - set->r[i].lo + 1;
	return c;
}

uint32_t
imap_seqset_max(const struct imap_seqset *set)
{
	return set->n > 0 ? set->r[set->n - 1].hi : 0;
}

int
imap_seqset_next(const struct imap_seqset *set, struct imap_seqset_iter *it,
    uint32_t *v)
{
	if (it->i < set->n && it->v < set->r[it->i].lo)
		it->v = set->r[it->i].lo;
	if (it->i < set->n && it->v > set->r[it->i].hi) {
		if (++it->i == set->n)
			return 0;
		it->v = set->r[it->i].lo;
	}
	if (it->i >= set->n)
		return 0;
	*v = (uint32_t)it->v++;
	return 1;
}
