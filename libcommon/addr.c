/*
 * addr.c - the mail address parser.
 *
 * Used by smtpd (on input from the network), the sendmail injector, the
 * alias compiler and the CLI. Input is hostile: every length is checked
 * against RFC 5321's limits before it is copied.
 */
#include <ctype.h>
#include <string.h>

#include "addr.h"
#include "utf8.h"

static int
is_atext(unsigned char c, int utf8)
{
	if (c >= 0x80)
		return utf8;
	if (isalnum(c))
		return 1;
	return strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL && c != '\0';
}

int
addr_valid_domain(const char *d)
{
	size_t	len = strlen(d), lab = 0, i;

	if (len == 0 || len > ADDR_DOMAIN_MAX)
		return 0;
	if (d[0] == '[') {
		/* Address literal: digits, hex, dots, colons, "IPv6:" tag. */
		if (d[len - 1] != ']' || len < 3)
			return 0;
		for (i = 1; i < len - 1; i++)
			if (!isalnum((unsigned char)d[i]) && d[i] != '.' &&
			    d[i] != ':')
				return 0;
		return 1;
	}
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.') {
			if (lab == 0 || d[i - 1] == '-')
				return 0;
			lab = 0;
			continue;
		}
		if (!isalnum(c) && c != '-' && c < 0x80)
			return 0;
		if (c == '-' && lab == 0)
			return 0;
		if (++lab > 63)
			return 0;
	}
	return lab > 0 && d[len - 1] != '-';
}

int
addr_parse(const char *s, struct mailaddr *out, int utf8)
{
	const char	*at, *p;
	size_t		 llen;

	if ((at = strrchr(s, '@')) == NULL || at == s)
		return -1;
	/*
	 * 8-bit bytes are allowed only as UTF-8, and only well-formed: an
	 * overlong or cut-short sequence means something else to each
	 * decoder that later reads the address (a log, a map key, a path).
	 */
	if (utf8 && !utf8_valid(s, strlen(s)))
		return -1;
	llen = (size_t)(at - s);
	if (llen > ADDR_LOCAL_MAX)
		return -1;
	if (s[0] == '"') {
		/* quoted-string: qtext or quoted-pair, ends right before '@'. */
		if (llen < 2 || s[llen - 1] != '"')
			return -1;
		for (p = s + 1; p < at - 1; p++) {
			unsigned char c = (unsigned char)*p;
			if (c == '\\') {
				if (++p >= at - 1 || *p < 0x20 || *p == 0x7f)
					return -1;
				continue;
			}
			if (c == '"' || c < 0x20 || c == 0x7f ||
			    (c >= 0x80 && !utf8))
				return -1;
		}
	} else {
		for (p = s; p < at; p++) {
			if (*p == '.') {
				if (p == s || p + 1 == at || p[1] == '.')
					return -1;
				continue;
			}
			if (!is_atext((unsigned char)*p, utf8))
				return -1;
		}
	}
	if (!addr_valid_domain(at + 1))
		return -1;
	/* addr_valid_domain lets 8-bit labels through; only SMTPUTF8 may. */
	for (p = at + 1; !utf8 && *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			return -1;
	memcpy(out->local, s, llen);
	out->local[llen] = '\0';
	strlcpy(out->domain, at + 1, sizeof(out->domain));
	for (p = out->domain; *p != '\0'; p++)
		out->domain[p - out->domain] =
		    (char)tolower((unsigned char)*p);
	return 0;
}

int
addr_format(const struct mailaddr *a, char *out, size_t outsz)
{
	size_t n = strlcpy(out, a->local, outsz);

	if (n >= outsz || strlcat(out, "@", outsz) >= outsz ||
	    strlcat(out, a->domain, outsz) >= outsz)
		return -1;
	return 0;
}

int
addr_has_route(const char *addr)
{
	const char *at = strrchr(addr, '@');
	size_t n = at != NULL ? (size_t)(at - addr) : strlen(addr);

	return memchr(addr, '%', n) != NULL || memchr(addr, '!', n) != NULL ||
	    memchr(addr, '@', n) != NULL;
}

void
addr_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}

/*
 * The store-safe set, of what RFC 5322 atext allows in a local part:
 *  - letters (lowercased first: the store folds case), digits, and
 *    "-_+." as before; "+" is also the usual recipient_delimiter;
 *  - "'" (o'brien@) and "=" (SRS, VERP and hosting panels use it): safe
 *    as path bytes, and Postern never hands a path to a shell;
 *  - never "/" (a path separator), a leading "." (a hidden directory,
 *    or "." and ".." themselves) or ".." anywhere;
 *  - not "!#$%&*?^`{|}~": each means something to a shell (history,
 *    comments, variables, job control, globs, command substitution,
 *    braces, pipes, home directories), and administrators do run
 *    "for u in *; do ... $u" over the store. Such names are refused
 *    rather than made into directories that one careless script could
 *    turn into a command or a wildcard over everyone's mail.
 * 8-bit (UTF-8) names are refused too: the path would depend on the
 * normalisation form the client happened to send.
 */
const char *
addr_store_unsafe_why(const char *c)
{
	const char *p;

	if (c[0] == '\0')
		return "it is empty";
	if (strlen(c) > ADDR_DOMAIN_MAX)
		return "it is too long";
	if (c[0] == '.')
		return "it starts with a dot (a hidden directory)";
	for (p = c; *p != '\0'; p++) {
		unsigned char ch = (unsigned char)*p;

		if (ch == '.' && p[1] == '.')
			return "it contains \"..\" (the parent directory)";
		if (ch == '/')
			return "it contains \"/\" (a path separator)";
		if (ch >= 0x80)
			return "it contains a non-ASCII character";
		if (isupper(ch))
			return "it contains an upper-case letter";
		if (!(islower(ch) || isdigit(ch) ||
		    strchr(".-_+='", ch) != NULL))
			return "it contains one of !#$%&*?^`{|}~ or a "
			    "character outside RFC 5322 atext, which a shell "
			    "would take for a command, variable or wildcard";
	}
	return NULL;
}

int
addr_is_store_safe(const char *c)
{
	return addr_store_unsafe_why(c) == NULL;
}
