/*
 * keyclient.c - server keys whose private half stays in keyd: a small
 * OpenSSL 3 provider ("postern-keyclient") with a key manager and a
 * signature implementation for RSA, EC and Ed25519 keys. Its keys hold
 * the certificate's public key and a socket to keyd; every signature is
 * a K_SIGN request (proto.h). Hashing happens here (the message is
 * public: handshake transcripts), so keyd receives a digest and pads it
 * itself: it is a signing oracle for the processes that can reach it,
 * never a raw RSA private-key oracle (which would decrypt).
 *
 * Runs in the processes that speak TLS as a server: smtpd's session
 * processes and pop3d's login processes, unprivileged and chrooted once
 * they talk to a client. Trusts keyd's replies only as far as the
 * decoder checks them: a bad signature fails the peer's check.
 *
 * Why a provider and not RSA_METHOD / EC_KEY_METHOD (OpenSMTPD's ca.c):
 * those are deprecated in OpenSSL 3, cannot express Ed25519, and see
 * RSA-PSS only as an already padded block, so keyd would have to do raw
 * private-key operations on bytes a client chose. A provider sees the
 * digest, the padding and the salt length as parameters.
 *
 * The provider's algorithms carry the names OpenSSL's own do ("RSA",
 * "EC", "ED25519"), because libssl recognises a key by its type name. So
 * that nothing else in the process picks them up (a peer certificate's
 * key, a verification), keyclient makes the process's default property
 * query prefer other providers ("?provider!=postern-keyclient"). A
 * signature with one of our keys still lands here: OpenSSL first tries
 * to hand the key to the default provider's signature, which needs the
 * key exported, and our key manager exports nothing, so it falls back
 * to the key's own provider.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_dispatch.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/provider.h>
#include <openssl/rsa.h>

#include "fsutil.h"
#include "ipc.h"
#include "keyclient.h"
#include "log.h"
#include "proto.h"
#include "sock.h"

#define KC_PROV_NAME	"postern-keyclient"
#define KC_PROPS	"provider=" KC_PROV_NAME
/* A handshake waits for this at most; keyd answers in milliseconds. */
#define KC_TIMEOUT_MS	5000
/* The private parameter that hands keyclient_pkey's key to the provider. */
#define KC_PARAM_KEY	"postern-keyclient-key"

enum kc_type {
	KC_RSA = 1,
	KC_EC,
	KC_ED25519,
};

/*
 * A key: the public key (a default-provider EVP_PKEY, for every public
 * operation and parameter) and, for keys made by keyclient_pkey, where
 * the private half is. Keys imported from elsewhere (a certificate's,
 * while OpenSSL checks that it matches) have no fd and cannot sign.
 */
struct kc_key {
	int		 refs;
	enum kc_type	 type;
	EVP_PKEY	*pub;
	int		 fd;		/* -1: public only */
	char		 name[K_NAME_MAX + 1];
};

struct kc_sig {
	struct kc_key	*key;
	EVP_MD_CTX	*mdctx;		/* RSA, ECDSA: the running digest */
	char		 md[K_MD_MAX + 1];
	int		 pad;		/* RSA_PKCS1_PADDING, _PSS_PADDING */
	int		 saltlen;	/* RSA_PSS_SALTLEN_DIGEST or bytes */
	unsigned char	*msg;		/* Ed25519: the message so far */
	size_t		 msglen;
};

static uint32_t	kc_next_id = 1;

/* -- keys --------------------------------------------------------------- */

static struct kc_key *
kc_key_new(enum kc_type type)
{
	struct kc_key *k;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	k->refs = 1;
	k->type = type;
	k->fd = -1;
	return k;
}

static void
kc_key_unref(struct kc_key *k)
{
	if (k == NULL || --k->refs > 0)
		return;
	EVP_PKEY_free(k->pub);
	free(k);
}

static void *
kc_rsa_new(void *provctx)
{
	return kc_key_new(KC_RSA);
}

static void *
kc_ec_new(void *provctx)
{
	return kc_key_new(KC_EC);
}

static void *
kc_ed_new(void *provctx)
{
	return kc_key_new(KC_ED25519);
}

static void
kc_free(void *kd)
{
	kc_key_unref(kd);
}

static int
kc_has(const void *kd, int selection)
{
	const struct kc_key *k = kd;

	if (k == NULL || k->pub == NULL)
		return 0;
	if ((selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY) && k->fd == -1)
		return 0;
	return 1;
}

