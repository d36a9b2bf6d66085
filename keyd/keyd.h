/*
 * keyd.h - keyd's private interfaces: the table of private keys it holds
 * (keyd_keys.c), loaded from the files postern.conf names and used to
 * answer K_SIGN.
 */
#ifndef POSTERN_KEYD_H
#define POSTERN_KEYD_H

#include <stddef.h>
#include <sys/types.h>

#include <openssl/evp.h>

#include "conf.h"
#include "proto.h"

/* At most this many keys: tls_key_file and one per SNI map entry. */
#define KEYD_KEYS_MAX	1001

struct keyd_key {
	char		 name[K_NAME_MAX + 1];	/* the file's path */
	EVP_PKEY	*pkey;
};

struct keyd_keys {
	struct keyd_key	*v;
	size_t		 n;
};

/*
 * The key files conf names (tls_key_file; the SNI map's keys join here),
 * each at most once, into names (room for max): how many.
 */
size_t	keyd_key_names(const struct conf *, char (*names)[K_NAME_MAX + 1],
	    size_t max);

/*
 * Reads one private key file. Refused, with why in err: a file that is
 * not a regular file, belongs to neither root nor uid (keyd's own), or
 * that its group or others may read or write (as ssh refuses such a
 * key), or that holds no RSA, EC (P-256, P-384) or Ed25519 key.
 */
EVP_PKEY *keyd_key_read(const char *path, uid_t uid, char *err,
	    size_t errlen);

/*
 * A new table from conf: every key that reads, each failure logged. On a
 * reload, old (else NULL) gives a key that now fails to read its old
 * value, so a broken file never takes a working key away; the entries
 * taken from old are moved (old keeps the rest for keyd_keys_free).
 */
void	keyd_keys_load(struct keyd_keys *, const struct conf *, uid_t uid,
	    struct keyd_keys *old);
void	keyd_keys_free(struct keyd_keys *);
EVP_PKEY *keyd_keys_find(const struct keyd_keys *, const char *name);

/*
 * One signature by key for req: K_OK with sig/len, K_NOKEY when the
 * algorithm does not fit the key, K_FAIL otherwise. The digest's name
 * must be one TLS 1.2/1.3 uses (SHA-1, SHA-2) and its length match.
 */
uint32_t keyd_sign(EVP_PKEY *key, const struct k_sign *req,
	    struct k_sign_reply *rep);

#endif
