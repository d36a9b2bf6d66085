/*
 * test_addr.c - libcommon/addr: the one parser for addresses that arrive
 * from the network (RFC 5321 Mailbox without angle brackets), and the check
 * that decides whether a local part or domain may become a path component
 * in the mail store.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

/* Fills out with a domain of exactly len bytes: 63-byte labels and dots. */
static void
make_domain(char *out, size_t len)
{
	size_t i, lab = 0;

	for (i = 0; i < len; i++) {
		if (lab == 63 && i + 1 < len) {
			out[i] = '.';
			lab = 0;
		} else {
			out[i] = 'a';
			lab++;
		}
	}
	out[len] = '\0';
	/* Never end on a dot or a label over 63. */
	assert_true(out[len - 1] != '.');
}

static void
assert_parses(const char *s, int utf8, const char *local, const char *domain)
{
	struct mailaddr a;

	if (addr_parse(s, &a, utf8) != 0)
		fail_msg("\"%s\" (utf8=%d) was rejected", s, utf8);
	assert_string_equal(a.local, local);
	assert_string_equal(a.domain, domain);
}

static void
assert_rejected(const char *s, int utf8)
{
	struct mailaddr a;

	if (addr_parse(s, &a, utf8) != -1)
		fail_msg("\"%s\" (utf8=%d) was accepted", s, utf8);
}

static void
test_dot_atom_addresses_parse(void **state)
{
	assert_parses("user@example.com", 0, "user", "example.com");
	assert_parses("first.last@example.com", 0, "first.last", "example.com");
	assert_parses("a@b", 0, "a", "b");
	assert_parses("user+tag@sub.example.org", 0, "user+tag",
	    "sub.example.org");
	assert_parses("!#$%&'*+-/=?^_`{|}~@example.com", 0,
	    "!#$%&'*+-/=?^_`{|}~", "example.com");
	assert_parses("u@my-host.example", 0, "u", "my-host.example");
	assert_parses("u@1.2.3.example", 0, "u", "1.2.3.example");
}

static void
test_domain_is_lowercased_and_local_part_is_kept(void **state)
{
	assert_parses("John.Doe@EXAMPLE.Com", 0, "John.Doe", "example.com");
}

static void
test_quoted_local_parts_parse(void **state)
{
	assert_parses("\"john doe\"@example.com", 0, "\"john doe\"",
	    "example.com");
	assert_parses("\"a@b\"@example.com", 0, "\"a@b\"", "example.com");
	assert_parses("\"a\\\"b\"@example.com", 0, "\"a\\\"b\"", "example.com");
	assert_parses("\"a\\\\b\"@example.com", 0, "\"a\\\\b\"", "example.com");
	assert_parses("\"..\"@example.com", 0, "\"..\"", "example.com");
	assert_parses("\"\"@example.com", 0, "\"\"", "example.com");
}

static void
test_malformed_quoted_local_parts_are_rejected(void **state)
{
	assert_rejected("\"@example.com", 0);
	assert_rejected("\"abc@example.com", 0);
	assert_rejected("\"a\"b\"@example.com", 0);
	assert_rejected("\"a\\\"@example.com", 0);	/* escaped closing quote */
	assert_rejected("\"a\nb\"@example.com", 0);
	assert_rejected("\"a\rb\"@example.com", 0);
	assert_rejected("\"a\\\nb\"@example.com", 0);	/* quoted-pair of LF */
	assert_rejected("\"a\x7f\"@example.com", 0);
	assert_rejected("x\"a\"@example.com", 0);
}

static void
test_address_literals_parse(void **state)
{
	assert_parses("postmaster@[192.0.2.1]", 0, "postmaster", "[192.0.2.1]");
	assert_parses("u@[IPv6:2001:db8::1]", 0, "u", "[ipv6:2001:db8::1]");
}

