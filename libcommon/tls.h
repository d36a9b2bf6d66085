/*
 * tls.h - TLS for the protocol daemons (OpenSSL 3): the server side of
 * STARTTLS/STLS and implicit TLS, the contexts built from postern.conf
 * (certificate chain and key per listener, one more per SNI name), the
 * session-ticket keys that every session process shares, and the
 * transport that netio switches to. TLS 1.2 and 1.3 only.
 *
 * tls_conf.c: the pure parts (the SNI map, tls_protocols), no OpenSSL.
 * tls.c: the contexts, the handshake, the netio transport.
 * tls_ticket.c: the ticket key file (master rotates it, sessions read it).
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "conf.h"
#include "netio.h"

/* ---- tls_conf.c: configuration that needs no OpenSSL ---- */

/* Versions as TLS numbers them (0x0303 is TLS 1.2, 0x0304 TLS 1.3). */
#define TLS_V12		0x0303
#define TLS_V13		0x0304

/*
 * tls_protocols: a list of "TLSv1.2", "TLSv1.3" (or ">=TLSv1.2"); the
 * range they span in *minv, *maxv. Older versions are refused by name
 * (they are broken, RFC 8996). 0, or -1 with err.
 */
int	tls_protocols_parse(const struct conf_list *, int *minv, int *maxv,
	    char *err, size_t errlen);

/*
 * The SNI map (tls_sni_map): one "name cert_file key_file" a line,
 * blank lines and "#" comments skipped. name is a host name, or
 * "*.domain" for any one label below domain. Bounded: at most
 * TLS_SNI_MAX entries (each is a certificate every session process
 * loads), paths absolute and under CONF_PATH_MAX.
 */
#define TLS_SNI_MAX	1000
#define TLS_SNI_FILE_MAX	(1024 * 1024)

struct tls_sni_entry {
	char	name[256];		/* lower case */
	char	cert[CONF_PATH_MAX];
	char	key[CONF_PATH_MAX];
};

struct tls_sni_list {
	struct tls_sni_entry	*v;
	size_t			 n;
};

/* Parses text (what a file holds); name is for messages. */
int	tls_sni_parse(const char *name, const char *text, size_t len,
	    struct tls_sni_list *, char *err, size_t errlen);
/* Reads and parses path. 0, or -1 with err ("path:line: what"). */
int	tls_sni_load(const char *path, struct tls_sni_list *, char *err,
	    size_t errlen);
void	tls_sni_free(struct tls_sni_list *);
/* The entry for a client's server name (exact first, then wildcard). */
const struct tls_sni_entry *tls_sni_find(const struct tls_sni_list *,
	    const char *servername);

/* ---- tls_policy.c: the outbound policy (pure, no OpenSSL) ---- */

/*
 * smtp_tls_security_level and the policy map's levels, Postfix's: none
 * (plaintext), may (STARTTLS when offered, else plaintext), encrypt
 * (TLS or defer), dane (RFC 7672 where DNSSEC says so, else may),
 * verify (TLS with a certificate that a trusted CA issued for a name
 * of match=, else defer).
 */
enum tls_level {
	TLS_LEVEL_NONE = 0,
	TLS_LEVEL_MAY,
	TLS_LEVEL_ENCRYPT,
	TLS_LEVEL_DANE,
	TLS_LEVEL_VERIFY,
};

int	tls_level_parse(const char *, enum tls_level *);
const char *tls_level_name(enum tls_level);

/*
 * smtp_tls_policy_map: "domain level [match=name1:name2]" a line,
 * blank lines and "#" comments skipped; ".domain" for every name below
 * domain. match= (verify, dane) names the certificate's acceptable
 * names, or the words "hostname" (the exchanger's name, the default)
 * and "nexthop" (the domain).
 */
#define TLS_POLICY_MAX		10000
#define TLS_POLICY_FILE_MAX	(2 * 1024 * 1024)
#define TLS_MATCH_MAX		512	/* match='s bytes */
#define TLS_MATCH_NAMES		16	/* match='s names */

