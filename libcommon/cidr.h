/*
 * cidr.h - address/prefix matching for mynetworks.
 */
#ifndef POSTERN_CIDR_H
#define POSTERN_CIDR_H

#include <sys/socket.h>
#include <stddef.h>
#include <stdint.h>

struct cidr {
	int	 family;
	uint8_t	 addr[16];
	int	 prefix;
};

/* "10.0.0.0/8", "::1/128", "[::1]/128", "192.0.2.7". 0 or -1. */
int	cidr_parse(const char *, struct cidr *);
int	cidr_match(const struct cidr *, const struct sockaddr *);
/*
 * Whether sa is in one of the n networks written in v (a conf_list's
 * entries, checked when the configuration was loaded; one that does not
 * parse matches nothing). An IPv4 client on an IPv6 socket is matched
 * as its IPv4 address.
 */
int	cidr_match_list(char *const *v, size_t n, const struct sockaddr *);

#endif
