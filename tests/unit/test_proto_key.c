/*
 * test_proto_key.c - libcommon/proto_key: K_SIGN and K_SIGN_REPLY, the
 * frames between the TLS session processes and keyd. keyd decodes
 * requests from processes that face the network: every truncation,
 * extra byte, unknown algorithm, bad size or name must be refused, and a
 * valid frame must round trip. Also keyd_sign (keyd/keyd_keys.c): it
 * signs what the codec lets through, only with a key of the right kind
 * and a digest of the right length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/rsa.h>

#include "keyd.h"
#include "proto.h"

static void
sample(struct k_sign *k)
{
	memset(k, 0, sizeof(*k));
	k->alg = K_ALG_RSA_PSS;
	strlcpy(k->name, "/etc/postern/tls/mx.key", sizeof(k->name));
	strlcpy(k->md, "SHA2-256", sizeof(k->md));
	k->saltlen = 32;
	k->len = 32;
	memset(k->data, 0xab, k->len);
}

static int
dec_prefix(const struct ipc_msg *m, size_t len, struct k_sign *out)
{
	struct ipc_msg	v;
	int		rc;

	ipc_msg_init(&v, m->type, 0);
	if (len > 0)
		assert_int_equal(buf_append(&v.body, m->body.data, len), 0);
	rc = proto_dec_k_sign(&v, out);
	ipc_msg_free(&v);
	return rc;
}

static void
test_k_sign_round_trips_and_every_truncation_or_extra_byte_is_refused(
    void **state)
{
	struct k_sign	*k = malloc(sizeof(*k)), *back = malloc(sizeof(*back));
	struct ipc_msg	 m;
	size_t		 i;

	sample(k);
	ipc_msg_init(&m, K_SIGN, 1);
	assert_int_equal(proto_enc_k_sign(&m, k), 0);
	assert_int_equal(dec_prefix(&m, m.body.len, back), 0);
	assert_int_equal(back->alg, K_ALG_RSA_PSS);
	assert_string_equal(back->name, k->name);
	assert_string_equal(back->md, "SHA2-256");
	assert_int_equal(back->saltlen, 32);
	assert_int_equal(back->len, 32);
	assert_memory_equal(back->data, k->data, 32);
	for (i = 0; i < m.body.len; i++)
		assert_int_equal(dec_prefix(&m, i, back), -1);
	assert_int_equal(buf_append(&m.body, "", 1), 0);
	assert_int_equal(dec_prefix(&m, m.body.len, back), -1);
	ipc_msg_free(&m);
	free(k);
	free(back);
}

/* Encodes by hand what the encoder would refuse to write. */
static int
dec_raw(uint32_t alg, const char *name, const char *md, uint32_t salt,
    uint32_t len, size_t have)
{
	struct k_sign	*k = malloc(sizeof(*k));
	unsigned char	 data[K_TBS_MAX + 8];
	struct ipc_msg	 m;
	int		 rc;

	memset(data, 1, sizeof(data));
	ipc_msg_init(&m, K_SIGN, 1);
	assert_int_equal(ipc_put_u32(&m, alg), 0);
	assert_int_equal(ipc_put_str(&m, name), 0);
	assert_int_equal(ipc_put_str(&m, md), 0);
	assert_int_equal(ipc_put_u32(&m, salt), 0);
	assert_int_equal(ipc_put_u32(&m, len), 0);
	assert_int_equal(buf_append(&m.body, data, have), 0);
	rc = proto_dec_k_sign(&m, k);
	ipc_msg_free(&m);
	free(k);
	return rc;
}

