/*
 * imap_blobs.h - the strings one command computes for the index's cache
 * (ENVELOPE, BODYSTRUCTURE, a header SEARCH read), kept and stored
 * together: every IMAP_BLOBS_BATCH of them and at the command's end, in
 * one write group each, rather than taking the index's write lock, its
 * failure check and a commit per message (a third of a cold FETCH 1:*).
 * A string that cannot be kept (no memory) is simply not cached.
 */
#ifndef POSTERN_IMAP_BLOBS_H
#define POSTERN_IMAP_BLOBS_H

#include <stddef.h>
#include <stdint.h>

#include "mailindex.h"

#define IMAP_BLOBS_BATCH	512

struct imap_blobs;

/* NULL when out of memory: then each string is stored at once. */
struct imap_blobs *imap_blobs_new(void);
void	imap_blobs_keep(struct imap_blobs *, struct mailindex_folder *,
	    uint32_t uid, enum mailindex_blob, const void *, size_t);
/* Stores what is kept (failures logged under user) and frees. */
void	imap_blobs_done(struct imap_blobs *, struct mailindex_folder *,
	    const char *user);

#endif