static int
kc_match(const void *kd1, const void *kd2, int selection)
{
	const struct kc_key *a = kd1, *b = kd2;

	if (a == NULL || b == NULL || a->pub == NULL || b->pub == NULL)
		return 0;
	return EVP_PKEY_eq(a->pub, b->pub) == 1;
}

static const char *
kc_type_name(enum kc_type t)
{
	return t == KC_RSA ? "RSA" : t == KC_EC ? "EC" : "ED25519";
}

/*
 * Import: either keyclient_pkey's own key (KC_PARAM_KEY, a pointer to a
 * filled kc_key whose contents move here) or a public key in OpenSSL's
 * parameters, which OpenSSL sends when it compares a certificate's key
 * with ours. Private parts are never taken.
 */
static int
kc_import(void *kd, int selection, const OSSL_PARAM params[])
{
	struct kc_key	*k = kd, *src;
	const OSSL_PARAM *p;
	EVP_PKEY_CTX	*ctx;

	if (k == NULL || k->pub != NULL)
		return 0;
	if ((p = OSSL_PARAM_locate_const(params, KC_PARAM_KEY)) != NULL) {
		if (p->data_type != OSSL_PARAM_OCTET_PTR ||
		    p->data_size != sizeof(src) || p->data == NULL ||
		    (src = *(struct kc_key **)p->data) == NULL ||
		    src->type != k->type || src->pub == NULL)
			return 0;
		k->pub = src->pub;
		src->pub = NULL;
		k->fd = src->fd;
		memcpy(k->name, src->name, sizeof(k->name));
		return 1;
	}
	if (selection & OSSL_KEYMGMT_SELECT_PRIVATE_KEY)
		return 0;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, kc_type_name(k->type),
	    "provider=default")) == NULL)
		return 0;
	if (EVP_PKEY_fromdata_init(ctx) != 1 || EVP_PKEY_fromdata(ctx,
	    &k->pub, selection, (OSSL_PARAM *)params) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return 0;
	}
	EVP_PKEY_CTX_free(ctx);
	return 1;
}

static const OSSL_PARAM *
kc_import_types(int selection)
{
	static const OSSL_PARAM none[] = { OSSL_PARAM_END };

	return none;
}

static int
kc_get_params(void *kd, OSSL_PARAM params[])
{
	struct kc_key *k = kd;

	if (k == NULL || k->pub == NULL)
		return 0;
	return EVP_PKEY_get_params(k->pub, params);
}

static const OSSL_PARAM *
kc_gettable_params(void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_int(OSSL_PKEY_PARAM_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_SECURITY_BITS, NULL),
		OSSL_PARAM_int(OSSL_PKEY_PARAM_MAX_SIZE, NULL),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_DEFAULT_DIGEST, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_MANDATORY_DIGEST, NULL,
		    0),
		OSSL_PARAM_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, NULL, 0),
		OSSL_PARAM_octet_string(OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY,
		    NULL, 0),
		OSSL_PARAM_END
	};

	return p;
}

static const char *
kc_rsa_opname(int op)
{
	return "RSA";
}

static const char *
kc_ec_opname(int op)
{
	return op == OSSL_OP_SIGNATURE ? "ECDSA" : "EC";
}

static const char *
kc_ed_opname(int op)
{
	return "ED25519";
}

#define KC_KEYMGMT(pfx, newfn)						\
static const OSSL_DISPATCH kc_##pfx##_keymgmt[] = {			\
	{ OSSL_FUNC_KEYMGMT_NEW, (void (*)(void))newfn },		\
	{ OSSL_FUNC_KEYMGMT_FREE, (void (*)(void))kc_free },		\
	{ OSSL_FUNC_KEYMGMT_HAS, (void (*)(void))kc_has },		\
	{ OSSL_FUNC_KEYMGMT_MATCH, (void (*)(void))kc_match },		\
	{ OSSL_FUNC_KEYMGMT_IMPORT, (void (*)(void))kc_import },	\
	{ OSSL_FUNC_KEYMGMT_IMPORT_TYPES,				\
	    (void (*)(void))kc_import_types },				\
	{ OSSL_FUNC_KEYMGMT_GET_PARAMS, (void (*)(void))kc_get_params },\
	{ OSSL_FUNC_KEYMGMT_GETTABLE_PARAMS,				\
	    (void (*)(void))kc_gettable_params },			\
	{ OSSL_FUNC_KEYMGMT_QUERY_OPERATION_NAME,			\
	    (void (*)(void))kc_##pfx##_opname },			\
	{ 0, NULL }							\
}

