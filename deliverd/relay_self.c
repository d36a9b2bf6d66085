/*
 * relay_self.c - is this exchanger us? The loop check of the remote
 * transport: mail whose best exchanger is this host would come back to
 * us and go out again forever, so it bounces ("5.4.6 mail for DOMAIN
 * loops back to myself"), and exchangers less preferred than ourselves
 * are never tried (RFC 5321 5.1: a host that is itself an MX uses only
 * the ones preferred over it).
 *
 * Pure: runs in relayd on the route resolverd sent and the addresses
 * relayd gathered at start. Trusts nothing but those.
 */
#include <string.h>
#include <strings.h>

#include "remote.h"

int
relay_self_add(struct relay_self *s, uint32_t family, const void *a)
{
	size_t i, len = family == 6 ? 16 : 4;

	for (i = 0; i < s->n; i++)
		if (s->addr[i].family == family &&
		    memcmp(s->addr[i].a, a, len) == 0)
			return 0;
	if (s->n == RELAY_SELF_MAX)
		return -1;
	memset(&s->addr[s->n], 0, sizeof(s->addr[s->n]));
	s->addr[s->n].family = family;
	memcpy(s->addr[s->n].a, a, len);
	s->n++;
	return 0;
}

int
relay_self_is(const struct relay_self *s, const struct r_hop *h)
{
	size_t i, len = h->family == 6 ? 16 : 4;

	if (s->myhostname[0] != '\0' &&
	    strcasecmp(s->myhostname, h->host) == 0)
		return 1;
	for (i = 0; i < s->n; i++)
		if (s->addr[i].family == h->family &&
		    memcmp(s->addr[i].a, h->addr, len) == 0)
			return 1;
	return 0;
}

size_t
relay_usable_hops(const struct relay_self *s, const struct r_route *rt)
{
	size_t		i;
	uint32_t	pref;

	for (i = 0; i < rt->n; i++)
		if (relay_self_is(s, &rt->hop[i]))
			break;
	if (i == rt->n)
		return rt->n;
	/* Hops come in preference order: keep those strictly better. */
	pref = rt->hop[i].pref;
	while (i > 0 && rt->hop[i - 1].pref >= pref)
		i--;
	return i;
}
