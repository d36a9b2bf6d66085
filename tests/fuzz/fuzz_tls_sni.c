/*
 * fuzz_tls_sni.c - fuzz target: the SNI map parser (libcommon/tls_conf.c,
 * tls_sni_parse) and its lookup (tls_sni_find).
 *
 * The map is root's file, but it is parsed by every TLS session process
 * and by keyd, so it must not crash or leak on anything. Beyond that: a
 * failure says why and keeps nothing; a map that parses holds at most
 * TLS_SNI_MAX entries, each a lower-case name of letters, digits, '-'
 * and '.', or "*." and one, with two absolute paths that differ; and
 * every name is found again, by itself and in upper case.
 */
#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "fuzz.h"
#include "tls.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_sni_list		 l;
	const struct tls_sni_entry	*e;
	char				 err[512], upper[256];
	const char			*p;
	size_t				 i, j;

	err[0] = '\0';
	if (tls_sni_parse("fuzz", (const char *)data, size, &l, err,
	    sizeof(err)) == -1) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(l.v == NULL && l.n == 0);
		return 0;
	}
	FUZZ_CHECK(l.n <= TLS_SNI_MAX);
	for (i = 0; i < l.n; i++) {
		e = &l.v[i];
		FUZZ_CHECK(e->cert[0] == '/' && e->key[0] == '/');
		FUZZ_CHECK(strcmp(e->cert, e->key) != 0);
		p = e->name[0] == '*' ? e->name + 2 : e->name;
		FUZZ_CHECK(e->name[0] != '*' || e->name[1] == '.');
		FUZZ_CHECK(*p != '\0');
		for (; *p != '\0'; p++)
			FUZZ_CHECK(islower((unsigned char)*p) ||
			    isdigit((unsigned char)*p) || *p == '-' ||
			    *p == '.');
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(l.v[j].name, e->name) != 0);
		FUZZ_CHECK(tls_sni_find(&l, e->name) == e);
		for (j = 0; e->name[j] != '\0'; j++)
			upper[j] = (char)toupper((unsigned char)e->name[j]);
		upper[j] = '\0';
		FUZZ_CHECK(tls_sni_find(&l, upper) == e);
	}
	tls_sni_free(&l);
	return 0;
}
