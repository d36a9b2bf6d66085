/*
 * tls.c - the server side of TLS (OpenSSL 3) for the protocol daemons:
 * the contexts built from postern.conf, the handshake, and the netio
 * transport that reads and writes through TLS once netio_starttls has
 * switched to it.
 *
 * Runs in the session processes of smtpd (and the login processes of
 * pop3d): tls_server_new before they drop privileges (it reads the
 * certificate files, the key, the ticket keys), everything else after,
 * unprivileged and chrooted, on bytes from the network. The files are
 * the administrator's and trusted; the client is trusted for nothing:
 * its bytes reach only OpenSSL until the handshake is done, every wait
 * has a deadline, and a failed handshake ends the session (nothing more
 * is said in plaintext).
 *
 * Policy, the same everywhere: TLS 1.2 and 1.3 only (tls_protocols can
 * narrow it), Mozilla's "intermediate" ciphers and groups unless
 * tls_ciphers, tls_ciphersuites, tls_groups say otherwise, no
 * renegotiation, no compression. Resumption by session tickets only
 * (a process serves one session, so a server-side cache would be
 * useless), sealed with the keys of tls_ticket.c that every process
 * shares. SNI picks among the certificates of tls_sni_map; a name not
 * in it, or none, gets tls_cert_file's.
 *
 * The private key: tls_server_key is the one place that obtains it. A
 * session's contexts get keys whose signatures keyd makes
 * (keyclient_pkey over one connection to keyd, made before the caller
 * drops privileges): no TLS session process ever holds a private key.
 * Only tls_conf_check (master, postern check: they parse nothing from
 * the network) reads key files itself, to refuse a key that does not
 * match its certificate before anything starts with it.
 */
#include <sys/socket.h>

#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "deadline.h"
#include "keyclient.h"
#include "log.h"
#include "sock.h"
#include "tls.h"
#include "tls_int.h"

/* Mozilla's "intermediate" configuration, version 5.7, for TLS 1.2. */
#define TLS_INTERMEDIATE_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:" \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:" \
	"DHE-RSA-CHACHA20-POLY1305"
/* ... and for TLS 1.3 (OpenSSL's own default, spelled out). */
#define TLS_INTERMEDIATE_SUITES \
	"TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:" \
	"TLS_CHACHA20_POLY1305_SHA256"

struct tls_server {
	SSL_CTX			*ctx;		/* tls_cert_file's */
	struct tls_sni_list	 sni;
	SSL_CTX			**sni_ctx;	/* one per sni entry */
	struct tls_ticket_key	 keys[TLS_TICKET_KEYS];
	int			 nkeys;		/* 0: no tickets */
	int			 keyfd;		/* keyd; -1: read the files */
};

/* The last OpenSSL error, in words, for a log line. */
void
tls_error(char *err, size_t errlen, const char *what)
{
	unsigned long	e = ERR_get_error();
	char		buf[256];

	if (e == 0) {
		snprintf(err, errlen, "%s", what);
		return;
	}
	ERR_error_string_n(e, buf, sizeof(buf));
	snprintf(err, errlen, "%s: %s", what, buf);
	ERR_clear_error();
}

/*
 * The policy every context shares, server and client: the versions of
 * tls_protocols (never below TLS 1.2), the ciphers and groups of
 * tls_ciphers, tls_ciphersuites, tls_groups (Mozilla's intermediate
 * unless set), no renegotiation, no compression. 0, or -1 with err.
 */
int
tls_ctx_policy(SSL_CTX *ctx, const struct conf *c, char *err, size_t errlen)
{
	int minv, maxv;

	if (tls_protocols_parse(&c->tls_protocols, &minv, &maxv, err,
	    errlen) == -1)
		return -1;
	if (SSL_CTX_set_min_proto_version(ctx, minv) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, maxv) != 1) {
		tls_error(err, errlen, "tls_protocols");
		return -1;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION |
	    SSL_OP_NO_COMPRESSION | SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* netio's output buffer may move between two tries of one write. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
	    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (SSL_CTX_set_cipher_list(ctx, c->tls_ciphers[0] != '\0' ?
	    c->tls_ciphers : TLS_INTERMEDIATE_CIPHERS) != 1) {
		tls_error(err, errlen, "tls_ciphers");
		return -1;
	}
	if (SSL_CTX_set_ciphersuites(ctx, c->tls_ciphersuites[0] != '\0' ?
	    c->tls_ciphersuites : TLS_INTERMEDIATE_SUITES) != 1) {
		tls_error(err, errlen, "tls_ciphersuites");
		return -1;
	}
	if (c->tls_groups[0] != '\0' &&
	    SSL_CTX_set1_groups_list(ctx, c->tls_groups) != 1) {
		tls_error(err, errlen, "tls_groups");
		return -1;
	}
	return 0;
}

