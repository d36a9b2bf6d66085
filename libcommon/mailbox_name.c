/*
 * mailbox_name.c - IMAP mailbox names <-> Maildir++ folder directories,
 * and modified UTF-7.
 *
 * Runs in the mail processes (imapd's) as the mail-store uid, in the
 * user's directory. A name comes from the client (CREATE, SELECT,
 * RENAME...) or from a directory entry that anything with the uid could
 * have made: neither is trusted. The one promise this file keeps: a
 * name that passes mailbox_name_ok becomes one directory name directly
 * inside the Maildir, never "..", never a path with "/", never a
 * dot-file Maildir itself uses (".", ".."), and holds no control byte
 * that could reach a log or a terminal. Modified UTF-7 is checked by
 * decoding and encoding again: a name has one spelling, so two names
 * that look the same cannot be two folders.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>

#include "mailbox_name.h"
#include "utf8.h"

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64val(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

/* Appends one code point as UTF-8. */
static int
put_utf8(char *out, size_t outsz, size_t *n, uint32_t cp)
{
	unsigned char	b[4];
	size_t		k, i;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		k = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		k = 4;
	}
	if (*n + k >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	for (i = 0; i < k; i++)
		out[(*n)++] = (char)b[i];
	return 0;
}

static int
put_byte(char *out, size_t outsz, size_t *n, char c)
{
	if (*n + 1 >= outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	out[(*n)++] = c;
	return 0;
}

/* Decodes without the spelling check; mutf7_decode adds it. */
static int
decode(const char *in, size_t len, char *out, size_t outsz)
{
	size_t	 i = 0, n = 0;
	uint32_t hi = 0;	/* a pending high surrogate */

	if (outsz == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	while (i < len) {
		unsigned char c = (unsigned char)in[i];

		if (c < 0x20 || c > 0x7e)
			goto bad;
		if (c != '&') {
			if (put_byte(out, outsz, &n, (char)c) == -1)
				return -1;
			i++;
			continue;
		}
		i++;
		if (i < len && in[i] == '-') {
			if (put_byte(out, outsz, &n, '&') == -1)
				return -1;
			i++;
			continue;
		}
		{
			uint32_t bits = 0;
			int	 nbits = 0, v;

			while (i < len && in[i] != '-') {
				if ((v = b64val(in[i])) < 0)
					goto bad;
				bits = (bits << 6) | (uint32_t)v;
				nbits += 6;
				i++;
				if (nbits >= 16) {
					uint32_t u;

					nbits -= 16;
					u = (bits >> nbits) & 0xffff;
					bits &= (1u << nbits) - 1;
					if (hi != 0) {
						if (u < 0xdc00 || u > 0xdfff)
							goto bad;
						u = 0x10000 + ((hi - 0xd800) <<
						    10) + (u - 0xdc00);
						hi = 0;
					} else if (u >= 0xd800 && u <= 0xdbff) {
						hi = u;
						continue;
					} else if (u >= 0xdc00 && u <= 0xdfff)
						goto bad;
					/* ASCII is never shifted. */
					if (u < 0x80)
						goto bad;
					if (put_utf8(out, outsz, &n, u) == -1)
						return -1;
				}
			}
			/* The run ends with "-", its leftover bits zero. */
			if (i >= len || hi != 0 || nbits >= 6 || bits != 0)
				goto bad;
			i++;
		}
	}
	out[n] = '\0';
	return 0;
bad:
	errno = EINVAL;
	return -1;
}

static int
flush_run(const uint16_t *u, size_t nu, char *out, size_t outsz, size_t *n)
{
	uint32_t bits = 0;
	int	 nbits = 0;
	size_t	 i;

	if (nu == 0)
		return 0;
	if (put_byte(out, outsz, n, '&') == -1)
		return -1;
	for (i = 0; i < nu; i++) {
		bits = (bits << 16) | u[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			if (put_byte(out, outsz, n,
			    b64[(bits >> nbits) & 0x3f]) == -1)
				return -1;
		}
		bits &= (1u << nbits) - 1;
	}
	if (nbits > 0 && put_byte(out, outsz, n,
	    b64[(bits << (6 - nbits)) & 0x3f]) == -1)
		return -1;
	return put_byte(out, outsz, n, '-');
}

int
mutf7_encode(const char *in, size_t len, char *out, size_t outsz)
{
	uint16_t run[128];	/* flushed when full: runs may be split */
	size_t	 i = 0, n = 0, nu = 0;

	if (outsz == 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (!utf8_valid(in, len) || memchr(in, '\0', len) != NULL) {
		errno = EINVAL;
		return -1;
	}
	while (i < len) {
		unsigned char	c = (unsigned char)in[i];
		uint32_t	cp;
		size_t		k;

		if (c >= 0x20 && c <= 0x7e) {
			if (flush_run(run, nu, out, outsz, &n) == -1)
				return -1;
			nu = 0;
			if (put_byte(out, outsz, &n, (char)c) == -1 ||
			    (c == '&' && put_byte(out, outsz, &n, '-') == -1))
				return -1;
			i++;
			continue;
		}
		if (c < 0x80) {
			/* A control: decode would refuse its spelling. */
			errno = EINVAL;
			return -1;
		} else if (c < 0xe0) {
			cp = c & 0x1f;
			k = 2;
		} else if (c < 0xf0) {
			cp = c & 0x0f;
			k = 3;
		} else {
			cp = c & 0x07;
			k = 4;
		}
		for (size_t j = 1; j < k; j++)
			cp = (cp << 6) | ((unsigned char)in[i + j] & 0x3f);
		i += k;
		if (nu + 2 > sizeof(run) / sizeof(run[0])) {
			/*
			 * A long run would be spelled as two runs side by
			 * side, which decode refuses: names are far shorter
			 * than this buffer, so refuse the name instead.
			 */
			errno = ENAMETOOLONG;
			return -1;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			run[nu++] = (uint16_t)(0xd800 + (cp >> 10));
			run[nu++] = (uint16_t)(0xdc00 + (cp & 0x3ff));
		} else
			run[nu++] = (uint16_t)cp;
	}
	if (flush_run(run, nu, out, outsz, &n) == -1)
		return -1;
	out[n] = '\0';
	return 0;
}

int
mutf7_decode(const char *in, size_t len, char *out, size_t outsz)
{
	char	again[MUTF7_MAX + 1];
	size_t	ulen;

	if (len > MUTF7_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (decode(in, len, out, outsz) == -1)
		return -1;
	/* One spelling: what we decoded must encode back to the input. */
	ulen = strlen(out);
	if (mutf7_encode(out, ulen, again, sizeof(again)) == -1 ||
	    strlen(again) != len || memcmp(again, in, len) != 0) {
		errno = EINVAL;
		return -1;
	}
	return 0;
}

/* No C0 or C1 control, no DEL, no line or paragraph separator. */
static int
utf8_printable(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 0;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 0;
		if (p[0] == 0xe2 && p[1] == 0x80 &&
		    (p[2] == 0xa8 || p[2] == 0xa9))
			return 0;
	}
	return 1;
}

int
mailbox_name_ok(const char *name)
{
	char	utf8[4 * MAILBOX_NAME_MAX + 16];
	size_t	len = strlen(name), i;

	if (len == 0 || len > MAILBOX_NAME_MAX)
		return 0;
	if (strpbrk(name, "/*%") != NULL)
		return 0;
	/* Components: no empty one (catches ".x", "x.", "a..b", ".."). */
	if (name[0] == MAILBOX_SEP || name[len - 1] == MAILBOX_SEP)
		return 0;
	for (i = 0; i + 1 < len; i++)
		if (name[i] == MAILBOX_SEP && name[i + 1] == MAILBOX_SEP)
			return 0;
	if (mutf7_decode(name, len, utf8, sizeof(utf8)) == -1)
		return 0;
	return utf8_printable(utf8);
}

static int
is_inbox(const char *name, size_t len)
{
	return len == 5 && strncasecmp(name, "INBOX", 5) == 0;
}

int
mailbox_name_to_dir(const char *name, char *out, size_t outsz)
{
	size_t len = strlen(name);

	if (!mailbox_name_ok(name)) {
		errno = EINVAL;
		return -1;
	}
	if (len + 2 > outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (is_inbox(name, len)) {
		out[0] = '.';
		out[1] = '\0';
		return 0;
	}
	out[0] = '.';
	memcpy(out + 1, name, len + 1);
	if (is_inbox(name, strcspn(name, ".")))
		memcpy(out + 1, "INBOX", 5);
	return 0;
}

int
mailbox_dir_to_name(const char *dir, char *out, size_t outsz)
{
	size_t len = strlen(dir);

	if (strcmp(dir, ".") == 0) {
		if (outsz < 6) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(out, "INBOX", 6);
		return 0;
	}
	/* ".INBOX" would be a second INBOX: not a folder we make. */
	if (dir[0] != '.' || !mailbox_name_ok(dir + 1) ||
	    is_inbox(dir + 1, len - 1)) {
		errno = EINVAL;
		return -1;
	}
	if (len > outsz) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(out, dir + 1, len);
	return 0;
}
