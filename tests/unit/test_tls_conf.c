/*
 * test_tls_conf.c - the TLS settings: the new keys of postern.conf,
 * tls_protocols (nothing before TLS 1.2), the SNI map's syntax and its
 * lookups, and the rotation of the session-ticket key file.
 */
#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "conf.h"
#include "tls.h"

static void
test_tls_keys_load_and_default_to_no_tls(void **state)
{
	struct conf	c;
	char		err[512];

	(void)state;
	assert_int_equal(conf_load_string(&c, "t.conf", "", err, sizeof(err)),
	    0);
	assert_false(tls_server_configured(&c));
	assert_int_equal(c.smtps_listen.n, 0);
	assert_int_equal(c.submission_listen.n, 0);
	assert_int_equal(c.tls_protocols.n, 2);
	assert_int_equal(c.tls_ticket_lifetime, 3600);
	assert_string_equal(c.tls_ciphers, "");
	conf_free(&c);

	assert_int_equal(conf_load_string(&c, "t.conf",
	    "smtps_listen = 0.0.0.0:465, [::]:465\n"
	    "submission_listen = 0.0.0.0:587\n"
	    "tls_cert_file = /etc/postern/tls/cert.pem\n"
	    "tls_key_file = /etc/postern/tls/key.pem\n"
	    "tls_sni_map = /etc/postern/tls/sni\n"
	    "tls_protocols = >=TLSv1.3\n"
	    "tls_ciphers = ECDHE-ECDSA-AES128-GCM-SHA256\n"
	    "tls_groups = X25519\n"
	    "tls_ticket_lifetime = 12h\n", err, sizeof(err)), 0);
	assert_true(tls_server_configured(&c));
	assert_int_equal(c.smtps_listen.n, 2);
	assert_string_equal(c.smtps_listen.v[1], "[::]:465");
	assert_string_equal(c.submission_listen.v[0], "0.0.0.0:587");
	assert_string_equal(c.tls_key_file, "/etc/postern/tls/key.pem");
	assert_string_equal(c.tls_sni_map, "/etc/postern/tls/sni");
	assert_string_equal(c.tls_groups, "X25519");
	assert_int_equal(c.tls_ticket_lifetime, 12 * 3600);
	conf_free(&c);

	/* Paths are absolute; durations are durations. */
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "tls_cert_file = cert.pem\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_cert_file must be an absolute path"));
	assert_int_equal(conf_load_string(&c, "t.conf",
	    "tls_ticket_lifetime = soon\n", err, sizeof(err)), -1);
	assert_non_null(strstr(err, "tls_ticket_lifetime must be a duration"));
}

static void
protocols(const char *text, int rc, int minv, int maxv, const char *why)
{
	struct conf	c;
	char		err[512], line[256];
	int		lo, hi;

	snprintf(line, sizeof(line), "tls_protocols = %s\n", text);
	assert_int_equal(conf_load_string(&c, "t.conf", line, err,
	    sizeof(err)), 0);
	err[0] = '\0';
	assert_int_equal(tls_protocols_parse(&c.tls_protocols, &lo, &hi, err,
	    sizeof(err)), rc);
	if (rc == 0) {
		assert_int_equal(lo, minv);
		assert_int_equal(hi, maxv);
	} else
		assert_non_null(strstr(err, why));
	conf_free(&c);
}

static void
test_protocols_are_tls12_and_13_only(void **state)
{
	(void)state;
	protocols("TLSv1.2, TLSv1.3", 0, TLS_V12, TLS_V13, NULL);
	protocols("TLSv1.3", 0, TLS_V13, TLS_V13, NULL);
	protocols("tlsv1.2", 0, TLS_V12, TLS_V12, NULL);
	protocols(">=TLSv1.2", 0, TLS_V12, TLS_V13, NULL);
	protocols("TLSv1.1, TLSv1.2", -1, 0, 0, "before TLSv1.2 are broken");
	protocols("TLSv1", -1, 0, 0, "before TLSv1.2 are broken");
	protocols(">=SSLv3", -1, 0, 0, "before TLSv1.2 are broken");
	protocols("TLSv1.4", -1, 0, 0, "is not TLSv1.2 or TLSv1.3");
	protocols("", -1, 0, 0, "tls_protocols is empty");
}

static void
sni_bad(const char *text, const char *why)
{
	struct tls_sni_list	l;
	char			err[512];

	assert_int_equal(tls_sni_parse("sni", text, strlen(text), &l, err,
	    sizeof(err)), -1);
	if (strstr(err, why) == NULL)
		fail_msg("\"%s\": got \"%s\", wanted \"%s\"", text, err, why);
	assert_null(l.v);
}