static EVP_PKEY *
key_from_file(const char *path, char *err, size_t errlen)
{
	EVP_PKEY	*pk;
	BIO		*b;

	if ((b = BIO_new_file(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		ERR_clear_error();
		return NULL;
	}
	pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (pk == NULL)
		tls_error(err, errlen, path);
	return pk;
}

/*
 * THE place where a server context gets its private key: from keyd (a
 * key that holds only cert's public half and asks keyd for every
 * signature), or, for tls_conf_check alone, from the file.
 */
static EVP_PKEY *
tls_server_key(struct tls_server *srv, const char *keyfile, X509 *cert,
    char *err, size_t errlen)
{
	EVP_PKEY *pk;

	if (srv->keyfd == -1)
		return key_from_file(keyfile, err, errlen);
	if ((pk = keyclient_pkey(srv->keyfd, keyfile, cert)) == NULL)
		snprintf(err, errlen, "%s: keyd has no such key (see keyd's "
		    "log)", keyfile);
	return pk;
}

/*
 * Seals (enc) or opens a ticket with the shared keys. Returns 1 (done),
 * 2 (opened with the older key: issue a new ticket), 0 (an unknown
 * key: a full handshake), -1 (failure).
 */
static int
ticket_cb(SSL *ssl, unsigned char name[16], unsigned char iv[16],
    EVP_CIPHER_CTX *cctx, EVP_MAC_CTX *hctx, int enc)
{
	struct tls_server	*srv = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	const struct tls_ticket_key *k = NULL;
	OSSL_PARAM		 params[3];
	int			 i;

	if (srv == NULL || srv->nkeys == 0)
		return enc ? -1 : 0;
	if (enc) {
		k = &srv->keys[0];
		memcpy(name, k->name, sizeof(k->name));
		if (RAND_bytes(iv, 16) != 1)
			return -1;
		i = 0;
	} else {
		for (i = 0; i < srv->nkeys; i++)
			if (memcmp(name, srv->keys[i].name, 16) == 0) {
				k = &srv->keys[i];
				break;
			}
		if (k == NULL)
			return 0;
	}
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY,
	    (void *)k->hmac, sizeof(k->hmac));
	params[1] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
	    (char *)"SHA256", 0);
	params[2] = OSSL_PARAM_construct_end();
	if (EVP_MAC_CTX_set_params(hctx, params) != 1)
		return -1;
	if (enc) {
		if (EVP_EncryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes,
		    iv) != 1)
			return -1;
		return 1;
	}
	if (EVP_DecryptInit_ex(cctx, EVP_aes_256_cbc(), NULL, k->aes, iv) != 1)
		return -1;
	return i == 0 ? 1 : 2;
}

/* The client named a server: its certificate, if the map has one. */
static int
sni_cb(SSL *ssl, int *alert, void *arg)
{
	struct tls_server		*srv = arg;
	const struct tls_sni_entry	*e;
	const char			*name;

	(void)alert;
	name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	if (name == NULL || srv->sni.n == 0)
		return SSL_TLSEXT_ERR_NOACK;
	if ((e = tls_sni_find(&srv->sni, name)) == NULL)
		return SSL_TLSEXT_ERR_OK;	/* the default certificate */
	SSL_set_SSL_CTX(ssl, srv->sni_ctx[e - srv->sni.v]);
	return SSL_TLSEXT_ERR_OK;
}

