/*
 * heap.c - a binary min-heap whose elements record their own position,
 * for O(log n) removal and re-keying (see heap.h for the bound).
 *
 * Runs in any process (evloop's timers; queued's deadlines). Pure data
 * structure: no I/O, no locks; the owner's thread alone touches it. It
 * trusts its caller: an element's position field is the heap's, and the
 * order function must be a strict order that does not change while the
 * element is in the heap except through heap_update.
 */
#include <stdlib.h>
#include <string.h>

#include "heap.h"

static size_t *
pos(const struct heap *h, const void *e)
{
	return (size_t *)(void *)((char *)(uintptr_t)e + h->idxoff);
}

static void
place(struct heap *h, size_t i, void *e)
{
	h->v[i] = e;
	*pos(h, e) = i;
}

static void
sift_up(struct heap *h, size_t i)
{
	void *e = h->v[i];

	while (i > 0 && h->before(e, h->v[(i - 1) / 2])) {
		place(h, i, h->v[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place(h, i, e);
}

static void
sift_down(struct heap *h, size_t i)
{
	void	*e = h->v[i];
	size_t	 c;

	while ((c = 2 * i + 1) < h->n) {
		if (c + 1 < h->n && h->before(h->v[c + 1], h->v[c]))
			c++;
		if (!h->before(h->v[c], e))
			break;
		place(h, i, h->v[c]);
		i = c;
	}
	place(h, i, e);
}

void
heap_init(struct heap *h, heap_before_fn before, size_t idxoff)
{
	memset(h, 0, sizeof(*h));
	h->before = before;
	h->idxoff = idxoff;
}

void
heap_free(struct heap *h)
{
	size_t i;

	for (i = 0; i < h->n; i++)
		*pos(h, h->v[i]) = HEAP_NONE;
	free(h->v);
	h->v = NULL;
	h->n = h->cap = 0;
}

int
heap_insert(struct heap *h, void *e)
{
	void	**nv;
	size_t	  ncap;

	if (h->n == h->cap) {
		ncap = h->cap ? h->cap * 2 : 64;
		if (ncap < h->cap ||
		    (nv = reallocarray(h->v, ncap, sizeof(*nv))) == NULL)
			return -1;
		h->v = nv;
		h->cap = ncap;
	}
	place(h, h->n++, e);
	sift_up(h, h->n - 1);
	return 0;
}

int
heap_contains(const struct heap *h, const void *e)
{
	size_t i = *pos(h, e);

	return i < h->n && h->v[i] == e;
}

void
heap_remove(struct heap *h, void *e)
{
	size_t	 i;
	void	*last;

	if (!heap_contains(h, e))
		return;
	i = *pos(h, e);
	*pos(h, e) = HEAP_NONE;
	last = h->v[--h->n];
	if (i == h->n)
		return;
	place(h, i, last);
	heap_update(h, last);
}

void
heap_update(struct heap *h, void *e)
{
	size_t i = *pos(h, e);

	if (i > 0 && h->before(e, h->v[(i - 1) / 2]))
		sift_up(h, i);
	else
		sift_down(h, i);
}

void *
heap_top(const struct heap *h)
{
	return h->n > 0 ? h->v[0] : NULL;
}

void *
heap_pop(struct heap *h)
{
	void *e = heap_top(h);

	if (e != NULL)
		heap_remove(h, e);
	return e;
}
