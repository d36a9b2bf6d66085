/*
 * tls_client.c - the client side of TLS (OpenSSL 3): STARTTLS from the
 * remote delivery agent to other mail servers, with the checks of the
 * outbound policy (tls_policy.c): none for may and encrypt, a trusted
 * chain and a name for verify, the TLSA records for dane (RFC 7672,
 * with OpenSSL's SSL_dane_* API).
 *
 * Runs in relayd: tls_client_new as root before the privilege drop and
 * chroot (it maps the CA bundle, holding no descriptor: nothing is
 * opened afterwards), the rest as relay_user on bytes from the network.
 * The bundle is parsed at the first handshake: most relayd processes
 * never make one, and parsing it in every one of them (20 by default)
 * cost half a second of CPU at each start. Mapped, its pages are the
 * page cache's, shared by all of them until then. The server is
 * trusted for nothing: its bytes reach only OpenSSL until the handshake
 * is done, every wait has a deadline (tls_handshake, shared with the
 * server side in tls.c, as the netio transport is). There is no private
 * key here: keyd is not involved.
 *
 * Verification never stops a handshake (SSL_VERIFY_NONE): the outcome
 * is read afterwards and named as Postfix names it, so that "may" logs
 * what it got, and the caller decides by level. DANE-EE(3) ignores
 * names and dates (RFC 7672 3.1.1: OpenSSL ignores dates for a DANE-EE
 * match, and DANE_FLAG_NO_DANE_EE_NAMECHECKS the names); DANE-TA(2)
 * checks the chain up to the matched trust anchor and the names: the
 * exchanger's and the next-hop domain (RFC 7672 3.2.2). PKIX-TA(0) and
 * PKIX-EE(1) records are not usable for SMTP (RFC 7672 3.1.3).
 */
#include <sys/mman.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "log.h"
#include "tls.h"
#include "tls_int.h"

struct tls_client {
	SSL_CTX	*ctx;
	void	*camap;		/* the CA bundle until parsed, then NULL */
	size_t	 calen;
	char	 ca[PATH_MAX];	/* its name, for the log */
};

/* Maps the file at path whole: 0, or -1 with errno (EINVAL: empty). */
static int
ca_map(struct tls_client *cl, const char *path)
{
	struct stat	 st;
	void		*p;
	int		 fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_size == 0) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	e = errno;
	close(fd);
	if (p == MAP_FAILED) {
		errno = e;
		return -1;
	}
	cl->camap = p;
	cl->calen = (size_t)st.st_size;
	return 0;
}

int
tls_tlsa_usable(const struct tls_tlsa *r)
{
	if (r->usage != 2 && r->usage != 3)
		return 0;
	if (r->selector > 1)
		return 0;
	return (r->mtype == 1 && r->len == 32) || (r->mtype == 2 &&
	    r->len == 64);
}