struct tls_policy_entry {
	char		domain[256];	/* lower case; ".x.y": below x.y */
	enum tls_level	level;
	char		match[TLS_MATCH_MAX];	/* "" : the default */
	int		line;
};

struct tls_policy {
	struct tls_policy_entry	*v;	/* sorted by domain */
	size_t			 n;
};

int	tls_policy_parse(const char *name, const char *text, size_t len,
	    struct tls_policy *, char *err, size_t errlen);
int	tls_policy_load(const char *path, struct tls_policy *, char *err,
	    size_t errlen);
void	tls_policy_free(struct tls_policy *);
/* The entry for a next-hop domain: itself, else its nearest ".parent". */
const struct tls_policy_entry *tls_policy_find(const struct tls_policy *,
	    const char *domain);

/* ---- tls_ticket.c: the session-ticket keys ---- */

/*
 * Every session process encrypts new tickets with the newest key and
 * takes tickets made with either key, so a ticket stays good for one
 * to two rotation periods. master rotates the file (spool private/,
 * root only; the sessions read it before they drop privileges).
 */
#define TLS_TICKET_KEYS		2
#define TLS_TICKET_FILE		"private/tls_ticket_keys"

struct tls_ticket_key {
	unsigned char	name[16];
	unsigned char	aes[32];
	unsigned char	hmac[32];
};

/*
 * A new newest key in path, the former newest kept as the older one,
 * written atomically (mode 0600). 0, or -1 with err.
 */
int	tls_ticket_rotate(const char *path, char *err, size_t errlen);
/* The keys in path, newest first: how many (1..TLS_TICKET_KEYS), or -1. */
int	tls_ticket_read(const char *path, struct tls_ticket_key *keys,
	    char *err, size_t errlen);

/* ---- tls.c: contexts and sessions ---- */

struct tls_server;

/* Whether the config names a certificate: TLS is offered at all. */
int	tls_server_configured(const struct conf *);
/*
 * The server's contexts: tls_cert_file (the chain) with its key, and
 * each SNI map entry; protocols, ciphers, groups and tickets from conf.
 * ticketpath: the ticket key file, NULL for none (no resumption). Runs
 * before the caller drops privileges: it reads the certificates and
 * connects to keyd (<spool>/private/key.sock), which signs for the keys
 * (libcommon/keyclient.h): the process never holds a private key. NULL,
 * with err, when anything is wrong: then TLS is not available.
 */
struct tls_server *tls_server_new(const struct conf *, const char *ticketpath,
	    char *err, size_t errlen);
void	tls_server_free(struct tls_server *);
/*
 * In a process forked from the one that made srv (a session template's
 * child): a connection to keyd of its own in place of the inherited one,
 * since a signature is a request and its answer and two processes on one
 * socket would read each other's. Before any chroot. 0, or -1 (logged).
 */
int	tls_server_after_fork(struct tls_server *, const struct conf *);
/*
 * One handshake of srv with itself, in memory (one signature from keyd):
 * OpenSSL fetches and caches what a handshake uses on first use, writing
 * its caches and locks. Done once in a session template, the sessions
 * it forks find them filled and copy fewer of its pages (each copy is a
 * page fault). 0, or -1 (nothing lost: the sessions fetch themselves).
 */
int	tls_server_warm(struct tls_server *);

/*
 * Starts TLS on io as the server: flushes what io has buffered for the
 * client (the "go ahead" reply), DISCARDS whatever the client sent
 * after the command that asked for TLS (netio_starttls), then does the
 * handshake within timeout seconds. From then on io reads and writes
 * through TLS. 0, or -1 with err (the caller ends the session: nothing
 * more may be said in plaintext). *discarded: the dropped bytes' count.
 */
int	tls_server_start(struct tls_server *, struct netio *, time_t timeout,
	    size_t *discarded, char *err, size_t errlen);