/* One context: policy from conf, a chain and its key. */
static SSL_CTX *
ctx_new(struct tls_server *srv, const struct conf *c, const char *cert,
    const char *keyfile, char *err, size_t errlen)
{
	SSL_CTX		*ctx;
	EVP_PKEY	*pk;
	static const unsigned char sid[] = "postern";

	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL) {
		tls_error(err, errlen, "SSL_CTX_new");
		return NULL;
	}
	SSL_CTX_set_app_data(ctx, srv);
	if (tls_ctx_policy(ctx, c, err, errlen) == -1)
		goto fail;
	/* DHE ciphers (intermediate lists them) with RFC 7919's groups. */
	SSL_CTX_set_dh_auto(ctx, 1);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		tls_error(err, errlen, cert);
		goto fail;
	}
	if ((pk = tls_server_key(srv, keyfile, SSL_CTX_get0_certificate(ctx),
	    err, errlen)) == NULL)
		goto fail;
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), pk) != 1) {
		EVP_PKEY_free(pk);
		snprintf(err, errlen, "%s does not belong to %s", keyfile,
		    cert);
		ERR_clear_error();
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		EVP_PKEY_free(pk);
		tls_error(err, errlen, keyfile);
		goto fail;
	}
	EVP_PKEY_free(pk);
	/* Tickets only: one process serves one session, a cache is no use. */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER |
	    SSL_SESS_CACHE_NO_INTERNAL);
	SSL_CTX_set_session_id_context(ctx, sid, sizeof(sid) - 1);
	if (srv->nkeys > 0) {
		SSL_CTX_set_timeout(ctx, (long)c->tls_ticket_lifetime);
		SSL_CTX_set_num_tickets(ctx, 1);
		SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	} else {
		SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
		SSL_CTX_set_num_tickets(ctx, 0);
	}
	return ctx;
fail:
	SSL_CTX_free(ctx);
	return NULL;
}

int
tls_server_configured(const struct conf *c)
{
	return c->tls_cert_file[0] != '\0';
}

void
tls_server_free(struct tls_server *srv)
{
	size_t i;

	if (srv == NULL)
		return;
	for (i = 0; i < srv->sni.n && srv->sni_ctx != NULL; i++)
		SSL_CTX_free(srv->sni_ctx[i]);
	free(srv->sni_ctx);
	tls_sni_free(&srv->sni);
	SSL_CTX_free(srv->ctx);
	/* After the contexts: their keys use the connection to the end. */
	if (srv->keyfd != -1)
		close(srv->keyfd);
	explicit_bzero(srv->keys, sizeof(srv->keys));
	free(srv);
}

static struct tls_server *
server_new(const struct conf *c, const char *ticketpath, int use_keyd,
    char *err, size_t errlen);

struct tls_server *
tls_server_new(const struct conf *c, const char *ticketpath, char *err,
    size_t errlen)
{
	return server_new(c, ticketpath, 1, err, errlen);
}

static struct tls_server *
server_new(const struct conf *c, const char *ticketpath, int use_keyd,
    char *err, size_t errlen)
{
	struct tls_server	*srv;
	char			 why[512];
	size_t			 i;
	int			 n;

	if (!tls_server_configured(c)) {
		snprintf(err, errlen, "no tls_cert_file");
		return NULL;
	}
	if (c->tls_key_file[0] == '\0') {
		snprintf(err, errlen, "tls_cert_file without tls_key_file");
		return NULL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->keyfd = -1;
	if (use_keyd &&
	    (srv->keyfd = keyclient_connect(c->spool_directory)) == -1) {
		snprintf(err, errlen, "cannot reach keyd (%s/private/%s)",
		    c->spool_directory, KEYCLIENT_SOCKET);
		free(srv);
		return NULL;
	}
	/* Without the ticket keys TLS works, only without resumption. */
	if (ticketpath != NULL && c->tls_ticket_lifetime > 0) {
		if ((n = tls_ticket_read(ticketpath, srv->keys, why,
		    sizeof(why))) > 0)
			srv->nkeys = n;
	}
	if ((srv->ctx = ctx_new(srv, c, c->tls_cert_file, c->tls_key_file,
	    err, errlen)) == NULL)
		goto fail;
	if (c->tls_sni_map[0] != '\0') {
		if (tls_sni_load(c->tls_sni_map, &srv->sni, err, errlen) == -1)
			goto fail;
		if (srv->sni.n > 0 && (srv->sni_ctx = calloc(srv->sni.n,
		    sizeof(*srv->sni_ctx))) == NULL) {
			snprintf(err, errlen, "out of memory");
			goto fail;
		}
		for (i = 0; i < srv->sni.n; i++)
			if ((srv->sni_ctx[i] = ctx_new(srv, c,
			    srv->sni.v[i].cert, srv->sni.v[i].key, err,
			    errlen)) == NULL)
				goto fail;
		SSL_CTX_set_tlsext_servername_callback(srv->ctx, sni_cb);
		SSL_CTX_set_tlsext_servername_arg(srv->ctx, srv);
	}
	return srv;
fail:
	tls_server_free(srv);
	return NULL;
}

/* ---- the transport ---- */

/* An SSL call that did not complete, as netio's transports report it. */
static ssize_t
tls_io_fail(struct netio *io, SSL *ssl, int r, int reading)
{
	switch (SSL_get_error(ssl, r)) {
	case SSL_ERROR_WANT_READ:
		io->want = POLLIN;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		io->want = POLLOUT;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return 0;
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		if (errno == 0)
			errno = EPIPE;
		ERR_clear_error();
		return -1;
	default:
		ERR_clear_error();
		errno = EPROTO;
		return -1;
	}
}

static ssize_t
tls_read(struct netio *io, void *p, size_t n)
{
	size_t	got;
	int	r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_read_ex(io->ctx, p, n, &got)) == 1)
		return (ssize_t)got;
	return tls_io_fail(io, io->ctx, r, 1);
}

