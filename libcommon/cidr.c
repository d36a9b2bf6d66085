/*
 * cidr.c - network prefix matching (smtpd's relay decision).
 * IPv4-mapped IPv6 client addresses are matched against IPv4 prefixes.
 */
#include <netinet/in.h>
#include <arpa/inet.h>

#include <stdlib.h>
#include <string.h>

#include "cidr.h"

int
cidr_parse(const char *s, struct cidr *c)
{
	char	 buf[64], *slash, *a = buf, *end;
	long	 p;
	size_t	 len;

	if (strlcpy(buf, s, sizeof(buf)) >= sizeof(buf))
		return -1;
	slash = strchr(buf, '/');
	if (slash != NULL)
		*slash++ = '\0';
	len = strlen(a);
	if (len > 1 && a[0] == '[' && a[len - 1] == ']') {
		a[len - 1] = '\0';
		a++;
	}
	memset(c, 0, sizeof(*c));
	if (inet_pton(AF_INET, a, c->addr) == 1) {
		c->family = AF_INET;
		c->prefix = 32;
	} else if (inet_pton(AF_INET6, a, c->addr) == 1) {
		c->family = AF_INET6;
		c->prefix = 128;
	} else
		return -1;
	if (slash != NULL) {
		p = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || p < 0 || p > c->prefix)
			return -1;
		c->prefix = (int)p;
	}
	return 0;
}

static int
prefix_eq(const uint8_t *a, const uint8_t *b, int bits)
{
	int	 full = bits / 8, rest = bits % 8;

	if (memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	return ((a[full] ^ b[full]) & (0xff << (8 - rest))) == 0;
}

int
cidr_match(const struct cidr *c, const struct sockaddr *sa)
{
	const uint8_t *a;

	if (sa->sa_family == AF_INET) {
		if (c->family != AF_INET)
			return 0;
		a = (const uint8_t *)&((const struct sockaddr_in *)sa)->sin_addr;
		return prefix_eq(a, c->addr, c->prefix);
	}
	if (sa->sa_family != AF_INET6)
		return 0;
	a = (const uint8_t *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
	if (c->family == AF_INET6)
		return prefix_eq(a, c->addr, c->prefix);
	if (IN6_IS_ADDR_V4MAPPED((const struct in6_addr *)a))
		return prefix_eq(a + 12, c->addr, c->prefix);
	return 0;
}

int
cidr_match_list(char *const *v, size_t n, const struct sockaddr *sa)
{
	struct cidr	c;
	size_t		i;

	for (i = 0; i < n; i++)
		if (cidr_parse(v[i], &c) == 0 && cidr_match(&c, sa))
			return 1;
	return 0;
}