static void
test_k_sign_refuses_what_keyd_must_not_sign(void **state)
{
	char long_name[K_NAME_MAX + 2];

	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	/* The shapes that are fine. */
	assert_int_equal(dec_raw(K_ALG_RSA_PKCS1, "k", "SHA2-384", 0, 48, 48),
	    0);
	assert_int_equal(dec_raw(K_ALG_ECDSA, "k", "SHA1", 0, 20, 20), 0);
	assert_int_equal(dec_raw(K_ALG_ED25519, "k", "", 0, K_TBS_MAX,
	    K_TBS_MAX), 0);
	/* Unknown algorithms. */
	assert_int_equal(dec_raw(0, "k", "SHA2-256", 0, 32, 32), -1);
	assert_int_equal(dec_raw(K_ALG_ED25519 + 1, "k", "SHA2-256", 0, 32,
	    32), -1);
	/* A digest too short or too long: not a digest, maybe a block. */
	assert_int_equal(dec_raw(K_ALG_RSA_PKCS1, "k", "SHA2-256", 0, 19, 19),
	    -1);
	assert_int_equal(dec_raw(K_ALG_RSA_PKCS1, "k", "SHA2-256", 0, 256,
	    256), -1);
	/* A digest without its name, Ed25519 with one, an empty message. */
	assert_int_equal(dec_raw(K_ALG_ECDSA, "k", "", 0, 32, 32), -1);
	assert_int_equal(dec_raw(K_ALG_ED25519, "k", "SHA2-256", 0, 32, 32),
	    -1);
	assert_int_equal(dec_raw(K_ALG_ED25519, "k", "", 0, 0, 0), -1);
	/* Over the bound: the frame is refused, not truncated. */
	assert_int_equal(dec_raw(K_ALG_ED25519, "k", "", 0, K_TBS_MAX + 1,
	    K_TBS_MAX + 1), -1);
	/* A length that promises more than the frame holds. */
	assert_int_equal(dec_raw(K_ALG_ECDSA, "k", "SHA2-256", 0, 32, 31),
	    -1);
	/* Salts: only PSS has one, at most 64 bytes. */
	assert_int_equal(dec_raw(K_ALG_RSA_PSS, "k", "SHA2-256", 65, 32, 32),
	    -1);
	assert_int_equal(dec_raw(K_ALG_RSA_PKCS1, "k", "SHA2-256", 1, 32, 32),
	    -1);
	/* Names: not empty, no space or control byte, not too long. */
	assert_int_equal(dec_raw(K_ALG_ECDSA, "", "SHA2-256", 0, 32, 32), -1);
	assert_int_equal(dec_raw(K_ALG_ECDSA, "a key", "SHA2-256", 0, 32, 32),
	    -1);
	assert_int_equal(dec_raw(K_ALG_ECDSA, "a\nkey", "SHA2-256", 0, 32,
	    32), -1);
	assert_int_equal(dec_raw(K_ALG_ECDSA, long_name, "SHA2-256", 0, 32,
	    32), -1);
	assert_int_equal(dec_raw(K_ALG_ECDSA, "k", "SHA-256-AND-MORE", 0, 32,
	    32), -1);
}

static void
test_k_sign_reply_round_trips_and_is_checked(void **state)
{
	struct k_sign_reply	*r = calloc(1, sizeof(*r));
	struct k_sign_reply	*b = calloc(1, sizeof(*b));
	struct ipc_msg		 m;

	r->status = K_OK;
	r->len = 256;
	memset(r->sig, 7, r->len);
	ipc_msg_init(&m, K_SIGN_REPLY, 3);
	assert_int_equal(proto_enc_k_sign_reply(&m, r), 0);
	assert_int_equal(proto_dec_k_sign_reply(&m, b), 0);
	assert_int_equal(b->len, 256);
	assert_memory_equal(b->sig, r->sig, 256);
	assert_int_equal(buf_append(&m.body, "x", 1), 0);
	assert_int_equal(proto_dec_k_sign_reply(&m, b), -1);
	ipc_msg_free(&m);
	/* A failure carries no signature; a success always one. */
	r->status = K_NOKEY;
	assert_int_equal(proto_enc_k_sign_reply(&m, r), -1);
	r->len = 0;
	ipc_msg_init(&m, K_SIGN_REPLY, 3);
	assert_int_equal(proto_enc_k_sign_reply(&m, r), 0);
	assert_int_equal(proto_dec_k_sign_reply(&m, b), 0);
	assert_int_equal(b->status, K_NOKEY);
	ipc_msg_free(&m);
	r->status = K_OK;
	assert_int_equal(proto_enc_k_sign_reply(&m, r), -1);
	/* Statuses past the last are refused. */
	ipc_msg_init(&m, K_SIGN_REPLY, 3);
	assert_int_equal(ipc_put_u32(&m, K_FAIL + 1), 0);
	assert_int_equal(ipc_put_bytes(&m, "", 0), 0);
	assert_int_equal(proto_dec_k_sign_reply(&m, b), -1);
	ipc_msg_free(&m);
	free(r);
	free(b);
}

