/*
 * qfile.h - the queue file format (spool/queue/ID): its 96-byte header,
 * the MAC that vouches for the committed envelope, and the one reader of
 * a queue file's envelope, shared by queued (the spool's owner) and the
 * postern command (which lists the spool read-only while the suite is
 * stopped). doc/DESIGN.md has the layout.
 */
#ifndef POSTERN_QFILE_H
#define POSTERN_QFILE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope.h"

/*
 * A queue file starts with this many bytes of header; the message follows,
 * then the envelope it was committed with.
 */
#define QFILE_HDR_LEN	96
#define QFILE_MAC_LEN	32	/* HMAC-SHA256 */
#define QFILE_KEY_LEN	32
#define QFILE_KEY_NAME	".key"	/* in the queue directory; queued's alone */

/* mac NULL: all zero, as before the commit. */
void	qfile_header_format(char out[QFILE_HDR_LEN], uint64_t envoff,
	    const unsigned char mac[QFILE_MAC_LEN]);
/*
 * 0 with the envelope's offset (0: not committed) and the MAC, or -1 if
 * malformed.
 */
int	qfile_header_parse(const char *in, size_t len, uint64_t *envoff,
	    unsigned char mac[QFILE_MAC_LEN]);
/*
 * The MAC that vouches for a committed envelope: HMAC-SHA256 under the
 * queue key of the queue id, the envelope's offset and its bytes. 0 or -1.
 */
int	qfile_mac(const unsigned char key[QFILE_KEY_LEN], const char *qid,
	    uint64_t envoff, const void *env, size_t envlen,
	    unsigned char mac[QFILE_MAC_LEN]);

enum qfile_result {
	QFILE_OK,
	QFILE_GONE,		/* no such file (removed meanwhile) */
	QFILE_UNCOMMITTED,	/* being received, or an interrupted commit */
	QFILE_BAD_HEADER,	/* not a queue file */
	QFILE_BAD_MAC,		/* not committed by the queue that holds key */
	QFILE_BAD_ENVELOPE,	/* the envelope (or ID.env) does not parse */
	QFILE_ERROR,		/* could not read it (errno, why) */
};

/*
 * Reads queue file qid in the queue directory dirfd: the header, the
 * envelope it was committed with (its MAC checked under key; key NULL
 * skips the check, for a reader that cannot read the key), and ID.env,
 * which overrides the embedded envelope when present. Only reads: what
 * to do with a file that is not OK is the caller's business. On
 * QFILE_OK, env is filled (env_free it) and *size is the message's
 * length; *has_envfile says whether ID.env exists, whatever the result.
 * why gets a reason for every result but OK.
 */
enum qfile_result qfile_load(int dirfd, const char *qid,
	    const unsigned char *key, struct envelope *env, uint64_t *size,
	    int *has_envfile, char *why, size_t whylen);

#endif