KC_KEYMGMT(rsa, kc_rsa_new);
KC_KEYMGMT(ec, kc_ec_new);
KC_KEYMGMT(ed, kc_ed_new);

/* -- signatures --------------------------------------------------------- */

static void *
kc_sig_newctx(void *provctx, const char *propq)
{
	struct kc_sig *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->pad = RSA_PKCS1_PADDING;
	s->saltlen = RSA_PSS_SALTLEN_DIGEST;
	return s;
}

static void
kc_sig_freectx(void *sctx)
{
	struct kc_sig *s = sctx;

	if (s == NULL)
		return;
	kc_key_unref(s->key);
	EVP_MD_CTX_free(s->mdctx);
	free(s->msg);
	free(s);
}

static void *
kc_sig_dupctx(void *sctx)
{
	struct kc_sig *s = sctx, *d;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	*d = *s;
	d->mdctx = NULL;
	d->msg = NULL;
	if (d->key != NULL)
		d->key->refs++;
	if ((s->mdctx != NULL && ((d->mdctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_MD_CTX_copy_ex(d->mdctx, s->mdctx) != 1)) ||
	    (s->msglen > 0 && (d->msg = malloc(s->msglen)) == NULL)) {
		kc_sig_freectx(d);
		return NULL;
	}
	if (s->msglen > 0)
		memcpy(d->msg, s->msg, s->msglen);
	return d;
}

static int
kc_sig_set_ctx_params(void *sctx, const OSSL_PARAM params[])
{
	struct kc_sig		*s = sctx;
	const OSSL_PARAM	*p;
	const char		*str;
	int			 v;

	if (params == NULL)
		return 1;
	if ((p = OSSL_PARAM_locate_const(params,
	    OSSL_SIGNATURE_PARAM_PAD_MODE)) != NULL) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (OSSL_PARAM_get_utf8_string_ptr(p, &str) != 1)
				return 0;
			if (strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PKCSV15) == 0)
				v = RSA_PKCS1_PADDING;
			else if (strcmp(str, OSSL_PKEY_RSA_PAD_MODE_PSS) == 0)
				v = RSA_PKCS1_PSS_PADDING;
			else
				return 0;
		} else if (OSSL_PARAM_get_int(p, &v) != 1)
			return 0;
		if (v != RSA_PKCS1_PADDING && v != RSA_PKCS1_PSS_PADDING)
			return 0;
		s->pad = v;
	}
	if ((p = OSSL_PARAM_locate_const(params,
	    OSSL_SIGNATURE_PARAM_PSS_SALTLEN)) != NULL) {
		if (p->data_type == OSSL_PARAM_UTF8_STRING) {
			if (OSSL_PARAM_get_utf8_string_ptr(p, &str) != 1)
				return 0;
			/* TLS asks for the digest's length; nothing else. */
			if (strcmp(str, OSSL_PKEY_RSA_PSS_SALT_LEN_DIGEST) != 0)
				return 0;
			v = RSA_PSS_SALTLEN_DIGEST;
		} else if (OSSL_PARAM_get_int(p, &v) != 1)
			return 0;
		if (v != RSA_PSS_SALTLEN_DIGEST && (v < 0 || v > 64))
			return 0;
		s->saltlen = v;
	}
	if ((p = OSSL_PARAM_locate_const(params,
	    OSSL_SIGNATURE_PARAM_MGF1_DIGEST)) != NULL) {
		/* keyd uses the message digest for MGF1, as TLS does. */
		if (OSSL_PARAM_get_utf8_string_ptr(p, &str) != 1 ||
		    (s->md[0] != '\0' && !EVP_MD_is_a(EVP_get_digestbyname(
		    s->md), str)))
			return 0;
	}
	return 1;
}

static const OSSL_PARAM *
kc_sig_settable_ctx_params(void *sctx, void *provctx)
{
	static const OSSL_PARAM p[] = {
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PAD_MODE, NULL, 0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_PSS_SALTLEN, NULL,
		    0),
		OSSL_PARAM_utf8_string(OSSL_SIGNATURE_PARAM_MGF1_DIGEST, NULL,
		    0),
		OSSL_PARAM_END
	};

	return p;
}

static int
kc_sig_get_ctx_params(void *sctx, OSSL_PARAM params[])
{
	return 1;
}

