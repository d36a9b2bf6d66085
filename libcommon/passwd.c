/*
 * passwd.c - password hashes through libcrypt (libxcrypt).
 *
 * passwd_hash runs in the postern command (root or the development user)
 * when the administrator sets a password; passwd_verify runs in
 * authd's hash workers, unprivileged, on a password that came from a
 * network client through pop3d or imapd and is therefore hostile: it is
 * bounded before libcrypt sees it. The stored hashes come from
 * passwd.db, which only root writes; they are trusted not to be hostile, but may be empty or
 * locked, and those must never match.
 *
 * Every verification costs one hash computation, whatever the stored
 * value, so that the time of an answer does not tell an attacker whether
 * the user exists or has a password. The working area of libcrypt and
 * the computed hash are wiped before returning.
 */
#include <crypt.h>
#include <errno.h>
#include <string.h>

#include "passwd.h"
#include "proto.h"

_Static_assert(PASSWD_HASH_MAX >= CRYPT_OUTPUT_SIZE,
    "PASSWD_HASH_MAX too small for libcrypt");
_Static_assert(PASSWD_LEN_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
    "libcrypt refuses passwords of PASSWD_LEN_MAX bytes");
_Static_assert(PASSWD_LEN_MAX <= A_AUTH_SECRET_MAX,
    "a password that fits no A_AUTH frame");

/* Best first; the next is used only where libcrypt lacks the former. */
static const char *const passwd_prefixes[] = { "$y$", "$6$" };

/*
 * Settings (salts at the default cost) hashed against when the stored
 * hash cannot match. Fixed, not secret: the result is thrown away.
 */
static const char *const passwd_dummies[] = {
	"$y$j9T$gaTzj.m0YO0BT2rfCYv331",
	"$6$posternDummySalt",
};

int
passwd_hash(const char *password, char *out, size_t outsz)
{
	struct crypt_data	 cd;
	char			 setting[CRYPT_GENSALT_OUTPUT_SIZE];
	const char		*h = NULL;
	size_t			 i, len = strlen(password);
	int			 saved = EINVAL;

	if (outsz > 0)
		out[0] = '\0';
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len > PASSWD_LEN_MAX) {
		errno = ERANGE;
		return -1;
	}
	for (i = 0; h == NULL && i < sizeof(passwd_prefixes) /
	    sizeof(passwd_prefixes[0]); i++) {
		/* count 0: libcrypt's default cost; NULL: it reads getrandom. */
		if (crypt_gensalt_rn(passwd_prefixes[i], 0, NULL, 0, setting,
		    (int)sizeof(setting)) == NULL) {
			saved = errno;
			continue;
		}
		memset(&cd, 0, sizeof(cd));
		if ((h = crypt_rn(password, setting, &cd, (int)sizeof(cd))) ==
		    NULL)
			saved = errno;
	}
	if (h != NULL && strlcpy(out, h, outsz) >= outsz) {
		h = NULL;
		saved = ERANGE;
	}
	explicit_bzero(&cd, sizeof(cd));
	if (h == NULL) {
		if (outsz > 0)
			out[0] = '\0';	/* strlcpy may have left a prefix */
		errno = saved;
		return -1;
	}
	return 0;
}

/*
 * Constant-time equality of n bytes. libbsd 0.11.7 (Debian 12) has no
 * timingsafe_bcmp, and libcommon does not link OpenSSL for CRYPTO_memcmp:
 * every byte is looked at and the differences are only OR-ed together,
 * through a volatile so the compiler cannot stop at the first one.
 */
static int
passwd_equal(const char *a, const char *b, size_t n)
{
	volatile unsigned char	diff = 0;
	size_t			i;

	for (i = 0; i < n; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

/* Whether a stored value could be a hash at all. */
static int
passwd_usable(const char *hash)
{
	/* "*" and "!" are the shadow(5) conventions for "no login". */
	return hash[0] != '\0' && hash[0] != '*' && hash[0] != '!' &&
	    strlen(hash) < PASSWD_HASH_MAX;
}

/* Spends one hash computation and discards it. */
static void
passwd_burn(struct crypt_data *cd, const char *password)
{
	size_t i;

	for (i = 0; i < sizeof(passwd_dummies) / sizeof(passwd_dummies[0]);
	    i++) {
		memset(cd, 0, sizeof(*cd));
		if (crypt_rn(password, passwd_dummies[i], cd,
		    (int)sizeof(*cd)) != NULL)
			return;
	}
}

int
passwd_verify(const char *password, const char *hash)
{
	struct crypt_data	 cd;
	const char		*h;
	int			 match = 0;

	/*
	 * An overlong password is cut to a length libcrypt takes for the
	 * dummy computation only; it can never match, since none so long
	 * was ever hashed.
	 */
	if (strlen(password) > PASSWD_LEN_MAX || !passwd_usable(hash)) {
		char cut[PASSWD_LEN_MAX + 1];

		strlcpy(cut, password, sizeof(cut));
		passwd_burn(&cd, cut);
		explicit_bzero(cut, sizeof(cut));
		explicit_bzero(&cd, sizeof(cd));
		return 0;
	}
	memset(&cd, 0, sizeof(cd));
	if ((h = crypt_rn(password, hash, &cd, (int)sizeof(cd))) == NULL) {
		/* A setting libcrypt does not know may fail at once. */
		passwd_burn(&cd, password);
	} else if (strlen(h) == strlen(hash))
		match = passwd_equal(h, hash, strlen(hash));
	explicit_bzero(&cd, sizeof(cd));
	return match;
}
