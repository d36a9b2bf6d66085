/*
 * keyd_keys.c - keyd's table of TLS private keys and the one function
 * that uses them: a signature over a digest (or, for Ed25519, a short
 * message) that a session process sent.
 *
 * Runs in keyd, as key_user. The key files are trusted only once they
 * pass the ownership and mode check below (the check ssh makes of a
 * private key): a key that others could read is already disclosed, and
 * one that others could write is not the administrator's. The requests
 * come from processes that face the network; proto_dec_k_sign checked
 * their shape, and keyd_sign checks that the algorithm fits the key and
 * the digest its name. keyd never does a raw private-key operation: it
 * pads (PKCS#1 v1.5 or PSS) itself, so it signs and never decrypts.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "keyd.h"
#include "log.h"

static int
keyd_name_add(char (*names)[K_NAME_MAX + 1], size_t *n, size_t max,
    const char *path)
{
	size_t i;

	if (path[0] == '\0' || strlen(path) > K_NAME_MAX)
		return 0;
	for (i = 0; i < *n; i++)
		if (strcmp(names[i], path) == 0)
			return 0;
	if (*n == max)
		return -1;
	strlcpy(names[(*n)++], path, sizeof(names[0]));
	return 0;
}

size_t
keyd_key_names(const struct conf *cf, char (*names)[K_NAME_MAX + 1],
    size_t max)
{
	size_t n = 0;

	/*
	 * The SNI map's keys (tls_sni_map) join here when the TLS module's
	 * map reader is in libcommon: one reader for that file.
	 */
	(void)keyd_name_add(names, &n, max, cf->tls_key_file);
	return n;
}

