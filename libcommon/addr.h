/*
 * addr.h - mail addresses: the one parser for "local@domain".
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX	64	/* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX	255	/* RFC 5321 4.5.3.1.2 */
#define ADDR_MAX	(ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

struct mailaddr {
	char	local[ADDR_LOCAL_MAX + 1];
	char	domain[ADDR_DOMAIN_MAX + 1];
};

/*
 * Parses "local@domain" (no angle brackets): local is a dot-atom or a
 * quoted string, domain a host name or an address literal. The domain is
 * lowercased. 8-bit bytes are accepted in both parts only when utf8 is set
 * (SMTPUTF8), and then only as well-formed UTF-8 (utf8_valid). Returns 0
 * or -1.
 */
int	addr_parse(const char *s, struct mailaddr *out, int utf8);
/* "local@domain" into out. */
int	addr_format(const struct mailaddr *, char *out, size_t outsz);
/* Lowercase copy of an address, for map keys. */
void	addr_lower(char *s);
/*
 * True if local and domain may be used as path components in the mail
 * store (<store>/<domain>/<local>/Maildir): [a-z0-9] and ".-_+='" only,
 * no leading dot, no "..". addr_store_unsafe_why says why not (NULL when
 * it is safe), in words for an administrator.
 */
int	addr_is_store_safe(const char *component);
const char *addr_store_unsafe_why(const char *component);
int	addr_valid_domain(const char *domain);
/*
 * True if the local part of "local@domain" (everything before the last
 * '@', quoted or not) holds a sender-specified route: '%' (the percent
 * hack, user%remote@here), '!' (a bang path, remote!user@here) or '@'
 * (a quoted "user@remote"@here). Postern never routes by them, but the
 * next MTA might: smtpd refuses them from clients outside mynetworks.
 */
int	addr_has_route(const char *addr);

#endif
