/*
 * tls_keyd.c - test tool: a TLS server whose private key stays in keyd,
 * as a Postern session process's does (libcommon/keyclient), and a
 * signature benchmark. Not installed.
 *
 * tls-keyd serve SPOOL NAME CERT
 *	Connects to keyd (<SPOOL>/private/key.sock) once, as a session
 *	process does before it drops privileges, and serves TLS on a free
 *	loopback port: prints "ready PORT", then per client "ok VERSION
 *	CIPHER" or "fail WHY" and writes "hello" to a client that got in.
 *	After a failed handshake it connects to keyd anew (the next session
 *	process would). It never reads the private key: the test reads its
 *	memory for one.
 * tls-keyd bench SPOOL NAME CERT KEYFILE COUNT
 *	COUNT signatures through keyd, then COUNT with the key read here,
 *	and prints "keyd N/s" and "inprocess N/s".
 */
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>

#include "keyclient.h"
#include "log.h"

static X509 *
read_cert(const char *path)
{
	X509	*x;
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		perror(path);
		exit(1);
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		fprintf(stderr, "%s: no certificate\n", path);
		exit(1);
	}
	return x;
}

static SSL_CTX *
make_ctx(const char *spool, const char *name, X509 *cert, int *fd)
{
	EVP_PKEY	*pk;
	SSL_CTX		*ctx;

	if ((*fd = keyclient_connect(spool)) == -1)
		return NULL;
	if ((pk = keyclient_pkey(*fd, name, cert)) == NULL) {
		close(*fd);
		return NULL;
	}
	if ((ctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_use_certificate(ctx, cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1) {
		fprintf(stderr, "context: %s\n",
		    ERR_error_string(ERR_get_error(), NULL));
		SSL_CTX_free(ctx);
		EVP_PKEY_free(pk);
		close(*fd);
		return NULL;
	}
	EVP_PKEY_free(pk);
	return ctx;
}

static int
serve(const char *spool, const char *name, const char *certpath)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	X509			*cert = read_cert(certpath);
	SSL_CTX			*ctx = NULL;
	SSL			*ssl;
	int			 lfd, c, kfd = -1, one = 1;

	if ((lfd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return 1;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(lfd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(lfd, 16) == -1 ||
	    getsockname(lfd, (struct sockaddr *)&sin, &sl) == -1) {
		perror("listen");
		return 1;
	}
	printf("ready %u\n", ntohs(sin.sin_port));
	fflush(stdout);
	for (;;) {
		if ((c = accept(lfd, NULL, NULL)) == -1)
			continue;
		if (ctx == NULL && (ctx = make_ctx(spool, name, cert, &kfd)) ==
		    NULL) {
			printf("fail no context\n");
			fflush(stdout);
			close(c);
			continue;
		}
		ssl = SSL_new(ctx);
		SSL_set_fd(ssl, c);
		if (SSL_accept(ssl) == 1) {
			printf("ok %s %s\n", SSL_get_version(ssl),
			    SSL_get_cipher_name(ssl));
			SSL_write(ssl, "hello\n", 6);
			SSL_shutdown(ssl);
		} else {
			printf("fail %s\n", ERR_error_string(ERR_get_error(),
			    NULL));
			/* Whatever broke, the next session starts afresh. */
			SSL_CTX_free(ctx);
			ctx = NULL;
			close(kfd);
			kfd = -1;
		}
		ERR_clear_error();
		fflush(stdout);
		SSL_free(ssl);
		close(c);
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double
rate(EVP_PKEY *pk, long n)
{
	unsigned char	 msg[64] = "TLS 1.3, server CertificateVerify", sig[1024];
	EVP_MD_CTX	*m;
	size_t		 len;
	double		 t0 = now();
	long		 i;

	for (i = 0; i < n; i++) {
		len = sizeof(sig);
		msg[0] = (unsigned char)i;
		if ((m = EVP_MD_CTX_new()) == NULL ||
		    EVP_DigestSignInit(m, NULL, EVP_PKEY_is_a(pk, "ED25519") ?
		    NULL : EVP_sha256(), NULL, pk) != 1 ||
		    EVP_DigestSign(m, sig, &len, msg, sizeof(msg)) != 1) {
			fprintf(stderr, "sign: %s\n",
			    ERR_error_string(ERR_get_error(), NULL));
			exit(1);
		}
		EVP_MD_CTX_free(m);
	}
	return (double)n / (now() - t0);
}

static int
bench(const char *spool, const char *name, const char *certpath,
    const char *keypath, long n)
{
	X509		*cert = read_cert(certpath);
	EVP_PKEY	*remote, *local;
	FILE		*f;
	int		 fd;

	if ((fd = keyclient_connect(spool)) == -1 ||
	    (remote = keyclient_pkey(fd, name, cert)) == NULL)
		return 1;
	printf("keyd %.0f/s\n", rate(remote, n));
	if ((f = fopen(keypath, "r")) == NULL ||
	    (local = PEM_read_PrivateKey(f, NULL, NULL, NULL)) == NULL) {
		perror(keypath);
		return 1;
	}
	fclose(f);
	printf("inprocess %.0f/s\n", rate(local, n));
	/* Freed, so that LeakSanitizer's exit check sees only real leaks. */
	EVP_PKEY_free(local);
	EVP_PKEY_free(remote);
	X509_free(cert);
	close(fd);
	return 0;
}

int
main(int argc, char *argv[])
{
	log_init("tls-keyd", LOG_DEST_STDERR);
	if (argc == 5 && strcmp(argv[1], "serve") == 0)
		return serve(argv[2], argv[3], argv[4]);
	if (argc == 7 && strcmp(argv[1], "bench") == 0)
		return bench(argv[2], argv[3], argv[4], argv[5],
		    atol(argv[6]));
	fprintf(stderr, "usage: tls-keyd serve SPOOL NAME CERT\n"
	    "       tls-keyd bench SPOOL NAME CERT KEYFILE COUNT\n");
	return 64;
}
