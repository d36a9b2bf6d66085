/*
 * tls_int.h - what the server side (tls.c) and the client side
 * (tls_client.c) of the TLS module share, with OpenSSL's types: the
 * policy of every context, the netio transport, the handshake loop.
 * Only libcommon/tls*.c include it; everyone else has tls.h.
 */
#ifndef POSTERN_TLS_INT_H
#define POSTERN_TLS_INT_H

#include <stddef.h>
#include <time.h>

#include <openssl/ssl.h>

#include "conf.h"
#include "netio.h"

/* The last OpenSSL error, in words, after what; the error queue cleared. */
void	tls_error(char *err, size_t errlen, const char *what);
/* Versions, ciphers, groups and options from conf, as tls.c says. */
int	tls_ctx_policy(SSL_CTX *, const struct conf *, char *err,
	    size_t errlen);
/* ssl becomes io's transport (unread plaintext discarded); ssl freed on -1. */
int	tls_attach(struct netio *, SSL *, size_t *discarded, char *err,
	    size_t errlen);
/* SSL_connect (client) or SSL_accept within timeout seconds: 0 or -1. */
int	tls_handshake(struct netio *, int client, time_t timeout, char *err,
	    size_t errlen);

#endif
