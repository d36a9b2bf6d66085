/*
 * utf8.c - the UTF-8 well-formedness check.
 *
 * Pure function, used wherever text that claims to be UTF-8 arrives
 * (SMTPUTF8 addresses in smtpd, through addr_parse everywhere else).
 * The input is hostile: a decoder further on that is more lenient than
 * this check could read an overlong "/" or "@" where we saw none, or be
 * made to read past the end by a sequence cut short. So every rule of
 * RFC 3629 is applied, one table row at a time.
 */
#include "utf8.h"

int
utf8_valid(const void *s, size_t len)
{
	const unsigned char	*p = s;
	size_t			 i = 0, n, k;
	unsigned char		 lo, hi;

	while (i < len) {
		unsigned char c = p[i];

		if (c < 0x80) {
			i++;
			continue;
		}
		/*
		 * The allowed range of the second byte depends on the first:
		 * that is where overlong forms, surrogates and code points
		 * past U+10FFFF are refused. Later bytes are 80..BF.
		 */
		lo = 0x80;
		hi = 0xBF;
		if (c >= 0xC2 && c <= 0xDF)
			n = 1;
		else if (c == 0xE0) {
			n = 2;
			lo = 0xA0;	/* below: overlong */
		} else if (c == 0xED) {
			n = 2;
			hi = 0x9F;	/* above: U+D800..U+DFFF */
		} else if (c >= 0xE1 && c <= 0xEF)
			n = 2;
		else if (c == 0xF0) {
			n = 3;
			lo = 0x90;	/* below: overlong */
		} else if (c >= 0xF1 && c <= 0xF3)
			n = 3;
		else if (c == 0xF4) {
			n = 3;
			hi = 0x8F;	/* above: past U+10FFFF */
		} else
			return 0;	/* 80..C1 or F5..FF cannot start one */
		if (len - i - 1 < n)
			return 0;	/* cut short */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= n; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xBF)
				return 0;
		i += n + 1;
	}
	return 1;
}
