/*
 * test_utf8.c - libcommon/utf8: a table of well-formed and malformed
 * byte sequences (RFC 3629, Unicode table 3-7), each also checked
 * inside an otherwise good string and cut at every length.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "utf8.h"

struct seq {
	const char	*bytes;
	size_t		 len;
	const char	*what;
};

#define SEQ(s, w)	{ s, sizeof(s) - 1, w }

static const struct seq good[] = {
	SEQ("", "empty"),
	SEQ("plain ascii@example.test", "ASCII"),
	SEQ("\x7f", "U+007F, the last one-byte form"),
	SEQ("\xc2\x80", "U+0080, the first two-byte form"),
	SEQ("j\xc3\xb6rg", "U+00F6 in a word"),
	SEQ("\xdf\xbf", "U+07FF, the last two-byte form"),
	SEQ("\xe0\xa0\x80", "U+0800, the first three-byte form"),
	SEQ("\xe2\x82\xac", "U+20AC euro sign"),
	SEQ("\xed\x9f\xbf", "U+D7FF, just below the surrogates"),
	SEQ("\xee\x80\x80", "U+E000, just above the surrogates"),
	SEQ("\xef\xbf\xbd", "U+FFFD"),
	SEQ("\xef\xbf\xbf", "U+FFFF, a noncharacter but well-formed"),
	SEQ("\xf0\x90\x80\x80", "U+10000, the first four-byte form"),
	SEQ("\xf0\x9f\x93\xa7", "U+1F4E7 e-mail symbol"),
	SEQ("\xf3\xbf\xbf\xbf", "U+FFFFF"),
	SEQ("\xf4\x8f\xbf\xbf", "U+10FFFF, the last code point"),
	SEQ("\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe4\xb8\xad"
	    "\xe5\x9b\xbd", "a CJK address"),
};

static const struct seq bad[] = {
	SEQ("\xff", "0xFF never occurs"),
	SEQ("\xfe", "0xFE never occurs"),
	SEQ("\xff\xfe", "a UTF-16 byte order mark"),
	SEQ("\xfe\xff", "a UTF-16BE byte order mark"),
	SEQ("\x80", "a lone continuation byte"),
	SEQ("\xbf", "a lone continuation byte (last)"),
	SEQ("\xc0\x80", "overlong NUL"),
	SEQ("\xc0\xaf", "overlong '/'"),
	SEQ("\xc1\x80", "overlong U+0040 '@'"),
	SEQ("\xc1\xbf", "overlong U+007F"),
	SEQ("\xe0\x80\xaf", "overlong '/' in three bytes"),
	SEQ("\xe0\x9f\xbf", "overlong U+07FF"),
	SEQ("\xf0\x80\x80\xaf", "overlong '/' in four bytes"),
	SEQ("\xf0\x8f\xbf\xbf", "overlong U+FFFF"),
	SEQ("\xed\xa0\x80", "surrogate U+D800"),
	SEQ("\xed\xbf\xbf", "surrogate U+DFFF"),
	SEQ("\xed\xa0\xbd\xed\xb3\xa7", "a CESU-8 surrogate pair"),
	SEQ("\xf4\x90\x80\x80", "U+110000, past the last code point"),
	SEQ("\xf5\x80\x80\x80", "0xF5 starts only code points past U+10FFFF"),
	SEQ("\xf7\xbf\xbf\xbf", "U+1FFFFF"),
	SEQ("\xf8\x88\x80\x80\x80", "a five-byte form"),
	SEQ("\xfc\x84\x80\x80\x80\x80", "a six-byte form"),
	SEQ("\xc3", "a two-byte form cut short"),
	SEQ("\xe2\x82", "a three-byte form cut short"),
	SEQ("\xf0\x9f\x93", "a four-byte form cut short"),
	SEQ("\xc3" "a", "a two-byte form with an ASCII second byte"),
	SEQ("\xe2\x82" "a", "a three-byte form with an ASCII third byte"),
	SEQ("\xe2" "a\xac", "a three-byte form with an ASCII second byte"),
	SEQ("\xf0\x9f\x93" "@", "a four-byte form ending in '@'"),
	SEQ("\xc3\xc3\xb6", "a start byte where a continuation belongs"),
	SEQ("\xe2\x82\xac\xac", "one continuation byte too many"),
};

static void
test_well_formed_sequences_pass(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (!utf8_valid(good[i].bytes, good[i].len))
			fail_msg("refused: %s", good[i].what);
}

static void
test_malformed_sequences_fail(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (utf8_valid(bad[i].bytes, bad[i].len))
			fail_msg("accepted: %s", bad[i].what);
}

/* A bad sequence anywhere in good text spoils it: start, middle, end. */
static void
test_malformed_sequence_anywhere_fails(void **state)
{
	char	buf[64];
	size_t	i, n;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = (size_t)snprintf(buf, sizeof(buf), "j\xc3\xb6rg%.*s@x",
		    (int)bad[i].len, bad[i].bytes);
		assert_true(n < sizeof(buf));
		if (utf8_valid(buf, n))
			fail_msg("accepted in the middle: %s", bad[i].what);
		memcpy(buf, bad[i].bytes, bad[i].len);
		memcpy(buf + bad[i].len, "ok", 2);
		if (utf8_valid(buf, bad[i].len + 2))
			fail_msg("accepted at the start: %s", bad[i].what);
		memcpy(buf, "\xe2\x82\xac", 3);
		memcpy(buf + 3, bad[i].bytes, bad[i].len);
		if (utf8_valid(buf, 3 + bad[i].len))
			fail_msg("accepted at the end: %s", bad[i].what);
	}
}

