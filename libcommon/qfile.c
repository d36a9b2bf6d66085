/*
 * qfile.c - the queue file's header, its MAC, and reading a queue file's
 * envelope.
 *
 * Runs in queued (the spool's owner, as the queue user, with the key) and
 * in the postern command (root, reading the spool while queued is not
 * running; with the key when it can read it). It trusts nothing in the
 * file: a header is parsed byte by byte, the envelope is taken from
 * exactly where the header points and only if the MAC matches (when a key
 * is given), and both envelope records go through env_parse. It never
 * changes the spool: removing or quarantining is queued's alone.
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "fsutil.h"
#include "qfile.h"

#define QFILE_MAGIC	"PQ1 "

void
qfile_header_format(char out[QFILE_HDR_LEN], uint64_t envoff,
    const unsigned char mac[QFILE_MAC_LEN])
{
	char	tmp[QFILE_HDR_LEN + 1];
	size_t	i, o;

	/*
	 * "PQ1 " + 16 hex digits (offset) + " " + 64 hex digits (MAC, all
	 * zero before the commit) + 10 spaces + "\n": always 96 bytes.
	 */
	o = (size_t)snprintf(tmp, sizeof(tmp), QFILE_MAGIC "%016" PRIx64 " ",
	    envoff);
	for (i = 0; i < QFILE_MAC_LEN; i++)
		o += (size_t)snprintf(tmp + o, sizeof(tmp) - o, "%02x",
		    mac != NULL ? mac[i] : 0);
	snprintf(tmp + o, sizeof(tmp) - o, "%10s\n", "");
	memcpy(out, tmp, QFILE_HDR_LEN);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

int
qfile_header_parse(const char *in, size_t len, uint64_t *envoff,
    unsigned char mac[QFILE_MAC_LEN])
{
	uint64_t	v = 0;
	size_t		i;
	int		hi, lo;

	if (len < QFILE_HDR_LEN || memcmp(in, QFILE_MAGIC, 4) != 0 ||
	    in[20] != ' ' || in[QFILE_HDR_LEN - 1] != '\n')
		return -1;
	for (i = 4; i < 20; i++) {
		if ((hi = hexval(in[i])) == -1)
			return -1;
		v = v << 4 | (uint64_t)hi;
	}
	for (i = 0; i < QFILE_MAC_LEN; i++) {
		if ((hi = hexval(in[21 + 2 * i])) == -1 ||
		    (lo = hexval(in[22 + 2 * i])) == -1)
			return -1;
		mac[i] = (unsigned char)(hi << 4 | lo);
	}
	for (i = 21 + 2 * QFILE_MAC_LEN; i < QFILE_HDR_LEN - 1; i++)
		if (in[i] != ' ')
			return -1;
	/* Committed offsets start after the header; 0 means receiving. */
	if (v != 0 && v < QFILE_HDR_LEN)
		return -1;
	*envoff = v;
	return 0;
}

