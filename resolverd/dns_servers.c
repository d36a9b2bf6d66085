/*
 * dns_servers.c - which recursive nameservers resolverd asks: the
 * "nameserver" lines of /etc/resolv.conf, or postern.conf's
 * dns_servers (how tests point resolverd at a DNS server of their own).
 *
 * Pure; runs in resolverd and `postern check`. Input is an
 * administrator's file: still bounded, and a bad entry is an error with
 * its reason, not a guess.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

int
dns_server_parse(const char *spec, struct dns_server *srv, char *err,
    size_t errsz)
{
	char host[INET6_ADDRSTRLEN + 1], *end;
	const char *port = NULL, *close;
	struct sockaddr_in *sin = (struct sockaddr_in *)&srv->ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&srv->ss;
	size_t hl;
	long p = 53;

	memset(srv, 0, sizeof(*srv));
	if (spec[0] == '[') {
		if ((close = strchr(spec, ']')) == NULL) {
			snprintf(err, errsz, "%s: no closing ']'", spec);
			return -1;
		}
		hl = (size_t)(close - spec - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0') {
			snprintf(err, errsz, "%s: junk after ']'", spec);
			return -1;
		}
		spec++;
	} else if (strchr(spec, ':') != strrchr(spec, ':')) {
		hl = strlen(spec);	/* a bare IPv6 address: port 53 */
	} else {
		close = strchr(spec, ':');
		hl = close ? (size_t)(close - spec) : strlen(spec);
		if (close)
			port = close + 1;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		snprintf(err, errsz, "%s: not an IP address", spec);
		return -1;
	}
	memcpy(host, spec, hl);
	host[hl] = '\0';
	if (port != NULL) {
		p = strtol(port, &end, 10);
		if (!isdigit((unsigned char)port[0]) || *end != '\0' || p < 1 ||
		    p > 65535) {
			snprintf(err, errsz, "%s: bad port", port);
			return -1;
		}
	}
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)p);
		srv->len = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)p);
		srv->len = sizeof(*sin6);
	} else {
		snprintf(err, errsz, "%s: not an IP address (a name server "
		    "is given by address)", host);
		return -1;
	}
	return 0;
}

int
dns_servers_from_resolv(const char *text, struct dns_servers *out)
{
	const char *line = text, *nl;
	char buf[256], err[128], *word, *save;

	memset(out, 0, sizeof(*out));
	for (; line != NULL && *line != '\0'; line = nl ? nl + 1 : NULL) {
		size_t len;

		nl = strchr(line, '\n');
		len = nl ? (size_t)(nl - line) : strlen(line);
		if (len >= sizeof(buf))
			continue;
		memcpy(buf, line, len);
		buf[len] = '\0';
		if ((word = strtok_r(buf, " \t\r", &save)) == NULL ||
		    strcmp(word, "nameserver") != 0)
			continue;
		if ((word = strtok_r(NULL, " \t\r", &save)) == NULL ||
		    out->n == DNS_SERVERS_MAX)
			continue;
		/* A scoped address (fe80::1%eth0) needs an interface: skip. */
		if (strchr(word, '%') == NULL &&
		    dns_server_parse(word, &out->s[out->n], err,
		    sizeof(err)) == 0)
			out->n++;
	}
	if (out->n == 0)	/* resolv.conf(5): the local server */
		return dns_server_parse("127.0.0.1", &out->s[out->n++], err,
		    sizeof(err));
	return 0;
}

void
dns_server_str(const struct dns_server *srv, char *out, size_t outsz)
{
	char host[INET6_ADDRSTRLEN];
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&srv->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&srv->ss;

	if (srv->ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &sin6->sin6_addr, host, sizeof(host));
		snprintf(out, outsz, "%s#%u", host, ntohs(sin6->sin6_port));
	} else {
		inet_ntop(AF_INET, &sin->sin_addr, host, sizeof(host));
		snprintf(out, outsz, "%s#%u", host, ntohs(sin->sin_port));
	}
}