static ssize_t
tls_write(struct netio *io, const void *p, size_t n)
{
	size_t	put;
	int	r;

	ERR_clear_error();
	errno = 0;
	if ((r = SSL_write_ex(io->ctx, p, n, &put)) == 1)
		return (ssize_t)put;
	return tls_io_fail(io, io->ctx, r, 0);
}

static size_t
tls_pending(struct netio *io)
{
	return (size_t)SSL_pending(io->ctx);
}

/*
 * Puts ssl under io as its transport: from here on nothing the peer
 * sent in plaintext is read (netio_starttls discards and wipes it).
 * On failure ssl is freed. 0, or -1 with err.
 */
int
tls_attach(struct netio *io, SSL *ssl, size_t *discarded, char *err,
    size_t errlen)
{
	ssize_t	dropped;

	*discarded = 0;
	if (SSL_set_fd(ssl, io->fd) != 1 ||
	    sock_set_nonblock(io->fd, 1) == -1) {
		tls_error(err, errlen, "SSL_set_fd");
		SSL_free(ssl);
		return -1;
	}
	if ((dropped = netio_starttls(io, tls_read, tls_write, tls_pending,
	    ssl)) == -1) {
		snprintf(err, errlen, "lost connection");
		SSL_free(ssl);
		return -1;
	}
	*discarded = (size_t)dropped;
	/* No Nagle: netio_init turned it off on the socket already. */
	return 0;
}

/*
 * The handshake of the ssl that tls_attach put under io, as the client
 * (SSL_connect) or the server (SSL_accept), within timeout seconds. 0,
 * or -1 with err; either way the session stays io's until
 * tls_session_end.
 */
int
tls_handshake(struct netio *io, int client, time_t timeout, char *err,
    size_t errlen)
{
	SSL		*ssl = io->ctx;
	uint64_t	 deadline;
	int		 r, e;

	deadline = deadline_in_ms((uint64_t)timeout * 1000);
	for (;;) {
		ERR_clear_error();
		errno = 0;
		if ((r = client ? SSL_connect(ssl) : SSL_accept(ssl)) == 1)
			return 0;
		e = SSL_get_error(ssl, r);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			r = deadline_poll(io->fd, e == SSL_ERROR_WANT_READ ?
			    POLLIN : POLLOUT, deadline);
			if (r == 0)
				continue;
			snprintf(err, errlen, r == -2 ? "timeout" : "poll: %s",
			    strerror(errno));
			return -1;
		}
		if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN) {
			if (ERR_peek_error() != 0)
				tls_error(err, errlen, "handshake failed");
			else
				snprintf(err, errlen, "lost connection");
			return -1;
		}
		tls_error(err, errlen, "handshake failed");
		return -1;
	}
}

int
tls_server_start(struct tls_server *srv, struct netio *io, time_t timeout,
    size_t *discarded, char *err, size_t errlen)
{
	SSL *ssl;

	*discarded = 0;
	if ((ssl = SSL_new(srv->ctx)) == NULL) {
		tls_error(err, errlen, "SSL_new");
		return -1;
	}
	/* From here on nothing the client sent in plaintext is read. */
	if (tls_attach(io, ssl, discarded, err, errlen) == -1)
		return -1;
	return tls_handshake(io, 0, timeout, err, errlen);
}

