/*
 * sasl.c - the SASL PLAIN response (RFC 4616) as every protocol carries
 * it: strict base64 (RFC 4648), then its three fields. POP3's AUTH (RFC
 * 5034), IMAP's AUTHENTICATE (RFC 3501) and SMTP's AUTH (RFC 4954) all
 * decode it here.
 *
 * Runs in login processes (unprivileged, chrooted in an empty directory)
 * and, for SMTP AUTH, in smtpd's session processes. Its input is the
 * network: lines are already bounded by netio, and nothing here
 * allocates; every output is bounded by the caller's buffer.
 */
#include <string.h>

#include "sasl.h"
#include "text.h"

int
sasl_base64_decode(const char *in, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	size_t	len = strlen(in), i, o = 0;
	int	v[4], k, pad;

	*outlen = 0;
	/* RFC 4954, 5034, 4959: "=" is an empty initial response. */
	if (strcmp(in, "=") == 0)
		return 0;
	if (len == 0 || len % 4 != 0)
		return -1;
	for (i = 0; i < len; i += 4) {
		pad = 0;
		for (k = 0; k < 4; k++) {
			unsigned char c = (unsigned char)in[i + k];

			if (c == '=' && i + 4 == len && k >= 2) {
				v[k] = 0;
				pad++;
				continue;
			}
			if (pad > 0 || (v[k] = text_base64_digit(c)) == -1)
				return -1;
		}
		if (o + 3 - (size_t)pad > outsz)
			return -1;
		out[o++] = (unsigned char)(v[0] << 2 | v[1] >> 4);
		if (pad < 2)
			out[o++] = (unsigned char)((v[1] & 0xf) << 4 | v[2] >> 2);
		if (pad < 1)
			out[o++] = (unsigned char)((v[2] & 0x3) << 6 | v[3]);
		/* Bits below the padding must be zero (canonical encoding). */
		if ((pad == 1 && (v[2] & 0x3) != 0) ||
		    (pad == 2 && (v[1] & 0xf) != 0))
			return -1;
	}
	*outlen = o;
	return 0;
}

int
sasl_plain(const unsigned char *in, size_t len, char *user,
    size_t usersz, char *pass, size_t passsz)
{
	const unsigned char	*z1, *z2;
	size_t			 azlen, aclen, pwlen;

	if ((z1 = memchr(in, '\0', len)) == NULL)
		return -1;
	azlen = (size_t)(z1 - in);
	if ((z2 = memchr(z1 + 1, '\0', len - azlen - 1)) == NULL)
		return -1;
	aclen = (size_t)(z2 - z1 - 1);
	pwlen = len - azlen - aclen - 2;
	if (aclen == 0 || aclen >= usersz || pwlen >= passsz)
		return -1;
	if (azlen != 0 && (azlen != aclen || memcmp(in, z1 + 1, aclen) != 0))
		return -1;
	/*
	 * RFC 4616: passwd holds no NUL. A third NUL is a malformed
	 * message, and pass as a C string would silently drop its tail.
	 */
	if (memchr(z2 + 1, '\0', pwlen) != NULL)
		return -1;
	memcpy(user, z1 + 1, aclen);
	user[aclen] = '\0';
	memcpy(pass, z2 + 1, pwlen);
	pass[pwlen] = '\0';
	return 0;
}