static void
test_malformed_address_literals_are_rejected(void **state)
{
	assert_rejected("u@[]", 0);
	assert_rejected("u@[", 0);
	assert_rejected("u@[192.0.2.1", 0);
	assert_rejected("u@192.0.2.1]", 0);
	assert_rejected("u@[192.0.2.1/24]", 0);
	assert_rejected("u@[1.2.3.4] ", 0);
	assert_rejected("u@[a b]", 0);
}

static void
test_local_part_of_64_bytes_parses_and_65_does_not(void **state)
{
	char	s[128];

	memset(s, 'l', 64);
	memcpy(s + 64, "@example.com", 13);
	assert_int_equal(strlen(s), 64 + 12);
	{
		struct mailaddr a;
		assert_int_equal(addr_parse(s, &a, 0), 0);
		assert_int_equal(strlen(a.local), 64);
	}
	memset(s, 'l', 65);
	memcpy(s + 65, "@example.com", 13);
	assert_rejected(s, 0);
	/* a quoted local part counts its quotes */
	s[0] = '"';
	memset(s + 1, 'q', 62);
	s[63] = '"';
	memcpy(s + 64, "@example.com", 13);
	assert_int_equal(addr_parse(s, &(struct mailaddr){ 0 }, 0), 0);
	s[0] = '"';
	memset(s + 1, 'q', 63);
	s[64] = '"';
	memcpy(s + 65, "@example.com", 13);
	assert_rejected(s, 0);
}

static void
test_domain_of_255_bytes_parses_and_256_does_not(void **state)
{
	char		d[300], s[320];
	struct mailaddr	a;

	make_domain(d, 255);
	snprintf(s, sizeof(s), "u@%s", d);
	assert_int_equal(addr_parse(s, &a, 0), 0);
	assert_int_equal(strlen(a.domain), 255);
	assert_string_equal(a.domain, d);
	assert_true(addr_valid_domain(d));

	make_domain(d, 256);
	snprintf(s, sizeof(s), "u@%s", d);
	assert_rejected(s, 0);
	assert_false(addr_valid_domain(d));
}

static void
test_domain_label_of_63_bytes_parses_and_64_does_not(void **state)
{
	char d[80];

	memset(d, 'x', 63);
	memcpy(d + 63, ".com", 5);
	assert_true(addr_valid_domain(d));
	memset(d, 'x', 64);
	memcpy(d + 64, ".com", 5);
	assert_false(addr_valid_domain(d));
}

static void
test_leading_trailing_and_double_dots_are_rejected(void **state)
{
	assert_rejected(".user@example.com", 0);
	assert_rejected("user.@example.com", 0);
	assert_rejected("us..er@example.com", 0);
	assert_rejected(".@example.com", 0);
	assert_rejected("user@.example.com", 0);
	assert_rejected("user@example.com.", 0);
	assert_rejected("user@example..com", 0);
	assert_rejected("user@.", 0);
}

static void
test_bad_hyphens_in_domain_are_rejected(void **state)
{
	assert_rejected("u@-example.com", 0);
	assert_rejected("u@example-.com", 0);
	assert_rejected("u@example.com-", 0);
	assert_rejected("u@example.-com", 0);
}

static void
test_missing_at_and_empty_parts_are_rejected(void **state)
{
	assert_rejected("", 0);
	assert_rejected("user", 0);
	assert_rejected("user.example.com", 0);
	assert_rejected("@example.com", 0);
	assert_rejected("user@", 0);
	assert_rejected("@", 0);
	assert_rejected("@@", 0);
	assert_rejected("a@@example.com", 0);
}

static void
test_forbidden_characters_are_rejected(void **state)
{
	assert_rejected("us er@example.com", 0);
	assert_rejected("user@exa mple.com", 0);
	assert_rejected("<user@example.com>", 0);
	assert_rejected("user@example.com>", 0);
	assert_rejected("us(er@example.com", 0);
	assert_rejected("us\"er@example.com", 0);
	assert_rejected("user\r\n@example.com", 0);
	assert_rejected("user@example.com\r\n", 0);
	assert_rejected("user@exa_mple.com", 0);
	assert_rejected("user@exa/mple.com", 0);
	assert_rejected("us\ter@example.com", 0);
	assert_rejected("us\x7f" "er@example.com", 0);
}