static const OSSL_PARAM *
kc_sig_gettable_ctx_params(void *sctx, void *provctx)
{
	static const OSSL_PARAM p[] = { OSSL_PARAM_END };

	return p;
}

static int
kc_sig_digest_sign_init(void *sctx, const char *mdname, void *kd,
    const OSSL_PARAM params[])
{
	struct kc_sig	*s = sctx;
	struct kc_key	*k = kd;
	EVP_MD		*md = NULL;
	const char	*name;

	if (k == NULL || k->fd == -1)
		return 0;
	kc_key_unref(s->key);
	s->key = k;
	k->refs++;
	EVP_MD_CTX_free(s->mdctx);
	s->mdctx = NULL;
	free(s->msg);
	s->msg = NULL;
	s->msglen = 0;
	s->md[0] = '\0';
	if (k->type == KC_ED25519)
		return (mdname == NULL || mdname[0] == '\0') &&
		    kc_sig_set_ctx_params(s, params);
	if (mdname == NULL || mdname[0] == '\0')
		mdname = "SHA256";
	/* Fetched from the default provider: hashing is public work. */
	if ((md = EVP_MD_fetch(NULL, mdname, "provider=default")) == NULL)
		return 0;
	name = EVP_MD_get0_name(md);
	if (strlen(name) > K_MD_MAX || (s->mdctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex2(s->mdctx, md, NULL) != 1) {
		EVP_MD_free(md);
		return 0;
	}
	strlcpy(s->md, name, sizeof(s->md));
	EVP_MD_free(md);
	return kc_sig_set_ctx_params(s, params);
}

static int
kc_sig_digest_sign_update(void *sctx, const unsigned char *data,
    size_t len)
{
	struct kc_sig	*s = sctx;
	unsigned char	*n;

	if (s->key == NULL)
		return 0;
	if (s->mdctx != NULL)
		return EVP_DigestUpdate(s->mdctx, data, len);
	/* Ed25519: keyd takes at most K_TBS_MAX bytes of message. */
	if (len > K_TBS_MAX - s->msglen)
		return 0;
	if ((n = realloc(s->msg, s->msglen + len + 1)) == NULL)
		return 0;
	s->msg = n;
	memcpy(s->msg + s->msglen, data, len);
	s->msglen += len;
	return 1;
}

/* One K_SIGN round trip; 0 on any failure, logged once here. */
static int
kc_request(struct kc_key *k, const struct k_sign *req, unsigned char *sig,
    size_t *siglen, size_t sigsize)
{
	struct k_sign_reply	*rep = NULL;
	struct ipc_conn		 c;
	struct ipc_msg		 m, in;
	const char		*why = NULL;
	uint32_t		 id = kc_next_id++;
	int			 ok = 0;

	ipc_conn_init(&c, k->fd, sizeof(*rep) + 64);
	ipc_msg_init(&m, K_SIGN, id);
	ipc_msg_init(&in, 0, 0);
	if (proto_enc_k_sign(&m, req) == -1)
		why = "cannot encode the request";
	else if (ipc_send_wait(&c, &m, KC_TIMEOUT_MS) == -1 ||
	    ipc_recv_wait(&c, &in, KC_TIMEOUT_MS) == -1)
		why = errno == ETIMEDOUT ? "keyd did not answer in time" :
		    errno == EPROTO ? "keyd sent a malformed frame" :
		    "the connection to keyd is broken";
	else if (in.type != K_SIGN_REPLY || in.id != id ||
	    (rep = malloc(sizeof(*rep))) == NULL ||
	    proto_dec_k_sign_reply(&in, rep) == -1)
		why = "keyd's answer is not a signature";
	else if (rep->status == K_NOKEY)
		why = "keyd holds no such key";
	else if (rep->status != K_OK)
		why = "keyd could not sign";
	else if (rep->len > sigsize)
		why = "keyd's signature is too long";
	else {
		memcpy(sig, rep->sig, rep->len);
		*siglen = rep->len;
		ok = 1;
	}
	if (why != NULL)
		log_warnx("TLS key %s: %s", k->name, why);
	free(rep);
	ipc_msg_free(&m);
	ipc_msg_free(&in);
	/* The socket stays: it belongs to the key. Only the buffers go. */
	c.fd = -1;
	ipc_conn_close(&c);
	return ok;
}

static int
kc_sig_digest_sign_final(void *sctx, unsigned char *sig, size_t *siglen,
    size_t sigsize)
{
	struct kc_sig	*s = sctx;
	struct k_sign	*req;
	unsigned int	 dlen;
	int		 ok = 0, size;

	if (s->key == NULL || (size = EVP_PKEY_get_size(s->key->pub)) <= 0)
		return 0;
	if (sig == NULL) {
		*siglen = (size_t)size;
		return 1;
	}
	if ((req = calloc(1, sizeof(*req))) == NULL)
		return 0;
	strlcpy(req->name, s->key->name, sizeof(req->name));
	if (s->key->type == KC_ED25519) {
		req->alg = K_ALG_ED25519;
		if (s->msglen > 0)
			memcpy(req->data, s->msg, s->msglen);
		req->len = s->msglen;
	} else {
		if (EVP_DigestFinal_ex(s->mdctx, req->data, &dlen) != 1)
			goto done;
		req->len = dlen;
		strlcpy(req->md, s->md, sizeof(req->md));
		if (s->key->type == KC_EC)
			req->alg = K_ALG_ECDSA;
		else if (s->pad == RSA_PKCS1_PSS_PADDING) {
			req->alg = K_ALG_RSA_PSS;
			req->saltlen = s->saltlen == RSA_PSS_SALTLEN_DIGEST ?
			    dlen : (uint32_t)s->saltlen;
		} else
			req->alg = K_ALG_RSA_PKCS1;
	}
	ok = kc_request(s->key, req, sig, siglen, sigsize);
done:
	explicit_bzero(req, sizeof(*req));
	free(req);
	return ok;
}

static int
kc_sig_digest_sign(void *sctx, unsigned char *sig, size_t *siglen,
    size_t sigsize, const unsigned char *tbs, size_t tbslen)
{
	struct kc_sig *s = sctx;

	if (s->key == NULL)
		return 0;
	if (sig == NULL)
		return kc_sig_digest_sign_final(s, NULL, siglen, sigsize);
	return kc_sig_digest_sign_update(s, tbs, tbslen) &&
	    kc_sig_digest_sign_final(s, sig, siglen, sigsize);
}

static const OSSL_DISPATCH kc_signature[] = {
	{ OSSL_FUNC_SIGNATURE_NEWCTX, (void (*)(void))kc_sig_newctx },
	{ OSSL_FUNC_SIGNATURE_FREECTX, (void (*)(void))kc_sig_freectx },
	{ OSSL_FUNC_SIGNATURE_DUPCTX, (void (*)(void))kc_sig_dupctx },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_INIT,
	    (void (*)(void))kc_sig_digest_sign_init },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_UPDATE,
	    (void (*)(void))kc_sig_digest_sign_update },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN_FINAL,
	    (void (*)(void))kc_sig_digest_sign_final },
	{ OSSL_FUNC_SIGNATURE_DIGEST_SIGN,
	    (void (*)(void))kc_sig_digest_sign },
	{ OSSL_FUNC_SIGNATURE_SET_CTX_PARAMS,
	    (void (*)(void))kc_sig_set_ctx_params },
	{ OSSL_FUNC_SIGNATURE_SETTABLE_CTX_PARAMS,
	    (void (*)(void))kc_sig_settable_ctx_params },
	{ OSSL_FUNC_SIGNATURE_GET_CTX_PARAMS,
	    (void (*)(void))kc_sig_get_ctx_params },
	{ OSSL_FUNC_SIGNATURE_GETTABLE_CTX_PARAMS,
	    (void (*)(void))kc_sig_gettable_ctx_params },
	{ 0, NULL }
};

