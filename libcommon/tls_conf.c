/*
 * tls_conf.c - the TLS settings that need no OpenSSL: tls_protocols and
 * the SNI map (tls_sni_map), parsed once here for every reader (the
 * session processes, master's checks, and keyd, which loads the keys
 * the map names).
 *
 * Runs in master, postern check, the TLS session processes before they
 * drop privileges, and keyd. The files are the administrator's and
 * trusted, but may be wrong: each error names file and line, every
 * entry is bounded before it is kept, and the map holds at most
 * TLS_SNI_MAX entries (each one is a certificate that every session
 * process loads at its start).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fsutil.h"
#include "tls.h"
#include "text.h"

static int
proto_version(const char *s)
{
	if (strcasecmp(s, "TLSv1.2") == 0)
		return TLS_V12;
	if (strcasecmp(s, "TLSv1.3") == 0)
		return TLS_V13;
	return 0;
}

int
tls_protocols_parse(const struct conf_list *l, int *minv, int *maxv,
    char *err, size_t errlen)
{
	const char	*s;
	size_t		 i;
	int		 v, atleast;

	*minv = *maxv = 0;
	if (l->n == 0) {
		snprintf(err, errlen, "tls_protocols is empty");
		return -1;
	}
	for (i = 0; i < l->n; i++) {
		s = l->v[i];
		/* Postfix's ">=TLSv1.2" spelling: this and every later one. */
		atleast = strncmp(s, ">=", 2) == 0;
		if ((v = proto_version(atleast ? s + 2 : s)) == 0) {
			if (strncasecmp(atleast ? s + 2 : s, "SSLv", 4) == 0 ||
			    strcasecmp(atleast ? s + 2 : s, "TLSv1") == 0 ||
			    strcasecmp(atleast ? s + 2 : s, "TLSv1.1") == 0)
				snprintf(err, errlen, "tls_protocols: \"%s\" is "
				    "not offered: versions before TLSv1.2 are "
				    "broken (RFC 8996)", s);
			else
				snprintf(err, errlen, "tls_protocols: \"%s\" is "
				    "not TLSv1.2 or TLSv1.3", s);
			return -1;
		}
		if (*minv == 0 || v < *minv)
			*minv = v;
		if (atleast)
			v = TLS_V13;
		if (v > *maxv)
			*maxv = v;
	}
	return 0;
}

void
tls_sni_free(struct tls_sni_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

/* A host name or "*.domain": letters, digits, '-', '.', lower-cased. */
static int
sni_name_ok(char *name)
{
	char	*p = name;
	size_t	 len = strlen(name);

	if (len == 0 || len > 253)
		return 0;
	if (p[0] == '*') {
		if (p[1] != '.' || p[2] == '\0')
			return 0;
		p += 2;
	}
	if (*p == '.' || p[strlen(p) - 1] == '.')
		return 0;
	for (; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '.')
			return 0;
		if (*p == '.' && p[1] == '.')
			return 0;
		*p = (char)tolower((unsigned char)*p);
	}
	return 1;
}

static int
sni_line(const char *name, int lineno, char *line, struct tls_sni_list *l,
    char *err, size_t errlen)
{
	struct tls_sni_entry	*e, *nv;
	char			*p = line, *host, *cert, *key;
	size_t			 i;

	if ((host = text_next_word(&p)) == NULL || host[0] == '#')
		return 0;
	cert = text_next_word(&p);
	key = text_next_word(&p);
	if (cert == NULL || key == NULL || text_next_word(&p) != NULL) {
		snprintf(err, errlen, "%s:%d: expected \"name cert_file "
		    "key_file\"", name, lineno);
		return -1;
	}
	if (!sni_name_ok(host)) {
		snprintf(err, errlen, "%s:%d: \"%.64s\" is not a host name or "
		    "*.domain", name, lineno, host);
		return -1;
	}
	if (cert[0] != '/' || key[0] != '/' || strlen(cert) >= CONF_PATH_MAX ||
	    strlen(key) >= CONF_PATH_MAX) {
		snprintf(err, errlen, "%s:%d: the files must be absolute "
		    "paths shorter than %d bytes", name, lineno, CONF_PATH_MAX);
		return -1;
	}
	if (strcmp(cert, key) == 0) {
		snprintf(err, errlen, "%s:%d: the key must be a file of its "
		    "own (the session processes read the certificate)", name,
		    lineno);
		return -1;
	}
	for (i = 0; i < l->n; i++)
		if (strcmp(l->v[i].name, host) == 0) {
			snprintf(err, errlen, "%s:%d: \"%s\" is listed twice",
			    name, lineno, host);
			return -1;
		}
	if (l->n >= TLS_SNI_MAX) {
		snprintf(err, errlen, "%s:%d: more than %d names", name, lineno,
		    TLS_SNI_MAX);
		return -1;
	}
	if ((nv = reallocarray(l->v, l->n + 1, sizeof(*nv))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	l->v = nv;
	e = &l->v[l->n++];
	strlcpy(e->name, host, sizeof(e->name));
	strlcpy(e->cert, cert, sizeof(e->cert));
	strlcpy(e->key, key, sizeof(e->key));
	return 0;
}

int
tls_sni_parse(const char *name, const char *text, size_t len,
    struct tls_sni_list *l, char *err, size_t errlen)
{
	char		 line[2 * CONF_PATH_MAX + 320];
	const char	*p = text, *end = text + len;
	int		 lineno = 0, rc;

	l->v = NULL;
	l->n = 0;
	while ((rc = text_next_line(&p, end, line, sizeof(line),
	    &lineno)) == 1)
		if (sni_line(name, lineno, line, l, err, errlen) == -1) {
			tls_sni_free(l);
			return -1;
		}
	if (rc == -1) {
		snprintf(err, errlen, "%s:%d: line too long or not text",
		    name, lineno);
		tls_sni_free(l);
		return -1;
	}
	return 0;
}

int
tls_sni_load(const char *path, struct tls_sni_list *l, char *err,
    size_t errlen)
{
	char	*text;
	size_t	 len;
	int	 rc;

	l->v = NULL;
	l->n = 0;
	if (fs_read_file(path, TLS_SNI_FILE_MAX, &text, &len) == -1) {
		snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
		    "too big" : strerror(errno));
		return -1;
	}
	rc = tls_sni_parse(path, text, len, l, err, errlen);
	free(text);
	return rc;
}

const struct tls_sni_entry *
tls_sni_find(const struct tls_sni_list *l, const char *servername)
{
	const char	*dot;
	size_t		 i;

	for (i = 0; i < l->n; i++)
		if (strcasecmp(l->v[i].name, servername) == 0)
			return &l->v[i];
	/* "*.example.org" stands for one label: a.example.org, not a.b.… */
	if ((dot = strchr(servername, '.')) == NULL || dot == servername)
		return NULL;
	for (i = 0; i < l->n; i++)
		if (l->v[i].name[0] == '*' &&
		    strcasecmp(l->v[i].name + 1, dot) == 0)
			return &l->v[i];
	return NULL;
}
