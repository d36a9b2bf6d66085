/*
 * dns.h - resolverd's DNS stub resolver: packets built and parsed with
 * ldns, sent over UDP (TCP when truncated) to the configured recursive
 * nameservers from resolverd's event loop, answers cached by TTL, and a
 * domain turned into the ordered list of addresses to deliver to (MX,
 * implicit MX, null MX).
 *
 * The module is resolverd's own: only resolverd parses DNS, so a parser
 * bug is confined to the process that holds no secret (the password
 * hashes live in authd, never here).
 */
#ifndef POSTERN_DNS_H
#define POSTERN_DNS_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "evloop.h"

#define DNS_NAME_MAX	256	/* presentation form, with its NUL */
#define DNS_MX_MAX	32	/* MX records kept of one answer */
#define DNS_ADDR_MAX	32	/* A or AAAA records kept of one answer */
#define DNS_CNAME_MAX	8	/* CNAME links followed inside one answer */
#define DNS_SERVERS_MAX	3	/* as resolv.conf's MAXNS */
#define DNS_TEXT_MAX	512

#define DNS_T_A		1
#define DNS_T_MX	15
#define DNS_T_AAAA	28
#define DNS_T_TLSA	52

/*
 * A TLSA record (RFC 6698) for DANE (RFC 7672). The data of digests
 * (SHA-256, SHA-512) is kept; a longer one (matching type 0, a whole
 * certificate) is kept as present with len 0: it counts as a record
 * DANE cannot use, which still makes TLS mandatory.
 */
#define DNS_TLSA_MAX		8	/* records kept of one answer */
#define DNS_TLSA_DATA_MAX	64
struct dns_tlsa {
	uint8_t	 usage, selector, mtype;
	uint8_t	 len;			/* 0: too long to keep */
	uint8_t	 data[DNS_TLSA_DATA_MAX];
};

/* What one query's answer says, as a mail server must act on it. */
enum dns_status {
	DNS_OK,		/* records of the type asked */
	DNS_NODATA,	/* the name exists, no record of that type */
	DNS_NXDOMAIN,	/* the name does not exist: permanent */
	DNS_TEMPFAIL,	/* SERVFAIL, REFUSED, timeout, no server: retry */
	DNS_TRUNCATED,	/* TC set: ask again over TCP (never cached) */
	DNS_BADREPLY,	/* not an answer to our question: ignore it */
};

struct dns_addr {
	int	 family;	/* AF_INET or AF_INET6 */
	uint8_t	 a[16];
};

struct dns_mx {
	uint16_t pref;
	char	 host[DNS_NAME_MAX];	/* lowercase, no trailing dot; "" = "." */
};

struct dns_answer {
	enum dns_status status;
	uint16_t rcode;
	uint32_t ttl;		/* seconds this may be cached */
	size_t	 nmx;
	struct dns_mx mx[DNS_MX_MAX];
	size_t	 naddr;
	struct dns_addr addr[DNS_ADDR_MAX];
	size_t	 ntlsa;
	struct dns_tlsa tlsa[DNS_TLSA_MAX];
	size_t	 skipped;	/* records refused (bad names, over a limit) */
	/*
	 * The AD bit (RFC 4035 3.2.3): the resolver validated the answer.
	 * Kept only from a client in dnssec mode (a resolver on loopback);
	 * 0 otherwise, whatever the packet says.
	 */
	int	 secure;
};

/* dns_wire.c: pure. */
/*
 * The wire form of a recursive query for name/type with the given id
 * into out (at most outsz bytes): its length, or -1 for a name that
 * cannot be queried (not a host name, too long).
 */
int	dns_query_build(const char *name, uint16_t type, uint16_t id,
	    uint8_t *out, size_t outsz);
/*
 * The same with EDNS0 (RFC 6891: a 1232-byte UDP payload) and the DO
 * and AD bits, for a validating resolver that says in AD whether the
 * answer was validated (RFC 6840 5.7).
 */
int	dns_query_build_dnssec(const char *name, uint16_t type, uint16_t id,
	    uint8_t *out, size_t outsz);
/*
 * Parses an answer to the query (id, name, type): fills out and returns
 * out->status. DNS_BADREPLY for anything that does not answer exactly
 * that question (a spoofing attempt or a stray packet: the caller keeps
 * waiting). CNAMEs inside the answer are followed from the name asked.
 */
enum dns_status dns_answer_parse(const uint8_t *wire, size_t len,
	    uint16_t id, const char *name, uint16_t type,
	    struct dns_answer *out);
/* A host name we will query or connect to: LDH labels, lowercased. */
int	dns_name_normalize(const char *in, char *out, size_t outsz);
const char *dns_status_name(enum dns_status);

