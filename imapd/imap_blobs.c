/*
 * imap_blobs.c - cache strings batched per command (imap_blobs.h).
 *
 * Runs in the mail process; the strings are ours (computed from the
 * user's messages), stored in the user's own index.
 */
#include <stdlib.h>

#include "buf.h"
#include "imap_blobs.h"
#include "log.h"

struct imap_blobs {
	struct mailindex_blob_item	 it[IMAP_BLOBS_BATCH];
	size_t				 off[IMAP_BLOBS_BATCH];
	size_t				 n;
	struct buf			 data;
	const char			*failed;	/* logged once */
};

struct imap_blobs *
imap_blobs_new(void)
{
	struct imap_blobs	*bb;

	if ((bb = malloc(sizeof(*bb))) == NULL)
		return NULL;
	bb->n = 0;
	bb->failed = NULL;
	buf_init(&bb->data, 0);
	return bb;
}

static void
flush(struct imap_blobs *bb, struct mailindex_folder *f)
{
	size_t	i;

	for (i = 0; i < bb->n; i++)
		bb->it[i].data = bb->data.data + bb->off[i];
	if (bb->n > 0 && mailindex_blob_put_many(f, bb->it, bb->n) == -1)
		bb->failed = "could not store cached items";
	bb->n = 0;
	buf_reset(&bb->data);
}

void
imap_blobs_keep(struct imap_blobs *bb, struct mailindex_folder *f,
    uint32_t uid, enum mailindex_blob kind, const void *data, size_t len)
{
	if (bb == NULL) {
		(void)mailindex_blob_put(f, uid, kind, data, len);
		return;
	}
	if (bb->n == IMAP_BLOBS_BATCH)
		flush(bb, f);
	bb->off[bb->n] = bb->data.len;
	if (buf_append(&bb->data, data, len) == -1)
		return;
	bb->it[bb->n].uid = uid;
	bb->it[bb->n].kind = kind;
	bb->it[bb->n].len = len;
	bb->n++;
}

void
imap_blobs_done(struct imap_blobs *bb, struct mailindex_folder *f,
    const char *user)
{
	if (bb == NULL)
		return;
	flush(bb, f);
	/* A cache: the command's answer stands, the next one recomputes. */
	if (bb->failed != NULL)
		log_warnx("user=<%s>: %s", user, bb->failed);
	buf_free(&bb->data);
	free(bb);
}
