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

#endif