/* Every multi-byte form cut anywhere inside is refused: len is obeyed. */
static void
test_every_cut_of_a_sequence_fails(void **state)
{
	size_t i, cut;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		const unsigned char *b = (const unsigned char *)good[i].bytes;

		if (good[i].len < 2 || b[good[i].len - 1] < 0x80)
			continue;
		for (cut = 1; cut < good[i].len; cut++) {
			/* A cut that ends on a whole character is fine. */
			if (b[cut] < 0x80 || b[cut] >= 0xC0)
				continue;
			if (utf8_valid(good[i].bytes, cut))
				fail_msg("accepted cut at %zu: %s", cut,
				    good[i].what);
		}
	}
}

/*
 * Every two-byte prefix, decided by the table, against a reference
 * decoder that computes the code point and judges it by value.
 */
static int
reference_valid(const unsigned char *p, size_t len)
{
	size_t		i = 0, n, k;
	uint32_t	cp, min;

	while (i < len) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		if ((p[i] & 0xE0) == 0xC0) {
			n = 1;
			cp = p[i] & 0x1F;
			min = 0x80;
		} else if ((p[i] & 0xF0) == 0xE0) {
			n = 2;
			cp = p[i] & 0x0F;
			min = 0x800;
		} else if ((p[i] & 0xF8) == 0xF0) {
			n = 3;
			cp = p[i] & 0x07;
			min = 0x10000;
		} else
			return 0;
		if (len - i - 1 < n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((p[i + k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[i + k] & 0x3F);
		}
		if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return 0;
		i += n + 1;
	}
	return 1;
}

static void
test_table_agrees_with_decoding_for_every_lead_and_second_byte(void **state)
{
	unsigned char	b[4];
	unsigned	c1, c2, c3;

	for (c1 = 0; c1 < 256; c1++)
		for (c2 = 0; c2 < 256; c2++)
			for (c3 = 0x7f; c3 <= 0xc0; c3 += 0x41) {
				b[0] = (unsigned char)c1;
				b[1] = (unsigned char)c2;
				b[2] = (unsigned char)c3;
				b[3] = 0x80;
				assert_int_equal(utf8_valid(b, 2),
				    reference_valid(b, 2));
				assert_int_equal(utf8_valid(b, 3),
				    reference_valid(b, 3));
				assert_int_equal(utf8_valid(b, 4),
				    reference_valid(b, 4));
			}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_well_formed_sequences_pass),
		cmocka_unit_test(test_malformed_sequences_fail),
		cmocka_unit_test(test_malformed_sequence_anywhere_fails),
		cmocka_unit_test(test_every_cut_of_a_sequence_fails),
		cmocka_unit_test(
		    test_table_agrees_with_decoding_for_every_lead_and_second_byte),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