static void
test_sni_map_syntax(void **state)
{
	struct tls_sni_list	 l;
	const char		*text =
	    "# name cert key\r\n"
	    "\n"
	    "  Mail.Example.ORG\t/c/a.pem /k/a.key\r\n"
	    "*.example.net /c/w.pem /k/w.key\n"
	    "last.test /c/l.pem /k/l.key";	/* no final newline */
	char			 err[512];

	(void)state;
	assert_int_equal(tls_sni_parse("sni", text, strlen(text), &l, err,
	    sizeof(err)), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0].name, "mail.example.org");
	assert_string_equal(l.v[0].cert, "/c/a.pem");
	assert_string_equal(l.v[0].key, "/k/a.key");
	assert_string_equal(l.v[1].name, "*.example.net");
	assert_string_equal(l.v[2].key, "/k/l.key");
	tls_sni_free(&l);

	sni_bad("a.test /c.pem\n", "sni:1: expected \"name cert_file");
	sni_bad("\n\na.test /c.pem /k.pem extra\n", "sni:3: expected");
	sni_bad("a.test c.pem /k.pem\n", "absolute paths");
	sni_bad("a.test /same.pem /same.pem\n", "a file of its own");
	sni_bad("a..test /c.pem /k.pem\n", "not a host name");
	sni_bad("*a.test /c.pem /k.pem\n", "not a host name");
	sni_bad("a_b.test /c.pem /k.pem\n", "not a host name");
	sni_bad("a.test /c.pem /k.pem\nA.TEST /d.pem /e.pem\n",
	    "sni:2: \"a.test\" is listed twice");
	/* A NUL would cut a path short for every C string function. */
	assert_int_equal(tls_sni_parse("sni", "a.test /c\0.pem /k.pem\n", 23,
	    &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sni:1: line too long or not text"));
}

static void
test_sni_map_is_bounded(void **state)
{
	struct tls_sni_list	 l;
	char			*text, err[512];
	size_t			 i, off = 0, cap = (TLS_SNI_MAX + 1) * 64;

	(void)state;
	text = malloc(cap);
	assert_non_null(text);
	for (i = 0; i <= TLS_SNI_MAX; i++)
		off += (size_t)snprintf(text + off, cap - off,
		    "h%zu.test /c.pem /k.pem\n", i);
	assert_int_equal(tls_sni_parse("sni", text, off, &l, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "more than 1000 names"));
	free(text);
}

static void
test_sni_lookup_exact_then_one_label_wildcard(void **state)
{
	struct tls_sni_list	 l;
	const char		*text = "a.example.org /c/a /k/a\n"
	    "*.example.org /c/w /k/w\n";
	char			 err[512];

	(void)state;
	assert_int_equal(tls_sni_parse("sni", text, strlen(text), &l, err,
	    sizeof(err)), 0);
	assert_string_equal(tls_sni_find(&l, "a.example.org")->cert, "/c/a");
	assert_string_equal(tls_sni_find(&l, "A.Example.Org")->cert, "/c/a");
	assert_string_equal(tls_sni_find(&l, "b.example.org")->cert, "/c/w");
	/* One label only, and never the bare domain. */
	assert_null(tls_sni_find(&l, "x.b.example.org"));
	assert_null(tls_sni_find(&l, "example.org"));
	assert_null(tls_sni_find(&l, ".example.org"));
	assert_null(tls_sni_find(&l, "other.test"));
	tls_sni_free(&l);
}

static void
test_ticket_rotation_keeps_the_previous_key(void **state)
{
	struct tls_ticket_key	k1[TLS_TICKET_KEYS], k2[TLS_TICKET_KEYS];
	struct tls_ticket_key	k3[TLS_TICKET_KEYS];
	const char		*base = getenv("POSTERN_TEST_TMP");
	char			 dir[4096], path[4200], err[512];
	struct stat		 st;
	FILE			*f;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/tls.XXXXXX", base != NULL &&
	    base[0] != '\0' ? base : "/tmp");
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/keys", dir);

	assert_int_equal(tls_ticket_read(path, k1, err, sizeof(err)), -1);
	assert_int_equal(tls_ticket_rotate(path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(tls_ticket_read(path, k1, err, sizeof(err)), 1);

	assert_int_equal(tls_ticket_rotate(path, err, sizeof(err)), 0);
	assert_int_equal(tls_ticket_read(path, k2, err, sizeof(err)), 2);
	/* A new newest key; the old newest is kept second. */
	assert_memory_not_equal(&k2[0], &k1[0], sizeof(k1[0]));
	assert_memory_equal(&k2[1], &k1[0], sizeof(k1[0]));

	assert_int_equal(tls_ticket_rotate(path, err, sizeof(err)), 0);
	assert_int_equal(tls_ticket_read(path, k3, err, sizeof(err)), 2);
	assert_memory_equal(&k3[1], &k2[0], sizeof(k2[0]));
	assert_memory_not_equal(&k3[0], &k1[0], sizeof(k1[0]));
	assert_memory_not_equal(&k3[1], &k1[0], sizeof(k1[0]));

	/* Anything else in its place is refused, and rotation starts over. */
	assert_non_null(f = fopen(path, "w"));
	fputs("PTK1\x02short", f);
	fclose(f);
	assert_int_equal(tls_ticket_read(path, k1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a ticket key file"));
	assert_int_equal(tls_ticket_rotate(path, err, sizeof(err)), 0);
	assert_int_equal(tls_ticket_read(path, k1, err, sizeof(err)), 1);

	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_keys_load_and_default_to_no_tls),
		cmocka_unit_test(test_protocols_are_tls12_and_13_only),
		cmocka_unit_test(test_sni_map_syntax),
		cmocka_unit_test(test_sni_map_is_bounded),
		cmocka_unit_test(test_sni_lookup_exact_then_one_label_wildcard),
		cmocka_unit_test(test_ticket_rotation_keeps_the_previous_key),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
