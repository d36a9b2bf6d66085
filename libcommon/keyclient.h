/*
 * keyclient.h - the client side of keyd, the private-key process: an
 * EVP_PKEY that holds only a certificate's public key and sends every
 * private-key operation (a signature) to keyd over a socket.
 *
 * Runs in every process that speaks TLS as a server (smtpd sessions, the
 * pop3d login processes), before and after they drop privileges: the
 * socket is connected while the process may still reach keyd's path and
 * used from inside the chroot. Such a process never holds a private key,
 * so a bug in a protocol parser cannot read one.
 *
 * What it trusts: keyd's answers are bounded by the frame codec (proto.h,
 * K_SIGN_REPLY) and used as signature bytes only; a wrong signature makes
 * the handshake fail on the client's side, nothing more.
 */
#ifndef POSTERN_KEYCLIENT_H
#define POSTERN_KEYCLIENT_H

#include <openssl/evp.h>
#include <openssl/x509.h>

/*
 * fd: a connected socket to keyd; name: the key's name in keyd's table
 * (the key file's path, as tls_key_file names it); cert: the certificate
 * whose public key it is. Returns an EVP_PKEY whose private operations
 * (signatures: RSA PKCS#1 v1.5 and PSS, ECDSA, Ed25519) go to keyd; RSA
 * decryption is not offered, so TLS 1.2 RSA key exchange is not possible
 * with it (the cipher lists offer ECDHE only). NULL with a logged reason
 * on failure. The key keeps using fd for its whole life; the caller keeps
 * fd open while it or any SSL_CTX holding it lives, and closes it after.
 * Several keys may share one fd (one process, requests one at a time).
 */
EVP_PKEY	*keyclient_pkey(int fd, const char *name, X509 *cert);

/* keyd's socket, in <spool_directory>/private (root 0600). */
#define KEYCLIENT_SOCKET	"key.sock"

/*
 * A connection to keyd for keyclient_pkey, made while the process can
 * still reach <spool>/private (as root, before its chroot and privilege
 * drop); blocking, close-on-exec. -1, logged, when keyd cannot be
 * reached: the caller then offers no TLS (and says so), it never falls
 * back to reading the key itself.
 */
int		 keyclient_connect(const char *spool_directory);

#endif
