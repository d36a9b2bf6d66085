/*
 * proto_key.c - the encoder and decoder of K_SIGN and K_SIGN_REPLY, the
 * only messages keyd speaks (proto.h has the table of sockets).
 *
 * Runs in keyd (decoding requests from session processes that face the
 * network, so every field is checked here, before keyd looks a key up)
 * and in the clients (decoding keyd's replies). A frame that fails any
 * check is refused as a whole; the caller drops the peer.
 */
#include <string.h>

#include "proto.h"

/* A name or digest name: printable ASCII, no space, not empty. */
static int
k_word_ok(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
			return 0;
	return 1;
}

static int
k_sign_ok(const struct k_sign *k)
{
	if (!k_word_ok(k->name))
		return 0;
	switch (k->alg) {
	case K_ALG_RSA_PKCS1:
	case K_ALG_RSA_PSS:
	case K_ALG_ECDSA:
		/* SHA-1 (TLS 1.2's oldest) to SHA-512. */
		if (!k_word_ok(k->md) || k->len < 20 || k->len > 64)
			return 0;
		if (k->alg == K_ALG_RSA_PSS ? k->saltlen > 64 : k->saltlen != 0)
			return 0;
		return 1;
	case K_ALG_ED25519:
		return k->md[0] == '\0' && k->saltlen == 0 && k->len > 0 &&
		    k->len <= K_TBS_MAX;
	default:
		return 0;
	}
}

int
proto_enc_k_sign(struct ipc_msg *m, const struct k_sign *k)
{
	if (strlen(k->name) > K_NAME_MAX || strlen(k->md) > K_MD_MAX ||
	    k->len > K_TBS_MAX || !k_sign_ok(k))
		return -1;
	return (ipc_put_u32(m, k->alg) == -1 ||
	    ipc_put_str(m, k->name) == -1 ||
	    ipc_put_str(m, k->md) == -1 ||
	    ipc_put_u32(m, k->saltlen) == -1 ||
	    ipc_put_bytes(m, k->data, k->len) == -1) ? -1 : 0;
}

int
proto_dec_k_sign(const struct ipc_msg *m, struct k_sign *k)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &k->alg);
	ipc_get_str(&r, k->name, sizeof(k->name));
	ipc_get_str(&r, k->md, sizeof(k->md));
	ipc_get_u32(&r, &k->saltlen);
	ipc_get_bytes(&r, k->data, sizeof(k->data), &k->len);
	if (ipc_reader_end(&r) == -1 || m->fd != -1 || !k_sign_ok(k))
		return -1;
	return 0;
}

int
proto_enc_k_sign_reply(struct ipc_msg *m, const struct k_sign_reply *k)
{
	if (k->status > K_FAIL || k->len > K_SIG_MAX ||
	    (k->status == K_OK) != (k->len > 0))
		return -1;
	return (ipc_put_u32(m, k->status) == -1 ||
	    ipc_put_bytes(m, k->sig, k->len) == -1) ? -1 : 0;
}

int
proto_dec_k_sign_reply(const struct ipc_msg *m, struct k_sign_reply *k)
{
	struct ipc_reader r;

	ipc_reader_init(&r, m);
	ipc_get_u32(&r, &k->status);
	ipc_get_bytes(&r, k->sig, sizeof(k->sig), &k->len);
	if (ipc_reader_end(&r) == -1 || m->fd != -1 || k->status > K_FAIL ||
	    (k->status == K_OK) != (k->len > 0))
		return -1;
	return 0;
}