struct tls_client *
tls_client_new(const struct conf *c, char *err, size_t errlen)
{
	struct tls_client	*cl;
	const char		*ca;

	if ((cl = calloc(1, sizeof(*cl))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if ((cl->ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		tls_error(err, errlen, "SSL_CTX_new");
		goto fail;
	}
	if (tls_ctx_policy(cl->ctx, c, err, errlen) == -1)
		goto fail;
	/*
	 * A file, opened now: a CA directory (the system's default) is
	 * read at verification, which the chroot would forbid.
	 */
	ca = c->smtp_tls_CAfile[0] != '\0' ? c->smtp_tls_CAfile :
	    X509_get_default_cert_file();
	strlcpy(cl->ca, ca, sizeof(cl->ca));
	if (ca_map(cl, ca) == -1) {
		/* Only verify suffers: it will find no trusted chain. */
		if (c->smtp_tls_CAfile[0] != '\0') {
			snprintf(err, errlen, "%s: %s", ca, strerror(errno));
			goto fail;
		}
		log_warnx("no CA certificates in %s (%s): no server "
		    "certificate will be trusted (set smtp_tls_CAfile)", ca,
		    strerror(errno));
	}
	SSL_CTX_set_verify(cl->ctx, SSL_VERIFY_NONE, NULL);
	if (SSL_CTX_dane_enable(cl->ctx) <= 0) {
		tls_error(err, errlen, "SSL_CTX_dane_enable");
		goto fail;
	}
	return cl;
fail:
	tls_client_free(cl);
	return NULL;
}

void
tls_client_free(struct tls_client *cl)
{
	if (cl == NULL)
		return;
	if (cl->camap != NULL)
		munmap(cl->camap, cl->calen);
	SSL_CTX_free(cl->ctx);
	free(cl);
}

/*
 * The CA bundle into the context's store, once: its certificates and
 * CRLs, as SSL_CTX_load_verify_file takes them. Failing, only verify
 * suffers (no chain is trusted), and the log says why.
 */
static void
ca_load(struct tls_client *cl)
{
	STACK_OF(X509_INFO)	*info = NULL;
	X509_STORE		*store = SSL_CTX_get_cert_store(cl->ctx);
	BIO			*b = NULL;
	int			 i, n = 0;

	if (cl->camap == NULL)
		return;
	if (cl->calen <= INT_MAX &&
	    (b = BIO_new_mem_buf(cl->camap, (int)cl->calen)) != NULL)
		info = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	for (i = 0; info != NULL && i < sk_X509_INFO_num(info); i++) {
		X509_INFO *xi = sk_X509_INFO_value(info, i);

		if (xi->x509 != NULL && X509_STORE_add_cert(store, xi->x509))
			n++;
		if (xi->crl != NULL && X509_STORE_add_crl(store, xi->crl))
			n++;
	}
	if (n == 0)
		log_warnx("no CA certificates in %s: no server certificate "
		    "will be trusted", cl->ca);
	ERR_clear_error();
	sk_X509_INFO_pop_free(info, X509_INFO_free);
	BIO_free(b);
	munmap(cl->camap, cl->calen);
	cl->camap = NULL;
}

/* Adds a reference name: the first replaces, the others add. */
static int
add_name(SSL *ssl, const char *name, int *first)
{
	int r;

	if (name == NULL || name[0] == '\0')
		return 0;
	r = *first ? SSL_set1_host(ssl, name) : SSL_add1_host(ssl, name);
	*first = 0;
	return r == 1 ? 0 : -1;
}

/*
 * verify's names: match= (with its words), or the exchanger's. -1 when
 * none could be set: a chain checked against no name at all would pass
 * for any certificate a trusted CA ever issued.
 */
static int
verify_names(SSL *ssl, const struct tls_client_req *req)
{
	char	 buf[TLS_MATCH_MAX], *p, *name;
	int	 first = 1;

	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (req->match == NULL || req->match[0] == '\0') {
		if (add_name(ssl, req->host, &first) == -1)
			return -1;
		return first ? -1 : 0;
	}
	if (strlcpy(buf, req->match, sizeof(buf)) >= sizeof(buf))
		return -1;
	for (p = buf; (name = strsep(&p, ":")) != NULL; ) {
		if (strcmp(name, "hostname") == 0)
			name = (char *)req->host;
		else if (strcmp(name, "nexthop") == 0)
			name = (char *)req->nexthop;
		if (add_name(ssl, name, &first) == -1)
			return -1;
	}
	return first ? -1 : 0;
}

/* DANE's records on ssl: how many OpenSSL took (0: none usable). */
static int
dane_records(SSL *ssl, const struct tls_client_req *req, char *err,
    size_t errlen)
{
	size_t	i;
	int	n = 0;

	if (SSL_dane_enable(ssl, req->host) <= 0) {
		tls_error(err, errlen, "SSL_dane_enable");
		return -1;
	}
	(void)SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	if (req->nexthop != NULL && req->nexthop[0] != '\0' &&
	    strcasecmp(req->nexthop, req->host) != 0 &&
	    SSL_add1_host(ssl, req->nexthop) != 1) {
		tls_error(err, errlen, "SSL_add1_host");
		return -1;
	}
	for (i = 0; i < req->ntlsa; i++) {
		const struct tls_tlsa *r = &req->tlsa[i];

		if (!tls_tlsa_usable(r))
			continue;
		if (SSL_dane_tlsa_add(ssl, r->usage, r->selector, r->mtype,
		    r->data, r->len) > 0)
			n++;
		ERR_clear_error();
	}
	return n;
}

int
tls_client_start(struct tls_client *cl, struct netio *io,
    const struct tls_client_req *req, time_t timeout, struct tls_peer *peer,
    char *err, size_t errlen)
{
	SSL		*ssl;
	X509		*cert;
	long		 v;
	size_t		 discarded;
	int		 dane = 0, named = 0;

	memset(peer, 0, sizeof(*peer));
	peer->trust = "Anonymous";
	ca_load(cl);
	if ((ssl = SSL_new(cl->ctx)) == NULL) {
		tls_error(err, errlen, "SSL_new");
		return -1;
	}
	if (req->level == TLS_LEVEL_DANE) {
		if ((dane = dane_records(ssl, req, err, errlen)) == -1) {
			SSL_free(ssl);
			return -1;
		}
		/* RFC 7672 2.2: records, none usable: TLS, unauthenticated. */
	}
	if (dane == 0 && SSL_set_tlsext_host_name(ssl, req->host) != 1) {
		tls_error(err, errlen, "SNI");
		SSL_free(ssl);
		return -1;
	}
	if (req->level == TLS_LEVEL_VERIFY) {
		if (verify_names(ssl, req) == -1) {
			tls_error(err, errlen, "match= names");
			SSL_free(ssl);
			return -1;
		}
		named = 1;
	}
	if (tls_attach(io, ssl, &discarded, err, errlen) == -1)
		return -1;
	if (tls_handshake(io, 1, timeout, err, errlen) == -1)
		return -1;
	(void)tls_session_info(io, &peer->info);
	if ((cert = SSL_get0_peer_certificate(ssl)) == NULL) {
		snprintf(peer->why, sizeof(peer->why), "no server certificate");
	} else if ((v = SSL_get_verify_result(ssl)) == X509_V_OK) {
		peer->trust = dane > 0 || named ? "Verified" : "Trusted";
	} else {
		peer->trust = "Untrusted";
		snprintf(peer->why, sizeof(peer->why), "%s",
		    X509_verify_cert_error_string(v));
	}
	if ((req->level == TLS_LEVEL_VERIFY || dane > 0) &&
	    strcmp(peer->trust, "Verified") != 0) {
		snprintf(err, errlen, "Server certificate not verified (%s)",
		    peer->why[0] != '\0' ? peer->why : "no match");
		return -2;
	}
	return 0;
}
