/*
 * tls_ticket.c - the session-ticket key file: the keys with which every
 * TLS session process seals and opens resumption tickets (RFC 5077,
 * RFC 8446 4.6.1), so that a client resumes with whichever process
 * serves its next connection.
 *
 * Runs in master (root), which makes the file at start and rotates it
 * every tls_ticket_lifetime, and in the processes that start sessions,
 * which read it once before they drop privileges: pop3d's login
 * processes, and smtpd's session template (libcommon/forkserver.h), whose
 * sessions use the keys it read for at most its lifetime (5 minutes) after
 * a rotation; the older key still opens for a whole period after that. The file lives in the spool's
 * private/ directory (root's, 0711) with mode 0600: a ticket key opens
 * every session resumed with it, so no unprivileged process may read it
 * later, and none but master ever writes it.
 *
 * Format (binary, fixed size): "PTK1", one byte with the count (1 or 2),
 * then the keys newest first, each 16 bytes of name, 32 of AES-256 key,
 * 32 of HMAC-SHA256 key. Order of operations: the new file is written
 * and renamed into place whole (fs_atomic_write), so a session process
 * starting meanwhile reads the old pair or the new one, never a part.
 * The newest key seals; both open, so a ticket sealed just before a
 * rotation is still good for one more period.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "fsutil.h"
#include "tls.h"

#define TICKET_MAGIC	"PTK1"
#define TICKET_KEYLEN	(sizeof(struct tls_ticket_key))
#define TICKET_FILELEN	(4 + 1 + TLS_TICKET_KEYS * TICKET_KEYLEN)

int
tls_ticket_read(const char *path, struct tls_ticket_key *keys, char *err,
    size_t errlen)
{
	char	*data;
	size_t	 len, n;

	if (fs_read_file(path, TICKET_FILELEN, &data, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "not a ticket key file" : strerror(errno));
		return -1;
	}
	n = len > 4 ? (unsigned char)data[4] : 0;
	if (len < 5 || memcmp(data, TICKET_MAGIC, 4) != 0 || n < 1 ||
	    n > TLS_TICKET_KEYS || len != 5 + n * TICKET_KEYLEN) {
		explicit_bzero(data, len);
		free(data);
		snprintf(err, errlen, "%s: not a ticket key file", path);
		return -1;
	}
	memcpy(keys, data + 5, n * TICKET_KEYLEN);
	explicit_bzero(data, len);
	free(data);
	return (int)n;
}

int
tls_ticket_rotate(const char *path, char *err, size_t errlen)
{
	struct tls_ticket_key	 keys[TLS_TICKET_KEYS + 1];
	unsigned char		 out[TICKET_FILELEN];
	char			 why[256];
	int			 n, rc = 0;

	/* An unreadable or missing file: start afresh with one key. */
	if ((n = tls_ticket_read(path, keys + 1, why, sizeof(why))) == -1)
		n = 0;
	if (RAND_bytes((unsigned char *)&keys[0], sizeof(keys[0])) != 1) {
		snprintf(err, errlen, "no randomness for a ticket key");
		explicit_bzero(keys, sizeof(keys));
		return -1;
	}
	n = n + 1 > TLS_TICKET_KEYS ? TLS_TICKET_KEYS : n + 1;
	memcpy(out, TICKET_MAGIC, 4);
	out[4] = (unsigned char)n;
	memcpy(out + 5, keys, (size_t)n * TICKET_KEYLEN);
	if (fs_atomic_write(path, out, 5 + (size_t)n * TICKET_KEYLEN,
	    0600) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rc = -1;
	}
	explicit_bzero(keys, sizeof(keys));
	explicit_bzero(out, sizeof(out));
	return rc;
}
