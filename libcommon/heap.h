/*
 * heap.h - a binary min-heap of caller-owned elements, each of which
 * keeps its own position (a size_t inside the element), so that removing
 * or re-keying any element is O(log n) without a search.
 *
 * Complexity: insert, remove, update and pop are O(log n); top is O(1).
 * Bound: memory only, one pointer per element in one array (which grows
 * by doubling; an insert that cannot grow it fails and changes nothing).
 * Used by evloop (its timers) and queued (one deadline per deferred
 * message, a million of them).
 */
#ifndef POSTERN_HEAP_H
#define POSTERN_HEAP_H

#include <stddef.h>
#include <stdint.h>

/* The position of an element that is in no heap. */
#define HEAP_NONE	SIZE_MAX

/* 1 if a must come out before b (a strict order). */
typedef int (*heap_before_fn)(const void *a, const void *b);

struct heap {
	void		**v;
	size_t		  n;
	size_t		  cap;
	heap_before_fn	  before;
	size_t		  idxoff;	/* offsetof the element's size_t */
};

/* idxoff: offsetof(struct elem, its size_t position field). */
void	heap_init(struct heap *, heap_before_fn, size_t idxoff);
/* Frees the array, not the elements (their positions become HEAP_NONE). */
void	heap_free(struct heap *);
/* 0, or -1 (no memory) with the heap unchanged; e must not be in it. */
int	heap_insert(struct heap *, void *e);
/* Takes e out; nothing if e is not in this heap. */
void	heap_remove(struct heap *, void *e);
/* Restores the order after e's key changed (e must be in the heap). */
void	heap_update(struct heap *, void *e);
/* 1 if e is in this heap. */
int	heap_contains(const struct heap *, const void *e);
/* The first element, or NULL when empty. */
void	*heap_top(const struct heap *);
/* Takes out and returns the first element, or NULL when empty. */
void	*heap_pop(struct heap *);

static inline size_t
heap_len(const struct heap *h)
{
	return h->n;
}

#endif