static EVP_PKEY *
gen(const char *alg, const char *param, const char *value)
{
	EVP_PKEY_CTX	*c = EVP_PKEY_CTX_new_from_name(NULL, alg, NULL);
	EVP_PKEY	*pk = NULL;

	assert_non_null(c);
	assert_int_equal(EVP_PKEY_keygen_init(c), 1);
	if (param != NULL)
		assert_int_equal(EVP_PKEY_CTX_ctrl_str(c, param, value), 1);
	assert_int_equal(EVP_PKEY_keygen(c, &pk), 1);
	EVP_PKEY_CTX_free(c);
	return pk;
}

/* keyd's signature verifies with the public key, as the peer checks it. */
static void
verify_digest(EVP_PKEY *pk, const struct k_sign *k,
    const struct k_sign_reply *r)
{
	EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);

	assert_int_equal(EVP_PKEY_verify_init(c), 1);
	assert_int_equal(EVP_PKEY_CTX_set_signature_md(c, EVP_sha256()), 1);
	if (k->alg == K_ALG_RSA_PSS) {
		assert_int_equal(EVP_PKEY_CTX_set_rsa_padding(c,
		    RSA_PKCS1_PSS_PADDING), 1);
		assert_int_equal(EVP_PKEY_CTX_set_rsa_pss_saltlen(c, 32), 1);
	}
	assert_int_equal(EVP_PKEY_verify(c, r->sig, r->len, k->data, k->len),
	    1);
	EVP_PKEY_CTX_free(c);
}

static void
test_keyd_sign_fits_the_algorithm_to_the_key(void **state)
{
	EVP_PKEY		*rsa = gen("RSA", "rsa_keygen_bits", "2048");
	EVP_PKEY		*ec = gen("EC", "group", "P-256");
	EVP_PKEY		*ed = gen("ED25519", NULL, NULL);
	struct k_sign		*k = malloc(sizeof(*k));
	struct k_sign_reply	*r = malloc(sizeof(*r));

	sample(k);
	assert_int_equal(keyd_sign(rsa, k, r), K_OK);
	assert_int_equal(r->len, 256);
	verify_digest(rsa, k, r);
	k->alg = K_ALG_RSA_PKCS1;
	k->saltlen = 0;
	assert_int_equal(keyd_sign(rsa, k, r), K_OK);
	verify_digest(rsa, k, r);
	/* The wrong kind of key for the algorithm. */
	assert_int_equal(keyd_sign(ec, k, r), K_NOKEY);
	assert_int_equal(keyd_sign(ed, k, r), K_NOKEY);
	k->alg = K_ALG_ECDSA;
	assert_int_equal(keyd_sign(rsa, k, r), K_NOKEY);
	assert_int_equal(keyd_sign(ec, k, r), K_OK);
	verify_digest(ec, k, r);
	/* A digest whose length is not its name's, or a name TLS never uses. */
	k->len = 48;
	assert_int_equal(keyd_sign(ec, k, r), K_FAIL);
	k->len = 32;
	strlcpy(k->md, "SHA3-256", sizeof(k->md));
	assert_int_equal(keyd_sign(ec, k, r), K_FAIL);
	strlcpy(k->md, "MD5", sizeof(k->md));
	k->len = 16;
	assert_int_equal(keyd_sign(ec, k, r), K_FAIL);
	/* Ed25519 signs the message itself. */
	k->alg = K_ALG_ED25519;
	k->md[0] = '\0';
	k->len = 100;
	assert_int_equal(keyd_sign(ed, k, r), K_OK);
	assert_int_equal(r->len, 64);
	assert_int_equal(keyd_sign(ec, k, r), K_NOKEY);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(ed);
	free(k);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    test_k_sign_round_trips_and_every_truncation_or_extra_byte_is_refused),
		cmocka_unit_test(test_k_sign_refuses_what_keyd_must_not_sign),
		cmocka_unit_test(test_k_sign_reply_round_trips_and_is_checked),
		cmocka_unit_test(test_keyd_sign_fits_the_algorithm_to_the_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