/* -- the provider ------------------------------------------------------- */

static const OSSL_ALGORITHM kc_keymgmts[] = {
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", KC_PROPS, kc_rsa_keymgmt,
	    "keyd RSA key" },
	{ "EC:id-ecPublicKey:1.2.840.10045.2.1", KC_PROPS, kc_ec_keymgmt,
	    "keyd EC key" },
	{ "ED25519:1.3.101.112", KC_PROPS, kc_ed_keymgmt, "keyd Ed25519 key" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM kc_signatures[] = {
	{ "RSA:rsaEncryption:1.2.840.113549.1.1.1", KC_PROPS, kc_signature,
	    "keyd RSA signature" },
	{ "ECDSA", KC_PROPS, kc_signature, "keyd ECDSA signature" },
	{ "ED25519:1.3.101.112", KC_PROPS, kc_signature,
	    "keyd Ed25519 signature" },
	{ NULL, NULL, NULL, NULL }
};

static const OSSL_ALGORITHM *
kc_query(void *provctx, int op, int *no_store)
{
	*no_store = 0;
	switch (op) {
	case OSSL_OP_KEYMGMT:
		return kc_keymgmts;
	case OSSL_OP_SIGNATURE:
		return kc_signatures;
	}
	return NULL;
}

static const OSSL_DISPATCH kc_provider[] = {
	{ OSSL_FUNC_PROVIDER_QUERY_OPERATION, (void (*)(void))kc_query },
	{ 0, NULL }
};

static int
kc_provider_init(const OSSL_CORE_HANDLE *handle, const OSSL_DISPATCH *in,
    const OSSL_DISPATCH **out, void **provctx)
{
	*out = kc_provider;
	*provctx = (void *)handle;
	return 1;
}

/* Once per process: the provider, and the preference for the others. */
static int
kc_setup(void)
{
	/* Loaded for the process's life: held here, not dropped. */
	static OSSL_PROVIDER	*dflt, *kc;
	static int		 done;

	if (done)
		return 0;
	/*
	 * Loading a provider explicitly stops OpenSSL from loading the
	 * default one on its own: it is loaded here first.
	 */
	if ((dflt == NULL &&
	    (dflt = OSSL_PROVIDER_load(NULL, "default")) == NULL) ||
	    (kc == NULL && (OSSL_PROVIDER_add_builtin(NULL, KC_PROV_NAME,
	    kc_provider_init) != 1 ||
	    (kc = OSSL_PROVIDER_load(NULL, KC_PROV_NAME)) == NULL)) ||
	    EVP_set_default_properties(NULL, "?provider!=" KC_PROV_NAME) !=
	    1) {
		log_warnx("TLS keys: cannot set up the keyd provider");
		return -1;
	}
	done = 1;
	return 0;
}

EVP_PKEY *
keyclient_pkey(int fd, const char *name, X509 *cert)
{
	struct kc_key	 src;
	struct kc_key	*srcp = &src;
	EVP_PKEY	*pub, *pkey = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	OSSL_PARAM	 params[2];

	memset(&src, 0, sizeof(src));
	if (kc_setup() == -1)
		return NULL;
	if (fd < 0 || name == NULL || strlen(name) > K_NAME_MAX ||
	    name[0] == '\0' || cert == NULL) {
		log_warnx("TLS key %s: no key socket, name or certificate",
		    name != NULL ? name : "(none)");
		return NULL;
	}
	if ((pub = X509_get0_pubkey(cert)) == NULL) {
		log_warnx("TLS key %s: the certificate has no usable public "
		    "key", name);
		return NULL;
	}
	if (EVP_PKEY_is_a(pub, "RSA"))
		src.type = KC_RSA;
	else if (EVP_PKEY_is_a(pub, "EC"))
		src.type = KC_EC;
	else if (EVP_PKEY_is_a(pub, "ED25519"))
		src.type = KC_ED25519;
	else {
		log_warnx("TLS key %s: a %s key: keyd signs with RSA, EC and "
		    "Ed25519 keys only", name, EVP_PKEY_get0_type_name(pub));
		return NULL;
	}
	if ((src.pub = EVP_PKEY_dup(pub)) == NULL)
		goto fail;
	src.fd = fd;
	strlcpy(src.name, name, sizeof(src.name));
	params[0] = OSSL_PARAM_construct_octet_ptr(KC_PARAM_KEY,
	    (void **)&srcp, sizeof(srcp));
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, kc_type_name(src.type),
	    KC_PROPS)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, OSSL_KEYMGMT_SELECT_ALL_PARAMETERS |
	    OSSL_KEYMGMT_SELECT_PUBLIC_KEY, params) != 1) {
		pkey = NULL;
		goto fail;
	}
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(src.pub);
	return pkey;
fail:
	log_warnx("TLS key %s: cannot make the key: %s", name,
	    ERR_reason_error_string(ERR_peek_last_error()) != NULL ?
	    ERR_reason_error_string(ERR_peek_last_error()) : "out of memory");
	ERR_clear_error();
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(src.pub);
	return NULL;
}

int
keyclient_connect(const char *spool_directory)
{
	char	dir[4096];
	int	fd;

	if (fs_path(dir, sizeof(dir), spool_directory, "private") == -1) {
		log_warnx("spool_directory too long");
		return -1;
	}
	if ((fd = sock_unix_connect_in(dir, KEYCLIENT_SOCKET)) == -1)
		log_warn("connect to keyd (%s/%s)", dir, KEYCLIENT_SOCKET);
	return fd;
}
