/*
 * passwd.h - password hashes: making one (postern user) and checking a
 * password against one (authd, the only reader of passwd.db).
 */
#ifndef POSTERN_PASSWD_H
#define POSTERN_PASSWD_H

#include <stddef.h>

/*
 * A passwd.db value is a hash, "" for a user who cannot log in, and
 * either of them after this byte for a locked user (postern user lock):
 * the hash is kept, so unlock restores the same password, and the user
 * still receives mail (only authd's credential check refuses it).
 * users.db keeps just the byte (or "") for the others to see.
 */
#define PASSWD_LOCKED	'!'

/* Room for any hash libcrypt makes (CRYPT_OUTPUT_SIZE), NUL included. */
#define PASSWD_HASH_MAX	384
/*
 * The longest password, in bytes. libcrypt refuses phrases of
 * CRYPT_MAX_PASSPHRASE_SIZE (512) bytes or more, which is below the
 * protocol's A_AUTH_SECRET_MAX: a longer one can never be stored, so it
 * can never match either.
 */
/* What USER/PASS and AUTH PLAIN can carry in one 512-octet line. */
#define PASSWD_LEN_MAX	256

/*
 * Hashes password into out: yescrypt ("$y$", libcrypt's default cost,
 * salt from the OS random source), or SHA-512-crypt ("$6$") where this
 * libcrypt has no yescrypt. 0, or -1 with errno: EINVAL for an empty
 * password, ERANGE for one longer than PASSWD_LEN_MAX or for an out too
 * small, anything else from libcrypt.
 */
int	passwd_hash(const char *password, char *out, size_t outsz);

/*
 * 1 if password matches hash, else 0. A hash that cannot match (empty,
 * "*", "!..." locked, malformed) and an overlong password still cost one
 * hash computation, so that a caller answering "no such user" or "no
 * password set" takes as long as for a wrong password. The comparison
 * runs in constant time.
 */
int	passwd_verify(const char *password, const char *hash);

#endif