static void
test_eight_bit_local_part_needs_utf8(void **state)
{
	assert_rejected("j\xc3\xb6rg@example.com", 0);
	assert_parses("j\xc3\xb6rg@example.com", 1, "j\xc3\xb6rg", "example.com");
	assert_rejected("\"j\xc3\xb6rg\"@example.com", 0);
	assert_parses("\"j\xc3\xb6rg\"@example.com", 1, "\"j\xc3\xb6rg\"",
	    "example.com");
}

static void
test_eight_bit_domain_needs_utf8(void **state)
{
	assert_rejected("user@b\xc3\xbc" "cher.example", 0);
	assert_parses("user@b\xc3\xbc" "cher.example", 1, "user",
	    "b\xc3\xbc" "cher.example");
}

static void
test_eight_bit_must_be_well_formed_utf8(void **state)
{
	/* 0xFF 0xFE, overlong '@', a surrogate, cut short, past U+10FFFF. */
	assert_rejected("\xff\xfe@example.com", 1);
	assert_rejected("a\xc0\x80" "b@example.com", 1);
	assert_rejected("\"a\xc1\x80\"@example.com", 1);
	assert_rejected("\xed\xa0\x80@example.com", 1);
	assert_rejected("j\xc3@example.com", 1);
	assert_rejected("user@b\xc3" ".example", 1);
	assert_rejected("\xf4\x90\x80\x80@example.com", 1);
	assert_rejected("user@\xf5\x80\x80\x80.example", 1);
	assert_parses("\xf4\x8f\xbf\xbf@example.com", 1,
	    "\xf4\x8f\xbf\xbf", "example.com");
}

static void
test_format_joins_parts_and_reports_truncation(void **state)
{
	struct mailaddr	a;
	char		out[ADDR_MAX + 1], small[8];

	assert_int_equal(addr_parse("Some.One@Example.ORG", &a, 0), 0);
	assert_int_equal(addr_format(&a, out, sizeof(out)), 0);
	assert_string_equal(out, "Some.One@example.org");
	assert_int_equal(addr_format(&a, small, sizeof(small)), -1);
}

static void
test_lower_lowercases_whole_address(void **state)
{
	char s[] = "Some.One@Example.ORG";

	addr_lower(s);
	assert_string_equal(s, "some.one@example.org");
}

static void
test_store_safe_accepts_plain_lowercase_components(void **state)
{
	assert_true(addr_is_store_safe("user"));
	assert_true(addr_is_store_safe("first.last"));
	assert_true(addr_is_store_safe("a-b_c+d"));
	assert_true(addr_is_store_safe("example.com"));
	assert_true(addr_is_store_safe("0"));
	/* RFC 5322 atext that is harmless as a path and to a shell. */
	assert_true(addr_is_store_safe("o'brien"));
	assert_true(addr_is_store_safe("srs0=ab=cd"));
	assert_null(addr_store_unsafe_why("o'brien"));
}