/* What a session negotiated, for log lines and the Received header. */
struct tls_info {
	char	version[16];	/* "TLSv1.3" */
	char	cipher[64];	/* "TLS_AES_256_GCM_SHA384" */
	int	bits;		/* secret bits */
	int	alg_bits;	/* the algorithm's */
	int	resumed;	/* a ticket was taken */
	char	servername[256];	/* SNI, "" if none */
};

/* 0, or -1 when io is not a TLS session. */
int	tls_session_info(const struct netio *, struct tls_info *);
/*
 * Ends the TLS layer of io: a close_notify if it can go at once, the
 * session freed (its buffers wiped by OpenSSL). io is plain again.
 */
void	tls_session_end(struct netio *);

/*
 * Checks what tls_server_new would load (for postern check, master's
 * start and reload): 0, or -1 with err.
 */
int	tls_conf_check(const struct conf *, char *err, size_t errlen);

/* ---- tls_client.c: the client side (relayd's STARTTLS) ---- */

/*
 * A TLSA record (RFC 6698) as DANE uses it: usage, selector, matching
 * type and the association data. Only digests are carried (SHA-256,
 * SHA-512: at most 64 bytes); a full certificate (matching type 0) is
 * a record present but not usable here.
 */
#define TLS_TLSA_MAX		8	/* records of one host kept */
#define TLS_TLSA_DATA_MAX	64

struct tls_tlsa {
	uint8_t	usage;		/* 2 DANE-TA, 3 DANE-EE; others unused */
	uint8_t	selector;	/* 0 the certificate, 1 its key */
	uint8_t	mtype;		/* 1 SHA-256, 2 SHA-512 */
	uint8_t	len;
	uint8_t	data[TLS_TLSA_DATA_MAX];
};

/* Whether DANE can use r (RFC 7672 3.1: DANE-TA or DANE-EE, a digest). */
int	tls_tlsa_usable(const struct tls_tlsa *r);

struct tls_client;

/*
 * The client context: the policy of tls_ctx_policy, the CA certificates
 * of smtp_tls_CAfile (or the system's bundle) read now, whole, since
 * the caller is about to chroot; DANE enabled. NULL with err when it
 * cannot be made (then no TLS: "may" sends in plaintext, the others
 * defer).
 */
struct tls_client *tls_client_new(const struct conf *, char *err,
	    size_t errlen);
void	tls_client_free(struct tls_client *);

/* What one connection asks of TLS. */
struct tls_client_req {
	enum tls_level	 level;	/* MAY, ENCRYPT, DANE, VERIFY */
	const char	*host;	/* exchanger: SNI, "hostname", DANE base */
	const char	*nexthop;	/* the domain: "nexthop" */
	const char	*match;	/* verify's "a:b"; "": "hostname" */
	const struct tls_tlsa *tlsa;	/* DANE's records */
	size_t		 ntlsa;
};

/* What it got. */
struct tls_peer {
	struct tls_info	 info;
	/* Postfix's words: "Verified", "Trusted", "Untrusted", "Anonymous" */
	const char	*trust;
	char		 why[256];	/* not Verified or Trusted: why */
};

/*
 * STARTTLS's handshake as the client, on io (after the server's 220):
 * what the server sent after its 220 is discarded (netio_starttls),
 * then the handshake within timeout seconds. 0: io speaks TLS and the
 * peer passed the level's check (verify: a trusted chain for one of the
 * names; dane with a usable record: a TLSA match, RFC 7672). -1: the
 * handshake failed (err). -2: TLS is up but the level's check failed
 * (err says why): the caller must not send mail over it. After -1 and
 * -2, tls_session_end(io) before anything else.
 */
int	tls_client_start(struct tls_client *, struct netio *,
	    const struct tls_client_req *, time_t timeout, struct tls_peer *,
	    char *err, size_t errlen);

#endif
