/*
 * setup_tls.c - postern setup's TLS step: a self-signed certificate and
 * its key where the config names files that do not exist yet, so that
 * the demo suite speaks STARTTLS and implicit TLS out of the box. A real
 * site replaces them (README, "Using a real certificate").
 *
 * Which files: those tls_cert_file and tls_key_file name. On a fresh
 * install (setup wrote the shipped config just now, which names none)
 * they are <config dir>/tls/cert.pem and key.pem, and the config is
 * changed to name them (confedit: every other line kept), so the demo
 * suite offers STARTTLS without an edit. An existing config that names
 * no certificate is left as it is: its administrator chose.
 *
 * Runs in the postern command, as root (or as the developer who runs
 * the suite as themselves). Never overwrites: a certificate or a key
 * that exists is left alone, and if only one of the two exists nothing
 * is made (a lone key might belong to a certificate on its way). The
 * key is written first, mode 0600 (setup's next step gives it to
 * key_user, keyd's); the certificate is public (0644). Both
 * are written whole and renamed into place (fs_atomic_write).
 *
 * The certificate: an EC P-256 key (cheap handshakes), subject
 * CN=myhostname, subjectAltName myhostname and every local domain,
 * valid for 825 days (what clients accept of a self-signed leaf).
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "addr.h"
#include "cli.h"
#include "confedit.h"
#include "fsutil.h"

#define SETUP_TLS_DAYS	825

/* The PEM text of what write_pem writes, in a memory BIO, to a file. */
static int
bio_to_file(struct cli *c, BIO *b, const char *path, mode_t mode)
{
	char	*p;
	long	 n = BIO_get_mem_data(b, &p);
	char	 dir[CONF_PATH_MAX];

	if (fs_dirname(path, dir, sizeof(dir)) == -1 ||
	    fs_mkdirs(dir, 0755) == -1) {
		cli_err(c, "cannot create the directory of %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (n <= 0 || fs_atomic_write(path, p, (size_t)n, mode) == -1) {
		cli_err(c, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* subjectAltName: myhostname and the local domains, no duplicates. */
static int
add_san(X509 *x, const struct conf *cf)
{
	GENERAL_NAMES	*names;
	GENERAL_NAME	*g;
	ASN1_IA5STRING	*s;
	const char	*n;
	size_t		 i, j;
	int		 rc = -1, dup;

	if ((names = sk_GENERAL_NAME_new_null()) == NULL)
		return -1;
	for (i = 0; i <= cf->local_domains.n; i++) {
		n = i == 0 ? cf->myhostname : cf->local_domains.v[i - 1];
		dup = !addr_valid_domain(n);
		for (j = 0; !dup && j < i; j++)
			dup = strcasecmp(n, j == 0 ? cf->myhostname :
			    cf->local_domains.v[j - 1]) == 0;
		if (dup)
			continue;
		if ((g = GENERAL_NAME_new()) == NULL ||
		    (s = ASN1_IA5STRING_new()) == NULL) {
			GENERAL_NAME_free(g);
			goto out;
		}
		if (ASN1_STRING_set(s, n, (int)strlen(n)) != 1) {
			ASN1_IA5STRING_free(s);
			GENERAL_NAME_free(g);
			goto out;
		}
		GENERAL_NAME_set0_value(g, GEN_DNS, s);
		if (sk_GENERAL_NAME_push(names, g) == 0) {
			GENERAL_NAME_free(g);
			goto out;
		}
	}
	if (X509_add1_ext_i2d(x, NID_subject_alt_name, names, 0, 0) == 1)
		rc = 0;
out:
	GENERAL_NAMES_free(names);
	return rc;
}

static X509 *
make_cert(EVP_PKEY *pk, const struct conf *cf)
{
	X509		*x;
	X509_NAME	*name;
	BIGNUM		*bn = NULL;
	unsigned char	 serial[16];

	if ((x = X509_new()) == NULL)
		return NULL;
	if (RAND_bytes(serial, sizeof(serial)) != 1)
		goto fail;
	serial[0] &= 0x7f;	/* a positive serial number */
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	BN_free(bn);
	bn = NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_gmtime_adj(X509_getm_notAfter(x),
	    (long)SETUP_TLS_DAYS * 86400) == NULL ||
	    X509_set_pubkey(x, pk) != 1)
		goto fail;
	name = X509_get_subject_name(x);
	if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cf->myhostname, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1 || add_san(x, cf) == -1 ||
	    X509_sign(x, pk, EVP_sha256()) == 0)
		goto fail;
	return x;
fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

/* Sets tls_cert_file and tls_key_file in the config file, then reloads it. */
static int
point_config(struct cli *c)
{
	char		 dir[CONF_PATH_MAX], cert[CONF_PATH_MAX], key[CONF_PATH_MAX];
	char		*text = NULL, *t1 = NULL, *t2 = NULL, err[512];
	size_t		 len;
	int		 rc = -1;

	if (fs_dirname(c->confpath, dir, sizeof(dir)) == -1 ||
	    snprintf(cert, sizeof(cert), "%s/tls/cert.pem", dir) >=
	    (int)sizeof(cert) ||
	    snprintf(key, sizeof(key), "%s/tls/key.pem", dir) >=
	    (int)sizeof(key)) {
		cli_err(c, "%s: path too long", c->confpath);
		return -1;
	}
	if (fs_read_file(c->confpath, 1024 * 1024, &text, &len) == -1) {
		cli_err(c, "%s: %s", c->confpath, strerror(errno));
		return -1;
	}
	if ((t1 = confedit_set(text, "tls_cert_file", cert)) == NULL ||
	    (t2 = confedit_set(t1, "tls_key_file", key)) == NULL) {
		cli_err(c, "%s: %s", c->confpath, strerror(errno));
		goto out;
	}
	if (fs_atomic_write(c->confpath, t2, strlen(t2), 0644) == -1) {
		cli_err(c, "cannot write %s: %s", c->confpath, strerror(errno));
		goto out;
	}
	conf_free(&c->conf);
	if (conf_load(&c->conf, c->confpath, err, sizeof(err)) == -1) {
		cli_err(c, "%s", err);
		goto out;
	}
	printf("postern: %s now names the certificate %s\n", c->confpath,
	    cert);
	rc = 0;
out:
	free(t2);
	free(t1);
	free(text);
	return rc;
}

int
cli_setup_tls(struct cli *c, int fresh)
{
	const struct conf	*cf = &c->conf;
	const char		*cert = cf->tls_cert_file, *key = cf->tls_key_file;
	EVP_PKEY		*pk = NULL;
	X509			*x = NULL;
	BIO			*kb = NULL, *cb = NULL;
	int			 have_cert, have_key, rc = -1;

	if (cert[0] == '\0' && fresh && c->confpath != NULL &&
	    point_config(c) == -1)
		return -1;
	if (cert[0] == '\0' || key[0] == '\0')
		return 0;	/* TLS is not configured: nothing to make */
	have_cert = access(cert, F_OK) == 0;
	have_key = access(key, F_OK) == 0;
	if (have_cert || have_key) {
		if (!have_cert || !have_key)
			printf("postern: %s exists but %s does not: no "
			    "certificate made\n", have_cert ? cert : key,
			    have_cert ? key : cert);
		return 0;
	}
	if ((pk = EVP_EC_gen("P-256")) == NULL ||
	    (x = make_cert(pk, cf)) == NULL ||
	    (kb = BIO_new(BIO_s_mem())) == NULL ||
	    (cb = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(kb, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    PEM_write_bio_X509(cb, x) != 1) {
		cli_err(c, "cannot make a self-signed certificate");
		goto out;
	}
	/* The key first: a certificate without its key would be useless. */
	if (bio_to_file(c, kb, key, 0600) == -1 ||
	    bio_to_file(c, cb, cert, 0644) == -1)
		goto out;
	printf("postern: made a self-signed certificate for %s: %s (key "
	    "%s); see README for a real one\n", cf->myhostname, cert, key);
	rc = 0;
out:
	BIO_free(cb);
	BIO_free(kb);	/* a short-lived command: the key goes with it */
	X509_free(x);
	EVP_PKEY_free(pk);
	return rc;
}