static void
test_store_safe_rejects_traversal_and_unsafe_components(void **state)
{
	assert_false(addr_is_store_safe(""));
	assert_false(addr_is_store_safe("."));
	assert_false(addr_is_store_safe(".."));
	assert_false(addr_is_store_safe("../etc"));
	assert_false(addr_is_store_safe("a/../b"));
	assert_false(addr_is_store_safe("a/b"));
	assert_false(addr_is_store_safe("/"));
	assert_false(addr_is_store_safe("/etc"));
	assert_false(addr_is_store_safe(".hidden"));
	assert_false(addr_is_store_safe("a..b"));
	assert_false(addr_is_store_safe("b.."));
	assert_false(addr_is_store_safe("User"));
	assert_false(addr_is_store_safe("EXAMPLE.COM"));
	assert_false(addr_is_store_safe("a b"));
	assert_false(addr_is_store_safe("a\\b"));
	assert_false(addr_is_store_safe("\"q\""));
	assert_false(addr_is_store_safe("a\nb"));
	assert_false(addr_is_store_safe("j\xc3\xb6rg"));
	/* atext a shell would act on: each is refused, and says why. */
	{
		const char *meta = "!#$%&*?^`{|}~";
		char name[8];

		for (; *meta != '\0'; meta++) {
			snprintf(name, sizeof(name), "a%cb", *meta);
			assert_false(addr_is_store_safe(name));
			assert_non_null(strstr(addr_store_unsafe_why(name),
			    "shell"));
		}
	}
	assert_non_null(strstr(addr_store_unsafe_why("a/b"), "separator"));
	assert_non_null(strstr(addr_store_unsafe_why(".x"), "dot"));
	assert_non_null(strstr(addr_store_unsafe_why("a..b"), ".."));
}

static void
test_store_safe_rejects_over_255_bytes(void **state)
{
	char s[300];

	memset(s, 'a', 255);
	s[255] = '\0';
	assert_true(addr_is_store_safe(s));
	memset(s, 'a', 256);
	s[256] = '\0';
	assert_false(addr_is_store_safe(s));
}

static void
test_routes_in_the_local_part_are_found(void **state)
{
	static const char *routed[] = {
		"user%remote.example@here.example",
		"remote.example!user@here.example",
		"\"user@remote.example\"@here.example",
		"\"user%remote\"@here.example",
		"a!b%c@here.example",
		"%@here.example",
	};
	static const char *plain[] = {
		"user@here.example", "user+tag@here.example",
		"\"a b\"@here.example", "user@[192.0.2.1]",
		"user@[IPv6:2001:db8::1]", "postmaster",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(routed) / sizeof(routed[0]); i++)
		if (!addr_has_route(routed[i]))
			fail_msg("not routed: %s", routed[i]);
	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++)
		if (addr_has_route(plain[i]))
			fail_msg("routed: %s", plain[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dot_atom_addresses_parse),
		cmocka_unit_test(test_domain_is_lowercased_and_local_part_is_kept),
		cmocka_unit_test(test_quoted_local_parts_parse),
		cmocka_unit_test(test_malformed_quoted_local_parts_are_rejected),
		cmocka_unit_test(test_address_literals_parse),
		cmocka_unit_test(test_malformed_address_literals_are_rejected),
		cmocka_unit_test(test_local_part_of_64_bytes_parses_and_65_does_not),
		cmocka_unit_test(test_domain_of_255_bytes_parses_and_256_does_not),
		cmocka_unit_test(test_domain_label_of_63_bytes_parses_and_64_does_not),
		cmocka_unit_test(test_leading_trailing_and_double_dots_are_rejected),
		cmocka_unit_test(test_bad_hyphens_in_domain_are_rejected),
		cmocka_unit_test(test_missing_at_and_empty_parts_are_rejected),
		cmocka_unit_test(test_forbidden_characters_are_rejected),
		cmocka_unit_test(test_eight_bit_local_part_needs_utf8),
		cmocka_unit_test(test_eight_bit_domain_needs_utf8),
		cmocka_unit_test(test_eight_bit_must_be_well_formed_utf8),
		cmocka_unit_test(test_format_joins_parts_and_reports_truncation),
		cmocka_unit_test(test_lower_lowercases_whole_address),
		cmocka_unit_test(test_store_safe_accepts_plain_lowercase_components),
		cmocka_unit_test(test_store_safe_rejects_traversal_and_unsafe_components),
		cmocka_unit_test(test_store_safe_rejects_over_255_bytes),
		cmocka_unit_test(test_routes_in_the_local_part_are_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
