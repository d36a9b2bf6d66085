/*
 * fuzz_tls_policy.c - fuzz target: the outbound TLS policy map parser
 * (libcommon/tls_policy.c, tls_policy_parse) and its lookup
 * (tls_policy_find).
 *
 * The map is root's file, read by relayd, master and postern check;
 * it must not crash or leak on anything. Beyond that: a failure says
 * why and keeps nothing; a map that parses holds at most TLS_POLICY_MAX
 * entries, sorted, no domain twice, each a lower-case LDH name (or
 * ".name"), a known level, match= only with verify or dane; every
 * domain is found again by itself and in upper case, and a name below
 * a ".parent" entry finds an entry.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

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
	struct tls_policy		 pl;
	const struct tls_policy_entry	*e;
	char				 err[512], name[300];
	const char			*p;
	size_t				 i, j;

	err[0] = '\0';
	if (tls_policy_parse("fuzz", (const char *)data, size, &pl, err,
	    sizeof(err)) == -1) {
		FUZZ_CHECK(err[0] != '\0');
		FUZZ_CHECK(pl.v == NULL && pl.n == 0);
		return 0;
	}
	FUZZ_CHECK(pl.n <= TLS_POLICY_MAX);
	for (i = 0; i < pl.n; i++) {
		e = &pl.v[i];
		FUZZ_CHECK(e->level >= TLS_LEVEL_NONE &&
		    e->level <= TLS_LEVEL_VERIFY);
		FUZZ_CHECK(e->match[0] == '\0' || e->level == TLS_LEVEL_VERIFY ||
		    e->level == TLS_LEVEL_DANE);
		FUZZ_CHECK(i == 0 || strcmp(pl.v[i - 1].domain, e->domain) < 0);
		p = e->domain[0] == '.' ? e->domain + 1 : e->domain;
		FUZZ_CHECK(*p != '\0' && *p != '.');
		for (; *p != '\0'; p++)
			FUZZ_CHECK(islower((unsigned char)*p) ||
			    isdigit((unsigned char)*p) || *p == '-' ||
			    *p == '.' || *p == '_');
		if (e->domain[0] != '.') {
			FUZZ_CHECK(tls_policy_find(&pl, e->domain) == e);
			for (j = 0; e->domain[j] != '\0'; j++)
				name[j] = (char)toupper(
				    (unsigned char)e->domain[j]);
			name[j] = '\0';
			FUZZ_CHECK(tls_policy_find(&pl, name) == e);
		} else if (strlen(e->domain) < 200) {
			snprintf(name, sizeof(name), "x%s", e->domain);
			FUZZ_CHECK(tls_policy_find(&pl, name) != NULL);
		}
	}
	tls_policy_free(&pl);
	return 0;
}
