/*
 * sasl.h - decoding the SASL PLAIN response: base64, then the fields.
 */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stddef.h>

/* Strict RFC 4648 base64; "=" alone is empty. -1 on bad input or no room. */
int	sasl_base64_decode(const char *in, unsigned char *out, size_t outsz,
	    size_t *outlen);
/*
 * SASL PLAIN (RFC 4616) from its decoded bytes: "authzid NUL authcid NUL
 * passwd". An authzid other than empty or authcid is refused (-1): we do
 * not act for other users. A NUL in the password is refused too.
 */
int	sasl_plain(const unsigned char *in, size_t len, char *user,
	    size_t usersz, char *pass, size_t passsz);

#endif