EVP_PKEY *
keyd_key_read(const char *path, uid_t uid, char *err, size_t errlen)
{
	struct stat	 st;
	EVP_PKEY	*pk = NULL;
	FILE		*f;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC)) ==
	    -1) {
		snprintf(err, errlen, "%s", errno == EACCES ? "cannot read it "
		    "(it must belong to key_user: postern setup gives it)" :
		    strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		close(fd);
		return NULL;
	}
	if (st.st_uid != 0 && st.st_uid != uid) {
		snprintf(err, errlen, "owned by uid %lu, neither root nor "
		    "key_user: refused", (unsigned long)st.st_uid);
		close(fd);
		return NULL;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen, "mode %04o lets its group or others at "
		    "it: refused (chmod 600 it)", (unsigned)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if ((f = fdopen(fd, "r")) == NULL) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return NULL;
	}
	/* No passphrase prompt: keyd has no terminal. */
	pk = PEM_read_PrivateKey(f, NULL, NULL, (void *)"");
	fclose(f);
	if (pk == NULL) {
		snprintf(err, errlen, "no private key in it (PEM)");
		ERR_clear_error();
		return NULL;
	}
	if (!EVP_PKEY_is_a(pk, "RSA") && !EVP_PKEY_is_a(pk, "ED25519") &&
	    !(EVP_PKEY_is_a(pk, "EC") && (EVP_PKEY_get_bits(pk) == 256 ||
	    EVP_PKEY_get_bits(pk) == 384))) {
		snprintf(err, errlen, "a %s key of %d bits: keyd signs with "
		    "RSA, EC P-256/P-384 and Ed25519 keys",
		    EVP_PKEY_get0_type_name(pk), EVP_PKEY_get_bits(pk));
		EVP_PKEY_free(pk);
		return NULL;
	}
	if (EVP_PKEY_is_a(pk, "RSA") && EVP_PKEY_get_bits(pk) < 2048) {
		snprintf(err, errlen, "an RSA key of %d bits: at least 2048",
		    EVP_PKEY_get_bits(pk));
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

void
keyd_keys_load(struct keyd_keys *t, const struct conf *cf, uid_t uid,
    struct keyd_keys *old)
{
	char	 (*names)[K_NAME_MAX + 1];
	char	 err[512];
	size_t	 n, i;
	EVP_PKEY *pk;

	t->v = NULL;
	t->n = 0;
	if ((names = calloc(KEYD_KEYS_MAX, sizeof(*names))) == NULL) {
		log_warn("key table");
		return;
	}
	n = keyd_key_names(cf, names, KEYD_KEYS_MAX);
	if (n > 0 && (t->v = calloc(n, sizeof(*t->v))) == NULL) {
		log_warn("key table");
		free(names);
		return;
	}
	for (i = 0; i < n; i++) {
		if ((pk = keyd_key_read(names[i], uid, err, sizeof(err))) ==
		    NULL) {
			log_errx("key file %s: %s", names[i], err);
			if (old == NULL)
				continue;
			/* A reload keeps what worked: nothing is dropped. */
			for (size_t j = 0; j < old->n; j++)
				if (old->v[j].pkey != NULL &&
				    strcmp(old->v[j].name, names[i]) == 0) {
					pk = old->v[j].pkey;
					old->v[j].pkey = NULL;
					log_warnx("key file %s: keeping the key "
					    "read before", names[i]);
				}
			if (pk == NULL)
				continue;
		}
		strlcpy(t->v[t->n].name, names[i], sizeof(t->v[0].name));
		t->v[t->n++].pkey = pk;
	}
	free(names);
}

void
keyd_keys_free(struct keyd_keys *t)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		EVP_PKEY_free(t->v[i].pkey);
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

EVP_PKEY *
keyd_keys_find(const struct keyd_keys *t, const char *name)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (strcmp(t->v[i].name, name) == 0)
			return t->v[i].pkey;
	return NULL;
}

/* The digests TLS 1.2 and 1.3 sign with; nothing else is signed. */
static EVP_MD *
keyd_md(const char *name, size_t len)
{
	static const char *const ok[] = { "SHA1", "SHA2-224", "SHA2-256",
	    "SHA2-384", "SHA2-512", NULL };
	EVP_MD	*md;
	size_t	 i;

	if ((md = EVP_MD_fetch(NULL, name, NULL)) == NULL) {
		ERR_clear_error();
		return NULL;
	}
	for (i = 0; ok[i] != NULL; i++)
		if (EVP_MD_is_a(md, ok[i]))
			break;
	if (ok[i] == NULL || (size_t)EVP_MD_get_size(md) != len) {
		EVP_MD_free(md);
		return NULL;
	}
	return md;
}

uint32_t
keyd_sign(EVP_PKEY *key, const struct k_sign *req, struct k_sign_reply *rep)
{
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_MD_CTX	*mctx = NULL;
	EVP_MD		*md = NULL;
	size_t		 len = sizeof(rep->sig);
	int		 ok = 0;

	rep->len = 0;
	switch (req->alg) {
	case K_ALG_RSA_PKCS1:
	case K_ALG_RSA_PSS:
		if (!EVP_PKEY_is_a(key, "RSA"))
			return K_NOKEY;
		break;
	case K_ALG_ECDSA:
		if (!EVP_PKEY_is_a(key, "EC"))
			return K_NOKEY;
		break;
	case K_ALG_ED25519:
		if (!EVP_PKEY_is_a(key, "ED25519"))
			return K_NOKEY;
		if ((mctx = EVP_MD_CTX_new()) != NULL &&
		    EVP_DigestSignInit_ex(mctx, NULL, NULL, NULL, NULL, key,
		    NULL) == 1 &&
		    EVP_DigestSign(mctx, rep->sig, &len, req->data, req->len) ==
		    1)
			ok = 1;
		EVP_MD_CTX_free(mctx);
		goto done;
	default:
		return K_NOKEY;
	}
	if ((md = keyd_md(req->md, req->len)) == NULL)
		return K_FAIL;
	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL)) == NULL ||
	    EVP_PKEY_sign_init(ctx) != 1 ||
	    EVP_PKEY_CTX_set_signature_md(ctx, md) != 1)
		goto done;
	if (req->alg == K_ALG_RSA_PKCS1 &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1)
		goto done;
	if (req->alg == K_ALG_RSA_PSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PSS_PADDING) != 1 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, md) != 1 ||
	    EVP_PKEY_CTX_set_rsa_pss_saltlen(ctx, (int)req->saltlen) != 1))
		goto done;
	if (EVP_PKEY_sign(ctx, rep->sig, &len, req->data, req->len) == 1)
		ok = 1;
done:
	EVP_PKEY_CTX_free(ctx);
	EVP_MD_free(md);
	if (!ok) {
		ERR_clear_error();
		return K_FAIL;
	}
	rep->len = len;
	return K_OK;
}