static SSL *
io_ssl(const struct netio *io)
{
	return io->secure && io->read == tls_read ? io->ctx : NULL;
}

int
tls_session_info(const struct netio *io, struct tls_info *ti)
{
	SSL		*ssl = io_ssl(io);
	const SSL_CIPHER *c;
	const char	*name;

	memset(ti, 0, sizeof(*ti));
	if (ssl == NULL)
		return -1;
	strlcpy(ti->version, SSL_get_version(ssl), sizeof(ti->version));
	if ((c = SSL_get_current_cipher(ssl)) != NULL) {
		strlcpy(ti->cipher, SSL_CIPHER_get_name(c), sizeof(ti->cipher));
		ti->bits = SSL_CIPHER_get_bits(c, &ti->alg_bits);
	}
	ti->resumed = SSL_session_reused(ssl);
	if ((name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name)) !=
	    NULL)
		strlcpy(ti->servername, name, sizeof(ti->servername));
	return 0;
}

void
tls_session_end(struct netio *io)
{
	SSL *ssl = io_ssl(io);

	if (ssl == NULL)
		return;
	/* One try, never a wait: the client may be gone already. */
	if (SSL_is_init_finished(ssl) && !io->broken) {
		ERR_clear_error();
		(void)SSL_shutdown(ssl);
	}
	ERR_clear_error();
	SSL_free(ssl);
	netio_plain(io);
}

/*
 * What a start needs: the keys named, readable and matching their
 * certificates, the map well-formed. The keys are read here (master,
 * postern check: neither parses a byte from the network).
 */
int
tls_conf_check(const struct conf *c, char *err, size_t errlen)
{
	struct tls_server	*srv;
	int			 minv, maxv;

	if (tls_protocols_parse(&c->tls_protocols, &minv, &maxv, err,
	    errlen) == -1)
		return -1;
	if (!tls_server_configured(c)) {
		if (c->tls_key_file[0] != '\0' || c->tls_sni_map[0] != '\0') {
			snprintf(err, errlen, "tls_key_file or tls_sni_map "
			    "without tls_cert_file");
			return -1;
		}
		return 0;
	}
	if (strcmp(c->tls_cert_file, c->tls_key_file) == 0) {
		snprintf(err, errlen, "tls_key_file must be a file of its own "
		    "(the session processes read tls_cert_file)");
		return -1;
	}
	if ((srv = server_new(c, NULL, 0, err, errlen)) == NULL)
		return -1;
	tls_server_free(srv);
	return 0;
}

int
tls_server_after_fork(struct tls_server *srv, const struct conf *c)
{
	int	fd;

	if (srv == NULL || srv->keyfd == -1)
		return 0;
	if ((fd = keyclient_connect(c->spool_directory)) == -1)
		return -1;
	/* In place: every key made with the old descriptor uses the new. */
	if (dup3(fd, srv->keyfd, O_CLOEXEC) == -1) {
		log_warn("dup3");
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* A handshake step that must be tried again: the other side's turn. */
static int
warm_pending(SSL *ssl, int r)
{
	int	e;

	if (r == 1)
		return 0;
	e = SSL_get_error(ssl, r);
	return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

int
tls_server_warm(struct tls_server *srv)
{
	SSL_CTX	*cctx = NULL;
	SSL	*c = NULL, *s = NULL;
	BIO	*bc = NULL, *bs = NULL;
	int	 i, cr, sr, rc = -1;

	if (srv == NULL)
		return 0;
	if ((cctx = SSL_CTX_new(TLS_client_method())) == NULL ||
	    (c = SSL_new(cctx)) == NULL || (s = SSL_new(srv->ctx)) == NULL ||
	    BIO_new_bio_pair(&bc, 0, &bs, 0) != 1)
		goto out;
	SSL_set_bio(c, bc, bc);
	SSL_set_bio(s, bs, bs);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	/* A few flights each way; the bound is only against a loop. */
	for (i = 0; i < 16; i++) {
		cr = SSL_do_handshake(c);
		sr = SSL_do_handshake(s);
		if (cr == 1 && sr == 1) {
			rc = 0;
			break;
		}
		if (warm_pending(c, cr) == -1 || warm_pending(s, sr) == -1)
			break;
	}
out:
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	ERR_clear_error();
	return rc;
}