int
qfile_mac(const unsigned char key[QFILE_KEY_LEN], const char *qid,
    uint64_t envoff, const void *env, size_t envlen,
    unsigned char mac[QFILE_MAC_LEN])
{
	static EVP_MAC	*hmac;
	EVP_MAC_CTX	*h;
	OSSL_PARAM	 params[2];
	unsigned char	 off[8];
	size_t		 n = 0;
	int		 i, ok;

	if (hmac == NULL && (hmac = EVP_MAC_fetch(NULL, "HMAC", NULL)) == NULL)
		return -1;
	for (i = 0; i < 8; i++)
		off[i] = (unsigned char)(envoff >> (56 - 8 * i));
	params[0] = OSSL_PARAM_construct_utf8_string("digest", "SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((h = EVP_MAC_CTX_new(hmac)) == NULL)
		return -1;
	ok = EVP_MAC_init(h, key, QFILE_KEY_LEN, params) == 1 &&
	    EVP_MAC_update(h, (const unsigned char *)qid, strlen(qid)) == 1 &&
	    EVP_MAC_update(h, off, sizeof(off)) == 1 &&
	    EVP_MAC_update(h, env, envlen) == 1 &&
	    EVP_MAC_final(h, mac, &n, QFILE_MAC_LEN) == 1 &&
	    n == QFILE_MAC_LEN;
	EVP_MAC_CTX_free(h);
	return ok ? 0 : -1;
}

/* Reads [off, off + n) of fd into a new NUL-ended buffer; n is checked. */
static int
qfile_read_range(int fd, uint64_t off, uint64_t n, char **text)
{
	ssize_t r;

	if (n > ENV_MAX_SIZE) {
		errno = EFBIG;
		return -1;
	}
	if ((*text = malloc((size_t)n + 1)) == NULL)
		return -1;
	if ((r = fs_pread_full(fd, *text, (size_t)n, (off_t)off)) == -1 ||
	    (uint64_t)r != n) {
		free(*text);
		*text = NULL;
		if (r != -1)
			errno = EIO;
		return -1;
	}
	(*text)[n] = '\0';
	return 0;
}

enum qfile_result
qfile_load(int dirfd, const char *qid, const unsigned char *key,
    struct envelope *env, uint64_t *size, int *has_envfile, char *why,
    size_t whylen)
{
	struct stat	 st;
	char		 hdr[QFILE_HDR_LEN], envname[QID_LEN + 8], err[256];
	char		*text = NULL;
	unsigned char	 mac[QFILE_MAC_LEN], want[QFILE_MAC_LEN];
	uint64_t	 envoff, len;
	ssize_t		 r;
	int		 fd, efd;

	env_init(env);
	*has_envfile = 0;
	*size = 0;
	if (!qid_valid(qid)) {
		snprintf(why, whylen, "not a queue id");
		return QFILE_BAD_HEADER;
	}
	snprintf(envname, sizeof(envname), "%s.env", qid);
	*has_envfile = fstatat(dirfd, envname, &st, AT_SYMLINK_NOFOLLOW) == 0;
	if ((fd = openat(dirfd, qid, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) ==
	    -1 || fstat(fd, &st) == -1) {
		int saved = errno;

		if (fd != -1)
			close(fd);
		snprintf(why, whylen, "open: %s", strerror(saved));
		return saved == ENOENT ? QFILE_GONE : QFILE_ERROR;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		snprintf(why, whylen, "not a regular file");
		return QFILE_BAD_HEADER;
	}
	r = fs_pread_full(fd, hdr, sizeof(hdr), 0);
	if (r >= 0 && (size_t)r < sizeof(hdr) &&
	    memcmp(hdr, QFILE_MAGIC, (size_t)r < 4 ? (size_t)r : 4) == 0) {
		/* Created, and the crash came before its header was written. */
		close(fd);
		snprintf(why, whylen, "header not written yet");
		return QFILE_UNCOMMITTED;
	}
	if (r == -1 || qfile_header_parse(hdr, (size_t)r, &envoff, mac) == -1) {
		close(fd);
		snprintf(why, whylen, "not a queue file (bad header)");
		return QFILE_BAD_HEADER;
	}
	if (envoff == 0 || envoff >= (uint64_t)st.st_size) {
		/* Still receiving, or its envelope never reached the disk. */
		close(fd);
		snprintf(why, whylen, "not committed");
		return QFILE_UNCOMMITTED;
	}
	len = (uint64_t)st.st_size - envoff;
	if (qfile_read_range(fd, envoff, len, &text) == -1) {
		snprintf(why, whylen, "read the envelope: %s", strerror(errno));
		close(fd);
		return QFILE_ERROR;
	}
	close(fd);
	/*
	 * Only queued holds the key: a header and envelope that anybody else
	 * wrote (a client holding the file, or a crash that kept half of a
	 * commit) do not match.
	 */
	if (key != NULL &&
	    (qfile_mac(key, qid, envoff, text, (size_t)len, want) == -1 ||
	    CRYPTO_memcmp(mac, want, sizeof(mac)) != 0)) {
		free(text);
		snprintf(why, whylen, "its header's MAC does not match its "
		    "envelope (not committed by this queue, or damaged)");
		return QFILE_BAD_MAC;
	}
	if (*has_envfile) {
		free(text);
		text = NULL;
		if ((efd = openat(dirfd, envname, O_RDONLY | O_CLOEXEC |
		    O_NOFOLLOW)) == -1 || fstat(efd, &st) == -1 ||
		    qfile_read_range(efd, 0, (uint64_t)st.st_size, &text) == -1) {
			snprintf(why, whylen, "read %s: %s", envname,
			    strerror(errno));
			if (efd != -1)
				close(efd);
			return QFILE_ERROR;
		}
		close(efd);
		len = (uint64_t)st.st_size;
	}
	if (env_parse(text, (size_t)len, env, err, sizeof(err)) == -1) {
		free(text);
		snprintf(why, whylen, "%s", err);
		return QFILE_BAD_ENVELOPE;
	}
	free(text);
	if (strcmp(env->id, qid) != 0) {
		env_free(env);
		snprintf(why, whylen, "the envelope names another queue id");
		return QFILE_BAD_ENVELOPE;
	}
	*size = envoff - QFILE_HDR_LEN;
	return QFILE_OK;
}
