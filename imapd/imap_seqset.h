/*
 * imap_seqset.h - an IMAP sequence set ("1:5,7,*:3,9:*", RFC 3501 9)
 * read against a mailbox: "*" is the largest number in use, "3:1" is
 * "1:3"; kept as sorted, merged, disjoint ranges.
 *
 * Bounds: at most the max given to imap_seqset_parse ranges are taken
 * (more is an error); parsing sorts them once, O(n log n); membership is
 * a binary search, O(log n); iteration is in increasing order.
 */
#ifndef POSTERN_IMAP_SEQSET_H
#define POSTERN_IMAP_SEQSET_H

#include <stddef.h>
#include <stdint.h>

/* Ranges a session accepts in one set unless told otherwise. */
#define IMAP_SEQSET_MAX	100000

struct imap_range {
	uint32_t	lo, hi;		/* lo <= hi */
};

struct imap_seqset {
	struct imap_range	*r;
	size_t			 n;
};

/*
 * Reads s[0..len) with star as the value of "*" (0 in an empty
 * mailbox: then "*" and "n:*" match nothing below n... and 0 itself,
 * which is no message). 0, or -1 (syntax, more than max ranges, out
 * of memory) with set empty. The set's earlier content is freed.
 */
int	imap_seqset_parse(struct imap_seqset *, const char *s, size_t len,
	    uint32_t star, size_t max);
void	imap_seqset_free(struct imap_seqset *);
int	imap_seqset_has(const struct imap_seqset *, uint32_t);
/* Numbers in the set (up to 2^32). */
uint64_t imap_seqset_count(const struct imap_seqset *);
/* Largest number in the set, 0 if empty (checked against EXISTS). */
uint32_t imap_seqset_max(const struct imap_seqset *);
/* Iteration in increasing order, O(1) a step: start from {0, 0}. */
struct imap_seqset_iter {
	size_t		i;	/* the range */
	uint64_t	v;	/* the next candidate */
};

/* The next number, 1, or 0 at the end. */
int	imap_seqset_next(const struct imap_seqset *,
	    struct imap_seqset_iter *, uint32_t *);

#endif
