/*
 * cidr.h - address/prefix matching for mynetworks.
 */
#ifndef POSTERN_CIDR_H
#define POSTERN_CIDR_H

#include <sys/socket.h>
#include <stdint.h>

struct cidr {
	int	 family;
	uint8_t	 addr[16];
	int	 prefix;
};

/* "10.0.0.0/8", "::1/128", "[::1]/128", "192.0.2.7". 0 or -1. */
int	cidr_parse(const char *, struct cidr *);
int	cidr_match(const struct cidr *, const struct sockaddr *);

#endif