/* dns_servers.c: pure. */
struct dns_server {
	struct sockaddr_storage ss;
	socklen_t len;
};
struct dns_servers {
	size_t	 n;
	struct dns_server s[DNS_SERVERS_MAX];
};
/* "ADDR", "ADDR:PORT" or "[ADDR6]:PORT": 0, or -1 with a reason. */
int	dns_server_parse(const char *spec, struct dns_server *,
	    char *err, size_t errsz);
/* The "nameserver" lines of a resolv.conf text; none: 127.0.0.1:53. */
int	dns_servers_from_resolv(const char *text, struct dns_servers *);
/* Writes "addr#port" (as Postfix logs a DNS server). */
void	dns_server_str(const struct dns_server *, char *, size_t);

/* dns_cache.c. */
struct dns_cache;
struct dns_cache *dns_cache_new(size_t max_entries);
void	dns_cache_free(struct dns_cache *);
/* A fresh answer for (name, type) at now_s: 1 and *out filled, else 0. */
int	dns_cache_get(struct dns_cache *, const char *name, uint16_t type,
	    uint64_t now_s, struct dns_answer *out);
/* Keeps OK, NODATA and NXDOMAIN answers for their ttl (clamped). */
void	dns_cache_put(struct dns_cache *, const char *name, uint16_t type,
	    uint64_t now_s, const struct dns_answer *);
size_t	dns_cache_count(const struct dns_cache *);

#define DNS_TTL_MAX	86400	/* a day, as Unbound's cache-max-ttl */
#define DNS_NEG_TTL_MAX	3600	/* RFC 2308 section 5: one to three hours */

/* dns_client.c: queries on resolverd's loop. */
struct dns_client_conf {
	struct dns_servers servers;
	uint64_t try_ms;	/* wait for one server's reply */
	unsigned attempts;	/* rounds over all servers */
	size_t	 max_outstanding;	/* queries in flight */
	size_t	 cache_entries;
	/*
	 * Ask for DNSSEC (EDNS0, DO, AD) and believe the AD bit: only for
	 * resolvers on loopback (route.c decides; see doc/DESIGN.md "DNS").
	 */
	int	 dnssec;
};
struct dns_client;
typedef void (*dns_answer_cb)(const struct dns_answer *, void *arg);
struct dns_client *dns_client_new(struct evloop *,
	    const struct dns_client_conf *);
void	dns_client_free(struct dns_client *);
/*
 * Answers name/type from the cache or the network; cb runs exactly once,
 * never before dns_query returns (also for a cached answer or an
 * immediate failure), with DNS_TEMPFAIL when no server answered in time
 * or more than max_outstanding queries wait. Identical questions in
 * flight share one query.
 */
void	dns_query(struct dns_client *, const char *name, uint16_t type,
	    dns_answer_cb cb, void *arg);
size_t	dns_client_outstanding(const struct dns_client *);

/* dns_route.c: where mail for a domain goes. */
#define DNS_HOPS_MAX	10	/* exchangers tried for one domain */
/* What DNSSEC says of one exchanger, for DANE (RFC 7672 2.2). */
enum dns_dane {
	DNS_DANE_NONE = 0,	/* insecure, or no TLSA: no DANE */
	DNS_DANE_TLSA,		/* secure, with TLSA records (tlsa[]) */
	DNS_DANE_FAIL,		/* secure, and the TLSA lookup failed */
};
struct dns_hop {
	char	 host[DNS_NAME_MAX];
	uint16_t pref;
	struct dns_addr addr;
	enum dns_dane dane;
	size_t	 ntlsa;
	struct dns_tlsa tlsa[DNS_TLSA_MAX];
};
struct dns_route {
	enum { DNS_ROUTE_OK, DNS_ROUTE_TEMP, DNS_ROUTE_PERM } status;
	char	 dsn[8];		/* "4.4.3", "5.1.10" ... */
	char	 text[DNS_TEXT_MAX];	/* why, for the log and the DSN */
	int	 implicit;		/* no MX: the domain's own address */
	size_t	 n;
	struct dns_hop hop[DNS_HOPS_MAX * 4];
};
typedef void (*dns_route_cb)(const struct dns_route *, void *arg);
struct dns_route_job;
/*
 * Resolves domain's exchangers and their addresses; cb runs once, on a
 * later loop turn, unless the job is cancelled first (a caller that goes
 * away cancels: the job lives on until its queries end, then goes).
 */
struct dns_route_job *dns_route_resolve(struct dns_client *,
	    const char *domain, int want_v4, int want_v6, dns_route_cb cb,
	    void *arg);
/*
 * The same for DANE: when the MX answer (or, without MX, the domain's
 * own) and an exchanger's address answer are secure, that exchanger's
 * TLSA records (_25._tcp.HOST) too, in hop[].dane and tlsa[].
 */
struct dns_route_job *dns_route_resolve_dane(struct dns_client *,
	    const char *domain, int want_v4, int want_v6, dns_route_cb cb,
	    void *arg);
void	dns_route_cancel(struct dns_route_job *);

#endif
