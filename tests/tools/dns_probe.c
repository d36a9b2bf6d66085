/*
 * dns_probe.c - drives resolverd's DNS module from the command line, for
 * the integration tests (tests/integration/test_dns.py), which point it
 * at an NSD they started on loopback. Not installed.
 *
 *   dns-probe [-s SERVER]... [-t TRY_MS] [-a ATTEMPTS] [-4|-6]
 *	route DOMAIN | query NAME A|AAAA|MX [REPEAT]
 *
 * Prints one line per fact ("status ...", "hop HOST PREF ADDR", "mx
 * PREF HOST", "addr ADDR") and the time the whole lookup took.
 */
#include <arpa/inet.h>

#include <err.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dns.h"
#include "evloop.h"
#include "log.h"

static struct evloop *loop;
static int remaining;

static void
print_addr(const char *prefix, const struct dns_addr *a)
{
	char s[INET6_ADDRSTRLEN];

	inet_ntop(a->family, a->a, s, sizeof(s));
	printf("%s%s\n", prefix, s);
}

static void
route_done(const struct dns_route *r, void *arg)
{
	size_t i;

	printf("status %s %s implicit %d n %zu\n",
	    r->status == DNS_ROUTE_OK ? "ok" :
	    r->status == DNS_ROUTE_TEMP ? "temp" : "perm", r->dsn[0] ? r->dsn :
	    "-", r->implicit, r->n);
	if (r->status != DNS_ROUTE_OK)
		printf("text %s\n", r->text);
	for (i = 0; i < r->n; i++) {
		char pfx[DNS_NAME_MAX + 32];

		snprintf(pfx, sizeof(pfx), "hop %s %u ", r->hop[i].host,
		    r->hop[i].pref);
		print_addr(pfx, &r->hop[i].addr);
	}
	if (--remaining == 0)
		evloop_stop(loop);
}

static void
query_done(const struct dns_answer *a, void *arg)
{
	size_t i;

	printf("status %s ttl %u\n", dns_status_name(a->status), a->ttl);
	for (i = 0; i < a->nmx; i++)
		printf("mx %u %s\n", a->mx[i].pref,
		    a->mx[i].host[0] ? a->mx[i].host : ".");
	for (i = 0; i < a->naddr; i++)
		print_addr("addr ", &a->addr[i]);
	fflush(stdout);
	if (--remaining == 0)
		evloop_stop(loop);
}

int
main(int argc, char **argv)
{
	struct dns_client_conf conf = { .try_ms = 1000, .attempts = 2,
	    .max_outstanding = 100, .cache_entries = 1000 };
	struct dns_client *c;
	char errbuf[128];
	int ch, v4 = 1, v6 = 1, repeat = 1, i;
	uint64_t t0;

	log_init("dns-probe", LOG_DEST_STDERR);
	while ((ch = getopt(argc, argv, "46a:s:t:")) != -1) {
		switch (ch) {
		case '4': v6 = 0; break;
		case '6': v4 = 0; break;
		case 'a': conf.attempts = (unsigned)atoi(optarg); break;
		case 't': conf.try_ms = (uint64_t)atoll(optarg); break;
		case 's':
			if (conf.servers.n == DNS_SERVERS_MAX)
				errx(2, "too many servers");
			if (dns_server_parse(optarg,
			    &conf.servers.s[conf.servers.n], errbuf,
			    sizeof(errbuf)) == -1)
				errx(2, "%s", errbuf);
			conf.servers.n++;
			break;
		default:
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2)
		errx(2, "usage: dns-probe [-s SERVER] route DOMAIN | "
		    "query NAME TYPE [REPEAT]");
	if ((loop = evloop_new()) == NULL || (c = dns_client_new(loop,
	    &conf)) == NULL)
		errx(1, "cannot set up");
	t0 = evloop_now_ms();
	if (strcmp(argv[0], "route") == 0) {
		remaining = 1;
		dns_route_resolve(c, argv[1], v4, v6, route_done, NULL);
	} else if (strcmp(argv[0], "query") == 0 && argc >= 3) {
		uint16_t type = strcmp(argv[2], "MX") == 0 ? DNS_T_MX :
		    strcmp(argv[2], "AAAA") == 0 ? DNS_T_AAAA : DNS_T_A;

		if (argc >= 4)
			repeat = atoi(argv[3]);
		remaining = repeat;
		for (i = 0; i < repeat; i++)
			dns_query(c, argv[1], type, query_done, NULL);
		printf("outstanding %zu\n", dns_client_outstanding(c));
	} else
		errx(2, "unknown command %s", argv[0]);
	if (evloop_run(loop) == -1)
		errx(1, "loop failed");
	printf("elapsed_ms %llu\n",
	    (unsigned long long)(evloop_now_ms() - t0));
	dns_client_free(c);
	evloop_free(loop);
	return 0;
}
